//! S3's encoding of non-ASCII user-metadata values.
//!
//! S3 user metadata travels in HTTP headers. When a value stored with
//! non-US-ASCII characters is read back, S3 may return it as RFC 2047
//! encoded-words (`=?UTF-8?B?...?=`), and the text inside is often
//! "double encoded": each *byte* of the original UTF-8 value appears as one
//! character U+0080..U+00FF (spec `data-format/metadata-strategy.md`,
//! "Object Metadata": a SHOULD asks readers to decode this "double
//! encoding"). Other stores (and S3 in other paths) hand the raw UTF-8 back
//! unchanged.
//!
//! [`decode_value`] undoes both layers while leaving raw values alone:
//!
//! 1. A value that contains no encoded-word is returned unchanged (borrowed,
//!    no arena use). This includes raw UTF-8 such as `"Zoë Ångström ☃ 東京"`,
//!    which must not be touched (errata E5 to the format reference; unlike
//!    Java's `decodeS3CustomEncoding`, which garbles such values).
//! 2. Otherwise the value is split at whitespace. Every whitespace-delimited
//!    token that begins with `=?` and ends with `?=` must be one or more
//!    well-formed encoded-words `=?charset?B|Q?text?=` (charset `UTF-8`,
//!    `ISO-8859-1` or `US-ASCII`, optionally with an RFC 2231 `*language`
//!    suffix; encoding and charset case-insensitive; `B` must be padded
//!    standard base64); anything else in such a token is an error.
//!    Whitespace between adjacent encoded-words is dropped (RFC 2047 §6.2),
//!    their decoded bytes are concatenated, and all other text is kept as
//!    is.
//! 3. For each run of adjacent encoded-words, the decoded text is checked for
//!    S3's double encoding: if every character is below U+0100 and mapping
//!    each character to the byte of the same value (Latin-1) gives valid
//!    UTF-8, that UTF-8 is the result; otherwise the decoded text is.
//!
//! ```
//! use s3ec_core::{rfc2047::decode_value, Arena, MetaKey};
//! let mut buf = [0u8; 64];
//! let mut arena = Arena::new(&mut buf);
//! // Raw UTF-8 passes through untouched, without using the arena.
//! let raw = r#"{"a":"Zoë ☃"}"#;
//! assert_eq!(decode_value(MetaKey::MatDesc, raw, &mut arena).unwrap(), raw);
//! assert_eq!(arena.used(), 0);
//! // An encoded-word is decoded ("Zürich" in UTF-8, B encoding).
//! let v = decode_value(MetaKey::MatDesc, "=?UTF-8?B?WsO8cmljaA==?=", &mut arena).unwrap();
//! assert_eq!(v, "Zürich");
//! ```

use crate::arena::Arena;
use crate::error::{Error, FormatError};
use crate::keys::MetaKey;

/// Internal failure marker, mapped to [`FormatError::InvalidEncoding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bad;

/// RFC 2047 linear whitespace (folded headers may carry CR LF).
fn is_lws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Utf8,
    Latin1,
    Ascii,
}

#[derive(Debug, Clone, Copy)]
struct Word<'a> {
    charset: Charset,
    q: bool,
    text: &'a [u8],
}

/// Parse one encoded-word at the start of `s`; returns it and its length.
/// `None` if `s` does not start with a well-formed encoded-word.
fn parse_word(s: &[u8]) -> Option<(Word<'_>, usize)> {
    let rest = s.strip_prefix(b"=?")?;
    let q1 = rest.iter().position(|&c| c == b'?')?;
    let charset_full = rest.get(..q1)?;
    // RFC 2231 §5: charset*language.
    let charset = match charset_full.iter().position(|&c| c == b'*') {
        Some(star) => charset_full.get(..star)?,
        None => charset_full,
    };
    let charset = if charset.eq_ignore_ascii_case(b"utf-8") {
        Charset::Utf8
    } else if charset.eq_ignore_ascii_case(b"iso-8859-1") {
        Charset::Latin1
    } else if charset.eq_ignore_ascii_case(b"us-ascii") {
        Charset::Ascii
    } else {
        return None;
    };
    let q = match rest.get(q1 + 1)? {
        b'B' | b'b' => false,
        b'Q' | b'q' => true,
        _ => return None,
    };
    if rest.get(q1 + 2)? != &b'?' {
        return None;
    }
    let text_start = q1 + 3;
    let body = rest.get(text_start..)?;
    let q2 = body.iter().position(|&c| c == b'?')?;
    if body.get(q2 + 1)? != &b'=' {
        return None;
    }
    let text = body.get(..q2)?;
    // RFC 2047 §2: encoded-text is printable ASCII without '?' or space.
    if !text.iter().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    Some((Word { charset, q, text }, 2 + text_start + q2 + 2))
}

/// Whether `tok` (no whitespace) is entirely back-to-back encoded-words.
fn is_word_token(tok: &[u8]) -> bool {
    let mut rest = tok;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        match parse_word(rest).and_then(|(_, n)| rest.get(n..)) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    true
}

/// A token that claims to be encoded-words.
fn looks_encoded(tok: &[u8]) -> bool {
    tok.len() >= 4 && tok.starts_with(b"=?") && tok.ends_with(b"?=")
}

// ---------------------------------------------------------------------------
// Byte streams
// ---------------------------------------------------------------------------

fn b64_val(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decoded bytes of a `B` (padded standard base64) encoded-text.
struct BBytes<'a> {
    text: &'a [u8],
    pos: usize,
    buf: [u8; 3],
    n: usize,
    i: usize,
}

impl Iterator for BBytes<'_> {
    type Item = Result<u8, Bad>;

    fn next(&mut self) -> Option<Result<u8, Bad>> {
        if self.i < self.n {
            let b = self.buf.get(self.i).copied();
            self.i += 1;
            return b.map(Ok);
        }
        if self.pos >= self.text.len() {
            return None;
        }
        let Some(chunk) = self.text.get(self.pos..self.pos + 4) else {
            self.pos = self.text.len();
            return Some(Err(Bad));
        };
        self.pos += 4;
        let last = self.pos >= self.text.len();
        let mut v = [0u8; 4];
        let mut pads = 0usize;
        for (k, (&c, slot)) in chunk.iter().zip(v.iter_mut()).enumerate() {
            if c == b'=' {
                // Padding only at the end of the last group, at most two.
                if !last || k < 2 {
                    return Some(Err(Bad));
                }
                pads += 1;
            } else if pads > 0 {
                return Some(Err(Bad));
            } else {
                match b64_val(c) {
                    Some(x) => *slot = x,
                    None => return Some(Err(Bad)),
                }
            }
        }
        let [a, b, c, d] = v;
        self.buf = [(a << 2) | (b >> 4), (b << 4) | (c >> 2), (c << 6) | d];
        self.n = 3 - pads;
        self.i = 0;
        self.next()
    }
}

/// Decoded bytes of a `Q` encoded-text (RFC 2047 §4.2).
struct QBytes<'a> {
    text: &'a [u8],
    pos: usize,
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

impl Iterator for QBytes<'_> {
    type Item = Result<u8, Bad>;

    fn next(&mut self) -> Option<Result<u8, Bad>> {
        let c = *self.text.get(self.pos)?;
        self.pos += 1;
        Some(match c {
            b'_' => Ok(b' '),
            b'=' => {
                let hi = self.text.get(self.pos).copied().and_then(hex_val);
                let lo = self.text.get(self.pos + 1).copied().and_then(hex_val);
                self.pos += 2;
                match (hi, lo) {
                    (Some(h), Some(l)) => Ok((h << 4) | l),
                    _ => {
                        self.pos = self.text.len();
                        Err(Bad)
                    }
                }
            }
            b'?' => Err(Bad),
            c if c.is_ascii_graphic() => Ok(c),
            _ => Err(Bad),
        })
    }
}

enum Raw<'a> {
    B(BBytes<'a>),
    Q(QBytes<'a>),
}

/// The UTF-8 bytes of one encoded-word's text (charset converted).
struct WordBytes<'a> {
    raw: Raw<'a>,
    charset: Charset,
    pending: Option<u8>,
}

impl<'a> WordBytes<'a> {
    fn new(w: Word<'a>) -> WordBytes<'a> {
        let raw = if w.q {
            Raw::Q(QBytes {
                text: w.text,
                pos: 0,
            })
        } else {
            Raw::B(BBytes {
                text: w.text,
                pos: 0,
                buf: [0; 3],
                n: 0,
                i: 0,
            })
        };
        WordBytes {
            raw,
            charset: w.charset,
            pending: None,
        }
    }
}

impl Iterator for WordBytes<'_> {
    type Item = Result<u8, Bad>;

    fn next(&mut self) -> Option<Result<u8, Bad>> {
        if let Some(p) = self.pending.take() {
            return Some(Ok(p));
        }
        let b = match &mut self.raw {
            Raw::B(it) => it.next()?,
            Raw::Q(it) => it.next()?,
        };
        let b = match b {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        Some(match self.charset {
            Charset::Utf8 => Ok(b),
            Charset::Ascii if b < 0x80 => Ok(b),
            Charset::Ascii => Err(Bad),
            Charset::Latin1 if b < 0x80 => Ok(b),
            Charset::Latin1 => {
                self.pending = Some(0x80 | (b & 0x3f));
                Ok(0xc0 | (b >> 6))
            }
        })
    }
}

/// The UTF-8 bytes of a run of adjacent encoded-words (whitespace between
/// them ignored), concatenated.
struct RunBytes<'a> {
    rest: &'a [u8],
    cur: Option<WordBytes<'a>>,
}

impl<'a> RunBytes<'a> {
    fn new(run: &'a [u8]) -> RunBytes<'a> {
        RunBytes {
            rest: run,
            cur: None,
        }
    }
}

impl Iterator for RunBytes<'_> {
    type Item = Result<u8, Bad>;

    fn next(&mut self) -> Option<Result<u8, Bad>> {
        loop {
            if let Some(cur) = &mut self.cur {
                match cur.next() {
                    Some(x) => return Some(x),
                    None => self.cur = None,
                }
            }
            let skip = self.rest.iter().take_while(|&&c| is_lws(c)).count();
            self.rest = self.rest.get(skip..).unwrap_or(&[]);
            if self.rest.is_empty() {
                return None;
            }
            match parse_word(self.rest) {
                Some((w, n)) => {
                    self.rest = self.rest.get(n..).unwrap_or(&[]);
                    self.cur = Some(WordBytes::new(w));
                }
                None => {
                    self.rest = &[];
                    return Some(Err(Bad));
                }
            }
        }
    }
}

/// Decodes a stream of bytes as UTF-8, one `char` at a time.
struct Utf8Decode<I> {
    inner: I,
}

impl<I: Iterator<Item = Result<u8, Bad>>> Iterator for Utf8Decode<I> {
    type Item = Result<char, Bad>;

    fn next(&mut self) -> Option<Result<char, Bad>> {
        let lead = match self.inner.next()? {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        let width = match lead {
            0x00..=0x7f => 1,
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => return Some(Err(Bad)),
        };
        let mut buf = [lead, 0, 0, 0];
        for slot in buf.iter_mut().take(width).skip(1) {
            match self.inner.next() {
                Some(Ok(b)) => *slot = b,
                _ => return Some(Err(Bad)),
            }
        }
        // core's validator rejects overlongs, surrogates and > U+10FFFF.
        let s = buf.get(..width).and_then(|b| core::str::from_utf8(b).ok());
        Some(s.and_then(|s| s.chars().next()).ok_or(Bad))
    }
}

fn run_chars(run: &[u8]) -> Utf8Decode<RunBytes<'_>> {
    Utf8Decode {
        inner: RunBytes::new(run),
    }
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

/// Emit the decoded form of one run of encoded-words, applying S3's
/// double-encoding rule.
fn render_run(run: &[u8], emit: &mut impl FnMut(&[u8]) -> Result<(), Bad>) -> Result<(), Bad> {
    let mut all_latin1 = true;
    for c in run_chars(run) {
        if u32::from(c?) > 0xff {
            all_latin1 = false;
        }
    }
    // S3 double encoding (spec data-format/metadata-strategy.md, "Object
    // Metadata"): each char < U+0100 stands for one byte of the original
    // UTF-8. Used only when those bytes are valid UTF-8 (errata E5).
    let latin1 = all_latin1
        && Utf8Decode {
            inner: run_chars(run).map(|r| r.map(|c| u32::from(c) as u8)),
        }
        .all(|r| r.is_ok());
    let mut buf = [0u8; 4];
    for c in run_chars(run) {
        let c = c?;
        if latin1 {
            emit(&[u32::from(c) as u8])?;
        } else {
            emit(c.encode_utf8(&mut buf).as_bytes())?;
        }
    }
    Ok(())
}

/// Walk `value`, emitting its decoded bytes. Returns whether any
/// encoded-word was found.
fn render(value: &[u8], mut emit: impl FnMut(&[u8]) -> Result<(), Bad>) -> Result<bool, Bad> {
    let mut found = false;
    let mut pos = 0usize;
    // Byte range of the current run of encoded-words.
    let mut run: Option<(usize, usize)> = None;
    while pos < value.len() {
        let ws_start = pos;
        while value.get(pos).is_some_and(|&c| is_lws(c)) {
            pos += 1;
        }
        let tok_start = pos;
        while value.get(pos).is_some_and(|&c| !is_lws(c)) {
            pos += 1;
        }
        let ws = value.get(ws_start..tok_start).ok_or(Bad)?;
        let tok = value.get(tok_start..pos).ok_or(Bad)?;
        if looks_encoded(tok) {
            if !is_word_token(tok) {
                return Err(Bad);
            }
            found = true;
            run = match run {
                // RFC 2047 §6.2: whitespace between adjacent encoded-words
                // is not displayed.
                Some((s, _)) => Some((s, pos)),
                None => {
                    emit(ws)?;
                    Some((tok_start, pos))
                }
            };
        } else {
            if let Some((s, e)) = run.take() {
                render_run(value.get(s..e).ok_or(Bad)?, &mut emit)?;
            }
            emit(ws)?;
            emit(tok)?;
        }
    }
    if let Some((s, e)) = run.take() {
        render_run(value.get(s..e).ok_or(Bad)?, &mut emit)?;
    }
    Ok(found)
}

/// Measure the decoded value: `None` when it passes through unchanged.
fn measure(value: &str) -> Result<Option<usize>, Bad> {
    if !value.contains("=?") {
        return Ok(None);
    }
    let mut n = 0usize;
    let found = render(value.as_bytes(), |b| {
        n = n.checked_add(b.len()).ok_or(Bad)?;
        Ok(())
    })?;
    Ok(found.then_some(n))
}

/// How many arena bytes [`decode_value`] needs for `value`: 0 when the
/// value passes through unchanged.
///
/// ```
/// use s3ec_core::{rfc2047::arena_len, MetaKey};
/// assert_eq!(arena_len(MetaKey::MatDescV3, "{}").unwrap(), 0);
/// assert_eq!(arena_len(MetaKey::MatDescV3, "=?utf-8?q?caf=C3=A9?=").unwrap(), 5);
/// ```
pub fn arena_len(key: MetaKey, value: &str) -> Result<usize, Error> {
    measure(value)
        .map(|n| n.unwrap_or(0))
        .map_err(|_| Error::Format(FormatError::InvalidEncoding(key)))
}

/// Whether `value` contains an RFC 2047 encoded-word that
/// [`decode_value`] would decode (or reject as malformed).
pub fn is_encoded(value: &str) -> bool {
    value.contains("=?") && value.as_bytes().split(|&c| is_lws(c)).any(looks_encoded)
}

/// Decode the value of metadata key `key` as S3 returned it: RFC 2047
/// encoded-words are decoded and S3's double encoding undone; a value
/// without encoded-words (raw ASCII or raw UTF-8) is returned unchanged
/// without touching the arena. See the [module documentation](self) for the
/// exact rules.
///
/// Errors: [`FormatError::InvalidEncoding`]`(key)` for a malformed
/// encoded-word (unknown charset or encoding, bad base64 or `=XX` escape,
/// bytes that are not valid in the charset); [`Error::BufferTooSmall`] if
/// the arena has no room for the decoded value ([`arena_len`] tells how
/// much is needed).
///
/// ```
/// use s3ec_core::{rfc2047::decode_value, Arena, MetaKey};
/// let mut buf = [0u8; 32];
/// let mut arena = Arena::new(&mut buf);
/// // "Zürich" whose UTF-8 bytes S3 re-encoded one byte per character.
/// let v = decode_value(MetaKey::EncryptionContextV3, "=?UTF-8?B?WsODwrxyaWNo?=", &mut arena);
/// assert_eq!(v.unwrap(), "Zürich");
/// // Malformed words are errors.
/// assert!(decode_value(MetaKey::EncryptionContextV3, "=?UTF-8?B?!!?=", &mut arena).is_err());
/// ```
pub fn decode_value<'a>(
    key: MetaKey,
    value: &'a str,
    arena: &mut Arena<'a>,
) -> Result<&'a str, Error> {
    let bad = |_| Error::Format(FormatError::InvalidEncoding(key));
    let Some(n) = measure(value).map_err(bad)? else {
        return Ok(value);
    };
    let out = arena.alloc(n)?;
    let mut at = 0usize;
    render(value.as_bytes(), |b| {
        let end = at.checked_add(b.len()).ok_or(Bad)?;
        out.get_mut(at..end).ok_or(Bad)?.copy_from_slice(b);
        at = end;
        Ok(())
    })
    .map_err(bad)?;
    if at != n {
        return Err(bad(Bad));
    }
    let out: &'a [u8] = out;
    core::str::from_utf8(out).map_err(|_| bad(Bad))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    const K: MetaKey = MetaKey::MatDesc;

    fn dec(v: &str) -> Result<String, Error> {
        let mut buf = vec![0u8; 4 * v.len() + 16];
        let mut arena = Arena::new(&mut buf);
        let r = decode_value(K, v, &mut arena).map(String::from);
        if let Ok(s) = &r {
            if arena.used() > 0 {
                assert_eq!(arena.used(), s.len());
            }
        }
        r
    }

    fn b64(bytes: &[u8]) -> String {
        use base64ct::{Base64, Encoding};
        let mut buf = vec![0u8; bytes.len() * 4 / 3 + 4];
        String::from(Base64::encode(bytes, &mut buf).unwrap())
    }

    /// Each UTF-8 byte of `s` as one Latin-1 char, re-encoded as UTF-8: what
    /// S3 puts inside its encoded-words.
    fn double(s: &str) -> String {
        s.bytes().map(char::from).collect()
    }

    fn bad() -> Error {
        Error::Format(FormatError::InvalidEncoding(K))
    }

    #[test]
    fn passthrough_without_words() {
        for v in [
            "",
            "{}",
            r#"{"kms_cmk_id":"arn:aws:kms:us-east-1:1:key/x"}"#,
            r#"{"a":"Zoë Ångström ☃ 東京"}"#,
            "Zürich-Ω",
            "s3ec-rust ✓",
            "a=?b",
            "x =? y ?= z",
            "=?",
            "?=",
            "=?=",
        ] {
            let mut arena = Arena::empty();
            let out = decode_value(K, v, &mut arena).unwrap();
            assert_eq!(out, v);
            assert!(core::ptr::eq(out, v), "borrowed");
            assert_eq!(arena_len(K, v).unwrap(), 0);
            assert!(!is_encoded(v) || v.contains("=?="));
        }
    }

    #[test]
    fn b_and_q_words() {
        assert_eq!(dec("=?UTF-8?B?WsO8cmljaA==?=").unwrap(), "Zürich");
        assert_eq!(dec("=?utf-8?b?WsO8cmljaA==?=").unwrap(), "Zürich");
        assert_eq!(dec("=?UTF-8?Q?Z=C3=BCrich?=").unwrap(), "Zürich");
        assert_eq!(dec("=?utf-8?q?Z=c3=bcrich_x?=").unwrap(), "Zürich x");
        assert_eq!(dec("=?ISO-8859-1?Q?Z=FCrich?=").unwrap(), "Zürich");
        assert_eq!(dec("=?iso-8859-1?B?WvxyaWNo?=").unwrap(), "Zürich");
        assert_eq!(dec("=?US-ASCII?Q?plain?=").unwrap(), "plain");
        assert_eq!(dec("=?UTF-8*en?Q?a?=").unwrap(), "a");
        assert_eq!(dec("=?UTF-8?B??=").unwrap(), "");
        // Padding variants.
        assert_eq!(dec("=?UTF-8?B?YQ==?=").unwrap(), "a");
        assert_eq!(dec("=?UTF-8?B?YWI=?=").unwrap(), "ab");
        assert_eq!(dec("=?UTF-8?B?YWJj?=").unwrap(), "abc");
        // A JSON material description, all of it one word.
        let json = r#"{"project":"s3ec-rust ✓"}"#;
        let v = format!("=?UTF-8?B?{}?=", b64(json.as_bytes()));
        assert_eq!(dec(&v).unwrap(), json);
    }

    #[test]
    fn adjacent_words_and_text() {
        // Whitespace between encoded-words is dropped (RFC 2047 §6.2).
        assert_eq!(dec("=?UTF-8?Q?a?= =?UTF-8?Q?b?=").unwrap(), "ab");
        assert_eq!(dec("=?UTF-8?Q?a?=\r\n\t=?UTF-8?Q?b?=").unwrap(), "ab");
        assert_eq!(dec("=?UTF-8?Q?a?==?UTF-8?Q?b?=").unwrap(), "ab");
        // Whitespace next to ordinary text is kept.
        assert_eq!(dec("x =?UTF-8?Q?a?= y").unwrap(), "x a y");
        assert_eq!(dec("  =?UTF-8?Q?a?=  ").unwrap(), "  a  ");
        // A multi-byte sequence split across words is reassembled.
        assert_eq!(dec("=?UTF-8?Q?=C3?= =?UTF-8?Q?=BC?=").unwrap(), "ü");
        assert_eq!(dec("=?UTF-8?B?w4M=?= =?UTF-8?B?wrw=?=").unwrap(), "ü");
    }

    #[test]
    fn double_encoding() {
        for s in [
            "Zürich-Ω",
            "Zoë Ångström ☃ 東京",
            "s3ec-rust ✓ 😀",
            r#"{"k":"é"}"#,
        ] {
            let d = double(s);
            assert_ne!(d, s);
            let b = format!("=?UTF-8?B?{}?=", b64(d.as_bytes()));
            assert_eq!(dec(&b).unwrap(), s, "{b}");
            // Same with Q encoding of the double-encoded text.
            let q: String = d
                .as_bytes()
                .iter()
                .map(|&c| {
                    if c.is_ascii_alphanumeric() {
                        String::from(char::from(c))
                    } else {
                        format!("={c:02X}")
                    }
                })
                .collect();
            assert_eq!(dec(&format!("=?UTF-8?Q?{q}?=")).unwrap(), s);
            // And as ISO-8859-1 bytes (each char one byte).
            let l: Vec<u8> = d.chars().map(|c| u32::from(c) as u8).collect();
            assert_eq!(dec(&format!("=?ISO-8859-1?B?{}?=", b64(&l))).unwrap(), s);
            // Double encoding split over several words.
            let (a, z) = d.split_at(d.char_indices().nth(3).unwrap().0);
            let v = format!(
                "=?UTF-8?B?{}?= =?UTF-8?B?{}?=",
                b64(a.as_bytes()),
                b64(z.as_bytes())
            );
            assert_eq!(dec(&v).unwrap(), s);
        }
        // Text with chars >= U+0100 is not double encoded: kept as decoded.
        assert_eq!(dec("=?UTF-8?B?zqk=?=").unwrap(), "Ω");
        // All chars < U+0100 but not valid UTF-8 as bytes: kept as decoded.
        assert_eq!(dec("=?UTF-8?Q?caf=C3=A9?=").unwrap(), "café");
        assert_eq!(dec("=?ISO-8859-1?Q?caf=E9?=").unwrap(), "café");
        // The Latin-1 step is never applied to text outside encoded-words.
        assert_eq!(dec("Ã¼ =?UTF-8?Q?x?=").unwrap(), "Ã¼ x");
    }

    #[test]
    fn malformed_words_are_errors() {
        for v in [
            "=?UTF-8?B?!!?=",
            "=?UTF-8?B?WsO8cmljaA?=",  // unpadded
            "=?UTF-8?B?WsO8cmljaA=?=", // bad padding
            "=?UTF-8?B?W===?=",
            "=?UTF-8?B?YQ==YQ==?=",
            "=?UTF-8?Q?=C?=",
            "=?UTF-8?Q?=ZZ?=",
            "=?UTF-8?X?abc?=",
            "=?KOI8-R?B?YQ==?=",
            "=??B?YQ==?=",
            "=?UTF-8?B?w6?=",
            "=?UTF-8?Q?=FF?=",    // not UTF-8
            "=?UTF-8?Q?=C3?=",    // truncated sequence
            "=?US-ASCII?Q?=E9?=", // not ASCII
            "=?UTF-8?Q?a?b?=",
            "=?UTF-8?Q?a?=x=?UTF-8?Q?b?=",
            "=??=",
            "x =?UTF-8?B?!?= y",
        ] {
            assert_eq!(dec(v), Err(bad()), "{v}");
            assert_eq!(arena_len(K, v), Err(bad()), "{v}");
            assert!(is_encoded(v));
        }
    }

    #[test]
    fn arena_sizing() {
        let v = "=?UTF-8?B?WsO8cmljaA==?=";
        assert_eq!(arena_len(K, v).unwrap(), 7);
        let mut small = [0u8; 6];
        assert_eq!(
            decode_value(K, v, &mut Arena::new(&mut small)),
            Err(Error::BufferTooSmall { needed: 7 })
        );
        let mut exact = [0u8; 7];
        assert_eq!(
            decode_value(K, v, &mut Arena::new(&mut exact)).unwrap(),
            "Zürich"
        );
    }
}

//! A validating, allocation-free parser and writer for *flat* JSON objects.
//!
//! Every JSON document S3EC stores is a flat object: material descriptions
//! and encryption contexts (`x-amz-matdesc`, `x-amz-m`, `x-amz-t`) map strings
//! to strings, and instruction files map metadata keys to strings (some
//! writers use a number for `x-amz-tag-len`). [`FlatObject::parse`] validates
//! such a document completely up front (syntax, escapes, surrogate pairs,
//! duplicate keys) and then hands out borrowed views of the input: nothing is
//! copied and nothing is stored. Iterating re-scans the validated text, so it
//! can never fail.
//!
//! String contents are handed out as [`JsonStr`], the raw text between the
//! quotes with escapes still in place. They can be compared, iterated as
//! decoded `char`s, or decoded into an [`Arena`] when an owned `&str` is
//! needed.
//!
//! The writer side, [`write_str`], emits pure-ASCII JSON string literals
//! (every non-ASCII character escaped as `\uXXXX`) so that the output is safe
//! in an HTTP header and never triggers S3's RFC 2047 re-encoding.
//!
//! ```
//! use s3ec_core::json::{FlatObject, JsonValue};
//! let obj = FlatObject::parse(r#"{"kms_cmk_id": "alias/k", "tag-len": 128, "x": null}"#).unwrap();
//! assert_eq!(obj.len(), 3);
//! match obj.get("kms_cmk_id") {
//!     Some(JsonValue::Str(s)) => assert_eq!(s.as_plain(), Some("alias/k")),
//!     _ => unreachable!(),
//! }
//! assert_eq!(obj.get("tag-len"), Some(JsonValue::Number("128")));
//! assert_eq!(obj.get("x"), Some(JsonValue::Null));
//! ```

use core::fmt;

use crate::arena::Arena;
use crate::error::{Error, JsonError, JsonErrorKind};

fn err(offset: usize, kind: JsonErrorKind) -> JsonError {
    JsonError { offset, kind }
}

// ---------------------------------------------------------------------------
// JsonStr
// ---------------------------------------------------------------------------

/// The raw contents of a validated JSON string literal (the text between the
/// quotes, escapes not yet decoded).
///
/// Values of this type only come out of the parser (or [`JsonStr::new`]), so
/// the text is known to be well formed: every escape is valid and every
/// `\uXXXX` surrogate is paired.
///
/// ```
/// use s3ec_core::json::JsonStr;
/// let s = JsonStr::new(r"Z\u00fcrich \ud83d\ude00").unwrap();
/// assert!(!s.is_plain());
/// assert!(s.eq_str("Zürich 😀"));
/// assert_eq!(s.decoded_len(), "Zürich 😀".len());
/// ```
#[derive(Clone, Copy)]
pub struct JsonStr<'a> {
    raw: &'a str,
}

impl<'a> JsonStr<'a> {
    /// Validate `raw` as the contents of a JSON string literal (without the
    /// surrounding quotes). An unescaped `"` is rejected as
    /// [`JsonErrorKind::UnexpectedChar`]; offsets are relative to `raw`.
    pub fn new(raw: &'a str) -> Result<JsonStr<'a>, Error> {
        let b = raw.as_bytes();
        let mut pos = 0;
        while let Some(&c) = b.get(pos) {
            match c {
                b'"' => return Err(err(pos, JsonErrorKind::UnexpectedChar).into()),
                b'\\' => pos = validate_escape(b, pos)?,
                0x00..=0x1f => return Err(err(pos, JsonErrorKind::ControlChar).into()),
                _ => pos += 1,
            }
        }
        Ok(JsonStr { raw })
    }

    /// The raw text between the quotes, escapes not decoded.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Whether the string contains no escapes (its raw text is its value).
    pub fn is_plain(&self) -> bool {
        !self.raw.as_bytes().contains(&b'\\')
    }

    /// The value itself when it contains no escapes.
    pub fn as_plain(&self) -> Option<&'a str> {
        if self.is_plain() {
            Some(self.raw)
        } else {
            None
        }
    }

    /// The decoded characters (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`,
    /// `\t` and `\uXXXX`, surrogate pairs combined).
    pub fn chars(&self) -> JsonChars<'a> {
        JsonChars { rest: self.raw }
    }

    /// The length in bytes of the decoded value as UTF-8.
    pub fn decoded_len(&self) -> usize {
        match self.as_plain() {
            Some(s) => s.len(),
            None => self.chars().map(char::len_utf8).sum(),
        }
    }

    /// Whether the decoded value equals `s`.
    pub fn eq_str(&self, s: &str) -> bool {
        match self.as_plain() {
            Some(p) => p == s,
            None => self.chars().eq(s.chars()),
        }
    }

    /// Compare decoded values by Unicode code point (the same order as
    /// comparing their UTF-8 encodings byte-wise).
    pub fn cmp_decoded(&self, other: &JsonStr<'_>) -> core::cmp::Ordering {
        match (self.as_plain(), other.as_plain()) {
            (Some(a), Some(b)) => a.cmp(b),
            _ => self.chars().cmp(other.chars()),
        }
    }

    /// Compare the decoded value with `s` by Unicode code point.
    pub fn cmp_str(&self, s: &str) -> core::cmp::Ordering {
        match self.as_plain() {
            Some(p) => p.cmp(s),
            None => self.chars().cmp(s.chars()),
        }
    }

    /// The decoded value. Borrows the input when the string has no escapes
    /// (the arena is not touched); otherwise decodes into `arena`, failing
    /// with [`Error::BufferTooSmall`] if it has no room.
    ///
    /// ```
    /// use s3ec_core::{json::JsonStr, Arena};
    /// let mut buf = [0u8; 16];
    /// let mut arena = Arena::new(&mut buf);
    /// let s = JsonStr::new(r#"a\"b\u00e9"#).unwrap();
    /// assert_eq!(s.decode(&mut arena).unwrap(), "a\"bé");
    /// assert_eq!(arena.used(), 5);
    /// ```
    pub fn decode<'b>(&self, arena: &mut Arena<'b>) -> Result<&'b str, Error>
    where
        'a: 'b,
    {
        if let Some(p) = self.as_plain() {
            return Ok(p);
        }
        let n = self.decoded_len();
        let out = arena.alloc(n)?;
        let mut at = 0usize;
        for c in self.chars() {
            let l = c.len_utf8();
            let end = at.checked_add(l).ok_or(Error::LimitExceeded)?;
            let dst = out
                .get_mut(at..end)
                .ok_or(Error::BufferTooSmall { needed: end })?;
            c.encode_utf8(dst);
            at = end;
        }
        // Whole encoded chars were written, so this cannot fail.
        core::str::from_utf8(out).map_err(|_| Error::LimitExceeded)
    }
}

impl PartialEq for JsonStr<'_> {
    /// Equality of the decoded values.
    fn eq(&self, other: &Self) -> bool {
        self.cmp_decoded(other) == core::cmp::Ordering::Equal
    }
}

impl Eq for JsonStr<'_> {}

impl fmt::Debug for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonStr(\"{}\")", self.raw)
    }
}

impl fmt::Display for JsonStr<'_> {
    /// Writes the decoded value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_plain() {
            Some(p) => f.write_str(p),
            None => {
                for c in self.chars() {
                    fmt::Write::write_char(f, c)?;
                }
                Ok(())
            }
        }
    }
}

/// Iterator over the decoded characters of a [`JsonStr`].
#[derive(Debug, Clone)]
pub struct JsonChars<'a> {
    rest: &'a str,
}

fn hex4(b: &[u8]) -> Option<u32> {
    let d = b.get(..4)?;
    let mut v = 0u32;
    for &c in d {
        let n = (c as char).to_digit(16)?;
        v = (v << 4) | n;
    }
    Some(v)
}

impl Iterator for JsonChars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let mut it = self.rest.chars();
        let c = it.next()?;
        if c != '\\' {
            self.rest = it.as_str();
            return Some(c);
        }
        let b = self.rest.as_bytes();
        // Validated input: every escape is complete. Should that ever not
        // hold, yield U+FFFD and stop rather than panic.
        let (ch, used) = match b.get(1) {
            Some(b'"') => ('"', 2),
            Some(b'\\') => ('\\', 2),
            Some(b'/') => ('/', 2),
            Some(b'b') => ('\u{8}', 2),
            Some(b'f') => ('\u{c}', 2),
            Some(b'n') => ('\n', 2),
            Some(b'r') => ('\r', 2),
            Some(b't') => ('\t', 2),
            Some(b'u') => match decode_u(b, 0) {
                Some((ch, used)) => (ch, used),
                None => ('\u{FFFD}', b.len()),
            },
            _ => ('\u{FFFD}', b.len()),
        };
        self.rest = self.rest.get(used..).unwrap_or("");
        Some(ch)
    }
}

/// Decode the `\u` escape (possibly a surrogate pair) at `b[pos]`; returns
/// the char and the number of bytes consumed.
fn decode_u(b: &[u8], pos: usize) -> Option<(char, usize)> {
    let hi = hex4(b.get(pos + 2..)?)?;
    if (0xD800..0xDC00).contains(&hi) {
        if b.get(pos + 6) != Some(&b'\\') || b.get(pos + 7) != Some(&b'u') {
            return None;
        }
        let lo = hex4(b.get(pos + 8..)?)?;
        if !(0xDC00..0xE000).contains(&lo) {
            return None;
        }
        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
        Some((char::from_u32(cp)?, 12))
    } else {
        Some((char::from_u32(hi)?, 6))
    }
}

/// Validate the escape starting with the backslash at `b[pos]`; returns the
/// position after it. Errors are reported at the backslash.
fn validate_escape(b: &[u8], pos: usize) -> Result<usize, JsonError> {
    match b.get(pos + 1) {
        None => Err(err(b.len(), JsonErrorKind::UnexpectedEnd)),
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(pos + 2),
        Some(b'u') => {
            let digits = b.get(pos + 2..).unwrap_or(&[]);
            let Some(hi) = hex4(digits) else {
                return Err(
                    if digits.len() < 4 && digits.iter().all(u8::is_ascii_hexdigit) {
                        err(b.len(), JsonErrorKind::UnexpectedEnd)
                    } else {
                        err(pos, JsonErrorKind::InvalidEscape)
                    },
                );
            };
            if (0xDC00..0xE000).contains(&hi) {
                return Err(err(pos, JsonErrorKind::InvalidSurrogate));
            }
            if (0xD800..0xDC00).contains(&hi) {
                // RFC 8259 §7: an astral char is a surrogate pair; a lone
                // high surrogate is not a Unicode scalar value.
                if decode_u(b, pos).is_none() {
                    // The input ends inside what may still become the low
                    // half: that is a truncation, not a bad surrogate.
                    let tail = b.get(pos + 6..).unwrap_or(&[]);
                    let could_continue = tail.len() < 6
                        && tail.iter().enumerate().all(|(i, c)| match i {
                            0 => *c == b'\\',
                            1 => *c == b'u',
                            _ => c.is_ascii_hexdigit(),
                        });
                    return Err(if could_continue {
                        err(b.len(), JsonErrorKind::UnexpectedEnd)
                    } else {
                        err(pos, JsonErrorKind::InvalidSurrogate)
                    });
                }
                return Ok(pos + 12);
            }
            Ok(pos + 6)
        }
        Some(_) => Err(err(pos, JsonErrorKind::InvalidEscape)),
    }
}

// ---------------------------------------------------------------------------
// Scanner
// ---------------------------------------------------------------------------

/// A value of a flat JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonValue<'a> {
    /// A string.
    Str(JsonStr<'a>),
    /// A number, as written (validated against the JSON number grammar).
    Number(&'a str),
    /// `null`.
    Null,
}

impl<'a> JsonValue<'a> {
    /// The string, if this value is one.
    pub fn as_str(&self) -> Option<JsonStr<'a>> {
        match self {
            JsonValue::Str(s) => Some(*s),
            _ => None,
        }
    }
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    fn end_err(&self) -> JsonError {
        err(self.text.len(), JsonErrorKind::UnexpectedEnd)
    }

    /// Expect `c` at the current position (after whitespace).
    fn expect(&mut self, c: u8) -> Result<(), JsonError> {
        self.skip_ws();
        match self.peek() {
            Some(x) if x == c => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(err(self.pos, JsonErrorKind::UnexpectedChar)),
            None => Err(self.end_err()),
        }
    }

    /// Parse a string starting at the opening quote at `self.pos`.
    fn string(&mut self) -> Result<JsonStr<'a>, JsonError> {
        let b = self.bytes();
        if b.get(self.pos) != Some(&b'"') {
            return Err(match b.get(self.pos) {
                None => self.end_err(),
                Some(_) => err(self.pos, JsonErrorKind::UnexpectedChar),
            });
        }
        let start = self.pos + 1;
        let mut pos = start;
        loop {
            match b.get(pos) {
                None => return Err(self.end_err()),
                Some(b'"') => break,
                Some(b'\\') => pos = validate_escape(b, pos)?,
                Some(0x00..=0x1f) => return Err(err(pos, JsonErrorKind::ControlChar)),
                Some(_) => pos += 1,
            }
        }
        self.pos = pos + 1;
        let raw = self.text.get(start..pos).ok_or_else(|| self.end_err())?;
        Ok(JsonStr { raw })
    }

    fn digits(&mut self) -> usize {
        let s = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - s
    }

    /// Expect at least one digit.
    fn digits1(&mut self) -> Result<(), JsonError> {
        if self.digits() == 0 {
            return Err(match self.peek() {
                None => self.end_err(),
                Some(_) => err(self.pos, JsonErrorKind::UnexpectedChar),
            });
        }
        Ok(())
    }

    /// RFC 8259 §6 number grammar.
    fn number(&mut self) -> Result<&'a str, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            Some(_) => return Err(err(self.pos, JsonErrorKind::UnexpectedChar)),
            None => return Err(self.end_err()),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits1()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits1()?;
        }
        self.text
            .get(start..self.pos)
            .ok_or(err(start, JsonErrorKind::UnexpectedChar))
    }

    fn value(&mut self) -> Result<JsonValue<'a>, JsonError> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.end_err()),
            Some(b'"') => Ok(JsonValue::Str(self.string()?)),
            Some(b'-' | b'0'..=b'9') => Ok(JsonValue::Number(self.number()?)),
            Some(b'n') => {
                let at = self.pos;
                let rest = self.bytes().get(at..).unwrap_or(&[]);
                if rest.starts_with(b"null") {
                    self.pos += 4;
                    Ok(JsonValue::Null)
                } else if b"null".starts_with(rest) {
                    Err(self.end_err())
                } else {
                    Err(err(at, JsonErrorKind::UnexpectedChar))
                }
            }
            Some(b'{' | b'[' | b't' | b'f') => Err(err(self.pos, JsonErrorKind::NotAString)),
            Some(_) => Err(err(self.pos, JsonErrorKind::UnexpectedChar)),
        }
    }
}

/// One entry of a validated object, with the offset of its key's opening
/// quote and of its value.
#[derive(Clone, Copy)]
struct Entry<'a> {
    key_at: usize,
    key: JsonStr<'a>,
    value_at: usize,
    value: JsonValue<'a>,
}

/// Iterates the entries of already validated text. Stops (rather than
/// failing) at anything unexpected.
#[derive(Clone)]
struct Entries<'a> {
    text: &'a str,
    pos: usize,
    done: bool,
}

impl<'a> Entries<'a> {
    fn new(text: &'a str) -> Entries<'a> {
        let mut s = Scanner { text, pos: 0 };
        let done = s.expect(b'{').is_err();
        Entries {
            text,
            pos: s.pos,
            done,
        }
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        if self.done {
            return None;
        }
        let mut s = Scanner {
            text: self.text,
            pos: self.pos,
        };
        let r = (|| {
            s.skip_ws();
            if matches!(s.peek(), Some(b',')) {
                s.pos += 1;
                s.skip_ws();
            }
            if !matches!(s.peek(), Some(b'"')) {
                return None;
            }
            let key_at = s.pos;
            let key = s.string().ok()?;
            s.expect(b':').ok()?;
            s.skip_ws();
            let value_at = s.pos;
            let value = s.value().ok()?;
            Some(Entry {
                key_at,
                key,
                value_at,
                value,
            })
        })();
        match r {
            Some(e) => {
                self.pos = s.pos;
                Some(e)
            }
            None => {
                self.done = true;
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------
// FlatObject
// ---------------------------------------------------------------------------

/// A validated flat JSON object, borrowing its text.
///
/// Keys are unique (compared after unescaping); values are strings, numbers
/// or `null`.
///
/// ```
/// use s3ec_core::json::FlatObject;
/// let obj = FlatObject::parse("{ \"a\" : \"1\" ,\n \"b\":\"\\u00e9\" }").unwrap();
/// let mut it = obj.iter();
/// let (k, v) = it.next().unwrap();
/// assert!(k.eq_str("a") && v.as_str().unwrap().eq_str("1"));
/// let (k, v) = it.next().unwrap();
/// assert!(k.eq_str("b") && v.as_str().unwrap().eq_str("é"));
/// assert!(it.next().is_none());
///
/// // Nested values, duplicates and trailing data are rejected.
/// assert!(FlatObject::parse(r#"{"a":{}}"#).is_err());
/// assert!(FlatObject::parse(r#"{"a":"1","\u0061":"2"}"#).is_err());
/// assert!(FlatObject::parse(r#"{} x"#).is_err());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FlatObject<'a> {
    text: &'a str,
    len: usize,
}

impl<'a> FlatObject<'a> {
    /// The empty object `{}`.
    pub const EMPTY: FlatObject<'static> = FlatObject { text: "{}", len: 0 };

    /// The most entries a document may have; more is
    /// [`JsonErrorKind::TooManyEntries`]. Duplicate detection re-scans the
    /// document for every key (there is no storage to remember keys in), so
    /// parsing costs O(entries × length); the cap bounds that work. Real
    /// material descriptions, encryption contexts (KMS allows 8 KiB) and
    /// instruction files are far below it.
    pub const MAX_ENTRIES: usize = 1024;

    /// Parse and fully validate `text`.
    ///
    /// Errors are [`Error::Json`] with the byte offset of the problem:
    /// [`JsonErrorKind::NotAString`] for `true`, `false`, objects and arrays
    /// as values, [`JsonErrorKind::DuplicateKey`] (at the second key) for a
    /// key that repeats after unescaping, [`JsonErrorKind::TrailingData`]
    /// for anything but whitespace after the closing brace,
    /// [`JsonErrorKind::TooManyEntries`] beyond [`FlatObject::MAX_ENTRIES`],
    /// and the syntax kinds otherwise. Whitespace is the JSON set (space,
    /// tab, CR, LF).
    pub fn parse(text: &'a str) -> Result<FlatObject<'a>, Error> {
        Self::parse_inner(text, false).map_err(Error::Json)
    }

    /// Like [`FlatObject::parse`], but for a byte slice: invalid UTF-8 is
    /// reported as [`JsonErrorKind::NotUtf8`] at the first bad byte.
    pub fn parse_bytes(bytes: &'a [u8]) -> Result<FlatObject<'a>, Error> {
        let text = core::str::from_utf8(bytes)
            .map_err(|e| Error::Json(err(e.valid_up_to(), JsonErrorKind::NotUtf8)))?;
        Self::parse(text)
    }

    /// Like [`FlatObject::parse`], but every value must be a string:
    /// numbers and `null` are rejected with [`JsonErrorKind::NotAString`]
    /// at the value's offset.
    pub fn parse_string_map(text: &'a str) -> Result<FlatObject<'a>, Error> {
        Self::parse_inner(text, true).map_err(Error::Json)
    }

    fn parse_inner(text: &'a str, strings_only: bool) -> Result<FlatObject<'a>, JsonError> {
        let mut s = Scanner { text, pos: 0 };
        s.expect(b'{')?;
        let body = s.pos;
        let mut len = 0usize;
        s.skip_ws();
        if s.peek() == Some(b'}') {
            s.pos += 1;
        } else {
            loop {
                s.skip_ws();
                let key_at = s.pos;
                if len >= Self::MAX_ENTRIES {
                    return Err(err(key_at, JsonErrorKind::TooManyEntries));
                }
                let key = s.string()?;
                // Duplicate check against the keys already validated
                // (RFC 8259 §4 leaves duplicates undefined; we refuse them so
                // that every reader sees the same map).
                let mut prev = Entries {
                    text,
                    pos: body,
                    done: false,
                };
                if prev
                    .by_ref()
                    .take_while(|e| e.key_at < key_at)
                    .any(|e| e.key == key)
                {
                    return Err(err(key_at, JsonErrorKind::DuplicateKey));
                }
                s.expect(b':')?;
                s.skip_ws();
                let value_at = s.pos;
                let v = s.value()?;
                if strings_only && !matches!(v, JsonValue::Str(_)) {
                    return Err(err(value_at, JsonErrorKind::NotAString));
                }
                len += 1;
                s.skip_ws();
                match s.peek() {
                    Some(b',') => s.pos += 1,
                    Some(b'}') => {
                        s.pos += 1;
                        break;
                    }
                    Some(_) => return Err(err(s.pos, JsonErrorKind::UnexpectedChar)),
                    None => return Err(s.end_err()),
                }
            }
        }
        s.skip_ws();
        if s.pos < text.len() {
            return Err(err(s.pos, JsonErrorKind::TrailingData));
        }
        Ok(FlatObject { text, len })
    }

    /// The entries in document order.
    pub fn iter(&self) -> impl Iterator<Item = (JsonStr<'a>, JsonValue<'a>)> + Clone + 'a {
        Entries::new(self.text).map(|e| (e.key, e.value))
    }

    /// Entries with the byte offsets of key and value (for error reporting).
    pub(crate) fn iter_offsets(
        &self,
    ) -> impl Iterator<Item = (usize, JsonStr<'a>, usize, JsonValue<'a>)> + Clone + 'a {
        Entries::new(self.text).map(|e| (e.key_at, e.key, e.value_at, e.value))
    }

    /// The value of `key` (compared with the decoded keys).
    pub fn get(&self, key: &str) -> Option<JsonValue<'a>> {
        self.iter().find(|(k, _)| k.eq_str(key)).map(|(_, v)| v)
    }

    /// The value of `key` given as a [`JsonStr`] (compared decoded).
    pub fn get_json(&self, key: &JsonStr<'_>) -> Option<JsonValue<'a>> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the object has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The whole validated document, as given.
    pub fn as_str(&self) -> &'a str {
        self.text
    }
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// Write `s` as a JSON string literal, quotes included.
///
/// `"` and `\` are escaped, as are `\b \f \n \r \t`; every other character
/// outside printable ASCII (`U+0020..=U+007E`) is written as `\uXXXX`
/// (lower-case hex, UTF-16 surrogate pairs for astral characters). The
/// output is therefore pure ASCII and valid in an HTTP header. It is the
/// same text Python's `json.dumps(s)` produces, except that an `=` next to a
/// `?` is written `\u003d`, so the output never contains an RFC 2047
/// encoded-word delimiter (`=?`, `?=`) that a reader of S3 metadata would
/// decode.
///
/// ```
/// use s3ec_core::json::{write_str, SliceWriter};
/// let mut buf = [0u8; 64];
/// let mut w = SliceWriter::new(&mut buf);
/// write_str(&mut w, "é\"😀\n").unwrap();
/// assert_eq!(w.as_str(), r#""\u00e9\"\ud83d\ude00\n""#);
/// ```
pub fn write_str<W: fmt::Write>(out: &mut W, s: &str) -> fmt::Result {
    write_chars(out, s.chars())
}

/// Write the characters of `chars` as a JSON string literal, exactly as
/// [`write_str`] does (useful to re-encode a [`JsonStr`] via
/// [`JsonStr::chars`] without decoding it into a buffer).
pub fn write_chars<W: fmt::Write>(out: &mut W, chars: impl Iterator<Item = char>) -> fmt::Result {
    out.write_char('"')?;
    let mut chars = chars.peekable();
    let mut prev = '\0';
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match c {
            // An `=` next to a `?` is escaped, so that no written map ever
            // holds the `=?` / `?=` delimiters of an RFC 2047 encoded word:
            // S3 metadata values are decoded on read (spec
            // metadata-strategy.md), and a caller's value such as
            // `x =?UTF-8?B?QQ==?= y` must read back unchanged.
            '=' if prev == '?' || next == Some('?') => out.write_str("\\u003d")?,
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            '\u{8}' => out.write_str("\\b")?,
            '\u{c}' => out.write_str("\\f")?,
            ' '..='~' => out.write_char(c)?,
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(out, "\\u{:04x}", u)?;
                }
            }
        }
        prev = c;
    }
    out.write_char('"')
}

/// A [`fmt::Write`] sink into a caller-provided buffer.
///
/// A write that does not fit fails with [`fmt::Error`] and leaves the
/// buffer as it was before that write.
///
/// ```
/// use core::fmt::Write;
/// use s3ec_core::json::SliceWriter;
/// let mut buf = [0u8; 8];
/// let mut w = SliceWriter::new(&mut buf);
/// w.write_str("abc").unwrap();
/// assert!(w.write_str("too long!").is_err());
/// assert_eq!(w.as_str(), "abc");
/// ```
#[derive(Debug)]
pub struct SliceWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> SliceWriter<'b> {
    /// A writer that fills `buf` from the start.
    pub fn new(buf: &'b mut [u8]) -> SliceWriter<'b> {
        SliceWriter { buf, len: 0 }
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        // Only whole `str`s are ever copied in, so this is valid UTF-8.
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }

    /// Consume the writer, returning the text written with the buffer's
    /// lifetime.
    pub fn into_str(self) -> &'b str {
        let len = self.len;
        let buf: &'b [u8] = self.buf;
        core::str::from_utf8(buf.get(..len).unwrap_or(&[])).unwrap_or("")
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of room left.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.len)
    }
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A [`fmt::Write`] sink that only counts bytes, to size a buffer before
/// writing.
///
/// ```
/// use s3ec_core::json::{write_str, CountingWriter};
/// let mut c = CountingWriter::default();
/// write_str(&mut c, "é").unwrap();
/// assert_eq!(c.count(), 8); // "\u00e9" with quotes
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingWriter {
    count: usize,
}

impl CountingWriter {
    /// Bytes written so far.
    pub fn count(&self) -> usize {
        self.count
    }
}

impl fmt::Write for CountingWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.count = self.count.checked_add(s.len()).ok_or(fmt::Error)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn kind_at(text: &str) -> (usize, JsonErrorKind) {
        match FlatObject::parse(text) {
            Err(Error::Json(JsonError { offset, kind })) => (offset, kind),
            other => panic!("expected a JSON error for {text:?}, got {other:?}"),
        }
    }

    fn pairs(obj: &FlatObject<'_>) -> Vec<(String, String)> {
        obj.iter()
            .map(|(k, v)| {
                let v = match v {
                    JsonValue::Str(s) => s.chars().collect(),
                    JsonValue::Number(n) => format!("#{n}"),
                    JsonValue::Null => String::from("null"),
                };
                (k.chars().collect(), v)
            })
            .collect()
    }

    fn p(a: &str, b: &str) -> (String, String) {
        (a.into(), b.into())
    }

    #[test]
    fn every_escape() {
        let obj =
            FlatObject::parse(r#"{"k":"\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u20AC"}"#).unwrap();
        let (_, v) = obj.iter().next().unwrap();
        let s = v.as_str().unwrap();
        assert!(!s.is_plain());
        assert_eq!(s.as_plain(), None);
        let want = "\" \\ / \u{8} \u{c} \n \r \t A é €";
        assert_eq!(s.chars().collect::<String>(), want);
        assert_eq!(s.decoded_len(), want.len());
        assert!(s.eq_str(want));
        assert!(!s.eq_str("x"));
        assert_eq!(std::format!("{s}"), want);
        let mut buf = [0u8; 64];
        let mut arena = Arena::new(&mut buf);
        assert_eq!(s.decode(&mut arena).unwrap(), want);
        assert_eq!(arena.used(), want.len());
    }

    #[test]
    fn surrogate_pairs() {
        let s = JsonStr::new(r"\ud83d\ude00\uD834\uDD1E").unwrap();
        assert_eq!(s.chars().collect::<String>(), "😀𝄞");
        assert_eq!(s.decoded_len(), 8);
        // Lone high, lone low, high followed by a non-low escape or by text,
        // two highs, high at the end.
        for (bad, at) in [
            (r#"{"a":"\ud83d"}"#, 6),
            (r#"{"a":"\ude00"}"#, 6),
            (r#"{"a":"x\ud83d\u0041"}"#, 7),
            (r#"{"a":"\ud83dx"}"#, 6),
            (r#"{"a":"\ud83d\ud83d"}"#, 6),
            (r#"{"\udfff":"a"}"#, 2),
        ] {
            assert_eq!(kind_at(bad), (at, JsonErrorKind::InvalidSurrogate), "{bad}");
        }
        // Truncated inside a pair: the document ended early.
        for (t, at) in [
            (r#"{"a":"\ud83d"#, 12),
            (r#"{"a":"\ud83d\"#, 13),
            (r#"{"a":"\ud83d\ude0"#, 17),
        ] {
            assert_eq!(kind_at(t), (at, JsonErrorKind::UnexpectedEnd), "{t}");
        }
        assert_eq!(
            kind_at(r#"{"a":"\ud83d\ude0x"}"#),
            (6, JsonErrorKind::InvalidSurrogate)
        );
    }

    #[test]
    fn raw_non_ascii_and_plain() {
        let obj = FlatObject::parse(r#"{"Zoë":"Ångström ☃ 東京 😀"}"#).unwrap();
        let (k, v) = obj.iter().next().unwrap();
        assert_eq!(k.as_plain(), Some("Zoë"));
        let v = v.as_str().unwrap();
        assert_eq!(v.raw(), "Ångström ☃ 東京 😀");
        // Plain strings are borrowed, not copied.
        let mut arena = Arena::empty();
        assert_eq!(v.decode(&mut arena).unwrap(), "Ångström ☃ 東京 😀");
        // Escaped ones need room.
        let e = JsonStr::new(r"\u00e9").unwrap();
        assert_eq!(
            e.decode(&mut Arena::empty()),
            Err(Error::BufferTooSmall { needed: 2 })
        );
    }

    #[test]
    fn writer_spacings() {
        let want = vec![p("a", "1"), p("b", "2")];
        for text in [
            r#"{"a":"1","b":"2"}"#,                  // Java / Go compact
            r#"{"a": "1", "b": "2"}"#,               // Python json.dumps
            "{\n  \"a\": \"1\",\n  \"b\": \"2\"\n}", // pretty
            " \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n\"1\" \t\r\n, \t\r\n\"b\"\n:\n\"2\"\r\n} \t\r\n",
        ] {
            let obj = FlatObject::parse(text).unwrap();
            assert_eq!(pairs(&obj), want, "{text:?}");
            assert_eq!(obj.len(), 2);
            assert!(!obj.is_empty());
            assert_eq!(obj.as_str(), text);
        }
        for text in ["{}", " { } ", "{\n}"] {
            let obj = FlatObject::parse(text).unwrap();
            assert!(obj.is_empty());
            assert_eq!(obj.iter().count(), 0);
        }
        assert!(FlatObject::EMPTY.is_empty());
        assert_eq!(FlatObject::EMPTY.as_str(), "{}");
    }

    #[test]
    fn numbers_and_null() {
        let obj = FlatObject::parse(
            r#"{"a":0,"b":-1,"c":128,"d":1.5,"e":-0.25e+10,"f":1E5,"g":null,"h":"s"}"#,
        )
        .unwrap();
        assert_eq!(obj.get("a"), Some(JsonValue::Number("0")));
        assert_eq!(obj.get("b"), Some(JsonValue::Number("-1")));
        assert_eq!(obj.get("c"), Some(JsonValue::Number("128")));
        assert_eq!(obj.get("d"), Some(JsonValue::Number("1.5")));
        assert_eq!(obj.get("e"), Some(JsonValue::Number("-0.25e+10")));
        assert_eq!(obj.get("f"), Some(JsonValue::Number("1E5")));
        assert_eq!(obj.get("g"), Some(JsonValue::Null));
        assert!(obj.get("h").unwrap().as_str().unwrap().eq_str("s"));
        assert_eq!(obj.get("i"), None);
        assert_eq!(obj.get("g").unwrap().as_str(), None);
        for (bad, at, kind) in [
            (r#"{"a":01}"#, 6, JsonErrorKind::UnexpectedChar),
            (r#"{"a":1.}"#, 7, JsonErrorKind::UnexpectedChar),
            (r#"{"a":-}"#, 6, JsonErrorKind::UnexpectedChar),
            (r#"{"a":1e}"#, 7, JsonErrorKind::UnexpectedChar),
            (r#"{"a":+1}"#, 5, JsonErrorKind::UnexpectedChar),
            (r#"{"a":.5}"#, 5, JsonErrorKind::UnexpectedChar),
            (r#"{"a":nul}"#, 5, JsonErrorKind::UnexpectedChar),
            (r#"{"a":nulls}"#, 9, JsonErrorKind::UnexpectedChar),
            (r#"{"a":1"#, 6, JsonErrorKind::UnexpectedEnd),
            (r#"{"a":nu"#, 7, JsonErrorKind::UnexpectedEnd),
            (r#"{"a":1e"#, 7, JsonErrorKind::UnexpectedEnd),
        ] {
            assert_eq!(kind_at(bad), (at, kind), "{bad}");
        }
        // String-only parsing rejects numbers and null at the value.
        let e = FlatObject::parse_string_map(r#"{"a":"x", "b": 128}"#).unwrap_err();
        assert_eq!(e, Error::Json(err(15, JsonErrorKind::NotAString)));
        let e = FlatObject::parse_string_map(r#"{"a":null}"#).unwrap_err();
        assert_eq!(e, Error::Json(err(5, JsonErrorKind::NotAString)));
    }

    #[test]
    fn error_kinds_and_offsets() {
        use JsonErrorKind::*;
        for (bad, at, kind) in [
            ("", 0, UnexpectedEnd),
            ("   ", 3, UnexpectedEnd),
            ("{", 1, UnexpectedEnd),
            (r#"{"a"#, 3, UnexpectedEnd),
            (r#"{"a""#, 4, UnexpectedEnd),
            (r#"{"a":"#, 5, UnexpectedEnd),
            (r#"{"a":"b"#, 7, UnexpectedEnd),
            (r#"{"a":"b""#, 8, UnexpectedEnd),
            (r#"{"a":"b","#, 9, UnexpectedEnd),
            (r#"{"a":"\"#, 7, UnexpectedEnd),
            (r#"{"a":"\u12"#, 10, UnexpectedEnd),
            ("[]", 0, UnexpectedChar),
            ("x", 0, UnexpectedChar),
            ("{a:1}", 1, UnexpectedChar),
            ("{'a':'b'}", 1, UnexpectedChar),
            (r#"{"a" "b"}"#, 5, UnexpectedChar),
            (r#"{"a":"b" "c":"d"}"#, 9, UnexpectedChar),
            (r#"{"a":"b",}"#, 9, UnexpectedChar),
            (r#"{,"a":"b"}"#, 1, UnexpectedChar),
            (r#"{"a":"b";"c":"d"}"#, 8, UnexpectedChar),
            (r#"{"a":~}"#, 5, UnexpectedChar),
            ("{\u{a0}}", 1, UnexpectedChar), // NBSP is not JSON whitespace
            (r#"{"a":"\x"}"#, 6, InvalidEscape),
            (r#"{"a":"\U0041"}"#, 6, InvalidEscape),
            (r#"{"a":"\u00g1"}"#, 6, InvalidEscape),
            (r#"{"a":"\u12"}"#, 6, InvalidEscape),
            (r#"{"a":"\'"}"#, 6, InvalidEscape),
            ("{\"a\":\"x\u{1}\"}", 7, ControlChar),
            ("{\"a\":\"\n\"}", 6, ControlChar),
            ("{\"a\u{1f}\":\"\"}", 3, ControlChar),
            (r#"{"a":{}}"#, 5, NotAString),
            (r#"{"a":[]}"#, 5, NotAString),
            (r#"{"a":true}"#, 5, NotAString),
            (r#"{"a": false}"#, 6, NotAString),
            (r#"{"a":"1","a":"2"}"#, 9, DuplicateKey),
            (r#"{"a":"1","b":"2","\u0061":"3"}"#, 17, DuplicateKey),
            (r#"{"\u00e9":"1", "é":"2"}"#, 15, DuplicateKey),
            (r#"{"\/":"1","/":"2"}"#, 10, DuplicateKey),
            (r#"{}{}"#, 2, TrailingData),
            (r#"{} x"#, 3, TrailingData),
            ("{}\n\0", 3, TrailingData),
        ] {
            assert_eq!(kind_at(bad), (at, kind), "{bad:?}");
        }
        // Entry cap.
        let mut big = String::from("{");
        for i in 0..FlatObject::MAX_ENTRIES {
            big.push_str(&format!("\"k{i}\":\"\","));
        }
        let at = big.len();
        big.push_str("\"last\":\"\"}");
        assert_eq!(kind_at(&big), (at, TooManyEntries));
        big.truncate(at - 1);
        big.push('}');
        assert_eq!(
            FlatObject::parse(&big).unwrap().len(),
            FlatObject::MAX_ENTRIES
        );
        // Keys equal only before unescaping are not duplicates.
        assert!(FlatObject::parse(r#"{"a":"1","\u0062":"2","A":"3"}"#).is_ok());
        // NotUtf8 from the byte entry point.
        assert_eq!(
            FlatObject::parse_bytes(b"{\"a\":\"\xff\"}").unwrap_err(),
            Error::Json(err(6, NotUtf8))
        );
        assert!(FlatObject::parse_bytes(b"{\"a\":\"b\"}").is_ok());
        // JsonStr::new rejects an unescaped quote.
        assert_eq!(
            JsonStr::new("a\"b").unwrap_err(),
            Error::Json(err(1, UnexpectedChar))
        );
    }

    #[test]
    fn jsonstr_eq_and_order() {
        let a = JsonStr::new(r"\u0061b").unwrap();
        let b = JsonStr::new("ab").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, JsonStr::new("ac").unwrap());
        // Code-point order: U+FFFD < U+1F600 (UTF-16 order would disagree).
        let hi = JsonStr::new(r"\ud83d\ude00").unwrap();
        let mid = JsonStr::new("\u{fffd}").unwrap();
        assert_eq!(mid.cmp_decoded(&hi), core::cmp::Ordering::Less);
        assert_eq!(hi.cmp_str("\u{fffd}"), core::cmp::Ordering::Greater);
        assert_eq!(a.cmp_str("ab"), core::cmp::Ordering::Equal);
        let obj = FlatObject::parse(r#"{"\u0061":"x"}"#).unwrap();
        assert!(obj.get("a").is_some());
        assert!(obj.get_json(&b).is_none());
        assert!(obj.get_json(&JsonStr::new("a").unwrap()).is_some());
    }

    fn lit(s: &str) -> String {
        let mut buf = [0u8; 256];
        let mut w = SliceWriter::new(&mut buf);
        write_str(&mut w, s).unwrap();
        String::from(w.as_str())
    }

    #[test]
    fn write_str_escapes() {
        assert_eq!(lit(""), r#""""#);
        assert_eq!(lit("plain ~!"), r#""plain ~!""#);
        assert_eq!(lit("\"\\/"), r#""\"\\/""#);
        assert_eq!(lit("\u{8}\u{c}\n\r\t"), r#""\b\f\n\r\t""#);
        assert_eq!(lit("\u{0}\u{1f}\u{7f}"), r#""\u0000\u001f\u007f""#);
        assert_eq!(lit("é€"), r#""\u00e9\u20ac""#);
        assert_eq!(lit("😀"), r#""\ud83d\ude00""#);
        assert_eq!(lit("Zürich-Ω"), r#""Z\u00fcrich-\u03a9""#);
        for s in ["", "a\"b", "\u{0}\u{7f}é😀\u{ffff}\u{10ffff}", "\\u0041"] {
            let l = lit(s);
            assert!(l.is_ascii());
            let inner = &l[1..l.len() - 1];
            assert!(JsonStr::new(inner).unwrap().eq_str(s), "{s:?}");
        }
        let mut c = CountingWriter::default();
        write_str(&mut c, "é😀").unwrap();
        assert_eq!(c.count(), lit("é😀").len());
    }

    #[test]
    fn slice_writer() {
        use core::fmt::Write;
        let mut buf = [0u8; 4];
        let mut w = SliceWriter::new(&mut buf);
        assert!(w.is_empty());
        w.write_str("ab").unwrap();
        assert!(w.write_str("cde").is_err());
        assert_eq!(w.as_str(), "ab");
        assert_eq!(w.remaining(), 2);
        w.write_str("cd").unwrap();
        assert_eq!(w.len(), 4);
        assert!(w.write_char('x').is_err());
        assert_eq!(w.into_str(), "abcd");
        let mut small = [0u8; 3];
        assert!(write_str(&mut SliceWriter::new(&mut small), "ab").is_err());
    }

    #[test]
    fn iteration_reports_offsets() {
        let obj = FlatObject::parse(r#"{ "a" : "b" , "c":1 }"#).unwrap();
        let v: Vec<_> = obj.iter_offsets().map(|(k, _, v, _)| (k, v)).collect();
        assert_eq!(v, vec![(2, 8), (14, 18)]);
    }
}

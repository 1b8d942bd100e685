//! Generators of plausible S3EC metadata, material descriptions, RFC 2047
//! encoded values and instruction-file JSON, driven by the fuzzer's bytes.
//!
//! Every choice's first option is the "normal" one, so that when the
//! fuzzer's bytes run out (arbitrary then picks the first option) the result
//! is a well-formed envelope rather than noise.

use arbitrary::{Result, Unstructured};
use s3ec_core::MetaKey;

/// Every S3EC mapkey, as stored.
pub fn meta_keys() -> impl Iterator<Item = &'static str> {
    MetaKey::ALL.iter().map(|k| k.as_str())
}

/// `true` with probability `num/den`; `false` once the input is exhausted
/// (arbitrary's own `ratio` would then always say `true`).
pub fn chance(u: &mut Unstructured<'_>, num: u8, den: u8) -> Result<bool> {
    if u.is_empty() {
        return Ok(false);
    }
    u.ratio(num, den)
}

/// A small integer in `range`, the range's start once the input is exhausted.
pub fn small(u: &mut Unstructured<'_>, lo: usize, hi: usize) -> Result<usize> {
    u.int_in_range(lo..=hi)
}

/// Pick one of `items` (the first once the input is exhausted).
pub fn pick<'a, T>(u: &mut Unstructured<'_>, items: &'a [T]) -> Result<&'a T> {
    u.choose(items)
}

/// `n` bytes: as many as the input has, padded with a non-zero pattern.
pub fn fill(u: &mut Unstructured<'_>, n: usize) -> Result<Vec<u8>> {
    let take = n.min(u.len());
    let mut v = u.bytes(take)?.to_vec();
    let mut i = v.len();
    while v.len() < n {
        v.push((i as u8).wrapping_mul(37).wrapping_add(11));
        i += 1;
    }
    Ok(v)
}

/// A key written in a random case: mostly as stored, sometimes Go's
/// `X-Amz-Key-V2` style, sometimes a random mix.
pub fn key_case(u: &mut Unstructured<'_>, k: &str) -> Result<String> {
    Ok(match small(u, 0, 5)? {
        0..=2 => k.to_owned(),
        3 => {
            let mut out = String::new();
            let mut up = true;
            for c in k.chars() {
                out.push(if up { c.to_ascii_uppercase() } else { c });
                up = c == '-';
            }
            out
        }
        4 => k.to_ascii_uppercase(),
        _ => {
            let mut out = String::new();
            for c in k.chars() {
                out.push(if chance(u, 1, 2)? {
                    c.to_ascii_uppercase()
                } else {
                    c
                });
            }
            out
        }
    })
}

/// Padded standard base64.
pub fn b64(bytes: &[u8]) -> String {
    let mut buf = vec![0u8; s3ec_core::b64::encoded_len(bytes.len())];
    s3ec_core::b64::encode(bytes, &mut buf)
        .expect("encoded_len is enough")
        .to_owned()
}

/// Damage a base64 value in one of the ways other writers or attackers do.
pub fn corrupt_b64(u: &mut Unstructured<'_>, s: &str) -> Result<String> {
    Ok(match small(u, 0, 7)? {
        0 => s.trim_end_matches('=').to_owned(),
        1 => format!("{s}="),
        2 => format!(" {s}"),
        3 => s.replace('+', "-").replace('/', "_"),
        4 => {
            let mut t = s.to_owned();
            if !t.is_empty() {
                let at = small(u, 0, t.len() - 1)?;
                if t.is_char_boundary(at) && t.is_char_boundary(at + 1) {
                    t.replace_range(at..at + 1, "*");
                }
            }
            t
        }
        5 => format!("{}\n{}", &s[..s.len() / 2], &s[s.len() / 2..]),
        6 => {
            // Non-canonical trailing bits: "QR==" instead of "QQ==".
            let mut t = s.to_owned();
            if let Some(p) = t.find('=') {
                if p > 0 && t.is_char_boundary(p - 1) {
                    let c = t.as_bytes()[p - 1];
                    if c.is_ascii_uppercase() && c != b'Z' {
                        t.replace_range(p - 1..p, &((c + 1) as char).to_string());
                    }
                }
            }
            t
        }
        _ => String::new(),
    })
}

/// Base64 of `len` bytes (one of `lens`, or an arbitrary length), sometimes
/// damaged, sometimes all zero.
pub fn b64_value(u: &mut Unstructured<'_>, lens: &[usize]) -> Result<String> {
    let len = if chance(u, 1, 10)? {
        small(u, 0, 1100)?
    } else {
        *pick(u, lens)?
    };
    let bytes = if chance(u, 1, 16)? {
        vec![0u8; len]
    } else {
        fill(u, len)?
    };
    let s = b64(&bytes);
    if chance(u, 1, 16)? {
        corrupt_b64(u, &s)
    } else {
        Ok(s)
    }
}

/// A short arbitrary text, biased towards characters that matter to JSON,
/// RFC 2047 and UTF-8 handling.
pub fn text(u: &mut Unstructured<'_>) -> Result<String> {
    const ALPHABET: &[&str] = &[
        "a", "Z", "0", " ", "\"", "\\", "/", "=", "?", "_", "\t", "\n", "\r", "\u{0}", "\u{1f}",
        "\u{7f}", "é", "ü", "Ω", "✓", "😀", "\u{ff}", "\u{100}", "\u{feff}", "\u{2028}", "=?",
        "?=", "=?UTF-8?B?", "=?utf-8?q?", "{", "}", ":", ",", "\\u00e9", "\\ud83d", "Ã",
        "\u{c2}\u{a0}", "aws:x-amz-cek-alg",
    ];
    let n = small(u, 0, 12)?;
    let mut s = String::new();
    for _ in 0..n {
        if chance(u, 1, 3)? {
            let c: char = u.arbitrary()?;
            s.push(c);
        } else {
            s.push_str(pick(u, ALPHABET)?);
        }
    }
    Ok(s)
}

/// The content-cipher names a stored map or `x-amz-cek-alg` may carry.
pub const CEK_ALGS: &[&str] = &[
    "AES/GCM/NoPadding",
    "AES/CBC/PKCS5Padding",
    "AES/CBC/PKCS7Padding",
    "115",
    "AES/CTR/NoPadding",
    "aes/gcm/nopadding",
    "",
    "AES/GCM/NoPadding ",
];

/// The V2 wrap names, and a few near misses.
pub const WRAP_NAMES: &[&str] = &[
    "AES/GCM",
    "kms+context",
    "RSA-OAEP-SHA1",
    "kms",
    "AESWrap",
    "RSA/ECB/OAEPWithSHA-256AndMGF1Padding",
    "AES",
    "RSA",
    "KMS+CONTEXT",
    "",
];

/// The V3 wrap codes, and a few near misses.
pub const V3_WRAPS: &[&str] = &["02", "12", "22", "01", "11", "21", "2", "", "AES/GCM"];

/// Quote `s` as a JSON string literal with randomly chosen (valid)
/// escapes: `\uXXXX` in either case and surrogate pairs, the short escapes,
/// `\/`.
pub fn json_str(u: &mut Unstructured<'_>, s: &str) -> Result<String> {
    let mut out = String::from("\"");
    let style = small(u, 0, 3)?; // 0: plain, 1: occasional escapes, 2: all \u, 3: ASCII only
    for c in s.chars() {
        let must = c == '"' || c == '\\' || (c as u32) < 0x20;
        let want = match style {
            0 => false,
            1 => chance(u, 1, 6)?,
            2 => true,
            _ => !c.is_ascii(),
        };
        if !must && !want {
            out.push(c);
            continue;
        }
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\t' => Some("\\t"),
            '\r' => Some("\\r"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '/' => Some("\\/"),
            _ => None,
        };
        match short {
            Some(e) if style != 2 || chance(u, 1, 2)? => out.push_str(e),
            _ => {
                let upper = chance(u, 1, 2)?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    if upper {
                        out.push_str(&format!("\\u{:04X}", unit));
                    } else {
                        out.push_str(&format!("\\u{:04x}", unit));
                    }
                }
            }
        }
    }
    out.push('"');
    Ok(out)
}

/// JSON whitespace, mostly none.
fn ws(u: &mut Unstructured<'_>) -> Result<&'static str> {
    Ok(*pick(u, &["", "", "", " ", "\n  ", "\t", "\r\n"])?)
}

/// Render `pairs` as a JSON object in one of several writers' styles.
pub fn render_object(u: &mut Unstructured<'_>, pairs: &[(String, String)]) -> Result<String> {
    let style = small(u, 0, 4)?;
    let mut out = String::new();
    match style {
        // serde_json / Java compact.
        0 => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                out.push_str(&serde_json::to_string(v).unwrap());
            }
            out.push('}');
        }
        // Python's json.dumps default.
        1 => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&python_str(k));
                out.push_str(": ");
                out.push_str(&python_str(v));
            }
            out.push('}');
        }
        // Pretty.
        2 => {
            let m: serde_json::Map<String, serde_json::Value> = pairs
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            out = serde_json::to_string_pretty(&m).unwrap();
        }
        // Random escapes and whitespace.
        _ => {
            out.push_str(ws(u)?);
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(ws(u)?);
                    out.push(',');
                }
                out.push_str(ws(u)?);
                out.push_str(&json_str(u, k)?);
                out.push_str(ws(u)?);
                out.push(':');
                out.push_str(ws(u)?);
                out.push_str(&json_str(u, v)?);
            }
            out.push_str(ws(u)?);
            out.push('}');
            out.push_str(ws(u)?);
        }
    }
    Ok(out)
}

/// Python's `json.dumps(s)` (ASCII-only, `\uXXXX` lower case).
fn python_str(s: &str) -> String {
    let mut buf = vec![0u8; s.len() * 12 + 2];
    let mut w = s3ec_core::json::SliceWriter::new(&mut buf);
    s3ec_core::json::write_str(&mut w, s).unwrap();
    w.as_str().to_owned()
}

/// Keys seen in real material descriptions and encryption contexts.
const MAP_KEYS: &[&str] = &[
    "department",
    "project",
    "kms_cmk_id",
    "aws:x-amz-cek-alg",
    "owner",
    "",
    "Zürich",
    "key",
];

/// Values seen in real maps, plus ones that look like RFC 2047 encoded
/// words (the reader decodes whitespace-delimited encoded words in object
/// metadata).
const MAP_VALUES: &[&str] = &[
    "Zürich-Ω",
    "s3ec-rust ✓",
    "alias/my-key",
    "",
    "115",
    "AES/GCM/NoPadding",
    "primary",
    "x =?UTF-8?B?QQ==?= y",
    "a =?bad?= b",
    "=?UTF-8?B?QQ==?=",
    "tab\tnl\n",
    "\"quoted\" \\ back",
];

/// The pairs of a plausible material description.
pub fn map_pairs(u: &mut Unstructured<'_>, cek: Option<&str>) -> Result<Vec<(String, String)>> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(c) = cek {
        if !chance(u, 1, 8)? {
            pairs.push(("aws:x-amz-cek-alg".to_owned(), c.to_owned()));
        }
    }
    let n = small(u, 0, 4)?;
    for _ in 0..n {
        let k = if chance(u, 1, 4)? {
            text(u)?
        } else {
            (*pick(u, MAP_KEYS)?).to_owned()
        };
        let v = if chance(u, 1, 4)? {
            text(u)?
        } else {
            (*pick(u, MAP_VALUES)?).to_owned()
        };
        if pairs.iter().any(|(pk, _)| *pk == k) && !chance(u, 1, 16)? {
            continue; // keep keys unique, mostly
        }
        pairs.push((k, v));
    }
    if chance(u, 1, 24)? {
        // Big: past the 2 KB a single metadata value may have.
        let n = small(u, 1, 60)?;
        for i in 0..n {
            pairs.push((format!("k{i}"), "v".repeat(small(u, 0, 120)?)));
        }
    }
    Ok(pairs)
}

/// The text of a plausible material description / encryption context.
pub fn map_json(u: &mut Unstructured<'_>, cek: Option<&str>) -> Result<String> {
    Ok(match small(u, 0, 15)? {
        0..=11 => {
            let pairs = map_pairs(u, cek)?;
            render_object(u, &pairs)?
        }
        12 => String::new(),
        13 => (*pick(u, &["null", "{}", " { } ", "[]", "{\"a\":1}", "{\"a\":null}"])?).to_owned(),
        _ => text(u)?,
    })
}

/// Encode `s` as RFC 2047 encoded-words the way S3 (and mail software)
/// does: S3's double encoding (each UTF-8 byte as a Latin-1 character,
/// re-encoded as UTF-8), plain UTF-8, or ISO-8859-1; `B` or `Q`; split into
/// words at arbitrary byte boundaries.
pub fn rfc2047(u: &mut Unstructured<'_>, s: &str) -> Result<String> {
    let double = !chance(u, 1, 4)?;
    let (charset, bytes): (&str, Vec<u8>) = if double {
        let latin: String = s.bytes().map(char::from).collect();
        (*pick(u, &["UTF-8", "utf-8", "UTF-8*en"])?, latin.into_bytes())
    } else if s.chars().all(|c| (c as u32) < 0x100) && chance(u, 1, 2)? {
        ("ISO-8859-1", s.chars().map(|c| c as u32 as u8).collect())
    } else {
        ("UTF-8", s.as_bytes().to_vec())
    };
    let q = chance(u, 1, 3)?;
    let chunk = if chance(u, 1, 2)? {
        usize::MAX
    } else {
        small(u, 1, 40)?
    };
    let mut words = Vec::new();
    let mut rest: &[u8] = &bytes;
    loop {
        let n = chunk.min(rest.len());
        let (now, later) = rest.split_at(n);
        let text = if q {
            let mut t = String::new();
            for &b in now {
                if b.is_ascii_alphanumeric() {
                    t.push(b as char);
                } else if b == b' ' {
                    t.push('_');
                } else {
                    t.push_str(&format!("={:02X}", b));
                }
            }
            t
        } else {
            b64(now)
        };
        words.push(format!("=?{}?{}?{}?=", charset, if q { 'Q' } else { 'B' }, text));
        rest = later;
        if rest.is_empty() {
            break;
        }
    }
    let sep = *pick(u, &[" ", "\r\n ", "\t", "  "])?;
    Ok(words.join(sep))
}

/// Content-format context, so that generated values agree with each other.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// 1, 2 or 3.
    pub version: u8,
    /// The stored content cipher.
    pub cek: &'static str,
    /// The V2 wrap name or V3 code.
    pub wrap: &'static str,
}

fn iv_lens(ctx: &Ctx) -> &'static [usize] {
    if ctx.version == 1 || ctx.cek.starts_with("AES/CBC") {
        &[16, 12, 0, 15, 32]
    } else {
        &[12, 16, 0, 11, 13]
    }
}

/// A plausible value for `key`.
pub fn value_for(u: &mut Unstructured<'_>, key: MetaKey, ctx: &Ctx) -> Result<String> {
    if chance(u, 1, 40)? {
        return text(u);
    }
    Ok(match key {
        MetaKey::KeyV1 => b64_value(u, &[32, 48, 128, 256, 16])?,
        MetaKey::KeyV2 => b64_value(u, &[60, 184, 40, 32, 24, 256, 512])?,
        MetaKey::KeyV3 => b64_value(u, &[60, 184, 256, 1024, 1025])?,
        MetaKey::Iv => b64_value(u, iv_lens(ctx))?,
        MetaKey::KeyCommitmentV3 => b64_value(u, &[28, 27, 29, 32])?,
        MetaKey::MessageIdV3 => b64_value(u, &[28, 27, 29, 12])?,
        MetaKey::MatDesc | MetaKey::MatDescV3 | MetaKey::EncryptionContextV3 => {
            let kms = ctx.wrap == "kms+context" || ctx.wrap == "12";
            let cek = if kms || chance(u, 1, 6)? {
                Some(ctx.cek)
            } else {
                None
            };
            let json = map_json(u, cek)?;
            if chance(u, 1, 6)? {
                rfc2047(u, &json)?
            } else {
                json
            }
        }
        MetaKey::WrapAlg => {
            if chance(u, 1, 8)? {
                (*pick(u, WRAP_NAMES)?).to_owned()
            } else {
                ctx.wrap.to_owned()
            }
        }
        MetaKey::CekAlg => {
            if chance(u, 1, 8)? {
                (*pick(u, CEK_ALGS)?).to_owned()
            } else {
                ctx.cek.to_owned()
            }
        }
        MetaKey::TagLen => {
            (*pick(u, &["128", "128", "", "0", "96", "0128", "+128", "128 ", "340282366920938463463374607431768211456"])?).to_owned()
        }
        MetaKey::UnencryptedContentLength => {
            if chance(u, 1, 6)? {
                (*pick(u, &["", "-1", "0017", "18446744073709551615", "18446744073709551616", "1e3", "null"])?).to_owned()
            } else {
                u.arbitrary::<u32>()?.to_string()
            }
        }
        MetaKey::ContentCipherV3 => {
            if chance(u, 1, 8)? {
                (*pick(u, CEK_ALGS)?).to_owned()
            } else {
                "115".to_owned()
            }
        }
        MetaKey::WrapAlgV3 => {
            if chance(u, 1, 8)? {
                (*pick(u, V3_WRAPS)?).to_owned()
            } else {
                ctx.wrap.to_owned()
            }
        }
        _ => {
            if chance(u, 1, 4)? {
                text(u)?
            } else {
                String::new()
            }
        }
    })
}

/// The layouts the generator starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `x-amz-key`, `x-amz-iv`, `x-amz-matdesc`.
    V1,
    /// The full V2 set.
    V2,
    /// The full V3 set.
    V3,
    /// V3's `x-amz-c`, `x-amz-d`, `x-amz-i` only.
    SplitV3,
    /// Any keys at all.
    Free,
}

/// A coherent context and the mapkeys of one envelope shape.
pub fn template(u: &mut Unstructured<'_>, shape: Shape) -> Result<(Ctx, Vec<MetaKey>)> {
    use MetaKey as K;
    let mut keys = Vec::new();
    let ctx = match shape {
        Shape::V1 => {
            keys.extend([K::KeyV1, K::Iv, K::MatDesc]);
            if chance(u, 1, 4)? {
                keys.push(K::CekAlg);
            }
            Ctx {
                version: 1,
                cek: *pick(u, &["AES/CBC/PKCS5Padding", "AES/CBC/PKCS7Padding"])?,
                wrap: "",
            }
        }
        Shape::V2 => {
            keys.extend([K::KeyV2, K::Iv, K::MatDesc, K::WrapAlg, K::CekAlg, K::TagLen]);
            let (cek, wrap) = *pick(
                u,
                &[
                    ("AES/GCM/NoPadding", "kms+context"),
                    ("AES/GCM/NoPadding", "AES/GCM"),
                    ("AES/GCM/NoPadding", "RSA-OAEP-SHA1"),
                    ("AES/GCM/NoPadding", "kms"),
                    ("AES/GCM/NoPadding", "AESWrap"),
                    ("AES/GCM/NoPadding", "RSA/ECB/OAEPWithSHA-256AndMGF1Padding"),
                    ("AES/CBC/PKCS5Padding", "kms"),
                    ("AES/CBC/PKCS5Padding", "AESWrap"),
                    ("AES/CBC/PKCS7Padding", "kms"),
                ],
            )?;
            Ctx {
                version: 2,
                cek,
                wrap,
            }
        }
        Shape::V3 => {
            let wrap = *pick(u, &["02", "12", "22"])?;
            keys.extend([K::ContentCipherV3, K::KeyV3, K::WrapAlgV3]);
            if wrap == "12" {
                keys.push(K::EncryptionContextV3);
            } else if !chance(u, 1, 4)? {
                keys.push(K::MatDescV3);
            }
            keys.extend([K::KeyCommitmentV3, K::MessageIdV3]);
            Ctx {
                version: 3,
                cek: "115",
                wrap,
            }
        }
        Shape::SplitV3 => {
            keys.extend([K::ContentCipherV3, K::KeyCommitmentV3, K::MessageIdV3]);
            Ctx {
                version: 3,
                cek: "115",
                wrap: *pick(u, &["02", "12", "22"])?,
            }
        }
        Shape::Free => {
            for k in MetaKey::ALL {
                if chance(u, 1, 3)? {
                    keys.push(k);
                }
            }
            Ctx {
                version: *pick(u, &[1, 2, 3])?,
                cek: *pick(u, CEK_ALGS)?,
                wrap: *pick(u, &["AES/GCM", "kms+context", "02", "12", "22", "kms"])?,
            }
        }
    };
    if chance(u, 1, 3)? {
        keys.push(K::UnencryptedContentLength);
    }
    Ok((ctx, keys))
}

/// Pick a shape.
pub fn shape(u: &mut Unstructured<'_>) -> Result<Shape> {
    Ok(*pick(
        u,
        &[Shape::V2, Shape::V3, Shape::V1, Shape::SplitV3, Shape::Free],
    )?)
}

/// Object-metadata entries: a template, its values, then a few mutations
/// (entries removed, added, duplicated in another case, replaced).
pub fn envelope_entries(u: &mut Unstructured<'_>) -> Result<Vec<(String, String)>> {
    let sh = shape(u)?;
    let (ctx, keys) = template(u, sh)?;
    let mut out = Vec::new();
    for k in keys {
        let v = value_for(u, k, &ctx)?;
        out.push((key_case(u, k.as_str())?, v));
    }
    mutate(u, &mut out, &ctx)?;
    Ok(out)
}

/// Apply up to a few random edits to an entry list.
pub fn mutate(u: &mut Unstructured<'_>, out: &mut Vec<(String, String)>, ctx: &Ctx) -> Result<()> {
    let edits = if chance(u, 1, 2)? { small(u, 0, 4)? } else { 0 };
    for _ in 0..edits {
        match small(u, 0, 6)? {
            0 if !out.is_empty() => {
                let i = small(u, 0, out.len() - 1)?;
                out.remove(i);
            }
            1 => {
                let k = *pick(u, &MetaKey::ALL)?;
                let v = value_for(u, k, ctx)?;
                let at = small(u, 0, out.len())?;
                out.insert(at, (key_case(u, k.as_str())?, v));
            }
            2 => {
                let k = pick(u, &["content-type", "x-amz-meta-x-amz-key", "x-amz-key-v3", "x-amz-", "X-AMZ-IV "])?;
                out.push(((*k).to_owned(), text(u)?));
            }
            3 if !out.is_empty() => {
                let i = small(u, 0, out.len() - 1)?;
                out[i].1 = text(u)?;
            }
            4 if !out.is_empty() => {
                // The same key again, in another case.
                let i = small(u, 0, out.len() - 1)?;
                let k = out[i].0.to_ascii_uppercase();
                let v = out[i].1.clone();
                out.push((k, v));
            }
            5 => {
                let k = text(u)?;
                let v = text(u)?;
                out.push((k, v));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A value of an instruction file entry.
#[derive(Debug, Clone)]
pub enum FileValue {
    /// A JSON string.
    Str(String),
    /// Raw JSON text (a number, `null`, `true`, a nested value, garbage).
    Raw(String),
}

/// Render instruction-file entries as JSON, with random escapes in keys and
/// values and random whitespace.
pub fn render_file(u: &mut Unstructured<'_>, entries: &[(String, FileValue)]) -> Result<String> {
    let mut out = String::new();
    out.push_str(ws(u)?);
    out.push('{');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(ws(u)?);
        out.push_str(&json_str(u, k)?);
        out.push_str(ws(u)?);
        out.push(':');
        out.push_str(ws(u)?);
        match v {
            FileValue::Str(s) => out.push_str(&json_str(u, s)?),
            FileValue::Raw(r) => out.push_str(r),
        }
    }
    out.push_str(ws(u)?);
    out.push('}');
    out.push_str(ws(u)?);
    Ok(out)
}

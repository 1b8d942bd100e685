//! Material descriptions and encryption contexts.
//!
//! Both are flat JSON objects mapping strings to strings, stored in
//! `x-amz-matdesc` (V1/V2) or `x-amz-m` / `x-amz-t` (V3). For KMS wraps the
//! map is the KMS encryption context; for raw-key wraps it is a free-form
//! description of the wrapping key (spec `data-format/content-metadata.md`,
//! "V3 Only": `x-amz-m` for the material description, `x-amz-t` for the
//! encryption context).
//!
//! Writers disagree on key order, spacing and escaping (Java writes compact
//! JSON, Python `{"k": "v"}`, Go sorted compact), so stored maps are never
//! compared as text: [`MatDesc::eq_map`] compares the decoded key/value
//! pairs. [`MatDesc::write_canonical`] writes one canonical form: compact,
//! keys sorted by code point, pure ASCII.
//!
//! ```
//! use s3ec_core::matdesc::{MatDesc, RESERVED_CEK_ALG};
//! let stored = MatDesc::parse(r#"{"aws:x-amz-cek-alg": "115", "project": "Z\u00fcrich"}"#).unwrap();
//! let given = MatDesc::parse(r#"{"project":"Zürich"}"#).unwrap();
//! assert!(!stored.eq_map(&given));
//! assert!(stored.eq_map_ignoring(&given, &[RESERVED_CEK_ALG]));
//! assert!(stored.eq_pairs([("project", "Zürich")].into_iter(), &[RESERVED_CEK_ALG]));
//! ```

use core::cmp::Ordering;
use core::fmt;

use crate::error::{Error, JsonError, JsonErrorKind};
use crate::json::{self, FlatObject, JsonStr, JsonValue};

/// The encryption-context key the KMS keyring reserves for the content
/// cipher (spec `materials/s3-kms-keyring.md`, Kms+Context: the stored
/// encryption context carries the algorithm suite under this key).
pub const RESERVED_CEK_ALG: &str = "aws:x-amz-cek-alg";

/// The encryption-context key legacy `kms` (KmsV1) objects carry, holding the
/// KMS key id.
pub const KMS_CMK_ID: &str = "kms_cmk_id";

/// Both keys a `kms+context` reader removes from the stored context before
/// comparing it with the caller's (spec `materials/s3-kms-keyring.md`,
/// DecryptDataKey, Kms+Context).
pub const RESERVED_KEYS: [&str; 2] = [RESERVED_CEK_ALG, KMS_CMK_ID];

/// A validated material description or encryption context, borrowing its
/// JSON text.
///
/// ```
/// use s3ec_core::matdesc::MatDesc;
/// let m = MatDesc::parse(r#"{"b": "2", "a": "1"}"#).unwrap();
/// assert_eq!(m.len(), 2);
/// assert!(m.get("a").unwrap().eq_str("1"));
/// let mut buf = [0u8; 32];
/// let mut w = s3ec_core::json::SliceWriter::new(&mut buf);
/// m.write_canonical(&mut w).unwrap();
/// assert_eq!(w.as_str(), r#"{"a":"1","b":"2"}"#);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MatDesc<'a> {
    obj: FlatObject<'a>,
}

fn is_ignored(k: &JsonStr<'_>, ignored: &[&str]) -> bool {
    ignored.iter().any(|i| k.eq_str(i))
}

impl<'a> MatDesc<'a> {
    /// The empty map `{}` (the default when the metadata is absent; spec
    /// `data-format/content-metadata.md`: the material description defaults
    /// to an empty map).
    pub const EMPTY: MatDesc<'static> = MatDesc {
        obj: FlatObject::EMPTY,
    };

    /// Parse a JSON object whose values are all strings (spec
    /// `data-format/content-metadata.md`: the material description and
    /// encryption context are JSON maps of strings).
    ///
    /// Numbers and `null` as values are rejected with
    /// [`JsonErrorKind::NotAString`]; so are nested values. An empty input is
    /// an error ([`JsonErrorKind::UnexpectedEnd`]): callers that treat an
    /// empty or absent value as `{}` use [`MatDesc::parse_or_empty`] or
    /// [`MatDesc::EMPTY`].
    pub fn parse(json: &'a str) -> Result<MatDesc<'a>, Error> {
        Ok(MatDesc {
            obj: FlatObject::parse_string_map(json)?,
        })
    }

    /// Like [`MatDesc::parse`], but an input that is empty, only whitespace,
    /// or the JSON literal `null` yields [`MatDesc::EMPTY`].
    pub fn parse_or_empty(json: &'a str) -> Result<MatDesc<'a>, Error> {
        let t = json.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if t.is_empty() || t == "null" {
            Ok(MatDesc::EMPTY)
        } else {
            MatDesc::parse(json)
        }
    }

    /// The key/value pairs in document order.
    pub fn iter(&self) -> impl Iterator<Item = (JsonStr<'a>, JsonStr<'a>)> + Clone + 'a {
        self.obj
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v)))
    }

    /// The value of `key` (compared with the decoded keys).
    pub fn get(&self, key: &str) -> Option<JsonStr<'a>> {
        self.obj.get(key).and_then(|v| v.as_str())
    }

    /// The value of a key given as a [`JsonStr`].
    pub fn get_json(&self, key: &JsonStr<'_>) -> Option<JsonStr<'a>> {
        self.obj.get_json(key).and_then(|v| v.as_str())
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.obj.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.obj.is_empty()
    }

    /// The JSON text as it was parsed (for [`MatDesc::EMPTY`], `{}`).
    pub fn as_json(&self) -> &'a str {
        self.obj.as_str()
    }

    /// The underlying object.
    pub fn as_object(&self) -> FlatObject<'a> {
        self.obj
    }

    /// Whether both hold the same set of decoded key/value pairs,
    /// independent of order, spacing and escaping.
    pub fn eq_map(&self, other: &MatDesc<'_>) -> bool {
        self.eq_map_ignoring(other, &[])
    }

    /// Like [`MatDesc::eq_map`], but the keys in `ignored` are removed from
    /// both sides first (spec `materials/s3-kms-keyring.md`, Kms+Context:
    /// the stored context with the reserved keys removed must match the
    /// provided one).
    pub fn eq_map_ignoring(&self, other: &MatDesc<'_>, ignored: &[&str]) -> bool {
        // Keys are unique on both sides (the parser rejects duplicates), so
        // equal counts plus "every pair of self is in other" is map equality.
        let count = |m: &MatDesc<'_>| m.iter().filter(|(k, _)| !is_ignored(k, ignored)).count();
        if count(self) != count(other) {
            return false;
        }
        self.iter()
            .filter(|(k, _)| !is_ignored(k, ignored))
            .all(|(k, v)| other.get_json(&k).is_some_and(|ov| ov == v))
    }

    /// Compare with a caller's map given as `(key, value)` pairs, after
    /// removing the keys in `ignored` from both sides.
    ///
    /// The pairs must not repeat a key (they are a map); a repeated key
    /// makes the comparison fail.
    pub fn eq_pairs<'p>(
        &self,
        pairs: impl Iterator<Item = (&'p str, &'p str)> + Clone,
        ignored: &[&str],
    ) -> bool {
        let not_ignored = |k: &str| !ignored.contains(&k);
        let theirs = pairs.clone().filter(|(k, _)| not_ignored(k)).count();
        let ours = self.iter().filter(|(k, _)| !is_ignored(k, ignored)).count();
        if theirs != ours {
            return false;
        }
        pairs
            .filter(|(k, _)| not_ignored(k))
            .all(|(k, v)| self.get(k).is_some_and(|ov| ov.eq_str(v)))
    }

    /// Write the map as canonical JSON: compact (`{"k":"v","k2":"v2"}`),
    /// keys sorted by Unicode code point (the order of Go's
    /// `encoding/json` and Python's `sort_keys`), every string written with
    /// [`json::write_str`] so the output is pure ASCII.
    ///
    /// Sorting is a selection by repeated scan: quadratic in the number of
    /// entries, but allocation-free.
    pub fn write_canonical<W: fmt::Write>(&self, out: &mut W) -> fmt::Result {
        out.write_char('{')?;
        let mut last: Option<JsonStr<'a>> = None;
        let mut first = true;
        loop {
            // The smallest key greater than the last one written.
            let next = self
                .iter()
                .filter(|(k, _)| {
                    last.as_ref()
                        .is_none_or(|l| k.cmp_decoded(l) == Ordering::Greater)
                })
                .min_by(|(a, _), (b, _)| a.cmp_decoded(b));
            let Some((k, v)) = next else { break };
            if !first {
                out.write_char(',')?;
            }
            first = false;
            write_json_str(out, &k)?;
            out.write_char(':')?;
            write_json_str(out, &v)?;
            last = Some(k);
        }
        out.write_char('}')
    }

    /// Check that every value is a string, reporting the first offender.
    /// (Always true for values built by [`MatDesc::parse`]; kept for
    /// objects parsed elsewhere.)
    pub fn from_object(obj: FlatObject<'a>) -> Result<MatDesc<'a>, Error> {
        for (_, _, at, v) in obj.iter_offsets() {
            if !matches!(v, JsonValue::Str(_)) {
                return Err(Error::Json(JsonError {
                    offset: at,
                    kind: JsonErrorKind::NotAString,
                }));
            }
        }
        Ok(MatDesc { obj })
    }
}

/// Write a [`JsonStr`]'s decoded value as an ASCII JSON literal without
/// decoding it into a buffer first.
fn write_json_str<W: fmt::Write>(out: &mut W, s: &JsonStr<'_>) -> fmt::Result {
    json::write_chars(out, s.chars())
}

/// Write caller-supplied pairs as the same canonical JSON as
/// [`MatDesc::write_canonical`]: compact, keys sorted by code point, pure
/// ASCII.
///
/// The pairs must not repeat a key: with duplicates, only one of the
/// entries sharing a key is written.
///
/// ```
/// use s3ec_core::json::SliceWriter;
/// use s3ec_core::matdesc::write_pairs_canonical;
/// let mut buf = [0u8; 64];
/// let mut w = SliceWriter::new(&mut buf);
/// write_pairs_canonical([("z", "1"), ("aws:x-amz-cek-alg", "115")].into_iter(), &mut w).unwrap();
/// assert_eq!(w.as_str(), r#"{"aws:x-amz-cek-alg":"115","z":"1"}"#);
/// ```
pub fn write_pairs_canonical<'p, W: fmt::Write>(
    pairs: impl Iterator<Item = (&'p str, &'p str)> + Clone,
    out: &mut W,
) -> fmt::Result {
    out.write_char('{')?;
    let mut last: Option<&str> = None;
    let mut first = true;
    loop {
        let next = pairs
            .clone()
            .filter(|(k, _)| last.is_none_or(|l| *k > l))
            .min_by(|(a, _), (b, _)| a.cmp(b));
        let Some((k, v)) = next else { break };
        if !first {
            out.write_char(',')?;
        }
        first = false;
        json::write_str(out, k)?;
        out.write_char(':')?;
        json::write_str(out, v)?;
        last = Some(k);
    }
    out.write_char('}')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::json::SliceWriter;
    use std::string::String;

    fn canon(m: &MatDesc<'_>) -> String {
        let mut buf = [0u8; 512];
        let mut w = SliceWriter::new(&mut buf);
        m.write_canonical(&mut w).unwrap();
        String::from(w.as_str())
    }

    fn canon_pairs(p: &[(&str, &str)]) -> String {
        let mut buf = [0u8; 512];
        let mut w = SliceWriter::new(&mut buf);
        write_pairs_canonical(p.iter().copied(), &mut w).unwrap();
        String::from(w.as_str())
    }

    #[test]
    fn parse_accepts_strings_only() {
        let m = MatDesc::parse(r#"{"a": "1", "b": "\u00e9"}"#).unwrap();
        assert_eq!(m.len(), 2);
        assert!(!m.is_empty());
        assert!(m.get("b").unwrap().eq_str("é"));
        assert!(m.contains_key("a"));
        assert!(!m.contains_key("c"));
        assert_eq!(m.as_json(), r#"{"a": "1", "b": "\u00e9"}"#);
        assert_eq!(m.iter().count(), 2);
        for (bad, at) in [
            (r#"{"a":1}"#, 5),
            (r#"{"a":"x","b":null}"#, 13),
            (r#"{"a":{"b":"c"}}"#, 5),
            (r#"{"a":["b"]}"#, 5),
            (r#"{"a":true}"#, 5),
        ] {
            assert_eq!(
                MatDesc::parse(bad).unwrap_err(),
                Error::Json(JsonError {
                    offset: at,
                    kind: JsonErrorKind::NotAString
                }),
                "{bad}"
            );
        }
        // Empty input is not a map; parse_or_empty maps it to EMPTY.
        assert!(MatDesc::parse("").is_err());
        assert!(MatDesc::parse("null").is_err());
        for e in ["", "  ", "null", " null\n"] {
            assert!(MatDesc::parse_or_empty(e).unwrap().is_empty());
        }
        assert_eq!(MatDesc::parse_or_empty(r#"{"a":"b"}"#).unwrap().len(), 1);
        assert!(MatDesc::parse_or_empty("nul").is_err());
        assert!(MatDesc::EMPTY.is_empty());
        assert_eq!(MatDesc::EMPTY.as_json(), "{}");
        // from_object checks value types.
        let obj = FlatObject::parse(r#"{"a":"b","c":1}"#).unwrap();
        assert!(MatDesc::from_object(obj).is_err());
        let obj = FlatObject::parse(r#"{"a":"b"}"#).unwrap();
        assert_eq!(MatDesc::from_object(obj).unwrap().len(), 1);
    }

    #[test]
    fn eq_map_ignores_order_spacing_escaping() {
        let java = MatDesc::parse(r#"{"project":"s3ec ✓","aws:x-amz-cek-alg":"115"}"#).unwrap();
        let python =
            MatDesc::parse(r#"{"aws:x-amz-cek-alg": "115", "project": "s3ec \u2713"}"#).unwrap();
        let go = MatDesc::parse(r#"{"aws:x-amz-cek-alg":"115","project":"s3ec ✓"}"#).unwrap();
        assert!(java.eq_map(&python));
        assert!(python.eq_map(&go));
        assert!(go.eq_map(&java));
        assert!(MatDesc::EMPTY.eq_map(&MatDesc::parse("{ }").unwrap()));
        // Different value, missing key, extra key.
        let other = MatDesc::parse(r#"{"aws:x-amz-cek-alg":"115","project":"s3ec"}"#).unwrap();
        assert!(!java.eq_map(&other));
        let fewer = MatDesc::parse(r#"{"project":"s3ec ✓"}"#).unwrap();
        assert!(!java.eq_map(&fewer));
        assert!(!fewer.eq_map(&java));
        // Keys and values are not interchangeable.
        let a = MatDesc::parse(r#"{"a":"b"}"#).unwrap();
        let b = MatDesc::parse(r#"{"b":"a"}"#).unwrap();
        assert!(!a.eq_map(&b));
    }

    #[test]
    fn reserved_keys_are_ignored_on_request() {
        let stored = MatDesc::parse(
            r#"{"department":"Zürich-Ω","kms_cmk_id":"8577a5f6","aws:x-amz-cek-alg":"AES/GCM/NoPadding"}"#,
        )
        .unwrap();
        let given = MatDesc::parse(r#"{"department":"Z\u00fcrich-\u03a9"}"#).unwrap();
        assert!(!stored.eq_map(&given));
        assert!(stored.eq_map_ignoring(&given, &RESERVED_KEYS));
        assert!(given.eq_map_ignoring(&stored, &RESERVED_KEYS));
        assert!(!stored.eq_map_ignoring(&given, &[RESERVED_CEK_ALG]));
        assert!(stored.eq_map_ignoring(
            &MatDesc::EMPTY,
            &["department", KMS_CMK_ID, RESERVED_CEK_ALG]
        ));
        // An ignored key written with escapes is still recognised.
        let esc = MatDesc::parse(r#"{"aws:x-amz-cek-alg":"115","\u006bms_cmk_id":"k"}"#).unwrap();
        assert!(esc.eq_map_ignoring(&MatDesc::EMPTY, &RESERVED_KEYS));
        assert!(esc.contains_key(KMS_CMK_ID));
        // eq_pairs.
        let p = [("department", "Zürich-Ω")];
        assert!(stored.eq_pairs(p.iter().copied(), &RESERVED_KEYS));
        assert!(!stored.eq_pairs(p.iter().copied(), &[]));
        assert!(!stored.eq_pairs([("department", "Zurich")].into_iter(), &RESERVED_KEYS));
        assert!(!stored.eq_pairs(core::iter::empty(), &RESERVED_KEYS));
        assert!(MatDesc::EMPTY.eq_pairs(core::iter::empty(), &[]));
        // A caller map with a reserved key is compared without it too.
        let p2 = [("department", "Zürich-Ω"), (RESERVED_CEK_ALG, "other")];
        assert!(stored.eq_pairs(p2.iter().copied(), &RESERVED_KEYS));
        // Repeated caller keys fail.
        let dup = [("department", "Zürich-Ω"), ("department", "Zürich-Ω")];
        assert!(!stored.eq_pairs(dup.iter().copied(), &RESERVED_KEYS));
    }

    #[test]
    fn canonical_output() {
        let m = MatDesc::parse(
            r#"{"z": "1", "a": "é", "\u00e9": "x", "😀": "\ud83d\ude00", "\uffff": "", "A": "\"\n"}"#,
        )
        .unwrap();
        let c = canon(&m);
        assert_eq!(
            c,
            r#"{"A":"\"\n","a":"\u00e9","z":"1","\u00e9":"x","\uffff":"","\ud83d\ude00":"\ud83d\ude00"}"#
        );
        assert!(c.is_ascii());
        let back = MatDesc::parse(&c).unwrap();
        assert!(back.eq_map(&m));
        assert_eq!(canon(&back), c);
        assert_eq!(canon(&MatDesc::EMPTY), "{}");
        // The pairs writer gives the same text.
        let p = [
            ("z", "1"),
            ("a", "é"),
            ("é", "x"),
            ("😀", "😀"),
            ("\u{ffff}", ""),
            ("A", "\"\n"),
        ];
        assert_eq!(canon_pairs(&p), c);
        assert_eq!(canon_pairs(&[]), "{}");
        assert!(m.eq_pairs(p.iter().copied(), &[]));
        // Overflow is an error, not a panic.
        let mut small = [0u8; 8];
        assert!(m
            .write_canonical(&mut SliceWriter::new(&mut small))
            .is_err());
    }
}

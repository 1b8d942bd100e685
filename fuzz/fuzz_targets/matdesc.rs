//! Arbitrary text through `MatDesc::parse`, `FlatObject::parse` and
//! `rfc2047::decode_value`, checked against serde_json and against
//! themselves (canonical form, RFC 2047 encodings of the same text).
//!
//! Documented differences from serde_json, excluded here:
//! * duplicate keys: serde_json keeps the last, s3ec refuses the document;
//! * nested values and `true`/`false`: s3ec parses flat objects only;
//! * more than `FlatObject::MAX_ENTRIES` entries: refused by s3ec;
//! * numbers that overflow `f64`: valid JSON, refused by serde_json.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use s3ec_core::json::{write_str, FlatObject, JsonValue, SliceWriter};
use s3ec_core::matdesc::{write_pairs_canonical, MatDesc};
use s3ec_core::rfc2047::{arena_len, decode_value, is_encoded};
use s3ec_core::{Arena, Error, FormatError, MetaKey};
use s3ec_fuzz::{gen, json_ref};

fn check_json(text: &str) {
    let ours = FlatObject::parse(text);
    let reference = json_ref::parse(text);
    match &ours {
        Ok(obj) => {
            let pairs = match &reference {
                Ok(p) => p,
                Err(e) if json_ref::is_number_overflow(e) => return,
                Err(e) => panic!("s3ec accepted, serde_json refused ({e}): {text:?}"),
            };
            assert_eq!(pairs.0.len(), obj.len(), "entry count: {text:?}");
            for ((k, v), (rk, rv)) in obj.iter().zip(pairs.0.iter()) {
                assert!(k.eq_str(rk), "key {k:?} vs {rk:?}");
                assert_eq!(&k.chars().collect::<String>(), rk);
                assert_eq!(k.decoded_len(), rk.len());
                match v {
                    JsonValue::Str(s) => {
                        assert_eq!(rv.as_str(), Some(s.chars().collect::<String>().as_str()));
                        assert!(s.eq_str(rv.as_str().unwrap()));
                    }
                    JsonValue::Number(n) => {
                        assert!(rv.is_number(), "number {n:?} vs {rv:?}");
                        // The raw number text is JSON on its own.
                        assert!(serde_json::from_str::<serde_json::Value>(n)
                            .map_or_else(|e| json_ref::is_number_overflow(&e), |v| v.is_number()));
                    }
                    JsonValue::Null => assert!(rv.is_null()),
                }
                assert!(obj.get_json(&k).is_some());
            }
        }
        Err(Error::Json(e)) => {
            assert!(e.offset <= text.len(), "error offset past the end");
            if let Ok(pairs) = &reference {
                let flat = pairs
                    .0
                    .iter()
                    .all(|(_, v)| v.is_string() || v.is_number() || v.is_null());
                let mut keys: Vec<&String> = pairs.0.iter().map(|(k, _)| k).collect();
                keys.sort();
                keys.dedup();
                let unique = keys.len() == pairs.0.len();
                let capped = pairs.0.len() <= FlatObject::MAX_ENTRIES;
                assert!(
                    !(flat && unique && capped),
                    "serde_json accepted a flat object s3ec refused ({e:?}): {text:?}"
                );
            }
        }
        Err(other) => panic!("FlatObject::parse gave a non-JSON error {other:?}"),
    }
    // The bytes entry point agrees.
    assert_eq!(FlatObject::parse_bytes(text.as_bytes()).is_ok(), ours.is_ok());

    // MatDesc = flat object with string values only.
    let md = MatDesc::parse(text);
    let all_strings = ours
        .as_ref()
        .is_ok_and(|o| o.iter().all(|(_, v)| matches!(v, JsonValue::Str(_))));
    assert_eq!(md.is_ok(), all_strings, "MatDesc vs FlatObject: {text:?}");
    let trimmed = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
    match MatDesc::parse_or_empty(text) {
        Ok(m) if trimmed.is_empty() || trimmed == "null" => assert!(m.is_empty()),
        Ok(m) => assert!(m.eq_map(md.as_ref().unwrap())),
        Err(e) => assert_eq!(Err(e), md.map(|_| ())),
    }
    if let Ok(m) = md {
        check_matdesc(&m);
    }
}

fn check_matdesc(m: &MatDesc<'_>) {
    assert!(m.eq_map(m));
    let decoded: Vec<(String, String)> = m
        .iter()
        .map(|(k, v)| (k.chars().collect(), v.chars().collect()))
        .collect();
    assert_eq!(decoded.len(), m.len());
    for (k, v) in &decoded {
        assert!(m.get(k).is_some_and(|x| x.eq_str(v)));
        assert!(m.contains_key(k));
    }
    assert!(m.eq_pairs(decoded.iter().map(|(k, v)| (k.as_str(), v.as_str())), &[]));

    let mut canon = String::new();
    m.write_canonical(&mut canon).unwrap();
    assert!(
        canon.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "canonical form not printable ASCII: {canon:?}"
    );
    let back = MatDesc::parse(&canon).expect("canonical form parses");
    assert!(back.eq_map(m) && m.eq_map(&back), "canonical form changed the map");
    let mut again = String::new();
    back.write_canonical(&mut again).unwrap();
    assert_eq!(canon, again, "canonical form not idempotent");
    // Same text as the pair writer, and sorted by code point with no gaps.
    let mut from_pairs = String::new();
    write_pairs_canonical(decoded.iter().map(|(k, v)| (k.as_str(), v.as_str())), &mut from_pairs)
        .unwrap();
    assert_eq!(canon, from_pairs);
    let reference = json_ref::parse(&canon).expect("serde_json reads the canonical form");
    let sorted: BTreeMap<String, String> = decoded.iter().cloned().collect();
    let got: Vec<(String, String)> = reference
        .0
        .into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(got, sorted.into_iter().collect::<Vec<_>>(), "canonical order");
    // A buffer that is too small fails rather than truncating silently.
    if !canon.is_empty() {
        let mut buf = vec![0u8; canon.len() - 1];
        let mut w = SliceWriter::new(&mut buf);
        assert!(m.write_canonical(&mut w).is_err());
    }
}

/// The expected result of decoding one run of encoded-words whose decoded
/// characters are `s` (module docs, rule 3).
fn undouble(s: &str) -> String {
    if s.chars().all(|c| (c as u32) < 0x100) {
        let bytes: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
        if let Ok(t) = String::from_utf8(bytes) {
            return t;
        }
    }
    s.to_owned()
}

fn decode(key: MetaKey, value: &str, cap: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; cap];
    let mut arena = Arena::new(&mut buf);
    decode_value(key, value, &mut arena).map(str::to_owned)
}

fn check_rfc2047(value: &str) {
    let key = MetaKey::MatDescV3;
    let bad = Error::Format(FormatError::InvalidEncoding(key));
    let need = arena_len(key, value);
    let big = decode(key, value, value.len() * 4 + 16);
    match need {
        Err(e) => {
            assert_eq!(e, bad);
            assert_eq!(big, Err(bad));
        }
        Ok(n) => {
            let got = big.expect("arena_len accepted, decode_value refused");
            if is_encoded(value) {
                assert_eq!(got.len(), n, "arena_len is not the decoded length");
            } else {
                assert_eq!(n, 0, "arena_len of a raw value");
                assert_eq!(got, value, "raw value changed");
            }
            assert_eq!(decode(key, value, n).as_ref(), Ok(&got), "exact arena");
            if n > 0 {
                assert!(matches!(
                    decode(key, value, n - 1),
                    Err(Error::BufferTooSmall { .. })
                ));
            }
        }
    }
    if !is_encoded(value) {
        // Raw values pass through unchanged, using no arena.
        let mut arena = Arena::empty();
        assert_eq!(decode_value(key, value, &mut arena), Ok(value));
    }
    if !value.contains("=?") {
        assert!(!is_encoded(value));
    }
}

/// Encode `s` as S3 would and check that it decodes back.
fn check_encoded_roundtrip(u: &mut Unstructured<'_>, s: &str) {
    let Ok(enc) = gen::rfc2047(u, s) else { return };
    let key = MetaKey::MatDesc;
    assert!(is_encoded(&enc), "not seen as encoded: {enc:?}");
    let got = decode(key, &enc, enc.len() * 4 + 16)
        .unwrap_or_else(|e| panic!("{e:?} decoding {enc:?} (of {s:?})"));
    // Double encoding gives `s` back; a plain UTF-8 word gives `s` unless
    // `s` itself looks double encoded; an ISO-8859-1 word the same.
    assert!(
        got == s || got == undouble(s),
        "decoded {enc:?} to {got:?}, expected {s:?}"
    );
    if s.chars().any(|c| (c as u32) >= 0x100) || undouble(s) == s {
        assert_eq!(got, s, "decoded {enc:?}");
    }
    // Between plain words, the text around is kept.
    let framed = format!("pre {enc} post");
    let got2 = decode(key, &framed, framed.len() * 4 + 16).unwrap();
    assert_eq!(got2, format!("pre {got} post"));
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_json(&text);
    check_rfc2047(&text);
    // Flat object wrapped around the text, so that short inputs reach the
    // entry parser.
    let wrapped = format!("{{{text}}}");
    check_json(&wrapped);

    // A JSON string literal of the text must parse and decode back.
    let mut buf = vec![0u8; text.len() * 12 + 2];
    let mut w = SliceWriter::new(&mut buf);
    write_str(&mut w, &text).unwrap();
    let doc = format!("{{\"k\":{}}}", w.as_str());
    let m = MatDesc::parse(&doc).expect("written string parses");
    assert!(m.get("k").unwrap().eq_str(&text));

    let mut u = Unstructured::new(data);
    check_encoded_roundtrip(&mut u, &text);
});

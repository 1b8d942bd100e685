//! Property tests for the flat JSON parser and writer, cross-checked against
//! serde_json.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use s3ec_core::json::{write_str, FlatObject, JsonValue, SliceWriter};
use s3ec_core::{Error, JsonErrorKind};

fn to_map(obj: &FlatObject<'_>) -> BTreeMap<String, String> {
    obj.iter()
        .map(|(k, v)| {
            let v = match v {
                JsonValue::Str(s) => s.chars().collect(),
                other => panic!("unexpected value {other:?}"),
            };
            (k.chars().collect(), v)
        })
        .collect()
}

fn map_strategy() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(any::<String>(), any::<String>(), 0..8)
}

/// Strings drawn from JSON's own alphabet, to reach deep into the parser.
fn jsonish() -> impl Strategy<Value = String> {
    "[{}\\[\\]\"\\\\:, \t\nabu0-9A-Fdnrtl.eE+\\-é😀\u{1}]{0,40}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn serde_output_parses_to_the_same_map(m in map_strategy()) {
        for text in [serde_json::to_string(&m).unwrap(), serde_json::to_string_pretty(&m).unwrap()] {
            let obj = FlatObject::parse(&text).unwrap();
            prop_assert_eq!(obj.len(), m.len());
            prop_assert_eq!(&to_map(&obj), &m);
            for (k, v) in &m {
                let got = obj.get(k).unwrap();
                prop_assert!(got.as_str().unwrap().eq_str(v));
            }
        }
    }

    #[test]
    fn write_str_is_ascii_and_serde_reads_it(s in any::<String>()) {
        let mut buf = vec![0u8; s.len() * 12 + 2];
        let mut w = SliceWriter::new(&mut buf);
        write_str(&mut w, &s).unwrap();
        let lit = w.as_str();
        prop_assert!(lit.is_ascii());
        prop_assert!(lit.bytes().all(|b| (0x20..0x7f).contains(&b)));
        let back: String = serde_json::from_str(lit).unwrap();
        prop_assert_eq!(back, s);
    }

    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = FlatObject::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_jsonish(s in jsonish()) {
        let wrapped = format!("{{{s}}}");
        for t in [s.as_str(), wrapped.as_str()] {
            match FlatObject::parse(t) {
                Ok(obj) => {
                    // Whatever we accept, serde_json accepts as an object
                    // with the same entries.
                    let v: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(t).unwrap();
                    prop_assert_eq!(v.len(), obj.len());
                    for (k, val) in obj.iter() {
                        let k: String = k.chars().collect();
                        let sv = &v[&k];
                        match val {
                            JsonValue::Str(s) => prop_assert_eq!(sv.as_str().unwrap(), s.chars().collect::<String>()),
                            JsonValue::Number(n) => prop_assert!(sv.is_number(), "{}", n),
                            JsonValue::Null => prop_assert!(sv.is_null()),
                        }
                    }
                }
                Err(Error::Json(e)) => prop_assert!(e.offset <= t.len()),
                Err(other) => prop_assert!(false, "unexpected error {:?}", other),
            }
        }
    }

    #[test]
    fn bytes_entry_point_never_panics(b in prop::collection::vec(any::<u8>(), 0..40)) {
        match FlatObject::parse_bytes(&b) {
            Err(Error::Json(e)) => prop_assert!(e.offset <= b.len()),
            Ok(_) => {}
            Err(other) => prop_assert!(false, "unexpected error {:?}", other),
        }
    }

    #[test]
    fn truncations_of_valid_documents_fail_cleanly(m in map_strategy(), cut in any::<prop::sample::Index>()) {
        let text = serde_json::to_string(&m).unwrap();
        let mut at = cut.index(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        if at < text.len() {
            match FlatObject::parse(&text[..at]) {
                Err(Error::Json(e)) => prop_assert_eq!(e.kind, JsonErrorKind::UnexpectedEnd),
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }

    #[test]
    fn serde_rejected_documents_are_rejected(s in jsonish()) {
        // Anything serde_json refuses as a map of scalars, we refuse too.
        let parsed = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&s);
        // serde_json refuses numbers that overflow f64; JSON itself does not.
        let overflow = matches!(&parsed, Err(e) if e.to_string().contains("out of range"));
        let ok_serde = parsed
            .map(|m| m.values().all(|v| v.is_string() || v.is_number() || v.is_null()))
            .unwrap_or(false);
        if !ok_serde && !overflow {
            prop_assert!(FlatObject::parse(&s).is_err());
        }
    }
}

#[test]
fn duplicate_keys_serde_would_merge() {
    // serde_json keeps the last of duplicated keys; we refuse them.
    let t = r#"{"a":"1","\u0061":"2"}"#;
    assert!(serde_json::from_str::<serde_json::Value>(t).is_ok());
    assert!(FlatObject::parse(t).is_err());
}

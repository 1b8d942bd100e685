//! Property tests for material descriptions and the RFC 2047 decoder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use base64ct::{Base64, Encoding};
use proptest::prelude::*;
use s3ec_core::json::SliceWriter;
use s3ec_core::matdesc::{write_pairs_canonical, MatDesc, RESERVED_CEK_ALG};
use s3ec_core::rfc2047::decode_value;
use s3ec_core::{Arena, MetaKey};

fn map_strategy() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(any::<String>(), any::<String>(), 0..8)
}

fn canonical(m: &MatDesc<'_>) -> String {
    let mut buf = vec![0u8; m.as_json().len() * 12 + 16];
    let mut w = SliceWriter::new(&mut buf);
    m.write_canonical(&mut w).unwrap();
    w.as_str().to_owned()
}

fn b64(bytes: &[u8]) -> String {
    let mut buf = vec![0u8; bytes.len() * 4 / 3 + 4];
    Base64::encode(bytes, &mut buf).unwrap().to_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonical_round_trips_through_serde(m in map_strategy()) {
        let text = serde_json::to_string(&m).unwrap();
        let md = MatDesc::parse(&text).unwrap();
        let c = canonical(&md);
        prop_assert!(c.bytes().all(|b| (0x20..0x7f).contains(&b)));
        let back: BTreeMap<String, String> = serde_json::from_str(&c).unwrap();
        prop_assert_eq!(&back, &m);
        // Keys come out in code-point order, which is BTreeMap<String> order.
        let parsed = MatDesc::parse(&c).unwrap();
        let keys: Vec<String> = parsed.iter().map(|(k, _)| k.chars().collect()).collect();
        let want: Vec<String> = m.keys().cloned().collect();
        prop_assert_eq!(keys, want);
        // Canonical form is a fixed point and equal as a map.
        prop_assert!(parsed.eq_map(&md));
        prop_assert_eq!(canonical(&parsed), c.clone());
        // The pairs writer agrees, whatever order the pairs come in.
        let pairs: Vec<(&str, &str)> = m.iter().rev().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut buf = vec![0u8; c.len() + 16];
        let mut w = SliceWriter::new(&mut buf);
        write_pairs_canonical(pairs.iter().copied(), &mut w).unwrap();
        prop_assert_eq!(w.as_str(), c.as_str());
        prop_assert!(md.eq_pairs(pairs.iter().copied(), &[]));
    }

    #[test]
    fn eq_map_is_order_and_spacing_independent(m in map_strategy(), extra in any::<String>()) {
        let compact = serde_json::to_string(&m).unwrap();
        let pretty = serde_json::to_string_pretty(&m).unwrap();
        // Reverse order, Python-style spacing.
        let rev: Vec<String> = m
            .iter()
            .rev()
            .map(|(k, v)| format!("{}: {}", serde_json::to_string(k).unwrap(), serde_json::to_string(v).unwrap()))
            .collect();
        let python = format!("{{{}}}", rev.join(", "));
        let a = MatDesc::parse(&compact).unwrap();
        let b = MatDesc::parse(&pretty).unwrap();
        let c = MatDesc::parse(&python).unwrap();
        prop_assert!(a.eq_map(&b) && b.eq_map(&c) && c.eq_map(&a));
        // Adding the reserved key changes equality unless it is ignored.
        let mut with = m.clone();
        with.insert(RESERVED_CEK_ALG.to_owned(), extra);
        let w_text = serde_json::to_string(&with).unwrap();
        let w = MatDesc::parse(&w_text).unwrap();
        prop_assert_eq!(w.eq_map(&a), m.contains_key(RESERVED_CEK_ALG) && with == m);
        prop_assert!(w.eq_map_ignoring(&a, &[RESERVED_CEK_ALG]));
    }

    #[test]
    fn matdesc_parse_never_panics(s in any::<String>()) {
        let _ = MatDesc::parse(&s);
        let _ = MatDesc::parse_or_empty(&s);
    }

    #[test]
    fn rfc2047_double_encoding_round_trips(s in any::<String>()) {
        // S3: each UTF-8 byte becomes a Latin-1 char, then B-encoded.
        let doubled: String = s.bytes().map(char::from).collect();
        let v = format!("=?UTF-8?B?{}?=", b64(doubled.as_bytes()));
        let mut buf = vec![0u8; v.len() * 2];
        let mut arena = Arena::new(&mut buf);
        prop_assert_eq!(decode_value(MetaKey::MatDescV3, &v, &mut arena).unwrap(), s.as_str());
        // Single encoding of text that has a char >= U+0100 is kept as is.
        if s.chars().any(|c| u32::from(c) > 0xff) {
            let v = format!("=?UTF-8?B?{}?=", b64(s.as_bytes()));
            let mut buf = vec![0u8; v.len() * 2];
            let mut arena = Arena::new(&mut buf);
            prop_assert_eq!(decode_value(MetaKey::MatDescV3, &v, &mut arena).unwrap(), s.as_str());
        }
    }

    #[test]
    fn rfc2047_raw_values_pass_through(s in any::<String>()) {
        prop_assume!(!s.contains("=?"));
        let mut arena = Arena::empty();
        prop_assert_eq!(decode_value(MetaKey::MatDesc, &s, &mut arena).unwrap(), s.as_str());
    }

    #[test]
    fn rfc2047_never_panics(s in any::<String>(), t in "[=?a-zA-Z0-9+/_ \t-]{0,40}") {
        for v in [s.as_str(), t.as_str()] {
            let mut buf = vec![0u8; v.len() * 3];
            let mut arena = Arena::new(&mut buf);
            let _ = decode_value(MetaKey::MatDesc, v, &mut arena);
        }
    }
}

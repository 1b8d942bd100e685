//! Property tests of the response parsing (issue 14: the transports'
//! parsing of XML errors, headers and `Content-Range` fuzzed): arbitrary
//! and near-valid inputs never panic, and what parses satisfies the
//! invariants the transport relies on. These run on the stable toolchain
//! in every `cargo test` (the cargo-fuzz package cannot take this crate:
//! aws-config and reqwest make its sanitizer build far too heavy).

use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::xml::{parse_error, parse_result, Parsed};
use crate::{header_u64, metadata_of, parse_content_range};

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Strings near a `Content-Range` value.
fn content_range() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        (any::<u64>(), any::<u64>(), any::<u64>(), "[ \t]{0,2}")
            .prop_map(|(a, b, c, w)| format!("bytes{w}{a}-{b}/{c}")),
        (0u64..1000, 0u64..1000, 0u64..1000).prop_map(|(a, b, c)| format!("bytes {a}-{b}/{c}")),
        "bytes [0-9 -/*]{0,20}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn content_range_parses_only_consistent_ranges(v in content_range()) {
        if let Some((first, last, total)) = parse_content_range(&v) {
            prop_assert!(first <= last && last < total, "{v:?}");
            // What parses round-trips through the canonical form.
            let canonical = format!("bytes {first}-{last}/{total}");
            prop_assert_eq!(parse_content_range(&canonical), Some((first, last, total)));
        }
    }

    #[test]
    fn xml_errors_never_panic(body in prop::collection::vec(any::<u8>(), 0..400),
                              root in "[A-Za-z]{0,12}", child in "[A-Za-z]{0,12}") {
        let _ = parse_error(&body);
        let _ = parse_result(&body, &root, &child);
    }

    #[test]
    fn xml_error_documents_give_their_code(code in "[A-Za-z0-9<>&'\"._:/ é☃-]{1,30}",
                                           message in "[A-Za-z0-9<>&'\"._:/ é☃\t-]{0,40}",
                                           pad in "[ \t\r\n]{0,8}") {
        // (XML turns CR into LF, so CR stays out of the texts.)
        let doc = format!(
            "{pad}<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code><Message>{}</Message></Error>",
            xml_escape(&code), xml_escape(&message)
        );
        let e = parse_error(doc.as_bytes());
        prop_assert!(e.is_some(), "{doc:?}");
        let got = e.and_then(|e| e.code);
        prop_assert_eq!(got.as_deref(), Some(code.as_str()));
        match parse_result(doc.as_bytes(), "CompleteMultipartUploadResult", "ETag") {
            Parsed::Error(err) => prop_assert_eq!(err.code.as_deref(), Some(code.as_str())),
            other => prop_assert!(false, "{other:?}"),
        }
        // Cut anywhere: never a panic, and a cut document is never a result.
        for cut in [1, doc.len() / 2, doc.len().saturating_sub(3)] {
            if doc.is_char_boundary(cut) {
                let half = &doc.as_bytes()[..cut];
                let _ = parse_error(half);
                prop_assert!(!matches!(parse_result(half, "Error", "Code"), Parsed::Value(_)) || cut == doc.len());
            }
        }
    }

    #[test]
    fn headers_never_panic(pairs in prop::collection::vec(
            ("(x-amz-meta-)?[a-z0-9-]{1,16}", prop::collection::vec(any::<u8>(), 0..40)), 0..12),
                           len in prop::collection::vec(any::<u8>(), 0..24)) {
        let mut h = HeaderMap::new();
        for (name, value) in &pairs {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) {
                h.append(n, v);
            }
        }
        if let Ok(v) = HeaderValue::from_bytes(&len) {
            h.insert("content-length", v);
        }
        match header_u64(&h, "content-length") {
            Ok(Some(n)) => {
                let text = String::from_utf8_lossy(&len);
                prop_assert_eq!(text.trim().parse::<u64>().ok(), Some(n));
            }
            Ok(None) => prop_assert!(h.get("content-length").is_none()),
            Err(e) => prop_assert!(e.contains("content-length"), "{e}"),
        }
        let meta = metadata_of(&h);
        let want = h.keys().filter(|k| k.as_str().starts_with("x-amz-meta-")).map(|k| h.get_all(k).iter().count()).sum::<usize>();
        prop_assert_eq!(meta.len(), want);
    }
}

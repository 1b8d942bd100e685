//! The blocking transport's response parsing (`crates/s3ec-reqwest/src/xml.rs`
//! and `headers.rs`, compiled here by path so that this build does not take
//! reqwest and the AWS crates): S3 `<Error>` bodies, `<X><Child>` results,
//! `ListBucketResult` pages, the `CompleteMultipartUpload` body it writes,
//! `Content-Range`, numeric headers, `x-amz-meta-*` user metadata; and the
//! client's `url_decode` (listings, inventories) against a reference.
//!
//! The first byte picks the check; the rest feeds it.
#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../crates/s3ec-reqwest/src/xml.rs"]
mod xml;

#[allow(dead_code, unreachable_pub)]
#[path = "../../crates/s3ec-reqwest/src/headers.rs"]
mod headers;

use arbitrary::Unstructured;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use s3ec_client::transport::{url_decode, CompletedPart};
use xml::Parsed;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text XML 1.0 carries unchanged: no control characters but tab and LF
/// (CR is normalised to LF), no U+FFFE/U+FFFF.
fn xml_safe(s: &str) -> bool {
    s.chars()
        .all(|c| (c == '\t' || c == '\n' || !c.is_control()) && c != '\u{fffe}' && c != '\u{ffff}')
}

/// S3's `encoding-type=url`: every byte but unreserved ones as `%XX`.
fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reference form-URL decoding: `%` and exactly two hex digits, `+` is a
/// space, the result UTF-8.
fn url_decode_ref(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hi = (*b.get(i + 1)? as char).to_digit(16)?;
                let lo = (*b.get(i + 2)? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn raw_body(body: &[u8], u: &mut Unstructured<'_>) {
    let root: String = u.arbitrary().unwrap_or_default();
    let child: String = u.arbitrary().unwrap_or_default();
    let err = xml::parse_error(body);
    match xml::parse_result(body, &root, &child) {
        Parsed::Error(e) => assert_eq!(Some(e), err),
        Parsed::Value(_) => assert!(root == "Error" || err.is_none()),
        Parsed::Malformed => {}
    }
    if err.is_some() {
        assert!(matches!(xml::parse_list(body), Err(Parsed::Error(_))));
    }
    if let Ok(page) = xml::parse_list(body) {
        assert!(page
            .next_continuation_token
            .as_deref()
            .is_none_or(|t| !t.is_empty()));
    }
}

fn error_doc(u: &mut Unstructured<'_>) {
    let code: String = u.arbitrary().unwrap_or_default();
    let message: String = u.arbitrary().unwrap_or_default();
    if !xml_safe(&code) || !xml_safe(&message) {
        return;
    }
    let pad = if u.arbitrary().unwrap_or(false) {
        "\n  "
    } else {
        ""
    };
    let doc = format!(
        "{pad}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code>\
         <Message>{}</Message><RequestId>r</RequestId></Error>",
        esc(&code),
        esc(&message)
    );
    let e = xml::parse_error(doc.as_bytes()).expect("an <Error> document");
    assert_eq!(
        e.code.as_deref(),
        (!code.is_empty()).then_some(code.as_str())
    );
    assert_eq!(
        e.message.as_deref(),
        (!message.is_empty()).then_some(message.as_str())
    );
    assert!(matches!(
        xml::parse_result(doc.as_bytes(), "CompleteMultipartUploadResult", "ETag"),
        Parsed::Error(_)
    ));
    // Cut short: never a result.
    let cut: usize = u.int_in_range(0..=doc.len()).unwrap_or(0);
    if cut < doc.len() {
        let half = &doc.as_bytes()[..cut];
        assert!(!matches!(
            xml::parse_result(half, "Error", "Code"),
            Parsed::Value(_)
        ));
    }
}

fn list_doc(u: &mut Unstructured<'_>) {
    let keys: Vec<(String, u64)> = u.arbitrary().unwrap_or_default();
    let prefixes: Vec<String> = u.arbitrary().unwrap_or_default();
    let token: Option<String> = u.arbitrary().unwrap_or_default();
    let encoded = u.arbitrary().unwrap_or(true);
    if !encoded && keys.iter().any(|(k, _)| !xml_safe(k)) {
        return;
    }
    if !encoded && prefixes.iter().any(|p| !xml_safe(p)) {
        return;
    }
    if token
        .as_deref()
        .is_some_and(|t| !xml_safe(t) || t.is_empty())
    {
        return;
    }
    let enc = |s: &str| if encoded { url_encode(s) } else { esc(s) };
    let mut doc =
        String::from("<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    if encoded {
        doc.push_str("<EncodingType>url</EncodingType>");
    }
    for (k, size) in &keys {
        doc.push_str(&format!(
            "<Contents><Key>{}</Key><Size>{size}</Size><ETag>&quot;e&quot;</ETag></Contents>",
            enc(k)
        ));
    }
    for p in &prefixes {
        doc.push_str(&format!(
            "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
            enc(p)
        ));
    }
    match &token {
        Some(t) => doc.push_str(&format!(
            "<IsTruncated>true</IsTruncated><NextContinuationToken>{}</NextContinuationToken>",
            esc(t)
        )),
        None => doc.push_str("<IsTruncated>false</IsTruncated>"),
    }
    doc.push_str("</ListBucketResult>");
    let page = xml::parse_list(doc.as_bytes()).unwrap_or_else(|e| panic!("{e:?}: {doc}"));
    let got: Vec<(String, u64)> = page
        .objects
        .iter()
        .map(|o| (o.key.clone(), o.size))
        .collect();
    assert_eq!(got, keys, "{doc}");
    assert!(page
        .objects
        .iter()
        .all(|o| o.etag.as_deref() == Some("\"e\"")));
    assert_eq!(page.common_prefixes, prefixes);
    assert_eq!(page.next_continuation_token, token);
}

fn complete_body(u: &mut Unstructured<'_>) {
    let parts: Vec<(u32, String)> = u.arbitrary().unwrap_or_default();
    if parts.iter().any(|(_, e)| !xml_safe(e)) {
        return;
    }
    let parts: Vec<CompletedPart> = parts
        .into_iter()
        .map(|(n, e)| CompletedPart::new(n, e))
        .collect();
    let body = xml::complete_body(&parts);
    let doc = roxmltree::Document::parse(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let got: Vec<(u32, String)> = doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("Part"))
        .map(|p| {
            let t = |name: &str| {
                p.children()
                    .find(|c| c.has_tag_name(name))
                    .map(|c| c.text().unwrap_or_default().to_string())
                    .unwrap_or_default()
            };
            (t("PartNumber").parse().unwrap_or(0), t("ETag"))
        })
        .collect();
    let want: Vec<(u32, String)> = parts
        .iter()
        .map(|p| (p.part_number, p.etag.clone()))
        .collect();
    assert_eq!(got, want);
}

fn content_range(text: &str) {
    if let Some((first, last, total)) = headers::parse_content_range(text) {
        assert!(first <= last && last < total, "{text:?}");
        let canonical = format!("bytes {first}-{last}/{total}");
        assert_eq!(
            headers::parse_content_range(&canonical),
            Some((first, last, total))
        );
    }
}

fn header_map(u: &mut Unstructured<'_>) {
    let pairs: Vec<(String, Vec<u8>)> = u.arbitrary().unwrap_or_default();
    let mut h = HeaderMap::new();
    for (name, value) in &pairs {
        let name = if u.arbitrary().unwrap_or(false) {
            format!("x-amz-meta-{name}")
        } else {
            name.clone()
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            h.append(n, v);
        }
    }
    for name in ["content-length", "x-amz-meta-a"] {
        match headers::header_u64(&h, name) {
            Ok(Some(n)) => {
                let all = h
                    .get(name)
                    .map(|v| v.as_bytes().to_vec())
                    .unwrap_or_default();
                let text = String::from_utf8_lossy(&all);
                assert_eq!(text.trim().parse::<u64>().ok(), Some(n));
            }
            Ok(None) => assert!(h.get(name).is_none()),
            Err(e) => assert!(e.contains(name), "{e}"),
        }
        assert_eq!(
            headers::header_str(&h, name).is_some(),
            h.contains_key(name)
        );
    }
    let meta = headers::metadata_of(&h);
    let want: usize = h
        .keys()
        .filter(|k| k.as_str().starts_with("x-amz-meta-"))
        .map(|k| h.get_all(k).iter().count())
        .sum();
    assert_eq!(meta.len(), want);
    assert!(meta
        .iter()
        .all(|(k, _)| h.contains_key(format!("x-amz-meta-{k}").as_str())));
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let mut u = Unstructured::new(rest);
    let text = String::from_utf8_lossy(rest);
    match which % 7 {
        0 => raw_body(rest, &mut u),
        1 => error_doc(&mut u),
        2 => list_doc(&mut u),
        3 => complete_body(&mut u),
        4 => content_range(&text),
        5 => header_map(&mut u),
        _ => assert_eq!(url_decode(&text), url_decode_ref(&text), "{text:?}"),
    }
});

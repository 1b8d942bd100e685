//! The few S3 XML documents the transport reads and writes.

use s3ec_client::transport::{url_decode, CompletedPart, ListPage, ListedObject};

/// An S3 `<Error>` document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct S3Error {
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
}

/// The text of the first child element of the root named `name`.
fn child_text(doc: &roxmltree::Document<'_>, name: &str) -> Option<String> {
    doc.root_element()
        .children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
        .map(|n| n.text().unwrap_or_default().to_string())
}

fn parse(body: &[u8]) -> Option<roxmltree::Document<'_>> {
    let text = std::str::from_utf8(body).ok()?;
    // S3 may send whitespace before the document (it keeps long
    // CompleteMultipartUpload responses alive that way).
    roxmltree::Document::parse(text.trim_start_matches('\u{feff}').trim_start()).ok()
}

/// Parse an `<Error>` document; `None` when the body is not one.
pub(crate) fn parse_error(body: &[u8]) -> Option<S3Error> {
    let doc = parse(body)?;
    if doc.root_element().tag_name().name() != "Error" {
        return None;
    }
    Some(S3Error {
        code: child_text(&doc, "Code").filter(|c| !c.is_empty()),
        message: child_text(&doc, "Message").filter(|m| !m.is_empty()),
    })
}

/// What a document with a given root returned: either the wanted child's
/// text, an `<Error>`, or nothing recognisable.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// The root was the expected one; the child's text, if present.
    Value(Option<String>),
    /// The document was an `<Error>`.
    Error(S3Error),
    /// Not XML, or another root.
    Malformed,
}

/// Read `<root><child>text</child></root>`, or an `<Error>` in its place.
pub(crate) fn parse_result(body: &[u8], root: &str, child: &str) -> Parsed {
    let Some(doc) = parse(body) else {
        return Parsed::Malformed;
    };
    let name = doc.root_element().tag_name().name();
    if name == "Error" {
        return Parsed::Error(parse_error(body).unwrap_or_default());
    }
    if name != root {
        return Parsed::Malformed;
    }
    Parsed::Value(child_text(&doc, child))
}

/// Parse a `ListBucketResult` (ListObjectsV2, `encoding-type=url`); an
/// `<Error>` or a malformed document comes back as the `Err`.
pub(crate) fn parse_list(body: &[u8]) -> Result<ListPage, Parsed> {
    let doc = parse(body).ok_or(Parsed::Malformed)?;
    let root = doc.root_element();
    match root.tag_name().name() {
        "ListBucketResult" => {}
        "Error" => return Err(Parsed::Error(parse_error(body).unwrap_or_default())),
        _ => return Err(Parsed::Malformed),
    }
    let url_encoded = child_text(&doc, "EncodingType").as_deref() == Some("url");
    let decode = |s: &str| -> Result<String, Parsed> {
        if url_encoded {
            url_decode(s).ok_or(Parsed::Malformed)
        } else {
            Ok(s.to_string())
        }
    };
    let text = |n: roxmltree::Node<'_, '_>, name: &str| -> Option<String> {
        n.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
            .map(|c| c.text().unwrap_or_default().to_string())
    };
    let mut page = ListPage::default();
    for n in root.children().filter(|n| n.is_element()) {
        match n.tag_name().name() {
            "Contents" => {
                let key = decode(&text(n, "Key").ok_or(Parsed::Malformed)?)?;
                let size = text(n, "Size")
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or(Parsed::Malformed)?;
                page.objects.push(ListedObject {
                    key,
                    size,
                    etag: text(n, "ETag").filter(|e| !e.is_empty()),
                    last_modified: text(n, "LastModified").filter(|e| !e.is_empty()),
                });
            }
            "CommonPrefixes" => {
                if let Some(p) = text(n, "Prefix") {
                    page.common_prefixes.push(decode(&p)?);
                }
            }
            _ => {}
        }
    }
    let truncated = child_text(&doc, "IsTruncated").as_deref() == Some("true");
    page.next_continuation_token =
        child_text(&doc, "NextContinuationToken").filter(|t| truncated && !t.is_empty());
    if truncated && page.next_continuation_token.is_none() {
        return Err(Parsed::Malformed);
    }
    Ok(page)
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// The `CompleteMultipartUpload` request body.
pub(crate) fn complete_body(parts: &[CompletedPart]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
    );
    for p in parts {
        out.push_str("<Part><PartNumber>");
        out.push_str(&p.part_number.to_string());
        out.push_str("</PartNumber><ETag>");
        escape_into(&mut out, &p.etag);
        out.push_str("</ETag>");
        if let Some(c) = &p.checksum {
            let tag = format!("Checksum{}", c.algorithm.as_str());
            out.push_str(&format!("<{tag}>"));
            escape_into(&mut out, &c.value);
            out.push_str(&format!("</{tag}>"));
        }
        out.push_str("</Part>");
    }
    out.push_str("</CompleteMultipartUpload>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a &amp; b</Key><RequestId>1</RequestId></Error>"#;
        assert_eq!(
            parse_error(body),
            Some(S3Error {
                code: Some("NoSuchKey".into()),
                message: Some("The specified key does not exist.".into()),
            })
        );
        assert_eq!(parse_error(b"<Error/>"), Some(S3Error::default()));
        assert_eq!(parse_error(b"<Other/>"), None);
        assert_eq!(parse_error(b"<Error><Code>"), None);
        assert_eq!(parse_error(b"\xff\xfe"), None);
        assert_eq!(parse_error(b""), None);
    }

    #[test]
    fn results() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>a+b/c&amp;</UploadId></InitiateMultipartUploadResult>"#;
        assert_eq!(
            parse_result(body, "InitiateMultipartUploadResult", "UploadId"),
            Parsed::Value(Some("a+b/c&".into()))
        );
        let body = br#"<CompleteMultipartUploadResult><ETag>&quot;abc-2&quot;</ETag></CompleteMultipartUploadResult>"#;
        assert_eq!(
            parse_result(body, "CompleteMultipartUploadResult", "ETag"),
            Parsed::Value(Some("\"abc-2\"".into()))
        );
        let body = b"\n\n   <Error><Code>InternalError</Code><Message>x</Message></Error>";
        assert_eq!(
            parse_result(body, "CompleteMultipartUploadResult", "ETag"),
            Parsed::Error(S3Error {
                code: Some("InternalError".into()),
                message: Some("x".into())
            })
        );
        assert_eq!(
            parse_result(b"<Foo/>", "CompleteMultipartUploadResult", "ETag"),
            Parsed::Malformed
        );
        assert_eq!(
            parse_result(b"", "CompleteMultipartUploadResult", "ETag"),
            Parsed::Malformed
        );
        assert_eq!(parse_result(b"<R/>", "R", "ETag"), Parsed::Value(None));
    }

    #[test]
    fn lists() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>a%2F</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>
<Contents><Key>a%2Fx+y%C3%A9</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;e1&quot;</ETag><Size>12</Size></Contents>
<Contents><Key>a%2Fz</Key><Size>0</Size></Contents>
<CommonPrefixes><Prefix>a%2Fd%2F</Prefix></CommonPrefixes></ListBucketResult>"#;
        let page = parse_list(body).unwrap_or_default();
        assert_eq!(page.objects.len(), 2);
        assert_eq!(page.objects[0].key, "a/x yé");
        assert_eq!(page.objects[0].size, 12);
        assert_eq!(page.objects[0].etag.as_deref(), Some("\"e1\""));
        assert_eq!(page.objects[1].etag, None);
        assert_eq!(page.common_prefixes, vec!["a/d/".to_string()]);
        assert_eq!(page.next_continuation_token.as_deref(), Some("tok/+="));
        let last = br#"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>"#;
        let page = parse_list(last).unwrap_or_default();
        assert_eq!(
            (page.objects.len(), page.next_continuation_token),
            (1, None)
        );
        assert!(matches!(
            parse_list(b"<Error><Code>NoSuchBucket</Code></Error>"),
            Err(Parsed::Error(_))
        ));
        assert!(matches!(parse_list(b"<Foo/>"), Err(Parsed::Malformed)));
        let no_size = br#"<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>"#;
        assert!(matches!(parse_list(no_size), Err(Parsed::Malformed)));
        let no_token = br#"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"#;
        assert!(matches!(parse_list(no_token), Err(Parsed::Malformed)));
    }

    #[test]
    fn complete() {
        let parts = [
            CompletedPart {
                part_number: 1,
                etag: "\"e1\"".into(),
                checksum: None,
            },
            CompletedPart {
                part_number: 2,
                etag: "<&>".into(),
                checksum: None,
            },
        ];
        let body = complete_body(&parts);
        assert!(body.contains(
            "<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part>\
             <Part><PartNumber>2</PartNumber><ETag>&lt;&amp;&gt;</ETag></Part>"
        ));
        let doc = roxmltree::Document::parse(&body);
        assert!(doc.is_ok());
    }
}

//! The few S3 XML documents the transport reads and writes.

use s3ec_client::transport::CompletedPart;

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

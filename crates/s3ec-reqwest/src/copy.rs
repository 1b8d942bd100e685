//! CopyObject and UploadPartCopy: the server-side copies of a key rotation
//! that rewraps an envelope kept in object metadata.

use bytes::Bytes;
use reqwest::Method;
use s3ec_client::transport::{ByteRange, CopyRequest, ErrorKind, TransportError};

use crate::{addressing, header_str, metadata_headers, range_header, Call, ReqwestTransport};

/// The response headers of a HEAD that describe the object beside its user
/// metadata and that S3 resets on a copy with `x-amz-metadata-directive:
/// REPLACE` unless they are sent again (the request header of each has the
/// same name).
const CARRIED: &[&str] = &[
    "content-type",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
    "x-amz-storage-class",
    "x-amz-website-redirect-location",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-bucket-key-enabled",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
];

/// `x-amz-copy-source` (and its `If-Match`) of a copy.
fn source_headers(req: &CopyRequest<'_>) -> Vec<(String, String)> {
    let mut h = vec![(
        "x-amz-copy-source".to_string(),
        format!(
            "/{}/{}",
            req.source_bucket,
            addressing::encode_key(req.source_key)
        ),
    )];
    if let Some(m) = req.source_if_match {
        h.push(("x-amz-copy-source-if-match".to_string(), m.to_string()));
    }
    h
}

impl ReqwestTransport {
    /// The source's properties to send again on a metadata-replacing copy,
    /// read with a HEAD pinned to the same entity tag as the copy.
    fn carried_headers(
        &self,
        req: &CopyRequest<'_>,
    ) -> Result<Vec<(String, String)>, TransportError> {
        let mut headers = Vec::new();
        if let Some(m) = req.source_if_match {
            headers.push(("if-match".to_string(), m.to_string()));
        }
        let call = Call {
            op: "HeadObject",
            method: Method::HEAD,
            bucket: req.source_bucket,
            key: req.source_key,
            query: String::new(),
            headers,
            body: Bytes::new(),
        };
        self.run(&call, |resp| {
            let h = resp.headers();
            Ok(CARRIED
                .iter()
                .filter_map(|name| header_str(h, name).map(|v| (name.to_string(), v)))
                .collect())
        })
    }

    pub(crate) fn copy_object_impl(
        &self,
        req: &CopyRequest<'_>,
    ) -> Result<Option<String>, TransportError> {
        let mut headers = self.carried_headers(req)?;
        headers.extend(source_headers(req));
        headers.push((
            "x-amz-metadata-directive".to_string(),
            "REPLACE".to_string(),
        ));
        headers.extend(metadata_headers(req.metadata)?);
        let call = Call {
            op: "CopyObject",
            method: Method::PUT,
            bucket: req.bucket,
            key: req.key,
            query: String::new(),
            headers,
            body: Bytes::new(),
        };
        self.run(&call, |resp| {
            self.read_result(&call, resp, "CopyObjectResult", "ETag")
                .map(Some)
        })
    }

    pub(crate) fn upload_part_copy_impl(
        &self,
        req: &CopyRequest<'_>,
        upload_id: &str,
        part_number: u32,
        range: ByteRange,
    ) -> Result<String, TransportError> {
        if !(1..=10_000).contains(&part_number) {
            return Err(TransportError::new(
                ErrorKind::Other,
                format!("part number {part_number} is outside 1..=10000"),
            ));
        }
        let mut headers = source_headers(req);
        headers.push(("x-amz-copy-source-range".to_string(), range_header(&range)?));
        let call = Call {
            op: "UploadPartCopy",
            method: Method::PUT,
            bucket: req.bucket,
            key: req.key,
            query: format!(
                "partNumber={part_number}&uploadId={}",
                addressing::encode_query(upload_id)
            ),
            headers,
            body: Bytes::new(),
        };
        self.run(&call, |resp| {
            self.read_result(&call, resp, "CopyPartResult", "ETag")
        })
    }
}

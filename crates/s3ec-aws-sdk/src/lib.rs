//! # s3ec-aws-sdk
//!
//! [`AwsSdkTransport`]: the [`AsyncTransport`] of the s3ec Amazon S3
//! Encryption Client over an [`aws_sdk_s3::Client`], so that an
//! [`s3ec_client::AsyncClient`] uses the AWS SDK's configuration,
//! credentials, retries and HTTP stack.
//!
//! - GET bodies ([`aws_sdk_s3::primitives::ByteStream`]) become the
//!   client's [`AsyncBody`] stream, chunk by chunk (nothing buffered here).
//! - User metadata is passed without the `x-amz-meta-` prefix, as the SDK
//!   does; `Range` (`bytes=first-last`), `If-Match` and multipart uploads
//!   map one to one.
//! - Errors become [`TransportError`]s: HTTP 404 / `NoSuchKey` is
//!   [`ErrorKind::NotFound`], 412 [`ErrorKind::PreconditionFailed`], 416
//!   [`ErrorKind::InvalidRange`], 401/403 [`ErrorKind::AccessDenied`],
//!   429/5xx [`ErrorKind::Unavailable`] (after the SDK's own retries),
//!   timeouts and broken connections [`ErrorKind::Connection`], malformed
//!   responses [`ErrorKind::InvalidResponse`]; the status, the S3 error
//!   code and the SDK error (as `source`) are kept.
//! - Presigned PUTs ([`AsyncTransport::presign_put`], through
//!   [`s3ec_client::AsyncClient::presign_put`]) use the SDK's presigning
//!   ([`aws_sdk_s3::presigning::PresigningConfig`]): the envelope's
//!   `x-amz-meta-*` headers and the content length are signed headers of
//!   the URL.
//!
//! ```no_run
//! use s3ec_aws_sdk::AwsSdkTransport;
//! use s3ec_client::AsyncClient;
//! use s3ec_keyring::{Context, Local};
//!
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let s3 = AwsSdkTransport::new(aws_sdk_s3::Client::new(&conf));
//! let keyring = Local(s3ec_local::AesKeyring::new(&[7u8; 32])?);
//! let client = AsyncClient::builder(s3, keyring).build()?;
//! client.put_object("bucket", "key", &b"hello"[..], Some(5), &Context::new()).await?;
//! let (plaintext, _) = client.get_object_to_vec("bucket", "key", None).await?;
//! assert_eq!(plaintext, b"hello");
//! # Ok(()) }
//! ```

/// The AWS SDK for S3, re-exported: build the `aws_sdk_s3::Client` this
/// transport wraps without a dependency of your own.
pub use aws_sdk_s3;
mod copy;
mod presign;

use std::collections::HashMap;
use std::error::Error as StdError;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart as SdkCompletedPart};
use bytes::Bytes;
use s3ec_client::transport::{
    Access, AsyncBody, AsyncGetResponse, AsyncTransport, ChecksumAlgorithm, CompleteRequest,
    ErrorKind, GetRequest, ListPage, ListRequest, ListedObject, Metadata, ObjectHead,
    ObjectRequest, PartRequest, PutRequest, ServerSideEncryption, TransportError,
};

/// The SDK's `RequestPayer` for an [`Access`].
fn payer(access: Access<'_>) -> Option<aws_sdk_s3::types::RequestPayer> {
    access
        .request_payer
        .then_some(aws_sdk_s3::types::RequestPayer::Requester)
}

/// The SDK's checksum algorithm.
fn sdk_checksum(a: ChecksumAlgorithm) -> aws_sdk_s3::types::ChecksumAlgorithm {
    use aws_sdk_s3::types::ChecksumAlgorithm as A;
    match a {
        ChecksumAlgorithm::Crc32 => A::Crc32,
        ChecksumAlgorithm::Crc32c => A::Crc32C,
        _ => A::Sha256,
    }
}

/// A date as the SDK takes it (HTTP date for `Expires`, ISO 8601 for the
/// object lock date); an unparsable one is sent as nothing and reported.
fn sdk_date(
    v: &Option<String>,
    format: aws_smithy_types::date_time::Format,
) -> Option<aws_smithy_types::DateTime> {
    v.as_deref()
        .and_then(|s| aws_smithy_types::DateTime::from_str(s, format).ok())
}

/// Set the ordinary put fields on a PutObject or CreateMultipartUpload
/// builder (the two have the same setters).
macro_rules! put_fields {
    ($call:expr, $f:expr) => {{
        use aws_smithy_types::date_time::Format;
        let f = $f;
        let mut call = $call
            .set_content_type(f.content_type.clone())
            .set_content_encoding(f.content_encoding.clone())
            .set_content_disposition(f.content_disposition.clone())
            .set_content_language(f.content_language.clone())
            .set_cache_control(f.cache_control.clone())
            .set_expires(sdk_date(&f.expires, Format::HttpDate))
            .set_storage_class(
                f.storage_class
                    .as_deref()
                    .map(aws_sdk_s3::types::StorageClass::from),
            )
            .set_tagging(f.tagging_header())
            .set_acl(
                f.acl
                    .as_deref()
                    .map(aws_sdk_s3::types::ObjectCannedAcl::from),
            )
            .set_object_lock_mode(
                f.object_lock_mode
                    .as_deref()
                    .map(aws_sdk_s3::types::ObjectLockMode::from),
            )
            .set_object_lock_retain_until_date(sdk_date(
                &f.object_lock_retain_until,
                Format::DateTime,
            ))
            .set_object_lock_legal_hold_status(f.object_lock_legal_hold.map(|on| {
                if on {
                    aws_sdk_s3::types::ObjectLockLegalHoldStatus::On
                } else {
                    aws_sdk_s3::types::ObjectLockLegalHoldStatus::Off
                }
            }))
            .set_expected_bucket_owner(f.expected_bucket_owner.clone())
            .set_request_payer(payer(f.access()));
        if let Some(sse) = &f.server_side_encryption {
            call = call.server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::from(
                sse.as_header(),
            ));
            if let ServerSideEncryption::Kms { key_id, bucket_key } = sse {
                call = call
                    .set_ssekms_key_id(key_id.clone())
                    .set_bucket_key_enabled(*bucket_key);
            }
        }
        call
    }};
}

/// The object's headers from a HeadObject or GetObject output (the two
/// have the same getters).
macro_rules! head_fields {
    ($out:expr, $len:expr, $tags:expr) => {{
        let out = &$out;
        ObjectHead {
            content_length: $len,
            etag: out.e_tag().map(str::to_string),
            metadata: metadata_of(out.metadata()),
            version_id: out
                .version_id()
                .filter(|v| *v != "null")
                .map(str::to_string),
            last_modified: out
                .last_modified()
                .and_then(|d| std::time::SystemTime::try_from(*d).ok()),
            content_type: out.content_type().map(str::to_string),
            content_encoding: out.content_encoding().map(str::to_string),
            content_disposition: out.content_disposition().map(str::to_string),
            content_language: out.content_language().map(str::to_string),
            cache_control: out.cache_control().map(str::to_string),
            expires: out.expires_string().map(str::to_string),
            storage_class: out.storage_class().map(|s| s.as_str().to_string()),
            server_side_encryption: out.server_side_encryption().map(|s| s.as_str().to_string()),
            sse_kms_key_id: out.ssekms_key_id().map(str::to_string),
            bucket_key_enabled: out.bucket_key_enabled(),
            object_lock_mode: out.object_lock_mode().map(|s| s.as_str().to_string()),
            object_lock_retain_until: out
                .object_lock_retain_until_date()
                .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
            object_lock_legal_hold: out
                .object_lock_legal_hold_status()
                .map(|s| *s == aws_sdk_s3::types::ObjectLockLegalHoldStatus::On),
            tag_count: $tags,
        }
    }};
}

use s3ec_keyring::BoxFuture;

/// An [`AsyncTransport`] over an [`aws_sdk_s3::Client`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AwsSdkTransport {
    client: aws_sdk_s3::Client,
}

impl AwsSdkTransport {
    /// Use `client` (its region, credentials, endpoint, retry settings).
    pub fn new(client: aws_sdk_s3::Client) -> AwsSdkTransport {
        AwsSdkTransport { client }
    }

    /// The SDK client, for operations the encryption client does not wrap
    /// (CopyObject, ListObjectsV2, ...).
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }
}

impl From<aws_sdk_s3::Client> for AwsSdkTransport {
    fn from(client: aws_sdk_s3::Client) -> Self {
        AwsSdkTransport::new(client)
    }
}

/// Classify an HTTP status (and S3 error code).
fn kind_of(status: Option<u16>, code: Option<&str>) -> ErrorKind {
    match code {
        Some("NoSuchKey" | "NoSuchBucket" | "NotFound" | "NoSuchUpload") => {
            return ErrorKind::NotFound
        }
        Some("PreconditionFailed") => return ErrorKind::PreconditionFailed,
        Some("InvalidRange") => return ErrorKind::InvalidRange,
        Some("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch") => {
            return ErrorKind::AccessDenied
        }
        Some("SlowDown" | "Throttling" | "ServiceUnavailable" | "InternalError") => {
            return ErrorKind::Unavailable
        }
        _ => {}
    }
    match status {
        Some(404) => ErrorKind::NotFound,
        Some(412) => ErrorKind::PreconditionFailed,
        Some(416) => ErrorKind::InvalidRange,
        Some(401 | 403) => ErrorKind::AccessDenied,
        Some(429 | 500..=599) => ErrorKind::Unavailable,
        _ => ErrorKind::Other,
    }
}

/// Map an SDK error of operation `op`.
fn map_err<E>(
    op: &'static str,
    e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> TransportError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().map(str::to_string);
    let kind = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => ErrorKind::Connection,
        SdkError::ResponseError(_) => ErrorKind::InvalidResponse,
        SdkError::ServiceError(_) => kind_of(status, code.as_deref()),
        _ => ErrorKind::Other,
    };
    let detail = e.message().map(str::to_string).unwrap_or_else(|| {
        // SdkError's Display is terse ("service error"); its source chain
        // says more.
        let mut s = e.to_string();
        let mut src = e.source();
        while let Some(inner) = src {
            s.push_str(": ");
            s.push_str(&inner.to_string());
            src = inner.source();
        }
        s
    });
    TransportError {
        kind,
        status,
        code,
        message: format!("{op}: {detail}"),
        source: Some(Box::new(e)),
    }
}

/// Parse `Content-Range: bytes first-last/total`.
fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    Some((
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        total.trim().parse().ok()?,
    ))
}

fn metadata_of(m: Option<&HashMap<String, String>>) -> Metadata {
    let mut v: Metadata = m
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn metadata_map(m: &[(String, String)]) -> Option<HashMap<String, String>> {
    if m.is_empty() {
        None
    } else {
        Some(m.iter().cloned().collect())
    }
}

fn length(v: Option<i64>, op: &'static str) -> Result<u64, TransportError> {
    let n = v.ok_or_else(|| {
        TransportError::new(
            ErrorKind::InvalidResponse,
            format!("{op}: no Content-Length"),
        )
    })?;
    u64::try_from(n).map_err(|_| {
        TransportError::new(
            ErrorKind::InvalidResponse,
            format!("{op}: negative Content-Length"),
        )
    })
}

/// The body of a GET as the client's stream.
fn body_stream(body: ByteStream) -> AsyncBody {
    Box::pin(futures_util::stream::unfold(body, |mut b| async move {
        match b.next().await {
            None => None,
            Some(Ok(chunk)) => Some((Ok(chunk), b)),
            Some(Err(e)) => {
                let mut err =
                    TransportError::new(ErrorKind::Connection, format!("GetObject body: {e}"));
                err.source = Some(Box::new(e));
                Some((Err(err), b))
            }
        }
    }))
}

impl AsyncTransport for AwsSdkTransport {
    fn head_object<'a>(
        &'a self,
        req: &'a ObjectRequest<'a>,
    ) -> BoxFuture<'a, Result<ObjectHead, TransportError>> {
        Box::pin(async move {
            let out = self
                .client
                .head_object()
                .bucket(req.bucket)
                .key(req.key)
                .set_version_id(req.version_id.map(str::to_string))
                .set_expected_bucket_owner(req.access.expected_bucket_owner.map(str::to_string))
                .set_request_payer(payer(req.access))
                .send()
                .await
                .map_err(|e| map_err("HeadObject", e))?;
            Ok(head_fields!(
                out,
                length(out.content_length(), "HeadObject")?,
                None
            ))
        })
    }

    fn get_object<'a>(
        &'a self,
        req: &'a GetRequest<'a>,
    ) -> BoxFuture<'a, Result<AsyncGetResponse, TransportError>> {
        Box::pin(async move {
            let mut call = self
                .client
                .get_object()
                .bucket(req.bucket)
                .key(req.key)
                .set_version_id(req.version_id.map(str::to_string))
                .set_expected_bucket_owner(req.access.expected_bucket_owner.map(str::to_string))
                .set_request_payer(payer(req.access));
            if let Some(r) = req.range {
                call = call.range(match r.last {
                    Some(last) => format!("bytes={}-{last}", r.first),
                    None => format!("bytes={}-", r.first),
                });
            }
            if let Some(etag) = req.if_match {
                call = call.if_match(etag);
            }
            let out = call.send().await.map_err(|e| map_err("GetObject", e))?;
            let content_range = match out.content_range() {
                Some(v) => Some(parse_content_range(v).ok_or_else(|| {
                    TransportError::new(
                        ErrorKind::InvalidResponse,
                        format!("GetObject: bad Content-Range {v:?}"),
                    )
                })?),
                None => None,
            };
            let content_length = match content_range {
                Some((_, _, total)) => total,
                None => length(out.content_length(), "GetObject")?,
            };
            let head = head_fields!(
                out,
                content_length,
                out.tag_count().and_then(|n| u32::try_from(n).ok())
            );
            Ok(AsyncGetResponse {
                head,
                content_range,
                body: body_stream(out.body),
            })
        })
    }

    fn put_object<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        Box::pin(async move {
            let len = i64::try_from(body.len()).unwrap_or(i64::MAX);
            let f = req.fields;
            let mut call = put_fields!(
                self.client
                    .put_object()
                    .bucket(req.bucket)
                    .key(req.key)
                    .set_metadata(metadata_map(req.metadata))
                    .content_length(len),
                f
            )
            .set_if_none_match(f.if_none_match.clone())
            .set_if_match(f.if_match.clone());
            if let Some(c) = req.checksum {
                call = call.checksum_algorithm(sdk_checksum(c.algorithm));
                call = match c.algorithm {
                    ChecksumAlgorithm::Crc32 => call.checksum_crc32(&c.value),
                    ChecksumAlgorithm::Crc32c => call.checksum_crc32_c(&c.value),
                    _ => call.checksum_sha256(&c.value),
                };
            }
            let out = call
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| map_err("PutObject", e))?;
            Ok(out.e_tag().map(str::to_string))
        })
    }

    fn delete_object<'a>(
        &'a self,
        req: &'a ObjectRequest<'a>,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move {
            match self
                .client
                .delete_object()
                .bucket(req.bucket)
                .key(req.key)
                .set_version_id(req.version_id.map(str::to_string))
                .set_expected_bucket_owner(req.access.expected_bucket_owner.map(str::to_string))
                .set_request_payer(payer(req.access))
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) => {
                    let e = map_err("DeleteObject", e);
                    // A missing object is not an error (S3 itself answers
                    // 204 for one; some emulators 404).
                    if e.kind == ErrorKind::NotFound && e.code.as_deref() != Some("NoSuchBucket") {
                        Ok(())
                    } else {
                        Err(e)
                    }
                }
            }
        })
    }

    fn create_multipart_upload<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        Box::pin(async move {
            let f = req.fields;
            let out = put_fields!(
                self.client
                    .create_multipart_upload()
                    .bucket(req.bucket)
                    .key(req.key)
                    .set_metadata(metadata_map(req.metadata)),
                f
            )
            .set_checksum_algorithm(f.checksum_algorithm.map(sdk_checksum))
            .send()
            .await
            .map_err(|e| map_err("CreateMultipartUpload", e))?;
            out.upload_id().map(str::to_string).ok_or_else(|| {
                TransportError::new(
                    ErrorKind::InvalidResponse,
                    "CreateMultipartUpload: no UploadId",
                )
            })
        })
    }

    fn upload_part<'a>(
        &'a self,
        req: &'a PartRequest<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        Box::pin(async move {
            let number = i32::try_from(req.part_number).map_err(|_| {
                TransportError::new(ErrorKind::Other, "UploadPart: part number out of range")
            })?;
            let len = i64::try_from(body.len()).unwrap_or(i64::MAX);
            let mut call = self
                .client
                .upload_part()
                .bucket(req.bucket)
                .key(req.key)
                .upload_id(req.upload_id)
                .part_number(number)
                .content_length(len)
                .set_expected_bucket_owner(req.fields.expected_bucket_owner.clone())
                .set_request_payer(payer(req.fields.access()));
            if let Some(c) = req.checksum {
                call = call.checksum_algorithm(sdk_checksum(c.algorithm));
                call = match c.algorithm {
                    ChecksumAlgorithm::Crc32 => call.checksum_crc32(&c.value),
                    ChecksumAlgorithm::Crc32c => call.checksum_crc32_c(&c.value),
                    _ => call.checksum_sha256(&c.value),
                };
            }
            let out = call
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| map_err("UploadPart", e))?;
            out.e_tag().map(str::to_string).ok_or_else(|| {
                TransportError::new(ErrorKind::InvalidResponse, "UploadPart: no ETag")
            })
        })
    }

    fn complete_multipart_upload<'a>(
        &'a self,
        req: &'a CompleteRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        Box::pin(async move {
            let mut list = Vec::with_capacity(req.parts.len());
            for p in req.parts {
                let number = i32::try_from(p.part_number).map_err(|_| {
                    TransportError::new(
                        ErrorKind::Other,
                        "CompleteMultipartUpload: part number out of range",
                    )
                })?;
                let mut part = SdkCompletedPart::builder()
                    .part_number(number)
                    .e_tag(&p.etag);
                if let Some(c) = &p.checksum {
                    part = match c.algorithm {
                        ChecksumAlgorithm::Crc32 => part.checksum_crc32(&c.value),
                        ChecksumAlgorithm::Crc32c => part.checksum_crc32_c(&c.value),
                        _ => part.checksum_sha256(&c.value),
                    };
                }
                list.push(part.build());
            }
            let out = self
                .client
                .complete_multipart_upload()
                .bucket(req.bucket)
                .key(req.key)
                .upload_id(req.upload_id)
                .set_if_none_match(req.fields.if_none_match.clone())
                .set_if_match(req.fields.if_match.clone())
                .set_expected_bucket_owner(req.fields.expected_bucket_owner.clone())
                .set_request_payer(payer(req.fields.access()))
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(list))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| map_err("CompleteMultipartUpload", e))?;
            Ok(out.e_tag().map(str::to_string))
        })
    }

    fn abort_multipart_upload<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move {
            self.client
                .abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .send()
                .await
                .map_err(|e| map_err("AbortMultipartUpload", e))?;
            Ok(())
        })
    }

    fn copy_object<'a>(
        &'a self,
        req: &'a s3ec_client::transport::CopyRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        Box::pin(self.copy_object_impl(req))
    }

    fn upload_part_copy<'a>(
        &'a self,
        req: &'a s3ec_client::transport::CopyRequest<'a>,
        upload_id: &'a str,
        part_number: u32,
        range: s3ec_client::transport::ByteRange,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        Box::pin(self.upload_part_copy_impl(req, upload_id, part_number, range))
    }

    fn presign_put<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        metadata: &'a [(String, String)],
        content_length: Option<u64>,
        expires_in: std::time::Duration,
    ) -> BoxFuture<'a, Result<s3ec_client::transport::PresignedRequest, TransportError>> {
        Box::pin(self.presign_put_impl(bucket, key, metadata, content_length, expires_in))
    }

    fn list_objects<'a>(
        &'a self,
        req: &'a ListRequest<'a>,
    ) -> BoxFuture<'a, Result<ListPage, TransportError>> {
        Box::pin(async move {
            let out = self
                .client
                .list_objects_v2()
                .bucket(req.bucket)
                .set_prefix(req.prefix.map(str::to_string))
                .set_delimiter(req.delimiter.map(str::to_string))
                .set_continuation_token(req.continuation_token.map(str::to_string))
                .set_max_keys(req.max_keys.and_then(|m| i32::try_from(m).ok()))
                .send()
                .await
                .map_err(|e| map_err("ListObjectsV2", e))?;
            let objects = out
                .contents()
                .iter()
                .map(|o| ListedObject {
                    key: o.key().unwrap_or_default().to_string(),
                    size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    etag: o.e_tag().map(str::to_string),
                    last_modified: o.last_modified().map(|t| t.to_string()),
                })
                .collect();
            let common_prefixes = out
                .common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string))
                .collect();
            let next = if out.is_truncated() == Some(true) {
                out.next_continuation_token().map(str::to_string)
            } else {
                None
            };
            Ok(ListPage {
                objects,
                common_prefixes,
                next_continuation_token: next,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn content_range() {
        assert_eq!(parse_content_range("bytes 0-99/1000"), Some((0, 99, 1000)));
        assert_eq!(parse_content_range("bytes 5-5/6"), Some((5, 5, 6)));
        assert_eq!(parse_content_range("bytes */1000"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
        assert_eq!(parse_content_range("bytes 0-x/2"), None);
    }

    #[test]
    fn kinds() {
        assert_eq!(kind_of(Some(404), None), ErrorKind::NotFound);
        assert_eq!(kind_of(Some(400), Some("NoSuchKey")), ErrorKind::NotFound);
        assert_eq!(kind_of(Some(412), None), ErrorKind::PreconditionFailed);
        assert_eq!(kind_of(Some(416), None), ErrorKind::InvalidRange);
        assert_eq!(kind_of(Some(403), None), ErrorKind::AccessDenied);
        assert_eq!(kind_of(Some(503), Some("SlowDown")), ErrorKind::Unavailable);
        assert_eq!(kind_of(Some(429), None), ErrorKind::Unavailable);
        assert_eq!(
            kind_of(Some(400), Some("InvalidArgument")),
            ErrorKind::Other
        );
        assert_eq!(kind_of(None, None), ErrorKind::Other);
    }

    #[test]
    fn metadata_round_trip() {
        let m = vec![
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), String::new()),
        ];
        let map = metadata_map(&m).unwrap();
        assert_eq!(
            metadata_of(Some(&map)),
            vec![
                ("a".to_string(), String::new()),
                ("b".to_string(), "2".to_string())
            ]
        );
        assert_eq!(metadata_map(&[]), None);
        assert!(metadata_of(None).is_empty());
    }
}

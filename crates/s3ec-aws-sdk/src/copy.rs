//! CopyObject and UploadPartCopy: the server-side copies of a key rotation
//! that rewraps an envelope kept in object metadata.

use aws_sdk_s3::types::MetadataDirective;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use s3ec_client::transport::{ByteRange, CopyRequest, ErrorKind, TransportError};

use crate::{map_err, metadata_map, AwsSdkTransport};

/// What stays unescaped in `x-amz-copy-source`: the unreserved characters
/// and `/`.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// `bucket/key`, URL-encoded, as `x-amz-copy-source` wants it.
fn copy_source(req: &CopyRequest<'_>) -> String {
    format!(
        "{}/{}",
        req.source_bucket,
        utf8_percent_encode(req.source_key, KEEP)
    )
}

impl AwsSdkTransport {
    pub(crate) async fn copy_object_impl(
        &self,
        req: &CopyRequest<'_>,
    ) -> Result<Option<String>, TransportError> {
        // The source's properties that a metadata-replacing copy resets
        // unless they are sent again, read pinned to the same entity tag.
        let head = self
            .client
            .head_object()
            .bucket(req.source_bucket)
            .key(req.source_key)
            .set_if_match(req.source_if_match.map(str::to_string))
            .send()
            .await
            .map_err(|e| map_err("HeadObject", e))?;
        #[allow(deprecated)]
        let expires = head.expires().cloned();
        let out = self
            .client
            .copy_object()
            .bucket(req.bucket)
            .key(req.key)
            .copy_source(copy_source(req))
            .set_copy_source_if_match(req.source_if_match.map(str::to_string))
            .metadata_directive(MetadataDirective::Replace)
            .set_metadata(metadata_map(req.metadata))
            .set_content_type(head.content_type().map(str::to_string))
            .set_content_encoding(head.content_encoding().map(str::to_string))
            .set_content_disposition(head.content_disposition().map(str::to_string))
            .set_content_language(head.content_language().map(str::to_string))
            .set_cache_control(head.cache_control().map(str::to_string))
            .set_expires(expires)
            .set_storage_class(head.storage_class().cloned())
            .set_website_redirect_location(head.website_redirect_location().map(str::to_string))
            .set_server_side_encryption(head.server_side_encryption().cloned())
            .set_ssekms_key_id(head.ssekms_key_id().map(str::to_string))
            .set_bucket_key_enabled(head.bucket_key_enabled())
            .set_object_lock_mode(head.object_lock_mode().cloned())
            .set_object_lock_retain_until_date(head.object_lock_retain_until_date().cloned())
            .set_object_lock_legal_hold_status(head.object_lock_legal_hold_status().cloned())
            .send()
            .await
            .map_err(|e| map_err("CopyObject", e))?;
        Ok(out
            .copy_object_result()
            .and_then(|r| r.e_tag())
            .map(str::to_string))
    }

    pub(crate) async fn upload_part_copy_impl(
        &self,
        req: &CopyRequest<'_>,
        upload_id: &str,
        part_number: u32,
        range: ByteRange,
    ) -> Result<String, TransportError> {
        let number = i32::try_from(part_number).map_err(|_| {
            TransportError::new(ErrorKind::Other, "UploadPartCopy: part number out of range")
        })?;
        let range = match range.last {
            Some(last) => format!("bytes={}-{last}", range.first),
            None => {
                return Err(TransportError::new(
                    ErrorKind::Other,
                    "UploadPartCopy: the source range needs a last byte",
                ))
            }
        };
        let out = self
            .client
            .upload_part_copy()
            .bucket(req.bucket)
            .key(req.key)
            .upload_id(upload_id)
            .part_number(number)
            .copy_source(copy_source(req))
            .copy_source_range(range)
            .set_copy_source_if_match(req.source_if_match.map(str::to_string))
            .send()
            .await
            .map_err(|e| map_err("UploadPartCopy", e))?;
        out.copy_part_result()
            .and_then(|r| r.e_tag())
            .map(str::to_string)
            .ok_or_else(|| {
                TransportError::new(ErrorKind::InvalidResponse, "UploadPartCopy: no ETag")
            })
    }
}

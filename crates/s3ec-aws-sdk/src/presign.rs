//! Presigned PUTs through aws-sdk-s3's presigning.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::PresigningConfig;
use s3ec_client::transport::{ErrorKind, PresignedRequest, TransportError};

use crate::{map_err, AwsSdkTransport};

impl AwsSdkTransport {
    /// The user metadata (`x-amz-meta-*`) and the length are signed headers
    /// of the URL; the headers to send are the SDK's presigned ones.
    pub(crate) async fn presign_put_impl(
        &self,
        bucket: &str,
        key: &str,
        metadata: &[(String, String)],
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, TransportError> {
        let config = PresigningConfig::expires_in(expires_in).map_err(|e| {
            TransportError::new(ErrorKind::Other, format!("presigned URL validity: {e}"))
        })?;
        let mut req = self.client.put_object().bucket(bucket).key(key);
        for (k, v) in metadata {
            req = req.metadata(k.to_ascii_lowercase(), v);
        }
        if let Some(n) = content_length {
            let n = i64::try_from(n).map_err(|_| {
                TransportError::new(ErrorKind::Other, format!("content length {n} too large"))
            })?;
            req = req.content_length(n);
        }
        let signed_at = SystemTime::now();
        let p = req
            .presigned(config)
            .await
            .map_err(|e| map_err("PresignPutObject", e))?;
        let headers = p
            .headers()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        Ok(PresignedRequest::new(
            p.method(),
            p.uri(),
            headers,
            signed_at + expires_in,
        ))
    }
}

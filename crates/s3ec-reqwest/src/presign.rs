//! Presigned PUTs: a URL a device without AWS credentials uploads one
//! object through, with the object's user metadata (the S3EC envelope)
//! and its length signed into it.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SignatureLocation};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use s3ec_client::transport::{ErrorKind, PresignedRequest, TransportError};

use crate::{error_chain, s3_signing_settings, ReqwestTransport};

/// The longest validity SigV4 allows a presigned URL (7 days).
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

impl ReqwestTransport {
    /// Presign a PutObject of `bucket`/`key` for someone without
    /// credentials (a device): the user metadata `metadata` (names without
    /// `x-amz-meta-`, for example an S3EC envelope a device wrote) and, if
    /// given, the body's length are signed into the URL, so the uploader
    /// can neither drop nor change them; the URL is valid for
    /// `expires_in` (at most [`MAX_PRESIGN_EXPIRY`]). The body is not
    /// signed (`UNSIGNED-PAYLOAD`): its integrity is the S3EC tag's.
    ///
    /// Nothing is sent; the credentials are those the transport signs
    /// with (a session token goes into the URL).
    ///
    /// ```
    /// use std::time::Duration;
    /// use s3ec_reqwest::{Credentials, ReqwestTransport};
    ///
    /// let transport = ReqwestTransport::builder()
    ///     .region("eu-west-1")
    ///     .credentials(Credentials::new("AKIDEXAMPLE", "secret", None, None, "example"))
    ///     .build()?;
    /// let envelope = vec![("x-amz-c".to_string(), "115".to_string())];
    /// let put = transport.presign_put("telemetry", "dev-17/0001", &envelope, Some(1040), Duration::from_secs(900))?;
    /// assert!(put.url.starts_with("https://telemetry.s3.eu-west-1.amazonaws.com/dev-17/0001?"));
    /// assert!(put.url.contains("X-Amz-SignedHeaders=content-length%3Bhost%3Bx-amz-meta-x-amz-c"));
    /// assert!(put.headers.contains(&("x-amz-meta-x-amz-c".to_string(), "115".to_string())));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        metadata: &[(String, String)],
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, TransportError> {
        self.presign_put_at(
            bucket,
            key,
            metadata,
            content_length,
            expires_in,
            SystemTime::now(),
        )
    }

    /// [`ReqwestTransport::presign_put`] as signed at `time` (tests).
    pub fn presign_put_at(
        &self,
        bucket: &str,
        key: &str,
        metadata: &[(String, String)],
        content_length: Option<u64>,
        expires_in: Duration,
        time: SystemTime,
    ) -> Result<PresignedRequest, TransportError> {
        if expires_in.is_zero() || expires_in > MAX_PRESIGN_EXPIRY {
            return Err(TransportError::new(
                ErrorKind::Other,
                format!("presigned URL validity {expires_in:?}: must be 1 s to 7 days"),
            ));
        }
        let mut headers: Vec<(String, String)> = metadata
            .iter()
            .map(|(k, v)| (format!("x-amz-meta-{}", k.to_ascii_lowercase()), v.clone()))
            .collect();
        if let Some(n) = content_length {
            headers.push(("content-length".into(), n.to_string()));
        }
        let mut url = self.url_for(bucket, key, "")?;
        let identity: Identity = self.credentials.get()?.into();
        let mut settings = s3_signing_settings();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires_in);
        let failed = |e: &dyn std::error::Error| {
            TransportError::new(ErrorKind::Other, format!("presigning: {}", error_chain(e)))
        };
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| failed(&e))?
            .into();
        let signable = SignableRequest::new(
            "PUT",
            url.as_str(),
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| failed(&e))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| failed(&e))?
            .into_parts();
        let (_headers, query) = instructions.into_parts();
        {
            let mut q = url.query_pairs_mut();
            for (name, value) in &query {
                q.append_pair(name, value);
            }
        }
        Ok(PresignedRequest::new(
            "PUT",
            url,
            headers,
            time + expires_in,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Credentials;

    fn transport() -> ReqwestTransport {
        ReqwestTransport::builder()
            .region("us-east-1")
            .endpoint("http://127.0.0.1:9")
            .credentials(Credentials::new("AKID", "SECRET", None, None, "t"))
            .build()
            .unwrap()
    }

    #[test]
    fn signed_headers_and_expiry_are_in_the_url() {
        let meta = vec![
            ("x-amz-c".to_string(), "115".to_string()),
            ("X-Amz-I".to_string(), "abc=".to_string()),
        ];
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let p = transport()
            .presign_put_at("b", "dir/a b", &meta, Some(10), Duration::from_secs(60), t)
            .unwrap();
        assert!(
            p.url.starts_with("http://127.0.0.1:9/b/dir/a%20b?"),
            "{}",
            p.url
        );
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKID%2F20231114%2Fus-east-1%2Fs3%2Faws4_request",
            "X-Amz-Date=20231114T221320Z",
            "X-Amz-Expires=60",
            "X-Amz-SignedHeaders=content-length%3Bhost%3Bx-amz-meta-x-amz-c%3Bx-amz-meta-x-amz-i",
            "X-Amz-Signature=",
        ] {
            assert!(p.url.contains(part), "{part} in {}", p.url);
        }
        assert_eq!(p.headers.len(), 3);
        assert!(p
            .headers
            .contains(&("x-amz-meta-x-amz-i".into(), "abc=".into())));
        assert_eq!(p.expires_at, t + Duration::from_secs(60));
        // Another value, another signature.
        let q = transport()
            .presign_put_at("b", "dir/a b", &meta, Some(11), Duration::from_secs(60), t)
            .unwrap();
        assert_ne!(p.url, q.url);
        // Validity bounds.
        for d in [Duration::ZERO, MAX_PRESIGN_EXPIRY + Duration::from_secs(1)] {
            assert!(transport().presign_put("b", "k", &meta, None, d).is_err());
        }
    }
}

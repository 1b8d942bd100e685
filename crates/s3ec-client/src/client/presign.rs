//! Presigned uploads for devices that encrypt by themselves.

use std::time::Duration;

use crate::codec;
use crate::error::ClientError;
use crate::transport::PresignedRequest;

use super::Client;

impl Client {
    /// Presign a PUT of `bucket`/`key` for a device that encrypted the
    /// object itself (with `s3ec-core` or the `s3ec-c` C library) and has
    /// no credentials: `envelope` is the object's user metadata as the
    /// device wrote it (names without `x-amz-meta-`), signed into the URL
    /// with the body's length (`content_length`: plaintext + 16), so the
    /// device can neither drop nor change them.
    ///
    /// Before signing, the envelope is opened as a get would open it: it
    /// must be a complete S3EC envelope in the object metadata, allowed by
    /// this client's commitment policy, whose data key this client's
    /// keyring unwraps (V3: key commitment verified). So an object uploaded
    /// through the URL is one this client can decrypt, unless its body was
    /// not encrypted under that envelope (which the GCM tag refuses at
    /// read time).
    ///
    /// # Errors
    ///
    /// The errors of a get's envelope checks ([`ClientError::Format`],
    /// [`ClientError::Keyring`], commitment policy...); the transport's,
    /// [`crate::transport::ErrorKind::Unsupported`] when it cannot presign
    /// (`s3ec_reqwest::ReqwestTransport` can).
    pub fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        envelope: &[(String, String)],
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, ClientError> {
        codec::open_envelope(
            self.keyring.as_ref(),
            envelope,
            None,
            &self.config.policy,
            None,
        )?;
        Ok(self
            .transport
            .presign_put(bucket, key, envelope, content_length, expires_in)?)
    }
}

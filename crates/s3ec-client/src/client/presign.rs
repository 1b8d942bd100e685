//! Presigned uploads for devices that encrypt by themselves (the envelope
//! check and the presigning are [`crate::ops`]' `presign_put`, shared with
//! [`crate::AsyncClient::presign_put`]).

use std::time::Duration;

use crate::error::ClientError;
use crate::ready::run;
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
    /// # Example
    ///
    /// ```no_run
    /// # fn f(client: s3ec_client::Client, envelope: Vec<(String, String)>, body_len: u64)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// // `client` over a transport that presigns (`s3ec_reqwest::ReqwestTransport`);
    /// // `envelope` and `body_len` as the device reported them.
    /// let p = client.presign_put(
    ///     "bucket",
    ///     "device-7/reading.bin",
    ///     &envelope,
    ///     Some(body_len),
    ///     std::time::Duration::from_secs(600),
    /// )?;
    /// // Hand these to the device: it sends exactly these headers.
    /// println!("{} {}", p.method, p.url);
    /// for (name, value) in &p.headers {
    ///     println!("{name}: {value}");
    /// }
    /// # Ok(()) }
    /// ```
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
        self.with_ops(|ops| run(ops.presign_put(bucket, key, envelope, content_length, expires_in)))
    }
}

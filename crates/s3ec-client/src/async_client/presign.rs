//! Presigned uploads for devices that encrypt by themselves (async; the
//! check and the presigning are shared with [`crate::Client::presign_put`]
//! in [`crate::ops`]).

use std::time::Duration;

use crate::error::ClientError;
use crate::transport::PresignedRequest;

use super::AsyncClient;

impl AsyncClient {
    /// Presign a PUT of `bucket`/`key` for a device that encrypted the
    /// object itself, its envelope and length signed in, after checking
    /// that the envelope opens under this client's keyring and policy: the
    /// async form of [`crate::Client::presign_put`] (the same checks, the
    /// same code).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn f(client: s3ec_client::AsyncClient, envelope: Vec<(String, String)>, body_len: u64)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// // `client` over a transport that presigns (`s3ec_aws_sdk::AwsSdkTransport`);
    /// // `envelope` and `body_len` as the device reported them.
    /// let p = client
    ///     .presign_put(
    ///         "bucket",
    ///         "device-7/reading.bin",
    ///         &envelope,
    ///         Some(body_len),
    ///         std::time::Duration::from_secs(600),
    ///     )
    ///     .await?;
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
    /// As [`crate::Client::presign_put`]; `s3ec_aws_sdk::AwsSdkTransport`
    /// presigns, a transport that does not returns
    /// [`crate::transport::ErrorKind::Unsupported`].
    pub async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        envelope: &[(String, String)],
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, ClientError> {
        self.ops()
            .presign_put(bucket, key, envelope, content_length, expires_in)
            .await
    }
}

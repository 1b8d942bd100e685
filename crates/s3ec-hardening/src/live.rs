//! Clients against moto (started by the test kit) and through a fault proxy.

use std::time::Duration;

use s3ec_aws_sdk::AwsSdkTransport;
use s3ec_reqwest::{Credentials, ReqwestTransport, RetryConfig};

/// The moto endpoint of this process (started on first use).
pub fn moto() -> &'static str {
    s3ec_testkit::moto().endpoint()
}

/// A fresh bucket in moto.
pub fn bucket(prefix: &str) -> Result<String, String> {
    let b = s3ec_testkit::unique_bucket(prefix);
    s3ec_testkit::create_bucket(moto(), &b)
        .map_err(|e| format!("cannot create bucket {b}: {e}"))?;
    Ok(b)
}

/// The blocking transport to `endpoint`, with fast retries (3 after the
/// first attempt, 10 to 100 ms apart).
pub fn reqwest_transport(endpoint: &str) -> Result<ReqwestTransport, String> {
    ReqwestTransport::builder()
        .region(s3ec_testkit::REGION)
        .endpoint(endpoint)
        .credentials(Credentials::new(
            s3ec_testkit::ACCESS_KEY_ID,
            s3ec_testkit::SECRET_ACCESS_KEY,
            None,
            None,
            "moto",
        ))
        .path_style(true)
        .retry(RetryConfig {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
        })
        .read_timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| format!("reqwest transport: {e}"))
}

/// An AWS SDK S3 client for `endpoint` (moto's credentials, path style,
/// the standard retry mode with 10 ms initial backoff).
pub fn sdk_client(endpoint: &str) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::retry::RetryConfig as SdkRetry;
    let conf = s3ec_testkit::sdk::s3_config(endpoint)
        .retry_config(
            SdkRetry::standard()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(10))
                .with_max_backoff(Duration::from_millis(100)),
        )
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The async transport to `endpoint`.
pub fn sdk_transport(endpoint: &str) -> AwsSdkTransport {
    AwsSdkTransport::new(sdk_client(endpoint))
}

/// The multipart uploads open in `bucket` (key, upload id), straight from
/// moto.
pub async fn open_uploads(bucket: &str) -> Result<Vec<(String, String)>, String> {
    let out = sdk_client(moto())
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| format!("ListMultipartUploads: {e:?}"))?;
    Ok(out
        .uploads()
        .iter()
        .map(|u| {
            (
                u.key().unwrap_or_default().to_string(),
                u.upload_id().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

/// Deterministic bytes `[pos, pos + out.len())` of the body `seed`.
pub fn fill(seed: u64, pos: u64, out: &mut [u8]) {
    for (i, b) in out.iter_mut().enumerate() {
        let x = (pos + i as u64)
            .wrapping_add(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_mul(0xD605_0000_0001_u64 | 1);
        *b = (x >> 29) as u8 ^ (x >> 7) as u8;
    }
}

/// The whole body `seed` of `len` bytes.
pub fn body(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    fill(seed, 0, &mut v);
    v
}

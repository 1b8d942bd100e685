//! Helpers shared by the rotation and multipart live tests (moto through
//! s3ec-testkit).

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::time::Duration;

pub use s3ec_testkit::sdk::s3_client;

/// An AWS SDK KMS client for this process's moto server.
pub fn kms_client() -> aws_sdk_kms::Client {
    s3ec_testkit::sdk::kms_client(s3ec_testkit::moto().endpoint())
}

/// The blocking transport for `endpoint` with `retries` quick retries.
pub fn reqwest_transport(endpoint: &str, retries: u32) -> s3ec_reqwest::ReqwestTransport {
    s3ec_reqwest::ReqwestTransport::builder()
        .endpoint(endpoint)
        .region(s3ec_testkit::REGION)
        .credentials(s3ec_reqwest::Credentials::new(
            s3ec_testkit::ACCESS_KEY_ID,
            s3ec_testkit::SECRET_ACCESS_KEY,
            None,
            None,
            "moto",
        ))
        .path_style(true)
        .retry(s3ec_reqwest::RetryConfig {
            max_retries: retries,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        })
        .build()
        .unwrap()
}

/// A fresh bucket on this process's moto server.
pub fn bucket(prefix: &str) -> String {
    let b = s3ec_testkit::unique_bucket(prefix);
    s3ec_testkit::create_bucket(s3ec_testkit::moto().endpoint(), &b).unwrap();
    b
}

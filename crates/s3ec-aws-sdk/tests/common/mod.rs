//! Helpers shared by the rotation and multipart live tests (moto through
//! s3ec-testkit).

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

/// An AWS SDK S3 client for `endpoint` with moto's credentials.
pub fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(s3ec_testkit::REGION))
        .credentials_provider(Credentials::new(
            s3ec_testkit::ACCESS_KEY_ID,
            s3ec_testkit::SECRET_ACCESS_KEY,
            None,
            None,
            "moto",
        ))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// An AWS SDK KMS client for this process's moto server.
pub fn kms_client() -> aws_sdk_kms::Client {
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new(s3ec_testkit::REGION))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            s3ec_testkit::ACCESS_KEY_ID,
            s3ec_testkit::SECRET_ACCESS_KEY,
            None,
            None,
            "moto",
        ))
        .endpoint_url(s3ec_testkit::moto().endpoint())
        .build();
    aws_sdk_kms::Client::from_conf(conf)
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

//! AWS SDK clients for moto (feature `sdk`): the credentials and region
//! the moto server takes, path-style addressing for S3. For tests that
//! set up or check what the encryption client did with a plain SDK call.

use aws_sdk_kms::config::{
    BehaviorVersion as KmsBehaviorVersion, Credentials as KmsCredentials, Region as KmsRegion,
};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

use crate::{ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY};

/// The S3 client configuration for the S3 server at `endpoint` (moto, or
/// a proxy in front of it), path-style, to extend (retries, timeouts)
/// before `build()`.
pub fn s3_config(endpoint: &str) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "moto",
        ))
        .endpoint_url(endpoint)
        .force_path_style(true)
}

/// An S3 client for the S3 server at `endpoint` (moto, or a proxy in
/// front of it), path-style.
pub fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(s3_config(endpoint).build())
}

/// A KMS client for the KMS server at `endpoint` (moto serves both).
pub fn kms_client(endpoint: &str) -> aws_sdk_kms::Client {
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(KmsBehaviorVersion::latest())
        .region(KmsRegion::new(REGION))
        .credentials_provider(KmsCredentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "moto",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_kms::Client::from_conf(conf)
}

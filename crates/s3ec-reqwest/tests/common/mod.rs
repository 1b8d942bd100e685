//! Shared helpers for the live tests (moto through s3ec-testkit).

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::time::Duration;

use s3ec_client::transport::{GetRequest, Transport, TransportError};
use s3ec_reqwest::{Builder, Credentials, ReqwestTransport, RetryConfig};

/// The moto endpoint of this test process.
pub fn moto() -> &'static str {
    s3ec_testkit::moto().endpoint()
}

/// A fresh bucket in moto.
pub fn bucket(prefix: &str) -> String {
    let name = s3ec_testkit::unique_bucket(prefix);
    s3ec_testkit::create_bucket(moto(), &name).unwrap();
    name
}

/// A builder for `endpoint` with moto's credentials and fast retries.
pub fn builder(endpoint: &str) -> Builder {
    ReqwestTransport::builder()
        .region(s3ec_testkit::REGION)
        .endpoint(endpoint)
        .credentials(Credentials::new(
            s3ec_testkit::ACCESS_KEY_ID,
            s3ec_testkit::SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        ))
        .retry(RetryConfig {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
        })
        .read_timeout(Duration::from_secs(30))
}

/// A transport straight to moto.
pub fn direct() -> ReqwestTransport {
    builder(moto()).build().unwrap()
}

/// Deterministic pseudo-random bytes.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// GET a whole object into memory.
pub fn get_all(t: &dyn Transport, bucket: &str, key: &str) -> Result<Vec<u8>, TransportError> {
    let mut resp = t.get_object(&GetRequest {
        bucket,
        key,
        range: None,
        if_match: None,
        ..GetRequest::default()
    })?;
    let mut out = Vec::new();
    resp.body.read_to_end(&mut out).map_err(|e| {
        TransportError::new(s3ec_client::transport::ErrorKind::Connection, e.to_string())
    })?;
    Ok(out)
}

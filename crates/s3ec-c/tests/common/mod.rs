//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use s3ec_reqwest::{Credentials, ReqwestTransport};

/// A transport to a local S3 (moto, s3s-fs) with static credentials.
pub(crate) fn transport(endpoint: &str, access: &str, secret: &str) -> ReqwestTransport {
    ReqwestTransport::builder()
        .region(s3ec_testkit::REGION)
        .endpoint(endpoint)
        .credentials(Credentials::new(access, secret, None, None, "test"))
        .build()
        .unwrap()
}

/// A transport to moto.
pub(crate) fn moto_transport(endpoint: &str) -> ReqwestTransport {
    transport(
        endpoint,
        s3ec_testkit::ACCESS_KEY_ID,
        s3ec_testkit::SECRET_ACCESS_KEY,
    )
}

/// Whether Ruby is there (AWS's Ruby client: `interop/setup.sh`).
pub(crate) fn ruby_available() -> bool {
    let ok = Command::new("ruby").arg("--version").output().is_ok();
    if !ok {
        eprintln!("ruby not installed (interop/setup.sh): Ruby read skipped");
    }
    ok
}

/// AWS's Ruby client reads `bucket`/`key` from moto into `out`
/// (`interop/peer ruby get`, `mode_args`: `--mode` and its key); panics
/// with the peer's error if it fails.
pub(crate) fn ruby_get(endpoint: &str, bucket: &str, key: &str, out: &Path, mode_args: &[String]) {
    let (ok, err) = ruby_try_get(endpoint, bucket, key, out, mode_args);
    assert!(ok, "ruby peer ({key}): {err}");
}

/// [`ruby_get`] that may fail: whether the peer succeeded, and its stderr.
pub(crate) fn ruby_try_get(
    endpoint: &str,
    bucket: &str,
    key: &str,
    out: &Path,
    mode_args: &[String],
) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let run = Command::new(root.join("interop/peer"))
        .args(["ruby", "get", "--endpoint", endpoint, "--bucket", bucket])
        .args(["--key", key, "--out"])
        .arg(out)
        .args(mode_args)
        .output()
        .unwrap();
    (
        run.status.success(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

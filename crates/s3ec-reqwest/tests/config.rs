//! Configuration from the environment and the shared AWS files.
//!
//! These tests change process-wide environment variables: each holds the
//! one lock of this test binary, starts from a clean AWS environment (a
//! temporary HOME and config files, instance metadata disabled) and
//! restores the previous environment when it ends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use s3ec_client::transport::ObjectRequest;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use s3ec_client::transport::{Bytes, ErrorKind, PutRequest, Transport};
use s3ec_reqwest::{Credentials, ReqwestTransport};

static ENV_LOCK: Mutex<()> = Mutex::new(());

/// A clean AWS environment for one test; restores the old one on drop.
struct Env {
    saved: Vec<(OsString, Option<OsString>)>,
    dir: PathBuf,
    _guard: MutexGuard<'static, ()>,
}

const TOUCHED: &[&str] = &["HOME"];

impl Env {
    fn new(name: &str) -> Env {
        let guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<OsString> = std::env::vars_os()
            .map(|(k, _)| k)
            .filter(|k| k.to_string_lossy().starts_with("AWS_"))
            .collect();
        keys.extend(TOUCHED.iter().map(OsString::from));
        for k in [
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_EC2_METADATA_DISABLED",
        ] {
            keys.push(k.into());
        }
        keys.sort();
        keys.dedup();
        let saved = keys
            .iter()
            .map(|k| (k.clone(), std::env::var_os(k)))
            .collect();
        let dir =
            std::env::temp_dir().join(format!("s3ec-reqwest-config-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let env = Env {
            saved,
            dir,
            _guard: guard,
        };
        for (k, _) in &env.saved {
            std::env::remove_var(k);
        }
        std::env::set_var("HOME", &env.dir);
        std::env::set_var("AWS_CONFIG_FILE", env.dir.join("config"));
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", env.dir.join("credentials"));
        // Never reach for an instance metadata service from a test.
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        env
    }

    fn set(&self, k: &str, v: &str) -> &Env {
        std::env::set_var(k, v);
        self
    }

    fn file(&self, name: &str, text: &str) -> &Env {
        std::fs::write(self.dir.join(name), text).unwrap();
        self
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for (k, v) in &self.saved {
            match v {
                Some(v) => std::env::set_var(k, v),
                None => std::env::remove_var(k),
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn creds(t: &ReqwestTransport) -> Credentials {
    t.current_credentials().unwrap()
}

#[test]
fn credentials_region_and_endpoint_from_env_variables() {
    let env = Env::new("vars");
    env.set("AWS_ACCESS_KEY_ID", "AKIDENV")
        .set("AWS_SECRET_ACCESS_KEY", "secret-env")
        .set("AWS_SESSION_TOKEN", "token-env")
        .set("AWS_REGION", "eu-central-1")
        .set("AWS_ENDPOINT_URL", "http://127.0.0.1:4566");
    let t = ReqwestTransport::from_env().unwrap();
    assert_eq!(t.region(), "eu-central-1");
    assert_eq!(t.endpoint_url(), "http://127.0.0.1:4566");
    let c = creds(&t);
    assert_eq!(c.access_key_id(), "AKIDENV");
    assert_eq!(c.secret_access_key(), "secret-env");
    assert_eq!(c.session_token(), Some("token-env"));
    // The secret never shows in Debug output.
    assert!(!format!("{t:?}").contains("secret-env"));
}

#[test]
fn default_region_and_s3_specific_endpoint() {
    let env = Env::new("specific");
    env.set("AWS_ACCESS_KEY_ID", "A")
        .set("AWS_SECRET_ACCESS_KEY", "B")
        .set("AWS_DEFAULT_REGION", "ap-south-1")
        .set("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .set("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2");
    let t = ReqwestTransport::from_env().unwrap();
    assert_eq!(t.region(), "ap-south-1");
    assert_eq!(t.endpoint_url(), "http://127.0.0.1:2");
    // AWS_REGION wins over AWS_DEFAULT_REGION.
    env.set("AWS_REGION", "us-west-2");
    assert_eq!(ReqwestTransport::from_env().unwrap().region(), "us-west-2");
}

#[test]
fn aws_endpoint_without_override() {
    let env = Env::new("aws");
    env.set("AWS_ACCESS_KEY_ID", "A")
        .set("AWS_SECRET_ACCESS_KEY", "B")
        .set("AWS_REGION", "eu-west-3");
    let t = ReqwestTransport::from_env().unwrap();
    assert_eq!(t.endpoint_url(), "https://s3.eu-west-3.amazonaws.com");
    assert_eq!(
        t.object_url("bucket-1", "k").unwrap(),
        "https://bucket-1.s3.eu-west-3.amazonaws.com/k"
    );
}

#[test]
fn profile_files() {
    let env = Env::new("profile");
    env.file(
        "config",
        "[default]\nregion = us-east-2\n\n\
         [profile dev]\nregion = eu-north-1\nendpoint_url = http://127.0.0.1:9100\n\n\
         [profile svc]\nregion = sa-east-1\nservices = local-s3\n\n\
         [services local-s3]\ns3 =\n  endpoint_url = http://127.0.0.1:9200\n",
    )
    .file(
        "credentials",
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s-default\n\n\
         [dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s-dev\n\
         aws_session_token = t-dev\n\n\
         [svc]\naws_access_key_id = AKIDSVC\naws_secret_access_key = s-svc\n",
    );
    // The default profile.
    let t = ReqwestTransport::from_env().unwrap();
    assert_eq!(t.region(), "us-east-2");
    assert_eq!(t.endpoint_url(), "https://s3.us-east-2.amazonaws.com");
    assert_eq!(creds(&t).access_key_id(), "AKIDDEFAULT");

    // AWS_PROFILE.
    env.set("AWS_PROFILE", "dev");
    let t = ReqwestTransport::from_env().unwrap();
    assert_eq!(t.region(), "eu-north-1");
    assert_eq!(t.endpoint_url(), "http://127.0.0.1:9100");
    let c = creds(&t);
    assert_eq!(c.access_key_id(), "AKIDDEV");
    assert_eq!(c.secret_access_key(), "s-dev");
    assert_eq!(c.session_token(), Some("t-dev"));

    // A services section with an S3 endpoint; Builder::profile beats
    // AWS_PROFILE.
    let t = ReqwestTransport::builder()
        .with_env()
        .profile("svc")
        .build()
        .unwrap();
    assert_eq!(t.region(), "sa-east-1");
    assert_eq!(t.endpoint_url(), "http://127.0.0.1:9200");
    assert_eq!(creds(&t).access_key_id(), "AKIDSVC");

    // Environment variables beat the files.
    env.set("AWS_REGION", "ca-central-1")
        .set("AWS_ACCESS_KEY_ID", "AKIDVAR")
        .set("AWS_SECRET_ACCESS_KEY", "s-var");
    let t = ReqwestTransport::from_env().unwrap();
    assert_eq!(t.region(), "ca-central-1");
    assert_eq!(creds(&t).access_key_id(), "AKIDVAR");

    // Explicit settings beat everything.
    let t = ReqwestTransport::builder()
        .with_env()
        .region("me-south-1")
        .endpoint("http://127.0.0.1:9300")
        .credentials(Credentials::new("AKIDX", "s-x", None, None, "test"))
        .build()
        .unwrap();
    assert_eq!(t.region(), "me-south-1");
    assert_eq!(t.endpoint_url(), "http://127.0.0.1:9300");
    assert_eq!(creds(&t).access_key_id(), "AKIDX");
}

#[test]
fn missing_region_or_credentials() {
    let env = Env::new("missing");
    let e = ReqwestTransport::from_env().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Other);
    assert!(e.message.contains("region"), "{e}");

    // A region but no credentials anywhere: building works (the provider
    // chain is lazy), the first use fails clearly.
    env.set("AWS_REGION", "us-east-1");
    let t = ReqwestTransport::from_env().unwrap();
    let e = t.current_credentials().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Other);
    assert!(e.message.contains("credentials"), "{e}");
    let e = t.head_object(&ObjectRequest::new("b", "k")).unwrap_err();
    assert!(e.message.contains("credentials"), "{e}");

    // Without with_env nothing is read from the environment.
    env.set("AWS_ACCESS_KEY_ID", "A")
        .set("AWS_SECRET_ACCESS_KEY", "B");
    assert!(ReqwestTransport::builder().build().is_err());
    assert!(ReqwestTransport::builder()
        .region("us-east-1")
        .build()
        .is_err());

    // A malformed endpoint is refused at build time.
    env.set("AWS_ENDPOINT_URL_S3", "ftp://example");
    assert_eq!(
        ReqwestTransport::from_env().unwrap_err().kind,
        ErrorKind::Other
    );
}

#[test]
fn ca_bundle() {
    let env = Env::new("ca");
    env.set("AWS_ACCESS_KEY_ID", "A")
        .set("AWS_SECRET_ACCESS_KEY", "B")
        .set("AWS_REGION", "us-east-1")
        .file("not-pem", "hello");
    env.set(
        "AWS_CA_BUNDLE",
        env.dir.join("missing.pem").to_str().unwrap(),
    );
    let e = ReqwestTransport::from_env().unwrap_err();
    assert!(e.message.contains("CA bundle"), "{e}");
    env.set("AWS_CA_BUNDLE", env.dir.join("not-pem").to_str().unwrap());
    let e = ReqwestTransport::from_env().unwrap_err();
    assert!(e.message.contains("CA bundle"), "{e}");
    // Only read with with_env.
    ReqwestTransport::builder()
        .region("us-east-1")
        .credentials(Credentials::new("A", "B", None, None, "t"))
        .build()
        .unwrap();
    let system = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
    if system.is_file() {
        env.set("AWS_CA_BUNDLE", system.to_str().unwrap());
        ReqwestTransport::from_env().unwrap();
    }
}

#[test]
fn from_env_against_moto() {
    let moto = common::moto();
    let b = common::bucket("fromenv");
    let env = Env::new("moto");
    env.set("AWS_ACCESS_KEY_ID", s3ec_testkit::ACCESS_KEY_ID)
        .set("AWS_SECRET_ACCESS_KEY", s3ec_testkit::SECRET_ACCESS_KEY)
        .set("AWS_REGION", s3ec_testkit::REGION)
        .set("AWS_ENDPOINT_URL_S3", moto);
    let t = ReqwestTransport::from_env().unwrap();
    t.put_object(
        &PutRequest::new(&b, "k", &[]),
        Bytes::copy_from_slice(b"from env"),
    )
    .unwrap();
    assert_eq!(common::get_all(&t, &b, "k").unwrap(), b"from env");
}

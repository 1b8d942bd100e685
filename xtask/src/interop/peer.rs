//! Running one AWS client through its driver (`interop/peer PEER put|get`,
//! contract in `interop/README.md`).

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use s3ec_keyring::Context;

use super::env::{Env, KeyKind};

/// In a call's `extra`, stands for the run's 128-bit AES key (base64): the
/// key an instruction file is re-encrypted with (`--rotate-aes-key-b64`).
pub(crate) const ROTATION_KEY: &str = "{aes128-b64}";

/// In a call's `extra`, stands for the run's RSA private key file (the
/// keyring a custom-suffix instruction file is re-encrypted with,
/// `--rotate-rsa-pem`).
pub(crate) const ROTATION_RSA: &str = "{rsa-pem}";

/// How long one driver run may take before it is killed.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The AWS clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Peer {
    /// amazon-s3-encryption-client-python 4.0.0.
    Python,
    /// Ruby aws-sdk-s3 1.117.2 (EncryptionV2 and the legacy client).
    Ruby,
    /// aws-sdk-go 1.44.133 s3crypto.
    Go,
    /// amazon-s3-encryption-client-go v4.0.0.
    GoV4,
    /// amazon-s3-encryption-client-java 3.5.0 (the newest 3.x on Maven Central).
    Java3,
    /// amazon-s3-encryption-client-java 4.0.1 (the newest 4.x).
    Java4,
    /// aws-java-sdk-s3 1.12.797: AmazonS3EncryptionClientV2 and the
    /// deprecated AmazonS3EncryptionClient.
    JavaV1,
}

impl Peer {
    /// Every peer.
    pub(crate) const ALL: [Peer; 7] = [
        Peer::Python,
        Peer::Ruby,
        Peer::Go,
        Peer::GoV4,
        Peer::Java3,
        Peer::Java4,
        Peer::JavaV1,
    ];

    /// The driver's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Peer::Python => "python",
            Peer::Ruby => "ruby",
            Peer::Go => "go",
            Peer::GoV4 => "go-v4",
            Peer::Java3 => "java3",
            Peer::Java4 => "java4",
            Peer::JavaV1 => "java-v1",
        }
    }

    /// A Java peer (one long-lived JVM serves its calls).
    pub(crate) fn is_java(self) -> bool {
        matches!(self, Peer::Java3 | Peer::Java4 | Peer::JavaV1)
    }

    /// The `--matdesc` of a get of an object written with `written`: only
    /// java-v1 needs it (its StaticEncryptionMaterialsProvider hands out the
    /// key only for the description it was built with).
    pub(crate) fn get_matdesc(self, written: Option<&Context>) -> Option<&Context> {
        if self == Peer::JavaV1 {
            written
        } else {
            None
        }
    }

    /// The peer takes raw AES and RSA keys (else it is given the KMS key,
    /// so that it answers with its own error).
    pub(crate) fn has_raw_keys(self) -> bool {
        matches!(self, Peer::Ruby) || self.is_java()
    }

    /// Parse a driver name.
    pub(crate) fn parse(s: &str) -> Option<Peer> {
        Peer::ALL.into_iter().find(|p| p.name() == s)
    }

    /// Versions, as the saved vectors' `producer_details` give them.
    pub(crate) fn details(self) -> &'static str {
        match self {
            Peer::Python => {
                "amazon-s3-encryption-client-python 4.0.0 (PyPI; boto3 1.44.8, cryptography 48), \
                 moto 5.2.5 as S3 and KMS"
            }
            Peer::Ruby => {
                "ruby aws-sdk-s3 1.117.2 (aws-sdk-core 3.168.1, aws-sdk-kms 1.24.0, ruby 3.1.2, \
                 Debian), moto 5.2.5 as S3 and KMS"
            }
            Peer::Go => {
                "go aws-sdk-go 1.44.133 s3crypto (go 1.19, Debian golang-github-aws-aws-sdk-go-dev), \
                 moto 5.2.5 as S3 and KMS"
            }
            Peer::GoV4 => {
                "github.com/aws/amazon-s3-encryption-client-go/v4 v4.0.0 (Go module proxy; \
                 aws-sdk-go-v2 1.18.0, service/s3 1.33.1, service/kms 1.21.1), moto 5.2.5 as S3 and KMS"
            }
            Peer::Java3 => {
                "software.amazon.encryption.s3:amazon-s3-encryption-client-java 3.5.0 (Maven Central; \
                 AWS SDK for Java 2.x, Java 17), moto 5.2.5 as S3 and KMS"
            }
            Peer::Java4 => {
                "software.amazon.encryption.s3:amazon-s3-encryption-client-java 4.0.1 (Maven Central; \
                 AWS SDK for Java 2.x, Java 17), moto 5.2.5 as S3 and KMS"
            }
            Peer::JavaV1 => {
                "com.amazonaws:aws-java-sdk-s3 1.12.797 (Maven Central; AmazonS3EncryptionClientV2 \
                 and AmazonS3EncryptionClient, BouncyCastle 1.87, Java 17), moto 5.2.5 as S3 and KMS"
            }
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One driver call.
#[derive(Debug, Clone)]
pub(crate) struct Call<'a> {
    /// Which peer.
    pub(crate) peer: Peer,
    /// `put` or `get`.
    pub(crate) cmd: &'static str,
    /// The driver mode (`v3-kms`, `v2-aesgcm`, ...).
    pub(crate) mode: &'a str,
    /// The S3 key.
    pub(crate) key: &'a str,
    /// `--in` (put) or `--out` (get).
    pub(crate) file: &'a Path,
    /// Which master key to pass.
    pub(crate) kind: KeyKind,
    /// `--context`.
    pub(crate) context: Option<&'a Context>,
    /// `--matdesc`.
    pub(crate) matdesc: Option<&'a Context>,
    /// `--instruction-file` (put).
    pub(crate) instruction_file: bool,
    /// `--multipart` (put).
    pub(crate) multipart: bool,
    /// `--legacy` (get).
    pub(crate) legacy: bool,
    /// Further driver options (`--low-level`, `--range SPEC`, ...).
    pub(crate) extra: &'a [&'a str],
}

/// How a driver run ended.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// The exit code (`None`: killed by a signal or the timeout).
    pub(crate) code: Option<i32>,
    /// Its standard error.
    pub(crate) stderr: String,
}

impl Run {
    /// The peer's message, first line, without the driver's prefix and
    /// with the run's object key replaced by `<key>`.
    pub(crate) fn quoted(&self, key: &str) -> String {
        let line = self
            .stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("(no message)");
        let line = line
            .strip_prefix("peer-error: ")
            .or_else(|| line.strip_prefix("unsupported: "))
            .unwrap_or(line);
        let line = line.replace(&format!("{key}.instruction"), "<key>.instruction");
        line.replace(key, "<key>")
    }
}

fn json(map: &Context) -> String {
    serde_json::to_string(map).unwrap_or_else(|_| "{}".to_string())
}

/// The launcher script.
fn launcher() -> PathBuf {
    crate::root().join("interop").join("peer")
}

/// Run one driver call to completion (or the timeout).
pub(crate) fn run(env: &Env, call: &Call<'_>, log_stem: &str) -> Result<Run, String> {
    let mut cmd = Command::new("bash");
    cmd.arg(launcher())
        .arg(call.peer.name())
        .arg(call.cmd)
        .args([
            "--endpoint",
            &env.endpoint,
            "--region",
            s3ec_testkit::REGION,
        ])
        .args([
            "--bucket",
            &env.bucket,
            "--key",
            call.key,
            "--mode",
            call.mode,
        ])
        .arg(if call.cmd == "put" { "--in" } else { "--out" })
        .arg(call.file);
    match call.kind {
        KeyKind::Kms => {
            cmd.args(["--kms-key-id", &env.kms_key_id]);
        }
        KeyKind::Aes256 | KeyKind::Aes128 => {
            cmd.args(["--aes-key-b64", &env.aes_b64(call.kind)]);
        }
        KeyKind::Rsa => {
            cmd.arg("--rsa-private-pem").arg(&env.rsa_private_file);
        }
    }
    if let Some(c) = call.context {
        cmd.args(["--context", &json(c)]);
    }
    if let Some(m) = call.matdesc {
        cmd.args(["--matdesc", &json(m)]);
    }
    if call.instruction_file {
        cmd.arg("--instruction-file");
    }
    if call.multipart {
        cmd.arg("--multipart");
    }
    if call.legacy {
        cmd.arg("--legacy");
    }
    for a in call.extra {
        if *a == ROTATION_KEY {
            cmd.arg(env.aes_b64(KeyKind::Aes128));
        } else if *a == ROTATION_RSA {
            cmd.arg(&env.rsa_private_file);
        } else {
            cmd.arg(a);
        }
    }
    if let Some(dir) = &env.java_serve_dir {
        cmd.env("S3EC_JAVA_SERVE_DIR", dir);
    }
    let err_path = env.workdir.join(format!("{log_stem}.stderr"));
    let err_file = File::create(&err_path).map_err(|e| format!("{}: {e}", err_path.display()))?;
    cmd.current_dir(crate::root())
        .env("AWS_ACCESS_KEY_ID", s3ec_testkit::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", s3ec_testkit::SECRET_ACCESS_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", launcher().display()))?;
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for the {} driver: {e}", call.peer)),
        }
    };
    let mut stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&err_path);
    if status.is_none() {
        stderr.insert_str(0, &format!("killed after {TIMEOUT:?}\n"));
    }
    Ok(Run {
        code: status.and_then(|s| s.code()),
        stderr,
    })
}

//! The shared ground of an interop run: the moto server, the bucket, the
//! KMS keys, the raw master keys, the plain S3 transport, and the Rust
//! clients and keyrings built over them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use rand::RngCore;
use s3ec_client::transport::Transport;
use s3ec_client::Client;
use s3ec_core::CommitmentPolicy;
use s3ec_keyring::{BoxFuture, Context, Keyring, LegacyOptions};
use s3ec_kms::aws_sdk_kms;
use s3ec_kms::{AwsKms, DecryptedDataKey, GeneratedDataKey, KmsClient, KmsError, KmsKeyring};
use s3ec_reqwest::ReqwestTransport;
use s3ec_testkit::MotoServer;

/// The kind of master key a cell uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// The run's KMS key (moto).
    Kms,
    /// A random 256-bit AES key.
    Aes256,
    /// A random 128-bit AES key.
    Aes128,
    /// A random 2048-bit RSA key pair.
    Rsa,
}

/// How the Rust client reads: commitment policy and legacy switches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadPolicy {
    /// The commitment policy.
    pub(crate) commitment: CommitmentPolicy,
    /// The legacy switches.
    pub(crate) legacy: LegacyOptions,
}

impl ReadPolicy {
    /// Only V3 (the client's default).
    pub(crate) const V3_ONLY: ReadPolicy = ReadPolicy {
        commitment: CommitmentPolicy::RequireEncryptRequireDecrypt,
        legacy: LegacyOptions {
            wrapping_algorithms: false,
            unauthenticated_modes: false,
        },
    };
    /// V2 and V3, no legacy switch.
    pub(crate) const ALLOW_V2: ReadPolicy = ReadPolicy {
        commitment: CommitmentPolicy::RequireEncryptAllowDecrypt,
        legacy: LegacyOptions {
            wrapping_algorithms: false,
            unauthenticated_modes: false,
        },
    };
    /// Legacy wrapping algorithms (`kms`), GCM content only.
    pub(crate) const LEGACY_WRAP: ReadPolicy = ReadPolicy {
        commitment: CommitmentPolicy::RequireEncryptAllowDecrypt,
        legacy: LegacyOptions {
            wrapping_algorithms: true,
            unauthenticated_modes: false,
        },
    };
    /// Everything: legacy wraps and CBC content.
    pub(crate) const LEGACY_ALL: ReadPolicy = ReadPolicy {
        commitment: CommitmentPolicy::RequireEncryptAllowDecrypt,
        legacy: LegacyOptions::ALL,
    };

    /// Ranged gets: V2 and V3 allowed, every legacy switch on (a range
    /// cannot be authenticated, so s3ec, like Java, asks for the
    /// unauthenticated-modes switch; legacy wraps for the V1 client's
    /// AESWrap objects).
    pub(crate) const RANGED: ReadPolicy = ReadPolicy {
        commitment: CommitmentPolicy::RequireEncryptAllowDecrypt,
        legacy: LegacyOptions::ALL,
    };

    /// A short label for the matrix.
    pub(crate) fn label(&self) -> &'static str {
        match (self.commitment, self.legacy) {
            (CommitmentPolicy::RequireEncryptRequireDecrypt, l)
                if l == LegacyOptions::default() =>
            {
                "s3ec (V3 only)"
            }
            (_, l) if l == LegacyOptions::default() => "s3ec (V2+V3)",
            (_, l) if l == LegacyOptions::ALL => "s3ec (legacy wraps + CBC)",
            (_, l) if l.wrapping_algorithms => "s3ec (legacy wraps)",
            _ => "s3ec (legacy CBC)",
        }
    }
}

/// One KMS `Decrypt` that a recording client saw succeed.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// The encrypted data key.
    pub(crate) blob: Vec<u8>,
    /// The encryption context sent with it.
    pub(crate) context: Context,
    /// The plaintext data key KMS returned.
    pub(crate) data_key: Vec<u8>,
}

/// A KMS client that passes every call to moto and records successful
/// `Decrypt` calls (for the saved vectors, which stand in for KMS with the
/// exact blob, context and data key).
#[derive(Debug)]
pub(crate) struct RecordingKms {
    inner: AwsKms,
    calls: Mutex<Vec<Recorded>>,
}

impl RecordingKms {
    /// The recorded calls so far.
    pub(crate) fn calls(&self) -> Vec<Recorded> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl KmsClient for RecordingKms {
    fn generate_data_key<'a>(
        &'a self,
        key_id: &'a str,
        context: &'a Context,
    ) -> BoxFuture<'a, Result<GeneratedDataKey, KmsError>> {
        self.inner.generate_data_key(key_id, context)
    }

    fn decrypt<'a>(
        &'a self,
        ciphertext: &'a [u8],
        context: &'a Context,
        key_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<DecryptedDataKey, KmsError>> {
        Box::pin(async move {
            let result = self.inner.decrypt(ciphertext, context, key_id).await;
            if let Ok(d) = &result {
                if let Ok(mut calls) = self.calls.lock() {
                    calls.push(Recorded {
                        blob: ciphertext.to_vec(),
                        context: context.clone(),
                        data_key: d.data_key.as_bytes().to_vec(),
                    });
                }
            }
            result
        })
    }
}

/// A keyring, and the recorder of its KMS calls (KMS keyrings).
pub(crate) type RingAndRecorder = (Arc<dyn Keyring>, Option<Arc<RecordingKms>>);

/// Everything the cells share.
pub(crate) struct Env {
    /// The moto server (killed when this is dropped).
    _moto: MotoServer,
    /// Its endpoint URL.
    pub(crate) endpoint: String,
    /// The bucket every object goes to.
    pub(crate) bucket: String,
    /// The KMS key the peers and the client use (key id, as passed to the peers).
    pub(crate) kms_key_id: String,
    /// Its ARN.
    pub(crate) kms_key_arn: String,
    /// A second KMS key (for "context changed" tampers of legacy `kms` objects).
    pub(crate) kms_other_key_id: String,
    /// The SDK-backed KMS client.
    kms: AwsKms,
    /// Raw AES keys.
    pub(crate) aes256: [u8; 32],
    pub(crate) aes128: [u8; 16],
    /// RSA key pair, PEM, and the private key's file (for the Ruby driver).
    pub(crate) rsa_private_pem: String,
    pub(crate) rsa_public_pem: String,
    pub(crate) rsa_private_file: PathBuf,
    /// The plain S3 transport (no encryption): raw reads and tampered copies.
    pub(crate) s3: Arc<ReqwestTransport>,
    /// Scratch folder of this run.
    pub(crate) workdir: PathBuf,
    /// Where the Java peers' long-lived JVMs listen (`<peer>.sock`), once
    /// started.
    pub(crate) java_serve_dir: Option<PathBuf>,
}

fn moto_transport(endpoint: &str) -> Result<ReqwestTransport, String> {
    ReqwestTransport::builder()
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
        .build()
        .map_err(|e| format!("cannot build the S3 transport for {endpoint}: {e}"))
}

fn kms_sdk_client(endpoint: &str) -> aws_sdk_kms::Client {
    s3ec_testkit::sdk::kms_client(endpoint)
}

/// Create a symmetric KMS key in moto; (key id, ARN).
fn create_kms_key(client: &aws_sdk_kms::Client, what: &str) -> Result<(String, String), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    let out = rt
        .block_on(client.create_key().description(what).send())
        .map_err(|e| format!("KMS CreateKey in moto failed: {e:?}"))?;
    let meta = out
        .key_metadata
        .ok_or("KMS CreateKey returned no KeyMetadata")?;
    let arn = meta.arn.ok_or("KMS CreateKey returned no Arn")?;
    Ok((meta.key_id, arn))
}

/// A fresh RSA-2048 key pair made by the `openssl` command (always on the
/// machine; Ruby, which made it before, is installed only with the Ruby
/// peer); (private PKCS#1 PEM, public SPKI PEM).
fn rsa_key_pair(dir: &Path) -> Result<(String, String), String> {
    let private = dir.join("rsa-private.pem");
    let public = dir.join("rsa-public.pem");
    let openssl = |args: &[&std::ffi::OsStr]| -> Result<(), String> {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .map_err(|e| format!("cannot run openssl to make an RSA key: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "openssl could not make an RSA key: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    openssl(&[
        "genrsa".as_ref(),
        "-traditional".as_ref(),
        "-out".as_ref(),
        private.as_os_str(),
        "2048".as_ref(),
    ])?;
    openssl(&[
        "rsa".as_ref(),
        "-in".as_ref(),
        private.as_os_str(),
        "-pubout".as_ref(),
        "-out".as_ref(),
        public.as_os_str(),
    ])?;
    let read = |p: &Path| fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    Ok((read(&private)?, read(&public)?))
}

impl Env {
    /// Start moto (or use `S3EC_MOTO_ENDPOINT`), make the bucket, two KMS
    /// keys, AES keys and an RSA key pair; `workdir` is created empty.
    pub(crate) fn start(workdir: PathBuf) -> Result<Env, String> {
        if workdir.exists() {
            fs::remove_dir_all(&workdir).map_err(|e| format!("{}: {e}", workdir.display()))?;
        }
        fs::create_dir_all(&workdir).map_err(|e| format!("{}: {e}", workdir.display()))?;
        let moto = match std::env::var("S3EC_MOTO_ENDPOINT") {
            Ok(url) if !url.is_empty() => MotoServer::external(&url),
            _ => MotoServer::start().map_err(|e| format!("cannot start moto: {e}"))?,
        };
        let endpoint = moto.endpoint().to_string();
        eprintln!("interop: moto at {endpoint}");
        let bucket = format!("s3ec-interop-{}", std::process::id());
        s3ec_testkit::create_bucket(&endpoint, &bucket)?;
        let sdk = kms_sdk_client(&endpoint);
        let (kms_key_id, kms_key_arn) = create_kms_key(&sdk, "s3ec interop")?;
        let (kms_other_key_id, _) = create_kms_key(&sdk, "s3ec interop (other)")?;
        let mut aes256 = [0u8; 32];
        let mut aes128 = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut aes256);
        rand::rngs::OsRng.fill_bytes(&mut aes128);
        let (rsa_private_pem, rsa_public_pem) = rsa_key_pair(&workdir)?;
        let s3 = Arc::new(moto_transport(&endpoint)?);
        Ok(Env {
            _moto: moto,
            endpoint,
            bucket,
            kms_key_id,
            kms_key_arn,
            kms_other_key_id,
            kms: AwsKms::new(sdk),
            aes256,
            aes128,
            rsa_private_file: workdir.join("rsa-private.pem"),
            rsa_private_pem,
            rsa_public_pem,
            s3,
            workdir,
            java_serve_dir: None,
        })
    }

    /// A keyring for `kind`; raw-key keyrings carry `matdesc` as their
    /// material description. KMS keyrings record their `Decrypt` calls.
    pub(crate) fn keyring(
        &self,
        kind: KeyKind,
        matdesc: Option<&Context>,
    ) -> Result<RingAndRecorder, String> {
        let md = matdesc.cloned().unwrap_or_default();
        Ok(match kind {
            KeyKind::Kms => {
                let rec = Arc::new(RecordingKms {
                    inner: self.kms.clone(),
                    calls: Mutex::new(Vec::new()),
                });
                let ring = KmsKeyring::new(rec.clone(), self.kms_key_id.clone())
                    .map_err(|e| format!("KMS keyring: {e}"))?;
                (Arc::new(ring), Some(rec))
            }
            KeyKind::Aes256 | KeyKind::Aes128 => {
                let key: &[u8] = if kind == KeyKind::Aes256 {
                    &self.aes256
                } else {
                    &self.aes128
                };
                let ring = s3ec_local::AesKeyring::new(key)
                    .map_err(|e| format!("AES keyring: {e}"))?
                    .with_material_description(md);
                (Arc::new(ring), None)
            }
            KeyKind::Rsa => {
                let ring = s3ec_local::RsaKeyring::from_pem(&self.rsa_private_pem)
                    .map_err(|e| format!("RSA keyring: {e}"))?
                    .with_material_description(md);
                (Arc::new(ring), None)
            }
        })
    }

    /// A blocking client over the run's transport with `keyring`.
    pub(crate) fn client(
        &self,
        keyring: Arc<dyn Keyring>,
        commitment: CommitmentPolicy,
        legacy: LegacyOptions,
    ) -> Result<Client, String> {
        let transport: Arc<dyn Transport> = self.s3.clone();
        Client::builder_shared(transport, keyring)
            .commitment_policy(commitment)
            .legacy(legacy)
            .part_size(s3ec_client::config::MIN_PART_SIZE)
            .build()
            .map_err(|e| format!("cannot build the client: {e}"))
    }

    /// The raw key material of `kind`, base64 (for the drivers).
    pub(crate) fn aes_b64(&self, kind: KeyKind) -> String {
        use base64ct::{Base64, Encoding};
        match kind {
            KeyKind::Aes128 => Base64::encode_string(&self.aes128),
            _ => Base64::encode_string(&self.aes256),
        }
    }
}

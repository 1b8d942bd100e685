//! Key options, decrypt policy options, and the client they make.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use clap::{Args, ValueEnum};
use s3ec_client::transport::Transport;
use s3ec_client::Client;
use s3ec_core::CommitmentPolicy;
use s3ec_keyring::{Context, Keyring, Keyrings, LegacyOptions};
use zeroize::Zeroizing;

use crate::error::{CliError, Exit, Result};
use crate::store::StoreOptions;

/// The master key(s). Several may be given to decrypt (each is tried);
/// exactly one encrypts.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct KeyArgs {
    /// AES-256 master key: a file holding the key in base64 on one line (as
    /// `s3ec keygen aes` or `openssl rand -base64 32` write it)
    #[arg(long, value_name = "FILE")]
    pub(crate) aes_key_file: Option<PathBuf>,
    /// RSA master key: a PEM file (PKCS#8 or PKCS#1 private key; a public
    /// key is enough to encrypt)
    #[arg(long, value_name = "FILE")]
    pub(crate) rsa_key_file: Option<PathBuf>,
    /// AWS KMS key (key id, key ARN, alias name or alias ARN)
    #[arg(long, value_name = "KEY")]
    pub(crate) kms_key_id: Option<String>,
    /// Decrypt with whichever KMS key an object names, if your credentials
    /// may use it (cannot encrypt)
    #[arg(long)]
    pub(crate) kms_discovery: bool,
    /// Material description stored with objects encrypted under an AES or
    /// RSA key (repeatable)
    #[arg(long, value_name = "K=V", value_parser = parse_kv)]
    pub(crate) matdesc: Vec<(String, String)>,
    /// KMS encryption context: bound into new objects, and required of the
    /// objects read (repeatable)
    #[arg(long, value_name = "K=V", value_parser = parse_kv)]
    pub(crate) context: Vec<(String, String)>,
}

/// The commitment policies, named as in the library.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum Commitment {
    /// Write V3 (key-committing) objects, read only key-committing ones
    /// (the default)
    #[default]
    RequireEncryptRequireDecrypt,
    /// Write V3 objects, read V1/V2 ones too (migrations)
    RequireEncryptAllowDecrypt,
    /// Write V2 objects (for readers that do not know V3), read everything
    ForbidEncryptAllowDecrypt,
}

impl Commitment {
    pub(crate) fn policy(self) -> CommitmentPolicy {
        match self {
            Commitment::RequireEncryptRequireDecrypt => {
                CommitmentPolicy::RequireEncryptRequireDecrypt
            }
            Commitment::RequireEncryptAllowDecrypt => CommitmentPolicy::RequireEncryptAllowDecrypt,
            Commitment::ForbidEncryptAllowDecrypt => CommitmentPolicy::ForbidEncryptAllowDecrypt,
        }
    }
}

/// How objects are read and written.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct PolicyArgs {
    /// Key commitment policy
    #[arg(long, value_enum, default_value_t)]
    pub(crate) commitment_policy: Commitment,
    /// Allow unwrapping with legacy wrapping algorithms (kms, AESWrap,
    /// RSA-OAEP-SHA256, V1 AES and RSA)
    #[arg(long)]
    pub(crate) legacy_wrapping_algorithms: bool,
    /// Allow legacy unauthenticated content (V1 AES-CBC objects)
    #[arg(long)]
    pub(crate) legacy_unauthenticated_modes: bool,
    /// Store the envelope of new objects in an instruction file
    /// (KEY.instruction) instead of the object metadata
    #[arg(long)]
    pub(crate) instruction_file: bool,
    /// Multipart part size in MiB (5 to 5120)
    #[arg(long, value_name = "MIB", default_value_t = 8)]
    pub(crate) part_size_mib: u64,
}

pub(crate) use crate::parse::parse_kv;

impl KeyArgs {
    pub(crate) fn count(&self) -> usize {
        usize::from(self.aes_key_file.is_some())
            + usize::from(self.rsa_key_file.is_some())
            + usize::from(self.kms_key_id.is_some())
            + usize::from(self.kms_discovery)
    }

    pub(crate) fn context(&self) -> Context {
        self.context.iter().cloned().collect()
    }

    fn matdesc(&self) -> Context {
        self.matdesc.iter().cloned().collect()
    }

    /// The keyring: for `encrypt`, exactly one key that can encrypt.
    pub(crate) fn keyring(&self, store: &StoreOptions, encrypt: bool) -> Result<Arc<dyn Keyring>> {
        let n = self.count();
        if n == 0 {
            return Err(CliError::usage(
                "no key: pass --aes-key-file, --rsa-key-file, --kms-key-id or --kms-discovery",
            ));
        }
        if encrypt && n > 1 {
            return Err(CliError::usage(
                "encrypting needs exactly one of --aes-key-file, --rsa-key-file, --kms-key-id",
            ));
        }
        if encrypt && self.kms_discovery {
            return Err(CliError::usage(
                "--kms-discovery can only decrypt; pass --kms-key-id to encrypt",
            ));
        }
        let mut rings: Vec<Arc<dyn Keyring>> = Vec::new();
        if let Some(p) = &self.aes_key_file {
            rings.push(Arc::new(
                aes_keyring(p)?.with_material_description(self.matdesc()),
            ));
        }
        if let Some(p) = &self.rsa_key_file {
            rings.push(Arc::new(
                rsa_keyring(p)?.with_material_description(self.matdesc()),
            ));
        }
        if let Some(id) = &self.kms_key_id {
            let ring = s3ec_kms::KmsKeyring::new(kms(store)?, id.clone())
                .map_err(|e| CliError::from(e).context("--kms-key-id"))?;
            rings.push(Arc::new(ring));
        }
        if self.kms_discovery {
            rings.push(Arc::new(s3ec_kms::KmsKeyring::discovery(kms(store)?)));
        }
        if rings.len() == 1 {
            return rings.pop().ok_or_else(|| CliError::usage("no key"));
        }
        let mut all = Keyrings::new();
        for r in rings {
            all = all.with(Shared(r));
        }
        Ok(Arc::new(all))
    }
}

/// A shared keyring as a `Keyring` value (for `Keyrings::with`).
#[derive(Debug)]
struct Shared(Arc<dyn Keyring>);

impl Keyring for Shared {
    fn on_encrypt(
        &self,
        req: &s3ec_keyring::EncryptRequest<'_>,
    ) -> Result<s3ec_keyring::EncryptionMaterials, s3ec_keyring::KeyringError> {
        self.0.on_encrypt(req)
    }

    fn on_decrypt(
        &self,
        req: &s3ec_keyring::DecryptRequest<'_>,
    ) -> Result<Option<s3ec_keyring::DataKey>, s3ec_keyring::KeyringError> {
        self.0.on_decrypt(req)
    }
}

fn read_key_file(path: &Path, what: &str) -> Result<Zeroizing<String>> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|e| CliError::from(e).context(format!("reading the {what} {}", path.display())))
}

/// An AES keyring from a base64 key file.
pub(crate) fn aes_keyring(path: &Path) -> Result<s3ec_local::AesKeyring> {
    let text = read_key_file(path, "AES key file")?;
    let key = crate::parse::aes_key_text(&text).ok_or_else(|| {
        CliError::usage(format!(
            "{}: not a base64 AES-256 key (make one with `s3ec keygen aes --out FILE`)",
            path.display()
        ))
    })?;
    s3ec_local::AesKeyring::new(&key)
        .map_err(|e| CliError::from(e).context(path.display().to_string()))
}

/// An RSA keyring from a PEM file (private or public key).
pub(crate) fn rsa_keyring(path: &Path) -> Result<s3ec_local::RsaKeyring> {
    let text = read_key_file(path, "RSA key file")?;
    s3ec_local::RsaKeyring::from_pem(&text)
        .map_err(|e| CliError::from(e).context(path.display().to_string()))
}

/// The runtime that loads the AWS configuration for KMS (kept for the
/// life of the process: the SDK client may hold connections made on it).
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .ok()
    })
    .as_ref()
    .ok_or_else(|| CliError::new(Exit::Other, "cannot start a runtime for KMS"))
}

/// A KMS client from the AWS configuration, with `--profile` and
/// `--region` (the S3 `--endpoint-url` is not used for KMS; set
/// `AWS_ENDPOINT_URL_KMS` or `AWS_ENDPOINT_URL` for another endpoint).
fn kms(store: &StoreOptions) -> Result<s3ec_kms::AwsKms> {
    use s3ec_kms::aws_config;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(p) = &store.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &store.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    let conf = runtime()?.block_on(loader.load());
    if conf.region().is_none() {
        return Err(CliError::usage(
            "no AWS region for KMS: pass --region or set AWS_REGION",
        ));
    }
    Ok(s3ec_kms::AwsKms::new(s3ec_kms::aws_sdk_kms::Client::new(
        &conf,
    )))
}

impl PolicyArgs {
    pub(crate) fn legacy(&self) -> LegacyOptions {
        LegacyOptions {
            wrapping_algorithms: self.legacy_wrapping_algorithms,
            unauthenticated_modes: self.legacy_unauthenticated_modes,
        }
    }

    /// A client over `transport` with `keyring` and these settings.
    pub(crate) fn client(
        &self,
        transport: Arc<dyn Transport>,
        keyring: Arc<dyn Keyring>,
    ) -> Result<Client> {
        Client::builder_shared(transport, keyring)
            .commitment_policy(self.commitment_policy.policy())
            .legacy(self.legacy())
            .instruction_file_puts(self.instruction_file)
            .part_size(self.part_size_mib.saturating_mul(1 << 20))
            .build()
            .map_err(CliError::from)
    }
}

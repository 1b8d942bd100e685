//! # s3ec-keyring
//!
//! The keyring abstraction of the s3ec Amazon S3 Encryption Client: what a
//! master-key provider must do to wrap a fresh data key on encrypt and unwrap
//! it on decrypt, the materials that pass between the client and a keyring,
//! and the binding rules every keyring shares (reserved context keys, the
//! content cipher bound into the wrap, legacy gating).
//!
//! Keyrings live in their own crates: `s3ec-local` (raw AES and RSA keys) and
//! `s3ec-kms` (AWS KMS). [`Keyrings`] tries several in turn on decrypt, for a
//! key rotation.
//!
//! ```
//! use s3ec_keyring::{Context, DecryptRequest, LegacyOptions};
//! use s3ec_core::{Suite, WrapAlg};
//!
//! let stored = Context::from([("aws:x-amz-cek-alg".to_string(), "115".to_string())]);
//! let req = DecryptRequest {
//!     suite: Suite::AesGcmCommitting,
//!     wrap: WrapAlg::KmsContext,
//!     encrypted_key: b"blob",
//!     cek_alg: "115",
//!     stored_map: &stored,
//!     expected_context: None,
//!     legacy: LegacyOptions::default(),
//! };
//! // The stored context binds the content cipher and matches the (empty)
//! // expected context.
//! assert!(s3ec_keyring::check_kms_decrypt_context(&req).is_ok());
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use s3ec_core::matdesc::{KMS_CMK_ID, RESERVED_CEK_ALG};
pub use s3ec_core::{DataKey, Suite, WrapAlg};

/// A material description or encryption context: a flat map of strings.
pub type Context = BTreeMap<String, String>;

/// The two legacy switches of the spec (`client.md`), both off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
// spec: client.md#enable-legacy-wrapping-algorithms/1-2 client.md#enable-legacy-unauthenticated-modes/1-2 (two switches, both off by default)
pub struct LegacyOptions {
    /// Allow unwrapping with legacy wrapping algorithms (`kms`, `AESWrap`,
    /// `RSA/ECB/OAEPWithSHA-256AndMGF1Padding`, V1 `AES` and `RSA`).
    pub wrapping_algorithms: bool,
    /// Allow legacy unauthenticated content modes (CBC content, ranged gets).
    pub unauthenticated_modes: bool,
}

impl LegacyOptions {
    /// Both switches on: reads everything any client ever wrote.
    pub const ALL: LegacyOptions = LegacyOptions {
        wrapping_algorithms: true,
        unauthenticated_modes: true,
    };
}

/// What the client asks of a keyring when it encrypts an object.
#[derive(Debug, Clone, Copy)]
pub struct EncryptRequest<'a> {
    /// The content suite the data key will be used with. Its
    /// [`Suite::cek_alg`] string is bound into the wrap.
    pub suite: Suite,
    /// The caller's encryption context for this object (KMS keyrings). Raw
    /// keyrings store their own material description and refuse a
    /// non-empty per-request context.
    pub context: &'a Context,
}

/// A wrapped data key and what must be stored beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedDataKey {
    /// The wrapping algorithm used.
    pub wrap: WrapAlg,
    /// The wrapped key bytes (stored base64 in `x-amz-key-v2` / `x-amz-3`).
    pub ciphertext: Vec<u8>,
    /// The material description or encryption context to store
    /// (`x-amz-matdesc`, `x-amz-m` or `x-amz-t`).
    pub stored_map: Context,
}

/// A fresh data key and its wrapped form.
#[derive(Debug)]
pub struct EncryptionMaterials {
    /// The plaintext data key (zeroized on drop).
    pub data_key: DataKey,
    /// The wrapped data key and its stored map.
    pub encrypted: EncryptedDataKey,
}

/// What the client asks of a keyring when it decrypts an object.
#[derive(Debug, Clone, Copy)]
pub struct DecryptRequest<'a> {
    /// The object's content suite, resolved from its metadata.
    pub suite: Suite,
    /// The wrapping algorithm named by the object's metadata.
    pub wrap: WrapAlg,
    /// The wrapped data key.
    pub encrypted_key: &'a [u8],
    /// The content cipher exactly as stored (`x-amz-cek-alg`, or `115` for
    /// V3): the wraps that bind it compare against this string (erratum E3).
    pub cek_alg: &'a str,
    /// The stored material description or encryption context, decoded.
    pub stored_map: &'a Context,
    /// The encryption context the caller expects (KMS), if any.
    pub expected_context: Option<&'a Context>,
    /// Which legacy modes the caller enabled.
    pub legacy: LegacyOptions,
}

/// Why a keyring failed.
#[non_exhaustive]
#[derive(Debug)]
pub enum KeyringError {
    /// The object uses a legacy wrapping algorithm and the option to read
    /// legacy wraps (`LegacyOptions::wrapping_algorithms`) is off.
    LegacyWrappingDisabled {
        /// The wrapping algorithm found.
        wrap: WrapAlg,
    },
    /// This keyring cannot produce or read this wrapping algorithm.
    UnsupportedWrap {
        /// The wrapping algorithm asked for.
        wrap: WrapAlg,
    },
    /// The caller's encryption context uses a key reserved by the client.
    ReservedContextKey {
        /// The reserved key.
        key: String,
    },
    /// The stored encryption context does not match the one the caller
    /// expects.
    ContextMismatch {
        /// Expected keys the stored context lacks.
        missing: Vec<String>,
        /// Stored keys that were not expected.
        unexpected: Vec<String>,
        /// Keys in both with other values.
        differing: Vec<String>,
        /// Whether the caller gave an expected context at all (none means
        /// "expect the empty context" for `kms+context` objects).
        expected_given: bool,
    },
    /// The content cipher bound into the wrap (KMS context
    /// `aws:x-amz-cek-alg`, AES/GCM AAD, RSA pseudo key) does not match the
    /// stored content cipher: the metadata was tampered with.
    CekAlgMismatch,
    /// A legacy `kms` object whose stored context holds
    /// `aws:x-amz-cek-alg`: a `kms+context` object relabelled to skip the
    /// context check (erratum E1).
    RelabelledKmsContext,
    /// A raw-key keyring was given a per-request encryption context; raw
    /// keyrings store their own material description.
    ContextNotSupported,
    /// The wrapped data key did not unwrap under this keyring's key (wrong
    /// key or tampered blob).
    UnwrapFailed,
    /// The master key material is unusable (bad PEM, wrong length, ...).
    InvalidKey {
        /// What is wrong, with no secret in it.
        reason: String,
    },
    /// The key service (KMS) failed.
    Service {
        /// The operation that failed (`GenerateDataKey`, `Decrypt`).
        operation: &'static str,
        /// The underlying error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No configured keyring could unwrap the data key.
    NoMatchingKeyring {
        /// The wrapping algorithm of the object.
        wrap: WrapAlg,
        /// The material description stored with the object (raw-key
        /// keyrings: a keyring whose own description differs takes a
        /// failed unwrap for "not my key"; an equal one reports
        /// [`KeyringError::UnwrapFailed`]).
        material_description: Context,
    },
    /// An error from the core (format, randomness, ...).
    Core(s3ec_core::Error),
    /// This keyring cannot wrap an existing data key (a key rotation needs
    /// [`Keyring::wrap_data_key`]).
    RewrapUnsupported,
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::LegacyWrappingDisabled { wrap } => write!(
                f,
                "the object's data key is wrapped with the legacy algorithm {:?}; \
                 enable legacy wrapping algorithms to read it",
                wrap.name()
            ),
            KeyringError::UnsupportedWrap { wrap } => {
                write!(
                    f,
                    "this keyring does not support the {:?} wrap",
                    wrap.name()
                )
            }
            KeyringError::ReservedContextKey { key } => {
                write!(f, "encryption context key {key:?} is reserved")
            }
            KeyringError::ContextMismatch {
                missing,
                unexpected,
                differing,
                expected_given,
            } => {
                f.write_str(
                    "the stored encryption context does not match the expected encryption context",
                )?;
                let mut sep = ":";
                for (what, keys) in [
                    ("missing keys", missing),
                    ("unexpected keys", unexpected),
                    ("keys with other values", differing),
                ] {
                    if !keys.is_empty() {
                        write!(f, "{sep} {what} {keys:?}")?;
                        sep = ";";
                    }
                }
                if !expected_given {
                    f.write_str(
                        " (no expected context was given, which means the empty context: \
                         pass the context the object was written with)",
                    )?;
                }
                Ok(())
            }
            KeyringError::CekAlgMismatch => f.write_str(
                "the content cipher bound into the wrapped key does not match the stored one",
            ),
            KeyringError::RelabelledKmsContext => f.write_str(
                "a legacy kms object carries aws:x-amz-cek-alg in its context: \
                 a kms+context object relabelled as kms",
            ),
            KeyringError::ContextNotSupported => f.write_str(
                "raw-key keyrings take no per-request encryption context; \
                 set a material description on the keyring",
            ),
            KeyringError::UnwrapFailed => f.write_str("the data key could not be unwrapped"),
            KeyringError::InvalidKey { reason } => write!(f, "invalid master key: {reason}"),
            KeyringError::Service { operation, source } => {
                write!(f, "key service {operation} failed: {source}")
            }
            KeyringError::NoMatchingKeyring {
                wrap,
                material_description,
            } => {
                write!(
                    f,
                    "no configured keyring can unwrap this {:?}-wrapped data key",
                    wrap.name()
                )?;
                if !matches!(wrap, WrapAlg::Kms | WrapAlg::KmsContext) {
                    write!(
                        f,
                        " (stored material description {material_description:?}: a wrong key, \
                         or a keyring whose material description differs)"
                    )?;
                }
                Ok(())
            }
            KeyringError::Core(e) => write!(f, "{e}"),
            KeyringError::RewrapUnsupported => {
                f.write_str("this keyring cannot wrap an existing data key (key rotation)")
            }
        }
    }
}

impl std::error::Error for KeyringError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeyringError::Service { source, .. } => Some(source.as_ref()),
            KeyringError::Core(e) => Some(e),
            _ => None,
        }
    }
}

impl From<s3ec_core::Error> for KeyringError {
    fn from(e: s3ec_core::Error) -> Self {
        match e {
            s3ec_core::Error::Authentication => KeyringError::UnwrapFailed,
            e => KeyringError::Core(e),
        }
    }
}

/// A data key a keyring unwrapped, and the master key that unwrapped it when
/// the keyring can name it (a KMS keyring: the key ARN KMS answered with;
/// matters most in discovery mode, where the object chose the key).
#[non_exhaustive]
#[derive(Debug)]
pub struct UnwrappedKey {
    /// The data key (zeroized on drop).
    pub data_key: DataKey,
    /// The master key that unwrapped it, if the keyring knows.
    pub key_id: Option<String>,
}

impl UnwrappedKey {
    /// A data key with no master key named.
    pub fn new(data_key: DataKey) -> UnwrappedKey {
        UnwrappedKey {
            data_key,
            key_id: None,
        }
    }

    /// Name the master key that unwrapped it.
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> UnwrappedKey {
        self.key_id = Some(key_id.into());
        self
    }
}

/// A master-key provider (blocking).
///
/// On encrypt it makes a fresh data key per object from the OS RNG (or has
/// the key service make one) and wraps it. On decrypt it returns
/// `Ok(None)` when the wrapped key is not its own (another keyring may try),
/// `Ok(Some(key))` when it unwrapped it, and `Err` when the key is its own
/// and unwrapping failed or a binding rule was broken.
pub trait Keyring: Send + Sync + fmt::Debug {
    /// Make and wrap a fresh data key.
    fn on_encrypt(&self, req: &EncryptRequest<'_>) -> Result<EncryptionMaterials, KeyringError>;
    /// Unwrap a data key, or say it is not this keyring's.
    fn on_decrypt(&self, req: &DecryptRequest<'_>) -> Result<Option<DataKey>, KeyringError>;
    /// Wrap an existing data key (a key rotation: the data key of an
    /// object, unwrapped by the old keyring, wrapped by this one). The
    /// default refuses ([`KeyringError::RewrapUnsupported`]).
    fn wrap_data_key(
        &self,
        req: &EncryptRequest<'_>,
        data_key: &DataKey,
    ) -> Result<EncryptedDataKey, KeyringError> {
        let _ = (req, data_key);
        Err(KeyringError::RewrapUnsupported)
    }
    /// [`Keyring::on_decrypt`], also naming the master key that unwrapped
    /// the data key where the keyring knows it (the clients call this one).
    /// The default names none.
    fn on_decrypt_reporting(
        &self,
        req: &DecryptRequest<'_>,
    ) -> Result<Option<UnwrappedKey>, KeyringError> {
        Ok(self.on_decrypt(req)?.map(UnwrappedKey::new))
    }
}

/// A boxed future, as the async keyring methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The async twin of [`Keyring`], for keyrings that call a network service.
pub trait AsyncKeyring: Send + Sync + fmt::Debug {
    /// Make and wrap a fresh data key.
    fn on_encrypt<'a>(
        &'a self,
        req: &'a EncryptRequest<'a>,
    ) -> BoxFuture<'a, Result<EncryptionMaterials, KeyringError>>;
    /// Unwrap a data key, or say it is not this keyring's.
    fn on_decrypt<'a>(
        &'a self,
        req: &'a DecryptRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<DataKey>, KeyringError>>;
    /// Wrap an existing data key (see [`Keyring::wrap_data_key`]). The
    /// default refuses ([`KeyringError::RewrapUnsupported`]).
    fn wrap_data_key<'a>(
        &'a self,
        req: &'a EncryptRequest<'a>,
        data_key: &'a DataKey,
    ) -> BoxFuture<'a, Result<EncryptedDataKey, KeyringError>> {
        let _ = (req, data_key);
        Box::pin(std::future::ready(Err(KeyringError::RewrapUnsupported)))
    }
    /// [`AsyncKeyring::on_decrypt`], also naming the master key that
    /// unwrapped the data key where the keyring knows it (the clients call
    /// this one). The default names none.
    fn on_decrypt_reporting<'a>(
        &'a self,
        req: &'a DecryptRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<UnwrappedKey>, KeyringError>> {
        Box::pin(async move { Ok(self.on_decrypt(req).await?.map(UnwrappedKey::new)) })
    }
}

/// Use a local (non-blocking in practice) keyring where an async one is
/// expected.
#[derive(Debug, Clone)]
pub struct Local<K>(pub K);

impl<K: Keyring> AsyncKeyring for Local<K> {
    fn on_encrypt<'a>(
        &'a self,
        req: &'a EncryptRequest<'a>,
    ) -> BoxFuture<'a, Result<EncryptionMaterials, KeyringError>> {
        Box::pin(std::future::ready(self.0.on_encrypt(req)))
    }
    fn on_decrypt<'a>(
        &'a self,
        req: &'a DecryptRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<DataKey>, KeyringError>> {
        Box::pin(std::future::ready(self.0.on_decrypt(req)))
    }
    fn wrap_data_key<'a>(
        &'a self,
        req: &'a EncryptRequest<'a>,
        data_key: &'a DataKey,
    ) -> BoxFuture<'a, Result<EncryptedDataKey, KeyringError>> {
        Box::pin(std::future::ready(self.0.wrap_data_key(req, data_key)))
    }
    fn on_decrypt_reporting<'a>(
        &'a self,
        req: &'a DecryptRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<UnwrappedKey>, KeyringError>> {
        Box::pin(std::future::ready(self.0.on_decrypt_reporting(req)))
    }
}

/// `Keyring` for a pointer to a keyring (`Arc`, `Box`, `&`): each call
/// goes to the keyring pointed at.
macro_rules! forward_keyring {
    ($($ptr:ty),*) => {$(
        impl<K: Keyring + ?Sized> Keyring for $ptr {
            fn on_encrypt(&self, req: &EncryptRequest<'_>) -> Result<EncryptionMaterials, KeyringError> {
                (**self).on_encrypt(req)
            }
            fn on_decrypt(&self, req: &DecryptRequest<'_>) -> Result<Option<DataKey>, KeyringError> {
                (**self).on_decrypt(req)
            }
            fn wrap_data_key(
                &self,
                req: &EncryptRequest<'_>,
                data_key: &DataKey,
            ) -> Result<EncryptedDataKey, KeyringError> {
                (**self).wrap_data_key(req, data_key)
            }
            fn on_decrypt_reporting(
                &self,
                req: &DecryptRequest<'_>,
            ) -> Result<Option<UnwrappedKey>, KeyringError> {
                (**self).on_decrypt_reporting(req)
            }
        }
    )*};
}
forward_keyring!(Arc<K>, &K, Box<K>);

/// `AsyncKeyring` for a pointer to one (`Arc`, `Box`).
macro_rules! forward_async_keyring {
    ($($ptr:ty),*) => {$(
        impl<K: AsyncKeyring + ?Sized> AsyncKeyring for $ptr {
            fn on_encrypt<'a>(
                &'a self,
                req: &'a EncryptRequest<'a>,
            ) -> BoxFuture<'a, Result<EncryptionMaterials, KeyringError>> {
                (**self).on_encrypt(req)
            }
            fn on_decrypt<'a>(
                &'a self,
                req: &'a DecryptRequest<'a>,
            ) -> BoxFuture<'a, Result<Option<DataKey>, KeyringError>> {
                (**self).on_decrypt(req)
            }
            fn on_decrypt_reporting<'a>(
                &'a self,
                req: &'a DecryptRequest<'a>,
            ) -> BoxFuture<'a, Result<Option<UnwrappedKey>, KeyringError>> {
                (**self).on_decrypt_reporting(req)
            }
            fn wrap_data_key<'a>(
                &'a self,
                req: &'a EncryptRequest<'a>,
                data_key: &'a DataKey,
            ) -> BoxFuture<'a, Result<EncryptedDataKey, KeyringError>> {
                (**self).wrap_data_key(req, data_key)
            }
        }
    )*};
}
forward_async_keyring!(Arc<K>, Box<K>);

/// The first error wins; no error and no key is "not ours".
fn first_match<T>(
    results: impl IntoIterator<Item = Result<Option<T>, KeyringError>>,
) -> Result<Option<T>, KeyringError> {
    let mut first_error = None;
    for r in results {
        match r {
            Ok(Some(key)) => return Ok(Some(key)),
            Ok(None) => {}
            Err(e) => {
                if first_error.is_none() {
                    first_error = Some(e);
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// The async twin of [`Keyrings`]: the first encrypts; on decrypt each is
/// tried in turn (for example a KMS key and, during a migration, a local
/// AES key).
///
/// ```
/// use s3ec_keyring::{AsyncKeyrings, Local};
/// # #[derive(Debug)] struct K;
/// # impl s3ec_keyring::Keyring for K {
/// #   fn on_encrypt(&self, _: &s3ec_keyring::EncryptRequest<'_>) -> Result<s3ec_keyring::EncryptionMaterials, s3ec_keyring::KeyringError> { unimplemented!() }
/// #   fn on_decrypt(&self, _: &s3ec_keyring::DecryptRequest<'_>) -> Result<Option<s3ec_keyring::DataKey>, s3ec_keyring::KeyringError> { Ok(None) }
/// # }
/// let rings = AsyncKeyrings::new().with(Local(K)).with(Local(K));
/// assert_eq!(rings.len(), 2);
/// ```
#[derive(Debug, Default, Clone)]
pub struct AsyncKeyrings {
    rings: Vec<Arc<dyn AsyncKeyring>>,
}

impl AsyncKeyrings {
    /// An empty set; add keyrings with [`AsyncKeyrings::with`].
    pub fn new() -> AsyncKeyrings {
        AsyncKeyrings::default()
    }

    /// Add a keyring (the first one added is the one that encrypts).
    pub fn with(mut self, ring: impl AsyncKeyring + 'static) -> AsyncKeyrings {
        self.rings.push(Arc::new(ring));
        self
    }

    /// How many keyrings.
    pub fn len(&self) -> usize {
        self.rings.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rings.is_empty()
    }
}

impl AsyncKeyring for AsyncKeyrings {
    fn on_encrypt<'a>(
        &'a self,
        req: &'a EncryptRequest<'a>,
    ) -> BoxFuture<'a, Result<EncryptionMaterials, KeyringError>> {
        Box::pin(async move {
            match self.rings.first() {
                Some(r) => r.on_encrypt(req).await,
                None => Err(KeyringError::InvalidKey {
                    reason: "no keyring configured".into(),
                }),
            }
        })
    }

    fn on_decrypt<'a>(
        &'a self,
        req: &'a DecryptRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<DataKey>, KeyringError>> {
        Box::pin(async move { Ok(self.on_decrypt_reporting(req).await?.map(|k| k.data_key)) })
    }

    fn on_decrypt_reporting<'a>(
        &'a self,
        req: &'a DecryptRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<UnwrappedKey>, KeyringError>> {
        Box::pin(async move {
            let mut results = Vec::new();
            for ring in &self.rings {
                let r = ring.on_decrypt_reporting(req).await;
                let found = matches!(r, Ok(Some(_)));
                results.push(r);
                if found {
                    break;
                }
            }
            first_match(results)
        })
    }
}

/// Several keyrings: the first encrypts; on decrypt each is tried in turn
/// (an old and a new master key during a rotation).
#[derive(Debug, Default, Clone)]
pub struct Keyrings {
    rings: Vec<Arc<dyn Keyring>>,
}

impl Keyrings {
    /// An empty set; add keyrings with [`Keyrings::with`].
    pub fn new() -> Keyrings {
        Keyrings::default()
    }

    /// Add a keyring (the first one added is the one that encrypts).
    pub fn with(mut self, ring: impl Keyring + 'static) -> Keyrings {
        self.rings.push(Arc::new(ring));
        self
    }
}

impl Keyring for Keyrings {
    fn on_encrypt(&self, req: &EncryptRequest<'_>) -> Result<EncryptionMaterials, KeyringError> {
        match self.rings.first() {
            Some(r) => r.on_encrypt(req),
            None => Err(KeyringError::InvalidKey {
                reason: "no keyring configured".into(),
            }),
        }
    }

    fn wrap_data_key(
        &self,
        req: &EncryptRequest<'_>,
        data_key: &DataKey,
    ) -> Result<EncryptedDataKey, KeyringError> {
        match self.rings.first() {
            Some(r) => r.wrap_data_key(req, data_key),
            None => Err(KeyringError::InvalidKey {
                reason: "no keyring configured".into(),
            }),
        }
    }

    fn on_decrypt(&self, req: &DecryptRequest<'_>) -> Result<Option<DataKey>, KeyringError> {
        Ok(self.on_decrypt_reporting(req)?.map(|k| k.data_key))
    }

    fn on_decrypt_reporting(
        &self,
        req: &DecryptRequest<'_>,
    ) -> Result<Option<UnwrappedKey>, KeyringError> {
        // Lazily: stop at the first keyring that unwraps the key.
        first_match(self.rings.iter().map(|ring| ring.on_decrypt_reporting(req)))
    }
}

/// Refuse legacy wraps unless the caller enabled them (spec `client.md`,
/// legacy wrapping algorithms; `s3-kms-keyring.md`: KmsV1 only with legacy
/// wrapping algorithms enabled).
pub fn check_legacy_wrap(req: &DecryptRequest<'_>) -> Result<(), KeyringError> {
    // spec: client.md#enable-legacy-wrapping-algorithms/3-4 materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/3 (legacy wraps only when enabled)
    if req.wrap.is_legacy() && !req.legacy.wrapping_algorithms {
        return Err(KeyringError::LegacyWrappingDisabled { wrap: req.wrap });
    }
    Ok(())
}

/// Build the KMS encryption context for `kms+context` on encrypt: the
/// caller's context plus `aws:x-amz-cek-alg` = the suite's cek-alg
/// (spec `s3-kms-keyring.md`, Kms+Context: the reserved key MUST NOT be
/// supplied by the caller). `kms_cmk_id` is refused too, since decryption
/// strips it before comparing.
pub fn kms_encrypt_context(req: &EncryptRequest<'_>) -> Result<Context, KeyringError> {
    for reserved in [RESERVED_CEK_ALG, KMS_CMK_ID] {
        if req.context.contains_key(reserved) {
            return Err(KeyringError::ReservedContextKey {
                key: reserved.to_string(),
            });
        }
    }
    let mut ctx = req.context.clone();
    ctx.insert(
        RESERVED_CEK_ALG.to_string(),
        req.suite.cek_alg().to_string(),
    );
    Ok(ctx)
}

/// The context checks of a KMS unwrap, before KMS is called.
///
/// - `kms+context`: the stored context MUST bind the stored content cipher
///   (`aws:x-amz-cek-alg` equal to `x-amz-cek-alg` / `x-amz-c`, erratum E3),
///   and the stored context with the reserved keys removed MUST equal the
///   caller's expected context (spec `s3-kms-keyring.md`, DecryptDataKey;
///   no expected context means the empty one).
/// - legacy `kms`: only with legacy wrapping enabled; a stored context
///   holding `aws:x-amz-cek-alg` is a relabelled `kms+context` object
///   (erratum E1); a caller context, if given, must equal the stored one
///   minus `kms_cmk_id` (erratum E2).
pub fn check_kms_decrypt_context(req: &DecryptRequest<'_>) -> Result<(), KeyringError> {
    match req.wrap {
        // spec: materials/s3-kms-keyring.md#kmscontext/2-4 (stored context minus the reserved keys must equal the caller's)
        WrapAlg::KmsContext => {
            // spec: materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/5
            match req.stored_map.get(RESERVED_CEK_ALG) {
                Some(v) if v == req.cek_alg => {}
                _ => return Err(KeyringError::CekAlgMismatch),
            }
            let empty = Context::new();
            let expected = req.expected_context.unwrap_or(&empty);
            context_matches(
                req.stored_map,
                expected,
                &[RESERVED_CEK_ALG, KMS_CMK_ID],
                req.expected_context.is_some(),
            )?;
            Ok(())
        }
        // spec: materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/2
        WrapAlg::Kms => {
            check_legacy_wrap(req)?;
            if req.stored_map.contains_key(RESERVED_CEK_ALG) {
                return Err(KeyringError::RelabelledKmsContext);
            }
            if let Some(expected) = req.expected_context {
                context_matches(req.stored_map, expected, &[KMS_CMK_ID], true)?;
            }
            Ok(())
        }
        wrap => Err(KeyringError::UnsupportedWrap { wrap }),
    }
}

/// Check that two maps are equal once the `ignored` keys are dropped from
/// the stored side, else say which keys differ. Keys in `ignored` on the
/// expected side make them unequal (they were refused at encrypt time and
/// cannot be expected).
fn context_matches(
    stored: &Context,
    expected: &Context,
    ignored: &[&str],
    expected_given: bool,
) -> Result<(), KeyringError> {
    let kept = |k: &String| !ignored.contains(&k.as_str());
    let missing: Vec<String> = expected
        .keys()
        .filter(|k| !kept(k) || !stored.contains_key(*k))
        .cloned()
        .collect();
    let unexpected: Vec<String> = stored
        .keys()
        .filter(|k| kept(k) && !expected.contains_key(*k))
        .cloned()
        .collect();
    let differing: Vec<String> = expected
        .iter()
        .filter(|(k, v)| kept(k) && stored.get(*k).is_some_and(|s| s != *v))
        .map(|(k, _)| k.clone())
        .collect();
    if missing.is_empty() && unexpected.is_empty() && differing.is_empty() {
        Ok(())
    } else {
        Err(KeyringError::ContextMismatch {
            missing,
            unexpected,
            differing,
            expected_given,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> Context {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req<'a>(
        wrap: WrapAlg,
        stored: &'a Context,
        expected: Option<&'a Context>,
        legacy: bool,
    ) -> DecryptRequest<'a> {
        DecryptRequest {
            suite: Suite::AesGcm,
            wrap,
            encrypted_key: b"x",
            cek_alg: "AES/GCM/NoPadding",
            stored_map: stored,
            expected_context: expected,
            legacy: LegacyOptions {
                wrapping_algorithms: legacy,
                unauthenticated_modes: false,
            },
        }
    }

    #[test]
    fn kms_context_binding() {
        let stored = ctx(&[("a", "1"), (RESERVED_CEK_ALG, "AES/GCM/NoPadding")]);
        let exp = ctx(&[("a", "1")]);
        assert!(
            check_kms_decrypt_context(&req(WrapAlg::KmsContext, &stored, Some(&exp), false))
                .is_ok()
        );
        // No expected context = the empty one: mismatch.
        assert!(matches!(
            check_kms_decrypt_context(&req(WrapAlg::KmsContext, &stored, None, false)),
            Err(KeyringError::ContextMismatch { .. })
        ));
        let other = ctx(&[("a", "2")]);
        assert!(matches!(
            check_kms_decrypt_context(&req(WrapAlg::KmsContext, &stored, Some(&other), false)),
            Err(KeyringError::ContextMismatch { .. })
        ));
        let wrong_alg = ctx(&[("a", "1"), (RESERVED_CEK_ALG, "AES/CBC/PKCS5Padding")]);
        assert!(matches!(
            check_kms_decrypt_context(&req(WrapAlg::KmsContext, &wrong_alg, Some(&exp), false)),
            Err(KeyringError::CekAlgMismatch)
        ));
        let missing = ctx(&[("a", "1")]);
        assert!(matches!(
            check_kms_decrypt_context(&req(WrapAlg::KmsContext, &missing, Some(&exp), false)),
            Err(KeyringError::CekAlgMismatch)
        ));
    }

    #[test]
    fn legacy_kms_rules() {
        let stored = ctx(&[("dept", "x"), (KMS_CMK_ID, "key-1")]);
        assert!(matches!(
            check_kms_decrypt_context(&req(WrapAlg::Kms, &stored, None, false)),
            Err(KeyringError::LegacyWrappingDisabled { .. })
        ));
        assert!(check_kms_decrypt_context(&req(WrapAlg::Kms, &stored, None, true)).is_ok());
        let exp = ctx(&[("dept", "x")]);
        assert!(check_kms_decrypt_context(&req(WrapAlg::Kms, &stored, Some(&exp), true)).is_ok());
        let bad = ctx(&[("dept", "y")]);
        assert!(matches!(
            check_kms_decrypt_context(&req(WrapAlg::Kms, &stored, Some(&bad), true)),
            Err(KeyringError::ContextMismatch { .. })
        ));
        let relabelled = ctx(&[(RESERVED_CEK_ALG, "AES/GCM/NoPadding")]);
        assert!(matches!(
            check_kms_decrypt_context(&req(WrapAlg::Kms, &relabelled, None, true)),
            Err(KeyringError::RelabelledKmsContext)
        ));
    }

    #[test]
    fn encrypt_context_reserved() {
        let c = ctx(&[(RESERVED_CEK_ALG, "x")]);
        let r = EncryptRequest {
            suite: Suite::AesGcmCommitting,
            context: &c,
        };
        assert!(matches!(
            kms_encrypt_context(&r),
            Err(KeyringError::ReservedContextKey { .. })
        ));
        let c = ctx(&[("k", "v")]);
        let r = EncryptRequest {
            suite: Suite::AesGcmCommitting,
            context: &c,
        };
        let out = kms_encrypt_context(&r).unwrap();
        assert_eq!(out.get(RESERVED_CEK_ALG).map(String::as_str), Some("115"));
        assert_eq!(out.len(), 2);
    }
}

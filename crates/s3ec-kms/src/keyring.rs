//! The KMS keyring: `kms+context` (V2 name, V3 code `12`) on encrypt and
//! decrypt, legacy `kms` (KmsV1) on decrypt only.
//!
//! Spec: `s3-encryption/materials/s3-kms-keyring.md` (cited as KMSK below);
//! wire format: `s3ec-format.md` §5.1, §5.2 with errata E1-E3.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use s3ec_keyring::{
    check_kms_decrypt_context, kms_encrypt_context, AsyncKeyring, BoxFuture, Context, DataKey,
    DecryptRequest, EncryptRequest, EncryptedDataKey, EncryptionMaterials, Keyring, KeyringError,
    UnwrappedKey, WrapAlg,
};

use crate::blocking;
use crate::client::{is_key_arn, same_key, KmsClient, KmsError, KmsErrorKind};

/// A keyring backed by AWS KMS.
///
/// - **Encrypt** (`kms+context`): the caller's encryption context plus
///   `aws:x-amz-cek-alg` = the content cipher (`AES/GCM/NoPadding` for V2,
///   `115` for V3) is sent to KMS `GenerateDataKey` (`KeySpec` `AES_256`)
///   and stored with the object (`x-amz-matdesc` / `x-amz-t`). A caller
///   context holding `aws:x-amz-cek-alg` or `kms_cmk_id` is refused
///   ([`KeyringError::ReservedContextKey`]). Legacy `kms` is never written.
/// - **Decrypt**: wraps other than `kms+context` and `kms` are not this
///   keyring's (`Ok(None)`). The stored context must bind the stored content
///   cipher ([`KeyringError::CekAlgMismatch`]) and, minus the reserved keys,
///   equal the caller's expected context (none = empty;
///   [`KeyringError::ContextMismatch`]); legacy `kms` needs
///   [`s3ec_keyring::LegacyOptions::wrapping_algorithms`]. Then KMS `Decrypt`
///   gets the *stored* context and, unless in discovery mode, `KeyId` = the
///   configured key. A blob made under another KMS key gives `Ok(None)`, so a
///   [`s3ec_keyring::Keyrings`] can try the next keyring; a blob KMS rejects
///   (tampered, or bound to another context) gives
///   [`KeyringError::UnwrapFailed`]; other KMS failures give
///   [`KeyringError::Service`].
/// - **Discovery** ([`KmsKeyring::discovery`]): decrypts with whichever KMS
///   key the blob names, if the caller's credentials may use it; cannot
///   encrypt. Use it only where any key in reach is acceptable, or bound it
///   with a [`DiscoveryFilter`] (partition and account ids,
///   [`KmsKeyring::discovery_with_filter`]).
/// - The key KMS answered with is reported
///   ([`Keyring::on_decrypt_reporting`]; the clients put it in the get's
///   output).
///
/// It implements [`AsyncKeyring`] natively and [`Keyring`] (blocking) by
/// running the KMS call on a small runtime of this crate (one worker thread,
/// shared by the process). The blocking methods work from any thread. Inside
/// async code prefer [`AsyncKeyring`]: a blocking call there holds its
/// thread until KMS answers, and if the KMS client's pooled connections
/// were opened on a current-thread runtime that this call blocks, the call
/// cannot complete; use a client not shared with such a runtime, or
/// `tokio::task::spawn_blocking`.
///
/// ```
/// use s3ec_keyring::{Context, DecryptRequest, EncryptRequest, Keyring, LegacyOptions, Suite};
/// use s3ec_kms::{testing::StaticKms, KmsKeyring};
///
/// // StaticKms is an in-memory stand-in; real code passes `AwsKms`.
/// let ring = KmsKeyring::new(
///     StaticKms::new(),
///     "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
/// )?;
/// let ctx = Context::from([("tenant".to_string(), "Zoë".to_string())]);
/// let suite = Suite::AesGcmCommitting;
/// let made = Keyring::on_encrypt(&ring, &EncryptRequest { suite, context: &ctx })?;
/// assert_eq!(made.encrypted.stored_map["aws:x-amz-cek-alg"], "115");
///
/// let key = Keyring::on_decrypt(&ring, &DecryptRequest {
///     suite,
///     wrap: made.encrypted.wrap,
///     encrypted_key: &made.encrypted.ciphertext,
///     cek_alg: suite.cek_alg(),
///     stored_map: &made.encrypted.stored_map,
///     expected_context: Some(&ctx),
///     legacy: LegacyOptions::default(),
/// })?;
/// assert_eq!(key.map(|k| k.as_bytes().to_vec()), Some(made.data_key.as_bytes().to_vec()));
/// # Ok::<(), s3ec_keyring::KeyringError>(())
/// ```
///
/// With AWS KMS (region, credentials and endpoint from the environment):
///
/// ```no_run
/// # async fn f() -> Result<(), s3ec_keyring::KeyringError> {
/// use s3ec_kms::{AwsKms, KmsKeyring};
/// let ring = KmsKeyring::new(AwsKms::from_env().await, "alias/my-objects")?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KmsKeyring {
    inner: Arc<Inner>,
}

struct Inner {
    client: Box<dyn KmsClient>,
    /// The configured key; `None` in discovery mode.
    key_id: Option<String>,
    /// Discovery mode only: the keys it may decrypt with.
    filter: Option<DiscoveryFilter>,
}

/// The KMS keys a discovery keyring may decrypt with: those of one AWS
/// partition and a set of account ids (as the AWS Encryption SDK's discovery
/// filter). The S3 envelope does not name the KMS key, so the check is on
/// the key ARN KMS `Decrypt` answers with; a key outside the filter, or an
/// answer naming no key, is refused and the data key dropped.
///
/// ```
/// use s3ec_kms::DiscoveryFilter;
/// let f = DiscoveryFilter::new("aws", ["111122223333"])?;
/// assert!(f.allows("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"));
/// assert!(!f.allows("arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"));
/// assert!(!f.allows("arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"));
/// assert!(DiscoveryFilter::new("aws", Vec::<String>::new()).is_err());
/// # Ok::<(), s3ec_keyring::KeyringError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryFilter {
    partition: String,
    account_ids: BTreeSet<String>,
}

impl DiscoveryFilter {
    /// Keys of `partition` (`aws`, `aws-cn`, `aws-us-gov`, ...) owned by one
    /// of `account_ids`. An empty partition, no account id, or an empty or
    /// non-numeric account id is [`KeyringError::InvalidKey`].
    pub fn new<I, S>(partition: impl Into<String>, account_ids: I) -> Result<Self, KeyringError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let invalid = |reason: &str| KeyringError::InvalidKey {
            reason: format!("discovery filter: {reason}"),
        };
        let partition = partition.into();
        if partition.is_empty() || partition.contains(':') {
            return Err(invalid("the partition is empty or contains ':'"));
        }
        let account_ids: BTreeSet<String> = account_ids.into_iter().map(Into::into).collect();
        if account_ids.is_empty() {
            return Err(invalid("no account id"));
        }
        if account_ids
            .iter()
            .any(|a| a.is_empty() || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid("an account id is empty or not all digits"));
        }
        Ok(DiscoveryFilter {
            partition,
            account_ids,
        })
    }

    /// The partition.
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The account ids.
    pub fn account_ids(&self) -> impl Iterator<Item = &str> {
        self.account_ids.iter().map(String::as_str)
    }

    /// Whether the key ARN `key_arn` passes (a key ARN of the partition
    /// owned by one of the accounts; anything else does not).
    pub fn allows(&self, key_arn: &str) -> bool {
        if !is_key_arn(key_arn) {
            return false;
        }
        let parts: Vec<&str> = key_arn.splitn(6, ':').collect();
        matches!(parts.as_slice(), ["arn", partition, "kms", _, account, _]
            if *partition == self.partition && self.account_ids.contains(*account))
    }
}

impl fmt::Debug for KmsKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("KmsKeyring");
        match &self.inner.key_id {
            Some(k) => d.field("key_id", k),
            None => d.field("discovery", &true),
        };
        if let Some(filter) = &self.inner.filter {
            d.field("discovery_filter", filter);
        }
        d.field("client", &self.inner.client).finish()
    }
}

impl KmsKeyring {
    /// A keyring for the KMS key `key_id` (key id, key ARN, alias name or
    /// alias ARN; KMSK Initialization: the key identifier is required). An
    /// empty or blank identifier is refused ([`KeyringError::InvalidKey`];
    /// KMSK Initialization allows this check).
    pub fn new(
        client: impl KmsClient + 'static,
        key_id: impl Into<String>,
    ) -> Result<KmsKeyring, KeyringError> {
        let key_id = key_id.into();
        // spec: materials/s3-kms-keyring.md#initialization/3-4
        if key_id.trim().is_empty() || key_id.chars().any(char::is_whitespace) {
            return Err(KeyringError::InvalidKey {
                reason: "the KMS key identifier is empty or contains whitespace".into(),
            });
        }
        Ok(KmsKeyring {
            inner: Arc::new(Inner {
                client: Box::new(client),
                key_id: Some(key_id),
                filter: None,
            }),
        })
    }

    /// A discovery keyring: decrypts `kms+context` (and, with legacy wraps
    /// enabled, `kms`) objects with whatever KMS key their blob names,
    /// omitting `KeyId` from `Decrypt` (as the Java client's
    /// `KmsDiscoveryKeyring`). It cannot encrypt. The context checks are the
    /// same as for a configured key.
    pub fn discovery(client: impl KmsClient + 'static) -> KmsKeyring {
        KmsKeyring {
            inner: Arc::new(Inner {
                client: Box::new(client),
                key_id: None,
                filter: None,
            }),
        }
    }

    /// A discovery keyring that decrypts only with KMS keys `filter`
    /// allows: the key ARN KMS answers with must be of the filter's
    /// partition and accounts, else the unwrap is refused
    /// ([`KeyringError::Service`] with [`KmsErrorKind::IncorrectKey`]) and
    /// the data key dropped.
    ///
    /// ```
    /// use s3ec_kms::{testing::StaticKms, DiscoveryFilter, KmsKeyring};
    /// let ring = KmsKeyring::discovery_with_filter(
    ///     StaticKms::new(),
    ///     DiscoveryFilter::new("aws", ["111122223333"])?,
    /// );
    /// assert!(ring.is_discovery());
    /// assert_eq!(ring.discovery_filter().map(|f| f.partition()), Some("aws"));
    /// # Ok::<(), s3ec_keyring::KeyringError>(())
    /// ```
    pub fn discovery_with_filter(
        client: impl KmsClient + 'static,
        filter: DiscoveryFilter,
    ) -> KmsKeyring {
        KmsKeyring {
            inner: Arc::new(Inner {
                client: Box::new(client),
                key_id: None,
                filter: Some(filter),
            }),
        }
    }

    /// The discovery filter, if any.
    pub fn discovery_filter(&self) -> Option<&DiscoveryFilter> {
        self.inner.filter.as_ref()
    }

    /// The configured key identifier (`None` in discovery mode).
    pub fn key_id(&self) -> Option<&str> {
        self.inner.key_id.as_deref()
    }

    /// Whether this is a discovery keyring.
    pub fn is_discovery(&self) -> bool {
        self.inner.key_id.is_none()
    }
}

fn service(e: KmsError) -> KeyringError {
    KeyringError::Service {
        operation: e.operation(),
        source: Box::new(e),
    }
}

fn runtime_failure(operation: &'static str, e: String) -> KeyringError {
    KeyringError::Service {
        operation,
        source: e.into(),
    }
}

impl Inner {
    /// Everything on encrypt that needs no KMS call: the key to use and the
    /// encryption context to bind and store.
    fn plan_encrypt(&self, req: &EncryptRequest<'_>) -> Result<(String, Context), KeyringError> {
        let key_id = self
            .key_id
            .clone()
            .ok_or_else(|| KeyringError::InvalidKey {
                reason: "a discovery KMS keyring has no key to encrypt with".into(),
            })?;
        // Legacy content suites are decrypt-only.
        req.suite.check_encrypt()?;
        // KMSK Supported Wrapping Algorithm Modes: encryption with kms+context,
        // never with KmsV1: this keyring only ever writes kms+context. The context is the
        // caller's plus aws:x-amz-cek-alg; reserved keys from the caller are
        // refused (s3ec-format.md §5.1).
        let context = kms_encrypt_context(req)?;
        Ok((key_id, context))
    }

    /// GenerateDataKey and build the materials.
    async fn generate(
        &self,
        key_id: &str,
        context: Context,
    ) -> Result<EncryptionMaterials, KeyringError> {
        const OP: &str = "GenerateDataKey";
        // KMSK EncryptDataKey describes KMS Encrypt of a locally made key;
        // every AWS client calls GenerateDataKey(KeyId, AES_256, context)
        // instead, which yields interoperable blobs (s3ec-format.md §5.1,
        // §11.2). A failed call fails OnEncrypt.
        let made = self
            .client
            .generate_data_key(key_id, &context)
            .await
            .map_err(service)?;
        // KMSK EncryptDataKey: the KeyId KMS answers with must be a key ARN.
        if !is_key_arn(&made.key_id) {
            return Err(service(KmsError::new(
                KmsErrorKind::Other,
                OP,
                format!("KMS answered with key id {:?}, not a key ARN", made.key_id),
            )));
        }
        if made.data_key.len() != 32 || made.ciphertext.is_empty() {
            return Err(service(KmsError::new(
                KmsErrorKind::Other,
                OP,
                "KMS answered with no 256-bit data key or no ciphertext blob",
            )));
        }
        // KMSK EncryptDataKey: the stored ciphertext is KMS's CiphertextBlob;
        // the stored map is the context KMS bound.
        Ok(EncryptionMaterials {
            data_key: made.data_key,
            encrypted: EncryptedDataKey {
                // spec: materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/1 materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/4 (only kms+context is written)
                wrap: WrapAlg::KmsContext,
                ciphertext: made.ciphertext,
                stored_map: context,
            },
        })
    }

    /// KMS Encrypt of an existing data key (a key rotation), checked as
    /// [`generate`](Self::generate) checks GenerateDataKey.
    // spec: materials/s3-kms-keyring.md#encryptdatakey/1-7 (KMS Encrypt of the data key with the configured key and the context; its blob, or an error)
    async fn wrap(
        &self,
        key_id: &str,
        context: Context,
        data_key: &DataKey,
    ) -> Result<EncryptedDataKey, KeyringError> {
        let out = self
            .client
            .encrypt(key_id, data_key, &context)
            .await
            .map_err(service)?;
        if !is_key_arn(&out.key_id) || out.ciphertext.is_empty() {
            return Err(service(KmsError::new(
                KmsErrorKind::Other,
                "Encrypt",
                format!(
                    "KMS answered with key id {:?} (not a key ARN) or no ciphertext",
                    out.key_id
                ),
            )));
        }
        Ok(EncryptedDataKey {
            // spec: materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/1 materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/4
            wrap: WrapAlg::KmsContext,
            ciphertext: out.ciphertext,
            stored_map: context,
        })
    }

    /// Everything on decrypt that needs no KMS call. `Ok(false)`: not a KMS
    /// wrap, not this keyring's.
    fn plan_decrypt(req: &DecryptRequest<'_>) -> Result<bool, KeyringError> {
        // KMSK DecryptDataKey: KmsV1 or Kms+Context mode, chosen from the key
        // provider info (`kms` or `kms+context`); any other wrap belongs to
        // another keyring.
        // spec: materials/s3-kms-keyring.md#decryptdatakey/1-3 (kms or kms+context, from the wrap name)
        if !req.wrap.is_kms() {
            return Ok(false);
        }
        // KMSK Supported Wrapping Algorithm Modes: KmsV1 only with legacy
        // wrapping algorithms enabled. KMSK Kms+Context: the stored context,
        // less the two reserved keys, must equal the caller's, else an
        // error. Plus the
        // cek-alg binding (s3ec-format.md §5.1, erratum E3) and the legacy
        // kms rules (errata E1, E2).
        check_kms_decrypt_context(req)?;
        Ok(true)
    }

    /// KMS Decrypt and the sorting of its answer.
    async fn unwrap(
        &self,
        ciphertext: &[u8],
        stored: &Context,
    ) -> Result<Option<UnwrappedKey>, KeyringError> {
        const OP: &str = "Decrypt";
        if ciphertext.is_empty() {
            return Err(KeyringError::UnwrapFailed);
        }
        // KMSK KmsV1 and Kms+Context: KMS Decrypt with the configured key id
        // (omitted in discovery mode), the encrypted data key as the blob,
        // and the stored encryption context.
        let answer = self
            .client
            // spec: materials/s3-kms-keyring.md#kmsv1/1-4 materials/s3-kms-keyring.md#kmscontext/1 materials/s3-kms-keyring.md#kmscontext/5-7
            .decrypt(ciphertext, stored, self.key_id.as_deref())
            .await;
        match answer {
            Ok(out) => {
                // Defence in depth: KMS must have used the key we named.
                if let (Some(configured), Some(used)) = (&self.key_id, &out.key_id) {
                    if same_key(configured, used) == Some(false) {
                        return Err(service(KmsError::new(
                            KmsErrorKind::IncorrectKey,
                            OP,
                            format!("KMS decrypted with key {used:?}, not {configured:?}"),
                        )));
                    }
                }
                // Discovery filter (as the AWS Encryption SDK's): the key
                // KMS used must be of the allowed partition and accounts.
                if let Some(filter) = &self.filter {
                    match &out.key_id {
                        Some(used) if filter.allows(used) => {}
                        Some(used) => {
                            return Err(service(KmsError::new(
                                KmsErrorKind::IncorrectKey,
                                OP,
                                format!(
                                    "KMS decrypted with key {used:?}, outside the discovery \
                                     filter (partition {:?}, accounts {:?})",
                                    filter.partition, filter.account_ids
                                ),
                            )));
                        }
                        None => {
                            return Err(service(KmsError::new(
                                KmsErrorKind::Other,
                                OP,
                                "KMS did not name the key it decrypted with, so the \
                                 discovery filter cannot be checked",
                            )));
                        }
                    }
                }
                // KMSK: the plaintext key goes straight back, with the key
                // KMS says it used (else the configured one).
                // spec: materials/s3-kms-keyring.md#kmsv1/5 materials/s3-kms-keyring.md#kmscontext/8
                let used = out.key_id.clone().or_else(|| self.key_id.clone());
                let mut key = UnwrappedKey::new(out.data_key);
                key.key_id = used;
                Ok(Some(key))
            }
            Err(e) => match e.kind() {
                // Another KMS key's blob: not ours, let another keyring try.
                // (KMSK makes a failed decrypt an error; the keyring set
                // reports one when no keyring could unwrap.)
                KmsErrorKind::IncorrectKey => Ok(None),
                KmsErrorKind::UnknownKey if self.key_id.is_some() => Ok(None),
                // Tampered blob, or a stored context that is not the one the
                // blob was made with.
                // spec: materials/s3-kms-keyring.md#kmsv1/6 materials/s3-kms-keyring.md#kmscontext/9
                KmsErrorKind::InvalidCiphertext => Err(KeyringError::UnwrapFailed),
                _ => Err(service(e)),
            },
        }
    }
}

impl AsyncKeyring for KmsKeyring {
    fn on_encrypt<'a>(
        &'a self,
        req: &'a EncryptRequest<'a>,
    ) -> BoxFuture<'a, Result<EncryptionMaterials, KeyringError>> {
        Box::pin(async move {
            let (key_id, context) = self.inner.plan_encrypt(req)?;
            self.inner.generate(&key_id, context).await
        })
    }

    fn on_decrypt<'a>(
        &'a self,
        req: &'a DecryptRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<DataKey>, KeyringError>> {
        Box::pin(async move {
            if !Inner::plan_decrypt(req)? {
                return Ok(None);
            }
            let key = self.inner.unwrap(req.encrypted_key, req.stored_map).await?;
            Ok(key.map(|k| k.data_key))
        })
    }

    fn on_decrypt_reporting<'a>(
        &'a self,
        req: &'a DecryptRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<UnwrappedKey>, KeyringError>> {
        Box::pin(async move {
            if !Inner::plan_decrypt(req)? {
                return Ok(None);
            }
            self.inner.unwrap(req.encrypted_key, req.stored_map).await
        })
    }

    fn wrap_data_key<'a>(
        &'a self,
        req: &'a EncryptRequest<'a>,
        data_key: &'a DataKey,
    ) -> BoxFuture<'a, Result<EncryptedDataKey, KeyringError>> {
        Box::pin(async move {
            let (key_id, context) = self.inner.plan_encrypt(req)?;
            self.inner.wrap(&key_id, context, data_key).await
        })
    }
}

impl Keyring for KmsKeyring {
    fn on_encrypt(&self, req: &EncryptRequest<'_>) -> Result<EncryptionMaterials, KeyringError> {
        let (key_id, context) = self.inner.plan_encrypt(req)?;
        let inner = Arc::clone(&self.inner);
        blocking::run(async move { inner.generate(&key_id, context).await })
            .map_err(|e| runtime_failure("GenerateDataKey", e))?
    }

    fn on_decrypt(&self, req: &DecryptRequest<'_>) -> Result<Option<DataKey>, KeyringError> {
        Ok(Keyring::on_decrypt_reporting(self, req)?.map(|k| k.data_key))
    }

    fn on_decrypt_reporting(
        &self,
        req: &DecryptRequest<'_>,
    ) -> Result<Option<UnwrappedKey>, KeyringError> {
        if !Inner::plan_decrypt(req)? {
            return Ok(None);
        }
        let inner = Arc::clone(&self.inner);
        let ciphertext = req.encrypted_key.to_vec();
        let stored = req.stored_map.clone();
        blocking::run(async move { inner.unwrap(&ciphertext, &stored).await })
            .map_err(|e| runtime_failure("Decrypt", e))?
    }

    fn wrap_data_key(
        &self,
        req: &EncryptRequest<'_>,
        data_key: &DataKey,
    ) -> Result<EncryptedDataKey, KeyringError> {
        let (key_id, context) = self.inner.plan_encrypt(req)?;
        let inner = Arc::clone(&self.inner);
        let data_key = data_key.clone();
        blocking::run(async move { inner.wrap(&key_id, context, &data_key).await })
            .map_err(|e| runtime_failure("Encrypt", e))?
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::testing::StaticKms;
    use s3ec_keyring::{Keyrings, LegacyOptions, Suite, KMS_CMK_ID, RESERVED_CEK_ALG};

    const KEY_A: &str =
        "arn:aws:kms:us-east-1:111122223333:key/aaaaaaaa-0000-0000-0000-000000000001";
    const KEY_B: &str =
        "arn:aws:kms:us-east-1:111122223333:key/bbbbbbbb-0000-0000-0000-000000000002";

    fn ctx(pairs: &[(&str, &str)]) -> Context {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn dreq<'a>(
        suite: Suite,
        m: &'a EncryptedDataKey,
        expected: Option<&'a Context>,
    ) -> DecryptRequest<'a> {
        DecryptRequest {
            suite,
            wrap: m.wrap,
            encrypted_key: &m.ciphertext,
            cek_alg: suite.cek_alg(),
            stored_map: &m.stored_map,
            expected_context: expected,
            legacy: LegacyOptions::default(),
        }
    }

    fn encrypt(ring: &KmsKeyring, suite: Suite, c: &Context) -> EncryptionMaterials {
        Keyring::on_encrypt(ring, &EncryptRequest { suite, context: c }).unwrap()
    }

    #[test]
    fn round_trip_blocking_and_stored_context() {
        // spec: materials/s3-kms-keyring.md#kmscontext/1 materials/s3-kms-keyring.md#kmscontext/5-8 materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/1 materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/4-6 materials/s3-kms-keyring.md#decryptdatakey/3
        let kms = Arc::new(StaticKms::new());
        let ring = KmsKeyring::new(Arc::clone(&kms), KEY_A).unwrap();
        for suite in [Suite::AesGcm, Suite::AesGcmCommitting] {
            for c in [
                ctx(&[]),
                ctx(&[("tenant", "Zoë Ångström ☃ 東京"), ("a", "")]),
            ] {
                let m = encrypt(&ring, suite, &c);
                assert_eq!(m.encrypted.wrap, WrapAlg::KmsContext);
                assert_eq!(m.data_key.len(), 32);
                let mut want = c.clone();
                want.insert(RESERVED_CEK_ALG.into(), suite.cek_alg().into());
                assert_eq!(m.encrypted.stored_map, want);
                let got = Keyring::on_decrypt(&ring, &dreq(suite, &m.encrypted, Some(&c)))
                    .unwrap()
                    .unwrap();
                assert_eq!(got.as_bytes(), m.data_key.as_bytes());
                // Decrypt was sent the stored context and the configured key.
                let call = kms.decrypt_calls().pop().unwrap();
                assert_eq!(call.context, m.encrypted.stored_map);
                assert_eq!(call.key_id.as_deref(), Some(KEY_A));
                assert_eq!(call.ciphertext, m.encrypted.ciphertext);
            }
        }
    }

    #[tokio::test]
    async fn round_trip_async() {
        let ring = KmsKeyring::new(StaticKms::new(), KEY_A).unwrap();
        let c = ctx(&[("k", "v")]);
        let req = EncryptRequest {
            suite: Suite::AesGcmCommitting,
            context: &c,
        };
        let m = AsyncKeyring::on_encrypt(&ring, &req).await.unwrap();
        let d = dreq(Suite::AesGcmCommitting, &m.encrypted, Some(&c));
        let got = AsyncKeyring::on_decrypt(&ring, &d).await.unwrap().unwrap();
        assert_eq!(got.as_bytes(), m.data_key.as_bytes());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn blocking_inside_a_runtime_does_not_panic() {
        let ring = KmsKeyring::new(StaticKms::new(), KEY_A).unwrap();
        let c = ctx(&[]);
        let m = encrypt(&ring, Suite::AesGcm, &c);
        assert!(
            Keyring::on_decrypt(&ring, &dreq(Suite::AesGcm, &m.encrypted, None))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn other_key_is_not_mine_discovery_reads_it() {
        let kms = Arc::new(StaticKms::new());
        let a = KmsKeyring::new(Arc::clone(&kms), KEY_A).unwrap();
        let b = KmsKeyring::new(Arc::clone(&kms), KEY_B).unwrap();
        let disc = KmsKeyring::discovery(Arc::clone(&kms));
        let c = ctx(&[]);
        let m = encrypt(&b, Suite::AesGcmCommitting, &c);
        let r = dreq(Suite::AesGcmCommitting, &m.encrypted, None);
        assert!(Keyring::on_decrypt(&a, &r).unwrap().is_none());
        let k = Keyring::on_decrypt(&disc, &r).unwrap().unwrap();
        assert_eq!(k.as_bytes(), m.data_key.as_bytes());
        assert_eq!(kms.decrypt_calls().pop().unwrap().key_id, None);
        // A keyring set falls through to the right key.
        let set = Keyrings::new().with(a.clone()).with(b.clone());
        assert!(set.on_decrypt(&r).unwrap().is_some());
        // Discovery cannot encrypt.
        let e = Keyring::on_encrypt(
            &disc,
            &EncryptRequest {
                suite: Suite::AesGcmCommitting,
                context: &c,
            },
        )
        .unwrap_err();
        assert!(matches!(e, KeyringError::InvalidKey { .. }), "{e}");
        assert!(disc.is_discovery() && disc.key_id().is_none());
        assert_eq!(a.key_id(), Some(KEY_A));
    }

    /// Issue 14: a discovery filter bounds the keys a discovery keyring
    /// decrypts with, and the key used is reported.
    #[test]
    fn discovery_filter_and_reported_key() {
        let kms = Arc::new(StaticKms::new());
        let b = KmsKeyring::new(Arc::clone(&kms), KEY_B).unwrap();
        let other_account =
            "arn:aws:kms:us-east-1:444455556666:key/cccccccc-0000-0000-0000-000000000003";
        let other_partition =
            "arn:aws-cn:kms:cn-north-1:111122223333:key/dddddddd-0000-0000-0000-000000000004";
        let c = ctx(&[]);
        let in_filter = encrypt(&b, Suite::AesGcmCommitting, &c);
        let filter = DiscoveryFilter::new("aws", ["111122223333"]).unwrap();
        let disc = KmsKeyring::discovery_with_filter(Arc::clone(&kms), filter.clone());
        assert_eq!(disc.discovery_filter(), Some(&filter));
        assert!(format!("{disc:?}").contains("discovery_filter"));
        // In the filter: decrypts, and names the key KMS used.
        let r = dreq(Suite::AesGcmCommitting, &in_filter.encrypted, None);
        let got = Keyring::on_decrypt_reporting(&disc, &r).unwrap().unwrap();
        assert_eq!(got.data_key.as_bytes(), in_filter.data_key.as_bytes());
        assert_eq!(got.key_id.as_deref(), Some(KEY_B));
        // The configured keyring reports it too (blocking and through a set).
        let got = Keyring::on_decrypt_reporting(&b, &r).unwrap().unwrap();
        assert_eq!(got.key_id.as_deref(), Some(KEY_B));
        let set = Keyrings::new().with(b.clone());
        let got = set.on_decrypt_reporting(&r).unwrap().unwrap();
        assert_eq!(got.key_id.as_deref(), Some(KEY_B));
        // Outside: another account, another partition. Refused; an
        // unfiltered discovery keyring reads both.
        for arn in [other_account, other_partition] {
            let ring = KmsKeyring::new(Arc::clone(&kms), arn).unwrap();
            let m = encrypt(&ring, Suite::AesGcmCommitting, &c);
            let r = dreq(Suite::AesGcmCommitting, &m.encrypted, None);
            match Keyring::on_decrypt(&disc, &r) {
                Err(KeyringError::Service { operation, source }) => {
                    assert_eq!(operation, "Decrypt");
                    let e = source.downcast_ref::<KmsError>().unwrap();
                    assert_eq!(e.kind(), KmsErrorKind::IncorrectKey);
                    assert!(
                        e.to_string().contains("outside the discovery filter"),
                        "{e}"
                    );
                }
                other => panic!("{arn}: {other:?}"),
            }
            let open = KmsKeyring::discovery(Arc::clone(&kms));
            let got = Keyring::on_decrypt_reporting(&open, &r).unwrap().unwrap();
            assert_eq!(got.key_id.as_deref(), Some(arn));
        }
        // Bad filters.
        assert!(DiscoveryFilter::new("", ["111122223333"]).is_err());
        assert!(DiscoveryFilter::new("aws", [""]).is_err());
        assert!(DiscoveryFilter::new("aws", ["12ab"]).is_err());
        assert!(DiscoveryFilter::new("aws", Vec::<String>::new()).is_err());
        assert!(!filter.allows("alias/x"));
        assert!(!filter.allows("1234abcd-12ab-34cd-56ef-1234567890ab"));
    }

    #[tokio::test]
    async fn discovery_filter_async_and_unnamed_key() {
        let kms = Arc::new(StaticKms::new());
        let b = KmsKeyring::new(Arc::clone(&kms), KEY_B).unwrap();
        let m = encrypt(&b, Suite::AesGcm, &ctx(&[]));
        let r = dreq(Suite::AesGcm, &m.encrypted, None);
        let disc = KmsKeyring::discovery_with_filter(
            Arc::clone(&kms),
            DiscoveryFilter::new("aws", ["111122223333"]).unwrap(),
        );
        let got = AsyncKeyring::on_decrypt_reporting(&disc, &r)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.key_id.as_deref(), Some(KEY_B));
        let wrong = KmsKeyring::discovery_with_filter(
            Arc::clone(&kms),
            DiscoveryFilter::new("aws", ["999999999999"]).unwrap(),
        );
        assert!(AsyncKeyring::on_decrypt(&wrong, &r).await.is_err());
    }

    #[test]
    fn bare_key_id_matches_arn_answers() {
        let kms = Arc::new(StaticKms::new());
        let id = KEY_A.rsplit_once("key/").unwrap().1;
        let ring = KmsKeyring::new(Arc::clone(&kms), id).unwrap();
        let m = encrypt(&ring, Suite::AesGcm, &ctx(&[]));
        assert!(
            Keyring::on_decrypt(&ring, &dreq(Suite::AesGcm, &m.encrypted, None))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn context_rules() {
        // spec: materials/s3-kms-keyring.md#kmscontext/2-4
        let ring = KmsKeyring::new(StaticKms::new(), KEY_A).unwrap();
        let c = ctx(&[("dept", "x")]);
        let m = encrypt(&ring, Suite::AesGcmCommitting, &c);
        let s = Suite::AesGcmCommitting;
        // No expected context for an object with one: mismatch.
        assert!(matches!(
            Keyring::on_decrypt(&ring, &dreq(s, &m.encrypted, None)),
            Err(KeyringError::ContextMismatch { .. })
        ));
        let wrong = ctx(&[("dept", "y")]);
        assert!(matches!(
            Keyring::on_decrypt(&ring, &dreq(s, &m.encrypted, Some(&wrong))),
            Err(KeyringError::ContextMismatch { .. })
        ));
        // Stored context tampered, and the caller expecting the tampered one:
        // KMS refuses (the blob is bound to the original).
        let mut tampered = m.encrypted.clone();
        tampered.stored_map.insert("dept".into(), "y".into());
        assert!(matches!(
            Keyring::on_decrypt(&ring, &dreq(s, &tampered, Some(&wrong))),
            Err(KeyringError::UnwrapFailed)
        ));
        // Content cipher relabelled.
        let mut r = dreq(s, &m.encrypted, Some(&c));
        r.cek_alg = "AES/GCM/NoPadding";
        r.suite = Suite::AesGcm;
        assert!(matches!(
            Keyring::on_decrypt(&ring, &r),
            Err(KeyringError::CekAlgMismatch)
        ));
        // Reserved keys from the caller.
        for key in [RESERVED_CEK_ALG, KMS_CMK_ID] {
            let bad = ctx(&[(key, "x")]);
            let e = Keyring::on_encrypt(
                &ring,
                &EncryptRequest {
                    suite: s,
                    context: &bad,
                },
            )
            .unwrap_err();
            assert!(
                matches!(e, KeyringError::ReservedContextKey { key: ref k } if k == key),
                "{e}"
            );
        }
        // Legacy suites are not written.
        assert!(Keyring::on_encrypt(
            &ring,
            &EncryptRequest {
                suite: Suite::AesCbc,
                context: &c
            }
        )
        .is_err());
    }

    #[test]
    fn tampered_or_garbage_blobs() {
        let ring = KmsKeyring::new(StaticKms::new(), KEY_A).unwrap();
        let m = encrypt(&ring, Suite::AesGcm, &ctx(&[]));
        let mut t = m.encrypted.clone();
        *t.ciphertext.last_mut().unwrap() ^= 1;
        assert!(matches!(
            Keyring::on_decrypt(&ring, &dreq(Suite::AesGcm, &t, None)),
            Err(KeyringError::UnwrapFailed)
        ));
        for blob in [&[][..], &[0u8][..], &[0xff; 4096][..]] {
            t.ciphertext = blob.to_vec();
            let r = Keyring::on_decrypt(&ring, &dreq(Suite::AesGcm, &t, None));
            assert!(matches!(r, Err(KeyringError::UnwrapFailed)), "{r:?}");
        }
    }

    #[test]
    fn other_wraps_and_legacy_kms() {
        // spec: materials/s3-kms-keyring.md#decryptdatakey/1 materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/2-3
        let kms = Arc::new(StaticKms::new());
        let ring = KmsKeyring::new(Arc::clone(&kms), KEY_A).unwrap();
        let m = encrypt(&ring, Suite::AesGcm, &ctx(&[]));
        for wrap in [
            WrapAlg::AesGcm,
            WrapAlg::RsaOaepSha1,
            WrapAlg::AesWrap,
            WrapAlg::RsaPkcs1,
        ] {
            let mut e = m.encrypted.clone();
            e.wrap = wrap;
            let mut r = dreq(Suite::AesGcm, &e, None);
            r.legacy = LegacyOptions::ALL;
            assert!(Keyring::on_decrypt(&ring, &r).unwrap().is_none());
        }
        // A legacy kms object: context {kms_cmk_id: key}, no cek-alg binding.
        let legacy_ctx = ctx(&[(KMS_CMK_ID, KEY_A)]);
        kms.add_entry(KEY_A, b"legacy-blob", &legacy_ctx, &[7; 32]);
        let e = EncryptedDataKey {
            wrap: WrapAlg::Kms,
            ciphertext: b"legacy-blob".to_vec(),
            stored_map: legacy_ctx.clone(),
        };
        let mut r = dreq(Suite::AesCbc, &e, None);
        assert!(matches!(
            Keyring::on_decrypt(&ring, &r),
            Err(KeyringError::LegacyWrappingDisabled { wrap: WrapAlg::Kms })
        ));
        r.legacy.wrapping_algorithms = true;
        let k = Keyring::on_decrypt(&ring, &r).unwrap().unwrap();
        assert_eq!(k.as_bytes(), &[7; 32]);
        // kms+context relabelled as kms.
        let mut relabelled = m.encrypted.clone();
        relabelled.wrap = WrapAlg::Kms;
        let mut r = dreq(Suite::AesGcm, &relabelled, None);
        r.legacy = LegacyOptions::ALL;
        assert!(matches!(
            Keyring::on_decrypt(&ring, &r),
            Err(KeyringError::RelabelledKmsContext)
        ));
    }

    #[test]
    fn bad_key_ids_and_bad_answers() {
        assert!(KmsKeyring::new(StaticKms::new(), "").is_err());
        assert!(KmsKeyring::new(StaticKms::new(), " key").is_err());
        // An alias cannot be resolved by the fake: the service error shows.
        let ring = KmsKeyring::new(StaticKms::new(), "alias/x").unwrap();
        let e = Keyring::on_encrypt(
            &ring,
            &EncryptRequest {
                suite: Suite::AesGcm,
                context: &ctx(&[]),
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                KeyringError::Service {
                    operation: "GenerateDataKey",
                    ..
                }
            ),
            "{e}"
        );
        let dbg = format!("{ring:?}");
        assert!(dbg.contains("alias/x"), "{dbg}");
    }
}

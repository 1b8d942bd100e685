//! The two KMS operations the keyring needs, behind a trait so the keyring
//! logic can be tested against a strict fake ([`crate::testing::StaticKms`]).

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use s3ec_keyring::{BoxFuture, Context, DataKey};

/// A data key made by KMS `GenerateDataKey`.
#[derive(Debug)]
pub struct GeneratedDataKey {
    /// The plaintext data key (zeroized on drop).
    pub data_key: DataKey,
    /// The encrypted data key (`CiphertextBlob`), stored with the object.
    pub ciphertext: Vec<u8>,
    /// The ARN of the KMS key that encrypted it (the response's `KeyId`).
    pub key_id: String,
}

/// A data key wrapped by KMS `Encrypt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedBlob {
    /// The encrypted data key (`CiphertextBlob`), stored with the object.
    pub ciphertext: Vec<u8>,
    /// The ARN of the KMS key that encrypted it (the response's `KeyId`).
    pub key_id: String,
}

/// A data key unwrapped by KMS `Decrypt`.
#[derive(Debug)]
pub struct DecryptedDataKey {
    /// The plaintext data key (zeroized on drop).
    pub data_key: DataKey,
    /// The ARN of the KMS key that decrypted it (the response's `KeyId`),
    /// when the service reports it.
    pub key_id: Option<String>,
}

/// What kind of failure a KMS call reported; the keyring decides from this
/// whether a wrapped key is "not mine" or broken.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KmsErrorKind {
    /// The ciphertext was encrypted under a different KMS key than the one
    /// named in the request (`IncorrectKeyException`).
    IncorrectKey,
    /// The ciphertext names a KMS key that does not exist here or that the
    /// caller may not use (KMS answers `AccessDeniedException` "The
    /// ciphertext refers to a customer master key that does not exist, does
    /// not exist in this region, or you are not allowed to access."; moto
    /// answers a `KeyId` that is not the blob's key with a bare
    /// `AccessDeniedException`).
    UnknownKey,
    /// The ciphertext or its encryption context is wrong
    /// (`InvalidCiphertextException`): a tampered blob, or a context that is
    /// not the one it was made with.
    InvalidCiphertext,
    /// The caller may not use the named key (`AccessDeniedException`).
    AccessDenied,
    /// The named key does not exist (`NotFoundException`).
    NotFound,
    /// Anything else: a disabled key, throttling, a transport failure, an
    /// invalid response.
    Other,
}

/// A failed KMS call.
#[derive(Debug)]
pub struct KmsError {
    kind: KmsErrorKind,
    operation: &'static str,
    code: Option<String>,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl KmsError {
    /// A new error of `kind` from `operation` (`GenerateDataKey`,
    /// `Decrypt`) with a message.
    pub fn new(kind: KmsErrorKind, operation: &'static str, message: impl Into<String>) -> Self {
        KmsError {
            kind,
            operation,
            code: None,
            message: message.into(),
            source: None,
        }
    }

    /// Attach the service's error code (e.g. `InvalidCiphertextException`).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Attach the underlying error.
    pub fn with_source(mut self, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> KmsErrorKind {
        self.kind
    }

    /// The KMS operation that failed.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The service's error code, if it answered with one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The error message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for KmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KMS {}", self.operation)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl StdError for KmsError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.source {
            Some(s) => Some(s.as_ref()),
            None => None,
        }
    }
}

/// The KMS operations a [`crate::KmsKeyring`] calls.
///
/// [`crate::AwsKms`] implements it over the AWS SDK;
/// [`crate::testing::StaticKms`] is a strict in-memory fake.
pub trait KmsClient: Send + Sync + fmt::Debug {
    /// `GenerateDataKey` with `KeyId` = `key_id`, `KeySpec` = `AES_256` and
    /// `EncryptionContext` = `context`.
    fn generate_data_key<'a>(
        &'a self,
        key_id: &'a str,
        context: &'a Context,
    ) -> BoxFuture<'a, Result<GeneratedDataKey, KmsError>>;

    /// `Decrypt` with `CiphertextBlob` = `ciphertext`, `EncryptionContext` =
    /// `context`, and `KeyId` = `key_id` when given (omitted in discovery
    /// mode).
    fn decrypt<'a>(
        &'a self,
        ciphertext: &'a [u8],
        context: &'a Context,
        key_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<DecryptedDataKey, KmsError>>;

    /// `Encrypt` of an existing data key with `KeyId` = `key_id` and
    /// `EncryptionContext` = `context` (a key rotation). The default
    /// refuses.
    fn encrypt<'a>(
        &'a self,
        key_id: &'a str,
        data_key: &'a DataKey,
        context: &'a Context,
    ) -> BoxFuture<'a, Result<EncryptedBlob, KmsError>> {
        let _ = (key_id, data_key, context);
        Box::pin(std::future::ready(Err(KmsError::new(
            KmsErrorKind::Other,
            "Encrypt",
            "this KMS client does not implement Encrypt",
        ))))
    }
}

impl<T: KmsClient + ?Sized> KmsClient for Arc<T> {
    fn generate_data_key<'a>(
        &'a self,
        key_id: &'a str,
        context: &'a Context,
    ) -> BoxFuture<'a, Result<GeneratedDataKey, KmsError>> {
        (**self).generate_data_key(key_id, context)
    }

    fn decrypt<'a>(
        &'a self,
        ciphertext: &'a [u8],
        context: &'a Context,
        key_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<DecryptedDataKey, KmsError>> {
        (**self).decrypt(ciphertext, context, key_id)
    }

    fn encrypt<'a>(
        &'a self,
        key_id: &'a str,
        data_key: &'a DataKey,
        context: &'a Context,
    ) -> BoxFuture<'a, Result<EncryptedBlob, KmsError>> {
        (**self).encrypt(key_id, data_key, context)
    }
}

impl<T: KmsClient + ?Sized> KmsClient for Box<T> {
    fn generate_data_key<'a>(
        &'a self,
        key_id: &'a str,
        context: &'a Context,
    ) -> BoxFuture<'a, Result<GeneratedDataKey, KmsError>> {
        (**self).generate_data_key(key_id, context)
    }

    fn decrypt<'a>(
        &'a self,
        ciphertext: &'a [u8],
        context: &'a Context,
        key_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<DecryptedDataKey, KmsError>> {
        (**self).decrypt(ciphertext, context, key_id)
    }

    fn encrypt<'a>(
        &'a self,
        key_id: &'a str,
        data_key: &'a DataKey,
        context: &'a Context,
    ) -> BoxFuture<'a, Result<EncryptedBlob, KmsError>> {
        (**self).encrypt(key_id, data_key, context)
    }
}

/// Whether `arn` is a KMS key ARN: `arn:<partition>:kms:<region>:<account>:key/<id>`
/// (spec `framework/aws-kms/aws-kms-key-arn.md`, "A valid AWS KMS ARN",
/// restricted to key resources as `s3-kms-keyring.md` EncryptDataKey asks of
/// the response's `KeyId`).
pub fn is_key_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "kms", region, account, resource] => {
            !partition.is_empty()
                && !region.is_empty()
                && !account.is_empty()
                && resource
                    .strip_prefix("key/")
                    .is_some_and(|id| !id.is_empty())
        }
        _ => false,
    }
}

/// Whether two KMS key identifiers name the same key, as far as can be told
/// without asking KMS: equal, or a key ARN and the bare key id it ends with.
/// `None` when it cannot be told (an alias on either side).
pub fn same_key(a: &str, b: &str) -> Option<bool> {
    if a == b {
        return Some(true);
    }
    let is_alias = |s: &str| s.starts_with("alias/") || s.contains(":alias/");
    if is_alias(a) || is_alias(b) {
        return None;
    }
    let bare = |s: &'_ str| -> String {
        match s.rsplit_once(":key/") {
            Some((_, id)) if s.starts_with("arn:") => id.to_string(),
            _ => s.to_string(),
        }
    };
    let (a_arn, b_arn) = (a.starts_with("arn:"), b.starts_with("arn:"));
    if a_arn && b_arn {
        // Two different ARNs are two different keys.
        return Some(false);
    }
    Some(bare(a) == bare(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        assert!(is_key_arn(
            "arn:aws:kms:us-east-1:123456789012:key/8577a5f6-99b0-4912-a8e7-677ff6ab07fd"
        ));
        assert!(!is_key_arn("arn:aws:kms:us-east-1:123456789012:alias/x"));
        assert!(!is_key_arn("8577a5f6-99b0-4912-a8e7-677ff6ab07fd"));
        assert!(!is_key_arn("arn:aws:kms:us-east-1:123456789012:key/"));
        assert!(!is_key_arn("arn:aws:s3:us-east-1:123456789012:key/x"));
    }

    #[test]
    fn key_identity() {
        let arn = "arn:aws:kms:us-east-1:123456789012:key/abc";
        assert_eq!(same_key(arn, "abc"), Some(true));
        assert_eq!(same_key("abc", arn), Some(true));
        assert_eq!(same_key(arn, "abd"), Some(false));
        assert_eq!(
            same_key(arn, "arn:aws:kms:us-west-2:123456789012:key/abc"),
            Some(false)
        );
        assert_eq!(same_key(arn, "alias/mine"), None);
        assert_eq!(same_key("abc", "abc"), Some(true));
    }

    #[test]
    fn error_display() {
        let e = KmsError::new(KmsErrorKind::InvalidCiphertext, "Decrypt", "bad blob")
            .with_code("InvalidCiphertextException");
        assert_eq!(
            e.to_string(),
            "KMS Decrypt (InvalidCiphertextException): bad blob"
        );
        assert_eq!(e.kind(), KmsErrorKind::InvalidCiphertext);
        assert!(e.source().is_none());
    }
}

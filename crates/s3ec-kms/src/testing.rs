//! Test doubles: [`StaticKms`], a strict in-memory stand-in for KMS.
//!
//! Used by this crate's tests, by the interop-vector checks (`cargo xtask
//! vectors check`) and by other crates' tests that need a KMS keyring
//! without a network.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rand::rngs::OsRng;
use rand::RngCore;
use s3ec_keyring::{BoxFuture, Context, DataKey};
use zeroize::Zeroizing;

use crate::client::{
    is_key_arn, same_key, DecryptedDataKey, GeneratedDataKey, KmsClient, KmsError, KmsErrorKind,
};

/// A strict fake of KMS.
///
/// `Decrypt` returns a recorded data key only when the ciphertext blob
/// **and** the encryption context it is given both equal a recorded pair,
/// and the `KeyId`, if any, names the recorded key; otherwise it fails as
/// real KMS does (`InvalidCiphertextException` for an unknown blob or a
/// different context, `IncorrectKeyException` for another key).
///
/// Pairs are recorded with [`StaticKms::add_entry`] (e.g. from an interop
/// vector's `data_key_b64`, `ciphertext_blob_b64` and
/// `kms_encryption_context`) or by `GenerateDataKey`, which makes a random
/// 256-bit key and an opaque blob for any key id or key ARN (aliases are
/// answered `NotFoundException`).
///
/// ```
/// use s3ec_keyring::Context;
/// use s3ec_kms::{testing::StaticKms, KmsClient};
///
/// let kms = StaticKms::new();
/// let ctx = Context::from([("kms_cmk_id".to_string(), "k1".to_string())]);
/// kms.add_entry("k1", b"blob", &ctx, &[7; 32]);
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let key = rt.block_on(kms.decrypt(b"blob", &ctx, Some("k1"))).unwrap();
/// assert_eq!(key.data_key.as_bytes(), &[7; 32]);
/// assert!(rt.block_on(kms.decrypt(b"blob", &Context::new(), None)).is_err());
/// ```
#[derive(Debug, Default)]
pub struct StaticKms {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: Vec<Entry>,
    decrypts: Vec<DecryptCall>,
}

struct Entry {
    key_id: String,
    ciphertext: Vec<u8>,
    context: Context,
    data_key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

/// One `Decrypt` request [`StaticKms`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptCall {
    /// The `CiphertextBlob`.
    pub ciphertext: Vec<u8>,
    /// The `EncryptionContext`.
    pub context: Context,
    /// The `KeyId`, if one was sent.
    pub key_id: Option<String>,
}

/// The account and region of the ARNs [`StaticKms`] makes for bare key ids.
const FAKE_ARN_PREFIX: &str = "arn:aws:kms:us-east-1:111122223333:key/";

impl StaticKms {
    /// An empty fake.
    pub fn new() -> StaticKms {
        StaticKms::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Record that `ciphertext`, made by KMS key `key_id` (key id or ARN)
    /// under `context`, decrypts to `data_key`.
    pub fn add_entry(&self, key_id: &str, ciphertext: &[u8], context: &Context, data_key: &[u8]) {
        self.state().entries.push(Entry {
            key_id: key_id.to_string(),
            ciphertext: ciphertext.to_vec(),
            context: context.clone(),
            data_key: Zeroizing::new(data_key.to_vec()),
        });
    }

    /// [`StaticKms::add_entry`], builder style.
    pub fn with_entry(
        self,
        key_id: &str,
        ciphertext: &[u8],
        context: &Context,
        data_key: &[u8],
    ) -> StaticKms {
        self.add_entry(key_id, ciphertext, context, data_key);
        self
    }

    /// The `Decrypt` requests received so far, oldest first.
    pub fn decrypt_calls(&self) -> Vec<DecryptCall> {
        self.state().decrypts.clone()
    }

    fn generate(&self, key_id: &str, context: &Context) -> Result<GeneratedDataKey, KmsError> {
        const OP: &str = "GenerateDataKey";
        let arn = if is_key_arn(key_id) {
            key_id.to_string()
        } else if key_id.starts_with("alias/") || key_id.contains(":alias/") || key_id.is_empty() {
            return Err(KmsError::new(
                KmsErrorKind::NotFound,
                OP,
                format!("StaticKms knows no key {key_id:?}"),
            )
            .with_code("NotFoundException"));
        } else {
            format!("{FAKE_ARN_PREFIX}{key_id}")
        };
        let mut key = Zeroizing::new([0u8; 32]);
        let mut nonce = [0u8; 16];
        OsRng
            .try_fill_bytes(&mut key[..])
            .and_then(|()| OsRng.try_fill_bytes(&mut nonce))
            .map_err(|e| KmsError::new(KmsErrorKind::Other, OP, format!("no randomness: {e}")))?;
        let mut blob = format!("static-kms:{arn}:").into_bytes();
        blob.extend_from_slice(&nonce);
        let data_key = DataKey::from_slice(&key[..])
            .map_err(|e| KmsError::new(KmsErrorKind::Other, OP, e.to_string()))?;
        self.add_entry(&arn, &blob, context, &key[..]);
        Ok(GeneratedDataKey {
            data_key,
            ciphertext: blob,
            key_id: arn,
        })
    }

    fn unwrap(
        &self,
        ciphertext: &[u8],
        context: &Context,
        key_id: Option<&str>,
    ) -> Result<DecryptedDataKey, KmsError> {
        const OP: &str = "Decrypt";
        let mut state = self.state();
        state.decrypts.push(DecryptCall {
            ciphertext: ciphertext.to_vec(),
            context: context.clone(),
            key_id: key_id.map(str::to_string),
        });
        let invalid = || {
            KmsError::new(KmsErrorKind::InvalidCiphertext, OP, "")
                .with_code("InvalidCiphertextException")
        };
        let entry = state
            .entries
            .iter()
            .find(|e| e.ciphertext == ciphertext)
            .ok_or_else(invalid)?;
        if let Some(k) = key_id {
            if same_key(k, &entry.key_id) == Some(false) {
                return Err(KmsError::new(
                    KmsErrorKind::IncorrectKey,
                    OP,
                    "The key ID in the request does not identify a CMK that can perform this operation.",
                )
                .with_code("IncorrectKeyException"));
            }
        }
        if entry.context != *context {
            return Err(invalid());
        }
        let data_key = DataKey::from_slice(&entry.data_key)
            .map_err(|e| KmsError::new(KmsErrorKind::Other, OP, e.to_string()))?;
        Ok(DecryptedDataKey {
            data_key,
            key_id: Some(entry.key_id.clone()),
        })
    }
}

impl KmsClient for StaticKms {
    fn generate_data_key<'a>(
        &'a self,
        key_id: &'a str,
        context: &'a Context,
    ) -> BoxFuture<'a, Result<GeneratedDataKey, KmsError>> {
        Box::pin(std::future::ready(self.generate(key_id, context)))
    }

    fn decrypt<'a>(
        &'a self,
        ciphertext: &'a [u8],
        context: &'a Context,
        key_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<DecryptedDataKey, KmsError>> {
        Box::pin(std::future::ready(self.unwrap(ciphertext, context, key_id)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn block<T>(f: BoxFuture<'_, T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn strict() {
        let kms = StaticKms::new();
        let c = Context::from([("a".to_string(), "1".to_string())]);
        kms.add_entry("k1", b"blob", &c, &[1; 16]);
        let ok = block(kms.decrypt(b"blob", &c, None)).unwrap();
        assert_eq!(ok.data_key.as_bytes(), &[1; 16]);
        let ok = block(kms.decrypt(b"blob", &c, Some(&format!("{FAKE_ARN_PREFIX}k1")))).unwrap();
        assert_eq!(ok.key_id.as_deref(), Some("k1"));
        let e = block(kms.decrypt(b"blob", &Context::new(), None)).unwrap_err();
        assert_eq!(e.kind(), KmsErrorKind::InvalidCiphertext);
        let e = block(kms.decrypt(b"blob!", &c, None)).unwrap_err();
        assert_eq!(e.kind(), KmsErrorKind::InvalidCiphertext);
        let e = block(kms.decrypt(b"blob", &c, Some("k2"))).unwrap_err();
        assert_eq!(e.kind(), KmsErrorKind::IncorrectKey);
        assert_eq!(kms.decrypt_calls().len(), 5);
        let g = block(kms.generate_data_key("k3", &c)).unwrap();
        assert!(is_key_arn(&g.key_id));
        let d = block(kms.decrypt(&g.ciphertext, &c, Some("k3"))).unwrap();
        assert_eq!(d.data_key.as_bytes(), g.data_key.as_bytes());
    }
}

//! # s3ec-local
//!
//! Keyrings for local (customer-held) master keys, for the s3ec Amazon S3
//! Encryption Client:
//!
//! | keyring | writes | reads (current) | reads (legacy, opt-in) |
//! |---|---|---|---|
//! | [`AesKeyring`] | `AES/GCM` (V3 `02`) | `AES/GCM` | `AESWrap` (RFC 3394), V1 `AES` (AES-ECB) |
//! | [`RsaKeyring`] | `RSA-OAEP-SHA1` (V3 `22`) | `RSA-OAEP-SHA1` | V1 `RSA` (PKCS#1 v1.5), `RSA/ECB/OAEPWithSHA-256AndMGF1Padding` |
//!
//! Both implement [`s3ec_keyring::Keyring`]. Each makes a fresh 256-bit data
//! key per object from the operating system's RNG and wraps it; the wrap
//! binds the content cipher (`x-amz-cek-alg` / `x-amz-c`) so that a GCM→CBC
//! relabel fails to unwrap. Legacy wraps are read only when the caller
//! enables [`LegacyOptions::wrapping_algorithms`].
//!
//! Spec `s3-keyring.md` OnDecrypt: a keyring MUST refuse any number of
//! encrypted data keys other than one; a [`DecryptRequest`] carries exactly
//! one, so the rule holds by construction.
//!
//! [`DecryptRequest`]: s3ec_keyring::DecryptRequest
//!
//! ## Material descriptions
//!
//! A raw-key keyring stores its *material description* (a free-form map
//! naming the key) beside the object (`x-amz-matdesc` in V1/V2, `x-amz-m` in
//! V3). Nothing authenticates it (reference errata E4): it only selects
//! keys. On decrypt, a keyring whose description equals the stored one
//! treats a failed unwrap as an error ([`KeyringError::UnwrapFailed`]: "my
//! key, and it failed"); a keyring whose description differs still tries
//! (a reader configured with one key must decrypt) and on failure answers
//! `Ok(None)` ("not mine"), so that [`s3ec_keyring::Keyrings`] can try the
//! next key.
//!
//! ## RSA and the Marvin attack
//!
//! Every RSA private-key operation runs in AWS-LC (through `aws-lc-rs`),
//! whose RSA decryption is blinded and uses constant-time modular
//! exponentiation and constant-time padding checks; the pure-Rust `rsa`
//! crate is not used (RUSTSEC-2023-0071). See [`RsaKeyring`] for the residual
//! risk of the legacy PKCS#1 v1.5 read.
//!
//! ```
//! use s3ec_keyring::{Context, DecryptRequest, EncryptRequest, Keyring, LegacyOptions};
//! use s3ec_core::Suite;
//! use s3ec_local::AesKeyring;
//!
//! let ring = AesKeyring::new(&[0x42; 32])?;
//! let none = Context::new();
//! let mats = ring.on_encrypt(&EncryptRequest { suite: Suite::AesGcmCommitting, context: &none })?;
//!
//! let dk = ring.on_decrypt(&DecryptRequest {
//!     suite: Suite::AesGcmCommitting,
//!     wrap: mats.encrypted.wrap,
//!     encrypted_key: &mats.encrypted.ciphertext,
//!     cek_alg: "115",
//!     stored_map: &mats.encrypted.stored_map,
//!     expected_context: None,
//!     legacy: LegacyOptions::default(),
//! })?;
//! assert_eq!(dk.map(|k| k.as_bytes().to_vec()), Some(mats.data_key.as_bytes().to_vec()));
//! # Ok::<(), s3ec_keyring::KeyringError>(())
//! ```
//!
//! [`LegacyOptions::wrapping_algorithms`]: s3ec_keyring::LegacyOptions::wrapping_algorithms
//! [`KeyringError::UnwrapFailed`]: s3ec_keyring::KeyringError::UnwrapFailed

// No unsafe code here: the one FFI call this crate needs (legacy OAEP with
// SHA-256 and MGF1-SHA-1) lives in s3ec-aws-lc's FFI module.
#![forbid(unsafe_code)]

mod aes;
mod rsa;

pub use aes::AesKeyring;
pub use rsa::{LegacyRsaWrap, RsaKeyring};

use s3ec_core::DataKey;
use s3ec_keyring::{Context, KeyringError};

/// Whether the stored material description names this keyring's key
/// (errata E4: it is unauthenticated and only selects keys).
fn names_this_key(stored: &Context, mine: &Context) -> bool {
    stored == mine
}

/// The outcome of an unwrap attempt under the material-description rule:
/// an authentication failure is "my key, failed" when the stored
/// description is this keyring's, and "not mine" otherwise. Format errors
/// (an EDK of impossible length) are errors either way.
fn unwrap_outcome(
    result: Result<DataKey, s3ec_core::Error>,
    stored: &Context,
    mine: &Context,
) -> Result<Option<DataKey>, KeyringError> {
    match result {
        Ok(dk) => Ok(Some(dk)),
        Err(s3ec_core::Error::Authentication) => {
            if names_this_key(stored, mine) {
                Err(KeyringError::UnwrapFailed)
            } else {
                Ok(None)
            }
        }
        Err(e) => Err(KeyringError::Core(e)),
    }
}

/// Local keyrings do no I/O, so each is an [`AsyncKeyring`] as it is (no
/// `Local(..)` wrapper needed on the async client).
macro_rules! async_by_blocking {
    ($t:ty) => {
        impl s3ec_keyring::AsyncKeyring for $t {
            fn on_encrypt<'a>(
                &'a self,
                req: &'a s3ec_keyring::EncryptRequest<'a>,
            ) -> s3ec_keyring::BoxFuture<
                'a,
                Result<s3ec_keyring::EncryptionMaterials, KeyringError>,
            > {
                Box::pin(std::future::ready(s3ec_keyring::Keyring::on_encrypt(
                    self, req,
                )))
            }
            fn on_decrypt<'a>(
                &'a self,
                req: &'a s3ec_keyring::DecryptRequest<'a>,
            ) -> s3ec_keyring::BoxFuture<'a, Result<Option<DataKey>, KeyringError>> {
                Box::pin(std::future::ready(s3ec_keyring::Keyring::on_decrypt(
                    self, req,
                )))
            }
        }
    };
}
async_by_blocking!(AesKeyring);
async_by_blocking!(RsaKeyring);

//! Key commitment for suite `0x0073` (`ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY`).
//!
//! Spec `s3-encryption/key-derivation.md` §HKDF Operation:
//!
//! ```text
//! PRK = HKDF-Extract-SHA512(salt = message id (28 B), IKM = data key (32 B))
//! CK  = HKDF-Expand(PRK, info = 00 73 || "COMMITKEY", 28 B)   -> x-amz-d
//! DEK = HKDF-Expand(PRK, info = 00 73 || "DERIVEKEY", 32 B)   -> content key
//! ```
//!
//! On decryption the stored commitment is compared with the computed one in
//! constant time, and only then is the content key derived
//! (spec `s3-encryption/decryption.md` §Decrypting With Commitment).

use core::fmt;

use hkdf::Hkdf;
use sha2::Sha512;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Error;
use crate::suite::{Suite, COMMITMENT_LEN, MESSAGE_ID_LEN};

/// A V3 key commitment (`x-amz-d`, 28 bytes). Not secret.
pub type Commitment = [u8; COMMITMENT_LEN];

/// The HKDF-derived content encryption key of suite `0x0073`. Zeroized on
/// drop; `Debug` prints no key bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DerivedKey([u8; 32]);

impl DerivedKey {
    /// The key bytes (AES-256).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(redacted)")
    }
}

/// Info strings: the suite id as big-endian bytes, then the label
/// (spec `key-derivation.md` §HKDF Operation: info MUST be the suite id
/// bytes followed by `DERIVEKEY` / `COMMITKEY` as UTF-8).
const COMMIT_LABEL: &[u8] = b"COMMITKEY";
const DERIVE_LABEL: &[u8] = b"DERIVEKEY";

/// Extract step (spec `key-derivation.md` §HKDF Operation: hash from the
/// suite = SHA-512; IKM MUST be the 32-byte data key; salt MUST be the
/// message id). The lengths are enforced by the argument types.
// spec: key-derivation.md#hkdf-operation/1-4 (SHA-512; IKM = the 32-byte data key; salt = the 28-byte message id)
fn extract(data_key: &[u8; 32], message_id: &[u8; MESSAGE_ID_LEN]) -> Prk {
    Prk(Hkdf::<Sha512>::new(Some(message_id), data_key))
}

/// The HKDF state after the extract step: an HMAC keyed with the PRK, a
/// function of the data key as secret as the data key itself. The hkdf
/// crate's state has no `Zeroize`, so on drop it is overwritten in place
/// with the state of an all-zero PRK (and the store kept observable).
struct Prk(Hkdf<Sha512>);

impl Prk {
    fn wipe(&mut self) {
        if let Ok(zero) = Hkdf::<Sha512>::from_prk(&[0u8; 64]) {
            self.0 = zero;
        }
        core::hint::black_box(&mut self.0);
    }
}

impl Drop for Prk {
    fn drop(&mut self) {
        self.wipe();
    }
}

// spec: key-derivation.md#hkdf-operation/8-10 (CK: from the extract PRK, 28 bytes, info = suite id || COMMITKEY)
fn expand_commitment(prk: &Prk) -> Result<Commitment, Error> {
    let mut ck = [0u8; COMMITMENT_LEN];
    prk.0
        .expand_multi_info(
            &[&Suite::AesGcmCommitting.id_bytes(), COMMIT_LABEL],
            &mut ck,
        )
        .map_err(|_| Error::LimitExceeded)?;
    Ok(ck)
}

// spec: key-derivation.md#hkdf-operation/5-7 (DEK: from the extract PRK, 32 bytes, info = suite id || DERIVEKEY)
fn expand_key(prk: &Prk) -> Result<DerivedKey, Error> {
    // Spec `key-derivation.md`: the derived key length MUST be the suite's
    // encryption key length (256 bits).
    let mut k = DerivedKey([0u8; 32]);
    prk.0
        .expand_multi_info(
            &[&Suite::AesGcmCommitting.id_bytes(), DERIVE_LABEL],
            &mut k.0,
        )
        .map_err(|_| Error::LimitExceeded)?;
    Ok(k)
}

fn check_message_id(message_id: &[u8; MESSAGE_ID_LEN]) -> Result<(), Error> {
    crate::cipher::gcm::check_iv(message_id)
}

/// Derive the content key and the key commitment for encryption.
///
/// Rejects an all-zero message id ([`crate::InputError::ZeroIv`];
/// spec `encryption.md` §Cipher Initialization: SHOULD validate that the
/// generated IV / message id is not zeros).
///
/// ```
/// use s3ec_core::cipher::kdf;
/// let (key, commitment) = kdf::derive_for_encrypt(&[1u8; 32], &[2u8; 28])?;
/// let again = kdf::derive_for_decrypt(&[1u8; 32], &[2u8; 28], &commitment)?;
/// assert_eq!(key.as_bytes(), again.as_bytes());
/// assert!(kdf::derive_for_decrypt(&[3u8; 32], &[2u8; 28], &commitment).is_err());
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub fn derive_for_encrypt(
    data_key: &[u8; 32],
    message_id: &[u8; MESSAGE_ID_LEN],
) -> Result<(DerivedKey, Commitment), Error> {
    check_message_id(message_id)?;
    let prk = extract(data_key, message_id);
    // Spec `encryption.md` §ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY: the
    // commitment MUST be returned so it can go into the content metadata.
    // spec: encryption.md#alg_aes_256_gcm_hkdf_sha512_commit_key/2 (the commitment goes back to the caller for x-amz-d)
    let ck = expand_commitment(&prk)?;
    let k = expand_key(&prk)?;
    Ok((k, ck))
}

/// Verify the stored commitment, then derive the content key.
///
/// Spec `s3-encryption/decryption.md` §Decrypting With Commitment: the
/// derived commitment MUST equal the stored one, compared in constant time;
/// a mismatch MUST raise an error ([`Error::Authentication`]); the check
/// MUST happen before the encryption key is derived.
pub fn derive_for_decrypt(
    data_key: &[u8; 32],
    message_id: &[u8; MESSAGE_ID_LEN],
    stored_commitment: &Commitment,
) -> Result<DerivedKey, Error> {
    check_message_id(message_id)?;
    let prk = extract(data_key, message_id);
    let mut ck = expand_commitment(&prk)?;
    let same = bool::from(ck.ct_eq(stored_commitment));
    ck.zeroize();
    // spec: decryption.md#decrypting-with-commitment/1 decryption.md#decrypting-with-commitment/3 (stored and derived commitment differ: refuse)
    if !same {
        return Err(Error::Authentication);
    }
    expand_key(&prk)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::error::InputError;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// s3ec-format.md §4.3 known answer.
    #[test]
    fn known_answer() {
        // spec: key-derivation.md#hkdf-operation/1-10
        let dk: [u8; 32] = core::array::from_fn(|i| i as u8);
        let mid: [u8; 28] = core::array::from_fn(|i| 0x40 + i as u8);
        let (k, ck) = derive_for_encrypt(&dk, &mid).unwrap();
        assert_eq!(
            k.as_bytes(),
            &h::<32>("35f108bd2c11d0a8334d2c5d6e7dacb51d477b00723a49466ef1dff41ff45d52")
        );
        assert_eq!(
            ck,
            h::<28>("0e7419e5cfb7c60d57a748d87c03278749350c9bb4c973f4f40831f4")
        );
        let k2 = derive_for_decrypt(&dk, &mid, &ck).unwrap();
        assert_eq!(k2.as_bytes(), k.as_bytes());
        for i in 0..28 {
            let mut bad = ck;
            bad[i] ^= 0x80;
            assert_eq!(
                derive_for_decrypt(&dk, &mid, &bad).map(|_| ()),
                Err(Error::Authentication)
            );
        }
        assert_eq!(format!("{k:?}"), "DerivedKey(redacted)");
    }

    /// The PRK-keyed HKDF state is overwritten when wiped (as on drop):
    /// it then expands like the all-zero PRK, not like the data key's.
    #[test]
    fn prk_state_is_wiped() {
        let mut prk = extract(&[9; 32], &[5; 28]);
        let zero = Prk(Hkdf::<Sha512>::from_prk(&[0u8; 64]).unwrap());
        let before = expand_commitment(&prk).unwrap();
        assert_ne!(before, expand_commitment(&zero).unwrap());
        prk.wipe();
        assert_eq!(
            expand_commitment(&prk).unwrap(),
            expand_commitment(&zero).unwrap()
        );
        assert_ne!(expand_commitment(&prk).unwrap(), before);
    }

    #[test]
    fn zero_message_id_rejected() {
        assert_eq!(
            derive_for_encrypt(&[1; 32], &[0; 28]).map(|_| ()),
            Err(InputError::ZeroIv.into())
        );
        assert_eq!(
            derive_for_decrypt(&[1; 32], &[0; 28], &[0; 28]).map(|_| ()),
            Err(InputError::ZeroIv.into())
        );
    }
}

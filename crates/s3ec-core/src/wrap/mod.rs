//! Allocation-free key wraps: how the data key is encrypted under a raw
//! (customer-held) master key and stored in `x-amz-key`, `x-amz-key-v2` or
//! `x-amz-3`.
//!
//! | module | stored name | status |
//! |---|---|---|
//! | [`aes_gcm`] | `AES/GCM` (V2), `02` (V3) | current: wrap and unwrap |
//! | [`rsa_pseudo`] | `RSA-OAEP-SHA1` (V2), `22` (V3) | current: the pseudo data key layout only (the RSA-OAEP math lives in a `std` crate) |
//! | [`aes_kw`] | `AESWrap` (V2) | legacy: unwrap (plus [`aes_kw::legacy_wrap`] for test vectors) |
//! | [`aes_ecb`] | V1 `AES` (no stored name) | legacy: unwrap (plus [`aes_ecb::legacy_wrap`] for test vectors) |
//!
//! KMS wraps (`kms+context`, `kms`) are not here: KMS does the cryptography.
//! Nor are the other legacy RSA wraps (V1 `RSA`, PKCS#1 v1.5, and
//! `RSA/ECB/OAEPWithSHA-256AndMGF1Padding`): their plaintext is the bare
//! data key, with no layout to decode. For the latter a reader should try
//! OAEP-SHA-256 with MGF1-SHA-1 first, then MGF1-SHA-256 (errata E9).
//!
//! Legacy wraps are unwrap-only and must be gated by the caller: spec
//! `client.md` §Enable Legacy Wrapping Algorithms: while that option is off
//! (the default), objects with legacy wraps are refused. [`WrapAlg::is_legacy`] says which ones.
//!
//! Every function takes the master key (key-encryption key, KEK) as a byte
//! slice of 16, 24 or 32 bytes (AES-128, AES-192, AES-256); any other length
//! is [`InputError::KeyLength`].
//!
//! Binding: the current wraps bind the *stored* content-cipher string
//! (`x-amz-cek-alg` for V2, `x-amz-c` for V3, see
//! [`Suite::cek_alg`](crate::Suite::cek_alg)): the AES/GCM wrap uses it as
//! AAD, the RSA pseudo key carries it. Callers pass the string exactly as
//! read from the metadata, so that relabelling a GCM object as CBC makes the
//! unwrap fail (reference errata E3). Legacy wraps bind nothing.
//!
//! Nothing here authenticates the material description (`x-amz-matdesc`,
//! `x-amz-m`): the AES/GCM AAD is only the content-cipher string and the
//! pseudo key only carries the data key and that string (errata E4). A
//! material description can only select which master key to try.

use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes192, Aes256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, InputError};
use crate::keys::MetaKey;
use crate::suite::{Suite, WrapAlg};

pub mod aes_ecb;
pub mod aes_gcm;
pub mod aes_kw;
pub mod rsa_pseudo;

/// Java's rule for the unlabelled V1 `x-amz-key`: an encrypted data key
/// longer than 48 bytes was wrapped with RSA (PKCS#1 v1.5, the JCE name
/// `RSA`), anything else with AES-ECB (the JCE name `AES`).
///
/// V1 objects store no wrapping algorithm; an AES-ECB wrap of a data key is
/// at most 48 bytes and an RSA ciphertext is as long as the modulus (at least
/// 64 bytes for any key a client accepts).
///
/// ```
/// use s3ec_core::{wrap, WrapAlg};
/// assert_eq!(wrap::infer_v1(48), WrapAlg::AesEcb);
/// assert_eq!(wrap::infer_v1(256), WrapAlg::RsaPkcs1);
/// ```
pub const fn infer_v1(edk_len: usize) -> WrapAlg {
    if edk_len > 48 {
        WrapAlg::RsaPkcs1
    } else {
        WrapAlg::AesEcb
    }
}

/// Largest encrypted data key a legacy wrap produces here: AES-ECB of a
/// 32-byte data key (32 bytes plus a full block of padding).
pub const MAX_LEGACY_EDK_LEN: usize = 48;

/// An encrypted data key of variable length, in a fixed-capacity buffer
/// (returned by the legacy wraps, whose output length depends on the data
/// key length).
///
/// It holds ciphertext only, but is still zeroized on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct WrappedKey {
    bytes: [u8; MAX_LEGACY_EDK_LEN],
    len: u8,
}

impl WrappedKey {
    /// Copy `src` (at most [`MAX_LEGACY_EDK_LEN`] bytes).
    fn from_slice(src: &[u8]) -> Result<WrappedKey, Error> {
        let mut bytes = [0u8; MAX_LEGACY_EDK_LEN];
        let dst = bytes
            .get_mut(..src.len())
            .ok_or(Error::BufferTooSmall { needed: src.len() })?;
        dst.copy_from_slice(src);
        Ok(WrappedKey {
            bytes,
            // src.len() <= 48 here
            len: src.len() as u8,
        })
    }

    /// The encrypted data key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
}

impl AsRef<[u8]> for WrappedKey {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl core::fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "WrappedKey({} bytes)", self.len)
    }
}

/// Check a master key length: AES-128, AES-192 or AES-256.
pub(crate) fn check_kek(kek: &[u8]) -> Result<(), Error> {
    match kek.len() {
        16 | 24 | 32 => Ok(()),
        n => Err(InputError::KeyLength { actual: n }.into()),
    }
}

/// The metadata key an AES/GCM or RSA-OAEP-SHA1 encrypted data key is stored
/// under, told apart by the content-cipher string bound to it: `115` is only
/// ever written in V3 (`x-amz-3`), everything else is V2 (`x-amz-key-v2`).
/// Used only to make length errors point at the right key.
pub(crate) fn edk_meta_key(cek_alg: &str) -> MetaKey {
    if cek_alg == Suite::AesGcmCommitting.cek_alg() {
        MetaKey::KeyV3
    } else {
        MetaKey::KeyV2
    }
}

/// AES with a 128, 192 or 256-bit master key, for one-block operations
/// (ECB). Only the legacy AES-ECB wrap uses it.
pub(crate) enum BlockKek {
    A128(Aes128),
    A192(Aes192),
    A256(Aes256),
}

impl BlockKek {
    pub(crate) fn new(kek: &[u8]) -> Result<BlockKek, Error> {
        let bad = |_| Error::from(InputError::KeyLength { actual: kek.len() });
        match kek.len() {
            16 => Aes128::new_from_slice(kek).map(BlockKek::A128).map_err(bad),
            24 => Aes192::new_from_slice(kek).map(BlockKek::A192).map_err(bad),
            32 => Aes256::new_from_slice(kek).map(BlockKek::A256).map_err(bad),
            n => Err(InputError::KeyLength { actual: n }.into()),
        }
    }

    pub(crate) fn encrypt(&self, block: &mut [u8; 16]) {
        let b = block.into();
        match self {
            BlockKek::A128(c) => c.encrypt_block(b),
            BlockKek::A192(c) => c.encrypt_block(b),
            BlockKek::A256(c) => c.encrypt_block(b),
        }
    }

    pub(crate) fn decrypt(&self, block: &mut [u8; 16]) {
        let b = block.into();
        match self {
            BlockKek::A128(c) => c.decrypt_block(b),
            BlockKek::A192(c) => c.decrypt_block(b),
            BlockKek::A256(c) => c.decrypt_block(b),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn infer_v1_boundary() {
        assert_eq!(infer_v1(0), WrapAlg::AesEcb);
        assert_eq!(infer_v1(32), WrapAlg::AesEcb);
        assert_eq!(infer_v1(48), WrapAlg::AesEcb);
        assert_eq!(infer_v1(49), WrapAlg::RsaPkcs1);
        assert_eq!(infer_v1(128), WrapAlg::RsaPkcs1);
        assert_eq!(infer_v1(512), WrapAlg::RsaPkcs1);
    }

    #[test]
    fn kek_lengths() {
        for n in [16, 24, 32] {
            assert!(check_kek(&vec![0u8; n]).is_ok());
            assert!(BlockKek::new(&vec![0u8; n]).is_ok());
        }
        for n in [0, 1, 15, 17, 23, 25, 31, 33, 64] {
            let want = Err(Error::InvalidInput(InputError::KeyLength { actual: n }));
            assert_eq!(check_kek(&vec![0u8; n]), want);
            assert!(matches!(BlockKek::new(&vec![0u8; n]), Err(e) if Err::<(), _>(e) == want));
        }
    }

    #[test]
    fn aes_block_fips197() {
        // FIPS-197 appendix C.1 / C.3.
        let pt: [u8; 16] = hex::decode("00112233445566778899aabbccddeeff")
            .unwrap()
            .try_into()
            .unwrap();
        let kek: Vec<u8> = (0u8..32).collect();
        for (n, ct) in [
            (16, "69c4e0d86a7b0430d8cdb78070b4c55a"),
            (24, "dda97ca4864cdfe06eaf70a0ec0d7191"),
            (32, "8ea2b7ca516745bfeafc49904b496089"),
        ] {
            let k = BlockKek::new(&kek[..n]).unwrap();
            let mut b = pt;
            k.encrypt(&mut b);
            assert_eq!(hex::encode(b), ct);
            k.decrypt(&mut b);
            assert_eq!(b, pt);
        }
    }

    #[test]
    fn wrapped_key_capacity() {
        assert_eq!(WrappedKey::from_slice(&[1; 48]).unwrap().len(), 48);
        assert_eq!(
            WrappedKey::from_slice(&[1; 49]),
            Err(Error::BufferTooSmall { needed: 49 })
        );
        let w = WrappedKey::from_slice(&[7; 40]).unwrap();
        assert_eq!(w.as_bytes(), &[7; 40][..]);
        assert_eq!(format!("{w:?}"), "WrappedKey(40 bytes)");
    }

    #[test]
    fn meta_key_from_cek_alg() {
        assert_eq!(edk_meta_key("115"), MetaKey::KeyV3);
        assert_eq!(edk_meta_key("AES/GCM/NoPadding"), MetaKey::KeyV2);
    }
}

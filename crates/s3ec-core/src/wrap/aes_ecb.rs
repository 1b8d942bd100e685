//! The legacy V1 `AES` key wrap: the data key encrypted with AES in ECB mode
//! with PKCS#7 padding under a raw AES master key (reference §5.7).
//!
//! V1 objects store no wrapping-algorithm name; Java's decrypt strategy uses
//! the bare JCE name `AES`, which means `AES/ECB/PKCS5Padding` (PKCS#5 and
//! PKCS#7 padding are the same thing for 16-byte blocks); .NET and Ruby V1
//! agree. [`infer_v1`](super::infer_v1) tells it apart from V1 `RSA` by
//! length. Decrypt only, behind the legacy wrapping-algorithms option.
//!
//! | data key | EDK |
//! |---|---|
//! | 16 bytes | 32 bytes (16 + a full block of `0x10`) |
//! | 24 bytes | 32 bytes (24 + 8 × `0x08`) |
//! | 32 bytes | 48 bytes (32 + a full block of `0x10`) |
//!
//! The wrap is unauthenticated and binds nothing (errata E3). A wrong master
//! key is detected only by the padding check (with probability about
//! 1 - 2⁻¹²⁸ for a 48-byte EDK, but only about 1 - 2⁻⁶⁴ for a 32-byte one);
//! the V1 content cipher (CBC) gives no further protection.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use super::{BlockKek, WrappedKey, MAX_LEGACY_EDK_LEN};
use crate::data_key::DataKey;
use crate::error::{Error, FormatError};
use crate::keys::MetaKey;

/// AES block length.
const BLOCK: usize = 16;

/// Unwrap a V1 `AES` (AES-ECB, PKCS#7) encrypted data key.
///
/// * `kek`: the master key, 16, 24 or 32 bytes
///   ([`InputError::KeyLength`](crate::InputError::KeyLength) otherwise).
/// * `edk`: the decoded `x-amz-key` value: 32 or 48 bytes, else
///   [`FormatError::InvalidLength`] naming `x-amz-key` (the length is public).
///
/// Every failure that depends on the decrypted bytes (bad padding, a
/// padding that leaves a data key of a length other than 16, 24 or 32) is
/// the one opaque [`Error::Authentication`], and the padding is checked in
/// constant time, so that the unwrap is no padding oracle.
///
/// ```
/// use s3ec_core::{wrap::aes_ecb, DataKey, Error};
///
/// let kek = [3u8; 32];
/// let dk = DataKey::from_slice(&[5u8; 32])?;
/// let edk = aes_ecb::legacy_wrap(&kek, &dk)?;
/// assert_eq!(edk.len(), 48);
/// assert_eq!(aes_ecb::unwrap(&kek, edk.as_bytes())?.as_bytes(), dk.as_bytes());
/// assert_eq!(aes_ecb::unwrap(&[4u8; 32], edk.as_bytes()).unwrap_err(), Error::Authentication);
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub fn unwrap(kek: &[u8], edk: &[u8]) -> Result<DataKey, Error> {
    let cipher = BlockKek::new(kek)?;
    let len = edk.len();
    if len != 32 && len != 48 {
        return Err(FormatError::InvalidLength {
            key: MetaKey::KeyV1,
            actual: len,
        }
        .into());
    }
    let mut buf = Zeroizing::new([0u8; MAX_LEGACY_EDK_LEN]);
    let data = buf.get_mut(..len).ok_or(Error::Authentication)?;
    data.copy_from_slice(edk);
    for chunk in data.chunks_exact_mut(BLOCK) {
        if let Ok(block) = <&mut [u8; BLOCK]>::try_from(chunk) {
            cipher.decrypt(block);
        }
    }

    // PKCS#7 check, constant time in the decrypted bytes. The only paddings
    // that leave a 16, 24 or 32-byte key: a full block of 0x10 (either EDK
    // length) or, for a 32-byte EDK, eight bytes of 0x08.
    let last: &[u8] = data.get(len - BLOCK..).ok_or(Error::Authentication)?;
    let full = last.ct_eq(&[0x10; BLOCK]);
    let (valid, dk_len) = if len == 48 {
        (full, 32u8)
    } else {
        let half = last
            .get(BLOCK - 8..)
            .map_or(Choice::from(0), |tail| tail.ct_eq(&[0x08; 8]));
        (full | half, u8::conditional_select(&24, &16, full))
    };
    if !bool::from(valid) {
        return Err(Error::Authentication);
    }
    let dk = data
        .get(..usize::from(dk_len))
        .ok_or(Error::Authentication)?;
    DataKey::from_slice(dk)
}

/// Wrap a data key with V1 `AES` (AES-ECB, PKCS#7 padding).
///
/// **For test vectors only.** No current S3 Encryption Client writes this
/// wrap (the spec forbids encrypting with legacy wrapping algorithms, and
/// ECB is unauthenticated); this exists so the project can produce its own
/// V1 objects to test the legacy read path.
///
/// Returns 32 bytes for a 16 or 24-byte data key, 48 for a 32-byte one.
///
/// ```
/// use s3ec_core::{wrap::aes_ecb, DataKey};
///
/// let dk = DataKey::from_slice(&[1u8; 16])?;
/// let edk = aes_ecb::legacy_wrap(&[2u8; 16], &dk)?;
/// assert_eq!(edk.len(), 32);
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub fn legacy_wrap(kek: &[u8], dk: &DataKey) -> Result<WrappedKey, Error> {
    let cipher = BlockKek::new(kek)?;
    let key = dk.as_bytes();
    // PKCS#7 always adds 1..=16 bytes.
    let pad = BLOCK - key.len() % BLOCK;
    let len = key.len() + pad;
    let mut buf = Zeroizing::new([0u8; MAX_LEGACY_EDK_LEN]);
    let data = buf
        .get_mut(..len)
        .ok_or(Error::BufferTooSmall { needed: len })?;
    let (head, tail) = data.split_at_mut(key.len());
    head.copy_from_slice(key);
    // pad is 8 or 16 here
    tail.fill(pad as u8);
    for chunk in data.chunks_exact_mut(BLOCK) {
        if let Ok(block) = <&mut [u8; BLOCK]>::try_from(chunk) {
            cipher.encrypt(block);
        }
    }
    WrappedKey::from_slice(data)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::error::InputError;
    use crate::wrap::BlockKek;
    use std::vec::Vec;

    /// Encrypt arbitrary (already padded) plaintext blocks, to build bad
    /// paddings.
    fn ecb(kek: &[u8], pt: &[u8]) -> Vec<u8> {
        let c = BlockKek::new(kek).unwrap();
        let mut out = pt.to_vec();
        for ch in out.chunks_exact_mut(16) {
            c.encrypt(ch.try_into().unwrap());
        }
        out
    }

    #[test]
    fn sizes_round_trip() {
        for kn in [16, 24, 32] {
            let kek: Vec<u8> = (0..kn as u8).collect();
            for (dn, en) in [(16, 32), (24, 32), (32, 48)] {
                let dk = DataKey::from_slice(&vec![0xa5; dn]).unwrap();
                let edk = legacy_wrap(&kek, &dk).unwrap();
                assert_eq!(edk.len(), en);
                let back = unwrap(&kek, edk.as_bytes()).unwrap();
                assert_eq!(back.as_bytes(), dk.as_bytes());
            }
        }
    }

    #[test]
    fn padding_is_pkcs7() {
        let kek = [9u8; 32];
        let mut pt = vec![0x33u8; 24];
        pt.extend_from_slice(&[8; 8]);
        let dk = DataKey::from_slice(&[0x33; 24]).unwrap();
        assert_eq!(
            legacy_wrap(&kek, &dk).unwrap().as_bytes(),
            &ecb(&kek, &pt)[..]
        );
    }

    #[test]
    fn bad_paddings_are_opaque() {
        let kek = [9u8; 16];
        let mut cases: Vec<Vec<u8>> = Vec::new();
        // 32-byte DK with padding of 8 (would leave 40 bytes).
        let mut p = vec![1u8; 40];
        p.extend_from_slice(&[8; 8]);
        cases.push(p);
        // 32-byte EDK, padding 1, 4, 12 (DK of 31, 28, 20 bytes).
        for pad in [1u8, 4, 12] {
            let mut p = vec![1u8; 32 - pad as usize];
            p.extend(core::iter::repeat_n(pad, pad as usize));
            cases.push(p);
        }
        // Padding byte 0, 17, 0xff.
        for last in [0u8, 17, 0xff] {
            let mut p = vec![0x10u8; 48];
            p[47] = last;
            cases.push(p);
        }
        // A full block of 0x10 with one byte wrong; 8 x 0x08 with one wrong.
        let mut p = vec![0x10u8; 48];
        p[33] = 0x11;
        cases.push(p);
        let mut p = vec![0x08u8; 32];
        p[24] = 0x09;
        cases.push(p);
        for pt in cases {
            let edk = ecb(&kek, &pt);
            assert_eq!(unwrap(&kek, &edk).unwrap_err(), Error::Authentication);
        }
    }

    #[test]
    fn length_and_key_errors() {
        for n in [0, 16, 31, 33, 40, 47, 49, 64, 256] {
            assert_eq!(
                unwrap(&[0u8; 16], &vec![0u8; n]).unwrap_err(),
                Error::Format(FormatError::InvalidLength {
                    key: MetaKey::KeyV1,
                    actual: n
                })
            );
        }
        assert_eq!(
            unwrap(&[0u8; 31], &[0u8; 48]).unwrap_err(),
            Error::InvalidInput(InputError::KeyLength { actual: 31 })
        );
    }
}

//! The pseudo data key of the `RSA-OAEP-SHA1` wrap (V2 `x-amz-wrap-alg` =
//! `RSA-OAEP-SHA1`, V3 `x-amz-w` = `22`).
//!
//! The RSA keyring does not encrypt the data key itself but this layout
//! (reference §5.4; AWS's Java `RsaKeyring`, .NET and Ruby agree):
//!
//! ```text
//! pseudo = [len(DK) as one byte] || DK || UTF-8(cek-alg)
//! EDK    = RSAES-OAEP(public key, SHA-1, MGF1-SHA-1, empty label, pseudo)
//! ```
//!
//! so that the content-cipher string is bound to the data key: 1 + 32 + 17 =
//! 50 bytes for V2 (`AES/GCM/NoPadding`), 1 + 32 + 3 = 36 bytes for V3
//! (`115`). This module only encodes and decodes the pseudo key; the RSA
//! math lives in a `std` crate.
//!
//! Decoding compares the whole remainder with the *stored* content-cipher
//! string, exactly and in constant time: Ruby's rule, stricter than Java's
//! prefix compare (errata E8), against the stored string rather than a
//! suite constant (errata E3).

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::aes_gcm::check_writable;
use super::edk_meta_key;
use crate::data_key::DataKey;
use crate::error::{Error, FormatError};

/// The longest content-cipher string a pseudo key may carry: the longest
/// [`Suite::cek_alg`](crate::Suite::cek_alg) value (`AES/CBC/PKCS5Padding`,
/// 20 bytes).
pub const MAX_CEK_ALG_LEN: usize = 20;

/// Capacity of a [`PseudoKey`]: length byte, a 32-byte data key and the
/// longest content-cipher string.
pub const MAX_PSEUDO_KEY_LEN: usize = 1 + 32 + MAX_CEK_ALG_LEN;

/// An encoded pseudo data key, the plaintext of the RSA-OAEP encryption.
///
/// It contains the data key, so it is zeroized on drop and its `Debug`
/// prints only its length.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PseudoKey {
    bytes: [u8; MAX_PSEUDO_KEY_LEN],
    len: u8,
}

impl PseudoKey {
    /// The encoded bytes, to be encrypted with RSA-OAEP-SHA1.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Length in bytes (36 for V3, 50 for V2 with a 32-byte data key).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
}

impl AsRef<[u8]> for PseudoKey {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl core::fmt::Debug for PseudoKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PseudoKey({} bytes, redacted)", self.len)
    }
}

/// Encode the pseudo data key `[len(DK)] || DK || cek_alg` for a new object.
///
/// `cek_alg` is the content-cipher string that will be stored with the
/// object: `AES/GCM/NoPadding` (V2) or `115` (V3); the CBC names are refused
/// ([`Unsupported::LegacySuiteEncrypt`](crate::Unsupported::LegacySuiteEncrypt)),
/// anything else is
/// [`Unsupported::WrongSuite`](crate::Unsupported::WrongSuite).
///
/// ```
/// use s3ec_core::{wrap::rsa_pseudo, DataKey, Suite};
///
/// let dk = DataKey::from_slice(&[0xab; 32])?;
/// let pseudo = rsa_pseudo::encode(&dk, Suite::AesGcmCommitting.cek_alg())?;
/// assert_eq!(pseudo.len(), 36);
/// assert_eq!(pseudo.as_bytes()[0], 32);
/// assert_eq!(&pseudo.as_bytes()[33..], b"115");
///
/// // ... RSA-OAEP-SHA1 encrypt `pseudo.as_bytes()`; after decrypting:
/// let back = rsa_pseudo::decode(pseudo.as_bytes(), "115")?;
/// assert_eq!(back.as_bytes(), dk.as_bytes());
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub fn encode(dk: &DataKey, cek_alg: &str) -> Result<PseudoKey, Error> {
    check_writable(cek_alg)?;
    let key = dk.as_bytes();
    let alg = cek_alg.as_bytes();
    let needed = 1 + key.len() + alg.len();
    let mut out = PseudoKey {
        bytes: [0u8; MAX_PSEUDO_KEY_LEN],
        len: 0,
    };
    let dst = out
        .bytes
        .get_mut(..needed)
        .ok_or(Error::BufferTooSmall { needed })?;
    let (len_byte, rest) = dst.split_at_mut(1);
    let (key_dst, alg_dst) = rest.split_at_mut(key.len());
    // DataKey lengths are 16, 24 or 32.
    len_byte.fill(key.len() as u8);
    key_dst.copy_from_slice(key);
    alg_dst.copy_from_slice(alg);
    // needed <= MAX_PSEUDO_KEY_LEN = 53 here
    out.len = needed as u8;
    Ok(out)
}

/// Decode an RSA-OAEP-SHA1-decrypted pseudo data key and check its binding.
///
/// * `pseudo`: the RSA-OAEP plaintext (the caller zeroizes its buffer).
/// * `cek_alg`: the content-cipher string exactly as stored in the metadata
///   being read (`x-amz-cek-alg` for V2, `x-amz-c` for V3).
///
/// Errors (none reveals key bytes):
/// * the length byte is not 16, 24 or 32, or the pseudo key is shorter than
///   it says: [`FormatError::InvalidValue`] naming the EDK's metadata key
///   (`x-amz-3` when `cek_alg` is `115`, else `x-amz-key-v2`);
/// * the bytes after the data key differ from `cek_alg` in any way (content,
///   or length: extra or missing bytes): [`Error::Authentication`], like a
///   failed AES/GCM wrap (the binding did not verify; Java's message is "The
///   data cipher does not match the data cipher used for encryption").
///
/// ```
/// use s3ec_core::{wrap::rsa_pseudo, Error};
///
/// let mut pseudo = vec![16u8];
/// pseudo.extend_from_slice(&[7; 16]);
/// pseudo.extend_from_slice(b"AES/GCM/NoPadding");
/// assert_eq!(rsa_pseudo::decode(&pseudo, "AES/GCM/NoPadding")?.len(), 16);
/// // A GCM -> CBC relabel of the object:
/// assert_eq!(
///     rsa_pseudo::decode(&pseudo, "AES/CBC/PKCS5Padding").unwrap_err(),
///     Error::Authentication
/// );
/// # Ok::<(), Error>(())
/// ```
pub fn decode(pseudo: &[u8], cek_alg: &str) -> Result<DataKey, Error> {
    let malformed = Error::Format(FormatError::InvalidValue(edk_meta_key(cek_alg)));
    let (&n, rest) = pseudo.split_first().ok_or(malformed)?;
    let n = usize::from(n);
    if !matches!(n, 16 | 24 | 32) {
        return Err(malformed);
    }
    let (dk, suffix) = rest.split_at_checked(n).ok_or(malformed)?;
    // Exact match of the whole remainder (errata E8), in constant time in
    // the contents; the lengths compared are public (the stored string's
    // and the RSA plaintext's).
    if !bool::from(suffix.ct_eq(cek_alg.as_bytes())) {
        return Err(Error::Authentication);
    }
    DataKey::from_slice(dk)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::error::Unsupported;
    use crate::keys::MetaKey;
    use std::vec::Vec;

    fn pseudo(n: u8, dk_len: usize, tail: &[u8]) -> Vec<u8> {
        let mut v = vec![n];
        v.extend((0..dk_len).map(|i| i as u8 ^ 0x3c));
        v.extend_from_slice(tail);
        v
    }

    #[test]
    fn layout() {
        let dk = DataKey::from_slice(&[0x11; 32]).unwrap();
        let p = encode(&dk, "AES/GCM/NoPadding").unwrap();
        assert_eq!(p.len(), 50);
        let mut want = vec![32u8];
        want.extend_from_slice(&[0x11; 32]);
        want.extend_from_slice(b"AES/GCM/NoPadding");
        assert_eq!(p.as_bytes(), &want[..]);
        assert_eq!(format!("{p:?}"), "PseudoKey(50 bytes, redacted)");

        let dk = DataKey::from_slice(&[0x22; 24]).unwrap();
        let p = encode(&dk, "115").unwrap();
        assert_eq!(p.as_bytes()[0], 24);
        assert_eq!(p.len(), 28);
        assert_eq!(decode(p.as_bytes(), "115").unwrap().as_bytes(), &[0x22; 24]);
    }

    #[test]
    fn encode_refuses_other_ciphers() {
        let dk = DataKey::from_slice(&[0x11; 32]).unwrap();
        assert_eq!(
            encode(&dk, "AES/CBC/PKCS5Padding").unwrap_err(),
            Error::Unsupported(Unsupported::LegacySuiteEncrypt)
        );
        assert_eq!(
            encode(&dk, "x").unwrap_err(),
            Error::Unsupported(Unsupported::WrongSuite)
        );
    }

    #[test]
    fn malformed() {
        let v3 = Error::Format(FormatError::InvalidValue(MetaKey::KeyV3));
        let v2 = Error::Format(FormatError::InvalidValue(MetaKey::KeyV2));
        assert_eq!(decode(&[], "115").unwrap_err(), v3);
        assert_eq!(decode(&[], "AES/GCM/NoPadding").unwrap_err(), v2);
        for n in [0u8, 1, 15, 17, 31, 33, 255] {
            assert_eq!(decode(&pseudo(n, 32, b"115"), "115").unwrap_err(), v3);
        }
        // Shorter than the length byte says.
        assert_eq!(decode(&pseudo(32, 31, b""), "115").unwrap_err(), v3);
        assert_eq!(decode(&pseudo(24, 10, b""), "115").unwrap_err(), v3);
    }

    #[test]
    fn suffix_must_match_exactly() {
        assert!(decode(&pseudo(32, 32, b"115"), "115").is_ok());
        for tail in [
            &b""[..],
            b"11",
            b"1155",
            b"115\0",
            b"116",
            b"AES/GCM/NoPadding",
        ] {
            assert_eq!(
                decode(&pseudo(32, 32, tail), "115").unwrap_err(),
                Error::Authentication,
                "{tail:?}"
            );
        }
        // Java would accept a longer remainder (prefix match); we do not.
        assert_eq!(
            decode(&pseudo(32, 32, b"AES/GCM/NoPaddingX"), "AES/GCM/NoPadding").unwrap_err(),
            Error::Authentication
        );
        // The length byte selects where the string starts: a 24-byte length
        // byte over a 32-byte key leaves 8 key bytes in front of the string.
        assert_eq!(
            decode(&pseudo(24, 32, b"115"), "115").unwrap_err(),
            Error::Authentication
        );
    }
}

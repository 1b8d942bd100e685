//! The legacy `AESWrap` key wrap (V2 `x-amz-wrap-alg` = `AESWrap`): RFC 3394
//! AES key wrap with the default IV `A6A6A6A6A6A6A6A6` and no padding
//! (reference §5.5). Written by the C++ client and by Java v1 in
//! authenticated-encryption mode with symmetric keys; a reader must only
//! accept it with legacy wrapping algorithms enabled (spec `client.md`:
//! legacy wrapping algorithms are off by default).
//!
//! It binds nothing but the data key: no content-cipher string (errata E3).
//! A data key of 16, 24 or 32 bytes wraps to 24, 32 or 40 bytes.

use aes_kw::{KeyInit, KwAes128, KwAes192, KwAes256};
use zeroize::Zeroizing;

use super::{check_kek, WrappedKey};
use crate::data_key::DataKey;
use crate::error::{Error, FormatError, InputError};
use crate::keys::MetaKey;

/// RFC 3394's integrity-check block length: the EDK is this much longer than
/// the data key.
pub const OVERHEAD: usize = 8;

/// Unwrap an `AESWrap` encrypted data key (RFC 3394 §2.2.2, integrity check
/// §2.2.3 against the default IV).
///
/// * `kek`: the master key, 16, 24 or 32 bytes ([`InputError::KeyLength`]
///   otherwise).
/// * `edk`: the decoded `x-amz-key-v2` value: 24, 32 or 40 bytes (a 16, 24
///   or 32-byte data key), else [`FormatError::InvalidLength`] naming
///   `x-amz-key-v2`.
///
/// A wrong master key or a modified EDK fails with [`Error::Authentication`].
///
/// ```
/// use s3ec_core::wrap::aes_kw;
///
/// // RFC 3394 §4.6: 256 bits of key data with a 256-bit KEK.
/// let kek: Vec<u8> = (0u8..32).collect();
/// let edk = [
///     0x28, 0xC9, 0xF4, 0x04, 0xC4, 0xB8, 0x10, 0xF4, 0xCB, 0xCC, 0xB3, 0x5C, 0xFB, 0x87,
///     0xF8, 0x26, 0x3F, 0x57, 0x86, 0xE2, 0xD8, 0x0E, 0xD3, 0x26, 0xCB, 0xC7, 0xF0, 0xE7,
///     0x1A, 0x99, 0xF4, 0x3B, 0xFB, 0x98, 0x8B, 0x9B, 0x7A, 0x02, 0xDD, 0x21,
/// ];
/// let dk = aes_kw::unwrap(&kek, &edk)?;
/// assert_eq!(dk.len(), 32);
/// assert_eq!(dk.as_bytes()[..4], [0x00, 0x11, 0x22, 0x33]);
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub fn unwrap(kek: &[u8], edk: &[u8]) -> Result<DataKey, Error> {
    check_kek(kek)?;
    let dk_len = match edk.len() {
        24 | 32 | 40 => edk.len() - OVERHEAD,
        n => {
            return Err(FormatError::InvalidLength {
                key: MetaKey::KeyV2,
                actual: n,
            }
            .into())
        }
    };
    let mut buf = Zeroizing::new([0u8; 32]);
    let out = buf.get_mut(..dk_len).ok_or(Error::Authentication)?;
    let res = match kek.len() {
        16 => KwAes128::new_from_slice(kek)
            .map_err(|_| kek_err(kek))?
            .unwrap_key(edk, out)
            .map(|_| ()),
        24 => KwAes192::new_from_slice(kek)
            .map_err(|_| kek_err(kek))?
            .unwrap_key(edk, out)
            .map(|_| ()),
        32 => KwAes256::new_from_slice(kek)
            .map_err(|_| kek_err(kek))?
            .unwrap_key(edk, out)
            .map(|_| ()),
        n => return Err(InputError::KeyLength { actual: n }.into()),
    };
    // Whatever the failure, say only that the wrap did not verify; `buf` is
    // zeroized on drop either way.
    res.map_err(|_| Error::Authentication)?;
    DataKey::from_slice(out)
}

/// Wrap a data key with RFC 3394 `AESWrap`.
///
/// **For test vectors only.** No current S3 Encryption Client writes
/// `AESWrap` (the spec forbids encrypting with legacy wrapping algorithms);
/// this exists so the project can produce its own legacy objects to test
/// the read path. Use [`aes_gcm::wrap`](super::aes_gcm::wrap) for real
/// objects.
///
/// Returns 8 bytes more than the data key (24, 32 or 40 bytes).
///
/// ```
/// use s3ec_core::{wrap::aes_kw, DataKey};
///
/// let kek = [7u8; 16];
/// let dk = DataKey::from_slice(&[9u8; 32])?;
/// let edk = aes_kw::legacy_wrap(&kek, &dk)?;
/// assert_eq!(edk.len(), 40);
/// assert_eq!(aes_kw::unwrap(&kek, edk.as_bytes())?.as_bytes(), dk.as_bytes());
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub fn legacy_wrap(kek: &[u8], dk: &DataKey) -> Result<WrappedKey, Error> {
    check_kek(kek)?;
    let data = dk.as_bytes();
    let mut buf = [0u8; 40];
    let out = buf
        .get_mut(..data.len() + OVERHEAD)
        .ok_or(Error::BufferTooSmall {
            needed: data.len() + OVERHEAD,
        })?;
    let res = match kek.len() {
        16 => KwAes128::new_from_slice(kek)
            .map_err(|_| kek_err(kek))?
            .wrap_key(data, out)
            .map(|_| ()),
        24 => KwAes192::new_from_slice(kek)
            .map_err(|_| kek_err(kek))?
            .wrap_key(data, out)
            .map(|_| ()),
        32 => KwAes256::new_from_slice(kek)
            .map_err(|_| kek_err(kek))?
            .wrap_key(data, out)
            .map(|_| ()),
        n => return Err(InputError::KeyLength { actual: n }.into()),
    };
    // Cannot fail: the data key is a whole number (2..=4) of 64-bit blocks
    // and `out` is exactly 8 bytes longer.
    res.map_err(|_| Error::LimitExceeded)?;
    WrappedKey::from_slice(out)
}

fn kek_err(kek: &[u8]) -> Error {
    InputError::KeyLength { actual: kek.len() }.into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        let kek = [1u8; 32];
        for n in [0, 8, 16, 23, 25, 31, 33, 39, 41, 48, 60] {
            assert_eq!(
                unwrap(&kek, &vec![0u8; n]).unwrap_err(),
                Error::Format(FormatError::InvalidLength {
                    key: MetaKey::KeyV2,
                    actual: n
                })
            );
        }
        for n in [24, 32, 40] {
            assert_eq!(
                unwrap(&kek, &vec![0u8; n]).unwrap_err(),
                Error::Authentication
            );
        }
        assert_eq!(
            unwrap(&[0u8; 8], &[0u8; 40]).unwrap_err(),
            Error::InvalidInput(InputError::KeyLength { actual: 8 })
        );
    }

    #[test]
    fn wrap_round_trip_all_sizes() {
        for kn in [16, 24, 32] {
            for dn in [16, 24, 32] {
                let kek = vec![kn as u8; kn];
                let dk = DataKey::from_slice(&vec![dn as u8 ^ 0x5a; dn]).unwrap();
                let edk = legacy_wrap(&kek, &dk).unwrap();
                assert_eq!(edk.len(), dn + 8);
                assert_eq!(
                    unwrap(&kek, edk.as_bytes()).unwrap().as_bytes(),
                    dk.as_bytes()
                );
            }
        }
    }
}

//! Base64 as S3EC stores it: RFC 4648 standard alphabet, with padding, no
//! line breaks. Decoding is strict (unpadded input is rejected, as Python and
//! Go reject it) and constant-time (`base64ct`).

use base64ct::{Base64, Encoding};

use crate::error::{Error, FormatError};
use crate::keys::MetaKey;

/// Decode `value` (the value of `key`) into `out`, returning the decoded bytes.
pub fn decode<'o>(key: MetaKey, value: &str, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
    let cap = out.len();
    match Base64::decode(value.as_bytes(), out) {
        Ok(b) => Ok(b),
        Err(base64ct::Error::InvalidLength) if decoded_len(value) > cap => {
            Err(FormatError::InvalidLength {
                key,
                actual: decoded_len(value),
            }
            .into())
        }
        Err(_) => Err(FormatError::InvalidBase64(key).into()),
    }
}

/// Decode `value` into exactly `N` bytes.
pub fn decode_array<const N: usize>(key: MetaKey, value: &str) -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    let mut big = [0u8; 64];
    let got = if N <= 64 {
        decode(key, value, &mut big)?
    } else {
        return Err(FormatError::InvalidLength {
            key,
            actual: decoded_len(value),
        }
        .into());
    };
    if got.len() != N {
        return Err(FormatError::InvalidLength {
            key,
            actual: got.len(),
        }
        .into());
    }
    out.copy_from_slice(got);
    Ok(out)
}

/// The decoded length a base64 string of this length would have (an upper
/// bound; exact for well-formed padded input).
pub fn decoded_len(value: &str) -> usize {
    let b = value.as_bytes();
    let pad = b.iter().rev().take(2).filter(|&&c| c == b'=').count();
    (b.len() / 4 * 3).saturating_sub(pad)
}

/// The encoded length of `n` bytes.
pub const fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Encode `data` into `out`, returning the text.
pub fn encode<'o>(data: &[u8], out: &'o mut [u8]) -> Result<&'o str, Error> {
    Base64::encode(data, out).map_err(|_| Error::BufferTooSmall {
        needed: encoded_len(data.len()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn strict() {
        let mut out = [0u8; 16];
        assert_eq!(decode(MetaKey::Iv, "QUI=", &mut out).unwrap(), b"AB");
        assert!(decode(MetaKey::Iv, "QUI", &mut out).is_err());
        assert!(decode(MetaKey::Iv, "QU I=", &mut out).is_err());
        assert!(decode(MetaKey::Iv, "QUJ=", &mut out).is_err());
        assert_eq!(
            decode_array::<2>(MetaKey::Iv, "QUJD"),
            Err(FormatError::InvalidLength {
                key: MetaKey::Iv,
                actual: 3
            }
            .into())
        );
        let mut enc = [0u8; 8];
        assert_eq!(encode(b"AB", &mut enc).unwrap(), "QUI=");
    }
}

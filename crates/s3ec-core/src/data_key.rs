//! The plaintext data key: fresh per object, zeroized on drop, never printed.

use core::fmt;

use rand_core::TryCryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, InputError};

/// A plaintext data key (content encryption key).
///
/// Every key written by this crate is 32 bytes (AES-256). V1/V2 objects from
/// older writers may carry 16 or 24-byte data keys, which are accepted on
/// read. The key is zeroized on drop and its `Debug` prints no key bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey {
    bytes: [u8; 32],
    len: u8,
}

impl DataKey {
    /// Generate a fresh 256-bit data key from a cryptographic RNG.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<DataKey, Error> {
        let mut bytes = [0u8; 32];
        rng.try_fill_bytes(&mut bytes).map_err(|_| Error::Rng)?;
        Ok(DataKey { bytes, len: 32 })
    }

    /// Wrap existing key bytes (16, 24 or 32 bytes).
    pub fn from_slice(key: &[u8]) -> Result<DataKey, Error> {
        match key.len() {
            16 | 24 | 32 => {
                let mut bytes = [0u8; 32];
                bytes[..key.len()].copy_from_slice(key);
                Ok(DataKey {
                    bytes,
                    len: key.len() as u8,
                })
            }
            n => Err(InputError::KeyLength { actual: n }.into()),
        }
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The key as a 32-byte array, if it is a 256-bit key (required by every
    /// suite this crate encrypts with, and by V3).
    pub fn as_256(&self) -> Result<&[u8; 32], Error> {
        if self.len == 32 {
            Ok(&self.bytes)
        } else {
            Err(InputError::KeyLength {
                actual: usize::from(self.len),
            }
            .into())
        }
    }

    /// Key length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({} bits, redacted)", self.len() * 8)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lengths_and_debug() {
        assert!(DataKey::from_slice(&[1; 15]).is_err());
        let k = DataKey::from_slice(&[7; 16]).unwrap();
        assert_eq!(k.len(), 16);
        assert!(k.as_256().is_err());
        let k = DataKey::from_slice(&[7; 32]).unwrap();
        assert_eq!(k.as_256().unwrap(), &[7; 32]);
        let dbg = format!("{k:?}");
        assert_eq!(dbg, "DataKey(256 bits, redacted)");
    }
}

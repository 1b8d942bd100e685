//! RSA-OAEP-SHA1 wrapping of S3EC data keys on the pure-Rust [`rsa`] crate:
//! public-key encryption for devices without AWS-LC (`no_std` + `alloc`).
//!
//! The envelope is the one AWS's clients and `s3ec-local`'s AWS-LC
//! `RsaKeyring` write (reference §5.4; V2 `x-amz-wrap-alg` =
//! `RSA-OAEP-SHA1`, V3 `x-amz-w` = `22`): RSAES-OAEP with SHA-1 and
//! MGF1-SHA-1 and an empty label, of the pseudo key `len(DK) || DK ||
//! cek-alg` ([`s3ec_core::wrap::rsa_pseudo`]). A device holding only the
//! public key encrypts each object under a fresh data key; only the private
//! key's owner (AWS-LC, KMS-free) reads it, and so do AWS's clients.
//!
//! Private-key operations (`RsaOaepUnwrapper`) are behind the `decrypt`
//! feature, off by default: RUSTSEC-2023-0071 (the Marvin attack, a timing
//! side channel in the `rsa` crate's private-key operations) lists no
//! patched release (advisory-db, September 2026: 0.9.10 and the 0.10
//! release candidates still affected). Public-key encryption, all this crate
//! does by default, handles no secret the side channel could leak. Read
//! with AWS-LC (`s3ec_local::RsaKeyring`) unless you accept that.
//!
//! ```
//! use s3ec_core::{DataKey, Suite, WrapAlg};
//! use s3ec_rsa::RsaOaepWrapper;
//! # let der = include_bytes!("../tests/data/rsa2048-public.der");
//! let wrapper = RsaOaepWrapper::from_public_key_der(der)?;
//! let mut rng = getrandom::SysRng;
//! let data_key = DataKey::generate(&mut rng)?;
//! let edk = wrapper.wrap(&data_key, Suite::AesGcmCommitting, &mut rng)?;
//! assert_eq!(edk.len(), 256); // the modulus length
//! assert_eq!(RsaOaepWrapper::WRAP_ALG, WrapAlg::RsaOaepSha1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![no_std]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;

use rand_core::TryCryptoRng;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, PublicKey};
use s3ec_core::wrap::rsa_pseudo;
use s3ec_core::{DataKey, Suite, WrapAlg};
use sha1::Sha1;

/// What can go wrong wrapping or unwrapping.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RsaError {
    /// The key bytes are not an RSA key in the expected encoding.
    InvalidKey,
    /// The modulus is smaller than 2048 bits (AWS's clients refuse such keys).
    KeyTooSmall {
        /// The modulus size in bits.
        bits: usize,
    },
    /// The RSA operation failed (random source, message length).
    Rsa,
    /// The wrapped key did not decrypt under this key (or its content
    /// cipher does not match): nothing more is said.
    Unwrap,
    /// From the core (pseudo-key encoding, data key length, suite).
    Core(s3ec_core::Error),
}

impl fmt::Display for RsaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RsaError::InvalidKey => f.write_str("not an RSA key in the expected DER encoding"),
            RsaError::KeyTooSmall { bits } => {
                write!(f, "RSA key of {bits} bits: at least 2048 are required")
            }
            RsaError::Rsa => f.write_str("RSA-OAEP operation failed"),
            RsaError::Unwrap => f.write_str("the encrypted data key did not unwrap"),
            RsaError::Core(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for RsaError {}

impl From<s3ec_core::Error> for RsaError {
    fn from(e: s3ec_core::Error) -> Self {
        RsaError::Core(e)
    }
}

/// Smallest modulus accepted, in bits.
pub const MIN_BITS: usize = 2048;

/// Wraps data keys under an RSA public key (RSA-OAEP-SHA1).
#[derive(Clone)]
pub struct RsaOaepWrapper {
    key: PublicKey,
}

impl fmt::Debug for RsaOaepWrapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaOaepWrapper")
            .field("bits", &self.key_size_bits())
            .finish()
    }
}

impl RsaOaepWrapper {
    /// The wrapping algorithm this crate writes.
    pub const WRAP_ALG: WrapAlg = WrapAlg::RsaOaepSha1;

    /// From a DER `SubjectPublicKeyInfo` (what `openssl rsa -pubout
    /// -outform DER` and Java's `PublicKey.getEncoded()` give) or a PKCS#1
    /// `RSAPublicKey`.
    pub fn from_public_key_der(der: &[u8]) -> Result<RsaOaepWrapper, RsaError> {
        let key = PublicKey::from_public_key_der(der)
            .or_else(|_| PublicKey::from_pkcs1_der(der))
            .map_err(|_| RsaError::InvalidKey)?;
        Self::from_key(key)
    }

    /// From an `rsa` crate public key.
    pub fn from_key(key: PublicKey) -> Result<RsaOaepWrapper, RsaError> {
        let bits = key.size() * 8;
        if bits < MIN_BITS {
            return Err(RsaError::KeyTooSmall { bits });
        }
        Ok(RsaOaepWrapper { key })
    }

    /// The modulus size in bits.
    pub fn key_size_bits(&self) -> usize {
        self.key.size() * 8
    }

    /// Wrap `data_key` for an object of `suite` (its content-cipher string
    /// is bound into the pseudo key): the encrypted data key for
    /// `x-amz-key-v2` (V2) or `x-amz-3` (V3), as long as the modulus.
    /// Legacy suites are refused, like every encryption.
    pub fn wrap<R: TryCryptoRng + ?Sized>(
        &self,
        data_key: &DataKey,
        suite: Suite,
        rng: &mut R,
    ) -> Result<Vec<u8>, RsaError> {
        // Spec `client.md`: encryption MUST NOT use a legacy suite.
        suite.check_encrypt()?;
        // Reference §5.4: RSAES-OAEP(SHA-1, MGF1-SHA-1, empty label) of
        // len(DK) || DK || cek-alg.
        let pseudo = rsa_pseudo::encode(data_key, suite.cek_alg())?;
        self.key
            .encrypt(rng, Oaep::<Sha1>::new(), pseudo.as_bytes())
            .map_err(|_| RsaError::Rsa)
    }
}

#[cfg(feature = "decrypt")]
pub use unwrap::RsaOaepUnwrapper;

#[cfg(feature = "decrypt")]
mod unwrap {
    use core::fmt;

    use rand_core::TryCryptoRng;
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    use rsa::{Oaep, PrivateKey};
    use s3ec_core::wrap::rsa_pseudo;
    use s3ec_core::DataKey;
    use sha1::Sha1;
    use zeroize::Zeroizing;

    use super::{RsaError, MIN_BITS};

    /// Unwraps RSA-OAEP-SHA1 data keys on the `rsa` crate (feature
    /// `decrypt`). **RUSTSEC-2023-0071**: the `rsa` crate's private-key
    /// operations have a timing side channel (the Marvin attack) and no
    /// patched release; blinding is used, which does not close it. Prefer
    /// AWS-LC (`s3ec_local::RsaKeyring`) wherever it builds.
    pub struct RsaOaepUnwrapper {
        key: PrivateKey,
    }

    impl fmt::Debug for RsaOaepUnwrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RsaOaepUnwrapper")
                .field("bits", &(self.key.size() * 8))
                .finish_non_exhaustive()
        }
    }

    impl RsaOaepUnwrapper {
        /// From a DER PKCS#8 `PrivateKeyInfo` or PKCS#1 `RSAPrivateKey`.
        pub fn from_private_key_der(der: &[u8]) -> Result<RsaOaepUnwrapper, RsaError> {
            let key = PrivateKey::from_pkcs8_der(der)
                .or_else(|_| PrivateKey::from_pkcs1_der(der))
                .map_err(|_| RsaError::InvalidKey)?;
            let bits = key.size() * 8;
            if bits < MIN_BITS {
                return Err(RsaError::KeyTooSmall { bits });
            }
            Ok(RsaOaepUnwrapper { key })
        }

        /// Unwrap `edk` (the decoded `x-amz-key-v2` / `x-amz-3`), binding
        /// `cek_alg` exactly as stored (`x-amz-cek-alg` / `x-amz-c`). Every
        /// failure is [`RsaError::Unwrap`].
        pub fn unwrap<R: TryCryptoRng + ?Sized>(
            &self,
            edk: &[u8],
            cek_alg: &str,
            rng: &mut R,
        ) -> Result<DataKey, RsaError> {
            if edk.len() != self.key.size() {
                return Err(RsaError::Unwrap);
            }
            let pseudo = Zeroizing::new(
                self.key
                    .decrypt_blinded(rng, Oaep::<Sha1>::new(), edk)
                    .map_err(|_| RsaError::Unwrap)?,
            );
            rsa_pseudo::decode(&pseudo, cek_alg).map_err(|_| RsaError::Unwrap)
        }
    }
}

//! Content-cipher glue used by the client: from a suite and a data key to a
//! ready cipher and the values that go into the envelope.
//!
//! * Encryption: [`ContentEncryption::new`] draws the IV (V2) or message id
//!   (V3) from the caller's RNG, derives the key commitment for V3 and
//!   returns a [`GcmEncryptor`] together with the [`ContentParams`] to store.
//! * Decryption: [`ContentKey::for_decrypt`] checks the stored values
//!   against the suite, verifies the V3 key commitment (before deriving the
//!   content key) and then hands out a [`GcmVerifier`], a one-shot
//!   [`open_in_place`](ContentKey::open_in_place), or — for legacy CBC — a
//!   [`CbcDecryptor`].

use core::fmt;

use rand_core::TryCryptoRng;
use zeroize::Zeroize;

use crate::cipher::backend::{GcmBackend, RustCrypto};
use crate::cipher::gcm::{check_iv, open_in_place_with, GcmEncryptor, GcmVerifier};
use crate::cipher::kdf::{self, Commitment};
use crate::data_key::DataKey;
use crate::error::{Error, FormatError, InputError, Unsupported};
use crate::keys::MetaKey;
use crate::legacy::CbcDecryptor;
use crate::suite::{Suite, COMMITTING_IV, MESSAGE_ID_LEN};

/// How many times a zero IV / message id from the RNG is redrawn before the
/// RNG is declared broken.
const ZERO_REDRAWS: usize = 4;

/// What the content cipher contributes to the envelope.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentParams {
    /// Suite `0x0072` (V2): the random 12-byte IV (`x-amz-iv`).
    Gcm {
        /// The content IV.
        iv: [u8; 12],
    },
    /// Suite `0x0073` (V3): the random message id (`x-amz-i`) and the key
    /// commitment (`x-amz-d`). The IV is the fixed [`COMMITTING_IV`].
    Committing {
        /// The message id (HKDF salt).
        message_id: [u8; MESSAGE_ID_LEN],
        /// The key commitment.
        commitment: Commitment,
    },
}

impl ContentParams {
    /// The suite these parameters belong to.
    pub fn suite(&self) -> Suite {
        match self {
            ContentParams::Gcm { .. } => Suite::AesGcm,
            ContentParams::Committing { .. } => Suite::AesGcmCommitting,
        }
    }

    /// The 12-byte GCM IV the content is encrypted with (the stored IV for
    /// V2, [`COMMITTING_IV`] for V3).
    pub fn iv(&self) -> &[u8; 12] {
        match self {
            ContentParams::Gcm { iv } => iv,
            ContentParams::Committing { .. } => &COMMITTING_IV,
        }
    }
}

/// Fill `buf` from `rng`, redrawing an all-zero result.
fn random_nonzero<R: TryCryptoRng + ?Sized>(rng: &mut R, buf: &mut [u8]) -> Result<(), Error> {
    for _ in 0..ZERO_REDRAWS {
        rng.try_fill_bytes(buf).map_err(|_| Error::Rng)?;
        if check_iv(buf).is_ok() {
            return Ok(());
        }
    }
    Err(Error::Rng)
}

/// A started content encryption: the encryptor and the envelope values.
///
/// ```
/// use s3ec_core::cipher::content::{ContentEncryption, ContentKey, ContentParams};
/// use s3ec_core::{DataKey, Suite};
/// let mut rng = rand::rngs::SysRng;
/// let dk = DataKey::generate(&mut rng)?;
/// let (mut enc, params) = ContentEncryption::new(Suite::AesGcmCommitting, &dk, &mut rng)?.into_parts();
/// let mut body = b"object body".to_vec();
/// enc.update(&mut body)?;
/// body.extend_from_slice(&enc.finish());
///
/// let ContentParams::Committing { message_id, commitment } = params else { unreachable!() };
/// let key = ContentKey::for_decrypt(Suite::AesGcmCommitting, &dk, &[], Some(&message_id), Some(&commitment))?;
/// let n = key.open_in_place(&mut body)?;
/// assert_eq!(&body[..n], b"object body");
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub struct ContentEncryption<B: GcmBackend = RustCrypto> {
    encryptor: GcmEncryptor<B>,
    params: ContentParams,
}

impl ContentEncryption {
    /// Start encrypting content with `suite` under `data_key` (must be 256
    /// bits), drawing the IV or message id from `rng`. The legacy CBC suite
    /// is refused ([`Unsupported::LegacySuiteEncrypt`]).
    pub fn new<R: TryCryptoRng + ?Sized>(
        suite: Suite,
        data_key: &DataKey,
        rng: &mut R,
    ) -> Result<Self, Error> {
        Self::with_backend(suite, data_key, rng)
    }
}

impl<B: GcmBackend> ContentEncryption<B> {
    /// [`ContentEncryption::new`] with backend `B`.
    pub fn with_backend<R: TryCryptoRng + ?Sized>(
        suite: Suite,
        data_key: &DataKey,
        rng: &mut R,
    ) -> Result<Self, Error> {
        // Spec `encryption.md` §ALG_AES_256_CBC_IV16_NO_KDF / CTR: CBC and
        // CTR encryption are not supported; attempts MUST fail.
        // spec: client.md#encryption-algorithm/2-3 (a legacy suite never encrypts)
        suite.check_encrypt()?;
        let dk = data_key.as_256()?;
        match suite {
            Suite::AesGcm => {
                // Spec `encryption.md` §Content Encryption: the IV MUST be
                // generated with the suite's IV length (12) and returned for
                // the metadata. §ALG_AES_256_GCM_IV12_TAG16_NO_KDF: key = data
                // key, no AAD.
                // spec: encryption.md#content-encryption/3-4 (a fresh 12-byte IV, returned in the params)
                let mut iv = [0u8; 12];
                random_nonzero(rng, &mut iv)?;
                // spec: encryption.md#alg_aes_256_gcm_iv12_tag16_no_kdf/1-2 (data key, the IV, 16-byte tag, no AAD)
                let encryptor = GcmEncryptor::<B>::with_backend(dk, &iv, suite.content_aad())?;
                Ok(ContentEncryption {
                    encryptor,
                    params: ContentParams::Gcm { iv },
                })
            }
            Suite::AesGcmCommitting => {
                // Spec `encryption.md` §ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY:
                // HKDF MUST derive the commitment and the key; the
                // commitment MUST be returned for the metadata.
                // `key-derivation.md`: IV MUST be 0x01 x 12, AAD MUST be the
                // suite id bytes.
                // spec: encryption.md#content-encryption/3-4 (a fresh 28-byte message id, returned in the params)
                let mut message_id = [0u8; MESSAGE_ID_LEN];
                random_nonzero(rng, &mut message_id)?;
                // spec: encryption.md#alg_aes_256_gcm_hkdf_sha512_commit_key/1 key-derivation.md#hkdf-operation/11-14 (HKDF key, 12 x 0x01 IV, suite id as AAD)
                let (key, commitment) = kdf::derive_for_encrypt(dk, &message_id)?;
                let encryptor = GcmEncryptor::<B>::with_backend(
                    key.as_bytes(),
                    &COMMITTING_IV,
                    suite.content_aad(),
                )?;
                Ok(ContentEncryption {
                    encryptor,
                    params: ContentParams::Committing {
                        message_id,
                        commitment,
                    },
                })
            }
            _ => Err(Error::Unsupported(Unsupported::LegacySuiteEncrypt)),
        }
    }

    /// The envelope values.
    pub fn params(&self) -> &ContentParams {
        &self.params
    }

    /// The encryptor.
    pub fn encryptor_mut(&mut self) -> &mut GcmEncryptor<B> {
        &mut self.encryptor
    }

    /// Split into the encryptor and the envelope values.
    pub fn into_parts(self) -> (GcmEncryptor<B>, ContentParams) {
        (self.encryptor, self.params)
    }
}

impl<B: GcmBackend> fmt::Debug for ContentEncryption<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentEncryption")
            .field("encryptor", &self.encryptor)
            .field("params", &self.params)
            .finish()
    }
}

/// Key, IV and AAD of a GCM content key.
pub(crate) struct GcmParts<'a> {
    pub(crate) key: &'a [u8],
    pub(crate) iv: [u8; 12],
    pub(crate) aad: &'static [u8],
}

/// Copy a 128/192/256-bit AES key into `dst`; its length.
fn put_key(dst: &mut [u8; 32], k: &[u8]) -> Result<u8, Error> {
    match k.len() {
        16 | 24 | 32 => {
            if let Some(d) = dst.get_mut(..k.len()) {
                d.copy_from_slice(k);
            }
            Ok(k.len() as u8)
        }
        n => Err(InputError::KeyLength { actual: n }.into()),
    }
}

/// A checked content decryption key: the (derived, for V3) key, the IV and
/// the suite. Zeroized on drop; `Debug` prints no key bytes.
pub struct ContentKey {
    suite: Suite,
    key: [u8; 32],
    key_len: u8,
    iv: [u8; 16],
}

impl Drop for ContentKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentKey")
            .field("suite", &self.suite)
            .field("key", &"redacted")
            .finish_non_exhaustive()
    }
}

impl ContentKey {
    /// Check the stored values against `suite` and build the content key.
    ///
    /// * `0x0072` (V2 GCM): `iv` is `x-amz-iv` (12 bytes), `data_key` is
    ///   256 bits (or 128/192, as PHP can write); `message_id` and
    ///   `commitment` must be `None`.
    /// * `0x0073` (V3): `iv` must be empty (V3 stores none) or equal
    ///   [`COMMITTING_IV`]; `message_id` (`x-amz-i`) and `commitment`
    ///   (`x-amz-d`) are required; the commitment is verified in constant
    ///   time before the content key is derived ([`Error::Authentication`]
    ///   on mismatch).
    /// * `0x0070` (legacy CBC): `iv` 16 bytes; 128/192/256-bit data keys.
    ///
    /// All-zero IVs and message ids are rejected ([`InputError::ZeroIv`]);
    /// a wrong IV length gives [`InputError::IvLength`] (for legacy wraps
    /// this check is what stops a GCM→CBC relabel, errata E3).
    pub fn for_decrypt(
        suite: Suite,
        data_key: &DataKey,
        iv: &[u8],
        message_id: Option<&[u8; MESSAGE_ID_LEN]>,
        commitment: Option<&Commitment>,
    ) -> Result<ContentKey, Error> {
        let mut out = ContentKey {
            suite,
            key: [0; 32],
            key_len: 0,
            iv: [0; 16],
        };
        match suite {
            Suite::AesGcm => {
                if message_id.is_some() || commitment.is_some() {
                    return Err(FormatError::InvalidCombination.into());
                }
                let iv: &[u8; 12] = iv
                    .try_into()
                    .map_err(|_| InputError::IvLength { actual: iv.len() })?;
                check_iv(iv)?;
                // 256-bit data keys from every current writer; 128/192-bit
                // ones from writers that let the caller choose (PHP's
                // `@KeySize`), which V1/V2 readers must take (V3 requires
                // 256, below).
                out.key_len = put_key(&mut out.key, data_key.as_bytes())?;
                out.iv[..12].copy_from_slice(iv);
            }
            Suite::AesGcmCommitting => {
                if !(iv.is_empty() || iv == COMMITTING_IV) {
                    return Err(if iv.len() == 12 {
                        FormatError::InvalidCombination.into()
                    } else {
                        InputError::IvLength { actual: iv.len() }.into()
                    });
                }
                let mid = message_id.ok_or(FormatError::Missing(MetaKey::MessageIdV3))?;
                let ck = commitment.ok_or(FormatError::Missing(MetaKey::KeyCommitmentV3))?;
                // spec: key-derivation.md#hkdf-operation/3 (a 32-byte data key only)
                let dk = data_key.as_256()?;
                // Spec `decryption.md` §Decrypting With Commitment: verify
                // (constant time) before deriving; done inside.
                // spec: decryption.md#decrypting-with-commitment/1 decryption.md#decrypting-with-commitment/3 key-derivation.md#hkdf-operation/11-14 (commitment checked, then the HKDF key with the fixed IV and suite-id AAD)
                let k = kdf::derive_for_decrypt(dk, mid, ck)?;
                out.key = *k.as_bytes();
                out.key_len = 32;
                out.iv[..12].copy_from_slice(&COMMITTING_IV);
            }
            Suite::AesCbc => {
                if message_id.is_some() || commitment.is_some() {
                    return Err(FormatError::InvalidCombination.into());
                }
                if iv.len() != 16 {
                    return Err(InputError::IvLength { actual: iv.len() }.into());
                }
                check_iv(iv)?;
                out.key_len = put_key(&mut out.key, data_key.as_bytes())?;
                out.iv.copy_from_slice(iv);
            }
        }
        Ok(out)
    }

    /// The suite this key decrypts.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The GCM key, IV and AAD; [`Unsupported::WrongSuite`] for CBC.
    pub(crate) fn gcm_parts(&self) -> Result<GcmParts<'_>, Error> {
        if !self.suite.is_authenticated() {
            return Err(Error::Unsupported(Unsupported::WrongSuite));
        }
        let mut iv = [0u8; 12];
        iv.copy_from_slice(&self.iv[..12]);
        Ok(GcmParts {
            key: self
                .key
                .get(..usize::from(self.key_len))
                .ok_or(InputError::KeyLength { actual: 0 })?,
            iv,
            aad: self.suite.content_aad(),
        })
    }

    /// A streaming verifier (pass one of authenticated decryption) with the
    /// default backend. GCM suites only.
    pub fn verifier(&self) -> Result<GcmVerifier, Error> {
        self.verifier_with::<RustCrypto>()
    }

    /// [`verifier`](Self::verifier) with backend `B`.
    pub fn verifier_with<B: GcmBackend>(&self) -> Result<GcmVerifier<B>, Error> {
        let p = self.gcm_parts()?;
        GcmVerifier::<B>::with_backend(p.key, &p.iv, p.aad)
    }

    /// Verify, then decrypt in place a whole `ciphertext || tag` body;
    /// returns the plaintext length. GCM suites only.
    pub fn open_in_place(&self, body: &mut [u8]) -> Result<usize, Error> {
        self.open_in_place_with::<RustCrypto>(body)
    }

    /// [`open_in_place`](Self::open_in_place) with backend `B`.
    pub fn open_in_place_with<B: GcmBackend>(&self, body: &mut [u8]) -> Result<usize, Error> {
        let p = self.gcm_parts()?;
        open_in_place_with::<B>(p.key, &p.iv, p.aad, body)
    }

    /// A legacy CBC decryptor (suite `0x0070` only; the caller is
    /// responsible for the legacy-unauthenticated-modes gate).
    pub fn cbc_decryptor(&self) -> Result<CbcDecryptor, Error> {
        if self.suite != Suite::AesCbc {
            return Err(Error::Unsupported(Unsupported::WrongSuite));
        }
        let key = self
            .key
            .get(..usize::from(self.key_len))
            .ok_or(InputError::KeyLength { actual: 0 })?;
        CbcDecryptor::new(key, &self.iv)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// An RNG that only ever returns zeros.
    struct ZeroRng;
    impl rand_core::TryRng for ZeroRng {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(0)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(0)
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
            dest.fill(0);
            Ok(())
        }
    }
    impl TryCryptoRng for ZeroRng {}

    #[test]
    fn zero_rng_is_refused() {
        let dk = DataKey::from_slice(&[1; 32]).unwrap();
        let mut zero = ZeroRng;
        for s in [Suite::AesGcm, Suite::AesGcmCommitting] {
            assert_eq!(
                ContentEncryption::new(s, &dk, &mut zero).map(|_| ()),
                Err(Error::Rng)
            );
        }
    }

    #[test]
    fn cbc_encrypt_refused_and_short_key() {
        // spec: client.md#encryption-algorithm/2-3
        let mut rng = rand::rngs::SysRng;
        let dk = DataKey::from_slice(&[1; 32]).unwrap();
        assert_eq!(
            ContentEncryption::new(Suite::AesCbc, &dk, &mut rng).map(|_| ()),
            Err(Error::Unsupported(Unsupported::LegacySuiteEncrypt))
        );
        let short = DataKey::from_slice(&[1; 16]).unwrap();
        assert_eq!(
            ContentEncryption::new(Suite::AesGcm, &short, &mut rng).map(|_| ()),
            Err(InputError::KeyLength { actual: 16 }.into())
        );
    }

    #[test]
    fn for_decrypt_checks() {
        let dk = DataKey::from_slice(&[1; 32]).unwrap();
        let e = |r: Result<ContentKey, Error>| r.map(|_| ()).unwrap_err();
        assert_eq!(
            e(ContentKey::for_decrypt(
                Suite::AesGcm,
                &dk,
                &[1; 16],
                None,
                None
            )),
            InputError::IvLength { actual: 16 }.into()
        );
        assert_eq!(
            e(ContentKey::for_decrypt(
                Suite::AesCbc,
                &dk,
                &[1; 12],
                None,
                None
            )),
            InputError::IvLength { actual: 12 }.into()
        );
        assert_eq!(
            e(ContentKey::for_decrypt(
                Suite::AesGcm,
                &dk,
                &[0; 12],
                None,
                None
            )),
            InputError::ZeroIv.into()
        );
        assert_eq!(
            e(ContentKey::for_decrypt(
                Suite::AesCbc,
                &dk,
                &[0; 16],
                None,
                None
            )),
            InputError::ZeroIv.into()
        );
        assert_eq!(
            e(ContentKey::for_decrypt(
                Suite::AesGcmCommitting,
                &dk,
                &[],
                None,
                Some(&[1; 28])
            )),
            FormatError::Missing(MetaKey::MessageIdV3).into()
        );
        assert_eq!(
            e(ContentKey::for_decrypt(
                Suite::AesGcmCommitting,
                &dk,
                &[],
                Some(&[1; 28]),
                None
            )),
            FormatError::Missing(MetaKey::KeyCommitmentV3).into()
        );
        assert_eq!(
            e(ContentKey::for_decrypt(
                Suite::AesGcmCommitting,
                &dk,
                &[],
                Some(&[0; 28]),
                Some(&[1; 28])
            )),
            InputError::ZeroIv.into()
        );
        assert_eq!(
            e(ContentKey::for_decrypt(
                Suite::AesGcmCommitting,
                &dk,
                &[2; 12],
                Some(&[1; 28]),
                Some(&[1; 28])
            )),
            FormatError::InvalidCombination.into()
        );
        assert_eq!(
            e(ContentKey::for_decrypt(
                Suite::AesGcm,
                &dk,
                &[1; 12],
                Some(&[1; 28]),
                None
            )),
            FormatError::InvalidCombination.into()
        );
        // 128/192-bit data keys: V2 GCM and CBC take them, V3 does not.
        // spec: key-derivation.md#hkdf-operation/3
        let k16 = DataKey::from_slice(&[1; 16]).unwrap();
        for n in [16usize, 24] {
            let k = DataKey::from_slice(&[1; 32][..n]).unwrap();
            let gcm = ContentKey::for_decrypt(Suite::AesGcm, &k, &[1; 12], None, None).unwrap();
            assert!(gcm.verifier().is_ok());
            assert_eq!(
                e(ContentKey::for_decrypt(
                    Suite::AesGcmCommitting,
                    &k,
                    &[],
                    Some(&[1; 28]),
                    Some(&[1; 28])
                )),
                InputError::KeyLength { actual: n }.into()
            );
        }
        let k20 = DataKey::from_slice(&[1; 20]);
        assert!(k20.is_err());
        let cbc = ContentKey::for_decrypt(Suite::AesCbc, &k16, &[1; 16], None, None).unwrap();
        assert!(cbc.cbc_decryptor().is_ok());
        assert_eq!(
            cbc.verifier().map(|_| ()),
            Err(Error::Unsupported(Unsupported::WrongSuite))
        );
        let gcm = ContentKey::for_decrypt(Suite::AesGcm, &dk, &[1; 12], None, None).unwrap();
        assert!(gcm.cbc_decryptor().is_err());
        let dbg = format!("{gcm:?}");
        assert!(dbg.contains("redacted") && !dbg.contains("[1, 1"));
    }
}

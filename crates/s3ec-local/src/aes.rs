//! The raw AES keyring: `AES/GCM` wrap (reference §5.3), legacy `AESWrap`
//! (§5.5) and V1 `AES` (§5.7) unwrap.
//!
//! The spec's `s3-aes-keyring.md` is missing (`materials/keyrings.md` links
//! it); the behaviour follows AWS's Java `AesKeyring` and `RawKeyring`,
//! with the binding of the *stored* content-cipher string of errata E3 and
//! the material-description rule of errata E4.

use core::fmt;

use getrandom::SysRng;
use s3ec_core::wrap::{aes_ecb, aes_gcm, aes_kw};
use s3ec_core::{DataKey, WrapAlg};
use s3ec_keyring::{
    check_legacy_wrap, Context, DecryptRequest, EncryptRequest, EncryptedDataKey,
    EncryptionMaterials, Keyring, KeyringError,
};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::unwrap_outcome;

/// An AES master key of 128, 192 or 256 bits, zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct MasterKey {
    bytes: [u8; 32],
    len: u8,
}

impl MasterKey {
    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// A keyring over a raw AES master key (128, 192 or 256 bits).
///
/// * Encrypt: a fresh 256-bit data key from the OS RNG, wrapped with
///   AES-GCM under the master key with AAD = the content-cipher string
///   (`AES/GCM/NoPadding` for V2, `115` for V3); the stored map is this
///   keyring's material description (empty by default).
/// * Decrypt: `AES/GCM` (AAD = the *stored* content-cipher string, so a
///   relabelled object fails to unwrap); legacy `AESWrap` and V1 `AES`
///   (AES-ECB) only with [`LegacyOptions::wrapping_algorithms`]. Wraps of
///   other keyrings (KMS, RSA) answer `Ok(None)`.
///
/// The master key is zeroized on drop and never printed.
///
/// ```
/// use s3ec_keyring::{Context, DecryptRequest, EncryptRequest, Keyring, KeyringError, LegacyOptions};
/// use s3ec_core::Suite;
/// use s3ec_local::AesKeyring;
///
/// let desc = Context::from([("key".to_string(), "2024-blue".to_string())]);
/// let ring = AesKeyring::new(&[7u8; 16])?.with_material_description(desc.clone());
/// assert!(!format!("{ring:?}").contains("7, 7"));
///
/// let ctx = Context::new();
/// let mats = ring.on_encrypt(&EncryptRequest { suite: Suite::AesGcm, context: &ctx })?;
/// assert_eq!(mats.encrypted.ciphertext.len(), 60);
/// assert_eq!(mats.encrypted.stored_map, desc);
///
/// // The same object relabelled AES/CBC: the AAD no longer matches.
/// let relabelled = DecryptRequest {
///     suite: Suite::AesCbc,
///     wrap: mats.encrypted.wrap,
///     encrypted_key: &mats.encrypted.ciphertext,
///     cek_alg: "AES/CBC/PKCS5Padding",
///     stored_map: &desc,
///     expected_context: None,
///     legacy: LegacyOptions::ALL,
/// };
/// assert!(matches!(ring.on_decrypt(&relabelled), Err(KeyringError::UnwrapFailed)));
/// # Ok::<(), KeyringError>(())
/// ```
///
/// [`LegacyOptions::wrapping_algorithms`]: s3ec_keyring::LegacyOptions::wrapping_algorithms
#[derive(Clone)]
pub struct AesKeyring {
    key: MasterKey,
    matdesc: Context,
}

impl AesKeyring {
    /// A keyring over `key`, which must be 16, 24 or 32 bytes
    /// ([`KeyringError::InvalidKey`] otherwise). The bytes are copied; the
    /// copy is zeroized when the keyring is dropped.
    pub fn new(key: &[u8]) -> Result<AesKeyring, KeyringError> {
        let len = key.len();
        if !matches!(len, 16 | 24 | 32) {
            return Err(KeyringError::InvalidKey {
                reason: format!(
                    "an AES master key must be 16, 24 or 32 bytes (128, 192 or 256 bits), not {len}"
                ),
            });
        }
        let mut bytes = [0u8; 32];
        bytes[..len].copy_from_slice(key);
        Ok(AesKeyring {
            key: MasterKey {
                bytes,
                // len is 16, 24 or 32
                len: len as u8,
            },
            matdesc: Context::new(),
        })
    }

    /// Set the material description stored with every object this keyring
    /// encrypts (`x-amz-matdesc` in V2, `x-amz-m` in V3). It names the key
    /// for readers holding several; it is not authenticated (errata E4).
    pub fn with_material_description(mut self, description: Context) -> AesKeyring {
        self.matdesc = description;
        self
    }

    /// This keyring's material description.
    pub fn material_description(&self) -> &Context {
        &self.matdesc
    }

    /// The master key's size in bits (128, 192 or 256).
    pub fn key_size_bits(&self) -> usize {
        usize::from(self.key.len) * 8
    }

    /// Wrap `data_key` with a legacy algorithm: [`WrapAlg::AesWrap`]
    /// (RFC 3394) or [`WrapAlg::AesEcb`] (V1 `AES`).
    ///
    /// **For test vectors only**: no current client writes legacy wraps
    /// (spec `client.md`); this exists so that the read path can be tested
    /// on objects made here. Any other wrap is
    /// [`KeyringError::UnsupportedWrap`].
    pub fn legacy_wrap(&self, wrap: WrapAlg, data_key: &DataKey) -> Result<Vec<u8>, KeyringError> {
        let kek = self.key.as_bytes();
        let edk = match wrap {
            WrapAlg::AesWrap => aes_kw::legacy_wrap(kek, data_key)?,
            WrapAlg::AesEcb => aes_ecb::legacy_wrap(kek, data_key)?,
            wrap => return Err(KeyringError::UnsupportedWrap { wrap }),
        };
        Ok(edk.as_bytes().to_vec())
    }
}

impl fmt::Debug for AesKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AesKeyring")
            .field("key_bits", &self.key_size_bits())
            .field("material_description", &self.matdesc)
            .finish_non_exhaustive()
    }
}

impl Keyring for AesKeyring {
    fn on_encrypt(&self, req: &EncryptRequest<'_>) -> Result<EncryptionMaterials, KeyringError> {
        // Spec `s3-keyring.md` OnEncrypt: GenerateDataKey (a fresh 256-bit
        // key per object, from the OS RNG), then EncryptDataKey
        // (`wrap_data_key`, which also checks the request).
        let data_key = DataKey::generate(&mut SysRng)?;
        let encrypted = self.wrap_data_key(req, &data_key)?;
        Ok(EncryptionMaterials {
            data_key,
            encrypted,
        })
    }

    fn wrap_data_key(
        &self,
        req: &EncryptRequest<'_>,
        data_key: &DataKey,
    ) -> Result<EncryptedDataKey, KeyringError> {
        // Raw keyrings store their own material description; a per-request
        // encryption context would be stored nowhere and bind nothing (Java
        // `RawKeyring` only warns; we refuse).
        if !req.context.is_empty() {
            return Err(KeyringError::ContextNotSupported);
        }
        // Spec `client.md`: encryption MUST NOT use a legacy suite.
        req.suite.check_encrypt()?;
        // Reference §5.3: nonce || AES-GCM(KEK, nonce, AAD = cek-alg, DK) || tag.
        let edk = aes_gcm::wrap(
            self.key.as_bytes(),
            data_key,
            req.suite.cek_alg(),
            &mut SysRng,
        )?;
        Ok(EncryptedDataKey {
            wrap: WrapAlg::AesGcm,
            ciphertext: edk.to_vec(),
            stored_map: self.matdesc.clone(),
        })
    }

    fn on_decrypt(&self, req: &DecryptRequest<'_>) -> Result<Option<DataKey>, KeyringError> {
        // Not an AES wrap: another keyring's object.
        if !matches!(
            req.wrap,
            WrapAlg::AesGcm | WrapAlg::AesWrap | WrapAlg::AesEcb
        ) {
            return Ok(None);
        }
        // Spec `client.md`: legacy wrapping algorithms MUST NOT be used to
        // decrypt unless the caller enabled them.
        check_legacy_wrap(req)?;
        let kek = self.key.as_bytes();
        let result = match req.wrap {
            // AAD = the content cipher exactly as stored (errata E3), so a
            // relabelled object fails the tag check.
            WrapAlg::AesGcm => aes_gcm::unwrap(kek, req.encrypted_key, req.cek_alg),
            // Legacy wraps bind nothing but the data key (errata E3).
            WrapAlg::AesWrap => aes_kw::unwrap(kek, req.encrypted_key),
            WrapAlg::AesEcb => aes_ecb::unwrap(kek, req.encrypted_key),
            _ => return Ok(None),
        };
        unwrap_outcome(result, req.stored_map, &self.matdesc)
    }
}

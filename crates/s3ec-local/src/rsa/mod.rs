//! The raw RSA keyring: `RSA-OAEP-SHA1` wrap of the pseudo data key
//! (reference §5.4), legacy `RSA/ECB/OAEPWithSHA-256AndMGF1Padding` (§5.6,
//! errata E9) and V1 `RSA` (PKCS#1 v1.5, §5.7) unwrap.
//!
//! The spec's `s3-rsa-keyring.md` is missing (`materials/keyrings.md` links
//! it); the behaviour follows AWS's Java `RsaKeyring` and `RawKeyring`,
//! with the exact cek-alg comparison of errata E3/E8 and the
//! material-description rule of errata E4.

mod der;

use core::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::error::KeyRejected;
use aws_lc_rs::hmac;
use aws_lc_rs::rsa::{
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey,
    Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey, OAEP_SHA1_MGF1SHA1,
    OAEP_SHA256_MGF1SHA256,
};
use getrandom::SysRng;
use s3ec_core::wrap::rsa_pseudo;
use s3ec_core::{DataKey, WrapAlg};
use s3ec_keyring::{
    check_legacy_wrap, Context, DecryptRequest, EncryptRequest, EncryptedDataKey,
    EncryptionMaterials, Keyring, KeyringError,
};
use zeroize::Zeroizing;

use self::der::{invalid, PemKind, MAX_DER_LEN};
use crate::names_this_key;
use s3ec_aws_lc::ffi::rsa::EvpRsaKey;

/// The legacy RSA wraps, for [`RsaKeyring::legacy_wrap`] (test vectors).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegacyRsaWrap {
    /// V1 `RSA`: PKCS#1 v1.5 encryption of the raw data key
    /// ([`WrapAlg::RsaPkcs1`]).
    Pkcs1V15,
    /// `RSA/ECB/OAEPWithSHA-256AndMGF1Padding` as Java's SunJCE provider
    /// makes it: OAEP-SHA-256 with MGF1-SHA-1 ([`WrapAlg::RsaOaepSha256`]).
    OaepSha256Mgf1Sha1,
    /// `RSA/ECB/OAEPWithSHA-256AndMGF1Padding` as BouncyCastle makes it:
    /// OAEP-SHA-256 with MGF1-SHA-256 ([`WrapAlg::RsaOaepSha256`]).
    OaepSha256Mgf1Sha256,
}

impl LegacyRsaWrap {
    /// The wrapping algorithm an object carrying this wrap is read as.
    pub const fn wrap_alg(self) -> WrapAlg {
        match self {
            LegacyRsaWrap::Pkcs1V15 => WrapAlg::RsaPkcs1,
            LegacyRsaWrap::OaepSha256Mgf1Sha1 | LegacyRsaWrap::OaepSha256Mgf1Sha256 => {
                WrapAlg::RsaOaepSha256
            }
        }
    }
}

/// The private half: both decryption paddings `aws-lc-rs` offers safely.
struct PrivateKey {
    oaep: OaepPrivateDecryptingKey,
    pkcs1: Pkcs1PrivateDecryptingKey,
    /// The implicit-rejection secret: an HMAC-SHA-256 key derived from the
    /// private key ([`rejection_secret`]), never shown. A V1 `RSA` (PKCS#1
    /// v1.5) unwrap that fails yields `HMAC(secret, ciphertext)` as the
    /// data key.
    reject: hmac::Key,
}

/// The data key a failed V1 `RSA` (PKCS#1 v1.5) unwrap yields: a 256-bit
/// key derived from the encrypted key and the keyring's secret, the same for
/// the same ciphertext, unrelated to any real key. The read then fails where
/// a wrong data key fails (the content's authentication, or CBC padding),
/// so an unwrap failure is not told apart from a content failure
/// (implicit rejection, as in RFC 8017 errata / AWS-LC's
/// `RSA_PKCS1_PADDING` implicit-rejection mode: no Bleichenbacher oracle).
fn implicit_rejection_key(secret: &hmac::Key, edk: &[u8]) -> Result<DataKey, KeyringError> {
    let tag = hmac::sign(secret, edk);
    Ok(DataKey::from_slice(tag.as_ref())?)
}

/// The implicit-rejection secret of a private key:
/// `HMAC-SHA-256(label, its PKCS#8 encoding)`, as secret as the key itself and
/// the same in every process that holds the key (as the implicit-rejection
/// key derivation of RSA implementations derives it from the private
/// exponent): a failed unwrap of a given ciphertext yields the same stand-in
/// key every time, so asking again tells an attacker nothing new, and a
/// read's outcome does not vary from one keyring instance to the next.
fn rejection_secret(pkcs8: &[u8]) -> hmac::Key {
    let label = hmac::Key::new(
        hmac::HMAC_SHA256,
        b"s3ec RSA PKCS#1 v1.5 implicit rejection v1",
    );
    let derived = hmac::sign(&label, pkcs8);
    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
}

/// The parsed key, shared between clones of a keyring.
struct Inner {
    oaep_public: OaepPublicEncryptingKey,
    pkcs1_public: Pkcs1PublicEncryptingKey,
    spki: Vec<u8>,
    private: Option<PrivateKey>,
    /// The same key as a raw AWS-LC object, for the one operation without
    /// a safe API (OAEP-SHA-256 with MGF1-SHA-1, see `s3ec_aws_lc::ffi::rsa`).
    legacy: EvpRsaKey,
    bits: usize,
    bytes: usize,
}

/// A keyring over a raw RSA key: a key pair (encrypt and decrypt) or a
/// public key alone (encrypt only).
///
/// * Encrypt: a fresh 256-bit data key from the OS RNG; the *pseudo data
///   key* `len(DK) || DK || cek-alg` is encrypted with RSAES-OAEP, hash
///   SHA-1, MGF1-SHA-1, empty label (`RSA-OAEP-SHA1`, V3 `22`); the stored
///   map is this keyring's material description (empty by default).
/// * Decrypt: `RSA-OAEP-SHA1`, then the pseudo key's cek-alg must equal the
///   stored one exactly ([`KeyringError::CekAlgMismatch`] otherwise).
///   Legacy wraps, only with [`LegacyOptions::wrapping_algorithms`]: V1
///   `RSA` (PKCS#1 v1.5) and `RSA/ECB/OAEPWithSHA-256AndMGF1Padding` (tried
///   with MGF1-SHA-1 first, then MGF1-SHA-256, errata E9), both of the raw
///   data key. Wraps of other keyrings answer `Ok(None)`.
///
/// Keys: 2048 to 8192 bits, PEM or DER, PKCS#8 or PKCS#1 for private keys,
/// X.509 `SubjectPublicKeyInfo` or PKCS#1 for public keys. Anything else,
/// including garbage or truncated input, is [`KeyringError::InvalidKey`].
///
/// # Side channels (Marvin)
///
/// Every private-key operation runs in AWS-LC (`aws-lc-rs`): the RSA
/// exponentiation is blinded and constant time, and the OAEP and PKCS#1
/// v1.5 padding checks are constant time up to the final valid/invalid
/// verdict. The pure-Rust `rsa` crate (RUSTSEC-2023-0071) is not used.
///
/// Legacy V1 `RSA` reads (PKCS#1 v1.5) use *implicit rejection*: a
/// PKCS#1 v1.5 check that reports failure would be an explicit
/// Bleichenbacher oracle whatever the implementation, so an unwrap that
/// fails (bad padding, or a key that is not 16, 24 or 32 bytes) does not
/// fail: it yields a stand-in 256-bit data key, `HMAC-SHA-256(secret,
/// encrypted key)` under a secret derived from the private key.
/// The read then fails where any wrong data key fails, on the content
/// (GCM authentication or CBC padding), with the same error. So for an
/// encrypted key as long as the modulus, a V1 `RSA` wrap always answers
/// `Ok(Some(_))`, whatever the material description says (it is
/// unauthenticated; letting it choose between "failed" and "not mine"
/// would reopen the oracle). Consequence for [`Keyrings`] holding several
/// RSA keyrings of the same modulus size: a V1 `RSA` object is unwrapped
/// by the first of them only. Legacy wrapping stays off by default;
/// re-encrypting V1 objects remains the real fix.
///
/// [`Keyrings`]: s3ec_keyring::Keyrings
///
/// ```
/// use s3ec_keyring::{Context, DecryptRequest, EncryptRequest, Keyring, KeyringError, LegacyOptions};
/// use s3ec_core::Suite;
/// use s3ec_local::RsaKeyring;
///
/// # use aws_lc_rs::encoding::AsDer;
/// # let k = aws_lc_rs::rsa::PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
/// # let pem = pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, k.as_der().unwrap().as_ref()).unwrap();
/// // `pem`: "-----BEGIN RSA PRIVATE KEY-----..." (PKCS#1) or "-----BEGIN PRIVATE KEY-----..."
/// let ring = RsaKeyring::from_private_key_pem(&pem)?;
/// let writer = RsaKeyring::from_public_key_der(&ring.public_key_der())?; // encrypt only
///
/// let ctx = Context::new();
/// let mats = writer.on_encrypt(&EncryptRequest { suite: Suite::AesGcmCommitting, context: &ctx })?;
/// let req = DecryptRequest {
///     suite: Suite::AesGcmCommitting,
///     wrap: mats.encrypted.wrap,
///     encrypted_key: &mats.encrypted.ciphertext,
///     cek_alg: "115",
///     stored_map: &mats.encrypted.stored_map,
///     expected_context: None,
///     legacy: LegacyOptions::default(),
/// };
/// let dk = ring.on_decrypt(&req)?.expect("our key");
/// assert_eq!(dk.as_bytes(), mats.data_key.as_bytes());
///
/// assert!(matches!(
///     RsaKeyring::from_private_key_pem("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----"),
///     Err(KeyringError::InvalidKey { .. })
/// ));
/// # Ok::<(), KeyringError>(())
/// ```
///
/// [`LegacyOptions::wrapping_algorithms`]: s3ec_keyring::LegacyOptions::wrapping_algorithms
#[derive(Clone)]
pub struct RsaKeyring {
    inner: Arc<Inner>,
    matdesc: Context,
}

/// A readable reason for a rejected key (no key material in it).
fn rejected(e: &KeyRejected) -> KeyringError {
    let reason = match e.description_() {
        "TooSmall" => "RSA key too small: at least 2048 bits are required".to_string(),
        "TooLarge" => "RSA key too large: at most 8192 bits are supported".to_string(),
        "InvalidEncoding" => "not a valid DER-encoded RSA key".to_string(),
        "WrongAlgorithm" => "not an RSA key".to_string(),
        other => format!("RSA key rejected ({other})"),
    };
    invalid(reason)
}

/// Prefer the more specific of two rejections of the same input read two
/// ways (an encoding error is the least specific).
fn pick(first: KeyringError, second: KeyringError, first_encoding: bool) -> KeyringError {
    if first_encoding {
        second
    } else {
        first
    }
}

impl Inner {
    fn from_public(public: PublicEncryptingKey, legacy: EvpRsaKey) -> Result<Inner, KeyringError> {
        let bits = public.key_size_bits();
        let bytes = public.key_size_bytes();
        let spki = public
            .as_der()
            .map_err(|_| invalid("cannot encode the RSA public key"))?
            .as_ref()
            .to_vec();
        let oaep_public = OaepPublicEncryptingKey::new(public.clone())
            .map_err(|_| invalid("RSA key unusable for OAEP"))?;
        let pkcs1_public = Pkcs1PublicEncryptingKey::new(public)
            .map_err(|_| invalid("RSA key unusable for PKCS#1 v1.5"))?;
        Ok(Inner {
            oaep_public,
            pkcs1_public,
            spki,
            private: None,
            legacy,
            bits,
            bytes,
        })
    }

    /// Parse a PKCS#8 `PrivateKeyInfo`. The error flag says whether the
    /// failure was one of encoding (so another reading may be tried).
    fn from_pkcs8(pkcs8: &[u8]) -> Result<Inner, (KeyringError, bool)> {
        let private = PrivateDecryptingKey::from_pkcs8(pkcs8)
            .map_err(|e| (rejected(&e), e.description_() == "InvalidEncoding"))?;
        let legacy = EvpRsaKey::from_pkcs8(pkcs8)
            .ok_or_else(|| (invalid("data after the RSA private key"), true))?;
        let mut inner = Inner::from_public(private.public_key(), legacy).map_err(|e| (e, false))?;
        // From AWS-LC's own encoding of the key, so that every form the
        // key is given in (PKCS#8 or PKCS#1, PEM or DER) has one secret.
        let canonical = private
            .as_der()
            .map_err(|_| (invalid("RSA key cannot be encoded"), false))?;
        let reject = rejection_secret(canonical.as_ref());
        inner.private = Some(PrivateKey {
            oaep: OaepPrivateDecryptingKey::new(private.clone())
                .map_err(|_| (invalid("RSA key unusable for OAEP"), false))?,
            pkcs1: Pkcs1PrivateDecryptingKey::new(private)
                .map_err(|_| (invalid("RSA key unusable for PKCS#1 v1.5"), false))?,
            reject,
        });
        Ok(inner)
    }

    /// Parse an X.509 `SubjectPublicKeyInfo`.
    fn from_spki(spki: &[u8]) -> Result<Inner, (KeyringError, bool)> {
        let public = PublicEncryptingKey::from_der(spki)
            .map_err(|e| (rejected(&e), e.description_() == "InvalidEncoding"))?;
        let legacy = EvpRsaKey::from_spki(spki)
            .ok_or_else(|| (invalid("data after the RSA public key"), true))?;
        Inner::from_public(public, legacy).map_err(|e| (e, false))
    }
}

impl RsaKeyring {
    fn from_inner(inner: Inner) -> RsaKeyring {
        RsaKeyring {
            inner: Arc::new(inner),
            matdesc: Context::new(),
        }
    }

    /// A key pair from a DER private key: PKCS#8 `PrivateKeyInfo` or PKCS#1
    /// `RSAPrivateKey` (tried in that order). Encrypted keys are not
    /// supported.
    pub fn from_private_key_der(der: &[u8]) -> Result<RsaKeyring, KeyringError> {
        if der.len() > MAX_DER_LEN {
            return Err(invalid("key too large"));
        }
        let inner = match Inner::from_pkcs8(der) {
            Ok(inner) => inner,
            Err((e8, encoding)) => {
                let wrapped = der::pkcs1_private_to_pkcs8(der)?;
                Inner::from_pkcs8(&wrapped).map_err(|(e1, _)| pick(e8, e1, encoding))?
            }
        };
        Ok(RsaKeyring::from_inner(inner))
    }

    /// An encrypt-only keyring from a DER public key: X.509
    /// `SubjectPublicKeyInfo` or PKCS#1 `RSAPublicKey` (tried in that order).
    pub fn from_public_key_der(der: &[u8]) -> Result<RsaKeyring, KeyringError> {
        if der.len() > MAX_DER_LEN {
            return Err(invalid("key too large"));
        }
        let inner = match Inner::from_spki(der) {
            Ok(inner) => inner,
            Err((es, encoding)) => {
                let wrapped = der::pkcs1_public_to_spki(der)?;
                Inner::from_spki(&wrapped).map_err(|(e1, _)| pick(es, e1, encoding))?
            }
        };
        Ok(RsaKeyring::from_inner(inner))
    }

    /// A key pair from a PEM private key (`PRIVATE KEY`, PKCS#8, or
    /// `RSA PRIVATE KEY`, PKCS#1). A public key here is an error: use
    /// [`RsaKeyring::from_public_key_pem`] or [`RsaKeyring::from_pem`].
    pub fn from_private_key_pem(pem: &str) -> Result<RsaKeyring, KeyringError> {
        let (kind, der) = der::decode_pem(pem)?;
        if !kind.is_private() {
            return Err(invalid(
                "expected an RSA private key, found a public key (use from_public_key_pem)",
            ));
        }
        RsaKeyring::from_pem_parts(kind, &der)
    }

    /// An encrypt-only keyring from a PEM public key (`PUBLIC KEY`, X.509
    /// `SubjectPublicKeyInfo`, or `RSA PUBLIC KEY`, PKCS#1).
    pub fn from_public_key_pem(pem: &str) -> Result<RsaKeyring, KeyringError> {
        let (kind, der) = der::decode_pem(pem)?;
        if kind.is_private() {
            return Err(invalid(
                "expected an RSA public key, found a private key (use from_private_key_pem)",
            ));
        }
        RsaKeyring::from_pem_parts(kind, &der)
    }

    /// A keyring from any of the four PEM key types above: a key pair for a
    /// private key, encrypt-only for a public key.
    pub fn from_pem(pem: &str) -> Result<RsaKeyring, KeyringError> {
        let (kind, der) = der::decode_pem(pem)?;
        RsaKeyring::from_pem_parts(kind, &der)
    }

    fn from_pem_parts(kind: PemKind, der: &[u8]) -> Result<RsaKeyring, KeyringError> {
        if der.len() > MAX_DER_LEN {
            return Err(invalid("key too large"));
        }
        // The PEM label says which structure it is: no guessing.
        let inner = match kind {
            PemKind::Pkcs8Private => Inner::from_pkcs8(der),
            PemKind::Pkcs1Private => Inner::from_pkcs8(&der::pkcs1_private_to_pkcs8(der)?),
            PemKind::SpkiPublic => Inner::from_spki(der),
            PemKind::Pkcs1Public => Inner::from_spki(&der::pkcs1_public_to_spki(der)?),
        };
        inner.map(RsaKeyring::from_inner).map_err(|(e, _)| e)
    }

    /// Set the material description stored with every object this keyring
    /// encrypts (`x-amz-matdesc` in V2, `x-amz-m` in V3). It names the key
    /// pair for readers holding several; it is not authenticated (errata E4).
    pub fn with_material_description(mut self, description: Context) -> RsaKeyring {
        self.matdesc = description;
        self
    }

    /// This keyring's material description.
    pub fn material_description(&self) -> &Context {
        &self.matdesc
    }

    /// Whether this keyring holds the private key (and so can decrypt).
    pub fn can_decrypt(&self) -> bool {
        self.inner.private.is_some()
    }

    /// The modulus size in bits.
    pub fn key_size_bits(&self) -> usize {
        self.inner.bits
    }

    /// The public key as DER `SubjectPublicKeyInfo` (to build an
    /// encrypt-only keyring for writers).
    pub fn public_key_der(&self) -> Vec<u8> {
        self.inner.spki.clone()
    }

    /// Wrap `data_key` with a legacy RSA wrap (public-key operation).
    ///
    /// **For test vectors only**: no current client writes legacy wraps
    /// (spec `client.md`); this exists so that the read path can be tested
    /// on objects made here. The data key is encrypted raw, without the
    /// cek-alg binding of `RSA-OAEP-SHA1`, as the legacy writers did.
    pub fn legacy_wrap(
        &self,
        wrap: LegacyRsaWrap,
        data_key: &DataKey,
    ) -> Result<Vec<u8>, KeyringError> {
        let failed = || invalid("RSA encryption failed");
        let dk = data_key.as_bytes();
        match wrap {
            LegacyRsaWrap::Pkcs1V15 => {
                let mut out = vec![0u8; self.inner.pkcs1_public.ciphertext_size()];
                let n = self
                    .inner
                    .pkcs1_public
                    .encrypt(dk, &mut out)
                    .map_err(|_| failed())?
                    .len();
                out.truncate(n);
                Ok(out)
            }
            LegacyRsaWrap::OaepSha256Mgf1Sha1 => self
                .inner
                .legacy
                .encrypt_oaep_sha256_mgf1_sha1(dk)
                .ok_or_else(failed),
            LegacyRsaWrap::OaepSha256Mgf1Sha256 => self.oaep_encrypt(&OAEP_SHA256_MGF1SHA256, dk),
        }
    }

    fn oaep_encrypt(
        &self,
        alg: &'static aws_lc_rs::rsa::OaepAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, KeyringError> {
        let mut out = vec![0u8; self.inner.oaep_public.ciphertext_size()];
        let n = self
            .inner
            .oaep_public
            .encrypt(alg, message, &mut out, None)
            .map_err(|_| invalid("RSA-OAEP encryption failed"))?
            .len();
        out.truncate(n);
        Ok(out)
    }
}

impl fmt::Debug for RsaKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKeyring")
            .field("key_bits", &self.inner.bits)
            .field("can_decrypt", &self.can_decrypt())
            .field("material_description", &self.matdesc)
            .finish_non_exhaustive()
    }
}

/// An unwrap that did not verify: "my key, failed" if the stored material
/// description names this keyring, else "not mine" (errata E4).
fn not_unwrapped(mine: bool) -> Result<Option<DataKey>, KeyringError> {
    if mine {
        Err(KeyringError::UnwrapFailed)
    } else {
        Ok(None)
    }
}

impl Keyring for RsaKeyring {
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
        // Reference §5.4: RSAES-OAEP(SHA-1, MGF1-SHA-1, empty label) of
        // len(DK) || DK || cek-alg.
        let pseudo = rsa_pseudo::encode(data_key, req.suite.cek_alg())?;
        let ciphertext = self.oaep_encrypt(&OAEP_SHA1_MGF1SHA1, pseudo.as_bytes())?;
        Ok(EncryptedDataKey {
            wrap: WrapAlg::RsaOaepSha1,
            ciphertext,
            stored_map: self.matdesc.clone(),
        })
    }

    fn on_decrypt(&self, req: &DecryptRequest<'_>) -> Result<Option<DataKey>, KeyringError> {
        // Not an RSA wrap: another keyring's object.
        if !matches!(
            req.wrap,
            WrapAlg::RsaOaepSha1 | WrapAlg::RsaOaepSha256 | WrapAlg::RsaPkcs1
        ) {
            return Ok(None);
        }
        // Spec `client.md`: legacy wrapping algorithms MUST NOT be used to
        // decrypt unless the caller enabled them.
        check_legacy_wrap(req)?;
        let private = self.inner.private.as_ref().ok_or_else(|| {
            invalid("this RSA keyring holds only a public key and cannot decrypt")
        })?;
        let mine = names_this_key(req.stored_map, &self.matdesc);
        let edk = req.encrypted_key;
        // RFC 8017 §7.1.2 / §7.2.2 step 1: a ciphertext is exactly as long as
        // the modulus. Another length is another key (the length is public).
        if edk.len() != self.inner.bytes {
            return not_unwrapped(mine);
        }
        let mut buf = Zeroizing::new(vec![0u8; self.inner.bytes]);
        let len = match req.wrap {
            WrapAlg::RsaOaepSha1 => {
                let Ok(pseudo) = private
                    .oaep
                    .decrypt(&OAEP_SHA1_MGF1SHA1, edk, &mut buf, None)
                else {
                    return not_unwrapped(mine);
                };
                // The OAEP check passed: this is our key. The pseudo key
                // must carry exactly the stored cek-alg (reference §5.4,
                // errata E3 and E8).
                return match rsa_pseudo::decode(pseudo, req.cek_alg) {
                    Ok(dk) => Ok(Some(dk)),
                    Err(s3ec_core::Error::Authentication) => Err(KeyringError::CekAlgMismatch),
                    Err(e) => Err(KeyringError::Core(e)),
                };
            }
            WrapAlg::RsaOaepSha256 => {
                // Errata E9: SunJCE's reading (MGF1-SHA-1) first, then
                // BouncyCastle's (MGF1-SHA-256).
                match self
                    .inner
                    .legacy
                    .decrypt_oaep_sha256_mgf1_sha1(edk, &mut buf)
                {
                    Some(n) => n,
                    None => {
                        match private
                            .oaep
                            .decrypt(&OAEP_SHA256_MGF1SHA256, edk, &mut buf, None)
                        {
                            Ok(pt) => pt.len(),
                            Err(_) => return not_unwrapped(mine),
                        }
                    }
                }
            }
            WrapAlg::RsaPkcs1 => {
                // Implicit rejection: the stand-in key is computed first,
                // whatever the padding check says, and taken for a bad
                // padding or a bad key length alike, whether or not the
                // (unauthenticated) material description names this key:
                // every failure then shows only when the content fails.
                let stand_in = implicit_rejection_key(&private.reject, edk)?;
                let unwrapped = private
                    .pkcs1
                    .decrypt(edk, &mut buf)
                    .ok()
                    .and_then(|pt| DataKey::from_slice(pt).ok());
                return Ok(Some(unwrapped.unwrap_or(stand_in)));
            }
            _ => return Ok(None),
        };
        // Legacy OAEP wraps carry the raw data key. A length other than 16,
        // 24 or 32 is treated exactly like a padding failure.
        match buf.get(..len).map(DataKey::from_slice) {
            Some(Ok(dk)) => Ok(Some(dk)),
            _ => not_unwrapped(mine),
        }
    }
}

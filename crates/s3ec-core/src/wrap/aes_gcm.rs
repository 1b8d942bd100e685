//! The `AES/GCM` key wrap (V2 `x-amz-wrap-alg` = `AES/GCM`, V3 `x-amz-w` =
//! `02`): the data key encrypted with AES-GCM under a raw AES master key.
//!
//! Layout (reference §5.3; the spec's `s3-aes-keyring.md` is missing, the
//! format is AWS's Java `AesKeyring`, shared by .NET, Ruby and C++):
//!
//! ```text
//! EDK = nonce (12 random bytes) || AES-GCM(KEK, nonce, AAD = cek-alg, DK) (32 bytes) || tag (16 bytes)
//! ```
//!
//! The AAD is the content-cipher string *as stored* (`AES/GCM/NoPadding` in
//! V2 `x-amz-cek-alg`, `115` in V3 `x-amz-c`), never a constant derived from
//! the resolved suite: binding the stored string is what makes a GCM→CBC
//! relabel fail (reference errata E3, following Ruby/C++/.NET rather than
//! Java). The master key may be AES-128, AES-192 or AES-256; the data key is
//! always 32 bytes, so the EDK is always [`EDK_LEN`] = 60 bytes (C++ rejects
//! any other length, and so does this module).

use aes::{Aes128, Aes192, Aes256};
use aes_gcm::aead::array::Array;
use aes_gcm::aead::consts::{U12, U16};
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::{AeadInOut, AesGcm, KeyInit};
use rand_core::TryCryptoRng;
use zeroize::Zeroizing;

use super::{check_kek, edk_meta_key};
use crate::data_key::DataKey;
use crate::error::{Error, FormatError, InputError, Unsupported};
use crate::suite::Suite;

/// Length of the random nonce that starts the EDK.
pub const NONCE_LEN: usize = 12;
/// Length of the GCM tag that ends the EDK.
pub const TAG_LEN: usize = 16;
/// Length of the wrapped data key (always a 256-bit key).
pub const DK_LEN: usize = 32;
/// Length of the encrypted data key: 12 + 32 + 16 = 60 bytes (80 base64
/// characters).
pub const EDK_LEN: usize = NONCE_LEN + DK_LEN + TAG_LEN;

/// Wrap a data key under an AES master key.
///
/// * `kek`: the master key, 16, 24 or 32 bytes.
/// * `dk`: the data key; must be 256 bits (every suite this crate encrypts
///   with uses AES-256).
/// * `cek_alg`: the content-cipher string that will be stored with the
///   object: [`Suite::cek_alg`] of [`Suite::AesGcm`] (`AES/GCM/NoPadding`,
///   V2) or [`Suite::AesGcmCommitting`] (`115`, V3). It becomes the AAD.
///   Any other string is refused ([`Unsupported::LegacySuiteEncrypt`] for
///   the CBC names, [`Unsupported::WrongSuite`] otherwise).
/// * `rng`: draws the 12-byte nonce.
///
/// Returns the 60-byte EDK, to be base64-encoded into `x-amz-key-v2` or
/// `x-amz-3`.
///
/// ```
/// use s3ec_core::{wrap::aes_gcm, DataKey, Suite};
///
/// let mut rng = rand::rngs::SysRng;
/// let kek = [0x42u8; 32];
/// let dk = DataKey::generate(&mut rng)?;
/// let cek_alg = Suite::AesGcmCommitting.cek_alg(); // "115"
///
/// let edk = aes_gcm::wrap(&kek, &dk, cek_alg, &mut rng)?;
/// assert_eq!(edk.len(), aes_gcm::EDK_LEN);
///
/// let back = aes_gcm::unwrap(&kek, &edk, cek_alg)?;
/// assert_eq!(back.as_bytes(), dk.as_bytes());
///
/// // Relabelled content cipher: the AAD no longer matches.
/// assert_eq!(
///     aes_gcm::unwrap(&kek, &edk, "AES/CBC/PKCS5Padding").unwrap_err(),
///     s3ec_core::Error::Authentication
/// );
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub fn wrap<R: TryCryptoRng + ?Sized>(
    kek: &[u8],
    dk: &DataKey,
    cek_alg: &str,
    rng: &mut R,
) -> Result<[u8; EDK_LEN], Error> {
    check_kek(kek)?;
    check_writable(cek_alg)?;
    let dk = dk.as_256()?;
    let mut nonce = [0u8; NONCE_LEN];
    rng.try_fill_bytes(&mut nonce).map_err(|_| Error::Rng)?;
    seal(kek, dk, cek_alg.as_bytes(), &nonce)
}

/// Unwrap an `AES/GCM` encrypted data key.
///
/// * `kek`: the master key, 16, 24 or 32 bytes
///   ([`InputError::KeyLength`] otherwise).
/// * `edk`: the decoded `x-amz-key-v2` / `x-amz-3` value; must be exactly
///   [`EDK_LEN`] bytes ([`FormatError::InvalidLength`] naming `x-amz-3` when
///   `cek_alg` is `115`, `x-amz-key-v2` otherwise).
/// * `cek_alg`: the content-cipher string exactly as stored in the metadata
///   being read (`x-amz-cek-alg` for V2, `x-amz-c` for V3), *not* one
///   re-derived from the suite (errata E3).
///
/// A wrong master key, any modified byte of the EDK or a different
/// `cek_alg` fails with [`Error::Authentication`], which says nothing more.
///
/// ```
/// use s3ec_core::{wrap::aes_gcm, DataKey, Error};
///
/// let kek = [0x11u8; 32];
/// let edk = [0u8; 59];
/// assert!(matches!(
///     aes_gcm::unwrap(&kek, &edk, "115"),
///     Err(Error::Format(_))
/// ));
/// ```
pub fn unwrap(kek: &[u8], edk: &[u8], cek_alg: &str) -> Result<DataKey, Error> {
    check_kek(kek)?;
    let bad_len = Error::Format(FormatError::InvalidLength {
        key: edk_meta_key(cek_alg),
        actual: edk.len(),
    });
    if edk.len() != EDK_LEN {
        return Err(bad_len);
    }
    let (nonce, rest) = edk.split_first_chunk::<NONCE_LEN>().ok_or(bad_len)?;
    let (ct, tag) = rest.split_first_chunk::<DK_LEN>().ok_or(bad_len)?;
    let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| bad_len)?;

    let mut buf = Zeroizing::new(*ct);
    open(kek, nonce, cek_alg.as_bytes(), &mut buf, tag)?;
    DataKey::from_slice(&buf[..])
}

/// Only the two current content ciphers may be bound by a new wrap.
pub(crate) fn check_writable(cek_alg: &str) -> Result<(), Error> {
    match Suite::from_cek_alg(cek_alg).or_else(|| Suite::from_v3_content_cipher(cek_alg)) {
        Some(suite) => suite.check_encrypt(),
        None => Err(Error::Unsupported(Unsupported::WrongSuite)),
    }
}

/// Encrypt with an explicit nonce (the public [`wrap`] draws it).
fn seal(
    kek: &[u8],
    dk: &[u8; DK_LEN],
    aad: &[u8],
    nonce: &[u8; NONCE_LEN],
) -> Result<[u8; EDK_LEN], Error> {
    let mut ct = Zeroizing::new(*dk);
    let tag = match kek.len() {
        16 => seal_with::<AesGcm<Aes128, U12>>(kek, nonce, aad, &mut ct)?,
        24 => seal_with::<AesGcm<Aes192, U12>>(kek, nonce, aad, &mut ct)?,
        32 => seal_with::<AesGcm<Aes256, U12>>(kek, nonce, aad, &mut ct)?,
        n => return Err(InputError::KeyLength { actual: n }.into()),
    };
    let mut edk = [0u8; EDK_LEN];
    let (n_out, rest) = edk.split_at_mut(NONCE_LEN);
    let (c_out, t_out) = rest.split_at_mut(DK_LEN);
    n_out.copy_from_slice(nonce);
    c_out.copy_from_slice(&ct[..]);
    t_out.copy_from_slice(&tag);
    Ok(edk)
}

fn open(
    kek: &[u8],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8; DK_LEN],
    tag: &[u8; TAG_LEN],
) -> Result<(), Error> {
    match kek.len() {
        16 => open_with::<AesGcm<Aes128, U12>>(kek, nonce, aad, buf, tag),
        24 => open_with::<AesGcm<Aes192, U12>>(kek, nonce, aad, buf, tag),
        32 => open_with::<AesGcm<Aes256, U12>>(kek, nonce, aad, buf, tag),
        n => Err(InputError::KeyLength { actual: n }.into()),
    }
}

fn seal_with<C>(
    kek: &[u8],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8; DK_LEN],
) -> Result<[u8; TAG_LEN], Error>
where
    C: KeyInit + AeadInOut<NonceSize = U12, TagSize = U16>,
{
    let cipher = C::new_from_slice(kek).map_err(|_| InputError::KeyLength { actual: kek.len() })?;
    let nonce = Array::from(*nonce);
    let tag = cipher
        .encrypt_inout_detached(&nonce, aad, InOutBuf::from(&mut buf[..]))
        // Only fails past GCM's length limits, far above 32 bytes.
        .map_err(|_| Error::LimitExceeded)?;
    Ok(tag.into())
}

fn open_with<C>(
    kek: &[u8],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8; DK_LEN],
    tag: &[u8; TAG_LEN],
) -> Result<(), Error>
where
    C: KeyInit + AeadInOut<NonceSize = U12, TagSize = U16>,
{
    let cipher = C::new_from_slice(kek).map_err(|_| InputError::KeyLength { actual: kek.len() })?;
    let nonce = Array::from(*nonce);
    let tag = Array::from(*tag);
    // The tag is compared in constant time by `aes-gcm`; the buffer is only
    // decrypted when it verifies.
    cipher
        .decrypt_inout_detached(&nonce, aad, InOutBuf::from(&mut buf[..]), &tag)
        .map_err(|_| {
            buf.fill(0);
            Error::Authentication
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::keys::MetaKey;
    use std::vec::Vec;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    const DK: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const V3_EDK: &str = "222222222222222222222222 \
        17f6054ac4ca9958ed36d43744abe7da0f82dff17e94ba5c4a5610f315fc7b1c \
        804e9e377c0d6173cd18c1eb2f5257e8";

    #[test]
    fn reference_vector_v3_and_v2() {
        // s3ec-format.md §5.3: KEK = 0x11 x 32, nonce = 0x22 x 12, DK from §4.3.
        let kek = [0x11u8; 32];
        let dk: [u8; 32] = h(DK).try_into().unwrap();
        let edk = seal(&kek, &dk, b"115", &[0x22; 12]).unwrap();
        assert_eq!(edk.to_vec(), h(V3_EDK));
        let back = unwrap(&kek, &edk, "115").unwrap();
        assert_eq!(back.as_bytes(), &dk);

        let edk2 = seal(&kek, &dk, b"AES/GCM/NoPadding", &[0x22; 12]).unwrap();
        assert_eq!(edk2[..44], edk[..44], "same nonce and ciphertext");
        assert_eq!(edk2[44..].to_vec(), h("d662c21d66819f287772fae39537ac23"));
        assert_eq!(
            unwrap(&kek, &edk2, "AES/GCM/NoPadding").unwrap().as_bytes(),
            &dk
        );
        // Cross-version: the AAD differs.
        assert_eq!(
            unwrap(&kek, &edk2, "115").unwrap_err(),
            Error::Authentication
        );
        assert_eq!(
            unwrap(&kek, &edk, "AES/GCM/NoPadding").unwrap_err(),
            Error::Authentication
        );
    }

    #[test]
    fn length_errors_name_the_key() {
        let kek = [0x11u8; 32];
        for n in [0, 12, 28, 44, 52, 59, 61, 80] {
            let edk = vec![0u8; n];
            assert_eq!(
                unwrap(&kek, &edk, "115").unwrap_err(),
                Error::Format(FormatError::InvalidLength {
                    key: MetaKey::KeyV3,
                    actual: n
                })
            );
            assert_eq!(
                unwrap(&kek, &edk, "AES/GCM/NoPadding").unwrap_err(),
                Error::Format(FormatError::InvalidLength {
                    key: MetaKey::KeyV2,
                    actual: n
                })
            );
        }
    }

    #[test]
    fn kek_length_checked_first() {
        let edk = h(V3_EDK);
        assert_eq!(
            unwrap(&[0u8; 20], &edk, "115").unwrap_err(),
            Error::InvalidInput(InputError::KeyLength { actual: 20 })
        );
    }

    #[test]
    fn writable_cek_algs() {
        assert!(check_writable("115").is_ok());
        assert!(check_writable("AES/GCM/NoPadding").is_ok());
        assert_eq!(
            check_writable("AES/CBC/PKCS5Padding"),
            Err(Error::Unsupported(Unsupported::LegacySuiteEncrypt))
        );
        for s in ["", "AES/CTR/NoPadding", "114", "aes/gcm/nopadding"] {
            assert_eq!(
                check_writable(s),
                Err(Error::Unsupported(Unsupported::WrongSuite))
            );
        }
    }
}

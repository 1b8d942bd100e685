//! Streaming AES-256-GCM over caller buffers.
//!
//! * [`GcmEncryptor`]: in-place streaming encryption; `finish` consumes the
//!   encryptor and returns the tag, so a key/IV pair cannot be reused by
//!   accident.
//! * [`GcmVerifier`] → [`Verified`]: authenticated decryption that never
//!   releases unauthenticated plaintext. Pass one absorbs the ciphertext
//!   (GHASH only); [`GcmVerifier::verify`] checks the tag in constant time
//!   and returns a [`Verified`] token, the only way to obtain plaintext.
//!   Pass two decrypts any byte range of the verified ciphertext with
//!   [`Verified::decrypt_at`] (seekable, so ranged and parallel use work).
//! * [`open_in_place`]: one shot for a `ciphertext || tag` body held in one
//!   buffer.
//!
//! Every type is generic over a [`GcmBackend`], defaulting to
//! [`RustCrypto`]. Any split of the input gives the same result.

use core::fmt;

use crate::cipher::backend::{GcmBackend, RustCrypto, StreamEncrypt, StreamVerify};
use crate::error::{Error, InputError};
use crate::suite::{GCM_MAX_PLAINTEXT_LEN, TAG_LEN};

/// GCM's AAD limit: 2^64 - 1 bits (NIST SP 800-38D); checked so the bit
/// length never overflows.
const GCM_MAX_AAD_LEN: u64 = (1 << 61) - 1;

/// Reject an all-zero IV.
///
/// Spec `s3-encryption/encryption.md` §Cipher Initialization: the generated
/// IV SHOULD be validated as not all zeros; Java also rejects it on read
/// (errata E7), and so does this crate, in every constructor.
pub(crate) fn check_iv(iv: &[u8]) -> Result<(), Error> {
    if iv.iter().fold(0u8, |acc, b| acc | b) == 0 {
        Err(InputError::ZeroIv.into())
    } else {
        Ok(())
    }
}

fn check_aad(aad: &[u8]) -> Result<(), Error> {
    if aad.len() as u64 > GCM_MAX_AAD_LEN {
        Err(Error::LimitExceeded)
    } else {
        Ok(())
    }
}

/// `processed + more`, refusing to pass GCM's plaintext limit.
///
/// Spec `s3-encryption/encryption.md` §Content Encryption: the plaintext
/// length MUST be validated against the suite's maximum content length
/// (2^36 - 32 bytes for AES-GCM).
#[inline]
// spec: encryption.md#content-encryption/2 (at most 2^36 - 32 plaintext bytes under one key and IV)
fn add_len(processed: u64, more: usize) -> Result<u64, Error> {
    let total = u64::try_from(more)
        .ok()
        .and_then(|m| processed.checked_add(m))
        .ok_or(Error::LimitExceeded)?;
    if total > GCM_MAX_PLAINTEXT_LEN {
        Err(Error::LimitExceeded)
    } else {
        Ok(total)
    }
}

/// Apply the GCM keystream to `buf`, which holds body bytes starting at byte
/// `offset` of the GCM ciphertext: block `k` uses counter `2 + k`, and the
/// first `offset % 16` keystream bytes are skipped.
pub(crate) fn ctr_at<B: GcmBackend>(
    key: &B::Key,
    iv: &[u8; 12],
    offset: u64,
    buf: &mut [u8],
) -> Result<(), Error> {
    if buf.is_empty() {
        return Ok(());
    }
    add_len(offset, buf.len()).map_err(|_| InputError::OutOfRange)?;
    let skip = (offset % 16) as usize;
    // offset < 2^36, so the block index fits in u32 with room for +2.
    let mut counter = u32::try_from(offset / 16 + 2).map_err(|_| InputError::OutOfRange)?;
    let mut rest = buf;
    if skip != 0 {
        let take = (16 - skip).min(rest.len());
        let (head, tail) = rest.split_at_mut(take);
        let mut block = [0u8; 16];
        if let Some(dst) = block.get_mut(skip..skip + take) {
            dst.copy_from_slice(head);
        }
        B::apply_keystream(key, iv, counter, &mut block)?;
        if let Some(src) = block.get(skip..skip + take) {
            head.copy_from_slice(src);
        }
        rest = tail;
        if rest.is_empty() {
            return Ok(());
        }
        counter = counter.checked_add(1).ok_or(InputError::OutOfRange)?;
    }
    B::apply_keystream(key, iv, counter, rest)
}

/// Streaming in-place AES-256-GCM encryption.
///
/// Not `Clone`; [`finish`](Self::finish) consumes it. Enforces GCM's
/// `2^36 - 32`-byte plaintext limit.
///
/// ```
/// use s3ec_core::cipher::gcm::{open_in_place, GcmEncryptor};
/// let key = [7u8; 32];
/// let iv = [1u8; 12];
/// let mut enc = GcmEncryptor::new(&key, &iv, b"")?;
/// let mut body = b"hello, world".to_vec();
/// enc.update(&mut body[..5])?;
/// enc.update(&mut body[5..])?;
/// body.extend_from_slice(&enc.finish());
/// let n = open_in_place(&key, &iv, b"", &mut body)?;
/// assert_eq!(&body[..n], b"hello, world");
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub struct GcmEncryptor<B: GcmBackend = RustCrypto> {
    state: B::Encrypt,
    len: u64,
}

impl GcmEncryptor {
    /// Start encrypting with the default backend. Rejects an all-zero IV
    /// ([`InputError::ZeroIv`]).
    pub fn new(key: &[u8; 32], iv: &[u8; 12], aad: &[u8]) -> Result<Self, Error> {
        Self::with_backend(key, iv, aad)
    }
}

impl<B: GcmBackend> GcmEncryptor<B> {
    /// Start encrypting with backend `B`
    /// (`GcmEncryptor::<MyBackend>::with_backend(..)`).
    pub fn with_backend(key: &[u8; 32], iv: &[u8; 12], aad: &[u8]) -> Result<Self, Error> {
        check_iv(iv)?;
        check_aad(aad)?;
        let k = B::expand_key(key)?;
        Ok(GcmEncryptor {
            state: B::encrypt(&k, iv, aad)?,
            len: 0,
        })
    }

    /// Encrypt `buf` in place. Any length; any split of the plaintext gives
    /// the same ciphertext. Fails with [`Error::LimitExceeded`] (leaving
    /// `buf` and the state untouched) if the total would pass `2^36 - 32`
    /// bytes.
    #[inline]
    pub fn update(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        let total = add_len(self.len, buf.len())?;
        self.state.update(buf)?;
        self.len = total;
        Ok(())
    }

    /// Bytes encrypted so far.
    pub fn processed(&self) -> u64 {
        self.len
    }

    /// Finish and return the 16-byte tag to append to the ciphertext
    /// (spec `s3-encryption/encryption.md`: the tag MUST be appended to the
    /// ciphertext).
    #[must_use = "the tag must be appended to the ciphertext"]
    // spec: encryption.md#alg_aes_256_gcm_iv12_tag16_no_kdf/3 encryption.md#alg_aes_256_gcm_hkdf_sha512_commit_key/3 (the caller appends this tag)
    pub fn finish(self) -> [u8; TAG_LEN] {
        self.state.finish()
    }
}

impl<B: GcmBackend> fmt::Debug for GcmEncryptor<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcmEncryptor")
            .field("processed", &self.len)
            .finish_non_exhaustive()
    }
}

/// Pass one of authenticated decryption: absorbs the ciphertext (GHASH
/// only, no plaintext is produced) and checks the tag.
///
/// ```
/// use s3ec_core::cipher::gcm::{GcmEncryptor, GcmVerifier};
/// let (key, iv) = ([7u8; 32], [1u8; 12]);
/// let mut ct = *b"0123456789abcdef0123";
/// let mut enc = GcmEncryptor::new(&key, &iv, b"")?;
/// enc.update(&mut ct)?;
/// let tag = enc.finish();
///
/// let mut v = GcmVerifier::new(&key, &iv, b"")?;
/// for chunk in ct.chunks(7) {
///     v.update(chunk)?;
/// }
/// let ok = v.verify(&tag)?;
/// // Pass two: any range, in any order.
/// let mut tail = ct[16..].to_vec();
/// ok.decrypt_at(16, &mut tail)?;
/// assert_eq!(tail, b"0123");
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub struct GcmVerifier<B: GcmBackend = RustCrypto> {
    key: B::Key,
    iv: [u8; 12],
    state: B::Verify,
    len: u64,
}

impl GcmVerifier {
    /// Start verifying with the default backend. Rejects an all-zero IV.
    /// The key is 32 bytes, or 16 / 24 for the AES-128/192 data keys of
    /// legacy V1/V2 objects.
    pub fn new(key: &[u8], iv: &[u8; 12], aad: &[u8]) -> Result<Self, Error> {
        Self::with_backend(key, iv, aad)
    }
}

impl<B: GcmBackend> GcmVerifier<B> {
    /// Start verifying with backend `B`.
    pub fn with_backend(key: &[u8], iv: &[u8; 12], aad: &[u8]) -> Result<Self, Error> {
        check_iv(iv)?;
        check_aad(aad)?;
        let k = B::expand_key(key)?;
        let state = B::verify(&k, iv, aad)?;
        Ok(GcmVerifier {
            key: k,
            iv: *iv,
            state,
            len: 0,
        })
    }

    /// Absorb the next ciphertext bytes (without the tag). No plaintext is
    /// produced. Fails with [`Error::LimitExceeded`] past `2^36 - 32` bytes
    /// (no valid GCM ciphertext is that long).
    #[inline]
    pub fn update(&mut self, ciphertext: &[u8]) -> Result<(), Error> {
        let total = add_len(self.len, ciphertext.len())?;
        self.state.update(ciphertext);
        self.len = total;
        Ok(())
    }

    /// Ciphertext bytes absorbed so far.
    pub fn processed(&self) -> u64 {
        self.len
    }

    /// Compare the tag in constant time. On success returns the
    /// [`Verified`] token for the absorbed ciphertext; on mismatch
    /// [`Error::Authentication`] and nothing else.
    pub fn verify(self, tag: &[u8; TAG_LEN]) -> Result<Verified<B>, Error> {
        let GcmVerifier {
            key,
            iv,
            state,
            len,
        } = self;
        if bool::from(state.finish(tag)) {
            Ok(Verified { key, iv, len })
        } else {
            Err(Error::Authentication)
        }
    }
}

impl<B: GcmBackend> fmt::Debug for GcmVerifier<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcmVerifier")
            .field("processed", &self.len)
            .finish_non_exhaustive()
    }
}

/// Proof that a ciphertext of [`len`](Self::len) bytes authenticated under
/// its key, IV and AAD. The only way to obtain GCM plaintext outside the
/// `danger` module.
///
/// Holds the expanded key (the backend's key type is responsible for wiping
/// it on drop); `Debug` prints only the length. `decrypt_at` takes `&self`,
/// so ranges can be decrypted in parallel.
pub struct Verified<B: GcmBackend = RustCrypto> {
    key: B::Key,
    iv: [u8; 12],
    len: u64,
}

impl<B: GcmBackend> Verified<B> {
    /// Decrypt in place the bytes of the verified ciphertext that start at
    /// byte `offset` (`buf` holds ciphertext bytes `offset..offset +
    /// buf.len()`). Fails with [`InputError::OutOfRange`] if the range
    /// passes the verified length; the caller must feed the same bytes that
    /// were verified.
    #[inline]
    pub fn decrypt_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let end = u64::try_from(buf.len())
            .ok()
            .and_then(|n| offset.checked_add(n))
            .ok_or(InputError::OutOfRange)?;
        if end > self.len {
            return Err(InputError::OutOfRange.into());
        }
        ctr_at::<B>(&self.key, &self.iv, offset, buf)
    }

    /// Length of the verified ciphertext (= plaintext length).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the verified ciphertext is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<B: GcmBackend> fmt::Debug for Verified<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Verify, then decrypt, a `ciphertext || tag` body held in one buffer, with
/// the default backend. The key is 32 bytes (16 / 24 for legacy objects). Returns the plaintext length; the plaintext is
/// `body[..n]`. On any failure `body` still holds only ciphertext.
///
/// ```
/// use s3ec_core::cipher::gcm::{open_in_place, GcmEncryptor};
/// let (key, iv) = ([7u8; 32], [1u8; 12]);
/// let mut body = b"secret".to_vec();
/// let mut enc = GcmEncryptor::new(&key, &iv, b"aad")?;
/// enc.update(&mut body)?;
/// body.extend_from_slice(&enc.finish());
/// body[0] ^= 1; // tamper
/// assert!(open_in_place(&key, &iv, b"aad", &mut body).is_err());
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub fn open_in_place(
    key: &[u8],
    iv: &[u8; 12],
    aad: &[u8],
    body: &mut [u8],
) -> Result<usize, Error> {
    open_in_place_with::<RustCrypto>(key, iv, aad, body)
}

/// [`open_in_place`] with backend `B`.
pub fn open_in_place_with<B: GcmBackend>(
    key: &[u8],
    iv: &[u8; 12],
    aad: &[u8],
    body: &mut [u8],
) -> Result<usize, Error> {
    let ct_len = body
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(InputError::Truncated)?;
    let (ct, tag) = body.split_at_mut(ct_len);
    let tag: [u8; TAG_LEN] = (&*tag).try_into().map_err(|_| InputError::Truncated)?;
    check_iv(iv)?;
    check_aad(aad)?;
    add_len(0, ct_len)?;
    let k = B::expand_key(key)?;
    // The backend's one-pass or two-pass open: either way `ct` holds
    // plaintext only when the tag matched (the `GcmBackend::open_in_place`
    // contract).
    if bool::from(B::open_in_place(&k, iv, aad, ct, &tag)?) {
        Ok(ct_len)
    } else {
        Err(Error::Authentication)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn seal(key: &[u8; 32], iv: &[u8; 12], aad: &[u8], pt: &[u8]) -> Vec<u8> {
        let mut body = pt.to_vec();
        let mut e = GcmEncryptor::new(key, iv, aad).unwrap();
        e.update(&mut body).unwrap();
        body.extend_from_slice(&e.finish());
        body
    }

    #[test]
    fn zero_iv_rejected_everywhere() {
        let z = [0u8; 12];
        let e = Err(Error::InvalidInput(InputError::ZeroIv));
        assert_eq!(GcmEncryptor::new(&[1; 32], &z, b"").map(|_| ()), e);
        assert_eq!(GcmVerifier::new(&[1; 32], &z, b"").map(|_| ()), e);
        let mut body = [0u8; 16];
        assert_eq!(open_in_place(&[1; 32], &z, b"", &mut body).map(|_| ()), e);
    }

    #[test]
    fn limit_enforced_without_touching_state() {
        // spec: encryption.md#content-encryption/2
        let mut e = GcmEncryptor::new(&[1; 32], &[1; 12], b"").unwrap();
        e.len = GCM_MAX_PLAINTEXT_LEN - 3;
        let mut buf = [0u8; 4];
        assert_eq!(e.update(&mut buf), Err(Error::LimitExceeded));
        assert_eq!(buf, [0; 4]);
        assert!(e.update(&mut buf[..3]).is_ok());
        assert_eq!(e.processed(), GCM_MAX_PLAINTEXT_LEN);
        assert_eq!(e.update(&mut []), Ok(()));
        assert_eq!(e.update(&mut buf[..1]), Err(Error::LimitExceeded));

        let mut v = GcmVerifier::new(&[1; 32], &[1; 12], b"").unwrap();
        v.len = GCM_MAX_PLAINTEXT_LEN;
        assert_eq!(v.update(&[0]), Err(Error::LimitExceeded));
    }

    #[test]
    fn verified_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Verified>();
        check::<GcmVerifier>();
        check::<GcmEncryptor>();
    }

    #[test]
    fn truncated_body() {
        let mut b = [0u8; 15];
        assert_eq!(
            open_in_place(&[1; 32], &[1; 12], b"", &mut b),
            Err(InputError::Truncated.into())
        );
    }

    #[test]
    fn empty_plaintext_round_trip() {
        let mut body = seal(&[1; 32], &[2; 12], b"a", b"");
        assert_eq!(body.len(), 16);
        assert_eq!(open_in_place(&[1; 32], &[2; 12], b"a", &mut body), Ok(0));
    }

    #[test]
    fn decrypt_at_bounds() {
        let pt: Vec<u8> = (0..50u8).collect();
        let body = seal(&[1; 32], &[2; 12], b"", &pt);
        let (ct, tag) = body.split_at(50);
        let mut v = GcmVerifier::new(&[1; 32], &[2; 12], b"").unwrap();
        v.update(ct).unwrap();
        let ok = v.verify(tag.try_into().unwrap()).unwrap();
        assert_eq!(ok.len(), 50);
        assert!(!ok.is_empty());
        let mut whole = ct.to_vec();
        assert_eq!(
            ok.decrypt_at(1, &mut whole),
            Err(InputError::OutOfRange.into())
        );
        assert_eq!(
            ok.decrypt_at(u64::MAX, &mut whole[..2]),
            Err(InputError::OutOfRange.into())
        );
        assert_eq!(ok.decrypt_at(50, &mut []), Ok(()));
        for start in 0..50 {
            for end in start..=50 {
                let mut part = ct[start..end].to_vec();
                ok.decrypt_at(start as u64, &mut part).unwrap();
                assert_eq!(part, &pt[start..end]);
            }
        }
        assert!(format!("{ok:?}").starts_with("Verified { len: 50"));
    }
}

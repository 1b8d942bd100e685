//! # Danger: decryption that releases unauthenticated plaintext
//!
//! **Everything in this module hands out plaintext that has NOT been
//! authenticated.** An S3EC object body is one single AES-GCM message; its
//! tag covers the whole body and can only be checked at the very end. Until
//! then — and for a byte range, never — nothing proves the bytes came from
//! the key holder:
//!
//! * an attacker who can write to the bucket can flip plaintext bits at
//!   will (GCM's keystream is plain AES-CTR), truncate, or splice objects;
//! * a consumer that acts on plaintext before the tag is checked (parses
//!   it, executes it, writes it somewhere, shows it to a user) has acted on
//!   forged data even if the final check later fails;
//! * delayed authentication MUST be off by default and a client MUST NOT
//!   release plaintext from a stream that has not been authenticated unless
//!   the user opted in (spec `s3-encryption/client.md`, delayed
//!   authentication); ranged GET decrypts with the CTR suites
//!   `0x0071`/`0x0074`, which are legacy and unauthenticated (spec
//!   `s3-encryption/decryption.md` §Ranged Gets; CVE-2020-8912 was a client
//!   that could be talked into this path by metadata).
//!
//! Use [`crate::cipher::GcmVerifier`] and [`crate::cipher::Verified`]
//! (verify first, then decrypt any range) or
//! [`crate::cipher::open_in_place`] instead whenever possible. Reach for
//! this module only behind an explicit, documented user opt-in, and treat
//! its output as untrusted input.
//!
//! For V3 objects the key commitment is still verified (by
//! [`ContentKey::for_decrypt`]) before a range is decrypted, so a range is
//! at least bound to the committed data key.

use core::fmt;

use crate::cipher::backend::{GcmBackend, RustCrypto, StreamDecrypt};
use crate::cipher::content::ContentKey;
use crate::cipher::gcm::{check_iv, ctr_at};
use crate::error::{Error, InputError};
use crate::suite::{GCM_MAX_PLAINTEXT_LEN, TAG_LEN};

/// Streaming in-place AES-256-GCM decryption with **delayed
/// authentication**: [`update`](Self::update) returns plaintext before the
/// tag has been checked. Only [`finish`](Self::finish) says whether all of
/// it was genuine — by then it has been released. See the module docs.
///
/// ```
/// use s3ec_core::cipher::GcmEncryptor;
/// use s3ec_core::danger::UnverifiedDecryptor;
/// let (key, iv) = ([1u8; 32], [2u8; 12]);
/// let mut buf = *b"stream me";
/// let mut enc = GcmEncryptor::new(&key, &iv, b"")?;
/// enc.update(&mut buf)?;
/// let tag = enc.finish();
/// let mut dec = UnverifiedDecryptor::new(&key, &iv, b"")?;
/// dec.update(&mut buf)?; // UNAUTHENTICATED plaintext now in `buf`
/// dec.finish(&tag)?;     // only now known to be genuine
/// assert_eq!(&buf, b"stream me");
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub struct UnverifiedDecryptor<B: GcmBackend = RustCrypto> {
    state: B::Decrypt,
    len: u64,
}

impl UnverifiedDecryptor {
    /// Start with the default backend. Rejects an all-zero IV.
    pub fn new(key: &[u8], iv: &[u8; 12], aad: &[u8]) -> Result<Self, Error> {
        Self::with_backend(key, iv, aad)
    }

    /// Start from a checked [`ContentKey`] (GCM suites; for V3 the key
    /// commitment has already been verified), with the default backend.
    pub fn from_content_key(key: &ContentKey) -> Result<Self, Error> {
        Self::with_backend_from_key(key)
    }
}

impl<B: GcmBackend> UnverifiedDecryptor<B> {
    /// Start with backend `B`.
    pub fn with_backend(key: &[u8], iv: &[u8; 12], aad: &[u8]) -> Result<Self, Error> {
        check_iv(iv)?;
        let k = B::expand_key(key)?;
        Ok(UnverifiedDecryptor {
            state: B::decrypt(&k, iv, aad)?,
            len: 0,
        })
    }

    /// [`from_content_key`](UnverifiedDecryptor::from_content_key) with
    /// backend `B`.
    pub fn with_backend_from_key(key: &ContentKey) -> Result<Self, Error> {
        let p = key.gcm_parts()?;
        Self::with_backend(p.key, &p.iv, p.aad)
    }

    /// Decrypt `buf` in place (any length, any split). The output is
    /// **unauthenticated**. [`Error::LimitExceeded`] past `2^36 - 32` bytes.
    pub fn update(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        let total = u64::try_from(buf.len())
            .ok()
            .and_then(|n| self.len.checked_add(n))
            .filter(|&t| t <= GCM_MAX_PLAINTEXT_LEN)
            .ok_or(Error::LimitExceeded)?;
        self.state.update(buf)?;
        self.len = total;
        Ok(())
    }

    /// Check the tag (constant time). [`Error::Authentication`] means every
    /// byte released so far must be discarded.
    pub fn finish(self, tag: &[u8; TAG_LEN]) -> Result<(), Error> {
        if bool::from(self.state.finish(tag)) {
            Ok(())
        } else {
            Err(Error::Authentication)
        }
    }
}

impl<B: GcmBackend> fmt::Debug for UnverifiedDecryptor<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedDecryptor")
            .field("processed", &self.len)
            .finish_non_exhaustive()
    }
}

/// Decrypt, **without authentication**, a byte range of a GCM object body
/// with AES-CTR: `buf` holds body bytes `offset..offset + buf.len()`; block
/// `k` of the body uses the counter block `iv || BE32(2 + k)` and the first
/// `offset % 16` keystream bytes are skipped (NIST SP 800-38D: GCM's
/// keystream starts at `inc32(J0)`, `J0 = iv || 00 00 00 01`).
///
/// For V3 pass the derived key and [`crate::suite::COMMITTING_IV`] (or use
/// [`decrypt_range_with_key`]). The range must lie within GCM's
/// `2^36 - 32`-byte limit ([`InputError::OutOfRange`]).
///
/// ```
/// use s3ec_core::cipher::GcmEncryptor;
/// use s3ec_core::danger::decrypt_range;
/// let (key, iv) = ([1u8; 32], [2u8; 12]);
/// let mut body = *b"0123456789abcdefghij";
/// let mut enc = GcmEncryptor::new(&key, &iv, b"")?;
/// enc.update(&mut body)?;
/// let mut part = body[13..18].to_vec();
/// decrypt_range(&key, &iv, 13, &mut part)?;
/// assert_eq!(part, b"defgh");
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub fn decrypt_range(key: &[u8], iv: &[u8; 12], offset: u64, buf: &mut [u8]) -> Result<(), Error> {
    decrypt_range_with::<RustCrypto>(key, iv, offset, buf)
}

/// [`decrypt_range`] with backend `B`.
pub fn decrypt_range_with<B: GcmBackend>(
    key: &[u8],
    iv: &[u8; 12],
    offset: u64,
    buf: &mut [u8],
) -> Result<(), Error> {
    check_iv(iv)?;
    let k = B::expand_key(key)?;
    ctr_at::<B>(&k, iv, offset, buf)
}

/// [`decrypt_range`] with a checked [`ContentKey`] (GCM suites only; uses
/// the V3 derived key and fixed IV where applicable). Spec
/// `decryption.md` §Ranged Gets: `0x0072` objects are read with `0x0071`,
/// `0x0073` objects with `0x0074` — i.e. the same key and IV as the GCM
/// content, as CTR.
// spec: decryption.md#ranged-gets/2-3 (a GCM body read as CTR with the same key and IV, counter from 2)
pub fn decrypt_range_with_key(key: &ContentKey, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
    decrypt_range_with_key_with::<RustCrypto>(key, offset, buf)
}

/// [`decrypt_range_with_key`] with backend `B`.
pub fn decrypt_range_with_key_with<B: GcmBackend>(
    key: &ContentKey,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), Error> {
    let p = key.gcm_parts()?;
    decrypt_range_with::<B>(p.key, &p.iv, offset, buf)
}

/// Which ciphertext bytes to fetch for a plaintext range, and how to cut the
/// decrypted result.
///
/// Fetch `bytes=fetch_first-fetch_last` (inclusive, as HTTP ranges are),
/// decrypt the fetched bytes with [`decrypt_range`] at offset
/// `fetch_first`, then drop `skip` leading bytes and keep `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangePlan {
    /// First ciphertext byte to fetch (block aligned).
    pub fetch_first: u64,
    /// Last ciphertext byte to fetch, inclusive (never part of the tag).
    pub fetch_last: u64,
    /// Leading decrypted bytes to drop (`< 16`).
    pub skip: u64,
    /// Plaintext bytes to return after `skip`.
    pub len: u64,
}

/// Map the plaintext range `first..=last` (`last = None`: to the end) of a
/// GCM object whose full body (ciphertext and tag) is `body_len` bytes to
/// the ciphertext range to fetch.
///
/// Spec `decryption.md` §Ranged Gets: the range MUST be widened to whole
/// cipher blocks. It is widened to block boundaries and clamped to the end
/// of the ciphertext (the 16-byte tag is never fetched). `last` past the
/// end is clamped; `first` at or past the end, `last < first`, or a body
/// shorter than a tag give [`InputError::OutOfRange`] /
/// [`InputError::Truncated`] (HTTP 416).
///
/// ```
/// use s3ec_core::danger::{plan_range, RangePlan};
/// // 100-byte plaintext => 116-byte body; request bytes=20-40.
/// let p = plan_range(20, Some(40), 116)?;
/// assert_eq!(p, RangePlan { fetch_first: 16, fetch_last: 47, skip: 4, len: 21 });
/// # Ok::<(), s3ec_core::Error>(())
/// ```
// spec: decryption.md#ranged-gets/1 (widened to whole 16-byte blocks)
pub fn plan_range(first: u64, last: Option<u64>, body_len: u64) -> Result<RangePlan, Error> {
    let pt_len = body_len
        .checked_sub(TAG_LEN as u64)
        .ok_or(InputError::Truncated)?;
    if first >= pt_len {
        return Err(InputError::OutOfRange.into());
    }
    let last = match last {
        Some(l) if l < first => return Err(InputError::OutOfRange.into()),
        Some(l) => l.min(pt_len - 1),
        None => pt_len - 1,
    };
    let fetch_first = first - first % 16;
    let fetch_last = (last | 15).min(pt_len - 1);
    Ok(RangePlan {
        fetch_first,
        fetch_last,
        skip: first - fetch_first,
        len: last - first + 1,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn plan_edges() {
        // spec: decryption.md#ranged-gets/1
        assert_eq!(plan_range(0, None, 15), Err(InputError::Truncated.into()));
        assert_eq!(plan_range(0, None, 16), Err(InputError::OutOfRange.into()));
        assert_eq!(
            plan_range(0, None, 17),
            Ok(RangePlan {
                fetch_first: 0,
                fetch_last: 0,
                skip: 0,
                len: 1
            })
        );
        assert_eq!(
            plan_range(5, Some(4), 100),
            Err(InputError::OutOfRange.into())
        );
        assert_eq!(
            plan_range(17, Some(u64::MAX), 116),
            Ok(RangePlan {
                fetch_first: 16,
                fetch_last: 99,
                skip: 1,
                len: 83
            })
        );
    }

    #[test]
    fn range_limits() {
        let mut b = [0u8; 2];
        assert_eq!(
            decrypt_range(&[1; 32], &[1; 12], GCM_MAX_PLAINTEXT_LEN - 1, &mut b),
            Err(InputError::OutOfRange.into())
        );
        assert!(decrypt_range(&[1; 32], &[1; 12], GCM_MAX_PLAINTEXT_LEN - 2, &mut b).is_ok());
        assert_eq!(
            decrypt_range(&[1; 32], &[0; 12], 0, &mut b),
            Err(InputError::ZeroIv.into())
        );
    }
}

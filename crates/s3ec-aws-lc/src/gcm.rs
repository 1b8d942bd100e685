//! [`AwsLc`]: s3ec-core's [`GcmBackend`] on AWS-LC.
//!
//! | state | how |
//! |---|---|
//! | [`AwsLcEncrypt`] | `EVP_aes_256_gcm` encrypting context, in place ([`crate::ffi::gcm`]) |
//! | [`AwsLcDecrypt`] | `EVP_aes_256_gcm` decrypting context, in place; tag checked by `EVP_DecryptFinal_ex` |
//! | [`AwsLcVerify`] | GHASH only, through the same context (see below) |
//! | [`GcmBackend::open_in_place`] | one pass: a decrypting context, tag checked by `EVP_DecryptFinal_ex`; on a mismatch the keystream is applied again to restore the ciphertext |
//! | [`GcmBackend::apply_keystream`] | `aws-lc-rs` AES-256-CTR (safe API); long runs from the first content counter through a GCM encrypting context (`fused_keystream`) |
//!
//! # The verification pass without plaintext
//!
//! The core's first decryption pass ([`s3ec_core::cipher::GcmVerifier`])
//! must absorb the ciphertext and produce no plaintext. AWS-LC's streaming
//! interface has no GHASH-only entry point, so [`AwsLcVerify`] feeds the
//! ciphertext to an encrypting GCM context as *additional authenticated
//! data*, after the real AAD zero-padded to a block boundary, and encrypts
//! nothing. AWS-LC then computes, over exactly the block sequence GCM
//! authenticates (`A ‖ pad ‖ C ‖ pad`), a GHASH that differs from the real
//! one only in the final length block:
//!
//! ```text
//! GHASH = ((Y ⊕ L) · H)  for the same Y, with
//!   L_real = [8·|A|]₆₄ ‖ [8·|C|]₆₄        L_gmac = [8·(|A|+pad+|C|)]₆₄ ‖ [0]₆₄
//! tag_real = tag_gmac ⊕ ((L_real ⊕ L_gmac) · H)
//! ```
//!
//! so one GF(2¹²⁸) multiplication by `H = E_K(0¹²⁸)` (RustCrypto `ghash`,
//! constant time) turns the tag AWS-LC returns into the real one, which is
//! then compared in constant time ([`subtle`]). No keystream is ever applied
//! to the ciphertext, so no plaintext exists anywhere, and the pass runs at
//! AWS-LC's GHASH speed (VPCLMULQDQ on recent x86-64) instead of a full
//! decryption. The equivalence tests (`tests/`) check the result against
//! RustCrypto's GHASH on random inputs and splits.

use std::sync::Mutex;

use aws_lc_rs::cipher::{
    EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128, AES_192, AES_256,
};
use aws_lc_rs::iv::FixedLength;
use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use s3ec_core::cipher::backend::{GcmBackend, StreamDecrypt, StreamEncrypt, StreamVerify};
use s3ec_core::{Error, InputError};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, Zeroizing};

use crate::ffi::gcm::GcmCtx;

/// GCM tag length.
const TAG_LEN: usize = 16;

/// The AES-256-GCM backend on AWS-LC: plug it into s3ec-core's streaming
/// types to run them at AWS-LC speed (fused VAES + VPCLMULQDQ kernels on
/// recent x86-64, AES-NI/CLMUL or ARMv8 crypto elsewhere).
///
/// A zero-sized type chosen at compile time, like the core's default
/// [`RustCrypto`](s3ec_core::cipher::RustCrypto); every check that matters
/// for S3EC (all-zero IV, GCM length limits, verify before release) stays
/// in the core's generic layer. Results are bit-for-bit identical to
/// `RustCrypto`'s for every input and every split.
///
/// Failures of AWS-LC itself (only an allocation failure, in practice) are
/// reported as [`Error::LimitExceeded`], the one backend error the core's
/// contract defines; a verification that meets one fails closed.
///
/// ```
/// use s3ec_aws_lc::AwsLc;
/// use s3ec_core::cipher::gcm::{open_in_place_with, GcmEncryptor, GcmVerifier};
///
/// let (key, iv) = ([7u8; 32], [1u8; 12]);
/// let mut body = b"hello, world".to_vec();
/// let mut enc = GcmEncryptor::<AwsLc>::with_backend(&key, &iv, b"")?;
/// enc.update(&mut body[..5])?;
/// enc.update(&mut body[5..])?;
/// let tag = enc.finish();
///
/// // Verify first (no plaintext), then decrypt any range.
/// let mut v = GcmVerifier::<AwsLc>::with_backend(&key, &iv, b"")?;
/// v.update(&body)?;
/// let ok = v.verify(&tag)?;
/// let mut tail = body[7..].to_vec();
/// ok.decrypt_at(7, &mut tail)?;
/// assert_eq!(tail, b"world");
///
/// // Or in one call over `ciphertext || tag`.
/// body.extend_from_slice(&tag);
/// let n = open_in_place_with::<AwsLc>(&key, &iv, b"", &mut body)?;
/// assert_eq!(&body[..n], b"hello, world");
/// # Ok::<(), s3ec_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AwsLc;

/// [`AwsLc`]'s expanded key: the key bytes (each streaming state keys its
/// own AWS-LC context from them), an `aws-lc-rs` AES-256-CTR key and at
/// most one cached GCM context for [`GcmBackend::apply_keystream`] (see
/// `fused_keystream`), and the GHASH key `H`. Wiped on drop (`aws-lc-rs`
/// and AWS-LC wipe their key schedules themselves); `Debug` prints nothing
/// secret. `Send + Sync`, so `Verified::decrypt_at` can run in parallel.
pub struct AwsLcKey {
    /// The key bytes, `len` of them (32; 16 or 24 for legacy objects).
    key: [u8; 32],
    len: usize,
    h: [u8; 16],
    ctr: EncryptingKey,
    cursor: Mutex<Option<Cursor>>,
}

impl AwsLcKey {
    /// The key bytes.
    fn bytes(&self) -> &[u8] {
        self.key.get(..self.len).unwrap_or(&self.key)
    }
}

impl Drop for AwsLcKey {
    fn drop(&mut self) {
        self.key.zeroize();
        self.h.zeroize();
    }
}

impl core::fmt::Debug for AwsLcKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AwsLcKey(redacted)")
    }
}

/// The counter block `iv || BE32(counter)`.
fn counter_block(iv: &[u8; 12], counter: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    let (head, tail) = b.split_at_mut(12);
    head.copy_from_slice(iv);
    tail.copy_from_slice(&counter.to_be_bytes());
    b
}

/// XOR the AES-CTR keystream from counter block `block` into `buf`
/// (non-empty).
fn ctr_xor(key: &EncryptingKey, block: [u8; 16], buf: &mut [u8]) -> Result<(), Error> {
    key.less_safe_encrypt(buf, EncryptionContext::Iv128(FixedLength::from(block)))
        .map(|_| ())
        .map_err(|_| Error::LimitExceeded)
}

/// GCM's first content counter (96-bit IV: `J0 = iv || 1`, data from
/// `inc32(J0)`).
const FIRST_COUNTER: u32 = 2;

/// From this length on, a keystream that starts at [`FIRST_COUNTER`] is
/// taken from AWS-LC's fused GCM kernel ([`fused_keystream`]) rather than
/// its AES-CTR: the context setup (~0.4 µs) is then repaid many times.
const FUSED_MIN: usize = 16 * 1024;

/// A GCM encryption context used as a keystream source: positioned so that
/// its next keystream block is `iv || BE32(next)`.
struct Cursor {
    iv: [u8; 12],
    next: u32,
    ctx: GcmCtx,
}

/// XOR the keystream from counter block `iv || BE32(counter)` into `buf`
/// through AWS-LC's fused GCM kernel, if that applies; `None` means "use
/// plain AES-CTR".
///
/// GCM's ciphertext is the plaintext XOR the keystream from `iv || 2` on,
/// so a GCM *encryption* under the same key and IV, whose tag is never
/// computed, yields exactly that keystream. On x86-64 with VAES AWS-LC's
/// fused AES-GCM kernel is about twice as fast as its AES-CTR (AES-NI,
/// 128-bit lanes), even with the GHASH it computes on the side. Such a
/// context starts at counter 2 and only moves forward, so it is used
///
/// * for a long keystream (at least [`FUSED_MIN`] bytes) from counter 2 —
///   the core's `open_in_place` decrypts the whole verified body with one
///   such call, and a sequential `decrypt_at` loop starts with one;
/// * for a call that continues exactly where the key's cached context
///   stopped (`decrypt_at` over consecutive whole-block chunks).
///
/// The key keeps at most one context ([`AwsLcKey`]'s `cursor`), behind a
/// mutex taken with `try_lock`: a call that finds it busy (parallel
/// `decrypt_at`) simply uses AES-CTR. The context, and the GHASH state it
/// accumulated, is cleansed when it is freed (replaced, or with the key);
/// nothing of it is released.
fn fused_keystream(
    key: &AwsLcKey,
    iv: &[u8; 12],
    counter: u32,
    buf: &mut [u8],
) -> Option<Result<(), Error>> {
    let blocks = u64::try_from(buf.len().div_ceil(16)).ok()?;
    // Within GCM's own counter range (which is also AWS-LC's 2^36 - 32
    // byte message limit for a context that started at counter 2).
    let end = u64::from(counter).checked_add(blocks)?;
    if buf.is_empty() || end > 1 << 32 {
        return None;
    }
    let mut slot = key.cursor.try_lock().ok()?;
    let continues = matches!(&*slot, Some(c) if c.iv == *iv && c.next == counter);
    if !continues {
        if counter != FIRST_COUNTER || buf.len() < FUSED_MIN {
            return None;
        }
        *slot = None;
        let ctx = GcmCtx::new(key.bytes(), iv, true)?;
        *slot = Some(Cursor {
            iv: *iv,
            next: counter,
            ctx,
        });
    }
    let cursor = slot.as_mut()?;
    if !cursor.ctx.update_in_place(buf) {
        // AWS-LC failed part way (it cannot within these bounds); `buf` is
        // unusable and the caller gets an error, as from any backend
        // failure.
        *slot = None;
        return Some(Err(Error::LimitExceeded));
    }
    match u32::try_from(end) {
        // Block aligned: the next keystream block is `iv || end`.
        Ok(next) if buf.len().is_multiple_of(16) => cursor.next = next,
        // Stopped inside a block (or at the very end of the counter
        // space): nothing can continue from here.
        _ => *slot = None,
    }
    Some(Ok(()))
}

/// A context keyed with `key` and `iv`; AWS-LC failure as
/// [`Error::LimitExceeded`].
fn context(key: &AwsLcKey, iv: &[u8; 12], encrypt: bool) -> Result<GcmCtx, Error> {
    GcmCtx::new(key.bytes(), iv, encrypt).ok_or(Error::LimitExceeded)
}

/// [`AwsLc`]'s encryption state: one AWS-LC GCM context, in place.
#[derive(Debug)]
pub struct AwsLcEncrypt {
    ctx: GcmCtx,
}

impl StreamEncrypt for AwsLcEncrypt {
    #[inline]
    fn update(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        if self.ctx.update_in_place(buf) {
            Ok(())
        } else {
            Err(Error::LimitExceeded)
        }
    }

    /// The tag. If AWS-LC failed earlier (an `update` already returned an
    /// error, which the caller must not ignore) the context is poisoned and
    /// an all-zero tag is returned: the object then fails authentication
    /// (but for a 2^-128 chance), it is never silently accepted.
    fn finish(self) -> [u8; TAG_LEN] {
        self.ctx.finish_encrypt().unwrap_or([0; TAG_LEN])
    }
}

/// [`AwsLc`]'s GHASH-only verification state (see the [module
/// docs](self)): the ciphertext goes into an AWS-LC GCM context as AAD, so
/// no plaintext is produced.
pub struct AwsLcVerify {
    ctx: GcmCtx,
    h: Zeroizing<[u8; 16]>,
    aad_len: u64,
    padded_aad_len: u64,
    ct_len: u64,
    failed: bool,
}

impl core::fmt::Debug for AwsLcVerify {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AwsLcVerify")
            .field("ct_len", &self.ct_len)
            .finish_non_exhaustive()
    }
}

/// `x · H` in GCM's field, constant time (RustCrypto `ghash`, which wipes
/// its copy of `H` on drop).
fn gf_mul_h(x: [u8; 16], h: &[u8; 16]) -> [u8; 16] {
    let mut g = GHash::new(&(*h).into());
    g.update(&[x.into()]);
    g.finalize().into()
}

/// The real GCM tag from the GMAC-style tag AWS-LC computed over
/// `A ‖ pad ‖ C` as AAD (module docs).
fn real_tag(
    gmac: &[u8; TAG_LEN],
    h: &[u8; 16],
    aad_len: u64,
    padded_aad_len: u64,
    ct_len: u64,
) -> [u8; TAG_LEN] {
    let real_a = aad_len.wrapping_mul(8);
    let real_c = ct_len.wrapping_mul(8);
    let gmac_a = padded_aad_len.wrapping_add(ct_len).wrapping_mul(8);
    // L_real ⊕ L_gmac; the second half of L_gmac is zero.
    let mut delta = [0u8; 16];
    let (a, c) = delta.split_at_mut(8);
    a.copy_from_slice(&(real_a ^ gmac_a).to_be_bytes());
    c.copy_from_slice(&real_c.to_be_bytes());
    let mut fix = gf_mul_h(delta, h);
    let mut tag = [0u8; TAG_LEN];
    for ((t, g), f) in tag.iter_mut().zip(gmac).zip(fix.iter()) {
        *t = g ^ f;
    }
    fix.zeroize();
    tag
}

impl StreamVerify for AwsLcVerify {
    #[inline]
    fn update(&mut self, ciphertext: &[u8]) {
        if self.failed || !self.ctx.aad(ciphertext) {
            // Fail closed: `finish` will reject whatever tag it is given.
            self.failed = true;
            return;
        }
        self.ct_len = self.ct_len.wrapping_add(ciphertext.len() as u64);
    }

    fn finish(self, tag: &[u8; TAG_LEN]) -> Choice {
        let AwsLcVerify {
            ctx,
            h,
            aad_len,
            padded_aad_len,
            ct_len,
            failed,
        } = self;
        let Some(mut gmac) = ctx.finish_encrypt().filter(|_| !failed) else {
            return Choice::from(0);
        };
        let mut computed = real_tag(&gmac, &h, aad_len, padded_aad_len, ct_len);
        // With the real tag (public), the GMAC-style tag would give away
        // `(L_real ⊕ L_gmac) · H`, hence `H`: wipe both.
        gmac.zeroize();
        let ok = computed.ct_eq(tag);
        computed.zeroize();
        ok
    }
}

/// [`AwsLc`]'s decrypt-and-authenticate state (delayed authentication, for
/// s3ec-core's `danger` module): one decrypting AWS-LC GCM context, in
/// place; the tag is checked by `EVP_DecryptFinal_ex` in constant time.
#[derive(Debug)]
pub struct AwsLcDecrypt {
    ctx: GcmCtx,
}

impl StreamDecrypt for AwsLcDecrypt {
    #[inline]
    fn update(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        if self.ctx.update_in_place(buf) {
            Ok(())
        } else {
            Err(Error::LimitExceeded)
        }
    }

    fn finish(self, tag: &[u8; TAG_LEN]) -> Choice {
        Choice::from(u8::from(self.ctx.finish_decrypt(tag)))
    }
}

impl GcmBackend for AwsLc {
    type Key = AwsLcKey;
    type Encrypt = AwsLcEncrypt;
    type Verify = AwsLcVerify;
    type Decrypt = AwsLcDecrypt;

    fn expand_key(key: &[u8]) -> Result<AwsLcKey, Error> {
        let algorithm = match key.len() {
            16 => &AES_128,
            24 => &AES_192,
            32 => &AES_256,
            n => return Err(InputError::KeyLength { actual: n }.into()),
        };
        let unbound = UnboundCipherKey::new(algorithm, key).map_err(|_| Error::LimitExceeded)?;
        let ctr = EncryptingKey::ctr(unbound).map_err(|_| Error::LimitExceeded)?;
        // H = E_K(0^128): the CTR keystream of the all-zero counter block.
        let mut h = [0u8; 16];
        ctr_xor(&ctr, [0u8; 16], &mut h)?;
        let mut bytes = [0u8; 32];
        if let Some(d) = bytes.get_mut(..key.len()) {
            d.copy_from_slice(key);
        }
        Ok(AwsLcKey {
            key: bytes,
            len: key.len(),
            h,
            ctr,
            cursor: Mutex::new(None),
        })
    }

    fn encrypt(key: &AwsLcKey, iv: &[u8; 12], aad: &[u8]) -> Result<AwsLcEncrypt, Error> {
        let mut ctx = context(key, iv, true)?;
        if !ctx.aad(aad) {
            return Err(Error::LimitExceeded);
        }
        Ok(AwsLcEncrypt { ctx })
    }

    fn verify(key: &AwsLcKey, iv: &[u8; 12], aad: &[u8]) -> Result<AwsLcVerify, Error> {
        let mut ctx = context(key, iv, true)?;
        let pad = (16 - aad.len() % 16) % 16;
        if !(ctx.aad(aad) && ctx.aad(&[0u8; 16][..pad])) {
            return Err(Error::LimitExceeded);
        }
        let aad_len = aad.len() as u64;
        Ok(AwsLcVerify {
            ctx,
            h: Zeroizing::new(key.h),
            aad_len,
            padded_aad_len: aad_len + pad as u64,
            ct_len: 0,
            failed: false,
        })
    }

    fn decrypt(key: &AwsLcKey, iv: &[u8; 12], aad: &[u8]) -> Result<AwsLcDecrypt, Error> {
        let mut ctx = context(key, iv, false)?;
        if !ctx.aad(aad) {
            return Err(Error::LimitExceeded);
        }
        Ok(AwsLcDecrypt { ctx })
    }

    /// One pass, as AWS-LC's own one-shot `open` does: a decrypting GCM
    /// context turns `buf` into plaintext while it authenticates it, and
    /// `EVP_DecryptFinal_ex` compares the tag in constant time. On a
    /// mismatch the same keystream is applied again, which turns `buf` back
    /// into the ciphertext before this returns (the contract of
    /// [`GcmBackend::open_in_place`]); if even that fails, `buf` is wiped.
    /// Memory-bound bodies thus cost one pass instead of the provided
    /// implementation's two; a wrong tag costs one more.
    fn open_in_place(
        key: &AwsLcKey,
        iv: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<Choice, Error> {
        let mut ctx = context(key, iv, false)?;
        if !ctx.aad(aad) {
            return Err(Error::LimitExceeded);
        }
        if !ctx.update_in_place(buf) {
            // Part of `buf` may be unauthenticated plaintext now.
            buf.zeroize();
            return Err(Error::LimitExceeded);
        }
        if ctx.finish_decrypt(tag) {
            return Ok(Choice::from(1));
        }
        if let Err(e) = Self::apply_keystream(key, iv, FIRST_COUNTER, buf) {
            buf.zeroize();
            return Err(e);
        }
        Ok(Choice::from(0))
    }

    /// AES-256-CTR through `aws-lc-rs` (or, for a long keystream from the
    /// first content counter, AWS-LC's fused GCM kernel: see
    /// `fused_keystream`), with GCM's `inc32` counter: AWS-LC
    /// carries a counter overflow into the IV, so the buffer is cut where
    /// the 32-bit counter wraps and the rest continues from counter 0 with
    /// the same IV (the core never gets there: its offsets stay below
    /// `2^36`, counters below `2^32`).
    #[inline]
    fn apply_keystream(
        key: &AwsLcKey,
        iv: &[u8; 12],
        counter: u32,
        buf: &mut [u8],
    ) -> Result<(), Error> {
        if let Some(done) = fused_keystream(key, iv, counter, buf) {
            return done;
        }
        let mut counter = counter;
        let mut rest = buf;
        while !rest.is_empty() {
            // Bytes before the counter wraps: (2^32 - counter) blocks.
            let room = ((1u64 << 32) - u64::from(counter)).saturating_mul(16);
            let take = usize::try_from(room).map_or(rest.len(), |r| r.min(rest.len()));
            let (head, tail) = rest.split_at_mut(take);
            ctr_xor(&key.ctr, counter_block(iv, counter), head)?;
            rest = tail;
            counter = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_key_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<AwsLcKey>();
        check::<AwsLcEncrypt>();
        check::<AwsLcVerify>();
        check::<AwsLcDecrypt>();
        let key = AwsLc::expand_key(&[9u8; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "AwsLcKey(redacted)");
    }

    #[test]
    fn h_is_aes_of_zero() {
        // FIPS-197 C.3 is for a different key; use the GCM spec's test
        // case 13 (key 0^256): H = dc95c078a2408989ad48a21492842087.
        let key = AwsLc::expand_key(&[0u8; 32]).unwrap();
        assert_eq!(
            key.h,
            [
                0xdc, 0x95, 0xc0, 0x78, 0xa2, 0x40, 0x89, 0x89, 0xad, 0x48, 0xa2, 0x14, 0x92, 0x84,
                0x20, 0x87
            ]
        );
    }

    #[test]
    fn keystream_wraps_like_inc32() {
        let key = AwsLc::expand_key(&[3u8; 32]).unwrap();
        let iv = [5u8; 12];
        let mut across = [0u8; 48];
        AwsLc::apply_keystream(&key, &iv, u32::MAX, &mut across).unwrap();
        let mut last = [0u8; 16];
        AwsLc::apply_keystream(&key, &iv, u32::MAX, &mut last).unwrap();
        let mut first = [0u8; 32];
        AwsLc::apply_keystream(&key, &iv, 0, &mut first).unwrap();
        assert_eq!(&across[..16], &last);
        assert_eq!(&across[16..], &first);
    }
}

//! Streaming AES-256-GCM through AWS-LC's `EVP_CIPHER` interface
//! (`EVP_aes_256_gcm`), which `aws-lc-rs`'s safe API does not offer: its
//! AEAD API is one-shot only, and s3ec streams object bodies of up to
//! 64 GiB through fixed buffers.
//!
//! On x86-64 with VAES, VPCLMULQDQ and AVX-512 AWS-LC runs the fused
//! `aes_gcm_{en,de}crypt_avx512` kernels here, the same code `aws-lc-rs`'s
//! one-shot AEAD uses; elsewhere its AES-NI/CLMUL or ARMv8 code.
//!
//! [`GcmCtx`] is a thin owner of one `EVP_CIPHER_CTX`; the safe,
//! policy-carrying layer is [`crate::gcm`].
//!
//! Safety argument, in one place:
//! * every pointer handed to AWS-LC comes from a live Rust slice or array
//!   with its exact length, or from AWS-LC itself and is checked non-null;
//!   an empty slice is never passed (its pointer is dangling, and a null
//!   input means "finish" to the cipher), so calls with nothing to do are
//!   skipped;
//! * lengths are passed as `c_int` in pieces of at most [`MAX_CALL`] bytes,
//!   so they are always positive and never truncated;
//! * in-place updates pass the same pointer as input and output. AWS-LC's
//!   GCM (`aes_gcm_cipher` → `CRYPTO_gcm128_{en,de}crypt[_ctr32]` and the
//!   assembly kernels below them) supports exactly aliased buffers, which is
//!   how `EVP_AEAD_CTX_seal`/`open` are used in place; partially overlapping
//!   buffers are never passed (a `&mut [u8]` cannot overlap anything else);
//! * each `EVP_CIPHER_CTX` has exactly one Rust owner ([`GcmCtx`]), which
//!   frees it once, in `Drop`. `EVP_CIPHER_CTX_free` runs the GCM cleanup
//!   (`OPENSSL_cleanse` of the GHASH key, tables and tag mask) and frees the
//!   AES key schedule with `OPENSSL_free`, which cleanses before freeing, so
//!   no key material is left behind;
//! * the context is only used through `&mut self` (or by value), so it is
//!   never touched by two threads at once.
use core::ffi::{c_int, c_void};
use core::ptr::{null, null_mut, NonNull};

use aws_lc_sys as lc;

/// The longest input handed to one `EVP_*Update` call: 1 GiB, far below
/// `INT_MAX` (the `c_int` length parameter).
pub const MAX_CALL: usize = 1 << 30;

/// GCM tag length.
const TAG_LEN: usize = 16;

/// An owned AWS-LC `EVP_CIPHER_CTX` set up for AES-GCM (256-bit keys; 128 and
/// 192 for legacy objects) with a 96-bit IV,
/// keyed, with its IV set, in one direction. Freed (and cleansed) on drop.
///
/// The methods only report success or failure; [`crate::gcm`] turns them
/// into the s3ec error type and enforces the GCM limits.
pub struct GcmCtx {
    ctx: NonNull<lc::EVP_CIPHER_CTX>,
    encrypt: bool,
}

// SAFETY: an `EVP_CIPHER_CTX` has no affinity to the thread that created it
// (no thread-local state is referenced from it), so ownership may move
// between threads.
unsafe impl Send for GcmCtx {}
// SAFETY: `GcmCtx` exposes no method taking `&self` that reaches AWS-LC;
// every operation needs `&mut self` or `self`, so a shared reference grants
// no access to the context.
unsafe impl Sync for GcmCtx {}

impl Drop for GcmCtx {
    fn drop(&mut self) {
        // SAFETY: created by `EVP_CIPHER_CTX_new`, owned only here and freed
        // only here; `EVP_CIPHER_CTX_free` cleanses the key state (see the
        // module docs).
        unsafe { lc::EVP_CIPHER_CTX_free(self.ctx.as_ptr()) }
    }
}

impl core::fmt::Debug for GcmCtx {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GcmCtx")
            .field("encrypt", &self.encrypt)
            .finish_non_exhaustive()
    }
}

impl GcmCtx {
    /// A context for AES-GCM under `key` (32 bytes: AES-256; 16 or 24:
    /// AES-128/192, for legacy objects) and the 96-bit `iv`, encrypting
    /// (`encrypt = true`) or decrypting. `None` for another key length, or
    /// if AWS-LC fails (allocation).
    pub fn new(key: &[u8], iv: &[u8; 12], encrypt: bool) -> Option<GcmCtx> {
        // SAFETY: no arguments; each returns a pointer to AWS-LC's static,
        // immutable cipher table.
        let cipher = match key.len() {
            16 => unsafe { lc::EVP_aes_128_gcm() },
            24 => unsafe { lc::EVP_aes_192_gcm() },
            32 => unsafe { lc::EVP_aes_256_gcm() },
            _ => return None,
        };
        // SAFETY: no arguments; returns a new context or null.
        let ctx = NonNull::new(unsafe { lc::EVP_CIPHER_CTX_new() })?;
        // From here on `Drop` frees the context on every early return.
        let this = GcmCtx { ctx, encrypt };
        let p = this.ctx.as_ptr();
        let enc = c_int::from(encrypt);
        // SAFETY: `p` is a valid, fresh context. `cipher` is AWS-LC's
        // static `EVP_CIPHER` table for exactly `key.len()` key bytes (the
        // match above). The IV length control takes no pointer. `key` and
        // `iv` are readable for `key.len()` and 12 bytes, exactly what that
        // cipher and the (just set) 12-byte IV length make AWS-LC read;
        // AWS-LC copies both and keeps no pointer to them.
        let ok = unsafe {
            lc::EVP_CipherInit_ex(p, cipher, null_mut(), null(), null(), enc) == 1
                && lc::EVP_CIPHER_CTX_ctrl(p, lc::EVP_CTRL_GCM_SET_IVLEN, 12, null_mut()) == 1
                && lc::EVP_CipherInit_ex(p, null(), null_mut(), key.as_ptr(), iv.as_ptr(), enc) == 1
        };
        if ok {
            Some(this)
        } else {
            clear_errors();
            None
        }
    }

    /// Whether this context encrypts.
    pub fn is_encrypt(&self) -> bool {
        self.encrypt
    }

    /// Absorb additional authenticated data (any length; may be called
    /// several times, before any [`update_in_place`](Self::update_in_place)).
    /// AWS-LC carries a partial AAD block between calls, so the AAD is
    /// hashed as one string.
    pub fn aad(&mut self, aad: &[u8]) -> bool {
        for piece in aad.chunks(MAX_CALL) {
            let mut out_len: c_int = 0;
            // SAFETY: valid context; `piece` is non-empty (`chunks` yields
            // none for an empty slice) and readable for its length, which
            // fits in `c_int` (`MAX_CALL`). A null output pointer makes the
            // GCM cipher hash the input as AAD and write nothing.
            let ok = unsafe {
                let f = if self.encrypt {
                    lc::EVP_EncryptUpdate
                } else {
                    lc::EVP_DecryptUpdate
                };
                f(
                    self.ctx.as_ptr(),
                    null_mut(),
                    &mut out_len,
                    piece.as_ptr(),
                    piece.len() as c_int,
                )
            } == 1;
            if !ok {
                clear_errors();
                return false;
            }
        }
        true
    }

    /// Encrypt or decrypt (per the context's direction) `buf` in place, any
    /// length. GCM is a stream mode: AWS-LC writes exactly as many bytes as
    /// it reads and carries a partial block between calls.
    pub fn update_in_place(&mut self, buf: &mut [u8]) -> bool {
        for piece in buf.chunks_mut(MAX_CALL) {
            let len = piece.len() as c_int;
            let mut out_len: c_int = 0;
            let p = piece.as_mut_ptr();
            // SAFETY: valid context; `piece` is non-empty, readable and
            // writable for `len` bytes (`len` fits in `c_int`). Input and
            // output are the same pointer, which AWS-LC's GCM supports (see
            // the module docs); the GCM cipher writes exactly `len` bytes.
            let ok = unsafe {
                let f = if self.encrypt {
                    lc::EVP_EncryptUpdate
                } else {
                    lc::EVP_DecryptUpdate
                };
                f(self.ctx.as_ptr(), p, &mut out_len, p, len)
            } == 1;
            if !ok || out_len != len {
                clear_errors();
                return false;
            }
        }
        true
    }

    /// Finish an encrypting context and return the 16-byte tag; `None` if
    /// AWS-LC fails (it cannot for a context built by [`GcmCtx::new`]) or
    /// the context decrypts.
    pub fn finish_encrypt(self) -> Option<[u8; TAG_LEN]> {
        if !self.encrypt {
            return None;
        }
        let mut tag = [0u8; TAG_LEN];
        let mut scratch = [0u8; TAG_LEN];
        let mut out_len: c_int = 0;
        // SAFETY: valid encrypting context. GCM's final step writes nothing
        // to `scratch` (a valid 16-byte buffer regardless). `GET_TAG` copies
        // `TAG_LEN` bytes into `tag`, which is writable for that many.
        let ok = unsafe {
            let p = self.ctx.as_ptr();
            lc::EVP_EncryptFinal_ex(p, scratch.as_mut_ptr(), &mut out_len) == 1
                && lc::EVP_CIPHER_CTX_ctrl(
                    p,
                    lc::EVP_CTRL_GCM_GET_TAG,
                    TAG_LEN as c_int,
                    tag.as_mut_ptr().cast::<c_void>(),
                ) == 1
        };
        if ok && out_len == 0 {
            Some(tag)
        } else {
            clear_errors();
            None
        }
    }

    /// Finish a decrypting context: whether the computed tag equals `tag`
    /// (AWS-LC compares with `CRYPTO_memcmp`, in constant time). `false`
    /// also for an encrypting context or any AWS-LC failure.
    pub fn finish_decrypt(self, tag: &[u8; TAG_LEN]) -> bool {
        if self.encrypt {
            return false;
        }
        let mut expected = *tag;
        let mut scratch = [0u8; TAG_LEN];
        let mut out_len: c_int = 0;
        // SAFETY: valid decrypting context. `SET_TAG` copies `TAG_LEN`
        // bytes from `expected` (readable for that many; AWS-LC takes a
        // mutable pointer but only reads). The final step writes nothing to
        // `scratch` (a valid 16-byte buffer regardless).
        let ok = unsafe {
            let p = self.ctx.as_ptr();
            lc::EVP_CIPHER_CTX_ctrl(
                p,
                lc::EVP_CTRL_GCM_SET_TAG,
                TAG_LEN as c_int,
                expected.as_mut_ptr().cast::<c_void>(),
            ) == 1
                && lc::EVP_DecryptFinal_ex(p, scratch.as_mut_ptr(), &mut out_len) == 1
        };
        if !ok {
            clear_errors();
        }
        ok && out_len == 0
    }
}

/// Drop this thread's AWS-LC error queue after an expected failure.
fn clear_errors() {
    // SAFETY: no arguments; touches only thread-local state.
    unsafe { lc::ERR_clear_error() }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_direction() {
        let key = [7u8; 32];
        let iv = [1u8; 12];
        let mut e = GcmCtx::new(&key, &iv, true).unwrap();
        assert!(e.is_encrypt());
        assert!(e.aad(b"hdr"));
        let mut buf = *b"hello, world";
        assert!(e.update_in_place(&mut buf[..5]));
        assert!(e.update_in_place(&mut buf[5..]));
        let tag = e.finish_encrypt().unwrap();

        let mut d = GcmCtx::new(&key, &iv, false).unwrap();
        assert!(d.aad(b"hdr"));
        assert!(d.update_in_place(&mut buf));
        assert_eq!(&buf, b"hello, world");
        assert!(d.finish_decrypt(&tag));

        // A decrypting context has no tag to give; an encrypting one
        // verifies nothing.
        assert!(GcmCtx::new(&key, &iv, false)
            .unwrap()
            .finish_encrypt()
            .is_none());
        assert!(!GcmCtx::new(&key, &iv, true).unwrap().finish_decrypt(&tag));
    }

    #[test]
    fn aad_after_data_is_refused() {
        let mut e = GcmCtx::new(&[7u8; 32], &[1u8; 12], true).unwrap();
        let mut buf = [0u8; 3];
        assert!(e.update_in_place(&mut buf));
        assert!(!e.aad(b"late"));
    }
}

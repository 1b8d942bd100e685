//! RSA-OAEP with SHA-256 and **MGF1-SHA-1**, straight from AWS-LC.
//!
//! It exists because the legacy
//! wrap `RSA/ECB/OAEPWithSHA-256AndMGF1Padding` means, in Java's default
//! SunJCE provider, OAEP with hash SHA-256 but MGF1 over SHA-1 (reference
//! §5.6, errata E9), a combination `aws-lc-rs`'s safe API does not offer
//! (it pairs each OAEP hash with the same MGF1 hash). AWS-LC itself supports
//! it through `EVP_PKEY_CTX_set_rsa_mgf1_md`; this module calls exactly the
//! functions `aws-lc-rs` calls for its own OAEP keys, with the MGF1 digest
//! set separately.
//!
//! Why not the pure-Rust `rsa` crate for this one legacy read: its private
//! key operation is not constant time (Marvin, RUSTSEC-2023-0071). AWS-LC's
//! is (blinding, `BN_mod_exp_mont_consttime`, constant-time OAEP check; only
//! "padding valid or not" is declassified, which OAEP makes public anyway).
//!
//! Safety argument, in one place:
//! * every pointer handed to AWS-LC comes from a live Rust slice with its
//!   exact length, or from AWS-LC itself and is checked non-null;
//! * each owned AWS-LC object (`EVP_PKEY`, `EVP_PKEY_CTX`) has exactly one
//!   Rust owner that frees it once, in `Drop`;
//! * output buffers are at least the modulus size (`EVP_PKEY_size`), as
//!   `EVP_PKEY_decrypt` / `EVP_PKEY_encrypt` require, and the written length
//!   is read back from AWS-LC and bounds-checked before use.
use core::ptr::{null_mut, NonNull};

use aws_lc_sys as lc;

/// An owned AWS-LC `EVP_PKEY` holding an RSA key (private or public).
pub struct EvpRsaKey(NonNull<lc::EVP_PKEY>);

// SAFETY: an `EVP_PKEY` may be used from several threads at once by
// non-mutating functions (AWS-LC `evp.h`). The only call here that takes it
// mutably is `EVP_PKEY_CTX_new`, which only increments its reference count,
// atomically; every operation then runs on its own `EVP_PKEY_CTX`. RSA
// blinding state inside the key is guarded by AWS-LC's own lock. This is
// the same reasoning as `aws-lc-rs`'s `Send`/`Sync` for its RSA keys.
unsafe impl Send for EvpRsaKey {}
// SAFETY: see `Send` above.
unsafe impl Sync for EvpRsaKey {}

impl Drop for EvpRsaKey {
    fn drop(&mut self) {
        // SAFETY: we own one reference to this key, taken at parse time.
        unsafe { lc::EVP_PKEY_free(self.0.as_ptr()) }
    }
}

/// An owned `EVP_PKEY_CTX`, freed on drop.
struct Ctx(NonNull<lc::EVP_PKEY_CTX>);

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: created by `EVP_PKEY_CTX_new` and owned only here.
        unsafe { lc::EVP_PKEY_CTX_free(self.0.as_ptr()) }
    }
}

/// Parse with `parse`, accept only an RSA key that consumed the whole input.
fn parse(
    der: &[u8],
    parse: unsafe extern "C" fn(*mut lc::CBS) -> *mut lc::EVP_PKEY,
) -> Option<EvpRsaKey> {
    let mut cbs = lc::CBS {
        data: der.as_ptr(),
        len: der.len(),
    };
    // SAFETY: `cbs` points into `der`, which outlives the call; the parser
    // only reads `len` bytes from `data` and advances `cbs`.
    let key = NonNull::new(unsafe { parse(&mut cbs) })?;
    let key = EvpRsaKey(key);
    // SAFETY: `key` is a valid `EVP_PKEY`.
    let id = unsafe { lc::EVP_PKEY_id(key.0.as_ptr()) };
    (id == lc::EVP_PKEY_RSA && cbs.len == 0).then_some(key)
}

impl EvpRsaKey {
    /// Parse a PKCS#8 `PrivateKeyInfo` holding an RSA key.
    pub fn from_pkcs8(der: &[u8]) -> Option<EvpRsaKey> {
        parse(der, lc::EVP_parse_private_key)
    }

    /// Parse an X.509 `SubjectPublicKeyInfo` holding an RSA key.
    pub fn from_spki(der: &[u8]) -> Option<EvpRsaKey> {
        parse(der, lc::EVP_parse_public_key)
    }

    /// The modulus length in bytes.
    fn size(&self) -> usize {
        // SAFETY: valid key; `EVP_PKEY_size` only reads it.
        let n = unsafe { lc::EVP_PKEY_size(self.0.as_ptr()) };
        usize::try_from(n).unwrap_or(0)
    }

    /// A context set up for OAEP with SHA-256 and MGF1-SHA-1 and the empty
    /// label (AWS-LC's default), for encryption or decryption.
    fn oaep_ctx(&self, decrypt: bool) -> Option<Ctx> {
        // SAFETY: valid key; `EVP_PKEY_CTX_new` takes its own reference.
        let ctx = Ctx(NonNull::new(unsafe {
            lc::EVP_PKEY_CTX_new(self.0.as_ptr(), null_mut())
        })?);
        let p = ctx.0.as_ptr();
        // SAFETY: `p` is a valid context; the digests are AWS-LC's static
        // `EVP_MD` tables.
        let ok = unsafe {
            let init = if decrypt {
                lc::EVP_PKEY_decrypt_init(p)
            } else {
                lc::EVP_PKEY_encrypt_init(p)
            };
            init == 1
                && lc::EVP_PKEY_CTX_set_rsa_padding(p, lc::RSA_PKCS1_OAEP_PADDING) == 1
                && lc::EVP_PKEY_CTX_set_rsa_oaep_md(p, lc::EVP_sha256()) == 1
                && lc::EVP_PKEY_CTX_set_rsa_mgf1_md(p, lc::EVP_sha1()) == 1
        };
        ok.then_some(ctx)
    }

    /// RSAES-OAEP decryption (RFC 8017 §7.1.2) with hash SHA-256, MGF1-SHA-1
    /// and the empty label. Writes the message into `out` (at least the
    /// modulus size) and returns its length, or `None` if the ciphertext
    /// does not decrypt (any reason: AWS-LC reports one opaque error).
    pub fn decrypt_oaep_sha256_mgf1_sha1(
        &self,
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Option<usize> {
        if ciphertext.len() != self.size() || out.len() < self.size() {
            return None;
        }
        let ctx = self.oaep_ctx(true)?;
        let mut out_len = out.len();
        // SAFETY: `out` is writable for `out_len` bytes, at least the
        // modulus size; `ciphertext` is readable for its length (the
        // modulus size, so never empty).
        let ok = unsafe {
            lc::EVP_PKEY_decrypt(
                ctx.0.as_ptr(),
                out.as_mut_ptr(),
                &mut out_len,
                ciphertext.as_ptr(),
                ciphertext.len(),
            )
        } == 1;
        if !ok {
            clear_errors();
            return None;
        }
        (out_len <= out.len()).then_some(out_len)
    }

    /// RSAES-OAEP encryption with SHA-256 and MGF1-SHA-1 (for legacy test
    /// vectors only). Returns the ciphertext (the modulus size).
    pub fn encrypt_oaep_sha256_mgf1_sha1(&self, message: &[u8]) -> Option<Vec<u8>> {
        if message.is_empty() {
            return None;
        }
        let ctx = self.oaep_ctx(false)?;
        let mut out = vec![0u8; self.size()];
        let mut out_len = out.len();
        // SAFETY: `out` is writable for `out_len` (the modulus size) bytes;
        // `message` is readable for its (non-zero) length.
        let ok = unsafe {
            lc::EVP_PKEY_encrypt(
                ctx.0.as_ptr(),
                out.as_mut_ptr(),
                &mut out_len,
                message.as_ptr(),
                message.len(),
            )
        } == 1;
        if !ok || out_len > out.len() {
            clear_errors();
            return None;
        }
        out.truncate(out_len);
        Some(out)
    }
}

/// Drop this thread's AWS-LC error queue after an expected failure.
fn clear_errors() {
    // SAFETY: no arguments; touches only thread-local state.
    unsafe { lc::ERR_clear_error() }
}

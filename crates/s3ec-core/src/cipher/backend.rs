//! The backend seam: what the streaming AES-256-GCM code runs against.
//!
//! [`GcmBackend`] is a small trait with one associated type per streaming
//! state. It is shaped so that a fused AES-GCM implementation (for example
//! AWS-LC's streaming `EVP` AES-GCM, plugged in from a `std` crate) can
//! implement it directly, while the core keeps every check that matters for
//! S3EC (all-zero IV, the GCM length limit, constant-time tag comparison
//! through [`subtle::Choice`], "verify before release") in the generic layer
//! above it ([`super::gcm`]).
//!
//! The default backend, [`RustCrypto`], is a zero-sized type built from
//! `aes::Aes256` (and `Aes128` / `Aes192` for the 128/192-bit data keys of
//! legacy V1/V2 objects; AES-NI / ARMv8 detected at run time),
//! `ctr::Ctr32BE` and `ghash::GHash`. It processes whole blocks in bulk and carries at most one
//! partial 16-byte block between calls, so any split of the input gives the
//! same result.
//!
//! # Contract for implementors
//!
//! * All states are streaming: `update` accepts slices of any length
//!   (including zero) and the result must not depend on how the input was
//!   split.
//! * Keys are 32 bytes (AES-256, everything this project writes); a backend
//!   should also take 16 and 24 (AES-128/192: V1/V2 objects whose writer
//!   chose a smaller data key, as PHP can) and must refuse other lengths with
//!   [`InputError::KeyLength`](crate::InputError::KeyLength).
//! * The IV is always 12 bytes: `J0 = IV || 00 00 00 01`, the first content
//!   block uses counter 2 (NIST SP 800-38D, 96-bit IV case).
//! * Length limits are enforced by the caller (`GcmEncryptor` and friends
//!   never feed more than `2^36 - 32` bytes); a backend may still fail with
//!   [`Error::LimitExceeded`].
//! * The tag comparison in `finish` must be constant time.
//! * Key material held by `Key` and the states should be zeroized on drop.

use aes::cipher::{
    BlockCipherEncrypt, InnerIvInit, KeyInit, StreamCipher, StreamCipherCoreWrapper,
};
use aes::{Aes128, Aes192, Aes256};
use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroize;

use crate::error::Error;
use crate::suite::TAG_LEN;

/// A streaming AES-256-GCM encryption state (in place).
pub trait StreamEncrypt {
    /// Encrypt `buf` in place; `buf` may have any length.
    fn update(&mut self, buf: &mut [u8]) -> Result<(), Error>;
    /// Finish and return the 16-byte tag.
    #[must_use]
    fn finish(self) -> [u8; TAG_LEN];
}

/// A streaming GHASH-only verification state: absorbs ciphertext, produces
/// no plaintext.
pub trait StreamVerify {
    /// Absorb ciphertext of any length.
    fn update(&mut self, ciphertext: &[u8]);
    /// Compare the computed tag with `tag` in constant time.
    fn finish(self, tag: &[u8; TAG_LEN]) -> Choice;
}

/// A streaming decrypt-and-authenticate state (in place). Used only by
/// [`crate::danger::UnverifiedDecryptor`]: it releases plaintext before the
/// tag is checked.
pub trait StreamDecrypt {
    /// Authenticate and decrypt `buf` in place; any length.
    fn update(&mut self, buf: &mut [u8]) -> Result<(), Error>;
    /// Compare the computed tag with `tag` in constant time.
    fn finish(self, tag: &[u8; TAG_LEN]) -> Choice;
}

/// An AES-256-GCM implementation the streaming types can run on.
///
/// All functions are associated functions: a backend is a type, usually
/// zero-sized, chosen at compile time (`GcmEncryptor<B: GcmBackend =
/// RustCrypto>`).
///
/// ```
/// use s3ec_core::cipher::backend::{GcmBackend, RustCrypto, StreamEncrypt};
/// let key = RustCrypto::expand_key(&[7u8; 32]).unwrap();
/// let mut st = RustCrypto::encrypt(&key, &[1u8; 12], b"").unwrap();
/// let mut buf = *b"hello";
/// st.update(&mut buf).unwrap();
/// let _tag = st.finish();
/// ```
pub trait GcmBackend {
    /// An expanded AES-256 key. Shared (`&`) by the CTR keystream; should be
    /// `Sync` so that [`super::gcm::Verified::decrypt_at`] can run in parallel.
    type Key;
    /// Streaming encryption state.
    type Encrypt: StreamEncrypt;
    /// Streaming GHASH-only verification state.
    type Verify: StreamVerify;
    /// Streaming decrypt-and-authenticate state.
    type Decrypt: StreamDecrypt;

    /// Expand a key: 32 bytes (AES-256), or 16 / 24 (AES-128/192) where the
    /// backend supports them; any other length is
    /// [`InputError::KeyLength`](crate::InputError::KeyLength).
    fn expand_key(key: &[u8]) -> Result<Self::Key, Error>;
    /// Start encrypting under `key`, `iv`, with `aad` (all AAD is given up front).
    fn encrypt(key: &Self::Key, iv: &[u8; 12], aad: &[u8]) -> Result<Self::Encrypt, Error>;
    /// Start a GHASH-only verification of a ciphertext.
    fn verify(key: &Self::Key, iv: &[u8; 12], aad: &[u8]) -> Result<Self::Verify, Error>;
    /// Start a streaming decryption with delayed authentication.
    fn decrypt(key: &Self::Key, iv: &[u8; 12], aad: &[u8]) -> Result<Self::Decrypt, Error>;
    /// XOR the AES-CTR keystream into `buf`, starting with the counter block
    /// `iv || BE32(counter)` for the first 16 bytes of `buf` and incrementing
    /// the low 32 bits (`inc32`) per block. `buf` may have any length; the
    /// caller guarantees the counter does not wrap.
    fn apply_keystream(
        key: &Self::Key,
        iv: &[u8; 12],
        counter: u32,
        buf: &mut [u8],
    ) -> Result<(), Error>;

    /// Authenticated decryption of a whole ciphertext held in `buf`, in
    /// place: on `Choice(1)` `buf` holds the plaintext; on `Choice(0)` (tag
    /// mismatch) `buf` MUST hold the ciphertext it was given, and on `Err`
    /// it MUST NOT hold plaintext of a ciphertext whose tag was not checked
    /// (zeros are fine).
    ///
    /// The provided implementation takes two passes and never creates
    /// plaintext before the tag is checked: GHASH over `buf` through
    /// [`verify`](Self::verify), then, only if the tag matches, the
    /// keystream from counter 2. A backend with a fused kernel may override
    /// it with one pass (decrypt while authenticating, then undo the
    /// keystream if the tag is wrong); the plaintext then exists only inside
    /// this call. The caller ([`super::gcm::open_in_place_with`]) has
    /// already checked the IV, the AAD and the length limit.
    ///
    /// Spec `client.md` §Delayed Authentication: with delayed
    /// authentication off (the default) the client MUST NOT release
    /// plaintext from a stream that has not been authenticated; this
    /// contract is how a one-pass backend keeps that rule.
    fn open_in_place(
        key: &Self::Key,
        iv: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<Choice, Error> {
        let mut v = Self::verify(key, iv, aad)?;
        v.update(buf);
        let ok = v.finish(tag);
        // The verdict is public from here on (the caller reports it).
        if bool::from(ok) && !buf.is_empty() {
            Self::apply_keystream(key, iv, 2, buf)?;
        }
        Ok(ok)
    }
}

/// The default, pure-Rust backend: RustCrypto `aes` + `ctr` + `ghash`.
///
/// AES uses AES-NI (x86) or the ARMv8 crypto extensions when the CPU has
/// them (detected at run time) and a constant-time bitsliced fallback
/// otherwise; GHASH likewise uses CLMUL/PMULL when available.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RustCrypto;

/// [`RustCrypto`]'s expanded key.
///
/// Note: the round keys inside `aes::Aes256` are wiped on drop only when the
/// `aes` crate's `zeroize` feature is enabled.
#[derive(Clone)]
pub struct RustCryptoKey(AnyAes);

/// An expanded AES key of any of the three sizes.
#[derive(Clone)]
enum AnyAes {
    A128(Aes128),
    A192(Aes192),
    A256(Aes256),
}

impl AnyAes {
    fn new(key: &[u8]) -> Result<AnyAes, Error> {
        let bad = |_| Error::from(crate::InputError::KeyLength { actual: key.len() });
        Ok(match key.len() {
            16 => AnyAes::A128(Aes128::new_from_slice(key).map_err(bad)?),
            24 => AnyAes::A192(Aes192::new_from_slice(key).map_err(bad)?),
            32 => AnyAes::A256(Aes256::new_from_slice(key).map_err(bad)?),
            n => return Err(crate::InputError::KeyLength { actual: n }.into()),
        })
    }

    fn encrypt_block(&self, block: &mut aes::Block) {
        match self {
            AnyAes::A128(a) => a.encrypt_block(block),
            AnyAes::A192(a) => a.encrypt_block(block),
            AnyAes::A256(a) => a.encrypt_block(block),
        }
    }

    /// A CTR keystream from counter block `block`, owning a copy of the key
    /// schedule.
    fn ctr(&self, block: [u8; 16]) -> AnyCtr {
        let b = block.into();
        match self {
            AnyAes::A128(a) => AnyCtr::A128(StreamCipherCoreWrapper::from_core(
                CtrCore::inner_iv_init(a.clone(), &b),
            )),
            AnyAes::A192(a) => AnyCtr::A192(StreamCipherCoreWrapper::from_core(
                CtrCore::inner_iv_init(a.clone(), &b),
            )),
            AnyAes::A256(a) => AnyCtr::A256(StreamCipherCoreWrapper::from_core(
                CtrCore::inner_iv_init(a.clone(), &b),
            )),
        }
    }

    /// XOR the keystream from counter block `block` into `buf`, borrowing
    /// the key schedule.
    fn xor_keystream(&self, block: [u8; 16], buf: &mut [u8]) -> Result<(), Error> {
        let b = block.into();
        let r = match self {
            AnyAes::A128(a) => {
                StreamCipherCoreWrapper::from_core(CtrCore::<&Aes128>::inner_iv_init(a, &b))
                    .try_apply_keystream(buf)
            }
            AnyAes::A192(a) => {
                StreamCipherCoreWrapper::from_core(CtrCore::<&Aes192>::inner_iv_init(a, &b))
                    .try_apply_keystream(buf)
            }
            AnyAes::A256(a) => {
                StreamCipherCoreWrapper::from_core(CtrCore::<&Aes256>::inner_iv_init(a, &b))
                    .try_apply_keystream(buf)
            }
        };
        r.map_err(|_| Error::LimitExceeded)
    }
}

/// A CTR keystream (GCM's `inc32` counter) of any key size.
enum AnyCtr {
    A128(ctr::Ctr32BE<Aes128>),
    A192(ctr::Ctr32BE<Aes192>),
    A256(ctr::Ctr32BE<Aes256>),
}

impl AnyCtr {
    #[inline]
    fn apply(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        let r = match self {
            AnyCtr::A128(c) => c.try_apply_keystream(buf),
            AnyCtr::A192(c) => c.try_apply_keystream(buf),
            AnyCtr::A256(c) => c.try_apply_keystream(buf),
        };
        r.map_err(|_| Error::LimitExceeded)
    }
}

impl core::fmt::Debug for RustCryptoKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RustCryptoKey(redacted)")
    }
}

type CtrCore<C> = ctr::CtrCore<C, ctr::flavors::Ctr32BE>;

/// `J0 = iv || 00 00 00 01` (NIST SP 800-38D, 96-bit IV).
fn counter_block(iv: &[u8; 12], counter: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    let (head, tail) = b.split_at_mut(12);
    head.copy_from_slice(iv);
    tail.copy_from_slice(&counter.to_be_bytes());
    b
}

/// GHASH over a stream, carrying at most one partial block between calls.
#[derive(Clone)]
struct GhashStream {
    ghash: GHash,
    partial: [u8; 16],
    partial_len: usize,
    aad_len: u64,
    ct_len: u64,
}

impl GhashStream {
    fn new(aes: &AnyAes, aad: &[u8]) -> GhashStream {
        // H = E_K(0^128)
        let mut h = ghash::Key::default();
        aes.encrypt_block(&mut h);
        let mut ghash = GHash::new(&h);
        h.as_mut_slice().zeroize();
        ghash.update_padded(aad);
        GhashStream {
            ghash,
            partial: [0; 16],
            partial_len: 0,
            aad_len: aad.len() as u64,
            ct_len: 0,
        }
    }

    #[inline]
    fn absorb(&mut self, mut data: &[u8]) {
        self.ct_len = self.ct_len.wrapping_add(data.len() as u64);
        if self.partial_len != 0 {
            let take = (16 - self.partial_len).min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(dst) = self
                .partial
                .get_mut(self.partial_len..self.partial_len + take)
            {
                dst.copy_from_slice(head);
            }
            self.partial_len += take;
            data = rest;
            if self.partial_len < 16 {
                return;
            }
            self.ghash.update(&[ghash::Block::from(self.partial)]);
            self.partial_len = 0;
        }
        let aligned = data.len() - data.len() % 16;
        let (blocks, tail) = data.split_at(aligned);
        if !blocks.is_empty() {
            // Block-aligned: `update_padded` adds no padding here and hands
            // the whole slice to the backend in one call.
            self.ghash.update_padded(blocks);
        }
        if let Some(dst) = self.partial.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
        }
        self.partial_len = tail.len();
    }

    fn finish(mut self, mask: &[u8; 16]) -> [u8; TAG_LEN] {
        if let Some(p) = self.partial.get(..self.partial_len) {
            if !p.is_empty() {
                self.ghash.update_padded(p);
            }
        }
        let mut lens = [0u8; 16];
        let (a, c) = lens.split_at_mut(8);
        a.copy_from_slice(&self.aad_len.wrapping_mul(8).to_be_bytes());
        c.copy_from_slice(&self.ct_len.wrapping_mul(8).to_be_bytes());
        self.ghash.update(&[ghash::Block::from(lens)]);
        let s = self.ghash.finalize();
        let mut tag = [0u8; TAG_LEN];
        for ((t, s), m) in tag.iter_mut().zip(s.iter()).zip(mask.iter()) {
            *t = s ^ m;
        }
        tag
    }
}

/// The CTR keystream positioned at counter 2, and the tag mask `E_K(J0)`.
fn ctr_and_mask(aes: &AnyAes, iv: &[u8; 12]) -> Result<(AnyCtr, [u8; 16]), Error> {
    let mut ctr = aes.ctr(counter_block(iv, 1));
    let mut mask = [0u8; 16];
    ctr.apply(&mut mask)?;
    Ok((ctr, mask))
}

/// [`RustCrypto`]'s encryption state.
pub struct RustCryptoEncrypt {
    ctr: AnyCtr,
    ghash: GhashStream,
    mask: [u8; 16],
}

/// [`RustCrypto`]'s GHASH-only verification state.
pub struct RustCryptoVerify {
    ghash: GhashStream,
    mask: [u8; 16],
}

/// [`RustCrypto`]'s decrypt-and-authenticate state.
pub struct RustCryptoDecrypt {
    ctr: AnyCtr,
    ghash: GhashStream,
    mask: [u8; 16],
}

impl Drop for RustCryptoEncrypt {
    fn drop(&mut self) {
        self.mask.zeroize();
    }
}
impl Drop for RustCryptoVerify {
    fn drop(&mut self) {
        self.mask.zeroize();
    }
}
impl Drop for RustCryptoDecrypt {
    fn drop(&mut self) {
        self.mask.zeroize();
    }
}

impl StreamEncrypt for RustCryptoEncrypt {
    #[inline]
    fn update(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        self.ctr.apply(buf)?;
        self.ghash.absorb(buf);
        Ok(())
    }

    fn finish(self) -> [u8; TAG_LEN] {
        // `Drop` forbids moving fields out; GHASH state is small to clone.
        self.ghash.clone().finish(&self.mask)
    }
}

impl StreamVerify for RustCryptoVerify {
    #[inline]
    fn update(&mut self, ciphertext: &[u8]) {
        self.ghash.absorb(ciphertext);
    }

    fn finish(self, tag: &[u8; TAG_LEN]) -> Choice {
        let mut computed = self.ghash.clone().finish(&self.mask);
        let ok = computed.ct_eq(tag);
        computed.zeroize();
        ok
    }
}

impl StreamDecrypt for RustCryptoDecrypt {
    #[inline]
    fn update(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        self.ghash.absorb(buf);
        self.ctr.apply(buf)
    }

    fn finish(self, tag: &[u8; TAG_LEN]) -> Choice {
        let mut computed = self.ghash.clone().finish(&self.mask);
        let ok = computed.ct_eq(tag);
        computed.zeroize();
        ok
    }
}

impl GcmBackend for RustCrypto {
    type Key = RustCryptoKey;
    type Encrypt = RustCryptoEncrypt;
    type Verify = RustCryptoVerify;
    type Decrypt = RustCryptoDecrypt;

    fn expand_key(key: &[u8]) -> Result<RustCryptoKey, Error> {
        AnyAes::new(key).map(RustCryptoKey)
    }

    fn encrypt(key: &RustCryptoKey, iv: &[u8; 12], aad: &[u8]) -> Result<Self::Encrypt, Error> {
        let (ctr, mask) = ctr_and_mask(&key.0, iv)?;
        Ok(RustCryptoEncrypt {
            ctr,
            ghash: GhashStream::new(&key.0, aad),
            mask,
        })
    }

    fn verify(key: &RustCryptoKey, iv: &[u8; 12], aad: &[u8]) -> Result<Self::Verify, Error> {
        let mut mask = counter_block(iv, 1).into();
        key.0.encrypt_block(&mut mask);
        let mask: [u8; 16] = mask.into();
        Ok(RustCryptoVerify {
            ghash: GhashStream::new(&key.0, aad),
            mask,
        })
    }

    fn decrypt(key: &RustCryptoKey, iv: &[u8; 12], aad: &[u8]) -> Result<Self::Decrypt, Error> {
        let (ctr, mask) = ctr_and_mask(&key.0, iv)?;
        Ok(RustCryptoDecrypt {
            ctr,
            ghash: GhashStream::new(&key.0, aad),
            mask,
        })
    }

    #[inline]
    fn apply_keystream(
        key: &RustCryptoKey,
        iv: &[u8; 12],
        counter: u32,
        buf: &mut [u8],
    ) -> Result<(), Error> {
        key.0.xor_keystream(counter_block(iv, counter), buf)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ghash_stream_split_invariant() {
        let aes = AnyAes::new(&[3u8; 32]).unwrap();
        let data: std::vec::Vec<u8> = (0..100u8).collect();
        let mut one = GhashStream::new(&aes, b"aad");
        one.absorb(&data);
        let want = one.finish(&[0; 16]);
        for split in [0usize, 1, 15, 16, 17, 33, 99, 100] {
            let mut s = GhashStream::new(&aes, b"aad");
            let (a, b) = data.split_at(split);
            s.absorb(a);
            s.absorb(&[]);
            s.absorb(b);
            assert_eq!(s.finish(&[0; 16]), want, "split {split}");
        }
    }

    #[test]
    fn keystream_counter_matches_stream() {
        let key = RustCrypto::expand_key(&[9u8; 32]).unwrap();
        let iv = [5u8; 12];
        let mut a = [0u8; 64];
        RustCrypto::apply_keystream(&key, &iv, 2, &mut a).unwrap();
        let mut b = [0u8; 32];
        RustCrypto::apply_keystream(&key, &iv, 4, &mut b).unwrap();
        assert_eq!(&a[32..], &b[..]);
    }

    #[test]
    fn debug_is_redacted() {
        let key = RustCrypto::expand_key(&[9u8; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "RustCryptoKey(redacted)");
    }
}

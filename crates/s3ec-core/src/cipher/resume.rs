//! Resumable streaming AES-256-GCM encryption: the cipher state of a
//! multipart upload carried across processes.
//!
//! [`ResumableEncryptor`] gives the same ciphertext and tag as
//! [`GcmEncryptor`] for the same key, IV, AAD
//! and plaintext, whatever the split. In addition,
//! [`checkpoint`](ResumableEncryptor::checkpoint) saves its position (bytes
//! encrypted, the GHASH accumulator, the ciphertext bytes of an unfinished
//! block) and [`resume`](ResumableEncryptor::resume) continues from it in
//! another process, given the same content key.
//!
//! # What a checkpoint holds, and why it is sealed
//!
//! The GHASH accumulator is a polynomial in the hash key `H` whose
//! coefficients are the (public) ciphertext blocks: from it and the
//! ciphertext anyone could solve for `H` and then forge tags. So a
//! checkpoint never leaves this module in the clear: it is sealed with
//! AES-256-GCM under a key derived from the content key with HKDF-SHA512
//! (info [`CHECKPOINT_KDF_INFO`]), a fresh random nonce, and the caller's
//! associated data (e.g. the bucket, key, upload id and next part number,
//! so that a checkpoint cannot be replayed against another upload or
//! position). It holds no key material: resuming needs the content key,
//! i.e. the keyring that can unwrap the object's data key.
//!
//! # How the GHASH state is carried without exporting it
//!
//! GHASH absorbs a block `X` as `Y' = (Y ^ X) * H`. The encryptor always
//! holds back the last full block it was given, so its state is
//! `Y_{n-1}` plus the held block `X_n`; a checkpoint stores
//! `Y_{n-1} ^ X_n`. A fresh GHASH that absorbs that one value reaches
//! `Y_n` again. This needs nothing from the GHASH implementation beyond
//! `update` and `finalize`.

use core::fmt;

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::Aes256;
use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use hkdf::Hkdf;
use rand_core::TryCryptoRng;
use sha2::Sha512;
use zeroize::Zeroize;

use crate::cipher::backend::{GcmBackend, RustCrypto};
use crate::cipher::content::ContentKey;
use crate::cipher::gcm::{check_iv, ctr_at, open_in_place, GcmEncryptor};
use crate::error::{Error, FormatError, InputError};
use crate::suite::{GCM_MAX_PLAINTEXT_LEN, TAG_LEN};

/// HKDF info of the checkpoint sealing key (no salt; the content key is
/// the input key material).
pub const CHECKPOINT_KDF_INFO: &[u8] = b"s3ec resumable GCM checkpoint v1";

/// Length of a checkpoint before sealing.
const PLAIN_LEN: usize = 1 + 8 + 8 + 16 + 1 + 15;
/// Version byte of the checkpoint layout.
const VERSION: u8 = 1;
/// Length of a sealed checkpoint: nonce, sealed state, tag.
pub const SEALED_CHECKPOINT_LEN: usize = 12 + PLAIN_LEN + TAG_LEN;

/// A sealed checkpoint of a [`ResumableEncryptor`]: safe to store beside
/// the upload (it holds no key and reveals nothing about the hash key).
pub type SealedCheckpoint = [u8; SEALED_CHECKPOINT_LEN];

/// Streaming in-place AES-256-GCM encryption whose position can be saved
/// ([`checkpoint`](Self::checkpoint)) and continued in another process
/// ([`resume`](Self::resume)).
///
/// The keystream runs on backend `B`; GHASH on RustCrypto's `ghash`.
///
/// ```
/// use s3ec_core::cipher::gcm::open_in_place;
/// use s3ec_core::cipher::resume::ResumableEncryptor;
/// let (key, iv) = ([7u8; 32], [1u8; 12]);
/// let mut enc = ResumableEncryptor::new(&key, &iv, b"")?;
/// let mut part1 = b"first part, ".to_vec();
/// enc.update(&mut part1)?;
/// let saved = enc.checkpoint(&mut rand::rngs::SysRng, b"upload-1 part 2")?;
/// drop(enc);
///
/// // Later, in another process with the same key:
/// let mut enc = ResumableEncryptor::resume(&key, &iv, b"", &saved, b"upload-1 part 2")?;
/// let mut part2 = b"second part".to_vec();
/// enc.update(&mut part2)?;
/// let mut body = [part1, part2].concat();
/// body.extend_from_slice(&enc.finish());
/// let n = open_in_place(&key, &iv, b"", &mut body)?;
/// assert_eq!(&body[..n], b"first part, second part");
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub struct ResumableEncryptor<B: GcmBackend = RustCrypto> {
    key: B::Key,
    iv: [u8; 12],
    state_key: [u8; 32],
    mask: [u8; 16],
    ghash: GHash,
    held: Option<[u8; 16]>,
    partial: [u8; 16],
    partial_len: usize,
    aad_len: u64,
    len: u64,
}

impl ResumableEncryptor {
    /// Start encrypting with the default backend. Rejects an all-zero IV.
    pub fn new(key: &[u8; 32], iv: &[u8; 12], aad: &[u8]) -> Result<Self, Error> {
        Self::with_backend(key, iv, aad)
    }

    /// Continue from a sealed checkpoint with the default backend.
    pub fn resume(
        key: &[u8; 32],
        iv: &[u8; 12],
        content_aad: &[u8],
        sealed: &[u8],
        aad: &[u8],
    ) -> Result<Self, Error> {
        Self::resume_with_backend(key, iv, content_aad, sealed, aad)
    }
}

/// `H`, the tag mask and the checkpoint key.
type Setup = ([u8; 16], [u8; 16], [u8; 32]);

/// `H = E_K(0)`, the tag mask `E_K(J0)` and the checkpoint key.
fn setup(key: &[u8; 32], iv: &[u8; 12]) -> Result<Setup, Error> {
    let aes = Aes256::new(key.into());
    let mut h = aes::Block::default();
    aes.encrypt_block(&mut h);
    let mut j0 = [0u8; 16];
    j0[..12].copy_from_slice(iv);
    j0[15] = 1;
    let mut mask = aes::Block::from(j0);
    aes.encrypt_block(&mut mask);
    let mut state_key = [0u8; 32];
    Hkdf::<Sha512>::new(None, key)
        .expand(CHECKPOINT_KDF_INFO, &mut state_key)
        .map_err(|_| Error::LimitExceeded)?;
    Ok((h.into(), mask.into(), state_key))
}

impl<B: GcmBackend> ResumableEncryptor<B> {
    fn blank(key: &[u8; 32], iv: &[u8; 12], aad_len: u64) -> Result<Self, Error> {
        check_iv(iv)?;
        let (mut h, mask, state_key) = setup(key, iv)?;
        let ghash = GHash::new(&ghash::Key::from(h));
        h.zeroize();
        Ok(ResumableEncryptor {
            key: B::expand_key(key)?,
            iv: *iv,
            state_key,
            mask,
            ghash,
            held: None,
            partial: [0; 16],
            partial_len: 0,
            aad_len,
            len: 0,
        })
    }

    /// Start encrypting with backend `B`. Rejects an all-zero IV.
    pub fn with_backend(key: &[u8; 32], iv: &[u8; 12], aad: &[u8]) -> Result<Self, Error> {
        let mut e = Self::blank(key, iv, aad.len() as u64)?;
        let aligned = aad.len() - aad.len() % 16;
        let (blocks, tail) = aad.split_at(aligned);
        if !blocks.is_empty() {
            e.push_blocks(blocks);
        }
        if !tail.is_empty() {
            let mut last = [0u8; 16];
            last[..tail.len()].copy_from_slice(tail);
            e.push_blocks(&last);
        }
        Ok(e)
    }

    /// Absorb whole blocks, holding back the last one.
    fn push_blocks(&mut self, blocks: &[u8]) {
        let Some(split) = blocks.len().checked_sub(16) else {
            return;
        };
        if let Some(h) = self.held.take() {
            self.ghash.update(&[h.into()]);
        }
        let (bulk, last) = blocks.split_at(split);
        if !bulk.is_empty() {
            self.ghash.update_padded(bulk);
        }
        let mut l = [0u8; 16];
        l.copy_from_slice(last);
        self.held = Some(l);
    }

    fn absorb(&mut self, mut data: &[u8]) {
        if self.partial_len != 0 {
            let take = (16 - self.partial_len).min(data.len());
            let (head, rest) = data.split_at(take);
            self.partial[self.partial_len..self.partial_len + take].copy_from_slice(head);
            self.partial_len += take;
            data = rest;
            if self.partial_len < 16 {
                return;
            }
            let block = self.partial;
            self.push_blocks(&block);
            self.partial_len = 0;
        }
        let aligned = data.len() - data.len() % 16;
        let (blocks, tail) = data.split_at(aligned);
        self.push_blocks(blocks);
        self.partial[..tail.len()].copy_from_slice(tail);
        self.partial_len = tail.len();
    }

    /// Encrypt `buf` in place. Fails with [`Error::LimitExceeded`] (state
    /// untouched) past GCM's `2^36 - 32` bytes.
    pub fn update(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        let total = u64::try_from(buf.len())
            .ok()
            .and_then(|n| self.len.checked_add(n))
            .filter(|t| *t <= GCM_MAX_PLAINTEXT_LEN)
            .ok_or(Error::LimitExceeded)?;
        ctr_at::<B>(&self.key, &self.iv, self.len, buf)?;
        self.absorb(buf);
        self.len = total;
        Ok(())
    }

    /// Bytes encrypted so far.
    pub fn processed(&self) -> u64 {
        self.len
    }

    /// Seal the current position with a fresh nonce from `rng`, bound to
    /// `aad` (which [`resume`](Self::resume) must be given again).
    pub fn checkpoint<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        aad: &[u8],
    ) -> Result<SealedCheckpoint, Error> {
        let mut y: [u8; 16] = self.ghash.clone().finalize().into();
        if let Some(h) = &self.held {
            for (a, b) in y.iter_mut().zip(h) {
                *a ^= b;
            }
        }
        let mut out = [0u8; SEALED_CHECKPOINT_LEN];
        let (nonce, rest) = out.split_at_mut(12);
        let (body, tag) = rest.split_at_mut(PLAIN_LEN);
        body[0] = VERSION;
        body[1..9].copy_from_slice(&self.len.to_be_bytes());
        body[9..17].copy_from_slice(&self.aad_len.to_be_bytes());
        body[17..33].copy_from_slice(&y);
        y.zeroize();
        // partial_len < 16 between calls: a full block is pushed at once.
        body[33] = self.partial_len as u8;
        body[34..34 + self.partial_len].copy_from_slice(&self.partial[..self.partial_len]);
        loop {
            rng.try_fill_bytes(nonce).map_err(|_| Error::Rng)?;
            if nonce.iter().any(|b| *b != 0) {
                break;
            }
        }
        let mut n = [0u8; 12];
        n.copy_from_slice(nonce);
        let mut enc = GcmEncryptor::<RustCrypto>::with_backend(&self.state_key, &n, aad)?;
        enc.update(body)?;
        tag.copy_from_slice(&enc.finish());
        Ok(out)
    }

    /// Continue from `sealed` (made by [`checkpoint`](Self::checkpoint)
    /// under the same key, IV and `aad`). A checkpoint that was altered, or
    /// is given with another key or `aad`, fails with
    /// [`Error::Authentication`]; one whose content AAD length differs from
    /// `content_aad`'s with [`FormatError::InvalidCombination`].
    pub fn resume_with_backend(
        key: &[u8; 32],
        iv: &[u8; 12],
        content_aad: &[u8],
        sealed: &[u8],
        aad: &[u8],
    ) -> Result<Self, Error> {
        if sealed.len() != SEALED_CHECKPOINT_LEN {
            return Err(InputError::Truncated.into());
        }
        let mut e = Self::blank(key, iv, content_aad.len() as u64)?;
        let mut n = [0u8; 12];
        n.copy_from_slice(&sealed[..12]);
        let mut body = [0u8; PLAIN_LEN + TAG_LEN];
        body.copy_from_slice(&sealed[12..]);
        let opened = open_in_place(&e.state_key, &n, aad, &mut body);
        let result = opened.and_then(|_| e.load(&body[..PLAIN_LEN]));
        body.zeroize();
        result.map(|()| e)
    }

    fn load(&mut self, body: &[u8]) -> Result<(), Error> {
        let bad = || Error::from(FormatError::InvalidCombination);
        if body.first() != Some(&VERSION) {
            return Err(bad());
        }
        let mut n = [0u8; 8];
        n.copy_from_slice(&body[1..9]);
        let len = u64::from_be_bytes(n);
        n.copy_from_slice(&body[9..17]);
        let aad_len = u64::from_be_bytes(n);
        let partial_len = usize::from(body[33]);
        if aad_len != self.aad_len || len > GCM_MAX_PLAINTEXT_LEN || partial_len as u64 != len % 16
        {
            return Err(bad());
        }
        let mut y = [0u8; 16];
        y.copy_from_slice(&body[17..33]);
        // A fresh GHASH absorbing `y` reaches the saved accumulator.
        self.held = Some(y);
        y.zeroize();
        self.partial[..partial_len].copy_from_slice(&body[34..34 + partial_len]);
        self.partial_len = partial_len;
        self.len = len;
        Ok(())
    }

    /// Finish and return the 16-byte tag to append to the ciphertext.
    #[must_use = "the tag must be appended to the ciphertext"]
    pub fn finish(mut self) -> [u8; TAG_LEN] {
        if let Some(h) = self.held.take() {
            self.ghash.update(&[h.into()]);
        }
        if self.partial_len != 0 {
            self.ghash.update_padded(&self.partial[..self.partial_len]);
        }
        let mut lens = [0u8; 16];
        lens[..8].copy_from_slice(&self.aad_len.wrapping_mul(8).to_be_bytes());
        lens[8..].copy_from_slice(&self.len.wrapping_mul(8).to_be_bytes());
        self.ghash.update(&[lens.into()]);
        let s = self.ghash.clone().finalize();
        let mut tag = [0u8; TAG_LEN];
        for ((t, s), m) in tag.iter_mut().zip(s.iter()).zip(self.mask.iter()) {
            *t = s ^ m;
        }
        tag
    }
}

impl<B: GcmBackend> Drop for ResumableEncryptor<B> {
    fn drop(&mut self) {
        self.state_key.zeroize();
        self.mask.zeroize();
        if let Some(h) = self.held.as_mut() {
            h.zeroize();
        }
    }
}

impl<B: GcmBackend> fmt::Debug for ResumableEncryptor<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResumableEncryptor")
            .field("processed", &self.len)
            .finish_non_exhaustive()
    }
}

/// A content key's 256-bit key, IV and AAD.
type EncryptParts = ([u8; 32], [u8; 12], &'static [u8]);

impl ContentKey {
    /// The 256-bit key, IV and AAD for encryption.
    fn encrypt_parts(&self) -> Result<EncryptParts, Error> {
        let p = self.gcm_parts()?;
        let key: [u8; 32] = p.key.try_into().map_err(|_| InputError::KeyLength {
            actual: p.key.len(),
        })?;
        Ok((key, p.iv, p.aad))
    }

    /// A [`ResumableEncryptor`] at the start of this key's content (the
    /// envelope of a new object: 256-bit GCM suites only).
    pub fn resumable_encryptor<B: GcmBackend>(&self) -> Result<ResumableEncryptor<B>, Error> {
        let (mut key, iv, aad) = self.encrypt_parts()?;
        let r = ResumableEncryptor::with_backend(&key, &iv, aad);
        key.zeroize();
        r
    }

    /// Continue this key's content from a sealed checkpoint.
    pub fn resume_encryptor<B: GcmBackend>(
        &self,
        sealed: &[u8],
        aad: &[u8],
    ) -> Result<ResumableEncryptor<B>, Error> {
        let (mut key, iv, content_aad) = self.encrypt_parts()?;
        let r = ResumableEncryptor::resume_with_backend(&key, &iv, content_aad, sealed, aad);
        key.zeroize();
        r
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;
    use std::format;
    use std::vec::Vec;

    fn reference(key: &[u8; 32], iv: &[u8; 12], aad: &[u8], pt: &[u8]) -> Vec<u8> {
        let mut buf = pt.to_vec();
        let mut enc = GcmEncryptor::new(key, iv, aad).unwrap();
        enc.update(&mut buf).unwrap();
        buf.extend_from_slice(&enc.finish());
        buf
    }

    proptest! {
        #[test]
        fn same_bytes_across_checkpoints(
            pt in proptest::collection::vec(any::<u8>(), 0..300),
            aad in proptest::collection::vec(any::<u8>(), 0..40),
            cuts in proptest::collection::vec(0usize..300, 0..6),
        ) {
            let (key, iv) = ([3u8; 32], [9u8; 12]);
            let want = reference(&key, &iv, &aad, &pt);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(pt.len())).collect();
            cuts.sort_unstable();
            let mut enc = ResumableEncryptor::new(&key, &iv, &aad).unwrap();
            let mut out = Vec::new();
            let mut at = 0;
            for (i, c) in cuts.iter().chain(Some(&pt.len())).enumerate() {
                let mut part = pt[at..*c].to_vec();
                enc.update(&mut part).unwrap();
                out.extend_from_slice(&part);
                at = *c;
                let ctx = [i as u8];
                let saved = enc.checkpoint(&mut rand::rngs::SysRng, &ctx).unwrap();
                enc = ResumableEncryptor::resume(&key, &iv, &aad, &saved, &ctx).unwrap();
            }
            out.extend_from_slice(&enc.finish());
            prop_assert_eq!(out, want);
        }
    }

    #[test]
    fn checkpoint_is_bound_and_sealed() {
        let (key, iv) = ([5u8; 32], [1u8; 12]);
        let mut enc = ResumableEncryptor::new(&key, &iv, b"").unwrap();
        let mut data = vec![0u8; 100];
        enc.update(&mut data).unwrap();
        let saved = enc.checkpoint(&mut rand::rngs::SysRng, b"part 2").unwrap();
        // Another aad, another key, a flipped bit: refused.
        let err = |r: Result<ResumableEncryptor, Error>| r.unwrap_err();
        assert_eq!(
            err(ResumableEncryptor::resume(
                &key, &iv, b"", &saved, b"part 3"
            )),
            Error::Authentication
        );
        assert_eq!(
            err(ResumableEncryptor::resume(
                &[6u8; 32], &iv, b"", &saved, b"part 2"
            )),
            Error::Authentication
        );
        let mut bad = saved;
        bad[20] ^= 1;
        assert_eq!(
            err(ResumableEncryptor::resume(&key, &iv, b"", &bad, b"part 2")),
            Error::Authentication
        );
        // Another content AAD length.
        assert!(ResumableEncryptor::resume(&key, &iv, b"xx", &saved, b"part 2").is_err());
        // Truncated.
        assert!(ResumableEncryptor::resume(&key, &iv, b"", &saved[..40], b"part 2").is_err());
        // The GHASH accumulator is not in the clear.
        let y: [u8; 16] = enc.ghash.clone().finalize().into();
        assert!(!saved.windows(16).any(|w| w == y));
        assert!(format!("{enc:?}").contains("processed"));
    }
}

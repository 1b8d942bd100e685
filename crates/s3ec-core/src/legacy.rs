//! Legacy AES-CBC content decryption (suite `0x0070`,
//! `ALG_AES_256_CBC_IV16_NO_KDF`), for reading V1 objects.
//!
//! **CBC is unauthenticated.** Anyone who can write to the bucket can alter
//! the plaintext undetected, and an oracle that reveals whether padding was
//! valid decrypts objects (CVE-2020-8911). This module therefore:
//!
//! * only decrypts (spec `s3-encryption/encryption.md`: CBC encryption is
//!   not supported);
//! * reports *every* failure of the ciphertext — wrong length, empty body,
//!   bad padding — as the same opaque [`Error::Authentication`], after a
//!   constant-time padding check;
//! * leaves the decision to decrypt CBC at all to the client, which MUST
//!   refuse unless legacy unauthenticated modes are enabled (spec
//!   `s3-encryption/decryption.md` §Legacy Decryption).
//!
//! Keys of 16, 24 or 32 bytes select AES-128/192/256 (older writers used
//! shorter data keys); the IV is 16 bytes. Padding is PKCS#7 on 16-byte
//! blocks (spec `decryption.md` §CBC Decryption: PKCS5/PKCS7-compatible).

use core::fmt;

use aes::cipher::inout::InOutBuf;
use aes::cipher::{BlockModeDecrypt, KeyIvInit};
use aes::{Aes128, Aes192, Aes256};
use subtle::{Choice, ConstantTimeEq, ConstantTimeGreater};

use crate::error::{Error, InputError};

const BLOCK: usize = 16;

enum Inner {
    A128(cbc::Decryptor<Aes128>),
    A192(cbc::Decryptor<Aes192>),
    A256(cbc::Decryptor<Aes256>),
}

impl Inner {
    // spec: decryption.md#cbc-decryption/2-3 (AES-CBC with PKCS#7 unpadding; a key it cannot take fails the decryption)
    fn new(key: &[u8], iv: &[u8; 16]) -> Result<Inner, Error> {
        let bad = |_| Error::from(InputError::KeyLength { actual: key.len() });
        Ok(match key.len() {
            16 => Inner::A128(cbc::Decryptor::new_from_slices(key, iv).map_err(bad)?),
            24 => Inner::A192(cbc::Decryptor::new_from_slices(key, iv).map_err(bad)?),
            32 => Inner::A256(cbc::Decryptor::new_from_slices(key, iv).map_err(bad)?),
            n => return Err(InputError::KeyLength { actual: n }.into()),
        })
    }

    /// Decrypt whole blocks in place; `buf.len()` must be a multiple of 16
    /// (a trailing partial block is left untouched).
    fn decrypt_blocks(&mut self, buf: &mut [u8]) {
        let (blocks, _tail) = InOutBuf::from(buf).into_chunks();
        match self {
            Inner::A128(d) => d.decrypt_blocks_inout(blocks),
            Inner::A192(d) => d.decrypt_blocks_inout(blocks),
            Inner::A256(d) => d.decrypt_blocks_inout(blocks),
        }
    }
}

/// Check PKCS#7 padding of the final block in constant time; returns the
/// number of plaintext bytes in the block.
// spec: decryption.md#cbc-decryption/2 (PKCS#5/PKCS#7 padding of a 16-byte block)
fn unpad(block: &[u8; BLOCK]) -> Result<usize, Error> {
    let pad = block[BLOCK - 1];
    let mut ok: Choice = pad.ct_gt(&0) & !pad.ct_gt(&(BLOCK as u8));
    for (i, b) in block.iter().enumerate() {
        // Position counted from the end: 16 for the first byte, 1 for the last.
        let from_end = (BLOCK - i) as u8;
        let in_pad = !from_end.ct_gt(&pad);
        ok &= !in_pad | b.ct_eq(&pad);
    }
    if bool::from(ok) {
        Ok(BLOCK - usize::from(pad))
    } else {
        Err(Error::Authentication)
    }
}

/// Decrypt a whole CBC body in place and strip its padding; returns the
/// plaintext length (`buf[..n]`). Every ciphertext failure is the same
/// [`Error::Authentication`], and on failure `buf` is zeroed (no partial
/// plaintext is left behind).
///
/// ```
/// use s3ec_core::legacy::decrypt_in_place;
/// let mut body = [0u8; 15]; // not a whole number of blocks
/// assert_eq!(
///     decrypt_in_place(&[1u8; 32], &[2u8; 16], &mut body),
///     Err(s3ec_core::Error::Authentication)
/// );
/// ```
pub fn decrypt_in_place(key: &[u8], iv: &[u8; 16], buf: &mut [u8]) -> Result<usize, Error> {
    let mut inner = Inner::new(key, iv)?;
    if buf.is_empty() || !buf.len().is_multiple_of(BLOCK) {
        return Err(Error::Authentication);
    }
    inner.decrypt_blocks(buf);
    let last_start = buf.len() - BLOCK;
    let mut last = [0u8; BLOCK];
    if let Some(src) = buf.get(last_start..) {
        last.copy_from_slice(src);
    }
    match unpad(&last) {
        Ok(n) => Ok(last_start + n),
        Err(e) => {
            buf.fill(0);
            Err(e)
        }
    }
}

/// Streaming CBC decryption. Holds back the last block (it carries the
/// padding) until [`finish`](Self::finish).
///
/// ```
/// use s3ec_core::legacy::CbcDecryptor;
/// # fn body() -> Vec<u8> { vec![0u8; 32] }
/// let ct = body();
/// let mut dec = CbcDecryptor::new(&[1u8; 16], &[2u8; 16])?;
/// let mut out = vec![0u8; ct.len() + 16];
/// let mut n = 0;
/// for chunk in ct.chunks(5) {
///     n += dec.update(chunk, &mut out[n..])?;
/// }
/// let mut last = [0u8; 16];
/// match dec.finish(&mut last) {
///     Ok(k) => out[n..n + k].copy_from_slice(&last[..k]),
///     Err(e) => assert_eq!(e, s3ec_core::Error::Authentication), // random bytes: bad padding
/// }
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub struct CbcDecryptor {
    inner: Inner,
    /// Ciphertext not yet decrypted: `1..=16` bytes once any input arrived.
    carry: [u8; BLOCK],
    carry_len: usize,
}

impl CbcDecryptor {
    /// Start decrypting with a 16, 24 or 32-byte key and a 16-byte IV.
    pub fn new(key: &[u8], iv: &[u8; 16]) -> Result<CbcDecryptor, Error> {
        Ok(CbcDecryptor {
            inner: Inner::new(key, iv)?,
            carry: [0; BLOCK],
            carry_len: 0,
        })
    }

    /// Feed ciphertext; writes the plaintext that is certain (whole blocks,
    /// never the last one) to the start of `output` and returns its length.
    /// `output` of `input.len() + 16` bytes always suffices; a shorter one
    /// that cannot hold the result gives [`Error::BufferTooSmall`] (which
    /// depends only on lengths, never on the data) and consumes nothing.
    pub fn update(&mut self, input: &[u8], output: &mut [u8]) -> Result<usize, Error> {
        let total = self.carry_len + input.len();
        if total <= BLOCK {
            if let Some(dst) = self.carry.get_mut(self.carry_len..total) {
                dst.copy_from_slice(input);
            }
            self.carry_len = total;
            return Ok(0);
        }
        // Keep back the trailing partial block, or the last whole block.
        let keep = match total % BLOCK {
            0 => BLOCK,
            r => r,
        };
        let out_len = total - keep;
        // out_len >= 16 >= carry_len, and keep <= input.len().
        let from_input = out_len - self.carry_len;
        let out = output
            .get_mut(..out_len)
            .ok_or(Error::BufferTooSmall { needed: out_len })?;
        let (o_carry, o_input) = out.split_at_mut(self.carry_len);
        if let Some(c) = self.carry.get(..self.carry_len) {
            o_carry.copy_from_slice(c);
        }
        let (use_now, keep_back) = input.split_at(from_input);
        o_input.copy_from_slice(use_now);
        self.inner.decrypt_blocks(out);
        if let Some(dst) = self.carry.get_mut(..keep_back.len()) {
            dst.copy_from_slice(keep_back);
        }
        self.carry_len = keep_back.len();
        Ok(out_len)
    }

    /// Decrypt the held-back last block, check and strip the padding, and
    /// write the remaining `0..=15` plaintext bytes to `out`, returning how
    /// many. A body that is empty or not a whole number of blocks, or has
    /// bad padding, gives the same opaque [`Error::Authentication`].
    pub fn finish(mut self, out: &mut [u8; BLOCK]) -> Result<usize, Error> {
        if self.carry_len != BLOCK {
            return Err(Error::Authentication);
        }
        let mut block = self.carry;
        self.inner.decrypt_blocks(&mut block);
        let n = unpad(&block)?;
        out.fill(0);
        if let (Some(dst), Some(src)) = (out.get_mut(..n), block.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(n)
    }
}

impl fmt::Debug for CbcDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CbcDecryptor").finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn unpad_cases() {
        // spec: decryption.md#cbc-decryption/2
        let mut b = [0u8; 16];
        assert!(unpad(&b).is_err());
        b[15] = 1;
        assert_eq!(unpad(&b), Ok(15));
        b[15] = 17;
        assert!(unpad(&b).is_err());
        let b = [16u8; 16];
        assert_eq!(unpad(&b), Ok(0));
        let mut b = [3u8; 16];
        b[13] = 2;
        assert!(unpad(&b).is_err());
        b[13] = 3;
        b[12] = 9;
        assert_eq!(unpad(&b), Ok(13));
    }

    #[test]
    fn key_lengths() {
        // spec: decryption.md#cbc-decryption/3
        for n in [16, 24, 32] {
            assert!(CbcDecryptor::new(&vec![1; n], &[0; 16]).is_ok());
        }
        assert_eq!(
            CbcDecryptor::new(&[1; 20], &[0; 16]).map(|_| ()),
            Err(InputError::KeyLength { actual: 20 }.into())
        );
    }

    #[test]
    fn empty_and_partial_are_opaque() {
        let d = CbcDecryptor::new(&[1; 16], &[0; 16]).unwrap();
        assert_eq!(d.finish(&mut [0; 16]), Err(Error::Authentication));
        let mut d = CbcDecryptor::new(&[1; 16], &[0; 16]).unwrap();
        let mut out = [0u8; 64];
        assert_eq!(d.update(&[0; 20], &mut out), Ok(16));
        assert_eq!(d.finish(&mut [0; 16]), Err(Error::Authentication));
        assert_eq!(
            decrypt_in_place(&[1; 16], &[0; 16], &mut []),
            Err(Error::Authentication)
        );
    }

    #[test]
    fn output_too_small_consumes_nothing() {
        let mut d = CbcDecryptor::new(&[1; 16], &[0; 16]).unwrap();
        let mut out = [0u8; 8];
        assert_eq!(
            d.update(&[0; 40], &mut out),
            Err(Error::BufferTooSmall { needed: 32 })
        );
        assert_eq!(d.carry_len, 0);
    }
}

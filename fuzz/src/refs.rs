//! Reference implementations from other crates, for differential checks.

use aes::cipher::BlockDecrypt;
use aes_gcm::aead::{AeadInPlace, KeyInit as _};
use aes_gcm::{AesGcm, Nonce, Tag};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};

/// AES-256-GCM one shot: returns (ciphertext, tag).
pub fn gcm256_seal(key: &[u8; 32], iv: &[u8; 12], aad: &[u8], pt: &[u8]) -> (Vec<u8>, [u8; 16]) {
    let c = aes_gcm::Aes256Gcm::new(key.into());
    let mut buf = pt.to_vec();
    let tag = c
        .encrypt_in_place_detached(Nonce::from_slice(iv), aad, &mut buf)
        .expect("aes-gcm encrypts");
    (buf, tag.into())
}

/// AES-GCM (128/192/256-bit key) one-shot open of `ct` with `tag`.
pub fn gcm_open(key: &[u8], iv: &[u8; 12], aad: &[u8], ct: &[u8], tag: &[u8; 16]) -> Option<Vec<u8>> {
    let mut buf = ct.to_vec();
    let nonce = Nonce::from_slice(iv);
    let tag = Tag::from_slice(tag);
    let ok = match key.len() {
        16 => aes_gcm::Aes128Gcm::new_from_slice(key)
            .ok()?
            .decrypt_in_place_detached(nonce, aad, &mut buf, tag),
        24 => AesGcm::<aes::Aes192, aes_gcm::aead::consts::U12>::new_from_slice(key)
            .ok()?
            .decrypt_in_place_detached(nonce, aad, &mut buf, tag),
        32 => aes_gcm::Aes256Gcm::new_from_slice(key)
            .ok()?
            .decrypt_in_place_detached(nonce, aad, &mut buf, tag),
        _ => return None,
    };
    ok.ok().map(|()| buf)
}

/// AES-CBC with PKCS#7 padding (cbc crate).
pub fn cbc_decrypt(key: &[u8], iv: &[u8; 16], ct: &[u8]) -> Option<Vec<u8>> {
    let mut buf = ct.to_vec();
    let n = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .ok()?
            .len(),
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .ok()?
            .len(),
        32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .ok()?
            .len(),
        _ => return None,
    };
    buf.truncate(n);
    Some(buf)
}

/// Legacy V1 AES-ECB key unwrap: ECB decrypt, PKCS#7 unpad, key of
/// 16/24/32 bytes.
pub fn ecb_unwrap(kek: &[u8], edk: &[u8]) -> Option<Vec<u8>> {
    if edk.is_empty() || edk.len() % 16 != 0 {
        return None;
    }
    let mut buf = edk.to_vec();
    macro_rules! dec {
        ($c:ty) => {{
            let c = <$c>::new_from_slice(kek).ok()?;
            for b in buf.chunks_exact_mut(16) {
                c.decrypt_block(b.into());
            }
        }};
    }
    match kek.len() {
        16 => dec!(aes::Aes128),
        24 => dec!(aes::Aes192),
        32 => dec!(aes::Aes256),
        _ => return None,
    }
    let pad = *buf.last()? as usize;
    if pad == 0 || pad > 16 || buf[buf.len() - pad..].iter().any(|&b| b as usize != pad) {
        return None;
    }
    buf.truncate(buf.len() - pad);
    matches!(buf.len(), 16 | 24 | 32).then_some(buf)
}

/// RFC 3394 AES key unwrap (aes-kw crate), keys of 16/24/32 bytes only.
pub fn kw_unwrap(kek: &[u8], edk: &[u8]) -> Option<Vec<u8>> {
    let out = match kek.len() {
        16 => aes_kw::KekAes128::new(kek.into()).unwrap_vec(edk).ok()?,
        24 => aes_kw::KekAes192::new(kek.into()).unwrap_vec(edk).ok()?,
        32 => aes_kw::KekAes256::new(kek.into()).unwrap_vec(edk).ok()?,
        _ => return None,
    };
    matches!(out.len(), 16 | 24 | 32).then_some(out)
}

//! Differential: random plaintext encrypted with random chunking through
//! `GcmEncryptor` must equal aes-gcm's one-shot ciphertext and tag; then it
//! must decrypt back through every path (one shot, verifier + decrypt_at in
//! any order, unverified streaming, ranged), fail after any single bit flip,
//! and the same for `ContentEncryption` with both suites.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use s3ec_core::cipher::{
    kdf, open_in_place, ContentEncryption, ContentKey, ContentParams, GcmEncryptor, GcmVerifier,
};
use s3ec_core::danger::{decrypt_range, UnverifiedDecryptor};
use s3ec_core::suite::COMMITTING_IV;
use s3ec_core::{DataKey, Error, InputError, Suite};
use s3ec_fuzz::refs;
use s3ec_fuzz::rng::FuzzRng;

#[derive(Debug, Arbitrary)]
struct Input {
    key: [u8; 32],
    iv: [u8; 12],
    aad: Vec<u8>,
    pt: Vec<u8>,
    enc_sizes: Vec<u8>,
    dec_sizes: Vec<u8>,
    /// Rotates the order decrypt_at visits the chunks in.
    rotate: u8,
    /// Bit to flip in ciphertext || tag || aad (mod its length in bits).
    flip: u16,
    offset: u16,
    rng: Vec<u8>,
}

fn ranges(len: usize, sizes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < len {
        let s = if sizes.is_empty() {
            len - at
        } else {
            (sizes[i % sizes.len()] as usize).min(len - at)
        };
        out.push((at, at + s));
        at += s;
        i += 1;
        // Zero-length chunks are allowed, but not endlessly many.
        if i > len + 16 {
            out.push((at, len));
            break;
        }
    }
    out
}

/// Encrypt with chunking; returns ciphertext and tag.
fn seal(enc: &mut GcmEncryptor, pt: &[u8], sizes: &[u8]) -> Vec<u8> {
    let mut buf = pt.to_vec();
    for (a, b) in ranges(buf.len(), sizes) {
        enc.update(&mut buf[a..b]).unwrap();
    }
    assert_eq!(enc.processed(), pt.len() as u64);
    buf
}

/// Every decryption path gives `pt` back from `ct || tag`.
fn open_all(key: &[u8; 32], iv: &[u8; 12], aad: &[u8], ct: &[u8], tag: &[u8; 16], pt: &[u8], inp: &Input) {
    let mut body = ct.to_vec();
    body.extend_from_slice(tag);
    let n = open_in_place(key, iv, aad, &mut body).expect("open_in_place");
    assert_eq!(&body[..n], pt);

    let mut v = GcmVerifier::new(key, iv, aad).unwrap();
    let rs = ranges(ct.len(), &inp.dec_sizes);
    for &(a, b) in &rs {
        v.update(&ct[a..b]).unwrap();
    }
    let ok = v.verify(tag).expect("verify");
    let mut out = ct.to_vec();
    let mut order = rs.clone();
    if !order.is_empty() {
        let k = inp.rotate as usize % order.len();
        order.rotate_left(k);
    }
    for (a, b) in order {
        ok.decrypt_at(a as u64, &mut out[a..b]).unwrap();
    }
    assert_eq!(out, pt);

    let mut d = UnverifiedDecryptor::new(key, iv, aad).unwrap();
    let mut out = ct.to_vec();
    for &(a, b) in &rs {
        d.update(&mut out[a..b]).unwrap();
    }
    d.finish(tag).expect("unverified finish");
    assert_eq!(out, pt);

    let off = (inp.offset as usize).min(ct.len());
    let mut part = ct[off..].to_vec();
    decrypt_range(key, iv, off as u64, &mut part).unwrap();
    assert_eq!(part, &pt[off..]);
}

/// One flipped bit anywhere (ciphertext, tag or AAD) fails every
/// authenticated path.
fn tampered(key: &[u8; 32], iv: &[u8; 12], aad: &[u8], ct: &[u8], tag: &[u8; 16], flip: u16) {
    let mut all = ct.to_vec();
    all.extend_from_slice(tag);
    let ct_tag_len = all.len();
    all.extend_from_slice(aad);
    let bit = flip as usize % (all.len() * 8);
    all[bit / 8] ^= 1 << (bit % 8);
    let (body, aad2) = all.split_at(ct_tag_len);
    let mut b = body.to_vec();
    assert_eq!(open_in_place(key, iv, aad2, &mut b), Err(Error::Authentication));
    assert_eq!(b, body, "failed open changed the body");
    let (ct2, tag2) = body.split_at(ct.len());
    let tag2: [u8; 16] = tag2.try_into().unwrap();
    let mut v = GcmVerifier::new(key, iv, aad2).unwrap();
    v.update(ct2).unwrap();
    assert!(v.verify(&tag2).is_err());
    let mut d = UnverifiedDecryptor::new(key, iv, aad2).unwrap();
    let mut x = ct2.to_vec();
    d.update(&mut x).unwrap();
    assert_eq!(d.finish(&tag2), Err(Error::Authentication));
}

fuzz_target!(|inp: Input| {
    let Input { key, iv, aad, pt, .. } = &inp;

    match GcmEncryptor::new(key, iv, aad) {
        Err(e) => {
            assert_eq!(*iv, [0u8; 12], "GcmEncryptor refused a non-zero IV: {e:?}");
            assert_eq!(e, InputError::ZeroIv.into());
        }
        Ok(mut enc) => {
            let ct = seal(&mut enc, pt, &inp.enc_sizes);
            let tag = enc.finish();
            let (rct, rtag) = refs::gcm256_seal(key, iv, aad, pt);
            assert_eq!(ct, rct, "ciphertext differs from aes-gcm");
            assert_eq!(tag, rtag, "tag differs from aes-gcm");
            open_all(key, iv, aad, &ct, &tag, pt, &inp);
            tampered(key, iv, aad, &ct, &tag, inp.flip);
        }
    }

    // Content encryption, both suites, with the key as data key.
    let dk = DataKey::from_slice(key).unwrap();
    for suite in [Suite::AesGcm, Suite::AesGcmCommitting] {
        let mut rng = FuzzRng::new(inp.rng.clone(), false);
        let ce = match ContentEncryption::new(suite, &dk, &mut rng) {
            Ok(c) => c,
            Err(e) => {
                // Only an RNG that keeps giving zeros may fail.
                assert_eq!(e, Error::Rng);
                let first = if suite == Suite::AesGcm { 12 } else { 28 };
                assert!(
                    !inp.rng.is_empty() && inp.rng.iter().cycle().take(first).all(|&b| b == 0),
                    "ContentEncryption refused a usable RNG"
                );
                continue;
            }
        };
        let (mut enc, params) = ce.into_parts();
        assert_eq!(params.suite(), suite);
        let ct = seal(&mut enc, pt, &inp.enc_sizes);
        let tag = enc.finish();
        let (ck, rkey, riv, raad): (ContentKey, [u8; 32], [u8; 12], &[u8]) = match &params {
            ContentParams::Gcm { iv } => (
                ContentKey::for_decrypt(suite, &dk, iv, None, None).unwrap(),
                *key,
                *iv,
                b"",
            ),
            ContentParams::Committing { message_id, commitment } => {
                let (dkey, c2) = kdf::derive_for_encrypt(key, message_id).unwrap();
                assert_eq!(&c2, commitment);
                (
                    ContentKey::for_decrypt(suite, &dk, &[], Some(message_id), Some(commitment))
                        .unwrap(),
                    *dkey.as_bytes(),
                    COMMITTING_IV,
                    suite.content_aad(),
                )
            }
            _ => unreachable!(),
        };
        assert_eq!(params.iv(), &riv);
        let (rct, rtag) = refs::gcm256_seal(&rkey, &riv, raad, pt);
        assert_eq!(ct, rct);
        assert_eq!(tag, rtag);
        let mut body = ct.clone();
        body.extend_from_slice(&tag);
        let n = ck.open_in_place(&mut body).unwrap();
        assert_eq!(&body[..n], &pt[..]);
        open_all(&rkey, &riv, raad, &ct, &tag, pt, &inp);
        // The V3 key with a wrong commitment never decrypts.
        if let ContentParams::Committing { message_id, commitment } = &params {
            let mut bad = *commitment;
            bad[inp.flip as usize % 28] ^= 1 << (inp.rotate % 8);
            assert_eq!(
                ContentKey::for_decrypt(suite, &dk, &[], Some(message_id), Some(&bad)).err(),
                Some(Error::Authentication)
            );
        }
    }
});

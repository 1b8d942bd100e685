//! `AwsLc` against s3ec-core's `RustCrypto` backend: identical ciphertexts
//! and tags for random keys, IVs, AADs, inputs and splits, and
//! cross-decryption both ways through every decryption path
//! (`open_in_place_with`, `GcmVerifier` + `Verified::decrypt_at`,
//! `ContentKey::verifier_with` / `open_in_place_with`,
//! `UnverifiedDecryptor::with_backend`, `decrypt_range_with`), plus tamper
//! rejection by both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use s3ec_aws_lc::AwsLc;
use s3ec_core::cipher::backend::{GcmBackend, RustCrypto};
use s3ec_core::cipher::content::{ContentEncryption, ContentKey, ContentParams};
use s3ec_core::cipher::gcm::{open_in_place_with, GcmEncryptor, GcmVerifier};
use s3ec_core::danger::{decrypt_range_with, UnverifiedDecryptor};
use s3ec_core::{DataKey, Error, Suite};

/// Cut `len` bytes into pieces whose sizes cycle through `sizes` (a zero
/// size gives an empty piece, which the backends must accept).
fn pieces(len: usize, sizes: &[usize]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut off = 0usize;
    let mut i = 0usize;
    let mut empties = 0usize;
    while off < len {
        let mut s = sizes.get(i % sizes.len().max(1)).copied().unwrap_or(1);
        i += 1;
        if s == 0 {
            if empties < 4 {
                out.push((off, 0));
                empties += 1;
                continue;
            }
            // Enough empty pieces: the rest in one (all-zero `sizes` must
            // not loop forever).
            s = len - off;
        }
        let n = s.min(len - off);
        out.push((off, n));
        off += n;
    }
    out
}

fn seal<B: GcmBackend>(
    key: &[u8; 32],
    iv: &[u8; 12],
    aad: &[u8],
    pt: &[u8],
    sizes: &[usize],
) -> Vec<u8> {
    let mut enc = GcmEncryptor::<B>::with_backend(key, iv, aad).unwrap();
    let mut body = pt.to_vec();
    for (o, n) in pieces(body.len(), sizes) {
        enc.update(&mut body[o..o + n]).unwrap();
    }
    enc.update(&mut []).unwrap();
    body.extend_from_slice(&enc.finish());
    body
}

/// Every authenticated and unauthenticated path of backend `B` on `body`:
/// the plaintext (all paths must agree) or the authenticated paths' error.
/// `key` is 32 bytes, or 16 / 24 (AES-128/192, legacy data keys).
fn open_all<B: GcmBackend>(
    key: &[u8],
    iv: &[u8; 12],
    aad: &[u8],
    body: &[u8],
    sizes: &[usize],
) -> Result<Vec<u8>, Error> {
    // One shot.
    let mut one = body.to_vec();
    let r1 = open_in_place_with::<B>(key, iv, aad, &mut one).map(|n| one[..n].to_vec());
    if r1.is_err() {
        // Nothing released: the buffer still holds the ciphertext.
        assert_eq!(one, body);
    }

    // Verifier, then decrypt_at in reverse order.
    let (ct, tag) = body.split_at(body.len() - 16);
    let tag: [u8; 16] = tag.try_into().unwrap();
    let mut v = GcmVerifier::<B>::with_backend(key, iv, aad).unwrap();
    for (o, n) in pieces(ct.len(), sizes) {
        v.update(&ct[o..o + n]).unwrap();
    }
    let r2 = v.verify(&tag).map(|ok| {
        assert_eq!(ok.len(), ct.len() as u64);
        let mut out = ct.to_vec();
        for (o, n) in pieces(ct.len(), sizes).into_iter().rev() {
            ok.decrypt_at(o as u64, &mut out[o..o + n]).unwrap();
        }
        out
    });
    assert_eq!(r1, r2);

    // Delayed authentication: same bytes released, same verdict.
    let mut d = UnverifiedDecryptor::<B>::with_backend(key, iv, aad).unwrap();
    let mut out = ct.to_vec();
    for (o, n) in pieces(out.len(), sizes) {
        d.update(&mut out[o..o + n]).unwrap();
    }
    let r3 = d.finish(&tag).map(|()| out.clone());
    assert_eq!(r1, r3);

    // Unauthenticated CTR over the whole body equals the streaming output.
    let mut ctr = ct.to_vec();
    decrypt_range_with::<B>(key, iv, 0, &mut ctr).unwrap();
    assert_eq!(ctr, out);
    r1
}

fn nonzero_iv() -> impl Strategy<Value = [u8; 12]> {
    any::<[u8; 12]>().prop_filter("non-zero IV", |iv| iv.iter().any(|&b| b != 0))
}

fn body_len() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..64, 0usize..700, 4000usize..9000]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn same_ciphertext_and_cross_decryption(
        key in any::<[u8; 32]>(),
        iv in nonzero_iv(),
        aad in proptest::collection::vec(any::<u8>(), 0..80),
        len in body_len(),
        seed in any::<u8>(),
        sizes_a in proptest::collection::vec(0usize..100, 1..12),
        sizes_b in proptest::collection::vec(0usize..5000, 1..6),
    ) {
        let pt: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
        let rc = seal::<RustCrypto>(&key, &iv, &aad, &pt, &sizes_a);
        let lc = seal::<AwsLc>(&key, &iv, &aad, &pt, &sizes_b);
        prop_assert_eq!(&rc, &lc);
        let lc2 = seal::<AwsLc>(&key, &iv, &aad, &pt, &sizes_a);
        prop_assert_eq!(&rc, &lc2);

        // Each backend opens what the other sealed, through every path.
        prop_assert_eq!(open_all::<AwsLc>(&key, &iv, &aad, &rc, &sizes_a), Ok(pt.clone()));
        prop_assert_eq!(open_all::<RustCrypto>(&key, &iv, &aad, &lc, &sizes_b), Ok(pt.clone()));
        prop_assert_eq!(open_all::<AwsLc>(&key, &iv, &aad, &lc, &sizes_b), Ok(pt));
    }

    #[test]
    fn tampering_rejected_by_both(
        key in any::<[u8; 32]>(),
        iv in nonzero_iv(),
        aad in proptest::collection::vec(any::<u8>(), 0..40),
        len in 0usize..300,
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
        sizes in proptest::collection::vec(1usize..50, 1..6),
    ) {
        let pt = vec![0xa5u8; len];
        let mut body = seal::<AwsLc>(&key, &iv, &aad, &pt, &sizes);
        let i = at.index(body.len());
        body[i] ^= 1 << bit;
        prop_assert_eq!(
            open_all::<AwsLc>(&key, &iv, &aad, &body, &sizes),
            Err(Error::Authentication)
        );
        prop_assert_eq!(
            open_all::<RustCrypto>(&key, &iv, &aad, &body, &sizes),
            Err(Error::Authentication)
        );
        // Wrong AAD (one more byte, or one bit off), wrong IV.
        body[i] ^= 1 << bit;
        let mut longer = aad.clone();
        longer.push(0);
        prop_assert_eq!(open_all::<AwsLc>(&key, &iv, &longer, &body, &sizes), Err(Error::Authentication));
        if !aad.is_empty() {
            let mut other = aad.clone();
            other[i % aad.len()] ^= 1 << bit;
            prop_assert_eq!(open_all::<AwsLc>(&key, &iv, &other, &body, &sizes), Err(Error::Authentication));
        }
        let mut iv2 = iv;
        iv2[i % 12] ^= 1 << bit;
        if iv2.iter().any(|&b| b != 0) {
            prop_assert_eq!(open_all::<AwsLc>(&key, &iv2, &aad, &body, &sizes), Err(Error::Authentication));
        }
    }

    #[test]
    fn ranges_and_keystream_agree(
        key in any::<[u8; 32]>(),
        iv in nonzero_iv(),
        offset in prop_oneof![0u64..100, 0u64..(1 << 36) - 5000],
        len in 0usize..3000,
        counter in prop_oneof![any::<u32>(), (u32::MAX - 8)..=u32::MAX],
        klen in 0usize..200,
    ) {
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut a = data.clone();
        let mut b = data.clone();
        prop_assert_eq!(
            decrypt_range_with::<AwsLc>(&key, &iv, offset, &mut a),
            decrypt_range_with::<RustCrypto>(&key, &iv, offset, &mut b)
        );
        prop_assert_eq!(&a, &b);

        // The raw seam, including counters that wrap (inc32).
        let ka = AwsLc::expand_key(&key).unwrap();
        let kb = RustCrypto::expand_key(&key).unwrap();
        let mut a = vec![0u8; klen];
        let mut b = vec![0u8; klen];
        let ra = AwsLc::apply_keystream(&ka, &iv, counter, &mut a);
        let rb = RustCrypto::apply_keystream(&kb, &iv, counter, &mut b);
        prop_assert_eq!(ra, rb);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn content_layer_agrees(
        dk in any::<[u8; 32]>(),
        seed in any::<u64>(),
        len in body_len(),
        committing in any::<bool>(),
        sizes in proptest::collection::vec(1usize..3000, 1..5),
    ) {
        let suite = if committing { Suite::AesGcmCommitting } else { Suite::AesGcm };
        let dk = DataKey::from_slice(&dk).unwrap();
        let pt: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();

        // Same RNG stream: same IV / message id, so identical objects.
        let seal_with = |which: bool| -> (Vec<u8>, ContentParams) {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut body = pt.clone();
            let params;
            let tag = if which {
                let (mut e, p) = ContentEncryption::<AwsLc>::with_backend(suite, &dk, &mut rng).unwrap().into_parts();
                params = p;
                for (o, n) in pieces(body.len(), &sizes) { e.update(&mut body[o..o + n]).unwrap(); }
                e.finish()
            } else {
                let (mut e, p) = ContentEncryption::<RustCrypto>::with_backend(suite, &dk, &mut rng).unwrap().into_parts();
                params = p;
                for (o, n) in pieces(body.len(), &sizes) { e.update(&mut body[o..o + n]).unwrap(); }
                e.finish()
            };
            body.extend_from_slice(&tag);
            (body, params)
        };
        let (b_lc, p_lc) = seal_with(true);
        let (b_rc, p_rc) = seal_with(false);
        prop_assert_eq!(&b_lc, &b_rc);
        prop_assert_eq!(&p_lc, &p_rc);

        let key = match &p_lc {
            ContentParams::Gcm { iv } => ContentKey::for_decrypt(suite, &dk, iv, None, None),
            ContentParams::Committing { message_id, commitment } =>
                ContentKey::for_decrypt(suite, &dk, &[], Some(message_id), Some(commitment)),
            _ => unreachable!(),
        }.unwrap();
        prop_assert_eq!(content_open::<AwsLc>(&key, &b_rc, &sizes), Ok(pt.clone()));
        prop_assert_eq!(content_open::<RustCrypto>(&key, &b_lc, &sizes), Ok(pt));
        let mut bad = b_lc.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        prop_assert_eq!(content_open::<AwsLc>(&key, &bad, &sizes), Err(Error::Authentication));
    }
}

/// `ContentKey`'s paths with backend `B`; all must agree.
fn content_open<B: GcmBackend>(
    key: &ContentKey,
    body: &[u8],
    sizes: &[usize],
) -> Result<Vec<u8>, Error> {
    let mut one = body.to_vec();
    let r1 = key
        .open_in_place_with::<B>(&mut one)
        .map(|n| one[..n].to_vec());
    let (ct, tag) = body.split_at(body.len() - 16);
    let mut v = key.verifier_with::<B>().unwrap();
    for (o, n) in pieces(ct.len(), sizes) {
        v.update(&ct[o..o + n]).unwrap();
    }
    let r2 = v.verify(&tag.try_into().unwrap()).map(|ok| {
        let mut out = ct.to_vec();
        ok.decrypt_at(0, &mut out).unwrap();
        out
    });
    assert_eq!(r1, r2);
    let mut d = UnverifiedDecryptor::<B>::with_backend_from_key(key).unwrap();
    let mut out = ct.to_vec();
    d.update(&mut out).unwrap();
    let r3 = d.finish(&tag.try_into().unwrap()).map(|()| out);
    assert_eq!(r1, r3);
    r1
}

/// Every AAD length 0..=48 against every body length 0..=48, one split
/// each way: the verify pass's length-block correction and AAD padding at
/// every alignment.
#[test]
fn every_small_aad_and_body_length() {
    let key = [0x3cu8; 32];
    let iv = [0x77u8; 12];
    for aad_len in 0..=48usize {
        let aad: Vec<u8> = (0..aad_len).map(|i| i as u8 ^ 0x5a).collect();
        for len in 0..=48usize {
            let pt: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let rc = seal::<RustCrypto>(&key, &iv, &aad, &pt, &[7]);
            let lc = seal::<AwsLc>(&key, &iv, &aad, &pt, &[5, 0, 16]);
            assert_eq!(rc, lc, "aad {aad_len} len {len}");
            assert_eq!(
                open_all::<AwsLc>(&key, &iv, &aad, &rc, &[3, 16, 1]),
                Ok(pt.clone())
            );
            assert_eq!(open_all::<RustCrypto>(&key, &iv, &aad, &lc, &[16]), Ok(pt));
        }
    }
}

/// Larger bodies with awkward splits (prime sizes, one byte, a split right
/// before the end), 1 MiB + 17 bytes.
#[test]
fn large_body_awkward_splits() {
    let key = [0x11u8; 32];
    let iv = [0x22u8; 12];
    let pt: Vec<u8> = (0..(1usize << 20) + 17)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
        .collect();
    let want = seal::<RustCrypto>(&key, &iv, b"aad", &pt, &[65_536]);
    for sizes in [
        &[1usize, 65_535, 65_537][..],
        &[4093, 0, 16],
        &[(1 << 20) + 16, 1],
        &[1 << 21],
    ] {
        let got = seal::<AwsLc>(&key, &iv, b"aad", &pt, sizes);
        assert_eq!(got, want, "{sizes:?}");
        assert_eq!(
            open_all::<AwsLc>(&key, &iv, b"aad", &want, sizes),
            Ok(pt.clone())
        );
    }
}

/// The one-pass `open_in_place` decrypts while it authenticates; on a wrong
/// tag it must hand back the exact ciphertext, for bodies long enough to
/// take the fused keystream path (>= 16 KiB) and for short ones, wherever
/// the damage is (first byte, middle, last ciphertext byte, tag), and when
/// the damage is a wrong key, IV or AAD.
#[test]
fn one_pass_open_restores_the_ciphertext_on_failure() {
    let key = [0x5au8; 32];
    let iv = [0x0fu8; 12];
    for len in [
        0usize,
        1,
        15,
        16,
        17,
        16 * 1024 - 1,
        16 * 1024,
        100_003,
        (1 << 20) + 5,
    ] {
        let pt: Vec<u8> = (0..len).map(|i| (i as u8) ^ 0x3c).collect();
        let body = seal::<AwsLc>(&key, &iv, b"ctx", &pt, &[len.max(1)]);
        let mut spots = vec![body.len() - 1, body.len() - 16];
        if len > 0 {
            spots.extend([0, len / 2, len - 1]);
        }
        for at in spots {
            let mut b = body.clone();
            b[at] ^= 0x80;
            let damaged = b.clone();
            assert_eq!(
                open_in_place_with::<AwsLc>(&key, &iv, b"ctx", &mut b),
                Err(Error::Authentication),
                "len {len}, byte {at}"
            );
            assert_eq!(b, damaged, "len {len}, byte {at}: buffer not restored");
        }
        let mut other_iv = iv;
        other_iv[11] ^= 1;
        for (k, v, aad) in [
            ([0x5bu8; 32], iv, &b"ctx"[..]),
            (key, other_iv, &b"ctx"[..]),
            (key, iv, &b"ctX"[..]),
        ] {
            let mut b = body.clone();
            assert_eq!(
                open_in_place_with::<AwsLc>(&k, &v, aad, &mut b),
                Err(Error::Authentication)
            );
            assert_eq!(b, body, "len {len}: buffer not restored");
        }
        // And the untouched body opens, one pass, to the plaintext.
        let mut b = body.clone();
        let n = open_in_place_with::<AwsLc>(&key, &iv, b"ctx", &mut b).unwrap();
        assert_eq!(&b[..n], &pt[..]);
    }
}

/// AES-128/192-GCM (the 128/192-bit data keys some writers put on V1/V2
/// objects): every decryption path of both backends against aws-lc-rs's
/// one-shot AES-128/192-GCM, any split, tampering refused with the buffer
/// restored.
mod small_keys {
    use super::*;
    use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_192_GCM};

    fn reference_seal(key: &[u8], iv: &[u8; 12], aad: &[u8], pt: &[u8]) -> Vec<u8> {
        let alg = if key.len() == 16 {
            &AES_128_GCM
        } else {
            &AES_192_GCM
        };
        let k = LessSafeKey::new(UnboundKey::new(alg, key).unwrap());
        let mut body = pt.to_vec();
        k.seal_in_place_append_tag(Nonce::assume_unique_for_key(*iv), Aad::from(aad), &mut body)
            .unwrap();
        body
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn aes_128_and_192_gcm_agree_with_the_reference(
            key in proptest::collection::vec(any::<u8>(), 24),
            short in any::<bool>(),
            iv in nonzero_iv(),
            aad in proptest::collection::vec(any::<u8>(), 0..40),
            len in body_len(),
            sizes in proptest::collection::vec(0usize..3000, 1..6),
            flip in any::<prop::sample::Index>(),
        ) {
            let key = if short { &key[..16] } else { &key[..] };
            let pt: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(13)).collect();
            let body = reference_seal(key, &iv, &aad, &pt);
            prop_assert_eq!(open_all::<AwsLc>(key, &iv, &aad, &body, &sizes), Ok(pt.clone()));
            prop_assert_eq!(open_all::<RustCrypto>(key, &iv, &aad, &body, &sizes), Ok(pt));
            let mut bad = body.clone();
            let i = flip.index(bad.len());
            bad[i] ^= 1;
            prop_assert_eq!(open_all::<AwsLc>(key, &iv, &aad, &bad, &sizes), Err(Error::Authentication));
            prop_assert_eq!(open_all::<RustCrypto>(key, &iv, &aad, &bad, &sizes), Err(Error::Authentication));
        }
    }

    #[test]
    fn other_key_lengths_are_refused() {
        for n in [0usize, 15, 20, 31, 33] {
            let key = vec![1u8; n];
            let want = Err(Error::InvalidInput(s3ec_core::InputError::KeyLength {
                actual: n,
            }));
            assert_eq!(AwsLc::expand_key(&key).map(|_| ()), want);
            assert_eq!(RustCrypto::expand_key(&key).map(|_| ()), want);
            let mut body = vec![0u8; 32];
            assert_eq!(
                open_in_place_with::<AwsLc>(&key, &[1; 12], b"", &mut body).map(|_| ()),
                want
            );
        }
    }
}

#[test]
fn zero_iv_and_truncation_rejected_like_the_core() {
    let z = [0u8; 12];
    assert_eq!(
        GcmEncryptor::<AwsLc>::with_backend(&[1; 32], &z, b"").map(|_| ()),
        GcmEncryptor::<RustCrypto>::with_backend(&[1; 32], &z, b"").map(|_| ())
    );
    let mut short = [0u8; 15];
    assert_eq!(
        open_in_place_with::<AwsLc>(&[1; 32], &[1; 12], b"", &mut short),
        open_in_place_with::<RustCrypto>(&[1; 32], &[1; 12], b"", &mut short)
    );
}

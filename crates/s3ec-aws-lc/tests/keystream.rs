//! `AwsLc::apply_keystream` against `RustCrypto`'s, with attention to the
//! fused-GCM keystream path (long keystreams from counter 2, and calls that
//! continue where the key's cached context stopped): random sequences of
//! calls on one key, sequential and out-of-order `decrypt_at`, and
//! `decrypt_at` from several threads at once on one `Verified`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use s3ec_aws_lc::AwsLc;
use s3ec_core::cipher::backend::{GcmBackend, RustCrypto};
use s3ec_core::cipher::gcm::{GcmEncryptor, GcmVerifier};

const K16: usize = 16 * 1024;

#[derive(Debug, Clone)]
struct Op {
    /// Which of two IVs.
    iv: bool,
    /// How the counter is chosen.
    at: At,
    len: usize,
}

#[derive(Debug, Clone)]
enum At {
    /// Counter 2, GCM's first content block.
    First,
    /// Right after the previous call's last whole block.
    Continue,
    /// Anywhere.
    Any(u32),
}

fn op() -> impl Strategy<Value = Op> {
    let len = prop_oneof![
        0usize..64,
        (K16 - 40)..(K16 + 40),
        (1usize..4).prop_map(|n| n * K16),
        (1usize..2600).prop_map(|n| n * 16),
        1usize..40_000,
    ];
    let at = prop_oneof![
        3 => Just(At::First),
        4 => Just(At::Continue),
        1 => any::<u32>().prop_map(At::Any),
        1 => (0u32..8).prop_map(|d| At::Any(u32::MAX - d)),
    ];
    (any::<bool>(), at, len).prop_map(|(iv, at, len)| Op { iv, at, len })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn call_sequences_on_one_key(
        key in any::<[u8; 32]>(),
        ops in proptest::collection::vec(op(), 1..10),
    ) {
        let ivs = [[0x11u8; 12], [0x22u8; 12]];
        let ka = AwsLc::expand_key(&key).unwrap();
        let kb = RustCrypto::expand_key(&key).unwrap();
        let mut next = 2u32;
        for (i, op) in ops.iter().enumerate() {
            let counter = match op.at {
                At::First => 2,
                At::Continue => next,
                At::Any(c) => c,
            };
            let iv = &ivs[usize::from(op.iv)];
            let data: Vec<u8> = (0..op.len).map(|j| (j ^ i) as u8).collect();
            let mut a = data.clone();
            let mut b = data;
            let ra = AwsLc::apply_keystream(&ka, iv, counter, &mut a);
            let rb = RustCrypto::apply_keystream(&kb, iv, counter, &mut b);
            prop_assert_eq!(ra, rb, "op {} {:?}", i, op);
            prop_assert_eq!(a, b, "op {} {:?}", i, op);
            next = counter.wrapping_add((op.len / 16) as u32);
        }
    }
}

fn sealed(len: usize) -> (Vec<u8>, Vec<u8>, [u8; 16]) {
    let pt: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
        .collect();
    let mut ct = pt.clone();
    let mut e = GcmEncryptor::<RustCrypto>::with_backend(&[5; 32], &[6; 12], b"").unwrap();
    e.update(&mut ct).unwrap();
    (pt, ct, e.finish())
}

/// Sequential `decrypt_at` in several chunkings (aligned, unaligned, small
/// first chunk, a restart from 0 in the middle, backwards).
#[test]
fn decrypt_at_orders_and_chunkings() {
    let len = 300_000 + 7;
    let (pt, ct, tag) = sealed(len);
    let mut v = GcmVerifier::<AwsLc>::with_backend(&[5; 32], &[6; 12], b"").unwrap();
    v.update(&ct).unwrap();
    let ok = v.verify(&tag).unwrap();
    for chunk in [K16, 65_536, 65_536 + 16, 65_537, 16, 1000, 4096 * 3, len] {
        let mut out = ct.clone();
        let mut off = 0usize;
        for c in out.chunks_mut(chunk) {
            ok.decrypt_at(off as u64, c).unwrap();
            off += c.len();
        }
        assert_eq!(out, pt, "forward, chunk {chunk}");

        let mut out = ct.clone();
        let pieces: Vec<(usize, usize)> = (0..len)
            .step_by(chunk)
            .map(|o| (o, chunk.min(len - o)))
            .collect();
        for &(o, n) in pieces.iter().rev() {
            ok.decrypt_at(o as u64, &mut out[o..o + n]).unwrap();
        }
        assert_eq!(out, pt, "backward, chunk {chunk}");
    }
    // Restart from 0 half way, then continue both.
    let mut out = ct.clone();
    let (a, b) = out.split_at_mut(131_072);
    ok.decrypt_at(0, &mut a[..65_536]).unwrap();
    let mut again = ct[..65_536].to_vec();
    ok.decrypt_at(0, &mut again).unwrap();
    ok.decrypt_at(65_536, &mut a[65_536..]).unwrap();
    ok.decrypt_at(131_072, b).unwrap();
    assert_eq!(out, pt);
    assert_eq!(again, &pt[..65_536]);
}

/// Many threads decrypting ranges of one verified body at once: whoever
/// holds the key's cached context or not, every range comes out right.
#[test]
fn parallel_decrypt_at() {
    let len = 1 << 21;
    let (pt, ct, tag) = sealed(len);
    let mut v = GcmVerifier::<AwsLc>::with_backend(&[5; 32], &[6; 12], b"").unwrap();
    v.update(&ct).unwrap();
    let ok = v.verify(&tag).unwrap();
    let mut out = ct.clone();
    let parts: Vec<&mut [u8]> = out.chunks_mut(len / 4).collect();
    std::thread::scope(|s| {
        for (i, part) in parts.into_iter().enumerate() {
            let ok = &ok;
            s.spawn(move || {
                let base = i * (len / 4);
                let mut off = 0usize;
                for c in part.chunks_mut(K16) {
                    ok.decrypt_at((base + off) as u64, c).unwrap();
                    off += c.len();
                }
            });
        }
        // Meanwhile, from the start, on this thread too.
        let mut head = ct[..len / 2].to_vec();
        for (j, c) in head.chunks_mut(65_536).enumerate() {
            ok.decrypt_at((j * 65_536) as u64, c).unwrap();
        }
        assert_eq!(head, &pt[..len / 2]);
    });
    assert_eq!(out, pt);
}

//! Streaming AES-256-GCM encryption on AWS-LC over 64 MiB, fed in chunks of
//! 16 KiB to 64 MiB, beside aws-lc-rs's one-shot seal: what the chunk size
//! costs, on its own, without the other contenders of `backends.rs` (whose
//! 64 MiB ratios move with whatever else the run touches; see
//! `docs/cipher-backends.md`). Interleaved rounds, best time of each.
//!
//! Run: `cargo bench -p s3ec-benches --bench chunk_sizes`.
#![allow(missing_docs, clippy::unwrap_used)]
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use s3ec_aws_lc::AwsLc;
use s3ec_core::cipher::gcm::GcmEncryptor;
use std::time::Instant;
fn main() {
    let len = 64 << 20;
    let mut buf = vec![7u8; len];
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[1; 32]).unwrap());
    let chunks = [16 << 10, 64 << 10, 256 << 10, 1 << 20, 8 << 20, 64 << 20];
    let mut best = vec![f64::MAX; chunks.len() + 1];
    for _ in 0..20 {
        for (i, &c) in chunks.iter().enumerate() {
            for _ in 0..2 {
                let t = Instant::now();
                let mut e = GcmEncryptor::<AwsLc>::with_backend(&[1; 32], &[2; 12], b"").unwrap();
                for ch in buf.chunks_mut(c) {
                    e.update(ch).unwrap();
                }
                std::hint::black_box(e.finish());
                best[i] = best[i].min(t.elapsed().as_secs_f64());
            }
        }
        for _ in 0..2 {
            let t = Instant::now();
            let tag = k
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key([2; 12]),
                    Aad::empty(),
                    &mut buf,
                )
                .unwrap();
            std::hint::black_box(tag.as_ref());
            let n = chunks.len();
            best[n] = best[n].min(t.elapsed().as_secs_f64());
        }
    }
    for (i, c) in chunks.iter().enumerate() {
        println!(
            "chunk {:>8}: {:.2} GiB/s",
            c,
            len as f64 / best[i] / (1u64 << 30) as f64
        );
    }
    println!(
        "one-shot     : {:.2} GiB/s",
        len as f64 / best[chunks.len()] / (1u64 << 30) as f64
    );
}

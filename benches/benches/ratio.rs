//! Noise-resistant streaming / one-shot ratios.
//!
//! Criterion measures one benchmark after another, so on a shared machine a
//! change in background load between two benchmarks skews their ratio. This
//! harness interleaves the contenders round by round and reports the best
//! (minimum) time of each, and the ratio of throughputs
//! (`s3ec / aes-gcm`; >= 1.0 means s3ec is at least as fast).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use s3ec_core::cipher::{open_in_place, GcmEncryptor, GcmVerifier};

const KEY: [u8; 32] = [0x42; 32];
const IV: [u8; 12] = [0x24; 12];
const CHUNK: usize = 64 * 1024;

fn time(f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; ignore all arguments.
    let cipher = Aes256Gcm::new(&KEY.into());
    for (len, rounds) in [(1usize << 20, 300usize), (64 << 20, 12)] {
        let mut buf: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut ct = buf.clone();
        let tag: [u8; 16] = cipher
            .encrypt_inout_detached(&IV.into(), b"", (&mut ct[..]).into())
            .unwrap()
            .into();
        let mut body = ct.clone();
        body.extend_from_slice(&tag);
        let mut work = ct.clone();
        let mut work_body = body.clone();

        let mut best = [f64::MAX; 5];
        for _ in 0..rounds {
            let t = [
                // 0: s3ec streaming encrypt, 64 KiB chunks
                time(&mut || {
                    let mut e = GcmEncryptor::new(&KEY, &IV, b"").unwrap();
                    for c in buf.chunks_mut(CHUNK) {
                        e.update(c).unwrap();
                    }
                    core::hint::black_box(e.finish());
                }),
                // 1: aes-gcm one-shot encrypt
                time(&mut || {
                    core::hint::black_box(
                        cipher
                            .encrypt_inout_detached(&IV.into(), b"", (&mut buf[..]).into())
                            .unwrap(),
                    );
                }),
                // 2: s3ec verifier pass + decrypt_at pass, 64 KiB chunks
                {
                    work.copy_from_slice(&ct);
                    time(&mut || {
                        let mut v = GcmVerifier::new(&KEY, &IV, b"").unwrap();
                        for c in work.chunks(CHUNK) {
                            v.update(c).unwrap();
                        }
                        let ok = v.verify(&tag).unwrap();
                        let mut off = 0u64;
                        for c in work.chunks_mut(CHUNK) {
                            ok.decrypt_at(off, c).unwrap();
                            off += c.len() as u64;
                        }
                    })
                },
                // 3: s3ec open_in_place
                {
                    work_body.copy_from_slice(&body);
                    time(&mut || {
                        core::hint::black_box(
                            open_in_place(&KEY, &IV, b"", &mut work_body).unwrap(),
                        );
                    })
                },
                // 4: aes-gcm one-shot decrypt
                {
                    work.copy_from_slice(&ct);
                    time(&mut || {
                        cipher
                            .decrypt_inout_detached(
                                &IV.into(),
                                b"",
                                (&mut work[..]).into(),
                                &tag.into(),
                            )
                            .unwrap();
                    })
                },
            ];
            for (b, t) in best.iter_mut().zip(t) {
                *b = b.min(t);
            }
        }
        let gib = |t: f64| len as f64 / t / (1u64 << 30) as f64;
        println!(
            "size {} MiB, best of {rounds} interleaved rounds:",
            len >> 20
        );
        println!(
            "  encrypt  s3ec stream 64KiB   {:6.2} GiB/s   aes-gcm one-shot {:6.2} GiB/s   ratio {:.3}",
            gib(best[0]),
            gib(best[1]),
            best[1] / best[0]
        );
        println!(
            "  decrypt  s3ec verify+decrypt_at {:6.2} GiB/s   ratio {:.3}",
            gib(best[2]),
            best[4] / best[2]
        );
        println!(
            "  decrypt  s3ec open_in_place  {:6.2} GiB/s   aes-gcm one-shot {:6.2} GiB/s   ratio {:.3}",
            gib(best[3]),
            gib(best[4]),
            best[4] / best[3]
        );
    }
}

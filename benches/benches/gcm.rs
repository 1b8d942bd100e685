//! Streaming AES-256-GCM (s3ec-core, 64 KiB chunks) against `aes-gcm` 0.10
//! one-shot `encrypt_inout_detached` / `decrypt_inout_detached`, as
//! throughput, at 1 MiB and 64 MiB.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use s3ec_core::cipher::{open_in_place, GcmEncryptor, GcmVerifier};

const KEY: [u8; 32] = [0x42; 32];
const IV: [u8; 12] = [0x24; 12];
const CHUNK: usize = 64 * 1024;
const SIZES: [(usize, &str); 2] = [(1 << 20, "1MiB"), (64 << 20, "64MiB")];

fn data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
        .collect()
}

fn sealed(len: usize) -> (Vec<u8>, [u8; 16]) {
    let mut ct = data(len);
    let tag = Aes256Gcm::new(&KEY.into())
        .encrypt_inout_detached(&IV.into(), b"", (&mut ct[..]).into())
        .unwrap();
    (ct, tag.into())
}

fn configure<'a>(
    c: &'a mut Criterion,
    name: &str,
    len: usize,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(len as u64));
    if len > (8 << 20) {
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(4));
    } else {
        g.sample_size(30);
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(3));
    }
    g
}

fn encrypt(c: &mut Criterion) {
    for (len, label) in SIZES {
        let mut g = configure(c, "encrypt", len);
        let mut buf = data(len);
        g.bench_function(BenchmarkId::new("s3ec_stream_64KiB", label), |b| {
            b.iter(|| {
                let mut enc = GcmEncryptor::new(&KEY, &IV, b"").unwrap();
                for chunk in buf.chunks_mut(CHUNK) {
                    enc.update(chunk).unwrap();
                }
                enc.finish()
            })
        });
        let cipher = Aes256Gcm::new(&KEY.into());
        g.bench_function(BenchmarkId::new("aes_gcm_one_shot", label), |b| {
            b.iter(|| {
                cipher
                    .encrypt_inout_detached(&IV.into(), b"", (&mut buf[..]).into())
                    .unwrap()
            })
        });
        g.finish();
    }
}

fn decrypt(c: &mut Criterion) {
    for (len, label) in SIZES {
        let mut g = configure(c, "decrypt", len);
        let (ct, tag) = sealed(len);
        let mut body = ct.clone();
        body.extend_from_slice(&tag);

        g.bench_function(
            BenchmarkId::new("s3ec_verify_then_decrypt_at_64KiB", label),
            |b| {
                b.iter_batched_ref(
                    || ct.clone(),
                    |buf| {
                        let mut v = GcmVerifier::new(&KEY, &IV, b"").unwrap();
                        for chunk in buf.chunks(CHUNK) {
                            v.update(chunk).unwrap();
                        }
                        let ok = v.verify(&tag).unwrap();
                        let mut off = 0u64;
                        for chunk in buf.chunks_mut(CHUNK) {
                            ok.decrypt_at(off, chunk).unwrap();
                            off += chunk.len() as u64;
                        }
                    },
                    BatchSize::PerIteration,
                )
            },
        );
        g.bench_function(BenchmarkId::new("s3ec_open_in_place", label), |b| {
            b.iter_batched_ref(
                || body.clone(),
                |buf| open_in_place(&KEY, &IV, b"", buf).unwrap(),
                BatchSize::PerIteration,
            )
        });
        let cipher = Aes256Gcm::new(&KEY.into());
        g.bench_function(BenchmarkId::new("aes_gcm_one_shot", label), |b| {
            b.iter_batched_ref(
                || ct.clone(),
                |buf| {
                    cipher
                        .decrypt_inout_detached(&IV.into(), b"", (&mut buf[..]).into(), &tag.into())
                        .unwrap()
                },
                BatchSize::PerIteration,
            )
        });
        g.finish();
    }
}

criterion_group!(benches, encrypt, decrypt);
criterion_main!(benches);

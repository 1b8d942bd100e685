//! The cipher backends side by side: s3ec-core's streaming AES-256-GCM on
//! `RustCrypto` (the core's default) and on `AwsLc` (s3ec-aws-lc), against
//! `aws-lc-rs`'s one-shot AES-256-GCM (`LessSafeKey::
//! seal_in_place_separate_tag` / `open_in_place`) as the reference, at
//! 1 MiB and 64 MiB. The interleaved ratios also run RustCrypto's own
//! one-shot (`aes-gcm`'s `encrypt_inout_detached` /
//! `decrypt_inout_detached`): the pure-Rust streaming target is >= 0.95x of
//! it.
//!
//! One run gives both:
//! 1. Criterion throughput figures (`encrypt/*`, `decrypt/*`);
//! 2. noise-resistant ratios: the contenders interleaved round by round,
//!    best (minimum) time of each, as `benches/ratio.rs` does — on a shared
//!    machine a change in background load between two Criterion benchmarks
//!    skews their ratio, interleaving does not (each timed run follows an
//!    untimed warm-up run of the same contender; see [`ratios`]).
//!
//! Streaming runs over 64 KiB chunks. "verify+decrypt_at" is the core's
//! two-pass authenticated decryption (`GcmVerifier` pass, then
//! `Verified::decrypt_at`, for bodies too large to hold); "open_in_place"
//! is the core's one-shot for a body held in one buffer
//! (`open_in_place_with` → `GcmBackend::open_in_place`: RustCrypto's two
//! passes, AWS-LC's one pass that restores the ciphertext on a wrong tag);
//! "unverified" is the single-pass delayed-authentication stream
//! (`danger::UnverifiedDecryptor`), shown for what one pass costs.
//!
//! Run: `cargo bench -p s3ec-benches --bench backends` (add `-- --quick`
//! style Criterion flags as usual; `S3EC_BENCH_SKIP_CRITERION=1` runs only
//! the interleaved ratios).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use core::time::Duration;
use std::time::Instant;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use s3ec_aws_lc::AwsLc;
use s3ec_core::cipher::backend::{GcmBackend, RustCrypto};
use s3ec_core::cipher::gcm::{open_in_place_with, GcmEncryptor, GcmVerifier};
use s3ec_core::danger::UnverifiedDecryptor;

const KEY: [u8; 32] = [0x42; 32];
const IV: [u8; 12] = [0x24; 12];
const CHUNK: usize = 64 * 1024;
const SIZES: [(usize, &str); 2] = [(1 << 20, "1MiB"), (64 << 20, "64MiB")];

fn data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
        .collect()
}

fn reference() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).unwrap())
}

/// `(ciphertext, tag)` of `data(len)`.
fn sealed(len: usize) -> (Vec<u8>, [u8; 16]) {
    let mut ct = data(len);
    let tag = reference()
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(IV), Aad::empty(), &mut ct)
        .unwrap();
    (ct, tag.as_ref().try_into().unwrap())
}

fn stream_encrypt<B: GcmBackend>(buf: &mut [u8]) -> [u8; 16] {
    let mut e = GcmEncryptor::<B>::with_backend(&KEY, &IV, b"").unwrap();
    for c in buf.chunks_mut(CHUNK) {
        e.update(c).unwrap();
    }
    e.finish()
}

fn verify_then_decrypt<B: GcmBackend>(buf: &mut [u8], tag: &[u8; 16]) {
    let mut v = GcmVerifier::<B>::with_backend(&KEY, &IV, b"").unwrap();
    for c in buf.chunks(CHUNK) {
        v.update(c).unwrap();
    }
    let ok = v.verify(tag).unwrap();
    let mut off = 0u64;
    for c in buf.chunks_mut(CHUNK) {
        ok.decrypt_at(off, c).unwrap();
        off += c.len() as u64;
    }
}

fn unverified<B: GcmBackend>(buf: &mut [u8], tag: &[u8; 16]) {
    let mut d = UnverifiedDecryptor::<B>::with_backend(&KEY, &IV, b"").unwrap();
    for c in buf.chunks_mut(CHUNK) {
        d.update(c).unwrap();
    }
    d.finish(tag).unwrap();
}

fn ref_seal(k: &LessSafeKey, buf: &mut [u8]) {
    let _tag = core::hint::black_box(
        k.seal_in_place_separate_tag(Nonce::assume_unique_for_key(IV), Aad::empty(), buf)
            .unwrap(),
    );
}

fn ref_open(k: &LessSafeKey, body: &mut [u8]) {
    core::hint::black_box(
        k.open_in_place(Nonce::assume_unique_for_key(IV), Aad::empty(), body)
            .unwrap(),
    );
}

fn configure<'a>(
    c: &'a mut Criterion,
    name: &str,
    len: usize,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(len as u64));
    g.warm_up_time(Duration::from_millis(500));
    if len > (8 << 20) {
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(4));
    } else {
        g.sample_size(30);
        g.measurement_time(Duration::from_secs(2));
    }
    g
}

fn encrypt(c: &mut Criterion) {
    let k = reference();
    for (len, label) in SIZES {
        let mut g = configure(c, "encrypt", len);
        let mut buf = data(len);
        g.bench_function(BenchmarkId::new("rustcrypto_stream_64KiB", label), |b| {
            b.iter(|| stream_encrypt::<RustCrypto>(&mut buf))
        });
        g.bench_function(BenchmarkId::new("awslc_stream_64KiB", label), |b| {
            b.iter(|| stream_encrypt::<AwsLc>(&mut buf))
        });
        g.bench_function(BenchmarkId::new("aws_lc_rs_one_shot", label), |b| {
            b.iter(|| ref_seal(&k, &mut buf))
        });
        g.finish();
    }
}

fn decrypt(c: &mut Criterion) {
    let k = reference();
    for (len, label) in SIZES {
        let mut g = configure(c, "decrypt", len);
        let (ct, tag) = sealed(len);
        let mut body = ct.clone();
        body.extend_from_slice(&tag);
        let fresh = || ct.clone();
        let fresh_body = || body.clone();
        g.bench_function(
            BenchmarkId::new("rustcrypto_verify+decrypt_at_64KiB", label),
            |b| {
                b.iter_batched_ref(
                    fresh,
                    |buf| verify_then_decrypt::<RustCrypto>(buf, &tag),
                    BatchSize::PerIteration,
                )
            },
        );
        g.bench_function(
            BenchmarkId::new("awslc_verify+decrypt_at_64KiB", label),
            |b| {
                b.iter_batched_ref(
                    fresh,
                    |buf| verify_then_decrypt::<AwsLc>(buf, &tag),
                    BatchSize::PerIteration,
                )
            },
        );
        g.bench_function(BenchmarkId::new("rustcrypto_open_in_place", label), |b| {
            b.iter_batched_ref(
                fresh_body,
                |buf| open_in_place_with::<RustCrypto>(&KEY, &IV, b"", buf).unwrap(),
                BatchSize::PerIteration,
            )
        });
        g.bench_function(BenchmarkId::new("awslc_open_in_place", label), |b| {
            b.iter_batched_ref(
                fresh_body,
                |buf| open_in_place_with::<AwsLc>(&KEY, &IV, b"", buf).unwrap(),
                BatchSize::PerIteration,
            )
        });
        g.bench_function(
            BenchmarkId::new("awslc_unverified_stream_64KiB", label),
            |b| {
                b.iter_batched_ref(
                    fresh,
                    |buf| unverified::<AwsLc>(buf, &tag),
                    BatchSize::PerIteration,
                )
            },
        );
        g.bench_function(BenchmarkId::new("aws_lc_rs_one_shot", label), |b| {
            b.iter_batched_ref(fresh_body, |buf| ref_open(&k, buf), BatchSize::PerIteration)
        });
        g.finish();
    }
}

fn time(f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

/// RustCrypto's one-shot AES-256-GCM encryption (`aes-gcm`).
fn rc_seal(k: &Aes256Gcm, buf: &mut [u8]) {
    core::hint::black_box(
        k.encrypt_inout_detached(&IV.into(), b"", buf.into())
            .unwrap(),
    );
}

/// RustCrypto's one-shot AES-256-GCM decryption (`aes-gcm`).
fn rc_open(k: &Aes256Gcm, buf: &mut [u8], tag: &[u8; 16]) {
    k.decrypt_inout_detached(&IV.into(), b"", buf.into(), &(*tag).into())
        .unwrap();
}

/// Buffers shared by the interleaved contenders.
struct Bufs {
    reference: LessSafeKey,
    rustcrypto: Aes256Gcm,
    plain: Vec<u8>,
    ct: Vec<u8>,
    tag: [u8; 16],
    body: Vec<u8>,
    work: Vec<u8>,
    work_body: Vec<u8>,
}

type Contender = (&'static str, fn(&mut Bufs) -> f64);

/// Every contender: its label and one timed run (fresh input prepared
/// outside the timed part).
const CONTENDERS: [Contender; 11] = [
    ("encrypt  rustcrypto stream 64KiB", |b| {
        time(&mut || {
            core::hint::black_box(stream_encrypt::<RustCrypto>(&mut b.plain));
        })
    }),
    ("encrypt  awslc stream 64KiB", |b| {
        time(&mut || {
            core::hint::black_box(stream_encrypt::<AwsLc>(&mut b.plain));
        })
    }),
    ("encrypt  aws-lc-rs one-shot (ref)", |b| {
        time(&mut || ref_seal(&b.reference, &mut b.plain))
    }),
    ("decrypt  rustcrypto verify+decrypt_at", |b| {
        b.work.copy_from_slice(&b.ct);
        time(&mut || verify_then_decrypt::<RustCrypto>(&mut b.work, &b.tag))
    }),
    ("decrypt  awslc verify+decrypt_at", |b| {
        b.work.copy_from_slice(&b.ct);
        time(&mut || verify_then_decrypt::<AwsLc>(&mut b.work, &b.tag))
    }),
    ("decrypt  rustcrypto open_in_place", |b| {
        b.work_body.copy_from_slice(&b.body);
        time(&mut || {
            core::hint::black_box(
                open_in_place_with::<RustCrypto>(&KEY, &IV, b"", &mut b.work_body).unwrap(),
            );
        })
    }),
    ("decrypt  awslc open_in_place", |b| {
        b.work_body.copy_from_slice(&b.body);
        time(&mut || {
            core::hint::black_box(
                open_in_place_with::<AwsLc>(&KEY, &IV, b"", &mut b.work_body).unwrap(),
            );
        })
    }),
    ("decrypt  awslc unverified stream", |b| {
        b.work.copy_from_slice(&b.ct);
        time(&mut || unverified::<AwsLc>(&mut b.work, &b.tag))
    }),
    ("decrypt  aws-lc-rs one-shot (ref)", |b| {
        b.work_body.copy_from_slice(&b.body);
        time(&mut || ref_open(&b.reference, &mut b.work_body))
    }),
    ("encrypt  aes-gcm one-shot (rc ref)", |b| {
        time(&mut || rc_seal(&b.rustcrypto, &mut b.plain))
    }),
    ("decrypt  aes-gcm one-shot (rc ref)", |b| {
        b.work.copy_from_slice(&b.ct);
        time(&mut || rc_open(&b.rustcrypto, &mut b.work, &b.tag))
    }),
];

/// Index of each direction's reference in [`CONTENDERS`].
const ENCRYPT_REF: usize = 2;
const DECRYPT_REF: usize = 8;
/// RustCrypto's one-shot (`aes-gcm`) in each direction.
const ENCRYPT_RC_REF: usize = 9;
const DECRYPT_RC_REF: usize = 10;

/// The interleaved rounds: every contender once per round, the starting
/// contender rotating from round to round; the best time of each over all
/// rounds. Each timed run directly follows an untimed run of the same
/// contender, so none is measured cold after a different one (on CPUs with
/// AVX-512, code using 512-bit registers right after code that does not
/// runs throttled for some microseconds while the core changes its power
/// licence: without the warm-up, whichever AWS-LC contender follows the
/// RustCrypto one loses ~10% at 1 MiB).
fn ratios() {
    for (len, rounds) in [(1usize << 20, 300usize), (64 << 20, 40)] {
        let (ct, tag) = sealed(len);
        let mut body = ct.clone();
        body.extend_from_slice(&tag);
        let mut b = Bufs {
            reference: reference(),
            rustcrypto: Aes256Gcm::new(&KEY.into()),
            plain: data(len),
            work: ct.clone(),
            work_body: body.clone(),
            ct,
            tag,
            body,
        };
        let n = CONTENDERS.len();
        let mut best = [f64::MAX; CONTENDERS.len()];
        for round in 0..rounds {
            for k in 0..n {
                let i = (round + k) % n;
                let run = CONTENDERS[i].1;
                // Untimed warm-up, then the timed run.
                run(&mut b);
                best[i] = best[i].min(run(&mut b));
            }
        }
        let gib = |t: f64| len as f64 / t / (1u64 << 30) as f64;
        println!(
            "size {} MiB, best of {rounds} interleaved rounds \
             (ratio = throughput / aws-lc-rs one-shot, rc = throughput / \
             aes-gcm one-shot, same direction):",
            len >> 20
        );
        for (i, (name, _)) in CONTENDERS.iter().enumerate() {
            let encrypt = name.starts_with("encrypt");
            let (r, rc) = if encrypt {
                (ENCRYPT_REF, ENCRYPT_RC_REF)
            } else {
                (DECRYPT_REF, DECRYPT_RC_REF)
            };
            println!(
                "  {name:<40} {:7.2} GiB/s   ratio {:.3}   rc {:.3}",
                gib(best[i]),
                best[r] / best[i],
                best[rc] / best[i]
            );
        }
    }
}

fn main() {
    if std::env::var_os("S3EC_BENCH_SKIP_CRITERION").is_none() {
        let mut c = Criterion::default().configure_from_args();
        encrypt(&mut c);
        decrypt(&mut c);
        c.final_summary();
    }
    ratios();
}

//! Wrap (`on_encrypt`: fresh data key + wrap) and unwrap (`on_decrypt`) for
//! the AES keyring (256-bit master key) and the RSA keyring (2048 and 4096
//! bits).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use s3ec_core::Suite;
use s3ec_keyring::{Context, DecryptRequest, EncryptRequest, Keyring, LegacyOptions};
use s3ec_local::{AesKeyring, RsaKeyring};

fn bench_ring(c: &mut Criterion, name: &str, ring: &dyn Keyring) {
    let none = Context::new();
    let enc = EncryptRequest {
        suite: Suite::AesGcmCommitting,
        context: &none,
    };
    c.bench_function(&format!("{name}/wrap"), |b| {
        b.iter(|| ring.on_encrypt(black_box(&enc)).unwrap())
    });
    let mats = ring.on_encrypt(&enc).unwrap();
    let req = DecryptRequest {
        suite: Suite::AesGcmCommitting,
        wrap: mats.encrypted.wrap,
        encrypted_key: &mats.encrypted.ciphertext,
        cek_alg: "115",
        stored_map: &mats.encrypted.stored_map,
        expected_context: None,
        legacy: LegacyOptions::default(),
    };
    c.bench_function(&format!("{name}/unwrap"), |b| {
        b.iter(|| ring.on_decrypt(black_box(&req)).unwrap().unwrap())
    });
}

fn rsa(bits: KeySize) -> RsaKeyring {
    let key = PrivateDecryptingKey::generate(bits).unwrap();
    RsaKeyring::from_private_key_der(key.as_der().unwrap().as_ref()).unwrap()
}

fn benches(c: &mut Criterion) {
    bench_ring(c, "aes-256", &AesKeyring::new(&[0x42; 32]).unwrap());
    bench_ring(c, "rsa-2048", &rsa(KeySize::Rsa2048));
    bench_ring(c, "rsa-4096", &rsa(KeySize::Rsa4096));
}

criterion_group!(wrap, benches);
criterion_main!(wrap);

//! Helpers shared by the integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::PathBuf;

use s3ec_core::{Suite, WrapAlg};
use s3ec_keyring::{
    Context, DecryptRequest, EncryptRequest, EncryptionMaterials, Keyring, LegacyOptions,
};

/// Both suites a current client writes.
pub const SUITES: [Suite; 2] = [Suite::AesGcm, Suite::AesGcmCommitting];

pub fn ctx(pairs: &[(&str, &str)]) -> Context {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The suite a stored content-cipher string names (GCM if unknown, as a
/// tampered object would be read).
pub fn suite_of(cek_alg: &str) -> Suite {
    Suite::from_cek_alg(cek_alg)
        .or_else(|| Suite::from_v3_content_cipher(cek_alg))
        .unwrap_or(Suite::AesGcm)
}

pub fn legacy(on: bool) -> LegacyOptions {
    if on {
        LegacyOptions::ALL
    } else {
        LegacyOptions::default()
    }
}

pub fn dreq<'a>(
    wrap: WrapAlg,
    edk: &'a [u8],
    cek_alg: &'a str,
    stored: &'a Context,
    legacy_on: bool,
) -> DecryptRequest<'a> {
    DecryptRequest {
        suite: suite_of(cek_alg),
        wrap,
        encrypted_key: edk,
        cek_alg,
        stored_map: stored,
        expected_context: None,
        legacy: legacy(legacy_on),
    }
}

pub fn encrypt(ring: &dyn Keyring, suite: Suite) -> EncryptionMaterials {
    let none = Context::new();
    ring.on_encrypt(&EncryptRequest {
        suite,
        context: &none,
    })
    .unwrap()
}

/// A file of `tests/data/`.
pub fn data(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn data_str(name: &str) -> String {
    String::from_utf8(data(name)).unwrap()
}

#[path = "../../../s3ec-testkit/src/shared.rs"]
pub mod shared;

//! Property tests: arbitrary encrypted data keys, content-cipher strings,
//! material descriptions and key bytes never panic and never yield a key
//! that was not wrapped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use s3ec_core::{Suite, WrapAlg};
use s3ec_keyring::{Context, Keyring, KeyringError};
use s3ec_local::{AesKeyring, RsaKeyring};

const WRAPS: [WrapAlg; 8] = [
    WrapAlg::KmsContext,
    WrapAlg::AesGcm,
    WrapAlg::RsaOaepSha1,
    WrapAlg::Kms,
    WrapAlg::AesWrap,
    WrapAlg::RsaOaepSha256,
    WrapAlg::AesEcb,
    WrapAlg::RsaPkcs1,
];

fn rsa() -> &'static RsaKeyring {
    static K: OnceLock<RsaKeyring> = OnceLock::new();
    K.get_or_init(|| RsaKeyring::from_pem(&data_str("rsa2048-pkcs1.pem")).unwrap())
}

fn aes() -> AesKeyring {
    AesKeyring::new(&[0x24; 32]).unwrap()
}

fn cek_alg() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("115".to_string()),
        Just("AES/GCM/NoPadding".to_string()),
        Just("AES/CBC/PKCS5Padding".to_string()),
        ".{0,24}",
    ]
}

/// Encrypted data keys around the lengths each wrap expects, plus anything.
fn edk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80),
        prop::collection::vec(any::<u8>(), 255..=257),
        prop::collection::vec(any::<u8>(), 60..=60),
        prop::collection::vec(any::<u8>(), 40..=48),
    ]
}

fn outcome_is_sane(r: &Result<Option<s3ec_core::DataKey>, KeyringError>) -> bool {
    match r {
        // A random blob is not a valid wrap; the only keys that can come
        // out are from unauthenticated legacy wraps (padding checks pass by
        // chance), and then they have a valid length.
        Ok(Some(k)) => matches!(k.len(), 16 | 24 | 32),
        Ok(None) | Err(_) => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_edk_never_panics(
        edk in edk(),
        cek in cek_alg(),
        wrap in prop::sample::select(&WRAPS[..]),
        legacy_on in any::<bool>(),
        theirs in any::<bool>(),
    ) {
        let stored = if theirs { ctx(&[("k", "v")]) } else { Context::new() };
        for ring in [&aes() as &dyn Keyring, rsa() as &dyn Keyring] {
            let r = ring.on_decrypt(&dreq(wrap, &edk, &cek, &stored, legacy_on));
            prop_assert!(outcome_is_sane(&r), "{wrap:?}: {r:?}");
            // The authenticated wraps never accept a random blob.
            if matches!(wrap, WrapAlg::AesGcm | WrapAlg::RsaOaepSha1) {
                prop_assert!(!matches!(r, Ok(Some(_))));
            }
            if wrap.is_legacy() && !legacy_on && !matches!(r, Ok(None)) {
                let refused = matches!(r, Err(KeyringError::LegacyWrappingDisabled { .. }));
                prop_assert!(refused, "{:?}", r);
            }
        }
    }

    #[test]
    fn mutated_wraps_never_give_another_key(
        flips in prop::collection::vec((any::<usize>(), 1u8..=255), 1..4),
        suite in prop::sample::select(&SUITES[..]),
        use_rsa in any::<bool>(),
    ) {
        let ring: &dyn Keyring = if use_rsa { rsa() } else { &aes() };
        let m = encrypt(ring, suite);
        let mut edk = m.encrypted.ciphertext.clone();
        for (i, x) in &flips {
            let n = edk.len();
            edk[i % n] ^= x;
        }
        let stored = m.encrypted.stored_map.clone();
        let r = ring.on_decrypt(&dreq(m.encrypted.wrap, &edk, suite.cek_alg(), &stored, true));
        match r {
            Ok(Some(k)) => prop_assert_eq!(k.as_bytes(), m.data_key.as_bytes()),
            Ok(None) => prop_assert!(false, "own description: never 'not mine'"),
            Err(e) => prop_assert!(matches!(e, KeyringError::UnwrapFailed), "{e:?}"),
        }
    }

    #[test]
    fn arbitrary_key_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = RsaKeyring::from_private_key_der(&bytes);
        let _ = RsaKeyring::from_public_key_der(&bytes);
        let _ = AesKeyring::new(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        for label in ["RSA PRIVATE KEY", "PRIVATE KEY", "PUBLIC KEY", "RSA PUBLIC KEY"] {
            let pem = format!("-----BEGIN {label}-----\n{text}\n-----END {label}-----\n");
            let invalid = matches!(RsaKeyring::from_pem(&pem), Err(KeyringError::InvalidKey { .. }));
            prop_assert!(invalid, "{}", label);
        }
    }

    #[test]
    fn mutated_real_keys_never_panic(
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        which in 0usize..3,
    ) {
        let pem = data_str(["rsa2048-pkcs1.pem", "rsa2048-pkcs8.pem", "rsa2048-spki.pem"][which]);
        let mut der = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap().1;
        for (i, x) in &flips {
            let n = der.len();
            der[i % n] ^= x;
        }
        let end = cut.index(der.len() + 1);
        let der = &der[..end];
        let _ = RsaKeyring::from_private_key_der(der);
        let _ = RsaKeyring::from_public_key_der(der);
    }
}

#[test]
fn rsa_keyring_encrypts_for_both_suites() {
    for suite in [Suite::AesGcm, Suite::AesGcmCommitting] {
        assert_eq!(encrypt(rsa(), suite).encrypted.ciphertext.len(), 256);
    }
}

//! The AES keyring: round trips, binding, material-description rule, legacy
//! gating, negative cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use s3ec_core::{DataKey, Suite, WrapAlg};
use s3ec_keyring::{Context, EncryptRequest, Keyring, KeyringError, Keyrings};
use s3ec_local::AesKeyring;

const SIZES: [usize; 3] = [16, 24, 32];

fn key(n: usize, seed: u8) -> Vec<u8> {
    (0..n as u8).map(|i| i.wrapping_mul(7) ^ seed).collect()
}

#[test]
fn round_trip_every_key_size_and_suite() {
    for n in SIZES {
        let desc = ctx(&[("key", "primary"), ("owner", "Zoë ☃")]);
        for with_desc in [false, true] {
            let mut ring = AesKeyring::new(&key(n, 1)).unwrap();
            if with_desc {
                ring = ring.with_material_description(desc.clone());
            }
            assert_eq!(ring.key_size_bits(), n * 8);
            for suite in SUITES {
                let m = encrypt(&ring, suite);
                assert_eq!(m.data_key.len(), 32, "always a 256-bit data key");
                assert_eq!(m.encrypted.wrap, WrapAlg::AesGcm);
                assert_eq!(m.encrypted.ciphertext.len(), 60);
                assert_eq!(m.encrypted.stored_map, *ring.material_description());
                let stored = m.encrypted.stored_map.clone();
                let dk = ring
                    .on_decrypt(&dreq(
                        WrapAlg::AesGcm,
                        &m.encrypted.ciphertext,
                        suite.cek_alg(),
                        &stored,
                        false,
                    ))
                    .unwrap()
                    .expect("own object");
                assert_eq!(dk.as_bytes(), m.data_key.as_bytes());
            }
        }
    }
}

#[test]
fn fresh_data_key_and_nonce_per_object() {
    let ring = AesKeyring::new(&key(32, 2)).unwrap();
    let a = encrypt(&ring, Suite::AesGcmCommitting);
    let b = encrypt(&ring, Suite::AesGcmCommitting);
    assert_ne!(a.data_key.as_bytes(), b.data_key.as_bytes());
    assert_ne!(a.encrypted.ciphertext[..12], b.encrypted.ciphertext[..12]);
}

#[test]
fn invalid_master_keys() {
    for n in [0, 1, 15, 17, 20, 31, 33, 48, 64] {
        match AesKeyring::new(&vec![0u8; n]) {
            Err(KeyringError::InvalidKey { reason }) => assert!(reason.contains(&n.to_string())),
            other => panic!("{n}: {other:?}"),
        }
    }
}

#[test]
fn debug_prints_no_secret() {
    let ring = AesKeyring::new(&[0xab; 32]).unwrap();
    let s = format!("{ring:?}");
    assert!(s.contains("256"), "{s}");
    assert!(
        !s.contains("171") && !s.to_lowercase().contains("ab, "),
        "{s}"
    );
    let s = format!("{:?}", encrypt(&ring, Suite::AesGcm).data_key);
    assert!(s.contains("redacted"), "{s}");
}

#[test]
fn refuses_per_request_context_and_legacy_suite() {
    let ring = AesKeyring::new(&key(32, 3)).unwrap();
    let c = ctx(&[("a", "b")]);
    assert!(matches!(
        ring.on_encrypt(&EncryptRequest {
            suite: Suite::AesGcm,
            context: &c
        }),
        Err(KeyringError::ContextNotSupported)
    ));
    let none = Context::new();
    assert!(matches!(
        ring.on_encrypt(&EncryptRequest {
            suite: Suite::AesCbc,
            context: &none
        }),
        Err(KeyringError::Core(_))
    ));
}

#[test]
fn other_keyrings_wraps_are_not_mine() {
    let ring = AesKeyring::new(&key(32, 4)).unwrap();
    let none = Context::new();
    for wrap in [
        WrapAlg::KmsContext,
        WrapAlg::Kms,
        WrapAlg::RsaOaepSha1,
        WrapAlg::RsaOaepSha256,
        WrapAlg::RsaPkcs1,
    ] {
        for legacy_on in [false, true] {
            let r = ring.on_decrypt(&dreq(wrap, &[0u8; 60], "115", &none, legacy_on));
            assert!(matches!(r, Ok(None)), "{wrap:?}: {r:?}");
        }
    }
}

#[test]
fn wrong_key_follows_the_material_description_rule() {
    let desc = ctx(&[("key", "k1")]);
    let writer = AesKeyring::new(&key(32, 5))
        .unwrap()
        .with_material_description(desc.clone());
    let m = encrypt(&writer, Suite::AesGcmCommitting);
    let edk = &m.encrypted.ciphertext;

    // Same description, wrong key: "my key, failed".
    let same = AesKeyring::new(&key(32, 6))
        .unwrap()
        .with_material_description(desc.clone());
    assert!(matches!(
        same.on_decrypt(&dreq(WrapAlg::AesGcm, edk, "115", &desc, false)),
        Err(KeyringError::UnwrapFailed)
    ));
    // Different description, wrong key: "not mine".
    let other = AesKeyring::new(&key(16, 6)).unwrap();
    assert!(matches!(
        other.on_decrypt(&dreq(WrapAlg::AesGcm, edk, "115", &desc, false)),
        Ok(None)
    ));
    // Different description, right key: still decrypts (errata E4).
    let reader = AesKeyring::new(&key(32, 5)).unwrap();
    let dk = reader
        .on_decrypt(&dreq(WrapAlg::AesGcm, edk, "115", &desc, false))
        .unwrap()
        .unwrap();
    assert_eq!(dk.as_bytes(), m.data_key.as_bytes());
    // A replaced (unauthenticated) description does not stop the right key.
    let forged = ctx(&[("key", "someone-else")]);
    assert!(writer
        .on_decrypt(&dreq(WrapAlg::AesGcm, edk, "115", &forged, false))
        .unwrap()
        .is_some());

    // Key rotation: the old key answers "not mine", the new one decrypts.
    let rings = Keyrings::new().with(other).with(reader);
    assert!(rings
        .on_decrypt(&dreq(WrapAlg::AesGcm, edk, "115", &desc, false))
        .unwrap()
        .is_some());
}

#[test]
fn tampered_edk_fails() {
    let ring = AesKeyring::new(&key(24, 7)).unwrap();
    let m = encrypt(&ring, Suite::AesGcm);
    let empty = Context::new();
    for i in 0..m.encrypted.ciphertext.len() {
        let mut edk = m.encrypted.ciphertext.clone();
        edk[i] ^= 0x01;
        let r = ring.on_decrypt(&dreq(
            WrapAlg::AesGcm,
            &edk,
            "AES/GCM/NoPadding",
            &empty,
            false,
        ));
        assert!(
            matches!(r, Err(KeyringError::UnwrapFailed)),
            "byte {i}: {r:?}"
        );
    }
    // Truncated or extended: a format error, whoever's key it is.
    for edk in [
        &m.encrypted.ciphertext[..59],
        &[m.encrypted.ciphertext.as_slice(), &[0]].concat()[..],
    ] {
        let r = ring.on_decrypt(&dreq(
            WrapAlg::AesGcm,
            edk,
            "AES/GCM/NoPadding",
            &empty,
            false,
        ));
        assert!(matches!(r, Err(KeyringError::Core(_))), "{r:?}");
    }
}

#[test]
fn cek_alg_relabel_fails_to_unwrap() {
    let ring = AesKeyring::new(&key(32, 8)).unwrap();
    let empty = Context::new();
    for suite in SUITES {
        let m = encrypt(&ring, suite);
        for other in [
            "AES/CBC/PKCS5Padding",
            "AES/CBC/PKCS7Padding",
            "AES/GCM/NoPadding",
            "115",
            "",
        ] {
            if other == suite.cek_alg() {
                continue;
            }
            for legacy_on in [false, true] {
                let r = ring.on_decrypt(&dreq(
                    WrapAlg::AesGcm,
                    &m.encrypted.ciphertext,
                    other,
                    &empty,
                    legacy_on,
                ));
                assert!(
                    matches!(r, Err(KeyringError::UnwrapFailed)),
                    "{suite:?} read as {other}: {r:?}"
                );
            }
        }
        // With a description that is not ours the relabel is "not mine":
        // still no key.
        let theirs = ctx(&[("k", "v")]);
        let r = ring.on_decrypt(&dreq(
            WrapAlg::AesGcm,
            &m.encrypted.ciphertext,
            "AES/CBC/PKCS5Padding",
            &theirs,
            true,
        ));
        assert!(matches!(r, Ok(None)), "{r:?}");
    }
}

#[test]
fn legacy_wraps_round_trip_only_when_enabled() {
    for n in SIZES {
        let ring = AesKeyring::new(&key(n, 9)).unwrap();
        let empty = Context::new();
        for dk_len in [16, 24, 32] {
            let dk = DataKey::from_slice(&vec![0x5a; dk_len]).unwrap();
            for wrap in [WrapAlg::AesWrap, WrapAlg::AesEcb] {
                let edk = ring.legacy_wrap(wrap, &dk).unwrap();
                // Disabled (the default): refused, naming the wrap.
                match ring.on_decrypt(&dreq(wrap, &edk, "AES/GCM/NoPadding", &empty, false)) {
                    Err(e @ KeyringError::LegacyWrappingDisabled { wrap: w }) => {
                        assert_eq!(w, wrap);
                        assert!(e.to_string().contains(wrap.name()), "{e}");
                    }
                    other => panic!("{wrap:?}: {other:?}"),
                }
                // Enabled: unwraps (legacy wraps bind no cek-alg).
                for cek in ["AES/GCM/NoPadding", "AES/CBC/PKCS5Padding"] {
                    let back = ring
                        .on_decrypt(&dreq(wrap, &edk, cek, &empty, true))
                        .unwrap()
                        .unwrap();
                    assert_eq!(back.as_bytes(), dk.as_bytes());
                }
                // Wrong key, same (empty) description: failed; another
                // description: not mine.
                let wrong = AesKeyring::new(&key(n, 10)).unwrap();
                let r = wrong.on_decrypt(&dreq(wrap, &edk, "AES/GCM/NoPadding", &empty, true));
                assert!(matches!(r, Err(KeyringError::UnwrapFailed)), "{r:?}");
                let theirs = ctx(&[("k", "v")]);
                let r = wrong.on_decrypt(&dreq(wrap, &edk, "AES/GCM/NoPadding", &theirs, true));
                assert!(matches!(r, Ok(None)), "{r:?}");
            }
        }
        assert!(matches!(
            ring.legacy_wrap(WrapAlg::AesGcm, &DataKey::from_slice(&[1; 32]).unwrap()),
            Err(KeyringError::UnsupportedWrap { .. })
        ));
    }
}

//! The RSA keyring: key formats, round trips, OpenSSL-made vectors for
//! every wrap, binding, material-description rule, legacy gating, negative
//! cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
use common::*;
use s3ec_core::{DataKey, Suite, WrapAlg};
use s3ec_keyring::{Context, EncryptRequest, Keyring, KeyringError};
use s3ec_local::{LegacyRsaWrap, RsaKeyring};

/// The data key of the OpenSSL-made vectors: `00 01 ... 1f`.
fn vector_dk() -> Vec<u8> {
    (0u8..32).collect()
}

fn ring2048() -> RsaKeyring {
    RsaKeyring::from_private_key_pem(&data_str("rsa2048-pkcs1.pem")).unwrap()
}

/// A second, unrelated 2048-bit key pair (generated once).
fn other2048() -> &'static RsaKeyring {
    static K: OnceLock<RsaKeyring> = OnceLock::new();
    K.get_or_init(|| {
        let k = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
        RsaKeyring::from_private_key_der(k.as_der().unwrap().as_ref()).unwrap()
    })
}

fn pem_body_der(pem: &str) -> Vec<u8> {
    pem_rfc7468::decode_vec(pem.as_bytes()).unwrap().1
}

fn assert_invalid(r: Result<RsaKeyring, KeyringError>, what: &str) {
    match r {
        Err(KeyringError::InvalidKey { reason }) => {
            assert!(!reason.is_empty(), "{what}");
        }
        other => panic!("{what}: expected InvalidKey, got {other:?}"),
    }
}

#[test]
fn every_key_format_is_the_same_key() {
    let pkcs1 = data_str("rsa2048-pkcs1.pem");
    let pkcs8 = data_str("rsa2048-pkcs8.pem");
    let spki = data_str("rsa2048-spki.pem");
    let pkcs1_pub = data_str("rsa2048-pkcs1-pub.pem");
    let privs = [
        RsaKeyring::from_private_key_pem(&pkcs1).unwrap(),
        RsaKeyring::from_private_key_pem(&pkcs8).unwrap(),
        RsaKeyring::from_pem(&pkcs1).unwrap(),
        RsaKeyring::from_pem(&pkcs8).unwrap(),
        RsaKeyring::from_private_key_der(&pem_body_der(&pkcs1)).unwrap(),
        RsaKeyring::from_private_key_der(&pem_body_der(&pkcs8)).unwrap(),
        // CRLF line endings.
        RsaKeyring::from_private_key_pem(&pkcs8.replace('\n', "\r\n")).unwrap(),
    ];
    let pubs = [
        RsaKeyring::from_public_key_pem(&spki).unwrap(),
        RsaKeyring::from_public_key_pem(&pkcs1_pub).unwrap(),
        RsaKeyring::from_pem(&spki).unwrap(),
        RsaKeyring::from_public_key_der(&pem_body_der(&spki)).unwrap(),
        RsaKeyring::from_public_key_der(&pem_body_der(&pkcs1_pub)).unwrap(),
    ];
    let spki_der = pem_body_der(&spki);
    for r in privs.iter() {
        assert!(r.can_decrypt());
        assert_eq!(r.key_size_bits(), 2048);
        assert_eq!(r.public_key_der(), spki_der);
    }
    for r in pubs.iter() {
        assert!(!r.can_decrypt());
        assert_eq!(r.public_key_der(), spki_der);
    }
    // Every writer's objects open with every private form.
    for w in privs.iter().chain(pubs.iter()) {
        let m = encrypt(w, Suite::AesGcmCommitting);
        let stored = m.encrypted.stored_map.clone();
        for r in privs.iter() {
            let dk = r
                .on_decrypt(&dreq(
                    WrapAlg::RsaOaepSha1,
                    &m.encrypted.ciphertext,
                    "115",
                    &stored,
                    false,
                ))
                .unwrap()
                .unwrap();
            assert_eq!(dk.as_bytes(), m.data_key.as_bytes());
        }
    }
}

#[test]
fn wrong_kind_of_pem_is_refused() {
    assert_invalid(
        RsaKeyring::from_private_key_pem(&data_str("rsa2048-spki.pem")),
        "public as private",
    );
    assert_invalid(
        RsaKeyring::from_public_key_pem(&data_str("rsa2048-pkcs8.pem")),
        "private as public",
    );
    assert_invalid(
        RsaKeyring::from_pem(&data_str("rsa2048-encrypted-pkcs8.pem")),
        "encrypted pkcs8",
    );
    // A private key's DER read as a public key and the reverse.
    let p8 = pem_body_der(&data_str("rsa2048-pkcs8.pem"));
    let spki = pem_body_der(&data_str("rsa2048-spki.pem"));
    assert_invalid(RsaKeyring::from_public_key_der(&p8), "pkcs8 der as public");
    assert_invalid(
        RsaKeyring::from_private_key_der(&spki),
        "spki der as private",
    );
}

#[test]
fn key_sizes() {
    // Too small and too large are refused with a reason saying so.
    match RsaKeyring::from_pem(&data_str("rsa1024-pkcs1.pem")) {
        Err(KeyringError::InvalidKey { reason }) => assert!(reason.contains("small"), "{reason}"),
        other => panic!("{other:?}"),
    }
    match RsaKeyring::from_pem(&data_str("rsa8200-too-large-spki.pem")) {
        Err(KeyringError::InvalidKey { reason }) => assert!(reason.contains("large"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // 8192 bits, the largest: a round trip and a legacy unwrap.
    let big = RsaKeyring::from_pem(&data_str("rsa8192-pkcs1.pem")).unwrap();
    assert_eq!(big.key_size_bits(), 8192);
    let m = encrypt(&big, Suite::AesGcm);
    assert_eq!(m.encrypted.ciphertext.len(), 1024);
    let empty = Context::new();
    let dk = big
        .on_decrypt(&dreq(
            WrapAlg::RsaOaepSha1,
            &m.encrypted.ciphertext,
            "AES/GCM/NoPadding",
            &empty,
            false,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(dk.as_bytes(), m.data_key.as_bytes());
    // 3072 bits, generated.
    let k = PrivateDecryptingKey::generate(KeySize::Rsa3072).unwrap();
    let r = RsaKeyring::from_private_key_der(k.as_der().unwrap().as_ref()).unwrap();
    assert_eq!(r.key_size_bits(), 3072);
    let m = encrypt(&r, Suite::AesGcmCommitting);
    assert_eq!(m.encrypted.ciphertext.len(), 384);
}

#[test]
fn garbage_and_truncated_keys_never_panic() {
    let pkcs1 = data_str("rsa2048-pkcs1.pem");
    let pkcs8 = data_str("rsa2048-pkcs8.pem");
    let spki = data_str("rsa2048-spki.pem");
    let garbage = [
        "",
        "   ",
        "hello",
        "-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    ];
    for g in garbage {
        assert_invalid(RsaKeyring::from_pem(g), g);
        assert_invalid(RsaKeyring::from_private_key_pem(g), g);
        assert_invalid(RsaKeyring::from_public_key_pem(g), g);
    }
    // Every truncation of a PEM (by line) and of its DER.
    for pem in [&pkcs1, &pkcs8, &spki] {
        let lines: Vec<&str> = pem.lines().collect();
        for n in 0..lines.len() {
            let cut = lines[..n].join("\n");
            assert_invalid(RsaKeyring::from_pem(&cut), "truncated pem");
        }
        let der = pem_body_der(pem);
        for n in (0..der.len()).step_by(7) {
            assert_invalid(
                RsaKeyring::from_private_key_der(&der[..n]),
                "truncated der (private)",
            );
            assert_invalid(
                RsaKeyring::from_public_key_der(&der[..n]),
                "truncated der (public)",
            );
        }
        // Trailing data after a valid key.
        let mut long = der.clone();
        long.push(0);
        assert_invalid(RsaKeyring::from_private_key_der(&long), "trailing byte");
        assert_invalid(RsaKeyring::from_public_key_der(&long), "trailing byte");
        // A flipped tag byte.
        let mut bad = der.clone();
        bad[0] ^= 0xff;
        assert_invalid(RsaKeyring::from_private_key_der(&bad), "bad tag");
        assert_invalid(RsaKeyring::from_public_key_der(&bad), "bad tag");
    }
    assert_invalid(RsaKeyring::from_private_key_der(&[0x30; 70_000]), "huge");
}

#[test]
fn round_trip_both_suites_with_description() {
    let desc = ctx(&[("purpose", "test"), ("owner", "Zoë Ångström ☃ 東京")]);
    let ring = ring2048().with_material_description(desc.clone());
    for suite in SUITES {
        let m = encrypt(&ring, suite);
        assert_eq!(m.data_key.len(), 32);
        assert_eq!(m.encrypted.wrap, WrapAlg::RsaOaepSha1);
        assert_eq!(m.encrypted.ciphertext.len(), 256);
        assert_eq!(m.encrypted.stored_map, desc);
        let dk = ring
            .on_decrypt(&dreq(
                WrapAlg::RsaOaepSha1,
                &m.encrypted.ciphertext,
                suite.cek_alg(),
                &desc,
                false,
            ))
            .unwrap()
            .unwrap();
        assert_eq!(dk.as_bytes(), m.data_key.as_bytes());
    }
}

#[test]
fn refuses_per_request_context() {
    let c = ctx(&[("a", "b")]);
    assert!(matches!(
        ring2048().on_encrypt(&EncryptRequest {
            suite: Suite::AesGcm,
            context: &c
        }),
        Err(KeyringError::ContextNotSupported)
    ));
}

#[test]
fn debug_prints_no_secret() {
    let s = format!("{:?}", ring2048());
    assert!(s.contains("2048") && s.contains("can_decrypt: true"), "{s}");
    assert!(s.len() < 200, "{s}");
}

#[test]
fn public_key_only_cannot_decrypt() {
    let w = RsaKeyring::from_public_key_pem(&data_str("rsa2048-spki.pem")).unwrap();
    let m = encrypt(&w, Suite::AesGcm);
    let empty = Context::new();
    let r = w.on_decrypt(&dreq(
        WrapAlg::RsaOaepSha1,
        &m.encrypted.ciphertext,
        "AES/GCM/NoPadding",
        &empty,
        false,
    ));
    assert!(matches!(r, Err(KeyringError::InvalidKey { .. })), "{r:?}");
    // Other keyrings' wraps are still "not mine".
    let r = w.on_decrypt(&dreq(WrapAlg::AesGcm, &[0; 60], "115", &empty, false));
    assert!(matches!(r, Ok(None)), "{r:?}");
}

#[test]
fn openssl_vectors_every_wrap() {
    let ring = ring2048();
    let empty = Context::new();
    let dk = vector_dk();

    // RSA-OAEP-SHA1 of the V3 pseudo key.
    let edk = data("edk-oaep-sha1-115.bin");
    let got = ring
        .on_decrypt(&dreq(WrapAlg::RsaOaepSha1, &edk, "115", &empty, false))
        .unwrap()
        .unwrap();
    assert_eq!(got.as_bytes(), &dk[..]);
    // Relabelled: the pseudo key says 115.
    for other in ["AES/GCM/NoPadding", "AES/CBC/PKCS5Padding", "11", "1150"] {
        let r = ring.on_decrypt(&dreq(WrapAlg::RsaOaepSha1, &edk, other, &empty, true));
        assert!(
            matches!(r, Err(KeyringError::CekAlgMismatch)),
            "{other}: {r:?}"
        );
    }

    // Legacy wraps: refused unless enabled, then unwrap to the raw key.
    for (file, wrap) in [
        ("edk-pkcs1v15.bin", WrapAlg::RsaPkcs1),
        ("edk-oaep256-mgf1sha1.bin", WrapAlg::RsaOaepSha256),
        ("edk-oaep256-mgf1sha256.bin", WrapAlg::RsaOaepSha256),
    ] {
        let edk = data(file);
        match ring.on_decrypt(&dreq(wrap, &edk, "AES/GCM/NoPadding", &empty, false)) {
            Err(e @ KeyringError::LegacyWrappingDisabled { wrap: w }) => {
                assert_eq!(w, wrap);
                assert!(e.to_string().contains(wrap.name()), "{e}");
            }
            other => panic!("{file}: {other:?}"),
        }
        for cek in ["AES/GCM/NoPadding", "AES/CBC/PKCS5Padding"] {
            let got = ring
                .on_decrypt(&dreq(wrap, &edk, cek, &empty, true))
                .unwrap()
                .unwrap_or_else(|| panic!("{file}"));
            assert_eq!(got.as_bytes(), &dk[..], "{file}");
        }
        // The wrong legacy reading of the same bytes fails.
        let swapped = if wrap == WrapAlg::RsaPkcs1 {
            WrapAlg::RsaOaepSha256
        } else {
            WrapAlg::RsaPkcs1
        };
        let r = ring.on_decrypt(&dreq(swapped, &edk, "AES/GCM/NoPadding", &empty, true));
        if swapped == WrapAlg::RsaPkcs1 {
            // Implicit rejection: a stand-in key, not the data key.
            assert_stand_in(&r, &dk, file);
        } else {
            assert!(
                matches!(r, Err(KeyringError::UnwrapFailed)),
                "{file}: {r:?}"
            );
        }
    }
}

#[test]
fn legacy_wrap_round_trips() {
    let ring = ring2048();
    let empty = Context::new();
    for variant in [
        LegacyRsaWrap::Pkcs1V15,
        LegacyRsaWrap::OaepSha256Mgf1Sha1,
        LegacyRsaWrap::OaepSha256Mgf1Sha256,
    ] {
        for n in [16, 24, 32] {
            let dk = DataKey::from_slice(&vec![0x3c; n]).unwrap();
            let edk = ring.legacy_wrap(variant, &dk).unwrap();
            assert_eq!(edk.len(), 256);
            let got = ring
                .on_decrypt(&dreq(
                    variant.wrap_alg(),
                    &edk,
                    "AES/CBC/PKCS5Padding",
                    &empty,
                    true,
                ))
                .unwrap()
                .unwrap();
            assert_eq!(got.as_bytes(), dk.as_bytes(), "{variant:?}");
        }
    }
    // A public-key-only keyring can make them too.
    let w = RsaKeyring::from_public_key_pem(&data_str("rsa2048-spki.pem")).unwrap();
    let dk = DataKey::from_slice(&[9; 32]).unwrap();
    let edk = w
        .legacy_wrap(LegacyRsaWrap::OaepSha256Mgf1Sha1, &dk)
        .unwrap();
    let got = ring
        .on_decrypt(&dreq(
            WrapAlg::RsaOaepSha256,
            &edk,
            "AES/GCM/NoPadding",
            &empty,
            true,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(got.as_bytes(), dk.as_bytes());
}

#[test]
fn wrong_key_follows_the_material_description_rule() {
    let desc = ctx(&[("key", "rsa-1")]);
    let ring = ring2048().with_material_description(desc.clone());
    let wrong_same_desc = other2048().clone().with_material_description(desc.clone());
    let wrong_other_desc = other2048().clone();
    let m = encrypt(&ring, Suite::AesGcmCommitting);
    let mut edks = vec![(WrapAlg::RsaOaepSha1, m.encrypted.ciphertext.clone())];
    for v in [
        LegacyRsaWrap::Pkcs1V15,
        LegacyRsaWrap::OaepSha256Mgf1Sha1,
        LegacyRsaWrap::OaepSha256Mgf1Sha256,
    ] {
        let dk = DataKey::from_slice(&[1; 32]).unwrap();
        edks.push((v.wrap_alg(), ring.legacy_wrap(v, &dk).unwrap()));
    }
    for (wrap, edk) in &edks {
        if *wrap == WrapAlg::RsaPkcs1 {
            // V1 `RSA`: implicit rejection whatever the description says.
            for wrong in [&wrong_same_desc, &wrong_other_desc] {
                let r = wrong.on_decrypt(&dreq(*wrap, edk, "115", &desc, true));
                assert_stand_in(&r, &[1; 32], "wrong key");
            }
        } else {
            let r = wrong_same_desc.on_decrypt(&dreq(*wrap, edk, "115", &desc, true));
            assert!(
                matches!(r, Err(KeyringError::UnwrapFailed)),
                "{wrap:?}: {r:?}"
            );
            let r = wrong_other_desc.on_decrypt(&dreq(*wrap, edk, "115", &desc, true));
            assert!(matches!(r, Ok(None)), "{wrap:?}: {r:?}");
        }
        // The right key with a description that is not its own: decrypts.
        let r = ring2048().on_decrypt(&dreq(*wrap, edk, "115", &desc, true));
        assert!(matches!(r, Ok(Some(_))), "{wrap:?}: {r:?}");
    }
    // A 4096-bit EDK handed to a 2048-bit key: a length mismatch, same rule.
    let big = RsaKeyring::from_pem(&data_str("rsa8192-pkcs1.pem")).unwrap();
    let mb = encrypt(&big, Suite::AesGcm);
    let empty = Context::new();
    let r = ring2048().on_decrypt(&dreq(
        WrapAlg::RsaOaepSha1,
        &mb.encrypted.ciphertext,
        "AES/GCM/NoPadding",
        &empty,
        false,
    ));
    assert!(matches!(r, Err(KeyringError::UnwrapFailed)), "{r:?}");
    let r = ring.on_decrypt(&dreq(
        WrapAlg::RsaOaepSha1,
        &mb.encrypted.ciphertext,
        "AES/GCM/NoPadding",
        &empty,
        false,
    ));
    assert!(matches!(r, Ok(None)), "{r:?}");
}

#[test]
fn tampered_edk_fails() {
    let ring = ring2048();
    let empty = Context::new();
    let m = encrypt(&ring, Suite::AesGcm);
    for i in (0..256).step_by(5) {
        let mut edk = m.encrypted.ciphertext.clone();
        edk[i] ^= 0x80;
        let r = ring.on_decrypt(&dreq(
            WrapAlg::RsaOaepSha1,
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
    for edk in [&m.encrypted.ciphertext[..255], &[][..]] {
        let r = ring.on_decrypt(&dreq(
            WrapAlg::RsaOaepSha1,
            edk,
            "AES/GCM/NoPadding",
            &empty,
            false,
        ));
        assert!(matches!(r, Err(KeyringError::UnwrapFailed)), "{r:?}");
    }
    // All ones is larger than the modulus: V1 `RSA` rejects implicitly.
    let r = ring.on_decrypt(&dreq(
        WrapAlg::RsaPkcs1,
        &[0xff; 256],
        "AES/CBC/PKCS5Padding",
        &empty,
        true,
    ));
    assert_stand_in(&r, &[], "all ones");
}

/// `r` is a 256-bit stand-in key from implicit rejection, not `real`.
fn assert_stand_in(r: &Result<Option<DataKey>, KeyringError>, real: &[u8], what: &str) {
    match r {
        Ok(Some(k)) => {
            assert_eq!(k.len(), 32, "{what}");
            assert_ne!(k.as_bytes(), real, "{what}");
        }
        other => panic!("{what}: expected a stand-in key, got {other:?}"),
    }
}

/// Implicit rejection (issue 14): a V1 `RSA` (PKCS#1 v1.5) unwrap that
/// fails is not reported: it yields a stand-in key derived from the
/// encrypted key and the keyring's secret, so the read fails only where a
/// wrong key fails, on the content, with the content's error. Without it
/// the keyring answered `UnwrapFailed` (or "not mine"), an oracle.
#[test]
fn pkcs1_failures_are_rejected_implicitly() {
    use aes_gcm::aead::{Aead, KeyInit};
    let ring = ring2048();
    let empty = Context::new();
    let theirs = ctx(&[("key", "someone-else")]);
    let dk = DataKey::from_slice(&[0x5a; 32]).unwrap();
    let good = ring.legacy_wrap(LegacyRsaWrap::Pkcs1V15, &dk).unwrap();
    let pt = b"the object body";
    let nonce = [7u8; 12];
    let body = aes_gcm::Aes256Gcm::new_from_slice(dk.as_bytes())
        .unwrap()
        .encrypt((&nonce).into(), &pt[..])
        .unwrap();
    // A data key of a length no cipher takes (bad key length, good padding).
    let odd = {
        let k = aws_lc_rs::rsa::PublicEncryptingKey::from_der(&ring.public_key_der()).unwrap();
        let p = aws_lc_rs::rsa::Pkcs1PublicEncryptingKey::new(k).unwrap();
        let mut out = vec![0u8; 256];
        p.encrypt(&[3u8; 20], &mut out).unwrap().to_vec()
    };
    let mut bad_padding = good.clone();
    bad_padding[100] ^= 1;
    let others = [bad_padding, odd, vec![0xff; 256], vec![0; 256]];
    for stored in [&empty, &theirs] {
        let real = ring
            .on_decrypt(&dreq(
                WrapAlg::RsaPkcs1,
                &good,
                "AES/GCM/NoPadding",
                stored,
                true,
            ))
            .unwrap()
            .unwrap();
        assert_eq!(real.as_bytes(), dk.as_bytes());
        for edk in &others {
            let r = ring.on_decrypt(&dreq(
                WrapAlg::RsaPkcs1,
                edk,
                "AES/GCM/NoPadding",
                stored,
                true,
            ));
            assert_stand_in(&r, dk.as_bytes(), "failed unwrap");
            let k = r.unwrap().unwrap();
            // The same ciphertext gives the same stand-in (a retry shows nothing).
            let again = ring
                .on_decrypt(&dreq(
                    WrapAlg::RsaPkcs1,
                    edk,
                    "AES/GCM/NoPadding",
                    stored,
                    true,
                ))
                .unwrap()
                .unwrap();
            assert_eq!(k.as_bytes(), again.as_bytes());
            // And the content fails exactly as under any wrong key.
            let open = aes_gcm::Aes256Gcm::new_from_slice(k.as_bytes())
                .unwrap()
                .decrypt((&nonce).into(), &body[..]);
            assert!(open.is_err());
        }
    }
    // Different ciphertexts, different stand-ins; another keyring
    // instance of the same key (from another encoding of it), the same
    // stand-in: the secret is derived from the key, so a read's outcome
    // does not depend on the process; another key, another stand-in.
    let stand_in = |r: &RsaKeyring, edk: &[u8]| {
        r.on_decrypt(&dreq(
            WrapAlg::RsaPkcs1,
            edk,
            "AES/GCM/NoPadding",
            &empty,
            true,
        ))
        .unwrap()
        .unwrap()
    };
    let a = stand_in(&ring, &others[2]);
    let b = stand_in(&ring, &others[3]);
    assert_ne!(a.as_bytes(), b.as_bytes());
    let pkcs8 = RsaKeyring::from_private_key_pem(&data_str("rsa2048-pkcs8.pem")).unwrap();
    assert_eq!(a.as_bytes(), stand_in(&ring2048(), &others[2]).as_bytes());
    assert_eq!(a.as_bytes(), stand_in(&pkcs8, &others[2]).as_bytes());
    assert_ne!(a.as_bytes(), stand_in(other2048(), &others[2]).as_bytes());
    // Legacy wrapping off: still refused up front, before any RSA operation.
    let r = ring.on_decrypt(&dreq(
        WrapAlg::RsaPkcs1,
        &others[0],
        "AES/GCM/NoPadding",
        &empty,
        false,
    ));
    assert!(
        matches!(r, Err(KeyringError::LegacyWrappingDisabled { .. })),
        "{r:?}"
    );
}

#[test]
fn cek_alg_relabel_is_a_mismatch() {
    let ring = ring2048();
    let empty = Context::new();
    for suite in SUITES {
        let m = encrypt(&ring, suite);
        for other in ["AES/CBC/PKCS5Padding", "AES/GCM/NoPadding", "115", ""] {
            if other == suite.cek_alg() {
                continue;
            }
            let r = ring.on_decrypt(&dreq(
                WrapAlg::RsaOaepSha1,
                &m.encrypted.ciphertext,
                other,
                &empty,
                true,
            ));
            assert!(
                matches!(r, Err(KeyringError::CekAlgMismatch)),
                "{other}: {r:?}"
            );
        }
    }
}

#[test]
fn other_keyrings_wraps_are_not_mine() {
    let ring = ring2048();
    let none = Context::new();
    for wrap in [
        WrapAlg::KmsContext,
        WrapAlg::Kms,
        WrapAlg::AesGcm,
        WrapAlg::AesWrap,
        WrapAlg::AesEcb,
    ] {
        for legacy_on in [false, true] {
            let r = ring.on_decrypt(&dreq(wrap, &[0u8; 256], "115", &none, legacy_on));
            assert!(matches!(r, Ok(None)), "{wrap:?}: {r:?}");
        }
    }
}

#[test]
fn keyring_is_shareable_across_threads() {
    let ring = ring2048();
    let m = encrypt(&ring, Suite::AesGcmCommitting);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let ring = ring.clone();
            let edk = m.encrypted.ciphertext.clone();
            let want = m.data_key.as_bytes().to_vec();
            s.spawn(move || {
                let empty = Context::new();
                for _ in 0..5 {
                    let dk = ring
                        .on_decrypt(&dreq(WrapAlg::RsaOaepSha1, &edk, "115", &empty, false))
                        .unwrap()
                        .unwrap();
                    assert_eq!(dk.as_bytes(), &want[..]);
                    let legacy = ring
                        .legacy_wrap(
                            LegacyRsaWrap::OaepSha256Mgf1Sha1,
                            &DataKey::from_slice(&want).unwrap(),
                        )
                        .unwrap();
                    let dk = ring
                        .on_decrypt(&dreq(
                            WrapAlg::RsaOaepSha256,
                            &legacy,
                            "AES/GCM/NoPadding",
                            &empty,
                            true,
                        ))
                        .unwrap()
                        .unwrap();
                    assert_eq!(dk.as_bytes(), &want[..]);
                }
            });
        }
    });
}

//! The `rsa`-crate wrap against the AWS-LC keyring (`s3ec-local`), both
//! ways, for every key size and suite, and against every RSA-OAEP-SHA1
//! vector AWS's clients wrote.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use getrandom::SysRng;
use s3ec_core::{DataKey, Suite, WrapAlg};
use s3ec_keyring::{Context, DecryptRequest, Keyring, LegacyOptions};
use s3ec_local::RsaKeyring;
use s3ec_rsa::{RsaError, RsaOaepWrapper};

const SIZES: [usize; 3] = [2048, 3072, 4096];
const SUITES: [Suite; 2] = [Suite::AesGcm, Suite::AesGcmCommitting];

fn data(name: &str) -> Vec<u8> {
    fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

/// AWS-LC's unwrap of `edk`, as the client calls it.
fn aws_lc_unwrap(kr: &RsaKeyring, edk: &[u8], cek_alg: &str, suite: Suite) -> Option<DataKey> {
    let stored = Context::new();
    let req = DecryptRequest {
        suite,
        wrap: WrapAlg::RsaOaepSha1,
        encrypted_key: edk,
        cek_alg,
        stored_map: &stored,
        expected_context: None,
        legacy: LegacyOptions::default(),
    };
    kr.on_decrypt(&req).ok().flatten()
}

#[test]
fn rsa_crate_wrap_is_read_by_aws_lc() {
    for bits in SIZES {
        let wrapper =
            RsaOaepWrapper::from_public_key_der(&data(&format!("rsa{bits}-public.der"))).unwrap();
        assert_eq!(wrapper.key_size_bits(), bits);
        let kr =
            RsaKeyring::from_private_key_der(&data(&format!("rsa{bits}-private.der"))).unwrap();
        for suite in SUITES {
            let dk = DataKey::generate(&mut SysRng).unwrap();
            let edk = wrapper.wrap(&dk, suite, &mut SysRng).unwrap();
            assert_eq!(edk.len(), bits / 8);
            let back = aws_lc_unwrap(&kr, &edk, suite.cek_alg(), suite).expect("AWS-LC unwraps");
            assert_eq!(back.as_bytes(), dk.as_bytes(), "{bits} bits, {suite:?}");
            // The content cipher is bound: relabelled, it does not unwrap.
            let other = if suite == Suite::AesGcm {
                "115"
            } else {
                "AES/GCM/NoPadding"
            };
            assert!(aws_lc_unwrap(&kr, &edk, other, suite).is_none());
        }
    }
}

#[test]
fn refusals() {
    assert_eq!(
        RsaOaepWrapper::from_public_key_der(&data("rsa1024-public.der")).unwrap_err(),
        RsaError::KeyTooSmall { bits: 1024 }
    );
    assert_eq!(
        RsaOaepWrapper::from_public_key_der(b"not a key").unwrap_err(),
        RsaError::InvalidKey
    );
    let w = RsaOaepWrapper::from_public_key_der(&data("rsa2048-public.der")).unwrap();
    let dk = DataKey::generate(&mut SysRng).unwrap();
    assert!(matches!(
        w.wrap(&dk, Suite::AesCbc, &mut SysRng),
        Err(RsaError::Core(_))
    ));
}

#[cfg(feature = "decrypt")]
mod decrypt {
    use super::*;
    use base64ct::{Base64, Encoding};
    use s3ec_keyring::EncryptRequest;
    use s3ec_rsa::RsaOaepUnwrapper;
    use serde_json::Value;

    #[test]
    fn aws_lc_wrap_is_read_by_the_rsa_crate() {
        for bits in SIZES {
            let kr =
                RsaKeyring::from_private_key_der(&data(&format!("rsa{bits}-private.der"))).unwrap();
            let un =
                RsaOaepUnwrapper::from_private_key_der(&data(&format!("rsa{bits}-private.der")))
                    .unwrap();
            for suite in SUITES {
                let ctx = Context::new();
                let mats = kr
                    .on_encrypt(&EncryptRequest {
                        suite,
                        context: &ctx,
                    })
                    .unwrap();
                assert_eq!(mats.encrypted.wrap, WrapAlg::RsaOaepSha1);
                let dk = un
                    .unwrap(&mats.encrypted.ciphertext, suite.cek_alg(), &mut SysRng)
                    .unwrap();
                assert_eq!(dk.as_bytes(), mats.data_key.as_bytes());
                let mut bad = mats.encrypted.ciphertext.clone();
                bad[10] ^= 1;
                assert_eq!(
                    un.unwrap(&bad, suite.cek_alg(), &mut SysRng).unwrap_err(),
                    RsaError::Unwrap
                );
                assert_eq!(
                    un.unwrap(&bad[1..], suite.cek_alg(), &mut SysRng)
                        .unwrap_err(),
                    RsaError::Unwrap
                );
            }
        }
    }

    /// PEM body to DER.
    fn pem_der(pem: &str) -> Vec<u8> {
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        Base64::decode_vec(&b64).unwrap()
    }

    fn cases(dir: &Path, out: &mut Vec<Value>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                cases(&p, out);
            } else if p.file_name().is_some_and(|n| n == "case.json") {
                out.push(serde_json::from_slice(&fs::read(&p).unwrap()).unwrap());
            }
        }
    }

    /// Every RSA-OAEP-SHA1 vector (AWS's writers in the shared folder, the
    /// project's own): the `rsa` crate unwraps exactly what AWS-LC unwraps.
    #[test]
    fn every_rsa_vector_unwraps_as_on_aws_lc() {
        let mut all = Vec::new();
        if let Some(dir) = s3ec_testkit::interop_vectors_dir() {
            cases(&dir, &mut all);
        } else {
            eprintln!("shared interop vectors not found (S3EC_SHARED_DIR): project vectors only");
        }
        cases(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors"),
            &mut all,
        );
        let mut n = 0;
        for c in &all {
            let id = c["id"].as_str().unwrap_or("?");
            let wrap = c["wrap_alg"].as_str().unwrap_or("");
            if wrap != "RSA-OAEP-SHA1" && wrap != "22" {
                continue;
            }
            let Some(pem) = c["key"]["private_key_pem"].as_str() else {
                continue;
            };
            let md = &c["metadata"];
            let (edk_b64, cek_alg) = match (md.get("x-amz-key-v2"), md.get("x-amz-3")) {
                (Some(k), _) => (k, md["x-amz-cek-alg"].as_str().unwrap_or("")),
                (_, Some(k)) => (k, md["x-amz-c"].as_str().unwrap_or("")),
                _ => continue, // instruction-file cases keep the key elsewhere
            };
            let edk = Base64::decode_vec(edk_b64.as_str().unwrap()).unwrap();
            let der = pem_der(pem);
            let kr = RsaKeyring::from_private_key_der(&der)
                .or_else(|_| RsaKeyring::from_pem(pem))
                .unwrap();
            let un = RsaOaepUnwrapper::from_private_key_der(&der).unwrap();
            let suite = if cek_alg == "115" {
                Suite::AesGcmCommitting
            } else {
                Suite::AesGcm
            };
            let want = aws_lc_unwrap(&kr, &edk, cek_alg, suite).map(|k| k.as_bytes().to_vec());
            let got = un
                .unwrap(&edk, cek_alg, &mut SysRng)
                .ok()
                .map(|k| k.as_bytes().to_vec());
            assert_eq!(got, want, "{id}");
            n += 1;
        }
        eprintln!("{n} RSA-OAEP-SHA1 vectors");
        assert!(n > 0);
    }
}

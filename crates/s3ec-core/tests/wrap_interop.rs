//! The raw-AES key wraps against objects written by AWS's own clients (the
//! shared interop vectors, read in place from `../shared/interop/vectors`):
//! Ruby `EncryptionV2` AES/GCM wraps and Ruby V1 AES-ECB wraps, with 128 and
//! 256-bit master keys, in object metadata and instruction files.
//!
//! Each unwrapped data key is checked by decrypting the object body with it.
//! The content decryption here is a test-only stand-in (the `aes-gcm` and
//! `cbc` crates directly), not the crate's streaming cipher.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::PathBuf;

use aes_gcm::aead::{Aead, KeyInit};
use base64ct::{Base64, Encoding};
use cipher::{BlockModeDecrypt, KeyIvInit};
use s3ec_core::wrap::{aes_ecb, aes_gcm as gcm_wrap, infer_v1};
use s3ec_core::{DataKey, Error, WrapAlg};
use serde_json::Value;

#[path = "../../s3ec-testkit/src/shared.rs"]
mod shared;

fn vectors_dir() -> Option<PathBuf> {
    shared::require(
        "interop/vectors/ruby",
        "s3ec-core wrap interop (Ruby vectors)",
    )
}

fn b64(s: &str) -> Vec<u8> {
    let mut buf = vec![0u8; s.len()];
    let n = Base64::decode(s, &mut buf).unwrap().len();
    buf.truncate(n);
    buf
}

struct Case {
    id: String,
    case: Value,
    /// The stored envelope: instruction-file JSON or object metadata.
    env: Value,
    body: Vec<u8>,
    plaintext: Option<Vec<u8>>,
}

impl Case {
    fn field(&self, k: &str) -> &str {
        self.env[k]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no {k}", self.id))
    }
    fn kek(&self) -> Vec<u8> {
        b64(self.case["key"]["key_b64"].as_str().unwrap())
    }
    fn expect_ok(&self) -> bool {
        self.case["expect"] == "ok"
    }
}

fn aes_cases() -> Vec<Case> {
    let Some(dir) = vectors_dir() else {
        eprintln!("interop vectors not found beside the project; skipping");
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let case: Value =
            serde_json::from_slice(&fs::read(path.join("case.json")).unwrap()).unwrap();
        if case["key"]["kind"] != "aes" {
            continue;
        }
        let env = match &case["instruction_file"] {
            Value::Null => case["metadata"].clone(),
            f => f["json"].clone(),
        };
        out.push(Case {
            id: case["id"].as_str().unwrap().to_string(),
            env,
            body: fs::read(path.join("ciphertext.bin")).unwrap(),
            plaintext: fs::read(path.join("plaintext.bin")).ok(),
            case,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn gcm_content(dk: &DataKey, iv: &[u8], body: &[u8]) -> Option<Vec<u8>> {
    let c = aes_gcm::Aes256Gcm::new_from_slice(dk.as_256().ok()?).ok()?;
    c.decrypt(&aes_gcm::Nonce::try_from(iv).ok()?, body).ok()
}

fn cbc_blocks<C: BlockModeDecrypt>(mut c: C, body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    for ch in out.chunks_exact_mut(16) {
        c.decrypt_block(ch.try_into().unwrap());
    }
    out
}

fn cbc_content(dk: &DataKey, iv: &[u8], body: &[u8]) -> Vec<u8> {
    assert_eq!(body.len() % 16, 0);
    let mut pt = match dk.len() {
        16 => cbc_blocks(
            cbc::Decryptor::<aes::Aes128>::new_from_slices(dk.as_bytes(), iv).unwrap(),
            body,
        ),
        32 => cbc_blocks(
            cbc::Decryptor::<aes::Aes256>::new_from_slices(dk.as_bytes(), iv).unwrap(),
            body,
        ),
        n => panic!("unexpected data key length {n}"),
    };
    let pad = usize::from(*pt.last().unwrap());
    assert!((1..=16).contains(&pad));
    assert!(pt[pt.len() - pad..].iter().all(|&b| usize::from(b) == pad));
    pt.truncate(pt.len() - pad);
    pt
}

#[test]
fn ruby_aes_gcm_wraps() {
    let mut seen = (0, 0);
    for c in aes_cases()
        .iter()
        .filter(|c| c.case["wrap_alg"] == "AES/GCM")
    {
        let kek = c.kek();
        let edk = b64(c.field("x-amz-key-v2"));
        assert_eq!(edk.len(), gcm_wrap::EDK_LEN, "{}", c.id);
        assert_eq!(c.field("x-amz-wrap-alg"), "AES/GCM");
        // The stored string, whatever it says (errata E3).
        let stored_cek_alg = c.field("x-amz-cek-alg");
        let iv = b64(c.field("x-amz-iv"));
        let res = gcm_wrap::unwrap(&kek, &edk, stored_cek_alg);
        if c.expect_ok() {
            let dk = res.unwrap_or_else(|e| panic!("{}: {e}", c.id));
            let pt = gcm_content(&dk, &iv, &c.body).unwrap();
            assert_eq!(Some(pt), c.plaintext, "{}", c.id);
            seen.0 += 1;
        } else if c.case["tamper"].as_str().unwrap().contains("x-amz-cek-alg") {
            // The GCM -> CBC relabel is caught by the wrap's AAD.
            assert_eq!(res.unwrap_err(), Error::Authentication, "{}", c.id);
            seen.1 += 1;
        } else {
            // Body tampering: the wrap is intact, the content must fail.
            let dk = res.unwrap();
            assert!(gcm_content(&dk, &iv, &c.body).is_none(), "{}", c.id);
            seen.1 += 1;
        }
    }
    if vectors_dir().is_some() {
        assert!(seen.0 >= 7 && seen.1 >= 3, "{seen:?}");
    }
}

#[test]
fn ruby_v1_aes_ecb_wraps() {
    let mut seen = 0;
    for c in aes_cases().iter().filter(|c| c.case["wrap_alg"] == "AES") {
        let kek = c.kek();
        let edk = b64(c.field("x-amz-key"));
        assert_eq!(infer_v1(edk.len()), WrapAlg::AesEcb, "{}", c.id);
        let dk = aes_ecb::unwrap(&kek, &edk).unwrap_or_else(|e| panic!("{}: {e}", c.id));
        assert!(c.expect_ok(), "{}", c.id);
        let iv = b64(c.field("x-amz-iv"));
        assert_eq!(
            Some(cbc_content(&dk, &iv, &c.body)),
            c.plaintext,
            "{}",
            c.id
        );

        // Wrong master key of the same size.
        let mut other = kek.clone();
        other[0] ^= 1;
        assert_eq!(
            aes_ecb::unwrap(&other, &edk).unwrap_err(),
            Error::Authentication
        );
        seen += 1;
    }
    if vectors_dir().is_some() {
        assert!(seen >= 7, "{seen}");
    }
}

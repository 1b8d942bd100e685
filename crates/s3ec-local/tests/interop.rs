//! Real objects written by AWS's Ruby S3 Encryption Client
//! (`../shared/interop/vectors/ruby`): every case with an AES or RSA master
//! key must unwrap, under these keyrings, to a data key that decrypts the
//! body to `plaintext.bin` (through s3ec-core's envelope parser and content
//! cipher); every tampered case must be rejected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding};
use common::*;
use s3ec_core::cipher::content::ContentKey;
use s3ec_core::envelope::Envelope;
use s3ec_core::{wrap, Arena, DataKey, Suite, WrapAlg};
use s3ec_keyring::{Context, DecryptRequest, Keyring, KeyringError};
use s3ec_local::{AesKeyring, RsaKeyring};
use serde_json::Value;
use sha2_std::{Digest, Sha256};

struct Case {
    dir: PathBuf,
    json: Value,
}

impl Case {
    fn id(&self) -> &str {
        self.json["id"].as_str().unwrap()
    }
    fn expect_ok(&self) -> bool {
        self.json["expect"] == "ok"
    }
    fn kind(&self) -> &str {
        self.json["key"]["kind"].as_str().unwrap()
    }
    fn material_description(&self) -> Context {
        match &self.json["material_description"] {
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect(),
            _ => Context::new(),
        }
    }
    /// A keyring over the case's key; `mine` gives it the case's material
    /// description, else none (a reader that names its key differently).
    fn keyring(&self, mine: bool) -> Box<dyn Keyring> {
        let key = &self.json["key"];
        let desc = if mine {
            self.material_description()
        } else {
            Context::new()
        };
        match self.kind() {
            "aes" => {
                let k = Base64::decode_vec(key["key_b64"].as_str().unwrap()).unwrap();
                Box::new(AesKeyring::new(&k).unwrap().with_material_description(desc))
            }
            "rsa" => Box::new(
                RsaKeyring::from_private_key_pem(key["private_key_pem"].as_str().unwrap())
                    .unwrap()
                    .with_material_description(desc),
            ),
            k => panic!("{k}"),
        }
    }
    fn metadata(&self) -> Vec<(String, String)> {
        self.json["metadata"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect()
    }
    fn instruction_file(&self) -> Option<String> {
        let p = self.dir.join("instruction.bin");
        p.exists().then(|| fs::read_to_string(p).unwrap())
    }
    /// The envelope map as stored: the instruction file's JSON for
    /// instruction-file cases, the object metadata otherwise.
    fn envelope_map(&self) -> BTreeMap<String, String> {
        let v = match &self.json["instruction_file"] {
            Value::Object(f) => &f["json"],
            _ => &self.json["metadata"],
        };
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect()
    }
    fn body(&self) -> Vec<u8> {
        fs::read(self.dir.join("ciphertext.bin")).unwrap()
    }
    fn plaintext(&self) -> Vec<u8> {
        fs::read(self.dir.join("plaintext.bin")).unwrap()
    }
}

fn ruby_cases() -> Option<Vec<Case>> {
    let root = shared::require("interop/vectors/ruby", "s3ec-local Ruby interop vectors")?;
    if !root.is_dir() {
        eprintln!("note: {} not found; skipping", root.display());
        return None;
    }
    let mut cases: Vec<Case> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.json").is_file())
        .map(|dir| {
            let json = serde_json::from_slice(&fs::read(dir.join("case.json")).unwrap()).unwrap();
            Case { dir, json }
        })
        .filter(|c| matches!(c.kind(), "aes" | "rsa"))
        .collect();
    cases.sort_by(|a, b| a.id().cmp(b.id()));
    Some(cases)
}

/// The keyring request, read straight from the stored map (independently
/// of s3ec-core's envelope parser, so that tampered cases the parser
/// already refuses still reach the keyring).
struct RawRequest {
    wrap: WrapAlg,
    edk: Vec<u8>,
    cek_alg: String,
    stored: Context,
}

impl RawRequest {
    fn of(case: &Case) -> RawRequest {
        let m = case.envelope_map();
        let (edk, wrap) = match (m.get("x-amz-key-v2"), m.get("x-amz-key")) {
            (Some(v2), None) => {
                let edk = Base64::decode_vec(v2).unwrap();
                let wrap = WrapAlg::from_name(&m["x-amz-wrap-alg"]).unwrap();
                (edk, wrap)
            }
            (None, Some(v1)) => {
                let edk = Base64::decode_vec(v1).unwrap();
                let wrap = wrap::infer_v1(edk.len());
                (edk, wrap)
            }
            _ => panic!("{}: no V1/V2 key", case.id()),
        };
        let cek_alg = m
            .get("x-amz-cek-alg")
            .cloned()
            .unwrap_or_else(|| Suite::AesCbc.cek_alg().to_string());
        let stored: Context = serde_json::from_str(&m["x-amz-matdesc"]).unwrap();
        RawRequest {
            wrap,
            edk,
            cek_alg,
            stored,
        }
    }

    fn req(&self) -> DecryptRequest<'_> {
        dreq(self.wrap, &self.edk, &self.cek_alg, &self.stored, true)
    }
}

/// Decrypt the body the way the client does: s3ec-core's envelope parser,
/// the keyring, the checked content key, then GCM (authenticate, then
/// decrypt) or legacy CBC.
fn decrypt_through_core(case: &Case, ring: &dyn Keyring) -> Result<Vec<u8>, String> {
    let metadata = case.metadata();
    let instr = case.instruction_file();
    let mut buf = vec![0u8; 64 * 1024];
    let mut arena = Arena::new(&mut buf);
    let env = Envelope::parse(
        metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        instr.as_deref(),
        &mut arena,
    )
    .map_err(|e| format!("envelope: {e:?}"))?;
    let stored: Context = env
        .matdesc()
        .iter()
        .map(|(k, v)| (k.chars().collect(), v.chars().collect()))
        .collect();
    let req = DecryptRequest {
        suite: env.suite(),
        wrap: env.wrap(),
        encrypted_key: env.encrypted_data_key(),
        cek_alg: env.cek_alg(),
        stored_map: &stored,
        expected_context: None,
        legacy: legacy(true),
    };
    let dk = ring
        .on_decrypt(&req)
        .map_err(|e| format!("keyring: {e}"))?
        .ok_or("keyring: not mine")?;
    let key = ContentKey::for_decrypt(
        env.suite(),
        &dk,
        env.content_iv(),
        env.message_id(),
        env.key_commitment(),
    )
    .map_err(|e| format!("content key: {e:?}"))?;
    let mut body = case.body();
    let n = match env.suite() {
        Suite::AesCbc => {
            let iv: [u8; 16] = env.content_iv().try_into().unwrap();
            s3ec_core::legacy::decrypt_in_place(dk.as_bytes(), &iv, &mut body)
        }
        _ => key.open_in_place(&mut body),
    }
    .map_err(|e| format!("content: {e:?}"))?;
    body.truncate(n);
    Ok(body)
}

/// An independent decryption (RustCrypto `aes-gcm` / `cbc`) with the data
/// key the keyring returned.
fn decrypt_independently(case: &Case, dk: &DataKey) -> Option<Vec<u8>> {
    use aes_gcm::aead::{Aead, KeyInit};
    use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt, KeyIvInit};
    let m = case.envelope_map();
    let iv = Base64::decode_vec(&m["x-amz-iv"]).unwrap();
    let body = case.body();
    if m.contains_key("x-amz-key-v2") {
        let c = aes_gcm::Aes256Gcm::new_from_slice(dk.as_bytes()).ok()?;
        c.decrypt(&aes_gcm::Nonce::try_from(&iv[..]).ok()?, &body[..])
            .ok()
    } else {
        let iv: [u8; 16] = iv.try_into().ok()?;
        let k: [u8; 32] = dk.as_bytes().try_into().ok()?;
        cbc::Decryptor::<aes::Aes256>::new(&k.into(), &iv.into())
            .decrypt_padded_vec::<Pkcs7>(&body)
            .ok()
    }
}

#[test]
fn ruby_vectors_unwrap_and_decrypt() {
    let Some(cases) = ruby_cases() else { return };
    assert!(cases.len() >= 20, "only {} aes/rsa cases", cases.len());
    let (mut ok, mut rejected) = (0, 0);
    for case in &cases {
        let id = case.id();
        let raw = RawRequest::of(case);
        let sha = case.json["plaintext_sha256"].as_str().unwrap();
        for mine in [true, false] {
            let ring = case.keyring(mine);
            let result = ring.on_decrypt(&raw.req());
            if case.expect_ok() {
                // Unwrap, with our description or another one (errata E4).
                let dk = result
                    .unwrap_or_else(|e| panic!("{id} (mine={mine}): {e}"))
                    .unwrap_or_else(|| panic!("{id} (mine={mine}): not mine"));
                assert_eq!(dk.len(), 32, "{id}");
                let pt = decrypt_through_core(case, ring.as_ref())
                    .unwrap_or_else(|e| panic!("{id} (mine={mine}): {e}"));
                assert_eq!(pt, case.plaintext(), "{id}");
                assert_eq!(hex::encode(Sha256::digest(&pt)), sha, "{id}");
                assert_eq!(decrypt_independently(case, &dk), Some(pt), "{id}");
                // Without the legacy option the legacy wraps are refused.
                if raw.wrap.is_legacy() {
                    let mut r = raw.req();
                    r.legacy = legacy(false);
                    assert!(
                        matches!(
                            ring.on_decrypt(&r),
                            Err(KeyringError::LegacyWrappingDisabled { wrap }) if wrap == raw.wrap
                        ),
                        "{id}"
                    );
                }
            } else if id.contains("neg-cek-alg") {
                // GCM -> CBC relabel: the wrap binds the stored cek-alg.
                match (raw.wrap, mine, &result) {
                    (WrapAlg::AesGcm, true, Err(KeyringError::UnwrapFailed))
                    | (WrapAlg::AesGcm, false, Ok(None))
                    | (WrapAlg::RsaOaepSha1, _, Err(KeyringError::CekAlgMismatch)) => {}
                    _ => panic!("{id} (mine={mine}): {result:?}"),
                }
                assert!(decrypt_through_core(case, ring.as_ref()).is_err(), "{id}");
            } else {
                // Body or tag tampered: the key unwraps, the content must
                // not authenticate.
                let dk = result.unwrap().unwrap();
                assert_eq!(decrypt_independently(case, &dk), None, "{id}");
                let r = decrypt_through_core(case, ring.as_ref());
                assert!(
                    r.as_ref().is_err_and(|e| e.starts_with("content")),
                    "{id}: {r:?}"
                );
            }
        }
        if case.expect_ok() {
            ok += 1;
        } else {
            rejected += 1;
        }
    }
    eprintln!("ruby aes/rsa vectors: {ok} decrypted, {rejected} tampered rejected");
}

#[test]
fn ruby_vectors_wrong_key() {
    let Some(cases) = ruby_cases() else { return };
    // A keyring of the same kind with another key: "my key, failed" under
    // the case's description, "not mine" otherwise. Never a key.
    for case in cases.iter().filter(|c| c.expect_ok()) {
        let raw = RawRequest::of(case);
        let desc = case.material_description();
        let rings: [Box<dyn Keyring>; 2] = match case.kind() {
            "aes" => {
                let n = Base64::decode_vec(case.json["key"]["key_b64"].as_str().unwrap())
                    .unwrap()
                    .len();
                let k = vec![0x77; n];
                [
                    Box::new(
                        AesKeyring::new(&k)
                            .unwrap()
                            .with_material_description(desc.clone()),
                    ),
                    Box::new(AesKeyring::new(&k).unwrap()),
                ]
            }
            _ => {
                let pem = data_str("rsa2048-pkcs1.pem");
                [
                    Box::new(
                        RsaKeyring::from_pem(&pem)
                            .unwrap()
                            .with_material_description(desc.clone()),
                    ),
                    Box::new(RsaKeyring::from_pem(&pem).unwrap()),
                ]
            }
        };
        let id = case.id();
        if raw.req().wrap == WrapAlg::RsaPkcs1 {
            // V1 `RSA`: implicit rejection, a stand-in key (never the real
            // one) whatever the description says; the content then fails.
            let want = case.keyring(true).on_decrypt(&raw.req()).unwrap().unwrap();
            let want = want.as_bytes().to_vec();
            for ring in &rings {
                match ring.on_decrypt(&raw.req()) {
                    Ok(Some(k)) => assert_ne!(k.as_bytes(), &want[..], "{id}"),
                    other => panic!("{id}: {other:?}"),
                }
            }
            continue;
        }
        assert!(
            matches!(
                rings[0].on_decrypt(&raw.req()),
                Err(KeyringError::UnwrapFailed)
            ),
            "{id}"
        );
        assert!(matches!(rings[1].on_decrypt(&raw.req()), Ok(None)), "{id}");
    }
}

#[test]
fn shared_dir_is_found_or_skipped() {
    // Documents the lookup: when shared/ is present the vectors are there.
    if let Some(d) = shared::shared_dir() {
        assert!(Path::new(&d).join("interop").is_dir());
    }
}

/// A missing shared folder is a skip outside CI and a failure under CI.
#[test]
fn missing_shared_dir_fails_under_ci() {
    let nowhere = std::env::temp_dir().join("s3ec-no-such-shared-dir");
    assert_eq!(shared::require_in(nowhere.clone(), false, "test"), None);
    let under_ci = std::panic::catch_unwind(|| shared::require_in(nowhere, true, "test"));
    assert!(under_ci.is_err());
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(shared::require_in(here.clone(), true, "test"), Some(here));
}

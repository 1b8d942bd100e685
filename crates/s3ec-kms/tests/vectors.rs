//! Every KMS case of the shared interop vectors (`key.kind == "kms"`)
//! through `KmsKeyring` over the strict fake `StaticKms`: each `expect: ok`
//! case unwraps to the recorded `data_key_b64` (the body is decrypted
//! elsewhere). Tampered cases must never panic; the ones whose tamper the
//! keyring itself can see (a relabelled content cipher on `kms+context`)
//! must fail with `CekAlgMismatch`.
//!
//! The vectors live in the shared folder (`S3EC_SHARED_DIR`, else
//! `<workspace>/../shared`); without it the test passes with a note.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding};
use s3ec_keyring::{Context, DecryptRequest, Keyring, KeyringError, LegacyOptions, Suite, WrapAlg};
use s3ec_kms::testing::StaticKms;
use s3ec_kms::KmsKeyring;
use serde_json::Value;

fn case_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for producer in std::fs::read_dir(root).unwrap() {
        let producer = producer.unwrap().path();
        if !producer.is_dir() {
            continue;
        }
        for case in std::fs::read_dir(&producer).unwrap() {
            let case = case.unwrap().path();
            if case.join("case.json").is_file() {
                out.push(case);
            }
        }
    }
    out.sort();
    out
}

fn str_map(v: &Value) -> Context {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

fn b64(s: &str) -> Vec<u8> {
    Base64::decode_vec(s).unwrap()
}

/// One metadata value: the instruction file wins for the keys it holds
/// (V3 splits storage between the two).
fn meta<'a>(case: &'a Value, key: &str) -> Option<&'a str> {
    let instr = case["instruction_file"]["json"]
        .get(key)
        .and_then(Value::as_str);
    instr.or_else(|| case["metadata"].get(key).and_then(Value::as_str))
}

struct Outcome {
    ok: usize,
    rejected: usize,
    passed_to_body: usize,
}

fn run_case(case: &Value, out: &mut Outcome) {
    let id = case["id"].as_str().unwrap();
    let key = &case["key"];
    let expect_ok = case["expect"] == "ok";
    let (wrap, cek_alg, suite, blob, stored) = if case["format"] == "v3" {
        let wrap = WrapAlg::from_v3_code(meta(case, "x-amz-w").unwrap()).unwrap();
        let cek = meta(case, "x-amz-c").unwrap();
        let suite = Suite::from_v3_content_cipher(cek).unwrap();
        let blob = b64(meta(case, "x-amz-3").unwrap());
        let stored = meta(case, "x-amz-t").unwrap_or("{}");
        (wrap, cek, suite, blob, stored)
    } else {
        let wrap = WrapAlg::from_name(meta(case, "x-amz-wrap-alg").unwrap()).unwrap();
        let cek = meta(case, "x-amz-cek-alg").unwrap();
        let suite = Suite::from_cek_alg(cek).unwrap();
        let blob = b64(meta(case, "x-amz-key-v2").unwrap());
        let stored = meta(case, "x-amz-matdesc").unwrap_or("{}");
        (wrap, cek, suite, blob, stored)
    };
    // Raw UTF-8 in these values passes through unchanged (erratum E5); no
    // KMS case holds RFC 2047 encoded-words.
    assert!(
        !stored.contains("=?"),
        "{id}: encoded-word in the stored map"
    );
    let stored: Context = str_map(&serde_json::from_str(stored).unwrap());
    let expected = match &case["encryption_context"] {
        Value::Null => None,
        v => Some(str_map(v)),
    };
    let key_id = key["key_arn"]
        .as_str()
        .or_else(|| key["key_id"].as_str())
        .unwrap();
    let data_key = b64(key["data_key_b64"].as_str().unwrap());
    let kms = StaticKms::new().with_entry(
        key_id,
        &b64(key["ciphertext_blob_b64"].as_str().unwrap()),
        &str_map(&key["kms_encryption_context"]),
        &data_key,
    );
    // The configured key as case.json names it (a bare id or an ARN).
    let ring = KmsKeyring::new(kms, key["key_id"].as_str().unwrap()).unwrap();
    let req = DecryptRequest {
        suite,
        wrap,
        encrypted_key: &blob,
        cek_alg,
        stored_map: &stored,
        expected_context: expected.as_ref(),
        legacy: LegacyOptions::ALL,
    };
    let got = Keyring::on_decrypt(&ring, &req);
    if expect_ok {
        let got = got.unwrap_or_else(|e| panic!("{id}: {e}"));
        let got = got.unwrap_or_else(|| panic!("{id}: not unwrapped"));
        assert_eq!(got.as_bytes(), &data_key[..], "{id}");
        out.ok += 1;
        // Legacy kms cases also need the legacy switch.
        if wrap == WrapAlg::Kms {
            let mut strict = req;
            strict.legacy = LegacyOptions::default();
            assert!(
                matches!(
                    Keyring::on_decrypt(&ring, &strict),
                    Err(KeyringError::LegacyWrappingDisabled { .. })
                ),
                "{id}"
            );
        }
        return;
    }
    let tamper = case["tamper"].as_str().unwrap_or_default();
    if wrap == WrapAlg::KmsContext && tamper.contains("x-amz-cek-alg") {
        assert!(
            matches!(got, Err(KeyringError::CekAlgMismatch)),
            "{id}: {got:?}"
        );
    }
    match got {
        Err(_) => out.rejected += 1,
        // Body, IV, commitment or message-id tampers leave the wrapped key
        // intact: the content layer rejects those.
        Ok(Some(k)) => {
            assert_eq!(k.as_bytes(), &data_key[..], "{id}");
            out.passed_to_body += 1;
        }
        Ok(None) => panic!("{id}: a kms case judged not a KMS wrap"),
    }
}

#[test]
fn interop_kms_cases_unwrap_through_the_strict_fake() {
    let Some(root) = s3ec_testkit::require_interop_vectors("s3ec-kms vectors") else {
        return;
    };
    let mut out = Outcome {
        ok: 0,
        rejected: 0,
        passed_to_body: 0,
    };
    let mut kms_cases = 0;
    for dir in case_dirs(&root) {
        let text = std::fs::read_to_string(dir.join("case.json")).unwrap();
        let case: Value = serde_json::from_str(&text).unwrap();
        if case["key"]["kind"] != "kms" {
            continue;
        }
        kms_cases += 1;
        run_case(&case, &mut out);
    }
    eprintln!(
        "{kms_cases} KMS cases: {} unwrapped, {} tampered rejected by the keyring, \
         {} tampered left to the content layer",
        out.ok, out.rejected, out.passed_to_body
    );
    assert!(kms_cases > 0, "no KMS case under {}", root.display());
    assert_eq!(out.ok + out.rejected + out.passed_to_body, kms_cases);
}

/// The fake is strict: the same cases with the caller's context as the KMS
/// context (i.e. without `aws:x-amz-cek-alg` / `kms_cmk_id`) fail.
#[test]
fn strict_fake_refuses_the_callers_context() {
    let Some(root) = s3ec_testkit::interop_vectors_dir() else {
        eprintln!("note: shared interop vectors not found: skipped");
        return;
    };
    let mut checked = 0;
    for dir in case_dirs(&root) {
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        let key = &case["key"];
        if key["kind"] != "kms" || case["expect"] != "ok" {
            continue;
        }
        let recorded = str_map(&key["kms_encryption_context"]);
        let caller = match &case["encryption_context"] {
            Value::Null => Context::new(),
            v => str_map(v),
        };
        assert_ne!(recorded, caller);
        let kms = StaticKms::new().with_entry(
            key["key_id"].as_str().unwrap(),
            &b64(key["ciphertext_blob_b64"].as_str().unwrap()),
            &recorded,
            &b64(key["data_key_b64"].as_str().unwrap()),
        );
        let ring = KmsKeyring::new(kms, key["key_id"].as_str().unwrap()).unwrap();
        // A request whose stored map is the caller's context: for
        // kms+context the binding check fires first; for kms, KMS refuses.
        let blob = b64(key["ciphertext_blob_b64"].as_str().unwrap());
        let wrap = if case["wrap_alg"] == "kms" {
            WrapAlg::Kms
        } else {
            WrapAlg::KmsContext
        };
        let req = DecryptRequest {
            suite: Suite::AesGcm,
            wrap,
            encrypted_key: &blob,
            cek_alg: "AES/GCM/NoPadding",
            stored_map: &caller,
            expected_context: None,
            legacy: LegacyOptions::ALL,
        };
        let got = Keyring::on_decrypt(&ring, &req);
        assert!(
            matches!(
                got,
                Err(KeyringError::CekAlgMismatch
                    | KeyringError::UnwrapFailed
                    | KeyringError::ContextMismatch { .. })
            ),
            "{}: {got:?}",
            case["id"]
        );
        checked += 1;
    }
    assert!(checked > 0);
}

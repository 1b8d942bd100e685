//! `cargo xtask vectors check DIR...`: decrypt every interop vector case.
//!
//! A case is a folder holding `case.json` (layout:
//! `../shared/interop/VECTOR-FORMAT.md`). Each case is decrypted with the
//! most permissive settings it needs, through the same code path the client
//! uses (`s3ec_client::codec`): envelope parsing, policy, keyring, key
//! commitment, content authentication. `expect: "ok"` cases must give
//! `plaintext.bin`; `expect: "error"` cases must be rejected for the reason
//! their `expect_error` names (see [`crate::refusal`]; a transport, setup or
//! missing-file failure is never a refusal) and release no plaintext.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2_std::{Digest, Sha256};

use s3ec_client::codec::{self, DecryptPolicy, EnvelopeLocation};
use s3ec_keyring::Context;

use crate::keys;
use crate::refusal::{self, Class, Stage};

/// One `case.json`.
#[derive(Debug, Deserialize)]
pub(crate) struct Case {
    pub(crate) id: String,
    pub(crate) key: serde_json::Value,
    #[serde(default)]
    pub(crate) encryption_context: Option<BTreeMap<String, String>>,
    pub(crate) metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) plaintext_sha256: Option<String>,
    pub(crate) expect: String,
    /// For `expect: "error"`: the class (or classes) of the refusal.
    #[serde(default)]
    pub(crate) expect_error: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) wrap_alg: Option<String>,
    #[serde(default)]
    pub(crate) tamper: Option<serde_json::Value>,
}

/// The outcome of one case.
#[derive(Debug)]
pub(crate) enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// Find every folder with a `case.json` under `dir`, sorted.
fn find_cases(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut subdirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        if path.is_dir() {
            subdirs.push(path);
        } else if path.file_name().is_some_and(|n| n == "case.json") {
            out.push(dir.to_path_buf());
        }
    }
    subdirs.sort();
    for d in subdirs {
        find_cases(&d, out)?;
    }
    Ok(())
}

/// Run every case under `dirs`; print one line per failure and skip, then
/// the summary line. Fails if any case failed or no case was found.
pub(crate) fn check(dirs: &[PathBuf]) -> Result<(), String> {
    let mut cases = Vec::new();
    for d in dirs {
        if !d.is_dir() {
            return Err(format!("{} is not a folder", d.display()));
        }
        find_cases(d, &mut cases)?;
    }
    if cases.is_empty() {
        return Err("no case.json found under the given folders".into());
    }
    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    for dir in &cases {
        match run_case(dir) {
            Outcome::Pass => passed += 1,
            Outcome::Fail(why) => {
                failed += 1;
                println!("FAIL {}: {why}", dir.display());
            }
            Outcome::Skip(why) => {
                skipped += 1;
                println!("SKIP {}: {why}", dir.display());
            }
        }
    }
    println!("vectors: {passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        Err(format!("{failed} vector case(s) failed"))
    } else {
        Ok(())
    }
}

pub(crate) fn load_case(dir: &Path) -> Result<Case, String> {
    let text = fs::read_to_string(dir.join("case.json")).map_err(|e| format!("case.json: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("case.json: {e}"))
}

fn run_case(dir: &Path) -> Outcome {
    let case = match load_case(dir) {
        Ok(c) => c,
        Err(e) => return Outcome::Fail(e),
    };
    let body = match fs::read(dir.join("ciphertext.bin")) {
        Ok(b) => b,
        Err(e) => return Outcome::Fail(format!("ciphertext.bin: {e}")),
    };
    let keyring = match keys::keyring_for(&case) {
        Ok(k) => k,
        Err(keys::KeyError::Skip(why)) => return Outcome::Skip(why),
        Err(keys::KeyError::Bad(why)) => return Outcome::Fail(format!("key: {why}")),
    };
    let result = decrypt(dir, &case, keyring.as_ref(), body);
    match (case.expect.as_str(), result) {
        ("ok", Ok(plaintext)) => {
            let expected = match fs::read(dir.join("plaintext.bin")) {
                Ok(p) => p,
                Err(e) => return Outcome::Fail(format!("plaintext.bin: {e}")),
            };
            if plaintext != expected {
                return Outcome::Fail("decrypted text differs from plaintext.bin".into());
            }
            if let Some(d) = &case.plaintext_sha256 {
                if hex::encode(Sha256::digest(&plaintext)) != d.to_ascii_lowercase() {
                    return Outcome::Fail("plaintext digest differs from case.json".into());
                }
            }
            Outcome::Pass
        }
        ("ok", Err((_, e))) => Outcome::Fail(format!("expected plaintext, got error: {e}")),
        ("error", Ok(_)) => Outcome::Fail(format!(
            "tampered case ({}) was accepted",
            case.tamper
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_default()
        )),
        // The pipeline returns no plaintext on error: `decrypt_body` clears
        // the buffer before it returns an error. The refusal must be for
        // the reason the case names.
        ("error", Err((got, e))) => {
            let expected = match case.expect_error.as_ref().map(refusal::parse_expected) {
                Some(Ok(classes)) => classes,
                Some(Err(why)) => return Outcome::Fail(why),
                None => {
                    let got = got.map_or("not a refusal", Class::name);
                    return Outcome::Fail(format!(
                        "negative case without expect_error (refused as: {got}; {e})"
                    ));
                }
            };
            let wrap = case.wrap_alg.as_deref().and_then(refusal::wrap_of);
            match refusal::check(&expected, got, wrap) {
                Ok(()) => Outcome::Pass,
                Err(why) => Outcome::Fail(format!("{why} ({e})")),
            }
        }
        (other, _) => Outcome::Fail(format!("unknown expect value {other:?}")),
    }
}

/// Decrypt one case with the most permissive policy; `Ok` only with
/// authenticated (or, for legacy CBC, padding-checked) plaintext; `Err`
/// with the refusal's class (`None`: not a refusal) and the message.
fn decrypt(
    dir: &Path,
    case: &Case,
    keyring: &dyn s3ec_keyring::Keyring,
    mut body: Vec<u8>,
) -> Result<Vec<u8>, (Option<Class>, String)> {
    let refused = |stage: Stage| {
        move |e: s3ec_client::ClientError| (refusal::classify(&e, stage), e.to_string())
    };
    let metadata: Vec<(String, String)> = case
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let instruction =
        match codec::needs_instruction_file(&metadata).map_err(refused(Stage::Open))? {
            EnvelopeLocation::ObjectMetadata => None,
            // A missing file is a setup failure, never a refusal.
            EnvelopeLocation::InstructionFile { .. } => Some(
                fs::read_to_string(dir.join("instruction.bin")).map_err(|e| {
                    (
                        None,
                        format!("instruction file needed: instruction.bin: {e}"),
                    )
                })?,
            ),
        };
    let expected: Option<Context> = case.encryption_context.clone();
    let opened = codec::open_envelope(
        keyring,
        &metadata,
        instruction.as_deref(),
        &DecryptPolicy::PERMISSIVE,
        expected.as_ref(),
    )
    .map_err(refused(Stage::Open))?;
    codec::decrypt_body(&opened.key, &mut body).map_err(refused(Stage::Body))?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// A copy of one of the project's own cases in a fresh folder.
    fn copy_case(id: &str, tag: &str) -> PathBuf {
        let src = crate::root().join("test-vectors/s3ec-rust").join(id);
        let dst =
            std::env::temp_dir().join(format!("s3ec-xtask-{}-{tag}-{id}", std::process::id()));
        let _ = fs::remove_dir_all(&dst);
        fs::create_dir_all(&dst).unwrap();
        for e in fs::read_dir(&src).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
        dst
    }

    fn set_expect_error(dir: &Path, v: serde_json::Value) {
        let p = dir.join("case.json");
        let mut j: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        match v {
            serde_json::Value::Null => {
                j.as_object_mut().unwrap().remove("expect_error");
            }
            v => j["expect_error"] = v,
        }
        fs::write(&p, serde_json::to_vec_pretty(&j).unwrap()).unwrap();
    }

    const INSTR_NEG: &str = "rust-v3-aesgcm-k256-instr-md-17-neg-file-3-bitflip";

    #[test]
    fn a_refusal_of_the_stated_class_passes() {
        let d = copy_case(INSTR_NEG, "ok");
        assert!(matches!(run_case(&d), Outcome::Pass), "{:?}", run_case(&d));
    }

    /// Issue 14: a negative case whose instruction file is gone used to
    /// pass (any error counted). A missing file is not a refusal.
    #[test]
    fn a_missing_instruction_file_is_not_a_refusal() {
        let d = copy_case(INSTR_NEG, "missing");
        fs::remove_file(d.join("instruction.bin")).unwrap();
        match run_case(&d) {
            Outcome::Fail(why) => assert!(why.contains("not one"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_refusal_for_another_reason_fails() {
        let d = copy_case(INSTR_NEG, "wrong");
        set_expect_error(&d, serde_json::json!("authentication"));
        match run_case(&d) {
            Outcome::Fail(why) => assert!(why.contains("wrong reason: key"), "{why}"),
            other => panic!("{other:?}"),
        }
        set_expect_error(&d, serde_json::json!(["format", "key"]));
        assert!(matches!(run_case(&d), Outcome::Pass));
    }

    #[test]
    fn a_negative_case_must_state_its_class() {
        let d = copy_case(INSTR_NEG, "unstated");
        set_expect_error(&d, serde_json::Value::Null);
        match run_case(&d) {
            Outcome::Fail(why) => {
                assert!(
                    why.contains("without expect_error (refused as: key"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
        set_expect_error(&d, serde_json::json!("keys"));
        assert!(matches!(run_case(&d), Outcome::Fail(_)));
    }

    #[test]
    fn an_accepted_negative_case_fails() {
        // The untampered base case relabelled as negative: accepted.
        let d = copy_case("rust-v3-aesgcm-k256-instr-md-17", "accepted");
        let p = d.join("case.json");
        let mut j: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        j["expect"] = "error".into();
        j["expect_error"] = "key".into();
        fs::write(&p, serde_json::to_vec_pretty(&j).unwrap()).unwrap();
        match run_case(&d) {
            Outcome::Fail(why) => assert!(why.contains("accepted"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}

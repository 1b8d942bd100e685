//! `cargo xtask vectors check DIR...`: decrypt every interop vector case.
//!
//! A case is a folder holding `case.json` (layout:
//! `../shared/interop/VECTOR-FORMAT.md`). Each case is decrypted with the
//! most permissive settings it needs, through the same code path the client
//! uses (`s3ec_client::codec`): envelope parsing, policy, keyring, key
//! commitment, content authentication. `expect: "ok"` cases must give
//! `plaintext.bin`; `expect: "error"` cases must be rejected and release no
//! plaintext.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2_std::{Digest, Sha256};

use s3ec_client::codec::{self, DecryptPolicy, EnvelopeLocation};
use s3ec_keyring::Context;

use crate::keys;

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
        ("ok", Err(e)) => Outcome::Fail(format!("expected plaintext, got error: {e}")),
        ("error", Ok(_)) => Outcome::Fail(format!(
            "tampered case ({}) was accepted",
            case.tamper
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_default()
        )),
        // The pipeline returns no plaintext on error: `decrypt_body` clears
        // the buffer before it returns an error.
        ("error", Err(_)) => Outcome::Pass,
        (other, _) => Outcome::Fail(format!("unknown expect value {other:?}")),
    }
}

/// Decrypt one case with the most permissive policy; `Ok` only with
/// authenticated (or, for legacy CBC, padding-checked) plaintext.
fn decrypt(
    dir: &Path,
    case: &Case,
    keyring: &dyn s3ec_keyring::Keyring,
    mut body: Vec<u8>,
) -> Result<Vec<u8>, String> {
    let metadata: Vec<(String, String)> = case
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let instruction = match codec::needs_instruction_file(&metadata).map_err(|e| e.to_string())? {
        EnvelopeLocation::ObjectMetadata => None,
        EnvelopeLocation::InstructionFile { .. } => Some(
            fs::read_to_string(dir.join("instruction.bin"))
                .map_err(|e| format!("instruction file needed: instruction.bin: {e}"))?,
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
    .map_err(|e| e.to_string())?;
    codec::decrypt_body(&opened.key, &mut body).map_err(|e| e.to_string())?;
    Ok(body)
}

//! The interop vector cases (layout: `../shared/interop/VECTOR-FORMAT.md`):
//! the project's own `test-vectors/` and the shared folder's
//! `interop/vectors` (found with the test kit's one lookup,
//! `S3EC_SHARED_DIR` else `../shared`; missing under CI is a failure).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use s3ec_keyring::{Context, Keyring};
use serde::Deserialize;

/// One case, loaded.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its folder.
    pub dir: PathBuf,
    /// `case.json`'s `id`.
    pub id: String,
    /// The object's user metadata.
    pub metadata: Vec<(String, String)>,
    /// The instruction file's bytes, where the case has one.
    pub instruction: Option<Vec<u8>>,
    /// The object body.
    pub ciphertext: Vec<u8>,
    /// `expect: "ok"`: the plaintext; `None` for a negative case.
    pub plaintext: Option<Vec<u8>>,
    /// The classes a negative case may be refused with (`expect_error`).
    pub expect_error: Vec<String>,
    /// The caller's encryption context, where the case has one.
    pub context: Option<Context>,
    /// `case.json`'s `wrap_alg` (of the original object).
    pub wrap_alg: Option<String>,
    key: serde_json::Value,
}

#[derive(Deserialize)]
struct Raw {
    id: String,
    key: serde_json::Value,
    #[serde(default)]
    encryption_context: Option<BTreeMap<String, String>>,
    metadata: BTreeMap<String, String>,
    expect: String,
    #[serde(default)]
    expect_error: Option<serde_json::Value>,
    #[serde(default)]
    wrap_alg: Option<String>,
}

impl Case {
    /// Load the case in `dir`.
    pub fn load(dir: &Path) -> Result<Case, String> {
        let at = |what: &str, e: &dyn std::fmt::Display| format!("{}: {what}: {e}", dir.display());
        let text = fs::read_to_string(dir.join("case.json")).map_err(|e| at("case.json", &e))?;
        let raw: Raw = serde_json::from_str(&text).map_err(|e| at("case.json", &e))?;
        let ciphertext = fs::read(dir.join("ciphertext.bin")).map_err(|e| at("ciphertext", &e))?;
        let instruction = fs::read(dir.join("instruction.bin")).ok();
        let plaintext = match raw.expect.as_str() {
            "ok" => Some(fs::read(dir.join("plaintext.bin")).map_err(|e| at("plaintext", &e))?),
            "error" => None,
            other => return Err(at("expect", &other)),
        };
        let expect_error = match raw.expect_error {
            Some(serde_json::Value::String(s)) => vec![s],
            Some(serde_json::Value::Array(v)) => v
                .into_iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        Ok(Case {
            dir: dir.to_path_buf(),
            id: raw.id,
            metadata: raw.metadata.into_iter().collect(),
            instruction,
            ciphertext,
            plaintext,
            expect_error,
            context: raw.encryption_context,
            wrap_alg: raw.wrap_alg,
            key: raw.key,
        })
    }

    /// Whether this is a negative case.
    pub fn is_negative(&self) -> bool {
        self.plaintext.is_none()
    }

    /// The one refusal class this negative case names, if it names one
    /// (a list such as `["key", "format"]` gives `None`).
    pub fn class(&self) -> Option<&str> {
        match self.expect_error.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        }
    }

    /// Whether the body is AES-GCM (V2/V3, or V1 with GCM content), the
    /// only content ranged gets and delayed authentication apply to.
    pub fn is_gcm(&self) -> bool {
        let get = |k: &str| {
            self.metadata
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
        };
        get("x-amz-c").is_some() || get("x-amz-cek-alg").is_some_and(|a| a.contains("GCM"))
    }

    /// The `s3ec` command line's key option and key file text for the
    /// case's key (`--aes-key-file` base64, `--rsa-key-file` PEM); `None`
    /// for a KMS key (the command line talks to real KMS only).
    pub fn key_file(&self) -> Option<(&'static str, String)> {
        let field = |name: &str| self.key.get(name).and_then(serde_json::Value::as_str);
        match field("kind")? {
            "aes" => Some(("--aes-key-file", field("key_b64")?.to_string())),
            "rsa" => Some(("--rsa-key-file", field("private_key_pem")?.to_string())),
            _ => None,
        }
    }

    /// Whether two metadata keys differ only in case (a negative vector):
    /// such metadata cannot be stored as it is in S3 or the folder store.
    pub fn has_case_duplicates(&self) -> bool {
        let mut seen = std::collections::HashSet::new();
        !self
            .metadata
            .iter()
            .all(|(k, _)| seen.insert(k.to_ascii_lowercase()))
    }

    /// A keyring for the case's key (a strict fake KMS for KMS cases: it
    /// answers only the exact recorded blob and context).
    pub fn keyring(&self) -> Result<Box<dyn Keyring>, String> {
        let field = |name: &str| {
            self.key
                .get(name)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| format!("{}: key.{name} missing", self.id))
        };
        let b64 = |s: &str| {
            use base64ct::Encoding;
            base64ct::Base64::decode_vec(s).map_err(|e| format!("{}: {e}", self.id))
        };
        match field("kind")? {
            "aes" => Ok(Box::new(
                s3ec_local::AesKeyring::new(&b64(field("key_b64")?)?).map_err(|e| e.to_string())?,
            )),
            "rsa" => Ok(Box::new(
                s3ec_local::RsaKeyring::from_private_key_pem(field("private_key_pem")?)
                    .map_err(|e| e.to_string())?,
            )),
            "kms" => {
                let key_id = field("key_id")?;
                let context: Context = self
                    .key
                    .get("kms_encryption_context")
                    .cloned()
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(|e| format!("{}: {e}", self.id))?
                    .unwrap_or_default();
                let kms = s3ec_kms::testing::StaticKms::new().with_entry(
                    key_id,
                    &b64(field("ciphertext_blob_b64")?)?,
                    &context,
                    &b64(field("data_key_b64")?)?,
                );
                Ok(Box::new(
                    s3ec_kms::KmsKeyring::new(kms, key_id).map_err(|e| e.to_string())?,
                ))
            }
            other => Err(format!("{}: unknown key kind {other:?}", self.id)),
        }
    }
}

/// Every folder with a `case.json` under `dir`, sorted.
fn find(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut subdirs: Vec<PathBuf> = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            subdirs.push(p);
        } else if p.file_name().is_some_and(|n| n == "case.json") {
            out.push(dir.to_path_buf());
        }
    }
    subdirs.sort();
    for d in subdirs {
        find(&d, out);
    }
}

/// Every case: the project's `test-vectors/`, then the shared vectors
/// (skipped with a note outside CI when the shared folder is missing; a
/// panic under CI). `Err` names a case that cannot be read.
pub fn all() -> Result<Vec<Case>, String> {
    let mut dirs = Vec::new();
    find(
        &s3ec_testkit::workspace_root().join("test-vectors"),
        &mut dirs,
    );
    if let Some(shared) = s3ec_testkit::require_interop_vectors("the zero-release harness") {
        find(&shared, &mut dirs);
    }
    dirs.iter().map(|d| Case::load(d)).collect()
}

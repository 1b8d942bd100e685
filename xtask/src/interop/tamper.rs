//! Tampered copies of peer-written objects, which the Rust client must
//! refuse with nothing written to its output.
//!
//! Each copy is made with the plain S3 transport: the object (and its
//! instruction file) is read raw, one thing is changed, and the result is
//! stored under a new key. An unchanged copy made the same way (the
//! "control") must still decrypt, so a refusal is due to the change alone.
//! Reads use the most permissive client: V2 and V3, legacy wrapping
//! algorithms and CBC content allowed.
//!
//! What is changed ([`Tamper`]): a ciphertext bit, a tag bit, an IV (V3:
//! message id) bit, a wrapped-key bit, the content algorithm set to CBC,
//! the V3 key commitment, the stored KMS encryption context, and (no
//! change to the object) the caller's expected context. CBC objects have no
//! authentication by design (legacy V1 format), so only their key-related
//! fields are tampered. Raw-key (AES/RSA) material descriptions are not
//! bound to the V2 wrapped key by the format, so they are not tampered.

use std::io::Read;

use base64ct::{Base64, Encoding};
use s3ec_client::transport::{Bytes, ErrorKind, GetRequest, PutRequest, Transport};
use s3ec_keyring::Context;

use crate::refusal::{self, Class, Stage};
use s3ec_core::WrapAlg;

use super::cells::{Cell, Op, TamperSet, TAMPER_SIZE};
use super::env::{Env, KeyKind, ReadPolicy};
use super::{body, parallel, JobResult, Outcome};

/// A stored object's user metadata and body.
pub(crate) type Stored = (Vec<(String, String)>, Vec<u8>);

/// A raw object: metadata and body, and its instruction file if any.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    /// User metadata as S3 returned it.
    pub(crate) metadata: Vec<(String, String)>,
    /// The stored body.
    pub(crate) body: Vec<u8>,
    /// The instruction file: its metadata and its bytes.
    pub(crate) instruction: Option<Stored>,
}

fn get_raw(env: &Env, key: &str) -> Result<Option<Stored>, String> {
    let req = GetRequest {
        bucket: &env.bucket,
        key,
        range: None,
        if_match: None,
        ..GetRequest::default()
    };
    match env.s3.get_object(&req) {
        Ok(resp) => {
            let mut body = Vec::new();
            let metadata = resp.head.metadata.clone();
            let mut reader = resp.body;
            reader
                .read_to_end(&mut body)
                .map_err(|e| format!("reading {key}: {e}"))?;
            Ok(Some((metadata, body)))
        }
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("GET {key}: {e}")),
    }
}

/// Read `key` (and `key.instruction`) without decrypting.
pub(crate) fn fetch(env: &Env, key: &str) -> Result<Raw, String> {
    let (metadata, body) = get_raw(env, key)?.ok_or_else(|| format!("{key} is missing"))?;
    let instruction = get_raw(env, &format!("{key}.instruction"))?;
    Ok(Raw {
        metadata,
        body,
        instruction,
    })
}

/// `\uXXXX`-escape every non-ASCII character (metadata values here are
/// JSON documents, where that is the same text; S3 headers must be ASCII).
pub(crate) fn ascii_safe(value: &str) -> String {
    if value.is_ascii() {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 16);
    for c in value.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// Store `raw` under `key` (and its instruction file under `key.instruction`).
pub(crate) fn store(env: &Env, key: &str, raw: &Raw) -> Result<(), String> {
    let put = |k: &str, md: &[(String, String)], b: &[u8]| -> Result<(), String> {
        let md: Vec<(String, String)> =
            md.iter().map(|(k, v)| (k.clone(), ascii_safe(v))).collect();
        let req = PutRequest::new(&env.bucket, k, &md);
        env.s3
            .put_object(&req, Bytes::copy_from_slice(b))
            .map(|_| ())
            .map_err(|e| format!("PUT {k}: {e}"))
    };
    put(key, &raw.metadata, &raw.body)?;
    if let Some((md, b)) = &raw.instruction {
        put(&format!("{key}.instruction"), md, b)?;
    }
    Ok(())
}

/// One change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tamper {
    /// First ciphertext byte, one bit.
    Body,
    /// Last byte of the GCM tag, one bit.
    Tag,
    /// IV (V2) or message id (V3), one bit.
    Iv,
    /// Wrapped data key, last byte, one bit.
    WrappedKey,
    /// Content algorithm relabelled as AES/CBC (V3: suite 112).
    CekToCbc,
    /// V2: relabelled as AES/CBC with a 16-byte IV (the GCM IV and four
    /// zero bytes), so that the envelope is a well-formed CBC one and only
    /// the binding of the content algorithm to the wrapped key (KMS
    /// context, AES/GCM wrap AAD, RSA-OAEP plaintext) can catch it.
    CekToCbcIv16,
    /// V3 key commitment, one bit.
    Commitment,
    /// Stored encryption context (a value changed; legacy `kms`: another key's id).
    StoredContext,
    /// The caller expects another context (object unchanged).
    CallerContext,
}

impl Tamper {
    /// Short name (case ids).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tamper::Body => "ct-bitflip",
            Tamper::Tag => "tag-bitflip",
            Tamper::Iv => "iv-bitflip",
            Tamper::WrappedKey => "wrapped-key-bitflip",
            Tamper::CekToCbc => "cek-alg-to-cbc",
            Tamper::CekToCbcIv16 => "cek-alg-to-cbc-iv16",
            Tamper::Commitment => "commitment-bitflip",
            Tamper::StoredContext => "context-changed",
            Tamper::CallerContext => "caller-context-wrong",
        }
    }
}

impl Tamper {
    /// Why the copy must be refused (`expect_error`): the class(es) a
    /// reader following the reference implementation reports first, for an
    /// object of `format` wrapped with `wrap`.
    pub(crate) fn expected(self, format: Format, wrap: Option<WrapAlg>) -> &'static [Class] {
        // Wraps that bind the content algorithm (KMS context, AES/GCM AAD,
        // the RSA-OAEP pseudo key); the legacy ones do not, and a relabel
        // to CBC is then caught only by the CBC padding check.
        let binds = matches!(
            wrap,
            Some(WrapAlg::KmsContext | WrapAlg::AesGcm | WrapAlg::RsaOaepSha1)
        );
        match self {
            Tamper::Body | Tamper::Tag => &[Class::Authentication],
            Tamper::Iv if format == Format::V3 => &[Class::Commitment, Class::Authentication],
            Tamper::Iv => &[Class::Authentication],
            Tamper::WrappedKey => &[Class::Key],
            Tamper::CekToCbc | Tamper::CekToCbcIv16 if binds => &[Class::Key, Class::Format],
            Tamper::CekToCbc | Tamper::CekToCbcIv16 => {
                &[Class::Key, Class::Format, Class::Authentication]
            }
            Tamper::Commitment => &[Class::Commitment, Class::Authentication],
            Tamper::StoredContext if wrap == Some(WrapAlg::Kms) => &[Class::Key],
            Tamper::StoredContext | Tamper::CallerContext => &[Class::Context],
        }
    }
}

/// One tampered read.
#[derive(Debug)]
pub(crate) struct TamperResult {
    /// The base cell.
    pub(crate) cell: usize,
    /// The base object's key.
    pub(crate) base_key: String,
    /// What was changed.
    pub(crate) tamper: Tamper,
    /// What exactly (for the report and the vectors).
    pub(crate) what: String,
    /// Pass: refused with no output; Fail otherwise.
    pub(crate) outcome: Outcome,
    /// The tampered copy (`None` for [`Tamper::CallerContext`] and on errors).
    pub(crate) copy: Option<Raw>,
}

/// Which envelope format an object has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    V1,
    V2,
    V3,
}

impl Raw {
    fn instruction_json(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        let (_, b) = self.instruction.as_ref()?;
        serde_json::from_slice(b).ok()
    }

    /// An envelope field, from the metadata or the instruction file.
    pub(crate) fn field(&self, name: &str) -> Option<String> {
        if let Some((_, v)) = self.metadata.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        self.instruction_json()?
            .get(name)?
            .as_str()
            .map(str::to_string)
    }

    /// Replace an envelope field where it is.
    fn set_field(&mut self, name: &str, value: String) -> Result<(), String> {
        if let Some(entry) = self.metadata.iter_mut().find(|(k, _)| k == name) {
            entry.1 = value;
            return Ok(());
        }
        let mut json = self
            .instruction_json()
            .ok_or_else(|| format!("no {name} in the metadata and no instruction file"))?;
        if !json.contains_key(name) {
            return Err(format!("no {name} in the metadata or the instruction file"));
        }
        json.insert(name.to_string(), serde_json::Value::String(value));
        let text = serde_json::to_vec(&json).map_err(|e| format!("instruction file: {e}"))?;
        if let Some((_, b)) = &mut self.instruction {
            *b = text;
        }
        Ok(())
    }

    /// The wrapping algorithm the envelope names (V1 without
    /// `x-amz-wrap-alg`: inferred from the wrapped key's length).
    pub(crate) fn wrap(&self) -> Option<WrapAlg> {
        if let Some(code) = self.field("x-amz-w") {
            return match code.as_str() {
                "02" => Some(WrapAlg::AesGcm),
                "12" => Some(WrapAlg::KmsContext),
                "22" => Some(WrapAlg::RsaOaepSha1),
                _ => None,
            };
        }
        if let Some(name) = self.field("x-amz-wrap-alg") {
            return refusal::wrap_of(&name);
        }
        let edk = Base64::decode_vec(&self.field("x-amz-key")?).ok()?;
        Some(s3ec_core::wrap::infer_v1(edk.len()))
    }

    /// The envelope format.
    pub(crate) fn format(&self) -> Result<Format, String> {
        if self.field("x-amz-3").is_some() {
            Ok(Format::V3)
        } else if self.field("x-amz-key-v2").is_some() {
            Ok(Format::V2)
        } else if self.field("x-amz-key").is_some() {
            Ok(Format::V1)
        } else {
            Err("no envelope found".into())
        }
    }

    fn flip_b64(&mut self, name: &str, last: bool) -> Result<String, String> {
        let v = self.field(name).ok_or_else(|| format!("no {name}"))?;
        let mut bytes = Base64::decode_vec(&v).map_err(|e| format!("{name}: bad base64: {e}"))?;
        if bytes.is_empty() {
            return Err(format!("{name} is empty"));
        }
        let i = if last { bytes.len() - 1 } else { 0 };
        bytes[i] ^= 0x01;
        self.set_field(name, Base64::encode_string(&bytes))?;
        Ok(format!("{name}: bit 0 of byte {i} flipped"))
    }
}

/// Apply `t` to `raw`; a description of the change.
fn apply(env: &Env, raw: &mut Raw, t: Tamper) -> Result<String, String> {
    let format = raw.format()?;
    let (key_field, iv_field, cek_field, ctx_field) = match format {
        Format::V3 => ("x-amz-3", "x-amz-i", "x-amz-c", "x-amz-t"),
        Format::V2 => ("x-amz-key-v2", "x-amz-iv", "x-amz-cek-alg", "x-amz-matdesc"),
        Format::V1 => ("x-amz-key", "x-amz-iv", "x-amz-cek-alg", "x-amz-matdesc"),
    };
    match t {
        Tamper::Body => {
            if raw.body.len() <= 16 {
                return Err("no ciphertext before the tag".into());
            }
            raw.body[0] ^= 0x01;
            Ok("ciphertext: bit 0 of byte 0 flipped".into())
        }
        Tamper::Tag => {
            let n = raw.body.len();
            if n == 0 {
                return Err("empty body".into());
            }
            raw.body[n - 1] ^= 0x80;
            Ok(format!("tag: bit 7 of the last byte ({}) flipped", n - 1))
        }
        Tamper::Iv => raw.flip_b64(iv_field, false),
        Tamper::WrappedKey => raw.flip_b64(key_field, true),
        Tamper::Commitment => raw.flip_b64("x-amz-d", false),
        Tamper::CekToCbc => {
            let cbc = if format == Format::V3 {
                "112"
            } else {
                "AES/CBC/PKCS5Padding"
            };
            let old = raw.field(cek_field).unwrap_or_default();
            raw.set_field(cek_field, cbc.to_string())?;
            Ok(format!("{cek_field}: {old} -> {cbc}"))
        }
        Tamper::CekToCbcIv16 => {
            if format == Format::V3 {
                return Err("V3 has no CBC suite with a 16-byte IV".into());
            }
            let iv = raw
                .field(iv_field)
                .ok_or_else(|| format!("no {iv_field}"))?;
            let mut iv = Base64::decode_vec(&iv).map_err(|e| format!("{iv_field}: {e}"))?;
            iv.resize(16, 0);
            raw.set_field(iv_field, Base64::encode_string(&iv))?;
            raw.set_field(cek_field, "AES/CBC/PKCS5Padding".to_string())?;
            Ok(format!(
                "{cek_field} -> AES/CBC/PKCS5Padding and {iv_field} padded to 16 bytes"
            ))
        }
        Tamper::StoredContext => {
            let v = raw
                .field(ctx_field)
                .ok_or_else(|| format!("no {ctx_field}"))?;
            let mut map: Context =
                serde_json::from_str(&v).map_err(|e| format!("{ctx_field}: {e}"))?;
            let target = map
                .keys()
                .find(|k| !k.starts_with("aws:") && *k != "kms_cmk_id")
                .cloned();
            let what = match target {
                Some(k) => {
                    let new = format!("{}-tampered", map[&k]);
                    map.insert(k.clone(), new);
                    format!("{ctx_field}: value of {k:?} changed")
                }
                None if map.contains_key("kms_cmk_id") => {
                    map.insert("kms_cmk_id".into(), env.kms_other_key_id.clone());
                    format!("{ctx_field}: kms_cmk_id set to another KMS key")
                }
                None => return Err(format!("{ctx_field} has nothing to change")),
            };
            let text = serde_json::to_string(&map).map_err(|e| format!("{ctx_field}: {e}"))?;
            raw.set_field(ctx_field, text)?;
            Ok(what)
        }
        Tamper::CallerContext => Ok("object unchanged; the get expects another context".into()),
    }
}

/// The tampers for one base cell.
fn tampers_for(cell: &Cell, set: TamperSet, format: Format) -> Vec<Tamper> {
    let kms = cell.kind == KeyKind::Kms;
    let caller_ctx = matches!(
        &cell.op,
        Op::PeerToRust {
            expected: Some(_),
            ..
        }
    );
    let mut v = Vec::new();
    match set {
        TamperSet::Gcm => {
            v.extend([Tamper::Body, Tamper::Tag, Tamper::Iv, Tamper::WrappedKey]);
            v.push(Tamper::CekToCbc);
            if format == Format::V3 {
                v.push(Tamper::Commitment);
            } else {
                v.push(Tamper::CekToCbcIv16);
            }
            if kms {
                v.push(Tamper::StoredContext);
            }
            if caller_ctx {
                v.push(Tamper::CallerContext);
            }
        }
        TamperSet::Cbc => {
            v.push(Tamper::WrappedKey);
            if kms {
                v.push(Tamper::StoredContext);
            }
        }
    }
    v
}

/// Read `key` with the most permissive client; `Ok` with the plaintext, or
/// `Err((message, bytes written before the error, the refusal's class))`
/// (no class: a transport or setup failure, not a refusal).
fn permissive_get(
    env: &Env,
    cell: &Cell,
    key: &str,
    expected: Option<&Context>,
) -> Result<Vec<u8>, (String, usize, Option<Class>)> {
    let (ring, _) = env.keyring(cell.kind, None).map_err(|e| (e, 0, None))?;
    let p = ReadPolicy::LEGACY_ALL;
    let client = env
        .client(ring, p.commitment, p.legacy)
        .map_err(|e| (e, 0, None))?;
    let mut out = Vec::new();
    match client.get_object(&env.bucket, key, &mut out, expected) {
        Ok(_) => Ok(out),
        Err(e) => Err((e.to_string(), out.len(), refusal::classify(&e, Stage::Get))),
    }
}

/// One base object: the control copy and every tamper.
fn run_base(env: &Env, cell: &Cell, base_key: &str, set: TamperSet) -> Vec<TamperResult> {
    let expected = match &cell.op {
        Op::PeerToRust { expected, .. } => expected.clone(),
        Op::RustToPeer { .. } => None,
    };
    let one = |tamper: Tamper, what: String, outcome: Outcome, copy: Option<Raw>| TamperResult {
        cell: cell.id,
        base_key: base_key.to_string(),
        tamper,
        what,
        outcome,
        copy,
    };
    let raw = match fetch(env, base_key) {
        Ok(r) => r,
        Err(e) => {
            return vec![one(
                Tamper::Body,
                "read the base object".into(),
                Outcome::Fail(e),
                None,
            )]
        }
    };
    let format = match raw.format() {
        Ok(f) => f,
        Err(e) => {
            return vec![one(
                Tamper::Body,
                "base object".into(),
                Outcome::Fail(e),
                None,
            )];
        }
    };
    // The control: an unchanged copy through the same path must decrypt.
    let control_key = format!("{base_key}-control");
    let want = body(TAMPER_SIZE);
    let control = store(env, &control_key, &raw).and_then(|()| {
        permissive_get(env, cell, &control_key, expected.as_ref())
            .map_err(|(e, _, _)| format!("the unchanged copy does not decrypt: {e}"))
            .and_then(|got| {
                if got == want {
                    Ok(())
                } else {
                    Err("the unchanged copy decrypts to other bytes".into())
                }
            })
    });
    if let Err(e) = control {
        return vec![one(
            Tamper::Body,
            "control copy".into(),
            Outcome::Fail(e),
            None,
        )];
    }
    let wrap = raw.wrap();
    let mut out = Vec::new();
    for t in tampers_for(cell, set, format) {
        let mut copy = raw.clone();
        let what = match apply(env, &mut copy, t) {
            Ok(w) => w,
            Err(e) => {
                out.push(one(t, String::new(), Outcome::Fail(e), None));
                continue;
            }
        };
        let (key, exp, saved) = if t == Tamper::CallerContext {
            let mut other = expected.clone().unwrap_or_default();
            other.insert("tenant".into(), "someone-else".into());
            (base_key.to_string(), Some(other), None)
        } else {
            let key = format!("{base_key}-tamper-{}", t.name());
            if let Err(e) = store(env, &key, &copy) {
                out.push(one(t, what, Outcome::Fail(e), None));
                continue;
            }
            (key, expected.clone(), Some(copy))
        };
        let outcome = match permissive_get(env, cell, &key, exp.as_ref()) {
            // A V1 `RSA` (PKCS#1 v1.5) wrap unwraps under implicit
            // rejection: a tampered key yields a stand-in data key, and
            // unauthenticated CBC content decrypted under it passes the
            // padding check for about 1 wrapped key in 256 (the key is
            // fresh each run). Bytes that are not the plaintext, in a mode
            // the caller opted into as unauthenticated, are that case and
            // not an acceptance; the copy is not saved as a vector.
            Ok(got) if implicit_rejection_garbage(t, set, wrap, &got, &want) => {
                out.push(one(
                    t,
                    what,
                    Outcome::Cannot(format!(
                        "CBC under a PKCS#1 v1.5 stand-in key passed the padding check: {} bytes that are not the plaintext (implicit rejection, ~1 in 256)",
                        got.len()
                    )),
                    None,
                ));
                continue;
            }
            Ok(got) => Outcome::Fail(format!(
                "ACCEPTED: the client returned {} bytes{}",
                got.len(),
                if got == want {
                    " (the original plaintext)"
                } else {
                    ""
                }
            )),
            // Refused with nothing released: for the right reason?
            Err((e, 0, got)) => match refusal::check(t.expected(format, wrap), got, wrap) {
                Ok(()) => Outcome::Cannot(e),
                Err(why) => Outcome::Fail(format!("{why} ({e})")),
            },
            Err((e, n, _)) => Outcome::Fail(format!(
                "refused ({e}) but {n} bytes of plaintext were released first"
            )),
        };
        out.push(one(t, what, outcome, saved));
    }
    out
}

/// Whether an accepted read of a tampered copy is the implicit-rejection
/// case: a wrapped-key tamper of a V1 `RSA` wrap over CBC content whose
/// output is not the plaintext.
fn implicit_rejection_garbage(
    t: Tamper,
    set: TamperSet,
    wrap: Option<WrapAlg>,
    got: &[u8],
    want: &[u8],
) -> bool {
    t == Tamper::WrappedKey
        && matches!(set, TamperSet::Cbc)
        && wrap == Some(WrapAlg::RsaPkcs1)
        && got != want
}

/// Every tamper of every base cell (its [`TAMPER_SIZE`] object).
/// [`Outcome::Cannot`] here means "refused, nothing released" (the message
/// is the client's error).
pub(crate) fn run_all(
    env: &Env,
    plan: &[Cell],
    results: &[JobResult],
    jobs: usize,
) -> Vec<TamperResult> {
    let mut bases = Vec::new();
    for cell in plan {
        let Op::PeerToRust {
            tamper: Some(set), ..
        } = &cell.op
        else {
            continue;
        };
        let base = results
            .iter()
            .find(|r| r.cell == cell.id && r.size == TAMPER_SIZE);
        match base {
            Some(r) if matches!(r.outcome, Outcome::Pass) => {
                bases.push((cell, r.key.clone(), *set));
            }
            _ => {} // The cell's own failure is reported already.
        }
    }
    eprintln!(
        "interop: tampering with {} peer-written objects",
        bases.len()
    );
    parallel(bases, jobs, |(cell, key, set)| {
        run_base(env, cell, &key, set)
    })
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cbc_under_a_pkcs1_stand_in_with_other_bytes_is_implicit_rejection() {
        let (want, other) = (b"plaintext".to_vec(), b"garbage!!".to_vec());
        let pkcs1 = Some(WrapAlg::RsaPkcs1);
        let yes = |t, set, wrap, got: &[u8]| implicit_rejection_garbage(t, set, wrap, got, &want);
        assert!(yes(Tamper::WrappedKey, TamperSet::Cbc, pkcs1, &other));
        // The plaintext itself is an acceptance, never this case.
        assert!(!yes(Tamper::WrappedKey, TamperSet::Cbc, pkcs1, &want));
        // GCM content authenticates: any acceptance is a failure.
        assert!(!yes(Tamper::WrappedKey, TamperSet::Gcm, pkcs1, &other));
        // Other wraps fail their unwrap: no stand-in key.
        for w in [WrapAlg::AesWrap, WrapAlg::RsaOaepSha1, WrapAlg::Kms] {
            assert!(!yes(Tamper::WrappedKey, TamperSet::Cbc, Some(w), &other));
        }
        // Other tampers.
        assert!(!yes(Tamper::StoredContext, TamperSet::Cbc, pkcs1, &other));
    }
}

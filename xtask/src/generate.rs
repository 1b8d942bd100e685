//! `cargo xtask vectors generate DIR`: write the project's own interop vector
//! cases into `DIR/s3ec-rust/<case-id>/`, in the layout of
//! `../shared/interop/VECTOR-FORMAT.md` (`case.json`, `ciphertext.bin`,
//! `plaintext.bin` for `ok` cases, `instruction.bin` where the envelope is in
//! an instruction file), plus `DIR/s3ec-rust/INDEX.md`, a table of the cases.
//!
//! The cases cover what no peer in the shared vectors writes: V3 with the
//! `AES/GCM` (`02`) wrap (object metadata and split instruction files, edge
//! sizes, non-ASCII / empty / raw-UTF-8 / RFC 2047 material descriptions),
//! V2 `AES/GCM` with 128/192/256-bit master keys, the legacy `AESWrap`
//! (RFC 3394) wrap with GCM and CBC content, V1 AES-ECB with a 192-bit
//! master key and a 128-bit data key, and negative cases for every tamper
//! the format must catch.
//!
//! Output is deterministic: master keys are fixed, and every case draws its
//! data key, IVs, message ids, wrap nonces and plaintext from ChaCha20 RNGs
//! seeded with SHA-256 of a label and the case id. Regenerating gives
//! byte-identical files (`cargo xtask ci` checks this against the committed
//! `test-vectors/`), and adding a case changes no other case.
//!
//! Envelopes the library writes (V2/V3 with current wraps) go through the
//! core's write path (`ContentEncryption`, `aes_gcm::wrap`,
//! `Envelope::new_v2` / `new_v3`, `write_object_metadata`,
//! `write_instruction_file`). What the core refuses to write on purpose is
//! written here by hand: legacy `AESWrap` and V1 metadata maps, CBC content
//! (the `cbc` crate; CBC encryption is not in the core), and the all-zero IV
//! / message id of two negative cases (the `aes-gcm` and `hkdf` crates,
//! cross-checked against the core's cipher before use).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::fs;
use std::path::{Path, PathBuf};

use ::aes_gcm::aead::array::Array;
use ::aes_gcm::{AeadInOut, Aes128Gcm, Aes256Gcm, KeyInit};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use hkdf::Hkdf;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use sha2_std::{Digest, Sha256, Sha512};

use s3ec_core::cipher::content::{ContentEncryption, ContentParams};
use s3ec_core::cipher::gcm::GcmEncryptor;
use s3ec_core::cipher::kdf;
use s3ec_core::envelope::{Envelope, Placement};
use s3ec_core::matdesc::{write_pairs_canonical, MatDesc};
use s3ec_core::wrap::{aes_ecb, aes_gcm, aes_kw};
use s3ec_core::{b64, DataKey, MetaKey, Suite, WrapAlg};

use crate::refusal::{self, Class};

/// The producer folder under the output directory.
pub(crate) const PRODUCER_DIR: &str = "s3ec-rust";
/// `producer` in every `case.json`.
const PRODUCER: &str = "s3ec-rust xtask generator";
/// `producer_details` in every `case.json`.
const PRODUCER_DETAILS: &str =
    "s3ec-rust xtask generator (xtask/src/generate.rs; s3ec-core write path, ChaCha20 RNG seeded per case)";
/// Every seed and fixed key is SHA-256 of this prefix, a `/` and a label.
/// Changing it changes every byte of every case.
const SEED_PREFIX: &str = "s3ec-rust test vectors v1";

/// V2 content cipher name.
const GCM: &str = "AES/GCM/NoPadding";
/// Legacy content cipher name.
const CBC: &str = "AES/CBC/PKCS5Padding";
/// V3 content cipher code.
const V3_CEK: &str = "115";

/// Map a displayable error into the xtask's `String` error.
fn err<E: Display>(what: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{what}: {e}")
}

/// A ChaCha20 RNG seeded with SHA-256 of `SEED_PREFIX/label`.
fn rng(label: &str) -> CaseRng {
    CaseRng(ChaCha20Rng::from_seed(
        Sha256::digest(format!("{SEED_PREFIX}/{label}")).into(),
    ))
}

/// `rand_chacha` 0.3's ChaCha20 (the byte stream every committed case was
/// made with) behind the `rand_core` 0.10 traits the core's write path takes.
struct CaseRng(ChaCha20Rng);

impl CaseRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        RngCore::fill_bytes(&mut self.0, dest);
    }
}

impl rand_core::TryRng for CaseRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

// Test vectors only: a seeded generator, so that the cases are reproducible.
impl rand_core::TryCryptoRng for CaseRng {}

/// The fixed AES master key of `bits` (128, 192 or 256) bits.
fn kek(bits: usize) -> Vec<u8> {
    let full = Sha256::digest(format!("{SEED_PREFIX}/master-key/aes-{bits}"));
    full[..bits / 8].to_vec()
}

/// `n` bytes from `rng`.
fn random(rng: &mut CaseRng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

/// The plaintext of case `id`: `len` pseudo-random bytes of its own.
fn plaintext(id: &str, len: usize) -> Vec<u8> {
    random(&mut rng(&format!("{id}/plaintext")), len)
}

/// Standard padded base64.
fn b64e(data: &[u8]) -> Result<String, String> {
    let mut buf = vec![0u8; b64::encoded_len(data.len())];
    Ok(b64::encode(data, &mut buf)
        .map_err(err("base64"))?
        .to_string())
}

/// Decode standard padded base64.
fn b64d(s: &str) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; b64::decoded_len(s) + 3];
    let n = b64::decode(MetaKey::KeyV2, s, &mut buf)
        .map_err(err("base64"))?
        .len();
    buf.truncate(n);
    Ok(buf)
}

/// The material descriptions used by the cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Md {
    /// None given (V2 writes `{}`, V3 writes no `x-amz-m`).
    Empty,
    /// `{"owner": "Zoë Ångström ☃ 東京", "purpose": "s3ec-rust vectors"}`.
    Unicode,
}

impl Md {
    /// The map, as `case.json` records it (`null` for none).
    fn map(self) -> Option<BTreeMap<String, String>> {
        match self {
            Md::Empty => None,
            Md::Unicode => Some(BTreeMap::from([
                ("owner".to_string(), "Zoë Ångström ☃ 東京".to_string()),
                ("purpose".to_string(), "s3ec-rust vectors".to_string()),
            ])),
        }
    }

    /// Compact JSON with raw UTF-8 (what Ruby and Java write); empty string
    /// for none.
    fn raw_json(self) -> Result<String, String> {
        match self.map() {
            None => Ok(String::new()),
            Some(m) => serde_json::to_string(&m).map_err(err("material description")),
        }
    }

    /// Canonical JSON as the core writes it: compact, sorted, pure ASCII
    /// (`{}` for none).
    fn canonical_json(self) -> Result<String, String> {
        let map = self.map().unwrap_or_default();
        let mut out = String::new();
        write_pairs_canonical(map.iter().map(|(k, v)| (k.as_str(), v.as_str())), &mut out)
            .map_err(err("material description"))?;
        Ok(out)
    }
}

/// One vector case, in memory.
#[derive(Debug, Clone)]
struct Case {
    id: String,
    /// `v1`, `v2` or `v3`.
    format: &'static str,
    /// As stored (`02` for V3).
    wrap_alg: &'static str,
    /// As stored (`115` for V3).
    cek_alg: &'static str,
    /// Whether the envelope is (partly) in an instruction file.
    instruction_storage: bool,
    /// The AES master key.
    kek: Vec<u8>,
    /// The material description the caller gave.
    md: Md,
    /// Object user metadata, keys without `x-amz-meta-`, in write order.
    metadata: Vec<(String, String)>,
    /// The instruction file body, if any.
    instruction: Option<String>,
    /// The (original) plaintext.
    plaintext: Vec<u8>,
    /// The stored body.
    ciphertext: Vec<u8>,
    /// `Some` for an `expect: "error"` case.
    tamper: Option<String>,
    /// For a negative case: the class(es) of the refusal (`expect_error`).
    expect_error: Vec<Class>,
    notes: String,
    /// The plaintext data key, kept for the negative cases derived from this
    /// one (never written out).
    dk: Vec<u8>,
}

impl Case {
    /// The value of metadata key `key` (exact spelling).
    fn meta(&self, key: &str) -> Result<&str, String> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("{}: no metadata key {key}", self.id))
    }

    /// Replace metadata key `key` (or append it).
    fn set_meta(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.metadata.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.metadata.push((key.to_string(), value)),
        }
    }

    /// Append metadata entry `key` (even if the same key, in another case,
    /// is already present).
    fn push_meta(&mut self, key: &str, value: impl Into<String>) {
        self.metadata.push((key.to_string(), value.into()));
    }

    /// Remove metadata key `key`.
    fn remove_meta(&mut self, key: &str) -> Result<(), String> {
        let before = self.metadata.len();
        self.metadata.retain(|(k, _)| k != key);
        if self.metadata.len() == before {
            return Err(format!("{}: no metadata key {key} to remove", self.id));
        }
        Ok(())
    }

    /// Flip bit `bit` of byte `byte` of the base64 value of metadata key `key`.
    fn flip_meta(&mut self, key: &str, byte: usize, bit: u8) -> Result<(), String> {
        let mut raw = b64d(self.meta(key)?)?;
        let b = raw
            .get_mut(byte)
            .ok_or_else(|| format!("{}: {key} has no byte {byte}", self.id))?;
        *b ^= 1 << bit;
        let v = b64e(&raw)?;
        self.set_meta(key, v);
        Ok(())
    }

    /// The instruction file body.
    fn instruction(&self) -> Result<&str, String> {
        self.instruction
            .as_deref()
            .ok_or_else(|| format!("{}: no instruction file", self.id))
    }

    /// The data key.
    fn data_key(&self) -> Result<DataKey, String> {
        DataKey::from_slice(&self.dk).map_err(err("data key"))
    }

    /// The data key as AES-256 bytes.
    fn dk256(&self) -> Result<[u8; 32], String> {
        self.dk
            .as_slice()
            .try_into()
            .map_err(|_| format!("{}: data key is not 256 bits", self.id))
    }
}

/// The fields a case builder fills in.
struct Shape {
    id: String,
    format: &'static str,
    wrap_alg: &'static str,
    cek_alg: &'static str,
    placement: Placement,
    kek: Vec<u8>,
    md: Md,
    notes: String,
}

impl Shape {
    fn into_case(self, dk: &[u8], pt: Vec<u8>, sealed: Sealed) -> Case {
        Case {
            id: self.id,
            format: self.format,
            wrap_alg: self.wrap_alg,
            cek_alg: self.cek_alg,
            instruction_storage: self.placement == Placement::InstructionFile,
            kek: self.kek,
            md: self.md,
            metadata: sealed.metadata,
            instruction: sealed.instruction,
            plaintext: pt,
            ciphertext: sealed.body,
            tamper: None,
            expect_error: Vec::new(),
            notes: self.notes,
            dk: dk.to_vec(),
        }
    }
}

/// A stored object: user metadata, instruction file, body.
struct Sealed {
    metadata: Vec<(String, String)>,
    instruction: Option<String>,
    body: Vec<u8>,
}

/// Emit `env` through the core's write path.
fn write_envelope(env: &Envelope<'_>, placement: Placement) -> Result<Sealed, String> {
    let mut metadata = Vec::new();
    env.write_object_metadata(placement, &mut |k: MetaKey, v: &str| {
        metadata.push((k.as_str().to_string(), v.to_string()));
        Ok(())
    })
    .map_err(err("write_object_metadata"))?;
    let instruction = match placement {
        Placement::InstructionFile => {
            let mut s = String::new();
            env.write_instruction_file(&mut s)
                .map_err(err("write_instruction_file"))?;
            Some(s)
        }
        Placement::ObjectMetadata => None,
    };
    Ok(Sealed {
        metadata,
        instruction,
        body: Vec::new(),
    })
}

/// Encrypt `pt` with `suite` under `dk` through the core; the body
/// (`ciphertext || tag`) and the envelope values.
fn seal_content(
    suite: Suite,
    dk: &DataKey,
    pt: &[u8],
    rng: &mut CaseRng,
) -> Result<(Vec<u8>, ContentParams), String> {
    let (mut enc, params) = ContentEncryption::new(suite, dk, rng)
        .map_err(err("ContentEncryption::new"))?
        .into_parts();
    let mut body = pt.to_vec();
    enc.update(&mut body).map_err(err("GCM encrypt"))?;
    body.extend_from_slice(&enc.finish());
    Ok((body, params))
}

/// A V3 object, `AES/GCM` (`02`) wrap, through the core.
fn seal_v3(
    kek: &[u8],
    dk: &DataKey,
    md_json: &str,
    placement: Placement,
    pt: &[u8],
    rng: &mut CaseRng,
) -> Result<Sealed, String> {
    let edk = aes_gcm::wrap(kek, dk, V3_CEK, rng).map_err(err("aes_gcm::wrap"))?;
    let (body, params) = seal_content(Suite::AesGcmCommitting, dk, pt, rng)?;
    let ContentParams::Committing {
        message_id,
        commitment,
    } = params
    else {
        return Err("V3 content encryption gave no message id".into());
    };
    let md = if md_json.is_empty() {
        MatDesc::EMPTY
    } else {
        MatDesc::parse(md_json).map_err(err("material description"))?
    };
    let env = Envelope::new_v3(WrapAlg::AesGcm, &edk, &message_id, &commitment, md)
        .map_err(err("Envelope::new_v3"))?
        .with_unencrypted_content_length(pt.len() as u64);
    let mut sealed = write_envelope(&env, placement)?;
    sealed.body = body;
    Ok(sealed)
}

/// A V2 object, `AES/GCM` wrap, through the core.
fn seal_v2(
    kek: &[u8],
    dk: &DataKey,
    md_json: &str,
    placement: Placement,
    pt: &[u8],
    rng: &mut CaseRng,
) -> Result<Sealed, String> {
    let edk = aes_gcm::wrap(kek, dk, GCM, rng).map_err(err("aes_gcm::wrap"))?;
    let (body, params) = seal_content(Suite::AesGcm, dk, pt, rng)?;
    let ContentParams::Gcm { iv } = params else {
        return Err("V2 content encryption gave no IV".into());
    };
    let md = if md_json.is_empty() {
        MatDesc::EMPTY
    } else {
        MatDesc::parse(md_json).map_err(err("material description"))?
    };
    let env = Envelope::new_v2(WrapAlg::AesGcm, &edk, &iv, md)
        .map_err(err("Envelope::new_v2"))?
        .with_unencrypted_content_length(pt.len() as u64);
    let mut sealed = write_envelope(&env, placement)?;
    sealed.body = body;
    Ok(sealed)
}

/// A V3 `02` case.
fn v3_case(kek_bits: usize, md: Md, placement: Placement, len: usize) -> Result<Case, String> {
    let (place, how) = match placement {
        Placement::ObjectMetadata => ("meta", "object metadata"),
        Placement::InstructionFile => (
            "instr",
            "split storage: x-amz-c/x-amz-d/x-amz-i (and x-amz-unencrypted-content-length) on \
             the object, x-amz-3/x-amz-w/x-amz-m in the instruction file",
        ),
    };
    let mdname = match md {
        Md::Empty => "nomd",
        Md::Unicode => "md",
    };
    let id = format!("rust-v3-aesgcm-k{kek_bits}-{place}-{mdname}-{len}");
    let mut r = rng(&id);
    let kek = kek(kek_bits);
    let pt = plaintext(&id, len);
    let dk = DataKey::generate(&mut r).map_err(err("DataKey::generate"))?;
    let sealed = seal_v3(&kek, &dk, &md.raw_json()?, placement, &pt, &mut r)?;
    let notes = format!(
        "V3 (suite 0x0073, key-committing), AES/GCM wrap (x-amz-w 02, AAD \"115\") under a \
         {kek_bits}-bit master key, {how}; {}. Written by the s3ec-core write path.",
        match md {
            Md::Empty => "no material description (no x-amz-m)".to_string(),
            Md::Unicode =>
                "non-ASCII material description, stored as canonical pure-ASCII JSON (\\u escapes)"
                    .to_string(),
        }
    );
    let shape = Shape {
        id,
        format: "v3",
        wrap_alg: "02",
        cek_alg: V3_CEK,
        placement,
        kek,
        md,
        notes,
    };
    Ok(shape.into_case(dk.as_bytes(), pt, sealed))
}

/// A V2 `AES/GCM` case.
fn v2_case(kek_bits: usize, md: Md, placement: Placement, len: usize) -> Result<Case, String> {
    let place = match placement {
        Placement::ObjectMetadata => "meta",
        Placement::InstructionFile => "instr",
    };
    let mdname = match md {
        Md::Empty => "nomd",
        Md::Unicode => "md",
    };
    let id = format!("rust-v2-aesgcm-k{kek_bits}-{place}-{mdname}-{len}");
    let mut r = rng(&id);
    let kek = kek(kek_bits);
    let pt = plaintext(&id, len);
    let dk = DataKey::generate(&mut r).map_err(err("DataKey::generate"))?;
    let sealed = seal_v2(&kek, &dk, &md.raw_json()?, placement, &pt, &mut r)?;
    let notes = format!(
        "V2 (suite 0x0072), AES/GCM wrap (AAD \"AES/GCM/NoPadding\") under a {kek_bits}-bit \
         master key, {}; material description {}. Written by the s3ec-core write path \
         (what the client writes under ForbidEncryptAllowDecrypt).",
        match placement {
            Placement::ObjectMetadata => "object metadata",
            Placement::InstructionFile =>
                "instruction file (object metadata holds only x-amz-unencrypted-content-length)",
        },
        match md {
            Md::Empty => "empty (written as {})",
            Md::Unicode => "non-ASCII, stored as canonical pure-ASCII JSON",
        }
    );
    let shape = Shape {
        id,
        format: "v2",
        wrap_alg: "AES/GCM",
        cek_alg: GCM,
        placement,
        kek,
        md,
        notes,
    };
    Ok(shape.into_case(dk.as_bytes(), pt, sealed))
}

/// A V2 object whose data key has `dk_bits` (128 or 192) instead of 256,
/// so AES-128/192-GCM content: what a writer that lets the caller pick the
/// data key size writes (PHP's `@KeySize`). The core writes only 256-bit
/// data keys, and its AES/GCM wrap has a fixed 32-byte payload, so the key
/// goes in a legacy AESWrap (RFC 3394 wraps any multiple of 8 bytes) and
/// the content is sealed here with the `aes-gcm` crate.
fn v2_small_dk_case(dk_bits: usize, len: usize) -> Result<Case, String> {
    let id = format!("rust-v2-aeswrap-k256-dk{dk_bits}-gcm-meta-{len}");
    let mut r = rng(&id);
    let kek = kek(256);
    let pt = plaintext(&id, len);
    let dk = DataKey::from_slice(&random(&mut r, dk_bits / 8)).map_err(err("DataKey"))?;
    let edk = aes_kw::legacy_wrap(&kek, &dk).map_err(err("aes_kw::legacy_wrap"))?;
    let mut iv = [0u8; 12];
    iv.copy_from_slice(&random(&mut r, 12));
    let mut body = pt.clone();
    let tag = match dk_bits {
        128 => Aes128Gcm::new_from_slice(dk.as_bytes())
            .map_err(err("AES-128-GCM key"))?
            .encrypt_inout_detached(&Array::from(iv), b"", (&mut body[..]).into()),
        192 => ::aes_gcm::AesGcm::<aes::Aes192, ::aes_gcm::aead::consts::U12>::new(
            dk.as_bytes().try_into().map_err(err("AES-192-GCM key"))?,
        )
        .encrypt_inout_detached(&Array::from(iv), b"", (&mut body[..]).into()),
        n => return Err(format!("no {n}-bit data key case")),
    }
    .map_err(|_| "AES-GCM encrypt failed".to_string())?;
    body.extend_from_slice(&tag);
    let metadata = vec![
        ("x-amz-key-v2".to_string(), b64e(edk.as_bytes())?),
        ("x-amz-iv".to_string(), b64e(&iv)?),
        ("x-amz-matdesc".to_string(), "{}".to_string()),
        ("x-amz-wrap-alg".to_string(), "AESWrap".to_string()),
        ("x-amz-cek-alg".to_string(), GCM.to_string()),
        ("x-amz-tag-len".to_string(), "128".to_string()),
        (
            "x-amz-unencrypted-content-length".to_string(),
            len.to_string(),
        ),
    ];
    let notes = format!(
        "V2 (suite 0x0072) with a {dk_bits}-bit data key, so AES-{dk_bits}-GCM content; legacy \
         AESWrap of the data key under a 256-bit master key ({}-byte x-amz-key-v2), object \
         metadata written by hand. Current AWS writers make 256-bit data keys; PHP lets the \
         caller choose 128 (reference §1), and Java and Go read any AES key size: a V1/V2 \
         reader must take 16/24/32-byte data keys (V3 requires 32). Read with legacy \
         wrapping enabled (AESWrap).",
        edk.len()
    );
    let shape = Shape {
        id,
        format: "v2",
        wrap_alg: "AESWrap",
        cek_alg: GCM,
        placement: Placement::ObjectMetadata,
        kek,
        md: Md::Empty,
        notes,
    };
    let sealed = Sealed {
        metadata,
        instruction: None,
        body,
    };
    Ok(shape.into_case(dk.as_bytes(), pt, sealed))
}

/// AES-CBC with PKCS#7 padding (legacy content; not in the core on purpose).
fn cbc_encrypt(key: &[u8], iv: &[u8; 16], pt: &[u8]) -> Result<Vec<u8>, String> {
    let n = pt.len();
    let mut buf = vec![0u8; n + 16 - n % 16];
    buf[..n].copy_from_slice(pt);
    let bad = |e: cbc::cipher::InvalidLength| format!("CBC key: {e}");
    let pad = |_| "CBC padding".to_string();
    let out = match key.len() {
        16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(bad)?
            .encrypt_padded::<Pkcs7>(&mut buf, n)
            .map_err(pad)?
            .len(),
        24 => cbc::Encryptor::<aes::Aes192>::new_from_slices(key, iv)
            .map_err(bad)?
            .encrypt_padded::<Pkcs7>(&mut buf, n)
            .map_err(pad)?
            .len(),
        32 => cbc::Encryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(bad)?
            .encrypt_padded::<Pkcs7>(&mut buf, n)
            .map_err(pad)?
            .len(),
        n => return Err(format!("CBC key of {n} bytes")),
    };
    buf.truncate(out);
    Ok(buf)
}

/// A 16-byte CBC IV from `rng` (never all zero).
fn cbc_iv(rng: &mut CaseRng) -> Result<[u8; 16], String> {
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    if iv == [0; 16] {
        return Err("RNG gave an all-zero IV".into());
    }
    Ok(iv)
}

/// The content of a legacy-wrap case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    Gcm,
    Cbc,
}

/// A legacy `AESWrap` (RFC 3394) V2 case, metadata written by hand (the
/// core refuses to write legacy wraps): `x-amz-key-v2`, `x-amz-iv`,
/// `x-amz-matdesc` `{}`, `x-amz-wrap-alg` `AESWrap`, `x-amz-cek-alg`,
/// `x-amz-tag-len` `128` (GCM only), `x-amz-unencrypted-content-length`.
fn aeswrap_case(kek_bits: usize, content: Content, len: usize) -> Result<Case, String> {
    let c = match content {
        Content::Gcm => "gcm",
        Content::Cbc => "cbc",
    };
    let id = format!("rust-v2-aeswrap-k{kek_bits}-{c}-meta-{len}");
    let mut r = rng(&id);
    let kek = kek(kek_bits);
    let pt = plaintext(&id, len);
    let dk = DataKey::generate(&mut r).map_err(err("DataKey::generate"))?;
    let edk = aes_kw::legacy_wrap(&kek, &dk).map_err(err("aes_kw::legacy_wrap"))?;
    let (body, iv, cek_alg) = match content {
        Content::Gcm => {
            let (body, params) = seal_content(Suite::AesGcm, &dk, &pt, &mut r)?;
            let ContentParams::Gcm { iv } = params else {
                return Err("V2 content encryption gave no IV".into());
            };
            (body, iv.to_vec(), GCM)
        }
        Content::Cbc => {
            let iv = cbc_iv(&mut r)?;
            (cbc_encrypt(dk.as_bytes(), &iv, &pt)?, iv.to_vec(), CBC)
        }
    };
    let mut metadata = vec![
        ("x-amz-key-v2".to_string(), b64e(edk.as_bytes())?),
        ("x-amz-iv".to_string(), b64e(&iv)?),
        ("x-amz-matdesc".to_string(), "{}".to_string()),
        ("x-amz-wrap-alg".to_string(), "AESWrap".to_string()),
        ("x-amz-cek-alg".to_string(), cek_alg.to_string()),
    ];
    if content == Content::Gcm {
        metadata.push(("x-amz-tag-len".to_string(), "128".to_string()));
    }
    metadata.push((
        "x-amz-unencrypted-content-length".to_string(),
        len.to_string(),
    ));
    let notes = format!(
        "Legacy AESWrap (RFC 3394, default IV, no padding) of a 256-bit data key under a \
         {kek_bits}-bit master key ({}-byte x-amz-key-v2), {} content, as the C++ client and \
         Java v1 wrote it. Metadata written by hand (the core refuses to write legacy wraps). \
         AESWrap binds nothing but the data key; read only with legacy wrapping enabled.",
        edk.len(),
        match content {
            Content::Gcm => "V2 AES-GCM",
            Content::Cbc => "legacy AES-CBC (PKCS#7; encrypted by the generator, not the core)",
        }
    );
    let shape = Shape {
        id,
        format: "v2",
        wrap_alg: "AESWrap",
        cek_alg,
        placement: Placement::ObjectMetadata,
        kek,
        md: Md::Empty,
        notes,
    };
    let sealed = Sealed {
        metadata,
        instruction: None,
        body,
    };
    Ok(shape.into_case(dk.as_bytes(), pt, sealed))
}

/// A V1 case: AES-ECB wrap (`x-amz-key`, no wrap or cek-alg names), CBC
/// content, metadata written by hand as Ruby's V1 client does.
fn v1_case(kek_bits: usize, dk_bits: usize, len: usize) -> Result<Case, String> {
    let id = if dk_bits == 256 {
        format!("rust-v1-aesecb-k{kek_bits}-meta-{len}")
    } else {
        format!("rust-v1-aesecb-k{kek_bits}-dk{dk_bits}-meta-{len}")
    };
    let mut r = rng(&id);
    let kek = kek(kek_bits);
    let pt = plaintext(&id, len);
    let dk_bytes = random(&mut r, dk_bits / 8);
    let dk = DataKey::from_slice(&dk_bytes).map_err(err("data key"))?;
    let edk = aes_ecb::legacy_wrap(&kek, &dk).map_err(err("aes_ecb::legacy_wrap"))?;
    let iv = cbc_iv(&mut r)?;
    let body = cbc_encrypt(&dk_bytes, &iv, &pt)?;
    let md = Md::Unicode;
    let metadata = vec![
        ("x-amz-key".to_string(), b64e(edk.as_bytes())?),
        ("x-amz-iv".to_string(), b64e(&iv)?),
        ("x-amz-matdesc".to_string(), md.canonical_json()?),
        (
            "x-amz-unencrypted-content-length".to_string(),
            len.to_string(),
        ),
    ];
    let notes = format!(
        "V1: AES-ECB/PKCS#7 wrap (no stored wrap name; {}-byte x-amz-key, inferred as AES) of a \
         {dk_bits}-bit data key under a {kek_bits}-bit master key, AES-{dk_bits}-CBC/PKCS#7 \
         content (encrypted by the generator: CBC encryption is not in the core). Metadata \
         written by hand; read only with legacy wrapping and unauthenticated modes enabled.",
        edk.len()
    );
    let shape = Shape {
        id,
        format: "v1",
        wrap_alg: "AES",
        cek_alg: CBC,
        placement: Placement::ObjectMetadata,
        kek,
        md,
        notes,
    };
    let sealed = Sealed {
        metadata,
        instruction: None,
        body,
    };
    Ok(shape.into_case(dk.as_bytes(), pt, sealed))
}

/// An ok variant of `base` (same keys and body) with a different id and a
/// change to how the metadata looks.
fn variant(
    base: &Case,
    id: &str,
    notes: &str,
    f: impl FnOnce(&mut Case) -> Result<(), String>,
) -> Result<Case, String> {
    let mut c = base.clone();
    c.id = id.to_string();
    c.notes = format!("{notes} Same keys and body as {}.", base.id);
    f(&mut c)?;
    Ok(c)
}

/// Why each negative case must be refused (`expect_error`, by tamper
/// suffix): the first check a reader following the reference
/// implementation meets (`../shared/interop/VECTOR-FORMAT.md`). A new
/// tamper must be added here (the generator refuses one without a class).
fn expected_refusal(suffix: &str) -> Option<&'static [Class]> {
    use Class::*;
    Some(match suffix {
        // The body or the IV changed: the GCM tag.
        "append-byte" | "ct-bitflip" | "iv-bitflip" | "tag-bitflip" | "trunc-last-byte"
        | "trunc-tag" | "tag" => &[Authentication],
        // No body at all: shorter than the tag (a reader may check the
        // length or let the tag check fail).
        "empty-body" => &[Format, Authentication],
        // V3: the key commitment fails before any content key is derived
        // (another object's wrapped key, a flipped message id or commitment).
        "3-from-other-object" | "file-3-from-other-object" | "i-bitflip" | "d-bitflip" => {
            &[Commitment]
        }
        // The wrapped key does not unwrap, or its binding (AES/GCM wrap AAD,
        // the wrap algorithm changed to another keyring's) fails.
        "key-v2-bitflip"
        | "key-v2-wrapped-for-v3"
        | "3-bitflip"
        | "file-3-bitflip"
        | "3-wrapped-for-v2"
        | "w-12" => &[Key],
        // The content algorithm relabelled to CBC: the wrap binding, or a
        // stricter reader's envelope check (IV length, wrap/suite pair).
        "cek-alg-gcm-to-cbc" | "cbc-relabel-reencrypted" => &[Key, Format],
        // Malformed or inconsistent envelopes.
        "iv-unpadded"
        | "wrap-alg-added"
        | "zero-iv"
        | "cek-alg-115"
        | "cek-alg-ctr"
        | "dup-iv-case"
        | "tag-len-96"
        | "tag-len-missing"
        | "key-v2-unpadded"
        | "cdi-copied-into-file"
        | "cdi-moved-into-file"
        | "file-dup-w-case"
        | "v2-instruction-file"
        | "c-114"
        | "dup-d-case"
        | "i-unpadded"
        | "v2-keys-added"
        | "v2-keys-added-v2-body"
        | "w-01"
        | "zero-message-id" => &[Format],
        _ => return None,
    })
}

/// A negative case: a tampered copy of `base`. `tamper` says what changed,
/// `why` which check must reject it.
fn neg(
    base: &Case,
    suffix: &str,
    tamper: &str,
    why: &str,
    f: impl FnOnce(&mut Case) -> Result<(), String>,
) -> Result<Case, String> {
    let mut c = base.clone();
    c.id = format!("{}-neg-{suffix}", base.id);
    c.tamper = Some(tamper.to_string());
    c.expect_error = expected_refusal(suffix)
        .ok_or_else(|| format!("{}: no expect_error stated for tamper {suffix:?}", c.id))?
        .to_vec();
    c.notes = format!(
        "Tampered copy of {} (key, format, wrap_alg, cek_alg, material_description, \
         plaintext_len and plaintext_sha256 describe the original; metadata, instruction_file \
         and ciphertext.bin are the tampered versions). Must be rejected: {why}",
        base.id
    );
    f(&mut c)?;
    Ok(c)
}

/// AES-256-GCM with any IV, all-zero included (the core refuses a zero IV
/// on purpose). Used for the two zero-IV / zero-message-id cases only.
fn gcm_raw(key: &[u8; 32], iv: &[u8; 12], aad: &[u8], pt: &[u8]) -> Result<Vec<u8>, String> {
    let cipher = Aes256Gcm::new(&Array::from(*key));
    let mut body = pt.to_vec();
    let tag = cipher
        .encrypt_inout_detached(&Array::from(*iv), aad, (&mut body[..]).into())
        .map_err(|_| "AES-GCM encrypt failed".to_string())?;
    body.extend_from_slice(&tag);
    Ok(body)
}

/// The V3 content key and key commitment for any message id, all-zero
/// included (spec `key-derivation.md`; the core refuses a zero message id).
fn hkdf_raw(dk: &[u8; 32], message_id: &[u8; 28]) -> Result<([u8; 32], [u8; 28]), String> {
    let h = Hkdf::<Sha512>::new(Some(message_id), dk);
    let mut key = [0u8; 32];
    let mut commitment = [0u8; 28];
    h.expand_multi_info(&[&[0x00, 0x73], b"DERIVEKEY"], &mut key)
        .map_err(|_| "HKDF expand".to_string())?;
    h.expand_multi_info(&[&[0x00, 0x73], b"COMMITKEY"], &mut commitment)
        .map_err(|_| "HKDF expand".to_string())?;
    Ok((key, commitment))
}

/// Check [`gcm_raw`] and [`hkdf_raw`] against the core on non-zero inputs,
/// so the zero-IV cases differ from a valid object only in the zero-ness.
fn self_check() -> Result<(), String> {
    let mut r = rng("self-check");
    let dk: [u8; 32] = random(&mut r, 32)
        .try_into()
        .map_err(|_| "self-check key".to_string())?;
    let mid: [u8; 28] = random(&mut r, 28)
        .try_into()
        .map_err(|_| "self-check message id".to_string())?;
    let pt = random(&mut r, 100);
    let (key, commitment) = hkdf_raw(&dk, &mid)?;
    let (core_key, core_commitment) =
        kdf::derive_for_encrypt(&dk, &mid).map_err(err("kdf::derive_for_encrypt"))?;
    if key != *core_key.as_bytes() || commitment != core_commitment {
        return Err("self-check: HKDF differs from s3ec-core's".into());
    }
    let iv = [7u8; 12];
    let mut enc = GcmEncryptor::new(&key, &iv, &[0x00, 0x73]).map_err(err("GcmEncryptor"))?;
    let mut body = pt.clone();
    enc.update(&mut body).map_err(err("GCM"))?;
    body.extend_from_slice(&enc.finish());
    if gcm_raw(&key, &iv, &[0x00, 0x73], &pt)? != body {
        return Err("self-check: AES-GCM differs from s3ec-core's".into());
    }
    Ok(())
}

/// Append entries to a flat JSON object's text (keeps the original bytes).
fn json_append(file: &str, extra: &[(&str, &str)]) -> Result<String, String> {
    let head = file
        .strip_suffix('}')
        .ok_or("instruction file does not end with }")?;
    let mut out = head.to_string();
    for (i, (k, v)) in extra.iter().enumerate() {
        if i > 0 || head != "{" {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k).map_err(err("json"))?);
        out.push(':');
        out.push_str(&serde_json::to_string(v).map_err(err("json"))?);
    }
    out.push('}');
    Ok(out)
}

/// Replace the string value of `key` in a flat JSON object's text written
/// as `"key":"value"`.
fn json_replace(file: &str, key: &str, old: &str, new: &str) -> Result<String, String> {
    let q = |s: &str| serde_json::to_string(s).map_err(err("json"));
    let from = format!("{}:{}", q(key)?, q(old)?);
    if !file.contains(&from) {
        return Err(format!("instruction file has no {from}"));
    }
    Ok(file.replacen(&from, &format!("{}:{}", q(key)?, q(new)?), 1))
}

/// The value of `key` in an instruction file.
fn json_get(file: &str, key: &str) -> Result<String, String> {
    let map: BTreeMap<String, String> =
        serde_json::from_str(file).map_err(err("instruction file"))?;
    map.get(key)
        .cloned()
        .ok_or_else(|| format!("instruction file has no {key}"))
}

/// Bit-flip the body byte at `at` (negative: from the end).
fn flip_body(c: &mut Case, at: isize) -> Result<(), String> {
    let n = c.ciphertext.len();
    let i = if at < 0 {
        n.checked_sub(at.unsigned_abs())
    } else {
        Some(at.unsigned_abs())
    }
    .filter(|&i| i < n)
    .ok_or_else(|| format!("{}: body has no byte {at}", c.id))?;
    c.ciphertext[i] ^= 0x01;
    Ok(())
}

/// The truncation / extension negatives of a GCM base case.
fn body_length_negatives(base: &Case, out: &mut Vec<Case>) -> Result<(), String> {
    let tag = "the GCM tag check (the tag is the last 16 bytes of the body)";
    out.push(neg(
        base,
        "trunc-last-byte",
        "ciphertext.bin: last byte removed",
        tag,
        |c| {
            c.ciphertext.pop();
            Ok(())
        },
    )?);
    out.push(neg(
        base,
        "trunc-tag",
        "ciphertext.bin: the 16-byte GCM tag removed entirely",
        tag,
        |c| {
            let n = c.ciphertext.len().saturating_sub(16);
            c.ciphertext.truncate(n);
            Ok(())
        },
    )?);
    out.push(neg(
        base,
        "empty-body",
        "ciphertext.bin: empty (0 bytes)",
        "a GCM body shorter than its 16-byte tag",
        |c| {
            c.ciphertext.clear();
            Ok(())
        },
    )?);
    out.push(neg(
        base,
        "append-byte",
        "ciphertext.bin: one byte (0x00) appended",
        tag,
        |c| {
            c.ciphertext.push(0);
            Ok(())
        },
    )?);
    Ok(())
}

/// Every case, in a fixed order.
fn all_cases() -> Result<Vec<Case>, String> {
    let mut out = Vec::new();
    let meta = Placement::ObjectMetadata;
    let instr = Placement::InstructionFile;

    // ---- V3, AES/GCM (02) wrap: sizes, material descriptions, storage.
    // The 17-byte cases (two AES blocks, the second partial) are the bases
    // of the negative cases, which keeps the folder small.
    let mut v3 = None;
    for len in [0, 1, 15, 16, 17, 4095, 65539, 1_048_577] {
        let c = v3_case(256, Md::Unicode, meta, len)?;
        if len == 17 {
            v3 = Some(c.clone());
        }
        out.push(c);
    }
    let v3 = v3.ok_or("no V3 base case")?;
    out.push(v3_case(256, Md::Empty, meta, 17)?);
    out.push(v3_case(128, Md::Unicode, meta, 17)?);
    let v3i = v3_case(256, Md::Unicode, instr, 17)?;
    out.push(v3i.clone());
    out.push(v3_case(256, Md::Empty, instr, 17)?);
    out.push(variant(
        &v3,
        "rust-v3-aesgcm-k256-meta-md-raw-utf8-17",
        "x-amz-m holds the material description as compact JSON with raw UTF-8 (as Java and \
         Ruby write it, and as some stores return it) instead of the core's \\u escapes.",
        |c| {
            c.set_meta("x-amz-m", Md::Unicode.raw_json()?);
            Ok(())
        },
    )?);
    out.push(variant(
        &v3,
        "rust-v3-aesgcm-k256-meta-md-rfc2047-17",
        "x-amz-m as S3 returns a non-ASCII header value (reference §3.3): one RFC 2047 \
         encoded-word =?UTF-8?B?...?= whose text carries each byte of the UTF-8 JSON as one \
         character U+0080..U+00FF (S3's double encoding).",
        |c| {
            c.set_meta("x-amz-m", s3_double_encode(&Md::Unicode.raw_json()?)?);
            Ok(())
        },
    )?);

    // ---- V2, AES/GCM wrap, 128/192/256-bit master keys.
    out.push(v2_case(128, Md::Empty, meta, 17)?);
    out.push(v2_case(192, Md::Unicode, meta, 17)?);
    let v2 = v2_case(256, Md::Unicode, meta, 17)?;
    out.push(v2.clone());
    out.push(v2_case(192, Md::Unicode, instr, 17)?);
    out.push(variant(
        &v2,
        "rust-v2-aesgcm-k256-meta-md-rfc2047-17",
        "x-amz-matdesc as S3 returns a non-ASCII header value (reference §3.3): one RFC 2047 \
         encoded-word with S3's double encoding of the raw UTF-8 JSON.",
        |c| {
            c.set_meta("x-amz-matdesc", s3_double_encode(&Md::Unicode.raw_json()?)?);
            Ok(())
        },
    )?);

    // ---- V2 with 128/192-bit data keys (AES-128/192-GCM content).
    let small = v2_small_dk_case(128, 17)?;
    out.push(small.clone());
    out.push(v2_small_dk_case(192, 17)?);
    out.push(v2_small_dk_case(128, 65539)?);
    out.push(neg(
        &small,
        "tag",
        "last byte of the tag bit-flipped",
        "the AES-128-GCM tag check",
        |c| flip_body(c, -1),
    )?);

    // ---- Legacy AESWrap (V2 metadata written by hand).
    out.push(aeswrap_case(256, Content::Gcm, 17)?);
    out.push(aeswrap_case(192, Content::Gcm, 17)?);
    let kw = aeswrap_case(128, Content::Gcm, 17)?;
    out.push(kw.clone());
    let kw_cbc = aeswrap_case(256, Content::Cbc, 17)?;
    out.push(kw_cbc.clone());

    // ---- V1: AES-ECB wrap, CBC content.
    out.push(v1_case(192, 256, 0)?);
    let v1 = v1_case(192, 256, 17)?;
    out.push(v1.clone());
    out.push(v1_case(256, 128, 17)?);

    v3_negatives(&v3, &mut out)?;
    v3_instruction_negatives(&v3i, &mut out)?;
    v2_negatives(&v2, &mut out)?;
    aeswrap_negatives(&kw, &mut out)?;
    out.push(neg(
        &kw_cbc,
        "iv-unpadded",
        "x-amz-iv (16-byte CBC IV) written as unpadded base64 (trailing == removed)",
        "base64 must be padded (errata E12; a 12-byte GCM IV has no padding to remove)",
        |c| {
            let v = c.meta("x-amz-iv")?.trim_end_matches('=').to_string();
            c.set_meta("x-amz-iv", v);
            Ok(())
        },
    )?);
    v1_negatives(&v1, &mut out)?;
    Ok(out)
}

/// `text` as S3 returns a non-ASCII metadata value: each UTF-8 byte taken as
/// one Latin-1 character, re-encoded as UTF-8, in one `B` encoded-word.
fn s3_double_encode(text: &str) -> Result<String, String> {
    let latin1: String = text.bytes().map(char::from).collect();
    Ok(format!("=?UTF-8?B?{}?=", b64e(latin1.as_bytes())?))
}

/// A V2 `AES/GCM` object of `pt` under a fresh data key from `rng`: the
/// material for the format-confusion cases.
fn fresh_v2(
    kek: &[u8],
    pt: &[u8],
    placement: Placement,
    rng: &mut CaseRng,
) -> Result<Sealed, String> {
    let dk = DataKey::generate(rng).map_err(err("DataKey::generate"))?;
    seal_v2(kek, &dk, &Md::Unicode.raw_json()?, placement, pt, rng)
}

/// The encrypted data key (`x-amz-3`) of another V3 object under the same
/// master key: a different data key that unwraps fine.
fn other_v3_edk(kek: &[u8], rng: &mut CaseRng) -> Result<String, String> {
    let dk = DataKey::generate(rng).map_err(err("DataKey::generate"))?;
    let other = seal_v3(kek, &dk, "", Placement::ObjectMetadata, b"other", rng)?;
    lookup(&other.metadata, "x-amz-3")
}

/// The V2 keys a format-confusion case injects.
const V2_KEYS: [&str; 6] = [
    "x-amz-key-v2",
    "x-amz-iv",
    "x-amz-matdesc",
    "x-amz-wrap-alg",
    "x-amz-cek-alg",
    "x-amz-tag-len",
];

fn v3_negatives(b: &Case, out: &mut Vec<Case>) -> Result<(), String> {
    let tag = "the GCM tag check";
    out.push(neg(
        b,
        "tag-bitflip",
        "ciphertext.bin: last byte (in the GCM tag) bit 0 flipped",
        tag,
        |c| flip_body(c, -1),
    )?);
    out.push(neg(
        b,
        "ct-bitflip",
        "ciphertext.bin: byte 0 bit 0 flipped",
        tag,
        |c| flip_body(c, 0),
    )?);
    out.push(neg(
        b,
        "i-bitflip",
        "x-amz-i (message id) byte 0 bit 0 flipped",
        "the key commitment check (x-amz-d is derived from the data key and the message id)",
        |c| c.flip_meta("x-amz-i", 0, 0),
    )?);
    out.push(neg(
        b,
        "d-bitflip",
        "x-amz-d (key commitment) byte 0 bit 0 flipped",
        "the key commitment check, before any content key is derived",
        |c| c.flip_meta("x-amz-d", 0, 0),
    )?);
    out.push(neg(
        b,
        "3-bitflip",
        "x-amz-3 (encrypted data key) byte 12 (first byte of the wrapped key, after the \
         12-byte nonce) bit 0 flipped",
        "the AES/GCM key wrap's tag check",
        |c| c.flip_meta("x-amz-3", 12, 0),
    )?);
    out.push(neg(
        b,
        "c-114",
        "x-amz-c changed from 115 to 114",
        "115 is the only V3 content cipher",
        |c| {
            c.set_meta("x-amz-c", "114");
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "w-01",
        "x-amz-w changed from 02 to 01 (unknown; Ruby's reserved code)",
        "x-amz-w must be 02, 12 or 22",
        |c| {
            c.set_meta("x-amz-w", "01");
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "w-12",
        "x-amz-w changed from 02 (AES/GCM) to 12 (kms+context)",
        "the wrap relabel: an AES master key cannot unwrap a kms+context key (and the \
         kms+context context, x-amz-t, is missing)",
        |c| {
            c.set_meta("x-amz-w", "12");
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "v2-keys-added",
        "x-amz-key-v2, x-amz-iv, x-amz-cek-alg and x-amz-wrap-alg (from a V2 AES/GCM \
         encryption of the same plaintext under the same master key) added to the V3 \
         object metadata; body unchanged",
        "V1/V2-only and V3-only keys must not be mixed (format collision)",
        |c| {
            let v2 = fresh_v2(
                &c.kek,
                &c.plaintext,
                Placement::ObjectMetadata,
                &mut rng(&c.id),
            )?;
            for k in [
                "x-amz-key-v2",
                "x-amz-iv",
                "x-amz-cek-alg",
                "x-amz-wrap-alg",
            ] {
                let v = lookup(&v2.metadata, k)?;
                c.push_meta(k, v);
            }
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "v2-keys-added-v2-body",
        "every V2 key (x-amz-key-v2, x-amz-iv, x-amz-matdesc, x-amz-wrap-alg, x-amz-cek-alg, \
         x-amz-tag-len) of a valid V2 AES/GCM encryption of the same plaintext under the same \
         master key added to the V3 object metadata, and ciphertext.bin replaced by that V2 \
         body: a reader that lets the V2 keys win decrypts it without key commitment",
        "V1/V2-only and V3-only keys must not be mixed (format confusion, commitment bypass)",
        |c| {
            let v2 = fresh_v2(
                &c.kek,
                &c.plaintext,
                Placement::ObjectMetadata,
                &mut rng(&c.id),
            )?;
            for k in V2_KEYS {
                let v = lookup(&v2.metadata, k)?;
                c.push_meta(k, v);
            }
            c.ciphertext = v2.body;
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "zero-message-id",
        "x-amz-i set to 28 zero bytes, with x-amz-d and ciphertext.bin recomputed for that \
         message id (HKDF and AES-GCM done by the generator), so only the zero-ness is wrong",
        "an all-zero message id is rejected on read (errata E7)",
        |c| {
            let dk = c.dk256()?;
            let mid = [0u8; 28];
            let (key, commitment) = hkdf_raw(&dk, &mid)?;
            c.ciphertext = gcm_raw(&key, &[0x01; 12], &[0x00, 0x73], &c.plaintext)?;
            c.set_meta("x-amz-i", b64e(&mid)?);
            c.set_meta("x-amz-d", b64e(&commitment)?);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "i-unpadded",
        "x-amz-i written as unpadded base64 (trailing = removed)",
        "base64 must be padded (errata E12: Python and Go reject unpadded values)",
        |c| {
            let v = c.meta("x-amz-i")?.trim_end_matches('=').to_string();
            c.set_meta("x-amz-i", v);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "dup-d-case",
        "X-Amz-D added with the same value as x-amz-d (the same key twice, in different case)",
        "metadata keys are case-insensitive; a key given twice is ambiguous",
        |c| {
            let v = c.meta("x-amz-d")?.to_string();
            c.push_meta("X-Amz-D", v);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "3-from-other-object",
        "x-amz-3 replaced by the encrypted data key of another V3 object under the same \
         master key (it unwraps, to a different data key)",
        "the key commitment: x-amz-d does not match the substituted data key (data-key \
         substitution, the attack key commitment exists for)",
        |c| {
            let edk = other_v3_edk(&c.kek, &mut rng(&c.id))?;
            c.set_meta("x-amz-3", edk);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "3-wrapped-for-v2",
        "x-amz-3 replaced by an AES/GCM wrap of the same data key bound to \
         \"AES/GCM/NoPadding\" (the V2 AAD) instead of \"115\"; x-amz-d, x-amz-i and the body \
         stay consistent with that data key",
        "the AES/GCM wrap AAD is the stored content cipher (\"115\" for V3)",
        |c| {
            let dk = c.data_key()?;
            let edk =
                aes_gcm::wrap(&c.kek, &dk, GCM, &mut rng(&c.id)).map_err(err("aes_gcm::wrap"))?;
            c.set_meta("x-amz-3", b64e(&edk)?);
            Ok(())
        },
    )?);
    body_length_negatives(b, out)
}

fn v3_instruction_negatives(b: &Case, out: &mut Vec<Case>) -> Result<(), String> {
    out.push(neg(
        b,
        "v2-instruction-file",
        "instruction file replaced by a V2-shaped one (x-amz-key-v2, x-amz-iv, x-amz-matdesc, \
         x-amz-wrap-alg, x-amz-cek-alg, x-amz-tag-len of a valid V2 AES/GCM encryption of the \
         same plaintext under the same master key) and ciphertext.bin replaced by that V2 \
         body; the object keeps x-amz-c/x-amz-d/x-amz-i",
        "V2 keys beside the object's c/d/i are a format collision (V2/V3 format confusion, \
         key-commitment bypass: reference §10)",
        |c| {
            let v2 = fresh_v2(
                &c.kek,
                &c.plaintext,
                Placement::InstructionFile,
                &mut rng(&c.id),
            )?;
            c.instruction = v2.instruction;
            c.ciphertext = v2.body;
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "cdi-copied-into-file",
        "x-amz-c, x-amz-d and x-amz-i copied into the instruction file (the object keeps them)",
        "c/d/i must never be in an instruction file (spec metadata-strategy.md: MUST NOT)",
        |c| {
            let mut extra = Vec::new();
            for k in ["x-amz-c", "x-amz-d", "x-amz-i"] {
                extra.push((k, c.meta(k)?.to_string()));
            }
            let refs: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.instruction = Some(json_append(c.instruction()?, &refs)?);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "cdi-moved-into-file",
        "x-amz-c, x-amz-d and x-amz-i moved from the object metadata into the instruction \
         file (the object keeps only x-amz-unencrypted-content-length)",
        "c/d/i must never be in an instruction file (the commitment must come from the object)",
        |c| {
            let mut extra = Vec::new();
            for k in ["x-amz-c", "x-amz-d", "x-amz-i"] {
                extra.push((k, c.meta(k)?.to_string()));
                c.remove_meta(k)?;
            }
            let refs: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.instruction = Some(json_append(c.instruction()?, &refs)?);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "file-3-bitflip",
        "instruction file: x-amz-3 byte 12 bit 0 flipped",
        "the AES/GCM key wrap's tag check",
        |c| {
            let file = c.instruction()?.to_string();
            let old = json_get(&file, "x-amz-3")?;
            let mut raw = b64d(&old)?;
            raw[12] ^= 0x01;
            c.instruction = Some(json_replace(&file, "x-amz-3", &old, &b64e(&raw)?)?);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "file-3-from-other-object",
        "instruction file: x-amz-3 replaced by the encrypted data key of another V3 object \
         under the same master key (it unwraps, to a different data key)",
        "the key commitment kept in the object metadata (instruction-file data-key \
         substitution: CVE-2025-14762/14763/14764)",
        |c| {
            let file = c.instruction()?.to_string();
            let old = json_get(&file, "x-amz-3")?;
            let edk = other_v3_edk(&c.kek, &mut rng(&c.id))?;
            c.instruction = Some(json_replace(&file, "x-amz-3", &old, &edk)?);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "file-dup-w-case",
        "instruction file: X-Amz-W added with the same value as x-amz-w (the same key twice, \
         in different case)",
        "instruction-file keys are case-insensitive; a key given twice is ambiguous",
        |c| {
            let w = json_get(c.instruction()?, "x-amz-w")?;
            c.instruction = Some(json_append(c.instruction()?, &[("X-Amz-W", &w)])?);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "i-bitflip",
        "x-amz-i (object metadata) byte 0 bit 0 flipped",
        "the key commitment check",
        |c| c.flip_meta("x-amz-i", 0, 0),
    )?);
    Ok(())
}

fn v2_negatives(b: &Case, out: &mut Vec<Case>) -> Result<(), String> {
    let tag = "the GCM tag check";
    out.push(neg(
        b,
        "tag-bitflip",
        "ciphertext.bin: last byte (in the GCM tag) bit 0 flipped",
        tag,
        |c| flip_body(c, -1),
    )?);
    out.push(neg(
        b,
        "ct-bitflip",
        "ciphertext.bin: byte 0 bit 0 flipped",
        tag,
        |c| flip_body(c, 0),
    )?);
    out.push(neg(
        b,
        "iv-bitflip",
        "x-amz-iv byte 0 bit 0 flipped",
        tag,
        |c| c.flip_meta("x-amz-iv", 0, 0),
    )?);
    out.push(neg(
        b,
        "key-v2-bitflip",
        "x-amz-key-v2 byte 12 (first byte of the wrapped key) bit 0 flipped",
        "the AES/GCM key wrap's tag check",
        |c| c.flip_meta("x-amz-key-v2", 12, 0),
    )?);
    out.push(neg(
        b,
        "cek-alg-gcm-to-cbc",
        "x-amz-cek-alg changed from AES/GCM/NoPadding to AES/CBC/PKCS5Padding",
        "the AES/GCM wrap AAD binds the stored cek-alg; the 12-byte IV is not a CBC IV; \
         AES/GCM wrap with CBC content is a combination no writer produces",
        |c| {
            c.set_meta("x-amz-cek-alg", CBC);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "cek-alg-ctr",
        "x-amz-cek-alg changed from AES/GCM/NoPadding to AES/CTR/NoPadding (CVE-2020-8912)",
        "CTR is never accepted from metadata",
        |c| {
            c.set_meta("x-amz-cek-alg", "AES/CTR/NoPadding");
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "cek-alg-115",
        "x-amz-cek-alg changed from AES/GCM/NoPadding to 115 (the V3 code)",
        "115 is not a V2 content cipher",
        |c| {
            c.set_meta("x-amz-cek-alg", V3_CEK);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "cbc-relabel-reencrypted",
        "relabelled as CBC and made consistent: x-amz-cek-alg AES/CBC/PKCS5Padding, \
         x-amz-tag-len removed, x-amz-iv a fresh 16-byte IV and ciphertext.bin the AES-256-CBC \
         (PKCS#7) encryption of the plaintext under the same data key; x-amz-key-v2 unchanged",
        "only the AES/GCM wrap's AAD (bound to the stored \"AES/GCM/NoPadding\") and the \
         wrap/content combination check tell this from a valid CBC object",
        |c| {
            let iv = cbc_iv(&mut rng(&c.id))?;
            c.ciphertext = cbc_encrypt(&c.dk, &iv, &c.plaintext)?;
            c.set_meta("x-amz-cek-alg", CBC);
            c.set_meta("x-amz-iv", b64e(&iv)?);
            c.remove_meta("x-amz-tag-len")
        },
    )?);
    out.push(neg(
        b,
        "key-v2-wrapped-for-v3",
        "x-amz-key-v2 replaced by an AES/GCM wrap of the same data key bound to \"115\" (the \
         V3 AAD) instead of \"AES/GCM/NoPadding\"; IV and body unchanged",
        "the AES/GCM wrap AAD is the stored content cipher (\"AES/GCM/NoPadding\" for V2)",
        |c| {
            let dk = c.data_key()?;
            let edk = aes_gcm::wrap(&c.kek, &dk, V3_CEK, &mut rng(&c.id))
                .map_err(err("aes_gcm::wrap"))?;
            c.set_meta("x-amz-key-v2", b64e(&edk)?);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "zero-iv",
        "x-amz-iv set to 12 zero bytes and ciphertext.bin re-encrypted with that IV (AES-GCM \
         done by the generator), so only the zero-ness is wrong",
        "an all-zero IV is rejected on read (errata E7)",
        |c| {
            let dk = c.dk256()?;
            c.ciphertext = gcm_raw(&dk, &[0; 12], &[], &c.plaintext)?;
            c.set_meta("x-amz-iv", b64e(&[0; 12])?);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "dup-iv-case",
        "X-Amz-Iv added with the same value as x-amz-iv (the same key twice, in different case)",
        "metadata keys are case-insensitive; a key given twice is ambiguous",
        |c| {
            let v = c.meta("x-amz-iv")?.to_string();
            c.push_meta("X-Amz-Iv", v);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "tag-len-96",
        "x-amz-tag-len changed from 128 to 96",
        "128 is the only valid GCM tag length",
        |c| {
            c.set_meta("x-amz-tag-len", "96");
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "tag-len-missing",
        "x-amz-tag-len removed",
        "a V2 GCM object must carry x-amz-tag-len (spec; errata E6: Java rejects)",
        |c| c.remove_meta("x-amz-tag-len"),
    )?);
    body_length_negatives(b, out)
}

fn aeswrap_negatives(b: &Case, out: &mut Vec<Case>) -> Result<(), String> {
    out.push(neg(
        b,
        "cek-alg-gcm-to-cbc",
        "x-amz-cek-alg changed from AES/GCM/NoPadding to AES/CBC/PKCS5Padding",
        "AESWrap binds no cek-alg: only the IV length check (12-byte GCM IV, CBC needs 16) \
         stops this (errata E3)",
        |c| {
            c.set_meta("x-amz-cek-alg", CBC);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "key-v2-bitflip",
        "x-amz-key-v2 byte 8 bit 0 flipped",
        "the RFC 3394 integrity check",
        |c| c.flip_meta("x-amz-key-v2", 8, 0),
    )?);
    out.push(neg(
        b,
        "key-v2-unpadded",
        "x-amz-key-v2 (40 bytes) written as unpadded base64 (trailing == removed)",
        "base64 must be padded (errata E12)",
        |c| {
            let v = c.meta("x-amz-key-v2")?.trim_end_matches('=').to_string();
            c.set_meta("x-amz-key-v2", v);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "tag-bitflip",
        "ciphertext.bin: last byte (in the GCM tag) bit 0 flipped",
        "the GCM tag check",
        |c| flip_body(c, -1),
    )?);
    Ok(())
}

fn v1_negatives(b: &Case, out: &mut Vec<Case>) -> Result<(), String> {
    out.push(neg(
        b,
        "iv-unpadded",
        "x-amz-iv (16 bytes) written as unpadded base64 (trailing == removed)",
        "base64 must be padded (errata E12; a V2 GCM IV of 12 bytes has no padding, so this \
         is tested on a 16-byte CBC IV)",
        |c| {
            let v = c.meta("x-amz-iv")?.trim_end_matches('=').to_string();
            c.set_meta("x-amz-iv", v);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "zero-iv",
        "x-amz-iv set to 16 zero bytes and ciphertext.bin re-encrypted (CBC) with that IV, so \
         only the zero-ness is wrong",
        "an all-zero IV is rejected on read (errata E7)",
        |c| {
            c.ciphertext = cbc_encrypt(&c.dk, &[0; 16], &c.plaintext)?;
            c.set_meta("x-amz-iv", b64e(&[0; 16])?);
            Ok(())
        },
    )?);
    out.push(neg(
        b,
        "wrap-alg-added",
        "x-amz-wrap-alg AESWrap added to the V1 (x-amz-key) object",
        "V1 objects store no wrap name; x-amz-key with x-amz-wrap-alg was written by no client",
        |c| {
            c.push_meta("x-amz-wrap-alg", "AESWrap");
            Ok(())
        },
    )?);
    Ok(())
}

/// The value of `key` in a metadata list.
fn lookup(metadata: &[(String, String)], key: &str) -> Result<String, String> {
    metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .ok_or_else(|| format!("no metadata key {key}"))
}

/// `key` in `case.json`.
#[derive(Serialize)]
struct KeyJson {
    kind: &'static str,
    key_b64: String,
}

/// `instruction_file` in `case.json`.
#[derive(Serialize)]
struct InstructionJson {
    suffix: &'static str,
    json: BTreeMap<String, String>,
}

/// `case.json` (field order as in the shared vectors).
#[derive(Serialize)]
struct CaseJson<'c> {
    id: &'c str,
    producer: &'static str,
    producer_details: &'static str,
    format: &'static str,
    wrap_alg: &'static str,
    cek_alg: &'static str,
    storage: &'static str,
    key: KeyJson,
    encryption_context: Option<BTreeMap<String, String>>,
    material_description: Option<BTreeMap<String, String>>,
    metadata: BTreeMap<&'c str, &'c str>,
    instruction_file: Option<InstructionJson>,
    plaintext_len: usize,
    plaintext_sha256: String,
    ciphertext_len: usize,
    multipart: bool,
    expect: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expect_error: Option<serde_json::Value>,
    tamper: Option<&'c str>,
    notes: &'c str,
}

/// Write one case folder.
fn write_case(dir: &Path, c: &Case) -> Result<(), String> {
    let mut metadata = BTreeMap::new();
    for (k, v) in &c.metadata {
        if metadata.insert(k.as_str(), v.as_str()).is_some() {
            return Err(format!("{}: metadata key {k} given twice", c.id));
        }
    }
    let instruction_file = match &c.instruction {
        None => None,
        Some(text) => Some(InstructionJson {
            suffix: ".instruction",
            json: serde_json::from_str(text)
                .map_err(|e| format!("{}: instruction file: {e}", c.id))?,
        }),
    };
    let json = CaseJson {
        id: &c.id,
        producer: PRODUCER,
        producer_details: PRODUCER_DETAILS,
        format: c.format,
        wrap_alg: c.wrap_alg,
        cek_alg: c.cek_alg,
        storage: if c.instruction_storage {
            "instruction-file"
        } else {
            "object-metadata"
        },
        key: KeyJson {
            kind: "aes",
            key_b64: b64e(&c.kek)?,
        },
        encryption_context: None,
        material_description: c.md.map(),
        metadata,
        instruction_file,
        plaintext_len: c.plaintext.len(),
        plaintext_sha256: hex::encode(Sha256::digest(&c.plaintext)),
        ciphertext_len: c.ciphertext.len(),
        multipart: false,
        expect: if c.tamper.is_some() { "error" } else { "ok" },
        expect_error: (!c.expect_error.is_empty()).then(|| refusal::to_json(&c.expect_error)),
        tamper: c.tamper.as_deref(),
        notes: &c.notes,
    };
    let mut text = serde_json::to_string_pretty(&json).map_err(err("case.json"))?;
    text.push('\n');
    let d = dir.join(&c.id);
    fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    let put = |name: &str, bytes: &[u8]| {
        fs::write(d.join(name), bytes).map_err(|e| format!("{}/{name}: {e}", d.display()))
    };
    put("case.json", text.as_bytes())?;
    put("ciphertext.bin", &c.ciphertext)?;
    if c.tamper.is_none() {
        put("plaintext.bin", &c.plaintext)?;
    }
    if let Some(file) = &c.instruction {
        put("instruction.bin", file.as_bytes())?;
    }
    Ok(())
}

/// The generated `INDEX.md`: one row per case.
fn index(cases: &[Case]) -> String {
    let mut s = String::from(
        "# s3ec-rust vector cases\n\n\
         Generated by `cargo xtask vectors generate test-vectors` (xtask/src/generate.rs); \
         do not edit. See ../README.md.\n\n\
         | case | expect | format | wrap | storage | plaintext bytes | tamper |\n\
         |---|---|---|---|---|---:|---|\n",
    );
    for c in cases {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            c.id,
            if c.tamper.is_some() { "error" } else { "ok" },
            c.format,
            c.wrap_alg,
            if c.instruction_storage {
                "instruction file"
            } else {
                "metadata"
            },
            c.plaintext.len(),
            c.tamper.as_deref().unwrap_or("").replace('|', "\\|"),
        ));
    }
    s
}

/// Generate every case into `dir/s3ec-rust/`, replacing that folder.
pub(crate) fn generate(dir: &Path) -> Result<(), String> {
    self_check()?;
    let cases = all_cases()?;
    let mut ids = std::collections::BTreeSet::new();
    for c in &cases {
        if !ids.insert(c.id.as_str()) {
            return Err(format!("case id {} used twice", c.id));
        }
    }
    let out = dir.join(PRODUCER_DIR);
    if out.exists() {
        fs::remove_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    for c in &cases {
        write_case(&out, c)?;
    }
    fs::write(out.join("INDEX.md"), index(&cases))
        .map_err(|e| format!("{}/INDEX.md: {e}", out.display()))?;
    let ok = cases.iter().filter(|c| c.tamper.is_none()).count();
    println!(
        "vectors: generated {} cases ({ok} ok, {} error) in {}",
        cases.len(),
        cases.len() - ok,
        out.display()
    );
    Ok(())
}

/// Every file under `dir`, by path relative to `dir`.
fn files(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) -> Result<(), String> {
        let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                out.insert(rel, bytes);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// Regenerate into a temporary folder and compare with the committed
/// `committed/s3ec-rust/`: every file must exist on both sides with the same
/// bytes.
pub(crate) fn verify(committed: &Path) -> Result<(), String> {
    let tmp = std::env::temp_dir().join(format!("s3ec-xtask-vectors-{}", std::process::id()));
    let result = generate(&tmp).and_then(|()| {
        let fresh = files(&tmp.join(PRODUCER_DIR))?;
        let stored = files(&committed.join(PRODUCER_DIR))?;
        let mut diffs = Vec::new();
        for (path, bytes) in &fresh {
            match stored.get(path) {
                None => diffs.push(format!(
                    "missing from the committed copy: {}",
                    path.display()
                )),
                Some(b) if b != bytes => diffs.push(format!("differs: {}", path.display())),
                Some(_) => {}
            }
        }
        for path in stored.keys().filter(|p| !fresh.contains_key(*p)) {
            diffs.push(format!("not generated any more: {}", path.display()));
        }
        if diffs.is_empty() {
            println!(
                "vectors: {} files in {} match the generator",
                fresh.len(),
                committed.join(PRODUCER_DIR).display()
            );
            Ok(())
        } else {
            let n = diffs.len();
            diffs.truncate(10);
            Err(format!(
                "{n} difference(s) between the generator and {} (run `cargo xtask vectors \
                 generate test-vectors` and commit):\n  {}",
                committed.display(),
                diffs.join("\n  ")
            ))
        }
    });
    let _ = fs::remove_dir_all(&tmp);
    result
}

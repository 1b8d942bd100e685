//! The read path: format detection and parsing.
//!
//! Follows the reference's "Recommended read algorithm" (the union of what
//! the spec and the reference implementations require), on top of spec CM
//! "Determining S3EC Object Status".

use crate::arena::Arena;
use crate::b64;
use crate::error::{Error, FormatError};
use crate::json::{FlatObject, JsonStr, JsonValue};
use crate::keys::MetaKey;
use crate::matdesc::{MatDesc, RESERVED_CEK_ALG};
use crate::rfc2047;
use crate::suite::{FormatVersion, Suite, WrapAlg, COMMITMENT_LEN, MESSAGE_ID_LEN};

use super::{is_all_zero, Detected, Envelope, Nonce, Placement, MAX_EDK_LEN};

const N: usize = MetaKey::ALL.len();

/// A metadata value before interpretation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value<'a> {
    /// A string (object metadata value, or a decoded instruction-file
    /// string).
    Str(&'a str),
    /// A JSON number from an instruction file, as written.
    Num(&'a str),
    /// A JSON `null` from an instruction file.
    Null,
}

/// Where a value came from: only object-metadata values can carry S3's
/// RFC 2047 encoding (spec MS, "Differences Between Metadata Strategies":
/// double-encoding decoding is specific to Object Metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Object,
    File,
}

#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    value: Value<'a>,
    source: Source,
}

/// The S3EC entries of one map (object metadata, instruction file, or both
/// merged), one slot per [`MetaKey`].
#[derive(Debug, Clone)]
struct Slots<'a> {
    entries: [Option<Entry<'a>>; N],
    seen: [bool; N],
}

/// Slot of a key: its position in [`MetaKey::ALL`], which lists the variants
/// in declaration order (checked by a unit test).
fn index(k: MetaKey) -> usize {
    k as usize
}

/// Keys whose empty or `null` value means "absent" (reference §2.4: "Treat
/// empty-string and JSON-null values of x-amz-m / x-amz-t /
/// x-amz-unencrypted-content-length as absent"; Go writes an empty
/// `x-amz-tag-len` for CBC in instruction files).
fn empty_is_absent(k: MetaKey) -> bool {
    matches!(
        k,
        MetaKey::MatDescV3
            | MetaKey::EncryptionContextV3
            | MetaKey::TagLen
            | MetaKey::UnencryptedContentLength
    )
}

impl<'a> Slots<'a> {
    fn new() -> Slots<'a> {
        Slots {
            entries: [None; N],
            seen: [false; N],
        }
    }

    fn insert(&mut self, key: MetaKey, value: Value<'a>, source: Source) -> Result<(), Error> {
        if key == MetaKey::InstructionFileMarker {
            // Marks the instruction-file object; carries nothing.
            return Ok(());
        }
        let i = index(key);
        let Some(seen) = self.seen.get_mut(i) else {
            return Ok(());
        };
        if *seen {
            // Keys are compared case-insensitively; S3 itself lower-cases them.
            return Err(FormatError::Duplicate(key).into());
        }
        *seen = true;
        let absent = empty_is_absent(key) && matches!(value, Value::Null | Value::Str(""));
        if !absent {
            if let Some(slot) = self.entries.get_mut(i) {
                *slot = Some(Entry { value, source });
            }
        }
        Ok(())
    }

    fn get(&self, key: MetaKey) -> Option<Entry<'a>> {
        self.entries.get(index(key)).copied().flatten()
    }

    fn has(&self, key: MetaKey) -> bool {
        self.get(key).is_some()
    }

    /// The first present key (in [`MetaKey::ALL`] order) satisfying `pred`.
    fn first(&self, pred: fn(MetaKey) -> bool) -> Option<MetaKey> {
        MetaKey::ALL
            .iter()
            .copied()
            .find(|&k| pred(k) && self.has(k))
    }

    /// The first of `keys` that is absent.
    fn first_missing(&self, keys: &[MetaKey]) -> Option<MetaKey> {
        keys.iter().copied().find(|&k| !self.has(k))
    }

    /// Add the instruction file's entries to the object metadata's.
    fn merge(&mut self, file: &Slots<'a>) -> Result<(), Error> {
        for key in MetaKey::ALL {
            let Some(theirs) = file.get(key) else {
                continue;
            };
            match self.get(key) {
                None => {
                    if let Some(slot) = self.entries.get_mut(index(key)) {
                        *slot = Some(theirs);
                    }
                }
                // Neutral (errata E10: writers put it on the object or in the
                // file); when both are given they must agree.
                Some(ours) if key == MetaKey::UnencryptedContentLength => {
                    if decimal(key, ours.value)? != decimal(key, theirs.value)? {
                        return Err(FormatError::InvalidValue(key).into());
                    }
                }
                Some(_) => return Err(FormatError::Duplicate(key).into()),
            }
        }
        Ok(())
    }

    /// A required string value. `null` counts as missing; a number is not a
    /// valid value for these keys.
    fn required(&self, key: MetaKey) -> Result<&'a str, Error> {
        match self.get(key).map(|e| e.value) {
            Some(Value::Str(s)) => Ok(s),
            Some(Value::Num(_)) => Err(FormatError::InvalidValue(key).into()),
            Some(Value::Null) | None => Err(FormatError::Missing(key).into()),
        }
    }

    /// An optional string value.
    fn optional(&self, key: MetaKey) -> Result<Option<&'a str>, Error> {
        match self.get(key).map(|e| e.value) {
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(Value::Num(_)) => Err(FormatError::InvalidValue(key).into()),
            Some(Value::Null) | None => Ok(None),
        }
    }

    /// An optional decimal value: a string of digits, or (in an instruction
    /// file) a JSON number (errata E13: accept both).
    fn decimal(&self, key: MetaKey) -> Result<Option<u64>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(e) => decimal(key, e.value),
        }
    }

    /// A material description / encryption context. Absent, empty or `null`
    /// is the empty map (spec `content-metadata.md#v3-only/2` and `/4`:
    /// an absent x-amz-m or x-amz-t defaults to `{}`).
    fn map(&self, key: MetaKey, arena: &mut Arena<'a>) -> Result<MatDesc<'a>, Error> {
        // spec: data-format/content-metadata.md#v3-only/2 data-format/content-metadata.md#v3-only/4 (an absent map is {})
        let Some(entry) = self.get(key) else {
            return Ok(MatDesc::EMPTY);
        };
        match entry.value {
            Value::Null => Ok(MatDesc::EMPTY),
            Value::Num(_) => Err(FormatError::InvalidValue(key).into()),
            Value::Str(s) => {
                let text = match entry.source {
                    // Spec MS, Object Metadata (a SHOULD): S3's RFC 2047
                    // "double encoding" of the matdesc / x-amz-m / x-amz-t
                    // values is decoded.
                    Source::Object => rfc2047::decode_value(key, s, arena)?,
                    Source::File => s,
                };
                MatDesc::parse_or_empty(text)
            }
        }
    }
}

/// Parse an unsigned decimal (digits only, no sign, fits `u64`).
fn parse_decimal(key: MetaKey, s: &str) -> Result<u64, Error> {
    let bad = || Error::from(FormatError::InvalidValue(key));
    if s.is_empty() {
        return Err(bad());
    }
    let mut n: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return Err(bad());
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or_else(bad)?;
    }
    Ok(n)
}

fn decimal(key: MetaKey, v: Value<'_>) -> Result<Option<u64>, Error> {
    match v {
        Value::Str(s) | Value::Num(s) => parse_decimal(key, s).map(Some),
        Value::Null => Ok(None),
    }
}

/// Collect the S3EC entries of the object's user metadata.
fn collect_object<'a>(
    metadata: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Slots<'a>, Error> {
    let mut slots = Slots::new();
    for (k, v) in metadata {
        // Spec CM, Content Metadata MapKeys: keys are given without the
        // "x-amz-meta-" prefix; keys that are not S3EC mapkeys are ignored
        // ("with the exception of additional unrelated mapkeys").
        if let Some(key) = MetaKey::parse(k) {
            slots.insert(key, Value::Str(v), Source::Object)?;
        }
    }
    Ok(slots)
}

/// Recognise an instruction-file key (possibly written with escapes).
fn key_of(k: &JsonStr<'_>) -> Option<MetaKey> {
    if let Some(plain) = k.as_plain() {
        return MetaKey::parse(plain);
    }
    MetaKey::ALL.iter().copied().find(|m| {
        let mut a = k.chars();
        let mut b = m.as_str().chars();
        loop {
            match (a.next(), b.next()) {
                (None, None) => return true,
                (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => {}
                _ => return false,
            }
        }
    })
}

/// Collect the S3EC entries of an instruction file's JSON body.
fn collect_file<'a>(text: &'a str, arena: &mut Arena<'a>) -> Result<Slots<'a>, Error> {
    // Spec MS, Instruction File (`metadata-strategy.md#instruction-file/2-3`):
    // the file is one JSON object and nothing else. `FlatObject` rejects
    // anything else, including trailing data and duplicate keys.
    let obj = FlatObject::parse(text)?;
    let mut slots = Slots::new();
    for (k, v) in obj.iter() {
        let Some(key) = key_of(&k) else {
            // Not an S3EC mapkey: ignored, as in object metadata.
            continue;
        };
        // Spec MS, V3 Instruction Files: x-amz-c, x-amz-d and x-amz-i never
        // go in the instruction file. A file that carries one has been
        // tampered with (the key commitment must come from the object).
        // spec: data-format/content-metadata.md#content-metadata-mapkeys/18 (c/d/i in an instruction file: refused)
        if key.is_v3_object_only() {
            return Err(FormatError::InstructionFileTampered(key).into());
        }
        let value = match v {
            JsonValue::Str(s) => Value::Str(s.decode(arena)?),
            JsonValue::Number(n) => Value::Num(n),
            JsonValue::Null => Value::Null,
        };
        slots.insert(key, value, Source::File)?;
    }
    Ok(slots)
}

/// How the envelope is laid out in one map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    V1,
    V2,
    V3,
    /// V3 `x-amz-c`, `x-amz-d`, `x-amz-i` only: the rest is in the
    /// instruction file.
    SplitV3,
    /// No S3EC key at all (neutral keys aside).
    Empty,
}

const V3_OBJECT_ONLY: [MetaKey; 3] = [
    MetaKey::ContentCipherV3,
    MetaKey::KeyCommitmentV3,
    MetaKey::MessageIdV3,
];

/// The reference's "Recommended read algorithm", on one map.
fn classify(s: &Slots<'_>) -> Result<Layout, Error> {
    // At most one encrypted-data-key mapkey. Spec CM, Determining S3EC
    // Object Status (a SHOULD): keys of several versions' data keys
    // (x-amz-key, x-amz-key-v2, x-amz-3) together are an error.
    let mut edks = [MetaKey::KeyV1, MetaKey::KeyV2, MetaKey::KeyV3]
        .into_iter()
        .filter(|&k| s.has(k));
    if let (Some(first), Some(second)) = (edks.next(), edks.next()) {
        return Err(FormatError::Collision { first, second }.into());
    }
    // V1/V2-only and V3-only keys never mix. Spec CM, V2 and V3 mapkeys:
    // keys exclusive to another format version must be absent, and their
    // presence should be an error. This also stops a lone `x-amz-c`
    // beside V2 keys (the .NET commitment-policy bypass) and V2 keys
    // injected beside V3's c/d/i (format confusion).
    let v12 = s.first(MetaKey::is_v1_v2_only);
    let v3 = s.first(MetaKey::is_v3_only);
    if let (Some(first), Some(second)) = (v12, v3) {
        return Err(FormatError::Collision { first, second }.into());
    }
    if v12.is_some() {
        // Spec CM: V1 is x-amz-iv with x-amz-key, V2 is x-amz-iv with
        // x-amz-key-v2, each with no other version's exclusive keys. Anything
        // less is a deviation, which the spec says should be an error.
        // spec: data-format/content-metadata.md#determining-s3ec-object-status/1-2
        let layout = if s.has(MetaKey::KeyV1) {
            Layout::V1
        } else if s.has(MetaKey::KeyV2) {
            Layout::V2
        } else {
            return Err(FormatError::Missing(MetaKey::KeyV2).into());
        };
        if !s.has(MetaKey::Iv) {
            return Err(FormatError::Missing(MetaKey::Iv).into());
        }
        return Ok(layout);
    }
    if v3.is_some() {
        if s.has(MetaKey::KeyV3) {
            // Spec CM: V3 is x-amz-3 with x-amz-d and x-amz-i; x-amz-c and
            // x-amz-w are required as well.
            if let Some(k) = s.first_missing(&[
                MetaKey::KeyCommitmentV3,
                MetaKey::MessageIdV3,
                MetaKey::ContentCipherV3,
                MetaKey::WrapAlgV3,
            ]) {
                return Err(FormatError::Missing(k).into());
            }
            // spec: data-format/content-metadata.md#determining-s3ec-object-status/3
            return Ok(Layout::V3);
        }
        // Spec MS, V3 Instruction Files: c/d/i in the object metadata, the
        // rest in the instruction file.
        if let Some(k) = s.first_missing(&V3_OBJECT_ONLY) {
            return Err(FormatError::Missing(k).into());
        }
        if [
            MetaKey::WrapAlgV3,
            MetaKey::MatDescV3,
            MetaKey::EncryptionContextV3,
        ]
        .into_iter()
        .any(|k| s.has(k))
        {
            // Part of the data-key half is here but the key itself is not.
            return Err(FormatError::Missing(MetaKey::KeyV3).into());
        }
        return Ok(Layout::SplitV3);
    }
    // spec: data-format/content-metadata.md#determining-s3ec-object-status/4 (no S3EC key: the caller fetches the instruction file)
    Ok(Layout::Empty)
}

/// Classify an object's user metadata: is the envelope complete there, or
/// must the instruction file be fetched?
///
/// `object_metadata` is the object's user metadata as `(key, value)` pairs,
/// keys without the `x-amz-meta-` prefix (spec CM: S3 adds that prefix; the
/// code never uses it), in any case. Keys that are not S3EC mapkeys are
/// ignored.
///
/// Spec CM, Determining S3EC Object Status: V1 (`x-amz-iv` + `x-amz-key`),
/// V2 (`x-amz-iv` + `x-amz-key-v2`) and V3 (`x-amz-3` + `x-amz-d` +
/// `x-amz-i`) are S3EC objects of that format; an object that is none of
/// them sends the reader to the instruction file. Following the reference's
/// read algorithm, only
/// metadata without any S3EC key, or with exactly V3's `x-amz-c`, `x-amz-d`
/// and `x-amz-i`, leads to the instruction file; partial or mixed metadata is
/// an error.
///
/// # Errors
///
/// [`FormatError::Duplicate`] for a key given twice (case-insensitively),
/// [`FormatError::Collision`] for keys of different format versions,
/// [`FormatError::Missing`] for partial metadata.
///
/// ```
/// use s3ec_core::envelope::{detect, Detected};
/// use s3ec_core::{FormatError, FormatVersion};
///
/// let plain = [("content-type", "text/plain")];
/// assert_eq!(
///     detect(plain.iter().copied())?,
///     Detected::InstructionFile { v3_split: false }
/// );
/// let split = [("x-amz-c", "115"), ("x-amz-d", "..."), ("x-amz-i", "...")];
/// assert_eq!(
///     detect(split.iter().copied())?,
///     Detected::InstructionFile { v3_split: true }
/// );
/// let mixed = [("x-amz-key-v2", "AAAA"), ("x-amz-iv", "AAAA"), ("x-amz-c", "115")];
/// assert!(matches!(
///     detect(mixed.iter().copied()),
///     Err(s3ec_core::Error::Format(FormatError::Collision { .. }))
/// ));
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub fn detect<'a>(
    object_metadata: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> Result<Detected, Error> {
    let slots = collect_object(object_metadata)?;
    Ok(match classify(&slots)? {
        Layout::V1 => Detected::Complete(FormatVersion::V1),
        Layout::V2 => Detected::Complete(FormatVersion::V2),
        Layout::V3 => Detected::Complete(FormatVersion::V3),
        Layout::SplitV3 => Detected::InstructionFile { v3_split: true },
        Layout::Empty => Detected::InstructionFile { v3_split: false },
    })
}

/// Decode an encrypted data key into fixed storage.
fn decode_edk(key: MetaKey, value: &str) -> Result<([u8; MAX_EDK_LEN], u16), Error> {
    let mut buf = [0u8; MAX_EDK_LEN];
    // Spec CM, V1/V2/V3 Shared: "The base64-encoded bytes of the encrypted
    // data key." Strict, padded base64 (errata E12).
    let n = b64::decode(key, value, &mut buf)?.len();
    if n == 0 {
        return Err(FormatError::InvalidLength { key, actual: 0 }.into());
    }
    let len = u16::try_from(n).map_err(|_| FormatError::InvalidLength { key, actual: n })?;
    Ok((buf, len))
}

/// Decode `x-amz-iv` and check it against the suite.
fn decode_iv(value: &str, suite: Suite) -> Result<Nonce, Error> {
    let mut bytes = [0u8; 16];
    let n = b64::decode(MetaKey::Iv, value, &mut bytes)?.len();
    // Errata E3/E7: the IV length must be the suite's (12 for GCM, 16 for
    // CBC); for legacy wraps this is the only check that stops a GCM->CBC
    // relabel of `x-amz-cek-alg`.
    if n != suite.iv_len() {
        return Err(FormatError::InvalidLength {
            key: MetaKey::Iv,
            actual: n,
        }
        .into());
    }
    // Errata E7: an all-zero IV is rejected on read too.
    if is_all_zero(bytes.get(..n).unwrap_or(&[])) {
        return Err(FormatError::ZeroIv.into());
    }
    // n is 12 or 16.
    Ok(Nonce::Iv {
        bytes,
        len: n as u8,
    })
}

/// Wrap/content combinations that exist on V2 objects (reference §2.3):
/// GCM content with every V2 wrap; CBC content only with the legacy `kms`
/// (JavaV1 / Ruby V1 KMS EncryptionOnly) and `AESWrap` (C++ EncryptionOnly)
/// wraps. No writer produced `kms+context`, `AES/GCM`, `RSA-OAEP-SHA1` or
/// `RSA/ECB/OAEPWithSHA-256AndMGF1Padding` with CBC content.
fn v2_combination_exists(wrap: WrapAlg, suite: Suite) -> bool {
    match suite {
        Suite::AesGcm => matches!(
            wrap,
            WrapAlg::KmsContext
                | WrapAlg::AesGcm
                | WrapAlg::RsaOaepSha1
                | WrapAlg::Kms
                | WrapAlg::AesWrap
                | WrapAlg::RsaOaepSha256
        ),
        Suite::AesCbc => matches!(wrap, WrapAlg::Kms | WrapAlg::AesWrap),
        _ => false,
    }
}

fn parse_v1<'a>(
    s: &Slots<'a>,
    arena: &mut Arena<'a>,
    placement: Placement,
) -> Result<Envelope<'a>, Error> {
    // spec: data-format/content-metadata.md#content-metadata-mapkeys/3 data-format/content-metadata.md#content-metadata-mapkeys/5
    let edk_b64 = s.required(MetaKey::KeyV1)?;
    let iv_b64 = s.required(MetaKey::Iv)?;
    // Spec CM, V1: x-amz-matdesc is required too (errata E11: Java's
    // isV1Format requires it).
    // spec: data-format/content-metadata.md#content-metadata-mapkeys/4
    if !s.has(MetaKey::MatDesc) {
        return Err(FormatError::Missing(MetaKey::MatDesc).into());
    }
    // V1 writers store no wrap name (it is inferred below); an
    // `x-amz-key` object that names one was not written by any client.
    if s.has(MetaKey::WrapAlg) {
        return Err(FormatError::InvalidCombination.into());
    }
    let suite = Suite::AesCbc;
    // V1 content is always CBC (errata E11: a missing cek-alg means CBC only
    // for V1); an optional cek-alg must say so.
    let cek_alg = match s.optional(MetaKey::CekAlg)? {
        None => suite.cek_alg(),
        Some(c) => match Suite::from_cek_alg(c) {
            Some(Suite::AesCbc) => c,
            Some(_) => return Err(FormatError::InvalidCombination.into()),
            None => return Err(FormatError::InvalidValue(MetaKey::CekAlg).into()),
        },
    };
    // x-amz-tag-len is ignored for CBC content.
    let (edk, edk_len) = decode_edk(MetaKey::KeyV1, edk_b64)?;
    // Java infers the V1 wrap from the EDK length: an AES-ECB-wrapped key of
    // at most 256 bits is at most 48 bytes.
    let wrap = if edk_len > 48 {
        WrapAlg::RsaPkcs1
    } else {
        WrapAlg::AesEcb
    };
    let nonce = decode_iv(iv_b64, suite)?;
    let matdesc = s.map(MetaKey::MatDesc, arena)?;
    let unencrypted_content_length = s.decimal(MetaKey::UnencryptedContentLength)?;
    Ok(Envelope {
        format: FormatVersion::V1,
        suite,
        wrap,
        edk,
        edk_len,
        nonce,
        matdesc,
        cek_alg,
        tag_len_bits: None,
        unencrypted_content_length,
        placement,
    })
}

fn parse_v2<'a>(
    s: &Slots<'a>,
    arena: &mut Arena<'a>,
    placement: Placement,
) -> Result<Envelope<'a>, Error> {
    // Spec CM, V2: x-amz-key-v2, x-amz-iv, x-amz-wrap-alg and x-amz-cek-alg
    // are required (errata E11: Java rejects a V2 object without cek-alg or
    // wrap-alg). x-amz-matdesc is required too, but Java reads objects
    // copied without it as `{}` (reference §2.3); we do the same.
    // spec: data-format/content-metadata.md#content-metadata-mapkeys/6 data-format/content-metadata.md#content-metadata-mapkeys/8-10 (x-amz-matdesc: absent reads as {} as Java does)
    let edk_b64 = s.required(MetaKey::KeyV2)?;
    let iv_b64 = s.required(MetaKey::Iv)?;
    let cek_alg = s.required(MetaKey::CekAlg)?;
    let wrap_name = s.required(MetaKey::WrapAlg)?;
    // Spec CM, x-amz-cek-alg valid values: AES/GCM/NoPadding,
    // AES/CBC/PKCS5Padding (and Ruby's synonym AES/CBC/PKCS7Padding).
    // Never CTR (CVE-2020-8912), never the V3 "115".
    let suite = Suite::from_cek_alg(cek_alg).ok_or(FormatError::InvalidValue(MetaKey::CekAlg))?;
    // Spec CM, x-amz-wrap-alg valid values.
    let wrap = WrapAlg::from_name(wrap_name).ok_or(FormatError::InvalidValue(MetaKey::WrapAlg))?;
    let tag_len_bits = if suite == Suite::AesGcm {
        // Spec CM, V2: GCM content requires x-amz-tag-len; valid values: 128
        // (errata E6: Java rejects absence).
        let bits = s
            .decimal(MetaKey::TagLen)?
            // spec: data-format/content-metadata.md#content-metadata-mapkeys/11
            .ok_or(FormatError::Missing(MetaKey::TagLen))?;
        if bits != 128 {
            return Err(FormatError::InvalidValue(MetaKey::TagLen).into());
        }
        Some(128)
    } else {
        // Spec CM: absent for CBC content, but C++ writes "0" and Go writes
        // "" on CBC objects: ignored.
        None
    };
    let (edk, edk_len) = decode_edk(MetaKey::KeyV2, edk_b64)?;
    let nonce = decode_iv(iv_b64, suite)?;
    if !v2_combination_exists(wrap, suite) {
        return Err(FormatError::InvalidCombination.into());
    }
    let matdesc = s.map(MetaKey::MatDesc, arena)?;
    // Errata E1: a legacy `kms` object whose stored context holds
    // aws:x-amz-cek-alg is a relabelled kms+context object.
    if wrap == WrapAlg::Kms && matdesc.contains_key(RESERVED_CEK_ALG) {
        return Err(FormatError::InvalidCombination.into());
    }
    let unencrypted_content_length = s.decimal(MetaKey::UnencryptedContentLength)?;
    Ok(Envelope {
        format: FormatVersion::V2,
        suite,
        wrap,
        edk,
        edk_len,
        nonce,
        matdesc,
        cek_alg,
        tag_len_bits,
        unencrypted_content_length,
        placement,
    })
}

fn parse_v3<'a>(
    s: &Slots<'a>,
    arena: &mut Arena<'a>,
    placement: Placement,
) -> Result<Envelope<'a>, Error> {
    // Spec CM, V3: "x-amz-c", "x-amz-3", "x-amz-w", "x-amz-d", "x-amz-i"
    // MUST be present.
    // spec: data-format/content-metadata.md#content-metadata-mapkeys/13-17
    let c = s.required(MetaKey::ContentCipherV3)?;
    let edk_b64 = s.required(MetaKey::KeyV3)?;
    let w = s.required(MetaKey::WrapAlgV3)?;
    let d = s.required(MetaKey::KeyCommitmentV3)?;
    let i = s.required(MetaKey::MessageIdV3)?;
    // Spec CM, x-amz-c: "115" is the only V3 content cipher (the
    // committing suite is written in V3 only).
    let suite = Suite::from_v3_content_cipher(c)
        .ok_or(FormatError::InvalidValue(MetaKey::ContentCipherV3))?;
    // Spec CM, x-amz-w: 02, 12 and 22 read as AES/GCM, kms+context and
    // RSA-OAEP-SHA1; anything else (Ruby's reserved 01/11/21 included) is
    // rejected.
    // spec: data-format/content-metadata.md#v3-only/5-7
    let wrap = WrapAlg::from_v3_code(w).ok_or(FormatError::InvalidValue(MetaKey::WrapAlgV3))?;
    let (edk, edk_len) = decode_edk(MetaKey::KeyV3, edk_b64)?;
    let message_id = b64::decode_array::<MESSAGE_ID_LEN>(MetaKey::MessageIdV3, i)?;
    // Errata E7: Java rejects an all-zero message id on read.
    if is_all_zero(&message_id) {
        return Err(FormatError::ZeroIv.into());
    }
    let commitment = b64::decode_array::<COMMITMENT_LEN>(MetaKey::KeyCommitmentV3, d)?;
    // Spec CM, V3 Only: `12` (kms+context) takes the encryption context
    // x-amz-t; `02` and `22` take the material description x-amz-m.
    // spec: data-format/content-metadata.md#v3-only/1 data-format/content-metadata.md#v3-only/3
    let map_key = if wrap == WrapAlg::KmsContext {
        MetaKey::EncryptionContextV3
    } else {
        MetaKey::MatDescV3
    };
    let matdesc = s.map(map_key, arena)?;
    let unencrypted_content_length = s.decimal(MetaKey::UnencryptedContentLength)?;
    Ok(Envelope {
        format: FormatVersion::V3,
        suite,
        wrap,
        edk,
        edk_len,
        nonce: Nonce::Committing {
            message_id,
            commitment,
        },
        matdesc,
        cek_alg: c,
        tag_len_bits: None,
        unencrypted_content_length,
        placement,
    })
}

impl<'a> Envelope<'a> {
    /// Parse the content metadata of an object.
    ///
    /// * `object_metadata`: the object's user metadata, keys without the
    ///   `x-amz-meta-` prefix, any case (see [`detect`]).
    /// * `instruction_file`: the raw JSON body of the instruction file, given
    ///   exactly when [`detect`] returned [`Detected::InstructionFile`]. A
    ///   flat JSON object; values are strings, JSON numbers are accepted for
    ///   `x-amz-tag-len` and `x-amz-unencrypted-content-length`, `null` means
    ///   absent; keys that are not S3EC mapkeys are ignored.
    /// * `arena`: room for values that must be decoded (escaped JSON strings
    ///   of the instruction file, RFC 2047-encoded material descriptions in
    ///   object metadata). Plain values are borrowed and need none, so
    ///   [`Arena::empty`] does for ordinary object metadata; the length of
    ///   the instruction file plus twice the length of the object's map
    ///   values (`x-amz-matdesc`, `x-amz-m`, `x-amz-t`) always suffices
    ///   (see [`rfc2047::arena_len`] for the exact need of one value). Too
    ///   small: [`Error::BufferTooSmall`].
    ///
    /// # Errors
    ///
    /// Everything [`detect`] reports, and: [`FormatError::InstructionFileRequired`]
    /// when the envelope is in an instruction file that was not given;
    /// [`FormatError::InvalidCombination`] when one was given although the
    /// object metadata is complete; [`FormatError::NotEncrypted`] when
    /// neither holds an envelope; [`FormatError::InstructionFileTampered`]
    /// for `x-amz-c`/`-d`/`-i` inside an instruction file;
    /// [`FormatError::Missing`], [`FormatError::InvalidValue`],
    /// [`FormatError::InvalidBase64`], [`FormatError::InvalidLength`],
    /// [`FormatError::ZeroIv`], [`FormatError::InvalidCombination`] for
    /// values that are absent, unknown, malformed or do not fit the suite;
    /// [`Error::Json`] for a malformed instruction file or map.
    ///
    /// ```
    /// use s3ec_core::envelope::{detect, Detected, Envelope, Placement};
    /// use s3ec_core::{Arena, FormatVersion, Suite, WrapAlg};
    ///
    /// // A V2 object whose envelope Ruby stored in an instruction file.
    /// let metadata = [("x-amz-unencrypted-content-length", "17")];
    /// assert_eq!(
    ///     detect(metadata.iter().copied())?,
    ///     Detected::InstructionFile { v3_split: false }
    /// );
    /// let file = r#"{"x-amz-key-v2":"EuQ0ge/0RqM82he9sd7OV6Ui5HWr9nZWD1fPyxR08VUQ34Fuxre9bpNQv8dUTd3A4jHBI9/djLtSbVY+",
    ///   "x-amz-cek-alg":"AES/GCM/NoPadding","x-amz-tag-len":"128","x-amz-wrap-alg":"AES/GCM",
    ///   "x-amz-iv":"Xq3Loq3H6huPpiyt","x-amz-matdesc":"{\"owner\":\"Zo\u00eb\"}"}"#;
    /// let mut buf = [0u8; 512];
    /// let mut arena = Arena::new(&mut buf);
    /// let env = Envelope::parse(metadata.iter().copied(), Some(file), &mut arena)?;
    /// assert_eq!(env.format(), FormatVersion::V2);
    /// assert_eq!(env.suite(), Suite::AesGcm);
    /// assert_eq!(env.wrap(), WrapAlg::AesGcm);
    /// assert_eq!(env.cek_alg(), "AES/GCM/NoPadding");
    /// assert_eq!(env.iv().map(<[u8]>::len), Some(12));
    /// assert!(env.matdesc().get("owner").unwrap().eq_str("Zoë"));
    /// assert_eq!(env.unencrypted_content_length(), Some(17));
    /// assert_eq!(env.placement(), Placement::InstructionFile);
    /// # Ok::<(), s3ec_core::Error>(())
    /// ```
    pub fn parse(
        object_metadata: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
        instruction_file: Option<&'a str>,
        arena: &mut Arena<'a>,
    ) -> Result<Envelope<'a>, Error> {
        let mut slots = collect_object(object_metadata)?;
        let layout = classify(&slots)?;
        let (layout, placement) = match (layout, instruction_file) {
            (Layout::V1 | Layout::V2 | Layout::V3, None) => (layout, Placement::ObjectMetadata),
            // The object metadata is complete: an instruction file given as
            // well would be a second, competing envelope.
            (Layout::V1 | Layout::V2 | Layout::V3, Some(_)) => {
                return Err(FormatError::InvalidCombination.into())
            }
            // Spec CM: an object that matches no format's metadata has its
            // envelope in the instruction file.
            (Layout::SplitV3 | Layout::Empty, None) => {
                return Err(FormatError::InstructionFileRequired.into())
            }
            (Layout::SplitV3, Some(text)) => {
                let file = collect_file(text, arena)?;
                slots.merge(&file)?;
                // Spec MS, V3 Instruction Files: x-amz-3 and x-amz-w are in
                // the instruction file; V1/V2 keys beside the
                // object's c/d/i are a collision (format confusion).
                match classify(&slots)? {
                    Layout::V3 => (Layout::V3, Placement::InstructionFile),
                    _ => return Err(FormatError::Missing(MetaKey::KeyV3).into()),
                }
            }
            (Layout::Empty, Some(text)) => {
                let file = collect_file(text, arena)?;
                slots.merge(&file)?;
                // Spec MS, V1/V2 Instruction Files: the whole envelope is in
                // the instruction file.
                match classify(&slots)? {
                    l @ (Layout::V1 | Layout::V2) => (l, Placement::InstructionFile),
                    Layout::Empty => return Err(FormatError::NotEncrypted.into()),
                    // A V3-shaped file needs c/d/i from the object metadata.
                    Layout::V3 | Layout::SplitV3 => {
                        return Err(FormatError::Missing(MetaKey::ContentCipherV3).into())
                    }
                }
            }
        };
        match layout {
            Layout::V1 => parse_v1(&slots, arena, placement),
            Layout::V2 => parse_v2(&slots, arena, placement),
            _ => parse_v3(&slots, arena, placement),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn slot_index_matches_all() {
        for (i, k) in MetaKey::ALL.iter().enumerate() {
            assert_eq!(index(*k), i);
        }
    }

    #[test]
    fn decimals() {
        let k = MetaKey::UnencryptedContentLength;
        assert_eq!(parse_decimal(k, "0").unwrap(), 0);
        assert_eq!(parse_decimal(k, "0017").unwrap(), 17);
        assert_eq!(parse_decimal(k, "18446744073709551615").unwrap(), u64::MAX);
        for bad in [
            "",
            "-1",
            "+1",
            "1.0",
            "1e3",
            " 1",
            "18446744073709551616",
            "x",
        ] {
            assert!(parse_decimal(k, bad).is_err(), "{bad}");
        }
    }
}

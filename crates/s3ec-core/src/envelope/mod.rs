//! The content-metadata envelope: typed V1, V2 and V3 content metadata,
//! parsed from object metadata and instruction files and emitted through a
//! caller-provided sink, without I/O and without allocation.
//!
//! Spec: `s3-encryption/data-format/content-metadata.md` (CM) and
//! `s3-encryption/data-format/metadata-strategy.md` (MS).
//!
//! # Reading
//!
//! Reading is two-phase so that the client decides whether to fetch an
//! instruction file while the core stays sans-IO:
//!
//! 1. [`detect`] looks at the object's user metadata (keys without the
//!    `x-amz-meta-` prefix) and says whether the envelope is
//!    [`Detected::Complete`] there or whether the instruction file
//!    (`<key>.instruction`, see [`INSTRUCTION_FILE_SUFFIX`]) must be fetched.
//!    Collisions between format versions and partial metadata fail here
//!    already.
//! 2. [`Envelope::parse`] builds the typed envelope from the object metadata
//!    and, when `detect` asked for it, the raw JSON body of the instruction
//!    file.
//!
//! ```
//! use s3ec_core::envelope::{detect, Detected, Envelope};
//! use s3ec_core::{Arena, FormatVersion, Suite, WrapAlg};
//!
//! let metadata = [
//!     ("x-amz-c", "115"),
//!     ("x-amz-3", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="),
//!     ("x-amz-w", "02"),
//!     ("x-amz-m", r#"{"key":"primary"}"#),
//!     ("x-amz-d", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ=="),
//!     ("x-amz-i", "AgICAgICAgICAgICAgICAgICAgICAgICAgICAg=="),
//!     ("content-type", "text/plain"), // not an S3EC key: ignored
//! ];
//! assert_eq!(
//!     detect(metadata.iter().copied())?,
//!     Detected::Complete(FormatVersion::V3)
//! );
//! let env = Envelope::parse(metadata.iter().copied(), None, &mut Arena::empty())?;
//! assert_eq!(env.suite(), Suite::AesGcmCommitting);
//! assert_eq!(env.wrap(), WrapAlg::AesGcm);
//! assert_eq!(env.encrypted_data_key().len(), 32);
//! assert_eq!(env.message_id(), Some(&[2u8; 28]));
//! assert!(env.matdesc().get("key").unwrap().eq_str("primary"));
//! # Ok::<(), s3ec_core::Error>(())
//! ```
//!
//! # Writing
//!
//! [`Envelope::new_v3`] / [`Envelope::new_v2`] build an envelope for a new
//! object; [`Envelope::write_object_metadata`] emits the object's user
//! metadata through a [`MetadataSink`] and
//! [`Envelope::write_instruction_file`] the instruction file's JSON body.
//!
//! # Decisions where the spec and the writers leave room
//!
//! * Keys are matched ASCII case-insensitively (Go writes `X-Amz-Key-V2`); a
//!   key given twice (in any case) is [`FormatError::Duplicate`]. Keys that
//!   are not S3EC mapkeys are ignored, in object metadata and in instruction
//!   files alike. The `x-amz-crypto-instr-file` marker is ignored wherever it
//!   appears.
//! * Empty and JSON-`null` values of `x-amz-m`, `x-amz-t`, `x-amz-tag-len`
//!   and `x-amz-unencrypted-content-length` are treated as absent (Go writes
//!   empty values, .NET writes `null`). An empty or `null`
//!   `x-amz-matdesc` is the empty map.
//! * `x-amz-unencrypted-content-length` is neutral: it may be in the object
//!   metadata, in the instruction file, or both (then both must agree). A
//!   present value must be a decimal integer.
//! * When [`detect`] says the envelope is complete in the object metadata,
//!   passing an instruction file anyway is an error
//!   ([`FormatError::InvalidCombination`]) rather than silently ignored: the
//!   caller is confused about where the envelope is (for example, a
//!   re-encrypted instruction file meant to override the metadata), and
//!   guessing would pick one of two envelopes.
//! * V2 wrap/content combinations no writer produces are rejected with
//!   [`FormatError::InvalidCombination`]: CBC content goes only with the
//!   legacy `kms` and `AESWrap` wraps. A V1 object (`x-amz-key`) never
//!   carries `x-amz-wrap-alg`; one that does is rejected.
//! * A legacy `kms` V2 object whose stored context holds
//!   `aws:x-amz-cek-alg` is a relabelled `kms+context` object (no legacy
//!   writer adds that key) and is rejected (errata E1).
//! * V3: the map that does not apply to the wrap (`x-amz-m` for `12`,
//!   `x-amz-t` for `02`/`22`) is ignored, as Java does.

mod read;
mod write;

pub use read::detect;
pub use write::MetadataSink;

use crate::error::{Error, FormatError, InputError};
use crate::keys::MetaKey;
use crate::matdesc::{MatDesc, RESERVED_CEK_ALG};
use crate::suite::{FormatVersion, Suite, WrapAlg, COMMITMENT_LEN, MESSAGE_ID_LEN};

/// Capacity for the encrypted data key: 1024 bytes, enough for an 8192-bit
/// RSA key wrap. A longer stored key is rejected with
/// [`FormatError::InvalidLength`].
pub const MAX_EDK_LEN: usize = 1024;

/// The largest single value [`Envelope::write_object_metadata`] emits
/// (S3 limits all user-defined metadata of an object to 2 KB). A material
/// description whose canonical JSON is longer fails with
/// [`Error::LimitExceeded`]; store such envelopes in an instruction file.
pub const MAX_METADATA_VALUE_LEN: usize = 2048;

/// The default instruction-file suffix: the instruction file of object `k`
/// is object `k + ".instruction"` (spec MS, Instruction File: "The default
/// Instruction File behavior uses the same S3 object key as its associated
/// object suffixed with \".instruction\"").
pub const INSTRUCTION_FILE_SUFFIX: &str = ".instruction";

/// The user-metadata key that marks an instruction-file *object*
/// (`x-amz-crypto-instr-file`, with an empty value). Writers should set it
/// on the instruction file they PUT; readers must not require it. It is the
/// client's business: the core never emits it and ignores it on read.
pub const INSTRUCTION_FILE_MARKER: MetaKey = MetaKey::InstructionFileMarker;

/// Where content metadata is (or is to be) stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// Entirely in the object's user metadata (the default: spec MS, Object
    /// Metadata, `metadata-strategy.md#object-metadata/1`).
    ObjectMetadata,
    /// In an instruction file: everything for V1/V2; for V3 the data-key part
    /// (`x-amz-3`, `x-amz-w`, `x-amz-m`, `x-amz-t`) while `x-amz-c`,
    /// `x-amz-d` and `x-amz-i` stay in the object metadata.
    InstructionFile,
}

/// What [`detect`] found in the object metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detected {
    /// The whole envelope, of this format, is in the object metadata: call
    /// [`Envelope::parse`] without an instruction file.
    Complete(FormatVersion),
    /// The envelope is (at least partly) in the instruction file: fetch
    /// `<key>` + [`INSTRUCTION_FILE_SUFFIX`] and pass its body to
    /// [`Envelope::parse`].
    InstructionFile {
        /// `true` when the object metadata holds V3's `x-amz-c`, `x-amz-d`
        /// and `x-amz-i`: the object is certainly encrypted and a missing
        /// instruction file is an error. `false` when the object metadata
        /// holds no S3EC key at all: a missing instruction file means the
        /// object is not encrypted ([`FormatError::NotEncrypted`]).
        v3_split: bool,
    },
}

/// The per-object nonce material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nonce {
    /// V1/V2: the content IV (`x-amz-iv`), 12 or 16 bytes.
    Iv { bytes: [u8; 16], len: u8 },
    /// V3: message id (`x-amz-i`) and key commitment (`x-amz-d`).
    Committing {
        message_id: [u8; MESSAGE_ID_LEN],
        commitment: [u8; COMMITMENT_LEN],
    },
}

/// Typed S3EC content metadata of one object.
///
/// Built by [`Envelope::parse`] (read) or [`Envelope::new_v2`] /
/// [`Envelope::new_v3`] (write). Borrows the metadata text (material
/// description, stored cek-alg) for `'a`; the encrypted data key, IV, message
/// id and commitment are decoded into the value itself.
#[derive(Clone)]
pub struct Envelope<'a> {
    format: FormatVersion,
    suite: Suite,
    wrap: WrapAlg,
    edk: [u8; MAX_EDK_LEN],
    edk_len: u16,
    nonce: Nonce,
    matdesc: MatDesc<'a>,
    cek_alg: &'a str,
    tag_len_bits: Option<u16>,
    unencrypted_content_length: Option<u64>,
    placement: Placement,
}

impl PartialEq for Envelope<'_> {
    /// Field-wise equality; the material descriptions are compared as maps
    /// (not as text).
    fn eq(&self, other: &Self) -> bool {
        self.format == other.format
            && self.suite == other.suite
            && self.wrap == other.wrap
            && self.encrypted_data_key() == other.encrypted_data_key()
            && self.nonce == other.nonce
            && self.matdesc.eq_map(&other.matdesc)
            && self.cek_alg == other.cek_alg
            && self.tag_len_bits == other.tag_len_bits
            && self.unencrypted_content_length == other.unencrypted_content_length
            && self.placement == other.placement
    }
}

impl Eq for Envelope<'_> {}

impl core::fmt::Debug for Envelope<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Envelope")
            .field("format", &self.format)
            .field("suite", &self.suite)
            .field("wrap", &self.wrap)
            .field("edk_len", &self.edk_len)
            .field("nonce", &self.nonce)
            .field("matdesc", &self.matdesc.as_json())
            .field("cek_alg", &self.cek_alg)
            .field("tag_len_bits", &self.tag_len_bits)
            .field(
                "unencrypted_content_length",
                &self.unencrypted_content_length,
            )
            .field("placement", &self.placement)
            .finish()
    }
}

fn is_all_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

/// Copy an encrypted data key into fixed storage.
fn store_edk(edk: &[u8]) -> Result<([u8; MAX_EDK_LEN], u16), Error> {
    if edk.is_empty() {
        return Err(InputError::KeyLength { actual: 0 }.into());
    }
    let mut out = [0u8; MAX_EDK_LEN];
    let dst = out
        .get_mut(..edk.len())
        .ok_or(Error::BufferTooSmall { needed: edk.len() })?;
    dst.copy_from_slice(edk);
    // edk.len() <= MAX_EDK_LEN = 1024 fits u16.
    Ok((out, edk.len() as u16))
}

/// For `kms+context`, the stored context must bind the content cipher under
/// `aws:x-amz-cek-alg` (spec `materials/s3-kms-keyring.md`, Kms+Context);
/// readers (Go, Ruby, PHP, C++) reject objects without it.
fn check_kms_context(
    wrap: WrapAlg,
    suite: Suite,
    map: &MatDesc<'_>,
    key: MetaKey,
) -> Result<(), Error> {
    if wrap == WrapAlg::KmsContext
        && !map
            .get(RESERVED_CEK_ALG)
            .is_some_and(|v| v.eq_str(suite.cek_alg()))
    {
        return Err(FormatError::InvalidValue(key).into());
    }
    Ok(())
}

impl<'a> Envelope<'a> {
    /// A V2 envelope for a new object encrypted with `AES/GCM/NoPadding`
    /// (suite 0x0072, written only under the `ForbidEncryptAllowDecrypt`
    /// commitment policy).
    ///
    /// `wrap` must be a current wrap (`kms+context`, `AES/GCM`,
    /// `RSA-OAEP-SHA1`): legacy wraps are refused with
    /// [`Error::Unsupported`]. `edk` is the wrapped data key (1 to
    /// [`MAX_EDK_LEN`] bytes), `iv` the content IV (not all zero),
    /// `matdesc` the material description or, for `kms+context`, the KMS
    /// encryption context, which must hold `aws:x-amz-cek-alg` =
    /// `AES/GCM/NoPadding`.
    ///
    /// ```
    /// use s3ec_core::envelope::Envelope;
    /// use s3ec_core::matdesc::MatDesc;
    /// use s3ec_core::{MetaKey, WrapAlg};
    ///
    /// let md = MatDesc::parse(r#"{"owner":"me"}"#)?;
    /// let env = Envelope::new_v2(WrapAlg::AesGcm, &[7u8; 60], &[9u8; 12], md)?
    ///     .with_unencrypted_content_length(17);
    /// let mut out = Vec::new();
    /// env.write_object_metadata(
    ///     s3ec_core::envelope::Placement::ObjectMetadata,
    ///     &mut |k: MetaKey, v: &str| {
    ///         out.push((k.as_str(), v.to_owned()));
    ///         Ok(())
    ///     },
    /// )?;
    /// assert!(out.contains(&("x-amz-tag-len", "128".to_owned())));
    /// assert!(out.contains(&("x-amz-matdesc", r#"{"owner":"me"}"#.to_owned())));
    /// # Ok::<(), s3ec_core::Error>(())
    /// ```
    pub fn new_v2(
        wrap: WrapAlg,
        edk: &[u8],
        iv: &[u8; 12],
        matdesc: MatDesc<'a>,
    ) -> Result<Envelope<'a>, Error> {
        let suite = Suite::AesGcm;
        suite.check_encrypt()?;
        wrap.check_encrypt()?;
        if is_all_zero(iv) {
            return Err(InputError::ZeroIv.into());
        }
        check_kms_context(wrap, suite, &matdesc, MetaKey::MatDesc)?;
        let (edk, edk_len) = store_edk(edk)?;
        let mut bytes = [0u8; 16];
        bytes[..12].copy_from_slice(iv);
        Ok(Envelope {
            format: FormatVersion::V2,
            suite,
            wrap,
            edk,
            edk_len,
            nonce: Nonce::Iv { bytes, len: 12 },
            matdesc,
            cek_alg: suite.cek_alg(),
            tag_len_bits: Some(128),
            unencrypted_content_length: None,
            placement: Placement::ObjectMetadata,
        })
    }

    /// A V3 envelope for a new object encrypted with the key-committing
    /// suite 0x0073.
    ///
    /// `wrap` must be `kms+context` (`12`), `AES/GCM` (`02`) or
    /// `RSA-OAEP-SHA1` (`22`); legacy wraps are refused with
    /// [`Error::Unsupported`]. `message_id` must not be all zero.
    /// `matdesc_or_context` is the KMS encryption context for `12` (stored in
    /// `x-amz-t`; it must hold `aws:x-amz-cek-alg` = `115`) or the material
    /// description for `02`/`22` (stored in `x-amz-m`).
    ///
    /// ```
    /// use s3ec_core::envelope::{Envelope, Placement};
    /// use s3ec_core::json::SliceWriter;
    /// use s3ec_core::matdesc::MatDesc;
    /// use s3ec_core::{Arena, MetaKey, WrapAlg};
    ///
    /// let ec = MatDesc::parse(r#"{"aws:x-amz-cek-alg":"115","tenant":"acme"}"#)?;
    /// let env = Envelope::new_v3(WrapAlg::KmsContext, &[5u8; 184], &[1u8; 28], &[2u8; 28], ec)?;
    ///
    /// // Split storage: c/d/i on the object, the rest in `<key>.instruction`.
    /// let mut meta: Vec<(&'static str, String)> = Vec::new();
    /// env.write_object_metadata(Placement::InstructionFile, &mut |k: MetaKey, v: &str| {
    ///     meta.push((k.as_str(), v.to_owned()));
    ///     Ok(())
    /// })?;
    /// assert_eq!(meta.len(), 3);
    /// let mut buf = [0u8; 1024];
    /// let mut w = SliceWriter::new(&mut buf);
    /// env.write_instruction_file(&mut w)?;
    /// let file = w.into_str();
    ///
    /// let mut arena_buf = [0u8; 1024];
    /// let mut arena = Arena::new(&mut arena_buf);
    /// let back = Envelope::parse(
    ///     meta.iter().map(|(k, v)| (*k, v.as_str())),
    ///     Some(file),
    ///     &mut arena,
    /// )?;
    /// assert_eq!(back.encrypted_data_key(), env.encrypted_data_key());
    /// assert!(back.matdesc().eq_map(&env.matdesc()));
    /// # Ok::<(), s3ec_core::Error>(())
    /// ```
    pub fn new_v3(
        wrap: WrapAlg,
        edk: &[u8],
        message_id: &[u8; MESSAGE_ID_LEN],
        commitment: &[u8; COMMITMENT_LEN],
        matdesc_or_context: MatDesc<'a>,
    ) -> Result<Envelope<'a>, Error> {
        let suite = Suite::AesGcmCommitting;
        wrap.check_encrypt()?;
        if is_all_zero(message_id) {
            return Err(InputError::ZeroIv.into());
        }
        check_kms_context(
            wrap,
            suite,
            &matdesc_or_context,
            MetaKey::EncryptionContextV3,
        )?;
        let (edk, edk_len) = store_edk(edk)?;
        Ok(Envelope {
            format: FormatVersion::V3,
            suite,
            wrap,
            edk,
            edk_len,
            nonce: Nonce::Committing {
                message_id: *message_id,
                commitment: *commitment,
            },
            matdesc: matdesc_or_context,
            cek_alg: suite.cek_alg(),
            tag_len_bits: None,
            unencrypted_content_length: None,
            placement: Placement::ObjectMetadata,
        })
    }

    /// Record the plaintext length, written as
    /// `x-amz-unencrypted-content-length` (on the object, whatever the
    /// placement).
    #[must_use]
    pub fn with_unencrypted_content_length(mut self, len: u64) -> Envelope<'a> {
        self.unencrypted_content_length = Some(len);
        self
    }

    /// The metadata format version.
    pub fn format(&self) -> FormatVersion {
        self.format
    }

    /// The content algorithm suite. V1 objects are always
    /// [`Suite::AesCbc`]; V2 objects [`Suite::AesGcm`] or [`Suite::AesCbc`];
    /// V3 objects [`Suite::AesGcmCommitting`].
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The key-wrapping algorithm. For V1 objects, which store none, it is
    /// inferred from the encrypted data key's length as Java does:
    /// longer than 48 bytes is [`WrapAlg::RsaPkcs1`], otherwise
    /// [`WrapAlg::AesEcb`] (an AES-ECB-wrapped 256-bit key is 48 bytes).
    pub fn wrap(&self) -> WrapAlg {
        self.wrap
    }

    /// The encrypted data key (`x-amz-key`, `x-amz-key-v2` or `x-amz-3`),
    /// decoded.
    pub fn encrypted_data_key(&self) -> &[u8] {
        self.edk.get(..usize::from(self.edk_len)).unwrap_or(&[])
    }

    /// The stored content IV (`x-amz-iv`) of a V1/V2 object: 16 bytes for
    /// CBC, 12 for GCM, never all zero. `None` for V3, whose IV is the
    /// constant [`crate::suite::COMMITTING_IV`] (see [`Envelope::content_iv`]).
    pub fn iv(&self) -> Option<&[u8]> {
        match &self.nonce {
            Nonce::Iv { bytes, len } => bytes.get(..usize::from(*len)),
            Nonce::Committing { .. } => None,
        }
    }

    /// The IV the content cipher uses: the stored IV for V1/V2, the fixed
    /// twelve `0x01` bytes for V3.
    pub fn content_iv(&self) -> &[u8] {
        self.iv().unwrap_or(&crate::suite::COMMITTING_IV)
    }

    /// The V3 message id (`x-amz-i`, 28 bytes, never all zero).
    pub fn message_id(&self) -> Option<&[u8; MESSAGE_ID_LEN]> {
        match &self.nonce {
            Nonce::Committing { message_id, .. } => Some(message_id),
            Nonce::Iv { .. } => None,
        }
    }

    /// The V3 key commitment (`x-amz-d`, 28 bytes).
    pub fn key_commitment(&self) -> Option<&[u8; COMMITMENT_LEN]> {
        match &self.nonce {
            Nonce::Committing { commitment, .. } => Some(commitment),
            Nonce::Iv { .. } => None,
        }
    }

    /// The stored map: for KMS wraps (`kms+context`, `kms`) the KMS
    /// encryption context, otherwise the material description. V1/V2:
    /// `x-amz-matdesc`; V3: `x-amz-t` for `12`, `x-amz-m` for `02`/`22`.
    /// Absent, empty or `null` is [`MatDesc::EMPTY`].
    pub fn matdesc(&self) -> MatDesc<'a> {
        self.matdesc
    }

    /// The content-cipher string as stored, which key wraps bind against:
    /// V2 `x-amz-cek-alg` (`AES/GCM/NoPadding`, `AES/CBC/PKCS5Padding`,
    /// or the synonym `AES/CBC/PKCS7Padding`), V3 `x-amz-c` (`115`). V1
    /// objects store none (unless an optional CBC name was present); for them
    /// this is `AES/CBC/PKCS5Padding`.
    pub fn cek_alg(&self) -> &'a str {
        self.cek_alg
    }

    /// The GCM tag length in bits where the format stores one: `Some(128)`
    /// for V2 GCM objects (the only allowed value), `None` for CBC (where it
    /// is ignored) and for V3 (where the tag is always 128 bits and not
    /// stored).
    pub fn tag_len_bits(&self) -> Option<u16> {
        self.tag_len_bits
    }

    /// The plaintext length (`x-amz-unencrypted-content-length`), when
    /// stored. Informational: decryption never relies on it.
    pub fn unencrypted_content_length(&self) -> Option<u64> {
        self.unencrypted_content_length
    }

    /// Where the envelope was read from ([`Placement::ObjectMetadata`] for
    /// envelopes built with `new_v2` / `new_v3`).
    pub fn placement(&self) -> Placement {
        self.placement
    }
}

#[cfg(test)]
mod tests;

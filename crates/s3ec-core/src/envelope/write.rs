//! The write path: object metadata through a sink, instruction files through
//! `fmt::Write`.
//!
//! What is written (spec MS and CM; reference §13):
//!
//! * V2: `x-amz-key-v2`, `x-amz-iv`, `x-amz-matdesc` (always, `{}` when
//!   empty), `x-amz-wrap-alg`, `x-amz-cek-alg`, `x-amz-tag-len` (`128`, GCM
//!   only), and `x-amz-unencrypted-content-length` when known.
//! * V3: `x-amz-c` (`115`), `x-amz-3`, `x-amz-w`, `x-amz-t` (wrap `12`:
//!   always, the context holds `aws:x-amz-cek-alg`) or `x-amz-m` (wraps
//!   `02`/`22`: when not empty), `x-amz-d`, `x-amz-i`, and
//!   `x-amz-unencrypted-content-length` when known.
//! * Maps are written with [`MatDesc::write_canonical`]: compact, sorted,
//!   pure ASCII, so safe in an HTTP header and never re-encoded by S3.
//!   Base64 is padded.
//! * `x-amz-unencrypted-content-length` always goes on the object, whatever
//!   the placement (Ruby and Java 1.x do so; readers treat it as neutral).

use core::fmt::{self, Write as _};

use crate::b64;
use crate::error::{Error, Unsupported};
use crate::json::{self, CountingWriter, SliceWriter};
use crate::keys::MetaKey;
use crate::matdesc::MatDesc;
use crate::suite::{FormatVersion, WrapAlg};

use super::{Envelope, Nonce, Placement, MAX_EDK_LEN, MAX_METADATA_VALUE_LEN};

/// Receives the object's user-metadata entries on the write path.
///
/// Keys are given as [`MetaKey`]s; the entry's name is [`MetaKey::as_str`]
/// (without the `x-amz-meta-` prefix, which the S3 client adds). Any
/// `FnMut(MetaKey, &str) -> Result<(), Error>` closure is a sink.
pub trait MetadataSink {
    /// Store one entry. An error aborts the write and is returned as is.
    fn put(&mut self, key: MetaKey, value: &str) -> Result<(), Error>;
}

impl<F> MetadataSink for F
where
    F: FnMut(MetaKey, &str) -> Result<(), Error>,
{
    fn put(&mut self, key: MetaKey, value: &str) -> Result<(), Error> {
        self(key, value)
    }
}

/// Escapes text written through it for the inside of a JSON string literal
/// (the map of an instruction file is a JSON string containing JSON).
struct JsonEscaper<'w, W: fmt::Write>(&'w mut W);

impl<W: fmt::Write> fmt::Write for JsonEscaper<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            match c {
                '"' => self.0.write_str("\\\"")?,
                '\\' => self.0.write_str("\\\\")?,
                ' '..='~' => self.0.write_char(c)?,
                _ => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        write!(self.0, "\\u{:04x}", u)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Writes the entries of a flat JSON object.
struct ObjectWriter<'w, W: fmt::Write> {
    out: &'w mut W,
    first: bool,
}

impl<'w, W: fmt::Write> ObjectWriter<'w, W> {
    fn new(out: &'w mut W) -> Result<ObjectWriter<'w, W>, fmt::Error> {
        out.write_char('{')?;
        Ok(ObjectWriter { out, first: true })
    }

    fn key(&mut self, key: MetaKey) -> fmt::Result {
        if !self.first {
            self.out.write_char(',')?;
        }
        self.first = false;
        json::write_str(self.out, key.as_str())?;
        self.out.write_char(':')
    }

    fn entry(&mut self, key: MetaKey, value: &str) -> fmt::Result {
        self.key(key)?;
        json::write_str(self.out, value)
    }

    fn map(&mut self, key: MetaKey, map: &MatDesc<'_>) -> fmt::Result {
        self.key(key)?;
        self.out.write_char('"')?;
        map.write_canonical(&mut JsonEscaper(self.out))?;
        self.out.write_char('"')
    }

    fn finish(self) -> fmt::Result {
        self.out.write_char('}')
    }
}

impl<'a> Envelope<'a> {
    /// The V3 map key to write, if any: `x-amz-t` for `12` (always), `x-amz-m`
    /// for `02`/`22` when not empty (spec MS, V3 Instruction Files: x-amz-m
    /// and x-amz-t are stored "when present in the content metadata").
    fn v3_map_key(&self) -> Option<MetaKey> {
        if self.wrap == WrapAlg::KmsContext {
            Some(MetaKey::EncryptionContextV3)
        } else if self.matdesc.is_empty() {
            None
        } else {
            Some(MetaKey::MatDescV3)
        }
    }

    fn edk_key(&self) -> MetaKey {
        match self.format {
            FormatVersion::V1 => MetaKey::KeyV1,
            FormatVersion::V2 => MetaKey::KeyV2,
            FormatVersion::V3 => MetaKey::KeyV3,
        }
    }

    // spec: data-format/content-metadata.md#v3-only/5-7
    fn v3_code(&self) -> Result<&'static str, Error> {
        // Spec CM, x-amz-w: kms+context, AES/GCM and RSA-OAEP-SHA1 are
        // written as 12, 02 and 22.
        self.wrap
            .v3_code()
            .ok_or(Error::Unsupported(Unsupported::LegacyWrapEncrypt))
    }

    /// Emit the object's user metadata for `placement` into `sink`.
    ///
    /// * [`Placement::ObjectMetadata`]: the whole envelope (spec MS, Object
    ///   Metadata: the default).
    /// * [`Placement::InstructionFile`]: V3 writes only `x-amz-c`, `x-amz-d`
    ///   and `x-amz-i` here (spec MS, V3 Instruction Files: these three stay
    ///   in the object metadata); V1/V2 write no envelope key here (spec MS:
    ///   the whole V1/V2 envelope goes in the instruction file). Write the
    ///   file with
    ///   [`Envelope::write_instruction_file`].
    ///
    /// `x-amz-unencrypted-content-length` is written here whenever known.
    ///
    /// # Errors
    ///
    /// [`Error::LimitExceeded`] when one value (in practice the material
    /// description) is longer than [`MAX_METADATA_VALUE_LEN`]: S3's 2 KB
    /// user-metadata limit could not hold it; use an instruction file.
    /// Errors from `sink` are passed through.
    ///
    /// See [`Envelope::new_v2`] and [`Envelope::new_v3`] for examples.
    pub fn write_object_metadata<S: MetadataSink + ?Sized>(
        &self,
        placement: Placement,
        sink: &mut S,
    ) -> Result<(), Error> {
        let mut buf = [0u8; MAX_METADATA_VALUE_LEN];
        let whole = placement == Placement::ObjectMetadata;
        match (&self.nonce, self.format) {
            (
                Nonce::Committing {
                    message_id,
                    commitment,
                },
                FormatVersion::V3,
            ) => {
                // spec: data-format/content-metadata.md#content-metadata-mapkeys/13 data-format/metadata-strategy.md#v3-instruction-files/1
                sink.put(MetaKey::ContentCipherV3, self.cek_alg)?;
                if whole {
                    // spec: data-format/content-metadata.md#content-metadata-mapkeys/14-15 data-format/metadata-strategy.md#v3-instruction-files/7-10 (x-amz-3, x-amz-w, x-amz-m/t here only when the whole envelope is)
                    sink.put(MetaKey::KeyV3, self.edk_base64(&mut buf)?)?;
                    sink.put(MetaKey::WrapAlgV3, self.v3_code()?)?;
                    if let Some(k) = self.v3_map_key() {
                        sink.put(k, self.matdesc_json(&mut buf)?)?;
                    }
                }
                let mut b = [0u8; 40];
                // spec: data-format/content-metadata.md#content-metadata-mapkeys/16-17 data-format/metadata-strategy.md#v3-instruction-files/3 data-format/metadata-strategy.md#v3-instruction-files/5
                sink.put(MetaKey::KeyCommitmentV3, b64::encode(commitment, &mut b)?)?;
                sink.put(MetaKey::MessageIdV3, b64::encode(message_id, &mut b)?)?;
            }
            (Nonce::Iv { .. }, FormatVersion::V1 | FormatVersion::V2) => {
                if whole {
                    // spec: data-format/content-metadata.md#content-metadata-mapkeys/6-10
                    sink.put(self.edk_key(), self.edk_base64(&mut buf)?)?;
                    let mut b = [0u8; 24];
                    sink.put(MetaKey::Iv, b64::encode(self.content_iv(), &mut b)?)?;
                    sink.put(MetaKey::MatDesc, self.matdesc_json(&mut buf)?)?;
                    if self.writes_v1_cek_alg() {
                        sink.put(MetaKey::CekAlg, self.cek_alg)?;
                    }
                    if self.format == FormatVersion::V2 {
                        sink.put(MetaKey::WrapAlg, self.wrap.name())?;
                        sink.put(MetaKey::CekAlg, self.cek_alg)?;
                        if let Some(bits) = self.tag_len_bits {
                            let mut b = [0u8; 8];
                            // spec: data-format/content-metadata.md#content-metadata-mapkeys/11
                            sink.put(MetaKey::TagLen, decimal(u64::from(bits), &mut b)?)?;
                        }
                    }
                }
            }
            // Constructors and the parser never pair these differently.
            _ => return Err(Error::Unsupported(Unsupported::WrongSuite)),
        }
        if let Some(n) = self.unencrypted_content_length {
            let mut b = [0u8; 20];
            sink.put(MetaKey::UnencryptedContentLength, decimal(n, &mut b)?)?;
        }
        Ok(())
    }

    /// Write the instruction file's JSON body: a flat, pure-ASCII JSON
    /// object (spec MS, Instruction File: the envelope serialized as JSON is
    /// the file's only content).
    ///
    /// V3: `x-amz-3`, `x-amz-w`, and `x-amz-t` / `x-amz-m` as in object
    /// metadata (spec MS, V3 Instruction Files: these keys go in the file).
    /// V1/V2: every envelope key except
    /// `x-amz-unencrypted-content-length`, which goes on the object. The
    /// map is a JSON string holding canonical JSON.
    ///
    /// Store it as object `<key>` + [`super::INSTRUCTION_FILE_SUFFIX`], with
    /// the user-metadata marker [`super::INSTRUCTION_FILE_MARKER`] (empty
    /// value).
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] with the full length when `out` fails (a
    /// full [`SliceWriter`]); [`Envelope::instruction_file_len`] tells the
    /// size up front.
    ///
    /// ```
    /// use s3ec_core::envelope::Envelope;
    /// use s3ec_core::matdesc::MatDesc;
    /// use s3ec_core::WrapAlg;
    ///
    /// let md = MatDesc::parse(r#"{"who":"Zoë"}"#)?;
    /// let env = Envelope::new_v3(WrapAlg::AesGcm, &[3u8; 60], &[1u8; 28], &[2u8; 28], md)?;
    /// let mut file = String::new();
    /// env.write_instruction_file(&mut file)?;
    /// assert_eq!(file.len(), env.instruction_file_len());
    /// assert!(file.ends_with(r#""x-amz-w":"02","x-amz-m":"{\"who\":\"Zo\\u00eb\"}"}"#));
    /// # Ok::<(), s3ec_core::Error>(())
    /// ```
    // spec: data-format/metadata-strategy.md#instruction-file/2-3 (one flat JSON object, nothing else)
    pub fn write_instruction_file<W: fmt::Write + ?Sized>(&self, out: &mut W) -> Result<(), Error> {
        let mut out = Dyn(out);
        self.write_file_json(&mut out)
            .map_err(|_| Error::BufferTooSmall {
                needed: self.instruction_file_len(),
            })
    }

    /// Whether a V1 envelope writes `x-amz-cek-alg`: V1 writers store
    /// none (CBC is implied), but an object read with the optional synonym
    /// `AES/CBC/PKCS7Padding` keeps it when written again, so that the
    /// envelope reads back equal (fuzzing finding F2).
    fn writes_v1_cek_alg(&self) -> bool {
        self.format == FormatVersion::V1 && self.cek_alg != self.suite.cek_alg()
    }

    /// The exact length of the body [`Envelope::write_instruction_file`]
    /// writes.
    pub fn instruction_file_len(&self) -> usize {
        let mut c = CountingWriter::default();
        match self.write_file_json(&mut c) {
            Ok(()) => c.count(),
            Err(_) => usize::MAX,
        }
    }

    fn write_file_json<W: fmt::Write>(&self, out: &mut W) -> fmt::Result {
        let mut edk = [0u8; b64::encoded_len(MAX_EDK_LEN)];
        let edk = b64::encode(self.encrypted_data_key(), &mut edk).map_err(|_| fmt::Error)?;
        let mut o = ObjectWriter::new(out)?;
        match self.format {
            FormatVersion::V3 => {
                // spec: data-format/metadata-strategy.md#v3-instruction-files/2 data-format/metadata-strategy.md#v3-instruction-files/4 data-format/metadata-strategy.md#v3-instruction-files/6-10 (x-amz-3, x-amz-w and the map; never c/d/i)
                o.entry(MetaKey::KeyV3, edk)?;
                o.entry(MetaKey::WrapAlgV3, self.v3_code().map_err(|_| fmt::Error)?)?;
                if let Some(k) = self.v3_map_key() {
                    o.map(k, &self.matdesc)?;
                }
            }
            FormatVersion::V1 | FormatVersion::V2 => {
                o.entry(self.edk_key(), edk)?;
                let mut b = [0u8; 24];
                o.entry(
                    MetaKey::Iv,
                    b64::encode(self.content_iv(), &mut b).map_err(|_| fmt::Error)?,
                )?;
                // spec: data-format/metadata-strategy.md#v1v2-instruction-files/1
                o.map(MetaKey::MatDesc, &self.matdesc)?;
                if self.writes_v1_cek_alg() {
                    o.entry(MetaKey::CekAlg, self.cek_alg)?;
                }
                if self.format == FormatVersion::V2 {
                    o.entry(MetaKey::WrapAlg, self.wrap.name())?;
                    o.entry(MetaKey::CekAlg, self.cek_alg)?;
                    if let Some(bits) = self.tag_len_bits {
                        let mut b = [0u8; 8];
                        o.entry(
                            MetaKey::TagLen,
                            decimal(u64::from(bits), &mut b).map_err(|_| fmt::Error)?,
                        )?;
                    }
                }
            }
        }
        o.finish()
    }

    fn edk_base64<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, Error> {
        b64::encode(self.encrypted_data_key(), buf)
    }

    fn matdesc_json<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, Error> {
        let mut w = SliceWriter::new(buf);
        self.matdesc
            .write_canonical(&mut w)
            .map_err(|_| Error::LimitExceeded)?;
        Ok(w.into_str())
    }
}

/// Adapts `&mut W` for `W: ?Sized` to a sized `fmt::Write`.
struct Dyn<'w, W: fmt::Write + ?Sized>(&'w mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Dyn<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s)
    }
}

/// Format `n` in decimal into `buf`.
fn decimal(n: u64, buf: &mut [u8]) -> Result<&str, Error> {
    let mut w = SliceWriter::new(buf);
    write!(w, "{n}").map_err(|_| Error::BufferTooSmall { needed: 20 })?;
    Ok(w.into_str())
}

//! Streaming encryption and the envelope it writes.

use core::fmt;

use rand_core::TryCryptoRng;
use s3ec_core::cipher::{ContentEncryption, ContentParams, GcmEncryptor};
use s3ec_core::envelope::Envelope;
use s3ec_core::json::{self, CountingWriter, SliceWriter};
use s3ec_core::matdesc::MatDesc;
use s3ec_core::{wrap, DataKey, Error, MetaKey, Suite, WrapAlg};

pub use s3ec_core::envelope::Placement;

use crate::Status;

/// The longest encrypted data key an [`Encryptor`] holds: an RSA-4096
/// wrap (an `AES/GCM` wrap is 60 bytes).
pub const MAX_EDK_LEN: usize = 512;

/// The object format written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// V3: `ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY` (`x-amz-c` = `115`), key
    /// commitment; what AWS's current clients write and require by default.
    #[default]
    V3,
    /// V2: `AES/GCM/NoPadding`, no key commitment; for readers that do not
    /// know V3 yet (AWS's V2 clients, Ruby's `EncryptionV2`).
    V2,
}

impl Format {
    /// The algorithm suite of this format.
    pub fn suite(self) -> Suite {
        match self {
            Format::V3 => Suite::AesGcmCommitting,
            Format::V2 => Suite::AesGcm,
        }
    }
}

/// What [`Encryptor::write_envelope`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeOutput {
    /// The object's user metadata as a flat JSON object of strings, names
    /// without `x-amz-meta-` (`{"x-amz-c":"115",...}`): the
    /// `KEY.metadata.json` file of `s3ec-fs` and `s3ec encrypt`.
    MetadataJson,
    /// The object's user metadata as HTTP header lines,
    /// `x-amz-meta-NAME: VALUE\r\n` each (ASCII only), for a PUT.
    MetadataHeaders,
    /// The instruction file (`KEY.instruction`; write the metadata with
    /// [`Placement::InstructionFile`] too).
    InstructionFile,
}

/// One object's encryption: a fresh data key, wrapped; the streaming
/// AES-256-GCM over the caller's buffers; the envelope.
///
/// The envelope is fixed when the encryptor is made (it does not depend on
/// the body), so it can be written, and a presigned PUT asked for, before
/// the first byte is encrypted. The body uploaded is every buffer passed to
/// [`Encryptor::update`], in order, then the tag from
/// [`Encryptor::finish`].
pub struct Encryptor {
    enc: Option<GcmEncryptor>,
    wrap: WrapAlg,
    edk: [u8; MAX_EDK_LEN],
    edk_len: usize,
    params: ContentParams,
}

impl fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryptor")
            .field("suite", &self.params.suite())
            .field("wrap", &self.wrap)
            .field("finished", &self.enc.is_none())
            .finish_non_exhaustive()
    }
}

impl Encryptor {
    /// A new object under a provisioned AES key (`kek`: 16, 24 or 32
    /// bytes), wrapped with `AES/GCM` (the content cipher bound).
    pub fn new_aes<R: TryCryptoRng + ?Sized>(
        kek: &[u8],
        format: Format,
        rng: &mut R,
    ) -> Result<Encryptor, Status> {
        let suite = format.suite();
        let dk = DataKey::generate(rng)?;
        let edk = wrap::aes_gcm::wrap(kek, &dk, suite.cek_alg(), rng)?;
        Self::with_wrapped(suite, WrapAlg::AesGcm, &edk, &dk, rng)
    }

    /// A new object under an RSA public key (RSA-OAEP-SHA1, 2048 to 4096
    /// bits): only the private key's owner reads it.
    #[cfg(feature = "rsa")]
    pub fn new_rsa<R: TryCryptoRng + ?Sized>(
        key: &s3ec_rsa::RsaOaepWrapper,
        format: Format,
        rng: &mut R,
    ) -> Result<Encryptor, Status> {
        use s3ec_rsa::RsaError;
        let suite = format.suite();
        let dk = DataKey::generate(rng)?;
        let edk = key.wrap(&dk, suite, rng).map_err(|e| match e {
            RsaError::Core(e) => Status::from(e),
            RsaError::InvalidKey | RsaError::KeyTooSmall { .. } => Status::RsaKey,
            _ => Status::Rng,
        })?;
        Self::with_wrapped(suite, s3ec_rsa::RsaOaepWrapper::WRAP_ALG, &edk, &dk, rng)
    }

    fn with_wrapped<R: TryCryptoRng + ?Sized>(
        suite: Suite,
        wrap: WrapAlg,
        edk: &[u8],
        dk: &DataKey,
        rng: &mut R,
    ) -> Result<Encryptor, Status> {
        let mut stored = [0u8; MAX_EDK_LEN];
        stored
            .get_mut(..edk.len())
            .ok_or(Status::RsaKey)?
            .copy_from_slice(edk);
        let (enc, params) = ContentEncryption::new(suite, dk, rng)?.into_parts();
        Ok(Encryptor {
            enc: Some(enc),
            wrap,
            edk: stored,
            edk_len: edk.len(),
            params,
        })
    }

    /// Encrypt the next bytes of the body in place.
    ///
    /// # Errors
    ///
    /// [`Status::State`] after [`Encryptor::finish`]; [`Status::Limit`] past
    /// GCM's 2^36 - 32 bytes.
    pub fn update(&mut self, buf: &mut [u8]) -> Result<(), Status> {
        Ok(self.enc.as_mut().ok_or(Status::State)?.update(buf)?)
    }

    /// The bytes encrypted so far.
    pub fn processed(&self) -> u64 {
        self.enc.as_ref().map_or(0, GcmEncryptor::processed)
    }

    /// End the body: the 16-byte tag that follows it. The envelope can
    /// still be written afterwards.
    ///
    /// # Errors
    ///
    /// [`Status::State`] when already finished.
    pub fn finish(&mut self) -> Result<[u8; 16], Status> {
        Ok(self.enc.take().ok_or(Status::State)?.finish())
    }

    /// The envelope of this object with `matdesc` as its material
    /// description.
    fn envelope<'m>(&self, matdesc: MatDesc<'m>) -> Result<Envelope<'m>, Error> {
        let edk = &self.edk[..self.edk_len];
        match &self.params {
            ContentParams::Gcm { iv } => Envelope::new_v2(self.wrap, edk, iv, matdesc),
            ContentParams::Committing {
                message_id,
                commitment,
            } => Envelope::new_v3(self.wrap, edk, message_id, commitment, matdesc),
            _ => Err(Error::Unsupported(s3ec_core::Unsupported::WrongSuite)),
        }
    }

    /// Write the envelope (`what`) into `out`; returns the length written.
    ///
    /// * `matdesc_json`: the material description, a flat JSON object of
    ///   strings (`{}` or empty for none); stored as is, not bound to the
    ///   wrap. Give the same one to every call of one object.
    /// * `placement`: where the envelope goes; with
    ///   [`Placement::InstructionFile`] the metadata keeps only what must
    ///   stay on the object (V3: `x-amz-c`, `x-amz-d`, `x-amz-i`).
    /// * `content_length`: the plaintext length, stored as
    ///   `x-amz-unencrypted-content-length` when given.
    ///
    /// # Errors
    ///
    /// [`Status::BufferTooSmall`] ([`Encryptor::envelope_len`] says how
    /// much is needed); [`Status::Json`] for a malformed material
    /// description; [`Status::Format`] when it holds a reserved key.
    pub fn write_envelope(
        &self,
        what: EnvelopeOutput,
        matdesc_json: &[u8],
        placement: Placement,
        content_length: Option<u64>,
        out: &mut [u8],
    ) -> Result<usize, Status> {
        let needed = self.envelope_len(what, matdesc_json, placement, content_length)?;
        if out.len() < needed {
            return Err(Status::BufferTooSmall);
        }
        let mut w = SliceWriter::new(out);
        self.render(what, matdesc_json, placement, content_length, &mut w)?;
        Ok(w.len())
    }

    /// The exact length [`Encryptor::write_envelope`] writes.
    pub fn envelope_len(
        &self,
        what: EnvelopeOutput,
        matdesc_json: &[u8],
        placement: Placement,
        content_length: Option<u64>,
    ) -> Result<usize, Status> {
        let mut c = CountingWriter::default();
        self.render(what, matdesc_json, placement, content_length, &mut c)?;
        Ok(c.count())
    }

    fn render<W: fmt::Write>(
        &self,
        what: EnvelopeOutput,
        matdesc_json: &[u8],
        placement: Placement,
        content_length: Option<u64>,
        w: &mut W,
    ) -> Result<(), Status> {
        let text = core::str::from_utf8(matdesc_json).map_err(|_| Status::Json)?;
        let matdesc = MatDesc::parse_or_empty(text)?;
        let mut env = self.envelope(matdesc)?;
        if let Some(n) = content_length {
            env = env.with_unencrypted_content_length(n);
        }
        let full = Error::BufferTooSmall { needed: 0 };
        match what {
            EnvelopeOutput::InstructionFile => env
                .write_instruction_file(w)
                .map_err(|_| Status::BufferTooSmall),
            EnvelopeOutput::MetadataJson => {
                w.write_char('{').map_err(|_| full)?;
                let mut first = true;
                env.write_object_metadata(placement, &mut |k: MetaKey, v: &str| {
                    (|| {
                        if !first {
                            w.write_char(',')?;
                        }
                        first = false;
                        json::write_str(w, k.as_str())?;
                        w.write_char(':')?;
                        json::write_str(w, v)
                    })()
                    .map_err(|_| full)
                })?;
                w.write_char('}').map_err(|_| full)?;
                Ok(())
            }
            EnvelopeOutput::MetadataHeaders => {
                env.write_object_metadata(placement, &mut |k: MetaKey, v: &str| {
                    write!(w, "x-amz-meta-{}: {}\r\n", k.as_str(), v).map_err(|_| full)
                })?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn envelope_outputs_agree() {
        let mut rng = getrandom::SysRng;
        for format in [Format::V3, Format::V2] {
            let mut e = Encryptor::new_aes(&[1u8; 32], format, &mut rng).unwrap();
            let md = br#"{"device":"d-17"}"#;
            let mut json = [0u8; 1024];
            let n = e
                .write_envelope(
                    EnvelopeOutput::MetadataJson,
                    md,
                    Placement::ObjectMetadata,
                    Some(5),
                    &mut json,
                )
                .unwrap();
            let map: std::collections::BTreeMap<std::string::String, std::string::String> =
                serde_json::from_slice(&json[..n]).unwrap();
            let mut hdr = [0u8; 1024];
            let h = e
                .write_envelope(
                    EnvelopeOutput::MetadataHeaders,
                    md,
                    Placement::ObjectMetadata,
                    Some(5),
                    &mut hdr,
                )
                .unwrap();
            let hdr = core::str::from_utf8(&hdr[..h]).unwrap();
            assert_eq!(hdr.matches("\r\n").count(), map.len());
            for (k, v) in &map {
                assert!(
                    hdr.contains(&std::format!("x-amz-meta-{k}: {v}\r\n")),
                    "{k}"
                );
            }
            assert_eq!(map["x-amz-unencrypted-content-length"], "5");
            // Too small: refused, the length needed is known.
            let need = e
                .envelope_len(
                    EnvelopeOutput::MetadataJson,
                    md,
                    Placement::ObjectMetadata,
                    Some(5),
                )
                .unwrap();
            assert_eq!(need, n);
            assert_eq!(
                e.write_envelope(
                    EnvelopeOutput::MetadataJson,
                    md,
                    Placement::ObjectMetadata,
                    Some(5),
                    &mut json[..n - 1]
                ),
                Err(Status::BufferTooSmall)
            );
            // A bad material description.
            assert_eq!(
                e.envelope_len(
                    EnvelopeOutput::MetadataJson,
                    b"{\"a\":",
                    Placement::ObjectMetadata,
                    None
                ),
                Err(Status::Json)
            );
            e.update(&mut [0u8; 3]).unwrap();
            e.finish().unwrap();
            assert_eq!(e.update(&mut [0u8; 3]), Err(Status::State));
            assert_eq!(e.finish(), Err(Status::State));
        }
    }
}

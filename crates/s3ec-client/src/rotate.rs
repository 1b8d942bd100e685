//! Key rotation: rewrap an object's data key under a new master key
//! without touching its body. The transport-free steps that
//! [`Client::rotate_object`](crate::Client::rotate_object) and
//! [`AsyncClient::rotate_object`](crate::AsyncClient::rotate_object) drive.
//!
//! # What happens
//!
//! 1. HEAD the object (its metadata and entity tag); if the envelope is in
//!    an instruction file, GET `<key>.instruction`.
//! 2. Unless [`RotateOptions::allow_same_key`] is set, the **new** keyring
//!    must fail to unwrap the object's current data key: an object it
//!    already reads (rotated by an earlier run, or the new key is the old
//!    one) is refused with [`RotationError::SameKey`] before anything is
//!    written. So a client that reads with both keys (a
//!    [`Keyrings`](s3ec_keyring::Keyrings), the old one first) can rerun a
//!    rotation after a crash and skip what is done.
//! 3. The client's keyring (the **old** key) unwraps the data key; for V3
//!    the key commitment is checked against it, so a key that does not
//!    belong to the body is never rewrapped. The **new** keyring wraps the
//!    same data key
//!    ([`Keyring::wrap_data_key`](s3ec_keyring::Keyring::wrap_data_key)):
//!    AES to AES, RSA to RSA, KMS to KMS (KMS `Encrypt`, with the object's
//!    encryption context).
//! 4. The new envelope keeps the suite, IV / message id, key commitment and
//!    recorded plaintext length; only the wrap, the wrapped key and the
//!    material description (or encryption context) change. It is written
//!    in **one** atomic S3 write:
//!    * instruction file: one PUT of `<key>.instruction` (or, with a custom
//!      suffix, `<key>.<suffix>`, leaving the default file as it was, as
//!      Java's `reEncryptInstructionFile` does: a second envelope for a
//!      partner's key);
//!    * object metadata: one server-side CopyObject of the object onto
//!      itself that replaces the metadata (every other property carried
//!      over, see [`Transport::copy_object`](crate::transport::Transport::copy_object)),
//!      conditional on the entity tag read in step 1
//!      (`x-amz-copy-source-if-match`): a concurrent writer is never
//!      overwritten ([`ClientError::ObjectChanged`]). Above
//!      [`RotateOptions::max_single_copy`] (S3's limit is 5 GiB) the copy is
//!      a multipart upload of UploadPartCopy parts, each pinned to the same
//!      entity tag, aborted on any failure.
//!
//! # Every failure leaves the object readable
//!
//! Steps 1 to 3 only read. Step 4 is a single write that S3 applies whole
//! or not at all (a PUT, a CopyObject, a CompleteMultipartUpload), so after
//! any failure the object reads with the old key (nothing was written) or
//! the new one (the write happened and only its answer was lost; a retry of
//! the rotation then fails with [`RotationError::SameKey`] or finds the new
//! key: both keys should be kept until the rotation reports success).
//!
//! ```
//! use s3ec_client::{Client, ClientError, RotateOptions, RotationError};
//!
//! // `client` reads with the old and the new master key (a `Keyrings`, the
//! // old one first), so a rerun after a crash finds finished objects;
//! // `new_key` is the new one.
//! fn rotate(client: &Client, new_key: &s3ec_local::AesKeyring, keys: &[&str]) -> Result<(), ClientError> {
//!     for key in keys {
//!         match client.rotate_object("bucket", key, new_key, &RotateOptions::default()) {
//!             Ok(_) => {}
//!             // Already under the new key (an earlier run got this far).
//!             Err(ClientError::Rotation(RotationError::SameKey)) => {}
//!             Err(e) => return Err(e),
//!         }
//!     }
//!     Ok(())
//! }
//! # let dir = tempfile::tempdir()?;
//! # let s3 = s3ec_fs::FsStore::new(dir.path())?;
//! # let old_key = s3ec_local::AesKeyring::new(&[1u8; 32])?;
//! # let new_key = s3ec_local::AesKeyring::new(&[2u8; 32])?;
//! # let both = s3ec_client::Keyrings::new().with(old_key).with(new_key.clone());
//! # let client = Client::builder(s3.clone(), both).build()?;
//! # client.put_object("bucket", "a", &b"one"[..], None, &Default::default())?;
//! # client.put_object("bucket", "b", &b"two"[..], None, &Default::default())?;
//! # rotate(&client, &new_key, &["a", "b"])?;
//! # rotate(&client, &new_key, &["a", "b"])?; // a second run finds them done
//! # let reader = Client::builder(s3, new_key).build()?;
//! # assert_eq!(reader.get_object_to_vec("bucket", "b", None)?.0, b"two");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Limits: the instruction-file PUT is not yet conditional (a writer that
//! replaces the object and its instruction file between steps 1 and 4
//! would have its instruction file replaced); the multipart copy path
//! carries user metadata but not yet Content-Type and the other system
//! headers (CreateMultipartUpload takes only metadata here).

use std::fmt;

use s3ec_core::cipher::content::ContentKey;
use s3ec_core::envelope::{Envelope, MetadataSink, Placement, INSTRUCTION_FILE_SUFFIX};
use s3ec_core::matdesc::{write_pairs_canonical, MatDesc};
use s3ec_core::{Arena, FormatVersion, MetaKey, Suite, WrapAlg};
use s3ec_keyring::{
    Context, DataKey, DecryptRequest, EncryptRequest, EncryptedDataKey, LegacyOptions, KMS_CMK_ID,
    RESERVED_CEK_ALG,
};

use crate::codec::{DecryptPolicy, EnvelopeLocation};
use crate::error::ClientError;
use crate::transport::{ByteRange, Metadata, ObjectHead};

/// S3's largest CopyObject source (5 GiB).
pub const MAX_SINGLE_COPY: u64 = 5 << 30;
/// The part size of a multipart copy (512 MiB: 5 TiB in under 10,000 parts).
pub const COPY_PART_SIZE: u64 = 512 << 20;

/// Per-rotation settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RotateOptions {
    /// Write the new envelope to `<key>.<suffix>` instead of replacing
    /// `<key>.instruction` (instruction-file objects only; the default file
    /// stays as it was). Given without the dot, as Java's
    /// `instructionFileSuffix`.
    pub instruction_file_suffix: Option<String>,
    /// Rewrap even if the old keyring can unwrap the new wrapped key (the
    /// same master key, e.g. to move a V2 wrap to a new material
    /// description). Off: such a rotation is refused.
    pub allow_same_key: bool,
    /// The encryption context the object must carry (KMS), checked by the
    /// old keyring as on a get.
    pub expected_context: Option<Context>,
    /// Objects larger than this are copied with UploadPartCopy.
    pub max_single_copy: u64,
    /// The part size of a multipart copy.
    pub copy_part_size: u64,
}

impl Default for RotateOptions {
    fn default() -> Self {
        RotateOptions {
            instruction_file_suffix: None,
            allow_same_key: false,
            expected_context: None,
            max_single_copy: MAX_SINGLE_COPY,
            copy_part_size: COPY_PART_SIZE,
        }
    }
}

impl RotateOptions {
    /// Write to `<key>.<suffix>` (see the field).
    pub fn instruction_file_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.instruction_file_suffix = Some(suffix.into());
        self
    }

    /// Allow rotating to a key the old keyring can unwrap.
    pub fn allow_same_key(mut self, allow: bool) -> Self {
        self.allow_same_key = allow;
        self
    }

    /// The encryption context the object must carry.
    pub fn expected_context(mut self, context: Context) -> Self {
        self.expected_context = Some(context);
        self
    }

    /// Copy objects above `limit` bytes in parts of `part_size`.
    pub fn multipart_copy(mut self, limit: u64, part_size: u64) -> Self {
        self.max_single_copy = limit;
        self.copy_part_size = part_size;
        self
    }
}

/// Why a rotation was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationError {
    /// The new keyring already unwraps the object's data key: the object is
    /// under the new key already (an earlier run rotated it), or the new key
    /// is the old one. Nothing was written.
    SameKey,
    /// The object's format cannot be rewrapped (legacy V1 / AES-CBC
    /// objects: re-encrypt them with a get and a put).
    UnsupportedSuite {
        /// The object's suite.
        suite: Suite,
    },
    /// A custom instruction-file suffix was given for an object whose
    /// envelope is in its metadata (readers would never look at the file).
    SuffixNeedsInstructionFile,
    /// An empty custom suffix.
    EmptySuffix,
}

impl fmt::Display for RotationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RotationError::SameKey => f.write_str(
                "the new keyring already unwraps this object's data key: it is under the new key \
                 already, or the new key is the old one (set allow_same_key to rewrap anyway); \
                 nothing was written",
            ),
            RotationError::UnsupportedSuite { suite } => write!(
                f,
                "objects of suite {suite:?} cannot be rewrapped in place; re-encrypt them"
            ),
            RotationError::SuffixNeedsInstructionFile => f.write_str(
                "a custom instruction-file suffix applies only to objects whose envelope is in an \
                 instruction file; this one is in the object metadata",
            ),
            RotationError::EmptySuffix => f.write_str("the instruction-file suffix is empty"),
        }
    }
}

impl std::error::Error for RotationError {}

impl From<RotationError> for ClientError {
    fn from(e: RotationError) -> Self {
        ClientError::Rotation(e)
    }
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotateOutput {
    /// Where the envelope is.
    pub placement: Placement,
    /// The key written: the instruction file, or the object itself.
    pub written_key: String,
    /// The entity tag of what was written, when S3 returned one.
    pub etag: Option<String>,
    /// The object's format (unchanged).
    pub format: FormatVersion,
    /// The new wrapping algorithm.
    pub wrap: WrapAlg,
    /// Whether the metadata was rewritten with a multipart copy.
    pub multipart_copy: bool,
}

/// Where the envelope of the object read is, and what to fetch.
pub(crate) fn instruction_file_needed(head: &ObjectHead) -> Result<bool, ClientError> {
    Ok(matches!(
        crate::codec::needs_instruction_file(&head.metadata)?,
        EnvelopeLocation::InstructionFile { .. }
    ))
}

/// The default instruction file of `key` (the one rotation reads).
pub(crate) fn source_instruction_file(key: &str) -> String {
    crate::get::instruction_file_key(key, INSTRUCTION_FILE_SUFFIX)
}

/// An object's envelope, parsed and checked, waiting for its data key.
#[derive(Debug)]
pub(crate) struct Rotation {
    head: ObjectHead,
    format: FormatVersion,
    suite: Suite,
    wrap: WrapAlg,
    cek_alg: String,
    edk: Vec<u8>,
    stored: Context,
    iv: Vec<u8>,
    message_id: Option<[u8; s3ec_core::suite::MESSAGE_ID_LEN]>,
    commitment: Option<[u8; s3ec_core::suite::COMMITMENT_LEN]>,
    unencrypted_len: Option<u64>,
    placement: Placement,
    legacy: LegacyOptions,
}

fn context_of(m: &MatDesc<'_>) -> Context {
    m.iter()
        .map(|(k, v)| (k.chars().collect(), v.chars().collect()))
        .collect()
}

impl Rotation {
    /// Parse the envelope (metadata of `head`, and the instruction file if
    /// it is in one) and check it against `policy`.
    pub(crate) fn new(
        head: ObjectHead,
        instruction_file: Option<String>,
        policy: &DecryptPolicy,
        opts: &RotateOptions,
    ) -> Result<Rotation, ClientError> {
        if opts.instruction_file_suffix.as_deref() == Some("") {
            return Err(RotationError::EmptySuffix.into());
        }
        let total: usize = head
            .metadata
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
            + instruction_file.as_deref().map_or(0, str::len);
        let mut buf = vec![0u8; total + 64];
        let mut arena = Arena::new(&mut buf);
        let pairs = head.metadata.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let env = Envelope::parse(pairs, instruction_file.as_deref(), &mut arena)?;
        let suite = env.suite();
        if !matches!(suite, Suite::AesGcm | Suite::AesGcmCommitting) {
            return Err(RotationError::UnsupportedSuite { suite }.into());
        }
        if !policy.commitment.allows_decrypt(suite) {
            return Err(ClientError::CommitmentPolicy {
                suite,
                policy: policy.commitment,
            });
        }
        let placement = env.placement();
        if placement == Placement::ObjectMetadata && opts.instruction_file_suffix.is_some() {
            return Err(RotationError::SuffixNeedsInstructionFile.into());
        }
        Ok(Rotation {
            format: env.format(),
            suite,
            wrap: env.wrap(),
            cek_alg: env.cek_alg().to_string(),
            edk: env.encrypted_data_key().to_vec(),
            stored: context_of(&env.matdesc()),
            iv: env.content_iv().to_vec(),
            message_id: env.message_id().copied(),
            commitment: env.key_commitment().copied(),
            unencrypted_len: env.unencrypted_content_length(),
            placement,
            legacy: policy.legacy,
            head,
        })
    }

    /// What to ask the old keyring.
    pub(crate) fn unwrap_request<'a>(&'a self, opts: &'a RotateOptions) -> DecryptRequest<'a> {
        DecryptRequest {
            suite: self.suite,
            wrap: self.wrap,
            encrypted_key: &self.edk,
            cek_alg: &self.cek_alg,
            stored_map: &self.stored,
            expected_context: opts.expected_context.as_ref(),
            legacy: self.legacy,
        }
    }

    /// Check the data key the old keyring answered against the envelope
    /// (V3: the key commitment).
    pub(crate) fn check_data_key(&self, data_key: Option<DataKey>) -> Result<DataKey, ClientError> {
        let data_key = data_key.ok_or(ClientError::Keyring(
            s3ec_keyring::KeyringError::NoMatchingKeyring {
                wrap: self.wrap,
                material_description: self.stored.clone(),
            },
        ))?;
        ContentKey::for_decrypt(
            self.suite,
            &data_key,
            &self.iv,
            self.message_id.as_ref(),
            self.commitment.as_ref(),
        )
        .map_err(ClientError::from_content)?;
        Ok(data_key)
    }

    /// The encryption context to wrap with: a KMS object's context without
    /// the client's reserved keys; none for raw-key wraps (raw keyrings
    /// store their own material description).
    pub(crate) fn new_context(&self) -> Context {
        if self.wrap.is_kms() {
            self.stored
                .iter()
                .filter(|(k, _)| k.as_str() != RESERVED_CEK_ALG && k.as_str() != KMS_CMK_ID)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        } else {
            Context::new()
        }
    }

    /// What to ask the new keyring.
    pub(crate) fn wrap_request<'a>(&self, context: &'a Context) -> EncryptRequest<'a> {
        EncryptRequest {
            suite: self.suite,
            context,
        }
    }

    /// The outcome of the same-key check: refused unless allowed.
    pub(crate) fn check_not_same(
        &self,
        new_unwraps_current: bool,
        opts: &RotateOptions,
    ) -> Result<(), RotationError> {
        if new_unwraps_current && !opts.allow_same_key {
            Err(RotationError::SameKey)
        } else {
            Ok(())
        }
    }

    /// The new envelope, written for this object's placement.
    pub(crate) fn rewrapped(
        &self,
        key: &str,
        new: &EncryptedDataKey,
        opts: &RotateOptions,
    ) -> Result<RotationWrite, ClientError> {
        let mut json = String::new();
        write_pairs_canonical(
            new.stored_map.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &mut json,
        )
        .map_err(|_| ClientError::Format(s3ec_core::Error::LimitExceeded))?;
        let matdesc = MatDesc::parse(&json)?;
        let mut env = match (self.message_id, self.commitment) {
            (Some(mid), Some(c)) => Envelope::new_v3(new.wrap, &new.ciphertext, &mid, &c, matdesc)?,
            _ => {
                let iv: [u8; 12] = self.iv.as_slice().try_into().map_err(|_| {
                    s3ec_core::Error::from(s3ec_core::InputError::IvLength {
                        actual: self.iv.len(),
                    })
                })?;
                Envelope::new_v2(new.wrap, &new.ciphertext, &iv, matdesc)?
            }
        };
        if let Some(n) = self.unencrypted_len {
            env = env.with_unencrypted_content_length(n);
        }
        match self.placement {
            Placement::InstructionFile => {
                let mut body = String::with_capacity(env.instruction_file_len());
                env.write_instruction_file(&mut body)?;
                let target = match &opts.instruction_file_suffix {
                    Some(s) => format!("{key}.{s}"),
                    None => source_instruction_file(key),
                };
                Ok(RotationWrite::InstructionFile {
                    key: target,
                    body,
                    metadata: crate::put::instruction_file_metadata(),
                })
            }
            _ => {
                // Every user metadata entry but the envelope's, then the
                // new envelope.
                let mut metadata: Metadata = self
                    .head
                    .metadata
                    .iter()
                    .filter(|(k, _)| MetaKey::parse(k).is_none())
                    .cloned()
                    .collect();
                let mut sink = |k: MetaKey, v: &str| -> Result<(), s3ec_core::Error> {
                    metadata.push((k.as_str().to_string(), v.to_string()));
                    Ok(())
                };
                env.write_object_metadata(
                    Placement::ObjectMetadata,
                    &mut sink as &mut dyn MetadataSink,
                )?;
                let len = self.head.content_length;
                let parts = if len > opts.max_single_copy {
                    Some(copy_ranges(len, opts.copy_part_size.max(1)))
                } else {
                    None
                };
                Ok(RotationWrite::Metadata {
                    metadata,
                    etag: self.head.etag.clone(),
                    parts,
                })
            }
        }
    }

    /// What the rotation reports once `write` succeeded.
    pub(crate) fn output(
        &self,
        written_key: String,
        etag: Option<String>,
        wrap: WrapAlg,
        multipart_copy: bool,
    ) -> RotateOutput {
        RotateOutput {
            placement: self.placement,
            written_key,
            etag,
            format: self.format,
            wrap,
            multipart_copy,
        }
    }
}

/// The one write of a rotation.
#[derive(Debug)]
pub(crate) enum RotationWrite {
    /// PUT this instruction file.
    InstructionFile {
        key: String,
        body: String,
        metadata: Metadata,
    },
    /// Copy the object onto itself with this metadata, pinned to `etag`;
    /// in these byte ranges when `parts` is set.
    Metadata {
        metadata: Metadata,
        etag: Option<String>,
        parts: Option<Vec<ByteRange>>,
    },
}

/// The source ranges of a multipart copy of `len` bytes.
fn copy_ranges(len: u64, part: u64) -> Vec<ByteRange> {
    let mut out = Vec::new();
    let mut first = 0;
    while first < len {
        let last = (first + part).min(len) - 1;
        out.push(ByteRange {
            first,
            last: Some(last),
        });
        first = last + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ranges_cover_the_object() {
        let r = copy_ranges(11, 5);
        assert_eq!(
            r.iter().map(|r| (r.first, r.last)).collect::<Vec<_>>(),
            vec![(0, Some(4)), (5, Some(9)), (10, Some(10))]
        );
        assert_eq!(copy_ranges(10, 5).len(), 2);
    }
}

//! Low-level, resumable multipart uploads: the transport-free steps that
//! [`Client`](crate::Client) and [`AsyncClient`](crate::AsyncClient) drive
//! (`create_multipart_upload`, `upload_part`, `complete_multipart_upload`,
//! `abort_multipart_upload`, `resume_multipart_upload`).
//!
//! # The rules
//!
//! The body of an encrypted object is one AES-GCM stream: part N is the
//! ciphertext of plaintext bytes that follow part N-1's, and the 16-byte tag
//! goes at the end of the last part (spec `client.md` §Optional API
//! Operations: each part MUST be encrypted in sequence). So parts are
//! uploaded in order, 1, 2, 3, ..., the last one is declared as such, and
//! every part but the last is at least 5 MiB (S3's minimum). A part out of
//! order, after the last, or too small is refused with a
//! [`MultipartError`] before anything is encrypted or sent.
//!
//! # Saving and resuming
//!
//! [`MultipartUpload::save`] serializes the upload (JSON) after any part:
//! the bucket, key and upload id, the envelope (the *wrapped* data key, as
//! stored on the object), the parts done with their ETags, and the cipher
//! position as a sealed checkpoint
//! ([`s3ec_core::cipher::ResumableEncryptor`]): AES-GCM under a key derived
//! from the content key, bound to the upload id, the next part number and
//! the plaintext length so far. The saved state holds **no plaintext key
//! material**; it may be stored where the object's metadata could be.
//! Resuming (`resume_multipart_upload`) unwraps the data key with the
//! client's keyring, opens the checkpoint (a state edited to skip or repeat
//! a part does not open) and continues with the next part; finished parts
//! are not sent again.
//!
//! A part whose upload failed (or whose answer was lost in a crash) can be
//! sent again: the state only moves on when the part's ETag is recorded.
//! **It must be sent with the same plaintext**: the same position gives the
//! same keystream, so two different plaintexts uploaded at one position
//! would leak their XOR to whoever sees both ciphertexts.
//!
//! The envelope goes on CreateMultipartUpload (object metadata), or, with
//! instruction-file storage, into `<key>.instruction` after completion (as
//! [`crate::put`] does, for the same reasons).
//!
//! ```
//! use s3ec_client::{Client, PutOptions};
//!
//! // `client` is any `Client`, e.g. over `s3ec_reqwest::ReqwestTransport`.
//! fn upload(client: &Client, state: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
//!     let mut up = client.create_multipart_upload("bucket", "big.bin", &PutOptions::default())?;
//!     client.upload_part(&mut up, 1, vec![0u8; 5 << 20], false)?;
//!     std::fs::write(state, up.save())?; // after every part
//!
//!     // The process dies here. Later, maybe in another process:
//!     let mut up = client.resume_multipart_upload(&std::fs::read(state)?)?;
//!     let next = up.next_part_number(); // 2: part 1 is not sent again
//!     client.upload_part(&mut up, next, b"the end".to_vec(), true)?;
//!     client.complete_multipart_upload(&up)?;
//!     Ok(())
//! }
//! # let dir = tempfile::tempdir()?;
//! # let s3 = s3ec_fs::FsStore::new(dir.path().join("s3"))?;
//! # let client = Client::builder(s3, s3ec_local::AesKeyring::new(&[1u8; 32])?).build()?;
//! # upload(&client, &dir.path().join("upload.state"))?;
//! # let got = client.get_object_to_vec("bucket", "big.bin", None)?.0;
//! # assert_eq!(got.len(), (5 << 20) + 7);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use base64ct::{Base64, Encoding};
use s3ec_core::cipher::content::ContentKey;
use s3ec_core::cipher::resume::{SealedCheckpoint, SEALED_CHECKPOINT_LEN};
use s3ec_core::envelope::Placement;
use s3ec_core::FormatVersion;
use s3ec_keyring::EncryptionMaterials;
use serde::{Deserialize, Serialize};

use crate::codec::{self, DecryptPolicy, PendingOpen};
use crate::config::{MAX_PARTS, MIN_PART_SIZE};
use crate::error::ClientError;
use crate::transport::{
    Checksum, ChecksumAlgorithm, CompletedPart, Metadata, PutFields, ServerSideEncryption,
};
use crate::Backend;

/// Version of the saved state layout.
const STATE_VERSION: u32 = 1;

/// Misuse of a low-level multipart upload, or a saved state that cannot
/// continue it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartError {
    /// Parts go in order: `expected` is the next one.
    PartOutOfOrder {
        /// The part number that must come next.
        expected: u32,
        /// The part number given.
        got: u32,
    },
    /// The last part was already uploaded (it carries the tag).
    AfterLastPart {
        /// The number of the last part.
        last: u32,
    },
    /// A part other than the last is smaller than S3's 5 MiB minimum.
    PartTooSmall {
        /// The part number.
        part_number: u32,
        /// Its plaintext length.
        len: u64,
        /// The minimum.
        min: u64,
    },
    /// S3 allows 10,000 parts; part 10,000 must be the last.
    TooManyParts {
        /// The part number given.
        part_number: u32,
    },
    /// Completion before the last part was uploaded.
    NotFinished {
        /// The next part number.
        next: u32,
    },
    /// The saved state cannot be read: malformed, another version, or its
    /// checkpoint does not open (edited, or saved under another key).
    InvalidState {
        /// What is wrong.
        reason: &'static str,
    },
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultipartError::PartOutOfOrder { expected, got } => write!(
                f,
                "part {got} is out of order: parts of an encrypted upload go in sequence, the next is part {expected}"
            ),
            MultipartError::AfterLastPart { last } => write!(
                f,
                "the last part ({last}) was already uploaded; complete or abort the upload"
            ),
            MultipartError::PartTooSmall {
                part_number,
                len,
                min,
            } => write!(
                f,
                "part {part_number} has {len} bytes; every part but the last needs at least {min}"
            ),
            MultipartError::TooManyParts { part_number } => write!(
                f,
                "part {part_number}: S3 allows {MAX_PARTS} parts, and part {MAX_PARTS} must be the last"
            ),
            MultipartError::NotFinished { next } => write!(
                f,
                "the upload is not finished: part {next} (or an earlier one marked last) is still to come"
            ),
            MultipartError::InvalidState { reason } => {
                write!(f, "the saved multipart upload state is invalid: {reason}")
            }
        }
    }
}

impl std::error::Error for MultipartError {}

impl From<MultipartError> for ClientError {
    fn from(e: MultipartError) -> Self {
        ClientError::Multipart(e)
    }
}

/// An encrypted multipart upload in progress: what it needs to continue
/// (in memory: the content key; saved: see [`save`](Self::save)).
pub struct MultipartUpload {
    bucket: String,
    key: String,
    upload_id: String,
    object_metadata: Metadata,
    instruction_file: Option<String>,
    parts: Vec<CompletedPart>,
    plaintext_len: u64,
    last_part_sent: bool,
    checkpoint: SealedCheckpoint,
    content_key: ContentKey,
    /// The fields parts and completion carry (checksum algorithm,
    /// conditions, expected owner, request payer): see [`upload_fields`].
    fields: PutFields,
}

/// The part of a put's fields that the parts and the completion of a
/// multipart upload carry; the rest go on CreateMultipartUpload only.
pub(crate) fn upload_fields(fields: &PutFields) -> PutFields {
    PutFields {
        checksum_algorithm: fields.checksum_algorithm,
        if_none_match: fields.if_none_match.clone(),
        if_match: fields.if_match.clone(),
        expected_bucket_owner: fields.expected_bucket_owner.clone(),
        request_payer: fields.request_payer,
        // For the instruction file written after completion.
        server_side_encryption: fields.server_side_encryption.clone(),
        ..PutFields::default()
    }
}

impl fmt::Debug for MultipartUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultipartUpload")
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field("upload_id", &self.upload_id)
            .field("parts", &self.parts.len())
            .field("plaintext_len", &self.plaintext_len)
            .field("last_part_sent", &self.last_part_sent)
            .finish_non_exhaustive()
    }
}

/// What a completed upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompletedUpload {
    /// The object's entity tag, when S3 returned one.
    pub etag: Option<String>,
    /// The metadata format written.
    pub format: FormatVersion,
    /// Where the envelope went.
    pub placement: Placement,
    /// Plaintext bytes encrypted.
    pub plaintext_len: u64,
    /// Number of parts.
    pub parts: u32,
}

/// The serialized form of a [`MultipartUpload`].
#[derive(Serialize, Deserialize)]
struct Saved {
    version: u32,
    bucket: String,
    key: String,
    upload_id: String,
    metadata: Vec<(String, String)>,
    instruction_file: Option<String>,
    parts: Vec<SavedPart>,
    plaintext_len: u64,
    last_part_sent: bool,
    checkpoint: String,
    /// Absent in states saved before fields were carried: none.
    #[serde(default)]
    fields: SavedFields,
}

#[derive(Serialize, Deserialize)]
struct SavedPart {
    part_number: u32,
    etag: String,
    /// The part's checksum (base64), when the upload has an algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checksum: Option<String>,
}

/// The saved form of [`upload_fields`].
#[derive(Serialize, Deserialize, Default)]
struct SavedFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checksum_algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    if_none_match: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    if_match: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected_bucket_owner: Option<String>,
    #[serde(default)]
    request_payer: bool,
    /// `AES256` or `aws:kms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sse: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sse_kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sse_bucket_key: Option<bool>,
}

impl SavedFields {
    fn of(f: &PutFields) -> SavedFields {
        SavedFields {
            checksum_algorithm: f.checksum_algorithm.map(|a| a.as_str().to_string()),
            if_none_match: f.if_none_match.clone(),
            if_match: f.if_match.clone(),
            expected_bucket_owner: f.expected_bucket_owner.clone(),
            request_payer: f.request_payer,
            sse: f
                .server_side_encryption
                .as_ref()
                .map(|s| s.as_header().to_string()),
            sse_kms_key_id: match &f.server_side_encryption {
                Some(ServerSideEncryption::Kms { key_id, .. }) => key_id.clone(),
                _ => None,
            },
            sse_bucket_key: match &f.server_side_encryption {
                Some(ServerSideEncryption::Kms { bucket_key, .. }) => *bucket_key,
                _ => None,
            },
        }
    }

    fn fields(&self) -> Result<PutFields, &'static str> {
        let checksum_algorithm = match self.checksum_algorithm.as_deref() {
            None => None,
            Some("CRC32") => Some(ChecksumAlgorithm::Crc32),
            Some("CRC32C") => Some(ChecksumAlgorithm::Crc32c),
            Some("SHA256") => Some(ChecksumAlgorithm::Sha256),
            Some(_) => return Err("unknown checksum algorithm"),
        };
        let server_side_encryption = match self.sse.as_deref() {
            None => None,
            Some("AES256") => Some(ServerSideEncryption::S3),
            Some("aws:kms") => Some(ServerSideEncryption::Kms {
                key_id: self.sse_kms_key_id.clone(),
                bucket_key: self.sse_bucket_key,
            }),
            Some(_) => return Err("unknown server-side encryption"),
        };
        Ok(PutFields {
            checksum_algorithm,
            server_side_encryption,
            if_none_match: self.if_none_match.clone(),
            if_match: self.if_match.clone(),
            expected_bucket_owner: self.expected_bucket_owner.clone(),
            request_payer: self.request_payer,
            ..PutFields::default()
        })
    }
}

/// The envelope of a new upload and its content key: the transport-free
/// half of `create_multipart_upload`, between the keyring and
/// CreateMultipartUpload.
pub(crate) struct NewUpload {
    /// The object metadata to create the upload with.
    pub(crate) object_metadata: Metadata,
    instruction_file: Option<String>,
    content_key: ContentKey,
}

impl NewUpload {
    // spec: client.md#optional-api-operations/1 (the envelope that CreateMultipartUpload carries)
    /// Write the envelope for fresh `materials` and build the content key.
    pub(crate) fn new(
        materials: EncryptionMaterials,
        policy: &DecryptPolicy,
        placement: Placement,
    ) -> Result<NewUpload, ClientError> {
        let suite = policy.commitment.encrypt_suite();
        // The envelope only; its one-shot encryptor is not used.
        let sealed = codec::seal_with_materials(&materials, suite, placement, None)?;
        let opened = PendingOpen::new(
            &sealed.object_metadata,
            sealed.instruction_file.as_deref(),
            policy,
        )?
        .finish(Some(materials.data_key))?;
        Ok(NewUpload {
            object_metadata: sealed.object_metadata,
            instruction_file: sealed.instruction_file,
            content_key: opened.key,
        })
    }

    /// The upload, once S3 gave it an id.
    pub(crate) fn started(
        self,
        bucket: &str,
        key: &str,
        upload_id: String,
        fields: &PutFields,
    ) -> Result<MultipartUpload, ClientError> {
        let aad = checkpoint_aad(bucket, key, &upload_id, 1, 0);
        let checkpoint = self
            .content_key
            .resumable_encryptor::<Backend>()?
            .checkpoint(&mut getrandom::SysRng, &aad)?;
        Ok(MultipartUpload {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id,
            object_metadata: self.object_metadata,
            instruction_file: self.instruction_file,
            parts: Vec::new(),
            plaintext_len: 0,
            last_part_sent: false,
            checkpoint,
            content_key: self.content_key,
            fields: upload_fields(fields),
        })
    }
}

/// What binds a checkpoint to its upload and position.
fn checkpoint_aad(
    bucket: &str,
    key: &str,
    upload_id: &str,
    next_part: u32,
    plaintext_len: u64,
) -> Vec<u8> {
    let mut aad = b"s3ec multipart v1".to_vec();
    for field in [bucket, key, upload_id] {
        aad.extend_from_slice(&(field.len() as u64).to_be_bytes());
        aad.extend_from_slice(field.as_bytes());
    }
    aad.extend_from_slice(&next_part.to_be_bytes());
    aad.extend_from_slice(&plaintext_len.to_be_bytes());
    aad
}

/// A saved upload read back, waiting for its data key: the first half of
/// `resume_multipart_upload`.
pub(crate) struct Restoring {
    saved: Saved,
    checkpoint: SealedCheckpoint,
}

impl Restoring {
    /// Parse a state made by [`MultipartUpload::save`].
    pub(crate) fn parse(state: &[u8]) -> Result<Restoring, ClientError> {
        let invalid = |reason| ClientError::Multipart(MultipartError::InvalidState { reason });
        let saved: Saved =
            serde_json::from_slice(state).map_err(|_| invalid("not a saved upload (JSON)"))?;
        if saved.version != STATE_VERSION {
            return Err(invalid("unknown version"));
        }
        let bytes =
            Base64::decode_vec(&saved.checkpoint).map_err(|_| invalid("checkpoint not base64"))?;
        let checkpoint: SealedCheckpoint = bytes
            .try_into()
            .map_err(|_| invalid("checkpoint has the wrong length"))?;
        let numbers_follow = saved
            .parts
            .iter()
            .enumerate()
            .all(|(i, p)| u32::try_from(i + 1) == Ok(p.part_number));
        if !numbers_follow || saved.parts.len() > MAX_PARTS as usize {
            return Err(invalid("the parts do not follow 1, 2, 3, ..."));
        }
        if saved.last_part_sent && saved.parts.is_empty() {
            return Err(invalid("last part sent but no parts"));
        }
        let fields = saved.fields.fields().map_err(invalid)?;
        for p in &saved.parts {
            if p.checksum.is_some() != fields.checksum_algorithm.is_some() {
                return Err(invalid(
                    "a part's checksum does not match the upload's algorithm",
                ));
            }
        }
        Ok(Restoring { saved, checkpoint })
    }

    /// The object metadata holding the envelope.
    pub(crate) fn metadata(&self) -> &Metadata {
        &self.saved.metadata
    }

    /// The instruction file, if the envelope goes in one.
    pub(crate) fn instruction_file(&self) -> Option<&str> {
        self.saved.instruction_file.as_deref()
    }

    /// The upload, given the content key the keyring unwrapped. The
    /// checkpoint must open under it, bound to the saved position.
    pub(crate) fn finish(self, content_key: ContentKey) -> Result<MultipartUpload, ClientError> {
        let s = self.saved;
        // Checked in `parse`.
        let fields = s.fields.fields().unwrap_or_default();
        let parts: Vec<CompletedPart> = s
            .parts
            .into_iter()
            .map(|p| CompletedPart {
                part_number: p.part_number,
                etag: p.etag,
                checksum: p
                    .checksum
                    .zip(fields.checksum_algorithm)
                    .map(|(value, algorithm)| Checksum { algorithm, value }),
            })
            .collect();
        let upload = MultipartUpload {
            bucket: s.bucket,
            key: s.key,
            upload_id: s.upload_id,
            object_metadata: s.metadata,
            instruction_file: s.instruction_file,
            parts,
            plaintext_len: s.plaintext_len,
            last_part_sent: s.last_part_sent,
            checkpoint: self.checkpoint,
            content_key,
            fields,
        };
        if !upload.last_part_sent {
            // Opens only with this key, at this upload and position.
            upload.resume_cipher().map_err(|_| {
                ClientError::Multipart(MultipartError::InvalidState {
                    reason: "the checkpoint does not open for this upload, position and key",
                })
            })?;
        }
        Ok(upload)
    }
}

/// A part encrypted and ready to send; the upload moves on only when
/// [`MultipartUpload::part_done`] records its ETag.
#[derive(Debug)]
pub(crate) struct PendingPart {
    pub(crate) part_number: u32,
    plaintext_len: u64,
    last: bool,
    next_checkpoint: Option<SealedCheckpoint>,
}

impl MultipartUpload {
    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// S3's upload id.
    pub fn upload_id(&self) -> &str {
        &self.upload_id
    }

    /// The parts uploaded so far, with their ETags.
    pub fn parts(&self) -> &[CompletedPart] {
        &self.parts
    }

    /// The number of the next part (1 for a new upload).
    pub fn next_part_number(&self) -> u32 {
        self.parts.len() as u32 + 1
    }

    /// Whether the last part was uploaded (the upload can be completed).
    pub fn is_last_part_sent(&self) -> bool {
        self.last_part_sent
    }

    /// Plaintext bytes uploaded so far.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// Where the envelope goes.
    pub fn placement(&self) -> Placement {
        if self.instruction_file.is_some() {
            Placement::InstructionFile
        } else {
            Placement::ObjectMetadata
        }
    }

    /// Serialize the upload (JSON) so that another process can continue it
    /// with `resume_multipart_upload`. Holds no plaintext key material: the
    /// data key is wrapped by the keyring, the cipher position is sealed
    /// under a key derived from the content key (see the module docs).
    pub fn save(&self) -> Vec<u8> {
        let saved = Saved {
            version: STATE_VERSION,
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            upload_id: self.upload_id.clone(),
            metadata: self.object_metadata.clone(),
            instruction_file: self.instruction_file.clone(),
            parts: self
                .parts
                .iter()
                .map(|p| SavedPart {
                    part_number: p.part_number,
                    etag: p.etag.clone(),
                    checksum: p.checksum.as_ref().map(|c| c.value.clone()),
                })
                .collect(),
            plaintext_len: self.plaintext_len,
            last_part_sent: self.last_part_sent,
            checkpoint: Base64::encode_string(&self.checkpoint),
            fields: SavedFields::of(&self.fields),
        };
        // Strings, numbers and a Vec: serialization cannot fail.
        serde_json::to_vec_pretty(&saved).unwrap_or_default()
    }

    fn aad(&self, next_part: u32, plaintext_len: u64) -> Vec<u8> {
        checkpoint_aad(
            &self.bucket,
            &self.key,
            &self.upload_id,
            next_part,
            plaintext_len,
        )
    }

    fn resume_cipher(
        &self,
    ) -> Result<s3ec_core::cipher::ResumableEncryptor<Backend>, s3ec_core::Error> {
        let aad = self.aad(self.next_part_number(), self.plaintext_len);
        self.content_key
            .resume_encryptor::<Backend>(&self.checkpoint, &aad)
    }

    /// Check that part `part_number` may come now.
    fn check_part(&self, part_number: u32, len: u64, last: bool) -> Result<(), MultipartError> {
        if self.last_part_sent {
            return Err(MultipartError::AfterLastPart {
                last: self.parts.len() as u32,
            });
        }
        let expected = self.next_part_number();
        // spec: client.md#optional-api-operations/3
        if part_number != expected {
            return Err(MultipartError::PartOutOfOrder {
                expected,
                got: part_number,
            });
        }
        if part_number > MAX_PARTS || (part_number == MAX_PARTS && !last) {
            return Err(MultipartError::TooManyParts { part_number });
        }
        if !last && len < MIN_PART_SIZE {
            return Err(MultipartError::PartTooSmall {
                part_number,
                len,
                min: MIN_PART_SIZE,
            });
        }
        Ok(())
    }

    /// Encrypt part `part_number` in place (for the last part: append the
    /// tag). The upload does not move on until [`part_done`](Self::part_done).
    pub(crate) fn encrypt_part(
        &self,
        part_number: u32,
        buf: &mut Vec<u8>,
        last: bool,
    ) -> Result<PendingPart, ClientError> {
        let len = buf.len() as u64;
        self.check_part(part_number, len, last)?;
        // spec: client.md#optional-api-operations/4 (one GCM stream continued from the checkpoint)
        let mut enc = self.resume_cipher().map_err(|_| {
            ClientError::Multipart(MultipartError::InvalidState {
                reason: "the checkpoint does not open",
            })
        })?;
        enc.update(buf)?;
        let next_len = self.plaintext_len + len;
        let next_checkpoint = if last {
            buf.extend_from_slice(&enc.finish());
            None
        } else {
            let aad = self.aad(part_number + 1, next_len);
            Some(enc.checkpoint(&mut getrandom::SysRng, &aad)?)
        };
        Ok(PendingPart {
            part_number,
            plaintext_len: len,
            last,
            next_checkpoint,
        })
    }

    /// The fields the upload's parts and its completion carry.
    pub(crate) fn fields(&self) -> &PutFields {
        &self.fields
    }

    /// The checksum of an encrypted part, when the upload asked for one.
    pub(crate) fn part_checksum(&self, ciphertext: &[u8]) -> Option<Checksum> {
        self.fields
            .checksum_algorithm
            .map(|a| a.checksum(ciphertext))
    }

    /// Record a part S3 accepted (with the checksum it was sent with).
    pub(crate) fn part_done(
        &mut self,
        part: PendingPart,
        etag: String,
        checksum: Option<Checksum>,
    ) -> CompletedPart {
        let done = CompletedPart {
            part_number: part.part_number,
            etag,
            checksum,
        };
        self.parts.push(done.clone());
        self.plaintext_len += part.plaintext_len;
        if let Some(c) = part.next_checkpoint {
            self.checkpoint = c;
        }
        self.last_part_sent = part.last;
        done
    }

    /// Check that the upload can be completed.
    pub(crate) fn check_complete(&self) -> Result<(), MultipartError> {
        if self.last_part_sent {
            Ok(())
        } else {
            Err(MultipartError::NotFinished {
                next: self.next_part_number(),
            })
        }
    }

    /// The instruction file to write after completion, if any.
    pub(crate) fn instruction_file(&self) -> Option<&str> {
        self.instruction_file.as_deref()
    }

    /// What completion reports.
    pub(crate) fn completed(&self, etag: Option<String>) -> CompletedUpload {
        let format = match self.content_key.suite() {
            s3ec_core::Suite::AesGcmCommitting => FormatVersion::V3,
            _ => FormatVersion::V2,
        };
        CompletedUpload {
            etag,
            format,
            placement: self.placement(),
            plaintext_len: self.plaintext_len,
            parts: self.parts.len() as u32,
        }
    }

    /// The object metadata the upload was created with (the envelope).
    pub fn object_metadata(&self) -> &Metadata {
        &self.object_metadata
    }
}

/// The length of a sealed checkpoint (re-exported for callers sizing
/// storage).
pub const CHECKPOINT_LEN: usize = SEALED_CHECKPOINT_LEN;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use s3ec_keyring::{Context, EncryptRequest, Keyring};

    /// Fresh materials from a local AES key under the default policy.
    fn materials(policy: &DecryptPolicy) -> s3ec_keyring::EncryptionMaterials {
        let ring = s3ec_local::AesKeyring::new(&[4u8; 32]).unwrap();
        ring.on_encrypt(&EncryptRequest {
            suite: policy.commitment.encrypt_suite(),
            context: &Context::new(),
        })
        .unwrap()
    }

    fn upload() -> MultipartUpload {
        let policy = DecryptPolicy::default();
        NewUpload::new(materials(&policy), &policy, Placement::ObjectMetadata)
            .unwrap()
            .started("b", "k", "up-1".into(), &PutFields::NONE)
            .unwrap()
    }

    #[test]
    fn misuse_is_refused() {
        // spec: client.md#optional-api-operations/3
        let mut up = upload();
        let small = MIN_PART_SIZE as usize - 1;
        let err = |r: Result<PendingPart, ClientError>| match r {
            Err(ClientError::Multipart(e)) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            err(up.encrypt_part(2, &mut vec![0; 10], true)),
            MultipartError::PartOutOfOrder {
                expected: 1,
                got: 2
            }
        );
        assert_eq!(
            err(up.encrypt_part(1, &mut vec![0; small], false)),
            MultipartError::PartTooSmall {
                part_number: 1,
                len: small as u64,
                min: MIN_PART_SIZE
            }
        );
        assert_eq!(
            up.check_complete(),
            Err(MultipartError::NotFinished { next: 1 })
        );
        let p = up.encrypt_part(1, &mut vec![0; 10], true).unwrap();
        up.part_done(p, "e1".into(), None);
        assert_eq!(
            err(up.encrypt_part(2, &mut vec![0; 10], true)),
            MultipartError::AfterLastPart { last: 1 }
        );
        assert!(up.check_complete().is_ok());
    }

    #[test]
    fn saved_state_refuses_edits() {
        let mut up = upload();
        let mut buf = vec![1u8; MIN_PART_SIZE as usize];
        let p = up.encrypt_part(1, &mut buf, false).unwrap();
        up.part_done(p, "e1".into(), None);
        let saved = up.save();
        let text = String::from_utf8(saved.clone()).unwrap();
        assert!(!text.contains("data_key"));
        // Restores with the right key.
        let key = || {
            let r = Restoring::parse(&saved).unwrap();
            PendingOpen::new(
                r.metadata(),
                r.instruction_file(),
                &DecryptPolicy::default(),
            )
            .unwrap()
            .finish(Some(
                s3ec_keyring::Keyring::on_decrypt(
                    &s3ec_local::AesKeyring::new(&[4u8; 32]).unwrap(),
                    &PendingOpen::new(r.metadata(), None, &DecryptPolicy::default())
                        .unwrap()
                        .request(None),
                )
                .unwrap()
                .unwrap(),
            ))
            .unwrap()
            .key
        };
        let back = Restoring::parse(&saved).unwrap().finish(key()).unwrap();
        assert_eq!(back.next_part_number(), 2);
        // A state that forgets the part (so part 1 would be encrypted again
        // at a used position) does not open.
        let mut v: serde_json::Value = serde_json::from_slice(&saved).unwrap();
        v["parts"] = serde_json::json!([]);
        v["plaintext_len"] = serde_json::json!(0);
        let edited = serde_json::to_vec(&v).unwrap();
        assert!(matches!(
            Restoring::parse(&edited).unwrap().finish(key()),
            Err(ClientError::Multipart(MultipartError::InvalidState { .. }))
        ));
        // Garbage.
        assert!(Restoring::parse(b"{}").is_err());
    }

    #[test]
    fn saved_fields_round_trip_and_are_checked() {
        let policy = DecryptPolicy::default();
        let materials = materials(&policy);
        let fields = PutFields {
            checksum_algorithm: Some(ChecksumAlgorithm::Sha256),
            if_match: Some("\"e0\"".into()),
            server_side_encryption: Some(ServerSideEncryption::Kms {
                key_id: Some("k-1".into()),
                bucket_key: Some(true),
            }),
            content_type: Some("text/plain".into()), // not carried past Create
            ..PutFields::default()
        };
        let mut up = NewUpload::new(materials, &policy, Placement::ObjectMetadata)
            .unwrap()
            .started("b", "k", "up-1".into(), &fields)
            .unwrap();
        let mut buf = vec![1u8; MIN_PART_SIZE as usize];
        let p = up.encrypt_part(1, &mut buf, false).unwrap();
        let sum = up.part_checksum(&buf);
        assert_eq!(sum, Some(ChecksumAlgorithm::Sha256.checksum(&buf)));
        up.part_done(p, "e1".into(), sum.clone());
        let saved = up.save();
        let r = Restoring::parse(&saved).unwrap();
        let back = r.saved.fields.fields().unwrap();
        assert_eq!(back, upload_fields(&fields));
        assert_eq!(back.content_type, None);
        assert_eq!(r.saved.parts[0].checksum, sum.map(|c| c.value));

        // A state saved before fields were carried still loads (none).
        let mut v: serde_json::Value = serde_json::from_slice(&saved).unwrap();
        v.as_object_mut().unwrap().remove("fields");
        v["parts"][0].as_object_mut().unwrap().remove("checksum");
        let old = Restoring::parse(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(old.saved.fields.fields().unwrap(), PutFields::default());

        // A part checksum without an algorithm, or an unknown algorithm,
        // is refused.
        let mut v: serde_json::Value = serde_json::from_slice(&saved).unwrap();
        v["fields"]
            .as_object_mut()
            .unwrap()
            .remove("checksum_algorithm");
        assert!(Restoring::parse(&serde_json::to_vec(&v).unwrap()).is_err());
        let mut v: serde_json::Value = serde_json::from_slice(&saved).unwrap();
        v["fields"]["checksum_algorithm"] = serde_json::json!("MD4");
        assert!(Restoring::parse(&serde_json::to_vec(&v).unwrap()).is_err());
    }
}

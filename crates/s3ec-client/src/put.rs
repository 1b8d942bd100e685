//! The transport-free part of a put: options, output, and the part
//! bookkeeping that the blocking and the async client share.
//!
//! # How a put goes
//!
//! 1. The first part (up to the part size) is read, plus one byte of
//!    look-ahead. If the body ended there it goes as one PUT, and its length
//!    is recorded as `x-amz-unencrypted-content-length`; otherwise it is a
//!    multipart upload and the length is recorded only when the caller
//!    declared it.
//! 2. A fresh data key is made and wrapped by the keyring and the envelope
//!    is written ([`crate::codec::seal`]): V3 (suite `0x0073`) by default,
//!    V2 (`0x0072`) under `ForbidEncryptAllowDecrypt`.
//! 3. The body goes through the one [`GcmEncryptor`] in order, part by part
//!    (spec `client.md` §Optional API Operations: each part MUST be
//!    encrypted in sequence, with the same cipher instance); the 16-byte
//!    tag is appended to the last part (spec `encryption.md`: the tag MUST
//!    be appended to the ciphertext). The envelope goes on the PUT or on
//!    CreateMultipartUpload (S3 metadata cannot be set at Complete). About
//!    one part is held in memory whatever the size; each part buffer is
//!    handed to the transport finished, so a retry resends the same bytes.
//!    Any failure aborts the multipart upload.
//! 4. With instruction-file storage, the instruction file
//!    (`<key>.instruction`, always the default suffix: spec
//!    `metadata-strategy.md` forbids custom suffixes on ordinary writes) is
//!    PUT **after** the object, with the `x-amz-crypto-instr-file` marker.
//!
//! ## Why the instruction file goes second
//!
//! Both orders leave a window in which a reader sees a new object with an
//! old instruction file (or the reverse); either way that reader gets an
//! error (V3: the key commitment does not match; V2: the tag does not
//! verify; no file: `InstructionFileMissing` / `NotEncrypted`), never wrong
//! plaintext. What differs is a failure in between. Object first: if the
//! instruction file cannot be written, the client deletes the object it
//! just wrote (an object without its envelope is garbage) and reports
//! [`ClientError::CleanupFailed`] with
//! [`LeftBehind::Object`] if even that fails.
//! Instruction file first would, on a failed object PUT, have replaced the
//! envelope of the *previous* object under that key and made it unreadable,
//! and for multipart uploads would leave an orphan file on every abort.
//! .NET also writes it at completion; Java writes it first.
//!
//! ## A put in object metadata over an object that had an instruction file
//!
//! The old `<key>.instruction` stays where it is: the put does not delete
//! it (that would cost every put a DELETE, and the `s3:DeleteObject`
//! permission that a writer may not have). It is harmless: readers, this
//! client and AWS's, take the envelope from the object metadata when it is
//! there and look for an instruction file only when it is not. Remove it
//! with [`Client::delete_object`](crate::Client::delete_object) before
//! re-putting, or delete it directly, if the old wrapped key should go too.

use bytes::Bytes;
use s3ec_core::cipher::GcmEncryptor;
use s3ec_core::envelope::{Placement, INSTRUCTION_FILE_MARKER, INSTRUCTION_FILE_SUFFIX};
use s3ec_core::FormatVersion;
use s3ec_keyring::Context;

use crate::backend::Backend;
use crate::config::ClientConfig;
use crate::error::{ClientError, LeftBehind};
use crate::transport::{Checksum, Metadata, PutFields, TransportError};

/// Per-put settings.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// The encryption context (KMS keyrings bind it into the wrapped key
    /// and store it; raw-key keyrings refuse a non-empty one and store
    /// their material description instead).
    pub context: Context,
    /// Store the envelope in an instruction file (`Some(true)`) or in the
    /// object metadata (`Some(false)`); `None` follows the client's
    /// [`instruction_file_puts`](crate::config::Builder::instruction_file_puts).
    pub instruction_file: Option<bool>,
    /// User metadata stored with the object (keys without `x-amz-meta-`;
    /// the envelope's own keys are refused with
    /// [`ClientError::ReservedMetadataKey`]).
    pub metadata: Metadata,
    /// Content type, storage class, SSE, tags, conditions, checksums, ...
    pub fields: PutFields,
}

impl PutOptions {
    /// Set the encryption context.
    pub fn context(mut self, context: Context) -> Self {
        self.context = context;
        self
    }

    /// Choose the envelope storage for this put.
    // spec: data-format/metadata-strategy.md#instruction-file/1 data-format/metadata-strategy.md#instruction-file/5 (per put)
    pub fn instruction_file(mut self, on: bool) -> Self {
        self.instruction_file = Some(on);
        self
    }
}

/// The object's metadata on a put: the envelope's keys (when it goes in
/// the object metadata) and the caller's, which must not collide with any
/// S3EC key (the reader would take them for the envelope).
pub(crate) fn object_metadata(
    envelope: &Metadata,
    user: &Metadata,
) -> Result<Metadata, ClientError> {
    let mut out = Vec::with_capacity(envelope.len() + user.len());
    out.extend(envelope.iter().cloned());
    for (k, v) in user {
        if s3ec_core::keys::MetaKey::parse(k).is_some() {
            return Err(ClientError::ReservedMetadataKey { key: k.clone() });
        }
        out.push((k.clone(), v.clone()));
    }
    Ok(out)
}

/// The checksum of a finished body or part, when the put asks for one.
pub(crate) fn checksum_of(fields: &PutFields, body: &[u8]) -> Option<Checksum> {
    fields.checksum_algorithm.map(|a| a.checksum(body))
}

/// The fields of the instruction-file PUT: only those that say where and
/// by whom (expected owner, request payer); the content headers, storage
/// class and tags belong to the object.
pub(crate) fn instruction_file_fields(fields: &PutFields) -> PutFields {
    PutFields {
        expected_bucket_owner: fields.expected_bucket_owner.clone(),
        request_payer: fields.request_payer,
        server_side_encryption: fields.server_side_encryption.clone(),
        ..PutFields::default()
    }
}

/// What a put did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutput {
    /// The object's entity tag, when S3 returned one.
    pub etag: Option<String>,
    /// The metadata format written (V3, or V2 under
    /// `ForbidEncryptAllowDecrypt`).
    pub format: FormatVersion,
    /// Where the envelope went.
    pub placement: Placement,
    /// Plaintext bytes encrypted.
    pub plaintext_len: u64,
    /// `Some(parts)` when the body went as a multipart upload.
    pub parts: Option<u32>,
}

/// The user metadata of an instruction-file object: the
/// `x-amz-crypto-instr-file` marker with an empty value (written, never
/// required on read).
pub(crate) fn instruction_file_metadata() -> Vec<(String, String)> {
    vec![(INSTRUCTION_FILE_MARKER.as_str().to_string(), String::new())]
}

/// Part bookkeeping: how much was read, the look-ahead byte, the declared
/// length check.
#[derive(Debug)]
pub(crate) struct PartCursor {
    pub(crate) part_size: usize,
    declared: Option<u64>,
    read: u64,
    peeked: Option<u8>,
}

impl PartCursor {
    pub(crate) fn new(part_size: usize, declared: Option<u64>) -> PartCursor {
        PartCursor {
            part_size,
            declared,
            read: 0,
            peeked: None,
        }
    }

    /// Start a part in `buf`: cleared, then the look-ahead byte if any.
    pub(crate) fn begin(&mut self, buf: &mut Vec<u8>) {
        buf.clear();
        if let Some(b) = self.peeked.take() {
            buf.push(b);
        }
    }

    /// How many more bytes the part wants.
    pub(crate) fn want(&self, buf: &[u8]) -> usize {
        self.part_size.saturating_sub(buf.len())
    }

    /// Whether a full part needs a look-ahead read to know if it is the
    /// last one.
    pub(crate) fn needs_peek(&self, buf: &[u8]) -> bool {
        buf.len() >= self.part_size
    }

    /// The part in `buf` is read; `peeked` is the look-ahead byte (None:
    /// the body ended). Returns whether this is the last part.
    pub(crate) fn end(&mut self, buf: &[u8], peeked: Option<u8>) -> Result<bool, ClientError> {
        self.read = self.read.saturating_add(buf.len() as u64);
        self.peeked = peeked;
        let last = peeked.is_none();
        if let Some(declared) = self.declared {
            let seen = self.read + u64::from(peeked.is_some());
            if seen > declared || (last && seen != declared) {
                return Err(ClientError::InputLengthMismatch {
                    declared,
                    read: seen,
                });
            }
        }
        Ok(last)
    }

    /// Plaintext bytes read so far.
    pub(crate) fn read(&self) -> u64 {
        self.read
    }

    /// The length to record in the envelope once the first part is read:
    /// the real one if that part was the last, else the declared one.
    pub(crate) fn recorded_len(&self, last: bool) -> Option<u64> {
        if last {
            Some(self.read)
        } else {
            self.declared
        }
    }
}

/// Where a put stores the envelope: the per-put option, else the client's
/// default.
pub(crate) fn placement(opts: &PutOptions, config: &ClientConfig) -> Placement {
    if opts
        .instruction_file
        .unwrap_or(config.instruction_file_puts)
    {
        Placement::InstructionFile
    } else {
        Placement::ObjectMetadata
    }
}

/// The error of a multipart upload that failed with `error` and was then
/// aborted with result `abort`: `error` itself, or, if even the abort
/// failed, a [`ClientError::CleanupFailed`] naming the upload left behind.
pub(crate) fn after_abort(
    error: ClientError,
    abort: Result<(), TransportError>,
    key: &str,
    upload_id: String,
) -> ClientError {
    match abort {
        Ok(()) => error,
        Err(cleanup) => ClientError::cleanup_failed(
            error,
            cleanup,
            LeftBehind::MultipartUpload {
                key: key.to_string(),
                upload_id,
            },
        ),
    }
}

/// The error of an instruction-file PUT that failed with `error`, after
/// the object it belongs to was deleted with result `delete` (an object
/// without its envelope is garbage).
pub(crate) fn after_instruction_file_failure(
    error: TransportError,
    delete: Result<(), TransportError>,
    key: &str,
) -> ClientError {
    match delete {
        Ok(()) => ClientError::Transport(error),
        Err(cleanup) => ClientError::cleanup_failed(
            ClientError::Transport(error),
            cleanup,
            LeftBehind::Object {
                key: key.to_string(),
            },
        ),
    }
}

/// The request of the instruction file of `key` (default suffix, marker
/// metadata).
// spec: data-format/metadata-strategy.md#instruction-file/6 (always the default suffix on writes)
pub(crate) fn instruction_file_put(key: &str) -> (String, Metadata) {
    (
        crate::get::instruction_file_key(key, INSTRUCTION_FILE_SUFFIX),
        instruction_file_metadata(),
    )
}

/// Refuse, before anything is read or sent, a declared length that cannot
/// be uploaded: more than GCM can encrypt under one key and IV (spec
/// `encryption.md` §Content Encryption: the plaintext length MUST be
/// validated against the suite's maximum content length; the encryptor
/// enforces it again for bodies of unknown length), or more than S3's
/// 10,000 parts at this part size.
// spec: encryption.md#content-encryption/2
pub(crate) fn check_declared_length(len: Option<u64>, part_size: usize) -> Result<(), ClientError> {
    let Some(len) = len else { return Ok(()) };
    if len > s3ec_core::suite::GCM_MAX_PLAINTEXT_LEN {
        return Err(ClientError::Format(s3ec_core::Error::LimitExceeded));
    }
    // The tag rides on the last part; it adds no part.
    if len.div_ceil(part_size as u64) > u64::from(crate::config::MAX_PARTS) {
        return Err(ClientError::TooManyParts {
            part_size: part_size as u64,
        });
    }
    Ok(())
}

/// Encrypt a part in place; for the last part, finish and append the tag.
pub(crate) fn encrypt_part(
    encryptor: &mut Option<GcmEncryptor<Backend>>,
    buf: &mut Vec<u8>,
    last: bool,
) -> Result<(), ClientError> {
    let enc = encryptor
        .as_mut()
        .ok_or(ClientError::Format(s3ec_core::Error::InvalidInput(
            s3ec_core::InputError::OutOfRange,
        )))?;
    enc.update(buf).map_err(ClientError::Format)?;
    if last {
        if let Some(enc) = encryptor.take() {
            buf.extend_from_slice(&enc.finish());
        }
    }
    Ok(())
}

/// How many times [`reclaim`] waits [`RECLAIM_WAIT`] for the transport to
/// let go of a part: at most about 1 ms per part.
const RECLAIM_WAITS: u32 = 20;
/// One wait of [`reclaim`].
const RECLAIM_WAIT: std::time::Duration = std::time::Duration::from_micros(50);

/// The buffer of a part the transport is done with, for the next part: the
/// same allocation once nothing else holds it, else a new one.
///
/// A transport may hold its clone a moment after it returned (blocking
/// reqwest drops the request body on its runtime thread just after the
/// caller has the response), so this waits briefly for the last clone to
/// go: without the same buffer every part costs a fresh part-sized
/// allocation, and glibc then keeps the freed ones resident (a 1 GiB put
/// peaked at 32 MiB instead of 17 MiB; `docs/measurements.md`). A transport
/// that keeps the bytes for good costs at most [`RECLAIM_WAITS`] short
/// sleeps per part.
pub(crate) fn reclaim(part: Bytes, part_size: usize) -> Vec<u8> {
    let mut part = part;
    for attempt in 0..=RECLAIM_WAITS {
        match try_reclaim(part) {
            Ok(buf) => return buf,
            Err(shared) => part = shared,
        }
        if attempt < RECLAIM_WAITS {
            std::thread::sleep(RECLAIM_WAIT);
        }
    }
    Vec::with_capacity(part_size.saturating_add(16))
}

/// The part's buffer, emptied, if nothing else holds it; else the part.
pub(crate) fn try_reclaim(part: Bytes) -> Result<Vec<u8>, Bytes> {
    part.try_into_mut().map(|mut b| {
        b.clear();
        Vec::from(b)
    })
}

/// The next part number, refusing to pass S3's limit.
pub(crate) fn next_part_number(current: u32, part_size: usize) -> Result<u32, ClientError> {
    let n = current + 1;
    if n > crate::config::MAX_PARTS {
        return Err(ClientError::TooManyParts {
            part_size: part_size as u64,
        });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reclaim_keeps_the_allocation() {
        for len in [0usize, 100, 4096] {
            let mut v = Vec::with_capacity(4096 + 16);
            v.resize(len, 7u8);
            let ptr = v.as_ptr();
            let part = Bytes::from(v);
            let held = part.clone();
            drop(held);
            let back = reclaim(part, 4096);
            assert!(back.is_empty());
            assert!(back.capacity() >= 4096);
            if len > 0 {
                assert_eq!(back.as_ptr(), ptr, "len {len}: the buffer was reallocated");
            }
        }
        // Still shared: a fresh buffer, the other holder unaffected.
        let part = Bytes::from(vec![1u8; 10]);
        let other = part.clone();
        let back = reclaim(part, 64);
        assert!(back.is_empty() && back.capacity() >= 64);
        assert_eq!(other, vec![1u8; 10]);
    }

    #[test]
    fn declared_length_limits() {
        let ps = 5 << 20;
        assert!(check_declared_length(None, ps).is_ok());
        assert!(check_declared_length(Some(0), ps).is_ok());
        assert!(check_declared_length(Some(10_000 * ps as u64), ps).is_ok());
        assert!(matches!(
            check_declared_length(Some(10_000 * ps as u64 + 1), ps),
            Err(ClientError::TooManyParts { .. })
        ));
        assert!(matches!(
            check_declared_length(Some(1 << 40), 5 << 30),
            Err(ClientError::Format(s3ec_core::Error::LimitExceeded))
        ));
    }

    #[test]
    fn cursor_declared_lengths() {
        let mut c = PartCursor::new(4, Some(6));
        let mut buf = Vec::new();
        c.begin(&mut buf);
        buf.extend_from_slice(&[1, 2, 3, 4]);
        assert!(!c.end(&buf, Some(5)).unwrap());
        c.begin(&mut buf);
        assert_eq!(buf, [5]);
        buf.push(6);
        assert!(c.end(&buf, None).unwrap());
        assert_eq!(c.read(), 6);

        // Shorter than declared.
        let mut c = PartCursor::new(4, Some(6));
        c.begin(&mut buf);
        buf.extend_from_slice(&[1, 2]);
        assert!(matches!(
            c.end(&buf, None),
            Err(ClientError::InputLengthMismatch {
                declared: 6,
                read: 2
            })
        ));
        // Longer than declared.
        let mut c = PartCursor::new(4, Some(4));
        c.begin(&mut buf);
        buf.extend_from_slice(&[1, 2, 3, 4]);
        assert!(matches!(
            c.end(&buf, Some(9)),
            Err(ClientError::InputLengthMismatch { declared: 4, .. })
        ));
    }
}

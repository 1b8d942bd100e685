//! The client's error type.

use std::fmt;

use s3ec_core::{CommitmentPolicy, Suite};
use s3ec_keyring::KeyringError;

use crate::transport::TransportError;

/// Everything that can go wrong encrypting or decrypting an object.
#[non_exhaustive]
#[derive(Debug)]
pub enum ClientError {
    /// The envelope (object metadata or instruction file) is malformed or
    /// inconsistent, or another core error.
    Format(s3ec_core::Error),
    /// The object's suite is not allowed by the commitment policy (for
    /// example a V2 object under `RequireEncryptRequireDecrypt`).
    CommitmentPolicy {
        /// The object's suite.
        suite: Suite,
        /// The policy in force.
        policy: CommitmentPolicy,
    },
    /// The object's content is AES-CBC (`ALG_AES_256_CBC_IV16_NO_KDF`) and
    /// legacy unauthenticated modes are not enabled.
    LegacyCbcDisabled,
    /// The keyring failed or no keyring could unwrap the data key.
    Keyring(KeyringError),
    /// The content failed authentication (GCM tag, key commitment) or, for
    /// legacy CBC, decryption (padding). No plaintext was released.
    Authentication,
    /// The body failed its final check **after plaintext had already been
    /// written to the output**: the GCM tag under the `danger` delayed
    /// authentication mode, or the padding of a legacy CBC body (which is
    /// streamed). Everything written to the output must be discarded.
    AuthenticationAfterRelease,
    /// An S3 request failed.
    Transport(TransportError),
    /// Reading the body to upload, writing the plaintext, or the spool file
    /// failed.
    Io(std::io::Error),
    /// The client configuration is invalid (from `build()`).
    Config(ConfigError),
    /// The object carries no S3EC envelope (no encryption metadata and no
    /// instruction file): it is not an encrypted object. The client never
    /// passes such an object through as if it were plaintext.
    NotEncrypted,
    /// The object's metadata says its envelope is in an instruction file
    /// (V3 split storage), and that file does not exist.
    InstructionFileMissing {
        /// The key of the missing instruction file.
        key: String,
    },
    /// The instruction file is larger than any envelope can be.
    InstructionFileTooLarge {
        /// The instruction file's length, if S3 said.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// The instruction file is not UTF-8 text.
    InstructionFileNotUtf8,
    /// The object is larger than the `GetStrategy::Buffer` limit.
    ObjectTooLarge {
        /// The object's (ciphertext) length.
        len: u64,
        /// The configured limit.
        max: u64,
    },
    /// The body's length cannot be a ciphertext of its suite (GCM: shorter
    /// than the 16-byte tag; CBC: not a positive multiple of 16).
    InvalidBodyLength {
        /// The object's suite.
        suite: Suite,
        /// The body's length.
        len: u64,
    },
    /// The body length does not match the plaintext length recorded in
    /// `x-amz-unencrypted-content-length`.
    DeclaredLengthMismatch {
        /// The recorded plaintext length.
        declared: u64,
        /// The body (ciphertext) length.
        body: u64,
    },
    /// The body S3 sent was not as long as its `Content-Length` said.
    UnexpectedBodyLength {
        /// What the headers announced.
        expected: u64,
        /// What arrived.
        received: u64,
    },
    /// A GET without a range was answered with a partial body (spec
    /// `decryption.md` §Ranged Gets: such a response MUST be refused).
    UnexpectedRange,
    /// A ranged GET was answered with another range than asked for.
    RangeMismatch,
    /// Ranged gets decrypt without authentication and need the legacy
    /// unauthenticated modes switch (`LegacyOptions::unauthenticated_modes`).
    RangedGetDisabled,
    /// Ranged gets of this suite are not supported (legacy CBC).
    RangedGetUnsupported {
        /// The object's suite.
        suite: Suite,
    },
    /// The object changed (its entity tag no longer matches) while it was
    /// being read.
    ObjectChanged,
    /// The reader gave another number of bytes than the declared length.
    InputLengthMismatch {
        /// The declared length.
        declared: u64,
        /// The bytes read (at least this many).
        read: u64,
    },
    /// The body needs more than S3's 10,000 parts at the configured part
    /// size.
    TooManyParts {
        /// The configured part size.
        part_size: u64,
    },
    /// An operation failed and so did the cleanup after it: something was
    /// left behind in the bucket.
    CleanupFailed(Box<CleanupFailure>),
    /// Some objects of a `delete_objects` call could not be deleted: each
    /// key with its error (the other keys were deleted).
    DeleteFailed(Vec<(String, ClientError)>),
    /// A user metadata key of a put is one of the envelope's own
    /// (`x-amz-key-v2`, `x-amz-3`, ...): a reader would take it for the
    /// envelope.
    ReservedMetadataKey {
        /// The key.
        key: String,
    },
    /// A request builder was sent without a required field (`bucket`,
    /// `key`).
    MissingRequestField {
        /// The field.
        field: &'static str,
    },
    /// A ranged or instruction-file read must be pinned to the version
    /// read first, and the store gave neither an entity tag nor a version
    /// id to pin it to.
    CannotPinVersion,
    /// A range that cannot be read: malformed, or starting past the end of
    /// the object.
    InvalidRange {
        /// What was asked for.
        range: String,
        /// The object's plaintext length.
        len: u64,
    },
    /// A low-level multipart upload was misused (a part out of order,
    /// after the last, too small) or its saved state cannot continue it.
    Multipart(crate::multipart::MultipartError),
    /// A key rotation was refused (nothing was written).
    Rotation(crate::rotate::RotationError),
}

/// A failed operation whose cleanup failed too
/// ([`ClientError::CleanupFailed`]).
#[derive(Debug)]
pub struct CleanupFailure {
    /// Why the operation failed.
    pub error: ClientError,
    /// Why the cleanup failed.
    pub cleanup: TransportError,
    /// What was left behind.
    pub left_behind: LeftBehind,
}

impl ClientError {
    pub(crate) fn cleanup_failed(
        error: ClientError,
        cleanup: TransportError,
        left_behind: LeftBehind,
    ) -> ClientError {
        ClientError::CleanupFailed(Box::new(CleanupFailure {
            error,
            cleanup,
            left_behind,
        }))
    }
}

/// What a failed put may have left in the bucket when its cleanup failed
/// too ([`ClientError::CleanupFailed`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeftBehind {
    /// An incomplete multipart upload (it costs storage until aborted).
    MultipartUpload {
        /// The object key.
        key: String,
        /// The upload id, for `AbortMultipartUpload`.
        upload_id: String,
    },
    /// An object whose instruction file could not be written: it cannot be
    /// decrypted.
    Object {
        /// The object key.
        key: String,
    },
}

/// Why a client configuration was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Delayed authentication was enabled together with a get strategy
    /// (buffer size) other than the default (spec `client.md` §Set Buffer
    /// Size: this MUST be refused).
    DelayedAuthenticationWithBufferSize,
    /// The multipart part size is outside S3's limits (5 MiB to 5 GiB).
    PartSize {
        /// The size asked for.
        size: u64,
    },
    /// The buffer limit of `GetStrategy::Buffer` is below 16 bytes (no GCM
    /// object fits).
    BufferSize {
        /// The size asked for.
        size: u64,
    },
    /// The instruction-file suffix is empty (the instruction file would be
    /// the object itself).
    EmptyInstructionFileSuffix,
    /// The concurrency is 0 or above
    /// [`MAX_CONCURRENCY`](crate::config::MAX_CONCURRENCY).
    Concurrency {
        /// The value asked for.
        value: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::DelayedAuthenticationWithBufferSize => f.write_str(
                "delayed authentication cannot be combined with a buffer size \
                 (get strategy) other than the default",
            ),
            ConfigError::PartSize { size } => write!(
                f,
                "part size {size} is outside S3's limits (5 MiB to 5 GiB)"
            ),
            ConfigError::BufferSize { size } => {
                write!(f, "buffer size {size} is below the 16-byte GCM tag")
            }
            ConfigError::EmptyInstructionFileSuffix => {
                f.write_str("the instruction-file suffix must not be empty")
            }
            ConfigError::Concurrency { value } => write!(
                f,
                "concurrency {value} is outside 1 to {}",
                crate::config::MAX_CONCURRENCY
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ClientError {
    /// Map a core error raised while checking or decrypting content.
    pub(crate) fn from_content(e: s3ec_core::Error) -> ClientError {
        match e {
            s3ec_core::Error::Authentication => ClientError::Authentication,
            s3ec_core::Error::Format(s3ec_core::FormatError::NotEncrypted) => {
                ClientError::NotEncrypted
            }
            e => ClientError::Format(e),
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Format(e) => write!(f, "{e}"),
            ClientError::CommitmentPolicy { suite, policy } => write!(
                f,
                "the object's algorithm suite {:#06x} is not allowed by the commitment policy {policy:?}",
                suite.id()
            ),
            ClientError::LegacyCbcDisabled => f.write_str(
                "the object is encrypted with ALG_AES_256_CBC_IV16_NO_KDF; the client was not \
                 configured to decrypt it (enable legacy unauthenticated modes)",
            ),
            ClientError::Keyring(e) => write!(f, "{e}"),
            ClientError::Authentication => {
                f.write_str("the object failed authentication; no plaintext was released")
            }
            ClientError::AuthenticationAfterRelease => f.write_str(
                "the object failed its final check AFTER plaintext was written to the output \
                 (delayed authentication or legacy CBC): discard everything written",
            ),
            ClientError::Transport(e) => write!(f, "S3 request failed: {e}"),
            ClientError::Io(e) => write!(f, "I/O error: {e}"),
            ClientError::Config(e) => write!(f, "invalid client configuration: {e}"),
            ClientError::NotEncrypted => f.write_str(
                "the object is not encrypted (no S3EC metadata and no instruction file)",
            ),
            ClientError::InstructionFileMissing { key } => write!(
                f,
                "the object's envelope is in the instruction file {key:?}, which does not exist"
            ),
            ClientError::InstructionFileTooLarge { len, limit } => write!(
                f,
                "the instruction file is {len} bytes, more than the {limit}-byte limit"
            ),
            ClientError::InstructionFileNotUtf8 => {
                f.write_str("the instruction file is not UTF-8 text")
            }
            ClientError::ObjectTooLarge { len, max } => write!(
                f,
                "the object is {len} bytes, more than the {max}-byte buffer limit"
            ),
            ClientError::InvalidBodyLength { suite, len } => write!(
                f,
                "a body of {len} bytes cannot be a ciphertext of suite {:#06x}",
                suite.id()
            ),
            ClientError::DeclaredLengthMismatch { declared, body } => write!(
                f,
                "the body is {body} bytes, which does not fit the recorded plaintext length {declared}"
            ),
            ClientError::UnexpectedBodyLength { expected, received } => write!(
                f,
                "S3 announced {expected} bytes and sent at least {received}"
            ),
            ClientError::UnexpectedRange => {
                f.write_str("S3 answered a GET without a range with a partial body")
            }
            ClientError::RangeMismatch => {
                f.write_str("S3 answered a ranged GET with another range than asked for")
            }
            ClientError::RangedGetDisabled => f.write_str(
                "ranged gets are unauthenticated; enable legacy unauthenticated modes to use them",
            ),
            ClientError::RangedGetUnsupported { suite } => write!(
                f,
                "ranged gets of suite {:#06x} objects are not supported",
                suite.id()
            ),
            ClientError::ObjectChanged => {
                f.write_str("the object changed while it was being read")
            }
            ClientError::InputLengthMismatch { declared, read } => write!(
                f,
                "the body was declared as {declared} bytes but the reader gave {read}"
            ),
            ClientError::TooManyParts { part_size } => write!(
                f,
                "the body needs more than 10000 parts of {part_size} bytes"
            ),
            ClientError::DeleteFailed(failed) => {
                write!(f, "{} object(s) could not be deleted", failed.len())?;
                if let Some((key, e)) = failed.first() {
                    write!(f, " ({key:?}: {e})")?;
                }
                Ok(())
            }
            ClientError::ReservedMetadataKey { key } => write!(
                f,
                "user metadata key {key:?} is reserved for the encryption envelope"
            ),
            ClientError::MissingRequestField { field } => {
                write!(f, "the request has no {field}: set it before sending")
            }
            ClientError::CannotPinVersion => f.write_str(
                "the store gave neither an entity tag nor a version id, so the read cannot be \
                 pinned to one version of the object",
            ),
            ClientError::InvalidRange { range, len } => write!(
                f,
                "the range {range:?} cannot be read from an object of {len} plaintext bytes"
            ),
            ClientError::CleanupFailed(c) => write!(
                f,
                "{}; cleaning up failed too ({}), left behind: {:?}",
                c.error, c.cleanup, c.left_behind
            ),
            ClientError::Multipart(e) => write!(f, "{e}"),
            ClientError::Rotation(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The wrapped errors' own messages are part of this one's
        // Display, so `source` continues with *their* sources (as
        // `#[error(transparent)]` does): a reporter that walks the chain
        // prints each message once.
        match self {
            ClientError::Format(e) => e.source(),
            ClientError::Keyring(e) => e.source(),
            ClientError::Transport(e) => e.source(),
            ClientError::Io(e) => e.source(),
            ClientError::Config(e) => e.source(),
            ClientError::CleanupFailed(c) => Some(&c.error),
            _ => None,
        }
    }
}

impl From<s3ec_core::Error> for ClientError {
    fn from(e: s3ec_core::Error) -> Self {
        match e {
            s3ec_core::Error::Format(s3ec_core::FormatError::NotEncrypted) => {
                ClientError::NotEncrypted
            }
            e => ClientError::Format(e),
        }
    }
}

impl From<KeyringError> for ClientError {
    fn from(e: KeyringError) -> Self {
        ClientError::Keyring(e)
    }
}

impl From<TransportError> for ClientError {
    fn from(e: TransportError) -> Self {
        ClientError::Transport(e)
    }
}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        ClientError::Io(e)
    }
}

impl From<ConfigError> for ClientError {
    fn from(e: ConfigError) -> Self {
        ClientError::Config(e)
    }
}

//! The core's one error type.
//!
//! Errors are small `Copy` enums: they carry context (which metadata key, which
//! offset, how many bytes were needed) but never a secret and never a copy of the
//! input. Authentication failures are deliberately opaque.

use core::fmt;

use crate::keys::MetaKey;

/// Every failure the core can report.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The content metadata (object metadata or instruction file) is malformed
    /// or inconsistent.
    Format(FormatError),
    /// A JSON document (material description, encryption context or
    /// instruction file) is malformed.
    Json(JsonError),
    /// Authentication failed: a GCM tag, a key commitment or a key wrap did not
    /// verify. Deliberately carries no detail.
    Authentication,
    /// The operation is not supported for this algorithm (for example,
    /// encrypting with the legacy CBC suite).
    Unsupported(Unsupported),
    /// A caller-provided buffer or fixed-capacity store is too small.
    BufferTooSmall {
        /// How many bytes (or entries) would have been needed, when known.
        needed: usize,
    },
    /// A length limit was exceeded (for example GCM's 2^36 - 32 byte
    /// plaintext limit).
    LimitExceeded,
    /// An argument was invalid (wrong key length, all-zero IV, ...).
    InvalidInput(InputError),
    /// The random number generator failed.
    Rng,
}

/// What is wrong with the content metadata.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatError {
    /// The object carries none of the S3EC metadata keys: it is not an
    /// encrypted object (or its envelope was lost).
    NotEncrypted,
    /// Keys exclusive to different format versions are present together
    /// (for example `x-amz-key-v2` and `x-amz-3`).
    Collision {
        /// One of the colliding keys.
        first: MetaKey,
        /// The other colliding key.
        second: MetaKey,
    },
    /// A required key is missing.
    Missing(MetaKey),
    /// The same key appears twice (keys are compared case-insensitively).
    Duplicate(MetaKey),
    /// A value is not valid padded standard base64.
    InvalidBase64(MetaKey),
    /// A decoded value has the wrong length.
    InvalidLength {
        /// The key whose value has the wrong length.
        key: MetaKey,
        /// The length that was found.
        actual: usize,
    },
    /// A value is not one of the values the format allows (unknown wrapping
    /// algorithm, unknown content cipher, tag length other than 128, ...).
    InvalidValue(MetaKey),
    /// The instruction file carries a key that must only be in the object's
    /// metadata (`x-amz-c`, `x-amz-d`, `x-amz-i`): it has been tampered with.
    InstructionFileTampered(MetaKey),
    /// The object metadata requires an instruction file but none was given.
    InstructionFileRequired,
    /// A non-ASCII value could not be decoded (bad RFC 2047 encoded word).
    InvalidEncoding(MetaKey),
    /// The IV or message id is all zero bytes.
    ZeroIv,
    /// The combination of suite and wrapping algorithm is not one any client
    /// writes (for example a legacy wrap in a V3 object).
    InvalidCombination,
}

/// Where and why a JSON document failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset into the document where the problem was found.
    pub offset: usize,
    /// What was wrong.
    pub kind: JsonErrorKind,
}

/// The kinds of JSON failure.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// The document ended early.
    UnexpectedEnd,
    /// A character that is not allowed here.
    UnexpectedChar,
    /// A bad escape sequence.
    InvalidEscape,
    /// A lone or mismatched UTF-16 surrogate in a `\u` escape.
    InvalidSurrogate,
    /// An unescaped control character inside a string.
    ControlChar,
    /// A value that is not a string (or, in an instruction file, a number).
    NotAString,
    /// The same key appears twice in one object.
    DuplicateKey,
    /// Something follows the closing brace.
    TrailingData,
    /// The document is not valid UTF-8.
    NotUtf8,
    /// More entries than a fixed-capacity store can hold.
    TooManyEntries,
}

/// Operations the core refuses.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsupported {
    /// Encryption with a legacy (decrypt-only) suite.
    LegacySuiteEncrypt,
    /// This operation does not apply to this suite.
    WrongSuite,
    /// Wrapping with a legacy (unwrap-only) algorithm.
    LegacyWrapEncrypt,
}

/// Invalid arguments.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputError {
    /// A key has a length this algorithm does not accept.
    KeyLength {
        /// The length given.
        actual: usize,
    },
    /// An IV has the wrong length for the suite.
    IvLength {
        /// The length given.
        actual: usize,
    },
    /// An all-zero IV or message id.
    ZeroIv,
    /// A buffer length or offset outside what was verified or declared.
    OutOfRange,
    /// The ciphertext is too short to hold a tag, or is not a whole number
    /// of blocks.
    Truncated,
}

impl From<FormatError> for Error {
    fn from(e: FormatError) -> Self {
        Error::Format(e)
    }
}

impl From<JsonError> for Error {
    fn from(e: JsonError) -> Self {
        Error::Json(e)
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::InvalidInput(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Format(e) => write!(f, "malformed S3EC content metadata: {e}"),
            Error::Json(e) => write!(f, "malformed JSON at byte {}: {:?}", e.offset, e.kind),
            Error::Authentication => f.write_str("authentication failed"),
            Error::Unsupported(u) => write!(f, "unsupported operation: {u:?}"),
            Error::BufferTooSmall { needed } => {
                write!(f, "buffer too small: {needed} needed")
            }
            Error::LimitExceeded => f.write_str("length limit exceeded"),
            Error::InvalidInput(e) => write!(f, "invalid input: {e:?}"),
            Error::Rng => f.write_str("random number generator failed"),
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::NotEncrypted => f.write_str("the object carries no S3EC envelope"),
            FormatError::Collision { first, second } => write!(
                f,
                "keys of different format versions present together: {first} and {second}"
            ),
            FormatError::Missing(k) => write!(f, "required key {k} is missing"),
            FormatError::Duplicate(k) => write!(f, "key {k} appears more than once"),
            FormatError::InvalidBase64(k) => write!(f, "value of {k} is not valid base64"),
            FormatError::InvalidLength { key, actual } => {
                write!(f, "value of {key} has invalid length {actual}")
            }
            FormatError::InvalidValue(k) => write!(f, "value of {k} is not allowed"),
            FormatError::InstructionFileTampered(k) => write!(
                f,
                "instruction file carries {k}, which belongs only in object metadata"
            ),
            FormatError::InstructionFileRequired => {
                f.write_str("the envelope is in an instruction file, which was not provided")
            }
            FormatError::InvalidEncoding(k) => write!(f, "value of {k} has a bad encoding"),
            FormatError::ZeroIv => f.write_str("IV or message id is all zeros"),
            FormatError::InvalidCombination => {
                f.write_str("suite and wrapping algorithm do not belong together")
            }
        }
    }
}

impl core::error::Error for Error {}
impl core::error::Error for FormatError {}

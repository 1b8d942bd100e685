//! The adapter's error type, and how it travels inside
//! [`object_store::Error`].

use std::fmt;

use s3ec_client::ClientError;

/// The name the adapter gives as `store` in [`object_store::Error::Generic`].
pub const STORE: &str = "S3EC";

/// What can go wrong in the adapter itself (the inner store's own errors
/// are passed through unchanged: `NotFound`, `AlreadyExists`,
/// `Precondition`, ...).
///
/// It reaches the caller as the `source` of an
/// [`object_store::Error::Generic`] whose `store` is [`STORE`]; get it back
/// with [`Error::from_object_store`].
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// Encrypting or decrypting failed: a malformed envelope, a keyring
    /// error, failed authentication (no plaintext was returned), a plaintext
    /// object where an encrypted one was expected, ...
    Client(ClientError),
    /// The object is larger than the adapter decrypts in memory
    /// ([`Builder::max_object_size`](crate::Builder::max_object_size)).
    ObjectTooLarge {
        /// The ciphertext length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The caller's attributes name a metadata key that the envelope uses
    /// (`x-amz-key-v2`, `x-amz-3`, ...).
    ReservedMetadata {
        /// The offending key.
        key: String,
    },
    /// The inner store returned a body of another length than it announced.
    BodyLength {
        /// The announced length.
        expected: u64,
        /// The bytes received.
        received: u64,
    },
    /// The instruction (or sidecar) file is not UTF-8 or is too large.
    BadInstructionFile {
        /// Its path.
        path: String,
    },
    /// A multipart upload was used after `complete` or `abort`.
    UploadFinished,
    /// The configuration is inconsistent (from
    /// [`Builder::build`](crate::Builder::build)).
    Config(&'static str),
}

impl Error {
    /// The adapter's error inside an [`object_store::Error`], if it is one.
    pub fn from_object_store(e: &object_store::Error) -> Option<&Error> {
        match e {
            object_store::Error::Generic { store, source } if *store == STORE => {
                source.downcast_ref::<Error>()
            }
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Client(e) => write!(f, "{e}"),
            Error::ObjectTooLarge { len, max } => write!(
                f,
                "the object is {len} bytes, more than the {max} bytes this adapter decrypts in memory"
            ),
            Error::ReservedMetadata { key } => write!(
                f,
                "the metadata key {key:?} is reserved for the encryption envelope"
            ),
            Error::BodyLength { expected, received } => write!(
                f,
                "the store announced {expected} bytes and returned {received}"
            ),
            Error::BadInstructionFile { path } => write!(
                f,
                "the instruction file {path} is not UTF-8 or is larger than any envelope"
            ),
            Error::UploadFinished => write!(f, "the multipart upload was already completed or aborted"),
            Error::Config(what) => write!(f, "invalid configuration: {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Client(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Error {
        Error::Client(e)
    }
}

impl From<Error> for object_store::Error {
    fn from(e: Error) -> object_store::Error {
        object_store::Error::Generic {
            store: STORE,
            source: Box::new(e),
        }
    }
}

/// An adapter error as an [`object_store::Error`].
pub(crate) fn os_err(e: impl Into<Error>) -> object_store::Error {
    e.into().into()
}

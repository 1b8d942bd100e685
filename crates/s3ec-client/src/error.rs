//! The client's error type.

use std::fmt;

use s3ec_core::{CommitmentPolicy, Suite};
use s3ec_keyring::KeyringError;

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
}

impl ClientError {
    /// Map a core error raised while checking or decrypting content.
    pub(crate) fn from_content(e: s3ec_core::Error) -> ClientError {
        match e {
            s3ec_core::Error::Authentication => ClientError::Authentication,
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
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Format(e) => Some(e),
            ClientError::Keyring(e) => Some(e),
            _ => None,
        }
    }
}

impl From<s3ec_core::Error> for ClientError {
    fn from(e: s3ec_core::Error) -> Self {
        ClientError::Format(e)
    }
}

impl From<KeyringError> for ClientError {
    fn from(e: KeyringError) -> Self {
        ClientError::Keyring(e)
    }
}

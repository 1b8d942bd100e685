//! Errors a person can act on, and the documented exit codes.

use std::fmt;

use s3ec_client::transport::{ErrorKind, TransportError};
use s3ec_client::ClientError;
use s3ec_keyring::KeyringError;

/// The exit codes (documented in `s3ec --help` and the crate README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Exit {
    /// 1: any other failure.
    Other = 1,
    /// 2: bad command line or configuration.
    Usage = 2,
    /// 3: an object, bucket, file or key was not found.
    NotFound = 3,
    /// 4: access denied (S3, KMS or the file system).
    AccessDenied = 4,
    /// 5: authentication failed: tampered ciphertext or envelope, wrong
    /// key, key commitment mismatch.
    Authentication = 5,
    /// 6: network or service unavailable (after retries).
    Network = 6,
    /// 7: the feature is not available in this build.
    NotAvailable = 7,
    /// 8: refused by policy: the object is not encrypted, or reading it
    /// needs a legacy or commitment option.
    Policy = 8,
}

pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  other failure
  2  usage: bad arguments or configuration
  3  not found: object, bucket, local file or key
  4  access denied (S3, KMS, local files)
  5  authentication failed: tampered object or envelope, wrong key
  6  network or service unavailable (after retries)
  7  not available in this build
  8  refused by policy: not encrypted, or needs a legacy/commitment option";

/// A failure of a command.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) exit: Exit,
    pub(crate) message: String,
}

impl CliError {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> CliError {
        CliError {
            exit,
            message: message.into(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError::new(Exit::Usage, message)
    }

    /// Prefix the message with what was being done.
    pub(crate) fn context(mut self, what: impl fmt::Display) -> CliError {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;

fn transport_exit(kind: ErrorKind) -> Exit {
    match kind {
        ErrorKind::NotFound => Exit::NotFound,
        ErrorKind::AccessDenied => Exit::AccessDenied,
        ErrorKind::Unavailable | ErrorKind::Connection => Exit::Network,
        ErrorKind::Unsupported => Exit::NotAvailable,
        _ => Exit::Other,
    }
}

/// The message of an error and its sources, on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

impl From<TransportError> for CliError {
    fn from(e: TransportError) -> CliError {
        CliError::new(transport_exit(e.kind), chain(&e))
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        let exit = match e.kind() {
            std::io::ErrorKind::NotFound => Exit::NotFound,
            std::io::ErrorKind::PermissionDenied => Exit::AccessDenied,
            _ => Exit::Other,
        };
        CliError::new(exit, chain(&e))
    }
}

fn keyring_exit(e: &KeyringError) -> Exit {
    match e {
        KeyringError::LegacyWrappingDisabled { .. } => Exit::Policy,
        KeyringError::ContextMismatch { .. }
        | KeyringError::CekAlgMismatch
        | KeyringError::RelabelledKmsContext
        | KeyringError::UnwrapFailed
        | KeyringError::NoMatchingKeyring { .. } => Exit::Authentication,
        KeyringError::InvalidKey { .. }
        | KeyringError::ContextNotSupported
        | KeyringError::ReservedContextKey { .. }
        | KeyringError::UnsupportedWrap { .. } => Exit::Usage,
        KeyringError::Service { source, .. } => {
            match source
                .downcast_ref::<s3ec_kms::KmsError>()
                .map(|k| k.kind())
            {
                Some(s3ec_kms::KmsErrorKind::AccessDenied) => Exit::AccessDenied,
                Some(s3ec_kms::KmsErrorKind::NotFound) => Exit::NotFound,
                Some(
                    s3ec_kms::KmsErrorKind::InvalidCiphertext
                    | s3ec_kms::KmsErrorKind::IncorrectKey
                    | s3ec_kms::KmsErrorKind::UnknownKey,
                ) => Exit::Authentication,
                _ => Exit::Other,
            }
        }
        KeyringError::Core(_) => Exit::Authentication,
        _ => Exit::Other,
    }
}

/// A hint for errors that a flag fixes.
fn hint(e: &ClientError) -> Option<&'static str> {
    match e {
        ClientError::CommitmentPolicy { .. } => Some(
            "this object does not commit to its key (written by a V1/V2 client); \
             read it with --commitment-policy require-encrypt-allow-decrypt",
        ),
        ClientError::LegacyCbcDisabled | ClientError::RangedGetDisabled => {
            Some("reading it needs --legacy-unauthenticated-modes")
        }
        ClientError::Keyring(KeyringError::LegacyWrappingDisabled { .. }) => {
            Some("reading it needs --legacy-wrapping-algorithms")
        }
        ClientError::NotEncrypted => Some(
            "the object is not encrypted by an S3 Encryption Client; copy it with a plain S3 tool",
        ),
        ClientError::Keyring(KeyringError::ContextMismatch { .. }) => {
            Some("pass the object's encryption context with --context k=v")
        }
        _ => None,
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> CliError {
        let exit = match &e {
            ClientError::Transport(t) => transport_exit(t.kind),
            ClientError::Io(io) => CliError::from(std::io::Error::new(io.kind(), "")).exit,
            ClientError::Authentication
            | ClientError::AuthenticationAfterRelease
            | ClientError::Format(_)
            | ClientError::ObjectChanged
            | ClientError::InvalidBodyLength { .. }
            | ClientError::UnexpectedBodyLength { .. } => Exit::Authentication,
            ClientError::Keyring(k) => keyring_exit(k),
            ClientError::CommitmentPolicy { .. }
            | ClientError::LegacyCbcDisabled
            | ClientError::RangedGetDisabled
            | ClientError::NotEncrypted => Exit::Policy,
            ClientError::InstructionFileMissing { .. } => Exit::NotFound,
            ClientError::Config(_) => Exit::Usage,
            _ => Exit::Other,
        };
        let mut message = match &e {
            ClientError::Authentication => {
                "authentication failed: the object was tampered with, or was not made with this key"
                    .to_string()
            }
            other => chain(other),
        };
        if let Some(h) = hint(&e) {
            message.push_str(" (");
            message.push_str(h);
            message.push(')');
        }
        CliError::new(exit, message)
    }
}

impl From<KeyringError> for CliError {
    fn from(e: KeyringError) -> CliError {
        CliError::new(keyring_exit(&e), chain(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let t = |k| CliError::from(TransportError::new(k, "x")).exit;
        assert_eq!(t(ErrorKind::NotFound), Exit::NotFound);
        assert_eq!(t(ErrorKind::AccessDenied), Exit::AccessDenied);
        assert_eq!(t(ErrorKind::Connection), Exit::Network);
        assert_eq!(t(ErrorKind::Unavailable), Exit::Network);
        assert_eq!(t(ErrorKind::Other), Exit::Other);
        let c = |e| CliError::from(e).exit;
        assert_eq!(c(ClientError::Authentication), Exit::Authentication);
        assert_eq!(c(ClientError::NotEncrypted), Exit::Policy);
        assert_eq!(
            c(ClientError::Keyring(KeyringError::UnwrapFailed)),
            Exit::Authentication
        );
        assert_eq!(
            c(ClientError::Transport(TransportError::new(
                ErrorKind::AccessDenied,
                "x"
            ))),
            Exit::AccessDenied
        );
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(CliError::from(io).exit, Exit::AccessDenied);
        assert!(EXIT_CODES_HELP.contains("4  access denied"));
    }
}

//! Refusals for the right reason: the classes of `expect_error`
//! (`../shared/interop/VECTOR-FORMAT.md`, "Negative cases"), the class of a
//! client error, and the match between them.
//!
//! A transport, setup or missing-file failure has no class: it never counts
//! as a refusal, whatever the case expects.

use std::fmt;

use s3ec_client::ClientError;
use s3ec_core::{Error as CoreError, InputError, WrapAlg};
use s3ec_keyring::KeyringError;

/// Why a negative case must be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Class {
    /// The envelope is malformed or inconsistent.
    Format,
    /// Well formed, but the reader's configuration refuses it.
    Policy,
    /// The data key cannot be unwrapped, its binding fails, or no key fits.
    Key,
    /// The stored encryption context differs from the caller's.
    Context,
    /// The V3 key commitment does not match.
    Commitment,
    /// The body fails its check (GCM tag, CBC padding).
    Authentication,
}

impl Class {
    pub(crate) const ALL: [Class; 6] = [
        Class::Format,
        Class::Policy,
        Class::Key,
        Class::Context,
        Class::Commitment,
        Class::Authentication,
    ];

    /// The name in `case.json`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Class::Format => "format",
            Class::Policy => "policy",
            Class::Key => "key",
            Class::Context => "context",
            Class::Commitment => "commitment",
            Class::Authentication => "authentication",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == s)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `expect_error` value: a class or a list of equally right classes.
pub(crate) fn parse_expected(v: &serde_json::Value) -> Result<Vec<Class>, String> {
    let one = |v: &serde_json::Value| -> Result<Class, String> {
        let s = v
            .as_str()
            .ok_or_else(|| format!("expect_error: {v} is not a string"))?;
        Class::parse(s).ok_or_else(|| format!("expect_error: unknown class {s:?}"))
    };
    let classes = match v {
        serde_json::Value::Array(items) => items.iter().map(one).collect::<Result<Vec<_>, _>>()?,
        other => vec![one(other)?],
    };
    if classes.is_empty() {
        return Err("expect_error: empty list".into());
    }
    Ok(classes)
}

/// The JSON form of a list of classes (a string for one).
pub(crate) fn to_json(classes: &[Class]) -> serde_json::Value {
    match classes {
        [one] => serde_json::Value::String(one.name().into()),
        many => serde_json::Value::Array(
            many.iter()
                .map(|c| serde_json::Value::String(c.name().into()))
                .collect(),
        ),
    }
}

/// Where the error came from: the envelope and key (parsing, policy,
/// keyring, key commitment), or the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// `codec::open_envelope`: an authentication failure here is the V3 key
    /// commitment.
    Open,
    /// The body's check.
    Body,
    /// A whole client get: the stage is not known (an authentication
    /// failure may be the commitment or the body).
    Get,
}

fn core_class(e: &CoreError, stage: Stage) -> Option<Class> {
    match e {
        CoreError::Format(_)
        | CoreError::Json(_)
        | CoreError::Unsupported(_)
        | CoreError::LimitExceeded => Some(Class::Format),
        // A data key of a length the suite cannot take: what the key
        // unwrapped to is wrong.
        CoreError::InvalidInput(InputError::KeyLength { .. }) => Some(Class::Key),
        CoreError::InvalidInput(_) => Some(Class::Format),
        CoreError::Authentication => Some(match stage {
            Stage::Open => Class::Commitment,
            Stage::Body | Stage::Get => Class::Authentication,
        }),
        // Internal: an arena too small, no randomness.
        _ => None,
    }
}

fn keyring_class(e: &KeyringError, stage: Stage) -> Option<Class> {
    match e {
        KeyringError::LegacyWrappingDisabled { .. } => Some(Class::Policy),
        KeyringError::ContextMismatch { .. } => Some(Class::Context),
        KeyringError::CekAlgMismatch
        | KeyringError::RelabelledKmsContext
        | KeyringError::UnwrapFailed
        | KeyringError::UnsupportedWrap { .. }
        | KeyringError::NoMatchingKeyring { .. } => Some(Class::Key),
        KeyringError::Core(c) => core_class(c, stage),
        // Setup (a bad master key, a context the keyring cannot take) or
        // the key service failing: not a refusal of the object.
        _ => None,
    }
}

/// The class of a client error, `None` for failures that are not a
/// refusal of the object (transport, I/O, configuration, a missing
/// instruction file, cleanup).
pub(crate) fn classify(e: &ClientError, stage: Stage) -> Option<Class> {
    match e {
        ClientError::Format(c) => core_class(c, stage),
        ClientError::CommitmentPolicy { .. }
        | ClientError::LegacyCbcDisabled
        | ClientError::RangedGetDisabled => Some(Class::Policy),
        ClientError::Keyring(k) => keyring_class(k, stage),
        ClientError::Authentication | ClientError::AuthenticationAfterRelease => {
            Some(match stage {
                Stage::Open => Class::Commitment,
                Stage::Body | Stage::Get => Class::Authentication,
            })
        }
        // No S3EC metadata at all: keys missing.
        ClientError::NotEncrypted
        | ClientError::InstructionFileTooLarge { .. }
        | ClientError::InstructionFileNotUtf8
        | ClientError::InvalidBodyLength { .. }
        | ClientError::DeclaredLengthMismatch { .. }
        | ClientError::RangedGetUnsupported { .. } => Some(Class::Format),
        _ => None,
    }
}

/// Whether a refusal of class `got` (`None`: not a refusal) answers a case
/// that expects one of `expected`. `wrap` is the case's wrapping algorithm:
/// a V1 `RSA` (PKCS#1 v1.5) unwrap fails by implicit rejection (the keyring
/// yields a stand-in key), so its `key` refusal shows as `authentication`.
pub(crate) fn check(
    expected: &[Class],
    got: Option<Class>,
    wrap: Option<WrapAlg>,
) -> Result<(), String> {
    let want = || {
        expected
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let Some(got) = got else {
        return Err(format!(
            "expected a refusal ({}), got a failure that is not one (transport, setup, missing file)",
            want()
        ));
    };
    if expected.contains(&got) {
        return Ok(());
    }
    if got == Class::Authentication
        && expected.contains(&Class::Key)
        && wrap == Some(WrapAlg::RsaPkcs1)
    {
        return Ok(());
    }
    Err(format!(
        "refused for the wrong reason: {got}, expected {}",
        want()
    ))
}

/// The wrapping algorithm of a case's `wrap_alg`: a V1/V2 name or a V3
/// code (`None` if unknown).
pub(crate) fn wrap_of(name: &str) -> Option<WrapAlg> {
    match name {
        "02" => return Some(WrapAlg::AesGcm),
        "12" => return Some(WrapAlg::KmsContext),
        "22" => return Some(WrapAlg::RsaOaepSha1),
        _ => {}
    }
    [
        WrapAlg::KmsContext,
        WrapAlg::Kms,
        WrapAlg::AesGcm,
        WrapAlg::AesWrap,
        WrapAlg::AesEcb,
        WrapAlg::RsaOaepSha1,
        WrapAlg::RsaOaepSha256,
        WrapAlg::RsaPkcs1,
    ]
    .into_iter()
    .find(|w| w.name() == name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use s3ec_client::transport::{ErrorKind, TransportError};
    use s3ec_core::FormatError;

    #[test]
    fn classes_round_trip_and_parse() {
        for c in Class::ALL {
            assert_eq!(Class::parse(c.name()), Some(c));
            assert_eq!(parse_expected(&to_json(&[c])).unwrap(), vec![c]);
        }
        let two = [Class::Key, Class::Format];
        assert_eq!(parse_expected(&to_json(&two)).unwrap(), two.to_vec());
        assert!(parse_expected(&serde_json::json!("keys")).is_err());
        assert!(parse_expected(&serde_json::json!([])).is_err());
        assert!(parse_expected(&serde_json::json!(3)).is_err());
        assert!(parse_expected(&serde_json::json!(["key", 1])).is_err());
    }

    #[test]
    fn client_errors_are_classified() {
        let fmt = ClientError::Format(CoreError::Format(FormatError::ZeroIv));
        assert_eq!(classify(&fmt, Stage::Open), Some(Class::Format));
        let auth = ClientError::Authentication;
        assert_eq!(classify(&auth, Stage::Open), Some(Class::Commitment));
        assert_eq!(classify(&auth, Stage::Body), Some(Class::Authentication));
        assert_eq!(classify(&auth, Stage::Get), Some(Class::Authentication));
        let k = |e| ClientError::Keyring(e);
        assert_eq!(
            classify(
                &k(KeyringError::ContextMismatch {
                    missing: vec![],
                    unexpected: vec![],
                    differing: vec![],
                    expected_given: true
                }),
                Stage::Open
            ),
            Some(Class::Context)
        );
        assert_eq!(
            classify(&k(KeyringError::UnwrapFailed), Stage::Open),
            Some(Class::Key)
        );
        assert_eq!(
            classify(&k(KeyringError::CekAlgMismatch), Stage::Open),
            Some(Class::Key)
        );
        assert_eq!(
            classify(
                &k(KeyringError::LegacyWrappingDisabled {
                    wrap: WrapAlg::AesEcb
                }),
                Stage::Open
            ),
            Some(Class::Policy)
        );
        assert_eq!(
            classify(&ClientError::LegacyCbcDisabled, Stage::Open),
            Some(Class::Policy)
        );
        // Not refusals.
        let transport = ClientError::Transport(TransportError::new(ErrorKind::Unavailable, "503"));
        assert_eq!(classify(&transport, Stage::Get), None);
        let missing = ClientError::InstructionFileMissing {
            key: "k.instruction".into(),
        };
        assert_eq!(classify(&missing, Stage::Get), None);
        let io = ClientError::Io(std::io::Error::other("disk"));
        assert_eq!(classify(&io, Stage::Body), None);
        let setup = k(KeyringError::InvalidKey { reason: "x".into() });
        assert_eq!(classify(&setup, Stage::Open), None);
        let service = k(KeyringError::Service {
            operation: "Decrypt",
            source: "throttled".into(),
        });
        assert_eq!(classify(&service, Stage::Open), None);
    }

    #[test]
    fn matching() {
        let key_or_format = [Class::Key, Class::Format];
        assert!(check(&key_or_format, Some(Class::Format), None).is_ok());
        assert!(check(&key_or_format, Some(Class::Key), None).is_ok());
        let e = check(&key_or_format, Some(Class::Authentication), None).unwrap_err();
        assert!(
            e.contains("wrong reason: authentication, expected key or format"),
            "{e}"
        );
        let e = check(&[Class::Authentication], None, None).unwrap_err();
        assert!(e.contains("not one"), "{e}");
        // Implicit rejection: only for V1 RSA, only key -> authentication.
        assert!(check(
            &[Class::Key],
            Some(Class::Authentication),
            Some(WrapAlg::RsaPkcs1)
        )
        .is_ok());
        assert!(check(
            &[Class::Key],
            Some(Class::Authentication),
            Some(WrapAlg::RsaOaepSha1)
        )
        .is_err());
        assert!(check(
            &[Class::Format],
            Some(Class::Authentication),
            Some(WrapAlg::RsaPkcs1)
        )
        .is_err());
        assert_eq!(wrap_of("RSA"), Some(WrapAlg::RsaPkcs1));
        assert_eq!(wrap_of("kms+context"), Some(WrapAlg::KmsContext));
        assert_eq!(wrap_of("12"), Some(WrapAlg::KmsContext));
        assert_eq!(wrap_of("nope"), None);
    }
}

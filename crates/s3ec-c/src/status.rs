//! Status codes: what every function of the C ABI returns.

use s3ec_core::{Error, FormatError};

/// A failure, as the C ABI reports it (`S3EC_ERR_*`, negative).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A required pointer was NULL (or a NULL buffer with a non-zero length).
    NullPointer,
    /// The state was not initialised, was wiped, or is in the wrong phase
    /// (for example `update` after `finish`).
    State,
    /// The state's address is not aligned as the header requires.
    Alignment,
    /// An argument is invalid (key length, format or placement value, ...).
    InvalidInput,
    /// The envelope (object metadata or instruction file) is malformed.
    Format,
    /// A JSON document (metadata map, material description, instruction
    /// file) is malformed, or a value is not UTF-8.
    Json,
    /// The envelope is in an instruction file, which was not given.
    InstructionFileRequired,
    /// Authentication failed: wrong key, or the object or its envelope was
    /// modified or truncated. Nothing was released.
    Authentication,
    /// Decryption asked for before the whole object was authenticated.
    NotVerified,
    /// The object is not committing (V1/V2) and the caller required key
    /// commitment (the default).
    CommitmentRequired,
    /// Not supported here: legacy suites and wraps, a key of the wrong kind
    /// for the object's wrap (the C library unwraps `AES/GCM` only).
    Unsupported,
    /// An output buffer is too small (the length needed is reported).
    BufferTooSmall,
    /// A length limit was exceeded (GCM's 2^36 - 32 bytes per object, an
    /// offset or range outside the object).
    Limit,
    /// The random callback failed.
    Rng,
    /// The RSA public key is malformed or shorter than 2048 bits.
    RsaKey,
}

impl Status {
    /// The C code (`S3EC_ERR_*`).
    pub const fn code(self) -> i32 {
        match self {
            Status::NullPointer => -1,
            Status::State => -2,
            Status::Alignment => -3,
            Status::InvalidInput => -4,
            Status::Format => -5,
            Status::Json => -6,
            Status::InstructionFileRequired => -7,
            Status::Authentication => -8,
            Status::NotVerified => -9,
            Status::CommitmentRequired => -10,
            Status::Unsupported => -11,
            Status::BufferTooSmall => -12,
            Status::Limit => -13,
            Status::Rng => -14,
            Status::RsaKey => -15,
        }
    }

    /// Every status, in code order.
    pub const ALL: [Status; 15] = [
        Status::NullPointer,
        Status::State,
        Status::Alignment,
        Status::InvalidInput,
        Status::Format,
        Status::Json,
        Status::InstructionFileRequired,
        Status::Authentication,
        Status::NotVerified,
        Status::CommitmentRequired,
        Status::Unsupported,
        Status::BufferTooSmall,
        Status::Limit,
        Status::Rng,
        Status::RsaKey,
    ];

    /// The status of a C code, if it is one.
    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// What it means, NUL-terminated (for `s3ec_error_message`).
    pub const fn message_nul(self) -> &'static str {
        match self {
            Status::NullPointer => "a required pointer is NULL\0",
            Status::State => "the state is not initialised, was wiped, or is in the wrong phase\0",
            Status::Alignment => "the state is not aligned as s3ec.h requires\0",
            Status::InvalidInput => "invalid argument (key length, format or placement value)\0",
            Status::Format => "the S3EC envelope (object metadata or instruction file) is malformed\0",
            Status::Json => "malformed JSON (metadata map, material description or instruction file)\0",
            Status::InstructionFileRequired => {
                "the envelope is in an instruction file, which was not given\0"
            }
            Status::Authentication => {
                "authentication failed: wrong key, or the object or its envelope was modified or truncated\0"
            }
            Status::NotVerified => "the object has not been authenticated yet: nothing is released\0",
            Status::CommitmentRequired => {
                "the object has no key commitment (V1/V2) and commitment is required\0"
            }
            Status::Unsupported => "not supported (legacy suite or wrap, or a key of the wrong kind)\0",
            Status::BufferTooSmall => "the output buffer is too small\0",
            Status::Limit => "a length limit was exceeded, or a range is outside the object\0",
            Status::Rng => "the random callback failed\0",
            Status::RsaKey => "the RSA public key is malformed or shorter than 2048 bits\0",
        }
    }

    /// What it means.
    pub fn message(self) -> &'static str {
        let m = self.message_nul();
        &m[..m.len() - 1]
    }
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for Status {}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        match e {
            Error::Format(FormatError::InstructionFileRequired) => Status::InstructionFileRequired,
            Error::Format(_) => Status::Format,
            Error::Json(_) => Status::Json,
            Error::Authentication => Status::Authentication,
            Error::Unsupported(_) => Status::Unsupported,
            Error::BufferTooSmall { .. } => Status::BufferTooSmall,
            Error::LimitExceeded => Status::Limit,
            Error::InvalidInput(s3ec_core::InputError::OutOfRange) => Status::Limit,
            Error::InvalidInput(_) => Status::InvalidInput,
            Error::Rng => Status::Rng,
            _ => Status::InvalidInput,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_negative_and_round_trip() {
        for (i, s) in Status::ALL.into_iter().enumerate() {
            assert_eq!(s.code(), -(i as i32) - 1);
            assert_eq!(Status::from_code(s.code()), Some(s));
            assert!(s.message_nul().ends_with('\0'));
            assert!(!s.message().contains('\0'));
        }
        assert_eq!(Status::from_code(0), None);
        assert_eq!(Status::from_code(-16), None);
    }
}

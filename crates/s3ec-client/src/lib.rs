//! # s3ec-client
//!
//! Encrypt and decrypt S3 objects client-side, byte-compatible with AWS's
//! Amazon S3 Encryption Clients. [`codec`] is the transport-free heart:
//! envelope in, checked content key out (and the reverse on put).

pub mod codec;
pub mod error;
pub mod transport;

pub use codec::{DecryptPolicy, EnvelopeInfo, EnvelopeLocation, OpenedEnvelope, Sealed};
pub use error::ClientError;

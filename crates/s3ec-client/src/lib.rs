//! # s3ec-client
//!
//! Encrypt and decrypt S3 objects client-side, byte-compatible with AWS's
//! Amazon S3 Encryption Clients.
//!
//! * [`Client`] (blocking, over a [`transport::Transport`] such as
//!   `s3ec-reqwest`) and [`AsyncClient`] (over a
//!   [`transport::AsyncTransport`] such as `s3ec-aws-sdk`): put, get
//!   (authenticated, memory-bounded), ranged get (legacy, unauthenticated),
//!   inspect, delete. Configured in one place with [`config::Builder`].
//! * [`codec`]: the transport-free heart: envelope in, checked content key
//!   out (and the reverse on put).
//! * [`multipart`]: low-level multipart uploads, part by part, saved and
//!   resumed in another process.
//! * [`rotate`]: key rotation, rewrapping an object's data key under a
//!   new master key without touching its body.
//! * [`get`] and [`put`]: the decrypt state machine and part bookkeeping
//!   the two clients share, and their options and outputs. Envelope
//!   reading, head, delete, low-level multipart and rotation are written
//!   once as `async` code that the async client awaits and the blocking
//!   client runs on its own thread over its blocking transport.

#[cfg(feature = "async")]
pub mod async_client;
pub mod backend;
pub mod client;
pub mod codec;
pub mod config;
pub mod error;
pub mod get;
pub mod multipart;
mod ops;
pub(crate) mod parallel;
pub mod put;
mod ready;
pub mod request;
pub mod rotate;
pub mod transport;
mod writeback;

#[cfg(feature = "async")]
pub use async_client::AsyncClient;
pub use backend::Backend;
pub use client::Client;
pub use codec::{DecryptPolicy, EnvelopeInfo, EnvelopeLocation, OpenedEnvelope, Sealed};
pub use config::{AsyncClientBuilder, ClientBuilder, ClientConfig, GetStrategy};
pub use error::{CleanupFailure, ClientError, ConfigError, LeftBehind};
pub use get::PlaintextRange;
pub use get::{DecryptMode, GetOptions, GetOutput, HeadOutput, RangeOutput};
pub use multipart::{CompletedUpload, MultipartError, MultipartUpload};
pub use put::{PutOptions, PutOutput};
pub use request::{ObjectOp, PutObject};
pub use rotate::{RotateOptions, RotateOutput, RotationError};
#[cfg(feature = "async")]
pub use transport::AsyncTransport;
pub use transport::{
    ChecksumAlgorithm, ObjectHead, PutFields, ServerSideEncryption, Transport, TransportError,
};

// The types an ordinary program needs, so that it depends on this crate,
// one transport and one keyring crate only.
pub use s3ec_core::envelope::Placement;
pub use s3ec_core::{CommitmentPolicy, FormatVersion, Suite, WrapAlg};
pub use s3ec_keyring::{
    AsyncKeyring, AsyncKeyrings, Context, Keyring, KeyringError, Keyrings, LegacyOptions, Local,
};

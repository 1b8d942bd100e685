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
//!   the two clients share, and their options and outputs.

#[cfg(feature = "async")]
pub mod async_client;
pub mod client;
pub mod codec;
pub mod config;
pub mod error;
pub mod get;
pub mod multipart;
pub mod put;
pub mod rotate;
pub mod transport;

#[cfg(feature = "async")]
pub use async_client::AsyncClient;
pub use client::Client;
pub use codec::{DecryptPolicy, EnvelopeInfo, EnvelopeLocation, OpenedEnvelope, Sealed};
pub use config::{AsyncClientBuilder, ClientBuilder, ClientConfig, GetStrategy};
pub use error::{CleanupFailure, ClientError, ConfigError, LeftBehind};
pub use get::{DecryptMode, GetOptions, GetOutput, RangeOutput};
pub use multipart::{CompletedUpload, MultipartError, MultipartUpload};
pub use put::{PutOptions, PutOutput};
pub use rotate::{RotateOptions, RotateOutput, RotationError};

/// The AES-256-GCM backend the client runs every content cipher on, chosen
/// here and nowhere else: AWS-LC ([`s3ec_aws_lc::DefaultBackend`]) with the
/// `aws-lc` feature (on by default), else s3ec-core's pure-Rust
/// [`RustCrypto`](s3ec_core::cipher::RustCrypto). Both give the same bytes
/// for every input; the equivalence is tested in `s3ec-aws-lc`.
#[cfg(feature = "aws-lc")]
pub type Backend = s3ec_aws_lc::DefaultBackend;

/// The AES-256-GCM backend the client runs every content cipher on, chosen
/// here and nowhere else: s3ec-core's pure-Rust
/// [`RustCrypto`](s3ec_core::cipher::RustCrypto), because the `aws-lc`
/// feature is off.
#[cfg(not(feature = "aws-lc"))]
pub type Backend = s3ec_core::cipher::RustCrypto;

//! The AES-256-GCM backend of every content cipher in the client, chosen
//! in this one place.

/// The AES-256-GCM backend the client runs every content cipher on, chosen
/// here and nowhere else (re-exported as `s3ec_client::Backend`): AWS-LC ([`s3ec_aws_lc::DefaultBackend`]) with the
/// `aws-lc` feature (on by default), else s3ec-core's pure-Rust
/// [`RustCrypto`](s3ec_core::cipher::RustCrypto). Both give the same bytes
/// for every input; the equivalence is tested in `s3ec-aws-lc`.
#[cfg(feature = "aws-lc")]
pub type Backend = s3ec_aws_lc::DefaultBackend;

/// The AES-256-GCM backend the client runs every content cipher on, chosen
/// here and nowhere else (re-exported as `s3ec_client::Backend`): s3ec-core's pure-Rust
/// [`RustCrypto`](s3ec_core::cipher::RustCrypto), because the `aws-lc`
/// feature is off.
#[cfg(not(feature = "aws-lc"))]
pub type Backend = s3ec_core::cipher::RustCrypto;

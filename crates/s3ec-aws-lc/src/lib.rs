//! # s3ec-aws-lc
//!
//! AWS-LC-backed primitives for s3ec. This crate holds the project's one FFI
//! module ([`ffi`]); every other crate forbids `unsafe`.
//!
//! - [`ffi::rsa`]: RSA-OAEP with SHA-256 and MGF1-SHA-1, the legacy
//!   `RSA/ECB/OAEPWithSHA-256AndMGF1Padding` wrap as Java's SunJCE provider
//!   wrote it, which `aws-lc-rs`'s safe API does not offer. Constant-time
//!   (not open to the Marvin attack, RUSTSEC-2023-0071).
//! - [`AwsLc`] ([`gcm`]): s3ec-core's streaming AES-256-GCM
//!   [`GcmBackend`](s3ec_core::cipher::GcmBackend) on AWS-LC, bit-for-bit
//!   equal to the core's pure-Rust default and several times faster on
//!   machines with AES/CLMUL vector extensions; its one unsafe part, the
//!   `EVP_CIPHER` streaming calls, is [`ffi::gcm`].
//!
//! # Choosing the backend
//!
//! [`DefaultBackend`] is the backend a `std` build of s3ec should use; the
//! client selects it in one place (a type parameter of its content cipher)
//! and nowhere else.
#![deny(unsafe_code)]

pub mod ffi;
pub mod gcm;

pub use gcm::{AwsLc, AwsLcDecrypt, AwsLcEncrypt, AwsLcKey, AwsLcVerify};

/// The AES-256-GCM backend `std` builds of s3ec use: [`AwsLc`].
///
/// This crate only builds where `aws-lc-sys` builds (every tier-1 target),
/// so the alias is always `AwsLc` here; a build that cannot link AWS-LC
/// leaves this crate out and keeps s3ec-core's default,
/// [`RustCrypto`](s3ec_core::cipher::RustCrypto), which gives identical
/// results. Name this alias (not `AwsLc`) where a backend is chosen, so the
/// choice stays in one place.
///
/// ```
/// use s3ec_aws_lc::DefaultBackend;
/// use s3ec_core::cipher::gcm::GcmEncryptor;
/// let mut enc = GcmEncryptor::<DefaultBackend>::with_backend(&[7; 32], &[1; 12], b"")?;
/// let mut buf = *b"data";
/// enc.update(&mut buf)?;
/// let _tag = enc.finish();
/// # Ok::<(), s3ec_core::Error>(())
/// ```
pub type DefaultBackend = AwsLc;

//! # s3ec-aws-lc
//!
//! AWS-LC-backed primitives for s3ec. This crate holds the project's one FFI
//! module ([`ffi`]); every other crate forbids `unsafe`.
//!
//! - [`ffi::rsa`]: RSA-OAEP with SHA-256 and MGF1-SHA-1, the legacy
//!   `RSA/ECB/OAEPWithSHA-256AndMGF1Padding` wrap as Java's SunJCE provider
//!   wrote it, which `aws-lc-rs`'s safe API does not offer. Constant-time
//!   (not open to the Marvin attack, RUSTSEC-2023-0071).
#![deny(unsafe_code)]

pub mod ffi;

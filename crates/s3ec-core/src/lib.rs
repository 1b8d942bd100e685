//! # s3ec-core
//!
//! The `no_std`, allocation-free, `unsafe`-free core of an Amazon S3
//! Encryption Client: the content-metadata envelope (V1, V2, V3), material
//! descriptions and encryption contexts, the algorithm suites, key
//! commitment, allocation-free key wraps and a sans-IO streaming cipher over
//! caller buffers.
//!
//! The core never does I/O, never allocates and never picks a randomness
//! source: callers pass a `rand_core` cryptographic RNG.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

#[cfg(test)]
#[macro_use]
extern crate std;

pub mod arena;
pub mod b64;
pub mod cipher;
pub mod danger;
pub mod data_key;
pub mod envelope;
pub mod error;
pub mod json;
pub mod keys;
pub mod legacy;
pub mod matdesc;
pub mod rfc2047;
pub mod suite;
pub mod wrap;

pub use arena::Arena;
pub use data_key::DataKey;
pub use error::{Error, FormatError, InputError, JsonError, JsonErrorKind, Unsupported};
pub use keys::MetaKey;
pub use suite::{CommitmentPolicy, FormatVersion, Suite, WrapAlg};

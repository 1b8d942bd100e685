//! The project's only `unsafe` code: thin, commented calls into AWS-LC
//! (`aws-lc-sys`) for what `aws-lc-rs`'s safe API does not offer.
#![allow(unsafe_code)]

pub mod gcm;
pub mod rsa;

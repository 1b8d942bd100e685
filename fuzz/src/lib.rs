//! Shared generators and checks for the s3ec-core fuzz targets.
//!
//! The targets themselves (`fuzz_targets/*.rs`) are thin: they turn the
//! fuzzer's bytes into inputs with the generators here and run the checks
//! here. Everything panics on a violated property, which libFuzzer reports
//! as a crash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod envelope;
pub mod gen;
pub mod json_ref;
pub mod refs;
pub mod rng;

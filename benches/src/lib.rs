//! Benchmarks for s3ec; see `benches/`. Run with `cargo bench -p s3ec-benches`.
//!
//! This library is empty: the package exists only for its bench targets.
#![no_std]

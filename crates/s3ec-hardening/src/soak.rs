//! The chaos soak (see the crate docs).

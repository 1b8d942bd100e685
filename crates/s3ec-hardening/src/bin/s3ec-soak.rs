//! `s3ec-soak`: the chaos soak.
fn main() {}

//! `include/s3ec.h` is what cbindgen generates from `src/ffi.rs` now
//! (`S3EC_BLESS=1 cargo test -p s3ec-c --test header` rewrites it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

#[test]
fn header_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/ffi.rs"))
        .generate()
        .expect("cbindgen")
        .write(&mut generated);
    let path = dir.join("include/s3ec.h");
    if std::env::var_os("S3EC_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: run S3EC_BLESS=1 cargo test -p s3ec-c --test header",
        path.display()
    );
}

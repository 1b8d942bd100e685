//! The one lookup of the shared reference folder (`S3EC_SHARED_DIR`, else
//! `<workspace>/../shared`), for the test kit and, through
//! `#[path = "../../s3ec-testkit/src/shared.rs"] mod shared;`, for the tests of
//! crates that cannot depend on the test kit (the core and its neighbours).
//! It has no dependencies beyond `std`.
//!
//! Tests that read the folder call [`require_shared`] /
//! [`require_interop_vectors`]: without the folder they skip with a note,
//! except under CI (`CI` set, as CI services set it), where a missing folder
//! is a failure, so that a misconfigured run cannot pass by skipping.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

/// The workspace root: two levels above the including crate's manifest
/// (every crate lives in `crates/<name>`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// Where the shared folder should be (whether or not it exists).
pub fn shared_dir_path() -> PathBuf {
    match std::env::var_os("S3EC_SHARED_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => workspace_root().join("..").join("shared"),
    }
}

/// The shared folder, if it exists.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = shared_dir_path();
    dir.is_dir().then_some(dir)
}

/// Whether this run is CI (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// `sub` inside the shared folder, for the test `what`: `None` (with a
/// note) when it is missing outside CI; a panic when it is missing under CI.
pub fn require(sub: &str, what: &str) -> Option<PathBuf> {
    require_in(shared_dir_path().join(sub), in_ci(), what)
}

/// [`require`] for the folder `dir`, with CI on or off.
pub fn require_in(dir: PathBuf, ci: bool, what: &str) -> Option<PathBuf> {
    if dir.is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "{what}: {} not found (set S3EC_SHARED_DIR to the shared folder)",
        dir.display()
    );
    assert!(!ci, "{msg}; CI is set, so this is a failure, not a skip");
    eprintln!("note: {msg}; skipped");
    None
}

/// The shared folder, as [`require`] does.
pub fn require_shared(what: &str) -> Option<PathBuf> {
    require("", what)
}

/// `<shared>/interop/vectors`, as [`require`] does.
pub fn require_interop_vectors(what: &str) -> Option<PathBuf> {
    require("interop/vectors", what)
}

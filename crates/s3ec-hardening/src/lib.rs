//! # s3ec-hardening
//!
//! Two checks of what the s3ec clients *release*, kept apart from the
//! crates they check (not published):
//!
//! - **The zero-release harness** (`tests/zero_release.rs`,
//!   `tests/faults.rs`, and the CLI's `crates/s3ec-cli/tests/zero_release.rs`):
//!   every decrypt path — the core's streaming decryption, the blocking and
//!   async clients' get in every [`GetStrategy`](s3ec_client::GetStrategy),
//!   ranged gets with and without their option, get to a path, and the
//!   `s3ec` command line — runs every negative vector (the project's
//!   `test-vectors/` and the shared ones, [`vectors`]) and every fault the
//!   test kit's proxy injects, into a [`sink::Recorder`] that keeps what it
//!   was handed. Without the `danger` option it must have been handed
//!   nothing; what each opt-in may hand out is stated (and checked) in
//!   [`may_release`].
//! - **The chaos soak** ([`soak`], the `s3ec-soak` binary): both clients
//!   against moto through the fault proxy with random faults, puts (single
//!   and multipart) and gets in a loop; afterwards every object reads back
//!   exactly or was never created, no multipart upload is left open, and
//!   nothing unauthenticated was released. `cargo xtask ci` runs 45 s of it;
//!   `cargo run --release -p s3ec-hardening --bin s3ec-soak -- --secs 600`
//!   is the ten-minute run (`docs/hardening.md`).

pub mod live;
pub mod sink;
pub mod soak;
pub mod vectors;

/// What a decrypt path may hand its sink for a refused object, by the
/// option that allows it. Everything not listed here: nothing.
///
/// - `danger_delayed_authentication` (GCM bodies decrypted as they stream
///   in): plaintext of a body whose tag then fails — only once every
///   envelope check (format, policy, key unwrap, context, commitment) has
///   passed, so only for a refusal of class `authentication`; the get then
///   ends with `AuthenticationAfterRelease`. At most the body's length
///   minus the 16-byte tag.
/// - Ranged gets (`LegacyOptions::unauthenticated_modes`): AES-CTR
///   plaintext of the requested range, never checked against the tag;
///   likewise only after every envelope check passed (class
///   `authentication`), and at most the range's length.
/// - The core's legacy `CbcDecryptor` (AES-CBC has no tag): the whole
///   blocks it was given but the last, before the padding is checked
///   (always fewer bytes than the body); with a V1 RSA (PKCS#1 v1.5) wrap
///   whose unwrap failed, these are blocks decrypted under the pseudo-random
///   key of implicit rejection (refused as `key`), not plaintext; the clients never use it on
///   bodies up to 8 MiB (they hold those whole until the padding checks).
///
/// `classes` is the case's `expect_error`: release is allowed when
/// `authentication` is among them (a case may list several classes when a
/// stricter reader rightly refuses earlier).
pub fn may_release(classes: &[String]) -> bool {
    classes.iter().any(|c| c == "authentication")
}

//! The content cipher: streaming AES-256-GCM over caller buffers, key
//! commitment, and the glue the client uses.
//!
//! * [`backend`]: the [`GcmBackend`] seam and the
//!   default pure-Rust [`RustCrypto`] backend.
//! * [`gcm`]: [`GcmEncryptor`], [`GcmVerifier`] → [`Verified`],
//!   [`open_in_place`]. Authenticated decryption never releases plaintext
//!   before the tag has been checked.
//! * [`kdf`]: HKDF-SHA512 key commitment of suite `0x0073`.
//! * [`resume`]: [`ResumableEncryptor`], whose position can be sealed and
//!   continued in another process (resumable multipart uploads).
//! * [`content`]: [`ContentEncryption`] and [`ContentKey`], from a suite and a
//!   data key to a cipher and the envelope values.
//!
//! Unauthenticated decryption (delayed authentication, ranged GET) lives in
//! [`crate::danger`]; legacy AES-CBC in [`crate::legacy`].
//!
//! ```
//! use s3ec_core::cipher::{GcmEncryptor, GcmVerifier};
//! let (key, iv) = ([9u8; 32], [3u8; 12]);
//! let mut data = vec![0x5a; 100_000];
//! let mut enc = GcmEncryptor::new(&key, &iv, b"")?;
//! for chunk in data.chunks_mut(65_536) {
//!     enc.update(chunk)?;
//! }
//! let tag = enc.finish();
//!
//! let mut ver = GcmVerifier::new(&key, &iv, b"")?;
//! for chunk in data.chunks(65_536) {
//!     ver.update(chunk)?;
//! }
//! let ok = ver.verify(&tag)?;
//! let mut offset = 0;
//! for chunk in data.chunks_mut(65_536) {
//!     ok.decrypt_at(offset, chunk)?;
//!     offset += chunk.len() as u64;
//! }
//! assert!(data.iter().all(|&b| b == 0x5a));
//! # Ok::<(), s3ec_core::Error>(())
//! ```

pub mod backend;
pub mod content;
pub mod gcm;
pub mod kdf;
pub mod resume;

pub use backend::{GcmBackend, RustCrypto};
pub use content::{ContentEncryption, ContentKey, ContentParams};
pub use gcm::{open_in_place, open_in_place_with, GcmEncryptor, GcmVerifier, Verified};
pub use kdf::{Commitment, DerivedKey};
pub use resume::{ResumableEncryptor, SealedCheckpoint};

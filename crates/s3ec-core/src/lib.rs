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
//!
//! | module | what |
//! |---|---|
//! | [`envelope`] | V1/V2/V3 content metadata: [`envelope::detect`], [`envelope::Envelope::parse`], writing through a [`envelope::MetadataSink`] |
//! | [`matdesc`], [`json`], [`rfc2047`] | material descriptions / encryption contexts, flat JSON, S3's encoding of non-ASCII metadata |
//! | [`cipher`] | the streaming AES-256-GCM ([`cipher::GcmEncryptor`], [`cipher::GcmVerifier`] → [`cipher::Verified`]), key commitment ([`cipher::kdf`]), content keys, the backend seam |
//! | [`wrap`] | allocation-free key wraps: AES/GCM, legacy AESWrap and AES-ECB, the RSA pseudo data key |
//! | [`danger`] | unverified streaming decryption and ranged (AES-CTR) decryption: opt-in only |
//! | [`legacy`] | AES-CBC decryption (legacy objects) |
//!
//! # Example: encrypt, store the envelope, read it back, decrypt
//!
//! ```
//! use s3ec_core::cipher::{ContentEncryption, ContentKey, ContentParams};
//! use s3ec_core::envelope::{Envelope, Placement};
//! use s3ec_core::matdesc::MatDesc;
//! use s3ec_core::{wrap, Arena, DataKey, MetaKey, Suite, WrapAlg};
//!
//! let mut rng = rand::rngs::SysRng;
//! let master_key = [0x42u8; 32];
//!
//! // Encrypt: a fresh data key, wrapped with AES/GCM (binding the content
//! // cipher), and the body through the streaming cipher, in any chunks.
//! let data_key = DataKey::generate(&mut rng)?;
//! let suite = Suite::AesGcmCommitting;
//! let edk = wrap::aes_gcm::wrap(&master_key, &data_key, suite.cek_alg(), &mut rng)?;
//! let (mut enc, params) = ContentEncryption::new(suite, &data_key, &mut rng)?.into_parts();
//! let mut body = *b"hello, s3ec";
//! let (a, b) = body.split_at_mut(5);
//! enc.update(a)?;
//! enc.update(b)?;
//! let tag = enc.finish();
//!
//! // The envelope, as S3 user metadata.
//! let ContentParams::Committing { message_id, commitment } = params else { unreachable!() };
//! let matdesc = MatDesc::parse(r#"{"purpose":"example"}"#)?;
//! let env = Envelope::new_v3(WrapAlg::AesGcm, &edk, &message_id, &commitment, matdesc)?;
//! let mut metadata = Vec::new();
//! env.write_object_metadata(Placement::ObjectMetadata, &mut |k: MetaKey, v: &str| {
//!     metadata.push((k.as_str().to_owned(), v.to_owned()));
//!     Ok(())
//! })?;
//!
//! // Decrypt: parse, unwrap, verify the key commitment, authenticate the
//! // whole body, and only then decrypt (any range, in any order).
//! let pairs = metadata.iter().map(|(k, v)| (k.as_str(), v.as_str()));
//! let env = Envelope::parse(pairs, None, &mut Arena::empty())?;
//! let dk = wrap::aes_gcm::unwrap(&master_key, env.encrypted_data_key(), env.cek_alg())?;
//! let key = ContentKey::for_decrypt(env.suite(), &dk, env.content_iv(), env.message_id(), env.key_commitment())?;
//! let mut verifier = key.verifier()?;
//! verifier.update(&body)?;
//! let verified = verifier.verify(&tag)?;
//! verified.decrypt_at(0, &mut body)?;
//! assert_eq!(&body, b"hello, s3ec");
//! # Ok::<(), s3ec_core::Error>(())
//! ```
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

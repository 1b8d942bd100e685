//! # s3ec-kms
//!
//! The AWS KMS keyring of the s3ec Amazon S3 Encryption Client, byte
//! compatible with AWS's own clients:
//!
//! - [`KmsKeyring`]: writes `kms+context` (V2 `x-amz-wrap-alg`, V3 code
//!   `12`), reads `kms+context` and, behind the legacy switch, the legacy
//!   `kms` wrap; a discovery mode reads with whatever key the blob names.
//!   It implements both [`s3ec_keyring::AsyncKeyring`] and the blocking
//!   [`s3ec_keyring::Keyring`].
//! - [`KmsClient`]: the two KMS operations the keyring needs
//!   (`GenerateDataKey`, `Decrypt`) with classified errors ([`KmsErrorKind`]).
//! - [`AwsKms`]: [`KmsClient`] over `aws-sdk-kms`, configured from the usual
//!   AWS environment or from a client of your own.
//! - [`testing::StaticKms`]: a strict in-memory fake for tests and the
//!   interop vectors.
//!
//! ```no_run
//! use s3ec_keyring::{Context, EncryptRequest, Keyring, Suite};
//! use s3ec_kms::{AwsKms, KmsKeyring};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let kms = AwsKms::from_env_blocking()?;
//! let ring = KmsKeyring::new(kms, "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")?;
//! let ctx = Context::from([("tenant".to_string(), "acme".to_string())]);
//! let made = Keyring::on_encrypt(&ring, &EncryptRequest { suite: Suite::AesGcmCommitting, context: &ctx })?;
//! // Store base64(made.encrypted.ciphertext) and JSON(made.encrypted.stored_map)
//! // with the object; encrypt the body with made.data_key.
//! # Ok(()) }
//! ```

mod aws;
mod blocking;
mod client;
mod keyring;
pub mod testing;

pub use aws::{AwsKms, USER_AGENT_NAME, USER_AGENT_VERSION};
pub use client::{
    is_key_arn, same_key, DecryptedDataKey, EncryptedBlob, GeneratedDataKey, KmsClient, KmsError,
    KmsErrorKind,
};
pub use keyring::{DiscoveryFilter, KmsKeyring};

/// The AWS SDK crates this crate is built on, for building a client of the
/// matching version (`aws_sdk_kms::Client`, `aws_config::from_env()`).
pub use aws_config;
/// See [`aws_config`].
pub use aws_sdk_kms;

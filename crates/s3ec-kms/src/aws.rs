//! [`KmsClient`] over the AWS SDK for Rust (`aws-sdk-kms`).

use std::collections::HashMap;

use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use s3ec_keyring::{BoxFuture, Context, DataKey};
use zeroize::Zeroizing;

use crate::client::{
    DecryptedDataKey, EncryptedBlob, GeneratedDataKey, KmsClient, KmsError, KmsErrorKind,
};

/// The name this crate adds to the user agent of its KMS calls, as
/// `lib/AmazonS3Encrypt/<version>` (spec `s3-kms-keyring.md`, DecryptDataKey:
/// a SHOULD asks for a custom API name or user agent on KMS calls, for
/// metrics; the Java client's API name is `AmazonS3Encrypt`).
pub const USER_AGENT_NAME: &str = "AmazonS3Encrypt";

/// The version this crate adds beside [`USER_AGENT_NAME`]: `s3ec-rs-` and the
/// crate version.
pub const USER_AGENT_VERSION: &str = concat!("s3ec-rs-", env!("CARGO_PKG_VERSION"));

/// The phrase of KMS's `AccessDeniedException` for a ciphertext whose key
/// does not exist or is not usable by the caller. moto raises the same
/// exception for a `Decrypt` whose `KeyId` is not the blob's key (where real
/// KMS answers `IncorrectKeyException`) but sends no message, so an
/// `AccessDeniedException` without a message counts as that case too; real
/// KMS's "not authorized" answers always carry a message.
const UNKNOWN_KEY_PHRASE: &str = "ciphertext refers to a customer master key";

/// AWS KMS through `aws-sdk-kms`.
///
/// Region, credentials and endpoint come from the usual AWS configuration
/// when made with [`AwsKms::from_env`] (environment variables such as
/// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL` /
/// `AWS_ENDPOINT_URL_KMS`, shared config and credentials files, profiles,
/// SSO, instance roles), or from the client given to [`AwsKms::new`].
///
/// Every call carries a user-agent marker
/// (`lib/`[`USER_AGENT_NAME`]`/`[`USER_AGENT_VERSION`]).
#[derive(Debug, Clone)]
pub struct AwsKms {
    client: aws_sdk_kms::Client,
}

impl AwsKms {
    /// Use an SDK client as it is configured.
    pub fn new(client: aws_sdk_kms::Client) -> AwsKms {
        AwsKms { client }
    }

    /// Build a client from the default AWS configuration chain
    /// (`aws_config::load_defaults` with the latest behavior version).
    pub async fn from_env() -> AwsKms {
        let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        AwsKms::new(aws_sdk_kms::Client::new(&conf))
    }

    /// [`AwsKms::from_env`] for blocking code: loads the configuration on
    /// this crate's own runtime (see [`crate::KmsKeyring`] on blocking
    /// calls).
    pub fn from_env_blocking() -> Result<AwsKms, KmsError> {
        crate::blocking::run(AwsKms::from_env())
            .map_err(|e| KmsError::new(KmsErrorKind::Other, "LoadConfig", e))
    }

    /// The SDK client.
    pub fn client(&self) -> &aws_sdk_kms::Client {
        &self.client
    }

    fn marker() -> aws_sdk_kms::config::Builder {
        let mut b = aws_sdk_kms::config::Builder::default();
        // Both strings are constants of the permitted character set.
        if let Ok(md) =
            aws_sdk_kms::config::FrameworkMetadata::new(USER_AGENT_NAME, Some(USER_AGENT_VERSION))
        {
            b.push_framework_metadata(md);
        }
        b
    }

    async fn generate(
        &self,
        key_id: &str,
        context: &Context,
    ) -> Result<GeneratedDataKey, KmsError> {
        const OP: &str = "GenerateDataKey";
        let out = self
            .client
            .generate_data_key()
            .key_id(key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(to_hash_map(context)))
            .customize()
            .config_override(Self::marker())
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        let plaintext = Zeroizing::new(
            out.plaintext
                .map(Blob::into_inner)
                .ok_or_else(|| invalid_response(OP, "no Plaintext"))?,
        );
        let data_key = DataKey::from_slice(&plaintext)
            .map_err(|_| invalid_response(OP, "the Plaintext is not an AES key"))?;
        let ciphertext = out
            .ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| invalid_response(OP, "no CiphertextBlob"))?;
        let key_id = out.key_id.ok_or_else(|| invalid_response(OP, "no KeyId"))?;
        Ok(GeneratedDataKey {
            data_key,
            ciphertext,
            key_id,
        })
    }

    async fn unwrap(
        &self,
        ciphertext: &[u8],
        context: &Context,
        key_id: Option<&str>,
    ) -> Result<DecryptedDataKey, KmsError> {
        const OP: &str = "Decrypt";
        let out = self
            .client
            .decrypt()
            .ciphertext_blob(Blob::new(ciphertext))
            .set_encryption_context(Some(to_hash_map(context)))
            .set_key_id(key_id.map(str::to_string))
            .customize()
            .config_override(Self::marker())
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        let plaintext = Zeroizing::new(
            out.plaintext
                .map(Blob::into_inner)
                .ok_or_else(|| invalid_response(OP, "no Plaintext"))?,
        );
        let data_key = DataKey::from_slice(&plaintext)
            .map_err(|_| invalid_response(OP, "the Plaintext is not an AES key"))?;
        Ok(DecryptedDataKey {
            data_key,
            key_id: out.key_id,
        })
    }
}

impl From<aws_sdk_kms::Client> for AwsKms {
    fn from(client: aws_sdk_kms::Client) -> AwsKms {
        AwsKms::new(client)
    }
}

impl KmsClient for AwsKms {
    fn generate_data_key<'a>(
        &'a self,
        key_id: &'a str,
        context: &'a Context,
    ) -> BoxFuture<'a, Result<GeneratedDataKey, KmsError>> {
        Box::pin(self.generate(key_id, context))
    }

    fn decrypt<'a>(
        &'a self,
        ciphertext: &'a [u8],
        context: &'a Context,
        key_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<DecryptedDataKey, KmsError>> {
        Box::pin(self.unwrap(ciphertext, context, key_id))
    }

    fn encrypt<'a>(
        &'a self,
        key_id: &'a str,
        data_key: &'a DataKey,
        context: &'a Context,
    ) -> BoxFuture<'a, Result<EncryptedBlob, KmsError>> {
        Box::pin(async move {
            const OP: &str = "Encrypt";
            let out = self
                .client
                .encrypt()
                .key_id(key_id)
                .plaintext(Blob::new(data_key.as_bytes()))
                .set_encryption_context(Some(to_hash_map(context)))
                .customize()
                .config_override(Self::marker())
                .send()
                .await
                .map_err(|e| classify(OP, e))?;
            let ciphertext = out
                .ciphertext_blob
                .map(Blob::into_inner)
                .ok_or_else(|| invalid_response(OP, "no CiphertextBlob"))?;
            let key_id = out.key_id.ok_or_else(|| invalid_response(OP, "no KeyId"))?;
            Ok(EncryptedBlob { ciphertext, key_id })
        })
    }
}

fn to_hash_map(context: &Context) -> HashMap<String, String> {
    context
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn invalid_response(op: &'static str, what: &str) -> KmsError {
    KmsError::new(KmsErrorKind::Other, op, format!("invalid response: {what}"))
}

/// Sort an SDK error into a [`KmsErrorKind`] by its service error code.
fn classify<E, R>(op: &'static str, err: SdkError<E, R>) -> KmsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = err.code().map(str::to_string);
    let service_message = err.message().unwrap_or_default().to_string();
    let kind = match code.as_deref() {
        Some("IncorrectKeyException") => KmsErrorKind::IncorrectKey,
        Some("InvalidCiphertextException") => KmsErrorKind::InvalidCiphertext,
        Some("AccessDeniedException")
            if service_message.is_empty() || service_message.contains(UNKNOWN_KEY_PHRASE) =>
        {
            KmsErrorKind::UnknownKey
        }
        Some("AccessDeniedException") => KmsErrorKind::AccessDenied,
        Some("NotFoundException") => KmsErrorKind::NotFound,
        _ => KmsErrorKind::Other,
    };
    let message = DisplayErrorContext(&err).to_string();
    let mut e = KmsError::new(kind, op, message).with_source(err);
    if let Some(code) = code {
        e = e.with_code(code);
    }
    e
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// A one-shot HTTP server that records the request head and answers with
    /// a KMS error of the given code and message.
    fn one_shot(
        code: &'static str,
        message: &'static str,
    ) -> (String, std::thread::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let h = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push_str(&line);
            }
            let mut body = vec![0u8; len];
            std::io::Read::read_exact(&mut r, &mut body).unwrap();
            let resp_body = format!(r#"{{"__type":"{code}","message":"{message}"}}"#);
            let mut s = s;
            write!(
                s,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{resp_body}",
                resp_body.len()
            )
            .unwrap();
            head
        });
        (url, h)
    }

    fn client(endpoint: &str) -> AwsKms {
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .endpoint_url(endpoint)
            .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
            .build();
        AwsKms::new(aws_sdk_kms::Client::from_conf(conf))
    }

    #[tokio::test]
    async fn user_agent_marker_and_error_codes() {
        let cases = [
            ("IncorrectKeyException", "wrong key", KmsErrorKind::IncorrectKey),
            ("InvalidCiphertextException", "", KmsErrorKind::InvalidCiphertext),
            (
                "AccessDeniedException",
                "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.",
                KmsErrorKind::UnknownKey,
            ),
            ("AccessDeniedException", "", KmsErrorKind::UnknownKey),
            ("AccessDeniedException", "User is not authorized", KmsErrorKind::AccessDenied),
            ("NotFoundException", "no such key", KmsErrorKind::NotFound),
            ("ThrottlingException", "slow down", KmsErrorKind::Other),
        ];
        for (code, message, kind) in cases {
            let (url, server) = one_shot(code, message);
            let kms = client(&url);
            let err = kms
                .decrypt(b"blob", &Context::new(), Some("key"))
                .await
                .unwrap_err();
            let head = server.join().unwrap().to_ascii_lowercase();
            assert_eq!(err.kind(), kind, "{code}: {err}");
            assert_eq!(err.code(), Some(code));
            assert_eq!(err.operation(), "Decrypt");
            let ua = head
                .lines()
                .find(|l| l.starts_with("x-amz-user-agent:") || l.starts_with("user-agent:"))
                .unwrap_or_default()
                .to_string();
            assert!(
                head.contains(&format!(
                    "lib/{}/{}",
                    USER_AGENT_NAME.to_ascii_lowercase(),
                    USER_AGENT_VERSION
                )),
                "no marker in {ua}"
            );
        }
    }

    #[tokio::test]
    async fn transport_failure_is_other() {
        // Nothing listens on this port (bound then released).
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let kms = client(&format!("http://127.0.0.1:{port}"));
        let err = kms
            .generate_data_key("key", &Context::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), KmsErrorKind::Other);
        assert_eq!(err.operation(), "GenerateDataKey");
        assert!(err.code().is_none());
    }
}

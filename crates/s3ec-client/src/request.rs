//! Request builders in the style of `aws-sdk-s3`: `client.put()`,
//! `client.get()`, `client.head()`, `client.delete()`, each with a setter
//! per field and a `send` (blocking on [`Client`], `async` on
//! [`AsyncClient`](crate::AsyncClient)). One builder type serves both
//! clients: the setters are written once, only `send` differs.
//!
//! ```
//! use s3ec_client::{ChecksumAlgorithm, Client, ServerSideEncryption};
//! # let dir = tempfile::tempdir()?;
//! // Any transport; here a local folder that stands in for S3.
//! let s3 = s3ec_fs::FsStore::new(dir.path())?;
//! let client = Client::builder(s3, s3ec_local::AesKeyring::new(&[1u8; 32])?).build()?;
//! let out = client
//!     .put()
//!     .bucket("reports")
//!     .key("2026/q4.csv")
//!     .body(&b"region,total\n"[..])
//!     .content_type("text/csv")
//!     .metadata("department", "finance")
//!     .storage_class("STANDARD_IA")
//!     .server_side_encryption(ServerSideEncryption::S3)
//!     .tag("confidential", "yes")
//!     .checksum_algorithm(ChecksumAlgorithm::Crc32c)
//!     .if_none_match("*")
//!     .send()?;
//!
//! let got = client.get().bucket("reports").key("2026/q4.csv").send_to_vec()?;
//! assert_eq!(got.0, b"region,total\n");
//! assert_eq!(got.1.object.metadata, [("department".to_string(), "finance".to_string())]);
//! # let _ = out;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{Read, Write};
use std::path::Path;

use s3ec_keyring::Context;

use crate::client::Client;
use crate::error::ClientError;
use crate::get::{GetOptions, GetOutput, HeadOutput};
use crate::put::{PutOptions, PutOutput};
use crate::transport::{ChecksumAlgorithm, ServerSideEncryption};

/// A put being built; see [`Client::put`].
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct PutObject<'c, C, B = ()> {
    client: &'c C,
    bucket: Option<String>,
    key: Option<String>,
    body: B,
    len: Option<u64>,
    opts: PutOptions,
    concurrency: Option<usize>,
}

impl<'c, C> PutObject<'c, C, ()> {
    pub(crate) fn new(client: &'c C) -> Self {
        PutObject {
            client,
            bucket: None,
            key: None,
            body: (),
            len: None,
            opts: PutOptions::default(),
            concurrency: None,
        }
    }
}

macro_rules! field_setter {
    ($(#[$doc:meta])* $name:ident => $($path:ident).+) => {
        $(#[$doc])*
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.opts.$($path).+ = Some(value.into());
            self
        }
    };
}

impl<'c, C, B> PutObject<'c, C, B> {
    /// The bucket (required).
    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = Some(bucket.into());
        self
    }

    /// The object key (required).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The plaintext: any `Read` (blocking client) or `AsyncRead` (async
    /// client), e.g. a file or `&[u8]` (required).
    pub fn body<B2>(self, body: B2) -> PutObject<'c, C, B2> {
        PutObject {
            client: self.client,
            bucket: self.bucket,
            key: self.key,
            body,
            len: self.len,
            opts: self.opts,
            concurrency: self.concurrency,
        }
    }

    /// The body's length, if known (then the body must give exactly that
    /// many bytes; a multipart upload records it).
    pub fn content_length(mut self, len: u64) -> Self {
        self.len = Some(len);
        self
    }

    /// The encryption context (KMS keyrings).
    pub fn encryption_context(mut self, context: Context) -> Self {
        self.opts.context = context;
        self
    }

    /// Store the envelope in an instruction file (`true`) or the object
    /// metadata (`false`) for this put.
    pub fn instruction_file(mut self, on: bool) -> Self {
        self.opts.instruction_file = Some(on);
        self
    }

    /// Add one user metadata entry (key without `x-amz-meta-`).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.opts.metadata.push((key.into(), value.into()));
        self
    }

    field_setter!(
        /// `Content-Type` of the plaintext.
        content_type => fields.content_type);
    field_setter!(
        /// `Content-Encoding`.
        content_encoding => fields.content_encoding);
    field_setter!(
        /// `Content-Disposition`.
        content_disposition => fields.content_disposition);
    field_setter!(
        /// `Content-Language`.
        content_language => fields.content_language);
    field_setter!(
        /// `Cache-Control`.
        cache_control => fields.cache_control);
    field_setter!(
        /// `Expires` (an HTTP date).
        expires => fields.expires);
    field_setter!(
        /// Storage class (`STANDARD_IA`, `INTELLIGENT_TIERING`, ...); on
        /// a multipart upload too.
        storage_class => fields.storage_class);
    field_setter!(
        /// A canned ACL.
        acl => fields.acl);
    field_setter!(
        /// Object lock mode (`GOVERNANCE`, `COMPLIANCE`).
        object_lock_mode => fields.object_lock_mode);
    field_setter!(
        /// Object lock retention date (ISO 8601).
        object_lock_retain_until => fields.object_lock_retain_until);
    field_setter!(
        /// Write only if no object has this key: `"*"`.
        if_none_match => fields.if_none_match);
    field_setter!(
        /// Write only if the current object has this entity tag.
        if_match => fields.if_match);
    field_setter!(
        /// The account id the bucket must belong to.
        expected_bucket_owner => fields.expected_bucket_owner);

    /// Object lock legal hold.
    pub fn object_lock_legal_hold(mut self, on: bool) -> Self {
        self.opts.fields.object_lock_legal_hold = Some(on);
        self
    }

    /// SSE-S3 or SSE-KMS on top of the client-side encryption.
    pub fn server_side_encryption(mut self, sse: ServerSideEncryption) -> Self {
        self.opts.fields.server_side_encryption = Some(sse);
        self
    }

    /// Add a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.opts.fields.tagging.push((key.into(), value.into()));
        self
    }

    /// A checksum of the ciphertext on the PUT and on every part, checked
    /// by S3 on arrival.
    pub fn checksum_algorithm(mut self, algorithm: ChecksumAlgorithm) -> Self {
        self.opts.fields.checksum_algorithm = Some(algorithm);
        self
    }

    /// Requester pays.
    pub fn request_payer(mut self, on: bool) -> Self {
        self.opts.fields.request_payer = on;
        self
    }

    /// Upload up to `n` parts at once for this put (default: the client's
    /// [`concurrency`](crate::config::Builder::concurrency)).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n);
        self
    }

    /// Replace all options at once.
    pub fn options(mut self, opts: PutOptions) -> Self {
        self.opts = opts;
        self
    }
}

impl<R: Read> PutObject<'_, Client, R> {
    /// Encrypt and store the object; see [`Client::put_object_with`].
    pub fn send(self) -> Result<PutOutput, ClientError> {
        let bucket = required(&self.bucket, "bucket")?;
        let key = required(&self.key, "key")?;
        let tuned;
        let client = match self.concurrency {
            Some(n) => {
                tuned = self.client.with_concurrency(n)?;
                &tuned
            }
            None => self.client,
        };
        client.put_object_with(bucket, key, self.body, self.len, &self.opts)
    }
}

#[cfg(feature = "async")]
impl<R: tokio::io::AsyncRead + Unpin + Send> PutObject<'_, crate::AsyncClient, R> {
    /// Encrypt and store the object; see
    /// [`AsyncClient::put_object_with`](crate::AsyncClient::put_object_with).
    pub async fn send(self) -> Result<PutOutput, ClientError> {
        let bucket = required(&self.bucket, "bucket")?;
        let key = required(&self.key, "key")?;
        let tuned;
        let client = match self.concurrency {
            Some(n) => {
                tuned = self.client.with_concurrency(n)?;
                &tuned
            }
            None => self.client,
        };
        client
            .put_object_with(bucket, key, self.body, self.len, &self.opts)
            .await
    }
}

fn required<'a>(v: &'a Option<String>, field: &'static str) -> Result<&'a str, ClientError> {
    v.as_deref()
        .ok_or(ClientError::MissingRequestField { field })
}

/// A get, head or delete being built; see [`Client::get`].
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct ObjectOp<'c, C> {
    client: &'c C,
    bucket: Option<String>,
    key: Option<String>,
    opts: GetOptions,
    concurrency: Option<usize>,
}

impl<'c, C> ObjectOp<'c, C> {
    pub(crate) fn new(client: &'c C) -> Self {
        ObjectOp {
            client,
            bucket: None,
            key: None,
            opts: GetOptions::default(),
            concurrency: None,
        }
    }

    /// The bucket (required).
    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = Some(bucket.into());
        self
    }

    /// The object key (required).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// A version of the object instead of the current one.
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.opts.version_id = Some(version_id.into());
        self
    }

    /// The encryption context the object must have been written with.
    pub fn expected_context(mut self, context: Context) -> Self {
        self.opts.expected_context = Some(context);
        self
    }

    /// Read the envelope from `<key><suffix>` for this request.
    pub fn instruction_file_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.opts.instruction_file_suffix = Some(suffix.into());
        self
    }

    /// The account id the bucket must belong to.
    pub fn expected_bucket_owner(mut self, account_id: impl Into<String>) -> Self {
        self.opts.expected_bucket_owner = Some(account_id.into());
        self
    }

    /// Requester pays.
    pub fn request_payer(mut self, on: bool) -> Self {
        self.opts.request_payer = on;
        self
    }

    /// Replace all options at once.
    pub fn options(mut self, opts: GetOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Fetch up to `n` ranges at once for this get (default: the client's
    /// [`concurrency`](crate::config::Builder::concurrency)).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n);
        self
    }

    fn target(&self) -> Result<(&str, &str), ClientError> {
        Ok((
            required(&self.bucket, "bucket")?,
            required(&self.key, "key")?,
        ))
    }
}

impl ObjectOp<'_, Client> {
    /// The client, with this request's concurrency.
    fn client(&self) -> Result<Client, ClientError> {
        match self.concurrency {
            Some(n) => self.client.with_concurrency(n),
            None => Ok(self.client.clone()),
        }
    }

    /// GET, authenticate and decrypt into `out`; see
    /// [`Client::get_object_with`].
    pub fn send_to(self, out: &mut dyn Write) -> Result<GetOutput, ClientError> {
        let (bucket, key) = self.target()?;
        self.client()?.get_object_with(bucket, key, out, &self.opts)
    }

    /// GET into a new `Vec` (small objects).
    pub fn send_to_vec(self) -> Result<(Vec<u8>, GetOutput), ClientError> {
        let mut v = Vec::new();
        let got = self.send_to(&mut v)?;
        Ok((v, got))
    }

    /// GET into the file `path` in one pass; see
    /// [`Client::get_object_to_path`].
    pub fn send_to_path(self, path: impl AsRef<Path>) -> Result<GetOutput, ClientError> {
        let (bucket, key) = self.target()?;
        self.client()?
            .get_object_to_path(bucket, key, path, &self.opts)
    }

    /// HEAD the object and read its envelope; see
    /// [`Client::head_object_with`].
    pub fn head(self) -> Result<HeadOutput, ClientError> {
        let (bucket, key) = self.target()?;
        self.client.head_object_with(bucket, key, &self.opts)
    }
}

#[cfg(feature = "async")]
impl ObjectOp<'_, crate::AsyncClient> {
    /// The client, with this request's concurrency.
    fn client(&self) -> Result<crate::AsyncClient, ClientError> {
        match self.concurrency {
            Some(n) => self.client.with_concurrency(n),
            None => Ok(self.client.clone()),
        }
    }

    /// GET, authenticate and decrypt into `out`.
    pub async fn send_to(
        self,
        out: &mut (dyn tokio::io::AsyncWrite + Unpin + Send),
    ) -> Result<GetOutput, ClientError> {
        let (bucket, key) = self.target()?;
        self.client()?
            .get_object_with(bucket, key, out, &self.opts)
            .await
    }

    /// GET into a new `Vec` (small objects).
    pub async fn send_to_vec(self) -> Result<(Vec<u8>, GetOutput), ClientError> {
        let mut v = Vec::new();
        let got = self.send_to(&mut v).await?;
        Ok((v, got))
    }

    /// GET into the file `path` in one pass.
    pub async fn send_to_path(self, path: impl AsRef<Path>) -> Result<GetOutput, ClientError> {
        let (bucket, key) = self.target()?;
        self.client()?
            .get_object_to_path(bucket, key, path, &self.opts)
            .await
    }

    /// HEAD the object and read its envelope.
    pub async fn head(self) -> Result<HeadOutput, ClientError> {
        let (bucket, key) = self.target()?;
        self.client.head_object_with(bucket, key, &self.opts).await
    }
}

impl Client {
    /// Build a put: `client.put().bucket(..).key(..).body(..)` and any
    /// field (content type, user metadata, storage class, SSE, tags,
    /// checksums, conditions, ...), then `.send()`. See the
    /// [module](crate::request) example.
    pub fn put(&self) -> PutObject<'_, Client> {
        PutObject::new(self)
    }

    /// Build a get: `client.get().bucket(..).key(..)`, optionally
    /// `.version_id(..)`, `.expected_context(..)`, then `.send_to(out)`,
    /// `.send_to_vec()`, `.send_to_path(path)` or `.head()`.
    pub fn get(&self) -> ObjectOp<'_, Client> {
        ObjectOp::new(self)
    }
}

#[cfg(feature = "async")]
impl crate::AsyncClient {
    /// Build a put; see [`Client::put`].
    pub fn put(&self) -> PutObject<'_, crate::AsyncClient> {
        PutObject::new(self)
    }

    /// Build a get; see [`Client::get`].
    pub fn get(&self) -> ObjectOp<'_, crate::AsyncClient> {
        ObjectOp::new(self)
    }
}

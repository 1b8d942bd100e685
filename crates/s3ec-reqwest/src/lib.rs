//! # s3ec-reqwest
//!
//! A blocking S3 transport for the s3ec Amazon S3 Encryption Client:
//! [`ReqwestTransport`] implements [`s3ec_client::transport::Transport`]
//! over [blocking reqwest](reqwest::blocking) (rustls), signing every
//! request with SigV4 ([`aws_sigv4`]).
//!
//! - **Configuration** from the usual AWS places ([`ReqwestTransport::from_env`]):
//!   credentials (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
//!   `AWS_SESSION_TOKEN`, the shared config and credentials files with
//!   `AWS_PROFILE`, SSO, web identity, containers, instance metadata —
//!   the `aws-config` provider chain, cached and refreshed before expiry),
//!   region (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile) and endpoint
//!   (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's
//!   `endpoint_url`); or explicitly through [`ReqwestTransport::builder`].
//! - **Addressing**: path-style (`http://host/bucket/key`) or
//!   virtual-hosted (`https://bucket.host/key`). By default virtual-hosted
//!   where the endpoint has a DNS name and the bucket is a valid DNS label,
//!   path-style for IP addresses and `localhost`. Keys are percent-encoded
//!   once, `/` kept (the S3 flavour of SigV4). Keys with `.` or `..` path
//!   segments are refused: the URL parser would remove them.
//! - **Payloads**: bodies (PUT, UploadPart, CompleteMultipartUpload) are
//!   signed with their SHA-256 (`x-amz-content-sha256`), so S3 checks them;
//!   [`PayloadSigning::Unsigned`] sends `UNSIGNED-PAYLOAD` instead.
//! - **Metadata**: `x-amz-meta-*` headers. Values must be ASCII (S3 user
//!   metadata is sent in HTTP headers): a non-ASCII value is refused with
//!   [`ErrorKind::Other`]. Values read back are passed through as S3 sends
//!   them (S3 returns non-ASCII values RFC 2047-encoded).
//! - **Retries** ([`RetryConfig`]) with exponential backoff and jitter on
//!   HTTP 429/500/502/503/504, throttling and transient S3 error codes
//!   (also inside a 200 response of CompleteMultipartUpload), and broken
//!   or timed-out connections. A retry resends the same body bytes. A GET
//!   is retried only until its body starts: a body that breaks later
//!   surfaces as an [`std::io::Error`] from the body's `Read`, carrying a
//!   [`TransportError`] (never as a short successful read).
//! - **Errors**: [`TransportError`] with the HTTP status and the S3 error
//!   `<Code>`/`<Message>`; 404 is [`ErrorKind::NotFound`], 412
//!   [`ErrorKind::PreconditionFailed`], 416 [`ErrorKind::InvalidRange`],
//!   401/403 [`ErrorKind::AccessDenied`], exhausted retries
//!   [`ErrorKind::Unavailable`] or [`ErrorKind::Connection`].
//!
//! Like blocking reqwest itself, the transport must not be used (or
//! dropped) from inside an async runtime: call it from plain threads or
//! `spawn_blocking`. HTTP(S) proxies from the environment (`HTTPS_PROXY`,
//! `NO_PROXY`, ...) are honoured, as reqwest does by default; so is
//! `AWS_CA_BUNDLE` with [`Builder::with_env`].
//!
//! ```no_run
//! use s3ec_client::transport::{Bytes, PutRequest, Transport};
//!
//! let s3 = s3ec_reqwest::ReqwestTransport::from_env()?;
//! let meta = vec![("color".to_string(), "blue".to_string())];
//! let req = PutRequest::new("my-bucket", "a/b.txt", &meta);
//! let etag = s3.put_object(&req, Bytes::from_static(b"hello"))?;
//! println!("{etag:?}");
//! # Ok::<(), s3ec_client::transport::TransportError>(())
//! ```

mod addressing;
mod body;
mod config;
mod copy;
mod headers;
mod presign;
mod retry;
mod xml;

#[cfg(test)]
mod parse_props;

use std::io::Read;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use headers::{header_str, header_u64, metadata_of, parse_content_range};
use reqwest::blocking::Response;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use s3ec_client::transport::{
    Access, ByteRange, Checksum, CompleteRequest, ErrorKind, GetRequest, GetResponse, ListPage,
    ListRequest, ObjectHead, ObjectRequest, PartRequest, PutRequest, ServerSideEncryption,
    Transport, TransportError,
};
use sha2::{Digest, Sha256};

use addressing::Endpoint;
use config::{CredentialSource, ProviderCache};

/// The credential types of the AWS SDK, at the version this crate uses
/// (to implement [`ProvideCredentials`]).
pub use aws_credential_types;
pub use aws_credential_types::provider::ProvideCredentials;
pub use aws_credential_types::Credentials;
pub use presign::MAX_PRESIGN_EXPIRY;
pub use retry::RetryConfig;
pub use s3ec_client::transport::PresignedRequest;

/// The SHA-256 of an empty payload, hex.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Error and result documents larger than this are refused.
const MAX_XML_BODY: u64 = 1 << 20;

/// The one bucket-level operation: its URL has no key.
const LIST_OBJECTS: &str = "ListObjectsV2";

/// How request bodies are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadSigning {
    /// Sign the SHA-256 of the body (`x-amz-content-sha256: <hex>`): S3
    /// rejects a body that changed on the way. The default.
    #[default]
    Sha256,
    /// Send `x-amz-content-sha256: UNSIGNED-PAYLOAD` for non-empty bodies
    /// (saves hashing; rely on TLS for integrity).
    Unsigned,
}

/// A blocking S3 [`Transport`] over reqwest with SigV4 and retries.
///
/// Cheap to clone: clones share the HTTP connection pool and the
/// credentials cache.
#[derive(Clone)]
pub struct ReqwestTransport {
    http: reqwest::blocking::Client,
    endpoint: Endpoint,
    region: String,
    path_style: Option<bool>,
    retry: RetryConfig,
    read_timeout: Duration,
    min_upload_rate: u64,
    payload: PayloadSigning,
    credentials: std::sync::Arc<CredentialSource>,
}

impl std::fmt::Debug for ReqwestTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReqwestTransport")
            .field("endpoint", &self.endpoint.url())
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("retry", &self.retry)
            .field("read_timeout", &self.read_timeout)
            .field("payload", &self.payload)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

enum CredentialChoice {
    Static(Credentials),
    Provider(SharedCredentialsProvider),
}

/// Builds a [`ReqwestTransport`]; see [`ReqwestTransport::builder`].
pub struct Builder {
    region: Option<String>,
    endpoint: Option<String>,
    credentials: Option<CredentialChoice>,
    path_style: Option<bool>,
    retry: RetryConfig,
    connect_timeout: Duration,
    read_timeout: Duration,
    min_upload_rate: u64,
    payload: PayloadSigning,
    use_env: bool,
    profile: Option<String>,
    resolve: Vec<(String, SocketAddr)>,
    ca_bundle: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("path_style", &self.path_style)
            .field("retry", &self.retry)
            .field("use_env", &self.use_env)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            region: None,
            endpoint: None,
            credentials: None,
            path_style: None,
            retry: RetryConfig::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            min_upload_rate: 128 * 1024,
            payload: PayloadSigning::Sha256,
            use_env: false,
            profile: None,
            resolve: Vec::new(),
            ca_bundle: None,
        }
    }
}

impl Builder {
    /// The region to sign for (and of AWS's default endpoint).
    pub fn region(mut self, region: impl Into<String>) -> Builder {
        self.region = Some(region.into());
        self
    }

    /// An endpoint URL (`http://127.0.0.1:9000`, `https://minio.example/s3`)
    /// instead of AWS's `https://s3.<region>.amazonaws.com`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Builder {
        self.endpoint = Some(url.into());
        self
    }

    /// Fixed credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Builder {
        self.credentials = Some(CredentialChoice::Static(credentials));
        self
    }

    /// A credentials provider (called on first use and again when its
    /// credentials come within five minutes of their expiry).
    pub fn credentials_provider(mut self, provider: impl ProvideCredentials + 'static) -> Builder {
        self.credentials = Some(CredentialChoice::Provider(SharedCredentialsProvider::new(
            provider,
        )));
        self
    }

    /// Take region, endpoint and credentials from an AWS SDK configuration
    /// the program already loaded (`aws_config::load_defaults(..)`), as
    /// `aws_sdk_s3::Client::new(&conf)` would. Settings made afterwards on
    /// this builder win.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    /// let s3 = s3ec_reqwest::ReqwestTransport::builder().sdk_config(&conf).build()?;
    /// # Ok(()) }
    /// ```
    pub fn sdk_config(mut self, conf: &aws_types::SdkConfig) -> Builder {
        if let Some(r) = conf.region() {
            self.region = Some(r.to_string());
        }
        if let Some(e) = conf.endpoint_url() {
            self.endpoint = Some(e.to_string());
        }
        if let Some(p) = conf.credentials_provider() {
            self.credentials = Some(CredentialChoice::Provider(p));
        }
        self
    }

    /// `true`: always path-style (`host/bucket/key`); `false`: always
    /// virtual-hosted (`bucket.host/key`). Unset: virtual-hosted where
    /// possible (see the crate documentation).
    pub fn path_style(mut self, path_style: bool) -> Builder {
        self.path_style = Some(path_style);
        self
    }

    /// The retry policy (default: [`RetryConfig::default`]).
    pub fn retry(mut self, retry: RetryConfig) -> Builder {
        self.retry = retry;
        self
    }

    /// How long connecting may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Builder {
        self.connect_timeout = timeout;
        self
    }

    /// How long to wait for the server (default 60 s): for a response to a
    /// request (plus the upload allowance of
    /// [`min_upload_rate`](Builder::min_upload_rate) for a body), and for
    /// each read of a GET body.
    pub fn read_timeout(mut self, timeout: Duration) -> Builder {
        self.read_timeout = timeout;
        self
    }

    /// The slowest upload, in bytes per second, that is not a timeout
    /// (default 128 KiB/s): a request with an `n`-byte body gets
    /// `read_timeout + n / rate` to finish sending and get its response.
    pub fn min_upload_rate(mut self, bytes_per_second: u64) -> Builder {
        self.min_upload_rate = bytes_per_second.max(1);
        self
    }

    /// How request bodies are signed (default [`PayloadSigning::Sha256`]).
    pub fn payload_signing(mut self, payload: PayloadSigning) -> Builder {
        self.payload = payload;
        self
    }

    /// Fill what was not set explicitly from the environment, the shared
    /// AWS config files and the credential provider chain (what
    /// [`ReqwestTransport::from_env`] does).
    pub fn with_env(mut self) -> Builder {
        self.use_env = true;
        self
    }

    /// The profile of the shared config files to use with
    /// [`with_env`](Builder::with_env), instead of `AWS_PROFILE` or
    /// `default`.
    pub fn profile(mut self, name: impl Into<String>) -> Builder {
        self.profile = Some(name.into());
        self
    }

    /// Connect to `addr` for host name `host` instead of resolving it
    /// (tests; the port of the URL is kept).
    pub fn resolve(mut self, host: &str, addr: SocketAddr) -> Builder {
        self.resolve.push((host.to_string(), addr));
        self
    }

    /// Trust the certificates of this PEM bundle too (besides the
    /// system's roots). With [`with_env`](Builder::with_env), the
    /// `AWS_CA_BUNDLE` environment variable sets this when it is not set
    /// explicitly.
    pub fn ca_bundle(mut self, pem_file: impl Into<std::path::PathBuf>) -> Builder {
        self.ca_bundle = Some(pem_file.into());
        self
    }

    /// Build the transport.
    ///
    /// Fails ([`ErrorKind::Other`]) without a region or credentials (set
    /// explicitly or, with [`with_env`](Builder::with_env), found in the
    /// environment), or with a malformed endpoint.
    pub fn build(self) -> Result<ReqwestTransport, TransportError> {
        let mut rt = None;
        let mut env = config::EnvConfig::default();
        if self.use_env {
            let r = config::runtime()?;
            env = config::load_env(&r, self.profile.as_deref());
            rt = Some(r);
        }
        let region = self
            .region
            .or(env.region)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                TransportError::new(
                    ErrorKind::Other,
                    "no AWS region: set AWS_REGION (or a region in the AWS config file), \
                 or call Builder::region",
                )
            })?;
        let endpoint = match self.endpoint.or(env.endpoint) {
            Some(url) => Endpoint::parse(&url)?,
            None => Endpoint::aws(&region),
        };
        let credentials = match (self.credentials, env.credentials) {
            (Some(CredentialChoice::Static(c)), _) => CredentialSource::Static(c),
            (Some(CredentialChoice::Provider(p)), _) | (None, Some(p)) => {
                let rt = match rt {
                    Some(r) => r,
                    None => config::runtime()?,
                };
                CredentialSource::Provider(ProviderCache::new(p, rt))
            }
            (None, None) => {
                return Err(TransportError::new(
                    ErrorKind::Other,
                    "no AWS credentials: call Builder::credentials, or Builder::with_env \
                     to use the environment and the shared AWS files",
                ))
            }
        };
        let mut http = reqwest::blocking::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.read_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("s3ec-reqwest/", env!("CARGO_PKG_VERSION")));
        for (host, addr) in &self.resolve {
            http = http.resolve(host, *addr);
        }
        let ca_bundle = self.ca_bundle.or_else(|| {
            self.use_env
                .then(|| std::env::var_os("AWS_CA_BUNDLE"))
                .flatten()
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from)
        });
        if let Some(path) = ca_bundle {
            for cert in read_ca_bundle(&path)? {
                http = http.add_root_certificate(cert);
            }
        }
        let http = http.build().map_err(|e| {
            let mut err = TransportError::new(
                ErrorKind::Other,
                format!("cannot build the HTTP client: {}", error_chain(&e)),
            );
            err.source = Some(Box::new(e));
            err
        })?;
        Ok(ReqwestTransport {
            http,
            endpoint,
            region,
            path_style: self.path_style,
            retry: self.retry,
            read_timeout: self.read_timeout,
            min_upload_rate: self.min_upload_rate,
            payload: self.payload,
            credentials: std::sync::Arc::new(credentials),
        })
    }
}

fn read_ca_bundle(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, TransportError> {
    let fail = |why: String| {
        TransportError::new(
            ErrorKind::Other,
            format!("cannot use the CA bundle {}: {why}", path.display()),
        )
    };
    let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| fail(error_chain(&e)))?;
    if certs.is_empty() {
        return Err(fail("no certificates in it".into()));
    }
    Ok(certs)
}

/// One attempt's failure: worth another attempt, or final.
enum Failure {
    Retry(TransportError),
    Fatal(TransportError),
}

/// One S3 request, ready to be (re)sent.
struct Call<'a> {
    op: &'static str,
    method: Method,
    bucket: &'a str,
    key: &'a str,
    /// Encoded query string, without `?`.
    query: String,
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Call<'_> {
    fn what(&self) -> String {
        format!("{} s3://{}/{}", self.op, self.bucket, self.key)
    }
}

/// The messages of an error and its sources, joined.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    let mut depth = 0;
    while let Some(inner) = src {
        let m = inner.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = inner.source();
        depth += 1;
        if depth > 8 {
            break;
        }
    }
    s
}

fn invalid_response(message: String) -> Failure {
    Failure::Fatal(TransportError::new(ErrorKind::InvalidResponse, message))
}

/// Whether a byte may appear in an HTTP header name (RFC 9110 token).
fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The `x-amz-meta-*` headers for user metadata; refuses what S3 cannot
/// store as sent.
fn metadata_headers(
    metadata: &[(String, String)],
) -> Result<Vec<(String, String)>, TransportError> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(metadata.len());
    for (key, value) in metadata {
        if key.is_empty() || !key.bytes().all(token_byte) {
            return Err(TransportError::new(
                ErrorKind::Other,
                format!("metadata key {key:?} is not a valid HTTP header name part"),
            ));
        }
        if !value.is_ascii() {
            return Err(TransportError::new(
                ErrorKind::Other,
                format!(
                    "metadata value of {key:?} is not ASCII: S3 user metadata travels in HTTP \
                     headers, so encode it first (for example RFC 2047)"
                ),
            ));
        }
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(TransportError::new(
                ErrorKind::Other,
                format!("metadata value of {key:?} contains control characters"),
            ));
        }
        let name = format!("x-amz-meta-{}", key.to_ascii_lowercase());
        if out.iter().any(|(n, _)| *n == name) {
            return Err(TransportError::new(
                ErrorKind::Other,
                format!("metadata key {key:?} appears twice (keys are case-insensitive)"),
            ));
        }
        out.push((name, value.clone()));
    }
    Ok(out)
}

impl ReqwestTransport {
    /// A builder with nothing set; see [`Builder`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use s3ec_reqwest::{Credentials, ReqwestTransport, RetryConfig};
    ///
    /// let s3 = ReqwestTransport::builder()
    ///     .region("us-east-1")
    ///     .endpoint("http://127.0.0.1:9000")
    ///     .credentials(Credentials::new("AKID", "SECRET", None, None, "example"))
    ///     .path_style(true)
    ///     .retry(RetryConfig {
    ///         max_retries: 5,
    ///         base_delay: Duration::from_millis(50),
    ///         max_delay: Duration::from_secs(2),
    ///     })
    ///     .read_timeout(Duration::from_secs(30))
    ///     .build()?;
    /// assert_eq!(s3.region(), "us-east-1");
    /// assert_eq!(s3.endpoint_url(), "http://127.0.0.1:9000");
    /// # Ok::<(), s3ec_client::transport::TransportError>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A transport configured entirely from the environment, the shared
    /// AWS config files and the credential provider chain (the same as
    /// `ReqwestTransport::builder().with_env().build()`).
    pub fn from_env() -> Result<ReqwestTransport, TransportError> {
        Builder::default().with_env().build()
    }

    /// The signing region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The endpoint URL in use.
    pub fn endpoint_url(&self) -> String {
        self.endpoint.url()
    }

    /// The credentials the next request would be signed with (resolving
    /// or refreshing them through the provider if needed).
    pub fn current_credentials(&self) -> Result<Credentials, TransportError> {
        self.credentials.get()
    }

    /// The URL a request for `bucket`/`key` goes to (no query string).
    pub fn object_url(&self, bucket: &str, key: &str) -> Result<String, TransportError> {
        self.url_for(bucket, key, "").map(String::from)
    }

    fn url_for(
        &self,
        bucket: &str,
        key: &str,
        query: &str,
    ) -> Result<reqwest::Url, TransportError> {
        let style = addressing::style_for(&self.endpoint, self.path_style, bucket);
        addressing::object_url(&self.endpoint, style, bucket, key, query)
    }

    fn payload_hash(&self, body: &[u8]) -> String {
        if body.is_empty() {
            EMPTY_SHA256.to_string()
        } else {
            match self.payload {
                PayloadSigning::Sha256 => hex::encode(Sha256::digest(body)),
                PayloadSigning::Unsigned => "UNSIGNED-PAYLOAD".to_string(),
            }
        }
    }

    /// Sign and send one attempt; error statuses become failures.
    fn attempt(
        &self,
        call: &Call<'_>,
        url: &reqwest::Url,
        payload_hash: &str,
    ) -> Result<Response, Failure> {
        let what = || call.what();
        let creds = self.credentials.get().map_err(Failure::Fatal)?;
        let signed_headers = sign_request(
            creds,
            &self.region,
            call.method.as_str(),
            url.as_str(),
            &call.headers,
            payload_hash,
            SystemTime::now(),
        )
        .map_err(|e| {
            Failure::Fatal(TransportError::new(
                ErrorKind::Other,
                format!("{}: cannot sign the request: {e}", what()),
            ))
        })?;

        let mut headers = HeaderMap::with_capacity(call.headers.len() + signed_headers.len());
        let bad_header = |name: &str| {
            Failure::Fatal(TransportError::new(
                ErrorKind::Other,
                format!("{}: invalid header {name:?}", what()),
            ))
        };
        for (name, value) in &call.headers {
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad_header(name))?;
            let v = HeaderValue::from_str(value).map_err(|_| bad_header(name))?;
            headers.append(n, v);
        }
        for (name, value, sensitive) in &signed_headers {
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad_header(name))?;
            let mut v = HeaderValue::from_str(value).map_err(|_| bad_header(name))?;
            v.set_sensitive(*sensitive);
            headers.insert(n, v);
        }
        let mut req = self
            .http
            .request(call.method.clone(), url.clone())
            .headers(headers);
        if !call.body.is_empty() || call.method == Method::PUT || call.method == Method::POST {
            // A deadline for the whole exchange: sending the body at the
            // slowest acceptable rate, then the (short) answer.
            let upload_allowance =
                Duration::from_secs((call.body.len() as u64) / self.min_upload_rate);
            req = req
                .timeout(self.read_timeout.saturating_add(upload_allowance))
                .body(call.body.clone());
        }
        // Without a body no per-request timeout is set: the client's
        // `read_timeout` then bounds the wait for the answer and each read
        // of its body, not the whole answer. (A per-request timeout is a
        // deadline for the whole body too: a single GET answer of 1 GiB on a
        // 16 MiB/s link broke at 60 s.)
        let resp = req.send().map_err(|e| connection_failure(e, &what()))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(resp);
        }
        Err(self.error_response(call, resp))
    }

    /// Turn an error response into a failure (reading its `<Error>` body).
    fn error_response(&self, call: &Call<'_>, resp: Response) -> Failure {
        let status = resp.status();
        // A request to the wrong region says where the bucket is.
        let region_hint = header_str(resp.headers(), "x-amz-bucket-region")
            .filter(|r| *r != self.region)
            .map(|r| format!(" (the bucket is in region {r})"))
            .unwrap_or_default();
        let mut body = Vec::new();
        if call.method != Method::HEAD {
            // A broken error body still leaves the status to go by.
            let _ = resp.take(64 * 1024).read_to_end(&mut body);
        }
        let parsed = xml::parse_error(&body).unwrap_or_default();
        let message = parsed.message.clone().unwrap_or_else(|| {
            format!(
                "HTTP {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .trim_end()
            .to_string()
        });
        self.s3_failure(
            call,
            status.as_u16(),
            parsed.code,
            format!("{message}{region_hint}"),
        )
    }

    fn s3_failure(
        &self,
        call: &Call<'_>,
        status: u16,
        code: Option<String>,
        message: String,
    ) -> Failure {
        let (kind, retry) = retry::classify_status(status, code.as_deref());
        let expired = retry::is_expired_token(code.as_deref()) && self.credentials.invalidate();
        let err = TransportError {
            kind,
            status: Some(status),
            code,
            message: format!("{}: {message}", call.what()),
            source: None,
        };
        if retry || expired {
            Failure::Retry(err)
        } else {
            Failure::Fatal(err)
        }
    }

    /// Send a call with retries; `handle` turns a successful response into
    /// the result (or a failure, maybe worth a retry).
    fn run<T>(
        &self,
        call: &Call<'_>,
        mut handle: impl FnMut(Response) -> Result<T, Failure>,
    ) -> Result<T, TransportError> {
        let url = if call.op == LIST_OBJECTS {
            let style = addressing::style_for(&self.endpoint, self.path_style, call.bucket);
            addressing::bucket_url(&self.endpoint, style, call.bucket, &call.query)?
        } else {
            self.url_for(call.bucket, call.key, &call.query)?
        };
        let payload_hash = self.payload_hash(&call.body);
        let mut attempt: u32 = 0;
        loop {
            let outcome = self
                .attempt(call, &url, &payload_hash)
                .and_then(&mut handle);
            match outcome {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(mut e)) => {
                    if attempt >= self.retry.max_retries {
                        if attempt > 0 {
                            e.message
                                .push_str(&format!(" (gave up after {} attempts)", attempt + 1));
                        }
                        return Err(e);
                    }
                    std::thread::sleep(self.retry.delay(attempt));
                    attempt += 1;
                }
            }
        }
    }

    /// Read a small (XML) response body; a broken body is worth a retry.
    fn read_small(call: &Call<'_>, resp: Response) -> Result<Vec<u8>, Failure> {
        let expected = header_u64(resp.headers(), "content-length").ok().flatten();
        let mut body = Vec::new();
        let mut reader = body::BodyReader::new(resp.take(MAX_XML_BODY + 1), None, call.what());
        if let Err(e) = reader.read_to_end(&mut body) {
            let mut err = TransportError::new(
                ErrorKind::Connection,
                format!("{}: reading the response: {e}", call.what()),
            );
            err.source = Some(Box::new(e));
            return Err(Failure::Retry(err));
        }
        if body.len() as u64 > MAX_XML_BODY {
            return Err(invalid_response(format!(
                "{}: the response body is larger than {MAX_XML_BODY} bytes",
                call.what()
            )));
        }
        if let Some(e) = expected {
            if (body.len() as u64) < e {
                return Err(Failure::Retry(TransportError::new(
                    ErrorKind::Connection,
                    format!(
                        "{}: the response body ended after {} of {e} bytes",
                        call.what(),
                        body.len()
                    ),
                )));
            }
        }
        Ok(body)
    }

    /// Read `<root><child>` from a result document; an `<Error>` in its
    /// place (S3 may send one with status 200) is classified like an error
    /// response.
    fn read_result(
        &self,
        call: &Call<'_>,
        resp: Response,
        root: &str,
        child: &str,
    ) -> Result<String, Failure> {
        let status = resp.status().as_u16();
        let body = Self::read_small(call, resp)?;
        match xml::parse_result(&body, root, child) {
            xml::Parsed::Value(Some(v)) if !v.is_empty() => Ok(v),
            xml::Parsed::Value(_) => Err(invalid_response(format!(
                "{}: no {child} in the {root} response",
                call.what()
            ))),
            xml::Parsed::Error(e) => {
                let message = e
                    .message
                    .unwrap_or_else(|| "error in a 200 response".into());
                Err(self.s3_failure(call, status, e.code, message))
            }
            xml::Parsed::Malformed => Err(invalid_response(format!(
                "{}: the response is not a {root} document",
                call.what()
            ))),
        }
    }
}

/// SigV4 settings for S3: the URL is already encoded once (S3 does not
/// double-encode) and the path is not normalised.
pub(crate) fn s3_signing_settings() -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings
}

/// SigV4-sign a request for S3: the URL is already encoded once (S3 does
/// not double-encode), the path is not normalised, and the payload hash
/// goes into `x-amz-content-sha256`. Returns the headers to add (name,
/// value, sensitive): `authorization`, `x-amz-date`,
/// `x-amz-content-sha256` and, with a session token,
/// `x-amz-security-token`.
fn sign_request(
    creds: Credentials,
    region: &str,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    payload_hash: &str,
    time: SystemTime,
) -> Result<Vec<(String, String, bool)>, String> {
    let identity: Identity = creds.into();
    let mut settings = s3_signing_settings();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| error_chain(&e))?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Precomputed(payload_hash.to_string()),
    )
    .map_err(|e| error_chain(&e))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| error_chain(&e))?
        .into_parts();
    let (signed, _params) = instructions.into_parts();
    Ok(signed
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_string(), h.sensitive()))
        .collect())
}

fn connection_failure(e: reqwest::Error, what: &str) -> Failure {
    let message = format!("{what}: {}", error_chain(&e));
    if e.is_builder() {
        let mut err = TransportError::new(ErrorKind::Other, message);
        err.source = Some(Box::new(e));
        return Failure::Fatal(err);
    }
    let mut err = TransportError::new(ErrorKind::Connection, message);
    err.source = Some(Box::new(e));
    Failure::Retry(err)
}

fn etag_of(headers: &HeaderMap) -> Option<String> {
    header_str(headers, "etag").filter(|e| !e.is_empty())
}

fn range_header(range: &ByteRange) -> Result<String, TransportError> {
    match range.last {
        Some(last) if last < range.first => Err(TransportError::new(
            ErrorKind::InvalidRange,
            format!(
                "invalid range {}-{last}: the last byte is before the first",
                range.first
            ),
        )),
        Some(last) => Ok(format!("bytes={}-{last}", range.first)),
        None => Ok(format!("bytes={}-", range.first)),
    }
}

/// `x-amz-expected-bucket-owner` and `x-amz-request-payer`.
fn access_headers(access: Access<'_>, out: &mut Vec<(String, String)>) {
    if let Some(owner) = access.expected_bucket_owner {
        out.push(("x-amz-expected-bucket-owner".into(), owner.to_string()));
    }
    if access.request_payer {
        out.push(("x-amz-request-payer".into(), "requester".into()));
    }
}

/// The `versionId` query of a request for one version.
fn version_query(version_id: Option<&str>) -> String {
    version_id
        .map(|v| format!("versionId={}", addressing::encode_query(v)))
        .unwrap_or_default()
}

/// The headers of a PutObject (`create == false`) or a
/// CreateMultipartUpload (`create == true`: the checksum algorithm is
/// announced, conditions go on the completion instead).
fn put_headers(
    req: &PutRequest<'_>,
    create: bool,
) -> Result<Vec<(String, String)>, TransportError> {
    let f = req.fields;
    let mut h = metadata_headers(req.metadata)?;
    let mut add = |name: &str, v: &Option<String>| {
        if let Some(v) = v {
            h.push((name.to_string(), v.clone()));
        }
    };
    add("content-type", &f.content_type);
    add("content-encoding", &f.content_encoding);
    add("content-disposition", &f.content_disposition);
    add("content-language", &f.content_language);
    add("cache-control", &f.cache_control);
    add("expires", &f.expires);
    add("x-amz-storage-class", &f.storage_class);
    add("x-amz-acl", &f.acl);
    add("x-amz-object-lock-mode", &f.object_lock_mode);
    add(
        "x-amz-object-lock-retain-until-date",
        &f.object_lock_retain_until,
    );
    add("x-amz-tagging", &f.tagging_header());
    if !create {
        add("if-none-match", &f.if_none_match);
        add("if-match", &f.if_match);
    }
    if let Some(hold) = f.object_lock_legal_hold {
        h.push((
            "x-amz-object-lock-legal-hold".into(),
            if hold { "ON" } else { "OFF" }.into(),
        ));
    }
    if let Some(sse) = &f.server_side_encryption {
        h.push((
            "x-amz-server-side-encryption".into(),
            sse.as_header().into(),
        ));
        if let ServerSideEncryption::Kms { key_id, bucket_key } = sse {
            if let Some(k) = key_id {
                h.push((
                    "x-amz-server-side-encryption-aws-kms-key-id".into(),
                    k.clone(),
                ));
            }
            if let Some(b) = bucket_key {
                h.push((
                    "x-amz-server-side-encryption-bucket-key-enabled".into(),
                    b.to_string(),
                ));
            }
        }
    }
    if create {
        if let Some(a) = f.checksum_algorithm {
            h.push(("x-amz-checksum-algorithm".into(), a.as_str().into()));
        }
    } else {
        checksum_headers(req.checksum, &mut h);
    }
    access_headers(f.access(), &mut h);
    Ok(h)
}

/// The checksum of a body: `x-amz-checksum-<alg>` and the SDK's
/// `x-amz-sdk-checksum-algorithm`.
fn checksum_headers(checksum: Option<&Checksum>, out: &mut Vec<(String, String)>) {
    if let Some(c) = checksum {
        out.push((c.algorithm.header_name().into(), c.value.clone()));
        out.push((
            "x-amz-sdk-checksum-algorithm".into(),
            c.algorithm.as_str().into(),
        ));
    }
}

/// What the headers of a HEAD or GET say of the object.
fn head_of(h: &HeaderMap, content_length: u64) -> ObjectHead {
    let s = |n: &str| header_str(h, n).filter(|v| !v.is_empty());
    let b = |n: &str| s(n).map(|v| v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("on"));
    ObjectHead {
        content_length,
        etag: etag_of(h),
        metadata: metadata_of(h),
        version_id: s("x-amz-version-id").filter(|v| v != "null"),
        last_modified: s("last-modified").and_then(|v| httpdate::parse_http_date(&v).ok()),
        content_type: s("content-type"),
        content_encoding: s("content-encoding"),
        content_disposition: s("content-disposition"),
        content_language: s("content-language"),
        cache_control: s("cache-control"),
        expires: s("expires"),
        storage_class: s("x-amz-storage-class"),
        server_side_encryption: s("x-amz-server-side-encryption"),
        sse_kms_key_id: s("x-amz-server-side-encryption-aws-kms-key-id"),
        bucket_key_enabled: b("x-amz-server-side-encryption-bucket-key-enabled"),
        object_lock_mode: s("x-amz-object-lock-mode"),
        object_lock_retain_until: s("x-amz-object-lock-retain-until-date"),
        object_lock_legal_hold: b("x-amz-object-lock-legal-hold"),
        tag_count: s("x-amz-tagging-count").and_then(|v| v.trim().parse().ok()),
    }
}

impl Transport for ReqwestTransport {
    fn head_object(&self, req: &ObjectRequest<'_>) -> Result<ObjectHead, TransportError> {
        let mut headers = Vec::new();
        access_headers(req.access, &mut headers);
        let call = Call {
            op: "HeadObject",
            method: Method::HEAD,
            bucket: req.bucket,
            key: req.key,
            query: version_query(req.version_id),
            headers,
            body: Bytes::new(),
        };
        self.run(&call, |resp| {
            let h = resp.headers();
            let content_length = header_u64(h, "content-length")
                .map_err(|m| invalid_response(format!("{}: {m}", call.what())))?
                .ok_or_else(|| invalid_response(format!("{}: no Content-Length", call.what())))?;
            Ok(head_of(h, content_length))
        })
    }

    fn get_object(&self, req: &GetRequest<'_>) -> Result<GetResponse, TransportError> {
        let mut headers = Vec::new();
        if let Some(r) = &req.range {
            headers.push(("range".to_string(), range_header(r)?));
        }
        if let Some(m) = req.if_match {
            headers.push(("if-match".to_string(), m.to_string()));
        }
        access_headers(req.access, &mut headers);
        let call = Call {
            op: "GetObject",
            method: Method::GET,
            bucket: req.bucket,
            key: req.key,
            query: version_query(req.version_id),
            headers,
            body: Bytes::new(),
        };
        let mut slot = None;
        self.run(&call, |resp| {
            let h = resp.headers();
            let bad = |m: String| invalid_response(format!("{}: {m}", call.what()));
            let length = header_u64(h, "content-length").map_err(bad)?;
            let content_range = if resp.status().as_u16() == 206 {
                let v = header_str(h, "content-range")
                    .ok_or_else(|| bad("206 without Content-Range".into()))?;
                let cr = parse_content_range(&v)
                    .ok_or_else(|| bad(format!("malformed Content-Range {v:?}")))?;
                if let Some(len) = length {
                    if len != cr.1 - cr.0 + 1 {
                        return Err(bad(format!(
                            "Content-Length {len} does not match Content-Range {v:?}"
                        )));
                    }
                }
                if let Some(r) = &req.range {
                    if cr.0 != r.first {
                        return Err(bad(format!(
                            "asked for bytes from {} and got Content-Range {v:?}",
                            r.first
                        )));
                    }
                }
                Some(cr)
            } else {
                None
            };
            let content_length = match (content_range, length) {
                (Some((_, _, total)), _) => total,
                (None, Some(len)) => len,
                (None, None) => return Err(bad("no Content-Length".into())),
            };
            let head = head_of(h, content_length);
            slot = Some((head, content_range, length));
            Ok(resp)
        })
        .and_then(|resp| {
            let (head, content_range, length) = slot.take().ok_or_else(|| {
                TransportError::new(ErrorKind::InvalidResponse, "no response head")
            })?;
            Ok(GetResponse {
                head,
                content_range,
                body: Box::new(body::BodyReader::new(resp, length, call.what())),
            })
        })
    }

    fn put_object(
        &self,
        req: &PutRequest<'_>,
        body: Bytes,
    ) -> Result<Option<String>, TransportError> {
        let call = Call {
            op: "PutObject",
            method: Method::PUT,
            bucket: req.bucket,
            key: req.key,
            query: String::new(),
            headers: put_headers(req, false)?,
            body,
        };
        self.run(&call, |resp| Ok(etag_of(resp.headers())))
    }

    fn delete_object(&self, req: &ObjectRequest<'_>) -> Result<(), TransportError> {
        let mut headers = Vec::new();
        access_headers(req.access, &mut headers);
        let call = Call {
            op: "DeleteObject",
            method: Method::DELETE,
            bucket: req.bucket,
            key: req.key,
            query: version_query(req.version_id),
            headers,
            body: Bytes::new(),
        };
        match self.run(&call, |_| Ok(())) {
            Err(e)
                if e.kind == ErrorKind::NotFound
                    && matches!(e.code.as_deref(), None | Some("NoSuchKey")) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    fn copy_object(
        &self,
        req: &s3ec_client::transport::CopyRequest<'_>,
    ) -> Result<Option<String>, TransportError> {
        self.copy_object_impl(req)
    }

    fn upload_part_copy(
        &self,
        req: &s3ec_client::transport::CopyRequest<'_>,
        upload_id: &str,
        part_number: u32,
        range: ByteRange,
    ) -> Result<String, TransportError> {
        self.upload_part_copy_impl(req, upload_id, part_number, range)
    }

    fn create_multipart_upload(&self, req: &PutRequest<'_>) -> Result<String, TransportError> {
        let call = Call {
            op: "CreateMultipartUpload",
            method: Method::POST,
            bucket: req.bucket,
            key: req.key,
            query: "uploads".to_string(),
            headers: put_headers(req, true)?,
            body: Bytes::new(),
        };
        self.run(&call, |resp| {
            self.read_result(&call, resp, "InitiateMultipartUploadResult", "UploadId")
        })
    }

    fn upload_part(&self, req: &PartRequest<'_>, body: Bytes) -> Result<String, TransportError> {
        let part_number = req.part_number;
        let mut headers = Vec::new();
        checksum_headers(req.checksum, &mut headers);
        access_headers(req.fields.access(), &mut headers);
        if !(1..=10_000).contains(&part_number) {
            return Err(TransportError::new(
                ErrorKind::Other,
                format!("part number {part_number} is outside 1..=10000"),
            ));
        }
        let call = Call {
            op: "UploadPart",
            method: Method::PUT,
            bucket: req.bucket,
            key: req.key,
            query: format!(
                "partNumber={part_number}&uploadId={}",
                addressing::encode_query(req.upload_id)
            ),
            headers,
            body,
        };
        self.run(&call, |resp| {
            etag_of(resp.headers()).ok_or_else(|| {
                invalid_response(format!("{}: no ETag in the response", call.what()))
            })
        })
    }

    fn complete_multipart_upload(
        &self,
        req: &CompleteRequest<'_>,
    ) -> Result<Option<String>, TransportError> {
        let f = req.fields;
        let mut headers = vec![("content-type".to_string(), "application/xml".to_string())];
        if let Some(v) = &f.if_none_match {
            headers.push(("if-none-match".into(), v.clone()));
        }
        if let Some(v) = &f.if_match {
            headers.push(("if-match".into(), v.clone()));
        }
        access_headers(f.access(), &mut headers);
        if req.parts.is_empty() {
            return Err(TransportError::new(
                ErrorKind::Other,
                "a multipart upload needs at least one part",
            ));
        }
        let call = Call {
            op: "CompleteMultipartUpload",
            method: Method::POST,
            bucket: req.bucket,
            key: req.key,
            query: format!("uploadId={}", addressing::encode_query(req.upload_id)),
            headers,
            body: Bytes::from(xml::complete_body(req.parts)),
        };
        self.run(&call, |resp| {
            self.read_result(&call, resp, "CompleteMultipartUploadResult", "ETag")
                .map(Some)
        })
    }

    fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), TransportError> {
        let call = Call {
            op: "AbortMultipartUpload",
            method: Method::DELETE,
            bucket,
            key,
            query: format!("uploadId={}", addressing::encode_query(upload_id)),
            headers: Vec::new(),
            body: Bytes::new(),
        };
        self.run(&call, |_| Ok(()))
    }

    fn list_objects(&self, req: &ListRequest<'_>) -> Result<ListPage, TransportError> {
        // Query parameters in canonical (sorted) order.
        let mut query = Vec::new();
        if let Some(t) = req.continuation_token {
            query.push(format!(
                "continuation-token={}",
                addressing::encode_query(t)
            ));
        }
        if let Some(d) = req.delimiter {
            query.push(format!("delimiter={}", addressing::encode_query(d)));
        }
        query.push("encoding-type=url".to_string());
        query.push("list-type=2".to_string());
        if let Some(m) = req.max_keys {
            query.push(format!("max-keys={m}"));
        }
        if let Some(p) = req.prefix {
            query.push(format!("prefix={}", addressing::encode_query(p)));
        }
        let call = Call {
            op: LIST_OBJECTS,
            method: Method::GET,
            bucket: req.bucket,
            key: req.prefix.unwrap_or(""),
            query: query.join("&"),
            headers: Vec::new(),
            body: Bytes::new(),
        };
        self.run(&call, |resp| {
            let status = resp.status().as_u16();
            let body = Self::read_small(&call, resp)?;
            match xml::parse_list(&body) {
                Ok(page) => Ok(page),
                Err(xml::Parsed::Error(e)) => {
                    let message = e
                        .message
                        .unwrap_or_else(|| "error in a 200 response".into());
                    Err(self.s3_failure(&call, status, e.code, message))
                }
                Err(_) => Err(invalid_response(format!(
                    "{}: the response is not a ListBucketResult document",
                    call.what()
                ))),
            }
        })
    }
    fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        metadata: &[(String, String)],
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, TransportError> {
        ReqwestTransport::presign_put(self, bucket, key, metadata, content_length, expires_in)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_signature(
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        payload_hash: &str,
    ) -> String {
        // The example credentials and time of the S3 SigV4 documentation.
        let creds = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "example",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600); // 2013-05-24
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let signed = match sign_request(
            creds,
            "us-east-1",
            method,
            url,
            &headers,
            payload_hash,
            time,
        ) {
            Ok(s) => s,
            Err(e) => unreachable!("{e}"),
        };
        let find = |n: &str| {
            signed
                .iter()
                .find(|(name, _, _)| name == n)
                .map(|(_, v, _)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(find("x-amz-date"), "20130524T000000Z");
        assert_eq!(find("x-amz-content-sha256"), payload_hash);
        find("authorization")
    }

    #[test]
    fn sigv4_matches_the_s3_documentation_examples() {
        // GET Object with a range.
        let auth = example_signature(
            "GET",
            "https://examplebucket.s3.amazonaws.com/test.txt",
            &[("range", "bytes=0-9")],
            EMPTY_SHA256,
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        // PUT Object: a key with `$` (encoded once), a signed payload.
        let body = b"Welcome to Amazon S3.";
        let hash = hex::encode(Sha256::digest(body));
        assert_eq!(
            hash,
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        );
        let url = format!(
            "https://examplebucket.s3.amazonaws.com/{}",
            addressing::encode_key("test$file.text")
        );
        let auth = example_signature(
            "PUT",
            &url,
            &[
                ("date", "Fri, 24 May 2013 00:00:00 GMT"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ],
            &hash,
        );
        assert!(
            auth.ends_with(
                "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, \
                 Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
            ),
            "{auth}"
        );
        // GET Bucket (list objects): query parameters.
        let auth = example_signature(
            "GET",
            "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
            &[],
            EMPTY_SHA256,
        );
        assert!(
            auth.ends_with(
                "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
            ),
            "{auth}"
        );
    }

    #[test]
    fn session_token_is_sent_and_sensitive() {
        let creds = Credentials::new("A", "B", Some("TOKEN".into()), None, "t");
        let signed = sign_request(
            creds,
            "us-east-1",
            "GET",
            "http://127.0.0.1:1/b/k",
            &[],
            EMPTY_SHA256,
            SystemTime::now(),
        )
        .unwrap_or_default();
        assert!(signed
            .iter()
            .any(|(n, v, s)| n == "x-amz-security-token" && v == "TOKEN" && *s));
        assert!(signed
            .iter()
            .any(|(n, v, _)| n == "authorization" && v.contains("x-amz-security-token")));
    }

    #[test]
    fn content_range() {
        assert_eq!(parse_content_range("bytes 0-9/100"), Some((0, 9, 100)));
        assert_eq!(parse_content_range(" bytes  5-5/6 "), Some((5, 5, 6)));
        for bad in [
            "bytes 0-9/*",
            "bytes */100",
            "bytes 9-0/100",
            "bytes 0-100/100",
            "items 0-1/2",
            "bytes 0-1",
            "",
            "bytes -1-2/3",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn metadata_validation() {
        let ok = vec![
            ("Color".to_string(), "blue sky".to_string()),
            ("x-amz-key-v2".to_string(), "AAA=".to_string()),
        ];
        let h = metadata_headers(&ok).ok();
        assert_eq!(
            h,
            Some(vec![
                ("x-amz-meta-color".to_string(), "blue sky".to_string()),
                ("x-amz-meta-x-amz-key-v2".to_string(), "AAA=".to_string())
            ])
        );
        for (k, v) in [
            ("a", "ünï"),
            ("a", "line\nbreak"),
            ("bad key", "v"),
            ("", "v"),
            ("ключ", "v"),
        ] {
            let e = metadata_headers(&[(k.to_string(), v.to_string())]).err();
            assert_eq!(e.map(|e| e.kind), Some(ErrorKind::Other), "{k:?} {v:?}");
        }
        let dup = vec![
            ("a".to_string(), "1".to_string()),
            ("A".to_string(), "2".to_string()),
        ];
        assert!(metadata_headers(&dup).is_err());
    }

    #[test]
    fn ranges() {
        let r = |first, last| ByteRange { first, last };
        assert_eq!(
            range_header(&r(0, Some(9))).ok().as_deref(),
            Some("bytes=0-9")
        );
        assert_eq!(range_header(&r(7, None)).ok().as_deref(), Some("bytes=7-"));
        assert_eq!(
            range_header(&r(9, Some(0))).err().map(|e| e.kind),
            Some(ErrorKind::InvalidRange)
        );
    }

    fn transport(endpoint: &str, path_style: Option<bool>) -> ReqwestTransport {
        let mut b = ReqwestTransport::builder()
            .region("eu-west-1")
            .credentials(Credentials::new("AKID", "SECRET", None, None, "test"));
        if !endpoint.is_empty() {
            b = b.endpoint(endpoint);
        }
        if let Some(p) = path_style {
            b = b.path_style(p);
        }
        match b.build() {
            Ok(t) => t,
            Err(e) => unreachable!("{e}"),
        }
    }

    #[test]
    fn urls() {
        let aws = transport("", None);
        assert_eq!(aws.endpoint_url(), "https://s3.eu-west-1.amazonaws.com");
        assert_eq!(
            aws.object_url("my-bucket", "a b/c").ok().as_deref(),
            Some("https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b/c")
        );
        assert_eq!(
            aws.object_url("my.bucket", "k").ok().as_deref(),
            Some("https://s3.eu-west-1.amazonaws.com/my.bucket/k")
        );
        let forced = transport("", Some(true));
        assert_eq!(
            forced.object_url("my-bucket", "k").ok().as_deref(),
            Some("https://s3.eu-west-1.amazonaws.com/my-bucket/k")
        );
        let local = transport("http://127.0.0.1:9000/", None);
        assert_eq!(
            local.object_url("b1", "x/y").ok().as_deref(),
            Some("http://127.0.0.1:9000/b1/x/y")
        );
        let vhost = transport("http://s3.test:9000", Some(false));
        assert_eq!(
            vhost.object_url("b1", "x/y").ok().as_deref(),
            Some("http://b1.s3.test:9000/x/y")
        );
        assert!(local.object_url("b1", "a/../b").is_err());
    }

    #[test]
    fn build_errors() {
        let e = ReqwestTransport::builder()
            .credentials(Credentials::new("A", "B", None, None, "t"))
            .build()
            .err();
        assert!(e.is_some_and(|e| e.message.contains("region")));
        let e = ReqwestTransport::builder()
            .region("us-east-1")
            .build()
            .err();
        assert!(e.is_some_and(|e| e.message.contains("credentials")));
        let e = ReqwestTransport::builder()
            .region("us-east-1")
            .endpoint("ftp://x")
            .credentials(Credentials::new("A", "B", None, None, "t"))
            .build()
            .err();
        assert!(e.is_some_and(|e| e.kind == ErrorKind::Other));
        let t = transport("", None);
        let dbg = format!("{t:?}");
        assert!(
            dbg.contains("eu-west-1") && !dbg.contains("SECRET"),
            "{dbg}"
        );
    }
}

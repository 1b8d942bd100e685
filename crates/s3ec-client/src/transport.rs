//! The S3 operations the client needs, as a small trait with a blocking and
//! an async twin, so that the encryption logic never depends on one HTTP
//! stack. `s3ec-reqwest` implements [`Transport`] (blocking reqwest, SigV4,
//! retries); `s3ec-aws-sdk` implements [`AsyncTransport`] over
//! `aws_sdk_s3::Client`.
//!
//! Bodies handed to `put_object` / `upload_part` are finished ciphertext: a
//! transport that retries resends these bytes and never asks for the cipher
//! to run again.

use std::fmt;
use std::io::Read;

use s3ec_keyring::BoxFuture;

/// The body type of puts and parts (re-exported so that a transport needs
/// no direct dependency on `bytes`).
pub use bytes::Bytes;

/// User metadata of an object: keys without the `x-amz-meta-` prefix, as S3
/// returns them (lower case).
pub type Metadata = Vec<(String, String)>;

/// What a HEAD (or the headers of a GET) tells about an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectHead {
    /// Length of the whole object in bytes (for a ranged GET: the total
    /// from `Content-Range`, not the length of the range).
    pub content_length: u64,
    /// The entity tag, quotes included as S3 sends it.
    pub etag: Option<String>,
    /// User metadata.
    pub metadata: Metadata,
}

/// An inclusive byte range, as in `Range: bytes=first-last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub first: u64,
    /// Last byte, inclusive; `None` for "to the end".
    pub last: Option<u64>,
}

/// A GET request.
#[derive(Debug, Clone, Copy)]
pub struct GetRequest<'a> {
    /// Bucket.
    pub bucket: &'a str,
    /// Object key.
    pub key: &'a str,
    /// Optional byte range.
    pub range: Option<ByteRange>,
    /// Only return the object if its entity tag is this one
    /// (`If-Match`); a mismatch is [`ErrorKind::PreconditionFailed`].
    pub if_match: Option<&'a str>,
}

/// A GET response: headers and a streaming body.
pub struct GetResponse {
    /// What the headers said.
    pub head: ObjectHead,
    /// `Content-Range` of a ranged response, as (first, last, total).
    pub content_range: Option<(u64, u64, u64)>,
    /// The body (for a ranged GET, only the range).
    pub body: Box<dyn Read + Send>,
}

impl fmt::Debug for GetResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetResponse")
            .field("head", &self.head)
            .field("content_range", &self.content_range)
            .finish_non_exhaustive()
    }
}

/// A PUT (or multipart upload) request.
#[derive(Debug, Clone, Copy)]
pub struct PutRequest<'a> {
    /// Bucket.
    pub bucket: &'a str,
    /// Object key.
    pub key: &'a str,
    /// User metadata to set (keys without `x-amz-meta-`).
    pub metadata: &'a [(String, String)],
}

/// One finished part of a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    /// Part number, from 1.
    pub part_number: u32,
    /// The part's entity tag.
    pub etag: String,
}

/// A listing request (S3 `ListObjectsV2`): one page of the keys of a bucket
/// that start with `prefix`, in UTF-8 binary order.
///
/// Build it with `..Default::default()` so that fields added later keep
/// your code compiling.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListRequest<'a> {
    /// Bucket.
    pub bucket: &'a str,
    /// Only keys that start with this.
    pub prefix: Option<&'a str>,
    /// Roll keys up to the first occurrence of this after the prefix into
    /// [`ListPage::common_prefixes`] (usually `/`).
    pub delimiter: Option<&'a str>,
    /// The token of the previous page's [`ListPage::next_continuation_token`].
    pub continuation_token: Option<&'a str>,
    /// The most keys (and common prefixes) in the page; `None` for the
    /// server's default (1,000 on S3).
    pub max_keys: Option<u32>,
}

/// One object of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedObject {
    /// The key.
    pub key: String,
    /// The stored length in bytes (ciphertext for an encrypted object).
    pub size: u64,
    /// The entity tag, quotes included, if the listing gave one.
    pub etag: Option<String>,
    /// When the object was last written, as the server wrote it (RFC 3339
    /// on S3), if the listing gave it.
    pub last_modified: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// The objects, in key order.
    pub objects: Vec<ListedObject>,
    /// With a delimiter: the rolled-up prefixes (each ends with it).
    pub common_prefixes: Vec<String>,
    /// Pass this in [`ListRequest::continuation_token`] for the next page;
    /// `None` on the last page.
    pub next_continuation_token: Option<String>,
}

/// Undo URL encoding as S3 writes keys in `ListObjectsV2` with
/// `encoding-type=url` and in S3 Inventory reports: `%XX` escapes, `+` for
/// a space. `None` for a malformed escape or bytes that are not UTF-8.
///
/// ```
/// use s3ec_client::transport::url_decode;
/// assert_eq!(url_decode("a%2Fb+c%C3%A9").as_deref(), Some("a/b cé"));
/// assert_eq!(url_decode("%4"), None);
/// ```
pub fn url_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// What kind of failure a transport hit.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The object (or bucket) does not exist (404).
    NotFound,
    /// `If-Match` did not match: the object changed (412).
    PreconditionFailed,
    /// The range cannot be satisfied (416).
    InvalidRange,
    /// Credentials or permissions (401/403).
    AccessDenied,
    /// Throttled or a server error (429, 5xx) after the retries ran out.
    Unavailable,
    /// The connection broke or timed out after the retries ran out.
    Connection,
    /// The response was malformed (bad XML, missing header, short body).
    InvalidResponse,
    /// Anything else (4xx other than the above, local configuration).
    Other,
    /// The transport does not implement this operation (the default body
    /// of trait methods added after a transport was written).
    Unsupported,
}

/// A transport failure.
#[derive(Debug)]
pub struct TransportError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// The S3 error code (`NoSuchKey`, `SlowDown`, ...), when there was one.
    pub code: Option<String>,
    /// A short description.
    pub message: String,
    /// The underlying error, if any.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// A new error with no status, code or source.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> TransportError {
        TransportError {
            kind,
            status: None,
            code: None,
            message: message.into(),
            source: None,
        }
    }

    /// The error of an operation this transport does not implement.
    pub fn unsupported(operation: &str) -> TransportError {
        TransportError::new(
            ErrorKind::Unsupported,
            format!("{operation} is not supported by this transport"),
        )
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.kind)?;
        if let Some(s) = self.status {
            write!(f, " (HTTP {s}")?;
            if let Some(c) = &self.code {
                write!(f, " {c}")?;
            }
            f.write_str(")")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// The S3 operations the client uses (blocking).
pub trait Transport: Send + Sync + fmt::Debug {
    /// HEAD an object.
    fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectHead, TransportError>;
    /// GET an object or a range of it.
    fn get_object(&self, req: &GetRequest<'_>) -> Result<GetResponse, TransportError>;
    /// PUT a whole object. Returns its entity tag.
    ///
    /// The body is [`Bytes`] so that a transport can send (and resend on
    /// retry) the caller's buffer without copying it; the client gets the
    /// buffer back for the next part once the transport has dropped it.
    fn put_object(
        &self,
        req: &PutRequest<'_>,
        body: Bytes,
    ) -> Result<Option<String>, TransportError>;
    /// DELETE an object (a missing object is not an error).
    fn delete_object(&self, bucket: &str, key: &str) -> Result<(), TransportError>;
    /// Start a multipart upload with the object's metadata. Returns the upload id.
    fn create_multipart_upload(&self, req: &PutRequest<'_>) -> Result<String, TransportError>;
    /// Upload one part. Returns its entity tag.
    fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: Bytes,
    ) -> Result<String, TransportError>;
    /// Complete a multipart upload. Returns the object's entity tag.
    fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<Option<String>, TransportError>;
    /// Abort a multipart upload.
    fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), TransportError>;
    /// List one page of the objects of a bucket (S3 `ListObjectsV2`).
    ///
    /// The default body returns [`ErrorKind::Unsupported`].
    fn list_objects(&self, req: &ListRequest<'_>) -> Result<ListPage, TransportError> {
        let _ = req;
        Err(TransportError::unsupported("ListObjectsV2"))
    }
}

/// An async body: a stream of chunks.
pub type AsyncBody = std::pin::Pin<
    Box<dyn futures_core::Stream<Item = Result<bytes::Bytes, TransportError>> + Send>,
>;

/// An async GET response.
pub struct AsyncGetResponse {
    /// What the headers said.
    pub head: ObjectHead,
    /// `Content-Range` of a ranged response, as (first, last, total).
    pub content_range: Option<(u64, u64, u64)>,
    /// The body.
    pub body: AsyncBody,
}

impl fmt::Debug for AsyncGetResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncGetResponse")
            .field("head", &self.head)
            .field("content_range", &self.content_range)
            .finish_non_exhaustive()
    }
}

/// The async twin of [`Transport`].
pub trait AsyncTransport: Send + Sync + fmt::Debug {
    /// HEAD an object.
    fn head_object<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<ObjectHead, TransportError>>;
    /// GET an object or a range of it.
    fn get_object<'a>(
        &'a self,
        req: &'a GetRequest<'a>,
    ) -> BoxFuture<'a, Result<AsyncGetResponse, TransportError>>;
    /// PUT a whole object. Returns its entity tag.
    fn put_object<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>>;
    /// DELETE an object.
    fn delete_object<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), TransportError>>;
    /// Start a multipart upload. Returns the upload id.
    fn create_multipart_upload<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
    ) -> BoxFuture<'a, Result<String, TransportError>>;
    /// Upload one part. Returns its entity tag.
    fn upload_part<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload_id: &'a str,
        part_number: u32,
        body: Bytes,
    ) -> BoxFuture<'a, Result<String, TransportError>>;
    /// Complete a multipart upload.
    fn complete_multipart_upload<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload_id: &'a str,
        parts: &'a [CompletedPart],
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>>;
    /// Abort a multipart upload.
    fn abort_multipart_upload<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), TransportError>>;
    /// List one page of the objects of a bucket (S3 `ListObjectsV2`).
    ///
    /// The default body returns [`ErrorKind::Unsupported`].
    fn list_objects<'a>(
        &'a self,
        req: &'a ListRequest<'a>,
    ) -> BoxFuture<'a, Result<ListPage, TransportError>> {
        let _ = req;
        Box::pin(async { Err(TransportError::unsupported("ListObjectsV2")) })
    }
}

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
use std::time::SystemTime;

use s3ec_keyring::BoxFuture;

/// The body type of puts and parts (re-exported so that a transport needs
/// no direct dependency on `bytes`).
pub use bytes::Bytes;

/// User metadata of an object: keys without the `x-amz-meta-` prefix, as S3
/// returns them (lower case).
pub type Metadata = Vec<(String, String)>;

/// What a HEAD (or the headers of a GET) tells about an object.
///
/// Transports fill in what the response carried; build one with
/// `ObjectHead { content_length, etag, metadata, ..Default::default() }` so
/// that fields added later need no change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectHead {
    /// Length of the whole object in bytes (for a ranged GET: the total
    /// from `Content-Range`, not the length of the range).
    pub content_length: u64,
    /// The entity tag, quotes included as S3 sends it.
    pub etag: Option<String>,
    /// User metadata.
    pub metadata: Metadata,
    /// The version id (`x-amz-version-id`), in a versioned bucket.
    pub version_id: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<SystemTime>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Expires`, as sent (an HTTP date).
    pub expires: Option<String>,
    /// The storage class (`x-amz-storage-class`; S3 omits it for
    /// `STANDARD`).
    pub storage_class: Option<String>,
    /// Server-side encryption (`x-amz-server-side-encryption`: `AES256`,
    /// `aws:kms`, ...).
    pub server_side_encryption: Option<String>,
    /// The KMS key of SSE-KMS.
    pub sse_kms_key_id: Option<String>,
    /// Whether SSE-KMS uses an S3 Bucket Key.
    pub bucket_key_enabled: Option<bool>,
    /// Object lock mode (`GOVERNANCE`, `COMPLIANCE`).
    pub object_lock_mode: Option<String>,
    /// Object lock retention date (ISO 8601).
    pub object_lock_retain_until: Option<String>,
    /// Object lock legal hold.
    pub object_lock_legal_hold: Option<bool>,
    /// How many tags the object has (`x-amz-tagging-count`).
    pub tag_count: Option<u32>,
}

/// Who pays and whose bucket it must be: `x-amz-expected-bucket-owner`
/// and `x-amz-request-payer`, sent on every request of an operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Access<'a> {
    /// The account id the bucket must belong to (else 403).
    pub expected_bucket_owner: Option<&'a str>,
    /// Requester pays (`x-amz-request-payer: requester`).
    pub request_payer: bool,
}

/// A HEAD or DELETE of one object (a version of it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectRequest<'a> {
    /// Bucket.
    pub bucket: &'a str,
    /// Object key.
    pub key: &'a str,
    /// A version of the object instead of the current one.
    pub version_id: Option<&'a str>,
    /// Expected owner, request payer.
    pub access: Access<'a>,
}

impl<'a> ObjectRequest<'a> {
    /// The current version of `bucket`/`key`.
    pub fn new(bucket: &'a str, key: &'a str) -> ObjectRequest<'a> {
        ObjectRequest {
            bucket,
            key,
            ..Default::default()
        }
    }
}

/// Server-side encryption asked for on a put (on top of the client-side
/// encryption).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerSideEncryption {
    /// SSE-S3 (`AES256`).
    S3,
    /// SSE-KMS (`aws:kms`), with the bucket's default key or `key_id`.
    Kms {
        /// The KMS key; `None` for the AWS managed key.
        key_id: Option<String>,
        /// Use an S3 Bucket Key.
        bucket_key: Option<bool>,
    },
}

impl ServerSideEncryption {
    /// The `x-amz-server-side-encryption` value.
    pub fn as_header(&self) -> &'static str {
        match self {
            ServerSideEncryption::S3 => "AES256",
            ServerSideEncryption::Kms { .. } => "aws:kms",
        }
    }
}

/// An additional checksum of what is sent (of the ciphertext: S3 checks
/// it on arrival and keeps it).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    /// CRC-32 (IEEE).
    Crc32,
    /// CRC-32C (Castagnoli).
    Crc32c,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// The name S3 uses (`CRC32`, `CRC32C`, `SHA256`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// The header that carries it (`x-amz-checksum-crc32`, ...).
    pub fn header_name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The checksum of `data`, base64 as S3 takes it.
    pub fn checksum(self, data: &[u8]) -> Checksum {
        use base64ct::{Base64, Encoding};
        use sha2::Digest;
        let value = match self {
            ChecksumAlgorithm::Crc32 => Base64::encode_string(&crc32fast::hash(data).to_be_bytes()),
            ChecksumAlgorithm::Crc32c => Base64::encode_string(&crc32c::crc32c(data).to_be_bytes()),
            ChecksumAlgorithm::Sha256 => Base64::encode_string(&sha2::Sha256::digest(data)),
        };
        Checksum {
            algorithm: self,
            value,
        }
    }
}

/// A checksum value of a body or part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// The value, base64.
    pub value: String,
}

/// The fields of a put besides its body and metadata: the S3 request
/// headers an application sets. All optional; the default sends none.
///
/// Set them through the client's put builder
/// ([`Client::put`](crate::Client::put)); transports read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutFields {
    /// `Content-Type` (of the plaintext: what a reader gets back).
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Expires` (an HTTP date, e.g. `Wed, 21 Oct 2026 07:28:00 GMT`).
    pub expires: Option<String>,
    /// Storage class (`STANDARD_IA`, `GLACIER_IR`, ...).
    pub storage_class: Option<String>,
    /// SSE-S3 or SSE-KMS.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// Tags (`x-amz-tagging`, sent URL-encoded).
    pub tagging: Vec<(String, String)>,
    /// A canned ACL (`private`, `bucket-owner-full-control`, ...).
    pub acl: Option<String>,
    /// Object lock mode (`GOVERNANCE` or `COMPLIANCE`).
    pub object_lock_mode: Option<String>,
    /// Object lock retention date (ISO 8601, e.g. `2030-01-01T00:00:00Z`).
    pub object_lock_retain_until: Option<String>,
    /// Object lock legal hold.
    pub object_lock_legal_hold: Option<bool>,
    /// A checksum of the ciphertext on the PUT and on every part.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// Write only if no object has the key (`If-None-Match: *`).
    pub if_none_match: Option<String>,
    /// Write only if the current object has this entity tag (`If-Match`).
    pub if_match: Option<String>,
    /// The account id the bucket must belong to.
    pub expected_bucket_owner: Option<String>,
    /// Requester pays.
    pub request_payer: bool,
}

impl PutFields {
    /// No fields at all (what [`PutFields::default`] gives), as a constant
    /// a request can borrow.
    pub const NONE: PutFields = PutFields {
        content_type: None,
        content_encoding: None,
        content_disposition: None,
        content_language: None,
        cache_control: None,
        expires: None,
        storage_class: None,
        server_side_encryption: None,
        tagging: Vec::new(),
        acl: None,
        object_lock_mode: None,
        object_lock_retain_until: None,
        object_lock_legal_hold: None,
        checksum_algorithm: None,
        if_none_match: None,
        if_match: None,
        expected_bucket_owner: None,
        request_payer: false,
    };

    /// The `x-amz-tagging` value (`k1=v1&k2=v2`, URL-encoded), if any tags.
    pub fn tagging_header(&self) -> Option<String> {
        if self.tagging.is_empty() {
            return None;
        }
        let mut out = String::new();
        for (i, (k, v)) in self.tagging.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            url_encode_into(&mut out, k);
            out.push('=');
            url_encode_into(&mut out, v);
        }
        Some(out)
    }

    /// Expected owner and request payer as an [`Access`].
    pub fn access(&self) -> Access<'_> {
        Access {
            expected_bucket_owner: self.expected_bucket_owner.as_deref(),
            request_payer: self.request_payer,
        }
    }
}

/// Percent-encode everything but RFC 3986 unreserved characters.
fn url_encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// An inclusive byte range, as in `Range: bytes=first-last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub first: u64,
    /// Last byte, inclusive; `None` for "to the end".
    pub last: Option<u64>,
}

/// A GET request. Build it with `..Default::default()` for the fields you
/// do not set.
#[derive(Debug, Clone, Copy, Default)]
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
    /// A version of the object instead of the current one.
    pub version_id: Option<&'a str>,
    /// Expected owner, request payer.
    pub access: Access<'a>,
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

impl<'a> GetRequest<'a> {
    /// A GET of the whole current object.
    pub fn new(bucket: &'a str, key: &'a str) -> GetRequest<'a> {
        GetRequest {
            bucket,
            key,
            ..GetRequest::default()
        }
    }
}

/// A PUT (or CreateMultipartUpload) request.
#[derive(Debug, Clone, Copy)]
pub struct PutRequest<'a> {
    /// Bucket.
    pub bucket: &'a str,
    /// Object key.
    pub key: &'a str,
    /// User metadata to set (keys without `x-amz-meta-`).
    pub metadata: &'a [(String, String)],
    /// Content headers, storage class, SSE, tags, conditions, ...
    pub fields: &'a PutFields,
    /// The checksum of this body (a single PUT only; set by the client
    /// when `fields.checksum_algorithm` asks for one).
    pub checksum: Option<&'a Checksum>,
}

/// What requests built without fields borrow.
static NO_FIELDS: PutFields = PutFields::NONE;

impl<'a> PutRequest<'a> {
    /// A request with metadata and no other field.
    pub fn new(bucket: &'a str, key: &'a str, metadata: &'a [(String, String)]) -> PutRequest<'a> {
        PutRequest {
            bucket,
            key,
            metadata,
            fields: &NO_FIELDS,
            checksum: None,
        }
    }
}

/// An UploadPart request.
#[derive(Debug, Clone, Copy)]
pub struct PartRequest<'a> {
    /// Bucket.
    pub bucket: &'a str,
    /// Object key.
    pub key: &'a str,
    /// The upload.
    pub upload_id: &'a str,
    /// Part number, 1..=10000.
    pub part_number: u32,
    /// The part's checksum, when the upload asked for one.
    pub checksum: Option<&'a Checksum>,
    /// The upload's fields (expected owner, request payer, checksum
    /// algorithm).
    pub fields: &'a PutFields,
}

impl<'a> PartRequest<'a> {
    /// Part `part_number` of `upload_id`, with no checksum or other field.
    pub fn new(
        bucket: &'a str,
        key: &'a str,
        upload_id: &'a str,
        part_number: u32,
    ) -> PartRequest<'a> {
        PartRequest {
            bucket,
            key,
            upload_id,
            part_number,
            checksum: None,
            fields: &NO_FIELDS,
        }
    }
}

/// A CompleteMultipartUpload request.
#[derive(Debug, Clone, Copy)]
pub struct CompleteRequest<'a> {
    /// Bucket.
    pub bucket: &'a str,
    /// Object key.
    pub key: &'a str,
    /// The upload.
    pub upload_id: &'a str,
    /// Every part, in order.
    pub parts: &'a [CompletedPart],
    /// The upload's fields (conditions `If-None-Match` / `If-Match`,
    /// expected owner, request payer).
    pub fields: &'a PutFields,
}

impl<'a> CompleteRequest<'a> {
    /// Complete `upload_id` with `parts`, with no other field.
    pub fn new(
        bucket: &'a str,
        key: &'a str,
        upload_id: &'a str,
        parts: &'a [CompletedPart],
    ) -> CompleteRequest<'a> {
        CompleteRequest {
            bucket,
            key,
            upload_id,
            parts,
            fields: &NO_FIELDS,
        }
    }
}

/// One finished part of a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    /// Part number, from 1.
    pub part_number: u32,
    /// The part's entity tag.
    pub etag: String,
    /// The part's checksum, when the upload has one.
    pub checksum: Option<Checksum>,
}

impl CompletedPart {
    /// Part `part_number` with entity tag `etag` and no checksum.
    pub fn new(part_number: u32, etag: impl Into<String>) -> CompletedPart {
        CompletedPart {
            part_number,
            etag: etag.into(),
            checksum: None,
        }
    }
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

/// A server-side copy of an object onto itself or another key (CopyObject,
/// or one part of it with UploadPartCopy), replacing its user metadata.
#[derive(Debug, Clone, Copy)]
pub struct CopyRequest<'a> {
    /// Destination bucket.
    pub bucket: &'a str,
    /// Destination key.
    pub key: &'a str,
    /// Source bucket.
    pub source_bucket: &'a str,
    /// Source key.
    pub source_key: &'a str,
    /// Copy only if the source's entity tag is this one
    /// (`x-amz-copy-source-if-match`); a mismatch is
    /// [`ErrorKind::PreconditionFailed`] and nothing is written.
    pub source_if_match: Option<&'a str>,
    /// The copy's user metadata (keys without `x-amz-meta-`): it replaces
    /// the source's (`x-amz-metadata-directive: REPLACE`). Not used by
    /// UploadPartCopy (the upload's metadata was set when it was created).
    pub metadata: &'a [(String, String)],
}

/// Undo URL encoding as S3 writes keys in `ListObjectsV2` with
/// `encoding-type=url` and in S3 Inventory reports: `%XX` escapes, `+` for
/// a space. `None` for a malformed escape or bytes that are not UTF-8.
///
/// ```
/// use s3ec_client::transport::url_decode;
/// assert_eq!(url_decode("a%2Fb+c%C3%A9").as_deref(), Some("a/b cé"));
/// assert_eq!(url_decode("%4"), None);
/// // Found by the `s3_responses` fuzz target: a sign is no hex digit.
/// assert_eq!(url_decode("%+c"), None);
/// ```
pub fn url_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                // Two hex digits exactly (`from_str_radix` alone would
                // also take a sign: `%+1`).
                let hex = b.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
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

/// A presigned request ([`Transport::presign_put`]): send `method` to
/// `url` with exactly `headers` (each one is signed: a different value or
/// a missing one and S3 refuses the request) before `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PresignedRequest {
    /// The HTTP method (`PUT`).
    pub method: String,
    /// The URL, credential scope and signature in its query string.
    pub url: String,
    /// The headers to send, name and value (`host` is the URL's).
    pub headers: Vec<(String, String)>,
    /// When the URL stops being accepted.
    pub expires_at: std::time::SystemTime,
}

impl PresignedRequest {
    /// A presigned request (for transports implementing
    /// [`Transport::presign_put`]).
    pub fn new(
        method: impl Into<String>,
        url: impl Into<String>,
        headers: Vec<(String, String)>,
        expires_at: std::time::SystemTime,
    ) -> PresignedRequest {
        PresignedRequest {
            method: method.into(),
            url: url.into(),
            headers,
            expires_at,
        }
    }
}

/// The S3 operations the client uses (blocking).
pub trait Transport: Send + Sync + fmt::Debug {
    /// HEAD an object.
    fn head_object(&self, req: &ObjectRequest<'_>) -> Result<ObjectHead, TransportError>;
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
    fn delete_object(&self, req: &ObjectRequest<'_>) -> Result<(), TransportError>;
    /// Start a multipart upload with the object's metadata. Returns the upload id.
    fn create_multipart_upload(&self, req: &PutRequest<'_>) -> Result<String, TransportError>;
    /// Upload one part. Returns its entity tag.
    fn upload_part(&self, req: &PartRequest<'_>, body: Bytes) -> Result<String, TransportError>;
    /// Complete a multipart upload. Returns the object's entity tag.
    fn complete_multipart_upload(
        &self,
        req: &CompleteRequest<'_>,
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
    /// Copy an object server-side (up to 5 GiB), replacing its user
    /// metadata with `req.metadata` and keeping every other property of
    /// the source: Content-Type, Content-Encoding, Content-Disposition,
    /// Content-Language, Cache-Control, Expires, storage class, server-side
    /// encryption (SSE-S3, SSE-KMS with its key and bucket key), website
    /// redirect, object lock settings and tags (ACLs are not copied by S3).
    /// Returns the copy's entity tag.
    fn copy_object(&self, req: &CopyRequest<'_>) -> Result<Option<String>, TransportError> {
        let _ = req;
        Err(TransportError::unsupported("CopyObject"))
    }
    /// Copy bytes `range` of the source into part `part_number` of a
    /// multipart upload (UploadPartCopy). Returns the part's entity tag.
    fn upload_part_copy(
        &self,
        req: &CopyRequest<'_>,
        upload_id: &str,
        part_number: u32,
        range: ByteRange,
    ) -> Result<String, TransportError> {
        let _ = (req, upload_id, part_number, range);
        Err(TransportError::unsupported("UploadPartCopy"))
    }
    /// Presign a PutObject of `bucket`/`key` for an uploader without
    /// credentials: the user metadata `metadata` (names without
    /// `x-amz-meta-`) and, if given, the body's length signed in; valid
    /// for `expires_in`. Nothing is sent. Prefer
    /// [`crate::Client::presign_put`], which first checks that the envelope
    /// opens under the client's key.
    ///
    /// The default body returns [`ErrorKind::Unsupported`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use s3ec_client::transport::{ErrorKind, Transport};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// // The local folder store has no URLs to sign: the default answer
    /// // (`s3ec_reqwest::ReqwestTransport` presigns).
    /// let store = s3ec_fs::FsStore::new(dir.path())?;
    /// let envelope = [("x-amz-c".to_string(), "115".to_string())];
    /// let e = Transport::presign_put(&store, "bucket", "key", &envelope, Some(16), Duration::from_secs(60))
    ///     .unwrap_err();
    /// assert_eq!(e.kind, ErrorKind::Unsupported);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        metadata: &[(String, String)],
        content_length: Option<u64>,
        expires_in: std::time::Duration,
    ) -> Result<PresignedRequest, TransportError> {
        let _ = (bucket, key, metadata, content_length, expires_in);
        Err(TransportError::unsupported("PresignPutObject"))
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
        req: &'a ObjectRequest<'a>,
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
    /// DELETE an object (a missing object is not an error).
    fn delete_object<'a>(
        &'a self,
        req: &'a ObjectRequest<'a>,
    ) -> BoxFuture<'a, Result<(), TransportError>>;
    /// Start a multipart upload. Returns the upload id.
    fn create_multipart_upload<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
    ) -> BoxFuture<'a, Result<String, TransportError>>;
    /// Upload one part. Returns its entity tag.
    fn upload_part<'a>(
        &'a self,
        req: &'a PartRequest<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Result<String, TransportError>>;
    /// Complete a multipart upload.
    fn complete_multipart_upload<'a>(
        &'a self,
        req: &'a CompleteRequest<'a>,
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
    /// Copy an object server-side, replacing its user metadata (see
    /// [`Transport::copy_object`]).
    fn copy_object<'a>(
        &'a self,
        req: &'a CopyRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        let _ = req;
        Box::pin(std::future::ready(Err(TransportError::unsupported(
            "CopyObject",
        ))))
    }
    /// Copy a byte range of the source into a part (see
    /// [`Transport::upload_part_copy`]).
    fn upload_part_copy<'a>(
        &'a self,
        req: &'a CopyRequest<'a>,
        upload_id: &'a str,
        part_number: u32,
        range: ByteRange,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        let _ = (req, upload_id, part_number, range);
        Box::pin(std::future::ready(Err(TransportError::unsupported(
            "UploadPartCopy",
        ))))
    }
    /// Presign a PutObject (see [`Transport::presign_put`]); prefer
    /// [`crate::AsyncClient::presign_put`], which first checks that the
    /// envelope opens under the client's key.
    ///
    /// The default body returns [`ErrorKind::Unsupported`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use s3ec_client::transport::{AsyncTransport, ErrorKind};
    ///
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// // The local folder store has no URLs to sign: the default answer
    /// // (`s3ec_aws_sdk::AwsSdkTransport` presigns).
    /// let store = s3ec_fs::FsStore::new(dir.path())?;
    /// let envelope = [("x-amz-c".to_string(), "115".to_string())];
    /// let e = AsyncTransport::presign_put(&store, "bucket", "key", &envelope, Some(16), Duration::from_secs(60))
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(e.kind, ErrorKind::Unsupported);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn presign_put<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        metadata: &'a [(String, String)],
        content_length: Option<u64>,
        expires_in: std::time::Duration,
    ) -> BoxFuture<'a, Result<PresignedRequest, TransportError>> {
        let _ = (bucket, key, metadata, content_length, expires_in);
        Box::pin(std::future::ready(Err(TransportError::unsupported(
            "PresignPutObject",
        ))))
    }
}

/// A shared transport is a transport (so one `ReqwestTransport` can serve
/// several clients: `Client::builder(Arc::clone(&s3), keyring)`).
impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn head_object(&self, req: &ObjectRequest<'_>) -> Result<ObjectHead, TransportError> {
        (**self).head_object(req)
    }
    fn get_object(&self, req: &GetRequest<'_>) -> Result<GetResponse, TransportError> {
        (**self).get_object(req)
    }
    fn put_object(
        &self,
        req: &PutRequest<'_>,
        body: Bytes,
    ) -> Result<Option<String>, TransportError> {
        (**self).put_object(req, body)
    }
    fn delete_object(&self, req: &ObjectRequest<'_>) -> Result<(), TransportError> {
        (**self).delete_object(req)
    }
    fn create_multipart_upload(&self, req: &PutRequest<'_>) -> Result<String, TransportError> {
        (**self).create_multipart_upload(req)
    }
    fn upload_part(&self, req: &PartRequest<'_>, body: Bytes) -> Result<String, TransportError> {
        (**self).upload_part(req, body)
    }
    fn complete_multipart_upload(
        &self,
        req: &CompleteRequest<'_>,
    ) -> Result<Option<String>, TransportError> {
        (**self).complete_multipart_upload(req)
    }
    fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), TransportError> {
        (**self).abort_multipart_upload(bucket, key, upload_id)
    }
    fn list_objects(&self, req: &ListRequest<'_>) -> Result<ListPage, TransportError> {
        (**self).list_objects(req)
    }
    fn copy_object(&self, req: &CopyRequest<'_>) -> Result<Option<String>, TransportError> {
        (**self).copy_object(req)
    }
    fn upload_part_copy(
        &self,
        req: &CopyRequest<'_>,
        upload_id: &str,
        part_number: u32,
        range: ByteRange,
    ) -> Result<String, TransportError> {
        (**self).upload_part_copy(req, upload_id, part_number, range)
    }
    fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        metadata: &[(String, String)],
        content_length: Option<u64>,
        expires_in: std::time::Duration,
    ) -> Result<PresignedRequest, TransportError> {
        (**self).presign_put(bucket, key, metadata, content_length, expires_in)
    }
}

/// A shared async transport is an async transport.
impl<T: AsyncTransport + ?Sized> AsyncTransport for std::sync::Arc<T> {
    fn head_object<'a>(
        &'a self,
        req: &'a ObjectRequest<'a>,
    ) -> BoxFuture<'a, Result<ObjectHead, TransportError>> {
        (**self).head_object(req)
    }
    fn get_object<'a>(
        &'a self,
        req: &'a GetRequest<'a>,
    ) -> BoxFuture<'a, Result<AsyncGetResponse, TransportError>> {
        (**self).get_object(req)
    }
    fn put_object<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        (**self).put_object(req, body)
    }
    fn delete_object<'a>(
        &'a self,
        req: &'a ObjectRequest<'a>,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        (**self).delete_object(req)
    }
    fn create_multipart_upload<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        (**self).create_multipart_upload(req)
    }
    fn upload_part<'a>(
        &'a self,
        req: &'a PartRequest<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        (**self).upload_part(req, body)
    }
    fn complete_multipart_upload<'a>(
        &'a self,
        req: &'a CompleteRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        (**self).complete_multipart_upload(req)
    }
    fn abort_multipart_upload<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        (**self).abort_multipart_upload(bucket, key, upload_id)
    }
    fn list_objects<'a>(
        &'a self,
        req: &'a ListRequest<'a>,
    ) -> BoxFuture<'a, Result<ListPage, TransportError>> {
        (**self).list_objects(req)
    }
    fn copy_object<'a>(
        &'a self,
        req: &'a CopyRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        (**self).copy_object(req)
    }
    fn upload_part_copy<'a>(
        &'a self,
        req: &'a CopyRequest<'a>,
        upload_id: &'a str,
        part_number: u32,
        range: ByteRange,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        (**self).upload_part_copy(req, upload_id, part_number, range)
    }
    fn presign_put<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        metadata: &'a [(String, String)],
        content_length: Option<u64>,
        expires_in: std::time::Duration,
    ) -> BoxFuture<'a, Result<PresignedRequest, TransportError>> {
        (**self).presign_put(bucket, key, metadata, content_length, expires_in)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagging_is_url_encoded() {
        let mut f = PutFields::default();
        assert_eq!(f.tagging_header(), None);
        f.tagging = vec![("a b".into(), "x&y=z".into()), ("k".into(), "é".into())];
        assert_eq!(
            f.tagging_header().as_deref(),
            Some("a%20b=x%26y%3Dz&k=%C3%A9")
        );
    }

    #[test]
    fn checksums_match_known_values() {
        // "123456789": CRC-32 0xCBF43926, CRC-32C 0xE3069283.
        let d = b"123456789";
        assert_eq!(ChecksumAlgorithm::Crc32.checksum(d).value, "y/Q5Jg==");
        assert_eq!(ChecksumAlgorithm::Crc32c.checksum(d).value, "4waSgw==");
        assert_eq!(
            ChecksumAlgorithm::Sha256.checksum(b"").value,
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}

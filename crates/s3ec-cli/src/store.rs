//! Where objects live: S3 (or any S3-compatible endpoint) through
//! s3ec-reqwest, or a local folder through s3ec-fs; `s3://` URLs; a
//! transport wrapper that traces every request and feeds the progress bar.

use s3ec_client::transport::{ByteRange, CompleteRequest, CopyRequest, ObjectRequest, PartRequest};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use indicatif::ProgressBar;
use s3ec_client::transport::{
    Bytes, GetRequest, GetResponse, ListPage, ListRequest, ListedObject, ObjectHead, PutRequest,
    Transport, TransportError,
};

use crate::error::{CliError, Result};

/// The environment variable naming a local store folder (the same as
/// `--endpoint-url file:///FOLDER`).
pub(crate) const LOCAL_STORE_ENV: &str = "S3EC_LOCAL_STORE";

/// An `s3://bucket/key` location (the key may be empty or a prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Url {
    pub(crate) bucket: String,
    pub(crate) key: String,
}

impl S3Url {
    pub(crate) fn parse(s: &str) -> Option<S3Url> {
        let rest = s.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Url {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    pub(crate) fn require(s: &str) -> Result<S3Url> {
        S3Url::parse(s)
            .ok_or_else(|| CliError::usage(format!("{s:?} is not an s3://bucket[/key] URL")))
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// How to reach the store.
#[derive(Debug, Clone, Default)]
pub(crate) struct StoreOptions {
    pub(crate) endpoint_url: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) path_style: bool,
}

/// The folder of a `file://` endpoint URL, or of `S3EC_LOCAL_STORE`.
fn local_folder(opts: &StoreOptions) -> Option<PathBuf> {
    // --endpoint-url, then S3EC_LOCAL_STORE, then the AWS variables.
    if let Some(u) = &opts.endpoint_url {
        return u.strip_prefix("file://").map(PathBuf::from);
    }
    if let Some(dir) = std::env::var_os(LOCAL_STORE_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    std::env::var("AWS_ENDPOINT_URL_S3")
        .ok()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .and_then(|u| u.strip_prefix("file://").map(PathBuf::from))
}

/// Open the store the options name.
pub(crate) fn open(opts: &StoreOptions) -> Result<Arc<dyn Transport>> {
    if let Some(dir) = local_folder(opts) {
        if dir.as_os_str().is_empty() {
            return Err(CliError::usage(
                "a file:// endpoint needs a folder: file:///path/to/folder",
            ));
        }
        tracing::info!(folder = %dir.display(), "using the local folder store");
        let store = s3ec_fs::FsStore::new(&dir).map_err(|e| {
            CliError::from(e).context(format!("opening the local store {}", dir.display()))
        })?;
        return Ok(Arc::new(store));
    }
    let mut b = s3ec_reqwest::ReqwestTransport::builder().with_env();
    if let Some(p) = &opts.profile {
        b = b.profile(p);
    }
    if let Some(r) = &opts.region {
        b = b.region(r);
    }
    if let Some(u) = &opts.endpoint_url {
        b = b.endpoint(u);
    }
    if opts.path_style {
        b = b.path_style(true);
    }
    let t = b.build().map_err(|e| {
        let mut c = CliError::from(e);
        c.exit = crate::error::Exit::Usage;
        c.context("configuring S3")
    })?;
    tracing::info!(endpoint = %t.endpoint_url(), region = t.region(), "using S3");
    Ok(Arc::new(t))
}

/// A transport that logs each request (`-v`) and counts body bytes into a
/// progress bar.
#[derive(Debug, Clone)]
pub(crate) struct Instrumented {
    inner: Arc<dyn Transport>,
    progress: Option<ProgressBar>,
    /// Count uploaded bytes (false when the source reader counts them).
    count_uploads: bool,
}

impl Instrumented {
    pub(crate) fn new(inner: Arc<dyn Transport>) -> Instrumented {
        Instrumented {
            inner,
            progress: None,
            count_uploads: false,
        }
    }

    /// Count downloaded body bytes (and uploads if `uploads`) into `bar`.
    pub(crate) fn with_progress(mut self, bar: Option<ProgressBar>, uploads: bool) -> Instrumented {
        self.progress = bar;
        self.count_uploads = uploads;
        self
    }

    fn log<T>(
        &self,
        op: &str,
        bucket: &str,
        key: &str,
        f: impl FnOnce() -> Result<T, TransportError>,
    ) -> Result<T, TransportError> {
        let start = Instant::now();
        let r = f();
        let ms = start.elapsed().as_millis();
        match &r {
            Ok(_) => tracing::debug!(op, bucket, key, ms, "request"),
            Err(e) => tracing::debug!(op, bucket, key, ms, error = %e, "request failed"),
        }
        r
    }

    fn uploaded(&self, n: usize) {
        if self.count_uploads {
            if let Some(p) = &self.progress {
                p.inc(n as u64);
            }
        }
    }
}

struct Counting {
    inner: Box<dyn Read + Send>,
    bar: ProgressBar,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

impl Transport for Instrumented {
    fn head_object(&self, req: &ObjectRequest<'_>) -> Result<ObjectHead, TransportError> {
        self.log("HeadObject", req.bucket, req.key, || {
            self.inner.head_object(req)
        })
    }

    fn get_object(&self, req: &GetRequest<'_>) -> Result<GetResponse, TransportError> {
        let mut resp = self.log("GetObject", req.bucket, req.key, || {
            self.inner.get_object(req)
        })?;
        if let Some(bar) = &self.progress {
            // Only object bodies, not instruction files (they are small).
            if !req
                .key
                .ends_with(s3ec_core::envelope::INSTRUCTION_FILE_SUFFIX)
            {
                resp.body = Box::new(Counting {
                    inner: resp.body,
                    bar: bar.clone(),
                });
            }
        }
        Ok(resp)
    }

    fn put_object(
        &self,
        req: &PutRequest<'_>,
        body: Bytes,
    ) -> Result<Option<String>, TransportError> {
        let n = body.len();
        let r = self.log("PutObject", req.bucket, req.key, || {
            self.inner.put_object(req, body)
        })?;
        self.uploaded(n);
        Ok(r)
    }

    fn delete_object(&self, req: &ObjectRequest<'_>) -> Result<(), TransportError> {
        self.log("DeleteObject", req.bucket, req.key, || {
            self.inner.delete_object(req)
        })
    }

    fn create_multipart_upload(&self, req: &PutRequest<'_>) -> Result<String, TransportError> {
        self.log("CreateMultipartUpload", req.bucket, req.key, || {
            self.inner.create_multipart_upload(req)
        })
    }

    fn upload_part(&self, req: &PartRequest<'_>, body: Bytes) -> Result<String, TransportError> {
        let n = body.len();
        let r = self.log("UploadPart", req.bucket, req.key, || {
            self.inner.upload_part(req, body)
        })?;
        self.uploaded(n);
        Ok(r)
    }

    fn complete_multipart_upload(
        &self,
        req: &CompleteRequest<'_>,
    ) -> Result<Option<String>, TransportError> {
        self.log("CompleteMultipartUpload", req.bucket, req.key, || {
            self.inner.complete_multipart_upload(req)
        })
    }

    fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), TransportError> {
        self.log("AbortMultipartUpload", bucket, key, || {
            self.inner.abort_multipart_upload(bucket, key, upload_id)
        })
    }

    fn list_objects(&self, req: &ListRequest<'_>) -> Result<ListPage, TransportError> {
        self.log(
            "ListObjectsV2",
            req.bucket,
            req.prefix.unwrap_or(""),
            || self.inner.list_objects(req),
        )
    }

    fn copy_object(&self, req: &CopyRequest<'_>) -> Result<Option<String>, TransportError> {
        self.log("CopyObject", req.bucket, req.key, || {
            self.inner.copy_object(req)
        })
    }

    fn upload_part_copy(
        &self,
        req: &CopyRequest<'_>,
        upload_id: &str,
        part_number: u32,
        range: ByteRange,
    ) -> Result<String, TransportError> {
        self.log("UploadPartCopy", req.bucket, req.key, || {
            self.inner
                .upload_part_copy(req, upload_id, part_number, range)
        })
    }
}

/// Every object under `prefix`, all pages.
pub(crate) fn list_all(t: &dyn Transport, bucket: &str, prefix: &str) -> Result<Vec<ListedObject>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = t.list_objects(&ListRequest {
            bucket,
            prefix: Some(prefix).filter(|p| !p.is_empty()),
            continuation_token: token.as_deref(),
            ..Default::default()
        })?;
        out.extend(page.objects);
        match page.next_continuation_token {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

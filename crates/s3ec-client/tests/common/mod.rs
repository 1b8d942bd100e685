//! An in-memory S3 (blocking and async transports over one store) with
//! fault injection, for the client tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use s3ec_client::transport::*;
use s3ec_keyring::BoxFuture;

/// A stored object.
#[derive(Debug, Clone)]
pub struct Obj {
    pub metadata: Metadata,
    pub body: Vec<u8>,
    pub etag: String,
}

#[derive(Debug)]
pub struct Upload {
    pub bucket: String,
    pub key: String,
    pub metadata: Metadata,
    pub parts: BTreeMap<u32, Vec<u8>>,
}

/// Faults to inject.
#[derive(Debug, Default)]
pub struct Faults {
    /// Operation names ("put_object", "upload_part:3", "abort",
    /// "get_object:range@N" for the ranged GET from byte N, ...) that fail
    /// once each.
    pub fail_once: Vec<String>,
    /// The next un-ranged GET body of a non-instruction object breaks off
    /// after this many bytes.
    pub break_body_after: Option<usize>,
    /// Change the object's ETag just before the next ranged GET.
    pub change_etag_before_range: bool,
    /// Change the object's ETag just before the ranged GET from this byte.
    pub change_etag_before_range_at: Option<u64>,
    /// Answer un-ranged GETs with a Content-Range.
    pub range_on_full_get: bool,
}

#[derive(Debug, Default)]
pub struct State {
    pub objects: HashMap<(String, String), Obj>,
    pub uploads: HashMap<String, Upload>,
    pub log: Vec<String>,
    pub faults: Faults,
    counter: u64,
}

/// The in-memory S3. Clones share the store.
#[derive(Debug, Default, Clone)]
pub struct FakeS3(pub Arc<Mutex<State>>);

fn err(kind: ErrorKind, msg: &str) -> TransportError {
    TransportError::new(kind, msg)
}

/// A reader that fails once after `n` bytes.
struct Breaking {
    data: io::Cursor<Vec<u8>>,
    left: usize,
    broken: bool,
}

impl Read for Breaking {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 && !self.broken {
            self.broken = true;
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "injected"));
        }
        if self.broken {
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "broken"));
        }
        let n = buf.len().min(self.left).min(1000);
        let got = self.data.read(&mut buf[..n])?;
        self.left -= got;
        Ok(got)
    }
}

impl FakeS3 {
    pub fn new() -> FakeS3 {
        FakeS3::default()
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }

    pub fn object(&self, key: &str) -> Option<Obj> {
        self.state()
            .objects
            .get(&("b".to_string(), key.to_string()))
            .cloned()
    }

    pub fn keys(&self) -> Vec<String> {
        let mut k: Vec<String> = self.state().objects.keys().map(|k| k.1.clone()).collect();
        k.sort();
        k
    }

    pub fn edit(&self, key: &str, f: impl FnOnce(&mut Obj)) {
        let mut s = self.state();
        let o = s
            .objects
            .get_mut(&("b".to_string(), key.to_string()))
            .unwrap();
        f(o);
    }

    pub fn insert(&self, key: &str, metadata: Metadata, body: Vec<u8>) {
        let mut s = self.state();
        s.counter += 1;
        let etag = format!("\"etag-{}\"", s.counter);
        s.objects.insert(
            ("b".to_string(), key.to_string()),
            Obj {
                metadata,
                body,
                etag,
            },
        );
    }

    pub fn fail_once(&self, op: &str) {
        self.state().faults.fail_once.push(op.to_string());
    }

    pub fn log(&self) -> Vec<String> {
        self.state().log.clone()
    }

    /// A presigned PUT (nothing signed for real): the metadata as
    /// `x-amz-meta-*` headers and the length; logged as `presign_put:KEY`.
    fn do_presign(
        &self,
        bucket: &str,
        key: &str,
        metadata: &[(String, String)],
        content_length: Option<u64>,
        expires_in: std::time::Duration,
    ) -> Result<PresignedRequest, TransportError> {
        let mut s = self.state();
        self.check_fault(&mut s, &format!("presign_put:{key}"))?;
        let mut headers: Vec<(String, String)> = metadata
            .iter()
            .map(|(k, v)| (format!("x-amz-meta-{k}"), v.clone()))
            .collect();
        if let Some(n) = content_length {
            headers.push(("content-length".into(), n.to_string()));
        }
        Ok(PresignedRequest::new(
            "PUT",
            format!("fake://{bucket}/{key}?X-Amz-Signature=0"),
            headers,
            std::time::SystemTime::now() + expires_in,
        ))
    }

    fn check_fault(&self, s: &mut State, op: &str) -> Result<(), TransportError> {
        s.log.push(op.to_string());
        if let Some(i) = s.faults.fail_once.iter().position(|f| f == op) {
            s.faults.fail_once.remove(i);
            return Err(err(ErrorKind::Unavailable, &format!("injected {op}")));
        }
        Ok(())
    }

    fn do_head(&self, bucket: &str, key: &str) -> Result<ObjectHead, TransportError> {
        let mut s = self.state();
        self.check_fault(&mut s, "head_object")?;
        let o = s
            .objects
            .get(&(bucket.to_string(), key.to_string()))
            .ok_or(err(ErrorKind::NotFound, "NoSuchKey"))?;
        Ok(ObjectHead {
            content_length: o.body.len() as u64,
            etag: Some(o.etag.clone()),
            metadata: o.metadata.clone(),
            ..Default::default()
        })
    }

    /// (head, content_range, body bytes, break_after)
    #[allow(clippy::type_complexity)]
    fn do_get(
        &self,
        req: &GetRequest<'_>,
    ) -> Result<(ObjectHead, Option<(u64, u64, u64)>, Vec<u8>, Option<usize>), TransportError> {
        let mut s = self.state();
        let op = if req.range.is_some() {
            "get_object:range"
        } else {
            "get_object"
        };
        self.check_fault(&mut s, op)?;
        // "get_object:range@N": the ranged GET from byte N fails once.
        if let Some(r) = req.range {
            let at = format!("get_object:range@{}", r.first);
            if let Some(i) = s.faults.fail_once.iter().position(|f| *f == at) {
                s.faults.fail_once.remove(i);
                return Err(err(ErrorKind::Unavailable, &format!("injected {at}")));
            }
        }
        if req
            .range
            .is_some_and(|r| Some(r.first) == s.faults.change_etag_before_range_at)
        {
            s.faults.change_etag_before_range_at = None;
            s.faults.change_etag_before_range = true;
        }
        if req.range.is_some() && s.faults.change_etag_before_range {
            s.faults.change_etag_before_range = false;
            if let Some(o) = s
                .objects
                .get_mut(&(req.bucket.to_string(), req.key.to_string()))
            {
                o.etag = "\"changed\"".to_string();
            }
        }
        let range_on_full = s.faults.range_on_full_get;
        let o = s
            .objects
            .get(&(req.bucket.to_string(), req.key.to_string()))
            .ok_or(err(ErrorKind::NotFound, "NoSuchKey"))?
            .clone();
        if let Some(m) = req.if_match {
            if m != o.etag {
                return Err(err(ErrorKind::PreconditionFailed, "PreconditionFailed"));
            }
        }
        let total = o.body.len() as u64;
        let head = ObjectHead {
            content_length: total,
            etag: Some(o.etag.clone()),
            metadata: o.metadata.clone(),
            ..Default::default()
        };
        match req.range {
            Some(r) => {
                if r.first >= total {
                    return Err(err(ErrorKind::InvalidRange, "InvalidRange"));
                }
                let last = r.last.unwrap_or(total - 1).min(total - 1);
                let body = o.body[r.first as usize..=last as usize].to_vec();
                Ok((head, Some((r.first, last, total)), body, None))
            }
            None => {
                let brk = if req.key.ends_with(".instruction") {
                    None
                } else {
                    s.faults.break_body_after.take()
                };
                let cr = (range_on_full && total > 0).then(|| (0, total - 1, total));
                Ok((head, cr, o.body, brk))
            }
        }
    }

    fn do_put(&self, req: &PutRequest<'_>, body: &[u8]) -> Result<Option<String>, TransportError> {
        let mut s = self.state();
        self.check_fault(&mut s, &format!("put_object:{}", req.key))?;
        s.counter += 1;
        let etag = format!("\"etag-{}\"", s.counter);
        s.objects.insert(
            (req.bucket.to_string(), req.key.to_string()),
            Obj {
                metadata: req.metadata.to_vec(),
                body: body.to_vec(),
                etag: etag.clone(),
            },
        );
        Ok(Some(etag))
    }

    fn do_delete(&self, bucket: &str, key: &str) -> Result<(), TransportError> {
        let mut s = self.state();
        self.check_fault(&mut s, &format!("delete_object:{key}"))?;
        s.objects.remove(&(bucket.to_string(), key.to_string()));
        Ok(())
    }

    fn do_create(&self, req: &PutRequest<'_>) -> Result<String, TransportError> {
        let mut s = self.state();
        self.check_fault(&mut s, "create_multipart_upload")?;
        s.counter += 1;
        let id = format!("upload-{}", s.counter);
        s.uploads.insert(
            id.clone(),
            Upload {
                bucket: req.bucket.to_string(),
                key: req.key.to_string(),
                metadata: req.metadata.to_vec(),
                parts: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    fn do_part(&self, upload_id: &str, n: u32, body: &[u8]) -> Result<String, TransportError> {
        let mut s = self.state();
        self.check_fault(&mut s, &format!("upload_part:{n}"))?;
        let u = s
            .uploads
            .get_mut(upload_id)
            .ok_or(err(ErrorKind::NotFound, "NoSuchUpload"))?;
        u.parts.insert(n, body.to_vec());
        Ok(format!("\"part-{n}\""))
    }

    fn do_complete(
        &self,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<Option<String>, TransportError> {
        let mut s = self.state();
        self.check_fault(&mut s, "complete_multipart_upload")?;
        let u = s
            .uploads
            .remove(upload_id)
            .ok_or(err(ErrorKind::NotFound, "NoSuchUpload"))?;
        // S3's rules: parts in order, all but the last at least 5 MiB.
        let mut body = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(p.part_number as usize, i + 1);
            assert_eq!(p.etag, format!("\"part-{}\"", p.part_number));
            let data = &u.parts[&p.part_number];
            if i + 1 < parts.len() {
                assert!(data.len() >= 5 << 20, "part {} too small", p.part_number);
            }
            body.extend_from_slice(data);
        }
        assert_eq!(parts.len(), u.parts.len());
        s.counter += 1;
        let etag = format!("\"etag-{}-{}\"", s.counter, parts.len());
        s.objects.insert(
            (u.bucket, u.key),
            Obj {
                metadata: u.metadata,
                body,
                etag: etag.clone(),
            },
        );
        Ok(Some(etag))
    }

    fn do_abort(&self, upload_id: &str) -> Result<(), TransportError> {
        let mut s = self.state();
        self.check_fault(&mut s, "abort_multipart_upload")?;
        s.uploads.remove(upload_id);
        Ok(())
    }
}

impl Transport for FakeS3 {
    fn head_object(&self, req: &ObjectRequest<'_>) -> Result<ObjectHead, TransportError> {
        self.do_head(req.bucket, req.key)
    }
    fn get_object(&self, req: &GetRequest<'_>) -> Result<GetResponse, TransportError> {
        let (head, content_range, body, brk) = self.do_get(req)?;
        let body: Box<dyn Read + Send> = match brk {
            Some(n) => Box::new(Breaking {
                data: io::Cursor::new(body),
                left: n,
                broken: false,
            }),
            None => Box::new(io::Cursor::new(body)),
        };
        Ok(GetResponse {
            head,
            content_range,
            body,
        })
    }
    fn put_object(
        &self,
        req: &PutRequest<'_>,
        body: Bytes,
    ) -> Result<Option<String>, TransportError> {
        self.do_put(req, &body)
    }
    fn delete_object(&self, req: &ObjectRequest<'_>) -> Result<(), TransportError> {
        self.do_delete(req.bucket, req.key)
    }
    fn create_multipart_upload(&self, req: &PutRequest<'_>) -> Result<String, TransportError> {
        self.do_create(req)
    }
    fn upload_part(&self, req: &PartRequest<'_>, body: Bytes) -> Result<String, TransportError> {
        self.do_part(req.upload_id, req.part_number, &body)
    }
    fn complete_multipart_upload(
        &self,
        req: &CompleteRequest<'_>,
    ) -> Result<Option<String>, TransportError> {
        self.do_complete(req.upload_id, req.parts)
    }
    fn abort_multipart_upload(
        &self,
        _bucket: &str,
        _key: &str,
        upload_id: &str,
    ) -> Result<(), TransportError> {
        self.do_abort(upload_id)
    }
    fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        metadata: &[(String, String)],
        content_length: Option<u64>,
        expires_in: std::time::Duration,
    ) -> Result<PresignedRequest, TransportError> {
        self.do_presign(bucket, key, metadata, content_length, expires_in)
    }
}

/// Split a body into a stream of chunks of odd sizes, failing after
/// `break_after` bytes if set.
fn async_body(body: Vec<u8>, break_after: Option<usize>) -> AsyncBody {
    let mut items: Vec<Result<Bytes, TransportError>> = Vec::new();
    let limit = break_after.unwrap_or(body.len()).min(body.len());
    let mut pos = 0;
    let mut size = 777;
    while pos < limit {
        let end = (pos + size).min(limit);
        items.push(Ok(Bytes::copy_from_slice(&body[pos..end])));
        pos = end;
        size = size * 3 % 100_003 + 1;
    }
    if break_after.is_some() && limit < body.len() {
        items.push(Err(err(ErrorKind::Connection, "injected body break")));
    }
    Box::pin(Iter(items.into_iter()))
}

struct Iter(std::vec::IntoIter<Result<Bytes, TransportError>>);

impl futures_core::Stream for Iter {
    type Item = Result<Bytes, TransportError>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.next())
    }
}

impl AsyncTransport for FakeS3 {
    fn head_object<'a>(
        &'a self,
        req: &'a ObjectRequest<'a>,
    ) -> BoxFuture<'a, Result<ObjectHead, TransportError>> {
        Box::pin(async move { self.do_head(req.bucket, req.key) })
    }
    fn get_object<'a>(
        &'a self,
        req: &'a GetRequest<'a>,
    ) -> BoxFuture<'a, Result<AsyncGetResponse, TransportError>> {
        Box::pin(async move {
            let (head, content_range, body, brk) = self.do_get(req)?;
            Ok(AsyncGetResponse {
                head,
                content_range,
                body: async_body(body, brk),
            })
        })
    }
    fn put_object<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        Box::pin(async move { self.do_put(req, &body) })
    }
    fn delete_object<'a>(
        &'a self,
        req: &'a ObjectRequest<'a>,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move { self.do_delete(req.bucket, req.key) })
    }
    fn create_multipart_upload<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        Box::pin(async move { self.do_create(req) })
    }
    fn upload_part<'a>(
        &'a self,
        req: &'a PartRequest<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        Box::pin(async move { self.do_part(req.upload_id, req.part_number, &body) })
    }
    fn complete_multipart_upload<'a>(
        &'a self,
        req: &'a CompleteRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        Box::pin(async move { self.do_complete(req.upload_id, req.parts) })
    }
    fn abort_multipart_upload<'a>(
        &'a self,
        _bucket: &'a str,
        _key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move { self.do_abort(upload_id) })
    }
    fn presign_put<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        metadata: &'a [(String, String)],
        content_length: Option<u64>,
        expires_in: std::time::Duration,
    ) -> BoxFuture<'a, Result<PresignedRequest, TransportError>> {
        Box::pin(async move { self.do_presign(bucket, key, metadata, content_length, expires_in) })
    }
}

/// Deterministic test data.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// A reader of unknown length that gives odd-sized reads.
pub struct Trickle<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.data.len() - self.pos).min(4099);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

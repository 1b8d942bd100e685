//! Parallel transfers (issue 12) with the blocking client against moto,
//! through s3ec-testkit's shaping and fault-injecting proxy: sizes around
//! part boundaries, parts and ranges finishing out of order, failed parts
//! resent, ranges broken off and fetched again, an object replaced
//! mid-download (an error, no plaintext), and a failed upload aborted with
//! no multipart upload left open.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::Read;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{bucket, builder, data, moto};
use s3ec_client::transport::{
    Bytes, CompleteRequest, GetRequest, GetResponse, ObjectHead, ObjectRequest, PartRequest,
    PutRequest, Transport, TransportError,
};
use s3ec_client::{Client, ClientError, Context, GetOptions, PutOptions};

use s3ec_local::AesKeyring;
use s3ec_reqwest::ReqwestTransport;
use s3ec_testkit::faults::{Fault, FaultProxy, Shaping};

const MIB: usize = 1 << 20;
const PS: usize = 5 * MIB;

fn ring() -> AesKeyring {
    AesKeyring::new(&[0x5a; 32]).unwrap()
}

/// A proxy to moto that behaves like a (fast) link to S3.
fn shaped() -> FaultProxy {
    FaultProxy::start_shaped(moto(), Shaping::new(200, 2)).unwrap()
}

/// A transport that can slow one part or range down, record the order in
/// which parts finished, and replace the object before a given GET.
#[derive(Debug)]
struct Hooked {
    inner: ReqwestTransport,
    slow_part: Option<u32>,
    slow_range_from: Option<u64>,
    replace_before_get: Option<u32>,
    gets: AtomicU32,
    finished: Mutex<Vec<u32>>,
}

impl Hooked {
    fn new(inner: ReqwestTransport) -> Hooked {
        Hooked {
            inner,
            slow_part: None,
            slow_range_from: None,
            replace_before_get: None,
            gets: AtomicU32::new(0),
            finished: Mutex::new(Vec::new()),
        }
    }
}

const SLOW: Duration = Duration::from_millis(700);

impl Transport for Hooked {
    fn head_object(&self, r: &ObjectRequest<'_>) -> Result<ObjectHead, TransportError> {
        self.inner.head_object(r)
    }
    fn get_object(&self, r: &GetRequest<'_>) -> Result<GetResponse, TransportError> {
        let n = self.gets.fetch_add(1, Ordering::SeqCst) + 1;
        if self.replace_before_get == Some(n) {
            let req = PutRequest::new(r.bucket, r.key, &[]);
            self.inner
                .put_object(&req, Bytes::from(vec![1u8; 3 * PS]))
                .unwrap();
        }
        if r.range
            .is_some_and(|g| Some(g.first) == self.slow_range_from)
        {
            std::thread::sleep(SLOW);
        }
        self.inner.get_object(r)
    }
    fn put_object(&self, r: &PutRequest<'_>, b: Bytes) -> Result<Option<String>, TransportError> {
        self.inner.put_object(r, b)
    }
    fn delete_object(&self, r: &ObjectRequest<'_>) -> Result<(), TransportError> {
        self.inner.delete_object(r)
    }
    fn create_multipart_upload(&self, r: &PutRequest<'_>) -> Result<String, TransportError> {
        self.inner.create_multipart_upload(r)
    }
    fn upload_part(&self, r: &PartRequest<'_>, b: Bytes) -> Result<String, TransportError> {
        if self.slow_part == Some(r.part_number) {
            std::thread::sleep(SLOW);
        }
        let etag = self.inner.upload_part(r, b)?;
        self.finished.lock().unwrap().push(r.part_number);
        Ok(etag)
    }
    fn complete_multipart_upload(
        &self,
        r: &CompleteRequest<'_>,
    ) -> Result<Option<String>, TransportError> {
        self.inner.complete_multipart_upload(r)
    }
    fn abort_multipart_upload(&self, b: &str, k: &str, u: &str) -> Result<(), TransportError> {
        self.inner.abort_multipart_upload(b, k, u)
    }
}

fn client_over(t: impl Transport + 'static, concurrency: usize) -> Client {
    Client::builder(t, ring())
        .part_size(PS as u64)
        .concurrency(concurrency)
        .build()
        .unwrap()
}

/// The multipart uploads moto still has open in `bucket` (ListMultipartUploads).
fn open_uploads(bucket: &str) -> usize {
    let url = format!("{}/{bucket}?uploads", moto());
    let mut body = String::new();
    reqwest::blocking::get(url)
        .unwrap()
        .read_to_string(&mut body)
        .unwrap();
    body.matches("<UploadId>").count()
}

#[test]
fn sizes_around_part_boundaries_round_trip_on_every_sink() {
    let p = shaped();
    let b = bucket("par-sizes");
    let c = client_over(builder(&p.endpoint()).build().unwrap(), 4);
    let delayed = Client::builder(builder(&p.endpoint()).build().unwrap(), ring())
        .part_size(PS as u64)
        .concurrency(3)
        .danger_delayed_authentication(true)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 16: the tag; a body of PS - 16 plaintext bytes is exactly one part
    // of ciphertext on the get side.
    for (i, n) in [
        0,
        1,
        PS - 17,
        PS - 16,
        PS - 15,
        PS,
        PS + 1,
        2 * PS - 16,
        2 * PS,
        3 * PS + 17,
    ]
    .into_iter()
    .enumerate()
    {
        let pt = data(n, i as u64 + 1);
        let key = format!("k{n}");
        let len = (i % 2 == 0).then_some(n as u64);
        let put = c
            .put_object_with(&b, &key, &pt[..], len, &PutOptions::default())
            .unwrap();
        assert_eq!(put.parts, (n > PS).then(|| n.div_ceil(PS) as u32), "{n}");
        let (got, _) = c.get_object_to_vec(&b, &key, None).unwrap();
        assert!(got == pt, "size {n}: Write sink");
        let path = dir.path().join(&key);
        c.get_object_to_path(&b, &key, &path, &GetOptions::default())
            .unwrap();
        assert!(std::fs::read(&path).unwrap() == pt, "size {n}: to path");
        let (got, _) = delayed.get_object_to_vec(&b, &key, None).unwrap();
        assert!(got == pt, "size {n}: delayed authentication");
    }
    // The large ones went as ranges: more GETs than objects read.
    let ranged = p
        .seen()
        .iter()
        .filter(|s| s.method == "GET" && !s.target.contains('?'))
        .count();
    assert!(ranged > 30, "{ranged} GETs");
}

#[test]
fn parts_finish_out_of_order_and_a_failed_part_is_resent() {
    let p = shaped();
    let b = bucket("par-parts");
    let mut t = Hooked::new(builder(&p.endpoint()).build().unwrap());
    t.slow_part = Some(1);
    let t = Arc::new(t);
    let c = client_over(Arc::clone(&t), 4);
    let pt = data(4 * PS + 3, 7);
    // Part 3 fails past the transport's own retries (3): the client sends
    // the same ciphertext again.
    for _ in 0..4 {
        p.push_for("PUT", "partNumber=3", Fault::Status(500));
    }
    let put = c
        .put_object(&b, "obj", &pt[..], None, &Context::new())
        .unwrap();
    assert_eq!(put.parts, Some(5));
    assert_eq!(p.pending(), 0);
    let order = t.finished.lock().unwrap().clone();
    assert_eq!(order.len(), 5);
    assert_ne!(order[0], 1, "part 1 was slowed down: {order:?}");
    let sends: Vec<_> = p
        .seen()
        .into_iter()
        .filter(|s| s.method == "PUT" && s.target.contains("partNumber=3&"))
        .collect();
    assert!(sends.len() >= 5, "{sends:?}");
    assert!(sends.windows(2).all(|w| w[0].body_len == w[1].body_len));
    assert_eq!(c.get_object_to_vec(&b, "obj", None).unwrap().0, pt);
    assert_eq!(open_uploads(&b), 0);
}

#[test]
fn a_failed_upload_is_aborted_and_leaves_no_upload_open() {
    let p = shaped();
    let b = bucket("par-abort");
    let c = client_over(builder(&p.endpoint()).build().unwrap(), 4);
    let pt = data(6 * PS, 8);
    // The listing sees an open upload.
    let direct = builder(moto()).build().unwrap();
    let id = direct
        .create_multipart_upload(&PutRequest::new(&b, "other", &[]))
        .unwrap();
    assert_eq!(open_uploads(&b), 1);
    direct.abort_multipart_upload(&b, "other", &id).unwrap();
    assert_eq!(open_uploads(&b), 0);
    // Refused (not worth a retry) while other parts are in flight.
    p.push_for("PUT", "partNumber=4", Fault::Status(403));
    let e = c
        .put_object(&b, "obj", &pt[..], Some(pt.len() as u64), &Context::new())
        .unwrap_err();
    assert!(matches!(e, ClientError::Transport(_)), "{e:?}");
    assert!(p
        .seen()
        .iter()
        .any(|s| s.method == "DELETE" && s.target.contains("uploadId")));
    assert_eq!(open_uploads(&b), 0);
    let head = builder(moto())
        .build()
        .unwrap()
        .head_object(&ObjectRequest::new(&b, "obj"));
    assert!(head.is_err(), "no object was written");
}

#[test]
fn ranges_finish_out_of_order_and_broken_ranges_are_fetched_again() {
    let p = shaped();
    let b = bucket("par-ranges");
    let pt = data(5 * PS + 100, 9);
    client_over(builder(&p.endpoint()).build().unwrap(), 1)
        .put_object(&b, "obj", &pt[..], None, &Context::new())
        .unwrap();
    // Range 1 comes last; ranges break off mid-body (dropped connections),
    // one is refused with 503s past the transport's retries.
    let mut t = Hooked::new(builder(&p.endpoint()).build().unwrap());
    t.slow_range_from = Some(PS as u64);
    let c = client_over(t, 4);
    p.push("GET", Fault::Truncate(1000));
    p.push("GET", Fault::Truncate(2 * MIB));
    p.push("GET", Fault::StallBody(300_000, Duration::from_millis(50)));
    for _ in 0..4 {
        p.push("GET", Fault::Status(503));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    c.get_object_to_path(&b, "obj", &path, &GetOptions::default())
        .unwrap();
    assert!(std::fs::read(&path).unwrap() == pt);
    assert_eq!(p.pending(), 0);
    for _ in 0..3 {
        p.push("GET", Fault::Truncate(4096));
    }
    assert!(c.get_object_to_vec(&b, "obj", None).unwrap().0 == pt);
    let broken = p
        .seen()
        .iter()
        .filter(|s| matches!(s.fault, Some(Fault::Truncate(_) | Fault::StallBody(..))))
        .count();
    assert!(broken >= 4, "{broken}");
}

#[test]
fn an_object_replaced_mid_download_is_an_error_with_no_plaintext() {
    let p = shaped();
    let b = bucket("par-replaced");
    let pt = data(4 * PS, 10);
    client_over(builder(&p.endpoint()).build().unwrap(), 4)
        .put_object(&b, "obj", &pt[..], None, &Context::new())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for to_path in [false, true] {
        // The first GET reads the version; the object is replaced before
        // the third.
        let mut t = Hooked::new(builder(&p.endpoint()).build().unwrap());
        t.replace_before_get = Some(3);
        let c = client_over(t, 2);
        let path = dir.path().join("out");
        let e = if to_path {
            c.get_object_to_path(&b, "obj", &path, &GetOptions::default())
                .unwrap_err()
        } else {
            let mut out = Vec::new();
            let e = c.get_object(&b, "obj", &mut out, None).unwrap_err();
            assert!(out.is_empty(), "plaintext released");
            e
        };
        assert!(matches!(e, ClientError::ObjectChanged), "{e:?}");
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // Put the encrypted object back for the next round.
        client_over(builder(&p.endpoint()).build().unwrap(), 4)
            .put_object(&b, "obj", &pt[..], None, &Context::new())
            .unwrap();
    }
}

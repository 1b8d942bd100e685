//! Retries, timeouts and broken bodies, through s3ec-testkit's
//! fault-injection proxy in front of moto.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use s3ec_client::transport::{CompleteRequest, ObjectRequest, PartRequest};
use std::io::{self, Read};
use std::time::{Duration, Instant};

use common::{bucket, builder, data, direct, get_all, moto};
use s3ec_client::transport::{
    Bytes, CompletedPart, ErrorKind, GetRequest, PutRequest, Transport, TransportError,
};
use s3ec_reqwest::aws_credential_types::provider::{self, future};
use s3ec_reqwest::{Credentials, ProvideCredentials, ReqwestTransport, RetryConfig};
use s3ec_testkit::faults::{Fault, FaultProxy, Shaping};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

fn proxy() -> FaultProxy {
    FaultProxy::start(moto()).unwrap()
}

fn through(p: &FaultProxy) -> ReqwestTransport {
    builder(&p.endpoint()).build().unwrap()
}

fn put(t: &dyn Transport, b: &str, k: &str, body: &[u8]) -> Result<Option<String>, TransportError> {
    t.put_object(
        &PutRequest {
            bucket: b,
            key: k,
            metadata: &[("m".to_string(), "v".to_string())],
            fields: &Default::default(),
            checksum: None,
        },
        Bytes::copy_from_slice(body),
    )
}

fn transport_error(e: &io::Error) -> &TransportError {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<TransportError>())
        .expect("a TransportError inside the io::Error")
}

#[test]
fn put_retries_through_errors_and_dropped_connections() {
    let p = proxy();
    let t = through(&p);
    let b = bucket("put-retry");
    let body = data(3 << 20, 11);
    p.push("PUT", Fault::Status(500));
    p.push("PUT", Fault::Status(503));
    p.push("PUT", Fault::Drop);
    let etag = put(&t, &b, "obj", &body).unwrap();
    assert_eq!(p.pending(), 0);
    let seen: Vec<_> = p.seen().into_iter().filter(|s| s.method == "PUT").collect();
    assert_eq!(seen.len(), 4, "{seen:?}");
    // Every attempt carried the same, whole body.
    assert!(seen.iter().all(|s| s.body_len == body.len()));
    // The object in moto is byte-identical.
    let d = direct();
    assert_eq!(get_all(&d, &b, "obj").unwrap(), body);
    assert_eq!(
        d.head_object(&ObjectRequest::new(&b, "obj")).unwrap().etag,
        etag
    );
}

#[test]
fn upload_part_and_complete_retry() {
    let p = proxy();
    let t = through(&p);
    let b = bucket("part-retry");
    let req = PutRequest::new(&b, "mpu", &[]);
    p.push("POST", Fault::Status(503));
    let upload_id = t.create_multipart_upload(&req).unwrap();
    let body = data((5 << 20) + 1234, 5);
    let (first, second) = body.split_at(5 << 20);
    p.push_for("PUT", "partNumber=1", Fault::Status(500));
    p.push_for("PUT", "partNumber=1", Fault::Drop);
    p.push_for("PUT", "partNumber=2", Fault::Status(503));
    let e1 = t
        .upload_part(
            &PartRequest::new(&b, "mpu", &upload_id, 1),
            Bytes::copy_from_slice(first),
        )
        .unwrap();
    let e2 = t
        .upload_part(
            &PartRequest::new(&b, "mpu", &upload_id, 2),
            Bytes::copy_from_slice(second),
        )
        .unwrap();
    // CompleteMultipartUpload: S3 can answer 200 with an error inside.
    p.push("POST", Fault::ErrorIn200("InternalError".into()));
    p.push("POST", Fault::Status(500));
    let etag = t
        .complete_multipart_upload(&CompleteRequest::new(
            &b,
            "mpu",
            &upload_id,
            &[CompletedPart::new(1, e1), CompletedPart::new(2, e2)],
        ))
        .unwrap();
    assert!(etag.is_some_and(|e| e.ends_with("-2\"")));
    assert_eq!(p.pending(), 0);
    assert_eq!(get_all(&direct(), &b, "mpu").unwrap(), body);
}

#[test]
fn error_in_a_200_response_that_is_not_transient() {
    let p = proxy();
    let t = through(&p);
    let b = bucket("err200");
    let upload_id = t
        .create_multipart_upload(&PutRequest::new(&b, "k", &[]))
        .unwrap();
    let etag = t
        .upload_part(
            &PartRequest::new(&b, "k", &upload_id, 1),
            Bytes::copy_from_slice(b"part"),
        )
        .unwrap();
    p.push("POST", Fault::ErrorIn200("InvalidPart".into()));
    let e = t
        .complete_multipart_upload(&CompleteRequest::new(
            &b,
            "k",
            &upload_id,
            &[CompletedPart {
                part_number: 1,
                etag,
                checksum: None,
            }],
        ))
        .unwrap_err();
    assert_eq!(e.status, Some(200));
    assert_eq!(e.code.as_deref(), Some("InvalidPart"));
    assert_eq!(e.kind, ErrorKind::Other);
    // Not retried.
    assert_eq!(p.seen().iter().filter(|s| s.method == "POST").count(), 2);
}

#[test]
fn exhausted_retries_fail_cleanly() {
    let p = proxy();
    let t = through(&p);
    let b = bucket("exhaust");
    for _ in 0..4 {
        p.push("PUT", Fault::Status(503));
    }
    let e = put(&t, &b, "k", b"x").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
    assert_eq!(e.status, Some(503));
    assert_eq!(e.code.as_deref(), Some("SlowDown"));
    assert!(e.message.contains("4 attempts"), "{e}");
    assert_eq!(p.pending(), 0);

    for _ in 0..4 {
        p.push("PUT", Fault::Drop);
    }
    let e = put(&t, &b, "k", b"x").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Connection, "{e}");
    assert_eq!(e.status, None);
    assert!(std::error::Error::source(&e).is_some());
    assert_eq!(p.pending(), 0);

    // 429 and throttling codes are retried like 503.
    p.push("PUT", Fault::Status(429));
    p.push("PUT", Fault::StatusCode(400, "Throttling".into()));
    put(&t, &b, "k", b"after throttling").unwrap();
    assert_eq!(get_all(&direct(), &b, "k").unwrap(), b"after throttling");

    // A 4xx that is not transient is not retried.
    p.clear_seen();
    p.push("PUT", Fault::StatusCode(400, "InvalidArgument".into()));
    let e = put(&t, &b, "k", b"x").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Other);
    assert_eq!(e.code.as_deref(), Some("InvalidArgument"));
    assert_eq!(p.seen().len(), 1);

    // No retries at all.
    let none = builder(&p.endpoint())
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    p.clear_seen();
    p.push("GET", Fault::Status(500));
    let e = get_all(&none, &b, "k").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert_eq!(e.code.as_deref(), Some("InternalError"));
    assert_eq!(p.seen().len(), 1);
}

#[test]
fn connection_refused_is_a_connection_error() {
    // A port nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = builder(&format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let start = Instant::now();
    let e = t.head_object(&ObjectRequest::new("b", "k")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Connection, "{e}");
    assert!(e.message.contains("4 attempts"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn get_retries_before_the_body() {
    let p = proxy();
    let t = through(&p);
    let b = bucket("get-retry");
    let body = data(200_000, 2);
    put(&direct(), &b, "k", &body).unwrap();
    p.push("GET", Fault::Status(500));
    p.push("GET", Fault::Drop);
    p.push("HEAD", Fault::Status(503));
    assert_eq!(get_all(&t, &b, "k").unwrap(), body);
    assert_eq!(
        t.head_object(&ObjectRequest::new(&b, "k"))
            .unwrap()
            .content_length,
        200_000
    );
    assert_eq!(p.pending(), 0);
}

#[test]
fn truncated_get_body_is_an_error_never_a_short_read() {
    let p = proxy();
    let t = through(&p);
    let b = bucket("truncated");
    let body = data(300_000, 9);
    put(&direct(), &b, "k", &body).unwrap();
    for cut in [0usize, 1, 65_536, 299_999] {
        p.push("GET", Fault::Truncate(cut));
        let mut resp = t
            .get_object(&GetRequest {
                bucket: &b,
                key: "k",
                range: None,
                if_match: None,
                ..GetRequest::default()
            })
            .unwrap();
        assert_eq!(resp.head.content_length, 300_000);
        let mut got = Vec::new();
        let e = resp.body.read_to_end(&mut got).unwrap_err();
        assert!(got.len() <= cut, "{cut}: {} bytes", got.len());
        assert_eq!(got[..], body[..got.len()]);
        let te = transport_error(&e);
        assert_eq!(te.kind, ErrorKind::Connection, "{cut}: {te}");
        // And it stays an error.
        assert!(resp.body.read(&mut [0u8; 16]).is_err());
    }
    // A truncated ranged GET too.
    p.push("GET", Fault::Truncate(10));
    let mut resp = t
        .get_object(&GetRequest {
            bucket: &b,
            key: "k",
            range: Some(s3ec_client::transport::ByteRange {
                first: 1000,
                last: Some(1999),
            }),
            if_match: None,
            ..GetRequest::default()
        })
        .unwrap();
    assert_eq!(resp.content_range, Some((1000, 1999, 300_000)));
    let mut got = Vec::new();
    assert!(resp.body.read_to_end(&mut got).is_err());
    // A truncated XML result is retried.
    p.push("POST", Fault::Truncate(20));
    let id = t
        .create_multipart_upload(&PutRequest::new(&b, "m", &[]))
        .unwrap();
    assert!(!id.is_empty());
    assert_eq!(p.pending(), 0);
    t.abort_multipart_upload(&b, "m", &id).unwrap();
}

#[test]
fn stalls_hit_the_read_timeout_and_are_retried() {
    let p = proxy();
    let t = builder(&p.endpoint())
        .read_timeout(Duration::from_millis(700))
        .build()
        .unwrap();
    let b = bucket("stall");
    let body = data(100_000, 4);

    // The server never answers the PUT: time out, retry, succeed.
    p.push("PUT", Fault::Stall(Duration::from_secs(10)));
    let start = Instant::now();
    put(&t, &b, "k", &body).unwrap();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(700), "{took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(get_all(&direct(), &b, "k").unwrap(), body);

    // Before a GET's headers: retried.
    p.push("GET", Fault::Stall(Duration::from_secs(10)));
    assert_eq!(get_all(&t, &b, "k").unwrap(), body);

    // Every attempt stalls: a Connection error after the retries.
    let once = builder(&p.endpoint())
        .read_timeout(Duration::from_millis(300))
        .retry(RetryConfig {
            max_retries: 1,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
        })
        .build()
        .unwrap();
    p.push("HEAD", Fault::Stall(Duration::from_secs(2)));
    p.push("HEAD", Fault::Stall(Duration::from_secs(2)));
    let e = once.head_object(&ObjectRequest::new(&b, "k")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Connection, "{e}");
    assert_eq!(p.pending(), 0);

    // In the middle of a GET body: an error from the Read (the body has
    // started; the caller decides).
    p.push("GET", Fault::StallBody(1000, Duration::from_secs(10)));
    let mut resp = t
        .get_object(&GetRequest {
            bucket: &b,
            key: "k",
            range: None,
            if_match: None,
            ..GetRequest::default()
        })
        .unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let e = resp.body.read_to_end(&mut got).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(8));
    assert!(got.len() <= 1000);
    assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
    assert_eq!(transport_error(&e).kind, ErrorKind::Connection);
}

/// The read timeout bounds each wait, not the whole answer: a GET body that
/// keeps coming, slowly, for longer than the timeout in all is read whole
/// (a single GET of a large object on a slow link was cut when the timeout
/// was a deadline for the whole exchange).
#[test]
fn a_slow_body_that_keeps_coming_outlasts_the_read_timeout() {
    let p = proxy();
    let b = bucket("slow-body");
    let body = data(1536 * 1024, 5);
    put(&direct(), &b, "k", &body).unwrap();
    p.set_shaping(Shaping {
        bytes_per_sec: Some(512 * 1024),
        latency: Duration::ZERO,
    });
    let t = builder(&p.endpoint())
        .read_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let start = Instant::now();
    assert_eq!(get_all(&t, &b, "k").unwrap(), body);
    // The body took longer than the timeout (else the test shows nothing).
    assert!(
        start.elapsed() > Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(p.pending(), 0);
}

#[derive(Debug)]
struct Counting(Arc<AtomicU32>);

impl ProvideCredentials for Counting {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        future::ProvideCredentials::ready(Ok::<_, provider::error::CredentialsError>(
            Credentials::new(
                s3ec_testkit::ACCESS_KEY_ID,
                s3ec_testkit::SECRET_ACCESS_KEY,
                Some(format!("session-{n}")),
                Some(std::time::SystemTime::now() + Duration::from_secs(3600)),
                "counting",
            ),
        ))
    }
}

#[test]
fn expired_token_refreshes_credentials_and_retries() {
    let p = proxy();
    let calls = Arc::new(AtomicU32::new(0));
    let t = builder(&p.endpoint())
        .credentials_provider(Counting(calls.clone()))
        .build()
        .unwrap();
    let b = bucket("expired");
    put(&t, &b, "k", b"one").unwrap();
    put(&t, &b, "k", b"two").unwrap();
    // Cached: one call for two requests.
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    p.push("PUT", Fault::StatusCode(400, "ExpiredToken".into()));
    put(&t, &b, "k", b"three").unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(get_all(&direct(), &b, "k").unwrap(), b"three");
    // Fixed credentials cannot be refreshed: ExpiredToken is final.
    let fixed = through(&p);
    p.push("PUT", Fault::StatusCode(400, "ExpiredToken".into()));
    let e = put(&fixed, &b, "k", b"four").unwrap_err();
    assert_eq!(e.code.as_deref(), Some("ExpiredToken"));
    assert_eq!(p.pending(), 0);
}

//! Every transport operation against a moto S3 server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use s3ec_client::transport::{CompleteRequest, ObjectRequest, PartRequest};
use std::io::Read;
use std::time::Instant;

use common::{bucket, builder, data, direct, get_all, moto};
use s3ec_client::transport::{
    ByteRange, Bytes, CompletedPart, ErrorKind, GetRequest, PutRequest, Transport,
};
use s3ec_reqwest::PayloadSigning;
use sha2::{Digest, Sha256};

fn meta(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sorted(mut m: Vec<(String, String)>) -> Vec<(String, String)> {
    m.sort();
    m
}

#[test]
fn put_head_get_delete_with_metadata() {
    let t = direct();
    let b = bucket("ops");
    let metadata = meta(&[
        ("x-amz-key-v2", "AAECAw=="),
        ("x-amz-cek-alg", "AES/GCM/NoPadding"),
        ("x-amz-matdesc", "{\"a\":\"b c\"}"),
        ("Mixed-Case", "v"),
        // A value S3 would return RFC 2047-encoded is passed through as is.
        ("encoded", "=?UTF-8?B?w7xuw68=?="),
    ]);
    let body = b"hello, world";
    let put = PutRequest::new(&b, "dir/obj.txt", &metadata);
    let etag = t.put_object(&put, Bytes::copy_from_slice(body)).unwrap();
    assert!(
        etag.as_deref().is_some_and(|e| e.starts_with('"')),
        "{etag:?}"
    );

    let head = t
        .head_object(&ObjectRequest::new(&b, "dir/obj.txt"))
        .unwrap();
    assert_eq!(head.content_length, body.len() as u64);
    assert_eq!(head.etag, etag);
    let want: Vec<(String, String)> = metadata
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    assert_eq!(sorted(head.metadata.clone()), sorted(want.clone()));

    let mut resp = t
        .get_object(&GetRequest {
            bucket: &b,
            key: "dir/obj.txt",
            range: None,
            if_match: None,
            ..GetRequest::default()
        })
        .unwrap();
    assert_eq!(resp.head.content_length, body.len() as u64);
    assert_eq!(resp.head.etag, etag);
    assert_eq!(sorted(resp.head.metadata.clone()), sorted(want));
    assert_eq!(resp.content_range, None);
    let mut got = Vec::new();
    resp.body.read_to_end(&mut got).unwrap();
    assert_eq!(got, body);

    // Overwrite with no metadata.
    t.put_object(
        &PutRequest::new(&b, "dir/obj.txt", &[]),
        Bytes::copy_from_slice(b""),
    )
    .unwrap();
    let head = t
        .head_object(&ObjectRequest::new(&b, "dir/obj.txt"))
        .unwrap();
    assert_eq!(head.content_length, 0);
    assert!(head.metadata.is_empty());
    assert_eq!(get_all(&t, &b, "dir/obj.txt").unwrap(), b"");

    t.delete_object(&ObjectRequest::new(&b, "dir/obj.txt"))
        .unwrap();
    let e = t
        .head_object(&ObjectRequest::new(&b, "dir/obj.txt"))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.status, Some(404));
    // Deleting a missing object is not an error.
    t.delete_object(&ObjectRequest::new(&b, "dir/obj.txt"))
        .unwrap();
}

#[test]
fn non_ascii_metadata_is_refused_before_sending() {
    let t = direct();
    let b = bucket("meta");
    let metadata = meta(&[("name", "ünïcødé")]);
    let e = t
        .put_object(
            &PutRequest::new(&b, "k", &metadata),
            Bytes::copy_from_slice(b"x"),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Other);
    assert!(e.message.contains("ASCII"), "{e}");
    assert_eq!(e.status, None);
    let e = t
        .create_multipart_upload(&PutRequest::new(&b, "k", &metadata))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Other);
    assert_eq!(
        t.head_object(&ObjectRequest::new(&b, "k"))
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
}

#[test]
fn keys_that_need_encoding() {
    let t = direct();
    let b = bucket("keys");
    let keys = [
        "plain",
        "with space/and+plus=equals&amp",
        "ünïcødé/日本語.txt",
        "a//double/slash",
        "/leading-slash",
        "trailing/",
        "percent%20literal%2F",
        "q?uestion#hash[brackets]@at!$'()*,;:",
        "tilde~dot.dash-under_score",
        "..dots../x.y",
    ];
    for (i, key) in keys.iter().enumerate() {
        let body = format!("body of {key}");
        t.put_object(
            &PutRequest {
                bucket: &b,
                key,
                metadata: &meta(&[("i", &i.to_string())]),
                fields: &Default::default(),
                checksum: None,
            },
            Bytes::copy_from_slice(body.as_bytes()),
        )
        .unwrap_or_else(|e| panic!("{key}: {e}"));
    }
    for (i, key) in keys.iter().enumerate() {
        let got = get_all(&t, &b, key).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(got, format!("body of {key}").as_bytes(), "{key}");
        let head = t.head_object(&ObjectRequest::new(&b, key)).unwrap();
        assert_eq!(head.metadata, meta(&[("i", &i.to_string())]), "{key}");
    }
    // Keys the URL parser would rewrite are refused, not sent elsewhere.
    let e = t
        .put_object(
            &PutRequest::new(&b, "a/../plain", &[]),
            Bytes::copy_from_slice(b"overwrite?"),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Other);
    assert_eq!(get_all(&t, &b, "plain").unwrap(), b"body of plain");
}

#[test]
fn ranged_gets() {
    let t = direct();
    let b = bucket("range");
    let body = data(1000, 1);
    t.put_object(
        &PutRequest {
            bucket: &b,
            key: "r",
            metadata: &meta(&[("m", "1")]),
            fields: &Default::default(),
            checksum: None,
        },
        Bytes::copy_from_slice(&body),
    )
    .unwrap();
    let cases: [(u64, Option<u64>, (u64, u64)); 5] = [
        (0, Some(9), (0, 9)),
        (990, None, (990, 999)),
        (500, Some(2000), (500, 999)),
        (999, Some(999), (999, 999)),
        (0, None, (0, 999)),
    ];
    for (first, last, (f, l)) in cases {
        let mut resp = t
            .get_object(&GetRequest {
                bucket: &b,
                key: "r",
                range: Some(ByteRange { first, last }),
                if_match: None,
                ..GetRequest::default()
            })
            .unwrap();
        assert_eq!(resp.content_range, Some((f, l, 1000)), "{first}-{last:?}");
        assert_eq!(resp.head.content_length, 1000);
        assert_eq!(resp.head.metadata, meta(&[("m", "1")]));
        let mut got = Vec::new();
        resp.body.read_to_end(&mut got).unwrap();
        assert_eq!(got, &body[f as usize..=l as usize]);
    }
    let e = t
        .get_object(&GetRequest {
            bucket: &b,
            key: "r",
            range: Some(ByteRange {
                first: 1000,
                last: None,
            }),
            if_match: None,
            ..GetRequest::default()
        })
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRange, "{e}");
    assert_eq!(e.status, Some(416));
    // A backwards range is refused locally (S3 would ignore it and send
    // the whole object).
    let e = t
        .get_object(&GetRequest {
            bucket: &b,
            key: "r",
            range: Some(ByteRange {
                first: 10,
                last: Some(5),
            }),
            if_match: None,
            ..GetRequest::default()
        })
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRange);
    assert_eq!(e.status, None);
}

#[test]
fn if_match() {
    let t = direct();
    let b = bucket("ifmatch");
    let etag = t
        .put_object(
            &PutRequest::new(&b, "k", &[]),
            Bytes::copy_from_slice(b"version 1"),
        )
        .unwrap()
        .unwrap();
    let get = |m: &str| {
        t.get_object(&GetRequest {
            bucket: &b,
            key: "k",
            range: Some(ByteRange {
                first: 0,
                last: Some(6),
            }),
            if_match: Some(m),
            ..GetRequest::default()
        })
    };
    let mut ok = get(&etag).unwrap();
    let mut got = Vec::new();
    ok.body.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"version");
    t.put_object(
        &PutRequest::new(&b, "k", &[]),
        Bytes::copy_from_slice(b"version 2"),
    )
    .unwrap();
    let e = get(&etag).unwrap_err();
    assert_eq!(e.kind, ErrorKind::PreconditionFailed, "{e}");
    assert_eq!(e.status, Some(412));
    assert_eq!(e.code.as_deref(), Some("PreconditionFailed"));
}

#[test]
fn not_found() {
    let t = direct();
    let b = bucket("missing");
    let e = t
        .get_object(&GetRequest {
            bucket: &b,
            key: "nope",
            range: None,
            if_match: None,
            ..GetRequest::default()
        })
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.status, Some(404));
    assert_eq!(e.code.as_deref(), Some("NoSuchKey"));
    assert!(e.to_string().contains("NoSuchKey"), "{e}");
    assert_eq!(
        t.head_object(&ObjectRequest::new(&b, "nope"))
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );

    let nb = s3ec_testkit::unique_bucket("no-such-bucket");
    let e = get_all(&t, &nb, "k").unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    let e = t
        .put_object(
            &PutRequest::new(&nb, "k", &[]),
            Bytes::copy_from_slice(b"x"),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.code.as_deref(), Some("NoSuchBucket"));
    // A missing bucket is an error even for DELETE.
    let e = t.delete_object(&ObjectRequest::new(&nb, "k")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    let e = t
        .abort_multipart_upload(&b, "k", "no-such-upload")
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert_eq!(e.code.as_deref(), Some("NoSuchUpload"));
}

#[test]
fn large_put_and_streaming_get() {
    let t = direct();
    let b = bucket("large");
    let body = data(24 << 20, 7);
    let start = Instant::now();
    t.put_object(
        &PutRequest::new(&b, "big", &[]),
        Bytes::copy_from_slice(&body),
    )
    .unwrap();
    eprintln!("PUT 24 MiB in {:?}", start.elapsed());
    let mut resp = t
        .get_object(&GetRequest {
            bucket: &b,
            key: "big",
            range: None,
            if_match: None,
            ..GetRequest::default()
        })
        .unwrap();
    assert_eq!(resp.head.content_length, body.len() as u64);
    // Read in small pieces: the body streams.
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0usize;
    loop {
        let n = resp.body.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n;
    }
    assert_eq!(total, body.len());
    assert_eq!(hasher.finalize()[..], Sha256::digest(&body)[..]);
    eprintln!("PUT + GET 24 MiB in {:?}", start.elapsed());
}

#[test]
fn multipart_upload() {
    let t = direct();
    let b = bucket("mpu");
    let metadata = meta(&[("x-amz-key-v2", "a2V5"), ("x-amz-iv", "aXY=")]);
    let req = PutRequest::new(&b, "multi/part object", &metadata);
    let upload_id = t.create_multipart_upload(&req).unwrap();
    assert!(!upload_id.is_empty());
    let body = data(19 << 20, 3);
    let chunks: Vec<&[u8]> = body.chunks(8 << 20).collect();
    assert_eq!(chunks.len(), 3);
    let mut parts = Vec::new();
    // Upload out of order: the part numbers decide.
    for i in [2usize, 0, 1] {
        let n = u32::try_from(i + 1).unwrap();
        let etag = t
            .upload_part(
                &PartRequest::new(&b, req.key, &upload_id, n),
                Bytes::copy_from_slice(chunks[i]),
            )
            .unwrap();
        parts.push(CompletedPart {
            part_number: n,
            etag,
            checksum: None,
        });
    }
    parts.sort_by_key(|p| p.part_number);
    let etag = t
        .complete_multipart_upload(&CompleteRequest::new(&b, req.key, &upload_id, &parts))
        .unwrap();
    assert!(
        etag.as_deref().is_some_and(|e| e.ends_with("-3\"")),
        "{etag:?}"
    );
    let head = t.head_object(&ObjectRequest::new(&b, req.key)).unwrap();
    assert_eq!(head.content_length, body.len() as u64);
    assert_eq!(sorted(head.metadata), sorted(metadata.clone()));
    assert_eq!(get_all(&t, &b, req.key).unwrap(), body);

    // Aborted uploads cannot be completed.
    let upload_id = t.create_multipart_upload(&req).unwrap();
    let etag = t
        .upload_part(
            &PartRequest::new(&b, req.key, &upload_id, 1),
            Bytes::copy_from_slice(b"tiny"),
        )
        .unwrap();
    t.abort_multipart_upload(&b, req.key, &upload_id).unwrap();
    let e = t
        .complete_multipart_upload(&CompleteRequest::new(
            &b,
            req.key,
            &upload_id,
            &[CompletedPart {
                part_number: 1,
                etag,
                checksum: None,
            }],
        ))
        .unwrap_err();
    // S3 says NoSuchUpload (404); moto 5.2.5 fails with a 500 (a KeyError
    // on the server), which is retried and then reported as Unavailable.
    assert!(
        matches!(e.kind, ErrorKind::NotFound | ErrorKind::Unavailable),
        "{e}"
    );
    // The earlier object is untouched.
    assert_eq!(
        t.head_object(&ObjectRequest::new(&b, req.key))
            .unwrap()
            .content_length,
        body.len() as u64
    );

    // Local checks.
    assert_eq!(
        t.upload_part(
            &PartRequest::new(&b, req.key, "x", 0),
            Bytes::copy_from_slice(b"x")
        )
        .unwrap_err()
        .kind,
        ErrorKind::Other
    );
    assert_eq!(
        t.complete_multipart_upload(&CompleteRequest::new(&b, req.key, "x", &[]))
            .unwrap_err()
            .kind,
        ErrorKind::Other
    );
}

#[test]
fn wrong_part_etag_is_an_s3_error() {
    let t = direct();
    let b = bucket("badpart");
    let req = PutRequest::new(&b, "k", &[]);
    let upload_id = t.create_multipart_upload(&req).unwrap();
    t.upload_part(
        &PartRequest::new(&b, "k", &upload_id, 1),
        Bytes::copy_from_slice(b"only part"),
    )
    .unwrap();
    let e = t
        .complete_multipart_upload(&CompleteRequest::new(
            &b,
            "k",
            &upload_id,
            &[CompletedPart::new(1, "\"0000\"")],
        ))
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("InvalidPart"), "{e}");
    assert_eq!(e.kind, ErrorKind::Other);
    t.abort_multipart_upload(&b, "k", &upload_id).unwrap();
}

#[test]
fn path_style_with_a_host_name() {
    // `localhost` is a DNS name: force path-style and check it works.
    let port = moto().rsplit(':').next().unwrap();
    let t = builder(&format!("http://localhost:{port}"))
        .path_style(true)
        .build()
        .unwrap();
    let b = bucket("pathstyle");
    assert_eq!(
        t.object_url(&b, "k").unwrap(),
        format!("http://localhost:{port}/{b}/k")
    );
    t.put_object(
        &PutRequest::new(&b, "k", &[]),
        Bytes::copy_from_slice(b"path"),
    )
    .unwrap();
    assert_eq!(get_all(&t, &b, "k").unwrap(), b"path");
}

#[test]
fn virtual_hosted_addressing() {
    // `bucket.s3.test` resolves to moto's loopback address through the
    // resolver override; moto reads the bucket from the Host header.
    let addr: std::net::SocketAddr = moto().trim_start_matches("http://").parse().unwrap();
    let b = bucket("vhost");
    let host = format!("{b}.s3.test");
    let t = builder(&format!("http://s3.test:{}", addr.port()))
        .path_style(false)
        .resolve(&host, addr)
        .build()
        .unwrap();
    assert_eq!(
        t.object_url(&b, "v/k").unwrap(),
        format!("http://{host}:{}/v/k", addr.port())
    );
    let metadata = meta(&[("style", "virtual")]);
    t.put_object(
        &PutRequest::new(&b, "v/k", &metadata),
        Bytes::copy_from_slice(b"virtual"),
    )
    .unwrap();
    assert_eq!(get_all(&t, &b, "v/k").unwrap(), b"virtual");
    // The same object, seen path-style.
    assert_eq!(get_all(&direct(), &b, "v/k").unwrap(), b"virtual");
    assert_eq!(
        t.head_object(&ObjectRequest::new(&b, "v/k"))
            .unwrap()
            .metadata,
        metadata
    );
    t.delete_object(&ObjectRequest::new(&b, "v/k")).unwrap();
    assert_eq!(
        direct()
            .head_object(&ObjectRequest::new(&b, "v/k"))
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
}

#[test]
fn unsigned_payload() {
    let t = builder(moto())
        .payload_signing(PayloadSigning::Unsigned)
        .build()
        .unwrap();
    let b = bucket("unsigned");
    t.put_object(
        &PutRequest::new(&b, "k", &[]),
        Bytes::copy_from_slice(b"unsigned body"),
    )
    .unwrap();
    assert_eq!(get_all(&t, &b, "k").unwrap(), b"unsigned body");
}

#[test]
fn transport_is_shareable_across_threads() {
    let t = std::sync::Arc::new(direct());
    let b = bucket("threads");
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let t = t.clone();
            let b = b.clone();
            std::thread::spawn(move || {
                let key = format!("t{i}");
                let body = data(100_000 + i, i as u64);
                t.put_object(
                    &PutRequest::new(&b, &key, &[]),
                    Bytes::copy_from_slice(&body),
                )
                .unwrap();
                assert_eq!(get_all(t.as_ref(), &b, &key).unwrap(), body);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

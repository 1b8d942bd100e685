//! `AsyncClient::presign_put` over `AwsSdkTransport` (aws-sdk-s3's
//! presigning) against moto: an envelope and a body made elsewhere (here
//! by the client itself, as a device would make them) are uploaded through
//! the presigned URL by a bare HTTP PUT with the signed headers, and the
//! client decrypts the object; an envelope another key made is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use futures_util::StreamExt;
use s3ec_aws_sdk::AwsSdkTransport;
use s3ec_client::transport::{AsyncTransport, ErrorKind, GetRequest, PresignedRequest};
use s3ec_client::{AsyncClient, ClientError, Context};
use s3ec_local::AesKeyring;
use s3ec_testkit::s3s::S3sFs;

/// A bare HTTP/1.1 PUT with the presigned headers; the status code.
fn put(p: &PresignedRequest, body: &[u8]) -> u16 {
    put_with(p, &p.headers, body)
}

/// A bare HTTP/1.1 PUT to `p`'s URL with `headers` (`content-length`: the
/// body's, whatever `headers` say); the status code.
fn put_with(p: &PresignedRequest, headers: &[(String, String)], body: &[u8]) -> u16 {
    let rest = p.url.strip_prefix("http://").unwrap();
    let (authority, target) = rest.split_at(rest.find('/').unwrap());
    let mut conn = TcpStream::connect(authority).unwrap();
    write!(
        conn,
        "{} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n",
        p.method
    )
    .unwrap();
    for (k, v) in headers {
        if k != "content-length" {
            write!(conn, "{k}: {v}\r\n").unwrap();
        }
    }
    write!(conn, "content-length: {}\r\n\r\n", body.len()).unwrap();
    // A server refusing early may close before the body is read.
    let _ = conn.write_all(body);
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    answer.split(' ').nth(1).unwrap().parse().unwrap()
}

/// A device's object: made by `client`, taken apart into its user
/// metadata (the envelope) and stored body.
async fn device_object(
    client: &AsyncClient,
    transport: &AwsSdkTransport,
    bucket: &str,
    plain: &[u8],
) -> (Vec<(String, String)>, Vec<u8>) {
    client
        .put_object(
            bucket,
            "made",
            plain,
            Some(plain.len() as u64),
            &Context::new(),
        )
        .await
        .unwrap();
    let mut got = transport
        .get_object(&GetRequest::new(bucket, "made"))
        .await
        .unwrap();
    let envelope = got.head.metadata.clone();
    let mut body = Vec::new();
    while let Some(chunk) = got.body.next().await {
        body.extend_from_slice(&chunk.unwrap());
    }
    (envelope, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn presigned_put_of_a_device_envelope_then_get() {
    let endpoint = s3ec_testkit::moto().endpoint().to_string();
    let bucket = common::bucket("sdk-presign");
    let transport = AwsSdkTransport::new(common::s3_client(&endpoint));
    let key_bytes = [0x21u8; 32];
    let client = AsyncClient::builder(transport.clone(), AesKeyring::new(&key_bytes).unwrap())
        .build()
        .unwrap();

    // "The device": an encrypted object, taken apart into its stored body
    // and user metadata.
    let plain: Vec<u8> = (0..40_000u32).map(|i| (i % 253) as u8).collect();
    let (envelope, body) = device_object(&client, &transport, &bucket, &plain).await;

    // The backend presigns for exactly that envelope and length.
    let p = client
        .presign_put(
            &bucket,
            "uploaded",
            &envelope,
            Some(body.len() as u64),
            Duration::from_secs(300),
        )
        .await
        .unwrap();
    assert_eq!(p.method, "PUT");
    assert!(p.url.contains("X-Amz-Signature="), "{}", p.url);
    // Every envelope entry and the length are headers to send, and signed.
    let signed = p
        .url
        .split(['?', '&'])
        .find_map(|q| q.strip_prefix("X-Amz-SignedHeaders="))
        .unwrap()
        .replace("%3B", ";");
    let signed: Vec<&str> = signed.split(';').collect();
    let mut want = vec![("content-length".to_string(), body.len().to_string())];
    want.extend(
        envelope
            .iter()
            .map(|(k, v)| (format!("x-amz-meta-{k}"), v.clone())),
    );
    for (k, v) in &want {
        assert!(signed.contains(&k.as_str()), "{k} not in {signed:?}");
        assert!(
            p.headers.contains(&(k.clone(), v.clone())),
            "{k}: {:?}",
            p.headers
        );
    }
    assert!(p.expires_at > std::time::SystemTime::now());
    assert_eq!(put(&p, &body), 200);
    let mut back = Vec::new();
    client
        .get_object(&bucket, "uploaded", &mut back, None)
        .await
        .unwrap();
    assert_eq!(back, plain);

    // Another key: the envelope does not open, nothing is presigned.
    let other = AsyncClient::builder(transport, AesKeyring::new(&[0x22u8; 32]).unwrap())
        .build()
        .unwrap();
    let e = other
        .presign_put(&bucket, "x", &envelope, None, Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Keyring(_)), "{e:?}");
}

/// Against s3s-fs, which checks signatures (moto does not): the URL the
/// SDK presigned is accepted as given; with a signed header changed or
/// dropped, another body length, or once expired it is refused (403) and
/// nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn s3s_fs_refuses_altered_or_expired_sdk_presigned_puts() {
    let Some(server) = S3sFs::start(&["devices"]) else {
        return;
    };
    let transport = AwsSdkTransport::new(common::s3_client(server.endpoint()));
    let client = AsyncClient::builder(transport.clone(), AesKeyring::new(&[0x23u8; 32]).unwrap())
        .build()
        .unwrap();
    let plain = vec![0x5au8; 3000];
    let (envelope, body) = device_object(&client, &transport, "devices", &plain).await;
    let presign = |key: &'static str, ttl: u64| {
        let (client, envelope, len) = (&client, &envelope, body.len() as u64);
        async move {
            client
                .presign_put(
                    "devices",
                    key,
                    envelope,
                    Some(len),
                    Duration::from_secs(ttl),
                )
                .await
                .unwrap()
        }
    };

    // As given: accepted, and the object reads back.
    let p = presign("ok", 300).await;
    assert_eq!(put(&p, &body), 200);
    let (back, _) = client
        .get_object_to_vec("devices", "ok", None)
        .await
        .unwrap();
    assert_eq!(back, plain);
    let before = server.files();

    let p = presign("altered", 300).await;
    let i = p
        .headers
        .iter()
        .position(|(k, _)| k == "x-amz-meta-x-amz-c")
        .unwrap();
    let mut changed = p.headers.clone();
    changed[i].1 = "114".into();
    assert_eq!(put_with(&p, &changed, &body), 403, "changed header");
    let mut dropped = p.headers.clone();
    dropped.remove(i);
    assert_eq!(put_with(&p, &dropped, &body), 403, "dropped header");
    assert_eq!(put(&p, &body[1..]), 403, "shorter body");
    let mut longer = body.clone();
    longer.push(0);
    assert_eq!(put(&p, &longer), 403, "longer body");

    let p = presign("expired", 1).await;
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(put(&p, &body), 403, "expired");

    assert_eq!(server.files(), before);
    for key in ["altered", "expired"] {
        let e = client
            .get_object_to_vec("devices", key, None)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ClientError::Transport(t) if t.kind == ErrorKind::NotFound),
            "{e:?}"
        );
    }
}

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
use s3ec_client::transport::{AsyncTransport, GetRequest, PresignedRequest};
use s3ec_client::{AsyncClient, ClientError, Context};
use s3ec_local::AesKeyring;

/// A bare HTTP/1.1 PUT with the presigned headers; the status code.
fn put(p: &PresignedRequest, body: &[u8]) -> u16 {
    let rest = p.url.strip_prefix("http://").unwrap();
    let (authority, target) = rest.split_at(rest.find('/').unwrap());
    let mut conn = TcpStream::connect(authority).unwrap();
    write!(
        conn,
        "{} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n",
        p.method
    )
    .unwrap();
    let mut has_len = false;
    for (k, v) in &p.headers {
        has_len |= k == "content-length";
        write!(conn, "{k}: {v}\r\n").unwrap();
    }
    if !has_len {
        write!(conn, "content-length: {}\r\n", body.len()).unwrap();
    }
    conn.write_all(b"\r\n").unwrap();
    conn.write_all(body).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer.split(' ').nth(1).unwrap().parse().unwrap()
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
    client
        .put_object(
            &bucket,
            "made",
            &plain[..],
            Some(plain.len() as u64),
            &Context::new(),
        )
        .await
        .unwrap();
    let mut got = transport
        .get_object(&GetRequest::new(&bucket, "made"))
        .await
        .unwrap();
    let envelope = got.head.metadata.clone();
    let mut body = Vec::new();
    while let Some(chunk) = got.body.next().await {
        body.extend_from_slice(&chunk.unwrap());
    }

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

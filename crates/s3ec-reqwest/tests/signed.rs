//! Signatures checked by a server: a moto server of this test's own with
//! request authentication on (moto recomputes every SigV4 signature with
//! botocore and refuses mismatches), an IAM user allowed `s3:*`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use s3ec_client::transport::{CompleteRequest, ObjectRequest, PartRequest};
use std::io::Read;

use s3ec_client::transport::{
    ByteRange, Bytes, CompletedPart, ErrorKind, GetRequest, PutRequest, Transport,
};
use s3ec_reqwest::{Credentials, PayloadSigning, ReqwestTransport};
use s3ec_testkit::MotoServer;

/// An unsigned (moto-accepted while auth is off) form POST to IAM.
fn iam(endpoint: &str, form: &str) -> String {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20200101/us-east-1/iam/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .body(format!("{form}&Version=2010-05-08"))
        .send()
        .unwrap();
    let status = resp.status();
    let text = resp.text().unwrap();
    assert!(status.is_success(), "{form}: {status} {text}");
    text
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
    let start = s.find(open).unwrap() + open.len();
    let end = s[start..].find(close).unwrap() + start;
    &s[start..end]
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Start a server, make a user with S3 rights and a bucket, then turn
/// authentication on. Returns the server, the user's credentials and the
/// bucket.
fn authenticated_moto() -> (MotoServer, Credentials, String) {
    let server = MotoServer::start().unwrap();
    let ep = server.endpoint().to_string();
    iam(&ep, "Action=CreateUser&UserName=s3ec");
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    iam(
        &ep,
        &format!(
            "Action=PutUserPolicy&UserName=s3ec&PolicyName=s3&PolicyDocument={}",
            enc(policy)
        ),
    );
    let key = iam(&ep, "Action=CreateAccessKey&UserName=s3ec");
    let id = between(&key, "<AccessKeyId>", "</AccessKeyId>").to_string();
    let secret = between(&key, "<SecretAccessKey>", "</SecretAccessKey>").to_string();
    let bucket = "signed-bucket".to_string();
    s3ec_testkit::create_bucket(&ep, &bucket).unwrap();
    let resp = reqwest::blocking::Client::new()
        .post(format!("{ep}/moto-api/reset-auth"))
        .body("0")
        .send()
        .unwrap();
    assert!(resp.status().is_success());
    (
        server,
        Credentials::new(id, secret, None, None, "moto-iam"),
        bucket,
    )
}

#[test]
fn moto_accepts_every_signed_request_and_refuses_a_bad_one() {
    let (server, creds, b) = authenticated_moto();
    let t = common::builder(server.endpoint())
        .credentials(creds.clone())
        .build()
        .unwrap();
    let metadata = vec![
        ("x-amz-key-v2".to_string(), "a2V5+/=".to_string()),
        ("mixed-Case".to_string(), "a  b, c; d=e".to_string()),
        ("encoded".to_string(), "=?UTF-8?B?w7xuw68=?=".to_string()),
    ];
    let keys = [
        "plain",
        "dir/sub dir/file name+plus=eq&amp.txt",
        "ünïcødé/日本語",
        "q?uestion#hash[brackets]@at!$'()*,;:~",
        "a//double",
        "percent%2Fliteral",
    ];
    for key in keys {
        let body = format!("signed body of {key}");
        t.put_object(
            &PutRequest {
                bucket: &b,
                key,
                metadata: &metadata,
                fields: &Default::default(),
                checksum: None,
            },
            Bytes::copy_from_slice(body.as_bytes()),
        )
        .unwrap_or_else(|e| panic!("PUT {key}: {e}"));
        let head = t
            .head_object(&ObjectRequest::new(&b, key))
            .unwrap_or_else(|e| panic!("HEAD {key}: {e}"));
        let mut resp = t
            .get_object(&GetRequest {
                bucket: &b,
                key,
                range: Some(ByteRange {
                    first: 0,
                    last: Some(5),
                }),
                if_match: head.etag.as_deref(),
                ..GetRequest::default()
            })
            .unwrap_or_else(|e| panic!("GET {key}: {e}"));
        let mut got = Vec::new();
        resp.body.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"signed");
    }

    // Multipart, with the upload id in the query string.
    let req = PutRequest::new(&b, "multi part/ü", &metadata);
    let id = t.create_multipart_upload(&req).unwrap();
    let part = common::data(5 << 20, 1);
    let e1 = t
        .upload_part(
            &PartRequest::new(&b, req.key, &id, 1),
            Bytes::copy_from_slice(&part),
        )
        .unwrap();
    let e2 = t
        .upload_part(
            &PartRequest::new(&b, req.key, &id, 2),
            Bytes::copy_from_slice(b"tail"),
        )
        .unwrap();
    t.complete_multipart_upload(&CompleteRequest::new(
        &b,
        req.key,
        &id,
        &[CompletedPart::new(1, e1), CompletedPart::new(2, e2)],
    ))
    .unwrap();
    assert_eq!(
        t.head_object(&ObjectRequest::new(&b, req.key))
            .unwrap()
            .content_length,
        (5 << 20) + 4
    );
    let id = t.create_multipart_upload(&req).unwrap();
    t.abort_multipart_upload(&b, req.key, &id).unwrap();
    for key in keys {
        t.delete_object(&ObjectRequest::new(&b, key)).unwrap();
    }

    // Unsigned payloads are accepted too.
    let unsigned = common::builder(server.endpoint())
        .credentials(creds.clone())
        .payload_signing(PayloadSigning::Unsigned)
        .build()
        .unwrap();
    unsigned
        .put_object(
            &PutRequest::new(&b, "unsigned", &[]),
            Bytes::copy_from_slice(b"body"),
        )
        .unwrap();

    // A wrong secret is refused: the server really checks.
    let wrong = ReqwestTransport::builder()
        .region(s3ec_testkit::REGION)
        .endpoint(server.endpoint())
        .credentials(Credentials::new(
            creds.access_key_id(),
            "not-the-secret",
            None,
            None,
            "wrong",
        ))
        .build()
        .unwrap();
    let e = wrong
        .put_object(&PutRequest::new(&b, "k", &[]), Bytes::copy_from_slice(b"x"))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AccessDenied, "{e}");
    assert_eq!(e.code.as_deref(), Some("SignatureDoesNotMatch"), "{e}");
}

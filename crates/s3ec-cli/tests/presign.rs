//! `s3ec presign-put` against moto: a file encrypted offline (`s3ec
//! encrypt`, as a device would) is uploaded through the presigned URL by a
//! bare HTTP PUT carrying the signed headers, and `s3ec cp` decrypts it; an
//! envelope that does not open under the key is not presigned.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_s3ec");

fn s3ec(dir: &Path, endpoint: &str, args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).current_dir(dir);
    for k in [
        "S3EC_LOCAL_STORE",
        "AWS_ENDPOINT_URL_S3",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
    ] {
        c.env_remove(k);
    }
    c.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/creds");
    c.output().unwrap()
}

fn ok(dir: &Path, endpoint: &str, args: &[&str]) -> Vec<u8> {
    let o = s3ec(dir, endpoint, args);
    assert!(
        o.status.success(),
        "s3ec {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// A bare HTTP/1.1 PUT (what a device does); returns the status line.
fn put(url: &str, headers: &serde_json::Map<String, serde_json::Value>, body: &[u8]) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, target) = rest.split_at(rest.find('/').unwrap());
    let mut conn = TcpStream::connect(authority).unwrap();
    write!(
        conn,
        "PUT {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n"
    )
    .unwrap();
    let mut has_len = false;
    for (k, v) in headers {
        has_len |= k == "content-length";
        write!(conn, "{k}: {}\r\n", v.as_str().unwrap()).unwrap();
    }
    if !has_len {
        write!(conn, "content-length: {}\r\n", body.len()).unwrap();
    }
    conn.write_all(b"\r\n").unwrap();
    conn.write_all(body).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or("").to_string()
}

#[test]
fn presign_put_then_a_bare_put_then_cp_decrypts() {
    let moto = s3ec_testkit::moto();
    let bucket = s3ec_testkit::unique_bucket("cli-presign");
    s3ec_testkit::create_bucket(moto.endpoint(), &bucket).unwrap();
    let ep = moto.endpoint();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let plain: Vec<u8> = (0..123_457u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("reading.bin"), &plain).unwrap();
    ok(dir, ep, &["keygen", "aes", "--out", "device.key"]);
    ok(dir, ep, &["keygen", "aes", "--out", "other.key"]);
    // The device's side, offline: the object and its envelope.
    ok(
        dir,
        ep,
        &[
            "encrypt",
            "--aes-key-file",
            "device.key",
            "reading.bin",
            "obj",
        ],
    );
    let body = std::fs::read(dir.join("obj")).unwrap();
    let len = body.len().to_string();
    let dest = format!("s3://{bucket}/dev-17/reading");

    // The backend: presign for exactly that envelope and length.
    let out = ok(
        dir,
        ep,
        &[
            "presign-put",
            "--aes-key-file",
            "device.key",
            "--metadata",
            "obj.metadata.json",
            "--content-length",
            &len,
            "--json",
            &dest,
        ],
    );
    let p: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(p["method"], "PUT");
    let url = p["url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(url.contains("x-amz-meta-x-amz-c"), "{url}");
    let headers = p["headers"].as_object().unwrap();
    assert_eq!(headers["content-length"], len.as_str());
    assert!(headers.contains_key("x-amz-meta-x-amz-3"));

    // The device uploads; the key's owner decrypts.
    let status = put(url, headers, &body);
    assert!(status.contains(" 200"), "{status}");
    ok(
        dir,
        ep,
        &["cp", "--aes-key-file", "device.key", &dest, "back.bin"],
    );
    assert_eq!(std::fs::read(dir.join("back.bin")).unwrap(), plain);

    // Text output: the request line, then one header per line.
    let text = ok(
        dir,
        ep,
        &[
            "presign-put",
            "--aes-key-file",
            "device.key",
            "--metadata",
            "obj.metadata.json",
            &dest,
        ],
    );
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("PUT http://"), "{text}");
    assert!(text.contains("\nx-amz-meta-x-amz-c: 115\n"), "{text}");

    // Another key does not open the envelope: nothing is presigned.
    let o = s3ec(
        dir,
        ep,
        &[
            "presign-put",
            "--aes-key-file",
            "other.key",
            "--metadata",
            "obj.metadata.json",
            &dest,
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stdout.is_empty());
    // Not an envelope at all.
    std::fs::write(dir.join("plain.json"), r#"{"color":"blue"}"#).unwrap();
    let o = s3ec(
        dir,
        ep,
        &[
            "presign-put",
            "--aes-key-file",
            "device.key",
            "--metadata",
            "plain.json",
            &dest,
        ],
    );
    assert!(!o.status.success());
    assert!(o.stdout.is_empty());
}

/// `--context`: a KMS envelope is presigned only for the encryption context
/// it carries (the flag was accepted and ignored before).
#[test]
fn presign_put_checks_the_kms_encryption_context() {
    let moto = s3ec_testkit::moto();
    let ep = moto.endpoint();
    let bucket = s3ec_testkit::unique_bucket("cli-presign-ctx");
    s3ec_testkit::create_bucket(ep, &bucket).unwrap();
    let arn = s3ec_testkit::create_kms_key(ep).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let plain = b"sensor 17: 21.5 C".to_vec();
    std::fs::write(dir.join("reading.bin"), &plain).unwrap();
    let kms = ["--kms-key-id", arn.as_str()];
    let with = |extra: &[&str]| -> Vec<String> {
        kms.iter().chain(extra).map(|s| (*s).to_string()).collect()
    };
    let run = |args: Vec<String>| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        s3ec(dir, ep, &a)
    };
    let mut enc = vec!["encrypt".to_string()];
    enc.extend(with(&["--context", "tenant=acme", "reading.bin", "obj"]));
    let o = run(enc);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let body = std::fs::read(dir.join("obj")).unwrap();
    let dest = format!("s3://{bucket}/dev-17/reading");
    let presign = |context: &str| {
        let mut a = vec!["presign-put".to_string()];
        a.extend(with(&[
            "--context",
            context,
            "--metadata",
            "obj.metadata.json",
        ]));
        a.extend(["--json".to_string(), dest.clone()]);
        run(a)
    };

    // Another context: refused as a get would refuse it, nothing printed.
    let o = presign("tenant=other");
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stdout.is_empty());

    // The context the device bound in: presigned, uploaded, read back.
    let o = presign("tenant=acme");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let status = put(
        p["url"].as_str().unwrap(),
        p["headers"].as_object().unwrap(),
        &body,
    );
    assert!(status.contains(" 200"), "{status}");
    let mut cp = vec!["cp".to_string()];
    cp.extend(with(&["--context", "tenant=acme", &dest, "back.bin"]));
    let o = run(cp);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(dir.join("back.bin")).unwrap(), plain);
}

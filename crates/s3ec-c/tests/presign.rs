//! Presigned uploads end to end: the device program
//! (`examples/device_upload.rs`: the core and a bare HTTP PUT) prints its
//! envelope, the backend (`Client::presign_put`: the envelope must open
//! under its key; then `ReqwestTransport::presign_put`) presigns a PUT
//! with that metadata and length signed in, the device encrypts and
//! uploads through it; the Rust client decrypts the object with the key
//! (and AWS's Ruby client, for a V2 object, when installed).
//!
//! Against moto (which does not check signatures) for the flow, and
//! against s3s-fs (which does) for the refusals: an expired URL, a changed
//! or missing signed header, another length: refused, nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64ct::{Base64, Encoding};
use s3ec_client::Client;
use s3ec_local::AesKeyring;
use s3ec_reqwest::PresignedRequest;
use s3ec_testkit::s3s::S3sFs;

mod common;

const KEY: [u8; 32] = [0x3c; 32];

fn key_hex() -> String {
    KEY.iter().map(|b| format!("{b:02x}")).collect()
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 13 + i / 1021) as u8).collect()
}

/// `target/<profile>/examples/device_upload`: built by `cargo test`, or
/// here when only this test was asked for (`--test presign`).
fn device_program() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let p = profile_dir
        .join("examples")
        .join(format!("device_upload{}", std::env::consts::EXE_SUFFIX));
    BUILT.call_once(|| {
        if p.is_file() {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "s3ec-c", "--example", "device_upload"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        assert!(cmd.status().unwrap().success(), "building the example");
    });
    assert!(p.is_file(), "{} not built", p.display());
    p
}

/// Run the device: it prints its envelope, `presign` turns that into a URL,
/// the device uploads. Returns (exit code, stderr).
fn device_upload(
    input: &Path,
    extra: &[&str],
    presign: impl FnOnce(&[(String, String)], u64) -> String,
) -> (Option<i32>, String) {
    let mut child: Child = Command::new(device_program())
        .args(["--key-hex", &key_hex(), "--in"])
        .arg(input)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut meta, mut len) = (String::new(), String::new());
    out.read_line(&mut meta).unwrap();
    out.read_line(&mut len).unwrap();
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&meta).unwrap();
    let metadata: Vec<(String, String)> = map
        .into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap().to_string()))
        .collect();
    let url = presign(&metadata, len.trim().parse().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{url}").unwrap();
    drop(stdin);
    let done = child.wait_with_output().unwrap();
    (
        done.status.code(),
        String::from_utf8_lossy(&done.stderr).into(),
    )
}

#[test]
fn device_uploads_through_a_presigned_put_to_moto() {
    let moto = s3ec_testkit::moto();
    let bucket = s3ec_testkit::unique_bucket("presign");
    s3ec_testkit::create_bucket(moto.endpoint(), &bucket).unwrap();
    let backend = common::moto_transport(moto.endpoint());
    // The backend's client: it holds the key the devices were provisioned
    // with, checks each envelope opens under it, then presigns.
    let client = Client::builder(backend.clone(), AesKeyring::new(&KEY).unwrap())
        .commitment_policy(s3ec_client::CommitmentPolicy::RequireEncryptAllowDecrypt)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pt = plaintext(300_001);
    let input = dir.path().join("reading");
    std::fs::write(&input, &pt).unwrap();

    for (key, extra) in [
        ("dev-17/v3", &[][..]),
        ("dev-17/v3-md", &["--matdesc", r#"{"device":"dev-17"}"#][..]),
        ("dev-17/v2", &["--v2"][..]),
    ] {
        let (code, err) = device_upload(&input, extra, |meta, len| {
            assert!(meta
                .iter()
                .any(|(k, _)| k == "x-amz-unencrypted-content-length"));
            client
                .presign_put(&bucket, key, meta, Some(len), Duration::from_secs(300))
                .unwrap()
                .url
        });
        assert_eq!(code, Some(0), "{key}: {err}");

        // The Rust client reads it with the key.
        let mut got = Vec::new();
        client.get_object(&bucket, key, &mut got, None).unwrap();
        assert_eq!(got, pt, "{key}");
    }

    // A device provisioned with another key: the backend does not presign
    // (its key would not open the object); nothing is uploaded.
    let other = Client::builder(backend.clone(), AesKeyring::new(&[0x77; 32]).unwrap())
        .build()
        .unwrap();
    let (code, _) = device_upload(&input, &[], |meta, len| {
        let refused = other
            .presign_put(
                &bucket,
                "dev-18/x",
                meta,
                Some(len),
                Duration::from_secs(300),
            )
            .unwrap_err();
        assert!(
            matches!(refused, s3ec_client::ClientError::Keyring(_)),
            "{refused:?}"
        );
        "http://127.0.0.1:9/refused".to_string()
    });
    assert_ne!(code, Some(0));
    let mut sink = Vec::new();
    assert!(client
        .get_object(&bucket, "dev-18/x", &mut sink, None)
        .is_err());

    // AWS's Ruby client reads the V2 one (Ruby's EncryptionV2 reads V2 only).
    // AWS's Python client has no raw-AES keyring (KMS only): not a reader here.
    if !common::ruby_available() {
        return;
    }
    let out = dir.path().join("ruby.out");
    let mode = ["--mode", "v2-aesgcm", "--aes-key-b64"].map(String::from);
    let mut mode = mode.to_vec();
    mode.push(Base64::encode_string(&KEY));
    common::ruby_get(moto.endpoint(), &bucket, "dev-17/v2", &out, &mode);
    assert_eq!(std::fs::read(&out).unwrap(), pt);
}

/// The s3s-fs bucket (s3s-fs checks SigV4, presigned URLs included).
const S3S_BUCKET: &str = "devices";

/// PUT `body` as `p` says, with `headers` in place of its signed ones.
fn put(p: &PresignedRequest, headers: &[(String, String)], body: Vec<u8>) -> u16 {
    let client = reqwest::blocking::Client::new();
    let mut req = client.put(&p.url).body(body);
    for (k, v) in headers {
        if k != "content-length" {
            req = req.header(k, v);
        }
    }
    req.send().unwrap().status().as_u16()
}

#[test]
fn s3s_fs_refuses_expired_or_altered_presigned_puts() {
    let Some(server) = S3sFs::start(&[S3S_BUCKET]) else {
        return;
    };
    let backend = common::transport(
        server.endpoint(),
        s3ec_testkit::ACCESS_KEY_ID,
        s3ec_testkit::SECRET_ACCESS_KEY,
    );
    let dir = tempfile::tempdir().unwrap();
    let pt = plaintext(70_000);
    let input = dir.path().join("reading");
    std::fs::write(&input, &pt).unwrap();

    // The device's upload is accepted, and the object reads back.
    let (code, err) = device_upload(&input, &[], |meta, len| {
        backend
            .presign_put(S3S_BUCKET, "ok", meta, Some(len), Duration::from_secs(300))
            .unwrap()
            .url
    });
    assert_eq!(code, Some(0), "{err}");
    let reader = Client::builder(backend.clone(), AesKeyring::new(&KEY).unwrap())
        .build()
        .unwrap();
    let mut got = Vec::new();
    reader.get_object(S3S_BUCKET, "ok", &mut got, None).unwrap();
    assert_eq!(got, pt);

    // An envelope and a body to try the refusals with (any bytes do: the
    // server decides on the signature alone).
    let meta = vec![
        ("x-amz-c".to_string(), "115".to_string()),
        ("x-amz-i".to_string(), "AAAA".to_string()),
    ];
    let body = vec![7u8; 1000];
    let presign = |key: &str, expires: Duration| {
        backend
            .presign_put(S3S_BUCKET, key, &meta, Some(body.len() as u64), expires)
            .unwrap()
    };

    // Control: the same request unaltered, in time, is accepted.
    let p = presign("control", Duration::from_secs(300));
    assert_eq!(put(&p, &p.headers, body.clone()), 200);
    let before = server.files();
    assert!(
        before.contains(&"devices/control".to_string()),
        "{before:?}"
    );

    // Expired.
    let p = presign("expired", Duration::from_secs(1));
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(put(&p, &p.headers, body.clone()), 403, "expired");

    // A signed header changed, dropped; another length; an added byte.
    let p = presign("altered", Duration::from_secs(300));
    let mut changed = p.headers.clone();
    changed[1].1 = "AAAB".into();
    assert_eq!(put(&p, &changed, body.clone()), 403, "changed header");
    let dropped: Vec<_> = p.headers.iter().skip(1).cloned().collect();
    assert_eq!(put(&p, &dropped, body.clone()), 403, "dropped header");
    assert_eq!(put(&p, &p.headers, vec![7u8; 999]), 403, "shorter body");
    assert_eq!(put(&p, &p.headers, vec![7u8; 1001]), 403, "longer body");
    // The device program through an altered URL (another key than signed).
    let (code, err) = device_upload(&input, &[], |meta, len| {
        let p = backend
            .presign_put(
                S3S_BUCKET,
                "signed-key",
                meta,
                Some(len),
                Duration::from_secs(300),
            )
            .unwrap();
        p.url.replace("/signed-key?", "/other-key?")
    });
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("403"), "{err}");

    // Nothing written: no object, no partial object, no temporary file.
    assert_eq!(server.files(), before);
    for key in ["expired", "altered", "other-key", "signed-key"] {
        let mut sink = Vec::new();
        assert!(reader.get_object(S3S_BUCKET, key, &mut sink, None).is_err());
        assert!(sink.is_empty());
    }
}

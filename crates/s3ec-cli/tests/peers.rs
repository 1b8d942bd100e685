//! Offline `s3ec encrypt` output, uploaded as-is (body with its metadata,
//! instruction file as its own object) with `s3ec cp --source-endpoint-url
//! file://...`, then read by AWS's own Python and Ruby clients through the
//! interop drivers (`interop/peer`, installed by `interop/setup.sh`).
//!
//! Runs when the peers are installed; otherwise it says so and passes
//! (`S3EC_REQUIRE_PEERS=1` makes a missing peer a failure, for CI after
//! `interop/setup.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_s3ec");

fn root() -> PathBuf {
    s3ec_testkit::workspace_root()
}

fn peer_available(peer: &str) -> bool {
    let ok = Command::new(root().join("interop/peer"))
        .args([peer, "modes"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("S3EC_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("peer {peer} is not installed (run interop/setup.sh)");
        }
        eprintln!("note: peer {peer} is not installed (interop/setup.sh); skipping it");
    }
    ok
}

fn s3ec(dir: &Path, args: &[&str]) {
    let m = s3ec_testkit::moto();
    let o = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("S3EC_LOCAL_STORE")
        .env("AWS_ENDPOINT_URL", m.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "s3ec {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn peer_get(peer: &str, bucket: &str, key: &str, mode: &str, extra: &[&str], out: &Path) {
    let m = s3ec_testkit::moto();
    let o = Command::new(root().join("interop/peer"))
        .args([
            peer,
            "get",
            "--endpoint",
            m.endpoint(),
            "--bucket",
            bucket,
            "--key",
            key,
            "--out",
            out.to_str().unwrap(),
            "--mode",
            mode,
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{peer} get {mode} {key}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn kms_key() -> String {
    let endpoint = s3ec_testkit::moto().endpoint();
    let host = endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: TrentService.CreateKey\r\nContent-Length: 2\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20200101/us-east-1/kms/aws4_request, \
         SignedHeaders=host, Signature=0\r\nConnection: close\r\n\r\n{{}}"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&out[out.find('{').unwrap()..=out.rfind('}').unwrap()]).unwrap();
    v["KeyMetadata"]["Arn"].as_str().unwrap().to_string()
}

/// (object, encrypt options, peer, mode, get options)
type Case<'a> = (String, Vec<&'a str>, &'a str, &'a str, Vec<&'a str>);

#[test]
fn offline_encrypt_uploaded_as_is_is_read_by_python_and_ruby() {
    let python = peer_available("python");
    let ruby = peer_available("ruby");
    if !python && !ruby {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bucket = s3ec_testkit::unique_bucket("cli-peers");
    s3ec_testkit::create_bucket(s3ec_testkit::moto().endpoint(), &bucket).unwrap();
    let arn = kms_key();
    let body: Vec<u8> = (0..70_001u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(d.join("plain"), &body).unwrap();
    s3ec(d, &["keygen", "aes", "--out", "aes.key"]);
    s3ec(d, &["keygen", "rsa", "--bits", "2048", "--out", "rsa.pem"]);
    let box_dir = d.join("outbox/box");
    let out = |name: &str| box_dir.join(name).display().to_string();
    // (object, encrypt options, peer, mode, get options)
    let aes_b64 = std::fs::read_to_string(d.join("aes.key")).unwrap();
    let aes_b64 = aes_b64.trim();
    let rsa = d.join("rsa.pem").display().to_string();
    let v3_ctx = ["--kms-key-id", arn.as_str(), "--context", "purpose=interop"];
    let v2 = ["--commitment-policy", "forbid-encrypt-allow-decrypt"];
    let mut cases: Vec<Case<'_>> = Vec::new();
    if python {
        cases.push((
            "py-v3-kms".into(),
            v3_ctx.to_vec(),
            "python",
            "v3-kms",
            vec![
                "--kms-key-id",
                &arn,
                "--context",
                "{\"purpose\":\"interop\"}",
            ],
        ));
        let mut o = v3_ctx.to_vec();
        o.extend(v2);
        cases.push((
            "py-v2-kms".into(),
            o,
            "python",
            "v2-kms",
            vec![
                "--kms-key-id",
                &arn,
                "--context",
                "{\"purpose\":\"interop\"}",
            ],
        ));
    }
    if ruby {
        let mut o = vec!["--aes-key-file", "aes.key"];
        o.extend(v2);
        cases.push((
            "rb-v2-aes".into(),
            o.clone(),
            "ruby",
            "v2-aesgcm",
            vec!["--aes-key-b64", aes_b64],
        ));
        o.push("--instruction-file");
        cases.push((
            "rb-v2-aes-instr".into(),
            o,
            "ruby",
            "v2-aesgcm",
            vec!["--aes-key-b64", aes_b64],
        ));
        let mut o = vec!["--rsa-key-file", "rsa.pem.pub"];
        o.extend(v2);
        cases.push((
            "rb-v2-rsa".into(),
            o,
            "ruby",
            "v2-rsaoaep",
            vec!["--rsa-private-pem", &rsa],
        ));
        let mut o = v3_ctx.to_vec();
        o.extend(v2);
        cases.push((
            "rb-v2-kms".into(),
            o,
            "ruby",
            "v2-kmsctx",
            vec![
                "--kms-key-id",
                &arn,
                "--context",
                "{\"purpose\":\"interop\"}",
            ],
        ));
    }
    for (name, opts, ..) in &cases {
        let mut args = vec!["encrypt"];
        args.extend(opts.iter().copied());
        let o = out(name);
        args.extend(["plain", o.as_str()]);
        s3ec(d, &args);
    }
    // Upload the folder as-is.
    let src = format!("file://{}", d.join("outbox").display());
    s3ec(
        d,
        &[
            "cp",
            "-r",
            "--source-endpoint-url",
            &src,
            "s3://box/",
            &format!("s3://{bucket}/"),
        ],
    );
    for (name, _, peer, mode, get) in &cases {
        let got = d.join(format!("{name}.{peer}.out"));
        peer_get(peer, &bucket, name, mode, get, &got);
        assert_eq!(std::fs::read(&got).unwrap(), body, "{peer} {mode} {name}");
    }
}

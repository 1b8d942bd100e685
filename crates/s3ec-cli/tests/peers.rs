//! Offline `s3ec encrypt` output, uploaded as-is (body with its metadata,
//! instruction file as its own object) with `s3ec cp --source-endpoint-url
//! file://...`, then read by AWS's own Python and Ruby clients through the
//! interop drivers (`interop/peer`, installed by `interop/setup.sh`).
//!
//! And the other way round for key rotation: objects the peers wrote in
//! their own formats, rotated to a new master key by `s3ec rotate`
//! (instruction file re-encrypted, metadata envelope rewrapped), read back
//! by the peers with the new key only.
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

fn s3ec(dir: &Path, args: &[&str]) -> Vec<u8> {
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
    o.stdout
}

/// Run a peer's driver (`put` or `get`) against moto; returns whether it
/// succeeded, and its stderr.
fn peer(
    peer: &str,
    cmd: &str,
    bucket: &str,
    key: &str,
    mode: &str,
    args: &[&str],
) -> (bool, String) {
    let m = s3ec_testkit::moto();
    let o = Command::new(root().join("interop/peer"))
        .args([
            peer,
            cmd,
            "--endpoint",
            m.endpoint(),
            "--bucket",
            bucket,
            "--key",
            key,
            "--mode",
            mode,
        ])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn peer_get(p: &str, bucket: &str, key: &str, mode: &str, extra: &[&str], out: &Path) {
    let out = out.display().to_string();
    let mut args = vec!["--out", out.as_str()];
    args.extend(extra);
    let (ok, err) = peer(p, "get", bucket, key, mode, &args);
    assert!(ok, "{p} get {mode} {key}: {err}");
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
    let _ = s3ec(d, &["keygen", "aes", "--out", "aes.key"]);
    let _ = s3ec(d, &["keygen", "rsa", "--bits", "2048", "--out", "rsa.pem"]);
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
        let _ = s3ec(d, &args);
    }
    // Upload the folder as-is.
    let src = format!("file://{}", d.join("outbox").display());
    let _ = s3ec(
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

/// A peer-written object rotated by s3ec: (peer, mode, put/get options
/// with the old key, s3ec's old-key options, s3ec's new-key options, get
/// options with the new key, whether the old key must fail afterwards).
struct Rotated<'a> {
    peer: &'a str,
    mode: &'a str,
    name: String,
    old_peer: Vec<String>,
    put_extra: Vec<&'a str>,
    old: Vec<String>,
    new: Vec<String>,
    new_peer: Vec<String>,
    old_fails: bool,
}

#[test]
fn objects_the_peers_wrote_rotated_by_s3ec_are_read_by_the_peers_with_the_new_key() {
    let python = peer_available("python");
    let ruby = peer_available("ruby");
    let go = peer_available("go");
    if !python && !ruby && !go {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bucket = s3ec_testkit::unique_bucket("cli-rot-peers");
    s3ec_testkit::create_bucket(s3ec_testkit::moto().endpoint(), &bucket).unwrap();
    let (kms_old, kms_new) = (kms_key(), kms_key());
    let body: Vec<u8> = (0..70_001u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(d.join("plain"), &body).unwrap();
    for k in ["old", "new"] {
        let _ = s3ec(d, &["keygen", "aes", "--out", &format!("{k}.key")]);
        let _ = s3ec(
            d,
            &[
                "keygen",
                "rsa",
                "--bits",
                "2048",
                "--out",
                &format!("{k}.pem"),
            ],
        );
    }
    let b64 = |k: &str| {
        std::fs::read_to_string(d.join(format!("{k}.key")))
            .unwrap()
            .trim()
            .to_string()
    };
    let path = |f: &str| d.join(f).display().to_string();
    let ctx = "{\"purpose\":\"rotation\"}";
    let kms = |id: &str| {
        vec![
            "--kms-key-id".to_string(),
            id.to_string(),
            "--context".into(),
            ctx.into(),
        ]
    };
    let s3ec_kms = |id: &str, flag: &str| {
        let mut v = vec![flag.to_string(), id.to_string()];
        if flag == "--kms-key-id" {
            v.extend(["--context".to_string(), "purpose=rotation".to_string()]);
        }
        v
    };
    let v2 = |mut v: Vec<String>| {
        v.extend([
            "--commitment-policy".into(),
            "require-encrypt-allow-decrypt".into(),
        ]);
        v
    };
    // A KMS object: rotated from the old KMS key to the new one (V2 needs
    // the migration policy to be read).
    let kms_case = |peer, mode, name: &str, is_v2: bool| {
        let old = s3ec_kms(&kms_old, "--kms-key-id");
        Rotated {
            peer,
            mode,
            name: name.to_string(),
            old_peer: kms(&kms_old),
            put_extra: vec![],
            old: if is_v2 { v2(old) } else { old },
            new: s3ec_kms(&kms_new, "--new-kms-key-id"),
            new_peer: kms(&kms_new),
            old_fails: false,
        }
    };
    let mut cases: Vec<Rotated<'_>> = Vec::new();
    if python {
        cases.push(kms_case("python", "v3-kms", "py-v3-kms", false));
        cases.push(kms_case("python", "v2-kms", "py-v2-kms", true));
    }
    if ruby {
        for instr in [false, true] {
            let sfx = if instr { "-instr" } else { "" };
            let extra = if instr {
                vec!["--instruction-file"]
            } else {
                vec![]
            };
            // (peer options, s3ec's old and new key options, with the old
            // and the new key, per wrap)
            let raw = [
                (
                    "v2-aesgcm",
                    "aes",
                    ["--aes-key-b64".to_string(), b64("old")],
                    ["--aes-key-file".to_string(), path("old.key")],
                    ["--new-aes-key-file".to_string(), path("new.key")],
                    ["--aes-key-b64".to_string(), b64("new")],
                ),
                (
                    "v2-rsaoaep",
                    "rsa",
                    ["--rsa-private-pem".to_string(), path("old.pem")],
                    ["--rsa-key-file".to_string(), path("old.pem")],
                    ["--new-rsa-key-file".to_string(), path("new.pem.pub")],
                    ["--rsa-private-pem".to_string(), path("new.pem")],
                ),
            ];
            for (mode, wrap, old_peer, old, new, new_peer) in raw {
                cases.push(Rotated {
                    peer: "ruby",
                    mode,
                    name: format!("rb-v2-{wrap}{sfx}"),
                    old_peer: old_peer.to_vec(),
                    put_extra: extra.clone(),
                    old: v2(old.to_vec()),
                    new: new.to_vec(),
                    new_peer: new_peer.to_vec(),
                    old_fails: true,
                });
            }
            let mut c = kms_case("ruby", "v2-kmsctx", &format!("rb-v2-kms{sfx}"), true);
            c.put_extra = extra;
            cases.push(c);
        }
    }
    if go {
        cases.push(kms_case("go", "v2-kmsctx", "go-v2-kms", true));
    }
    let plain = path("plain");
    for c in &cases {
        let mut args: Vec<&str> = vec!["--in", &plain];
        args.extend(c.old_peer.iter().map(String::as_str));
        args.extend(c.put_extra.iter().copied());
        let (ok, err) = peer(c.peer, "put", &bucket, &c.name, c.mode, &args);
        assert!(ok, "{} put {}: {err}", c.peer, c.mode);
        let url = format!("s3://{bucket}/{}", c.name);
        let before: serde_json::Value =
            serde_json::from_slice(&s3ec(d, &["inspect", "--json", &url])).unwrap();
        let mut rot: Vec<&str> = vec!["rotate", "--json"];
        rot.extend(c.old.iter().map(String::as_str));
        rot.extend(c.new.iter().map(String::as_str));
        let report = d.join(format!("{}.rotate.jsonl", c.name));
        let report_s = report.display().to_string();
        rot.extend(["--report", &report_s, &url]);
        let _ = s3ec(d, &rot);
        let line: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
        let want = if c.put_extra.contains(&"--instruction-file") {
            "re-encrypted the instruction file"
        } else {
            "rewrapped the metadata envelope"
        };
        assert_eq!(line["action"], want, "{line}");
        let after: serde_json::Value =
            serde_json::from_slice(&s3ec(d, &["inspect", "--json", &url])).unwrap();
        assert_eq!(before["envelope"], after["envelope"], "{}", c.name);
        assert_eq!(before["format"], after["format"], "{}", c.name);
        // (A kms+context envelope names no key: the new KMS key is in the
        // wrapped key's blob, which the peer's get below resolves.)
        assert_eq!(before["wrap"], after["wrap"], "{}", c.name);
        let out = d.join(format!("{}.out", c.name));
        let out_s = out.display().to_string();
        let mut get: Vec<&str> = vec!["--out", &out_s];
        get.extend(c.new_peer.iter().map(String::as_str));
        let (ok, err) = peer(c.peer, "get", &bucket, &c.name, c.mode, &get);
        assert!(ok, "{} get {} after rotation: {err}", c.peer, c.name);
        assert_eq!(std::fs::read(&out).unwrap(), body, "{}", c.name);
        if c.old_fails {
            let mut get: Vec<&str> = vec!["--out", &out_s];
            get.extend(c.old_peer.iter().map(String::as_str));
            let (ok, _) = peer(c.peer, "get", &bucket, &c.name, c.mode, &get);
            assert!(!ok, "{} still opens with the old key", c.name);
        }
    }
}

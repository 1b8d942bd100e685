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
    let mut args = vec!["--key-hex".to_string(), key_hex()];
    args.extend(extra.iter().map(|s| s.to_string()));
    device_run(input, &args, None, presign)
}

/// Run the device program with `args`; `provision` is written to its
/// standard input first (`--provisioned`). Then as [`device_upload`].
fn device_run(
    input: &Path,
    args: &[String],
    provision: Option<&str>,
    presign: impl FnOnce(&[(String, String)], u64) -> String,
) -> (Option<i32>, String) {
    let mut child: Child = Command::new(device_program())
        .args(args)
        .arg("--in")
        .arg(input)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(line) = provision {
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut meta, mut len) = (String::new(), String::new());
    out.read_line(&mut meta).unwrap();
    out.read_line(&mut len).unwrap();
    if meta.is_empty() {
        // The device stopped before its envelope: no URL is asked for.
        let done = child.wait_with_output().unwrap();
        return (
            done.status.code(),
            String::from_utf8_lossy(&done.stderr).into(),
        );
    }
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

/// A new KMS key in moto; its ARN.
fn kms_key(endpoint: &str) -> String {
    use std::io::Read;
    let host = endpoint.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).unwrap();
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

/// Whether AWS's Python client is installed (`interop/peer python`, by
/// `S3EC_INTEROP_PEERS=python interop/setup.sh`). Missing: a note, or a
/// failure under `S3EC_REQUIRE_PEERS=1`.
fn python_available() -> bool {
    let ok = Command::new(s3ec_testkit::workspace_root().join("interop/peer"))
        .args(["python", "modes"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("S3EC_REQUIRE_PEERS").as_deref() != Ok("1"),
            "peer python is not installed (interop/setup.sh)"
        );
        eprintln!("note: peer python is not installed (interop/setup.sh); Python read skipped");
    }
    ok
}

/// AWS's Python client gets `bucket`/`key` from moto into `out` (`mode`
/// `v3-kms` or `v2-kms`, under `arn` with the expected `context`);
/// whether it succeeded, and its stderr.
fn python_get(
    endpoint: &str,
    bucket: &str,
    key: &str,
    mode: &str,
    arn: &str,
    context: &str,
    out: &Path,
) -> (bool, String) {
    let o = Command::new(s3ec_testkit::workspace_root().join("interop/peer"))
        .args(["python", "get", "--endpoint", endpoint, "--bucket", bucket])
        .args(["--key", key, "--mode", mode, "--kms-key-id", arn])
        .args(["--context", context, "--out"])
        .arg(out)
        .env("AWS_ACCESS_KEY_ID", s3ec_testkit::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", s3ec_testkit::SECRET_ACCESS_KEY)
        .env("AWS_REGION", s3ec_testkit::REGION)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A device without KMS access writes `kms+context` objects: its backend
/// asks KMS for one data key per object (the KMS keyring's `on_encrypt`:
/// GenerateDataKey under the object's encryption context), hands the
/// device the plaintext key, KMS's blob and the context, and presigns the
/// device's envelope (checked: KMS unwraps it under that context). The
/// Rust client and AWS's Python client decrypt the objects with KMS, AWS's
/// Ruby client the V2 one; under another expected context all refuse them.
#[test]
fn device_uploads_kms_wrapped_objects_read_by_rust_ruby_and_python() {
    use s3ec_keyring::{Context, EncryptRequest, Keyring, Suite};
    use s3ec_kms::{AwsKms, KmsKeyring};

    let moto = s3ec_testkit::moto();
    let bucket = s3ec_testkit::unique_bucket("presign-kms");
    s3ec_testkit::create_bucket(moto.endpoint(), &bucket).unwrap();
    let backend = common::moto_transport(moto.endpoint());
    let arn = kms_key(moto.endpoint());
    let ring = KmsKeyring::new(
        AwsKms::new(s3ec_testkit::sdk::kms_client(moto.endpoint())),
        arn.clone(),
    )
    .unwrap();
    let client = Client::builder(backend.clone(), ring.clone())
        .commitment_policy(s3ec_client::CommitmentPolicy::RequireEncryptAllowDecrypt)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pt = plaintext(200_003);
    let input = dir.path().join("reading");
    std::fs::write(&input, &pt).unwrap();
    let ctx = Context::from([
        ("device".to_string(), "dev-17".to_string()),
        ("site".to_string(), "north".to_string()),
    ]);
    let ctx_json = serde_json::to_string(&ctx).unwrap();
    let other_ctx = Context::from([("device".to_string(), "dev-18".to_string())]);
    let other_json = serde_json::to_string(&other_ctx).unwrap();

    // The backend: one data key per object, from KMS, for the device.
    let provision = |suite: Suite, stored: Option<&Context>| {
        let made = Keyring::on_encrypt(
            &ring,
            &EncryptRequest {
                suite,
                context: &ctx,
            },
        )
        .unwrap();
        assert_eq!(
            made.encrypted.stored_map["aws:x-amz-cek-alg"],
            suite.cek_alg()
        );
        let key_hex: String = made
            .data_key
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            "{} {key_hex} {} {}",
            made.encrypted.wrap.name(),
            Base64::encode_string(&made.encrypted.ciphertext),
            serde_json::to_string(stored.unwrap_or(&made.encrypted.stored_map)).unwrap()
        )
    };

    let cases = [
        ("dev-17/kms-v3", Suite::AesGcmCommitting, &[][..], "v3-kms"),
        ("dev-17/kms-v2", Suite::AesGcm, &["--v2"][..], "v2-kms"),
    ];
    for (key, suite, extra, _) in cases {
        let mut args = vec!["--provisioned".to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let line = provision(suite, None);
        let (code, err) = device_run(&input, &args, Some(&line), |meta, len| {
            let get = |k: &str| meta.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            let (wrap, stored) = match suite {
                Suite::AesGcmCommitting => (get("x-amz-w"), get("x-amz-t")),
                _ => (get("x-amz-wrap-alg"), get("x-amz-matdesc")),
            };
            assert_eq!(
                wrap,
                Some(if suite == Suite::AesGcm {
                    "kms+context"
                } else {
                    "12"
                })
            );
            let stored: Context = serde_json::from_str(stored.unwrap()).unwrap();
            assert_eq!(stored["device"], "dev-17");
            // Without the context (an empty one expected): refused.
            let refused = client
                .presign_put(&bucket, key, meta, Some(len), Duration::from_secs(300))
                .unwrap_err();
            assert!(
                matches!(refused, s3ec_client::ClientError::Keyring(_)),
                "{refused:?}"
            );
            client
                .presign_put_with_context(
                    &bucket,
                    key,
                    meta,
                    Some(len),
                    Duration::from_secs(300),
                    &ctx,
                )
                .unwrap()
                .url
        });
        assert_eq!(code, Some(0), "{key}: {err}");

        // The Rust client reads it through KMS, under the expected context.
        let mut got = Vec::new();
        client
            .get_object(&bucket, key, &mut got, Some(&ctx))
            .unwrap();
        assert_eq!(got, pt, "{key}");
        // Under another expected context: refused, nothing released.
        let mut sink = Vec::new();
        let refused = client
            .get_object(&bucket, key, &mut sink, Some(&other_ctx))
            .unwrap_err();
        assert!(
            matches!(refused, s3ec_client::ClientError::Keyring(_)),
            "{key}: {refused:?}"
        );
        assert!(sink.is_empty(), "{key}");
    }

    // A device that stores another context than KMS bound: the backend's
    // check (KMS Decrypt under the stored context) refuses to presign.
    let line = provision(
        Suite::AesGcmCommitting,
        Some(&{
            let mut c = ctx.clone();
            c.insert("device".into(), "dev-99".into());
            c.insert("aws:x-amz-cek-alg".into(), "115".into());
            c
        }),
    );
    let (code, _) = device_run(
        &input,
        &["--provisioned".to_string()],
        Some(&line),
        |meta, len| {
            let refused = client
                .presign_put_with_context(
                    &bucket,
                    "dev-99/x",
                    meta,
                    Some(len),
                    Duration::from_secs(300),
                    &ctx,
                )
                .unwrap_err();
            assert!(
                matches!(refused, s3ec_client::ClientError::Keyring(_)),
                "{refused:?}"
            );
            "http://127.0.0.1:9/refused".to_string()
        },
    );
    assert_ne!(code, Some(0));
    // A V3 data key used for a V2 object: the device refuses to write the
    // envelope (the context binds the V3 content cipher), nothing is sent.
    let line = provision(Suite::AesGcmCommitting, None);
    let (code, err) = device_run(
        &input,
        &["--provisioned".to_string(), "--v2".to_string()],
        Some(&line),
        |_, _| panic!("no envelope may be written"),
    );
    assert_eq!(code, Some(2), "{err}");
    let mut sink = Vec::new();
    assert!(client
        .get_object(&bucket, "dev-99/x", &mut sink, None)
        .is_err());

    // AWS's Ruby client (EncryptionV2, kms_context; it reads V2 only) reads
    // the V2 one under its context and refuses it under another.
    if common::ruby_available() {
        let key = "dev-17/kms-v2";
        let out = dir.path().join("rb.out");
        let mode = |c: &str| {
            ["--mode", "v2-kmsctx", "--kms-key-id", &arn, "--context", c].map(String::from)
        };
        common::ruby_get(moto.endpoint(), &bucket, key, &out, &mode(&ctx_json));
        assert_eq!(std::fs::read(&out).unwrap(), pt, "ruby {key}");
        std::fs::remove_file(&out).unwrap();
        let (ok, err) =
            common::ruby_try_get(moto.endpoint(), &bucket, key, &out, &mode(&other_json));
        assert!(!ok, "ruby read {key} under another context");
        assert!(err.contains("ncryption context"), "ruby {key}: {err}");
        assert!(
            std::fs::read(&out).map_or(true, |b| b.is_empty()),
            "ruby released bytes of {key}"
        );
    }

    // AWS's Python client (KMS keyring) reads both, and refuses them under
    // another expected context.
    if !python_available() {
        return;
    }
    for (key, _, _, mode) in cases {
        let out = dir.path().join("py.out");
        let (ok, err) = python_get(moto.endpoint(), &bucket, key, mode, &arn, &ctx_json, &out);
        assert!(ok, "python {mode} {key}: {err}");
        assert_eq!(std::fs::read(&out).unwrap(), pt, "python {key}");
        std::fs::remove_file(&out).unwrap();
        let (ok, err) = python_get(moto.endpoint(), &bucket, key, mode, &arn, &other_json, &out);
        assert!(!ok, "python read {key} under another context");
        assert!(err.contains("encryption context"), "python {key}: {err}");
        assert!(
            std::fs::read(&out).map_or(true, |b| b.is_empty()),
            "python released bytes of {key}"
        );
    }
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

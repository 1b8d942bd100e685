//! The `s3ec` binary run as a user would: against the local folder store
//! and against moto on 127.0.0.1 (S3 and KMS).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_s3ec");

/// A scratch folder and the environment the binary runs in.
struct Env {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Env {
    /// Against a local folder store.
    fn local() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let mut e = Env::bare(dir);
        e.vars
            .push(("S3EC_LOCAL_STORE".into(), store.display().to_string()));
        e
    }

    /// Against moto (S3 and KMS at one endpoint).
    fn moto() -> Env {
        let m = s3ec_testkit::moto();
        let mut e = Env::bare(tempfile::tempdir().unwrap());
        e.vars
            .push(("AWS_ENDPOINT_URL".into(), m.endpoint().into()));
        e
    }

    fn bare(dir: tempfile::TempDir) -> Env {
        let vars = vec![
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_CONFIG_FILE".into(), "/nonexistent/config".into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                "/nonexistent/creds".into(),
            ),
        ];
        Env { dir, vars }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args).current_dir(self.dir.path());
        for k in [
            "S3EC_LOCAL_STORE",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "RUST_LOG",
        ] {
            c.env_remove(k);
        }
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).stdin(Stdio::null()).output().unwrap()
    }

    fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Run and expect success; returns stdout.
    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "s3ec {args:?} failed: {}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    }

    /// Run and expect exit code `code`; returns stderr.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let o = self.run(args);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(code), "s3ec {args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{err}"
        );
        err
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_slice(&self.ok(args)).unwrap()
    }

    fn json_lines(&self, args: &[&str]) -> Vec<Value> {
        String::from_utf8(self.ok(args))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn aes_key(env: &Env) -> String {
    let k = env.path("aes.key");
    if !k.exists() {
        env.ok(&["keygen", "aes", "--out", k.to_str().unwrap()]);
    }
    k.display().to_string()
}

/// A KMS key in moto: a CreateKey call (moto does not check signatures).
fn moto_kms_key() -> String {
    let endpoint = s3ec_testkit::moto().endpoint();
    let host = endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    let body = "{}";
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: TrentService.CreateKey\r\nContent-Length: {}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20200101/us-east-1/kms/aws4_request, \
         SignedHeaders=host, Signature=0\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let json = &out[out.find('{').unwrap()..out.rfind('}').unwrap() + 1];
    let v: Value = serde_json::from_str(json).unwrap();
    v["KeyMetadata"]["Arn"].as_str().unwrap().to_string()
}

fn moto_bucket(prefix: &str) -> String {
    let b = s3ec_testkit::unique_bucket(prefix);
    s3ec_testkit::create_bucket(s3ec_testkit::moto().endpoint(), &b).unwrap();
    b
}

/// Put, ls, inspect, get (file and stdout), rm of one key with `keyopts`.
fn round_trip(env: &Env, bucket: &str, keyopts: &[&str], extra_get: &[&str], size: usize) {
    let body = data(size, 7);
    std::fs::write(env.path("in.bin"), &body).unwrap();
    let url = format!("s3://{bucket}/dir/in.bin");
    let mut up = vec!["cp", "--part-size-mib", "5"];
    up.extend_from_slice(keyopts);
    up.extend_from_slice(&["in.bin", &url]);
    env.ok(&up);

    let info = env.json(&["inspect", "--json", &url]);
    assert_eq!(info["status"], "encrypted");
    assert_eq!(info["format"], "V3");
    assert_eq!(info["key_committing"], true);
    assert_eq!(info["needs"], serde_json::json!([]));

    let ls = env.json_lines(&["ls", "--json", &format!("s3://{bucket}/dir/")]);
    assert_eq!(ls.len(), 1);
    assert_eq!(ls[0]["key"], "dir/in.bin");
    assert_eq!(ls[0]["size"], (size + 16) as u64);
    assert_eq!(ls[0]["status"], "encrypted");

    let mut down = vec!["cp"];
    down.extend_from_slice(keyopts);
    down.extend_from_slice(extra_get);
    down.extend_from_slice(&[&url, "out.bin"]);
    env.ok(&down);
    assert_eq!(std::fs::read(env.path("out.bin")).unwrap(), body);
    let mut to_stdout = vec!["cp"];
    to_stdout.extend_from_slice(keyopts);
    to_stdout.extend_from_slice(extra_get);
    to_stdout.extend_from_slice(&[&url, "-"]);
    assert_eq!(env.ok(&to_stdout), body);

    env.ok(&["rm", &url]);
    env.fails(&["inspect", &url], 3);
}

#[test]
fn local_store_aes_round_trip_multipart_and_stdio() {
    let env = Env::local();
    let key = aes_key(&env);
    round_trip(&env, "bkt", &["--aes-key-file", &key], &[], 12 << 20);
    // stdin -> object -> stdout.
    let body = data(100_000, 1);
    let o = env.run_stdin(
        &["cp", "--aes-key-file", &key, "-", "s3://bkt/piped"],
        &body,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        env.ok(&["cp", "--aes-key-file", &key, "s3://bkt/piped", "-"]),
        body
    );
    // The folder layout is the documented one.
    let store = env.path("store/bkt");
    assert!(store.join("piped").is_file());
    let meta: Value =
        serde_json::from_slice(&std::fs::read(store.join("piped.metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["x-amz-3"].as_str().map(|s| !s.is_empty()), Some(true));
}

#[test]
fn local_store_error_paths_and_exit_codes() {
    let env = Env::local();
    let key = aes_key(&env);
    std::fs::write(env.path("a.txt"), b"attack at dawn").unwrap();
    env.ok(&["cp", "--aes-key-file", &key, "a.txt", "s3://bkt/a.txt"]);
    // Usage: 2.
    env.fails(&["cp", "a.txt", "b.txt"], 2);
    env.fails(&["cp", "a.txt", "s3://bkt/x"], 2); // no key
    env.fails(&["frobnicate"], 2);
    env.fails(&["ls", "not-a-url"], 2);
    // Not found: 3 (object, local file, key file).
    env.fails(
        &["cp", "--aes-key-file", &key, "s3://bkt/missing", "out"],
        3,
    );
    env.fails(
        &["cp", "--aes-key-file", &key, "missing.txt", "s3://bkt/m"],
        3,
    );
    env.fails(&["cp", "--aes-key-file", "nokey", "a.txt", "s3://bkt/m"], 3);
    env.fails(&["rm", "s3://bkt/missing"], 3);
    // Wrong key: 5, and no output file.
    env.ok(&["keygen", "aes", "--out", "other.key"]);
    env.fails(
        &[
            "cp",
            "--aes-key-file",
            "other.key",
            "s3://bkt/a.txt",
            "out.txt",
        ],
        5,
    );
    assert!(!env.path("out.txt").exists());
    // Tampered: 5, nothing left behind, nothing on stdout.
    let p = env.path("store/bkt/a.txt");
    let mut b = std::fs::read(&p).unwrap();
    b[3] ^= 0x40;
    std::fs::write(&p, b).unwrap();
    env.fails(
        &["cp", "--aes-key-file", &key, "s3://bkt/a.txt", "out.txt"],
        5,
    );
    assert!(!env.path("out.txt").exists());
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".s3ec"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let o = env.run(&["cp", "--aes-key-file", &key, "s3://bkt/a.txt", "-"]);
    assert_eq!(o.status.code(), Some(5));
    assert!(o.stdout.is_empty());
    // Not encrypted: 8.
    std::fs::write(env.path("store/bkt/plain.txt"), b"plain").unwrap();
    env.fails(
        &["cp", "--aes-key-file", &key, "s3://bkt/plain.txt", "p"],
        8,
    );
    let info = env.json(&["inspect", "--json", "s3://bkt/plain.txt"]);
    assert_eq!(info["status"], "unencrypted");
    // A key that leaves the store folder.
    env.fails(&["cp", "--aes-key-file", &key, "a.txt", "s3://bkt/../x"], 1);
    // A dry run says what rotation would do and changes nothing.
    let dry = env.ok(&[
        "rotate",
        "--dry-run",
        "--new-aes-key-file",
        "other.key",
        "-r",
        "s3://bkt/",
    ]);
    let dry = String::from_utf8(dry).unwrap();
    assert!(
        dry.contains("would rewrap the metadata envelope  s3://bkt/a.txt"),
        "{dry}"
    );
    assert!(
        dry.contains("skipped: not encrypted  s3://bkt/plain.txt"),
        "{dry}"
    );
    // The rotation itself (of an untampered object): the new key reads,
    // the old one no longer does.
    env.ok(&["cp", "--aes-key-file", &key, "a.txt", "s3://bkt/r.txt"]);
    let out = env.ok(&[
        "rotate",
        "--aes-key-file",
        &key,
        "--new-aes-key-file",
        "other.key",
        "s3://bkt/r.txt",
    ]);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("rewrapped the metadata envelope"), "{out}");
    let back = env.ok(&["cp", "--aes-key-file", "other.key", "s3://bkt/r.txt", "-"]);
    assert_eq!(back, std::fs::read(env.path("a.txt")).unwrap());
    env.fails(&["cp", "--aes-key-file", &key, "s3://bkt/r.txt", "-"], 5);
    // Run again (as after a crash): already under the new key, skipped,
    // not failed, and nothing rewritten.
    let body_before = std::fs::read(env.path("store/bkt/r.txt")).unwrap();
    let out = env.ok(&[
        "rotate",
        "--aes-key-file",
        &key,
        "--new-aes-key-file",
        "other.key",
        "s3://bkt/r.txt",
    ]);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("skipped: already under the new key"), "{out}");
    assert_eq!(
        std::fs::read(env.path("store/bkt/r.txt")).unwrap(),
        body_before
    );
}

#[test]
fn offline_encrypt_decrypt_rsa_with_instruction_file() {
    let env = Env::local();
    env.ok(&["keygen", "rsa", "--bits", "2048", "--out", "rsa.pem"]);
    let pem = std::fs::read_to_string(env.path("rsa.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let public = std::fs::read_to_string(env.path("rsa.pem.pub")).unwrap();
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path("rsa.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Keys are never overwritten.
    env.fails(&["keygen", "rsa", "--out", "rsa.pem"], 2);

    let body = data(70_000, 3);
    std::fs::write(env.path("plain"), &body).unwrap();
    // The public key is enough to encrypt.
    env.ok(&[
        "encrypt",
        "--rsa-key-file",
        "rsa.pem.pub",
        "--instruction-file",
        "--matdesc",
        "owner=edge-7",
        "plain",
        "out/obj",
    ]);
    assert!(env.path("out/obj").is_file());
    assert!(env.path("out/obj.instruction").is_file());
    let meta: Value =
        serde_json::from_slice(&std::fs::read(env.path("out/obj.metadata.json")).unwrap()).unwrap();
    assert!(meta.as_object().unwrap().values().all(Value::is_string));
    env.ok(&["decrypt", "--rsa-key-file", "rsa.pem", "out/obj", "back"]);
    assert_eq!(std::fs::read(env.path("back")).unwrap(), body);
    // The public key cannot decrypt (a usage error); nothing is written.
    env.fails(
        &[
            "decrypt",
            "--rsa-key-file",
            "rsa.pem.pub",
            "out/obj",
            "back2",
        ],
        2,
    );
    assert!(!env.path("back2").exists());
    // Tampered wrapped key in the instruction file: refused, nothing
    // written.
    let ip = env.path("out/obj.instruction");
    let text = std::fs::read_to_string(&ip).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["x-amz-m"].as_str().unwrap().contains("edge-7"), "{v}");
    let edk = v["x-amz-3"].as_str().unwrap().to_string();
    let flipped = if edk.as_bytes()[10] == b'A' { "B" } else { "A" };
    v["x-amz-3"] = Value::String(format!("{}{flipped}{}", &edk[..10], &edk[11..]));
    std::fs::write(&ip, v.to_string()).unwrap();
    env.fails(
        &["decrypt", "--rsa-key-file", "rsa.pem", "out/obj", "back3"],
        5,
    );
    assert!(!env.path("back3").exists());
    // A folder of offline objects is a bucket of the folder store.
    std::fs::write(&ip, text).unwrap();
    std::fs::rename(env.path("out"), env.path("outbox")).unwrap();
    let o = env
        .cmd(&[
            "cp",
            "--rsa-key-file",
            "rsa.pem",
            "s3://outbox/obj",
            "viastore",
        ])
        .env("S3EC_LOCAL_STORE", env.dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(env.path("viastore")).unwrap(), body);
}

#[test]
fn local_store_recursive_both_ways() {
    let env = Env::local();
    let key = aes_key(&env);
    let src = env.path("tree");
    let mut files = Vec::new();
    for i in 0..25 {
        let rel = format!("d{}/sub{}/f{i}.bin", i % 3, i % 2);
        let p = src.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data(1000 + i * 37, i as u8)).unwrap();
        files.push(rel);
    }
    env.ok(&[
        "cp",
        "-r",
        "--concurrency",
        "4",
        "--aes-key-file",
        &key,
        "--instruction-file",
        "tree",
        "s3://bkt/up",
    ]);
    let listed = env.json_lines(&["ls", "-r", "--json", "s3://bkt/up/"]);
    assert_eq!(listed.len(), 50, "25 objects and their instruction files");
    let ls = String::from_utf8(env.ok(&["ls", "s3://bkt/up/"])).unwrap();
    assert!(ls.contains("PRE") && ls.contains("up/d0/"), "{ls}");
    env.ok(&["cp", "-r", "--aes-key-file", &key, "s3://bkt/up/", "back"]);
    for rel in &files {
        assert_eq!(
            std::fs::read(env.path("back").join(rel)).unwrap(),
            std::fs::read(src.join(rel)).unwrap(),
            "{rel}"
        );
    }
    let n = walk_count(&env.path("back"));
    assert_eq!(n, 25, "instruction files are not downloaded as objects");
    env.ok(&["rm", "-r", "s3://bkt/up/"]);
    assert!(env
        .json_lines(&["ls", "-r", "--json", "s3://bkt/"])
        .is_empty());
}

fn walk_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk_count(&e.path())
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn moto_aes_rsa_kms_round_trips() {
    let env = Env::moto();
    let bucket = moto_bucket("cli-keys");
    let key = aes_key(&env);
    round_trip(&env, &bucket, &["--aes-key-file", &key], &[], 6 << 20);
    env.ok(&["keygen", "rsa", "--bits", "2048", "--out", "rsa.pem"]);
    round_trip(&env, &bucket, &["--rsa-key-file", "rsa.pem"], &[], 4000);
    let arn = moto_kms_key();
    round_trip(
        &env,
        &bucket,
        &["--kms-key-id", &arn, "--context", "tenant=acme"],
        &[],
        3000,
    );
    // KMS: a wrong expected context is an authentication failure (5); the
    // discovery keyring reads it with the right context.
    std::fs::write(env.path("k.txt"), b"kms body").unwrap();
    let url = format!("s3://{bucket}/k.txt");
    env.ok(&[
        "cp",
        "--kms-key-id",
        &arn,
        "--context",
        "t=1",
        "k.txt",
        &url,
    ]);
    env.fails(
        &["cp", "--kms-key-id", &arn, "--context", "t=2", &url, "-"],
        5,
    );
    assert_eq!(
        env.ok(&["cp", "--kms-discovery", "--context", "t=1", &url, "-"]),
        b"kms body"
    );
    let info = env.json(&["inspect", "--json", &url]);
    assert_eq!(info["wrap"], "kms+context");
    assert_eq!(info["encryption_context"]["t"], "1");
    // Network failure: 6 (nothing listens there).
    let o = env
        .cmd(&["ls", "s3://b/"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A KMS key that does not exist: not found (3).
    env.fails(
        &[
            "cp",
            "--kms-key-id",
            "alias/does-not-exist",
            "k.txt",
            &format!("s3://{bucket}/z"),
        ],
        3,
    );
    env.fails(&["ls", "s3://no-such-bucket-s3ec/"], 3);
}

/// The V1, V2 and V3 objects AWS's own clients wrote (test-vectors/peers),
/// uploaded as they are, plus a plain object, in `store/<bucket>/`.
fn write_vector_bucket(root: &Path, bucket: &str) -> Vec<(&'static str, &'static str)> {
    let peers = s3ec_testkit::workspace_root().join("test-vectors/peers");
    let cases = [
        ("ruby/interop-ruby-v1-kms-instr-17", "V1"),
        ("ruby/interop-ruby-v1-aesecb-meta-17", "V1"),
        ("python/interop-python-v2-kms-meta-17", "V2"),
        ("ruby/interop-ruby-v2-rsaoaep-instr-17", "V2"),
        ("python/interop-python-v3-kms-meta-17", "V3"),
    ];
    let dir = root.join(bucket);
    std::fs::create_dir_all(&dir).unwrap();
    for (case, _) in cases {
        let src = peers.join(case);
        let c: Value =
            serde_json::from_slice(&std::fs::read(src.join("case.json")).unwrap()).unwrap();
        let name = case.split('/').nth(1).unwrap();
        std::fs::copy(src.join("ciphertext.bin"), dir.join(name)).unwrap();
        std::fs::write(
            dir.join(format!("{name}.metadata.json")),
            c["metadata"].to_string(),
        )
        .unwrap();
        if src.join("instruction.bin").exists() {
            std::fs::copy(
                src.join("instruction.bin"),
                dir.join(format!("{name}.instruction")),
            )
            .unwrap();
        }
    }
    std::fs::write(dir.join("plain.txt"), b"not encrypted").unwrap();
    cases.to_vec()
}

#[test]
fn audit_v1_v2_v3_and_plain_on_moto_after_an_as_is_copy_from_a_folder() {
    let env = Env::moto();
    let bucket = moto_bucket("cli-audit");
    let outbox = env.path("outbox");
    write_vector_bucket(&outbox, "edge");
    // Our own V3 object too.
    let key = aes_key(&env);
    std::fs::write(env.path("mine.txt"), b"mine").unwrap();
    env.ok(&[
        "encrypt",
        "--aes-key-file",
        &key,
        "mine.txt",
        outbox.join("edge/mine").to_str().unwrap(),
    ]);
    // Edge story: the folder copied to S3 as-is, envelopes intact.
    env.ok(&[
        "cp",
        "-r",
        "--source-endpoint-url",
        &format!("file://{}", outbox.display()),
        "s3://edge/",
        &format!("s3://{bucket}/"),
    ]);
    assert_eq!(
        env.ok(&[
            "cp",
            "--aes-key-file",
            &key,
            &format!("s3://{bucket}/mine"),
            "-"
        ]),
        b"mine"
    );
    let s = env.json(&["audit", "--json", "-r", &format!("s3://{bucket}/")]);
    assert_eq!(s["objects"], 9, "{s}");
    assert_eq!(s["by_status"]["encrypted"], 6, "{s}");
    assert_eq!(s["by_status"]["instruction-file"], 2, "{s}");
    assert_eq!(s["by_status"]["unencrypted"], 1, "{s}");
    // The V1 client's kms objects are in the V2 metadata format.
    assert_eq!(s["by_format"]["V1"], 1, "{s}");
    assert_eq!(s["by_format"]["V2"], 3, "{s}");
    assert_eq!(s["by_format"]["V3"], 2, "{s}");
    assert_eq!(s["by_wrap"]["kms+context"], 2, "{s}");
    assert_eq!(s["non_committing"].as_array().unwrap().len(), 4, "{s}");
    assert_eq!(s["unencrypted"][0], format!("s3://{bucket}/plain.txt"));
    let legacy = s["legacy"].to_string();
    assert!(
        legacy.contains("--legacy-unauthenticated-modes"),
        "{legacy}"
    );
    assert!(legacy.contains("--legacy-wrapping-algorithms"), "{legacy}");
    // Text form.
    // Non-ASCII material descriptions survive the copy to S3.
    let ecb = env.json(&[
        "inspect",
        "--json",
        &format!("s3://{bucket}/interop-ruby-v1-aesecb-meta-17"),
    ]);
    let local: Value = serde_json::from_slice(
        &std::fs::read(outbox.join("edge/interop-ruby-v1-aesecb-meta-17.metadata.json")).unwrap(),
    )
    .unwrap();
    let want: Value = serde_json::from_str(local["x-amz-matdesc"].as_str().unwrap()).unwrap();
    assert_eq!(ecb["material_description"], want);
    let text = String::from_utf8(env.ok(&["audit", "-r", &format!("s3://{bucket}/")])).unwrap();
    assert!(text.contains("non-committing (4):"), "{text}");
    // Reading a V2 object without the migration policy says what to pass.
    let v2 = format!("s3://{bucket}/interop-ruby-v2-rsaoaep-instr-17");
    let err = env.fails(&["cp", "--aes-key-file", &key, &v2, "-"], 8);
    assert!(
        err.contains("--commitment-policy require-encrypt-allow-decrypt"),
        "{err}"
    );
}

/// An S3 Inventory manifest (CSV, gzip) listing `keys` of `bucket`.
fn write_inventory(dir: &Path, bucket: &str, keys: &[String]) -> PathBuf {
    use flate2::write::GzEncoder;
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::create_dir_all(dir.join("2026-01-01T00-00Z")).unwrap();
    let mut files = Vec::new();
    for (n, chunk) in keys.chunks(7).enumerate() {
        let name = format!("part-{n}.csv.gz");
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        for k in chunk {
            let enc: String = k
                .bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            writeln!(gz, "\"{bucket}\",\"{enc}\",\"12\"").unwrap();
        }
        std::fs::write(dir.join("data").join(&name), gz.finish().unwrap()).unwrap();
        files.push(serde_json::json!({"key": format!("inv/{bucket}/cfg/data/{name}")}));
    }
    let manifest = serde_json::json!({
        "sourceBucket": bucket,
        "destinationBucket": "arn:aws:s3:::inventory-dest",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size",
        "files": files,
    });
    let p = dir.join("2026-01-01T00-00Z/manifest.json");
    std::fs::write(&p, manifest.to_string()).unwrap();
    p
}

fn report_keys(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn audit_and_rotate_from_an_inventory_in_three_shards_one_killed_and_resumed() {
    let env = Env::local();
    let key = aes_key(&env);
    let src = env.path("src");
    let mut keys = Vec::new();
    for i in 0..40 {
        let rel = format!("f {i}/x+{i}.txt");
        let p = src.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("object {i}")).unwrap();
        keys.push(rel);
    }
    env.ok(&[
        "cp",
        "-r",
        "-q",
        "--aes-key-file",
        &key,
        "src",
        "s3://inv-bkt/",
    ]);
    let manifest = write_inventory(&env.path("inventory"), "inv-bkt", &keys);
    let m = manifest.to_str().unwrap();
    let mut all = Vec::new();
    for i in 0..3 {
        let report = env.path(format!("audit-{i}.jsonl").as_str());
        let shard = format!("{i}/3");
        let args = [
            "audit",
            "--json",
            "--inventory",
            m,
            "--shard",
            &shard,
            "--report",
            report.to_str().unwrap(),
        ];
        if i == 1 {
            // "Kill" shard 1 part-way: its report keeps a few whole lines
            // and a cut one, as a crash leaves it.
            env.ok(&args);
            let text = std::fs::read_to_string(&report).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert!(lines.len() > 3);
            let cut = format!(
                "{}\n{}\n{}",
                lines[0],
                lines[1],
                &lines[2][..lines[2].len() / 2]
            );
            std::fs::write(&report, cut).unwrap();
            assert_eq!(report_keys(&report).len(), 2);
            // Resume: only the missing objects are done, the report ends
            // up whole, every object once.
            let before = lines.len();
            let o = env.run(&args);
            assert!(o.status.success());
            assert!(String::from_utf8_lossy(&o.stderr).contains("resuming: 2 objects"));
            let keys_now = report_keys(&report);
            assert_eq!(keys_now.len(), before);
            // Idempotent: a third run adds nothing.
            env.ok(&args);
            assert_eq!(report_keys(&report).len(), before);
        } else {
            let s: Value = serde_json::from_slice(&env.ok(&args)).unwrap();
            assert_eq!(s["by_format"]["V3"], s["objects"]);
        }
        all.extend(report_keys(&report));
    }
    all.sort();
    let mut want = keys.clone();
    want.sort();
    assert_eq!(
        all, want,
        "the three shards cover every object exactly once"
    );

    // rotate takes the same selection; its dry run reports per shard too.
    let mut rotated = Vec::new();
    for i in 0..3 {
        let report = env.path(format!("rotate-{i}.jsonl").as_str());
        env.ok(&[
            "rotate",
            "--dry-run",
            "--new-aes-key-file",
            &key,
            "--inventory",
            m,
            "--shard",
            &format!("{i}/3"),
            "--report",
            report.to_str().unwrap(),
            "--json",
        ]);
        rotated.extend(report_keys(&report));
    }
    rotated.sort();
    assert_eq!(rotated, want);
}

#[test]
fn verbose_shows_requests_and_help_lists_exit_codes() {
    let env = Env::local();
    let key = aes_key(&env);
    std::fs::write(env.path("a"), b"a").unwrap();
    let o = env.run(&["-v", "cp", "--aes-key-file", &key, "a", "s3://bkt/a"]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("PutObject"), "{err}");
    let help = String::from_utf8(env.ok(&["--help"])).unwrap();
    assert!(help.contains("Exit codes:") && help.contains("5  authentication failed"));
}

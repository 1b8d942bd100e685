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
    s3ec_testkit::create_kms_key(s3ec_testkit::moto().endpoint()).unwrap()
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
    assert!(out.contains("already under the new key"), "{out}");
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
    // rotate to a second KMS key checks the context it is given: none or
    // a wrong one fails (the object stays as it was), the right one
    // rotates, and the new key reads it.
    let arn2 = moto_kms_key();
    let rot = |ctx: Option<&str>| {
        let mut a = vec!["rotate", "--kms-key-id", &arn, "--new-kms-key-id", &arn2];
        if let Some(c) = ctx {
            a.extend(["--context", c]);
        }
        a.push(&url);
        env.run(&a)
    };
    for bad in [None, Some("t=2")] {
        let o = rot(bad);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("encryption context") && err.contains("k.txt"),
            "{err}"
        );
    }
    let o = rot(Some("t=1"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("rewrapped the metadata envelope"));
    assert_eq!(
        env.ok(&["cp", "--kms-key-id", &arn2, "--context", "t=1", &url, "-"]),
        b"kms body"
    );
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

/// The whole lines of a JSON-lines report (a cut last line left out).
fn report_lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

fn report_keys(p: &Path) -> Vec<String> {
    report_lines(p)
        .iter()
        .map(|v| v["key"].as_str().unwrap().to_string())
        .collect()
}

/// Files `src/<name(i)>` for i in 0..n, each "object i", copied encrypted
/// with `key` into `s3://bucket/`; returns the keys.
fn upload_objects(
    env: &Env,
    key: &str,
    bucket: &str,
    n: usize,
    name: impl Fn(usize) -> String,
) -> Vec<String> {
    let src = env.path("src");
    let mut keys = Vec::new();
    for i in 0..n {
        let rel = name(i);
        let p = src.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("object {i}")).unwrap();
        keys.push(rel);
    }
    let dst = format!("s3://{bucket}/");
    env.ok(&["cp", "-r", "-q", "--aes-key-file", key, "src", &dst]);
    keys
}

#[test]
fn audit_and_rotate_from_an_inventory_in_three_shards_one_report_cut_and_resumed() {
    let env = Env::local();
    let key = aes_key(&env);
    let keys = upload_objects(&env, &key, "inv-bkt", 40, |i| format!("f {i}/x+{i}.txt"));
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

/// The schema S3 writes in a Parquet inventory (the manifest's
/// `fileSchema`), with every versioning field.
const PARQUET_SCHEMA: &str = "message s3.inventory {  required binary bucket (STRING);  \
     required binary key (STRING);  optional binary version_id (STRING);  optional boolean \
     is_latest;  optional boolean is_delete_marker;  optional int64 size;  optional int64 \
     last_modified_date (TIMESTAMP(MILLIS,true));  optional binary e_tag (STRING);  optional \
     binary storage_class (STRING);  optional boolean is_multipart_uploaded;}";

/// One row of a Parquet inventory.
#[derive(Clone, Default)]
struct InvRow {
    bucket: String,
    key: String,
    version_id: Option<String>,
    is_latest: Option<bool>,
    delete_marker: bool,
}

fn inv_row(bucket: &str, key: &str) -> InvRow {
    InvRow {
        bucket: bucket.into(),
        key: key.into(),
        is_latest: Some(true),
        ..InvRow::default()
    }
}

/// A Parquet data file as S3 Inventory writes it (alternately Snappy and
/// gzip pages).
fn parquet_file(rows: &[InvRow], gzip: bool) -> Vec<u8> {
    use parquet::basic::{Compression, GzipLevel};
    use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;

    let schema = Arc::new(parquet::schema::parser::parse_message_type(PARQUET_SCHEMA).unwrap());
    let names: Vec<String> = schema
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let codec = if gzip {
        Compression::GZIP(GzipLevel::default())
    } else {
        Compression::SNAPPY
    };
    let props = Arc::new(WriterProperties::builder().set_compression(codec).build());
    let mut buf = Vec::new();
    let mut w = SerializedFileWriter::new(&mut buf, schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut n = 0;
    // Optional columns: the values present and a definition level a row.
    fn opt<T: Clone>(v: Vec<Option<T>>) -> (Vec<T>, Vec<i16>) {
        let defs = v.iter().map(|x| i16::from(x.is_some())).collect();
        (v.into_iter().flatten().collect(), defs)
    }
    while let Some(mut col) = rg.next_column().unwrap() {
        let text = |f: &dyn Fn(&InvRow) -> Option<String>| {
            opt(rows
                .iter()
                .map(|r| f(r).map(|s| ByteArray::from(s.as_str())))
                .collect())
        };
        match names[n].as_str() {
            "bucket" | "key" => {
                let key = names[n] == "key";
                let (v, _) = text(&|r| Some(if key { r.key.clone() } else { r.bucket.clone() }));
                col.typed::<ByteArrayType>()
                    .write_batch(&v, None, None)
                    .unwrap();
            }
            name @ ("version_id" | "e_tag" | "storage_class") => {
                let (v, d) = text(&|r| match name {
                    "version_id" => r.version_id.clone(),
                    "e_tag" => (!r.delete_marker).then(|| "0123456789abcdef".to_string()),
                    _ => (!r.delete_marker).then(|| "STANDARD".to_string()),
                });
                col.typed::<ByteArrayType>()
                    .write_batch(&v, Some(&d), None)
                    .unwrap();
            }
            name @ ("is_latest" | "is_delete_marker" | "is_multipart_uploaded") => {
                let (v, d) = opt(rows
                    .iter()
                    .map(|r| match name {
                        "is_latest" => r.is_latest,
                        "is_delete_marker" => Some(r.delete_marker),
                        _ => Some(false),
                    })
                    .collect());
                col.typed::<BoolType>()
                    .write_batch(&v, Some(&d), None)
                    .unwrap();
            }
            name => {
                let (v, d) = opt(rows
                    .iter()
                    .map(|r| match name {
                        "size" => (!r.delete_marker).then_some(12i64),
                        _ => Some(1_767_225_600_000i64),
                    })
                    .collect());
                col.typed::<Int64Type>()
                    .write_batch(&v, Some(&d), None)
                    .unwrap();
            }
        }
        col.close().unwrap();
        n += 1;
    }
    rg.close().unwrap();
    w.close().unwrap();
    buf
}

fn md5_hex(b: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// A Parquet S3 Inventory as S3 lays it out under `dir`
/// (`inv/SRC/cfg/2026-01-01T00-00Z/manifest.json`, `inv/SRC/cfg/data/*.parquet`),
/// `per_file` rows a data file. Returns the manifest's path and every
/// file's (key under `dir`, bytes).
fn write_parquet_inventory(
    dir: &Path,
    dest: &str,
    rows: &[InvRow],
    per_file: usize,
) -> (PathBuf, Vec<(String, Vec<u8>)>) {
    let base = "inv/src/cfg";
    let mut files = Vec::new();
    let mut listed = Vec::new();
    for (n, chunk) in rows.chunks(per_file).enumerate() {
        let bytes = parquet_file(chunk, n % 2 == 1);
        let key = format!("{base}/data/part-{n}.parquet");
        listed.push(serde_json::json!({
            "key": key,
            "size": bytes.len(),
            "MD5checksum": md5_hex(&bytes),
        }));
        files.push((key, bytes));
    }
    let manifest = serde_json::json!({
        "sourceBucket": rows[0].bucket,
        "destinationBucket": format!("arn:aws:s3:::{dest}"),
        "version": "2016-11-30",
        "creationTimestamp": "1767225600000",
        "fileFormat": "Parquet",
        "fileSchema": PARQUET_SCHEMA,
        "files": listed,
    });
    let mkey = format!("{base}/2026-01-01T00-00Z/manifest.json");
    let text = serde_json::to_vec_pretty(&manifest).unwrap();
    files.push((
        format!("{base}/2026-01-01T00-00Z/manifest.checksum"),
        format!("{}\n", md5_hex(&text)).into_bytes(),
    ));
    files.push((mkey.clone(), text));
    for (k, b) in &files {
        let p = dir.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b).unwrap();
    }
    (dir.join(mkey), files)
}

#[test]
fn audit_from_a_parquet_inventory_in_three_shards_delete_markers_skipped_md5_checked() {
    let env = Env::local();
    let key = aes_key(&env);
    // Parquet keys are not URL-encoded: spaces, '+' and '%' as they are.
    let keys = upload_objects(&env, &key, "pq-bkt", 30, |i| format!("p {i}/x+{i}%20.txt"));
    let mut rows: Vec<InvRow> = keys.iter().map(|k| inv_row("pq-bkt", k)).collect();
    // Delete markers of objects no longer there: nothing to audit.
    for i in 0..5 {
        rows.insert(
            i * 6,
            InvRow {
                delete_marker: true,
                ..inv_row("pq-bkt", &format!("gone/{i}"))
            },
        );
    }
    let (manifest, _) = write_parquet_inventory(&env.path("inventory"), "dest", &rows, 8);
    let m = manifest.to_str().unwrap();
    let mut all = Vec::new();
    for i in 0..3 {
        let report = env.path(&format!("pq-{i}.jsonl"));
        let s = env.json(&[
            "audit",
            "--json",
            "--inventory",
            m,
            "--shard",
            &format!("{i}/3"),
            "--report",
            report.to_str().unwrap(),
        ]);
        assert_eq!(s["by_format"]["V3"], s["objects"], "{s}");
        for r in report_lines(&report) {
            assert_eq!(r["status"], "encrypted", "{r}");
            assert_eq!(r["shard"], format!("{i}/3"));
            all.push(r["key"].as_str().unwrap().to_string());
        }
    }
    all.sort();
    let mut want = keys.clone();
    want.sort();
    assert_eq!(
        all, want,
        "three shards: every object once, no delete marker"
    );

    // A manifest that does not match manifest.checksum is refused.
    let checksum = manifest.with_file_name("manifest.checksum");
    let good = std::fs::read(&checksum).unwrap();
    std::fs::write(&checksum, "0123456789abcdef0123456789abcdef\n").unwrap();
    let err = env.fails(&["audit", "--inventory", m], 5);
    assert!(err.contains("manifest.checksum"), "{err}");
    std::fs::write(&checksum, good).unwrap();
    // A data file that does not match the manifest's MD5 is refused.
    let data = env.path("inventory/inv/src/cfg/data/part-1.parquet");
    let mut bytes = std::fs::read(&data).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 1;
    std::fs::write(&data, &bytes).unwrap();
    let err = env.fails(&["audit", "--inventory", m], 5);
    assert!(
        err.contains("MD5") && err.contains("part-1.parquet"),
        "{err}"
    );
    // Not a Parquet file at all (and no MD5 to catch it first; the
    // manifest edited, so without its checksum file).
    std::fs::remove_file(&checksum).unwrap();
    let mut v: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    v["files"][1].as_object_mut().unwrap().remove("MD5checksum");
    std::fs::write(&data, b"not parquet").unwrap();
    std::fs::write(&manifest, v.to_string()).unwrap();
    let err = env.fails(&["audit", "--inventory", m], 2);
    assert!(err.contains("not an S3 Inventory Parquet file"), "{err}");
    // ORC inventories are not read.
    v["fileFormat"] = "ORC".into();
    std::fs::write(&manifest, v.to_string()).unwrap();
    let err = env.fails(&["audit", "--inventory", m], 7);
    assert!(err.contains("ORC"), "{err}");
}

/// Every version moto holds in `bucket`: (key, version id, is latest,
/// is a delete marker), from an unsigned ListObjectVersions.
fn moto_versions(bucket: &str) -> Vec<(String, String, bool, bool)> {
    let endpoint = s3ec_testkit::moto().endpoint();
    let host = endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    let req =
        format!("GET /{bucket}?versions HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let tag = |block: &str, t: &str| {
        let open = format!("<{t}>");
        let a = block.find(&open).unwrap() + open.len();
        let b = block[a..].find(&format!("</{t}>")).unwrap();
        block[a..a + b].to_string()
    };
    let mut v = Vec::new();
    for (marker, parts) in [
        (false, out.split("<Version>").skip(1).collect::<Vec<_>>()),
        (
            true,
            out.split("<DeleteMarker>").skip(1).collect::<Vec<_>>(),
        ),
    ] {
        for p in parts {
            v.push((
                tag(p, "Key"),
                tag(p, "VersionId"),
                tag(p, "IsLatest") == "true",
                marker,
            ));
        }
    }
    v
}

#[test]
fn audit_and_rotate_a_versioned_bucket_from_a_parquet_inventory_in_s3() {
    let env = Env::moto();
    let endpoint = s3ec_testkit::moto().endpoint().to_string();
    let bucket = moto_bucket("pq-ver");
    s3ec_testkit::enable_versioning(&endpoint, &bucket).unwrap();
    let dest = moto_bucket("pq-dest");
    let key = aes_key(&env);
    let new_key = env.path("new.key");
    env.ok(&["keygen", "aes", "--out", new_key.to_str().unwrap()]);
    std::fs::write(env.path("f"), b"some data").unwrap();
    let url = |k: &str| format!("s3://{bucket}/{k}");
    // a: encrypted, then overwritten in plain text; b: encrypted, then
    // deleted (a delete marker); c: encrypted once.
    env.ok(&["cp", "--aes-key-file", &key, "f", &url("a")]);
    // A plain object goes up as-is from a folder store.
    let outbox = env.path("outbox");
    let from_outbox = format!("file://{}", outbox.display());
    std::fs::create_dir_all(outbox.join("plain")).unwrap();
    std::fs::write(outbox.join("plain/a"), b"some data").unwrap();
    env.ok(&[
        "cp",
        "--source-endpoint-url",
        &from_outbox,
        "s3://plain/a",
        &url("a"),
    ]);
    env.ok(&["cp", "--aes-key-file", &key, "f", &url("b")]);
    env.ok(&["rm", &url("b")]);
    env.ok(&["cp", "--aes-key-file", &key, "f", &url("c")]);
    let versions = moto_versions(&bucket);
    assert_eq!(versions.iter().filter(|v| v.3).count(), 1, "{versions:?}");
    let rows: Vec<InvRow> = versions
        .iter()
        .map(|(k, v, latest, marker)| InvRow {
            bucket: bucket.clone(),
            key: k.clone(),
            version_id: Some(v.clone()),
            is_latest: Some(*latest),
            delete_marker: *marker,
        })
        .collect();
    // The inventory is read from S3, where S3 writes it.
    let (_, files) = write_parquet_inventory(&outbox.join(&dest), &dest, &rows, 3);
    env.ok(&[
        "cp",
        "-r",
        "--source-endpoint-url",
        &from_outbox,
        &format!("s3://{dest}/"),
        &format!("s3://{dest}/"),
    ]);
    let m = format!("s3://{dest}/{}", files.last().unwrap().0);
    let report = env.path("audit.jsonl");
    env.ok(&[
        "audit",
        "--json",
        "--inventory",
        &m,
        "--report",
        report.to_str().unwrap(),
    ]);
    // (key, is latest, `field`) of each report line, sorted; every line
    // names a version moto holds that is not a delete marker.
    let lines = |report: &Path, field: &str| {
        let mut v: Vec<(String, bool, String)> = report_lines(report)
            .iter()
            .map(|r| {
                let ver = r["version_id"].as_str().unwrap();
                assert!(versions.iter().any(|v| v.1 == ver && !v.3), "{r}");
                (
                    r["key"].as_str().unwrap().to_string(),
                    r["is_latest"].as_bool().unwrap(),
                    r[field].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let got = lines(&report, "status");
    let want = |k: &str, l: bool, s: &str| (k.to_string(), l, s.to_string());
    assert_eq!(
        got,
        vec![
            want("a", false, "encrypted"),
            want("a", true, "unencrypted"),
            want("b", false, "encrypted"),
            want("c", true, "encrypted"),
        ]
    );
    // Rotation: only current versions are rewritten.
    let report = env.path("rotate.jsonl");
    env.ok(&[
        "rotate",
        "--aes-key-file",
        &key,
        "--new-aes-key-file",
        new_key.to_str().unwrap(),
        "--inventory",
        &m,
        "--report",
        report.to_str().unwrap(),
    ]);
    let actions = lines(&report, "action");
    assert_eq!(
        actions,
        vec![
            want("a", false, "skipped: not the current version"),
            want("a", true, "skipped: not encrypted"),
            want("b", false, "skipped: not the current version"),
            want("c", true, "rewrapped the metadata envelope"),
        ]
    );
    let out = env.ok(&[
        "cp",
        "--aes-key-file",
        new_key.to_str().unwrap(),
        &url("c"),
        "-",
    ]);
    assert_eq!(out, b"some data");
}

/// `rotate --shard` over a CSV inventory, SIGKILLed part-way (a real
/// crash, not a cut report) and started again: its report ends complete,
/// each object once, none rotated twice, and every object opens with the
/// new key.
#[test]
fn a_rotate_shard_killed_mid_run_resumes_to_a_complete_report() {
    let env = Env::local();
    let key = aes_key(&env);
    let new_key = env.path("new.key");
    env.ok(&["keygen", "aes", "--out", new_key.to_str().unwrap()]);
    let new_key = new_key.to_str().unwrap();
    let mut keys = Vec::new();
    for (dir, n) in [("meta", 240), ("instr", 120)] {
        for i in 0..n {
            let p = env.path(&format!("{dir}/{i:03}"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, data(4096, i as u8)).unwrap();
            keys.push(format!("{dir}/{i:03}"));
        }
    }
    env.ok(&[
        "cp",
        "-r",
        "-q",
        "--aes-key-file",
        &key,
        "meta",
        "s3://kill/meta/",
    ]);
    env.ok(&[
        "cp",
        "-r",
        "-q",
        "--instruction-file",
        "--aes-key-file",
        &key,
        "instr",
        "s3://kill/instr/",
    ]);
    // The inventory lists the instruction files too, as S3's would.
    let mut listed = keys.clone();
    listed.extend((0..120).map(|i| format!("instr/{i:03}.instruction")));
    let manifest = write_inventory(&env.path("inventory"), "kill", &listed);
    let m = manifest.to_str().unwrap();
    let report = env.path("rotate-1.jsonl");
    let r = report.to_str().unwrap();
    let args = [
        "rotate",
        "-q",
        "--aes-key-file",
        &key,
        "--new-aes-key-file",
        new_key,
        "--inventory",
        m,
        "--shard",
        "1/2",
        "--concurrency",
        "2",
        "--report",
        r,
    ];
    // What shard 1 holds, from a dry run.
    let dry = env.path("dry.jsonl");
    let mut dry_args = args.to_vec();
    let last = dry_args.len() - 1;
    dry_args[last] = dry.to_str().unwrap();
    dry_args.insert(1, "--dry-run");
    env.ok(&dry_args);
    let mut want = report_keys(&dry);
    want.sort();
    assert!(want.len() > 100, "{}", want.len());

    let mut child = env
        .cmd(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while report_keys(&report).len() < 20 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        assert!(start.elapsed().as_secs() < 60, "no progress");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    let before = report_keys(&report).len();
    assert!(before < want.len(), "killed after the end ({before})");
    // The window between a rotation's write and its report line is too
    // narrow to hit by timing: rotate two objects the report does not hold
    // yet, as a run killed right after their writes would have left them.
    let reported = report_keys(&report);
    let in_doubt: Vec<String> = ["meta/", "instr/"]
        .iter()
        .map(|d| {
            want.iter()
                .find(|k| k.starts_with(d) && !k.ends_with(".instruction") && !reported.contains(k))
                .unwrap()
                .clone()
        })
        .collect();
    for k in &in_doubt {
        env.ok(&[
            "rotate",
            "-q",
            "--aes-key-file",
            &key,
            "--new-aes-key-file",
            new_key,
            &format!("s3://kill/{k}"),
        ]);
    }

    let o = env.run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let lines = report_lines(&report);
    let mut got: Vec<String> = lines
        .iter()
        .map(|l| l["key"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, want, "the report holds each object of the shard once");
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for l in &lines {
        *counts
            .entry(l["action"].as_str().unwrap().to_string())
            .or_default() += 1;
        assert!(l["error"].is_null(), "{l}");
    }
    let instr = want.iter().filter(|k| k.ends_with(".instruction")).count();
    let rotated = counts
        .get("re-encrypted the instruction file")
        .unwrap_or(&0)
        + counts.get("rewrapped the metadata envelope").unwrap_or(&0)
        + counts.get("already under the new key").unwrap_or(&0);
    assert_eq!(rotated + instr, want.len(), "{counts:?}");
    // The two rotated before the restart are found, not rotated again.
    for k in &in_doubt {
        let l = lines.iter().find(|l| l["key"] == k.as_str()).unwrap();
        assert_eq!(l["action"], "already under the new key", "{l}");
    }
    // (More when the kill itself landed after a write: objects in flight.)
    assert!(counts["already under the new key"] >= 2, "{counts:?}");
    // A third run has nothing left to do.
    env.ok(&args);
    assert_eq!(report_keys(&report).len(), want.len());
    // Every object of the shard opens with the new key only; the others
    // still with the old one.
    for k in keys.iter().step_by(7) {
        let url = format!("s3://kill/{k}");
        let mine = want.contains(k);
        let (good, bad) = if mine {
            (new_key, key.as_str())
        } else {
            (key.as_str(), new_key)
        };
        let body = env.ok(&["cp", "--aes-key-file", good, &url, "-"]);
        assert_eq!(body.len(), 4096, "{k}");
        let o = env.run(&["cp", "--aes-key-file", bad, &url, "-"]);
        assert!(!o.status.success(), "{k} opens with the wrong key");
    }
}

//! Offline `s3ec encrypt` output, uploaded as-is (body with its metadata,
//! instruction file as its own object) with `s3ec cp --source-endpoint-url
//! file://...`, then read by AWS's own Python and Ruby clients through the
//! interop drivers (`interop/peer`, installed by `interop/setup.sh`).
//!
//! And the other way round for key rotation: objects every peer the
//! project drives wrote in its own formats (Python, Ruby, Go v1, Go v4,
//! Java 3.x, 4.x and the Java SDK 1.12's V2 client; each wrap rotation
//! covers that the peer writes, in the object's metadata and in an
//! instruction file where the peer can write one), rotated to a new master
//! key by `s3ec rotate` (instruction file re-encrypted, metadata envelope
//! rewrapped), read back by the peers with the new key only, and opened by
//! neither s3ec nor (where it can tell) the peer with the old key.
//!
//! Runs when the peers are installed; otherwise it says so and passes
//! (`S3EC_REQUIRE_PEERS=1` makes a missing peer a failure, for CI after
//! `interop/setup.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_s3ec");

fn root() -> PathBuf {
    s3ec_testkit::workspace_root()
}

fn peer_available(peer: &str) -> bool {
    peer_modes(peer).is_some()
}

/// What the peer's driver says it can do (`interop/peer PEER modes`), or
/// None when it is not installed (see [`peer_missing`]).
fn peer_modes(peer: &str) -> Option<serde_json::Value> {
    let o = Command::new(root().join("interop/peer"))
        .args([peer, "modes"])
        .output()
        .ok()
        .filter(|o| o.status.success());
    match o {
        Some(o) => Some(serde_json::from_slice(&o.stdout).unwrap()),
        None => {
            peer_missing(peer, "");
            None
        }
    }
}

/// Whether the peer's `modes` lists `mode` under `what` (`put`,
/// `instruction_file_put`, ...).
fn can(modes: &serde_json::Value, what: &str, mode: &str) -> bool {
    modes[what]
        .as_array()
        .is_some_and(|l| l.iter().any(|m| m == mode))
}

/// A peer that is not there: a failure under `S3EC_REQUIRE_PEERS=1`,
/// otherwise a note (and the test goes on without it). Returns false.
fn peer_missing(peer: &str, why: &str) -> bool {
    if std::env::var("S3EC_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("peer {peer} is not installed (run interop/setup.sh){why}");
    }
    eprintln!("note: peer {peer} is not installed (interop/setup.sh); skipping it{why}");
    false
}

fn s3ec(dir: &Path, args: &[&str]) -> Vec<u8> {
    let o = s3ec_run(dir, args);
    assert!(
        o.status.success(),
        "s3ec {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// `s3ec ARGS` against moto, whatever its outcome.
fn s3ec_run(dir: &Path, args: &[&str]) -> std::process::Output {
    let m = s3ec_testkit::moto();
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("S3EC_LOCAL_STORE")
        .env("AWS_ENDPOINT_URL", m.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
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
    peer_via(None, peer, cmd, bucket, key, mode, args)
}

/// [`peer`], a Java peer's call sent to its server in `serve` (see
/// [`JavaServers`]) when given.
fn peer_via(
    serve: Option<&Path>,
    peer: &str,
    cmd: &str,
    bucket: &str,
    key: &str,
    mode: &str,
    args: &[&str],
) -> (bool, String) {
    let m = s3ec_testkit::moto();
    let mut command = Command::new(root().join("interop/peer"));
    if let Some(dir) = serve {
        command.env("S3EC_JAVA_SERVE_DIR", dir);
    }
    let o = command
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
    s3ec_testkit::create_kms_key(s3ec_testkit::moto().endpoint()).unwrap()
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

/// What a rotation test needs: a bucket, a body, and an old and a new
/// master key of each kind (AES and RSA key files from `s3ec keygen`, two
/// moto KMS keys).
struct Fixture {
    dir: tempfile::TempDir,
    bucket: String,
    body: Vec<u8>,
    kms_old: String,
    kms_new: String,
}

impl Fixture {
    fn new(bucket: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let bucket = s3ec_testkit::unique_bucket(bucket);
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
        Fixture {
            dir,
            bucket,
            body,
            kms_old,
            kms_new,
        }
    }

    fn d(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, f: &str) -> String {
        self.d().join(f).display().to_string()
    }

    /// The AES key `old` or `new`, base64.
    fn b64(&self, k: &str) -> String {
        std::fs::read_to_string(self.d().join(format!("{k}.key")))
            .unwrap()
            .trim()
            .to_string()
    }
}

/// The KMS encryption context of the rotation tests, for the peers (JSON)
/// and for s3ec (`K=V`).
const CTX_JSON: &str = "{\"purpose\":\"rotation\"}";
const CTX_KV: &str = "purpose=rotation";

/// A peer-written object rotated by s3ec.
struct Rotated {
    peer: &'static str,
    mode: String,
    name: String,
    /// The peer's put options (the old key).
    old_peer: Vec<String>,
    put_extra: Vec<&'static str>,
    /// s3ec's options for the old key, and `rotate`'s for the new one.
    old: Vec<String>,
    new: Vec<String>,
    /// The peer's get options with the new key.
    new_peer: Vec<String>,
    /// The peer's get options with the old key, which must then fail; None
    /// where the peer cannot tell (see the cases). s3ec itself checks
    /// that the old key no longer opens every object.
    old_get: Option<Vec<String>>,
    /// The wrap after the rotation when it is not the one before: a legacy
    /// wrap is rewrapped with the current one of its kind.
    wrap_after: Option<&'static str>,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

/// s3ec's `--commitment-policy` to read a non-committing object (any mode
/// but `v3-*`).
fn with_policy(mode: &str, mut v: Vec<String>) -> Vec<String> {
    if !mode.starts_with("v3-") {
        v.extend(strings(&[
            "--commitment-policy",
            "require-encrypt-allow-decrypt",
        ]));
    }
    v
}

/// A KMS object (kms+context, context `purpose=rotation`) rotated from the
/// old KMS key to the new one. `checks_key`: the peer's get calls KMS
/// `Decrypt` with its configured key id (moto, as KMS, refuses a key id
/// that is not the blob's), so the peer itself can show that the old key
/// no longer opens the object.
fn kms_case(f: &Fixture, peer: &'static str, mode: &str, name: &str, checks_key: bool) -> Rotated {
    let peer_opts = |id: &str| strings(&["--kms-key-id", id, "--context", CTX_JSON]);
    Rotated {
        peer,
        mode: mode.to_string(),
        name: name.to_string(),
        old_peer: peer_opts(&f.kms_old),
        put_extra: vec![],
        old: with_policy(
            mode,
            strings(&["--kms-key-id", &f.kms_old, "--context", CTX_KV]),
        ),
        new: strings(&["--new-kms-key-id", &f.kms_new]),
        new_peer: peer_opts(&f.kms_new),
        old_get: checks_key.then(|| peer_opts(&f.kms_old)),
        wrap_after: None,
    }
}

/// An AES (`wrap` "aes", AES/GCM) or RSA ("rsa", RSA-OAEP-SHA1) object a
/// Java peer wrote with the material description `{"key": "old"}`, rotated
/// to the new key with `{"key": "new"}`. The negative get gives the old key
/// with the new description, so that only the key differs (java-v1's
/// `StaticEncryptionMaterialsProvider` hands out its key only for the
/// description it was built with).
fn java_raw_case(f: &Fixture, peer: &'static str, mode: &str, name: &str, wrap: &str) -> Rotated {
    let md = |v: &str| format!("{{\"key\":\"{v}\"}}");
    let (peer_flag, old_key, new_key, s3ec_old, s3ec_new) = if wrap == "aes" {
        (
            "--aes-key-b64",
            f.b64("old"),
            f.b64("new"),
            strings(&["--aes-key-file", &f.path("old.key")]),
            strings(&["--new-aes-key-file", &f.path("new.key")]),
        )
    } else {
        (
            "--rsa-private-pem",
            f.path("old.pem"),
            f.path("new.pem"),
            strings(&["--rsa-key-file", &f.path("old.pem")]),
            strings(&["--new-rsa-key-file", &f.path("new.pem.pub")]),
        )
    };
    let mut new = s3ec_new;
    new.extend(strings(&["--new-matdesc", "key=new"]));
    Rotated {
        peer,
        mode: mode.to_string(),
        name: name.to_string(),
        old_peer: strings(&[peer_flag, &old_key, "--matdesc", &md("old")]),
        put_extra: vec![],
        old: with_policy(mode, s3ec_old),
        new,
        new_peer: strings(&[peer_flag, &new_key, "--matdesc", &md("new")]),
        old_get: Some(strings(&[peer_flag, &old_key, "--matdesc", &md("new")])),
        wrap_after: None,
    }
}

/// The peer puts the object with the old key; `s3ec rotate` rotates it
/// (and reports what it did; the envelope stays where it was, in the same
/// format and wrap); the peer reads it back with the new key; neither s3ec
/// nor (where it can tell) the peer opens it with the old key any more.
fn rotate_and_read(f: &Fixture, serve: Option<&Path>, c: &Rotated) {
    let d = f.d();
    let bucket = f.bucket.as_str();
    let plain = f.path("plain");
    let mut args: Vec<&str> = vec!["--in", &plain];
    args.extend(c.old_peer.iter().map(String::as_str));
    args.extend(c.put_extra.iter().copied());
    let (ok, err) = peer_via(serve, c.peer, "put", bucket, &c.name, &c.mode, &args);
    assert!(ok, "{} put {} {}: {err}", c.peer, c.mode, c.name);
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
    assert_eq!(line["action"], want, "{} {line}", c.name);
    let after: serde_json::Value =
        serde_json::from_slice(&s3ec(d, &["inspect", "--json", &url])).unwrap();
    assert_eq!(before["envelope"], after["envelope"], "{}", c.name);
    assert_eq!(before["format"], after["format"], "{}", c.name);
    // (A kms+context envelope names no key: the new KMS key is in the
    // wrapped key's blob, which the peer's get below resolves.)
    match c.wrap_after {
        None => assert_eq!(before["wrap"], after["wrap"], "{}", c.name),
        Some(w) => {
            assert_ne!(before["wrap"], w, "{}", c.name);
            assert_eq!(after["wrap"], w, "{}", c.name);
        }
    }
    let out = d.join(format!("{}.out", c.name));
    let out_s = out.display().to_string();
    let mut get: Vec<&str> = vec!["--out", &out_s];
    get.extend(c.new_peer.iter().map(String::as_str));
    let (ok, err) = peer_via(serve, c.peer, "get", bucket, &c.name, &c.mode, &get);
    assert!(ok, "{} get {} after rotation: {err}", c.peer, c.name);
    assert_eq!(std::fs::read(&out).unwrap(), f.body, "{}", c.name);
    // The old key no longer opens it: s3ec with the old key only...
    let stale = d.join(format!("{}.stale", c.name));
    let stale_s = stale.display().to_string();
    let mut cp: Vec<&str> = vec!["cp"];
    cp.extend(c.old.iter().map(String::as_str));
    cp.extend([url.as_str(), stale_s.as_str()]);
    let o = s3ec_run(d, &cp);
    assert!(
        !o.status.success(),
        "s3ec opens {} with the old key",
        c.name
    );
    assert!(!stale.exists(), "{}: a refused get left a file", c.name);
    // ...and the peer, where it can tell.
    if let Some(old_get) = &c.old_get {
        let refused = d.join(format!("{}.refused", c.name));
        let refused_s = refused.display().to_string();
        let mut get: Vec<&str> = vec!["--out", &refused_s];
        get.extend(old_get.iter().map(String::as_str));
        let (ok, err) = peer_via(serve, c.peer, "get", bucket, &c.name, &c.mode, &get);
        assert!(!ok, "{} still opens {} with the old key", c.peer, c.name);
        assert!(err.contains("peer-error"), "{} {}: {err}", c.peer, c.name);
    }
    eprintln!(
        "{} {} ({}): rotated, read with the new key, refused with the old one{}",
        c.peer,
        c.mode,
        c.name,
        if c.old_get.is_some() {
            ""
        } else {
            " (by s3ec)"
        }
    );
}

#[test]
fn objects_the_peers_wrote_rotated_by_s3ec_are_read_by_the_peers_with_the_new_key() {
    let python = peer_available("python");
    let ruby = peer_available("ruby");
    let go = peer_available("go");
    if !python && !ruby && !go {
        return;
    }
    let f = Fixture::new("cli-rot-peers");
    let mut cases: Vec<Rotated> = Vec::new();
    if python {
        // Python's KmsKeyring calls Decrypt with its key id.
        cases.push(kms_case(&f, "python", "v3-kms", "py-v3-kms", true));
        cases.push(kms_case(&f, "python", "v2-kms", "py-v2-kms", true));
    }
    if ruby {
        for instr in [false, true] {
            let sfx = if instr { "-instr" } else { "" };
            let extra = if instr {
                vec!["--instruction-file"]
            } else {
                vec![]
            };
            // (mode, wrap, peer's option, s3ec's old and new key options)
            let raw = [
                (
                    "v2-aesgcm",
                    "aes",
                    "--aes-key-b64",
                    (f.b64("old"), f.b64("new")),
                    ["--aes-key-file", "old.key"],
                    ["--new-aes-key-file", "new.key"],
                ),
                (
                    "v2-rsaoaep",
                    "rsa",
                    "--rsa-private-pem",
                    (f.path("old.pem"), f.path("new.pem")),
                    ["--rsa-key-file", "old.pem"],
                    ["--new-rsa-key-file", "new.pem.pub"],
                ),
            ];
            for (mode, wrap, flag, (old_key, new_key), old, new) in raw {
                let old_peer = strings(&[flag, &old_key]);
                cases.push(Rotated {
                    peer: "ruby",
                    mode: mode.to_string(),
                    name: format!("rb-v2-{wrap}{sfx}"),
                    old_peer: old_peer.clone(),
                    put_extra: extra.clone(),
                    old: with_policy(mode, strings(&[old[0], &f.path(old[1])])),
                    new: strings(&[new[0], &f.path(new[1])]),
                    new_peer: strings(&[flag, &new_key]),
                    old_get: Some(old_peer),
                    wrap_after: None,
                });
            }
            // Ruby's kms+context get cannot name its key (Debian's
            // aws-sdk-kms 1.24.0 has no KeyId on Decrypt, the driver reads
            // with kms_allow_decrypt_with_any_cmk: interop/README.md).
            let mut c = kms_case(&f, "ruby", "v2-kmsctx", &format!("rb-v2-kms{sfx}"), false);
            c.put_extra = extra;
            cases.push(c);
        }
    }
    if go {
        // s3crypto's RegisterKMSContextWrapWithCMK calls Decrypt with its
        // key id (kms_context_key_handler.go).
        cases.push(kms_case(&f, "go", "v2-kmsctx", "go-v2-kms", true));
    }
    for c in &cases {
        rotate_and_read(&f, None, c);
    }
}

/// How long a Java peer's JVM may take to listen (4 to 8 s on a quiet
/// machine; a guard against a hang, not a measurement).
const JAVA_START_TIMEOUT: Duration = Duration::from_secs(300);

/// The Java peers' long-lived JVMs for one test: `interop/peer PEER serve
/// SOCKET`, one per peer, as `cargo xtask interop` runs them
/// (xtask/src/interop/java.rs) but owned by the test, because CI runs this
/// test after `cargo xtask interop` has stopped its own. A driver call sent
/// there (`S3EC_JAVA_SERVE_DIR`) costs a socket round trip instead of a JVM
/// start. Killed when dropped.
struct JavaServers {
    dir: tempfile::TempDir,
    children: Mutex<Vec<(&'static str, Child)>>,
}

impl JavaServers {
    fn start(peers: &[&'static str]) -> JavaServers {
        let dir = tempfile::tempdir().unwrap();
        let mut children = Vec::new();
        for &p in peers {
            let log = std::fs::File::create(dir.path().join(format!("{p}.log"))).unwrap();
            let child = Command::new("bash")
                .arg(root().join("interop/peer"))
                .args([p, "serve"])
                .arg(dir.path().join(format!("{p}.sock")))
                .current_dir(root())
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_REGION", "us-east-1")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            children.push((p, child));
        }
        JavaServers {
            dir,
            children: Mutex::new(children),
        }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Wait until `peer`'s server listens; false (see [`peer_missing`]) when
    /// it exited instead, e.g. because the peer is not built.
    fn ready(&self, peer: &str) -> bool {
        let sock = self.dir().join(format!("{peer}.sock"));
        let started = Instant::now();
        while !sock.exists() {
            let exited = {
                let mut children = self.children.lock().unwrap();
                let (_, child) = children.iter_mut().find(|(p, _)| *p == peer).unwrap();
                child.try_wait().unwrap()
            };
            if let Some(status) = exited {
                let log = std::fs::read_to_string(self.dir().join(format!("{peer}.log")))
                    .unwrap_or_default();
                return peer_missing(peer, &format!(": its server exited ({status}): {log}"));
            }
            assert!(
                started.elapsed() < JAVA_START_TIMEOUT,
                "the {peer} server did not listen within {JAVA_START_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }
}

impl Drop for JavaServers {
    fn drop(&mut self) {
        let children = self.children.get_mut().unwrap_or_else(|e| e.into_inner());
        for (_, child) in children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// java-v1's deprecated AmazonS3EncryptionClient in AuthenticatedEncryption
/// (`v1-ae-*`): AES/GCM content under the legacy wraps AESWrap,
/// RSA-OAEP-SHA-256 and `kms` (context `{"kms_cmk_id": key}`), in the
/// metadata and in an instruction file. s3ec unwraps them with
/// `--legacy-wrapping-algorithms` and rewraps the data key with the current
/// wrap of the same kind (AES/GCM, RSA-OAEP-SHA1, kms+context), which the
/// same deprecated client reads. (`v1-sae-*` writes what `v1-ae-*` writes.)
fn java_v1_legacy_cases(f: &Fixture) -> Vec<Rotated> {
    let legacy = ["--legacy-wrapping-algorithms"];
    let mut cases = Vec::new();
    for instr in [false, true] {
        let sfx = if instr { "-instr" } else { "" };
        for (wrap, after) in [
            ("aes", "AES/GCM"),
            ("rsa", "RSA-OAEP-SHA1"),
            ("kms", "kms+context"),
        ] {
            let mode = format!("v1-ae-{wrap}");
            let name = format!("jv1-{mode}{sfx}");
            let mut c = if wrap == "kms" {
                let peer_opts = |id: &str| strings(&["--kms-key-id", id]);
                Rotated {
                    peer: "java-v1",
                    mode: mode.clone(),
                    name,
                    old_peer: peer_opts(&f.kms_old),
                    put_extra: vec![],
                    old: with_policy(&mode, peer_opts(&f.kms_old)),
                    new: strings(&["--new-kms-key-id", &f.kms_new]),
                    new_peer: peer_opts(&f.kms_new),
                    // The SDK 1.12 clients' KMS materials call Decrypt with
                    // their key id.
                    old_get: Some(peer_opts(&f.kms_old)),
                    wrap_after: None,
                }
            } else {
                java_raw_case(f, "java-v1", &mode, &name, wrap)
            };
            c.old.extend(strings(&legacy));
            c.wrap_after = Some(after);
            if instr {
                c.put_extra = vec!["--instruction-file"];
            }
            cases.push(c);
        }
    }
    cases
}

/// The same with the peers that live in their own runtimes: Go v4
/// (amazon-s3-encryption-client-go) and Java (amazon-s3-encryption-client-java
/// 3.5.0 and 4.0.1, the AWS SDK for Java 1.12's V2 client), each peer's
/// cases in a thread of its own.
#[test]
fn objects_go_v4_and_java_wrote_rotated_by_s3ec_are_read_by_them_with_the_new_key() {
    // What each installed peer can do (`modes`; a missing peer is noted,
    // or a failure under S3EC_REQUIRE_PEERS=1).
    let modes: Vec<(&'static str, serde_json::Value)> = ["go-v4", "java3", "java4", "java-v1"]
        .into_iter()
        .filter_map(|p| peer_modes(p).map(|m| (p, m)))
        .collect();
    if modes.is_empty() {
        return;
    }
    if let Some((_, m)) = modes.iter().find(|(p, _)| *p == "go-v4") {
        assert!(
            m["instruction_file_put"].as_array().unwrap().is_empty(),
            "go-v4 writes instruction files now: rotate them here too"
        );
    }
    // The JVMs start first (seconds each); the keys are made meanwhile.
    let java_peers: Vec<&'static str> = modes
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| p.starts_with("java"))
        .collect();
    let java = JavaServers::start(&java_peers);
    let f = Fixture::new("cli-rot-peers-jvm");
    let mut groups: Vec<(&'static str, Vec<Rotated>)> = Vec::new();
    // go-v4 (v4.0.0) writes KMS objects in their metadata only: its
    // materials package has no raw-key keyring (materials/kms_keyring.go's
    // NewKmsKeyring and NewKmsDecryptOnlyAnyKeyKeyring are its keyrings), and
    // its put always saves with internal.ObjectMetadataSaveStrategy
    // (client/encrypt_middleware.go; the instruction-file strategy exists
    // for gets only). Its KmsKeyring calls Decrypt with its key id
    // (commonDecrypt in materials/kms_keyring.go).
    groups.push((
        "go-v4",
        vec![
            kms_case(&f, "go-v4", "v3-kms", "gov4-v3-kms", true),
            kms_case(&f, "go-v4", "v2-kms", "gov4-v2-kms", true),
        ],
    ));
    // The Java peers, every wrap rotation covers (AES/GCM, RSA-OAEP-SHA1,
    // kms+context), in the object's metadata and in an instruction file
    // (java3/java4: InstructionFileConfig.enableInstructionFilePutObject;
    // java-v1: CryptoStorageMode.InstructionFile). java3 (3.5.0, the newest
    // 3.x on Maven Central) has no CommitmentPolicy or encryptionAlgorithm
    // and writes V2 only: no v3 modes (its driver exits 3 for them).
    // java-v1's deprecated AmazonS3EncryptionClient: its v1-eo-* modes
    // write AES/CBC content, which rotation refuses (UnsupportedSuite: re-
    // encrypt those with a get and a put); its v1-ae-* modes, below.
    for (peer, prefix, versions) in [
        ("java3", "j3", &["v2"][..]),
        ("java4", "j4", &["v3", "v2"][..]),
        ("java-v1", "jv1", &["v2"][..]),
    ] {
        let mut cases = Vec::new();
        for v in versions {
            for instr in [false, true] {
                for wrap in ["aes", "rsa", "kms"] {
                    let mode = format!("{v}-{wrap}");
                    let name = format!("{prefix}-{mode}{}", if instr { "-instr" } else { "" });
                    // Java's KmsKeyring (3.x, 4.x) and the SDK 1.12 V2
                    // client's KMS materials call Decrypt with their key id.
                    let mut c = if wrap == "kms" {
                        kms_case(&f, peer, &mode, &name, true)
                    } else {
                        java_raw_case(&f, peer, &mode, &name, wrap)
                    };
                    if instr {
                        c.put_extra = vec!["--instruction-file"];
                    }
                    cases.push(c);
                }
            }
        }
        if peer == "java-v1" {
            cases.extend(java_v1_legacy_cases(&f));
        }
        groups.push((peer, cases));
    }
    let (f, java, modes) = (&f, &java, &modes);
    std::thread::scope(|s| {
        for (peer, cases) in &groups {
            s.spawn(move || {
                let Some((_, modes)) = modes.iter().find(|(p, _)| p == peer) else {
                    return;
                };
                let java_peer = peer.starts_with("java");
                if java_peer && !java.ready(peer) {
                    return;
                }
                // Every case is one the driver says the peer can do.
                for c in cases {
                    let what = if c.put_extra.contains(&"--instruction-file") {
                        "instruction_file_put"
                    } else {
                        "put"
                    };
                    assert!(can(modes, what, &c.mode), "{peer} {what} {}", c.mode);
                }
                let serve = java_peer.then(|| java.dir());
                for c in cases {
                    rotate_and_read(f, serve, c);
                }
            });
        }
    });
}

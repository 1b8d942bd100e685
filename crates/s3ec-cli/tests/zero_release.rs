//! The zero-release harness at the command line (issue 14; the library
//! paths are in `crates/s3ec-hardening`): every vector case with an AES or
//! RSA key (KMS cases need real KMS here; the client paths the CLI calls
//! run them in s3ec-hardening) through `s3ec decrypt` offline — to a new
//! file, over an existing file, to stdout — and `s3ec cp s3://… FILE`
//! against the folder store, with every legacy mode on and the most
//! permissive commitment policy. A negative case must fail, print nothing
//! on stdout, leave no file (no `.s3ec-partial-*` either) and an existing
//! destination untouched; a positive case must give its plaintext.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use s3ec_hardening::vectors::{self, Case};

const BIN: &str = env!("CARGO_BIN_EXE_s3ec");
const SENTINEL: &[u8] = b"an existing file the command must leave alone";

fn run(dir: &Path, args: &[String]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).current_dir(dir).stdin(Stdio::null());
    for k in [
        "S3EC_LOCAL_STORE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_PROFILE",
        "RUST_LOG",
    ] {
        c.env_remove(k);
    }
    c.env("AWS_EC2_METADATA_DISABLED", "true");
    c.output().unwrap()
}

fn policy(c: &Case, key_path: &Path, flag: &str) -> Vec<String> {
    let mut a = vec![
        flag.to_string(),
        key_path.display().to_string(),
        "--legacy-wrapping-algorithms".into(),
        "--legacy-unauthenticated-modes".into(),
        "--commitment-policy".into(),
        "forbid-encrypt-allow-decrypt".into(),
    ];
    for (k, v) in c.context.iter().flatten() {
        a.push("--context".into());
        a.push(format!("{k}={v}"));
    }
    a
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Judge one run writing to `out` in the empty folder `outdir`.
fn judge(c: &Case, what: &str, o: &Output, outdir: &Path, out: &Path, existing: bool) {
    let id = format!("{what} {}", c.id);
    let stderr = String::from_utf8_lossy(&o.stderr);
    match &c.plaintext {
        Some(pt) => {
            assert!(o.status.success(), "{id}: failed: {stderr}");
            assert!(std::fs::read(out).unwrap() == *pt, "{id}: wrong plaintext");
        }
        None => {
            assert!(!o.status.success(), "{id}: a negative case was accepted");
            assert!(
                o.stdout.is_empty(),
                "{id}: printed {} bytes",
                o.stdout.len()
            );
            if existing {
                assert_eq!(
                    std::fs::read(out).unwrap(),
                    SENTINEL,
                    "{id}: the file changed"
                );
                assert_eq!(files(outdir).len(), 1, "{id}: {:?}", files(outdir));
            } else {
                assert!(
                    files(outdir).is_empty(),
                    "{id}: left {:?} ({stderr})",
                    files(outdir)
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(outdir);
    std::fs::create_dir_all(outdir).unwrap();
}

/// Run case `i` every way; returns the number of runs.
fn one(c: &Case, i: usize, root: &Path, outdir: &Path) -> usize {
    let (input, store) = (root.join("in"), root.join("store"));
    let Some((flag, key_text)) = c.key_file() else {
        return 0;
    };
    let mut runs = 0;
    let key_path = root.join(format!("key-{i}"));
    std::fs::write(&key_path, &key_text).unwrap();
    let opts = policy(c, &key_path, flag);
    let meta = serde_json::to_string(
        &c.metadata
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect::<serde_json::Map<_, _>>(),
    )
    .unwrap();
    // The offline trio: IN, IN.metadata.json, IN.instruction.
    let obj = input.join(format!("c{i}"));
    std::fs::write(&obj, &c.ciphertext).unwrap();
    std::fs::write(input.join(format!("c{i}.metadata.json")), &meta).unwrap();
    if let Some(f) = &c.instruction {
        std::fs::write(input.join(format!("c{i}.instruction")), f).unwrap();
    }
    let out = outdir.join("plain");
    let decrypt = |to: &str| {
        let mut a = vec!["decrypt".to_string()];
        a.extend(opts.iter().cloned());
        a.push(obj.display().to_string());
        a.push(to.to_string());
        run(root, &a)
    };
    let o = decrypt(&out.display().to_string());
    judge(c, "decrypt", &o, outdir, &out, false);
    runs += 1;
    if c.is_negative() {
        std::fs::write(&out, SENTINEL).unwrap();
        let o = decrypt(&out.display().to_string());
        judge(c, "decrypt over a file", &o, outdir, &out, true);
        let o = decrypt("-");
        assert!(
            !o.status.success() && o.stdout.is_empty(),
            "decrypt - {}",
            c.id
        );
        runs += 2;
    }
    // The folder store (metadata keys that differ only in case cannot be
    // stored, as in S3).
    if c.has_case_duplicates() {
        return runs;
    }
    let bucket = store.join("zero-release");
    let key = format!("c{i}");
    std::fs::write(bucket.join(&key), &c.ciphertext).unwrap();
    std::fs::write(bucket.join(format!("{key}.metadata.json")), &meta).unwrap();
    if let Some(f) = &c.instruction {
        std::fs::write(bucket.join(format!("{key}.instruction")), f).unwrap();
    }
    let mut a = vec![
        "cp".to_string(),
        "--endpoint-url".into(),
        format!("file://{}", store.display()),
    ];
    a.extend(opts.iter().cloned());
    a.push(format!("s3://zero-release/{key}"));
    a.push(out.display().to_string());
    let o = run(root, &a);
    judge(c, "cp", &o, outdir, &out, false);
    runs + 1
}

#[test]
fn the_cli_releases_nothing_unauthenticated() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for d in ["in", "store/zero-release", "out-0", "out-1"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let cases = vectors::all().unwrap();
    let negative = cases
        .iter()
        .filter(|c| c.is_negative() && c.key_file().is_some())
        .count();
    // Two at a time (each process is short; the machine has two cores).
    let runs: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let (cases, outdir) = (&cases, root.join(format!("out-{t}")));
                s.spawn(move || {
                    cases
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % 2 == t)
                        .map(|(i, c)| one(c, i, root, &outdir))
                        .sum::<usize>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    eprintln!("cli: {runs} runs, {negative} negative cases");
    assert!(negative >= 50, "only {negative} negative AES/RSA cases");
}

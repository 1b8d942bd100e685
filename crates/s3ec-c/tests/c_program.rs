//! The C ABI from C: `tests/c/s3ec_file.c` is compiled with the system C
//! compiler (`cc`, or `$CC`) against `include/s3ec.h` and linked with the
//! static library `libs3ec_c.a` this test run built; its objects are read
//! by the Rust client (`s3ec-client` with `s3ec-local`'s keyrings, over
//! `s3ec-fs`: the layout `s3ec encrypt`/`decrypt` use too), and it reads
//! what the Rust client wrote, refusing what was tampered with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use s3ec_client::{Client, CommitmentPolicy, PutOptions};

mod common;
use s3ec_fs::FsStore;
use s3ec_local::AesKeyring;

const KEY: [u8; 32] = [0x5a; 32];
const BUCKET: &str = "device";

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The static library cargo built for this test run: `libs3ec_c-*.a`
/// beside the test binary, the newest of those built with the same
/// features (with `rsa` or without).
fn static_lib() -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let mut libs: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&deps)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p.file_name()?.to_str()?;
            if !(name.starts_with("libs3ec_c-") && name.ends_with(".a")) {
                return None;
            }
            Some((p.metadata().ok()?.modified().ok()?, p))
        })
        .collect();
    libs.sort();
    let want_rsa = cfg!(feature = "rsa");
    libs.into_iter()
        .rev()
        .map(|(_, p)| p)
        .find(|p| {
            let bytes = std::fs::read(p).unwrap();
            let has_rsa = bytes
                .windows(b"s3ec_encrypt_init_rsa".len())
                .any(|w| w == b"s3ec_encrypt_init_rsa");
            has_rsa == want_rsa
        })
        .unwrap_or_else(|| panic!("no libs3ec_c-*.a in {}", deps.display()))
}

/// The C program, compiled once per test run.
fn program() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "s3ec_file{}",
            if cfg!(feature = "rsa") { "-rsa" } else { "" }
        ));
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let mut cmd = Command::new(cc);
        cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1"])
            .arg("-I")
            .arg(crate_dir().join("include"));
        if cfg!(feature = "rsa") {
            cmd.arg("-DS3EC_RSA");
        }
        let run = cmd
            .arg(crate_dir().join("tests/c/s3ec_file.c"))
            .arg(static_lib())
            .args(["-lpthread", "-ldl", "-lm", "-o"])
            .arg(&out)
            .output()
            .expect("run the C compiler (cc)");
        assert!(
            run.status.success(),
            "cc failed:\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        out
    })
}

fn c(args: &[&str], files: &[&Path]) -> Output {
    let mut cmd = Command::new(program());
    cmd.args(&args[..2]).args(files).args(&args[2..]);
    cmd.output().unwrap()
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 977) as u8).collect()
}

fn client(root: &Path, policy: CommitmentPolicy) -> Client {
    Client::builder(FsStore::new(root).unwrap(), AesKeyring::new(&KEY).unwrap())
        .commitment_policy(policy)
        .build()
        .unwrap()
}

fn read_back(root: &Path, key: &str, policy: CommitmentPolicy) -> Vec<u8> {
    let mut got = Vec::new();
    client(root, policy)
        .get_object(BUCKET, key, &mut got, None)
        .unwrap();
    got
}

#[test]
fn c_writes_the_rust_client_reads() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    let hex = hex_key();
    // (options, plaintext length, reader's policy)
    let cases: [(&[&str], usize, CommitmentPolicy); 6] = [
        (&[], 100_000, CommitmentPolicy::RequireEncryptRequireDecrypt),
        (&[], 0, CommitmentPolicy::RequireEncryptRequireDecrypt),
        (
            &["--instruction-file"],
            4097,
            CommitmentPolicy::RequireEncryptRequireDecrypt,
        ),
        (
            &["--matdesc", r#"{"device":"d-17","site":"Zürich"}"#],
            12_345,
            CommitmentPolicy::RequireEncryptRequireDecrypt,
        ),
        (
            &["--v2"],
            70_000,
            CommitmentPolicy::ForbidEncryptAllowDecrypt,
        ),
        (
            &["--v2", "--instruction-file", "--matdesc", r#"{"a":"b"}"#],
            1,
            CommitmentPolicy::ForbidEncryptAllowDecrypt,
        ),
    ];
    for (i, (opts, len, policy)) in cases.into_iter().enumerate() {
        let pt = plaintext(len);
        let input = dir.path().join(format!("in{i}"));
        std::fs::write(&input, &pt).unwrap();
        let key = format!("obj{i}");
        let out_path = root.join(BUCKET).join(&key);
        let mut args = vec!["encrypt", hex.as_str()];
        args.extend_from_slice(opts);
        let run = c(&args, &[&input, &out_path]);
        assert!(
            run.status.success(),
            "{opts:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(std::fs::metadata(&out_path).unwrap().len(), len as u64 + 16);
        assert_eq!(read_back(&root, &key, policy), pt, "{opts:?}");
        if i == 0 {
            // A local folder cannot presign a PUT: refused as unsupported,
            // after the envelope was checked.
            let meta = s3ec_fs::metadata_from_json(
                &std::fs::read_to_string(root.join(BUCKET).join("obj0.metadata.json")).unwrap(),
            )
            .unwrap();
            let err = client(&root, policy)
                .presign_put(
                    BUCKET,
                    &key,
                    &meta,
                    None,
                    std::time::Duration::from_secs(60),
                )
                .unwrap_err();
            assert!(
                matches!(&err, s3ec_client::ClientError::Transport(e)
                    if e.kind == s3ec_client::transport::ErrorKind::Unsupported),
                "{err:?}"
            );
        }
        // And the C program reads its own object.
        let back = dir.path().join(format!("back{i}"));
        let mut dargs = vec!["decrypt", hex.as_str()];
        if opts.contains(&"--v2") {
            dargs.push("--allow-v2");
        }
        let run = c(&dargs, &[&out_path, &back]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(std::fs::read(&back).unwrap(), pt);
    }
}

#[test]
fn rust_writes_the_c_program_reads_and_refuses_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let hex = hex_key();
    let pt = plaintext(50_001);
    for (key, instruction_file) in [("meta", false), ("instr", true)] {
        let opts = PutOptions::default().instruction_file(instruction_file);
        client(&root, CommitmentPolicy::RequireEncryptRequireDecrypt)
            .put_object_with(BUCKET, key, &pt[..], Some(pt.len() as u64), &opts)
            .unwrap();
        let obj = root.join(BUCKET).join(key);
        let out = dir.path().join(format!("{key}.out"));
        let run = c(&["decrypt", &hex], &[&obj, &out]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(std::fs::read(&out).unwrap(), pt);
        std::fs::remove_file(&out).unwrap();

        // A flipped bit anywhere in the body or tag: refused, no output.
        let good = std::fs::read(&obj).unwrap();
        for at in [0, 20_000, good.len() - 17, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            std::fs::write(&obj, &bad).unwrap();
            let run = c(&["decrypt", &hex], &[&obj, &out]);
            assert_eq!(run.status.code(), Some(1), "byte {at}");
            assert!(
                String::from_utf8_lossy(&run.stderr).contains("authentication failed"),
                "{}",
                String::from_utf8_lossy(&run.stderr)
            );
            assert!(!out.exists(), "nothing is released");
        }
        std::fs::write(&obj, &good).unwrap();
        // A wrong key: refused at the envelope.
        let run = c(&["decrypt", &"11".repeat(32)], &[&obj, &out]);
        assert_eq!(run.status.code(), Some(1));
        assert!(!out.exists());
    }
}

#[test]
fn commitment_is_required_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let obj = dir.path().join("v2");
    let input = dir.path().join("in");
    std::fs::write(&input, b"old format").unwrap();
    let hex = hex_key();
    assert!(c(&["encrypt", &hex, "--v2"], &[&input, &obj])
        .status
        .success());
    let out = dir.path().join("out");
    let run = c(&["decrypt", &hex], &[&obj, &out]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("commitment"));
    assert!(c(&["decrypt", &hex, "--allow-v2"], &[&obj, &out])
        .status
        .success());
    assert_eq!(std::fs::read(&out).unwrap(), b"old format");
}

#[cfg(feature = "rsa")]
#[test]
fn c_writes_under_an_rsa_public_key_aws_lc_reads() {
    let data = crate_dir().join("../s3ec-rsa/tests/data");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    for bits in [2048, 3072, 4096] {
        let pt = plaintext(30_000 + bits);
        let input = dir.path().join("in");
        std::fs::write(&input, &pt).unwrap();
        let key = format!("rsa{bits}");
        let obj = root.join(BUCKET).join(&key);
        let der = data.join(format!("rsa{bits}-public.der"));
        let run = c(
            &["encrypt", "00", "--rsa-der", der.to_str().unwrap()],
            &[&input, &obj],
        );
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let ring = s3ec_local::RsaKeyring::from_private_key_der(
            &std::fs::read(data.join(format!("rsa{bits}-private.der"))).unwrap(),
        )
        .unwrap();
        let reader = Client::builder(FsStore::new(&root).unwrap(), ring)
            .build()
            .unwrap();
        let mut got = Vec::new();
        reader.get_object(BUCKET, &key, &mut got, None).unwrap();
        assert_eq!(got, pt, "{bits} bits");
    }
    // Too small a key is refused.
    let input = dir.path().join("in");
    let der = data.join("rsa1024-public.der");
    let run = c(
        &["encrypt", "00", "--rsa-der", der.to_str().unwrap()],
        &[&input, &dir.path().join("x")],
    );
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("RSA public key"));
}

fn hex_key() -> String {
    KEY.iter().map(|b| format!("{b:02x}")).collect()
}

/// AWS's Ruby client (`EncryptionV2`, which reads V2) decrypts the C
/// program's V2 objects: AES/GCM-wrapped, and with `--features rsa`
/// RSA-OAEP-SHA1-wrapped. The files are stored in moto as they are (body,
/// user metadata), as a device's upload would store them.
#[test]
fn ruby_reads_the_c_programs_v2_objects() {
    use s3ec_client::transport::{Bytes, PutRequest, Transport};
    if !common::ruby_available() {
        return;
    }
    let moto = s3ec_testkit::moto();
    let bucket = s3ec_testkit::unique_bucket("c-ruby");
    s3ec_testkit::create_bucket(moto.endpoint(), &bucket).unwrap();
    let s3 = common::moto_transport(moto.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let pt = plaintext(65_539);
    let input = dir.path().join("in");
    std::fs::write(&input, &pt).unwrap();
    let rsa_data = crate_dir().join("../s3ec-rsa/tests/data");
    let rsa_der = rsa_data.join("rsa2048-public.der");
    let mut cases = vec![(
        "aes",
        vec!["encrypt", "KEY", "--v2"],
        vec![
            "--mode".to_string(),
            "v2-aesgcm".into(),
            "--aes-key-b64".into(),
            <base64ct::Base64 as base64ct::Encoding>::encode_string(&KEY),
        ],
    )];
    if cfg!(feature = "rsa") {
        cases.push((
            "rsa",
            vec![
                "encrypt",
                "00",
                "--v2",
                "--rsa-der",
                rsa_der.to_str().unwrap(),
            ],
            vec![
                "--mode".to_string(),
                "v2-rsaoaep".into(),
                "--rsa-private-pem".into(),
                rsa_data.join("rsa2048-private.pem").display().to_string(),
            ],
        ));
    }
    let hex = hex_key();
    for (name, mut args, ruby_args) in cases {
        if args[1] == "KEY" {
            args[1] = &hex;
        }
        let obj = dir.path().join(name);
        let run = c(&args, &[&input, &obj]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let meta = s3ec_fs::metadata_from_json(
            &std::fs::read_to_string(dir.path().join(format!("{name}.metadata.json"))).unwrap(),
        )
        .unwrap();
        let key = format!("c/{name}");
        s3.put_object(
            &PutRequest::new(&bucket, &key, &meta),
            Bytes::from(std::fs::read(&obj).unwrap()),
        )
        .unwrap();
        let out = dir.path().join(format!("{name}.ruby"));
        common::ruby_get(moto.endpoint(), &bucket, &key, &out, &ruby_args);
        assert_eq!(std::fs::read(&out).unwrap(), pt, "{name}");
    }
}

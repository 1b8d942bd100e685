//! The blocking client over the in-memory fake S3: every put and get path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{data, FakeS3, Trickle};
use s3ec_client::transport::ErrorKind;
use s3ec_client::{
    Client, ClientError, ConfigError, DecryptMode, GetOptions, GetStrategy, LeftBehind, PutOptions,
};
use s3ec_core::envelope::Placement;
use s3ec_core::{CommitmentPolicy, FormatVersion, Suite};
use s3ec_keyring::{Context, KeyringError, LegacyOptions};
use s3ec_local::AesKeyring;

const MIB: usize = 1 << 20;
const PS: usize = 5 * MIB;

fn ring() -> AesKeyring {
    AesKeyring::new(&[0x42; 32]).unwrap()
}

fn client(s3: &FakeS3) -> Client {
    Client::builder(s3.clone(), ring())
        .part_size(PS as u64)
        .build()
        .unwrap()
}

/// One connection per get: the request shapes the fake's faults expect
/// (a whole-object GET first).
fn sequential(s3: &FakeS3) -> Client {
    Client::builder(s3.clone(), ring())
        .part_size(PS as u64)
        .concurrency(1)
        .build()
        .unwrap()
}

fn no_ctx() -> Context {
    Context::new()
}

fn get_err(c: &Client, key: &str) -> ClientError {
    let mut out = Vec::new();
    let e = c.get_object("b", key, &mut out, None).unwrap_err();
    assert!(out.is_empty(), "plaintext released with error {e:?}");
    e
}

/// A fresh empty folder for spool files.
fn spool_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("s3ec-client-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn dir_is_empty(d: &std::path::Path) -> bool {
    std::fs::read_dir(d).unwrap().next().is_none()
}

#[test]
fn round_trips_sizes_placements_policies() {
    let sizes = [0, 1, 15, 16, 17, 4095, PS - 1, PS, PS + 1, 2 * PS + 12_345];
    for (policy, format) in [
        (
            CommitmentPolicy::RequireEncryptRequireDecrypt,
            FormatVersion::V3,
        ),
        (
            CommitmentPolicy::ForbidEncryptAllowDecrypt,
            FormatVersion::V2,
        ),
    ] {
        let s3 = FakeS3::new();
        let c = Client::builder(s3.clone(), ring())
            .commitment_policy(policy)
            .part_size(PS as u64)
            .build()
            .unwrap();
        for placement in [Placement::ObjectMetadata, Placement::InstructionFile] {
            let opts =
                PutOptions::default().instruction_file(placement == Placement::InstructionFile);
            for (i, &n) in sizes.iter().enumerate() {
                let big = n >= PS - 1;
                // Large bodies: one combination of known/unknown length each.
                for known in [true, false] {
                    if big && known != i.is_multiple_of(2) {
                        continue;
                    }
                    let key = format!("obj-{n}-{known}-{placement:?}");
                    let pt = data(n, i as u8);
                    let len = known.then_some(n as u64);
                    let put = c
                        .put_object_with("b", &key, Trickle { data: &pt, pos: 0 }, len, &opts)
                        .unwrap();
                    assert_eq!(put.format, format);
                    assert_eq!(put.placement, placement);
                    assert_eq!(put.plaintext_len, n as u64);
                    let parts = n.div_ceil(PS) as u32;
                    assert_eq!(put.parts, (n > PS).then_some(parts), "size {n}");
                    let obj = s3.object(&key).unwrap();
                    assert_eq!(obj.body.len(), n + 16);
                    // The recorded length: always for one PUT, only when
                    // declared for a multipart upload.
                    let ucl = obj
                        .metadata
                        .iter()
                        .find(|(k, _)| k == "x-amz-unencrypted-content-length")
                        .map(|(_, v)| v.parse::<u64>().unwrap());
                    if n <= PS || known {
                        assert_eq!(ucl, Some(n as u64));
                    } else {
                        assert_eq!(ucl, None);
                    }
                    let instr = s3.object(&format!("{key}.instruction"));
                    assert_eq!(instr.is_some(), placement == Placement::InstructionFile);
                    if let Some(f) = instr {
                        assert_eq!(
                            f.metadata,
                            vec![("x-amz-crypto-instr-file".to_string(), String::new())]
                        );
                        assert!(f.body.starts_with(b"{"));
                    }
                    let (got, out) = c.get_object_to_vec("b", &key, None).unwrap();
                    assert!(got == pt, "size {n} {placement:?} {policy:?}");
                    assert_eq!(out.plaintext_len, n as u64);
                    assert_eq!(out.info.format, format);
                    assert_eq!(out.info.placement, placement);
                    assert_eq!(out.etag, Some(obj.etag.clone()));
                    let expect_mode = if n + 16 <= 8 * MIB {
                        DecryptMode::Buffered
                    } else {
                        DecryptMode::Spooled
                    };
                    assert_eq!(out.mode, expect_mode, "size {n}");
                }
            }
        }
        assert!(s3.state().uploads.is_empty());
    }
}

#[test]
fn v2_objects_and_the_commitment_policy() {
    // spec: key-commitment.md#commitment-policy/1 key-commitment.md#commitment-policy/3-4 key-commitment.md#commitment-policy/6 decryption.md#key-commitment/2 encryption.md#content-encryption/1
    let s3 = FakeS3::new();
    let v2 = Client::builder(s3.clone(), ring())
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .build()
        .unwrap();
    v2.put_object("b", "old", &b"v2 object"[..], None, &no_ctx())
        .unwrap();
    assert!(s3
        .object("old")
        .unwrap()
        .metadata
        .iter()
        .any(|(k, _)| k == "x-amz-key-v2"));
    // The default policy refuses V2 before asking the keyring.
    let strict = client(&s3);
    assert!(matches!(
        get_err(&strict, "old"),
        ClientError::CommitmentPolicy {
            suite: Suite::AesGcm,
            ..
        }
    ));
    let migrating = Client::builder(s3.clone(), ring())
        .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
        .build()
        .unwrap();
    assert_eq!(
        migrating.get_object_to_vec("b", "old", None).unwrap().0,
        b"v2 object"
    );
    // ...and writes V3.
    let put = migrating
        .put_object("b", "new", &b"v3"[..], None, &no_ctx())
        .unwrap();
    assert_eq!(put.format, FormatVersion::V3);
}

#[test]
fn strategies_buffer_spool_auto() {
    let s3 = FakeS3::new();
    let c = client(&s3);
    let small = data(1000, 1);
    let large = data(PS + 100, 2);
    c.put_object("b", "small", &small[..], None, &no_ctx())
        .unwrap();
    c.put_object("b", "large", &large[..], None, &no_ctx())
        .unwrap();

    let dir = spool_dir("strategies");
    let buffer = Client::builder(s3.clone(), ring())
        .get_strategy(GetStrategy::Buffer { max_bytes: 2000 })
        .build()
        .unwrap();
    let (got, out) = buffer.get_object_to_vec("b", "small", None).unwrap();
    assert_eq!((got, out.mode), (small.clone(), DecryptMode::Buffered));
    assert!(matches!(
        get_err(&buffer, "large"),
        ClientError::ObjectTooLarge { max: 2000, .. }
    ));

    let spool = Client::builder(s3.clone(), ring())
        .get_strategy(GetStrategy::Spool {
            dir: Some(dir.clone()),
        })
        .build()
        .unwrap();
    for (k, pt) in [("small", &small), ("large", &large)] {
        let (got, out) = spool.get_object_to_vec("b", k, None).unwrap();
        assert!(&got == pt);
        assert_eq!(out.mode, DecryptMode::Spooled);
        assert!(dir_is_empty(&dir), "spool file left behind");
    }

    let auto = Client::builder(s3.clone(), ring())
        .get_strategy(GetStrategy::Auto {
            buffer_up_to: 4096,
            spool_dir: Some(dir.clone()),
        })
        .build()
        .unwrap();
    assert_eq!(
        auto.get_object_to_vec("b", "small", None).unwrap().1.mode,
        DecryptMode::Buffered
    );
    assert_eq!(
        auto.get_object_to_vec("b", "large", None).unwrap().1.mode,
        DecryptMode::Spooled
    );
    // A failed spooled get leaves no file either.
    s3.edit("large", |o| {
        let n = o.body.len();
        o.body[n - 1] ^= 1;
    });
    assert!(matches!(
        get_err(&auto, "large"),
        ClientError::Authentication
    ));
    assert!(dir_is_empty(&dir), "spool file left behind after failure");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tampering_is_an_error_and_releases_nothing() {
    // spec: client.md#enable-delayed-authentication/3
    let s3 = FakeS3::new();
    let dir = spool_dir("tamper");
    let clients = [
        client(&s3),
        Client::builder(s3.clone(), ring())
            .get_strategy(GetStrategy::Spool {
                dir: Some(dir.clone()),
            })
            .build()
            .unwrap(),
    ];
    let pt = data(70_000, 3);
    for instr in [false, true] {
        let opts = PutOptions::default().instruction_file(instr);
        let put = |k: &str| {
            clients[0]
                .put_object_with("b", k, &pt[..], None, &opts)
                .unwrap()
        };
        for c in &clients {
            // Body bit, tag bit, truncation, extension.
            put("t");
            s3.edit("t", |o| o.body[100] ^= 0x80);
            assert!(matches!(get_err(c, "t"), ClientError::Authentication));
            put("t");
            s3.edit("t", |o| *o.body.last_mut().unwrap() ^= 1);
            assert!(matches!(get_err(c, "t"), ClientError::Authentication));
            put("t");
            s3.edit("t", |o| {
                o.body.truncate(o.body.len() - 1);
            });
            // The recorded length no longer fits.
            assert!(matches!(
                get_err(c, "t"),
                ClientError::DeclaredLengthMismatch { .. }
            ));
            put("t");
            s3.edit("t", |o| {
                o.body.truncate(o.body.len() - 1);
                o.metadata
                    .retain(|(k, _)| k != "x-amz-unencrypted-content-length");
            });
            assert!(matches!(get_err(c, "t"), ClientError::Authentication));
            put("t");
            s3.edit("t", |o| {
                o.body.truncate(10);
                o.metadata
                    .retain(|(k, _)| k != "x-amz-unencrypted-content-length");
            });
            assert!(matches!(
                get_err(c, "t"),
                ClientError::InvalidBodyLength { len: 10, .. }
            ));
            // Key commitment (object metadata even with instruction files).
            put("t");
            s3.edit("t", |o| {
                for (k, v) in o.metadata.iter_mut() {
                    if k == "x-amz-d" {
                        let mut b = v.clone().into_bytes();
                        b[0] = if b[0] == b'A' { b'B' } else { b'A' };
                        *v = String::from_utf8(b).unwrap();
                    }
                }
            });
            assert!(matches!(get_err(c, "t"), ClientError::Authentication));
        }
        // The wrapped data key, wherever it is stored.
        put("t");
        let edk_holder = if instr { "t.instruction" } else { "t" };
        s3.edit(edk_holder, |o| {
            if instr {
                let s = String::from_utf8(o.body.clone()).unwrap();
                let i = s.find("\"x-amz-3\":\"").unwrap() + 11;
                let mut b = s.into_bytes();
                b[i + 3] = if b[i + 3] == b'A' { b'B' } else { b'A' };
                o.body = b;
            } else {
                for (k, v) in o.metadata.iter_mut() {
                    if k == "x-amz-3" {
                        let mut b = v.clone().into_bytes();
                        b[3] = if b[3] == b'A' { b'B' } else { b'A' };
                        *v = String::from_utf8(b).unwrap();
                    }
                }
            }
        });
        assert!(matches!(
            get_err(&clients[0], "t"),
            ClientError::Keyring(KeyringError::UnwrapFailed)
        ));
    }
    // An instruction file that carries the commitment is tampered.
    clients[0]
        .put_object_with(
            "b",
            "s",
            &pt[..],
            None,
            &PutOptions::default().instruction_file(true),
        )
        .unwrap();
    let d = s3
        .object("s")
        .unwrap()
        .metadata
        .iter()
        .find(|(k, _)| k == "x-amz-d")
        .unwrap()
        .1
        .clone();
    s3.edit("s.instruction", |o| {
        let s = String::from_utf8(o.body.clone()).unwrap();
        o.body = s
            .replacen('{', &format!("{{\"x-amz-d\":\"{d}\","), 1)
            .into_bytes();
    });
    assert!(matches!(get_err(&clients[0], "s"), ClientError::Format(_)));
    // Not UTF-8.
    s3.edit("s.instruction", |o| o.body = vec![0xff, 0xfe]);
    assert!(matches!(
        get_err(&clients[0], "s"),
        ClientError::InstructionFileNotUtf8
    ));
    assert!(dir_is_empty(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plaintext_objects_are_refused() {
    let s3 = FakeS3::new();
    let c = client(&s3);
    s3.insert(
        "plain",
        vec![("content-type".into(), "x".into())],
        b"hello".to_vec(),
    );
    assert!(matches!(get_err(&c, "plain"), ClientError::NotEncrypted));
    assert!(matches!(
        c.inspect_object("b", "plain").unwrap_err(),
        ClientError::NotEncrypted
    ));
    s3.insert("empty", vec![], Vec::new());
    assert!(matches!(get_err(&c, "empty"), ClientError::NotEncrypted));
    // Missing object: a transport NotFound.
    match get_err(&c, "nothing") {
        ClientError::Transport(e) => assert_eq!(e.kind, ErrorKind::NotFound),
        e => panic!("{e:?}"),
    }
}

#[test]
fn missing_instruction_files() {
    let s3 = FakeS3::new();
    let c = client(&s3);
    let opts = PutOptions::default().instruction_file(true);
    c.put_object_with("b", "v3", &b"abc"[..], None, &opts)
        .unwrap();
    s3.state()
        .objects
        .remove(&("b".into(), "v3.instruction".into()));
    match get_err(&c, "v3") {
        ClientError::InstructionFileMissing { key } => assert_eq!(key, "v3.instruction"),
        e => panic!("{e:?}"),
    }
    // V2 instruction-file objects carry no S3EC key on the object: without
    // the file they look like plaintext.
    let v2 = Client::builder(s3.clone(), ring())
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .build()
        .unwrap();
    v2.put_object_with("b", "v2", &b"abc"[..], None, &opts)
        .unwrap();
    assert_eq!(v2.get_object_to_vec("b", "v2", None).unwrap().0, b"abc");
    s3.state()
        .objects
        .remove(&("b".into(), "v2.instruction".into()));
    assert!(matches!(get_err(&v2, "v2"), ClientError::NotEncrypted));
}

#[test]
fn custom_instruction_file_suffix_on_get() {
    let s3 = FakeS3::new();
    let c = client(&s3);
    c.put_object_with(
        "b",
        "k",
        &b"rotated"[..],
        None,
        &PutOptions::default().instruction_file(true),
    )
    .unwrap();
    // Writes always use the default suffix.
    assert!(s3.object("k.instruction").is_some());
    let file = s3.object("k.instruction").unwrap();
    s3.insert("k.rotated", file.metadata, file.body);
    s3.state()
        .objects
        .remove(&("b".into(), "k.instruction".into()));
    let mut out = Vec::new();
    c.get_object_with(
        "b",
        "k",
        &mut out,
        &GetOptions::default().instruction_file_suffix(".rotated"),
    )
    .unwrap();
    assert_eq!(out, b"rotated");
    let custom = Client::builder(s3.clone(), ring())
        .instruction_file_suffix(".rotated")
        .build()
        .unwrap();
    assert_eq!(
        custom.get_object_to_vec("b", "k", None).unwrap().0,
        b"rotated"
    );
    assert!(matches!(
        get_err(&c, "k"),
        ClientError::InstructionFileMissing { .. }
    ));
}

/// The .NET V1 client named instruction files `<key>INSTRUCTION_SUFFIX`; with
/// the default suffix a get falls back to that name when
/// `<key>.instruction` is missing (as .NET's V2 client does), and with a
/// custom suffix it does not.
#[test]
fn dotnet_v1_instruction_file_name_is_a_fallback_of_the_default_suffix() {
    let s3 = FakeS3::new();
    // A V2-era object: .NET V1 never wrote V3 (see
    // `dotnet_v1_fallback_is_not_tried_for_v3_objects`).
    let c = Client::builder(s3.clone(), ring())
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .build()
        .unwrap();
    c.put_object_with(
        "b",
        "k",
        &b"from .NET"[..],
        None,
        &PutOptions::default().instruction_file(true),
    )
    .unwrap();
    let file = s3.object("k.instruction").unwrap();
    s3.insert("kINSTRUCTION_SUFFIX", file.metadata, file.body);
    s3.state()
        .objects
        .remove(&("b".into(), "k.instruction".into()));
    assert_eq!(c.get_object_to_vec("b", "k", None).unwrap().0, b"from .NET");
    assert_eq!(
        c.inspect_object("b", "k").unwrap().placement,
        Placement::InstructionFile
    );
    // `.instruction` wins when both exist.
    c.put_object_with(
        "b",
        "k",
        &b"newer"[..],
        None,
        &PutOptions::default().instruction_file(true),
    )
    .unwrap();
    assert_eq!(c.get_object_to_vec("b", "k", None).unwrap().0, b"newer");
    // A custom suffix is exact: no fallback.
    s3.state()
        .objects
        .remove(&("b".into(), "k.instruction".into()));
    let custom = Client::builder(s3.clone(), ring())
        .instruction_file_suffix(".other")
        .build()
        .unwrap();
    // (A V2 object carries no S3EC metadata of its own: with no
    // instruction file found it is a plaintext object, never passed on.)
    assert!(matches!(get_err(&custom, "k"), ClientError::NotEncrypted));
    s3.state()
        .objects
        .remove(&("b".into(), "kINSTRUCTION_SUFFIX".into()));
    assert!(matches!(get_err(&c, "k"), ClientError::NotEncrypted));
}

/// A metadata-mode put over an object that had an instruction file leaves
/// the old file (see `put.rs`), and the new object reads correctly: the
/// envelope in the object metadata wins over the stale file.
#[test]
fn metadata_put_over_an_instruction_file_object_reads_the_new_envelope() {
    let s3 = FakeS3::new();
    let c = client(&s3);
    let opts = PutOptions::default().instruction_file(true);
    c.put_object_with("b", "k", &b"old body"[..], None, &opts)
        .unwrap();
    c.put_object("b", "k", &b"new body"[..], None, &no_ctx())
        .unwrap();
    assert_eq!(s3.keys(), ["k", "k.instruction"]);
    let mut out = Vec::new();
    c.get_object("b", "k", &mut out, None).unwrap();
    assert_eq!(out, b"new body");
    assert_eq!(
        c.inspect_object("b", "k").unwrap().placement,
        s3ec_core::envelope::Placement::ObjectMetadata
    );
    // And the reverse: the instruction-file put replaces the metadata.
    c.put_object_with("b", "k", &b"newer body"[..], None, &opts)
        .unwrap();
    out.clear();
    c.get_object("b", "k", &mut out, None).unwrap();
    assert_eq!(out, b"newer body");
}

#[test]
fn delete_removes_object_and_instruction_file() {
    // spec: client.md#required-api-operations/5-10
    let s3 = FakeS3::new();
    let c = client(&s3);
    let opts = PutOptions::default().instruction_file(true);
    c.put_object_with("b", "d", &b"x"[..], None, &opts).unwrap();
    c.put_object("b", "e", &b"y"[..], None, &no_ctx()).unwrap();
    assert_eq!(s3.keys(), ["d", "d.instruction", "e"]);
    c.delete_object("b", "d").unwrap();
    c.delete_object("b", "e").unwrap();
    assert!(s3.keys().is_empty());
    // Deleting what is not there is fine.
    c.delete_object("b", "nothing").unwrap();
    // If the object cannot be deleted, its instruction file stays.
    c.put_object_with("b", "d", &b"x"[..], None, &opts).unwrap();
    s3.fail_once("delete_object:d");
    assert!(matches!(
        c.delete_object("b", "d"),
        Err(ClientError::Transport(_))
    ));
    assert_eq!(s3.keys(), ["d", "d.instruction"]);
    // DeleteObjects: every key, every instruction file; failures listed.
    c.put_object_with("b", "f", &b"x"[..], None, &opts).unwrap();
    c.put_object("b", "g", &b"x"[..], None, &no_ctx()).unwrap();
    s3.fail_once("delete_object:f.instruction");
    match c.delete_objects("b", &["d", "f", "g", "none"]) {
        Err(ClientError::DeleteFailed(failed)) => {
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].0, "f");
        }
        r => panic!("{r:?}"),
    }
    assert_eq!(s3.keys(), ["f.instruction"]);
    c.delete_objects("b", &["f"]).unwrap();
    assert!(s3.keys().is_empty());
}

#[test]
fn declared_lengths_past_the_limits_are_refused_up_front() {
    // spec: encryption.md#content-encryption/2
    let s3 = FakeS3::new();
    let c = client(&s3);
    // Past 10,000 parts the part size grows (issue 12): the put goes on
    // and finds the body shorter than declared, before any request.
    let e = c
        .put_object("b", "k", &b""[..], Some(10_000 * PS as u64 + 1), &no_ctx())
        .unwrap_err();
    assert!(
        matches!(e, ClientError::InputLengthMismatch { .. }),
        "{e:?}"
    );
    let e = c
        .put_object("b", "k", &b""[..], Some(1 << 37), &no_ctx())
        .unwrap_err();
    assert!(matches!(e, ClientError::Format(_)));
    assert!(s3.log().is_empty());
}

#[test]
fn inspect_without_decrypting() {
    let s3 = FakeS3::new();
    let c = client(&s3);
    c.put_object_with(
        "b",
        "i",
        &b"12345"[..],
        Some(5),
        &PutOptions::default().instruction_file(true),
    )
    .unwrap();
    let info = c.inspect_object("b", "i").unwrap();
    assert_eq!(info.format, FormatVersion::V3);
    assert_eq!(info.suite, Suite::AesGcmCommitting);
    assert!(info.key_committing);
    assert_eq!(info.placement, Placement::InstructionFile);
    assert_eq!(info.unencrypted_content_length, Some(5));
    // Only HEAD and the instruction file were read.
    let log = s3.log();
    assert!(log.ends_with(&["head_object".to_string(), "get_object".to_string()]));
}

#[test]
fn ranged_gets_are_gated_and_correct() {
    // spec: decryption.md#ranged-gets/1-3
    let s3 = FakeS3::new();
    let c = client(&s3);
    let pt = data(PS + 5000, 9);
    c.put_object("b", "r", &pt[..], None, &no_ctx()).unwrap();
    let mut out = Vec::new();
    assert!(matches!(
        c.get_object_range("b", "r", 0, 10, &mut out),
        Err(ClientError::RangedGetDisabled)
    ));
    assert!(out.is_empty());
    for policy in [
        CommitmentPolicy::RequireEncryptRequireDecrypt,
        CommitmentPolicy::ForbidEncryptAllowDecrypt,
    ] {
        let legacy = Client::builder(s3.clone(), ring())
            .commitment_policy(policy)
            .legacy(LegacyOptions {
                wrapping_algorithms: false,
                unauthenticated_modes: true,
            })
            .part_size(PS as u64)
            .build()
            .unwrap();
        let key = format!("r-{policy:?}");
        legacy
            .put_object("b", &key, &pt[..], None, &no_ctx())
            .unwrap();
        let n = pt.len() as u64;
        for (first, last) in [
            (0, 0),
            (0, 15),
            (1, 16),
            (15, 17),
            (100, 5000),
            (PS as u64 - 3, PS as u64 + 100),
            (n - 1, n - 1),
            (n - 20, u64::MAX),
            (7, u64::MAX),
        ] {
            let mut out = Vec::new();
            let r = legacy
                .get_object_range("b", &key, first, last, &mut out)
                .unwrap();
            let end = last.min(n - 1);
            assert_eq!(out, &pt[first as usize..=end as usize], "{first}-{last}");
            assert_eq!(r.len, end - first + 1);
            assert_eq!(r.object_plaintext_len, n);
        }
        let mut out = Vec::new();
        assert!(legacy
            .get_object_range("b", &key, n, n + 5, &mut out)
            .is_err());
        assert!(out.is_empty());
        // The version is pinned.
        s3.state().faults.change_etag_before_range = true;
        assert!(matches!(
            legacy.get_object_range("b", &key, 0, 5, &mut out),
            Err(ClientError::ObjectChanged)
        ));
    }
}

#[test]
fn delayed_authentication_is_an_explicit_danger_opt_in() {
    // spec: client.md#set-buffer-size/1 client.md#enable-delayed-authentication/1
    let s3 = FakeS3::new();
    let c = client(&s3);
    let pt = data(200_000, 4);
    c.put_object("b", "d", &pt[..], None, &no_ctx()).unwrap();
    let delayed = Client::builder(s3.clone(), ring())
        .danger_delayed_authentication(true)
        .build()
        .unwrap();
    let (got, out) = delayed.get_object_to_vec("b", "d", None).unwrap();
    assert_eq!(got, pt);
    assert_eq!(out.mode, DecryptMode::DelayedAuthentication);
    s3.edit("d", |o| o.body[150_000] ^= 1);
    let mut out = Vec::new();
    let e = delayed.get_object("b", "d", &mut out, None).unwrap_err();
    assert!(matches!(e, ClientError::AuthenticationAfterRelease));
    // Plaintext was released (that is what the danger is about).
    assert!(!out.is_empty());
    // Not with a buffer size (spec client.md).
    for s in [
        GetStrategy::Buffer { max_bytes: 100 },
        GetStrategy::Spool { dir: None },
        GetStrategy::Auto {
            buffer_up_to: 1,
            spool_dir: None,
        },
    ] {
        assert!(matches!(
            Client::builder(s3.clone(), ring())
                .danger_delayed_authentication(true)
                .get_strategy(s)
                .build(),
            Err(ClientError::Config(
                ConfigError::DelayedAuthenticationWithBufferSize
            ))
        ));
    }
    // The default strategy, set explicitly, is fine.
    assert!(Client::builder(s3.clone(), ring())
        .danger_delayed_authentication(true)
        .get_strategy(GetStrategy::default())
        .build()
        .is_ok());
}

#[test]
fn config_validation() {
    let s3 = FakeS3::new();
    for size in [0, 5 * MIB as u64 - 1, 5 * 1024 * MIB as u64 + 1] {
        assert!(matches!(
            Client::builder(s3.clone(), ring()).part_size(size).build(),
            Err(ClientError::Config(ConfigError::PartSize { .. }))
        ));
    }
    assert!(matches!(
        Client::builder(s3.clone(), ring())
            .get_strategy(GetStrategy::Buffer { max_bytes: 15 })
            .build(),
        Err(ClientError::Config(ConfigError::BufferSize { size: 15 }))
    ));
    assert!(matches!(
        Client::builder(s3.clone(), ring())
            .instruction_file_suffix("")
            .build(),
        Err(ClientError::Config(ConfigError::EmptyInstructionFileSuffix))
    ));
    for bad in [0, s3ec_client::config::MAX_CONCURRENCY + 1] {
        assert!(matches!(
            Client::builder(s3.clone(), ring()).concurrency(bad).build(),
            Err(ClientError::Config(ConfigError::Concurrency { value })) if value == bad
        ));
    }
    let c = Client::builder(s3, ring()).build().unwrap();
    assert_eq!(
        c.config().concurrency(),
        s3ec_client::config::DEFAULT_CONCURRENCY
    );
    assert_eq!(c.with_concurrency(3).unwrap().config().concurrency(), 3);
    assert!(c.with_concurrency(0).is_err());
    assert!(matches!(
        c.put()
            .bucket("b")
            .key("k")
            .body(&b"x"[..])
            .concurrency(0)
            .send(),
        Err(ClientError::Config(ConfigError::Concurrency { value: 0 }))
    ));
    assert_eq!(c.config().part_size(), 8 * MIB as u64);
    assert_eq!(
        c.config().commitment_policy(),
        CommitmentPolicy::RequireEncryptRequireDecrypt
    );
    assert!(!c.config().instruction_file_puts());
    assert!(!c.config().delayed_authentication());
    assert_eq!(c.config().legacy(), LegacyOptions::default());
    assert_eq!(c.config().instruction_file_suffix(), ".instruction");
}

#[test]
fn a_range_answer_to_a_whole_get_is_refused() {
    // spec: decryption.md#ranged-gets/4
    let s3 = FakeS3::new();
    let c = sequential(&s3);
    c.put_object("b", "x", &b"abc"[..], None, &no_ctx())
        .unwrap();
    s3.state().faults.range_on_full_get = true;
    assert!(matches!(get_err(&c, "x"), ClientError::UnexpectedRange));
}

/// Issue 12 over the in-memory store: ranges on several threads, a range
/// refused once and fetched again, a changed object refused with nothing
/// released, for every get strategy.
#[test]
fn parallel_gets_retry_ranges_and_refuse_a_changed_object() {
    let s3 = FakeS3::new();
    let dir = spool_dir("parallel");
    let pt = data(4 * PS + 99, 12);
    client(&s3)
        .put_object("b", "x", &pt[..], None, &no_ctx())
        .unwrap();
    for strategy in [
        GetStrategy::default(),
        GetStrategy::Spool {
            dir: Some(dir.clone()),
        },
        GetStrategy::Buffer {
            max_bytes: 64 * MIB as u64,
        },
    ] {
        let c = Client::builder(s3.clone(), ring())
            .part_size(PS as u64)
            .get_strategy(strategy)
            .concurrency(3)
            .build()
            .unwrap();
        s3.fail_once(&format!("get_object:range@{}", 2 * PS));
        s3.fail_once(&format!("get_object:range@{}", 2 * PS));
        s3.fail_once(&format!("get_object:range@{}", 4 * PS));
        assert!(c.get_object_to_vec("b", "x", None).unwrap().0 == pt);
        assert!(s3.state().faults.fail_once.is_empty());
        s3.state().faults.change_etag_before_range_at = Some(3 * PS as u64);
        assert!(matches!(get_err(&c, "x"), ClientError::ObjectChanged));
        s3.edit("x", |o| o.etag = "\"etag-back\"".into());
    }
    let to = dir.join("out");
    let c = Client::builder(s3.clone(), ring())
        .part_size(PS as u64)
        .build()
        .unwrap();
    c.get_object_to_path("b", "x", &to, &GetOptions::default())
        .unwrap();
    assert!(std::fs::read(&to).unwrap() == pt);
    std::fs::remove_file(&to).unwrap();
    assert!(dir_is_empty(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn broken_bodies_resume_pinned_to_the_etag() {
    let s3 = FakeS3::new();
    let dir = spool_dir("resume");
    let pt = data(300_000, 5);
    let c = sequential(&s3);
    c.put_object("b", "x", &pt[..], None, &no_ctx()).unwrap();
    for strategy in [
        GetStrategy::default(),
        GetStrategy::Spool {
            dir: Some(dir.clone()),
        },
    ] {
        let c = Client::builder(s3.clone(), ring())
            .get_strategy(strategy)
            .concurrency(1)
            .build()
            .unwrap();
        s3.state().faults.break_body_after = Some(123_457);
        assert_eq!(c.get_object_to_vec("b", "x", None).unwrap().0, pt);
        assert!(s3.log().contains(&"get_object:range".to_string()));
        // The object changed in between: refused.
        s3.state().faults.break_body_after = Some(1000);
        s3.state().faults.change_etag_before_range = true;
        assert!(matches!(get_err(&c, "x"), ClientError::ObjectChanged));
        s3.edit("x", |o| o.etag = "\"etag-back\"".into());
    }
    assert!(dir_is_empty(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failed_multipart_uploads_are_aborted() {
    let s3 = FakeS3::new();
    let c = client(&s3);
    let pt = data(2 * PS + 1, 6);
    // A part that fails once is resent (from its own ciphertext).
    s3.fail_once("upload_part:2");
    c.put_object("b", "m", &pt[..], None, &no_ctx()).unwrap();
    assert_eq!(c.get_object_to_vec("b", "m", None).unwrap().0, pt);
    c.delete_object("b", "m").unwrap();
    // One that keeps failing aborts the upload.
    for _ in 0..4 {
        s3.fail_once("upload_part:2");
    }
    let e = c
        .put_object("b", "m", &pt[..], None, &no_ctx())
        .unwrap_err();
    assert!(matches!(e, ClientError::Transport(_)));
    assert!(s3.state().uploads.is_empty());
    assert!(s3.keys().is_empty());
    assert!(s3.log().contains(&"abort_multipart_upload".to_string()));

    // The abort fails too: the caller learns what was left behind.
    for _ in 0..4 {
        s3.fail_once("upload_part:3");
    }
    s3.fail_once("abort_multipart_upload");
    match c
        .put_object("b", "m", &pt[..], None, &no_ctx())
        .unwrap_err()
    {
        ClientError::CleanupFailed(f) => {
            let LeftBehind::MultipartUpload { key, upload_id } = f.left_behind else {
                panic!("{f:?}")
            };
            assert!(matches!(f.error, ClientError::Transport(_)));
            assert_eq!(key, "m");
            assert!(s3.state().uploads.contains_key(&upload_id));
        }
        e => panic!("{e:?}"),
    }
    s3.state().uploads.clear();

    // The reader fails mid-way.
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(7);
            self.0 -= n;
            Ok(n)
        }
    }
    let e = c
        .put_object("b", "m", Failing(PS + 10), None, &no_ctx())
        .unwrap_err();
    assert!(matches!(e, ClientError::Io(_)));
    assert!(s3.state().uploads.is_empty() && s3.keys().is_empty());

    // Declared length mismatches, single and multipart.
    for (declared, real) in [
        (10u64, 9usize),
        (10, 11),
        (PS as u64 + 10, PS + 9),
        (PS as u64 + 10, 2 * PS),
    ] {
        let body = data(real, 1);
        let e = c
            .put_object("b", "m", &body[..], Some(declared), &no_ctx())
            .unwrap_err();
        assert!(
            matches!(e, ClientError::InputLengthMismatch { declared: d, .. } if d == declared),
            "{e:?}"
        );
        assert!(s3.state().uploads.is_empty() && s3.keys().is_empty());
    }
}

#[test]
fn failed_instruction_file_put_removes_the_object() {
    let s3 = FakeS3::new();
    let c = client(&s3);
    let opts = PutOptions::default().instruction_file(true);
    s3.fail_once("put_object:k.instruction");
    assert!(matches!(
        c.put_object_with("b", "k", &b"abc"[..], None, &opts),
        Err(ClientError::Transport(_))
    ));
    assert!(s3.keys().is_empty());
    // The object goes first, the instruction file after.
    let log = s3.log();
    let i = log.iter().position(|l| l == "put_object:k").unwrap();
    let j = log
        .iter()
        .position(|l| l == "put_object:k.instruction")
        .unwrap();
    assert!(i < j);
    s3.fail_once("put_object:k.instruction");
    s3.fail_once("delete_object:k");
    match c.put_object_with("b", "k", &b"abc"[..], None, &opts) {
        Err(ClientError::CleanupFailed(f)) => {
            assert_eq!(f.left_behind, LeftBehind::Object { key: "k".into() })
        }
        r => panic!("{r:?}"),
    }
    // Multipart too: after completion.
    s3.state().objects.clear();
    let pt = data(PS + 1, 1);
    s3.fail_once("put_object:m.instruction");
    assert!(c.put_object_with("b", "m", &pt[..], None, &opts).is_err());
    assert!(s3.keys().is_empty());
}

/// V2 objects with a 128- or 192-bit data key (PHP's `@KeySize`; Java and
/// Go read them) decrypt through every get path: AES-128/192-GCM content.
#[test]
fn v2_objects_with_128_and_192_bit_data_keys() {
    use base64ct::Encoding;
    use s3ec_core::cipher::backend::{GcmBackend, RustCrypto, StreamEncrypt};
    use s3ec_core::WrapAlg;
    let b64 = |b: &[u8]| base64ct::Base64::encode_string(b);
    let s3 = FakeS3::new();
    let iv = [0x5au8; 12];
    let pt = data(70_001, 3);
    for n in [16usize, 24] {
        let dk = vec![0x33u8; n];
        let key = RustCrypto::expand_key(&dk).unwrap();
        let mut enc = RustCrypto::encrypt(&key, &iv, b"").unwrap();
        let mut body = pt.clone();
        enc.update(&mut body).unwrap();
        body.extend_from_slice(&enc.finish());
        let edk = ring()
            .legacy_wrap(
                WrapAlg::AesWrap,
                &s3ec_core::DataKey::from_slice(&dk).unwrap(),
            )
            .unwrap();
        let md = vec![
            ("x-amz-key-v2".to_string(), b64(&edk)),
            ("x-amz-iv".to_string(), b64(&iv)),
            ("x-amz-cek-alg".to_string(), "AES/GCM/NoPadding".to_string()),
            ("x-amz-tag-len".to_string(), "128".to_string()),
            ("x-amz-wrap-alg".to_string(), "AESWrap".to_string()),
            ("x-amz-matdesc".to_string(), "{}".to_string()),
        ];
        let name = format!("dk{n}");
        s3.insert(&name, md.clone(), body.clone());
        let mut bad = body.clone();
        *bad.last_mut().unwrap() ^= 1;
        s3.insert(&format!("{name}-bad"), md, bad);
        let client = |strategy| {
            Client::builder(s3.clone(), ring())
                .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
                .legacy(LegacyOptions::ALL)
                .get_strategy(strategy)
                .build()
                .unwrap()
        };
        for strategy in [
            GetStrategy::Buffer { max_bytes: 1 << 20 },
            GetStrategy::Spool { dir: None },
        ] {
            let c = client(strategy);
            let (got, _) = c.get_object_to_vec("b", &name, None).unwrap();
            assert_eq!(got, pt, "{name}");
            assert!(matches!(
                get_err(&c, &format!("{name}-bad")),
                ClientError::Authentication
            ));
        }
        let mut part = Vec::new();
        client(GetStrategy::Spool { dir: None })
            .get_object_range("b", &name, 1000, 40_000, &mut part)
            .unwrap();
        assert_eq!(part, &pt[1000..=40_000]);
    }
}

#[test]
fn legacy_cbc_objects_need_the_legacy_switches() {
    // spec: client.md#enable-legacy-wrapping-algorithms/3-4
    // spec: decryption.md#legacy-decryption/1-2 decryption.md#cbc-decryption/1-2 client.md#enable-legacy-unauthenticated-modes/3-4
    use aes::cipher::{BlockModeEncrypt, KeyIvInit};
    use s3ec_core::WrapAlg;
    let s3 = FakeS3::new();
    let dk = [0x11u8; 32];
    let iv = [0x22u8; 16];
    let pt = data(100_003, 7);
    let body = cbc::Encryptor::<aes::Aes256>::new(&dk.into(), &iv.into())
        .encrypt_padded_vec::<aes::cipher::block_padding::Pkcs7>(&pt);
    let edk = ring()
        .legacy_wrap(
            WrapAlg::AesWrap,
            &s3ec_core::DataKey::from_slice(&dk).unwrap(),
        )
        .unwrap();
    use base64ct::Encoding;
    let b64 = |b: &[u8]| base64ct::Base64::encode_string(b);
    let md = vec![
        ("x-amz-key-v2".to_string(), b64(&edk)),
        ("x-amz-iv".to_string(), b64(&iv)),
        (
            "x-amz-cek-alg".to_string(),
            "AES/CBC/PKCS5Padding".to_string(),
        ),
        ("x-amz-wrap-alg".to_string(), "AESWrap".to_string()),
        ("x-amz-matdesc".to_string(), "{}".to_string()),
        (
            "x-amz-unencrypted-content-length".to_string(),
            pt.len().to_string(),
        ),
    ];
    s3.insert("cbc", md, body);
    let permissive = |legacy| {
        Client::builder(s3.clone(), ring())
            .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
            .legacy(legacy)
            .build()
            .unwrap()
    };
    assert!(matches!(
        get_err(&permissive(LegacyOptions::default()), "cbc"),
        ClientError::LegacyCbcDisabled
    ));
    assert!(matches!(
        get_err(
            &permissive(LegacyOptions {
                wrapping_algorithms: false,
                unauthenticated_modes: true
            }),
            "cbc"
        ),
        ClientError::Keyring(KeyringError::LegacyWrappingDisabled { .. })
    ));
    let all = permissive(LegacyOptions::ALL);
    let (got, out) = all.get_object_to_vec("b", "cbc", None).unwrap();
    assert_eq!(got, pt);
    assert_eq!(out.mode, DecryptMode::LegacyCbc);
    // Ranged gets of CBC objects are refused.
    assert!(matches!(
        all.get_object_range("b", "cbc", 0, 10, &mut Vec::new()),
        Err(ClientError::RangedGetUnsupported { .. })
    ));
    // Bad padding: a small CBC body is held until its padding checked,
    // so nothing is released (larger ones stream and report it after).
    s3.edit("cbc", |o| {
        let n = o.body.len();
        o.body[n - 1] ^= 0x55;
    });
    let mut out = Vec::new();
    assert!(matches!(
        all.get_object("b", "cbc", &mut out, None),
        Err(ClientError::Authentication)
    ));
    assert!(out.is_empty());
    // A body that is no whole number of blocks is refused before any
    // plaintext.
    s3.edit("cbc", |o| {
        o.body.pop();
        o.metadata
            .retain(|(k, _)| k != "x-amz-unencrypted-content-length");
    });
    assert!(matches!(
        get_err(&all, "cbc"),
        ClientError::InvalidBodyLength { .. }
    ));
}

#[test]
fn kms_context_is_passed_and_checked() {
    // Raw keyrings refuse a per-request context.
    let s3 = FakeS3::new();
    let c = client(&s3);
    let ctx = Context::from([("tenant".to_string(), "acme".to_string())]);
    assert!(matches!(
        c.put_object("b", "k", &b"x"[..], None, &ctx),
        Err(ClientError::Keyring(KeyringError::ContextNotSupported))
    ));
    assert!(s3.keys().is_empty());
}

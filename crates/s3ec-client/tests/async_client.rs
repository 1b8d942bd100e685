//! The async client over the in-memory fake S3 (the same store as the
//! blocking tests, through its AsyncTransport face).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{data, FakeS3};
use s3ec_client::{
    AsyncClient, Client, ClientError, DecryptMode, GetStrategy, LeftBehind, PutOptions,
};
use s3ec_core::{CommitmentPolicy, FormatVersion};
use s3ec_keyring::{Context, LegacyOptions, Local};
use s3ec_local::AesKeyring;

const PS: usize = 5 << 20;

fn ring() -> AesKeyring {
    AesKeyring::new(&[0x42; 32]).unwrap()
}

fn client(s3: &FakeS3) -> AsyncClient {
    AsyncClient::builder(s3.clone(), Local(ring()))
        .part_size(PS as u64)
        .build()
        .unwrap()
}

async fn get_err(c: &AsyncClient, key: &str) -> ClientError {
    let mut out = Vec::new();
    let e = c.get_object("b", key, &mut out, None).await.unwrap_err();
    assert!(out.is_empty(), "plaintext released with error {e:?}");
    e
}

fn spool_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("s3ec-async-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn dir_is_empty(d: &std::path::Path) -> bool {
    std::fs::read_dir(d).unwrap().next().is_none()
}

#[tokio::test]
async fn round_trips_and_interop_with_the_blocking_client() {
    let s3 = FakeS3::new();
    let dir = spool_dir("rt");
    let blocking = Client::builder(s3.clone(), ring())
        .part_size(PS as u64)
        .build()
        .unwrap();
    for policy in [
        CommitmentPolicy::RequireEncryptRequireDecrypt,
        CommitmentPolicy::ForbidEncryptAllowDecrypt,
    ] {
        let c = AsyncClient::builder(s3.clone(), Local(ring()))
            .commitment_policy(policy)
            .part_size(PS as u64)
            .get_strategy(GetStrategy::Auto {
                buffer_up_to: 100_000,
                spool_dir: Some(dir.clone()),
            })
            .build()
            .unwrap();
        let blocking_reader = Client::builder(s3.clone(), ring())
            .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
            .build()
            .unwrap();
        for instr in [false, true] {
            let opts = PutOptions::default().instruction_file(instr);
            for (i, n) in [0usize, 1, 15, 16, 17, 4095, 200_000, PS, PS + 1, 2 * PS + 3]
                .into_iter()
                .enumerate()
            {
                let pt = data(n, i as u8);
                let key = format!("a-{n}-{instr}");
                let len = i.is_multiple_of(2).then_some(n as u64);
                let put = c
                    .put_object_with("b", &key, &pt[..], len, &opts)
                    .await
                    .unwrap();
                assert_eq!(put.plaintext_len, n as u64);
                assert_eq!(put.parts, (n > PS).then(|| n.div_ceil(PS) as u32));
                let (got, out) = c.get_object_to_vec("b", &key, None).await.unwrap();
                assert!(got == pt, "size {n}");
                let mode = if n + 16 <= 100_000 {
                    DecryptMode::Buffered
                } else {
                    DecryptMode::Spooled
                };
                assert_eq!(out.mode, mode);
                // The blocking client reads what the async one wrote.
                if n < 300_000 {
                    assert!(
                        blocking_reader
                            .get_object_to_vec("b", &key, None)
                            .unwrap()
                            .0
                            == pt
                    );
                }
            }
        }
    }
    // And the reverse.
    blocking
        .put_object("b", "from-blocking", &b"hi"[..], None, &Context::new())
        .unwrap();
    assert_eq!(
        client(&s3)
            .get_object_to_vec("b", "from-blocking", None)
            .await
            .unwrap()
            .0,
        b"hi"
    );
    assert!(dir_is_empty(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn tampering_releases_nothing() {
    let s3 = FakeS3::new();
    let dir = spool_dir("tamper");
    let pt = data(150_000, 3);
    let buffered = client(&s3);
    let spooled = AsyncClient::builder(s3.clone(), Local(ring()))
        .get_strategy(GetStrategy::Spool {
            dir: Some(dir.clone()),
        })
        .build()
        .unwrap();
    for c in [&buffered, &spooled] {
        for at in [0usize, 70_000, 150_015] {
            buffered
                .put_object("b", "t", &pt[..], None, &Context::new())
                .await
                .unwrap();
            s3.edit("t", |o| o.body[at] ^= 4);
            assert!(matches!(get_err(c, "t").await, ClientError::Authentication));
        }
    }
    assert!(dir_is_empty(&dir));
    // Plaintext and missing instruction files.
    s3.insert("plain", vec![], b"plain".to_vec());
    assert!(matches!(
        get_err(&buffered, "plain").await,
        ClientError::NotEncrypted
    ));
    buffered
        .put_object_with(
            "b",
            "i",
            &pt[..],
            None,
            &PutOptions::default().instruction_file(true),
        )
        .await
        .unwrap();
    s3.state()
        .objects
        .remove(&("b".into(), "i.instruction".into()));
    assert!(matches!(
        get_err(&buffered, "i").await,
        ClientError::InstructionFileMissing { .. }
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn resume_range_delete_inspect_delayed() {
    let s3 = FakeS3::new();
    // One connection per get: the fake's faults expect a whole GET first.
    let c = AsyncClient::builder(s3.clone(), Local(ring()))
        .part_size(PS as u64)
        .concurrency(1)
        .build()
        .unwrap();
    let pt = data(300_000, 5);
    c.put_object_with(
        "b",
        "x",
        &pt[..],
        None,
        &PutOptions::default().instruction_file(true),
    )
    .await
    .unwrap();
    // Resume after a broken body, pinned.
    s3.state().faults.break_body_after = Some(100_001);
    assert_eq!(c.get_object_to_vec("b", "x", None).await.unwrap().0, pt);
    s3.state().faults.break_body_after = Some(10);
    s3.state().faults.change_etag_before_range = true;
    assert!(matches!(get_err(&c, "x").await, ClientError::ObjectChanged));
    // Range: gated, then right.
    let mut out = Vec::new();
    assert!(matches!(
        c.get_object_range("b", "x", 5, 10, &mut out).await,
        Err(ClientError::RangedGetDisabled)
    ));
    let legacy = AsyncClient::builder(s3.clone(), Local(ring()))
        .legacy(LegacyOptions {
            wrapping_algorithms: false,
            unauthenticated_modes: true,
        })
        .build()
        .unwrap();
    for (a, b) in [(0u64, 0u64), (17, 40_000), (299_990, u64::MAX)] {
        let mut out = Vec::new();
        legacy
            .get_object_range("b", "x", a, b, &mut out)
            .await
            .unwrap();
        assert_eq!(out, &pt[a as usize..=(b.min(299_999) as usize)]);
    }
    // Inspect.
    let info = c.inspect_object("b", "x").await.unwrap();
    assert_eq!(info.format, FormatVersion::V3);
    // Delayed authentication.
    let delayed = AsyncClient::builder(s3.clone(), Local(ring()))
        .danger_delayed_authentication(true)
        .build()
        .unwrap();
    let (got, out) = delayed.get_object_to_vec("b", "x", None).await.unwrap();
    assert_eq!(
        (got, out.mode),
        (pt.clone(), DecryptMode::DelayedAuthentication)
    );
    s3.edit("x", |o| o.body[299_000] ^= 1);
    let mut out = Vec::new();
    assert!(matches!(
        delayed.get_object("b", "x", &mut out, None).await,
        Err(ClientError::AuthenticationAfterRelease)
    ));
    // Delete both.
    c.delete_object("b", "x").await.unwrap();
    assert!(s3.keys().is_empty());
}

#[tokio::test]
async fn failed_puts_clean_up() {
    let s3 = FakeS3::new();
    let c = client(&s3);
    let pt = data(2 * PS + 5, 1);
    for _ in 0..4 {
        s3.fail_once("upload_part:3");
    }
    assert!(c
        .put_object("b", "m", &pt[..], None, &Context::new())
        .await
        .is_err());
    assert!(s3.state().uploads.is_empty() && s3.keys().is_empty());
    s3.fail_once("complete_multipart_upload");
    s3.fail_once("abort_multipart_upload");
    match c
        .put_object("b", "m", &pt[..], None, &Context::new())
        .await
        .unwrap_err()
    {
        ClientError::CleanupFailed(f) => {
            assert!(matches!(f.left_behind, LeftBehind::MultipartUpload { .. }))
        }
        e => panic!("{e:?}"),
    }
    s3.state().uploads.clear();
    s3.fail_once("put_object:k.instruction");
    assert!(c
        .put_object_with(
            "b",
            "k",
            &b"abc"[..],
            None,
            &PutOptions::default().instruction_file(true)
        )
        .await
        .is_err());
    assert!(s3.keys().is_empty());
    // Declared length mismatch.
    assert!(matches!(
        c.put_object("b", "k", &b"abc"[..], Some(4), &Context::new())
            .await,
        Err(ClientError::InputLengthMismatch { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_are_send() {
    let s3 = FakeS3::new();
    let c = client(&s3);
    let dir = spool_dir("send");
    let spool = AsyncClient::builder(s3.clone(), Local(ring()))
        .get_strategy(GetStrategy::Spool {
            dir: Some(dir.clone()),
        })
        .build()
        .unwrap();
    let task = tokio::spawn(async move {
        let pt = data(100_000, 1);
        c.put_object("b", "s", &pt[..], None, &Context::new())
            .await
            .unwrap();
        let mut out = Vec::new();
        spool.get_object("b", "s", &mut out, None).await.unwrap();
        assert_eq!(out, pt);
        let mut out = Vec::new();
        c.get_object_range("b", "s", 0, 1, &mut out)
            .await
            .unwrap_err();
        c.inspect_object("b", "s").await.unwrap();
        c.delete_object("b", "s").await.unwrap();
    });
    task.await.unwrap();
    assert!(dir_is_empty(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The .NET V1 instruction-file name is a fallback of the default suffix
/// (see the blocking test of the same name).
#[tokio::test]
async fn dotnet_v1_instruction_file_name_is_a_fallback_of_the_default_suffix() {
    let s3 = FakeS3::new();
    // A V2-era object: .NET V1 never wrote V3 (see
    // `dotnet_v1_fallback_is_not_tried_for_v3_objects`).
    let c = AsyncClient::builder(s3.clone(), Local(ring()))
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
    .await
    .unwrap();
    let file = s3.object("k.instruction").unwrap();
    s3.insert("kINSTRUCTION_SUFFIX", file.metadata, file.body);
    s3.state()
        .objects
        .remove(&("b".into(), "k.instruction".into()));
    let (got, _) = c.get_object_to_vec("b", "k", None).await.unwrap();
    assert_eq!(got, b"from .NET");
    s3.state()
        .objects
        .remove(&("b".into(), "kINSTRUCTION_SUFFIX".into()));
    // A V2 object without its instruction file reads as a plaintext
    // object (no S3EC metadata of its own), never passed on.
    assert!(matches!(get_err(&c, "k").await, ClientError::NotEncrypted));
}

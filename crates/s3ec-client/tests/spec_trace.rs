//! Spec requirements (`// spec: ID`, see `docs/spec-coverage.md`) that no
//! other test of this crate checked: each test fails when the check it
//! cites is removed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{data, FakeS3};
use s3ec_client::{
    AsyncClient, Client, ClientError, GetStrategy, MultipartError, PutOptions, RotateOptions,
};
use s3ec_core::{CommitmentPolicy, FormatVersion};
use s3ec_keyring::{Context, LegacyOptions, Local};
use s3ec_local::AesKeyring;

const MIB: usize = 1 << 20;

fn ring(b: u8) -> AesKeyring {
    AesKeyring::new(&[b; 32]).unwrap()
}

fn client(s3: &FakeS3, b: u8) -> Client {
    Client::builder(s3.clone(), ring(b)).build().unwrap()
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn async_get_refuses_a_range_answer_to_a_whole_get() {
    // spec: decryption.md#ranged-gets/4
    let s3 = FakeS3::new();
    // One connection: the first GET asks for the whole object (with more,
    // it asks for a first range, see parallel.rs).
    let c = AsyncClient::builder(s3.clone(), Local(ring(1)))
        .concurrency(1)
        .build()
        .unwrap();
    c.put_object("b", "x", &b"abc"[..], None, &Context::new())
        .await
        .unwrap();
    s3.state().faults.range_on_full_get = true;
    let mut out = Vec::new();
    let e = c.get_object("b", "x", &mut out, None).await.unwrap_err();
    assert!(matches!(e, ClientError::UnexpectedRange), "{e:?}");
    assert!(out.is_empty());
}

#[test]
fn legacy_and_delayed_authentication_switches_exist_and_default_off() {
    // spec: client.md#enable-legacy-wrapping-algorithms/1-2 client.md#enable-legacy-unauthenticated-modes/1-2
    // spec: client.md#enable-delayed-authentication/1-2
    let d = LegacyOptions::default();
    assert!(!d.wrapping_algorithms);
    assert!(!d.unauthenticated_modes);
    let s3 = FakeS3::new();
    let c = client(&s3, 1);
    assert_eq!(c.config().legacy(), d);
    assert!(!c.config().delayed_authentication());
    // Each switch can be turned on, alone.
    let on = Client::builder(s3.clone(), ring(1))
        .legacy(LegacyOptions {
            wrapping_algorithms: true,
            unauthenticated_modes: false,
        })
        .danger_delayed_authentication(true)
        .build()
        .unwrap();
    assert!(on.config().legacy().wrapping_algorithms);
    assert!(!on.config().legacy().unauthenticated_modes);
    assert!(on.config().delayed_authentication());
}

#[test]
fn the_default_buffer_holds_a_bounded_amount() {
    // spec: client.md#set-buffer-size/2 (a default exists and is bounded)
    let s3 = FakeS3::new();
    let c = client(&s3, 1);
    match c.config().get_strategy() {
        GetStrategy::Auto { buffer_up_to, .. } => {
            assert!((1..=64 * MIB as u64).contains(buffer_up_to))
        }
        other => panic!("default strategy {other:?}"),
    }
}

#[test]
fn put_encrypts_and_get_decrypts() {
    // spec: client.md#required-api-operations/1-4
    let s3 = FakeS3::new();
    let c = client(&s3, 1);
    let pt = data(100_000, 3);
    c.put_object("b", "k", &pt[..], None, &Context::new())
        .unwrap();
    let stored = s3.object("k").unwrap();
    // spec: data-format/metadata-strategy.md#object-metadata/1 data-format/metadata-strategy.md#instruction-file/4
    assert_eq!(s3.keys(), ["k"]);
    assert!(stored.metadata.iter().any(|(k, _)| k == "x-amz-3"));
    assert_eq!(stored.body.len(), pt.len() + 16);
    // No 32-byte run of the plaintext is stored.
    assert!(!contains(&stored.body, &pt[1000..1032]));
    assert_eq!(c.get_object_to_vec("b", "k", None).unwrap().0, pt);
    // The object as S3 holds it is not the plaintext either way round.
    assert_ne!(&stored.body[..pt.len()], &pt[..]);
}

#[tokio::test]
async fn async_put_encrypts_get_decrypts_delete_removes_both() {
    // spec: client.md#required-api-operations/1-7 client.md#required-api-operations/9-10
    let s3 = FakeS3::new();
    let c = AsyncClient::builder(s3.clone(), Local(ring(1)))
        .build()
        .unwrap();
    let pt = data(70_000, 5);
    let opts = PutOptions::default().instruction_file(true);
    c.put_object_with("b", "k", &pt[..], None, &opts)
        .await
        .unwrap();
    assert!(!contains(&s3.object("k").unwrap().body, &pt[500..532]));
    let mut out = Vec::new();
    c.get_object("b", "k", &mut out, None).await.unwrap();
    assert_eq!(out, pt);
    assert_eq!(s3.keys(), ["k", "k.instruction"]);
    c.delete_object("b", "k").await.unwrap();
    assert!(s3.keys().is_empty());
    for k in ["m", "n"] {
        c.put_object_with("b", k, &b"x"[..], None, &opts)
            .await
            .unwrap();
    }
    c.delete_objects("b", &["m", "n"]).await.unwrap();
    assert!(s3.keys().is_empty());
}

#[test]
fn low_level_multipart_encrypts_parts_as_one_stream_and_aborts() {
    // spec: client.md#optional-api-operations/1-6
    let s3 = FakeS3::new();
    let c = client(&s3, 1);
    let pt = data(5 * MIB + 1000, 8);
    let (p1, p2) = pt.split_at(5 * MIB);
    let mut up = c
        .create_multipart_upload("b", "mp", &PutOptions::default())
        .unwrap();
    assert!(s3.state().uploads.contains_key(up.upload_id()));
    // Out of order is refused: parts are encrypted in sequence.
    assert!(matches!(
        c.upload_part(&mut up, 2, p2.to_vec(), true),
        Err(ClientError::Multipart(
            MultipartError::PartOutOfOrder { .. }
        ))
    ));
    c.upload_part(&mut up, 1, p1.to_vec(), false).unwrap();
    c.upload_part(&mut up, 2, p2.to_vec(), true).unwrap();
    c.complete_multipart_upload(&up).unwrap();
    assert!(s3.state().uploads.is_empty());
    let stored = s3.object("mp").unwrap();
    assert!(!contains(&stored.body, &p1[0..32]));
    assert!(!contains(&stored.body, &p2[0..32]));
    // One cipher over both parts: the whole object authenticates as one.
    assert_eq!(c.get_object_to_vec("b", "mp", None).unwrap().0, pt);
    // Abort ends the upload.
    let up = c
        .create_multipart_upload("b", "gone", &PutOptions::default())
        .unwrap();
    c.abort_multipart_upload(&up).unwrap();
    assert!(s3.state().uploads.is_empty());
    assert!(s3.object("gone").is_none());
}

#[test]
fn re_encrypting_an_instruction_file_rewraps_the_data_key() {
    // spec: client.md#optional-api-operations/7-8
    let s3 = FakeS3::new();
    let old = Client::builder(s3.clone(), ring(1))
        .instruction_file_puts(true)
        .build()
        .unwrap();
    old.put_object("b", "r", &b"rotate me"[..], None, &Context::new())
        .unwrap();
    let body_before = s3.object("r").unwrap().body;
    old.rotate_object("b", "r", &ring(2), &RotateOptions::default())
        .unwrap();
    // The body is untouched; the new key reads it, the old one no longer.
    assert_eq!(s3.object("r").unwrap().body, body_before);
    let new = client(&s3, 2);
    assert_eq!(
        new.get_object_to_vec("b", "r", None).unwrap().0,
        b"rotate me"
    );
    let mut out = Vec::new();
    assert!(matches!(
        old.get_object("b", "r", &mut out, None),
        Err(ClientError::Keyring(_))
    ));
    // A keyring that cannot unwrap the current key cannot rotate it.
    assert!(client(&s3, 3)
        .rotate_object("b", "r", &ring(4), &RotateOptions::default())
        .is_err());
}

#[test]
fn instruction_file_configuration_is_taken_at_build_time() {
    // spec: client.md#instruction-file-configuration/1
    let s3 = FakeS3::new();
    let c = Client::builder(s3.clone(), ring(1))
        .instruction_file_puts(true)
        .build()
        .unwrap();
    let out = c
        .put_object("b", "i", &b"x"[..], None, &Context::new())
        .unwrap();
    assert_eq!(out.format, FormatVersion::V3);
    assert_eq!(s3.keys(), ["i", "i.instruction"]);
}

#[test]
fn instruction_files_are_json_only_and_use_the_default_suffix() {
    // spec: data-format/metadata-strategy.md#instruction-file/1 data-format/metadata-strategy.md#instruction-file/3
    // spec: data-format/metadata-strategy.md#instruction-file/5-6
    let s3 = FakeS3::new();
    // A custom suffix is for reads; ordinary writes keep the default one.
    let c = Client::builder(s3.clone(), ring(1))
        .instruction_file_suffix(".custom")
        .build()
        .unwrap();
    let opts = PutOptions::default().instruction_file(true);
    c.put_object_with("b", "j", &b"x"[..], None, &opts).unwrap();
    assert_eq!(s3.keys(), ["j", "j.instruction"]);
    let body = s3.object("j.instruction").unwrap().body;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(v.as_object().unwrap().contains_key("x-amz-3"));
    // Per put, without the client-wide setting.
    c.put_object("b", "m", &b"x"[..], None, &Context::new())
        .unwrap();
    assert_eq!(s3.keys(), ["j", "j.instruction", "m"]);
}

#[test]
fn forbid_policy_reads_what_it_writes() {
    // spec: key-commitment.md#commitment-policy/2 key-commitment.md#commitment-policy/5 client.md#key-commitment/1
    let s3 = FakeS3::new();
    let v2 = Client::builder(s3.clone(), ring(1))
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .build()
        .unwrap();
    let out = v2
        .put_object("b", "v2", &b"old"[..], None, &Context::new())
        .unwrap();
    assert_eq!(out.format, FormatVersion::V2);
    assert_eq!(v2.get_object_to_vec("b", "v2", None).unwrap().0, b"old");
    let strict = client(&s3, 1);
    let out = strict
        .put_object("b", "v3", &b"new"[..], None, &Context::new())
        .unwrap();
    assert_eq!(out.format, FormatVersion::V3);
}

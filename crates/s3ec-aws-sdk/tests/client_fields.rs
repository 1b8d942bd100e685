//! The async client over `AwsSdkTransport` against moto: every request
//! field a put can carry comes back from a plain SDK HEAD and from the
//! get; versions, range forms, get to a path; local keyrings without the
//! `Local(..)` wrapper and several keyrings through `AsyncKeyrings`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::bucket;
use s3ec_aws_sdk::AwsSdkTransport;
use s3ec_client::{
    AsyncClient, AsyncKeyrings, ChecksumAlgorithm, ClientError, GetOptions, KeyringError,
    LegacyOptions, PlaintextRange, ServerSideEncryption,
};
use s3ec_local::AesKeyring;

fn s3() -> aws_sdk_s3::Client {
    common::s3_client(s3ec_testkit::moto().endpoint())
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

fn client() -> AsyncClient {
    // A local keyring straight in, no `Local(..)`.
    AsyncClient::builder(
        AwsSdkTransport::new(s3()),
        AesKeyring::new(&[4u8; 32]).unwrap(),
    )
    .part_size(5 << 20)
    .legacy(LegacyOptions {
        unauthenticated_modes: true,
        ..Default::default()
    })
    .build()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_put_field_reaches_s3_and_comes_back() {
    let b = bucket("afields");
    let c = client();
    for (key, len) in [("single", 1000usize), ("multi", (11 << 20) + 5)] {
        let body = data(len, 3);
        c.put()
            .bucket(&b)
            .key(key)
            .body(&body[..])
            .content_type("application/json")
            .content_encoding("identity")
            .content_disposition("inline")
            .content_language("fr")
            .cache_control("no-cache")
            .expires("Wed, 21 Oct 2037 07:28:00 GMT")
            .metadata("department", "finance")
            .storage_class("ONEZONE_IA")
            .server_side_encryption(ServerSideEncryption::S3)
            .tag("confidential", "yes")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .if_none_match("*")
            .send()
            .await
            .unwrap();
        let head = s3().head_object().bucket(&b).key(key).send().await.unwrap();
        assert_eq!(head.content_type(), Some("application/json"));
        assert_eq!(head.content_encoding(), Some("identity"));
        assert_eq!(head.content_disposition(), Some("inline"));
        assert_eq!(head.content_language(), Some("fr"));
        assert_eq!(head.cache_control(), Some("no-cache"));
        assert!(head.expires_string().is_some_and(|e| e.contains("2037")));
        assert_eq!(
            head.storage_class().map(|s| s.as_str()),
            Some("ONEZONE_IA"),
            "{key}"
        );
        assert_eq!(
            head.server_side_encryption().map(|s| s.as_str()),
            Some("AES256")
        );
        assert_eq!(
            head.metadata()
                .and_then(|m| m.get("department"))
                .map(String::as_str),
            Some("finance")
        );
        let tags = s3()
            .get_object_tagging()
            .bucket(&b)
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(tags.tag_set().len(), 1);

        let (plain, got) = c.get().bucket(&b).key(key).send_to_vec().await.unwrap();
        assert_eq!(plain, body);
        assert_eq!(got.object.content_type.as_deref(), Some("application/json"));
        assert_eq!(got.object.storage_class.as_deref(), Some("ONEZONE_IA"));
        assert_eq!(
            got.object.metadata,
            vec![("department".to_string(), "finance".to_string())]
        );
        let h = c.get().bucket(&b).key(key).head().await.unwrap();
        assert_eq!(h.plaintext_len, Some(len as u64));
        assert_eq!(h.object.content_language.as_deref(), Some("fr"));
    }
    let e = c
        .put()
        .bucket(&b)
        .key("single")
        .body(&b"again"[..])
        .if_none_match("*")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Transport(t) if t.status == Some(412)),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_ranges_and_get_to_path() {
    let b = bucket("aversions");
    s3ec_testkit::enable_versioning(s3ec_testkit::moto().endpoint(), &b).unwrap();
    let c = client();
    let old = data(70_000, 1);
    c.put()
        .bucket(&b)
        .key("k")
        .body(&old[..])
        .send()
        .await
        .unwrap();
    let (_, first) = c.get().bucket(&b).key("k").send_to_vec().await.unwrap();
    let v1 = first.object.version_id.clone().unwrap();
    c.put()
        .bucket(&b)
        .key("k")
        .body(&b"new"[..])
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("v1.bin");
    let got = c
        .get()
        .bucket(&b)
        .key("k")
        .version_id(&v1)
        .send_to_path(&dest)
        .await
        .unwrap();
    assert_eq!(got.object.version_id.as_deref(), Some(v1.as_str()));
    assert_eq!(std::fs::read(&dest).unwrap(), old);

    for (spec, want) in [
        ("bytes=-10", &old[69_990..]),
        ("bytes=69000-", &old[69_000..]),
        ("bytes=5-20", &old[5..=20]),
    ] {
        let mut out = Vec::new();
        c.get_range(
            &b,
            "k",
            spec.parse::<PlaintextRange>().unwrap(),
            &mut out,
            &GetOptions::default().version_id(&v1),
        )
        .await
        .unwrap();
        assert_eq!(out, want, "{spec}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn async_keyrings_try_each_key_and_report_the_stored_description() {
    let b = bucket("arings");
    let old_key = AesKeyring::new(&[1u8; 32]).unwrap();
    let writer = AsyncClient::builder(AwsSdkTransport::new(s3()), old_key.clone())
        .build()
        .unwrap();
    writer
        .put()
        .bucket(&b)
        .key("k")
        .body(&b"migrating"[..])
        .send()
        .await
        .unwrap();
    // A reader with a new key first and the old one second reads it.
    let rings = AsyncKeyrings::new()
        .with(
            AesKeyring::new(&[2u8; 32])
                .unwrap()
                .with_material_description([("k".to_string(), "new".to_string())].into()),
        )
        .with(old_key);
    let reader = AsyncClient::builder(AwsSdkTransport::new(s3()), rings)
        .build()
        .unwrap();
    let (plain, _) = reader
        .get()
        .bucket(&b)
        .key("k")
        .send_to_vec()
        .await
        .unwrap();
    assert_eq!(plain, b"migrating");
    // The new key alone: no keyring claims it, and the error says what
    // description the object carries.
    let new_only = AsyncClient::builder(
        AwsSdkTransport::new(s3()),
        AesKeyring::new(&[2u8; 32])
            .unwrap()
            .with_material_description([("k".to_string(), "new".to_string())].into()),
    )
    .build()
    .unwrap();
    let e = new_only
        .get()
        .bucket(&b)
        .key("k")
        .send_to_vec()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Keyring(KeyringError::NoMatchingKeyring { material_description, .. }) if material_description.is_empty()),
        "{e:?}"
    );
    assert!(e.to_string().contains("material description"), "{e}");
}

/// Object lock fields on a put reach S3: a bucket with object lock enabled
/// reports the retention and the legal hold the put set (S3 wants a checksum on such a put: CRC32 of the ciphertext).
#[tokio::test(flavor = "multi_thread")]
async fn object_lock_fields_reach_s3() {
    let b = bucket("alock");
    s3().create_bucket()
        .bucket(&b)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    let c = client();
    for (key, len) in [("single", 1000usize), ("multi", (5 << 20) + 9)] {
        let body = data(len, 5);
        c.put()
            .bucket(&b)
            .key(key)
            .body(&body[..])
            .object_lock_mode("GOVERNANCE")
            .object_lock_retain_until("2099-01-01T00:00:00Z")
            .object_lock_legal_hold(true)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .unwrap();
        let (plain, _) = c.get().bucket(&b).key(key).send_to_vec().await.unwrap();
        assert_eq!(plain, body);
        if key == "multi" {
            // moto's CompleteMultipartUpload drops the lock fields
            // CreateMultipartUpload was sent with (the transport sends them
            // through the same setters as on a PUT).
            continue;
        }
        // (moto answers GetObjectRetention with the object; HEAD has it all.)
        let h = s3().head_object().bucket(&b).key(key).send().await.unwrap();
        assert_eq!(
            h.object_lock_mode().map(|m| m.as_str()),
            Some("GOVERNANCE"),
            "{key}"
        );
        assert!(
            h.object_lock_retain_until_date()
                .is_some_and(|d| d.secs() == 4_070_908_800),
            "{key}: {h:?}"
        );
        assert_eq!(
            h.object_lock_legal_hold_status().map(|s| s.as_str()),
            Some("ON"),
            "{key}"
        );
    }
}

//! The blocking client over this transport against moto: every request
//! field a put can carry comes back from a plain HEAD and from the get;
//! versions, ranges in every form, get to a path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{bucket, data, direct};
use s3ec_client::transport::{ErrorKind, ObjectRequest, Transport};
use s3ec_client::{
    ChecksumAlgorithm, Client, ClientError, GetOptions, PlaintextRange, ServerSideEncryption,
};
use s3ec_local::AesKeyring;

fn client() -> Client {
    Client::builder(direct(), AesKeyring::new(&[9u8; 32]).unwrap())
        .part_size(5 << 20)
        .build()
        .unwrap()
}

fn ranged_client() -> Client {
    Client::builder(direct(), AesKeyring::new(&[9u8; 32]).unwrap())
        .legacy(s3ec_client::LegacyOptions {
            unauthenticated_modes: true,
            ..Default::default()
        })
        .build()
        .unwrap()
}

#[test]
fn every_put_field_reaches_s3_and_comes_back() {
    let b = bucket("fields");
    let c = client();
    for (key, len) in [("single", 1000usize), ("multi", (11 << 20) + 5)] {
        let body = data(len, 3);
        let out = c
            .put()
            .bucket(&b)
            .key(key)
            .body(&body[..])
            .content_type("text/csv; charset=utf-8")
            .content_encoding("identity")
            .content_disposition("attachment; filename=\"q4.csv\"")
            .content_language("de-CH")
            .cache_control("max-age=60")
            .expires("Wed, 21 Oct 2037 07:28:00 GMT")
            .metadata("department", "finance")
            .metadata("Owner", "alice")
            .storage_class("STANDARD_IA")
            .server_side_encryption(ServerSideEncryption::S3)
            .tag("confidential", "yes")
            .tag("team", "a b/c")
            .checksum_algorithm(ChecksumAlgorithm::Crc32c)
            .acl("private")
            .if_none_match("*")
            .send()
            .unwrap();
        assert_eq!(out.parts.is_some(), len > 5 << 20, "{key}");

        // What a plain HEAD sees.
        let head = direct().head_object(&ObjectRequest::new(&b, key)).unwrap();
        assert_eq!(
            head.content_type.as_deref(),
            Some("text/csv; charset=utf-8")
        );
        assert_eq!(head.content_encoding.as_deref(), Some("identity"));
        assert_eq!(
            head.content_disposition.as_deref(),
            Some("attachment; filename=\"q4.csv\"")
        );
        assert_eq!(head.content_language.as_deref(), Some("de-CH"));
        assert_eq!(head.cache_control.as_deref(), Some("max-age=60"));
        assert!(
            head.expires.as_deref().is_some_and(|e| e.contains("2037")),
            "{head:?}"
        );
        assert_eq!(head.storage_class.as_deref(), Some("STANDARD_IA"), "{key}");
        assert_eq!(head.server_side_encryption.as_deref(), Some("AES256"));
        assert!(head.last_modified.is_some());
        assert!(head
            .metadata
            .iter()
            .any(|(k, v)| k == "department" && v == "finance"));
        assert!(
            head.metadata.iter().any(|(k, _)| k == "x-amz-3"),
            "envelope stored"
        );

        // What the client's get and head return.
        let (plain, got) = c.get().bucket(&b).key(key).send_to_vec().unwrap();
        assert_eq!(plain, body);
        assert_eq!(
            got.object.content_type.as_deref(),
            Some("text/csv; charset=utf-8")
        );
        assert_eq!(got.object.storage_class.as_deref(), Some("STANDARD_IA"));
        assert_eq!(got.object.tag_count, Some(2), "tags");
        let mut user = got.object.metadata.clone();
        user.sort();
        assert_eq!(
            user,
            vec![
                ("department".to_string(), "finance".to_string()),
                ("owner".to_string(), "alice".to_string())
            ],
            "user metadata without the envelope's keys"
        );
        let h = c.get().bucket(&b).key(key).head().unwrap();
        assert_eq!(h.plaintext_len, Some(len as u64));
        assert_eq!(h.object.metadata, got.object.metadata);
        assert_eq!(h.info.format, s3ec_client::FormatVersion::V3);
        assert_eq!(h.object.etag, got.etag);
    }
}

#[test]
fn if_none_match_refuses_an_existing_key() {
    let b = bucket("inm");
    let c = client();
    c.put()
        .bucket(&b)
        .key("k")
        .body(&b"one"[..])
        .if_none_match("*")
        .send()
        .unwrap();
    let e = c
        .put()
        .bucket(&b)
        .key("k")
        .body(&b"two"[..])
        .if_none_match("*")
        .send()
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Transport(t) if t.kind == ErrorKind::PreconditionFailed),
        "{e:?}"
    );
    let (plain, _) = c.get().bucket(&b).key("k").send_to_vec().unwrap();
    assert_eq!(plain, b"one");
}

#[test]
fn sse_kms_fields_are_sent() {
    let b = bucket("ssekms");
    let c = client();
    c.put()
        .bucket(&b)
        .key("k")
        .body(&b"x"[..])
        .server_side_encryption(ServerSideEncryption::Kms {
            key_id: Some("alias/my-key".into()),
            bucket_key: Some(true),
        })
        .send()
        .unwrap();
    let head = direct().head_object(&ObjectRequest::new(&b, "k")).unwrap();
    assert_eq!(head.server_side_encryption.as_deref(), Some("aws:kms"));
    assert!(
        head.sse_kms_key_id
            .as_deref()
            .is_some_and(|k| k.contains("my-key")),
        "{head:?}"
    );
}

#[test]
fn reserved_metadata_keys_are_refused_before_anything_is_sent() {
    let b = bucket("reserved");
    let c = client();
    for k in [
        "x-amz-key-v2",
        "X-Amz-3",
        "x-amz-unencrypted-content-length",
    ] {
        let e = c
            .put()
            .bucket(&b)
            .key("k")
            .body(&b"x"[..])
            .metadata(k, "v")
            .send()
            .unwrap_err();
        assert!(
            matches!(&e, ClientError::ReservedMetadataKey { key } if key == k),
            "{e:?}"
        );
    }
    let e = direct()
        .head_object(&ObjectRequest::new(&b, "k"))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[test]
fn missing_bucket_or_key_is_a_clear_error() {
    let e = client().put().key("k").body(&b"x"[..]).send().unwrap_err();
    assert!(
        matches!(e, ClientError::MissingRequestField { field: "bucket" }),
        "{e:?}"
    );
    let e = client().get().bucket("b").send_to_vec().unwrap_err();
    assert!(
        matches!(e, ClientError::MissingRequestField { field: "key" }),
        "{e:?}"
    );
}

#[test]
fn versions_are_read_by_id() {
    let b = bucket("versions");
    s3ec_testkit::enable_versioning(common::moto(), &b).unwrap();
    let c = client();
    c.put()
        .bucket(&b)
        .key("k")
        .body(&b"old"[..])
        .send()
        .unwrap();
    let (_, first) = c.get().bucket(&b).key("k").send_to_vec().unwrap();
    let first_id = first
        .object
        .version_id
        .clone()
        .expect("versioned: a version id");
    c.put()
        .bucket(&b)
        .key("k")
        .body(&b"newer"[..])
        .send()
        .unwrap();
    let (now, got) = c.get().bucket(&b).key("k").send_to_vec().unwrap();
    assert_eq!(now, b"newer");
    assert_ne!(got.object.version_id.as_deref(), Some(first_id.as_str()));

    let (plain, got) = c
        .get()
        .bucket(&b)
        .key("k")
        .version_id(&first_id)
        .send_to_vec()
        .unwrap();
    assert_eq!(plain, b"old");
    assert_eq!(got.object.version_id.as_deref(), Some(first_id.as_str()));
    let h = c
        .get()
        .bucket(&b)
        .key("k")
        .version_id(&first_id)
        .head()
        .unwrap();
    assert_eq!(h.plaintext_len, Some(3));
    assert_eq!(h.object.version_id.as_deref(), Some(first_id.as_str()));

    // Ranged reads of an old version stay on it.
    let mut out = Vec::new();
    ranged_client()
        .get_range(
            &b,
            "k",
            PlaintextRange::Suffix(2),
            &mut out,
            &GetOptions::default().version_id(&first_id),
        )
        .unwrap();
    assert_eq!(out, b"ld");

    // Deleting the version removes it; the current one stays.
    direct()
        .delete_object(&ObjectRequest {
            version_id: Some(&first_id),
            ..ObjectRequest::new(&b, "k")
        })
        .unwrap();
    let e = c
        .get()
        .bucket(&b)
        .key("k")
        .version_id(&first_id)
        .send_to_vec()
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Transport(t) if t.kind == ErrorKind::NotFound || t.status == Some(400)),
        "{e:?}"
    );
    let (now, _) = c.get().bucket(&b).key("k").send_to_vec().unwrap();
    assert_eq!(now, b"newer");
}

#[test]
fn get_to_path_publishes_only_authenticated_plaintext() {
    let b = bucket("topath");
    let c = client();
    let body = data((6 << 20) + 17, 5);
    c.put()
        .bucket(&b)
        .key("big")
        .body(&body[..])
        .send()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.bin");
    let got = c.get().bucket(&b).key("big").send_to_path(&dest).unwrap();
    assert_eq!(got.plaintext_len, body.len() as u64);
    assert_eq!(std::fs::read(&dest).unwrap(), body);

    // Tamper with the stored ciphertext (re-put the body with one bit
    // flipped, keeping the envelope): the get fails, the old file stays as
    // it was and nothing else is left in the folder.
    let t = direct();
    let mut resp = t
        .get_object(&s3ec_client::transport::GetRequest::new(&b, "big"))
        .unwrap();
    let mut ct = Vec::new();
    std::io::Read::read_to_end(&mut resp.body, &mut ct).unwrap();
    ct[1234] ^= 1;
    t.put_object(
        &s3ec_client::transport::PutRequest::new(&b, "big", &resp.head.metadata),
        ct.into(),
    )
    .unwrap();
    let e = c
        .get()
        .bucket(&b)
        .key("big")
        .send_to_path(&dest)
        .unwrap_err();
    assert!(matches!(e, ClientError::Authentication), "{e:?}");
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        body,
        "the old file is untouched"
    );
    let e = c
        .get()
        .bucket(&b)
        .key("big")
        .send_to_path(dir.path().join("new.bin"))
        .unwrap_err();
    assert!(matches!(e, ClientError::Authentication), "{e:?}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("out.bin")],
        "no temporary file left"
    );
}

#[test]
fn every_range_form_at_the_edges() {
    let b = bucket("ranges");
    let c = ranged_client();
    let len = 100_000usize;
    let body = data(len, 7);
    c.put().bucket(&b).key("r").body(&body[..]).send().unwrap();
    let opts = GetOptions::default();
    let cases: Vec<(&str, std::ops::RangeInclusive<usize>)> = vec![
        ("bytes=0-0", 0..=0),
        ("bytes=0-15", 0..=15),
        ("bytes=15-16", 15..=16),
        ("bytes=99999-99999", 99_999..=99_999),
        ("bytes=99990-200000", 99_990..=99_999),
        ("bytes=12345-", 12_345..=99_999),
        ("bytes=0-", 0..=99_999),
        ("bytes=-1", 99_999..=99_999),
        ("bytes=-16", 99_984..=99_999),
        ("bytes=-100000", 0..=99_999),
        ("bytes=-500000", 0..=99_999),
    ];
    for (spec, want) in cases {
        let mut out = Vec::new();
        let r = c
            .get_range(&b, "r", spec.parse().unwrap(), &mut out, &opts)
            .unwrap();
        assert_eq!(out, &body[want.clone()], "{spec}");
        assert_eq!(r.first, *want.start() as u64, "{spec}");
        assert_eq!(r.object_plaintext_len, len as u64);
    }
    for spec in ["bytes=100000-", "bytes=100000-100001", "bytes=-0"] {
        let e = c
            .get_range(&b, "r", spec.parse().unwrap(), &mut Vec::new(), &opts)
            .unwrap_err();
        assert!(
            matches!(e, ClientError::InvalidRange { .. }),
            "{spec}: {e:?}"
        );
    }
    for spec in [
        "bytes=5-2",
        "bytes=",
        "items=0-1",
        "bytes=a-",
        "bytes=1-2,4-5",
    ] {
        assert!(spec.parse::<PlaintextRange>().is_err(), "{spec}");
    }
    // An empty object: the open forms read nothing.
    c.put()
        .bucket(&b)
        .key("empty")
        .body(&b""[..])
        .send()
        .unwrap();
    for spec in ["bytes=-5", "bytes=0-"] {
        let mut out = Vec::new();
        let r = c
            .get_range(&b, "empty", spec.parse().unwrap(), &mut out, &opts)
            .unwrap();
        assert!(out.is_empty() && r.len == 0, "{spec}");
    }
}

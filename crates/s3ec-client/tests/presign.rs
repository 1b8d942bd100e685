//! Presigned uploads over the in-memory fake S3, through both clients (one
//! shared check in the crate's `ops`): a device's envelope is presigned
//! only when it opens under the client's keyring and commitment policy;
//! every refused envelope is refused before the transport is asked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::FakeS3;
use s3ec_client::transport::{ErrorKind, PresignedRequest};
use s3ec_client::{AsyncClient, Client, ClientError, CommitmentPolicy, PutOptions};
use s3ec_local::AesKeyring;

fn ring(byte: u8) -> AesKeyring {
    AesKeyring::new(&[byte; 32]).unwrap()
}

/// Presign `envelope` for `up` through the blocking or the async client
/// over `s3`, with keyring `key` and `policy`.
fn presign(
    blocking: bool,
    s3: &FakeS3,
    key: u8,
    policy: CommitmentPolicy,
    envelope: &[(String, String)],
) -> Result<PresignedRequest, ClientError> {
    let len = Some(1040);
    let ttl = Duration::from_secs(300);
    if blocking {
        let c = Client::builder(s3.clone(), ring(key))
            .commitment_policy(policy)
            .build()
            .unwrap();
        c.presign_put("b", "up", envelope, len, ttl)
    } else {
        let c = AsyncClient::builder(s3.clone(), ring(key))
            .commitment_policy(policy)
            .build()
            .unwrap();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(c.presign_put("b", "up", envelope, len, ttl))
    }
}

/// The envelope (user metadata) of an object written with `policy` (the
/// device's, here made by the client itself).
fn device_envelope(
    s3: &FakeS3,
    name: &str,
    policy: CommitmentPolicy,
    file: bool,
) -> Vec<(String, String)> {
    let c = Client::builder(s3.clone(), ring(0x42))
        .commitment_policy(policy)
        .build()
        .unwrap();
    c.put_object_with(
        "b",
        name,
        &b"a reading"[..],
        Some(9),
        &PutOptions::default().instruction_file(file),
    )
    .unwrap();
    s3.object(name).unwrap().metadata
}

fn presigned(s3: &FakeS3) -> usize {
    s3.log()
        .iter()
        .filter(|op| op.starts_with("presign_put:"))
        .count()
}

#[test]
fn an_envelope_that_opens_is_presigned_as_given() {
    for blocking in [true, false] {
        let s3 = FakeS3::new();
        let strict = CommitmentPolicy::RequireEncryptRequireDecrypt;
        let env = device_envelope(&s3, "v3", strict, false);
        assert!(env.iter().any(|(k, _)| k == "x-amz-d"), "{env:?}");
        let p = presign(blocking, &s3, 0x42, strict, &env).unwrap();
        assert_eq!(s3.log().last().unwrap(), "presign_put:up");
        // Every envelope entry, unchanged, is a header to sign; and the length.
        let mut want: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (format!("x-amz-meta-{k}"), v.clone()))
            .collect();
        want.push(("content-length".into(), "1040".into()));
        assert_eq!(p.headers, want);
        assert_eq!(p.method, "PUT");

        // A V2 envelope, where the policy allows reading V2.
        let migrating = CommitmentPolicy::ForbidEncryptAllowDecrypt;
        let env = device_envelope(&s3, "v2", migrating, false);
        assert!(env.iter().any(|(k, _)| k == "x-amz-key-v2"), "{env:?}");
        presign(blocking, &s3, 0x42, migrating, &env).unwrap();
        assert_eq!(presigned(&s3), 2);
    }
}

#[test]
fn refused_envelopes_are_not_presigned() {
    let strict = CommitmentPolicy::RequireEncryptRequireDecrypt;
    for blocking in [true, false] {
        let s3 = FakeS3::new();
        let v3 = device_envelope(&s3, "v3", strict, false);

        // Another key.
        let e = presign(blocking, &s3, 0x43, strict, &v3).unwrap_err();
        assert!(matches!(e, ClientError::Keyring(_)), "{e:?}");

        // The key commitment changed (the data key still unwraps).
        let mut tampered = v3.clone();
        for (k, v) in &mut tampered {
            if k == "x-amz-d" {
                *v = if v.starts_with('A') { "B" } else { "A" }.to_string() + &v[1..];
            }
        }
        let e = presign(blocking, &s3, 0x42, strict, &tampered).unwrap_err();
        assert!(matches!(e, ClientError::Authentication), "{e:?}");

        // An entry missing.
        let partial: Vec<_> = v3.iter().filter(|(k, _)| k != "x-amz-3").cloned().collect();
        let e = presign(blocking, &s3, 0x42, strict, &partial).unwrap_err();
        assert!(matches!(e, ClientError::Format(_)), "{e:?}");

        // No envelope at all (plain metadata: read as an instruction file object).
        let plain = vec![("owner".to_string(), "device-7".to_string())];
        let e = presign(blocking, &s3, 0x42, strict, &plain).unwrap_err();
        assert!(matches!(e, ClientError::Format(_)), "{e:?}");

        // An envelope in an instruction file: the object's metadata alone
        // (what would be signed) does not open.
        let marker = device_envelope(&s3, "file", strict, true);
        let e = presign(blocking, &s3, 0x42, strict, &marker).unwrap_err();
        assert!(matches!(e, ClientError::Format(_)), "{e:?}");

        // A V2 envelope under a policy that requires commitment.
        let v2 = device_envelope(
            &s3,
            "v2",
            CommitmentPolicy::ForbidEncryptAllowDecrypt,
            false,
        );
        let e = presign(blocking, &s3, 0x42, strict, &v2).unwrap_err();
        assert!(matches!(e, ClientError::CommitmentPolicy { .. }), "{e:?}");

        assert_eq!(presigned(&s3), 0, "{:?}", s3.log());
    }
}

#[test]
fn transport_failures_and_transports_that_cannot_presign() {
    let strict = CommitmentPolicy::RequireEncryptRequireDecrypt;
    for blocking in [true, false] {
        let s3 = FakeS3::new();
        let env = device_envelope(&s3, "v3", strict, false);
        s3.fail_once("presign_put:up");
        let e = presign(blocking, &s3, 0x42, strict, &env).unwrap_err();
        assert!(
            matches!(&e, ClientError::Transport(t) if t.kind == ErrorKind::Unavailable),
            "{e:?}"
        );

        // The local folder store keeps the trait's default: Unsupported.
        let dir = tempfile::tempdir().unwrap();
        let store = s3ec_fs::FsStore::new(dir.path()).unwrap();
        let ttl = Duration::from_secs(60);
        let e = if blocking {
            let c = Client::builder(store, ring(0x42)).build().unwrap();
            c.presign_put("b", "up", &env, None, ttl).unwrap_err()
        } else {
            let c = AsyncClient::builder(store, ring(0x42)).build().unwrap();
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(c.presign_put("b", "up", &env, None, ttl))
                .unwrap_err()
        };
        assert!(
            matches!(&e, ClientError::Transport(t) if t.kind == ErrorKind::Unsupported),
            "{e:?}"
        );
    }
}

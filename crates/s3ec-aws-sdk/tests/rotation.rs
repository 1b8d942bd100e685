//! Key rotation against moto (S3 + KMS): every keyring (AES, RSA, KMS) and
//! both envelope storage modes on the blocking client (reqwest), AES and
//! KMS on the async client (AWS SDK); the new key reads, the old key is
//! refused, the body bytes and the other properties are unchanged; the same
//! key is refused; a custom instruction-file suffix; the multipart copy
//! path; and a failure injected at each step leaves the object readable
//! with one of the two keys.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

mod common;

use std::sync::Arc;

use aws_sdk_s3::types::MetadataDirective;
use common::{bucket, kms_client, reqwest_transport, s3_client};
use s3ec_aws_sdk::AwsSdkTransport;
use s3ec_client::transport::{GetRequest, Transport};
use s3ec_client::{
    AsyncClient, Client, ClientError, GetOptions, PutOptions, RotateOptions, RotationError,
};
use s3ec_keyring::{Context, Keyring, Keyrings, Local};
use s3ec_kms::{AwsKms, KmsKeyring};
use s3ec_local::{AesKeyring, RsaKeyring};
use s3ec_testkit::faults::{Fault, FaultProxy};

const MIB: usize = 1 << 20;

async fn kms_keyring() -> KmsKeyring {
    let kms = kms_client();
    let arn = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    KmsKeyring::new(AwsKms::new(kms), arn).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn aes(byte: u8, name: &str) -> AesKeyring {
    AesKeyring::new(&[byte; 32])
        .unwrap()
        .with_material_description(Context::from([("key".into(), name.into())]))
}

fn rsa(file: &str, name: &str) -> RsaKeyring {
    let pem = std::fs::read_to_string(
        s3ec_testkit::workspace_root()
            .join("crates/s3ec-local/tests/data")
            .join(file),
    )
    .unwrap();
    RsaKeyring::from_pem(&pem)
        .unwrap()
        .with_material_description(Context::from([("key".into(), name.into())]))
}

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn raw(t: &dyn Transport, b: &str, k: &str) -> Vec<u8> {
    let mut resp = t
        .get_object(&GetRequest {
            bucket: b,
            key: k,
            range: None,
            if_match: None,
            ..GetRequest::default()
        })
        .unwrap();
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut resp.body, &mut v).unwrap();
    v
}

/// Give the object a Content-Type and a user metadata entry (a plain
/// metadata-replacing copy that keeps the envelope), as an application's
/// object would have.
fn decorate(rt: &tokio::runtime::Runtime, s3: &aws_sdk_s3::Client, b: &str, k: &str) {
    rt.block_on(async {
        let head = s3.head_object().bucket(b).key(k).send().await.unwrap();
        let mut meta = head.metadata().cloned().unwrap_or_default();
        meta.insert("owner".into(), "alice".into());
        s3.copy_object()
            .bucket(b)
            .key(k)
            .copy_source(format!("{b}/{k}"))
            .metadata_directive(MetadataDirective::Replace)
            .set_metadata(Some(meta))
            .content_type("text/x-rotation")
            .cache_control("max-age=60")
            .send()
            .await
            .unwrap();
    });
}

fn check_decorations(rt: &tokio::runtime::Runtime, s3: &aws_sdk_s3::Client, b: &str, k: &str) {
    let head = rt
        .block_on(s3.head_object().bucket(b).key(k).send())
        .unwrap();
    assert_eq!(head.content_type(), Some("text/x-rotation"), "{k}");
    assert_eq!(head.cache_control(), Some("max-age=60"), "{k}");
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("owner"))
            .map(String::as_str),
        Some("alice"),
        "{k}"
    );
}

fn reads(c: &Client, b: &str, k: &str, want: &[u8]) -> bool {
    match c.get_object_to_vec(b, k, None) {
        Ok((got, _)) => {
            assert!(got == want, "{k}: decrypted to other bytes");
            true
        }
        Err(_) => false,
    }
}

#[test]
fn blocking_every_keyring_and_placement() {
    let endpoint = s3ec_testkit::moto().endpoint();
    let rt = runtime();
    let s3 = s3_client(endpoint);
    let b = bucket("rotate");
    let kms_old = rt.block_on(kms_keyring());
    let kms_new = rt.block_on(kms_keyring());
    let cases: Vec<(&str, Arc<dyn Keyring>, Arc<dyn Keyring>)> = vec![
        ("aes", Arc::new(aes(1, "old")), Arc::new(aes(2, "new"))),
        (
            "rsa",
            Arc::new(rsa("rsa2048-pkcs1.pem", "old")),
            Arc::new(rsa("rsa8192-pkcs1.pem", "new")),
        ),
        ("kms", Arc::new(kms_old), Arc::new(kms_new)),
    ];
    let t = Arc::new(reqwest_transport(endpoint, 3));
    let plain = body(70_001);
    for (name, old, new) in cases {
        let c_old = Client::builder_shared(t.clone(), old.clone())
            .build()
            .unwrap();
        let c_new = Client::builder_shared(t.clone(), new.clone())
            .build()
            .unwrap();
        for instruction_file in [false, true] {
            let k = format!("{name}-{instruction_file}");
            let opts = PutOptions::default().instruction_file(instruction_file);
            c_old
                .put_object_with(&b, &k, &plain[..], None, &opts)
                .unwrap();
            decorate(&rt, &s3, &b, &k);
            let before = raw(t.as_ref(), &b, &k);
            let out = c_old
                .rotate_object(&b, &k, new.as_ref(), &RotateOptions::default())
                .unwrap();
            assert!(!out.multipart_copy);
            assert!(reads(&c_new, &b, &k, &plain), "{k}: the new key reads");
            assert!(
                !reads(&c_old, &b, &k, &plain),
                "{k}: the old key is refused"
            );
            assert!(raw(t.as_ref(), &b, &k) == before, "{k}: body bytes changed");
            check_decorations(&rt, &s3, &b, &k);
            // Rotating to the key it already has is refused, unless told.
            let e = c_new
                .rotate_object(&b, &k, new.as_ref(), &RotateOptions::default())
                .unwrap_err();
            assert!(
                matches!(e, ClientError::Rotation(RotationError::SameKey)),
                "{k}: {e:?}"
            );
            c_new
                .rotate_object(
                    &b,
                    &k,
                    new.as_ref(),
                    &RotateOptions::default().allow_same_key(true),
                )
                .unwrap();
            assert!(reads(&c_new, &b, &k, &plain), "{k}: still reads");

            // A client that reads with both keys (old first) rotates an
            // object still under the old key, and a rerun (after a crash)
            // finds it done: refused as already under the new key, with
            // nothing written.
            let c_both = Client::builder(
                t.clone(),
                Keyrings::new().with(old.clone()).with(new.clone()),
            )
            .build()
            .unwrap();
            let k2 = format!("{k}-rerun");
            c_old
                .put_object_with(&b, &k2, &plain[..], None, &opts)
                .unwrap();
            c_both
                .rotate_object(&b, &k2, new.as_ref(), &RotateOptions::default())
                .unwrap();
            let rotated = raw(t.as_ref(), &b, &k2);
            let e = c_both
                .rotate_object(&b, &k2, new.as_ref(), &RotateOptions::default())
                .unwrap_err();
            assert!(
                matches!(e, ClientError::Rotation(RotationError::SameKey)),
                "{k2}: {e:?}"
            );
            assert!(raw(t.as_ref(), &b, &k2) == rotated, "{k2}: rewritten");
            assert!(reads(&c_new, &b, &k2, &plain), "{k2}: the new key reads");
            assert!(
                !reads(&c_old, &b, &k2, &plain),
                "{k2}: the old key is refused"
            );
        }
    }
}

#[test]
fn custom_suffix_and_multipart_copy() {
    let endpoint = s3ec_testkit::moto().endpoint();
    let rt = runtime();
    let s3 = s3_client(endpoint);
    let b = bucket("rotate-sfx");
    let t = Arc::new(reqwest_transport(endpoint, 3));
    let old: Arc<dyn Keyring> = Arc::new(aes(1, "old"));
    let partner: Arc<dyn Keyring> = Arc::new(aes(3, "partner"));
    let c_old = Client::builder_shared(t.clone(), old.clone())
        .build()
        .unwrap();
    let c_partner = Client::builder_shared(t.clone(), partner.clone())
        .build()
        .unwrap();
    let plain = body(1000);
    c_old
        .put_object_with(
            &b,
            "shared",
            &plain[..],
            None,
            &PutOptions::default().instruction_file(true),
        )
        .unwrap();
    let out = c_old
        .rotate_object(
            &b,
            "shared",
            partner.as_ref(),
            &RotateOptions::default().instruction_file_suffix("partner"),
        )
        .unwrap();
    assert_eq!(out.written_key, "shared.partner");
    // The default file is untouched: the old key still reads; the partner
    // reads through its own file.
    assert!(reads(&c_old, &b, "shared", &plain));
    let (got, _) = c_partner
        .get_object_to_vec_with_suffix(&b, "shared", ".partner")
        .unwrap();
    assert!(got == plain);
    // A custom suffix on an object whose envelope is in its metadata.
    c_old
        .put_object(&b, "meta", &plain[..], None, &Context::new())
        .unwrap();
    let e = c_old
        .rotate_object(
            &b,
            "meta",
            partner.as_ref(),
            &RotateOptions::default().instruction_file_suffix("partner"),
        )
        .unwrap_err();
    assert!(matches!(
        e,
        ClientError::Rotation(RotationError::SuffixNeedsInstructionFile)
    ));

    // Multipart copy (UploadPartCopy) with a lowered threshold.
    let big = body(11 * MIB + 5);
    c_old
        .put_object(&b, "big", &big[..], None, &Context::new())
        .unwrap();
    decorate(&rt, &s3, &b, "big");
    let before = raw(t.as_ref(), &b, "big");
    let out = c_old
        .rotate_object(
            &b,
            "big",
            partner.as_ref(),
            &RotateOptions::default().multipart_copy(5 * MIB as u64, 5 * MIB as u64),
        )
        .unwrap();
    assert!(out.multipart_copy);
    assert!(reads(&c_partner, &b, "big", &big));
    assert!(!reads(&c_old, &b, "big", &big));
    assert!(raw(t.as_ref(), &b, "big") == before);
    let head = rt
        .block_on(s3.head_object().bucket(&b).key("big").send())
        .unwrap();
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("owner"))
            .map(String::as_str),
        Some("alice")
    );
}

trait SuffixGet {
    fn get_object_to_vec_with_suffix(
        &self,
        b: &str,
        k: &str,
        suffix: &str,
    ) -> Result<(Vec<u8>, ()), ClientError>;
}

impl SuffixGet for Client {
    fn get_object_to_vec_with_suffix(
        &self,
        b: &str,
        k: &str,
        suffix: &str,
    ) -> Result<(Vec<u8>, ()), ClientError> {
        let mut out = Vec::new();
        self.get_object_with(
            b,
            k,
            &mut out,
            &GetOptions::default().instruction_file_suffix(suffix),
        )?;
        Ok((out, ()))
    }
}

#[test]
fn a_failure_at_each_step_leaves_the_object_readable() {
    let endpoint = s3ec_testkit::moto().endpoint();
    let b = bucket("rotate-faults");
    let proxy = FaultProxy::start(endpoint).unwrap();
    let t = Arc::new(reqwest_transport(&proxy.endpoint(), 0));
    let old: Arc<dyn Keyring> = Arc::new(aes(1, "old"));
    let new: Arc<dyn Keyring> = Arc::new(aes(2, "new"));
    let c_old = Client::builder_shared(t.clone(), old.clone())
        .build()
        .unwrap();
    let c_new = Client::builder_shared(t.clone(), new.clone())
        .build()
        .unwrap();
    let small = body(5000);
    let big = body(11 * MIB);
    let mp = RotateOptions::default().multipart_copy(5 * MIB as u64, 5 * MIB as u64);
    // (object, instruction file?, options, faults: method, path part, fault)
    type Step = (&'static str, &'static str, Fault);
    let plans: Vec<(&str, bool, RotateOptions, &[u8], Vec<Step>)> = vec![
        (
            "meta",
            false,
            RotateOptions::default(),
            &small,
            vec![
                ("HEAD", "/meta", Fault::Status(500)),
                ("PUT", "/meta", Fault::Status(500)),
                ("PUT", "/meta", Fault::Drop),
                // Forwarded (the copy happens), the answer cut off.
                ("PUT", "/meta", Fault::Truncate(0)),
            ],
        ),
        (
            "file",
            true,
            RotateOptions::default(),
            &small,
            vec![
                ("HEAD", "/file", Fault::Status(500)),
                ("GET", "/file.instruction", Fault::Status(500)),
                ("PUT", "/file.instruction", Fault::Status(500)),
                ("PUT", "/file.instruction", Fault::Drop),
            ],
        ),
        (
            "big",
            false,
            mp.clone(),
            &big,
            vec![
                ("POST", "uploads", Fault::Status(500)),
                ("PUT", "partNumber=1", Fault::Status(500)),
                ("PUT", "partNumber=3", Fault::Drop),
                ("POST", "uploadId", Fault::Status(500)),
            ],
        ),
    ];
    for (k, instruction_file, opts, plain, steps) in plans {
        c_old
            .put_object_with(
                &b,
                k,
                plain,
                None,
                &PutOptions::default().instruction_file(instruction_file),
            )
            .unwrap();
        let before = raw(t.as_ref(), &b, k);
        for (method, path, fault) in steps {
            proxy.clear();
            proxy.push_for(method, path, fault);
            let r = c_old.rotate_object(&b, k, new.as_ref(), &opts);
            let by_old = reads(&c_old, &b, k, plain);
            let by_new = reads(&c_new, &b, k, plain);
            assert!(
                by_old || by_new,
                "{k}: a failure at {method} {path} left the object unreadable ({r:?})"
            );
            assert!(raw(t.as_ref(), &b, k) == before, "{k}: body changed");
            if by_new {
                // The write happened (its answer was lost): done.
                break;
            }
            assert!(r.is_err(), "{k}: {method} {path}: fault not hit");
        }
        proxy.clear();
        if reads(&c_old, &b, k, plain) {
            c_old.rotate_object(&b, k, new.as_ref(), &opts).unwrap();
        }
        assert!(reads(&c_new, &b, k, plain) && !reads(&c_old, &b, k, plain));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_client_aes_and_kms() {
    let endpoint = s3ec_testkit::moto().endpoint().to_string();
    let b = bucket("rotate-async");
    let kms_old = Arc::new(kms_keyring().await);
    let kms_new = Arc::new(kms_keyring().await);
    let cases: Vec<(
        &str,
        Arc<dyn s3ec_keyring::AsyncKeyring>,
        Arc<dyn s3ec_keyring::AsyncKeyring>,
    )> = vec![
        (
            "aes",
            Arc::new(Local(aes(1, "old"))),
            Arc::new(Local(aes(2, "new"))),
        ),
        ("kms", kms_old, kms_new),
    ];
    let plain = body(3000);
    for (name, old, new) in cases {
        let t = Arc::new(AwsSdkTransport::new(s3_client(&endpoint)));
        let c_old = AsyncClient::builder_shared(t.clone(), old.clone())
            .build()
            .unwrap();
        let c_new = AsyncClient::builder_shared(t.clone(), new.clone())
            .build()
            .unwrap();
        for instruction_file in [false, true] {
            let k = format!("{name}-{instruction_file}");
            let opts = PutOptions::default().instruction_file(instruction_file);
            c_old
                .put_object_with(&b, &k, &plain[..], Some(plain.len() as u64), &opts)
                .await
                .unwrap();
            c_old
                .rotate_object(&b, &k, new.as_ref(), &RotateOptions::default())
                .await
                .unwrap();
            let mut out = Vec::new();
            c_new.get_object(&b, &k, &mut out, None).await.unwrap();
            assert!(out == plain, "{k}");
            let mut out = Vec::new();
            assert!(c_old.get_object(&b, &k, &mut out, None).await.is_err());
            let e = c_new
                .rotate_object(&b, &k, new.as_ref(), &RotateOptions::default())
                .await
                .unwrap_err();
            assert!(matches!(e, ClientError::Rotation(RotationError::SameKey)));
        }
    }
}

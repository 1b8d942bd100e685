//! Live tests of `KmsKeyring` over `AwsKms` against a moto KMS server
//! (started by s3ec-testkit; the first run installs moto into `.venv`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use s3ec_keyring::{
    AsyncKeyring, Context, DecryptRequest, EncryptRequest, EncryptedDataKey, Keyring, KeyringError,
    Keyrings, LegacyOptions, Suite, WrapAlg, KMS_CMK_ID, RESERVED_CEK_ALG,
};
use s3ec_kms::{AwsKms, KmsClient, KmsErrorKind, KmsKeyring};

fn sdk_client() -> aws_sdk_kms::Client {
    s3ec_testkit::sdk::kms_client(s3ec_testkit::moto().endpoint())
}

/// A fresh symmetric KMS key; its ARN.
async fn create_key(client: &aws_sdk_kms::Client) -> String {
    client
        .create_key()
        .description("s3ec-kms live test")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap()
}

/// A keyring over a new SDK client, for a new key; (keyring, key ARN, SDK client).
async fn fresh() -> (KmsKeyring, String, aws_sdk_kms::Client) {
    let client = sdk_client();
    let key = create_key(&client).await;
    let ring = KmsKeyring::new(AwsKms::new(client.clone()), key.clone()).unwrap();
    (ring, key, client)
}

fn ctx(pairs: &[(&str, &str)]) -> Context {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn dreq<'a>(
    suite: Suite,
    e: &'a EncryptedDataKey,
    expected: Option<&'a Context>,
) -> DecryptRequest<'a> {
    DecryptRequest {
        suite,
        wrap: e.wrap,
        encrypted_key: &e.ciphertext,
        cek_alg: suite.cek_alg(),
        stored_map: &e.stored_map,
        expected_context: expected,
        legacy: LegacyOptions::default(),
    }
}

async fn encrypt(
    ring: &KmsKeyring,
    suite: Suite,
    c: &Context,
) -> s3ec_keyring::EncryptionMaterials {
    AsyncKeyring::on_encrypt(ring, &EncryptRequest { suite, context: c })
        .await
        .unwrap()
}

async fn decrypt(
    ring: &KmsKeyring,
    req: &DecryptRequest<'_>,
) -> Result<Option<Vec<u8>>, KeyringError> {
    AsyncKeyring::on_decrypt(ring, req)
        .await
        .map(|k| k.map(|k| k.as_bytes().to_vec()))
}

#[tokio::test]
async fn round_trip_v2_and_v3_with_contexts() {
    let (ring, _key, client) = fresh().await;
    let contexts = [
        ctx(&[]),
        ctx(&[("tenant", "acme-corp")]),
        ctx(&[
            ("department", "Zürich-Ω"),
            ("project", "s3ec-rust ✓"),
            ("Zoë", "Ångström ☃ 東京 🦀"),
            ("empty", ""),
        ]),
    ];
    for suite in [Suite::AesGcm, Suite::AesGcmCommitting] {
        for c in &contexts {
            let m = encrypt(&ring, suite, c).await;
            assert_eq!(m.encrypted.wrap, WrapAlg::KmsContext);
            assert_eq!(m.data_key.len(), 32);
            let mut want = c.clone();
            want.insert(RESERVED_CEK_ALG.into(), suite.cek_alg().into());
            assert_eq!(
                m.encrypted.stored_map, want,
                "stored map is the KMS context"
            );
            let got = decrypt(&ring, &dreq(suite, &m.encrypted, Some(c)))
                .await
                .unwrap();
            assert_eq!(got.as_deref(), Some(m.data_key.as_bytes()));
            if c.is_empty() {
                // No expected context = the empty one.
                let got = decrypt(&ring, &dreq(suite, &m.encrypted, None))
                    .await
                    .unwrap();
                assert_eq!(got.as_deref(), Some(m.data_key.as_bytes()));
            }
            // KMS itself bound exactly the stored map: it decrypts with it and
            // refuses the caller's context without the cek-alg entry.
            let raw = client
                .decrypt()
                .ciphertext_blob(Blob::new(m.encrypted.ciphertext.clone()))
                .set_encryption_context(Some(want.clone().into_iter().collect()))
                .send()
                .await
                .unwrap();
            assert_eq!(raw.plaintext.unwrap().as_ref(), m.data_key.as_bytes());
            let err = client
                .decrypt()
                .ciphertext_blob(Blob::new(m.encrypted.ciphertext.clone()))
                .set_encryption_context(Some(c.clone().into_iter().collect()))
                .send()
                .await
                .unwrap_err();
            assert_eq!(err.code(), Some("InvalidCiphertextException"));
        }
    }
}

#[tokio::test]
async fn other_key_is_not_mine_and_discovery_reads_it() {
    let (ring_a, key_a, client) = fresh().await;
    let key_b = create_key(&client).await;
    let ring_b = KmsKeyring::new(AwsKms::new(client.clone()), key_b).unwrap();
    let discovery = KmsKeyring::discovery(AwsKms::new(client.clone()));
    let c = ctx(&[("tenant", "acme")]);
    for suite in [Suite::AesGcm, Suite::AesGcmCommitting] {
        let m = encrypt(&ring_b, suite, &c).await;
        let r = dreq(suite, &m.encrypted, Some(&c));
        assert_eq!(decrypt(&ring_a, &r).await.unwrap(), None, "not key A's");
        let got = decrypt(&discovery, &r).await.unwrap();
        assert_eq!(got.as_deref(), Some(m.data_key.as_bytes()));
        // A keyring set [A, B] falls through to B (blocking API, on the
        // crate's runtime; a fresh client so no connection is shared with
        // this test's runtime).
        let set = Keyrings::new()
            .with(KmsKeyring::new(AwsKms::new(sdk_client()), key_a.clone()).unwrap())
            .with(ring_b.clone());
        let got = tokio::task::spawn_blocking({
            let e = m.encrypted.clone();
            let c = c.clone();
            move || {
                let req = dreq(suite, &e, Some(&c));
                set.on_decrypt(&req)
                    .map(|k| k.map(|k| k.as_bytes().to_vec()))
            }
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(got.as_deref(), Some(m.data_key.as_bytes()));
    }
    // Discovery cannot encrypt.
    let e = AsyncKeyring::on_encrypt(
        &discovery,
        &EncryptRequest {
            suite: Suite::AesGcmCommitting,
            context: &c,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, KeyringError::InvalidKey { .. }), "{e}");
    let _ = ring_a;
}

#[tokio::test]
async fn wrong_expected_context() {
    let (ring, _key, _client) = fresh().await;
    let c = ctx(&[("department", "Zürich-Ω")]);
    let s = Suite::AesGcmCommitting;
    let m = encrypt(&ring, s, &c).await;
    for expected in [
        None,
        Some(ctx(&[])),
        Some(ctx(&[("department", "Zurich-Ω")])),
        Some(ctx(&[("department", "Zürich-Ω"), ("extra", "1")])),
        // The reserved key in the expected context is not stripped from it.
        Some(ctx(&[
            ("department", "Zürich-Ω"),
            (RESERVED_CEK_ALG, "115"),
        ])),
    ] {
        let r = decrypt(&ring, &dreq(s, &m.encrypted, expected.as_ref())).await;
        assert!(
            matches!(r, Err(KeyringError::ContextMismatch { .. })),
            "{expected:?}: {r:?}"
        );
    }
}

#[tokio::test]
async fn tampered_blob_and_context_fail_distinctly() {
    let (ring, _key, _client) = fresh().await;
    let c = ctx(&[("a", "1")]);
    let s = Suite::AesGcm;
    let m = encrypt(&ring, s, &c).await;
    // Last byte of the blob (moto: GCM tag).
    let mut t = m.encrypted.clone();
    *t.ciphertext.last_mut().unwrap() ^= 0x01;
    let r = decrypt(&ring, &dreq(s, &t, Some(&c))).await;
    assert!(matches!(r, Err(KeyringError::UnwrapFailed)), "{r:?}");
    // A byte in the middle.
    let mut t = m.encrypted.clone();
    let mid = t.ciphertext.len() / 2 + 10;
    t.ciphertext[mid] ^= 0x80;
    let r = decrypt(&ring, &dreq(s, &t, Some(&c))).await;
    assert!(matches!(r, Err(KeyringError::UnwrapFailed)), "{r:?}");
    // Stored context edited, and the caller expecting the edited one: the
    // checks pass, KMS refuses (wrong context).
    let mut t = m.encrypted.clone();
    t.stored_map.insert("a".into(), "2".into());
    let edited = ctx(&[("a", "2")]);
    let r = decrypt(&ring, &dreq(s, &t, Some(&edited))).await;
    assert!(matches!(r, Err(KeyringError::UnwrapFailed)), "{r:?}");
}

#[tokio::test]
async fn reserved_keys_are_refused() {
    let (ring, _key, _client) = fresh().await;
    for key in [RESERVED_CEK_ALG, KMS_CMK_ID] {
        let bad = ctx(&[("ok", "1"), (key, "x")]);
        let e = AsyncKeyring::on_encrypt(
            &ring,
            &EncryptRequest {
                suite: Suite::AesGcmCommitting,
                context: &bad,
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(e, KeyringError::ReservedContextKey { key: ref k } if k == key),
            "{e}"
        );
    }
}

#[tokio::test]
async fn cek_alg_mismatch() {
    let (ring, _key, _client) = fresh().await;
    let c = ctx(&[]);
    let v2 = encrypt(&ring, Suite::AesGcm, &c).await;
    let v3 = encrypt(&ring, Suite::AesGcmCommitting, &c).await;
    // V2 object read as V3, V3 object read as V2, V2 GCM relabelled CBC.
    for (e, suite, cek) in [
        (&v2.encrypted, Suite::AesGcmCommitting, "115"),
        (&v3.encrypted, Suite::AesGcm, "AES/GCM/NoPadding"),
        (&v2.encrypted, Suite::AesCbc, "AES/CBC/PKCS5Padding"),
    ] {
        let mut r = dreq(suite, e, None);
        r.cek_alg = cek;
        r.legacy = LegacyOptions::ALL;
        let got = decrypt(&ring, &r).await;
        assert!(
            matches!(got, Err(KeyringError::CekAlgMismatch)),
            "{cek}: {got:?}"
        );
    }
    // Stored context with the binding removed.
    let mut t = v3.encrypted.clone();
    t.stored_map.remove(RESERVED_CEK_ALG);
    let got = decrypt(&ring, &dreq(Suite::AesGcmCommitting, &t, None)).await;
    assert!(matches!(got, Err(KeyringError::CekAlgMismatch)), "{got:?}");
}

#[tokio::test]
async fn other_wraps_are_not_mine() {
    let (ring, _key, _client) = fresh().await;
    let m = encrypt(&ring, Suite::AesGcm, &ctx(&[])).await;
    for wrap in [
        WrapAlg::AesGcm,
        WrapAlg::RsaOaepSha1,
        WrapAlg::AesWrap,
        WrapAlg::RsaOaepSha256,
        WrapAlg::AesEcb,
        WrapAlg::RsaPkcs1,
    ] {
        let mut e = m.encrypted.clone();
        e.wrap = wrap;
        for legacy in [LegacyOptions::default(), LegacyOptions::ALL] {
            let mut r = dreq(Suite::AesGcm, &e, None);
            r.legacy = legacy;
            assert_eq!(decrypt(&ring, &r).await.unwrap(), None, "{wrap:?}");
        }
    }
}

#[tokio::test]
async fn legacy_kms_reads_only_when_enabled() {
    let (ring, key, client) = fresh().await;
    // What a V1 client wrote: GenerateDataKey with {"kms_cmk_id": key} (Go
    // adds the caller's material description), the same map stored.
    for stored in [
        ctx(&[(KMS_CMK_ID, key.as_str())]),
        ctx(&[(KMS_CMK_ID, key.as_str()), ("department", "Zürich-Ω")]),
    ] {
        let out = client
            .generate_data_key()
            .key_id(&key)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(stored.clone().into_iter().collect()))
            .send()
            .await
            .unwrap();
        let e = EncryptedDataKey {
            wrap: WrapAlg::Kms,
            ciphertext: out.ciphertext_blob.unwrap().into_inner(),
            stored_map: stored.clone(),
        };
        let plaintext = out.plaintext.unwrap().into_inner();
        let mut r = dreq(Suite::AesCbc, &e, None);
        let got = decrypt(&ring, &r).await;
        assert!(
            matches!(
                got,
                Err(KeyringError::LegacyWrappingDisabled { wrap: WrapAlg::Kms })
            ),
            "{got:?}"
        );
        r.legacy.wrapping_algorithms = true;
        assert_eq!(decrypt(&ring, &r).await.unwrap(), Some(plaintext.clone()));
        // A caller context must equal the stored one minus kms_cmk_id (E2).
        let mut caller = stored.clone();
        caller.remove(KMS_CMK_ID);
        r.expected_context = Some(&caller);
        assert_eq!(decrypt(&ring, &r).await.unwrap(), Some(plaintext));
        let wrong = ctx(&[("department", "other")]);
        r.expected_context = Some(&wrong);
        let got = decrypt(&ring, &r).await;
        assert!(
            matches!(got, Err(KeyringError::ContextMismatch { .. })),
            "{got:?}"
        );
    }
    // kms+context relabelled kms: refused even with legacy wraps on (E1).
    let m = encrypt(&ring, Suite::AesGcm, &ctx(&[])).await;
    let mut e = m.encrypted.clone();
    e.wrap = WrapAlg::Kms;
    let mut r = dreq(Suite::AesGcm, &e, None);
    r.legacy = LegacyOptions::ALL;
    let got = decrypt(&ring, &r).await;
    assert!(
        matches!(got, Err(KeyringError::RelabelledKmsContext)),
        "{got:?}"
    );
}

#[tokio::test]
async fn garbage_blobs_never_unwrap_and_never_panic() {
    let (ring, key, client) = fresh().await;
    let discovery = KmsKeyring::discovery(AwsKms::new(client.clone()));
    let uuid = key.rsplit_once("key/").unwrap().1.as_bytes().to_vec();
    let mut with_uuid = uuid.clone();
    with_uuid.extend_from_slice(&[0xA5; 100]);
    let blobs: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        uuid,
        with_uuid,
        b"not base64 \xff\xfe\x00 at all".to_vec(),
        (0..300u32).map(|i| (i * 7 + 3) as u8).collect(),
        vec![0x42; 7000],
        b"00000000-0000-0000-0000-000000000000 and then some bytes to look like a blob".to_vec(),
    ];
    let stored = ctx(&[(RESERVED_CEK_ALG, "115")]);
    for blob in &blobs {
        let e = EncryptedDataKey {
            wrap: WrapAlg::KmsContext,
            ciphertext: blob.clone(),
            stored_map: stored.clone(),
        };
        for r in [&ring, &discovery] {
            let got = decrypt(r, &dreq(Suite::AesGcmCommitting, &e, None)).await;
            assert!(!matches!(got, Ok(Some(_))), "{} bytes: {got:?}", blob.len());
        }
    }
}

#[tokio::test]
async fn missing_key_is_a_service_error() {
    let client = sdk_client();
    let ring = KmsKeyring::new(
        AwsKms::new(client.clone()),
        "arn:aws:kms:us-east-1:123456789012:key/00000000-1111-2222-3333-444444444444",
    )
    .unwrap();
    let e = AsyncKeyring::on_encrypt(
        &ring,
        &EncryptRequest {
            suite: Suite::AesGcmCommitting,
            context: &ctx(&[]),
        },
    )
    .await
    .unwrap_err();
    match e {
        KeyringError::Service { operation, source } => {
            assert_eq!(operation, "GenerateDataKey");
            let kms = source.downcast_ref::<s3ec_kms::KmsError>().unwrap();
            assert_eq!(kms.kind(), KmsErrorKind::NotFound, "{kms}");
        }
        e => panic!("{e}"),
    }
    // The client directly: a blob of a key that exists but with the wrong
    // KeyId is refused, with a "not my key" kind.
    let key_a = create_key(&client).await;
    let key_b = create_key(&client).await;
    let kms = AwsKms::new(client.clone());
    let g = kms.generate_data_key(&key_a, &ctx(&[])).await.unwrap();
    assert_eq!(g.key_id, key_a);
    let e = kms
        .decrypt(&g.ciphertext, &ctx(&[]), Some(&key_b))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            KmsErrorKind::IncorrectKey | KmsErrorKind::UnknownKey
        ),
        "{e}"
    );
    let ok = kms
        .decrypt(&g.ciphertext, &ctx(&[]), Some(&key_a))
        .await
        .unwrap();
    assert_eq!(ok.data_key.as_bytes(), g.data_key.as_bytes());
    assert_eq!(ok.key_id.as_deref(), Some(key_a.as_str()));
}

/// The blocking `Keyring` API from a plain thread (no runtime anywhere).
#[test]
fn blocking_round_trip_outside_any_runtime() {
    // Make the key on a runtime of our own, kept alive for the test.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let key = rt.block_on(create_key(&sdk_client()));
    let ring = KmsKeyring::new(AwsKms::new(sdk_client()), key).unwrap();
    let c = ctx(&[("tenant", "Zoë")]);
    for suite in [Suite::AesGcm, Suite::AesGcmCommitting] {
        let m = Keyring::on_encrypt(&ring, &EncryptRequest { suite, context: &c }).unwrap();
        let got = Keyring::on_decrypt(&ring, &dreq(suite, &m.encrypted, Some(&c)))
            .unwrap()
            .unwrap();
        assert_eq!(got.as_bytes(), m.data_key.as_bytes());
        let r = Keyring::on_decrypt(&ring, &dreq(suite, &m.encrypted, None));
        assert!(
            matches!(r, Err(KeyringError::ContextMismatch { .. })),
            "{r:?}"
        );
    }
}

/// The blocking API called from inside a multi-threaded runtime does not
/// panic (it runs on the crate's own runtime).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_api_inside_a_runtime() {
    let key = create_key(&sdk_client()).await;
    let ring = KmsKeyring::new(AwsKms::new(sdk_client()), key).unwrap();
    let c = ctx(&[]);
    let m = Keyring::on_encrypt(
        &ring,
        &EncryptRequest {
            suite: Suite::AesGcmCommitting,
            context: &c,
        },
    )
    .unwrap();
    let got = Keyring::on_decrypt(&ring, &dreq(Suite::AesGcmCommitting, &m.encrypted, None))
        .unwrap()
        .unwrap();
    assert_eq!(got.as_bytes(), m.data_key.as_bytes());
}

//! Spec requirements of `materials/s3-kms-keyring.md` (`// spec: ID`, see
//! `docs/spec-coverage.md`) checked with a recording KMS fake: what the
//! keyring sends to KMS `Encrypt` and `Decrypt`, and what it does with the
//! answer. Each test fails when the behaviour it cites is removed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use s3ec_keyring::{
    BoxFuture, Context, DataKey, DecryptRequest, EncryptRequest, Keyring, KeyringError,
    LegacyOptions, Suite, WrapAlg, KMS_CMK_ID, RESERVED_CEK_ALG,
};
use s3ec_kms::testing::StaticKms;
use s3ec_kms::{
    DecryptedDataKey, EncryptedBlob, GeneratedDataKey, KmsClient, KmsError, KmsErrorKind,
    KmsKeyring,
};

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/aaaaaaaa-0000-0000-0000-000000000001";

/// One `Encrypt` call as the fake saw it.
#[derive(Debug, Clone)]
struct EncryptCall {
    key_id: String,
    data_key: Vec<u8>,
    context: Context,
}

/// Records `Encrypt` calls and answers with a blob, or fails when told to.
#[derive(Debug, Default)]
struct RecordingKms {
    calls: Mutex<Vec<EncryptCall>>,
    fail: bool,
}

impl KmsClient for RecordingKms {
    fn generate_data_key<'a>(
        &'a self,
        _: &'a str,
        _: &'a Context,
    ) -> BoxFuture<'a, Result<GeneratedDataKey, KmsError>> {
        Box::pin(std::future::ready(Err(KmsError::new(
            KmsErrorKind::Other,
            "GenerateDataKey",
            "not used",
        ))))
    }

    fn decrypt<'a>(
        &'a self,
        _: &'a [u8],
        _: &'a Context,
        _: Option<&'a str>,
    ) -> BoxFuture<'a, Result<DecryptedDataKey, KmsError>> {
        Box::pin(std::future::ready(Err(KmsError::new(
            KmsErrorKind::Other,
            "Decrypt",
            "not used",
        ))))
    }

    fn encrypt<'a>(
        &'a self,
        key_id: &'a str,
        data_key: &'a DataKey,
        context: &'a Context,
    ) -> BoxFuture<'a, Result<EncryptedBlob, KmsError>> {
        self.calls.lock().unwrap().push(EncryptCall {
            key_id: key_id.to_string(),
            data_key: data_key.as_bytes().to_vec(),
            context: context.clone(),
        });
        let answer = if self.fail {
            Err(KmsError::new(
                KmsErrorKind::Other,
                "Encrypt",
                "AccessDenied",
            ))
        } else {
            Ok(EncryptedBlob {
                ciphertext: b"the-blob".to_vec(),
                key_id: KEY.to_string(),
            })
        };
        Box::pin(std::future::ready(answer))
    }
}

fn ctx(pairs: &[(&str, &str)]) -> Context {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn encrypt_data_key_calls_kms_encrypt_with_the_key_the_data_key_and_the_context() {
    // spec: materials/s3-kms-keyring.md#encryptdatakey/1-5 materials/s3-kms-keyring.md#encryptdatakey/7
    let kms = Arc::new(RecordingKms::default());
    let ring = KmsKeyring::new(Arc::clone(&kms), KEY).unwrap();
    let dk = DataKey::from_slice(&[7u8; 32]).unwrap();
    let c = ctx(&[("tenant", "a")]);
    let req = EncryptRequest {
        suite: Suite::AesGcmCommitting,
        context: &c,
    };
    let edk = Keyring::wrap_data_key(&ring, &req, &dk).unwrap();
    let call = kms.calls.lock().unwrap().pop().unwrap();
    assert_eq!(call.key_id, KEY);
    assert_eq!(call.data_key, [7u8; 32]);
    let mut want = c.clone();
    want.insert(RESERVED_CEK_ALG.into(), "115".into());
    assert_eq!(call.context, want);
    assert_eq!(edk.ciphertext, b"the-blob");
    assert_eq!(edk.wrap, WrapAlg::KmsContext);
    assert_eq!(edk.stored_map, want);
}

#[test]
fn encrypt_data_key_fails_when_kms_fails() {
    // spec: materials/s3-kms-keyring.md#encryptdatakey/6
    let kms = RecordingKms {
        fail: true,
        ..RecordingKms::default()
    };
    let ring = KmsKeyring::new(kms, KEY).unwrap();
    let dk = DataKey::from_slice(&[7u8; 32]).unwrap();
    let c = Context::new();
    let req = EncryptRequest {
        suite: Suite::AesGcmCommitting,
        context: &c,
    };
    let e = Keyring::wrap_data_key(&ring, &req, &dk).unwrap_err();
    assert!(matches!(e, KeyringError::Service { .. }), "{e:?}");
}

#[test]
fn key_ids_are_required_and_checked() {
    // spec: materials/s3-kms-keyring.md#initialization/3-4
    for bad in ["", "   ", "arn:aws:kms:us-east-1:111122223333:key/a b"] {
        assert!(
            matches!(
                KmsKeyring::new(StaticKms::new(), bad),
                Err(KeyringError::InvalidKey { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(KmsKeyring::new(StaticKms::new(), KEY).is_ok());
}

#[test]
fn kms_v1_decrypt_sends_the_configured_key_blob_and_stored_context() {
    // spec: materials/s3-kms-keyring.md#kmsv1/1-5 materials/s3-kms-keyring.md#decryptdatakey/1-2
    // spec: materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/2-3
    let kms = Arc::new(StaticKms::new());
    let stored = ctx(&[(KMS_CMK_ID, KEY)]);
    kms.add_entry(KEY, b"v1-blob", &stored, &[9; 32]);
    let ring = KmsKeyring::new(Arc::clone(&kms), KEY).unwrap();
    let mut req = DecryptRequest {
        suite: Suite::AesCbc,
        wrap: WrapAlg::Kms,
        encrypted_key: b"v1-blob",
        cek_alg: Suite::AesCbc.cek_alg(),
        stored_map: &stored,
        expected_context: None,
        legacy: LegacyOptions::default(),
    };
    // Off by default.
    assert!(matches!(
        Keyring::on_decrypt(&ring, &req),
        Err(KeyringError::LegacyWrappingDisabled { wrap: WrapAlg::Kms })
    ));
    assert!(kms.decrypt_calls().is_empty());
    req.legacy = LegacyOptions::ALL;
    let k = Keyring::on_decrypt(&ring, &req).unwrap().unwrap();
    assert_eq!(k.as_bytes(), &[9; 32]);
    let call = kms.decrypt_calls().pop().unwrap();
    assert_eq!(call.key_id.as_deref(), Some(KEY));
    assert_eq!(call.ciphertext, b"v1-blob");
    assert_eq!(call.context, stored);
}

#[test]
fn failed_unwraps_are_errors() {
    // spec: materials/s3-kms-keyring.md#kmsv1/6 materials/s3-kms-keyring.md#kmscontext/9
    let kms = Arc::new(StaticKms::new());
    let ring = KmsKeyring::new(Arc::clone(&kms), KEY).unwrap();
    let c = Context::new();
    let m = Keyring::on_encrypt(
        &ring,
        &EncryptRequest {
            suite: Suite::AesGcm,
            context: &c,
        },
    )
    .unwrap();
    let mut blob = m.encrypted.ciphertext.clone();
    *blob.last_mut().unwrap() ^= 1;
    let req = DecryptRequest {
        suite: Suite::AesGcm,
        wrap: WrapAlg::KmsContext,
        encrypted_key: &blob,
        cek_alg: Suite::AesGcm.cek_alg(),
        stored_map: &m.encrypted.stored_map,
        expected_context: None,
        legacy: LegacyOptions::default(),
    };
    assert!(matches!(
        Keyring::on_decrypt(&ring, &req),
        Err(KeyringError::UnwrapFailed)
    ));
    let stored = ctx(&[(KMS_CMK_ID, KEY)]);
    let v1 = DecryptRequest {
        wrap: WrapAlg::Kms,
        stored_map: &stored,
        suite: Suite::AesCbc,
        cek_alg: Suite::AesCbc.cek_alg(),
        legacy: LegacyOptions::ALL,
        ..req
    };
    assert!(matches!(
        Keyring::on_decrypt(&ring, &v1),
        Err(KeyringError::UnwrapFailed)
    ));
}

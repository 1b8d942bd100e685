//! `AwsKms::from_env` takes region, credentials and endpoint from the usual
//! AWS environment variables (`AWS_ENDPOINT_URL` pointing at moto). A test
//! binary of its own, since it sets process environment variables.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Once;

use s3ec_keyring::{Context, DecryptRequest, EncryptRequest, Keyring, LegacyOptions, Suite};
use s3ec_kms::{AwsKms, KmsKeyring};

fn set_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let moto = s3ec_testkit::moto();
        let missing = std::env::temp_dir().join("s3ec-kms-no-such-aws-file");
        for (k, v) in [
            ("AWS_ENDPOINT_URL", moto.endpoint()),
            ("AWS_REGION", s3ec_testkit::REGION),
            ("AWS_ACCESS_KEY_ID", s3ec_testkit::ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", s3ec_testkit::SECRET_ACCESS_KEY),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", missing.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", missing.to_str().unwrap()),
        ] {
            std::env::set_var(k, v);
        }
        for k in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL_KMS",
            "AWS_DEFAULT_REGION",
        ] {
            std::env::remove_var(k);
        }
    });
}

#[test]
fn blocking_from_env_round_trip() {
    set_env();
    let kms = AwsKms::from_env_blocking().unwrap();
    // Make a key on a runtime of our own (kept alive while the client is used).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let key = rt.block_on(async {
        kms.client()
            .create_key()
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap()
            .key_id
    });
    // A bare key id works as the configured key.
    let ring = KmsKeyring::new(kms, key).unwrap();
    let ctx = Context::from([("tenant".to_string(), "東京".to_string())]);
    let suite = Suite::AesGcmCommitting;
    let made = Keyring::on_encrypt(
        &ring,
        &EncryptRequest {
            suite,
            context: &ctx,
        },
    )
    .unwrap();
    let got = Keyring::on_decrypt(
        &ring,
        &DecryptRequest {
            suite,
            wrap: made.encrypted.wrap,
            encrypted_key: &made.encrypted.ciphertext,
            cek_alg: suite.cek_alg(),
            stored_map: &made.encrypted.stored_map,
            expected_context: Some(&ctx),
            legacy: LegacyOptions::default(),
        },
    )
    .unwrap()
    .unwrap();
    assert_eq!(got.as_bytes(), made.data_key.as_bytes());
}

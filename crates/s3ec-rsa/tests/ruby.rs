//! The `rsa`-crate wrap read by AWS's Ruby client: the std client writes a
//! V2 object (Ruby's EncryptionV2 reads V2) to moto through a keyring whose
//! only RSA operation is `s3ec_rsa::RsaOaepWrapper::wrap`, and
//! `interop/peer ruby get --mode v2-rsaoaep` decrypts it with the private
//! key; then the AWS-LC keyring reads it back too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use getrandom::SysRng;
use s3ec_client::Client;
use s3ec_core::{CommitmentPolicy, DataKey, WrapAlg};
use s3ec_keyring::{
    Context, DecryptRequest, EncryptRequest, EncryptedDataKey, EncryptionMaterials, Keyring,
    KeyringError,
};
use s3ec_local::RsaKeyring;
use s3ec_reqwest::{Credentials, ReqwestTransport};
use s3ec_rsa::RsaOaepWrapper;

/// Encrypt-only keyring on the `rsa` crate (what a device would hold).
#[derive(Debug)]
struct PureRsa(RsaOaepWrapper);

impl Keyring for PureRsa {
    fn on_encrypt(&self, req: &EncryptRequest<'_>) -> Result<EncryptionMaterials, KeyringError> {
        let data_key = DataKey::generate(&mut SysRng)?;
        let ciphertext = self
            .0
            .wrap(&data_key, req.suite, &mut SysRng)
            .map_err(|e| KeyringError::InvalidKey {
                reason: e.to_string(),
            })?;
        Ok(EncryptionMaterials {
            data_key,
            encrypted: EncryptedDataKey {
                wrap: WrapAlg::RsaOaepSha1,
                ciphertext,
                stored_map: Context::new(),
            },
        })
    }

    fn on_decrypt(&self, _req: &DecryptRequest<'_>) -> Result<Option<DataKey>, KeyringError> {
        Ok(None)
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn transport(endpoint: &str) -> ReqwestTransport {
    ReqwestTransport::builder()
        .region(s3ec_testkit::REGION)
        .endpoint(endpoint)
        .credentials(Credentials::new(
            s3ec_testkit::ACCESS_KEY_ID,
            s3ec_testkit::SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        ))
        .build()
        .unwrap()
}

#[test]
fn ruby_reads_the_rsa_crate_wrap() {
    if Command::new("ruby").arg("--version").output().is_err() {
        eprintln!("ruby not installed (interop/setup.sh): skipped");
        return;
    }
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let der = std::fs::read(data.join("rsa2048-public.der")).unwrap();
    let moto = s3ec_testkit::moto();
    let bucket = s3ec_testkit::unique_bucket("rsa-crate");
    s3ec_testkit::create_bucket(moto.endpoint(), &bucket).unwrap();
    let writer = Client::builder(
        transport(moto.endpoint()),
        PureRsa(RsaOaepWrapper::from_public_key_der(&der).unwrap()),
    )
    .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
    .build()
    .unwrap();
    let plaintext: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    writer
        .put_object(
            &bucket,
            "device/obj",
            &plaintext[..],
            Some(plaintext.len() as u64),
            &Context::new(),
        )
        .unwrap();

    // AWS's Ruby client, RSA private key.
    let out = std::env::temp_dir().join(format!("s3ec-rsa-ruby-{}", std::process::id()));
    let run = Command::new(root().join("interop/peer"))
        .args([
            "ruby",
            "get",
            "--endpoint",
            moto.endpoint(),
            "--bucket",
            &bucket,
        ])
        .args(["--key", "device/obj", "--mode", "v2-rsaoaep", "--out"])
        .arg(&out)
        .arg("--rsa-private-pem")
        .arg(data.join("rsa2048-private.pem"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "ruby peer: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), plaintext);
    let _ = std::fs::remove_file(&out);

    // And the AWS-LC keyring.
    let reader = Client::builder(
        transport(moto.endpoint()),
        RsaKeyring::from_private_key_der(&std::fs::read(data.join("rsa2048-private.der")).unwrap())
            .unwrap(),
    )
    .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
    .build()
    .unwrap();
    let mut got = Vec::new();
    reader
        .get_object(&bucket, "device/obj", &mut got, None)
        .unwrap();
    assert_eq!(got, plaintext);
}

//! Issue 14 fixes at the client: the per-get instruction-file suffix is
//! checked like the client-wide one, the .NET V1 instruction-file name is a
//! fallback for V1/V2-era objects only, and the master key a keyring names
//! reaches the get's output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::FakeS3;
use s3ec_client::{AsyncClient, Client, ClientError, ConfigError, GetOptions, PutOptions};
use s3ec_keyring::{
    DecryptRequest, EncryptRequest, EncryptionMaterials, Keyring, KeyringError, Local, UnwrappedKey,
};
use s3ec_local::AesKeyring;

const MASTER: &str = "test-master-key-1";

/// An AES keyring that names its key, as a KMS keyring does.
#[derive(Debug)]
struct Named(AesKeyring);

impl Keyring for Named {
    fn on_encrypt(&self, req: &EncryptRequest<'_>) -> Result<EncryptionMaterials, KeyringError> {
        self.0.on_encrypt(req)
    }
    fn on_decrypt(
        &self,
        req: &DecryptRequest<'_>,
    ) -> Result<Option<s3ec_keyring::DataKey>, KeyringError> {
        self.0.on_decrypt(req)
    }
    fn on_decrypt_reporting(
        &self,
        req: &DecryptRequest<'_>,
    ) -> Result<Option<UnwrappedKey>, KeyringError> {
        Ok(self
            .0
            .on_decrypt(req)?
            .map(|k| UnwrappedKey::new(k).with_key_id(MASTER)))
    }
}

fn aes() -> AesKeyring {
    AesKeyring::new(&[0x42; 32]).unwrap()
}

fn put(c: &Client, key: &str, instruction_file: bool) {
    c.put_object_with(
        "b",
        key,
        &b"hardening"[..],
        None,
        &PutOptions::default().instruction_file(instruction_file),
    )
    .unwrap();
}

fn is_empty_suffix(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Config(ConfigError::EmptyInstructionFileSuffix)
    )
}

#[test]
fn empty_per_get_suffix_is_refused() {
    let s3 = FakeS3::new();
    let c = Client::builder(s3.clone(), aes()).build().unwrap();
    put(&c, "meta", false);
    put(&c, "file", true);
    let opts = GetOptions::default().instruction_file_suffix("");
    for key in ["meta", "file"] {
        let mut out = Vec::new();
        let e = c.get_object_with("b", key, &mut out, &opts).unwrap_err();
        assert!(is_empty_suffix(&e), "{key}: {e:?}");
        assert!(out.is_empty());
    }
    // The same suffix client-wide is refused when the client is built.
    let e = Client::builder(s3.clone(), aes())
        .instruction_file_suffix("")
        .build()
        .unwrap_err();
    assert!(is_empty_suffix(&e), "{e:?}");
    // A good per-get suffix still works.
    let good = GetOptions::default().instruction_file_suffix(".instruction");
    let mut out = Vec::new();
    c.get_object_with("b", "file", &mut out, &good).unwrap();
    assert_eq!(out, b"hardening");
}

#[tokio::test]
async fn empty_per_get_suffix_is_refused_async() {
    let s3 = FakeS3::new();
    let c = Client::builder(s3.clone(), aes()).build().unwrap();
    put(&c, "meta", false);
    put(&c, "file", true);
    let ac = AsyncClient::builder(s3.clone(), Local(aes()))
        .build()
        .unwrap();
    let opts = GetOptions::default().instruction_file_suffix("");
    for key in ["meta", "file"] {
        let mut out = Vec::new();
        let e = ac
            .get_object_with("b", key, &mut out, &opts)
            .await
            .unwrap_err();
        assert!(is_empty_suffix(&e), "{key}: {e:?}");
        assert!(out.is_empty());
    }
}

/// Move `k.instruction` to .NET V1's name `kINSTRUCTION_SUFFIX`.
fn rename_to_dotnet(s3: &FakeS3) {
    let file = s3.object("k.instruction").unwrap();
    s3.insert("kINSTRUCTION_SUFFIX", file.metadata, file.body);
    s3.state()
        .objects
        .remove(&("b".into(), "k.instruction".into()));
}

/// A V3 object (its split metadata names the instruction file) is never
/// read from the .NET V1 name: no .NET V1 writer made V3 objects.
#[test]
fn dotnet_v1_fallback_is_not_tried_for_v3_objects() {
    let s3 = FakeS3::new();
    let c = Client::builder(s3.clone(), aes()).build().unwrap();
    put(&c, "k", true);
    assert_eq!(
        c.inspect_object("b", "k").unwrap().format,
        s3ec_core::FormatVersion::V3
    );
    rename_to_dotnet(&s3);
    let mut out = Vec::new();
    match c.get_object("b", "k", &mut out, None).unwrap_err() {
        ClientError::InstructionFileMissing { key } => assert_eq!(key, "k.instruction"),
        e => panic!("{e:?}"),
    }
    assert!(out.is_empty());
    let log = s3.log();
    assert!(
        !log.iter().any(|l| l.contains("kINSTRUCTION_SUFFIX")),
        "asked for the .NET name: {log:?}"
    );
}

#[tokio::test]
async fn dotnet_v1_fallback_is_not_tried_for_v3_objects_async() {
    let s3 = FakeS3::new();
    let c = Client::builder(s3.clone(), aes()).build().unwrap();
    put(&c, "k", true);
    rename_to_dotnet(&s3);
    let ac = AsyncClient::builder(s3.clone(), Local(aes()))
        .build()
        .unwrap();
    let mut out = Vec::new();
    let e = ac.get_object("b", "k", &mut out, None).await.unwrap_err();
    assert!(
        matches!(e, ClientError::InstructionFileMissing { .. }),
        "{e:?}"
    );
}

/// The master key a keyring names is in the get's output (KMS: the key ARN
/// KMS used, which a discovery keyring does not know in advance).
#[test]
fn get_output_names_the_master_key() {
    let s3 = FakeS3::new();
    let c = Client::builder(s3.clone(), Named(aes())).build().unwrap();
    put(&c, "k", false);
    let (pt, got) = c.get_object_to_vec("b", "k", None).unwrap();
    assert_eq!(pt, b"hardening");
    assert_eq!(got.info.master_key_id.as_deref(), Some(MASTER));
    // Head/inspect unwrap nothing.
    assert_eq!(c.inspect_object("b", "k").unwrap().master_key_id, None);
    // A keyring that names nothing: None.
    let plain = Client::builder(s3.clone(), aes()).build().unwrap();
    let (_, got) = plain.get_object_to_vec("b", "k", None).unwrap();
    assert_eq!(got.info.master_key_id, None);
    // Through a keyring set too.
    let set = Client::builder(
        s3.clone(),
        s3ec_keyring::Keyrings::new()
            .with(AesKeyring::new(&[1; 32]).unwrap())
            .with(Named(aes())),
    )
    .build()
    .unwrap();
    let (_, got) = set.get_object_to_vec("b", "k", None).unwrap();
    assert_eq!(got.info.master_key_id.as_deref(), Some(MASTER));
}

#[tokio::test]
async fn get_output_names_the_master_key_async() {
    let s3 = FakeS3::new();
    let c = Client::builder(s3.clone(), aes()).build().unwrap();
    put(&c, "k", true);
    let ac = AsyncClient::builder(s3.clone(), Local(Named(aes())))
        .build()
        .unwrap();
    let (pt, got) = ac.get_object_to_vec("b", "k", None).await.unwrap();
    assert_eq!(pt, b"hardening");
    assert_eq!(got.info.master_key_id.as_deref(), Some(MASTER));
}

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

/// The canary master key and data key: ASCII, so a leak in any text form
/// is easy to see.
const CANARY_MASTER: &[u8; 32] = b"CANARY-MASTER-KEY-0123456789abcd";
const CANARY_DATA: &[u8; 32] = b"CANARY-DATA-KEY-0123456789abcdef";

/// An AES keyring whose every data key is the canary (wrapped for real).
#[derive(Debug)]
struct CanaryRing(AesKeyring);

impl Keyring for CanaryRing {
    fn on_encrypt(&self, req: &EncryptRequest<'_>) -> Result<EncryptionMaterials, KeyringError> {
        let mut m = self.0.on_encrypt(req)?;
        let dk = s3ec_keyring::DataKey::from_slice(CANARY_DATA).unwrap();
        let wrapped = s3ec_core::wrap::aes_gcm::wrap(
            CANARY_MASTER,
            &dk,
            req.suite.cek_alg(),
            &mut getrandom::SysRng,
        )?;
        m.encrypted.ciphertext = wrapped.to_vec();
        m.data_key = dk;
        Ok(m)
    }
    fn on_decrypt(
        &self,
        req: &DecryptRequest<'_>,
    ) -> Result<Option<s3ec_keyring::DataKey>, KeyringError> {
        self.0.on_decrypt(req)
    }
}

/// Every text form a key could leak in.
fn leak_forms(key: &[u8]) -> Vec<String> {
    use base64ct::{Base64, Encoding};
    let mut v = vec![
        String::from_utf8_lossy(&key[..12]).into_owned(),
        key[..8].iter().map(|b| format!("{b:02x}")).collect(),
        key[..8].iter().map(|b| format!("{b:02X}")).collect(),
        Base64::encode_string(key),
        Base64::encode_string(&key[..9]),
        format!("{:?}", &key[..6]).trim_end_matches(']').to_string(),
        key[..6]
            .iter()
            .map(|b| format!("{b:#04x}"))
            .collect::<Vec<_>>()
            .join(", "),
    ];
    v.retain(|s| s.len() >= 8);
    v
}

fn error_texts(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![format!("{e}"), format!("{e:?}")];
    let mut src = e.source();
    while let Some(s) = src {
        out.push(format!("{s}"));
        out.push(format!("{s:?}"));
        src = s.source();
    }
    out
}

/// Issue 14: a canary master key and data key appear in no error (Display,
/// Debug, source chain), no `Debug` output and no panic message of any
/// success or failure path (the client logs nothing).
#[test]
fn canary_keys_never_leak() {
    use s3ec_client::{DecryptMode, GetStrategy};
    use s3ec_keyring::LegacyOptions;
    let s3 = FakeS3::new();
    let ring = || CanaryRing(AesKeyring::new(CANARY_MASTER).unwrap());
    let c = Client::builder(s3.clone(), ring()).build().unwrap();
    let mut texts: Vec<String> = vec![format!("{c:?}"), format!("{:?}", ring())];
    let body = vec![0x5au8; 100_000];
    for (key, instr) in [("m", false), ("i", true)] {
        c.put_object_with(
            "b",
            key,
            &body[..],
            None,
            &PutOptions::default().instruction_file(instr),
        )
        .unwrap();
    }
    let (pt, out) = c.get_object_to_vec("b", "m", None).unwrap();
    assert_eq!(pt, body);
    assert_eq!(out.mode, DecryptMode::Buffered);
    texts.push(format!("{out:?}"));
    texts.push(format!("{:?}", c.inspect_object("b", "m").unwrap()));
    // Copies of the object, each broken one way.
    let copy = |name: &str, f: &dyn Fn(&mut common::Obj)| {
        let mut o = s3.object("m").unwrap();
        f(&mut o);
        s3.insert(name, o.metadata, o.body);
    };
    let flip_meta = |k: &'static str| {
        move |o: &mut common::Obj| {
            use base64ct::{Base64, Encoding};
            let v = o.metadata.iter_mut().find(|(n, _)| n == k).unwrap();
            let mut b = Base64::decode_vec(&v.1).unwrap();
            b[0] ^= 1;
            v.1 = Base64::encode_string(&b);
        }
    };
    copy("body", &|o| o.body[10] ^= 1);
    copy("tag", &|o| *o.body.last_mut().unwrap() ^= 1);
    copy("short", &|o| o.body.truncate(5));
    copy("wrapped", &flip_meta("x-amz-3"));
    copy("commit", &flip_meta("x-amz-d"));
    copy("msgid", &flip_meta("x-amz-i"));
    let wrong = Client::builder(s3.clone(), AesKeyring::new(&[7; 32]).unwrap())
        .build()
        .unwrap();
    let delayed = Client::builder(s3.clone(), ring())
        .danger_delayed_authentication(true)
        .build()
        .unwrap();
    let spool = Client::builder(s3.clone(), ring())
        .get_strategy(GetStrategy::Spool {
            dir: Some(std::env::temp_dir()),
        })
        .build()
        .unwrap();
    let legacy = Client::builder(s3.clone(), ring())
        .legacy(LegacyOptions::ALL)
        .build()
        .unwrap();
    texts.push(format!("{delayed:?}{spool:?}{legacy:?}"));
    let mut errors = Vec::new();
    for client in [&c, &wrong, &delayed, &spool, &legacy] {
        for key in [
            "body", "tag", "short", "wrapped", "commit", "msgid", "m", "i", "missing",
        ] {
            let mut out = Vec::new();
            if let Err(e) = client.get_object("b", key, &mut out, None) {
                errors.push(e);
            }
            let mut out = Vec::new();
            if let Err(e) = client.get_object_range("b", key, 3, 70_000, &mut out) {
                errors.push(e);
            }
        }
        let ctx = s3ec_keyring::Context::from([("a".to_string(), "b".to_string())]);
        if let Err(e) = client.get_object("b", "m", &mut Vec::new(), Some(&ctx)) {
            errors.push(e);
        }
    }
    assert!(errors.len() > 30, "only {} failures", errors.len());
    for e in &errors {
        texts.extend(error_texts(e));
    }
    // Panic messages: what an `unwrap` of each failure would print.
    let prev = std::panic::take_hook();
    let caught = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    {
        let caught = caught.clone();
        std::panic::set_hook(Box::new(move |info| {
            caught.lock().unwrap().push(info.to_string());
        }));
    }
    for e in errors {
        let r: Result<(), ClientError> = Err(e);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::hint::black_box(r).unwrap()
        }));
    }
    std::panic::set_hook(prev);
    let caught = caught.lock().unwrap().clone();
    assert!(!caught.is_empty());
    texts.extend(caught);
    let forms: Vec<(String, &str)> = leak_forms(CANARY_MASTER)
        .into_iter()
        .map(|f| (f, "master key"))
        .chain(leak_forms(CANARY_DATA).into_iter().map(|f| (f, "data key")))
        .collect();
    for t in &texts {
        for (f, what) in &forms {
            assert!(!t.contains(f.as_str()), "the {what} leaks ({f:?}) in: {t}");
        }
    }
    // The check itself finds a leak.
    let leaked = format!("{:?}", CANARY_DATA.to_vec());
    assert!(forms.iter().any(|(f, _)| leaked.contains(f.as_str())));
}

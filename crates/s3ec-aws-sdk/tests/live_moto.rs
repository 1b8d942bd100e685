//! Live tests of the encryption clients against a moto S3 + KMS server
//! (started by s3ec-testkit): the async client over `AwsSdkTransport`, the
//! blocking client over `s3ec_reqwest::ReqwestTransport`, each reading what
//! the other wrote; every keyring (AES, RSA, KMS), both envelope storage
//! modes, bodies from 0 bytes to 70 MiB (streamed from a generator and
//! checked by a verifying sink, never held whole by the test), tampering,
//! plaintext objects, missing instruction files, delete, ranged gets,
//! `If-Match` pinning and resumption through a fault-injecting proxy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use s3ec_client::transport::ObjectRequest;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use aws_sdk_s3::primitives::ByteStream;
use s3ec_aws_sdk::AwsSdkTransport;
use s3ec_client::transport::{AsyncTransport, ErrorKind, GetRequest};
use s3ec_client::{AsyncClient, Client, ClientError, DecryptMode, GetStrategy, PutOptions};
use s3ec_core::envelope::Placement;
use s3ec_core::{CommitmentPolicy, FormatVersion, WrapAlg};
use s3ec_keyring::{AsyncKeyring, Context, Keyring, KeyringError, LegacyOptions, Local};
use s3ec_kms::{AwsKms, KmsKeyring};
use s3ec_local::{AesKeyring, RsaKeyring};
use s3ec_testkit::faults::{Fault, FaultProxy};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const MIB: u64 = 1 << 20;

use s3ec_testkit::sdk::s3_client;

fn kms_client() -> aws_sdk_kms::Client {
    s3ec_testkit::sdk::kms_client(s3ec_testkit::moto().endpoint())
}

async fn kms_keyring() -> KmsKeyring {
    let kms = kms_client();
    let arn = kms
        .create_key()
        .description("s3ec-aws-sdk live test")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    KmsKeyring::new(AwsKms::new(kms), arn).unwrap()
}

fn rsa_keyring() -> RsaKeyring {
    let pem = std::fs::read_to_string(
        s3ec_testkit::workspace_root().join("crates/s3ec-local/tests/data/rsa2048-pkcs1.pem"),
    )
    .unwrap();
    RsaKeyring::from_pem(&pem).unwrap()
}

fn aes_keyring() -> AesKeyring {
    AesKeyring::new(&[0x5a; 32])
        .unwrap()
        .with_material_description(Context::from([("purpose".into(), "live".into())]))
}

/// A fresh bucket on the moto server.
fn bucket(prefix: &str) -> String {
    let b = s3ec_testkit::unique_bucket(prefix);
    s3ec_testkit::create_bucket(s3ec_testkit::moto().endpoint(), &b).unwrap();
    b
}

fn async_client(
    endpoint: &str,
    keyring: impl AsyncKeyring + 'static,
) -> s3ec_client::AsyncClientBuilder {
    AsyncClient::builder(AwsSdkTransport::new(s3_client(endpoint)), keyring)
}

fn async_client_shared(
    endpoint: &str,
    keyring: Arc<dyn AsyncKeyring>,
) -> s3ec_client::AsyncClientBuilder {
    AsyncClient::builder_shared(Arc::new(AwsSdkTransport::new(s3_client(endpoint))), keyring)
}

fn reqwest_transport(endpoint: &str) -> s3ec_reqwest::ReqwestTransport {
    s3ec_reqwest::ReqwestTransport::builder()
        .endpoint(endpoint)
        .region(s3ec_testkit::REGION)
        .credentials(s3ec_reqwest::Credentials::new(
            s3ec_testkit::ACCESS_KEY_ID,
            s3ec_testkit::SECRET_ACCESS_KEY,
            None,
            None,
            "moto",
        ))
        .path_style(true)
        .build()
        .unwrap()
}

/// The period of generated bodies: a prime, so that parts and blocks do
/// not line up with it.
const PERIOD: usize = 65_521;

/// The pattern generated bodies repeat (built once; filling and checking
/// are then slice copies and compares, fast even in debug builds).
fn table() -> &'static [u8] {
    static T: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        // Two periods, so that any window of up to one period is a slice.
        (0..2 * PERIOD as u64)
            .map(|i| ((i % PERIOD as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8)
            .collect()
    })
}

/// The generated body with this seed: bytes `pos..pos + len` of an
/// endless repetition of the table, shifted by the seed.
fn pattern(pos: u64, seed: u8, len: usize) -> &'static [u8] {
    let start = ((pos + u64::from(seed) * 977) % PERIOD as u64) as usize;
    &table()[start..start + len.min(PERIOD)]
}

/// A generated body of `len` bytes (sync and async reader).
struct Gen {
    pos: u64,
    len: u64,
    seed: u8,
}

impl Gen {
    fn new(len: u64, seed: u8) -> Gen {
        Gen { pos: 0, len, seed }
    }
    fn fill(&mut self, buf: &mut [u8]) -> usize {
        let want = (buf.len() as u64).min(self.len - self.pos) as usize;
        let src = pattern(self.pos, self.seed, want);
        buf[..src.len()].copy_from_slice(src);
        self.pos += src.len() as u64;
        src.len()
    }
}

impl io::Read for Gen {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.fill(buf))
    }
}

impl AsyncRead for Gen {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.fill(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// A sink that checks what it receives against the generator.
struct Check {
    pos: u64,
    seed: u8,
    bad: u64,
}

impl Check {
    fn new(seed: u8) -> Check {
        Check {
            pos: 0,
            seed,
            bad: 0,
        }
    }
    fn take(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let expect = pattern(self.pos, self.seed, data.len());
            let (now, rest) = data.split_at(expect.len());
            if now != expect {
                self.bad += 1;
            }
            self.pos += now.len() as u64;
            data = rest;
        }
    }
    fn assert_is(&self, len: u64) {
        assert_eq!((self.pos, self.bad), (len, 0));
    }
}

impl io::Write for Check {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.take(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncWrite for Check {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.take(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn gen_vec(len: u64, seed: u8) -> Vec<u8> {
    let mut v = vec![0u8; len as usize];
    let mut g = Gen::new(len, seed);
    let mut at = 0;
    while at < v.len() {
        at += g.fill(&mut v[at..]);
    }
    v
}

fn opts(instr: bool, ctx: &Context) -> PutOptions {
    PutOptions::default()
        .instruction_file(instr)
        .context(ctx.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_keyring_and_storage_mode_round_trips() {
    let moto = s3ec_testkit::moto().endpoint().to_string();
    let b = bucket("s3ec-sdk-rt");
    let kms = kms_keyring().await;
    let tenant = Context::from([("tenant".into(), "acme ✓".into())]);
    let rings: Vec<(&str, Arc<dyn AsyncKeyring>, Context, WrapAlg)> = vec![
        (
            "aes",
            Arc::new(Local(aes_keyring())),
            Context::new(),
            WrapAlg::AesGcm,
        ),
        (
            "rsa",
            Arc::new(Local(rsa_keyring())),
            Context::new(),
            WrapAlg::RsaOaepSha1,
        ),
        ("kms", Arc::new(kms), tenant.clone(), WrapAlg::KmsContext),
    ];
    let sizes = [0u64, 1, 16, 17, 4095, 5 * MIB + 1];
    for (name, ring, ctx, wrap) in rings {
        for policy in [
            CommitmentPolicy::RequireEncryptRequireDecrypt,
            CommitmentPolicy::ForbidEncryptAllowDecrypt,
        ] {
            let c = async_client_shared(&moto, ring.clone())
                .commitment_policy(policy)
                .part_size(5 * MIB)
                .build()
                .unwrap();
            let expected = (!ctx.is_empty()).then_some(&ctx);
            for instr in [false, true] {
                for (i, &n) in sizes.iter().enumerate() {
                    let key = format!("{name}/{policy:?}/{instr}/{n}");
                    let len = i.is_multiple_of(2).then_some(n);
                    let put = c
                        .put_object_with(&b, &key, Gen::new(n, i as u8), len, &opts(instr, &ctx))
                        .await
                        .unwrap();
                    assert_eq!(put.plaintext_len, n);
                    assert_eq!(put.parts.is_some(), n > 5 * MIB);
                    let mut sink = Check::new(i as u8);
                    let got = c.get_object(&b, &key, &mut sink, expected).await.unwrap();
                    sink.assert_is(n);
                    assert_eq!(got.info.wrap, wrap);
                    assert_eq!(
                        got.info.placement,
                        if instr {
                            Placement::InstructionFile
                        } else {
                            Placement::ObjectMetadata
                        }
                    );
                    let format = if policy == CommitmentPolicy::ForbidEncryptAllowDecrypt {
                        FormatVersion::V2
                    } else {
                        FormatVersion::V3
                    };
                    assert_eq!(got.info.format, format);
                    let info = c.inspect_object(&b, &key).await.unwrap();
                    assert_eq!(info.context, got.info.context);
                }
            }
            if !ctx.is_empty() {
                // The stored context is checked against the expected one.
                let key = format!("{name}/{policy:?}/false/1");
                let wrong = Context::from([("tenant".into(), "other".into())]);
                let mut out = Vec::new();
                let e = c.get_object(&b, &key, &mut out, Some(&wrong)).await;
                assert!(
                    matches!(
                        e,
                        Err(ClientError::Keyring(KeyringError::ContextMismatch { .. }))
                    ),
                    "{e:?}"
                );
                assert!(out.is_empty());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seventy_mib_streamed_both_storage_modes() {
    let moto = s3ec_testkit::moto().endpoint().to_string();
    let b = bucket("s3ec-sdk-big");
    let n = 70 * MIB;
    let spool = std::env::temp_dir().join(format!("s3ec-sdk-big-{}", std::process::id()));
    std::fs::create_dir_all(&spool).unwrap();
    let c = async_client(&moto, Local(aes_keyring()))
        .get_strategy(GetStrategy::Auto {
            buffer_up_to: 8 * MIB,
            spool_dir: Some(spool.clone()),
        })
        .build()
        .unwrap();
    for (instr, len) in [(false, None), (true, Some(n))] {
        let key = format!("big-{instr}");
        let put = c
            .put_object_with(&b, &key, Gen::new(n, 7), len, &opts(instr, &Context::new()))
            .await
            .unwrap();
        // 8 MiB default parts: 9 parts, the tag on the last.
        assert_eq!(put.parts, Some(9));
        let head = AwsSdkTransport::new(s3_client(&moto))
            .head_object(&ObjectRequest::new(&b, &key))
            .await
            .unwrap();
        assert_eq!(head.content_length, n + 16);
        let mut sink = Check::new(7);
        let got = c.get_object(&b, &key, &mut sink, None).await.unwrap();
        sink.assert_is(n);
        assert_eq!(got.mode, DecryptMode::Spooled);
        assert!(std::fs::read_dir(&spool).unwrap().next().is_none());
    }
    std::fs::remove_dir_all(&spool).unwrap();
}

#[test]
fn blocking_reqwest_client_and_cross_transport_interop() {
    let moto = s3ec_testkit::moto().endpoint().to_string();
    let b = bucket("s3ec-reqwest-rt");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let kms = rt.block_on(kms_keyring());
    let tenant = Context::from([("tenant".into(), "blocking".into())]);
    type Rings = Vec<(
        &'static str,
        Arc<dyn Keyring>,
        Arc<dyn AsyncKeyring>,
        Context,
    )>;
    let rings: Rings = vec![
        (
            "aes",
            Arc::new(aes_keyring()),
            Arc::new(Local(aes_keyring())),
            Context::new(),
        ),
        (
            "rsa",
            Arc::new(rsa_keyring()),
            Arc::new(Local(rsa_keyring())),
            Context::new(),
        ),
        ("kms", Arc::new(kms.clone()), Arc::new(kms), tenant),
    ];
    for (name, ring, aring, ctx) in rings {
        let blocking = Client::builder(reqwest_transport(&moto), ring)
            .part_size(5 * MIB)
            .build()
            .unwrap();
        let asynchronous = async_client_shared(&moto, aring)
            .part_size(5 * MIB)
            .build()
            .unwrap();
        let expected = (!ctx.is_empty()).then_some(&ctx);
        for instr in [false, true] {
            for (i, n) in [0u64, 1, 17, 4095, 5 * MIB + 3].into_iter().enumerate() {
                let seed = i as u8 + 40;
                // Written by the blocking client, read by both.
                let key = format!("{name}/blocking/{instr}/{n}");
                let put = blocking
                    .put_object_with(&b, &key, Gen::new(n, seed), None, &opts(instr, &ctx))
                    .unwrap();
                assert_eq!(put.parts, (n > 5 * MIB).then_some(2));
                let mut sink = Check::new(seed);
                blocking.get_object(&b, &key, &mut sink, expected).unwrap();
                sink.assert_is(n);
                let mut sink = Check::new(seed);
                rt.block_on(asynchronous.get_object(&b, &key, &mut sink, expected))
                    .unwrap();
                sink.assert_is(n);
                // Written by the async client, read by the blocking one.
                let key = format!("{name}/async/{instr}/{n}");
                rt.block_on(asynchronous.put_object_with(
                    &b,
                    &key,
                    Gen::new(n, seed),
                    Some(n),
                    &opts(instr, &ctx),
                ))
                .unwrap();
                let mut sink = Check::new(seed);
                blocking.get_object(&b, &key, &mut sink, expected).unwrap();
                sink.assert_is(n);
            }
        }
        // Delete removes the instruction file too.
        let key = format!("{name}/blocking/true/1");
        blocking.delete_object(&b, &key).unwrap();
        let t = AwsSdkTransport::new(s3_client(&moto));
        for k in [key.clone(), format!("{key}.instruction")] {
            let e = rt
                .block_on(t.head_object(&ObjectRequest::new(&b, &k)))
                .unwrap_err();
            assert_eq!(e.kind, ErrorKind::NotFound);
        }
    }
    // 70 MiB through the blocking client, unknown length.
    let c = Client::builder(reqwest_transport(&moto), aes_keyring())
        .build()
        .unwrap();
    let n = 70 * MIB + 5;
    let put = c
        .put_object(&b, "big", Gen::new(n, 9), None, &Context::new())
        .unwrap();
    assert_eq!(put.parts, Some(9));
    let mut sink = Check::new(9);
    c.get_object(&b, "big", &mut sink, None).unwrap();
    sink.assert_is(n);
    drop(rt);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_tampering_ranges_and_pinning() {
    let moto = s3ec_testkit::moto().endpoint().to_string();
    let b = bucket("s3ec-sdk-neg");
    let sdk = s3_client(&moto);
    let t = AwsSdkTransport::new(sdk.clone());
    let c = async_client(&moto, Local(aes_keyring())).build().unwrap();
    let pt = gen_vec(100_000, 3);

    // Plaintext object: refused, never passed through.
    sdk.put_object()
        .bucket(&b)
        .key("plain")
        .body(ByteStream::from(b"not encrypted".to_vec()))
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    assert!(matches!(
        c.get_object(&b, "plain", &mut out, None).await,
        Err(ClientError::NotEncrypted)
    ));
    assert!(out.is_empty());
    // Missing object.
    match c.get_object(&b, "nothing", &mut out, None).await {
        Err(ClientError::Transport(e)) => assert_eq!(e.kind, ErrorKind::NotFound),
        r => panic!("{r:?}"),
    }

    // Tampered body: re-put with one bit flipped and the same metadata.
    for instr in [false, true] {
        let key = format!("t-{instr}");
        c.put_object_with(&b, &key, &pt[..], None, &opts(instr, &Context::new()))
            .await
            .unwrap();
        let obj = sdk.get_object().bucket(&b).key(&key).send().await.unwrap();
        let meta = obj.metadata().cloned();
        let mut body = obj.body.collect().await.unwrap().to_vec();
        body[50_000] ^= 1;
        sdk.put_object()
            .bucket(&b)
            .key(&key)
            .set_metadata(meta)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
        let mut out = Vec::new();
        assert!(matches!(
            c.get_object(&b, &key, &mut out, None).await,
            Err(ClientError::Authentication)
        ));
        assert!(out.is_empty());
    }
    // Missing instruction file of a V3 split object.
    c.put_object_with(&b, "split", &pt[..], None, &opts(true, &Context::new()))
        .await
        .unwrap();
    sdk.delete_object()
        .bucket(&b)
        .key("split.instruction")
        .send()
        .await
        .unwrap();
    assert!(matches!(
        c.get_object(&b, "split", &mut Vec::new(), None).await,
        Err(ClientError::InstructionFileMissing { .. })
    ));

    // Ranged gets: gated, then correct, pinned with If-Match.
    c.put_object(&b, "r", &pt[..], None, &Context::new())
        .await
        .unwrap();
    assert!(matches!(
        c.get_object_range(&b, "r", 0, 9, &mut Vec::new()).await,
        Err(ClientError::RangedGetDisabled)
    ));
    let legacy = async_client(&moto, Local(aes_keyring()))
        .legacy(LegacyOptions {
            wrapping_algorithms: false,
            unauthenticated_modes: true,
        })
        .build()
        .unwrap();
    for (first, last) in [(0u64, 0u64), (15, 33), (99_990, u64::MAX), (4096, 70_000)] {
        let mut out = Vec::new();
        legacy
            .get_object_range(&b, "r", first, last, &mut out)
            .await
            .unwrap();
        assert_eq!(out, &pt[first as usize..=last.min(99_999) as usize]);
    }
    let e = t
        .get_object(&GetRequest {
            bucket: &b,
            key: "r",
            range: None,
            if_match: Some("\"0123456789abcdef0123456789abcdef\""),
            ..GetRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::PreconditionFailed);
    let e = t
        .get_object(&GetRequest {
            bucket: &b,
            key: "r",
            range: Some(s3ec_client::transport::ByteRange {
                first: 1_000_000,
                last: None,
            }),
            ..GetRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRange);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_bodies_resume_through_a_fault_proxy() {
    let moto = s3ec_testkit::moto().endpoint().to_string();
    let b = bucket("s3ec-sdk-fault");
    let proxy = FaultProxy::start(&moto).unwrap();
    let pt = gen_vec(3 * MIB + 7, 4);
    let direct = async_client(&moto, Local(aes_keyring())).build().unwrap();
    direct
        .put_object(&b, "f", &pt[..], None, &Context::new())
        .await
        .unwrap();
    let via = async_client(&proxy.endpoint(), Local(aes_keyring()))
        .build()
        .unwrap();
    proxy.push_for("GET", "/f", Fault::Truncate(1_000_000));
    let (got, _) = via.get_object_to_vec(&b, "f", None).await.unwrap();
    assert!(got == pt);
    let gets = proxy
        .seen()
        .iter()
        .filter(|s| s.method == "GET" && s.target.contains("/f"))
        .count();
    assert_eq!(gets, 2, "{:?}", proxy.seen());

    // The same through the blocking reqwest transport.
    let endpoint = proxy.endpoint();
    let b2 = b.clone();
    let proxy = Arc::new(proxy);
    let p2 = Arc::clone(&proxy);
    tokio::task::spawn_blocking(move || {
        let c = Client::builder(reqwest_transport(&endpoint), aes_keyring())
            .build()
            .unwrap();
        p2.clear_seen();
        p2.push_for("GET", "/f", Fault::Truncate(2_000_000));
        let (got, _) = c.get_object_to_vec(&b2, "f", None).unwrap();
        assert!(got == pt);
        let gets = p2
            .seen()
            .iter()
            .filter(|s| s.method == "GET" && s.target.contains("/f"))
            .count();
        assert!(gets >= 2, "{:?}", p2.seen());
    })
    .await
    .unwrap();
}

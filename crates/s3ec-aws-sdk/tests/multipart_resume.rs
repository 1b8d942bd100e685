//! Low-level multipart uploads against moto: part by part on both clients,
//! misuse refused, and an upload whose process is killed mid-way continued
//! by another process from its saved state, without resending parts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{bucket, s3_client};
use s3ec_aws_sdk::AwsSdkTransport;
use s3ec_client::{AsyncClient, Client, ClientError, MultipartError, PutOptions};
use s3ec_keyring::Local;
use s3ec_local::AesKeyring;

const MIB: usize = 1 << 20;
const PART: usize = 5 * MIB + 7;
const CHILD_ENV: &str = "S3EC_MULTIPART_CHILD";

fn ring() -> AesKeyring {
    AesKeyring::new(&[0x33; 32]).unwrap()
}

fn blocking(endpoint: &str) -> Client {
    Client::builder(common::reqwest_transport(endpoint, 3), ring())
        .build()
        .unwrap()
}

fn body(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[2] ^ seed)
        .collect()
}

fn multipart_err(e: ClientError) -> MultipartError {
    match e {
        ClientError::Multipart(m) => m,
        other => panic!("expected a multipart error, got {other:?}"),
    }
}

#[test]
fn blocking_part_by_part_with_misuse_refused() {
    let endpoint = s3ec_testkit::moto().endpoint();
    let b = bucket("mpu");
    let c = blocking(endpoint);
    let plain = body(2 * PART + 1000, 1);
    for instruction_file in [false, true] {
        let key = format!("obj-{instruction_file}");
        let opts = PutOptions::default().instruction_file(instruction_file);
        let mut up = c.create_multipart_upload(&b, &key, &opts).unwrap();
        // Out of order, too small.
        let e = c
            .upload_part(&mut up, 2, vec![0u8; PART], false)
            .unwrap_err();
        assert_eq!(
            multipart_err(e),
            MultipartError::PartOutOfOrder {
                expected: 1,
                got: 2
            }
        );
        let e = c
            .upload_part(&mut up, 1, vec![0u8; 100], false)
            .unwrap_err();
        assert!(matches!(
            multipart_err(e),
            MultipartError::PartTooSmall { part_number: 1, .. }
        ));
        let e = c.complete_multipart_upload(&up).unwrap_err();
        assert_eq!(multipart_err(e), MultipartError::NotFinished { next: 1 });
        c.upload_part(&mut up, 1, &plain[..PART], false).unwrap();
        c.upload_part(&mut up, 2, &plain[PART..2 * PART], false)
            .unwrap();
        c.upload_part(&mut up, 3, &plain[2 * PART..], true).unwrap();
        let e = c.upload_part(&mut up, 4, vec![1u8; 10], true).unwrap_err();
        assert_eq!(multipart_err(e), MultipartError::AfterLastPart { last: 3 });
        let done = c.complete_multipart_upload(&up).unwrap();
        assert_eq!((done.parts, done.plaintext_len), (3, plain.len() as u64));
        let (got, _) = c.get_object_to_vec(&b, &key, None).unwrap();
        assert!(got == plain, "round trip ({instruction_file})");
    }
    // Abort.
    let mut up = c
        .create_multipart_upload(&b, "aborted", &PutOptions::default())
        .unwrap();
    c.upload_part(&mut up, 1, vec![0u8; PART], false).unwrap();
    c.abort_multipart_upload(&up).unwrap();
    assert!(c.get_object_to_vec(&b, "aborted", None).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_save_resume_then_blocking_reads() {
    let endpoint = s3ec_testkit::moto().endpoint();
    let b = bucket("mpu-async");
    let ac = AsyncClient::builder(AwsSdkTransport::new(s3_client(endpoint)), Local(ring()))
        .build()
        .unwrap();
    let plain = body(PART + 333, 2);
    let mut up = ac
        .create_multipart_upload(&b, "a", &PutOptions::default())
        .await
        .unwrap();
    ac.upload_part(&mut up, 1, &plain[..PART], false)
        .await
        .unwrap();
    let saved = up.save();
    drop(up);
    // A client with another key cannot continue it.
    let other = AsyncClient::builder(
        AwsSdkTransport::new(s3_client(endpoint)),
        Local(AesKeyring::new(&[9u8; 32]).unwrap()),
    )
    .build()
    .unwrap();
    assert!(other.resume_multipart_upload(&saved).await.is_err());
    let mut up = ac.resume_multipart_upload(&saved).await.unwrap();
    assert_eq!(up.next_part_number(), 2);
    ac.upload_part(&mut up, 2, &plain[PART..], true)
        .await
        .unwrap();
    ac.complete_multipart_upload(&up).await.unwrap();
    let got = tokio::task::spawn_blocking(move || {
        blocking(endpoint)
            .get_object_to_vec(&b, "a", None)
            .unwrap()
            .0
    })
    .await
    .unwrap();
    assert!(got == plain);
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join("upload.json")
}

/// The child process of `crash_resume_in_a_second_process`: uploads parts 1
/// and 2, saving the state after each, then hangs until it is killed.
#[test]
#[ignore = "run as a child process by crash_resume_in_a_second_process"]
fn child_uploads_two_parts_then_hangs() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut it = spec.splitn(3, '\n');
    let (endpoint, b, dir) = (
        it.next().unwrap(),
        it.next().unwrap(),
        PathBuf::from(it.next().unwrap()),
    );
    let c = blocking(endpoint);
    let plain = body(3 * PART, 3);
    let mut up = c
        .create_multipart_upload(b, "crash", &PutOptions::default().instruction_file(true))
        .unwrap();
    for n in 1..=2u32 {
        let at = (n as usize - 1) * PART;
        c.upload_part(&mut up, n, &plain[at..at + PART], false)
            .unwrap();
        let tmp = dir.join("upload.json.tmp");
        std::fs::write(&tmp, up.save()).unwrap();
        std::fs::rename(&tmp, state_path(&dir)).unwrap();
    }
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn crash_resume_in_a_second_process() {
    let endpoint = s3ec_testkit::moto().endpoint();
    let b = bucket("mpu-crash");
    let dir = std::env::temp_dir().join(format!("s3ec-mpu-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_uploads_two_parts_then_hangs",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, format!("{endpoint}\n{b}\n{}", dir.display()))
        .spawn()
        .unwrap();
    // Wait for two parts, then kill it: a crash mid-upload.
    let start = Instant::now();
    let saved = loop {
        if let Ok(s) = std::fs::read(state_path(&dir)) {
            let v: serde_json::Value = serde_json::from_slice(&s).unwrap();
            if v["parts"].as_array().map(Vec::len) == Some(2) {
                break s;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "child made no progress"
        );
        assert!(child.try_wait().unwrap().is_none(), "child exited");
        std::thread::sleep(Duration::from_millis(100));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let text = String::from_utf8(saved.clone()).unwrap();
    assert!(!text.contains("data_key") && text.contains("checkpoint"));

    // This process continues: part 2 again is refused, part 3 follows.
    let c = blocking(endpoint);
    let mut up = c.resume_multipart_upload(&saved).unwrap();
    assert_eq!(up.next_part_number(), 3);
    let plain = body(3 * PART, 3);
    let e = c
        .upload_part(&mut up, 2, &plain[PART..2 * PART], false)
        .unwrap_err();
    assert_eq!(
        multipart_err(e),
        MultipartError::PartOutOfOrder {
            expected: 3,
            got: 2
        }
    );
    c.upload_part(&mut up, 3, &plain[2 * PART..], true).unwrap();
    let done = c.complete_multipart_upload(&up).unwrap();
    assert_eq!(done.parts, 3);
    let (got, out) = c.get_object_to_vec(&b, "crash", None).unwrap();
    assert!(
        got == plain,
        "the resumed object decrypts to the whole body"
    );
    assert_eq!(out.plaintext_len, plain.len() as u64);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The put's fields reach S3 on a low-level multipart upload too: content
/// headers, user metadata, storage class and SSE on CreateMultipartUpload,
/// a CRC32C of each part's ciphertext on every part and in Complete (kept
/// across a save and a resume), and If-None-Match on Complete.
#[test]
fn fields_and_part_checksums_survive_a_resume() {
    use s3ec_client::transport::{ChecksumAlgorithm, PutFields, ServerSideEncryption};
    let endpoint = s3ec_testkit::moto().endpoint();
    let b = bucket("mpu-fields");
    let c = blocking(endpoint);
    let plain = body(PART + 4321, 7);
    let mut fields = PutFields::default();
    fields.content_type = Some("text/csv".into());
    fields.storage_class = Some("STANDARD_IA".into());
    fields.server_side_encryption = Some(ServerSideEncryption::S3);
    fields.checksum_algorithm = Some(ChecksumAlgorithm::Crc32c);
    fields.if_none_match = Some("*".into());
    let opts = PutOptions {
        metadata: vec![("department".into(), "finance".into())],
        fields,
        ..PutOptions::default()
    };
    let mut up = c.create_multipart_upload(&b, "f", &opts).unwrap();
    let p1 = c.upload_part(&mut up, 1, &plain[..PART], false).unwrap();
    let sent = p1.checksum.clone().expect("part 1 carries its checksum");
    assert_eq!(sent.algorithm, ChecksumAlgorithm::Crc32c);
    let saved = up.save();
    drop(up);
    let mut up = c.resume_multipart_upload(&saved).unwrap();
    assert_eq!(
        up.parts()[0].checksum.as_ref(),
        Some(&sent),
        "kept in the state"
    );
    let p2 = c.upload_part(&mut up, 2, &plain[PART..], true).unwrap();
    assert!(p2.checksum.is_some());
    c.complete_multipart_upload(&up).unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let head = rt
        .block_on(
            s3_client(endpoint)
                .head_object()
                .bucket(&b)
                .key("f")
                .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
                .send(),
        )
        .unwrap();
    assert_eq!(head.content_type(), Some("text/csv"));
    assert_eq!(
        head.storage_class().map(|s| s.as_str()),
        Some("STANDARD_IA")
    );
    assert_eq!(
        head.server_side_encryption().map(|s| s.as_str()),
        Some("AES256")
    );
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("department"))
            .map(String::as_str),
        Some("finance")
    );
    let (got, out) = c.get_object_to_vec(&b, "f", None).unwrap();
    assert!(got == plain);
    assert_eq!(out.object.content_type.as_deref(), Some("text/csv"));

    // If-None-Match: * on Complete: the object exists now, so a second
    // upload of the same key is refused when it completes.
    let mut up = c.create_multipart_upload(&b, "f", &opts).unwrap();
    c.upload_part(&mut up, 1, &plain[..100], true).unwrap();
    let e = c.complete_multipart_upload(&up).unwrap_err();
    assert!(
        matches!(&e, ClientError::Transport(t) if t.status == Some(412)),
        "{e:?}"
    );
    c.abort_multipart_upload(&up).unwrap();
    let (got, _) = c.get_object_to_vec(&b, "f", None).unwrap();
    assert!(got == plain, "the first object is intact");
}

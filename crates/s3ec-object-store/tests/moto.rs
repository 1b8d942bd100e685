//! The adapter over object_store's own S3 backend (`AmazonS3`) against a
//! moto server (started by s3ec-testkit): object_store's behaviour tests,
//! the Parquet reader and writer (`ParquetObjectReader`,
//! `AsyncArrowWriter` over object_store's `BufWriter`), and Parquet files exchanged with AWS's Python
//! S3 Encryption Client (when the peers' virtualenv of `interop/setup.sh`
//! exists; otherwise that test says it was skipped).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// parquet 60 deprecates `ParquetObjectReader` (arrow-rs#10308: implement
// `AsyncFileReader` directly) but still ships it, and it is the reader
// that DataFusion and most users have: it is the one tested here.
#![allow(deprecated)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::buffered::BufWriter;
use object_store::integration::*;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};
use parquet::arrow::async_writer::AsyncArrowWriter;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use s3ec_object_store::{EnvelopeStorage, S3ecStore};

mod common;

fn s3(bucket: &str) -> AmazonS3 {
    let moto = s3ec_testkit::moto();
    s3ec_testkit::create_bucket(moto.endpoint(), bucket).unwrap();
    AmazonS3Builder::new()
        .with_endpoint(moto.endpoint())
        .with_allow_http(true)
        .with_region(s3ec_testkit::REGION)
        .with_access_key_id(s3ec_testkit::ACCESS_KEY_ID)
        .with_secret_access_key(s3ec_testkit::SECRET_ACCESS_KEY)
        .with_bucket_name(bucket)
        .build()
        .unwrap()
}

fn aes_store(inner: Arc<dyn ObjectStore>, storage: EnvelopeStorage) -> S3ecStore {
    S3ecStore::builder(inner)
        .blocking_keyring(s3ec_local::AesKeyring::new(&[0x42; 32]).unwrap())
        .envelope_storage(storage)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_behaviour_object_metadata() {
    let bucket = s3ec_testkit::unique_bucket("ostore-md");
    let store = aes_store(Arc::new(s3(&bucket)), EnvelopeStorage::ObjectAttributes);
    put_get_delete_list(&store).await;
    get_opts(&store).await;
    list_uses_directories_correctly(&store).await;
    list_with_delimiter(&store).await;
    list_with_offset_exclusivity(&store).await;
    rename_and_copy(&store).await;
    stream_get(&store).await;
    put_get_attributes(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_behaviour_instruction_files() {
    let bucket = s3ec_testkit::unique_bucket("ostore-if");
    let store = aes_store(Arc::new(s3(&bucket)), EnvelopeStorage::InstructionFile);
    put_get_delete_list(&store).await;
    get_opts(&store).await;
    list_with_delimiter(&store).await;
    rename_and_copy(&store).await;
    stream_get(&store).await;
}

/// S3 conditional puts (`If-None-Match: *`, `If-Match`) through the
/// adapter. (object_store's `put_opts` behaviour test ends with 5 writers
/// racing on one counter; moto does not make its conditional writes atomic
/// and lost an update once under load, so that race runs over `InMemory`
/// in `behaviour.rs` and the deterministic part is checked here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_conditional_puts() {
    let bucket = s3ec_testkit::unique_bucket("ostore-cond");
    for storage in [
        EnvelopeStorage::ObjectAttributes,
        EnvelopeStorage::InstructionFile,
    ] {
        common::conditional_puts(&aes_store(Arc::new(s3(&bucket)), storage)).await;
    }
}

/// Copy and rename of a missing object are `NotFound` (object_store's
/// `copy_rename_nonexistent_object` also needs copy-if-not-exists, which
/// S3 has only with extra configuration).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_copy_rename_missing() {
    let bucket = s3ec_testkit::unique_bucket("ostore-miss");
    let store = aes_store(Arc::new(s3(&bucket)), EnvelopeStorage::InstructionFile);
    let (a, b) = (Path::from("missing"), Path::from("there"));
    store.put(&b, "hello".into()).await.unwrap();
    for r in [store.copy(&a, &b).await, store.rename(&a, &b).await] {
        let e = r.unwrap_err();
        assert!(matches!(e, object_store::Error::NotFound { .. }), "{e}");
    }
    assert_eq!(store.get(&b).await.unwrap().bytes().await.unwrap(), "hello");
}

/// A table of `rows` rows in row groups of `group` rows.
fn table(rows: usize, group: usize) -> (Vec<RecordBatch>, Vec<u8>) {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..rows as i64));
    let fares: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..rows).map(|i| (i % 997) as f64 * 0.25),
    ));
    let names: ArrayRef = Arc::new(StringArray::from_iter_values((0..rows).map(|i| {
        format!(
            "rider-{:016x}",
            (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        )
    })));
    let batch =
        RecordBatch::try_from_iter([("id", ids), ("fare", fares), ("name", names)]).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(group))
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    (vec![batch], out)
}

/// Read `path` with the Parquet reader over `store` (footer, then the
/// column chunks, by ranged reads) and return the rows.
async fn read_parquet(store: Arc<dyn ObjectStore>, path: &Path) -> Vec<RecordBatch> {
    let reader = ParquetObjectReader::new(store, path.clone());
    let stream = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .unwrap()
        .build()
        .unwrap();
    stream.try_collect().await.unwrap()
}

fn rows(batches: &[RecordBatch]) -> RecordBatch {
    arrow_select_concat(batches)
}

fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
    let schema = batches[0].schema();
    let columns = (0..schema.fields().len())
        .map(|c| {
            let parts: Vec<&dyn arrow_array::Array> =
                batches.iter().map(|b| b.column(c).as_ref()).collect();
            arrow_select::concat::concat(&parts).unwrap()
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_over_s3_round_trip() {
    let bucket = s3ec_testkit::unique_bucket("ostore-pq");
    let raw: Arc<dyn ObjectStore> = Arc::new(s3(&bucket));
    let store: Arc<dyn ObjectStore> =
        Arc::new(aes_store(raw.clone(), EnvelopeStorage::ObjectAttributes));
    let (expected, _) = table(50_000, 8_192);
    // Written with parquet's own object_store writer (BufWriter: a
    // multipart upload once past its buffer).
    let path = Path::from("trips/part-0.parquet");
    let writer = BufWriter::new(store.clone(), path.clone());
    let mut w = AsyncArrowWriter::try_new(writer, expected[0].schema(), None).unwrap();
    w.write(&expected[0]).await.unwrap();
    w.close().await.unwrap();
    // At rest: no Parquet magic, the envelope in S3 metadata.
    let at_rest = raw.get(&path).await.unwrap();
    assert!(at_rest
        .attributes
        .iter()
        .any(|(k, _)| matches!(k, object_store::Attribute::Metadata(n) if n == "x-amz-3")));
    let at_rest = at_rest.bytes().await.unwrap();
    assert_ne!(&at_rest[at_rest.len() - 4..], b"PAR1");
    let got = read_parquet(store.clone(), &path).await;
    assert_eq!(rows(&got).columns(), expected[0].columns());
    // As DataFusion reads: the file size from the listing, no HEAD.
    let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].size, at_rest.len() as u64 - 16);
    let reader =
        ParquetObjectReader::new(store.clone(), path.clone()).with_file_size(listed[0].size);
    let got: Vec<RecordBatch> = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .unwrap()
        .build()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows(&got).columns(), expected[0].columns());
}

/// The interop peers' launcher and virtualenv, if `interop/setup.sh` made
/// it.
fn python_peer() -> Option<PathBuf> {
    let venv = std::env::var_os("S3EC_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| s3ec_testkit::workspace_root().join(".venv-peers"));
    venv.join("bin/python")
        .exists()
        .then(|| s3ec_testkit::workspace_root().join("interop/peer"))
}

fn peer(args: &[&str]) {
    let launcher = python_peer().unwrap();
    let out = Command::new(&launcher)
        .arg("python")
        .args(args)
        .env("S3EC_MOTO_ENDPOINT", s3ec_testkit::moto().endpoint())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "peer {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `interop/peer python get` of `bucket`/`key` into `out` (mode `v3-kms`),
/// off the async runtime.
async fn python_get(bucket: &str, key: &str, out: &std::path::Path, kms_key: &str) {
    let args: Vec<String> = [
        "get",
        "--endpoint",
        s3ec_testkit::moto().endpoint(),
        "--bucket",
        bucket,
        "--key",
        key,
        "--out",
        out.to_str().unwrap(),
        "--mode",
        "v3-kms",
        "--kms-key-id",
        kms_key,
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    tokio::task::spawn_blocking(move || peer(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .unwrap();
}

fn kms_client() -> aws_sdk_kms::Client {
    s3ec_testkit::sdk::kms_client(s3ec_testkit::moto().endpoint())
}

/// A Parquet file that AWS's Python S3 Encryption Client (4.0.0, V3,
/// KMS) put into moto is read through the adapter with the Parquet reader;
/// one the adapter wrote is decrypted by the Python client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_with_the_python_client() {
    if python_peer().is_none() {
        assert!(
            std::env::var_os("S3EC_REQUIRE_PEERS").is_none(),
            "S3EC_REQUIRE_PEERS is set and the peers' virtualenv is missing"
        );
        eprintln!(
            "SKIPPED: the interop peers' virtualenv is missing; run \
             `S3EC_INTEROP_PEERS=python interop/setup.sh` to run this test"
        );
        return;
    }
    let moto = s3ec_testkit::moto();
    let bucket = s3ec_testkit::unique_bucket("ostore-py");
    let raw: Arc<dyn ObjectStore> = Arc::new(s3(&bucket));
    let kms = kms_client();
    let key = kms
        .create_key()
        .description("s3ec-object-store parquet interop")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    let keyring =
        s3ec_kms::KmsKeyring::new(s3ec_kms::AwsKms::new(kms.clone()), key.clone()).unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(
        S3ecStore::builder(raw.clone())
            .keyring(keyring)
            .build()
            .unwrap(),
    );
    let dir = tempfile::TempDir::new().unwrap();
    // About 20 MiB: both sides use multipart uploads of 5 MiB parts.
    let (expected, file) = table(600_000, 65_536);
    assert!(file.len() > 15 << 20, "{}", file.len());

    // Python writes, the adapter reads (footer and column chunks by range,
    // each authenticated).
    let input = dir.path().join("in.parquet");
    std::fs::write(&input, &file).unwrap();
    let endpoint = moto.endpoint().to_string();
    let (b, i) = (bucket.clone(), input.to_str().unwrap().to_string());
    let k = key.clone();
    tokio::task::spawn_blocking(move || {
        peer(&[
            "put",
            "--endpoint",
            &endpoint,
            "--bucket",
            &b,
            "--key",
            "from-python/t.parquet",
            "--in",
            &i,
            "--mode",
            "v3-kms",
            "--kms-key-id",
            &k,
            "--multipart",
        ])
    })
    .await
    .unwrap();
    let path = Path::from("from-python/t.parquet");
    assert_eq!(store.head(&path).await.unwrap().size, file.len() as u64);
    let got = read_parquet(store.clone(), &path).await;
    assert_eq!(rows(&got).columns(), expected[0].columns());

    // The adapter writes (multipart, 5 MiB parts from BufWriter), Python
    // reads.
    let path = Path::from("from-s3ec/t.parquet");
    let writer = BufWriter::with_capacity(store.clone(), path.clone(), 5 << 20);
    let mut w = AsyncArrowWriter::try_new(writer, expected[0].schema(), None).unwrap();
    w.write(&expected[0]).await.unwrap();
    w.close().await.unwrap();
    let written = store.get(&path).await.unwrap().bytes().await.unwrap();
    // A multipart object's entity tag ends in -<parts>.
    let etag = raw.head(&path).await.unwrap().e_tag.unwrap();
    let parts = written.len().div_ceil(5 << 20);
    assert!(parts > 1);
    assert!(
        etag.trim_matches('"').ends_with(&format!("-{parts}")),
        "{etag} for {} bytes",
        written.len()
    );
    let out = dir.path().join("out.parquet");
    python_get(&bucket, "from-s3ec/t.parquet", &out, &key).await;
    let by_python = std::fs::read(&out).unwrap();
    assert_eq!(by_python, written);
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::from(by_python),
    )
    .unwrap()
    .build()
    .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    assert_eq!(rows(&batches).columns(), expected[0].columns());

    // With the envelope in an S3EC instruction file (V3 split: the data
    // key in `<key>.instruction`, the content-cipher part in the object's
    // metadata), Python reads it too.
    let keyring = s3ec_kms::KmsKeyring::new(s3ec_kms::AwsKms::new(kms), key.clone()).unwrap();
    let ifstore = S3ecStore::builder(raw.clone())
        .keyring(keyring)
        .envelope_storage(EnvelopeStorage::InstructionFile)
        .build()
        .unwrap();
    let path = Path::from("from-s3ec/instruction-file.parquet");
    ifstore.put(&path, file.clone().into()).await.unwrap();
    assert!(raw
        .head(&s3ec_object_store::instruction_file_path(&path).unwrap())
        .await
        .is_ok());
    let out = dir.path().join("out-if.parquet");
    python_get(&bucket, "from-s3ec/instruction-file.parquet", &out, &key).await;
    assert_eq!(std::fs::read(&out).unwrap(), file);
}

//! object_store's own behaviour tests (its `integration` feature) against
//! the adapter, over the in-memory and the local-filesystem backends, and
//! the adapter's own checks: ciphertext at rest, instruction files hidden,
//! tampering detected, ranged reads cached and revalidated.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::integration::*;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutOptions, WriteMultipart};
use s3ec_object_store::{EnvelopeStorage, Error, LegacyOptions, S3ecStore};

mod common;

fn keyring() -> s3ec_local::AesKeyring {
    s3ec_local::AesKeyring::new(&[0x42; 32]).unwrap()
}

fn adapter(inner: Arc<dyn ObjectStore>, storage: EnvelopeStorage) -> S3ecStore {
    S3ecStore::builder(inner)
        .blocking_keyring(keyring())
        .envelope_storage(storage)
        .build()
        .unwrap()
}

/// The suite object_store runs on InMemory, minus the `MultipartStore`
/// tests (a lower-level trait the adapter does not implement).
async fn in_memory_suite(storage: EnvelopeStorage) {
    let store = adapter(Arc::new(InMemory::new()), storage);
    put_get_delete_list(&store).await;
    list_with_offset_exclusivity(&store).await;
    get_opts(&store).await;
    list_uses_directories_correctly(&store).await;
    list_with_delimiter(&store).await;
    rename_and_copy(&store).await;
    copy_if_not_exists(&store).await;
    copy_rename_nonexistent_object(&store).await;
    stream_get(&store).await;
    put_opts(&store, true).await;
    put_get_attributes(&store).await;
    multipart_race_condition(&store, true).await;
    multipart_out_of_order(&store).await;
    get_nonexistent_object(&store, None).await.unwrap_err();
}

#[tokio::test]
async fn in_memory_object_attributes() {
    in_memory_suite(EnvelopeStorage::ObjectAttributes).await;
}

#[tokio::test]
async fn in_memory_instruction_files() {
    in_memory_suite(EnvelopeStorage::InstructionFile).await;
}

#[tokio::test]
async fn in_memory_sidecar_files() {
    in_memory_suite(EnvelopeStorage::SidecarFile).await;
}

/// The suite object_store runs on LocalFileSystem (which keeps no
/// attributes: the envelope goes in a sidecar file).
#[tokio::test]
async fn local_filesystem_sidecar_files() {
    let root = tempfile::TempDir::new().unwrap();
    let inner = Arc::new(LocalFileSystem::new_with_prefix(root.path()).unwrap());
    let store = adapter(inner, EnvelopeStorage::SidecarFile);
    put_get_delete_list(&store).await;
    list_with_offset_exclusivity(&store).await;
    get_opts(&store).await;
    list_uses_directories_correctly(&store).await;
    list_with_delimiter(&store).await;
    rename_and_copy(&store).await;
    copy_if_not_exists(&store).await;
    copy_rename_nonexistent_object(&store).await;
    stream_get(&store).await;
    put_opts(&store, false).await;
    multipart_out_of_order(&store).await;
}

fn adapter_error(e: &object_store::Error) -> &Error {
    Error::from_object_store(e).unwrap_or_else(|| panic!("not an adapter error: {e}"))
}

#[tokio::test]
async fn at_rest_it_is_ciphertext_and_instruction_files_are_hidden() {
    for storage in [
        EnvelopeStorage::ObjectAttributes,
        EnvelopeStorage::InstructionFile,
        EnvelopeStorage::SidecarFile,
    ] {
        let inner = Arc::new(InMemory::new());
        let store = adapter(inner.clone(), storage);
        let path = Path::from("a/b.bin");
        let data = Bytes::from(vec![7u8; 1000]);
        store.put(&path, data.clone().into()).await.unwrap();
        let raw = inner.get(&path).await.unwrap();
        let attrs = raw.attributes.clone();
        let raw = raw.bytes().await.unwrap();
        assert_eq!(raw.len(), 1016, "{storage:?}");
        assert!(!raw.windows(16).any(|w| w == [7u8; 16]), "{storage:?}");
        let side = inner
            .head(&s3ec_object_store::instruction_file_path(&path).unwrap())
            .await;
        match storage {
            EnvelopeStorage::ObjectAttributes => {
                assert!(side.is_err());
                assert!(!attrs.is_empty());
            }
            EnvelopeStorage::SidecarFile => {
                assert!(side.is_ok());
                assert!(attrs.is_empty(), "{attrs:?}");
            }
            _ => assert!(side.is_ok()),
        }
        // The caller sees one object of the plaintext size, no envelope.
        let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].size, 1000);
        let got = store.get(&path).await.unwrap();
        assert!(got.attributes.is_empty(), "{:?}", got.attributes);
        assert_eq!(got.bytes().await.unwrap(), data);
        // delete removes the instruction file too.
        store.delete(&path).await.unwrap();
        assert!(inner
            .list(None)
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn tampering_is_detected_and_nothing_is_returned() {
    let inner = Arc::new(InMemory::new());
    let store = adapter(inner.clone(), EnvelopeStorage::ObjectAttributes);
    let path = Path::from("t");
    store.put(&path, vec![1u8; 100].into()).await.unwrap();
    let raw = inner.get(&path).await.unwrap();
    let attrs = raw.attributes.clone();
    let mut body = raw.bytes().await.unwrap().to_vec();
    body[50] ^= 1;
    inner
        .put_opts(
            &path,
            body.into(),
            PutOptions {
                attributes: attrs,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for r in [
        store.get(&path).await.map(|_| ()),
        store.get_range(&path, 0..10).await.map(|_| ()),
        store.get_ranges(&path, &[0..1, 2..3]).await.map(|_| ()),
    ] {
        let e = r.unwrap_err();
        assert!(
            matches!(
                adapter_error(&e),
                Error::Client(s3ec_client::ClientError::Authentication)
            ),
            "{e}"
        );
    }
    // A plaintext object is never passed through.
    inner.put(&Path::from("plain"), "hi".into()).await.unwrap();
    let e = store.get(&Path::from("plain")).await.unwrap_err();
    assert!(
        matches!(
            adapter_error(&e),
            Error::Client(s3ec_client::ClientError::NotEncrypted)
        ),
        "{e}"
    );
    // A wrong key is refused.
    let other = S3ecStore::builder(inner.clone())
        .blocking_keyring(s3ec_local::AesKeyring::new(&[1u8; 32]).unwrap())
        .build()
        .unwrap();
    store.put(&path, "x".into()).await.unwrap();
    let e = other.get(&path).await.unwrap_err();
    assert!(matches!(adapter_error(&e), Error::Client(_)), "{e}");
    // The envelope keys are reserved.
    let attrs = object_store::Attributes::from_iter([(
        object_store::Attribute::Metadata("x-amz-3".into()),
        object_store::AttributeValue::from("x"),
    )]);
    let e = store
        .put_opts(
            &path,
            "y".into(),
            PutOptions {
                attributes: attrs,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(adapter_error(&e), Error::ReservedMetadata { .. }),
        "{e}"
    );
}

#[tokio::test]
async fn ranged_reads_are_cached_and_revalidated() {
    let inner = Arc::new(InMemory::new());
    let store = adapter(inner.clone(), EnvelopeStorage::ObjectAttributes);
    let path = Path::from("r");
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    store.put(&path, data.clone().into()).await.unwrap();
    assert_eq!(store.range_cache_usage(), (0, 0));
    let a = store.get_range(&path, 10..20).await.unwrap();
    assert_eq!(a, &data[10..20]);
    assert_eq!(store.range_cache_usage(), (100_000, 1));
    let rs = store
        .get_ranges(&path, &[0..1, 99_990..100_000, 5..50_000])
        .await
        .unwrap();
    assert_eq!(rs[1], &data[99_990..]);
    assert_eq!(rs[2], &data[5..50_000]);
    // Overwritten by another writer (through the inner store: the adapter's
    // cache is not told): the HEAD sees a new entity tag.
    let other = adapter(inner.clone(), EnvelopeStorage::ObjectAttributes);
    other.put(&path, vec![9u8; 30].into()).await.unwrap();
    assert_eq!(store.get_range(&path, 0..4).await.unwrap(), &[9u8; 4][..]);
    let r = store
        .get_opts(
            &path,
            GetOptions::new().with_range(Some(GetRange::Suffix(5))),
        )
        .await
        .unwrap();
    assert_eq!((r.range.clone(), r.meta.size), (25..30, 30));
    // Deleted: NotFound, and the entry is gone.
    other.delete(&path).await.unwrap();
    let e = store.get_range(&path, 0..4).await.unwrap_err();
    assert!(matches!(e, object_store::Error::NotFound { .. }), "{e}");
    assert_eq!(store.range_cache_usage(), (0, 0));

    // Without revalidation the cache answers alone (documented trade-off).
    let trusting = S3ecStore::builder(inner.clone())
        .blocking_keyring(keyring())
        .revalidate_cached_objects(false)
        .build()
        .unwrap();
    trusting.put(&path, vec![1u8; 10].into()).await.unwrap();
    assert_eq!(
        trusting.get_range(&path, 0..2).await.unwrap(),
        &[1u8, 1][..]
    );
    other.put(&path, vec![2u8; 10].into()).await.unwrap();
    assert_eq!(
        trusting.get_range(&path, 0..2).await.unwrap(),
        &[1u8, 1][..]
    );
    // ... but a write through the adapter itself invalidates it.
    trusting.put(&path, vec![3u8; 10].into()).await.unwrap();
    assert_eq!(
        trusting.get_range(&path, 0..2).await.unwrap(),
        &[3u8, 3][..]
    );

    // A zero-sized cache still authenticates every range.
    let uncached = S3ecStore::builder(inner.clone())
        .blocking_keyring(keyring())
        .range_cache_bytes(0)
        .build()
        .unwrap();
    assert_eq!(
        uncached.get_range(&path, 1..3).await.unwrap(),
        &[3u8, 3][..]
    );
    assert_eq!(uncached.range_cache_usage(), (0, 0));
}

#[tokio::test]
async fn unauthenticated_ranges_only_when_asked() {
    let inner = Arc::new(InMemory::new());
    let e = S3ecStore::builder(inner.clone())
        .blocking_keyring(keyring())
        .danger_unauthenticated_ranged_reads(true)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)));
    let store = S3ecStore::builder(inner.clone())
        .blocking_keyring(keyring())
        .legacy(LegacyOptions {
            unauthenticated_modes: true,
            wrapping_algorithms: false,
        })
        .danger_unauthenticated_ranged_reads(true)
        .build()
        .unwrap();
    let path = Path::from("u");
    let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    store.put(&path, data.clone().into()).await.unwrap();
    for (a, b) in [
        (0u64, 1u64),
        (15, 17),
        (16, 32),
        (17, 9_999),
        (9_990, 10_000),
    ] {
        let got = store.get_range(&path, a..b).await.unwrap();
        assert_eq!(got, &data[a as usize..b as usize], "{a}..{b}");
    }
    let r = store.get_ranges(&path, &[3..4, 100..200]).await.unwrap();
    assert_eq!(r[1], &data[100..200]);
    assert_eq!(store.range_cache_usage(), (0, 0));
    // Whole-object gets stay authenticated.
    assert_eq!(store.get(&path).await.unwrap().bytes().await.unwrap(), data);
    store.get_range(&path, 10_000..10_001).await.unwrap_err();
}

#[tokio::test]
async fn multipart_parts_keep_their_sizes() {
    // The inner store sees the caller's part sizes; the tag rides on the
    // last part.
    let inner = Arc::new(InMemory::new());
    let store = adapter(inner.clone(), EnvelopeStorage::ObjectAttributes);
    let path = Path::from("mp");
    let mut up = store.put_multipart(&path).await.unwrap();
    let parts: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 1000 + usize::from(i)]).collect();
    for p in &parts {
        up.put_part(p.clone().into()).await.unwrap();
    }
    up.complete().await.unwrap();
    let all = parts.concat();
    assert_eq!(inner.head(&path).await.unwrap().size, all.len() as u64 + 16);
    assert_eq!(store.get(&path).await.unwrap().bytes().await.unwrap(), all);
    // Empty upload: the tag alone.
    let mut up = store.put_multipart(&path).await.unwrap();
    up.complete().await.unwrap();
    assert_eq!(store.head(&path).await.unwrap().size, 0);
    // After completion the upload refuses more parts.
    let e = up.put_part(vec![1u8].into()).await.unwrap_err();
    assert!(matches!(adapter_error(&e), Error::UploadFinished));
    // BufWriter-style writes.
    let up = store.put_multipart(&path).await.unwrap();
    let mut w = WriteMultipart::new_with_chunk_size(up, 300);
    for i in 0..10u8 {
        w.write(&[i; 77]);
    }
    w.finish().await.unwrap();
    let expect: Vec<u8> = (0..10u8).flat_map(|i| [i; 77]).collect();
    assert_eq!(
        store.get(&path).await.unwrap().bytes().await.unwrap(),
        expect
    );
}

#[tokio::test]
async fn conditional_puts_pass_through() {
    for storage in [
        EnvelopeStorage::ObjectAttributes,
        EnvelopeStorage::InstructionFile,
    ] {
        common::conditional_puts(&adapter(Arc::new(InMemory::new()), storage)).await;
    }
}

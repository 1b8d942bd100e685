//! # s3ec-object-store
//!
//! An [`object_store::ObjectStore`] that encrypts on write and decrypts on
//! read with the Amazon S3 Encryption Client format, over any inner store
//! (`AmazonS3`, `LocalFileSystem`, `InMemory`, ...) and this project's
//! keyrings (`s3ec-local` raw AES/RSA keys, `s3ec-kms`). The tools that
//! reach storage through `object_store` (DataFusion, arrow's Parquet
//! reader, delta-rs, ...) then read and write objects that AWS's own S3
//! Encryption Clients read and write.
//!
//! What each operation does:
//!
//! * **put** (`put_opts`): a fresh data key per object, wrapped by the
//!   keyring; the body encrypted with AES-256-GCM (V3, key-committing, by
//!   default; V2 under `ForbidEncryptAllowDecrypt`), the 16-byte tag
//!   appended. Conditional puts (`PutMode::Create`, `PutMode::Update`) are
//!   the inner store's, on the ciphertext object.
//! * **multipart put** (`put_multipart_opts`, so also `WriteMultipart` and
//!   `BufWriter`): the inner store's own multipart upload; the parts go
//!   through one cipher in the order they are given, each uploaded at the
//!   caller's size (the last one holds the tag). See [`S3ecStore`]'s
//!   upload notes in `upload.rs`: each part is uploaded when the next
//!   arrives.
//! * **get**: the whole object is fetched, its tag checked, and only then
//!   is any plaintext returned. Nothing unauthenticated is ever returned
//!   (except with [`Builder::danger_unauthenticated_ranged_reads`]).
//!   Objects up to [`Builder::max_object_size`] (1 GiB by default).
//! * **ranged get** (`get_range`, `get_ranges`, `GetOptions::range`, what
//!   Parquet readers do): authenticated by default, which costs reading
//!   the whole object once: the verified plaintext is kept in a bounded
//!   least-recently-used cache ([`Builder::range_cache_bytes`], 256 MiB by
//!   default), and later ranges of the same object are cut from it after
//!   a HEAD confirms the object is unchanged (same entity tag, size,
//!   version), or with no request at all if
//!   [`Builder::revalidate_cached_objects`] is off. Concurrent range reads
//!   of one object fetch it once. An object larger than the cache is
//!   fetched and verified for every range read: raise the cache size for
//!   large files.
//! * **head**: the plaintext size, from the envelope (the recorded
//!   plaintext length, else the ciphertext less the tag).
//! * **list**: instruction files are hidden; sizes are plaintext sizes
//!   (the ciphertext less the 16-byte GCM tag: exact for every V2/V3
//!   object, the only kinds this adapter writes; for a legacy AES-CBC
//!   object only `head` is exact).
//! * **delete**: the object and its instruction file.
//! * **copy**, **rename**: the envelope goes along: the inner store copies
//!   the object with its metadata (S3 `CopyObject`, `InMemory`), and an
//!   instruction file is copied or renamed beside it (a stale one at the
//!   destination is removed). The envelope does not name the object's key,
//!   so nothing needs re-encrypting when the key changes; re-wrapping the
//!   data key under another master key is key rotation, not copy.
//!
//! ## What authenticated ranges cost
//!
//! `examples/parquet_ranges.rs` reads a 15 MiB Parquet file (500,000 rows,
//! 4 row groups) the way the Parquet reader does (footer, then the chunks
//! of 2 of its 3 columns: 5.9 MiB) from `InMemory` behind a
//! `ThrottledStore` of 20 ms per GET and 10 µs per KiB (~100 MB/s):
//!
//! | release build, medians of 7 interleaved rounds | I/O only (footer + `get_ranges`) | `ParquetObjectReader`, decoded |
//! |---|---|---|
//! | plain store | 99.9 ms (1.00x) | 189.9 ms (1.00x) |
//! | adapter, first read (whole object fetched, verified, cached) | 190.4 ms (1.91x) | 281.4 ms (1.48x) |
//! | adapter, cached (one HEAD per call) | 42.5 ms (0.43x) | 132.2 ms (0.70x) |
//! | adapter, cached, `revalidate_cached_objects(false)` | 0.0 ms | 3.2 ms |
//!
//! A first read costs the bytes of the whole object instead of those of
//! the columns read (here 15 MiB instead of 5.9 MiB); later reads of the
//! same file cost a HEAD per call (or nothing). Command:
//! `cargo run --release -p s3ec-object-store --example parquet_ranges -- 500000 7 20 10000`
//! (rows, rounds, ms per GET, ns per KiB).
//!
//! ## Where the envelope goes ([`EnvelopeStorage`])
//!
//! | inner store | keeps `Attribute::Metadata`? | use |
//! |---|---|---|
//! | `AmazonS3` | yes (S3 user metadata, `x-amz-meta-*`) | `ObjectAttributes` (default) or `InstructionFile` |
//! | `InMemory` | yes | `ObjectAttributes` (default) or `InstructionFile` |
//! | `LocalFileSystem` | no (a put with attributes fails) | `SidecarFile` |
//!
//! Reads find the envelope wherever it is.
//!
//! ## Example: DataFusion
//!
//! Register the adapter as the store of a bucket; queries then read and
//! write encrypted Parquet (DataFusion's own ranged reads are authenticated
//! through the cache, and the sizes it lists are plaintext sizes, so its
//! footer reads land where they should). Use a DataFusion release built on
//! the same `object_store` as this crate (0.14, re-exported as
//! [`object_store`]). Not compiled here (DataFusion is a large build).
//!
//! ```ignore
//! use std::sync::Arc;
//! use datafusion::prelude::*;
//! use object_store::aws::AmazonS3Builder;
//! use s3ec_object_store::S3ecStore;
//! use url::Url;
//!
//! # async fn run() -> datafusion::error::Result<()> {
//! let s3 = AmazonS3Builder::from_env().with_bucket_name("lake").build()?;
//! let kms = s3ec_kms::KmsKeyring::new(s3ec_kms::AwsKms::from_env().await, "alias/lake")
//!     .expect("key id");
//! let store = S3ecStore::builder(Arc::new(s3))
//!     .keyring(kms)
//!     .range_cache_bytes(1 << 30)
//!     .build()
//!     .expect("config");
//!
//! let ctx = SessionContext::new();
//! ctx.register_object_store(&Url::parse("s3://lake").unwrap(), Arc::new(store));
//! ctx.register_parquet("trips", "s3://lake/trips/", ParquetReadOptions::default())
//!     .await?;
//! let df = ctx.sql("SELECT count(*), avg(fare) FROM trips").await?;
//! df.show().await?;
//! // Writes go through the adapter too: encrypted, readable by AWS's clients.
//! ctx.sql("SELECT * FROM trips WHERE fare > 100")
//!     .await?
//!     .write_parquet("s3://lake/expensive/", Default::default(), None)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! ## Example: the Parquet reader
//!
//! ```
//! use std::sync::Arc;
//! use object_store::{memory::InMemory, path::Path, ObjectStore, ObjectStoreExt};
//! use s3ec_object_store::S3ecStore;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = S3ecStore::builder(Arc::new(InMemory::new()))
//!     .blocking_keyring(s3ec_local::AesKeyring::new(&[1u8; 32]).unwrap())
//!     .build()
//!     .unwrap();
//! let store: Arc<dyn ObjectStore> = Arc::new(store);
//! // parquet::arrow::async_reader::ParquetObjectReader::new(store.clone(), path)
//! // reads the footer, then the column chunks, each range authenticated.
//! let path = Path::from("t/part-0.parquet");
//! store.put(&path, vec![0u8; 100].into()).await.unwrap();
//! let footer = store.get_range(&path, 92..100).await.unwrap();
//! assert_eq!(footer.len(), 8);
//! assert_eq!(store.head(&path).await.unwrap().size, 100);
//! # });
//! ```

mod cache;
pub mod error;
mod store;
mod upload;

pub use error::Error;
pub use store::{
    instruction_file_path, is_instruction_file, Builder, EnvelopeStorage, S3ecStore,
    DEFAULT_MAX_OBJECT_SIZE, DEFAULT_RANGE_CACHE_BYTES,
};

pub use object_store;
pub use s3ec_core::CommitmentPolicy;
pub use s3ec_keyring::{AsyncKeyring, Context, Keyring, LegacyOptions};

//! The cost of an authenticated ranged read pattern: the Parquet reader
//! (`ParquetObjectReader`) reads a file's footer, then the column chunks of
//! two of its three columns, through
//!
//! * `plain`: the inner store, plaintext file (the baseline);
//! * `s3ec-cold`: a new adapter each round (empty cache): the first range
//!   read fetches and authenticates the whole object;
//! * `s3ec-warm`: one adapter across rounds (the object cached): each range
//!   read is a HEAD of the inner store plus a slice of the cached plaintext;
//! * `s3ec-warm-norevalidate`: as warm, without the HEAD
//!   (`revalidate_cached_objects(false)`).
//!
//! The inner store is `InMemory` behind object_store's `ThrottledStore`
//! with a per-request latency and a per-byte cost (like a nearby S3), so
//! both the request count and the bytes moved show. Contenders are
//! interleaved round by round; medians are reported with the ratio to
//! `plain`.
//!
//! ```text
//! nice -n 10 cargo run --release -p s3ec-object-store --example parquet_ranges -- [ROWS] [ROUNDS] [LATENCY_MS] [NS_PER_KIB]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]
// `ParquetObjectReader` is deprecated in parquet 60 but still what
// DataFusion-era code uses; it is the reader measured.
#![allow(deprecated)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::throttle::{ThrottleConfig, ThrottledStore};
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::file::properties::WriterProperties;
use s3ec_object_store::S3ecStore;

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn parquet_file(rows: usize) -> Vec<u8> {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..rows as i64));
    let fares: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..rows).map(|i| ((i * 7919) % 10007) as f64 * 0.01),
    ));
    let names: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..rows).map(|i| format!("rider-{:08}", (i * 104_729) % 1_000_003)),
    ));
    let batch =
        RecordBatch::try_from_iter([("id", ids), ("fare", fares), ("name", names)]).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(128 * 1024))
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}

/// Footer, then the `id` and `fare` column chunks of every row group.
async fn read_pattern(store: Arc<dyn ObjectStore>, path: &Path) -> usize {
    let reader = ParquetObjectReader::new(store, path.clone());
    let builder =
        ParquetRecordBatchStreamBuilder::new_with_options(reader, ArrowReaderOptions::new())
            .await
            .unwrap();
    let mask = ProjectionMask::roots(builder.parquet_schema(), [0, 1]);
    let batches: Vec<RecordBatch> = builder
        .with_projection(mask)
        .build()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// The byte ranges of the `id` and `fare` column chunks of every row
/// group, and the footer length, from the file's metadata.
fn chunk_ranges(file: &[u8]) -> (Vec<std::ops::Range<u64>>, u64) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let r = SerializedFileReader::new(bytes::Bytes::from(file.to_vec())).unwrap();
    let mut ranges = Vec::new();
    for rg in r.metadata().row_groups() {
        for c in [0, 1] {
            let (start, len) = rg.column(c).byte_range();
            ranges.push(start..start + len);
        }
    }
    let n = file.len();
    let footer = u32::from_le_bytes(file[n - 8..n - 4].try_into().unwrap()) as u64 + 8;
    (ranges, footer)
}

/// The same I/O without Parquet decoding: the footer, then the column
/// chunks in one `get_ranges` (what the reader issues).
async fn ranges_only(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: u64,
    footer: u64,
    ranges: &[std::ops::Range<u64>],
) -> usize {
    let f = store.get_range(path, size - footer..size).await.unwrap();
    let got = store.get_ranges(path, ranges).await.unwrap();
    f.len() + got.iter().map(bytes::Bytes::len).sum::<usize>()
}

fn adapter(inner: Arc<dyn ObjectStore>, revalidate: bool) -> S3ecStore {
    S3ecStore::builder(inner)
        .blocking_keyring(s3ec_local::AesKeyring::new(&[9u8; 32]).unwrap())
        .revalidate_cached_objects(revalidate)
        .build()
        .unwrap()
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let rows = arg(1, 2_000_000) as usize;
    let rounds = arg(2, 15) as usize;
    let latency = Duration::from_millis(arg(3, 5));
    let per_kib = Duration::from_nanos(arg(4, 1_000));
    let file = parquet_file(rows);
    let mem = Arc::new(InMemory::new());
    let inner: Arc<dyn ObjectStore> = Arc::new(ThrottledStore::new(
        mem.clone(),
        ThrottleConfig {
            wait_get_per_call: latency,
            wait_get_per_byte: per_kib / 1024,
            ..Default::default()
        },
    ));
    let plain_path = Path::from("plain/t.parquet");
    let enc_path = Path::from("enc/t.parquet");
    mem.put(&plain_path, file.clone().into()).await.unwrap();
    adapter(mem.clone(), true)
        .put(&enc_path, file.clone().into())
        .await
        .unwrap();
    println!(
        "file: {rows} rows, {:.1} MiB; inner: InMemory + {} ms per GET + {} ns per KiB; {rounds} rounds",
        file.len() as f64 / (1 << 20) as f64,
        latency.as_millis(),
        per_kib.as_nanos()
    );
    let warm = Arc::new(adapter(inner.clone(), true));
    let warm_nr = Arc::new(adapter(inner.clone(), false));
    // Fill the warm caches.
    read_pattern(warm.clone(), &enc_path).await;
    read_pattern(warm_nr.clone(), &enc_path).await;
    let names = ["plain", "s3ec-cold", "s3ec-warm", "s3ec-warm-norevalidate"];
    let (ranges, footer) = chunk_ranges(&file);
    let size = file.len() as u64;
    let fetched: u64 = footer + ranges.iter().map(|r| r.end - r.start).sum::<u64>();
    ranges_only(warm.clone(), &enc_path, size, footer, &ranges).await;
    for (title, decode) in [
        (
            format!(
                "ranges only: footer ({footer} B) + get_ranges of {} column chunks ({:.1} MiB of {:.1} MiB)",
                ranges.len(),
                fetched as f64 / (1 << 20) as f64,
                size as f64 / (1 << 20) as f64
            ),
            false,
        ),
        (
            "ParquetObjectReader: footer, then 2 of 3 columns, decoded".to_string(),
            true,
        ),
    ] {
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
        for _ in 0..rounds {
            for (i, t) in times.iter_mut().enumerate() {
                let (store, path): (Arc<dyn ObjectStore>, &Path) = match i {
                    0 => (inner.clone(), &plain_path),
                    1 => (Arc::new(adapter(inner.clone(), true)), &enc_path),
                    2 => (warm.clone(), &enc_path),
                    _ => (warm_nr.clone(), &enc_path),
                };
                let start = Instant::now();
                if decode {
                    assert_eq!(read_pattern(store, path).await, rows);
                } else {
                    assert_eq!(
                        ranges_only(store, path, size, footer, &ranges).await as u64,
                        fetched
                    );
                }
                t.push(start.elapsed());
            }
        }
        println!("{title}");
        let base = median(&mut times[0].clone());
        for (name, t) in names.iter().zip(times.iter_mut()) {
            let m = median(t);
            println!(
                "  {name:<24} median {:>8.1} ms  ({:.2}x plain)",
                m.as_secs_f64() * 1e3,
                m.as_secs_f64() / base.as_secs_f64()
            );
        }
    }
}

//! S3 Inventory manifests: the objects a `manifest.json` lists, from its
//! CSV (gzip or not) or Parquet data files.
//!
//! The manifest names its data files (`files[].key`, in the destination
//! bucket) with their MD5 (`files[].MD5checksum`), checked before a file is
//! used; the manifest itself is checked against `manifest.checksum` beside
//! it when that is there. CSV files have no header: `fileSchema` names their columns
//! (`Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, ...`) and keys
//! are URL-encoded. Parquet files carry their own schema (`bucket`, `key`,
//! `version_id`, `is_latest`, `is_delete_marker`, `size`, ...) and keys as
//! they are. Delete markers are left out: there is nothing to audit or
//! rotate behind them.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::Path;
use std::sync::Arc;

use crate::parse::csv_fields;
use md5::{Digest, Md5};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use s3ec_client::transport::{url_decode, GetRequest, Transport};
use serde_json::Value;

use crate::error::{CliError, Exit, Result};
use crate::store::S3Url;

/// An object (or one version of it) to handle.
#[derive(Debug, Clone, Default)]
pub(crate) struct Item {
    pub(crate) bucket: String,
    pub(crate) key: String,
    /// The version the inventory lists (versioned buckets).
    pub(crate) version_id: Option<String>,
    /// Whether that version is the current one (`None`: not listed).
    pub(crate) is_latest: Option<bool>,
    pub(crate) size: Option<u64>,
}

/// Read a manifest or data file: s3://... through the store, else a local
/// path.
pub(crate) fn read_source(t: &dyn Transport, src: &str) -> Result<Box<dyn Read + Send>> {
    if let Some(u) = S3Url::parse(src) {
        let r = t.get_object(&GetRequest {
            bucket: &u.bucket,
            key: &u.key,
            range: None,
            if_match: None,
            ..GetRequest::default()
        })?;
        Ok(r.body)
    } else {
        let f = File::open(src).map_err(|e| CliError::from(e).context(src.to_string()))?;
        Ok(Box::new(f))
    }
}

/// A column name as CSV (`VersionId`) and Parquet (`version_id`) spell it.
fn norm(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A data file on local disk (fetched into a temporary file when it is in
/// S3), its MD5 checked against the manifest's when the manifest gives one.
fn fetch(t: &dyn Transport, src: &str, md5: Option<&str>) -> Result<File> {
    let ctx = |e: io::Error| CliError::from(e).context(src.to_string());
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut file = if S3Url::parse(src).is_some() {
        let mut body = read_source(t, src)?;
        let mut tmp = tempfile::tempfile().map_err(ctx)?;
        loop {
            let n = body.read(&mut buf).map_err(ctx)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            io::Write::write_all(&mut tmp, &buf[..n]).map_err(ctx)?;
        }
        tmp
    } else {
        let mut f = File::open(src).map_err(ctx)?;
        if md5.is_some() {
            loop {
                let n = f.read(&mut buf).map_err(ctx)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
        }
        f
    };
    if let Some(want) = md5 {
        let got = hex(&hasher.finalize());
        if !got.eq_ignore_ascii_case(want.trim()) {
            return Err(CliError::new(
                Exit::Authentication,
                format!(
                    "{src}: the inventory data file does not match the manifest's MD5 \
                     (manifest {want}, file {got}): a partial or replaced file"
                ),
            ));
        }
    }
    file.rewind().map_err(ctx)?;
    Ok(file)
}

/// S3 writes `manifest.checksum` (the MD5 of `manifest.json`, hex) beside
/// the manifest: when it is there, the manifest must match it.
fn check_manifest_checksum(t: &dyn Transport, manifest: &str, text: &[u8]) -> Result<()> {
    let Some(base) = manifest.strip_suffix(".json") else {
        return Ok(());
    };
    let src = format!("{base}.checksum");
    let mut want = String::new();
    match read_source(t, &src) {
        Ok(r) => {
            r.take(1024)
                .read_to_string(&mut want)
                .map_err(|e| CliError::from(e).context(src.clone()))?;
        }
        Err(e) if e.exit == Exit::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    let got = hex(&Md5::digest(text));
    if got.eq_ignore_ascii_case(want.trim()) {
        Ok(())
    } else {
        Err(CliError::new(
            Exit::Authentication,
            format!(
                "{manifest} does not match {src} (MD5 {got}, checksum file {}): \
                 a partial or replaced manifest",
                want.trim()
            ),
        ))
    }
}

/// The objects an S3 Inventory manifest lists that `keep` accepts
/// (`keep(bucket, key)`: this shard's share), delete markers left out.
pub(crate) fn items(
    t: &dyn Transport,
    manifest: &str,
    keep: &dyn Fn(&str, &str) -> bool,
) -> Result<Vec<Item>> {
    let mut text = Vec::new();
    read_source(t, manifest)?
        .take(64 << 20)
        .read_to_end(&mut text)
        .map_err(|e| CliError::from(e).context(manifest.to_string()))?;
    check_manifest_checksum(t, manifest, &text)?;
    let bad = |m: &str| CliError::usage(format!("{manifest}: not an S3 Inventory manifest: {m}"));
    let v: Value = serde_json::from_slice(&text).map_err(|e| bad(&e.to_string()))?;
    let format = v["fileFormat"].as_str().unwrap_or("CSV");
    let parquet = if format.eq_ignore_ascii_case("CSV") {
        false
    } else if format.eq_ignore_ascii_case("Parquet") {
        true
    } else {
        return Err(CliError::new(
            Exit::NotAvailable,
            format!("{manifest}: {format} inventories are not supported (CSV and Parquet are)"),
        ));
    };
    let dest = v["destinationBucket"]
        .as_str()
        .map(|d| d.trim_start_matches("arn:aws:s3:::").to_string());
    let files = v["files"].as_array().ok_or_else(|| bad("no files"))?;
    let csv_schema: Vec<String> = if parquet {
        Vec::new()
    } else {
        v["fileSchema"]
            .as_str()
            .ok_or_else(|| bad("no fileSchema"))?
            .split(',')
            .map(norm)
            .collect()
    };
    let mut out = Vec::new();
    for f in files {
        let key = f["key"].as_str().ok_or_else(|| bad("a file without key"))?;
        let src = if S3Url::parse(manifest).is_some() {
            let d = dest.clone().ok_or_else(|| bad("no destinationBucket"))?;
            format!("s3://{d}/{key}")
        } else {
            // A downloaded inventory: the data files beside the manifest,
            // or in ../data/ as S3 lays them out.
            let dir = Path::new(manifest).parent().unwrap_or(Path::new("."));
            let name = Path::new(key).file_name().unwrap_or_default();
            let here = dir.join(name);
            if here.exists() {
                here.display().to_string()
            } else {
                dir.join("..").join("data").join(name).display().to_string()
            }
        };
        let file = fetch(t, &src, f["MD5checksum"].as_str())?;
        let before = out.len();
        if parquet {
            parquet_items(file, &src, keep, &mut out)?;
        } else {
            let gz = key.ends_with(".gz");
            csv_items(file, gz, &src, &csv_schema, keep, &mut out)?;
        }
        tracing::debug!(file = %src, objects = out.len() - before, "inventory data file read");
    }
    Ok(out)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        s if s.eq_ignore_ascii_case("true") => Some(true),
        s if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn csv_items(
    file: File,
    gz: bool,
    src: &str,
    schema: &[String],
    keep: &dyn Fn(&str, &str) -> bool,
    out: &mut Vec<Item>,
) -> Result<()> {
    let bad = |m: String| CliError::usage(format!("{src}: {m}"));
    let col = |name: &str| schema.iter().position(|s| s == name);
    let bcol =
        col("bucket").ok_or_else(|| bad("the manifest's fileSchema has no Bucket".into()))?;
    let kcol = col("key").ok_or_else(|| bad("the manifest's fileSchema has no Key".into()))?;
    let (vcol, lcol, dcol, scol) = (
        col("versionid"),
        col("islatest"),
        col("isdeletemarker"),
        col("size"),
    );
    let reader: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    for line in BufReader::new(reader).lines() {
        let line = line.map_err(|e| CliError::from(e).context(src.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let fields = csv_fields(&line);
        let get = |i: usize| fields.get(i).map(String::as_str).unwrap_or_default();
        let opt = |c: Option<usize>| c.map(get).filter(|s| !s.is_empty());
        if opt(dcol).and_then(parse_bool) == Some(true) {
            continue;
        }
        let bucket = get(bcol);
        let key =
            url_decode(get(kcol)).ok_or_else(|| bad(format!("a malformed key {:?}", get(kcol))))?;
        if !keep(bucket, &key) {
            continue;
        }
        out.push(Item {
            bucket: bucket.to_string(),
            key,
            version_id: opt(vcol).map(str::to_string),
            is_latest: opt(lcol).and_then(parse_bool),
            size: opt(scol).and_then(|s| s.parse().ok()),
        });
    }
    Ok(())
}

fn parquet_items(
    file: File,
    src: &str,
    keep: &dyn Fn(&str, &str) -> bool,
    out: &mut Vec<Item>,
) -> Result<()> {
    let bad = |m: String| CliError::usage(format!("{src}: not an S3 Inventory Parquet file: {m}"));
    let reader = SerializedFileReader::new(file).map_err(|e| bad(e.to_string()))?;
    // Read only the columns used.
    let root = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema();
    let wanted = [
        "bucket",
        "key",
        "versionid",
        "islatest",
        "isdeletemarker",
        "size",
    ];
    let fields: Vec<Arc<parquet::schema::types::Type>> = root
        .get_fields()
        .iter()
        .filter(|f| wanted.contains(&norm(f.name()).as_str()))
        .cloned()
        .collect();
    for need in ["bucket", "key"] {
        if !fields.iter().any(|f| norm(f.name()) == need) {
            return Err(bad(format!("no {need} column")));
        }
    }
    let projection = parquet::schema::types::Type::group_type_builder(root.name())
        .with_fields(fields)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let rows = reader
        .get_row_iter(Some(projection))
        .map_err(|e| bad(e.to_string()))?;
    for row in rows {
        let row = row.map_err(|e| bad(e.to_string()))?;
        let mut it = Item::default();
        let mut delete_marker = false;
        for (name, field) in row.get_column_iter() {
            let text = match field {
                Field::Str(s) => Some(s.clone()),
                Field::Bytes(b) => Some(String::from_utf8_lossy(b.data()).into_owned()),
                _ => None,
            };
            let flag = match field {
                Field::Bool(b) => Some(*b),
                _ => None,
            };
            match norm(name).as_str() {
                "bucket" => it.bucket = text.unwrap_or_default(),
                "key" => it.key = text.unwrap_or_default(),
                "versionid" => it.version_id = text.filter(|s| !s.is_empty()),
                "islatest" => it.is_latest = flag,
                "isdeletemarker" => delete_marker = flag == Some(true),
                "size" => {
                    it.size = match field {
                        Field::Long(n) => u64::try_from(*n).ok(),
                        Field::Int(n) => u64::try_from(*n).ok(),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
        if it.bucket.is_empty() || it.key.is_empty() {
            return Err(bad("a row without bucket or key".into()));
        }
        if delete_marker || !keep(&it.bucket, &it.key) {
            continue;
        }
        out.push(it);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_quotes_and_column_names() {
        assert_eq!(
            csv_fields(r#""b","a ""q"",b","","12""#),
            vec!["b", "a \"q\",b", "", "12"]
        );
        assert_eq!(norm(" VersionId"), "versionid");
        assert_eq!(norm("is_delete_marker"), norm("IsDeleteMarker"));
        assert_eq!(hex(&[0, 0xab]), "00ab");
    }

    #[test]
    fn csv_versions_delete_markers_and_the_shard_filter() {
        use std::io::{Seek, Write};
        let mut f = tempfile::tempfile().unwrap();
        writeln!(f, "\"b\",\"a%20b\",\"v1\",\"false\",\"false\",\"5\"").unwrap();
        writeln!(f, "\"b\",\"a%20b\",\"v2\",\"true\",\"true\",\"\"").unwrap();
        writeln!(f, "\"b\",\"c\",\"\",\"true\",\"false\",\"7\"").unwrap();
        writeln!(f, "\"b\",\"skip-me\",\"\",\"true\",\"false\",\"7\"").unwrap();
        f.rewind().unwrap();
        let schema: Vec<String> = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size"
            .split(',')
            .map(norm)
            .collect();
        let mut out = Vec::new();
        let keep = |_: &str, k: &str| k != "skip-me";
        csv_items(f, false, "x.csv", &schema, &keep, &mut out).unwrap();
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].key, "a b");
        assert_eq!(out[0].version_id.as_deref(), Some("v1"));
        assert_eq!(out[0].is_latest, Some(false));
        assert_eq!(out[0].size, Some(5));
        assert_eq!(out[1].key, "c");
        assert_eq!(out[1].version_id, None);
        // A schema without Key is refused.
        let f = tempfile::tempfile().unwrap();
        let e = csv_items(f, false, "x.csv", &schema[..1], &keep, &mut out).unwrap_err();
        assert_eq!(e.exit, Exit::Usage);
    }
}

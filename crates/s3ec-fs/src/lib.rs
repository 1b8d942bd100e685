//! # s3ec-fs
//!
//! A local folder that stands in for S3: [`FsStore`] implements the s3ec
//! client's [`Transport`] (blocking) and [`AsyncTransport`] over a
//! directory, so that the encryption client, the `s3ec` command line and
//! tests run with no service at all, and an edge device can encrypt into a
//! folder and upload the objects later, envelopes intact.
//!
//! ## Layout
//!
//! ```text
//! ROOT/
//!   BUCKET/                      a bucket is a folder (created on the first write)
//!     KEY                        the object body, byte for byte as S3 would store it
//!     KEY.metadata.json          its user metadata: a flat JSON object of strings,
//!                                keys without `x-amz-meta-` (absent: no metadata)
//!   .s3ec-fs/tmp/                files being written (renamed into place when whole)
//!   .s3ec-fs/uploads/ID/         multipart uploads in progress: one file per part
//! ```
//!
//! The `KEY` / `KEY.metadata.json` / `KEY.instruction` trio is exactly what
//! `s3ec encrypt` writes offline, so a folder of such files is a bucket.
//!
//! ## Behaviour
//!
//! - **Atomic writes**: a body is written to a temporary file under
//!   `ROOT/.s3ec-fs/tmp`, flushed, and renamed over the old one; readers
//!   see the old object or the new one, never a part. The metadata file is
//!   renamed into place just before the body. (Two files cannot be swapped
//!   at once: a reader racing a writer of the *same* key may pair new
//!   metadata with the old body for an instant.)
//! - **Entity tags** are derived from the body file's length, modification
//!   time and inode, so every write gives a new one; `If-Match` is
//!   honoured ([`ErrorKind::PreconditionFailed`]).
//! - **Ranges** as S3: `last` past the end is clamped, `first` past the end
//!   is [`ErrorKind::InvalidRange`].
//! - **Multipart uploads**: parts are files; completion checks the part
//!   list (ascending numbers, the tags returned by `upload_part`),
//!   concatenates them into a temporary file and renames it into place.
//! - **Listing** in UTF-8 binary key order, with prefix, delimiter, page
//!   size and continuation token, as `ListObjectsV2`.
//! - **Keys that would leave the folder are refused**
//!   ([`ErrorKind::Other`]): empty, `.` or `..` segments, a leading,
//!   trailing or doubled `/`, a NUL or `\`, and paths that resolve outside
//!   the bucket through a symbolic link. Keys ending in `.metadata.json`
//!   are reserved for the metadata files. Because a folder cannot also be
//!   a file, a key cannot be both an object and the folder of another
//!   (`a` and `a/b`): the second write fails with a clear error.
//! - Missing objects and buckets are [`ErrorKind::NotFound`] (codes
//!   `NoSuchKey`, `NoSuchBucket`); a missing bucket is created by the
//!   first write into it. Deleting a missing object succeeds.
//!
//! ```
//! use s3ec_client::transport::{Bytes, GetRequest, PutRequest, Transport};
//! use s3ec_fs::FsStore;
//! use std::io::Read;
//!
//! let dir = tempfile::tempdir()?;
//! let store = FsStore::new(dir.path())?;
//! let meta = vec![("color".to_string(), "blue".to_string())];
//! store.put_object(
//!     &PutRequest::new("photos", "2026/a.jpg", &meta),
//!     Bytes::from_static(b"hello"),
//! )?;
//! assert!(dir.path().join("photos/2026/a.jpg").is_file());
//!
//! let mut got = store.get_object(&GetRequest::new("photos", "2026/a.jpg"))?;
//! let mut body = String::new();
//! got.body.read_to_string(&mut body)?;
//! assert_eq!((body.as_str(), got.head.metadata), ("hello", meta));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use s3ec_client::transport::{
    AsyncGetResponse, AsyncTransport, Bytes, CompleteRequest, CopyRequest, ErrorKind, GetRequest,
    GetResponse, ListPage, ListRequest, ListedObject, Metadata, ObjectHead, ObjectRequest,
    PartRequest, PutRequest, Transport, TransportError,
};

/// The suffix of the metadata file beside each object body.
pub const METADATA_SUFFIX: &str = ".metadata.json";

/// The folder under the root that holds the store's own files.
pub const INTERNAL_DIR: &str = ".s3ec-fs";

/// The longest key S3 accepts, in bytes.
const MAX_KEY_LEN: usize = 1024;

/// The default and largest page of a listing.
const MAX_PAGE: u32 = 1000;

/// The largest metadata file read back.
const MAX_METADATA_FILE: u64 = 64 * 1024;

/// A local folder that stands in for S3 (see the crate documentation).
///
/// Cheap to clone; safe to share between threads.
#[derive(Debug, Clone)]
pub struct FsStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
}

fn err(kind: ErrorKind, message: impl Into<String>) -> TransportError {
    TransportError::new(kind, message)
}

fn with_code(mut e: TransportError, code: &str) -> TransportError {
    e.code = Some(code.to_string());
    e
}

/// Turn an I/O error into a transport error with some context.
fn io_err(what: &str, e: io::Error) -> TransportError {
    let kind = match e.kind() {
        io::ErrorKind::NotFound => ErrorKind::NotFound,
        io::ErrorKind::PermissionDenied => ErrorKind::AccessDenied,
        _ => ErrorKind::Other,
    };
    let mut t = err(kind, format!("{what}: {e}"));
    t.source = Some(Box::new(e));
    t
}

/// Check a bucket name: S3's rules (3 to 63 of `a-z 0-9 . -`, starting and
/// ending with a letter or digit), which also keep it one safe path segment.
fn check_bucket(bucket: &str) -> Result<(), TransportError> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.as_bytes()[0].is_ascii_alphanumeric()
        && bucket.as_bytes()[bucket.len() - 1].is_ascii_alphanumeric()
        && !bucket.contains("..");
    if ok {
        Ok(())
    } else {
        Err(with_code(
            err(
                ErrorKind::Other,
                format!("invalid bucket name {bucket:?} (3-63 of a-z, 0-9, '.', '-')"),
            ),
            "InvalidBucketName",
        ))
    }
}

/// Check that a key maps to a path inside its bucket folder.
fn check_key(key: &str) -> Result<(), TransportError> {
    let refuse = |why: &str| {
        Err(with_code(
            err(
                ErrorKind::Other,
                format!("object key {key:?} is refused by the folder store: {why}"),
            ),
            "InvalidObjectName",
        ))
    };
    if key.is_empty() {
        return refuse("empty");
    }
    if key.len() > MAX_KEY_LEN {
        return refuse("longer than 1024 bytes");
    }
    if key.contains('\0') || key.contains('\\') {
        return refuse("contains NUL or a backslash");
    }
    if key
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return refuse("a leading, trailing or doubled '/', or a '.' or '..' segment");
    }
    if key.ends_with(METADATA_SUFFIX) {
        return refuse("keys ending in .metadata.json are reserved for metadata files");
    }
    if key.split('/').next() == Some(INTERNAL_DIR) {
        return refuse("reserved folder name");
    }
    // Belt and braces: every component must be a plain name.
    if !Path::new(key)
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return refuse("not a relative path of plain names");
    }
    Ok(())
}

/// The entity tag of a body file, from its length, modification time and
/// inode (every write renames a new file into place, so it changes).
fn etag_of(meta: &fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let ino = 0u64;
    format!("\"{:x}-{mtime:x}-{ino:x}\"", meta.len())
}

fn last_modified(meta: &fs::Metadata) -> Option<String> {
    let secs = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(rfc3339(secs))
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SS.000Z` (UTC).
fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm), for days >= 0.
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Encode user metadata as the flat JSON object of the metadata file.
pub fn metadata_to_json(metadata: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = metadata
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), serde_json::Value::String(v.clone())))
        .collect();
    let mut s = serde_json::Value::Object(map).to_string();
    s.push('\n');
    s
}

/// Decode a metadata file (a flat JSON object of strings).
pub fn metadata_from_json(text: &str) -> Result<Metadata, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(map) = v else {
        return Err("not a JSON object".into());
    };
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            other => Err(format!("the value of {k:?} is not a string: {other}")),
        })
        .collect()
}

fn random_name() -> String {
    use rand::Rng;
    let n: u128 = rand::thread_rng().gen();
    format!("{n:032x}")
}

impl FsStore {
    /// A store rooted at `root` (created if missing).
    pub fn new(root: impl AsRef<Path>) -> io::Result<FsStore> {
        let root = root.as_ref();
        fs::create_dir_all(root)?;
        let root = root.canonicalize()?;
        fs::create_dir_all(root.join(INTERNAL_DIR).join("tmp"))?;
        fs::create_dir_all(root.join(INTERNAL_DIR).join("uploads"))?;
        Ok(FsStore {
            inner: Arc::new(Inner { root }),
        })
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The folder of `bucket`.
    pub fn bucket_path(&self, bucket: &str) -> Result<PathBuf, TransportError> {
        check_bucket(bucket)?;
        Ok(self.inner.root.join(bucket))
    }

    /// The body file of `bucket`/`key` (whether or not it exists).
    pub fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, TransportError> {
        check_key(key)?;
        Ok(self.bucket_path(bucket)?.join(key))
    }

    /// Create a bucket folder (no error if it exists).
    pub fn create_bucket(&self, bucket: &str) -> Result<(), TransportError> {
        let p = self.bucket_path(bucket)?;
        fs::create_dir_all(&p).map_err(|e| io_err("creating the bucket folder", e))
    }

    fn metadata_path(body: &Path) -> PathBuf {
        let mut s = body.as_os_str().to_owned();
        s.push(METADATA_SUFFIX);
        PathBuf::from(s)
    }

    fn tmp_path(&self) -> PathBuf {
        self.inner
            .root
            .join(INTERNAL_DIR)
            .join("tmp")
            .join(random_name())
    }

    fn upload_dir(&self, upload_id: &str) -> Result<PathBuf, TransportError> {
        if upload_id.len() != 32 || !upload_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(with_code(
                err(ErrorKind::NotFound, format!("no upload {upload_id:?}")),
                "NoSuchUpload",
            ));
        }
        Ok(self
            .inner
            .root
            .join(INTERNAL_DIR)
            .join("uploads")
            .join(upload_id))
    }

    /// The bucket folder, which must exist.
    fn existing_bucket(&self, bucket: &str) -> Result<PathBuf, TransportError> {
        let p = self.bucket_path(bucket)?;
        if p.is_dir() {
            Ok(p)
        } else {
            Err(with_code(
                err(ErrorKind::NotFound, format!("no bucket {bucket:?}")),
                "NoSuchBucket",
            ))
        }
    }

    /// Check that `path` (inside the bucket folder) does not resolve
    /// outside it through a symbolic link: its deepest existing ancestor is
    /// canonicalized and must stay under the bucket folder.
    fn check_inside(&self, bucket_dir: &Path, path: &Path) -> Result<(), TransportError> {
        let bucket_real = bucket_dir
            .canonicalize()
            .map_err(|e| io_err("resolving the bucket folder", e))?;
        if !bucket_real.starts_with(&self.inner.root) {
            return Err(err(
                ErrorKind::AccessDenied,
                "the bucket folder resolves outside the store",
            ));
        }
        let mut probe = path.to_path_buf();
        loop {
            match probe.symlink_metadata() {
                Ok(_) => break,
                Err(_) => {
                    if !probe.pop() {
                        return Ok(());
                    }
                }
            }
        }
        let real = probe
            .canonicalize()
            .map_err(|e| io_err("resolving the object path", e))?;
        if real.starts_with(&bucket_real) {
            Ok(())
        } else {
            Err(err(
                ErrorKind::AccessDenied,
                format!("{} resolves outside the bucket folder", path.display()),
            ))
        }
    }

    /// Open the body of an existing object; its stat and metadata.
    fn open_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(File, fs::Metadata, Metadata), TransportError> {
        check_key(key)?;
        let dir = self.existing_bucket(bucket)?;
        let path = dir.join(key);
        let not_found = || {
            with_code(
                err(
                    ErrorKind::NotFound,
                    format!("no object s3://{bucket}/{key}"),
                ),
                "NoSuchKey",
            )
        };
        if path.symlink_metadata().is_err() {
            return Err(not_found());
        }
        self.check_inside(&dir, &path)?;
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_found()),
            Err(e) => return Err(io_err("opening the object", e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| io_err("reading the object's attributes", e))?;
        if !meta.is_file() {
            return Err(not_found());
        }
        let metadata = read_metadata(&Self::metadata_path(&path))?;
        Ok((file, meta, metadata))
    }

    /// Write `fill`'s output to a temporary file and rename it, with its
    /// metadata, into place as `bucket`/`key`. Returns the entity tag.
    fn write_object(
        &self,
        bucket: &str,
        key: &str,
        metadata: &[(String, String)],
        fill: impl FnOnce(&mut File) -> Result<(), TransportError>,
    ) -> Result<String, TransportError> {
        check_key(key)?;
        let dir = self.bucket_path(bucket)?;
        let path = dir.join(key);
        fs::create_dir_all(&dir).map_err(|e| io_err("creating the bucket folder", e))?;
        self.check_inside(&dir, &path)?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| conflict(key, e))?;
        }
        // Created only now: check again that nothing linked it elsewhere.
        self.check_inside(&dir, &path)?;
        if path.is_dir() {
            return Err(conflict(
                key,
                io::Error::other("a folder of that name exists"),
            ));
        }
        let tmp = TempFile::new(self.tmp_path())?;
        {
            let mut f = tmp.file()?;
            fill(&mut f)?;
            f.sync_data()
                .map_err(|e| io_err("flushing the object", e))?;
        }
        let meta_path = Self::metadata_path(&path);
        if metadata.is_empty() {
            match fs::remove_file(&meta_path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("removing the old metadata file", e)),
            }
        } else {
            let mtmp = TempFile::new(self.tmp_path())?;
            {
                let mut f = mtmp.file()?;
                f.write_all(metadata_to_json(metadata).as_bytes())
                    .map_err(|e| io_err("writing the metadata file", e))?;
            }
            mtmp.persist(&meta_path)?;
        }
        tmp.persist(&path)?;
        let stat = fs::metadata(&path).map_err(|e| io_err("reading the new object", e))?;
        Ok(etag_of(&stat))
    }

    /// Remove empty folders from `path`'s parent up to (not including) the
    /// bucket folder.
    fn prune(bucket_dir: &Path, path: &Path) {
        let mut p = path.parent();
        while let Some(d) = p {
            if d == bucket_dir || !d.starts_with(bucket_dir) || fs::remove_dir(d).is_err() {
                break;
            }
            p = d.parent();
        }
    }

    fn list_blocking(&self, req: &ListRequest<'_>) -> Result<ListPage, TransportError> {
        let dir = self.existing_bucket(req.bucket)?;
        let prefix = req.prefix.unwrap_or("");
        let max = req.max_keys.unwrap_or(MAX_PAGE).min(MAX_PAGE) as usize;
        // Walk only the folder the prefix names.
        let start_rel = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let start = if start_rel.is_empty() {
            dir.clone()
        } else {
            if check_key(start_rel).is_err() {
                return Ok(ListPage::default());
            }
            dir.join(start_rel)
        };
        let mut entries: Vec<(String, fs::Metadata)> = Vec::new();
        if start.is_dir() {
            self.check_inside(&dir, &start)?;
            walk(&start, start_rel, &mut entries)?;
        }
        entries.retain(|(k, _)| k.starts_with(prefix));
        entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let after = req.continuation_token.unwrap_or("");
        let mut page = ListPage::default();
        let mut count = 0usize;
        let mut last = None::<String>;
        for (key, meta) in entries {
            if !after.is_empty() && key.as_str() <= after {
                continue;
            }
            if let Some(d) = req.delimiter.filter(|d| !d.is_empty()) {
                if let Some(i) = key[prefix.len()..].find(d) {
                    let cp = key[..prefix.len() + i + d.len()].to_string();
                    if page.common_prefixes.last() == Some(&cp) {
                        continue;
                    }
                    if !after.is_empty() && cp.as_str() <= after {
                        continue;
                    }
                    if count == max {
                        page.next_continuation_token = last;
                        return Ok(page);
                    }
                    count += 1;
                    // Skip the rest of this prefix on the next page too.
                    let mut skip = cp.clone();
                    skip.push(char::MAX);
                    last = Some(skip);
                    page.common_prefixes.push(cp);
                    continue;
                }
            }
            if count == max {
                page.next_continuation_token = last;
                return Ok(page);
            }
            count += 1;
            last = Some(key.clone());
            page.objects.push(ListedObject {
                size: meta.len(),
                etag: Some(etag_of(&meta)),
                last_modified: last_modified(&meta),
                key,
            });
        }
        Ok(page)
    }
}

/// Collect the object files under `dir` (whose key prefix is `rel`).
fn walk(
    dir: &Path,
    rel: &str,
    out: &mut Vec<(String, fs::Metadata)>,
) -> Result<(), TransportError> {
    let rd = fs::read_dir(dir).map_err(|e| io_err("listing a folder", e))?;
    for entry in rd {
        let entry = entry.map_err(|e| io_err("listing a folder", e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue; // not UTF-8: not a key
        };
        let key = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if rel.is_empty() && name == INTERNAL_DIR {
            continue;
        }
        let ft = entry
            .file_type()
            .map_err(|e| io_err("listing a folder", e))?;
        if ft.is_dir() {
            walk(&entry.path(), &key, out)?;
        } else if ft.is_file() && !name.ends_with(METADATA_SUFFIX) && check_key(&key).is_ok() {
            let meta = entry
                .metadata()
                .map_err(|e| io_err("listing a folder", e))?;
            out.push((key, meta));
        }
    }
    Ok(())
}

fn conflict(key: &str, e: io::Error) -> TransportError {
    let mut t = err(
        ErrorKind::Other,
        format!(
            "cannot store {key:?} in the folder store: one of its folders is an object, \
             or it is the folder of other objects ({e})"
        ),
    );
    t.source = Some(Box::new(e));
    t
}

fn read_metadata(path: &Path) -> Result<Metadata, TransportError> {
    let mut text = String::new();
    match File::open(path) {
        Ok(f) => {
            f.take(MAX_METADATA_FILE)
                .read_to_string(&mut text)
                .map_err(|e| io_err("reading the metadata file", e))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("reading the metadata file", e)),
    }
    metadata_from_json(&text).map_err(|m| {
        err(
            ErrorKind::InvalidResponse,
            format!("the metadata file {} is malformed: {m}", path.display()),
        )
    })
}

/// A temporary file removed on drop unless persisted.
struct TempFile {
    path: PathBuf,
    done: bool,
}

impl TempFile {
    fn new(path: PathBuf) -> Result<TempFile, TransportError> {
        File::create(&path).map_err(|e| io_err("creating a temporary file", e))?;
        Ok(TempFile { path, done: false })
    }

    fn file(&self) -> Result<File, TransportError> {
        fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(|e| io_err("opening a temporary file", e))
    }

    fn persist(mut self, to: &Path) -> Result<(), TransportError> {
        fs::rename(&self.path, to).map_err(|e| io_err("renaming the file into place", e))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// An [`ObjectHead`] (fields added to it later keep their defaults).
#[allow(clippy::needless_update)]
fn head(content_length: u64, etag: String, metadata: Metadata) -> ObjectHead {
    ObjectHead {
        content_length,
        etag: Some(etag),
        metadata,
        ..Default::default()
    }
}

fn part_name(n: u32) -> String {
    format!("part-{n:05}")
}

/// The range to read of an object of `total` bytes: (first, last) inclusive.
fn resolve_range(
    range: Option<s3ec_client::transport::ByteRange>,
    total: u64,
) -> Result<Option<(u64, u64)>, TransportError> {
    let Some(r) = range else { return Ok(None) };
    if r.first >= total || r.last.is_some_and(|l| l < r.first) {
        return Err(with_code(
            err(
                ErrorKind::InvalidRange,
                format!("range {}-{:?} of a {total}-byte object", r.first, r.last),
            ),
            "InvalidRange",
        ));
    }
    let last = r.last.map_or(total - 1, |l| l.min(total - 1));
    Ok(Some((r.first, last)))
}

impl Transport for FsStore {
    fn head_object(&self, req: &ObjectRequest<'_>) -> Result<ObjectHead, TransportError> {
        no_versions(req.version_id)?;
        let (_, meta, metadata) = self.open_object(req.bucket, req.key)?;
        Ok(head(meta.len(), etag_of(&meta), metadata))
    }

    fn get_object(&self, req: &GetRequest<'_>) -> Result<GetResponse, TransportError> {
        no_versions(req.version_id)?;
        let (mut file, meta, metadata) = self.open_object(req.bucket, req.key)?;
        let etag = etag_of(&meta);
        if let Some(m) = req.if_match {
            if m != etag && m != "*" {
                return Err(with_code(
                    err(
                        ErrorKind::PreconditionFailed,
                        format!("s3://{}/{} changed (If-Match)", req.bucket, req.key),
                    ),
                    "PreconditionFailed",
                ));
            }
        }
        let total = meta.len();
        let range = resolve_range(req.range, total)?;
        let body: Box<dyn Read + Send> = match range {
            Some((first, last)) => {
                file.seek(SeekFrom::Start(first))
                    .map_err(|e| io_err("seeking in the object", e))?;
                Box::new(file.take(last - first + 1))
            }
            None => Box::new(file),
        };
        Ok(GetResponse {
            head: head(total, etag, metadata),
            content_range: range.map(|(f, l)| (f, l, total)),
            body,
        })
    }

    fn put_object(
        &self,
        req: &PutRequest<'_>,
        body: Bytes,
    ) -> Result<Option<String>, TransportError> {
        self.write_object(req.bucket, req.key, req.metadata, |f| {
            f.write_all(&body)
                .map_err(|e| io_err("writing the object", e))
        })
        .map(Some)
    }

    fn delete_object(&self, req: &ObjectRequest<'_>) -> Result<(), TransportError> {
        no_versions(req.version_id)?;
        let (bucket, key) = (req.bucket, req.key);
        check_key(key)?;
        let dir = self.existing_bucket(bucket)?;
        let path = dir.join(key);
        if path.symlink_metadata().is_err() {
            return Ok(());
        }
        match self.check_inside(&dir, &path) {
            // Deleted by a concurrent request in between: deleting a
            // missing object succeeds, as on S3.
            Err(e) if e.kind == ErrorKind::NotFound && path.symlink_metadata().is_err() => {
                return Ok(())
            }
            r => r?,
        }
        if path.is_dir() {
            return Ok(()); // a "folder", not an object
        }
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("deleting the object", e)),
        }
        match fs::remove_file(Self::metadata_path(&path)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("deleting the metadata file", e)),
        }
        Self::prune(&dir, &path);
        Ok(())
    }

    fn create_multipart_upload(&self, req: &PutRequest<'_>) -> Result<String, TransportError> {
        check_key(req.key)?;
        check_bucket(req.bucket)?;
        let id = random_name();
        let dir = self.upload_dir(&id)?;
        fs::create_dir_all(&dir).map_err(|e| io_err("creating the upload folder", e))?;
        let info = serde_json::json!({
            "bucket": req.bucket,
            "key": req.key,
            "metadata": metadata_to_json(req.metadata),
        });
        fs::write(dir.join("upload.json"), info.to_string())
            .map_err(|e| io_err("writing the upload record", e))?;
        Ok(id)
    }

    fn upload_part(&self, req: &PartRequest<'_>, body: Bytes) -> Result<String, TransportError> {
        let (bucket, key, upload_id, part_number) =
            (req.bucket, req.key, req.upload_id, req.part_number);
        if !(1..=10_000).contains(&part_number) {
            return Err(err(
                ErrorKind::Other,
                format!("part number {part_number} is outside 1..=10000"),
            ));
        }
        let dir = self.upload_of(bucket, key, upload_id)?.0;
        let tmp = TempFile::new(self.tmp_path())?;
        {
            let mut f = tmp.file()?;
            f.write_all(&body)
                .map_err(|e| io_err("writing the part", e))?;
        }
        let path = dir.join(part_name(part_number));
        tmp.persist(&path)?;
        let stat = fs::metadata(&path).map_err(|e| io_err("reading the part", e))?;
        Ok(etag_of(&stat))
    }

    fn complete_multipart_upload(
        &self,
        req: &CompleteRequest<'_>,
    ) -> Result<Option<String>, TransportError> {
        let (bucket, key, upload_id, parts) = (req.bucket, req.key, req.upload_id, req.parts);
        let (dir, metadata) = self.upload_of(bucket, key, upload_id)?;
        if parts.is_empty() {
            return Err(err(
                ErrorKind::Other,
                "a multipart upload needs at least one part",
            ));
        }
        let invalid = |m: String| with_code(err(ErrorKind::Other, m), "InvalidPart");
        let mut files = Vec::with_capacity(parts.len());
        let mut prev = 0u32;
        for p in parts {
            if p.part_number <= prev {
                return Err(with_code(
                    err(ErrorKind::Other, "parts are not in ascending order"),
                    "InvalidPartOrder",
                ));
            }
            prev = p.part_number;
            let path = dir.join(part_name(p.part_number));
            let f = File::open(&path)
                .map_err(|_| invalid(format!("part {} was not uploaded", p.part_number)))?;
            let stat = f.metadata().map_err(|e| io_err("reading the part", e))?;
            if etag_of(&stat) != p.etag {
                return Err(invalid(format!(
                    "part {} has entity tag {}, not {}",
                    p.part_number,
                    etag_of(&stat),
                    p.etag
                )));
            }
            files.push(f);
        }
        let etag = self.write_object(bucket, key, &metadata, |out| {
            for mut f in files {
                io::copy(&mut f, out).map_err(|e| io_err("assembling the parts", e))?;
            }
            Ok(())
        })?;
        let _ = fs::remove_dir_all(&dir);
        Ok(Some(etag))
    }

    fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), TransportError> {
        let dir = self.upload_of(bucket, key, upload_id)?.0;
        fs::remove_dir_all(&dir).map_err(|e| io_err("removing the upload", e))
    }

    fn copy_object(&self, req: &CopyRequest<'_>) -> Result<Option<String>, TransportError> {
        let (mut src, meta, _) = self.open_object(req.source_bucket, req.source_key)?;
        if let Some(m) = req.source_if_match {
            if m != etag_of(&meta) && m != "*" {
                return Err(with_code(
                    err(
                        ErrorKind::PreconditionFailed,
                        format!(
                            "s3://{}/{} changed (x-amz-copy-source-if-match)",
                            req.source_bucket, req.source_key
                        ),
                    ),
                    "PreconditionFailed",
                ));
            }
        }
        // Written to a temporary file and renamed, as every write: a
        // copy onto itself replaces the object atomically.
        self.write_object(req.bucket, req.key, req.metadata, |f| {
            io::copy(&mut src, f)
                .map(|_| ())
                .map_err(|e| io_err("copying the object", e))
        })
        .map(Some)
    }

    fn list_objects(&self, req: &ListRequest<'_>) -> Result<ListPage, TransportError> {
        self.list_blocking(req)
    }
}

impl FsStore {
    /// The folder and metadata of an upload in progress for `bucket`/`key`.
    fn upload_of(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(PathBuf, Metadata), TransportError> {
        let dir = self.upload_dir(upload_id)?;
        let no_such = || {
            with_code(
                err(ErrorKind::NotFound, format!("no upload {upload_id:?}")),
                "NoSuchUpload",
            )
        };
        let text = fs::read_to_string(dir.join("upload.json")).map_err(|_| no_such())?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| no_such())?;
        if v["bucket"] != bucket || v["key"] != key {
            return Err(no_such());
        }
        let metadata = metadata_from_json(v["metadata"].as_str().unwrap_or("{}"))
            .map_err(|m| err(ErrorKind::InvalidResponse, m))?;
        Ok((dir, metadata))
    }
}

/// The folder keeps one version of each object: a request for a version
/// is refused (rather than answered with whatever is there now).
fn no_versions(version_id: Option<&str>) -> Result<(), TransportError> {
    match version_id {
        None => Ok(()),
        Some(v) => Err(err(
            ErrorKind::Unsupported,
            format!("the folder store keeps no versions (asked for version {v:?})"),
        )),
    }
}

/// Run a blocking store operation on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, TransportError> + Send + 'static,
) -> Result<T, TransportError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| err(ErrorKind::Other, format!("store task failed: {e}")))?
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The size of the chunks of an async body.
const ASYNC_CHUNK: usize = 256 * 1024;

impl AsyncTransport for FsStore {
    fn head_object<'a>(
        &'a self,
        req: &'a ObjectRequest<'a>,
    ) -> BoxFuture<'a, Result<ObjectHead, TransportError>> {
        let (s, b, k) = (self.clone(), req.bucket.to_string(), req.key.to_string());
        let v = req.version_id.map(str::to_string);
        Box::pin(blocking(move || {
            Transport::head_object(
                &s,
                &ObjectRequest {
                    version_id: v.as_deref(),
                    ..ObjectRequest::new(&b, &k)
                },
            )
        }))
    }

    fn get_object<'a>(
        &'a self,
        req: &'a GetRequest<'a>,
    ) -> BoxFuture<'a, Result<AsyncGetResponse, TransportError>> {
        let s = self.clone();
        let (b, k) = (req.bucket.to_string(), req.key.to_string());
        let (range, if_match) = (req.range, req.if_match.map(str::to_string));
        let version_id = req.version_id.map(str::to_string);
        Box::pin(async move {
            let resp = blocking(move || {
                Transport::get_object(
                    &s,
                    &GetRequest {
                        bucket: &b,
                        key: &k,
                        range,
                        if_match: if_match.as_deref(),
                        version_id: version_id.as_deref(),
                        ..GetRequest::default()
                    },
                )
            })
            .await?;
            let GetResponse {
                head,
                content_range,
                body,
            } = resp;
            // Each chunk is read on the blocking pool.
            let stream = futures_util::stream::unfold(Some(body), |state| async move {
                let mut reader = state?;
                let out = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; ASYNC_CHUNK];
                    let r = loop {
                        match reader.read(&mut buf) {
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            other => break other,
                        }
                    };
                    (reader, buf, r)
                })
                .await;
                match out {
                    Ok((_, _, Ok(0))) => None,
                    Ok((reader, mut buf, Ok(n))) => {
                        buf.truncate(n);
                        Some((Ok(Bytes::from(buf)), Some(reader)))
                    }
                    Ok((_, _, Err(e))) => Some((Err(io_err("reading the object", e)), None)),
                    Err(e) => Some((
                        Err(err(ErrorKind::Other, format!("store task failed: {e}"))),
                        None,
                    )),
                }
            });
            Ok(AsyncGetResponse {
                head,
                content_range,
                body: Box::pin(stream),
            })
        })
    }

    fn put_object<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        let s = self.clone();
        let (b, k, m) = (
            req.bucket.to_string(),
            req.key.to_string(),
            req.metadata.to_vec(),
        );
        Box::pin(blocking(move || {
            Transport::put_object(&s, &PutRequest::new(&b, &k, &m), body)
        }))
    }

    fn delete_object<'a>(
        &'a self,
        req: &'a ObjectRequest<'a>,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        let (s, b, k) = (self.clone(), req.bucket.to_string(), req.key.to_string());
        let v = req.version_id.map(str::to_string);
        Box::pin(blocking(move || {
            Transport::delete_object(
                &s,
                &ObjectRequest {
                    version_id: v.as_deref(),
                    ..ObjectRequest::new(&b, &k)
                },
            )
        }))
    }

    fn create_multipart_upload<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        let s = self.clone();
        let (b, k, m) = (
            req.bucket.to_string(),
            req.key.to_string(),
            req.metadata.to_vec(),
        );
        Box::pin(blocking(move || {
            Transport::create_multipart_upload(&s, &PutRequest::new(&b, &k, &m))
        }))
    }

    fn upload_part<'a>(
        &'a self,
        req: &'a PartRequest<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        let (s, b, k, u, n) = (
            self.clone(),
            req.bucket.to_string(),
            req.key.to_string(),
            req.upload_id.to_string(),
            req.part_number,
        );
        Box::pin(blocking(move || {
            Transport::upload_part(&s, &PartRequest::new(&b, &k, &u, n), body)
        }))
    }

    fn complete_multipart_upload<'a>(
        &'a self,
        req: &'a CompleteRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        let (s, b, k, u, p) = (
            self.clone(),
            req.bucket.to_string(),
            req.key.to_string(),
            req.upload_id.to_string(),
            req.parts.to_vec(),
        );
        Box::pin(blocking(move || {
            Transport::complete_multipart_upload(&s, &CompleteRequest::new(&b, &k, &u, &p))
        }))
    }

    fn abort_multipart_upload<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        let (s, b, k, u) = (
            self.clone(),
            bucket.to_string(),
            key.to_string(),
            upload_id.to_string(),
        );
        Box::pin(blocking(move || {
            Transport::abort_multipart_upload(&s, &b, &k, &u)
        }))
    }

    fn copy_object<'a>(
        &'a self,
        req: &'a CopyRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        let s = self.clone();
        let (b, k, sb, sk) = (
            req.bucket.to_string(),
            req.key.to_string(),
            req.source_bucket.to_string(),
            req.source_key.to_string(),
        );
        let (m, e) = (
            req.metadata.to_vec(),
            req.source_if_match.map(str::to_string),
        );
        Box::pin(blocking(move || {
            Transport::copy_object(
                &s,
                &CopyRequest {
                    bucket: &b,
                    key: &k,
                    source_bucket: &sb,
                    source_key: &sk,
                    source_if_match: e.as_deref(),
                    metadata: &m,
                },
            )
        }))
    }

    fn list_objects<'a>(
        &'a self,
        req: &'a ListRequest<'a>,
    ) -> BoxFuture<'a, Result<ListPage, TransportError>> {
        let s = self.clone();
        let (b, p, d, t, m) = (
            req.bucket.to_string(),
            req.prefix.map(str::to_string),
            req.delimiter.map(str::to_string),
            req.continuation_token.map(str::to_string),
            req.max_keys,
        );
        Box::pin(blocking(move || {
            s.list_blocking(&ListRequest {
                bucket: &b,
                prefix: p.as_deref(),
                delimiter: d.as_deref(),
                continuation_token: t.as_deref(),
                max_keys: m,
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn keys_that_leave_the_folder_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a/./b",
            "a/",
            ".",
            "..",
            "a\\b",
            "x.metadata.json",
            ".s3ec-fs/tmp/x",
            "a\0b",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        for good in [
            "a",
            "a/b/c.txt",
            "..a",
            "a..b/c",
            ".hidden",
            "x.instruction",
            "é/ü",
        ] {
            assert!(check_key(good).is_ok(), "{good:?}");
        }
        assert!(check_key(&"a".repeat(1025)).is_err());
        for bad in ["", "ab", "AB-c", "a..b", "-ab", "ab-", ".s3ec-fs", "a/b"] {
            assert!(check_bucket(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_892_800 + 3661), "2025-12-05T01:01:01.000Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn metadata_json() {
        let m = vec![("X-Amz-Key".to_string(), "v\"é".to_string())];
        let j = metadata_to_json(&m);
        assert_eq!(
            metadata_from_json(&j).unwrap(),
            vec![("x-amz-key".to_string(), "v\"é".to_string())]
        );
        assert!(metadata_from_json("[]").is_err());
        assert!(metadata_from_json("{\"a\":1}").is_err());
    }
}

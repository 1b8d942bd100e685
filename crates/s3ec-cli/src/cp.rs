//! `s3ec cp`: encrypt on the way up, decrypt and authenticate on the way
//! down, copy as-is between stores.

use s3ec_client::transport::{CompleteRequest, ObjectRequest, PartRequest};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use clap::Args;
use indicatif::ProgressBar;
use s3ec_client::transport::{Bytes, CompletedPart, ErrorKind, GetRequest, PutRequest, Transport};
use s3ec_client::{Client, GetOptions, PutOptions};
use s3ec_core::envelope::INSTRUCTION_FILE_SUFFIX;
use s3ec_keyring::Context;

use crate::error::{CliError, Exit, Result};
use crate::keys::{KeyArgs, PolicyArgs};
use crate::store::{self, Instrumented, S3Url, StoreOptions};
use crate::Ctx;

/// `s3ec cp`.
#[derive(Debug, Args)]
pub(crate) struct CpArgs {
    /// Source: a local file (or folder with --recursive), `-` for stdin, or
    /// s3://bucket/key (s3://bucket/prefix/ with --recursive)
    pub(crate) src: String,
    /// Destination: s3://bucket/key (ending in `/`: the source's name is
    /// added), a local file or folder, or `-` for stdout
    pub(crate) dst: String,
    /// Copy a whole folder or prefix
    #[arg(short, long)]
    pub(crate) recursive: bool,
    /// Objects in flight at once with --recursive
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub(crate) concurrency: usize,
    /// For s3:// to s3:// copies: the endpoint of the source (e.g. a local
    /// folder store, file:///outbox, copied to S3 with envelopes intact)
    #[arg(long, value_name = "URL")]
    pub(crate) source_endpoint_url: Option<String>,
    #[command(flatten)]
    pub(crate) keys: KeyArgs,
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

#[derive(Debug, Clone)]
enum Loc {
    Std,
    Local(PathBuf),
    S3(S3Url),
}

fn loc(s: &str) -> Loc {
    if s == "-" {
        Loc::Std
    } else if let Some(u) = S3Url::parse(s) {
        Loc::S3(u)
    } else {
        Loc::Local(PathBuf::from(s))
    }
}

pub(crate) fn run(ctx: &Ctx, a: &CpArgs) -> Result<()> {
    if a.concurrency == 0 {
        return Err(CliError::usage("--concurrency must be at least 1"));
    }
    match (loc(&a.src), loc(&a.dst)) {
        (Loc::S3(src), Loc::S3(dst)) => copy_as_is(ctx, a, &src, &dst),
        (Loc::Std | Loc::Local(_), Loc::Std | Loc::Local(_)) => Err(CliError::usage(
            "one side of cp must be an s3:// URL (use `s3ec encrypt` / `s3ec decrypt` offline)",
        )),
        (src, Loc::S3(dst)) => upload(ctx, a, src, &dst),
        (Loc::S3(src), dst) => download(ctx, a, &src, dst),
    }
}

fn note(ctx: &Ctx, line: String) {
    if !ctx.quiet {
        eprintln!("{line}");
    }
}

/// Run `f` over `items` with up to `n` in flight; failures are reported as
/// they happen and summed up at the end.
pub(crate) fn parallel<T: Send>(
    items: Vec<T>,
    n: usize,
    label: impl Fn(&T) -> String + Sync,
    f: impl Fn(&T) -> Result<()> + Sync,
) -> Result<()> {
    let total = items.len();
    let queue = Mutex::new(items.into_iter());
    let failed = AtomicUsize::new(0);
    let first: Mutex<Option<Exit>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..n.min(total.max(1)) {
            s.spawn(|| loop {
                let next = match queue.lock() {
                    Ok(mut q) => q.next(),
                    Err(_) => None,
                };
                let Some(item) = next else { break };
                if let Err(e) = f(&item) {
                    eprintln!("s3ec: failed: {}: {e}", label(&item));
                    failed.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut g) = first.lock() {
                        g.get_or_insert(e.exit);
                    }
                }
            });
        }
    });
    let failed = failed.into_inner();
    if failed == 0 {
        return Ok(());
    }
    let exit = first.into_inner().ok().flatten().unwrap_or(Exit::Other);
    Err(CliError::new(
        exit,
        format!("{failed} of {total} objects failed (see above)"),
    ))
}

fn client(ctx: &Ctx, a: &CpArgs, encrypt: bool, bar: Option<ProgressBar>) -> Result<Client> {
    let t = store::open(&ctx.store)?;
    let t = Instrumented::new(t).with_progress(bar, false);
    let ring = a.keys.keyring(&ctx.store, encrypt)?;
    a.policy.client(Arc::new(t), ring)
}

/// Append the file name of `src` to a key ending in `/` (or empty).
fn object_key(dst: &S3Url, name: Option<&str>) -> Result<String> {
    if dst.key.is_empty() || dst.key.ends_with('/') {
        match name {
            Some(n) => Ok(format!("{}{n}", dst.key)),
            None => Err(CliError::usage(format!(
                "{dst} names no object: give the key to write"
            ))),
        }
    } else {
        Ok(dst.key.clone())
    }
}

fn put_file(
    client: &Client,
    path: &Path,
    bucket: &str,
    key: &str,
    context: &Context,
    bar: Option<&ProgressBar>,
) -> Result<u64> {
    let f = File::open(path).map_err(|e| CliError::from(e).context(path.display().to_string()))?;
    let len = f.metadata()?.len();
    let opts = PutOptions {
        context: context.clone(),
        ..Default::default()
    };
    let reader: Box<dyn Read> = match bar {
        Some(b) => Box::new(b.wrap_read(f)),
        None => Box::new(f),
    };
    let out = client.put_object_with(bucket, key, reader, Some(len), &opts)?;
    Ok(out.plaintext_len)
}

fn upload(ctx: &Ctx, a: &CpArgs, src: Loc, dst: &S3Url) -> Result<()> {
    let context = a.keys.context();
    match src {
        Loc::Std => {
            if a.recursive {
                return Err(CliError::usage("--recursive cannot read stdin"));
            }
            let key = object_key(dst, None)?;
            let client = client(ctx, a, true, None)?;
            let opts = PutOptions {
                context,
                ..Default::default()
            };
            let out = client.put_object_with(&dst.bucket, &key, io::stdin().lock(), None, &opts)?;
            note(
                ctx,
                format!(
                    "upload: - -> s3://{}/{key} ({} bytes)",
                    dst.bucket, out.plaintext_len
                ),
            );
            Ok(())
        }
        Loc::Local(path) if a.recursive => {
            if !path.is_dir() {
                return Err(CliError::new(
                    Exit::NotFound,
                    format!("{} is not a folder", path.display()),
                ));
            }
            let mut files = Vec::new();
            walk(&path, String::new(), &mut files)?;
            let total: u64 = files.iter().map(|(_, _, l)| l).sum();
            let bar = ctx.progress(Some(total), "upload");
            let client = client(ctx, a, true, None)?;
            let prefix = if dst.key.is_empty() || dst.key.ends_with('/') {
                dst.key.clone()
            } else {
                format!("{}/", dst.key)
            };
            let r = parallel(
                files,
                a.concurrency,
                |(p, _, _)| p.display().to_string(),
                |(p, rel, _)| {
                    let key = format!("{prefix}{rel}");
                    let n = put_file(&client, p, &dst.bucket, &key, &context, None)?;
                    if let Some(b) = &bar {
                        b.inc(n);
                    }
                    if bar.is_none() {
                        note(
                            ctx,
                            format!("upload: {} -> s3://{}/{key}", p.display(), dst.bucket),
                        );
                    }
                    Ok(())
                },
            );
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            r
        }
        Loc::Local(path) => {
            let name = path.file_name().and_then(|n| n.to_str());
            let key = object_key(dst, name)?;
            let len = std::fs::metadata(&path)
                .map_err(|e| CliError::from(e).context(path.display().to_string()))?
                .len();
            let bar = ctx.progress(Some(len), "upload");
            let client = client(ctx, a, true, None)?;
            let r = put_file(&client, &path, &dst.bucket, &key, &context, bar.as_ref());
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            r?;
            note(
                ctx,
                format!("upload: {} -> s3://{}/{key}", path.display(), dst.bucket),
            );
            Ok(())
        }
        Loc::S3(_) => Err(CliError::usage("unreachable source")),
    }
}

/// The files under `dir`: (path, key-relative name with `/`, length).
fn walk(dir: &Path, rel: String, out: &mut Vec<(PathBuf, String, u64)>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| CliError::from(e).context(dir.display().to_string()))?
        .collect::<io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            return Err(CliError::usage(format!(
                "{}: the file name is not UTF-8 and cannot be an S3 key",
                e.path().display()
            )));
        };
        let r = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let meta = std::fs::metadata(e.path())?;
        if meta.is_dir() {
            walk(&e.path(), r, out)?;
        } else if meta.is_file() {
            out.push((e.path(), r, meta.len()));
        }
    }
    Ok(())
}

/// Decrypt `bucket`/`key` into `dest` in one pass: the library decrypts
/// into a temporary file beside it as the body arrives and renames it into
/// place once the object is authenticated (no spool, no second copy);
/// nothing is left on error and an existing `dest` is untouched.
pub(crate) fn get_to_file(
    client: &Client,
    bucket: &str,
    key: &str,
    dest: &Path,
    opts: &GetOptions,
) -> Result<u64> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::from(e).context(dir.display().to_string()))?;
    let got = client.get_object_to_path(bucket, key, dest, opts)?;
    Ok(got.plaintext_len)
}

/// `dir` joined with a key's relative name, refusing names that leave it.
fn local_path(dir: &Path, rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(CliError::new(
            Exit::Other,
            format!("the key part {rel:?} would leave the destination folder; skipped"),
        ));
    }
    Ok(dir.join(p))
}

fn download(ctx: &Ctx, a: &CpArgs, src: &S3Url, dst: Loc) -> Result<()> {
    let opts = GetOptions {
        expected_context: (!a.keys.context.is_empty()).then(|| a.keys.context()),
        ..Default::default()
    };
    match dst {
        Loc::Std => {
            if a.recursive {
                return Err(CliError::usage("--recursive cannot write to stdout"));
            }
            let client = client(ctx, a, false, None)?;
            let stdout = io::stdout();
            let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
            client.get_object_with(&src.bucket, &src.key, &mut w, &opts)?;
            w.flush()?;
            Ok(())
        }
        Loc::Local(dir) if a.recursive => {
            let t = store::open(&ctx.store)?;
            let objects = store::list_all(t.as_ref(), &src.bucket, &src.key)?;
            let keys: std::collections::HashSet<&str> =
                objects.iter().map(|o| o.key.as_str()).collect();
            // An instruction file travels with its object.
            let todo: Vec<_> = objects
                .iter()
                .filter(|o| {
                    o.key
                        .strip_suffix(INSTRUCTION_FILE_SUFFIX)
                        .is_none_or(|base| !keys.contains(base))
                })
                .cloned()
                .collect();
            let total = todo.iter().map(|o| o.size).sum();
            let bar = ctx.progress(Some(total), "download");
            let client = client(ctx, a, false, bar.clone())?;
            let r = parallel(
                todo,
                a.concurrency,
                |o| format!("s3://{}/{}", src.bucket, o.key),
                |o| {
                    let rel = o.key[src.key.len()..].trim_start_matches('/');
                    let path = local_path(&dir, rel)?;
                    get_to_file(&client, &src.bucket, &o.key, &path, &opts)?;
                    if bar.is_none() {
                        note(
                            ctx,
                            format!(
                                "download: s3://{}/{} -> {}",
                                src.bucket,
                                o.key,
                                path.display()
                            ),
                        );
                    }
                    Ok(())
                },
            );
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            r
        }
        Loc::Local(path) => {
            let dest = if path.is_dir() || a.dst.ends_with('/') {
                let name = src.key.rsplit('/').next().unwrap_or_default();
                local_path(&path, name)?
            } else {
                path
            };
            let bar = match ctx.progress(None, "download") {
                Some(b) => {
                    let t = store::open(&ctx.store)?;
                    b.set_length(
                        t.head_object(&ObjectRequest::new(&src.bucket, &src.key))?
                            .content_length,
                    );
                    Some(b)
                }
                None => None,
            };
            let client = client(ctx, a, false, bar.clone())?;
            let r = get_to_file(&client, &src.bucket, &src.key, &dest, &opts);
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            r?;
            note(ctx, format!("download: {src} -> {}", dest.display()));
            Ok(())
        }
        Loc::S3(_) => Err(CliError::usage("unreachable destination")),
    }
}

/// s3:// to s3://: bodies and metadata copied byte for byte (nothing is
/// decrypted; envelopes and instruction files stay valid).
fn copy_as_is(ctx: &Ctx, a: &CpArgs, src: &S3Url, dst: &S3Url) -> Result<()> {
    let src_opts = StoreOptions {
        endpoint_url: a
            .source_endpoint_url
            .clone()
            .or(ctx.store.endpoint_url.clone()),
        ..ctx.store.clone()
    };
    let from = Instrumented::new(store::open(&src_opts)?);
    let to = Instrumented::new(store::open(&ctx.store)?);
    let part = usize::try_from(a.policy.part_size_mib.saturating_mul(1 << 20))
        .map_err(|_| CliError::usage("--part-size-mib is too large"))?;
    if a.recursive {
        let objects = store::list_all(&from, &src.bucket, &src.key)?;
        let prefix = &dst.key;
        return parallel(
            objects,
            a.concurrency,
            |o| format!("s3://{}/{}", src.bucket, o.key),
            |o| {
                let rel = &o.key[src.key.len()..];
                let key = format!("{prefix}{rel}");
                raw_copy(&from, &src.bucket, &o.key, &to, &dst.bucket, &key, part)?;
                note(
                    ctx,
                    format!(
                        "copy: s3://{}/{} -> s3://{}/{key}",
                        src.bucket, o.key, dst.bucket
                    ),
                );
                Ok(())
            },
        );
    }
    let name = src.key.rsplit('/').next().filter(|n| !n.is_empty());
    let key = object_key(dst, name)?;
    raw_copy(&from, &src.bucket, &src.key, &to, &dst.bucket, &key, part)?;
    // The instruction file goes along, if there is one.
    let isrc = format!("{}{INSTRUCTION_FILE_SUFFIX}", src.key);
    match raw_copy(
        &from,
        &src.bucket,
        &isrc,
        &to,
        &dst.bucket,
        &format!("{key}{INSTRUCTION_FILE_SUFFIX}"),
        part,
    ) {
        Err(e) if e.exit == Exit::NotFound => {}
        other => other?,
    }
    note(ctx, format!("copy: {src} -> s3://{}/{key}", dst.bucket));
    Ok(())
}

/// Metadata values that can travel in HTTP headers: non-ASCII values (a
/// folder store keeps them as they are) become RFC 2047 encoded-words, as
/// S3 itself returns them and as the client decodes them.
fn header_safe(metadata: &[(String, String)]) -> Vec<(String, String)> {
    use base64ct::Encoding;
    metadata
        .iter()
        .map(|(k, v)| {
            if v.is_ascii() {
                (k.clone(), v.clone())
            } else {
                let b64 = base64ct::Base64::encode_string(v.as_bytes());
                (k.clone(), format!("=?UTF-8?B?{b64}?="))
            }
        })
        .collect()
}

/// Copy one object's bytes and metadata between transports, in parts of
/// `part` bytes when it is larger than that.
pub(crate) fn raw_copy(
    from: &dyn Transport,
    sbucket: &str,
    skey: &str,
    to: &dyn Transport,
    dbucket: &str,
    dkey: &str,
    part: usize,
) -> Result<()> {
    let resp = from.get_object(&GetRequest {
        bucket: sbucket,
        key: skey,
        range: None,
        if_match: None,
        ..GetRequest::default()
    })?;
    let metadata = header_safe(&resp.head.metadata);
    let len = resp.head.content_length;
    let mut body = resp.body;
    let req = PutRequest::new(dbucket, dkey, &metadata);
    if len <= part as u64 {
        let mut buf = Vec::with_capacity(len as usize);
        body.read_to_end(&mut buf)?;
        if buf.len() as u64 != len {
            return Err(CliError::new(
                Exit::Network,
                format!("s3://{sbucket}/{skey}: the body ended early"),
            ));
        }
        to.put_object(&req, Bytes::from(buf))?;
        return Ok(());
    }
    let id = to.create_multipart_upload(&req)?;
    let result = (|| -> Result<()> {
        let mut parts = Vec::new();
        let mut n = 0u32;
        let mut sent = 0u64;
        while sent < len {
            let mut buf = Vec::with_capacity(part);
            (&mut body).take(part as u64).read_to_end(&mut buf)?;
            if buf.is_empty() {
                return Err(CliError::new(
                    Exit::Network,
                    format!("s3://{sbucket}/{skey}: the body ended early"),
                ));
            }
            n += 1;
            sent += buf.len() as u64;
            let etag =
                to.upload_part(&PartRequest::new(dbucket, dkey, &id, n), Bytes::from(buf))?;
            parts.push(CompletedPart {
                part_number: n,
                etag,
                checksum: None,
            });
        }
        to.complete_multipart_upload(&CompleteRequest::new(dbucket, dkey, &id, &parts))?;
        Ok(())
    })();
    if result.is_err() {
        if let Err(e) = to.abort_multipart_upload(dbucket, dkey, &id) {
            if e.kind != ErrorKind::NotFound {
                eprintln!(
                    "s3ec: warning: could not abort upload {id} of s3://{dbucket}/{dkey}: {e}"
                );
            }
        }
    }
    result
}

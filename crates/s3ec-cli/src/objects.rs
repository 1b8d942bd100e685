//! `ls`, `rm`, `inspect`: what is there and how it is protected, without
//! decrypting anything.

use s3ec_client::transport::ObjectRequest;
use std::collections::HashSet;
use std::sync::Arc;

use clap::Args;
use s3ec_client::transport::{ListRequest, ListedObject, Transport};
use s3ec_client::{Client, ClientError, EnvelopeInfo};
use s3ec_core::envelope::{Placement, INSTRUCTION_FILE_SUFFIX};
use s3ec_core::{Suite, WrapAlg};
use serde_json::{json, Value};

use crate::cp::parallel;
use crate::error::{CliError, Exit, Result};
use crate::store::{self, Instrumented, S3Url};
use crate::Ctx;

/// `s3ec ls`.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// s3://bucket[/prefix]
    pub(crate) url: String,
    /// List every key under the prefix, not just one level
    #[arg(short, long)]
    pub(crate) recursive: bool,
    /// One JSON object per line
    #[arg(long)]
    pub(crate) json: bool,
    /// Envelope reads in flight at once
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub(crate) concurrency: usize,
}

/// `s3ec rm`.
#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// s3://bucket/key (s3://bucket/prefix with --recursive)
    pub(crate) url: String,
    /// Delete every object under the prefix
    #[arg(short, long)]
    pub(crate) recursive: bool,
    /// Deletes in flight at once with --recursive
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub(crate) concurrency: usize,
}

/// `s3ec inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// s3://bucket/key
    pub(crate) url: String,
    /// Print JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// A client that can read envelopes but holds no key.
pub(crate) fn keyless(t: Arc<dyn Transport>) -> Result<Client> {
    Client::builder_shared(t, Arc::new(s3ec_keyring::Keyrings::new()))
        .build()
        .map_err(CliError::from)
}

/// The spec's name of a content suite.
pub(crate) fn suite_name(s: Suite) -> &'static str {
    match s {
        Suite::AesCbc => "ALG_AES_256_CBC_IV16_NO_KDF",
        Suite::AesGcm => "ALG_AES_256_GCM_IV12_TAG16_NO_KDF",
        Suite::AesGcmCommitting => "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
        _ => "unknown",
    }
}

/// The options reading an object with this envelope needs.
pub(crate) fn needs(info: &EnvelopeInfo) -> Vec<&'static str> {
    let mut v = Vec::new();
    if !info.key_committing {
        v.push("--commitment-policy require-encrypt-allow-decrypt");
    }
    if info.suite == Suite::AesCbc {
        v.push("--legacy-unauthenticated-modes");
    }
    if info.wrap.is_legacy() {
        v.push("--legacy-wrapping-algorithms");
    }
    v
}

fn placement_name(p: Placement) -> &'static str {
    match p {
        Placement::ObjectMetadata => "object-metadata",
        Placement::InstructionFile => "instruction-file",
    }
}

fn wrap_name(w: WrapAlg) -> &'static str {
    w.name()
}

/// How an object is protected.
#[derive(Debug)]
pub(crate) enum Protection {
    Encrypted(Box<EnvelopeInfo>),
    Unencrypted,
    /// The instruction file of another object.
    InstructionFile,
    Unreadable(CliError),
}

impl Protection {
    pub(crate) fn status(&self) -> &'static str {
        match self {
            Protection::Encrypted(_) => "encrypted",
            Protection::Unencrypted => "unencrypted",
            Protection::InstructionFile => "instruction-file",
            Protection::Unreadable(_) => "unreadable",
        }
    }
}

/// Read the envelope of `key` (`siblings`: the keys listed with it, to
/// recognise instruction files).
pub(crate) fn classify(
    client: &Client,
    bucket: &str,
    key: &str,
    siblings: Option<&HashSet<String>>,
) -> Protection {
    if let Some(base) = key.strip_suffix(INSTRUCTION_FILE_SUFFIX) {
        if siblings.is_some_and(|s| s.contains(base)) {
            return Protection::InstructionFile;
        }
    }
    match client.inspect_object(bucket, key) {
        Ok(info) => Protection::Encrypted(Box::new(info)),
        Err(ClientError::NotEncrypted) => {
            if key.ends_with(INSTRUCTION_FILE_SUFFIX) && siblings.is_none() {
                Protection::InstructionFile
            } else {
                Protection::Unencrypted
            }
        }
        Err(e) => Protection::Unreadable(CliError::from(e)),
    }
}

/// The JSON description of an object.
pub(crate) fn describe(bucket: &str, key: &str, size: Option<u64>, p: &Protection) -> Value {
    let mut v = json!({
        "bucket": bucket,
        "key": key,
        "status": p.status(),
    });
    if let Some(s) = size {
        v["size"] = json!(s);
    }
    match p {
        Protection::Encrypted(info) => {
            v["format"] = json!(format!("{:?}", info.format));
            v["suite"] = json!(suite_name(info.suite));
            v["suite_id"] = json!(format!("0x{:04x}", info.suite.id()));
            v["wrap"] = json!(wrap_name(info.wrap));
            v["cek_alg"] = json!(info.cek_alg);
            v["key_committing"] = json!(info.key_committing);
            v["envelope"] = json!(placement_name(info.placement));
            let ctx_name = if info.wrap.is_kms() {
                "encryption_context"
            } else {
                "material_description"
            };
            v[ctx_name] = json!(info.context);
            if let Some(id) = info.context.get("kms_cmk_id") {
                v["key_id"] = json!(id);
            }
            if let Some(l) = info.unencrypted_content_length {
                v["plaintext_size"] = json!(l);
            }
            v["legacy"] = json!(!needs(info).is_empty());
            v["needs"] = json!(needs(info));
        }
        Protection::Unreadable(e) => {
            v["error"] = json!(e.message);
            v["exit_code"] = json!(e.exit as i32);
        }
        _ => {}
    }
    v
}

/// A short one-word-per-field summary for `ls`.
fn summary(p: &Protection) -> String {
    match p {
        Protection::Encrypted(i) => {
            let mut s = format!(
                "{:?} {} {}",
                i.format,
                match i.suite {
                    Suite::AesCbc => "AES-CBC",
                    Suite::AesGcm => "AES-GCM",
                    _ => "AES-GCM-committing",
                },
                wrap_name(i.wrap)
            );
            if i.placement == Placement::InstructionFile {
                s.push_str(" (instruction file)");
            }
            s
        }
        Protection::Unencrypted => "unencrypted".into(),
        Protection::InstructionFile => "instruction file".into(),
        Protection::Unreadable(e) => format!("unreadable: {}", e.message),
    }
}

pub(crate) fn ls(ctx: &Ctx, a: &LsArgs) -> Result<()> {
    let url = S3Url::require(&a.url)?;
    let t: Arc<dyn Transport> = Arc::new(Instrumented::new(store::open(&ctx.store)?));
    let client = keyless(t.clone())?;
    let (objects, prefixes) = if a.recursive {
        (
            store::list_all(t.as_ref(), &url.bucket, &url.key)?,
            Vec::new(),
        )
    } else {
        let mut objects = Vec::new();
        let mut prefixes = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = t.list_objects(&ListRequest {
                bucket: &url.bucket,
                prefix: Some(url.key.as_str()).filter(|p| !p.is_empty()),
                delimiter: Some("/"),
                continuation_token: token.as_deref(),
                ..Default::default()
            })?;
            objects.extend(page.objects);
            prefixes.extend(page.common_prefixes);
            match page.next_continuation_token {
                Some(n) => token = Some(n),
                None => break,
            }
        }
        (objects, prefixes)
    };
    let siblings: HashSet<String> = objects.iter().map(|o| o.key.clone()).collect();
    let described = describe_all(&client, &url.bucket, objects, &siblings, a.concurrency)?;
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    for p in &prefixes {
        if a.json {
            writeln!(out, "{}", json!({"bucket": url.bucket, "prefix": p}))?;
        } else {
            writeln!(out, "{:>24} {:>12}  {:<40} {p}", "", "PRE", "")?;
        }
    }
    for (o, p) in &described {
        if a.json {
            let mut v = describe(&url.bucket, &o.key, Some(o.size), p);
            if let Some(lm) = &o.last_modified {
                v["last_modified"] = json!(lm);
            }
            writeln!(out, "{v}")?;
        } else {
            let lm = o.last_modified.as_deref().unwrap_or("-");
            let lm = lm.get(..19).unwrap_or(lm).replace('T', " ");
            writeln!(out, "{lm:>24} {:>12}  {:<40} {}", o.size, summary(p), o.key)?;
        }
    }
    Ok(())
}

/// Classify every object, `n` at a time, keeping the listing order.
pub(crate) fn describe_all(
    client: &Client,
    bucket: &str,
    objects: Vec<ListedObject>,
    siblings: &HashSet<String>,
    n: usize,
) -> Result<Vec<(ListedObject, Protection)>> {
    let slots: Vec<std::sync::Mutex<Option<Protection>>> = objects
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    let indexed: Vec<usize> = (0..objects.len()).collect();
    parallel(
        indexed,
        n.max(1),
        |i| objects[*i].key.clone(),
        |i| {
            let p = classify(client, bucket, &objects[*i].key, Some(siblings));
            if let Ok(mut s) = slots[*i].lock() {
                *s = Some(p);
            }
            Ok(())
        },
    )?;
    Ok(objects
        .into_iter()
        .zip(slots)
        .map(|(o, s)| {
            let p = s
                .into_inner()
                .ok()
                .flatten()
                .unwrap_or(Protection::Unreadable(CliError::new(
                    Exit::Other,
                    "not read",
                )));
            (o, p)
        })
        .collect())
}

pub(crate) fn rm(ctx: &Ctx, a: &RmArgs) -> Result<()> {
    let url = S3Url::require(&a.url)?;
    let t: Arc<dyn Transport> = Arc::new(Instrumented::new(store::open(&ctx.store)?));
    let client = keyless(t.clone())?;
    if a.recursive {
        let objects = store::list_all(t.as_ref(), &url.bucket, &url.key)?;
        return parallel(
            objects,
            a.concurrency.max(1),
            |o| format!("s3://{}/{}", url.bucket, o.key),
            |o| {
                client.delete_object(&url.bucket, &o.key)?;
                if !ctx.quiet {
                    eprintln!("delete: s3://{}/{}", url.bucket, o.key);
                }
                Ok(())
            },
        );
    }
    if url.key.is_empty() {
        return Err(CliError::usage("rm needs s3://bucket/key (or --recursive)"));
    }
    // Like S3, deleting a missing key succeeds; say so.
    match t.head_object(&ObjectRequest::new(&url.bucket, &url.key)) {
        Err(e) if e.kind == s3ec_client::transport::ErrorKind::NotFound => {
            return Err(CliError::new(
                Exit::NotFound,
                format!("{url}: no such object"),
            ));
        }
        _ => {}
    }
    client.delete_object(&url.bucket, &url.key)?;
    if !ctx.quiet {
        eprintln!("delete: {url}");
    }
    Ok(())
}

pub(crate) fn inspect(ctx: &Ctx, a: &InspectArgs) -> Result<()> {
    let url = S3Url::require(&a.url)?;
    if url.key.is_empty() {
        return Err(CliError::usage("inspect needs s3://bucket/key"));
    }
    let t: Arc<dyn Transport> = Arc::new(Instrumented::new(store::open(&ctx.store)?));
    let client = keyless(t.clone())?;
    let head = t.head_object(&ObjectRequest::new(&url.bucket, &url.key))?;
    let p = classify(&client, &url.bucket, &url.key, None);
    let v = describe(&url.bucket, &url.key, Some(head.content_length), &p);
    if a.json {
        println!("{v}");
    } else {
        print_inspect(&url, &p, head.content_length);
    }
    match p {
        Protection::Unreadable(e) => Err(e),
        _ => Ok(()),
    }
}

fn print_inspect(url: &S3Url, p: &Protection, size: u64) {
    println!("object:      {url}");
    println!("size:        {size} bytes");
    match p {
        Protection::Encrypted(i) => {
            println!("encrypted:   yes ({:?})", i.format);
            println!(
                "suite:       {} (0x{:04x}, {})",
                suite_name(i.suite),
                i.suite.id(),
                i.cek_alg
            );
            println!("wrap:        {}", wrap_name(i.wrap));
            println!(
                "commitment:  {}",
                if i.key_committing {
                    "key-committing"
                } else {
                    "none (the object does not commit to its data key)"
                }
            );
            println!(
                "envelope:    {}",
                match i.placement {
                    Placement::ObjectMetadata => "object metadata".to_string(),
                    Placement::InstructionFile =>
                        format!("instruction file {}{INSTRUCTION_FILE_SUFFIX}", url.key),
                }
            );
            let label = if i.wrap.is_kms() {
                "context:    "
            } else {
                "matdesc:    "
            };
            if i.context.is_empty() {
                println!("{label} (empty)");
            }
            for (k, v) in &i.context {
                println!("{label} {k}={v}");
            }
            match i.context.get("kms_cmk_id") {
                Some(id) => println!("key id:      {id}"),
                None if i.wrap.is_kms() => {
                    println!("key id:      (inside the KMS ciphertext; not stored in the envelope)")
                }
                None => {}
            }
            if let Some(l) = i.unencrypted_content_length {
                println!("plaintext:   {l} bytes");
            }
            let n = needs(i);
            if n.is_empty() {
                println!("reading:     needs no legacy option");
            } else {
                println!("reading:     needs {}", n.join(" "));
            }
        }
        Protection::Unencrypted => println!("encrypted:   no"),
        Protection::InstructionFile => {
            println!("encrypted:   no (an instruction file: the envelope of another object)")
        }
        Protection::Unreadable(e) => println!("encrypted:   unknown ({})", e.message),
    }
}

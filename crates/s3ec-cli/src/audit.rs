//! `audit` and `rotate` over one object, a prefix or an S3 Inventory
//! manifest, split over machines with `--shard I/N`, each shard writing a
//! JSON-lines report it resumes from after a crash.

use s3ec_client::transport::ObjectRequest;
use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use clap::Args;
use s3ec_client::transport::{ListedObject, Transport};
use s3ec_client::Client;
use serde_json::{json, Value};

use crate::cp::parallel;
use crate::error::{CliError, Exit, Result};
use crate::inventory::{self, Item};
use crate::keys::{KeyArgs, PolicyArgs};
use crate::objects::{classify, describe, keyless, Protection};
use crate::store::{self, Instrumented, S3Url};
use crate::Ctx;

/// Which objects, and which share of them.
#[derive(Debug, Args)]
pub(crate) struct Selection {
    /// s3://bucket/key, or s3://bucket[/prefix] with --recursive (not with
    /// --inventory)
    pub(crate) url: Option<String>,
    /// Every object under the prefix
    #[arg(short, long)]
    pub(crate) recursive: bool,
    /// Take the objects from an S3 Inventory manifest (manifest.json; CSV,
    /// gzip or not, or Parquet data files, checked against its MD5s):
    /// s3://bucket/.../manifest.json or a local path (data files then
    /// beside it or in ../data/). Delete markers are skipped; listed
    /// versions are audited as such, and rotate skips non-current ones
    #[arg(long, value_name = "MANIFEST")]
    pub(crate) inventory: Option<String>,
    /// Handle only shard I of N (0 <= I < N): objects are split by a hash
    /// of bucket and key, so N runs with I = 0..N-1 cover every object once
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub(crate) shard: Option<(u64, u64)>,
    /// JSON-lines report, one line per object; objects already in it are
    /// skipped, so a crashed run resumes where it stopped
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// Objects in flight at once
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub(crate) concurrency: usize,
    /// Print JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// `s3ec audit`.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    sel: Selection,
}

/// `s3ec rotate`.
#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    #[command(flatten)]
    sel: Selection,
    /// Show what would be done; change nothing
    #[arg(long)]
    dry_run: bool,
    /// The new AES-256 master key (base64 key file)
    #[arg(long, value_name = "FILE")]
    new_aes_key_file: Option<PathBuf>,
    /// The new RSA master key (PEM; a public key is enough)
    #[arg(long, value_name = "FILE")]
    new_rsa_key_file: Option<PathBuf>,
    /// The new KMS key
    #[arg(long, value_name = "KEY")]
    new_kms_key_id: Option<String>,
    /// Material description stored with the new AES or RSA wrap
    #[arg(long, value_name = "K=V", value_parser = crate::keys::parse_kv)]
    new_matdesc: Vec<(String, String)>,
    /// The current key(s)
    #[command(flatten)]
    keys: KeyArgs,
    #[command(flatten)]
    policy: PolicyArgs,
}

use crate::parse::parse_shard;

/// FNV-1a, 64 bits: stable across runs, machines and versions.
fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub(crate) fn in_shard(shard: Option<(u64, u64)>, bucket: &str, key: &str) -> bool {
    match shard {
        None => true,
        Some((i, n)) => {
            let mut id = Vec::with_capacity(bucket.len() + key.len() + 1);
            id.extend_from_slice(bucket.as_bytes());
            id.push(b'/');
            id.extend_from_slice(key.as_bytes());
            fnv1a(&id) % n == i
        }
    }
}

/// The objects of the selection in this shard (before resume).
fn select(t: &dyn Transport, sel: &Selection) -> Result<Vec<Item>> {
    let keep = |b: &str, k: &str| in_shard(sel.shard, b, k);
    match (&sel.inventory, &sel.url) {
        (Some(_), Some(_)) => Err(CliError::usage("give a URL or --inventory, not both")),
        (None, None) => Err(CliError::usage(
            "give s3://bucket[/prefix] or --inventory MANIFEST",
        )),
        (Some(m), None) => inventory::items(t, m, &keep),
        (None, Some(u)) => {
            let url = S3Url::require(u)?;
            if sel.recursive {
                let listed = store::list_all(t, &url.bucket, &url.key)?;
                Ok(listed
                    .into_iter()
                    .filter(|o| keep(&url.bucket, &o.key))
                    .map(|o: ListedObject| Item {
                        bucket: url.bucket.clone(),
                        key: o.key,
                        size: Some(o.size),
                        ..Item::default()
                    })
                    .collect())
            } else if url.key.is_empty() || url.key.ends_with('/') {
                Err(CliError::usage(format!(
                    "{u} names a prefix: add --recursive"
                )))
            } else {
                Ok(vec![Item {
                    bucket: url.bucket,
                    key: url.key,
                    ..Item::default()
                }])
            }
        }
    }
}

/// What a report line is about: bucket, key and version id ("" when the
/// inventory lists none).
type Id = (String, String, String);

fn item_id(i: &Item) -> Id {
    (
        i.bucket.clone(),
        i.key.clone(),
        i.version_id.clone().unwrap_or_default(),
    )
}

/// A JSON-lines report: the records already in it, and a writer that
/// appends one whole line per record.
struct Report {
    done: HashSet<Id>,
    records: Vec<Value>,
    file: Option<Mutex<File>>,
}

impl Report {
    fn open(path: Option<&Path>) -> Result<Report> {
        let mut r = Report {
            done: HashSet::new(),
            records: Vec::new(),
            file: None,
        };
        let Some(path) = path else { return Ok(r) };
        let mut text = Vec::new();
        match File::open(path) {
            Ok(mut f) => {
                f.read_to_end(&mut text)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(CliError::from(e).context(path.display().to_string())),
        }
        // A crash may have cut the last line: keep whole lines only. A
        // later line for the same object replaces an earlier one; objects
        // that failed for a reason worth retrying (network, a failed
        // rotation) are done again.
        let whole = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let mut latest: BTreeMap<Id, Value> = BTreeMap::new();
        for line in text[..whole].split(|b| *b == b'\n') {
            if let Ok(v) = serde_json::from_slice::<Value>(line) {
                if let (Some(b), Some(k)) = (v["bucket"].as_str(), v["key"].as_str()) {
                    let ver = v["version_id"].as_str().unwrap_or_default();
                    latest.insert((b.to_string(), k.to_string(), ver.to_string()), v);
                }
            }
        }
        for (id, v) in latest {
            let retry = v["action"] == "failed" || v["exit_code"] == Exit::Network as i32;
            if !retry {
                r.done.insert(id);
                r.records.push(v);
            }
        }
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| CliError::from(e).context(path.display().to_string()))?;
        f.set_len(whole as u64)?;
        let mut f = f;
        io::Seek::seek(&mut f, io::SeekFrom::End(0))?;
        r.file = Some(Mutex::new(f));
        Ok(r)
    }
}

/// Handle every selected object of this shard not yet in the report with
/// `f`, which returns its record. Returns all records (old and new).
fn run_selection(
    ctx: &Ctx,
    t: &dyn Transport,
    sel: &Selection,
    f: impl Fn(&Item) -> Value + Sync,
) -> Result<Vec<Value>> {
    let items = select(t, sel)?;
    let report = Report::open(sel.report.as_deref())?;
    let todo: Vec<Item> = items
        .into_iter()
        .filter(|i| !report.done.contains(&item_id(i)))
        .collect();
    if !ctx.quiet && !report.done.is_empty() {
        eprintln!(
            "resuming: {} objects already in the report, {} to go",
            report.done.len(),
            todo.len()
        );
    }
    let new: Mutex<Vec<Value>> = Mutex::new(Vec::new());
    let shard = sel.shard.map(|(i, n)| format!("{i}/{n}"));
    let r = parallel(
        todo,
        sel.concurrency.max(1),
        |i| format!("s3://{}/{}", i.bucket, i.key),
        |i| {
            let mut v = f(i);
            if let Some(ver) = &i.version_id {
                v["version_id"] = json!(ver);
            }
            if let Some(l) = i.is_latest {
                v["is_latest"] = json!(l);
            }
            if let Some(s) = &shard {
                v["shard"] = json!(s);
            }
            if let Some(file) = &report.file {
                let mut line = v.to_string();
                line.push('\n');
                let mut g = file
                    .lock()
                    .map_err(|_| CliError::new(Exit::Other, "report lock poisoned"))?;
                g.write_all(line.as_bytes())?;
                g.flush()?;
            }
            if let Ok(mut n) = new.lock() {
                n.push(v);
            }
            Ok(())
        },
    );
    r?;
    let mut all = report.records;
    all.extend(new.into_inner().unwrap_or_default());
    Ok(all)
}

/// Counts and lists from the records.
fn summarize(records: &[Value]) -> Value {
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_format: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_suite: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_wrap: BTreeMap<String, u64> = BTreeMap::new();
    let (mut legacy, mut noncommitting, mut unencrypted, mut unreadable) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in records {
        let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
        let url = format!("s3://{}/{}", s("bucket"), s("key"));
        *by_status.entry(s("status")).or_default() += 1;
        match s("status").as_str() {
            "encrypted" => {
                *by_format.entry(s("format")).or_default() += 1;
                *by_suite.entry(s("suite")).or_default() += 1;
                *by_wrap.entry(s("wrap")).or_default() += 1;
                if r["legacy"].as_bool() == Some(true) {
                    legacy.push(json!({"object": url, "needs": r["needs"]}));
                }
                if r["key_committing"].as_bool() == Some(false) {
                    noncommitting.push(json!(url));
                }
            }
            "unencrypted" => unencrypted.push(json!(url)),
            "unreadable" => unreadable.push(json!({"object": url, "error": r["error"]})),
            _ => {}
        }
    }
    json!({
        "objects": records.len(),
        "by_status": by_status,
        "by_format": by_format,
        "by_suite": by_suite,
        "by_wrap": by_wrap,
        "legacy": legacy,
        "non_committing": noncommitting,
        "unencrypted": unencrypted,
        "unreadable": unreadable,
    })
}

fn print_summary(s: &Value) {
    println!("objects: {}", s["objects"]);
    for (title, k) in [
        ("by status", "by_status"),
        ("by format", "by_format"),
        ("by suite", "by_suite"),
        ("by wrap", "by_wrap"),
    ] {
        if let Some(m) = s[k].as_object() {
            if !m.is_empty() {
                println!("{title}:");
                for (name, n) in m {
                    println!("  {n:>10}  {name}");
                }
            }
        }
    }
    let list = |title: &str, k: &str| {
        if let Some(a) = s[k].as_array() {
            if !a.is_empty() {
                println!("{title} ({}):", a.len());
                for v in a {
                    match v {
                        Value::String(u) => println!("  {u}"),
                        other => {
                            let extra = if other["needs"].is_array() {
                                format!(
                                    "needs {}",
                                    other["needs"]
                                        .as_array()
                                        .map(|n| n
                                            .iter()
                                            .filter_map(Value::as_str)
                                            .collect::<Vec<_>>()
                                            .join(" "))
                                        .unwrap_or_default()
                                )
                            } else {
                                other["error"].as_str().unwrap_or("").to_string()
                            };
                            println!("  {}  ({extra})", other["object"].as_str().unwrap_or(""));
                        }
                    }
                }
            }
        }
    };
    list("legacy", "legacy");
    list("non-committing", "non_committing");
    list("unencrypted", "unencrypted");
    list("unreadable", "unreadable");
}

fn keyless_client(ctx: &Ctx) -> Result<(Arc<dyn Transport>, Client)> {
    let t: Arc<dyn Transport> = Arc::new(Instrumented::new(store::open(&ctx.store)?));
    let c = keyless(t.clone())?;
    Ok((t, c))
}

pub(crate) fn audit(ctx: &Ctx, a: &AuditArgs) -> Result<()> {
    let (t, client) = keyless_client(ctx)?;
    let sel = &a.sel;
    let single = sel.url.is_some() && !sel.recursive && sel.inventory.is_none();
    let records = run_selection(ctx, t.as_ref(), sel, |i| {
        let siblings: Option<&HashSet<String>> = None;
        let p = if single {
            classify(&client, &i.bucket, &i.key, siblings)
        } else {
            // A listed KEY.instruction beside KEY is an instruction file.
            classify_listed(&client, t.as_ref(), i)
        };
        describe(&i.bucket, &i.key, i.size, &p)
    })?;
    let s = summarize(&records);
    if sel.json {
        println!("{s}");
    } else {
        print_summary(&s);
    }
    Ok(())
}

/// Classify a listed object (the version the inventory names, if any); a
/// `KEY.instruction` whose `KEY` exists is the envelope of `KEY`.
fn classify_listed(client: &Client, t: &dyn Transport, i: &Item) -> Protection {
    if let Some(base) = i
        .key
        .strip_suffix(s3ec_core::envelope::INSTRUCTION_FILE_SUFFIX)
    {
        if t.head_object(&ObjectRequest::new(&i.bucket, base)).is_ok() {
            return Protection::InstructionFile;
        }
    }
    let Some(version) = &i.version_id else {
        return classify(client, &i.bucket, &i.key, None);
    };
    let opts = s3ec_client::GetOptions::default().version_id(version.clone());
    match client.head_object_with(&i.bucket, &i.key, &opts) {
        Ok(h) => Protection::Encrypted(Box::new(h.info)),
        Err(s3ec_client::ClientError::NotEncrypted) => Protection::Unencrypted,
        Err(e) => Protection::Unreadable(CliError::from(e)),
    }
}

/// The keys of a rotation: `client` holds the old key, `new_ring` is the
/// new one.
struct Rotation {
    client: Client,
    new_ring: Arc<dyn s3ec_keyring::Keyring>,
    /// The encryption context objects must carry (`--context`).
    opts: s3ec_client::RotateOptions,
}

impl Rotation {
    /// Rotate one encrypted object; returns the action taken. An object the
    /// new key already opens was rotated by an earlier run that stopped
    /// before reporting it (killed between the write and its report line):
    /// the library refuses it as `SameKey` before writing anything, and it
    /// is reported as such.
    fn object(&self, bucket: &str, key: &str) -> Result<&'static str> {
        match self
            .client
            .rotate_object(bucket, key, self.new_ring.as_ref(), &self.opts)
        {
            Ok(out) => Ok(match out.placement {
                s3ec_core::envelope::Placement::InstructionFile => {
                    "re-encrypted the instruction file"
                }
                s3ec_core::envelope::Placement::ObjectMetadata => "rewrapped the metadata envelope",
            }),
            Err(s3ec_client::ClientError::Rotation(s3ec_client::RotationError::SameKey)) => {
                Ok("already under the new key")
            }
            Err(e) => Err(CliError::from(e)),
        }
    }
}

pub(crate) fn rotate(ctx: &Ctx, a: &RotateArgs) -> Result<()> {
    let new_keys = KeyArgs {
        aes_key_file: a.new_aes_key_file.clone(),
        rsa_key_file: a.new_rsa_key_file.clone(),
        kms_key_id: a.new_kms_key_id.clone(),
        kms_discovery: false,
        matdesc: a.new_matdesc.clone(),
        context: Vec::new(),
    };
    if new_keys.count() != 1 {
        return Err(CliError::usage(
            "rotate needs exactly one new key: --new-aes-key-file, --new-rsa-key-file or --new-kms-key-id",
        ));
    }
    let (t, inspector) = keyless_client(ctx)?;
    let rotation = if a.dry_run {
        None
    } else {
        let old = a.keys.keyring(&ctx.store, false)?;
        let new_ring = new_keys.keyring(&ctx.store, true)?;
        Some(Rotation {
            client: a.policy.client(t.clone(), old)?,
            new_ring,
            opts: if a.keys.context.is_empty() {
                s3ec_client::RotateOptions::default()
            } else {
                s3ec_client::RotateOptions::default().expected_context(a.keys.context())
            },
        })
    };
    let records = run_selection(ctx, t.as_ref(), &a.sel, |i| {
        let p = classify_listed(&inspector, t.as_ref(), i);
        let mut v = describe(&i.bucket, &i.key, i.size, &p);
        let current = i.is_latest != Some(false);
        let (action, err) = match (&p, &rotation) {
            (Protection::Encrypted(_), _) if !current => ("skipped: not the current version", None),
            (Protection::Encrypted(info), None) => (
                match info.placement {
                    s3ec_core::envelope::Placement::InstructionFile => {
                        "would re-encrypt the instruction file"
                    }
                    s3ec_core::envelope::Placement::ObjectMetadata => {
                        "would rewrap the metadata envelope"
                    }
                },
                None,
            ),
            (Protection::Encrypted(_), Some(r)) => match r.object(&i.bucket, &i.key) {
                Ok(a) => (a, None),
                Err(e) => ("failed", Some(e)),
            },
            (Protection::InstructionFile, _) => {
                ("skipped: instruction file (rotated with its object)", None)
            }
            (Protection::Unencrypted, _) => ("skipped: not encrypted", None),
            (Protection::Unreadable(_), _) => ("skipped: unreadable", None),
        };
        v["action"] = json!(action);
        v["dry_run"] = json!(a.dry_run);
        if let Some(e) = err {
            eprintln!("s3ec: failed: s3://{}/{}: {e}", i.bucket, i.key);
            v["error"] = json!(e.message);
            v["exit_code"] = json!(e.exit as i32);
        }
        v
    })?;
    let failed = records.iter().filter(|r| r["action"] == "failed").count();
    if a.sel.json {
        let mut s = summarize(&records);
        s["failed"] = json!(failed);
        println!("{s}");
    } else {
        for r in &records {
            println!(
                "{}  s3://{}/{}",
                r["action"].as_str().unwrap_or(""),
                r["bucket"].as_str().unwrap_or(""),
                r["key"].as_str().unwrap_or("")
            );
        }
    }
    if failed > 0 {
        return Err(CliError::new(
            Exit::Other,
            format!("{failed} objects failed to rotate (see the report)"),
        ));
    }
    Ok(())
}

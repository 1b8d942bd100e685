//! `cargo xtask interop`: s3ec against AWS's own S3 Encryption Clients
//! (Python 4.0, Ruby V1/V2, Go s3crypto, Go v4, Java 3.x and 4.x, the Java
//! SDK 1.12 V1/V2 clients), both ways, through a local moto.
//!
//! 1. `interop/setup.sh` installs the peers (idempotent; seconds when
//!    everything is there).
//! 2. moto starts on 127.0.0.1 (through `s3ec-testkit`); a bucket, two KMS
//!    keys, AES keys and an RSA key pair are made; one JVM per Java peer
//!    starts ([`java`]).
//! 3. Every cell of the plan ([`cells::plan`]) runs, in parallel: the peer
//!    writes and the Rust client (in this process: `s3ec-client` over
//!    `s3ec-reqwest`, with the real keyrings) reads, or the reverse. A cell
//!    passes when the bytes match, or is "peer cannot" when the peer
//!    refuses with the documented error (quoted in the matrix).
//! 4. Tampered copies of peer-written objects ([`tamper`]) must be refused
//!    by the Rust client with nothing written to its output.
//! 5. The matrix is printed and written to `target/interop/matrix.md`; with
//!    `--save-vectors DIR`, small peer-written objects and their tampered
//!    copies are saved as vector cases ([`save`]).
//!
//! Exits non-zero on any failure.

mod cells;
mod env;
mod java;
mod peer;
mod ranged;
mod report;
mod save;
mod tamper;

use std::collections::VecDeque;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use rand::RngCore;
use rand_chacha::rand_core::SeedableRng;
use s3ec_client::PutOptions;
use s3ec_keyring::LegacyOptions;

use cells::{Cell, Dir, Expect, Op, Storage};
use env::{Env, KeyKind, Recorded};
use peer::{Call, Peer};

/// Options of `cargo xtask interop`.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// Parallel driver runs (default 4).
    jobs: Option<usize>,
    /// Only these peers.
    peers: Option<Vec<Peer>>,
    /// Save peer-written vectors here (`DIR/<peer>/<case>/`).
    save_vectors: Option<PathBuf>,
    /// Do not run `interop/setup.sh`.
    skip_setup: bool,
}

/// Parse the arguments after `interop`.
pub(crate) fn parse(args: &[&str]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .map(|v| v.to_string())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match *a {
            "--jobs" => {
                let v = value("--jobs")?;
                let n: usize = v.parse().map_err(|_| format!("--jobs {v}: not a number"))?;
                o.jobs = Some(n.max(1));
            }
            "--peers" => {
                let v = value("--peers")?;
                let mut peers = Vec::new();
                for name in v.split(',') {
                    peers.push(
                        Peer::parse(name)
                            .ok_or_else(|| format!("--peers: unknown peer {name:?}"))?,
                    );
                }
                o.peers = Some(peers);
            }
            "--save-vectors" => o.save_vectors = Some(PathBuf::from(value("--save-vectors")?)),
            "--skip-setup" => o.skip_setup = true,
            other => return Err(format!("interop: unknown option {other:?}")),
        }
    }
    Ok(o)
}

/// How one job (a cell at one size) ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Same bytes both ways.
    Pass,
    /// The peer refused as documented; its message.
    Cannot(String),
    /// Anything else.
    Fail(String),
}

/// One finished job.
#[derive(Debug)]
pub(crate) struct JobResult {
    /// The cell's index.
    pub(crate) cell: usize,
    /// Body size.
    pub(crate) size: u64,
    /// What happened.
    pub(crate) outcome: Outcome,
    /// The object's S3 key.
    pub(crate) key: String,
    /// KMS `Decrypt` calls of the Rust read (peer-written KMS objects).
    pub(crate) recorded: Vec<Recorded>,
}

/// The deterministic body of `size` bytes.
pub(crate) fn body(size: u64) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(size ^ 0x5333_4543);
    let mut out = vec![0u8; usize::try_from(size).unwrap_or(0)];
    rng.fill_bytes(&mut out);
    out
}

fn body_path(env: &Env, size: u64) -> PathBuf {
    env.workdir.join(format!("body-{size}.bin"))
}

/// Run `f` over `items` on `jobs` threads; results in input order.
pub(crate) fn parallel<T: Send, R: Send>(
    items: Vec<T>,
    jobs: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let n = items.len();
    let queue = Mutex::new(items.into_iter().enumerate().collect::<VecDeque<_>>());
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let next = match queue.lock() {
                    Ok(mut q) => q.pop_front(),
                    Err(_) => None,
                };
                let Some((i, item)) = next else { break };
                let r = f(item);
                if let Ok(mut res) = results.lock() {
                    res[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// Judge a driver run that did not succeed against the cell's expectation.
pub(crate) fn judge_refusal(expect: Expect, run: &peer::Run, key: &str, what: &str) -> Outcome {
    let quoted = run.quoted(key);
    match expect {
        Expect::Cannot { exit, says } if run.code == Some(exit) && run.stderr.contains(says) => {
            Outcome::Cannot(quoted)
        }
        _ => Outcome::Fail(format!(
            "{what} exited {}: {}",
            run.code
                .map_or("by a signal".to_string(), |c| c.to_string()),
            quoted
        )),
    }
}

pub(crate) fn compare(got: &[u8], want: &[u8]) -> Outcome {
    if got == want {
        Outcome::Pass
    } else {
        Outcome::Fail(format!(
            "decrypted {} bytes that differ from the {} written",
            got.len(),
            want.len()
        ))
    }
}

/// Run one cell at one size.
fn run_job(env: &Env, cell: &Cell, size: u64) -> JobResult {
    let key = format!(
        "c{:03}-{}-{}-{}/{size}",
        cell.id,
        cell.peer,
        match &cell.op {
            Op::PeerToRust { mode, .. } => format!("{mode}-put"),
            Op::RustToPeer { mode, .. } => format!("{mode}-get"),
        },
        cell.storage.short()
    );
    let mut result = JobResult {
        cell: cell.id,
        size,
        outcome: Outcome::Pass,
        key: key.clone(),
        recorded: Vec::new(),
    };
    let stem = key.replace('/', "_");
    let outcome = (|| -> Result<Outcome, String> {
        let want = body(size);
        match &cell.op {
            Op::PeerToRust {
                mode,
                context,
                matdesc,
                read,
                expected,
                extra,
                range,
                ..
            } => {
                let put = peer::run(
                    env,
                    &Call {
                        peer: cell.peer,
                        cmd: "put",
                        mode,
                        key: &key,
                        file: &body_path(env, size),
                        kind: cell.kind,
                        context: context.as_ref(),
                        matdesc: matdesc.as_ref(),
                        instruction_file: cell.storage == Storage::Instr,
                        multipart: cell.storage == Storage::Multipart,
                        legacy: false,
                        extra,
                    },
                    &stem,
                )?;
                if put.code != Some(0) {
                    return Ok(judge_refusal(cell.expect, &put, &key, "the peer's put"));
                }
                if let Some(spec) = range {
                    return ranged::compare_ranges(
                        env,
                        cell,
                        &ranged::Object {
                            key: &key,
                            stem: &stem,
                            plaintext: &want,
                            context: context.as_ref(),
                            expected: expected.as_ref(),
                        },
                        spec,
                    );
                }
                if let Expect::Cannot { says, .. } = cell.expect {
                    return Ok(Outcome::Fail(format!(
                        "the peer was expected to refuse ({says:?}) but its put succeeded"
                    )));
                }
                // An instruction file re-encrypted by the peer
                // (`--rotate-aes-key-b64`) is read with the new key, from the
                // suffix it was written to.
                let kind = if extra.contains(&peer::ROTATION_KEY) {
                    KeyKind::Aes128
                } else if extra.contains(&peer::ROTATION_RSA) {
                    KeyKind::Rsa
                } else {
                    cell.kind
                };
                let (ring, rec) = env.keyring(kind, None)?;
                let client = env.client(ring, read.commitment, read.legacy)?;
                let mut out = Vec::new();
                let suffix = extra
                    .iter()
                    .position(|a| *a == "--instruction-suffix")
                    .and_then(|i| extra.get(i + 1))
                    .map(|s| s.to_string());
                let mut opts = s3ec_client::GetOptions::default();
                if let Some(c) = expected {
                    opts = opts.expected_context(c.clone());
                }
                if let Some(suffix) = suffix {
                    opts = opts.instruction_file_suffix(suffix);
                }
                let got = client.get_object_with(&env.bucket, &key, &mut out, &opts);
                if let Some(rec) = rec {
                    result.recorded = rec.calls();
                }
                Ok(match got {
                    Ok(_) => compare(&out, &want),
                    Err(e) => Outcome::Fail(format!("s3ec get: {e}")),
                })
            }
            Op::RustToPeer {
                commitment,
                context,
                matdesc,
                mode,
                get_context,
                legacy,
                get_kind,
                extra,
            } => {
                let (ring, _) = env.keyring(cell.kind, matdesc.as_ref())?;
                let client = env.client(ring, *commitment, LegacyOptions::default())?;
                let opts = PutOptions::default()
                    .context(context.clone())
                    .instruction_file(cell.storage == Storage::Instr);
                client
                    .put_object_with(&env.bucket, &key, Cursor::new(&want), Some(size), &opts)
                    .map_err(|e| format!("s3ec put: {e}"))?;
                let out_path = env.workdir.join(format!("{stem}.out"));
                let get = peer::run(
                    env,
                    &Call {
                        peer: cell.peer,
                        cmd: "get",
                        mode,
                        key: &key,
                        file: &out_path,
                        kind: *get_kind,
                        context: get_context.as_ref(),
                        matdesc: cell.peer.get_matdesc(matdesc.as_ref()),
                        instruction_file: false,
                        multipart: false,
                        legacy: *legacy,
                        extra,
                    },
                    &stem,
                )?;
                if get.code != Some(0) {
                    let _ = fs::remove_file(&out_path);
                    return Ok(judge_refusal(cell.expect, &get, &key, "the peer's get"));
                }
                let got = fs::read(&out_path)
                    .map_err(|e| format!("the peer's output {}: {e}", out_path.display()))?;
                let _ = fs::remove_file(&out_path);
                if let Expect::Cannot { says, .. } = cell.expect {
                    return Ok(Outcome::Fail(format!(
                        "the peer was expected to refuse ({says:?}) but read the object ({})",
                        if got == want {
                            "same bytes"
                        } else {
                            "WRONG bytes"
                        }
                    )));
                }
                Ok(compare(&got, &want))
            }
        }
    })();
    result.outcome = outcome.unwrap_or_else(Outcome::Fail);
    result
}

fn setup(peers: &[Peer]) -> Result<(), String> {
    let started = Instant::now();
    let names: Vec<&str> = peers.iter().map(|p| p.name()).collect();
    crate::run(
        Command::new("bash")
            .arg(crate::root().join("interop").join("setup.sh"))
            .env("S3EC_INTEROP_PEERS", names.join(" ")),
    )
    .map_err(|e| format!("interop/setup.sh failed: {e}"))?;
    eprintln!("interop: setup took {:.0?}", started.elapsed());
    Ok(())
}

/// `cargo xtask interop [options]`.
pub(crate) fn run(opts: &Options) -> Result<(), String> {
    let started = Instant::now();
    let peers = opts.peers.clone().unwrap_or_else(|| Peer::ALL.to_vec());
    if !opts.skip_setup {
        setup(&peers)?;
    }
    let jobs = opts.jobs.unwrap_or(4);
    let out_dir = crate::root().join("target").join("interop");
    let workdir = out_dir.join(format!("run-{}", std::process::id()));
    let mut env = Env::start(workdir.clone())?;
    let servers = java::start_servers(&mut env, &peers)?;
    let result = run_in(&env, &peers, jobs, opts, &out_dir, started);
    let keep = result.is_err();
    drop(servers);
    drop(env);
    if keep {
        eprintln!("interop: scratch files kept in {}", workdir.display());
    } else {
        let _ = fs::remove_dir_all(&workdir);
    }
    result
}

fn run_in(
    env: &Env,
    peers: &[Peer],
    jobs: usize,
    opts: &Options,
    out_dir: &Path,
    started: Instant,
) -> Result<(), String> {
    let plan = cells::plan(peers);
    let mut sizes: Vec<u64> = plan.iter().flat_map(|c| c.sizes.clone()).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for &size in &sizes {
        let p = body_path(env, size);
        fs::write(&p, body(size)).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let work: Vec<(&Cell, u64)> = plan
        .iter()
        .flat_map(|c| c.sizes.iter().map(move |&s| (c, s)))
        .collect();
    let total = work.len();
    eprintln!(
        "interop: {} cells, {total} runs, {jobs} at a time (peers: {})",
        plan.len(),
        peers
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let done = Mutex::new(0usize);
    let results = parallel(work, jobs, |(cell, size)| {
        let t = Instant::now();
        let r = run_job(env, cell, size);
        let n = done.lock().map(|mut d| {
            *d += 1;
            *d
        });
        let verdict = match &r.outcome {
            Outcome::Pass => "pass".to_string(),
            Outcome::Cannot(m) => format!("peer cannot: {m}"),
            Outcome::Fail(m) => format!("FAIL: {m}"),
        };
        eprintln!(
            "interop: [{}/{total}] {} | {} -> {} | {} | {size} B: {verdict} ({:.1}s)",
            n.unwrap_or(0),
            cell.dir.label(),
            cell.writer(),
            cell.reader(),
            cell.storage.label(),
            t.elapsed().as_secs_f64()
        );
        r
    });
    let cells_done = Instant::now();
    let tampers = tamper::run_all(env, &plan, &results, jobs);
    let report = report::Report {
        plan: &plan,
        results: &results,
        tampers: &tampers,
    };
    let text = report.markdown();
    println!("{text}");
    fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let matrix = out_dir.join("matrix.md");
    fs::write(&matrix, &text).map_err(|e| format!("{}: {e}", matrix.display()))?;
    if let Some(dir) = &opts.save_vectors {
        save::save_all(env, &plan, &results, &tampers, dir)?;
    }
    let (failed, summary) = report.summary();
    println!(
        "interop: {summary}; cells took {:.0?}, tampering {:.0?}, all {:.0?} (matrix: {})",
        cells_done.duration_since(started),
        cells_done.elapsed(),
        started.elapsed(),
        matrix.display()
    );
    if failed > 0 {
        Err(format!("interop: {failed} failure(s)"))
    } else {
        Ok(())
    }
}

/// The directions a cell can have, for the report.
pub(crate) const DIRS: [Dir; 2] = [Dir::PeerWrites, Dir::RustWrites];

//! The chaos soak: the blocking client (over `s3ec-reqwest`) and the async
//! client (over `s3ec-aws-sdk`) at the same time against moto, through the
//! test kit's fault proxy, while an injector queues random faults (dropped
//! connections, 500/503 answers, truncated bodies, stalls before the answer
//! and in the middle of a body). Each client loops over single and
//! multipart puts (object metadata or instruction file), gets and ranged
//! gets, every get into a [`Recorder`].
//!
//! Checked during the run: a get that fails handed its sink nothing; one
//! that succeeds handed exactly the object's plaintext; a ranged get (an
//! unauthenticated mode, on here) hands a prefix of the true range at most.
//! Checked afterwards, straight to moto: every object whose put succeeded
//! reads back exactly; every object whose put failed reads back exactly or
//! does not exist (a put may commit while its answer is lost); no multipart
//! upload is left open.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use s3ec_client::transport::{ErrorKind, ObjectRequest, Transport};
use s3ec_client::{
    AsyncClient, Client, ClientError, GetOptions, LegacyOptions, Local, PlaintextRange, PutOptions,
};
use s3ec_local::AesKeyring;
use s3ec_testkit::faults::{Fault, FaultProxy};

use crate::live;
use crate::sink::Recorder;

/// The multipart part size the soak uses (S3's minimum).
const PART: u64 = 5 << 20;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long the loops run.
    pub duration: Duration,
    /// The seed of every random choice (faults, operations, bodies).
    pub seed: u64,
}

/// One object the soak wrote (or tried to).
#[derive(Debug, Clone)]
struct Entry {
    key: String,
    seed: u64,
    len: usize,
    /// The put returned success.
    created: bool,
}

/// Counters and findings.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Operations by client and kind.
    pub ops: BTreeMap<String, u64>,
    /// Outcomes by client, kind and result (`ok` or the error).
    pub outcomes: BTreeMap<String, u64>,
    /// Faults that took effect, by kind.
    pub faults: BTreeMap<String, u64>,
    /// Faults queued that never met a request.
    pub faults_unused: u64,
    /// Objects whose put succeeded, all read back exactly.
    pub created: u64,
    /// Objects whose put failed: absent afterwards.
    pub failed_absent: u64,
    /// Objects whose put failed but which committed: read back exactly.
    pub failed_but_exact: u64,
    /// Plaintext bytes checked in gets during the run.
    pub bytes_checked: u64,
    /// Multipart uploads open at the end.
    pub open_uploads: Vec<(String, String)>,
    /// Everything that went wrong (empty: the soak passed).
    pub violations: Vec<String>,
    /// How long the loops ran.
    pub elapsed: Duration,
}

impl Report {
    fn count(map: &mut BTreeMap<String, u64>, k: String) {
        *map.entry(k).or_default() += 1;
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: u64 = self.ops.values().sum();
        writeln!(
            f,
            "soak: {total} operations in {:.0} s",
            self.elapsed.as_secs_f64()
        )?;
        for (k, v) in &self.ops {
            writeln!(f, "  op {k}: {v}")?;
        }
        let faults: u64 = self.faults.values().sum();
        writeln!(
            f,
            "faults that took effect: {faults} ({} queued but unused)",
            self.faults_unused
        )?;
        for (k, v) in &self.faults {
            writeln!(f, "  fault {k}: {v}")?;
        }
        writeln!(f, "outcomes:")?;
        for (k, v) in &self.outcomes {
            writeln!(f, "  {k}: {v}")?;
        }
        writeln!(
            f,
            "afterwards: {} created objects read back exactly; failed puts: {} absent, {} committed and exact; {} MiB of plaintext checked during the run; {} multipart uploads open",
            self.created,
            self.failed_absent,
            self.failed_but_exact,
            self.bytes_checked >> 20,
            self.open_uploads.len()
        )?;
        if self.violations.is_empty() {
            writeln!(f, "violations: none")
        } else {
            writeln!(f, "VIOLATIONS ({}):", self.violations.len())?;
            for v in &self.violations {
                writeln!(f, "  {v}")?;
            }
            Ok(())
        }
    }
}

struct Shared {
    bucket: String,
    ledger: Mutex<Vec<Entry>>,
    report: Mutex<Report>,
    next: Mutex<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The short name of an error (its variant, and the transport's kind).
fn error_name(e: &ClientError) -> String {
    match e {
        ClientError::Transport(t) => format!("Transport({:?})", t.kind),
        ClientError::Io(io) => format!("Io({:?})", io.kind()),
        other => {
            let d = format!("{other:?}");
            d.split(['(', ' ', '{']).next().unwrap_or("?").to_string()
        }
    }
}

/// One operation, chosen by a worker.
enum Op {
    Put {
        entry: Entry,
        instruction_file: bool,
    },
    Get(Entry),
    Range(Entry, u64, u64),
}

impl Op {
    fn kind(&self) -> &'static str {
        match self {
            Op::Put { entry, .. } if entry.len as u64 > PART => "put-multipart",
            Op::Put { .. } => "put",
            Op::Get(_) => "get",
            Op::Range(..) => "get-range",
        }
    }
}

impl Shared {
    fn choose(&self, rng: &mut StdRng) -> Op {
        let ledger = lock(&self.ledger);
        let roll = rng.gen_range(0..100);
        if ledger.is_empty() || roll < 35 {
            drop(ledger);
            let n = {
                let mut next = lock(&self.next);
                *next += 1;
                *next
            };
            let len = if rng.gen_range(0..6) == 0 {
                (PART as usize) + rng.gen_range(1..(3 << 20))
            } else {
                rng.gen_range(0..(256 << 10))
            };
            return Op::Put {
                entry: Entry {
                    key: format!("soak/{n:06}"),
                    seed: rng.gen(),
                    len,
                    created: false,
                },
                instruction_file: rng.gen_range(0..4) == 0,
            };
        }
        let e = ledger[rng.gen_range(0..ledger.len())].clone();
        if roll < 85 || e.len == 0 {
            Op::Get(e)
        } else {
            let first = rng.gen_range(0..e.len as u64);
            let last = rng.gen_range(first..e.len as u64 + 100);
            Op::Range(e, first, last)
        }
    }

    fn violation(&self, v: String) {
        eprintln!("soak: VIOLATION: {v}");
        lock(&self.report).violations.push(v);
    }

    fn record_put(&self, who: &str, mut entry: Entry, r: Result<(), ClientError>) {
        let kind = if entry.len as u64 > PART {
            "put-multipart"
        } else {
            "put"
        };
        let outcome = match &r {
            Ok(()) => "ok".to_string(),
            Err(e) => error_name(e),
        };
        Report::count(
            &mut lock(&self.report).outcomes,
            format!("{who} {kind}: {outcome}"),
        );
        entry.created = r.is_ok();
        lock(&self.ledger).push(entry);
    }

    /// Judge a get: `range` is the inclusive plaintext range asked for.
    fn record_get(
        &self,
        who: &str,
        e: &Entry,
        range: Option<(u64, u64)>,
        r: Result<(), ClientError>,
        rec: Recorder,
    ) {
        let kind = if range.is_some() { "get-range" } else { "get" };
        let outcome = match &r {
            Ok(()) => "ok".to_string(),
            Err(err) => error_name(err),
        };
        Report::count(
            &mut lock(&self.report).outcomes,
            format!("{who} {kind}: {outcome}"),
        );
        let body = live::body(e.seed, e.len);
        let want: &[u8] = match range {
            None => &body,
            Some((first, last)) => {
                let last = (last as usize).min(e.len.saturating_sub(1));
                &body[first as usize..=last]
            }
        };
        match (&r, range) {
            (Ok(()), _) => {
                if rec.bytes != want {
                    self.violation(format!(
                        "{who} {kind} {}: succeeded with {} bytes that are not the plaintext ({} bytes)",
                        e.key,
                        rec.bytes.len(),
                        want.len()
                    ));
                } else {
                    lock(&self.report).bytes_checked += want.len() as u64;
                }
                if !e.created {
                    // Its put failed but committed: fine, if exact.
                }
            }
            (Err(err), None) => {
                if !rec.is_untouched() {
                    self.violation(format!(
                        "{who} get {}: failed ({err}) after handing {} bytes to the sink",
                        e.key,
                        rec.bytes.len()
                    ));
                }
                if e.created && matches!(err, ClientError::Authentication) {
                    self.violation(format!(
                        "{who} get {}: authentication failed on an object written whole",
                        e.key
                    ));
                }
            }
            (Err(err), Some(_)) => {
                // Ranged gets are unauthenticated: what was handed over
                // must be a prefix of the true range.
                if !want.starts_with(&rec.bytes) {
                    self.violation(format!(
                        "{who} get-range {}: failed ({err}) after handing {} bytes that are not the range's start",
                        e.key,
                        rec.bytes.len()
                    ));
                }
            }
        }
    }
}

fn keyring() -> Result<AesKeyring, String> {
    AesKeyring::new(&[0x50; 32]).map_err(|e| e.to_string())
}

const RANGES: LegacyOptions = LegacyOptions {
    wrapping_algorithms: false,
    unauthenticated_modes: true,
};

/// The client a worker drives: the blocking one (over `s3ec-reqwest`) or
/// the async one (over `s3ec-aws-sdk`), behind one set of calls so both
/// run the same worker.
#[derive(Clone, Copy)]
enum Soaked<'a> {
    Blocking(&'a Client),
    Async(&'a AsyncClient),
}

impl Soaked<'_> {
    fn label(self) -> &'static str {
        match self {
            Soaked::Blocking(_) => "blocking",
            Soaked::Async(_) => "async",
        }
    }

    async fn put(
        self,
        bucket: &str,
        key: &str,
        body: &[u8],
        instruction_file: bool,
    ) -> Result<(), ClientError> {
        let o = PutOptions::default().instruction_file(instruction_file);
        let len = Some(body.len() as u64);
        match self {
            Soaked::Blocking(c) => c.put_object_with(bucket, key, body, len, &o).map(|_| ()),
            Soaked::Async(c) => c
                .put_object_with(bucket, key, body, len, &o)
                .await
                .map(|_| ()),
        }
    }

    async fn get(
        self,
        bucket: &str,
        key: &str,
        range: Option<PlaintextRange>,
        rec: &mut Recorder,
    ) -> Result<(), ClientError> {
        let o = GetOptions::default();
        match (self, range) {
            (Soaked::Blocking(c), None) => c.get_object_with(bucket, key, rec, &o).map(|_| ()),
            (Soaked::Blocking(c), Some(r)) => c.get_range(bucket, key, r, rec, &o).map(|_| ()),
            (Soaked::Async(c), None) => c.get_object_with(bucket, key, rec, &o).await.map(|_| ()),
            (Soaked::Async(c), Some(r)) => c.get_range(bucket, key, r, rec, &o).await.map(|_| ()),
        }
    }
}

/// Drive a future that never waits (the blocking client's calls block
/// instead), on this thread.
fn run_inline<T>(fut: impl std::future::Future<Output = T>) -> T {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

async fn worker(sh: &Shared, client: Soaked<'_>, seed: u64, stop: &AtomicBool) {
    let mut rng = StdRng::seed_from_u64(seed);
    let label = client.label();
    while !stop.load(Ordering::SeqCst) {
        let op = sh.choose(&mut rng);
        Report::count(&mut lock(&sh.report).ops, format!("{label} {}", op.kind()));
        match op {
            Op::Put {
                entry,
                instruction_file,
            } => {
                let body = live::body(entry.seed, entry.len);
                let r = client
                    .put(&sh.bucket, &entry.key, &body, instruction_file)
                    .await;
                sh.record_put(label, entry, r);
            }
            Op::Get(e) => {
                let mut rec = Recorder::new();
                let r = client.get(&sh.bucket, &e.key, None, &mut rec).await;
                sh.record_get(label, &e, None, r, rec);
            }
            Op::Range(e, first, last) => {
                let mut rec = Recorder::new();
                let range = PlaintextRange::Bounded { first, last };
                let r = client.get(&sh.bucket, &e.key, Some(range), &mut rec).await;
                sh.record_get(label, &e, Some((first, last)), r, rec);
            }
        }
    }
}

/// A random fault for a random method, and how many times in a row (a
/// burst longer than the clients' retries makes the operation fail).
fn random_fault(rng: &mut StdRng) -> (&'static str, Fault, usize) {
    let method = ["GET", "GET", "GET", "PUT", "PUT", "POST", "HEAD", "*"][rng.gen_range(0..8)];
    let ms = |rng: &mut StdRng| Duration::from_millis(rng.gen_range(50..1500));
    // A PUT answer has no body to cut: those get the other faults.
    let kinds = if method == "PUT" { 4 } else { 7 };
    let fault = match rng.gen_range(0..kinds) {
        0 => Fault::Status(500),
        1 => Fault::Status(503),
        2 => Fault::Drop,
        3 => Fault::Stall(ms(rng)),
        4 | 5 => Fault::Truncate(rng.gen_range(0..300_000)),
        _ => Fault::StallBody(rng.gen_range(0..300_000), ms(rng)),
    };
    let burst = if rng.gen_range(0..4) == 0 {
        rng.gen_range(2..=6)
    } else {
        1
    };
    (method, fault, burst)
}

fn fault_name(f: &Fault) -> String {
    match f {
        Fault::Status(s) => format!("status {s}"),
        Fault::StatusCode(s, _) => format!("status {s}"),
        Fault::ErrorIn200(_) => "error in 200".into(),
        Fault::Drop => "drop".into(),
        Fault::Truncate(_) => "truncate".into(),
        Fault::Stall(_) => "stall".into(),
        Fault::StallBody(..) => "stall mid-body".into(),
    }
}

/// Run the soak against this process's moto server. `Err`: it could not
/// be set up (violations are in the report).
pub fn run(o: &Options) -> Result<Report, String> {
    let proxy = Arc::new(FaultProxy::start(live::moto()).map_err(|e| format!("fault proxy: {e}"))?);
    let sh = Arc::new(Shared {
        bucket: live::bucket("s3ec-soak")?,
        ledger: Mutex::new(Vec::new()),
        report: Mutex::new(Report::default()),
        next: Mutex::new(0),
    });
    let blocking = Client::builder(live::reqwest_transport(&proxy.endpoint())?, keyring()?)
        .part_size(PART)
        .legacy(RANGES)
        .build()
        .map_err(|e| e.to_string())?;
    let asynchronous =
        AsyncClient::builder(live::sdk_transport(&proxy.endpoint()), Local(keyring()?))
            .part_size(PART)
            .legacy(RANGES)
            .build()
            .map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let injector = {
        let (proxy, stop) = (proxy.clone(), stop.clone());
        let mut rng = StdRng::seed_from_u64(o.seed ^ 0xFA17);
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if proxy.pending() < 4 {
                    let (m, f, burst) = random_fault(&mut rng);
                    for _ in 0..burst {
                        proxy.push(m, f.clone());
                    }
                }
                std::thread::sleep(Duration::from_millis(rng.gen_range(10..100)));
            }
        })
    };
    let b_worker = {
        let (sh, stop) = (sh.clone(), stop.clone());
        let seed = o.seed;
        std::thread::spawn(move || {
            run_inline(worker(&sh, Soaked::Blocking(&blocking), seed, &stop))
        })
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    {
        let (sh, stop) = (sh.clone(), stop.clone());
        let seed = o.seed.wrapping_add(1);
        let deadline = o.duration;
        rt.block_on(async move {
            let timer = {
                let stop = stop.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(deadline).await;
                    stop.store(true, Ordering::SeqCst);
                })
            };
            worker(&sh, Soaked::Async(&asynchronous), seed, &stop).await;
            let _ = timer.await;
        });
    }
    stop.store(true, Ordering::SeqCst);
    let _ = injector.join();
    let _ = b_worker.join();
    let elapsed = start.elapsed();
    // Faults still queued never met a request; stalled connections end by
    // themselves within the longest stall.
    let unused = proxy.pending() as u64;
    proxy.clear();
    std::thread::sleep(Duration::from_millis(1600));
    {
        let mut rep = lock(&sh.report);
        rep.elapsed = elapsed;
        rep.faults_unused = unused;
        for s in proxy.seen() {
            if let Some(f) = &s.fault {
                Report::count(&mut rep.faults, fault_name(f));
            }
        }
    }
    verify(&sh, &rt)?;
    let rep = lock(&sh.report).clone();
    Ok(rep)
}

/// Afterwards, straight to moto: every object exact or absent, no upload
/// left open.
fn verify(sh: &Shared, rt: &tokio::runtime::Runtime) -> Result<(), String> {
    let direct = live::reqwest_transport(live::moto())?;
    let client = Client::builder(live::reqwest_transport(live::moto())?, keyring()?)
        .build()
        .map_err(|e| e.to_string())?;
    let ledger = lock(&sh.ledger).clone();
    for e in &ledger {
        let exists = match direct.head_object(&ObjectRequest::new(&sh.bucket, &e.key)) {
            Ok(_) => true,
            Err(t) if t.kind == ErrorKind::NotFound => false,
            Err(t) => {
                sh.violation(format!("{}: HEAD failed without faults: {t}", e.key));
                continue;
            }
        };
        if !exists {
            if e.created {
                sh.violation(format!(
                    "{}: its put succeeded but it does not exist",
                    e.key
                ));
            } else {
                lock(&sh.report).failed_absent += 1;
            }
            continue;
        }
        let mut rec = Recorder::new();
        match client.get_object_with(&sh.bucket, &e.key, &mut rec, &GetOptions::default()) {
            Ok(_) if rec.bytes == live::body(e.seed, e.len) => {
                let mut rep = lock(&sh.report);
                if e.created {
                    rep.created += 1;
                } else {
                    rep.failed_but_exact += 1;
                }
            }
            Ok(_) => sh.violation(format!("{}: reads back different bytes", e.key)),
            Err(err) => sh.violation(format!(
                "{}: exists (put {}) but does not read back: {err}",
                e.key,
                if e.created { "succeeded" } else { "failed" }
            )),
        }
    }
    match rt.block_on(live::open_uploads(&sh.bucket)) {
        Ok(open) => {
            for (k, id) in &open {
                sh.violation(format!("multipart upload left open: {k} ({id})"));
            }
            lock(&sh.report).open_uploads = open;
        }
        Err(e) => sh.violation(e),
    }
    Ok(())
}

//! The zero-release harness over every fault the test kit's proxy injects
//! (issue 14): every decrypt path of both clients against moto through the
//! proxy — the blocking client over `s3ec-reqwest`, the async client over
//! `s3ec-aws-sdk`; `GetStrategy::Buffer`, `Spool`, default `Auto`, get to a
//! path, ranged get with its option, delayed authentication — with each
//! fault on the object's GET (once, and in a burst longer than the clients'
//! retries), on the instruction file's GET and on the ranged get's HEAD.
//!
//! Without the danger option a get that fails hands its sink nothing and a
//! get that succeeds hands exactly the plaintext. The proxy alters no byte,
//! so with delayed authentication or a ranged get a failed get may have
//! handed over a prefix of the true plaintext (never other bytes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use s3ec_client::{
    AsyncClient, Client, GetOptions, GetStrategy, LegacyOptions, Local, PlaintextRange, PutOptions,
};
use s3ec_hardening::live;
use s3ec_hardening::sink::Recorder;
use s3ec_local::AesKeyring;
use s3ec_testkit::faults::{Fault, FaultProxy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum P {
    Buffer,
    Spool,
    Auto,
    ToPath,
    Range,
    Delayed,
}
const PATHS: [P; 6] = [
    P::Buffer,
    P::Spool,
    P::Auto,
    P::ToPath,
    P::Range,
    P::Delayed,
];

fn faults() -> Vec<Fault> {
    let ms = Duration::from_millis(100);
    vec![
        Fault::Status(500),
        Fault::Status(503),
        Fault::StatusCode(403, "AccessDenied".into()),
        Fault::StatusCode(404, "NoSuchKey".into()),
        Fault::ErrorIn200("InternalError".into()),
        Fault::Drop,
        Fault::Truncate(0),
        Fault::Truncate(1000),
        Fault::Truncate(70_000),
        Fault::Stall(ms),
        Fault::StallBody(1000, ms),
        Fault::StallBody(100_000, ms),
    ]
}

/// Where a fault goes: (method, path part, copies, every fault or the
/// burst subset).
fn targets(key: &str, p: P) -> Vec<(&'static str, String, usize, bool)> {
    let mut t = vec![
        ("GET", format!("/{key}"), 1, true),
        ("GET", format!("/{key}"), 6, false),
    ];
    if key.starts_with("instr") {
        t.push(("GET", format!("/{key}.instruction"), 1, true));
    }
    if p == P::Range {
        t.push(("HEAD", format!("/{key}"), 1, false));
    }
    t
}

/// The faults repeated past the retries (and used on HEAD): one of each
/// kind that acts before, at and after the response head.
fn burst(f: &Fault) -> bool {
    matches!(
        f,
        Fault::Status(503) | Fault::Drop | Fault::Truncate(1000) | Fault::StallBody(1000, _)
    )
}

fn keyring() -> AesKeyring {
    AesKeyring::new(&[0x33; 32]).unwrap()
}

const LEGACY: LegacyOptions = LegacyOptions {
    wrapping_algorithms: false,
    unauthenticated_modes: true,
};

fn strategy(p: P, dir: &Path) -> Option<GetStrategy> {
    match p {
        P::Buffer => Some(GetStrategy::Buffer { max_bytes: 1 << 30 }),
        P::Spool => Some(GetStrategy::Spool {
            dir: Some(dir.to_path_buf()),
        }),
        _ => None,
    }
}

/// Judge one get: `released` is what the sink (or the destination) got.
fn judge(what: &str, p: P, ok: bool, err: String, released: &[u8], pt: &[u8]) {
    if ok {
        assert!(released == pt, "{what}: succeeded with other bytes");
    } else if matches!(p, P::Delayed | P::Range) {
        assert!(pt.starts_with(released), "{what}: failed ({err}) after handing over bytes that are not a prefix of the plaintext");
    } else {
        assert!(
            released.is_empty(),
            "{what}: failed ({err}) after handing over {} bytes",
            released.len()
        );
    }
}

struct Setup {
    proxy: FaultProxy,
    bucket: String,
    objects: Vec<(&'static str, Vec<u8>)>,
    tmp: tempfile::TempDir,
}

fn setup() -> Setup {
    let bucket = live::bucket("s3ec-zero-faults").unwrap();
    let direct = Client::builder(live::reqwest_transport(live::moto()).unwrap(), keyring())
        .build()
        .unwrap();
    let objects = vec![
        ("meta", live::body(1, 150_000)),
        ("instr", live::body(2, 150_000)),
    ];
    for (k, body) in &objects {
        direct
            .put_object_with(
                &bucket,
                k,
                &body[..],
                None,
                &PutOptions::default().instruction_file(*k == "instr"),
            )
            .unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("spool")).unwrap();
    Setup {
        proxy: FaultProxy::start(live::moto()).unwrap(),
        bucket,
        objects,
        tmp,
    }
}

/// One get to make: the object, and the fault armed on one of its requests.
struct Case<'a> {
    key: &'static str,
    pt: &'a [u8],
    what: String,
}

/// Every case of one path; each is armed on the proxy just before it is
/// handed to `get` (which returns whether the get succeeded, its error and
/// what it released) and judged right after.
fn each_case(
    s: &Setup,
    p: P,
    label: &str,
    count: &mut Count,
    mut get: impl FnMut(&Case<'_>) -> (bool, String, Vec<u8>),
) {
    let spool = s.tmp.path().join("spool");
    for (key, pt) in &s.objects {
        for (method, path, copies, all) in targets(key, p) {
            for f in faults().into_iter().filter(|f| all || burst(f)) {
                s.proxy.clear();
                for _ in 0..copies {
                    s.proxy.push_for(method, &path, f.clone());
                }
                let case = Case {
                    key,
                    pt,
                    what: format!("{label} {p:?} {key} {f:?}x{copies} on {method} {path}"),
                };
                let (ok, err, released) = get(&case);
                judge(&case.what, p, ok, err, &released, case.pt);
                count.gets += 1;
                count.failed += usize::from(!ok);
                assert!(
                    std::fs::read_dir(&spool).unwrap().next().is_none(),
                    "{}: spool file left",
                    case.what
                );
            }
        }
    }
    count.tally(&s.proxy);
}

/// A get's outcome as the judge takes it.
fn outcome<T, E: std::fmt::Display>(r: Result<T, E>, released: Vec<u8>) -> (bool, String, Vec<u8>) {
    let ok = r.is_ok();
    (
        ok,
        r.err().map(|e| e.to_string()).unwrap_or_default(),
        released,
    )
}

/// What a get to a path left at `dest` (removed afterwards): the file
/// exists exactly when the get succeeded.
fn taken<T: std::fmt::Debug, E: std::fmt::Display + std::fmt::Debug>(
    what: &str,
    r: Result<T, E>,
    dest: &Path,
) -> (bool, String, Vec<u8>) {
    let got = std::fs::read(dest).unwrap_or_default();
    assert_eq!(r.is_ok(), dest.exists(), "{what}: {r:?}");
    let _ = std::fs::remove_file(dest);
    outcome(r, got)
}

#[derive(Default)]
struct Count {
    gets: usize,
    failed: usize,
    by_kind: BTreeMap<String, usize>,
}

impl Count {
    fn tally(&mut self, proxy: &FaultProxy) {
        for s in proxy.seen() {
            if let Some(f) = s.fault {
                let name = format!("{f:?}");
                let name = name.split('(').next().unwrap_or("?").to_string();
                *self.by_kind.entry(name).or_default() += 1;
            }
        }
        proxy.clear_seen();
    }

    /// Some gets failed, not all, and every kind of fault took effect.
    fn check(&self, label: &str) {
        let Count {
            gets,
            failed,
            by_kind,
        } = self;
        eprintln!("{label}: {gets} gets, {failed} failed; faults that took effect: {by_kind:?}");
        assert!(*failed > 0 && failed < gets, "{failed} of {gets} failed");
        for kind in [
            "Status",
            "StatusCode",
            "ErrorIn200",
            "Drop",
            "Truncate",
            "Stall",
            "StallBody",
        ] {
            assert!(
                by_kind.get(kind).is_some_and(|n| *n > 0),
                "{kind} never took effect: {by_kind:?}"
            );
        }
    }
}

#[test]
fn blocking_client_releases_nothing_under_faults() {
    let s = setup();
    let spool = s.tmp.path().join("spool");
    let dest = s.tmp.path().join("dest");
    let mut count = Count::default();
    let o = GetOptions::default();
    for p in PATHS {
        let mut b = Client::builder(
            live::reqwest_transport(&s.proxy.endpoint()).unwrap(),
            keyring(),
        )
        .legacy(LEGACY)
        .danger_delayed_authentication(p == P::Delayed);
        if let Some(st) = strategy(p, &spool) {
            b = b.get_strategy(st);
        }
        let c = b.build().unwrap();
        each_case(&s, p, "blocking", &mut count, |case| {
            let mut rec = Recorder::new();
            match p {
                P::ToPath => {
                    let r = c.get_object_to_path(&s.bucket, case.key, &dest, &o);
                    taken(&case.what, r, &dest)
                }
                P::Range => {
                    let r = c.get_range(&s.bucket, case.key, PlaintextRange::From(0), &mut rec, &o);
                    outcome(r, rec.bytes)
                }
                _ => {
                    let r = c.get_object_with(&s.bucket, case.key, &mut rec, &o);
                    outcome(r, rec.bytes)
                }
            }
        });
    }
    count.check("blocking");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_client_releases_nothing_under_faults() {
    let s = tokio::task::spawn_blocking(setup).await.unwrap();
    let spool = s.tmp.path().join("spool");
    let dest = s.tmp.path().join("dest");
    let mut count = Count::default();
    let o = GetOptions::default();
    let rt = tokio::runtime::Handle::current();
    for p in PATHS {
        let mut b =
            AsyncClient::builder(live::sdk_transport(&s.proxy.endpoint()), Local(keyring()))
                .legacy(LEGACY)
                .danger_delayed_authentication(p == P::Delayed);
        if let Some(st) = strategy(p, &spool) {
            b = b.get_strategy(st);
        }
        let c = b.build().unwrap();
        tokio::task::block_in_place(|| {
            each_case(&s, p, "async", &mut count, |case| {
                let mut rec = Recorder::new();
                rt.block_on(async {
                    match p {
                        P::ToPath => {
                            let r = c.get_object_to_path(&s.bucket, case.key, &dest, &o).await;
                            taken(&case.what, r, &dest)
                        }
                        P::Range => {
                            let r = c
                                .get_range(
                                    &s.bucket,
                                    case.key,
                                    PlaintextRange::From(0),
                                    &mut rec,
                                    &o,
                                )
                                .await;
                            outcome(r, rec.bytes)
                        }
                        _ => {
                            let r = c.get_object_with(&s.bucket, case.key, &mut rec, &o).await;
                            outcome(r, rec.bytes)
                        }
                    }
                })
            })
        });
    }
    count.check("async");
}

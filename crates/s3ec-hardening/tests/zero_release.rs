//! The zero-release harness over every vector case (issue 14).
//!
//! Every decrypt path runs every case — the project's `test-vectors/` and the
//! shared vectors, negative and positive — into a [`Recorder`]:
//!
//! - the core's streaming decryption (`codec::open_envelope`, then the GCM
//!   verifier and `Verified::decrypt_at`, or the legacy CBC decryptor);
//! - the blocking [`Client`] and the [`AsyncClient`] over a folder store
//!   (`s3ec-fs`), each with `GetStrategy::Buffer`, `Spool`, `Auto` forced to
//!   spool, and the default `Auto`; `get_object_to_path` to a new path and
//!   over an existing file; `get_range` without its option (legacy
//!   unauthenticated modes off) and with it; and delayed authentication.
//!
//! A negative case must leave the recorder untouched on every path but the
//! three opt-ins [`s3ec_hardening::may_release`] names, and those may release
//! only what it states. A positive case must give exactly its plaintext on
//! every path (so that a refusal caused by the harness itself cannot pass).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use s3ec_client::codec::{self, DecryptPolicy, EnvelopeLocation};
use s3ec_client::transport::{Bytes, ObjectRequest, PutRequest, Transport};
use s3ec_client::{
    AsyncClient, Client, ClientError, CommitmentPolicy, GetOptions, GetStrategy, LegacyOptions,
    Local, PlaintextRange, Suite,
};
use s3ec_fs::FsStore;
use s3ec_hardening::may_release;
use s3ec_hardening::sink::Recorder;
use s3ec_hardening::vectors::{self, Case};

const BUCKET: &str = "zero";
const TAG: usize = 16;

/// The paths, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path_ {
    Buffer,
    Spool,
    AutoSpool,
    AutoDefault,
    ToNewPath,
    ToExistingPath,
    RangeOff,
    RangeOn,
    Delayed,
}

const PATHS: [Path_; 9] = [
    Path_::Buffer,
    Path_::Spool,
    Path_::AutoSpool,
    Path_::AutoDefault,
    Path_::ToNewPath,
    Path_::ToExistingPath,
    Path_::RangeOff,
    Path_::RangeOn,
    Path_::Delayed,
];

fn strategy(p: Path_, dir: &Path) -> Option<GetStrategy> {
    match p {
        Path_::Buffer => Some(GetStrategy::Buffer {
            max_bytes: 256 << 20,
        }),
        Path_::Spool => Some(GetStrategy::Spool {
            dir: Some(dir.to_path_buf()),
        }),
        Path_::AutoSpool => Some(GetStrategy::Auto {
            buffer_up_to: 0,
            spool_dir: Some(dir.to_path_buf()),
        }),
        _ => None,
    }
}

fn legacy(p: Path_) -> LegacyOptions {
    match p {
        Path_::RangeOff => LegacyOptions {
            unauthenticated_modes: false,
            ..LegacyOptions::ALL
        },
        _ => LegacyOptions::ALL,
    }
}

/// The store, with every case as object `c<N>` (and its instruction file),
/// and which cases it holds as they are: metadata whose keys differ only in
/// case (a negative vector) cannot be stored in S3 (HTTP header names are
/// case-insensitive) nor in the folder store; those are run by the core
/// path only.
fn store(cases: &[Case], root: &Path) -> (FsStore, Vec<bool>) {
    let s = FsStore::new(root).unwrap();
    let mut held = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let key = format!("c{i}");
        s.put_object(
            &PutRequest::new(BUCKET, &key, &c.metadata),
            Bytes::copy_from_slice(&c.ciphertext),
        )
        .unwrap();
        if let Some(file) = &c.instruction {
            s.put_object(
                &PutRequest::new(BUCKET, &format!("{key}.instruction"), &[]),
                Bytes::copy_from_slice(file),
            )
            .unwrap();
        }
        let mut stored = s
            .head_object(&ObjectRequest::new(BUCKET, &key))
            .unwrap()
            .metadata;
        let mut want = c.metadata.clone();
        stored.sort();
        want.sort();
        held.push(stored == want);
    }
    (s, held)
}

fn opts(c: &Case) -> GetOptions {
    GetOptions {
        expected_context: c.context.clone(),
        ..GetOptions::default()
    }
}

/// What one path did: the error, if any, and what the sink (or the
/// destination file) received.
struct Got {
    err: Option<ClientError>,
    released: Vec<u8>,
}

/// The checks every path shares. `range`: the path is a ranged get of the
/// whole object; `delayed`: delayed authentication.
fn judge(c: &Case, p: Path_, got: Got, what: &str) {
    let id = format!("{what} {p:?} {}", c.id);
    match (&c.plaintext, got.err) {
        (Some(pt), None) => {
            assert!(
                p != Path_::RangeOff,
                "{id}: a ranged get without its option succeeded"
            );
            assert!(
                got.released == *pt,
                "{id}: released text differs from the plaintext"
            );
        }
        (Some(_), Some(e)) => match (p, e) {
            (Path_::RangeOff, ClientError::RangedGetDisabled) => {
                assert!(
                    got.released.is_empty(),
                    "{id}: released with ranged gets off"
                )
            }
            // Ranged gets are for GCM bodies only.
            (Path_::RangeOn, _) if !c.is_gcm() => assert!(got.released.is_empty(), "{id}"),
            (_, e) => panic!("{id}: a positive case failed: {e}"),
        },
        // A ranged get is never checked against the tag: a tampered body
        // "succeeds" there, within what `may_release` allows.
        (None, None) if p == Path_::RangeOn && may_release(&c.expect_error) => {
            assert!(
                got.released.len() <= c.ciphertext.len().saturating_sub(TAG),
                "{id}"
            );
        }
        (None, None) => panic!("{id}: a negative case ({:?}) was accepted", c.expect_error),
        (None, Some(e)) => {
            if got.released.is_empty() {
                return;
            }
            // Released something: only the opt-ins may, only after every
            // envelope check passed, and only up to the body's length.
            assert!(
                matches!(p, Path_::RangeOn | Path_::Delayed),
                "{id}: released {} bytes without the danger option ({e})",
                got.released.len()
            );
            assert!(
                may_release(&c.expect_error),
                "{id}: released {} bytes for a refusal of class {:?} ({e})",
                got.released.len(),
                c.expect_error
            );
            assert!(
                got.released.len() <= c.ciphertext.len().saturating_sub(TAG),
                "{id}"
            );
            if p == Path_::Delayed {
                assert!(
                    matches!(e, ClientError::AuthenticationAfterRelease),
                    "{id}: released, then {e:?}"
                );
            }
        }
    }
}

fn blocking_client(s: &FsStore, c: &Case, p: Path_, dir: &Path) -> Client {
    let mut b = Client::builder(s.clone(), c.keyring().unwrap())
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .legacy(legacy(p))
        .danger_delayed_authentication(p == Path_::Delayed);
    if let Some(st) = strategy(p, dir) {
        b = b.get_strategy(st);
    }
    b.build().unwrap()
}

fn async_client(s: &FsStore, c: &Case, p: Path_, dir: &Path) -> AsyncClient {
    let mut b = AsyncClient::builder(s.clone(), Local(c.keyring().unwrap()))
        .commitment_policy(CommitmentPolicy::ForbidEncryptAllowDecrypt)
        .legacy(legacy(p))
        .danger_delayed_authentication(p == Path_::Delayed);
    if let Some(st) = strategy(p, dir) {
        b = b.get_strategy(st);
    }
    b.build().unwrap()
}

const SENTINEL: &[u8] = b"an existing file the get must leave alone";

/// A destination path for `p`: absent, or an existing file.
fn destination(dir: &Path, p: Path_, n: usize) -> std::path::PathBuf {
    let dest = dir.join(format!("out-{n}"));
    let _ = std::fs::remove_file(&dest);
    if p == Path_::ToExistingPath {
        std::fs::write(&dest, SENTINEL).unwrap();
    }
    dest
}

/// What a get to `dest` released: the destination's bytes if they changed;
/// the folder must hold nothing else afterwards (no temporary file left).
fn released_at(dir: &Path, dest: &Path, p: Path_, ok: bool) -> Vec<u8> {
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let expect_file = ok || p == Path_::ToExistingPath;
    assert_eq!(
        names.len(),
        usize::from(expect_file),
        "left in {}: {names:?}",
        dir.display()
    );
    match std::fs::read(dest) {
        Ok(b) if !ok && p == Path_::ToExistingPath && b == SENTINEL => Vec::new(),
        Ok(b) => b,
        Err(_) => Vec::new(),
    }
}

fn run_blocking(s: &FsStore, c: &Case, key: &str, p: Path_, tmp: &Path, n: usize) {
    let spool = tmp.join("spool");
    let outdir = tmp.join("out");
    let client = blocking_client(s, c, p, &spool);
    let o = opts(c);
    let got = match p {
        Path_::ToNewPath | Path_::ToExistingPath => {
            let dest = destination(&outdir, p, n);
            let r = client.get_object_to_path(BUCKET, key, &dest, &o);
            let released = released_at(&outdir, &dest, p, r.is_ok());
            let _ = std::fs::remove_file(&dest);
            Got {
                err: r.err(),
                released,
            }
        }
        Path_::RangeOff | Path_::RangeOn => {
            let mut rec = Recorder::new();
            let r = client.get_range(BUCKET, key, PlaintextRange::From(0), &mut rec, &o);
            Got {
                err: r.err(),
                released: rec.bytes,
            }
        }
        _ => {
            let mut rec = Recorder::new();
            let r = client.get_object_with(BUCKET, key, &mut rec, &o);
            Got {
                err: r.err(),
                released: rec.bytes,
            }
        }
    };
    judge(c, p, got, "blocking");
    assert_empty(&spool);
}

async fn run_async(s: &FsStore, c: &Case, key: &str, p: Path_, tmp: &Path, n: usize) {
    let spool = tmp.join("spool");
    let outdir = tmp.join("out");
    let client = async_client(s, c, p, &spool);
    let o = opts(c);
    let got = match p {
        Path_::ToNewPath | Path_::ToExistingPath => {
            let dest = destination(&outdir, p, n);
            let r = client.get_object_to_path(BUCKET, key, &dest, &o).await;
            let released = released_at(&outdir, &dest, p, r.is_ok());
            let _ = std::fs::remove_file(&dest);
            Got {
                err: r.err(),
                released,
            }
        }
        Path_::RangeOff | Path_::RangeOn => {
            let mut rec = Recorder::new();
            let r = client
                .get_range(BUCKET, key, PlaintextRange::From(0), &mut rec, &o)
                .await;
            Got {
                err: r.err(),
                released: rec.bytes,
            }
        }
        _ => {
            let mut rec = Recorder::new();
            let r = client.get_object_with(BUCKET, key, &mut rec, &o).await;
            Got {
                err: r.err(),
                released: rec.bytes,
            }
        }
    };
    judge(c, p, got, "async");
    assert_empty(&spool);
}

/// Spool files are unnamed or removed: the spool folder stays empty.
fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "spool files left: {left:?}");
}

fn temp_dirs() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("spool")).unwrap();
    std::fs::create_dir_all(t.path().join("out")).unwrap();
    t
}

/// The core, streaming: the envelope opened by the codec, then 64 KiB
/// chunks through the GCM verifier (plaintext only from `Verified`) or the
/// legacy CBC decryptor. `Err` with what was released.
fn core_streaming(c: &Case, rec: &mut Recorder, cbc: &mut bool) -> Result<(), String> {
    use std::io::Write;
    let keyring = c.keyring()?;
    let instruction = match codec::needs_instruction_file(&c.metadata).map_err(|e| e.to_string())? {
        EnvelopeLocation::ObjectMetadata => None,
        EnvelopeLocation::InstructionFile { .. } => Some(
            c.instruction
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .ok_or("no instruction file")?,
        ),
    };
    let opened = codec::open_envelope(
        keyring.as_ref(),
        &c.metadata,
        instruction.as_deref(),
        &DecryptPolicy::PERMISSIVE,
        c.context.as_ref(),
    )
    .map_err(|e| e.to_string())?;
    let body = &c.ciphertext;
    const CHUNK: usize = 64 * 1024;
    if opened.key.suite() == Suite::AesCbc {
        *cbc = true;
        let mut d = opened.key.cbc_decryptor().map_err(|e| e.to_string())?;
        let mut out = vec![0u8; CHUNK + 16];
        for chunk in body.chunks(CHUNK) {
            let n = d.update(chunk, &mut out).map_err(|e| e.to_string())?;
            rec.write_all(&out[..n]).map_err(|e| e.to_string())?;
        }
        let mut last = [0u8; 16];
        let n = d.finish(&mut last).map_err(|e| e.to_string())?;
        rec.write_all(&last[..n]).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let Some(ct_len) = body.len().checked_sub(TAG) else {
        return Err("shorter than a tag".into());
    };
    let mut v = opened.key.verifier().map_err(|e| e.to_string())?;
    for chunk in body[..ct_len].chunks(CHUNK) {
        v.update(chunk).map_err(|e| e.to_string())?;
    }
    let tag: [u8; TAG] = body[ct_len..].try_into().map_err(|_| "tag")?;
    let verified = v.verify(&tag).map_err(|e| e.to_string())?;
    let mut offset = 0usize;
    for chunk in body[..ct_len].chunks(CHUNK) {
        let mut buf = chunk.to_vec();
        verified
            .decrypt_at(offset as u64, &mut buf)
            .map_err(|e| e.to_string())?;
        rec.write_all(&buf).map_err(|e| e.to_string())?;
        offset += chunk.len();
    }
    Ok(())
}

fn cases() -> Vec<Case> {
    let all = vectors::all().unwrap();
    let negative = all.iter().filter(|c| c.is_negative()).count();
    assert!(negative >= 60, "only {negative} negative cases");
    // Every negative case states its class (issue 14).
    for c in all.iter().filter(|c| c.is_negative()) {
        assert!(!c.expect_error.is_empty(), "{}: no expect_error", c.id);
    }
    all
}

#[test]
fn core_streaming_releases_nothing_unauthenticated() {
    let (mut refused, mut cbc_released) = (0, 0);
    for c in cases() {
        let mut rec = Recorder::new();
        let mut cbc = false;
        let r = core_streaming(&c, &mut rec, &mut cbc);
        match (&c.plaintext, r) {
            (Some(pt), Ok(())) => assert!(rec.bytes == *pt, "{}: wrong plaintext", c.id),
            (Some(_), Err(e)) => panic!("{}: a positive case failed: {e}", c.id),
            (None, Ok(())) => panic!("{}: a negative case was accepted", c.id),
            (None, Err(_)) => {
                refused += 1;
                if !rec.is_untouched() {
                    // Only the legacy CBC decryptor streams before its check.
                    assert!(cbc, "{}: GCM content released", c.id);
                    // A failed RSA PKCS#1 v1.5 unwrap is rejected implicitly
                    // (a pseudo-random key, refused by the padding check like
                    // a bad body): its blocks are no plaintext.
                    let implicit = c.wrap_alg.as_deref() == Some("RSA");
                    assert!(
                        may_release(&c.expect_error) || implicit,
                        "{}: {:?}",
                        c.id,
                        c.expect_error
                    );
                    // Whole blocks as they come, never the final one the
                    // padding check needs.
                    assert!(rec.bytes.len() < c.ciphertext.len(), "{}", c.id);
                    cbc_released += 1;
                }
            }
        }
    }
    eprintln!(
        "core: {refused} refusals, {cbc_released} legacy CBC releases before the padding check"
    );
}

#[test]
fn blocking_client_releases_nothing_unauthenticated() {
    let cases = cases();
    let root = tempfile::tempdir().unwrap();
    let (s, held) = store(&cases, root.path());
    let tmp = temp_dirs();
    let mut n = 0;
    for (i, c) in cases.iter().enumerate() {
        if !held[i] {
            continue;
        }
        for p in PATHS {
            run_blocking(&s, c, &format!("c{i}"), p, tmp.path(), n);
            n += 1;
        }
    }
    let skipped = held.iter().filter(|h| !**h).count();
    assert!(skipped <= 4, "{skipped} cases the store cannot hold");
    eprintln!(
        "blocking: {n} gets ({} cases x {} paths; {skipped} core-only)",
        cases.len() - skipped,
        PATHS.len()
    );
}

#[tokio::test]
async fn async_client_releases_nothing_unauthenticated() {
    let cases = cases();
    let root = tempfile::tempdir().unwrap();
    let (s, held) = store(&cases, root.path());
    let tmp = temp_dirs();
    let mut n = 0;
    for (i, c) in cases.iter().enumerate() {
        if !held[i] {
            continue;
        }
        for p in PATHS {
            run_async(&s, c, &format!("c{i}"), p, tmp.path(), n).await;
            n += 1;
        }
    }
    let skipped = held.iter().filter(|h| !**h).count();
    eprintln!(
        "async: {n} gets ({} cases x {} paths; {skipped} core-only)",
        cases.len() - skipped,
        PATHS.len()
    );
}

/// The harness catches a release: a sink handed a prefix of the plaintext
/// before a failure is reported (the check is not vacuous).
#[test]
#[should_panic(expected = "without the danger option")]
fn the_harness_sees_a_release() {
    let c = cases().into_iter().find(|c| c.is_negative()).unwrap();
    judge(
        &c,
        Path_::Buffer,
        Got {
            err: Some(ClientError::Authentication),
            released: b"x".to_vec(),
        },
        "self-check",
    );
}

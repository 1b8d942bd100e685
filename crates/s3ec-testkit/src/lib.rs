//! # s3ec-testkit
//!
//! Test harness shared by the s3ec crates (not published):
//!
//! - [`moto`]: a [moto](https://github.com/getmoto/moto) server (local AWS
//!   S3 and KMS) for live tests. The first call creates a Python virtualenv
//!   in the workspace's ignored `.venv` folder, installs
//!   `moto[server]==`[`MOTO_VERSION`] into it from PyPI (up to a minute
//!   on a fresh clone, nothing on later runs), starts `moto_server` on a free
//!   loopback port and waits until it answers. One server per test process;
//!   it exits when the process does.
//! - [`shared_dir`] / [`interop_vectors_dir`]: where the project's shared
//!   material (interop vectors) lives.
//! - [`create_bucket`] / [`unique_bucket`]: S3 buckets in a moto server.
//! - [`faults`]: a scriptable fault-injection HTTP proxy (errors, dropped
//!   connections, truncated bodies, stalls) in front of a moto server.
//! - [`s3s`]: an s3s-fs server, which checks signatures (presigned URLs
//!   included), when installed.
//!
//! Environment:
//!
//! - `S3EC_MOTO_ENDPOINT`: use an already running moto server at this URL
//!   instead of starting one (nothing is installed then).
//! - `S3EC_VENV`: the virtualenv folder (default: `<workspace>/.venv`).
//! - `S3EC_PYTHON`: the Python used to create the virtualenv (default
//!   `python3`).
//! - `S3EC_SHARED_DIR`: the shared folder (default: `<workspace>/../shared`).
//!
//! ```no_run
//! let moto = s3ec_testkit::moto();
//! // Point an AWS SDK client at it, with the dummy credentials and region.
//! let endpoint: &str = moto.endpoint();
//! assert!(endpoint.starts_with("http://127.0.0.1:"));
//! assert_eq!(s3ec_testkit::REGION, "us-east-1");
//! ```

pub mod faults;
pub mod s3s;
#[cfg(feature = "sdk")]
pub mod sdk;

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// The moto release the harness installs.
pub const MOTO_VERSION: &str = "5.2.5";

/// The region the live tests use.
pub const REGION: &str = "us-east-1";

/// The dummy access key id moto accepts.
pub const ACCESS_KEY_ID: &str = "testing";

/// The dummy secret access key moto accepts.
pub const SECRET_ACCESS_KEY: &str = "testing";

/// How long a starting server may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    shared::workspace_root()
}

#[path = "shared.rs"]
mod shared;
pub use shared::{in_ci, require, require_in, require_interop_vectors, require_shared};

/// The shared folder beside the project (`S3EC_SHARED_DIR`, else
/// `<workspace>/../shared`), if it exists (see [`require_shared`] for tests).
pub fn shared_dir() -> Option<PathBuf> {
    shared::shared_dir()
}

/// The interop vectors folder (`<shared>/interop/vectors`), if present.
/// Tests that read it call [`require_interop_vectors`] (a skip with a note
/// outside CI, a failure under CI).
pub fn interop_vectors_dir() -> Option<PathBuf> {
    let dir = shared_dir()?.join("interop").join("vectors");
    dir.is_dir().then_some(dir)
}

/// The virtualenv folder the harness uses (`S3EC_VENV`, else
/// `<workspace>/.venv`, which `.gitignore` ignores).
pub fn venv_dir() -> PathBuf {
    match std::env::var_os("S3EC_VENV") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => workspace_root().join(".venv"),
    }
}

/// A running moto server.
///
/// A server made by [`MotoServer::start`] is killed when dropped; the one
/// behind [`moto`] lives as long as the test process. Either way the server
/// also exits by itself when the process that started it ends (it watches
/// its standard input, a pipe from that process), so no server outlives a
/// test run, even one that crashed.
#[derive(Debug)]
pub struct MotoServer {
    endpoint: String,
    child: Option<Child>,
    log: Option<PathBuf>,
}

impl MotoServer {
    /// Install moto if needed and start a new server on a free loopback
    /// port; return once it answers HTTP.
    pub fn start() -> Result<MotoServer, String> {
        let python = ensure_moto_venv()?;
        let mut last_error = String::new();
        // A free port can be taken between our probe and moto's bind: retry.
        for _ in 0..3 {
            match start_once(&python) {
                Ok(server) => return Ok(server),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// Use a server that is already running at `endpoint` (not owned: never
    /// killed by this value).
    pub fn external(endpoint: &str) -> MotoServer {
        MotoServer {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            child: None,
            log: None,
        }
    }

    /// The endpoint URL, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Where the server's output goes (servers started by the harness).
    pub fn log_file(&self) -> Option<&Path> {
        self.log.as_deref()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(log) = &self.log {
            let _ = fs::remove_file(log);
        }
    }
}

/// The moto server of this test process, started on first use
/// (`S3EC_MOTO_ENDPOINT` overrides).
///
/// # Panics
///
/// If moto cannot be installed or started; the message says why (no
/// network access to PyPI, no `python3`, ...). Live tests are meant to
/// fail, not skip, when their server is missing.
pub fn moto() -> &'static MotoServer {
    static SERVER: OnceLock<Result<MotoServer, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| match std::env::var("S3EC_MOTO_ENDPOINT") {
        Ok(url) if !url.is_empty() => Ok(MotoServer::external(&url)),
        _ => MotoServer::start(),
    });
    match server {
        Ok(s) => s,
        #[allow(clippy::panic)]
        Err(e) => panic!("s3ec-testkit: no moto server: {e}"),
    }
}

/// Make sure the virtualenv holds `moto[server]==MOTO_VERSION`; return the
/// path of its Python interpreter.
///
/// Creates the virtualenv with `python3 -m venv` and installs moto with
/// `pip` when missing. Several test processes may call this at once: a file
/// lock in the virtualenv serialises them, and a marker file records a
/// finished install.
pub fn ensure_moto_venv() -> Result<PathBuf, String> {
    let venv = venv_dir();
    let python = venv.join("bin").join("python");
    let marker = venv.join(format!(".s3ec-moto-{MOTO_VERSION}"));
    if marker.is_file() && python.exists() {
        return Ok(python);
    }
    fs::create_dir_all(&venv).map_err(|e| format!("cannot create {}: {e}", venv.display()))?;
    let lock_path = venv.join(".s3ec-install.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    // Another process may have finished while we waited for the lock.
    if marker.is_file() && python.exists() {
        return Ok(python);
    }
    let started = Instant::now();
    if !python.exists() {
        let base = std::env::var("S3EC_PYTHON").unwrap_or_else(|_| "python3".to_string());
        eprintln!(
            "s3ec-testkit: creating a virtualenv in {} with {base}",
            venv.display()
        );
        run(
            Command::new(&base).arg("-m").arg("venv").arg(&venv),
            &format!("`{base} -m venv {}`", venv.display()),
        )?;
    }
    eprintln!(
        "s3ec-testkit: installing moto[server]=={MOTO_VERSION} from PyPI into {} \
         (once; takes up to a minute)",
        venv.display()
    );
    let spec = format!("moto[server]=={MOTO_VERSION}");
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(&spec),
        &format!("`pip install '{spec}'`"),
    )
    .map_err(|e| {
        format!(
            "could not install {spec} from PyPI into {}: {e}\n\
             The live S3/KMS tests need it: check that pip can reach PyPI, \
             or set S3EC_MOTO_ENDPOINT to a running moto server.",
            venv.display()
        )
    })?;
    File::create(&marker).map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    eprintln!("s3ec-testkit: moto installed in {:.0?}", started.elapsed());
    drop(lock);
    Ok(python)
}

/// Run a command to completion; on failure return its exit status and the
/// end of its output.
fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Err(format!(
        "{what} failed ({}):\n{}",
        out.status,
        tail(&text, 3000)
    ))
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// The Python program that runs the server: moto's own `moto_server` entry
/// point, plus a thread that ends the process when its standard input (a
/// pipe from the test process) closes.
const SERVER_PY: &str = r#"
import os, sys, threading
def _watch():
    try:
        sys.stdin.buffer.read()
    finally:
        os._exit(0)
threading.Thread(target=_watch, daemon=True).start()
from moto.server import main
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"#;

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn start_once(python: &Path) -> Result<MotoServer, String> {
    let port = free_port()?;
    let log_path =
        std::env::temp_dir().join(format!("s3ec-moto-{}-{port}.log", std::process::id()));
    let log = File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log2 = log
        .try_clone()
        .map_err(|e| format!("cannot share {}: {e}", log_path.display()))?;
    let child = Command::new(python)
        .arg("-c")
        .arg(SERVER_PY)
        .arg(port.to_string())
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::piped())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| format!("cannot start moto with {}: {e}", python.display()))?;
    let mut server = MotoServer {
        endpoint: format!("http://127.0.0.1:{port}"),
        child: Some(child),
        log: Some(log_path.clone()),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(child) = &mut server.child {
            if let Ok(Some(status)) = child.try_wait() {
                let out = fs::read_to_string(&log_path).unwrap_or_default();
                return Err(format!(
                    "moto server exited at start ({status}):\n{}",
                    tail(&out, 3000)
                ));
            }
        }
        if answers_http(addr) {
            return Ok(server);
        }
        if Instant::now() > deadline {
            let out = fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!(
                "moto server on port {port} did not answer within {START_TIMEOUT:?}:\n{}",
                tail(&out, 3000)
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Whether an HTTP server answers on `addr` (any status).
fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET /moto-api/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 5];
    matches!(s.read_exact(&mut head), Ok(()) if &head == b"HTTP/")
}

/// A bucket name no other test (of this or another process) uses:
/// `prefix`, the process id and a counter, lower case.
pub fn unique_bucket(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let mut name = format!("{prefix}-{}-{n}", std::process::id()).to_ascii_lowercase();
    name.truncate(63);
    name
}

/// Create an S3 bucket in the moto server at `endpoint`
/// (`http://127.0.0.1:PORT`), in [`REGION`]; an existing bucket is fine.
///
/// A plain, unsigned HTTP request: moto does not check signatures.
pub fn create_bucket(endpoint: &str, bucket: &str) -> Result<(), String> {
    let text = raw_put(endpoint, &format!("/{bucket}"), "")?;
    if status_of(&text) == "200" || text.contains("BucketAlreadyOwnedByYou") {
        Ok(())
    } else {
        Err(format!(
            "CreateBucket {bucket} failed: {}",
            tail(&text, 2000)
        ))
    }
}

/// Turn versioning on for `bucket` in the moto server at `endpoint`.
pub fn enable_versioning(endpoint: &str, bucket: &str) -> Result<(), String> {
    let body = "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                <Status>Enabled</Status></VersioningConfiguration>";
    let text = raw_put(endpoint, &format!("/{bucket}?versioning"), body)?;
    if status_of(&text) == "200" {
        Ok(())
    } else {
        Err(format!(
            "PutBucketVersioning {bucket} failed: {}",
            tail(&text, 2000)
        ))
    }
}

/// Create a symmetric KMS key in the moto server at `endpoint`; its ARN.
/// (A raw `TrentService.CreateKey` call: moto does not check signatures.)
pub fn create_kms_key(endpoint: &str) -> Result<String, String> {
    let text = raw_exchange(
        endpoint,
        "CreateKey",
        "POST /",
        "kms",
        "Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.CreateKey\r\n",
        "{}",
    )?;
    // The ARN is the one `"Arn": "..."` field of the answer's KeyMetadata.
    let arn = text
        .split("\"Arn\"")
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .filter(|a| a.starts_with("arn:"));
    match arn {
        Some(a) if status_of(&text) == "200" => Ok(a.to_string()),
        _ => Err(format!("CreateKey failed: {}", tail(&text, 2000))),
    }
}

fn status_of(response: &str) -> &str {
    response.split(' ').nth(1).unwrap_or("")
}

/// One unsigned PUT to moto; returns the whole response as text.
fn raw_put(endpoint: &str, path: &str, body: &str) -> Result<String, String> {
    let line = format!("PUT {path}");
    raw_exchange(endpoint, &line, &line, "s3", "", body)
}

/// One request to moto over a fresh connection, with a dummy SigV4
/// `Authorization` for `service` (moto does not check signatures);
/// `headers` are extra `Name: value\r\n` lines. Returns the whole response
/// as text; `what` names the request in errors.
fn raw_exchange(
    endpoint: &str,
    what: &str,
    method_and_path: &str,
    service: &str,
    headers: &str,
    body: &str,
) -> Result<String, String> {
    let host = endpoint
        .strip_prefix("http://")
        .unwrap_or(endpoint)
        .trim_end_matches('/');
    let mut s = TcpStream::connect(host).map_err(|e| format!("cannot connect to {host}: {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(30)));
    let req = format!(
        "{method_and_path} HTTP/1.1\r\nHost: {host}\r\n{headers}Content-Length: {}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20200101/{REGION}/{service}/aws4_request, \
         SignedHeaders=host, Signature=0\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .map_err(|e| format!("cannot send {what}: {e}"))?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .map_err(|e| format!("cannot read the response to {what}: {e}"))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(venv_dir().ends_with(".venv") || std::env::var_os("S3EC_VENV").is_some());
        assert_eq!(tail("héllo", 4), "llo");
    }
}

//! An [s3s-fs](https://crates.io/crates/s3s-fs) server: S3 over a local
//! folder that checks SigV4 signatures, presigned URLs included (moto does
//! not), for the tests of refused requests.
//!
//! The binary is the one `scripts/measure-e2e.sh` installs into
//! `<workspace>/target/tools/bin/s3s-fs`, or `$S3EC_S3S_FS`. Without it
//! [`S3sFs::start`] returns `None` (the test skips) unless
//! `S3EC_REQUIRE_S3S` is set.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};

/// A running s3s-fs over a fresh data folder; stopped and the folder
/// removed on drop. Its credentials are [`ACCESS_KEY_ID`] and
/// [`SECRET_ACCESS_KEY`] (as moto's), any region.
#[derive(Debug)]
pub struct S3sFs {
    child: Child,
    endpoint: String,
    data: PathBuf,
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

impl S3sFs {
    /// Start s3s-fs on a free loopback port with `buckets` (s3s-fs: a
    /// bucket is a folder of its data folder); `None` when the binary is
    /// missing (see the module docs). Panics when it does not start.
    ///
    /// ```no_run
    /// let Some(server) = s3ec_testkit::s3s::S3sFs::start(&["devices"]) else { return };
    /// assert!(server.endpoint().starts_with("http://127.0.0.1:"));
    /// assert!(server.data().join("devices").is_dir());
    /// ```
    #[allow(clippy::panic)]
    pub fn start(buckets: &[&str]) -> Option<S3sFs> {
        let bin = std::env::var_os("S3EC_S3S_FS")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::workspace_root().join("target/tools/bin/s3s-fs"));
        if !bin.is_file() {
            assert!(
                std::env::var_os("S3EC_REQUIRE_S3S").is_none(),
                "S3EC_REQUIRE_S3S is set but {} is missing",
                bin.display()
            );
            eprintln!(
                "{} missing (scripts/measure-e2e.sh installs it; or set S3EC_S3S_FS): skipped",
                bin.display()
            );
            return None;
        }
        let data = std::env::temp_dir().join(format!(
            "s3ec-s3s-fs-{}-{}",
            std::process::id(),
            crate::unique_bucket("d")
        ));
        std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{}: {e}", data.display()));
        for b in buckets {
            std::fs::create_dir_all(data.join(b))
                .unwrap_or_else(|e| panic!("{}: {e}", data.display()));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--access-key",
                ACCESS_KEY_ID,
                "--secret-key",
                SECRET_ACCESS_KEY,
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        let server = S3sFs {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            data,
        };
        for _ in 0..300 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("s3s-fs did not start on port {port}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The data folder: one folder per bucket, one file per object.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// Every file under the data folder, relative, sorted (to show that a
    /// refused request wrote nothing, not even a temporary file).
    pub fn files(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![self.data.clone()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(&self.data) {
                    out.push(rel.display().to_string());
                }
            }
        }
        out.sort();
        out
    }
}

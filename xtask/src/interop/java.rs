//! The Java peers' long-lived JVMs: one `interop/peer PEER serve SOCKET` per
//! Java peer of the run, so that a driver call costs a socket round trip
//! instead of a JVM start (see interop/README.md). The launcher sends a call
//! there when `S3EC_JAVA_SERVE_DIR` names the folder of the sockets.

use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::env::Env;
use super::peer::Peer;

/// How long a JVM may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The running servers; killed when dropped.
pub(crate) struct Servers {
    children: Vec<(Peer, Child)>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Start one server per Java peer in `peers` and point `env` at them.
pub(crate) fn start_servers(env: &mut Env, peers: &[Peer]) -> Result<Servers, String> {
    let mut servers = Servers {
        children: Vec::new(),
    };
    let java: Vec<Peer> = peers.iter().copied().filter(|p| p.is_java()).collect();
    if java.is_empty() {
        return Ok(servers);
    }
    let dir = env.workdir.join("java-serve");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let started = Instant::now();
    let mut sockets: Vec<(Peer, PathBuf)> = Vec::new();
    for peer in java {
        let sock = dir.join(format!("{}.sock", peer.name()));
        let log_path = dir.join(format!("{}.log", peer.name()));
        let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let child = Command::new("bash")
            .arg(crate::root().join("interop").join("peer"))
            .arg(peer.name())
            .arg("serve")
            .arg(&sock)
            .current_dir(crate::root())
            .env("AWS_ACCESS_KEY_ID", s3ec_testkit::ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", s3ec_testkit::SECRET_ACCESS_KEY)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("cannot start the {peer} server: {e}"))?;
        servers.children.push((peer, child));
        sockets.push((peer, sock));
    }
    for (peer, sock) in sockets {
        while !sock.exists() {
            if let Some((_, child)) = servers.children.iter_mut().find(|(p, _)| *p == peer) {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = fs::read_to_string(dir.join(format!("{}.log", peer.name())))
                        .unwrap_or_default();
                    return Err(format!("the {peer} server exited ({status}): {log}"));
                }
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "the {peer} server did not listen within {START_TIMEOUT:?}"
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    eprintln!(
        "interop: Java peers' JVMs listening in {:.1?}",
        started.elapsed()
    );
    env.java_serve_dir = Some(dir);
    Ok(servers)
}

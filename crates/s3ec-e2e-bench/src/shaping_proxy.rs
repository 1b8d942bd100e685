//! `shaping-proxy`: s3ec-testkit's proxy as a link that behaves like S3, for
//! `scripts/measure-parallel.sh`: every connection limited to a bandwidth,
//! every request delayed by a latency, forwarded to a loopback S3 server.
//!
//! usage: `shaping-proxy UPSTREAM_URL MIB_PER_S LATENCY_MS`; prints the
//! proxy's URL on one line, then serves until its standard input closes.

use std::io::Read;
use std::process::ExitCode;

use s3ec_testkit::faults::{FaultProxy, Shaping};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [upstream, mib, ms] = args.as_slice() else {
        eprintln!("usage: shaping-proxy UPSTREAM_URL MIB_PER_S LATENCY_MS");
        return ExitCode::FAILURE;
    };
    let (Ok(mib), Ok(ms)) = (mib.parse::<u64>(), ms.parse::<u64>()) else {
        eprintln!("shaping-proxy: MIB_PER_S and LATENCY_MS are whole numbers");
        return ExitCode::FAILURE;
    };
    let proxy = match FaultProxy::start_shaped(upstream, Shaping::new(mib, ms)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("shaping-proxy: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", proxy.endpoint());
    // Serve until the parent closes our standard input (or kills us).
    let mut sink = [0u8; 64];
    while matches!(std::io::stdin().read(&mut sink), Ok(n) if n > 0) {}
    drop(proxy);
    ExitCode::SUCCESS
}

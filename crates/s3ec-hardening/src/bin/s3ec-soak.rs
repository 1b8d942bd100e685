//! `s3ec-soak [--secs N] [--seed S]`: the chaos soak (see
//! `s3ec_hardening::soak`) against a moto server the test kit starts (or
//! `S3EC_MOTO_ENDPOINT`). Prints the figures; exits 1 on any violation.
//!
//! ```text
//! cargo run --release -p s3ec-hardening --bin s3ec-soak -- --secs 600
//! ```

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let mut secs = 60u64;
    let mut seed = 1u64;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let num = |v: Option<&String>| v.and_then(|s| s.parse::<u64>().ok());
        match a.as_str() {
            "--secs" => match num(it.next()) {
                Some(n) => secs = n,
                None => return usage(),
            },
            "--seed" => match num(it.next()) {
                Some(n) => seed = n,
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    eprintln!("s3ec-soak: {secs} s, seed {seed}");
    let report = match s3ec_hardening::soak::run(&s3ec_hardening::soak::Options {
        duration: Duration::from_secs(secs),
        seed,
    }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("s3ec-soak: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{report}");
    if report.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: s3ec-soak [--secs N] [--seed S]");
    ExitCode::from(2)
}

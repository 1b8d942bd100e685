//! `e2e`: one timed put, get or delete of a generated object through the
//! s3ec client (`--mode enc`), the plain transport (`--mode plain`) or the
//! async client over the AWS SDK (`--mode async`)
//! against an S3 endpoint; see `scripts/measure-e2e.sh` and
//! `docs/measurements.md`. Prints one line of `key=value` pairs.

use std::process::ExitCode;

use s3ec_e2e_bench::{delete, get, peak_rss_kib, put, Mode, Settings, USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("{USAGE}");
        return if args.is_empty() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    let s = match Settings::parse(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("e2e: {e}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let mode = s.mode.name();
    let measured = match s.command.as_str() {
        "put" => put(&s),
        "get" => get(&s),
        _ => match delete(&s) {
            Ok(()) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("e2e: delete {}: {e}", s.key);
                return ExitCode::FAILURE;
            }
        },
    };
    match measured {
        Ok(m) => {
            let strategy = match (s.command.as_str(), s.mode) {
                ("get", _) if s.to_path.is_some() => "to-path",
                ("get", Mode::Encrypted | Mode::Async) => s.strategy.name(),
                _ => "-",
            };
            let mut line = format!(
                "op={} mode={mode} strategy={strategy} part_size={} concurrency={} bytes={} secs={:.3} mib_per_s={:.1}",
                s.command,
                s.part_size,
                s.concurrency,
                m.bytes,
                m.elapsed.as_secs_f64(),
                m.mib_per_s()
            );
            for (k, v) in &m.notes {
                line.push_str(&format!(" {k}={v}"));
            }
            if s.mode != Mode::Plain {
                // The content cipher's backend, e.g. `AwsLc`.
                let backend = std::any::type_name::<s3ec_client::Backend>();
                let short = backend.rsplit("::").next().unwrap_or(backend);
                line.push_str(&format!(" backend={short}"));
            }
            if let Some(kib) = peak_rss_kib() {
                line.push_str(&format!(" vmhwm_kib={kib}"));
            }
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("e2e: {} {mode} {}: {e}", s.command, s.key);
            let mut src = e.source();
            while let Some(inner) = src {
                eprintln!("  caused by: {inner}");
                src = inner.source();
            }
            ExitCode::FAILURE
        }
    }
}

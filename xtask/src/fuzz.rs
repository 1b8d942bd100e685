//! `cargo xtask fuzz [--secs N] [TARGET...]`: build every fuzz target and run
//! each for a short while over its committed seeds, so that none rots.
//!
//! With a nightly toolchain and `cargo-fuzz` installed it runs
//! `cargo +nightly fuzz build -O -a` (coverage-guided, sanitizer on) and
//! `cargo +nightly fuzz run`; otherwise it builds the fuzz package with the
//! stable toolchain (libFuzzer's driver without coverage instrumentation)
//! and replays every committed seed and corpus input through each binary
//! (`-runs=0`; libFuzzer refuses to generate inputs without coverage
//! instrumentation). The stable run checks every assertion of every target
//! on the seeds, nothing more: for fuzzing use the nightly path (see
//! `fuzz/README.md`). The stable path has not been tried on this machine yet.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, root, run};

/// The targets: every `[[bin]]` of `fuzz/Cargo.toml`.
pub(crate) fn targets(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            continue;
        }
        if in_bin {
            if let Some(v) = line.strip_prefix("name") {
                let v = v
                    .trim_start()
                    .trim_start_matches('=')
                    .trim()
                    .trim_matches('"');
                if !v.is_empty() {
                    out.push(v.to_string());
                }
            }
        }
    }
    out
}

/// Whether `cargo +nightly fuzz` can run here.
fn have_cargo_fuzz() -> bool {
    Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Options of `cargo xtask fuzz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// Seconds of random inputs per target.
    pub(crate) secs: u64,
    /// The targets to run (all when empty).
    pub(crate) only: Vec<String>,
    /// Never use nightly cargo-fuzz (CI: the sanitizer build of every
    /// target costs many minutes; the stable build replays the seeds and
    /// runs random inputs).
    pub(crate) stable_only: bool,
}

pub(crate) fn parse(args: &[&str]) -> Result<Options, String> {
    let mut o = Options {
        secs: 20,
        only: Vec::new(),
        stable_only: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--secs" => {
                o.secs = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--secs takes a number of seconds")?;
            }
            t if !t.starts_with('-') => o.only.push(t.to_string()),
            other => return Err(format!("fuzz: unknown option {other}")),
        }
    }
    Ok(o)
}

pub(crate) fn run_all(o: &Options) -> Result<(), String> {
    let fuzz = root().join("fuzz");
    let manifest =
        fs::read_to_string(fuzz.join("Cargo.toml")).map_err(|e| format!("fuzz/Cargo.toml: {e}"))?;
    let all = targets(&manifest);
    for t in &o.only {
        if !all.contains(t) {
            return Err(format!("fuzz: no target {t} (have: {})", all.join(", ")));
        }
    }
    let chosen: Vec<&String> = all
        .iter()
        .filter(|t| o.only.is_empty() || o.only.contains(t))
        .collect();
    let nightly =
        !o.stable_only && std::env::var_os("S3EC_FUZZ_STABLE").is_none() && have_cargo_fuzz();
    let mut total = 0u64;
    if nightly {
        eprintln!("xtask: fuzz: cargo +nightly fuzz (coverage-guided)");
        run(Command::new("cargo").args(["+nightly", "fuzz", "build", "-O", "-a"]))?;
    } else {
        eprintln!(
            "xtask: fuzz: no nightly cargo-fuzz here: stable build, seeds replayed and random \
             inputs without coverage guidance"
        );
        run(cargo()
            .args(["build", "--release", "--manifest-path"])
            .arg(fuzz.join("Cargo.toml")))?;
    }
    for t in chosen {
        let corpus = fuzz.join("corpus").join(t);
        fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        let seeds = fuzz.join("seeds").join(t);
        let mut dirs: Vec<PathBuf> = vec![corpus];
        if seeds.is_dir() {
            dirs.push(seeds);
        }
        let time = format!("-max_total_time={}", o.secs);
        if nightly {
            run(Command::new("cargo")
                .args(["+nightly", "fuzz", "run", "-O", "-a", t])
                .args(&dirs)
                .args(["--", &time]))?;
        } else {
            // Replay every seed (no generation without coverage).
            run(Command::new(binary(&fuzz, t)).args(&dirs).arg("-runs=0"))?;
        }
        total += o.secs;
    }
    eprintln!("xtask: fuzz: every target built and ran ({total} s of inputs in all)");
    Ok(())
}

fn binary(fuzz: &Path, target: &str) -> PathBuf {
    fuzz.join("target").join("release").join(target)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn every_bin_is_a_target() {
        let m = fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
        let t = targets(&m);
        for want in [
            "metadata",
            "matdesc",
            "instruction_file",
            "decrypt",
            "gcm_differential",
        ] {
            assert!(t.contains(&want.to_string()), "{t:?}");
        }
        // Every target has a source file and committed seeds.
        for name in &t {
            assert!(
                root()
                    .join(format!("fuzz/fuzz_targets/{name}.rs"))
                    .is_file(),
                "{name}"
            );
            assert!(
                root().join(format!("fuzz/seeds/{name}")).is_dir(),
                "{name}: no seeds"
            );
        }
        assert_eq!(
            targets("[package]\nname = \"x\"\n[[bin]]\nname = \"a\"\n[dependencies]\nname = 1\n"),
            vec!["a"]
        );
    }

    #[test]
    fn options() {
        assert_eq!(
            parse(&["--secs", "5", "decrypt"]).unwrap(),
            Options {
                secs: 5,
                only: vec!["decrypt".into()],
                stable_only: false,
            }
        );
        assert!(parse(&["--secs"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }
}

//! `cargo xtask`: project chores.
//!
//! - `cargo xtask ci`: everything CI runs (fmt, clippy, rustdoc with
//!   `-D warnings`, tests, the client's
//!   tests on the RustCrypto backend too, no-std check,
//!   generated vectors up to date, vector check, then `interop`);
//!   `cargo xtask ci --no-interop` skips the last step.
//! - `cargo xtask spec-coverage [--spec DIR] [--write] [--write-index]`: the
//!   spec requirements (MUST lines) cited in code and in tests; fails when
//!   one cited in code has no test (`spec_coverage.rs`,
//!   `docs/spec-coverage.md`).
//!   The chaos soak runs 45 s after the tests (`s3ec-soak`, docs/hardening.md).
//! - `cargo xtask deny`: `cargo deny check licenses bans sources` (installs
//!   cargo-deny when missing; `ci` runs the check when cargo-deny is there).
//! - `cargo xtask no-std`: prove the core builds with neither `std` nor `alloc`.
//! - `cargo xtask vectors check DIR...`: decrypt every interop vector case under
//!   the given folders and print `N passed, M failed, K skipped`.
//! - `cargo xtask vectors generate DIR`: write the project's own vector cases
//!   into `DIR/s3ec-rust/` (deterministic; see `generate.rs`).
//! - `cargo xtask fuzz [--secs N] [TARGET...]`: build every fuzz target and
//!   run each briefly over its seeds (`fuzz.rs`; CI: 15 s each).
//! - `cargo xtask interop [--jobs N] [--peers a,b] [--save-vectors DIR]
//!   [--skip-setup]`: both directions against AWS's Python, Ruby and Go
//!   clients through moto; prints the matrix (see `interop/`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod edge;
mod fuzz;
mod generate;
mod interop;
mod keys;
mod refusal;
mod spec_coverage;
mod vectors;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["ci"] => ci(true),
        ["ci", "--no-interop"] => ci(false),
        ["no-std"] => no_std(),
        ["deny"] => supply_chain(true),
        ["spec-coverage", rest @ ..] => spec_coverage::run(rest),
        ["vectors", "check", dirs @ ..] if !dirs.is_empty() => {
            let dirs: Vec<PathBuf> = dirs.iter().map(PathBuf::from).collect();
            vectors::check(&dirs)
        }
        ["vectors", "generate", dir] => generate::generate(Path::new(dir)),
        ["interop", rest @ ..] => interop::parse(rest).and_then(|o| interop::run(&o)),
        ["fuzz", rest @ ..] => fuzz::parse(rest).and_then(|o| fuzz::run_all(&o)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage:
  cargo xtask ci [--no-interop]       fmt check, clippy, tests, no-std check, vector check, interop
  cargo xtask spec-coverage [--spec DIR] [--write] [--write-index]
                                      spec requirements cited in code and in tests (docs/spec-coverage.md)
  cargo xtask deny                    cargo deny check licenses bans sources (deny.toml)
  cargo xtask no-std                  build the core into a #![no_std] staticlib with no allocator
  cargo xtask vectors check DIR...    decrypt every vector case under DIR... (VECTOR-FORMAT.md layout)
  cargo xtask vectors generate DIR    write the project's own cases into DIR/s3ec-rust/ (deterministic)
  cargo xtask fuzz [--secs N] [TARGET...]
                                      build every fuzz target, replay its seeds, run it N s (default 20)
  cargo xtask interop [--jobs N] [--peers python,ruby,go,go-v4,java3,java4,java-v1] [--save-vectors DIR] [--skip-setup]
                                      s3ec against AWS's Python, Ruby and Go clients through moto, both ways";

/// The workspace root (the parent of this crate's folder).
pub(crate) fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Where the shared folder lives: `S3EC_SHARED_DIR`, else `../shared` beside the root.
pub(crate) fn shared_dir() -> PathBuf {
    std::env::var_os("S3EC_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("..").join("shared"))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Everything CI runs; `interop`: also the live interop suite against
/// AWS's clients (`cargo xtask interop`), last.
/// s3s-fs, the S3 server that checks SigV4 signatures and presigned URLs
/// (`s3ec_testkit::s3s`), debug-built into `target/tools/s3s-fs-test`
/// when missing (a few minutes, once; `scripts/measure-e2e.sh` keeps its
/// own release build in `target/tools` for measurements).
fn s3s_fs_for_tests() -> Result<std::path::PathBuf, String> {
    const VERSION: &str = "0.14.1"; // as scripts/measure-e2e.sh; 0.16+ need Rust 1.96
    let dir = root().join("target/tools/s3s-fs-test");
    let bin = dir.join("bin/s3s-fs");
    let current = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == format!("s3s-fs {VERSION}"));
    if !current {
        run(cargo()
            .args([
                "install",
                "s3s-fs",
                "--version",
                VERSION,
                "--locked",
                "--debug",
            ])
            .args(["--features", "binary", "--root"])
            .arg(&dir))?;
    }
    Ok(bin)
}

fn ci(interop: bool) -> Result<(), String> {
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    // Every spec requirement cited in code is cited by a test too (reads
    // the committed index docs/spec/requirements.tsv; well under a second).
    spec_coverage::run(&[])?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // Every public item documented, every intra-doc link resolving.
    run(cargo()
        .args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    // The tests that need a signature-checking S3 server (presigned PUTs
    // refused by s3s-fs) run, not skip: s3s-fs installed for them and
    // required.
    let s3s_fs = s3s_fs_for_tests()?;
    run(cargo()
        .args(["test", "--workspace"])
        .env("S3EC_S3S_FS", &s3s_fs)
        .env("S3EC_REQUIRE_S3S", "1"))?;
    // The chaos soak, short (`s3ec-hardening`, docs/hardening.md): both
    // clients through the fault proxy against moto for 45 s (about a
    // minute with moto's start; the 10-minute run is `--secs 600`).
    run(cargo().args([
        "run",
        "-p",
        "s3ec-hardening",
        "--bin",
        "s3ec-soak",
        "--",
        "--secs",
        "45",
    ]))?;
    // The client again on s3ec-core's pure-Rust backend (its `aws-lc`
    // feature off): every client test runs on both backends.
    let rustcrypto = [
        "-p",
        "s3ec-client",
        "--no-default-features",
        "--features",
        "async",
    ];
    run(cargo()
        .arg("clippy")
        .args(rustcrypto)
        .args(["--all-targets", "--", "-D", "warnings"]))?;
    run(cargo().arg("test").args(rustcrypto))?;
    // The rsa-crate unwrap (opt-in feature) against AWS-LC and the vectors.
    run(cargo().args(["test", "-p", "s3ec-rsa", "--features", "decrypt"]))?;
    // The C library with RSA wrapping: the C program encrypts under RSA
    // public keys, the AWS-LC keyring reads (~1 min with the build).
    run(cargo().args([
        "test",
        "-p",
        "s3ec-c",
        "--features",
        "rsa",
        "--test",
        "c_program",
    ]))?;
    no_std()?;
    // cargo-deny is not installed by CI (building it took 38 min on the
    // shared, loaded 2-core machine): checked when present.
    supply_chain(false)?;
    // The committed test-vectors/ must be exactly what the generator writes.
    generate::verify(&root().join("test-vectors"))?;
    let shared = shared_dir().join("interop").join("vectors");
    let mut dirs = vec![root().join("test-vectors")];
    if shared.is_dir() {
        dirs.insert(0, shared);
    } else if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false") {
        return Err(format!(
            "{} not found and CI is set: set S3EC_SHARED_DIR to the shared folder",
            shared.display()
        ));
    } else {
        eprintln!(
            "xtask: {} not found: checking the project's own vectors only",
            shared.display()
        );
    }
    vectors::check(&dirs)?;
    // Every fuzz target builds and runs briefly over its seeds (a few
    // minutes, most of it the first build).
    fuzz::run_all(&fuzz::Options {
        secs: 15,
        only: Vec::new(),
        stable_only: true,
    })?;
    if interop {
        // Installs the peers (apt, pip, go build), starts moto, runs both
        // directions and the tampering; a few minutes.
        interop::run(&interop::Options::default())?;
        // The object_store adapter's Parquet files exchanged with AWS's
        // Python client: `cargo test` above skipped it if the peers were
        // not installed yet; now they are, and it must run (~15 s).
        run(cargo()
            .args(["test", "-p", "s3ec-object-store", "--test", "moto"])
            .arg("parquet_with_the_python_client")
            .env("S3EC_REQUIRE_PEERS", "1"))?;
        // The CLI's offline `encrypt` output read by the Python and Ruby
        // peers, and its `rotate` read by every peer (Python, Ruby, Go,
        // go-v4, java3, java4, java-v1; the test starts its own Java
        // servers, those of `interop::run` are stopped by now): ~1 min.
        run(cargo()
            .args(["test", "-p", "s3ec-cli", "--test", "peers"])
            .env("S3EC_REQUIRE_PEERS", "1"))?;
    }
    Ok(())
}

/// `cargo deny check licenses bans sources` (`deny.toml`). When cargo-deny
/// is missing: `install` installs it from crates.io first, else the check is
/// skipped with a note.
fn supply_chain(install: bool) -> Result<(), String> {
    let have = cargo()
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        if !install {
            eprintln!(
                "xtask: cargo-deny not installed: supply-chain check skipped \
                 (`cargo xtask deny` installs it and runs it)"
            );
            return Ok(());
        }
        run(cargo().args(["install", "--locked", "cargo-deny"]))?;
    }
    run(cargo().args(["deny", "check", "licenses", "bans", "sources"]))
}

/// The portable compact AES/GHASH/SHA-2 backends (the smallest firmware).
const COMPACT_RUSTFLAGS: &str = "--cfg aes_backend=\"soft\" --cfg aes_backend_soft=\"compact\" \
     --cfg polyval_backend=\"soft\" --cfg sha2_backend=\"soft\" \
     --cfg sha2_backend_soft=\"compact\"";

fn no_std() -> Result<(), String> {
    let dir = root().join("xtask").join("no-std-check");
    // A staticlib with a #[panic_handler] and no global allocator: if std or
    // alloc creeps into the core or any of its dependencies, this fails to
    // build (duplicate panic handler / missing allocator / missing std).
    // Built twice: the default AES/GHASH backends (CPU kernels picked at run
    // time) and the portable ones alone in their compact forms (the
    // smallest firmware, for a device without crypto instructions); both are
    // measured for the edge budget.
    let mut builds = Vec::new();
    for (name, target, rustflags) in [
        (
            "default backends (AES-NI/VAES + CLMUL + portable)",
            "no-std-check",
            "",
        ),
        (
            "portable compact backends (aes, polyval, sha2: soft; aes, sha2: compact)",
            "no-std-check-soft",
            COMPACT_RUSTFLAGS,
        ),
    ] {
        let target_dir = root().join("target").join(target);
        run(cargo()
            .args(["build", "--release", "--manifest-path"])
            .arg(dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .env("RUSTFLAGS", rustflags))?;
        let lib = target_dir.join("release").join("libs3ec_no_std_check.a");
        builds.push(edge::measure(name, &lib, &target_dir.join("edge"))?);
    }
    // The C library for bare metal: no std, no allocator, its own halting
    // panic handler (std or alloc creeping in fails this build); built
    // like the firmware above (portable compact backends, opt-level s, fat
    // LTO) and measured per C call.
    let c_dir = root().join("target").join("no-std-c");
    run(cargo()
        .args([
            "build",
            "--release",
            "-p",
            "s3ec-c",
            "--no-default-features",
        ])
        .args(["--features", "panic-halt"])
        .args(["--config", "profile.release.panic=\"abort\""])
        .args(["--config", "profile.release.opt-level=\"s\""])
        .args(["--config", "profile.release.lto=\"fat\""])
        .args(["--config", "profile.release.codegen-units=1"])
        .arg("--target-dir")
        .arg(&c_dir)
        .env("RUSTFLAGS", COMPACT_RUSTFLAGS))?;
    eprintln!("xtask: no-std check passed (s3ec-core links into a #![no_std] staticlib without std or alloc; so does s3ec-c)");
    edge::report(&builds)?;
    edge::report_c_abi(
        &c_dir.join("release").join("libs3ec_c.a"),
        &c_dir.join("edge"),
    )
}

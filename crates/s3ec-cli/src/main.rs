//! `s3ec`: the Amazon S3 Encryption Client on the command line.
//!
//! Copy files to and from S3 with client-side encryption (`cp`), list and
//! inspect how objects are protected without decrypting them (`ls`,
//! `inspect`, `audit`), delete them with their instruction files (`rm`),
//! rotate master keys (`rotate`), and encrypt or decrypt offline into a
//! folder (`keygen`, `encrypt`, `decrypt`). A local folder can stand in for
//! S3: `--endpoint-url file:///path` or `S3EC_LOCAL_STORE=/path`.

mod audit;
mod cp;
mod error;
mod inventory;
mod keys;
mod objects;
mod offline;
mod parse;
mod presign;
mod store;

use clap::{Args, Parser, Subcommand};

use crate::error::{CliError, Exit, EXIT_CODES_HELP};
use crate::store::StoreOptions;

const AFTER_HELP: &str = "\
Where objects live:
  s3://BUCKET/KEY goes to AWS S3 (credentials, region and endpoint from the
  usual AWS environment variables and profiles), to any S3-compatible server
  with --endpoint-url http://host:port (add --path-style if it needs it), or
  to a local folder that stands in for S3 with --endpoint-url file:///FOLDER
  or S3EC_LOCAL_STORE=/FOLDER (buckets are sub-folders, bodies are files,
  metadata is in KEY.metadata.json beside them).

Examples:
  s3ec keygen aes --out my.key
  s3ec cp --aes-key-file my.key report.pdf s3://my-bucket/reports/
  s3ec inspect s3://my-bucket/reports/report.pdf
  s3ec cp --aes-key-file my.key s3://my-bucket/reports/report.pdf ./copy.pdf
  s3ec cp --recursive --kms-key-id alias/data ./photos s3://my-bucket/photos/
  s3ec audit --json s3://my-bucket/";

/// Client-side encryption for Amazon S3, compatible with AWS's S3 Encryption
/// Clients (Java, Python, Go, .NET, Ruby, C++, PHP).
#[derive(Debug, Parser)]
#[command(name = "s3ec", version, after_help = format!("{AFTER_HELP}\n\n{EXIT_CODES_HELP}"))]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Args)]
struct Global {
    /// Show what the client does (-v requests, -vv more, -vvv everything);
    /// RUST_LOG overrides
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// No progress bar and no summary lines
    #[arg(short, long, global = true)]
    quiet: bool,
    /// AWS profile of the shared config files
    #[arg(long, global = true, value_name = "NAME")]
    profile: Option<String>,
    /// AWS region
    #[arg(long, global = true, value_name = "REGION")]
    region: Option<String>,
    /// S3 endpoint: http(s)://HOST:PORT of an S3-compatible server, or
    /// file:///FOLDER for the local folder store (default: AWS_ENDPOINT_URL,
    /// S3EC_LOCAL_STORE, then AWS S3)
    #[arg(long, global = true, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Address buckets in the path (http://host/bucket/key) rather than the
    /// host name
    #[arg(long, global = true)]
    path_style: bool,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Copy with encryption: local file or `-` to s3://, s3:// to a local
    /// file or `-` (decrypting, authenticated), or s3:// to s3:// as-is
    Cp(cp::CpArgs),
    /// List objects and how each is protected
    Ls(objects::LsArgs),
    /// Delete objects with their instruction files
    Rm(objects::RmArgs),
    /// Show how an object is protected, without decrypting it
    Inspect(objects::InspectArgs),
    /// Count objects by format, suite and key wrapping; list legacy,
    /// non-committing, unencrypted and unreadable ones
    Audit(audit::AuditArgs),
    /// Move objects to a new master key (re-encrypt the instruction file or
    /// rewrap the metadata envelope)
    Rotate(audit::RotateArgs),
    /// Make a new master key file
    Keygen(offline::KeygenArgs),
    /// Encrypt a file offline into OUT, OUT.metadata.json (and
    /// OUT.instruction), exactly as S3 would store the object
    Encrypt(offline::EncryptArgs),
    /// Decrypt offline what `encrypt` wrote (or an object saved with its
    /// metadata)
    Decrypt(offline::DecryptArgs),
    /// Presign a PUT for a device that encrypted an object itself: its
    /// envelope (checked against the key) and length are signed in
    PresignPut(presign::PresignPutArgs),
}

/// What every command gets.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) store: StoreOptions,
    pub(crate) quiet: bool,
}

impl Ctx {
    /// A progress bar on stderr, only when stderr is a terminal and not
    /// `--quiet`.
    pub(crate) fn progress(
        &self,
        total: Option<u64>,
        what: &str,
    ) -> Option<indicatif::ProgressBar> {
        use std::io::IsTerminal;
        if self.quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = match total {
            Some(t) => indicatif::ProgressBar::new(t),
            None => indicatif::ProgressBar::new_spinner(),
        };
        let style = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .map(|s| s.progress_chars("=> "));
        if let Ok(s) = style {
            bar.set_style(s);
        }
        bar.set_message(what.to_string());
        Some(bar)
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn,aws_config=error",
        1 => "warn,aws_config=error,s3ec=debug,s3ec_cli=debug",
        2 => "info,s3ec=debug,s3ec_cli=debug,aws_config=debug,aws_sdk_kms=debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose > 1)
        .try_init();
}

fn run(cli: Cli) -> Result<(), CliError> {
    let ctx = Ctx {
        store: StoreOptions {
            endpoint_url: cli.global.endpoint_url,
            profile: cli.global.profile,
            region: cli.global.region,
            path_style: cli.global.path_style,
        },
        quiet: cli.global.quiet,
    };
    match cli.cmd {
        Cmd::Cp(a) => cp::run(&ctx, &a),
        Cmd::Ls(a) => objects::ls(&ctx, &a),
        Cmd::Rm(a) => objects::rm(&ctx, &a),
        Cmd::Inspect(a) => objects::inspect(&ctx, &a),
        Cmd::Audit(a) => audit::audit(&ctx, &a),
        Cmd::Rotate(a) => audit::rotate(&ctx, &a),
        Cmd::Keygen(a) => offline::keygen(&a),
        Cmd::Encrypt(a) => offline::encrypt(&ctx, &a),
        Cmd::Decrypt(a) => offline::decrypt(&ctx, &a),
        Cmd::PresignPut(a) => presign::presign_put(&ctx, &a),
    }
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Usage as i32
            } else {
                0
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    init_tracing(cli.global.verbose);
    match run(cli) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("s3ec: error: {e}");
            std::process::exit(e.exit as i32);
        }
    }
}

//! `presign-put`: a URL a device without credentials uploads one object it
//! encrypted itself through, its envelope and length signed in.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use clap::Args;
use serde_json::json;

use crate::error::{CliError, Exit, Result};
use crate::keys::{KeyArgs, PolicyArgs};
use crate::store::{self, S3Url};
use crate::Ctx;

/// `s3ec presign-put`.
#[derive(Debug, Args)]
pub(crate) struct PresignPutArgs {
    #[command(flatten)]
    keys: KeyArgs,
    #[command(flatten)]
    policy: PolicyArgs,
    /// The device's envelope: the object's user metadata as a JSON map
    /// (OUT.metadata.json as `s3ec encrypt` and the s3ec C library write it);
    /// it must open under the given key
    #[arg(long, value_name = "FILE")]
    metadata: PathBuf,
    /// The body's length in bytes (plaintext + 16), signed in too
    #[arg(long, value_name = "BYTES")]
    content_length: Option<u64>,
    /// How long the URL stays valid, in seconds (at most 604800, 7 days)
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    expires_in: u64,
    /// Print {"method","url","headers","expires_at"} as JSON
    #[arg(long)]
    json: bool,
    /// Where the device will upload: s3://BUCKET/KEY
    url: String,
}

pub(crate) fn presign_put(ctx: &Ctx, a: &PresignPutArgs) -> Result<()> {
    let url = S3Url::require(&a.url)?;
    if url.key.is_empty() {
        return Err(CliError::usage("presign-put needs s3://bucket/key"));
    }
    let text = std::fs::read_to_string(&a.metadata)
        .map_err(|e| CliError::from(e).context(format!("{}", a.metadata.display())))?;
    let metadata = s3ec_fs::metadata_from_json(&text).map_err(|m| {
        CliError::new(
            Exit::Usage,
            format!("{}: malformed: {m}", a.metadata.display()),
        )
    })?;
    let ring = a.keys.keyring(&ctx.store, false)?;
    let client = a.policy.client(store::open(&ctx.store)?, ring)?;
    let expires_in = Duration::from_secs(a.expires_in);
    // `--context`: the KMS encryption context the device's envelope must
    // carry, checked as a get checks it (a KMS key only; AES and RSA
    // envelopes carry a material description instead).
    let context = a.keys.context();
    let p = if context.is_empty() {
        client.presign_put(
            &url.bucket,
            &url.key,
            &metadata,
            a.content_length,
            expires_in,
        )?
    } else {
        client.presign_put_with_context(
            &url.bucket,
            &url.key,
            &metadata,
            a.content_length,
            expires_in,
            &context,
        )?
    };
    if a.json {
        let headers: serde_json::Map<String, serde_json::Value> = p
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let expires = p
            .expires_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        println!(
            "{}",
            json!({"method": p.method, "url": p.url, "headers": headers, "expires_at": expires})
        );
    } else {
        println!("{} {}", p.method, p.url);
        for (k, v) in &p.headers {
            println!("{k}: {v}");
        }
    }
    Ok(())
}

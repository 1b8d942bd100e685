//! The main job until the CLI exists: encrypt a file with a fresh local
//! AES-256 master key into the V3 (key-committing) format, show the envelope,
//! decrypt it and check the round trip.
//!
//! ```sh
//! cargo run --release -p s3ec-client --example local_roundtrip -- FILE
//! ```

use std::process::ExitCode;
use std::time::Instant;

use s3ec_client::codec::{self, DecryptPolicy};
use s3ec_core::envelope::Placement;
use s3ec_core::CommitmentPolicy;
use s3ec_keyring::Context;
use s3ec_local::AesKeyring;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local_roundtrip: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: local_roundtrip FILE")?;
    let plaintext = std::fs::read(&path)?;

    let mut master = [0u8; 32];
    getrandom::fill(&mut master).map_err(|e| format!("OS random source: {e}"))?;
    let description = Context::from([("purpose".to_string(), "local roundtrip demo".to_string())]);
    let keyring = AesKeyring::new(&master)?.with_material_description(description);

    // Encrypt: envelope first, then the body through the streaming cipher,
    // 64 KiB at a time, then the tag.
    let started = Instant::now();
    let sealed = codec::seal(
        &keyring,
        CommitmentPolicy::RequireEncryptRequireDecrypt,
        &Context::new(),
        Placement::ObjectMetadata,
        Some(plaintext.len() as u64),
    )?;
    let mut encryptor = sealed.encryptor;
    let mut body = plaintext.clone();
    for chunk in body.chunks_mut(64 * 1024) {
        encryptor.update(chunk)?;
    }
    body.extend_from_slice(&encryptor.finish());
    let encrypt_time = started.elapsed();

    println!(
        "{path}: {} bytes -> {} bytes of ciphertext",
        plaintext.len(),
        body.len()
    );
    println!("object metadata (x-amz-meta-*):");
    for (k, v) in &sealed.object_metadata {
        println!("  {k}: {v}");
    }

    // Decrypt: parse the envelope, unwrap, verify the commitment, then
    // authenticate the whole body before any plaintext is released.
    let started = Instant::now();
    let opened = codec::open_envelope(
        &keyring,
        &sealed.object_metadata,
        None,
        &DecryptPolicy::default(),
        None,
    )?;
    codec::decrypt_body(&opened.key, &mut body)?;
    let decrypt_time = started.elapsed();
    if body != plaintext {
        return Err("round trip mismatch".into());
    }
    println!(
        "format {:?}, suite {:#06x}, wrap {}, key-committing: {}",
        opened.info.format,
        opened.info.suite.id(),
        opened.info.wrap.name(),
        opened.info.key_committing
    );
    println!("round trip ok (encrypt {encrypt_time:.2?}, decrypt {decrypt_time:.2?})");
    Ok(())
}

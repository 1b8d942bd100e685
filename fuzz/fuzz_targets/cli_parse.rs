//! The CLI's text parsers (`crates/s3ec-cli/src/parse.rs`, compiled here by
//! path: `--context`/`--matdesc` `K=V`, `--shard I/N`, inventory CSV lines,
//! AES key files), RSA key files (`RsaKeyring::from_pem`, as `--rsa-key-file`
//! reads them) and the offline `*.metadata.json` (`s3ec_fs::metadata_from_json`,
//! then the envelope read the way `s3ec decrypt` reads it).
//!
//! The first byte picks the parser; the rest is the text (lossy UTF-8).
#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../crates/s3ec-cli/src/parse.rs"]
mod cli_parse;

use arbitrary::Unstructured;
use base64ct::Encoding;
use libfuzzer_sys::fuzz_target;
use s3ec_client::codec::{self, DecryptPolicy, EnvelopeLocation};

fn kv(s: &str) {
    match cli_parse::parse_kv(s) {
        Ok((k, v)) => {
            assert!(!k.is_empty() && !k.contains('='), "{s:?}");
            assert_eq!(format!("{k}={v}"), s);
        }
        Err(_) => assert!(!s.contains('=') || s.starts_with('='), "{s:?}"),
    }
}

fn shard(s: &str) {
    if let Ok((i, n)) = cli_parse::parse_shard(s) {
        assert!(i < n, "{s:?}");
        assert_eq!(cli_parse::parse_shard(&format!("{i}/{n}")), Ok((i, n)));
    }
}

/// RFC 4180 quoting of one field.
fn quote(f: &str) -> String {
    format!("\"{}\"", f.replace('"', "\"\""))
}

fn csv(s: &str, u: &mut Unstructured<'_>) {
    let fields = cli_parse::csv_fields(s);
    assert!(!fields.is_empty());
    // No quotes: a plain split at commas.
    if !s.contains('"') {
        assert_eq!(fields, s.split(',').map(str::to_string).collect::<Vec<_>>());
    }
    // Fields written the way S3 Inventory writes them read back exactly.
    let want: Vec<String> = s.split('\u{1}').map(str::to_string).collect();
    let line: Vec<String> = want
        .iter()
        .map(|f| {
            if u.arbitrary::<bool>().unwrap_or(true) || f.contains([',', '"']) {
                quote(f)
            } else {
                f.clone()
            }
        })
        .collect();
    assert_eq!(cli_parse::csv_fields(&line.join(",")), want, "{line:?}");
}

fn aes_key(s: &str) {
    match cli_parse::aes_key_text(s) {
        Some(key) => {
            // Canonical base64 only: it encodes back to the trimmed text.
            assert_eq!(base64ct::Base64::encode_string(&key), s.trim(), "{s:?}");
            let ring = s3ec_local::AesKeyring::new(&key);
            assert_eq!(ring.is_ok(), matches!(key.len(), 16 | 24 | 32));
        }
        None => assert!(base64ct::Base64::decode_vec(s.trim()).is_err()),
    }
}

fn rsa_key(s: &str) {
    // No panic; what parses is a usable keyring (its Debug prints no key).
    if let Ok(ring) = s3ec_local::RsaKeyring::from_pem(s) {
        let _ = format!("{ring:?}");
    }
}

fn metadata_json(s: &str) {
    let Ok(metadata) = s3ec_fs::metadata_from_json(s) else {
        return;
    };
    // serde_json agrees: an object whose values are all strings.
    let v: serde_json::Value = serde_json::from_str(s).expect("accepted but not JSON");
    let obj = v.as_object().expect("accepted but not an object");
    assert_eq!(obj.len(), metadata.len());
    for (k, val) in &metadata {
        assert_eq!(obj.get(k).and_then(|x| x.as_str()), Some(val.as_str()));
    }
    // The envelope read `s3ec decrypt` does: where the envelope is, then
    // the envelope opened with a fixed key and every legacy mode on. A
    // refusal is fine; a panic or an accepted envelope without a key is not.
    let keyring = s3ec_local::AesKeyring::new(&[7u8; 32]).expect("key");
    let location = codec::needs_instruction_file(&metadata);
    let instruction = match location {
        Ok(EnvelopeLocation::InstructionFile { .. }) => Some("{}"),
        _ => None,
    };
    let _ = codec::open_envelope(
        &keyring,
        &metadata,
        instruction,
        &DecryptPolicy::PERMISSIVE,
        None,
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut u = Unstructured::new(rest);
    match which % 6 {
        0 => kv(&text),
        1 => shard(&text),
        2 => csv(&text, &mut u),
        3 => aes_key(&text),
        4 => rsa_key(&text),
        _ => metadata_json(&text),
    }
});

//! Keyrings for vector cases, from the `key` object of `case.json`.

use base64_decode::decode_b64;
use s3ec_keyring::Keyring;

use crate::vectors::Case;

/// Why no keyring could be built.
pub(crate) enum KeyError {
    /// The case needs something this build cannot do yet.
    Skip(String),
    /// The case's key material is malformed.
    Bad(String),
}

fn field<'a>(key: &'a serde_json::Value, name: &str) -> Result<&'a str, KeyError> {
    key.get(name)
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| KeyError::Bad(format!("key.{name} missing")))
}

/// Build the keyring a case needs.
pub(crate) fn keyring_for(case: &Case) -> Result<Box<dyn Keyring>, KeyError> {
    let kind = field(&case.key, "kind")?;
    match kind {
        "aes" => {
            let key = decode_b64(field(&case.key, "key_b64")?).map_err(KeyError::Bad)?;
            let ring =
                s3ec_local::AesKeyring::new(&key).map_err(|e| KeyError::Bad(e.to_string()))?;
            Ok(Box::new(ring))
        }
        "rsa" => Err(KeyError::Skip("RSA keyring not built yet".into())),
        "kms" => Err(KeyError::Skip("KMS keyring not built yet".into())),
        other => Err(KeyError::Bad(format!(
            "unknown key kind {other:?} ({})",
            case.id
        ))),
    }
}

mod base64_decode {
    use s3ec_core::b64;
    use s3ec_core::MetaKey;

    /// Decode standard padded base64.
    pub(crate) fn decode_b64(s: &str) -> Result<Vec<u8>, String> {
        let mut out = vec![0u8; b64::decoded_len(s) + 3];
        let n = b64::decode(MetaKey::KeyV2, s, &mut out)
            .map_err(|e| format!("bad base64: {e}"))?
            .len();
        out.truncate(n);
        Ok(out)
    }
}

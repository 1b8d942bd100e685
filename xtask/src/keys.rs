//! Keyrings for vector cases, from the `key` object of `case.json`.

use base64_decode::decode_b64;
use s3ec_keyring::Keyring;

use crate::vectors::Case;

/// Why no keyring could be built.
pub(crate) enum KeyError {
    /// The case needs a kind of key this checker does not know.
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
        "rsa" => {
            let pem = field(&case.key, "private_key_pem")?;
            let ring = s3ec_local::RsaKeyring::from_private_key_pem(pem)
                .map_err(|e| KeyError::Bad(e.to_string()))?;
            Ok(Box::new(ring))
        }
        "kms" => {
            // A strict fake KMS: Decrypt returns the recorded data key only
            // for the exact recorded blob and encryption context.
            let key_id = field(&case.key, "key_id")?;
            let data_key = decode_b64(field(&case.key, "data_key_b64")?).map_err(KeyError::Bad)?;
            let blob =
                decode_b64(field(&case.key, "ciphertext_blob_b64")?).map_err(KeyError::Bad)?;
            let context: s3ec_keyring::Context = case
                .key
                .get("kms_encryption_context")
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| KeyError::Bad(format!("kms_encryption_context: {e}")))?
                .unwrap_or_default();
            let kms =
                s3ec_kms::testing::StaticKms::new().with_entry(key_id, &blob, &context, &data_key);
            let ring =
                s3ec_kms::KmsKeyring::new(kms, key_id).map_err(|e| KeyError::Bad(e.to_string()))?;
            Ok(Box::new(ring))
        }
        other => Err(KeyError::Skip(format!(
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

//! PEM unwrapping and the two DER re-wrappings AWS-LC's safe API needs:
//! a PKCS#1 `RSAPrivateKey` (RFC 8017 A.1.2) into a PKCS#8
//! `PrivateKeyInfo` (RFC 5208 §5), and a PKCS#1 `RSAPublicKey` (RFC 8017
//! A.1.1) into an X.509 `SubjectPublicKeyInfo` (RFC 5280 §4.1).
//!
//! Nothing here parses the key itself: the wrappers only prepend a fixed
//! header and a length, and AWS-LC's strict DER parser then validates the
//! whole structure. Every secret buffer is zeroized on drop.

use s3ec_keyring::KeyringError;
use zeroize::Zeroizing;

/// Largest DER key accepted: far above an 8192-bit private key (about 4.8
/// KiB), small enough that lengths fit three DER length octets.
pub(super) const MAX_DER_LEN: usize = 64 * 1024;

/// `AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }`.
const RSA_ALGORITHM_ID: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// The PEM labels this crate understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PemKind {
    /// `PRIVATE KEY`: PKCS#8 `PrivateKeyInfo`.
    Pkcs8Private,
    /// `RSA PRIVATE KEY`: PKCS#1 `RSAPrivateKey`.
    Pkcs1Private,
    /// `PUBLIC KEY`: X.509 `SubjectPublicKeyInfo`.
    SpkiPublic,
    /// `RSA PUBLIC KEY`: PKCS#1 `RSAPublicKey`.
    Pkcs1Public,
}

impl PemKind {
    pub(super) fn is_private(self) -> bool {
        matches!(self, PemKind::Pkcs8Private | PemKind::Pkcs1Private)
    }
}

pub(super) fn invalid(reason: impl Into<String>) -> KeyringError {
    KeyringError::InvalidKey {
        reason: reason.into(),
    }
}

/// Decode one PEM block (RFC 7468) and name its kind. Surrounding
/// whitespace is ignored; encrypted keys and other labels are refused.
pub(super) fn decode_pem(pem: &str) -> Result<(PemKind, Zeroizing<Vec<u8>>), KeyringError> {
    let (label, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
        .map_err(|e| invalid(format!("not a PEM document: {e}")))?;
    let der = Zeroizing::new(der);
    let kind = match label {
        "PRIVATE KEY" => PemKind::Pkcs8Private,
        "RSA PRIVATE KEY" => PemKind::Pkcs1Private,
        "PUBLIC KEY" => PemKind::SpkiPublic,
        "RSA PUBLIC KEY" => PemKind::Pkcs1Public,
        "ENCRYPTED PRIVATE KEY" => {
            return Err(invalid(
                "encrypted PKCS#8 keys are not supported: decrypt the key first",
            ))
        }
        other => {
            return Err(invalid(format!(
                "unsupported PEM label {other:?} (expected PRIVATE KEY, RSA PRIVATE KEY, \
                 PUBLIC KEY or RSA PUBLIC KEY)"
            )))
        }
    };
    Ok((kind, der))
}

/// Append a DER definite length (X.690 §8.1.3).
fn push_len(out: &mut Vec<u8>, len: usize) {
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = &bytes[skip..];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        // At most 8 length octets, so this fits the 7-bit count.
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

fn tlv(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    push_len(out, len);
}

fn len_of_len(len: usize) -> usize {
    let mut v = Vec::new();
    push_len(&mut v, len);
    v.len()
}

/// Wrap a PKCS#1 `RSAPrivateKey` as a PKCS#8 v1 `PrivateKeyInfo`:
///
/// ```text
/// SEQUENCE { INTEGER 0, AlgorithmIdentifier rsaEncryption, OCTET STRING { pkcs1 } }
/// ```
pub(super) fn pkcs1_private_to_pkcs8(pkcs1: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyringError> {
    if pkcs1.len() > MAX_DER_LEN {
        return Err(invalid("key too large"));
    }
    let octet_len = 1 + len_of_len(pkcs1.len()) + pkcs1.len();
    let body_len = 3 + RSA_ALGORITHM_ID.len() + octet_len;
    let mut out = Zeroizing::new(Vec::with_capacity(1 + len_of_len(body_len) + body_len));
    tlv(&mut out, 0x30, body_len);
    out.extend_from_slice(&[0x02, 0x01, 0x00]);
    out.extend_from_slice(&RSA_ALGORITHM_ID);
    tlv(&mut out, 0x04, pkcs1.len());
    out.extend_from_slice(pkcs1);
    Ok(out)
}

/// Wrap a PKCS#1 `RSAPublicKey` as a `SubjectPublicKeyInfo`:
///
/// ```text
/// SEQUENCE { AlgorithmIdentifier rsaEncryption, BIT STRING { 0 unused bits, pkcs1 } }
/// ```
pub(super) fn pkcs1_public_to_spki(pkcs1: &[u8]) -> Result<Vec<u8>, KeyringError> {
    if pkcs1.len() > MAX_DER_LEN {
        return Err(invalid("key too large"));
    }
    let bits_len = 1 + pkcs1.len();
    let body_len = RSA_ALGORITHM_ID.len() + 1 + len_of_len(bits_len) + bits_len;
    let mut out = Vec::with_capacity(1 + len_of_len(body_len) + body_len);
    tlv(&mut out, 0x30, body_len);
    out.extend_from_slice(&RSA_ALGORITHM_ID);
    tlv(&mut out, 0x03, bits_len);
    out.push(0x00);
    out.extend_from_slice(pkcs1);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn der_lengths() {
        for (n, want) in [
            (0usize, vec![0x00]),
            (0x7f, vec![0x7f]),
            (0x80, vec![0x81, 0x80]),
            (0xff, vec![0x81, 0xff]),
            (0x100, vec![0x82, 0x01, 0x00]),
            (0x1_0000, vec![0x83, 0x01, 0x00, 0x00]),
        ] {
            let mut v = Vec::new();
            push_len(&mut v, n);
            assert_eq!(v, want, "{n}");
            assert_eq!(len_of_len(n), want.len());
        }
    }

    #[test]
    fn wrappers_are_well_formed() {
        for n in [0usize, 10, 200, 1200] {
            let inner = vec![0xa5u8; n];
            let p8 = pkcs1_private_to_pkcs8(&inner).unwrap();
            assert_eq!(p8[0], 0x30);
            assert!(p8.ends_with(&inner));
            let spki = pkcs1_public_to_spki(&inner).unwrap();
            assert_eq!(spki[0], 0x30);
            assert!(spki.ends_with(&inner));
        }
        assert!(pkcs1_private_to_pkcs8(&vec![0; MAX_DER_LEN + 1]).is_err());
    }

    #[test]
    fn pem_labels() {
        let enc = pem_rfc7468::encode_string(
            "ENCRYPTED PRIVATE KEY",
            pem_rfc7468::LineEnding::LF,
            &[1, 2, 3],
        )
        .unwrap();
        assert!(matches!(
            decode_pem(&enc),
            Err(KeyringError::InvalidKey { .. })
        ));
        let cert =
            pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &[1, 2, 3])
                .unwrap();
        assert!(decode_pem(&cert).is_err());
        let ok = pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::CRLF, &[1, 2])
            .unwrap();
        let (kind, der) = decode_pem(&format!("\n  {ok}\n")).unwrap();
        assert_eq!(kind, PemKind::SpkiPublic);
        assert_eq!(&der[..], &[1, 2]);
        assert!(decode_pem("-----BEGIN PUBLIC KEY-----\nAAA").is_err());
        assert!(decode_pem("").is_err());
    }
}

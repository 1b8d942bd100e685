//! Algorithm suites, wrapping algorithms, format versions and the key
//! commitment policy.
//!
//! Spec: `framework/algorithm-suites.md`, `s3-encryption/key-commitment.md`,
//! `s3-encryption/data-format/content-metadata.md`.

use crate::error::{Error, Unsupported};

/// A content encryption algorithm suite.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suite {
    /// `0x0070` `ALG_AES_256_CBC_IV16_NO_KDF`: legacy, decrypt only.
    AesCbc,
    /// `0x0072` `ALG_AES_256_GCM_IV12_TAG16_NO_KDF`: V2 format, not key-committing.
    AesGcm,
    /// `0x0073` `ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY`: V3 format, key-committing.
    AesGcmCommitting,
}

/// GCM's plaintext limit per key and IV: 2^36 - 32 bytes (NIST SP 800-38D).
pub const GCM_MAX_PLAINTEXT_LEN: u64 = (1 << 36) - 32;
/// GCM tag length in bytes.
pub const TAG_LEN: usize = 16;
/// Length of the V3 message id and of the key commitment, in bytes.
pub const MESSAGE_ID_LEN: usize = 28;
/// Length of the V3 key commitment, in bytes.
pub const COMMITMENT_LEN: usize = 28;
/// The fixed IV of the committing suite: twelve `0x01` bytes
/// (spec `key-derivation.md#hkdf-operation/11`).
pub const COMMITTING_IV: [u8; 12] = [0x01; 12];

impl Suite {
    /// The suite id (`0x0070`, `0x0072`, `0x0073`).
    pub const fn id(self) -> u16 {
        match self {
            Suite::AesCbc => 0x0070,
            Suite::AesGcm => 0x0072,
            Suite::AesGcmCommitting => 0x0073,
        }
    }

    /// The suite id as big-endian bytes (the committing suite's AAD and HKDF
    /// info prefix).
    pub const fn id_bytes(self) -> [u8; 2] {
        self.id().to_be_bytes()
    }

    /// Look a suite up by id.
    pub const fn from_id(id: u16) -> Option<Suite> {
        match id {
            0x0070 => Some(Suite::AesCbc),
            0x0072 => Some(Suite::AesGcm),
            0x0073 => Some(Suite::AesGcmCommitting),
            _ => None,
        }
    }

    /// The content cipher name as stored: `x-amz-cek-alg` for V1/V2
    /// (`AES/CBC/PKCS5Padding`, `AES/GCM/NoPadding`) or `x-amz-c` for V3
    /// (`115`). The same string is bound into the key wrap (KMS context
    /// `aws:x-amz-cek-alg`, AES/GCM wrap AAD, RSA pseudo data key).
    pub const fn cek_alg(self) -> &'static str {
        match self {
            Suite::AesCbc => "AES/CBC/PKCS5Padding",
            Suite::AesGcm => "AES/GCM/NoPadding",
            Suite::AesGcmCommitting => "115",
        }
    }

    /// Parse a V1/V2 `x-amz-cek-alg` value. `AES/CBC/PKCS7Padding` is
    /// accepted as a synonym (Ruby reads it). CTR is never accepted from
    /// metadata (CVE-2020-8912).
    pub fn from_cek_alg(s: &str) -> Option<Suite> {
        match s {
            "AES/GCM/NoPadding" => Some(Suite::AesGcm),
            "AES/CBC/PKCS5Padding" | "AES/CBC/PKCS7Padding" => Some(Suite::AesCbc),
            _ => None,
        }
    }

    /// Parse a V3 `x-amz-c` value (only `115` exists).
    pub fn from_v3_content_cipher(s: &str) -> Option<Suite> {
        match s {
            "115" => Some(Suite::AesGcmCommitting),
            _ => None,
        }
    }

    /// IV length stored in `x-amz-iv` (16 for CBC, 12 for GCM; the V3 IV is
    /// fixed and not stored).
    pub const fn iv_len(self) -> usize {
        match self {
            Suite::AesCbc => 16,
            Suite::AesGcm | Suite::AesGcmCommitting => 12,
        }
    }

    /// Whether this suite authenticates the content with a GCM tag.
    pub const fn is_authenticated(self) -> bool {
        !matches!(self, Suite::AesCbc)
    }

    /// Whether this suite commits to its data key.
    pub const fn is_committing(self) -> bool {
        matches!(self, Suite::AesGcmCommitting)
    }

    /// Whether this suite is legacy (decrypt only, behind the legacy
    /// unauthenticated-modes option).
    pub const fn is_legacy(self) -> bool {
        matches!(self, Suite::AesCbc)
    }

    /// The format version this suite is written in.
    pub const fn format(self) -> FormatVersion {
        match self {
            Suite::AesCbc => FormatVersion::V1,
            Suite::AesGcm => FormatVersion::V2,
            Suite::AesGcmCommitting => FormatVersion::V3,
        }
    }

    /// The AAD of the content cipher: none for V2
    /// (`encryption.md#alg_aes_256_gcm_iv12_tag16_no_kdf/2`), the suite id
    /// bytes for the committing suite (`key-derivation.md#hkdf-operation/14`).
    pub const fn content_aad(self) -> &'static [u8] {
        match self {
            Suite::AesGcmCommitting => &[0x00, 0x73],
            _ => &[],
        }
    }

    /// Check that this suite may be used to encrypt.
    pub const fn check_encrypt(self) -> Result<(), Error> {
        if self.is_legacy() {
            Err(Error::Unsupported(Unsupported::LegacySuiteEncrypt))
        } else {
            Ok(())
        }
    }
}

/// Content-metadata format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FormatVersion {
    /// V1: `x-amz-key`, CBC content, legacy wraps.
    V1,
    /// V2: `x-amz-key-v2`, `x-amz-wrap-alg`, `x-amz-cek-alg`.
    V2,
    /// V3: compressed keys, key commitment.
    V3,
}

/// A key-wrapping algorithm, as named in `x-amz-wrap-alg` / `x-amz-w`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrapAlg {
    /// `kms+context` (V3 `12`): KMS with the encryption context bound.
    KmsContext,
    /// `AES/GCM` (V3 `02`): raw AES key, AES-GCM wrap.
    AesGcm,
    /// `RSA-OAEP-SHA1` (V3 `22`): raw RSA key pair, OAEP with SHA-1.
    RsaOaepSha1,
    /// `kms`: legacy KMS wrap (unwrap only).
    Kms,
    /// `AESWrap`: legacy RFC 3394 key wrap (unwrap only).
    AesWrap,
    /// `RSA/ECB/OAEPWithSHA-256AndMGF1Padding`: legacy (unwrap only).
    RsaOaepSha256,
    /// V1 `AES`: AES-ECB with PKCS#7 padding, no stored name (unwrap only).
    AesEcb,
    /// V1 `RSA`: RSA PKCS#1 v1.5, no stored name (unwrap only).
    RsaPkcs1,
}

impl WrapAlg {
    /// The full name as stored in V2 `x-amz-wrap-alg` (and used internally for V3).
    pub const fn name(self) -> &'static str {
        match self {
            WrapAlg::KmsContext => "kms+context",
            WrapAlg::AesGcm => "AES/GCM",
            WrapAlg::RsaOaepSha1 => "RSA-OAEP-SHA1",
            WrapAlg::Kms => "kms",
            WrapAlg::AesWrap => "AESWrap",
            WrapAlg::RsaOaepSha256 => "RSA/ECB/OAEPWithSHA-256AndMGF1Padding",
            WrapAlg::AesEcb => "AES",
            WrapAlg::RsaPkcs1 => "RSA",
        }
    }

    /// Parse a V2 `x-amz-wrap-alg` value.
    pub fn from_name(s: &str) -> Option<WrapAlg> {
        match s {
            "kms+context" => Some(WrapAlg::KmsContext),
            "AES/GCM" => Some(WrapAlg::AesGcm),
            "RSA-OAEP-SHA1" => Some(WrapAlg::RsaOaepSha1),
            "kms" => Some(WrapAlg::Kms),
            "AESWrap" => Some(WrapAlg::AesWrap),
            "RSA/ECB/OAEPWithSHA-256AndMGF1Padding" => Some(WrapAlg::RsaOaepSha256),
            _ => None,
        }
    }

    /// The V3 compressed code (`x-amz-w`), for the wraps V3 allows.
    pub const fn v3_code(self) -> Option<&'static str> {
        match self {
            WrapAlg::AesGcm => Some("02"),
            WrapAlg::KmsContext => Some("12"),
            WrapAlg::RsaOaepSha1 => Some("22"),
            _ => None,
        }
    }

    /// Parse a V3 `x-amz-w` code. Unknown codes (including Ruby's reserved
    /// `01`, `11`, `21`) are rejected.
    pub fn from_v3_code(s: &str) -> Option<WrapAlg> {
        match s {
            "02" => Some(WrapAlg::AesGcm),
            "12" => Some(WrapAlg::KmsContext),
            "22" => Some(WrapAlg::RsaOaepSha1),
            _ => None,
        }
    }

    /// Whether this wrap is legacy (unwrap only, behind the legacy
    /// wrapping-algorithms option).
    pub const fn is_legacy(self) -> bool {
        // spec: materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/6 (kms+context, like AES/GCM and RSA-OAEP-SHA1, is not legacy)
        !matches!(
            self,
            WrapAlg::KmsContext | WrapAlg::AesGcm | WrapAlg::RsaOaepSha1
        )
    }

    /// Whether the stored map is a KMS encryption context (as opposed to a
    /// material description).
    pub const fn is_kms(self) -> bool {
        matches!(self, WrapAlg::KmsContext | WrapAlg::Kms)
    }

    /// Check that this wrap may be used to encrypt.
    pub const fn check_encrypt(self) -> Result<(), Error> {
        if self.is_legacy() {
            Err(Error::Unsupported(Unsupported::LegacyWrapEncrypt))
        } else {
            Ok(())
        }
    }
}

/// The key commitment policy (spec `key-commitment.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CommitmentPolicy {
    /// Encrypt without commitment (V2), decrypt anything.
    ForbidEncryptAllowDecrypt,
    /// Encrypt with commitment (V3), decrypt anything.
    RequireEncryptAllowDecrypt,
    /// Encrypt with commitment (V3), decrypt only committing objects. The default.
    #[default]
    RequireEncryptRequireDecrypt,
}

impl CommitmentPolicy {
    /// The suite this policy encrypts with.
    pub const fn encrypt_suite(self) -> Suite {
        match self {
            // spec: key-commitment.md#commitment-policy/1 (FORBID encrypts with 0x0072 only)
            CommitmentPolicy::ForbidEncryptAllowDecrypt => Suite::AesGcm,
            // spec: key-commitment.md#commitment-policy/3 key-commitment.md#commitment-policy/5 (the REQUIRE_ENCRYPT policies encrypt with 0x0073)
            _ => Suite::AesGcmCommitting,
        }
    }

    /// Whether an object of this suite may be decrypted under this policy
    /// (`decryption.md`: the suite MUST be validated against the policy
    /// before decrypting).
    pub const fn allows_decrypt(self, suite: Suite) -> bool {
        match self {
            // spec: key-commitment.md#commitment-policy/6 (REQUIRE_DECRYPT reads committing suites only)
            CommitmentPolicy::RequireEncryptRequireDecrypt => suite.is_committing(),
            // spec: key-commitment.md#commitment-policy/2 key-commitment.md#commitment-policy/4 (the ALLOW_DECRYPT policies read every suite)
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_and_names_round_trip() {
        for s in [Suite::AesCbc, Suite::AesGcm, Suite::AesGcmCommitting] {
            assert_eq!(Suite::from_id(s.id()), Some(s));
        }
        assert_eq!(Suite::AesGcmCommitting.id_bytes(), [0x00, 0x73]);
        assert_eq!(Suite::from_cek_alg("AES/CTR/NoPadding"), None);
        assert_eq!(
            Suite::from_cek_alg("AES/CBC/PKCS7Padding"),
            Some(Suite::AesCbc)
        );
        for w in [
            WrapAlg::KmsContext,
            WrapAlg::AesGcm,
            WrapAlg::RsaOaepSha1,
            WrapAlg::Kms,
            WrapAlg::AesWrap,
            WrapAlg::RsaOaepSha256,
        ] {
            assert_eq!(WrapAlg::from_name(w.name()), Some(w));
            if let Some(c) = w.v3_code() {
                assert_eq!(WrapAlg::from_v3_code(c), Some(w));
            }
        }
        for reserved in ["01", "11", "21", "2", ""] {
            assert_eq!(WrapAlg::from_v3_code(reserved), None);
        }
    }

    #[test]
    fn policy() {
        let p = CommitmentPolicy::default();
        assert!(!p.allows_decrypt(Suite::AesGcm));
        assert!(p.allows_decrypt(Suite::AesGcmCommitting));
        assert_eq!(
            CommitmentPolicy::ForbidEncryptAllowDecrypt.encrypt_suite(),
            Suite::AesGcm
        );
        assert!(Suite::AesCbc.check_encrypt().is_err());
        assert!(WrapAlg::Kms.check_encrypt().is_err());
    }

    /// Each policy's encrypt suite and the suites it reads; every row
    /// fails if its arm of `encrypt_suite` / `allows_decrypt` changes.
    #[test]
    fn policy_table() {
        use CommitmentPolicy::*;
        // spec: key-commitment.md#commitment-policy/1-6
        let all = [Suite::AesCbc, Suite::AesGcm, Suite::AesGcmCommitting];
        assert_eq!(ForbidEncryptAllowDecrypt.encrypt_suite(), Suite::AesGcm);
        assert!(!ForbidEncryptAllowDecrypt.encrypt_suite().is_committing());
        assert!(all
            .iter()
            .all(|s| ForbidEncryptAllowDecrypt.allows_decrypt(*s)));
        for p in [RequireEncryptAllowDecrypt, RequireEncryptRequireDecrypt] {
            assert_eq!(p.encrypt_suite(), Suite::AesGcmCommitting);
        }
        assert!(all
            .iter()
            .all(|s| RequireEncryptAllowDecrypt.allows_decrypt(*s)));
        assert!(!RequireEncryptRequireDecrypt.allows_decrypt(Suite::AesCbc));
        assert!(!RequireEncryptRequireDecrypt.allows_decrypt(Suite::AesGcm));
        assert!(RequireEncryptRequireDecrypt.allows_decrypt(Suite::AesGcmCommitting));
    }

    /// Which wraps are legacy: the fully supported ones (kms+context among
    /// them) encrypt and decrypt with the legacy switches off.
    #[test]
    fn wrap_legacy_classes() {
        // spec: materials/s3-kms-keyring.md#supported-wrapping-algorithm-modes/6
        for w in [WrapAlg::KmsContext, WrapAlg::AesGcm, WrapAlg::RsaOaepSha1] {
            assert!(!w.is_legacy(), "{w:?}");
            assert!(w.check_encrypt().is_ok(), "{w:?}");
        }
        for w in [
            WrapAlg::Kms,
            WrapAlg::AesWrap,
            WrapAlg::RsaOaepSha256,
            WrapAlg::AesEcb,
            WrapAlg::RsaPkcs1,
        ] {
            assert!(w.is_legacy(), "{w:?}");
            assert!(w.check_encrypt().is_err(), "{w:?}");
        }
    }
}

//! The content-metadata map keys ("mapkeys") of every format version.
//!
//! Keys are given without the `x-amz-meta-` HTTP prefix (spec
//! `data-format/content-metadata.md`, "Content Metadata MapKeys": the prefix
//! MUST NOT be included in implementation code). S3 lower-cases user metadata
//! keys; [`MetaKey::parse`] matches case-insensitively.

use core::fmt;

/// One S3EC content-metadata key.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetaKey {
    /// `x-amz-key`: V1 encrypted data key.
    KeyV1,
    /// `x-amz-key-v2`: V2 encrypted data key.
    KeyV2,
    /// `x-amz-iv`: V1/V2 content IV.
    Iv,
    /// `x-amz-matdesc`: V1/V2 material description or encryption context.
    MatDesc,
    /// `x-amz-wrap-alg`: V2 wrapping algorithm.
    WrapAlg,
    /// `x-amz-cek-alg`: V2 content cipher.
    CekAlg,
    /// `x-amz-tag-len`: V2 GCM tag length in bits.
    TagLen,
    /// `x-amz-unencrypted-content-length`: plaintext length (neutral).
    UnencryptedContentLength,
    /// `x-amz-c`: V3 content cipher (`115`).
    ContentCipherV3,
    /// `x-amz-3`: V3 encrypted data key.
    KeyV3,
    /// `x-amz-w`: V3 compressed wrapping algorithm.
    WrapAlgV3,
    /// `x-amz-m`: V3 material description.
    MatDescV3,
    /// `x-amz-t`: V3 encryption context.
    EncryptionContextV3,
    /// `x-amz-d`: V3 key commitment.
    KeyCommitmentV3,
    /// `x-amz-i`: V3 message id.
    MessageIdV3,
    /// `x-amz-crypto-instr-file`: marks an instruction-file object (neutral).
    InstructionFileMarker,
}

impl MetaKey {
    /// Every key, in a fixed order.
    pub const ALL: [MetaKey; 16] = [
        MetaKey::KeyV1,
        MetaKey::KeyV2,
        MetaKey::Iv,
        MetaKey::MatDesc,
        MetaKey::WrapAlg,
        MetaKey::CekAlg,
        MetaKey::TagLen,
        MetaKey::UnencryptedContentLength,
        MetaKey::ContentCipherV3,
        MetaKey::KeyV3,
        MetaKey::WrapAlgV3,
        MetaKey::MatDescV3,
        MetaKey::EncryptionContextV3,
        MetaKey::KeyCommitmentV3,
        MetaKey::MessageIdV3,
        MetaKey::InstructionFileMarker,
    ];

    /// The key as stored (lower case, without the `x-amz-meta-` prefix).
    // spec: data-format/content-metadata.md#content-metadata-mapkeys/1-2 (x-amz- names, never with x-amz-meta-)
    pub const fn as_str(self) -> &'static str {
        match self {
            MetaKey::KeyV1 => "x-amz-key",
            MetaKey::KeyV2 => "x-amz-key-v2",
            MetaKey::Iv => "x-amz-iv",
            MetaKey::MatDesc => "x-amz-matdesc",
            MetaKey::WrapAlg => "x-amz-wrap-alg",
            MetaKey::CekAlg => "x-amz-cek-alg",
            MetaKey::TagLen => "x-amz-tag-len",
            MetaKey::UnencryptedContentLength => "x-amz-unencrypted-content-length",
            MetaKey::ContentCipherV3 => "x-amz-c",
            MetaKey::KeyV3 => "x-amz-3",
            MetaKey::WrapAlgV3 => "x-amz-w",
            MetaKey::MatDescV3 => "x-amz-m",
            MetaKey::EncryptionContextV3 => "x-amz-t",
            MetaKey::KeyCommitmentV3 => "x-amz-d",
            MetaKey::MessageIdV3 => "x-amz-i",
            MetaKey::InstructionFileMarker => "x-amz-crypto-instr-file",
        }
    }

    /// Recognise a key, ASCII case-insensitively. Returns `None` for keys
    /// that are not S3EC keys (other user metadata).
    pub fn parse(key: &str) -> Option<MetaKey> {
        MetaKey::ALL
            .iter()
            .copied()
            .find(|k| k.as_str().eq_ignore_ascii_case(key))
    }

    /// Keys that carry an encrypted data key; at most one may be present.
    pub const fn is_edk(self) -> bool {
        matches!(self, MetaKey::KeyV1 | MetaKey::KeyV2 | MetaKey::KeyV3)
    }

    /// Keys that belong only to the V1/V2 formats.
    pub const fn is_v1_v2_only(self) -> bool {
        matches!(
            self,
            MetaKey::KeyV1
                | MetaKey::KeyV2
                | MetaKey::Iv
                | MetaKey::MatDesc
                | MetaKey::WrapAlg
                | MetaKey::CekAlg
                | MetaKey::TagLen
        )
    }

    /// Keys that belong only to the V3 format.
    pub const fn is_v3_only(self) -> bool {
        matches!(
            self,
            MetaKey::ContentCipherV3
                | MetaKey::KeyV3
                | MetaKey::WrapAlgV3
                | MetaKey::MatDescV3
                | MetaKey::EncryptionContextV3
                | MetaKey::KeyCommitmentV3
                | MetaKey::MessageIdV3
        )
    }

    /// V3 keys that MUST be stored only in object metadata, never in an
    /// instruction file (spec `data-format/metadata-strategy.md`, V3
    /// instruction files).
    pub const fn is_v3_object_only(self) -> bool {
        matches!(
            self,
            MetaKey::ContentCipherV3 | MetaKey::KeyCommitmentV3 | MetaKey::MessageIdV3
        )
    }
}

impl fmt::Display for MetaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parse_is_case_insensitive_and_round_trips() {
        for k in MetaKey::ALL {
            assert_eq!(MetaKey::parse(k.as_str()), Some(k));
            let mut upper = [0u8; 64];
            let s = k.as_str().as_bytes();
            for (d, c) in upper.iter_mut().zip(s) {
                *d = c.to_ascii_uppercase();
            }
            let upper = core::str::from_utf8(&upper[..s.len()]).unwrap();
            assert_eq!(MetaKey::parse(upper), Some(k));
        }
        assert_eq!(MetaKey::parse("X-Amz-Key-V2"), Some(MetaKey::KeyV2));
        assert_eq!(MetaKey::parse("x-amz-meta-x-amz-key"), None);
        assert_eq!(MetaKey::parse("content-type"), None);
    }
}

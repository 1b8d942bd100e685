//! Unit tests of the envelope: detection, parsing, emission.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::ToOwned;
use std::string::String;
use std::vec::Vec;

use super::*;
use crate::arena::Arena;
use crate::error::{Error, FormatError, InputError, JsonError, Unsupported};
use crate::keys::MetaKey;
use crate::matdesc::MatDesc;
use crate::suite::{FormatVersion, Suite, WrapAlg};

fn b64(bytes: &[u8]) -> String {
    let mut buf = vec![0u8; crate::b64::encoded_len(bytes.len())];
    crate::b64::encode(bytes, &mut buf).unwrap().to_owned()
}

type Md = Vec<(String, String)>;

fn md(pairs: &[(&str, &str)]) -> Md {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn set(m: &mut Md, k: &str, v: &str) {
    m.retain(|(key, _)| key != k);
    m.push((k.to_owned(), v.to_owned()));
}

fn without(m: &Md, k: &str) -> Md {
    m.iter().filter(|(key, _)| key != k).cloned().collect()
}

fn with(m: &Md, k: &str, v: &str) -> Md {
    let mut m = m.clone();
    set(&mut m, k, v);
    m
}

fn v1() -> Md {
    let mut m = md(&[
        ("x-amz-matdesc", "{}"),
        ("x-amz-unencrypted-content-length", "5"),
    ]);
    set(&mut m, "x-amz-key", &b64(&[7; 48]));
    set(&mut m, "x-amz-iv", &b64(&[9; 16]));
    m
}

fn v2() -> Md {
    let mut m = md(&[
        ("x-amz-matdesc", r#"{"a":"b"}"#),
        ("x-amz-wrap-alg", "AES/GCM"),
        ("x-amz-cek-alg", "AES/GCM/NoPadding"),
        ("x-amz-tag-len", "128"),
    ]);
    set(&mut m, "x-amz-key-v2", &b64(&[7; 60]));
    set(&mut m, "x-amz-iv", &b64(&[9; 12]));
    m
}

fn v3() -> Md {
    let mut m = md(&[
        ("x-amz-c", "115"),
        ("x-amz-w", "02"),
        ("x-amz-m", r#"{"a":"b"}"#),
    ]);
    set(&mut m, "x-amz-3", &b64(&[7; 60]));
    set(&mut m, "x-amz-d", &b64(&[1; 28]));
    set(&mut m, "x-amz-i", &b64(&[2; 28]));
    m
}

fn with_env<R>(m: &Md, file: Option<&str>, f: impl FnOnce(Result<Envelope<'_>, Error>) -> R) -> R {
    let pairs: Vec<(&str, &str)> = m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut buf = vec![0u8; 16384];
    let mut arena = Arena::new(&mut buf);
    f(Envelope::parse(pairs.iter().copied(), file, &mut arena))
}

fn ok(m: &Md, file: Option<&str>) {
    with_env(m, file, |r| {
        r.unwrap();
    })
}

fn err(m: &Md, file: Option<&str>) -> Error {
    with_env(m, file, |r| match r {
        Ok(e) => panic!("expected an error, parsed {e:?}"),
        Err(e) => e,
    })
}

fn fe(e: FormatError) -> Error {
    Error::Format(e)
}

fn detect_md(m: &Md) -> Result<Detected, Error> {
    detect(m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// An instruction-file body holding the pairs as JSON strings.
fn file_of(m: &Md) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let mut w = String::new();
        crate::json::write_str(&mut w, k).unwrap();
        s.push_str(&w);
        s.push(':');
        let mut w = String::new();
        crate::json::write_str(&mut w, v).unwrap();
        s.push_str(&w);
    }
    s.push('}');
    s
}

// ---------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------

#[test]
fn v1_parses_and_infers_wrap() {
    // spec: data-format/content-metadata.md#determining-s3ec-object-status/1
    assert_eq!(detect_md(&v1()), Ok(Detected::Complete(FormatVersion::V1)));
    with_env(&v1(), None, |r| {
        let e = r.unwrap();
        assert_eq!(e.format(), FormatVersion::V1);
        assert_eq!(e.suite(), Suite::AesCbc);
        assert_eq!(e.wrap(), WrapAlg::AesEcb);
        assert_eq!(e.cek_alg(), "AES/CBC/PKCS5Padding");
        assert_eq!(e.iv(), Some(&[9u8; 16][..]));
        assert_eq!(e.content_iv(), &[9u8; 16][..]);
        assert_eq!(e.message_id(), None);
        assert_eq!(e.key_commitment(), None);
        assert_eq!(e.tag_len_bits(), None);
        assert_eq!(e.unencrypted_content_length(), Some(5));
        assert!(e.matdesc().is_empty());
        assert_eq!(e.placement(), Placement::ObjectMetadata);
    });
    let rsa = with(&v1(), "x-amz-key", &b64(&[7; 256]));
    with_env(&rsa, None, |r| {
        assert_eq!(r.unwrap().wrap(), WrapAlg::RsaPkcs1)
    });
    let edge = with(&v1(), "x-amz-key", &b64(&[7; 49]));
    with_env(&edge, None, |r| {
        assert_eq!(r.unwrap().wrap(), WrapAlg::RsaPkcs1)
    });
    // An optional CBC cek-alg is accepted and kept; tag-len is ignored.
    let m = with(
        &with(&v1(), "x-amz-cek-alg", "AES/CBC/PKCS7Padding"),
        "x-amz-tag-len",
        "0",
    );
    with_env(&m, None, |r| {
        assert_eq!(r.unwrap().cek_alg(), "AES/CBC/PKCS7Padding")
    });
}

#[test]
fn v2_parses() {
    // spec: data-format/content-metadata.md#determining-s3ec-object-status/2
    assert_eq!(detect_md(&v2()), Ok(Detected::Complete(FormatVersion::V2)));
    with_env(&v2(), None, |r| {
        let e = r.unwrap();
        assert_eq!(e.format(), FormatVersion::V2);
        assert_eq!(e.suite(), Suite::AesGcm);
        assert_eq!(e.wrap(), WrapAlg::AesGcm);
        assert_eq!(e.encrypted_data_key(), &[7u8; 60][..]);
        assert_eq!(e.iv(), Some(&[9u8; 12][..]));
        assert_eq!(e.cek_alg(), "AES/GCM/NoPadding");
        assert_eq!(e.tag_len_bits(), Some(128));
        assert_eq!(e.unencrypted_content_length(), None);
        assert!(e.matdesc().get("a").unwrap().eq_str("b"));
    });
}

#[test]
fn v2_legacy_wraps_and_cbc() {
    for wrap in [
        "kms",
        "AESWrap",
        "RSA/ECB/OAEPWithSHA-256AndMGF1Padding",
        "kms+context",
    ] {
        let m = with(&v2(), "x-amz-wrap-alg", wrap);
        let m = if wrap == "kms+context" {
            with(
                &m,
                "x-amz-matdesc",
                r#"{"aws:x-amz-cek-alg":"AES/GCM/NoPadding"}"#,
            )
        } else {
            m
        };
        ok(&m, None);
    }
    // CBC content exists with kms and AESWrap only.
    let cbc = with(
        &with(&v2(), "x-amz-cek-alg", "AES/CBC/PKCS5Padding"),
        "x-amz-iv",
        &b64(&[9; 16]),
    );
    // C++ writes tag-len 0 on CBC, Go writes "": ignored.
    let cbc = with(&cbc, "x-amz-tag-len", "0");
    for wrap in ["kms", "AESWrap"] {
        with_env(&with(&cbc, "x-amz-wrap-alg", wrap), None, |r| {
            let e = r.unwrap();
            assert_eq!(e.suite(), Suite::AesCbc);
            assert_eq!(e.tag_len_bits(), None);
        });
    }
    ok(
        &with(&with(&cbc, "x-amz-wrap-alg", "kms"), "x-amz-tag-len", ""),
        None,
    );
    ok(
        &without(&with(&cbc, "x-amz-wrap-alg", "kms"), "x-amz-tag-len"),
        None,
    );
    for wrap in [
        "kms+context",
        "AES/GCM",
        "RSA-OAEP-SHA1",
        "RSA/ECB/OAEPWithSHA-256AndMGF1Padding",
    ] {
        assert_eq!(
            err(&with(&cbc, "x-amz-wrap-alg", wrap), None),
            fe(FormatError::InvalidCombination),
            "{wrap}"
        );
    }
}

#[test]
fn v2_kms_relabel_rejected() {
    // Errata E1: legacy kms with aws:x-amz-cek-alg in its context.
    let m = with(
        &with(&v2(), "x-amz-wrap-alg", "kms"),
        "x-amz-matdesc",
        r#"{"aws:x-amz-cek-alg":"AES/GCM/NoPadding"}"#,
    );
    assert_eq!(err(&m, None), fe(FormatError::InvalidCombination));
    // kms with kms_cmk_id (and Go's extra entries) is fine.
    let m = with(
        &with(&v2(), "x-amz-wrap-alg", "kms"),
        "x-amz-matdesc",
        r#"{"kms_cmk_id":"k","project":"p"}"#,
    );
    ok(&m, None);
}

#[test]
fn v2_matdesc_absent_is_empty() {
    with_env(&without(&v2(), "x-amz-matdesc"), None, |r| {
        assert!(r.unwrap().matdesc().is_empty())
    });
    with_env(&with(&v2(), "x-amz-matdesc", ""), None, |r| {
        assert!(r.unwrap().matdesc().is_empty())
    });
}

#[test]
fn v3_parses() {
    // spec: data-format/content-metadata.md#determining-s3ec-object-status/3 data-format/content-metadata.md#v3-only/1-4
    assert_eq!(detect_md(&v3()), Ok(Detected::Complete(FormatVersion::V3)));
    with_env(&v3(), None, |r| {
        let e = r.unwrap();
        assert_eq!(e.format(), FormatVersion::V3);
        assert_eq!(e.suite(), Suite::AesGcmCommitting);
        assert_eq!(e.wrap(), WrapAlg::AesGcm);
        assert_eq!(e.cek_alg(), "115");
        assert_eq!(e.iv(), None);
        assert_eq!(e.content_iv(), &crate::suite::COMMITTING_IV[..]);
        assert_eq!(e.message_id(), Some(&[2u8; 28]));
        assert_eq!(e.key_commitment(), Some(&[1u8; 28]));
        assert_eq!(e.tag_len_bits(), None);
        assert!(e.matdesc().get("a").unwrap().eq_str("b"));
    });
    // 12 reads x-amz-t and ignores x-amz-m.
    let kms = with(
        &with(&v3(), "x-amz-w", "12"),
        "x-amz-t",
        r#"{"aws:x-amz-cek-alg": "115", "t": "1"}"#,
    );
    with_env(&kms, None, |r| {
        let e = r.unwrap();
        assert_eq!(e.wrap(), WrapAlg::KmsContext);
        assert_eq!(e.matdesc().len(), 2);
        assert!(e.matdesc().get("a").is_none());
    });
    // 22 reads x-amz-m and ignores x-amz-t.
    let rsa = with(&with(&v3(), "x-amz-w", "22"), "x-amz-t", r#"{"x":"y"}"#);
    with_env(&rsa, None, |r| {
        let e = r.unwrap();
        assert_eq!(e.wrap(), WrapAlg::RsaOaepSha1);
        assert!(e.matdesc().get("a").is_some());
    });
    // Absent maps are {}.
    with_env(&without(&v3(), "x-amz-m"), None, |r| {
        assert!(r.unwrap().matdesc().is_empty())
    });
    with_env(&without(&kms, "x-amz-t"), None, |r| {
        assert!(r.unwrap().matdesc().is_empty())
    });
}

#[test]
fn uppercase_keys_and_unrelated_keys() {
    let m: Md = v2()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_uppercase(), v))
        .chain([("content-type".to_owned(), "x".to_owned())])
        .collect();
    ok(&m, None);
    let go = with(
        &without(&v2(), "x-amz-key-v2"),
        "X-Amz-Key-V2",
        &b64(&[1; 40]),
    );
    ok(&go, None);
}

// ---------------------------------------------------------------------------
// Detection, collisions, duplicates
// ---------------------------------------------------------------------------

#[test]
fn detection() {
    // spec: data-format/content-metadata.md#determining-s3ec-object-status/4
    assert_eq!(
        detect_md(&md(&[])),
        Ok(Detected::InstructionFile { v3_split: false })
    );
    assert_eq!(
        detect_md(&md(&[
            ("x-amz-unencrypted-content-length", "3"),
            ("x-amz-crypto-instr-file", "")
        ])),
        Ok(Detected::InstructionFile { v3_split: false })
    );
    let split = md(&[("x-amz-c", "115"), ("x-amz-d", "x"), ("x-amz-i", "y")]);
    assert_eq!(
        detect_md(&split),
        Ok(Detected::InstructionFile { v3_split: true })
    );
    // Empty x-amz-t beside the split keys is absent (Go).
    assert_eq!(
        detect_md(&with(&split, "x-amz-t", "")),
        Ok(Detected::InstructionFile { v3_split: true })
    );
}

#[test]
fn collisions() {
    let c = |first, second| fe(FormatError::Collision { first, second });
    // V1 + V2 keys.
    let m = with(&v2(), "x-amz-key", &b64(&[1; 48]));
    assert_eq!(detect_md(&m), Err(c(MetaKey::KeyV1, MetaKey::KeyV2)));
    assert_eq!(err(&m, None), c(MetaKey::KeyV1, MetaKey::KeyV2));
    // V2 + V3 EDKs.
    let m = with(&v2(), "x-amz-3", &b64(&[1; 48]));
    assert_eq!(err(&m, None), c(MetaKey::KeyV2, MetaKey::KeyV3));
    // x-amz-key + x-amz-3.
    let m = with(&v3(), "x-amz-key", &b64(&[1; 48]));
    assert_eq!(err(&m, None), c(MetaKey::KeyV1, MetaKey::KeyV3));
    // A lone x-amz-c with V2 keys (the .NET bypass).
    let m = with(&v2(), "x-amz-c", "115");
    assert_eq!(err(&m, None), c(MetaKey::KeyV2, MetaKey::ContentCipherV3));
    // V2 keys beside V3's c/d/i only.
    let m = with(&v2(), "x-amz-d", &b64(&[1; 28]));
    assert_eq!(
        detect_md(&m),
        Err(c(MetaKey::KeyV2, MetaKey::KeyCommitmentV3))
    );
    // V3 with a V1/V2-only key.
    let m = with(&v3(), "x-amz-iv", &b64(&[1; 12]));
    assert_eq!(err(&m, None), c(MetaKey::Iv, MetaKey::ContentCipherV3));
    let m = with(&v3(), "x-amz-matdesc", "{}");
    assert!(matches!(
        err(&m, None),
        Error::Format(FormatError::Collision { .. })
    ));
    // Empty x-amz-m beside V2 keys is absent, not a collision.
    ok(&with(&v2(), "x-amz-m", ""), None);
}

#[test]
fn duplicates_in_any_case() {
    let m = with(&v2(), "X-AMZ-IV", &b64(&[9; 12]));
    assert_eq!(detect_md(&m), Err(fe(FormatError::Duplicate(MetaKey::Iv))));
    assert_eq!(err(&m, None), fe(FormatError::Duplicate(MetaKey::Iv)));
    let m = with(&v3(), "X-Amz-M", "");
    assert_eq!(
        err(&m, None),
        fe(FormatError::Duplicate(MetaKey::MatDescV3))
    );
    // In an instruction file too (the JSON parser rejects exact repeats).
    let file = r#"{"x-amz-3":"AAAA","X-AMZ-3":"AAAA","x-amz-w":"02"}"#;
    let split = md(&[
        ("x-amz-c", "115"),
        ("x-amz-d", &b64(&[1; 28])),
        ("x-amz-i", &b64(&[2; 28])),
    ]);
    assert_eq!(
        err(&split, Some(file)),
        fe(FormatError::Duplicate(MetaKey::KeyV3))
    );
    let file = r#"{"x-amz-3":"AAAA","x-amz-3":"AAAA","x-amz-w":"02"}"#;
    assert!(matches!(err(&split, Some(file)), Error::Json(_)));
}

// ---------------------------------------------------------------------------
// Missing keys
// ---------------------------------------------------------------------------

#[test]
fn missing_keys() {
    // spec: data-format/content-metadata.md#content-metadata-mapkeys/4-6 data-format/content-metadata.md#content-metadata-mapkeys/8-11 data-format/content-metadata.md#content-metadata-mapkeys/13 data-format/content-metadata.md#content-metadata-mapkeys/14-17
    let miss = |k| fe(FormatError::Missing(k));
    assert_eq!(err(&without(&v2(), "x-amz-iv"), None), miss(MetaKey::Iv));
    assert_eq!(
        detect_md(&without(&v2(), "x-amz-iv")),
        Err(miss(MetaKey::Iv))
    );
    assert_eq!(
        err(&without(&v2(), "x-amz-key-v2"), None),
        miss(MetaKey::KeyV2)
    );
    // E11: V2 needs cek-alg and wrap-alg, V1 needs matdesc.
    assert_eq!(
        err(&without(&v2(), "x-amz-cek-alg"), None),
        miss(MetaKey::CekAlg)
    );
    assert_eq!(
        err(&without(&v2(), "x-amz-wrap-alg"), None),
        miss(MetaKey::WrapAlg)
    );
    assert_eq!(
        err(&without(&v1(), "x-amz-matdesc"), None),
        miss(MetaKey::MatDesc)
    );
    assert_eq!(err(&without(&v1(), "x-amz-iv"), None), miss(MetaKey::Iv));
    // E6: GCM needs tag-len.
    assert_eq!(
        err(&without(&v2(), "x-amz-tag-len"), None),
        miss(MetaKey::TagLen)
    );
    assert_eq!(
        err(&with(&v2(), "x-amz-tag-len", ""), None),
        miss(MetaKey::TagLen)
    );
    // V3.
    for (k, mk) in [
        ("x-amz-c", MetaKey::ContentCipherV3),
        ("x-amz-w", MetaKey::WrapAlgV3),
        ("x-amz-d", MetaKey::KeyCommitmentV3),
        ("x-amz-i", MetaKey::MessageIdV3),
    ] {
        assert_eq!(err(&without(&v3(), k), None), miss(mk), "{k}");
        assert_eq!(detect_md(&without(&v3(), k)), Err(miss(mk)), "{k}");
    }
    // Partial split metadata.
    assert_eq!(
        detect_md(&md(&[("x-amz-c", "115")])),
        Err(miss(MetaKey::KeyCommitmentV3))
    );
    assert_eq!(
        detect_md(&without(&v3(), "x-amz-3")),
        Err(miss(MetaKey::KeyV3))
    );
}

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

#[test]
fn bad_base64() {
    for bad in ["AAA", "AA=A", "A===", "AB*=", "QUJ=", " QUJD", "QUJD\n"] {
        assert_eq!(
            err(&with(&v2(), "x-amz-key-v2", bad), None),
            fe(FormatError::InvalidBase64(MetaKey::KeyV2)),
            "{bad:?}"
        );
    }
    // Unpadded 12-byte IV is fine (16 chars, no padding needed); an unpadded
    // 16-byte IV is not.
    let unpadded = b64(&[9; 16]).trim_end_matches('=').to_owned();
    assert_eq!(
        err(&with(&v1(), "x-amz-iv", &unpadded), None),
        fe(FormatError::InvalidBase64(MetaKey::Iv))
    );
    let d = b64(&[1; 28]).trim_end_matches('=').to_owned();
    assert_eq!(
        err(&with(&v3(), "x-amz-d", &d), None),
        fe(FormatError::InvalidBase64(MetaKey::KeyCommitmentV3))
    );
    let i = b64(&[2; 28]).replace('A', "-");
    assert!(matches!(
        err(&with(&v3(), "x-amz-i", &format!("{i}-")), None),
        Error::Format(_)
    ));
    let i = b64(&[0xfb; 28]);
    assert!(i.contains('+') || i.contains('/'));
    ok(&with(&v3(), "x-amz-i", &i), None);
    let urlsafe = i.replace('+', "-").replace('/', "_");
    assert_eq!(
        err(&with(&v3(), "x-amz-i", &urlsafe), None),
        fe(FormatError::InvalidBase64(MetaKey::MessageIdV3))
    );
}

#[test]
fn lengths() {
    let len = |key, actual| fe(FormatError::InvalidLength { key, actual });
    // GCM needs 12, CBC 16 (E3/E7).
    assert_eq!(
        err(&with(&v2(), "x-amz-iv", &b64(&[9; 16])), None),
        len(MetaKey::Iv, 16)
    );
    assert_eq!(
        err(&with(&v1(), "x-amz-iv", &b64(&[9; 12])), None),
        len(MetaKey::Iv, 12)
    );
    assert_eq!(
        err(&with(&v2(), "x-amz-iv", &b64(&[9; 20])), None),
        len(MetaKey::Iv, 20)
    );
    assert_eq!(err(&with(&v2(), "x-amz-iv", ""), None), len(MetaKey::Iv, 0));
    // A GCM->CBC relabel fails on the IV.
    let relabel = with(
        &with(&v2(), "x-amz-cek-alg", "AES/CBC/PKCS5Padding"),
        "x-amz-wrap-alg",
        "kms",
    );
    assert_eq!(err(&relabel, None), len(MetaKey::Iv, 12));
    for n in [27, 29, 0, 64, 100] {
        assert_eq!(
            err(&with(&v3(), "x-amz-i", &b64(&vec![2; n])), None),
            len(MetaKey::MessageIdV3, n),
            "{n}"
        );
        assert_eq!(
            err(&with(&v3(), "x-amz-d", &b64(&vec![2; n])), None),
            len(MetaKey::KeyCommitmentV3, n),
            "{n}"
        );
    }
    // EDK: 1 ..= 1024 bytes.
    ok(&with(&v2(), "x-amz-key-v2", &b64(&[1; MAX_EDK_LEN])), None);
    assert_eq!(
        err(
            &with(&v2(), "x-amz-key-v2", &b64(&[1; MAX_EDK_LEN + 1])),
            None
        ),
        len(MetaKey::KeyV2, MAX_EDK_LEN + 1)
    );
    assert_eq!(
        err(&with(&v3(), "x-amz-3", ""), None),
        len(MetaKey::KeyV3, 0)
    );
}

#[test]
fn zero_iv_and_message_id() {
    assert_eq!(
        err(&with(&v2(), "x-amz-iv", &b64(&[0; 12])), None),
        fe(FormatError::ZeroIv)
    );
    assert_eq!(
        err(&with(&v1(), "x-amz-iv", &b64(&[0; 16])), None),
        fe(FormatError::ZeroIv)
    );
    assert_eq!(
        err(&with(&v3(), "x-amz-i", &b64(&[0; 28])), None),
        fe(FormatError::ZeroIv)
    );
    // A zero commitment is merely wrong; it fails at verification.
    ok(&with(&v3(), "x-amz-d", &b64(&[0; 28])), None);
}

#[test]
fn unknown_values() {
    let inv = |k| fe(FormatError::InvalidValue(k));
    for w in ["01", "11", "21", "03", "2", "", "12 ", "AES/GCM"] {
        assert_eq!(
            err(&with(&v3(), "x-amz-w", w), None),
            inv(MetaKey::WrapAlgV3),
            "{w:?}"
        );
    }
    for c in ["116", "0x73", "", "AES/GCM/NoPadding", " 115"] {
        assert_eq!(
            err(&with(&v3(), "x-amz-c", c), None),
            inv(MetaKey::ContentCipherV3),
            "{c:?}"
        );
    }
    for c in ["AES/CTR/NoPadding", "115", "aes/gcm/nopadding", ""] {
        assert_eq!(
            err(&with(&v2(), "x-amz-cek-alg", c), None),
            inv(MetaKey::CekAlg),
            "{c:?}"
        );
    }
    for w in ["kms-context", "AES", "RSA", "12", ""] {
        assert_eq!(
            err(&with(&v2(), "x-amz-wrap-alg", w), None),
            inv(MetaKey::WrapAlg),
            "{w:?}"
        );
    }
    for t in ["96", "0", "129", "-128", "128.0", "abc"] {
        assert_eq!(
            err(&with(&v2(), "x-amz-tag-len", t), None),
            inv(MetaKey::TagLen),
            "{t:?}"
        );
    }
    ok(&with(&v2(), "x-amz-tag-len", "0128"), None);
    for l in ["-1", "1.5", "x", "18446744073709551616"] {
        assert_eq!(
            err(&with(&v2(), "x-amz-unencrypted-content-length", l), None),
            inv(MetaKey::UnencryptedContentLength),
            "{l:?}"
        );
    }
    // V1 oddities.
    assert_eq!(
        err(&with(&v1(), "x-amz-wrap-alg", "kms"), None),
        fe(FormatError::InvalidCombination)
    );
    assert_eq!(
        err(&with(&v1(), "x-amz-cek-alg", "AES/GCM/NoPadding"), None),
        fe(FormatError::InvalidCombination)
    );
    assert_eq!(
        err(&with(&v1(), "x-amz-cek-alg", "AES/CTR/NoPadding"), None),
        inv(MetaKey::CekAlg)
    );
    // Malformed maps.
    assert!(matches!(
        err(&with(&v2(), "x-amz-matdesc", "{"), None),
        Error::Json(JsonError { .. })
    ));
    assert!(matches!(
        err(&with(&v3(), "x-amz-m", r#"{"a":1}"#), None),
        Error::Json(_)
    ));
}

#[test]
fn empty_and_null_values() {
    with_env(&with(&v3(), "x-amz-m", ""), None, |r| {
        assert!(r.unwrap().matdesc().is_empty())
    });
    let kms = with(&v3(), "x-amz-w", "12");
    with_env(&with(&kms, "x-amz-t", ""), None, |r| {
        assert!(r.unwrap().matdesc().is_empty())
    });
    with_env(
        &with(&v2(), "x-amz-unencrypted-content-length", ""),
        None,
        |r| assert_eq!(r.unwrap().unencrypted_content_length(), None),
    );
    // Null in an instruction file.
    let split = md(&[
        ("x-amz-c", "115"),
        ("x-amz-d", &b64(&[1; 28])),
        ("x-amz-i", &b64(&[2; 28])),
    ]);
    let edk = b64(&[7; 60]);
    let file = format!(
        r#"{{"x-amz-3":"{edk}","x-amz-w":"02","x-amz-m":null,"x-amz-t":null,"x-amz-unencrypted-content-length":null}}"#
    );
    with_env(&split, Some(&file), |r| {
        let e = r.unwrap();
        assert!(e.matdesc().is_empty());
        assert_eq!(e.unencrypted_content_length(), None);
        assert_eq!(e.placement(), Placement::InstructionFile);
    });
    // Null for a required key is missing.
    let file = format!(r#"{{"x-amz-3":"{edk}","x-amz-w":null}}"#);
    assert_eq!(
        err(&split, Some(&file)),
        fe(FormatError::Missing(MetaKey::WrapAlgV3))
    );
    // Null matdesc in a V2 file is {}.
    let mut f = v2();
    set(&mut f, "x-amz-matdesc", "PLACEHOLDER");
    let file = file_of(&f).replace(r#""PLACEHOLDER""#, "null");
    with_env(&md(&[]), Some(&file), |r| {
        assert!(r.unwrap().matdesc().is_empty())
    });
}

#[test]
fn json_numbers_in_instruction_files() {
    let mut f = without(&v2(), "x-amz-tag-len");
    set(&mut f, "x-amz-tag-len", "TAG");
    set(&mut f, "x-amz-unencrypted-content-length", "LEN");
    let template = file_of(&f);
    let file = template
        .replace(r#""TAG""#, "128")
        .replace(r#""LEN""#, "4095");
    with_env(&md(&[]), Some(&file), |r| {
        let e = r.unwrap();
        assert_eq!(e.tag_len_bits(), Some(128));
        assert_eq!(e.unencrypted_content_length(), Some(4095));
    });
    let file = template.replace(r#""TAG""#, "96").replace(r#""LEN""#, "1");
    assert_eq!(
        err(&md(&[]), Some(&file)),
        fe(FormatError::InvalidValue(MetaKey::TagLen))
    );
    for bad in ["1.5", "-1", "1e3"] {
        let file = template.replace(r#""TAG""#, "128").replace(r#""LEN""#, bad);
        assert_eq!(
            err(&md(&[]), Some(&file)),
            fe(FormatError::InvalidValue(MetaKey::UnencryptedContentLength)),
            "{bad}"
        );
    }
    // Numbers are not accepted for other keys.
    let mut f = v2();
    set(&mut f, "x-amz-cek-alg", "NUM");
    let file = file_of(&f).replace(r#""NUM""#, "115");
    assert_eq!(
        err(&md(&[]), Some(&file)),
        fe(FormatError::InvalidValue(MetaKey::CekAlg))
    );
    let mut f = v2();
    set(&mut f, "x-amz-matdesc", "NUM");
    let file = file_of(&f).replace(r#""NUM""#, "1");
    assert_eq!(
        err(&md(&[]), Some(&file)),
        fe(FormatError::InvalidValue(MetaKey::MatDesc))
    );
}

#[test]
fn rfc2047_encoded_matdesc() {
    // {"a":"é"} as S3 double-encodes it: UTF-8 bytes as Latin-1 characters,
    // then an RFC 2047 B encoded word.
    let json = r#"{"a":"é"}"#;
    let latin1: String = json.bytes().map(char::from).collect();
    let word = format!("=?UTF-8?B?{}?=", b64(latin1.as_bytes()));
    with_env(&with(&v2(), "x-amz-matdesc", &word), None, |r| {
        let e = r.unwrap();
        assert!(e.matdesc().get("a").unwrap().eq_str("é"));
    });
    // Raw UTF-8 passes through unchanged (errata E5).
    with_env(&with(&v2(), "x-amz-matdesc", json), None, |r| {
        assert!(r.unwrap().matdesc().get("a").unwrap().eq_str("é"))
    });
}

// ---------------------------------------------------------------------------
// Instruction files
// ---------------------------------------------------------------------------

fn split_parts(full: &Md) -> (Md, String) {
    let object: Md = full
        .iter()
        .filter(|(k, _)| ["x-amz-c", "x-amz-d", "x-amz-i"].contains(&k.as_str()))
        .cloned()
        .collect();
    let file: Md = full
        .iter()
        .filter(|(k, _)| !["x-amz-c", "x-amz-d", "x-amz-i"].contains(&k.as_str()))
        .cloned()
        .collect();
    (object, file_of(&file))
}

#[test]
fn v3_split_instruction_file() {
    // spec: data-format/content-metadata.md#content-metadata-mapkeys/18
    let (object, file) = split_parts(&v3());
    assert_eq!(
        detect_md(&object),
        Ok(Detected::InstructionFile { v3_split: true })
    );
    assert_eq!(err(&object, None), fe(FormatError::InstructionFileRequired));
    with_env(&object, Some(&file), |r| {
        let e = r.unwrap();
        assert_eq!(e.format(), FormatVersion::V3);
        assert_eq!(e.placement(), Placement::InstructionFile);
        assert!(e.matdesc().get("a").unwrap().eq_str("b"));
    });
    // c/d/i inside the file: tampered.
    for (k, mk) in [
        ("x-amz-c", MetaKey::ContentCipherV3),
        ("x-amz-d", MetaKey::KeyCommitmentV3),
        ("x-amz-i", MetaKey::MessageIdV3),
    ] {
        let value = v3().into_iter().find(|(key, _)| key == k).unwrap().1;
        let mut f: Md = v3()
            .into_iter()
            .filter(|(key, _)| !["x-amz-c", "x-amz-d", "x-amz-i"].contains(&key.as_str()))
            .collect();
        set(&mut f, &k.to_ascii_uppercase(), &value);
        assert_eq!(
            err(&object, Some(&file_of(&f))),
            fe(FormatError::InstructionFileTampered(mk)),
            "{k}"
        );
        // Also when the object has no S3EC keys at all.
        assert_eq!(
            err(&md(&[]), Some(&file_of(&f))),
            fe(FormatError::InstructionFileTampered(mk))
        );
        // Even as null.
        let f = file_of(&without(&f, &k.to_ascii_uppercase()));
        let f = format!("{}, \"{k}\": null}}", f.trim_end_matches('}'));
        assert_eq!(
            err(&object, Some(&f)),
            fe(FormatError::InstructionFileTampered(mk))
        );
    }
    // V2 keys in a V3 instruction file: collision (format confusion).
    let file2 = file_of(&v2());
    assert!(matches!(
        err(&object, Some(&file2)),
        Error::Format(FormatError::Collision { .. })
    ));
    // Missing pieces.
    let f = file_of(&without(&without(&v3(), "x-amz-3"), "x-amz-c"));
    let f = f
        .replace(r#""x-amz-d""#, r#""y-d""#)
        .replace(r#""x-amz-i""#, r#""y-i""#);
    assert_eq!(
        err(&object, Some(&f)),
        fe(FormatError::Missing(MetaKey::KeyV3))
    );
    assert_eq!(
        err(&object, Some("{}")),
        fe(FormatError::Missing(MetaKey::KeyV3))
    );
    let f = file_of(&md(&[("x-amz-3", &b64(&[1; 40]))]));
    assert_eq!(
        err(&object, Some(&f)),
        fe(FormatError::Missing(MetaKey::WrapAlgV3))
    );
    // Duplicated between object and file.
    let object_w = with(&object, "x-amz-unencrypted-content-length", "3");
    ok(&object_w, Some(&file));
    // A V3 file without c/d/i on the object.
    assert_eq!(
        err(&md(&[]), Some(&file)),
        fe(FormatError::Missing(MetaKey::KeyCommitmentV3))
    );
}

#[test]
fn v2_instruction_file() {
    let file = file_of(&v2());
    let object = md(&[("x-amz-unencrypted-content-length", "17")]);
    with_env(&object, Some(&file), |r| {
        let e = r.unwrap();
        assert_eq!(e.format(), FormatVersion::V2);
        assert_eq!(e.placement(), Placement::InstructionFile);
        assert_eq!(e.unencrypted_content_length(), Some(17));
    });
    assert_eq!(err(&object, None), fe(FormatError::InstructionFileRequired));
    // Length in both places must agree.
    let f2 = file_of(&with(&v2(), "x-amz-unencrypted-content-length", "17"));
    ok(&object, Some(&f2));
    let f3 = file_of(&with(&v2(), "x-amz-unencrypted-content-length", "18"));
    assert_eq!(
        err(&object, Some(&f3)),
        fe(FormatError::InvalidValue(MetaKey::UnencryptedContentLength))
    );
    // The file is given although the object metadata is complete.
    assert_eq!(err(&v2(), Some(&file)), fe(FormatError::InvalidCombination));
    // No envelope anywhere.
    assert_eq!(err(&md(&[]), Some("{}")), fe(FormatError::NotEncrypted));
    assert_eq!(
        err(
            &object,
            Some(r#"{"other": "x", "x-amz-crypto-instr-file": ""}"#)
        ),
        fe(FormatError::NotEncrypted)
    );
    // Partial file.
    assert_eq!(
        err(&md(&[]), Some(&file_of(&without(&v2(), "x-amz-iv")))),
        fe(FormatError::Missing(MetaKey::Iv))
    );
    // Unknown keys are ignored; escaped keys are recognised.
    let f = file_of(&v2()).replace(r#""x-amz-iv""#, r#""x-amz-\u0069v""#);
    let f = format!(
        "{}, \"x-amz-other\": \"1\", \"z\": 2}}",
        f.trim_end_matches('}')
    );
    ok(&md(&[]), Some(&f));
    // Not JSON / trailing data / nested values.
    assert!(matches!(err(&md(&[]), Some("")), Error::Json(_)));
    assert!(matches!(err(&md(&[]), Some("{} {}")), Error::Json(_)));
    assert!(matches!(
        err(&md(&[]), Some(r#"{"x-amz-iv": {}}"#)),
        Error::Json(_)
    ));
    // V1 file.
    with_env(&md(&[]), Some(&file_of(&v1())), |r| {
        assert_eq!(r.unwrap().format(), FormatVersion::V1)
    });
}

#[test]
fn arena_too_small() {
    // A V2 instruction file whose matdesc needs unescaping.
    let file = file_of(&v2());
    let pairs: [(&str, &str); 0] = [];
    let mut buf = [0u8; 4];
    let mut arena = Arena::new(&mut buf);
    assert!(matches!(
        Envelope::parse(pairs.iter().copied(), Some(&file), &mut arena),
        Err(Error::BufferTooSmall { .. })
    ));
}

// ---------------------------------------------------------------------------
// Emission
// ---------------------------------------------------------------------------

fn emit(e: &Envelope<'_>, placement: Placement) -> Md {
    let mut out = Md::new();
    e.write_object_metadata(placement, &mut |k: MetaKey, v: &str| {
        out.push((k.as_str().to_owned(), v.to_owned()));
        Ok(())
    })
    .unwrap();
    out
}

fn keys(m: &Md) -> Vec<&str> {
    m.iter().map(|(k, _)| k.as_str()).collect()
}

#[test]
fn emit_v2() {
    // spec: data-format/content-metadata.md#content-metadata-mapkeys/1-2 data-format/content-metadata.md#content-metadata-mapkeys/6-11 data-format/metadata-strategy.md#v1v2-instruction-files/1 data-format/metadata-strategy.md#instruction-file/2
    let m = MatDesc::parse(r#"{"b":"2","a":"Zoë"}"#).unwrap();
    let e = Envelope::new_v2(WrapAlg::AesGcm, &[7; 60], &[9; 12], m)
        .unwrap()
        .with_unencrypted_content_length(42);
    let out = emit(&e, Placement::ObjectMetadata);
    assert_eq!(
        keys(&out),
        [
            "x-amz-key-v2",
            "x-amz-iv",
            "x-amz-matdesc",
            "x-amz-wrap-alg",
            "x-amz-cek-alg",
            "x-amz-tag-len",
            "x-amz-unencrypted-content-length"
        ]
    );
    assert_eq!(out[0].1, b64(&[7; 60]));
    assert_eq!(out[1].1, b64(&[9; 12]));
    assert_eq!(out[2].1, r#"{"a":"Zo\u00eb","b":"2"}"#);
    assert_eq!(out[3].1, "AES/GCM");
    assert_eq!(out[4].1, "AES/GCM/NoPadding");
    assert_eq!(out[5].1, "128");
    assert_eq!(out[6].1, "42");
    with_env(&out, None, |r| assert_eq!(r.unwrap(), e));

    // Empty matdesc is written as {}.
    let e2 = Envelope::new_v2(WrapAlg::RsaOaepSha1, &[7; 256], &[9; 12], MatDesc::EMPTY).unwrap();
    let out = emit(&e2, Placement::ObjectMetadata);
    assert_eq!(out[2], ("x-amz-matdesc".to_owned(), "{}".to_owned()));
    assert_eq!(out.len(), 6);

    // Instruction file placement: only the length on the object.
    let out = emit(&e, Placement::InstructionFile);
    assert_eq!(keys(&out), ["x-amz-unencrypted-content-length"]);
    let mut file = String::new();
    e.write_instruction_file(&mut file).unwrap();
    assert_eq!(file.len(), e.instruction_file_len());
    assert!(file.is_ascii());
    assert!(file.contains(r#""x-amz-matdesc":"{\"a\":\"Zo\\u00eb\",\"b\":\"2\"}""#));
    assert!(!file.contains("unencrypted"));
    with_env(&out, Some(&file), |r| {
        let back = r.unwrap();
        assert_eq!(back.placement(), Placement::InstructionFile);
        assert_eq!(back.unencrypted_content_length(), Some(42));
        assert!(back.matdesc().eq_map(&e.matdesc()));
        assert_eq!(back.encrypted_data_key(), e.encrypted_data_key());
    });
}

#[test]
fn emit_v3() {
    // spec: data-format/content-metadata.md#content-metadata-mapkeys/13-17 data-format/metadata-strategy.md#v3-instruction-files/1-9
    let ec = MatDesc::parse(r#"{"aws:x-amz-cek-alg":"115"}"#).unwrap();
    let e = Envelope::new_v3(WrapAlg::KmsContext, &[5; 184], &[1; 28], &[2; 28], ec).unwrap();
    let out = emit(&e, Placement::ObjectMetadata);
    assert_eq!(
        keys(&out),
        ["x-amz-c", "x-amz-3", "x-amz-w", "x-amz-t", "x-amz-d", "x-amz-i"]
    );
    assert_eq!(out[0].1, "115");
    assert_eq!(out[2].1, "12");
    assert_eq!(out[3].1, r#"{"aws:x-amz-cek-alg":"115"}"#);
    assert_eq!(out[4].1, b64(&[2; 28]));
    assert_eq!(out[5].1, b64(&[1; 28]));
    with_env(&out, None, |r| assert_eq!(r.unwrap(), e));

    // 02 with an empty material description writes no x-amz-m.
    let e = Envelope::new_v3(
        WrapAlg::AesGcm,
        &[5; 60],
        &[1; 28],
        &[2; 28],
        MatDesc::EMPTY,
    )
    .unwrap()
    .with_unencrypted_content_length(0);
    let out = emit(&e, Placement::ObjectMetadata);
    assert_eq!(
        keys(&out),
        [
            "x-amz-c",
            "x-amz-3",
            "x-amz-w",
            "x-amz-d",
            "x-amz-i",
            "x-amz-unencrypted-content-length"
        ]
    );
    with_env(&out, None, |r| assert_eq!(r.unwrap(), e));

    let m = MatDesc::parse(r#"{"k":"v"}"#).unwrap();
    let e = Envelope::new_v3(WrapAlg::RsaOaepSha1, &[5; 512], &[1; 28], &[2; 28], m).unwrap();
    let out = emit(&e, Placement::InstructionFile);
    assert_eq!(keys(&out), ["x-amz-c", "x-amz-d", "x-amz-i"]);
    let mut file = String::new();
    e.write_instruction_file(&mut file).unwrap();
    assert!(file.starts_with(r#"{"x-amz-3":""#));
    assert!(file.ends_with(r#","x-amz-w":"22","x-amz-m":"{\"k\":\"v\"}"}"#));
    with_env(&out, Some(&file), |r| {
        let back = r.unwrap();
        assert_eq!(back.placement(), Placement::InstructionFile);
        assert_eq!(back.wrap(), WrapAlg::RsaOaepSha1);
        assert_eq!(back.encrypted_data_key(), e.encrypted_data_key());
        assert!(back.matdesc().eq_map(&e.matdesc()));
    });
}

#[test]
fn constructors_refuse() {
    let ec = MatDesc::parse(r#"{"aws:x-amz-cek-alg":"115"}"#).unwrap();
    for w in [
        WrapAlg::Kms,
        WrapAlg::AesWrap,
        WrapAlg::RsaOaepSha256,
        WrapAlg::AesEcb,
        WrapAlg::RsaPkcs1,
    ] {
        assert_eq!(
            Envelope::new_v3(w, &[1; 60], &[1; 28], &[2; 28], ec).unwrap_err(),
            Error::Unsupported(Unsupported::LegacyWrapEncrypt)
        );
        assert_eq!(
            Envelope::new_v2(w, &[1; 60], &[1; 12], ec).unwrap_err(),
            Error::Unsupported(Unsupported::LegacyWrapEncrypt)
        );
    }
    assert_eq!(
        Envelope::new_v2(WrapAlg::AesGcm, &[1; 60], &[0; 12], ec).unwrap_err(),
        Error::InvalidInput(InputError::ZeroIv)
    );
    assert_eq!(
        Envelope::new_v3(WrapAlg::AesGcm, &[1; 60], &[0; 28], &[2; 28], ec).unwrap_err(),
        Error::InvalidInput(InputError::ZeroIv)
    );
    assert_eq!(
        Envelope::new_v3(WrapAlg::AesGcm, &[], &[1; 28], &[2; 28], ec).unwrap_err(),
        Error::InvalidInput(InputError::KeyLength { actual: 0 })
    );
    assert_eq!(
        Envelope::new_v3(
            WrapAlg::AesGcm,
            &[1; MAX_EDK_LEN + 1],
            &[1; 28],
            &[2; 28],
            ec
        )
        .unwrap_err(),
        Error::BufferTooSmall {
            needed: MAX_EDK_LEN + 1
        }
    );
    // kms+context must bind the cek-alg of its own suite.
    assert_eq!(
        Envelope::new_v3(
            WrapAlg::KmsContext,
            &[1; 60],
            &[1; 28],
            &[2; 28],
            MatDesc::EMPTY
        )
        .unwrap_err(),
        Error::Format(FormatError::InvalidValue(MetaKey::EncryptionContextV3))
    );
    assert_eq!(
        Envelope::new_v2(WrapAlg::KmsContext, &[1; 60], &[1; 12], ec).unwrap_err(),
        Error::Format(FormatError::InvalidValue(MetaKey::MatDesc))
    );
    let ec2 = MatDesc::parse(r#"{"aws:x-amz-cek-alg":"AES/GCM/NoPadding"}"#).unwrap();
    Envelope::new_v2(WrapAlg::KmsContext, &[1; 60], &[1; 12], ec2).unwrap();
}

#[test]
fn emission_limits_and_errors() {
    // A material description over S3's 2 KB limit.
    let big = format!(r#"{{"k":"{}"}}"#, "x".repeat(MAX_METADATA_VALUE_LEN));
    let m = MatDesc::parse(&big).unwrap();
    let e = Envelope::new_v3(WrapAlg::AesGcm, &[1; 60], &[1; 28], &[2; 28], m).unwrap();
    let r = e.write_object_metadata(Placement::ObjectMetadata, &mut |_: MetaKey, _: &str| Ok(()));
    assert_eq!(r, Err(Error::LimitExceeded));
    // ... but fits an instruction file.
    e.write_object_metadata(
        Placement::InstructionFile,
        &mut |_: MetaKey, _: &str| Ok(()),
    )
    .unwrap();
    let mut file = String::new();
    e.write_instruction_file(&mut file).unwrap();
    // A too-small buffer reports the full length.
    let mut buf = [0u8; 64];
    let mut w = crate::json::SliceWriter::new(&mut buf);
    assert_eq!(
        e.write_instruction_file(&mut w),
        Err(Error::BufferTooSmall { needed: file.len() })
    );
    // Sink errors pass through.
    let r = e.write_object_metadata(Placement::InstructionFile, &mut |_: MetaKey, _: &str| {
        Err(Error::Rng)
    });
    assert_eq!(r, Err(Error::Rng));
}

#[test]
fn reemit_parsed_legacy_envelopes() {
    // Parsed V1 and V2-CBC envelopes re-emit faithfully (e.g. to move them
    // between placements).
    for m in [
        v1(),
        with(
            &with(
                &with(&v2(), "x-amz-cek-alg", "AES/CBC/PKCS5Padding"),
                "x-amz-wrap-alg",
                "kms",
            ),
            "x-amz-iv",
            &b64(&[9; 16]),
        ),
    ] {
        with_env(&m, None, |r| {
            let e = r.unwrap();
            let out = emit(&e, Placement::ObjectMetadata);
            with_env(&out, None, |r| assert_eq!(r.unwrap(), e));
            let mut file = String::new();
            e.write_instruction_file(&mut file).unwrap();
            let object = emit(&e, Placement::InstructionFile);
            with_env(&object, Some(&file), |r| {
                let back = r.unwrap();
                assert_eq!(back.encrypted_data_key(), e.encrypted_data_key());
                assert_eq!(back.iv(), e.iv());
                assert_eq!(back.suite(), e.suite());
                assert_eq!(back.wrap(), e.wrap());
            });
        });
    }
}

#[test]
fn debug_is_short() {
    with_env(&v2(), None, |r| {
        let s = format!("{:?}", r.unwrap());
        assert!(s.contains("edk_len: 60"));
        assert!(s.len() < 600);
    });
}

/// Fuzz finding F1: a written map whose values hold RFC 2047 delimiters
/// must read back unchanged (the reader decodes encoded words).
#[test]
fn written_map_with_encoded_word_text_reads_back_unchanged() {
    for value in ["x =?UTF-8?B?QQ==?= y", "=?bad?=", "a?=b=?c", "==??=="] {
        let mut json = String::new();
        crate::matdesc::write_pairs_canonical(
            [("aws:x-amz-cek-alg", "115"), ("k", value)].into_iter(),
            &mut json,
        )
        .unwrap();
        assert!(!json.contains("=?") && !json.contains("?="), "{json}");
        let ctx = MatDesc::parse(&json).unwrap();
        let env =
            Envelope::new_v3(WrapAlg::KmsContext, &[9u8; 40], &[1; 28], &[2; 28], ctx).unwrap();
        let mut out: Md = Vec::new();
        env.write_object_metadata(Placement::ObjectMetadata, &mut |k: MetaKey, v: &str| {
            out.push((k.as_str().to_owned(), v.to_owned()));
            Ok(())
        })
        .unwrap();
        let mut buf = vec![0u8; 4096];
        let mut arena = Arena::new(&mut buf);
        let back = Envelope::parse(
            out.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            None,
            &mut arena,
        )
        .unwrap();
        assert!(back.matdesc().get("k").unwrap().eq_str(value), "{value}");
    }
}

/// Spec mapkey rules no other test pinned down on their own.
#[test]
fn spec_mapkey_rules() {
    // spec: data-format/content-metadata.md#content-metadata-mapkeys/3
    assert!(with_env(&without(&v1(), "x-amz-key"), None, |r| r.is_err()));
    // spec: data-format/metadata-strategy.md#v3-instruction-files/1-8 data-format/metadata-strategy.md#v3-instruction-files/10
    // spec: data-format/content-metadata.md#content-metadata-mapkeys/18
    let ec = MatDesc::parse(r#"{"aws:x-amz-cek-alg":"115","p":"q"}"#).unwrap();
    let e = Envelope::new_v3(WrapAlg::KmsContext, &[5; 184], &[1; 28], &[2; 28], ec).unwrap();
    let out = emit(&e, Placement::InstructionFile);
    assert_eq!(keys(&out), ["x-amz-c", "x-amz-d", "x-amz-i"]);
    let mut file = String::new();
    e.write_instruction_file(&mut file).unwrap();
    let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&file).unwrap();
    let mut file_keys: Vec<&str> = v.keys().map(String::as_str).collect();
    file_keys.sort_unstable();
    assert_eq!(file_keys, ["x-amz-3", "x-amz-t", "x-amz-w"]);
    assert_eq!(v["x-amz-w"], "12");
    // spec: data-format/content-metadata.md#v3-only/2 data-format/content-metadata.md#v3-only/4
    with_env(&without(&v3(), "x-amz-m"), None, |r| {
        assert!(r.unwrap().matdesc().is_empty())
    });
    // spec: data-format/content-metadata.md#v3-only/1 data-format/content-metadata.md#v3-only/3
    // (02 takes x-amz-m, 12 takes x-amz-t: swapping them reads the wrong map)
    let both = with(&v3(), "x-amz-t", r#"{"t":"1"}"#);
    with_env(&both, None, |r| {
        assert!(r.unwrap().matdesc().get("a").is_some())
    });
    with_env(&with(&both, "x-amz-w", "12"), None, |r| {
        let e = r.unwrap();
        assert!(e.matdesc().get("t").is_some());
        assert!(e.matdesc().get("a").is_none());
    });
    // spec: data-format/content-metadata.md#v3-only/5-7
    for (code, wrap) in [
        ("02", WrapAlg::AesGcm),
        ("12", WrapAlg::KmsContext),
        ("22", WrapAlg::RsaOaepSha1),
    ] {
        let m = if wrap == WrapAlg::KmsContext {
            with(
                &with(&v3(), "x-amz-w", code),
                "x-amz-t",
                r#"{"aws:x-amz-cek-alg":"115"}"#,
            )
        } else {
            with(&v3(), "x-amz-w", code)
        };
        with_env(&m, None, |r| assert_eq!(r.unwrap().wrap(), wrap));
        let map = if wrap == WrapAlg::KmsContext {
            MatDesc::parse(r#"{"aws:x-amz-cek-alg":"115"}"#).unwrap()
        } else {
            MatDesc::EMPTY
        };
        let e = Envelope::new_v3(wrap, &[5; 60], &[1; 28], &[2; 28], map).unwrap();
        let out = emit(&e, Placement::ObjectMetadata);
        assert_eq!(out.iter().find(|(k, _)| k == "x-amz-w").unwrap().1, code);
    }
}

/// Fuzzing finding F2: a V1 envelope read with the optional synonym
/// `AES/CBC/PKCS7Padding` keeps it when written again (metadata and
/// instruction file), and one without a stored name is written as V1
/// writers write it, without `x-amz-cek-alg`.
#[test]
fn emit_v1_keeps_a_stored_cek_alg_synonym() {
    let synonym = with(&v1(), "x-amz-cek-alg", "AES/CBC/PKCS7Padding");
    with_env(&synonym, None, |r| {
        let e = r.unwrap();
        assert_eq!(e.cek_alg(), "AES/CBC/PKCS7Padding");
        let out = emit(&e, Placement::ObjectMetadata);
        assert!(out.contains(&(
            "x-amz-cek-alg".to_owned(),
            "AES/CBC/PKCS7Padding".to_owned()
        )));
        with_env(&out, None, |back| assert_eq!(back.unwrap(), e));
        let mut file = String::new();
        e.write_instruction_file(&mut file).unwrap();
        assert_eq!(file.len(), e.instruction_file_len());
        assert!(file.contains(r#""x-amz-cek-alg":"AES/CBC/PKCS7Padding""#));
        let meta = emit(&e, Placement::InstructionFile);
        with_env(&meta, Some(&file), |back| {
            let back = back.unwrap();
            assert_eq!(back.cek_alg(), "AES/CBC/PKCS7Padding");
            assert_eq!(back.format(), FormatVersion::V1);
        });
    });
    // The implied name (stored or not) is not written.
    for m in [v1(), with(&v1(), "x-amz-cek-alg", "AES/CBC/PKCS5Padding")] {
        with_env(&m, None, |r| {
            let e = r.unwrap();
            assert!(!keys(&emit(&e, Placement::ObjectMetadata)).contains(&"x-amz-cek-alg"));
            let mut file = String::new();
            e.write_instruction_file(&mut file).unwrap();
            assert!(!file.contains("cek-alg"));
        });
    }
}

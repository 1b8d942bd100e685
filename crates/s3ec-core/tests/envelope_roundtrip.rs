//! Property tests of the envelope: emit-then-parse round trips for V2 and V3
//! in both placements, and parsing never panics on arbitrary input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use s3ec_core::envelope::{detect, Envelope, Placement, MAX_EDK_LEN};
use s3ec_core::matdesc::{MatDesc, RESERVED_CEK_ALG};
use s3ec_core::{Arena, Error, FormatVersion, MetaKey, WrapAlg};

fn emit(env: &Envelope<'_>, placement: Placement) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    env.write_object_metadata(placement, &mut |k: MetaKey, v: &str| {
        out.push((k.as_str().to_owned(), v.to_owned()));
        Ok(())
    })?;
    Ok(out)
}

fn map_strategy() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map("\\PC{0,10}", "\\PC{0,10}", 0..4)
}

fn non_zero<const N: usize>() -> impl Strategy<Value = [u8; N]> {
    prop::collection::vec(any::<u8>(), N)
        .prop_filter("not all zero", |v| v.iter().any(|&b| b != 0))
        .prop_map(|v| v.try_into().unwrap())
}

fn wrap_strategy() -> impl Strategy<Value = WrapAlg> {
    prop_oneof![
        Just(WrapAlg::KmsContext),
        Just(WrapAlg::AesGcm),
        Just(WrapAlg::RsaOaepSha1)
    ]
}

/// The stored map for this wrap: KMS contexts carry the cek-alg.
fn stored_map(wrap: WrapAlg, cek: &str, map: &BTreeMap<String, String>) -> String {
    let mut m = map.clone();
    if wrap == WrapAlg::KmsContext {
        m.insert(RESERVED_CEK_ALG.to_owned(), cek.to_owned());
    }
    serde_json::to_string(&m).unwrap()
}

fn check_round_trip(
    env: &Envelope<'_>,
    placement: Placement,
    upper: bool,
    expected: &BTreeMap<String, String>,
) -> Result<(), TestCaseError> {
    let meta = match emit(env, placement) {
        Ok(m) => m,
        // Only a material description beyond S3's 2 KB limit fails.
        Err(Error::LimitExceeded) => {
            prop_assert_eq!(placement, Placement::ObjectMetadata);
            return Ok(());
        }
        Err(e) => return Err(TestCaseError::fail(format!("emit: {e}"))),
    };
    for (_, v) in &meta {
        prop_assert!(v.is_ascii());
    }
    let meta: Vec<(String, String)> = if upper {
        meta.into_iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v))
            .collect()
    } else {
        meta
    };
    let mut body = String::new();
    let file = if placement == Placement::InstructionFile {
        env.write_instruction_file(&mut body).unwrap();
        prop_assert!(body.is_ascii());
        prop_assert_eq!(body.len(), env.instruction_file_len());
        Some(body.as_str())
    } else {
        None
    };
    let pairs: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut buf = vec![0u8; 64 * 1024];
    let mut arena = Arena::new(&mut buf);
    let back = Envelope::parse(pairs.iter().copied(), file, &mut arena)
        .map_err(|e| TestCaseError::fail(format!("parse: {e}")))?;
    prop_assert_eq!(back.placement(), placement);
    prop_assert_eq!(back.format(), env.format());
    prop_assert_eq!(back.suite(), env.suite());
    prop_assert_eq!(back.wrap(), env.wrap());
    prop_assert_eq!(back.cek_alg(), env.cek_alg());
    prop_assert_eq!(back.encrypted_data_key(), env.encrypted_data_key());
    prop_assert_eq!(back.iv(), env.iv());
    prop_assert_eq!(back.message_id(), env.message_id());
    prop_assert_eq!(back.key_commitment(), env.key_commitment());
    prop_assert_eq!(back.tag_len_bits(), env.tag_len_bits());
    prop_assert_eq!(
        back.unencrypted_content_length(),
        env.unencrypted_content_length()
    );
    prop_assert!(back.matdesc().eq_map(&env.matdesc()));
    prop_assert!(back
        .matdesc()
        .eq_pairs(expected.iter().map(|(k, v)| (k.as_str(), v.as_str())), &[]));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn v2_round_trip(
        wrap in wrap_strategy(),
        edk in prop::collection::vec(any::<u8>(), 1..=MAX_EDK_LEN),
        iv in non_zero::<12>(),
        map in map_strategy(),
        len in prop::option::of(any::<u64>()),
        instruction in any::<bool>(),
        upper in any::<bool>(),
    ) {
        let json = stored_map(wrap, "AES/GCM/NoPadding", &map);
        let md = MatDesc::parse(&json).unwrap();
        let mut env = Envelope::new_v2(wrap, &edk, &iv, md).unwrap();
        if let Some(n) = len {
            env = env.with_unencrypted_content_length(n);
        }
        prop_assert_eq!(env.format(), FormatVersion::V2);
        let placement = if instruction { Placement::InstructionFile } else { Placement::ObjectMetadata };
        let mut expected = map.clone();
        if wrap == WrapAlg::KmsContext {
            expected.insert(RESERVED_CEK_ALG.to_owned(), "AES/GCM/NoPadding".to_owned());
        }
        check_round_trip(&env, placement, upper, &expected)?;
    }

    #[test]
    fn v3_round_trip(
        wrap in wrap_strategy(),
        edk in prop::collection::vec(any::<u8>(), 1..=MAX_EDK_LEN),
        message_id in non_zero::<28>(),
        commitment in prop::collection::vec(any::<u8>(), 28),
        map in map_strategy(),
        len in prop::option::of(any::<u64>()),
        instruction in any::<bool>(),
        upper in any::<bool>(),
    ) {
        let json = stored_map(wrap, "115", &map);
        let md = MatDesc::parse(&json).unwrap();
        let commitment: [u8; 28] = commitment.try_into().unwrap();
        let mut env = Envelope::new_v3(wrap, &edk, &message_id, &commitment, md).unwrap();
        if let Some(n) = len {
            env = env.with_unencrypted_content_length(n);
        }
        let placement = if instruction { Placement::InstructionFile } else { Placement::ObjectMetadata };
        let mut expected = map.clone();
        if wrap == WrapAlg::KmsContext {
            expected.insert(RESERVED_CEK_ALG.to_owned(), "115".to_owned());
        }
        check_round_trip(&env, placement, upper, &expected)?;
    }
}

// ---------------------------------------------------------------------------
// Never panics
// ---------------------------------------------------------------------------

fn key_strategy() -> impl Strategy<Value = String> {
    let keys: Vec<&'static str> = MetaKey::ALL.iter().map(|k| k.as_str()).collect();
    prop_oneof![
        4 => (prop::sample::select(keys), any::<u64>()).prop_map(|(k, case)| {
            k.chars()
                .enumerate()
                .map(|(i, c)| if case >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
                .collect()
        }),
        1 => "\\PC{0,20}",
    ]
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        // Base64 of various lengths, sometimes broken.
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|v| {
            let mut buf = vec![0u8; v.len().div_ceil(3) * 4];
            s3ec_core::b64::encode(&v, &mut buf).unwrap().to_owned()
        }),
        "[A-Za-z0-9+/=]{0,60}",
        Just("115".to_owned()),
        Just("02".to_owned()),
        Just("12".to_owned()),
        Just("22".to_owned()),
        Just("128".to_owned()),
        Just("AES/GCM/NoPadding".to_owned()),
        Just("AES/CBC/PKCS5Padding".to_owned()),
        Just("kms+context".to_owned()),
        Just("kms".to_owned()),
        Just(String::new()),
        Just("{}".to_owned()),
        Just(r#"{"aws:x-amz-cek-alg":"115"}"#.to_owned()),
        Just("=?UTF-8?B?eyJhIjoiYiJ9?=".to_owned()),
        "=\\?[A-Za-z0-9-]{0,8}\\?[BQbq]\\?[A-Za-z0-9+/=_]{0,20}\\?=",
        "\\PC{0,40}",
    ]
}

fn pairs_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((key_strategy(), value_strategy()), 0..12)
}

fn file_strategy() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        pairs_strategy().prop_map(|p| {
            let mut s = String::from("{");
            for (i, (k, v)) in p.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&serde_json::to_string(k).unwrap());
                s.push(':');
                if v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty() && v.len() < 10 {
                    s.push_str(v.trim_start_matches('0'));
                    if v.trim_start_matches('0').is_empty() {
                        s.push('0');
                    }
                } else if v.is_empty() && i.is_multiple_of(3) {
                    s.push_str("null");
                } else {
                    s.push_str(&serde_json::to_string(v).unwrap());
                }
            }
            s.push('}');
            Some(s)
        }),
        "\\PC{0,60}".prop_map(Some),
    ]
}

fn run_parse(pairs: &[(String, String)], file: Option<&str>, arena_len: usize) {
    let p: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let _ = detect(p.iter().copied());
    let mut buf = vec![0u8; arena_len];
    let mut arena = Arena::new(&mut buf);
    if let Ok(env) = Envelope::parse(p.iter().copied(), file, &mut arena) {
        // Whatever parses also re-emits.
        let _ = emit(&env, Placement::ObjectMetadata);
        let _ = emit(&env, Placement::InstructionFile);
        let mut s = String::new();
        env.write_instruction_file(&mut s).unwrap();
        let _ = env.encrypted_data_key();
        let _ = env.content_iv();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn parse_never_panics(
        pairs in pairs_strategy(),
        file in file_strategy(),
        arena_len in prop_oneof![Just(0usize), Just(16), Just(4096)],
    ) {
        run_parse(&pairs, file.as_deref(), arena_len);
    }

    #[test]
    fn mutated_valid_metadata_never_panics(
        which in 0usize..7,
        value in value_strategy(),
        v3 in any::<bool>(),
        drop in any::<bool>(),
    ) {
        let md = MatDesc::parse(r#"{"aws:x-amz-cek-alg":"115"}"#).unwrap();
        let env = if v3 {
            Envelope::new_v3(WrapAlg::KmsContext, &[3; 100], &[1; 28], &[2; 28], md).unwrap()
        } else {
            let md = MatDesc::parse(r#"{"aws:x-amz-cek-alg":"AES/GCM/NoPadding"}"#).unwrap();
            Envelope::new_v2(WrapAlg::KmsContext, &[3; 100], &[1; 12], md).unwrap()
        }
        .with_unencrypted_content_length(9);
        let mut meta = emit(&env, Placement::ObjectMetadata).unwrap();
        let i = which % meta.len();
        if drop {
            meta.remove(i);
        } else {
            meta[i].1 = value;
        }
        run_parse(&meta, None, 4096);
    }
}

//! Parse the content metadata of every interop vector (objects written by
//! real AWS S3 Encryption Clients) and check it against `case.json`.
//!
//! The vectors live in the shared folder beside the repository
//! (`$S3EC_SHARED_DIR`, else `<repo>/../shared`); when it is missing the test
//! prints a note and passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use s3ec_core::envelope::{detect, Detected, Envelope, Placement};
use s3ec_core::{Arena, FormatVersion, Suite, WrapAlg};
use serde_json::Value;

#[path = "../../s3ec-testkit/src/shared.rs"]
mod shared;

struct Case {
    dir: PathBuf,
    json: Value,
    instruction: Option<String>,
}

fn cases() -> Option<Vec<Case>> {
    let root = shared::require_interop_vectors("s3ec-core envelope vectors")?;
    let mut out = Vec::new();
    let mut producers: Vec<_> = std::fs::read_dir(&root).unwrap().flatten().collect();
    producers.sort_by_key(|e| e.path());
    for producer in producers {
        if !producer.path().is_dir() {
            continue;
        }
        let mut dirs: Vec<_> = std::fs::read_dir(producer.path())
            .unwrap()
            .flatten()
            .collect();
        dirs.sort_by_key(|e| e.path());
        for d in dirs {
            let dir = d.path();
            let case = dir.join("case.json");
            if !case.is_file() {
                continue;
            }
            let json: Value = serde_json::from_slice(&std::fs::read(&case).unwrap()).unwrap();
            let instr = dir.join("instruction.bin");
            let instruction = instr
                .is_file()
                .then(|| String::from_utf8(std::fs::read(&instr).unwrap()).unwrap());
            out.push(Case {
                dir,
                json,
                instruction,
            });
        }
    }
    Some(out)
}

fn b64decode(s: &str) -> Vec<u8> {
    let mut buf = vec![0u8; s.len()];
    s3ec_core::b64::decode(s3ec_core::MetaKey::KeyV2, s, &mut buf)
        .unwrap()
        .to_vec()
}

fn str_pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn every_vector_parses_as_described() {
    let Some(cases) = cases() else { return };
    assert!(!cases.is_empty(), "no vectors found");
    let mut checked_ok = 0;
    let mut rejected = 0;
    for case in &cases {
        let j = &case.json;
        let id = j["id"].as_str().unwrap();
        let metadata = str_pairs(&j["metadata"]);
        let pairs: Vec<(&str, &str)> = metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let expect_ok = j["expect"] == "ok";
        let tamper = j["tamper"].as_str().unwrap_or("");

        let detected = detect(pairs.iter().copied());
        let storage = j["storage"].as_str().unwrap();
        let file = match detected {
            Ok(Detected::Complete(_)) => None,
            Ok(Detected::InstructionFile { .. }) => Some(
                case.instruction
                    .as_deref()
                    .unwrap_or_else(|| panic!("{id}: instruction file needed but missing")),
            ),
            Err(e) => {
                assert!(!expect_ok, "{id}: detect failed: {e}");
                rejected += 1;
                continue;
            }
        };
        if expect_ok {
            assert_eq!(
                file.is_some(),
                storage == "instruction-file",
                "{id}: detection disagrees with storage {storage}"
            );
        }

        let mut buf = vec![0u8; 64 * 1024];
        let mut arena = Arena::new(&mut buf);
        let parsed = Envelope::parse(pairs.iter().copied(), file, &mut arena);

        if tamper.contains("cek-alg") {
            // A GCM->CBC relabel must fail here: the 12-byte IV is no CBC IV
            // (and for kms+context / AES/GCM / RSA-OAEP-SHA1 no writer pairs
            // the wrap with CBC).
            assert!(parsed.is_err(), "{id}: cek-alg relabel parsed");
            rejected += 1;
            continue;
        }
        let env = match parsed {
            Ok(env) => env,
            Err(e) => {
                assert!(!expect_ok, "{id} ({}): {e}", case.dir.display());
                rejected += 1;
                continue;
            }
        };

        // Format, wrap and cek-alg as stored.
        let format = match j["format"].as_str().unwrap() {
            "v1" => FormatVersion::V1,
            "v2" => FormatVersion::V2,
            "v3" => FormatVersion::V3,
            f => panic!("{id}: unknown format {f}"),
        };
        assert_eq!(env.format(), format, "{id}");
        let wrap = j["wrap_alg"].as_str().unwrap();
        if format == FormatVersion::V3 {
            assert_eq!(env.wrap().v3_code(), Some(wrap), "{id}");
        } else {
            assert_eq!(env.wrap().name(), wrap, "{id}");
        }
        assert_eq!(env.cek_alg(), j["cek_alg"].as_str().unwrap(), "{id}");
        let suite = match env.cek_alg() {
            "115" => Suite::AesGcmCommitting,
            "AES/GCM/NoPadding" => Suite::AesGcm,
            _ => Suite::AesCbc,
        };
        assert_eq!(env.suite(), suite, "{id}");
        assert_eq!(
            env.placement(),
            if storage == "instruction-file" {
                Placement::InstructionFile
            } else {
                Placement::ObjectMetadata
            },
            "{id}"
        );
        match suite {
            Suite::AesGcmCommitting => {
                assert!(env.message_id().is_some() && env.key_commitment().is_some());
                assert_eq!(env.iv(), None);
            }
            Suite::AesGcm => {
                assert_eq!(env.iv().map(<[u8]>::len), Some(12), "{id}");
                assert_eq!(env.tag_len_bits(), Some(128), "{id}");
            }
            _ => assert_eq!(env.iv().map(<[u8]>::len), Some(16), "{id}"),
        }
        if expect_ok {
            if let Some(n) = env.unencrypted_content_length() {
                assert_eq!(Some(n), j["plaintext_len"].as_u64(), "{id}");
            }
        }

        // KMS cases record the exact EDK and context KMS bound.
        let key = &j["key"];
        if key["kind"] == "kms" {
            let blob = b64decode(key["ciphertext_blob_b64"].as_str().unwrap());
            if !tamper.contains("x-amz-3") && !tamper.contains("key") {
                assert_eq!(env.encrypted_data_key(), &blob[..], "{id}");
            }
            let ctx = str_pairs(&key["kms_encryption_context"]);
            assert!(
                env.matdesc()
                    .eq_pairs(ctx.iter().map(|(k, v)| (k.as_str(), v.as_str())), &[]),
                "{id}: stored context {} differs from {:?}",
                env.matdesc().as_json(),
                ctx
            );
        } else if let Some(md) = j["material_description"].as_object() {
            let md: Vec<(String, String)> = md
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            assert!(
                env.matdesc()
                    .eq_pairs(md.iter().map(|(k, v)| (k.as_str(), v.as_str())), &[]),
                "{id}: material description {}",
                env.matdesc().as_json()
            );
        }
        if format == FormatVersion::V1 {
            let edk_len = env.encrypted_data_key().len();
            let expected = if wrap == "RSA" {
                WrapAlg::RsaPkcs1
            } else {
                WrapAlg::AesEcb
            };
            assert_eq!(env.wrap(), expected, "{id}: edk {edk_len} bytes");
        }

        // Re-emit and re-parse: the typed envelope survives both placements.
        for placement in [Placement::ObjectMetadata, Placement::InstructionFile] {
            let mut meta: Vec<(&'static str, String)> = Vec::new();
            let r = env.write_object_metadata(placement, &mut |k: s3ec_core::MetaKey, v: &str| {
                meta.push((k.as_str(), v.to_owned()));
                Ok(())
            });
            if let Err(e) = r {
                // Only an RSA-2048 V1 key plus a long matdesc could exceed
                // S3's limit; none of the vectors do.
                panic!("{id}: emit {placement:?}: {e}");
            }
            let mut body = String::new();
            let file = (placement == Placement::InstructionFile).then(|| {
                env.write_instruction_file(&mut body).unwrap();
                body.as_str()
            });
            let mut buf = vec![0u8; 64 * 1024];
            let mut arena = Arena::new(&mut buf);
            let back =
                Envelope::parse(meta.iter().map(|(k, v)| (*k, v.as_str())), file, &mut arena)
                    .unwrap_or_else(|e| panic!("{id}: re-parse {placement:?}: {e}"));
            assert_eq!(back.format(), env.format(), "{id}");
            assert_eq!(back.suite(), env.suite(), "{id}");
            assert_eq!(back.wrap(), env.wrap(), "{id}");
            assert_eq!(back.cek_alg(), env.cek_alg(), "{id}");
            assert_eq!(back.encrypted_data_key(), env.encrypted_data_key(), "{id}");
            assert_eq!(back.iv(), env.iv(), "{id}");
            assert_eq!(back.message_id(), env.message_id(), "{id}");
            assert_eq!(back.key_commitment(), env.key_commitment(), "{id}");
            assert_eq!(
                back.unencrypted_content_length(),
                env.unencrypted_content_length(),
                "{id}"
            );
            assert!(back.matdesc().eq_map(&env.matdesc()), "{id}");
        }
        if expect_ok {
            checked_ok += 1;
        }
    }
    let ok_total = cases.iter().filter(|c| c.json["expect"] == "ok").count();
    assert_eq!(checked_ok, ok_total, "every expect:ok case must parse");
    eprintln!(
        "{} vectors: {checked_ok} ok parsed, {rejected} rejected at the envelope layer",
        cases.len()
    );
}

#[test]
fn instruction_file_cases_need_the_file() {
    let Some(cases) = cases() else { return };
    for case in cases.iter().filter(|c| c.instruction.is_some()) {
        let id = case.json["id"].as_str().unwrap();
        let metadata = str_pairs(&case.json["metadata"]);
        let pairs: Vec<(&str, &str)> = metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = Envelope::parse(pairs.iter().copied(), None, &mut Arena::empty());
        assert_eq!(
            r.unwrap_err(),
            s3ec_core::Error::Format(s3ec_core::FormatError::InstructionFileRequired),
            "{id}"
        );
    }
}

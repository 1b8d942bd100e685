//! Envelope properties shared by the `metadata` and `instruction_file`
//! targets.

use s3ec_core::envelope::{
    detect, Detected, Envelope, Placement, MAX_METADATA_VALUE_LEN,
};
use s3ec_core::json::{FlatObject, SliceWriter};
use s3ec_core::matdesc::MatDesc;
use s3ec_core::{Arena, Error, FormatError, FormatVersion, MetaKey, Suite, WrapAlg};

/// The arena [`Envelope::parse`] documents as always sufficient: the
/// instruction file's length plus twice the length of the object's map
/// values.
pub fn documented_arena_len<'a>(
    meta: impl IntoIterator<Item = (&'a str, &'a str)>,
    file: Option<&str>,
) -> usize {
    let maps: usize = meta
        .into_iter()
        .filter(|(k, _)| {
            matches!(
                MetaKey::parse(k),
                Some(MetaKey::MatDesc | MetaKey::MatDescV3 | MetaKey::EncryptionContextV3)
            )
        })
        .map(|(_, v)| v.len())
        .sum();
    file.map_or(0, str::len) + 2 * maps
}

/// `S3EC_FUZZ_TRACE=1`: print each parse outcome to stderr (to see what a
/// corpus reaches: `target/.../metadata corpus/metadata/* 2>&1 | sort | uniq -c`).
pub fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("S3EC_FUZZ_TRACE").is_some_and(|v| v != "0"))
}

/// How big an arena to give the first parse.
#[derive(Debug, Clone, Copy)]
pub enum ArenaSize {
    /// The documented bound.
    Documented,
    /// A given size (may be too small).
    Exactly(usize),
}

/// Parse `meta` (+ `file`) and check everything that must hold for any
/// input; round-trip every envelope that parses.
pub fn check_parse(meta: &[(String, String)], file: Option<&str>, size: ArenaSize) {
    let pairs: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let it = || pairs.iter().copied();

    let det = detect(it());
    let enough = documented_arena_len(it(), file);

    // The parse the properties are stated about, with the documented arena.
    let mut buf = vec![0u8; enough];
    let mut arena = Arena::new(&mut buf);
    let parsed = Envelope::parse(it(), file, &mut arena);
    if let Err(e) = &parsed {
        assert!(
            !matches!(e, Error::BufferTooSmall { .. }),
            "documented arena bound ({enough}) too small: {e:?}"
        );
    }

    if trace() {
        match &parsed {
            Ok(env) => eprintln!("TRACE ok {:?} {:?} {:?}", env.format(), env.wrap(), env.placement()),
            Err(e) => eprintln!("TRACE err {e:?}"),
        }
    }

    // detect and parse agree.
    match (&det, file) {
        (Err(e), _) => assert_eq!(parsed.as_ref().err(), Some(e), "detect failed, parse did not"),
        (Ok(Detected::Complete(v)), None) => match &parsed {
            Ok(env) => assert_eq!(env.format(), *v),
            Err(e) => assert!(
                !matches!(e, Error::Format(FormatError::InstructionFileRequired)),
                "complete metadata but parse wants an instruction file"
            ),
        },
        (Ok(Detected::Complete(_)), Some(_)) => assert_eq!(
            parsed.as_ref().err(),
            Some(&Error::Format(FormatError::InvalidCombination)),
            "instruction file beside complete metadata must be refused"
        ),
        (Ok(Detected::InstructionFile { .. }), None) => assert_eq!(
            parsed.as_ref().err(),
            Some(&Error::Format(FormatError::InstructionFileRequired))
        ),
        (Ok(Detected::InstructionFile { v3_split }), Some(_)) => {
            if let Ok(env) = &parsed {
                assert_eq!(env.placement(), Placement::InstructionFile);
                assert_eq!(env.format() == FormatVersion::V3, *v3_split);
            }
        }
    }
    if det.is_ok() && file.is_none() {
        // With an instruction file beside it, a complete envelope is refused
        // and a missing one is looked for in the file.
        let mut b2 = vec![0u8; enough + 2];
        let mut a2 = Arena::new(&mut b2);
        let with_file = Envelope::parse(it(), Some("{}"), &mut a2);
        match det {
            Ok(Detected::Complete(_)) => assert_eq!(
                with_file.err(),
                Some(Error::Format(FormatError::InvalidCombination))
            ),
            _ => assert!(with_file.is_err(), "an empty instruction file parsed"),
        }
    }

    // A smaller arena either fails with BufferTooSmall or gives the same
    // answer.
    if let ArenaSize::Exactly(n) = size {
        let mut small = vec![0u8; n];
        let mut a = Arena::new(&mut small);
        match (Envelope::parse(it(), file, &mut a), &parsed) {
            (Err(Error::BufferTooSmall { needed }), _) => {
                assert!(needed > n, "BufferTooSmall {{ needed: {needed} }} with {n} bytes")
            }
            (Ok(small_env), Ok(env)) => assert_eq!(&small_env, env),
            (Ok(_), Err(e)) => panic!("small arena parsed, documented arena failed: {e:?}"),
            (Err(_), Ok(_)) => panic!("small arena failed with a non-buffer error, big one parsed"),
            (Err(_), Err(_)) => {}
        }
    }

    if let Ok(env) = &parsed {
        check_envelope(env);
    }
}

/// Field-wise equality ignoring the placement.
pub fn same_fields(a: &Envelope<'_>, b: &Envelope<'_>) -> bool {
    a.format() == b.format()
        && a.suite() == b.suite()
        && a.wrap() == b.wrap()
        && a.encrypted_data_key() == b.encrypted_data_key()
        && a.iv() == b.iv()
        && a.message_id() == b.message_id()
        && a.key_commitment() == b.key_commitment()
        && a.matdesc().eq_map(&b.matdesc())
        && a.cek_alg() == b.cek_alg()
        && a.tag_len_bits() == b.tag_len_bits()
        && a.unencrypted_content_length() == b.unencrypted_content_length()
}

fn canonical(m: &MatDesc<'_>) -> String {
    let mut s = String::new();
    m.write_canonical(&mut s).unwrap();
    s
}

/// Invariants of a parsed envelope, then a round trip through both writers.
pub fn check_envelope(env: &Envelope<'_>) {
    // Accessor invariants the docs promise.
    match env.format() {
        FormatVersion::V1 => {
            assert_eq!(env.suite(), Suite::AesCbc);
            assert!(matches!(env.wrap(), WrapAlg::AesEcb | WrapAlg::RsaPkcs1));
        }
        FormatVersion::V2 => assert!(matches!(env.suite(), Suite::AesGcm | Suite::AesCbc)),
        FormatVersion::V3 => {
            assert_eq!(env.suite(), Suite::AesGcmCommitting);
            assert!(env.message_id().is_some_and(|m| m.iter().any(|&b| b != 0)));
            assert!(env.key_commitment().is_some());
            assert_eq!(env.content_iv(), &s3ec_core::suite::COMMITTING_IV);
        }
    }
    if let Some(iv) = env.iv() {
        assert_eq!(iv.len(), env.suite().iv_len());
        assert!(iv.iter().any(|&b| b != 0));
    }
    assert!(!env.encrypted_data_key().is_empty());
    assert!(env.encrypted_data_key().len() <= s3ec_core::envelope::MAX_EDK_LEN);
    match env.suite() {
        Suite::AesGcm => assert_eq!(env.tag_len_bits(), Some(128)),
        _ => assert_eq!(env.tag_len_bits(), None),
    }
    let _ = format!("{env:?}");

    // The constructors build the same envelope from the same values.
    let md = env.matdesc();
    let rebuilt = match (env.format(), env.suite()) {
        (FormatVersion::V2, Suite::AesGcm) if !env.wrap().is_legacy() => {
            let iv: [u8; 12] = env.iv().unwrap().try_into().unwrap();
            Some(Envelope::new_v2(env.wrap(), env.encrypted_data_key(), &iv, md))
        }
        (FormatVersion::V3, _) => Some(Envelope::new_v3(
            env.wrap(),
            env.encrypted_data_key(),
            env.message_id().unwrap(),
            env.key_commitment().unwrap(),
            md,
        )),
        _ => None,
    };
    if let Some(Ok(mut b)) = rebuilt {
        if let Some(n) = env.unencrypted_content_length() {
            b = b.with_unencrypted_content_length(n);
        }
        assert_eq!(b.placement(), Placement::ObjectMetadata);
        assert!(same_fields(env, &b), "constructor differs:\n{env:?}\n{b:?}");
    }

    for placement in [Placement::ObjectMetadata, Placement::InstructionFile] {
        roundtrip(env, placement);
    }
}

/// Write `env` for `placement` and parse it back.
pub fn roundtrip(env: &Envelope<'_>, placement: Placement) {
    let mut meta: Vec<(MetaKey, String)> = Vec::new();
    let r = env.write_object_metadata(placement, &mut |k: MetaKey, v: &str| {
        meta.push((k, v.to_owned()));
        Ok(())
    });
    match r {
        Ok(()) => {}
        Err(Error::LimitExceeded) if placement == Placement::ObjectMetadata => {
            // Only a map too large for S3's 2 KB per value may refuse.
            assert!(
                canonical(&env.matdesc()).len() > MAX_METADATA_VALUE_LEN,
                "LimitExceeded for a small map"
            );
            return;
        }
        Err(e) => panic!("write_object_metadata({placement:?}) failed: {e:?} for {env:?}"),
    }
    for (i, (k, v)) in meta.iter().enumerate() {
        assert!(
            meta[..i].iter().all(|(k2, _)| k2 != k),
            "key {k} written twice"
        );
        assert!(v.is_ascii(), "non-ASCII value for {k}: {v:?}");
        assert!(v.len() <= MAX_METADATA_VALUE_LEN, "{k} too long");
    }
    let file = if placement == Placement::InstructionFile {
        let mut s = String::new();
        env.write_instruction_file(&mut s).unwrap();
        assert_eq!(s.len(), env.instruction_file_len());
        assert!(s.is_ascii());
        FlatObject::parse(&s).expect("instruction file is valid flat JSON");
        // A buffer one byte short fails with the full length; exact fits.
        let mut exact = vec![0u8; s.len()];
        let mut w = SliceWriter::new(&mut exact);
        env.write_instruction_file(&mut w).unwrap();
        assert_eq!(w.as_str(), s);
        if !s.is_empty() {
            let mut short = vec![0u8; s.len() - 1];
            let mut w = SliceWriter::new(&mut short);
            assert_eq!(
                env.write_instruction_file(&mut w),
                Err(Error::BufferTooSmall { needed: s.len() })
            );
        }
        Some(s)
    } else {
        None
    };

    let pairs: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let expect_detect = match placement {
        Placement::ObjectMetadata => Detected::Complete(env.format()),
        Placement::InstructionFile => Detected::InstructionFile {
            v3_split: env.format() == FormatVersion::V3,
        },
    };
    assert_eq!(detect(pairs.iter().copied()), Ok(expect_detect), "written: {meta:?}");

    let enough = documented_arena_len(pairs.iter().copied(), file.as_deref());
    let mut buf = vec![0u8; enough];
    let mut arena = Arena::new(&mut buf);
    let back = match Envelope::parse(pairs.iter().copied(), file.as_deref(), &mut arena) {
        Ok(b) => b,
        Err(e) => panic!(
            "written envelope does not parse back ({placement:?}): {e:?}\n  env: {env:?}\n  meta: {meta:?}\n  file: {file:?}"
        ),
    };
    assert_eq!(back.placement(), placement);
    assert!(
        same_fields(env, &back),
        "round trip ({placement:?}) changed the envelope:\n  before: {env:?}\n  after:  {back:?}\n  meta: {meta:?}\n  file: {file:?}"
    );
    if placement == env.placement() {
        assert_eq!(env, &back);
    }

    // Writing is deterministic: the re-parsed envelope writes the same text.
    let mut again: Vec<(MetaKey, String)> = Vec::new();
    back.write_object_metadata(placement, &mut |k: MetaKey, v: &str| {
        again.push((k, v.to_owned()));
        Ok(())
    })
    .unwrap();
    assert_eq!(meta, again, "second write differs");
    if let Some(f) = &file {
        let mut s = String::new();
        back.write_instruction_file(&mut s).unwrap();
        assert_eq!(&s, f, "second instruction file differs");
    }
}

/// Seeds in a readable form: an input that starts with `#meta\n` holds one
/// `key=value` entry per line, optionally followed by a line `#file` and
/// the instruction file body (everything after that line, verbatim).
/// Returns `None` for any other input.
pub fn literal(data: &[u8]) -> Option<(Vec<(String, String)>, Option<String>)> {
    let text = std::str::from_utf8(data).ok()?;
    let rest = text.strip_prefix("#meta\n")?;
    let (meta_text, file) = match rest.split_once("#file\n") {
        Some((m, f)) => (m, Some(f.to_owned())),
        None => (rest, None),
    };
    let meta = meta_text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (l.to_owned(), String::new()),
        })
        .collect();
    Some((meta, file))
}

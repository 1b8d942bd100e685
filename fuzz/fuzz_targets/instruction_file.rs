//! Instruction-file bodies (arbitrary text, and JSON built from plausible
//! entries with random escapes), with empty, neutral or V3-split object
//! metadata, through `Envelope::parse`; envelopes that parse are written
//! back and parsed again.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use s3ec_core::MetaKey;
use s3ec_fuzz::envelope::{check_parse, ArenaSize};
use s3ec_fuzz::gen::{self, chance, pick, small, FileValue, Shape};

/// Object metadata beside a raw body.
fn object_side(u: &mut Unstructured<'_>) -> Result<Vec<(String, String)>> {
    let (ctx, keys) = gen::template(u, Shape::SplitV3)?;
    Ok(match small(u, 0, 3)? {
        0 => Vec::new(),
        1 => vec![
            ("x-amz-unencrypted-content-length".to_owned(), "17".to_owned()),
            ("x-amz-crypto-instr-file".to_owned(), String::new()),
            ("content-type".to_owned(), "text/plain".to_owned()),
        ],
        _ => {
            let mut v = Vec::new();
            for k in keys {
                v.push((gen::key_case(u, k.as_str())?, gen::value_for(u, k, &ctx)?));
            }
            v
        }
    })
}

fn file_value(u: &mut Unstructured<'_>, k: MetaKey, ctx: &gen::Ctx) -> Result<FileValue> {
    let numeric = matches!(k, MetaKey::TagLen | MetaKey::UnencryptedContentLength);
    if numeric && chance(u, 1, 3)? {
        let n = *pick(u, &["128", "17", "0", "-1", "1.5e3", "1e400", "128.0", "0128"])?;
        return Ok(FileValue::Raw(n.to_owned()));
    }
    if chance(u, 1, 24)? {
        let r = *pick(u, &["null", "true", "{}", "[]", "{\"a\":\"b\"}", "12", "nul", "\"\\ud800\""])?;
        return Ok(FileValue::Raw(r.to_owned()));
    }
    let v = gen::value_for(u, k, ctx)?;
    // Map values in a file are plain JSON strings holding JSON; RFC 2047 is
    // an object-metadata matter, but a file may still carry such text.
    Ok(FileValue::Str(v))
}

/// Plausible object metadata and instruction file, split the way writers
/// split them, then edited.
fn structured(u: &mut Unstructured<'_>) -> Result<(Vec<(String, String)>, String)> {
    let sh = *pick(u, &[Shape::V2, Shape::V3, Shape::V1, Shape::Free])?;
    let (ctx, mut keys) = gen::template(u, sh)?;
    if sh == Shape::V3 && chance(u, 1, 8)? {
        keys.push(MetaKey::InstructionFileMarker);
    }
    let mut object = Vec::new();
    let mut file: Vec<(String, FileValue)> = Vec::new();
    for k in keys {
        let on_object = match k {
            MetaKey::ContentCipherV3 | MetaKey::KeyCommitmentV3 | MetaKey::MessageIdV3 => {
                !chance(u, 1, 16)?
            }
            MetaKey::UnencryptedContentLength => chance(u, 1, 2)?,
            _ => chance(u, 1, 32)?,
        };
        let key = gen::key_case(u, k.as_str())?;
        if on_object {
            object.push((key, gen::value_for(u, k, &ctx)?));
        } else {
            let v = file_value(u, k, &ctx)?;
            file.push((key, v));
        }
    }
    // Edits to the file.
    let edits = if chance(u, 1, 2)? { small(u, 0, 3)? } else { 0 };
    for _ in 0..edits {
        match small(u, 0, 4)? {
            0 if !file.is_empty() => {
                let i = small(u, 0, file.len() - 1)?;
                file.remove(i);
            }
            1 => {
                let k = *pick(u, &MetaKey::ALL)?;
                let v = file_value(u, k, &ctx)?;
                file.push((gen::key_case(u, k.as_str())?, v));
            }
            2 if !file.is_empty() => {
                // Same key again (another case, or escaped differently).
                let i = small(u, 0, file.len() - 1)?;
                let k = file[i].0.to_ascii_uppercase();
                let v = file[i].1.clone();
                file.push((k, v));
            }
            3 => file.push((gen::text(u)?, FileValue::Str(gen::text(u)?))),
            _ => {}
        }
    }
    let mut body = gen::render_file(u, &file)?;
    if chance(u, 1, 24)? {
        let mut at = small(u, 0, body.len())?;
        while !body.is_char_boundary(at) {
            at -= 1;
        }
        body.truncate(at);
    } else if chance(u, 1, 24)? {
        body.push_str(&gen::text(u)?);
    }
    gen::mutate(u, &mut object, &ctx)?;
    Ok((object, body))
}

fuzz_target!(|data: &[u8]| {
    if let Some((meta, file)) = s3ec_fuzz::envelope::literal(data) {
        check_parse(&meta, Some(file.as_deref().unwrap_or("")), ArenaSize::Documented);
        return;
    }
    let mut u = Unstructured::new(data);
    let raw = u.int_in_range(0..=5u8).unwrap_or(1) == 0;
    let size = match u.int_in_range(0..=3u8).unwrap_or(1) {
        0 => ArenaSize::Exactly(u.int_in_range(0..=1024usize).unwrap_or(0)),
        _ => ArenaSize::Documented,
    };
    let (meta, body) = if raw {
        let Ok(meta) = object_side(&mut u) else { return };
        let rest = u.take_rest();
        (meta, String::from_utf8_lossy(rest).into_owned())
    } else {
        match structured(&mut u) {
            Ok(x) => x,
            Err(_) => return,
        }
    };
    check_parse(&meta, Some(&body), size);
});

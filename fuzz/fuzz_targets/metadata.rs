//! Object metadata through `detect` and `Envelope::parse`; every envelope
//! that parses is written back (object metadata and instruction file) and
//! parsed again.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use s3ec_core::MetaKey;
use s3ec_fuzz::envelope::{check_parse, ArenaSize};
use s3ec_fuzz::gen;

/// Arbitrary pairs, keys drawn from the S3EC mapkeys half of the time.
fn raw_pairs(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<(String, String)>> {
    let n = u.int_in_range(0..=12usize)?;
    let mut out = Vec::new();
    for _ in 0..n {
        let k = if u.arbitrary::<bool>()? {
            let k = *u.choose(&MetaKey::ALL)?;
            gen::key_case(u, k.as_str())?
        } else {
            u.arbitrary::<String>()?
        };
        out.push((k, u.arbitrary::<String>()?));
    }
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    if let Some((meta, file)) = s3ec_fuzz::envelope::literal(data) {
        check_parse(&meta, file.as_deref(), ArenaSize::Documented);
        return;
    }
    let mut u = Unstructured::new(data);
    let raw = u.int_in_range(0..=7u8).unwrap_or(1) == 0;
    let meta = if raw {
        raw_pairs(&mut u)
    } else {
        gen::envelope_entries(&mut u)
    };
    let Ok(meta) = meta else { return };
    let size = match u.int_in_range(0..=3u8).unwrap_or(1) {
        0 => ArenaSize::Exactly(u.int_in_range(0..=512usize).unwrap_or(0)),
        _ => ArenaSize::Documented,
    };
    check_parse(&meta, None, size);
});

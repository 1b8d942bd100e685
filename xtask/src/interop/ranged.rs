//! Ranged-get cells: a peer-written object read by range, by the peer
//! itself (`get --range SPEC --legacy`) and by s3ec
//! (`Client::get_object_range`); both must equal that slice of the
//! plaintext.

use std::fs;

use s3ec_keyring::Context;

use super::cells::{Cell, Expect, Op};
use super::env::Env;
use super::peer::{self, Call};
use super::{compare, judge_refusal, Outcome};

/// The object a ranged cell reads.
pub(crate) struct Object<'a> {
    /// Its S3 key.
    pub(crate) key: &'a str,
    /// Log stem.
    pub(crate) stem: &'a str,
    /// The whole plaintext.
    pub(crate) plaintext: &'a [u8],
    /// The put's encryption context (given to the peer's get).
    pub(crate) context: Option<&'a Context>,
    /// The context s3ec expects.
    pub(crate) expected: Option<&'a Context>,
}

/// `bytes=A-B` / `bytes=A-` / `bytes=-N` as (first, last) over an object of
/// `len` bytes, `last` clamped to the end; `None` when it selects nothing.
pub(crate) fn resolve(spec: &str, len: u64) -> Option<(u64, u64)> {
    let r = spec.strip_prefix("bytes=")?;
    let (a, b) = r.split_once('-')?;
    let (first, last) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (len.saturating_sub(n), len.checked_sub(1)?)
    } else {
        let first: u64 = a.parse().ok()?;
        let last = if b.is_empty() {
            u64::MAX
        } else {
            b.parse().ok()?
        };
        (first, last)
    };
    let last = last.min(len.checked_sub(1)?);
    (first <= last).then_some((first, last))
}

/// Run one ranged cell after the peer's put succeeded.
pub(crate) fn compare_ranges(
    env: &Env,
    cell: &Cell,
    obj: &Object<'_>,
    spec: &str,
) -> Result<Outcome, String> {
    let Op::PeerToRust {
        mode,
        read,
        matdesc,
        ..
    } = &cell.op
    else {
        return Err("ranged cells are peer-written".into());
    };
    let len = obj.plaintext.len() as u64;
    let (first, last) = resolve(spec, len).ok_or_else(|| format!("bad range {spec}"))?;
    let want = &obj.plaintext[first as usize..=last as usize];
    // s3ec.
    let (ring, _) = env.keyring(cell.kind, None)?;
    let client = env.client(ring, read.commitment, read.legacy)?;
    let mut ours = Vec::new();
    let opts = s3ec_client::GetOptions {
        expected_context: obj.expected.cloned(),
        ..Default::default()
    };
    let s3ec_last = if spec.ends_with('-') { u64::MAX } else { last };
    if let Err(e) =
        client.get_object_range_with(&env.bucket, obj.key, first, s3ec_last, &mut ours, &opts)
    {
        return Ok(Outcome::Fail(format!("s3ec ranged get {spec}: {e}")));
    }
    if let Outcome::Fail(m) = compare(&ours, want) {
        return Ok(Outcome::Fail(format!("s3ec ranged get {spec}: {m}")));
    }
    // The peer.
    let out_path = env.workdir.join(format!("{}.range", obj.stem));
    let extra = ["--range", spec];
    let get = peer::run(
        env,
        &Call {
            peer: cell.peer,
            cmd: "get",
            mode,
            key: obj.key,
            file: &out_path,
            kind: cell.kind,
            context: obj.context,
            matdesc: cell.peer.get_matdesc(matdesc.as_ref()),
            instruction_file: false,
            multipart: false,
            legacy: true,
            extra: &extra,
        },
        obj.stem,
    )?;
    if get.code != Some(0) {
        let _ = fs::remove_file(&out_path);
        return Ok(judge_refusal(
            cell.expect,
            &get,
            obj.key,
            "the peer's ranged get",
        ));
    }
    let theirs = fs::read(&out_path)
        .map_err(|e| format!("the peer's output {}: {e}", out_path.display()))?;
    let _ = fs::remove_file(&out_path);
    if let Expect::Cannot { says, .. } = cell.expect {
        return Ok(Outcome::Fail(format!(
            "the peer was expected to refuse ({says:?}) but read the range"
        )));
    }
    if let Expect::WholeObject { says } = cell.expect {
        return Ok(if theirs == obj.plaintext {
            Outcome::Cannot(format!(
                "{says}: {spec} returned all {} bytes of the object (s3ec: the {} bytes asked for)",
                theirs.len(),
                ours.len()
            ))
        } else {
            Outcome::Fail(format!(
                "{spec}: expected the peer's known whole-object answer, got {} bytes",
                theirs.len()
            ))
        });
    }
    if theirs != ours {
        return Ok(Outcome::Fail(format!(
            "{spec}: the peer's ranged get returned {} bytes, s3ec's {} (want {})",
            theirs.len(),
            ours.len(),
            want.len()
        )));
    }
    Ok(Outcome::Pass)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn range_forms() {
        assert_eq!(resolve("bytes=0-0", 10), Some((0, 0)));
        assert_eq!(resolve("bytes=3-", 10), Some((3, 9)));
        assert_eq!(resolve("bytes=5-99", 10), Some((5, 9)));
        assert_eq!(resolve("bytes=-4", 10), Some((6, 9)));
        assert_eq!(resolve("bytes=-40", 10), Some((0, 9)));
        assert_eq!(resolve("bytes=10-12", 10), None);
        assert_eq!(resolve("0-1", 10), None);
    }
}

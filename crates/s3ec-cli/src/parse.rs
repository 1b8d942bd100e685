//! The CLI's text parsers: `K=V` options, `--shard I/N`, inventory CSV
//! lines and AES key files.
//!
//! Self-contained on purpose (std, `base64ct` and `zeroize` only): the fuzz
//! target `cli_parse` (`fuzz/fuzz_targets/cli_parse.rs`) compiles this very
//! file with `#[path]`, without building the CLI's network stack.

use zeroize::Zeroizing;

/// `--context K=V`, `--matdesc K=V`, `--new-matdesc K=V`: split at the first
/// `=`; the key must not be empty, the value may be (and may hold `=`).
pub(crate) fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

/// `--shard I/N` with `0 <= I < N`.
pub(crate) fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("{s:?} is not I/N with 0 <= I < N");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let i: u64 = i.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Split one CSV line (RFC 4180 quoting, no embedded newlines: S3
/// Inventory URL-encodes keys).
pub(crate) fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The key bytes of an AES key file: standard padded base64 on one line,
/// surrounding whitespace ignored. `None` when it is not base64 (the
/// length is the keyring's to check).
pub(crate) fn aes_key_text(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    use base64ct::Encoding;
    base64ct::Base64::decode_vec(text.trim())
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_shard_csv_key() {
        assert_eq!(parse_kv("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_kv("a="), Ok(("a".into(), String::new())));
        assert!(parse_kv("=b").is_err() && parse_kv("ab").is_err());
        assert_eq!(parse_shard(" 1 / 3 "), Ok((1, 3)));
        assert!(parse_shard("3/3").is_err() && parse_shard("0/0").is_err());
        assert_eq!(
            csv_fields(r#""b","a ""q"", b",7"#),
            vec!["b".to_string(), "a \"q\", b".into(), "7".into()]
        );
        assert_eq!(csv_fields(""), vec![String::new()]);
        assert_eq!(aes_key_text(" AAAA\n").as_deref(), Some(&vec![0u8; 3]));
        assert!(aes_key_text("A").is_none());
    }
}

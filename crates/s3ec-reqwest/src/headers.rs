//! The response headers the transport reads: numbers, `Content-Range`, user
//! metadata.
//!
//! Self-contained on purpose (std and `http` only): the fuzz target
//! `s3_responses` (`fuzz/fuzz_targets/s3_responses.rs`) compiles this very
//! file with `#[path]`, without building reqwest and the AWS crates.

use http::HeaderMap;

/// A header as text (lossy UTF-8), if present.
pub(crate) fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// A header as a decimal number (surrounding blanks allowed), if present.
pub(crate) fn header_u64(headers: &HeaderMap, name: &str) -> Result<Option<u64>, String> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => std::str::from_utf8(v.as_bytes())
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| format!("malformed {name} header {v:?}")),
    }
}

/// Parse `Content-Range: bytes first-last/total`.
pub(crate) fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let first = first.trim().parse::<u64>().ok()?;
    let last = last.trim().parse::<u64>().ok()?;
    let total = total.trim().parse::<u64>().ok()?;
    (first <= last && last < total).then_some((first, last, total))
}

/// The user metadata: every `x-amz-meta-*` header, prefix taken off.
pub(crate) fn metadata_of(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            let key = name.as_str().strip_prefix("x-amz-meta-")?;
            Some((
                key.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ))
        })
        .collect()
}

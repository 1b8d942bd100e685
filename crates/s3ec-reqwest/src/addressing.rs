//! Endpoints and request URLs: path-style and virtual-hosted addressing,
//! and the S3 flavour of SigV4 URI encoding (keys encoded once, `/` kept).

use s3ec_client::transport::{ErrorKind, TransportError};

/// Whether a byte stays as it is in an encoded URI component (RFC 3986
/// unreserved characters, as SigV4 requires).
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn push_escaped(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0x0f)]));
}

/// Percent-encode an object key for a URI path: every byte but the
/// unreserved characters and `/` becomes `%XX` (upper-case hex).
pub(crate) fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 8);
    for &b in key.as_bytes() {
        if unreserved(b) || b == b'/' {
            out.push(char::from(b));
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

/// Percent-encode a query-string name or value (everything but the
/// unreserved characters).
pub(crate) fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for &b in value.as_bytes() {
        if unreserved(b) {
            out.push(char::from(b));
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

/// An S3 endpoint: scheme, host, optional port and a base path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) scheme: String,
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    /// Empty, or starting with `/` and without a trailing `/`.
    pub(crate) base_path: String,
    /// Whether this endpoint is AWS's own (derived from the region).
    pub(crate) aws_default: bool,
}

impl Endpoint {
    /// Parse an endpoint URL such as `http://127.0.0.1:9000` or
    /// `https://s3.eu-west-1.amazonaws.com`.
    pub(crate) fn parse(url: &str) -> Result<Endpoint, TransportError> {
        let bad = |why: &str| {
            TransportError::new(
                ErrorKind::Other,
                format!("invalid S3 endpoint {url:?}: {why}"),
            )
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let scheme = parsed.scheme().to_string();
        if scheme != "http" && scheme != "https" {
            return Err(bad("the scheme must be http or https"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("no query or fragment allowed"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad("no user information allowed"));
        }
        let host = match parsed.host_str() {
            Some(h) if !h.is_empty() => h.to_string(),
            _ => return Err(bad("no host")),
        };
        let base_path = parsed.path().trim_end_matches('/').to_string();
        Ok(Endpoint {
            scheme,
            host,
            port: parsed.port(),
            base_path,
            aws_default: false,
        })
    }

    /// AWS's regional endpoint for a region.
    pub(crate) fn aws(region: &str) -> Endpoint {
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        Endpoint {
            scheme: "https".to_string(),
            host: format!("s3.{region}.{suffix}"),
            port: None,
            base_path: String::new(),
            aws_default: true,
        }
    }

    /// Whether the host is an IP address or `localhost` (no virtual hosts
    /// there).
    fn host_is_ip_or_localhost(&self) -> bool {
        self.host.starts_with('[')
            || self.host.parse::<std::net::Ipv4Addr>().is_ok()
            || self.host.eq_ignore_ascii_case("localhost")
    }

    /// The URL of an endpoint, for display.
    pub(crate) fn url(&self) -> String {
        let mut s = format!("{}://{}", self.scheme, self.host);
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        s.push_str(&self.base_path);
        s
    }
}

/// Whether a bucket name can be a DNS label in a virtual-hosted URL:
/// 3 to 63 lower-case letters, digits, hyphens (and dots over plain
/// HTTP: a dotted bucket does not match a TLS wildcard certificate),
/// starting and ending with a letter or digit, not an IP address.
pub(crate) fn bucket_is_virtual_hostable(bucket: &str, https: bool) -> bool {
    let b = bucket.as_bytes();
    if b.len() < 3 || b.len() > 63 {
        return false;
    }
    let edge_ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !edge_ok(b[0]) || !edge_ok(b[b.len() - 1]) {
        return false;
    }
    if bucket.parse::<std::net::Ipv4Addr>().is_ok() || bucket.contains("..") {
        return false;
    }
    b.iter().all(|&c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || (c == b'.' && !https)
    })
}

/// How requests address buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Path,
    VirtualHosted,
}

/// Pick the addressing style for a bucket: an explicit choice wins;
/// otherwise virtual-hosted where the endpoint has a DNS name and the
/// bucket is a valid label, path-style elsewhere.
pub(crate) fn style_for(endpoint: &Endpoint, path_style: Option<bool>, bucket: &str) -> Style {
    match path_style {
        Some(true) => Style::Path,
        Some(false) => Style::VirtualHosted,
        None => {
            if endpoint.host_is_ip_or_localhost()
                || !bucket_is_virtual_hostable(bucket, endpoint.scheme == "https")
            {
                Style::Path
            } else {
                Style::VirtualHosted
            }
        }
    }
}

/// Build a request URL: the endpoint, the bucket (in the host or the
/// path), the encoded key and an already encoded query (`uploads`,
/// `partNumber=1&uploadId=...`).
pub(crate) fn object_url(
    endpoint: &Endpoint,
    style: Style,
    bucket: &str,
    key: &str,
    query: &str,
) -> Result<reqwest::Url, TransportError> {
    if bucket.is_empty() {
        return Err(TransportError::new(ErrorKind::Other, "empty bucket name"));
    }
    if key.is_empty() {
        return Err(TransportError::new(ErrorKind::Other, "empty object key"));
    }
    build_url(endpoint, style, bucket, key, query)
}

/// The URL of a bucket-level request (`ListObjectsV2`): the bucket's root
/// with an already encoded query.
pub(crate) fn bucket_url(
    endpoint: &Endpoint,
    style: Style,
    bucket: &str,
    query: &str,
) -> Result<reqwest::Url, TransportError> {
    if bucket.is_empty() {
        return Err(TransportError::new(ErrorKind::Other, "empty bucket name"));
    }
    build_url(endpoint, style, bucket, "", query)
}

fn build_url(
    endpoint: &Endpoint,
    style: Style,
    bucket: &str,
    key: &str,
    query: &str,
) -> Result<reqwest::Url, TransportError> {
    let mut path = endpoint.base_path.clone();
    let host = match style {
        Style::Path => {
            path.push('/');
            path.push_str(&encode_key(bucket));
            endpoint.host.clone()
        }
        Style::VirtualHosted => format!("{bucket}.{}", endpoint.host),
    };
    path.push('/');
    path.push_str(&encode_key(key));
    let mut s = format!("{}://{host}", endpoint.scheme);
    if let Some(p) = endpoint.port {
        s.push_str(&format!(":{p}"));
    }
    s.push_str(&path);
    if !query.is_empty() {
        s.push('?');
        s.push_str(query);
    }
    let url = reqwest::Url::parse(&s).map_err(|e| {
        TransportError::new(
            ErrorKind::Other,
            format!("cannot build a URL for bucket {bucket:?} key {key:?}: {e}"),
        )
    })?;
    // The URL parser removes `.` and `..` path segments (also as %2E);
    // such a key cannot be addressed through it, so refuse it rather than
    // touch another object.
    if url.path() != path {
        return Err(TransportError::new(
            ErrorKind::Other,
            format!(
                "object key {key:?} has `.` or `..` path segments, which this transport \
                 cannot send unchanged"
            ),
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(url: &str) -> Endpoint {
        match Endpoint::parse(url) {
            Ok(e) => e,
            Err(e) => unreachable!("{e}"),
        }
    }

    fn url(e: &Endpoint, style: Style, bucket: &str, key: &str, q: &str) -> String {
        match object_url(e, style, bucket, key, q) {
            Ok(u) => u.to_string(),
            Err(e) => unreachable!("{e}"),
        }
    }

    #[test]
    fn key_encoding() {
        assert_eq!(encode_key("a/b c+d=e"), "a/b%20c%2Bd%3De");
        assert_eq!(encode_key("ünï/çødé"), "%C3%BCn%C3%AF/%C3%A7%C3%B8d%C3%A9");
        assert_eq!(encode_key("~-_.AZaz09"), "~-_.AZaz09");
        assert_eq!(
            encode_key("%41?#[]@!$&'()*,;:"),
            "%2541%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2C%3B%3A"
        );
        assert_eq!(encode_query("a+b/c=="), "a%2Bb%2Fc%3D%3D");
    }

    #[test]
    fn path_style_urls() {
        let e = ep("http://127.0.0.1:9000");
        assert_eq!(
            url(&e, Style::Path, "bkt", "dir/a b.txt", ""),
            "http://127.0.0.1:9000/bkt/dir/a%20b.txt"
        );
        assert_eq!(
            url(&e, Style::Path, "bkt", "k", "partNumber=1&uploadId=x%2By"),
            "http://127.0.0.1:9000/bkt/k?partNumber=1&uploadId=x%2By"
        );
        // Leading, doubled and trailing slashes are kept.
        assert_eq!(
            url(&e, Style::Path, "bkt", "/a//b/", "uploads"),
            "http://127.0.0.1:9000/bkt//a//b/?uploads"
        );
        let e = ep("https://minio.example/s3/");
        assert_eq!(e.base_path, "/s3");
        assert_eq!(
            url(&e, Style::Path, "b", "k", ""),
            "https://minio.example/s3/b/k"
        );
    }

    #[test]
    fn virtual_hosted_urls() {
        let e = Endpoint::aws("eu-west-1");
        assert_eq!(
            url(&e, Style::VirtualHosted, "my-bucket", "a/ü", ""),
            "https://my-bucket.s3.eu-west-1.amazonaws.com/a/%C3%BC"
        );
        assert_eq!(
            Endpoint::aws("cn-north-1").host,
            "s3.cn-north-1.amazonaws.com.cn"
        );
        let e = ep("http://s3.test:8080");
        assert_eq!(
            url(&e, Style::VirtualHosted, "b.c.d", "k", ""),
            "http://b.c.d.s3.test:8080/k"
        );
    }

    #[test]
    fn style_choice() {
        let aws = Endpoint::aws("us-east-1");
        assert_eq!(style_for(&aws, None, "my-bucket"), Style::VirtualHosted);
        assert_eq!(style_for(&aws, None, "my.bucket"), Style::Path);
        assert_eq!(style_for(&aws, None, "My_Bucket"), Style::Path);
        assert_eq!(style_for(&aws, Some(true), "my-bucket"), Style::Path);
        let local = ep("http://127.0.0.1:1234");
        assert_eq!(style_for(&local, None, "my-bucket"), Style::Path);
        assert_eq!(
            style_for(&local, Some(false), "my-bucket"),
            Style::VirtualHosted
        );
        assert_eq!(
            style_for(&ep("http://localhost:1"), None, "bkt"),
            Style::Path
        );
        assert_eq!(style_for(&ep("http://[::1]:1"), None, "bkt"), Style::Path);
        assert_eq!(
            style_for(&ep("http://s3.test"), None, "a.b"),
            Style::VirtualHosted
        );
        assert!(!bucket_is_virtual_hostable("ab", false));
        assert!(!bucket_is_virtual_hostable("-ab", false));
        assert!(!bucket_is_virtual_hostable("192.168.1.1", false));
        assert!(!bucket_is_virtual_hostable("a..b", false));
    }

    #[test]
    fn refused() {
        let e = ep("http://127.0.0.1:1");
        for key in ["a/../b", "./x", "a/.", "..", "a/%2e%2e/b"] {
            // `%2e` in a key is encoded as `%252e`, which is harmless.
            let r = object_url(&e, Style::Path, "b", key, "");
            assert_eq!(r.is_err(), !key.contains('%'), "{key}");
        }
        assert!(object_url(&e, Style::Path, "b", "", "").is_err());
        assert!(object_url(&e, Style::Path, "", "k", "").is_err());
        for bad in [
            "ftp://x",
            "http://u:p@x",
            "http://x/?a=b",
            "not a url",
            "http://x#f",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}

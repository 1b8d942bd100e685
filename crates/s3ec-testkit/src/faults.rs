//! A scriptable fault-injection HTTP proxy for transport tests.
//!
//! [`FaultProxy`] listens on `127.0.0.1:0` and forwards each HTTP/1.1
//! request to an upstream server (the moto server), one connection per
//! request, answering with `Connection: close`. Faults queued with
//! [`FaultProxy::push`] apply, in order, to the next requests whose method
//! (and optionally path) match:
//!
//! - [`Fault::Status`]: answer an HTTP error with an S3 `<Error>` body,
//!   without forwarding;
//! - [`Fault::Drop`]: read the request, then close the connection without
//!   answering;
//! - [`Fault::Truncate`]: forward, then send the upstream response with its
//!   full `Content-Length` but only the first `n` body bytes, and close;
//! - [`Fault::Stall`]: read the request, wait, then close without
//!   answering (longer than a client's read timeout: the client gives up);
//! - [`Fault::StallBody`]: forward, send the head and `n` body bytes, wait,
//!   then close.
//!
//! The proxy can also behave like a link to S3 ([`Shaping`], set with
//! [`FaultProxy::set_shaping`]): a bandwidth limit per connection (each
//! request body read from the client and each response written to it is
//! paced to it) and a latency added to every request, so that parallel
//! transfers can be measured and tested on one machine.
//!
//! Everything stays on the loopback interface; every socket has timeouts
//! and every wait is bounded, so a test that goes wrong ends by itself.
//!
//! ```no_run
//! use s3ec_testkit::faults::{Fault, FaultProxy};
//!
//! let proxy = FaultProxy::start(s3ec_testkit::moto().endpoint()).unwrap();
//! proxy.push("PUT", Fault::Status(503));
//! proxy.push("PUT", Fault::Drop);
//! // A client pointed at proxy.endpoint() now sees a 503, then a dropped
//! // connection, then moto's answers.
//! assert_eq!(proxy.pending(), 2);
//! ```

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Longest request head the proxy reads.
const MAX_HEAD: usize = 64 * 1024;
/// Longest request body the proxy takes, and how much of a response it
/// holds before passing the rest straight through.
const MAX_BODY: usize = 512 * 1024 * 1024;
/// Socket timeouts inside the proxy.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest stall the proxy agrees to.
const MAX_STALL: Duration = Duration::from_secs(30);

/// The link the proxy simulates (default: none, as fast as loopback).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shaping {
    /// Bytes per second each connection carries in each direction (request
    /// bodies from the client, responses to it); `None`: no limit.
    pub bytes_per_sec: Option<u64>,
    /// Time added before each request is forwarded (the round trip to a
    /// distant server).
    pub latency: Duration,
}

impl Shaping {
    /// `mib_per_sec` MiB/s per connection and `latency_ms` per request.
    pub fn new(mib_per_sec: u64, latency_ms: u64) -> Shaping {
        Shaping {
            bytes_per_sec: (mib_per_sec > 0).then_some(mib_per_sec.saturating_mul(1 << 20)),
            latency: Duration::from_millis(latency_ms),
        }
    }
}

/// Paces the bytes of one connection to a rate.
struct Pacer {
    rate: Option<u64>,
    start: std::time::Instant,
    sent: u64,
}

impl Pacer {
    fn new(rate: Option<u64>) -> Pacer {
        Pacer {
            rate,
            start: std::time::Instant::now(),
            sent: 0,
        }
    }

    /// `n` more bytes went: wait until the rate allows them.
    fn account(&mut self, n: usize) {
        self.sent += n as u64;
        if let Some(rate) = self.rate.filter(|r| *r > 0) {
            let due = Duration::from_secs_f64(self.sent as f64 / rate as f64);
            let elapsed = self.start.elapsed();
            if due > elapsed {
                thread::sleep(due - elapsed);
            }
        }
    }
}

/// Write `data` paced by `pacer`, in slices of 64 KiB.
fn write_paced(w: &mut impl Write, data: &[u8], pacer: &mut Pacer) -> io::Result<()> {
    if pacer.rate.is_none() {
        return w.write_all(data);
    }
    for piece in data.chunks(64 * 1024) {
        w.write_all(piece)?;
        pacer.account(piece.len());
    }
    Ok(())
}

/// What to do to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with an S3 `<Error>` body (code `InternalError`
    /// for 500, `SlowDown` for 503, `ServiceUnavailable` for other 5xx,
    /// `Throttling` for 429, `FaultInjected` otherwise); not forwarded.
    Status(u16),
    /// Answer this status with this S3 error code; not forwarded.
    StatusCode(u16, String),
    /// Answer `200 OK` with this S3 error code in an `<Error>` body (as
    /// S3 may for CompleteMultipartUpload); not forwarded.
    ErrorIn200(String),
    /// Close the connection after reading the request, without answering;
    /// not forwarded.
    Drop,
    /// Forward; send the response head (with the full `Content-Length`)
    /// and only this many body bytes, then close.
    Truncate(usize),
    /// Read the request, wait this long (at most 30 s), then close without
    /// answering; not forwarded.
    Stall(Duration),
    /// Forward; send the head and this many body bytes, wait (at most
    /// 30 s), then close.
    StallBody(usize, Duration),
}

/// A queued fault and the requests it applies to.
#[derive(Debug, Clone)]
struct Rule {
    method: String,
    path_contains: Option<String>,
    fault: Fault,
}

/// One request the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The method.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// The request body length.
    pub body_len: usize,
    /// The fault applied, recorded only once it took effect: the error
    /// answer written, the connection dropped or stalled, a response body
    /// actually cut short. A queued fault that could not act (a truncation
    /// past the end of the body, an upstream that could not be reached, a
    /// client that went away first) leaves `None`.
    pub fault: Option<Fault>,
}

#[derive(Debug, Default)]
struct State {
    rules: VecDeque<Rule>,
    seen: Vec<Seen>,
    shaping: Shaping,
}

/// A running fault-injection proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl FaultProxy {
    /// Start a proxy to `upstream` (`http://127.0.0.1:PORT`, a loopback
    /// address only).
    pub fn start(upstream: &str) -> io::Result<FaultProxy> {
        let hostport = upstream
            .strip_prefix("http://")
            .unwrap_or(upstream)
            .trim_end_matches('/');
        let upstream_addr = hostport
            .to_socket_addrs()?
            .find(|a| a.ip().is_loopback())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("the upstream {upstream} is not a loopback address"),
                )
            })?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let state = state.clone();
            let stop = stop.clone();
            thread::Builder::new()
                .name("s3ec-fault-proxy".into())
                .spawn(move || {
                    for conn in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(conn) = conn else { continue };
                        let state = state.clone();
                        let _ = thread::Builder::new().name("s3ec-fault-conn".into()).spawn(
                            move || {
                                let _ = handle(conn, upstream_addr, &state);
                            },
                        );
                    }
                })?
        };
        Ok(FaultProxy {
            addr,
            state,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// Start a proxy to `upstream` that shapes its traffic like `shaping`.
    pub fn start_shaped(upstream: &str, shaping: Shaping) -> io::Result<FaultProxy> {
        let p = FaultProxy::start(upstream)?;
        p.set_shaping(shaping);
        Ok(p)
    }

    /// Shape the requests that arrive from now on like `shaping`.
    pub fn set_shaping(&self, shaping: Shaping) {
        lock(&self.state).shaping = shaping;
    }

    /// The current shaping.
    pub fn shaping(&self) -> Shaping {
        lock(&self.state).shaping
    }

    /// The proxy's URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queue a fault for the next request with this method (`"*"`: any).
    pub fn push(&self, method: &str, fault: Fault) {
        self.push_rule(method, None, fault);
    }

    /// Queue a fault for the next request with this method whose target
    /// (path and query) contains `path_contains`.
    pub fn push_for(&self, method: &str, path_contains: &str, fault: Fault) {
        self.push_rule(method, Some(path_contains.to_string()), fault);
    }

    fn push_rule(&self, method: &str, path_contains: Option<String>, fault: Fault) {
        lock(&self.state).rules.push_back(Rule {
            method: method.to_ascii_uppercase(),
            path_contains,
            fault,
        });
    }

    /// How many queued faults have not been applied yet.
    pub fn pending(&self) -> usize {
        lock(&self.state).rules.len()
    }

    /// Drop the queued faults.
    pub fn clear(&self) {
        lock(&self.state).rules.clear();
    }

    /// The requests seen so far, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.state).seen.clone()
    }

    /// Forget the requests seen so far.
    pub fn clear_seen(&self) {
        lock(&self.state).seen.clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

/// A parsed HTTP/1.1 message head.
struct Head {
    /// The raw head, without the blank line.
    lines: Vec<String>,
}

impl Head {
    fn start_line(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or("")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.lines.iter().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn content_length(&self) -> io::Result<usize> {
        match self.header("content-length") {
            None => Ok(0),
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| invalid(format!("bad Content-Length {v:?}"))),
        }
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Read a message head (up to the blank line); `None` at a clean EOF.
/// Returns the head and any body bytes read past it.
fn read_head(stream: &mut impl Read) -> io::Result<Option<(Head, Vec<u8>)>> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&buf[..pos]).into_owned();
            let rest = buf[pos + 4..].to_vec();
            let lines = text.split("\r\n").map(str::to_string).collect();
            return Ok(Some((Head { lines }, rest)));
        }
        if buf.len() > MAX_HEAD {
            return Err(invalid("head too long".into()));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short head"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
fn read_body(stream: &mut impl Read, have: Vec<u8>, len: usize) -> io::Result<Vec<u8>> {
    read_body_paced(stream, have, len, &mut Pacer::new(None))
}

/// Read a body of `len` bytes, no faster than `pacer` allows.
fn read_body_paced(
    stream: &mut impl Read,
    mut have: Vec<u8>,
    len: usize,
    pacer: &mut Pacer,
) -> io::Result<Vec<u8>> {
    if len > MAX_BODY {
        return Err(invalid(format!("body of {len} bytes is too large")));
    }
    if have.len() > len {
        have.truncate(len);
    }
    pacer.account(have.len());
    let mut at = have.len();
    have.resize(len, 0);
    while at < len {
        let end = (at + 64 * 1024).min(len);
        stream.read_exact(&mut have[at..end])?;
        pacer.account(end - at);
        at = end;
    }
    Ok(have)
}

fn error_code(status: u16) -> &'static str {
    match status {
        500 => "InternalError",
        503 => "SlowDown",
        429 => "Throttling",
        s if s >= 500 => "ServiceUnavailable",
        _ => "FaultInjected",
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Fault",
    }
}

fn error_response(status: u16, code: &str) -> Vec<u8> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>injected fault ({status} {code})</Message>\
         <RequestId>fault</RequestId></Error>"
    );
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        reason(status),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn next_fault(state: &Mutex<State>, method: &str, target: &str) -> Option<Fault> {
    let mut st = lock(state);
    let idx = st.rules.iter().position(|r| {
        (r.method == "*" || r.method == method)
            && r.path_contains
                .as_deref()
                .is_none_or(|p| target.contains(p))
    })?;
    st.rules.remove(idx).map(|r| r.fault)
}

/// Serve one client connection: one request, then close.
fn handle(mut client: TcpStream, upstream: SocketAddr, state: &Mutex<State>) -> io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    let Some((head, rest)) = read_head(&mut client)? else {
        return Ok(());
    };
    let mut parts = head.start_line().split(' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    if head
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        client.write_all(&error_response(501, "ChunkedNotSupportedByProxy"))?;
        return Ok(());
    }
    let shaping = lock(state).shaping;
    let mut pacer = Pacer::new(shaping.bytes_per_sec);
    let body = read_body_paced(&mut client, rest, head.content_length()?, &mut pacer)?;
    if !shaping.latency.is_zero() {
        thread::sleep(shaping.latency.min(MAX_STALL));
    }
    let fault = next_fault(state, &method, &target);
    let idx = {
        let mut st = lock(state);
        st.seen.push(Seen {
            method: method.clone(),
            target: target.clone(),
            body_len: body.len(),
            fault: None,
        });
        st.seen.len() - 1
    };
    // Record the fault once it has acted.
    let took_effect = |f: &Fault| {
        if let Some(seen) = lock(state).seen.get_mut(idx) {
            if seen.method == method && seen.target == target {
                seen.fault = Some(f.clone());
            }
        }
    };
    match &fault {
        Some(f @ (Fault::Status(_) | Fault::StatusCode(..) | Fault::ErrorIn200(_))) => {
            let answer = match f {
                Fault::Status(s) => error_response(*s, error_code(*s)),
                Fault::StatusCode(s, code) => error_response(*s, code),
                Fault::ErrorIn200(code) => error_response(200, code),
                _ => Vec::new(),
            };
            client.write_all(&answer)?;
            client.flush()?;
            took_effect(f);
            return finish(client);
        }
        Some(f @ Fault::Drop) => {
            let _ = client.shutdown(Shutdown::Both);
            took_effect(f);
            return Ok(());
        }
        Some(f @ Fault::Stall(d)) => {
            thread::sleep((*d).min(MAX_STALL));
            let _ = client.shutdown(Shutdown::Both);
            took_effect(f);
            return Ok(());
        }
        _ => {}
    }
    // Forward, one upstream connection per request.
    let mut up = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
    up.set_read_timeout(Some(IO_TIMEOUT))?;
    up.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut out = String::new();
    out.push_str(head.start_line());
    out.push_str("\r\n");
    for line in head.lines.iter().skip(1) {
        let name = line.split(':').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    up.write_all(out.as_bytes())?;
    up.write_all(&body)?;
    up.flush()?;
    // The first MAX_BODY bytes are held (the faults act on them); a longer
    // answer streams on after them instead of being cut there.
    let mut response = Vec::new();
    (&mut up).take(MAX_BODY as u64).read_to_end(&mut response)?;
    let more = response.len() == MAX_BODY;
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |p| p + 4);
    match fault {
        Some(ref f @ Fault::Truncate(n)) => {
            let end = head_end.saturating_add(n).min(response.len());
            client.write_all(&response[..end])?;
            client.flush()?;
            let _ = client.shutdown(Shutdown::Both);
            // Only a body actually cut short is a truncation.
            if end < response.len() {
                took_effect(f);
            }
            Ok(())
        }
        Some(ref f @ Fault::StallBody(n, d)) => {
            let end = head_end.saturating_add(n).min(response.len());
            client.write_all(&response[..end])?;
            client.flush()?;
            thread::sleep(d.min(MAX_STALL));
            let _ = client.shutdown(Shutdown::Both);
            took_effect(f);
            Ok(())
        }
        _ => {
            let mut pacer = Pacer::new(shaping.bytes_per_sec);
            write_paced(&mut client, &response, &mut pacer)?;
            if more {
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = up.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    write_paced(&mut client, &buf[..n], &mut pacer)?;
                }
            }
            finish(client)
        }
    }
}

fn finish(mut client: TcpStream) -> io::Result<()> {
    client.flush()?;
    let _ = client.shutdown(Shutdown::Write);
    // Let the client read everything before the socket goes away.
    let mut sink = [0u8; 1024];
    let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
    while let Ok(n) = client.read(&mut sink) {
        if n == 0 {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads() {
        let raw = b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcdef";
        let mut r = &raw[..];
        let (head, rest) = match read_head(&mut r) {
            Ok(Some(h)) => h,
            other => unreachable!("{:?}", other.map(|o| o.map(|(_, r)| r))),
        };
        assert_eq!(head.start_line(), "PUT /b/k HTTP/1.1");
        assert_eq!(head.header("HOST"), Some("x"));
        assert_eq!(head.content_length().ok(), Some(3));
        let mut empty = &b""[..];
        assert_eq!(read_body(&mut empty, rest, 3).ok(), Some(b"abc".to_vec()));
        let mut none = &b""[..];
        assert!(matches!(read_head(&mut none), Ok(None)));
        let mut short = &b"GET / HTTP/1.1\r\n"[..];
        assert!(read_head(&mut short).is_err());
    }

    /// An upstream answering every connection with `response`.
    fn upstream(response: &'static [u8]) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| unreachable!("{e}"));
        let addr = l.local_addr().unwrap_or_else(|e| unreachable!("{e}"));
        thread::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { continue };
                let _ = read_head(&mut c);
                let _ = c.write_all(response);
                let _ = c.shutdown(Shutdown::Both);
            }
        });
        format!("http://{addr}")
    }

    fn get(proxy: &FaultProxy) -> Vec<u8> {
        let mut c = TcpStream::connect(proxy.addr()).unwrap_or_else(|e| unreachable!("{e}"));
        let _ = c.write_all(b"GET /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        out
    }

    /// Issue 14: a fault is recorded only once it took effect.
    #[test]
    fn faults_are_recorded_once_they_took_effect() {
        const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        let proxy = FaultProxy::start(&upstream(RESP)).unwrap_or_else(|e| unreachable!("{e}"));
        // A truncation past the end of the body: not a fault.
        proxy.push("GET", Fault::Truncate(100));
        assert_eq!(get(&proxy), RESP);
        // A real one: recorded.
        proxy.push("GET", Fault::Truncate(2));
        assert!(get(&proxy).ends_with(b"\r\n\r\nhe"));
        proxy.push("GET", Fault::Status(503));
        assert!(String::from_utf8_lossy(&get(&proxy)).starts_with("HTTP/1.1 503"));
        proxy.push("GET", Fault::Drop);
        assert!(get(&proxy).is_empty());
        assert_eq!(get(&proxy), RESP);
        // The handler records after answering: give the last one a moment.
        let mut seen = proxy.seen();
        for _ in 0..50 {
            if seen.len() == 5 && seen[3].fault.is_some() {
                break;
            }
            thread::sleep(Duration::from_millis(20));
            seen = proxy.seen();
        }
        let faults: Vec<_> = seen.iter().map(|s| s.fault.clone()).collect();
        assert_eq!(
            faults,
            vec![
                None,
                Some(Fault::Truncate(2)),
                Some(Fault::Status(503)),
                Some(Fault::Drop),
                None
            ]
        );
        assert_eq!(proxy.pending(), 0);
    }

    /// Shaping: a latency per request and a rate per connection.
    #[test]
    fn shaping_adds_latency_and_limits_the_rate() {
        const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        let proxy = FaultProxy::start_shaped(&upstream(RESP), Shaping::new(0, 150))
            .unwrap_or_else(|e| unreachable!("{e}"));
        let t = std::time::Instant::now();
        assert_eq!(get(&proxy), RESP);
        assert!(t.elapsed() >= Duration::from_millis(150));
        assert_eq!(proxy.shaping().latency, Duration::from_millis(150));
        // 1 MiB at 4 MiB/s takes at least 250 ms.
        let mut p = Pacer::new(Some(4 << 20));
        let mut out = Vec::new();
        let t = std::time::Instant::now();
        write_paced(&mut out, &vec![7u8; 1 << 20], &mut p).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(t.elapsed() >= Duration::from_millis(240));
        assert_eq!(out.len(), 1 << 20);
    }

    #[test]
    fn rules_match_in_order() {
        let state = Mutex::new(State::default());
        let push = |m: &str, p: Option<&str>, f| {
            lock(&state).rules.push_back(Rule {
                method: m.into(),
                path_contains: p.map(str::to_string),
                fault: f,
            })
        };
        push("PUT", Some("partNumber"), Fault::Drop);
        push("PUT", None, Fault::Status(500));
        push("*", None, Fault::Truncate(1));
        assert_eq!(next_fault(&state, "GET", "/b/k"), Some(Fault::Truncate(1)));
        assert_eq!(next_fault(&state, "PUT", "/b/k"), Some(Fault::Status(500)));
        assert_eq!(next_fault(&state, "PUT", "/b/k"), None);
        assert_eq!(
            next_fault(&state, "PUT", "/b/k?partNumber=1&uploadId=x"),
            Some(Fault::Drop)
        );
        assert!(String::from_utf8_lossy(&error_response(503, "SlowDown"))
            .contains("<Code>SlowDown</Code>"));
    }
}

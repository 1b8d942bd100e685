//! # s3ec-e2e-bench
//!
//! End-to-end measurements of s3ec: a generated body of N bytes (never held
//! whole in memory, never stored locally) is streamed through the blocking
//! [`s3ec_client::Client`] over [`s3ec_reqwest::ReqwestTransport`] into a
//! local S3 server, and read back into a sink that checks every byte; the
//! same bytes also go through the plain transport without encryption (a
//! multipart upload with the same part size, a streamed GET into the same
//! sink), so the two can be compared.
//!
//! This is measurement, not a test suite: the `e2e` binary needs a running
//! S3 server (`scripts/measure-e2e.sh` installs and starts `s3s-fs` on
//! 127.0.0.1) and nothing here runs under `cargo test` except the pure
//! unit tests of the generator and the sink. Results: `docs/measurements.md`.
//!
//! The pieces:
//! * [`Pattern`], [`PatternReader`] and [`CheckingSink`]: a cheap
//!   deterministic byte stream (a SplitMix64 word per 8 bytes), a `Read`
//!   over it and a `Write` that compares what it receives with it;
//! * [`Settings`]: the command line;
//! * [`put`] and [`get`]: one timed operation, encrypted or plain;
//! * [`async_mode`]: the same through the async client (`--mode async`).

pub mod async_mode;

use s3ec_client::transport::{CompleteRequest, ObjectRequest, PartRequest};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use s3ec_client::config::DEFAULT_PART_SIZE;
use s3ec_client::transport::{Bytes, CompletedPart, GetRequest, PutRequest, Transport};
use s3ec_client::{Client, GetStrategy};
use s3ec_keyring::Context;
use s3ec_reqwest::{Credentials, PayloadSigning, ReqwestTransport};

/// The AES-256 master key of the encrypting clients (a fixed key: this is a
/// measurement, not key management).
pub const MASTER_KEY: [u8; 32] = [0x42; 32];

/// The read size of the plain GET loop: 64 KiB, the client's own chunk.
pub const CHUNK: usize = 64 * 1024;

/// A deterministic byte stream: byte `i` is byte `i % 8` (little-endian) of
/// SplitMix64 of `seed + i / 8`. Any offset can be produced directly, so a
/// reader and a checker need no shared state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    /// The stream's seed.
    pub seed: u64,
}

/// SplitMix64's output function.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Pattern {
    /// The 8 bytes of word `index`.
    fn word(&self, index: u64) -> [u8; 8] {
        splitmix64(self.seed.wrapping_add(index)).to_le_bytes()
    }

    /// Fill `buf` with the stream's bytes from `offset` on.
    pub fn fill(&self, offset: u64, buf: &mut [u8]) {
        let mut pos = offset;
        let mut rest = buf;
        // Up to the next word boundary.
        let head = usize::try_from((8 - pos % 8) % 8)
            .unwrap_or(0)
            .min(rest.len());
        if head > 0 {
            let w = self.word(pos / 8);
            let start = (pos % 8) as usize;
            let (h, t) = rest.split_at_mut(head);
            h.copy_from_slice(&w[start..start + head]);
            rest = t;
            pos += head as u64;
        }
        let mut words = rest.chunks_exact_mut(8);
        let mut index = pos / 8;
        for w in &mut words {
            w.copy_from_slice(&self.word(index));
            index += 1;
        }
        let tail = words.into_remainder();
        if !tail.is_empty() {
            let w = self.word(index);
            let n = tail.len();
            tail.copy_from_slice(&w[..n]);
        }
    }
}

/// A `Read` that yields `len` bytes of a [`Pattern`] (generated as read,
/// never stored).
#[derive(Debug)]
pub struct PatternReader {
    pattern: Pattern,
    pos: u64,
    len: u64,
}

impl PatternReader {
    /// `len` bytes of `pattern` from offset 0.
    pub fn new(pattern: Pattern, len: u64) -> PatternReader {
        PatternReader {
            pattern,
            pos: 0,
            len,
        }
    }
}

impl Read for PatternReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len - self.pos;
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        self.pattern.fill(self.pos, &mut buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

/// A `Write` that checks everything written against a [`Pattern`] (an
/// exact comparison, stronger than a hash) and counts it. A mismatch or
/// more bytes than expected is an [`io::ErrorKind::InvalidData`] error.
#[derive(Debug)]
pub struct CheckingSink {
    pattern: Pattern,
    expected_len: u64,
    received: u64,
    scratch: Vec<u8>,
}

impl CheckingSink {
    /// A sink expecting `expected_len` bytes of `pattern`.
    pub fn new(pattern: Pattern, expected_len: u64) -> CheckingSink {
        CheckingSink {
            pattern,
            expected_len,
            received: 0,
            scratch: Vec::new(),
        }
    }

    /// Bytes received so far (all of them checked).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Fail unless exactly the expected number of bytes arrived.
    pub fn finish(&self) -> io::Result<()> {
        if self.received == self.expected_len {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("received {} of {} bytes", self.received, self.expected_len),
            ))
        }
    }
}

impl Write for CheckingSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.received + data.len() as u64 > self.expected_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("more than the expected {} bytes arrived", self.expected_len),
            ));
        }
        // Check in pieces of at most one chunk: the scratch buffer stays small.
        let mut offset = self.received;
        for piece in data.chunks(CHUNK) {
            self.scratch.resize(piece.len(), 0);
            self.pattern.fill(offset, &mut self.scratch);
            if self.scratch != piece {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("content mismatch in the bytes from offset {offset}"),
                ));
            }
            offset += piece.len() as u64;
        }
        self.received = offset;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encrypted through the s3ec client, or plain through the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Through [`s3ec_client::Client`] (V3, AES-GCM, an [`s3ec_local::AesKeyring`]).
    Encrypted,
    /// Straight through the [`Transport`], no encryption.
    Plain,
    /// Through [`s3ec_client::AsyncClient`] over `s3ec-aws-sdk` (the AWS
    /// SDK's HTTP stack) on a tokio runtime: the same keyring, part size,
    /// concurrency and get strategy as [`Mode::Encrypted`]; see
    /// [`async_mode`].
    Async,
}

impl Mode {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Encrypted => "enc",
            Mode::Plain => "plain",
            Mode::Async => "async",
        }
    }
}

/// How an encrypted get holds the ciphertext until the tag is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The client's default ([`GetStrategy::Auto`]: up to 8 MiB in memory,
    /// larger objects spooled to a temporary file).
    Auto,
    /// [`GetStrategy::Spool`]: always a temporary file.
    Spool,
    /// [`GetStrategy::Buffer`]: the whole object in memory.
    Buffer,
    /// Danger: delayed authentication (plaintext released before the tag
    /// is checked; streamed).
    Delayed,
}

impl Strategy {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Auto => "auto",
            Strategy::Spool => "spool",
            Strategy::Buffer => "buffer",
            Strategy::Delayed => "delayed",
        }
    }
}

/// The command line of `e2e`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `put`, `get` or `delete`.
    pub command: String,
    /// Object size in bytes.
    pub size: u64,
    /// Encrypted or plain.
    pub mode: Mode,
    /// Get strategy (encrypted gets).
    pub strategy: Strategy,
    /// Multipart part size.
    pub part_size: u64,
    /// Where spooled gets put their temporary file.
    pub spool_dir: Option<std::path::PathBuf>,
    /// Seed of the generated body.
    pub seed: u64,
    /// Object key.
    pub key: String,
    /// Bucket.
    pub bucket: String,
    /// S3 endpoint URL.
    pub endpoint: String,
    /// Region to sign for.
    pub region: String,
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// Send `UNSIGNED-PAYLOAD` instead of hashing bodies.
    pub unsigned_payload: bool,
    /// `get` into a file in this folder instead of a checking sink:
    /// encrypted through `get_object_to_path` (one pass, published after
    /// the tag), plain through the transport into a temporary file that is
    /// synced and renamed the same way; the file is checked afterwards.
    pub to_path: Option<std::path::PathBuf>,
    /// Parts uploaded / ranges fetched at once, both modes (the client's
    /// `concurrency`; the plain twins use as many threads).
    pub concurrency: usize,
}

/// The usage text.
pub const USAGE: &str = "\
usage: e2e put|get|delete [options]
  --size N            object size (bytes; K/M/G and KiB/MiB/GiB suffixes are powers of 1024) [1GiB]
  --mode enc|plain|async
                      through the s3ec client, plain through the transport, or through
                      the async client over the AWS SDK (s3ec-aws-sdk, tokio) [enc]
  --strategy S        encrypted (enc, async) get: auto (client default) | spool | buffer | delayed [auto]
  --part-size N       multipart part size, both modes [8MiB, the client's default]
  --spool-dir DIR     temporary folder of spooled gets [system default]
  --seed N            seed of the generated body [1]
  --key K             object key [e2e-<mode>]
  --bucket B          [e2e]
  --endpoint URL      [$S3EC_E2E_ENDPOINT or http://127.0.0.1:8014]
  --region R          [us-east-1]
  --access-key A      [$S3EC_E2E_ACCESS_KEY or e2eaccess]
  --secret-key S      [$S3EC_E2E_SECRET_KEY or e2esecret]
  --concurrency N     parts / ranges at once, every mode (plain: N threads) [1]
  --to-path DIR       get into a file in DIR (synced, renamed), then check it
  --unsigned-payload  send UNSIGNED-PAYLOAD instead of the body's SHA-256
Prints one line of key=value pairs: op, mode, strategy, bytes, secs, mib_per_s, vmhwm_kib.";

/// Parse a size: a number with an optional suffix K, M, G (or KiB, MiB,
/// GiB; powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, suffix) = s.split_at(digits);
    let n: u64 = num.parse().map_err(|_| format!("bad size {s:?}"))?;
    let mult: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => return Err(format!("bad size suffix in {s:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} overflows"))
}

impl Settings {
    /// Parse the arguments after the program name.
    pub fn parse(args: &[String]) -> Result<Settings, String> {
        let env = |name: &str, default: &str| std::env::var(name).unwrap_or(default.to_string());
        let mut it = args.iter();
        let command = it.next().ok_or("no command")?.clone();
        if !["put", "get", "delete"].contains(&command.as_str()) {
            return Err(format!("unknown command {command:?}"));
        }
        let mut s = Settings {
            command,
            size: 1 << 30,
            mode: Mode::Encrypted,
            strategy: Strategy::Auto,
            part_size: DEFAULT_PART_SIZE,
            spool_dir: None,
            seed: 1,
            key: String::new(),
            bucket: "e2e".into(),
            endpoint: env("S3EC_E2E_ENDPOINT", "http://127.0.0.1:8014"),
            region: "us-east-1".into(),
            access_key: env("S3EC_E2E_ACCESS_KEY", "e2eaccess"),
            secret_key: env("S3EC_E2E_SECRET_KEY", "e2esecret"),
            unsigned_payload: false,
            to_path: None,
            concurrency: 1,
        };
        while let Some(flag) = it.next() {
            if flag == "--unsigned-payload" {
                s.unsigned_payload = true;
                continue;
            }
            let value = it
                .next()
                .ok_or_else(|| format!("{flag} needs a value"))?
                .clone();
            match flag.as_str() {
                "--size" => s.size = parse_size(&value)?,
                "--mode" => {
                    s.mode = match value.as_str() {
                        "enc" => Mode::Encrypted,
                        "plain" => Mode::Plain,
                        "async" => Mode::Async,
                        _ => return Err(format!("unknown mode {value:?}")),
                    }
                }
                "--strategy" => {
                    s.strategy = match value.as_str() {
                        "auto" => Strategy::Auto,
                        "spool" => Strategy::Spool,
                        "buffer" => Strategy::Buffer,
                        "delayed" => Strategy::Delayed,
                        _ => return Err(format!("unknown strategy {value:?}")),
                    }
                }
                "--part-size" => s.part_size = parse_size(&value)?,
                "--concurrency" => {
                    s.concurrency = value
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("bad concurrency {value:?}"))?
                }
                "--spool-dir" => s.spool_dir = Some(value.into()),
                "--to-path" => s.to_path = Some(value.into()),
                "--seed" => s.seed = value.parse().map_err(|_| format!("bad seed {value:?}"))?,
                "--key" => s.key = value,
                "--bucket" => s.bucket = value,
                "--endpoint" => s.endpoint = value,
                "--region" => s.region = value,
                "--access-key" => s.access_key = value,
                "--secret-key" => s.secret_key = value,
                _ => return Err(format!("unknown option {flag:?}")),
            }
        }
        if s.key.is_empty() {
            s.key = format!("e2e-{}", s.mode.name());
        }
        Ok(s)
    }

    /// The body's pattern.
    pub fn pattern(&self) -> Pattern {
        Pattern { seed: self.seed }
    }

    /// The transport: path-style, fixed credentials.
    pub fn transport(&self) -> Result<ReqwestTransport, Box<dyn std::error::Error>> {
        let payload = if self.unsigned_payload {
            PayloadSigning::Unsigned
        } else {
            PayloadSigning::Sha256
        };
        Ok(ReqwestTransport::builder()
            .region(&self.region)
            .endpoint(&self.endpoint)
            .credentials(Credentials::new(
                &self.access_key,
                &self.secret_key,
                None,
                None,
                "s3ec-e2e-bench",
            ))
            .path_style(true)
            .payload_signing(payload)
            .build()?)
    }

    /// The encrypting client over `transport` (a fixed AES-256 key: this
    /// is a measurement, not key management).
    pub fn client(
        &self,
        transport: ReqwestTransport,
    ) -> Result<Client, Box<dyn std::error::Error>> {
        let keyring = s3ec_local::AesKeyring::new(&crate::MASTER_KEY)?;
        Ok(self
            .configure(Client::builder(transport, keyring))
            .build()?)
    }

    /// Part size, concurrency and get strategy from the command line, on
    /// either client's builder.
    pub fn configure<T: ?Sized, K: ?Sized>(
        &self,
        b: s3ec_client::config::Builder<T, K>,
    ) -> s3ec_client::config::Builder<T, K> {
        let b = b.part_size(self.part_size).concurrency(self.concurrency);
        match self.strategy {
            Strategy::Auto => match &self.spool_dir {
                None => b,
                Some(dir) => b.get_strategy(GetStrategy::Auto {
                    buffer_up_to: s3ec_client::config::DEFAULT_BUFFER_UP_TO,
                    spool_dir: Some(dir.clone()),
                }),
            },
            Strategy::Spool => b.get_strategy(GetStrategy::Spool {
                dir: self.spool_dir.clone(),
            }),
            Strategy::Buffer => b.get_strategy(GetStrategy::Buffer {
                max_bytes: u64::MAX,
            }),
            Strategy::Delayed => b.danger_delayed_authentication(true),
        }
    }
}

/// What one operation measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Plaintext bytes moved.
    pub bytes: u64,
    /// Wall time of the operation alone (clients already built).
    pub elapsed: Duration,
    /// Extra facts to print (`key=value`).
    pub notes: Vec<(String, String)>,
}

impl Measured {
    /// An encrypted put that took `elapsed` (either client).
    pub fn of_put(out: &s3ec_client::PutOutput, elapsed: Duration) -> Measured {
        Measured {
            bytes: out.plaintext_len,
            elapsed,
            notes: vec![(
                "parts".into(),
                out.parts.map_or("single".into(), |p| p.to_string()),
            )],
        }
    }

    /// MiB per second.
    pub fn mib_per_s(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Put `size` generated bytes as `key`, encrypted or plain.
pub fn put(s: &Settings) -> Result<Measured, Box<dyn std::error::Error>> {
    let body = PatternReader::new(s.pattern(), s.size);
    match s.mode {
        Mode::Async => async_mode::put(s),
        Mode::Encrypted => {
            let client = s.client(s.transport()?)?;
            let start = Instant::now();
            let out = client.put_object(&s.bucket, &s.key, body, Some(s.size), &Context::new())?;
            Ok(Measured::of_put(&out, start.elapsed()))
        }
        Mode::Plain => {
            let transport = s.transport()?;
            let start = Instant::now();
            let parts = if s.concurrency > 1 && s.size > s.part_size {
                put_plain_parallel(&transport, s, body)?
            } else {
                put_plain(&transport, s, body)?
            };
            Ok(Measured {
                bytes: s.size,
                elapsed: start.elapsed(),
                notes: vec![("parts".into(), parts)],
            })
        }
    }
}

/// The unencrypted twin of the client's put: one PUT up to the part size,
/// else a multipart upload of parts of the same size, each read into one
/// reused buffer (as the client does) and handed to the transport.
fn put_plain(
    t: &ReqwestTransport,
    s: &Settings,
    mut body: PatternReader,
) -> Result<String, Box<dyn std::error::Error>> {
    let part = usize::try_from(s.part_size)?;
    let meta = Vec::new();
    let req = PutRequest::new(&s.bucket, &s.key, &meta);
    let mut buf = Vec::with_capacity(part);
    if s.size <= s.part_size {
        body.read_to_end(&mut buf)?;
        t.put_object(&req, Bytes::from(buf))?;
        return Ok("single".into());
    }
    let upload_id = t.create_multipart_upload(&req)?;
    let mut parts = Vec::new();
    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        let mut number = 0u32;
        loop {
            buf.clear();
            (&mut body).take(part as u64).read_to_end(&mut buf)?;
            if buf.is_empty() {
                break;
            }
            number += 1;
            let sent = Bytes::from(std::mem::take(&mut buf));
            let etag = t.upload_part(
                &PartRequest::new(&s.bucket, &s.key, &upload_id, number),
                sent.clone(),
            )?;
            // Take the buffer back as the client does (waiting briefly for
            // reqwest's runtime thread to drop its clone).
            buf = take_back(sent, part);
            parts.push(CompletedPart::new(number, etag));
        }
        t.complete_multipart_upload(&CompleteRequest::new(&s.bucket, &s.key, &upload_id, &parts))?;
        Ok(())
    })();
    if let Err(e) = result {
        // Best effort: the measurement failed either way.
        let _ = t.abort_multipart_upload(&s.bucket, &s.key, &upload_id);
        return Err(e);
    }
    Ok(parts.len().to_string())
}

/// The plain multipart upload on `s.concurrency` threads: each takes the
/// next part from the body in turn (one part buffer per thread) and
/// uploads it.
fn put_plain_parallel(
    t: &ReqwestTransport,
    s: &Settings,
    body: PatternReader,
) -> Result<String, Box<dyn std::error::Error>> {
    let part = usize::try_from(s.part_size)?;
    let meta = Vec::new();
    let upload_id = t.create_multipart_upload(&PutRequest::new(&s.bucket, &s.key, &meta))?;
    let source = std::sync::Mutex::new((body, 0u32));
    let failed = std::sync::atomic::AtomicBool::new(false);
    let results: Vec<Result<Vec<CompletedPart>, String>> = std::thread::scope(|sc| {
        let workers: Vec<_> = (0..s.concurrency)
            .map(|_| {
                sc.spawn(|| {
                    let mut done = Vec::new();
                    let mut buf = Vec::with_capacity(part);
                    loop {
                        if failed.load(std::sync::atomic::Ordering::Relaxed) {
                            return Ok(done);
                        }
                        let number = {
                            let mut src = source.lock().map_err(|e| e.to_string())?;
                            buf.clear();
                            (&mut src.0)
                                .take(part as u64)
                                .read_to_end(&mut buf)
                                .map_err(|e| e.to_string())?;
                            if buf.is_empty() {
                                return Ok(done);
                            }
                            src.1 += 1;
                            src.1
                        };
                        let sent = Bytes::from(std::mem::take(&mut buf));
                        let etag = t
                            .upload_part(
                                &PartRequest::new(&s.bucket, &s.key, &upload_id, number),
                                sent.clone(),
                            )
                            .map_err(|e| {
                                failed.store(true, std::sync::atomic::Ordering::Relaxed);
                                e.to_string()
                            })?;
                        buf = take_back(sent, part);
                        done.push(CompletedPart::new(number, etag));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("a worker panicked".into())))
            .collect()
    });
    let mut parts = Vec::new();
    for r in results {
        match r {
            Ok(p) => parts.extend(p),
            Err(e) => {
                let _ = t.abort_multipart_upload(&s.bucket, &s.key, &upload_id);
                return Err(e.into());
            }
        }
    }
    parts.sort_by_key(|p| p.part_number);
    t.complete_multipart_upload(&CompleteRequest::new(&s.bucket, &s.key, &upload_id, &parts))?;
    Ok(parts.len().to_string())
}

/// The plain download into `file` on `s.concurrency` threads: ranges of
/// the part size, each written at its offset as it arrives (what S3
/// copiers do). Returns the object's length.
fn download_plain_parallel(
    t: &ReqwestTransport,
    s: &Settings,
    file: &std::fs::File,
    written: &AtomicU64,
) -> Result<u64, Box<dyn std::error::Error>> {
    use std::os::unix::fs::FileExt;
    let total = t
        .head_object(&ObjectRequest::new(&s.bucket, &s.key))?
        .content_length;
    file.set_len(total)?;
    let count = total.div_ceil(s.part_size);
    let next = std::sync::atomic::AtomicU64::new(0);
    let results: Vec<Result<(), String>> = std::thread::scope(|sc| {
        let workers: Vec<_> = (0..s.concurrency)
            .map(|_| {
                sc.spawn(|| {
                    let mut chunk = vec![0u8; CHUNK];
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= count {
                            return Ok(());
                        }
                        let first = i * s.part_size;
                        let last = (first + s.part_size).min(total) - 1;
                        let resp = t
                            .get_object(&GetRequest {
                                bucket: &s.bucket,
                                key: &s.key,
                                range: Some(s3ec_client::transport::ByteRange {
                                    first,
                                    last: Some(last),
                                }),
                                ..GetRequest::default()
                            })
                            .map_err(|e| e.to_string())?;
                        let mut body = resp.body;
                        let mut at = first;
                        loop {
                            let n = body.read(&mut chunk).map_err(|e| e.to_string())?;
                            if n == 0 {
                                break;
                            }
                            file.write_all_at(&chunk[..n], at)
                                .map_err(|e| e.to_string())?;
                            written.fetch_add(n as u64, Ordering::Relaxed);
                            at += n as u64;
                        }
                        if at != last + 1 {
                            return Err(format!("range {first}-{last} ended at {at}"));
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("a worker panicked".into())))
            .collect()
    });
    for r in results {
        r?;
    }
    Ok(total)
}

/// Bytes written between two background syncs of a plain download: what
/// `s3ec-client` does for a get to a path (its `writeback` module), so that
/// the two downloads pay the same sync before the file is published.
const WRITEBACK_EVERY: u64 = 64 * 1024 * 1024;

/// Run `download` while a thread syncs `file` each time `written` has grown
/// by [`WRITEBACK_EVERY`] bytes since the last sync.
fn with_writeback<T>(
    file: &std::fs::File,
    written: &AtomicU64,
    download: impl FnOnce() -> Result<T, Box<dyn std::error::Error>>,
) -> Result<T, Box<dyn std::error::Error>> {
    let done = AtomicBool::new(false);
    std::thread::scope(|sc| {
        let syncer = sc.spawn(|| -> io::Result<()> {
            let mut last = 0;
            while !done.load(Ordering::Relaxed) {
                let now = written.load(Ordering::Relaxed);
                if now - last >= WRITEBACK_EVERY {
                    file.sync_data()?;
                    last = now;
                } else {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            Ok(())
        });
        let got = download();
        done.store(true, Ordering::Relaxed);
        let synced = syncer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the syncer panicked")));
        let got = got?;
        synced?;
        Ok(got)
    })
}

/// A file that counts what was written into it.
struct Counted<'a> {
    file: &'a std::fs::File,
    written: &'a AtomicU64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (&mut &*self.file).write(buf)?;
        self.written.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The part buffer back from the transport, as `s3ec-client` takes it back:
/// up to 20 waits of 50 µs for the last clone to go, else a new buffer.
fn take_back(mut sent: Bytes, part: usize) -> Vec<u8> {
    for _ in 0..=20 {
        match sent.try_into_mut() {
            Ok(mut b) => {
                b.clear();
                return Vec::from(b);
            }
            Err(shared) => sent = shared,
        }
        std::thread::sleep(std::time::Duration::from_micros(50));
    }
    Vec::with_capacity(part)
}

/// Get `key` into a [`CheckingSink`], encrypted or plain; fails unless
/// exactly the generated bytes arrive.
pub fn get(s: &Settings) -> Result<Measured, Box<dyn std::error::Error>> {
    if let Some(dir) = &s.to_path {
        return get_to_path(s, dir);
    }
    let mut sink = CheckingSink::new(s.pattern(), s.size);
    match s.mode {
        Mode::Async => async_mode::get(s),
        Mode::Encrypted => {
            let client = s.client(s.transport()?)?;
            let start = Instant::now();
            let out = client.get_object(&s.bucket, &s.key, &mut sink, None)?;
            let elapsed = start.elapsed();
            sink.finish()?;
            Ok(Measured {
                bytes: out.plaintext_len,
                elapsed,
                notes: vec![("decrypt_mode".into(), format!("{:?}", out.mode))],
            })
        }
        Mode::Plain => {
            let transport = s.transport()?;
            let start = Instant::now();
            let resp = transport.get_object(&GetRequest {
                bucket: &s.bucket,
                key: &s.key,
                range: None,
                if_match: None,
                ..GetRequest::default()
            })?;
            let mut body = resp.body;
            let mut chunk = vec![0u8; CHUNK];
            loop {
                let n = match body.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                };
                sink.write_all(&chunk[..n])?;
            }
            let elapsed = start.elapsed();
            sink.finish()?;
            Ok(Measured {
                bytes: sink.received(),
                elapsed,
                notes: Vec::new(),
            })
        }
    }
}

/// Get `key` into a file in `dir` (then check it and remove it).
fn get_to_path(s: &Settings, dir: &Path) -> Result<Measured, Box<dyn std::error::Error>> {
    let dest = dest_in(dir);
    let (bytes, elapsed, notes) = match s.mode {
        Mode::Async => return async_mode::get(s),
        Mode::Encrypted => {
            let client = s.client(s.transport()?)?;
            let start = Instant::now();
            let out = client.get_object_to_path(
                &s.bucket,
                &s.key,
                &dest,
                &s3ec_client::GetOptions::default(),
            )?;
            (
                out.plaintext_len,
                start.elapsed(),
                vec![("decrypt_mode".into(), "to-path".into())],
            )
        }
        Mode::Plain if s.concurrency > 1 => {
            let transport = s.transport()?;
            let start = Instant::now();
            let tmp = tempfile::NamedTempFile::new_in(dir)?;
            let written = AtomicU64::new(0);
            let n = with_writeback(tmp.as_file(), &written, || {
                download_plain_parallel(&transport, s, tmp.as_file(), &written)
            })?;
            tmp.as_file().sync_all()?;
            tmp.persist(&dest)?;
            std::fs::File::open(dir)?.sync_all()?;
            (n, start.elapsed(), Vec::new())
        }
        Mode::Plain => {
            let transport = s.transport()?;
            let start = Instant::now();
            let resp = transport.get_object(&GetRequest::new(&s.bucket, &s.key))?;
            let tmp = tempfile::NamedTempFile::new_in(dir)?;
            let written = AtomicU64::new(0);
            let n = with_writeback(tmp.as_file(), &written, || {
                let counted = Counted {
                    file: tmp.as_file(),
                    written: &written,
                };
                let mut w = io::BufWriter::with_capacity(CHUNK, counted);
                let mut body = resp.body;
                let n = io::copy(&mut body, &mut w)?;
                w.flush()?;
                Ok(n)
            })?;
            tmp.as_file().sync_all()?;
            tmp.persist(&dest)?;
            std::fs::File::open(dir)?.sync_all()?;
            (n, start.elapsed(), Vec::new())
        }
    };
    check_and_remove(s, &dest)?;
    Ok(Measured {
        bytes,
        elapsed,
        notes,
    })
}

/// Check that the file `dest` holds exactly the generated bytes, then
/// remove it (also when the check fails).
fn check_and_remove(s: &Settings, dest: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut sink = CheckingSink::new(s.pattern(), s.size);
    let checked = io::copy(&mut std::fs::File::open(dest)?, &mut sink);
    std::fs::remove_file(dest)?;
    checked?;
    sink.finish()?;
    Ok(())
}

/// The file a get to a path writes in `dir` (one per process).
fn dest_in(dir: &Path) -> std::path::PathBuf {
    dir.join(format!("e2e-get-{}", std::process::id()))
}

/// Delete `key` (plain DELETE; an encrypted object's instruction file is
/// never written by this tool).
pub fn delete(s: &Settings) -> Result<(), Box<dyn std::error::Error>> {
    s.transport()?
        .delete_object(&ObjectRequest::new(&s.bucket, &s.key))?;
    Ok(())
}

/// The process's peak resident set size so far (`VmHWM` of
/// `/proc/self/status`), in KiB; `None` where that is not available.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pattern_is_the_same_from_any_offset() {
        let p = Pattern { seed: 9 };
        let mut whole = vec![0u8; 1000];
        p.fill(0, &mut whole);
        for (off, len) in [(0, 1), (3, 5), (7, 9), (8, 8), (13, 300), (999, 1)] {
            let mut part = vec![0u8; len];
            p.fill(off as u64, &mut part);
            assert_eq!(part, whole[off..off + len]);
        }
        assert_ne!(whole[..8], whole[8..16]);
    }

    #[test]
    fn reader_into_sink_round_trips_and_catches_changes() {
        let p = Pattern { seed: 3 };
        let len = 3 * CHUNK as u64 + 17;
        let mut sink = CheckingSink::new(p, len);
        let copied = io::copy(&mut PatternReader::new(p, len), &mut sink).unwrap();
        assert_eq!(copied, len);
        sink.finish().unwrap();

        let mut data = Vec::new();
        PatternReader::new(p, 100).read_to_end(&mut data).unwrap();
        data[50] ^= 1;
        let mut sink = CheckingSink::new(p, 100);
        assert!(sink.write_all(&data).is_err());

        let mut short = CheckingSink::new(p, 100);
        short.write_all(&data[..10]).unwrap();
        assert!(short.finish().is_err());
        assert!(short.write_all(&[0u8; 200]).is_err());
    }

    #[test]
    fn sizes_and_arguments() {
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("8M").unwrap(), 8 << 20);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert!(parse_size("1T").is_err());
        let args: Vec<String> = [
            "get",
            "--mode",
            "plain",
            "--size",
            "5MiB",
            "--unsigned-payload",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let s = Settings::parse(&args).unwrap();
        assert_eq!(
            (s.mode, s.size, s.key.as_str()),
            (Mode::Plain, 5 << 20, "e2e-plain")
        );
        assert!(s.unsigned_payload);
        let s = Settings::parse(&["put".into(), "--mode".into(), "async".into()]).unwrap();
        assert_eq!((s.mode, s.key.as_str()), (Mode::Async, "e2e-async"));
        assert!(Settings::parse(&["put".into(), "--mode".into(), "sync".into()]).is_err());
        assert!(Settings::parse(&["put".into(), "--bogus".into(), "1".into()]).is_err());
    }
}

//! Parallel transfers (issue 12): the transport-free steps that the
//! blocking and the async client both drive.
//!
//! * **Put**: the part size chosen from the declared length
//!   ([`part_size_for`]), the bookkeeping of the parts in flight
//!   ([`PartWindow`]) and the decision to resend a part
//!   ([`worth_retrying`]). The cipher runs in order in the caller's task;
//!   the clients hand each finished part ([`Bytes`]) to an uploader (a
//!   scoped thread, a tokio task), so a resend sends the same ciphertext.
//! * **Get**: the first request ([`first_request`]) and what its answer
//!   means ([`first_answer`]), the pin of every later range to the version
//!   read first ([`Pin`]), the plan and in-order window of the ranges
//!   ([`RangeWindow`]) and the resumable fetch of one range
//!   ([`RangeFetch`]). The window hands the ranges back **in order** to the
//!   caller's decrypt state machine ([`crate::get`]), so the rule "nothing
//!   released before the tag" is the one of a sequential get.
//!
//! The I/O of one part ([`upload_part`]: resend on a failure worth it) and
//! of one range ([`fetch_range`]: resume where it broke) is written once, as
//! `async fn`s over an [`AsyncTransport`]: a tokio task awaits them; a
//! blocking client's thread runs them over its transport seen as an
//! always-ready async one ([`crate::ready`], as for [`crate::ops`]).
//!
//! What is left twice is who waits: the put loops of the two clients
//! (scoped threads, a `JoinSet`) and the two get bodies, [`ParallelBody`]
//! (a blocking `Read` fed by threads) and, with the `async` feature,
//! `ParallelStream` (an async body fed by tokio tasks).

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use bytes::Bytes;

use crate::config::{MAX_PARTS, MAX_PART_SIZE};
use crate::error::ClientError;
use crate::get::{self, GetTarget};
use crate::ops::next_chunk;
use crate::ready::{self, run, Ready};
use crate::transport::{
    AsyncBody, AsyncTransport, ByteRange, CompletedPart, ErrorKind, GetRequest, ObjectHead,
    PartRequest, Transport, TransportError,
};

/// One MiB.
const MIB: u64 = 1 << 20;

/// How many times one part or range is tried by the client (on top of the
/// transport's own retries of each request).
pub(crate) const ATTEMPTS: u32 = 4;

/// The part size of a put of `declared` bytes: the configured one, grown
/// (to a whole number of MiB) when the body would otherwise need more than
/// S3's 10,000 parts. Bodies of unknown length keep the configured size.
pub(crate) fn part_size_for(configured: u64, declared: Option<u64>) -> u64 {
    let Some(len) = declared else {
        return configured;
    };
    let needed = len.div_ceil(u64::from(MAX_PARTS));
    if needed <= configured {
        return configured;
    }
    needed.div_ceil(MIB).saturating_mul(MIB).min(MAX_PART_SIZE)
}

/// Whether a failed request is worth sending again (the same bytes, or
/// the same range): a broken connection, a throttled or failing server, a
/// garbled answer. Refusals (403, 404, 412) are final.
pub(crate) fn worth_retrying(e: &TransportError) -> bool {
    matches!(
        e.kind,
        ErrorKind::Connection | ErrorKind::Unavailable | ErrorKind::InvalidResponse
    )
}

/// Whether a client error met while fetching a range is worth another try.
fn client_error_retryable(e: &ClientError) -> bool {
    match e {
        ClientError::Transport(t) => worth_retrying(t),
        ClientError::Io(_) | ClientError::UnexpectedBodyLength { .. } => true,
        _ => false,
    }
}

/// The parts of a put in flight: at most `limit` at once, the finished
/// ones collected (in any order), the first failure kept.
#[derive(Debug)]
pub(crate) struct PartWindow {
    limit: usize,
    in_flight: usize,
    parts: Vec<CompletedPart>,
    failed: Option<ClientError>,
}

impl PartWindow {
    pub(crate) fn new(limit: usize) -> PartWindow {
        PartWindow {
            limit: limit.max(1),
            in_flight: 0,
            parts: Vec::new(),
            failed: None,
        }
    }

    /// Whether another part may be started now.
    pub(crate) fn has_room(&self) -> bool {
        self.in_flight < self.limit && self.failed.is_none()
    }

    /// Whether a part is still in flight.
    pub(crate) fn busy(&self) -> bool {
        self.in_flight > 0
    }

    /// Whether a part (or the reading and encrypting) failed: start no
    /// more parts, wait for those in flight, then abort.
    pub(crate) fn failed(&self) -> bool {
        self.failed.is_some()
    }

    /// A part was handed to an uploader.
    pub(crate) fn started(&mut self) {
        self.in_flight += 1;
    }

    /// An uploader finished a part.
    pub(crate) fn done(&mut self, result: Result<CompletedPart, ClientError>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        match result {
            Ok(p) => self.parts.push(p),
            Err(e) => self.fail(e),
        }
    }

    /// Something other than an upload failed (reading, encrypting).
    pub(crate) fn fail(&mut self, e: ClientError) {
        if self.failed.is_none() {
            self.failed = Some(e);
        }
    }

    /// Every part, in part-number order, or the first failure.
    pub(crate) fn finish(self) -> Result<Vec<CompletedPart>, ClientError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let mut parts = self.parts;
        parts.sort_by_key(|p| p.part_number);
        Ok(parts)
    }
}

/// The first GET of a get: with a concurrency above one, a range of the
/// first `range_size` bytes (the answer tells the object's length, and
/// small objects come whole); else the whole object.
pub(crate) fn first_request<'a>(
    target: &GetTarget<'a>,
    concurrency: usize,
    range_size: u64,
) -> GetRequest<'a> {
    let mut req = target.get();
    if concurrency > 1 && range_size > 0 {
        req.range = Some(ByteRange {
            first: 0,
            last: Some(range_size - 1),
        });
    }
    req
}

/// What the first answer of a get holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FirstAnswer {
    /// The whole object.
    Whole,
    /// Only its first range (ciphertext bytes `0..=last`); the rest is
    /// fetched by range.
    Partial {
        /// The last byte of the first range.
        last: u64,
    },
}

/// Check the `Content-Range` of the first answer against what was asked.
/// Spec `decryption.md` §Ranged Gets: a ranged response to a request
/// without a range MUST be refused.
pub(crate) fn first_answer(
    asked: Option<ByteRange>,
    content_range: Option<(u64, u64, u64)>,
) -> Result<FirstAnswer, ClientError> {
    let Some(asked) = asked else {
        return match content_range {
            None => Ok(FirstAnswer::Whole),
            Some(_) => Err(ClientError::UnexpectedRange),
        };
    };
    match content_range {
        // The store ignored the range: the whole object came.
        None => Ok(FirstAnswer::Whole),
        Some((0, last, total)) => {
            let asked_last = asked.last.unwrap_or(u64::MAX);
            if total == 0 || last != asked_last.min(total - 1) {
                return Err(ClientError::RangeMismatch);
            }
            if last + 1 == total {
                Ok(FirstAnswer::Whole)
            } else {
                Ok(FirstAnswer::Partial { last })
            }
        }
        Some(_) => Err(ClientError::RangeMismatch),
    }
}

/// Everything a range GET needs, owned (for threads and tasks), pinned to
/// the version the first answer described: its version id where the store
/// gave one, and `If-Match` with its entity tag.
#[derive(Debug, Clone)]
pub(crate) struct Pin {
    bucket: String,
    key: String,
    version_id: Option<String>,
    etag: Option<String>,
    expected_bucket_owner: Option<String>,
    request_payer: bool,
    /// The object's length.
    pub(crate) total: u64,
}

impl Pin {
    /// Pin `target` to the version `head` describes; a store that gave
    /// neither a version id nor an entity tag cannot be read by range
    /// ([`ClientError::CannotPinVersion`]).
    pub(crate) fn new(target: &GetTarget<'_>, head: &ObjectHead) -> Result<Pin, ClientError> {
        let version_id = target
            .version_id
            .map(str::to_string)
            .or_else(|| head.version_id.clone());
        if version_id.is_none() && head.etag.is_none() {
            return Err(ClientError::CannotPinVersion);
        }
        Ok(Pin {
            bucket: target.bucket.to_string(),
            key: target.key.to_string(),
            version_id,
            etag: head.etag.clone(),
            expected_bucket_owner: target.access.expected_bucket_owner.map(str::to_string),
            request_payer: target.access.request_payer,
            total: head.content_length,
        })
    }

    /// The pinned GET of bytes `first..=last`.
    pub(crate) fn request(&self, first: u64, last: u64) -> GetRequest<'_> {
        GetRequest {
            bucket: &self.bucket,
            key: &self.key,
            range: Some(ByteRange {
                first,
                last: Some(last),
            }),
            if_match: self.etag.as_deref(),
            version_id: self.version_id.as_deref(),
            access: crate::transport::Access {
                expected_bucket_owner: self.expected_bucket_owner.as_deref(),
                request_payer: self.request_payer,
            },
        }
    }

    /// Check a range answer: it covers exactly `first..=last` of this
    /// object.
    pub(crate) fn check(
        &self,
        content_range: Option<(u64, u64, u64)>,
        first: u64,
        last: u64,
    ) -> Result<(), ClientError> {
        get::check_content_range(content_range, first, last, self.total)
    }
}

/// The ranges of a get and the in-order window over them: at most `limit`
/// ranges fetched or held at once, handed back in order.
#[derive(Debug)]
pub(crate) struct RangeWindow<T> {
    total: u64,
    size: u64,
    count: u64,
    /// Next range to start.
    next: u64,
    /// Next range to hand back.
    released: u64,
    limit: u64,
    held: BTreeMap<u64, T>,
}

impl<T> RangeWindow<T> {
    /// The ranges of `size` bytes covering an object of `total` bytes; the
    /// first range is already under way (the first answer).
    pub(crate) fn new(total: u64, size: u64, limit: usize) -> RangeWindow<T> {
        let size = size.max(1);
        RangeWindow {
            total,
            size,
            count: total.div_ceil(size),
            next: 1,
            released: 0,
            limit: (limit as u64).max(1),
            held: BTreeMap::new(),
        }
    }

    /// The bytes of range `i`, inclusive.
    pub(crate) fn range(&self, i: u64) -> (u64, u64) {
        let first = i * self.size;
        (first, (first + self.size).min(self.total) - 1)
    }

    /// The next range to start (index, first, last), if the window has
    /// room: fewer than `limit` ranges between the next to hand back and
    /// the next to start.
    pub(crate) fn next_range(&mut self) -> Option<(u64, u64, u64)> {
        if self.next >= self.count || self.next >= self.released + self.limit {
            return None;
        }
        let i = self.next;
        self.next += 1;
        let (first, last) = self.range(i);
        Some((i, first, last))
    }

    /// Range `i` arrived.
    pub(crate) fn arrived(&mut self, i: u64, data: T) {
        self.held.insert(i, data);
    }

    /// The next range in order, if it arrived.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let data = self.held.remove(&self.released)?;
        self.released += 1;
        Some(data)
    }

    /// Whether every range was handed back.
    pub(crate) fn is_done(&self) -> bool {
        self.released >= self.count
    }
}

/// A GET's `Content-Range` and body.
pub(crate) type Answer<B> = (Option<(u64, u64, u64)>, B);

/// One range being fetched: what arrived so far, where a retry starts, how
/// many tries are left.
#[derive(Debug)]
pub(crate) struct RangeFetch {
    pub(crate) first: u64,
    pub(crate) last: u64,
    pub(crate) buf: Vec<u8>,
    failures: u32,
}

impl RangeFetch {
    /// The fetch of bytes `first..=last` into `buf`, a buffer used before
    /// (its contents dropped) or a new one, so that a get reuses the memory
    /// of the ranges it consumed.
    pub(crate) fn with_buffer(first: u64, last: u64, mut buf: Vec<u8>) -> RangeFetch {
        buf.clear();
        buf.reserve_exact(usize::try_from(last - first + 1).unwrap_or(0));
        RangeFetch {
            first,
            last,
            buf,
            failures: 0,
        }
    }

    /// Bytes still missing.
    pub(crate) fn wanted(&self) -> u64 {
        (self.last - self.first + 1).saturating_sub(self.buf.len() as u64)
    }

    /// The offset a (re)started GET asks from.
    pub(crate) fn from(&self) -> u64 {
        self.first + self.buf.len() as u64
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.wanted() == 0
    }

    /// Append what arrived; more than the range is a wrong answer.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), ClientError> {
        if chunk.len() as u64 > self.wanted() {
            return Err(ClientError::RangeMismatch);
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    /// The answer to a GET from [`from`](Self::from): its body to read
    /// (`Some`), or `None` to try again; a wrong range or a changed object
    /// (412) is final.
    pub(crate) fn answered<B>(
        &mut self,
        pin: &Pin,
        answer: Result<Answer<B>, TransportError>,
    ) -> Result<Option<B>, ClientError> {
        match answer {
            Ok((content_range, body)) => {
                pin.check(content_range, self.from(), self.last)?;
                Ok(Some(body))
            }
            Err(e) => {
                self.broke(get::pinned(e))?;
                Ok(None)
            }
        }
    }

    /// The body ended before the range did.
    pub(crate) fn short(&self) -> ClientError {
        ClientError::UnexpectedBodyLength {
            expected: self.last - self.first + 1,
            received: self.buf.len() as u64,
        }
    }

    /// A try failed with `e`: `Ok` to try again (from [`from`](Self::from)),
    /// else the error to report. A changed object (412) is final.
    pub(crate) fn broke(&mut self, e: ClientError) -> Result<(), ClientError> {
        self.failures += 1;
        if self.failures < ATTEMPTS && client_error_retryable(&e) {
            Ok(())
        } else {
            Err(e)
        }
    }
}

/// A client error carried through an `io::Error` (the blocking body).
pub(crate) fn into_io(e: ClientError) -> io::Error {
    io::Error::other(e)
}

/// The client error inside an `io::Error` made by [`into_io`], if it is one.
pub(crate) fn take_client_error(e: io::Error) -> Result<ClientError, io::Error> {
    if e.get_ref().is_some_and(|i| i.is::<ClientError>()) {
        match e.into_inner().map(|i| i.downcast::<ClientError>()) {
            Some(Ok(ce)) => Ok(*ce),
            Some(Err(other)) => Err(io::Error::other(other)),
            None => Err(io::Error::other("lost error")),
        }
    } else {
        Err(e)
    }
}

/// A client error carried through a `TransportError` (the async body).
#[cfg(feature = "async")]
pub(crate) fn into_transport(e: ClientError) -> TransportError {
    let mut t = TransportError::new(ErrorKind::Other, e.to_string());
    t.source = Some(Box::new(e));
    t
}

/// The client error inside a `TransportError` made by [`into_transport`].
#[cfg(feature = "async")]
pub(crate) fn take_transport_client_error(
    e: TransportError,
) -> Result<ClientError, TransportError> {
    if e.source.as_ref().is_some_and(|s| s.is::<ClientError>()) {
        let TransportError {
            kind,
            status,
            code,
            message,
            source,
        } = e;
        match source.map(|s| s.downcast::<ClientError>()) {
            Some(Ok(ce)) => Ok(*ce),
            Some(Err(s)) => Err(TransportError {
                kind,
                status,
                code,
                message,
                source: Some(s),
            }),
            None => Err(TransportError::new(kind, message)),
        }
    } else {
        Err(e)
    }
}

/// Upload one part, resending its own ciphertext after a failure worth
/// another try ([`worth_retrying`]). Written once: the async client awaits
/// it in a tokio task, the blocking client runs it on a scoped thread over
/// its transport seen as an always-ready async one ([`crate::ready`]).
pub(crate) async fn upload_part(
    transport: &dyn AsyncTransport,
    req: &PartRequest<'_>,
    part: &Bytes,
) -> Result<String, ClientError> {
    let mut attempt = 1;
    loop {
        match transport.upload_part(req, part.clone()).await {
            Ok(etag) => return Ok(etag),
            Err(e) if attempt < ATTEMPTS && worth_retrying(&e) => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Fetch one range, resuming where it broke; `initial` is a body already
/// open on it (the first answer). Written once, like [`upload_part`]: a
/// tokio task awaits it, a blocking client's thread runs it over
/// [`crate::ready::Ready`]. `stop` ends it between two chunks (the get
/// failed elsewhere or was dropped). The range is read into `buf` (a
/// buffer of an earlier range, or a new one).
pub(crate) async fn fetch_range(
    transport: &dyn AsyncTransport,
    pin: &Pin,
    (first, last): (u64, u64),
    buf: Vec<u8>,
    initial: Option<AsyncBody>,
    stop: &AtomicBool,
) -> Result<Vec<u8>, ClientError> {
    let mut f = RangeFetch::with_buffer(first, last, buf);
    let mut body = initial;
    while !f.is_complete() {
        if stop.load(Ordering::Relaxed) {
            return Err(ClientError::Io(io::Error::other("the get was stopped")));
        }
        let answer = match body.take() {
            Some(b) => Some(b),
            None => {
                let req = pin.request(f.from(), last);
                let got = transport.get_object(&req).await;
                f.answered(pin, got.map(|r| (r.content_range, r.body)))?
            }
        };
        let Some(mut b) = answer else { continue };
        loop {
            match next_chunk(&mut b).await {
                None => {
                    if !f.is_complete() {
                        f.broke(f.short())?;
                    }
                    break;
                }
                Some(Ok(c)) => f.push(&c)?,
                Some(Err(e)) => {
                    f.broke(ClientError::Transport(e))?;
                    break;
                }
            }
            if f.is_complete() || stop.load(Ordering::Relaxed) {
                break;
            }
        }
    }
    Ok(f.buf)
}

/// A finished range, or why it failed, from a fetching thread.
type Arrival = (u64, Result<Vec<u8>, ClientError>);

/// The body of a parallel get over a blocking transport: ranges fetched on
/// up to `limit` threads, read back in order. Reading it yields the whole
/// ciphertext; an error is a [`ClientError`] inside the `io::Error`
/// ([`take_client_error`]). Dropping it stops the fetchers.
pub(crate) struct ParallelBody {
    transport: Arc<dyn Transport>,
    pin: Arc<Pin>,
    window: RangeWindow<Vec<u8>>,
    tx: mpsc::Sender<Arrival>,
    rx: mpsc::Receiver<Arrival>,
    stop: Arc<AtomicBool>,
    current: Vec<u8>,
    pos: usize,
    failed: bool,
    /// Buffers of ranges read out, for the next ranges (the memory of a get
    /// stays that of its window instead of one new buffer per range).
    spare: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ParallelBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelBody")
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl ParallelBody {
    /// Start fetching: `first_body` carries range 0 (bytes `0..=first_last`
    /// of the first answer), the others start as the window allows.
    pub(crate) fn start(
        transport: Arc<dyn Transport>,
        pin: Pin,
        first_body: Box<dyn Read + Send>,
        first_last: u64,
        limit: usize,
    ) -> ParallelBody {
        let (tx, rx) = mpsc::channel();
        let window = RangeWindow::new(pin.total, first_last + 1, limit);
        let mut body = ParallelBody {
            transport,
            pin: Arc::new(pin),
            window,
            tx,
            rx,
            stop: Arc::new(AtomicBool::new(false)),
            current: Vec::new(),
            pos: 0,
            failed: false,
            spare: Vec::new(),
        };
        body.spawn(0, 0, first_last, Some(first_body));
        body
    }

    fn spawn(&mut self, i: u64, first: u64, last: u64, initial: Option<Box<dyn Read + Send>>) {
        let buf = self.spare.pop().unwrap_or_default();
        let (t, pin, stop, tx) = (
            Arc::clone(&self.transport),
            Arc::clone(&self.pin),
            Arc::clone(&self.stop),
            self.tx.clone(),
        );
        std::thread::spawn(move || {
            // A transport that panics must not leave the reader waiting.
            let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let initial = initial.map(ready::stream);
                run(fetch_range(
                    &Ready(t.as_ref()),
                    &pin,
                    (first, last),
                    buf,
                    initial,
                    &stop,
                ))
            }))
            .unwrap_or_else(|_| Err(ClientError::Io(io::Error::other("the transport panicked"))));
            let _ = tx.send((i, got));
        });
    }
}

impl Read for ParallelBody {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.current.len() {
                let n = out.len().min(self.current.len() - self.pos);
                out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.failed {
                return Err(io::Error::other("the parallel get failed"));
            }
            if let Some(next) = self.window.pop() {
                let done = std::mem::replace(&mut self.current, next);
                if done.capacity() > 0 {
                    self.spare.push(done);
                }
                self.pos = 0;
                continue;
            }
            if self.window.is_done() {
                return Ok(0);
            }
            while let Some((i, first, last)) = self.window.next_range() {
                self.spawn(i, first, last, None);
            }
            match self.rx.recv() {
                Ok((i, Ok(data))) => self.window.arrived(i, data),
                Ok((_, Err(e))) => {
                    self.failed = true;
                    self.stop.store(true, Ordering::Relaxed);
                    return Err(into_io(e));
                }
                Err(_) => return Err(io::Error::other("the range fetchers went away")),
            }
        }
    }
}

impl Drop for ParallelBody {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(feature = "async")]
pub(crate) use tasks::ParallelStream;

#[cfg(feature = "async")]
mod tasks {
    use std::pin::Pin as StdPin;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use tokio::task::JoinSet;

    use super::{fetch_range, into_transport, Pin, RangeWindow};
    use crate::error::ClientError;
    use crate::transport::{AsyncBody, AsyncTransport, TransportError};

    /// The body of a parallel get over an async transport: ranges fetched
    /// by up to `limit` tokio tasks, streamed back in order. An error is a
    /// [`ClientError`] inside the `TransportError`
    /// ([`take_transport_client_error`](super::take_transport_client_error)).
    /// Dropping it aborts the tasks.
    pub(crate) struct ParallelStream {
        transport: Arc<dyn AsyncTransport>,
        pin: Arc<Pin>,
        window: RangeWindow<Bytes>,
        tasks: JoinSet<(u64, Result<Bytes, ClientError>)>,
        failed: bool,
        /// The range handed out last: once the reader dropped it, its
        /// buffer goes to the next range (as the blocking body reuses its
        /// buffers) instead of a new one per range.
        handed: Option<Bytes>,
        spare: Vec<Vec<u8>>,
    }

    impl ParallelStream {
        /// Start fetching (see [`super::ParallelBody::start`]).
        pub(crate) fn start(
            transport: Arc<dyn AsyncTransport>,
            pin: Pin,
            first_body: AsyncBody,
            first_last: u64,
            limit: usize,
        ) -> ParallelStream {
            let window = RangeWindow::new(pin.total, first_last + 1, limit);
            let mut s = ParallelStream {
                transport,
                pin: Arc::new(pin),
                window,
                tasks: JoinSet::new(),
                failed: false,
                handed: None,
                spare: Vec::new(),
            };
            s.spawn(0, 0, first_last, Some(first_body));
            s
        }

        fn spawn(&mut self, i: u64, first: u64, last: u64, initial: Option<AsyncBody>) {
            let t = Arc::clone(&self.transport);
            let pin = Arc::clone(&self.pin);
            let buf = self.spare.pop().unwrap_or_default();
            self.tasks.spawn(async move {
                // Dropping the stream aborts the task: no stop flag needed.
                let go_on = AtomicBool::new(false);
                let range = (first, last);
                let got = fetch_range(t.as_ref(), &pin, range, buf, initial, &go_on).await;
                (i, got.map(Bytes::from))
            });
        }

        /// Take back the buffer of the range handed out last, if the reader
        /// is done with it (no other handle left).
        fn reclaim(&mut self) {
            if let Some(v) = self.handed.take().and_then(take_back) {
                self.spare.push(v);
            }
        }
    }

    /// The buffer of `b` when no other handle to it is left (without a
    /// copy: `Bytes` made from a `Vec` gives the same allocation back).
    pub(super) fn take_back(b: Bytes) -> Option<Vec<u8>> {
        let v = Vec::from(b.try_into_mut().ok()?);
        (v.capacity() > 0).then_some(v)
    }

    impl futures_core::Stream for ParallelStream {
        type Item = Result<Bytes, TransportError>;

        fn poll_next(self: StdPin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            let this = self.get_mut();
            loop {
                if this.failed {
                    return Poll::Ready(None);
                }
                this.reclaim();
                if let Some(data) = this.window.pop() {
                    this.handed = Some(data.clone());
                    return Poll::Ready(Some(Ok(data)));
                }
                if this.window.is_done() {
                    this.spare.clear();
                    return Poll::Ready(None);
                }
                while let Some((i, first, last)) = this.window.next_range() {
                    this.spawn(i, first, last, None);
                }
                match this.tasks.poll_join_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok((i, Ok(data))))) => this.window.arrived(i, data),
                    Poll::Ready(Some(Ok((_, Err(e))))) => {
                        this.failed = true;
                        this.tasks.abort_all();
                        return Poll::Ready(Some(Err(into_transport(e))));
                    }
                    Poll::Ready(Some(Err(join))) => {
                        this.failed = true;
                        this.tasks.abort_all();
                        return Poll::Ready(Some(Err(into_transport(ClientError::Io(
                            std::io::Error::other(join),
                        )))));
                    }
                    Poll::Ready(None) => {
                        this.failed = true;
                        return Poll::Ready(Some(Err(into_transport(ClientError::Io(
                            std::io::Error::other("the range fetchers went away"),
                        )))));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[cfg(feature = "async")]
    #[test]
    fn a_range_buffer_comes_back_only_once_the_reader_dropped_it() {
        let v = vec![7u8; 1 << 20];
        let at = v.as_ptr();
        let handed = Bytes::from(v);
        let reader = handed.clone();
        // The reader still holds the range: nothing comes back.
        assert!(tasks::take_back(handed.clone()).is_none());
        drop(reader);
        let back = tasks::take_back(handed).unwrap();
        assert_eq!(back.as_ptr(), at, "the same allocation, not a copy");
        assert!(back.capacity() >= 1 << 20);
        assert!(tasks::take_back(Bytes::new()).is_none());
    }

    #[test]
    fn part_size_grows_past_ten_thousand_parts() {
        let ps = 8 * MIB;
        assert_eq!(part_size_for(ps, None), ps);
        assert_eq!(part_size_for(ps, Some(10_000 * ps)), ps);
        let big = 10_000 * ps + 1;
        let grown = part_size_for(ps, Some(big));
        assert_eq!(grown, 9 * MIB);
        assert!(big.div_ceil(grown) <= 10_000);
        assert_eq!(part_size_for(ps, Some(u64::MAX)), MAX_PART_SIZE);
        // 1 TiB: 105 MiB parts, 9,987 of them.
        let t = part_size_for(ps, Some(1 << 40));
        assert_eq!(t, 105 * MIB);
        assert!((1u64 << 40).div_ceil(t) <= 10_000);
    }

    #[test]
    fn window_hands_ranges_back_in_order() {
        let mut w: RangeWindow<u64> = RangeWindow::new(100, 10, 3);
        assert_eq!(w.range(0), (0, 9));
        assert_eq!(w.range(9), (90, 99));
        // Range 0 is under way; two more may start.
        assert_eq!(w.next_range(), Some((1, 10, 19)));
        assert_eq!(w.next_range(), Some((2, 20, 29)));
        assert_eq!(w.next_range(), None);
        // Out of order: 2, then 1, then 0.
        w.arrived(2, 2);
        assert_eq!(w.pop(), None);
        w.arrived(1, 1);
        assert_eq!(w.pop(), None);
        assert_eq!(w.next_range(), None);
        w.arrived(0, 0);
        assert_eq!(
            (w.pop(), w.pop(), w.pop(), w.pop()),
            (Some(0), Some(1), Some(2), None)
        );
        assert_eq!(w.next_range(), Some((3, 30, 39)));
        let mut n = 3;
        while !w.is_done() {
            while let Some((i, ..)) = w.next_range() {
                w.arrived(i, i);
            }
            w.arrived(n, n);
            while let Some(i) = w.pop() {
                assert_eq!(i, n);
                n += 1;
            }
        }
        assert_eq!(n, 10);
        // A last short range.
        let w: RangeWindow<()> = RangeWindow::new(25, 10, 8);
        assert_eq!(w.range(2), (20, 24));
    }

    #[test]
    fn first_answers() {
        let r = Some(ByteRange {
            first: 0,
            last: Some(9),
        });
        assert_eq!(first_answer(None, None).unwrap(), FirstAnswer::Whole);
        assert!(matches!(
            first_answer(None, Some((0, 9, 10))),
            Err(ClientError::UnexpectedRange)
        ));
        assert_eq!(first_answer(r, None).unwrap(), FirstAnswer::Whole);
        assert_eq!(
            first_answer(r, Some((0, 4, 5))).unwrap(),
            FirstAnswer::Whole
        );
        assert_eq!(
            first_answer(r, Some((0, 9, 10))).unwrap(),
            FirstAnswer::Whole
        );
        assert_eq!(
            first_answer(r, Some((0, 9, 11))).unwrap(),
            FirstAnswer::Partial { last: 9 }
        );
        for bad in [(1, 9, 11), (0, 8, 11), (0, 9, 9)] {
            assert!(matches!(
                first_answer(r, Some(bad)),
                Err(ClientError::RangeMismatch)
            ));
        }
    }

    #[test]
    fn range_fetch_retries_only_what_can_heal() {
        let mut f = RangeFetch::with_buffer(10, 19, Vec::new());
        f.push(&[0; 4]).unwrap();
        assert_eq!((f.from(), f.wanted()), (14, 6));
        assert!(matches!(f.push(&[0; 7]), Err(ClientError::RangeMismatch)));
        assert!(f.broke(f.short()).is_ok());
        assert!(matches!(
            f.broke(ClientError::ObjectChanged),
            Err(ClientError::ObjectChanged)
        ));
        let mut f = RangeFetch::with_buffer(0, 0, Vec::new());
        for _ in 1..ATTEMPTS {
            assert!(f
                .broke(ClientError::Transport(TransportError::new(
                    ErrorKind::Connection,
                    "x"
                )))
                .is_ok());
        }
        assert!(f
            .broke(ClientError::Transport(TransportError::new(
                ErrorKind::Connection,
                "x"
            )))
            .is_err());
    }

    #[test]
    fn a_range_reuses_a_buffer_without_its_contents() {
        let old = vec![7u8; 64];
        let at = old.as_ptr();
        let mut f = RangeFetch::with_buffer(0, 9, old);
        assert_eq!((f.buf.len(), f.wanted()), (0, 10));
        assert_eq!(f.buf.as_ptr(), at, "the buffer's memory is kept");
        f.push(&[1; 10]).unwrap();
        assert!(f.is_complete());
        assert_eq!(f.buf, [1; 10]);
        // A buffer too small grows to the range.
        let f = RangeFetch::with_buffer(0, 99, vec![0; 4]);
        assert!(f.buf.is_empty() && f.buf.capacity() >= 100);
    }

    #[test]
    fn part_window_sorts_and_keeps_the_first_failure() {
        let mut w = PartWindow::new(2);
        assert!(w.has_room());
        w.started();
        w.started();
        assert!(!w.has_room() && w.busy());
        w.done(Ok(CompletedPart::new(2, "b")));
        w.done(Ok(CompletedPart::new(1, "a")));
        assert!(!w.busy());
        let parts = w.finish().unwrap();
        assert_eq!(
            parts.iter().map(|p| p.part_number).collect::<Vec<_>>(),
            [1, 2]
        );
        let mut w = PartWindow::new(2);
        w.started();
        w.done(Err(ClientError::ObjectChanged));
        w.fail(ClientError::RangeMismatch);
        assert!(w.failed() && !w.has_room());
        assert!(matches!(w.finish(), Err(ClientError::ObjectChanged)));
    }

    #[test]
    fn client_errors_survive_the_body_error_types() {
        let e = take_client_error(into_io(ClientError::ObjectChanged)).unwrap();
        assert!(matches!(e, ClientError::ObjectChanged));
        assert!(take_client_error(io::Error::other("x")).is_err());
    }
}

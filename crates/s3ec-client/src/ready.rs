//! How the blocking client runs the capabilities written once as `async`
//! code (see [`crate::ops`]): its blocking [`Transport`] seen as an
//! [`AsyncTransport`] whose futures are ready when made (the blocking call
//! runs inside the method, on the caller's thread), and [`run`], which
//! polls such a future to its end on the same thread. No runtime, no
//! thread, no `tokio`: the blocking client keeps working without the
//! `async` feature.

use std::future::Future;
use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use s3ec_keyring::BoxFuture;

use crate::transport::{
    AsyncBody, AsyncGetResponse, AsyncTransport, ByteRange, CompleteRequest, CopyRequest,
    ErrorKind, GetRequest, ListPage, ListRequest, ObjectHead, ObjectRequest, PartRequest,
    PresignedRequest, PutRequest, Transport, TransportError,
};

/// Run `future` to its end on this thread.
///
/// Every future the blocking client builds here awaits only futures that
/// are ready when made ([`Ready`]'s, and keyrings behind
/// [`s3ec_keyring::Local`]), so the first poll finishes it; the loop only
/// keeps this correct (if slow) should a future ever be pending.
pub(crate) fn run<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// A blocking transport used where an [`AsyncTransport`] is expected: each
/// call blocks in the method and returns a ready future. Only for futures
/// driven by [`run`] (never inside an async runtime).
#[derive(Debug)]
pub(crate) struct Ready<'t>(pub(crate) &'t dyn Transport);

fn ready<'a, T: Send + 'a>(out: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(out))
}

/// The chunk a blocking body is read in.
const CHUNK: usize = 64 * 1024;

/// A blocking body as an async stream of chunks (each read blocks).
struct ReadStream(Box<dyn Read + Send>);

/// A blocking body seen as an async one, for futures driven by [`run`].
pub(crate) fn stream(body: Box<dyn Read + Send>) -> AsyncBody {
    Box::pin(ReadStream(body))
}

impl futures_core::Stream for ReadStream {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut buf = vec![0u8; CHUNK];
        loop {
            return Poll::Ready(match self.0.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some(Ok(Bytes::from(buf)))
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => Some(Err(body_error(e))),
            });
        }
    }
}

/// A failed body read as the transport error it carries (transports wrap
/// theirs in `io::Error`), or as a broken connection.
fn body_error(e: std::io::Error) -> TransportError {
    if e.get_ref().is_some_and(|i| i.is::<TransportError>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(t) = inner.downcast::<TransportError>() {
                return *t;
            }
        }
        return TransportError::new(ErrorKind::Connection, "body read failed");
    }
    TransportError::new(ErrorKind::Connection, e.to_string())
}

impl AsyncTransport for Ready<'_> {
    fn head_object<'a>(
        &'a self,
        req: &'a ObjectRequest<'a>,
    ) -> BoxFuture<'a, Result<ObjectHead, TransportError>> {
        ready(self.0.head_object(req))
    }

    fn get_object<'a>(
        &'a self,
        req: &'a GetRequest<'a>,
    ) -> BoxFuture<'a, Result<AsyncGetResponse, TransportError>> {
        ready(self.0.get_object(req).map(|r| AsyncGetResponse {
            head: r.head,
            content_range: r.content_range,
            body: Box::pin(ReadStream(r.body)),
        }))
    }

    fn put_object<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        ready(self.0.put_object(req, body))
    }

    fn delete_object<'a>(
        &'a self,
        req: &'a ObjectRequest<'a>,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        ready(self.0.delete_object(req))
    }

    fn create_multipart_upload<'a>(
        &'a self,
        req: &'a PutRequest<'a>,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        ready(self.0.create_multipart_upload(req))
    }

    fn upload_part<'a>(
        &'a self,
        req: &'a PartRequest<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        ready(self.0.upload_part(req, body))
    }

    fn complete_multipart_upload<'a>(
        &'a self,
        req: &'a CompleteRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        ready(self.0.complete_multipart_upload(req))
    }

    fn abort_multipart_upload<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        ready(self.0.abort_multipart_upload(bucket, key, upload_id))
    }

    fn list_objects<'a>(
        &'a self,
        req: &'a ListRequest<'a>,
    ) -> BoxFuture<'a, Result<ListPage, TransportError>> {
        ready(self.0.list_objects(req))
    }

    fn copy_object<'a>(
        &'a self,
        req: &'a CopyRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<String>, TransportError>> {
        ready(self.0.copy_object(req))
    }

    fn upload_part_copy<'a>(
        &'a self,
        req: &'a CopyRequest<'a>,
        upload_id: &'a str,
        part_number: u32,
        range: ByteRange,
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        ready(self.0.upload_part_copy(req, upload_id, part_number, range))
    }

    fn presign_put<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        metadata: &'a [(String, String)],
        content_length: Option<u64>,
        expires_in: std::time::Duration,
    ) -> BoxFuture<'a, Result<PresignedRequest, TransportError>> {
        ready(
            self.0
                .presign_put(bucket, key, metadata, content_length, expires_in),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn run_finishes_ready_futures_and_waits_out_pending_ones() {
        assert_eq!(run(async { 7 }), 7);
        // A future pending twice still finishes.
        let mut left = 2;
        let f = std::future::poll_fn(move |_| {
            if left == 0 {
                Poll::Ready("done")
            } else {
                left -= 1;
                Poll::Pending
            }
        });
        assert_eq!(run(f), "done");
    }

    #[test]
    fn body_errors_keep_the_transport_error() {
        let t = TransportError::new(ErrorKind::Unavailable, "slow down");
        let e = body_error(std::io::Error::other(t));
        assert_eq!(e.kind, ErrorKind::Unavailable);
        let e = body_error(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "cut",
        ));
        assert_eq!(e.kind, ErrorKind::Connection);
    }
}

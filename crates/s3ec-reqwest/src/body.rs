//! The streaming body of a GET: a `Read` that never mistakes a broken or
//! short body for the end of the object.

use std::io::{self, Read};

use s3ec_client::transport::{ErrorKind, TransportError};

/// A response body that checks its length against `Content-Length` and
/// turns every failure into an [`io::Error`] carrying a
/// [`TransportError`]. After a failure, every further read fails too.
pub(crate) struct BodyReader<R> {
    inner: R,
    expected: Option<u64>,
    received: u64,
    failed: Option<(io::ErrorKind, ErrorKind, String)>,
    what: String,
}

impl<R: Read> BodyReader<R> {
    /// Wrap a body; `expected` is the `Content-Length`, when known.
    pub(crate) fn new(inner: R, expected: Option<u64>, what: String) -> BodyReader<R> {
        BodyReader {
            inner,
            expected,
            received: 0,
            failed: None,
            what,
        }
    }

    fn fail(
        &mut self,
        io_kind: io::ErrorKind,
        kind: ErrorKind,
        message: String,
        source: Option<io::Error>,
    ) -> io::Error {
        self.failed = Some((io_kind, kind, message.clone()));
        let mut err = TransportError::new(kind, message);
        err.source = source.map(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
        io::Error::new(io_kind, err)
    }
}

impl<R: Read> Read for BodyReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some((io_kind, kind, message)) = &self.failed {
            return Err(io::Error::new(
                *io_kind,
                TransportError::new(*kind, message.clone()),
            ));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        match self.inner.read(buf) {
            Ok(0) => match self.expected {
                Some(e) if self.received < e => {
                    let message = format!(
                        "{}: the body ended after {} of {e} bytes",
                        self.what, self.received
                    );
                    Err(self.fail(
                        io::ErrorKind::UnexpectedEof,
                        ErrorKind::Connection,
                        message,
                        None,
                    ))
                }
                _ => Ok(0),
            },
            Ok(n) => {
                self.received = self.received.saturating_add(n as u64);
                match self.expected {
                    Some(e) if self.received > e => {
                        let message = format!(
                            "{}: the body is longer than its Content-Length ({e})",
                            self.what
                        );
                        Err(self.fail(
                            io::ErrorKind::InvalidData,
                            ErrorKind::InvalidResponse,
                            message,
                            None,
                        ))
                    }
                    _ => Ok(n),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let io_kind = if is_timeout(&e) {
                    io::ErrorKind::TimedOut
                } else {
                    io::ErrorKind::UnexpectedEof
                };
                let message = format!(
                    "{}: the body broke after {} bytes: {}",
                    self.what,
                    self.received,
                    crate::error_chain(&e)
                );
                Err(self.fail(io_kind, ErrorKind::Connection, message, Some(e)))
            }
        }
    }
}

/// Whether a read failed by timing out (reqwest reports its own timeouts
/// as an [`io::ErrorKind::Other`] error wrapping a `reqwest::Error`).
fn is_timeout(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::TimedOut {
        return true;
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> =
        e.get_ref().map(|i| i as &(dyn std::error::Error + 'static));
    let mut depth = 0;
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<reqwest::Error>() {
            if r.is_timeout() {
                return true;
            }
        }
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::TimedOut {
                return true;
            }
        }
        cur = err.source();
        depth += 1;
        if depth > 8 {
            break;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken {
        data: Vec<u8>,
        pos: usize,
    }

    impl Read for Broken {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pos >= self.data.len() {
                return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
            }
            let n = buf.len().min(self.data.len() - self.pos).min(3);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn transport_kind(e: &io::Error) -> Option<ErrorKind> {
        e.get_ref()
            .and_then(|i| i.downcast_ref::<TransportError>())
            .map(|t| t.kind)
    }

    #[test]
    fn complete_body() {
        let mut r = BodyReader::new(&b"hello"[..], Some(5), "GET".into());
        let mut out = Vec::new();
        assert_eq!(r.read_to_end(&mut out).ok(), Some(5));
        assert_eq!(out, b"hello");
        let mut r = BodyReader::new(&b"hello"[..], None, "GET".into());
        assert_eq!(r.read_to_end(&mut Vec::new()).ok(), Some(5));
    }

    #[test]
    fn short_body_is_an_error_and_stays_one() {
        let mut r = BodyReader::new(&b"hel"[..], Some(5), "GET".into());
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).err();
        assert_eq!(
            e.as_ref().map(io::Error::kind),
            Some(io::ErrorKind::UnexpectedEof)
        );
        assert_eq!(
            e.as_ref().and_then(transport_kind),
            Some(ErrorKind::Connection)
        );
        let mut buf = [0u8; 4];
        assert!(r.read(&mut buf).is_err());
        assert!(r.read(&mut buf).is_err());
    }

    #[test]
    fn long_body_is_an_error() {
        let mut r = BodyReader::new(&b"hello!"[..], Some(5), "GET".into());
        let e = r.read_to_end(&mut Vec::new()).err();
        assert_eq!(
            e.as_ref().and_then(transport_kind),
            Some(ErrorKind::InvalidResponse)
        );
    }

    #[test]
    fn broken_body() {
        let inner = Broken {
            data: b"abcdefg".to_vec(),
            pos: 0,
        };
        let mut r = BodyReader::new(inner, Some(100), "GET".into());
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).err();
        assert_eq!(out, b"abcdefg");
        assert_eq!(
            e.as_ref().and_then(transport_kind),
            Some(ErrorKind::Connection)
        );
        assert!(r.read(&mut [0u8; 1]).is_err());
    }
}

//! A sink that records everything it is handed.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A `Write` / `AsyncWrite` that keeps every byte written to it and counts
/// the calls, so that a test can say exactly what a get released.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recorder {
    /// Every byte handed over, in order.
    pub bytes: Vec<u8>,
    /// How many write calls handed over at least one byte.
    pub writes: usize,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Whether nothing at all was handed over.
    pub fn is_untouched(&self) -> bool {
        self.bytes.is_empty() && self.writes == 0
    }
}

impl io::Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.is_empty() {
            self.writes += 1;
            self.bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncWrite for Recorder {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        Poll::Ready(io::Write::write(this, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn records() {
        let mut r = Recorder::new();
        assert!(r.is_untouched());
        assert!(r.write_all(b"").is_ok());
        assert!(r.is_untouched());
        assert!(r.write_all(b"ab").is_ok());
        assert_eq!((r.bytes.as_slice(), r.writes), (&b"ab"[..], 1));
        assert!(!r.is_untouched());
    }
}

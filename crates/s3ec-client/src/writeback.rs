//! Early write-back of a get to a path.
//!
//! A get to a path publishes its file only once it is whole, authenticated
//! and on disk: `get::persist` syncs it before the rename. Left alone, the
//! kernel keeps a download of a few GiB in the page cache and that final
//! sync then writes all of it while the caller waits (0.4 s for 1 GiB here,
//! 8 % of a parallel get). [`Writeback`] starts a `sync_data` of the file on
//! a background thread every [`EVERY`] bytes written, so the disk works
//! while the download goes on and the final sync waits for the tail only.
//!
//! The background syncs go through a clone of the file's descriptor, which
//! shares its open file description with the final sync: a write-back
//! error reported to one of them would not be reported again to the
//! final one. So their errors are kept and [`Writeback::finish`] returns
//! the first; the file is not published after one.

use std::fs::File;
use std::io::{self, Write};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Bytes written between two background syncs.
pub(crate) const EVERY: u64 = 64 * 1024 * 1024;

/// The background syncs of one file (see the module documentation).
#[derive(Debug)]
pub(crate) struct Writeback {
    file: Arc<File>,
    every: u64,
    since: u64,
    running: Option<JoinHandle<io::Result<()>>>,
    error: Option<io::Error>,
    started: u32,
}

impl Writeback {
    /// Syncs of `file` (through a clone of its descriptor) every [`EVERY`]
    /// bytes.
    pub(crate) fn new(file: &File) -> io::Result<Writeback> {
        Writeback::every(file, EVERY)
    }

    fn every(file: &File, every: u64) -> io::Result<Writeback> {
        Ok(Writeback {
            file: Arc::new(file.try_clone()?),
            every: every.max(1),
            since: 0,
            running: None,
            error: None,
            started: 0,
        })
    }

    /// `n` more bytes went into the file: past every [`EVERY`] bytes, start
    /// a sync unless the last one is still under way (then the next write
    /// tries again). A thread that cannot be started is no error: the
    /// final sync does the work.
    pub(crate) fn wrote(&mut self, n: usize) {
        self.since = self.since.saturating_add(n as u64);
        if self.since < self.every {
            return;
        }
        if self.running.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        self.reap();
        let file = Arc::clone(&self.file);
        let spawned = std::thread::Builder::new()
            .name("s3ec-writeback".into())
            .spawn(move || file.sync_data());
        if let Ok(h) = spawned {
            self.since = 0;
            self.started += 1;
            self.running = Some(h);
        }
    }

    fn reap(&mut self) {
        if let Some(h) = self.running.take() {
            let got = h
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a write-back thread panicked")));
            if let Err(e) = got {
                self.error.get_or_insert(e);
            }
        }
    }

    /// Wait for the sync under way; the first error any sync met.
    pub(crate) fn finish(mut self) -> io::Result<u32> {
        self.reap();
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(self.started),
        }
    }
}

/// A file written through [`Writeback`] (the blocking client's get to a
/// path).
#[derive(Debug)]
pub(crate) struct WritebackFile<'a> {
    file: &'a File,
    writeback: Writeback,
}

impl<'a> WritebackFile<'a> {
    pub(crate) fn new(file: &'a File) -> io::Result<WritebackFile<'a>> {
        Ok(WritebackFile {
            file,
            writeback: Writeback::new(file)?,
        })
    }

    /// The syncs' outcome (see [`Writeback::finish`]).
    pub(crate) fn finish(self) -> io::Result<u32> {
        self.writeback.finish()
    }
}

impl Write for WritebackFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.writeback.wrote(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(feature = "async")]
pub(crate) use tokio_file::WritebackAsync;

#[cfg(feature = "async")]
mod tokio_file {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::AsyncWrite;

    use super::Writeback;

    /// A tokio file written through [`Writeback`] (the async client's get
    /// to a path).
    #[derive(Debug)]
    pub(crate) struct WritebackAsync {
        file: tokio::fs::File,
        writeback: Writeback,
    }

    impl WritebackAsync {
        pub(crate) fn new(file: tokio::fs::File, writeback: Writeback) -> WritebackAsync {
            WritebackAsync { file, writeback }
        }

        /// The writer's file and syncs back.
        pub(crate) fn into_parts(self) -> (tokio::fs::File, Writeback) {
            (self.file, self.writeback)
        }
    }

    impl AsyncWrite for WritebackAsync {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let this = self.get_mut();
            let got = Pin::new(&mut this.file).poll_write(cx, buf);
            if let Poll::Ready(Ok(n)) = &got {
                this.writeback.wrote(*n);
            }
            got
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.get_mut().file).poll_flush(cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.get_mut().file).poll_shutdown(cx)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn syncs_start_every_so_many_bytes_and_the_file_is_whole() {
        let tmp = tempfile::tempfile().unwrap();
        let mut w = WritebackFile {
            file: &tmp,
            writeback: Writeback::every(&tmp, 1000).unwrap(),
        };
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(300) {
            w.write_all(chunk).unwrap();
            // Wait for each sync so that every threshold starts one.
            if let Some(h) = w.writeback.running.take() {
                h.join().unwrap().unwrap();
            }
        }
        let started = w.finish().unwrap();
        // 10,000 bytes in writes of 300: a sync after every 1,200.
        assert_eq!(started, 8);
        let mut back = Vec::new();
        use std::io::{Read, Seek};
        let mut f = &tmp;
        f.seek(io::SeekFrom::Start(0)).unwrap();
        f.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn a_sync_error_is_reported_by_finish() {
        let tmp = tempfile::tempfile().unwrap();
        let mut wb = Writeback::every(&tmp, 1).unwrap();
        wb.running = Some(std::thread::spawn(|| Err(io::Error::other("disk gone"))));
        let err = wb.finish().unwrap_err();
        assert_eq!(err.to_string(), "disk gone");
    }

    #[test]
    fn below_the_threshold_nothing_starts() {
        let tmp = tempfile::tempfile().unwrap();
        let mut wb = Writeback::every(&tmp, 1 << 20).unwrap();
        wb.wrote(1000);
        assert!(wb.running.is_none());
        assert_eq!(wb.finish().unwrap(), 0);
    }
}

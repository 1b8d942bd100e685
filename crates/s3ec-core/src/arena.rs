//! A bump arena over a caller-provided byte buffer.
//!
//! The core never allocates. Where parsing must produce new bytes (decoding
//! S3's RFC 2047 encoded metadata values, unescaping an instruction file's JSON
//! strings), it takes them from an [`Arena`] that borrows a buffer the caller
//! owns. Values handed out live as long as the buffer.

use crate::error::Error;

/// Hands out disjoint slices of one caller-provided buffer.
///
/// ```
/// use s3ec_core::Arena;
/// let mut buf = [0u8; 64];
/// let mut arena = Arena::new(&mut buf);
/// let a = arena.alloc(10).unwrap();
/// let b = arena.alloc(10).unwrap();
/// a[0] = 1;
/// b[0] = 2;
/// assert_eq!(arena.remaining(), 44);
/// ```
#[derive(Debug)]
pub struct Arena<'a> {
    rest: &'a mut [u8],
    used: usize,
}

impl<'a> Arena<'a> {
    /// An arena over `buf`.
    pub fn new(buf: &'a mut [u8]) -> Arena<'a> {
        Arena { rest: buf, used: 0 }
    }

    /// An arena with no room; enough when no value needs decoding.
    pub fn empty() -> Arena<'a> {
        Arena {
            rest: &mut [],
            used: 0,
        }
    }

    /// Take `n` bytes. Fails with [`Error::BufferTooSmall`] (reporting the
    /// total that would have been needed) if the buffer has no room.
    pub fn alloc(&mut self, n: usize) -> Result<&'a mut [u8], Error> {
        if n > self.rest.len() {
            return Err(Error::BufferTooSmall {
                needed: self.used + n,
            });
        }
        let rest = core::mem::take(&mut self.rest);
        let (head, tail) = rest.split_at_mut(n);
        self.rest = tail;
        self.used += n;
        Ok(head)
    }

    /// Copy `s` into the arena and return the copy.
    pub fn alloc_str(&mut self, s: &str) -> Result<&'a str, Error> {
        let out = self.alloc(s.len())?;
        out.copy_from_slice(s.as_bytes());
        // A byte-for-byte copy of a `str` is valid UTF-8.
        core::str::from_utf8(out).map_err(|_| Error::BufferTooSmall { needed: s.len() })
    }

    /// Take the whole remaining buffer (for a last value of unknown size).
    pub fn alloc_rest(&mut self) -> &'a mut [u8] {
        let rest = core::mem::take(&mut self.rest);
        self.used += rest.len();
        rest
    }

    /// Bytes still available.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Bytes handed out so far.
    pub fn used(&self) -> usize {
        self.used
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn too_small_reports_total() {
        let mut buf = [0u8; 8];
        let mut a = Arena::new(&mut buf);
        a.alloc(5).unwrap();
        assert_eq!(a.alloc(4), Err(Error::BufferTooSmall { needed: 9 }));
        assert_eq!(a.alloc_str("abc").unwrap(), "abc");
        assert_eq!(a.remaining(), 0);
        assert!(Arena::empty().alloc(1).is_err());
    }
}

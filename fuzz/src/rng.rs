//! A deterministic "RNG" fed by fuzzer bytes, for the APIs that draw IVs,
//! message ids and wrap nonces. Not random at all: only for fuzzing.

use rand_core::{CryptoRng, RngCore};

/// Cycles through `bytes` (or yields a counter when empty). Can be told to
/// fail, to exercise the `Error::Rng` paths.
pub struct FuzzRng {
    bytes: Vec<u8>,
    pos: usize,
    counter: u8,
    fail: bool,
}

impl FuzzRng {
    /// An RNG that cycles through `bytes`.
    pub fn new(bytes: Vec<u8>, fail: bool) -> FuzzRng {
        FuzzRng {
            bytes,
            pos: 0,
            counter: 1,
            fail,
        }
    }

    fn byte(&mut self) -> u8 {
        if self.bytes.is_empty() {
            self.counter = self.counter.wrapping_add(1);
            return self.counter;
        }
        let b = self.bytes[self.pos % self.bytes.len()];
        self.pos = self.pos.wrapping_add(1);
        b
    }
}

impl RngCore for FuzzRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest {
            *d = self.byte();
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        if self.fail {
            return Err(rand_core::Error::from(core::num::NonZeroU32::new(rand_core::Error::CUSTOM_START).unwrap()));
        }
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for FuzzRng {}

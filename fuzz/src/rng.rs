//! A deterministic "RNG" fed by fuzzer bytes, for the APIs that draw IVs,
//! message ids and wrap nonces. Not random at all: only for fuzzing.

use rand_core::{TryCryptoRng, TryRng};

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

/// The fuzzer asked for a failing RNG.
#[derive(Debug)]
pub struct FuzzRngError;

impl core::fmt::Display for FuzzRngError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("fuzz RNG told to fail")
    }
}

impl core::error::Error for FuzzRngError {}

impl TryRng for FuzzRng {
    type Error = FuzzRngError;

    fn try_next_u32(&mut self) -> Result<u32, FuzzRngError> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, FuzzRngError> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), FuzzRngError> {
        if self.fail {
            return Err(FuzzRngError);
        }
        for d in dest {
            *d = self.byte();
        }
        Ok(())
    }
}

impl TryCryptoRng for FuzzRng {}

//! A `#![no_std]` staticlib that exercises s3ec-core's public API with no
//! global allocator. `cargo xtask no-std` builds it: if `std` or `alloc`
//! creeps into the core or its dependencies, the build fails (a second
//! panic handler, or "no global memory allocator found").
#![no_std]

use core::panic::PanicInfo;

use rand_core::{TryCryptoRng, TryRng};
use s3ec_core::cipher::content::{ContentEncryption, ContentKey, ContentParams};
use s3ec_core::cipher::gcm::{GcmEncryptor, GcmVerifier};
use s3ec_core::envelope::{detect, Envelope, Placement};
use s3ec_core::matdesc::MatDesc;
use s3ec_core::{wrap, Arena, DataKey, Error, MetaKey, Suite, WrapAlg};


#[panic_handler]
fn panic(_info: &PanicInfo<'_>) -> ! {
    loop {}
}

/// A deterministic stand-in for a hardware RNG (a microcontroller's TRNG).
struct Counter(u64);

impl Counter {
    fn step(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0
    }
}

impl TryRng for Counter {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.step() as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.step())
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        for b in dest {
            *b = (self.step() >> 56) as u8;
        }
        Ok(())
    }
}
impl TryCryptoRng for Counter {}

/// The envelope as written: object-metadata pairs in fixed storage.
struct Written {
    store: [u8; 1024],
    keys: [(MetaKey, usize, usize); 8],
    count: usize,
}

/// The encrypt-only firmware: a fresh data key, wrapped under the
/// provisioned AES master key, the V3 envelope written into fixed storage,
/// and the content encrypted in place.
fn encrypt(body: &mut [u8], tag_out: &mut [u8; 16], seed: u64, out: &mut Written) -> Result<(), Error> {
    let mut rng = Counter(seed);
    let master = [7u8; 32];
    let data_key = DataKey::generate(&mut rng)?;
    let suite = Suite::AesGcmCommitting;
    let edk = wrap::aes_gcm::wrap(&master, &data_key, suite.cek_alg(), &mut rng)?;
    let (mut enc, params) = ContentEncryption::new(suite, &data_key, &mut rng)?.into_parts();
    enc.update(body)?;
    *tag_out = enc.finish();

    let ContentParams::Committing {
        message_id,
        commitment,
    } = params
    else {
        return Err(Error::LimitExceeded);
    };
    let matdesc = MatDesc::parse(r#"{"device":"sensor-17"}"#)?;
    let env = Envelope::new_v3(WrapAlg::AesGcm, &edk, &message_id, &commitment, matdesc)?;
    let mut used = 0usize;
    let Written { store, keys, count } = out;
    *count = 0;
    let mut sink = |k: MetaKey, v: &str| -> Result<(), Error> {
        let end = used + v.len();
        let dst = store.get_mut(used..end).ok_or(Error::BufferTooSmall { needed: end })?;
        dst.copy_from_slice(v.as_bytes());
        let slot = keys.get_mut(*count).ok_or(Error::BufferTooSmall { needed: *count + 1 })?;
        *slot = (k, used, end);
        used = end;
        *count += 1;
        Ok(())
    };
    env.write_object_metadata(Placement::ObjectMetadata, &mut sink)?;
    Ok(())
}

/// The decrypt-only firmware: parse the envelope, unwrap the data key,
/// check the commitment, verify the tag, then decrypt in place.
fn decrypt(body: &mut [u8], tag: &[u8; 16], written: &Written) -> Result<usize, Error> {
    let master = [7u8; 32];
    let mut pairs: [(&str, &str); 8] = [("", ""); 8];
    for (i, (k, a, b)) in written.keys.iter().take(written.count).enumerate() {
        let v = core::str::from_utf8(written.store.get(*a..*b).unwrap_or(&[])).unwrap_or("");
        if let Some(p) = pairs.get_mut(i) {
            *p = (k.as_str(), v);
        }
    }
    let pairs = pairs.get(..written.count).unwrap_or(&[]);
    detect(pairs.iter().copied())?;
    let mut arena = Arena::empty();
    let parsed = Envelope::parse(pairs.iter().copied(), None, &mut arena)?;

    let dk = wrap::aes_gcm::unwrap(&master, parsed.encrypted_data_key(), parsed.cek_alg())?;
    let key = ContentKey::for_decrypt(
        parsed.suite(),
        &dk,
        parsed.content_iv(),
        parsed.message_id(),
        parsed.key_commitment(),
    )?;
    let mut verifier = key.verifier()?;
    verifier.update(body)?;
    let verified = verifier.verify(tag)?;
    verified.decrypt_at(0, body)?;
    Ok(body.len())
}

fn empty() -> Written {
    Written {
        store: [0; 1024],
        keys: [(MetaKey::KeyV1, 0, 0); 8],
        count: 0,
    }
}

fn round_trip(body: &mut [u8], tag_out: &mut [u8; 16], seed: u64) -> Result<usize, Error> {
    let mut written = empty();
    encrypt(body, tag_out, seed, &mut written)?;
    decrypt(body, tag_out, &written)
}

/// Encrypt-only firmware entry (`cargo xtask no-std` measures what the
/// linker keeps from here): encrypt `len` bytes at `data` in place.
/// Returns 0, or -1 on error.
#[no_mangle]
pub extern "C" fn s3ec_edge_encrypt(data: &mut [u8; 4096], tag: &mut [u8; 16], seed: u64) -> i64 {
    let mut written = empty();
    match encrypt(data, tag, seed, &mut written) {
        Ok(()) => written.count as i64,
        Err(_) => -1,
    }
}

/// Decrypt-only firmware entry: the envelope is handed over as written by
/// [`s3ec_edge_encrypt`]'s layout. Returns the plaintext length, or -1.
#[no_mangle]
pub extern "C" fn s3ec_edge_decrypt(
    data: &mut [u8; 4096],
    tag: &[u8; 16],
    store: &[u8; 1024],
    spans: &[[u32; 3]; 8],
    count: u32,
) -> i64 {
    let mut written = empty();
    written.store = *store;
    for (slot, [k, a, b]) in written.keys.iter_mut().zip(spans.iter()) {
        let key = MetaKey::ALL.get(*k as usize).copied().unwrap_or(MetaKey::KeyV1);
        *slot = (key, *a as usize, *b as usize);
    }
    written.count = count as usize;
    match decrypt(data, tag, &written) {
        Ok(n) => n as i64,
        Err(_) => -1,
    }
}

/// The streaming encryption call alone (stack-depth root): start,
/// `update` over 1 KiB chunks, `finish`.
#[no_mangle]
pub extern "C" fn s3ec_stream_encrypt(key: &[u8; 32], iv: &[u8; 12], data: &mut [u8; 4096], tag: &mut [u8; 16]) -> i64 {
    let Ok(mut enc) = GcmEncryptor::new(key, iv, b"") else {
        return -1;
    };
    for chunk in data.chunks_mut(1024) {
        if enc.update(chunk).is_err() {
            return -1;
        }
    }
    *tag = enc.finish();
    0
}

/// The streaming authenticated decryption alone (stack-depth root):
/// verifier `update` over 1 KiB chunks, `verify`, then `decrypt_at`.
#[no_mangle]
pub extern "C" fn s3ec_stream_decrypt(key: &[u8; 32], iv: &[u8; 12], data: &mut [u8; 4096], tag: &[u8; 16]) -> i64 {
    let Ok(mut v) = GcmVerifier::new(key, iv, b"") else {
        return -1;
    };
    for chunk in data.chunks(1024) {
        if v.update(chunk).is_err() {
            return -1;
        }
    }
    let Ok(ok) = v.verify(tag) else {
        return -1;
    };
    let mut off = 0u64;
    for chunk in data.chunks_mut(1024) {
        if ok.decrypt_at(off, chunk).is_err() {
            return -1;
        }
        off += chunk.len() as u64;
    }
    0
}

/// Encrypt 64 bytes in place, write the envelope, parse it back, verify
/// and decrypt. Returns the plaintext length, or -1 on error.
#[no_mangle]
pub extern "C" fn s3ec_round_trip(data: &mut [u8; 64], tag: &mut [u8; 16], seed: u64) -> i64 {
    match round_trip(data, tag, seed) {
        Ok(n) => n as i64,
        Err(_) => -1,
    }
}

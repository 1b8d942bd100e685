//! The C ABI (`include/s3ec.h` is generated from this module by cbindgen).
//!
//! The only module of the crate with `unsafe` code: it turns the C
//! caller's pointers into slices and places the Rust states in the
//! caller's state structs; every operation is then done by the safe
//! [`Encryptor`] and [`Decryptor`].
//!
//! Conventions of every function:
//!
//! - returns `S3EC_OK` (0) or a negative `S3EC_ERR_*` code;
//!   [`s3ec_error_message`] describes a code;
//! - a buffer is a pointer and a length; NULL is accepted for a length of
//!   0; outputs of variable length are NUL-terminated, `*out_len` gets the
//!   length without the NUL, and, on `S3EC_ERR_BUFFER_TOO_SMALL`, the
//!   length needed (the buffer must hold one byte more, for the NUL);
//! - a state ([`s3ec_encryptor`], [`s3ec_decryptor`]) is caller memory of
//!   the size and alignment the header declares (a local variable, a
//!   static, or `aligned_alloc`); it is initialised by an `*_init_*`
//!   function, must not be copied while in use (a copy would encrypt two
//!   bodies under one key and IV), and is erased by `*_wipe` (keys
//!   zeroized), which the caller calls when done with it, also after
//!   an error;
//! - nothing allocates (except the RSA wrap of the `rsa` feature), nothing
//!   blocks, no global state: states may be used from different threads,
//!   one thread at a time each.
#![allow(unsafe_code)]
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_void};
use core::mem::{align_of, size_of};
use core::ptr;

use rand_core::{TryCryptoRng, TryRng};
use zeroize::Zeroize;

use crate::{DecryptOptions, Decryptor, Encryptor, EnvelopeOutput, Format, Placement, Status};

/// Success.
pub const S3EC_OK: i32 = 0;
/// A required pointer is NULL.
pub const S3EC_ERR_NULL_POINTER: i32 = -1;
/// The state is not initialised, was wiped, or is in the wrong phase.
pub const S3EC_ERR_STATE: i32 = -2;
/// The state's address is not aligned to `S3EC_STATE_ALIGN`.
pub const S3EC_ERR_ALIGNMENT: i32 = -3;
/// An invalid argument (key length, format, placement).
pub const S3EC_ERR_INVALID_INPUT: i32 = -4;
/// The envelope is malformed.
pub const S3EC_ERR_FORMAT: i32 = -5;
/// Malformed JSON, or not UTF-8.
pub const S3EC_ERR_JSON: i32 = -6;
/// The envelope is in an instruction file, which was not given.
pub const S3EC_ERR_INSTRUCTION_FILE_REQUIRED: i32 = -7;
/// Authentication failed (wrong key, modified or truncated object or
/// envelope): nothing was released.
pub const S3EC_ERR_AUTHENTICATION: i32 = -8;
/// Decryption asked for before the whole object was authenticated.
pub const S3EC_ERR_NOT_VERIFIED: i32 = -9;
/// A V2 (non-committing) object and commitment required.
pub const S3EC_ERR_COMMITMENT_REQUIRED: i32 = -10;
/// Not supported (legacy suite or wrap, a key of the wrong kind).
pub const S3EC_ERR_UNSUPPORTED: i32 = -11;
/// The output buffer is too small (`*out_len` says how much is needed).
pub const S3EC_ERR_BUFFER_TOO_SMALL: i32 = -12;
/// A length limit exceeded, or a range outside the object.
pub const S3EC_ERR_LIMIT: i32 = -13;
/// The random callback failed.
pub const S3EC_ERR_RNG: i32 = -14;
/// The RSA public key is malformed or shorter than 2048 bits.
pub const S3EC_ERR_RSA_KEY: i32 = -15;

/// V3 objects: key commitment (`x-amz-c` = `115`); the default of AWS's
/// current clients.
pub const S3EC_FORMAT_V3: u32 = 3;
/// V2 objects: `AES/GCM/NoPadding`, no key commitment.
pub const S3EC_FORMAT_V2: u32 = 2;

/// The envelope entirely in the object's metadata.
pub const S3EC_PLACEMENT_OBJECT_METADATA: u32 = 0;
/// The envelope in an instruction file (`KEY.instruction`); the metadata
/// keeps what must stay on the object.
pub const S3EC_PLACEMENT_INSTRUCTION_FILE: u32 = 1;

/// `s3ec_decrypt_init_aes` flag: also read V2 (non-committing) objects.
pub const S3EC_DECRYPT_ALLOW_NON_COMMITTING: u32 = 1;

/// Plaintext length not stored (`content_length` argument).
pub const S3EC_CONTENT_LENGTH_UNKNOWN: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/// Length of the GCM tag that follows the ciphertext.
pub const S3EC_TAG_LEN: usize = 16;

/// Bytes of an [`s3ec_encryptor`].
pub const S3EC_ENCRYPTOR_SIZE: usize = 1536;
/// Bytes of an [`s3ec_decryptor`].
pub const S3EC_DECRYPTOR_SIZE: usize = 1024;
/// Alignment of both states.
pub const S3EC_STATE_ALIGN: usize = 16;

/// An encryption stream's state: caller memory, opaque.
#[repr(C, align(16))]
pub struct s3ec_encryptor {
    opaque: [u8; S3EC_ENCRYPTOR_SIZE],
}

/// A decryption stream's state: caller memory, opaque.
#[repr(C, align(16))]
pub struct s3ec_decryptor {
    opaque: [u8; S3EC_DECRYPTOR_SIZE],
}

/// Fills `len` bytes at `buf` with cryptographically secure random bytes
/// (`getrandom`, `/dev/urandom`, a hardware TRNG); returns 0 on success,
/// anything else on failure.
pub type s3ec_random_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, buf: *mut u8, len: usize) -> i32>;

#[repr(C)]
struct Slot<T> {
    magic: u64,
    value: T,
}

const ENC_MAGIC: u64 = 0x7333_6563_2045_4e43; // "s3ec ENC"
const DEC_MAGIC: u64 = 0x7333_6563_2044_4543; // "s3ec DEC"

const _: () = {
    assert!(size_of::<Slot<Encryptor>>() <= S3EC_ENCRYPTOR_SIZE);
    assert!(size_of::<Slot<Decryptor>>() <= S3EC_DECRYPTOR_SIZE);
    assert!(align_of::<Slot<Encryptor>>() <= S3EC_STATE_ALIGN);
    assert!(align_of::<Slot<Decryptor>>() <= S3EC_STATE_ALIGN);
    assert!(align_of::<s3ec_encryptor>() == S3EC_STATE_ALIGN);
    assert!(align_of::<s3ec_decryptor>() == S3EC_STATE_ALIGN);
};

fn code(r: Result<(), Status>) -> i32 {
    match r {
        Ok(()) => S3EC_OK,
        Err(s) => s.code(),
    }
}

/// The value in the caller's state at `base`, if initialised with `magic`.
///
/// # Safety
///
/// `base` is NULL or points to `size_of::<Slot<T>>()` readable bytes.
unsafe fn slot_ptr<T>(base: *const u8, magic: u64) -> Result<*const T, Status> {
    if base.is_null() {
        return Err(Status::NullPointer);
    }
    if !(base as usize).is_multiple_of(align_of::<Slot<T>>()) {
        return Err(Status::Alignment);
    }
    let s = base.cast::<Slot<T>>();
    if ptr::read(ptr::addr_of!((*s).magic)) != magic {
        return Err(Status::State);
    }
    Ok(ptr::addr_of!((*s).value))
}

/// The caller's state at `base`, to change.
///
/// # Safety
///
/// As [`slot_ptr`], writable, and nothing else uses it meanwhile.
unsafe fn slot<'a, T>(base: *mut u8, magic: u64) -> Result<&'a mut T, Status> {
    Ok(&mut *slot_ptr::<T>(base, magic)?.cast_mut())
}

/// The caller's state at `base`, to read (the state may be `const`).
///
/// # Safety
///
/// As [`slot_ptr`], and nothing changes it meanwhile.
unsafe fn slot_ref<'a, T>(base: *const u8, magic: u64) -> Result<&'a T, Status> {
    Ok(&*slot_ptr::<T>(base, magic)?)
}

/// Place `value` in the caller's state at `base`.
///
/// # Safety
///
/// As [`slot`]; `base` is not NULL and aligned (checked by the caller).
unsafe fn place<T>(base: *mut u8, magic: u64, value: T) {
    ptr::write(base.cast::<Slot<T>>(), Slot { magic, value });
}

/// Drop the state at `base` if it holds one, then zero all `len` bytes.
///
/// # Safety
///
/// As [`slot`], `len` bytes.
unsafe fn wipe<T>(base: *mut u8, len: usize, magic: u64) {
    if base.is_null() {
        return;
    }
    if let Ok(v) = slot::<T>(base, magic) {
        ptr::drop_in_place(v as *mut T);
    }
    core::slice::from_raw_parts_mut(base, len).zeroize();
}

/// Checks alignment before an init writes the state.
fn check_base<T>(base: *mut u8) -> Result<(), Status> {
    if base.is_null() {
        Err(Status::NullPointer)
    } else if !(base as usize).is_multiple_of(align_of::<Slot<T>>()) {
        Err(Status::Alignment)
    } else {
        Ok(())
    }
}

/// # Safety
///
/// `p` is NULL (then `len` must be 0) or valid for `len` reads.
unsafe fn bytes<'a>(p: *const u8, len: usize) -> Result<&'a [u8], Status> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Status::NullPointer)
        };
    }
    Ok(core::slice::from_raw_parts(p, len))
}

/// # Safety
///
/// `p` is NULL (then `len` must be 0) or valid for `len` writes.
unsafe fn bytes_mut<'a>(p: *mut u8, len: usize) -> Result<&'a mut [u8], Status> {
    if p.is_null() {
        return if len == 0 {
            Ok(&mut [])
        } else {
            Err(Status::NullPointer)
        };
    }
    Ok(core::slice::from_raw_parts_mut(p, len))
}

/// The random callback as a `rand_core` RNG.
struct CallbackRng {
    fill: unsafe extern "C" fn(*mut c_void, *mut u8, usize) -> i32,
    ctx: *mut c_void,
}

#[derive(Debug)]
struct RngFailed;

impl core::fmt::Display for RngFailed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the random callback failed")
    }
}

impl core::error::Error for RngFailed {}

impl TryRng for CallbackRng {
    type Error = RngFailed;

    fn try_next_u32(&mut self) -> Result<u32, RngFailed> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, RngFailed> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), RngFailed> {
        // SAFETY: the callback's contract (s3ec.h): fill `len` bytes at `buf`.
        match unsafe { (self.fill)(self.ctx, dst.as_mut_ptr(), dst.len()) } {
            0 => Ok(()),
            _ => Err(RngFailed),
        }
    }
}

impl TryCryptoRng for CallbackRng {}

fn format_of(format: u32) -> Result<Format, Status> {
    match format {
        S3EC_FORMAT_V3 => Ok(Format::V3),
        S3EC_FORMAT_V2 => Ok(Format::V2),
        _ => Err(Status::InvalidInput),
    }
}

fn placement_of(placement: u32) -> Result<Placement, Status> {
    match placement {
        S3EC_PLACEMENT_OBJECT_METADATA => Ok(Placement::ObjectMetadata),
        S3EC_PLACEMENT_INSTRUCTION_FILE => Ok(Placement::InstructionFile),
        _ => Err(Status::InvalidInput),
    }
}

/// Start an object encrypted under a provisioned AES key (16, 24 or 32
/// bytes): a fresh data key from `random`, wrapped with `AES/GCM`.
/// `format`: `S3EC_FORMAT_V3` or `S3EC_FORMAT_V2`.
///
/// # Safety
///
/// `enc` points to an `s3ec_encryptor`; `kek` to `kek_len` bytes;
/// `random` fills buffers as [`s3ec_random_fn`] says, with `random_ctx`.
#[no_mangle]
pub unsafe extern "C" fn s3ec_encrypt_init_aes(
    enc: *mut s3ec_encryptor,
    kek: *const u8,
    kek_len: usize,
    format: u32,
    random: s3ec_random_fn,
    random_ctx: *mut c_void,
) -> i32 {
    let base = enc.cast::<u8>();
    code((|| {
        check_base::<Encryptor>(base)?;
        let kek = bytes(kek, kek_len)?;
        let fill = random.ok_or(Status::NullPointer)?;
        let mut rng = CallbackRng {
            fill,
            ctx: random_ctx,
        };
        let e = Encryptor::new_aes(kek, format_of(format)?, &mut rng)?;
        place(base, ENC_MAGIC, e);
        Ok(())
    })())
}

/// Start an object encrypted under an RSA public key (DER
/// `SubjectPublicKeyInfo` or PKCS#1 `RSAPublicKey`, 2048 to 4096 bits):
/// a fresh data key, wrapped with RSA-OAEP-SHA1. Only with the library's
/// `rsa` feature (allocates while wrapping).
///
/// # Safety
///
/// As [`s3ec_encrypt_init_aes`]; `public_key_der` points to `der_len` bytes.
#[cfg(feature = "rsa")]
#[no_mangle]
pub unsafe extern "C" fn s3ec_encrypt_init_rsa(
    enc: *mut s3ec_encryptor,
    public_key_der: *const u8,
    der_len: usize,
    format: u32,
    random: s3ec_random_fn,
    random_ctx: *mut c_void,
) -> i32 {
    let base = enc.cast::<u8>();
    code((|| {
        check_base::<Encryptor>(base)?;
        let der = bytes(public_key_der, der_len)?;
        let fill = random.ok_or(Status::NullPointer)?;
        let mut rng = CallbackRng {
            fill,
            ctx: random_ctx,
        };
        let key = s3ec_rsa::RsaOaepWrapper::from_public_key_der(der).map_err(|_| Status::RsaKey)?;
        if key.key_size_bits() > crate::MAX_EDK_LEN * 8 {
            return Err(Status::RsaKey);
        }
        let e = Encryptor::new_rsa(&key, format_of(format)?, &mut rng)?;
        place(base, ENC_MAGIC, e);
        Ok(())
    })())
}

/// Encrypt the next `len` bytes of the body in place.
///
/// # Safety
///
/// `enc` was initialised; `buf` points to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn s3ec_encrypt_update(
    enc: *mut s3ec_encryptor,
    buf: *mut u8,
    len: usize,
) -> i32 {
    code((|| {
        let e = slot::<Encryptor>(enc.cast(), ENC_MAGIC)?;
        e.update(bytes_mut(buf, len)?)
    })())
}

/// End the body: writes the `S3EC_TAG_LEN` bytes that follow it in the
/// stored object. The envelope can still be written afterwards.
///
/// # Safety
///
/// `enc` was initialised; `tag` points to `S3EC_TAG_LEN` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn s3ec_encrypt_finish(enc: *mut s3ec_encryptor, tag: *mut u8) -> i32 {
    code((|| {
        let e = slot::<Encryptor>(enc.cast(), ENC_MAGIC)?;
        if tag.is_null() {
            return Err(Status::NullPointer);
        }
        let t = e.finish()?;
        bytes_mut(tag, S3EC_TAG_LEN)?.copy_from_slice(&t);
        Ok(())
    })())
}

#[allow(clippy::too_many_arguments)]
unsafe fn write_envelope(
    enc: *const s3ec_encryptor,
    what: EnvelopeOutput,
    matdesc_json: *const c_char,
    matdesc_len: usize,
    placement: u32,
    content_length: u64,
    out: *mut c_char,
    out_cap: usize,
    out_len: *mut usize,
) -> i32 {
    code((|| {
        let e = slot_ref::<Encryptor>(enc.cast(), ENC_MAGIC)?;
        if out_len.is_null() {
            return Err(Status::NullPointer);
        }
        let md = bytes(matdesc_json.cast(), matdesc_len)?;
        let placement = placement_of(placement)?;
        let len = (content_length != S3EC_CONTENT_LENGTH_UNKNOWN).then_some(content_length);
        let needed = e.envelope_len(what, md, placement, len)?;
        *out_len = needed;
        let out = bytes_mut(out.cast(), out_cap)?;
        if out.len() <= needed {
            return Err(Status::BufferTooSmall);
        }
        let n = e.write_envelope(what, md, placement, len, out)?;
        out[n] = 0;
        *out_len = n;
        Ok(())
    })())
}

/// Write the object's user metadata (the envelope, or with
/// `S3EC_PLACEMENT_INSTRUCTION_FILE` the part that stays on the object) as
/// a flat JSON object of strings, names without `x-amz-meta-`, as
/// `s3ec-fs` and `s3ec encrypt` store `KEY.metadata.json`.
///
/// `matdesc_json` (`matdesc_len` bytes, NULL for none) is the material
/// description, a flat JSON object of strings; `content_length` the
/// plaintext length (`S3EC_CONTENT_LENGTH_UNKNOWN`: not stored).
///
/// # Safety
///
/// `enc` was initialised; `matdesc_json` points to `matdesc_len` bytes;
/// `out` to `out_cap` writable bytes; `out_len` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn s3ec_encrypt_write_metadata_json(
    enc: *const s3ec_encryptor,
    matdesc_json: *const c_char,
    matdesc_len: usize,
    placement: u32,
    content_length: u64,
    out: *mut c_char,
    out_cap: usize,
    out_len: *mut usize,
) -> i32 {
    write_envelope(
        enc,
        EnvelopeOutput::MetadataJson,
        matdesc_json,
        matdesc_len,
        placement,
        content_length,
        out,
        out_cap,
        out_len,
    )
}

/// The same metadata as HTTP header lines for a PUT:
/// `x-amz-meta-NAME: VALUE\r\n` each, ASCII.
///
/// # Safety
///
/// As [`s3ec_encrypt_write_metadata_json`].
#[no_mangle]
pub unsafe extern "C" fn s3ec_encrypt_write_metadata_headers(
    enc: *const s3ec_encryptor,
    matdesc_json: *const c_char,
    matdesc_len: usize,
    placement: u32,
    content_length: u64,
    out: *mut c_char,
    out_cap: usize,
    out_len: *mut usize,
) -> i32 {
    write_envelope(
        enc,
        EnvelopeOutput::MetadataHeaders,
        matdesc_json,
        matdesc_len,
        placement,
        content_length,
        out,
        out_cap,
        out_len,
    )
}

/// Write the instruction file (stored as `KEY.instruction`; write the
/// metadata with `S3EC_PLACEMENT_INSTRUCTION_FILE` too, with the same
/// material description).
///
/// # Safety
///
/// As [`s3ec_encrypt_write_metadata_json`].
#[no_mangle]
pub unsafe extern "C" fn s3ec_encrypt_write_instruction_file(
    enc: *const s3ec_encryptor,
    matdesc_json: *const c_char,
    matdesc_len: usize,
    out: *mut c_char,
    out_cap: usize,
    out_len: *mut usize,
) -> i32 {
    write_envelope(
        enc,
        EnvelopeOutput::InstructionFile,
        matdesc_json,
        matdesc_len,
        S3EC_PLACEMENT_INSTRUCTION_FILE,
        S3EC_CONTENT_LENGTH_UNKNOWN,
        out,
        out_cap,
        out_len,
    )
}

/// Erase the state (keys zeroized); it must be initialised again before
/// any other use. NULL is ignored.
///
/// # Safety
///
/// `enc` is NULL or points to an `s3ec_encryptor`.
#[no_mangle]
pub unsafe extern "C" fn s3ec_encryptor_wipe(enc: *mut s3ec_encryptor) {
    wipe::<Encryptor>(enc.cast(), S3EC_ENCRYPTOR_SIZE, ENC_MAGIC);
}

/// Read an object's envelope and unwrap its data key with a provisioned AES
/// key (`AES/GCM` wrap). `metadata_json`: the object's user metadata, a
/// flat JSON object of strings (names with or without `x-amz-meta-`);
/// `instruction_file`: the instruction file's body, or NULL when there is
/// none. `flags`: 0, or `S3EC_DECRYPT_ALLOW_NON_COMMITTING` to read V2
/// objects too.
///
/// The deepest call of the library: about 17 KiB of stack (the metadata
/// is decoded there; `cargo xtask no-std` measures every call).
///
/// # Safety
///
/// `dec` points to an `s3ec_decryptor`; each other pointer to its length in
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn s3ec_decrypt_init_aes(
    dec: *mut s3ec_decryptor,
    kek: *const u8,
    kek_len: usize,
    metadata_json: *const c_char,
    metadata_len: usize,
    instruction_file: *const c_char,
    instruction_file_len: usize,
    flags: u32,
) -> i32 {
    let base = dec.cast::<u8>();
    code((|| {
        check_base::<Decryptor>(base)?;
        let kek = bytes(kek, kek_len)?;
        let meta = core::str::from_utf8(bytes(metadata_json.cast(), metadata_len)?)
            .map_err(|_| Status::Json)?;
        let instr = if instruction_file.is_null() {
            None
        } else {
            Some(
                core::str::from_utf8(bytes(instruction_file.cast(), instruction_file_len)?)
                    .map_err(|_| Status::Json)?,
            )
        };
        if flags & !S3EC_DECRYPT_ALLOW_NON_COMMITTING != 0 {
            return Err(Status::InvalidInput);
        }
        let options = DecryptOptions {
            allow_non_committing: flags & S3EC_DECRYPT_ALLOW_NON_COMMITTING != 0,
        };
        let d = Decryptor::new_aes(kek, meta, instr, options)?;
        place(base, DEC_MAGIC, d);
        Ok(())
    })())
}

/// First pass: the next `len` bytes of the stored object (ciphertext, then
/// the tag, in any chunks).
///
/// # Safety
///
/// `dec` was initialised; `data` points to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn s3ec_decrypt_verify_update(
    dec: *mut s3ec_decryptor,
    data: *const u8,
    len: usize,
) -> i32 {
    code((|| {
        slot::<Decryptor>(dec.cast(), DEC_MAGIC)?.verify_update(bytes(data, len)?)
    })())
}

/// End of the first pass: authenticate the whole object. On success
/// `*plaintext_len` (if not NULL) gets the plaintext length and
/// [`s3ec_decrypt_at`] may be called; `S3EC_ERR_AUTHENTICATION` otherwise,
/// and nothing can be decrypted.
///
/// # Safety
///
/// `dec` was initialised; `plaintext_len` is NULL or points to a
/// `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn s3ec_decrypt_verify_finish(
    dec: *mut s3ec_decryptor,
    plaintext_len: *mut u64,
) -> i32 {
    code((|| {
        let n = slot::<Decryptor>(dec.cast(), DEC_MAGIC)?.verify_finish()?;
        if !plaintext_len.is_null() {
            *plaintext_len = n;
        }
        Ok(())
    })())
}

/// Second pass: decrypt in place `len` ciphertext bytes read again from
/// offset `offset` of the stored object (the same bytes the first pass
/// read: a local file or a buffer, not a second download).
/// `S3EC_ERR_NOT_VERIFIED` unless [`s3ec_decrypt_verify_finish`] succeeded.
///
/// # Safety
///
/// `dec` was initialised; `buf` points to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn s3ec_decrypt_at(
    dec: *mut s3ec_decryptor,
    offset: u64,
    buf: *mut u8,
    len: usize,
) -> i32 {
    code((|| {
        slot::<Decryptor>(dec.cast(), DEC_MAGIC)?.decrypt_at(offset, bytes_mut(buf, len)?)
    })())
}

/// Erase the state (keys zeroized). NULL is ignored.
///
/// # Safety
///
/// `dec` is NULL or points to an `s3ec_decryptor`.
#[no_mangle]
pub unsafe extern "C" fn s3ec_decryptor_wipe(dec: *mut s3ec_decryptor) {
    wipe::<Decryptor>(dec.cast(), S3EC_DECRYPTOR_SIZE, DEC_MAGIC);
}

/// What a status code means: a static NUL-terminated English sentence
/// (never NULL; "unknown status code" for a code that is none).
#[no_mangle]
pub extern "C" fn s3ec_error_message(code: i32) -> *const c_char {
    let m = match code {
        S3EC_OK => "ok\0",
        c => Status::from_code(c).map_or("unknown status code\0", Status::message_nul),
    };
    m.as_ptr().cast()
}

/// `sizeof(s3ec_encryptor)`, for callers that allocate states dynamically
/// (or check the header against the library).
#[no_mangle]
pub extern "C" fn s3ec_encryptor_size() -> usize {
    size_of::<s3ec_encryptor>()
}

/// `sizeof(s3ec_decryptor)`.
#[no_mangle]
pub extern "C" fn s3ec_decryptor_size() -> usize {
    size_of::<s3ec_decryptor>()
}

/// The alignment both states need (`S3EC_STATE_ALIGN`).
#[no_mangle]
pub extern "C" fn s3ec_state_align() -> usize {
    align_of::<s3ec_encryptor>()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use core::ffi::CStr;
    use core::mem::MaybeUninit;

    unsafe extern "C" fn os_random(_: *mut c_void, buf: *mut u8, len: usize) -> i32 {
        let out = core::slice::from_raw_parts_mut(buf, len);
        match getrandom::fill(out) {
            Ok(()) => 0,
            Err(_) => -1,
        }
    }

    unsafe extern "C" fn broken_random(_: *mut c_void, _: *mut u8, _: usize) -> i32 {
        1
    }

    const KEK: [u8; 32] = [3; 32];

    fn init(enc: &mut MaybeUninit<s3ec_encryptor>) -> i32 {
        unsafe {
            s3ec_encrypt_init_aes(
                enc.as_mut_ptr(),
                KEK.as_ptr(),
                32,
                S3EC_FORMAT_V3,
                Some(os_random),
                ptr::null_mut(),
            )
        }
    }

    #[test]
    fn codes_match_the_statuses_and_have_messages() {
        let consts = [
            S3EC_ERR_NULL_POINTER,
            S3EC_ERR_STATE,
            S3EC_ERR_ALIGNMENT,
            S3EC_ERR_INVALID_INPUT,
            S3EC_ERR_FORMAT,
            S3EC_ERR_JSON,
            S3EC_ERR_INSTRUCTION_FILE_REQUIRED,
            S3EC_ERR_AUTHENTICATION,
            S3EC_ERR_NOT_VERIFIED,
            S3EC_ERR_COMMITMENT_REQUIRED,
            S3EC_ERR_UNSUPPORTED,
            S3EC_ERR_BUFFER_TOO_SMALL,
            S3EC_ERR_LIMIT,
            S3EC_ERR_RNG,
            S3EC_ERR_RSA_KEY,
        ];
        for (c, s) in consts.into_iter().zip(Status::ALL) {
            assert_eq!(c, s.code());
            let m = unsafe { CStr::from_ptr(s3ec_error_message(c)) };
            assert_eq!(m.to_str().unwrap(), s.message());
        }
        for c in [S3EC_OK, 1, -16, i32::MIN] {
            let m = unsafe { CStr::from_ptr(s3ec_error_message(c)) };
            assert!(!m.to_bytes().is_empty());
        }
        assert_eq!(s3ec_encryptor_size(), S3EC_ENCRYPTOR_SIZE);
        assert_eq!(s3ec_decryptor_size(), S3EC_DECRYPTOR_SIZE);
        assert_eq!(s3ec_state_align(), S3EC_STATE_ALIGN);
    }

    #[test]
    fn misuse_is_reported_not_undefined() {
        unsafe {
            // NULL state, NULL key with a length, NULL random callback.
            let mut enc = MaybeUninit::<s3ec_encryptor>::zeroed();
            let r = Some(os_random as unsafe extern "C" fn(_, _, _) -> _);
            assert_eq!(
                s3ec_encrypt_init_aes(ptr::null_mut(), KEK.as_ptr(), 32, 3, r, ptr::null_mut()),
                S3EC_ERR_NULL_POINTER
            );
            assert_eq!(
                s3ec_encrypt_init_aes(enc.as_mut_ptr(), ptr::null(), 32, 3, r, ptr::null_mut()),
                S3EC_ERR_NULL_POINTER
            );
            assert_eq!(
                s3ec_encrypt_init_aes(enc.as_mut_ptr(), KEK.as_ptr(), 32, 3, None, ptr::null_mut()),
                S3EC_ERR_NULL_POINTER
            );
            // Bad format, bad key length, failing randomness.
            assert_eq!(
                s3ec_encrypt_init_aes(enc.as_mut_ptr(), KEK.as_ptr(), 32, 7, r, ptr::null_mut()),
                S3EC_ERR_INVALID_INPUT
            );
            assert_eq!(
                s3ec_encrypt_init_aes(enc.as_mut_ptr(), KEK.as_ptr(), 31, 3, r, ptr::null_mut()),
                S3EC_ERR_INVALID_INPUT
            );
            assert_eq!(
                s3ec_encrypt_init_aes(
                    enc.as_mut_ptr(),
                    KEK.as_ptr(),
                    32,
                    3,
                    Some(broken_random),
                    ptr::null_mut()
                ),
                S3EC_ERR_RNG
            );
            // Never initialised (zeroed): every call says so.
            let mut buf = [0u8; 16];
            assert_eq!(
                s3ec_encrypt_update(enc.as_mut_ptr(), buf.as_mut_ptr(), 16),
                S3EC_ERR_STATE
            );
            // A misaligned state.
            let mut raw = [0u128; (S3EC_ENCRYPTOR_SIZE / 16) + 1];
            let odd = raw
                .as_mut_ptr()
                .cast::<u8>()
                .add(8)
                .cast::<s3ec_encryptor>();
            assert_eq!(
                s3ec_encrypt_init_aes(odd, KEK.as_ptr(), 32, 3, r, ptr::null_mut()),
                S3EC_ERR_ALIGNMENT
            );

            // A live one: envelope outputs, buffer sizes, phases.
            assert_eq!(init(&mut enc), S3EC_OK);
            let mut out = [0u8; 2048];
            let mut n = 0usize;
            let md = b"{\"k\":\"v\"}";
            assert_eq!(
                s3ec_encrypt_write_metadata_json(
                    enc.as_ptr(),
                    md.as_ptr().cast(),
                    md.len(),
                    S3EC_PLACEMENT_OBJECT_METADATA,
                    S3EC_CONTENT_LENGTH_UNKNOWN,
                    out.as_mut_ptr().cast(),
                    10,
                    &mut n,
                ),
                S3EC_ERR_BUFFER_TOO_SMALL
            );
            let needed = n;
            // Exactly the length is one byte short (the NUL).
            assert_eq!(
                s3ec_encrypt_write_metadata_json(
                    enc.as_ptr(),
                    md.as_ptr().cast(),
                    md.len(),
                    0,
                    S3EC_CONTENT_LENGTH_UNKNOWN,
                    out.as_mut_ptr().cast(),
                    needed,
                    &mut n,
                ),
                S3EC_ERR_BUFFER_TOO_SMALL
            );
            assert_eq!(
                s3ec_encrypt_write_metadata_json(
                    enc.as_ptr(),
                    md.as_ptr().cast(),
                    md.len(),
                    0,
                    S3EC_CONTENT_LENGTH_UNKNOWN,
                    out.as_mut_ptr().cast(),
                    needed + 1,
                    &mut n,
                ),
                S3EC_OK
            );
            assert_eq!((n, out[n]), (needed, 0));
            let meta = std::string::String::from(core::str::from_utf8(&out[..n]).unwrap());
            assert!(meta.contains(r#""x-amz-m":"{\"k\":\"v\"}""#), "{meta}");
            assert_eq!(
                s3ec_encrypt_write_metadata_headers(
                    enc.as_ptr(),
                    ptr::null(),
                    0,
                    9,
                    0,
                    out.as_mut_ptr().cast(),
                    out.len(),
                    &mut n,
                ),
                S3EC_ERR_INVALID_INPUT
            );
            let mut body = *b"sixteen bytes!!!";
            assert_eq!(
                s3ec_encrypt_update(enc.as_mut_ptr(), body.as_mut_ptr(), 16),
                S3EC_OK
            );
            assert_eq!(
                s3ec_encrypt_update(enc.as_mut_ptr(), ptr::null_mut(), 0),
                S3EC_OK
            );
            assert_eq!(
                s3ec_encrypt_finish(enc.as_mut_ptr(), ptr::null_mut()),
                S3EC_ERR_NULL_POINTER
            );
            let mut tag = [0u8; 16];
            assert_eq!(
                s3ec_encrypt_finish(enc.as_mut_ptr(), tag.as_mut_ptr()),
                S3EC_OK
            );
            assert_eq!(
                s3ec_encrypt_finish(enc.as_mut_ptr(), tag.as_mut_ptr()),
                S3EC_ERR_STATE
            );
            s3ec_encryptor_wipe(enc.as_mut_ptr());
            assert!(enc.assume_init_ref().opaque.iter().all(|b| *b == 0));
            s3ec_encryptor_wipe(ptr::null_mut());

            // Decrypt: refused before verification, released after.
            let mut dec = MaybeUninit::<s3ec_decryptor>::zeroed();
            assert_eq!(
                s3ec_decrypt_init_aes(
                    dec.as_mut_ptr(),
                    KEK.as_ptr(),
                    32,
                    meta.as_ptr().cast(),
                    meta.len(),
                    ptr::null(),
                    0,
                    4,
                ),
                S3EC_ERR_INVALID_INPUT
            );
            assert_eq!(
                s3ec_decrypt_init_aes(
                    dec.as_mut_ptr(),
                    KEK.as_ptr(),
                    32,
                    meta.as_ptr().cast(),
                    meta.len(),
                    ptr::null(),
                    0,
                    0,
                ),
                S3EC_OK
            );
            let mut copy = body;
            assert_eq!(
                s3ec_decrypt_at(dec.as_mut_ptr(), 0, copy.as_mut_ptr(), 16),
                S3EC_ERR_NOT_VERIFIED
            );
            assert_eq!(copy, body);
            assert_eq!(
                s3ec_decrypt_verify_update(dec.as_mut_ptr(), body.as_ptr(), 16),
                S3EC_OK
            );
            assert_eq!(
                s3ec_decrypt_verify_update(dec.as_mut_ptr(), tag.as_ptr(), 16),
                S3EC_OK
            );
            let mut len = 0u64;
            assert_eq!(
                s3ec_decrypt_verify_finish(dec.as_mut_ptr(), &mut len),
                S3EC_OK
            );
            assert_eq!(len, 16);
            assert_eq!(
                s3ec_decrypt_at(dec.as_mut_ptr(), 0, copy.as_mut_ptr(), 16),
                S3EC_OK
            );
            assert_eq!(&copy, b"sixteen bytes!!!");
            assert_eq!(
                s3ec_decrypt_at(dec.as_mut_ptr(), 1, copy.as_mut_ptr(), 16),
                S3EC_ERR_LIMIT
            );
            s3ec_decryptor_wipe(dec.as_mut_ptr());
            assert_eq!(
                s3ec_decrypt_at(dec.as_mut_ptr(), 0, copy.as_mut_ptr(), 1),
                S3EC_ERR_STATE
            );
        }
    }
}

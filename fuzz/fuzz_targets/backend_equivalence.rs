//! Differential between s3ec-core's two AES-256-GCM backends: `AwsLc`
//! (s3ec-aws-lc, AWS-LC through FFI) and `RustCrypto` (the core's default).
//!
//! For a random key, IV, AAD, plaintext (optionally stretched past the
//! 16 KiB at which `AwsLc` takes its keystream from AWS-LC's fused GCM
//! kernel) and chunkings: both backends give the same ciphertext and tag;
//! each decrypts the other's output through every path (`open_in_place_with`,
//! verifier + `decrypt_at` forward and in rotated order,
//! `UnverifiedDecryptor`, `decrypt_range_with` at any offset); one flipped
//! bit in ciphertext, tag or AAD is rejected by both (and the unverified
//! decryptors release the same bytes); and random sequences of raw
//! `apply_keystream` calls on one key (counter 2, continuing, anywhere,
//! near the 32-bit wrap) agree byte for byte.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use s3ec_aws_lc::AwsLc;
use s3ec_core::cipher::backend::{GcmBackend, RustCrypto};
use s3ec_core::cipher::gcm::{open_in_place_with, GcmEncryptor, GcmVerifier};
use s3ec_core::danger::{decrypt_range_with, UnverifiedDecryptor};
use s3ec_core::Error;

#[derive(Debug, Arbitrary)]
struct KeystreamOp {
    other_iv: bool,
    /// 0..=1: counter 2; 2..=3: continue after the previous call; else
    /// `counter` (4: near the wrap).
    mode: u8,
    counter: u32,
    len: u16,
    /// Multiplies `len` by 16 (whole blocks, long runs).
    blocks: bool,
}

#[derive(Debug, Arbitrary)]
struct Input {
    key: [u8; 32],
    iv: [u8; 12],
    aad: Vec<u8>,
    pt: Vec<u8>,
    /// Extra plaintext bytes: `stretch` units of 64 bytes, or of 1 KiB
    /// when `big % 8 == 0` (up to 255 KiB, past the fused-path threshold
    /// and over several 64 KiB chunks).
    stretch: u8,
    big: u8,
    enc_sizes: Vec<u16>,
    dec_sizes: Vec<u16>,
    rotate: u8,
    flip: u32,
    offset: u32,
    ops: Vec<KeystreamOp>,
}

fn ranges(len: usize, sizes: &[u16], scale: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < len {
        let s = if sizes.is_empty() {
            len - at
        } else {
            (usize::from(sizes[i % sizes.len()]) * scale).min(len - at)
        };
        out.push((at, at + s));
        at += s;
        i += 1;
        if i > 5_000 {
            out.push((at, len));
            break;
        }
    }
    out
}

fn seal<B: GcmBackend>(inp: &Input, pt: &[u8], sizes: &[u16]) -> Result<(Vec<u8>, [u8; 16]), Error> {
    let mut enc = GcmEncryptor::<B>::with_backend(&inp.key, &inp.iv, &inp.aad)?;
    let mut buf = pt.to_vec();
    for (a, b) in ranges(buf.len(), sizes, 1) {
        enc.update(&mut buf[a..b])?;
    }
    Ok((buf, enc.finish()))
}

/// Every path of backend `B`: the plaintext, or the authenticated paths'
/// verdict (all must agree), plus the unverified decryptor's output.
fn open_all<B: GcmBackend>(
    inp: &Input,
    aad: &[u8],
    ct: &[u8],
    tag: &[u8; 16],
) -> (Result<Vec<u8>, Error>, Vec<u8>) {
    let (key, iv) = (&inp.key, &inp.iv);
    let mut body = ct.to_vec();
    body.extend_from_slice(tag);
    let orig = body.clone();
    let r1 = open_in_place_with::<B>(key, iv, aad, &mut body).map(|n| body[..n].to_vec());
    if r1.is_err() {
        assert_eq!(body, orig, "failed open changed the body");
    }

    let rs = ranges(ct.len(), &inp.dec_sizes, 16);
    let mut v = GcmVerifier::<B>::with_backend(key, iv, aad).unwrap();
    for &(a, b) in &rs {
        v.update(&ct[a..b]).unwrap();
    }
    let r2 = v.verify(tag).map(|ok| {
        // Forward (the fused path's cursor), then rotated.
        let mut fwd = ct.to_vec();
        for &(a, b) in &rs {
            ok.decrypt_at(a as u64, &mut fwd[a..b]).unwrap();
        }
        let mut rot = ct.to_vec();
        let mut order = rs.clone();
        if !order.is_empty() {
            let k = usize::from(inp.rotate) % order.len();
            order.rotate_left(k);
        }
        for (a, b) in order {
            ok.decrypt_at(a as u64, &mut rot[a..b]).unwrap();
        }
        assert_eq!(fwd, rot);
        fwd
    });
    assert_eq!(r1, r2, "open_in_place vs verify + decrypt_at");

    let mut d = UnverifiedDecryptor::<B>::with_backend(key, iv, aad).unwrap();
    let mut out = ct.to_vec();
    for &(a, b) in &rs {
        d.update(&mut out[a..b]).unwrap();
    }
    let r3 = d.finish(tag).map(|()| out.clone());
    assert_eq!(r1, r3, "open_in_place vs unverified");

    let off = (inp.offset as usize).min(ct.len());
    let mut part = ct[off..].to_vec();
    decrypt_range_with::<B>(key, iv, off as u64, &mut part).unwrap();
    assert_eq!(part, &out[off..], "decrypt_range vs streaming");
    (r1, out)
}

fn keystreams(inp: &Input) {
    let ivs = [inp.iv, [0x5a; 12]];
    let ka = AwsLc::expand_key(&inp.key).unwrap();
    let kb = RustCrypto::expand_key(&inp.key).unwrap();
    let mut next = 2u32;
    for op in inp.ops.iter().take(16) {
        let counter = match op.mode % 6 {
            0 | 1 => 2,
            2 | 3 => next,
            4 => u32::MAX - (op.counter % 64),
            _ => op.counter,
        };
        let len = usize::from(op.len) * if op.blocks { 16 } else { 1 };
        let iv = &ivs[usize::from(op.other_iv)];
        let mut a: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut b = a.clone();
        let ra = AwsLc::apply_keystream(&ka, iv, counter, &mut a);
        let rb = RustCrypto::apply_keystream(&kb, iv, counter, &mut b);
        assert_eq!(ra, rb, "apply_keystream result");
        assert!(a == b, "apply_keystream output differs: counter {counter} len {len}");
        next = counter.wrapping_add((len / 16) as u32);
    }
}

fuzz_target!(|inp: Input| {
    let mut pt = inp.pt.clone();
    let extra = usize::from(inp.stretch) * if inp.big % 8 == 0 { 1024 } else { 64 };
    pt.extend((0..extra).map(|i| (i as u8) ^ inp.key[i % 32]));

    let lc = seal::<AwsLc>(&inp, &pt, &inp.enc_sizes);
    let rc = seal::<RustCrypto>(&inp, &pt, &inp.dec_sizes);
    assert_eq!(lc, rc, "backends disagree on encryption");
    keystreams(&inp);
    let Ok((ct, tag)) = lc else {
        assert_eq!(inp.iv, [0u8; 12], "encryption refused with a non-zero IV");
        return;
    };

    let (a, _) = open_all::<AwsLc>(&inp, &inp.aad, &ct, &tag);
    let (b, _) = open_all::<RustCrypto>(&inp, &inp.aad, &ct, &tag);
    assert_eq!(a.as_deref(), Ok(&pt[..]), "AwsLc failed to open");
    assert_eq!(b.as_deref(), Ok(&pt[..]), "RustCrypto failed to open");

    // One flipped bit in ciphertext || tag || AAD.
    let mut all = ct.clone();
    all.extend_from_slice(&tag);
    let ct_tag_len = all.len();
    all.extend_from_slice(&inp.aad);
    let bit = inp.flip as usize % (all.len() * 8);
    all[bit / 8] ^= 1 << (bit % 8);
    let (body, aad2) = all.split_at(ct_tag_len);
    let (ct2, tag2) = body.split_at(ct.len());
    let tag2: [u8; 16] = tag2.try_into().unwrap();
    let (a, ua) = open_all::<AwsLc>(&inp, aad2, ct2, &tag2);
    let (b, ub) = open_all::<RustCrypto>(&inp, aad2, ct2, &tag2);
    assert_eq!(a, Err(Error::Authentication), "AwsLc accepted a flipped bit");
    assert_eq!(b, Err(Error::Authentication), "RustCrypto accepted a flipped bit");
    assert!(ua == ub, "unverified outputs differ");
});

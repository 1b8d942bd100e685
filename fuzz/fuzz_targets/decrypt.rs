//! Arbitrary keys, IVs, AAD and bodies through every decryption entry
//! point: `open_in_place`, `GcmVerifier` + `Verified::decrypt_at`, the
//! unverified decryptor and ranged decryption, `ContentKey::for_decrypt`
//! with arbitrary message ids and commitments, legacy CBC, and the key
//! unwraps. Nothing may panic, the paths must agree with each other, and
//! with the reference crates (aes-gcm, cbc, aes-kw).
#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use s3ec_core::cipher::{kdf, open_in_place, ContentKey, GcmVerifier};
use s3ec_core::danger::{decrypt_range, decrypt_range_with_key, plan_range, UnverifiedDecryptor};
use s3ec_core::legacy::{decrypt_in_place, CbcDecryptor};
use s3ec_core::suite::COMMITTING_IV;
use s3ec_core::wrap::{aes_ecb, aes_gcm, aes_kw, rsa_pseudo};
use s3ec_core::{DataKey, Error, InputError, Suite};
use s3ec_fuzz::gen::{self, chance, pick};
use s3ec_fuzz::refs;
use s3ec_fuzz::rng::FuzzRng;

/// Chunk sizes to split a buffer with (cycled; zero-length chunks allowed).
fn split<'a>(buf: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = buf;
    let mut i = 0;
    while !rest.is_empty() {
        let s = sizes.get(i % sizes.len().max(1)).copied().unwrap_or(255) as usize;
        let s = if sizes.is_empty() { rest.len() } else { s.min(rest.len()) };
        let (a, b) = rest.split_at(s);
        out.push(a);
        rest = b;
        i += 1;
        // Zero-length chunks are allowed, but not endlessly many.
        if i > buf.len() + 16 {
            out.push(rest);
            break;
        }
    }
    out
}

fn ranges(len: usize, sizes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    for c in split(&vec![0u8; len], sizes) {
        out.push((at, at + c.len()));
        at += c.len();
    }
    out
}

fn key_len_bytes(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let n = *pick(u, &[32usize, 16, 24, 0, 31, 33, 48])?;
    gen::fill(u, n)
}

#[derive(Debug, Arbitrary)]
struct Gcm {
    key: [u8; 32],
    iv: [u8; 12],
    aad: Vec<u8>,
    body: Vec<u8>,
    sizes: Vec<u8>,
    offset: u16,
    range: (u64, Option<u64>),
    zero_iv: bool,
}

fn gcm_paths(g: &Gcm) {
    let iv = if g.zero_iv { [0u8; 12] } else { g.iv };
    let mut opened = g.body.clone();
    let r = open_in_place(&g.key, &iv, &g.aad, &mut opened);
    if r.is_err() {
        assert_eq!(opened, g.body, "failed open changed the body");
    }
    if iv == [0u8; 12] {
        let expect = if g.body.len() < 16 { InputError::Truncated } else { InputError::ZeroIv };
        assert_eq!(r, Err(expect.into()));
        assert!(GcmVerifier::new(&g.key, &iv, &g.aad).is_err());
        assert!(UnverifiedDecryptor::new(&g.key, &iv, &g.aad).is_err());
        let mut b = g.body.clone();
        assert!(decrypt_range(&g.key, &iv, 0, &mut b).is_err());
        return;
    }
    if g.body.len() < 16 {
        assert_eq!(r, Err(InputError::Truncated.into()));
        return;
    }
    let (ct, tag) = g.body.split_at(g.body.len() - 16);
    let tag: [u8; 16] = tag.try_into().unwrap();
    // Reference.
    let reference = refs::gcm_open(&g.key, &iv, &g.aad, ct, &tag);
    match (&r, &reference) {
        (Ok(n), Some(pt)) => {
            assert_eq!(*n, ct.len());
            assert_eq!(&opened[..*n], &pt[..]);
        }
        (Err(Error::Authentication), None) => {}
        _ => panic!("open_in_place {r:?} vs aes-gcm {}", reference.is_some()),
    }

    // Verifier, chunked; then decrypt_at over chunks in reverse order.
    let mut v = GcmVerifier::new(&g.key, &iv, &g.aad).unwrap();
    for c in split(ct, &g.sizes) {
        v.update(c).unwrap();
    }
    assert_eq!(v.processed(), ct.len() as u64);
    match v.verify(&tag) {
        Ok(ok) => {
            let pt = reference.as_ref().expect("verifier accepted what aes-gcm refused");
            assert_eq!(ok.len(), ct.len() as u64);
            let mut out = ct.to_vec();
            for (a, b) in ranges(ct.len(), &g.sizes).into_iter().rev() {
                ok.decrypt_at(a as u64, &mut out[a..b]).unwrap();
            }
            assert_eq!(&out, pt);
            let off = g.offset as u64;
            let mut extra = [0u8; 1];
            let past = ok.decrypt_at(ct.len() as u64 + off, &mut extra);
            assert_eq!(past, Err(InputError::OutOfRange.into()));
            assert!(ok.decrypt_at(u64::MAX, &mut extra).is_err());
            assert_eq!(ok.decrypt_at(ct.len() as u64, &mut []), Ok(()));
        }
        Err(e) => {
            assert_eq!(e, Error::Authentication);
            assert!(reference.is_none(), "verifier refused what aes-gcm accepted");
        }
    }

    // Unverified, chunked: plaintext as CTR gives it, tag checked at the end.
    let mut d = UnverifiedDecryptor::new(&g.key, &iv, &g.aad).unwrap();
    let mut out = ct.to_vec();
    let rs = ranges(ct.len(), &g.sizes);
    for (a, b) in rs {
        d.update(&mut out[a..b]).unwrap();
    }
    assert_eq!(d.finish(&tag).is_ok(), reference.is_some());
    let mut whole = ct.to_vec();
    decrypt_range(&g.key, &iv, 0, &mut whole).unwrap();
    assert_eq!(out, whole, "unverified decryptor vs decrypt_range");
    if let Some(pt) = &reference {
        assert_eq!(&whole, pt);
    }
    // Any offset.
    let off = (g.offset as usize).min(ct.len());
    let mut part = ct[off..].to_vec();
    decrypt_range(&g.key, &iv, off as u64, &mut part).unwrap();
    assert_eq!(part, &whole[off..]);
    let mut one = [0u8; 1];
    let _ = decrypt_range(&g.key, &iv, u64::MAX, &mut one);
    let _ = decrypt_range(&g.key, &iv, (1 << 36) - 33, &mut [0u8; 64]);

    // Range planning.
    let body_len = g.body.len() as u64 + u64::from(g.offset) * 1000;
    if let Ok(p) = plan_range(g.range.0, g.range.1, body_len) {
        let pt_len = body_len - 16;
        assert!(p.fetch_first <= g.range.0 && p.fetch_first % 16 == 0);
        assert_eq!(p.skip, g.range.0 - p.fetch_first);
        assert!(p.len >= 1);
        assert!(p.fetch_last < pt_len);
        assert!(p.fetch_first + p.skip + p.len - 1 <= p.fetch_last);
    }
    let _ = plan_range(g.range.0, g.range.1, g.range.0 ^ u64::from(g.offset));
}

fn content_key_paths(u: &mut Unstructured<'_>) -> Result<()> {
    let suite = *pick(u, &[Suite::AesGcmCommitting, Suite::AesGcm, Suite::AesCbc])?;
    let dk_bytes = key_len_bytes(u)?;
    let Ok(dk) = DataKey::from_slice(&dk_bytes) else {
        assert!(!matches!(dk_bytes.len(), 16 | 24 | 32));
        return Ok(());
    };
    let iv_len = *pick(u, &[suite.iv_len(), 0, 12, 16, 11])?;
    let iv = if suite == Suite::AesGcmCommitting && chance(u, 1, 3)? {
        COMMITTING_IV[..iv_len.min(12)].to_vec()
    } else if chance(u, 1, 16)? {
        vec![0u8; iv_len]
    } else {
        gen::fill(u, iv_len)?
    };
    let mid: Option<[u8; 28]> = if chance(u, 7, 8)? { Some(u.arbitrary()?) } else { None };
    let real = chance(u, 3, 4)?;
    let ck: Option<[u8; 28]> = match (suite, mid, dk.as_256()) {
        (Suite::AesGcmCommitting, Some(m), Ok(k)) if real => {
            kdf::derive_for_encrypt(k, &m).ok().map(|(_, c)| c)
        }
        _ => {
            if chance(u, 7, 8)? {
                Some(u.arbitrary()?)
            } else {
                None
            }
        }
    };
    let body: Vec<u8> = u.arbitrary()?;
    let sizes: Vec<u8> = u.arbitrary()?;

    let key = match ContentKey::for_decrypt(suite, &dk, &iv, mid.as_ref(), ck.as_ref()) {
        Ok(k) => k,
        Err(_) => return Ok(()),
    };
    assert_eq!(key.suite(), suite);
    let _ = format!("{key:?}");
    match suite {
        Suite::AesGcm | Suite::AesGcmCommitting => {
            assert!(key.cbc_decryptor().is_err());
            // The key the content is really under.
            // V1/V2 GCM takes 128/192/256-bit data keys as they are; the
            // committing suite derives a 256-bit key (and requires a 256-bit
            // data key, or for_decrypt would have refused it above).
            let (k, civ, aad): (Vec<u8>, [u8; 12], &[u8]) = if suite == Suite::AesGcm {
                (dk.as_bytes().to_vec(), iv[..].try_into().unwrap(), b"")
            } else {
                let dk256 = dk.as_256().expect("for_decrypt accepted a 256-bit key");
                let d = kdf::derive_for_decrypt(dk256, &mid.unwrap(), &ck.unwrap())
                    .expect("for_decrypt accepted the commitment");
                (d.as_bytes().to_vec(), COMMITTING_IV, suite.content_aad())
            };
            let mut a = body.clone();
            let ra = key.open_in_place(&mut a);
            let mut b = body.clone();
            let rb = open_in_place(&k, &civ, aad, &mut b);
            assert_eq!(ra, rb);
            assert_eq!(a, b);
            if body.len() >= 16 {
                let (ct, tag) = body.split_at(body.len() - 16);
                let mut v = key.verifier().unwrap();
                for c in split(ct, &sizes) {
                    v.update(c).unwrap();
                }
                assert_eq!(v.verify(tag.try_into().unwrap()).is_ok(), rb.is_ok());
                let mut d = UnverifiedDecryptor::from_content_key(&key).unwrap();
                let mut x = ct.to_vec();
                d.update(&mut x).unwrap();
                assert_eq!(d.finish(tag.try_into().unwrap()).is_ok(), rb.is_ok());
                let mut y = ct.to_vec();
                decrypt_range_with_key(&key, 0, &mut y).unwrap();
                assert_eq!(x, y);
            }
        }
        Suite::AesCbc => {
            assert!(key.verifier().is_err());
            let mut a = body.clone();
            assert!(key.open_in_place(&mut a).is_err());
            assert!(UnverifiedDecryptor::from_content_key(&key).is_err());
            let mut dec = key.cbc_decryptor().unwrap();
            let mut out = vec![0u8; body.len() + 16];
            let mut n = 0;
            for c in split(&body, &sizes) {
                n += dec.update(c, &mut out[n..]).unwrap();
            }
            let mut last = [0u8; 16];
            let r = dec.finish(&mut last).map(|k| {
                out[n..n + k].copy_from_slice(&last[..k]);
                n + k
            });
            let iv16: [u8; 16] = iv[..].try_into().unwrap();
            let reference = refs::cbc_decrypt(dk.as_bytes(), &iv16, &body);
            match (r, reference) {
                (Ok(n), Some(pt)) => assert_eq!(&out[..n], &pt[..]),
                (Err(Error::Authentication), None) => {}
                (r, reference) => panic!("cbc via ContentKey {r:?} vs cbc crate {reference:?}"),
            }
        }
        _ => {}
    }
    Ok(())
}

fn cbc_paths(u: &mut Unstructured<'_>) -> Result<()> {
    let key = key_len_bytes(u)?;
    let iv: [u8; 16] = u.arbitrary()?;
    let body: Vec<u8> = u.arbitrary()?;
    let sizes: Vec<u8> = u.arbitrary()?;
    let slack: u8 = u.arbitrary()?;

    let mut one = body.clone();
    let r1 = decrypt_in_place(&key, &iv, &mut one);
    let reference = refs::cbc_decrypt(&key, &iv, &body);
    match (&r1, &reference) {
        (Ok(n), Some(pt)) => assert_eq!(&one[..*n], &pt[..]),
        (Err(Error::Authentication), None) => {
            assert!(one.iter().all(|&b| b == 0) || one == body, "failed CBC left plaintext behind")
        }
        (Err(Error::InvalidInput(InputError::KeyLength { .. })), None) => {
            assert!(!matches!(key.len(), 16 | 24 | 32))
        }
        _ => panic!("decrypt_in_place {r1:?} vs cbc crate {reference:?}"),
    }

    // Streaming, with output buffers sometimes too small: a refused update
    // consumes nothing, and a retry with room continues.
    let Ok(mut dec) = CbcDecryptor::new(&key, &iv) else {
        assert!(r1.is_err());
        return Ok(());
    };
    let mut out = Vec::new();
    for c in split(&body, &sizes) {
        let short = (slack as usize) % (c.len() + 17);
        let mut o = vec![0u8; short];
        let n = match dec.update(c, &mut o) {
            Ok(n) => n,
            Err(Error::BufferTooSmall { needed }) => {
                assert!(needed > short);
                o = vec![0u8; c.len() + 16];
                dec.update(c, &mut o).unwrap()
            }
            Err(e) => panic!("CbcDecryptor::update: {e:?}"),
        };
        assert_eq!(n % 16, 0);
        out.extend_from_slice(&o[..n]);
    }
    let mut last = [0u8; 16];
    match dec.finish(&mut last) {
        Ok(k) => {
            out.extend_from_slice(&last[..k]);
            assert_eq!(Some(out), reference);
        }
        Err(e) => {
            assert_eq!(e, Error::Authentication);
            assert!(reference.is_none());
        }
    }
    Ok(())
}

fn unwrap_paths(u: &mut Unstructured<'_>) -> Result<()> {
    let kek = key_len_bytes(u)?;
    let edk_len = *pick(u, &[48usize, 32, 60, 40, 24, 0, 16, 59, 61, 33, 53, 255])?;
    let edk = gen::fill(u, edk_len)?;
    let cek_alg = pick(u, gen::CEK_ALGS)?.to_string();

    // Never panic; agree with the references.
    let ecb = aes_ecb::unwrap(&kek, &edk);
    let ecb_ref = refs::ecb_unwrap(&kek, &edk).filter(|_| matches!(edk.len(), 32 | 48));
    assert_eq!(ecb.as_ref().ok().map(|d| d.as_bytes().to_vec()), ecb_ref, "aes-ecb unwrap");
    let kw = aes_kw::unwrap(&kek, &edk);
    let kw_ref = refs::kw_unwrap(&kek, &edk);
    assert_eq!(kw.as_ref().ok().map(|d| d.as_bytes().to_vec()), kw_ref, "aes-kw unwrap");
    let g = aes_gcm::unwrap(&kek, &edk, &cek_alg);
    let g_ref = if edk.len() == aes_gcm::EDK_LEN {
        let tag: [u8; 16] = edk[44..].try_into().unwrap();
        let nonce: [u8; 12] = edk[..12].try_into().unwrap();
        refs::gcm_open(&kek, &nonce, cek_alg.as_bytes(), &edk[12..44], &tag)
    } else {
        None
    };
    assert_eq!(g.as_ref().ok().map(|d| d.as_bytes().to_vec()), g_ref, "aes-gcm unwrap");
    let p = rsa_pseudo::decode(&edk, &cek_alg);
    if let Ok(dk) = &p {
        assert_eq!(edk.len(), 1 + dk.len() + cek_alg.len());
        assert_eq!(&edk[1..1 + dk.len()], dk.as_bytes());
        assert_eq!(&edk[1 + dk.len()..], cek_alg.as_bytes());
    }

    // Wrap then unwrap gives the key back.
    let dk_bytes = key_len_bytes(u)?;
    let Ok(dk) = DataKey::from_slice(&dk_bytes) else { return Ok(()) };
    if let Ok(w) = aes_ecb::legacy_wrap(&kek, &dk) {
        let back = aes_ecb::unwrap(&kek, w.as_bytes()).expect("aes-ecb round trip");
        assert_eq!(back.as_bytes(), dk.as_bytes());
    }
    if let Ok(w) = aes_kw::legacy_wrap(&kek, &dk) {
        let back = aes_kw::unwrap(&kek, w.as_bytes()).expect("aes-kw round trip");
        assert_eq!(back.as_bytes(), dk.as_bytes());
    }
    let mut rng = FuzzRng::new(u.arbitrary()?, chance(u, 1, 16)?);
    if let Ok(w) = aes_gcm::wrap(&kek, &dk, &cek_alg, &mut rng) {
        let back = aes_gcm::unwrap(&kek, &w, &cek_alg).expect("aes-gcm round trip");
        assert_eq!(back.as_bytes(), dk.as_bytes());
        let tag: [u8; 16] = w[44..].try_into().unwrap();
        let nonce: [u8; 12] = w[..12].try_into().unwrap();
        assert_eq!(
            refs::gcm_open(&kek, &nonce, cek_alg.as_bytes(), &w[12..44], &tag).as_deref(),
            Some(dk.as_bytes())
        );
        let other = if cek_alg == "115" { "AES/GCM/NoPadding" } else { "115" };
        assert_eq!(aes_gcm::unwrap(&kek, &w, other).err(), Some(Error::Authentication));
    }
    if let Ok(pk) = rsa_pseudo::encode(&dk, &cek_alg) {
        let back = rsa_pseudo::decode(pk.as_bytes(), &cek_alg).expect("pseudo key round trip");
        assert_eq!(back.as_bytes(), dk.as_bytes());
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(which) = u.int_in_range(0..=3u8) else { return };
    let _ = match which {
        0 => Gcm::arbitrary(&mut u).map(|g| gcm_paths(&g)),
        1 => content_key_paths(&mut u),
        2 => cbc_paths(&mut u),
        _ => unwrap_paths(&mut u),
    };
});

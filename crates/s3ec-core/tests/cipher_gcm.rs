//! Streaming AES-256-GCM: known answers, split invariance against `aes-gcm`
//! 0.10, every decryption path, and tamper rejection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use proptest::prelude::*;
use s3ec_core::cipher::{open_in_place, GcmEncryptor, GcmVerifier};
use s3ec_core::danger::{decrypt_range, plan_range, UnverifiedDecryptor};
use s3ec_core::{Error, InputError};

struct Kat {
    key: &'static str,
    iv: &'static str,
    aad: &'static str,
    pt: &'static str,
    ct: &'static str,
    tag: &'static str,
}

/// NIST CAVP gcmEncryptExtIV256 (96-bit IV) and the GCM specification's
/// AES-256 test cases 15 and 16 (60/64-byte plaintexts, 20-byte AAD).
const KATS: &[Kat] = &[
    // NIST, PTlen 0, AADlen 0, Count 0.
    Kat {
        key: "b52c505a37d78eda5dd34f20c22540ea1b58963cf8e5bf8ffa85f9f2492505b4",
        iv: "516c33929df5a3284ff463d7",
        aad: "",
        pt: "",
        ct: "",
        tag: "bdc1ac884d332457a1d2664f168c76f0",
    },
    // NIST, PTlen 128, AADlen 0.
    Kat {
        key: "31bdadd96698c204aa9ce1448ea94ae1fb4a9a0b3c9d773b51bb1822666b8f22",
        iv: "0d18e06c7c725ac9e362e1ce",
        aad: "",
        pt: "2db5168e932556f8089a0622981d017d",
        ct: "fa4362189661d163fcd6a56d8bf0405a",
        tag: "d636ac1bbedd5cc3ee727dc2ab4a9489",
    },
    // NIST, PTlen 128, AADlen 128.
    Kat {
        key: "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
        iv: "ac93a1a6145299bde902f21a",
        aad: "1e0889016f67601c8ebea4943bc23ad6",
        pt: "2d71bcfa914e4ac045b2aa60955fad24",
        ct: "8995ae2e6df3dbf96fac7b7137bae67f",
        tag: "eca5aa77d51d4a0a14d9c51e1da474ab",
    },
    // NIST, PTlen 128, AADlen 128.
    Kat {
        key: "eebc1f57487f51921c0465665f8ae6d1658bb26de6f8a069a3520293a572078f",
        iv: "99aa3e68ed8173a0eed06684",
        aad: "4d23c3cec334b49bdb370c437fec78de",
        pt: "f56e87055bc32d0eeb31b2eacc2bf2a5",
        ct: "f7264413a84c0e7cd536867eb9f21736",
        tag: "67ba0510262ae487d737ee6298f77e0c",
    },
    // GCM spec test case 15: 64-byte plaintext, no AAD.
    Kat {
        key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        iv: "cafebabefacedbaddecaf888",
        aad: "",
        pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
        tag: "b094dac5d93471bdec1a502270e3cc6c",
    },
    // GCM spec test case 16: 60-byte plaintext, 20-byte AAD.
    Kat {
        key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        iv: "cafebabefacedbaddecaf888",
        aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        tag: "76fc6ece0f4e1768cddf8853bb2d551b",
    },
];

fn arr<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// Feed `data` to `f` in chunks whose sizes cycle through `sizes`.
fn chunked(data: &mut [u8], sizes: &[usize], mut f: impl FnMut(u64, &mut [u8])) {
    let mut off = 0usize;
    let mut i = 0usize;
    while off < data.len() {
        let n = sizes[i % sizes.len()].max(1).min(data.len() - off);
        f(off as u64, &mut data[off..off + n]);
        off += n;
        i += 1;
    }
}

fn seal_split(key: &[u8; 32], iv: &[u8; 12], aad: &[u8], pt: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut enc = GcmEncryptor::new(key, iv, aad).unwrap();
    let mut body = pt.to_vec();
    chunked(&mut body, sizes, |_, c| enc.update(c).unwrap());
    enc.update(&mut []).unwrap();
    assert_eq!(enc.processed(), pt.len() as u64);
    body.extend_from_slice(&enc.finish());
    body
}

/// Every decryption path must give `pt` back from `body`.
fn check_all_decrypt_paths(
    key: &[u8; 32],
    iv: &[u8; 12],
    aad: &[u8],
    body: &[u8],
    pt: &[u8],
    sizes: &[usize],
) {
    // One shot.
    let mut b = body.to_vec();
    let n = open_in_place(key, iv, aad, &mut b).unwrap();
    assert_eq!(&b[..n], pt);

    // Verifier, then decrypt_at in chunks (in reverse order, to show seeking).
    let (ct, tag) = body.split_at(body.len() - 16);
    let mut v = GcmVerifier::new(key, iv, aad).unwrap();
    let mut tmp = ct.to_vec();
    chunked(&mut tmp, sizes, |_, c| v.update(c).unwrap());
    let ok = v.verify(&tag.try_into().unwrap()).unwrap();
    assert_eq!(ok.len(), pt.len() as u64);
    let mut out = ct.to_vec();
    let mut pieces = Vec::new();
    chunked(&mut out, sizes, |off, c| pieces.push((off, c.len())));
    for &(off, len) in pieces.iter().rev() {
        let o = off as usize;
        ok.decrypt_at(off, &mut out[o..o + len]).unwrap();
    }
    assert_eq!(out, pt);

    // Unverified streaming decryptor.
    let mut d = UnverifiedDecryptor::new(key, iv, aad).unwrap();
    let mut out = ct.to_vec();
    chunked(&mut out, sizes, |_, c| d.update(c).unwrap());
    d.finish(&tag.try_into().unwrap()).unwrap();
    assert_eq!(out, pt);
}

#[test]
fn known_answers_with_splits() {
    for (i, k) in KATS.iter().enumerate() {
        let key: [u8; 32] = arr(k.key);
        let iv: [u8; 12] = arr(k.iv);
        let aad = hex::decode(k.aad).unwrap();
        let pt = hex::decode(k.pt).unwrap();
        let mut want = hex::decode(k.ct).unwrap();
        want.extend_from_slice(&hex::decode(k.tag).unwrap());
        for sizes in [
            &[usize::MAX][..],
            &[1],
            &[15],
            &[16],
            &[17],
            &[3, 29, 1, 16],
            &[64, 1],
        ] {
            let body = seal_split(&key, &iv, &aad, &pt, sizes);
            assert_eq!(
                hex::encode(&body),
                hex::encode(&want),
                "vector {i} sizes {sizes:?}"
            );
            check_all_decrypt_paths(&key, &iv, &aad, &body, &pt, sizes);
        }
    }
}

#[test]
fn tampering_is_rejected_and_releases_nothing() {
    let k = &KATS[5];
    let key: [u8; 32] = arr(k.key);
    let iv: [u8; 12] = arr(k.iv);
    let aad = hex::decode(k.aad).unwrap();
    let pt = hex::decode(k.pt).unwrap();
    let body = seal_split(&key, &iv, &aad, &pt, &[7]);

    for i in 0..body.len() {
        let mut b = body.clone();
        b[i] ^= 0x01;
        let orig = b.clone();
        assert_eq!(
            open_in_place(&key, &iv, &aad, &mut b),
            Err(Error::Authentication)
        );
        assert_eq!(b, orig, "buffer changed after failed open (byte {i})");

        let (ct, tag) = b.split_at(b.len() - 16);
        let mut v = GcmVerifier::new(&key, &iv, &aad).unwrap();
        v.update(ct).unwrap();
        assert_eq!(
            v.verify(&tag.try_into().unwrap()).map(|_| ()),
            Err(Error::Authentication)
        );

        let mut d = UnverifiedDecryptor::new(&key, &iv, &aad).unwrap();
        let mut out = ct.to_vec();
        d.update(&mut out).unwrap();
        assert_eq!(
            d.finish(&tag.try_into().unwrap()),
            Err(Error::Authentication)
        );
    }
    // Wrong IV, AAD, key; truncation; extension.
    let mut b = body.clone();
    let mut iv2 = iv;
    iv2[11] ^= 1;
    assert_eq!(
        open_in_place(&key, &iv2, &aad, &mut b),
        Err(Error::Authentication)
    );
    assert_eq!(
        open_in_place(&key, &iv, b"", &mut b),
        Err(Error::Authentication)
    );
    let mut aad2 = aad.clone();
    aad2.push(0);
    assert_eq!(
        open_in_place(&key, &iv, &aad2, &mut b),
        Err(Error::Authentication)
    );
    let mut key2 = key;
    key2[0] ^= 0x80;
    assert_eq!(
        open_in_place(&key2, &iv, &aad, &mut b),
        Err(Error::Authentication)
    );
    assert_eq!(b, body);
    let mut short = body[1..].to_vec();
    assert_eq!(
        open_in_place(&key, &iv, &aad, &mut short),
        Err(Error::Authentication)
    );
    let mut long = body.clone();
    long.insert(0, 0);
    assert_eq!(
        open_in_place(&key, &iv, &aad, &mut long),
        Err(Error::Authentication)
    );
    let mut tiny = [0u8; 15];
    assert_eq!(
        open_in_place(&key, &iv, &aad, &mut tiny),
        Err(InputError::Truncated.into())
    );
}

fn nonzero_iv() -> impl Strategy<Value = [u8; 12]> {
    any::<[u8; 12]>().prop_filter("non-zero IV", |iv| iv.iter().any(|&b| b != 0))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn streaming_equals_aes_gcm_one_shot(
        key in any::<[u8; 32]>(),
        iv in nonzero_iv(),
        aad in proptest::collection::vec(any::<u8>(), 0..80),
        pt in proptest::collection::vec(any::<u8>(), 0..1200),
        sizes in proptest::collection::vec(1usize..200, 1..8),
        ranges in proptest::collection::vec((any::<u16>(), any::<u16>()), 0..8),
    ) {
        // Oracle: aes-gcm 0.10 one-shot.
        let cipher = Aes256Gcm::new((&key).into());
        let mut want = pt.clone();
        let tag = cipher.encrypt_inout_detached((&iv).into(), &aad, (&mut want[..]).into()).unwrap();
        want.extend_from_slice(&tag);

        let body = seal_split(&key, &iv, &aad, &pt, &sizes);
        prop_assert_eq!(&body, &want);
        check_all_decrypt_paths(&key, &iv, &aad, &body, &pt, &sizes);

        // Random ranges: Verified::decrypt_at and danger::decrypt_range.
        let (ct, tag) = body.split_at(body.len() - 16);
        let mut v = GcmVerifier::new(&key, &iv, &aad).unwrap();
        v.update(ct).unwrap();
        let ok = v.verify(&tag.try_into().unwrap()).unwrap();
        for (a, b) in ranges {
            if pt.is_empty() { break; }
            let a = a as usize % pt.len();
            let b = a + (b as usize % (pt.len() - a + 1));
            let mut part = ct[a..b].to_vec();
            ok.decrypt_at(a as u64, &mut part).unwrap();
            prop_assert_eq!(&part[..], &pt[a..b]);
            let mut part = ct[a..b].to_vec();
            decrypt_range(&key, &iv, a as u64, &mut part).unwrap();
            prop_assert_eq!(&part[..], &pt[a..b]);
            // Past the verified length.
            let mut over = vec![0u8; pt.len() - a + 1];
            prop_assert_eq!(ok.decrypt_at(a as u64, &mut over), Err(InputError::OutOfRange.into()));
        }
    }

    #[test]
    fn any_tamper_rejected(
        key in any::<[u8; 32]>(),
        iv in nonzero_iv(),
        pt in proptest::collection::vec(any::<u8>(), 0..300),
        pos in any::<usize>(),
        bit in 0u8..8,
    ) {
        let body = seal_split(&key, &iv, b"", &pt, &[64]);
        let mut b = body.clone();
        let i = pos % b.len();
        b[i] ^= 1 << bit;
        let orig = b.clone();
        prop_assert_eq!(open_in_place(&key, &iv, b"", &mut b), Err(Error::Authentication));
        prop_assert_eq!(b, orig);
    }

    #[test]
    fn plan_range_then_decrypt_range(
        pt in proptest::collection::vec(any::<u8>(), 1..500),
        first in any::<u16>(),
        len in any::<u16>(),
        open_end in any::<bool>(),
    ) {
        let (key, iv) = ([0x42u8; 32], [0x24u8; 12]);
        let body = seal_split(&key, &iv, b"", &pt, &[usize::MAX]);
        let first = first as u64 % pt.len() as u64;
        let last = if open_end { None } else { Some(first + len as u64 % 600) };
        let plan = plan_range(first, last, body.len() as u64).unwrap();
        prop_assert_eq!(plan.fetch_first % 16, 0);
        prop_assert!(plan.fetch_last < pt.len() as u64);
        let mut fetched = body[plan.fetch_first as usize..=plan.fetch_last as usize].to_vec();
        decrypt_range(&key, &iv, plan.fetch_first, &mut fetched).unwrap();
        let got = &fetched[plan.skip as usize..(plan.skip + plan.len) as usize];
        let end = last.map_or(pt.len(), |l| (l as usize + 1).min(pt.len()));
        prop_assert_eq!(got, &pt[first as usize..end]);
    }
}

#[test]
fn larger_bodies_split_invariant() {
    // Cross the 8-block parallel paths and many partial-block carries.
    let key = [0x11u8; 32];
    let iv = [0x22u8; 12];
    let pt: Vec<u8> = (0..70_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let cipher = Aes256Gcm::new((&key).into());
    let mut want = pt.clone();
    let tag = cipher
        .encrypt_inout_detached((&iv).into(), b"x", (&mut want[..]).into())
        .unwrap();
    want.extend_from_slice(&tag);
    for sizes in [&[65_536][..], &[4099, 1, 127], &[1000, 16, 15]] {
        let body = seal_split(&key, &iv, b"x", &pt, sizes);
        assert!(body == want, "sizes {sizes:?}");
        check_all_decrypt_paths(&key, &iv, b"x", &body, &pt, sizes);
    }
}

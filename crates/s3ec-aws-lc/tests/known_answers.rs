//! `AwsLc` on the core's known answers: NIST CAVP `gcmEncryptExtIV256`
//! (96-bit IV) and the GCM specification's AES-256 test cases 15 and 16,
//! copied from `crates/s3ec-core/tests/cipher_gcm.rs`, through every path
//! and with every split; then tamper rejection with nothing released.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use s3ec_aws_lc::AwsLc;
use s3ec_core::cipher::gcm::{open_in_place_with, GcmEncryptor, GcmVerifier};
use s3ec_core::danger::{decrypt_range_with, UnverifiedDecryptor};
use s3ec_core::Error;

struct Kat {
    key: &'static str,
    iv: &'static str,
    aad: &'static str,
    pt: &'static str,
    ct: &'static str,
    tag: &'static str,
}

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

#[test]
fn known_answers_through_every_path() {
    for (i, k) in KATS.iter().enumerate() {
        let key: [u8; 32] = arr(k.key);
        let iv: [u8; 12] = arr(k.iv);
        let aad = hex::decode(k.aad).unwrap();
        let pt = hex::decode(k.pt).unwrap();
        let ct = hex::decode(k.ct).unwrap();
        let tag: [u8; 16] = arr(k.tag);
        for sizes in [
            &[usize::MAX][..],
            &[1],
            &[15],
            &[16],
            &[17],
            &[3, 29, 1, 16],
            &[64, 1],
        ] {
            let what = format!("vector {i} sizes {sizes:?}");
            // Encrypt.
            let mut enc = GcmEncryptor::<AwsLc>::with_backend(&key, &iv, &aad).unwrap();
            let mut body = pt.clone();
            chunked(&mut body, sizes, |_, c| enc.update(c).unwrap());
            enc.update(&mut []).unwrap();
            assert_eq!(hex::encode(&body), k.ct, "{what}");
            assert_eq!(hex::encode(enc.finish()), k.tag, "{what}");

            // Verify, then decrypt_at in reverse order.
            let mut v = GcmVerifier::<AwsLc>::with_backend(&key, &iv, &aad).unwrap();
            let mut tmp = ct.clone();
            chunked(&mut tmp, sizes, |_, c| v.update(c).unwrap());
            let ok = v.verify(&tag).unwrap();
            let mut out = ct.clone();
            let mut parts = Vec::new();
            chunked(&mut out, sizes, |off, c| parts.push((off, c.len())));
            for &(off, len) in parts.iter().rev() {
                let o = off as usize;
                ok.decrypt_at(off, &mut out[o..o + len]).unwrap();
            }
            assert_eq!(out, pt, "{what}");

            // Delayed authentication.
            let mut d = UnverifiedDecryptor::<AwsLc>::with_backend(&key, &iv, &aad).unwrap();
            let mut out = ct.clone();
            chunked(&mut out, sizes, |_, c| d.update(c).unwrap());
            d.finish(&tag).unwrap();
            assert_eq!(out, pt, "{what}");

            // Ranges.
            let mut out = ct.clone();
            chunked(&mut out, sizes, |off, c| {
                decrypt_range_with::<AwsLc>(&key, &iv, off, c).unwrap()
            });
            assert_eq!(out, pt, "{what}");
        }
        // One shot.
        let mut body = ct.clone();
        body.extend_from_slice(&tag);
        let n = open_in_place_with::<AwsLc>(&key, &iv, &aad, &mut body).unwrap();
        assert_eq!(&body[..n], &pt[..], "vector {i}");
    }
}

#[test]
fn every_bit_flip_rejected_and_nothing_released() {
    let k = &KATS[5];
    let key: [u8; 32] = arr(k.key);
    let iv: [u8; 12] = arr(k.iv);
    let aad = hex::decode(k.aad).unwrap();
    let mut body = hex::decode(k.ct).unwrap();
    body.extend_from_slice(&hex::decode(k.tag).unwrap());
    for i in 0..body.len() * 8 {
        let mut b = body.clone();
        b[i / 8] ^= 1 << (i % 8);
        let orig = b.clone();
        assert_eq!(
            open_in_place_with::<AwsLc>(&key, &iv, &aad, &mut b),
            Err(Error::Authentication),
            "bit {i}"
        );
        assert_eq!(b, orig, "buffer changed after a failed open (bit {i})");
        let (ct, tag) = b.split_at(b.len() - 16);
        let tag: [u8; 16] = tag.try_into().unwrap();
        let mut v = GcmVerifier::<AwsLc>::with_backend(&key, &iv, &aad).unwrap();
        v.update(ct).unwrap();
        assert_eq!(v.verify(&tag).map(|_| ()), Err(Error::Authentication));
        let mut d = UnverifiedDecryptor::<AwsLc>::with_backend(&key, &iv, &aad).unwrap();
        let mut out = ct.to_vec();
        d.update(&mut out).unwrap();
        assert_eq!(d.finish(&tag), Err(Error::Authentication));
    }
    // Wrong key, IV, AAD; truncated and extended bodies.
    let mut key2 = key;
    key2[31] ^= 1;
    let mut iv2 = iv;
    iv2[0] ^= 0x80;
    let mut b = body.clone();
    assert!(open_in_place_with::<AwsLc>(&key2, &iv, &aad, &mut b).is_err());
    assert!(open_in_place_with::<AwsLc>(&key, &iv2, &aad, &mut b).is_err());
    assert!(open_in_place_with::<AwsLc>(&key, &iv, &aad[1..], &mut b).is_err());
    assert!(open_in_place_with::<AwsLc>(&key, &iv, b"", &mut b).is_err());
    assert_eq!(b, body);
    assert!(open_in_place_with::<AwsLc>(&key, &iv, &aad, &mut body[1..].to_vec()).is_err());
    let mut long = body.clone();
    long.insert(0, 0);
    assert!(open_in_place_with::<AwsLc>(&key, &iv, &aad, &mut long).is_err());
}

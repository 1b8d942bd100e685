//! Legacy AES-CBC decryption: NIST SP 800-38A vectors (with a PKCS#7
//! block appended), streaming splits, and uniform failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use proptest::prelude::*;
use s3ec_core::cipher::ContentKey;
use s3ec_core::legacy::{decrypt_in_place, CbcDecryptor};
use s3ec_core::{DataKey, Error, Suite};

const IV: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const PT: &str = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

/// SP 800-38A F.2.1 / F.2.3 / F.2.5 (key, ciphertext).
const VECTORS: &[(&str, &str)] = &[
    (
        "2b7e151628aed2a6abf7158809cf4f3c",
        "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
    ),
    (
        "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
        "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd",
    ),
    (
        "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
        "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b",
    ),
];

/// Test-side CBC encryption of whole blocks, continuing from `prev`.
fn cbc_encrypt_blocks(key: &[u8], prev: [u8; 16], data: &mut [u8]) {
    let enc = |b: &mut [u8; 16]| match key.len() {
        16 => aes::Aes128::new_from_slice(key)
            .unwrap()
            .encrypt_block(b.into()),
        24 => aes::Aes192::new_from_slice(key)
            .unwrap()
            .encrypt_block(b.into()),
        _ => aes::Aes256::new_from_slice(key)
            .unwrap()
            .encrypt_block(b.into()),
    };
    let mut prev = prev;
    for c in data.chunks_mut(16) {
        let mut b = [0u8; 16];
        for i in 0..16 {
            b[i] = c[i] ^ prev[i];
        }
        enc(&mut b);
        c.copy_from_slice(&b);
        prev = b;
    }
}

fn pkcs7_encrypt(key: &[u8], iv: [u8; 16], pt: &[u8]) -> Vec<u8> {
    let pad = 16 - pt.len() % 16;
    let mut v = pt.to_vec();
    v.extend(core::iter::repeat_n(pad as u8, pad));
    cbc_encrypt_blocks(key, iv, &mut v);
    v
}

fn stream(key: &[u8], iv: &[u8; 16], ct: &[u8], sizes: &[usize]) -> Result<Vec<u8>, Error> {
    let mut d = CbcDecryptor::new(key, iv)?;
    let mut out = vec![0u8; ct.len() + 16];
    let mut n = 0;
    let mut off = 0;
    let mut i = 0;
    while off < ct.len() {
        let k = sizes[i % sizes.len()].max(1).min(ct.len() - off);
        let chunk = &ct[off..off + k];
        n += d.update(chunk, &mut out[n..n + k + 16])?;
        off += k;
        i += 1;
    }
    let mut last = [0u8; 16];
    let m = d.finish(&mut last)?;
    out.truncate(n);
    out.extend_from_slice(&last[..m]);
    Ok(out)
}

#[test]
fn nist_sp800_38a_with_padding_block() {
    let pt = hex::decode(PT).unwrap();
    for (key, ct) in VECTORS {
        let key = hex::decode(key).unwrap();
        let mut ct = hex::decode(ct).unwrap();
        // Our test-side encryptor reproduces the NIST ciphertext...
        let mut again = pt.clone();
        cbc_encrypt_blocks(&key, IV, &mut again);
        assert_eq!(again, ct);
        // ...then append the full padding block PKCS#7 adds to 64 bytes.
        let mut pad = [16u8; 16];
        cbc_encrypt_blocks(&key, ct[48..].try_into().unwrap(), &mut pad);
        ct.extend_from_slice(&pad);

        let mut b = ct.clone();
        assert_eq!(decrypt_in_place(&key, &IV, &mut b), Ok(64));
        assert_eq!(&b[..64], &pt[..]);
        for sizes in [&[1usize][..], &[15], &[16], &[17], &[80], &[5, 31, 2]] {
            assert_eq!(stream(&key, &IV, &ct, sizes).unwrap(), pt, "{sizes:?}");
        }
        // Through the content glue (V1 object, 0x0070).
        let dk = DataKey::from_slice(&key).unwrap();
        let ck = ContentKey::for_decrypt(Suite::AesCbc, &dk, &IV, None, None).unwrap();
        let mut d = ck.cbc_decryptor().unwrap();
        let mut out = vec![0u8; 96];
        assert_eq!(d.update(&ct, &mut out), Ok(64));
        assert_eq!(d.finish(&mut [0; 16]), Ok(0));
        assert_eq!(&out[..64], &pt[..]);
    }
}

#[test]
fn padding_tamper_and_bad_lengths_are_one_error() {
    let key = [7u8; 32];
    let ct = pkcs7_encrypt(&key, IV, b"thirteen byte");
    assert_eq!(ct.len(), 16);
    // Flip bits of the IV-side byte that lands on the padding: every flip
    // of the last byte gives bad padding except those making it 0x01.
    let mut failures = 0;
    for v in 0..=255u8 {
        let mut iv = IV;
        iv[15] ^= v;
        let mut b = ct.clone();
        match decrypt_in_place(&key, &iv, &mut b) {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e, Error::Authentication);
                assert_eq!(b, vec![0u8; 16], "buffer not wiped");
                failures += 1;
                assert_eq!(stream(&key, &iv, &ct, &[3]), Err(Error::Authentication));
            }
        }
    }
    assert!(failures >= 254);
    for len in [0usize, 1, 15, 17, 31, 33] {
        let mut b = vec![0u8; len];
        assert_eq!(
            decrypt_in_place(&key, &IV, &mut b),
            Err(Error::Authentication)
        );
        assert_eq!(
            stream(&key, &IV, &vec![0u8; len], &[4]),
            Err(Error::Authentication)
        );
    }
}

proptest! {
    #[test]
    fn cbc_round_trip_any_split(
        key_len in prop_oneof![Just(16usize), Just(24), Just(32)],
        key_seed in any::<[u8; 32]>(),
        iv in any::<[u8; 16]>(),
        pt in proptest::collection::vec(any::<u8>(), 0..300),
        sizes in proptest::collection::vec(1usize..70, 1..6),
    ) {
        let key = &key_seed[..key_len];
        let ct = pkcs7_encrypt(key, iv, &pt);
        let mut b = ct.clone();
        let n = decrypt_in_place(key, &iv, &mut b).unwrap();
        prop_assert_eq!(&b[..n], &pt[..]);
        prop_assert_eq!(stream(key, &iv, &ct, &sizes).unwrap(), pt);
    }
}

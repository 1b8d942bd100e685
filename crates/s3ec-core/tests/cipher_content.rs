//! Content glue and key commitment: the s3ec-format.md §4.3 known answers
//! (V3 and V2 bodies), round trips through every decryption path, and
//! tamper rejection of the commitment, message id, IV and body.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand_core::{TryCryptoRng, TryRng};
use s3ec_core::b64;
use s3ec_core::cipher::{kdf, ContentEncryption, ContentKey, ContentParams};
use s3ec_core::danger::{decrypt_range_with_key, UnverifiedDecryptor};
use s3ec_core::{DataKey, Error, Suite};

/// Replays fixed bytes (test only: a "CryptoRng" that is anything but).
struct Replay(Vec<u8>);
impl TryRng for Replay {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        unimplemented!()
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        unimplemented!()
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        let rest = self.0.split_off(dest.len());
        dest.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}
impl TryCryptoRng for Replay {}

fn dk() -> DataKey {
    DataKey::from_slice(&(0u8..32).collect::<Vec<_>>()).unwrap()
}
fn mid() -> [u8; 28] {
    core::array::from_fn(|i| 0x40 + i as u8)
}
const PT: &[u8] = b"hello, s3ec";
const V3_BODY: &str = "bb02266c49a14b522078f2abad0a7170b1d1993027eb4781483c7a";
const V2_IV: &str = "808182838485868788898a8b";
const V2_BODY: &str = "08c002772e3ec1e2adee76557839815ab48cd4bb7ed50fb88685ca";
const CK: &str = "0e7419e5cfb7c60d57a748d87c03278749350c9bb4c973f4f40831f4";

fn encrypt(suite: Suite, rng_bytes: Vec<u8>) -> (Vec<u8>, ContentParams) {
    let (mut enc, params) = ContentEncryption::new(suite, &dk(), &mut Replay(rng_bytes))
        .unwrap()
        .into_parts();
    let mut body = PT.to_vec();
    enc.update(&mut body[..4]).unwrap();
    enc.update(&mut body[4..]).unwrap();
    body.extend_from_slice(&enc.finish());
    (body, params)
}

#[test]
fn v3_known_answer() {
    // spec: key-derivation.md#hkdf-operation/1-14 encryption.md#alg_aes_256_gcm_hkdf_sha512_commit_key/1-3 encryption.md#content-encryption/3-4
    let (body, params) = encrypt(Suite::AesGcmCommitting, mid().to_vec());
    assert_eq!(hex::encode(&body), V3_BODY);
    let ContentParams::Committing {
        message_id,
        commitment,
    } = params.clone()
    else {
        panic!("wrong params {params:?}")
    };
    assert_eq!(message_id, mid());
    assert_eq!(hex::encode(commitment), CK);
    assert_eq!(params.suite(), Suite::AesGcmCommitting);
    assert_eq!(params.iv(), &[1u8; 12]);
    let mut enc = [0u8; 64];
    assert_eq!(
        b64::encode(&message_id, &mut enc).unwrap(),
        "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaWw=="
    );
    assert_eq!(
        b64::encode(&commitment, &mut enc).unwrap(),
        "DnQZ5c+3xg1Xp0jYfAMnh0k1DJu0yXP09Agx9A=="
    );

    // Decrypt the reference body; both "no IV" spellings are accepted.
    for iv in [&[][..], &[1u8; 12][..]] {
        let key = ContentKey::for_decrypt(
            Suite::AesGcmCommitting,
            &dk(),
            iv,
            Some(&mid()),
            Some(&commitment),
        )
        .unwrap();
        let mut b = hex::decode(V3_BODY).unwrap();
        let n = key.open_in_place(&mut b).unwrap();
        assert_eq!(&b[..n], PT);
        round_trip_paths(&key, &hex::decode(V3_BODY).unwrap());
    }
}

#[test]
fn v2_known_answer() {
    // spec: encryption.md#alg_aes_256_gcm_iv12_tag16_no_kdf/1-3 encryption.md#content-encryption/3-4
    let iv: [u8; 12] = hex::decode(V2_IV).unwrap().try_into().unwrap();
    let (body, params) = encrypt(Suite::AesGcm, iv.to_vec());
    assert_eq!(hex::encode(&body), V2_BODY);
    assert_eq!(params, ContentParams::Gcm { iv });
    let mut enc = [0u8; 32];
    assert_eq!(b64::encode(&iv, &mut enc).unwrap(), "gIGCg4SFhoeIiYqL");
    let key = ContentKey::for_decrypt(Suite::AesGcm, &dk(), &iv, None, None).unwrap();
    let mut b = body.clone();
    let n = key.open_in_place(&mut b).unwrap();
    assert_eq!(&b[..n], PT);
    round_trip_paths(&key, &body);
}

fn round_trip_paths(key: &ContentKey, body: &[u8]) {
    let (ct, tag) = body.split_at(body.len() - 16);
    let tag: [u8; 16] = tag.try_into().unwrap();
    let mut v = key.verifier().unwrap();
    v.update(ct).unwrap();
    let ok = v.verify(&tag).unwrap();
    let mut out = ct.to_vec();
    ok.decrypt_at(0, &mut out).unwrap();
    assert_eq!(out, PT);

    let mut d = UnverifiedDecryptor::from_content_key(key).unwrap();
    let mut out = ct.to_vec();
    d.update(&mut out).unwrap();
    d.finish(&tag).unwrap();
    assert_eq!(out, PT);

    for a in 0..PT.len() {
        let mut part = ct[a..].to_vec();
        decrypt_range_with_key(key, a as u64, &mut part).unwrap();
        assert_eq!(part, &PT[a..]);
    }
}

#[test]
fn v3_commitment_and_message_id_tamper() {
    // spec: decryption.md#decrypting-with-commitment/1 decryption.md#decrypting-with-commitment/3
    let ck: [u8; 28] = hex::decode(CK).unwrap().try_into().unwrap();
    for i in 0..28 {
        for bit in [0x01u8, 0x80] {
            let mut bad = ck;
            bad[i] ^= bit;
            assert_eq!(
                ContentKey::for_decrypt(
                    Suite::AesGcmCommitting,
                    &dk(),
                    &[],
                    Some(&mid()),
                    Some(&bad)
                )
                .map(|_| ()),
                Err(Error::Authentication)
            );
            let mut bad_mid = mid();
            bad_mid[i] ^= bit;
            assert_eq!(
                ContentKey::for_decrypt(
                    Suite::AesGcmCommitting,
                    &dk(),
                    &[],
                    Some(&bad_mid),
                    Some(&ck)
                )
                .map(|_| ()),
                Err(Error::Authentication)
            );
        }
    }
    // A different data key (EDK substitution) fails at the commitment.
    let other = DataKey::from_slice(&[9u8; 32]).unwrap();
    assert_eq!(
        ContentKey::for_decrypt(
            Suite::AesGcmCommitting,
            &other,
            &[],
            Some(&mid()),
            Some(&ck)
        )
        .map(|_| ()),
        Err(Error::Authentication)
    );
    // Body tamper with the right commitment: tag failure, nothing released.
    let key = ContentKey::for_decrypt(Suite::AesGcmCommitting, &dk(), &[], Some(&mid()), Some(&ck))
        .unwrap();
    let good = hex::decode(V3_BODY).unwrap();
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] ^= 4;
        let orig = b.clone();
        assert_eq!(key.open_in_place(&mut b), Err(Error::Authentication));
        assert_eq!(b, orig);
    }
    // The kdf entry points agree with the content glue.
    let dk_bytes = *dk().as_256().unwrap();
    let (k, c) = kdf::derive_for_encrypt(&dk_bytes, &mid()).unwrap();
    assert_eq!(c, ck);
    assert_eq!(
        hex::encode(k.as_bytes()),
        "35f108bd2c11d0a8334d2c5d6e7dacb51d477b00723a49466ef1dff41ff45d52"
    );
}

#[test]
fn v2_iv_tamper_and_suite_confusion() {
    let iv: [u8; 12] = hex::decode(V2_IV).unwrap().try_into().unwrap();
    let body = hex::decode(V2_BODY).unwrap();
    let mut bad_iv = iv;
    bad_iv[0] ^= 1;
    let key = ContentKey::for_decrypt(Suite::AesGcm, &dk(), &bad_iv, None, None).unwrap();
    let mut b = body.clone();
    assert_eq!(key.open_in_place(&mut b), Err(Error::Authentication));
    assert_eq!(b, body);
    // The V2 body read as V3 (same data key) fails.
    let ck: [u8; 28] = hex::decode(CK).unwrap().try_into().unwrap();
    let v3 = ContentKey::for_decrypt(Suite::AesGcmCommitting, &dk(), &[], Some(&mid()), Some(&ck))
        .unwrap();
    let mut b = body.clone();
    assert_eq!(v3.open_in_place(&mut b), Err(Error::Authentication));
}

#[test]
fn random_round_trips() {
    let mut rng = rand::rngs::SysRng;
    for suite in [Suite::AesGcm, Suite::AesGcmCommitting] {
        let dk = DataKey::generate(&mut rng).unwrap();
        let mut ce = ContentEncryption::new(suite, &dk, &mut rng).unwrap();
        let params = ce.params().clone();
        assert_eq!(params.suite(), suite);
        let mut body: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for c in body.chunks_mut(333) {
            ce.encryptor_mut().update(c).unwrap();
        }
        let (enc, _) = ce.into_parts();
        body.extend_from_slice(&enc.finish());
        let key = match params {
            ContentParams::Gcm { iv } => ContentKey::for_decrypt(suite, &dk, &iv, None, None),
            ContentParams::Committing {
                message_id,
                commitment,
            } => ContentKey::for_decrypt(suite, &dk, &[], Some(&message_id), Some(&commitment)),
            _ => unreachable!(),
        }
        .unwrap();
        assert_eq!(key.suite(), suite);
        let n = key.open_in_place(&mut body).unwrap();
        assert!(body[..n].iter().enumerate().all(|(i, &b)| b == i as u8));
    }
}

//! The transport-free client path: seal, open, decrypt, with local keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use s3ec_client::codec::{self, DecryptPolicy, EnvelopeLocation};
use s3ec_client::ClientError;
use s3ec_core::envelope::Placement;
use s3ec_core::{CommitmentPolicy, FormatVersion, Suite, WrapAlg};
use s3ec_keyring::{Context, KeyringError, Keyrings, LegacyOptions};
use s3ec_local::AesKeyring;

fn ring(byte: u8) -> AesKeyring {
    AesKeyring::new(&[byte; 32]).unwrap()
}

struct Object {
    metadata: Vec<(String, String)>,
    instruction: Option<String>,
    body: Vec<u8>,
}

fn put(
    keyring: &AesKeyring,
    policy: CommitmentPolicy,
    placement: Placement,
    plaintext: &[u8],
) -> Object {
    let sealed = codec::seal(
        keyring,
        policy,
        &Context::new(),
        placement,
        Some(plaintext.len() as u64),
    )
    .unwrap();
    let mut enc = sealed.encryptor;
    let mut body = plaintext.to_vec();
    // Odd chunking: the result must not depend on it.
    for chunk in body.chunks_mut(7) {
        enc.update(chunk).unwrap();
    }
    body.extend_from_slice(&enc.finish());
    Object {
        metadata: sealed.object_metadata,
        instruction: sealed.instruction_file,
        body,
    }
}

fn get(
    keyring: &dyn s3ec_keyring::Keyring,
    obj: &Object,
    policy: &DecryptPolicy,
) -> Result<Vec<u8>, ClientError> {
    let opened = codec::open_envelope(
        keyring,
        &obj.metadata,
        obj.instruction.as_deref(),
        policy,
        None,
    )?;
    let mut body = obj.body.clone();
    codec::decrypt_body(&opened.key, &mut body)?;
    Ok(body)
}

#[test]
fn round_trips_every_format_and_placement() {
    // spec: data-format/content-metadata.md#algorithm-suite-and-message-format-version-compatibility/1-2
    let k = ring(1);
    let permissive = DecryptPolicy {
        commitment: CommitmentPolicy::RequireEncryptAllowDecrypt,
        legacy: LegacyOptions::default(),
    };
    for policy in [
        CommitmentPolicy::ForbidEncryptAllowDecrypt,
        CommitmentPolicy::RequireEncryptAllowDecrypt,
        CommitmentPolicy::RequireEncryptRequireDecrypt,
    ] {
        for placement in [Placement::ObjectMetadata, Placement::InstructionFile] {
            for len in [0usize, 1, 15, 16, 17, 4095, 65539] {
                let pt: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
                let obj = put(&k, policy, placement, &pt);
                let expected_location = match (placement, policy) {
                    (Placement::ObjectMetadata, _) => EnvelopeLocation::ObjectMetadata,
                    (_, CommitmentPolicy::ForbidEncryptAllowDecrypt) => {
                        EnvelopeLocation::InstructionFile { required: false }
                    }
                    _ => EnvelopeLocation::InstructionFile { required: true },
                };
                assert_eq!(
                    codec::needs_instruction_file(&obj.metadata).unwrap(),
                    expected_location
                );
                assert_eq!(get(&k, &obj, &permissive).unwrap(), pt);
                let info = codec::inspect(&obj.metadata, obj.instruction.as_deref()).unwrap();
                assert_eq!(info.suite, policy.encrypt_suite());
                assert_eq!(info.wrap, WrapAlg::AesGcm);
                assert_eq!(info.placement, placement);
                assert_eq!(info.unencrypted_content_length, Some(len as u64));
                let format = if policy == CommitmentPolicy::ForbidEncryptAllowDecrypt {
                    FormatVersion::V2
                } else {
                    FormatVersion::V3
                };
                assert_eq!(info.format, format);
            }
        }
    }
}

#[test]
fn default_policy_refuses_v2_before_unwrapping() {
    // spec: decryption.md#key-commitment/1-2 key-commitment.md#commitment-policy/6
    let k = ring(2);
    let obj = put(
        &k,
        CommitmentPolicy::ForbidEncryptAllowDecrypt,
        Placement::ObjectMetadata,
        b"v2",
    );
    // A keyring that would fail is never reached: the policy check comes first.
    let other = ring(3);
    match get(&other, &obj, &DecryptPolicy::default()) {
        Err(ClientError::CommitmentPolicy {
            suite: Suite::AesGcm,
            ..
        }) => {}
        other => panic!("expected a policy error, got {other:?}"),
    }
}

#[test]
fn wrong_key_and_rotation() {
    let old = ring(4);
    let new = ring(5);
    let obj = put(
        &old,
        CommitmentPolicy::RequireEncryptRequireDecrypt,
        Placement::ObjectMetadata,
        b"rotate me",
    );
    assert!(matches!(
        get(&new, &obj, &DecryptPolicy::default()),
        Err(ClientError::Keyring(_))
    ));
    // During a rotation both keys are configured: the old one still reads.
    let both = Keyrings::new().with(new).with(old);
    assert_eq!(
        get(&both, &obj, &DecryptPolicy::default()).unwrap(),
        b"rotate me"
    );
}

#[test]
fn tampering_is_rejected_without_plaintext() {
    let k = ring(6);
    let obj = put(
        &k,
        CommitmentPolicy::RequireEncryptRequireDecrypt,
        Placement::ObjectMetadata,
        b"attack at dawn",
    );
    let policy = DecryptPolicy::default();

    let mut flipped = Object {
        metadata: obj.metadata.clone(),
        instruction: None,
        body: obj.body.clone(),
    };
    flipped.body[3] ^= 1;
    assert!(matches!(
        get(&k, &flipped, &policy),
        Err(ClientError::Authentication)
    ));

    let mut tag = Object {
        metadata: obj.metadata.clone(),
        instruction: None,
        body: obj.body.clone(),
    };
    let last = tag.body.len() - 1;
    tag.body[last] ^= 0x80;
    assert!(matches!(
        get(&k, &tag, &policy),
        Err(ClientError::Authentication)
    ));

    // Wrong commitment: x-amz-d of another object.
    let other = put(
        &k,
        CommitmentPolicy::RequireEncryptRequireDecrypt,
        Placement::ObjectMetadata,
        b"other",
    );
    let d = other
        .metadata
        .iter()
        .find(|(k, _)| k == "x-amz-d")
        .unwrap()
        .1
        .clone();
    let mut md = obj.metadata.clone();
    for (key, v) in &mut md {
        if key == "x-amz-d" {
            *v = d.clone();
        }
    }
    let swapped = Object {
        metadata: md,
        instruction: None,
        body: obj.body.clone(),
    };
    assert!(matches!(
        get(&k, &swapped, &policy),
        Err(ClientError::Authentication)
    ));
}

#[test]
fn plaintext_object_is_an_error() {
    let md = vec![("content-type".to_string(), "text/plain".to_string())];
    assert_eq!(
        codec::needs_instruction_file(&md).unwrap(),
        EnvelopeLocation::InstructionFile { required: false }
    );
    let k = ring(7);
    assert!(matches!(
        codec::open_envelope(&k, &md, None, &DecryptPolicy::default(), None),
        Err(ClientError::Format(_))
    ));
}

#[test]
fn raw_keyring_refuses_per_request_context() {
    let k = ring(8);
    let ctx = Context::from([("tenant".to_string(), "a".to_string())]);
    let err = codec::seal(
        &k,
        CommitmentPolicy::RequireEncryptRequireDecrypt,
        &ctx,
        Placement::ObjectMetadata,
        None,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        ClientError::Keyring(KeyringError::ContextNotSupported)
    ));
}

//! The transport-free part of the client: turn object metadata (and an
//! instruction file) into a checked content key, and a keyring into a sealed
//! envelope. Every get and put goes through here; so does
//! `cargo xtask vectors check`.

use s3ec_core::cipher::content::{ContentEncryption, ContentKey, ContentParams};
use s3ec_core::cipher::gcm::GcmEncryptor;
use s3ec_core::envelope::{detect, Detected, Envelope, MetadataSink, Placement};
use s3ec_core::matdesc::{write_pairs_canonical, MatDesc};
use s3ec_core::DataKey;
use s3ec_core::{Arena, CommitmentPolicy, FormatVersion, MetaKey, Suite, WrapAlg};
use s3ec_keyring::{
    AsyncKeyring, Context, DecryptRequest, EncryptRequest, EncryptionMaterials, Keyring,
    LegacyOptions,
};

use crate::backend::Backend;
use crate::error::ClientError;

/// How objects are decrypted: the commitment policy and the legacy switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecryptPolicy {
    /// Which suites may be decrypted (default: committing only).
    pub commitment: CommitmentPolicy,
    /// Legacy wraps and unauthenticated modes (default: both off).
    pub legacy: LegacyOptions,
}

impl DecryptPolicy {
    /// The most permissive policy: every suite, every legacy mode. What the
    /// interop vector check uses.
    pub const PERMISSIVE: DecryptPolicy = DecryptPolicy {
        commitment: CommitmentPolicy::RequireEncryptAllowDecrypt,
        legacy: LegacyOptions::ALL,
    };
}

/// What [`needs_instruction_file`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeLocation {
    /// The whole envelope is in the object metadata.
    ObjectMetadata,
    /// Fetch the instruction file. `required` is true when the object is
    /// certainly encrypted (V3 split metadata); otherwise a missing
    /// instruction file means the object is not encrypted.
    InstructionFile {
        /// Whether a missing instruction file is an error rather than a
        /// plaintext object.
        required: bool,
    },
}

/// Decide from the object metadata whether the instruction file is needed.
pub fn needs_instruction_file(
    metadata: &[(String, String)],
) -> Result<EnvelopeLocation, ClientError> {
    let pairs = metadata.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    Ok(match detect(pairs)? {
        Detected::Complete(_) => EnvelopeLocation::ObjectMetadata,
        Detected::InstructionFile { v3_split } => {
            EnvelopeLocation::InstructionFile { required: v3_split }
        }
    })
}

/// A parsed envelope, owned: what head/inspect reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeInfo {
    /// Metadata format version.
    pub format: FormatVersion,
    /// Content suite.
    pub suite: Suite,
    /// Wrapping algorithm.
    pub wrap: WrapAlg,
    /// The content cipher string as stored.
    pub cek_alg: String,
    /// The material description or encryption context, decoded.
    pub context: Context,
    /// Whether the object commits to its data key (V3).
    pub key_committing: bool,
    /// Where the envelope was stored.
    pub placement: Placement,
    /// The plaintext length, when the writer recorded it.
    pub unencrypted_content_length: Option<u64>,
    /// The wrapped data key.
    pub encrypted_data_key: Vec<u8>,
    /// The master key that unwrapped the data key, when the keyring names
    /// it (KMS: the key ARN KMS answered with; see
    /// [`s3ec_keyring::Keyring::on_decrypt_reporting`]). Set by a get;
    /// `None` from [`inspect`] and head, which unwrap nothing.
    pub master_key_id: Option<String>,
}

/// An unwrapped, checked content key, with what was learned on the way.
#[derive(Debug)]
pub struct OpenedEnvelope {
    /// The content key (zeroized on drop).
    pub key: ContentKey,
    /// The envelope.
    pub info: EnvelopeInfo,
}

fn parse_with<T>(
    metadata: &[(String, String)],
    instruction_file: Option<&str>,
    f: impl FnOnce(&Envelope<'_>) -> Result<T, ClientError>,
) -> Result<T, ClientError> {
    // The arena holds values that need decoding (RFC 2047 words, JSON
    // escapes in the instruction file); their decoded forms are never longer
    // than the input.
    let total: usize = metadata
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum::<usize>()
        + instruction_file.map_or(0, str::len);
    let mut buf = vec![0u8; total + 64];
    let mut arena = Arena::new(&mut buf);
    let pairs = metadata.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let env = Envelope::parse(pairs, instruction_file, &mut arena)?;
    f(&env)
}

fn context_of(m: &MatDesc<'_>) -> Context {
    m.iter()
        .map(|(k, v)| (k.chars().collect(), v.chars().collect()))
        .collect()
}

fn info_of(env: &Envelope<'_>) -> EnvelopeInfo {
    EnvelopeInfo {
        format: env.format(),
        suite: env.suite(),
        wrap: env.wrap(),
        cek_alg: env.cek_alg().to_string(),
        context: context_of(&env.matdesc()),
        key_committing: env.suite().is_committing(),
        placement: env.placement(),
        unencrypted_content_length: env.unencrypted_content_length(),
        encrypted_data_key: env.encrypted_data_key().to_vec(),
        master_key_id: None,
    }
}

/// Parse the envelope without decrypting anything.
pub fn inspect(
    metadata: &[(String, String)],
    instruction_file: Option<&str>,
) -> Result<EnvelopeInfo, ClientError> {
    parse_with(metadata, instruction_file, |env| Ok(info_of(env)))
}

/// A parsed and policy-checked envelope waiting for its data key: the
/// first half of [`open_envelope`], owned, so that an async keyring can be
/// awaited between parsing and building the content key
/// ([`open_envelope_async`]).
#[derive(Debug)]
pub struct PendingOpen {
    info: EnvelopeInfo,
    iv: Vec<u8>,
    message_id: Option<[u8; s3ec_core::suite::MESSAGE_ID_LEN]>,
    commitment: Option<[u8; s3ec_core::suite::COMMITMENT_LEN]>,
    legacy: LegacyOptions,
}

impl PendingOpen {
    /// Parse the envelope and check it against the policy.
    ///
    /// The policy is checked before the keyring is asked (spec
    /// `decryption.md` §Key Commitment: the suite MUST be validated against
    /// the commitment policy before decrypting; Java does it before calling
    /// KMS).
    pub fn new(
        metadata: &[(String, String)],
        instruction_file: Option<&str>,
        policy: &DecryptPolicy,
    ) -> Result<PendingOpen, ClientError> {
        parse_with(metadata, instruction_file, |env| {
            let suite = env.suite();
            // spec: decryption.md#key-commitment/1-2 (policy checked before the keyring or any content)
            if !policy.commitment.allows_decrypt(suite) {
                return Err(ClientError::CommitmentPolicy {
                    suite,
                    policy: policy.commitment,
                });
            }
            // spec decryption.md, CBC: only when legacy unauthenticated
            // modes are enabled; otherwise the error MUST name the suite.
            // spec: decryption.md#legacy-decryption/1-2 decryption.md#cbc-decryption/1 client.md#enable-legacy-unauthenticated-modes/4 (CBC refused, by name, unless enabled)
            if suite == Suite::AesCbc && !policy.legacy.unauthenticated_modes {
                return Err(ClientError::LegacyCbcDisabled);
            }
            Ok(PendingOpen {
                info: info_of(env),
                iv: env.content_iv().to_vec(),
                message_id: env.message_id().copied(),
                commitment: env.key_commitment().copied(),
                legacy: policy.legacy,
            })
        })
    }

    /// The envelope.
    pub fn info(&self) -> &EnvelopeInfo {
        &self.info
    }

    /// What to ask the keyring.
    pub fn request<'a>(&'a self, expected_context: Option<&'a Context>) -> DecryptRequest<'a> {
        DecryptRequest {
            suite: self.info.suite,
            wrap: self.info.wrap,
            encrypted_key: &self.info.encrypted_data_key,
            cek_alg: &self.info.cek_alg,
            stored_map: &self.info.context,
            expected_context,
            legacy: self.legacy,
        }
    }

    /// [`finish`](Self::finish) with the keyring's report: the master key
    /// it names goes into [`EnvelopeInfo::master_key_id`].
    pub fn finish_reporting(
        mut self,
        unwrapped: Option<s3ec_keyring::UnwrappedKey>,
    ) -> Result<OpenedEnvelope, ClientError> {
        let data_key = unwrapped.map(|k| {
            self.info.master_key_id = k.key_id;
            k.data_key
        });
        self.finish(data_key)
    }

    /// Build the checked content key from what the keyring answered (for
    /// V3: after verifying the key commitment). `None` (no keyring could
    /// unwrap the key) is [`KeyringError::NoMatchingKeyring`].
    ///
    /// [`KeyringError::NoMatchingKeyring`]: s3ec_keyring::KeyringError::NoMatchingKeyring
    pub fn finish(self, data_key: Option<DataKey>) -> Result<OpenedEnvelope, ClientError> {
        let data_key = data_key.ok_or(ClientError::Keyring(
            s3ec_keyring::KeyringError::NoMatchingKeyring {
                wrap: self.info.wrap,
                material_description: self.info.context.clone(),
            },
        ))?;
        let key = ContentKey::for_decrypt(
            self.info.suite,
            &data_key,
            &self.iv,
            self.message_id.as_ref(),
            self.commitment.as_ref(),
        )
        .map_err(ClientError::from_content)?;
        Ok(OpenedEnvelope {
            key,
            info: self.info,
        })
    }
}

/// Parse the envelope, check it against the policy, unwrap the data key
/// with `keyring` and build the checked content key (for V3: after
/// verifying the key commitment).
///
/// The policy is checked before the keyring is asked (spec `decryption.md`:
/// the suite MUST be validated against the commitment policy before
/// decrypting; Java does it before calling KMS).
pub fn open_envelope(
    keyring: &dyn Keyring,
    metadata: &[(String, String)],
    instruction_file: Option<&str>,
    policy: &DecryptPolicy,
    expected_context: Option<&Context>,
) -> Result<OpenedEnvelope, ClientError> {
    let pending = PendingOpen::new(metadata, instruction_file, policy)?;
    let data_key = keyring.on_decrypt_reporting(&pending.request(expected_context))?;
    pending.finish_reporting(data_key)
}

/// [`open_envelope`] with an async keyring.
pub async fn open_envelope_async(
    keyring: &dyn AsyncKeyring,
    metadata: &[(String, String)],
    instruction_file: Option<&str>,
    policy: &DecryptPolicy,
    expected_context: Option<&Context>,
) -> Result<OpenedEnvelope, ClientError> {
    let pending = PendingOpen::new(metadata, instruction_file, policy)?;
    let data_key = {
        let req = pending.request(expected_context);
        keyring.on_decrypt_reporting(&req).await?
    };
    pending.finish_reporting(data_key)
}

/// Decrypt a whole body held in memory: GCM bodies are authenticated before
/// any byte is decrypted; CBC bodies (legacy) are checked for padding.
/// On error the buffer is cleared, so no unauthenticated plaintext escapes.
pub fn decrypt_body(key: &ContentKey, body: &mut Vec<u8>) -> Result<(), ClientError> {
    let result = match key.suite() {
        Suite::AesCbc => cbc_in_place(key, body),
        _ => key.open_in_place_with::<Backend>(body),
    };
    match result {
        Ok(n) => {
            body.truncate(n);
            Ok(())
        }
        Err(e) => {
            body.clear();
            Err(ClientError::from_content(e))
        }
    }
}

fn cbc_in_place(key: &ContentKey, body: &mut [u8]) -> Result<usize, s3ec_core::Error> {
    let mut dec = key.cbc_decryptor()?;
    let mut out = vec![0u8; body.len()];
    let n = dec.update(body, &mut out)?;
    let mut last = [0u8; 16];
    let m = dec.finish(&mut last)?;
    out.truncate(n);
    out.extend_from_slice(&last[..m]);
    body[..out.len()].copy_from_slice(&out);
    Ok(out.len())
}

/// A sealed envelope, ready to store, and the encryptor for the body.
#[derive(Debug)]
pub struct Sealed {
    /// The content encryptor: feed the body through `update`, then `finish`
    /// and append the tag.
    pub encryptor: GcmEncryptor<Backend>,
    /// User metadata entries for the object (keys without `x-amz-meta-`).
    pub object_metadata: Vec<(String, String)>,
    /// The instruction file body, when the envelope goes in one.
    pub instruction_file: Option<String>,
}

/// Make a fresh data key with `keyring`, set up the content cipher for the
/// policy's suite and write the envelope for `placement`.
///
/// `content_length`, when known, is recorded as
/// `x-amz-unencrypted-content-length`.
pub fn seal(
    keyring: &dyn Keyring,
    commitment: CommitmentPolicy,
    context: &Context,
    placement: Placement,
    content_length: Option<u64>,
) -> Result<Sealed, ClientError> {
    // spec: encryption.md#content-encryption/1
    let suite = commitment.encrypt_suite();
    let materials = keyring.on_encrypt(&EncryptRequest { suite, context })?;
    seal_with_materials(&materials, suite, placement, content_length)
}

/// [`seal`] with an async keyring.
pub async fn seal_async(
    keyring: &dyn AsyncKeyring,
    commitment: CommitmentPolicy,
    context: &Context,
    placement: Placement,
    content_length: Option<u64>,
) -> Result<Sealed, ClientError> {
    let suite = commitment.encrypt_suite();
    let req = EncryptRequest { suite, context };
    let materials = keyring.on_encrypt(&req).await?;
    seal_with_materials(&materials, suite, placement, content_length)
}

/// The keyring-free half of [`seal`]: the content cipher and the envelope
/// for materials a keyring made for `suite`.
pub fn seal_with_materials(
    materials: &EncryptionMaterials,
    suite: Suite,
    placement: Placement,
    content_length: Option<u64>,
) -> Result<Sealed, ClientError> {
    let mut rng = getrandom::SysRng;
    let (encryptor, params) =
        ContentEncryption::<Backend>::with_backend(suite, &materials.data_key, &mut rng)
            .map_err(ClientError::Format)?
            .into_parts();
    let mut json = String::new();
    write_pairs_canonical(
        materials
            .encrypted
            .stored_map
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
        &mut json,
    )
    .map_err(|_| ClientError::Format(s3ec_core::Error::LimitExceeded))?;
    let matdesc = MatDesc::parse(&json)?;
    let edk = &materials.encrypted.ciphertext;
    let wrap = materials.encrypted.wrap;
    let mut env = match &params {
        // spec: data-format/content-metadata.md#algorithm-suite-and-message-format-version-compatibility/1-2 (0x0072 as V2, 0x0073 as V3)
        ContentParams::Gcm { iv } => Envelope::new_v2(wrap, edk, iv, matdesc)?,
        ContentParams::Committing {
            message_id,
            commitment,
        } => Envelope::new_v3(wrap, edk, message_id, commitment, matdesc)?,
        _ => {
            return Err(ClientError::Format(s3ec_core::Error::Unsupported(
                s3ec_core::Unsupported::WrongSuite,
            )))
        }
    };
    if let Some(n) = content_length {
        env = env.with_unencrypted_content_length(n);
    }
    let mut object_metadata = Vec::new();
    let mut sink = |k: MetaKey, v: &str| -> Result<(), s3ec_core::Error> {
        object_metadata.push((k.as_str().to_string(), v.to_string()));
        Ok(())
    };
    env.write_object_metadata(placement, &mut sink as &mut dyn MetadataSink)?;
    let instruction_file = match placement {
        Placement::InstructionFile => {
            let mut s = String::with_capacity(env.instruction_file_len());
            env.write_instruction_file(&mut s)?;
            Some(s)
        }
        _ => None,
    };
    Ok(Sealed {
        encryptor,
        object_metadata,
        instruction_file,
    })
}

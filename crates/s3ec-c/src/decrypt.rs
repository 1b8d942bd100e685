//! Authenticated decryption: the whole object verified before any
//! plaintext is released.

use core::fmt;

use s3ec_core::cipher::{ContentKey, GcmVerifier, Verified};
use s3ec_core::envelope::Envelope;
use s3ec_core::json::{FlatObject, JsonStr};
use s3ec_core::{wrap, Arena, Suite, WrapAlg};

use crate::Status;

/// How many S3EC entries (`x-amz-*` names) a metadata map may hold.
const MAX_ENTRIES: usize = 32;
/// Room for metadata values that carry JSON escapes (decoded on the stack).
const VALUE_ARENA: usize = 4096;
/// Room for the envelope parser (RFC 2047 decoding of non-ASCII values).
const PARSE_ARENA: usize = 2048;
/// The GCM tag at the end of every body.
const TAG_LEN: usize = 16;

/// How a [`Decryptor`] treats what it reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecryptOptions {
    /// Also read V2 objects (no key commitment). Off by default: only V3
    /// (committing) objects are read, as AWS's clients do by default
    /// (`REQUIRE_ENCRYPT_REQUIRE_DECRYPT`).
    pub allow_non_committing: bool,
}

impl DecryptOptions {
    /// Options that also read V2 objects.
    pub fn allowing_non_committing() -> DecryptOptions {
        DecryptOptions {
            allow_non_committing: true,
        }
    }
}

// The state lives in a fixed-size buffer (no allocation): no boxing.
#[allow(clippy::large_enum_variant)]
enum Stage {
    Verifying {
        verifier: GcmVerifier,
        // The last bytes seen: the tag, once the body has ended.
        held: [u8; TAG_LEN],
        held_len: usize,
    },
    Verified(Verified),
    Failed,
}

/// One object's authenticated decryption, in two passes over the stored
/// object: [`Decryptor::verify_update`] with every byte of it (body and
/// tag, in any chunks), [`Decryptor::verify_finish`]; then
/// [`Decryptor::decrypt_at`] for any range of the body, which is refused
/// until the whole object was authenticated.
pub struct Decryptor {
    stage: Stage,
}

impl fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            Stage::Verifying { .. } => "verifying",
            Stage::Verified(_) => "verified",
            Stage::Failed => "failed",
        };
        f.debug_struct("Decryptor")
            .field("stage", &stage)
            .finish_non_exhaustive()
    }
}

fn decode<'b>(s: JsonStr<'b>, arena: &mut Arena<'b>) -> Result<&'b str, Status> {
    match s.as_plain() {
        Some(p) => Ok(p),
        None => Ok(s.decode(arena)?),
    }
}

/// `name` without a leading `x-amz-meta-` (any case).
fn strip_meta_prefix(name: &str) -> &str {
    const P: &str = "x-amz-meta-";
    match name.get(..P.len()) {
        Some(head) if head.eq_ignore_ascii_case(P) => &name[P.len()..],
        _ => name,
    }
}

impl Decryptor {
    /// Read the envelope and unwrap the data key with a provisioned AES key
    /// (`AES/GCM` wrap).
    ///
    /// * `metadata_json`: the object's user metadata, a flat JSON object of
    ///   strings, names with or without `x-amz-meta-` (other entries are
    ///   ignored).
    /// * `instruction_file`: the body of `KEY.instruction` when the envelope
    ///   is there ([`Status::InstructionFileRequired`] tells).
    ///
    /// # Errors
    ///
    /// [`Status::Json`], [`Status::Format`] for a malformed envelope;
    /// [`Status::CommitmentRequired`] for a V2 object unless allowed;
    /// [`Status::Unsupported`] for legacy objects and other wraps;
    /// [`Status::Authentication`] for a wrong key or a modified envelope.
    pub fn new_aes(
        kek: &[u8],
        metadata_json: &str,
        instruction_file: Option<&str>,
        options: DecryptOptions,
    ) -> Result<Decryptor, Status> {
        let object = FlatObject::parse_string_map(metadata_json)?;
        let mut values = [0u8; VALUE_ARENA];
        let mut arena = Arena::new(&mut values);
        let mut pairs = [("", ""); MAX_ENTRIES];
        let mut n = 0;
        for (k, v) in object.iter() {
            let name = strip_meta_prefix(decode(k, &mut arena)?);
            if !name
                .get(..6)
                .is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"))
            {
                continue;
            }
            let value = decode(v.as_str().ok_or(Status::Json)?, &mut arena)?;
            *pairs.get_mut(n).ok_or(Status::Format)? = (name, value);
            n += 1;
        }
        let mut parse = [0u8; PARSE_ARENA];
        let mut parse = Arena::new(&mut parse);
        let env = Envelope::parse(pairs[..n].iter().copied(), instruction_file, &mut parse)?;
        match env.suite() {
            Suite::AesGcmCommitting => {}
            Suite::AesGcm if options.allow_non_committing => {}
            Suite::AesGcm => return Err(Status::CommitmentRequired),
            _ => return Err(Status::Unsupported),
        }
        if env.wrap() != WrapAlg::AesGcm {
            return Err(Status::Unsupported);
        }
        let dk = wrap::aes_gcm::unwrap(kek, env.encrypted_data_key(), env.cek_alg())?;
        let key = ContentKey::for_decrypt(
            env.suite(),
            &dk,
            env.content_iv(),
            env.message_id(),
            env.key_commitment(),
        )?;
        Ok(Decryptor {
            stage: Stage::Verifying {
                verifier: key.verifier()?,
                held: [0; TAG_LEN],
                held_len: 0,
            },
        })
    }

    /// First pass: the next bytes of the stored object (body, then tag).
    ///
    /// # Errors
    ///
    /// [`Status::State`] after [`Decryptor::verify_finish`];
    /// [`Status::Limit`] for an object longer than GCM allows.
    pub fn verify_update(&mut self, data: &[u8]) -> Result<(), Status> {
        let Stage::Verifying {
            verifier,
            held,
            held_len,
        } = &mut self.stage
        else {
            return Err(Status::State);
        };
        let r = if data.len() >= TAG_LEN {
            let (body, tail) = data.split_at(data.len() - TAG_LEN);
            let r = verifier
                .update(&held[..*held_len])
                .and_then(|()| verifier.update(body));
            held.copy_from_slice(tail);
            *held_len = TAG_LEN;
            r
        } else {
            let spill = (*held_len + data.len()).saturating_sub(TAG_LEN);
            let r = verifier.update(&held[..spill]);
            held.copy_within(spill..*held_len, 0);
            *held_len -= spill;
            held[*held_len..*held_len + data.len()].copy_from_slice(data);
            *held_len += data.len();
            r
        };
        if r.is_err() {
            self.stage = Stage::Failed;
        }
        Ok(r?)
    }

    /// End of the first pass: check the key commitment's key against the
    /// whole object and its tag. Returns the plaintext length.
    ///
    /// # Errors
    ///
    /// [`Status::Authentication`] (nothing can be decrypted afterwards);
    /// [`Status::State`] when not verifying.
    pub fn verify_finish(&mut self) -> Result<u64, Status> {
        match core::mem::replace(&mut self.stage, Stage::Failed) {
            Stage::Verifying {
                verifier,
                held,
                held_len,
            } => {
                if held_len < TAG_LEN {
                    return Err(Status::Authentication);
                }
                let verified = verifier.verify(&held)?;
                let len = verified.len();
                self.stage = Stage::Verified(verified);
                Ok(len)
            }
            other => {
                self.stage = other;
                Err(Status::State)
            }
        }
    }

    /// Second pass: decrypt, in place, the body bytes at `offset` (as read
    /// again from the stored object; the same bytes as the first pass).
    ///
    /// # Errors
    ///
    /// [`Status::NotVerified`] unless [`Decryptor::verify_finish`]
    /// succeeded; [`Status::Limit`] for a range past the body.
    pub fn decrypt_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), Status> {
        match &self.stage {
            Stage::Verified(v) => Ok(v.decrypt_at(offset, buf)?),
            _ => Err(Status::NotVerified),
        }
    }

    /// Whether the whole object was authenticated.
    pub fn is_verified(&self) -> bool {
        matches!(self.stage, Stage::Verified(_))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Encryptor, EnvelopeOutput, Format, Placement};

    fn object(
        format: Format,
        len: usize,
    ) -> (std::vec::Vec<u8>, std::string::String, std::string::String) {
        let mut rng = getrandom::SysRng;
        let mut e = Encryptor::new_aes(&[9u8; 32], format, &mut rng).unwrap();
        let mut body: std::vec::Vec<u8> = (0..len).map(|i| i as u8).collect();
        e.update(&mut body).unwrap();
        body.extend_from_slice(&e.finish().unwrap());
        let mut out = [0u8; 2048];
        let n = e
            .write_envelope(
                EnvelopeOutput::MetadataJson,
                b"",
                Placement::InstructionFile,
                None,
                &mut out,
            )
            .unwrap();
        let meta = core::str::from_utf8(&out[..n]).unwrap().into();
        let n = e
            .write_envelope(
                EnvelopeOutput::InstructionFile,
                b"",
                Placement::InstructionFile,
                None,
                &mut out,
            )
            .unwrap();
        (body, meta, core::str::from_utf8(&out[..n]).unwrap().into())
    }

    #[test]
    fn any_chunking_then_decrypt_only_when_verified() {
        let (body, meta, instr) = object(Format::V3, 1000);
        for chunk in [1, 5, 15, 16, 17, 100, 2000] {
            let mut d =
                Decryptor::new_aes(&[9u8; 32], &meta, Some(&instr), DecryptOptions::default())
                    .unwrap();
            let mut buf = [0u8; 10];
            assert_eq!(d.decrypt_at(0, &mut buf), Err(Status::NotVerified));
            for c in body.chunks(chunk) {
                d.verify_update(c).unwrap();
            }
            assert_eq!(d.verify_finish().unwrap(), 1000);
            let mut pt = body[..1000].to_vec();
            d.decrypt_at(0, &mut pt[..500]).unwrap();
            d.decrypt_at(500, &mut pt[500..]).unwrap();
            assert!(pt.iter().enumerate().all(|(i, b)| *b == i as u8));
            assert_eq!(d.decrypt_at(990, &mut [0u8; 11]), Err(Status::Limit));
        }
    }

    #[test]
    fn refusals() {
        let (body, meta, instr) = object(Format::V3, 64);
        let k = [9u8; 32];
        let o = DecryptOptions::default();
        // Tampered body, truncated body: refused, nothing decrypts.
        for bad in [
            {
                let mut b = body.clone();
                b[3] ^= 1;
                b
            },
            body[..body.len() - 1].to_vec(),
            body[..5].to_vec(),
        ] {
            let mut d = Decryptor::new_aes(&k, &meta, Some(&instr), o).unwrap();
            d.verify_update(&bad).unwrap();
            assert_eq!(d.verify_finish(), Err(Status::Authentication));
            assert_eq!(d.decrypt_at(0, &mut [0u8; 1]), Err(Status::NotVerified));
            assert_eq!(d.verify_update(&bad), Err(Status::State));
        }
        // Wrong key, no instruction file, garbage.
        assert_eq!(
            Decryptor::new_aes(&[8u8; 32], &meta, Some(&instr), o).unwrap_err(),
            Status::Authentication
        );
        assert_eq!(
            Decryptor::new_aes(&k, &meta, None, o).unwrap_err(),
            Status::InstructionFileRequired
        );
        assert_eq!(
            Decryptor::new_aes(&k, "{", None, o).unwrap_err(),
            Status::Json
        );
        // No envelope: perhaps in an instruction file; not there either.
        assert_eq!(
            Decryptor::new_aes(&k, r#"{"color":"blue"}"#, None, o).unwrap_err(),
            Status::InstructionFileRequired
        );
        assert_eq!(
            Decryptor::new_aes(&k, "{}", Some("{}"), o).unwrap_err(),
            Status::Format
        );
        // V2 only when allowed.
        let (_, meta2, instr2) = object(Format::V2, 10);
        assert_eq!(
            Decryptor::new_aes(&k, &meta2, Some(&instr2), o).unwrap_err(),
            Status::CommitmentRequired
        );
        Decryptor::new_aes(
            &k,
            &meta2,
            Some(&instr2),
            DecryptOptions::allowing_non_committing(),
        )
        .unwrap();
    }
}

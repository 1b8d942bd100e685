//! The transport-free part of a get: which decrypt strategy an object gets,
//! the length checks, and the decrypt state machine that the blocking and
//! the async client both drive (`BodyDecoder`, `RangeDecoder`, crate-private).
//!
//! The state machine never writes anywhere itself: each ciphertext chunk
//! pushed in comes back as plaintext to write to the output, ciphertext to
//! write to the spool file, or nothing (buffered). That keeps the
//! "no plaintext before the tag" rule in one place for both clients.

use std::path::{Path, PathBuf};

use s3ec_core::cipher::{ContentKey, GcmVerifier, Verified};
use s3ec_core::danger::{self, RangePlan, UnverifiedDecryptor};
use s3ec_core::legacy::CbcDecryptor;
use s3ec_core::suite::TAG_LEN;
use s3ec_core::Suite;
use s3ec_keyring::Context;

use crate::backend::Backend;
use crate::codec::{EnvelopeInfo, EnvelopeLocation};
use crate::config::{ClientConfig, GetStrategy};
use crate::error::ClientError;
use crate::transport::{
    Access, ByteRange, ErrorKind, GetRequest, Metadata, ObjectHead, ObjectRequest, TransportError,
};

/// Where the instruction file of `key` is, if the object metadata says the
/// envelope is in one: its key and whether it is required (S3EC metadata
/// names it) or only possible (no S3EC metadata at all).
pub(crate) fn instruction_file_lookup(
    metadata: &Metadata,
    key: &str,
    suffix: &str,
) -> Result<Option<(String, bool)>, ClientError> {
    // A per-get suffix is checked like the client-wide one (an empty one
    // would read the object as its own instruction file).
    crate::config::check_instruction_file_suffix(suffix)?;
    Ok(match crate::codec::needs_instruction_file(metadata)? {
        EnvelopeLocation::ObjectMetadata => None,
        EnvelopeLocation::InstructionFile { required } => {
            Some((instruction_file_key(key, suffix), required))
        }
    })
}

/// The instruction-file suffix the .NET V1 client wrote (`key +
/// "INSTRUCTION_SUFFIX"`, no dot); .NET's V2 client looks there when
/// `<key>.instruction` is missing, and so does this one.
pub const DOTNET_V1_INSTRUCTION_FILE_SUFFIX: &str = "INSTRUCTION_SUFFIX";

/// Where to look next when the instruction file `<key><suffix>` is
/// missing: the .NET V1 name, but only when the default suffix was asked
/// for (a custom suffix is taken as the caller's exact choice) and only for
/// a V1/V2-era object (`required` false: no S3EC metadata on the object).
/// A V3 object (`required`: its split metadata names the instruction file)
/// was never written by .NET V1.
pub(crate) fn fallback_instruction_file_key(
    key: &str,
    suffix: &str,
    required: bool,
) -> Option<String> {
    (!required && suffix == s3ec_core::envelope::INSTRUCTION_FILE_SUFFIX)
        .then(|| instruction_file_key(key, DOTNET_V1_INSTRUCTION_FILE_SUFFIX))
}

/// The error for an instruction file S3 does not have: missing, if the
/// object's metadata named one; else the object is a plaintext object,
/// which is never passed through.
pub(crate) fn instruction_file_not_found(ikey: String, required: bool) -> ClientError {
    if required {
        ClientError::InstructionFileMissing { key: ikey }
    } else {
        ClientError::NotEncrypted
    }
}

/// Refuse an instruction file longer than [`MAX_INSTRUCTION_FILE`].
pub(crate) fn check_instruction_file_len(len: u64) -> Result<(), ClientError> {
    if len > MAX_INSTRUCTION_FILE {
        Err(ClientError::InstructionFileTooLarge {
            len,
            limit: MAX_INSTRUCTION_FILE,
        })
    } else {
        Ok(())
    }
}

/// The instruction-file suffix of a get: the per-get option, else the
/// client's.
pub(crate) fn suffix<'a>(opts: &'a GetOptions, config: &'a ClientConfig) -> &'a str {
    opts.instruction_file_suffix
        .as_deref()
        .unwrap_or(&config.instruction_file_suffix)
}

/// The ranged GET that continues a body from byte `from`, pinned to the
/// version `head` describes.
pub(crate) fn resume_request<'a>(
    target: &GetTarget<'a>,
    head: &'a ObjectHead,
    from: u64,
) -> Result<GetRequest<'a>, ClientError> {
    pinned_request(
        target,
        head,
        ByteRange {
            first: from,
            last: None,
        },
    )
}

/// The ranged GET of ciphertext bytes `first..=last`, pinned to the
/// version `head` described.
pub(crate) fn range_request<'a>(
    target: &GetTarget<'a>,
    head: &'a ObjectHead,
    first: u64,
    last: u64,
) -> Result<GetRequest<'a>, ClientError> {
    pinned_request(
        target,
        head,
        ByteRange {
            first,
            last: Some(last),
        },
    )
}

/// A GET of `range` that reads the version `head` described and nothing
/// else: by version id where the store has one, and `If-Match` with its
/// entity tag. A store that gave neither cannot be read by range.
fn pinned_request<'a>(
    target: &GetTarget<'a>,
    head: &'a ObjectHead,
    range: ByteRange,
) -> Result<GetRequest<'a>, ClientError> {
    let version_id = target.version_id.or(head.version_id.as_deref());
    if version_id.is_none() && head.etag.is_none() {
        return Err(ClientError::CannotPinVersion);
    }
    Ok(GetRequest {
        bucket: target.bucket,
        key: target.key,
        range: Some(range),
        if_match: head.etag.as_deref(),
        version_id,
        access: target.access,
    })
}

/// What a get reads: the object (a version of it) and how to ask.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GetTarget<'a> {
    pub(crate) bucket: &'a str,
    pub(crate) key: &'a str,
    pub(crate) version_id: Option<&'a str>,
    pub(crate) access: Access<'a>,
}

impl<'a> GetTarget<'a> {
    pub(crate) fn new(bucket: &'a str, key: &'a str, opts: &'a GetOptions) -> GetTarget<'a> {
        GetTarget {
            bucket,
            key,
            version_id: opts.version_id.as_deref(),
            access: Access {
                expected_bucket_owner: opts.expected_bucket_owner.as_deref(),
                request_payer: opts.request_payer,
            },
        }
    }

    /// The plain GET of the whole object.
    pub(crate) fn get(&self) -> GetRequest<'a> {
        GetRequest {
            bucket: self.bucket,
            key: self.key,
            version_id: self.version_id,
            access: self.access,
            ..GetRequest::default()
        }
    }

    /// The HEAD of the object.
    pub(crate) fn head(&self) -> ObjectRequest<'a> {
        ObjectRequest {
            bucket: self.bucket,
            key: self.key,
            version_id: self.version_id,
            access: self.access,
        }
    }

    /// The GET of another key (an instruction file) with the same access.
    pub(crate) fn get_other(&self, key: &'a str) -> GetRequest<'a> {
        GetRequest {
            bucket: self.bucket,
            key,
            access: self.access,
            ..GetRequest::default()
        }
    }
}

/// Check that a ranged answer covers exactly `first..=last` of `total`.
pub(crate) fn check_content_range(
    got: Option<(u64, u64, u64)>,
    first: u64,
    last: u64,
    total: u64,
) -> Result<(), ClientError> {
    if got == Some((first, last, total)) {
        Ok(())
    } else {
        Err(ClientError::RangeMismatch)
    }
}

/// A pinned GET that failed: a failed `If-Match` means the object changed.
pub(crate) fn pinned(e: TransportError) -> ClientError {
    if e.kind == ErrorKind::PreconditionFailed {
        ClientError::ObjectChanged
    } else {
        ClientError::Transport(e)
    }
}

/// What must hold before a ranged get (spec `decryption.md` §Ranged
/// Gets): the legacy unauthenticated modes switch, checked first.
pub(crate) fn check_ranged_gets_enabled(config: &ClientConfig) -> Result<(), ClientError> {
    if config.policy.legacy.unauthenticated_modes {
        Ok(())
    } else {
        Err(ClientError::RangedGetDisabled)
    }
}

/// A range resolved against the object: where it starts, the object's
/// plaintext length, and what to fetch (`None`: nothing, the range is
/// empty).
pub(crate) struct ResolvedRange {
    pub(crate) first: u64,
    pub(crate) len: u64,
    pub(crate) plan: Option<(RangePlan, u64)>,
}

/// The object may be read by range: GCM only, and a sane length. Resolves
/// `range` against the plaintext length and plans the ciphertext to fetch
/// (spec `decryption.md` §Ranged Gets: widened to whole blocks).
pub(crate) fn resolve_range(
    info: &EnvelopeInfo,
    body_len: u64,
    range: PlaintextRange,
) -> Result<ResolvedRange, ClientError> {
    if info.suite == Suite::AesCbc {
        return Err(ClientError::RangedGetUnsupported { suite: info.suite });
    }
    check_body_length(info, body_len)?;
    let len = body_len - TAG_LEN as u64;
    match range.resolve(len)? {
        None => Ok(ResolvedRange {
            first: 0,
            len,
            plan: None,
        }),
        Some((first, last)) => {
            let plan = danger::plan_range(first, Some(last), body_len)?;
            Ok(ResolvedRange {
                first,
                len,
                plan: Some((plan, len)),
            })
        }
    }
}

/// The output of a ranged get.
pub(crate) fn range_output(
    info: EnvelopeInfo,
    first: u64,
    len: u64,
    object_plaintext_len: u64,
    head: ObjectHead,
) -> RangeOutput {
    RangeOutput {
        info,
        first,
        len,
        object_plaintext_len,
        etag: head.etag.clone(),
        object: user_view(head),
    }
}

/// A temporary file in `path`'s folder (owner-only permissions), for a get
/// to a path.
pub(crate) fn temp_file_beside(path: &Path) -> Result<tempfile::NamedTempFile, ClientError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Ok(tempfile::Builder::new()
        .prefix(".s3ec-get-")
        .suffix(".part")
        .tempfile_in(dir)?)
}

/// Publish a verified download: sync the file, rename it to `path`, sync
/// the folder (so the rename survives a crash).
pub(crate) fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> Result<(), ClientError> {
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| ClientError::Io(e.error))?;
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// A one-pass get into a private temporary file that failed its tag: the
/// file is removed, so nothing was released.
pub(crate) fn unreleased(e: ClientError) -> ClientError {
    match e {
        ClientError::AuthenticationAfterRelease => ClientError::Authentication,
        e => e,
    }
}

/// A plaintext byte range, in the three forms of an HTTP `Range` header.
///
/// ```
/// use s3ec_client::PlaintextRange;
/// let r: PlaintextRange = "bytes=-100".parse()?;
/// assert_eq!(r, PlaintextRange::Suffix(100));
/// assert_eq!(r.resolve(1000)?, Some((900, 999)));
/// assert_eq!("bytes=10-".parse::<PlaintextRange>()?.resolve(20)?, Some((10, 19)));
/// assert_eq!(PlaintextRange::Bounded { first: 5, last: 500 }.resolve(20)?, Some((5, 19)));
/// # Ok::<(), s3ec_client::ClientError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaintextRange {
    /// `bytes=first-last` (inclusive; `last` past the end is clamped).
    Bounded {
        /// First byte.
        first: u64,
        /// Last byte, inclusive.
        last: u64,
    },
    /// `bytes=first-`: from `first` to the end.
    From(u64),
    /// `bytes=-n`: the last `n` bytes (all of them if the object is
    /// shorter).
    Suffix(u64),
}

impl PlaintextRange {
    /// The inclusive byte positions this range covers in an object of
    /// `len` plaintext bytes; `None` when it covers nothing that exists
    /// (a suffix or open range of an empty object). A range that starts
    /// past the end, or a zero-length suffix, is
    /// [`ClientError::InvalidRange`] (as S3 answers 416).
    pub fn resolve(self, len: u64) -> Result<Option<(u64, u64)>, ClientError> {
        let invalid = || ClientError::InvalidRange {
            range: self.to_string(),
            len,
        };
        match self {
            PlaintextRange::Bounded { first, last } => {
                if last < first || first >= len {
                    return Err(invalid());
                }
                Ok(Some((first, last.min(len - 1))))
            }
            PlaintextRange::From(first) => {
                if first == 0 && len == 0 {
                    Ok(None)
                } else if first >= len {
                    Err(invalid())
                } else {
                    Ok(Some((first, len - 1)))
                }
            }
            PlaintextRange::Suffix(0) => Err(invalid()),
            PlaintextRange::Suffix(n) => Ok((len > 0).then(|| (len.saturating_sub(n), len - 1))),
        }
    }
}

impl std::fmt::Display for PlaintextRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlaintextRange::Bounded { first, last } => write!(f, "bytes={first}-{last}"),
            PlaintextRange::From(first) => write!(f, "bytes={first}-"),
            PlaintextRange::Suffix(n) => write!(f, "bytes=-{n}"),
        }
    }
}

impl std::str::FromStr for PlaintextRange {
    type Err = ClientError;

    /// Parse `bytes=a-b`, `bytes=a-` or `bytes=-n` (one range; no lists).
    fn from_str(s: &str) -> Result<Self, ClientError> {
        let invalid = || ClientError::InvalidRange {
            range: s.to_string(),
            len: 0,
        };
        let spec = s.trim().strip_prefix("bytes=").ok_or_else(invalid)?;
        let (a, b) = spec.split_once('-').ok_or_else(invalid)?;
        let num = |t: &str| -> Result<u64, ClientError> {
            if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
                return Err(invalid());
            }
            t.parse().map_err(|_| invalid())
        };
        match (a.is_empty(), b.is_empty()) {
            (true, true) => Err(invalid()),
            (true, false) => Ok(PlaintextRange::Suffix(num(b)?)),
            (false, true) => Ok(PlaintextRange::From(num(a)?)),
            (false, false) => {
                let (first, last) = (num(a)?, num(b)?);
                if last < first {
                    return Err(invalid());
                }
                Ok(PlaintextRange::Bounded { first, last })
            }
        }
    }
}

/// The user's view of an object's headers: the envelope's metadata keys
/// taken out of the user metadata.
pub(crate) fn user_view(mut head: ObjectHead) -> ObjectHead {
    head.metadata
        .retain(|(k, _)| s3ec_core::keys::MetaKey::parse(k).is_none());
    head
}

/// Delete results of several keys: `Ok` when none failed.
pub(crate) fn delete_outcome(failed: Vec<(String, ClientError)>) -> Result<(), ClientError> {
    if failed.is_empty() {
        Ok(())
    } else {
        Err(ClientError::DeleteFailed(failed))
    }
}

/// The chunk size of streamed reads and writes: 64 KiB.
pub(crate) const CHUNK: usize = 64 * 1024;

/// The largest instruction file read: 1 MiB (a real one is a few KiB).
pub(crate) const MAX_INSTRUCTION_FILE: u64 = 1 << 20;

/// How many times a body that broke off mid-stream is resumed (a ranged
/// GET from the first missing byte, pinned with `If-Match`).
pub(crate) const MAX_RESUMES: u32 = 3;

/// How an object was decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptMode {
    /// Authenticated; the ciphertext was held in memory.
    Buffered,
    /// Authenticated; the ciphertext was spooled to a temporary file.
    Spooled,
    /// **Danger**: delayed authentication; plaintext was written before the
    /// tag was checked (it was checked at the end and passed).
    DelayedAuthentication,
    /// Legacy AES-CBC: **unauthenticated**; streamed, padding checked at
    /// the end.
    LegacyCbc,
}

/// What a get returns besides the plaintext written to the output.
#[derive(Debug, Clone)]
pub struct GetOutput {
    /// The object's envelope.
    pub info: EnvelopeInfo,
    /// Plaintext bytes written to the output.
    pub plaintext_len: u64,
    /// The object's entity tag (the version that was read).
    pub etag: Option<String>,
    /// How it was decrypted.
    pub mode: DecryptMode,
    /// What S3 said of the object: version id, content type, user
    /// metadata (the envelope's keys taken out), last modified, storage
    /// class, ... (`content_length` is the stored, encrypted length).
    pub object: ObjectHead,
}

/// What a ranged get returns besides the plaintext written to the output.
#[derive(Debug, Clone)]
pub struct RangeOutput {
    /// The object's envelope.
    pub info: EnvelopeInfo,
    /// The first plaintext byte written (the requested `first`).
    pub first: u64,
    /// Plaintext bytes written (the range clamped to the object's end).
    pub len: u64,
    /// The object's plaintext length.
    pub object_plaintext_len: u64,
    /// The object's entity tag (the version that was read).
    pub etag: Option<String>,
    /// What S3 said of the object (see [`GetOutput::object`]).
    pub object: ObjectHead,
}

/// What a head returns: the object's headers and how it is protected, with
/// nothing decrypted and no keyring asked.
#[derive(Debug, Clone)]
pub struct HeadOutput {
    /// The envelope's description (format, suite, wrap, material
    /// description or context, commitment, where it is stored).
    pub info: EnvelopeInfo,
    /// The plaintext length: recorded by the writer, or (GCM) the stored
    /// length less the tag; `None` for a CBC object that did not record it.
    pub plaintext_len: Option<u64>,
    /// What S3 said of the object (user metadata without the envelope's
    /// keys; `content_length` is the stored, encrypted length).
    pub object: ObjectHead,
}

/// The head's output from the object's headers and its envelope.
pub(crate) fn head_output(info: EnvelopeInfo, head: ObjectHead) -> HeadOutput {
    let plaintext_len = info.unencrypted_content_length.or_else(|| {
        (info.suite != Suite::AesCbc)
            .then(|| head.content_length.checked_sub(TAG_LEN as u64))
            .flatten()
    });
    HeadOutput {
        info,
        plaintext_len,
        object: user_view(head),
    }
}

/// Per-get settings.
#[derive(Debug, Clone, Default)]
pub struct GetOptions {
    /// The encryption context the object must have been written with (KMS
    /// keyrings compare it with the stored one; `None` means the empty
    /// context for `kms+context` objects).
    pub expected_context: Option<Context>,
    /// Read the envelope from `<key><suffix>` instead of the client's
    /// instruction-file suffix (spec `metadata-strategy.md`: a custom suffix
    /// SHOULD be supported on GetObject). Dot included.
    pub instruction_file_suffix: Option<String>,
    /// Read this version of the object (versioned buckets).
    pub version_id: Option<String>,
    /// The account id the bucket must belong to.
    pub expected_bucket_owner: Option<String>,
    /// Requester pays.
    pub request_payer: bool,
}

impl GetOptions {
    /// Set the expected encryption context.
    pub fn expected_context(mut self, context: Context) -> Self {
        self.expected_context = Some(context);
        self
    }

    /// Set the instruction-file suffix for this get.
    pub fn instruction_file_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.instruction_file_suffix = Some(suffix.into());
        self
    }

    /// Read a version of the object instead of the current one.
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }

    /// Require the bucket to belong to this account.
    pub fn expected_bucket_owner(mut self, account_id: impl Into<String>) -> Self {
        self.expected_bucket_owner = Some(account_id.into());
        self
    }

    /// Requester pays.
    pub fn request_payer(mut self, on: bool) -> Self {
        self.request_payer = on;
        self
    }
}

/// The instruction file's key.
pub(crate) fn instruction_file_key(key: &str, suffix: &str) -> String {
    let mut k = String::with_capacity(key.len() + suffix.len());
    k.push_str(key);
    k.push_str(suffix);
    k
}

/// Check the body length against the suite and the recorded plaintext
/// length, before anything is read (public for adapters that fetch the
/// body themselves, such as `s3ec-object-store`).
pub fn check_body_length(info: &EnvelopeInfo, body_len: u64) -> Result<(), ClientError> {
    let tag = TAG_LEN as u64;
    match info.suite {
        Suite::AesCbc => {
            if body_len == 0 || !body_len.is_multiple_of(16) {
                return Err(ClientError::InvalidBodyLength {
                    suite: info.suite,
                    len: body_len,
                });
            }
            if let Some(declared) = info.unencrypted_content_length {
                // PKCS#7 always adds 1..=16 bytes.
                if declared.checked_div(16).and_then(|b| b.checked_add(1)) != Some(body_len / 16) {
                    return Err(ClientError::DeclaredLengthMismatch {
                        declared,
                        body: body_len,
                    });
                }
            }
        }
        _ => {
            if body_len < tag {
                return Err(ClientError::InvalidBodyLength {
                    suite: info.suite,
                    len: body_len,
                });
            }
            if let Some(declared) = info.unencrypted_content_length {
                if declared.checked_add(tag) != Some(body_len) {
                    return Err(ClientError::DeclaredLengthMismatch {
                        declared,
                        body: body_len,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The decrypt strategy chosen for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Hold the whole body in memory.
    Buffer,
    /// Spool into a temporary file in this folder.
    Spool(PathBuf),
    /// Delayed authentication (danger opt-in).
    Delayed,
    /// Legacy CBC (streamed, unauthenticated).
    Cbc,
}

impl Plan {
    /// The mode reported to the caller.
    pub(crate) fn mode(&self) -> DecryptMode {
        match self {
            Plan::Buffer => DecryptMode::Buffered,
            Plan::Spool(_) => DecryptMode::Spooled,
            Plan::Delayed => DecryptMode::DelayedAuthentication,
            Plan::Cbc => DecryptMode::LegacyCbc,
        }
    }
}

/// Choose the strategy for an object of `suite` whose body is `body_len`
/// bytes.
pub(crate) fn plan(
    config: &ClientConfig,
    suite: Suite,
    body_len: u64,
    one_pass: bool,
) -> Result<Plan, ClientError> {
    if suite == Suite::AesCbc {
        // Gated by the legacy switch in codec::PendingOpen (spec
        // decryption.md §CBC Decryption).
        // spec: client.md#enable-legacy-unauthenticated-modes/3
        return Ok(Plan::Cbc);
    }
    // One pass into a private temporary file that is published only once
    // the tag verified (get to a path): decrypting as the body arrives
    // releases nothing, since nobody else can read that file and it is
    // removed on failure.
    // spec: client.md#enable-delayed-authentication/3 (otherwise buffered or spooled until the tag verifies)
    if config.delayed_authentication || one_pass {
        return Ok(Plan::Delayed);
    }
    let temp = |dir: &Option<PathBuf>| dir.clone().unwrap_or_else(std::env::temp_dir);
    Ok(match &config.get_strategy {
        GetStrategy::Buffer { max_bytes } => {
            if body_len > *max_bytes {
                return Err(ClientError::ObjectTooLarge {
                    len: body_len,
                    max: *max_bytes,
                });
            }
            Plan::Buffer
        }
        GetStrategy::Spool { dir } => Plan::Spool(temp(dir)),
        GetStrategy::Auto {
            buffer_up_to,
            spool_dir,
        } => {
            if body_len <= *buffer_up_to {
                Plan::Buffer
            } else {
                Plan::Spool(temp(spool_dir))
            }
        }
    })
}

/// Holds back the last 16 bytes seen (the tag candidate) and releases the
/// rest.
#[derive(Debug, Default)]
struct Tail {
    buf: [u8; TAG_LEN],
    len: usize,
}

impl Tail {
    /// Append to `out` every byte of `tail ++ chunk` except the last 16,
    /// which become the new tail.
    fn release(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let total = self.len + chunk.len();
        if total <= TAG_LEN {
            self.buf[self.len..total].copy_from_slice(chunk);
            self.len = total;
            return;
        }
        let release = total - TAG_LEN;
        let from_tail = release.min(self.len);
        out.extend_from_slice(&self.buf[..from_tail]);
        let from_chunk = release - from_tail;
        out.extend_from_slice(&chunk[..from_chunk]);
        let mut next = [0u8; TAG_LEN];
        let kept = self.len - from_tail;
        next[..kept].copy_from_slice(&self.buf[from_tail..self.len]);
        next[kept..].copy_from_slice(&chunk[from_chunk..]);
        self.buf = next;
        self.len = TAG_LEN;
    }

    fn tag(&self) -> Option<[u8; TAG_LEN]> {
        (self.len == TAG_LEN).then_some(self.buf)
    }
}

enum Mode {
    Buffer {
        body: Vec<u8>,
        key: ContentKey,
    },
    Spool(Box<GcmVerifier<Backend>>),
    Delayed(Box<UnverifiedDecryptor<Backend>>),
    /// Legacy CBC; the plaintext is held back until the padding checked
    /// when the body is small enough (`Some`), else streamed.
    Cbc(Box<CbcDecryptor>, Option<Vec<u8>>),
}

/// What a [`BodyDecoder::push`] left in the scratch buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing to write.
    Nothing,
    /// Plaintext for the output (delayed authentication, CBC).
    Plaintext,
    /// Ciphertext for the spool file.
    Ciphertext,
}

/// How a [`BodyDecoder`] finished.
pub(crate) enum Finished {
    /// The rest of the plaintext is in the scratch buffer (buffered: all of
    /// it; CBC: the last block; delayed: nothing).
    Plaintext,
    /// The spooled ciphertext is authentic: decrypt it with this token.
    Verified(Box<Verified<Backend>>),
}

/// The decrypt state machine of a whole-object get.
pub(crate) struct BodyDecoder {
    mode: Mode,
    tail: Tail,
    received: u64,
    expected: u64,
}

impl std::fmt::Debug for BodyDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyDecoder")
            .field("received", &self.received)
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl BodyDecoder {
    /// Start decrypting a body of `expected` bytes (checked with
    /// [`check_body_length`] and chosen by [`plan`]).
    pub(crate) fn new(plan: &Plan, key: ContentKey, expected: u64) -> Result<Self, ClientError> {
        let mode = match plan {
            Plan::Buffer => {
                // plan() bounded `expected` by the buffer limit; the
                // capacity is a hint only.
                let cap = usize::try_from(expected).unwrap_or(0).min(64 << 20);
                Mode::Buffer {
                    body: Vec::with_capacity(cap),
                    key,
                }
            }
            Plan::Spool(_) => Mode::Spool(Box::new(
                key.verifier_with::<Backend>()
                    .map_err(ClientError::from_content)?,
            )),
            Plan::Delayed => Mode::Delayed(Box::new(
                UnverifiedDecryptor::<Backend>::with_backend_from_key(&key)
                    .map_err(ClientError::from_content)?,
            )),
            // Small CBC bodies are held until the padding checked, so a
            // wrong key (or the garbage key of an implicit rejection)
            // releases nothing; larger ones stream (legacy,
            // unauthenticated either way).
            Plan::Cbc => Mode::Cbc(
                Box::new(key.cbc_decryptor().map_err(ClientError::from_content)?),
                (expected <= crate::config::DEFAULT_BUFFER_UP_TO)
                    .then(|| Vec::with_capacity(usize::try_from(expected).unwrap_or(0))),
            ),
        };
        Ok(BodyDecoder {
            mode,
            tail: Tail::default(),
            received: 0,
            expected,
        })
    }

    /// Ciphertext bytes received so far (where a resumed GET starts).
    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    /// The body length announced by S3.
    pub(crate) fn expected(&self) -> u64 {
        self.expected
    }

    /// Feed the next ciphertext chunk. `scratch` is cleared and then holds
    /// what [`Step`] says.
    pub(crate) fn push(
        &mut self,
        chunk: &[u8],
        scratch: &mut Vec<u8>,
    ) -> Result<Step, ClientError> {
        scratch.clear();
        let received = self
            .received
            .checked_add(chunk.len() as u64)
            .filter(|&r| r <= self.expected)
            .ok_or(ClientError::UnexpectedBodyLength {
                expected: self.expected,
                received: self.received.saturating_add(chunk.len() as u64),
            })?;
        self.received = received;
        match &mut self.mode {
            Mode::Buffer { body, .. } => {
                body.extend_from_slice(chunk);
                Ok(Step::Nothing)
            }
            Mode::Spool(verifier) => {
                self.tail.release(chunk, scratch);
                verifier
                    .update(scratch)
                    .map_err(ClientError::from_content)?;
                Ok(Step::Ciphertext)
            }
            Mode::Delayed(dec) => {
                self.tail.release(chunk, scratch);
                // UNAUTHENTICATED plaintext (danger opt-in).
                dec.update(scratch).map_err(ClientError::from_content)?;
                Ok(Step::Plaintext)
            }
            Mode::Cbc(dec, held) => {
                scratch.resize(chunk.len() + 16, 0);
                let n = dec
                    .update(chunk, scratch)
                    .map_err(ClientError::from_content)?;
                scratch.truncate(n);
                match held {
                    Some(h) => {
                        h.extend_from_slice(scratch);
                        scratch.clear();
                        Ok(Step::Nothing)
                    }
                    None => Ok(Step::Plaintext),
                }
            }
        }
    }

    /// The body ended: check its length and the tag (or padding).
    pub(crate) fn finish(self, scratch: &mut Vec<u8>) -> Result<Finished, ClientError> {
        scratch.clear();
        if self.received != self.expected {
            return Err(ClientError::UnexpectedBodyLength {
                expected: self.expected,
                received: self.received,
            });
        }
        match self.mode {
            Mode::Buffer { mut body, key } => {
                crate::codec::decrypt_body(&key, &mut body)?;
                *scratch = body;
                Ok(Finished::Plaintext)
            }
            Mode::Spool(verifier) => {
                let tag = self.tail.tag().ok_or(ClientError::InvalidBodyLength {
                    suite: Suite::AesGcm,
                    len: self.received,
                })?;
                let verified = verifier.verify(&tag).map_err(ClientError::from_content)?;
                Ok(Finished::Verified(Box::new(verified)))
            }
            Mode::Delayed(dec) => {
                let tag = self
                    .tail
                    .tag()
                    .ok_or(ClientError::AuthenticationAfterRelease)?;
                dec.finish(&tag)
                    .map_err(|_| ClientError::AuthenticationAfterRelease)?;
                Ok(Finished::Plaintext)
            }
            Mode::Cbc(dec, held) => {
                let mut last = [0u8; 16];
                let released = held.is_none();
                let n = dec.finish(&mut last).map_err(|_| {
                    if released {
                        ClientError::AuthenticationAfterRelease
                    } else {
                        ClientError::Authentication
                    }
                })?;
                if let Some(h) = held {
                    *scratch = h;
                }
                scratch.extend_from_slice(&last[..n]);
                Ok(Finished::Plaintext)
            }
        }
    }
}

/// The decrypt state machine of a ranged get (**unauthenticated**, behind
/// the legacy unauthenticated modes switch): AES-CTR over the fetched,
/// block-aligned ciphertext, cut to the requested window.
pub(crate) struct RangeDecoder {
    key: ContentKey,
    /// Ciphertext offset of the next byte pushed.
    offset: u64,
    /// Leading plaintext bytes still to drop.
    skip: u64,
    /// Plaintext bytes still to write.
    remaining: u64,
    /// Ciphertext bytes still expected.
    to_receive: u64,
}

impl std::fmt::Debug for RangeDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeDecoder")
            .field("offset", &self.offset)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl RangeDecoder {
    /// Start decrypting the ciphertext range of `plan`.
    pub(crate) fn new(key: ContentKey, plan: &RangePlan) -> RangeDecoder {
        RangeDecoder {
            key,
            offset: plan.fetch_first,
            skip: plan.skip,
            remaining: plan.len,
            to_receive: plan.fetch_last - plan.fetch_first + 1,
        }
    }

    /// Ciphertext offset of the next byte expected.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether every expected byte arrived.
    pub(crate) fn is_done(&self) -> bool {
        self.to_receive == 0
    }

    /// Decrypt the next fetched chunk; `scratch` then holds the plaintext to
    /// write (possibly empty).
    pub(crate) fn push(&mut self, chunk: &[u8], scratch: &mut Vec<u8>) -> Result<(), ClientError> {
        scratch.clear();
        let n = chunk.len() as u64;
        if n > self.to_receive {
            return Err(ClientError::RangeMismatch);
        }
        scratch.extend_from_slice(chunk);
        danger::decrypt_range_with_key_with::<Backend>(&self.key, self.offset, scratch)
            .map_err(ClientError::from_content)?;
        self.offset += n;
        self.to_receive -= n;
        let drop = self.skip.min(n);
        self.skip -= drop;
        let keep = (n - drop).min(self.remaining);
        self.remaining -= keep;
        // drop + keep <= n = scratch.len(), both fit usize.
        scratch.truncate((drop + keep) as usize);
        scratch.drain(..drop as usize);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tail_releases_all_but_sixteen() {
        for split in [1usize, 3, 15, 16, 17, 40] {
            let data: Vec<u8> = (0..100u8).collect();
            let mut t = Tail::default();
            let mut out = Vec::new();
            for c in data.chunks(split) {
                t.release(c, &mut out);
            }
            assert_eq!(out, &data[..84]);
            assert_eq!(t.tag().unwrap(), data[84..]);
        }
        let mut t = Tail::default();
        let mut out = Vec::new();
        t.release(&[1; 15], &mut out);
        assert!(out.is_empty() && t.tag().is_none());
    }
}

//! [`S3ecStore`]: the encrypting [`ObjectStore`].

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, CopyOptions, GetOptions, GetRange, GetResult,
    GetResultPayload, ListResult, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};
use s3ec_client::codec::{self, DecryptPolicy, EnvelopeLocation};
use s3ec_client::ClientError;
use s3ec_core::envelope::{Placement, INSTRUCTION_FILE_MARKER, INSTRUCTION_FILE_SUFFIX};
use s3ec_core::suite::TAG_LEN;
use s3ec_core::{CommitmentPolicy, MetaKey, Suite};
use s3ec_keyring::{AsyncKeyring, Context, Keyring, LegacyOptions, Local};

use crate::cache::{Cache, VerifiedObject};
use crate::error::{os_err, Error};
use crate::upload::EncryptingUpload;

/// Where the adapter stores the envelope (wrapped data key, IV, ...) of the
/// objects it writes. Reads find the envelope wherever it is, whatever this
/// says.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnvelopeStorage {
    /// In the object's user metadata ([`Attribute::Metadata`]): S3 user
    /// metadata over `AmazonS3`, kept by `InMemory`. The S3EC default
    /// (spec `metadata-strategy.md`), readable by AWS's clients.
    #[default]
    ObjectAttributes,
    /// In an S3EC instruction file, `<path>.instruction`, as AWS's clients
    /// write it (V3: the data-key part in the file, the content-cipher
    /// part still in the object's metadata). Needs a store that keeps
    /// attributes.
    InstructionFile,
    /// For stores that keep no metadata (`LocalFileSystem`): the whole
    /// envelope, as the object metadata would hold it, in a JSON map in
    /// `<path>.instruction`. A sidecar of a V2 object is a valid S3EC
    /// instruction file; a V3 one is this adapter's own format (S3EC V3
    /// instruction files leave part of the envelope in object metadata).
    SidecarFile,
}

/// How ranged reads (`get_range`, `get_ranges`, `GetOptions::range`) are
/// served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangedReads {
    Authenticated,
    /// danger: CTR-decrypted ciphertext ranges, never authenticated.
    Unauthenticated,
}

/// The settings, shared with multipart uploads.
pub(crate) struct Shared {
    pub(crate) inner: Arc<dyn ObjectStore>,
    keyring: Arc<dyn AsyncKeyring>,
    policy: DecryptPolicy,
    storage: EnvelopeStorage,
    context: Context,
    expected_context: Option<Context>,
    max_object_size: u64,
    revalidate: bool,
    ranged: RangedReads,
    pub(crate) cache: Cache,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3ecStore")
            .field("inner", &self.inner)
            .field("keyring", &self.keyring)
            .field("policy", &self.policy)
            .field("storage", &self.storage)
            .field("max_object_size", &self.max_object_size)
            .field("revalidate", &self.revalidate)
            .field("ranged", &self.ranged)
            .finish_non_exhaustive()
    }
}

/// An instruction or sidecar file to write after the object.
#[derive(Debug)]
pub(crate) struct SideFile {
    text: String,
    attributes: Attributes,
}

/// An [`ObjectStore`] that encrypts everything written through it and
/// decrypts (and authenticates) everything read, with the S3 Encryption
/// Client format, over any inner store.
///
/// Build one with [`S3ecStore::builder`]. See the [crate documentation](crate)
/// for what each operation does.
///
/// ```
/// use std::sync::Arc;
/// use object_store::{memory::InMemory, path::Path, ObjectStoreExt};
/// use s3ec_object_store::S3ecStore;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let inner = Arc::new(InMemory::new());
/// let keyring = s3ec_local::AesKeyring::new(&[7u8; 32]).unwrap();
/// let store = S3ecStore::builder(inner.clone())
///     .blocking_keyring(keyring)
///     .build()
///     .unwrap();
///
/// let path = Path::from("data/hello.txt");
/// store.put(&path, "hello".into()).await.unwrap();
/// let back = store.get(&path).await.unwrap().bytes().await.unwrap();
/// assert_eq!(back, "hello");
/// // The inner store holds ciphertext and a 16-byte tag.
/// let raw = inner.get(&path).await.unwrap().bytes().await.unwrap();
/// assert_eq!(raw.len(), 5 + 16);
/// assert_ne!(&raw[..5], b"hello");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct S3ecStore {
    shared: Arc<Shared>,
}

/// Builds an [`S3ecStore`]; see [`S3ecStore::builder`].
#[derive(Debug)]
pub struct Builder {
    inner: Arc<dyn ObjectStore>,
    keyring: Option<Arc<dyn AsyncKeyring>>,
    policy: DecryptPolicy,
    storage: EnvelopeStorage,
    context: Context,
    expected_context: Option<Context>,
    max_object_size: u64,
    cache_bytes: u64,
    revalidate: bool,
    unauthenticated_ranges: bool,
}

/// Default of [`Builder::max_object_size`]: 1 GiB.
pub const DEFAULT_MAX_OBJECT_SIZE: u64 = 1 << 30;
/// Default of [`Builder::range_cache_bytes`]: 256 MiB.
pub const DEFAULT_RANGE_CACHE_BYTES: u64 = 256 << 20;

impl S3ecStore {
    /// Start configuring an adapter over `inner`. A keyring is required
    /// ([`Builder::keyring`] or [`Builder::blocking_keyring`]).
    pub fn builder(inner: Arc<dyn ObjectStore>) -> Builder {
        Builder {
            inner,
            keyring: None,
            policy: DecryptPolicy::default(),
            storage: EnvelopeStorage::default(),
            context: Context::new(),
            expected_context: None,
            max_object_size: DEFAULT_MAX_OBJECT_SIZE,
            cache_bytes: DEFAULT_RANGE_CACHE_BYTES,
            revalidate: true,
            unauthenticated_ranges: false,
        }
    }

    /// The inner store (which holds ciphertext).
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.shared.inner
    }

    /// Plaintext bytes and objects held by the cache of verified objects
    /// that serves authenticated ranged reads.
    pub fn range_cache_usage(&self) -> (u64, usize) {
        (self.shared.cache.bytes(), self.shared.cache.len())
    }
}

impl Builder {
    /// The keyring that wraps and unwraps data keys (an async one, such as
    /// `s3ec_kms::KmsKeyring`).
    pub fn keyring(mut self, keyring: impl AsyncKeyring + 'static) -> Builder {
        self.keyring = Some(Arc::new(keyring));
        self
    }

    /// A blocking keyring that does no I/O (`s3ec_local`'s raw AES and RSA
    /// keyrings, [`s3ec_keyring::Keyrings`]).
    pub fn blocking_keyring(mut self, keyring: impl Keyring + 'static) -> Builder {
        self.keyring = Some(Arc::new(Local(keyring)));
        self
    }

    /// The commitment policy (default `RequireEncryptRequireDecrypt`: V3,
    /// key-committing, on write; only V3 read).
    pub fn commitment_policy(mut self, policy: CommitmentPolicy) -> Builder {
        self.policy.commitment = policy;
        self
    }

    /// The legacy switches (default: both off): legacy wrapping algorithms,
    /// and legacy unauthenticated content (AES-CBC objects).
    pub fn legacy(mut self, legacy: LegacyOptions) -> Builder {
        self.policy.legacy = legacy;
        self
    }

    /// Where the envelope of written objects goes (default
    /// [`EnvelopeStorage::ObjectAttributes`]; use
    /// [`EnvelopeStorage::SidecarFile`] over `LocalFileSystem`).
    pub fn envelope_storage(mut self, storage: EnvelopeStorage) -> Builder {
        self.storage = storage;
        self
    }

    /// The encryption context of every object written (KMS keyrings bind
    /// it into the wrapped key; raw-key keyrings refuse a non-empty one).
    pub fn encryption_context(mut self, context: Context) -> Builder {
        self.context = context;
        self
    }

    /// The encryption context objects read must have been written with
    /// (KMS keyrings check it; default: none expected).
    pub fn expected_context(mut self, context: Context) -> Builder {
        self.expected_context = Some(context);
        self
    }

    /// The largest object decrypted (held in memory: the GCM tag must be
    /// checked before any plaintext is returned). Default 1 GiB.
    pub fn max_object_size(mut self, bytes: u64) -> Builder {
        self.max_object_size = bytes;
        self
    }

    /// The plaintext bytes the cache of verified objects may hold (default
    /// 256 MiB; 0 turns the cache off, and every ranged read then fetches
    /// and verifies the whole object).
    pub fn range_cache_bytes(mut self, bytes: u64) -> Builder {
        self.cache_bytes = bytes;
        self
    }

    /// Whether a ranged read served from the cache first checks, with a
    /// HEAD of the inner store, that the object is still the one cached
    /// (same entity tag, size and version). Default on. Turn it off only
    /// for data that is never overwritten in place (Parquet files of a
    /// table are written once): a read then costs no request at all, but an
    /// object replaced by another writer is served from the cache until it
    /// is evicted. Reads with conditions (`if_match`, a version, ...) are
    /// always checked.
    pub fn revalidate_cached_objects(mut self, on: bool) -> Builder {
        self.revalidate = on;
        self
    }

    /// **Danger.** Serve ranged reads by fetching and CTR-decrypting only
    /// the ciphertext blocks of the range, **without authenticating
    /// them**: whoever can write to the inner store can change the
    /// plaintext returned undetected. Needs the legacy unauthenticated
    /// modes switch too ([`Builder::legacy`]; spec `decryption.md`
    /// §Ranged Gets), or [`Builder::build`] fails.
    pub fn danger_unauthenticated_ranged_reads(mut self, on: bool) -> Builder {
        self.unauthenticated_ranges = on;
        self
    }

    /// Check the configuration and build the store.
    pub fn build(self) -> Result<S3ecStore, Error> {
        let keyring = self.keyring.ok_or(Error::Config("a keyring is required"))?;
        if self.unauthenticated_ranges && !self.policy.legacy.unauthenticated_modes {
            return Err(Error::Config(
                "unauthenticated ranged reads need the legacy unauthenticated modes switch",
            ));
        }
        Ok(S3ecStore {
            shared: Arc::new(Shared {
                inner: self.inner,
                keyring,
                policy: self.policy,
                storage: self.storage,
                context: self.context,
                expected_context: self.expected_context,
                max_object_size: self.max_object_size,
                revalidate: self.revalidate,
                ranged: if self.unauthenticated_ranges {
                    RangedReads::Unauthenticated
                } else {
                    RangedReads::Authenticated
                },
                cache: Cache::new(self.cache_bytes),
            }),
        })
    }
}

/// The largest instruction or sidecar file read: 1 MiB.
const MAX_SIDE_FILE: u64 = 1 << 20;

/// Whether `key` is a metadata key of the S3EC envelope.
fn is_envelope_key(key: &str) -> bool {
    MetaKey::ALL
        .iter()
        .any(|m| m.as_str().eq_ignore_ascii_case(key))
}

/// Whether `path` is an instruction (or sidecar) file, hidden from
/// listings.
pub fn is_instruction_file(path: &Path) -> bool {
    path.as_ref().ends_with(INSTRUCTION_FILE_SUFFIX)
}

/// The instruction (or sidecar) file of `path`.
pub fn instruction_file_path(path: &Path) -> object_store::Result<Path> {
    Ok(Path::parse(format!(
        "{}{}",
        path.as_ref(),
        INSTRUCTION_FILE_SUFFIX
    ))?)
}

/// The user metadata in `attrs`, keys in lower case (S3 returns them so).
fn metadata_of(attrs: &Attributes) -> Vec<(String, String)> {
    attrs
        .iter()
        .filter_map(|(k, v)| match k {
            Attribute::Metadata(name) => Some((name.to_ascii_lowercase(), v.as_ref().to_string())),
            _ => None,
        })
        .collect()
}

/// `attrs` without the envelope: what the caller sees.
fn visible_attributes(attrs: &Attributes) -> Attributes {
    attrs
        .iter()
        .filter(|(k, _)| !matches!(k, Attribute::Metadata(n) if is_envelope_key(n)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The caller's attributes plus the envelope's metadata entries; an
/// envelope key among the caller's is refused.
fn with_envelope(user: &Attributes, envelope: &[(String, String)]) -> Result<Attributes, Error> {
    let mut attrs = Attributes::with_capacity(user.len() + envelope.len());
    for (k, v) in user.iter() {
        if let Attribute::Metadata(n) = k {
            if is_envelope_key(n) {
                return Err(Error::ReservedMetadata { key: n.to_string() });
            }
        }
        attrs.insert(k.clone(), v.clone());
    }
    for (k, v) in envelope {
        attrs.insert(
            Attribute::Metadata(k.clone().into()),
            AttributeValue::from(v.clone()),
        );
    }
    Ok(attrs)
}

/// The pairs of a sidecar file (a flat JSON map of strings), if it is one.
fn sidecar_pairs(text: &str) -> Option<Vec<(String, String)>> {
    let obj = s3ec_core::json::FlatObject::parse_string_map(text).ok()?;
    obj.iter()
        .map(|(k, v)| {
            let v = v.as_str()?;
            Some((k.chars().collect(), v.chars().collect()))
        })
        .collect()
}

/// The canonical JSON map of `pairs` (a sidecar file).
fn sidecar_text(pairs: &[(String, String)]) -> Result<String, Error> {
    let mut s = String::new();
    s3ec_core::matdesc::write_pairs_canonical(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &mut s,
    )
    .map_err(|_| Error::Client(ClientError::Format(s3ec_core::Error::LimitExceeded)))?;
    Ok(s)
}

/// An envelope as found: object metadata and, maybe, an instruction file.
struct FoundEnvelope {
    metadata: Vec<(String, String)>,
    instruction_file: Option<String>,
}

fn not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

/// One plaintext chunk as a [`GetResult`].
fn result_of(
    meta: ObjectMeta,
    range: Range<u64>,
    attributes: Attributes,
    body: Bytes,
) -> GetResult {
    GetResult {
        payload: GetResultPayload::Stream(futures::stream::once(async move { Ok(body) }).boxed()),
        meta,
        range,
        attributes,
        extensions: Default::default(),
    }
}

fn range_err(e: impl std::error::Error + Send + Sync + 'static) -> object_store::Error {
    object_store::Error::Generic {
        store: crate::error::STORE,
        source: Box::new(e),
    }
}

/// Whether `o` carries conditions that only the inner store can evaluate.
fn has_conditions(o: &GetOptions) -> bool {
    o.if_match.is_some()
        || o.if_none_match.is_some()
        || o.if_modified_since.is_some()
        || o.if_unmodified_since.is_some()
        || o.version.is_some()
}

/// `o`'s conditions and version, for a HEAD or a whole-object GET.
fn conditions_of(o: &GetOptions, head: bool) -> GetOptions {
    GetOptions {
        if_match: o.if_match.clone(),
        if_none_match: o.if_none_match.clone(),
        if_modified_since: o.if_modified_since,
        if_unmodified_since: o.if_unmodified_since,
        version: o.version.clone(),
        head,
        range: None,
        extensions: o.extensions.clone(),
    }
}

impl Shared {
    /// Find the envelope of the object at `location` whose attributes are
    /// `attrs`: in the attributes, else in `<location>.instruction`.
    async fn find_envelope(
        &self,
        location: &Path,
        attrs: &Attributes,
    ) -> object_store::Result<FoundEnvelope> {
        let metadata = metadata_of(attrs);
        let required = match codec::needs_instruction_file(&metadata).map_err(os_err)? {
            EnvelopeLocation::ObjectMetadata => {
                return Ok(FoundEnvelope {
                    metadata,
                    instruction_file: None,
                })
            }
            EnvelopeLocation::InstructionFile { required } => required,
        };
        let ipath = instruction_file_path(location)?;
        let text = match self.inner.get(&ipath).await {
            Ok(r) => {
                if r.meta.size > MAX_SIDE_FILE {
                    return Err(os_err(Error::BadInstructionFile {
                        path: ipath.to_string(),
                    }));
                }
                let bytes = r.bytes().await?;
                String::from_utf8(bytes.to_vec()).map_err(|_| {
                    os_err(Error::BadInstructionFile {
                        path: ipath.to_string(),
                    })
                })?
            }
            Err(e) if not_found(&e) => {
                return Err(os_err(if required {
                    ClientError::InstructionFileMissing {
                        key: ipath.to_string(),
                    }
                } else {
                    ClientError::NotEncrypted
                }))
            }
            Err(e) => return Err(e),
        };
        // A sidecar (EnvelopeStorage::SidecarFile): the whole envelope, for
        // an object without envelope metadata.
        if !metadata.iter().any(|(k, _)| is_envelope_key(k)) {
            if let Some(pairs) = sidecar_pairs(&text) {
                if matches!(
                    codec::needs_instruction_file(&pairs),
                    Ok(EnvelopeLocation::ObjectMetadata)
                ) {
                    return Ok(FoundEnvelope {
                        metadata: pairs,
                        instruction_file: None,
                    });
                }
            }
        }
        Ok(FoundEnvelope {
            metadata,
            instruction_file: Some(text),
        })
    }

    /// The plaintext length of an object whose ciphertext is `size` bytes,
    /// from its envelope alone; `None` for legacy CBC without a recorded
    /// length (the padding says).
    fn plaintext_len(&self, env: &FoundEnvelope, size: u64) -> object_store::Result<Option<u64>> {
        let info =
            codec::inspect(&env.metadata, env.instruction_file.as_deref()).map_err(os_err)?;
        s3ec_client::get::check_body_length(&info, size).map_err(os_err)?;
        Ok(match (info.suite, info.unencrypted_content_length) {
            (_, Some(n)) => Some(n),
            (Suite::AesCbc, None) => None,
            _ => Some(size - TAG_LEN as u64),
        })
    }

    /// Fetch the whole object, unwrap its key, check the GCM tag and
    /// decrypt. Nothing is returned unless all of it is authentic.
    async fn fetch_verified(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<VerifiedObject> {
        let res = self.inner.get_opts(location, options).await?;
        let cipher_meta = res.meta.clone();
        let attrs = res.attributes.clone();
        if cipher_meta.size > self.max_object_size {
            return Err(os_err(Error::ObjectTooLarge {
                len: cipher_meta.size,
                max: self.max_object_size,
            }));
        }
        let env = self.find_envelope(location, &attrs).await?;
        let opened = codec::open_envelope_async(
            self.keyring.as_ref(),
            &env.metadata,
            env.instruction_file.as_deref(),
            &self.policy,
            self.expected_context.as_ref(),
        )
        .await
        .map_err(os_err)?;
        s3ec_client::get::check_body_length(&opened.info, cipher_meta.size).map_err(os_err)?;
        let body = res.bytes().await?;
        if body.len() as u64 != cipher_meta.size {
            return Err(os_err(Error::BodyLength {
                expected: cipher_meta.size,
                received: body.len() as u64,
            }));
        }
        let mut buf = match body.try_into_mut() {
            Ok(b) => Vec::from(b),
            Err(shared) => shared.to_vec(),
        };
        // Authenticates the whole body before decrypting any of it; on
        // failure the buffer is cleared.
        codec::decrypt_body(&opened.key, &mut buf).map_err(os_err)?;
        Ok(VerifiedObject {
            cipher_meta,
            attributes: visible_attributes(&attrs),
            plaintext: Bytes::from(buf),
        })
    }

    /// The verified object at `location`: from the cache when it is still
    /// current, else fetched, verified and cached.
    async fn verified_cached(
        &self,
        location: &Path,
        options: &GetOptions,
    ) -> object_store::Result<Arc<VerifiedObject>> {
        let _load = self.cache.load_lock(location).lock().await;
        if let Some(hit) = self.cache.get(location) {
            if !self.revalidate && !has_conditions(options) {
                return Ok(hit);
            }
            match self
                .inner
                .get_opts(location, conditions_of(options, true))
                .await
            {
                Ok(head) if hit.is_current(&head.meta) => return Ok(hit),
                Ok(_) => {}
                Err(e) => {
                    if not_found(&e) {
                        self.cache.invalidate(location);
                    }
                    return Err(e);
                }
            }
        }
        let obj = Arc::new(
            self.fetch_verified(location, conditions_of(options, false))
                .await?,
        );
        self.cache.insert(location, obj.clone());
        Ok(obj)
    }

    /// A ranged read, **unauthenticated** (danger option): CTR over the
    /// ciphertext blocks of the range, pinned to the entity tag of the
    /// object whose envelope was read.
    async fn get_range_unauthenticated(
        &self,
        location: &Path,
        options: &GetOptions,
        range: &GetRange,
    ) -> object_store::Result<GetResult> {
        let head = self
            .inner
            .get_opts(location, conditions_of(options, true))
            .await?;
        let meta = head.meta.clone();
        let env = self.find_envelope(location, &head.attributes).await?;
        let opened = codec::open_envelope_async(
            self.keyring.as_ref(),
            &env.metadata,
            env.instruction_file.as_deref(),
            &self.policy,
            self.expected_context.as_ref(),
        )
        .await
        .map_err(os_err)?;
        if opened.info.suite == Suite::AesCbc {
            return Err(os_err(ClientError::RangedGetUnsupported {
                suite: opened.info.suite,
            }));
        }
        s3ec_client::get::check_body_length(&opened.info, meta.size).map_err(os_err)?;
        let pt_len = meta.size - TAG_LEN as u64;
        let r = range.as_range(pt_len).map_err(range_err)?;
        let plan = s3ec_core::danger::plan_range(r.start, Some(r.end - 1), meta.size)
            .map_err(|e| os_err(ClientError::Format(e)))?;
        let mut fetch = conditions_of(options, false);
        fetch.range = Some(GetRange::Bounded(plan.fetch_first..plan.fetch_last + 1));
        if meta.e_tag.is_some() {
            fetch.if_match = meta.e_tag.clone();
        }
        let got = self.inner.get_opts(location, fetch).await?;
        let mut buf = got.bytes().await?.to_vec();
        if buf.len() as u64 != plan.fetch_last + 1 - plan.fetch_first {
            return Err(os_err(ClientError::RangeMismatch));
        }
        s3ec_core::danger::decrypt_range_with_key_with::<s3ec_client::Backend>(
            &opened.key,
            plan.fetch_first,
            &mut buf,
        )
        .map_err(|e| os_err(ClientError::Format(e)))?;
        let (skip, len) = (plan.skip as usize, plan.len as usize);
        let body = Bytes::from(buf).slice(skip..skip + len);
        Ok(result_of(
            ObjectMeta {
                size: pt_len,
                ..meta
            },
            r,
            visible_attributes(&head.attributes),
            body,
        ))
    }

    /// Write the instruction or sidecar file of `location`, after the
    /// object; if that fails, delete the object (an object without its
    /// envelope is garbage; see s3ec-client's `put` module).
    pub(crate) async fn write_side_file(
        &self,
        location: &Path,
        side: SideFile,
    ) -> object_store::Result<()> {
        let ipath = instruction_file_path(location)?;
        let opts = PutOptions {
            attributes: side.attributes,
            ..Default::default()
        };
        if let Err(e) = self.inner.put_opts(&ipath, side.text.into(), opts).await {
            // Best effort: the error reported is the one that matters.
            let _ = self.inner.delete(location).await;
            return Err(e);
        }
        Ok(())
    }

    /// Seal a fresh envelope for an object about to be written: the
    /// encryptor, the attributes for the object, and the side file.
    async fn seal(
        &self,
        user_attributes: &Attributes,
        content_length: Option<u64>,
    ) -> object_store::Result<(
        s3ec_core::cipher::GcmEncryptor<s3ec_client::Backend>,
        Attributes,
        Option<SideFile>,
    )> {
        let placement = match self.storage {
            EnvelopeStorage::InstructionFile => Placement::InstructionFile,
            _ => Placement::ObjectMetadata,
        };
        let sealed = codec::seal_async(
            self.keyring.as_ref(),
            self.policy.commitment,
            &self.context,
            placement,
            content_length,
        )
        .await
        .map_err(os_err)?;
        let (object_metadata, side) = match self.storage {
            EnvelopeStorage::ObjectAttributes => (sealed.object_metadata, None),
            EnvelopeStorage::InstructionFile => {
                let marker = Attributes::from_iter([(
                    Attribute::Metadata(INSTRUCTION_FILE_MARKER.as_str().into()),
                    AttributeValue::from(""),
                )]);
                let text = sealed
                    .instruction_file
                    .ok_or(os_err(Error::Config("no instruction file was sealed")))?;
                (
                    sealed.object_metadata,
                    Some(SideFile {
                        text,
                        attributes: marker,
                    }),
                )
            }
            EnvelopeStorage::SidecarFile => {
                let text = sidecar_text(&sealed.object_metadata).map_err(os_err)?;
                (
                    Vec::new(),
                    Some(SideFile {
                        text,
                        attributes: Attributes::new(),
                    }),
                )
            }
        };
        let attributes = with_envelope(user_attributes, &object_metadata).map_err(os_err)?;
        Ok((sealed.encryptor, attributes, side))
    }

    /// Whether `path` exists in the inner store.
    async fn exists(&self, path: &Path) -> object_store::Result<bool> {
        match self.inner.head(path).await {
            Ok(_) => Ok(true),
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Delete `path` from the inner store; a missing one is fine.
    async fn delete_if_present(&self, path: &Path) -> object_store::Result<()> {
        match self.inner.delete(path).await {
            Err(e) if !not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for S3ecStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3ecStore({})", self.shared.inner)
    }
}

/// What the listing shows of an inner object: nothing for an instruction
/// file; the plaintext size (the ciphertext less the 16-byte GCM tag) for
/// the rest.
fn listed(meta: ObjectMeta) -> Option<ObjectMeta> {
    if is_instruction_file(&meta.location) {
        return None;
    }
    Some(ObjectMeta {
        size: meta.size.saturating_sub(TAG_LEN as u64),
        ..meta
    })
}

#[async_trait]
impl ObjectStore for S3ecStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let s = &self.shared;
        let len = payload.content_length();
        let (mut enc, attributes, side) = s.seal(&opts.attributes, Some(len as u64)).await?;
        let mut buf = Vec::with_capacity(len + TAG_LEN);
        for chunk in payload.iter() {
            buf.extend_from_slice(chunk);
        }
        enc.update(&mut buf)
            .map_err(|e| os_err(ClientError::Format(e)))?;
        // spec encryption.md: the tag MUST be appended to the ciphertext.
        buf.extend_from_slice(&enc.finish());
        let opts = PutOptions { attributes, ..opts };
        let result = s.inner.put_opts(location, buf.into(), opts).await;
        s.cache.invalidate(location);
        let result = result?;
        if let Some(side) = side {
            s.write_side_file(location, side).await?;
        }
        Ok(result)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let s = &self.shared;
        let (enc, attributes, side) = s.seal(&opts.attributes, None).await?;
        let opts = PutMultipartOptions { attributes, ..opts };
        let inner = s.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(EncryptingUpload {
            inner,
            encryptor: Some(enc),
            held: None,
            side_file: side,
            location: location.clone(),
            shared: self.shared.clone(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let s = &self.shared;
        if options.head {
            let head = s
                .inner
                .get_opts(location, conditions_of(&options, true))
                .await?;
            let env = s.find_envelope(location, &head.attributes).await?;
            let size = match s.plaintext_len(&env, head.meta.size)? {
                Some(n) => n,
                // Legacy CBC without a recorded length: only the padding
                // says, so decrypt the object.
                None => s
                    .fetch_verified(location, conditions_of(&options, false))
                    .await?
                    .plaintext
                    .len() as u64,
            };
            let meta = ObjectMeta { size, ..head.meta };
            return Ok(result_of(
                meta,
                0..size,
                visible_attributes(&head.attributes),
                Bytes::new(),
            ));
        }
        match &options.range {
            None => {
                let obj = s
                    .fetch_verified(location, conditions_of(&options, false))
                    .await?;
                let meta = obj.meta();
                Ok(result_of(
                    meta.clone(),
                    0..meta.size,
                    obj.attributes,
                    obj.plaintext,
                ))
            }
            Some(range) if s.ranged == RangedReads::Unauthenticated => {
                s.get_range_unauthenticated(location, &options, range).await
            }
            Some(range) => {
                let obj = s.verified_cached(location, &options).await?;
                let meta = obj.meta();
                let r = range.as_range(meta.size).map_err(range_err)?;
                let body = obj.plaintext.slice(r.start as usize..r.end as usize);
                Ok(result_of(meta, r, obj.attributes.clone(), body))
            }
        }
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let s = &self.shared;
        if s.ranged == RangedReads::Unauthenticated {
            return object_store::coalesce_ranges(
                ranges,
                |r| self.get_range(location, r),
                object_store::OBJECT_STORE_COALESCE_DEFAULT,
            )
            .await;
        }
        let obj = s.verified_cached(location, &GetOptions::default()).await?;
        let len = obj.plaintext.len() as u64;
        ranges
            .iter()
            .map(|r| {
                let r = GetRange::Bounded(r.clone())
                    .as_range(len)
                    .map_err(range_err)?;
                Ok(obj.plaintext.slice(r.start as usize..r.end as usize))
            })
            .collect()
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let shared = self.shared.clone();
        locations
            .map(move |location| {
                let s = shared.clone();
                async move {
                    let location = location?;
                    s.cache.invalidate(&location);
                    let deleted = s.inner.delete(&location).await;
                    // The instruction file goes too (an orphan one as well).
                    s.delete_if_present(&instruction_file_path(&location)?)
                        .await?;
                    deleted.map(|()| location)
                }
            })
            .buffered(8)
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.shared
            .inner
            .list(prefix)
            .try_filter_map(|m| futures::future::ready(Ok(listed(m))))
            .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.shared
            .inner
            .list_with_offset(prefix, offset)
            .try_filter_map(|m| futures::future::ready(Ok(listed(m))))
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let r = self.shared.inner.list_with_delimiter(prefix).await?;
        Ok(ListResult {
            common_prefixes: r.common_prefixes,
            objects: r.objects.into_iter().filter_map(listed).collect(),
            extensions: r.extensions,
        })
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let s = &self.shared;
        let (ifrom, ito) = (instruction_file_path(from)?, instruction_file_path(to)?);
        let side = s.exists(&ifrom).await?;
        // The envelope does not name the object's key, so it stays valid
        // under the new name: the inner copy keeps the metadata (S3
        // CopyObject, InMemory) and the instruction file is copied beside.
        s.inner.copy_opts(from, to, options).await?;
        s.cache.invalidate(to);
        if side {
            s.inner.copy(&ifrom, &ito).await
        } else {
            s.delete_if_present(&ito).await
        }
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        let s = &self.shared;
        let (ifrom, ito) = (instruction_file_path(from)?, instruction_file_path(to)?);
        let side = s.exists(&ifrom).await?;
        s.inner.rename_opts(from, to, options).await?;
        s.cache.invalidate(from);
        s.cache.invalidate(to);
        if side {
            s.inner.rename(&ifrom, &ito).await
        } else {
            s.delete_if_present(&ito).await
        }
    }
}

//! Client configuration, set in one place: [`Builder`] (reached through
//! [`Client::builder`](crate::Client::builder) or
//! [`AsyncClient::builder`](crate::AsyncClient::builder)).

use std::path::PathBuf;
use std::sync::Arc;

use s3ec_core::CommitmentPolicy;
use s3ec_keyring::LegacyOptions;

use crate::codec::DecryptPolicy;
use crate::error::ConfigError;

/// One MiB.
const MIB: u64 = 1024 * 1024;

/// The default multipart part size: 8 MiB.
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;

/// S3's smallest part size (all parts but the last): 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 * MIB;

/// S3's largest part size: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;

/// S3's largest part count.
pub const MAX_PARTS: u32 = 10_000;

/// The default number of parts uploaded, or ranges downloaded, at once
/// by one put or get (see [`Builder::concurrency`]).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// The most connections one put or get may use at once.
pub const MAX_CONCURRENCY: usize = 64;

/// The default in-memory limit of [`GetStrategy::Auto`]: 8 MiB of
/// ciphertext.
pub const DEFAULT_BUFFER_UP_TO: u64 = 8 * MIB;

/// How an authenticated get holds the ciphertext until its tag is verified.
///
/// An S3EC object body is a single AES-GCM message whose tag covers all of
/// it and comes last. Since no plaintext may be released before the tag is
/// verified (spec `client.md` §Enable Delayed Authentication: when disabled
/// the client MUST NOT release plaintext from a stream which has not been
/// authenticated), the whole ciphertext is held somewhere first:
///
/// | strategy | memory | disk |
/// |---|---|---|
/// | `Buffer` | the object (≤ `max_bytes`) | none |
/// | `Spool` | one 64 KiB chunk | the object, in an unnamed temporary file |
/// | `Auto` | ≤ `buffer_up_to`, else one chunk | above `buffer_up_to` |
///
/// The temporary file of `Spool` is created unlinked where the OS allows it
/// (`O_TMPFILE` on Linux) and is removed when the get ends, whether it
/// succeeds or fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetStrategy {
    /// Read the whole object into memory, then verify and decrypt in place.
    /// Objects longer than `max_bytes` (ciphertext) are refused with
    /// [`ClientError::ObjectTooLarge`](crate::ClientError::ObjectTooLarge)
    /// before their body is read.
    Buffer {
        /// The largest ciphertext held in memory (at least 16).
        max_bytes: u64,
    },
    /// Stream the ciphertext into a temporary file while checking the tag,
    /// then decrypt the file into the output.
    Spool {
        /// Where the temporary file goes (default: the system's temporary
        /// folder).
        dir: Option<PathBuf>,
    },
    /// Buffer objects up to `buffer_up_to` bytes, spool larger ones.
    Auto {
        /// The largest ciphertext held in memory.
        buffer_up_to: u64,
        /// Where the temporary files go (default: the system's temporary
        /// folder).
        spool_dir: Option<PathBuf>,
    },
}

impl Default for GetStrategy {
    fn default() -> Self {
        GetStrategy::Auto {
            buffer_up_to: DEFAULT_BUFFER_UP_TO,
            spool_dir: None,
        }
    }
}

/// The settings of a client. Read them with [`crate::Client::config`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub(crate) policy: DecryptPolicy,
    pub(crate) instruction_file_puts: bool,
    pub(crate) instruction_file_suffix: String,
    pub(crate) get_strategy: GetStrategy,
    pub(crate) part_size: u64,
    pub(crate) delayed_authentication: bool,
    pub(crate) concurrency: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        // Spec client.md §Options: legacy wrapping algorithms and legacy
        // unauthenticated modes MUST be false by default; Delayed
        // Authentication MUST be false by default; without a buffer size
        // the client MUST use a reasonable default (8 MiB in memory, then
        // a spool file). metadata-strategy.md: content metadata MUST go in
        // the object metadata by default, instruction file writes MUST NOT
        // be enabled by default. key-commitment.md: the default policy is
        // REQUIRE_ENCRYPT_REQUIRE_DECRYPT.
        ClientConfig {
            policy: DecryptPolicy::default(),
            // spec: data-format/metadata-strategy.md#object-metadata/1 data-format/metadata-strategy.md#instruction-file/4
            instruction_file_puts: false,
            instruction_file_suffix: s3ec_core::envelope::INSTRUCTION_FILE_SUFFIX.to_string(),
            // spec: client.md#set-buffer-size/2
            get_strategy: GetStrategy::default(),
            part_size: DEFAULT_PART_SIZE,
            // spec: client.md#enable-delayed-authentication/2
            delayed_authentication: false,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

impl ClientConfig {
    /// The commitment policy.
    pub fn commitment_policy(&self) -> CommitmentPolicy {
        self.policy.commitment
    }

    /// The legacy switches.
    pub fn legacy(&self) -> LegacyOptions {
        self.policy.legacy
    }

    /// The decrypt policy (commitment policy and legacy switches).
    pub fn decrypt_policy(&self) -> DecryptPolicy {
        self.policy
    }

    /// Whether puts store the envelope in an instruction file by default.
    pub fn instruction_file_puts(&self) -> bool {
        self.instruction_file_puts
    }

    /// The instruction-file suffix used on gets.
    pub fn instruction_file_suffix(&self) -> &str {
        &self.instruction_file_suffix
    }

    /// How authenticated gets hold the ciphertext.
    pub fn get_strategy(&self) -> &GetStrategy {
        &self.get_strategy
    }

    /// The multipart part size.
    pub fn part_size(&self) -> u64 {
        self.part_size
    }

    /// Whether the `danger` delayed authentication mode is on.
    pub fn delayed_authentication(&self) -> bool {
        self.delayed_authentication
    }

    /// How many parts a put uploads, and how many ranges a get fetches, at
    /// once (see [`Builder::concurrency`]).
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// These settings with another [`concurrency`](Self::concurrency).
    pub(crate) fn with_concurrency(&self, n: usize) -> Result<ClientConfig, ConfigError> {
        let config = ClientConfig {
            concurrency: n,
            ..self.clone()
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return Err(ConfigError::Concurrency {
                value: self.concurrency,
            });
        }
        // Spec client.md §Set Buffer Size: delayed authentication with a
        // buffer size other than the default is a configuration error.
        // spec: client.md#set-buffer-size/1
        if self.delayed_authentication && self.get_strategy != GetStrategy::default() {
            return Err(ConfigError::DelayedAuthenticationWithBufferSize);
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.part_size)
            || usize::try_from(self.part_size).is_err()
        {
            return Err(ConfigError::PartSize {
                size: self.part_size,
            });
        }
        if let GetStrategy::Buffer { max_bytes } = self.get_strategy {
            if max_bytes < 16 {
                return Err(ConfigError::BufferSize { size: max_bytes });
            }
        }
        check_instruction_file_suffix(&self.instruction_file_suffix)?;
        Ok(())
    }
}

/// The check of an instruction-file suffix, client-wide and per get.
pub(crate) fn check_instruction_file_suffix(suffix: &str) -> Result<(), ConfigError> {
    if suffix.is_empty() {
        return Err(ConfigError::EmptyInstructionFileSuffix);
    }
    Ok(())
}

/// Builds a [`Client`](crate::Client) (blocking; [`ClientBuilder`]) or an
/// [`AsyncClient`](crate::AsyncClient) ([`AsyncClientBuilder`]). Every
/// setting has a safe default; see each method.
///
/// ```
/// # use s3ec_client::{Client, GetStrategy, ClientError, ConfigError};
/// # let dir = tempfile::tempdir()?;
/// let s3 = s3ec_fs::FsStore::new(dir.path())?;
/// let keyring = s3ec_local::AesKeyring::new(&[7u8; 32])?;
/// // Delayed authentication and an explicit buffer size cannot be combined
/// // (spec client.md).
/// let refused = Client::builder(s3, keyring.clone())
///     .danger_delayed_authentication(true)
///     .get_strategy(GetStrategy::Buffer { max_bytes: 1 << 20 })
///     .build();
/// assert!(matches!(
///     refused,
///     Err(ClientError::Config(ConfigError::DelayedAuthenticationWithBufferSize))
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Builder<T: ?Sized, K: ?Sized> {
    pub(crate) transport: Arc<T>,
    pub(crate) keyring: Arc<K>,
    pub(crate) config: ClientConfig,
}

/// The builder of the blocking [`Client`](crate::Client).
pub type ClientBuilder = Builder<dyn crate::transport::Transport, dyn s3ec_keyring::Keyring>;

/// The builder of the [`AsyncClient`](crate::AsyncClient).
pub type AsyncClientBuilder =
    Builder<dyn crate::transport::AsyncTransport, dyn s3ec_keyring::AsyncKeyring>;

impl<T: ?Sized, K: ?Sized> std::fmt::Debug for Builder<T, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<T: ?Sized, K: ?Sized> Builder<T, K> {
    pub(crate) fn with_parts(transport: Arc<T>, keyring: Arc<K>) -> Self {
        Builder {
            transport,
            keyring,
            config: ClientConfig::default(),
        }
    }

    /// The key commitment policy (spec `key-commitment.md`). The default,
    /// `RequireEncryptRequireDecrypt`, writes V3 objects and reads only
    /// key-committing ones; `RequireEncryptAllowDecrypt` also reads V1/V2
    /// objects; `ForbidEncryptAllowDecrypt` writes V2 objects (for readers
    /// that do not know V3 yet) and reads everything.
    // spec: client.md#key-commitment/1
    pub fn commitment_policy(mut self, policy: CommitmentPolicy) -> Self {
        self.config.policy.commitment = policy;
        self
    }

    /// The legacy switches (both off by default, spec `client.md`): legacy
    /// wrapping algorithms, and legacy unauthenticated modes (CBC content,
    /// which is unauthenticated and streamed; ranged gets).
    pub fn legacy(mut self, legacy: LegacyOptions) -> Self {
        self.config.policy.legacy = legacy;
        self
    }

    /// Store the envelope of new objects in an instruction file
    /// (`<key>.instruction`) instead of the object metadata. Off by default
    /// (spec `metadata-strategy.md`: instruction file writes MUST NOT be
    /// enabled by default); [`PutOptions`](crate::PutOptions) overrides it
    /// per put.
    // spec: client.md#instruction-file-configuration/1 data-format/metadata-strategy.md#instruction-file/5
    pub fn instruction_file_puts(mut self, on: bool) -> Self {
        self.config.instruction_file_puts = on;
        self
    }

    /// The instruction-file suffix used on **gets**, dot included (default
    /// `.instruction`). Puts and deletes always use the default suffix
    /// (spec `metadata-strategy.md`: a custom suffix MUST NOT be used on
    /// ordinary writes, SHOULD be supported on GetObject; `client.md`:
    /// DeleteObject uses the default suffix). With the default, a get whose
    /// `<key>.instruction` is missing also looks for the name the .NET V1
    /// client wrote, `<key>INSTRUCTION_SUFFIX`
    /// ([`crate::get::DOTNET_V1_INSTRUCTION_FILE_SUFFIX`]), as .NET's V2
    /// client does; a custom suffix is used alone.
    pub fn instruction_file_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.config.instruction_file_suffix = suffix.into();
        self
    }

    /// How authenticated gets hold the ciphertext until the tag is checked
    /// (default [`GetStrategy::Auto`]: up to 8 MiB in memory, larger
    /// objects spooled to a temporary file). This is the spec's "buffer
    /// size".
    pub fn get_strategy(mut self, strategy: GetStrategy) -> Self {
        self.config.get_strategy = strategy;
        self
    }

    /// The multipart part size in bytes (default 8 MiB, at least 5 MiB).
    /// Bodies up to this size are sent with one PUT, larger ones as a
    /// multipart upload; a put holds about one part in memory.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.config.part_size = bytes;
        self
    }

    /// **Danger**: delayed authentication. GCM objects are decrypted as
    /// they stream in, so plaintext reaches the output **before** the tag
    /// at the end of the object is checked; a failed check then returns
    /// [`ClientError::AuthenticationAfterRelease`](crate::ClientError::AuthenticationAfterRelease)
    /// and everything already written is forged or corrupt data the caller
    /// must discard. Off by default (spec `client.md`); cannot be combined
    /// with a non-default [`get_strategy`](Self::get_strategy).
    // spec: client.md#enable-delayed-authentication/1
    pub fn danger_delayed_authentication(mut self, on: bool) -> Self {
        self.config.delayed_authentication = on;
        self
    }

    /// How many connections one put or get uses at once (default
    /// [`DEFAULT_CONCURRENCY`], 1 to [`MAX_CONCURRENCY`]).
    ///
    /// * **Put**: the cipher runs in order over the body, part after part,
    ///   and up to `n` finished parts are uploaded at once. Memory: about
    ///   `n + 1` parts of ciphertext. A part that fails is resent from its
    ///   own ciphertext; any failure aborts the multipart upload, after
    ///   the parts in flight ended, so no part is left behind.
    /// * **Get**: an object larger than one part is fetched as part-sized
    ///   ranges on up to `n` connections, every range pinned to the version
    ///   (version id, and `If-Match` with the entity tag) the first answer
    ///   described; a range that breaks off is fetched again from where it
    ///   stopped, and a replaced object is
    ///   [`ClientError::ObjectChanged`](crate::ClientError::ObjectChanged).
    ///   The ranges are put back in order in a window of `n` ranges (about
    ///   `n` parts of memory) before the decrypt state machine, so the
    ///   authentication rule is the one of a sequential get: nothing is
    ///   released before the tag is checked (spool, buffer or the private
    ///   temporary file of a get to a path), unless delayed authentication
    ///   was opted into.
    ///
    /// `1` is the sequential client: one part in flight while the next is
    /// encrypted, one streamed GET per object.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n;
        self
    }

    pub(crate) fn validated(self) -> Result<(Arc<T>, Arc<K>, ClientConfig), ConfigError> {
        self.config.validate()?;
        Ok((self.transport, self.keyring, self.config))
    }
}

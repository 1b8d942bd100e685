//! The async client: the same operations as [`crate::Client`] over an
//! [`AsyncTransport`] and an [`AsyncKeyring`], with tokio I/O. It shares
//! the codec, the decrypt state machine ([`crate::get`]) and the part
//! bookkeeping ([`crate::put`]) with the blocking client, and runs the
//! same code for envelope reading, head, delete, low-level multipart and
//! rotation; only the put and get body loops are its own.

use std::io::SeekFrom;
use std::sync::Arc;

use bytes::Bytes;
use s3ec_core::cipher::GcmEncryptor;
use s3ec_keyring::{AsyncKeyring, Context};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinSet;

mod presign;

use crate::backend::Backend;
use crate::codec::{self, EnvelopeInfo, OpenedEnvelope};
use crate::config::{AsyncClientBuilder, ClientConfig};
use crate::error::ClientError;
use crate::get::{
    self, check_body_length, BodyDecoder, Finished, GetOptions, GetOutput, GetTarget, HeadOutput,
    PlaintextRange, Plan, RangeDecoder, RangeOutput, Step, CHUNK, MAX_RESUMES,
};
use crate::multipart::{CompletedUpload, MultipartUpload};
use crate::ops::{next_chunk, Ops};
use crate::parallel::{self, FirstAnswer, ParallelStream, PartWindow};
use crate::put::{
    self, check_declared_length, encrypt_part, next_part_number, PartCursor, PutOptions, PutOutput,
};
use crate::rotate::{RotateOptions, RotateOutput};
use crate::transport::{
    AsyncBody, AsyncGetResponse, AsyncTransport, ByteRange, CompleteRequest, CompletedPart,
    ErrorKind, GetRequest, ObjectHead, PartRequest, PutFields, PutRequest,
};
use crate::writeback::{Writeback, WritebackAsync};

/// The async S3 Encryption Client: encrypts on put, decrypts and
/// authenticates on get, over any [`AsyncTransport`] (e.g.
/// `s3ec_aws_sdk::AwsSdkTransport`) and [`AsyncKeyring`] (KMS, or a local
/// keyring wrapped in [`s3ec_keyring::Local`]).
///
/// The same guarantees as [`crate::Client`]: nothing is written to the
/// output before the tag is verified (unless the `danger` delayed
/// authentication mode is on), memory bounded by the
/// [`GetStrategy`](crate::GetStrategy), the version read pinned by its
/// entity tag. The spool file is written and read with `tokio::fs`.
///
/// ```
/// use s3ec_client::{AsyncClient, Context};
///
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// // Any AsyncTransport: `s3ec_aws_sdk::AwsSdkTransport` for S3; here a
/// // local folder that stands in for S3.
/// # let dir = tempfile::tempdir()?;
/// let s3 = s3ec_fs::FsStore::new(dir.path())?;
/// let keyring = s3ec_local::AesKeyring::new(&[7u8; 32])?; // no `Local(..)` needed
/// let client = AsyncClient::builder(s3, keyring).part_size(16 << 20).build()?;
///
/// client.put_object("bucket", "key", &b"hello, world"[..], Some(12), &Context::new()).await?;
/// let mut plaintext = Vec::new();
/// client.get_object("bucket", "key", &mut plaintext, None).await?;
/// assert_eq!(plaintext, b"hello, world");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AsyncClient {
    transport: Arc<dyn AsyncTransport>,
    keyring: Arc<dyn AsyncKeyring>,
    config: ClientConfig,
}

impl std::fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncClient")
            .field("transport", &self.transport)
            .field("keyring", &self.keyring)
            .field("config", &self.config)
            .finish()
    }
}

impl AsyncClient {
    /// The shared capabilities ([`crate::ops`]) over this client's
    /// transport, keyring and settings.
    fn ops(&self) -> Ops<'_> {
        Ops {
            transport: self.transport.as_ref(),
            keyring: self.keyring.as_ref(),
            config: &self.config,
        }
    }
}

impl AsyncClientBuilder {
    /// Check the settings and make the client.
    pub fn build(self) -> Result<AsyncClient, ClientError> {
        let (transport, keyring, config) = self.validated()?;
        Ok(AsyncClient {
            transport,
            keyring,
            config,
        })
    }
}

/// The buffer between the decrypt loop and the async spool file.
const SPOOL_BUFFER: usize = 1 << 20;

impl AsyncClient {
    /// Start configuring a client over `transport` with `keyring`. The
    /// settings are those of [`crate::Client::builder`].
    pub fn builder(
        transport: impl AsyncTransport + 'static,
        keyring: impl AsyncKeyring + 'static,
    ) -> AsyncClientBuilder {
        AsyncClientBuilder::with_parts(Arc::new(transport), Arc::new(keyring))
    }

    /// [`builder`](Self::builder) with a transport and a keyring shared
    /// with other clients.
    pub fn builder_shared(
        transport: Arc<dyn AsyncTransport>,
        keyring: Arc<dyn AsyncKeyring>,
    ) -> AsyncClientBuilder {
        AsyncClientBuilder::with_parts(transport, keyring)
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// This client with another
    /// [`concurrency`](crate::config::Builder::concurrency) (same transport
    /// and keyring), e.g. for one large transfer; the request builders'
    /// `.concurrency(n)` use it.
    pub fn with_concurrency(&self, n: usize) -> Result<AsyncClient, ClientError> {
        Ok(AsyncClient {
            transport: Arc::clone(&self.transport),
            keyring: Arc::clone(&self.keyring),
            config: self.config.with_concurrency(n)?,
        })
    }

    /// Encrypt `body` and store it as `bucket`/`key`; see
    /// [`crate::Client::put_object`].
    ///
    /// ```no_run
    /// # async fn f(client: s3ec_client::AsyncClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let file = tokio::fs::File::open("big.bin").await?;
    /// let len = file.metadata().await?.len();
    /// let out = client
    ///     .put_object("bucket", "big.bin", file, Some(len), &s3ec_keyring::Context::new())
    ///     .await?;
    /// println!("{} bytes in {:?} parts", out.plaintext_len, out.parts);
    /// # Ok(()) }
    /// ```
    // spec: client.md#required-api-operations/3-4
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: impl AsyncRead + Unpin + Send,
        len: Option<u64>,
        context: &Context,
    ) -> Result<PutOutput, ClientError> {
        let opts = PutOptions {
            context: context.clone(),
            ..PutOptions::default()
        };
        self.put_object_with(bucket, key, body, len, &opts).await
    }

    /// [`put_object`](Self::put_object) with per-put options.
    pub async fn put_object_with(
        &self,
        bucket: &str,
        key: &str,
        mut body: impl AsyncRead + Unpin + Send,
        len: Option<u64>,
        opts: &PutOptions,
    ) -> Result<PutOutput, ClientError> {
        let placement = put::placement(opts, &self.config);
        put::object_metadata(&Vec::new(), &opts.metadata)?;
        let part_size = usize::try_from(parallel::part_size_for(self.config.part_size, len))
            .unwrap_or(usize::MAX);
        check_declared_length(len, part_size)?;
        let mut cursor = PartCursor::new(part_size, len);
        let mut buf = new_part_buffer(part_size, len);
        let last = read_part(&mut body, &mut cursor, &mut buf).await?;
        let recorded_len = cursor.recorded_len(last);
        let sealed = codec::seal_async(
            self.keyring.as_ref(),
            self.config.policy.commitment,
            &opts.context,
            placement,
            recorded_len,
        )
        .await?;
        let format = self.config.policy.commitment.encrypt_suite().format();
        let mut encryptor = Some(sealed.encryptor);
        let object_metadata = put::object_metadata(&sealed.object_metadata, &opts.metadata)?;
        let req = PutRequest {
            bucket,
            key,
            metadata: &object_metadata,
            fields: &opts.fields,
            checksum: None,
        };
        let (etag, parts) = if last {
            encrypt_part(&mut encryptor, &mut buf, true)?;
            let checksum = put::checksum_of(&opts.fields, &buf);
            let req = PutRequest {
                checksum: checksum.as_ref(),
                ..req
            };
            (
                self.transport.put_object(&req, Bytes::from(buf)).await?,
                None,
            )
        } else {
            let upload_id = self.transport.create_multipart_upload(&req).await?;
            let result = self
                .upload_parts(
                    &req,
                    &upload_id,
                    &mut body,
                    &mut cursor,
                    buf,
                    &mut encryptor,
                )
                .await;
            match result {
                Ok((etag, parts)) => (etag, Some(parts)),
                Err(e) => {
                    let abort = self
                        .transport
                        .abort_multipart_upload(bucket, key, &upload_id)
                        .await;
                    return Err(put::after_abort(e, abort, key, upload_id));
                }
            }
        };
        if let Some(json) = &sealed.instruction_file {
            self.put_instruction_file(bucket, key, json, &opts.fields)
                .await?;
        }
        Ok(PutOutput {
            etag,
            format,
            placement,
            plaintext_len: cursor.read(),
            parts,
        })
    }

    /// Upload the parts of a multipart upload whose first part is in
    /// `buf`: the cipher runs in order in this task while up to
    /// [`concurrency`](crate::config::Builder::concurrency) finished parts
    /// are uploaded by tokio tasks (see [`crate::parallel`]). On any
    /// failure no more parts start and the parts in flight end before this
    /// returns, so the abort that follows leaves no part behind.
    async fn upload_parts(
        &self,
        req: &PutRequest<'_>,
        upload_id: &str,
        body: &mut (impl AsyncRead + Unpin + Send),
        cursor: &mut PartCursor,
        mut buf: Vec<u8>,
        encryptor: &mut Option<GcmEncryptor<Backend>>,
    ) -> Result<(Option<String>, u32), ClientError> {
        type Landed = (Result<CompletedPart, ClientError>, Option<Bytes>);
        fn landed(
            window: &mut PartWindow,
            spare: &mut Vec<Vec<u8>>,
            done: Result<Landed, tokio::task::JoinError>,
        ) {
            match done {
                Ok((result, part)) => {
                    window.done(result);
                    // The buffer back for a next part, when the transport
                    // let go of it (else a fresh one).
                    if let Some(Ok(b)) = part.map(put::try_reclaim) {
                        spare.push(b);
                    }
                }
                Err(e) => window.done(Err(ClientError::Io(std::io::Error::other(e)))),
            }
        }
        let upload = Arc::new((
            req.bucket.to_string(),
            req.key.to_string(),
            upload_id.to_string(),
            req.fields.clone(),
        ));
        let part_size = cursor.part_size;
        let mut window = PartWindow::new(self.config.concurrency);
        let mut tasks: JoinSet<Landed> = JoinSet::new();
        let mut spare: Vec<Vec<u8>> = Vec::new();
        let mut number = 0u32;
        // The first part was read by the caller and is not the last.
        let mut last = false;
        let mut more = true;
        loop {
            while let Some(done) = tasks.try_join_next() {
                landed(&mut window, &mut spare, done);
            }
            if !more || window.failed() || !window.has_room() {
                match tasks.join_next().await {
                    Some(done) => landed(&mut window, &mut spare, done),
                    None => break,
                }
                continue;
            }
            let sealed = next_part_number(number, part_size).and_then(|n| {
                encrypt_part(encryptor, &mut buf, last)?;
                Ok(n)
            });
            let n = match sealed {
                Ok(n) => n,
                Err(e) => {
                    window.fail(e);
                    continue;
                }
            };
            number = n;
            let checksum = put::checksum_of(req.fields, &buf);
            let part = Bytes::from(std::mem::take(&mut buf));
            window.started();
            let transport = Arc::clone(&self.transport);
            let upload = Arc::clone(&upload);
            let job = async move {
                let (bucket, key, upload_id, fields) = &*upload;
                let preq = PartRequest {
                    bucket,
                    key,
                    upload_id,
                    part_number: n,
                    checksum: checksum.as_ref(),
                    fields,
                };
                let result = parallel::upload_part(transport.as_ref(), &preq, &part)
                    .await
                    .map(|etag| CompletedPart {
                        part_number: n,
                        etag,
                        checksum,
                    });
                (result, Some(part))
            };
            // Outside a tokio runtime (another executor) the part goes
            // inline, one at a time.
            if tokio::runtime::Handle::try_current().is_ok() {
                tasks.spawn(job);
            } else {
                landed(&mut window, &mut spare, Ok(job.await));
            }
            if last {
                more = false;
                continue;
            }
            buf = spare
                .pop()
                .unwrap_or_else(|| new_part_buffer(part_size, None));
            match read_part(body, cursor, &mut buf).await {
                Ok(l) => last = l,
                Err(e) => window.fail(e),
            }
        }
        let parts = window.finish()?;
        let etag = self
            .transport
            .complete_multipart_upload(&CompleteRequest {
                bucket: req.bucket,
                key: req.key,
                upload_id,
                parts: &parts,
                fields: req.fields,
            })
            .await?;
        Ok((etag, number))
    }

    async fn put_instruction_file(
        &self,
        bucket: &str,
        key: &str,
        json: &str,
        fields: &PutFields,
    ) -> Result<(), ClientError> {
        self.ops()
            .put_instruction_file(bucket, key, json, fields)
            .await
    }

    /// Read the object's envelope and unwrap its data key.
    async fn open(
        &self,
        target: &GetTarget<'_>,
        head: &ObjectHead,
        opts: &GetOptions,
    ) -> Result<OpenedEnvelope, ClientError> {
        self.ops().open(target, head, opts).await
    }

    /// Download, authenticate and decrypt `bucket`/`key` into `out`; see
    /// [`crate::Client::get_object`]. Nothing is written to `out` before
    /// the tag is verified (unless delayed authentication is on).
    ///
    /// ```no_run
    /// # async fn f(client: s3ec_client::AsyncClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut file = tokio::fs::File::create("big.bin").await?;
    /// let got = client.get_object("bucket", "big.bin", &mut file, None).await?;
    /// println!("{} bytes, {:?}", got.plaintext_len, got.mode);
    /// # Ok(()) }
    /// ```
    // spec: client.md#required-api-operations/1-2
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        expected_context: Option<&Context>,
    ) -> Result<GetOutput, ClientError> {
        let opts = GetOptions {
            expected_context: expected_context.cloned(),
            ..GetOptions::default()
        };
        self.get_object_with(bucket, key, out, &opts).await
    }

    /// [`get_object`](Self::get_object) into a new `Vec`.
    pub async fn get_object_to_vec(
        &self,
        bucket: &str,
        key: &str,
        expected_context: Option<&Context>,
    ) -> Result<(Vec<u8>, GetOutput), ClientError> {
        let mut out = Vec::new();
        let got = self
            .get_object(bucket, key, &mut out, expected_context)
            .await?;
        Ok((out, got))
    }

    /// [`get_object`](Self::get_object) with per-get options.
    pub async fn get_object_with(
        &self,
        bucket: &str,
        key: &str,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        opts: &GetOptions,
    ) -> Result<GetOutput, ClientError> {
        self.get_into(&GetTarget::new(bucket, key, opts), out, opts, false)
            .await
    }

    /// Download, authenticate and decrypt `bucket`/`key` into the file
    /// `path` in one pass; see [`crate::Client::get_object_to_path`]:
    /// nothing appears at `path` before the object is authenticated, and a
    /// failure leaves nothing behind.
    ///
    /// ```no_run
    /// # async fn f(client: s3ec_client::AsyncClient) -> Result<(), s3ec_client::ClientError> {
    /// use s3ec_client::GetOptions;
    /// client.get_object_to_path("bucket", "big.bin", "/data/big.bin", &GetOptions::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_object_to_path(
        &self,
        bucket: &str,
        key: &str,
        path: impl AsRef<std::path::Path>,
        opts: &GetOptions,
    ) -> Result<GetOutput, ClientError> {
        let path = path.as_ref();
        let tmp = get::temp_file_beside(path)?;
        let file = tokio::fs::File::from_std(tmp.as_file().try_clone()?);
        // The disk writes while the download goes on (see the blocking
        // client's twin).
        let writeback = Writeback::new(tmp.as_file())?;
        let mut w =
            tokio::io::BufWriter::with_capacity(CHUNK, WritebackAsync::new(file, writeback));
        let got = self
            .get_into(&GetTarget::new(bucket, key, opts), &mut w, opts, true)
            .await
            .map_err(get::unreleased)?;
        w.flush().await?;
        let (file, writeback) = w.into_inner().into_parts();
        drop(file);
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            writeback.finish()?;
            get::persist(tmp, &path)
        })
        .await
        .map_err(|e| ClientError::Io(std::io::Error::other(e)))??;
        Ok(got)
    }

    async fn get_into(
        &self,
        target: &GetTarget<'_>,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        opts: &GetOptions,
        one_pass: bool,
    ) -> Result<GetOutput, ClientError> {
        let (resp, asked) = self.first_response(target).await?;
        // Spec decryption.md §Ranged Gets: MUST throw.
        // spec: decryption.md#ranged-gets/4
        let answer = parallel::first_answer(asked, resp.content_range)?;
        let AsyncGetResponse { head, body, .. } = resp;
        let opened = self.open(target, &head, opts).await?;
        let body_len = head.content_length;
        check_body_length(&opened.info, body_len)?;
        let plan = get::plan(&self.config, opened.info.suite, body_len, one_pass)?;
        let mut spool = match &plan {
            // Batched: every tokio::fs write is a trip to the blocking pool.
            Plan::Spool(dir) => Some(tokio::io::BufWriter::with_capacity(
                SPOOL_BUFFER,
                tokio::fs::File::from_std(tempfile::tempfile_in(dir)?),
            )),
            _ => None,
        };
        let mut dec = BodyDecoder::new(&plan, opened.key, body_len)?;
        let mut scratch = Vec::with_capacity(CHUNK + 32);
        let mut written = 0u64;
        // The rest of a large object: ranges on several connections, pinned
        // to the version just read, handed back in order.
        let mut body: AsyncBody = match answer {
            FirstAnswer::Whole => body,
            FirstAnswer::Partial { last } => Box::pin(ParallelStream::start(
                Arc::clone(&self.transport),
                parallel::Pin::new(target, &head)?,
                body,
                last,
                self.config.concurrency,
            )),
        };
        let mut resumes = 0u32;
        loop {
            let chunk = match next_chunk(&mut body).await {
                None => break,
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    // A parallel body already retried its ranges.
                    let e = match parallel::take_transport_client_error(e) {
                        Ok(failed) => return Err(failed),
                        Err(e) => e,
                    };
                    if dec.received() >= dec.expected() {
                        break;
                    }
                    if resumes >= MAX_RESUMES {
                        return Err(e.into());
                    }
                    let Ok(req) = get::resume_request(target, &head, dec.received()) else {
                        return Err(e.into());
                    };
                    resumes += 1;
                    body = self
                        .pinned_body(&req, dec.received(), dec.expected() - 1, &head)
                        .await?;
                    continue;
                }
            };
            // Chunks can be large (the SDK hands out what it got); feed them
            // in CHUNK slices so the scratch buffer stays bounded.
            for piece in chunk.chunks(CHUNK) {
                match dec.push(piece, &mut scratch)? {
                    Step::Nothing => {}
                    Step::Plaintext => {
                        out.write_all(&scratch).await?;
                        written += scratch.len() as u64;
                    }
                    Step::Ciphertext => {
                        if let Some(f) = spool.as_mut() {
                            f.write_all(&scratch).await?;
                        }
                    }
                }
            }
        }
        drop(body);
        match dec.finish(&mut scratch)? {
            Finished::Plaintext => {
                out.write_all(&scratch).await?;
                written += scratch.len() as u64;
            }
            Finished::Verified(verified) => {
                let Some(mut file) = spool.take() else {
                    return Err(ClientError::Io(std::io::Error::other("no spool file")));
                };
                file.flush().await?;
                let mut file = tokio::io::BufReader::with_capacity(SPOOL_BUFFER, file.into_inner());
                file.seek(SeekFrom::Start(0)).await?;
                let mut buf = vec![0u8; CHUNK];
                let mut offset = 0u64;
                let total = verified.len();
                while offset < total {
                    let want = usize::try_from(total - offset).unwrap_or(CHUNK).min(CHUNK);
                    let b = &mut buf[..want];
                    file.read_exact(b).await?;
                    verified
                        .decrypt_at(offset, b)
                        .map_err(ClientError::from_content)?;
                    out.write_all(b).await?;
                    written += want as u64;
                    offset += want as u64;
                }
            }
        }
        out.flush().await?;
        Ok(GetOutput {
            info: opened.info,
            plaintext_len: written,
            etag: head.etag.clone(),
            mode: plan.mode(),
            object: get::user_view(head),
        })
    }

    /// The first GET of a get and the range it asked for (see
    /// [`crate::Client`]'s twin).
    async fn first_response(
        &self,
        target: &GetTarget<'_>,
    ) -> Result<(AsyncGetResponse, Option<ByteRange>), ClientError> {
        // Ranges run as tokio tasks; outside a tokio runtime (another
        // executor) a get is one streamed GET.
        let concurrency = if tokio::runtime::Handle::try_current().is_ok() {
            self.config.concurrency
        } else {
            1
        };
        let req = parallel::first_request(target, concurrency, self.config.part_size);
        match self.transport.get_object(&req).await {
            Ok(resp) => Ok((resp, req.range)),
            Err(e) if req.range.is_some() && e.kind == ErrorKind::InvalidRange => {
                let whole = target.get();
                Ok((self.transport.get_object(&whole).await?, None))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A pinned ranged GET whose answer must cover `first..=last` of the
    /// version `head` describes.
    async fn pinned_body(
        &self,
        req: &GetRequest<'_>,
        first: u64,
        last: u64,
        head: &ObjectHead,
    ) -> Result<AsyncBody, ClientError> {
        let resp = self.transport.get_object(req).await.map_err(get::pinned)?;
        get::check_content_range(resp.content_range, first, last, head.content_length)?;
        Ok(resp.body)
    }

    /// Decrypt plaintext bytes `first..=last` into `out`; **unauthenticated**
    /// and gated like [`crate::Client::get_object_range`].
    pub async fn get_object_range(
        &self,
        bucket: &str,
        key: &str,
        first: u64,
        last: u64,
        out: &mut (dyn AsyncWrite + Unpin + Send),
    ) -> Result<RangeOutput, ClientError> {
        self.get_object_range_with(bucket, key, first, last, out, &GetOptions::default())
            .await
    }

    /// [`get_object_range`](Self::get_object_range) with per-get options.
    pub async fn get_object_range_with(
        &self,
        bucket: &str,
        key: &str,
        first: u64,
        last: u64,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        opts: &GetOptions,
    ) -> Result<RangeOutput, ClientError> {
        let range = if last == u64::MAX {
            PlaintextRange::From(first)
        } else {
            PlaintextRange::Bounded { first, last }
        };
        self.get_range(bucket, key, range, out, opts).await
    }

    /// Decrypt a plaintext range in any of the three HTTP forms;
    /// **unauthenticated**, gated and pinned like
    /// [`crate::Client::get_range`].
    pub async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        range: PlaintextRange,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        opts: &GetOptions,
    ) -> Result<RangeOutput, ClientError> {
        get::check_ranged_gets_enabled(&self.config)?;
        let target = GetTarget::new(bucket, key, opts);
        let head = self.transport.head_object(&target.head()).await?;
        let opened = self.open(&target, &head, opts).await?;
        let resolved = get::resolve_range(&opened.info, head.content_length, range)?;
        let Some((rplan, object_plaintext_len)) = resolved.plan else {
            out.flush().await?;
            return Ok(get::range_output(
                opened.info,
                resolved.first,
                0,
                resolved.len,
                head,
            ));
        };
        let mut dec = RangeDecoder::new(opened.key, &rplan);
        let req = get::range_request(&target, &head, dec.offset(), rplan.fetch_last)?;
        let mut body = self
            .pinned_body(&req, dec.offset(), rplan.fetch_last, &head)
            .await?;
        let mut scratch = Vec::with_capacity(CHUNK);
        let mut written = 0u64;
        let mut resumes = 0u32;
        while !dec.is_done() {
            let chunk = match next_chunk(&mut body).await {
                None => {
                    return Err(ClientError::UnexpectedBodyLength {
                        expected: rplan.fetch_last - rplan.fetch_first + 1,
                        received: dec.offset() - rplan.fetch_first,
                    })
                }
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    if resumes >= MAX_RESUMES {
                        return Err(e.into());
                    }
                    resumes += 1;
                    let req = get::range_request(&target, &head, dec.offset(), rplan.fetch_last)?;
                    body = self
                        .pinned_body(&req, dec.offset(), rplan.fetch_last, &head)
                        .await?;
                    continue;
                }
            };
            for piece in chunk.chunks(CHUNK) {
                dec.push(piece, &mut scratch)?;
                out.write_all(&scratch).await?;
                written += scratch.len() as u64;
            }
        }
        out.flush().await?;
        Ok(get::range_output(
            opened.info,
            resolved.first,
            written,
            object_plaintext_len,
            head,
        ))
    }

    /// HEAD `bucket`/`key` (a version of it with
    /// [`GetOptions::version_id`]) and read its envelope, without
    /// decrypting anything or asking the keyring: the plaintext length,
    /// content type, user metadata (the envelope's keys taken out), ETag,
    /// version id, last modified, storage class, and how it is protected.
    /// A plaintext object is [`ClientError::NotEncrypted`].
    pub async fn head_object_with(
        &self,
        bucket: &str,
        key: &str,
        opts: &GetOptions,
    ) -> Result<HeadOutput, ClientError> {
        self.ops().head_object_with(bucket, key, opts).await
    }

    /// Read the envelope without decrypting; see
    /// [`crate::Client::inspect_object`].
    pub async fn inspect_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<EnvelopeInfo, ClientError> {
        self.ops().inspect_object(bucket, key).await
    }

    /// Delete the object and its instruction file; see
    /// [`crate::Client::delete_object`].
    // spec: client.md#required-api-operations/5-7
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), ClientError> {
        self.ops().delete_object(bucket, key).await
    }

    /// Delete several objects, each with its instruction file (spec
    /// `client.md`: DeleteObjects MUST delete each of the given objects and
    /// each of the corresponding instruction files, default suffix). Every
    /// key is attempted, one [`delete_object`](Self::delete_object) each, in turn;
    /// the ones that failed come back in [`ClientError::DeleteFailed`].
    // spec: client.md#required-api-operations/8-10
    pub async fn delete_objects(&self, bucket: &str, keys: &[&str]) -> Result<(), ClientError> {
        self.ops().delete_objects(bucket, keys).await
    }
}

fn new_part_buffer(part_size: usize, len: Option<u64>) -> Vec<u8> {
    Vec::with_capacity(
        len.map_or(part_size, |l| usize::try_from(l).unwrap_or(part_size))
            .min(part_size)
            + 16,
    )
}

async fn read_part(
    body: &mut (impl AsyncRead + Unpin + Send),
    cursor: &mut PartCursor,
    buf: &mut Vec<u8>,
) -> Result<bool, ClientError> {
    cursor.begin(buf);
    let want = cursor.want(buf) as u64;
    (&mut *body).take(want).read_to_end(buf).await?;
    let peeked = if cursor.needs_peek(buf) {
        let mut one = [0u8; 1];
        match body.read(&mut one).await? {
            0 => None,
            _ => Some(one[0]),
        }
    } else {
        None
    };
    cursor.end(buf, peeked)
}

/// Low-level multipart uploads, part by part, resumable in another process
/// (see [`crate::multipart`]; the blocking twins on [`crate::Client`]).
impl AsyncClient {
    /// Start an encrypted multipart upload (see
    /// [`Client::create_multipart_upload`](crate::Client::create_multipart_upload)).
    pub async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        opts: &PutOptions,
    ) -> Result<MultipartUpload, ClientError> {
        self.ops().create_multipart_upload(bucket, key, opts).await
    }

    /// Encrypt and upload the next part (see
    /// [`Client::upload_part`](crate::Client::upload_part)).
    pub async fn upload_part(
        &self,
        upload: &mut MultipartUpload,
        part_number: u32,
        body: impl Into<Vec<u8>>,
        last: bool,
    ) -> Result<CompletedPart, ClientError> {
        self.ops()
            .upload_part(upload, part_number, body.into(), last)
            .await
    }

    /// Complete the upload, then write the instruction file if any.
    pub async fn complete_multipart_upload(
        &self,
        upload: &MultipartUpload,
    ) -> Result<CompletedUpload, ClientError> {
        self.ops().complete_multipart_upload(upload).await
    }

    /// Abort the upload.
    pub async fn abort_multipart_upload(
        &self,
        upload: &MultipartUpload,
    ) -> Result<(), ClientError> {
        self.ops().abort_multipart_upload(upload).await
    }

    /// Continue an upload saved with [`MultipartUpload::save`].
    pub async fn resume_multipart_upload(
        &self,
        state: &[u8],
    ) -> Result<MultipartUpload, ClientError> {
        self.ops().resume_multipart_upload(state).await
    }
}

/// Key rotation (see [`crate::rotate`]; the blocking twin is
/// [`Client::rotate_object`](crate::Client::rotate_object)).
impl AsyncClient {
    /// Rewrap the data key of `bucket`/`key` from this client's keyring to
    /// `new_keyring`, leaving the body untouched.
    pub async fn rotate_object(
        &self,
        bucket: &str,
        key: &str,
        new_keyring: &dyn AsyncKeyring,
        opts: &RotateOptions,
    ) -> Result<RotateOutput, ClientError> {
        self.ops()
            .rotate_object(bucket, key, new_keyring, opts)
            .await
    }
}

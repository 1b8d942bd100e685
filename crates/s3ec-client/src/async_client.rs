//! The async client: the same operations as [`crate::Client`] over an
//! [`AsyncTransport`] and an [`AsyncKeyring`], with tokio I/O. It shares
//! the codec, the decrypt state machine ([`crate::get`]) and the part
//! bookkeeping ([`crate::put`]) with the blocking client; only the I/O
//! loops differ.

use std::future::poll_fn;
use std::io::SeekFrom;
use std::sync::Arc;

use bytes::Bytes;
use s3ec_core::cipher::GcmEncryptor;
use s3ec_core::envelope::INSTRUCTION_FILE_SUFFIX;
use s3ec_keyring::{AsyncKeyring, Context};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt};

use crate::codec::{self, EnvelopeInfo, OpenedEnvelope};
use crate::config::{AsyncClientBuilder, ClientConfig};
use crate::error::ClientError;
use crate::get::{
    self, check_body_length, instruction_file_key, BodyDecoder, Finished, GetOptions, GetOutput,
    Plan, RangeDecoder, RangeOutput, Step, CHUNK, MAX_RESUMES,
};
use crate::put::{
    self, check_declared_length, encrypt_part, next_part_number, PartCursor, PutOptions, PutOutput,
};
use crate::transport::{
    AsyncBody, AsyncGetResponse, AsyncTransport, CompletedPart, ErrorKind, GetRequest, Metadata,
    ObjectHead, PutRequest, TransportError,
};
use crate::Backend;

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
/// use s3ec_client::AsyncClient;
/// use s3ec_keyring::{Context, Local};
/// # use s3ec_client::transport::*;
/// # use s3ec_keyring::BoxFuture;
/// # #[derive(Debug)] struct MyS3;
/// # impl AsyncTransport for MyS3 {
/// #   fn head_object<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<ObjectHead, TransportError>> { unimplemented!() }
/// #   fn get_object<'a>(&'a self, _: &'a GetRequest<'a>) -> BoxFuture<'a, Result<AsyncGetResponse, TransportError>> { unimplemented!() }
/// #   fn put_object<'a>(&'a self, _: &'a PutRequest<'a>, _: bytes::Bytes) -> BoxFuture<'a, Result<Option<String>, TransportError>> { unimplemented!() }
/// #   fn delete_object<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), TransportError>> { unimplemented!() }
/// #   fn create_multipart_upload<'a>(&'a self, _: &'a PutRequest<'a>) -> BoxFuture<'a, Result<String, TransportError>> { unimplemented!() }
/// #   fn upload_part<'a>(&'a self, _: &'a str, _: &'a str, _: &'a str, _: u32, _: bytes::Bytes) -> BoxFuture<'a, Result<String, TransportError>> { unimplemented!() }
/// #   fn complete_multipart_upload<'a>(&'a self, _: &'a str, _: &'a str, _: &'a str, _: &'a [CompletedPart]) -> BoxFuture<'a, Result<Option<String>, TransportError>> { unimplemented!() }
/// #   fn abort_multipart_upload<'a>(&'a self, _: &'a str, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), TransportError>> { unimplemented!() }
/// # }
/// let keyring = Local(s3ec_local::AesKeyring::new(&[7u8; 32])?);
/// let client = AsyncClient::builder(MyS3, keyring).part_size(16 << 20).build()?;
/// # let _ = client;
/// // client.put_object("bucket", "key", tokio::fs::File::open(path).await?, None, &Context::new()).await?;
/// // client.get_object("bucket", "key", &mut tokio::io::stdout(), None).await?;
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

/// The next chunk of an async body.
async fn next_chunk(body: &mut AsyncBody) -> Option<Result<Bytes, TransportError>> {
    poll_fn(|cx| body.as_mut().poll_next(cx)).await
}

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
            instruction_file: None,
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
        let part_size = usize::try_from(self.config.part_size).unwrap_or(usize::MAX);
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
        let req = PutRequest {
            bucket,
            key,
            metadata: &sealed.object_metadata,
        };
        let (etag, parts) = if last {
            encrypt_part(&mut encryptor, &mut buf, true)?;
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
            self.put_instruction_file(bucket, key, json).await?;
        }
        Ok(PutOutput {
            etag,
            format,
            placement,
            plaintext_len: cursor.read(),
            parts,
        })
    }

    async fn upload_parts(
        &self,
        req: &PutRequest<'_>,
        upload_id: &str,
        body: &mut (impl AsyncRead + Unpin + Send),
        cursor: &mut PartCursor,
        mut buf: Vec<u8>,
        encryptor: &mut Option<GcmEncryptor<Backend>>,
    ) -> Result<(Option<String>, u32), ClientError> {
        let mut parts = Vec::new();
        let mut number = 0u32;
        // The first part was read by the caller and is not the last.
        let mut last = false;
        loop {
            number = next_part_number(number, cursor.part_size)?;
            encrypt_part(encryptor, &mut buf, last)?;
            // The finished part goes to the transport (which may resend it);
            // its buffer comes back for the next part when the transport has
            // let go of it (else a fresh one: about two parts in memory).
            let part = Bytes::from(std::mem::take(&mut buf));
            let etag = self
                .transport
                .upload_part(req.bucket, req.key, upload_id, number, part.clone())
                .await?;
            parts.push(CompletedPart {
                part_number: number,
                etag,
            });
            if last {
                break;
            }
            buf = match put::try_reclaim(part) {
                Ok(reused) => reused,
                Err(_) => new_part_buffer(cursor.part_size, None),
            };
            last = read_part(body, cursor, &mut buf).await?;
        }
        let etag = self
            .transport
            .complete_multipart_upload(req.bucket, req.key, upload_id, &parts)
            .await?;
        Ok((etag, number))
    }

    async fn put_instruction_file(
        &self,
        bucket: &str,
        key: &str,
        json: &str,
    ) -> Result<(), ClientError> {
        let (ikey, metadata) = put::instruction_file_put(key);
        let req = PutRequest {
            bucket,
            key: &ikey,
            metadata: &metadata,
        };
        match self
            .transport
            .put_object(&req, Bytes::copy_from_slice(json.as_bytes()))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let delete = self.transport.delete_object(bucket, key).await;
                Err(put::after_instruction_file_failure(e, delete, key))
            }
        }
    }

    async fn instruction_file(
        &self,
        bucket: &str,
        key: &str,
        metadata: &Metadata,
        suffix: &str,
    ) -> Result<Option<String>, ClientError> {
        let Some((ikey, required)) = get::instruction_file_lookup(metadata, key, suffix)? else {
            return Ok(None);
        };
        let fallback = get::fallback_instruction_file_key(key, suffix, required);
        for k in std::iter::once(&ikey).chain(fallback.as_ref()) {
            let req = GetRequest {
                bucket,
                key: k,
                range: None,
                if_match: None,
            };
            match self.transport.get_object(&req).await {
                Ok(resp) => return read_instruction_file(resp).await.map(Some),
                Err(e) if e.kind == ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(get::instruction_file_not_found(ikey, required))
    }

    async fn open(
        &self,
        bucket: &str,
        key: &str,
        head: &ObjectHead,
        opts: &GetOptions,
    ) -> Result<OpenedEnvelope, ClientError> {
        let suffix = get::suffix(opts, &self.config);
        let instruction = self
            .instruction_file(bucket, key, &head.metadata, suffix)
            .await?;
        codec::open_envelope_async(
            self.keyring.as_ref(),
            &head.metadata,
            instruction.as_deref(),
            &self.config.policy,
            opts.expected_context.as_ref(),
        )
        .await
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
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        expected_context: Option<&Context>,
    ) -> Result<GetOutput, ClientError> {
        let opts = GetOptions {
            expected_context: expected_context.cloned(),
            instruction_file_suffix: None,
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
        let resp = self
            .transport
            .get_object(&GetRequest {
                bucket,
                key,
                range: None,
                if_match: None,
            })
            .await?;
        // Spec decryption.md §Ranged Gets: MUST throw.
        if resp.content_range.is_some() {
            return Err(ClientError::UnexpectedRange);
        }
        let AsyncGetResponse { head, body, .. } = resp;
        let opened = self.open(bucket, key, &head, opts).await?;
        let body_len = head.content_length;
        check_body_length(&opened.info, body_len)?;
        let plan = get::plan(&self.config, opened.info.suite, body_len)?;
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
        let mut body = body;
        let mut resumes = 0u32;
        loop {
            let chunk = match next_chunk(&mut body).await {
                None => break,
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    if dec.received() >= dec.expected() {
                        break;
                    }
                    let Some(etag) = head.etag.as_deref() else {
                        return Err(e.into());
                    };
                    if resumes >= MAX_RESUMES {
                        return Err(e.into());
                    }
                    resumes += 1;
                    body = self
                        .resume(bucket, key, etag, dec.received(), dec.expected())
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
            etag: head.etag,
            mode: plan.mode(),
        })
    }

    async fn resume(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
        from: u64,
        total: u64,
    ) -> Result<AsyncBody, ClientError> {
        let req = get::resume_request(bucket, key, etag, from);
        let resp = self.transport.get_object(&req).await.map_err(get::pinned)?;
        get::check_content_range(resp.content_range, from, total - 1, total)?;
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
        get::check_ranged_gets_enabled(&self.config)?;
        let head = self.transport.head_object(bucket, key).await?;
        let opened = self.open(bucket, key, &head, opts).await?;
        let (rplan, object_plaintext_len) =
            get::range_plan(&opened.info, head.content_length, first, last)?;
        let mut dec = RangeDecoder::new(opened.key, &rplan);
        let mut body = self
            .ranged_body(bucket, key, &head, dec.offset(), rplan.fetch_last)
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
                    if resumes >= MAX_RESUMES || head.etag.is_none() {
                        return Err(e.into());
                    }
                    resumes += 1;
                    body = self
                        .ranged_body(bucket, key, &head, dec.offset(), rplan.fetch_last)
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
        Ok(RangeOutput {
            info: opened.info,
            first,
            len: written,
            object_plaintext_len,
            etag: head.etag,
        })
    }

    async fn ranged_body(
        &self,
        bucket: &str,
        key: &str,
        head: &ObjectHead,
        first: u64,
        last: u64,
    ) -> Result<AsyncBody, ClientError> {
        let req = get::range_request(bucket, key, head, first, last);
        let resp = self.transport.get_object(&req).await.map_err(get::pinned)?;
        get::check_content_range(resp.content_range, first, last, head.content_length)?;
        Ok(resp.body)
    }

    /// Read the envelope without decrypting; see
    /// [`crate::Client::inspect_object`].
    pub async fn inspect_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<EnvelopeInfo, ClientError> {
        let head = self.transport.head_object(bucket, key).await?;
        let instruction = self
            .instruction_file(
                bucket,
                key,
                &head.metadata,
                &self.config.instruction_file_suffix,
            )
            .await?;
        codec::inspect(&head.metadata, instruction.as_deref())
    }

    /// Delete the object and its instruction file; see
    /// [`crate::Client::delete_object`].
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), ClientError> {
        self.transport.delete_object(bucket, key).await?;
        let ikey = instruction_file_key(key, INSTRUCTION_FILE_SUFFIX);
        self.transport.delete_object(bucket, &ikey).await?;
        Ok(())
    }

    /// Delete several objects, each with its instruction file (spec
    /// `client.md`: DeleteObjects MUST delete each of the given objects and
    /// each of the corresponding instruction files, default suffix). Every
    /// key is attempted, one [`delete_object`](Self::delete_object) each, in turn;
    /// the ones that failed come back in [`ClientError::DeleteFailed`].
    pub async fn delete_objects(&self, bucket: &str, keys: &[&str]) -> Result<(), ClientError> {
        let mut failed = Vec::new();
        for k in keys {
            if let Err(e) = self.delete_object(bucket, k).await {
                failed.push((k.to_string(), e));
            }
        }
        get::delete_outcome(failed)
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

async fn read_instruction_file(resp: AsyncGetResponse) -> Result<String, ClientError> {
    get::check_instruction_file_len(resp.head.content_length)?;
    let mut body = resp.body;
    let mut bytes = Vec::new();
    while let Some(chunk) = next_chunk(&mut body).await {
        bytes.extend_from_slice(&chunk?);
        get::check_instruction_file_len(bytes.len() as u64)?;
    }
    String::from_utf8(bytes).map_err(|_| ClientError::InstructionFileNotUtf8)
}

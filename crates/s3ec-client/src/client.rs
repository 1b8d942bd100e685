//! The blocking client.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{mpsc, Arc};

use s3ec_keyring::{Context, Keyring, Local};

mod presign;

use crate::codec::{self, EnvelopeInfo, OpenedEnvelope};
use crate::config::{ClientBuilder, ClientConfig};
use crate::error::ClientError;
use crate::get::{
    self, check_body_length, BodyDecoder, Finished, GetOptions, GetOutput, GetTarget, HeadOutput,
    PlaintextRange, Plan, RangeDecoder, RangeOutput, Step, CHUNK, MAX_RESUMES,
};
use crate::multipart::{CompletedUpload, MultipartUpload};
use crate::ops::Ops;
use crate::parallel::{self, FirstAnswer, ParallelBody, PartWindow};
use crate::put::{
    self, check_declared_length, encrypt_part, next_part_number, reclaim, PartCursor, PutOptions,
    PutOutput,
};
use crate::ready::{run, Ready};
use crate::rotate::{RotateOptions, RotateOutput};
use crate::transport::{
    ByteRange, Bytes, CompleteRequest, CompletedPart, ErrorKind, GetRequest, GetResponse,
    ObjectHead, PartRequest, PutFields, PutRequest, Transport,
};
use crate::writeback::WritebackFile;

/// The blocking S3 Encryption Client: encrypts on put, decrypts and
/// authenticates on get, over any [`Transport`] and [`Keyring`].
///
/// Cheap to clone (the transport and keyring are shared).
///
/// ```
/// use s3ec_client::{Client, Context};
///
/// // Any Transport: `s3ec_reqwest::ReqwestTransport::from_env()?` for S3 or
/// // an S3-compatible server; here a local folder that stands in for S3.
/// # let dir = tempfile::tempdir()?;
/// let s3 = s3ec_fs::FsStore::new(dir.path())?;
/// let keyring = s3ec_local::AesKeyring::new(&[7u8; 32])?;
/// let client = Client::builder(s3, keyring).build()?;
///
/// let out = client.put_object("bucket", "hello.txt", &b"hello, world"[..], Some(12), &Context::new())?;
/// assert_eq!(out.format, s3ec_core::FormatVersion::V3);
///
/// let mut plaintext = Vec::new();
/// client.get_object("bucket", "hello.txt", &mut plaintext, None)?;
/// assert_eq!(plaintext, b"hello, world");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Client {
    transport: Arc<dyn Transport>,
    keyring: Arc<dyn Keyring>,
    config: ClientConfig,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.transport)
            .field("keyring", &self.keyring)
            .field("config", &self.config)
            .finish()
    }
}

impl Client {
    /// Run `f` with the shared capabilities ([`crate::ops`]) over this
    /// client's blocking transport and keyring (see [`crate::ready`]).
    fn with_ops<R>(&self, f: impl FnOnce(&Ops<'_>) -> R) -> R {
        let transport = Ready(self.transport.as_ref());
        let keyring = Local(self.keyring.as_ref());
        f(&Ops {
            transport: &transport,
            keyring: &keyring,
            config: &self.config,
        })
    }
}

impl ClientBuilder {
    /// Check the settings and make the client.
    pub fn build(self) -> Result<Client, ClientError> {
        let (transport, keyring, config) = self.validated()?;
        Ok(Client {
            transport,
            keyring,
            config,
        })
    }
}

impl Client {
    /// Start configuring a client over `transport` with `keyring` (for a
    /// key rotation, a [`s3ec_keyring::Keyrings`]).
    ///
    /// ```
    /// use s3ec_client::{Client, GetStrategy};
    /// use s3ec_core::CommitmentPolicy;
    /// use s3ec_keyring::LegacyOptions;
    /// # let dir = tempfile::tempdir()?;
    /// let s3 = s3ec_fs::FsStore::new(dir.path())?; // or s3ec_reqwest::ReqwestTransport
    /// let keyring = s3ec_local::AesKeyring::new(&[7u8; 32])?;
    /// let client = Client::builder(s3, keyring)
    ///     // Read old V2 objects during a migration (V3 is still written).
    ///     .commitment_policy(CommitmentPolicy::RequireEncryptAllowDecrypt)
    ///     .legacy(LegacyOptions::default())
    ///     .instruction_file_puts(false)
    ///     .get_strategy(GetStrategy::Auto {
    ///         buffer_up_to: 16 << 20,
    ///         spool_dir: Some(std::env::temp_dir()),
    ///     })
    ///     .part_size(16 << 20)
    ///     .build()?;
    /// assert_eq!(client.config().part_size(), 16 << 20);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(
        transport: impl Transport + 'static,
        keyring: impl Keyring + 'static,
    ) -> ClientBuilder {
        ClientBuilder::with_parts(Arc::new(transport), Arc::new(keyring))
    }

    /// [`builder`](Self::builder) with a transport and a keyring shared
    /// with other clients.
    pub fn builder_shared(
        transport: Arc<dyn Transport>,
        keyring: Arc<dyn Keyring>,
    ) -> ClientBuilder {
        ClientBuilder::with_parts(transport, keyring)
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// This client with another
    /// [`concurrency`](crate::config::Builder::concurrency) (same transport
    /// and keyring), e.g. for one large transfer; the request builders'
    /// `.concurrency(n)` use it.
    pub fn with_concurrency(&self, n: usize) -> Result<Client, ClientError> {
        Ok(Client {
            transport: Arc::clone(&self.transport),
            keyring: Arc::clone(&self.keyring),
            config: self.config.with_concurrency(n)?,
        })
    }

    /// Encrypt `body` and store it as `bucket`/`key` with the client's
    /// envelope storage and the encryption context `context` (pass an
    /// empty one for raw-key keyrings). `len` is the body's length if known
    /// (then the reader must give exactly that many bytes).
    ///
    /// Bodies up to the part size go as one PUT, larger ones as a
    /// multipart upload that is aborted on any error. Memory: about one
    /// part. See [`crate::put`] for the order of writes.
    ///
    /// ```
    /// # use s3ec_client::{Client, Context};
    /// # let dir = tempfile::tempdir()?;
    /// let s3 = s3ec_fs::FsStore::new(dir.path())?;
    /// let client = Client::builder(s3.clone(), s3ec_local::AesKeyring::new(&[1u8; 32])?).build()?;
    /// let file = std::io::Cursor::new(vec![0u8; 1000]); // any `Read`, e.g. a File
    /// let out = client.put_object("bucket", "data.bin", file, None, &Context::new())?;
    /// assert_eq!(out.plaintext_len, 1000);
    /// // Stored: 1000 bytes of ciphertext and the 16-byte tag.
    /// assert_eq!(std::fs::metadata(s3.object_path("bucket", "data.bin")?)?.len(), 1016);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    // spec: client.md#required-api-operations/3-4
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: impl Read,
        len: Option<u64>,
        context: &Context,
    ) -> Result<PutOutput, ClientError> {
        let opts = PutOptions {
            context: context.clone(),
            ..PutOptions::default()
        };
        self.put_object_with(bucket, key, body, len, &opts)
    }

    /// [`put_object`](Self::put_object) with per-put options (envelope
    /// storage).
    pub fn put_object_with(
        &self,
        bucket: &str,
        key: &str,
        mut body: impl Read,
        len: Option<u64>,
        opts: &PutOptions,
    ) -> Result<PutOutput, ClientError> {
        let placement = put::placement(opts, &self.config);
        put::object_metadata(&Vec::new(), &opts.metadata)?;
        // validate() checked that the part size fits usize.
        let part_size = usize::try_from(parallel::part_size_for(self.config.part_size, len))
            .unwrap_or(usize::MAX);
        check_declared_length(len, part_size)?;
        let mut cursor = PartCursor::new(part_size, len);
        let mut buf = Vec::with_capacity(
            len.map_or(part_size, |l| usize::try_from(l).unwrap_or(part_size))
                .min(part_size)
                + 16,
        );
        let last = read_part(&mut body, &mut cursor, &mut buf)?;
        // A body that fits one part has a known length now.
        let recorded_len = cursor.recorded_len(last);
        let sealed = codec::seal(
            self.keyring.as_ref(),
            self.config.policy.commitment,
            &opts.context,
            placement,
            recorded_len,
        )?;
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
            (self.transport.put_object(&req, Bytes::from(buf))?, None)
        } else {
            let upload_id = self.transport.create_multipart_upload(&req)?;
            let result = self.upload_parts(
                &req,
                &upload_id,
                &mut body,
                &mut cursor,
                &mut buf,
                &mut encryptor,
            );
            match result {
                Ok((etag, parts)) => (etag, Some(parts)),
                Err(e) => {
                    let abort = self
                        .transport
                        .abort_multipart_upload(bucket, key, &upload_id);
                    return Err(put::after_abort(e, abort, key, upload_id));
                }
            }
        };
        if let Some(json) = &sealed.instruction_file {
            self.put_instruction_file(bucket, key, json, &opts.fields)?;
        }
        Ok(PutOutput {
            etag,
            format,
            placement,
            plaintext_len: cursor.read(),
            parts,
        })
    }

    /// Upload the parts of a multipart upload whose first part is in `buf`;
    /// returns the object's entity tag and the part count.
    ///
    /// The cipher runs in order on this thread while up to
    /// [`concurrency`](crate::config::Builder::concurrency) finished parts
    /// are uploaded by scoped threads (see [`crate::parallel`]). On any
    /// failure no more parts start and the parts in flight end before this
    /// returns, so the abort that follows leaves no part behind.
    fn upload_parts(
        &self,
        req: &PutRequest<'_>,
        upload_id: &str,
        body: &mut impl Read,
        cursor: &mut PartCursor,
        buf: &mut Vec<u8>,
        encryptor: &mut Option<s3ec_core::cipher::GcmEncryptor<crate::backend::Backend>>,
    ) -> Result<(Option<String>, u32), ClientError> {
        let transport = self.transport.as_ref();
        let part_size = cursor.part_size;
        let mut window = PartWindow::new(self.config.concurrency);
        let mut number = 0u32;
        let mut spare: Vec<Vec<u8>> = Vec::new();
        std::thread::scope(|s| {
            let (tx, rx) = mpsc::channel::<(Result<CompletedPart, ClientError>, Bytes)>();
            let landed =
                |window: &mut PartWindow,
                 spare: &mut Vec<Vec<u8>>,
                 done: (Result<CompletedPart, ClientError>, Bytes)| {
                    window.done(done.0);
                    // Take the buffer back for a next part: without this, every
                    // part would cost a fresh part-sized allocation (and the
                    // allocator's peak grows with them).
                    spare.push(reclaim(done.1, part_size));
                };
            // The first part was read by the caller and is not the last.
            let mut last = false;
            let mut more = true;
            loop {
                while let Ok(done) = rx.try_recv() {
                    landed(&mut window, &mut spare, done);
                }
                if !more || window.failed() || !window.has_room() {
                    if !window.busy() {
                        break;
                    }
                    if let Ok(done) = rx.recv() {
                        landed(&mut window, &mut spare, done);
                    }
                    continue;
                }
                let sealed = next_part_number(number, part_size).and_then(|n| {
                    encrypt_part(encryptor, buf, last)?;
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
                let checksum = put::checksum_of(req.fields, buf);
                let part = Bytes::from(std::mem::take(buf));
                window.started();
                let tx = tx.clone();
                let req = *req;
                s.spawn(move || {
                    let preq = PartRequest {
                        bucket: req.bucket,
                        key: req.key,
                        upload_id,
                        part_number: n,
                        checksum: checksum.as_ref(),
                        fields: req.fields,
                    };
                    // A transport that panics must not leave this loop
                    // waiting for a part that never lands.
                    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run(parallel::upload_part(&Ready(transport), &preq, &part))
                    }))
                    .unwrap_or_else(|_| {
                        Err(ClientError::Io(io::Error::other("the transport panicked")))
                    });
                    let result = sent.map(|etag| CompletedPart {
                        part_number: n,
                        etag,
                        checksum,
                    });
                    let _ = tx.send((result, part));
                });
                if last {
                    more = false;
                    continue;
                }
                *buf = spare
                    .pop()
                    .unwrap_or_else(|| Vec::with_capacity(part_size.saturating_add(16)));
                match read_part(body, cursor, buf) {
                    Ok(l) => last = l,
                    Err(e) => window.fail(e),
                }
            }
        });
        let parts = window.finish()?;
        let etag = self.transport.complete_multipart_upload(&CompleteRequest {
            bucket: req.bucket,
            key: req.key,
            upload_id,
            parts: &parts,
            fields: req.fields,
        })?;
        Ok((etag, number))
    }

    /// PUT the instruction file of `key`; if that fails, delete the object
    /// (undecryptable without it).
    fn put_instruction_file(
        &self,
        bucket: &str,
        key: &str,
        json: &str,
        fields: &PutFields,
    ) -> Result<(), ClientError> {
        self.with_ops(|ops| run(ops.put_instruction_file(bucket, key, json, fields)))
    }

    /// Read the object's envelope and unwrap its data key.
    fn open(
        &self,
        target: &GetTarget<'_>,
        head: &ObjectHead,
        opts: &GetOptions,
    ) -> Result<OpenedEnvelope, ClientError> {
        self.with_ops(|ops| run(ops.open(target, head, opts)))
    }

    /// Download, authenticate and decrypt `bucket`/`key` into `out`.
    ///
    /// Authenticated by default: **nothing is written to `out` before the
    /// GCM tag has been verified**, with the memory bound of the client's
    /// [`GetStrategy`](crate::GetStrategy) (in memory, or through a
    /// temporary file). The version read is pinned by its entity tag: a
    /// body that breaks off is resumed with a ranged GET carrying
    /// `If-Match`, and a changed object fails with
    /// [`ClientError::ObjectChanged`]. A plaintext object fails with
    /// [`ClientError::NotEncrypted`]. Legacy CBC objects (only with legacy
    /// unauthenticated modes) are **unauthenticated** and streamed; under
    /// the `danger` delayed authentication mode GCM objects are streamed
    /// too and a failed tag check comes after plaintext was written
    /// ([`ClientError::AuthenticationAfterRelease`]).
    ///
    /// `expected_context`: the encryption context the object must carry
    /// (KMS).
    ///
    /// ```
    /// # use s3ec_client::{Client, ClientError, Context};
    /// # let dir = tempfile::tempdir()?;
    /// let s3 = s3ec_fs::FsStore::new(dir.path())?;
    /// let client = Client::builder(s3.clone(), s3ec_local::AesKeyring::new(&[1u8; 32])?).build()?;
    /// client.put_object("bucket", "a", &b"secret"[..], None, &Context::new())?;
    ///
    /// let mut out = Vec::new();
    /// let got = client.get_object("bucket", "a", &mut out, None)?;
    /// assert_eq!((out.as_slice(), got.plaintext_len), (&b"secret"[..], 6));
    ///
    /// // Flip one ciphertext bit: the get fails and `out` receives nothing.
    /// let path = s3.object_path("bucket", "a")?;
    /// let mut stored = std::fs::read(&path)?;
    /// stored[0] ^= 1;
    /// std::fs::write(&path, stored)?;
    /// let mut out = Vec::new();
    /// let err = client.get_object("bucket", "a", &mut out, None).unwrap_err();
    /// assert!(matches!(err, ClientError::Authentication));
    /// assert!(out.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    // spec: client.md#required-api-operations/1-2
    pub fn get_object(
        &self,
        bucket: &str,
        key: &str,
        out: &mut dyn Write,
        expected_context: Option<&Context>,
    ) -> Result<GetOutput, ClientError> {
        let opts = GetOptions {
            expected_context: expected_context.cloned(),
            ..GetOptions::default()
        };
        self.get_object_with(bucket, key, out, &opts)
    }

    /// [`get_object`](Self::get_object) into a new `Vec` (held in memory
    /// whole: for small objects). On error nothing is returned.
    pub fn get_object_to_vec(
        &self,
        bucket: &str,
        key: &str,
        expected_context: Option<&Context>,
    ) -> Result<(Vec<u8>, GetOutput), ClientError> {
        let mut out = Vec::new();
        let got = self.get_object(bucket, key, &mut out, expected_context)?;
        Ok((out, got))
    }

    /// [`get_object`](Self::get_object) with per-get options (expected
    /// context, instruction-file suffix, version id, expected owner,
    /// request payer).
    pub fn get_object_with(
        &self,
        bucket: &str,
        key: &str,
        out: &mut dyn Write,
        opts: &GetOptions,
    ) -> Result<GetOutput, ClientError> {
        self.get_into(&GetTarget::new(bucket, key, opts), out, opts, false)
    }

    /// Download, authenticate and decrypt `bucket`/`key` into the file
    /// `path`, in one pass and without a spool file.
    ///
    /// The plaintext goes into a temporary file in `path`'s folder (created
    /// readable by the owner only) as the body arrives; once the whole
    /// body is in and its tag verified, the file is synced and renamed to
    /// `path`. **Nothing appears at `path` before the object is
    /// authenticated**, and on any failure the temporary file is removed and
    /// an existing `path` is left as it was. The file keeps owner-only
    /// permissions. Memory: one 64 KiB chunk whatever the object's size.
    ///
    /// ```
    /// use s3ec_client::{Client, Context, GetOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let s3 = s3ec_fs::FsStore::new(dir.path().join("s3"))?;
    /// # let client = Client::builder(s3, s3ec_local::AesKeyring::new(&[1u8; 32])?).build()?;
    /// client.put_object("bucket", "big.bin", &[7u8; 100_000][..], None, &Context::new())?;
    ///
    /// let dest = dir.path().join("big.bin");
    /// let got = client.get_object_to_path("bucket", "big.bin", &dest, &GetOptions::default())?;
    /// assert_eq!((got.plaintext_len, std::fs::read(&dest)?), (100_000, vec![7u8; 100_000]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_object_to_path(
        &self,
        bucket: &str,
        key: &str,
        path: impl AsRef<Path>,
        opts: &GetOptions,
    ) -> Result<GetOutput, ClientError> {
        let path = path.as_ref();
        let tmp = get::temp_file_beside(path)?;
        let got = {
            // The disk writes while the download goes on: the sync before
            // the file is published then waits for the tail only.
            let file = WritebackFile::new(tmp.as_file())?;
            let mut w = io::BufWriter::with_capacity(CHUNK, file);
            let got = self
                .get_into(&GetTarget::new(bucket, key, opts), &mut w, opts, true)
                .map_err(get::unreleased)?;
            w.flush()?;
            w.into_inner()
                .map_err(|e| ClientError::Io(e.into_error()))?
                .finish()?;
            got
        };
        get::persist(tmp, path)?;
        Ok(got)
    }

    /// The get loop: `one_pass` decrypts GCM bodies as they arrive (for a
    /// private temporary file that is published only after the tag).
    fn get_into(
        &self,
        target: &GetTarget<'_>,
        out: &mut dyn Write,
        opts: &GetOptions,
        one_pass: bool,
    ) -> Result<GetOutput, ClientError> {
        let (resp, asked) = self.first_response(target)?;
        // Spec decryption.md §Ranged Gets: a ranged response to a request
        // without a range MUST be refused.
        // spec: decryption.md#ranged-gets/4
        let answer = parallel::first_answer(asked, resp.content_range)?;
        let GetResponse { head, body, .. } = resp;
        let opened = self.open(target, &head, opts)?;
        let body_len = head.content_length;
        check_body_length(&opened.info, body_len)?;
        let plan = get::plan(&self.config, opened.info.suite, body_len, one_pass)?;
        let mut spool = match &plan {
            // Unnamed where the OS allows it; removed on drop either way.
            Plan::Spool(dir) => Some(tempfile::tempfile_in(dir)?),
            _ => None,
        };
        let mut dec = BodyDecoder::new(&plan, opened.key, body_len)?;
        let mut scratch = Vec::with_capacity(CHUNK + 32);
        let mut written = 0u64;
        let mut emit = |out: &mut dyn Write, data: &[u8]| -> Result<(), ClientError> {
            out.write_all(data)?;
            written += data.len() as u64;
            Ok(())
        };
        let mut chunk = vec![0u8; CHUNK];
        // The rest of a large object: ranges on several connections, pinned
        // to the version just read, handed back in order.
        let mut body: Box<dyn Read + Send> = match answer {
            FirstAnswer::Whole => body,
            FirstAnswer::Partial { last } => Box::new(ParallelBody::start(
                Arc::clone(&self.transport),
                parallel::Pin::new(target, &head)?,
                body,
                last,
                self.config.concurrency,
            )),
        };
        let mut resumes = 0u32;
        loop {
            let n = match body.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // A parallel body already retried its ranges.
                    let e = match parallel::take_client_error(e) {
                        Ok(failed) => return Err(failed),
                        Err(e) => e,
                    };
                    if dec.received() >= dec.expected() {
                        break;
                    }
                    if resumes >= MAX_RESUMES {
                        return Err(ClientError::Io(e));
                    }
                    let Ok(req) = get::resume_request(target, &head, dec.received()) else {
                        return Err(ClientError::Io(e));
                    };
                    resumes += 1;
                    body = self.pinned_body(&req, dec.received(), dec.expected() - 1, &head)?;
                    continue;
                }
            };
            match dec.push(&chunk[..n], &mut scratch)? {
                Step::Nothing => {}
                Step::Plaintext => emit(out, &scratch)?,
                Step::Ciphertext => {
                    if let Some(f) = spool.as_mut() {
                        f.write_all(&scratch)?;
                    }
                }
            }
        }
        drop(body);
        match dec.finish(&mut scratch)? {
            Finished::Plaintext => emit(out, &scratch)?,
            Finished::Verified(verified) => {
                let Some(mut file) = spool.take() else {
                    return Err(ClientError::Io(io::Error::other("no spool file")));
                };
                file.seek(SeekFrom::Start(0))?;
                let mut offset = 0u64;
                let total = verified.len();
                while offset < total {
                    let want = usize::try_from(total - offset).unwrap_or(CHUNK).min(CHUNK);
                    let buf = &mut chunk[..want];
                    file.read_exact(buf)?;
                    verified
                        .decrypt_at(offset, buf)
                        .map_err(ClientError::from_content)?;
                    emit(out, buf)?;
                    offset += want as u64;
                }
            }
        }
        out.flush()?;
        Ok(GetOutput {
            info: opened.info,
            plaintext_len: written,
            etag: head.etag.clone(),
            mode: plan.mode(),
            object: get::user_view(head),
        })
    }

    /// The first GET of a get (the first range when the concurrency allows
    /// several; an empty object, which has no range, whole) and the range
    /// it asked for.
    fn first_response(
        &self,
        target: &GetTarget<'_>,
    ) -> Result<(GetResponse, Option<ByteRange>), ClientError> {
        let req = parallel::first_request(target, self.config.concurrency, self.config.part_size);
        match self.transport.get_object(&req) {
            Ok(resp) => Ok((resp, req.range)),
            Err(e) if req.range.is_some() && e.kind == ErrorKind::InvalidRange => {
                Ok((self.transport.get_object(&target.get())?, None))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A pinned ranged GET whose answer must cover `first..=last` of the
    /// version `head` describes.
    fn pinned_body(
        &self,
        req: &GetRequest<'_>,
        first: u64,
        last: u64,
        head: &ObjectHead,
    ) -> Result<Box<dyn Read + Send>, ClientError> {
        let resp = self.transport.get_object(req).map_err(get::pinned)?;
        get::check_content_range(resp.content_range, first, last, head.content_length)?;
        Ok(resp.body)
    }

    /// Decrypt plaintext bytes `first..=last` of `bucket`/`key` into `out`
    /// (`last` past the end is clamped; `u64::MAX` reads to the end).
    ///
    /// **Unauthenticated**: a range cannot be checked against the tag, so
    /// this needs the legacy unauthenticated modes switch
    /// ([`ClientError::RangedGetDisabled`] otherwise), as in Java. The
    /// commitment policy and, for V3, the key commitment are still checked
    /// first. GCM objects only (V2, V3): the range is widened to whole
    /// blocks (spec `decryption.md` §Ranged Gets) and decrypted as AES-CTR
    /// (suite `0x0071` for V2, `0x0074` for V3). A HEAD reads the envelope
    /// and the length; the ranged GET carries `If-Match` with its entity
    /// tag.
    pub fn get_object_range(
        &self,
        bucket: &str,
        key: &str,
        first: u64,
        last: u64,
        out: &mut dyn Write,
    ) -> Result<RangeOutput, ClientError> {
        self.get_object_range_with(bucket, key, first, last, out, &GetOptions::default())
    }

    /// [`get_object_range`](Self::get_object_range) with per-get options.
    pub fn get_object_range_with(
        &self,
        bucket: &str,
        key: &str,
        first: u64,
        last: u64,
        out: &mut dyn Write,
        opts: &GetOptions,
    ) -> Result<RangeOutput, ClientError> {
        let range = if last == u64::MAX {
            PlaintextRange::From(first)
        } else {
            PlaintextRange::Bounded { first, last }
        };
        self.get_range(bucket, key, range, out, opts)
    }

    /// Decrypt a plaintext range of `bucket`/`key` into `out`: any of the
    /// three forms of an HTTP range (`bytes=a-b`, `bytes=a-`, `bytes=-n`;
    /// see [`PlaintextRange`]). **Unauthenticated**, with the same gate
    /// and checks as [`get_object_range`](Self::get_object_range). Every
    /// GET after the HEAD is pinned to the version the HEAD described (its
    /// version id where the bucket is versioned, and `If-Match` with its
    /// entity tag); a store that gives neither is refused with
    /// [`ClientError::CannotPinVersion`], and an object replaced meanwhile
    /// with [`ClientError::ObjectChanged`].
    ///
    /// ```
    /// use s3ec_client::{Client, Context, GetOptions, LegacyOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let s3 = s3ec_fs::FsStore::new(dir.path())?;
    /// # let keyring = s3ec_local::AesKeyring::new(&[1u8; 32])?;
    /// // A ranged get cannot check the whole object's tag: a legacy option.
    /// let client = Client::builder(s3, keyring)
    ///     .legacy(LegacyOptions { unauthenticated_modes: true, ..Default::default() })
    ///     .build()?;
    /// let log: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    /// client.put_object("bucket", "log.txt", &log[..], None, &Context::new())?;
    ///
    /// let mut tail = Vec::new();
    /// client.get_range("bucket", "log.txt", "bytes=-1024".parse()?, &mut tail, &GetOptions::default())?;
    /// assert_eq!(tail, &log[5000 - 1024..]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_range(
        &self,
        bucket: &str,
        key: &str,
        range: PlaintextRange,
        out: &mut dyn Write,
        opts: &GetOptions,
    ) -> Result<RangeOutput, ClientError> {
        get::check_ranged_gets_enabled(&self.config)?;
        let target = GetTarget::new(bucket, key, opts);
        let head = self.transport.head_object(&target.head())?;
        let opened = self.open(&target, &head, opts)?;
        let resolved = get::resolve_range(&opened.info, head.content_length, range)?;
        let Some((rplan, object_plaintext_len)) = resolved.plan else {
            out.flush()?;
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
        let mut body = self.pinned_body(&req, dec.offset(), rplan.fetch_last, &head)?;
        let mut chunk = vec![0u8; CHUNK];
        let mut scratch = Vec::with_capacity(CHUNK);
        let mut written = 0u64;
        let mut resumes = 0u32;
        while !dec.is_done() {
            let n = match body.read(&mut chunk) {
                Ok(0) => {
                    return Err(ClientError::UnexpectedBodyLength {
                        expected: rplan.fetch_last - rplan.fetch_first + 1,
                        received: dec.offset() - rplan.fetch_first,
                    })
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if resumes >= MAX_RESUMES {
                        return Err(ClientError::Io(e));
                    }
                    resumes += 1;
                    let req = get::range_request(&target, &head, dec.offset(), rplan.fetch_last)?;
                    body = self.pinned_body(&req, dec.offset(), rplan.fetch_last, &head)?;
                    continue;
                }
            };
            dec.push(&chunk[..n], &mut scratch)?;
            out.write_all(&scratch)?;
            written += scratch.len() as u64;
        }
        out.flush()?;
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
    pub fn head_object_with(
        &self,
        bucket: &str,
        key: &str,
        opts: &GetOptions,
    ) -> Result<HeadOutput, ClientError> {
        self.with_ops(|ops| run(ops.head_object_with(bucket, key, opts)))
    }

    /// Read the envelope of `bucket`/`key` (object metadata, or the
    /// instruction file) without decrypting anything or asking the keyring.
    pub fn inspect_object(&self, bucket: &str, key: &str) -> Result<EnvelopeInfo, ClientError> {
        self.with_ops(|ops| run(ops.inspect_object(bucket, key)))
    }

    /// Delete `bucket`/`key` and its instruction file (default suffix; spec
    /// `client.md`: DeleteObject MUST delete the associated instruction
    /// file using the default instruction file suffix). The object goes
    /// first: if that fails the instruction file is kept, so the object
    /// stays readable. Missing objects are not an error.
    // spec: client.md#required-api-operations/5-7
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<(), ClientError> {
        self.with_ops(|ops| run(ops.delete_object(bucket, key)))
    }

    /// Delete several objects, each with its instruction file (spec
    /// `client.md`: DeleteObjects MUST delete each of the given objects and
    /// each of the corresponding instruction files, default suffix). Every
    /// key is attempted, one [`delete_object`](Self::delete_object) each;
    /// the ones that failed come back in [`ClientError::DeleteFailed`].
    // spec: client.md#required-api-operations/8-10
    pub fn delete_objects(&self, bucket: &str, keys: &[&str]) -> Result<(), ClientError> {
        self.with_ops(|ops| run(ops.delete_objects(bucket, keys)))
    }
}

/// Read the next part into `buf` (with one byte of look-ahead); returns
/// whether it is the last one.
fn read_part(
    body: &mut impl Read,
    cursor: &mut PartCursor,
    buf: &mut Vec<u8>,
) -> Result<bool, ClientError> {
    cursor.begin(buf);
    let want = cursor.want(buf) as u64;
    body.by_ref().take(want).read_to_end(buf)?;
    let peeked = if cursor.needs_peek(buf) {
        let mut one = [0u8; 1];
        loop {
            match body.read(&mut one) {
                Ok(0) => break None,
                Ok(_) => break Some(one[0]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    } else {
        None
    };
    cursor.end(buf, peeked)
}

/// Low-level multipart uploads, part by part, resumable in another process
/// (see [`crate::multipart`] for the rules and an example).
impl Client {
    /// Start an encrypted multipart upload of `bucket`/`key`: a fresh data
    /// key from the keyring, the envelope on CreateMultipartUpload (or, with
    /// instruction-file storage, written at completion). `opts`' user
    /// metadata and fields go on CreateMultipartUpload; its checksum
    /// algorithm (a checksum of each part's ciphertext), conditions,
    /// expected owner and request payer also on every part and on
    /// completion, and are kept in [`MultipartUpload::save`]'s state.
    pub fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        opts: &PutOptions,
    ) -> Result<MultipartUpload, ClientError> {
        self.with_ops(|ops| run(ops.create_multipart_upload(bucket, key, opts)))
    }

    /// Encrypt and upload part `part_number` (the next one, see
    /// [`MultipartUpload::next_part_number`]); `last` marks the final part,
    /// which carries the tag. Every part but the last must have at least
    /// 5 MiB. If the upload fails the state does not move on: send the same
    /// part again, with the same bytes.
    // spec: client.md#optional-api-operations/2
    pub fn upload_part(
        &self,
        upload: &mut MultipartUpload,
        part_number: u32,
        body: impl Into<Vec<u8>>,
        last: bool,
    ) -> Result<CompletedPart, ClientError> {
        let body = body.into();
        self.with_ops(|ops| run(ops.upload_part(upload, part_number, body, last)))
    }

    /// Complete the upload (after its last part), then write the
    /// instruction file if the envelope goes in one.
    // spec: client.md#optional-api-operations/5
    pub fn complete_multipart_upload(
        &self,
        upload: &MultipartUpload,
    ) -> Result<CompletedUpload, ClientError> {
        self.with_ops(|ops| run(ops.complete_multipart_upload(upload)))
    }

    /// Abort the upload (S3 discards its parts).
    // spec: client.md#optional-api-operations/6
    pub fn abort_multipart_upload(&self, upload: &MultipartUpload) -> Result<(), ClientError> {
        self.with_ops(|ops| run(ops.abort_multipart_upload(upload)))
    }

    /// Continue an upload saved with [`MultipartUpload::save`], maybe in
    /// another process: the keyring unwraps the data key, the saved cipher
    /// position is checked, and the next part is
    /// [`next_part_number`](MultipartUpload::next_part_number).
    pub fn resume_multipart_upload(&self, state: &[u8]) -> Result<MultipartUpload, ClientError> {
        self.with_ops(|ops| run(ops.resume_multipart_upload(state)))
    }
}

/// Key rotation (see [`crate::rotate`] for the steps and what a failure
/// leaves behind).
impl Client {
    /// Rewrap the data key of `bucket`/`key` from this client's keyring
    /// (the old master key) to `new_keyring`, leaving the body untouched:
    /// a new instruction file (default or custom suffix, like Java's
    /// `reEncryptInstructionFile`), or the object's metadata replaced in
    /// place by a server-side copy pinned to the entity tag read.
    // spec: client.md#optional-api-operations/7-8
    pub fn rotate_object(
        &self,
        bucket: &str,
        key: &str,
        new_keyring: &dyn Keyring,
        opts: &RotateOptions,
    ) -> Result<RotateOutput, ClientError> {
        self.with_ops(|ops| run(ops.rotate_object(bucket, key, &Local(new_keyring), opts)))
    }
}

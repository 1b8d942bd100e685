//! The blocking client.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use s3ec_core::envelope::INSTRUCTION_FILE_SUFFIX;
use s3ec_keyring::{Context, Keyring};

use crate::codec::{self, EnvelopeInfo, OpenedEnvelope};
use crate::config::{ClientBuilder, ClientConfig};
use crate::error::ClientError;
use crate::get::{
    self, check_body_length, instruction_file_key, BodyDecoder, Finished, GetOptions, GetOutput,
    Plan, RangeDecoder, RangeOutput, Step, CHUNK, MAX_INSTRUCTION_FILE, MAX_RESUMES,
};
use crate::put::{
    self, check_declared_length, encrypt_part, next_part_number, reclaim, PartCursor, PutOptions,
    PutOutput,
};
use crate::transport::{
    Bytes, CompletedPart, ErrorKind, GetRequest, GetResponse, Metadata, ObjectHead, PutRequest,
    Transport,
};

/// The blocking S3 Encryption Client: encrypts on put, decrypts and
/// authenticates on get, over any [`Transport`] and [`Keyring`].
///
/// Cheap to clone (the transport and keyring are shared).
///
/// ```
/// use s3ec_client::{Client, ClientError};
/// use s3ec_keyring::Context;
/// # use s3ec_client::transport::*;
/// # use std::collections::HashMap;
/// # use std::sync::{Arc, Mutex};
/// # #[derive(Debug, Default, Clone)]
/// # struct MemS3(Arc<Mutex<HashMap<String, (Metadata, Vec<u8>)>>>);
/// # impl Transport for MemS3 {
/// #   fn head_object(&self, _: &str, k: &str) -> Result<ObjectHead, TransportError> {
/// #     let m = self.0.lock().unwrap();
/// #     let (md, b) = m.get(k).ok_or(TransportError::new(ErrorKind::NotFound, "404"))?;
/// #     Ok(ObjectHead { content_length: b.len() as u64, etag: Some("\"e\"".into()), metadata: md.clone() })
/// #   }
/// #   fn get_object(&self, r: &GetRequest<'_>) -> Result<GetResponse, TransportError> {
/// #     let head = self.head_object(r.bucket, r.key)?;
/// #     let body = self.0.lock().unwrap()[r.key].1.clone();
/// #     Ok(GetResponse { head, content_range: None, body: Box::new(std::io::Cursor::new(body)) })
/// #   }
/// #   fn put_object(&self, r: &PutRequest<'_>, b: Bytes) -> Result<Option<String>, TransportError> {
/// #     self.0.lock().unwrap().insert(r.key.into(), (r.metadata.to_vec(), b.to_vec())); Ok(None)
/// #   }
/// #   fn delete_object(&self, _: &str, k: &str) -> Result<(), TransportError> { self.0.lock().unwrap().remove(k); Ok(()) }
/// #   fn create_multipart_upload(&self, _: &PutRequest<'_>) -> Result<String, TransportError> { unimplemented!() }
/// #   fn upload_part(&self, _: &str, _: &str, _: &str, _: u32, _: Bytes) -> Result<String, TransportError> { unimplemented!() }
/// #   fn complete_multipart_upload(&self, _: &str, _: &str, _: &str, _: &[CompletedPart]) -> Result<Option<String>, TransportError> { unimplemented!() }
/// #   fn abort_multipart_upload(&self, _: &str, _: &str, _: &str) -> Result<(), TransportError> { unimplemented!() }
/// # }
/// # let s3 = MemS3::default();
/// // `s3` is any Transport, e.g. s3ec_reqwest's.
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
    /// # use s3ec_client::transport::*;
    /// # #[derive(Debug)] struct MyS3;
    /// # impl Transport for MyS3 {
    /// #   fn head_object(&self, _: &str, _: &str) -> Result<ObjectHead, TransportError> { unimplemented!() }
    /// #   fn get_object(&self, _: &GetRequest<'_>) -> Result<GetResponse, TransportError> { unimplemented!() }
    /// #   fn put_object(&self, _: &PutRequest<'_>, _: Bytes) -> Result<Option<String>, TransportError> { unimplemented!() }
    /// #   fn delete_object(&self, _: &str, _: &str) -> Result<(), TransportError> { unimplemented!() }
    /// #   fn create_multipart_upload(&self, _: &PutRequest<'_>) -> Result<String, TransportError> { unimplemented!() }
    /// #   fn upload_part(&self, _: &str, _: &str, _: &str, _: u32, _: Bytes) -> Result<String, TransportError> { unimplemented!() }
    /// #   fn complete_multipart_upload(&self, _: &str, _: &str, _: &str, _: &[CompletedPart]) -> Result<Option<String>, TransportError> { unimplemented!() }
    /// #   fn abort_multipart_upload(&self, _: &str, _: &str, _: &str) -> Result<(), TransportError> { unimplemented!() }
    /// # }
    /// let keyring = s3ec_local::AesKeyring::new(&[7u8; 32])?;
    /// let client = Client::builder(MyS3, keyring)
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
    /// # use s3ec_client::{Client, ClientError};
    /// # use s3ec_keyring::Context;
    /// # use s3ec_client::transport::*;
    /// # use std::collections::HashMap;
    /// # use std::sync::{Arc, Mutex};
    /// # #[derive(Debug, Default, Clone)]
    /// # struct MemS3(Arc<Mutex<HashMap<String, (Metadata, Vec<u8>)>>>);
    /// # impl Transport for MemS3 {
    /// #   fn head_object(&self, _: &str, k: &str) -> Result<ObjectHead, TransportError> { unimplemented!() }
    /// #   fn get_object(&self, r: &GetRequest<'_>) -> Result<GetResponse, TransportError> { unimplemented!() }
    /// #   fn put_object(&self, r: &PutRequest<'_>, b: Bytes) -> Result<Option<String>, TransportError> {
    /// #     self.0.lock().unwrap().insert(r.key.into(), (r.metadata.to_vec(), b.to_vec())); Ok(None)
    /// #   }
    /// #   fn delete_object(&self, _: &str, k: &str) -> Result<(), TransportError> { unimplemented!() }
    /// #   fn create_multipart_upload(&self, _: &PutRequest<'_>) -> Result<String, TransportError> { unimplemented!() }
    /// #   fn upload_part(&self, _: &str, _: &str, _: &str, _: u32, _: Bytes) -> Result<String, TransportError> { unimplemented!() }
    /// #   fn complete_multipart_upload(&self, _: &str, _: &str, _: &str, _: &[CompletedPart]) -> Result<Option<String>, TransportError> { unimplemented!() }
    /// #   fn abort_multipart_upload(&self, _: &str, _: &str, _: &str) -> Result<(), TransportError> { unimplemented!() }
    /// # }
    /// # let s3 = MemS3::default();
    /// let client = Client::builder(s3.clone(), s3ec_local::AesKeyring::new(&[1u8; 32])?).build()?;
    /// let file = std::io::Cursor::new(vec![0u8; 1000]); // any `Read`, e.g. a File
    /// let out = client.put_object("bucket", "data.bin", file, None, &Context::new())?;
    /// assert_eq!(out.plaintext_len, 1000);
    /// // Stored: 1000 bytes of ciphertext and the 16-byte tag.
    /// assert_eq!(s3.0.lock().unwrap()["data.bin"].1.len(), 1016);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
            instruction_file: None,
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
        // validate() checked that the part size fits usize.
        let part_size = usize::try_from(self.config.part_size).unwrap_or(usize::MAX);
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
        let req = PutRequest {
            bucket,
            key,
            metadata: &sealed.object_metadata,
        };
        let (etag, parts) = if last {
            encrypt_part(&mut encryptor, &mut buf, true)?;
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
            self.put_instruction_file(bucket, key, json)?;
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
    fn upload_parts(
        &self,
        req: &PutRequest<'_>,
        upload_id: &str,
        body: &mut impl Read,
        cursor: &mut PartCursor,
        buf: &mut Vec<u8>,
        encryptor: &mut Option<s3ec_core::cipher::GcmEncryptor<crate::Backend>>,
    ) -> Result<(Option<String>, u32), ClientError> {
        let mut parts = Vec::new();
        let mut number = 0u32;
        // The first part was read by the caller and is not the last.
        let mut last = false;
        loop {
            number = next_part_number(number, cursor.part_size)?;
            encrypt_part(encryptor, buf, last)?;
            let part = Bytes::from(std::mem::take(buf));
            let etag =
                self.transport
                    .upload_part(req.bucket, req.key, upload_id, number, part.clone())?;
            // Take the buffer back for the next part: without this, every
            // part would cost a fresh part-sized allocation (and the
            // allocator's peak grows with them).
            *buf = reclaim(part, cursor.part_size);
            parts.push(CompletedPart {
                part_number: number,
                etag,
            });
            if last {
                break;
            }
            last = read_part(body, cursor, buf)?;
        }
        let etag = self
            .transport
            .complete_multipart_upload(req.bucket, req.key, upload_id, &parts)?;
        Ok((etag, number))
    }

    /// PUT the instruction file of `key`; if that fails, delete the object
    /// (undecryptable without it).
    fn put_instruction_file(&self, bucket: &str, key: &str, json: &str) -> Result<(), ClientError> {
        let (ikey, metadata) = put::instruction_file_put(key);
        let req = PutRequest {
            bucket,
            key: &ikey,
            metadata: &metadata,
        };
        match self
            .transport
            .put_object(&req, Bytes::copy_from_slice(json.as_bytes()))
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let delete = self.transport.delete_object(bucket, key);
                Err(put::after_instruction_file_failure(e, delete, key))
            }
        }
    }

    /// Fetch the instruction file if the metadata says the envelope is
    /// there.
    fn instruction_file(
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
            match self.transport.get_object(&req) {
                Ok(resp) => return read_instruction_file(resp).map(Some),
                Err(e) if e.kind == ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(get::instruction_file_not_found(ikey, required))
    }

    fn open(
        &self,
        bucket: &str,
        key: &str,
        head: &ObjectHead,
        opts: &GetOptions,
    ) -> Result<OpenedEnvelope, ClientError> {
        let suffix = get::suffix(opts, &self.config);
        let instruction = self.instruction_file(bucket, key, &head.metadata, suffix)?;
        codec::open_envelope(
            self.keyring.as_ref(),
            &head.metadata,
            instruction.as_deref(),
            &self.config.policy,
            opts.expected_context.as_ref(),
        )
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
    /// # use s3ec_client::{Client, ClientError};
    /// # use s3ec_keyring::Context;
    /// # use s3ec_client::transport::*;
    /// # use std::collections::HashMap;
    /// # use std::sync::{Arc, Mutex};
    /// # #[derive(Debug, Default, Clone)]
    /// # struct MemS3(Arc<Mutex<HashMap<String, (Metadata, Vec<u8>)>>>);
    /// # impl Transport for MemS3 {
    /// #   fn head_object(&self, _: &str, k: &str) -> Result<ObjectHead, TransportError> {
    /// #     let m = self.0.lock().unwrap();
    /// #     let (md, b) = m.get(k).ok_or(TransportError::new(ErrorKind::NotFound, "404"))?;
    /// #     Ok(ObjectHead { content_length: b.len() as u64, etag: Some("\"e\"".into()), metadata: md.clone() })
    /// #   }
    /// #   fn get_object(&self, r: &GetRequest<'_>) -> Result<GetResponse, TransportError> {
    /// #     let head = self.head_object(r.bucket, r.key)?;
    /// #     let body = self.0.lock().unwrap()[r.key].1.clone();
    /// #     Ok(GetResponse { head, content_range: None, body: Box::new(std::io::Cursor::new(body)) })
    /// #   }
    /// #   fn put_object(&self, r: &PutRequest<'_>, b: Bytes) -> Result<Option<String>, TransportError> {
    /// #     self.0.lock().unwrap().insert(r.key.into(), (r.metadata.to_vec(), b.to_vec())); Ok(None)
    /// #   }
    /// #   fn delete_object(&self, _: &str, k: &str) -> Result<(), TransportError> { self.0.lock().unwrap().remove(k); Ok(()) }
    /// #   fn create_multipart_upload(&self, _: &PutRequest<'_>) -> Result<String, TransportError> { unimplemented!() }
    /// #   fn upload_part(&self, _: &str, _: &str, _: &str, _: u32, _: Bytes) -> Result<String, TransportError> { unimplemented!() }
    /// #   fn complete_multipart_upload(&self, _: &str, _: &str, _: &str, _: &[CompletedPart]) -> Result<Option<String>, TransportError> { unimplemented!() }
    /// #   fn abort_multipart_upload(&self, _: &str, _: &str, _: &str) -> Result<(), TransportError> { unimplemented!() }
    /// # }
    /// # let s3 = MemS3::default();
    /// let client = Client::builder(s3.clone(), s3ec_local::AesKeyring::new(&[1u8; 32])?).build()?;
    /// client.put_object("bucket", "a", &b"secret"[..], None, &Context::new())?;
    ///
    /// let mut out = Vec::new();
    /// let got = client.get_object("bucket", "a", &mut out, None)?;
    /// assert_eq!((out.as_slice(), got.plaintext_len), (&b"secret"[..], 6));
    ///
    /// // Flip one ciphertext bit: the get fails and `out` receives nothing.
    /// s3.0.lock().unwrap().get_mut("a").unwrap().1[0] ^= 1;
    /// let mut out = Vec::new();
    /// let err = client.get_object("bucket", "a", &mut out, None).unwrap_err();
    /// assert!(matches!(err, ClientError::Authentication));
    /// assert!(out.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_object(
        &self,
        bucket: &str,
        key: &str,
        out: &mut dyn Write,
        expected_context: Option<&Context>,
    ) -> Result<GetOutput, ClientError> {
        let opts = GetOptions {
            expected_context: expected_context.cloned(),
            instruction_file_suffix: None,
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
    /// context, instruction-file suffix).
    pub fn get_object_with(
        &self,
        bucket: &str,
        key: &str,
        out: &mut dyn Write,
        opts: &GetOptions,
    ) -> Result<GetOutput, ClientError> {
        let resp = self.transport.get_object(&GetRequest {
            bucket,
            key,
            range: None,
            if_match: None,
        })?;
        // Spec decryption.md §Ranged Gets: a ranged response to a request
        // without a range MUST be refused.
        if resp.content_range.is_some() {
            return Err(ClientError::UnexpectedRange);
        }
        let GetResponse { head, body, .. } = resp;
        let opened = self.open(bucket, key, &head, opts)?;
        let body_len = head.content_length;
        check_body_length(&opened.info, body_len)?;
        let plan = get::plan(&self.config, opened.info.suite, body_len)?;
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
        let mut body = body;
        let mut resumes = 0u32;
        loop {
            let n = match body.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if dec.received() >= dec.expected() {
                        break;
                    }
                    let Some(etag) = head.etag.as_deref() else {
                        return Err(ClientError::Io(e));
                    };
                    if resumes >= MAX_RESUMES {
                        return Err(ClientError::Io(e));
                    }
                    resumes += 1;
                    body = self.resume(bucket, key, etag, dec.received(), dec.expected())?;
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
            etag: head.etag,
            mode: plan.mode(),
        })
    }

    /// Continue a body that broke off at byte `from`, pinned to `etag`.
    fn resume(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
        from: u64,
        total: u64,
    ) -> Result<Box<dyn Read + Send>, ClientError> {
        let resp = self
            .transport
            .get_object(&get::resume_request(bucket, key, etag, from))
            .map_err(get::pinned)?;
        get::check_content_range(resp.content_range, from, total - 1, total)?;
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
        get::check_ranged_gets_enabled(&self.config)?;
        let head = self.transport.head_object(bucket, key)?;
        let opened = self.open(bucket, key, &head, opts)?;
        let (rplan, object_plaintext_len) =
            get::range_plan(&opened.info, head.content_length, first, last)?;
        let mut dec = RangeDecoder::new(opened.key, &rplan);
        let mut body = self.ranged_body(bucket, key, &head, dec.offset(), rplan.fetch_last)?;
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
                    if resumes >= MAX_RESUMES || head.etag.is_none() {
                        return Err(ClientError::Io(e));
                    }
                    resumes += 1;
                    body = self.ranged_body(bucket, key, &head, dec.offset(), rplan.fetch_last)?;
                    continue;
                }
            };
            dec.push(&chunk[..n], &mut scratch)?;
            out.write_all(&scratch)?;
            written += scratch.len() as u64;
        }
        out.flush()?;
        Ok(RangeOutput {
            info: opened.info,
            first,
            len: written,
            object_plaintext_len,
            etag: head.etag,
        })
    }

    fn ranged_body(
        &self,
        bucket: &str,
        key: &str,
        head: &ObjectHead,
        first: u64,
        last: u64,
    ) -> Result<Box<dyn Read + Send>, ClientError> {
        let resp = self
            .transport
            .get_object(&get::range_request(bucket, key, head, first, last))
            .map_err(get::pinned)?;
        get::check_content_range(resp.content_range, first, last, head.content_length)?;
        Ok(resp.body)
    }

    /// Read the envelope of `bucket`/`key` (object metadata, or the
    /// instruction file) without decrypting anything or asking the keyring.
    pub fn inspect_object(&self, bucket: &str, key: &str) -> Result<EnvelopeInfo, ClientError> {
        let head = self.transport.head_object(bucket, key)?;
        let instruction = self.instruction_file(
            bucket,
            key,
            &head.metadata,
            &self.config.instruction_file_suffix,
        )?;
        codec::inspect(&head.metadata, instruction.as_deref())
    }

    /// Delete `bucket`/`key` and its instruction file (default suffix; spec
    /// `client.md`: DeleteObject MUST delete the associated instruction
    /// file using the default instruction file suffix). The object goes
    /// first: if that fails the instruction file is kept, so the object
    /// stays readable. Missing objects are not an error.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<(), ClientError> {
        self.transport.delete_object(bucket, key)?;
        let ikey = instruction_file_key(key, INSTRUCTION_FILE_SUFFIX);
        self.transport.delete_object(bucket, &ikey)?;
        Ok(())
    }

    /// Delete several objects, each with its instruction file (spec
    /// `client.md`: DeleteObjects MUST delete each of the given objects and
    /// each of the corresponding instruction files, default suffix). Every
    /// key is attempted, one [`delete_object`](Self::delete_object) each;
    /// the ones that failed come back in [`ClientError::DeleteFailed`].
    pub fn delete_objects(&self, bucket: &str, keys: &[&str]) -> Result<(), ClientError> {
        let failed: Vec<(String, ClientError)> = keys
            .iter()
            .filter_map(|k| {
                self.delete_object(bucket, k)
                    .err()
                    .map(|e| (k.to_string(), e))
            })
            .collect();
        get::delete_outcome(failed)
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

/// Read an instruction file's body, bounded.
fn read_instruction_file(resp: GetResponse) -> Result<String, ClientError> {
    get::check_instruction_file_len(resp.head.content_length)?;
    let mut bytes = Vec::new();
    resp.body
        .take(MAX_INSTRUCTION_FILE + 1)
        .read_to_end(&mut bytes)?;
    get::check_instruction_file_len(bytes.len() as u64)?;
    String::from_utf8(bytes).map_err(|_| ClientError::InstructionFileNotUtf8)
}

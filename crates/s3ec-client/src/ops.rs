//! The capabilities both clients share, written once: reading an envelope
//! (object metadata or instruction file) and opening it with the keyring,
//! head and inspect, delete, the instruction-file PUT, low-level multipart
//! uploads, key rotation and presigned uploads.
//!
//! Each is one `async fn` over an [`AsyncTransport`] and an
//! [`AsyncKeyring`]; the decisions live in the transport-free modules
//! ([`crate::get`], [`crate::put`], [`crate::multipart`],
//! [`crate::rotate`], [`crate::codec`]). [`crate::AsyncClient`] awaits
//! them; [`crate::Client`] runs them on its own thread through
//! [`crate::ready`], its blocking transport and keyring seen as async ones
//! whose futures are ready when made.

use std::future::poll_fn;
use std::time::Duration;

use bytes::Bytes;
use s3ec_core::envelope::INSTRUCTION_FILE_SUFFIX;
use s3ec_keyring::{AsyncKeyring, EncryptRequest};

use crate::codec::{self, EnvelopeInfo, OpenedEnvelope};
use crate::config::ClientConfig;
use crate::error::ClientError;
use crate::get::{self, instruction_file_key, GetOptions, GetTarget, HeadOutput};
use crate::multipart::{CompletedUpload, MultipartUpload, NewUpload, Restoring};
use crate::put::{self, PutOptions};
use crate::rotate::{self, RotateOptions, RotateOutput, Rotation, RotationWrite};
use crate::transport::{
    AsyncBody, AsyncGetResponse, AsyncTransport, ByteRange, CompleteRequest, CompletedPart,
    CopyRequest, ErrorKind, GetRequest, Metadata, ObjectHead, ObjectRequest, PartRequest,
    PresignedRequest, PutFields, PutRequest, TransportError,
};

/// A client's transport, keyring and settings, for one call.
pub(crate) struct Ops<'c> {
    pub(crate) transport: &'c dyn AsyncTransport,
    pub(crate) keyring: &'c dyn AsyncKeyring,
    pub(crate) config: &'c ClientConfig,
}

/// The next chunk of an async body.
pub(crate) async fn next_chunk(body: &mut AsyncBody) -> Option<Result<Bytes, TransportError>> {
    poll_fn(|cx| body.as_mut().poll_next(cx)).await
}

/// An instruction file's body, bounded and UTF-8.
pub(crate) async fn read_instruction_file(resp: AsyncGetResponse) -> Result<String, ClientError> {
    get::check_instruction_file_len(resp.head.content_length)?;
    let mut body = resp.body;
    let mut bytes = Vec::new();
    while let Some(chunk) = next_chunk(&mut body).await {
        bytes.extend_from_slice(&chunk?);
        get::check_instruction_file_len(bytes.len() as u64)?;
    }
    String::from_utf8(bytes).map_err(|_| ClientError::InstructionFileNotUtf8)
}

/// Reading and opening envelopes; head, inspect, delete.
impl Ops<'_> {
    /// PUT the instruction file of `key`; on failure delete the object just
    /// written (it would be unreadable without its envelope).
    pub(crate) async fn put_instruction_file(
        &self,
        bucket: &str,
        key: &str,
        json: &str,
        fields: &PutFields,
    ) -> Result<(), ClientError> {
        let (ikey, metadata) = put::instruction_file_put(key);
        let ifields = put::instruction_file_fields(fields);
        let req = PutRequest {
            bucket,
            key: &ikey,
            metadata: &metadata,
            fields: &ifields,
            checksum: None,
        };
        match self
            .transport
            .put_object(&req, Bytes::copy_from_slice(json.as_bytes()))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let delete = self
                    .transport
                    .delete_object(&ObjectRequest::new(bucket, key))
                    .await;
                Err(put::after_instruction_file_failure(e, delete, key))
            }
        }
    }

    /// The instruction file the object's metadata calls for, if any (with
    /// the .NET fallback name where it applies), pinned to the object read.
    pub(crate) async fn instruction_file(
        &self,
        target: &GetTarget<'_>,
        metadata: &Metadata,
        suffix: &str,
    ) -> Result<Option<String>, ClientError> {
        let Some((ikey, required)) = get::instruction_file_lookup(metadata, target.key, suffix)?
        else {
            return Ok(None);
        };
        let fallback = get::fallback_instruction_file_key(target.key, suffix, required);
        for k in std::iter::once(&ikey).chain(fallback.as_ref()) {
            let req = target.get_other(k);
            match self.transport.get_object(&req).await {
                Ok(resp) => return read_instruction_file(resp).await.map(Some),
                Err(e) if e.kind == ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(get::instruction_file_not_found(ikey, required))
    }

    /// Read the envelope of the object `head` describes and unwrap its data
    /// key with the keyring.
    pub(crate) async fn open(
        &self,
        target: &GetTarget<'_>,
        head: &ObjectHead,
        opts: &GetOptions,
    ) -> Result<OpenedEnvelope, ClientError> {
        let suffix = get::suffix(opts, self.config);
        let instruction = self
            .instruction_file(target, &head.metadata, suffix)
            .await?;
        codec::open_envelope_async(
            self.keyring,
            &head.metadata,
            instruction.as_deref(),
            &self.config.policy,
            opts.expected_context.as_ref(),
        )
        .await
    }

    /// See [`crate::Client::head_object_with`].
    pub(crate) async fn head_object_with(
        &self,
        bucket: &str,
        key: &str,
        opts: &GetOptions,
    ) -> Result<HeadOutput, ClientError> {
        let target = GetTarget::new(bucket, key, opts);
        let head = self.transport.head_object(&target.head()).await?;
        let suffix = get::suffix(opts, self.config);
        let instruction = self
            .instruction_file(&target, &head.metadata, suffix)
            .await?;
        let info = codec::inspect(&head.metadata, instruction.as_deref())?;
        Ok(get::head_output(info, head))
    }

    /// See [`crate::Client::inspect_object`].
    pub(crate) async fn inspect_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<EnvelopeInfo, ClientError> {
        let opts = GetOptions::default();
        let target = GetTarget::new(bucket, key, &opts);
        let head = self.transport.head_object(&target.head()).await?;
        let instruction = self
            .instruction_file(
                &target,
                &head.metadata,
                &self.config.instruction_file_suffix,
            )
            .await?;
        codec::inspect(&head.metadata, instruction.as_deref())
    }

    /// See [`crate::Client::delete_object`].
    pub(crate) async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), ClientError> {
        self.transport
            .delete_object(&ObjectRequest::new(bucket, key))
            .await?;
        let ikey = instruction_file_key(key, INSTRUCTION_FILE_SUFFIX);
        self.transport
            .delete_object(&ObjectRequest::new(bucket, &ikey))
            .await?;
        Ok(())
    }

    /// See [`crate::Client::delete_objects`].
    pub(crate) async fn delete_objects(
        &self,
        bucket: &str,
        keys: &[&str],
    ) -> Result<(), ClientError> {
        let mut failed = Vec::new();
        for k in keys {
            if let Err(e) = self.delete_object(bucket, k).await {
                failed.push((k.to_string(), e));
            }
        }
        get::delete_outcome(failed)
    }
}

/// Low-level multipart uploads (see [`crate::multipart`]).
impl Ops<'_> {
    /// See [`crate::Client::create_multipart_upload`].
    pub(crate) async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        opts: &PutOptions,
    ) -> Result<MultipartUpload, ClientError> {
        let placement = put::placement(opts, self.config);
        let req = EncryptRequest {
            suite: self.config.policy.commitment.encrypt_suite(),
            context: &opts.context,
        };
        let materials = self.keyring.on_encrypt(&req).await?;
        let new = NewUpload::new(materials, &self.config.policy, placement)?;
        let metadata = put::object_metadata(&new.object_metadata, &opts.metadata)?;
        let upload_id = self
            .transport
            .create_multipart_upload(&PutRequest {
                bucket,
                key,
                metadata: &metadata,
                fields: &opts.fields,
                checksum: None,
            })
            .await?;
        new.started(bucket, key, upload_id, &opts.fields)
    }

    /// See [`crate::Client::upload_part`].
    pub(crate) async fn upload_part(
        &self,
        upload: &mut MultipartUpload,
        part_number: u32,
        mut buf: Vec<u8>,
        last: bool,
    ) -> Result<CompletedPart, ClientError> {
        let pending = upload.encrypt_part(part_number, &mut buf, last)?;
        let checksum = upload.part_checksum(&buf);
        let etag = self
            .transport
            .upload_part(
                &PartRequest {
                    checksum: checksum.as_ref(),
                    fields: upload.fields(),
                    ..PartRequest::new(
                        upload.bucket(),
                        upload.key(),
                        upload.upload_id(),
                        part_number,
                    )
                },
                Bytes::from(buf),
            )
            .await?;
        Ok(upload.part_done(pending, etag, checksum))
    }

    /// See [`crate::Client::complete_multipart_upload`].
    pub(crate) async fn complete_multipart_upload(
        &self,
        upload: &MultipartUpload,
    ) -> Result<CompletedUpload, ClientError> {
        upload.check_complete()?;
        let (bucket, key) = (upload.bucket(), upload.key());
        let etag = self
            .transport
            .complete_multipart_upload(&CompleteRequest {
                fields: upload.fields(),
                ..CompleteRequest::new(bucket, key, upload.upload_id(), upload.parts())
            })
            .await?;
        if let Some(json) = upload.instruction_file() {
            self.put_instruction_file(bucket, key, json, upload.fields())
                .await?;
        }
        Ok(upload.completed(etag))
    }

    /// See [`crate::Client::abort_multipart_upload`].
    pub(crate) async fn abort_multipart_upload(
        &self,
        upload: &MultipartUpload,
    ) -> Result<(), ClientError> {
        self.transport
            .abort_multipart_upload(upload.bucket(), upload.key(), upload.upload_id())
            .await?;
        Ok(())
    }

    /// See [`crate::Client::resume_multipart_upload`].
    pub(crate) async fn resume_multipart_upload(
        &self,
        state: &[u8],
    ) -> Result<MultipartUpload, ClientError> {
        let restoring = Restoring::parse(state)?;
        let opened = codec::open_envelope_async(
            self.keyring,
            restoring.metadata(),
            restoring.instruction_file(),
            &self.config.policy,
            None,
        )
        .await?;
        restoring.finish(opened.key)
    }
}

/// Key rotation (see [`crate::rotate`] for the steps and their order).
impl Ops<'_> {
    /// See [`crate::Client::rotate_object`].
    pub(crate) async fn rotate_object(
        &self,
        bucket: &str,
        key: &str,
        new_keyring: &dyn AsyncKeyring,
        opts: &RotateOptions,
    ) -> Result<RotateOutput, ClientError> {
        let head = self
            .transport
            .head_object(&ObjectRequest::new(bucket, key))
            .await?;
        let instruction = if rotate::instruction_file_needed(&head)? {
            let ikey = rotate::source_instruction_file(key);
            let req = GetRequest {
                bucket,
                key: &ikey,
                range: None,
                if_match: None,
                ..GetRequest::default()
            };
            match self.transport.get_object(&req).await {
                Ok(resp) => Some(read_instruction_file(resp).await?),
                Err(e) if e.kind == ErrorKind::NotFound => {
                    return Err(get::instruction_file_not_found(ikey, true))
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        let rot = Rotation::new(head, instruction, &self.config.policy, opts)?;
        if !opts.allow_same_key {
            let req = rot.unwrap_request(opts);
            let already = matches!(new_keyring.on_decrypt(&req).await, Ok(Some(_)));
            rot.check_not_same(already, opts)?;
        }
        let data_key = {
            let req = rot.unwrap_request(opts);
            self.keyring.on_decrypt(&req).await?
        };
        let data_key = rot.check_data_key(data_key)?;
        let context = rot.new_context();
        let new = {
            let req = rot.wrap_request(&context);
            new_keyring.wrap_data_key(&req, &data_key).await?
        };
        match rot.rewrapped(key, &new, opts)? {
            RotationWrite::InstructionFile {
                key: ikey,
                body,
                metadata,
            } => {
                let req = PutRequest {
                    bucket,
                    key: &ikey,
                    metadata: &metadata,
                    fields: &PutFields::NONE,
                    checksum: None,
                };
                let etag = self.transport.put_object(&req, Bytes::from(body)).await?;
                Ok(rot.output(ikey, etag, new.wrap, false))
            }
            RotationWrite::Metadata {
                metadata,
                etag,
                parts,
            } => {
                let req = CopyRequest {
                    bucket,
                    key,
                    source_bucket: bucket,
                    source_key: key,
                    source_if_match: etag.as_deref(),
                    metadata: &metadata,
                };
                let (etag, multipart) = match parts {
                    None => (
                        self.transport
                            .copy_object(&req)
                            .await
                            .map_err(get::pinned)?,
                        false,
                    ),
                    Some(ranges) => (self.copy_in_parts(&req, &ranges).await?, true),
                };
                Ok(rot.output(key.to_string(), etag, new.wrap, multipart))
            }
        }
    }

    /// A metadata-replacing copy in UploadPartCopy parts, aborted on any
    /// failure.
    async fn copy_in_parts(
        &self,
        req: &CopyRequest<'_>,
        ranges: &[ByteRange],
    ) -> Result<Option<String>, ClientError> {
        let upload_id = self
            .transport
            .create_multipart_upload(&PutRequest {
                bucket: req.bucket,
                key: req.key,
                metadata: req.metadata,
                fields: &PutFields::NONE,
                checksum: None,
            })
            .await?;
        let result = async {
            let mut parts = Vec::with_capacity(ranges.len());
            for (i, range) in ranges.iter().enumerate() {
                let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
                let etag = self
                    .transport
                    .upload_part_copy(req, &upload_id, n, *range)
                    .await
                    .map_err(get::pinned)?;
                parts.push(CompletedPart {
                    part_number: n,
                    etag,
                    checksum: None,
                });
            }
            Ok::<_, ClientError>(
                self.transport
                    .complete_multipart_upload(&CompleteRequest::new(
                        req.bucket, req.key, &upload_id, &parts,
                    ))
                    .await?,
            )
        }
        .await;
        match result {
            Ok(etag) => Ok(etag),
            Err(e) => {
                let abort = self
                    .transport
                    .abort_multipart_upload(req.bucket, req.key, &upload_id)
                    .await;
                Err(put::after_abort(e, abort, req.key, upload_id))
            }
        }
    }
}

/// Presigned uploads for devices that encrypt by themselves.
impl Ops<'_> {
    /// See [`crate::Client::presign_put`]: the device's envelope is opened
    /// as a get would open it (complete, allowed by the commitment policy,
    /// its data key unwrapped by the keyring, V3 commitment verified); only
    /// then does the transport presign.
    pub(crate) async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        envelope: &[(String, String)],
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, ClientError> {
        // The opened envelope (its data key) is dropped, zeroized, here:
        // only the check is wanted.
        codec::open_envelope_async(self.keyring, envelope, None, &self.config.policy, None).await?;
        Ok(self
            .transport
            .presign_put(bucket, key, envelope, content_length, expires_in)
            .await?)
    }
}

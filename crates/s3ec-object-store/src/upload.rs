//! The encrypting multipart upload.

use std::sync::Arc;

use async_trait::async_trait;
use object_store::path::Path;
use object_store::{MultipartUpload, PutPayload, PutResult, UploadPart};
use s3ec_core::cipher::GcmEncryptor;

use crate::error::{os_err, Error};
use crate::store::{Shared, SideFile};

/// A multipart upload through the adapter: every part goes through the one
/// content cipher in the order `put_part` is called (spec `client.md`
/// §Optional API Operations: each part MUST be encrypted in sequence, with
/// the same cipher instance).
///
/// The GCM tag belongs at the end of the last part, and which part is the
/// last is only known at `complete`: so each part is encrypted at once but
/// uploaded when the next one arrives (the future returned by `put_part`
/// uploads the part before it), and `complete` uploads the held part with
/// the tag appended. Part sizes are the caller's (the tag adds 16 bytes to
/// the last), so the inner store's part-size rules hold as they would
/// without encryption; about one part is held in memory.
pub(crate) struct EncryptingUpload {
    pub(crate) inner: Box<dyn MultipartUpload>,
    pub(crate) encryptor: Option<GcmEncryptor<s3ec_client::Backend>>,
    pub(crate) held: Option<Vec<u8>>,
    pub(crate) side_file: Option<SideFile>,
    pub(crate) location: Path,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for EncryptingUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptingUpload")
            .field("location", &self.location)
            .field("inner", &self.inner)
            .field("finished", &self.encryptor.is_none())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl MultipartUpload for EncryptingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let Some(enc) = self.encryptor.as_mut() else {
            return Box::pin(futures::future::ready(Err(os_err(Error::UploadFinished))));
        };
        let mut buf = Vec::with_capacity(data.content_length());
        for chunk in data.iter() {
            buf.extend_from_slice(chunk);
        }
        if let Err(e) = enc.update(&mut buf) {
            // The cipher refuses to go on (the GCM length limit): this
            // upload can only be aborted.
            self.encryptor = None;
            self.held = None;
            return Box::pin(futures::future::ready(Err(os_err(
                s3ec_client::ClientError::Format(e),
            ))));
        }
        match self.held.replace(buf) {
            Some(previous) => self.inner.put_part(previous.into()),
            None => Box::pin(futures::future::ready(Ok(()))),
        }
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let enc = self
            .encryptor
            .take()
            .ok_or_else(|| os_err(Error::UploadFinished))?;
        let mut last = self.held.take().unwrap_or_default();
        // spec encryption.md: the tag MUST be appended to the ciphertext.
        last.extend_from_slice(&enc.finish());
        self.inner.put_part(last.into()).await?;
        let result = self.inner.complete().await?;
        self.shared.cache.invalidate(&self.location);
        if let Some(side) = self.side_file.take() {
            self.shared.write_side_file(&self.location, side).await?;
        }
        Ok(result)
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.encryptor = None;
        self.held = None;
        self.inner.abort().await
    }
}

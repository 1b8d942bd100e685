//! Offline: `keygen`, `encrypt` (into OUT, OUT.metadata.json and
//! OUT.instruction, exactly as S3 would store the object) and `decrypt`.

use s3ec_client::transport::{CompleteRequest, ObjectRequest, PartRequest};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use s3ec_client::transport::{
    Bytes, ErrorKind, GetRequest, GetResponse, Metadata, ObjectHead, PutRequest, Transport,
    TransportError,
};
use s3ec_client::{GetOptions, PutOptions};
use s3ec_core::envelope::INSTRUCTION_FILE_SUFFIX;

use crate::error::{CliError, Exit, Result};
use crate::keys::{KeyArgs, PolicyArgs};
use crate::Ctx;

/// `s3ec keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    #[command(subcommand)]
    kind: KeyKind,
}

#[derive(Debug, Subcommand)]
enum KeyKind {
    /// A new AES-256 key, base64 on one line (file mode 0600)
    Aes {
        /// Where to write it (must not exist)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// A new RSA key pair: FILE (PKCS#8 PEM private key, mode 0600) and
    /// FILE.pub (SPKI PEM public key)
    Rsa {
        /// Key size in bits
        #[arg(long, value_enum, default_value_t = Bits::B3072)]
        bits: Bits,
        /// Where to write the private key (must not exist)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Bits {
    #[value(name = "2048")]
    B2048,
    #[value(name = "3072")]
    B3072,
    #[value(name = "4096")]
    B4096,
}

/// `s3ec encrypt`.
#[derive(Debug, Args)]
pub(crate) struct EncryptArgs {
    #[command(flatten)]
    keys: KeyArgs,
    #[command(flatten)]
    policy: PolicyArgs,
    /// The plaintext file (`-` for stdin)
    input: PathBuf,
    /// The ciphertext to write; OUT.metadata.json (and, with
    /// --instruction-file, OUT.instruction) go beside it
    output: PathBuf,
}

/// `s3ec decrypt`.
#[derive(Debug, Args)]
pub(crate) struct DecryptArgs {
    #[command(flatten)]
    keys: KeyArgs,
    #[command(flatten)]
    policy: PolicyArgs,
    /// The ciphertext; IN.metadata.json (and IN.instruction, if present)
    /// are read beside it
    input: PathBuf,
    /// The plaintext to write (`-` for stdout); it appears only once the
    /// whole object is authenticated
    output: PathBuf,
}

/// Create `path` with mode 0600, refusing to overwrite a key.
fn create_secret(path: &Path) -> Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            CliError::usage(format!(
                "{} exists; not overwriting a key file",
                path.display()
            ))
        } else {
            CliError::from(e).context(path.display().to_string())
        }
    })
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

pub(crate) fn keygen(a: &KeygenArgs) -> Result<()> {
    match &a.kind {
        KeyKind::Aes { out } => {
            use base64ct::Encoding;
            use rand::RngCore;
            let mut key = zeroize::Zeroizing::new([0u8; 32]);
            rand::rngs::OsRng.fill_bytes(key.as_mut());
            let text = zeroize::Zeroizing::new(base64ct::Base64::encode_string(key.as_ref()));
            let mut f = create_secret(out)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            eprintln!("wrote a new AES-256 key to {}", out.display());
            Ok(())
        }
        KeyKind::Rsa { bits, out } => {
            use aws_lc_rs::encoding::AsDer;
            use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
            let size = match bits {
                Bits::B2048 => KeySize::Rsa2048,
                Bits::B3072 => KeySize::Rsa3072,
                Bits::B4096 => KeySize::Rsa4096,
            };
            let failed = |_| CliError::new(Exit::Other, "RSA key generation failed");
            let key = PrivateDecryptingKey::generate(size).map_err(failed)?;
            let der = key.as_der().map_err(failed)?;
            let pem = zeroize::Zeroizing::new(
                pem_rfc7468::encode_string(
                    "PRIVATE KEY",
                    pem_rfc7468::LineEnding::LF,
                    der.as_ref(),
                )
                .map_err(|_| CliError::new(Exit::Other, "PEM encoding failed"))?,
            );
            let pubder = key.public_key().as_der().map_err(failed)?;
            let pubpem = pem_rfc7468::encode_string(
                "PUBLIC KEY",
                pem_rfc7468::LineEnding::LF,
                pubder.as_ref(),
            )
            .map_err(|_| CliError::new(Exit::Other, "PEM encoding failed"))?;
            let pubpath = with_suffix(out, ".pub");
            if pubpath.exists() {
                return Err(CliError::usage(format!(
                    "{} exists; not overwriting a key file",
                    pubpath.display()
                )));
            }
            let mut f = create_secret(out)?;
            f.write_all(pem.as_bytes())?;
            f.sync_all()?;
            fs::write(&pubpath, pubpem)?;
            eprintln!(
                "wrote a new RSA private key to {} and its public key to {}",
                out.display(),
                pubpath.display()
            );
            Ok(())
        }
    }
}

/// The bucket and key the offline commands use inside their scratch store.
const BUCKET: &str = "offline";
const KEY: &str = "object";

pub(crate) fn encrypt(ctx: &Ctx, a: &EncryptArgs) -> Result<()> {
    let ring = a.keys.keyring(&ctx.store, true)?;
    let dir = match a.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|e| CliError::from(e).context(dir.display().to_string()))?;
    // A scratch folder store beside OUT (same file system: the results are
    // renamed into place).
    let scratch = tempfile::Builder::new()
        .prefix(".s3ec-encrypt-")
        .tempdir_in(&dir)
        .map_err(|e| CliError::from(e).context(dir.display().to_string()))?;
    let store = s3ec_fs::FsStore::new(scratch.path())?;
    let client = a.policy.client(Arc::new(store.clone()), ring)?;
    let opts = PutOptions {
        context: a.keys.context(),
        ..Default::default()
    };
    if a.input.as_os_str() == "-" {
        client.put_object_with(BUCKET, KEY, io::stdin().lock(), None, &opts)?;
    } else {
        let f = File::open(&a.input)
            .map_err(|e| CliError::from(e).context(a.input.display().to_string()))?;
        let len = f.metadata()?.len();
        client.put_object_with(BUCKET, KEY, f, Some(len), &opts)?;
    }
    let body = store.object_path(BUCKET, KEY)?;
    let meta = with_suffix(&body, s3ec_fs::METADATA_SUFFIX);
    let instr = with_suffix(&body, INSTRUCTION_FILE_SUFFIX);
    let out_meta = with_suffix(&a.output, s3ec_fs::METADATA_SUFFIX);
    let out_instr = with_suffix(&a.output, INSTRUCTION_FILE_SUFFIX);
    if !meta.exists() {
        fs::write(&meta, "{}\n")?;
    }
    fs::rename(&meta, &out_meta)?;
    if instr.exists() {
        fs::rename(&instr, &out_instr)?;
    } else {
        match fs::remove_file(&out_instr) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    fs::rename(&body, &a.output)?;
    if !ctx.quiet {
        eprintln!(
            "encrypted {} -> {} (+ {}{})",
            a.input.display(),
            a.output.display(),
            out_meta.display(),
            if instr.exists() || out_instr.exists() {
                format!(", {}", out_instr.display())
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// A read-only transport over one saved object: its body file, its
/// metadata and, if any, its instruction file.
#[derive(Debug)]
struct SavedObject {
    body: PathBuf,
    metadata: Metadata,
    instruction: Option<PathBuf>,
}

impl SavedObject {
    fn file(&self, key: &str) -> Result<(PathBuf, Metadata), TransportError> {
        if key == KEY {
            return Ok((self.body.clone(), self.metadata.clone()));
        }
        if let Some(i) = &self.instruction {
            if key.strip_prefix(KEY) == Some(INSTRUCTION_FILE_SUFFIX) {
                return Ok((i.clone(), Vec::new()));
            }
        }
        Err(TransportError::new(
            ErrorKind::NotFound,
            format!("no file for {key}"),
        ))
    }
}

fn io_t(e: io::Error) -> TransportError {
    let kind = match e.kind() {
        io::ErrorKind::NotFound => ErrorKind::NotFound,
        io::ErrorKind::PermissionDenied => ErrorKind::AccessDenied,
        _ => ErrorKind::Other,
    };
    TransportError::new(kind, e.to_string())
}

#[allow(clippy::needless_update)]
fn head_of(len: u64, metadata: Metadata) -> ObjectHead {
    ObjectHead {
        content_length: len,
        etag: None,
        metadata,
        ..Default::default()
    }
}

impl Transport for SavedObject {
    fn head_object(&self, req: &ObjectRequest<'_>) -> Result<ObjectHead, TransportError> {
        let (p, m) = self.file(req.key)?;
        Ok(head_of(fs::metadata(p).map_err(io_t)?.len(), m))
    }

    fn get_object(&self, req: &GetRequest<'_>) -> Result<GetResponse, TransportError> {
        let (p, m) = self.file(req.key)?;
        let mut f = File::open(p).map_err(io_t)?;
        let len = f.metadata().map_err(io_t)?.len();
        let (body, range): (Box<dyn Read + Send>, _) = match req.range {
            Some(r) if r.first < len => {
                let last = r.last.map_or(len - 1, |l| l.min(len - 1));
                f.seek(SeekFrom::Start(r.first)).map_err(io_t)?;
                (
                    Box::new(f.take(last - r.first + 1)),
                    Some((r.first, last, len)),
                )
            }
            Some(_) => return Err(TransportError::new(ErrorKind::InvalidRange, "range")),
            None => (Box::new(f), None),
        };
        Ok(GetResponse {
            head: head_of(len, m),
            content_range: range,
            body,
        })
    }

    fn put_object(&self, _: &PutRequest<'_>, _: Bytes) -> Result<Option<String>, TransportError> {
        Err(TransportError::unsupported("PutObject"))
    }

    fn delete_object(&self, _: &ObjectRequest<'_>) -> Result<(), TransportError> {
        Err(TransportError::unsupported("DeleteObject"))
    }

    fn create_multipart_upload(&self, _: &PutRequest<'_>) -> Result<String, TransportError> {
        Err(TransportError::unsupported("CreateMultipartUpload"))
    }

    fn upload_part(&self, _: &PartRequest<'_>, _: Bytes) -> Result<String, TransportError> {
        Err(TransportError::unsupported("UploadPart"))
    }

    fn complete_multipart_upload(
        &self,
        _: &CompleteRequest<'_>,
    ) -> Result<Option<String>, TransportError> {
        Err(TransportError::unsupported("CompleteMultipartUpload"))
    }

    fn abort_multipart_upload(&self, _: &str, _: &str, _: &str) -> Result<(), TransportError> {
        Err(TransportError::unsupported("AbortMultipartUpload"))
    }
}

pub(crate) fn decrypt(ctx: &Ctx, a: &DecryptArgs) -> Result<()> {
    let meta_path = with_suffix(&a.input, s3ec_fs::METADATA_SUFFIX);
    if !a.input.is_file() {
        return Err(CliError::new(
            Exit::NotFound,
            format!("{}: no such file", a.input.display()),
        ));
    }
    let text = fs::read_to_string(&meta_path).map_err(|e| {
        CliError::from(e).context(format!(
            "{} (the object's metadata, written by `s3ec encrypt`)",
            meta_path.display()
        ))
    })?;
    let metadata = s3ec_fs::metadata_from_json(&text).map_err(|m| {
        CliError::new(
            Exit::Authentication,
            format!("{}: malformed: {m}", meta_path.display()),
        )
    })?;
    let instr = with_suffix(&a.input, INSTRUCTION_FILE_SUFFIX);
    let saved = SavedObject {
        body: a.input.clone(),
        metadata,
        instruction: instr.is_file().then_some(instr),
    };
    let ring = a.keys.keyring(&ctx.store, false)?;
    let client = a.policy.client(Arc::new(saved), ring)?;
    let opts = GetOptions {
        expected_context: (!a.keys.context.is_empty()).then(|| a.keys.context()),
        ..Default::default()
    };
    if a.output.as_os_str() == "-" {
        let mut w = io::BufWriter::with_capacity(1 << 20, io::stdout().lock());
        client.get_object_with(BUCKET, KEY, &mut w, &opts)?;
        w.flush()?;
    } else {
        crate::cp::get_to_file(&client, BUCKET, KEY, &a.output, &opts)?;
        if !ctx.quiet {
            eprintln!("decrypted {} -> {}", a.input.display(), a.output.display());
        }
    }
    Ok(())
}

//! A device's upload through a presigned URL: the s3ec core (through this
//! crate's safe API, the same code the C ABI runs) and a minimal HTTP/1.1
//! PUT over `std::net::TcpStream`; no AWS credentials, no SDK, no TLS
//! stack (plain `http://` endpoints, such as a local gateway or moto).
//!
//! ```text
//! device_upload --key-hex HEX --in FILE [--v2] [--matdesc JSON]
//! ```
//!
//! 1. Makes a fresh data key, wraps it under the provisioned AES key and
//!    prints the object's envelope for its backend: line 1 the user
//!    metadata (JSON map, names without `x-amz-meta-`), line 2 the body's
//!    length (plaintext + 16).
//! 2. Reads the presigned PUT URL the backend made for exactly that
//!    metadata and length (`s3ec_reqwest::ReqwestTransport::presign_put`)
//!    from standard input, one line.
//! 3. Streams the file through the cipher into the PUT, the tag last; exit
//!    status 0 when S3 answered 200, 1 otherwise (the answer on stderr).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

use s3ec_c::{Encryptor, EnvelopeOutput, Format, Placement};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("device_upload: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let key_hex = arg(&args, "--key-hex").ok_or("--key-hex HEX is required")?;
    let input = arg(&args, "--in").ok_or("--in FILE is required")?;
    let matdesc = arg(&args, "--matdesc").unwrap_or_default();
    let format = if args.iter().any(|a| a == "--v2") {
        Format::V2
    } else {
        Format::V3
    };
    let kek: Vec<u8> = (0..key_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(key_hex.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()?;

    // 1. The envelope, before any byte is encrypted.
    let mut file = File::open(&input)?;
    let plain_len = file.metadata()?.len();
    let body_len = plain_len + 16;
    let mut enc = Encryptor::new_aes(&kek, format, &mut getrandom::SysRng)?;
    let md = matdesc.as_bytes();
    let mut meta = [0u8; 2048];
    let n = enc.write_envelope(
        EnvelopeOutput::MetadataJson,
        md,
        Placement::ObjectMetadata,
        Some(plain_len),
        &mut meta,
    )?;
    let mut out = std::io::stdout().lock();
    out.write_all(&meta[..n])?;
    writeln!(out, "\n{body_len}")?;
    out.flush()?;
    drop(out);

    // 2. The presigned URL.
    let mut url = String::new();
    std::io::stdin().lock().read_line(&mut url)?;
    let url = url.trim();
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs (this device has no TLS)")?;
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let target = if target.is_empty() { "/" } else { target };

    // 3. The PUT: the signed headers exactly, then the body as it is
    // encrypted, then the tag.
    let mut headers = [0u8; 2048];
    let h = enc.write_envelope(
        EnvelopeOutput::MetadataHeaders,
        md,
        Placement::ObjectMetadata,
        Some(plain_len),
        &mut headers,
    )?;
    let mut conn = TcpStream::connect(authority)?;
    write!(
        conn,
        "PUT {target} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {body_len}\r\nConnection: close\r\n"
    )?;
    conn.write_all(&headers[..h])?;
    conn.write_all(b"\r\n")?;
    // A server that refuses the request may answer and close before the
    // body is sent: keep its answer.
    let sent = (|| -> Result<(), Box<dyn std::error::Error>> {
        let mut buf = [0u8; 8192];
        loop {
            let got = file.read(&mut buf)?;
            if got == 0 {
                break;
            }
            enc.update(&mut buf[..got])?;
            conn.write_all(&buf[..got])?;
        }
        if enc.processed() != plain_len {
            return Err("the file changed while it was read".into());
        }
        conn.write_all(&enc.finish()?)?;
        Ok(conn.flush()?)
    })();

    let mut answer = String::new();
    let _ = BufReader::new(&conn).read_to_string(&mut answer);
    if answer.is_empty() {
        sent?;
        return Err("no answer from the server".into());
    }
    let status = answer.lines().next().unwrap_or("");
    if status.split(' ').nth(1) == Some("200") && sent.is_ok() {
        eprintln!("device_upload: uploaded {body_len} bytes: {status}");
        Ok(true)
    } else {
        eprintln!("device_upload: refused:\n{answer}");
        Ok(false)
    }
}

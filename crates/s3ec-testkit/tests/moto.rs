//! The harness itself: install (if needed), start, answer, stop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn get(endpoint: &str, path: &str) -> std::io::Result<String> {
    let host = endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(host)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

#[test]
fn shared_server_answers() {
    let t = Instant::now();
    let moto = s3ec_testkit::moto();
    eprintln!("moto ready at {} after {:?}", moto.endpoint(), t.elapsed());
    let resp = get(moto.endpoint(), "/moto-api/").unwrap();
    assert!(resp.starts_with("HTTP/1."), "{resp}");
    // The same server on the second call.
    assert_eq!(s3ec_testkit::moto().endpoint(), moto.endpoint());
}

#[test]
fn owned_server_stops_on_drop() {
    let server = s3ec_testkit::MotoServer::start().unwrap();
    let endpoint = server.endpoint().to_string();
    assert!(get(&endpoint, "/moto-api/").is_ok());
    drop(server);
    assert!(get(&endpoint, "/moto-api/").is_err());
}

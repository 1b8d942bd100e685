//! The folder store through the encryption client (blocking and async) and
//! directly: multipart, ranges, listing, deletes, refused keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use s3ec_client::transport::{CompleteRequest, ObjectRequest, PartRequest};
use std::io::Read;

use s3ec_client::transport::{
    ByteRange, Bytes, CompletedPart, ErrorKind, GetRequest, ListRequest, PutRequest, Transport,
};
use s3ec_client::{AsyncClient, Client, ClientError, PutOptions};
use s3ec_fs::FsStore;
use s3ec_keyring::Context;

fn store() -> (tempfile::TempDir, FsStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStore::new(dir.path().join("root")).unwrap();
    (dir, s)
}

fn put(s: &FsStore, key: &str, body: &'static [u8]) -> String {
    s.put_object(
        &PutRequest {
            bucket: "bkt",
            key,
            metadata: &[],
            fields: &Default::default(),
            checksum: None,
        },
        Bytes::from_static(body),
    )
    .unwrap()
    .unwrap()
}

fn get(s: &FsStore, key: &str, range: Option<ByteRange>) -> Result<Vec<u8>, ErrorKind> {
    let mut r = s
        .get_object(&GetRequest {
            bucket: "bkt",
            key,
            range,
            if_match: None,
            ..GetRequest::default()
        })
        .map_err(|e| e.kind)?;
    let mut v = Vec::new();
    r.body.read_to_end(&mut v).unwrap();
    Ok(v)
}

#[test]
fn encrypted_round_trip_single_and_multipart_with_instruction_file() {
    let (_d, s) = store();
    let ring = s3ec_local::AesKeyring::new(&[9u8; 32]).unwrap();
    let client = Client::builder(s.clone(), ring)
        .part_size(5 << 20)
        .build()
        .unwrap();
    let small = b"hello folder".to_vec();
    client
        .put_object("bkt", "dir/small.txt", &small[..], None, &Context::new())
        .unwrap();
    let big: Vec<u8> = (0..(12u32 << 20)).map(|i| (i % 251) as u8).collect();
    let opts = PutOptions {
        context: Context::new(),
        instruction_file: Some(true),
        ..PutOptions::default()
    };
    let out = client
        .put_object_with("bkt", "big.bin", &big[..], None, &opts)
        .unwrap();
    assert_eq!(out.parts, Some(3));
    let root = s.root().join("bkt");
    assert!(root.join("dir/small.txt.metadata.json").is_file());
    assert!(root.join("big.bin.instruction").is_file());
    assert_eq!(
        std::fs::metadata(root.join("big.bin")).unwrap().len(),
        big.len() as u64 + 16
    );
    // No upload or temporary file left behind.
    let uploads = s.root().join(".s3ec-fs/uploads");
    assert_eq!(std::fs::read_dir(uploads).unwrap().count(), 0);
    assert_eq!(
        std::fs::read_dir(s.root().join(".s3ec-fs/tmp"))
            .unwrap()
            .count(),
        0
    );

    assert_eq!(
        client
            .get_object_to_vec("bkt", "dir/small.txt", None)
            .unwrap()
            .0,
        small
    );
    assert_eq!(
        client.get_object_to_vec("bkt", "big.bin", None).unwrap().0,
        big
    );

    // Tampering is caught.
    let p = root.join("dir/small.txt");
    let mut b = std::fs::read(&p).unwrap();
    b[0] ^= 1;
    std::fs::write(&p, b).unwrap();
    assert!(matches!(
        client.get_object_to_vec("bkt", "dir/small.txt", None),
        Err(ClientError::Authentication)
    ));

    client.delete_object("bkt", "big.bin").unwrap();
    assert!(!root.join("big.bin.instruction").exists());
    client.delete_object("bkt", "dir/small.txt").unwrap();
    assert!(!root.join("dir").exists(), "empty folders are pruned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_client_round_trip() {
    let (_d, s) = store();
    let ring = s3ec_local::AesKeyring::new(&[3u8; 32]).unwrap();
    let client = AsyncClient::builder(s.clone(), s3ec_keyring::Local(ring))
        .part_size(5 << 20)
        .build()
        .unwrap();
    let body: Vec<u8> = (0..(6u32 << 20)).map(|i| (i % 7) as u8).collect();
    client
        .put_object("bkt", "a/b", &body[..], None, &Context::new())
        .await
        .unwrap();
    let mut out = Vec::new();
    client
        .get_object("bkt", "a/b", &mut out, None)
        .await
        .unwrap();
    assert_eq!(out, body);
    let page = s3ec_client::transport::AsyncTransport::list_objects(
        &s,
        &ListRequest {
            bucket: "bkt",
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(page.objects.len(), 1);
    assert_eq!(page.objects[0].size, body.len() as u64 + 16);
}

#[test]
fn ranges_etags_and_if_match() {
    let (_d, s) = store();
    let e1 = put(&s, "k", b"0123456789");
    let r = |first, last| Some(ByteRange { first, last });
    assert_eq!(get(&s, "k", r(2, Some(4))).unwrap(), b"234");
    assert_eq!(get(&s, "k", r(8, Some(100))).unwrap(), b"89");
    assert_eq!(get(&s, "k", r(7, None)).unwrap(), b"789");
    assert_eq!(get(&s, "k", r(10, None)), Err(ErrorKind::InvalidRange));
    let resp = s
        .get_object(&GetRequest {
            bucket: "bkt",
            key: "k",
            range: r(1, Some(2)),
            if_match: Some(&e1),
            ..GetRequest::default()
        })
        .unwrap();
    assert_eq!(resp.content_range, Some((1, 2, 10)));
    assert_eq!(resp.head.content_length, 10);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let e2 = put(&s, "k", b"0123456789");
    assert_ne!(e1, e2, "a rewrite gives a new entity tag");
    let stale = s.get_object(&GetRequest {
        bucket: "bkt",
        key: "k",
        range: None,
        if_match: Some(&e1),
        ..GetRequest::default()
    });
    assert_eq!(stale.unwrap_err().kind, ErrorKind::PreconditionFailed);
    assert_eq!(get(&s, "missing", None), Err(ErrorKind::NotFound));
    let nb = s
        .head_object(&ObjectRequest::new("nobucket", "k"))
        .unwrap_err();
    assert_eq!(
        (nb.kind, nb.code.as_deref()),
        (ErrorKind::NotFound, Some("NoSuchBucket"))
    );
}

#[test]
fn multipart_checks_parts() {
    let (_d, s) = store();
    let req = PutRequest {
        bucket: "bkt",
        key: "m",
        metadata: &[("a".to_string(), "1".to_string())],
        fields: &Default::default(),
        checksum: None,
    };
    let id = s.create_multipart_upload(&req).unwrap();
    let e1 = s
        .upload_part(
            &PartRequest::new("bkt", "m", &id, 1),
            Bytes::from_static(b"ab"),
        )
        .unwrap();
    let e2 = s
        .upload_part(
            &PartRequest::new("bkt", "m", &id, 2),
            Bytes::from_static(b"cd"),
        )
        .unwrap();
    let p = |n, e: &str| CompletedPart {
        part_number: n,
        etag: e.to_string(),
        checksum: None,
    };
    assert!(s
        .complete_multipart_upload(&CompleteRequest::new(
            "bkt",
            "m",
            &id,
            &[p(2, &e2), p(1, &e1)]
        ))
        .is_err());
    assert!(s
        .complete_multipart_upload(&CompleteRequest::new("bkt", "m", &id, &[p(1, &e2)]))
        .is_err());
    assert!(s
        .complete_multipart_upload(&CompleteRequest::new("bkt", "other", &id, &[p(1, &e1)]))
        .is_err());
    s.complete_multipart_upload(&CompleteRequest::new(
        "bkt",
        "m",
        &id,
        &[p(1, &e1), p(2, &e2)],
    ))
    .unwrap();
    assert_eq!(get(&s, "m", None).unwrap(), b"abcd");
    assert_eq!(
        s.head_object(&ObjectRequest::new("bkt", "m"))
            .unwrap()
            .metadata,
        req.metadata
    );
    // The upload is gone.
    assert_eq!(
        s.upload_part(&PartRequest::new("bkt", "m", &id, 3), Bytes::new())
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
    let id = s.create_multipart_upload(&req).unwrap();
    s.upload_part(
        &PartRequest::new("bkt", "m", &id, 1),
        Bytes::from_static(b"x"),
    )
    .unwrap();
    s.abort_multipart_upload("bkt", "m", &id).unwrap();
    assert_eq!(get(&s, "m", None).unwrap(), b"abcd");
}

#[test]
fn listing_pages_prefixes_and_delimiters() {
    let (_d, s) = store();
    for k in ["a/1", "a/2", "a/sub/3", "b", "c/x", "a0"] {
        put(&s, k, b"x");
    }
    let list = |prefix, delimiter, token: Option<&str>, max| {
        s.list_objects(&ListRequest {
            bucket: "bkt",
            prefix,
            delimiter,
            continuation_token: token,
            max_keys: max,
        })
        .unwrap()
    };
    let keys = |p: &s3ec_client::transport::ListPage| {
        p.objects.iter().map(|o| o.key.clone()).collect::<Vec<_>>()
    };
    let all = list(None, None, None, None);
    assert_eq!(keys(&all), ["a/1", "a/2", "a/sub/3", "a0", "b", "c/x"]);
    assert_eq!(all.next_continuation_token, None);
    // Pages of two cover everything once.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let p = list(None, None, token.as_deref(), Some(2));
        assert!(p.objects.len() <= 2);
        seen.extend(keys(&p));
        token = p.next_continuation_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, keys(&all));
    assert_eq!(
        keys(&list(Some("a/"), None, None, None)),
        ["a/1", "a/2", "a/sub/3"]
    );
    assert_eq!(keys(&list(Some("a/s"), None, None, None)), ["a/sub/3"]);
    let d = list(None, Some("/"), None, None);
    assert_eq!(keys(&d), ["a0", "b"]);
    assert_eq!(d.common_prefixes, ["a/", "c/"]);
    let d = list(Some("a/"), Some("/"), None, None);
    assert_eq!(keys(&d), ["a/1", "a/2"]);
    assert_eq!(d.common_prefixes, ["a/sub/"]);
    // Delimited pages of one.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let p = list(None, Some("/"), token.as_deref(), Some(1));
        seen.extend(keys(&p));
        seen.extend(p.common_prefixes.clone());
        token = p.next_continuation_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["a/", "a0", "b", "c/"]);
}

#[test]
fn refused_keys_and_conflicts() {
    let (d, s) = store();
    for bad in ["../escape", "/abs", "a/../../x", "x.metadata.json"] {
        let e = s
            .put_object(
                &PutRequest {
                    bucket: "bkt",
                    key: bad,
                    metadata: &[],
                    fields: &Default::default(),
                    checksum: None,
                },
                Bytes::from_static(b"x"),
            )
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Other, "{bad}");
    }
    assert!(!d.path().join("escape").exists());
    put(&s, "f", b"x");
    let e = s
        .put_object(
            &PutRequest {
                bucket: "bkt",
                key: "f/g",
                metadata: &[],
                fields: &Default::default(),
                checksum: None,
            },
            Bytes::from_static(b"x"),
        )
        .unwrap_err();
    assert!(e.message.contains("folder"), "{e}");
    // A symbolic link inside the bucket that points outside is not followed.
    #[cfg(unix)]
    {
        let outside = d.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink(&outside, s.root().join("bkt/link")).unwrap();
        assert_eq!(get(&s, "link/secret", None), Err(ErrorKind::AccessDenied));
        let e = s
            .put_object(
                &PutRequest {
                    bucket: "bkt",
                    key: "link/new",
                    metadata: &[],
                    fields: &Default::default(),
                    checksum: None,
                },
                Bytes::from_static(b"x"),
            )
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::AccessDenied);
        assert!(!outside.join("new").exists());
    }
}

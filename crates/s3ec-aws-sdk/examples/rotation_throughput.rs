//! Rotation throughput over many small objects against a moto server
//! started here (s3ec-testkit): N objects of 1 KiB are put under an old AES
//! key, then rotated to a new one with the blocking client over
//! `s3ec-reqwest`, for each envelope storage mode, with 1 and with 8
//! threads; a sample is then read with the new key.
//!
//! ```text
//! S3EC_VENV=/path/to/venv cargo run -p s3ec-aws-sdk --example rotation_throughput [N]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use s3ec_client::{Client, PutOptions, RotateOptions};
use s3ec_keyring::{Context, Keyring};
use s3ec_local::AesKeyring;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("N"))
        .unwrap_or(1000);
    let moto = s3ec_testkit::MotoServer::start().expect("moto");
    let endpoint = moto.endpoint().to_string();
    let t = Arc::new(
        s3ec_reqwest::ReqwestTransport::builder()
            .endpoint(&endpoint)
            .region(s3ec_testkit::REGION)
            .credentials(s3ec_reqwest::Credentials::new(
                s3ec_testkit::ACCESS_KEY_ID,
                s3ec_testkit::SECRET_ACCESS_KEY,
                None,
                None,
                "moto",
            ))
            .path_style(true)
            .build()
            .unwrap(),
    );
    let key = |b: u8, name: &str| -> Arc<dyn Keyring> {
        Arc::new(
            AesKeyring::new(&[b; 32])
                .unwrap()
                .with_material_description(Context::from([("key".into(), name.into())])),
        )
    };
    let (old, new) = (key(1, "old"), key(2, "new"));
    let c_old = Client::builder_shared(t.clone(), old).build().unwrap();
    let c_new = Client::builder_shared(t.clone(), new.clone())
        .build()
        .unwrap();
    let body = vec![7u8; 1024];
    println!("rotation of {n} objects of 1 KiB (AES to AES) against moto on 127.0.0.1");
    for instruction_file in [false, true] {
        for threads in [1usize, 8] {
            let bucket = s3ec_testkit::unique_bucket("rotbench");
            s3ec_testkit::create_bucket(&endpoint, &bucket).unwrap();
            let keys: Vec<String> = (0..n).map(|i| format!("obj/{i:05}")).collect();
            let opts = PutOptions::default().instruction_file(instruction_file);
            for k in &keys {
                c_old
                    .put_object_with(&bucket, k, &body[..], None, &opts)
                    .unwrap();
            }
            let start = Instant::now();
            std::thread::scope(|s| {
                for chunk in keys.chunks(n.div_ceil(threads)) {
                    let (c, new, bucket) = (&c_old, &new, &bucket);
                    s.spawn(move || {
                        for k in chunk {
                            c.rotate_object(bucket, k, new.as_ref(), &RotateOptions::default())
                                .unwrap();
                        }
                    });
                }
            });
            let secs = start.elapsed().as_secs_f64();
            // Spot-check with the new key.
            for k in keys.iter().step_by(n.div_ceil(20).max(1)) {
                let (got, _) = c_new.get_object_to_vec(&bucket, k, None).unwrap();
                assert_eq!(got, body);
            }
            println!(
                "  {:<16} threads {threads}: {n} objects in {secs:.2} s = {:.0} objects/s",
                if instruction_file {
                    "instruction file"
                } else {
                    "object metadata"
                },
                n as f64 / secs
            );
        }
    }
}

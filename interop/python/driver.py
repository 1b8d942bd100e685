#!/usr/bin/env python3
"""Interop peer driver: amazon-s3-encryption-client-python 4.0.0.

Same command-line contract as the other peers (see interop/README.md):

    driver.py put   --endpoint URL --bucket B --key K --in FILE  --mode MODE [options]
    driver.py get   --endpoint URL --bucket B --key K --out FILE --mode MODE [options]
    driver.py modes

Exit status: 0 ok; 1 the peer failed (its own error on stderr, verbatim, after
"peer-error: "); 2 usage error; 3 the peer has no API for what was asked
("unsupported: " on stderr).

Modes (both put and get):
  v3-kms  S3EncryptionClient, KmsKeyring, suite ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY
          (V3, kms+context = wrap 12), policy REQUIRE_ENCRYPT_REQUIRE_DECRYPT
          (a get in this mode rejects V1/V2 objects).
  v2-kms  KmsKeyring, suite ALG_AES_256_GCM_IV12_TAG16_NO_KDF (V2 kms+context, GCM),
          policy FORBID_ENCRYPT_ALLOW_DECRYPT (a get reads V2 and V3).
get --legacy additionally sets KmsKeyring(enable_legacy_wrapping_algorithms=True) and
enable_legacy_unauthenticated_modes=True (reads legacy "kms" wraps and AES/CBC content).
"""

import argparse
import json
import os
import sys

MODES = {
    "v3-kms": "V3 (suite 115, wrap 12 kms+context), REQUIRE_ENCRYPT_REQUIRE_DECRYPT",
    "v2-kms": "V2 (AES/GCM, kms+context), FORBID_ENCRYPT_ALLOW_DECRYPT",
}
PEER = "python"

EXIT_PEER = 1
EXIT_USAGE = 2
EXIT_UNSUPPORTED = 3


class Unsupported(Exception):
    pass


def unsupported(msg):
    raise Unsupported(msg)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="driver.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("modes", help="print this peer's modes as JSON")
    for name in ("put", "get"):
        s = sub.add_parser(name)
        s.add_argument("--endpoint", default=os.environ.get("S3EC_MOTO_ENDPOINT")
                       or os.environ.get("AWS_ENDPOINT_URL"))
        s.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
        s.add_argument("--bucket", required=True)
        s.add_argument("--key", required=True)
        s.add_argument("--mode", required=True)
        s.add_argument("--kms-key-id")
        s.add_argument("--aes-key-b64")
        s.add_argument("--rsa-private-pem")
        s.add_argument("--context", help="JSON object: KMS encryption context")
        s.add_argument("--matdesc", help="JSON object: material description (raw keys)")
        s.add_argument("--instruction-file", action="store_true")
        if name == "put":
            s.add_argument("--in", dest="infile", required=True)
            s.add_argument("--multipart", action="store_true")
            s.add_argument("--part-size", type=int, default=5 * 1024 * 1024)
        else:
            s.add_argument("--out", dest="outfile", required=True)
            s.add_argument("--legacy", action="store_true")
    return p.parse_args(argv)


def json_map(text, what):
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as e:
        print(f"usage: --{what} is not JSON: {e}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    if not isinstance(value, dict):
        print(f"usage: --{what} must be a JSON object", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    return value


def make_client(args, for_get):
    import boto3
    from botocore.config import Config
    from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
    from s3_encryption.materials import AlgorithmSuite, CommitmentPolicy, KmsKeyring

    if args.mode not in MODES:
        print(f"usage: unknown mode {args.mode!r} for peer {PEER}; modes: {', '.join(MODES)}",
              file=sys.stderr)
        sys.exit(EXIT_USAGE)
    if args.aes_key_b64 or args.rsa_private_pem:
        unsupported("amazon-s3-encryption-client-python 4.0.0 has only a KMS keyring "
                    "(s3_encryption.materials exports KmsKeyring; no raw AES or RSA keyring)")
    if args.matdesc is not None:
        unsupported("amazon-s3-encryption-client-python 4.0.0 has no material description "
                    "option (KMS keyring only; use --context)")
    if args.instruction_file and not for_get:
        unsupported("amazon-s3-encryption-client-python 4.0.0 cannot write instruction files "
                    "(InstructionFileConfig has only disable_get_object/disable_delete_object(s); "
                    "put_object always stores the envelope in object metadata)")
    if not args.kms_key_id:
        print("usage: --kms-key-id is required for this peer", file=sys.stderr)
        sys.exit(EXIT_USAGE)

    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        region_name=args.region,
    )
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2})
    s3 = session.client("s3", endpoint_url=args.endpoint, config=cfg)
    kms = session.client("kms", endpoint_url=args.endpoint, config=cfg)
    legacy = bool(getattr(args, "legacy", False))
    keyring = KmsKeyring(kms_client=kms, kms_key_id=args.kms_key_id,
                         enable_legacy_wrapping_algorithms=legacy)
    if args.mode == "v3-kms":
        config = S3EncryptionClientConfig(
            keyring=keyring,
            encryption_algorithm=AlgorithmSuite.ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
            enable_legacy_unauthenticated_modes=legacy,
        )
    else:
        config = S3EncryptionClientConfig(
            keyring=keyring,
            encryption_algorithm=AlgorithmSuite.ALG_AES_256_GCM_IV12_TAG16_NO_KDF,
            commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
            enable_legacy_unauthenticated_modes=legacy,
        )
    return S3EncryptionClient(s3, config)


def do_put(args):
    context = json_map(args.context, "context")
    json_map(args.matdesc, "matdesc")
    client = make_client(args, for_get=False)
    with open(args.infile, "rb") as f:
        body = f.read()
    extra = {}
    if context is not None:
        extra["EncryptionContext"] = context
    if not args.multipart:
        client.put_object(Bucket=args.bucket, Key=args.key, Body=body, **extra)
        return
    # Multipart: the client's own create_multipart_upload / upload_part(IsLastPart) /
    # complete_multipart_upload, parts of --part-size bytes (S3 wants >= 5 MiB but the last).
    size = max(1, args.part_size)
    resp = client.create_multipart_upload(Bucket=args.bucket, Key=args.key, **extra)
    upload_id = resp["UploadId"]
    try:
        chunks = [body[i:i + size] for i in range(0, len(body), size)] or [b""]
        parts = []
        for n, chunk in enumerate(chunks, start=1):
            r = client.upload_part(Bucket=args.bucket, Key=args.key, UploadId=upload_id,
                                   PartNumber=n, Body=chunk, IsLastPart=(n == len(chunks)))
            parts.append({"PartNumber": n, "ETag": r["ETag"]})
        client.complete_multipart_upload(Bucket=args.bucket, Key=args.key, UploadId=upload_id,
                                         MultipartUpload={"Parts": parts})
    except BaseException:
        try:
            client.abort_multipart_upload(Bucket=args.bucket, Key=args.key, UploadId=upload_id)
        except Exception:
            pass
        raise


def do_get(args):
    context = json_map(args.context, "context")
    json_map(args.matdesc, "matdesc")
    client = make_client(args, for_get=True)
    extra = {}
    if context is not None:
        extra["EncryptionContext"] = context
    # Instruction files are read automatically (when the object's metadata lacks the
    # envelope); --instruction-file needs nothing more here.
    resp = client.get_object(Bucket=args.bucket, Key=args.key, **extra)
    data = resp["Body"].read()
    with open(args.outfile, "wb") as f:
        f.write(data)


def main(argv):
    args = parse_args(argv)
    if args.cmd == "modes":
        print(json.dumps({"peer": PEER, "modes": MODES, "put": list(MODES), "get": list(MODES),
                          "instruction_file_put": [], "instruction_file_get": list(MODES),
                          "multipart_put": list(MODES), "legacy_get": list(MODES),
                          "get_checks_context": list(MODES)}, indent=1))
        return 0
    if not args.endpoint:
        print("usage: --endpoint (or S3EC_MOTO_ENDPOINT) is required", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.cmd == "put":
            do_put(args)
        else:
            do_get(args)
    except Unsupported as e:
        print(f"unsupported: {e}", file=sys.stderr)
        return EXIT_UNSUPPORTED
    except Exception as e:  # the peer's own error, verbatim
        print(f"peer-error: {type(e).__name__}: {e}", file=sys.stderr)
        if os.environ.get("S3EC_INTEROP_TRACE"):
            import traceback
            traceback.print_exc()
        return EXIT_PEER
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

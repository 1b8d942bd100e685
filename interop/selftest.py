#!/usr/bin/env python3
"""Self-test of the interop peer drivers against moto (see interop/README.md).

Run through interop/selftest.sh (which installs the peers first). Uses moto's venv
(boto3 is there) to create the bucket and the KMS key; everything else goes through
the drivers (interop/peer PEER put|get ...).

Part 1 (own round trips): every peer, every mode, put then get with the same peer and
mode, bodies of 0, 1, 15, 16, 17, 4095, 65539 and 1 MiB + 5 bytes, envelope in object
metadata; instruction files and multipart where the peer writes them; 128-bit AES keys;
non-ASCII encryption contexts / material descriptions where the peer allows them (and
the peer's refusal where it does not).

Part 2 (cross-peer matrix, bodies of 65539 bytes unless --cross-sizes): objects written
by each (peer, mode, storage) read back by
each reader configuration, with the writer's key. Prints a matrix; cells are
  ok    decrypted to the same bytes     FAIL  decrypted, wrong bytes (a bug somewhere)
  E<n>  the reader failed: footnote n quotes the peer's own error
  n/a   key kinds differ (a KMS reader for a raw-key object) - not attempted
and writes everything to a JSON report (--report).

Part 3 (must-fail gets, all three peers): kms+context objects read with a wrong or no
context, GCM ciphertext and tag bit flips, V3 ciphertext bit flip, wrong raw AES keys.

Exit status: 0 when every part-1 and part-3 check meets its expectation, every part-2
put worked and no part-2 cell is FAIL; 1 otherwise.
"""

import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_LAUNCHER = os.path.join(HERE, "peer")

SIZES = [0, 1, 15, 16, 17, 4095, 65539, 1024 * 1024 + 5]
INSTR_SIZES = [0, 17, 65539]
CROSS_SIZES = [65539]  # --cross-sizes
MULTIPART_SIZES = [17, 11 * 1024 * 1024 + 7]  # 11 MiB: three parts of 5 MiB, 5 MiB, 1 MiB

ASCII_CTX = {"tenant": "acme-corp", "purpose": "interop"}
NONASCII_CTX = {"department": "Zürich-Ω", "project": "s3ec-rust ✓"}
NONASCII_MATDESC = {"purpose": "interop", "owner": "Zoë Ångström ☃ 東京"}

# peer -> mode -> (key kind, wrap family)
PEER_MODES = {
    "python": {"v3-kms": "kms", "v2-kms": "kms"},
    "ruby": {"v2-aesgcm": "aes", "v2-rsaoaep": "rsa", "v2-kmsctx": "kms",
             "v1-aesecb": "aes", "v1-rsa": "rsa", "v1-kms": "kms"},
    "go": {"v2-kmsctx": "kms", "v1-kms-gcm": "kms", "v1-kms-cbc": "kms"},
}
# modes that store a kms+context envelope (a get passes the writer's context back)
KMS_CONTEXT_MODES = {("python", "v3-kms"), ("python", "v2-kms"), ("ruby", "v2-kmsctx"),
                     ("go", "v2-kmsctx")}
# modes whose put takes --context (go's v1 modes: the material description that becomes
# the KMS context)
PUT_CONTEXT_MODES = KMS_CONTEXT_MODES | {("go", "v1-kms-gcm"), ("go", "v1-kms-cbc")}
INSTRUCTION_FILE_WRITERS = {"ruby", "go"}
MULTIPART_WRITERS = {"python"}


class Env:
    def __init__(self, endpoint, bucket, kms_key_id, aes256, aes128, rsa_pem, workdir):
        self.endpoint = endpoint
        self.bucket = bucket
        self.kms_key_id = kms_key_id
        self.aes256 = aes256
        self.aes128 = aes128
        self.rsa_pem = rsa_pem
        self.workdir = workdir
        self.counter = 0
        self.lock = threading.Lock()

    def unique(self, stem):
        with self.lock:
            self.counter += 1
            return f"{stem}-{self.counter}"


def run_driver(env, peer, cmd, mode, key, path, key_kind, aes=None, context=None,
               matdesc=None, instruction_file=False, multipart=False, legacy=False):
    args = [PEER_LAUNCHER, peer, cmd, "--endpoint", env.endpoint, "--region", "us-east-1",
            "--bucket", env.bucket, "--key", key, "--mode", mode]
    args += ["--in", path] if cmd == "put" else ["--out", path]
    if key_kind == "kms":
        args += ["--kms-key-id", env.kms_key_id]
    elif key_kind == "aes":
        args += ["--aes-key-b64", aes or env.aes256]
    elif key_kind == "rsa":
        args += ["--rsa-private-pem", env.rsa_pem]
    if context is not None:
        args += ["--context", json.dumps(context, ensure_ascii=False)]
    if matdesc is not None:
        args += ["--matdesc", json.dumps(matdesc, ensure_ascii=False)]
    if instruction_file:
        args.append("--instruction-file")
    if multipart:
        args.append("--multipart")
    if legacy:
        args.append("--legacy")
    started = time.monotonic()
    p = subprocess.run(args, capture_output=True, timeout=300)
    return {
        "argv": args[1:],
        "exit": p.returncode,
        "stderr": p.stderr.decode("utf-8", "replace").strip(),
        "seconds": round(time.monotonic() - started, 2),
    }


def body(size):
    # deterministic, distinct per size
    out = bytearray()
    seed = hashlib.sha256(str(size).encode()).digest()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[:size])


def body_file(env, size):
    path = os.path.join(env.workdir, f"body-{size}.bin")
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(body(size))
    return path


def short_error(stderr):
    line = stderr.splitlines()[0] if stderr else "(no message)"
    for prefix in ("peer-error: ", "unsupported: "):
        if line.startswith(prefix):
            line = line[len(prefix):]
    # object keys differ from run to run: name them <key>
    return re.sub(r"\b(own|cross|neg)/[^\s'\"]+", "<key>", line)


# ---------------------------------------------------------------- part 1
def own_cases():
    """(label, dict of put/get options, expect) for every own round trip."""
    cases = []
    for peer, modes in PEER_MODES.items():
        for mode, kind in modes.items():
            ctx = None
            matdesc = None
            if (peer, mode) in PUT_CONTEXT_MODES:
                ctx = ASCII_CTX if peer == "python" else NONASCII_CTX
            if kind in ("aes", "rsa"):
                matdesc = NONASCII_MATDESC
            base = dict(peer=peer, mode=mode, kind=kind, context=ctx, matdesc=matdesc)
            for size in SIZES:
                cases.append(dict(base, size=size, storage="metadata", expect="ok"))
            if peer in INSTRUCTION_FILE_WRITERS:
                for size in INSTR_SIZES:
                    cases.append(dict(base, size=size, storage="instruction-file", expect="ok"))
            else:
                cases.append(dict(base, size=17, storage="instruction-file",
                                  expect="unsupported"))
            if peer in MULTIPART_WRITERS:
                for size in MULTIPART_SIZES:
                    cases.append(dict(base, size=size, storage="metadata", multipart=True,
                                      expect="ok"))
            else:
                cases.append(dict(base, size=17, storage="metadata", multipart=True,
                                  expect="unsupported"))
            if kind == "aes":
                for size in (0, 17, 4095):
                    cases.append(dict(base, size=size, storage="metadata", aes128=True,
                                      expect="ok"))
            if peer == "python":
                cases.append(dict(base, size=17, storage="metadata", context=NONASCII_CTX,
                                  expect="error"))
    return cases


def run_own(env, case):
    path = body_file(env, case["size"])
    key = env.unique(f"own/{case['peer']}/{case['mode']}/{case['size']}")
    aes = env.aes128 if case.get("aes128") else env.aes256
    put = run_driver(env, case["peer"], "put", case["mode"], key, path, case["kind"], aes=aes,
                     context=case["context"], matdesc=case["matdesc"],
                     instruction_file=case["storage"] == "instruction-file",
                     multipart=case.get("multipart", False))
    result = {"put": put}
    if put["exit"] == 0:
        out = os.path.join(env.workdir, key.replace("/", "_") + ".out")
        get_ctx = case["context"] if (case["peer"], case["mode"]) in KMS_CONTEXT_MODES else None
        get = run_driver(env, case["peer"], "get", case["mode"], key, out, case["kind"], aes=aes,
                         context=get_ctx)
        result["get"] = get
        if get["exit"] == 0:
            with open(out, "rb") as f:
                result["same"] = f.read() == body(case["size"])
            os.remove(out)
            outcome = "ok" if result["same"] else "FAIL"
        else:
            outcome = "error"
            result["error"] = get["stderr"]
    elif put["exit"] == 3:
        outcome = "unsupported"
        result["error"] = put["stderr"]
    else:
        outcome = "error"
        result["error"] = put["stderr"]
    result["outcome"] = outcome
    result["pass"] = outcome == case["expect"]
    return result


def own_label(c):
    bits = [c["storage"]]
    if c.get("multipart"):
        bits.append("multipart")
    if c.get("aes128"):
        bits.append("aes128")
    if c["context"] is not None:
        bits.append("ctx=" + ("ascii" if all(v.isascii() for v in c["context"].values())
                              else "non-ascii"))
    if c["matdesc"] is not None:
        bits.append("matdesc=non-ascii")
    return " ".join(bits)


# ---------------------------------------------------------------- part 2
def writers():
    out = []
    for peer, modes in PEER_MODES.items():
        for mode, kind in modes.items():
            ctx = ASCII_CTX if (peer, mode) in PUT_CONTEXT_MODES else None
            md = NONASCII_MATDESC if kind in ("aes", "rsa") else None
            out.append(dict(peer=peer, mode=mode, kind=kind, storage="meta", context=ctx,
                            matdesc=md))
            if peer in INSTRUCTION_FILE_WRITERS:
                out.append(dict(peer=peer, mode=mode, kind=kind, storage="instr", context=ctx,
                                matdesc=md))
    # non-ASCII contexts, from the peers that take them
    out.append(dict(peer="ruby", mode="v2-kmsctx", kind="kms", storage="meta",
                    context=NONASCII_CTX, matdesc=None))
    out.append(dict(peer="go", mode="v2-kmsctx", kind="kms", storage="meta",
                    context=NONASCII_CTX, matdesc=None))
    # multipart
    out.append(dict(peer="python", mode="v3-kms", kind="kms", storage="meta", context=ASCII_CTX,
                    matdesc=None, multipart=True))
    out.append(dict(peer="python", mode="v2-kms", kind="kms", storage="meta", context=ASCII_CTX,
                    matdesc=None, multipart=True))
    return out


def writer_label(w):
    s = f"{w['peer']}:{w['mode']}"
    if w["storage"] == "instr":
        s += " instr"
    if w.get("multipart"):
        s += " multipart"
    if w["context"] is not None and not all(v.isascii() for v in w["context"].values()):
        s += " ctx=non-ascii"
    return s


# reader columns: (label, peer, mode per key kind, legacy flag)
READERS = [
    ("py:v3", "python", {"kms": "v3-kms"}, False),
    ("py:v2+L", "python", {"kms": "v2-kms"}, True),
    ("rb:v2", "ruby", {"kms": "v2-kmsctx", "aes": "v2-aesgcm", "rsa": "v2-rsaoaep"}, False),
    ("rb:v2+L", "ruby", {"kms": "v2-kmsctx", "aes": "v2-aesgcm", "rsa": "v2-rsaoaep"}, True),
    ("rb:v1", "ruby", {"kms": "v1-kms", "aes": "v1-aesecb", "rsa": "v1-rsa"}, False),
    ("go:v2", "go", {"kms": "v2-kmsctx"}, False),
    ("go:v2+L", "go", {"kms": "v2-kmsctx"}, True),
]


def run_cross_write(env, w, size):
    path = body_file(env, size if not w.get("multipart") else MULTIPART_SIZES[1])
    key = env.unique(f"cross/{w['peer']}/{w['mode']}/{w['storage']}/{size}")
    put = run_driver(env, w["peer"], "put", w["mode"], key, path, w["kind"],
                     context=w["context"], matdesc=w["matdesc"],
                     instruction_file=w["storage"] == "instr",
                     multipart=w.get("multipart", False))
    return key, path, put


def run_cross_read(env, w, key, path, reader):
    label, peer, modes, legacy = reader
    mode = modes.get(w["kind"])
    if mode is None:
        return {"cell": "n/a"}
    ctx = None
    # A kms+context object: the caller's context goes back at get, to readers that take one
    # (the legacy V1 Ruby client has no such option).
    if (w["peer"], w["mode"]) in KMS_CONTEXT_MODES and not (peer == "ruby" and mode.startswith("v1")):
        ctx = w["context"]
    out = os.path.join(env.workdir, key.replace("/", "_") + f".{label}.out")
    r = run_driver(env, peer, "get", mode, key, out, w["kind"], context=ctx, legacy=legacy)
    if r["exit"] == 0:
        with open(out, "rb") as f:
            same = f.read() == open(path, "rb").read()
        os.remove(out)
        r["cell"] = "ok" if same else "FAIL"
    else:
        r["cell"] = "error"
    return r


# ---------------------------------------------------------------- part 3
def s3_client(env):
    import boto3
    return boto3.client("s3", endpoint_url=env.endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def flip_byte(env, key, offset):
    """Flip one bit of a stored object's body, keeping its metadata."""
    s3 = s3_client(env)
    obj = s3.get_object(Bucket=env.bucket, Key=key)
    data = bytearray(obj["Body"].read())
    data[offset % len(data)] ^= 0x01
    s3.put_object(Bucket=env.bucket, Key=key, Body=bytes(data), Metadata=obj["Metadata"])


def negative_checks(env):
    """(label, reader label, expect, result) for tampered or mismatched gets."""
    path = body_file(env, 4095)
    out = []

    def write(peer, mode, kind, **kw):
        key = env.unique(f"neg/{peer}/{mode}")
        r = run_driver(env, peer, "put", mode, key, path, kind, **kw)
        if r["exit"] != 0:
            raise RuntimeError(f"negative-check setup put failed: {r['stderr']}")
        return key

    def read(label, reader, peer, mode, key, kind, expect, **kw):
        dest = os.path.join(env.workdir, key.replace("/", "_") + ".neg")
        r = run_driver(env, peer, "get", mode, key, dest, kind, **kw)
        if r["exit"] == 0:
            same = open(dest, "rb").read() == body(4095)
            os.remove(dest)
            r["outcome"] = "ok" if same else "wrong-plaintext"
        else:
            r["outcome"] = "error"
        out.append((label, reader, expect, r))

    # 1. kms+context object, read with another context than the one it was written with
    key = write("python", "v2-kms", "kms", context=ASCII_CTX)
    other = {"tenant": "someone-else", "purpose": "interop"}
    read("V2 kms+context, wrong context at get", "py:v2", "python", "v2-kms", key, "kms", "error", context=other)
    read("V2 kms+context, wrong context at get", "rb:v2", "ruby", "v2-kmsctx", key, "kms", "error", context=other)
    read("V2 kms+context, wrong context at get", "go:v2", "go", "v2-kmsctx", key, "kms", "ok (s3crypto takes no caller context)", context=other)
    read("V2 kms+context, no context at get", "py:v2", "python", "v2-kms", key, "kms", "error")
    read("V2 kms+context, no context at get", "rb:v2", "ruby", "v2-kmsctx", key, "kms", "error")
    # 2. GCM ciphertext with one bit flipped (first byte; then a tag byte)
    for where, offset in (("ciphertext", 0), ("tag", -1)):
        key = write("ruby", "v2-kmsctx", "kms", context=ASCII_CTX)
        flip_byte(env, key, offset)
        label = f"V2 GCM, {where} bit flipped"
        read(label, "py:v2+L", "python", "v2-kms", key, "kms", "error", context=ASCII_CTX, legacy=True)
        read(label, "rb:v2+L", "ruby", "v2-kmsctx", key, "kms", "error", context=ASCII_CTX, legacy=True)
        read(label, "rb:v1", "ruby", "v1-kms", key, "kms", "error")
        read(label, "go:v2+L", "go", "v2-kmsctx", key, "kms", "error", legacy=True)
    key = write("python", "v3-kms", "kms", context=ASCII_CTX)
    flip_byte(env, key, 0)
    read("V3, ciphertext bit flipped", "py:v3", "python", "v3-kms", key, "kms", "error", context=ASCII_CTX)
    # 3. raw AES key: the wrong key
    key = write("ruby", "v2-aesgcm", "aes")
    wrong = base64.b64encode(os.urandom(32)).decode()
    read("V2 AES/GCM wrap, wrong AES key", "rb:v2", "ruby", "v2-aesgcm", key, "aes", "error", aes=wrong)
    key = write("ruby", "v1-aesecb", "aes")
    read("V1 AES wrap, wrong AES key", "rb:v1", "ruby", "v1-aesecb", key, "aes", "error", aes=wrong)
    return out


# ---------------------------------------------------------------- moto
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(python):
    port = free_port()
    code = ("import os,sys,threading\n"
            "def w():\n"
            "    try: sys.stdin.buffer.read()\n"
            "    finally: os._exit(0)\n"
            "threading.Thread(target=w,daemon=True).start()\n"
            "from moto.server import main\n"
            f"main(['-H','127.0.0.1','-p','{port}'])\n")
    log = tempfile.NamedTemporaryFile(prefix="s3ec-interop-moto-", suffix=".log", delete=False)
    proc = subprocess.Popen([python, "-c", code], stdin=subprocess.PIPE, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"selftest: moto exited at start; see {log.name}")
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2)
            proc.log_path = log.name
            return proc, url
        except Exception:
            time.sleep(0.2)
    proc.kill()
    sys.exit(f"selftest: moto did not answer on {url}; see {log.name}")


def setup_env(endpoint, workdir):
    import boto3
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    kms = boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = f"s3ec-interop-{os.getpid()}"
    s3.create_bucket(Bucket=bucket)
    key_id = kms.create_key(Description="s3ec interop selftest")["KeyMetadata"]["KeyId"]
    priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = os.path.join(workdir, "rsa.pem")
    with open(pem, "wb") as f:
        f.write(priv.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.TraditionalOpenSSL,
                                   serialization.NoEncryption()))
    return Env(endpoint, bucket, key_id, base64.b64encode(os.urandom(32)).decode(),
               base64.b64encode(os.urandom(16)).decode(), pem, workdir)


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", default=None, help="write a JSON report here")
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--peers", default="python,ruby,go")
    ap.add_argument("--parts", default="1,2,3", help="which parts to run (default 1,2,3)")
    ap.add_argument("--cross-sizes", default=",".join(map(str, CROSS_SIZES)),
                    help="body sizes for the cross-peer matrix (default %(default)s)")
    args = ap.parse_args()
    peers = set(args.peers.split(","))
    for p in list(PEER_MODES):
        if p not in peers:
            del PEER_MODES[p]
    global READERS
    READERS = [r for r in READERS if r[1] in peers]

    endpoint = os.environ.get("S3EC_MOTO_ENDPOINT")
    proc = None
    if not endpoint:
        proc, endpoint = start_moto(sys.executable)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    workdir = tempfile.mkdtemp(prefix="s3ec-interop-selftest-")
    started = time.monotonic()
    try:
        env = setup_env(endpoint, workdir)
        print(f"selftest: moto at {endpoint}, bucket {env.bucket}, KMS key {env.kms_key_id}")
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)

        parts = set(args.parts.split(","))
        CROSS_SIZES[:] = [int(x) for x in args.cross_sizes.split(",") if x]
        # ---- part 1
        cases = own_cases() if "1" in parts else []
        results = list(pool.map(lambda c: run_own(env, c), cases))
        if cases:
            print("\n== Part 1: own round trips (put then get, same peer and mode) ==")
        groups = {}
        for c, r in zip(cases, results):
            groups.setdefault((c["peer"], c["mode"], own_label(c), c["expect"]), []).append((c, r))
        own_ok = True
        width = max([len(f"{p}:{m}") for (p, m, _, _) in groups] or [0])
        for (peer, mode, label, expect), items in groups.items():
            sizes = ",".join(str(c["size"]) for c, _ in items)
            passed = all(r["pass"] for _, r in items)
            own_ok &= passed
            outcomes = sorted({r["outcome"] for _, r in items})
            status = "PASS" if passed else "FAIL"
            line = f"  {status}  {peer + ':' + mode:<{width}}  {label:<42} sizes {sizes:<40} -> {'/'.join(outcomes)}"
            if expect != "ok" or not passed:
                errs = sorted({short_error(r.get("error", "")) for _, r in items if r.get("error")})
                for e in errs:
                    line += (f"\n          (expected {expect}) {e}" if passed else
                             f"\n          (expected {expect}, got {'/'.join(outcomes)}) {e}")
            print(line)

        # ---- part 2
        ws = writers() if "2" in parts else []
        ws = [w for w in ws if w["peer"] in peers]
        jobs = [(w, size) for w in ws for size in CROSS_SIZES]
        written = list(pool.map(lambda j: run_cross_write(env, *j), jobs))
        reads = []
        for (w, size), (key, path, put) in zip(jobs, written):
            if put["exit"] != 0:
                continue
            for reader in READERS:
                reads.append((w, size, key, path, reader))
        read_results = list(pool.map(lambda j: run_cross_read(env, j[0], j[2], j[3], j[4]), reads))

        cells = {}
        put_failures = {}
        for (w, size), (key, path, put) in zip(jobs, written):
            if put["exit"] != 0:
                put_failures[writer_label(w)] = put["stderr"]
        for (w, size, key, path, reader), r in zip(reads, read_results):
            cells.setdefault((writer_label(w), reader[0]), []).append(r)

        footnotes = []
        def note(msg):
            if msg not in footnotes:
                footnotes.append(msg)
            return footnotes.index(msg) + 1

        if ws:
            print("\n== Part 2: cross-peer matrix (rows: writer; columns: reader; sizes "
                  + ",".join(map(str, CROSS_SIZES)) + ") ==")
        if ws:
            print("   readers: py:v3 = python v3-kms (REQUIRE_ENCRYPT_REQUIRE_DECRYPT); py:v2+L = python"
              " v2-kms --legacy;\n            rb:v2 = Ruby EncryptionV2 :v2 (v2-kmsctx/aesgcm/rsaoaep"
              " by key); rb:v2+L = same, :v2_and_legacy;\n            rb:v1 = Ruby legacy"
              " Encryption::Client; go:v2 = s3crypto DecryptionClientV2 kms+context/GCM;"
              " go:v2+L = + kms, CBC")
        rows = list(dict.fromkeys(writer_label(w) for w in ws))
        rw = max([len(r) for r in rows] or [0]) + 2
        header = " " * rw + "".join(f"{r[0]:<9}" for r in READERS)
        if ws:
            print(header)
        any_fail = False
        matrix = {}
        for row in rows:
            if row in put_failures:
                n = note(short_error(put_failures[row]))
                print(f"{row:<{rw}}put failed E{n}")
                any_fail = True
                continue
            line = f"{row:<{rw}}"
            for reader in READERS:
                rs = cells.get((row, reader[0]), [])
                kinds = {r["cell"] for r in rs}
                if not rs:
                    cell = "-"
                elif kinds == {"ok"}:
                    cell = "ok"
                elif kinds == {"n/a"}:
                    cell = "n/a"
                elif "FAIL" in kinds:
                    cell = "FAIL"
                    any_fail = True
                else:
                    errs = sorted({short_error(r["stderr"]) for r in rs if r["cell"] == "error"})
                    cell = ",".join(f"E{note(e)}" for e in errs)
                    if "ok" in kinds:
                        cell += "*"
                matrix.setdefault(row, {})[reader[0]] = cell
                line += f"{cell:<9}"
            print(line)
        if footnotes:
            print("\n   errors (each peer's own message, first line):")
        for i, e in enumerate(footnotes, 1):
            print(f"   E{i}: {e}")

        # ---- part 3
        neg = negative_checks(env) if "3" in parts and peers == {"python", "ruby", "go"} else []
        if neg:
            print("\n== Part 3: gets that must fail (tampered objects, wrong context or key) ==")
        neg_ok = True
        for label, reader, expect, r in neg:
            passed = r["outcome"] == expect.split(" ")[0]
            neg_ok &= passed
            msg = f" -- {short_error(r['stderr'])}" if r["stderr"] else ""
            print(f"  {'PASS' if passed else 'FAIL'}  {label:<40} {reader:<8} expect {expect:<40} got {r['outcome']}{msg}")

        elapsed = time.monotonic() - started
        n_own = len(results) + len(neg)
        n_own_pass = sum(r["pass"] for r in results) + sum(
            r["outcome"] == e.split(" ")[0] for _, _, e, r in neg)
        print(f"\nselftest: parts 1 and 3: {n_own_pass}/{n_own} checks as expected; part 2 "
              f"{len(read_results)} reads, {'some FAIL' if any_fail else 'no wrong plaintext'};"
              f" {elapsed:.0f}s")
        if args.report:
            with open(args.report, "w") as f:
                json.dump({"own": [dict(c, **r) for c, r in zip(cases, results)],
                           "matrix": matrix, "errors": footnotes,
                           "negative": [dict(label=l, reader=rd, expect=e, **r) for l, rd, e, r in neg],
                           "put_failures": put_failures}, f, indent=1, ensure_ascii=False)
        # Plain closing line.
        print(f"{n_own_pass} passed, {n_own - n_own_pass + (1 if any_fail else 0)} failed")
        return 0 if (n_own_pass == n_own and not any_fail) else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if proc is not None:
            proc.kill()
            proc.wait()
            try:
                os.remove(proc.log_path)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())

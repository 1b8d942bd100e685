#!/usr/bin/env bash
# Parallel transfers (issue 12): encrypted put and get-to-a-file at several
# concurrencies against a local S3 server (s3s-fs on 127.0.0.1) behind
# s3ec-testkit's shaping proxy (a link that behaves like S3: a bandwidth
# limit per connection, a latency per request), compared in interleaved
# rounds with
#   - the async client (e2e --mode async: AsyncClient over s3ec-aws-sdk, the
#     AWS SDK's HTTP stack, on tokio) at the same concurrency and part size,
#   - plain transfers through the same transport at the same concurrency
#     (e2e --mode plain: a multipart upload on N threads, a ranged download
#     on N threads written at offsets into a file),
#   - boto3's transfer manager (upload_file / download_file, its defaults:
#     10 threads, 8 MiB parts), from the project virtualenv,
#   - s5cmd (cp, -c N -p PART), when it can be built from the Go module proxy.
# Results and how to read them: docs/measurements.md.
#
# usage: scripts/measure-parallel.sh
#
# Environment (defaults in brackets):
#   SIZE [1GiB]  RUNS [3]  CONCURRENCIES [1 4 8]  PART_SIZE [8MiB]
#   MIB_PER_S [50]  LATENCY_MS [20]      the shaping of each connection
#   PORT [8015]   DATA_PARENT [${TMPDIR:-/tmp}]  (s3s-fs data, downloaded files)
#   S5CMD_VERSION [v2.3.0]   BOTO3 [1]  S5CMD_ON [1]  ASYNC [1]
#                                      (0: leave that contender out)
#   S3EC_VENV [<workspace>/.venv]  the virtualenv boto3 is installed into
#   CARGO_TARGET_DIR [target/h-e2e]  OUT [$CARGO_TARGET_DIR/measure-parallel.txt]
#   OP_TIMEOUT [900]  seconds one transfer may take
#
# Everything runs on 127.0.0.1 and stops by itself; the data folder is
# removed at exit. On a shared machine run it under `nice` with a smaller
# SIZE and RUNS.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

S3S_FS_VERSION=0.14.1 # as scripts/measure-e2e.sh
ACCESS_KEY=e2eaccess
SECRET_KEY=e2esecret
BUCKET=e2e

SIZE=${SIZE:-1GiB}
RUNS=${RUNS:-3}
CONCURRENCIES=${CONCURRENCIES:-1 4 8}
PART_SIZE=${PART_SIZE:-8MiB}
MIB_PER_S=${MIB_PER_S:-50}
LATENCY_MS=${LATENCY_MS:-20}
PORT=${PORT:-8015}
DATA_PARENT=${DATA_PARENT:-${TMPDIR:-/tmp}}
S5CMD_VERSION=${S5CMD_VERSION:-v2.3.0}
BOTO3=${BOTO3:-1}
ASYNC=${ASYNC:-1}
VENV=${S3EC_VENV:-$ROOT/.venv}
OP_TIMEOUT=${OP_TIMEOUT:-900}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/h-e2e}
OUT=${OUT:-$CARGO_TARGET_DIR/measure-parallel.txt}
TOOLS=$ROOT/target/tools
S3S_FS=$TOOLS/bin/s3s-fs
S5CMD=$TOOLS/bin/s5cmd
E2E=$CARGO_TARGET_DIR/release/e2e
PROXY_BIN=$CARGO_TARGET_DIR/release/shaping-proxy

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,31p' "$0"
    exit 0
fi

log() { echo "$*" | tee -a "$OUT"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
TICK=$(getconf CLK_TCK)
ticks() { # user + system clock ticks of a process (0 when it is gone)
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0 && return; }
    s=${s##*) }
    awk '{print $12 + $13}' <<<"$s"
}
bytes_of() { # SIZE with K/M/G/KiB/MiB/GiB suffixes, powers of 1024
    local s=$1 n u
    n=${s%%[!0-9]*}
    u=${s#"$n"}
    case ${u,,} in
    "" | b) echo "$n" ;; k | kib) echo $((n << 10)) ;; m | mib) echo $((n << 20)) ;;
    g | gib) echo $((n << 30)) ;; *) echo "bad size $s" >&2 && exit 2 ;;
    esac
}
SIZE_BYTES=$(bytes_of "$SIZE")
PART_MIB=$(($(bytes_of "$PART_SIZE") >> 20))

# --- tools -----------------------------------------------------------------
if [[ ! -x /usr/bin/time ]]; then
    echo "installing GNU time (apt)" >&2
    apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi
if [[ ! -x $S3S_FS ]] || [[ $("$S3S_FS" --version 2>/dev/null) != "s3s-fs $S3S_FS_VERSION" ]]; then
    echo "installing s3s-fs $S3S_FS_VERSION into $TOOLS (cargo install)" >&2
    cargo install s3s-fs --version "$S3S_FS_VERSION" --locked --features binary --root "$TOOLS"
fi
HAVE_S5CMD=0
if [[ ${S5CMD_ON:-1} == 0 ]]; then
    :
elif [[ -x $S5CMD ]]; then
    HAVE_S5CMD=1
elif command -v go >/dev/null; then
    echo "building s5cmd $S5CMD_VERSION from the Go module proxy into $TOOLS/bin" >&2
    # Not `go install pkg@version`: that also reads the module's version
    # list, which the proxy here refuses (403); the exact version is
    # served. So a throwaway module requires it and builds it (checksums
    # still checked against the Go checksum database).
    S5B=$TOOLS/s5cmd-build
    mkdir -p "$S5B" "$TOOLS/bin"
    printf 'module s5build\n\ngo 1.22\n\nrequire github.com/peak/s5cmd/v2 %s\n' "$S5CMD_VERSION" >"$S5B/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/peak/s5cmd/v2"\n' >"$S5B/tools.go"
    if (cd "$S5B" && GOFLAGS=-mod=mod go build -o "$S5CMD" github.com/peak/s5cmd/v2) >"$TOOLS/s5cmd-install.log" 2>&1; then
        HAVE_S5CMD=1
    else
        echo "s5cmd could not be built (left out): $(tail -2 "$TOOLS/s5cmd-install.log" | tr '\n' ' ')" >&2
    fi
fi
PY=$VENV/bin/python
if [[ $BOTO3 == 1 ]]; then
    if [[ ! -x $PY ]]; then
        python3 -m venv "$VENV"
    fi
    if ! "$PY" -c 'import boto3' 2>/dev/null; then
        echo "installing boto3 into $VENV (pip)" >&2
        "$PY" -m pip install --quiet boto3
    fi
fi
cargo build --release -p s3ec-e2e-bench >&2

# --- server and link -------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
DATA=$(mktemp -d "$DATA_PARENT/s3ec-par.XXXXXX")
mkdir "$DATA/$BUCKET" "$DATA/files"
SERVER_PID=
PROXY_PID=
cleanup() {
    for pid in $PROXY_PID $SERVER_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    exec 7>&- 2>/dev/null || true
    rm -rf "$DATA" "$DATA.log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
RUST_LOG=warn "$S3S_FS" --host 127.0.0.1 --port "$PORT" \
    --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" "$DATA" >"$DATA.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DATA.log" >&2 && exit 1; }
    sleep 0.2
done
# The proxy serves until its standard input (fd 7 here) closes.
exec 7> >(exec "$PROXY_BIN" "http://127.0.0.1:$PORT" "$MIB_PER_S" "$LATENCY_MS" >"$DATA/proxy.url")
PROXY_PID=$!
for _ in $(seq 100); do
    [[ -s $DATA/proxy.url ]] && break
    sleep 0.1
done
ENDPOINT=$(head -1 "$DATA/proxy.url")
export S3EC_E2E_ENDPOINT=$ENDPOINT S3EC_E2E_ACCESS_KEY=$ACCESS_KEY S3EC_E2E_SECRET_KEY=$SECRET_KEY
export AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY AWS_REGION=us-east-1
# The proxy forwards Content-Length bodies only (no aws-chunked uploads).
export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required
# The sources and downloads of the file-based tools (a folder beside the
# bucket's, so another "bucket" to s3s-fs, never listed).
SRC=$DATA/files/source
head -c "$SIZE_BYTES" /dev/urandom >"$SRC"

BOTO=$(mktemp "$DATA/boto.XXXXXX.py")
cat >"$BOTO" <<'PYEOF'
import os, sys, time
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
op, endpoint, bucket, key, path = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
cfg = TransferConfig()  # the defaults users get: 10 threads, 8 MiB parts
start = time.monotonic()
if op == "put":
    s3.upload_file(path, bucket, key, Config=cfg)
else:
    s3.download_file(bucket, key, path, Config=cfg)
secs = time.monotonic() - start
n = os.path.getsize(path)
print(f"op={op} mode=boto3 concurrency={cfg.max_request_concurrency} bytes={n} secs={secs:.3f} mib_per_s={n / 1048576 / secs:.1f}")
PYEOF

# Why a transfer failed: its /usr/bin/time report, whether the server and
# the proxy still run, the end of the server's log.
failed() {
    cat "$1" >&2
    kill -0 "$SERVER_PID" 2>/dev/null && echo "s3s-fs still runs" >&2 || echo "s3s-fs is gone" >&2
    kill -0 "$PROXY_PID" 2>/dev/null && echo "the proxy still runs" >&2 || echo "the proxy is gone" >&2
    tail -20 "$DATA.log" >&2
    rm -f "$1"
    return 1
}

# One timed transfer under /usr/bin/time: its result line, plus rss_kib.
# `tool` is e2e, boto3 or s5cmd.
run() {
    sync
    local tool=$1 op=$2 mode=$3 c=$4 tm line rss load srv0 prx0
    load=$(loadavg | tr ' ' '/')
    srv0=$(ticks "$SERVER_PID")
    prx0=$(ticks "$PROXY_PID")
    tm=$(mktemp)
    case $tool in
    e2e)
        local args=("$op" --mode "$mode" --concurrency "$c" --size "$SIZE" --part-size "$PART_SIZE" --key "par-$mode")
        [[ $op == get ]] && args+=(--to-path "$DATA/files")
        line=$(/usr/bin/time -v -o "$tm" timeout "$OP_TIMEOUT" "$E2E" "${args[@]}") || { failed "$tm"; return 1; }
        ;;
    boto3)
        local path=$SRC
        [[ $op == get ]] && path=$DATA/files/boto3.out
        line=$(/usr/bin/time -v -o "$tm" timeout "$OP_TIMEOUT" "$PY" "$BOTO" "$op" "$ENDPOINT" "$BUCKET" par-boto3 "$path") || { failed "$tm"; return 1; }
        [[ $op == get ]] && rm -f "$path"
        ;;
    s5cmd)
        local start end secs
        start=$(date +%s.%N)
        if [[ $op == put ]]; then
            /usr/bin/time -v -o "$tm" timeout "$OP_TIMEOUT" "$S5CMD" --endpoint-url "$ENDPOINT" \
                cp -c "$c" -p "$PART_MIB" "$SRC" "s3://$BUCKET/par-s5cmd" >/dev/null || { failed "$tm"; return 1; }
        else
            /usr/bin/time -v -o "$tm" timeout "$OP_TIMEOUT" "$S5CMD" --endpoint-url "$ENDPOINT" \
                cp -c "$c" -p "$PART_MIB" "s3://$BUCKET/par-s5cmd" "$DATA/files/s5cmd.out" >/dev/null || { failed "$tm"; return 1; }
            rm -f "$DATA/files/s5cmd.out"
        fi
        end=$(date +%s.%N)
        secs=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}')
        line="op=$op mode=s5cmd concurrency=$c bytes=$SIZE_BYTES secs=$secs mib_per_s=$(awk -v n="$SIZE_BYTES" -v s="$secs" 'BEGIN {printf "%.1f", n / 1048576 / s}')"
        ;;
    esac
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tm")
    # CPU seconds the contender spent (user + system): on a machine where the
    # client, the proxy and the server share the cores, the cheaper client
    # leaves more for the link.
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$tm")
    rm -f "$tm"
    # What the transfer cost s3s-fs and the proxy (the same cores).
    local srv prx
    srv=$(awk -v a="$srv0" -v b="$(ticks "$SERVER_PID")" -v k="$TICK" 'BEGIN {printf "%.2f", (b - a) / k}')
    prx=$(awk -v a="$prx0" -v b="$(ticks "$PROXY_PID")" -v k="$TICK" 'BEGIN {printf "%.2f", (b - a) / k}')
    log "$line rss_kib=$rss cpu_s=$cpu server_cpu_s=$srv proxy_cpu_s=$prx load=$load"
}

median() {
    tr ',' '\n' <<<"$1" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

log "# $(date -u +%Y-%m-%dT%H:%M:%SZ) s3ec parallel: SIZE=$SIZE PART_SIZE=$PART_SIZE RUNS=$RUNS CONCURRENCIES='$CONCURRENCIES' link=${MIB_PER_S}MiB/s+${LATENCY_MS}ms per connection"
log "# $(nproc) cores, load average $(loadavg), git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates scripts || echo '+dirty'), s3s-fs $S3S_FS_VERSION behind shaping-proxy $ENDPOINT, boto3 $([[ $BOTO3 == 1 ]] && "$PY" -c 'import boto3; print(boto3.__version__)' || echo off), s5cmd $([[ $HAVE_S5CMD == 1 ]] && echo "$S5CMD_VERSION" || echo unavailable)"

RES=$(mktemp)
FAILURES=0
# A failed transfer is logged and counted (the medians are of the runs that
# succeeded); the script then goes on and exits 1 at the end.
attempt() {
    if ! run "$@" | tee -a "$RES"; then
        FAILURES=$((FAILURES + 1))
        log "failed tool=$1 op=$2 mode=$3 concurrency=$4 (see stderr)"
    fi
}
for i in $(seq "$RUNS"); do
    log "# round $i"
    for c in $CONCURRENCIES; do
        for op in put get; do
            attempt e2e "$op" enc "$c"
            if [[ $ASYNC == 1 ]]; then attempt e2e "$op" async "$c"; fi
            attempt e2e "$op" plain "$c"
            if [[ $HAVE_S5CMD == 1 ]]; then attempt s5cmd "$op" s5cmd "$c"; fi
        done
    done
    if [[ $BOTO3 == 1 ]]; then
        attempt boto3 put boto3 10
        attempt boto3 get boto3 10
    fi
done

log "## medians of $RUNS rounds (MiB/s; peak RSS in MiB)"
# op mode concurrency -> lists of MiB/s and RSS
awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
       k = f["op"] " " f["mode"] " " f["concurrency"]
       v[k] = v[k] (v[k] == "" ? "" : ",") f["mib_per_s"]
       r[k] = r[k] (r[k] == "" ? "" : ",") f["rss_kib"]
       u[k] = u[k] (u[k] == "" ? "" : ",") f["cpu_s"] }
     END { for (k in v) print k, v[k], r[k], u[k] }' "$RES" | sort -k1,1 -k2,2 -k3,3n >"$RES.lists"
while read -r op mode c vals rsss cpus; do
    echo "$op $mode $c $(median "$vals") $(median "$rsss") $(median "$cpus") $vals"
done <"$RES.lists" >"$RES.med"
med_of() { awk -v o="$1" -v m="$2" -v c="$3" '$1 == o && $2 == m && $3 == c {print $4}' "$RES.med"; }
ratio() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}' || echo -; }
while read -r op mode c med rss cpu vals; do
    log "median op=$op mode=$mode concurrency=$c mib_per_s=$med peak_rss_mib=$(awk -v k="$rss" 'BEGIN {printf "%.0f", k / 1024}') cpu_s=$cpu runs=$vals"
done <"$RES.med"
log "## ratios (of medians)"
BOTO_PUT=$(med_of put boto3 10)
BOTO_GET=$(med_of get boto3 10)
first_c=${CONCURRENCIES%% *}
for op in put get; do
    for c in $CONCURRENCIES; do
        enc=$(med_of "$op" enc "$c")
        asy=$(med_of "$op" async "$c")
        plain=$(med_of "$op" plain "$c")
        s5=$(med_of "$op" s5cmd "$c")
        boto=$BOTO_PUT
        [[ $op == get ]] && boto=$BOTO_GET
        log "ratio op=$op concurrency=$c enc/plain=$(ratio "$enc" "$plain") enc/c$first_c=$(ratio "$enc" "$(med_of "$op" enc "$first_c")") enc/boto3=$(ratio "$enc" "$boto") enc/s5cmd=$(ratio "$enc" "$s5") async/enc=$(ratio "$asy" "$enc") async/plain=$(ratio "$asy" "$plain")"
    done
done
rm -f "$RES" "$RES.lists" "$RES.med"
log "# load average at the end: $(loadavg); failed transfers: $FAILURES"
[[ $FAILURES == 0 ]]

#!/usr/bin/env bash
# End-to-end measurements of s3ec against a local S3 server (s3s-fs on
# 127.0.0.1): peak RSS of large encrypted puts and gets, and throughput
# encrypted vs. unencrypted over the same transport (s3ec-reqwest).
# Results and how to read them: docs/measurements.md.
#
# usage: scripts/measure-e2e.sh [all|rss|throughput|topath|server]
#   all         rss, then throughput (default)
#   rss         peak RSS (/usr/bin/time -v) of one put and one get per mode/strategy
#   throughput  RUNS interleaved rounds of put/get, encrypted and plain; medians and ratios
#   topath      RUNS interleaved gets into a file (get_object_to_path vs a plain
#               download to a file, both synced and renamed), with peak RSS
#   server      only start s3s-fs and wait (Ctrl-C stops it), for manual runs of e2e
#
# Environment (defaults in brackets):
#   SIZE [1GiB]  RUNS [3]  PORT [8014]  PART_SIZE [8MiB]
#   STRATEGIES [auto spool delayed]  the encrypted get strategies measured
#                 (add "buffer" to see a whole-object buffer: ~SIZE of RSS)
#   DATA_PARENT [${TMPDIR:-/tmp}]    where s3s-fs's temporary data folder goes
#   SPOOL_DIR   [system temp]        where spooled gets put their temporary file
#   E2E_ARGS    []                   extra e2e options (e.g. --unsigned-payload)
#   CARGO_TARGET_DIR [target/h-e2e]  OUT [$CARGO_TARGET_DIR/measure-e2e.txt]
#   OP_TIMEOUT [900]                 seconds one e2e run may take
#
# Everything runs on 127.0.0.1 and stops by itself; the data folder is
# removed at exit. s3s-fs is installed from crates.io (pinned below) into
# target/tools if it is not there.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

S3S_FS_VERSION=0.14.1 # needs Rust >= 1.92; 0.16+ need 1.96
ACCESS_KEY=e2eaccess
SECRET_KEY=e2esecret
BUCKET=e2e

WHAT=${1:-all}
SIZE=${SIZE:-1GiB}
RUNS=${RUNS:-3}
PORT=${PORT:-8014}
PART_SIZE=${PART_SIZE:-8MiB}
STRATEGIES=${STRATEGIES:-auto spool delayed}
DATA_PARENT=${DATA_PARENT:-${TMPDIR:-/tmp}}
OP_TIMEOUT=${OP_TIMEOUT:-900}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/h-e2e}
OUT=${OUT:-$CARGO_TARGET_DIR/measure-e2e.txt}
TOOLS=$ROOT/target/tools
S3S_FS=$TOOLS/bin/s3s-fs
E2E=$CARGO_TARGET_DIR/release/e2e

case $WHAT in all | rss | throughput | topath | server) ;; *)
    sed -n '2,25p' "$0"
    exit 2
    ;;
esac

log() { echo "$*" | tee -a "$OUT"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# --- tools -----------------------------------------------------------------
if [[ ! -x /usr/bin/time ]]; then
    echo "installing GNU time (apt)" >&2
    apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi
if [[ ! -x $S3S_FS ]] || [[ $("$S3S_FS" --version 2>/dev/null) != "s3s-fs $S3S_FS_VERSION" ]]; then
    echo "installing s3s-fs $S3S_FS_VERSION into $TOOLS (cargo install; slow on a busy machine)" >&2
    cargo install s3s-fs --version "$S3S_FS_VERSION" --locked --features binary --root "$TOOLS"
fi
cargo build --release -p s3ec-e2e-bench >&2

# --- server ----------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
DATA=$(mktemp -d "$DATA_PARENT/s3ec-e2e.XXXXXX")
mkdir "$DATA/$BUCKET" # s3s-fs: a bucket is a folder
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA" "$DATA.log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
RUST_LOG=warn "$S3S_FS" --host 127.0.0.1 --port "$PORT" \
    --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" "$DATA" >"$DATA.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        cat "$DATA.log" >&2
        exit 1
    fi
    sleep 0.2
done
export S3EC_E2E_ENDPOINT=http://127.0.0.1:$PORT
export S3EC_E2E_ACCESS_KEY=$ACCESS_KEY
export S3EC_E2E_SECRET_KEY=$SECRET_KEY

if [[ $WHAT == server ]]; then
    echo "s3s-fs $S3S_FS_VERSION on $S3EC_E2E_ENDPOINT, data in $DATA; try:" >&2
    echo "  S3EC_E2E_ENDPOINT=$S3EC_E2E_ENDPOINT $E2E put --size 64MiB" >&2
    wait "$SERVER_PID"
    exit 0
fi

# One e2e run: prints its result line (plus rss_kib from /usr/bin/time and
# the load average before it). Written-back dirty pages of the previous run
# are flushed first (untimed) so that runs start alike.
SPOOL_ARGS=()
[[ -n ${SPOOL_DIR:-} ]] && SPOOL_ARGS=(--spool-dir "$SPOOL_DIR")
read -r -a EXTRA <<<"${E2E_ARGS:-}"
run() {
    sync
    local load tm line
    load=$(loadavg | tr ' ' '/')
    tm=$(mktemp)
    if ! line=$(/usr/bin/time -v -o "$tm" timeout "$OP_TIMEOUT" "$E2E" "$@" \
        --size "$SIZE" --part-size "$PART_SIZE" "${SPOOL_ARGS[@]}" "${EXTRA[@]}"); then
        cat "$tm" >&2
        rm -f "$tm"
        echo "e2e $* failed" >&2
        return 1
    fi
    local rss cpu
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tm")
    # The client's own CPU time (user + system): what encryption costs,
    # whatever the server's speed.
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$tm")
    rm -f "$tm"
    log "$line rss_kib=$rss cpu_s=$cpu load=$load"
}

# The median of comma-separated numbers.
median() {
    tr ',' '\n' <<<"$1" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

log "# $(date -u +%Y-%m-%dT%H:%M:%SZ) s3ec e2e: SIZE=$SIZE PART_SIZE=$PART_SIZE RUNS=$RUNS STRATEGIES='$STRATEGIES' E2E_ARGS='${E2E_ARGS:-}'"
log "# $(nproc) cores, load average $(loadavg), git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo '+dirty'), s3s-fs $S3S_FS_VERSION on 127.0.0.1, data in $DATA_PARENT"

if [[ $WHAT == all || $WHAT == rss ]]; then
    log "## peak RSS (one run each; rss_kib = /usr/bin/time 'Maximum resident set size')"
    run put --mode enc
    for st in $STRATEGIES; do run get --mode enc --strategy "$st"; done
    run put --mode plain
    run get --mode plain
fi

if [[ $WHAT == all || $WHAT == throughput ]]; then
    log "## throughput ($RUNS interleaved rounds)"
    RES=$(mktemp)
    for i in $(seq "$RUNS"); do
        log "# round $i"
        run put --mode enc | tee -a "$RES"
        run put --mode plain | tee -a "$RES"
        for st in $STRATEGIES; do run get --mode enc --strategy "$st" | tee -a "$RES"; done
        run get --mode plain | tee -a "$RES"
    done
    log "## medians of $RUNS (MiB/s; ratio = encrypted / plain over the same transport)"
    # shellcheck disable=SC2016
    awk '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
          k = f["op"] " " f["mode"] " " f["strategy"]
          v[k] = v[k] (v[k] == "" ? "" : ",") f["mib_per_s"]
          c[k] = c[k] (c[k] == "" ? "" : ",") f["cpu_s"] }
        END { for (k in v) print k, v[k], c[k] }' "$RES" | sort | while read -r op mode st vals cpus; do
        med=$(median "$vals")
        cmed=$(median "$cpus")
        echo "$op $mode $st $med $cmed $vals $cpus"
    done >"$RES.med"
    while read -r op mode st med cmed vals cpus; do
        ratio=""
        if [[ $mode == enc ]]; then
            read -r plain pcpu < <(awk -v o="$op" '$1 == o && $2 == "plain" {print $4, $5}' "$RES.med")
            ratio=$(awk -v a="$med" -v b="$plain" -v ca="$cmed" -v cb="$pcpu" \
                'BEGIN {printf "ratio=%.2f cpu_ratio=%.2f", a / b, ca / cb}')
        fi
        log "median op=$op mode=$mode strategy=$st mib_per_s=$med cpu_s=$cmed runs=$vals cpu_runs=$cpus $ratio"
    done <"$RES.med"
    rm -f "$RES" "$RES.med"
    log "# load average at the end: $(loadavg)"
fi

if [[ $WHAT == topath ]]; then
    DEST=$(mktemp -d "$DATA_PARENT/s3ec-e2e-dest.XXXXXX")
    log "## get to a path ($RUNS interleaved rounds; files in $DEST)"
    run put --mode enc
    run put --mode plain
    RES=$(mktemp)
    for i in $(seq "$RUNS"); do
        run get --mode enc --to-path "$DEST" | tee -a "$RES"
        run get --mode plain --to-path "$DEST" | tee -a "$RES"
    done
    enc=$(awk '/mode=enc/ {for (i = 1; i <= NF; i++) if ($i ~ /^mib_per_s=/) {split($i, kv, "="); v = v (v == "" ? "" : ",") kv[2]}} END {print v}' "$RES")
    plain=$(awk '/mode=plain/ {for (i = 1; i <= NF; i++) if ($i ~ /^mib_per_s=/) {split($i, kv, "="); v = v (v == "" ? "" : ",") kv[2]}} END {print v}' "$RES")
    rss=$(awk '/mode=enc/ {for (i = 1; i <= NF; i++) if ($i ~ /^rss_kib=/) {split($i, kv, "="); v = v (v == "" ? "" : ",") kv[2]}} END {print v}' "$RES")
    me=$(median "$enc")
    mp=$(median "$plain")
    log "median op=get-to-path enc_mib_per_s=$me plain_mib_per_s=$mp ratio=$(awk -v a="$me" -v b="$mp" 'BEGIN {printf "%.2f", a / b}') enc_runs=$enc plain_runs=$plain enc_rss_kib=$rss"
    rm -rf "$RES" "$DEST"
fi

#!/usr/bin/env bash
# Measure the `s3ec` command line against a local S3 server (s3s-fs on
# 127.0.0.1, started through scripts/measure-e2e.sh server):
#  1. `s3ec cp` of a SIZE file up and back down (into a file), against the
#     plain transfer of the same size through the same transport
#     (s3ec-reqwest, the e2e bench's `--mode plain`; its get also into a
#     file, synced and renamed like cp's), RUNS interleaved rounds;
#     wall-clock MiB/s (process start included), CPU seconds and peak RSS
#     (/usr/bin/time -v). Targets: s3ec cp >= 0.9x plain each way, RSS <=
#     64 MiB;
#  2. `s3ec cp --recursive` of FILES small files (SMALL bytes each) with
#     --concurrency 8 and 1, against one `s3ec cp` per file.
# Results: docs/measurements.md ("The s3ec command line").
#
# usage: nice -n 10 scripts/measure-cli.sh [SIZE]
#   SIZE: the large file, e.g. 128MiB or 1GiB (K/M/G, KiB/MiB/GiB: powers of
#   1024) [$SIZE or 1GiB]
# Environment: RUNS [3] PORT [8015] FILES [1000] SMALL [4096]
#   DATA_PARENT [${TMPDIR:-/tmp}] (holds the SIZE file, its copy back and
#   the server's data: about 3 x SIZE free)
#   CARGO_TARGET_DIR [target/h-e2e] OUT [$CARGO_TARGET_DIR/measure-cli.txt]
# s3s-fs is installed into target/tools by scripts/measure-e2e.sh if it is
# not there (cargo install, minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
case ${1:-} in -h | --help) sed -n '2,24p' "$0"; exit 0 ;; esac
SIZE=${1:-${SIZE:-1GiB}}
RUNS=${RUNS:-3}
PORT=${PORT:-8015}
FILES=${FILES:-1000}
SMALL=${SMALL:-4096}
DATA_PARENT=${DATA_PARENT:-${TMPDIR:-/tmp}}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/h-e2e}
OUT=${OUT:-$CARGO_TARGET_DIR/measure-cli.txt}
E2E=$CARGO_TARGET_DIR/release/e2e
S3EC=$CARGO_TARGET_DIR/release/s3ec
mkdir -p "$(dirname "$OUT")"
log() { echo "$*" | tee -a "$OUT"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

bytes=$(numfmt --from=iec "${SIZE%iB}" 2>/dev/null) || { echo "measure-cli: bad SIZE $SIZE (e.g. 128MiB, 1GiB)" >&2; exit 2; }
# Built as scripts/measure-e2e.sh builds them (one package at a time: the
# same features, so its own build step finds them done).
cargo build --release -p s3ec-e2e-bench >&2
cargo build --release -p s3ec-cli --bin s3ec >&2
WORK=$(mktemp -d "$DATA_PARENT/s3ec-cli-measure.XXXXXX")
SERVER=
cleanup() {
    # (`|| true`: under set -e a failing command here would turn the
    # script's exit status into the server's.)
    if [[ -n $SERVER ]]; then
        kill "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
PORT=$PORT scripts/measure-e2e.sh server >"$WORK/server.log" 2>&1 &
SERVER=$!
# (The server script may first install s3s-fs: wait as long as it lives.)
until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.2
done
export AWS_ACCESS_KEY_ID=e2eaccess AWS_SECRET_ACCESS_KEY=e2esecret AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true S3EC_E2E_ENDPOINT=http://127.0.0.1:$PORT
unset S3EC_LOCAL_STORE
EP=(--endpoint-url "http://127.0.0.1:$PORT" --path-style)
head -c "$bytes" /dev/urandom >"$WORK/big"
"$S3EC" keygen aes --out "$WORK/k" 2>/dev/null

# timed NAME CMD...: wall seconds and peak RSS of CMD, logged.
timed() {
    local name=$1
    shift
    sync
    local load tm start end
    load=$(loadavg | tr ' ' '/')
    tm=$(mktemp)
    start=$(date +%s.%N)
    local status=0
    /usr/bin/time -v -o "$tm" "$@" >/dev/null || status=$?
    end=$(date +%s.%N)
    local rss cpu
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tm")
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$tm")
    rm -f "$tm"
    awk -v n="$name" -v s="$start" -v e="$end" -v b="$bytes" -v r="$rss" -v l="$load" -v c="$cpu" \
        'BEGIN {printf "%s secs=%.3f mib_per_s=%.1f rss_kib=%s cpu_s=%s load=%s\n", n, e - s, b / 1048576 / (e - s), r, c, l}'
    [[ $status == 0 ]] || { echo "measure-cli: $name failed" >&2; return 1; }
}

log "# $(date -u +%Y-%m-%dT%H:%M:%SZ) s3ec cli: SIZE=$SIZE RUNS=$RUNS, $(nproc) cores, load $(loadavg), git $(git rev-parse --short HEAD)"
RES=$WORK/res
for i in $(seq "$RUNS"); do
    log "# round $i"
    timed "put s3ec-cp" "$S3EC" -q "${EP[@]}" cp --aes-key-file "$WORK/k" "$WORK/big" s3://e2e/cli-big | tee -a "$RES" "$OUT"
    timed "put plain" "$E2E" put --mode plain --size "$SIZE" | tee -a "$RES" "$OUT"
    timed "get s3ec-cp" "$S3EC" -q "${EP[@]}" cp --aes-key-file "$WORK/k" s3://e2e/cli-big "$WORK/back" | tee -a "$RES" "$OUT"
    cmp "$WORK/big" "$WORK/back"
    rm -rf "$WORK/plain-get"; mkdir -p "$WORK/plain-get"
    rm -f "$WORK/back"
    timed "get plain" "$E2E" get --mode plain --size "$SIZE" --to-path "$WORK/plain-get" | tee -a "$RES" "$OUT"
done
log "## medians of $RUNS (ratio = s3ec cp / plain)"
for op in put get; do
    c=$(awk -v o="$op" '$1 == o && $2 == "s3ec-cp" {split($4, a, "="); print a[2]}' "$RES" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    p=$(awk -v o="$op" '$1 == o && $2 == "plain" {split($4, a, "="); print a[2]}' "$RES" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    r=$(awk -v o="$op" '$1 == o && $2 == "s3ec-cp" {split($5, a, "="); print a[2]}' "$RES" | sort -g | tail -1)
    log "median $op s3ec_cp_mib_per_s=$c plain_mib_per_s=$p ratio=$(awk -v a="$c" -v b="$p" 'BEGIN {printf "%.2f", a / b}') max_rss_kib=$r"
done

log "## $FILES files of $SMALL bytes"
mkdir -p "$WORK/small"
for n in $(seq "$FILES"); do head -c "$SMALL" /dev/urandom >"$WORK/small/f$n"; done
t() {
    local s e
    s=$(date +%s.%N)
    "$@" >/dev/null 2>"$WORK/t.err" || { cat "$WORK/t.err" >&2; echo "measure-cli: $* failed" >&2; return 1; }
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN {printf "%.2f", e - s}'
}
for i in $(seq "$RUNS"); do
    r8=$(t "$S3EC" -q "${EP[@]}" cp -r --concurrency 8 --aes-key-file "$WORK/k" "$WORK/small" "s3://e2e/r8-$i/")
    r1=$(t "$S3EC" -q "${EP[@]}" cp -r --concurrency 1 --aes-key-file "$WORK/k" "$WORK/small" "s3://e2e/r1-$i/")
    one=$(t bash -c "for f in $WORK/small/*; do \"$S3EC\" -q ${EP[*]} cp --aes-key-file $WORK/k \"\$f\" s3://e2e/one-$i/ || exit 1; done")
    log "round $i: cp -r --concurrency 8: ${r8}s, cp -r --concurrency 1: ${r1}s, one s3ec cp per file: ${one}s"
done
log "# load average at the end: $(loadavg)"

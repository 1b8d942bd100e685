#!/usr/bin/env bash
# Fuzz targets for a budget of CPU time each, not wall time.
#
#   fuzz/cpu-budget.sh SECS TARGET...      (from the repository root)
#
# Runs up to JOBS targets at once (default 2, the machine's cores), each as
# `nice -n $NICE` (default 19) over fuzz/corpus/<t> and fuzz/seeds/<t>, and
# stops each one with SIGINT once the process has used SECS seconds of CPU
# (user + system, read from /proc). libFuzzer's own -max_total_time counts
# wall time, which on a shared machine says little about how much fuzzing
# was done; CPU time does. A target that crashes stops at once (its log
# says where the reproducer went). A run may be paused (SIGSTOP / SIGCONT,
# for a measurement that needs a quiet machine) without changing its budget;
# libFuzzer's per-input timeout counts wall time, so it is raised to
# TIMEOUT seconds (default 1800): keep pauses shorter.
#
# Logs: fuzz/logs/<target>.log (libFuzzer's output, ending with its final
# stats); one summary line per target on stdout and in fuzz/logs/summary.txt:
#   target=T cpu_s=N wall_s=N execs=N cov=N ft=N corpus=N result=clean|FOUND(rc)
# Build first: cargo +nightly fuzz build -O -a
set -euo pipefail
SECS=${1:?usage: fuzz/cpu-budget.sh SECS TARGET...}
shift
JOBS=${JOBS:-2}
NICE=${NICE:-19}
BIN=${BIN:-fuzz/target/x86_64-unknown-linux-gnu/release}
LOGS=fuzz/logs
mkdir -p "$LOGS"
TICK=$(getconf CLK_TCK)

cpu_ticks() { # utime + stime of a pid (fields 14 and 15; the name may hold spaces)
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    awk '{print $12 + $13}' <<<"$s"
}

one() {
    local t=$1 log=$LOGS/$1.log start pid ticks rc
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    ticks=0
    start=$(date +%s)
    nice -n "$NICE" "$BIN/$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -print_final_stats=1 -timeout="${TIMEOUT:-1800}" \
        -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        ticks=$(cpu_ticks "$pid") || break
        if ((ticks >= SECS * TICK)); then
            kill -INT "$pid" 2>/dev/null || true
            break
        fi
        sleep 5
    done
    rc=0
    wait "$pid" || rc=$?
    local cpu wall execs cov ft corpus result
    cpu=$(awk -v t="$ticks" -v k="$TICK" 'BEGIN {printf "%d", t / k}')
    wall=$(($(date +%s) - start))
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corpus=$(find "fuzz/corpus/$t" -type f ! -name .gitkeep | wc -l)
    # libFuzzer exits 72 (its interrupt code) or 0 when stopped here; a
    # crash, leak, timeout or out-of-memory is another code and a report.
    if grep -q 'libFuzzer: run interrupted' "$log" || [[ $rc == 0 ]]; then
        if grep -qE '^==[0-9]+== ERROR|SUMMARY: libFuzzer|panicked at' "$log"; then result="FOUND($rc)"; else result=clean; fi
    else
        result="FOUND($rc)"
    fi
    echo "target=$t cpu_s=$cpu wall_s=$wall execs=${execs:-?} cov=${cov:-?} ft=${ft:-?} corpus=$corpus result=$result nice=$NICE date=$(date -u +%Y-%m-%dT%H:%MZ)" | tee -a "$LOGS/summary.txt"
}

running=0
for t in "$@"; do
    if ((running >= JOBS)); then
        wait -n || true
        running=$((running - 1))
    fi
    one "$t" &
    running=$((running + 1))
done
wait

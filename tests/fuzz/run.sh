#!/bin/sh
# run.sh: runs every fuzz target for FUZZ_SECONDS with resource limits on, FUZZ_JOBS targets at once,
# and writes a summary table (target, seconds, executions, result) to FUZZ_OUT. Exits 1 when any
# target found something (crash, leak, timeout, out-of-memory) or did not run.
#   FUZZ_SECONDS  seconds per target (60)          FUZZ_JOBS     targets run at once (1)
#   FUZZ_OUT      summary table (build/fuzz/summary.txt)
#   FUZZ_BIN_DIR  where the fuzz_<target> binaries are (build/fuzz)
#   FUZZ_CORPUS   the committed seeds, <target>/ each (tests/fuzz/corpus)
#   FUZZ_WORK     the growing corpora, logs and crash inputs, <target>/ each (build/fuzz/work);
#                 kept between runs, so a later run continues from what earlier ones found
#   FUZZ_TARGETS  space-separated target names (default: every fuzz_* in FUZZ_BIN_DIR)
#   TMPDIR        where targets write their scratch files (/tmp); /dev/shm makes the fsyncs of fuzz_workdir cheap
# Each input may use at most 2048 MB of RSS and 10 s; -max_len is set per format below.
# A finding leaves the input in FUZZ_WORK/<target>/crash-* (or leak-, timeout-, oom-) and the
# report in FUZZ_WORK/<target>/log; reproduce it with FUZZ_BIN_DIR/fuzz_<target> FILE.
set -u
here=$(cd "$(dirname "$0")" && pwd)
S=${FUZZ_SECONDS:-60}
J=${FUZZ_JOBS:-1}
OUT=${FUZZ_OUT:-build/fuzz/summary.txt}
BIN=${FUZZ_BIN_DIR:-build/fuzz}
CORPUS=${FUZZ_CORPUS:-$here/corpus}
WORK=${FUZZ_WORK:-build/fuzz/work}
DICT=${FUZZ_DICT:-$here/json.dict}
TARGETS=${FUZZ_TARGETS:-$(cd "$BIN" && ls fuzz_* 2>/dev/null | sed 's/^fuzz_//')}
[ -n "$TARGETS" ] || { echo "run.sh: no fuzz_* binaries in $BIN (make fuzz-build)" >&2; exit 1; }
mkdir -p "$WORK" "$(dirname "$OUT")"

max_len() {
    case $1 in
    tokenizer) echo 65536 ;;   # real tokenizer.json seeds are 20-40 KB
    index) echo 32768 ;;
    workdir) echo 16384 ;;     # state.json + stats.partial.json + 1 KB of hidden states
    calib | stats) echo 16384 ;;
    *) echo 8192 ;;            # safetensors headers, config.json, one chat record
    esac
}

# One target: runs it, leaves "target seconds executions result" in WORK/target/row.
run_one() {
    t=$1
    w=$WORK/$t
    mkdir -p "$w/corpus"
    rm -f "$w/row"
    dict=
    [ -f "$DICT" ] && dict=-dict=$DICT
    start=$(date +%s)
    "$BIN/fuzz_$t" "$w/corpus" "$CORPUS/$t" -max_total_time="$S" -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -timeout=10 -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$w/" $dict >"$w/log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tail -1)
    if [ "$rc" -eq 0 ]; then
        result=ok
    elif grep -q 'ERROR: libFuzzer: timeout' "$w/log"; then
        result=TIMEOUT
    elif grep -q -e 'ERROR: libFuzzer: out-of-memory' -e 'malloc limit' "$w/log"; then
        result=OOM
    elif grep -q 'ERROR: LeakSanitizer' "$w/log"; then
        result=LEAK
    else
        result="CRASH(rc=$rc)"
    fi
    echo "$t $secs ${execs:-?} $result" >"$w/row"
    echo "fuzz_$t: $result, ${execs:-?} executions in ${secs}s (log $w/log)" >&2
}

if [ "${1:-}" = --one ]; then
    run_one "$2"
    exit 0
fi

export S BIN CORPUS WORK DICT
printf '%s\n' $TARGETS | xargs -P "$J" -I{} sh "$here/run.sh" --one {}

fail=0
{
    printf '%-12s %8s %14s  %s\n' target seconds executions result
    for t in $TARGETS; do
        if [ -f "$WORK/$t/row" ]; then
            set -- $(cat "$WORK/$t/row")
            printf '%-12s %8s %14s  %s\n' "$1" "$2" "$3" "$4"
            [ "$4" = ok ] || fail=1
        else
            printf '%-12s %8s %14s  %s\n' "$t" - - "DID NOT RUN"
            fail=1
        fi
    done
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
exit $fail

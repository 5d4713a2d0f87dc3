#!/bin/sh
# synth_write.sh: write throughput of `reap synth --preset minimax-m2 --layers N` against `dd` of the
# same number of bytes on the same disk (dd runs before and after synth, to bracket load changes).
# Both end with the data on disk: synth fsyncs every shard, dd uses conv=fsync.
#   usage: sh bench/synth_write.sh [DIR (default $TMPDIR or /tmp)] [LAYERS (default 2)]
#   env:   REAP (default build/reap), THREADS (reap synth --threads; default all cores)
set -e
REAP=${REAP:-build/reap}
DIR=${1:-${TMPDIR:-/tmp}}
LAYERS=${2:-2}
OUT="$DIR/reap-bench-synth.$$"
DD="$DIR/reap-bench-dd.$$"
trap 'rm -rf "$OUT" "$DD"' EXIT INT TERM

now() { date +%s.%N; }
secs() { echo "$1 $2" | awk '{ printf "%.2f", $2 - $1 }'; }
rate() { echo "$1 $2" | awk '{ printf "%.3f", $1 / $2 / 1e9 }'; }

run_dd() { # bytes -> seconds
    t0=$(now)
    dd if=/dev/zero of="$DD" bs=16M count=$(($1 / 16777216)) conv=fsync status=none
    t1=$(now)
    rm -f "$DD"
    secs "$t0" "$t1"
}

bytes=$("$REAP" synth "$OUT" --preset minimax-m2 --layers "$LAYERS" --dry-run | tail -1 | awk '{ print $3 }')
ddbytes=$((bytes / 16777216 * 16777216))
dd1=$(run_dd "$bytes")
t0=$(now)
"$REAP" synth "$OUT" --preset minimax-m2 --layers "$LAYERS" -q ${THREADS:+--threads "$THREADS"}
t1=$(now)
synth=$(secs "$t0" "$t1")
files=$(du -sb "$OUT" | cut -f1)
rm -rf "$OUT"
dd2=$(run_dd "$bytes")

echo "disk: $(df -h "$DIR" | awk 'NR==2 { print $1 " (" $2 ", " $6 ")" }')   cpus: $(nproc)   load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| what | bytes | seconds | GB/s |"
echo "|---|---:|---:|---:|"
echo "| reap synth --preset minimax-m2 --layers $LAYERS (tensor data; $files bytes of files) | $bytes | $synth | $(rate "$bytes" "$synth") |"
echo "| dd if=/dev/zero bs=16M conv=fsync (before) | $ddbytes | $dd1 | $(rate "$ddbytes" "$dd1") |"
echo "| dd if=/dev/zero bs=16M conv=fsync (after) | $ddbytes | $dd2 | $(rate "$ddbytes" "$dd2") |"
echo "synth throughput / mean dd throughput: $(echo "$bytes $synth $ddbytes $dd1 $dd2" | awk '{ printf "%.2f", ($1 / $2) / (($3 / $4 + $3 / $5) / 2) }')"

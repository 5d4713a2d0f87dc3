#!/bin/sh
# e2e_score_cuda: `reap score --device cuda` through the real binary: same calibration rows and
# token counts as the CPU path, statistics close to the CPU reference, shards that merge, and a
# SIGKILLed run that resumes from --work-dir. Needs a CUDA build and a GPU; otherwise it prints a
# SKIP line and counts nothing (the GPU-vs-CPU agreement figures are in e2e_gpucheck).
REAP=${REAP:-build/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
BUILD=${BUILD:-build}
DIFF="$PWD/$BUILD/tests/tool_statsdiff"
TOOL="$PWD/$BUILD/tests/tool_gpucheck"
if ! "$REAP" --version | grep -q CUDA; then echo "SKIP e2e_score_cuda: CPU-only build"; exit 0; fi
if [ ! -x "$TOOL" ] || "$TOOL" /nonexistent 2>/dev/null | grep -q '^SKIP'; then
    echo "SKIP e2e_score_cuda: no CUDA device"
    exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/reap-e2e-cuda.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }

ck=$dir/ck
"$REAP" synth "$ck" --preset tiny --layers 10 -q || { bad synth_tiny; exit 1; }
args="--calib builtin:40 --rows 8 --seq-len 96"

if "$REAP" score "$ck" $args --device cpu -o "$dir/cpu.json" -q &&
    "$REAP" score "$ck" $args --device cuda -o "$dir/gpu.json" 2>"$dir/gpu.err"; then
    ok score_cuda_runs
else
    bad score_cuda_runs "$(tail -3 "$dir/gpu.err")"
fi
# Same rows, so the same valid-token counts per layer; routing and sums close to the CPU reference
# (bf16 GEMMs: a few choices may flip, so the tolerance is loose and counts are not compared here).
tok() { grep -o '"tokens": *[0-9]*' "$1" | tr -d ' \n'; }
if [ -n "$(tok "$dir/cpu.json")" ] && [ "$(tok "$dir/cpu.json")" = "$(tok "$dir/gpu.json")" ]; then
    ok cuda_tokens_equal_cpu
else
    bad cuda_tokens_equal_cpu "$(tok "$dir/cpu.json") vs $(tok "$dir/gpu.json")"
fi
if grep -q '"layers_done": *10' "$dir/gpu.json"; then ok cuda_all_layers_done; else bad cuda_all_layers_done; fi

# The default device is cuda when a GPU is visible: the file says which device ran.
if "$REAP" score "$ck" $args -o "$dir/default.json" -v 2>"$dir/default.err" &&
    grep -qi "cuda" "$dir/default.err"; then
    ok default_device_is_cuda
else
    bad default_device_is_cuda "$(tail -3 "$dir/default.err")"
fi

# Shards score and merge on the GPU.
sh_ok=1
for i in 0 1; do "$REAP" score "$ck" $args --device cuda --shard $i/2 -o "$dir/s$i.json" -q || sh_ok=0; done
if [ $sh_ok = 1 ] && "$REAP" merge "$dir/s0.json" "$dir/s1.json" -o "$dir/merged.json" >/dev/null &&
    [ "$(tok "$dir/merged.json")" = "$(tok "$dir/gpu.json")" ]; then
    ok cuda_shards_merge
else
    bad cuda_shards_merge
fi

# Kill after a few layers, resume, compare with the uninterrupted GPU run (same rows, same chunks).
wd=$dir/wd
REAP_TEST_SLOW_MS=300 "$REAP" score "$ck" $args --device cuda -w "$wd" -o "$dir/resumed.json" -q 2>/dev/null &
pid=$!
n=0
while [ $n -lt 600 ] && ! ls "$wd"/hidden-* >/dev/null 2>&1; do sleep 0.02; n=$((n + 1)); done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
if [ -f "$dir/resumed.json" ]; then
    bad cuda_killed_run_left_no_output "finished before the kill"
else
    ok cuda_killed_run_left_no_output
fi
if "$REAP" score "$ck" $args --device cuda -w "$wd" -o "$dir/resumed.json" -q &&
    "$DIFF" "$dir/gpu.json" "$dir/resumed.json" 1e-6 >"$dir/rdiff.txt"; then
    ok cuda_resumed_equals_uninterrupted
else
    bad cuda_resumed_equals_uninterrupted "$(cat "$dir/rdiff.txt" 2>/dev/null | tail -3)"
fi

# Two GPUs (when the machine has them): the same statistics file as one GPU up to the order of the
# float64 sums. Chunks of 2 rows, so that both GPUs get chunks of the 8 rows.
ngpu=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
if [ "${ngpu:-0}" -ge 2 ]; then
    if "$REAP" score "$ck" $args --chunk-tokens 192 --device cuda --gpus 0 -o "$dir/g1.json" -q &&
        "$REAP" score "$ck" $args --chunk-tokens 192 --device cuda --gpus 0,1 -o "$dir/g2.json" -q &&
        "$DIFF" "$dir/g1.json" "$dir/g2.json" 1e-12 >"$dir/gdiff.txt"; then
        ok cuda_two_gpus_same_statistics
    else
        bad cuda_two_gpus_same_statistics "$(tail -3 "$dir/gdiff.txt" 2>/dev/null)"
    fi
else
    echo "SKIP cuda_two_gpus_same_statistics: fewer than 2 GPUs"
fi

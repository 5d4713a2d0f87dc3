#!/bin/sh
# gpu_scale.sh: GPU compute speed on 1 vs 2 GPUs of one node (issue 6), final code path.
# Usage: BIN=build WORK=/tmp/w sh bench/gpu_scale.sh   (BIN holds reap and tests/tool_gpucheck)
B=${BIN:-build}; W=${WORK:-/tmp/w}; OUT=${OUT:-$W}; mkdir -p $W
t0=$(date +%s); el() { echo "t $(( $(date +%s) - t0 ))s"; }
nvidia-smi --query-gpu=index,name --format=csv,noheader
$B/reap synth $W/m2 --preset minimax-m2 --layers 4 -q; el
for n in 1 2; do
  timeout 100 $B/tests/tool_gpucheck $W/m2 --bench --rows 256 --seq-len 2048 --layers 4 --gpus $n > $OUT/bench_g$n.log 2>&1
  echo "GPUS $n rc $?: $(grep -E 'BENCH (layer [0-3]|wall_s|tokens_per_s|peak|tflops|mode)' $OUT/bench_g$n.log | tr '\n' '|')"
done; el

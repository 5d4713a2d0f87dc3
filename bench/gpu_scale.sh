#!/bin/sh
# gpu_scale.sh: 1 vs 2 GPUs of one node (issue 6): identical statistics, and the speed-up.
#  1. `reap score` of a small synthesised model on GPU 0 and on GPUs 0,1: the two statistics files
#     must agree to float64 summation order (tool_statsdiff 1e-12);
#  2. tool_gpucheck --vs-gpus 2 on 2 MiniMax-M2 layers (16 x 2048 tokens, 4 rows per chunk so both
#     GPUs get chunks): identical choices, counts and hidden states, sums within 1e-12;
#  3. tool_gpucheck --bench at 1024 x 2048 tokens, 4 MiniMax-M2 layers, on 1 and 2 GPUs, layers in
#     the page cache (REAP_KEEP_PAGE_CACHE=1) so the disk does not set the wall: tokens/s and GPU
#     time, and their ratios.
# Usage: BIN=build WORK=/tmp/w sh bench/gpu_scale.sh   (BIN holds reap, BIN/tests the tools)
B=${BIN:-build}; TOOLS=${TOOLS:-$B/tests}; W=${WORK:-/tmp/w}; OUT=${OUT:-$W}; ROWS=${ROWS:-1024}; mkdir -p $W
t0=$(date +%s); el() { echo "t $(( $(date +%s) - t0 ))s"; }
nvidia-smi --query-gpu=index,name --format=csv,noheader
$B/reap synth $W/small --preset small -q
$B/reap score $W/small --device cuda --gpus 0 -o $W/g1.json -q && $B/reap score $W/small --device cuda --gpus 0,1 -o $W/g2.json -q &&
  $TOOLS/tool_statsdiff $W/g1.json $W/g2.json 1e-12 && echo "PASS score_1_vs_2_gpus_same_statistics" || echo "FAIL score_1_vs_2_gpus_same_statistics"
[ -f $W/m2/config.json ] || $B/reap synth $W/m2 --preset minimax-m2 --layers 4 -q; el
REAP_GPU_CHUNK_TOKENS=8192 $TOOLS/tool_gpucheck $W/m2 --vs-gpus 2 --rows 16 --seq-len 2048 --layers 2 | tee $OUT/vs_gpus.log
cat $W/m2/*.safetensors >/dev/null
for n in 1 2; do
  REAP_KEEP_PAGE_CACHE=1 $TOOLS/tool_gpucheck $W/m2 --bench --rows $ROWS --seq-len 2048 --layers 4 --gpus $n > $OUT/bench_g$n.log 2>&1
  echo "GPUS $n rc $?"; grep -E 'BENCH (layer [0-3]|wall_s|tokens_per_s|peak|tflops)' $OUT/bench_g$n.log
done; el
awk '/^BENCH wall_s/ {w[n+0]=$3; g[n+0]=$7; n++}
     END { if (n == 2) printf("SCALE 2 GPUs vs 1: wall %.2fx (%.2f s vs %.2f s), GPU time %.2fx (%.2f s vs %.2f s)\n", w[0]/w[1], w[1], w[0], g[0]/g[1], g[1], g[0]) }' $OUT/bench_g1.log $OUT/bench_g2.log

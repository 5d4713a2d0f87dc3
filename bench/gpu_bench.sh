#!/bin/sh
# gpu_bench.sh: issue 6's benchmark, one run on one GPU.
#  1. the card's ceilings: dense bf16 GEMM rate, expert-shaped GEMM rates, device copy and
#     host-to-device bandwidth (kernels/dev/dev_rates);
#  2. synthesises `--preset minimax-m2 --layers $LAYERS` (about 3.7 GB a layer) unless present;
#  3. drops the page cache (when allowed) and scores $ROWS x $SEQ tokens through the GPU path with
#     disk reads overlapped (tests/tool_gpucheck --bench): tokens/s, time split per layer, TFLOP/s
#     of expert GEMMs and of the whole layer against the measured rate, peak GPU memory;
#  4. projects the wall time of the full 62-layer MiniMax-M2 at 1,024 x 2,048 tokens;
#  5. side by side: the same layers through transformers' MiniMaxM2 in PyTorch with a dense
#     all-expert observer (bench/torch_dense_observer.py), and the tokens/s ratio.
#   BIN=dir with reap, tool_gpucheck, dev_rates (default build)  WORK=scratch  OUT=log dir
BIN=${BIN:-build}
WORK=${WORK:-/tmp/reap-bench}
OUT=${OUT:-.}
LAYERS=${LAYERS:-4}
ROWS=${ROWS:-256}
SEQ=${SEQ:-2048}
TORCH_ROWS=${TORCH_ROWS:-8}
mkdir -p "$WORK" "$OUT"
LOG="$OUT/gpu_bench.log"
: >"$LOG"
say() { echo "$*" | tee -a "$LOG"; }
say "# gpu_bench $(date -u +%Y-%m-%dT%H:%MZ) on $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
"$BIN/dev_rates" | tee -a "$LOG"
if [ ! -f "$WORK/m2/config.json" ]; then
    t0=$(date +%s)
    "$BIN/reap" synth "$WORK/m2" --preset minimax-m2 --layers "$LAYERS" -q || exit 1
    say "synth_s $(( $(date +%s) - t0 )) size $(du -sh "$WORK/m2" | cut -f1)"
fi
sync
if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then say "page cache dropped"; else say "page cache NOT dropped (reads may be cached)"; fi
"$BIN/tool_gpucheck" "$WORK/m2" --bench --rows "$ROWS" --seq-len "$SEQ" --layers "$LAYERS" $BENCH_ARGS 2>&1 | tee -a "$LOG"
# summary and projection
awk -v L="$LAYERS" '
/^RATE gemm_bf16_8192/ {rate=$3}
/^BENCH tokens / {tok=$3}
/^BENCH wall_s/ {wall=$3; gpu=$7; disk=$9}
/^BENCH layer_host_bytes/ {lb=$3; dgbps=$5}
/^BENCH tflops_experts/ {te=$3; tl=$5}
/^BENCH peak_gpu_mem_GiB/ {mem=$3}
/^BENCH phase/ {ph=ph sprintf(" %s %.3fs", $3, $4)}
END {
  if (!tok) exit;
  printf("SUMMARY tokens/s %.0f (%d tokens x %d layers in %.1f s; GPU busy %.1f s, disk %.1f s)\n", tok/wall, tok, L, wall, gpu, disk);
  printf("SUMMARY per layer:%s\n", ph);
  printf("SUMMARY expert GEMMs %.0f TFLOP/s = %.0f%% of measured %.0f; whole layer %.0f TFLOP/s = %.0f%%\n", te, 100*te/rate, rate, tl, 100*tl/rate);
  printf("SUMMARY peak GPU memory %.2f GiB\n", mem);
  # 62 layers, 1024 x 2048 tokens: compute scales with tokens, reading with layers
  gl = gpu / L * (1024*2048/tok); dl = lb / (dgbps*1e9);
  printf("SUMMARY projection 62 layers x 1024 x 2048 tokens: compute %.0f s, disk %.0f s (%.2f GB/s), overlapped wall ~%.0f s (%.1f min)\n", 62*gl, 62*dl, dgbps, 62*(gl>dl?gl:dl), 62*(gl>dl?gl:dl)/60);
}' "$LOG" | tee -a "$LOG"
if [ "${TORCH:-1}" = 1 ]; then
    PYTHONUNBUFFERED=1 python3 bench/torch_dense_observer.py "$WORK/m2" --layers "$LAYERS" --rows "$TORCH_ROWS" --seq-len "$SEQ" 2>&1 | tail -8 | tee -a "$LOG"
    awk '/^BENCH tokens / {tok=$3} /^BENCH wall_s/ {gpu=$7} /^TORCH tokens_per_s/ {tt=$3}
         END { if (tt && gpu) printf("SUMMARY reap GPU compute %.0f tokens/s vs torch dense observer %.0f tokens/s: %.1fx\n", tok/gpu, tt, tok/gpu/tt) }' "$LOG" | tee -a "$LOG"
fi

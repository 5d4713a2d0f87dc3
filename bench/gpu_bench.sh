#!/bin/sh
# gpu_bench.sh: issue 6's benchmark, one run on one GPU.
#  1. the card's ceilings: dense bf16 GEMM rate, expert-shaped GEMM rates, device copy and
#     host-to-device bandwidth (kernels/dev/dev_rates);
#  2. synthesises `--preset minimax-m2 --layers $LAYERS` (about 3.8 GB a layer) unless present;
#  3. "cold": drops the page cache (as root) and scores $ROWS x $SEQ tokens through the GPU path with
#     disk reads overlapped (tests/tool_gpucheck --bench; the reader also drops each tensor's pages
#     after reading it, as `reap score` does): tokens/s, time split per layer, TFLOP/s of the expert
#     GEMMs and of the whole layer against the measured rate, peak GPU memory, disk speed;
#  4. "warm": the same with the layers in the page cache (REAP_KEEP_PAGE_CACHE=1, read once
#     before), i.e. a disk faster than the GPU: the wall is then set by the GPU; with the per-step
#     profile (REAP_GPU_PROFILE=1);
#  5. projects the wall time of the full 62-layer MiniMax-M2 at 1,024 x 2,048 tokens from the
#     measured GPU time per token and the measured (cold) disk speed;
#  6. side by side: the same layers through transformers' MiniMaxM2 in PyTorch with a dense
#     all-expert observer (bench/torch_dense_observer.py) accumulating the statistics reap does,
#     and the tokens/s ratio; then the same observer without max_act, and the ratio to it.
#   BIN=dir with reap, tool_gpucheck, dev_rates (default build)  WORK=scratch  OUT=log dir
#   ROWS (1024) SEQ (2048) LAYERS (4) TORCH (1) TORCH_ROWS (8)
BIN=${BIN:-build}
TOOLS=${TOOLS:-$BIN/tests}
DEV=${DEV:-$BIN/dev}
WORK=${WORK:-/tmp/reap-bench}
OUT=${OUT:-.}
LAYERS=${LAYERS:-4}
ROWS=${ROWS:-1024}
SEQ=${SEQ:-2048}
TORCH_ROWS=${TORCH_ROWS:-32}  # ~6 s of dense observer: long enough to reach the card's sustained clock
mkdir -p "$WORK" "$OUT"
LOG="$OUT/gpu_bench.log"
: >"$LOG"
say() { echo "$*" | tee -a "$LOG"; }
# SM clock and power sampled every 250 ms while a run works; prints the mean over busy samples
clocks_start() { nvidia-smi --query-gpu=clocks.sm,power.draw --format=csv,noheader,nounits -i 0 -lms 250 >"$WORK/clk.csv" 2>/dev/null & CLK=$!; }
clocks_stop() { kill $CLK 2>/dev/null; wait $CLK 2>/dev/null
    awk -F, -v w="$1" '$2 > 150 {c += $1; p += $2; n++} END { if (n) printf("CLOCKS %s mean SM clock %.0f MHz, power %.0f W over %d busy samples\n", w, c/n, p/n, n) }' "$WORK/clk.csv" | tee -a "$LOG"; }
say "# gpu_bench $(date -u +%Y-%m-%dT%H:%MZ) on $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), $ROWS x $SEQ tokens, $LAYERS layers"
[ -x "$DEV/dev_rates" ] && "$DEV/dev_rates" | tee -a "$LOG"
if [ ! -f "$WORK/m2/config.json" ]; then
    t0=$(date +%s)
    "$BIN/reap" synth "$WORK/m2" --preset minimax-m2 --layers "$LAYERS" -q || exit 1
    say "synth_s $(( $(date +%s) - t0 )) size $(du -sh "$WORK/m2" | cut -f1)"
fi
sync
if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then say "cold: page cache dropped"; else say "cold: page cache NOT dropped (the reader still drops each tensor's pages after reading it)"; fi
"$TOOLS/tool_gpucheck" "$WORK/m2" --bench --rows "$ROWS" --seq-len "$SEQ" --layers "$LAYERS" 2>&1 | sed 's/^BENCH/COLD/' | tee -a "$LOG"
cat "$WORK"/m2/*.safetensors >/dev/null
say "warm: layers in the page cache"
clocks_start
REAP_KEEP_PAGE_CACHE=1 REAP_GPU_PROFILE=1 "$TOOLS/tool_gpucheck" "$WORK/m2" --bench --rows "$ROWS" --seq-len "$SEQ" --layers "$LAYERS" 2>&1 | sed 's/^BENCH/WARM/' | tee -a "$LOG"
clocks_stop reap_warm
# summary and projection
awk -v L="$LAYERS" '
/^RATE gemm_bf16_8192/ {rate=$3}
/^COLD tokens / {tok=$3}
/^COLD wall_s/ {cwall=$3; cafter=$5; cgpu=$7; cdisk=$9}
/^COLD layer [0-9]/ {clast=$5}
/^COLD layer_host_bytes/ {lb=$3; dgbps=$5}
/^WARM wall_s/ {wwall=$3; wgpu=$7}
/^WARM layer [1-9]/ {steady += $5; ns++}
/^WARM tflops_experts/ {te=$3; tl=$5}
/^WARM peak_gpu_mem_GiB/ {mem=$3}
/^WARM phase/ {ph=ph sprintf(" %s %.3fs", $3, $4)}
END {
  if (!tok) exit;
  printf("SUMMARY cold disk: %.0f tokens/s (%d tokens x %d layers in %.1f s; GPU %.1f s, disk %.1f s at %.2f GB/s; wall / max(GPU, disk) = %.2f)\n", tok/cwall, tok, L, cwall, cgpu, cdisk, dgbps, cwall/(cgpu>cdisk?cgpu:cdisk));
  # a pipeline of L layers cannot overlap the first read nor the compute of the last layer:
  # ideal = read(0) + max(the other reads, GPU time of layers 0..L-2) + GPU time of layer L-1
  r0 = cwall - cafter; rest = cdisk - r0; g = cgpu - clast; ideal = r0 + (rest > g ? rest : g) + clast;
  printf("SUMMARY cold overlap: ideal pipeline %.2f s (first read %.2f s, last layer %.2f s not overlappable), wall / ideal = %.3f\n", ideal, r0, clast, cwall/ideal);
  printf("SUMMARY warm cache: %.0f tokens/s (wall %.2f s, GPU %.2f s); GPU compute %.0f token-layers/s, steady layers %.3f s each\n", tok/wwall, wwall, wgpu, tok*L/wgpu, ns ? steady/ns : 0);
  printf("SUMMARY per layer (warm):%s\n", ph);
  printf("SUMMARY expert GEMMs %.0f TFLOP/s = %.0f%% of measured %.0f; whole layer %.0f TFLOP/s = %.0f%%\n", te, 100*te/rate, rate, tl, 100*tl/rate);
  printf("SUMMARY peak GPU memory %.2f GiB\n", mem);
  gl = wgpu / L * (1024*2048/tok); dl = lb / (dgbps*1e9);
  printf("SUMMARY projection 62 layers x 1024 x 2048 tokens: GPU %.0f s, disk %.0f s (%.2f GB/s), overlapped wall ~%.0f s (%.1f min)\n", 62*gl, 62*dl, dgbps, 62*(gl>dl?gl:dl), 62*(gl>dl?gl:dl)/60);
}' "$LOG" | tee -a "$LOG"
if [ "${TORCH:-1}" = 1 ]; then
    clocks_start
    PYTHONUNBUFFERED=1 python3 bench/torch_dense_observer.py "$WORK/m2" --layers "$LAYERS" --rows "$TORCH_ROWS" --seq-len "$SEQ" 2>&1 | tail -8 | tee -a "$LOG"
    clocks_stop torch
    # the same observer without max_act (the baseline of the runs before 2026-11-22 02:10 UTC), for comparison
    PYTHONUNBUFFERED=1 python3 bench/torch_dense_observer.py "$WORK/m2" --layers "$LAYERS" --rows "$TORCH_ROWS" --seq-len "$SEQ" --no-max-act 2>&1 |
        tail -8 | sed 's/^TORCH /TORCHLEAN /' | tee -a "$LOG"
    awk '/^COLD tokens / {tok=$3} /^WARM wall_s/ {wall=$3; gpu=$7} /^TORCH tokens_per_s/ {tt=$3} /^TORCHLEAN tokens_per_s/ {tl=$3}
         END { if (tt && gpu) printf("SUMMARY reap GPU compute %.0f tokens/s, warm wall %.0f tokens/s vs torch dense observer %.0f tokens/s: %.1fx (compute), %.1fx (wall)\n", tok/gpu, tok/wall, tt, tok/gpu/tt, tok/wall/tt)
               if (tl && gpu) printf("SUMMARY vs the lean observer without max_act, %.0f tokens/s: %.1fx (compute), %.1fx (wall)\n", tl, tok/gpu/tl, tok/wall/tl) }' "$LOG" | tee -a "$LOG"
fi

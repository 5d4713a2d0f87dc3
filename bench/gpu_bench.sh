#!/bin/sh
# gpu_bench.sh: the GPU benchmark, one GPU, through `reap score` itself (the code path users run):
#  1. the card's ceilings: dense bf16 GEMM rate, expert-shaped GEMM rates, device copy and
#     host-to-device bandwidth (kernels/dev/dev_rates);
#  2. synthesises `--preset minimax-m2 --layers $LAYERS` (about 3.8 GB a layer) unless present, and a
#     calibration file of real Python source ({"text"} records from the machine's standard library)
#     that fills $ROWS rows of $SEQ tokens;
#  3. "cold": drops the page cache (as root) and runs `reap score --device cuda -v`: tokens/s, the
#     time split per layer, TFLOP/s of the expert GEMMs and of the whole layer against the measured
#     rate, peak GPU memory, disk rate (reap drops each tensor's pages after reading it);
#  4. "warm": the same with the layers in the page cache (--keep-page-cache, read once before),
#     i.e. a disk faster than the GPU: the wall is then set by the GPU; with --profile;
#  5. with FP8=1 (the default), "FP8": the warm run again with --gpu-experts fp8 (the opt-in FP8
#     expert GEMMs), and "FAST": with --gpu-router tf32x3 too (the fastest settings): their GPU
#     tokens/s, and how far their statistics are from the bf16 run's (tests/tool_statsdiff at
#     STATSDIFF, if built) and whether `reap prune --ratio 0.30` drops the same experts;
#  6. projects the wall time of the full 62-layer MiniMax-M2 at 1,024 x 2,048 tokens;
#     with IO=1, first bench/io_bench.sh on the same checkpoint (root: it drops the page cache),
#     so that one run prints every figure of issue 16: parallel O_DIRECT rate, score's reader
#     against it, prune / cp -r + sync, verify against reading both once (REPEATS, default 2);
#  7. with TORCH=1, the same layers through transformers' MiniMaxM2 in PyTorch with a dense
#     all-expert observer (bench/torch_dense_observer.py) and the tokens/s ratio.
#   BIN=dir with reap (default build)  DEV=dir with dev_rates  WORK=scratch  OUT=log dir
#   ROWS (1024) SEQ (2048) LAYERS (4) TORCH (1) TORCH_ROWS (32) REAP_ARGS (extra score options)
#   SRC_COPIES (1: copies of the calibration source; 3 fill 1024 rows) FP8 (1) IO (0) REPEATS (2)
#   STATSDIFF (tests/tool_statsdiff next to BIN: $BIN/../tests/tool_statsdiff or $BIN/tests/tool_statsdiff)
BIN=${BIN:-build}
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
say "# gpu_bench $(date -u +%Y-%m-%dT%H:%MZ) on $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), $ROWS x $SEQ tokens, $LAYERS layers"
[ -x "$DEV/dev_rates" ] && "$DEV/dev_rates" | tee -a "$LOG"
if [ ! -f "$WORK/m2/config.json" ]; then
    t0=$(date +%s)
    "$BIN/reap" synth "$WORK/m2" --preset minimax-m2 --layers "$LAYERS" -q || exit 1
    say "synth_s $(( $(date +%s) - t0 )) size $(du -sh "$WORK/m2" | cut -f1)"
fi
if [ "${IO:-0}" = 1 ]; then
    BIN=$BIN WORK=$WORK OUT=$OUT LAYERS=$LAYERS REPEATS=${REPEATS:-2} sh bench/io_bench.sh >/dev/null || exit 1
    sed 's/^/IO /' "$OUT/io_bench.log" | tee -a "$LOG"
fi
# about 40 MB of source, SRC_COPIES times (1024 rows need 3)
SRC=$WORK/python-src-x${SRC_COPIES:-1}.jsonl
[ -f "$SRC" ] || sh bench/python_src.sh "$SRC" 40e6 "${SRC_COPIES:-1}" || exit 1
score() { # label, extra options...
    label=$1
    shift
    t0=$(date +%s.%N)
    "$BIN/reap" score "$WORK/m2" --device cuda --gpus 0 --calib "$SRC" --rows "$ROWS" --seq-len "$SEQ" \
        -o "$WORK/$label.json" -v $REAP_ARGS "$@" 2>&1 | sed "s/^/$label /" | tee -a "$LOG" | grep -v PROFILE
    say "$label process wall $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s"
}
sync
if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then say "cold: page cache dropped"; else say "cold: page cache NOT dropped (reap still drops each tensor's pages after reading it)"; fi
score COLD
cat "$WORK"/m2/*.safetensors >/dev/null
say "warm: layers in the page cache"
score WARM --profile --keep-page-cache
# the experts `reap prune --ratio 0.30` drops with a statistics file, as "layer id" lines
dropped() {
    "$BIN/reap" prune "$WORK/m2" --scores "$1" --ratio 0.30 --dry-run -o "$WORK/dry-run" 2>/dev/null |
        awk '/^layer/ {l=$2} /dropped id/ {d=1; next} /kept id/ {d=0} d {for (i = 1; i <= NF; i++) {split($i, a, ":"); print l, a[1]}}' | sort
}
STATSDIFF=${STATSDIFF:-$BIN/../tests/tool_statsdiff}
[ -x "$STATSDIFF" ] || STATSDIFF=$BIN/tests/tool_statsdiff
against_bf16() { # label: its pruned set at 0.30 and its statistics against the bf16 warm run's
    dropped "$WORK/WARM.json" >"$WORK/dropped-bf16"
    dropped "$WORK/$1.json" >"$WORK/dropped-$1"
    say "$1 pruned at 0.30: $(comm -12 "$WORK/dropped-bf16" "$WORK/dropped-$1" | wc -l) of $(wc -l <"$WORK/dropped-bf16") dropped experts the same as with bf16; differing (layer id, bf16 left, $1 right): $(comm -3 "$WORK/dropped-bf16" "$WORK/dropped-$1" | tr '\t\n' '> ' | head -c 400)"
    [ -x "$STATSDIFF" ] && "$STATSDIFF" "$WORK/WARM.json" "$WORK/$1.json" 0 100 | tail -1 | sed "s/^/$1 vs bf16 statistics: /" | tee -a "$LOG"
}
if [ "${FP8:-1}" = 1 ]; then
    score FP8 --profile --keep-page-cache --gpu-experts fp8
    against_bf16 FP8
    # the fastest settings reap offers: FP8 expert GEMMs and the 3xTF32 router
    score FAST --profile --keep-page-cache --gpu-experts fp8 --gpu-router tf32x3
    against_bf16 FAST
fi
awk -v L="$LAYERS" '
/^RATE gemm_bf16_8192/ {rate=$3}
/^COLD run: [0-9]/ {tok=$3; cwall=$8; cready=$13; cgpu=$16; cwait=$19}
/^COLD run: read/ {rb=$4; rs=$7; r0=$(NF-1)}
/^COLD run: first layer ready .* after the process started/ {pready=$6}
/^COLD process wall/ {cpw=$4}
/^COLD layer [0-9]+\// {split($3, a, "/"); if (a[1] == L) clast=$8}
/^WARM run: [0-9]/ {wwall=$8; wgpu=$16}
/^WARM layer [0-9]+\// {split($3, a, "/"); if (a[1] > 1) {steady += $8; ns++}}
/^WARM gpu: expert GEMMs/ {te=$5; tl=$9}
/^WARM gpu: .*peak memory/ {mem=$(NF-1)}
/^COLD   peak RSS/ {rss=$4 " " $5}
/^IO disk: parallel O_DIRECT/ {od=$(NF-1)}
/^IO score: loader/ {ior=$4; iop=$7}
/^IO \| [0-9]+ \|/ {pr=pr sprintf("%s%s s / %s s = %s", pr ? "; " : "", $9, $5, $13); prss=$15}
/^IO verify run/ {v=$0; sub(/^IO verify run [0-9]+: /, "", v); vr=vr (vr ? "; " : "") v}
/^WARM gpu: phase/ {ph=ph sprintf(" %s %.3fs", $4, $5)}
/^FP8 run: [0-9]/ {fgpu=$16}
/^FP8 layer [0-9]+\// {split($3, a, "/"); if (a[1] > 1) {fsteady += $8; fns++}}
/^FP8 gpu: expert GEMMs/ {fte=$5}
/^FP8 gpu: .*peak memory/ {fmem=$(NF-1)}
/^FP8 gpu: phase/ {fph=fph sprintf(" %s %.3fs", $4, $5)}
/^FAST run: [0-9]/ {xgpu=$16}
/^FAST layer [0-9]+\// {split($3, a, "/"); if (a[1] > 1) {xsteady += $8; xns++}}
/^FAST gpu: phase/ {xph=xph sprintf(" %s %.3fs", $4, $5)}
END {
  if (!tok) exit;
  dgbps = rb / rs / 1e9;
  printf("SUMMARY cold disk: %.0f tokens/s (%d tokens x %d layers in %.1f s; GPU %.1f s, loader %.1f s at %.2f GB/s, waited %.1f s)\n", tok/cwall, tok, L, cwall, cgpu, rs, dgbps, cwait);
  # a pipeline of L layers cannot overlap the start (first read, embedding, GPU open) nor the
  # compute of the last layer; the other reads overlap the other layers
  ideal = cready + ((rs - r0) > (cgpu - clast) ? (rs - r0) : (cgpu - clast)) + clast;
  # the figure reap prints (from the process start time the kernel keeps); else the process wall
  # less the pipeline wall after the first layer, which also counts the teardown at the end
  su = pready ? pready : cpw - cwall + cready;
  if (cpw) printf("SUMMARY start-up, process start to the first layer ready: %.2f s = first read %.2f s + %.2f s (%s; process wall %.2f s, pipeline wall %.2f s)\n", su, r0, su - r0, pready ? "as reap measures it" : "from the walls, teardown included", cpw, cwall);
  printf("SUMMARY cold overlap: ideal pipeline %.2f s (start %.2f s incl. the first read %.2f s, last layer %.2f s: not overlappable), wall / ideal = %.3f\n", ideal, cready, r0, clast, cwall/ideal);
  printf("SUMMARY warm cache: %.0f tokens/s (wall %.2f s, GPU %.2f s); GPU compute %.0f token-layers/s, steady layers %.3f s each\n", tok/wwall, wwall, wgpu, tok*L/wgpu, ns ? steady/ns : 0);
  printf("SUMMARY per layer (warm):%s\n", ph);
  if (rate) printf("SUMMARY expert GEMMs %.0f TFLOP/s = %.0f%% of measured %.0f; whole layer %.0f TFLOP/s = %.0f%%\n", te, 100*te/rate, rate, tl, 100*tl/rate);
  printf("SUMMARY peak GPU memory %.2f GiB; peak host RSS %s (cold run)\n", mem, rss);
  if (od) printf("SUMMARY disk (io_bench, cold): parallel O_DIRECT %s GB/s; reap score'"'"'s reader %s GB/s = %s of it\n", od, ior, iop);
  if (pr) printf("SUMMARY reap prune --ratio 0.30 / cp -r + sync: %s (peak RSS %s MiB)\n", pr, prss);
  if (vr) printf("SUMMARY verify: %s\n", vr);
  if (fgpu) {
    printf("SUMMARY warm cache, --gpu-experts fp8: GPU compute %.0f token-layers/s = %.2fx bf16, steady layers %.3f s each; expert GEMMs %.0f TFLOP/s (FP8 FLOP counted as bf16); peak GPU memory %.2f GiB\n", tok*L/fgpu, wgpu/fgpu, fns ? fsteady/fns : 0, fte, fmem);
    printf("SUMMARY per layer (warm, fp8):%s\n", fph);
  }
  if (xgpu) {
    printf("SUMMARY warm cache, --gpu-experts fp8 --gpu-router tf32x3: GPU compute %.0f token-layers/s = %.2fx bf16, steady layers %.3f s each\n", tok*L/xgpu, wgpu/xgpu, xns ? xsteady/xns : 0);
    printf("SUMMARY per layer (warm, fp8, tf32x3):%s\n", xph);
  }
  gl = wgpu / L * (1024*2048/tok); dl = rb / L / (dgbps*1e9);
  printf("SUMMARY projection 62 layers x 1024 x 2048 tokens: GPU %.0f s, disk %.0f s (%.2f GB/s), overlapped wall ~%.0f s (%.1f min)\n", 62*gl, 62*dl, dgbps, 62*(gl>dl?gl:dl), 62*(gl>dl?gl:dl)/60);
}' "$LOG" | tee -a "$LOG"
if [ "${TORCH:-1}" = 1 ]; then
    PYTHONUNBUFFERED=1 python3 bench/torch_dense_observer.py "$WORK/m2" --layers "$LAYERS" --rows "$TORCH_ROWS" --seq-len "$SEQ" 2>&1 | tail -8 | tee -a "$LOG"
    awk '/^WARM run: [0-9]/ {tok=$3; wall=$8; gpu=$16} /^TORCH tokens_per_s/ {tt=$3}
         END { if (tt && gpu) printf("SUMMARY reap GPU compute %.0f tokens/s, warm wall %.0f tokens/s vs torch dense observer %.0f tokens/s: %.1fx (compute), %.1fx (wall)\n", tok/gpu, tok/wall, tt, tok/gpu/tt, tok/wall/tt) }' "$LOG" | tee -a "$LOG"
fi

#!/bin/sh
# gpu_check.sh: the GPU correctness checks of issue 6, in one run on the GPU machine:
# kernel harnesses (kernels/dev/dev_kernels), GPU vs CPU statistics on synthesised tiny, small and
# `--preset minimax-m2 --layers 2` checkpoints (tests/tool_gpucheck --check), and
# compute-sanitizer memcheck + racecheck on the tiny run.
#   BIN=dir with reap, tool_gpucheck, dev_kernels (default build)  WORK=scratch dir  OUT=log dir
BIN=${BIN:-build}
WORK=${WORK:-/tmp/reap-gpucheck}
OUT=${OUT:-.}
mkdir -p "$WORK" "$OUT"
run() { echo "+ $*"; "$@"; }
run "$BIN/dev_kernels" 2>&1 | tee "$OUT/dev_kernels.log"
[ -d "$WORK/tiny" ] || run "$BIN/reap" synth "$WORK/tiny" --preset tiny -q
[ -d "$WORK/small" ] || run "$BIN/reap" synth "$WORK/small" --preset small -q
{
    run "$BIN/tool_gpucheck" "$WORK/tiny" --rows 3 --seq-len 200 --check
    run "$BIN/tool_gpucheck" "$WORK/tiny" --rows 2 --seq-len 130 --router softmax-renorm --check
    run "$BIN/tool_gpucheck" "$WORK/small" --rows 8 --seq-len 1024 --check
    run "$BIN/tool_gpucheck" "$WORK/small" --rows 4 --seq-len 700 --router softmax --check
} 2>&1 | tee "$OUT/gpucheck.log"
if command -v compute-sanitizer >/dev/null; then
    for tool in memcheck racecheck; do
        compute-sanitizer --tool $tool --error-exitcode 9 "$BIN/tool_gpucheck" "$WORK/tiny" --rows 2 --seq-len 100 \
            >"$OUT/sanitizer_$tool.log" 2>&1
        rc=$?
        tail -2 "$OUT/sanitizer_$tool.log"
        [ $rc -eq 0 ] && echo "PASS compute_sanitizer_$tool" || echo "FAIL compute_sanitizer_$tool (exit $rc)"
    done
fi
[ "${M2:-1}" = 1 ] || exit 0
# the first 2 layers of a synthesised minimax-m2 (gpu_bench.sh's 4-layer checkpoint when present)
[ -f "$WORK/m2/config.json" ] || run "$BIN/reap" synth "$WORK/m2" --preset minimax-m2 --layers 2 -q
run "$BIN/tool_gpucheck" "$WORK/m2" --layers 2 --rows 8 --seq-len 2048 --check 2>&1 | tee -a "$OUT/gpucheck.log"

#!/bin/sh
# e2e_gpucheck: GPU and CPU statistics agree on a synthesised tiny checkpoint (issue 6 criteria).
# Needs a CUDA build and a GPU; otherwise tool_gpucheck prints "SKIP ..." and nothing is counted.
BUILD=${BUILD:-build}
TOOL="$BUILD/tests/tool_gpucheck"
[ -x "$TOOL" ] || { echo "SKIP e2e_gpucheck: $TOOL not built"; exit 0; }
if "$TOOL" /nonexistent 2>/dev/null | grep -q '^SKIP'; then
    echo "SKIP e2e_gpucheck: no CUDA device"
    exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/reap-gpucheck.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$REAP" synth "$dir/tiny" --preset tiny -q || { echo "FAIL e2e_gpucheck_synth"; exit 0; }
# A tool that crashes or exits non-zero after its PASS lines is a failure too (the exit status
# would otherwise be lost behind the pipe).
"$TOOL" "$dir/tiny" --rows 3 --seq-len 200 --check || echo "FAIL gpucheck_exit_status (exit $?)"
"$TOOL" "$dir/tiny" --rows 2 --seq-len 130 --router softmax-renorm --check >"$dir/renorm.log" 2>&1 ||
    echo "FAIL gpucheck_softmax_renorm_exit_status (exit $?)"
sed 's/^\(PASS\|FAIL\) gpucheck/\1 gpucheck_softmax_renorm/' "$dir/renorm.log"
# The opt-in FP8 expert GEMMs (--gpu-experts fp8) against the CPU, with their own limits (tool_gpucheck
# says which): a model whose experts are FP8 in 128x128 blocks (hidden 256, intermediate 128: K-block
# counts 2 and 1, so the weight scales' rows are padded to 4).
if "$REAP" synth "$dir/b128" --preset small --block-size 128 --layers 2 -q; then
    "$TOOL" "$dir/b128" --rows 3 --seq-len 200 --gpu-experts fp8 --check >"$dir/fp8.log" 2>&1 ||
        echo "FAIL gpucheck_fp8_exit_status (exit $?)"
    cat "$dir/fp8.log"
else
    echo "FAIL e2e_gpucheck_synth_b128"
fi

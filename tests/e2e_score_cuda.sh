#!/bin/sh
# e2e_score_cuda: `reap score --device cuda` through the real binary: same calibration rows and
# token counts as the CPU path, statistics close to the CPU reference, shards that merge, a
# SIGKILLed run that resumes from --work-dir, and the hidden states kept on the GPU giving the
# statistics of the path through host memory (and falling back to it one byte under the cap), for
# score and eval's what-if streams. Needs a CUDA build and a GPU; otherwise it prints a
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

# kill_after_first_layer WORKDIR SCORE-ARGS...: starts `reap score ... -w WORKDIR` slowed down
# (REAP_TEST_SLOW_MS), kills it once the work dir holds a layer's hidden states.
kill_after_first_layer() {
    kwd=$1
    shift
    REAP_TEST_SLOW_MS=300 "$REAP" score "$@" -w "$kwd" -q 2>/dev/null &
    pid=$!
    n=0
    while [ $n -lt 600 ] && ! ls "$kwd"/hidden-* >/dev/null 2>&1; do sleep 0.02; n=$((n + 1)); done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
}

# Kill after a few layers, resume, compare with the uninterrupted GPU run (same rows, same chunks).
wd=$dir/wd
kill_after_first_layer "$wd" "$ck" $args --device cuda -o "$dir/resumed.json"
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

# Hidden states kept on the GPU between layers against through host memory chunk by chunk: the same
# chunks (the chunk size is chosen first), so the same statistics (1e-12: the float64 sums are added
# by atomics, as between two GPUs). Chunks of 1 row, so that 8 rows of hidden states outgrow the
# host path's two chunk buffers (on one GPU: the rows of several would not), and the start-up line
# says which path ran.
ct="--chunk-tokens 96 --gpus 0"
if "$REAP" score "$ck" $args $ct --device cuda --gpu-hidden host -o "$dir/hh.json" -v 2>"$dir/hh.err" &&
    "$REAP" score "$ck" $args $ct --device cuda --gpu-hidden gpu -o "$dir/hg.json" -v 2>"$dir/hg.err" &&
    grep -q 'hidden states: in host memory.*--gpu-hidden host' "$dir/hh.err" &&
    grep -q 'hidden states: on the GPU' "$dir/hg.err" && grep -q '"hidden_states": *"gpu"' "$dir/hg.json" &&
    grep -q '"hidden_states": *"host"' "$dir/hh.json" &&
    "$DIFF" "$dir/hh.json" "$dir/hg.json" 1e-12 >"$dir/hdiff.txt"; then
    ok cuda_hidden_on_gpu_same_statistics_as_host
else
    bad cuda_hidden_on_gpu_same_statistics_as_host "$(cat "$dir/hdiff.txt" "$dir/hh.err" "$dir/hg.err" 2>/dev/null | grep -i 'hidden\|error\|layer [0-9]* expert' | tail -4)"
fi
# The cap decides (lib/gpu_layout.c): --gpu-mem of exactly what the GPU needs with the hidden states
# on it keeps them there; one byte less falls back to host memory (the chunks still fit) and says so,
# with the same statistics; --gpu-hidden gpu under that cap is an error naming the sizes.
need=$(sed -n 's/^gpu: hidden states.* \([0-9]*\) bytes needed with them.*/\1/p' "$dir/hg.err" | head -1)
if [ -n "$need" ] &&
    "$REAP" score "$ck" $args $ct --device cuda --gpu-mem "$need" -o "$dir/hcap.json" 2>"$dir/hcap.err" &&
    grep -q 'hidden states: on the GPU' "$dir/hcap.err" &&
    "$REAP" score "$ck" $args $ct --device cuda --gpu-mem $((need - 1)) -o "$dir/hfb.json" 2>"$dir/hfb.err" &&
    grep -q 'hidden states: in host memory, through the GPU chunk by chunk (on GPU [0-9]* they would need' "$dir/hfb.err" &&
    grep -q '"hidden_states": *"host"' "$dir/hfb.json" &&
    "$DIFF" "$dir/hg.json" "$dir/hfb.json" 1e-12 >"$dir/fbdiff.txt"; then
    ok cuda_hidden_falls_back_to_host_one_byte_under_the_cap
else
    bad cuda_hidden_falls_back_to_host_one_byte_under_the_cap "need '$need': $(cat "$dir/hcap.err" "$dir/hfb.err" "$dir/fbdiff.txt" 2>/dev/null | grep -i 'hidden\|error\|expert' | tail -4)"
fi
if [ -n "$need" ] &&
    ! "$REAP" score "$ck" $args $ct --device cuda --gpu-hidden gpu --gpu-mem $((need - 1)) -o "$dir/hno.json" 2>"$dir/hno.err" &&
    grep -q -- '--gpu-hidden gpu.*need' "$dir/hno.err" && [ ! -f "$dir/hno.json" ]; then
    ok cuda_hidden_gpu_forced_misfit_is_an_error
else
    bad cuda_hidden_gpu_forced_misfit_is_an_error "$(tail -2 "$dir/hno.err" 2>/dev/null)"
fi
# eval's what-if variants: one stream of hidden states per variant, all kept on the GPU, against all
# through host memory: the same final hidden states, so the same numbers (the logits run on the CPU).
ev="--rows 4 --seq-len 64"
if "$REAP" eval "$ck" --scores "$dir/gpu.json" --ratio 0.25,0.5 $ev --device cuda --gpu-hidden host \
        -o "$dir/eh.json" -q 2>"$dir/eh.err" &&
    "$REAP" eval "$ck" --scores "$dir/gpu.json" --ratio 0.25,0.5 $ev --device cuda --gpu-hidden gpu \
        -o "$dir/eg.json" 2>"$dir/eg.err" &&
    grep -q 'hidden states: on the GPU.*for all streams' "$dir/eg.err" &&
    [ -n "$(grep -E '"(ce|kl|mean|top1_agreement)"' "$dir/eh.json")" ] &&
    [ "$(grep -E '"(ce|mean|top1_agreement)"' "$dir/eh.json")" = "$(grep -E '"(ce|mean|top1_agreement)"' "$dir/eg.json")" ]; then
    ok cuda_eval_whatif_hidden_on_gpu_same_numbers_as_host
else
    bad cuda_eval_whatif_hidden_on_gpu_same_numbers_as_host "$(cat "$dir/eh.err" "$dir/eg.err" | tail -3)"
fi
# --gpu-experts fp8 (opt-in): on a checkpoint whose FP8 blocks are not 128x128 (tiny: 16x16) it runs
# bf16, says why, and gives the same statistics (up to the float64 summation order); on one in 128x128 blocks it runs FP8 and the statistics
# file says so (its agreement with the CPU: tool_gpucheck in e2e_gpucheck); a bad value is a usage error.
if "$REAP" score "$ck" $args --device cuda --gpu-experts fp8 -o "$dir/fp8fb.json" 2>"$dir/fp8fb.err" &&
    grep -q 'expert GEMMs: bf16, not fp8 as asked: .*128x128' "$dir/fp8fb.err" &&
    "$DIFF" "$dir/gpu.json" "$dir/fp8fb.json" 1e-12 >/dev/null; then
    ok cuda_fp8_experts_fall_back_to_bf16_on_other_blocks
else
    bad cuda_fp8_experts_fall_back_to_bf16_on_other_blocks "$(tail -3 "$dir/fp8fb.err" 2>/dev/null)"
fi
"$REAP" score "$ck" $args --device cuda --gpu-experts fp9 -o "$dir/fp9.json" 2>"$dir/fp9.err"
rc=$?
if [ $rc = 2 ] && grep -q -- "--gpu-experts.*'fp9'" "$dir/fp9.err" && [ ! -f "$dir/fp9.json" ]; then
    ok cuda_fp8_experts_bad_value_is_a_usage_error
else
    bad cuda_fp8_experts_bad_value_is_a_usage_error "exit $rc: $(cat "$dir/fp9.err")"
fi
if "$REAP" synth "$dir/b128" --preset small --block-size 128 --layers 2 -q &&
    "$REAP" score "$dir/b128" $args --device cuda --gpu-experts fp8 -o "$dir/fp8.json" 2>"$dir/fp8.err" &&
    grep -q 'expert GEMMs: fp8' "$dir/fp8.err" && grep -q '"expert_gemm": *"fp8' "$dir/fp8.json"; then
    ok cuda_fp8_experts_run_on_128x128_blocks
else
    bad cuda_fp8_experts_run_on_128x128_blocks "$(tail -3 "$dir/fp8.err" 2>/dev/null)"
fi
# A work dir of an fp8 run, killed after its first layer, is not resumed without --gpu-experts fp8
# (the layers done would mix fp8 and bf16 statistics); with it, the run resumes and finishes.
wd8=$dir/wd8
kill_after_first_layer "$wd8" "$dir/b128" $args --device cuda --gpu-experts fp8 -o "$dir/fp8r.json"
if ls "$wd8"/hidden-* >/dev/null 2>&1 && [ ! -f "$dir/fp8r.json" ] &&
    ! "$REAP" score "$dir/b128" $args --device cuda -w "$wd8" -o "$dir/fp8r.json" -q 2>"$dir/fp8r.err" &&
    grep -q "belongs to another run (--gpu-experts fp8 differs)" "$dir/fp8r.err" && [ ! -f "$dir/fp8r.json" ] &&
    "$REAP" score "$dir/b128" $args --device cuda --gpu-experts fp8 -w "$wd8" -o "$dir/fp8r.json" -q &&
    "$DIFF" "$dir/fp8.json" "$dir/fp8r.json" 1e-6 >/dev/null; then
    ok cuda_fp8_work_dir_resumes_only_with_fp8
else
    bad cuda_fp8_work_dir_resumes_only_with_fp8 "$(cat "$dir/fp8r.err" 2>/dev/null | tail -2)"
fi

#!/bin/sh
# e2e_score: `reap score` on the real binary with a synthesised checkpoint: 4 shards merged equal
# the single run (counts exactly, sums within 1e-12 relative); a run killed with SIGKILL after some
# layers and restarted with the same --work-dir resumes and equals an uninterrupted run; a work dir
# of another run is refused; thread count does not change the file; router modes; Slurm defaults.
REAP=${REAP:-build/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
BUILD=${BUILD:-build}
DIFF="$PWD/$BUILD/tests/tool_statsdiff"
dir=$(mktemp -d "${TMPDIR:-/tmp}/reap-e2e-score.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }

ck=$dir/ck
if "$REAP" synth "$ck" --preset tiny --layers 10 -q; then ok synth_tiny; else bad synth_tiny; exit 1; fi
args="--device cpu --calib builtin:40 --rows 8 --seq-len 96"

# Single run, then 4 shards and a merge.
if "$REAP" score "$ck" $args -o "$dir/full.json" -q; then ok score_single; else bad score_single; fi
sh_ok=1
for i in 0 1 2 3; do
    "$REAP" score "$ck" $args --shard $i/4 -o "$dir/s$i.json" -q || sh_ok=0
done
if [ $sh_ok = 1 ]; then ok score_four_shards; else bad score_four_shards; fi
if "$REAP" merge "$dir/s2.json" "$dir/s0.json" "$dir/s3.json" "$dir/s1.json" -o "$dir/merged.json" >/dev/null &&
    "$DIFF" "$dir/full.json" "$dir/merged.json" 1e-12 >"$dir/diff.txt"; then
    ok merged_shards_equal_single_run
else
    bad merged_shards_equal_single_run "$(head -3 "$dir/diff.txt")"
fi
# Shards scored with FP8 expert GEMMs (calibration.gpu.expert_gemm, written by a GPU run with
# --gpu-experts fp8) merge with each other but not with bf16 or CPU ones.
for i in 0 1 2 3; do
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); d["calibration"]["gpu"] = {"expert_gemm": "fp8 e4m3 x e4m3"}
json.dump(d, open(sys.argv[2], "w"))' "$dir/s$i.json" "$dir/f$i.json"
done
if "$REAP" merge "$dir/s0.json" "$dir/f1.json" "$dir/s2.json" "$dir/s3.json" -o "$dir/mixed.json" 2>"$dir/err.txt"; then
    bad merge_refuses_fp8_with_bf16_shards
elif grep -q "f1.json: scored with fp8 expert GEMMs, the merge target with bf16/f32" "$dir/err.txt" && [ ! -e "$dir/mixed.json" ]
then ok merge_refuses_fp8_with_bf16_shards
else bad merge_refuses_fp8_with_bf16_shards "$(cat "$dir/err.txt")"; fi
if "$REAP" merge "$dir/f0.json" "$dir/f1.json" "$dir/f2.json" "$dir/f3.json" -o "$dir/fp8.json" >/dev/null 2>"$dir/err.txt" &&
    "$DIFF" "$dir/full.json" "$dir/fp8.json" 1e-12 >/dev/null
then ok merge_fp8_shards
else bad merge_fp8_shards "$(cat "$dir/err.txt")"; fi
if "$REAP" merge "$dir/s0.json" "$dir/s0.json" -o "$dir/bad.json" 2>"$dir/err.txt"; then
    bad merge_refuses_overlapping_shards
elif grep -q "already included" "$dir/err.txt"; then ok merge_refuses_overlapping_shards
else bad merge_refuses_overlapping_shards "$(cat "$dir/err.txt")"; fi

# The statistics file carries the calibration description.
if grep -q '"rows_scored":2' "$dir/s1.json" && grep -q '"shard_count":4' "$dir/s1.json" &&
    grep -q '"sources":\["builtin:40"\]' "$dir/s1.json" && grep -q '"seq_len":96' "$dir/s1.json"; then
    ok stats_file_describes_calibration
else
    bad stats_file_describes_calibration
fi

# Thread count never changes a bit.
if "$REAP" score "$ck" $args --threads 1 -o "$dir/t1.json" -q && "$REAP" score "$ck" $args --threads 3 -o "$dir/t3.json" -q &&
    cmp -s "$dir/t1.json" "$dir/t3.json"; then
    ok score_thread_count_independent
else
    bad score_thread_count_independent
fi

# Kill with SIGKILL once some layers are finished, then resume.
wd=$dir/work
REAP_TEST_SLOW_MS=300 "$REAP" score "$ck" $args --threads 1 -w "$wd" -o "$dir/resumed.json" -q 2>"$dir/kill.txt" &
pid=$!
n=0
while [ $n -lt 600 ] && ! ls "$wd"/hidden-*.bin >/dev/null 2>&1; do
    sleep 0.05
    n=$((n + 1))
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
pid=
if [ -f "$dir/resumed.json" ]; then
    bad killed_run_left_no_output "the run finished before it was killed"
else
    ok killed_run_left_no_output
fi
if "$REAP" score "$ck" $args --threads 1 -w "$wd" -o "$dir/resumed.json" 2>"$dir/resume.txt" >/dev/null &&
    grep -q "resuming from" "$dir/resume.txt"; then
    ok resume_after_sigkill
else
    bad resume_after_sigkill "$(cat "$dir/resume.txt")"
fi
if "$DIFF" "$dir/full.json" "$dir/resumed.json" >"$dir/diff.txt"; then ok resumed_equals_uninterrupted
else bad resumed_equals_uninterrupted "$(head -3 "$dir/diff.txt")"; fi
if ls "$wd"/hidden-*.bin >/dev/null 2>&1; then bad work_dir_hidden_states_removed_when_done
else ok work_dir_hidden_states_removed_when_done; fi

# A work dir of another run is refused, naming what differs.
if "$REAP" score "$ck" --device cpu --calib builtin:40 --rows 8 --seq-len 64 -w "$wd" -o "$dir/x.json" 2>"$dir/err.txt"; then
    bad work_dir_of_other_run_refused
elif grep -q "another run (the calibration arguments differ)" "$dir/err.txt"; then ok work_dir_of_other_run_refused
else bad work_dir_of_other_run_refused "$(cat "$dir/err.txt")"; fi

# Router modes: softmax modes choose by raw logits, so counts differ from the model's routing.
# (tool_statsdiff exits 1 for "differ", 2 when it cannot load a file: only 1 counts.)
if "$REAP" score "$ck" $args --router softmax-renorm -o "$dir/sr.json" -q &&
    grep -q '"router":"softmax-renorm"' "$dir/sr.json"; then
    "$DIFF" "$dir/full.json" "$dir/sr.json" >/dev/null
    rc=$?
else
    rc=-1
fi
if [ "$rc" = 1 ]; then
    ok router_mode_recorded_and_used
else
    bad router_mode_recorded_and_used
fi
"$REAP" score "$ck" $args --router nope -o "$dir/x.json" 2>"$dir/err.txt"
rc=$?
if [ $rc = 2 ] && grep -q "unknown router mode 'nope'" "$dir/err.txt" && [ ! -e "$dir/x.json" ]; then ok bad_router_mode_refused
else bad bad_router_mode_refused "exit $rc: $(cat "$dir/err.txt")"; fi

# Slurm array defaults: task 3 of a 1-based array of 4 is shard 2/4.
if (cd "$dir" && SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=4 "$REAP" score "$ck" $args -q) &&
    "$DIFF" "$dir/s2.json" "$dir/scores.shard-2-of-4.json" >/dev/null; then
    ok slurm_array_shard_default
else
    bad slurm_array_shard_default
fi

# Without CUDA, --device cuda fails clearly (exit 4).
if "$REAP" --version | grep -q "CPU only"; then
    "$REAP" score "$ck" $args --device cuda -o "$dir/x.json" 2>"$dir/err.txt"
    rc=$?
    if [ $rc = 4 ] && grep -q "without CUDA" "$dir/err.txt"; then ok device_cuda_without_cuda_refused
    else bad device_cuda_without_cuda_refused "exit $rc: $(cat "$dir/err.txt")"; fi
fi
# reap report: text summary, CSV of everything, SVG heatmap (10 layers x 16 experts, 4 pruned at 30%).
if "$REAP" report "$dir/full.json" --top 2 --csv "$dir/r.csv" --svg "$dir/r.svg" >"$dir/report.txt" 2>/dev/null &&
    grep -q "mass removed by a cut of 25% / 30% / 40%" "$dir/report.txt" && grep -q "agreement with reap" "$dir/report.txt"; then
    ok report_text
else
    bad report_text
fi
if [ "$(wc -l <"$dir/r.csv")" = 161 ] && head -1 "$dir/r.csv" | grep -q "ean-mean" &&
    [ "$(grep -c ',1,1$' "$dir/r.csv")" = 40 ]; then
    ok report_csv_rows_and_pruned_flags
else
    bad report_csv_rows_and_pruned_flags "$(wc -l <"$dir/r.csv") lines"
fi
if [ "$(grep -c '<title>layer' "$dir/r.svg")" = 160 ] && [ "$(grep -c 'class="cut"' "$dir/r.svg")" = 40 ] &&
    tail -1 "$dir/r.svg" | grep -q '</svg>'; then
    ok report_svg_heatmap
else
    bad report_svg_heatmap
fi
if "$REAP" report "$dir/full.json" --criterion max-activation --top 0 >/dev/null 2>&1; then ok report_other_criterion
else bad report_other_criterion; fi
"$REAP" report "$dir/full.json" --criterion nope >/dev/null 2>"$dir/err.txt"
if [ $? = 2 ] && grep -q "unknown criterion 'nope'" "$dir/err.txt"; then ok report_bad_criterion_is_usage_error
else bad report_bad_criterion_is_usage_error; fi

# --cpu-isa (REAP_CPU_ISA's option): the portable kernels give the same bits as the default path;
# an unknown path and a zero --read-part-bytes are usage errors naming the value.
if "$REAP" score "$ck" $args --cpu-isa generic -o "$dir/generic.json" -q && "$DIFF" "$dir/full.json" "$dir/generic.json" 0 >/dev/null
then ok cpu_isa_generic_same_bits
else bad cpu_isa_generic_same_bits; fi
"$REAP" score "$ck" $args --cpu-isa sparc -o "$dir/x.json" -q 2>"$dir/err.txt"
if [ $? = 2 ] && grep -q "cpu-isa sparc" "$dir/err.txt" && [ ! -e "$dir/x.json" ]; then ok cpu_isa_unknown_is_usage_error
else bad cpu_isa_unknown_is_usage_error "$(cat "$dir/err.txt")"; fi
"$REAP" score "$ck" $args --read-part-bytes 0 -o "$dir/x.json" -q 2>"$dir/err.txt"
if [ $? = 2 ] && grep -q "read-part-bytes: bad size '0'" "$dir/err.txt"; then ok read_part_bytes_zero_is_usage_error
else bad read_part_bytes_zero_is_usage_error "$(cat "$dir/err.txt")"; fi

# GPU-only settings on the CPU: a warning saying so, the same bits as without them, and nothing
# about them in the file (the CPU computes in f32).
"$REAP" score "$ck" $args --gpu-experts fp8 --gpu-router tf32x3 -o "$dir/gpuopts.json" 2>"$dir/err.txt" >/dev/null
if grep -q "warning: --gpu-router tf32x3 / --gpu-experts fp8 apply to the GPU only" "$dir/err.txt" &&
    "$DIFF" "$dir/full.json" "$dir/gpuopts.json" 0 >/dev/null && ! grep -q "fp8\|tf32x3" "$dir/gpuopts.json"
then ok gpu_settings_on_cpu_warned_and_ignored
else bad gpu_settings_on_cpu_warned_and_ignored "$(cat "$dir/err.txt")"; fi
exit 0

#!/bin/sh
# e2e_prune.sh: `reap prune`, `reap verify` and `reap merge` on synthesised checkpoints (256
# experts): kept counts, verify passing and failing on a corrupted survivor / router row / bias,
# --ratio 0 reproducing the source, refusals, --force, --dry-run, and merge's rules.
# Statistics come from build/tests/tool_synth_stats (deterministic pseudo-random values).
REAP=${REAP:-$PWD/build/reap}
BUILD=${BUILD:-build}
STATS_TOOL=$PWD/$BUILD/tests/tool_synth_stats
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_prune.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

ok() { echo "PASS $1"; }
bad() { echo "FAIL $1"; }
check() { # name, then a command that must succeed
    name=$1
    shift
    if "$@" >"$T/out.log" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/    /' "$T/out.log" | tail -5; fi
}
# expect_fail NAME STATUS NEEDLE command...: the command must exit STATUS and print NEEDLE.
expect_fail() {
    name=$1 want=$2 needle=$3
    shift 3
    "$@" >"$T/out.log" 2>&1
    rc=$?
    if [ "$rc" -eq "$want" ] && grep -qF -- "$needle" "$T/out.log"; then ok "$name"; else
        bad "$name (exit $rc, want $want and '$needle')"
        sed 's/^/    /' "$T/out.log" | tail -5
    fi
}
experts_of() { sed -n 's/.*"num_local_experts"[^0-9]*\([0-9]*\).*/\1/p' "$1/config.json"; }

# shard_of DIR NAME / offset_of FILE NAME: where a tensor's bytes are (safetensors header parsed here).
shard_of() { sed -n "s/.*\"$2\": *\"\\([^\"]*\\)\".*/\\1/p" "$1/model.safetensors.index.json"; }
offset_of() {
    hlen=$(od -An -tu8 -N8 "$1" | tr -d ' ')
    b=$(head -c $((8 + hlen)) "$1" | tail -c "$hlen" | sed "s/.*\"$2\":{[^}]*\"data_offsets\":\\[\\([0-9]*\\),.*/\\1/")
    echo $((8 + hlen + b))
}
# flip FILE OFFSET: changes one byte in place.
flip() {
    v=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    n=$(( (v + 1) % 256 ))
    printf "$(printf '\\%03o' "$n")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
"$REAP" synth src --preset tiny --experts 256 -q >/dev/null 2>&1 || { bad "synth (setup)"; exit 1; }
"$STATS_TOOL" src stats.json 7 || { bad "statistics (setup)"; exit 1; }
(cd src && cksum ./* | sort) >src.sum

check "prune_030_runs" "$REAP" prune src -o p30 --ratio 0.30 --scores stats.json -q
[ "$(experts_of p30)" = 180 ] && ok "prune_030_keeps_180" || bad "prune_030_keeps_180 (got $(experts_of p30))"
n=$(grep -c '"model.layers.1.block_sparse_moe.experts.[0-9]*.w2.weight"' p30/model.safetensors.index.json)
[ "$n" = 180 ] && ok "prune_030_writes_180_experts_per_layer" || bad "prune_030_writes_180_experts_per_layer (got $n)"
check "verify_030_passes" "$REAP" verify src p30
cmp -s src/tokenizer.json p30/tokenizer.json && cmp -s src/chat_template.jinja p30/chat_template.jinja &&
    ok "prune_copies_non_weight_files" || bad "prune_copies_non_weight_files"
diff src/config.json p30/config.json | grep -c '^[<>]' | grep -qx 2 && ok "config_only_expert_count_changes" ||
    bad "config_only_expert_count_changes"

check "prune_025_runs" "$REAP" prune src -o p25 --ratio 0.25 --scores stats.json -q
[ "$(experts_of p25)" = 192 ] && ok "prune_025_keeps_192" || bad "prune_025_keeps_192 (got $(experts_of p25))"
check "verify_025_passes" "$REAP" verify src p25

# Corruptions: one byte of a survivor, of one router row, of the bias; then of a copied file.
for c in "corrupt_survivor model.layers.0.block_sparse_moe.experts.5.w1.weight 17 experts.5.w1.weight" \
         "corrupt_router_row model.layers.1.block_sparse_moe.gate.weight 1030 gate.weight: row 4" \
         "corrupt_bias model.layers.0.block_sparse_moe.e_score_correction_bias 8 e_score_correction_bias: entry 2"; do
    set -- $c
    case_name=$1 tensor=$2 byte=$3
    shift 3
    needle="$*"
    f=p30/$(shard_of p30 "$tensor")
    off=$(( $(offset_of "$f" "$tensor") + byte ))
    cp "$f" saved.bin
    flip "$f" "$off"
    expect_fail "verify_fails_on_$case_name" 3 "$needle" "$REAP" verify src p30
    cp saved.bin "$f"
done
cp p30/tokenizer.json saved.json
echo ' ' >>p30/tokenizer.json
expect_fail "verify_fails_on_changed_file" 3 "tokenizer.json differs" "$REAP" verify src p30
cp saved.json p30/tokenizer.json
check "verify_passes_after_restoring" "$REAP" verify src p30

# --ratio 0 reproduces every tensor (verify compares all of them byte for byte, names unchanged).
check "prune_ratio_0_runs_without_statistics" "$REAP" prune src -o p0 --ratio 0
check "verify_ratio_0_passes" "$REAP" verify src p0
"$REAP" inspect --tensors src | cut -d' ' -f1-3 >t_src.txt
"$REAP" inspect --tensors p0 | cut -d' ' -f1-3 >t_p0.txt
cmp -s t_src.txt t_p0.txt && cmp -s src/config.json p0/config.json && ok "ratio_0_same_tensors_and_config" ||
    bad "ratio_0_same_tensors_and_config"

# Refusals.
expect_fail "refuses_ratio_1" 2 "[0, 1)" "$REAP" prune src -o x --ratio 1 --scores stats.json
expect_fail "refuses_negative_ratio" 2 "[0, 1)" "$REAP" prune src -o x --ratio -0.1 --scores stats.json
expect_fail "refuses_keep_below_top_k" 2 "top-k" "$REAP" prune src -o x --keep 3 --scores stats.json
expect_fail "refuses_keep_above_experts" 2 "only 256" "$REAP" prune src -o x --keep 300 --scores stats.json
expect_fail "refuses_ratio_and_keep" 2 "exactly one" "$REAP" prune src -o x --keep 100 --ratio 0.3 --scores stats.json
expect_fail "refuses_unknown_criterion" 2 "unknown criterion" "$REAP" prune src -o x --ratio 0.3 --scores stats.json --criterion foo
"$REAP" synth other --preset tiny --experts 256 --layers 3 -q >/dev/null 2>&1
"$STATS_TOOL" other other.json 7
expect_fail "refuses_statistics_of_another_model" 1 "another model" "$REAP" prune src -o x --ratio 0.3 --scores other.json
"$STATS_TOOL" src partial.json 7 1
expect_fail "refuses_incomplete_statistics" 1 "incomplete" "$REAP" prune src -o x --ratio 0.3 --scores partial.json
expect_fail "refuses_out_equal_to_source" 2 "is the source" "$REAP" prune src -o ./src/ --ratio 0.3 --scores stats.json
expect_fail "refuses_out_inside_source" 2 "inside the source" "$REAP" prune src -o src/sub --ratio 0.3 --scores stats.json
expect_fail "refuses_existing_out_without_force" 1 "--force" "$REAP" prune src -o p25 --ratio 0.3 --scores stats.json
[ ! -e x ] && [ ! -e src/sub ] && ok "refusals_write_nothing" || bad "refusals_write_nothing"
check "force_replaces_existing_out" "$REAP" prune src -o p25 --ratio 0.30 --scores stats.json --force -q
[ "$(experts_of p25)" = 180 ] && ls -d p25.* 2>/dev/null | wc -l | grep -qx 0 && ok "force_leaves_no_siblings" ||
    bad "force_leaves_no_siblings"
"$REAP" prune src -o x --keep 100 --scores stats.json >/dev/null 2>warn.log
grep -q "not a multiple of 8" warn.log && ok "warns_keep_not_multiple_of_8" || bad "warns_keep_not_multiple_of_8"
"$REAP" prune src -o al --ratio 0.30 --align 16 --scores stats.json 2>al.log >/dev/null
[ "$(experts_of al)" = 176 ] && grep -q "rounded down from 180 to 176" al.log && ok "align_rounds_kept_down" ||
    bad "align_rounds_kept_down"
"$REAP" prune src -o dry --ratio 0.30 --scores stats.json --dry-run >dry.log 2>&1
[ ! -e dry ] && grep -q "keep 180 of 256" dry.log && grep -q "saliency mass removed" dry.log &&
    grep -q "dropped id:saliency (76)" dry.log && grep -q "4 slice" dry.log && ok "dry_run_prints_plan_writes_nothing" ||
    bad "dry_run_prints_plan_writes_nothing"
# Several threads writing pieces of several output shards at once (-t) give the same bytes as one,
# and verify passes.
"$REAP" prune src -o t1 --ratio 0.30 --scores stats.json --max-shard-size 200KB -t 1 -q
"$REAP" prune src -o t4 --ratio 0.30 --scores stats.json --max-shard-size 200KB -t 4 -v 2>t4.log >/dev/null
n=$(ls t4/*.safetensors 2>/dev/null | wc -l)
if [ "$n" -ge 4 ] && grep -q "by 4 threads" t4.log && diff -r t1 t4 >/dev/null && "$REAP" verify src t4 >/dev/null 2>&1; then
    ok "parallel_shard_writers_same_bytes"
else
    bad "parallel_shard_writers_same_bytes ($n shards; $(grep 'tensors written' t4.log))"
fi
# A tensor larger than a piece (16 MB: a 20 MB embedding) is copied in several pieces by several
# threads; verify compares every kept byte with the source.
"$REAP" synth bigemb --preset tiny --vocab 10000 --hidden 1024 -q
"$STATS_TOOL" bigemb bigemb.json 7
"$REAP" prune bigemb -o bigemb-p --ratio 0.25 --scores bigemb.json -t 3 -v 2>bigemb.log >/dev/null
if grep -q "in [0-9]* pieces by 3 threads" bigemb.log && "$REAP" verify bigemb bigemb-p >/dev/null 2>&1; then
    ok "tensor_larger_than_a_piece_copied_whole"
else
    bad "tensor_larger_than_a_piece_copied_whole ($(grep 'tensors written' bigemb.log))"
fi
expect_fail "refuses_threads_out_of_range" 2 "--threads" "$REAP" prune src -o x --ratio 0.3 --scores stats.json -t -1
"$REAP" prune src -o crit --ratio 0.30 --scores stats.json --criterion frequency -q
check "criterion_frequency_verifies" "$REAP" verify src crit
grep -q '"criterion":	"frequency"' crit/reap.json && ok "reap_json_records_criterion" || bad "reap_json_records_criterion"
grep -q "$(sha256sum stats.json | cut -c1-64)" p30/reap.json && ok "reap_json_records_statistics_hash" ||
    bad "reap_json_records_statistics_hash"
# Verify against the wrong source is refused.
expect_fail "verify_refuses_other_source" 3 "another source" "$REAP" verify other p30

# Merge.
"$STATS_TOOL" src s0.json 11 2 0 2
"$STATS_TOOL" src s1.json 12 2 1 2
check "merge_two_shards" "$REAP" merge s0.json s1.json -o merged.json
grep -q '"shards":\[0,1\]' merged.json && ok "merge_unites_shards" || bad "merge_unites_shards"
expect_fail "merge_refuses_overlapping_shards" 1 "overlapping" "$REAP" merge s0.json s0.json -o m2.json
expect_fail "merge_refuses_other_model" 1 "other.json: statistics of a different model" "$REAP" merge s0.json other.json -o m2.json
"$STATS_TOOL" src s1p.json 12 1 1 2
expect_fail "merge_refuses_incomplete" 1 "s1p.json: incomplete" "$REAP" merge s0.json s1p.json -o m2.json
check "prune_with_merged_statistics" "$REAP" prune src -o pm --ratio 0.30 --scores merged.json -q

(cd src && cksum ./* | sort) >src.after
cmp -s src.sum src.after && ok "source_never_changes" || bad "source_never_changes"

# Without --scores, prune scores first (reap score's driver, built-in set, CPU) and keeps the statistics.
check "prune_without_scores_scores_first" "$REAP" prune src -o ps --ratio 0.30 --rows 4 --seq-len 32 -q
[ -f ps/reap-stats.json ] && [ ! -e ps.reap-stats.json ] && grep -q '"file":	"reap-stats.json"' ps/reap.json &&
    ok "scored_statistics_kept_in_output" || bad "scored_statistics_kept_in_output"
check "verify_scored_prune_passes" "$REAP" verify src ps
check "scored_statistics_load_and_merge" "$REAP" merge ps/reap-stats.json -o single.json

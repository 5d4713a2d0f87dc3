#!/bin/sh
# e2e_eval.sh: `reap eval` on tiny synthesised checkpoints: a model against itself and against a
# --ratio 0 copy gives KL 0 and agreement 1; a what-if variant gives exactly the numbers of the
# checkpoint `reap prune` writes for it; mismatched models, statistics of another model, ratios out
# of range and a memory cap too small are refused naming the culprit; the JSON and SVG are written.
REAP=${REAP:-$PWD/build/reap}
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_eval.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

ok() { echo "PASS $1"; }
bad() { echo "FAIL $1"; }
check() { # name, then a command that must succeed
    name=$1
    shift
    if "$@" >"$T/out.log" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/    /' "$T/out.log" | tail -5; fi
}
expect_fail() { # NAME STATUS NEEDLE command...
    name=$1 want=$2 needle=$3
    shift 3
    "$@" >"$T/out.log" 2>&1
    rc=$?
    if [ "$rc" -eq "$want" ] && grep -qF -- "$needle" "$T/out.log"; then ok "$name"; else
        bad "$name (exit $rc, want $want and '$needle')"
        sed 's/^/    /' "$T/out.log" | tail -5
    fi
}
# flip FILE OFFSET: changes one byte in place. offset_of FILE NAME: where a tensor's bytes start.
flip() {
    v=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    n=$(( (v + 1) % 256 ))
    printf "$(printf '\\%03o' "$n")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
offset_of() {
    hlen=$(od -An -tu8 -N8 "$1" | tr -d ' ')
    b=$(head -c $((8 + hlen)) "$1" | tail -c "$hlen" | sed "s/.*\"$2\":{[^}]*\"data_offsets\":\\[\\([0-9]*\\),.*/\\1/")
    echo $((8 + hlen + b))
}
# variant_of JSON: the numbers of the only variant (from experts_kept to the end of the variant)
variant_of() { awk '/"experts_kept"/ {on = 1} on && /^\t\t}/ {exit} on' "$1"; }
# the value of the first "KEY": in JSON
value_of() { sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\\([^,]*\\),*\$/\\1/p" "$1" | head -1; }

ROWS="--rows 4 --seq-len 64 -t 2"
"$REAP" synth o --preset tiny -q >/dev/null 2>&1 || { bad "synth (setup)"; exit 1; }
"$REAP" synth other --preset tiny --seed 43 -q >/dev/null 2>&1 || { bad "synth other (setup)"; exit 1; }
"$REAP" score o $ROWS -o s.json -q || { bad "score (setup)"; exit 1; }

check "eval_self_runs" "$REAP" eval o o $ROWS -o self.json --svg self.svg
if [ "$(value_of self.json mean)" = 0 ] && [ "$(value_of self.json max)" = 0 ] &&
    [ "$(value_of self.json top1_agreement)" = 1 ] && [ "$(value_of self.json top1_out_of_top5)" = 0 ] &&
    [ "$(value_of self.json delta_ce)" = 0 ]; then ok "eval_self_gives_kl_0_agreement_1"; else
    bad "eval_self_gives_kl_0_agreement_1"; grep -E '"(mean|max|top1_agreement|delta_ce)"' self.json | head; fi
if grep -q '"code"' self.json && grep -q '"tools"' self.json; then ok "eval_heldout_splits_code_and_tools"; else
    bad "eval_heldout_splits_code_and_tools"; fi
if grep -q '^<svg ' self.svg && tail -1 self.svg | grep -q '^</svg>$' &&
    { ! command -v python3 >/dev/null || python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' self.svg; }
then ok "eval_svg_is_well_formed"; else bad "eval_svg_is_well_formed"; fi

"$REAP" prune o -o p0 --ratio 0 --scores s.json -q >/dev/null 2>&1
check "eval_ratio0_copy_runs" "$REAP" eval o p0 $ROWS -o p0.json
if [ "$(value_of p0.json mean)" = 0 ] && [ "$(value_of p0.json top1_agreement)" = 1 ]; then
    ok "eval_ratio0_copy_gives_kl_0"; else bad "eval_ratio0_copy_gives_kl_0"; fi

# the what-if variant and the checkpoint prune writes for it: the same numbers, bit for bit
"$REAP" prune o -o p50 --ratio 0.5 --criterion frequency --scores s.json -q >/dev/null 2>&1
check "eval_whatif_runs" "$REAP" eval o --scores s.json --ratio 0.5 --criterion frequency $ROWS -o w.json --svg w.svg
check "eval_checkpoint_runs" "$REAP" eval o p50 $ROWS -o c.json
variant_of w.json >w.var
variant_of c.json >c.var
if [ -s w.var ] && cmp -s w.var c.var && ! grep -q '"mean":[[:space:]]*0,' w.var; then
    ok "eval_whatif_equals_written_checkpoint_bitwise"; else
    bad "eval_whatif_equals_written_checkpoint_bitwise"; diff w.var c.var | head -10; fi
check "eval_whatif_several_ratios_and_criteria" "$REAP" eval o --scores s.json --ratio 0.25,0.5 \
    --criterion reap,frequency $ROWS --svg w4.svg -o w4.json
[ "$(grep -c '"experts_kept"' w4.json)" = 4 ] && ok "eval_whatif_four_variants" || bad "eval_whatif_four_variants"

# the random baseline: a seed picks the same experts in prune and in a what-if; another seed others
"$REAP" prune o -o pr7 --ratio 0.5 --criterion random:7 --scores s.json -q >/dev/null 2>&1
"$REAP" prune o -o pr7b --ratio 0.5 --criterion random:7 --scores s.json -q >/dev/null 2>&1
"$REAP" prune o -o pr8 --ratio 0.5 --criterion random:8 --scores s.json -q >/dev/null 2>&1
kept() { sed -n '/"layers"/,$p' "$1/reap.json" | grep -v saliency_mass_removed; }
if [ -f pr7/reap.json ] && [ "$(kept pr7)" = "$(kept pr7b)" ] && [ "$(kept pr7)" != "$(kept pr8)" ] &&
    grep -q '"criterion":[[:space:]]*"random:7"' pr7/reap.json; then ok "prune_random_seed_repeats_and_seeds_differ"
else bad "prune_random_seed_repeats_and_seeds_differ"; fi
check "eval_whatif_random_runs" "$REAP" eval o --scores s.json --ratio 0.5 --criterion random:7 $ROWS -o wr.json
check "eval_random_checkpoint_runs" "$REAP" eval o pr7 $ROWS -o cr.json
variant_of wr.json >wr.var
variant_of cr.json >cr.var
if [ -s wr.var ] && cmp -s wr.var cr.var; then ok "eval_whatif_random_seed_equals_prune_random_seed"
else bad "eval_whatif_random_seed_equals_prune_random_seed"; diff wr.var cr.var | head -10; fi
expect_fail "prune_refuses_bad_random_seed" 2 "random:x" "$REAP" prune o -o prx --ratio 0.5 --criterion random:x --scores s.json

# refusals
expect_fail "eval_old_json_file_form_points_to_o" 2 "-o old.json" "$REAP" eval o --json old.json $ROWS
expect_fail "eval_refuses_another_model" 1 "other: tensor" "$REAP" eval o other $ROWS
cp -r o o_mod
f=$(ls o_mod/*.safetensors | head -1)
name=$(head -c 100000 "$f" | grep -ao 'model\.layers\.0\.self_attn\.q_proj\.weight' | head -1)
[ -z "$name" ] && { f=$(ls o_mod/*.safetensors | tail -1); name=model.layers.0.self_attn.q_proj.weight; }
flip "$f" $(( $(offset_of "$f" "$name") + 3 ))
expect_fail "eval_refuses_changed_non_expert_weights" 1 "model.layers.0.self_attn.q_proj.weight differs" \
    "$REAP" eval o o_mod $ROWS
"$REAP" synth o3 --preset tiny --layers 3 -q >/dev/null 2>&1
"$REAP" score o3 $ROWS -o s_other.json -q || bad "score o3 (setup)"
expect_fail "eval_refuses_other_sizes" 1 "num_hidden_layers 3" "$REAP" eval o o3 $ROWS
expect_fail "eval_refuses_stats_of_another_model" 1 "s_other.json" "$REAP" eval o --scores s_other.json --ratio 0.5 $ROWS
expect_fail "eval_refuses_ratio_1" 2 "--ratio 1" "$REAP" eval o --scores s.json --ratio 0.5,1 $ROWS
expect_fail "eval_refuses_ratio_negative" 2 "--ratio -0.1" "$REAP" eval o --scores s.json --ratio=-0.1 $ROWS
expect_fail "eval_refuses_ratio_below_top_k" 2 "top-k" "$REAP" eval o --scores s.json --ratio 0.9 $ROWS
expect_fail "eval_refuses_too_little_memory" 1 "available (--mem)" "$REAP" eval o --scores s.json --ratio 0.25,0.5 \
    --mem 100KB $ROWS
expect_fail "eval_refuses_ratio_without_scores" 2 "--ratio needs --scores" "$REAP" eval o --ratio 0.5 $ROWS
expect_fail "eval_refuses_nothing_to_compare" 2 "give a pruned checkpoint" "$REAP" eval o $ROWS

# provenance: the model card in OUT/README.md, the source's card kept below it, verify still passes
check "prune_with_eval_runs" "$REAP" prune o -o pc --ratio 0.5 --criterion frequency --scores s.json --eval w.json -q
if grep -q '^| Criterion | frequency |' pc/README.md && grep -q '^| Statistics | sha256 `' pc/README.md &&
    grep -q "^## Evaluation against the source" pc/README.md && tail -c "$(wc -c <o/README.md)" pc/README.md | cmp -s - o/README.md
then ok "prune_writes_model_card_above_source_card"; else bad "prune_writes_model_card_above_source_card"; fi
check "verify_accepts_model_card" "$REAP" verify o pc
expect_fail "prune_refuses_eval_of_another_model" 1 "an evaluation of another model" \
    "$REAP" prune o3 -o pc3 --ratio 0.5 --scores s_other.json --eval w.json -q

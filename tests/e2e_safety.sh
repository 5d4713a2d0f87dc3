#!/bin/sh
# e2e_safety.sh: safety of the pruning decision (issue 14) on the real binary: statistics of some
# shards only are refused by prune (naming the file and the missing shards) unless --allow-partial;
# merge calls an incomplete set partial; eval's what-if accepts them with a warning; prune and report warn when the calibration is too small
# for the cut, and stay quiet for a well-covered run; report --ratio moves the heatmap's marks.
REAP=${REAP:-build/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_safety.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }
# run NAME WANT_STATUS command...: stdout+stderr in out.log; the status must be WANT_STATUS.
run() {
    name=$1 want=$2
    shift 2
    "$@" >out.log 2>&1
    rc=$?
    if [ "$rc" -eq "$want" ]; then return 0; fi
    bad "$name" "exit $rc, want $want: $(tail -2 out.log)"
    return 1
}
has() { grep -qF -- "$1" out.log; }

# One layer of the tiny preset: 16 experts, top-4. 16 rows of 512 tokens route every expert of it
# on at least 100 tokens (well covered); 1 row of 64 tokens does not.
"$REAP" synth m --preset tiny --layers 1 -q || { bad synth; exit 1; }
args="--device cpu --seq-len 512 --rows 16"
"$REAP" score m $args -o good.json -q || bad score_good
"$REAP" score m --device cpu --seq-len 64 --rows 1 -o small.json -q || bad score_small
for i in 0 1 2 3; do "$REAP" score m $args --shard $i/4 -o s$i.json -q || bad score_shard_$i; done

# ---- partial statistics
run prune_refuses_one_shard 1 "$REAP" prune m -o p --ratio 0.3 --scores s1.json &&
    { has "s1.json: partial statistics: 1 of 4 calibration shards, missing shards 0, 2-3" && [ ! -e p ] &&
        [ "$(wc -l <out.log)" -eq 1 ] && ok prune_refuses_one_shard || bad prune_refuses_one_shard "$(cat out.log)"; }
run merge_of_three_says_partial 0 "$REAP" merge s0.json s1.json s2.json -o m3.json &&
    { has "shards 3 of 4 (PARTIAL: missing 3)" && has "m3.json is partial" && [ -f m3.json ] &&
        ok merge_of_three_says_partial || bad merge_of_three_says_partial "$(cat out.log)"; }
run prune_refuses_merge_of_three 1 "$REAP" prune m -o p --ratio 0.3 --scores m3.json &&
    { has "m3.json: partial statistics: 3 of 4 calibration shards, missing shard 3" && [ ! -e p ] &&
        ok prune_refuses_merge_of_three || bad prune_refuses_merge_of_three "$(cat out.log)"; }
run prune_allow_partial 0 "$REAP" prune m -o p --ratio 0.3 --scores m3.json --allow-partial &&
    { has "pruning from partial statistics" && [ -f p/config.json ] && ok prune_allow_partial ||
        bad prune_allow_partial "$(cat out.log)"; }
run eval_whatif_accepts_partial_with_warning 0 "$REAP" eval m --scores s1.json --ratio 0.25 --rows 1 --seq-len 32 &&
    { has "s1.json: partial statistics (1 of 4 calibration shards, missing 0, 2-3)" &&
        ok eval_whatif_accepts_partial_with_warning || bad eval_whatif_accepts_partial_with_warning "$(cat out.log)"; }
run report_says_partial 0 "$REAP" report m3.json &&
    { has "PARTIAL: these statistics cover 3 of the 4 shards" && ok report_says_partial || bad report_says_partial; }
run merge_of_four_is_whole 0 "$REAP" merge s0.json s1.json s2.json s3.json -o m4.json &&
    { ! has "PARTIAL" && ! has "partial" && ok merge_of_four_is_whole || bad merge_of_four_is_whole "$(cat out.log)"; }
run prune_accepts_all_shards 0 "$REAP" prune m -o p4 --ratio 0.3 --scores m4.json &&
    { ! has "partial" && ok prune_accepts_all_shards || bad prune_accepts_all_shards "$(cat out.log)"; }

# ---- too little calibration for the cut
run prune_warns_small_calibration 0 "$REAP" prune m -o x --ratio 0.3 --scores small.json --dry-run &&
    { has "small.json: calibration may be too small for a cut of 4 of 16 experts per layer" &&
        has "saw fewer than 100 tokens" && ok prune_warns_small_calibration ||
        bad prune_warns_small_calibration "$(grep warning out.log)"; }
run prune_quiet_on_good_calibration 0 "$REAP" prune m -o x --ratio 0.3 --scores good.json --dry-run &&
    { ! has "too small" && ! has "equal saliencies" && ok prune_quiet_on_good_calibration ||
        bad prune_quiet_on_good_calibration "$(grep warning out.log)"; }
run report_warns_small_calibration 0 "$REAP" report small.json &&
    { has "WARNING: calibration may be too small" && has "!)" && ok report_warns_small_calibration ||
        bad report_warns_small_calibration; }
run report_quiet_on_good_calibration 0 "$REAP" report good.json &&
    { ! has "WARNING" && ! has "!)" && ok report_quiet_on_good_calibration || bad report_quiet_on_good_calibration; }
# The threshold is an option: at 1,000,000 tokens the good run is scarce too.
run min_tokens_option 0 "$REAP" prune m -o x --ratio 0.3 --scores good.json --dry-run --min-tokens 1000000 &&
    { has "fewer than 1000000 tokens" && ok min_tokens_option || bad min_tokens_option; }
# A cut among ties: the good file with 6 experts made never routed (saliency 0), cut by 4 of 16.
python3 - <<'PY' || bad make_tie_stats
import json
s = json.load(open("good.json"))
L = s["layers"][0]
for e in range(6):
    L["count"][e] = 0; L["gate_sum"][e] = 0; L["norm_sum"][e] = 0; L["reap_sum"][e] = 0; L["max_act"][e] = None
open("tie.json", "w").write(json.dumps(s))
PY
run prune_warns_cut_among_ties 0 "$REAP" prune m -o x --ratio 0.25 --scores tie.json --dry-run &&
    { has "the cut fell among equal saliencies" && has "layer 0: 4 of 6 experts at 0 dropped" &&
        ok prune_warns_cut_among_ties || bad prune_warns_cut_among_ties "$(grep warning out.log)"; }

# ---- heatmap: --ratio moves the marks (16 experts: 0.5 marks 8 per layer, the default 0.30 marks 4)
run report_svg_ratio 0 "$REAP" report good.json --svg h50.svg --ratio 0.5 &&
    [ "$(grep -c 'class="cut"' h50.svg)" -eq 8 ] && grep -q "pruned by a cut of 0.5 (8 of 16 per layer)" h50.svg &&
    ok report_svg_ratio || bad report_svg_ratio "$(grep -c 'class="cut"' h50.svg) marks"
run report_svg_default_ratio 0 "$REAP" report good.json --svg h30.svg &&
    [ "$(grep -c 'class="cut"' h30.svg)" -eq 4 ] && ok report_svg_default_ratio || bad report_svg_default_ratio
if command -v python3 >/dev/null; then
    python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' h50.svg && ok report_svg_well_formed ||
        bad report_svg_well_formed
fi
run report_ratio_out_of_range 2 "$REAP" report good.json --ratio 1 &&
    { has "--ratio" && ok report_ratio_out_of_range || bad report_ratio_out_of_range "$(cat out.log)"; }

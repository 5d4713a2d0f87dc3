#!/bin/sh
# e2e_trained.sh: the committed trained MoE (tests/trained: tools/train_moe.py on the Python standard
# library, FP8 MiniMax-M2 layout) through the product: inspect, score on its train files, prune,
# verify, and `reap eval` on its held-out files reproducing the numbers pinned from a CPU run
# (2026-12-06, build/t CUDA=0; the same to the last digit with 1 and 2 threads). The tolerance,
# 1e-6 relative, leaves room for another compiler's or CPU's rounding of the float32 forward pass,
# far below what a wrong expert, row or position changes (a one-expert difference moves the CE by
# ~1e-3). Also checks that on this model REAP at 25% costs less than a random choice.
REAP=${REAP:-$PWD/build/reap}
M=$PWD/tests/trained
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_trained.XXXXXX")
trap 'rm -rf "$T"' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }
check() { # name, then a command that must succeed
    name=$1
    shift
    if "$@" >"$T/out.log" 2>&1; then ok "$name"; else bad "$name" "$(tail -3 "$T/out.log")"; fi
}
# near NAME GOT WANT: relative difference at most 1e-6
near() {
    if awk -v g="$2" -v w="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(g != "" && d <= 1e-6 * (w < 0 ? -w : w) + 1e-12) }'
    then ok "$1"; else bad "$1" "got $2, pinned $3"; fi
}
# json FILE EXPR: a value of a JSON file (python3's json module; the test needs nothing else)
json() { python3 -c "import json,sys; d = json.load(open(sys.argv[1])); print(repr($2))" "$1" 2>/dev/null; }

check trained_inspect_accepts_checkpoint "$REAP" inspect "$M/ckpt"
check trained_score_on_train_files "$REAP" score "$M/ckpt" --device cpu --calib "$M/train.jsonl" --rows 4 --seq-len 256 \
    -o "$T/s.json" -q
check trained_prune_25 "$REAP" prune "$M/ckpt" --scores "$T/s.json" --ratio 0.25 -o "$T/p" -q
check trained_verify_pruned "$REAP" verify "$M/ckpt" "$T/p"
check trained_eval_whatif_on_heldout "$REAP" eval "$M/ckpt" --device cpu --scores "$T/s.json" --ratio 0.25 \
    --criterion reap,random:1 --calib "$M/heldout.jsonl" --rows 4 --seq-len 256 -o "$T/e.json" -q
near trained_eval_original_ce "$(json "$T/e.json" "d['reference']['ce']")" 2.9860462120096565
near trained_eval_reap25_ce "$(json "$T/e.json" "d['variants'][0]['ce']")" 3.0377223896829433
near trained_eval_reap25_kl "$(json "$T/e.json" "d['variants'][0]['kl']['mean']")" 0.20708148891285735
near trained_eval_reap25_top1 "$(json "$T/e.json" "d['variants'][0]['top1_agreement']")" 0.7627450980392156
near trained_eval_random25_kl "$(json "$T/e.json" "d['variants'][1]['kl']['mean']")" 0.46808681745334124
# the checkpoint prune wrote: the same numbers as its what-if variant
check trained_eval_checkpoint "$REAP" eval "$M/ckpt" "$T/p" --device cpu --calib "$M/heldout.jsonl" --rows 4 --seq-len 256 \
    -o "$T/c.json" -q
near trained_eval_checkpoint_equals_whatif "$(json "$T/c.json" "d['variants'][0]['kl']['mean']")" 0.20708148891285735
if awk -v a="$(json "$T/e.json" "d['variants'][0]['kl']['mean']")" -v b="$(json "$T/e.json" "d['variants'][1]['kl']['mean']")" \
    'BEGIN { exit !(a != "" && b != "" && a < b) }'; then ok trained_reap_costs_less_than_random
else bad trained_reap_costs_less_than_random; fi

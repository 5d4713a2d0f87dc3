#!/bin/sh
# demo.sh: the main job end to end, in about two minutes on 2 CPU cores, on the small MoE that
# tools/train_moe.py really trained (tests/trained: MiniMax-M2 architecture, 32 experts top-4, FP8,
# trained on Python standard library files): score it on its train files, evaluate what-if cuts in
# one pass (REAP against a random choice), prune 25% of the experts of every layer (the eval's
# numbers in its model card), verify the result, evaluate the checkpoint on held-out files, and
# show the saliency report. Then the same pipeline's first step on a synthesised model.
# Usage: sh examples/demo.sh [WORK_DIR]   (default: demo/ in the current directory)
# Environment: REAP (path to the reap binary, default build/reap).
set -eu
REAP=${REAP:-build/reap}
W=${1:-demo}
M=tests/trained/ckpt
TRAIN=tests/trained/train.jsonl
HELD=tests/trained/heldout.jsonl
[ -f "$M/config.json" ] || { echo "demo.sh: run it from the repository's root ($M is missing)" >&2; exit 1; }
mkdir -p "$W"
step() { printf '\n== %s\n' "$*"; }

step "1/7 the trained model ($M)"
"$REAP" inspect "$M"

step "2/7 score it on its train files ($W/scores.json)"
"$REAP" score "$M" --calib "$TRAIN" --seq-len 512 -o "$W/scores.json"

step "3/7 eval what-if on held-out files: REAP and a random choice at 25% and 50%, one pass, nothing written"
"$REAP" eval "$M" --scores "$W/scores.json" --ratio 0.25,0.5 --criterion reap,random:1 \
    --calib "$HELD" --seq-len 512 --worst 2 -o "$W/whatif.json" --svg "$W/whatif.svg"

step "4/7 prune 25% of the experts of every layer, 32 -> 24 ($W/trained-r25)"
"$REAP" prune "$M" -o "$W/trained-r25" --ratio 0.25 --scores "$W/scores.json" --eval "$W/whatif.json" --force

step "5/7 verify the pruned checkpoint against its source"
"$REAP" verify "$M" "$W/trained-r25"

step "6/7 eval the checkpoint on the held-out files (the same numbers as its what-if variant reap@0.25)"
"$REAP" eval "$M" "$W/trained-r25" --calib "$HELD" --seq-len 512 --worst 2 -o "$W/eval.json" --svg "$W/eval.svg"

step "7/7 saliency report ($W/report.csv, $W/heatmap.svg) and a synthesised model in the same format"
"$REAP" report "$W/scores.json" --top 3 --ratio 0.25 --csv "$W/report.csv" --svg "$W/heatmap.svg"
"$REAP" synth "$W/small" --preset small --force -q
"$REAP" inspect "$W/small" | tail -5
printf '\ndone: pruned checkpoint in %s (model card in its README.md), eval in %s, heatmap in %s\n' "$W/trained-r25" \
    "$W/eval.json" "$W/heatmap.svg"

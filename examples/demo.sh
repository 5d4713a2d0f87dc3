#!/bin/sh
# demo.sh: the main job end to end on a synthesised model, in a few minutes on 2 CPU cores:
#   synthesise the `small` MiniMax-M2-format model, score it with the built-in calibration set,
#   evaluate what-if ratios in one pass, prune 30% of the experts of every layer (the eval's numbers
#   in its model card), verify the result, evaluate the checkpoint, and show the saliency report.
# Usage: sh examples/demo.sh [WORK_DIR]   (default: demo/ in the current directory)
# Environment: REAP (path to the reap binary, default build/reap).
set -eu
REAP=${REAP:-build/reap}
W=${1:-demo}
mkdir -p "$W"
step() { printf '\n== %s\n' "$*"; }

step "1/7 synthesise the small model ($W/small)"
"$REAP" synth "$W/small" --preset small --force
"$REAP" inspect "$W/small"

step "2/7 score it with the built-in calibration set ($W/scores.json)"
"$REAP" score "$W/small" -o "$W/scores.json"

step "3/7 eval what-if: ratios 0.25 to 0.50 for two criteria in one pass, nothing written ($W/whatif.json)"
"$REAP" eval "$W/small" --scores "$W/scores.json" --ratio 0.25,0.30,0.40,0.50 --criterion reap,frequency \
    --rows 8 --seq-len 512 --worst 2 -o "$W/whatif.json" --svg "$W/whatif.svg"

step "4/7 prune 30% of the experts of every layer ($W/small-pruned)"
"$REAP" prune "$W/small" -o "$W/small-pruned" --ratio 0.30 --scores "$W/scores.json" --eval "$W/whatif.json" --force

step "5/7 verify the pruned checkpoint against its source"
"$REAP" verify "$W/small" "$W/small-pruned"

step "6/7 eval the checkpoint (the same numbers as its what-if variant reap@0.3)"
"$REAP" eval "$W/small" "$W/small-pruned" --rows 8 --seq-len 512 --worst 2 -o "$W/eval.json" --svg "$W/eval.svg"

step "7/7 saliency report ($W/report.csv, $W/heatmap.svg)"
"$REAP" report "$W/scores.json" --top 5 --csv "$W/report.csv" --svg "$W/heatmap.svg"
"$REAP" inspect "$W/small-pruned"
printf '\ndone: pruned checkpoint in %s (model card in its README.md), eval in %s, heatmap in %s\n' "$W/small-pruned" \
    "$W/eval.json" "$W/heatmap.svg"

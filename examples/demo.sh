#!/bin/sh
# demo.sh: the main job end to end on a synthesised model, in a few minutes on 2 CPU cores:
#   synthesise the `small` MiniMax-M2-format model, score it with the built-in calibration set,
#   prune 30% of the experts of every layer, verify the result, and show the saliency report.
# Usage: sh examples/demo.sh [WORK_DIR]   (default: demo/ in the current directory)
# Environment: REAP (path to the reap binary, default build/reap).
set -eu
REAP=${REAP:-build/reap}
W=${1:-demo}
mkdir -p "$W"
step() { printf '\n== %s\n' "$*"; }

step "1/5 synthesise the small model ($W/small)"
"$REAP" synth "$W/small" --preset small --force
"$REAP" inspect "$W/small"

step "2/5 score it with the built-in calibration set ($W/scores.json)"
"$REAP" score "$W/small" -o "$W/scores.json"

step "3/5 prune 30% of the experts of every layer ($W/small-pruned)"
"$REAP" prune "$W/small" -o "$W/small-pruned" --ratio 0.30 --scores "$W/scores.json" --force

step "4/5 verify the pruned checkpoint against its source"
"$REAP" verify "$W/small" "$W/small-pruned"

step "5/5 saliency report ($W/report.csv, $W/heatmap.svg)"
"$REAP" report "$W/scores.json" --top 5 --csv "$W/report.csv" --svg "$W/heatmap.svg"
"$REAP" inspect "$W/small-pruned"
printf '\ndone: pruned checkpoint in %s, heatmap in %s\n' "$W/small-pruned" "$W/heatmap.svg"

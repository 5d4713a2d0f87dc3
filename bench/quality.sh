#!/bin/sh
# quality.sh: what pruning costs the trained MoE (tests/trained, issue 12 item 5), by criterion and
# ratio, through the product only: `reap score` on calibration data, then one `reap eval` what-if
# pass per statistics file over every (criterion, ratio), on the held-out files of the model's own
# split (never its training files).
#
#   sh bench/quality.sh [WORKDIR]      (default /tmp/reap-quality; REAP default build/reap)
#
# Runs (SEQ_LEN tokens per row, default 512; calibration: every row its data fills):
#   A  calibration = the model's train files (tests/trained/train.jsonl), --router model:
#      criteria reap, frequency, weighted-frequency, ean-mean, random:1, random:2, random:3
#   B  calibration = reap's built-in set (code + tool calling chat), --router model: reap, frequency
#   C  calibration = train files, --router softmax-renorm statistics: reap, frequency
# each at ratios 0.25, 0.30, 0.40, 0.50 of 32 experts (drop 8, 9, 12, 16 per layer).
# Prints one Markdown table (columns: delta of held-out cross-entropy, perplexity ratio, mean
# KL(original || pruned) in nats per position, top-1 agreement with the original) and keeps every
# JSON result in WORKDIR. bench/quality.py (standard library only) reads the JSON files.
set -e
REAP=${REAP:-$PWD/build/reap}
W=${1:-/tmp/reap-quality}
SEQ_LEN=${SEQ_LEN:-512}
M=tests/trained/ckpt
TRAIN=tests/trained/train.jsonl
HELD=tests/trained/heldout.jsonl
RATIOS=0.25,0.3,0.4,0.5
mkdir -p "$W"
run() { # NAME CALIB ROUTER CRITERIA
    "$REAP" score "$M" --device cpu --calib "$2" --router "$3" --seq-len "$SEQ_LEN" -o "$W/$1.scores.json" -q
    "$REAP" eval "$M" --device cpu --scores "$W/$1.scores.json" --ratio "$RATIOS" --criterion "$4" \
        --calib "$HELD" --seq-len "$SEQ_LEN" -o "$W/$1.eval.json" -q
}
t0=$(date +%s)
run A "$TRAIN" model reap,frequency,weighted-frequency,ean-mean,random:1,random:2,random:3
run B builtin model reap,frequency
run C "$TRAIN" softmax-renorm reap,frequency
echo "# $(date -u '+%F %H:%M UTC'), $(uname -n), $(nproc) cores, reap $("$REAP" --version | head -1), $(($(date +%s) - t0)) s"
python3 "$(dirname "$0")/quality.py" "$W/A.eval.json" "$W/B.eval.json" "$W/C.eval.json"

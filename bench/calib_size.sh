#!/bin/sh
# calib_size.sh: how many calibration tokens per expert REAP statistics need to be stable.
# Scores MODEL_DIR with increasing calibration sizes and compares each run with a reference run on
# disjoint data: the reference is shard 1/2 of the packed set (the odd rows); each size N is scored
# REPS times on N even rows, replicate j taking rows 2j, 2j + 2 REPS, ... (`--shard 2j/2REPS --rows
# 2 REPS N`: disjoint from the reference and from each other); the last run is all of shard 0/2 (two
# disjoint halves: the noise floor at this data size). Every run goes through the
# product: `reap score`, then `reap report --csv` (its ranks and its 30% pruned flags); the
# comparison (bench/calib_size.py, Python standard library only) only reads those CSV files.
#
#   sh bench/calib_size.sh MODEL_DIR [WORKDIR] [ROWS...]
#   (default WORKDIR /tmp/reap-calib-size, ROWS 1 2 4 8 16 32; the largest must fit REPS times in
#   half the packed set: `reap calib MODEL_DIR --seq-len 512` prints its rows)
#
# REPS (default 4), SEQ_LEN (default 512: short rows give fine steps at small sizes), SCORE_ARGS (extra `reap score`
# options, e.g. "--device cpu" or "--calib mydata.jsonl"), REAP (default build/reap).
# Prints two tables: per run (tokens per expert, experts under 10 / 100 tokens, agreement of the 30%
# pruned set and Spearman rank correlation of the saliencies with the reference), and per bin of an
# expert's token count in the small run (relative error of its REAP saliency against the
# reference, share of experts whose 30% pruned/kept status differs).
set -e
REAP=${REAP:-$PWD/build/reap}
[ $# -ge 1 ] || { echo "usage: sh bench/calib_size.sh MODEL_DIR [WORKDIR] [ROWS...]" >&2; exit 2; }
MODEL=$1
W=${2:-/tmp/reap-calib-size}
shift
[ $# -ge 1 ] && shift
ROWS=${*:-1 2 4 8 16 32}
SEQ_LEN=${SEQ_LEN:-512}
REPS=${REPS:-4}
mkdir -p "$W"
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC2086
score() { "$REAP" score "$MODEL" --seq-len "$SEQ_LEN" $SCORE_ARGS -q "$@"; }
echo "model $MODEL, seq_len $SEQ_LEN, $REPS replicates, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $("$REAP" --version)"
t0=$(date +%s)
score --shard 1/2 -o "$W/ref.json"
"$REAP" report "$W/ref.json" --top 0 --csv "$W/ref.csv" -q >/dev/null
runs=
for n in $ROWS; do
    j=0
    while [ $j -lt "$REPS" ]; do
        score --shard $((2 * j))/$((2 * REPS)) --rows $((2 * REPS * n)) -o "$W/rows-$n-r$j.json"
        "$REAP" report "$W/rows-$n-r$j.json" --top 0 --csv "$W/rows-$n-r$j.csv" -q >/dev/null
        runs="$runs $W/rows-$n-r$j.csv"
        j=$((j + 1))
    done
done
score --shard 0/2 -o "$W/half.json"
"$REAP" report "$W/half.json" --top 0 --csv "$W/half.csv" -q >/dev/null
echo "scored in $(( $(date +%s) - t0 )) s"
python3 "$here/calib_size.py" "$W/ref.csv" $runs "$W/half.csv"

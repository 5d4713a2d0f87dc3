#!/bin/sh
# submit.sh: score the calibration set in 8 GPU shards, then merge, report, prune and verify.
#   MODEL=/models/MiniMax-M2 RUN=/scratch/$USER/reap ./submit.sh
# Everything is passed to the jobs through the environment (--export=ALL). Change the shard
# count with --array in score_array.sbatch; nothing else depends on it.
set -eu
: "${MODEL:?set MODEL=/path/to/MiniMax-M2}"
cd "$(dirname "$0")"
jid=$(sbatch --parsable --export=ALL score_array.sbatch)
jid=${jid%%;*}
sbatch --export=ALL --dependency=afterok:"$jid" merge_prune.sbatch
echo "submitted scoring array $jid and its merge-and-prune job"

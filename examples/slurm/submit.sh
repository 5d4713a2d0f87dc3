#!/bin/sh
# submit.sh: score a model in SHARDS Slurm array tasks (score_array.sbatch), then merge, report,
# prune and verify in one job that starts when every task has ended (merge_prune.sbatch).
#
#   MODEL=/models/MiniMax-M2 RUN=/scratch/$USER/m2 GPUS=1 sh submit.sh --account=proj --partition=gpu
#
# Every setting is an environment variable; the arguments are sbatch options for both jobs (account,
# partition, qos, ...). Everything is checked here, before anything is queued: sbatch, the reap
# binary, the model, the calibration set and that it fills at least SHARDS rows.
#
# What the run is (fixed when RUN is first used, recorded in RUN/run.env; a later submit.sh with the
# same RUN must not change them):
#   MODEL      checkpoint directory (required; a relative path is made absolute)
#   SHARDS     array tasks, each scoring rows I, I+SHARDS, ... of the set (default 4)
#   CALIB      calibration sources, space-separated `reap score --calib` specs (default builtin)
#   ROWS       rows of the whole set (default: as many as the samples fill)
#   SEQ_LEN    tokens per row (default 2048); SEED (default 42)
#   SCORE_ARGS more `reap score` options, e.g. "--router softmax-renorm"
# What is done with it (may change between submissions):
#   RUN        directory for everything the run writes (default ./reap-run), made absolute; it must be
#              on storage that every node sees. RUN/logs/score-shard-I.log, RUN/logs/merge.log,
#              RUN/shards/, RUN/work/ (per-shard resume state), RUN/scores.json, RUN/report.txt ...
#   RATIO      share of experts pruned per layer (default 0.30); OUT (default RUN/<model>-REAP-30)
#   PRUNE_ARGS more `reap prune` options, e.g. "--align 8"
#   REAP       the reap binary, or a bundle directory (`make bundle`: dist/reap) holding bin/reap;
#              default: the bundle beside these examples (../../dist/reap) if built, else reap on PATH.
#              It must be on storage that every node sees.
# Resources (empty: leave it to the cluster's defaults; sbatch's own SBATCH_* input variables apply):
#   GPUS       per scoring task: N or TYPE:N, asked as --gres=gpu:GPUS; reap then uses every GPU it
#              was given (default: none, and the tasks score on the CPU)
#   CPUS       CPUs per scoring task (default 8; reap runs that many threads); MEM (default 32G);
#              TIME (default: the partition's); MAX_RUNNING: at most this many tasks at once
#   MERGE_CPUS (default 4), MERGE_MEM (default 8G), MERGE_TIME: the merge-and-prune job (no GPU)
#   SCORE_SBATCH, MERGE_SBATCH: more sbatch options for one of the two jobs only
#
# Running it again with the same RUN is safe: shards already scored, or still queued or running, are
# not submitted again; the others are (a task that failed, was cancelled, or never ran), then a new
# merge job (replacing one still pending). With every shard scored it only merges and prunes again.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
die() {
    echo "submit: $*" >&2
    exit 1
}
abspath() { # a path made absolute against the current directory
    case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac
}

command -v sbatch >/dev/null 2>&1 || die "sbatch not found: run this on a Slurm login node"
command -v squeue >/dev/null 2>&1 || die "squeue not found: run this on a Slurm login node"

# --- the reap binary: REAP (binary or bundle directory), the bundle beside the examples, or PATH
if [ -n "${REAP:-}" ]; then
    [ -d "$REAP" ] && REAP=$REAP/bin/reap
    [ -f "$REAP" ] || die "REAP=$REAP: no such file (give the reap binary or a bundle directory with bin/reap)"
elif [ -x "$here/../../dist/reap/bin/reap" ]; then
    REAP=$(cd "$here/../../dist/reap/bin" && pwd)/reap
else
    REAP=$(command -v reap 2>/dev/null) ||
        die "reap not found: set REAP to the binary or to a bundle (make bundle: dist/reap) on shared storage, or put reap on PATH"
fi
REAP=$(abspath "$REAP")
"$REAP" --version >/dev/null 2>&1 || die "$REAP does not run here ($("$REAP" --version 2>&1 | head -1))"

# --- the run
: "${MODEL:?set MODEL=/path/to/checkpoint}"
[ -f "$MODEL/config.json" ] || die "MODEL=$MODEL: no config.json there"
MODEL=$(cd "$MODEL" && pwd)
SHARDS=${SHARDS:-4}
CALIB=${CALIB:-builtin}
ROWS=${ROWS:-}
SEQ_LEN=${SEQ_LEN:-2048}
SEED=${SEED:-42}
SCORE_ARGS=${SCORE_ARGS:-}
RATIO=${RATIO:-0.30}
PRUNE_ARGS=${PRUNE_ARGS:-}
case "$SHARDS" in '' | *[!0-9]* | 0*) die "SHARDS=$SHARDS: want a positive integer" ;; esac
case "$ROWS" in *[!0-9]* | 0*) die "ROWS=$ROWS: want a positive integer (or unset: as many as the set fills)" ;; esac
awk -v r="$RATIO" 'BEGIN { exit !(r ~ /^(0|0?\.[0-9]+)$/ && r + 0 < 1) }' || die "RATIO=$RATIO: want a number in [0, 1)"
# Relative calibration paths are made absolute (the tasks run in RUN); builtin/heldout specs are kept.
calib=""
for c in $CALIB; do
    case "$c" in builtin | builtin:* | heldout | heldout:* | /*) ;; *) c=$PWD/$c ;; esac
    calib="$calib${calib:+ }$c"
done
CALIB=$calib

RUN=$(abspath "${RUN:-reap-run}")
pct=$(awk -v r="$RATIO" 'BEGIN { printf "%g", r * 100 }')
OUT=$(abspath "${OUT:-$RUN/$(basename "$MODEL")-REAP-$pct}")
if [ -e "$OUT" ] && [ ! -f "$OUT/reap.json" ]; then
    die "OUT=$OUT exists and is not a checkpoint written by reap prune (no reap.json): choose another OUT"
fi

# The model and the calibration set, checked here rather than in the queue: the checkpoint's layout,
# and that the set fills at least one row per shard (packing as `reap score` packs).
"$REAP" inspect "$MODEL" >/dev/null || die "MODEL=$MODEL: not a checkpoint reap can read (above)"
calib_args=""
for c in $CALIB; do calib_args="$calib_args --calib $c"; done
# shellcheck disable=SC2086 # word lists by design
packed=$("$REAP" calib "$MODEL" $calib_args --seq-len "$SEQ_LEN" --seed "$SEED" ${ROWS:+--rows "$ROWS"} 2>&1) ||
    die "the calibration set does not load: $(echo "$packed" | tail -1)"
rows=$(echo "$packed" | sed -n 's/^rows: \([0-9]*\).*/\1/p')
[ -n "$rows" ] || die "could not read the row count from reap calib: $(echo "$packed" | tail -1)"
[ "$rows" -ge "$SHARDS" ] || die "the calibration set fills $rows rows of $SEQ_LEN tokens, fewer than SHARDS=$SHARDS"
if [ -n "$ROWS" ] && [ "$rows" -lt "$ROWS" ]; then
    echo "submit: note: the calibration set fills $rows rows, fewer than ROWS=$ROWS; scoring $rows"
fi

# --- RUN/run.env: what the job scripts read. The settings that decide the statistics must not change.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
fixed() {
    for v in MODEL SHARDS CALIB ROWS SEQ_LEN SEED SCORE_ARGS; do
        eval "echo \"$v=\$(q \"\$$v\")\""
    done
}
mkdir -p "$RUN/logs" "$RUN/shards" "$RUN/work" || die "cannot create $RUN"
if [ -f "$RUN/run.env" ]; then
    # shellcheck disable=SC1091
    old=$(. "$RUN/run.env" && fixed)
    new=$(fixed)
    if [ "$old" != "$new" ]; then
        echo "submit: $RUN was started with other settings (RUN/run.env); use the same ones or another RUN:" >&2
        echo "$old" | while read -r line; do echo "$new" | grep -qxF "$line" || echo "  was: $line" >&2; done
        echo "$new" | while read -r line; do echo "$old" | grep -qxF "$line" || echo "  now: $line" >&2; done
        exit 1
    fi
fi
if [ -n "${GPUS:-}" ] && [ "$GPUS" != 0 ]; then device=cuda; else device=cpu; fi
{
    echo "# written by examples/slurm/submit.sh on $(date '+%F %T'); read by the job scripts"
    fixed
    for v in RATIO OUT PRUNE_ARGS REAP; do eval "echo \"$v=\$(q \"\$$v\")\""; done
    echo "DEVICE=$device"
} >"$RUN/run.env.tmp"
mv "$RUN/run.env.tmp" "$RUN/run.env"

# --- which shards to submit: not scored yet, and not pending or running in a job of this RUN
# RUN/jobs lists the jobs submitted for this RUN. Array indices of a job that have not ended (pending,
# running, suspended, requeued, held ...; a job the controller has forgotten is not listed):
not_ended() {
    squeue -h -r -t all -j "$1" -o '%K %T' 2>/dev/null | awk '$2 !~ /^(COMPLETED|CANCELLED|FAILED|TIMEOUT|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE|OUT_OF_MEMORY|REVOKED)$/ { print $1 }' | tr '\n' ' '
}
queued=""
deps=""
merge_queued=""
if [ -f "$RUN/jobs" ]; then
    for id in $(awk '$1 == "score" { print $2 }' "$RUN/jobs"); do
        tasks=$(not_ended "$id")
        if [ -n "$tasks" ]; then queued="$queued $tasks" deps="$deps:$id"; fi
    done
    for id in $(awk '$1 == "merge" { print $2 }' "$RUN/jobs"); do
        if [ -n "$(not_ended "$id")" ]; then merge_queued="$merge_queued $id"; fi
    done
fi
todo=""
waiting=""
i=0
while [ "$i" -lt "$SHARDS" ]; do
    if [ -f "$RUN/shards/scores.shard-$i-of-$SHARDS.json" ]; then :
    elif echo " $queued " | grep -q " $i "; then waiting="$waiting $i"
    else todo="$todo${todo:+,}$i"
    fi
    i=$((i + 1))
done

# --- submit (unset resource variables take the defaults above; set but empty, the cluster's)
cpus=${CPUS-8} mem=${MEM-32G} merge_cpus=${MERGE_CPUS-4} merge_mem=${MERGE_MEM-8G}
if [ -n "$todo" ]; then
    gpu_opt=""
    [ "$device" = cuda ] && gpu_opt="--gres=gpu:$GPUS"
    # shellcheck disable=SC2086 # option lists by design
    jid=$(sbatch --parsable --job-name=reap-score --array="$todo${MAX_RUNNING:+%$MAX_RUNNING}" --chdir="$RUN" \
        --output="$RUN/logs/score-shard-%a.log" --open-mode=append --requeue \
        ${cpus:+--cpus-per-task=$cpus} ${mem:+--mem=$mem} ${TIME:+--time=$TIME} $gpu_opt \
        ${SCORE_SBATCH:-} "$@" "$here/score_array.sbatch" "$RUN") || die "sbatch of the scoring array failed"
    jid=${jid%%;*}
    echo "score $jid" >>"$RUN/jobs"
    deps="$deps:$jid"
    echo "submit: scoring array $jid: shards $todo of $SHARDS (logs $RUN/logs/score-shard-I.log)"
fi
if [ -n "$waiting" ]; then echo "submit: shards$waiting of $SHARDS already queued or running; not submitted again"; fi
if [ -n "$merge_queued" ] && [ -z "$todo" ]; then
    echo "submit: merge job$merge_queued already queued; not submitted again"
    exit 0
fi
# afterany, not afterok: a task that was requeued, or failed and is scored again by a later
# submission, would leave an afterok dependency unsatisfiable forever. The merge job checks that
# every shard is there itself.
# shellcheck disable=SC2086
mid=$(sbatch --parsable --job-name=reap-merge ${deps:+--dependency=afterany$deps} --chdir="$RUN" \
    --output="$RUN/logs/merge.log" --open-mode=append \
    ${merge_cpus:+--cpus-per-task=$merge_cpus} ${merge_mem:+--mem=$merge_mem} ${MERGE_TIME:+--time=$MERGE_TIME} \
    ${MERGE_SBATCH:-} "$@" "$here/merge_prune.sbatch" "$RUN") || die "sbatch of the merge job failed"
mid=${mid%%;*}
echo "merge $mid" >>"$RUN/jobs"
# An earlier merge job still pending would start before the new shards are scored: this one replaces it.
for id in $merge_queued; do
    if [ "$(squeue -h -j "$id" -o %T 2>/dev/null)" = PENDING ] && scancel "$id"; then
        echo "submit: cancelled the earlier merge job $id (still pending; job $mid replaces it)"
    fi
done
echo "submit: merge-and-prune job $mid${deps:+ after job(s) $(echo "${deps#:}" | tr ':' ' ')} (log $RUN/logs/merge.log) -> $OUT"

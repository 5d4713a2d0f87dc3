#!/bin/sh
# e2e_slurm.sh: examples/slurm on a real single-node Slurm (Debian's slurmctld, slurmd and munge,
# which `make deps` installs), started here as root from a slurm.conf and a munge key in a temporary
# directory (nothing in /etc is read or written) and stopped at the end. The example scripts run
# unchanged, configured only by environment variables, on a tiny synthesised model on the CPU, with
# the relocatable bundle as the reap binary:
# - submit-time refusals (no reap, no model, more shards than rows) queue nothing;
# - an array of 4 shards; submit.sh again at once submits nothing twice;
# - task 1 is requeued (`scontrol requeue`) and task 3 cancelled, each after finishing a layer; the
#   merge job waits for the requeued task, which resumes from its work dir, then runs on its own and
#   refuses the incomplete set, naming shard 3;
# - submit.sh again scores only shard 3, which resumes from its work dir, and merges: the statistics
#   equal an unsharded `reap score` (counts identical, sums within 1e-12), the pruned checkpoint
#   verifies and equals the one pruned from the unsharded statistics;
# - submit.sh again only merges again; a task submitted by hand is its shard; other settings for
#   the same RUN are refused; GPUS=1 asks one GPU per task (a pretend one: gres.conf on /dev/null).
# SKIPs, saying why, where Slurm cannot be started (not root, packages missing, /dev/null not a
# device, a daemon that does not come up). Prints its run time.
REAP=${REAP:-build/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
BUILD=${BUILD:-build}
DIFF=$PWD/$BUILD/tests/tool_statsdiff
EX=$PWD/examples/slurm
PATH=$PATH:/usr/sbin:/sbin
export PATH
skip() {
    echo "SKIP e2e_slurm: $*"
    exit 0
}
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }

[ "$(id -u)" -eq 0 ] || skip "starting slurmctld, slurmd and munged needs root"
for c in munged slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
    command -v "$c" >/dev/null 2>&1 || skip "$c not installed (make deps installs slurmctld, slurmd, slurm-client, munge)"
done
[ -c /dev/null ] || skip "/dev/null is not a character device here, so munged refuses to start"
# The test's own cluster only: no site settings, no job context of an enclosing Slurm job.
for v in $(env | sed -n 's/^\(SLURM_[A-Za-z0-9_]*\|SBATCH_[A-Za-z0-9_]*\|SQUEUE_[A-Za-z0-9_]*\)=.*/\1/p'); do
    unset "$v"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_slurm.XXXXXX")
chmod 755 "$T"  # munged wants its socket's directories searchable by all
cleanup() {
    if [ -f "$T/slurmctld.pid" ]; then
        scancel --quiet --user=root 2>/dev/null
        n=0
        while [ $n -lt 40 ] && [ -n "$(squeue -h 2>/dev/null)" ]; do sleep 0.25; n=$((n + 1)); done
    fi
    for f in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munge/munged.pid"; do
        [ -f "$f" ] || continue
        p=$(cat "$f")
        kill "$p" 2>/dev/null
        n=0
        while [ $n -lt 40 ] && kill -0 "$p" 2>/dev/null; do sleep 0.25; n=$((n + 1)); done
        kill -9 "$p" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- munge with its own key and socket
mkdir -p "$T/munge" "$T/key"
chmod 755 "$T/munge"
chmod 700 "$T/key"
dd if=/dev/urandom of="$T/key/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$T/key/munge.key"
if ! munged --key-file="$T/key/munge.key" --socket="$T/munge/munge.socket" --pid-file="$T/munge/munged.pid" \
    --log-file="$T/munge/munged.log" --seed-file="$T/munge/munged.seed" 2>"$T/munged.err"; then
    skip "munged does not start here: $(tail -1 "$T/munged.err")"
fi

# --- slurm.conf: this host as the controller and one node with 4 CPUs (more than a 2-core CI
# machine has: config_overrides), free ports, state and logs under $T.
free_port() { # a TCP port p with p and p+1 not listening
    p=$((20000 + ($$ * 7 + $1) % 30000))
    while grep -qiE ":($(printf %04X $p)|$(printf %04X $((p + 1)))) " /proc/net/tcp /proc/net/tcp6 2>/dev/null; do
        p=$((p + 2))
    done
    echo $p
}
port=$(free_port 0)
node=$(hostname -s)
mkdir -p "$T/etc" "$T/state" "$T/spool" "$T/log"
cat >"$T/etc/slurm.conf" <<EOF
ClusterName=reaptest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.socket,cred_expire=5
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
KillWait=5
MinJobAge=600
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName=$node NodeAddr=127.0.0.1 CPUs=4 RealMemory=2048 Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
# One pretend GPU (no device behind it, /dev/null): lets the test see what a GPUS=1 submission asks for.
echo "NodeName=$node Name=gpu File=/dev/null" >"$T/etc/gres.conf"
SLURM_CONF=$T/etc/slurm.conf
export SLURM_CONF
slurmctld -f "$SLURM_CONF" >"$T/slurmctld.err" 2>&1 ||
    skip "slurmctld does not start: $(tail -1 "$T/slurmctld.err") $(grep -i fatal "$T/log/slurmctld.log" | tail -1)"
slurmd -f "$SLURM_CONF" -N "$node" >"$T/slurmd.err" 2>&1 ||
    skip "slurmd does not start: $(tail -1 "$T/slurmd.err") $(grep -i fatal "$T/log/slurmd.log" | tail -1)"
n=0
while [ $n -lt 120 ] && [ "$(sinfo -h -n "$node" -o %T 2>/dev/null)" != idle ]; do sleep 0.25; n=$((n + 1)); done
[ "$(sinfo -h -n "$node" -o %T 2>/dev/null)" = idle ] ||
    skip "the Slurm node did not come up: $(sinfo -h -o '%T %E' 2>&1 | head -1); $(grep -iE 'error|fatal' "$T/log/slurmd.log" | tail -1)"
echo "slurm: controller and node $node up on ports $port-$((port + 1)) (config $SLURM_CONF)"

# --- helpers
state() { # JOB or JOB_TASK -> its state (PENDING, RUNNING, COMPLETED, ...)
    scontrol show job -o "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1
}
wait_done() { # JOB SECONDS: wait until the job has ended; prints its state
    n=0
    while [ $n -lt $(($2 * 4)) ]; do
        s=$(state "$1")
        case "$s" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
            echo "$s"
            return
            ;;
        esac
        if scontrol show job -o "$1" 2>/dev/null | grep -q 'Reason=DependencyNeverSatisfied'; then
            echo "$s (DependencyNeverSatisfied)"
            return
        fi
        sleep 0.25
        n=$((n + 1))
    done
    echo "still $(state "$1") after $2 s"
}
# Jobs known to the controller, an array counted once: `squeue -h | wc -l` is not stable, since a
# pending array is one line until its tasks start and then one line per running task.
njobs() { squeue -h -o %F | sort -u | wc -l; }
job_of() { awk -v k="$1" '$1 == k { id = $2 } END { print id }' "$2/jobs"; }

# --- a relocatable reap on "shared storage", a tiny model, the unsharded reference
sh examples/bundle.sh "$REAP" "$T/shared/reap" >"$T/bundle.log" 2>&1 || { bad bundle "$(tail -2 "$T/bundle.log")"; exit 1; }
mkdir -p "$T/models"
"$REAP" synth "$T/models/tiny4" --preset tiny --layers 4 -q || { bad synth; exit 1; }
calib="--rows 32 --seq-len 256 --seed 42"
# shellcheck disable=SC2086
"$REAP" score "$T/models/tiny4" $calib --device cpu --threads 1 -q -o "$T/unsharded.json" || { bad unsharded_score; exit 1; }
"$REAP" prune "$T/models/tiny4" -o "$T/unsharded-REAP-30" --ratio 0.30 --scores "$T/unsharded.json" -q ||
    { bad unsharded_prune; exit 1; }

# The user's side: a working directory with relative MODEL and RUN, everything else by variables.
# The score tasks sleep 1.5 s after each layer (REAP_TEST_SLOW_MS, through sbatch's --export) so that
# one can be requeued mid-run.
mkdir -p "$T/home/models"
ln -s "$T/models/tiny4" "$T/home/models/tiny4"
cd "$T/home" || exit 1
submit() {
    env MODEL=models/tiny4 RUN=run REAP="$T/shared/reap" SHARDS=4 ROWS=32 SEQ_LEN=256 RATIO=0.3 \
        CPUS=1 MEM=256M MERGE_CPUS=1 MERGE_MEM=256M SCORE_SBATCH=--export=ALL,REAP_TEST_SLOW_MS=1500 "$@" \
        sh "$EX/submit.sh"
}
RUN=$T/home/run

# --- refused at submit time, nothing queued
before=$(njobs)
if submit REAP="$T/shared/nowhere" >"$T/o" 2>&1; then bad submit_refuses_missing_reap "submitted"
elif grep -q "REAP=$T/shared/nowhere: no such file" "$T/o" && [ "$(njobs)" -eq "$before" ]; then ok submit_refuses_missing_reap_before_queueing
else bad submit_refuses_missing_reap_before_queueing "$(cat "$T/o")"; fi
if submit MODEL=models/none >"$T/o" 2>&1; then bad submit_refuses_missing_model "submitted"
elif grep -q "MODEL=models/none: no config.json" "$T/o" && [ "$(njobs)" -eq "$before" ]; then ok submit_refuses_missing_model
else bad submit_refuses_missing_model "$(cat "$T/o")"; fi
if submit SHARDS=40 >"$T/o" 2>&1; then bad submit_refuses_more_shards_than_rows "submitted"
elif grep -q "fills 32 rows of 256 tokens, fewer than SHARDS=40" "$T/o" && [ "$(njobs)" -eq "$before" ]; then
    ok submit_refuses_more_shards_than_rows
else bad submit_refuses_more_shards_than_rows "$(cat "$T/o")"; fi
if submit OUT=models >"$T/o" 2>&1; then bad submit_refuses_out_not_written_by_prune "submitted"
elif grep -q "OUT=$T/home/models exists and is not a checkpoint written by reap prune" "$T/o" && [ "$(njobs)" -eq "$before" ]; then
    ok submit_refuses_out_not_written_by_prune
else bad submit_refuses_out_not_written_by_prune "$(cat "$T/o")"; fi
rm -rf "$RUN"

# --- the run: 4 shards, then merge and prune
t0=$(date +%s)
if submit >"$T/submit1.log" 2>&1; then ok submit_array_of_four_shards_and_merge
else bad submit_array_of_four_shards_and_merge "$(cat "$T/submit1.log")"; exit 1; fi
cat "$T/submit1.log"
sid=$(job_of score "$RUN")
mid=$(job_of merge "$RUN")
if grep -qx "MODEL='$T/home/models/tiny4'" "$RUN/run.env" && grep -qx "OUT='$RUN/tiny4-REAP-30'" "$RUN/run.env"; then
    ok run_settings_absolute_and_output_named_reap_30
else bad run_settings_absolute_and_output_named_reap_30 "$(cat "$RUN/run.env")"; fi
# gres asked for, as the GPUS=1 case below looks for it (not "gpu" anywhere: paths may contain it)
if scontrol show job -o "$sid" | grep -qi 'gres[:/]gpu'; then bad no_gpu_requested_unless_asked "$(scontrol show job -o "$sid" | head -1)"
else ok no_gpu_requested_unless_asked; fi
# submit.sh again at once: every shard and the merge are queued already, nothing is submitted twice.
before=$(njobs)
if submit >"$T/o" 2>&1 && grep -q "shards 0 1 2 3 of 4 already queued or running" "$T/o" &&
    grep -q "merge job $mid already queued" "$T/o" && [ "$(njobs)" -eq "$before" ]; then
    ok resubmit_while_queued_submits_nothing
else bad resubmit_while_queued_submits_nothing "$(cat "$T/o")"; fi

# Once shard 1 and shard 3 have each finished a layer (and sleep before the next): requeue task 1
# (`scontrol requeue`, as preemption does) and cancel task 3 (as a failure does).
layers_done() { # work dir -> the layers it holds (its newest hidden-L.bin)
    find "$1" -name 'hidden-*.bin' 2>/dev/null | sed -n 's/.*hidden-\([0-9]*\)\.bin$/\1/p' | sort -n | tail -1
}
n=0
while [ $n -lt 240 ] && { [ -z "$(layers_done "$RUN/work/shard-1")" ] || [ -z "$(layers_done "$RUN/work/shard-3")" ]; }; do
    sleep 0.25
    n=$((n + 1))
done
s1=$(state "${sid}_1")
s3=$(state "${sid}_3")
if [ "$s1" = RUNNING ] && [ "$s3" = RUNNING ] && [ ! -f "$RUN/shards/scores.shard-1-of-4.json" ] &&
    [ ! -f "$RUN/shards/scores.shard-3-of-4.json" ] && scontrol requeue "${sid}_1" 2>"$T/o" && scancel "${sid}_3" 2>>"$T/o"; then
    ok requeue_task_1_and_cancel_task_3_after_a_layer
else
    bad requeue_task_1_and_cancel_task_3_after_a_layer "states $s1 $s3, work dirs: $(ls "$RUN/work"/* 2>&1), $(cat "$T/o")"
fi
# The merge job keeps waiting while the requeued task is pending or running again.
n=0
while [ $n -lt 240 ] && { [ ! -f "$RUN/shards/scores.shard-0-of-4.json" ] || [ ! -f "$RUN/shards/scores.shard-2-of-4.json" ] ||
    [ "$(state "${sid}_3")" != CANCELLED ]; }; do
    sleep 0.25
    n=$((n + 1))
done
s1=$(state "${sid}_1")
sm=$(state "$mid")
if [ "$sm" = PENDING ] && [ ! -f "$RUN/shards/scores.shard-1-of-4.json" ]; then ok merge_waits_for_requeued_task
else bad merge_waits_for_requeued_task "merge $sm, task 1 $s1, shards: $(ls "$RUN/shards")"; fi

# Every task has ended (one cancelled): the merge job runs and refuses, naming the missing shard.
sm=$(wait_done "$mid" 240)
if [ "$sm" = FAILED ] && grep -q "shard(s) 3 of 4 not scored" "$RUN/logs/merge.log"; then
    ok merge_runs_after_cancelled_task_and_names_missing_shard
else bad merge_runs_after_cancelled_task_and_names_missing_shard "$sm: $(tail -3 "$RUN/logs/merge.log")"; fi
if [ ! -e "$RUN/scores.json" ] && [ ! -e "$RUN/tiny4-REAP-30" ]; then ok incomplete_set_writes_no_output
else bad incomplete_set_writes_no_output "$(ls "$RUN")"; fi
log1=$RUN/logs/score-shard-1.log
if [ "$(grep -c '^== .* shard 1 of 4: .* attempt' "$log1")" -eq 2 ] && grep -q "job ${sid}_1, attempt 2," "$log1" &&
    grep -q 'CANCELLED .* DUE TO JOB REQUEUE' "$log1"; then
    ok requeued_task_log_appended
else bad requeued_task_log_appended "$(cat "$log1")"; fi
if grep -q "resuming from $RUN/work/shard-1: [1-3] of 4 layers already done" "$log1"; then
    ok requeued_task_resumed_from_work_dir
else bad requeued_task_resumed_from_work_dir "$(grep -v '^layer' "$log1")"; fi

# --- submit.sh again: only shard 3 is submitted; it continues from its work dir; then the merge
if submit >"$T/submit2.log" 2>&1 && grep -q "scoring array [0-9]*: shards 3 of 4" "$T/submit2.log"; then
    ok resubmit_scores_only_the_missing_shard
else bad resubmit_scores_only_the_missing_shard "$(cat "$T/submit2.log")"; fi
cat "$T/submit2.log"
mid2=$(job_of merge "$RUN")
sm=$(wait_done "$mid2" 240)
t1=$(date +%s)
if [ "$sm" = COMPLETED ]; then ok merge_job_completes_on_its_own
else bad merge_job_completes_on_its_own "$sm: $(tail -5 "$RUN/logs/merge.log")"; fi
log3=$RUN/logs/score-shard-3.log
if [ "$(grep -c '^== .* shard 3 of 4: .* attempt' "$log3")" -eq 2 ] &&
    grep -q "resuming from $RUN/work/shard-3: [1-3] of 4 layers already done" "$log3"; then
    ok resubmitted_task_resumed_its_shard_from_work_dir
else bad resubmitted_task_resumed_its_shard_from_work_dir "$(grep -v '^layer' "$log3")"; fi
if "$DIFF" "$T/unsharded.json" "$RUN/scores.json" 1e-12 >"$T/diff.txt"; then ok merged_four_shards_equal_unsharded_run
else bad merged_four_shards_equal_unsharded_run "$(head -3 "$T/diff.txt")"; fi
if "$REAP" verify "$T/models/tiny4" "$RUN/tiny4-REAP-30" >"$T/o" 2>&1; then ok pruned_checkpoint_verifies
else bad pruned_checkpoint_verifies "$(tail -2 "$T/o")"; fi
same=1
for f in "$T"/unsharded-REAP-30/*.safetensors "$T/unsharded-REAP-30/config.json"; do
    cmp -s "$f" "$RUN/tiny4-REAP-30/$(basename "$f")" || same=0
done
if [ $same = 1 ]; then ok pruned_checkpoint_equals_unsharded_prune; else bad pruned_checkpoint_equals_unsharded_prune; fi
if [ -f "$RUN/report.txt" ] && [ -s "$RUN/scores.svg" ] && [ -z "$(ls "$RUN/work")" ]; then ok report_written_work_dirs_removed
else bad report_written_work_dirs_removed "$(ls "$RUN" "$RUN/work")"; fi
echo "time: submit to merged, pruned and verified in $((t1 - t0)) s (a requeue and a resubmission included)"

# --- submit.sh again in the same RUN: nothing to score, the merge runs again and replaces the output
if submit >"$T/submit3.log" 2>&1 && ! grep -q "scoring array" "$T/submit3.log"; then ok resubmit_scores_nothing_again
else bad resubmit_scores_nothing_again "$(cat "$T/submit3.log")"; fi
mid3=$(job_of merge "$RUN")
sm=$(wait_done "$mid3" 120)
if [ "$mid3" != "$mid2" ] && [ "$sm" = COMPLETED ] && [ "$(grep -c '^== .* merge and prune' "$RUN/logs/merge.log")" -eq 3 ] &&
    "$REAP" verify "$T/models/tiny4" "$RUN/tiny4-REAP-30" >/dev/null 2>&1; then
    ok merge_rerun_in_same_run_replaces_output
else bad merge_rerun_in_same_run_replaces_output "job $mid3 $sm: $(tail -5 "$RUN/logs/merge.log")"; fi

# --- GPUS=1: each scoring task asks for one GPU and scores with --device cuda (held, then cancelled:
# this build may have no CUDA)
if submit RUN=run-gpu GPUS=1 SCORE_SBATCH=--hold >"$T/o" 2>&1 && gid=$(job_of score "$T/home/run-gpu") &&
    scontrol show job -o "${gid}" | grep -q 'gres[:/]gpu[:=]1' && grep -qx "DEVICE=cuda" "$T/home/run-gpu/run.env"; then
    ok gpus_1_asks_one_gpu_per_task
else bad gpus_1_asks_one_gpu_per_task "$(cat "$T/o") $(scontrol show job -o "${gid:-0}" 2>&1 | head -1)"; fi
# One held task cancelled: submit.sh again submits that shard only and replaces the pending merge.
scancel "${gid}_0"
n=0
while [ $n -lt 40 ] && squeue -h -r -j "$gid" -o %K | grep -qx 0; do sleep 0.25; n=$((n + 1)); done
gmid=$(job_of merge "$T/home/run-gpu")
if submit RUN=run-gpu GPUS=1 SCORE_SBATCH=--hold >"$T/o" 2>&1 && grep -q "scoring array [0-9]*: shards 0 of 4" "$T/o" &&
    grep -q "shards 1 2 3 of 4 already queued or running" "$T/o" &&
    grep -q "cancelled the earlier merge job $gmid (still pending" "$T/o" && [ "$(state "$gmid")" = CANCELLED ]; then
    ok resubmit_replaces_cancelled_task_and_pending_merge
else bad resubmit_replaces_cancelled_task_and_pending_merge "$(cat "$T/o")"; fi
for id in $(awk '{ print $2 }' "$T/home/run-gpu/jobs" 2>/dev/null); do scancel "$id"; done

# --- one task submitted by hand (README): shard 2 of 4 from run.env, already scored, so it stops there
jid=$(sbatch --parsable --array=2 --output="$RUN/logs/score-shard-%a.log" "$EX/score_array.sbatch" "$RUN" 2>"$T/o")
sm=$(wait_done "${jid%%;*}_2" 60)
if [ "$sm" = COMPLETED ] && grep -q "shard 2 is already scored: $RUN/shards/scores.shard-2-of-4.json" "$RUN/logs/score-shard-2.log"; then
    ok single_task_by_hand_is_its_shard
else bad single_task_by_hand_is_its_shard "$sm $(cat "$T/o") $(tail -2 "$RUN/logs/score-shard-2.log")"; fi

# --- other settings for the same RUN are refused
before=$(njobs)
if submit SHARDS=2 >"$T/o" 2>&1; then bad submit_refuses_changed_settings "submitted"
elif grep -q "was: SHARDS='4'" "$T/o" && grep -q "now: SHARDS='2'" "$T/o" && [ "$(njobs)" -eq "$before" ]; then
    ok submit_refuses_changed_settings
else bad submit_refuses_changed_settings "$(cat "$T/o")"; fi
echo "time: whole test $(($(date +%s) - t0)) s after the cluster started"
exit 0

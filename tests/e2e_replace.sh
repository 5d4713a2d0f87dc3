#!/bin/sh
# e2e_replace: replacing and cleaning up outputs (issue 13, class 4). `prune --force` exchanges the
# new output with the old one in one step, so OUT is whole (old or new, verified) whenever the run
# is killed with SIGKILL, at 24 moments spread over the run; the next run removes what a killed one
# left (OUT.tmp-XXXXXX, OUT.old-PID). A killed synth's OUT.tmp.PID is removed by the next synth
# (a live one's is not). prune -o under a missing directory is refused and creates nothing; score -o
# into a directory it cannot write fails before any layer (as a user without write permission).
# A score --work-dir that cannot write its first file removes the directory it created.
REAP=${REAP:-build/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
dir=$(mktemp -d "${TMPDIR:-/tmp}/reap-e2e-replace.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; chmod -R u+w "$dir" 2>/dev/null; rm -rf "$dir"' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }

ck=$dir/ck
"$REAP" synth "$ck" --preset tiny --layers 3 -q || { bad replace_setup; exit 1; }
"$REAP" score "$ck" --device cpu --calib builtin:20 --rows 4 --seq-len 64 -o "$dir/s.json" -q || { bad replace_setup; exit 1; }
out=$dir/out
"$REAP" prune "$ck" --scores "$dir/s.json" --ratio 0.25 -o "$out" -q || { bad replace_setup; exit 1; }
# how long a slowed run takes, to spread the kills over it
t0=$(date +%s%N)
REAP_TEST_SLOW_MS=4 "$REAP" prune "$ck" --scores "$dir/s.json" --ratio 0.5 -o "$out" --force -q || bad replace_timed_run
span=$(( ($(date +%s%N) - t0) / 1000000 ))
whole=0 trials=24
for i in $(seq 1 $trials); do
    ratio=0.25
    [ $((i % 2)) = 0 ] && ratio=0.5
    REAP_TEST_SLOW_MS=4 "$REAP" prune "$ck" --scores "$dir/s.json" --ratio $ratio -o "$out" --force -q 2>/dev/null &
    pid=$!
    ms=$(( span * i / trials + 2 ))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
    if [ -f "$out/model.safetensors.index.json" ] && "$REAP" verify "$ck" "$out" -q >/dev/null 2>&1; then
        whole=$((whole + 1))
    else
        echo "    trial $i (kill at ${ms} ms of ${span}): $(ls "$out" 2>&1 | head -3 | tr '\n' ' ')"
    fi
done
if [ $whole = $trials ]; then ok "prune_force_replace_whole_under_sigkill ($trials kills over ${span} ms)"
else bad prune_force_replace_whole_under_sigkill "$whole of $trials whole"; fi
"$REAP" prune "$ck" --scores "$dir/s.json" --ratio 0.25 -o "$out" --force -q 2>/dev/null
left=$(ls "$dir" | grep -E '^out\.(tmp-|old-|lock)' | tr '\n' ' ')
if [ -z "$left" ] && "$REAP" verify "$ck" "$out" -q >/dev/null 2>&1; then ok prune_next_run_removes_leftovers
else bad prune_next_run_removes_leftovers "$left"; fi
# an OUT.old-PID of an interrupted fallback replace goes too
mkdir "$dir/out.old-12345" && cp "$ck/config.json" "$dir/out.old-12345/"
"$REAP" prune "$ck" --scores "$dir/s.json" --ratio 0.5 -o "$out" --force -q 2>/dev/null
if [ ! -e "$dir/out.old-12345" ]; then ok prune_removes_old_aside; else bad prune_removes_old_aside; fi

# synth: a dead run's temporary directory is removed, a live run's is not
sh -c 'exit 0' &
dead=$!
wait $dead
mkdir "$dir/syn.tmp.$dead" "$dir/syn.tmp.$$"
echo x >"$dir/syn.tmp.$dead/model-00001-of-00001.safetensors"
echo x >"$dir/syn.tmp.$$/model-00001-of-00001.safetensors"
if "$REAP" synth "$dir/syn" --preset tiny --layers 2 -q && [ ! -e "$dir/syn.tmp.$dead" ] && [ -e "$dir/syn.tmp.$$" ]; then
    ok synth_removes_a_killed_runs_temporary
else
    bad synth_removes_a_killed_runs_temporary "$(ls "$dir" | tr '\n' ' ')"
fi
rm -rf "$dir/syn.tmp.$$"
# the same with a synth really killed (SIGKILL) while it writes: its OUT.tmp.PID is there, and the
# next synth of that OUT removes it and completes
rm -rf "$dir/kil"
"$REAP" synth "$dir/kil" --preset small --layers 32 --threads 1 -q 2>/dev/null &
pid=$!
n=0
while [ $n -lt 200 ] && [ ! -d "$dir/kil.tmp.$pid" ]; do sleep 0.02; n=$((n + 1)); done
sleep 0.2
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
if [ ! -d "$dir/kil.tmp.$pid" ] || [ -e "$dir/kil" ]; then
    bad synth_sigkill_leaves_its_temporary "no $dir/kil.tmp.$pid, or the run finished: $(ls "$dir" | tr '\n' ' ')"
elif "$REAP" synth "$dir/kil" --preset tiny --layers 2 -q && [ ! -e "$dir/kil.tmp.$pid" ] && [ -f "$dir/kil/config.json" ]; then
    ok synth_next_run_removes_a_sigkilled_runs_temporary
else
    bad synth_next_run_removes_a_sigkilled_runs_temporary "$(ls "$dir" | tr '\n' ' ')"
fi
rm -rf "$dir/kil"
# score --work-dir where nothing can be written (a file size limit of 0 stands for a full disk:
# write() fails with EFBIG): an error, and the work dir it created is removed, not left empty.
# (stderr goes through a pipe: the limit would stop writes to a file too)
rm -rf "$dir/wdf"
(trap '' XFSZ; ulimit -f 0; "$REAP" score "$ck" --device cpu --calib builtin:4 --rows 1 --seq-len 16 -q \
    --work-dir "$dir/wdf" -o /dev/null; echo "exit $?") 2>&1 | cat >"$dir/err.txt"
if grep -q "^exit 1$" "$dir/err.txt" && grep -q "^reap: error: .*wdf/state.json" "$dir/err.txt" && [ ! -e "$dir/wdf" ]; then
    ok score_work_dir_unwritable_leaves_no_empty_dir
else
    bad score_work_dir_unwritable_leaves_no_empty_dir "$(ls -d "$dir/wdf" 2>/dev/null) $(head -3 "$dir/err.txt" | tr '\n' ' ')"
fi
# synth --force replaces in one step and leaves nothing beside it
if "$REAP" synth "$dir/syn" --preset tiny --layers 3 --force -q && [ -z "$(ls "$dir" | grep -E '^syn\.')" ] &&
    grep -q '"num_hidden_layers":[[:space:]]*3' "$dir/syn/config.json"; then
    ok synth_force_replaces
else
    bad synth_force_replaces "$(ls "$dir" | tr '\n' ' ')"
fi

# prune under a missing directory: refused, nothing created
if "$REAP" prune "$ck" --scores "$dir/s.json" --ratio 0.25 -o "$dir/missing/parent/x" -q 2>"$dir/err.txt"; then
    bad prune_refuses_missing_parent "exit 0"
elif [ ! -e "$dir/missing" ] && grep -q "does not exist" "$dir/err.txt"; then ok prune_refuses_missing_parent
else bad prune_refuses_missing_parent "$(cat "$dir/err.txt")"; fi

# score into a directory the user cannot write: an error before the first layer
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
    mkdir "$dir/ro" && chmod 555 "$dir/ro" && chmod 755 "$dir" && chmod -R a+rX "$ck"
    setpriv --reuid=65534 --regid=65534 --clear-groups "$REAP" score "$ck" --device cpu --calib builtin:20 --rows 4 \
        --seq-len 64 -o "$dir/ro/s.json" >"$dir/so.txt" 2>"$dir/err.txt"
    rc=$?
    if [ $rc = 1 ] && grep -q "cannot create a file" "$dir/err.txt" && ! grep -q "^layer" "$dir/err.txt"; then
        ok score_unwritable_output_fails_at_start
    else
        bad score_unwritable_output_fails_at_start "exit $rc: $(head -3 "$dir/err.txt")"
    fi
else
    echo "SKIP score_unwritable_output_fails_at_start: needs root and setpriv"
fi

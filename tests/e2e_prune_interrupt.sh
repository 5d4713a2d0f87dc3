#!/bin/sh
# e2e_prune_interrupt.sh: interrupts `reap prune` at several points with SIGKILL, SIGINT and SIGTERM
# and checks that OUT is then either absent or complete and verified, that SIGINT/SIGTERM leave no
# temporary directory and exit 130, that a killed run's leftovers do not block the next run, and
# that the source's checksums never change. The prune is slowed with REAP_TEST_SLOW_MS (a test-only
# throttle: that many milliseconds of sleep after each tensor) so the signals land mid-write.
REAP=${REAP:-$PWD/build/reap}
BUILD=${BUILD:-build}
STATS_TOOL=$PWD/$BUILD/tests/tool_synth_stats
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_prune_int.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

"$REAP" synth src --preset tiny --experts 64 -q >/dev/null 2>&1 || { echo "FAIL synth (setup)"; exit 1; }
"$STATS_TOOL" src stats.json 3 || { echo "FAIL statistics (setup)"; exit 1; }
(cd src && cksum ./* | sort) >src.sum

# The output is absent, or complete and verified.
out_state() {
    if [ ! -e out ]; then echo absent
    elif "$REAP" verify src out >verify.log 2>&1; then echo verified
    else echo broken; fi
}

# run SIGNAL DELAY: a throttled prune (about 1 s in total) gets SIGNAL after DELAY seconds.
run() {
    sig=$1 delay=$2
    rm -rf out
    REAP_TEST_SLOW_MS=1 "$REAP" prune src -o out --ratio 0.30 --scores stats.json -q >run.log 2>&1 &
    pid=$!
    sleep "$delay"
    kill -s "$sig" "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null
    rc=$?
    state=$(out_state)
    name="interrupt_${sig}_after_${delay}s"
    case $state in
    absent | verified) echo "PASS ${name}_out_$state" ;;
    *) echo "FAIL ${name}_out_$state"; sed 's/^/    /' verify.log | tail -3 ;;
    esac
    if [ "$sig" != KILL ]; then
        if [ "$state" = absent ]; then
            [ "$rc" -eq 130 ] && grep -q interrupted run.log && echo "PASS ${name}_exits_130" ||
                echo "FAIL ${name}_exits_130 (exit $rc)"
        fi
        n=$(ls -d out.tmp-* 2>/dev/null | wc -l)
        [ "$n" -eq 0 ] && echo "PASS ${name}_no_temporary_left" || echo "FAIL ${name}_no_temporary_left ($n)"
    fi
    (cd src && cksum ./* | sort) >src.after
    cmp -s src.sum src.after && echo "PASS ${name}_source_unchanged" || echo "FAIL ${name}_source_unchanged"
}

run KILL 0.2
run KILL 0.7
run INT 0.3
run INT 0.6
run TERM 0.5
run KILL 0.4
# A run after SIGKILL removes the killed run's temporary directory and completes.
before=$(ls -d out.tmp-* 2>/dev/null | wc -l)
rm -rf out
"$REAP" prune src -o out --ratio 0.30 --scores stats.json -q 2>/dev/null
n=$(ls -d out.tmp-* 2>/dev/null | wc -l)
[ "$before" -ge 1 ] && [ "$n" -eq 0 ] && [ "$(out_state)" = verified ] && echo "PASS rerun_after_kill_cleans_up_and_completes" ||
    echo "FAIL rerun_after_kill_cleans_up_and_completes (left before $before, after $n)"
# A signal after completion leaves a complete output.
run INT 4
# Two runs at once on the same OUT: the second is refused by the lock.
rm -rf out
REAP_TEST_SLOW_MS=1 "$REAP" prune src -o out --ratio 0.30 --scores stats.json -q >/dev/null 2>&1 &
pid=$!
sleep 0.3
"$REAP" prune src -o out --ratio 0.30 --scores stats.json -q >lock.log 2>&1
rc=$?
wait "$pid"
[ "$rc" -ne 0 ] && grep -q "locked" lock.log && [ "$(out_state)" = verified ] && echo "PASS lock_refuses_second_writer" ||
    echo "FAIL lock_refuses_second_writer (exit $rc)"

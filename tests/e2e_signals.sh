#!/bin/sh
# e2e_signals.sh: the one signal policy of the writing commands (cmd/signals.h). SIGHUP (a closed
# terminal) cancels like SIGINT: `reap prune` leaves no OUT.lock and no OUT.tmp-*, `reap synth` no
# OUT.tmp.*, both exit 130 saying "interrupted". A closed pipe (SIGPIPE ignored) does not kill a
# prune before it cleans up: `reap prune ... -v 2>&1 | head -3` completes and leaves nothing behind.
# The prune is slowed with REAP_TEST_SLOW_MS (a test-only sleep after each tensor); the synth is
# made big enough (about 2 s) that the signal lands mid-write.
REAP=${REAP:-$PWD/build/reap}
BUILD=${BUILD:-build}
STATS_TOOL=$PWD/$BUILD/tests/tool_synth_stats
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_signals.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

"$REAP" synth src --preset tiny --experts 64 -q >/dev/null 2>&1 || { echo "FAIL synth (setup)"; exit 1; }
"$STATS_TOOL" src stats.json 3 || { echo "FAIL statistics (setup)"; exit 1; }

left() { ls -d "$@" 2>/dev/null | wc -l; }

# SIGHUP during prune
REAP_TEST_SLOW_MS=1 "$REAP" prune src -o out --ratio 0.30 --scores stats.json -q >prune.log 2>&1 &
pid=$!
sleep 0.3
kill -s HUP "$pid" 2>/dev/null
{ wait "$pid"; } 2>/dev/null
rc=$?
[ "$rc" -eq 130 ] && grep -q interrupted prune.log && echo "PASS sighup_prune_exits_130" ||
    echo "FAIL sighup_prune_exits_130 (exit $rc: $(head -2 prune.log))"
[ ! -e out ] && echo "PASS sighup_prune_writes_no_output" || echo "FAIL sighup_prune_writes_no_output"
[ "$(left out.lock)" -eq 0 ] && echo "PASS sighup_prune_leaves_no_lock" || echo "FAIL sighup_prune_leaves_no_lock"
n=$(left out.tmp-*)
[ "$n" -eq 0 ] && echo "PASS sighup_prune_leaves_no_temporary" || echo "FAIL sighup_prune_leaves_no_temporary ($n)"

# SIGHUP during synth
"$REAP" synth big --preset small --layers 32 --threads 1 -q >synth.log 2>&1 &
pid=$!
sleep 0.3
kill -s HUP "$pid" 2>/dev/null
{ wait "$pid"; } 2>/dev/null
rc=$?
[ "$rc" -eq 130 ] && grep -q interrupted synth.log && echo "PASS sighup_synth_exits_130" ||
    echo "FAIL sighup_synth_exits_130 (exit $rc: $(head -2 synth.log))"
[ ! -e big ] && echo "PASS sighup_synth_writes_no_output" || echo "FAIL sighup_synth_writes_no_output"
n=$(left big.tmp.*)
[ "$n" -eq 0 ] && echo "PASS sighup_synth_leaves_no_temporary" || echo "FAIL sighup_synth_leaves_no_temporary ($n)"

# A closed pipe: the reader stops after 3 lines, the prune goes on, completes and cleans up.
rm -rf out
# (the shell waits for every command of the pipeline, the prune included)
REAP_TEST_SLOW_MS=1 "$REAP" prune src -o out --ratio 0.30 --scores stats.json -v 2>&1 | head -3 >pipe.log
[ "$(wc -l <pipe.log)" -eq 3 ] && echo "PASS closed_pipe_reader_got_three_lines" || echo "FAIL closed_pipe_reader_got_three_lines"
[ "$(left out.lock)" -eq 0 ] && echo "PASS closed_pipe_prune_leaves_no_lock" || echo "FAIL closed_pipe_prune_leaves_no_lock"
n=$(left out.tmp-*)
[ "$n" -eq 0 ] && echo "PASS closed_pipe_prune_leaves_no_temporary" || echo "FAIL closed_pipe_prune_leaves_no_temporary ($n)"
"$REAP" verify src out >verify.log 2>&1 && echo "PASS closed_pipe_prune_completes" ||
    { echo "FAIL closed_pipe_prune_completes"; tail -3 verify.log; }

# SIGINT while score finishes its last layer (here: in the test throttle after it, which follows
# the layer's -v line): the run ends as an interruption, exit 130, no statistics file (it had
# written the file and exited 0: the layer loop checked the flag only before each layer).
REAP_TEST_SLOW_MS=3000 "$REAP" score src --rows 2 --seq-len 32 -o last.json -v >last.log 2>&1 &
pid=$!
n=0
while [ $n -lt 200 ] && ! grep -q "^layer 2/2" last.log; do sleep 0.05; n=$((n + 1)); done
kill -s INT "$pid" 2>/dev/null
{ wait "$pid"; } 2>/dev/null
rc=$?
if [ "$rc" -eq 130 ] && grep -q "interrupted after the last layer" last.log && [ ! -e last.json ]; then
    echo "PASS sigint_in_last_layer_of_score_exits_130"
else echo "FAIL sigint_in_last_layer_of_score_exits_130 (exit $rc: $(tail -2 last.log))"; fi

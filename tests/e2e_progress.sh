#!/bin/sh
# e2e_progress.sh: the progress display (lib/progress.h) through the real binary.
# On a terminal (a pseudo-terminal from util-linux `script`, `stty cols 60`): score, eval, prune,
# verify and synth draw one line updated in place ("\r", the line, "\033[K"), never wider than 59
# columns, and cleared at the end; with -q nothing is drawn; where the terminal gives no width,
# COLUMNS does. With stderr redirected to a file: no progress at all; -v: a plain line per layer
# (score, eval) or per tensor (prune, verify); -q: stderr empty on success in every command. The terminal part prints a SKIP line
# without a working `script`; the rest runs anyway.
REAP=${REAP:-${BUILD:-build}/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_progress.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
cd "$T" || exit 1

ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }
CR=$(printf '\r')

"$REAP" synth m --preset tiny --layers 4 -q || { bad synth_setup; exit 1; }
args="--device cpu --calib builtin:20 --rows 4 --seq-len 64"
"$REAP" score m $args -o s.json -q || { bad score_setup; exit 1; }
"$REAP" prune m -o p --ratio 0.25 --scores s.json -q || { bad prune_setup; exit 1; }

# The progress lines of a transcript: each draw is "\r", the line, "\033[K" (a clear alone is
# "\r\033[K"; a log line ends with a newline). Prints their count and the longest's length.
progress_lines() {
    awk 'BEGIN { RS = "\r"; clr = sprintf("%c[K", 27); n = 0; max = 0 }
         { k = index($0, clr) }
         k > 1 && k == length($0) - 2 && index($0, "\n") == 0 { n++; if (k - 1 > max) max = k - 1 }
         END { print n, max }' "$1"
}
# The distinct progress lines of a transcript that start with $2 (one per line, for counting).
progress_of() {
    awk -v lab="$2" 'BEGIN { RS = "\r"; clr = sprintf("%c[K", 27) }
         { k = index($0, clr); s = substr($0, 1, k - 1) }
         k > 1 && k == length($0) - 2 && index($0, "\n") == 0 && index(s, lab " ") == 1 { print s }' "$1" | sort -u
}
# Runs a shell command line under a pseudo-terminal; the transcript (what reached the terminal) in $1.
tty_run() {
    out=$1
    shift
    script -qfec "$*" /dev/null </dev/null >"$out" 2>&1
}

# ---- on a terminal
if ! command -v script >/dev/null 2>&1; then
    echo "SKIP e2e_progress (terminal part): no \`script\` (util-linux) to run reap under a pseudo-terminal"
elif ! script -qfec "stty cols 60 && test -t 2" /dev/null </dev/null >/dev/null 2>&1; then
    echo "SKIP e2e_progress (terminal part): \`script\` cannot open a pseudo-terminal here"
else
    # score: slowed by 150 ms a layer so the line is drawn after each of the 4 layers (10 draws a second at most).
    if tty_run tty.score "stty cols 60; REAP_TEST_SLOW_MS=150 '$REAP' score m $args -o s2.json >/dev/null" &&
        cmp -s s.json s2.json; then
        ok score_on_terminal_succeeds
    else bad score_on_terminal_succeeds "$(cat -v tty.score | tail -3)"; fi
    set -- $(progress_lines tty.score)
    n=$(progress_of tty.score score | wc -l)
    if [ "$1" -ge 4 ] && [ "$n" -ge 4 ] && progress_of tty.score score | grep -q '4/4 layers'; then
        ok score_progress_line_updates_in_place
    else bad score_progress_line_updates_in_place "$1 draws, $n distinct: $(cat -v tty.score | head -c 600)"; fi
    if [ "$2" -le 59 ]; then ok score_progress_fits_60_columns
    else bad score_progress_fits_60_columns "longest $2: $(progress_of tty.score score | head -3)"; fi
    # The line is cleared at the end (the summary starts on a clean line): the transcript ends "\r\033[K".
    last=$(awk 'BEGIN { RS = "\r" } { last = $0 } END { print (last == sprintf("%c[K", 27)) ? "cleared" : "not" }' tty.score)
    if [ "$last" = cleared ]; then ok score_progress_cleared_at_end
    else bad score_progress_cleared_at_end "$(tail -c 80 tty.score | cat -v)"; fi

    # The other long-running commands, 60 columns.
    for c in "prune:REAP_TEST_SLOW_MS=5 '$REAP' prune m -o p2 --ratio 0.25 --scores s.json" \
        "verify:'$REAP' verify m p" \
        "eval:'$REAP' eval m p --rows 2 --seq-len 32" \
        "synth:'$REAP' synth m2 --preset tiny"; do
        name=${c%%:*}
        cmd=${c#*:}
        if ! tty_run "tty.$name" "stty cols 60; $cmd >/dev/null"; then
            bad "${name}_on_terminal_succeeds" "$(cat -v "tty.$name" | tail -3)"
            continue
        fi
        set -- $(progress_lines "tty.$name")
        n=$(progress_of "tty.$name" "$name" | wc -l)
        if [ "$n" -ge 2 ] && [ "$2" -le 59 ]; then ok "${name}_progress_updates_within_60_columns"
        else bad "${name}_progress_updates_within_60_columns" "$n lines, longest $2: $(progress_of "tty.$name" "$name" | head -3)"; fi
    done
    if [ "$(progress_of tty.prune prune | wc -l)" -ge 5 ] && progress_of tty.prune prune | grep -q ' tensors  .*B/.*B'; then
        ok prune_progress_counts_tensors_and_bytes
    else bad prune_progress_counts_tensors_and_bytes "$(progress_of tty.prune prune | head -3)"; fi

    # -q on a terminal: nothing drawn.
    if tty_run tty.quiet "stty cols 60; REAP_TEST_SLOW_MS=150 '$REAP' score m $args -o s3.json -q >/dev/null" &&
        [ ! -s tty.quiet ]; then
        ok quiet_on_terminal_draws_nothing
    else bad quiet_on_terminal_draws_nothing "$(cat -v tty.quiet | head -c 300)"; fi

    # No width from the terminal (0 columns): COLUMNS decides.
    tty_run tty.cols "stty cols 0 rows 0; COLUMNS=44 '$REAP' verify m p >/dev/null"
    set -- $(progress_lines tty.cols)
    if [ "$1" -ge 2 ] && [ "$2" -le 43 ]; then ok columns_env_is_the_fallback_width
    else bad columns_env_is_the_fallback_width "$1 lines, longest $2: $(cat -v tty.cols | head -c 300)"; fi
fi

# ---- stderr redirected to a file
"$REAP" score m $args -o s4.json 2>err.score >/dev/null
if ! grep -q "$CR" err.score && ! grep -q 'ETA\|layer [0-9]/' err.score; then ok score_log_has_no_progress
else bad score_log_has_no_progress "$(cat -v err.score | head -5)"; fi
"$REAP" score m $args -o s5.json -v 2>err.scorev >/dev/null
if [ "$(grep -c '^layer [1-4]/4  load .* ETA ' err.scorev)" -eq 4 ] && ! grep -q "$CR" err.scorev; then
    ok score_verbose_log_has_a_line_per_layer
else bad score_verbose_log_has_a_line_per_layer "$(cat -v err.scorev | head -8)"; fi

"$REAP" prune m -o p3 --ratio 0.25 --scores s.json 2>err.prune >/dev/null
if ! grep -q "$CR" err.prune && ! grep -q '^\[' err.prune; then ok prune_log_has_no_progress
else bad prune_log_has_no_progress "$(cat -v err.prune | head -5)"; fi
"$REAP" prune m -o p4 --ratio 0.25 --scores s.json -v 2>err.prunev >/dev/null
nt=$(grep -c '^\[ *[0-9]*/[0-9]*\] model\.' err.prunev)
if [ "$nt" -ge 50 ] && ! grep -q "$CR" err.prunev; then ok prune_verbose_log_has_a_line_per_tensor
else bad prune_verbose_log_has_a_line_per_tensor "$nt lines: $(cat -v err.prunev | head -5)"; fi

"$REAP" verify m p 2>err.verify >/dev/null
if [ ! -s err.verify ]; then ok verify_log_has_no_progress; else bad verify_log_has_no_progress "$(cat -v err.verify | head -3)"; fi
"$REAP" verify m p -v 2>err.verifyv >/dev/null
nv=$(grep -c '^\[ *[0-9]*/[0-9]*\] model\..* same$' err.verifyv)
if [ "$nv" -eq "$nt" ]; then ok verify_verbose_log_has_a_line_per_tensor
else bad verify_verbose_log_has_a_line_per_tensor "$nv lines, prune wrote $nt: $(head -3 err.verifyv)"; fi

"$REAP" eval m p --rows 2 --seq-len 32 2>err.eval >/dev/null
if ! grep -q "$CR" err.eval && ! grep -q 'layer [0-9]' err.eval; then ok eval_log_has_no_progress
else bad eval_log_has_no_progress "$(cat -v err.eval | head -5)"; fi
"$REAP" eval m p --rows 2 --seq-len 32 -v 2>err.evalv >/dev/null
if [ "$(grep -c ': layer [1-4]/4 done' err.evalv)" -eq 8 ]; then ok eval_verbose_log_has_a_line_per_layer
else bad eval_verbose_log_has_a_line_per_layer "$(head -5 err.evalv)"; fi

# ---- -q: stderr empty on success, in every command
q_ok=1
q_bad=""
quiet() { # name, command...
    n=$1
    shift
    if ! "$@" -q >/dev/null 2>err.q; then
        q_ok=0 q_bad="$q_bad $n(exit $?)"
    elif [ -s err.q ]; then
        q_ok=0 q_bad="$q_bad $n: $(head -c 200 err.q)"
    fi
}
quiet synth "$REAP" synth m5 --preset tiny --layers 2
quiet inspect "$REAP" inspect m
quiet tokenize "$REAP" tokenize m --text "def f(x): return x"
quiet calib "$REAP" calib m --calib builtin:10
quiet score "$REAP" score m $args -o s6.json
quiet merge "$REAP" merge s.json -o merged.json
quiet report "$REAP" report s.json --csv r.csv --svg r.svg
quiet prune "$REAP" prune m -o p5 --ratio 0.25 --scores s.json
quiet verify "$REAP" verify m p5
quiet eval "$REAP" eval m p5 --rows 2 --seq-len 32
quiet eval_whatif "$REAP" eval m --scores s.json --ratio 0.25,0.5 --rows 2 --seq-len 32
if [ $q_ok = 1 ]; then ok quiet_stderr_empty_in_every_command; else bad quiet_stderr_empty_in_every_command "$q_bad"; fi
# -q leaves stdout empty too (summaries, tables: the exit status says it); a --json result stays.
if [ -z "$("$REAP" verify m p5 -q)" ] && [ -z "$("$REAP" merge s.json -o merged2.json -q)" ] &&
    [ -z "$("$REAP" inspect m -q)" ] && [ -n "$("$REAP" inspect m --json -q)" ]; then
    ok quiet_silences_stdout_but_not_json
else bad quiet_silences_stdout_but_not_json; fi

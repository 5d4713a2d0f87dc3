#!/bin/sh
# e2e_cli: the manners of the command line: `make install` into a DESTDIR puts a working reap in
# PREFIX/bin; `reap help CMD` prints exactly `reap CMD --help`; a mistyped command or long option
# gets a "did you mean" naming the right one, with exit 2. One option vocabulary: over every
# command `reap --help` lists, a short letter means one long option and a long option has one short
# letter (or none) everywhere. Exit codes: every code of README's "Exit codes" table is produced,
# command by command, where it applies. -q: nothing but errors. --json: one valid JSON object on
# stdout, on success and on every error, carrying the exit code and the stderr message.
REAP=${REAP:-build/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
export REAP
readme=$PWD/README.md
BUILD=${BUILD:-build}
dir=$(mktemp -d "${TMPDIR:-/tmp}/reap-e2e-cli.XXXXXX")
trap 'rm -rf "$dir"' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }

# the install builds what is missing as the binary under test was built (never a CUDA build of a CPU-only one)
cuda=${CUDA:-$("$REAP" --version | grep -q "CPU only" && echo 0 || echo 1)}
if make -s install BUILD="$BUILD" CUDA="$cuda" DESTDIR="$dir/stage" PREFIX=/opt/reap >"$dir/install.log" 2>&1 &&
    [ -x "$dir/stage/opt/reap/bin/reap" ] && "$dir/stage/opt/reap/bin/reap" --version | grep -q '^reap '; then
    ok make_install_destdir_prefix
else
    bad make_install_destdir_prefix "$(tail -3 "$dir/install.log")"
fi
if make -s uninstall DESTDIR="$dir/stage" PREFIX=/opt/reap >/dev/null 2>&1 && [ ! -e "$dir/stage/opt/reap/bin/reap" ]; then
    ok make_uninstall
else
    bad make_uninstall
fi
# The commands, as `reap --help` lists them.
cmds=$("$REAP" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
case " $(echo $cmds) " in
*" synth "*" eval "*) ok commands_listed ;;
*) bad commands_listed "$cmds" ;;
esac
for c in $cmds; do
    "$REAP" help $c >"$dir/a.txt" 2>&1
    "$REAP" $c --help >"$dir/b.txt" 2>&1
    if ! cmp -s "$dir/a.txt" "$dir/b.txt" || ! grep -q "^usage: reap $c" "$dir/a.txt"; then
        bad "help_cmd_equals_cmd_help_$c"
        continue
    fi
    ok "help_cmd_equals_cmd_help_$c"
done
# expect_hint NAME NEEDLE ARGS...: exit 2 and the suggestion in the one error line
expect_hint() {
    name=$1 needle=$2
    shift 2
    "$REAP" "$@" >/dev/null 2>"$dir/err.txt"
    rc=$?
    if [ $rc = 2 ] && [ "$(wc -l <"$dir/err.txt")" = 1 ] && grep -qF -- "$needle" "$dir/err.txt"; then ok "$name"
    else bad "$name" "exit $rc: $(cat "$dir/err.txt")"; fi
}
expect_hint did_you_mean_command "did you mean 'score'" scroe x
expect_hint did_you_mean_command_prefix "did you mean 'prune'" prun x
expect_hint did_you_mean_long_option "did you mean '--ratio'" prune x --raito 0.3
expect_hint did_you_mean_long_option_score "did you mean '--device'" score x --devce cpu
"$REAP" xyzzy >/dev/null 2>"$dir/err.txt"
if [ $? = 2 ] && ! grep -q "did you mean" "$dir/err.txt"; then ok no_hint_for_a_far_word; else bad no_hint_for_a_far_word; fi

# ---- one option vocabulary: "-X, --long" and "    --long" lines of every command's --help
for c in $cmds; do
    "$REAP" $c --help | awk -v c="$c" '/^options:/ { on = 1; next }
        on && $1 ~ /^-[^-],$/ { l = $2; sub(/^--/, "", l); print c, substr($1, 2, 1), l; next }
        on && $1 ~ /^--/ { l = $1; sub(/^--/, "", l); print c, "none", l }'
done >"$dir/opts.txt"
# prints one line per clash: a short letter of two long options, or a long option with two short
# letters (or with one in one command and none in another)
clashes() {
    awk '$2 != "none" { if ($2 in s2l && s2l[$2] != $3) print "-" $2 ": --" s2l[$2] " (" s2c[$2] ") and --" $3 " (" $1 ")"
                        else if (!($2 in s2l)) { s2l[$2] = $3; s2c[$2] = $1 } }
         { if ($3 in l2s && l2s[$3] != $2) print "--" $3 ": " l2s[$3] " (" l2c[$3] ") and " $2 " (" $1 ")"
           else if (!($3 in l2s)) { l2s[$3] = $2; l2c[$3] = $1 } }' "$1"
}
n_cmds=$(cut -d' ' -f1 "$dir/opts.txt" | sort -u | wc -l)
clashes "$dir/opts.txt" >"$dir/clashes.txt"
if [ "$n_cmds" -eq "$(echo $cmds | wc -w)" ] && grep -q "^prune n dry-run$" "$dir/opts.txt" && [ ! -s "$dir/clashes.txt" ]; then
    ok option_letters_mean_one_thing_in_every_command
else
    bad option_letters_mean_one_thing_in_every_command "$n_cmds commands parsed; $(head -5 "$dir/clashes.txt" | tr '\n' ';')"
fi
# the check itself sees a clash (a table with one would fail above)
printf 'prune n dry-run\nreport n top\n' >"$dir/clash.txt"
[ -n "$(clashes "$dir/clash.txt")" ] && ok option_clash_check_finds_a_clash || bad option_clash_check_finds_a_clash

# ---- fixtures: a tiny model, its statistics, a pruned copy and a pruned copy with one file changed
cd "$dir" || exit 1
rows="--rows 2 --seq-len 32 --device cpu"
if ! { "$REAP" synth m --preset tiny -q && "$REAP" score m $rows -o s.json -q &&
    "$REAP" prune m -o p --ratio 0.25 --scores s.json -q && cp -r p pbad && echo changed >>pbad/generation_config.json; }; then
    bad cli_fixtures
    exit 1
fi
cpu_only=0
"$REAP" --version | grep -q "CPU only" && cpu_only=1

# ---- exit codes: each code of README's table, per command where it applies
codes=$(awk -F'|' '/^## Exit codes/ { on = 1; next } on && /^## / { exit } on && $2 ~ /^ *[0-9]+ *$/ { gsub(/ /, "", $2); print $2 }' "$readme")
[ "$(echo $codes)" != "" ] && ok exit_codes_table_found || bad exit_codes_table_found
# code CODE CMD ARGS...: reap CMD ARGS exits with CODE (test exit_CODE_CMD_N, N counts the cases)
n=0
code() {
    want=$1 n=$((n + 1))
    shift
    "$REAP" "$@" >out.txt 2>err.txt </dev/null
    rc=$?
    if [ "$rc" = "$want" ]; then ok "exit_${want}_$1_$n"; else bad "exit_${want}_$1_$n" "reap $* exited $rc: $(head -2 err.txt)"; fi
}
cases_0() {
    code 0 synth x --preset tiny -q
    code 0 inspect m
    code 0 tokenize m --text hello
    code 0 calib -c builtin:code:4
    code 0 score m $rows -o s0.json
    code 0 merge s.json -o merged.json
    code 0 report s.json
    code 0 prune m -o p0 --ratio 0.25 --scores s.json
    code 0 verify m p
    code 0 eval m p $rows
}
cases_1() {
    code 1 synth m --preset tiny               # an existing output
    code 1 inspect nonexist
    code 1 tokenize nonexist --text hello
    code 1 calib -c nonexist.jsonl
    code 1 score nonexist $rows
    code 1 merge nonexist.json -o merged1.json
    code 1 report nonexist.json
    code 1 prune m -o p --ratio 0.25 --scores s.json   # an existing output
    code 1 prune m -o p1 --ratio 0.25 --scores nonexist.json
    code 1 verify m nonexist
    code 1 eval m nonexist $rows
}
cases_2() {
    for c in $cmds; do code 2 $c --bogus; done
    code 2 synth x --experts abc
    code 2 synth x --preset bogus
    code 2 inspect
    code 2 tokenize m
    code 2 calib --rows -1
    code 2 score m --rows -1
    code 2 merge s.json
    code 2 report s.json --ratio 1.5
    code 2 prune m -o p2 --ratio 1.5 --scores s.json
    code 2 verify m
    code 2 eval m --scores s.json --ratio 1.5
}
cases_3() {
    code 3 verify m pbad
}
cases_4() {
    if [ $cpu_only = 1 ]; then
        code 4 score m $rows --device cuda -o s4.json
        code 4 eval m p $rows --device cuda
    else
        echo "SKIP exit_4: a CUDA build (exit 4 is checked on a CPU-only build)"
    fi
}
# interrupted: SIGINT while the command runs (REAP_TEST_SLOW_MS slows it down: tests only)
interrupt() {
    name=$1 ms=$2
    shift 2
    REAP_TEST_SLOW_MS=$ms "$REAP" "$@" >/dev/null 2>err.txt &
    pid=$!
    sleep 0.5
    kill -s INT "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null
    rc=$?
    if [ "$rc" = 130 ]; then ok "exit_130_$name"; else bad "exit_130_$name" "exit $rc: $(head -2 err.txt)"; fi
}
cases_130() {
    interrupt score 3000 score m $rows -o s130.json
    interrupt prune 20 prune m -o p130 --ratio 0.25 --scores s.json
}
for c in $codes; do
    if command -v "cases_$c" >/dev/null 2>&1; then "cases_$c"; else bad "exit_$c" "README lists exit code $c: no test case for it"; fi
done

# ---- -q: nothing on stdout or stderr but errors
quiet() {
    rm -rf x p0 q0
    "$REAP" "$@" -q >out.txt 2>err.txt </dev/null
    rc=$?
    if [ $rc = 0 ] && [ ! -s out.txt ] && [ ! -s err.txt ]; then ok "quiet_$1"
    else bad "quiet_$1" "reap $* -q: exit $rc, $(cat out.txt err.txt | head -3)"; fi
}
quiet synth x --preset tiny
quiet synth x --preset tiny --dry-run
quiet inspect m
quiet tokenize m --text hello
quiet calib m -c builtin:code:4 --rows 1 --seq-len 32
quiet score m $rows -o s0.json
quiet merge s.json -o merged.json
quiet report s.json
quiet prune m -o p0 --ratio 0.25 --scores s.json
quiet prune m -o q0 --ratio 0.25 --scores s.json --dry-run
quiet verify m p
quiet eval m p $rows
"$REAP" verify m pbad -q >out.txt 2>err.txt
if [ $? = 3 ] && [ ! -s out.txt ] && [ "$(wc -l <err.txt)" = 1 ] && grep -q '^reap: error: ' err.txt; then ok quiet_verify_mismatch_prints_the_error_only
else bad quiet_verify_mismatch_prints_the_error_only "$(cat out.txt err.txt | head -3)"; fi

# ---- --json: one JSON object on stdout, success or not; on error "ok": false, "exit_code" and
# "error" equal to the stderr line. Every command whose --help offers --json is checked.
json() {
    want=$1 n=$((n + 1))
    shift
    "$REAP" "$@" >out.txt 2>err.txt </dev/null
    rc=$?
    why=$(python3 - "$rc" "$want" <<'PY'
import json, sys
rc, want = int(sys.argv[1]), int(sys.argv[2])
try:
    d = json.load(open("out.txt"))
except Exception as e:
    print("stdout is not one JSON object: %s" % e); sys.exit()
errs = [l[len("reap: error: "):].rstrip("\n") for l in open("err.txt") if l.startswith("reap: error: ")]
if rc != want: print("exit %d, expected %d" % (rc, want))
elif not isinstance(d, dict) or d.get("ok") is not (rc == 0): print("ok is %r" % d.get("ok"))
elif rc and d.get("exit_code") != rc: print("exit_code %r" % d.get("exit_code"))
elif rc and [d.get("error")] != errs: print("error %r, stderr %r" % (d.get("error"), errs))
elif not rc and errs: print("an error line on success")
PY
)
    if [ -z "$why" ]; then ok "json_${want}_$1_$n"; else bad "json_${want}_$1_$n" "reap $*: $why"; fi
    echo "$1" >>json_checked.txt
}
json 0 inspect m --json
json 0 inspect m --json --tensors
json 1 inspect nonexist --json
json 2 inspect --bogus --json
cp -r m badcfg && sed 's/"hidden_size":[[:space:]]*64/"hidden_size": 128/' m/config.json >badcfg/config.json
json 1 inspect badcfg --json
python3 -c 'import json; d = json.load(open("out.txt")); assert d["n_problems"] > 0 and d["problems"] and d["n_layers"] == 2' &&
    ok json_inspect_problems_listed_with_ok_false || bad json_inspect_problems_listed_with_ok_false
json 2 inspect -j m extra
json 0 report s.json --json
json 1 report nonexist.json --json
json 2 report s.json --json --ratio 1.5
json 0 verify m p --json
json 3 verify m pbad --json
json 1 verify m nonexist --json
json 0 calib -c builtin:code:4 --json
json 0 calib -c builtin:code:2 --render-only --json
json 0 calib m -c builtin:code:4 --rows 2 --seq-len 32 --json
json 1 calib -c nonexist.jsonl --json
json 2 calib --rows -1 --json
json 0 eval m p $rows --json
json 1 eval m nonexist $rows --json
json 2 eval m p $rows --json --device tpu
[ $cpu_only = 1 ] && json 4 eval m p $rows --json --device cuda
for c in $cmds; do
    grep -q "^$c [^ ]* json$" opts.txt || continue
    if grep -qx "$c" json_checked.txt; then ok "json_offered_by_${c}_is_checked"; else bad "json_offered_by_${c}_is_checked"; fi
done
# the JSON of inspect --tensors lists every tensor; eval's --json prints what -o writes
python3 - <<'PY' && ok json_inspect_tensors_and_eval_document || bad json_inspect_tensors_and_eval_document
import json, subprocess, os
reap = os.environ.get("REAP")
t = json.loads(subprocess.run([reap, "inspect", "m", "--tensors", "--json"], capture_output=True, text=True).stdout)
lines = subprocess.run([reap, "inspect", "m", "--tensors"], capture_output=True, text=True).stdout.splitlines()
assert len(t["tensors"]) == len(lines) > 0 and all(set(x) == {"name", "dtype", "shape", "shard"} for x in t["tensors"])
args = ["eval", "m", "p", "--rows", "2", "--seq-len", "32", "--device", "cpu"]
j = json.loads(subprocess.run([reap] + args + ["--json", "-o", "e.json"], capture_output=True, text=True).stdout)
f = json.load(open("e.json"))
assert j.pop("ok") is True and j["format"] == f["format"] == "reap-eval"
assert [v["kl"]["mean"] for v in j["variants"]] == [v["kl"]["mean"] for v in f["variants"]]
PY

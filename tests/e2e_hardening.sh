#!/bin/sh
# e2e_hardening: hostile inputs of issue 13. Lying sizes (a config.json claiming 1e9 experts, a
# tokenizer id of 2e9, one huge calibration record) must end within a second and under 100 MB;
# special files (FIFOs) in place of inputs are refused, never opened blocking; impossible or
# foreign statistics, a non-finite router and a corrupt work dir are errors; messages name the
# real culprit. Every command runs under `timeout -s KILL 10`.
REAP=${REAP:-build/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
if [ ! -x "$REAP" ]; then
    echo "FAIL hardening_setup: $REAP is not an executable"
    exit 1
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/reap-e2e-hard.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1

# check NAME CODE NEEDLE: judges the last run (rc, se.txt): exit code, one "reap: error:" line
# (warnings aside) naming NEEDLE, no crash report.
check() {
    name=$1 code=$2 needle=$3
    grep -v "^reap: warning: " se.txt >se1.txt
    n=$(wc -l <se1.txt)
    why=
    if grep -qE 'runtime error|Sanitizer|internal error|Segmentation|core dumped' se.txt; then why="crash report"
    elif [ "$rc" -ne "$code" ]; then why="exit $rc, expected $code"
    elif [ "$code" -ne 0 ] && [ "$n" -ne 1 ]; then why="$n stderr lines besides warnings, expected 1"
    elif [ "$code" -ne 0 ] && ! grep -q '^reap: error: ' se1.txt; then why="the line does not start with 'reap: error:'"
    elif [ -n "$needle" ] && ! grep -qF -- "$needle" se1.txt; then why="the message does not name '$needle'"
    fi
    if [ -z "$why" ]; then echo "PASS $name"; else echo "FAIL $name: $why"; head -5 se.txt | sed 's/^/    /'; fi
}

# expect NAME CODE NEEDLE ARGS...: runs reap ARGS (killed after 10 s) and checks it.
expect() {
    name=$1 code=$2 needle=$3
    shift 3
    timeout -s KILL 10 "$REAP" "$@" >so.txt 2>se.txt </dev/null
    rc=$?
    check "$name" "$code" "$needle"
}

# bounded NAME CODE NEEDLE ARGS...: as expect, and the run must take at most a second of wall
# time and 100 MB of peak RSS (GNU time's %M), so that a lying size cannot drive work or memory.
bounded() {
    name=$1 code=$2 needle=$3
    shift 3
    /usr/bin/time -f "%e %M" -o time.txt timeout -s KILL 10 "$REAP" "$@" >so.txt 2>se.txt </dev/null
    rc=$?
    check "$name" "$code" "$needle"
    read -r secs kb <<END
$(tail -n 1 time.txt)
END
    if awk -v s="$secs" -v k="$kb" 'BEGIN { exit !(s <= 1.0 && k <= 100 * 1024) }'; then
        echo "PASS ${name}_bounded"
    else
        echo "FAIL ${name}_bounded: ${secs} s, ${kb} KB (limits 1 s, 100 MB)"
    fi
}

if ! "$REAP" synth m --preset tiny -q; then
    echo "FAIL hardening_setup: reap synth"
    exit 1
fi
sargs="--device cpu --calib builtin:4 --rows 1 --seq-len 16 -q"

# ---- class 1: bounded work from small inputs
cp -r m bigE && sed 's/"num_local_experts":[^,]*/"num_local_experts": 1000000000/' m/config.json >bigE/config.json
cp -r m bigL && sed 's/"num_hidden_layers":[^,]*/"num_hidden_layers": 100000000/' m/config.json >bigL/config.json
for c in bigE bigL; do
    bounded "inspect_config_$c" 1 "config.json" inspect $c
    bounded "prune_config_$c" 1 "config.json" prune $c -o out --ratio 0
    bounded "score_config_$c" 1 "config.json" score $c $sargs -o o.json
done
cp -r m bigid && python3 - <<'PY'
import json
t = json.load(open("m/tokenizer.json"))
t["model"]["vocab"]["zzhuge"] = 2000000000
json.dump(t, open("bigid/tokenizer.json", "w"))
PY
bounded tokenizer_huge_id 1 "id 2000000000" tokenize bigid --text hi
python3 -c "import json; print(json.dumps({'text': 'hello world, this is text. ' * 800000}))" >bigrec.jsonl
bounded calib_huge_record 0 "" calib m --calib bigrec.jsonl --rows 1 --seq-len 32
bounded score_huge_record 0 "" score m --device cpu --calib bigrec.jsonl --rows 1 --seq-len 16 -q -o big.json

#!/bin/sh
# compare_builds.sh: the statistics of two reap builds on the same checkpoints and calibration rows,
# for a refactor that must not change the numbers (issue 11): synthesised tiny, small and two
# true-width MiniMax-M2 layers, each scored by OLD and NEW on DEVICE; the files are compared with
# tests/tool_statsdiff (counts and max_act exactly, sums within TOL: 0 = bit for bit), and the text
# of the two files with the keys a build may add to "calibration" (device, gpu) removed.
#   OLD=dir/reap NEW=dir/reap DIFF=dir/tool_statsdiff DEVICE=cpu|cuda TOL=0 WORK=scratch M2=1 M2_ROWS=8 sh bench/compare_builds.sh
OLD=${OLD:?OLD=path of the old reap}
NEW=${NEW:?NEW=path of the new reap}
DIFF=${DIFF:-build/tests/tool_statsdiff}
DEVICE=${DEVICE:-cpu}
TOL=${TOL:-0}
WORK=${WORK:-/tmp/reap-compare}
mkdir -p "$WORK"
pass=0 fail=0
strip() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [d["calibration"].pop(k,None) for k in ("device","gpu")]; print(json.dumps(d,sort_keys=True))' "$1"; }
one() { # name ckpt score-args...
    name=$1 ck=$2
    shift 2
    "$OLD" score "$ck" --device "$DEVICE" "$@" -o "$WORK/$name.old.json" -q || { echo "FAIL $name: old build"; fail=$((fail+1)); return; }
    "$NEW" score "$ck" --device "$DEVICE" "$@" -o "$WORK/$name.new.json" -q || { echo "FAIL $name: new build"; fail=$((fail+1)); return; }
    if "$DIFF" "$WORK/$name.old.json" "$WORK/$name.new.json" "$TOL" >"$WORK/$name.diff"; then
        same=numbers
        [ "$(strip "$WORK/$name.old.json")" = "$(strip "$WORK/$name.new.json")" ] && same="numbers and text (less device/gpu keys)"
        echo "PASS $name: $same identical at tolerance $TOL"
        pass=$((pass+1))
    else
        echo "FAIL $name: $(head -3 "$WORK/$name.diff" | tr '\n' ' ')"
        fail=$((fail+1))
    fi
}
[ -d "$WORK/tiny" ] || "$NEW" synth "$WORK/tiny" --preset tiny -q
[ -d "$WORK/small" ] || "$NEW" synth "$WORK/small" --preset small -q
one tiny "$WORK/tiny" --calib builtin:60 --rows 6 --seq-len 200
one tiny_softmax "$WORK/tiny" --calib builtin:60 --rows 4 --seq-len 130 --router softmax-renorm
one small "$WORK/small" --calib builtin:60 --rows 8 --seq-len 512
if [ "${M2:-1}" = 1 ]; then
    [ -d "$WORK/m2" ] || "$NEW" synth "$WORK/m2" --preset minimax-m2 --layers 2 -q
    one m2_2layers "$WORK/m2" --calib builtin --rows "${M2_ROWS:-8}" --seq-len 2048
fi
echo "compare_builds $DEVICE: $pass passed, $fail failed"
[ $fail -eq 0 ]

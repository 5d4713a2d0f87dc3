#!/bin/sh
# run.sh: runs every test binary (build/tests/test_*), every end-to-end script (tests/e2e_*.sh),
# every Python cross-check (tests/py/check_*.py, in a venv with numpy/safetensors/tokenizers) and
# the kernel harnesses listed in DEV_TESTS (build/dev/dev_kernels ..., which `make test` passes in a
# CUDA build; timings off: DEV_NO_TIMING=1). Each prints "PASS name" / "FAIL name" lines; a program
# that crashes or exits non-zero without a FAIL line counts as one failure; one that only prints a
# "SKIP ..." line (no GPU, CPU-only build) is listed as skipped and counts nothing. Ends with
# "N passed, N failed"; exits 1 on any failure. SAN_UNIT=DIR: also DIR/tests/test_* (the unit tests
# built with ASan + UBSan by make test's san-unit step), as san-test_*, or a SKIP line when
# DIR/san-unavailable says the sanitizer runtime is missing.
BUILD=${BUILD:-build}
export BUILD
export REAP="$PWD/$BUILD/reap"
LOG=$BUILD/test-logs
mkdir -p "$LOG"
pass=0
fail=0
failed_names=""

run_one() { # name, command...
    name=$1
    shift
    out="$LOG/$name.log"
    start=$(date +%s)
    # Sanitizer reports (make SAN=1) go to files too, so that a report from a command whose stderr a
    # test discards, or whose failure it expects, still fails the run.
    san="$PWD/$LOG/sanitizer-$name"
    rm -f "$san".*
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$san" UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$san" \
        "$@" >"$out" 2>&1
    rc=$?
    for r in "$san".*; do
        [ -f "$r" ] || continue
        echo "FAIL $name: sanitizer report $r" >>"$out"
        head -20 "$r" >>"$out"
    done
    p=$(grep -c '^PASS ' "$out")
    f=$(grep -c '^FAIL ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name (exit $rc)" >>"$out"
        f=1
    fi
    pass=$((pass + p))
    fail=$((fail + f))
    secs=$(( $(date +%s) - start ))
    if [ "$f" -ne 0 ]; then
        echo "FAIL  $name: $p passed, $f failed (${secs}s) -- log $out"
        grep -B5 '^FAIL ' "$out" | head -40 | sed 's/^/    /'
        failed_names="$failed_names $name"
    elif [ "$p" -eq 0 ] && grep -q '^SKIP ' "$out"; then
        why=$(grep -m1 '^SKIP ' "$out" | sed "s/^SKIP //; s/^$name: //")
        echo "SKIP  $name: $why"
    else
        echo "ok    $name: $p passed (${secs}s)"
    fi
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "$(basename "$t")" "$t"
done

# The unit tests again under ASan + UBSan (make test's san-unit step built them in $SAN_UNIT).
if [ -n "$SAN_UNIT" ]; then
    if [ -f "$SAN_UNIT/san-unavailable" ]; then
        echo "SKIP  san-unit: $(cat "$SAN_UNIT/san-unavailable")"
    else
        for t in "$SAN_UNIT"/tests/test_*; do
            [ -x "$t" ] || continue
            run_one "san-$(basename "$t")" "$t"
        done
    fi
fi

for s in tests/e2e_*.sh; do
    [ -f "$s" ] || continue
    run_one "$(basename "$s" .sh)" sh "$s"
done

if ls tests/py/check_*.py >/dev/null 2>&1; then
    if sh tests/pyenv.sh "$BUILD/venv" >"$LOG/pyenv.log" 2>&1; then
        for s in tests/py/check_*.py; do
            run_one "$(basename "$s" .py)" "$BUILD/venv/bin/python" "$s"
        done
    else
        echo "FAIL  pyenv: could not create the Python venv (log $LOG/pyenv.log)"
        tail -5 "$LOG/pyenv.log" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
fi

if [ -n "$DEV_TESTS" ]; then
    for t in $DEV_TESTS; do
        run_one "$(basename "$t")" env DEV_NO_TIMING=1 "$t"
    done
else
    echo "SKIP  kernels/dev: the kernel harnesses need a CUDA build (make CUDA=1 test) and a GPU"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

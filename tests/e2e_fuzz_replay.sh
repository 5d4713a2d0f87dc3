#!/bin/sh
# e2e_fuzz_replay.sh: every fuzz target's seeds (tests/fuzz/corpus/<target>/) and the inputs of
# its past findings (tests/fuzz/regressions/<target>/) run once through the target built by gcc
# against the normal library ($BUILD/fuzz-replay/fuzz_<target>, tests/fuzz/replay.c as main).
# A finding that comes back crashes, aborts on a target's invariant, or (make SAN=1) reports; each
# target gets 120 s and, outside ASan builds (whose shadow memory needs a large address space),
# 2 GB of address space, so a blow-up found by the fuzzer fails here too.
BUILD=${BUILD:-build}
n=0
for b in "$BUILD"/fuzz-replay/fuzz_*; do
    [ -x "$b" ] || continue
    t=${b##*/fuzz_}
    n=$((n + 1))
    lim="ulimit -v 2000000;"
    grep -q __asan_init "$b" && lim=
    if ! sh -c "$lim exec timeout 120 \"\$0\" \"\$@\"" "$b" "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t" \
        2>"$BUILD/fuzz-replay/$t.log"; then
        echo "FAIL fuzz_$t: an input crashed or failed (log $BUILD/fuzz-replay/$t.log)"
        tail -5 "$BUILD/fuzz-replay/$t.log"
    fi
done
[ "$n" -gt 0 ] || echo "FAIL e2e_fuzz_replay: no replay binaries in $BUILD/fuzz-replay"

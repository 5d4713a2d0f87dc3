#!/bin/sh
# e2e_bundle.sh: examples/bundle.sh makes a relocatable copy of $REAP that runs from anywhere with
# LD_LIBRARY_PATH unset and loads its non-system libraries from the bundle.
REAP=${REAP:-build/reap}
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_bundle.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

if sh examples/bundle.sh "$REAP" "$T/dist/reap" >"$T/log" 2>&1; then
    echo "PASS bundle_builds"
else
    echo "FAIL bundle_builds: $(tail -3 "$T/log")"
    exit 0
fi
mv "$T/dist/reap" "$T/moved"  # relocatable: works after a move
if (cd / && env -u LD_LIBRARY_PATH "$T/moved/bin/reap" --version) | grep -q '^reap '; then
    echo "PASS bundle_runs_after_move_without_ld_library_path"
else
    echo "FAIL bundle_runs_after_move_without_ld_library_path"
fi
libs=$(env -u LD_LIBRARY_PATH ldd "$T/moved/bin/reap")
if echo "$libs" | grep -q "libcjson.so.1 => $T/moved/bin/../lib/" && echo "$libs" | grep -q "libarchive.so.13 => $T/moved/bin/../lib/"; then
    echo "PASS bundle_loads_cjson_and_libarchive_from_bundle"
else
    echo "FAIL bundle_loads_cjson_and_libarchive_from_bundle: $(echo "$libs" | grep -E 'cjson|archive')"
fi

# The documented way: `make bundle` from the repository root, with a relative destination (the
# script once compared ldd's absolute paths with a relative one and failed only there).
rel=$BUILD/e2e_bundle_make/reap
rm -rf "$BUILD/e2e_bundle_make"
if make -s BUILD="$BUILD" CUDA="${CUDA:-auto}" BUNDLE_DIR="$rel" bundle >"$T/make.log" 2>&1 &&
    env -u LD_LIBRARY_PATH "$rel/bin/reap" --version | grep -q '^reap '; then
    echo "PASS make_bundle_relative_destination"
else
    echo "FAIL make_bundle_relative_destination: $(tail -3 "$T/make.log")"
fi
rm -rf "$BUILD/e2e_bundle_make"
exit 0

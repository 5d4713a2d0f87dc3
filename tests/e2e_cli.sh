#!/bin/sh
# e2e_cli: the manners of the command line: `make install` into a DESTDIR puts a working reap in
# PREFIX/bin; `reap help CMD` prints exactly `reap CMD --help`; a mistyped command or long option
# gets a "did you mean" naming the right one, with exit 2.
REAP=${REAP:-build/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
BUILD=${BUILD:-build}
dir=$(mktemp -d "${TMPDIR:-/tmp}/reap-e2e-cli.XXXXXX")
trap 'rm -rf "$dir"' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }

if make -s install BUILD="$BUILD" ${CUDA:+CUDA=$CUDA} DESTDIR="$dir/stage" PREFIX=/opt/reap >"$dir/install.log" 2>&1 &&
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
for c in synth inspect tokenize calib score merge report prune verify; do
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

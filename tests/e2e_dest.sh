#!/bin/sh
# e2e_dest: outputs given as special files. The atomic write-then-rename is for regular files only:
# a character device (a copy of /dev/null's node, made in a test dir) or a FIFO given with -o,
# --svg or --csv is written in place and stays what it was; prune --force never renames a device
# aside; a directory is refused; a symbolic link to a file stays a link and its file is replaced.
REAP=${REAP:-build/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
dir=$(mktemp -d "${TMPDIR:-/tmp}/reap-e2e-dest.XXXXXX")
rpid=
trap '[ -n "$rpid" ] && kill "$rpid" 2>/dev/null; rm -rf "$dir"' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }

ck=$dir/ck
if "$REAP" synth "$ck" --preset tiny --layers 2 -q; then ok dest_synth; else bad dest_synth; exit 1; fi
args="--device cpu --calib builtin:20 --rows 4 --seq-len 64 -q"
"$REAP" score "$ck" $args -o "$dir/stats.json" || { bad dest_score; exit 1; }

# is_chr_null PATH: still a character device with /dev/null's numbers (1, 3).
is_chr_null() { [ -c "$1" ] && [ "$(stat -c '%t,%T' "$1")" = "1,3" ]; }

if mknod "$dir/null" c 1 3 2>/dev/null; then
    rc=0
    "$REAP" score "$ck" $args -o "$dir/null" || rc=$?
    if [ $rc -eq 0 ] && is_chr_null "$dir/null"; then ok score_output_to_device_keeps_the_node
    else bad score_output_to_device_keeps_the_node "exit $rc, $(ls -l "$dir/null")"; fi
    rc=0
    "$REAP" report "$dir/stats.json" --svg "$dir/null" --csv "$dir/null" >/dev/null || rc=$?
    if [ $rc -eq 0 ] && is_chr_null "$dir/null"; then ok report_svg_csv_to_device_keep_the_node
    else bad report_svg_csv_to_device_keep_the_node "exit $rc, $(ls -l "$dir/null")"; fi
    rc=0
    "$REAP" merge "$dir/stats.json" -o "$dir/null" >/dev/null 2>&1 || rc=$?
    if [ $rc -eq 0 ] && is_chr_null "$dir/null"; then ok merge_output_to_device_keeps_the_node
    else bad merge_output_to_device_keeps_the_node "exit $rc, $(ls -l "$dir/null")"; fi
    "$REAP" prune "$ck" --scores "$dir/stats.json" --ratio 0.25 -o "$dir/null" --force -q 2>"$dir/err.txt"
    rc=$?
    if [ $rc -ne 0 ] && is_chr_null "$dir/null" && grep -q "not a directory" "$dir/err.txt" &&
        [ -z "$(ls "$dir" | grep -E '^null\.(old|tmp)')" ]; then
        ok prune_force_refuses_a_device_node
    else
        bad prune_force_refuses_a_device_node "exit $rc, $(ls -l "$dir/null"), $(cat "$dir/err.txt")"
    fi
    ls "$dir" | grep -q '\.tmp\.' && bad dest_no_temp_files_left "$(ls "$dir")" || ok dest_no_temp_files_left
else
    echo "SKIP device-node cases: mknod needs root"
fi

# A FIFO with a reader gets the bytes, and stays a FIFO.
mkfifo "$dir/fifo"
cat "$dir/fifo" >"$dir/from_fifo.json" &
rpid=$!
rc=0
"$REAP" merge "$dir/stats.json" -o "$dir/fifo" >/dev/null 2>&1 || rc=$?
wait $rpid
rpid=
"$REAP" merge "$dir/stats.json" -o "$dir/merged.json" >/dev/null 2>&1
if [ $rc -eq 0 ] && [ -p "$dir/fifo" ] && cmp -s "$dir/from_fifo.json" "$dir/merged.json"; then ok output_to_fifo_written_in_place
else bad output_to_fifo_written_in_place "exit $rc"; fi

# A directory as a file output: refused with its name, left as it was.
mkdir "$dir/adir"
if "$REAP" report "$dir/stats.json" --csv "$dir/adir" >/dev/null 2>"$dir/err.txt"; then bad file_output_refuses_a_directory "exit 0"
elif [ -d "$dir/adir" ] && grep -q "adir" "$dir/err.txt"; then ok file_output_refuses_a_directory
else bad file_output_refuses_a_directory "$(cat "$dir/err.txt")"; fi

# A symbolic link to a file: the link stays, the file it names gets the output.
echo old >"$dir/target.csv"
ln -s target.csv "$dir/link.csv"
if "$REAP" report "$dir/stats.json" --csv "$dir/link.csv" >/dev/null && [ -L "$dir/link.csv" ] &&
    [ "$(readlink "$dir/link.csv")" = target.csv ] && grep -q "layer" "$dir/target.csv"; then
    ok output_through_symlink_keeps_the_link
else
    bad output_through_symlink_keeps_the_link "$(ls -l "$dir/link.csv") $(head -c 100 "$dir/target.csv")"
fi

# A regular file under /dev (/dev/shm, where the machine has it) is an ordinary output: replaced
# whole by a second run (it was taken for a descriptor path and appended to, so the file held both
# runs and read back as the first's statistics).
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    shm=$(mktemp -d /dev/shm/reap-e2e-dest.XXXXXX)
    "$REAP" score "$ck" --device cpu --calib builtin:20 --rows 2 --seq-len 64 -q -o "$shm/s.json"
    "$REAP" score "$ck" $args -o "$shm/s.json"
    if cmp -s "$shm/s.json" "$dir/stats.json"; then ok shm_file_output_replaced_not_appended
    else bad shm_file_output_replaced_not_appended "$(wc -c <"$shm/s.json") bytes, a fresh run writes $(wc -c <"$dir/stats.json")"; fi
    rm -rf "$shm"
else
    echo "note: no writable /dev/shm, shm_file_output_replaced_not_appended not run"
fi

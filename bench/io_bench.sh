#!/bin/sh
# io_bench.sh: reap's disk-bound commands against what the disk allows, in one run (issue 16):
#  1. the disk: every shard of the checkpoint read at once with `dd iflag=direct` (parallel
#     O_DIRECT, no page cache), and one shard after another (one stream);
#  2. `reap score` with a cold page cache and few tokens (the loader is the bound): its read rate
#     ("run: read ... GB/s", loader time) and the start-up (process start to the first layer ready);
#  3. `reap prune --ratio 0.30` against `cp -r` + `sync` of the same checkpoint (prune fsyncs what it
#     writes, so the copy's write-back is counted), each from a cold page cache, REPEATS times,
#     alternating which runs first; prune with one thread (-t 1) and with the default; the bytes
#     the last prune read and wrote;
#  4. `reap verify` against reading both checkpoints once (parallel O_DIRECT and `cat`), cold;
#     VERIFY1=path of a build with -DVERIFY_THREADS=1 adds the one-stream verify.
# The page cache is dropped as root before every timed run (echo 3 > /proc/sys/vm/drop_caches);
# without root the script stops: a warm cache would make every figure meaningless.
#   BIN=dir with reap and tests/tool_synth_stats (default build; or SYNTH_STATS=path of that tool,
#   else $BIN/../tests/tool_synth_stats as in a bundle)  WORK=scratch (/tmp/reap-bench)
#   LAYERS (4: a 16 GB MiniMax-M2-shaped checkpoint)  REPEATS (2)  ROWS (64)  SEQ (2048)  OUT (.)
#   PRUNE_THREADS (empty): more writer counts to time once each, e.g. "2 4 16"
BIN=${BIN:-build}
WORK=${WORK:-/tmp/reap-bench}
OUT=${OUT:-.}
LAYERS=${LAYERS:-4}
REPEATS=${REPEATS:-2}
ROWS=${ROWS:-64}
SEQ=${SEQ:-2048}
R=$BIN/reap
M=$WORK/m2
mkdir -p "$WORK" "$OUT"
LOG=$OUT/io_bench.log
: >"$LOG"
say() { echo "$*" | tee -a "$LOG"; }
drop() { sync && echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
el() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
drop 2>/dev/null || { echo "io_bench: cannot drop the page cache (needs root)" >&2; exit 1; }
say "# io_bench $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname), $(nproc) cores, $LAYERS layers, repeats $REPEATS"
if [ ! -f "$M/config.json" ]; then
    t0=$(now)
    "$R" synth "$M" --preset minimax-m2 --layers "$LAYERS" -q || exit 1
    say "synth $(el "$t0" "$(now)") s"
fi
SYNTH_STATS=${SYNTH_STATS:-$BIN/tests/tool_synth_stats}
[ -x "$SYNTH_STATS" ] || SYNTH_STATS=$BIN/../tests/tool_synth_stats
[ -f "$WORK/stats.json" ] || "$SYNTH_STATS" "$M" "$WORK/stats.json" 7 || exit 1
src_bytes=$(du -sbL "$M/" | cut -f1)
say "source $M: $(awk -v b="$src_bytes" 'BEGIN { printf "%.2f GB", b / 1e9 }'), $(ls "$M"/*.safetensors | wc -l) shards"

# 1. the disk
par_read() { # files...: every file read at once with O_DIRECT; prints seconds
    t0=$(now)
    for f in "$@"; do dd if="$f" of=/dev/null bs=16M iflag=direct status=none & done
    wait
    el "$t0" "$(now)"
}
drop; t=$(par_read "$M"/*.safetensors)
shard_bytes=$(cat "$M"/*.safetensors | wc -c)
odirect=$(awk -v b="$shard_bytes" -v t="$t" 'BEGIN { printf "%.3f", b / t / 1e9 }')
say "disk: parallel O_DIRECT read of the shards: $t s, $odirect GB/s"
drop; t0=$(now); for f in "$M"/*.safetensors; do dd if="$f" of=/dev/null bs=16M iflag=direct status=none; done
t=$(el "$t0" "$(now)")
say "disk: one O_DIRECT stream, shard after shard: $t s, $(awk -v b="$shard_bytes" -v t="$t" 'BEGIN { printf "%.3f", b / t / 1e9 }') GB/s"

# 2. reap score's loader, cold
[ -f "$WORK/python-src-8m.jsonl" ] || sh bench/python_src.sh "$WORK/python-src-8m.jsonl" 8e6 || exit 1
dev=cpu
nvidia-smi >/dev/null 2>&1 && dev=cuda
drop
t0=$(now)
"$R" score "$M" --device "$dev" --calib "$WORK/python-src-8m.jsonl" --rows "$ROWS" --seq-len "$SEQ" -o "$WORK/score.json" -v \
    >"$WORK/score.log" 2>&1
t1=$(now)
sed -n 's/^run: /score run: /p' "$WORK/score.log" | tee -a "$LOG"
awk -v od="$odirect" '/^run: read/ { s = $0; sub(/.*time \(/, "", s); sub(/ GB.*/, "", s)
                                         printf "score: loader %s GB/s = %.0f%% of parallel O_DIRECT\n", s, 100 * s / od }
     /^run: [0-9]/ { s = $0; sub(/.*ready /, "", s); sub(/ s,.*/, "", s)
                     printf "score: first layer ready %s s after the pipeline started\n", s }' "$WORK/score.log" | tee -a "$LOG"
say "score: process wall $(el "$t0" "$t1") s ($dev, $ROWS x $SEQ tokens)"
# reap's own start-up figure (from the kernel's process start time) when it prints one; else the
# process wall less the pipeline's after the first layer (which also counts the teardown)
awk -v pw="$(el "$t0" "$t1")" '/^run: [0-9]/ { w = $0; sub(/.*wall /, "", w); sub(/ s,.*/, "", w)
     r = $0; sub(/.*ready /, "", r); sub(/ s,.*/, "", r) }
     /^run: first layer ready .* after the process started/ { p = $5 }
     END { if (p) printf "score: start-up, process start to the first layer ready: %.2f s (reap'"'"'s figure; from the walls %.2f s)\n", p, pw - w + r
           else printf "score: start-up, process start to the first layer ready: %.2f s (%.2f s before the layer pipeline)\n", pw - w + r, pw - w }' \
    "$WORK/score.log" | tee -a "$LOG"

# 3. prune vs cp -r + sync
time_cp() {
    rm -rf "$WORK/cp"; drop
    t0=$(now); cp -r "$M/" "$WORK/cp"; sync; cp_s=$(el "$t0" "$(now)")
    rm -rf "$WORK/cp"
}
time_prune() { # label, options
    lab=$1
    shift
    rm -rf "$WORK/p-$lab"; drop
    t0=$(now)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f "%M %I %O" -o "$WORK/rss" "$R" prune "$M" -o "$WORK/p-$lab" --ratio 0.30 --scores "$WORK/stats.json" -q "$@"
    else
        "$R" prune "$M" -o "$WORK/p-$lab" --ratio 0.30 --scores "$WORK/stats.json" -q "$@"
        echo 0 0 0 >"$WORK/rss"
    fi
    p_s=$(el "$t0" "$(now)")
    rss=$(awk '{ printf "%.0f", $1 / 1024 }' "$WORK/rss")
    p_io=$(awk '{ printf "read %.2f GB, wrote %.2f GB", $2 * 512 / 1e9, $3 * 512 / 1e9 }' "$WORK/rss")  # 512-byte blocks
}
say "| run | cp -r + sync s | prune -t 1 s | prune s | prune -t 1 / cp | prune / cp | prune peak RSS MiB |"
say "|---|---|---|---|---|---|---|"
for r in $(seq "$REPEATS"); do
    if [ $((r % 2)) -eq 1 ]; then
        time_cp; time_prune t1 -t 1; p1=$p_s; time_prune def; pd=$p_s
    else
        time_prune def; pd=$p_s; time_prune t1 -t 1; p1=$p_s; time_cp
    fi
    say "| $r | $cp_s | $p1 | $pd | $(awk -v a="$p1" -v b="$cp_s" 'BEGIN { printf "%.2f", a / b }') |" \
        "$(awk -v a="$pd" -v b="$cp_s" 'BEGIN { printf "%.2f", a / b }') | $rss |"
done
rm -rf "$WORK/p-t1"
for t in $PRUNE_THREADS; do  # other writer counts, once each, against the last copy's time
    time_prune t$t -t "$t"
    say "prune -t $t: $p_s s = $(awk -v a="$p_s" -v b="$cp_s" 'BEGIN { printf "%.2f", a / b }') of the last cp -r + sync"
    rm -rf "$WORK/p-t$t"
done
out_bytes=$(du -sb "$WORK/p-def" | cut -f1)
say "pruned: $(awk -v b="$out_bytes" 'BEGIN { printf "%.2f GB", b / 1e9 }'); the last prune $p_io (GNU time's block counts)"

# 4. verify vs reading both once
for r in $(seq "$REPEATS"); do
    drop; t=$(par_read "$M"/*.safetensors "$WORK"/p-def/*.safetensors)
    drop; t0=$(now); cat "$M"/* "$WORK"/p-def/* >/dev/null; tc=$(el "$t0" "$(now)")
    drop; t0=$(now); "$R" verify "$M" "$WORK/p-def" -q >/dev/null || say "verify FAILED"; tv=$(el "$t0" "$(now)")
    line="verify run $r: reap verify $tv s; reading both once: parallel O_DIRECT $t s, cat $tc s"
    if [ -n "$VERIFY1" ]; then
        drop; t0=$(now); "$VERIFY1" verify "$M" "$WORK/p-def" -q >/dev/null; line="$line; one-stream verify $(el "$t0" "$(now)") s"
    fi
    say "$line"
done
rm -rf "$WORK/p-def"

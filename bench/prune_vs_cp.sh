#!/bin/sh
# prune_vs_cp.sh: `reap prune --ratio 0.30` of a synthesised checkpoint against `cp -r` of the same
# directory on the same disk, alternating the two, REPEATS times per size; peak RSS of prune from
# /usr/bin/time -v. Sizes are MiniMax-M2-shaped checkpoints (real expert shapes: 256 experts of
# 3 x 1536 x 3072 FP8 per layer) with LAYERS layers and a 32768-row vocabulary: 1 layer = 4.07 GB,
# 2 layers = 7.7 GB.
#
#   sh bench/prune_vs_cp.sh [WORKDIR] [REPEATS] [LAYERS...]    (default: /tmp/reap-bench 3 1 2)
#
# Dropping the whole page cache needs root privileges this machine's sandbox does not give
# (/proc/sys/vm/drop_caches is read-only). Instead, before every timed run, the source files' pages
# are evicted one file at a time (dd iflag=nocache count=0 = posix_fadvise DONTNEED, checked with
# fincore), so both commands read a cold source, as they would for a checkpoint larger than RAM
# (the host under this VM may still cache the virtual disk: timings vary run to run, hence
# alternation and repeats; odd runs start with cp, even runs with prune). `reap prune` fsyncs
# every file it writes; plain `cp -r` does not, so the table gives cp -r alone and cp -r followed
# by `sync` (the comparable durable copy). `sync` runs before every timed run.
set -e
REAP=${REAP:-$PWD/build/reap}
STATS_TOOL=${STATS_TOOL:-$PWD/build/tests/tool_synth_stats}
W=${1:-/tmp/reap-bench}
REPEATS=${2:-3}
shift 2 2>/dev/null || shift $#
LAYERS=${*:-1 2}
mkdir -p "$W"
echo "| layers | source | pruned | run | prune s | cp -r s | cp -r + sync s | prune / cp | prune / (cp+sync) | prune peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|"
evict() { for f in "$src"/*; do dd if="$f" iflag=nocache count=0 status=none; done; sync; }
time_cp() {
    evict
    t0=$(date +%s.%N)
    cp -r "$src" "$W/cp"
    t1=$(date +%s.%N)
    sync
    t2=$(date +%s.%N)
    rm -rf "$W/cp"
}
time_prune() {
    evict
    /usr/bin/time -v "$REAP" prune "$src" -o "$W/pruned" --ratio 0.30 --scores "$W/stats-$L.json" -q 2>"$W/time.log"
    prune_s=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$W/time.log" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/time.log")
}
for L in $LAYERS; do
    src=$W/src-$L
    if [ ! -e "$src" ]; then
        "$REAP" synth "$src" --preset minimax-m2 --layers "$L" --vocab 32768 -q
        "$STATS_TOOL" "$src" "$W/stats-$L.json" 7
    fi
    src_bytes=$(du -sb "$src" | cut -f1)
    for r in $(seq "$REPEATS"); do
        rm -rf "$W/cp" "$W/pruned"
        if [ $((r % 2)) -eq 1 ]; then time_cp; time_prune; else time_prune; time_cp; fi
        out_bytes=$(du -sb "$W/pruned" | cut -f1)
        awk -v L="$L" -v sb="$src_bytes" -v ob="$out_bytes" -v r="$r" -v p="$prune_s" -v a="$t0" -v b="$t1" -v c="$t2" \
            -v rss="$rss_kb" 'BEGIN { cp = b - a; cps = c - a;
            printf "| %d | %.2f GB | %.2f GB | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f MiB |\n",
                   L, sb / 1e9, ob / 1e9, r, p, cp, cps, p / cp, p / cps, rss / 1024 }'
        rm -rf "$W/pruned"
    done
done

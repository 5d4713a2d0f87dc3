#!/bin/sh
# e2e_pagecache.sh: reap drops the model's pages from the page cache after reading them (so that
# streaming a model larger than RAM does not evict everything else), and --keep-page-cache (or
# REAP_KEEP_PAGE_CACHE=1) leaves them cached. The pages are evicted first with `dd iflag=nocache`
# (posix_fadvise DONTNEED, no root needed) and counted with util-linux's fincore; where either does
# not work here the script prints a SKIP line.
REAP=${REAP:-$PWD/build/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_pagecache.XXXXXX")
trap 'rm -rf "$T"' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }
command -v fincore >/dev/null || { echo "SKIP e2e_pagecache: no fincore"; exit 0; }
"$REAP" synth "$T/m" --preset tiny -q || { bad pagecache_synth; exit 0; }
"$REAP" prune "$T/m" --ratio 0.25 -o "$T/p" -q 2>/dev/null || { bad pagecache_prune; exit 0; }
evict() { for f in "$T"/m/*.safetensors; do dd if="$f" iflag=nocache count=0 status=none; done; }
cached() { fincore -b -n -o RES "$T"/m/*.safetensors | awk '{ s += $1 } END { print s + 0 }'; }
size=$(cat "$T"/m/*.safetensors | wc -c)
evict
if [ "$(cached)" != 0 ]; then echo "SKIP e2e_pagecache: pages cannot be evicted here"; exit 0; fi

"$REAP" verify "$T/m" "$T/p" -q >/dev/null
dropped=$(cached)
evict
"$REAP" verify "$T/m" "$T/p" -q --keep-page-cache >/dev/null
kept=$(cached)
evict
REAP_KEEP_PAGE_CACHE=1 "$REAP" verify "$T/m" "$T/p" -q >/dev/null
kept_env=$(cached)
# verify reads every byte of the source; kept, all of it is cached (page-rounded), dropped, less
if [ "$kept" -ge "$size" ] && [ "$dropped" -lt "$kept" ]; then ok verify_drops_pages_unless_keep_page_cache
else bad verify_drops_pages_unless_keep_page_cache "cached after verify: $dropped default, $kept with --keep-page-cache, $size bytes"; fi
if [ "$kept_env" = "$kept" ]; then ok keep_page_cache_env_is_the_same_setting
else bad keep_page_cache_env_is_the_same_setting "$kept_env vs $kept"; fi

#!/bin/sh
# bundle.sh BINARY DEST: a relocatable reap: DEST/bin/reap plus DEST/lib/ with every shared library
# it loads that a minimal Linux system (Ubuntu 24.04 / Debian 12 base image) may lack. Copy DEST
# anywhere and run DEST/bin/reap; no LD_LIBRARY_PATH needed. `make bundle` calls it.
#
# What is bundled: everything `ldd` resolves, transitively, EXCEPT the C runtime that every glibc
# system has and that must match the kernel/loader: the dynamic loader, libc, libm, libpthread, libdl,
# librt, libresolv, libutil, libgcc_s, libstdc++, and the GPU driver's libcuda (it must be the
# installed driver's). So libcjson, libarchive and its dependencies (libxml2 -> libicu, libnettle,
# liblz4, libacl, libb2, ...), libgomp, libzstd, libpcre2-8, liblzma, libbz2, libz and, in CUDA
# builds, libcudart/libcublas/libcublasLt are copied: bundling the small ones a base image usually
# has costs little and removes version skew. The binary finds them through its DT_RPATH
# $ORIGIN/../lib (Makefile RPATH; DT_RPATH also covers the libraries' own dependencies).
# glibc: the bundle needs a glibc at least as new as the build machine's (build on the oldest target).
set -e
BIN=${1:?usage: bundle.sh BINARY DEST}
DEST=${2:?usage: bundle.sh BINARY DEST}

if ! readelf -d "$BIN" | grep -E '\((RPATH|RUNPATH)\)' | grep -q '\$ORIGIN/\.\./lib'; then
    echo "bundle: $BIN has no rpath \$ORIGIN/../lib (relink it with the Makefile, which adds RPATH)" >&2
    exit 1
fi
if readelf -d "$BIN" | grep -q '(RUNPATH)'; then
    echo "bundle: $BIN uses RUNPATH, which does not apply to its libraries' dependencies (link with --disable-new-dtags)" >&2
    exit 1
fi

TMP="$DEST.tmp.$$"
trap 'rm -rf "$TMP"' EXIT INT TERM
rm -rf "$TMP"
mkdir -p "$TMP/bin" "$TMP/lib"
TMP=$(cd "$TMP" && pwd)  # absolute: ldd prints absolute paths, and the check below compares them
cp "$BIN" "$TMP/bin/reap"

system_lib() {
    case "$1" in
    linux-vdso.so* | linux-gate.so* | ld-linux*.so* | libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | \
        librt.so.* | libresolv.so.* | libutil.so.* | libgcc_s.so.* | libstdc++.so.* | libcuda.so.*) return 0 ;;
    esac
    return 1
}

# ldd lists the whole dependency closure, by soname (the name the loader looks up).
ldd "$BIN" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' >"$TMP/deps"
if ldd "$BIN" | grep -q 'not found'; then
    echo "bundle: $BIN has unresolved libraries:" >&2
    ldd "$BIN" | grep 'not found' >&2
    exit 1
fi
n=0
while read -r soname path; do
    system_lib "$soname" && continue
    cp -L "$path" "$TMP/lib/$soname"
    chmod 644 "$TMP/lib/$soname"
    n=$((n + 1))
done <"$TMP/deps"
rm -f "$TMP/deps"

{
    echo "reap bundle: bin/reap and the shared libraries it needs beyond glibc (lib/)."
    echo "Built on $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") with $(ldd --version | head -1)."
    echo "Needs glibc >= the version above. Bundled libraries:"
    ls "$TMP/lib" | sed 's/^/  /'
} >"$TMP/README.txt"

# Check: from the bundle, every bundled soname resolves inside it, with LD_LIBRARY_PATH unset.
bad=$(env -u LD_LIBRARY_PATH ldd "$TMP/bin/reap" | awk '$2 == "=>" { print $1, $3 }' | while read -r soname path; do
    system_lib "$soname" && continue
    case "$path" in "$TMP"/lib/* | "$TMP"/bin/../lib/*) ;; *) echo "$soname -> $path" ;; esac
done)
if [ -n "$bad" ]; then
    echo "bundle: libraries resolve outside the bundle:" >&2
    echo "$bad" >&2
    exit 1
fi
env -u LD_LIBRARY_PATH "$TMP/bin/reap" --version >/dev/null

rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$TMP" "$DEST"
trap - EXIT INT TERM
echo "bundle: $DEST/bin/reap + $n libraries in $DEST/lib ($(du -sh "$DEST" | cut -f1)); $(env -u LD_LIBRARY_PATH "$DEST/bin/reap" --version)"

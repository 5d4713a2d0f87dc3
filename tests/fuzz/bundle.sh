#!/bin/sh
# bundle.sh DEST BIN...: a copyable fuzzing kit: DEST/bin/ the fuzz binaries, DEST/lib/ their
# shared libraries outside glibc (libcjson, libarchive, libzstd, libpcre2, libomp and what those
# need), DEST/corpus/ the seeds, DEST/run.sh and json.dict. On another x86-64 Linux machine:
#   LD_LIBRARY_PATH=DEST/lib FUZZ_BIN_DIR=DEST/bin FUZZ_SECONDS=600 FUZZ_JOBS=8 sh DEST/run.sh
set -eu
dest=$1
shift
rm -rf "$dest"
mkdir -p "$dest/bin" "$dest/lib"
for b in "$@"; do
    cp "$b" "$dest/bin/"
    ldd "$b" | awk '/=> \// {print $3}' | while read -r so; do
        case ${so##*/} in
        libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | ld-linux* | libgcc_s.so*) ;;
        *) cp -L "$so" "$dest/lib/" ;;
        esac
    done
done
here=$(cd "$(dirname "$0")" && pwd)
cp -r "$here/corpus" "$dest/corpus"
cp "$here/run.sh" "$here/json.dict" "$dest/"
echo "fuzz kit in $dest: $(ls "$dest/bin" | wc -l) targets, libs: $(ls "$dest/lib" | tr '\n' ' ')"

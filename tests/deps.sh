#!/bin/sh
# deps.sh: installs the Debian -dev packages reap builds against, only those missing.
set -e
need=""
for p in libcjson-dev libzstd-dev libarchive-dev libpcre2-dev zstd python3-venv; do
    dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
[ -z "$need" ] && { echo "deps: all present"; exit 0; }
echo "deps: installing$need"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get install -y -q $need >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q $need >/dev/null; }
echo "deps: done"

#!/bin/sh
# deps.sh: installs the Debian packages reap builds against and its tests use, only those missing:
# the -dev libraries, zstd, python3-venv (the Python cross-checks), and Slurm with munge
# (slurmctld, slurmd, slurm-client, munge: tests/e2e_slurm.sh starts a single-node Slurm of its own
# from a temporary slurm.conf; nothing under /etc/slurm is configured).
set -e
need=""
for p in libcjson-dev libzstd-dev libarchive-dev libpcre2-dev zstd python3-venv slurmctld slurmd slurm-client munge; do
    dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
[ -z "$need" ] && { echo "deps: all present"; exit 0; }
echo "deps: installing$need"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get install -y -q $need >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q $need >/dev/null; }
echo "deps: done"

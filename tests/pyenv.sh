#!/bin/sh
# pyenv.sh DIR: a venv with the libraries the ecosystem trusts, used only by tests to cross-check
# reap's output (never by the product). Reused when already present.
set -e
V=$1
if [ -x "$V/bin/python" ] && "$V/bin/python" -c 'import numpy, safetensors, tokenizers' 2>/dev/null; then exit 0; fi
python3 -m venv "$V" 2>/dev/null || { python3 -m pip install -q virtualenv && python3 -m virtualenv -q "$V"; }
"$V/bin/python" -m pip install -q --disable-pip-version-check numpy safetensors tokenizers
"$V/bin/python" -c 'import numpy, safetensors, tokenizers'

#!/bin/sh
# check_trained.sh OUT [PYTHON]: the checks run on tools/train_moe.py's output OUT (OUT/ckpt, OUT/*.jsonl)
# with this repository's reap (build/t/reap, built with `make -j2 CUDA=0 BUILD=build/t all`):
#   1. reap inspect, score (CPU), prune 25%, verify on OUT/ckpt;
#   2. reap tokenize encodes held-out and train records and a chat-format string exactly as HF
#      `tokenizers` does (PYTHON needs tokenizers);
#   3. reap's CPU forward against transformers on 2 rows x 64 tokens of held-out text: the golden
#      comparison of tests/test_golden.c (routing sets, gate weights, expert norms, logits within
#      1e-4), with tests/golden/make_golden.py making the fixture (PYTHON needs torch, transformers
#      and accelerate; skipped when it has not). Its statistics check needs masked tokens in the
#      rows, which two full rows of one file do not have: that one check is expected to FAIL.
set -e
OUT=${1:?usage: tools/check_trained.sh OUT [PYTHON]}
PY=${2:-python3}
R=${REAP:-build/t/reap}
CK=$OUT/ckpt
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

echo "== 1. reap inspect / score / prune / verify"
$R inspect "$CK" | tail -4
$R score "$CK" --device cpu --calib "$OUT/train.jsonl" --rows 8 --seq-len 256 -o "$T/s.json" -q
$R prune "$CK" --scores "$T/s.json" --ratio 0.25 -o "$T/p" -q
$R verify "$CK" "$T/p"

echo "== 2. tokenizer: reap tokenize vs HF tokenizers"
"$PY" - "$OUT" "$R" "$T" <<'EOF'
import json, subprocess, sys
from tokenizers import Tokenizer
out, reap, tmp = sys.argv[1:4]
tok = Tokenizer.from_file(out + "/ckpt/tokenizer.json")
texts = [json.loads(l)["text"] for l in open(out + "/heldout.jsonl")][:30]
texts += [json.loads(l)["text"] for l in open(out + "/train.jsonl")][:30]
texts.append("]~!b[]~b]system\nYou are a helpful assistant.[e~[\n]~b]user\ntest \u00fcn\u00efc\u00f6d\u00e9 \u65e5\u672c\u8a9e \U0001F600[e~[\n"
             "]~b]ai\n<think>\nhm\n</think>\n\n<minimax:tool_call>\n<invoke name=\"f\">\n</invoke>\n</minimax:tool_call>[e~[\n")
with open(tmp + "/t.jsonl", "w") as f:
    for t in texts:
        f.write(json.dumps(t) + "\n")
r = subprocess.run([reap, "tokenize", out + "/ckpt", "--jsonl", tmp + "/t.jsonl"], capture_output=True, text=True, check=True)
got = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
assert len(got) == len(texts), (len(got), len(texts))
bad = [i for i, (g, t) in enumerate(zip(got, texts)) if g != tok.encode(t, add_special_tokens=False).ids]
print("%d texts, %d tokens, %d mismatches" % (len(texts), sum(map(len, got)), len(bad)))
sys.exit(1 if bad else 0)
EOF

echo "== 3. reap CPU forward vs transformers (golden comparison)"
if ! "$PY" -c 'import torch, transformers, accelerate' 2>/dev/null; then
    echo "SKIP: $PY lacks torch / transformers / accelerate"
    exit 0
fi
head -n 4 "$OUT/heldout.jsonl" > "$T/cal.jsonl"
$R calib "$CK" --calib "$T/cal.jsonl" --rows 2 --seq-len 64 -o "$T/rows.jsonl" -q
"$PY" tests/golden/make_golden.py --ckpt "$CK" --rows "$T/rows.jsonl" --out "$T/fix.json" 2>&1 | grep -v Warn | tail -3
sed -e "s#\"tests/golden/ckpt\"#\"$CK\"#; s#\"tests/golden/fixture.json\"#\"$T/fix.json\"#" \
    -e "s#\"tests/golden/calib.jsonl\"#\"$T/cal.jsonl\"#; s#include \"test.h\"#include \"tests/test.h\"#" \
    tests/test_golden.c > "$T/tg.c"
cc -O2 -std=c11 -D_GNU_SOURCE -fopenmp -I. -Ilib -Icalib -Ikernels "$T/tg.c" build/t/libreap.a \
    -lcjson -lzstd -larchive -lpcre2-8 -lm -o "$T/tg"
"$T/tg" || true

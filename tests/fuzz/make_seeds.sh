#!/bin/sh
# make_seeds.sh: regenerates the seed corpora tests/fuzz/corpus/<target>/ from real files: a tiny
# synthesised checkpoint (`reap synth --preset tiny`), tests/golden, the built-in calibration data,
# statistics written by `reap score`, and a work dir of a real run (fuzz_workdir writes those).
# Usage: sh tests/fuzz/make_seeds.sh   (after `make` and `make fuzz-build`; from the repository root)
set -eu
REAP=${REAP:-build/reap}
C=tests/fuzz/corpus
T=$(mktemp -d /tmp/reap-seeds.XXXXXX)
trap 'rm -rf "$T"' EXIT
"$REAP" synth "$T/m" --preset tiny -q
for t in safetensors index config tokenizer calib chat stats workdir; do rm -rf "$C/$t"; mkdir -p "$C/$t"; done

# safetensors: small whole files (python writes them; real shards are too big for a seed) and the
# header of a real shard with its data cut (refused: it must end exactly at the file's end).
python3 - "$C/safetensors" "$T/m/model-00002-of-00002.safetensors" <<'PY'
import json, struct, sys
out, shard = sys.argv[1], sys.argv[2]
def st(name, header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    open(f"{out}/{name}", "wb").write(struct.pack("<Q", len(h)) + h + data)
st("two-f32", {"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
               "b": {"dtype": "F32", "shape": [1, 2], "data_offsets": [8, 16]}}, bytes(range(16)))
st("mixed", {"x.weight": {"dtype": "F8_E4M3", "shape": [2, 4], "data_offsets": [0, 8]},
             "x.weight_scale_inv": {"dtype": "F32", "shape": [1, 1], "data_offsets": [8, 12]},
             "y": {"dtype": "BF16", "shape": [3], "data_offsets": [12, 18]},
             "z": {"dtype": "I64", "shape": [], "data_offsets": [18, 26]},
             "e": {"dtype": "F16", "shape": [0, 5], "data_offsets": [26, 26]}}, bytes(26))
st("empty", {}, b"")
n = struct.unpack("<Q", open(shard, "rb").read(8))[0]
h = open(shard, "rb").read(8 + n)
hdr = json.loads(h[8:])
keep = dict(list(hdr.items())[:6])
st("real-header-cut", keep, b"")
PY

# index: one for fuzz_index's own shards (a, b in shard 1; c in shard 2) and the synthesised one.
cat >"$C/index/own-shards.json" <<'J'
{"metadata": {"total_size": 36}, "weight_map": {"a": "model-00001-of-00002.safetensors",
 "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}}
J
printf '{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "outside.safetensors", "c": "../x"}}' \
    >"$C/index/bad-names.json"
cp "$T/m/model.safetensors.index.json" "$C/index/synth-tiny.json"

# config: the synthesised and golden config.json, and a minimal one.
cp "$T/m/config.json" "$C/config/synth-tiny.json"
cp tests/golden/ckpt/config.json "$C/config/golden.json"
printf '{"model_type": "minimax_m2", "hidden_size": 8, "intermediate_size": 4, "num_hidden_layers": 1,
 "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 4, "vocab_size": 16, "num_local_experts": 2,
 "num_experts_per_tok": 1, "rotary_dim": 2, "scoring_func": "softmax", "use_routing_bias": false}' \
    >"$C/config/minimal.json"

# tokenizer: the synthesised and golden tokenizer.json (each followed by a NUL and a text to encode).
{ cat "$T/m/tokenizer.json"; printf '\000def f(x):\n    return x  # <think> ok</think>'; } >"$C/tokenizer/synth-tiny"
cp tests/golden/ckpt/tokenizer.json "$C/tokenizer/golden"
python3 - "$C/tokenizer/minimal" <<'PY'
import json, sys
tok = {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3}, "merges": ["a b"]},
       "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
       "decoder": {"type": "ByteLevel"}, "normalizer": None,
       "added_tokens": [{"id": 4, "content": "<s>", "special": True}]}
open(sys.argv[1], "wb").write(json.dumps(tok).encode() + b"\0ab <s>ba")
PY

# calib: records of every shape (golden set, built-in lines, xlam, instruction with input).
cp tests/golden/calib.jsonl "$C/calib/golden.jsonl"
zstd -dc calib/data/tools.jsonl.zst | awk 'length < 1500' | head -2 >"$C/calib/tools.jsonl"
zstd -dc calib/data/code.jsonl.zst | awk 'length < 2500' | head -1 >"$C/calib/code.jsonl"
cat >"$C/calib/shapes.jsonl" <<'J'
{"query": "Weather in Oslo?", "tools": "[{\"name\": \"w\", \"parameters\": {\"city\": {\"type\": \"str\"}}}]", "answers": "[{\"name\": \"w\", \"arguments\": {\"city\": \"Oslo\", \"days\": 2}}]"}
{"query": "q", "tools": [{"name": "f", "description": "d", "parameters": {}}], "answers": [{"name": "f", "arguments": {"x": 1.5}}]}

{"instruction": "Translate", "input": "hei", "output": "hello"}
{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "a", "reasoning_content": "r"}], "tools": null}
{"text": "plain\ttext \u00e9"}
J

# chat: single records for the renderer.
zstd -dc calib/data/tools.jsonl.zst | awk 'length < 1500' | sed -n 3p >"$C/chat/tools-call.json"
zstd -dc calib/data/tools.jsonl.zst | grep '"tools"' | awk 'length < 4000' | head -1 >"$C/chat/with-tools.json"
printf '{"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}, {"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": "{\\"a\\": 1e-07}"}}]}, {"role": "tool", "content": "{\\"r\\": 89.0}"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": {"n": 1}}}]}' >"$C/chat/content-parts.json"
sed -n 2p tests/golden/calib.jsonl >"$C/chat/golden-chat.json"

# stats: a whole file and one of two shards from `reap score` on the tiny model.
printf '{"text": "def f(x): return x"}\n{"text": "print(1)"}\n' >"$T/c.jsonl"
"$REAP" score "$T/m" --calib "$T/c.jsonl" --rows 2 --seq-len 8 --device cpu -q -o "$C/stats/whole.json"
"$REAP" score "$T/m" --calib "$T/c.jsonl" --rows 2 --seq-len 8 --device cpu --shard 1/2 -q -o "$C/stats/shard-1-of-2.json"

# workdir: state.json, stats.partial.json and hidden-1.bin of a real run (see fuzz_workdir.c).
REAP_FUZZ_WORKDIR_SEEDS="$C/workdir" build/fuzz/fuzz_workdir -runs=0 >/dev/null 2>&1
ls -l "$C"/*

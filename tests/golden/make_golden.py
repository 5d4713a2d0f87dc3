#!/usr/bin/env python3
"""make_golden.py: the golden fixture for `reap score`, from an independent implementation.

Loads the committed tiny checkpoint (tests/golden/ckpt, written by `reap synth`) with
transformers' MiniMaxM2ForCausalLM in float32 (FP8 weights dequantised by transformers'
FineGrainedFP8Config), feeds it our packed rows (tests/golden/rows.jsonl, written by
`reap calib ... -o`), and records per layer, from hooks on each MoE block's experts module:
the experts the model's own router chose for every token, their gate weights, and the norm and
largest element of each chosen expert's output E_j(x) = down(silu(gate x) * up x) (recomputed in
float64 from the module's weights); the REAP statistics over unmasked tokens; and the final
logits at every 4th position. Writes one JSON file (tests/golden/fixture.json).

Needs torch and transformers (>= 5 with minimax_m2). Run where they are installed, from the
repository root:
    python3 tests/golden/make_golden.py --out tests/golden/fixture.json
tests/test_golden.c compares `reap score`'s CPU path with the fixture.
"""
import argparse
import dataclasses
import json
import math
import os
import sys

import torch
import transformers
from transformers import FineGrainedFP8Config, MiniMaxM2Config, MiniMaxM2ForCausalLM


def r9(x):
    return float("%.9g" % x)


def load_config(path):
    """config.json as transformers' strict config class accepts it. The committed tests/golden/ckpt
    was written before `reap synth` learnt to write integral floats as 0.0 (router_jitter_noise was
    written as 0, which the class refuses); current synth output needs no conversion."""
    d = json.load(open(path))
    try:
        types = {f.name: str(f.type) for f in dataclasses.fields(MiniMaxM2Config)}
    except TypeError:
        types = {}
    for key, v in list(d.items()):
        t = types.get(key, "")
        if isinstance(v, int) and not isinstance(v, bool) and "float" in t and "int" not in t:
            d[key] = float(v)
            print("config: %s %r read as %r" % (key, v, d[key]))
    return d, MiniMaxM2Config.from_dict(d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="tests/golden/ckpt")
    ap.add_argument("--rows", default="tests/golden/rows.jsonl")
    ap.add_argument("--out", default="tests/golden/fixture.json")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()

    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cfg, config = load_config(os.path.join(a.ckpt, "config.json"))
    block = cfg["quantization_config"]["weight_block_size"]
    model = MiniMaxM2ForCausalLM.from_pretrained(
        a.ckpt,
        config=config,
        dtype=torch.float32,
        quantization_config=FineGrainedFP8Config(weight_block_size=tuple(block), dequantize=True),
        attn_implementation="eager",
    ).to(a.device)
    model.eval()

    # Sanity: what transformers made of the checkpoint.
    layers = model.model.layers
    n_layers, E, k = cfg["num_hidden_layers"], cfg["num_local_experts"], cfg["num_experts_per_tok"]
    H, I = cfg["hidden_size"], cfg["intermediate_size"]
    assert len(layers) == n_layers
    rot = 2 * model.model.rotary_emb.inv_freq.numel()
    print("transformers", transformers.__version__, "torch", torch.__version__, "device", a.device)
    print("modules:", type(layers[0].self_attn).__name__, type(layers[0].mlp).__name__, type(layers[0].mlp.experts).__name__)
    print("rotary dims per head:", rot, "(config rotary_dim %d)" % cfg["rotary_dim"])
    assert rot == cfg["rotary_dim"], "transformers rotates %d dims, config says %d" % (rot, cfg["rotary_dim"])
    for i, layer in enumerate(layers):
        b = layer.mlp.e_score_correction_bias
        assert b.abs().sum() > 0, "layer %d: e_score_correction_bias not loaded" % i
        assert layer.mlp.experts.gate_up_proj.dtype == torch.float32
    print("bias layer 0:", [round(v, 4) for v in layers[0].mlp.e_score_correction_bias.tolist()[:6]], "...")

    rows = [json.loads(line) for line in open(a.rows) if line.strip()]
    ids = torch.tensor([r["ids"] for r in rows], dtype=torch.long, device=a.device)
    mask = [m for r in rows for m in r["mask"]]
    R, T = ids.shape

    rec = {}

    def hook(i):
        def f(mod, args, kwargs):
            x = args[0] if len(args) > 0 else kwargs["hidden_states"]
            idx = args[1] if len(args) > 1 else kwargs["top_k_index"]
            w = args[2] if len(args) > 2 else kwargs["top_k_weights"]
            rec[i] = (x.detach().double().cpu(), idx.detach().cpu(), w.detach().double().cpu(),
                      mod.gate_up_proj.detach().double().cpu(), mod.down_proj.detach().double().cpu())
        return f

    for i, layer in enumerate(layers):
        layer.mlp.experts.register_forward_pre_hook(hook(i), with_kwargs=True)
    with torch.no_grad():
        logits = model(input_ids=ids).logits.float().cpu()  # (R, T, V); causal, positions 0..T-1 per row

    out = {
        "format": "reap-golden",
        "version": 1,
        "generator": "tests/golden/make_golden.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "checkpoint": a.ckpt,
        "router": "model",
        "rows": R,
        "seq_len": T,
        "ids": [r["ids"] for r in rows],
        "mask": [r["mask"] for r in rows],
        "layers": [],
    }
    for i in range(n_layers):
        x, idx, w, gu, dn = rec[i]
        n = x.shape[0]
        assert n == R * T and idx.shape == (n, k)
        norms = torch.zeros(n, k, dtype=torch.float64)
        maxes = torch.zeros(n, k, dtype=torch.float64)
        for e in range(E):
            sel = (idx == e).nonzero()
            if sel.numel() == 0:
                continue
            t, s = sel[:, 0], sel[:, 1]
            h = x[t] @ gu[e].T  # (m, 2I): w1 rows first, then w3
            g, u = h[:, :I], h[:, I:]
            y = (torch.nn.functional.silu(g) * u) @ dn[e].T  # (m, H)
            norms[t, s] = y.norm(dim=1)
            maxes[t, s] = y.max(dim=1).values
        st = {"tokens": int(sum(mask)), "count": [0] * E, "gate_sum": [0.0] * E, "norm_sum": [0.0] * E,
              "reap_sum": [0.0] * E, "max_act": [None] * E}
        for t in range(n):
            if not mask[t]:
                continue
            for s in range(k):
                e = int(idx[t, s])
                g, nm, mx = float(w[t, s]), float(norms[t, s]), float(maxes[t, s])
                st["count"][e] += 1
                st["gate_sum"][e] += g
                st["norm_sum"][e] += nm
                st["reap_sum"][e] += g * nm
                st["max_act"][e] = mx if st["max_act"][e] is None else max(st["max_act"][e], mx)
        out["layers"].append({
            "layer": i,
            "chosen": idx.tolist(),
            "weights": [[r9(v) for v in row] for row in w.tolist()],
            "norms": [[r9(v) for v in row] for row in norms.tolist()],
            "max_act": [[r9(v) for v in row] for row in maxes.tolist()],
            "stats": st,
        })
        print("layer %d: %d tokens counted, experts used %d of %d" % (i, st["tokens"], sum(c > 0 for c in st["count"]), E))
    pos = [t for t in range(R * T) if t % 4 == 3]
    flat = logits.reshape(R * T, -1)
    out["logits_positions"] = pos
    out["logits"] = [[r9(v) for v in flat[t].tolist()] for t in pos]
    assert all(math.isfinite(v) for row in out["logits"] for v in row)
    with open(a.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", a.out, os.path.getsize(a.out), "bytes")


if __name__ == "__main__":
    sys.exit(main())

"""check_pruned_transformers.py: transformers' MiniMaxM2ForCausalLM (an independent implementation)
loads checkpoints written by `reap prune` and runs them. Runs only where torch and transformers
exist (the GPU machine), not in `make test`.

  python tests/golden/check_pruned_transformers.py SRC PRUNED COPY

SRC: a synthesised tiny checkpoint (`reap synth SRC --preset tiny --experts 256`); PRUNED: `reap prune
SRC -o PRUNED --ratio 0.30 --scores S`; COPY: `reap prune SRC -o COPY --ratio 0`. Checks: each loads
with no missing or unexpected weights (FP8 through FineGrainedFP8Config(dequantize=True), float32,
spec minimax-m2.md section 7); the pruned model has 180 experts per layer whose dequantised weights,
router rows and bias entries are the source's kept experts (per PRUNED/reap.json); a forward pass of
the pruned model gives finite logits; the COPY's logits are identical (bitwise) to the source's.
Prints PASS/FAIL lines; exit status 1 on any failure."""
import json
import os
import re
import sys
import traceback

import torch
import transformers
from transformers import FineGrainedFP8Config, MiniMaxM2Config, MiniMaxM2ForCausalLM

failed = 0


def report(name, ok, detail=""):
    global failed
    print(("PASS " if ok else "FAIL ") + name + (f" ({detail})" if detail else ""), flush=True)
    failed += 0 if ok else 1


def make_config(d):
    """The checkpoint's config through MiniMaxM2Config.from_dict (what from_pretrained does). transformers
    5 validates field types strictly: a float field written as an integer (JSON 0 for 0.0) is refused,
    so such fields are converted to float and listed (the checkpoint's config.json is not changed)."""
    raw = json.load(open(os.path.join(d, "config.json")))
    coerced = []
    for _ in range(100):
        try:
            return MiniMaxM2Config.from_dict(dict(raw)), raw, coerced
        except Exception as e:
            m = re.search(r"field '([^']+)'.*expected float, got int", str(e), re.S)
            if not m or m.group(1) in coerced:
                raise
            raw[m.group(1)] = float(raw[m.group(1)])
            coerced.append(m.group(1))
    raise RuntimeError("too many config fields to coerce")


def load(d):
    config, raw, coerced = make_config(d)
    if coerced:
        print(f"NOTE {d}: config fields written as integers, read as floats: {coerced}", flush=True)
    b = raw["quantization_config"]["weight_block_size"]
    q = FineGrainedFP8Config(weight_block_size=(b[0], b[1]), dequantize=True)
    model, info = MiniMaxM2ForCausalLM.from_pretrained(d, config=config, quantization_config=q, dtype=torch.float32,
                                                       attn_implementation="eager", output_loading_info=True)
    return model.eval(), info


def moe(model, layer):
    return model.model.layers[layer].mlp


def guarded(name, fn):
    try:
        fn()
    except Exception as e:  # a crash in one check must not hide the others
        traceback.print_exc()
        report(name, False, f"{type(e).__name__}: {e}")


def main():
    src_dir, pruned_dir, copy_dir = sys.argv[1:4]
    print(f"torch {torch.__version__}, transformers {transformers.__version__}", flush=True)
    models = {}
    for tag, d in (("source", src_dir), ("pruned", pruned_dir), ("copy", copy_dir)):
        def do(tag=tag, d=d):
            m, info = load(d)
            models[tag] = m
            bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
            report(f"{tag}_loads_without_missing_or_unexpected_weights", not bad, str(bad)[:300])
        guarded(f"{tag}_loads", do)
    if "source" not in models or "pruned" not in models:
        return 1
    src, pr = models["source"], models["pruned"]
    kept = [lay["kept"] for lay in json.load(open(os.path.join(pruned_dir, "reap.json")))["layers"]]
    n_layers = len(kept)

    def structure():
        print("pruned layer 0 MoE parameters:", [(n, tuple(t.shape)) for n, t in moe(pr, 0).named_parameters()],
              flush=True)
        for layer in range(n_layers):
            a, b = moe(src, layer), moe(pr, layer)
            idx = torch.tensor(kept[layer])
            ok = b.gate.weight.shape[0] == 180 and torch.equal(b.gate.weight, a.gate.weight[idx])
            bias = lambda m: m.e_score_correction_bias if hasattr(m, "e_score_correction_bias") else m.gate.e_score_correction_bias
            ok = ok and torch.equal(bias(b), bias(a)[idx])
            ok = ok and torch.equal(b.experts.gate_up_proj, a.experts.gate_up_proj[idx])
            ok = ok and torch.equal(b.experts.down_proj, a.experts.down_proj[idx])
            report(f"layer_{layer}_has_180_experts_equal_to_kept_source_experts", ok,
                   f"gate {tuple(b.gate.weight.shape)}, experts {tuple(b.experts.gate_up_proj.shape)}")
        report("config_num_local_experts_180", pr.config.num_local_experts == 180, str(pr.config.num_local_experts))
    guarded("pruned_structure", structure)

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, src.config.vocab_size, (2, 24), generator=g)
    with torch.no_grad():
        def fwd_pruned():
            lp = pr(input_ids=ids).logits
            report("pruned_forward_logits_finite", bool(torch.isfinite(lp).all()) and lp.shape[-1] == src.config.vocab_size,
                   f"shape {tuple(lp.shape)}, max |logit| {lp.abs().max().item():.4g}")
            ls = src(input_ids=ids).logits
            report("pruned_logits_differ_from_source", not torch.equal(lp, ls),
                   f"max |diff| {(lp - ls).abs().max().item():.4g}")
        guarded("pruned_forward", fwd_pruned)

        def fwd_copy():
            ls = src(input_ids=ids).logits
            lc = models["copy"](input_ids=ids).logits
            report("ratio_0_copy_logits_identical_to_source", torch.equal(ls, lc),
                   f"max |diff| {(ls - lc).abs().max().item():.3g}")
        if "copy" in models:
            guarded("copy_forward", fwd_copy)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

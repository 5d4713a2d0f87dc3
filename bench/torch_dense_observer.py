"""torch_dense_observer.py: the side-by-side baseline of bench/gpu_bench.sh.

Runs the first LAYERS layers of a synthesised MiniMax-M2 checkpoint through transformers'
MiniMaxM2 (bf16, on the GPU, weights dequantised from FP8 blocks) with a REAP observer that runs
EVERY expert on EVERY token, as the public reference does, and prints tokens/s.

    python3 bench/torch_dense_observer.py CKPT_DIR --layers 4 --rows 16 --seq-len 2048

Prints "TORCH key value" lines. If transformers' MiniMaxM2 cannot be built, it says so and exits 1.
"""
import argparse
import json
import os
import sys
import time

import torch
from safetensors import safe_open


def dequant(w, s, b):
    # w (r, c) float8_e4m3fn, s (ceil(r/b), ceil(c/b)) f32 multiplier
    r, c = w.shape
    full = s.repeat_interleave(b, 0)[:r].repeat_interleave(b, 1)[:, :c]
    return (w.float() * full).to(torch.bfloat16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--rows", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--batch-rows", type=int, default=4)
    ap.add_argument("--no-max-act", dest="max_act", action="store_false",
                    help="skip max_act (the observer before 2026-11-22, for comparison)")
    a = ap.parse_args()
    dev = "cuda"
    cfgj = json.load(open(os.path.join(a.ckpt, "config.json")))
    import transformers
    from transformers import MiniMaxM2Config
    from transformers.models.minimax_m2 import modeling_minimax_m2 as mm

    cfgj = dict(cfgj)
    cfgj.pop("quantization_config", None)
    cfgj["num_hidden_layers"] = a.layers
    for key in ("router_jitter_noise", "attention_dropout", "rms_norm_eps", "rope_theta", "initializer_range"):
        if isinstance(cfgj.get(key), int):
            cfgj[key] = float(cfgj[key])
    cfgj.setdefault("partial_rotary_factor", cfgj["rotary_dim"] / cfgj["head_dim"])
    cfg = MiniMaxM2Config(**cfgj)
    cfg._attn_implementation = "sdpa"
    print(f"TORCH transformers {transformers.__version__} torch {torch.__version__}", flush=True)
    with torch.device("meta"):
        model = mm.MiniMaxM2Model(cfg)
    model = model.to_empty(device=dev).to(torch.bfloat16)
    index = json.load(open(os.path.join(a.ckpt, "model.safetensors.index.json")))["weight_map"]
    handles = {}

    def get(name):
        f = index[name]
        if f not in handles:
            handles[f] = safe_open(os.path.join(a.ckpt, f), framework="pt", device=dev)
        return handles[f].get_tensor(name)

    b = json.load(open(os.path.join(a.ckpt, "config.json")))["quantization_config"]["weight_block_size"][0]

    def weight(name):
        w = get(name)
        if w.dtype == torch.float8_e4m3fn:
            return dequant(w, get(name + "_scale_inv"), b)
        return w

    t_load = time.time()
    E, I = cfg.num_local_experts, cfg.intermediate_size
    for L in range(a.layers):
        lay = model.layers[L]
        p = f"model.layers.{L}."
        with torch.no_grad():
            lay.input_layernorm.weight.copy_(weight(p + "input_layernorm.weight"))
            lay.post_attention_layernorm.weight.copy_(weight(p + "post_attention_layernorm.weight"))
            for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
                getattr(lay.self_attn, n).weight.copy_(weight(p + f"self_attn.{n}.weight"))
            lay.self_attn.q_norm.weight.copy_(weight(p + "self_attn.q_norm.weight"))
            lay.self_attn.k_norm.weight.copy_(weight(p + "self_attn.k_norm.weight"))
            lay.mlp.gate.weight.copy_(get(p + "block_sparse_moe.gate.weight"))
            lay.mlp.e_score_correction_bias.copy_(get(p + "block_sparse_moe.e_score_correction_bias"))
            for j in range(E):
                q = p + f"block_sparse_moe.experts.{j}."
                lay.mlp.experts.gate_up_proj[j, :I].copy_(weight(q + "w1.weight"))
                lay.mlp.experts.gate_up_proj[j, I:].copy_(weight(q + "w3.weight"))
                lay.mlp.experts.down_proj[j].copy_(weight(q + "w2.weight"))
    model.rotary_emb = mm.MiniMaxM2RotaryEmbedding(config=cfg, device=dev)
    torch.cuda.synchronize()
    print(f"TORCH load_s {time.time() - t_load:.1f}", flush=True)

    # The dense observer: every expert on every token (the reference's way), statistics of the
    # routed (token, expert) pairs only: the five that reap accumulates (count, gate, norm and
    # gate x norm sums, signed max over routed tokens and hidden dims; max_act since 2026-11-22).
    # Without host syncs. Unlike the reference it does not keep an [E, tokens, H] fp32 buffer.
    stats = {}

    def observer(mod, args, out):
        x = args[0]
        x = x.reshape(-1, x.shape[-1])
        logits = torch.nn.functional.linear(x.float(), mod.gate.weight.float())
        s = logits.sigmoid()
        top = torch.topk(s + mod.e_score_correction_bias.float(), cfg.num_experts_per_tok, dim=-1).indices
        g = s.gather(1, top)
        g = g / g.sum(-1, keepdim=True)
        gu, dn = mod.experts.gate_up_proj, mod.experts.down_proj
        neg = torch.tensor(float("-inf"), device=dev, dtype=torch.float64)
        if id(mod) not in stats:
            stats[id(mod)] = torch.zeros(E, 4, device=dev, dtype=torch.float64)
            stats[id(mod)][:, 3] = neg
        acc = stats[id(mod)]
        for j in range(E):
            h = torch.nn.functional.linear(x, gu[j])
            y = torch.nn.functional.linear(torch.nn.functional.silu(h[:, :I]) * h[:, I:], dn[j])
            norm = y.float().norm(dim=-1)
            sel = top == j
            gj = (g * sel).sum(-1)
            m = sel.any(-1)
            acc[j, 0] += m.sum()
            acc[j, 1] += gj[m].sum()
            acc[j, 2] += (gj * norm)[m].sum()
            if a.max_act:
                acc[j, 3] = torch.maximum(acc[j, 3], torch.where(m, y.amax(dim=-1).double(), neg).max())

    for lay in model.layers:
        lay.mlp.register_forward_hook(observer)
    T = a.seq_len
    gen = torch.Generator(device=dev).manual_seed(0)
    with torch.no_grad():
        x = torch.randn(a.batch_rows, T, cfg.hidden_size, device=dev, dtype=torch.bfloat16, generator=gen)
        model(inputs_embeds=x[:1, :256])  # warm-up
        torch.cuda.synchronize()
        t0 = time.time()
        done = 0
        while done < a.rows:
            model(inputs_embeds=x)
            done += a.batch_rows
        torch.cuda.synchronize()
        dt = time.time() - t0
    tok = done * T
    print(f"TORCH rows {done} seq_len {T} layers {a.layers} seconds {dt:.2f}", flush=True)
    print(f"TORCH tokens_per_s {tok / dt:.1f} token_layers_per_s {tok * a.layers / dt:.1f}", flush=True)
    print(f"TORCH peak_mem_GiB {torch.cuda.max_memory_allocated() / 2**30:.2f}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # say what failed; the bench prints no ratio then
        print(f"TORCH error {type(e).__name__}: {e}", flush=True)
        sys.exit(1)

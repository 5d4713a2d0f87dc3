#!/usr/bin/env python3
"""train_moe.py: train a small, real MiniMax-M2-architecture MoE on the Python standard library and
export it in the MiniMax-M2 checkpoint layout `reap` reads (issue 12, item 4).

What it does, in order (all deterministic for a given --seed and Python installation):
  1. Data: every *.py under sysconfig.get_paths()["stdlib"] (site-packages, dist-packages and
     __pycache__ skipped; files that are not UTF-8 or larger than 1 MiB skipped), sorted by
     relative path. Held-out rule: int(sha256(relpath)[:8], 16) % 20 == 0 (about 5% of the
     files); everything else trains. Test suites (test/, tests/, idle_test/) are kept: they are
     real code and more than half of the data.
  2. Tokenizer: byte-level BPE (HF `tokenizers`) with MiniMax-M2's pre-tokenizer (its Split regex,
     then ByteLevel without regex), trained on the train split; MiniMax-M2's 54 added tokens
     (]~!b[, ]~b], [e~[, <think>, ...) appended after the BPE ids, in MiniMax-M2's order.
  3. Model: transformers' MiniMaxM2ForCausalLM (per-layer QK norm, partial rotary, sigmoid router
     with e_score_correction_bias), trained with AdamW under bf16 autocast on packed rows drawn
     at random offsets of the train stream, for --minutes of wall clock. Load balance: the
     router bias is updated as DeepSeek-V3 / MiniMax aux-loss-free balancing does (transformers
     keeps it as a frozen buffer and never updates it): after every step
     bias_j += --bias-rate * sign(mean load - load_j); plus a small batch-wise balance loss on the
     normalised sigmoid scores (--aux-coef, DeepSeek-V3's complementary loss). The held-out loss
     is measured every ~1/12 of the budget and the best state is kept (the data are small
     enough that a long run overfits).
  4. Export (ckpt/): config.json (quantization_config fp8, weight_block_size [B, B]),
     model.safetensors with MiniMax-M2's tensor names and dtypes (attention and expert weights
     F8_E4M3 with F32 weight_scale_inv blocks, router F32, norms/embeddings/lm_head BF16),
     tokenizer.json, vocab.json, merges.txt, tokenizer_config.json, chat_template.jinja (the one
     `reap synth` writes, copied from tests/golden/ckpt), generation_config.json, README.md.
  5. Verify: reload ckpt/ from its files (FP8 dequantised here, weights put into a fresh
     MiniMaxM2ForCausalLM), compare its logits on held-out rows with the trained model's
     (difference = FP8 rounding), print both held-out losses; also try transformers' own FP8
     loader (FineGrainedFP8Config(dequantize=True)) and report whether it agrees.
  6. Routing report (experts.json): per layer, per expert token share on held-out data, max/mean,
     normalised entropy, and the load split by file category and by token kind, with each
     category's Jensen-Shannon divergence from the layer's overall load (0 = no specialisation).

Outputs under --out DIR:
  ckpt/            the checkpoint (`reap inspect DIR/ckpt`)
  train.jsonl      {"text": source} records of train files (shuffled, capped at --train-jsonl-mb)
  heldout.jsonl    {"text": source} records of every held-out file
  split.txt        the split rule, Python version, stdlib path, held-out relative paths
  experts.json     the routing report (6.)
  summary.json     sizes, timings, losses/perplexities, verification numbers

GPU run (the lead; one H100/H200, budget ~9 minutes wall in total):
    python3 tools/train_moe.py --out "$OUT/trained" --minutes 6.5 2>&1 | tee "$OUT/train_moe.log"
Expected: ~30-60 s imports, data, BPE training and encoding (77 s on 2 busy CPU cores here), 6.5 min
training, ~30 s evaluation, export and verification. Sizes at the defaults: ckpt/ 18.2 MB,
heldout.jsonl 1.5 MB, train.jsonl 0.5 MB. Then, where reap is built: tools/check_trained.sh "$OUT/trained".
Local smoke test (CPU, ~1 minute with imports):  python3 tools/train_moe.py --out /tmp/tm --tiny

Needs torch, transformers (>= 5 with minimax_m2), tokenizers, safetensors, numpy. No network.
"""
import argparse
import hashlib
import json
import math
import os
import random
import sys
import sysconfig
import time

T0 = time.time()

import numpy as np
import torch
import torch.nn.functional as F

import transformers
from safetensors.torch import load_file, save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import MiniMaxM2Config, MiniMaxM2ForCausalLM

# MiniMax-M2's pre-tokenizer regex (spec minimax-m2.md section 4).
M2_SPLIT = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
            r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
            r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# MiniMax-M2's added tokens in id order (its ids 200000..200053; here n_bpe..n_bpe+53).
M2_ADDED = [
    "]!p~[", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<reponame>", "<filename>",
    "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>", "<jupyter_text>",
    "<jupyter_code>", "<jupyter_output>", "<empty_output>", "<commit_before>", "<commit_msg>", "<commit_after>",
    "]~b]", "[e~[", "]!d~[", "<function_call>", "<code_interpreter>", "]<]speech[>[", "]<]image[>[",
    "]<]video[>[", "]<]start of speech[>[", "]<]end of speech[>[", "]<]start of image[>[",
    "]<]end of image[>[", "]<]start of video[>[", "]<]end of video[>[", "]<]vision pad[>[", "]~!b[",
    "<jupyter_error>", "<add_file>", "<delete_file>", "<rename_file>", "<edit_file>", "<commit_message>",
    "<empty_source_file>", "<repo_struct>", "<code_context>", "<file_content>", "<source_files>", "<pr_start>",
    "<review_comment>", "<filepath>", "<file_sep>", "<think>", "</think>", "<minimax:tool_call>",
    "</minimax:tool_call>",
]
assert len(M2_ADDED) == 54

SKIP_DIRS = {"site-packages", "dist-packages", "__pycache__"}
TEST_DIRS = {"test", "tests", "idle_test"}
HELDOUT_RULE = "held out iff int(sha256(relpath.encode()).hexdigest()[:8], 16) % 20 == 0"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(*a):
    print("[%6.1fs]" % (time.time() - T0), *a, flush=True)


def is_heldout(rel):
    return int(hashlib.sha256(rel.encode()).hexdigest()[:8], 16) % 20 == 0


def collect_files(stdlib, max_bytes):
    """[(relpath, text)] sorted by relative path."""
    out = []
    for root, dirs, names in os.walk(stdlib):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for n in sorted(names):
            if not n.endswith(".py"):
                continue
            p = os.path.join(root, n)
            rel = os.path.relpath(p, stdlib).replace(os.sep, "/")
            try:
                if os.path.getsize(p) > max_bytes:
                    continue
                with open(p, "rb") as f:
                    text = f.read().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if text.strip():
                out.append((rel, text))
    out.sort()
    return out


def file_category(rel):
    parts = rel.split("/")
    if any(p in TEST_DIRS for p in parts[:-1]):
        return "tests"
    return parts[0] if len(parts) > 1 else "toplevel"


# ---- tokenizer

def train_tokenizer(texts, vocab):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(M2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tr = trainers.BpeTrainer(vocab_size=vocab, min_frequency=2, show_progress=False,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(texts, tr)
    n_bpe = tok.get_vocab_size(with_added_tokens=False)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False, lstrip=False, rstrip=False,
                                       single_word=False) for t in M2_ADDED])
    ids = {t: tok.token_to_id(t) for t in M2_ADDED}
    assert [ids[t] for t in M2_ADDED] == list(range(n_bpe, n_bpe + 54)), "added tokens did not get the next ids"
    return tok, n_bpe, ids


def write_tokenizer_files(tok, ids, d):
    tok.save(os.path.join(d, "tokenizer.json"))
    tok.model.save(d)  # vocab.json, merges.txt
    dec = {str(ids[t]): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                         "single_word": False, "special": True} for t in M2_ADDED}
    tc = {"add_bos_token": False, "add_eos_token": False, "add_prefix_space": False,
          "added_tokens_decoder": dec, "bos_token": "]~!b[", "clean_up_tokenization_spaces": False,
          "eos_token": "[e~[", "model_max_length": 40960000, "tokenizer_class": "GPT2Tokenizer",
          "unk_token": "]!d~["}
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    src = os.path.join(REPO, "tests", "golden", "ckpt", "chat_template.jinja")
    with open(src) as f, open(os.path.join(d, "chat_template.jinja"), "w") as g:
        g.write(f.read())
    gen = {"bos_token_id": ids["]~!b["], "do_sample": True, "eos_token_id": ids["[e~["], "temperature": 1.0,
           "top_k": 40, "top_p": 0.95, "transformers_version": transformers.__version__}
    with open(os.path.join(d, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
        f.write("\n")


# ---- model

def model_config(a, vocab, ids):
    """config.json as MiniMax-M2 writes it (spec section 1), with our sizes. Floats stay floats:
    transformers' strict config class refuses an int where it wants a float."""
    return {
        "architectures": ["MiniMaxM2ForCausalLM"],
        "attention_dropout": 0.0,
        "attn_type_list": [1] * a.layers,
        "bos_token_id": ids["]~!b["],
        "eos_token_id": ids["[e~["],
        "head_dim": a.head_dim,
        "hidden_act": "silu",
        "hidden_size": a.hidden,
        "initializer_range": 0.02,
        "intermediate_size": a.inter,
        "max_position_embeddings": 196608,
        "model_type": "minimax_m2",
        "num_attention_heads": a.heads,
        "num_experts_per_tok": a.top_k,
        "num_hidden_layers": a.layers,
        "num_key_value_heads": a.kv_heads,
        "num_local_experts": a.experts,
        "output_router_logits": False,
        "partial_rotary_factor": a.rotary_dim / a.head_dim,
        "qk_norm_type": "per_layer",
        "rms_norm_eps": 1e-06,
        "rope_theta": 5000000.0,
        "rotary_dim": a.rotary_dim,
        "router_aux_loss_coef": a.aux_coef,
        "router_jitter_noise": 0.0,
        "scoring_func": "sigmoid",
        "shared_intermediate_size": 0,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "use_mtp": False,
        "use_qk_norm": True,
        "use_routing_bias": True,
        "vocab_size": vocab,
    }


def hf_config(cfg, experts_impl):
    c = MiniMaxM2Config.from_dict({k: v for k, v in cfg.items() if k != "quantization_config"})
    c._experts_implementation = experts_impl
    return c


class RouterTap:
    """Forward hooks on every MoE router: keeps (router_logits, top_k_index) of the last forward."""

    def __init__(self, model):
        self.out = {}
        self.handles = []
        for i, layer in enumerate(model.model.layers):
            self.handles.append(layer.mlp.gate.register_forward_hook(self._hook(i)))

    def _hook(self, i):
        def f(mod, args, output):
            self.out[i] = (output[0], output[2])
        return f

    def remove(self):
        for h in self.handles:
            h.remove()


def lm_loss(logits, ids):
    """Mean next-token cross entropy of rows ids (R, T); logits (R, T, V)."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(), ids[:, 1:].reshape(-1))


@torch.no_grad()
def evaluate(model, rows, device, batch, autocast):
    """Mean next-token loss over rows (N, T) int64 (CPU tensor)."""
    model.eval()
    tot, n = 0.0, 0
    for i in range(0, rows.shape[0], batch):
        x = rows[i:i + batch].to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = model(input_ids=x).logits
        tot += float(lm_loss(logits, x)) * x.shape[0]
        n += x.shape[0]
    model.train()
    return tot / max(n, 1)


def train(a, model, train_ids, held_rows, device):
    E, k, L = a.experts, a.top_k, a.layers
    autocast = a.autocast
    bias_params = [n for n, _ in model.named_buffers() if n.endswith("e_score_correction_bias")]
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "gate.weight" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "gate.weight" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8, fused=device.type == "cuda")
    tap = RouterTap(model)
    gen = torch.Generator().manual_seed(a.seed)
    T, R = a.seq_len, a.batch
    n_tok = train_ids.numel()
    budget = a.minutes * 60.0
    eval_every = max(budget / 12.0, 5.0)
    load = torch.zeros(L, E, device=device)
    biases = [model.model.layers[i].mlp.e_score_correction_bias for i in range(L)]
    history, best = [], (float("inf"), None, -1)
    t_start = time.time()
    next_eval = t_start + eval_every
    step, seen = 0, 0
    ema = None
    log("training: %d params, %d train tokens, rows %d x %d, budget %.1f min, bias buffers %d" % (
        sum(p.numel() for p in model.parameters()), n_tok, R, T, a.minutes, len(bias_params)))
    model.train()
    while True:
        now = time.time()
        frac = (now - t_start) / budget
        if frac >= 1.0 or (a.max_steps and step >= a.max_steps):
            break
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, n_tok - T, (R,), generator=gen)
        x = torch.stack([train_ids[s:s + T] for s in starts.tolist()]).to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = model(input_ids=x).logits
        ce = lm_loss(logits, x)
        aux = torch.zeros((), device=device)
        with torch.no_grad():
            counts = torch.stack([torch.bincount(tap.out[i][1].reshape(-1), minlength=E)[:E].float()
                                  for i in range(L)])  # (L, E)
        for i in range(L):
            lg = tap.out[i][0].float()  # (N, E)
            s = torch.sigmoid(lg)
            p = (s / s.sum(-1, keepdim=True)).mean(0)  # (E,)
            f = counts[i] * E / (k * lg.shape[0])
            aux = aux + (f * p).sum()
        loss = ce + a.aux_coef * aux / L
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():  # aux-loss-free balancing (DeepSeek-V3 section 2.1.2)
            for i in range(L):
                biases[i].add_(a.bias_rate * torch.sign(counts[i].mean() - counts[i]))
            load += counts
        step += 1
        seen += R * T
        if step % 25 == 0 or step == 1:
            c = ce.item()
            ema = c if ema is None else 0.9 * ema + 0.1 * c
            if step % 100 == 0 or step == 1:
                log("step %5d  lr %.2e  loss %.4f (ema %.4f)  aux %.4f  tokens %.1fM  %.0f tok/s" % (
                    step, lr, c, ema, float(aux) / L, seen / 1e6, seen / (time.time() - t_start)))
        if time.time() >= next_eval:
            hl = evaluate(model, held_rows, device, a.eval_batch, autocast)
            history.append({"step": step, "seconds": round(time.time() - t_start, 1), "train_loss_ema": ema,
                            "heldout_loss": hl})
            log("eval step %d: held-out loss %.4f (ppl %.2f)%s" % (step, hl, math.exp(hl),
                                                                  "  best" if hl < best[0] else ""))
            if hl < best[0]:
                best = (hl, {n: t.detach().clone() for n, t in model.state_dict().items()}, step)
            next_eval = time.time() + eval_every
    tap.remove()
    train_seconds = time.time() - t_start
    hl = evaluate(model, held_rows, device, a.eval_batch, autocast)
    history.append({"step": step, "seconds": round(train_seconds, 1), "train_loss_ema": ema, "heldout_loss": hl})
    log("end step %d: held-out loss %.4f (ppl %.2f)" % (step, hl, math.exp(hl)))
    if best[1] is not None and best[0] < hl:
        model.load_state_dict(best[1])
        log("restored the best state (step %d, held-out loss %.4f)" % (best[2], best[0]))
        kept = best[2]
    else:
        kept = step
    share = (load / load.sum(1, keepdim=True)).cpu()
    return {"steps": step, "tokens": seen, "train_seconds": round(train_seconds, 1), "kept_step": kept,
            "history": history,
            "train_load_max_over_mean": [round(float(s.max() * E), 3) for s in share]}


# ---- export

def fp8_quantize(w, block):
    """w (out, in) f32 -> (fp8 (out, in), scale_inv (ceil(out/b), ceil(in/b)) f32) with
    w ~= fp8 * scale_inv per block (spec 2.4: scale_inv is a multiplier)."""
    o, i = w.shape
    ro, ri = -(-o // block) * block, -(-i // block) * block
    wp = torch.zeros(ro, ri, dtype=torch.float32)
    wp[:o, :i] = w
    blocks = wp.reshape(ro // block, block, ri // block, block)
    amax = blocks.abs().amax(dim=(1, 3))  # (ro/b, ri/b)
    scale = torch.where(amax > 0, amax / 448.0, torch.ones_like(amax))
    q = (blocks / scale[:, None, :, None]).clamp(-448, 448).to(torch.float8_e4m3fn)
    q = q.reshape(ro, ri)[:o, :i].contiguous()
    return q, scale.float().contiguous()


def fp8_dequantize(q, scale, block):
    o, i = q.shape
    s = scale.repeat_interleave(block, 0)[:o].repeat_interleave(block, 1)[:, :i]
    return q.float() * s


def export_tensors(model, cfg, block):
    """The model's weights under MiniMax-M2's names and dtypes (spec section 3)."""
    sd = {n: t.detach().float().cpu() for n, t in model.state_dict().items()}
    I = cfg["intermediate_size"]
    out = {}

    def fp8(name, w):
        q, s = fp8_quantize(w, block)
        out[name + ".weight"] = q
        out[name + ".weight_scale_inv"] = s

    out["model.embed_tokens.weight"] = sd["model.embed_tokens.weight"].bfloat16()
    out["model.norm.weight"] = sd["model.norm.weight"].bfloat16()
    out["lm_head.weight"] = sd["lm_head.weight"].bfloat16()
    for L in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % L
        for n in ("input_layernorm", "post_attention_layernorm", "self_attn.q_norm", "self_attn.k_norm"):
            out[p + n + ".weight"] = sd[p + n + ".weight"].bfloat16()
        for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
            fp8(p + "self_attn." + n, sd[p + "self_attn." + n + ".weight"])
        out[p + "block_sparse_moe.gate.weight"] = sd[p + "mlp.gate.weight"].float().contiguous()
        out[p + "block_sparse_moe.e_score_correction_bias"] = sd[p + "mlp.e_score_correction_bias"].float().contiguous()
        gu, dn = sd[p + "mlp.experts.gate_up_proj"], sd[p + "mlp.experts.down_proj"]  # (E, 2I, H), (E, H, I)
        for j in range(cfg["num_local_experts"]):
            q = p + "block_sparse_moe.experts.%d." % j
            fp8(q + "w1", gu[j, :I])
            fp8(q + "w3", gu[j, I:])
            fp8(q + "w2", dn[j])
    return out


def load_exported(d, experts_impl, device):
    """A fresh MiniMaxM2ForCausalLM (fp32) holding ckpt d's weights, FP8 dequantised here."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    block = cfg["quantization_config"]["weight_block_size"][0]
    st = load_file(os.path.join(d, "model.safetensors"))
    w = {}
    for n, t in st.items():
        if n.endswith(".weight_scale_inv"):
            continue
        if t.dtype == torch.float8_e4m3fn:
            t = fp8_dequantize(t, st[n[:-len("weight")] + "weight_scale_inv"], block)
        w[n] = t.float()
    I, E = cfg["intermediate_size"], cfg["num_local_experts"]
    sd = {}
    for n, t in w.items():
        if ".block_sparse_moe.experts." in n:
            continue
        sd[n.replace(".block_sparse_moe.", ".mlp.")] = t
    for L in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d.block_sparse_moe.experts." % L
        sd["model.layers.%d.mlp.experts.gate_up_proj" % L] = torch.stack(
            [torch.cat([w[p + "%d.w1.weight" % j], w[p + "%d.w3.weight" % j]]) for j in range(E)])
        sd["model.layers.%d.mlp.experts.down_proj" % L] = torch.stack([w[p + "%d.w2.weight" % j] for j in range(E)])
    m = MiniMaxM2ForCausalLM(hf_config(cfg, experts_impl)).float()
    missing, unexpected = m.load_state_dict(sd, strict=False)
    missing = [n for n in missing if "rotary" not in n]
    assert not missing and not unexpected, "export reload: missing %s unexpected %s" % (missing, unexpected)
    return m.to(device).eval()


# ---- routing report

def js_div(p, q):
    m = 0.5 * (p + q)

    def kl(a, b):
        nz = a > 0
        return float((a[nz] * np.log(a[nz] / b[nz])).sum())
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def entropy_norm(p):
    nz = p > 0
    return float(-(p[nz] * np.log(p[nz])).sum() / math.log(len(p)))


def token_kinds(tok, n_ids):
    """Crude kind of each id: word, space, digit, punct, special."""
    names = ["word", "space", "digit", "punct", "special"]
    dec = tok.decoder
    kinds = np.zeros(n_ids, dtype=np.int64)
    for i in range(n_ids):
        s = tok.id_to_token(i)
        if s is None or s in M2_ADDED:
            kinds[i] = 4
            continue
        text = dec.decode([s])
        if any(ch.isalpha() for ch in text):
            kinds[i] = 0
        elif text.strip() == "":
            kinds[i] = 1
        elif any(ch.isdigit() for ch in text):
            kinds[i] = 2
        else:
            kinds[i] = 3
    return names, kinds


@torch.no_grad()
def routing_report(model, rows, row_cat, cat_names, kinds, kind_names, device, batch, autocast):
    """Per layer: expert shares over held-out tokens, overall and by category."""
    model.eval()
    tap = RouterTap(model)
    L, E = len(model.model.layers), model.config.num_local_experts
    C, K = len(cat_names), len(kind_names)
    by_cat = np.zeros((L, C, E))
    by_kind = np.zeros((L, K, E))
    for i in range(0, rows.shape[0], batch):
        x = rows[i:i + batch].to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            model(input_ids=x)
        cat = row_cat[i:i + batch].reshape(-1).numpy()
        kd = kinds[x.reshape(-1).cpu().numpy()]
        for l in range(L):
            idx = tap.out[l][1].cpu().numpy()  # (N, k)
            kk = idx.shape[1]
            np.add.at(by_cat[l], (np.repeat(cat, kk), idx.reshape(-1)), 1)
            np.add.at(by_kind[l], (np.repeat(kd, kk), idx.reshape(-1)), 1)
    tap.remove()
    layers = []
    for l in range(L):
        tot = by_cat[l].sum(0)
        share = tot / tot.sum()
        ent = {"layer": l, "share": [round(float(v), 5) for v in share],
               "max_over_mean": round(float(share.max() * E), 3),
               "min_over_mean": round(float(share.min() * E), 3),
               "entropy_norm": round(entropy_norm(share), 4),
               "experts_unused": int((tot == 0).sum())}
        for key, arr, names in (("by_file_category", by_cat[l], cat_names), ("by_token_kind", by_kind[l], kind_names)):
            d = {}
            for c, name in enumerate(names):
                n = arr[c].sum()
                if n == 0:
                    continue
                pc = arr[c] / n
                top = np.argsort(-pc)[:4]
                d[name] = {"assignments": int(n), "js_from_overall": round(js_div(pc, share), 4),
                           "top_experts": [[int(j), round(float(pc[j] * E), 2)] for j in top],
                           "share": [round(float(v), 5) for v in pc]}
            ent[key] = d
        layers.append(ent)
    return layers


# ---- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory (created; ckpt/ inside)")
    ap.add_argument("--minutes", type=float, default=6.5, help="training wall-clock budget")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--experts", type=int, default=32)
    ap.add_argument("--top-k", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--inter", type=int, default=128, help="per-expert intermediate size")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--rotary-dim", type=int, default=32)
    ap.add_argument("--vocab", type=int, default=4096, help="BPE vocabulary (the 54 added tokens come after)")
    ap.add_argument("--block", type=int, default=128, help="FP8 weight block size (must divide the sizes)")
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=64, help="rows per step")
    ap.add_argument("--eval-batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--aux-coef", type=float, default=1e-3, help="batch-wise balance loss weight")
    ap.add_argument("--bias-rate", type=float, default=1e-3, help="aux-free balancing bias step")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after N steps (0: wall clock only)")
    ap.add_argument("--heldout-rows", type=int, default=512, help="held-out rows for eval and the routing report (cap)")
    ap.add_argument("--train-jsonl-mb", type=float, default=0.5, help="cap of train.jsonl")
    ap.add_argument("--max-file-kb", type=int, default=1024, help="skip source files larger than this")
    ap.add_argument("--experts-impl", default="eager", help="transformers experts implementation (eager, grouped_mm, ...)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--autocast", choices=["auto", "on", "off"], default="auto",
                    help="bf16 autocast for training (auto: on for cuda)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--tiny", action="store_true", help="20-second smoke run: tiny model, little data")
    a = ap.parse_args()
    if a.tiny:
        a.minutes, a.layers, a.experts, a.top_k, a.hidden, a.inter = 0.33, 2, 8, 2, 64, 32
        a.heads, a.kv_heads, a.head_dim, a.rotary_dim, a.vocab, a.block = 4, 2, 16, 8, 512, 16
        a.seq_len, a.batch, a.eval_batch, a.heldout_rows, a.warmup = 128, 8, 8, 16, 10
    if a.threads:
        torch.set_num_threads(a.threads)
    for v, name in ((a.hidden, "hidden"), (a.inter, "inter"), (a.heads * a.head_dim, "heads*head_dim"),
                    (a.kv_heads * a.head_dim, "kv_heads*head_dim")):
        if v % a.block:
            sys.exit("--block %d does not divide %s %d" % (a.block, name, v))
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    a.autocast = a.autocast == "on" or (a.autocast == "auto" and device.type == "cuda")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    out = os.path.abspath(a.out)
    ck = os.path.join(out, "ckpt")
    os.makedirs(ck, exist_ok=True)
    log("torch", torch.__version__, "transformers", transformers.__version__, "device", device,
        torch.cuda.get_device_name(device) if device.type == "cuda" else "")

    # 1. data
    stdlib = sysconfig.get_paths()["stdlib"]
    files = collect_files(stdlib, a.max_file_kb * 1024)
    if a.tiny:
        # a sample of the files (both sides of the split), so the smoke run is quick
        files = [f for i, f in enumerate(files) if i % 6 == 0][:240]
    held = [f for f in files if is_heldout(f[0])]
    trn = [f for f in files if not is_heldout(f[0])]
    log("stdlib %s: %d files (%.1f MB): %d train (%.1f MB), %d held out (%.1f MB)" % (
        stdlib, len(files), sum(len(t) for _, t in files) / 1e6, len(trn), sum(len(t) for _, t in trn) / 1e6,
        len(held), sum(len(t) for _, t in held) / 1e6))
    with open(os.path.join(out, "split.txt"), "w") as f:
        f.write("# train_moe.py split of the Python standard library sources (*.py)\n")
        f.write("# python %s, stdlib %s\n" % (sys.version.split()[0], stdlib))
        f.write("# files: *.py under stdlib, sorted by relative path; skipped: dirs %s, non-UTF-8, > %d KiB\n" % (
            sorted(SKIP_DIRS), a.max_file_kb))
        f.write("# rule: %s; every other file trains\n" % HELDOUT_RULE)
        f.write("# %d files: %d train, %d held out; held-out relative paths follow\n" % (len(files), len(trn), len(held)))
        for rel, _ in held:
            f.write(rel + "\n")
    with open(os.path.join(out, "heldout.jsonl"), "w") as f:
        for _, t in held:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    order = list(range(len(trn)))
    random.Random(a.seed).shuffle(order)
    with open(os.path.join(out, "train.jsonl"), "w") as f:
        n = 0
        for i in order:
            line = json.dumps({"text": trn[i][1]}, ensure_ascii=False) + "\n"
            if n + len(line) > a.train_jsonl_mb * 1e6:
                continue
            f.write(line)
            n += len(line)

    # 2. tokenizer
    tok, n_bpe, ids = train_tokenizer([t for _, t in trn], a.vocab)
    n_ids = n_bpe + 54
    vocab = -(-n_ids // 64) * 64  # padded like MiniMax-M2's 200054 -> 200064
    write_tokenizer_files(tok, ids, ck)
    eos = ids["[e~["]
    log("tokenizer: %d BPE ids + 54 added = %d, model vocab %d" % (n_bpe, n_ids, vocab))

    def stream(fs):
        enc = tok.encode_batch([t for _, t in fs], add_special_tokens=False)
        toks, owner = [], []
        for fi, e in enumerate(enc):
            toks.extend(e.ids + [eos])
            owner.extend([fi] * (len(e.ids) + 1))
        return torch.tensor(toks, dtype=torch.int64), np.array(owner, dtype=np.int64)

    rng = random.Random(a.seed + 1)
    trn_shuf = trn[:]
    rng.shuffle(trn_shuf)
    train_ids, _ = stream(trn_shuf)
    held_ids, held_owner = stream(held)
    log("tokens: train %d (%.2f bytes/token), held out %d" % (
        train_ids.numel(), sum(len(t.encode()) for _, t in trn) / train_ids.numel(), held_ids.numel()))
    T = a.seq_len
    nrow = min(held_ids.numel() // T, a.heldout_rows)
    held_rows = held_ids[:nrow * T].reshape(nrow, T)
    cats_all = [file_category(r) for r, _ in held]
    tok_cat = np.array([cats_all[o] for o in held_owner[:nrow * T]])
    counts = {c: int((tok_cat == c).sum()) for c in set(tok_cat)}
    cat_names = sorted(str(c) for c, n in counts.items() if n >= 0.03 * nrow * T)
    if len(cat_names) < len(counts):
        cat_names.append("other")
    cat_idx = np.array([cat_names.index(c) if c in cat_names else len(cat_names) - 1 for c in tok_cat])
    row_cat = torch.from_numpy(cat_idx.reshape(nrow, T))
    log("held-out eval rows: %d x %d; file categories %s" % (nrow, T, cat_names))

    # 3. model + training
    cfg = model_config(a, vocab, ids)
    model = MiniMaxM2ForCausalLM(hf_config(cfg, a.experts_impl)).float().to(device)
    rot = 2 * model.model.rotary_emb.inv_freq.numel()
    assert rot == a.rotary_dim, "transformers rotates %d dims, config says %d" % (rot, a.rotary_dim)
    log("model: %d layers, %d experts top-%d, hidden %d, inter %d, heads %d/%d x %d (rotary %d), vocab %d" % (
        a.layers, a.experts, a.top_k, a.hidden, a.inter, a.heads, a.kv_heads, a.head_dim, a.rotary_dim, vocab))
    res = train(a, model, train_ids, held_rows, device)
    # Final numbers in fp32 (no autocast) so they compare with the exported model's.
    trn_rows = torch.stack([train_ids[s:s + T] for s in range(0, nrow * T, T)]) if train_ids.numel() > nrow * T else None
    model.float()
    loss_trn = evaluate(model, trn_rows, device, a.eval_batch, False) if trn_rows is not None else float("nan")
    loss_held = evaluate(model, held_rows, device, a.eval_batch, False)
    log("FINAL trained model (fp32): train loss %.4f ppl %.2f | held-out loss %.4f ppl %.2f" % (
        loss_trn, math.exp(loss_trn), loss_held, math.exp(loss_held)))

    # 4. export
    cfg["quantization_config"] = {"activation_scheme": "dynamic", "fmt": "float8_e4m3fn", "quant_method": "fp8",
                                  "weight_block_size": [a.block, a.block],
                                  "modules_to_not_convert": ["gate", "e_score_correction_bias", "lm_head"]}
    cfg["transformers_version"] = transformers.__version__
    with open(os.path.join(ck, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    tensors = export_tensors(model, cfg, a.block)
    save_file(tensors, os.path.join(ck, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(ck, "README.md"), "w") as f:
        f.write("# Trained MiniMax-M2-architecture MoE (tiny, for tests)\n\n"
                "Trained by `tools/train_moe.py` of reap on the Python %s standard library sources (split in\n"
                "../split.txt). %d layers, %d experts top-%d, hidden %d, intermediate %d, heads %d/%d x %d,\n"
                "rotary %d, vocab %d (byte-level BPE %d + MiniMax-M2's 54 added tokens). FP8 E4M3 weights with\n"
                "%dx%d weight_scale_inv blocks as MiniMax-M2 stores them. Seed %d, %d steps, %.0f s on %s.\n"
                "Held-out loss %.4f (ppl %.2f).\n" % (
                    sys.version.split()[0], a.layers, a.experts, a.top_k, a.hidden, a.inter, a.heads, a.kv_heads,
                    a.head_dim, a.rotary_dim, vocab, n_bpe, a.block, a.block, a.seed, res["steps"],
                    res["train_seconds"], torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                    loss_held, math.exp(loss_held)))
    size = sum(os.path.getsize(os.path.join(ck, n)) for n in os.listdir(ck))
    log("exported %s: %d tensors, %.2f MB in all" % (ck, len(tensors), size / 1e6))

    # 5. verify
    summary = {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
               "device": str(device), "args": vars(a), "n_bpe": n_bpe, "vocab": vocab,
               "files": {"train": len(trn), "heldout": len(held)},
               "tokens": {"train": int(train_ids.numel()), "heldout": int(held_ids.numel())},
               "training": res, "final": {"train_loss": loss_trn, "heldout_loss": loss_held,
                                          "train_ppl": math.exp(loss_trn), "heldout_ppl": math.exp(loss_held)},
               "ckpt_bytes": size}
    try:
        ex = load_exported(ck, a.experts_impl, device)
        x = held_rows[:min(4, nrow)].to(device)
        with torch.no_grad():
            l0, l1 = model(input_ids=x).logits.float(), ex(input_ids=x).logits.float()
        d = float((l0 - l1).abs().max())
        scale = float(l0.abs().max())
        loss_ex = evaluate(ex, held_rows, device, a.eval_batch, False)
        log("VERIFY export reload: max |logit diff| %.4g (largest logit %.3g) on %d held-out rows; "
            "held-out loss exported %.4f vs trained %.4f" % (d, scale, x.shape[0], loss_ex, loss_held))
        summary["verify"] = {"max_logit_diff": d, "max_logit": scale, "heldout_loss_exported": loss_ex}
        del ex
    except Exception as e:  # keep the export even when the check fails
        log("VERIFY FAILED: %r" % (e,))
        summary["verify"] = {"error": repr(e)}
    try:
        from transformers import FineGrainedFP8Config
        hf = MiniMaxM2ForCausalLM.from_pretrained(
            ck, dtype=torch.float32, attn_implementation="eager",
            quantization_config=FineGrainedFP8Config(weight_block_size=(a.block, a.block), dequantize=True)).to(device)
        hf.eval()
        x = held_rows[:min(2, nrow)].to(device)
        with torch.no_grad():
            l1 = hf(input_ids=x).logits.float()
            l0 = model(input_ids=x).logits.float()
        d = float((l0 - l1).abs().max())
        log("VERIFY transformers' own FP8 loader: max |logit diff| vs trained %.4g" % d)
        summary["verify"]["hf_fp8_loader_max_logit_diff"] = d
        del hf
    except Exception as e:
        log("transformers' FP8 loader not usable here (%s); the manual dequantisation above is the check" %
            (repr(e)[:200],))
        summary["verify"]["hf_fp8_loader_error"] = repr(e)[:500]

    # 6. routing report
    try:
        kind_names, kinds = token_kinds(tok, vocab)
        layers = routing_report(model, held_rows, row_cat, cat_names, kinds, kind_names, device, a.eval_batch, False)
        rep = {"what": "per-layer expert token shares of the trained model (before FP8 export) on the held-out "
                       "rows; max_over_mean = largest share x experts; entropy_norm = entropy / log(experts); "
                       "js_from_overall = Jensen-Shannon divergence (nats) of a category's expert distribution from "
                       "the layer's overall one; top_experts = [expert, share x experts]",
               "rows": nrow, "seq_len": T, "top_k": a.top_k, "experts": a.experts,
               "file_categories": cat_names, "token_kinds": kind_names, "layers": layers}
        with open(os.path.join(out, "experts.json"), "w") as f:
            json.dump(rep, f, indent=1)
            f.write("\n")
        for l in layers:
            fc = l["by_file_category"]
            tk = l["by_token_kind"]
            log("layer %d: max/mean %.2f min/mean %.2f entropy %.3f unused %d | JS by file %s | JS by kind %s" % (
                l["layer"], l["max_over_mean"], l["min_over_mean"], l["entropy_norm"], l["experts_unused"],
                " ".join("%s=%.3f" % (c, v["js_from_overall"]) for c, v in fc.items()),
                " ".join("%s=%.3f" % (c, v["js_from_overall"]) for c, v in tk.items())))
    except Exception as e:
        log("routing report failed: %r" % (e,))
    summary["wall_seconds"] = round(time.time() - T0, 1)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    log("done: %s (wall %.0f s)" % (out, time.time() - T0))


if __name__ == "__main__":
    main()

"""check_pruned_loads.py: the Python `safetensors` library (the format's reference implementation)
loads every shard `reap prune` writes, and an independent re-derivation in Python of what the
output must hold agrees with it: per reap.json, expert k of layer L is source expert kept[k] byte
for byte (weights and weight_scale_inv), router rows and bias entries are the survivors' in order,
every other tensor is unchanged, the index maps every tensor to the shard that holds it and its
total_size is right, and --ratio 0 reproduces every source tensor. Non-F8 tensors are also read
through safe_open as numpy arrays (numpy has no float8, so F8 bytes are compared raw).
Env: REAP (the binary), BUILD (build dir, for tests/tool_synth_stats)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from safetensors import deserialize, safe_open

REAP = os.environ.get("REAP", "build/reap")
BUILD = os.environ.get("BUILD", "build")
STATS_TOOL = os.path.abspath(os.path.join(BUILD, "tests", "tool_synth_stats"))
failed = 0


def check(name, cond, detail=""):
    global failed
    print(("PASS " if cond else "FAIL ") + name + ("" if cond or not detail else " (" + detail + ")"))
    failed += 0 if cond else 1


def load_dir(d):
    """All tensors of a checkpoint directory via the reference deserializer: name -> (dtype, shape, bytes)."""
    out, shards = {}, {}
    idx = os.path.join(d, "model.safetensors.index.json")
    files = sorted(json.load(open(idx))["weight_map"].values()) if os.path.exists(idx) else ["model.safetensors"]
    for f in sorted(set(files)):
        for name, t in deserialize(open(os.path.join(d, f), "rb").read()):
            out[name] = (t["dtype"], list(t["shape"]), bytes(t["data"]))
            shards[name] = f
    return out, shards


def run(*args):
    subprocess.run([REAP, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    tmp = tempfile.mkdtemp(prefix="check_pruned_loads.")
    try:
        src, p30, p0 = (os.path.join(tmp, n) for n in ("src", "p30", "p0"))
        stats = os.path.join(tmp, "stats.json")
        run("synth", src, "--preset", "tiny", "--experts", "256")
        subprocess.run([STATS_TOOL, src, stats, "5"], check=True)
        run("prune", src, "-o", p30, "--ratio", "0.30", "--scores", stats)
        run("prune", src, "-o", p0, "--ratio", "0")

        S, _ = load_dir(src)
        O, shard_of = load_dir(p30)
        check("safetensors_loads_every_shard", len(O) > 0)
        cfg_src, cfg = json.load(open(os.path.join(src, "config.json"))), json.load(open(os.path.join(p30, "config.json")))
        rj = json.load(open(os.path.join(p30, "reap.json")))
        E, K, L = cfg_src["num_local_experts"], cfg["num_local_experts"], cfg_src["num_hidden_layers"]
        check("config_expert_count_180", K == 180 and rj["n_experts_after"] == 180, str(K))
        check("config_keys_and_order_kept",
              list(cfg_src) == list(cfg) and all(cfg_src[k] == cfg[k] for k in cfg if k != "num_local_experts"))
        kept = [lay["kept"] for lay in rj["layers"]]
        check("reap_json_kept_lists", len(kept) == L and all(len(k) == K and k == sorted(set(k)) for k in kept))

        pat = re.compile(r"^model\.layers\.(\d+)\.block_sparse_moe\.experts\.(\d+)\.(.*)$")
        expected = {}
        for name, (dt, shape, data) in S.items():
            m = pat.match(name)
            if m:
                layer, j, rest = int(m.group(1)), int(m.group(2)), m.group(3)
                if j in kept[layer]:
                    expected[f"model.layers.{layer}.block_sparse_moe.experts.{kept[layer].index(j)}.{rest}"] = (dt, shape, data)
                continue
            m = re.match(r"^model\.layers\.(\d+)\.block_sparse_moe\.(gate\.weight|e_score_correction_bias)$", name)
            if m:
                layer = int(m.group(1))
                row = len(data) // E
                data = b"".join(data[j * row:(j + 1) * row] for j in kept[layer])
                shape = [K] + shape[1:]
            expected[name] = (dt, shape, data)
        check("same_tensor_names", set(expected) == set(O),
              f"missing {sorted(set(expected) - set(O))[:3]} extra {sorted(set(O) - set(expected))[:3]}")
        bad = [n for n in expected if n in O and expected[n] != O[n]]
        check("every_tensor_as_expected_bytes_dtype_shape", not bad, ", ".join(bad[:3]))
        n_exp = sum(1 for n in O if n.startswith("model.layers.0.block_sparse_moe.experts.") and n.endswith(".w1.weight"))
        check("layer_0_has_180_experts", n_exp == 180, str(n_exp))

        idx = json.load(open(os.path.join(p30, "model.safetensors.index.json")))
        check("index_maps_every_tensor_to_its_shard", idx["weight_map"] == shard_of)
        total = sum(len(v[2]) for v in O.values())
        check("index_total_size", idx["metadata"]["total_size"] == total, f"{idx['metadata']['total_size']} vs {total}")

        # Numpy view of the non-F8 tensors through the framework API.
        g_name = "model.layers.1.block_sparse_moe.gate.weight"
        with safe_open(os.path.join(p30, shard_of[g_name]), "np") as f:
            g = f.get_tensor(g_name)
        with safe_open(os.path.join(src, json.load(open(os.path.join(src, "model.safetensors.index.json")))["weight_map"][g_name]), "np") as f:
            g_src = f.get_tensor(g_name)
        check("router_rows_numpy", g.shape == (180, g_src.shape[1]) and np.array_equal(g, g_src[kept[1]]))

        O0, _ = load_dir(p0)
        check("ratio_0_reproduces_every_tensor", O0 == S)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

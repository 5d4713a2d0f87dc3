"""calib_size.py: compares `reap report --csv` files of runs with a reference (bench/calib_size.sh).

usage: python3 bench/calib_size.py REF.csv RUN.csv ...   (standard library only)
Runs named rows-N-rJ.csv are replicates of size N: the first table averages them.
"""
import csv
import math
import statistics
import sys

BINS = [1, 10, 30, 100, 300, 1000, 3000, 10000, math.inf]


def load(path):
    """{layer: {expert: row}} with count, tokens, reap saliency, rank, pruned at 30%."""
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            out.setdefault(int(r["layer"]), {})[int(r["expert"])] = {
                "count": int(r["count"]),
                "tokens": int(r["tokens"]),
                "reap": float(r["reap"]) if r["reap"] else 0.0,
                "rank": int(r["rank_reap"]),
                "pruned": r["pruned_at_30"] == "1",
            }
    return out


def spearman(a, b):
    n = len(a)
    d2 = sum((x - y) ** 2 for x, y in zip(a, b))
    return 1 - 6 * d2 / (n * (n * n - 1)) if n > 1 else 1.0


def main():
    ref = load(sys.argv[1])
    print()
    print("| rows | runs x layers | tokens/layer | tokens per expert (mean) | min | experts < 10 | experts < 100 | never routed "
          "| 30% pruned set = reference | Spearman vs reference |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    binned = [[] for _ in BINS[:-1]]
    flips = [[0, 0] for _ in BINS[:-1]]
    groups = {}
    for path in sys.argv[2:]:
        name = path.rsplit("/", 1)[-1].removesuffix(".csv").removeprefix("rows-").split("-r")[0]
        groups.setdefault(name, []).append(path)
    for name, paths in groups.items():
        counts, agree, rho, tokens = [], [], [], []
        for l, experts in ((l, x) for path in paths for l, x in load(path).items()):
            E = len(experts)
            tokens.append(next(iter(experts.values()))["tokens"])
            p = {e for e, x in experts.items() if x["pruned"]}
            pr = {e for e, x in ref[l].items() if x["pruned"]}
            agree.append(len(p & pr) / len(pr) if pr else 1.0)
            rho.append(spearman([experts[e]["rank"] for e in range(E)], [ref[l][e]["rank"] for e in range(E)]))
            for e, x in experts.items():
                counts.append(x["count"])
                if x["count"] == 0:
                    continue
                i = next(i for i in range(len(BINS) - 1) if BINS[i] <= x["count"] < BINS[i + 1])
                s, sr = x["reap"], ref[l][e]["reap"]
                if sr > 0:
                    binned[i].append((abs(s - sr) / sr, math.sqrt(x["count"])))
                flips[i][0] += x["pruned"] != ref[l][e]["pruned"]
                flips[i][1] += 1
        n = len(counts)
        print(f"| {name} | {len(paths)} x {len(tokens) // len(paths)} | {statistics.mean(tokens):,.0f} | {statistics.mean(counts):,.0f} | {min(counts)} "
              f"| {100 * sum(c < 10 for c in counts) / n:.1f}% | {100 * sum(c < 100 for c in counts) / n:.1f}% "
              f"| {100 * sum(c == 0 for c in counts) / n:.1f}% | {100 * statistics.mean(agree):.1f}% "
              f"| {statistics.mean(rho):.3f} |")
    print()
    print("| tokens of the expert in the run | experts | median relative error of its REAP saliency "
          "| 90th percentile | implied per-token CV | pruned/kept at 30% differs from reference |")
    print("|---|---|---|---|---|---|")
    for i in range(len(BINS) - 1):
        if not binned[i]:
            continue
        v = sorted(r for r, _ in binned[i])
        # The relative error of a mean of n values is about CV / sqrt(n) (median of |N(0, 1)|: 0.674);
        # at large n the reference's own error and the data's differences dominate.
        cv = statistics.median(r * sq for r, sq in binned[i]) / 0.674
        hi = "" if BINS[i + 1] == math.inf else f"{BINS[i + 1] - 1:,}"
        p90 = v[min(len(v) - 1, int(0.9 * len(v)))]
        print(f"| {BINS[i]:,}-{hi} | {len(v)} | {100 * statistics.median(v):.1f}% | {100 * p90:.1f}% "
              f"| {cv:.2f} | {100 * flips[i][0] / flips[i][1]:.1f}% |")


if __name__ == "__main__":
    main()

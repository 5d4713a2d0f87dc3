#!/usr/bin/env python3
"""quality.py A.eval.json [B.eval.json ...]: bench/quality.sh's table from `reap eval --json` what-if
results. Standard library only. One row per (run, criterion, ratio); the random:S criteria of a run
are also summarised as their mean and range over seeds."""
import json
import sys


def main(paths):
    print("| run | calibration (router) | criterion | ratio | kept | dCE | ppl ratio | KL mean | top-1 agree |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        doc = json.load(open(path))
        run = path.rsplit("/", 1)[-1].split(".")[0]
        with open(doc["scores"]["path"]) as f:
            cal = json.load(f)["calibration"]
        what = "%s (%s), %d rows x %d" % (",".join(s.rsplit("/", 1)[-1] for s in cal["sources"]), cal["router"],
                                          cal["rows_scored"], cal["seq_len"])
        rnd = {}
        for v in doc["variants"]:
            kl = v["kl"]["mean"]
            row = (v["delta_ce"], v["ppl_ratio"], kl, v["top1_agreement"])
            if v["criterion"].startswith("random:"):
                rnd.setdefault(v["ratio"], []).append(row)
            print("| %s | %s | %s | %.2f | %d | %+.4f | %.4f | %.4f | %.4f |" % (
                run, what, v["criterion"], v["ratio"], v["experts_kept"], *row))
        for r, rows in sorted(rnd.items()):
            mean = [sum(x[i] for x in rows) / len(rows) for i in range(4)]
            lo = [min(x[i] for x in rows) for i in range(4)]
            hi = [max(x[i] for x in rows) for i in range(4)]
            print("| %s | %s | random, mean of %d seeds [min, max] | %.2f | | %+.4f [%+.4f, %+.4f] | %.4f | %.4f [%.4f, %.4f] | %.4f [%.4f, %.4f] |" % (
                run, what, len(rows), r, mean[0], lo[0], hi[0], mean[1], mean[2], lo[2], hi[2], mean[3], lo[3], hi[3]))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: quality.py A.eval.json [B.eval.json ...]")
    main(sys.argv[1:])

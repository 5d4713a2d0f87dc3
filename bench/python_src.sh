#!/bin/sh
# python_src.sh OUT [LIMIT_BYTES] [COPIES]: a calibration file of real Python source for the
# benchmarks: the machine's standard library, one {"text"} record per .py file in sorted order,
# files until LIMIT_BYTES characters (default 40000000), the whole list COPIES times (default 1;
# gpu_bench.sh at 1024 x 2048 tokens needs 3: one copy fills about 350 rows).
OUT=${1:?usage: python_src.sh OUT [LIMIT_BYTES] [COPIES]}
python3 - "$OUT" "${2:-40000000}" "${3:-1}" <<'PY'
import glob, json, sys, sysconfig
out_path, limit, copies = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
texts, n = [], 0
for f in sorted(glob.glob(sysconfig.get_paths()["stdlib"] + "/**/*.py", recursive=True)):
    try:
        t = open(f, encoding="utf-8").read()
    except (UnicodeDecodeError, OSError):
        continue
    texts.append(json.dumps({"text": t}))
    n += len(t)
    if n > limit:
        break
with open(out_path, "w") as out:
    for _ in range(copies):
        for t in texts:
            out.write(t + "\n")
PY

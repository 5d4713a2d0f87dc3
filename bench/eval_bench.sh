#!/bin/sh
# eval_bench.sh: `reap eval` what-if at true width (issue 12), through the binary:
#  1. synthesises `--preset minimax-m2 --layers $LAYERS` (3.8 GB a layer) unless present and writes a
#     calibration file of real Python source (the machine's standard library, as gpu_bench.sh);
#  2. statistics: `reap score` on $SCORE_ROWS rows of it (the plans' input);
#  3. `reap eval --scores ... --ratio 0.25,0.30,0.40,0.50` on $ROWS x $SEQ tokens of the same file:
#     wall, the layers' and the logits' seconds, tokens/s, peak host RSS (GNU time) and peak GPU
#     memory (nvidia-smi sampled every 0.2 s), and the projection to the full 62-layer model (the
#     layers scale with the layer count; the logits, the rows and the start do not).
#   BIN=dir with reap (default build)  WORK=scratch (/tmp/reap-bench)  OUT=log dir (.)
#   ROWS (256) SEQ (2048) LAYERS (4) SCORE_ROWS (64) DEVICE (cuda) EVAL_ARGS (more eval options)
BIN=${BIN:-build}
WORK=${WORK:-/tmp/reap-bench}
OUT=${OUT:-.}
ROWS=${ROWS:-256}
SEQ=${SEQ:-2048}
LAYERS=${LAYERS:-4}
SCORE_ROWS=${SCORE_ROWS:-64}
DEVICE=${DEVICE:-cuda}
R=$BIN/reap
M=$WORK/m2
mkdir -p "$WORK" "$OUT"
LOG=$OUT/eval_bench.log
: >"$LOG"
say() { echo "$*" | tee -a "$LOG"; }
now() { date +%s.%N; }
el() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
say "# eval_bench $(date -u +%Y-%m-%dT%H:%MZ) on $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)," \
    "$(nproc) cores; $ROWS x $SEQ tokens, $LAYERS layers, $DEVICE $EVAL_ARGS"
if [ ! -f "$M/config.json" ]; then
    t0=$(now)
    "$R" synth "$M" --preset minimax-m2 --layers "$LAYERS" -q || exit 1
    say "synth $(el "$t0" "$(now)") s"
fi
[ -f "$WORK/python-src.jsonl" ] || sh bench/python_src.sh "$WORK/python-src.jsonl" 40e6 || exit 1
if [ ! -f "$WORK/eval-stats.json" ]; then
    t0=$(now)
    "$R" score "$M" --device "$DEVICE" --calib "$WORK/python-src.jsonl" --rows "$SCORE_ROWS" --seq-len "$SEQ" \
        -o "$WORK/eval-stats.json" -q || exit 1
    say "score ($SCORE_ROWS x $SEQ tokens) $(el "$t0" "$(now)") s"
fi

# peak GPU memory: nvidia-smi sampled while eval runs
gpu_peak() {
    peak=0
    while [ -f "$WORK/eval.running" ]; do
        m=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | sort -n | tail -1)
        [ -n "$m" ] && [ "$m" -gt "$peak" ] && peak=$m
        sleep 0.2
    done
    echo "$peak" >"$WORK/gpu_peak"
}
touch "$WORK/eval.running"
gpu_peak &
sampler=$!
t0=$(now)
/usr/bin/time -f "%M %e" -o "$WORK/eval.time" "$R" eval "$M" --device "$DEVICE" --scores "$WORK/eval-stats.json" \
    --ratio 0.25,0.30,0.40,0.50 --calib "$WORK/python-src.jsonl" --rows "$ROWS" --seq-len "$SEQ" -o "$WORK/eval.json" -v $EVAL_ARGS \
    >"$WORK/eval.out" 2>"$WORK/eval.err"
rc=$?
t1=$(now)
rm -f "$WORK/eval.running"
wait "$sampler"
grep -v '^\s*$' "$WORK/eval.err" | grep -v 'layer [0-9]*/[0-9]* done' | sed 's/^/  /' | tee -a "$LOG"
cat "$WORK/eval.out" | tee -a "$LOG"
[ $rc -eq 0 ] || { say "eval FAILED (exit $rc)"; exit 1; }
python3 - "$WORK/eval.json" "$(cat "$WORK/eval.time")" "$(cat "$WORK/gpu_peak")" "$(el "$t0" "$t1")" "$LAYERS" <<'EOF' | tee -a "$LOG"
import json, sys
d = json.load(open(sys.argv[1]))
rss_kb, _ = sys.argv[2].split()
gpu_mib, wall, L = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
run, rows = d["run"], d["rows"]
nv = len(d["variants"])
tok = rows["rows"] * rows["seq_len"]
lay, lg = run["layers_seconds"], run["logits_seconds"]
other = wall - lay - lg
print(f"| what | value |\n|---|---|")
print(f"| models | original + {nv} what-if variants ({', '.join(v['name'] for v in d['variants'])}) |")
print(f"| tokens | {rows['rows']} x {rows['seq_len']} = {tok:,} ({rows['positions']:,} positions compared) |")
print(f"| wall | {wall:.1f} s |")
print(f"| layers | {lay:.1f} s: {tok * (nv + 1) * L / lay / 1e6:.2f}M token-layers/s over {nv + 1} streams ({tok * L / lay / 1e6:.2f}M tokens/s of the original's) |")
print(f"| logits (final norm, lm_head, metrics; {run.get('logits_device', 'cpu')}) | {lg:.1f} s: {rows['positions'] * nv / lg / 1e6:.2f}M position-comparisons/s |")
print(f"| rest (packing the rows, reading the statistics, the document) | {other:.1f} s |")
print(f"| peak host RSS | {int(rss_kb) / 1024 / 1024:.1f} GiB (estimate {run['memory_estimate'] / 2**30:.1f} GiB; hidden states {run['memory_hidden_per_model'] / 2**30:.2f} GiB a model) |")
print(f"| peak GPU memory (nvidia-smi) | {gpu_mib / 1024:.1f} GiB |")
full = lay / L * 62 + lg + other
print(f"| projected full MiniMax-M2 (62 layers), same tokens | {full / 60:.1f} min ({lay / L * 62:.0f} s layers + {lg:.0f} s logits + {other:.0f} s rest; reading 3.8 GB a layer at the disk's rate not included when slower) |")
for v in d["variants"]:
    print(f"| {v['name']} | KL {v['kl']['mean']:.4f}, top-1 {v['top1_agreement']:.4f}, ppl ratio {v['ppl_ratio']:.4f} |")
EOF

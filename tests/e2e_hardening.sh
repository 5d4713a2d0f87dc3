#!/bin/sh
# e2e_hardening: hostile inputs of issue 13. Lying sizes (a config.json claiming 1e9 experts, a
# tokenizer id of 2e9, one huge calibration record) must end within a second and under 100 MB;
# special files (FIFOs) in place of inputs are refused, never opened blocking; impossible or
# foreign statistics, a non-finite router and a corrupt work dir are errors; messages name the
# real culprit. Every command runs under `timeout -s KILL 10`.
REAP=${REAP:-build/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
if [ ! -x "$REAP" ]; then
    echo "FAIL hardening_setup: $REAP is not an executable"
    exit 1
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/reap-e2e-hard.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1

# check NAME CODE NEEDLE: judges the last run (rc, se.txt): exit code, one "reap: error:" line
# (warnings aside) naming NEEDLE, no crash report.
check() {
    name=$1 code=$2 needle=$3
    grep -v "^reap: warning: " se.txt >se1.txt
    n=$(wc -l <se1.txt)
    why=
    if grep -qE 'runtime error|Sanitizer|internal error|Segmentation|core dumped' se.txt; then why="crash report"
    elif [ "$rc" -ne "$code" ]; then why="exit $rc, expected $code"
    elif [ "$code" -ne 0 ] && [ "$code" -ne 3 ] && [ "$n" -ne 1 ]; then why="$n stderr lines besides warnings, expected 1"
    elif [ "$code" -ne 0 ] && ! grep -q '^reap: error: ' se1.txt; then why="the line does not start with 'reap: error:'"
    elif [ -n "$needle" ] && ! grep -qF -- "$needle" se1.txt; then why="the message does not name '$needle'"
    fi
    if [ -z "$why" ]; then echo "PASS $name"; else echo "FAIL $name: $why"; head -5 se.txt | sed 's/^/    /'; fi
}

# expect NAME CODE NEEDLE ARGS...: runs reap ARGS (killed after 10 s) and checks it.
expect() {
    name=$1 code=$2 needle=$3
    shift 3
    timeout -s KILL 10 "$REAP" "$@" >so.txt 2>se.txt </dev/null
    rc=$?
    check "$name" "$code" "$needle"
}

# bounded NAME CODE NEEDLE ARGS...: as expect, and the run must take at most a second of wall
# time and 100 MB of peak RSS (GNU time's %M) above what `reap --version` takes, so that a lying
# size cannot drive work or memory. The baseline matters: a CUDA build maps and relocates cuBLASLt
# and cudart at start-up (about 220 MB of RSS before main runs), a CPU build about 5 MB.
/usr/bin/time -f "%e %M" -o time.txt "$REAP" --version >/dev/null 2>&1
base_kb=$(tail -n 1 time.txt | awk '{ print $2 }')
case $base_kb in ''|*[!0-9]*) echo "FAIL hardening_baseline: no RSS from reap --version"; base_kb=0 ;; esac
bounded() {
    name=$1 code=$2 needle=$3
    shift 3
    # Under ASan (make SAN=1) freed memory sits in a quarantine that RSS would count: none here.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" \
        /usr/bin/time -f "%e %M" -o time.txt timeout -s KILL 10 "$REAP" "$@" >so.txt 2>se.txt </dev/null
    rc=$?
    check "$name" "$code" "$needle"
    read -r secs kb <<END
$(tail -n 1 time.txt)
END
    if awk -v s="$secs" -v k="$kb" -v b="$base_kb" 'BEGIN { exit !(s <= 1.0 && k <= b + 100 * 1024) }'; then
        echo "PASS ${name}_bounded"
    else
        echo "FAIL ${name}_bounded: ${secs} s, ${kb} KB (limits 1 s, ${base_kb} KB + 100 MB)"
    fi
}

if ! "$REAP" synth m --preset tiny -q; then
    echo "FAIL hardening_setup: reap synth"
    exit 1
fi
sargs="--device cpu --calib builtin:4 --rows 1 --seq-len 16 -q"

# ---- class 1: bounded work from small inputs
cp -r m bigE && sed 's/"num_local_experts":[^,]*/"num_local_experts": 1000000000/' m/config.json >bigE/config.json
cp -r m bigL && sed 's/"num_hidden_layers":[^,]*/"num_hidden_layers": 100000000/' m/config.json >bigL/config.json
for c in bigE bigL; do
    bounded "inspect_config_$c" 1 "layout problems" inspect $c
    bounded "prune_config_$c" 1 "layout problems" prune $c -o out --ratio 0
    bounded "score_config_$c" 1 "layout problems" score $c $sargs -o o.json
done
cp -r m bigid && python3 - <<'PY'
import json
t = json.load(open("m/tokenizer.json"))
t["model"]["vocab"]["zzhuge"] = 2000000000
json.dump(t, open("bigid/tokenizer.json", "w"))
PY
bounded tokenizer_huge_id 1 "id 2000000000" tokenize bigid --text hi
python3 -c "import json; print(json.dumps({'text': 'hello world, this is text. ' * 450000}))" >bigrec.jsonl
bounded calib_huge_record 0 "" calib m --calib bigrec.jsonl --rows 1 --seq-len 32
bounded score_huge_record 0 "" score m --device cpu --calib bigrec.jsonl --rows 1 --seq-len 16 -q -o big.json

# ---- class 3: special files in place of inputs are refused, never opened blocking
shard2=model-00002-of-00002.safetensors
cp -r m fshard && rm fshard/$shard2 && mkfifo fshard/$shard2
cp -r m findex && rm findex/model.safetensors.index.json && mkfifo findex/model.safetensors.index.json
cp -r m fconfig && rm fconfig/config.json && mkfifo fconfig/config.json
cp -r m ftok && rm ftok/tokenizer.json && mkfifo ftok/tokenizer.json
mkfifo fifo.jsonl fifo.tar fifo.json
"$REAP" score m $sargs -o s.json 2>/dev/null
for c in fshard findex fconfig; do
    expect "inspect_fifo_$c" 1 "not a regular file" inspect $c
    expect "score_fifo_$c" 1 "$c/" score $c $sargs -o o.json
    expect "prune_fifo_$c" 1 "$c/" prune $c -o out --ratio 0
    expect "verify_fifo_$c" 1 "$c/" verify $c m
done
expect tokenize_fifo_tokenizer 1 "ftok/tokenizer.json: not a regular file" tokenize ftok --text hi
expect score_fifo_tokenizer 1 "ftok/tokenizer.json: not a regular file" score ftok $sargs -o o.json
expect calib_fifo_jsonl 1 "fifo.jsonl: not a regular file" calib m --calib fifo.jsonl
expect calib_fifo_archive 1 "fifo.tar: not a regular file" calib m --calib fifo.tar
expect prune_fifo_scores 1 "fifo.json: not a regular file" prune m -o out --ratio 0.3 --scores fifo.json
expect report_fifo_scores 1 "fifo.json: not a regular file" report fifo.json
expect merge_fifo_scores 1 "fifo.json: not a regular file" merge s.json fifo.json -o merged.json
# verify compares the other files of source and output: a FIFO among them must not block it.
"$REAP" prune m -o pm --ratio 0.25 --scores s.json -q && cp -r m fsrc && echo x >fsrc/extra.txt && mkfifo pm/extra.txt
expect verify_fifo_other_file 3 "extra.txt" verify fsrc pm

# ---- class 2: a non-finite router or routing bias is an error naming the tensor
# poison DIR TENSOR VALUE: overwrites the first element of TENSOR in DIR's shards with VALUE (nan, inf).
poison() {
    python3 - "$@" <<'PY'
import json, struct, sys, glob
d, name, val = sys.argv[1], sys.argv[2], float(sys.argv[3])
for p in sorted(glob.glob(d + "/*.safetensors")):
    with open(p, "r+b") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
        if name not in h: continue
        t = h[name]
        f.seek(8 + n + t["data_offsets"][0])
        enc = {"F32": struct.pack("<f", val), "BF16": struct.pack("<f", val)[2:], "F16": struct.pack("<e", val)}[t["dtype"]]
        f.write(enc)
        sys.exit(0)
sys.exit(1)
PY
}
cp -r m nangate && poison nangate model.layers.1.block_sparse_moe.gate.weight nan || echo "FAIL hardening_setup: poison gate"
cp -r m infbias && poison infbias model.layers.0.block_sparse_moe.e_score_correction_bias inf || echo "FAIL hardening_setup: poison bias"
expect score_nan_router_gate 1 "model.layers.1.block_sparse_moe.gate.weight" score nangate $sargs -o o.json
expect score_inf_routing_bias 1 "model.layers.0.block_sparse_moe.e_score_correction_bias" score infbias $sargs -o o.json

# ---- class 2 / 7: impossible statistics are refused by prune (and merge: the loader is shared),
# naming the file, layer, expert and value; a truncated or NaN file is said to be one
python3 - <<'PY'
import json
def edit(name, f):
    s = json.load(open("s.json")); f(s); open(name, "w").write(json.dumps(s, indent=1))
def neg(s): s["layers"][0]["gate_sum"][3] = -1.5
def over(s): s["layers"][1]["count"][2] = s["layers"][1]["tokens"] + 1
def zero(s): L = s["layers"][0]; L["count"][5] = 0; L["gate_sum"][5] = 0.25; L["norm_sum"][5] = 1; L["reap_sum"][5] = 0.25
def shard(s): s["calibration"]["shards"] = [7]
edit("neg.json", neg); edit("over.json", over); edit("zero.json", zero); edit("shard.json", shard)
t = open("s.json").read()
i = t.index('"gate_sum": [') + len('"gate_sum": [')
open("nan.json", "w").write(t[:i] + "NaN" + t[i + t[i:].index(","):])
open("trunc.json", "w").write(t[: len(t) // 2])
PY
expect prune_stats_negative_sum 1 "neg.json: layer 0: expert 3: gate_sum = -1.5 is negative" prune m -o out --ratio 0.3 --scores neg.json
expect prune_stats_count_above_tokens 1 "over.json: layer 1: expert 2: count" prune m -o out --ratio 0.3 --scores over.json
expect prune_stats_zero_count_nonzero_sum 1 "zero.json: layer 0: expert 5: count 0 with a non-zero sum" prune m -o out --ratio 0.3 --scores zero.json
expect prune_stats_bad_shard_index 1 "shard.json: calibration.shards" prune m -o out --ratio 0.3 --scores shard.json
expect merge_stats_negative_sum 1 "neg.json: layer 0: expert 3" merge s.json neg.json -o merged.json
expect prune_stats_nan_says_invalid_json 1 "nan.json: invalid JSON at byte" prune m -o out --ratio 0.3 --scores nan.json
expect prune_stats_truncated_says_truncated 1 "(truncated)" prune m -o out --ratio 0.3 --scores trunc.json
if grep -q "reap statistics file" se.txt; then echo "FAIL stats_truncated_not_called_foreign"; else echo "PASS stats_truncated_not_called_foreign"; fi

# ---- class 2: statistics of other weights. mo has m's shapes (same fingerprint) and another seed's
# weights: its router digest (router_sha256) differs, and prune, eval and merge refuse the mix.
"$REAP" synth mo --preset tiny --seed 7 -q && "$REAP" score mo $sargs -o so.json 2>/dev/null
fp() { sed -n 's/.*"fingerprint": "\([0-9a-f]*\)".*/\1/p' "$1"; }
rd() { sed -n 's/.*"router_sha256": "\([0-9a-f]*\)".*/\1/p' "$1"; }
if [ -n "$(fp s.json)" ] && [ "$(fp s.json)" = "$(fp so.json)" ] && [ -n "$(rd s.json)" ] && [ -n "$(rd so.json)" ] &&
    [ "$(rd s.json)" != "$(rd so.json)" ]; then
    echo "PASS stats_other_weights_same_fingerprint_other_router_digest"
else
    echo "FAIL stats_other_weights_same_fingerprint_other_router_digest: fingerprints $(fp s.json) $(fp so.json), digests $(rd s.json) $(rd so.json)"
fi
expect prune_stats_of_other_weights 1 "s.json: statistics were scored on other router weights than mo's" prune mo -o out --ratio 0.3 --scores s.json
[ -e out ] && echo "FAIL prune_stats_of_other_weights_no_output: out exists" || echo "PASS prune_stats_of_other_weights_no_output"
expect prune_dry_run_stats_of_other_weights 1 "other router weights" prune mo --dry-run --ratio 0.3 --scores s.json
expect eval_stats_of_other_weights 1 "s.json: statistics were scored on other router weights than mo's" eval mo --scores s.json --ratio 0.3 --rows 1 --seq-len 16
expect merge_stats_of_other_weights 1 "so.json: statistics of other router weights" merge s.json so.json -o merged.json
# A file written before the digest existed: a warning (naming it) and the fingerprint check only.
sed '/"router_sha256"/d' s.json >old.json
expect prune_stats_without_router_digest_warns 0 "" prune m -o outold --ratio 0.3 --scores old.json
if grep -qF "reap: warning: old.json: no router digest" se.txt; then echo "PASS prune_stats_without_router_digest_warning"; else echo "FAIL prune_stats_without_router_digest_warning"; head -3 se.txt; fi
expect merge_stats_with_and_without_router_digest 1 "old.json: has no router digest" merge s.json old.json -o merged.json
rm -rf outold

# ---- class 7: messages that name the real culprit
expect prune_ratio_nan_is_not_a_finite_number 2 "--ratio expects a finite number, got 'nan'" prune m -o out --ratio nan --scores s.json
expect prune_ratio_denormal_is_a_number 0 "" prune m -o outd --ratio 1e-310 --scores s.json -q
rm -rf outd
expect verify_swapped_arguments 1 "the second argument is not a pruned checkpoint" verify pm m
cp -r m ctl && sed 's/"model_type":[^,]*/"model_type": "evil\\u001b[31m"/' m/config.json >ctl/config.json
expect inspect_control_characters_escaped 1 'evil\x1b[31m' inspect ctl
if grep -q "$(printf '\033')" se.txt; then echo "FAIL control_characters_not_raw"; else echo "PASS control_characters_not_raw"; fi
if [ "${CUDA:-0}" = 0 ]; then
    expect score_cuda_in_cpu_build 4 "--device cuda" score m --device cuda --calib builtin:4 --rows 1 --seq-len 16 -o o.json
    if grep -q "page-lock" se.txt; then echo "FAIL score_cuda_in_cpu_build_no_page_lock_warning"; else echo "PASS score_cuda_in_cpu_build_no_page_lock_warning"; fi
fi
# A damaged work-dir state is said to be corrupt, not another run's.
"$REAP" score m $sargs --work-dir wd -o w1.json 2>/dev/null
if [ -f wd/state.json ]; then
    head -c 20 wd/state.json >wd/s.tmp && mv wd/s.tmp wd/state.json
    expect score_work_dir_corrupt_state 1 "state.json: corrupt" score m $sargs --work-dir wd -o w2.json
else
    echo "FAIL score_work_dir_corrupt_state: no wd/state.json after a --work-dir run"
fi
# A flipped bit in the hidden states of a killed run is found by their checksum on resume (it used
# to be resumed from silently, changing the statistics). The run is slowed (REAP_TEST_SLOW_MS) and
# killed once layer 1 is committed: hidden-1.bin, then stats.partial.json (written after it: a kill
# between the two leaves a work dir that resumes from layer 0, never reading hidden-1.bin); the flip
# is in the middle of the floats.
REAP_TEST_SLOW_MS=2000 "$REAP" score m $sargs --threads 1 --work-dir wk -o wk.json 2>/dev/null &
pid=$!
n=0
while [ $n -lt 400 ] && { [ ! -f wk/hidden-1.bin ] || [ ! -f wk/stats.partial.json ]; }; do sleep 0.05; n=$((n + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
if [ -f wk/hidden-1.bin ] && [ ! -f wk.json ]; then
    size=$(wc -c <wk/hidden-1.bin)
    off=$(( (size - 30) / 2 ))
    python3 -c "import sys; f=open('wk/hidden-1.bin','r+b'); f.seek($off); b=f.read(1); f.seek($off); f.write(bytes([b[0]^1]))"
    expect score_work_dir_flipped_hidden_state 1 "wk/hidden-1.bin: corrupt: checksum" score m $sargs --threads 1 --work-dir wk -o wk.json
    [ -f wk.json ] && echo "FAIL score_work_dir_flipped_hidden_state_no_output" || echo "PASS score_work_dir_flipped_hidden_state_no_output"
else
    echo "FAIL score_work_dir_flipped_hidden_state: no wk/hidden-1.bin from a killed run"
fi

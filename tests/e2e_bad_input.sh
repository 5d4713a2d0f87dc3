#!/bin/sh
# e2e_bad_input: every command against malformed input (missing paths, empty and half-made
# checkpoint directories, truncated / missing / garbage shards, broken config.json, wrong option
# values, bad statistics and calibration files). Each case must end with the documented exit code
# (1 bad input, 2 usage, 3 verify mismatch), exactly one stderr line "reap: error: ..." (warnings
# aside) that names the offending file, tensor or value, and no crash or sanitizer report. At the
# end: the source checkpoint is byte-identical and no temporary file was left behind.
REAP=${REAP:-build/reap}
case $REAP in /*) ;; *) REAP=$PWD/$REAP ;; esac
if [ ! -x "$REAP" ]; then
    echo "FAIL bad_input_setup: $REAP is not an executable"
    exit 1
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/reap-e2e-bad.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1

# expect NAME CODE NEEDLE ARGS...: runs reap ARGS.
expect() {
    name=$1 code=$2 needle=$3
    shift 3
    "$REAP" "$@" >so.txt 2>se.txt
    rc=$?
    grep -v "^reap: warning: " se.txt >se1.txt
    n=$(wc -l <se1.txt)
    why=
    if grep -qE 'runtime error|Sanitizer|internal error|Segmentation|core dumped' se.txt; then why="crash report"
    elif [ "$rc" -ne "$code" ]; then why="exit $rc, expected $code"
    elif [ "$n" -ne 1 ]; then why="$n stderr lines besides warnings, expected 1"
    elif ! grep -q '^reap: error: ' se1.txt; then why="the line does not start with 'reap: error:'"
    elif ! grep -qF -- "$needle" se1.txt; then why="the message does not name '$needle'"
    fi
    if [ -z "$why" ]; then
        echo "PASS $name"
    else
        echo "FAIL $name: $why"
        head -5 se.txt | sed 's/^/    /'
    fi
}

# set_config DIR KEY=JSON...: rewrites DIR/config.json with the keys set ("KEY=" deletes KEY).
set_config() {
    d=$1
    shift
    awk -v sets="$*" '
        BEGIN { n = split(sets, kv, " "); for (i = 1; i <= n; i++) { p = index(kv[i], "="); val[substr(kv[i], 1, p - 1)] = substr(kv[i], p + 1) } }
        {
            line = $0
            if (match(line, /^[ \t]*"[^"]+":/)) {
                key = substr(line, RSTART, RLENGTH); sub(/^[ \t]*"/, "", key); sub(/":$/, "", key)
                if (key in val) {
                    if (val[key] == "") next
                    comma = (line ~ /,[ \t]*$/) ? "," : ""
                    line = substr(line, 1, RSTART + RLENGTH - 1) " " val[key] comma
                }
            }
            print line
        }' "$d/config.json" >"$d/config.tmp" && mv "$d/config.tmp" "$d/config.json"
}

# ---- fixtures
if ! "$REAP" synth m --preset tiny -q || ! "$REAP" synth other --preset tiny --experts 8 -q; then
    echo "FAIL bad_input_setup: reap synth"
    exit 1
fi
sargs="--device cpu --calib builtin:10 --rows 2 --seq-len 32 -q"
if ! "$REAP" score m $sargs -o s.json || ! "$REAP" score other $sargs -o other.json; then
    echo "FAIL bad_input_setup: reap score"
    exit 1
fi
sum_before=$(cat m/* | cksum)
shard2=model-00002-of-00002.safetensors

mkdir empty cfgonly
cp m/config.json cfgonly/
cp -r m trunc
head -c $(($(wc -c <m/$shard2) - 100)) m/$shard2 >trunc/$shard2
cp -r m missing && rm missing/$shard2
cp -r m garbage && printf '\377\377\377\377\377\377\377\377garbage' >garbage/$shard2
cp -r m zero && : >zero/$shard2
cp -r m dotdot && sed "s|\"$shard2\"|\"../x.safetensors\"|" m/model.safetensors.index.json >dotdot/model.safetensors.index.json
cp -r m badindex && echo 'nope' >badindex/model.safetensors.index.json
cp -r m notjson && echo '{"hidden_size": ' >notjson/config.json
cp -r m cfgarray && echo '[1, 2]' >cfgarray/config.json
cp -r m nokey && set_config nokey num_local_experts=
cp -r m strval && set_config strval 'num_local_experts="abc"'
cp -r m negval && set_config negval num_local_experts=-3
cp -r m bigk && set_config bigk num_experts_per_tok=99
cp -r m hidden && set_config hidden hidden_size=128
cp -r m badtok && echo '{' >badtok/tokenizer.json
if grep -q '"num_local_experts"' nokey/config.json || ! grep -q '"num_experts_per_tok": 99' bigk/config.json ||
    ! grep -q '"hidden_size": 128' hidden/config.json; then
    echo "FAIL bad_input_setup: config.json edits did not apply"
fi

echo 'not json' >notjson.json
head -c 200 s.json >trunc.json
echo '{}' >empty.json
printf '{"messages":[{"role":"user","content":"hi"}]}\n{bad\n' >badline.jsonl
printf '{"messages":[{"role":"wizard","content":"x"}]}\n' >badrole.jsonl
printf '\377\376\n' >badutf8.jsonl
: >nolines.jsonl
printf '[1, "x"]\n' >badids.jsonl

# ---- checkpoint directories, for every command that reads one
for c in nonexist empty cfgonly; do
    expect "inspect_$c" 1 "$c" inspect $c
    expect "score_$c" 1 "$c" score $c $sargs -o o.json
    expect "prune_$c" 1 "$c" prune $c -o out --ratio 0.3 --scores s.json
    expect "verify_source_$c" 1 "$c" verify $c m
    expect "tokenize_$c" 1 "$c" tokenize $c --text hi
    expect "calib_$c" 1 "$c" calib $c --rows 1 --seq-len 32
done
expect verify_output_nonexist 1 nonexist verify m nonexist
expect verify_output_empty 3 empty verify m empty
for c in trunc missing garbage zero; do
    expect "inspect_$c" 1 "$shard2" inspect $c
    expect "score_$c" 1 "$shard2" score $c $sargs -o o.json
    expect "prune_$c" 1 "$shard2" prune $c -o out --ratio 0.3 --scores s.json
    expect "verify_source_$c" 1 "$shard2" verify $c m
    expect "verify_output_$c" 3 "$shard2" verify m $c
done
expect inspect_zero_says_short 1 "shorter than the 8-byte header" inspect zero
expect inspect_trunc_says_truncated 1 "truncated" inspect trunc
for c in dotdot badindex; do
    expect "inspect_$c" 1 "$c/model.safetensors.index.json" inspect $c
    expect "score_$c" 1 "$c/model.safetensors.index.json" score $c $sargs -o o.json
    expect "prune_$c" 1 "$c/model.safetensors.index.json" prune $c -o out --ratio 0.3 --scores s.json
done
expect inspect_dotdot_names_shard 1 "../x.safetensors" inspect dotdot
for c in notjson cfgarray; do
    expect "inspect_$c" 1 "$c/config.json" inspect $c
    expect "score_$c" 1 "$c/config.json" score $c $sargs -o o.json
    expect "prune_$c" 1 "$c/config.json" prune $c -o out --ratio 0.3 --scores s.json
    expect "calib_$c" 1 "$c/config.json" calib $c --rows 1 --seq-len 32
done
for c in nokey strval negval; do
    expect "inspect_$c" 1 num_local_experts inspect $c
    expect "score_$c" 1 num_local_experts score $c $sargs -o o.json
    expect "prune_$c" 1 num_local_experts prune $c -o out --ratio 0.3 --scores s.json
done
expect inspect_topk_above_experts 1 num_experts_per_tok inspect bigk
expect score_topk_above_experts 1 num_experts_per_tok score bigk $sargs -o o.json
expect prune_topk_above_experts 1 num_experts_per_tok prune bigk -o out --ratio 0
expect inspect_config_disagrees_with_tensors 1 model.embed_tokens.weight inspect hidden
expect score_config_disagrees_with_tensors 1 model.embed_tokens.weight score hidden $sargs -o o.json
expect prune_config_disagrees_with_tensors 1 model.embed_tokens.weight prune hidden -o out --ratio 0
expect tokenize_bad_tokenizer_json 1 badtok/tokenizer.json tokenize badtok --text hi
# a vocab that is an array, not an object (fuzz_tokenizer: strlen of a NULL key, a segfault)
printf '{"model": {"type": "BPE", "vocab": ["a b"], "merges": []}, "added_tokens": []}' >vocab_array.json
expect tokenize_vocab_array 1 '"vocab" must be an object' tokenize vocab_array.json --text ab
expect score_bad_tokenizer_json 1 badtok/tokenizer.json score badtok $sargs -o o.json

# ---- option values (usage errors: exit 2, the message quotes the value)
expect prune_ratio_not_a_number 2 "'abc'" prune m -o out --ratio abc --scores s.json
expect prune_ratio_above_one 2 "--ratio 1.5" prune m -o out --ratio 1.5 --scores s.json
expect prune_ratio_negative 2 "--ratio -0.1" prune m -o out --ratio -0.1 --scores s.json
expect prune_keep_zero 2 "--keep 0" prune m -o out --keep 0 --scores s.json
expect prune_keep_above_experts 2 "--keep 100" prune m -o out --keep 100 --scores s.json
expect prune_keep_below_topk 2 "keeping 2 experts" prune m -o out --keep 2 --scores s.json
expect prune_ratio_and_keep 2 "--ratio R or --keep K" prune m -o out --ratio 0.3 --keep 8 --scores s.json
expect prune_criterion_bogus 2 "'bogus'" prune m -o out --ratio 0.3 --criterion bogus --scores s.json
expect prune_align_not_a_number 2 "'abc'" prune m -o out --ratio 0.3 --align abc --scores s.json
expect prune_max_shard_size_bogus 2 "'abc'" prune m -o out --ratio 0.3 --max-shard-size abc --scores s.json
expect prune_output_is_source 2 "the output is the source" prune m -o m --ratio 0.3 --scores s.json
expect prune_output_inside_source 2 "inside the source" prune m -o m/sub --ratio 0.3 --scores s.json
expect prune_without_output 2 "-o OUT" prune m --ratio 0.3 --scores s.json
expect score_rows_negative 2 "got -1" score m --rows -1
expect score_seq_len_zero 2 "--seq-len" score m --seq-len 0
expect score_shard_out_of_range 2 "5/4" score m --shard 5/4
expect score_shard_malformed 2 "'abc'" score m --shard abc
expect score_router_bogus 2 "'bogus'" score m --router bogus
expect score_device_bogus 2 "'tpu'" score m --device tpu
expect score_threads_not_a_number 2 "'abc'" score m --threads abc
expect score_gpus_bogus 2 "'bogus'" score m --gpus bogus
expect score_gpu_mem_bogus 2 "'xx'" score m --gpu-mem xx
expect calib_seq_len_one 2 "--seq-len" calib m --seq-len 1
expect calib_rows_negative 2 "got -1" calib m --rows -1
expect calib_samples_negative 2 "got -1" calib m --render-only --samples -1
expect report_top_negative 2 "got -1" report s.json --top -1
expect report_criterion_bogus 2 "'bogus'" report s.json --criterion bogus
expect synth_experts_zero 2 "--experts 0" synth x --preset tiny --experts 0
expect synth_experts_negative 2 "--experts -5" synth x --preset tiny --experts -5
expect synth_topk_above_experts 2 "--top-k 99" synth x --preset tiny --top-k 99
expect synth_layers_not_a_number 2 "'abc'" synth x --layers abc
expect synth_preset_bogus 2 "'bogus'" synth x --preset bogus
expect synth_max_shard_size_bogus 2 "'xx'" synth x --preset tiny --max-shard-size xx
expect synth_existing_output 1 "m: already exists" synth m --preset tiny
expect tokenize_decode_not_an_id 2 "'abc'" tokenize m --decode 1,abc
expect tokenize_decode_out_of_vocab 1 "id 99999999" tokenize m --decode 99999999
expect tokenize_no_input 2 "--text" tokenize m
expect merge_without_output 2 "-o OUT" merge s.json
expect unknown_command 2 "'bogus'" bogus
expect unknown_option 2 "'--bogus'" inspect m --bogus
expect extra_argument 2 "'extra'" inspect m extra
expect missing_argument 2 "missing argument" verify m

# ---- statistics files
for f in notjson.json trunc.json empty.json nonexist.json; do
    expect "prune_scores_$f" 1 "$f" prune m -o out --ratio 0.3 --scores $f
    expect "report_$f" 1 "$f" report $f
    expect "merge_$f" 1 "$f" merge s.json $f -o merged.json
done
expect prune_scores_of_another_model 1 "other.json: statistics were computed on another model" \
    prune m -o out --ratio 0.3 --scores other.json
expect merge_another_model 1 "other.json" merge s.json other.json -o merged.json
expect prune_scores_is_a_directory 1 "empty" prune m -o out --ratio 0.3 --scores empty
expect report_csv_into_missing_dir 1 "nonexist/a.csv" report s.json --csv nonexist/a.csv
expect merge_output_into_missing_dir 1 "nonexist/x.json" merge s.json -o nonexist/x.json
expect score_output_into_missing_dir 1 "nonexist/o.json" score m $sargs -o nonexist/o.json
expect score_output_is_a_directory 1 "empty" score m $sargs -o empty

# ---- calibration files
expect calib_bad_json_line 1 "badline.jsonl:2" calib m --calib badline.jsonl --rows 1 --seq-len 32
expect score_bad_json_line 1 "badline.jsonl:2" score m --device cpu --calib badline.jsonl --rows 1 --seq-len 32 -o o.json
# -q: without --scores, prune announces the scoring it starts before the calibration file is read.
expect prune_bad_json_line 1 "badline.jsonl:2" prune m -o out --ratio 0.3 --calib badline.jsonl --rows 1 --seq-len 32 -q
expect calib_bad_role 1 "badrole.jsonl:1" calib m --calib badrole.jsonl
expect calib_bad_utf8 1 "badutf8.jsonl:1" calib m --calib badutf8.jsonl
expect calib_no_records 1 "nolines.jsonl" calib m --calib nolines.jsonl
expect calib_missing_source 1 "nonexist.jsonl" calib m --calib nonexist.jsonl
expect calib_bogus_builtin 1 "builtin:abc" calib m --calib builtin:abc
expect tokenize_jsonl_bad_ids 1 "badids.jsonl:1" tokenize m --jsonl badids.jsonl

# ---- nothing was changed or left behind
if [ "$(cat m/* | cksum)" = "$sum_before" ]; then echo "PASS source_unchanged"; else echo "FAIL source_unchanged"; fi
left=$(find . -name '*.tmp*' -o -name 'out*' -o -name 'x' -o -name 'o.json' -o -name 'merged.json' | head -5)
if [ -z "$left" ]; then echo "PASS no_output_or_temporary_file_left"; else echo "FAIL no_output_or_temporary_file_left: $left"; fi

#!/bin/sh
# e2e_synth.sh: `reap synth` and `reap inspect` through the real binary: determinism, the exact
# MiniMax-M2 tensor table of the spec, the sparse full-size totals, refusal of existing outputs,
# and inspect's one-line error on a truncated shard.
REAP=${REAP:-build/reap}
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_synth.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }
check() { # name, then a command that must succeed
    n=$1
    shift
    if "$@"; then ok "$n"; else bad "$n"; fi
}

# --- determinism: same seed twice (and a different thread count) gives identical files
"$REAP" synth "$T/a" --preset tiny -q && OMP_NUM_THREADS=1 "$REAP" synth "$T/b" --preset tiny -q --threads 1 \
    && "$REAP" synth "$T/c" --preset tiny --seed 7 -q
same=1
nfiles=0
for f in "$T"/a/*; do
    nfiles=$((nfiles + 1))
    cmp -s "$f" "$T/b/$(basename "$f")" || { same=0; echo "  differs: $(basename "$f")"; }
done
[ "$(ls "$T/a" | wc -l)" -eq "$(ls "$T/b" | wc -l)" ] || same=0
if [ "$same" = 1 ] && [ "$nfiles" -ge 14 ]; then ok synth_same_seed_byte_identical; else bad synth_same_seed_byte_identical "$nfiles files"; fi
if [ ! -s "$T/c/model-00001-of-00002.safetensors" ] ||
    cmp -s "$T/a/model-00001-of-00002.safetensors" "$T/c/model-00001-of-00002.safetensors"; then
    bad synth_other_seed_differs
else
    ok synth_other_seed_differs
fi

# --- every file a real checkpoint has
missing=""
for f in config.json generation_config.json tokenizer.json tokenizer_config.json vocab.json merges.txt \
    chat_template.jinja configuration_minimax_m2.py modeling_minimax_m2.py README.md LICENSE \
    model.safetensors.index.json; do
    [ -s "$T/a/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then ok synth_writes_every_checkpoint_file; else bad synth_writes_every_checkpoint_file "missing$missing"; fi
check synth_config_has_block_and_partial_rotary sh -c "grep -q '\"partial_rotary_factor\":[[:space:]]*0.5' '$T/a/config.json' &&
    grep -q '\"rotary_dim\":[[:space:]]*8' '$T/a/config.json' && tr -d ' \t\n' <'$T/a/config.json' | grep -q '\"weight_block_size\":\[16,16\]'"
ls "$T/a" | grep -q '\.tmp\.' && bad synth_leaves_no_temporaries || ok synth_leaves_no_temporaries
ls "$T" | grep -q '\.tmp\.' && bad synth_leaves_no_temporary_dir || ok synth_leaves_no_temporary_dir

# --- inspect accepts what synth wrote
if "$REAP" inspect "$T/a" >"$T/insp.txt" 2>"$T/insp.err" && grep -q 'every tensor the config implies' "$T/insp.txt" \
    && grep -q '^experts  *16 per layer, top-4' "$T/insp.txt"; then
    ok inspect_accepts_tiny
else
    bad inspect_accepts_tiny "$(cat "$T/insp.err")"
fi
# --json starts with the model description a statistics file carries as "model" (same keys, same order)
flat=$("$REAP" inspect "$T/a" --json | tr -d ' \t\n')
want='{"architecture":"MiniMaxM2ForCausalLM","model_type":"minimax_m2","n_layers":2,"n_experts":16,"top_k":4,'
want="$want"'"hidden_size":64,"intermediate_size":32,"path":"'"$T/a"'","family":"minimax-m2","vocab_size":1024,'
case "$flat" in
"$want"*) ok inspect_json_starts_with_the_model_description ;;
*) bad inspect_json_starts_with_the_model_description "$(echo "$flat" | head -c 300)" ;;
esac

# --- existing OUT_DIR refused without --force, replaced with it (only a flat directory)
if "$REAP" synth "$T/a" --preset tiny --seed 7 -q 2>"$T/err"; then
    bad synth_refuses_existing_out
else
    grep -q -- '--force' "$T/err" && cmp -s "$T/a/config.json" "$T/b/config.json" \
        && cmp -s "$T/a/model-00001-of-00002.safetensors" "$T/b/model-00001-of-00002.safetensors" \
        && ok synth_refuses_existing_out || bad synth_refuses_existing_out "$(cat "$T/err")"
fi
if "$REAP" synth "$T/a" --preset tiny --seed 7 --force -q \
    && cmp -s "$T/a/model-00001-of-00002.safetensors" "$T/c/model-00001-of-00002.safetensors"; then
    ok synth_force_replaces_checkpoint
else
    bad synth_force_replaces_checkpoint
fi
mkdir -p "$T/nested/sub"
"$REAP" synth "$T/nested" --preset tiny --force -q 2>"$T/err"
rc=$?
if [ "$rc" = 1 ] && [ -d "$T/nested/sub" ] && grep -q 'replaces only a directory of regular files' "$T/err"; then
    ok synth_force_refuses_non_checkpoint_dir
else
    bad synth_force_refuses_non_checkpoint_dir "exit $rc: $(cat "$T/err")"
fi

# --- truncated shard: one-line error naming the file, non-zero exit
cp -r "$T/b" "$T/trunc"
sz=$(wc -c <"$T/trunc/model-00002-of-00002.safetensors")
truncate -s $((sz - 100)) "$T/trunc/model-00002-of-00002.safetensors"
"$REAP" inspect "$T/trunc" >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'model-00002-of-00002.safetensors' "$T/err"; then
    ok inspect_truncated_shard_one_line_error
else
    bad inspect_truncated_shard_one_line_error "exit $rc: $(cat "$T/err")"
fi

# --- a tensor missing from the layout is a reported problem, not a crash
cp -r "$T/b" "$T/nolayer"
sed 's/"num_hidden_layers": *2/"num_hidden_layers": 3/; s/"num_hidden_layers":\t2/"num_hidden_layers":\t3/' \
    "$T/b/config.json" >"$T/nolayer/config.json"
"$REAP" inspect "$T/nolayer" >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q 'model.layers.2.input_layernorm.weight: missing' "$T/out" && grep -q 'layout problem' "$T/err"; then
    ok inspect_reports_missing_tensors
else
    bad inspect_reports_missing_tensors "exit $rc: $(cat "$T/err")"
fi

# --- names, shapes and dtypes of one MiniMax-M2 layer exactly as the spec's table lists them
{
    echo "model.embed_tokens.weight BF16 [200064, 3072]"
    echo "model.norm.weight BF16 [3072]"
    echo "lm_head.weight BF16 [200064, 3072]"
    p=model.layers.0
    echo "$p.input_layernorm.weight BF16 [3072]"
    echo "$p.post_attention_layernorm.weight BF16 [3072]"
    echo "$p.self_attn.q_proj.weight F8_E4M3 [6144, 3072]"
    echo "$p.self_attn.q_proj.weight_scale_inv F32 [48, 24]"
    for x in k v; do
        echo "$p.self_attn.${x}_proj.weight F8_E4M3 [1024, 3072]"
        echo "$p.self_attn.${x}_proj.weight_scale_inv F32 [8, 24]"
    done
    echo "$p.self_attn.o_proj.weight F8_E4M3 [3072, 6144]"
    echo "$p.self_attn.o_proj.weight_scale_inv F32 [24, 48]"
    echo "$p.self_attn.q_norm.weight BF16 [6144]"
    echo "$p.self_attn.k_norm.weight BF16 [1024]"
    echo "$p.block_sparse_moe.gate.weight F32 [256, 3072]"
    echo "$p.block_sparse_moe.e_score_correction_bias F32 [256]"
    j=0
    while [ $j -lt 256 ]; do
        e=$p.block_sparse_moe.experts.$j
        echo "$e.w1.weight F8_E4M3 [1536, 3072]"
        echo "$e.w1.weight_scale_inv F32 [12, 24]"
        echo "$e.w3.weight F8_E4M3 [1536, 3072]"
        echo "$e.w3.weight_scale_inv F32 [12, 24]"
        echo "$e.w2.weight F8_E4M3 [3072, 1536]"
        echo "$e.w2.weight_scale_inv F32 [24, 12]"
        j=$((j + 1))
    done
} | LC_ALL=C sort >"$T/expected"
if "$REAP" synth "$T/m1" --preset minimax-m2 --layers 1 --sparse -q \
    && "$REAP" inspect "$T/m1" --tensors | sed 's/ [^ ]*$//' | LC_ALL=C sort >"$T/got" \
    && diff "$T/expected" "$T/got" >"$T/diff"; then
    ok synth_minimax_layer_matches_spec_table
else
    bad synth_minimax_layer_matches_spec_table "$(head -5 "$T/diff")"
fi
rm -rf "$T/m1"

# --- the full sparse model: the released checkpoint's totals, in holes
if "$REAP" synth "$T/full" --preset minimax-m2 --sparse -q && "$REAP" inspect "$T/full" --json >"$T/full.json"; then
    flat=$(tr -d ' \t\n' <"$T/full.json")
    echo "$flat" | grep -q '"tensors":96103,' && echo "$flat" | grep -q '"bytes":230121630720,' \
        && ok inspect_sparse_full_model_totals || bad inspect_sparse_full_model_totals "$(echo "$flat" | head -c 300)"
    echo "$flat" | grep -q '"pruned_per_layer":76,"experts":180,' \
        && ok inspect_prunes_76_of_256_at_30_percent || bad inspect_prunes_76_of_256_at_30_percent
    used=$(du -sk "$T/full" | cut -f1)
    apparent=$(du -sk --apparent-size "$T/full" | cut -f1)
    if [ "$used" -lt 300000 ] && [ "$apparent" -gt 224000000 ]; then ok synth_sparse_uses_holes; else bad synth_sparse_uses_holes "$used KB used, $apparent KB apparent"; fi
    grep -q '"id": *200053' "$T/full/tokenizer.json" && ! grep -q '"id": *200054' "$T/full/tokenizer.json" \
        && ok synth_minimax_tokenizer_has_200054_ids || bad synth_minimax_tokenizer_has_200054_ids
else
    bad inspect_sparse_full_model_totals "synth or inspect failed"
fi
exit 0

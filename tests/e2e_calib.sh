#!/bin/sh
# e2e_calib: `reap calib` on the real binary: rendering printed byte for byte, token counts and
# packing on a synthesised checkpoint, --out rows well-formed and deterministic, the issue's
# `calib show --model` form, errors naming file and line with exit code 1.
REAP=${REAP:-build/reap}
dir=$(mktemp -d "${TMPDIR:-/tmp}/reap-e2e-calib.XXXXXX")
trap 'rm -rf "$dir"' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1${2:+: $2}"; }

if "$REAP" calib --help | grep -q -- '--calib SPEC'; then ok calib_help; else bad calib_help; fi

# One chat record with a tool call; the rendering must be exactly the MiniMax-M2 format.
cat >"$dir/chat.jsonl" <<'EOF'
{"messages": [{"role": "user", "content": "List /tmp"}, {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "ls", "arguments": "{\"path\": \"/tmp\", \"all\": true}"}}]}, {"role": "tool", "content": "a.txt"}, {"role": "assistant", "content": "One file: a.txt."}], "tools": [{"type": "function", "function": {"name": "ls", "parameters": {"type": "object"}}}]}
EOF
printf '%s\n' \
    ']~!b[]~b]system' \
    'You are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.' \
    '' \
    '# Tools' \
    'You may call one or more tools to assist with the user query.' \
    'Here are the tools available in JSONSchema format:' \
    '' \
    '<tools>' \
    '<tool>{"name": "ls", "parameters": {"type": "object"}}</tool>' \
    '</tools>' \
    '' \
    'When making tool calls, use XML format to invoke tools and pass parameters:' \
    '' \
    '<minimax:tool_call>' \
    '<invoke name="tool-name-1">' \
    '<parameter name="param-key-1">param-value-1</parameter>' \
    '<parameter name="param-key-2">param-value-2</parameter>' \
    '...' \
    '</invoke>' \
    '</minimax:tool_call>[e~[' \
    ']~b]user' \
    'List /tmp[e~[' \
    ']~b]ai' \
    '' \
    '<minimax:tool_call>' \
    '<invoke name="ls">' \
    '<parameter name="path">/tmp</parameter>' \
    '<parameter name="all">true</parameter>' \
    '</invoke>' \
    '</minimax:tool_call>[e~[' \
    ']~b]tool' \
    '<response>a.txt</response>[e~[' \
    ']~b]ai' \
    'One file: a.txt.[e~[' >"$dir/want.txt"
"$REAP" calib --render-only -c "$dir/chat.jsonl" >"$dir/render.out" 2>"$dir/err"
# The text sits between the "===== sample" header and the blank line before "===== 1 samples".
sed -n '2,/^===== 1 samples/p' "$dir/render.out" | sed '$d' | sed '$d' >"$dir/got.txt"
if cmp -s "$dir/got.txt" "$dir/want.txt"; then ok calib_render_only_exact_bytes; else bad calib_render_only_exact_bytes "$(diff "$dir/want.txt" "$dir/got.txt" | head -5)"; fi

# Built-in set renders without a checkpoint.
if "$REAP" calib --render-only --samples 1 >"$dir/b.out" 2>&1 && grep -q '^===== sample 1/' "$dir/b.out" &&
    grep -q '^builtin ' "$dir/b.out"; then ok calib_builtin_default; else bad calib_builtin_default "$(tail -3 "$dir/b.out")"; fi

# Packing with a synthesised checkpoint's tokenizer.
if ! "$REAP" synth "$dir/m" --preset tiny -q >"$dir/synth.log" 2>&1; then
    bad calib_synth "$(tail -3 "$dir/synth.log")"
    exit 0
fi
i=0
while [ $i -lt 40 ]; do
    echo "{\"instruction\": \"Write function number $i in C.\", \"output\": \"int f$i(int x) { return x * $i + 1; }\"}"
    i=$((i + 1))
done >"$dir/inst.jsonl"
"$REAP" calib "$dir/m" -c "$dir/inst.jsonl" -c "$dir/chat.jsonl" --seq-len 256 -o "$dir/rows1.jsonl" >"$dir/sum1" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q 'inst.jsonl  *40 ' "$dir/sum1" && grep -q 'chat.jsonl  *1 ' "$dir/sum1" &&
    grep -q '^rows: ' "$dir/sum1" && grep -q 'masked' "$dir/sum1"; then ok calib_summary; else bad calib_summary "rc $rc: $(cat "$dir/sum1" | head -5)"; fi
rows=$(sed -n 's/^rows: \([0-9]*\).*/\1/p' "$dir/sum1")
# Every row: 256 ids, 256 mask values of 0/1, and ids 0 wherever the mask is 0.
if awk -v want="$rows" '
    { id = $0; sub(/.*"ids": \[/, "", id); sub(/\].*/, "", id)
      mk = $0; sub(/.*"mask": \[/, "", mk); sub(/\].*/, "", mk)
      ni = split(id, I, ","); nm = split(mk, M, ",")
      if (ni != 256 || nm != 256) { print "row " NR ": " ni " ids, " nm " mask"; exit 1 }
      for (k = 1; k <= 256; k++) {
        if (M[k] != 0 && M[k] != 1) { print "mask value " M[k]; exit 1 }
        if (M[k] == 0 && I[k] != 0) { print "masked id " I[k]; exit 1 }
        ones += M[k]
      } }
    END { if (NR != want) { print NR " rows, summary says " want; exit 1 } if (ones == 0) { print "no counted tokens"; exit 1 } }' \
    "$dir/rows1.jsonl" >"$dir/awk.out"; then ok calib_out_rows_well_formed; else bad calib_out_rows_well_formed "$(cat "$dir/awk.out")"; fi

"$REAP" calib "$dir/m" -c "$dir/inst.jsonl" -c "$dir/chat.jsonl" --seq-len 256 -o "$dir/rows2.jsonl" -q >/dev/null 2>&1
"$REAP" calib "$dir/m" -c "$dir/inst.jsonl" -c "$dir/chat.jsonl" --seq-len 256 --seed 7 -o "$dir/rows3.jsonl" -q >/dev/null 2>&1
if cmp -s "$dir/rows1.jsonl" "$dir/rows2.jsonl"; then ok calib_same_seed_same_rows; else bad calib_same_seed_same_rows; fi
if [ -s "$dir/rows3.jsonl" ] && ! cmp -s "$dir/rows1.jsonl" "$dir/rows3.jsonl"; then ok calib_other_seed_other_rows; else bad calib_other_seed_other_rows; fi

# The issue's form: `reap calib show --model DIR --rows N`; asking for more rows than fill.
if "$REAP" calib show --model "$dir/m" -c "$dir/inst.jsonl:10" --seq-len 256 --rows 2 >"$dir/s2" 2>&1 &&
    grep -q '^rows: 2  (--rows limit)' "$dir/s2" && grep -q 'inst.jsonl:10  *10 ' "$dir/s2"; then ok calib_show_rows_limit
else bad calib_show_rows_limit "$(cat "$dir/s2" | head -8)"; fi
if "$REAP" calib "$dir/m" -c "$dir/inst.jsonl" --seq-len 256 --rows 1000 >"$dir/s3" 2>&1 &&
    grep -q 'samples ran out' "$dir/s3"; then ok calib_rows_more_than_samples_said
else bad calib_rows_more_than_samples_said "$(grep rows "$dir/s3")"; fi
if "$REAP" calib "$dir/m" -c "$dir/inst.jsonl" --seq-len 256 --no-pack >"$dir/s4" 2>&1 &&
    grep -q '^rows: 40' "$dir/s4" && grep -q 'one sample per row' "$dir/s4"; then ok calib_no_pack_one_row_per_sample
else bad calib_no_pack_one_row_per_sample "$(grep rows "$dir/s4")"; fi

# Errors: file and line, exit code 1; usage errors exit 2.
printf '{"text": "fine"}\n{"text": "fine"}\n{"txt": "typo"}\n' >"$dir/typo.jsonl"
"$REAP" calib -c "$dir/typo.jsonl" >/dev/null 2>"$dir/e1"
rc=$?
if [ $rc -eq 1 ] && grep -q 'typo.jsonl:3: record has none of the known shapes' "$dir/e1"; then ok calib_error_names_file_and_line
else bad calib_error_names_file_and_line "rc $rc: $(cat "$dir/e1")"; fi
"$REAP" calib -c "$dir/chat.jsonl" --output "$dir/x.jsonl" >/dev/null 2>&1
rc=$?
if [ $rc -eq 2 ] && [ ! -e "$dir/x.jsonl" ]; then ok calib_out_without_model_is_usage_error; else bad calib_out_without_model_is_usage_error "rc $rc"; fi
exit 0

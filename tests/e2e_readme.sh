#!/bin/sh
# e2e_readme: README.md's examples run as a new user runs them. `make install PREFIX=<tmp>/prefix`
# (the already built $BUILD/reap), that bin/ first on PATH, an empty scratch directory; then every
# example command of the README's "Quick start" and "Commands" sections, in README order (later
# examples use the files earlier ones wrote), each through `sh -c` exactly as the README writes it
# except for the size rewrites below. Each gets one line, "PASS README:<line> <command>" or FAIL: its
# exit status (0, or the N of an "exit N" in its comment) and the claims the README makes next to it
# (the `# ...` comment and the command's own options: experts kept, files written, statistics
# fields, numbers printed), checked by the claim table below.
#
# The commands are read from README.md itself (README=FILE to test another copy): every line of an
# indented or fenced code block in those two sections that starts with `reap ` (a trailing `\` joins
# the next line; the comment after ` #` is the claim text, not run). Not run: commands that need a
# GPU (`--device cuda`, `-d cuda`, `--gpus`) and commands whose comment says `(not run by the tests)`;
# each prints a SKIP line. Files an example reads that a user brings (`--calib mydata.jsonl.zst:N`)
# are generated first (instruction records; zstd-compressed for .zst).
#
# A claim check that matches no README example fails (README changed: update the table), and so does
# an extraction that finds fewer than 5 Quick start or 10 Commands examples.
BUILD=${BUILD:-build}
ROOT=$PWD
README=${README:-$ROOT/README.md}
case $README in /*) ;; *) README=$ROOT/$README ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/e2e_readme.XXXXXX")
trap 'rm -rf "$T"' EXIT
TAB=$(printf '\t')

ok() { echo "PASS $1"; }
bad() { echo "FAIL $1"; }

# ---- size rewrites: the README's examples are the real sizes; these make them fit a few minutes on
# 2 cores, and are the only changes made to a command. Keep the table short; say why for each.
rewrite() {
    # R1. A run of the model over the calibration or evaluation set (reap score, reap eval, and
    #     reap prune without --scores, which scores first) that names no row count: the built-in sets
    #     fill 177 rows of 2048 tokens on the small preset (reap score 60 s, a 4-variant what-if eval
    #     75 s on 2 cores); 8 rows of 256 tokens take a second or a few and touch every code path.
    # R2. In those commands, a row count of 3+ digits or a row length of 4+ digits (a user's large
    #     set, `--rows 1024 --seq-len 2048`): the same 8 x 256.
    # R3. reap synth at minimax-m2 sizes without --sparse writes 3.7 GB a layer (15 GB for
    #     `--layers 4`): --sparse writes the same files with the tensor data as holes, so every
    #     header, index entry and size (what the claims read) is the same.
    printf '%s\n' "$1" | sed '
        /^reap score /b rows
        /^reap eval /b rows
        /^reap prune /{
        / --scores /b synth
        b rows
        }
        b synth
        :rows
        / --rows /b big
        / -n [0-9]/b big
        s/$/ --rows 8 --seq-len 256/
        :big
        s/ --rows [0-9][0-9][0-9][0-9]*/ --rows 8/
        s/ -n [0-9][0-9][0-9][0-9]*/ -n 8/
        s/ --seq-len [0-9][0-9][0-9][0-9][0-9]*/ --seq-len 256/
        s/ -L [0-9][0-9][0-9][0-9][0-9]*/ -L 256/
        :synth
        /^reap synth .*minimax-m2/{
        / --sparse/!s/$/ --sparse/
        }'
}

# ---- install, as the README's Quick start says, into a temporary prefix. CUDA as the binary was built
# (`make` alone would pick CUDA=1 wherever nvcc is on PATH and build again).
case $BUILD in /*) BIN=$BUILD/reap ;; *) BIN=$ROOT/$BUILD/reap ;; esac
if [ -z "$CUDA" ]; then
    case $("$BIN" --version 2>/dev/null) in *"CPU only"*) CUDA=0 ;; *) CUDA=1 ;; esac
fi
if make -s -C "$ROOT" install PREFIX="$T/prefix" BUILD="$BUILD" CUDA="$CUDA" >"$T/install.log" 2>&1 &&
    [ -x "$T/prefix/bin/reap" ] && cmp -s "$T/prefix/bin/reap" "$BIN"; then
    ok "make install PREFIX=\$T/prefix (bin/reap is $BUILD/reap)"
else
    tail -5 "$T/install.log" | sed 's/^/    /'
    bad "make install PREFIX=\$T/prefix"
    exit 1
fi
PATH=$T/prefix/bin:$PATH
export PATH
mkdir "$T/work" "$T/log"
# The examples that use the repository's own files (tests/trained: README runs them from a clone's
# root) find them through a link; everything else is made in the empty scratch directory.
ln -s "$ROOT/tests" "$T/work/tests"
cd "$T/work" || exit 1
if [ "$(command -v reap)" = "$T/prefix/bin/reap" ]; then ok "reap on PATH is the installed one"; else
    bad "reap on PATH is the installed one (got $(command -v reap))"
fi

# ---- the examples: section TAB README line TAB command TAB comment, one per line.
awk -v TAB="$TAB" '
    /^## / { sec = substr($0, 4); fence = 0; cont = ""; next }
    sec != "Quick start" && sec != "Commands" { next }
    /^```/ { fence = !fence; next }
    {
        line = $0
        if (!fence && line !~ /^    /) { cont = ""; next }
        sub(/^ +/, "", line)
        if (cont != "") { line = cont " " line; cont = "" } else start = NR
        if (line !~ /^reap /) next
        if (line ~ /\\$/) { sub(/ *\\$/, "", line); cont = line; next }
        # The comment starts at the first " #" outside quotes.
        q = ""; cut = 0
        for (i = 1; i <= length(line); i++) {
            c = substr(line, i, 1)
            if (q != "") { if (c == q) q = ""; continue }
            if (c == "\"" || c == "\047") { q = c; continue }
            if (c == "#" && i > 1 && substr(line, i - 1, 1) == " ") { cut = i; break }
        }
        cmd = cut ? substr(line, 1, cut - 1) : line
        com = cut ? substr(line, cut + 1) : ""
        sub(/ +$/, "", cmd); sub(/^ +/, "", com)
        print sec TAB start TAB cmd TAB com
    }' "$README" >"$T/examples.tsv"
nq=$(grep -c "^Quick start$TAB" "$T/examples.tsv")
nc=$(grep -c "^Commands$TAB" "$T/examples.tsv")
if [ "$nq" -ge 5 ] && [ "$nc" -ge 10 ]; then ok "README examples found: $nq in Quick start, $nc in Commands"; else
    bad "README examples found: $nq in Quick start, $nc in Commands (want at least 5 and 10: extraction broken?)"
fi

# ---- helpers for the claims. The claim functions see CMD (as README writes it), RUN (as run), COM
# (the comment), OUT / ERR (stdout / stderr files), and set WHY before returning 1.
# words of a command, with the shell's quoting (the same words `sh -c` ran)
words() { eval "set -- $1"; for w in "$@"; do printf '%s\n' "$w"; done; }
# opt NAME...: the value after the first of these options in RUN ("" if absent)
opt() {
    words "$RUN" >"$T/words"
    for o in "$@"; do
        v=$(awk -v o="$o" 'f { print; exit } $0 == o { f = 1 }' "$T/words")
        [ -n "$v" ] && { printf '%s\n' "$v"; return; }
    done
}
has() { case " $RUN " in *" $1 "*) return 0 ;; esac; return 1; }
pos1() { v=$(words "$RUN" | sed -n 3p); case $v in -*) ;; *) printf '%s\n' "$v" ;; esac; }
# cfg DIR KEY: an integer of DIR/config.json
cfg() { sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\([0-9][0-9]*\).*/\1/p" "$1/config.json" | head -1; }
# com REGEX: group 1 of the comment's leftmost match of the extended regex (empty if none)
com() { printf '%s\n' "$COM" | grep -Eo -- "$1" | head -1 | sed -E "s/$1/\\1/"; }
want_eq() { # what got want
    [ "$2" = "$3" ] && return 0
    WHY="$1: got '$2', README says '$3'"
    return 1
}
# stat_field FILE KEY: a number from a statistics file's "model" / "calibration" line
stat_field() { sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p" "$1" | head -1; }
kept() { awk -v e="$1" -v r="$2" 'BEGIN { print e - int(e * r + 1e-9) }'; }

claim_synth() {
    d=$(pos1)
    [ -f "$d/config.json" ] && [ -f "$d/model.safetensors.index.json" ] || { WHY="no $d/config.json and index"; return 1; }
    grep -q '"MiniMaxM2ForCausalLM"' "$d/config.json" || { WHY="$d/config.json: not MiniMaxM2ForCausalLM"; return 1; }
    for pair in "experts num_local_experts" "layers num_hidden_layers" "top-k num_experts_per_tok" \
        "hidden hidden_size"; do
        set -- $pair
        v=$(opt "--$1")
        [ -n "$v" ] && { want_eq "$2" "$(cfg "$d" "$2")" "$v" || return 1; }
    done
    v=$(com '([0-9]+)[- ]experts?')
    [ -n "$v" ] && { want_eq num_local_experts "$(cfg "$d" num_local_experts)" "$v" || return 1; }
    v=$(com '([0-9]+) layers')
    [ -n "$v" ] && { want_eq num_hidden_layers "$(cfg "$d" num_hidden_layers)" "$v" || return 1; }
    v=$(com 'top-([0-9]+)')
    [ -n "$v" ] && { want_eq num_experts_per_tok "$(cfg "$d" num_experts_per_tok)" "$v" || return 1; }
    v=$(com '~([0-9.]+) GB per layer')
    if [ -n "$v" ]; then # tensor bytes less embeddings and lm_head, per layer
        reap inspect "$d" --json >"$T/insp.json" </dev/null || { WHY="reap inspect $d --json failed"; return 1; }
        per=$(awk '/"bytes":/ && !b { gsub(/[^0-9]/, ""); b = $0 } /"embeddings\+lm_head"/ { e = 1 }
            e && /"bytes":/ { gsub(/[^0-9]/, ""); print (b - $0) / '"$(cfg "$d" num_hidden_layers)"' / 1e9; exit }' "$T/insp.json")
        awk -v p="$per" -v w="$v" 'BEGIN { exit !(p > w * 0.95 && p < w * 1.05) }' ||
            { WHY="$per GB per layer, README says ~$v"; return 1; }
    fi
    case $COM in *"file holes"*)
        used=$(du -sk "$d" | cut -f1)
        appar=$(du -sk --apparent-size "$d" | cut -f1)
        [ "$used" -lt $((appar / 100)) ] || { WHY="$d: $used KB on disk of $appar KB: not holes"; return 1; } ;;
    esac
    v=$(opt --max-shard-size)
    case $v in *MB)
        lim=$(( ${v%MB} * 1000000 ))
        for f in "$d"/*.safetensors; do
            [ "$(wc -c <"$f")" -le $((lim + lim / 20)) ] || { WHY="$f is over $v"; return 1; }
        done ;;
    esac
    return 0
}

claim_inspect() {
    d=$(pos1)
    if has --json; then
        head -3 "$OUT" | grep -q '"architecture"' && grep -q '"pruned"' "$OUT" ||
            { WHY="--json: no object starting with the model description"; return 1; }
    else
        e=$(cfg "$d" num_local_experts)
        grep -q "^experts  *$e per layer" "$OUT" || { WHY="no 'experts $e per layer' line"; return 1; }
        for r in 25 30 40; do
            k=$(kept "$e" "0.$r")
            grep -Eq "^$r% \(-[0-9]+/layer\) +$k " "$OUT" || { WHY="no '$r% ... $k' line (after pruning)"; return 1; }
        done
    fi
    # numbers with thousands separators in the comment must be printed (without them)
    for n in $(printf '%s\n' "$COM" | grep -Eo '[0-9]{1,3}(,[0-9]{3})+'); do
        grep -q "$(echo "$n" | tr -d ,)" "$OUT" || { WHY="README says $n, not printed"; return 1; }
    done
    return 0
}

claim_tokenize() {
    d=$(pos1)
    text=$(opt --text -t)
    if [ -n "$text" ]; then
        ids=$(cat "$OUT")
        printf '%s\n' "$ids" | grep -Eq '^\[[0-9]+(, [0-9]+)*\]$' || { WHY="not a JSON array of ids: $ids"; return 1; }
        back=$(reap tokenize "$d" --decode "$ids" </dev/null)
        want_eq "decoding the ids" "$back" "$text" || return 1
    elif [ -n "$(opt --decode -d)" ]; then
        [ -s "$OUT" ] || { WHY="nothing printed"; return 1; }
    fi
    return 0
}

claim_calib() {
    d=$(pos1)
    if has --render-only || has -r; then
        n=$(grep -c '^===== sample ' "$OUT")
        v=$(opt --samples)
        [ "$n" -ge 1 ] || { WHY="no '===== sample' text printed"; return 1; }
        [ -z "$v" ] || want_eq "samples printed" "$n" "$v" || return 1
    elif [ -z "$d" ]; then
        grep -q '^builtin ' "$OUT" && grep -q '^total ' "$OUT" || { WHY="no builtin and total lines"; return 1; }
    else
        grep -q '^rows: ' "$OUT" && grep -q '^samples: .*tokens dropped' "$OUT" ||
            { WHY="no rows: and samples: ... tokens dropped lines"; return 1; }
        v=$(com '([0-9.]+)% of the tokens')
        if [ -n "$v" ]; then
            drop=$(sed -n 's/.*(\([0-9]*\) tokens dropped).*/\1/p' "$OUT")
            tot=$(awk '$1 == "total" { print $NF }' "$OUT")
            p=$(awk -v a="$drop" -v b="$tot" 'BEGIN { printf "%.1f", 100 * a / b }')
            want_eq "share lost to truncation ($drop of $tot tokens)" "$p" "$v" || return 1
        fi
    fi
    return 0
}

claim_score() {
    f=$(words "$RUN" | grep '\.json$' | tail -1)
    d=$(pos1)
    grep -q '"format": "reap-stats"' "$f" 2>/dev/null || { WHY="$f: not a statistics file"; return 1; }
    want_eq "$f layers_done" "$(stat_field "$f" layers_done)" "$(cfg "$d" num_hidden_layers)" || return 1
    for c in $(words "$RUN" | awk 'f { print; f = 0 } $0 == "--calib" || $0 == "-c" { f = 1 }'); do
        grep -q "\"sources\":\[[^]]*\"$c\"" "$f" || { WHY="$f: calibration sources lack $c"; return 1; }
    done
    v=$(opt --router)
    [ -z "$v" ] || grep -q "\"router\":\"$v\"" "$f" || { WHY="$f: router is not $v"; return 1; }
    v=$(opt --shard)
    if [ -n "$v" ]; then
        grep -q "\"shard_count\":${v#*/},\"shards\":\[${v%/*}\]" "$f" || { WHY="$f: not shard $v"; return 1; }
    fi
    v=$(com '([0-9]+)-expert')
    [ -z "$v" ] || want_eq "n_experts" "$(stat_field "$f" n_experts)" "$v" || return 1
    w=$(opt --work-dir -w)
    if [ -n "$w" ]; then # every work-dir file ends with its checksum line; the same command resumes
        tail -1 "$w/state.json" | grep -Eq '^#reap-xxh64 [0-9a-f]{16}$' || { WHY="$w/state.json: no checksum line"; return 1; }
        sh -c "$RUN" >"$T/again.out" 2>&1 </dev/null && grep -q "layers already done" "$T/again.out" ||
            { WHY="running it again did not resume: $(tail -1 "$T/again.out")"; return 1; }
    fi
    return 0
}

claim_merge() {
    f=$(opt -o --output)
    grep -q '"format": "reap-stats"' "$f" 2>/dev/null || { WHY="$f: not a statistics file"; return 1; }
    v=$(com '(PARTIAL: missing [0-9,]+)')
    if [ -n "$v" ]; then
        grep -q "$v" "$OUT" || { WHY="no '$v' in its summary"; return 1; }
    else
        ! grep -q PARTIAL "$OUT" "$ERR" || { WHY="PARTIAL: $(grep -h PARTIAL "$OUT" "$ERR" | head -1)"; return 1; }
    fi
    u=$(printf '%s\n' "$COM" | grep -Eo '[A-Za-z0-9_.-]+\.json' | head -1)
    if [ -n "$u" ]; then # the merged counts are the unsharded file's
        grep '"count"' "$f" >"$T/c1"
        grep '"count"' "$u" >"$T/c2"
        [ -s "$T/c1" ] && cmp -s "$T/c1" "$T/c2" || { WHY="counts differ from $u's"; return 1; }
    fi
    return 0
}

claim_report() {
    case " $RUN " in
    *" --json "*) # one JSON object, no table
        python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(d.get("ok") is not True)' "$OUT" ||
            { WHY="--json: stdout is not one JSON object with \"ok\": true"; return 1; }
        return 0 ;;
    esac
    f=$(pos1)
    L=$(stat_field "$f" n_layers)
    E=$(stat_field "$f" n_experts)
    l=0
    while [ "$l" -lt "$L" ]; do
        grep -Eq "^ +$l +[0-9]+ +[0-9]+ +[0-9]+ " "$OUT" || { WHY="no table line for layer $l"; return 1; }
        l=$((l + 1))
    done
    v=$(opt --csv)
    [ -z "$v" ] || want_eq "$v lines" "$(wc -l <"$v" | tr -d ' ')" $((1 + L * E)) || return 1
    v=$(opt --svg)
    [ -z "$v" ] || { grep -q '<svg' "$v" && grep -q '</svg>' "$v"; } || { WHY="$v: not an SVG"; return 1; }
    v=$(opt --top)
    if [ -n "$v" ]; then
        n=$(awk '$2 == "low:" { print (NF - 2) / 2; exit }' "$OUT") # "expert=saliency (tokens)" pairs
        want_eq "experts listed per layer (--top)" "$n" "$v" || return 1
    fi
    return 0
}

claim_prune() {
    d=$(pos1)
    o=$(opt -o --output)
    e=$(cfg "$d" num_local_experts)
    r=$(opt --ratio)
    k=$(opt --keep)
    want=$k
    [ -n "$r" ] && want=$(kept "$e" "$r")
    v=$(com '-> ([0-9]+) experts')
    [ -n "$v" ] && want=$v
    v=$(com 'rounded down to ([0-9]+)')
    [ -n "$v" ] && want=$v
    v=$(com '\(([0-9]+) kept\)')
    [ -n "$v" ] && want=$v
    if has --dry-run || has -n; then
        [ ! -e "$o" ] || { WHY="--dry-run wrote $o"; return 1; }
        grep -q "^plan: .*keep ${want:-[0-9]*} of $e experts" "$OUT" || { WHY="no 'plan: ... keep $want of $e' line"; return 1; }
        return 0
    fi
    [ -z "$want" ] || want_eq "$o experts" "$(cfg "$o" num_local_experts)" "$want" || return 1
    [ -f "$o/reap.json" ] || { WHY="no $o/reap.json"; return 1; }
    if ! has --scores; then
        [ -f "$o/reap-stats.json" ] && [ ! -e "$o.reap-stats.json" ] && grep -q 'reap-stats.json' "$o/reap.json" ||
            { WHY="without --scores: no $o/reap-stats.json named in reap.json (or $o.reap-stats.json left)"; return 1; }
    fi
    reap verify "$d" "$o" >"$T/verify.out" 2>&1 </dev/null || { WHY="reap verify $d $o: $(tail -1 "$T/verify.out")"; return 1; }
    return 0
}

claim_verify() {
    grep -q '^verify OK' "$OUT" || { WHY="no 'verify OK'"; return 1; }
}

claim_eval() {
    # the table's header is the one README shows (its fenced eval output)
    h=$(awk '/^```/ { f = !f; next } f && /^model  / { $1 = $1; print; exit }' "$README")
    g=$(awk '/^model  / { $1 = $1; print; exit }' "$OUT")
    [ -n "$h" ] || { WHY="README's fenced eval table has no 'model ...' header line"; return 1; }
    want_eq "table header" "$g" "$h" || return 1
    if [ -n "$(opt --scores)" ]; then # a line per (criterion, ratio), as many as the comment says
        crits=$(opt --criterion)
        nv=0
        for c in $(echo "${crits:-reap}" | tr , ' '); do
            for r in $(opt --ratio | tr , ' '); do
                n="$c@$(awk -v r="$r" 'BEGIN { printf "%g", r }')"
                grep -q "^$n " "$OUT" || { WHY="no variant $n in the table"; return 1; }
                nv=$((nv + 1))
            done
        done
        v=$(com '([0-9]+) variants')
        [ -z "$v" ] || want_eq "variants" "$nv" "$v" || return 1
    else # every PRUNED (the positionals after ORIG) has its line
        for p in $(words "$RUN" | awk 'NR > 3 && /^-/ { exit } NR > 3 { print }'); do
            grep -q "^$p " "$OUT" || { WHY="no line for $p in the table"; return 1; }
        done
    fi
    v=$(opt --output -o)
    [ -z "$v" ] || grep -q '"format":[[:space:]]*"reap-eval"' "$v" || { WHY="$v: not a reap-eval JSON"; return 1; }
    v=$(opt --svg)
    [ -z "$v" ] || grep -q '<svg' "$v" || { WHY="$v: not an SVG"; return 1; }
    return 0
}

# pattern (a sh glob on the command as README writes it) | claim function. Each must match an example.
CLAIMS='reap synth *|claim_synth
reap inspect *|claim_inspect
reap tokenize *|claim_tokenize
reap calib*|claim_calib
reap score *|claim_score
reap merge *|claim_merge
reap report *|claim_report
reap prune *|claim_prune
reap verify *|claim_verify
reap eval *|claim_eval'

# fixtures CMD: the --calib files a user brings, made up when missing.
fixtures() {
    for spec in $(words "$1" | awk 'f { print; f = 0 } $0 == "--calib" || $0 == "-c" { f = 1 }'); do
        case $spec in builtin* | heldout*) continue ;; esac
        p=$spec
        case $p in *:[0-9]*) p=${p%:*} ;; esac
        [ -e "$p" ] && continue
        i=0
        while [ $i -lt 400 ]; do
            echo "{\"instruction\": \"Write function number $i in C.\", \"output\": \"int f$i(int x) { return x * $i + 1; }\"}"
            i=$((i + 1))
        done >"${p%.zst}"
        case $p in *.zst) zstd -q --rm "${p%.zst}" -o "$p" || echo "    (could not zstd-compress $p)" ;; esac
        echo "    fixture: $p (400 instruction records) for: $1"
    done
}

: >"$T/hits"
EX_N=0
while IFS="$TAB" read -r SEC LINE CMD COM <&3; do
    EX_N=$((EX_N + 1))
    name="README:$LINE $CMD"
    case " $CMD " in *" --device cuda "* | *" -d cuda "* | *" --gpus "*)
        echo "SKIP $name (needs a GPU)"
        continue ;;
    esac
    case $COM in *"(not run by the tests)"*) echo "SKIP $name (marked not run by the tests)"; continue ;; esac
    RUN=$(rewrite "$CMD")
    [ "$RUN" = "$CMD" ] || echo "    rewritten (see the table in tests/e2e_readme.sh): $RUN"
    fixtures "$RUN"
    OUT=$T/log/$EX_N.out
    ERR=$T/log/$EX_N.err
    EX_WANT=$(printf '%s\n' "$COM" | sed -n 's/.*exit \([0-9][0-9]*\).*/\1/p' | head -1)
    EX_WANT=${EX_WANT:-0}
    timeout 600 sh -c "$RUN" >"$OUT" 2>"$ERR" </dev/null
    EX_RC=$?
    WHY=""
    if [ "$EX_RC" -ne "$EX_WANT" ]; then
        WHY="exit $EX_RC, want $EX_WANT"
    else
        printf '%s\n' "$CLAIMS" | while IFS='|' read -r pat fn; do
            # shellcheck disable=SC2254 # the pattern is a glob
            case $CMD in $pat) echo "$fn" ;; esac
        done >"$T/fns"
        for fn in $(cat "$T/fns"); do
            echo "$fn" >>"$T/hits"
            $fn || { WHY=${WHY:-$fn failed}; break; }
        done
    fi
    if [ -z "$WHY" ]; then ok "$name"; else
        # the command and its stderr tail just before the FAIL line (tests/run.sh shows 5 lines before)
        echo "    ($SEC) \$ $RUN"
        tail -n 4 "$ERR" | sed 's/^/    stderr: /'
        bad "$name: $WHY"
        tail -n 5 "$OUT" | sed 's/^/    stdout: /'
    fi
done 3<"$T/examples.tsv"

for fn in $(printf '%s\n' "$CLAIMS" | cut -d'|' -f2); do
    grep -qx "$fn" "$T/hits" && continue
    bad "claim check $fn matched no README example (README changed? update tests/e2e_readme.sh's CLAIMS)"
done
exit 0

#!/usr/bin/env python3
"""check_builtin_data.py: validates the built-in calibration and held-out sets (calib/data/*.jsonl.zst).

Decompresses with the zstd CLI, checks every record's shape, and checks the promises of issue 3
item 6: >= 200 code tasks in >= 8 languages, >= 200 tool conversations with >= 50 distinct tools,
multi-step / parallel / error cases, final answers, and no held-out record in the calibration sets.
Prints PASS/FAIL lines.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DATA = os.path.join(ROOT, "calib", "data")
ROLES = {"system", "user", "assistant", "tool"}
FENCE = re.compile(r"```([A-Za-z+#]+)\n")

failures = 0


def check(name, ok, detail=""):
    global failures
    if ok:
        print(f"PASS {name}" + (f" ({detail})" if detail else ""))
    else:
        failures += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))


def load(name):
    path = os.path.join(DATA, name + ".jsonl.zst")
    p = subprocess.run(["zstd", "-dc", path], capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"{path}: zstd failed: {p.stderr.decode(errors='replace').strip()}")
    text = p.stdout.decode("utf-8")
    recs = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        recs.append((f"{name}:{i}", json.loads(line)))
    return recs


def maybe_json(v):
    return json.loads(v) if isinstance(v, str) else v


def shape_error(rec):
    """Returns None when rec is a valid chat / text / instruction / function-calling record."""
    if not isinstance(rec, dict):
        return "not an object"
    if "messages" in rec:
        msgs = rec["messages"]
        if not isinstance(msgs, list) or not msgs:
            return "messages must be a non-empty list"
        call_ids = set()
        for m in msgs:
            if not isinstance(m, dict) or m.get("role") not in ROLES:
                return f"bad message {str(m)[:60]}"
            if not isinstance(m.get("content", ""), str):
                return "content must be a string"
            if "reasoning_content" in m and not isinstance(m["reasoning_content"], str):
                return "reasoning_content must be a string"
            for tc in m.get("tool_calls", []) or []:
                fn = tc.get("function", {})
                if not isinstance(fn.get("name"), str) or not fn["name"]:
                    return "tool call without a name"
                if not isinstance(maybe_json(fn.get("arguments")), dict):
                    return "tool call arguments must be an object or a JSON string of one"
                call_ids.add(tc.get("id"))
            if m["role"] == "tool" and m.get("tool_call_id") not in call_ids:
                return "tool result answers no earlier call"
        tools = rec.get("tools", [])
        if not isinstance(tools, list):
            return "tools must be a list"
        declared = set()
        for t in tools:
            fn = t.get("function", {}) if isinstance(t, dict) else {}
            if not fn.get("name") or not isinstance(fn.get("parameters"), dict):
                return "tool schema without name or parameters"
            declared.add(fn["name"])
        for m in msgs:
            for tc in m.get("tool_calls", []) or []:
                if tc["function"]["name"] not in declared:
                    return f"call to undeclared tool {tc['function']['name']}"
        return None
    if "text" in rec:
        return None if isinstance(rec["text"], str) and rec["text"] else "text must be a non-empty string"
    if "instruction" in rec:
        ok = isinstance(rec["instruction"], str) and isinstance(rec.get("output"), str)
        return None if ok else "instruction/output must be strings"
    if "query" in rec:
        try:
            tools, answers = maybe_json(rec["tools"]), maybe_json(rec["answers"])
        except (KeyError, ValueError) as e:
            return f"function-calling record: {e}"
        if not isinstance(tools, list) or not isinstance(answers, list) or not answers:
            return "function-calling tools/answers must be lists"
        names = {t.get("name") for t in tools}
        for a in answers:
            if a.get("name") not in names or not isinstance(maybe_json(a.get("arguments")), dict):
                return "function-calling answer does not match a tool"
        return None
    return "matches no record shape"


def texts(rec):
    """The request and answer texts (code fences sit in the answer for write/fix/test/refactor
    tasks and in the request for explain tasks, whose answer is prose)."""
    if "messages" in rec:
        return [m.get("content", "") for m in rec["messages"] if m["role"] in ("user", "assistant")]
    if "instruction" in rec:
        return [rec["instruction"], rec["output"]]
    return []


def has_answer(rec):
    if "messages" in rec:
        last = rec["messages"][-1]
        return last["role"] == "assistant" and len(last.get("content", "")) >= 40
    return len(rec.get("output", "")) >= 40


def code_langs(rec):
    return {m.group(1).lower() for t in texts(rec) for m in FENCE.finditer(t)}


def is_tool_conv(rec):
    return "messages" in rec and any(m.get("tool_calls") for m in rec["messages"])


def conv_features(rec):
    msgs = rec["messages"]
    calls = [m for m in msgs if m["role"] == "assistant" and m.get("tool_calls")]
    names = {tc["function"]["name"] for m in calls for tc in m["tool_calls"]}
    nonstring = any(not isinstance(v, str) for m in calls for tc in m["tool_calls"]
                    for v in maybe_json(tc["function"]["arguments"]).values())
    error = any(m["role"] == "tool" and re.search(r'"error"\s*:', m.get("content", "")) for m in msgs)
    return {"multi_step": len(calls) > 1, "parallel": any(len(m["tool_calls"]) > 1 for m in calls),
            "error": error, "nonstring_args": nonstring,
            "final": msgs[-1]["role"] == "assistant" and not msgs[-1].get("tool_calls") and bool(msgs[-1]["content"]),
            "names": names}


def summarize(recs):
    code = [r for _, r in recs if not is_tool_conv(r) and code_langs(r)]
    tools = [r for _, r in recs if is_tool_conv(r)]
    langs = {}
    for r in code:
        for lang in code_langs(r):
            langs[lang] = langs.get(lang, 0) + 1
    feats = [conv_features(r) for r in tools]
    names = set().union(*[f["names"] for f in feats]) if feats else set()
    count = {k: sum(f[k] for f in feats) for k in ("multi_step", "parallel", "error", "nonstring_args", "final")}
    return code, tools, langs, names, count


def main():
    try:
        sets = {n: load(n) for n in ("code", "tools", "heldout")}
    except (RuntimeError, ValueError, OSError) as e:
        check("builtin_data_decompress", False, str(e))
        return 1
    check("builtin_data_decompress", True, ", ".join(f"{n}: {len(v)} records" for n, v in sets.items()))

    bad = [(where, err) for recs in sets.values() for where, rec in recs
           if (err := shape_error(rec)) is not None]
    check("builtin_records_have_known_shapes", not bad, "; ".join(f"{w}: {e}" for w, e in bad[:5]))

    calib = sets["code"] + sets["tools"]
    code, tools, langs, names, count = summarize(calib)
    check("calib_has_200_code_tasks", len(code) >= 200, f"{len(code)} code records")
    # what the built-in set reaches beyond the minimum (raise when adding data)
    check("calib_has_300_code_records", len(code) >= 300, f"{len(code)} code records")
    check("calib_code_tasks_have_full_answers", all(has_answer(r) for r in code))
    big_langs = {lang for lang, n in langs.items() if n >= 5}
    check("calib_code_spans_8_languages", len(big_langs) >= 8, ", ".join(f"{k}={v}" for k, v in sorted(langs.items())))
    check("calib_code_has_sql_and_shell", langs.get("sql", 0) >= 30 and langs.get("bash", 0) >= 30,
          f"sql={langs.get('sql', 0)}, bash={langs.get('bash', 0)}")
    n_instr = sum("instruction" in r for _, r in sets["code"])
    n_reason = sum(any(m.get("reasoning_content") for m in r.get("messages", [])) for _, r in sets["code"])
    check("calib_code_has_instruction_pairs_and_reasoning", n_instr >= 10 and n_reason >= 10,
          f"{n_instr} instruction pairs, {n_reason} with reasoning")
    check("calib_has_200_tool_conversations", len(tools) >= 200, f"{len(tools)} conversations")
    check("calib_has_250_tool_conversations", len(tools) >= 250, f"{len(tools)} conversations")
    check("calib_uses_50_distinct_tools", len(names) >= 50, f"{len(names)} tools called")
    check("calib_tool_cases_present",
          count["multi_step"] >= 150 and count["parallel"] >= 70 and count["error"] >= 45 and count["nonstring_args"] >= 180,
          ", ".join(f"{k}={v}" for k, v in count.items()))
    check("calib_tool_conversations_end_in_answers", count["final"] == len(tools), f"{count['final']}/{len(tools)}")
    n_text = sum("text" in r for _, r in sets["code"])
    check("calib_code_has_text_records", n_text >= 5, f"{n_text} text records")
    n_fc = sum("query" in r for _, r in sets["tools"])
    check("calib_has_function_calling_records", n_fc >= 10, f"{n_fc} query/tools/answers records")

    h_code, h_tools, h_langs, h_names, h_count = summarize(sets["heldout"])
    check("heldout_has_code_and_tools", len(h_code) >= 45 and len(h_tools) >= 45 and len(h_langs) >= 8,
          f"{len(h_code)} code, {len(h_tools)} tool conversations, {len(h_langs)} languages")
    check("heldout_tool_cases_present", h_count["multi_step"] >= 20 and h_count["parallel"] >= 20 and h_count["error"] >= 10,
          ", ".join(f"{k}={v}" for k, v in h_count.items()))

    def key(rec):
        return json.dumps(rec, sort_keys=True, ensure_ascii=False)

    def first_user(rec):
        if "messages" in rec:
            return next((m["content"] for m in rec["messages"] if m["role"] == "user"), None)
        return rec.get("instruction") or rec.get("query")

    calib_keys = {key(r) for _, r in calib}
    calib_users = {first_user(r) for _, r in calib} - {None}  # text records have no prompt
    dup = [w for w, r in sets["heldout"] if key(r) in calib_keys]
    same_q = [w for w, r in sets["heldout"] if first_user(r) in calib_users]
    check("heldout_disjoint_from_calib", not dup and not same_q,
          f"{len(dup)} identical records, {len(same_q)} shared user prompts: {', '.join((dup + same_q)[:5])}")
    all_keys = [key(r) for _, r in calib]
    check("calib_records_unique", len(all_keys) == len(set(all_keys)), f"{len(all_keys) - len(set(all_keys))} duplicates")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

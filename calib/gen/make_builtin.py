#!/usr/bin/env python3
"""make_builtin.py: builds reap's built-in calibration and held-out sets (dev-time only).

Writes calib/data/{code,tools,heldout}.jsonl(.zst) from the hand-written material in this directory
(code_tasks_*.py, tool_schemas.py, tool_scenarios_*.py, heldout.py). Deterministic: a fixed seed, no
network, no external data. Needs the `zstd` command-line tool. Usage:

    python3 calib/gen/make_builtin.py [--out calib/data] [--keep-jsonl]
"""
import argparse
import json
import os
import random
import subprocess
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from code_tasks_a import TASKS_A  # noqa: E402
from code_tasks_b import TASKS_B  # noqa: E402
from code_tasks_c import TASKS_C  # noqa: E402
from code_tasks_d import TASKS_D  # noqa: E402
from text_docs import HELDOUT_TEXTS, TEXTS  # noqa: E402
from heldout import HELDOUT_SCENARIOS, HELDOUT_TASKS  # noqa: E402
from tool_scenarios_a import SCENARIOS_A  # noqa: E402
from tool_scenarios_b import SCENARIOS_B  # noqa: E402
from tool_scenarios_c import SCENARIOS_C  # noqa: E402

SEED = 20250314

LANG_NAME = {"python": "Python", "c": "C", "cpp": "C++", "rust": "Rust", "go": "Go", "javascript": "JavaScript",
             "typescript": "TypeScript", "java": "Java", "sql": "SQL", "bash": "Bash", "haskell": "Haskell", "ruby": "Ruby"}
TEST_RUNNER = {"python": "pytest -q", "c": "cc -std=c11 -Wall test.c -o test && ./test", "cpp": "ctest (or the gtest binary)",
               "rust": "cargo test", "go": "go test ./...", "javascript": "npx jest", "typescript": "npx jest",
               "java": "mvn test", "haskell": "runghc", "ruby": "ruby -Itest", "bash": "bats", "sql": "psql -f"}

CODE_SYSTEMS = [None, None, None, "You are an expert software engineer. Answer with correct, idiomatic code and a short explanation.",
                "You are a senior developer doing code review. Be precise and explain the reasons behind changes.",
                "You are a helpful coding assistant."]

WRITE_OPENERS = ["", "Here's an implementation:\n\n", "Sure. ", "Here is one way to do it:\n\n", "",
                 "This does it with the standard library only:\n\n", "Here's a version you can drop in:\n\n",
                 "A straightforward way to write it:\n\n", "", "Something like this:\n\n",
                 "Below is a complete version; the notes after the code explain the choices.\n\n"]
PROMPT_SUFFIXES = ["", "", "", "", " Please keep it short.", " Explain briefly how it works.",
                   " Add comments where it matters.", " I'm on a deadline, thanks!", " It's for production code."]
FIX_FRAMES = ["This {L} code has a bug: {s}. Can you find and fix it?\n\n{code}",
              "{code}\n\nThe problem: {s}. What did I get wrong?",
              "A test is failing because {s0}. Here is the code:\n\n{code}",
              "Can you debug this? {s}.\n\n{code}",
              "{s}. What's wrong here?\n\n{code}",
              "Why does this happen: {s}?\n\n{code}\n\nPlease give me the corrected version.",
              "Bug report: {s}.\n\nCode:\n\n{code}"]
EXPLAIN_FRAMES = ["What does this {L} code do?\n\n{code}", "Can you explain how this works?\n\n{code}",
                  "{code}\n\nI'm new to {L}. What is going on here?",
                  "Review this {L} for me: is it correct, and what are the tricky parts?\n\n{code}",
                  "Explain this line by line, briefly:\n\n{code}",
                  "I found this in our codebase. Explain it to me, including any subtle points:\n\n{code}",
                  "Walk me through this {L} snippet.\n\n{code}"]
TEST_FRAMES = ["Write unit tests for this {L} code:\n\n{code}", "Add tests covering the edge cases of this:\n\n{code}",
               "{code}\n\nThis has no tests yet. What should I test, and can you write the tests?",
               "We need coverage for this before refactoring it. Write {L} tests:\n\n{code}",
               "Please write a test suite for the following {L} code.\n\n{code}"]
REFACTOR_FRAMES = ["Refactor this {L} code to be cleaner and faster, keeping the behaviour:\n\n{code}",
                   "{code}\n\nA reviewer said this needs a cleanup before it can be merged. Can you do it?",
                   "How would an experienced {L} developer write this?\n\n{code}",
                   "Simplify this without changing what it does:\n\n{code}",
                   "This works but it's ugly. Can you clean it up?\n\n{code}",
                   "Review and refactor:\n\n{code}"]


TEST_INTROS = ["These tests cover the normal cases and the edge cases:\n\n", "Here is a test suite:\n\n",
               "I'd test the happy path, the boundaries and the error cases:\n\n",
               "Tests, one behaviour per test so a failure points at the cause:\n\n"]
FIX_MIDDLES = ["\n\nFixed version:\n\n", "\n\nHere is the corrected code:\n\n", "\n\nWith the fix applied:\n\n",
               "\n\nCorrected:\n\n"]


def fence(lang, code):
    return f"```{lang}\n{code}\n```"


def chat(system, user, answer, reasoning=None):
    msgs = []
    if system:
        msgs.append({"role": "system", "content": system})
    msgs.append({"role": "user", "content": user})
    a = {"role": "assistant", "content": answer}
    if reasoning:
        a["reasoning_content"] = reasoning
    msgs.append(a)
    return {"messages": msgs}


def code_records(tasks, r):
    """Returns a list of (kind, lang, record)."""
    out = []
    for t in tasks:
        L, lang, code = LANG_NAME[t["lang"]], t["lang"], t["code"]
        block = fence(lang, code)
        # write
        answer = r.choice(WRITE_OPENERS) + block + "\n\n" + t["explain"]
        prompt = t["prompt"] + r.choice(PROMPT_SUFFIXES)
        if r.random() < 0.25:
            out.append(("write", lang, {"instruction": prompt, "output": answer}))
        else:
            out.append(("write", lang, chat(r.choice(CODE_SYSTEMS), prompt, answer, t["reasoning"])))
        # explain
        user = r.choice(EXPLAIN_FRAMES).format(L=L, code=block)
        ans = t["explain"]
        if r.random() < 0.2:
            out.append(("explain", lang, {"instruction": user, "output": ans}))
        else:
            rs = None
            if r.random() < 0.3:
                rs = f"The user wants an explanation of a {L} snippet. Identify what it computes, then the non-obvious details."
            out.append(("explain", lang, chat(r.choice(CODE_SYSTEMS), user, ans, rs)))
        # fix
        if t["bug"]:
            old, new, symptom, why = t["bug"]
            assert code.count(old) == 1, (t["prompt"][:40], old)
            buggy = code.replace(old, new)
            user = r.choice(FIX_FRAMES).format(L=L, s=symptom[0].upper() + symptom[1:] if symptom else symptom,
                                           s0=symptom, code=fence(lang, buggy))
            ans = why + r.choice(FIX_MIDDLES) + block
            rs = None
            if r.random() < 0.5:
                rs = f"Symptom: {symptom}. Read the code path that produces it. {why} Show the corrected code."
            out.append(("fix", lang, chat(r.choice(CODE_SYSTEMS), user, ans, rs)))
        # test
        if t["tests"]:
            user = r.choice(TEST_FRAMES).format(L=L, code=block)
            intro = r.choice(TEST_INTROS)
            ans = (intro + fence(lang, t["tests"]) +
                   f"\n\nRun them with `{'node --test' if 'node:test' in t['tests'] else TEST_RUNNER[lang]}`.")
            out.append(("test", lang, chat(r.choice(CODE_SYSTEMS), user, ans)))
        # refactor
        if t["messy"]:
            user = r.choice(REFACTOR_FRAMES).format(
                L=L, code=fence(lang, t["messy"]))
            ans = t["refactor_note"] + "\n\n" + block
            out.append(("refactor", lang, chat(r.choice(CODE_SYSTEMS), user, ans)))
    return out


def tool_records(scenarios, r):
    out = []
    for fn, cases in scenarios:
        for case in cases:
            out.append((fn.__name__, fn(r, case)))
    return out


def xlam_from(conv, r):
    """A function-calling record (query, tools, answers) from a conversation's first user turn and first calls."""
    msgs = conv["messages"]
    user = next(m for m in msgs if m["role"] == "user")["content"]
    first = next((m for m in msgs if m["role"] == "assistant" and m.get("tool_calls")), None)
    if first is None:
        return None
    tools = [{"name": t["function"]["name"], "description": t["function"]["description"],
              "parameters": t["function"]["parameters"]["properties"]} for t in conv["tools"]]
    answers = []
    for tc in first["tool_calls"]:
        a = tc["function"]["arguments"]
        answers.append({"name": tc["function"]["name"], "arguments": json.loads(a) if isinstance(a, str) else a})
    if r.random() < 0.5:  # xlam stores tools and answers as JSON strings
        return {"query": user, "tools": json.dumps(tools, ensure_ascii=False), "answers": json.dumps(answers, ensure_ascii=False)}
    return {"query": user, "tools": tools, "answers": answers}


def conv_stats(records):
    c = Counter()
    names = Counter()
    for rec in records:
        if "messages" not in rec:
            continue
        msgs = rec["messages"]
        calls = [m for m in msgs if m["role"] == "assistant" and m.get("tool_calls")]
        if not calls:
            c["no_call"] += 1
            continue
        c["with_calls"] += 1
        c["multi_step"] += len(calls) > 1
        c["parallel"] += any(len(m["tool_calls"]) > 1 for m in calls)
        c["error_result"] += any(m["role"] == "tool" and '"error"' in m["content"] for m in msgs)
        c["reasoning"] += any(m.get("reasoning_content") for m in msgs)
        c["string_args"] += any(isinstance(tc["function"]["arguments"], str) for m in calls for tc in m["tool_calls"])
        c["final_answer"] += msgs[-1]["role"] == "assistant" and not msgs[-1].get("tool_calls")
        for m in calls:
            for tc in m["tool_calls"]:
                names[tc["function"]["name"]] += 1
    return c, names


def write_jsonl(path, records, keep):
    with open(path, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
    size = os.path.getsize(path)
    subprocess.run(["zstd", "-19", "-q", "-f", path, "-o", path + ".zst"], check=True)
    zsize = os.path.getsize(path + ".zst")
    if not keep:
        os.remove(path)
    return size, zsize


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "data"))
    ap.add_argument("--keep-jsonl", action="store_true", help="keep the uncompressed .jsonl files")
    args = ap.parse_args()
    r = random.Random(SEED)

    tasks = TASKS_A + TASKS_B + TASKS_C + TASKS_D
    code = code_records(tasks, r)
    tools = tool_records(SCENARIOS_A + SCENARIOS_B + SCENARIOS_C, r)
    xlam_src = r.sample([rec for _, rec in tools], 30)
    xlam = [x for x in (xlam_from(c, r) for c in xlam_src) if x]

    h_code = code_records(HELDOUT_TASKS, r)
    h_tools = tool_records(HELDOUT_SCENARIOS, r)

    code_recs = [rec for _, _, rec in code] + [{"text": t} for t in TEXTS]
    tool_recs = [rec for _, rec in tools] + xlam
    r.shuffle(code_recs)
    r.shuffle(tool_recs)
    held = [rec for _, _, rec in h_code] + [rec for _, rec in h_tools] + [{"text": t} for t in HELDOUT_TEXTS]
    r.shuffle(held)

    calib_keys = {json.dumps(x, sort_keys=True) for x in code_recs + tool_recs}
    for x in held:
        assert json.dumps(x, sort_keys=True) not in calib_keys, "held-out record duplicates a calibration record"
    calib_prompts = {t["prompt"] for t in tasks}
    for t in HELDOUT_TASKS:
        assert t["prompt"] not in calib_prompts, t["prompt"]
    assert not set(HELDOUT_TEXTS) & set(TEXTS)

    os.makedirs(args.out, exist_ok=True)
    sizes = {}
    for name, recs in (("code", code_recs), ("tools", tool_recs), ("heldout", held)):
        sizes[name] = write_jsonl(os.path.join(args.out, name + ".jsonl"), recs, args.keep_jsonl)

    print("files:")
    for name, (s, z) in sizes.items():
        print(f"  {name}.jsonl.zst: {s:,} bytes uncompressed, {z:,} compressed")
    print(f"code: {len(code_recs)} records from {len(tasks)} tasks")
    print("  kinds:", dict(Counter(k for k, _, _ in code)))
    print("  languages:", dict(Counter(l for _, l, _ in code)))
    print("  instruction pairs:", sum("instruction" in x for x in code_recs),
          " with reasoning:", sum(any(m.get("reasoning_content") for m in x.get("messages", [])) for x in code_recs))
    st, names = conv_stats([rec for _, rec in tools])
    print(f"  text records: {len(TEXTS)}")
    print(f"tools: {len(tools)} conversations from {len(SCENARIOS_A) + len(SCENARIOS_B) + len(SCENARIOS_C)} scenarios, {len(xlam)} function-calling (xlam) records")
    print("  ", dict(st))
    print(f"  distinct tools called: {len(names)}")
    hst, hnames = conv_stats([rec for _, rec in h_tools])
    print(f"heldout: {len(h_code)} code records from {len(HELDOUT_TASKS)} tasks, {len(h_tools)} tool conversations,"
          f" {len(HELDOUT_TEXTS)} text records, {len(held)} in all")
    print("  kinds:", dict(Counter(k for k, _, _ in h_code)), "languages:", dict(Counter(l for _, l, _ in h_code)))
    print("  ", dict(hst), "distinct tools called:", len(hnames))


if __name__ == "__main__":
    main()

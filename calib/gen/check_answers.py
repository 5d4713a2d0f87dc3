#!/usr/bin/env python3
"""check_answers.py: compiles and runs the code answers of the built-in sets (dev-time only).

For every hand-written task (calibration and held-out) it takes the answer (`code`), and where
the task has them the test suite (`tests`), the messy version to refactor (`messy`) and the bug
(`bug`), then, with whatever toolchain this machine has:

- compiles the answer (gcc, g++, rustc, javac, node --check, bash -n + shellcheck, python
  compile, sqlite3 for SQL that a task marks as portable with a `check["sqlite"]` schema);
- runs it where the task defines something to run: the test suite (pytest, a C/C++ test main or
  GoogleTest, rustc --test, node --test), a `check["main"]` driver, or the program itself;
- checks that the messy version compiles too, and that the tests fail on the buggy version
  (a test suite that cannot catch the documented bug is reported).

It also reads the generated calib/data/*.jsonl.zst and checks that every fenced block in an
answer is the code or tests of some task, so nothing unchecked is shipped.

Languages without a toolchain here (Go, TypeScript without tsc, Haskell without ghc, Ruby
without ruby) are reported as skipped. Usage:

    python3 calib/gen/check_answers.py [-v] [-k SUBSTRING] [--python /path/to/python-with-pytest]
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from code_tasks_a import TASKS_A  # noqa: E402
from code_tasks_b import TASKS_B  # noqa: E402
from code_tasks_c import TASKS_C  # noqa: E402
from code_tasks_d import TASKS_D  # noqa: E402
from heldout import HELDOUT_TASKS  # noqa: E402

TIMEOUT = 60


class Result:
    def __init__(self):
        self.compiled = None   # True / False / None (not checked)
        self.ran = None        # True / False / None (nothing to run)
        self.bug_caught = None  # True / False / None (no tests or no bug)
        self.messy = None
        self.notes = []

    def fail(self, what, out):
        self.notes.append(f"{what}:\n{out.strip()[-1500:]}")


def sh(cmd, cwd, stdin=None, timeout=TIMEOUT):
    try:
        p = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout,
                           shell=isinstance(cmd, str))
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return 124, "timed out"


def have(tool):
    return shutil.which(tool) is not None


def module_name(tests, pattern, default):
    m = re.search(pattern, tests or "", re.M)
    return m.group(1) if m else default


# ---------------------------------------------------------------- per language

def check_python(t, d, res, py):
    def compile_ok(src, what):
        path = os.path.join(d, "_compile.py")
        with open(path, "w") as f:
            f.write(src)
        rc, out = sh([sys.executable, "-m", "py_compile", path], d)
        if rc:
            res.fail(what, out)
        return rc == 0

    res.compiled = compile_ok(t["code"], "compile")
    if t["messy"]:
        res.messy = compile_ok(t["messy"], "messy compile")
    chk = t.get("check") or {}
    runnable = t["tests"] or chk.get("main")
    if not res.compiled or not runnable:
        return
    mods = [m for m in re.findall(r"^from (\w+) import", t["tests"] or "", re.M)
            if m not in sys.stdlib_module_names and m != "pytest"]
    mod = mods[0] if mods else "answer"

    def run(code):
        with open(os.path.join(d, mod + ".py"), "w") as f:
            f.write(code + ("\n\n" + chk["main"] if chk.get("main") else "") + "\n")
        if t["tests"]:
            with open(os.path.join(d, "test_answer.py"), "w") as f:
                f.write(t["tests"] + "\n")
            return sh([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_answer.py"], d)
        return sh([py, mod + ".py"], d, stdin=chk.get("stdin"))

    rc, out = run(t["code"])
    res.ran = rc == 0
    if rc:
        res.fail("run", out)
    if t["bug"] and res.ran:
        rc, _ = run(t["code"].replace(t["bug"][0], t["bug"][1]))
        res.bug_caught = rc != 0
    if t["messy"] and res.messy and res.ran:  # the refactor must keep the behaviour
        rc, out = run(t["messy"])
        res.messy = rc == 0
        if rc:
            res.fail("messy version fails the tests", out)


def check_c_family(t, d, res, cpp):
    cc = ["g++", "-std=c++17"] if cpp else ["gcc", "-std=c11", "-D_POSIX_C_SOURCE=200809L"]
    cc += ["-Wall", "-Wextra", "-Werror", "-pthread"]
    ext = ".cpp" if cpp else ".c"
    chk = t.get("check") or {}
    has_main = re.search(r"\bint\s+main\s*\(", t["code"]) is not None

    def syntax(src, what):
        path = os.path.join(d, "_syntax" + ext)
        with open(path, "w") as f:
            f.write(src + "\n")
        rc, out = sh(cc + ["-c", path, "-o", os.path.join(d, "_syntax.o")], d)
        if rc:
            res.fail(what, out)
        return rc == 0

    res.compiled = syntax(t["code"], "compile")
    if t["messy"]:
        res.messy = syntax(t["messy"], "messy compile")
    if not res.compiled:
        return

    def build_and_run(code):
        if t["tests"]:
            hdr = module_name(t["tests"], r'#include "([\w.]+)"', "answer.h")
            with open(os.path.join(d, hdr), "w") as f:
                f.write(code + "\n")
            with open(os.path.join(d, "test" + ext), "w") as f:
                f.write(t["tests"] + "\n")
            libs = ["-lgtest", "-lgtest_main"] if "gtest/gtest.h" in t["tests"] else []
            rc, out = sh(cc + ["test" + ext, "-o", "test"] + libs, d)
            if rc:
                return rc, "test build failed:\n" + out
            return sh(["./test"], d)
        with open(os.path.join(d, "prog" + ext), "w") as f:
            f.write(code + ("\n\n" + chk["main"] if chk.get("main") else "") + "\n")
        rc, out = sh(cc + ["prog" + ext, "-o", "prog"] + chk.get("libs", []), d)
        if rc:
            return rc, "build failed:\n" + out
        return sh(["./prog"] + chk.get("args", []), d, stdin=chk.get("stdin", ""))

    if t["tests"] or chk.get("main") or (has_main and not chk.get("skip")):
        rc, out = build_and_run(t["code"])
        res.ran = rc == 0
        if rc:
            res.fail("run", out)
        if t["bug"] and res.ran and (t["tests"] or chk.get("main")):
            rc, _ = build_and_run(t["code"].replace(t["bug"][0], t["bug"][1]))
            res.bug_caught = rc != 0


def check_rust(t, d, res):
    chk = t.get("check") or {}
    base = ["rustc", "--edition", "2021", "-A", "warnings"]
    has_main = re.search(r"\bfn main\s*\(", t["code"]) is not None

    def syntax(src, what):
        with open(os.path.join(d, "syn.rs"), "w") as f:
            f.write(src + "\n")
        kind = "bin" if re.search(r"\bfn main\s*\(", src) else "lib"
        rc, out = sh(base + ["--crate-type", kind, "--emit", "metadata", "-o", os.path.join(d, "syn.rmeta"), "syn.rs"], d)
        if rc:
            res.fail(what, out)
        return rc == 0

    res.compiled = syntax(t["code"], "compile")
    if t["messy"]:
        res.messy = syntax(t["messy"], "messy compile")
    if not res.compiled:
        return

    def build_and_run(code):
        src = code + "\n\n" + (t["tests"] or chk.get("main", "")) + "\n"
        with open(os.path.join(d, "prog.rs"), "w") as f:
            f.write(src)
        flags = ["--test"] if (t["tests"] or "#[test]" in chk.get("main", "")) else []
        rc, out = sh(base + flags + ["-o", "prog", "prog.rs"], d, timeout=120)
        if rc:
            return rc, "build failed:\n" + out
        return sh(["./prog"] + chk.get("args", []), d, stdin=chk.get("stdin", ""))

    if t["tests"] or chk.get("main") or (has_main and not chk.get("skip")):
        rc, out = build_and_run(t["code"])
        res.ran = rc == 0
        if rc:
            res.fail("run", out)
        if t["bug"] and res.ran and (t["tests"] or chk.get("main")):
            rc, _ = build_and_run(t["code"].replace(t["bug"][0], t["bug"][1]))
            res.bug_caught = rc != 0


def java_name(src):
    m = re.search(r"^public\s+(?:final\s+|abstract\s+)*(?:class|record|interface|enum)\s+(\w+)", src, re.M)
    if m:
        return m.group(1)
    m = re.search(r"^(?:final\s+)?(?:class|record|interface|enum)\s+(\w+)", src, re.M)
    return m.group(1) if m else "Answer"


def check_java(t, d, res):
    chk = t.get("check") or {}

    def compile_src(src, what, sub):
        dd = os.path.join(d, sub)
        os.makedirs(dd, exist_ok=True)
        with open(os.path.join(dd, java_name(src) + ".java"), "w") as f:
            f.write(src + "\n")
        files = [java_name(src) + ".java"]
        if chk.get("main") and sub != "messy":
            with open(os.path.join(dd, "Main.java"), "w") as f:
                f.write(chk["main"] + "\n")
            files.append("Main.java")
        rc, out = sh(["javac", "-Xlint:all,-serial,-rawtypes", "-Werror", "-d", "out"] + files, dd, timeout=120)
        if rc:
            res.fail(what, out)
        return rc == 0

    res.compiled = compile_src(t["code"], "compile", "a")
    if t["messy"]:
        res.messy = compile_src(t["messy"], "messy compile", "messy")
    if res.compiled and chk.get("main"):
        rc, out = sh(["java", "-ea", "-cp", "out", "Main"], os.path.join(d, "a"), stdin=chk.get("stdin", ""))
        res.ran = rc == 0
        if rc:
            res.fail("run", out)
        if t["bug"] and res.ran:
            ok = compile_src(t["code"].replace(t["bug"][0], t["bug"][1]), "bug compile", "b")
            if ok:
                rc, _ = sh(["java", "-ea", "-cp", "out", "Main"], os.path.join(d, "b"), stdin=chk.get("stdin", ""))
            res.bug_caught = (not ok) or rc != 0
            if not ok:
                res.notes.pop()


def check_js(t, d, res):
    chk = t.get("check") or {}

    def syntax(src, what):
        with open(os.path.join(d, "syn.js"), "w") as f:
            f.write(src + "\n")
        rc, out = sh(["node", "--check", "syn.js"], d)
        if rc:
            res.fail(what, out)
        return rc == 0

    res.compiled = syntax(t["code"], "compile")
    if t["messy"]:
        res.messy = syntax(t["messy"], "messy compile")
    node_tests = t["tests"] and "node:test" in t["tests"]
    if not res.compiled or not (node_tests or chk.get("main")):
        return
    mod = module_name(t["tests"], r'require\("\./([\w.-]+)"\)', "answer")
    if not mod.endswith(".js"):
        mod += ".js"

    def run(code):
        with open(os.path.join(d, mod), "w") as f:
            f.write(code + ("\n\n" + chk["main"] if chk.get("main") else "") + "\n")
        if node_tests:
            with open(os.path.join(d, "answer.test.js"), "w") as f:
                f.write(t["tests"] + "\n")
            return sh(["node", "--test", "answer.test.js"], d)
        return sh(["node", mod], d, stdin=chk.get("stdin", ""))

    rc, out = run(t["code"])
    res.ran = rc == 0
    if rc:
        res.fail("run", out)
    if t["bug"] and res.ran:
        rc, _ = run(t["code"].replace(t["bug"][0], t["bug"][1]))
        res.bug_caught = rc != 0


def check_bash(t, d, res):
    chk = t.get("check") or {}

    def lint(src, what):
        with open(os.path.join(d, "s.sh"), "w") as f:
            f.write(src + "\n")
        rc, out = sh(["bash", "-n", "s.sh"], d)
        if rc == 0 and have("shellcheck") and what != "messy bash -n":  # messy code may be ugly, not broken
            rc, out = sh(["shellcheck", "-s", "bash", "-S", "warning", "s.sh"], d)
        if rc:
            res.fail(what, out)
        return rc == 0

    res.compiled = lint(t["code"], "bash -n / shellcheck")
    if t["messy"]:
        res.messy = lint(t["messy"], "messy bash -n")
    bats = t["tests"] and "@test" in t["tests"]
    if not res.compiled or not (chk.get("main") or bats):
        return
    name = module_name(t["tests"], r'source "\$BATS_TEST_DIRNAME/([\w.-]+)"', "answer.sh")
    driver = chk.get("main") or bats_shim(t["tests"])

    def run(code):
        with open(os.path.join(d, name), "w") as f:
            f.write(code + "\n")
        with open(os.path.join(d, "driver.sh"), "w") as f:
            f.write(driver + "\n")
        return sh(["bash", "driver.sh"], d, stdin=chk.get("stdin", ""))

    rc, out = run(t["code"])
    res.ran = rc == 0
    if rc:
        res.fail("run", out)
    if t["bug"] and res.ran:
        rc, _ = run(t["code"].replace(t["bug"][0], t["bug"][1]))
        res.bug_caught = rc != 0


def bats_shim(tests):
    """Turns a simple bats file (@test blocks using run, $status, $output and [ ]) into a bash
    script, for machines without bats."""
    names, out = [], ["BATS_TEST_DIRNAME=$PWD",
                      'run() { set +e; output=$("$@" 2>&1); status=$?; set -e; }']
    for line in tests.splitlines():
        m = re.match(r'^@test "(.*)" \{\s*$', line)
        if m:
            names.append(m.group(1))
            out.append(f"bats_test_{len(names)}() {{")
        elif not line.startswith("#!"):
            out.append(line)
    out.append("failed=0")
    for i, n in enumerate(names, 1):
        q = n.replace("'", "")
        out.append(f"( set -e; bats_test_{i} ); rc=$?")
        out.append(f"if [ $rc -eq 0 ]; then echo 'ok {i} {q}'; else echo 'not ok {i} {q}'; failed=1; fi")
    out.append("exit $failed")
    return "\n".join(out)


def check_sql(t, d, res):
    chk = t.get("check") or {}
    if "sqlite" not in chk:
        return  # PostgreSQL dialect: not checked here

    def run(code):
        return sh(["sqlite3", "-bail", "-batch", ":memory:"], d,
                  stdin=chk["sqlite"] + "\n" + code + "\n" + chk.get("after", "") + "\n")

    rc, out = run(t["code"])
    ok = rc == 0 and "Error" not in out
    res.compiled = ok
    if not ok:
        res.fail("sqlite3", out)
        return
    if t["messy"]:
        rc, mout = run(t["messy"])
        res.messy = rc == 0 and "Error" not in mout
    if t["tests"]:  # SQL tests print lines starting with FAIL
        rc, tout = run(t["code"] + "\n" + t["tests"])
        res.ran = rc == 0 and "FAIL" not in tout and "Error" not in tout
        if not res.ran:
            res.fail("sql tests", tout)
        if t["bug"] and res.ran:
            rc, bout = run(t["code"].replace(t["bug"][0], t["bug"][1]) + "\n" + t["tests"])
            res.bug_caught = rc != 0 or "FAIL" in bout
    elif "expect" in chk:
        res.ran = out.strip() == chk["expect"].strip()
        if not res.ran:
            res.fail("sqlite3 output", f"got:\n{out}\nexpected:\n{chk['expect']}")
        if t["bug"] and res.ran:
            rc, bout = run(t["code"].replace(t["bug"][0], t["bug"][1]))
            res.bug_caught = rc != 0 or bout.strip() != chk["expect"].strip()


def check_generic(tool_check, t, d, res):
    """Go, TypeScript, Haskell, Ruby: only where the toolchain exists."""
    lang = t["lang"]
    chk = t.get("check") or {}
    if lang == "ruby" and have("ruby"):
        with open(os.path.join(d, "a.rb"), "w") as f:
            f.write(t["code"] + "\n")
        rc, out = sh(["ruby", "-c", "a.rb"], d)
        res.compiled = rc == 0
        if rc:
            res.fail("ruby -c", out)
    elif lang == "typescript" and have("tsc"):
        with open(os.path.join(d, "a.ts"), "w") as f:
            f.write(t["code"] + "\n")
        rc, out = sh(["tsc", "--noEmit", "--strict", "--target", "es2022", "--lib", "es2022,dom", "a.ts"], d)
        res.compiled = rc == 0
        if rc:
            res.fail("tsc", out)
    elif lang == "go" and have("go"):
        os.makedirs(os.path.join(d, "g"))
        with open(os.path.join(d, "g", "a.go"), "w") as f:
            f.write(t["code"] + "\n")
        rc, out = sh(["gofmt", "-l", "a.go"], os.path.join(d, "g"))
        res.compiled = rc == 0
        if rc:
            res.fail("gofmt", out)
    elif lang == "haskell" and have("ghc"):
        with open(os.path.join(d, "A.hs"), "w") as f:
            f.write(t["code"] + "\n")
        rc, out = sh(["ghc", "-fno-code", "A.hs"], d)
        res.compiled = rc == 0
        if rc:
            res.fail("ghc", out)
    del tool_check, chk


TOOLCHAIN = {"python": "python3", "c": "gcc", "cpp": "g++", "rust": "rustc", "java": "javac", "javascript": "node",
             "bash": "bash", "sql": "sqlite3", "go": "go", "typescript": "tsc", "haskell": "ghc", "ruby": "ruby"}


def check_task(t, py):
    res = Result()
    with tempfile.TemporaryDirectory(prefix="reap-ans-") as d:
        lang = t["lang"]
        if not have(TOOLCHAIN[lang]):
            return res
        if lang == "python":
            check_python(t, d, res, py)
        elif lang in ("c", "cpp"):
            check_c_family(t, d, res, lang == "cpp")
        elif lang == "rust":
            check_rust(t, d, res)
        elif lang == "java":
            check_java(t, d, res)
        elif lang == "javascript":
            check_js(t, d, res)
        elif lang == "bash":
            check_bash(t, d, res)
        elif lang == "sql":
            check_sql(t, d, res)
        else:
            check_generic(None, t, d, res)
    return res


# ---------------------------------------------------------------- shipped data

FENCE = re.compile(r"```([A-Za-z+#]*)\n(.*?)\n```", re.S)


def shipped_blocks_known(tasks):
    """Every fenced block of an answer in the generated sets must be some task's code or tests."""
    known = {t["code"] for t in tasks} | {t["tests"] for t in tasks if t["tests"]}
    unknown, total = [], 0
    for name in ("code", "heldout"):
        path = os.path.join(HERE, "..", "data", name + ".jsonl.zst")
        p = subprocess.run(["zstd", "-dc", path], capture_output=True, check=True)
        for line in p.stdout.decode().splitlines():
            rec = json.loads(line)
            if "messages" in rec:
                answers = [m["content"] for m in rec["messages"] if m["role"] == "assistant" and not m.get("tool_calls")]
                if any(m.get("tool_calls") for m in rec["messages"]):
                    continue
            elif "output" in rec:
                answers = [rec["output"]]
            else:
                continue
            for a in answers:
                for m in FENCE.finditer(a):
                    total += 1
                    if m.group(2) not in known:
                        unknown.append(m.group(2)[:80])
    return total, unknown


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-v", "--verbose", action="store_true", help="print the compiler output of failures")
    ap.add_argument("-k", default="", help="only tasks whose prompt contains this")
    ap.add_argument("--python", default=os.environ.get("CHECK_PYTHON", "python3"),
                    help="a Python with pytest installed, to run the Python test suites")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()

    tasks = [t for t in TASKS_A + TASKS_B + TASKS_C + TASKS_D + HELDOUT_TASKS if args.k in t["prompt"]]
    if subprocess.run([args.python, "-c", "import pytest"], capture_output=True).returncode:
        print(f"note: {args.python} has no pytest; Python test suites will fail to run", file=sys.stderr)
    with concurrent.futures.ThreadPoolExecutor(args.j) as ex:
        results = list(ex.map(lambda t: check_task(t, args.python), tasks))

    stats = defaultdict(Counter)
    failures = 0
    for t, res in zip(tasks, results):
        s = stats[t["lang"]]
        s["tasks"] += 1
        for key in ("compiled", "ran", "messy", "bug_caught"):
            v = getattr(res, key)
            if v is not None:
                s[key + "_checked"] += 1
                s[key + "_ok"] += bool(v)
        bad = res.compiled is False or res.ran is False or res.messy is False or res.bug_caught is False
        if bad:
            failures += 1
            print(f"FAIL [{t['lang']}] {t['prompt'][:90]}")
            if args.verbose:
                for n in res.notes:
                    print("    " + n.replace("\n", "\n    "))
                if res.bug_caught is False:
                    print("    the tests pass on the buggy version")

    print(f"\n{'language':<11} {'tasks':>5} {'compiled':>10} {'ran':>9} {'messy ok':>9} {'bug caught':>11}")
    tot = Counter()
    for lang in sorted(stats):
        s = stats[lang]
        tot.update(s)

        def f(k):
            return f"{s[k + '_ok']}/{s[k + '_checked']}" if s[k + "_checked"] else "-"
        note = "" if have(TOOLCHAIN[lang]) else f"  (no {TOOLCHAIN[lang]} here)"
        print(f"{lang:<11} {s['tasks']:>5} {f('compiled'):>10} {f('ran'):>9} {f('messy'):>9} {f('bug_caught'):>11}{note}")
    s = tot
    print(f"{'total':<11} {s['tasks']:>5} {s['compiled_ok']}/{s['compiled_checked']:<5} {s['ran_ok']:>5}/{s['ran_checked']:<3}"
          f" {s['messy_ok']:>5}/{s['messy_checked']:<3} {s['bug_caught_ok']:>7}/{s['bug_caught_checked']}")

    if not args.k:
        total, unknown = shipped_blocks_known(TASKS_A + TASKS_B + TASKS_C + TASKS_D + HELDOUT_TASKS)
        print(f"\nshipped fenced blocks: {total}, not from a checked task: {len(unknown)}")
        for u in unknown[:10]:
            print("   ", repr(u))
        failures += bool(unknown)
    print(f"\n{failures} failing tasks")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

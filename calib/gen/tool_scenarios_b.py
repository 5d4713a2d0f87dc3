# tool_scenarios_b.py: tool-calling scenarios (coding agent, git, ops, data), authored for reap.
from conv import Conv, system_for


def fix_bug_agent(r, case):
    symptom, pattern, glob, path, lines, old, new, test, explain = case
    c = Conv(r, system_for(r, 3))
    c.user(symptom)
    c.call(("search_files", {"pattern": pattern, "glob": glob, "max_results": 20}),
           reasoning="Locate the code first, then read it, make the smallest fix, and run the related tests.")
    ln = r.randint(12, 140)
    c.results({"matches": [{"path": path, "line": ln, "text": lines[0].strip()}]})
    c.call(("read_file", {"path": path, "offset": max(1, ln - 3), "limit": 30}))
    numbered = "\n".join(f"{ln - 1 + i:>5}\t{t}" for i, t in enumerate(lines))
    c.results(numbered)
    c.call(("edit_file", {"path": path, "old_text": old, "new_text": new}), content=explain)
    c.results({"ok": True, "replacements": 1})
    c.call(("run_tests", {"path": test, "fail_fast": True}))
    n = r.randint(6, 40)
    c.results({"passed": n, "failed": 0, "skipped": r.randint(0, 2), "duration_seconds": round(r.uniform(0.4, 9), 2)})
    c.say(f"Fixed in `{path}`: {explain} All {n} tests in `{test}` pass.")
    return c.record()


FIX_CASES = [
    ("Pagination skips the first item on page 2. Can you fix it?", r"offset\s*=", "*.py", "app/api/pagination.py",
     ["    offset = page * page_size + 1", "    return query.offset(offset).limit(page_size)"],
     "offset = page * page_size + 1", "offset = page * page_size", "tests/test_pagination.py",
     "The offset added 1, so every page after the first started one row late. Pages are 0-based, so the offset is simply `page * page_size`."),
    ("Our date formatter prints months off by one (January shows as 00).", "getMonth\\(\\)", "*.ts", "src/utils/formatDate.ts",
     ["  const month = String(d.getMonth()).padStart(2, \"0\");", "  return `${d.getFullYear()}-${month}-${day}`;"],
     "String(d.getMonth())", "String(d.getMonth() + 1)", "src/utils/formatDate.test.ts",
     "`Date.getMonth()` is 0-based (January is 0), so the month needs `+ 1` before formatting."),
    ("The cache never expires entries, TTL seems ignored.", "expires_at", "*.go", "internal/cache/cache.go",
     ["\tif time.Now().Before(e.expiresAt) || true {", "\t\treturn e.value, true", "\t}"],
     "if time.Now().Before(e.expiresAt) || true {", "if time.Now().Before(e.expiresAt) {", "./internal/cache/...",
     "A leftover `|| true` from debugging made the expiry check always pass; removing it restores the TTL."),
    ("Discount codes are applied twice when the cart is recalculated.", "apply_discount", "*.rb", "app/models/cart.rb",
     ["    def recalculate", "      self.total = items.sum(&:price)", "      self.total = apply_discount(total)", "      self.total = apply_discount(total)", "    end"],
     "      self.total = apply_discount(total)\n      self.total = apply_discount(total)", "      self.total = apply_discount(total)", "spec/models/cart_spec.rb",
     "`recalculate` called `apply_discount` twice in a row, discounting the already-discounted total; one call is enough."),
    ("Uploading a file bigger than 1 MB crashes the server with a buffer overflow.", "char buf\\[", "*.c", "src/upload.c",
     ["    char buf[1024];", "    size_t n = fread(buf, 1, content_length, in);"],
     "    size_t n = fread(buf, 1, content_length, in);", "    size_t n = fread(buf, 1, content_length < sizeof buf ? content_length : sizeof buf, in);",
     "tests/test_upload.c", "`fread` read `content_length` bytes into a 1024-byte stack buffer; the read is now capped at the buffer size."),
    ("Sorting users by age puts 100 before 20.", "sort\\(", "*.js", "src/users/sort.js",
     ["  return [...users].sort((a, b) => String(a.age).localeCompare(String(b.age)));"],
     "String(a.age).localeCompare(String(b.age))", "a.age - b.age", "src/users/sort.test.js",
     "Ages were compared as strings, so \"100\" sorted before \"20\"; a numeric comparator fixes the order."),
]


def git_commit_flow(r, case):
    repo, files, diffstat, msg = case
    c = Conv(r, system_for(r, 3))
    c.user(r.choice(["Commit my changes with a sensible message.", "Please review what changed and commit it.", "Wrap up: commit the work in progress."]))
    c.call(("git_status", {"repo_path": repo}))
    c.results({"branch": r.choice(["main", "feature/search", "fix/login-timeout", "chore/deps"]), "staged": [],
               "modified": files, "untracked": ["notes.tmp"] if r.random() < 0.5 else []})
    c.call(("git_diff", {"repo_path": repo, "staged": False, "paths": files}))
    c.results(diffstat)
    c.call(("git_commit", {"repo_path": repo, "message": msg, "files": files}),
           content="The changes belong together; committing only the modified tracked files.")
    sha = "".join(r.choice("0123456789abcdef") for _ in range(7))
    c.results({"commit": sha, "files_changed": len(files)})
    c.say(f"Committed {len(files)} files as `{sha}`: \"{msg.splitlines()[0]}\".")
    return c.record()


GIT_CASES = [
    (".", ["src/search.py", "tests/test_search.py"], "diff --git a/src/search.py b/src/search.py\n@@ -41,7 +41,9 @@ def search(q, limit=20):\n-    results = index.query(q)\n+    if not q.strip():\n+        return []\n+    results = index.query(q.strip())\n     return results[:limit]\n",
     "search: ignore blank queries and trim whitespace\n\nAdds tests for empty and padded queries."),
    ("services/auth", ["login.go"], "diff --git a/login.go b/login.go\n@@ -88,3 +88,3 @@\n-\tctx, cancel := context.WithTimeout(ctx, 2*time.Second)\n+\tctx, cancel := context.WithTimeout(ctx, 10*time.Second)\n",
     "auth: raise the login upstream timeout to 10s\n\nThe identity provider regularly needs 3-5 s under load."),
    (".", ["package.json", "package-lock.json"], "diff --git a/package.json b/package.json\n@@ -12,7 +12,7 @@\n-    \"axios\": \"^1.6.2\",\n+    \"axios\": \"^1.7.4\",\n",
     "deps: bump axios to 1.7.4 (security fix)"),
    ("web", ["src/components/Navbar.tsx", "src/styles/navbar.css"], "diff --git a/src/components/Navbar.tsx b/src/components/Navbar.tsx\n@@ -5,6 +5,7 @@\n+      <button aria-label=\"Open menu\" onClick={toggle}>☰</button>\n",
     "navbar: add a mobile menu toggle"),
    (".", ["README.md"], "diff --git a/README.md b/README.md\n@@ -1,4 +1,12 @@\n+## Installation\n+\n+    pip install -e .\n",
     "docs: add installation instructions"),
]


def git_branch_recover(r, case):
    branch, base = case
    c = Conv(r, system_for(r, 3))
    c.user(f"Create a branch called {branch} from {base}.")
    c.call(("git_checkout_branch", {"branch": branch, "create": True, "start_point": base}))
    c.results({"error": f"fatal: a branch named '{branch}' already exists"})
    c.call(("git_log", {"max_count": 3, "path": "."}), ("git_status", {}),
           content="That branch already exists. Let me look at where things stand before deciding.")
    c.results({"commits": [{"sha": "9f2c1e0", "author": "you", "date": "2025-03-12", "subject": f"wip on {branch}"},
                           {"sha": "41aa7b3", "author": "ci-bot", "date": "2025-03-11", "subject": "release 2.4.1"}]},
              {"branch": base, "staged": [], "modified": [], "untracked": []})
    c.call(("git_checkout_branch", {"branch": branch, "create": False}))
    c.results({"ok": True, "branch": branch})
    c.say(f"`{branch}` already existed (its latest commit is \"wip on {branch}\"), so I didn't recreate it and lose that work; I switched to the existing branch instead. If you want a fresh branch from {base}, tell me and I'll create it under another name.")
    return c.record()


BRANCH_CASES = [("feature/export-csv", "main"), ("fix/null-pointer-profile", "develop"), ("release/2.5", "main"),
                ("chore/upgrade-node", "main"), ("experiment/new-ranker", "develop")]


def shell_missing_tool(r, case):
    cmd, tool, mgr, pkg, out = case
    c = Conv(r, system_for(r, 3))
    c.user(f"Run `{cmd}` for me.")
    c.call(("run_shell", {"command": cmd, "timeout_seconds": 120}))
    c.results({"exit_code": 127, "stdout": "", "stderr": f"bash: {tool}: command not found"})
    c.call(("install_packages", {"manager": mgr, "packages": [pkg], "dev": True}), content=f"`{tool}` isn't installed; installing it.")
    c.results({"installed": [pkg], "ok": True})
    c.call(("run_shell", {"command": cmd, "timeout_seconds": 120}))
    c.results({"exit_code": 0, "stdout": out, "stderr": ""})
    c.say(f"`{tool}` was missing, so I installed `{pkg}` with {mgr} and re-ran it:\n\n```\n{out}\n```")
    return c.record()


SHELL_CASES = [("ruff check src", "ruff", "pip", "ruff", "src/app/models.py:14:5: F401 `os` imported but unused\nFound 1 error."),
               ("jq '.version' package.json", "jq", "apt", "jq", "\"3.2.0\""),
               ("tokei --sort code", "tokei", "cargo", "tokei", "Language  Files  Lines  Code\nRust         42   8113  6930\nTOML          3    120   101"),
               ("prettier --check src", "prettier", "npm", "prettier", "Checking formatting...\nAll matched files use Prettier code style!"),
               ("mypy app", "mypy", "pip", "mypy", "Success: no issues found in 37 source files")]


def python_exec(r, case):
    q, bad, err, good, out, answer = case
    c = Conv(r, system_for(r))
    c.user(q)
    c.call(("execute_python", {"code": bad, "timeout_seconds": 10}))
    c.results({"stdout": "", "stderr": err, "exit_code": 1})
    c.call(("execute_python", {"code": good, "timeout_seconds": 10}), content="Fixing the error and running again.")
    c.results({"stdout": out, "stderr": "", "exit_code": 0})
    c.say(answer)
    return c.record()


PY_CASES = [
    ("How many primes are there below 1,000,000?",
     "print(sum(1 for n in range(2, 10**6) if all(n % d for d in range(2, int(n**.5) + 1))))",
     "TimeoutError: execution exceeded 10 s",
     "N = 10**6\nsieve = bytearray([1]) * N\nsieve[0:2] = b'\\x00\\x00'\nfor i in range(2, int(N**0.5) + 1):\n    if sieve[i]:\n        sieve[i*i::i] = bytearray(len(range(i*i, N, i)))\nprint(sum(sieve))",
     "78498", "There are **78,498** primes below 1,000,000 (trial division was too slow, so I used a sieve of Eratosthenes)."),
    ("What day of the week was 29 February 2000?",
     "import datetime\nprint(datetime.date(2000, 2, 29).strftime('%A'))\nprint(datetime.date(1900, 2, 29))",
     "ValueError: day is out of range for month",
     "import datetime\nprint(datetime.date(2000, 2, 29).strftime('%A'))",
     "Tuesday", "29 February 2000 was a **Tuesday** (2000 was a leap year; 1900, which I also tried, was not)."),
    ("Compute the SHA-256 of the string 'hello world'.",
     "import hashlib\nprint(hashlib.sha256('hello world').hexdigest())",
     "TypeError: Strings must be encoded before hashing",
     "import hashlib\nprint(hashlib.sha256('hello world'.encode()).hexdigest())",
     "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
     "SHA-256(\"hello world\") = `b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9`."),
    ("What's 2^100 exactly, and how many digits does it have?",
     "x = 2**100\nprint(x, len(x))",
     "TypeError: object of type 'int' has no len()",
     "x = 2**100\nprint(x, len(str(x)))",
     "1267650600228229401496703205376 31",
     "2^100 = **1267650600228229401496703205376**, which has **31** digits."),
    ("Fit a line through (1, 2.1), (2, 3.9), (3, 6.2), (4, 7.8) and give slope and intercept.",
     "import numpy as np\nx = [1, 2, 3, 4]\ny = [2.1, 3.9, 6.2, 7.8]\nm, b = np.polyfit(x, y, deg=1, full=True)\nprint(m, b)",
     "ValueError: too many values to unpack (expected 2)",
     "import numpy as np\nm, b = np.polyfit([1, 2, 3, 4], [2.1, 3.9, 6.2, 7.8], 1)\nprint(round(m, 3), round(b, 3))",
     "1.94 0.15", "Least-squares fit: **y = 1.94·x + 0.15** (slope 1.94, intercept 0.15)."),
]


def api_auth(r, case):
    url, token_hint, body, answer = case
    c = Conv(r, system_for(r))
    c.user(f"Call {url} and tell me what it returns. The token is in the env as {token_hint}.")
    c.call(("http_request", {"method": "GET", "url": url, "timeout_seconds": 15}))
    c.results({"status": 401, "headers": {"www-authenticate": "Bearer"}, "body": "{\"error\":\"missing bearer token\"}"})
    c.call(("http_request", {"method": "GET", "url": url, "headers": {"Authorization": f"Bearer ${{{token_hint}}}", "Accept": "application/json"}, "timeout_seconds": 15}),
           content="It needs a bearer token; retrying with the Authorization header.")
    c.results({"status": 200, "headers": {"content-type": "application/json"}, "body": body})
    c.say(answer)
    return c.record()


API_CASES = [("https://api.internal.example.com/v1/builds?limit=3", "CI_TOKEN",
              "{\"builds\":[{\"id\":8812,\"status\":\"passed\"},{\"id\":8811,\"status\":\"failed\"},{\"id\":8810,\"status\":\"passed\"}]}",
              "The last three builds: #8812 passed, #8811 **failed**, #8810 passed."),
             ("https://billing.example.com/api/invoices/INV-2291", "BILLING_TOKEN",
              "{\"id\":\"INV-2291\",\"amount\":1840.00,\"currency\":\"EUR\",\"status\":\"overdue\",\"due\":\"2025-02-28\"}",
              "Invoice INV-2291: 1,840.00 EUR, **overdue** since 2025-02-28."),
             ("https://status.example.io/api/v2/components", "STATUS_TOKEN",
              "{\"components\":[{\"name\":\"API\",\"status\":\"operational\"},{\"name\":\"Dashboard\",\"status\":\"degraded_performance\"}]}",
              "API is operational; the Dashboard reports **degraded performance**."),
             ("https://api.example.com/v2/users/me", "API_KEY", "{\"id\":42,\"login\":\"jdoe\",\"plan\":\"team\",\"seats\":12}",
              "You're authenticated as **jdoe** (id 42) on the team plan with 12 seats."),
             ("https://inventory.example.net/items?sku=BX-220", "INV_TOKEN", "{\"sku\":\"BX-220\",\"on_hand\":37,\"reserved\":12,\"warehouse\":\"DUS-2\"}",
              "SKU BX-220 has 37 units on hand (12 reserved) in warehouse DUS-2, so 25 are available.")]


def research(r, case):
    q, query, site, results, page, answer = case
    c = Conv(r, system_for(r))
    c.user(q)
    args = {"query": query, "num_results": 5}
    if site:
        args["site"] = site
    c.call(("web_search", args))
    c.results({"results": [{"title": t, "url": u, "snippet": s} for t, u, s in results]})
    c.call(("fetch_webpage", {"url": results[0][1], "max_chars": 8000}), content="The first result looks authoritative; reading it.")
    c.results(page)
    c.say(answer)
    return c.record()


RESEARCH_CASES = [
    ("What's new in Python 3.13?", "What's New In Python 3.13", "docs.python.org",
     [("What's New In Python 3.13", "https://docs.python.org/3/whatsnew/3.13.html", "Summary – release highlights: a new interactive interpreter, free-threaded build..."),
      ("Python 3.13 released", "https://blog.python.org/2024/10/python-3130-final-released.html", "Python 3.13.0 is now available")],
     "# What's New In Python 3.13\n\n## Summary – Release Highlights\n- A new and improved interactive interpreter with multi-line editing and colour.\n- Experimental free-threaded build (PEP 703), which disables the GIL.\n- An experimental JIT compiler (PEP 744).\n- Improved error messages.\n- Removal of many deprecated modules (PEP 594).",
     "Highlights of Python 3.13: a new interactive REPL (multi-line editing, colours), an **experimental free-threaded build without the GIL** (PEP 703), an **experimental JIT** (PEP 744), better error messages, and removal of the long-deprecated \"dead batteries\" modules (PEP 594)."),
    ("Does PostgreSQL 16 support the SQL/JSON JSON_TABLE function?", "PostgreSQL JSON_TABLE version", "postgresql.org",
     [("PostgreSQL 17 Release Notes", "https://www.postgresql.org/docs/17/release-17.html", "Add SQL/JSON constructors and JSON_TABLE()"),
      ("JSON Functions and Operators", "https://www.postgresql.org/docs/16/functions-json.html", "")],
     "# Release 17\n...\n- Add the SQL/JSON JSON_TABLE() function, which converts JSON data to a table representation.\n- Add SQL/JSON query functions JSON_EXISTS(), JSON_QUERY(), JSON_VALUE().",
     "No. `JSON_TABLE()` arrived in **PostgreSQL 17** (together with `JSON_EXISTS`, `JSON_QUERY` and `JSON_VALUE`). On 16 you'd use `jsonb_to_recordset` or `jsonb_array_elements` instead."),
    ("How do I enable HTTP/3 in nginx?", "nginx http3 quic configuration", "nginx.org",
     [("Support for QUIC and HTTP/3", "https://nginx.org/en/docs/quic.html", "Support for QUIC and HTTP/3 protocols is available since 1.25.0")],
     "# Support for QUIC and HTTP/3\nAvailable since 1.25.0. Build with --with-http_v3_module.\n\n    listen 443 quic reuseport;\n    listen 443 ssl;\n    http3 on;\n    add_header Alt-Svc 'h3=\":443\"; ma=86400';",
     "You need nginx **1.25.0+** built with `--with-http_v3_module`. Then in the server block:\n\n```nginx\nlisten 443 quic reuseport;\nlisten 443 ssl;\nhttp3 on;\nadd_header Alt-Svc 'h3=\":443\"; ma=86400';\n```\n\nThe `Alt-Svc` header tells browsers HTTP/3 is available; also open UDP 443 in your firewall."),
    ("What is the default max heap size of the JVM in Java 21?", "JVM default max heap size MaxRAMPercentage", None,
     [("Java ergonomics: default heap size", "https://docs.oracle.com/en/java/javase/21/gctuning/ergonomics.html", "maximum heap size is 1/4 of physical memory")],
     "# Ergonomics\nDefault maximum heap size: one-fourth of the physical memory (MaxRAMPercentage=25). Initial heap: 1/64 of physical memory.",
     "By default the JVM sets the maximum heap to **1/4 of physical (or container) memory** (`-XX:MaxRAMPercentage=25`), and the initial heap to 1/64. Override with `-Xmx` or `-XX:MaxRAMPercentage`."),
    ("Is there an official Rust style guide for formatting?", "Rust style guide rustfmt", "rust-lang.org",
     [("The Rust Style Guide", "https://doc.rust-lang.org/nightly/style-guide/", "This document describes the default Rust style, implemented by rustfmt")],
     "# The Rust Style Guide\nThis document describes the default Rust style... rustfmt implements this style. Indentation: 4 spaces. Max width: 100 characters.",
     "Yes: **The Rust Style Guide** (doc.rust-lang.org/style-guide) defines the default style, and `rustfmt` implements it—4-space indentation, 100-character lines and so on. Run `cargo fmt` to apply it.")]


def sql_recover(r, case):
    q, table, cols, bad, err, good, rows, answer = case
    c = Conv(r, system_for(r))
    c.user(q)
    c.call(("sql_query", {"database": "analytics", "query": bad, "max_rows": 50}))
    c.results({"error": err})
    c.call(("describe_table", {"database": "analytics", "table": table}), content="Let me check the actual column names.")
    c.results({"table": table, "columns": [{"name": n, "type": t} for n, t in cols]})
    c.call(("sql_query", {"database": "analytics", "query": good, "max_rows": 50}))
    c.results({"columns": list(rows[0].keys()), "rows": [list(x.values()) for x in rows], "row_count": len(rows)})
    c.say(answer)
    return c.record()


SQL_CASES = [
    ("How many signups did we get per month this year?", "users", [("id", "bigint"), ("email", "text"), ("created_at", "timestamptz"), ("plan", "text")],
     "SELECT date_trunc('month', signup_date) AS m, count(*) FROM users WHERE signup_date >= '2025-01-01' GROUP BY 1 ORDER BY 1",
     "column \"signup_date\" does not exist",
     "SELECT date_trunc('month', created_at)::date AS month, count(*) AS signups FROM users WHERE created_at >= '2025-01-01' GROUP BY 1 ORDER BY 1",
     [{"month": "2025-01-01", "signups": 1843}, {"month": "2025-02-01", "signups": 2107}, {"month": "2025-03-01", "signups": 961}],
     "Signups in 2025: January **1,843**, February **2,107**, March so far **961** (month to date)."),
    ("Which 3 products had the most returns last quarter?", "returns", [("id", "bigint"), ("product_id", "bigint"), ("returned_at", "timestamptz"), ("reason", "text")],
     "SELECT product, count(*) FROM returns WHERE returned_at >= '2024-10-01' AND returned_at < '2025-01-01' GROUP BY product ORDER BY 2 DESC LIMIT 3",
     "column \"product\" does not exist",
     "SELECT product_id, count(*) AS returns FROM returns WHERE returned_at >= '2024-10-01' AND returned_at < '2025-01-01' GROUP BY product_id ORDER BY returns DESC LIMIT 3",
     [{"product_id": 1182, "returns": 214}, {"product_id": 907, "returns": 163}, {"product_id": 1440, "returns": 151}],
     "Most returned in Q4 2024: product **1182** (214 returns), **907** (163) and **1440** (151)."),
    ("What's the average session length by device type?", "sessions", [("id", "bigint"), ("device", "text"), ("started_at", "timestamptz"), ("ended_at", "timestamptz")],
     "SELECT device_type, avg(duration) FROM sessions GROUP BY device_type",
     "column \"device_type\" does not exist",
     "SELECT device, round(avg(extract(epoch FROM ended_at - started_at)) / 60, 1) AS avg_minutes FROM sessions WHERE ended_at IS NOT NULL GROUP BY device ORDER BY avg_minutes DESC",
     [{"device": "desktop", "avg_minutes": 11.4}, {"device": "tablet", "avg_minutes": 8.2}, {"device": "mobile", "avg_minutes": 5.7}],
     "Average session length: desktop **11.4 min**, tablet **8.2 min**, mobile **5.7 min** (sessions still open are excluded)."),
    ("How much revenue did each plan bring in February?", "payments", [("id", "bigint"), ("account_id", "bigint"), ("plan", "text"), ("amount_cents", "integer"), ("paid_at", "timestamptz")],
     "SELECT plan, sum(amount) FROM payments WHERE paid_at BETWEEN '2025-02-01' AND '2025-02-28' GROUP BY plan",
     "column \"amount\" does not exist",
     "SELECT plan, sum(amount_cents) / 100.0 AS revenue_eur FROM payments WHERE paid_at >= '2025-02-01' AND paid_at < '2025-03-01' GROUP BY plan ORDER BY revenue_eur DESC",
     [{"plan": "enterprise", "revenue_eur": 48200.0}, {"plan": "team", "revenue_eur": 31544.5}, {"plan": "starter", "revenue_eur": 9120.0}],
     "February revenue: enterprise **€48,200.00**, team **€31,544.50**, starter **€9,120.00**. (I also fixed the date range so payments on 28 February after midnight are included.)"),
    ("List the 5 customers with the most open support tickets.", "tickets", [("id", "bigint"), ("customer_id", "bigint"), ("status", "text"), ("opened_at", "timestamptz")],
     "SELECT customer_id, count(*) FROM tickets WHERE state = 'open' GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
     "column \"state\" does not exist",
     "SELECT customer_id, count(*) AS open_tickets FROM tickets WHERE status = 'open' GROUP BY customer_id ORDER BY open_tickets DESC LIMIT 5",
     [{"customer_id": 311, "open_tickets": 17}, {"customer_id": 87, "open_tickets": 12}, {"customer_id": 1204, "open_tickets": 9}, {"customer_id": 56, "open_tickets": 9}, {"customer_id": 930, "open_tickets": 7}],
     "Customers with the most open tickets: **311** (17), **87** (12), **1204** (9), **56** (9), **930** (7)."),
]


def redis_check(r, case):
    key, kind, val, ttl, question = case
    c = Conv(r, system_for(r, 4))
    c.user(question)
    cmd = {"string": "GET", "hash": "HGETALL", "list": "LRANGE", "set": "SMEMBERS"}[kind]
    args = [key] + (["0", "-1"] if kind == "list" else [])
    c.call(("redis_command", {"command": "TYPE", "args": [key]}), ("redis_command", {"command": "TTL", "args": [key]}))
    c.results({"result": kind}, {"result": ttl})
    c.call(("redis_command", {"command": cmd, "args": args}))
    c.results({"result": val})
    ttl_txt = "no expiry" if ttl == -1 else f"expires in {ttl} s"
    c.say(f"`{key}` is a {kind} ({ttl_txt}). Value: `{val}`.")
    return c.record()


REDIS_CASES = [("session:8f3a91", "hash", {"user_id": "4412", "role": "admin", "ip": "10.2.3.4"}, 1675, "What's in session 8f3a91 and when does it expire?"),
               ("feature_flags", "set", ["new_checkout", "dark_mode", "beta_search"], -1, "Which feature flags are on?"),
               ("rate:api:key_77", "string", "942", 38, "How many requests has key_77 made in the current window?"),
               ("queue:emails", "list", ["job:1191", "job:1192", "job:1195"], -1, "Is the email queue backed up?"),
               ("cache:homepage:v3", "string", "<html>…</html>", 12, "Is the homepage cache about to expire?")]


def k8s_crashloop(r, case):
    ns, app, reason, logline, fix = case
    c = Conv(r, system_for(r, 4))
    c.user(f"The {app} service in {ns} is down. What's going on?")
    c.call(("kubectl_get", {"resource": "pods", "namespace": ns, "label_selector": f"app={app}"}))
    pod = f"{app}-{r.randint(5, 9)}d{r.randint(100, 999)}c-{''.join(r.choice('abcdefghjkmnpqrstvwxz') for _ in range(5))}"
    restarts = r.randint(4, 37)
    c.results({"items": [{"name": pod, "ready": "0/1", "status": "CrashLoopBackOff", "restarts": restarts, "age": f"{r.randint(1, 50)}m"}]})
    c.call(("kubectl_logs", {"pod": pod, "namespace": ns, "previous": True, "tail_lines": 50}),
           reasoning="CrashLoopBackOff: the interesting logs are those of the previous, crashed container.")
    c.results(f"2025-03-14T10:{r.randint(10, 59)}:02Z INFO starting {app}\n{logline}\n")
    c.say(f"`{pod}` is in **CrashLoopBackOff** ({restarts} restarts). The previous container crashed with:\n\n```\n{logline}\n```\n\n{reason} {fix}")
    return c.record()


K8S_CASES = [("payments", "ledger-api", "The app can't reach its database: the `DATABASE_URL` secret points to a host that doesn't resolve.", "FATAL: could not translate host name \"pg-ledger.payments.svc\" to address", "Check the secret `ledger-db` (the service may have been renamed to `pg-ledger-primary`) and restart the deployment."),
             ("web", "frontend", "The container is killed for memory.", "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", "Raise the memory limit or set `NODE_OPTIONS=--max-old-space-size` below the limit."),
             ("search", "indexer", "A required environment variable is missing.", "panic: required env var OPENSEARCH_URL is not set", "The last deploy dropped `OPENSEARCH_URL` from the ConfigMap; add it back."),
             ("auth", "token-service", "The service can't read its signing key.", "Error: ENOENT: no such file or directory, open '/etc/keys/jwt.pem'", "The secret volume isn't mounted at `/etc/keys`; check the volumeMounts in the deployment."),
             ("data", "etl-runner", "A migration is failing at startup.", "alembic.util.exc.CommandError: Can't locate revision identified by '4f1c2d9a'", "The image is older than the database schema; deploy the image that contains revision 4f1c2d9a.")]


def scale_service(r, case):
    ns, dep, cur, target, why = case
    c = Conv(r, system_for(r, 4))
    c.user(f"Scale {dep} in {ns} to {target} replicas{why}.")
    c.call(("kubectl_get", {"resource": "deployments", "namespace": ns, "name": dep}))
    c.results({"items": [{"name": dep, "ready": f"{cur}/{cur}", "up_to_date": cur, "available": cur}]})
    c.call(("scale_deployment", {"name": dep, "namespace": ns, "replicas": target}),
           content=f"{dep} currently runs {cur} replicas; scaling to {target}.")
    c.results({"name": dep, "replicas": target, "ok": True})
    c.call(("slack_post_message", {"channel": "#ops", "text": f":arrows_counterclockwise: scaled `{ns}/{dep}` from {cur} to {target} replicas{why}."}))
    c.results({"ok": True, "ts": f"17419{r.randint(10000, 99999)}.00{r.randint(1000, 9999)}"})
    c.say(f"Scaled `{ns}/{dep}` from {cur} to **{target}** replicas and posted a note in #ops.")
    return c.record()


SCALE_CASES = [("shop", "checkout", 3, 8, " for the sale tonight"), ("batch", "report-worker", 6, 0, " (pausing it)"),
               ("api", "gateway", 4, 6, ""), ("ml", "embedder", 2, 4, " because the queue is growing"), ("web", "frontend", 10, 5, " after the launch peak")]


def docker_debug(r, case):
    name, err, cause = case
    c = Conv(r, system_for(r, 3))
    c.user(f"My {name} container keeps stopping, can you check?")
    c.call(("docker_ps", {"all": True, "filter": f"name={name}"}))
    cid = "".join(r.choice("0123456789abcdef") for _ in range(12))
    c.results({"containers": [{"id": cid, "name": name, "image": f"{name}:latest", "status": f"Exited (1) {r.randint(1, 59)} minutes ago"}]})
    c.call(("docker_logs", {"container": cid, "tail": 30}))
    c.results(err)
    c.say(f"The container exits with status 1. From the logs:\n\n```\n{err.strip().splitlines()[-1]}\n```\n\n{cause}")
    return c.record()


DOCKER_CASES = [("postgres", "PostgreSQL Database directory appears to contain a database; Skipping initialization\nFATAL:  data directory \"/var/lib/postgresql/data\" has invalid permissions\n", "The data volume has the wrong ownership/permissions: it must be owned by the postgres user with mode 0700. Fix with `chown -R 999:999` on the host directory (or use a named volume)."),
                ("api", "Listening on 0.0.0.0:8000\nError: listen EADDRINUSE: address already in use :::8000\n", "Port 8000 is already taken inside the container—probably two processes start on the same port. Check the CMD/entrypoint, or set a different PORT."),
                ("worker", "celery@worker ready.\nconsumer: Cannot connect to redis://redis:6379/0: Error -2 connecting to redis:6379. Name or service not known.\n", "The worker can't resolve `redis`: it isn't on the same Docker network as the Redis container. Put both in the same compose project or network."),
                ("nginx", "nginx: [emerg] unknown directive \"proxy_passs\" in /etc/nginx/conf.d/default.conf:14\n", "There's a typo in the config: `proxy_passs` on line 14 of default.conf should be `proxy_pass`. Run `nginx -t` after fixing."),
                ("grafana", "GF_PATHS_DATA='/var/lib/grafana' is not writable.\nmkdir: can't create directory '/var/lib/grafana/plugins': Permission denied\n", "The mounted data directory isn't writable by Grafana's user (uid 472). `chown -R 472:0` on the host directory fixes it.")]


def incident_metrics(r, case):
    svc, query, vals, threshold, unit = case
    c = Conv(r, system_for(r, 4))
    c.user(f"Is {svc} healthy? If the error rate is above {threshold}{unit} in the last hour, open an incident ticket.")
    c.call(("query_metrics", {"query": query, "start": "now-1h", "end": "now", "step_seconds": 300}))
    c.results({"series": [{"labels": {"service": svc}, "values": [[f"10:{i * 5:02d}", v] for i, v in enumerate(vals)]}]})
    peak = max(vals)
    if peak > threshold:
        c.call(("jira_create_issue", {"project": "OPS", "summary": f"{svc}: error rate {peak}{unit} (threshold {threshold}{unit})",
                                      "description": f"Error rate over the last hour peaked at {peak}{unit}; latest {vals[-1]}{unit}.\nQuery: {query}",
                                      "issue_type": "Incident", "priority": "High" if peak < 3 * threshold else "Highest", "labels": ["auto", svc]}),
               content=f"Peak error rate {peak}{unit} is above the threshold. Opening an incident.")
        key = f"OPS-{r.randint(1000, 4999)}"
        c.results({"key": key, "url": f"https://jira.example.com/browse/{key}"})
        c.say(f"Not healthy: the error rate peaked at **{peak}{unit}** (latest {vals[-1]}{unit}), above your {threshold}{unit} threshold. I opened **{key}**.")
    else:
        c.say(f"Healthy: the error rate stayed at or below {peak}{unit} over the last hour (threshold {threshold}{unit}), so no ticket.")
    return c.record()


METRIC_CASES = [("checkout", "sum(rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[5m])) / sum(rate(http_requests_total{service=\"checkout\"}[5m])) * 100", [0.2, 0.3, 0.2, 4.8, 6.1, 5.5, 2.0, 0.4, 0.3, 0.3, 0.2, 0.2], 1, "%"),
                ("search", "sum(rate(search_errors_total[5m])) / sum(rate(search_requests_total[5m])) * 100", [0.1, 0.1, 0.2, 0.1, 0.1, 0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.1], 1, "%"),
                ("login", "sum(rate(auth_failures_total{reason!=\"bad_password\"}[5m])) * 60", [3, 2, 4, 3, 2, 48, 61, 57, 40, 5, 3, 2], 20, "/min"),
                ("media-upload", "sum(rate(upload_errors_total[5m])) / sum(rate(upload_requests_total[5m])) * 100", [1.1, 1.3, 1.2, 1.4, 1.2, 1.5, 1.3, 1.2, 1.4, 1.6, 1.5, 1.4], 2, "%"),
                ("notifications", "sum(rate(push_failed_total[5m])) / sum(rate(push_sent_total[5m])) * 100", [0.5, 0.4, 2.9, 3.4, 3.1, 3.0, 3.2, 3.3, 2.8, 3.1, 3.0, 2.9], 2.5, "%")]


def cert_dns(r, case):
    host, expiry_days, ip = case
    c = Conv(r, system_for(r, 4))
    c.user(f"Check {host}: does DNS resolve and when does its certificate expire?")
    c.call(("dns_lookup", {"hostname": host, "record_type": "A"}), ("check_ssl_certificate", {"host": host, "port": 443}))
    if ip is None:
        c.results({"error": "NXDOMAIN", "hostname": host}, {"error": f"getaddrinfo ENOTFOUND {host}"})
        c.call(("dns_lookup", {"hostname": host, "record_type": "CNAME"}), content="No A record; checking for a CNAME.")
        c.results({"answers": []})
        c.say(f"`{host}` doesn't resolve at all (NXDOMAIN, no A or CNAME record), so there's no certificate to check. The record may have been deleted or never created.")
    else:
        c.results({"answers": [{"type": "A", "value": ip, "ttl": 300}]},
                  {"subject": host, "issuer": r.choice(["Let's Encrypt R11", "DigiCert TLS RSA SHA256 2020 CA1", "Sectigo RSA Domain Validation"]),
                   "days_remaining": expiry_days, "sans": [host, "www." + host.split(".", 1)[-1]]})
        warn = " — that's soon, renew it now." if expiry_days < 14 else "."
        c.say(f"`{host}` resolves to {ip}. The certificate expires in **{expiry_days} days**{warn}")
    return c.record()


CERT_CASES = [("shop.example.com", 9, "203.0.113.24"), ("api.example.org", 74, "198.51.100.7"), ("legacy.example.net", 0, None),
              ("docs.example.io", 41, "192.0.2.15"), ("status.example.dev", 3, "203.0.113.90")]


def pr_review(r, case):
    repo, prs, pick, files, verdict = case
    c = Conv(r, system_for(r, 3))
    c.user(f"What open PRs are there in {repo}? Give me a summary of the biggest one.")
    c.call(("github_list_pull_requests", {"repo": repo, "state": "open", "limit": 10}))
    c.results({"pull_requests": [{"number": n, "title": t, "author": a, "additions": ad, "deletions": de} for n, t, a, ad, de in prs]})
    big = max(prs, key=lambda p: p[3] + p[4])
    c.call(("github_get_pull_request", {"repo": repo, "number": big[0], "include_diff": False}))
    c.results({"number": big[0], "title": big[1], "mergeable": True, "reviews": [{"user": "maintainer1", "state": "COMMENTED"}],
               "files": [{"path": p, "additions": a, "deletions": d} for p, a, d in files], "checks": {"passed": 11, "failed": 0}})
    c.say(f"{len(prs)} open PRs:\n\n" + "\n".join(f"- #{n} {t} (@{a}, +{ad}/−{de})" for n, t, a, ad, de in prs) +
          f"\n\nThe biggest is **#{big[0]} {big[1]}**: it touches " + ", ".join(f"`{p}`" for p, _, _ in files) + f". CI is green and it has one comment review. {verdict}")
    return c.record()


PR_CASES = [("acme/webshop", [(412, "Add wishlist feature", "lina-dev", 640, 85), (415, "Fix typo in footer", "bot", 1, 1), (416, "Bump eslint", "deps-bot", 30, 30)], 412,
             [("src/wishlist/api.ts", 220, 0), ("src/wishlist/Wishlist.tsx", 310, 0), ("src/db/migrations/0042_wishlist.sql", 40, 0)], "It adds a new table, so it needs a migration review before merging."),
            ("acme/ingest", [(88, "Switch to async S3 client", "pkumar", 410, 390), (90, "Add retries to Kafka producer", "jn", 95, 12)], 88,
             [("ingest/s3.py", 260, 250), ("ingest/worker.py", 120, 110), ("tests/test_s3.py", 30, 30)], "Mostly a mechanical port; worth checking error handling around multipart uploads."),
            ("acme/mobile", [(1021, "Offline mode for notes", "eva", 1320, 210), (1024, "Update app icon", "design", 12, 12)], 1021,
             [("lib/sync/queue.dart", 540, 20), ("lib/notes/repository.dart", 480, 150), ("test/sync_test.dart", 300, 40)], "Large change; I'd ask for the sync queue to be reviewed separately."),
            ("acme/infra", [(233, "Terraform: add staging VPC", "ops-kim", 380, 0), (234, "Rotate CI secrets", "ops-kim", 8, 8), (236, "Remove old ELB", "raj", 0, 120)], 233,
             [("envs/staging/vpc.tf", 210, 0), ("modules/network/main.tf", 170, 0)], "Pure addition; check the CIDR ranges don't overlap production."),
            ("acme/cli", [(57, "Add --json output", "tz", 150, 20), (58, "Shell completions", "tz", 320, 5)], 58,
             [("cmd/completion.go", 200, 0), ("docs/completion.md", 120, 5)], "Low risk; mostly generated completion scripts and docs.")]


def ticket_from_bug(r, case):
    repo, report, title, labels = case
    c = Conv(r, system_for(r, 3))
    c.user(f"A user reported this, please file it in {repo}:\n\n> {report}")
    c.call(("github_create_issue", {"repo": repo, "title": title, "body": f"Reported by a user:\n\n> {report}\n\n**Steps to reproduce**: see report.\n**Expected**: no error.\n", "labels": labels}))
    num = r.randint(100, 3000)
    c.results({"number": num, "url": f"https://github.com/{repo}/issues/{num}"})
    c.say(f"Filed as **#{num}** \"{title}\" with labels {', '.join(labels)}.")
    return c.record()


TICKET_CASES = [("acme/webshop", "When I add more than 99 items to the cart the total shows NaN.", "Cart total shows NaN above 99 items", ["bug", "cart"]),
                ("acme/mobile", "App crashes on Android 14 when I rotate the screen on the settings page.", "Crash on rotation in settings (Android 14)", ["bug", "android", "crash"]),
                ("acme/cli", "`acme login --sso` hangs forever if the browser is closed.", "login --sso hangs when the browser window is closed", ["bug", "auth"]),
                ("acme/docs", "The example in the quickstart uses an API key format that no longer works.", "Quickstart uses outdated API key format", ["docs"]),
                ("acme/ingest", "Files with spaces in their names are uploaded with %20 in the S3 key.", "S3 keys contain %20 for file names with spaces", ["bug", "s3"])]


def jira_report(r, case):
    jql, issues, ask = case
    c = Conv(r, system_for(r))
    c.user(ask)
    c.call(("jira_search", {"jql": jql, "max_results": 20, "fields": ["summary", "status", "assignee", "priority"]}))
    c.results({"total": len(issues), "issues": [{"key": k, "summary": s, "status": st, "assignee": a, "priority": p} for k, s, st, a, p in issues]})
    c.say(f"{len(issues)} issues:\n\n" + "\n".join(f"- **{k}** {s} — {st}, {a or 'unassigned'}, {p}" for k, s, st, a, p in issues))
    return c.record()


JIRA_CASES = [("project = OPS AND status != Done AND priority in (High, Highest) ORDER BY priority DESC",
               [("OPS-2231", "Disk filling on db-3", "In Progress", "kim", "Highest"), ("OPS-2240", "Renew wildcard cert", "To Do", None, "High")], "What high-priority ops tickets are still open?"),
              ("assignee = currentUser() AND sprint in openSprints()", [("WEB-881", "Wishlist API", "In Review", "me", "Medium"), ("WEB-890", "Fix footer links", "To Do", "me", "Low"), ("WEB-893", "Cart NaN bug", "In Progress", "me", "High")], "What's on my plate this sprint?"),
              ("project = MOB AND type = Bug AND created >= -7d", [("MOB-402", "Crash on rotation", "To Do", None, "High")], "Any new mobile bugs this week?"),
              ("labels = security AND status != Done", [("SEC-77", "Rotate leaked token", "In Progress", "raj", "Highest"), ("SEC-79", "Enable MFA for admins", "To Do", "lea", "High"), ("SEC-80", "Dependency audit", "To Do", None, "Medium")], "Open security work?"),
              ("project = DATA AND status = Blocked", [("DATA-150", "Backfill 2023 events", "Blocked", "ivo", "Medium")], "Is anything blocked in the data team?")]


def docs_lookup(r, case):
    lib, query, found, answer = case
    c = Conv(r, system_for(r))
    c.user(query)
    c.call(("search_docs", {"library": lib, "query": query}))
    c.results({"results": [{"title": t, "url": u, "excerpt": e} for t, u, e in found]})
    c.say(answer)
    return c.record()


DOCS_CASES = [("pandas", "How do I read only some columns from a big CSV with pandas?", [("pandas.read_csv", "https://pandas.pydata.org/docs/reference/api/pandas.read_csv.html", "usecols: list-like or callable. Return a subset of the columns.")],
               "Use `usecols`:\n\n```python\nimport pandas as pd\ndf = pd.read_csv(\"big.csv\", usecols=[\"id\", \"price\", \"created_at\"])\n```\n\nOnly those columns are parsed, which saves memory and time; add `dtype=` for further savings and `chunksize=` to stream the file."),
              ("react", "How to run an effect only once on mount in React?", [("useEffect", "https://react.dev/reference/react/useEffect", "If you pass an empty dependency array, the Effect runs only after the initial render.")],
               "Pass an empty dependency array:\n\n```jsx\nuseEffect(() => {\n  const id = subscribe();\n  return () => unsubscribe(id);\n}, []);\n```\n\nNote that in development with Strict Mode React mounts twice on purpose, so the effect (and its cleanup) runs twice there."),
              ("git", "How do I undo the last commit but keep the changes?", [("git-reset", "https://git-scm.com/docs/git-reset", "--soft: Does not touch the index file or the working tree at all")],
               "`git reset --soft HEAD~1` moves the branch back one commit and keeps the changes staged. Use `git reset HEAD~1` (mixed) to keep them unstaged. If the commit was already pushed, prefer `git revert HEAD`."),
              ("tokio", "How do I run a blocking function inside tokio?", [("spawn_blocking", "https://docs.rs/tokio/latest/tokio/task/fn.spawn_blocking.html", "Runs the provided closure on a thread where blocking is acceptable.")],
               "Use `tokio::task::spawn_blocking`:\n\n```rust\nlet digest = tokio::task::spawn_blocking(move || expensive_hash(&data)).await?;\n```\n\nIt runs the closure on a dedicated blocking thread pool so the async worker threads aren't stalled."),
              ("postgresql", "How do I see which queries are running right now in Postgres?", [("pg_stat_activity", "https://www.postgresql.org/docs/current/monitoring-stats.html", "One row per server process, showing information related to the current activity of that process")],
               "Query `pg_stat_activity`:\n\n```sql\nSELECT pid, now() - query_start AS runtime, state, query\nFROM pg_stat_activity\nWHERE state <> 'idle'\nORDER BY runtime DESC;\n```\n\n`pg_cancel_backend(pid)` cancels a query; `pg_terminate_backend(pid)` ends the connection.")]


def deps_audit(r, case):
    manifest, vulns, mgr, fixes = case
    c = Conv(r, system_for(r, 3))
    c.user(f"Audit the dependencies in {manifest} and fix anything high or critical.")
    c.call(("audit_dependencies", {"manifest": manifest, "min_severity": "high"}))
    c.results({"vulnerabilities": [{"package": p, "installed": i, "severity": s, "advisory": a, "fixed_in": f} for p, i, s, a, f in vulns]})
    c.call(("install_packages", {"manager": mgr, "packages": fixes}), content=f"{len(vulns)} findings; upgrading to the fixed versions.")
    c.results({"installed": fixes, "ok": True})
    c.call(("audit_dependencies", {"manifest": manifest, "min_severity": "high"}))
    c.results({"vulnerabilities": []})
    c.say("Upgraded " + ", ".join(f"`{x}`" for x in fixes) + "; a second audit reports no high or critical issues.")
    return c.record()


AUDIT_CASES = [("package.json", [("lodash", "4.17.15", "high", "Prototype pollution", "4.17.21")], "npm", ["lodash@4.17.21"]),
               ("requirements.txt", [("requests", "2.25.0", "high", "Proxy-Authorization header leak", "2.31.0"), ("jinja2", "2.11.2", "high", "Sandbox escape", "3.1.4")], "pip", ["requests>=2.31.0", "jinja2>=3.1.4"]),
               ("Cargo.toml", [("openssl", "0.10.45", "high", "Use-after-free in X509", "0.10.55")], "cargo", ["openssl@0.10.55"]),
               ("package.json", [("axios", "1.6.2", "high", "SSRF via absolute URL", "1.7.4"), ("semver", "5.7.1", "high", "ReDoS", "5.7.2")], "npm", ["axios@1.7.4", "semver@5.7.2"]),
               ("requirements.txt", [("pillow", "9.0.0", "critical", "Arbitrary code execution in PIL.ImageMath", "10.3.0")], "pip", ["pillow>=10.3.0"])]


def pkg_compare(r, case):
    eco, names, ask = case
    c = Conv(r, system_for(r))
    c.user(ask)
    c.call(*[("package_info", {"ecosystem": eco, "name": n}) for n in names])
    infos = [{"name": n, "latest": f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}", "license": r.choice(["MIT", "Apache-2.0", "BSD-3-Clause"]),
              "weekly_downloads": r.randint(10, 5000) * 1000, "dependencies": r.randint(0, 12), "last_release_days": r.randint(3, 700)} for n in names]
    c.results(*infos)
    best = max(infos, key=lambda x: (x["last_release_days"] < 365, x["weekly_downloads"]))
    c.say("| package | latest | license | weekly downloads | deps | last release |\n|---|---|---|---|---|---|\n" +
          "\n".join(f"| {i['name']} | {i['latest']} | {i['license']} | {i['weekly_downloads']:,} | {i['dependencies']} | {i['last_release_days']} days ago |" for i in infos) +
          f"\n\n**{best['name']}** is the most widely used of those released within the last year.")
    return c.record()


PKG_CASES = [("npm", ["date-fns", "dayjs", "luxon"], "Which date library should I use in a new JS project: date-fns, dayjs or luxon?"),
             ("pypi", ["httpx", "requests", "aiohttp"], "Compare httpx, requests and aiohttp."),
             ("crates", ["clap", "argh"], "clap or argh for a Rust CLI?"),
             ("pypi", ["polars", "pandas"], "polars vs pandas, what do the numbers say?"),
             ("npm", ["zod", "yup", "joi"], "Which schema validation lib is most popular: zod, yup, joi?")]


def cloud_inventory(r, case):
    region, env, bucket, prefix = case
    c = Conv(r, system_for(r, 4))
    c.user(f"How many {env} instances are running in {region}, and what's in s3://{bucket}/{prefix}?")
    c.call(("ec2_describe_instances", {"region": region, "filters": {"tag:env": [env], "instance-state-name": ["running"]}}),
           ("s3_list_objects", {"bucket": bucket, "prefix": prefix, "max_keys": 100}))
    n = r.randint(2, 6)
    types = [r.choice(["t3.medium", "m6i.large", "c6g.xlarge", "r6i.2xlarge"]) for _ in range(n)]
    objs = [{"key": f"{prefix}{d}.parquet", "size": r.randint(10, 900) * 1024 * 1024} for d in ["2025-03-10", "2025-03-11", "2025-03-12", "2025-03-13"][:r.randint(2, 4)]]
    c.results({"instances": [{"id": f"i-0{r.randint(10 ** 15, 10 ** 16 - 1):x}"[:19], "type": t, "state": "running"} for t in types]},
              {"objects": objs, "is_truncated": False})
    tot = sum(o["size"] for o in objs) / 1024 ** 3
    from collections import Counter
    cnt = Counter(types)
    c.say(f"**{n} running {env} instances** in {region} (" + ", ".join(f"{v}× {k}" for k, v in cnt.items()) +
          f").\n\ns3://{bucket}/{prefix} holds {len(objs)} objects, {tot:.2f} GiB in total: " + ", ".join(f"`{o['key']}`" for o in objs) + ".")
    return c.record()


CLOUD_CASES = [("eu-west-1", "prod", "acme-data-lake", "events/daily/"), ("us-east-1", "staging", "acme-exports", "reports/2025/"),
               ("eu-central-1", "prod", "acme-backups", "pg/ledger/"), ("ap-southeast-2", "dev", "acme-ml", "features/"),
               ("us-west-2", "prod", "acme-logs-archive", "alb/")]


def scaffold_files(r, case):
    proj, files = case
    c = Conv(r, system_for(r, 3))
    c.user(f"Set up a minimal {proj} project here.")
    c.call(("list_directory", {"path": ".", "include_hidden": True}))
    c.results({"entries": [{"name": ".git", "type": "dir"}]})
    c.call(*[("write_file", {"path": p, "content": t}) for p, t in files], content="The directory is empty apart from .git; creating the files.")
    c.results(*[{"ok": True, "bytes": len(t.encode())} for _, t in files])
    c.call(("list_directory", {"path": ".", "recursive": True}))
    c.results({"entries": [{"name": p, "type": "file"} for p, _ in files]})
    c.say("Created:\n\n" + "\n".join(f"- `{p}`" for p, _ in files))
    return c.record()


SCAFFOLD_CASES = [("Python package", [("pyproject.toml", "[project]\nname = \"demo\"\nversion = \"0.1.0\"\nrequires-python = \">=3.10\"\n\n[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n"),
                                      ("src/demo/__init__.py", "__version__ = \"0.1.0\"\n"), ("tests/test_version.py", "from demo import __version__\n\n\ndef test_version():\n    assert __version__ == \"0.1.0\"\n")]),
                  ("Go module", [("go.mod", "module example.com/demo\n\ngo 1.22\n"), ("main.go", "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n")]),
                  ("Node/TypeScript", [("package.json", "{\n  \"name\": \"demo\",\n  \"version\": \"0.1.0\",\n  \"type\": \"module\",\n  \"scripts\": { \"build\": \"tsc\", \"test\": \"vitest\" }\n}\n"),
                                       ("tsconfig.json", "{\n  \"compilerOptions\": { \"target\": \"ES2022\", \"module\": \"NodeNext\", \"strict\": true, \"outDir\": \"dist\" }\n}\n"),
                                       ("src/index.ts", "export const greet = (name: string): string => `hello ${name}`;\n")]),
                  ("Rust binary", [("Cargo.toml", "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n"), ("src/main.rs", "fn main() {\n    println!(\"hello\");\n}\n")]),
                  ("C with Makefile", [("Makefile", "CFLAGS ?= -std=c11 -Wall -Wextra -O2\n\ndemo: main.o\n\t$(CC) $(CFLAGS) -o $@ $^\n\nclean:\n\trm -f demo *.o\n"), ("main.c", "#include <stdio.h>\n\nint main(void)\n{\n    puts(\"hello\");\n    return 0;\n}\n")])]


def big_file_read(r, case):
    path, ask, lines, start, answer = case
    c = Conv(r, system_for(r, 3))
    c.user(ask)
    c.call(("read_file", {"path": path, "limit": 40}))
    c.results({"error": f"{path} has {r.randint(5000, 90000)} lines; use offset/limit to read a window, or search first"})
    c.call(("search_files", {"pattern": lines[0].split("(")[0].strip().split()[-1], "path": path.rsplit("/", 1)[0] if "/" in path else ".", "max_results": 5}),
           content="The file is large; searching for the relevant part first.")
    c.results({"matches": [{"path": path, "line": start, "text": lines[0]}]})
    c.call(("read_file", {"path": path, "offset": start, "limit": len(lines) + 5}))
    c.results("\n".join(f"{start + i:>6}\t{t}" for i, t in enumerate(lines)))
    c.say(answer)
    return c.record()


BIGFILE_CASES = [("vendor/sqlite3.c", "How does sqlite3 decide the page size default? Look in vendor/sqlite3.c.",
                  ["# define SQLITE_DEFAULT_PAGE_SIZE 4096", "#endif", "#if SQLITE_DEFAULT_PAGE_SIZE>SQLITE_MAX_PAGE_SIZE", "# undef SQLITE_DEFAULT_PAGE_SIZE", "# define SQLITE_DEFAULT_PAGE_SIZE SQLITE_MAX_PAGE_SIZE", "#endif"], 14251,
                  "The default page size is **4096 bytes** (`SQLITE_DEFAULT_PAGE_SIZE`), unless overridden at compile time; if it were larger than `SQLITE_MAX_PAGE_SIZE` it would be clamped to that maximum."),
                 ("logs/app-2025-03-13.log", "Find the first OutOfMemoryError in yesterday's log and tell me what was running.",
                  ["2025-03-13 22:41:07 ERROR [report-export-7] java.lang.OutOfMemoryError: Java heap space", "    at java.util.Arrays.copyOf(Arrays.java:3537)", "    at com.acme.reports.CsvExporter.append(CsvExporter.java:88)", "    at com.acme.reports.ExportJob.run(ExportJob.java:41)"], 58102,
                  "The first OOM was at **22:41:07** in thread `report-export-7`: `CsvExporter.append` (line 88) was growing an in-memory buffer during an `ExportJob`. The exporter seems to build the whole CSV in memory; streaming it to the output would fix this."),
                 ("data/schema.sql", "Where's the orders table defined in data/schema.sql and what's its primary key?",
                  ["CREATE TABLE orders (", "    id BIGINT GENERATED ALWAYS AS IDENTITY,", "    tenant_id INT NOT NULL,", "    placed_at TIMESTAMPTZ NOT NULL,", "    PRIMARY KEY (tenant_id, id)", ");"], 2210,
                  "`orders` is defined at line 2210. Its primary key is composite: **(tenant_id, id)**, so lookups by `id` alone can't use the PK index efficiently."),
                 ("src/generated/api_client.ts", "In the generated API client, what does the retry logic do?",
                  ["  private async retryRequest(req: Request, attempt = 1): Promise<Response> {", "    const res = await fetch(req.clone());", "    if (res.status === 503 && attempt < 4) {", "      await sleep(200 * 2 ** attempt);", "      return this.retryRequest(req, attempt + 1);", "    }", "    return res;", "  }"], 12877,
                  "`retryRequest` only retries **HTTP 503**, up to 3 retries (4 attempts), with exponential backoff of 400, 800 and 1600 ms. Other errors, including network failures (which throw), are not retried.")]


SCENARIOS_B = [(fix_bug_agent, FIX_CASES), (git_commit_flow, GIT_CASES), (git_branch_recover, BRANCH_CASES),
               (shell_missing_tool, SHELL_CASES), (python_exec, PY_CASES), (api_auth, API_CASES), (research, RESEARCH_CASES),
               (sql_recover, SQL_CASES), (redis_check, REDIS_CASES), (k8s_crashloop, K8S_CASES), (scale_service, SCALE_CASES),
               (docker_debug, DOCKER_CASES), (incident_metrics, METRIC_CASES), (cert_dns, CERT_CASES), (pr_review, PR_CASES),
               (ticket_from_bug, TICKET_CASES), (jira_report, JIRA_CASES), (docs_lookup, DOCS_CASES), (deps_audit, AUDIT_CASES),
               (pkg_compare, PKG_CASES), (cloud_inventory, CLOUD_CASES), (scaffold_files, SCAFFOLD_CASES), (big_file_read, BIGFILE_CASES)]

# tool_scenarios_c.py: tool-calling scenarios added in the second round, authored for reap:
# test-fix loops, failed edits, HTTP retries, SQL permission and syntax errors, release notes,
# scheduling, travel searches that need a corrected argument, ticket de-duplication and
# dependency conflicts. Most have an error or an empty result followed by a recovery.
from conv import Conv, system_for


def test_fix_loop(r, case):
    ask, test_path, failure, src, src_lines, old, new, explain = case
    c = Conv(r, system_for(r, 3))
    c.user(ask)
    c.call(("run_tests", {"path": test_path, "verbose": True}),
           reasoning="Run the tests first to see the actual failure before touching any code.")
    n = r.randint(8, 60)
    c.results({"passed": n - 1, "failed": 1, "skipped": 0, "failures": [failure]})
    c.call(("read_file", {"path": src}), content="One failure. Reading the code under test.")
    c.results("\n".join(f"{i + 1:>5}\t{t}" for i, t in enumerate(src_lines)))
    c.call(("edit_file", {"path": src, "old_text": old, "new_text": new}), content=explain)
    c.results({"ok": True, "replacements": 1})
    c.call(("run_tests", {"path": test_path}))
    c.results({"passed": n, "failed": 0, "skipped": 0, "duration_seconds": round(r.uniform(0.3, 6), 2)})
    c.say(f"{explain}\n\nThe change is in `{src}`; all {n} tests in `{test_path}` pass now.")
    return c.record()


TEST_FIX_CASES = [
    ("The test suite is red since this morning, please fix it.", "tests/test_money.py",
     {"test": "test_money.py::test_split_rounding", "message": "AssertionError: assert [Decimal('3.33'), Decimal('3.33'), Decimal('3.33')] == [Decimal('3.34'), Decimal('3.33'), Decimal('3.33')]"},
     "app/money.py",
     ["from decimal import Decimal, ROUND_DOWN", "", "def split(total, parts):",
      "    share = (total / parts).quantize(Decimal('0.01'), rounding=ROUND_DOWN)",
      "    return [share] * parts"],
     "    return [share] * parts",
     "    rest = total - share * parts\n    cents = int(rest / Decimal('0.01'))\n    return [share + Decimal('0.01')] * cents + [share] * (parts - cents)",
     "`split` rounded every share down and dropped the leftover cents, so the parts no longer added up to the total. The leftover cents now go to the first parts."),
    ("CI fails on the slug test. Can you look?", "src/slug.test.js",
     {"test": "slugify > collapses repeated separators", "message": "Expected: \"a-b\"\nReceived: \"a--b\""},
     "src/slug.js",
     ["export function slugify(s) {", "  return s.toLowerCase().trim().replace(/[^a-z0-9]/g, \"-\");", "}"],
     ".replace(/[^a-z0-9]/g, \"-\")", ".replace(/[^a-z0-9]+/g, \"-\").replace(/^-|-$/g, \"\")",
     "The regex replaced every single non-alphanumeric character with a hyphen, so runs like \" - \" became several hyphens. Matching runs (`+`) and trimming hyphens at the ends fixes it."),
    ("One Go test keeps failing: TestParsePort. Fix it please.", "./internal/config/...",
     {"test": "TestParsePort/max", "message": "config_test.go:31: ParsePort(\"65535\") error = port out of range, want nil"},
     "internal/config/port.go",
     ["func ParsePort(s string) (int, error) {", "\tp, err := strconv.Atoi(s)", "\tif err != nil || p < 1 || p >= 65535 {",
      "\t\treturn 0, errors.New(\"port out of range\")", "\t}", "\treturn p, nil", "}"],
     "p >= 65535", "p > 65535",
     "The range check rejected 65535, which is a valid port. The upper bound is inclusive, so the comparison must be `p > 65535`."),
    ("test_dates is failing after the DST change, can you fix the code?", "tests/test_dates.py",
     {"test": "test_dates.py::test_days_between_across_dst", "message": "AssertionError: assert 29 == 30"},
     "app/dates.py",
     ["def days_between(a, b):", "    return int((b - a).total_seconds() // 86400)"],
     "    return int((b - a).total_seconds() // 86400)", "    return (b.date() - a.date()).days",
     "Counting 86,400-second blocks between two local datetimes loses a day when the range contains a 23-hour DST day. Subtracting the calendar dates counts days directly."),
    ("Fix the failing Rust test in the tokenizer crate.", "crates/tokenizer",
     {"test": "tests::splits_on_unicode_whitespace", "message": "assertion `left == right` failed\n  left: [\"a\\u{3000}b\"]\n right: [\"a\", \"b\"]"},
     "crates/tokenizer/src/lib.rs",
     ["pub fn words(s: &str) -> Vec<&str> {", "    s.split(' ').filter(|w| !w.is_empty()).collect()", "}"],
     "s.split(' ')", "s.split(char::is_whitespace)",
     "Splitting on the ASCII space only ignored other whitespace such as the ideographic space U+3000. `char::is_whitespace` covers all Unicode whitespace."),
    ("The cart total test fails. Please fix the bug, not the test.", "spec/cart_spec.rb",
     {"test": "Cart#total applies the quantity", "message": "expected: 30\n     got: 10"},
     "lib/cart.rb",
     ["class Cart", "  def total", "    @items.sum { |item| item.price }", "  end", "end"],
     "    @items.sum { |item| item.price }", "    @items.sum { |item| item.price * item.quantity }",
     "`total` summed unit prices and ignored quantities; each line now contributes price times quantity."),
]


def edit_retry(r, case):
    ask, path, wrong_old, lines, right_old, new, summary = case
    c = Conv(r, system_for(r, 3))
    c.user(ask)
    c.call(("edit_file", {"path": path, "old_text": wrong_old, "new_text": new}))
    c.results({"error": f"old_text not found in {path}"})
    c.call(("read_file", {"path": path}), content="The snippet doesn't match the file exactly; reading it first.")
    c.results("\n".join(f"{i + 1:>5}\t{t}" for i, t in enumerate(lines)))
    c.call(("edit_file", {"path": path, "old_text": right_old, "new_text": new}))
    c.results({"ok": True, "replacements": 1})
    c.say(summary)
    return c.record()


EDIT_CASES = [
    ("Change the default timeout in config.yaml from 30 to 60 seconds.", "config.yaml", "timeout: 30",
     ["server:", "  port: 8080", "  timeout_seconds: 30", "  workers: 4"], "  timeout_seconds: 30", "  timeout_seconds: 60",
     "Done: `server.timeout_seconds` in config.yaml is now 60 (the key is `timeout_seconds`, not `timeout`)."),
    ("In src/app.py, turn debug mode off.", "src/app.py", "app.run(debug=True)",
     ["from flask import Flask", "", "app = Flask(__name__)", "", "if __name__ == \"__main__\":", "    app.run(host=\"0.0.0.0\", debug=True)"],
     "    app.run(host=\"0.0.0.0\", debug=True)", "    app.run(host=\"0.0.0.0\", debug=False)",
     "Debug mode is off now: `app.run(host=\"0.0.0.0\", debug=False)` in src/app.py. Note that the server still listens on all interfaces."),
    ("Bump the version in Cargo.toml to 0.4.0.", "Cargo.toml", "version = \"0.3.0\"",
     ["[package]", "name = \"fastgrep\"", "version = \"0.3.2\"", "edition = \"2021\""], "version = \"0.3.2\"", "version = \"0.4.0\"",
     "Cargo.toml was at 0.3.2 (not 0.3.0), and it is now 0.4.0. Remember to update Cargo.lock with `cargo update -p fastgrep` or a build."),
    ("Rename the env var API_KEY to SERVICE_API_KEY in docker-compose.yml.", "docker-compose.yml", "API_KEY: ${API_KEY}",
     ["services:", "  api:", "    image: example/api:1.8", "    environment:", "      - API_KEY=${API_KEY}", "      - LOG_LEVEL=info"],
     "      - API_KEY=${API_KEY}", "      - SERVICE_API_KEY=${SERVICE_API_KEY}",
     "Renamed in docker-compose.yml (the file uses the list form `- KEY=value`). The container now gets `SERVICE_API_KEY`, read from the variable of the same name in your shell or .env, so rename it there too."),
    ("Make the README say Python 3.10 or newer instead of 3.8.", "README.md", "Python 3.8+",
     ["# reportgen", "", "Requires Python >= 3.8.", "", "## Usage"], "Requires Python >= 3.8.", "Requires Python >= 3.10.",
     "Updated README.md: it now reads \"Requires Python >= 3.10.\" You may also want to raise `requires-python` in pyproject.toml to match."),
]


def http_retry(r, case):
    ask, method, url, first, retry_note, second, answer = case
    c = Conv(r, system_for(r))
    c.user(ask)
    c.call(("http_request", {"method": method, "url": url, "timeout_seconds": 10}))
    c.results(first)
    c.call(("http_request", {"method": method, "url": second[0], "headers": {"Accept": "application/json"}, "timeout_seconds": 20}),
           content=retry_note)
    c.results(second[1])
    c.say(answer)
    return c.record()


HTTP_CASES = [
    ("Is the status API of our staging environment up? https://staging.example.com/api/status", "GET", "https://staging.example.com/api/status",
     {"error": "timeout after 10 s"}, "Timed out; trying once more with a longer timeout.",
     ("https://staging.example.com/api/status", {"status": 200, "body": {"status": "degraded", "db": "ok", "queue_lag_s": 48}}),
     "Staging answers, but slowly: the first request timed out after 10 s and the retry got HTTP 200 with status **degraded**. The database is fine; the queue lags by 48 s, which is the likely cause."),
    ("Get the latest exchange rates from https://api.example.org/v1/rates", "GET", "https://api.example.org/v1/rates",
     {"status": 429, "headers": {"Retry-After": "2"}, "body": {"error": "rate limit exceeded"}}, "Rate limited (429, retry after 2 s). Retrying after the wait.",
     ("https://api.example.org/v1/rates", {"status": 200, "body": {"base": "EUR", "rates": {"USD": 1.0874, "GBP": 0.8391, "JPY": 162.31}}}),
     "After one rate-limited attempt: base EUR, 1 EUR = 1.0874 USD, 0.8391 GBP, 162.31 JPY."),
    ("Fetch user 42 from https://api.example.com/user/42", "GET", "https://api.example.com/user/42",
     {"status": 404, "body": {"error": "not found", "hint": "see /v2/users/{id}"}}, "404 with a hint that the endpoint moved to /v2/users.",
     ("https://api.example.com/v2/users/42", {"status": 200, "body": {"id": 42, "name": "Mia Chen", "email": "mia@example.com", "active": True}}),
     "The old path returns 404; the API moved to `/v2/users/{id}`. User 42 is **Mia Chen** (mia@example.com), active."),
    ("Check whether https://shop.example.net/health is healthy.", "GET", "http://shop.example.net/health",
     {"status": 301, "headers": {"Location": "https://shop.example.net/health"}, "body": ""}, "Redirected to HTTPS; requesting that URL directly.",
     ("https://shop.example.net/health", {"status": 200, "body": {"ok": True, "version": "5.12.0"}}),
     "Healthy: `GET https://shop.example.net/health` returns 200 `{\"ok\": true}` (version 5.12.0). The plain-HTTP URL just redirects to HTTPS."),
    ("Trigger the nightly export via POST https://jobs.example.com/exports/nightly", "POST", "https://jobs.example.com/exports/nightly",
     {"status": 503, "body": {"error": "service unavailable", "retry_in_s": 5}}, "503, the job service asks to retry in 5 s. Retrying once.",
     ("https://jobs.example.com/exports/nightly", {"status": 202, "body": {"job_id": "exp_88213", "state": "queued"}}),
     "The first attempt got 503 (service unavailable); the retry was accepted. The export is queued as job `exp_88213`."),
    ("What does https://api.example.com/v1/version report?", "GET", "https://api.example.com/v1/version",
     {"error": "connection reset by peer"}, "The connection was reset; that is often transient, so one retry.",
     ("https://api.example.com/v1/version", {"status": 200, "body": {"version": "4.2.1", "commit": "7c1e9ab", "built_at": "2025-03-12T18:04:00Z"}}),
     "After one reset connection, the API answered: version **4.2.1** (commit 7c1e9ab, built 2025-03-12 18:04 UTC)."),
]


def sql_permission(r, case):
    ask, db, table, cols, q1, err, note, q2, rows, answer = case
    c = Conv(r, system_for(r))
    c.user(ask)
    c.call(("describe_table", {"database": db, "table": table}), ("sql_query", {"database": db, "query": q1, "max_rows": 50}),
           reasoning="Look at the schema and try the query at the same time.")
    c.results({"columns": [{"name": n, "type": t} for n, t in cols]}, {"error": err})
    c.call(("sql_query", {"database": db, "query": q2, "max_rows": 50}), content=note)
    c.results({"rows": rows, "row_count": len(rows)})
    c.say(answer)
    return c.record()


SQLP_CASES = [
    ("How many signups did we get per plan last week?", "analytics", "signups", [("id", "bigint"), ("plan", "text"), ("created_at", "timestamptz")],
     "SELECT plan, count(*) FROM signups WHERE created_at > now() - interval '7 days' GROUP BY plan",
     "permission denied for table signups", "The analytics role can't read the raw table; the schema has a reporting view, trying that.",
     "SELECT plan, count(*) AS signups FROM reporting.signups_daily WHERE day >= current_date - 7 GROUP BY plan ORDER BY signups DESC",
     [{"plan": "free", "signups": 1288}, {"plan": "pro", "signups": 214}, {"plan": "team", "signups": 37}],
     "Last 7 days: free 1,288, pro 214, team 37 (1,539 in total). I used `reporting.signups_daily` because the raw `signups` table is not readable with this role."),
    ("List the 3 biggest tables in the app database.", "app", "pg_class", [("relname", "name"), ("relkind", "char")],
     "SELECT relname, pg_total_relation_size(relname) FROM pg_class ORDER BY 2 DESC LIMIT 3",
     "relation \"audit_log\" does not exist", "Unqualified names fail for tables outside the search path; using the OID instead.",
     "SELECT c.oid::regclass AS table_name, pg_size_pretty(pg_total_relation_size(c.oid)) AS size FROM pg_class c WHERE c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 3",
     [{"table_name": "audit.audit_log", "size": "41 GB"}, {"table_name": "events", "size": "18 GB"}, {"table_name": "orders", "size": "6 GB"}],
     "Biggest tables: `audit.audit_log` 41 GB, `events` 18 GB, `orders` 6 GB (sizes include indexes and TOAST). The audit log is by far the largest; consider partitioning or a retention policy."),
    ("What's the average order value by country this month?", "shop", "orders", [("id", "bigint"), ("country", "char(2)"), ("total_cents", "bigint"), ("placed_at", "timestamptz")],
     "SELECT country, avg(total) FROM orders WHERE placed_at >= date_trunc('month', now()) GROUP BY country",
     "column \"total\" does not exist", "The column is `total_cents`; converting to currency units in the query.",
     "SELECT country, round(avg(total_cents) / 100.0, 2) AS avg_order FROM orders WHERE placed_at >= date_trunc('month', now()) GROUP BY country ORDER BY avg_order DESC",
     [{"country": "CH", "avg_order": 112.40}, {"country": "DE", "avg_order": 74.15}, {"country": "FR", "avg_order": 69.80}, {"country": "ES", "avg_order": 51.02}],
     "Average order value this month: CH 112.40, DE 74.15, FR 69.80, ES 51.02 (amounts are in the shop currency; stored as cents)."),
    ("Delete test accounts created by the load test yesterday.", "app", "users", [("id", "bigint"), ("email", "text"), ("created_at", "timestamptz")],
     "DELETE FROM users WHERE email LIKE 'loadtest+%@example.com'",
     "cannot execute DELETE in a read-only transaction", "This connection is read-only, so I can't delete. Counting what would be deleted instead.",
     "SELECT count(*) AS accounts, min(created_at) AS first, max(created_at) AS last FROM users WHERE email LIKE 'loadtest+%@example.com'",
     [{"accounts": 5000, "first": "2025-03-13T02:00:04Z", "last": "2025-03-13T02:41:57Z"}],
     "I couldn't delete them: the database connection I have is read-only. There are 5,000 matching accounts (`loadtest+…@example.com`, created 2025-03-13 02:00-02:42 UTC). Someone with write access can run:\n\n```sql\nDELETE FROM users WHERE email LIKE 'loadtest+%@example.com';\n```\n\nCheck first that no foreign keys point at them without `ON DELETE CASCADE`."),
    ("Which customers haven't ordered in 90 days?", "shop", "customers", [("id", "bigint"), ("name", "text"), ("last_order_at", "timestamptz")],
     "SELECT name FROM customers WHERE last_order_at < now() - 90",
     "operator does not exist: timestamp with time zone < timestamp with time zone - integer",
     "PostgreSQL needs an interval for date arithmetic on timestamps; fixing that.",
     "SELECT name, last_order_at::date AS last_order FROM customers WHERE last_order_at < now() - interval '90 days' ORDER BY last_order_at LIMIT 50",
     [{"name": "Birch & Co", "last_order": "2024-09-02"}, {"name": "Lumen GmbH", "last_order": "2024-10-19"}, {"name": "Oak Street Deli", "last_order": "2024-12-01"}],
     "Three customers have not ordered for more than 90 days: Birch & Co (last order 2024-09-02), Lumen GmbH (2024-10-19) and Oak Street Deli (2024-12-01). Customers who never ordered have no `last_order_at` and are not in this list."),
]


def release_notes(r, case):
    repo, since, commits, prs, version, channel = case
    c = Conv(r, system_for(r, 3))
    c.user(f"Write release notes for {version} of {repo} (everything since {since}), add them to CHANGELOG.md and announce in {channel}.")
    c.call(("git_log", {"max_count": 50, "path": "."}), ("github_list_pull_requests", {"repo": repo, "state": "merged", "limit": 20}),
           reasoning="Collect commits and merged PRs in parallel, then write the changelog entry and post the announcement.")
    c.results({"commits": [{"sha": s, "author": a, "date": "2025-03-1" + str(i % 4), "subject": m} for i, (s, a, m) in enumerate(commits)]},
              {"pull_requests": [{"number": n, "title": t, "author": a, "labels": l} for n, t, a, l in prs]})
    feats = [f"- {t} (#{n})" for n, t, _, l in prs if "feature" in l]
    fixes = [f"- {t} (#{n})" for n, t, _, l in prs if "bug" in l]
    notes = f"## {version}\n\n### Features\n" + "\n".join(feats or ["- none"]) + "\n\n### Fixes\n" + "\n".join(fixes or ["- none"]) + "\n"
    c.call(("read_file", {"path": "CHANGELOG.md", "limit": 5}))
    c.results("    1\t# Changelog\n    2\t\n    3\t## " + since + "\n")
    c.call(("edit_file", {"path": "CHANGELOG.md", "old_text": "# Changelog\n\n", "new_text": "# Changelog\n\n" + notes + "\n"}))
    c.results({"ok": True, "replacements": 1})
    c.call(("slack_post_message", {"channel": channel, "text": f"{repo} {version} is out: {len(feats)} features, {len(fixes)} fixes. Notes in CHANGELOG.md."}))
    c.results({"ok": True, "ts": f"17419{r.randint(10000, 99999)}.000{r.randint(100, 999)}"})
    c.say(f"Added the {version} section to CHANGELOG.md:\n\n{notes}\nand posted the announcement in {channel}. "
          f"{len(commits) - len(prs)} commits were not part of a labelled PR and are not listed; tell me if any should be.")
    return c.record()


RELEASE_CASES = [
    ("example/fastgrep", "v0.3.2", [("a1b2c3d", "lin", "Add --count flag"), ("d4e5f60", "sam", "Fix panic on empty file"), ("0718aa2", "lin", "ci: cache cargo registry")],
     [(141, "Add --count flag", "lin", ["feature"]), (143, "Fix panic on empty file", "sam", ["bug"])], "v0.4.0", "#releases"),
    ("example/webshop", "2.7.0", [("9f00c1a", "ana", "Apple Pay checkout"), ("11ab2c3", "tom", "Fix VAT rounding for CH"), ("77de001", "ana", "Wishlist sharing"), ("cafe123", "bot", "deps: bump react")],
     [(880, "Apple Pay checkout", "ana", ["feature"]), (884, "Fix VAT rounding for CH", "tom", ["bug"]), (889, "Wishlist sharing", "ana", ["feature"])], "2.8.0", "#shop-dev"),
    ("example/infra-cli", "1.1.0", [("5150abc", "kai", "Support AWS SSO profiles"), ("6160def", "kai", "Fix --dry-run deleting resources")],
     [(52, "Support AWS SSO profiles", "kai", ["feature"]), (53, "Fix --dry-run deleting resources", "kai", ["bug", "critical"])], "1.2.0", "#platform"),
    ("example/docs-site", "0.9.1", [("aa11bb2", "eve", "Fix broken anchors in API page"), ("cc33dd4", "eve", "Fix dark mode contrast")],
     [(17, "Fix broken anchors in API page", "eve", ["bug"]), (18, "Fix dark mode contrast", "eve", ["bug"])], "0.9.2", "#docs"),
    ("example/ml-pipeline", "3.0.0", [("beef001", "raj", "Parquet output"), ("beef002", "raj", "Resume from checkpoint"), ("beef003", "li", "Fix OOM on large batches")],
     [(301, "Parquet output", "raj", ["feature"]), (304, "Resume from checkpoint", "raj", ["feature"]), (306, "Fix OOM on large batches", "li", ["bug"])], "3.1.0", "#ml"),
]


def _plus(hhmm, minutes):
    h, m = divmod(int(hhmm[:2]) * 60 + int(hhmm[3:]) + minutes, 60)
    return f"{h:02d}:{m:02d}"


def reschedule(r, case):
    who, old_title, day, attendees, minutes, slot, reason = case
    c = Conv(r, system_for(r, 5, today=day))
    c.user(f"Move my \"{old_title}\" {reason} to another time today and let {', '.join(a.split('@')[0] for a in attendees)} know.")
    c.call(("list_calendar_events", {"start": f"{day}T00:00:00", "end": f"{day}T23:59:59"}))
    c.results({"events": [{"id": "evt_1", "title": old_title, "start": f"{day}T10:00:00", "end": f"{day}T{_plus('10:00', minutes)}:00", "attendees": attendees},
                          {"id": "evt_2", "title": "Lunch", "start": f"{day}T12:00:00", "end": f"{day}T13:00:00", "attendees": []}]})
    c.call(("find_free_slots", {"attendees": [who] + attendees, "duration_minutes": minutes, "window_start": f"{day}T13:00:00",
                                "window_end": f"{day}T18:00:00", "working_hours_only": True}))
    c.results({"slots": [{"start": f"{day}T{slot}:00", "end": f"{day}T{_plus(slot, minutes)}:00"}]})
    c.call(("create_calendar_event", {"title": old_title, "start": f"{day}T{slot}:00",
                                      "end": f"{day}T{_plus(slot, minutes)}:00",
                                      "attendees": attendees, "reminder_minutes": 10}))
    if r.random() < 0.5:
        c.results({"error": "calendar is read-only for delegated access"})
        c.call(("send_email", {"to": attendees, "subject": f"Moving \"{old_title}\" to {slot}",
                               "body": f"Hi, I need to move \"{old_title}\" from 10:00 to {slot} today ({reason}). Could the organizer update the invite? Thanks!"}),
               content="I can't edit this calendar, so I'll ask the attendees by e-mail instead.")
        c.results({"ok": True, "message_id": f"<{r.randint(10**6, 10**7)}@mail.example.com>"})
        c.say(f"Everyone is free at {slot}, but I couldn't create the event: the calendar is read-only for me. I e-mailed the attendees asking to move \"{old_title}\" from 10:00 to {slot}. The original event is still in the calendar.")
    else:
        c.results({"id": "evt_9", "ok": True})
        c.call(("send_email", {"to": attendees, "subject": f"\"{old_title}\" moved to {slot}",
                               "body": f"Hi, \"{old_title}\" moves from 10:00 to {slot} today ({reason}). The new invite is in your calendar."}))
        c.results({"ok": True, "message_id": f"<{r.randint(10**6, 10**7)}@mail.example.com>"})
        c.say(f"Moved: \"{old_title}\" is now at {slot} today and the attendees have been told. The old 10:00 slot still shows in your calendar; delete it if it's no longer needed.")
    return c.record()


RESCHEDULE_CASES = [
    ("me@example.com", "1:1 with Jonas", "2025-03-14", ["jonas@example.com"], 30, "15:30", "because the dentist moved my appointment"),
    ("me@example.com", "Design review", "2025-03-17", ["ana@example.com", "li@example.com"], 60, "14:00", "since the mockups aren't ready"),
    ("me@example.com", "Sprint planning", "2025-03-18", ["team-lead@example.com", "kai@example.com", "sam@example.com"], 90, "13:30", "because of the outage"),
    ("me@example.com", "Interview debrief", "2025-03-19", ["hr@example.com"], 30, "16:00", "as the candidate call runs late"),
    ("me@example.com", "Budget sync", "2025-03-20", ["cfo@example.com", "ops@example.com"], 45, "14:15", "because I'm on a train until noon"),
]


def flight_code_retry(r, case):
    origin_city, origin_code, dest_city, dest_code, date, pax, flights = case
    c = Conv(r, system_for(r))
    c.user(f"Find me a flight from {origin_city} to {dest_city} on {date} for {pax} {'person' if pax == 1 else 'people'}, max one stop.")
    c.call(("search_flights", {"origin": origin_city, "destination": dest_city, "date": date, "passengers": pax, "max_stops": 1}))
    c.results({"error": f"origin and destination must be IATA airport codes, got '{origin_city}'"})
    c.call(("search_flights", {"origin": origin_code, "destination": dest_code, "date": date, "passengers": pax, "max_stops": 1}),
           content=f"The search wants airport codes; using {origin_code} and {dest_code}.")
    c.results({"flights": [{"airline": a, "depart": d, "arrive": ar, "stops": s, "price_eur": p} for a, d, ar, s, p in flights]})
    best = min(flights, key=lambda f: f[4])
    fastest = min(flights, key=lambda f: (f[3], f[2]))
    lines = "\n".join(f"- {a}: {d[11:16]} -> {ar[11:16]}, {'nonstop' if s == 0 else f'{s} stop'}, €{p} per person" for a, d, ar, s, p in flights)
    c.say(f"Flights {origin_code} → {dest_code} on {date}:\n\n{lines}\n\nCheapest: {best[0]} at €{best[4]} (€{best[4] * pax} for {pax}). "
          + (f"Nonstop option: {fastest[0]}." if fastest[3] == 0 else "There's no nonstop flight that day."))
    return c.record()


FLIGHT_CASES = [
    ("Hamburg", "HAM", "Lisbon", "LIS", "2025-04-11", 2,
     [("TAP", "2025-04-11T06:40", "2025-04-11T09:35", 0, 189), ("Lufthansa", "2025-04-11T07:05", "2025-04-11T12:50", 1, 164)]),
    ("Zurich", "ZRH", "Stockholm", "ARN", "2025-05-02", 1,
     [("SWISS", "2025-05-02T09:50", "2025-05-02T12:25", 0, 231), ("SAS", "2025-05-02T17:10", "2025-05-02T19:45", 0, 207)]),
    ("Manchester", "MAN", "Rome", "FCO", "2025-06-14", 3,
     [("easyJet", "2025-06-14T06:15", "2025-06-14T10:20", 0, 98), ("KLM", "2025-06-14T09:30", "2025-06-14T15:55", 1, 142)]),
    ("Vienna", "VIE", "Dublin", "DUB", "2025-03-28", 1,
     [("Aer Lingus", "2025-03-28T11:30", "2025-03-28T13:40", 0, 176), ("Austrian", "2025-03-28T07:00", "2025-03-28T11:55", 1, 149)]),
    ("Oslo", "OSL", "Barcelona", "BCN", "2025-07-03", 4,
     [("Norwegian", "2025-07-03T08:05", "2025-07-03T12:00", 0, 129), ("Vueling", "2025-07-03T14:20", "2025-07-03T18:10", 0, 119)]),
]


def ticket_dedupe(r, case):
    project, summary, jql, existing, desc, channel = case
    c = Conv(r, system_for(r, 3))
    c.user(f"Please file a bug in {project}: {summary}. Post it in {channel} too.")
    c.call(("jira_search", {"jql": jql, "max_results": 5, "fields": ["summary", "status", "assignee"]}),
           reasoning="Check for an existing ticket first so we don't file a duplicate.")
    if existing:
        key, s, status, who = existing
        c.results({"issues": [{"key": key, "summary": s, "status": status, "assignee": who}]})
        c.call(("slack_post_message", {"channel": channel, "text": f"Reported again: {summary}. Tracked in {key} ({status}, {who})."}),
               content=f"There is already {key} for this; I'll point the channel to it instead of filing a duplicate.")
        c.results({"ok": True, "ts": f"17419{r.randint(10000, 99999)}.000{r.randint(100, 999)}"})
        c.say(f"I didn't create a new ticket: **{key}** \"{s}\" already tracks this ({status}, assigned to {who}). I posted a note in {channel} linking to it; add your details as a comment there if they're new.")
    else:
        c.results({"issues": []})
        c.call(("jira_create_issue", {"project": project, "summary": summary, "description": desc, "issue_type": "Bug", "priority": "High", "labels": ["reported-in-chat"]}))
        key = f"{project}-{r.randint(100, 999)}"
        c.results({"key": key, "url": f"https://example.atlassian.net/browse/{key}"})
        c.call(("slack_post_message", {"channel": channel, "text": f"New bug {key}: {summary}"}))
        c.results({"ok": True, "ts": f"17419{r.randint(10000, 99999)}.000{r.randint(100, 999)}"})
        c.say(f"No existing ticket matched, so I filed **{key}** (Bug, High) and posted it in {channel}.")
    return c.record()


DEDUPE_CASES = [
    ("WEB", "the password reset link expires immediately", "project = WEB AND text ~ \"password reset\" AND statusCategory != Done",
     ("WEB-412", "Password reset token expires instantly", "In Progress", "Ana Ruiz"), "", "#web-team"),
    ("API", "the /v2/orders endpoint returns 500 for orders with no items", "project = API AND text ~ \"orders 500\" AND statusCategory != Done", None,
     "GET /v2/orders/{id} returns HTTP 500 when the order has no line items (e.g. fully refunded orders). Expected: 200 with an empty `items` array.", "#api"),
    ("MOB", "the app crashes when rotating the screen on the checkout page", "project = MOB AND text ~ \"rotate crash checkout\"",
     ("MOB-88", "Crash on orientation change in checkout", "To Do", "Unassigned"), "", "#mobile"),
    ("DATA", "the daily revenue dashboard double-counts refunds", "project = DATA AND text ~ \"refund dashboard\" AND statusCategory != Done", None,
     "The daily revenue dashboard subtracts refunds twice: once in the orders view and again in the dashboard query. Totals since 2025-03-01 are too low.", "#data"),
    ("OPS", "disk alerts fire for the tmpfs mounts", "project = OPS AND text ~ \"disk alert tmpfs\"", None,
     "The disk usage alert includes tmpfs mounts such as /run and /dev/shm, which are expected to fill; exclude fstype=tmpfs from the rule.", "#ops-alerts"),
]


def dep_conflict(r, case):
    mgr, eco, pkg, want, err, compatible, test_path = case
    c = Conv(r, system_for(r, 3))
    c.user(f"Add {pkg} {want} to the project and make sure the tests still pass.")
    c.call(("install_packages", {"manager": mgr, "packages": [f"{pkg}{'@' if mgr == 'npm' else '=='}{want}"]}))
    c.results({"error": err})
    c.call(("package_info", {"ecosystem": eco, "name": pkg}), content="Version conflict. Checking which releases are available.")
    c.results({"name": pkg, "latest": want, "recent_versions": [want, compatible], "compatible_with_lockfile": compatible})
    c.call(("install_packages", {"manager": mgr, "packages": [f"{pkg}{'@' if mgr == 'npm' else '=='}{compatible}"]}))
    c.results({"installed": [f"{pkg} {compatible}"], "ok": True})
    c.call(("run_tests", {"path": test_path}))
    n = r.randint(40, 400)
    c.results({"passed": n, "failed": 0, "skipped": r.randint(0, 5)})
    c.say(f"{pkg} {want} can't be installed here ({err}). I installed {compatible}, the newest release compatible with the current dependencies, and all {n} tests pass. Upgrading to {want} needs the conflicting dependency upgraded first.")
    return c.record()


DEP_CASES = [
    ("pip", "pypi", "pandas", "2.2.3", "pandas 2.2.3 requires numpy>=1.26, but numpy 1.24.4 is pinned", "2.0.3", "tests/"),
    ("npm", "npm", "eslint-plugin-react-hooks", "5.1.0", "ERESOLVE: eslint-plugin-react-hooks@5.1.0 requires eslint>=9, found eslint@8.57.0", "4.6.2", "src/"),
    ("pip", "pypi", "pydantic", "2.9.2", "pydantic 2.9.2 conflicts with fastapi 0.95.2 which requires pydantic<2", "1.10.18", "tests/"),
    ("npm", "npm", "typescript", "5.6.3", "ERESOLVE: @angular/compiler-cli@16.2.0 requires typescript>=4.9.3 <5.2", "5.1.6", "projects/"),
    ("pip", "pypi", "sqlalchemy", "2.0.36", "sqlalchemy 2.0.36 conflicts with flask-sqlalchemy 2.5.1 which requires sqlalchemy<1.4.42", "1.4.41", "tests/"),
    ("npm", "npm", "vite", "6.0.1", "ERESOLVE: @vitejs/plugin-react@4.0.0 requires vite>=4.2 <6", "5.4.11", "src/"),
]


SCENARIOS_C = [(test_fix_loop, TEST_FIX_CASES), (edit_retry, EDIT_CASES), (http_retry, HTTP_CASES), (sql_permission, SQLP_CASES),
               (release_notes, RELEASE_CASES), (reschedule, RESCHEDULE_CASES), (flight_code_retry, FLIGHT_CASES),
               (ticket_dedupe, DEDUPE_CASES), (dep_conflict, DEP_CASES)]

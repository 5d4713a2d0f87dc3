# text_docs.py: short technical prose written for reap ({"text"} records): README sections,
# design notes, docs pages and commit-message style text, so the calibration set also has plain
# technical writing without a chat template.

TEXTS = [
"""# logship

`logship` tails log files and forwards new lines to an HTTP endpoint in batches.

## Install

    cargo install --path .

## Usage

    logship --endpoint https://logs.example.com/ingest --batch 500 /var/log/app/*.log

Lines are sent as JSON arrays of `{"file", "offset", "line"}` objects. A batch is sent when it
reaches `--batch` lines or after `--flush-ms` milliseconds (default 1000), whichever comes first.
Offsets are stored in `~/.local/state/logship/offsets.json` after every acknowledged batch, so a
restart resumes where it stopped and at most one batch is sent twice.

## Rotation

Files are followed by inode. When a file is renamed and a new one created under the old name,
`logship` finishes the renamed file and then starts on the new one from offset 0.
""",
"""Design note: why the job queue uses leases instead of locks

Workers take a job by setting `leased_until = now() + interval '5 minutes'` on a row whose lease
has expired, in a single `UPDATE ... WHERE id = (SELECT id ... FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING *`. A worker that crashes simply stops renewing its lease, and the job becomes
available again after five minutes. With advisory locks, a crashed worker's lock is released only
when its connection closes, which behind a connection pooler may be much later.

The cost is that a slow but alive worker can lose its lease. Workers therefore renew the lease
every minute and check the row's `lease_token` before committing results: if another worker has
taken the job in the meantime, the late result is discarded. Jobs must be idempotent anyway,
because a worker can crash after doing the work but before marking the job done.
""",
"""fix(parser): accept a trailing comma in argument lists

The grammar allowed a trailing comma in array literals but not in call arguments, so
`f(a, b,)` failed with "unexpected token ')'". Formatters that put one argument per line add the
comma, which made formatted code unparsable.

The argument list rule now accepts an optional comma before the closing parenthesis. A lone comma
`f(,)` is still an error. Adds parser tests for both cases and for nested calls.
""",
"""## Configuration reference

All settings can be given in `config.toml` or as environment variables; the environment wins.

| key | env var | default | meaning |
|---|---|---|---|
| `listen` | `APP_LISTEN` | `127.0.0.1:8080` | address and port of the HTTP server |
| `database.url` | `DATABASE_URL` | (required) | PostgreSQL connection string |
| `database.pool_size` | `APP_DB_POOL` | `10` | maximum open connections |
| `log.level` | `APP_LOG` | `info` | one of `error`, `warn`, `info`, `debug`, `trace` |
| `cache.ttl_seconds` | `APP_CACHE_TTL` | `300` | lifetime of cached responses; `0` disables the cache |

Unknown keys are rejected at startup with the file name and line, so a typo such as `pool_sise`
does not silently fall back to the default.
""",
"""Troubleshooting: "too many open files"

The process hit its limit on file descriptors. Check the limit with `ulimit -n` in the shell that
starts the service, or `cat /proc/<pid>/limits` for a running process. Under systemd the limit
comes from `LimitNOFILE=` in the unit file, not from `/etc/security/limits.conf`.

Before raising the limit, check for a leak: `ls /proc/<pid>/fd | wc -l` growing steadily while
the load is flat means descriptors are opened and never closed, typically HTTP responses whose
bodies are not closed, or files opened in a loop without a `with` block or `defer f.Close()`.
Raising the limit only postpones the failure in that case.
""",
"""Code review guidelines

1. Review the change, not the author. Comments should say what to change and why.
2. Correctness first: does it do what the description says, including error paths and empty
   inputs? Are there tests that would fail without the change?
3. Then clarity: names, function size, comments where the code cannot speak for itself.
4. Style issues that a formatter or linter can catch belong in the tooling, not in review.
5. Mark optional suggestions as such ("nit:"), so the author knows what blocks the merge.
6. Approve when the change makes the code better, even if it is not how you would have written it.
""",
"""Understanding database indexes in five minutes

A B-tree index keeps the values of one or more columns sorted, with pointers to the rows. A query
that filters on the leading column(s) can descend the tree in a few page reads instead of scanning
the whole table. An index on `(customer_id, created_at)` serves `WHERE customer_id = 7` and
`WHERE customer_id = 7 AND created_at > '2025-01-01'`, and can return rows already ordered by
`created_at` for that customer; it does not help `WHERE created_at > '2025-01-01'` alone.

Indexes are not free: every insert and update must maintain them, and they take disk and memory.
Functions on the column (`WHERE lower(email) = ...`) cannot use a plain index on `email`; create
an expression index on `lower(email)` instead. `EXPLAIN ANALYZE` shows whether an index is used
and how many rows each step really produced.
""",
"""Changelog

## 2.3.0 - 2025-03-10
### Added
- `--json` output for `status` and `list`.
- Shell completions for bash, zsh and fish (`tool completions <shell>`).
### Changed
- `sync` now retries failed uploads three times with exponential backoff.
### Fixed
- `list --since` ignored the time zone of the given timestamp.
- A crash when the config file was empty.

## 2.2.1 - 2025-02-18
### Fixed
- Uploads larger than 4 GiB failed on 32-bit builds.
""",
]

HELDOUT_TEXTS = [
"""Runbook: the payment webhook backlog alert

The alert fires when more than 500 webhook deliveries are pending for 10 minutes. First check the
provider's status page; a provider incident needs no action from us. Otherwise look at the worker
dashboard: if workers are idle, the consumer is stuck, so restart the `webhook-worker` deployment.
If workers are busy but slow, check the database latency panel. Deliveries are idempotent, so
replaying them after an outage is safe.
""",
"""Why we pin dependency versions in applications but not in libraries

An application is deployed as a whole, so its lockfile should fix every version: builds are
reproducible and upgrades are deliberate, reviewed changes. A library is installed next to other
libraries in someone else's application; exact pins there cause needless conflicts. Libraries
declare the widest range they are tested with, and the application's lockfile picks the versions.
""",
]

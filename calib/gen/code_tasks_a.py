# code_tasks_a.py: hand-written coding tasks (Python, C, C++, Rust), authored for reap.
# Each task: lang, prompt (the user's request), code (a correct answer), explain (prose),
# optional bug (old, new, symptom, why): applying old->new to code gives the buggy version,
# optional tests (test code in the same language), optional messy (a working but poor version
# to refactor) with refactor_note, optional reasoning (thinking text for the write answer).

def T(lang, prompt, code, explain, bug=None, tests=None, messy=None, refactor_note=None,
      reasoning=None, heldout=False, check=None):
    """check (dev-time only, read by check_answers.py, never emitted): {"sqlite": setup SQL to run a
    SQL answer against, "expect": its expected output, "main": a driver appended to the answer to
    run it, "stdin": input for a program, "skip": why the answer cannot be run here}."""
    return dict(lang=lang, prompt=prompt, code=code.strip("\n"), explain=explain, bug=bug,
                tests=tests.strip("\n") if tests else None,
                messy=messy.strip("\n") if messy else None, refactor_note=refactor_note,
                reasoning=reasoning, heldout=heldout, check=check)


TASKS_A = [
# ---------------------------------------------------------------- Python
T("python", "Write a Python function that merges overlapping intervals. Input is a list of (start, end) tuples, output a sorted list of merged intervals.",
r'''
def merge_intervals(intervals):
    """Merge overlapping closed intervals; returns a new sorted list."""
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged
''',
"Sorting by start puts every interval that could overlap the last merged one right after it. For each interval we either extend the last merged interval (when its start is not past the current end; `max` handles intervals nested inside another) or start a new one. The cost is O(n log n) for the sort plus one linear pass.",
bug=("max(last_end, end)", "end", "merging [(1, 10), (2, 3)] returns [(1, 3)] instead of [(1, 10)]",
     "When the new interval is nested inside the previous one, its end is smaller, and assigning it shrinks the merged interval. The end must be the larger of the two."),
tests=r'''
import unittest
from intervals import merge_intervals


class MergeIntervalsTest(unittest.TestCase):
    def test_empty(self):
        self.assertEqual(merge_intervals([]), [])

    def test_disjoint_are_sorted(self):
        self.assertEqual(merge_intervals([(5, 6), (1, 2)]), [(1, 2), (5, 6)])

    def test_overlapping(self):
        self.assertEqual(merge_intervals([(1, 3), (2, 6), (8, 10)]), [(1, 6), (8, 10)])

    def test_touching_endpoints_merge(self):
        self.assertEqual(merge_intervals([(1, 2), (2, 4)]), [(1, 4)])

    def test_nested(self):
        self.assertEqual(merge_intervals([(1, 10), (2, 3), (4, 5)]), [(1, 10)])


if __name__ == "__main__":
    unittest.main()
''',
reasoning="Classic approach: sort by start, then sweep. Need to remember the nested case, so take max of the ends. Touching intervals like (1,2),(2,4) should merge since they are closed."),

T("python", "I need an LRU cache class in Python with get(key) and put(key, value), O(1) each, with a fixed capacity. Don't use functools.lru_cache.",
r'''
from collections import OrderedDict


class LRUCache:
    def __init__(self, capacity: int):
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._data = OrderedDict()

    def get(self, key, default=None):
        if key not in self._data:
            return default
        self._data.move_to_end(key)
        return self._data[key]

    def put(self, key, value):
        if key in self._data:
            self._data.move_to_end(key)
        self._data[key] = value
        if len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def __len__(self):
        return len(self._data)
''',
"An `OrderedDict` keeps keys in insertion order and can move a key to the end in O(1). The end holds the most recently used key, so eviction pops from the front (`last=False`). Both `get` and `put` refresh the key's position, which is what makes it least-recently-used rather than first-in-first-out.",
bug=("        self._data.move_to_end(key)\n        return self._data[key]", "        return self._data[key]", "the cache evicts keys that were just read, it behaves like a FIFO queue",
     "`get` never refreshes the key's position, so a frequently read key still sits at the front and is the first to be evicted. Reading must move the key to the end."),
tests=r'''
import pytest
from lru import LRUCache


def test_evicts_least_recently_used():
    c = LRUCache(2)
    c.put("a", 1)
    c.put("b", 2)
    c.get("a")          # a is now most recent
    c.put("c", 3)       # evicts b
    assert c.get("b") is None
    assert c.get("a") == 1
    assert c.get("c") == 3


def test_put_existing_updates_value_and_recency():
    c = LRUCache(2)
    c.put("a", 1)
    c.put("b", 2)
    c.put("a", 10)
    c.put("c", 3)
    assert c.get("a") == 10
    assert c.get("b") is None


def test_rejects_zero_capacity():
    with pytest.raises(ValueError):
        LRUCache(0)
'''),

T("python", "Write a Python generator that reads a large CSV file and yields rows as dicts, converting the columns listed in a `types` mapping (e.g. {'age': int, 'score': float}). Skip rows that fail conversion and count them.",
r'''
import csv
import logging

log = logging.getLogger(__name__)


def typed_rows(path, types, encoding="utf-8"):
    """Yield dict rows from a CSV file, converting columns named in `types`.

    Rows where a conversion fails are skipped; their count is logged at the end.
    """
    skipped = 0
    with open(path, newline="", encoding=encoding) as f:
        reader = csv.DictReader(f)
        for lineno, row in enumerate(reader, start=2):
            try:
                for column, convert in types.items():
                    row[column] = convert(row[column])
            except (KeyError, ValueError, TypeError) as exc:
                skipped += 1
                log.debug("line %d skipped: %s", lineno, exc)
                continue
            yield row
    if skipped:
        log.warning("%s: skipped %d malformed rows", path, skipped)
''',
"The function is a generator, so only one row is in memory at a time, which matters for large files. `csv.DictReader` maps each row to the header names; `newline=\"\"` is what the csv module expects so quoted fields with embedded newlines are handled. Conversion errors (missing column, bad number) skip the row and are counted; line numbers start at 2 because line 1 is the header."),

T("python", "Write a Python function `slugify(title)` that turns an article title into a URL slug: lowercase ASCII, accents removed, words joined by single hyphens, no leading/trailing hyphens.",
r'''
import re
import unicodedata


def slugify(title: str) -> str:
    normalized = unicodedata.normalize("NFKD", title)
    ascii_only = normalized.encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_only.lower())
    return "-".join(words)
''',
"NFKD normalization splits accented letters into a base letter plus combining marks (é becomes e + ´); encoding to ASCII with `ignore` drops the marks. Then every run of letters and digits is a word, and joining them with `-` guarantees single hyphens and none at the ends. For example `slugify(\"Café au lait: 3 recettes!\")` gives `cafe-au-lait-3-recettes`.",
bug=('"NFKD"', '"NFC"', 'slugify("Crème brûlée") returns "cr-me-br-l-e"',
     "NFC composes characters, so è stays a single non-ASCII code point and is dropped entirely by the ASCII encode, splitting the word. NFKD decomposes it into e plus a combining accent so only the accent is dropped."),
tests=r'''
import pytest
from slug import slugify


@pytest.mark.parametrize("title, expected", [
    ("Hello World", "hello-world"),
    ("  Leading and trailing  ", "leading-and-trailing"),
    ("Crème brûlée", "creme-brulee"),
    ("C++ & Rust: a comparison", "c-rust-a-comparison"),
    ("2024 --- review", "2024-review"),
    ("", ""),
])
def test_slugify(title, expected):
    assert slugify(title) == expected
'''),

T("python", "Implement a retry decorator in Python: `@retry(times=3, delay=0.5, exceptions=(IOError,))` that retries the function with exponential backoff and re-raises the last exception.",
r'''
import functools
import time


def retry(times=3, delay=0.5, backoff=2.0, exceptions=(Exception,)):
    if times < 1:
        raise ValueError("times must be at least 1")

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            wait = delay
            for attempt in range(1, times + 1):
                try:
                    return func(*args, **kwargs)
                except exceptions:
                    if attempt == times:
                        raise
                    time.sleep(wait)
                    wait *= backoff
        return wrapper
    return decorator


@retry(times=4, delay=0.2, exceptions=(ConnectionError, TimeoutError))
def fetch_status(client):
    return client.get("/status")
''',
"`retry(...)` returns the real decorator, which wraps the function. Each failed attempt with one of the listed exception types sleeps and multiplies the wait by `backoff`; on the last attempt the bare `raise` re-raises the original exception with its traceback. Other exception types propagate immediately. `functools.wraps` keeps the wrapped function's name and docstring.",
bug=("if attempt == times:", "if attempt > times:", "when every attempt fails the decorated function returns None instead of raising",
     "`attempt` never exceeds `times` inside the loop, so the last failure is swallowed, the loop ends and the wrapper falls off the end returning None. The check must be `attempt == times`."),
reasoning="Need decorator factory with parameters. Backoff multiplies delay. Must re-raise on final attempt, not sleep after the last one. Use functools.wraps."),

T("python", "Write a function that returns the k most common words in a text, case-insensitive, ignoring punctuation, ties broken alphabetically.",
r'''
import re
from collections import Counter


def top_words(text: str, k: int) -> list[tuple[str, int]]:
    words = re.findall(r"[a-z']+", text.lower())
    counts = Counter(w.strip("'") for w in words if w.strip("'"))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]
''',
"The regex keeps letters and apostrophes so contractions like `don't` stay one word; stray quotes at word edges are stripped. `Counter` tallies the words, and sorting by `(-count, word)` orders by frequency descending with alphabetical tie-breaking, which `Counter.most_common` does not guarantee.",
messy=r'''
def top_words(text, k):
    d = {}
    for w in text.lower().replace(",", " ").replace(".", " ").replace("!", " ").replace("?", " ").split():
        if w in d:
            d[w] = d[w] + 1
        else:
            d[w] = 1
    l = []
    for w in d:
        l.append((w, d[w]))
    for i in range(len(l)):
        for j in range(len(l) - 1):
            if l[j][1] < l[j + 1][1] or (l[j][1] == l[j + 1][1] and l[j][0] > l[j + 1][0]):
                l[j], l[j + 1] = l[j + 1], l[j]
    return l[:k]
''',
refactor_note="The hand-written bubble sort is O(n^2) and the chain of `replace` calls misses punctuation such as `;` or quotes. A regex tokenizer plus `Counter` and one `sorted` call with a composite key does the same job in O(n log n) and reads as what it means."),

T("python", "Write an async Python function that downloads a list of URLs concurrently with aiohttp, at most 5 at a time, and returns a dict url -> status code (or the exception text on failure).",
r'''
import asyncio

import aiohttp


async def fetch_statuses(urls, limit=5, timeout=10):
    semaphore = asyncio.Semaphore(limit)
    client_timeout = aiohttp.ClientTimeout(total=timeout)

    async def one(session, url):
        async with semaphore:
            try:
                async with session.get(url) as resp:
                    return url, resp.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                return url, f"{type(exc).__name__}: {exc}"

    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        pairs = await asyncio.gather(*(one(session, u) for u in urls))
    return dict(pairs)


if __name__ == "__main__":
    result = asyncio.run(fetch_statuses(["https://example.com", "https://example.org"]))
    print(result)
''',
"A single `ClientSession` is shared by all requests so connections are pooled. The semaphore lets at most `limit` coroutines be inside the request block at once, while `gather` schedules them all. Each coroutine catches its own network errors and returns a string, so one failing URL does not cancel the others."),

T("python", "Parse a duration string like '1h30m', '45s', '2d4h' into total seconds in Python. Raise ValueError on garbage.",
r'''
import re

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)([dhms])")


def parse_duration(text: str) -> int:
    text = text.strip().lower()
    if not text:
        raise ValueError("empty duration")
    pos = 0
    total = 0
    seen = set()
    for match in _PART.finditer(text):
        if match.start() != pos:
            raise ValueError(f"unexpected text at {pos}: {text!r}")
        unit = match.group(2)
        if unit in seen:
            raise ValueError(f"unit {unit!r} repeated in {text!r}")
        seen.add(unit)
        total += int(match.group(1)) * _UNITS[unit]
        pos = match.end()
    if pos != len(text):
        raise ValueError(f"unexpected text at {pos}: {text!r}")
    return total
''',
"The regex finds number-unit pairs; tracking `pos` makes sure the pairs are contiguous and cover the whole string, so inputs like `1h x` or `h30` are rejected instead of silently ignoring the junk. Repeated units are refused too. `parse_duration('2d4h')` is 2*86400 + 4*3600 = 187200.",
bug=("        pos = match.end()\n", "", "parse_duration('1h30m') raises ValueError: unexpected text at 0",
     "`pos` is never advanced, so the second match starts at 2 while `pos` is still 0 and the contiguity check fails. After each pair, `pos` must move to the match end."),
tests=r'''
import pytest
from duration import parse_duration


def test_single_units():
    assert parse_duration("45s") == 45
    assert parse_duration("2m") == 120


def test_combined():
    assert parse_duration("1h30m") == 5400
    assert parse_duration("2d4h") == 187200


def test_case_and_whitespace():
    assert parse_duration(" 1H ") == 3600


@pytest.mark.parametrize("bad", ["", "h", "10", "1h x", "1x", "1h1h"])
def test_rejects_garbage(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)
'''),

T("python", "Using pandas, given a DataFrame of orders with columns customer_id, order_date, amount, compute per customer: number of orders, total amount, and the date of their first order. Sort by total descending.",
r'''
import pandas as pd


def customer_summary(orders: pd.DataFrame) -> pd.DataFrame:
    orders = orders.assign(order_date=pd.to_datetime(orders["order_date"]))
    summary = (
        orders.groupby("customer_id")
        .agg(
            n_orders=("amount", "size"),
            total=("amount", "sum"),
            first_order=("order_date", "min"),
        )
        .sort_values("total", ascending=False)
        .reset_index()
    )
    return summary
''',
"Named aggregation (`new_column=(source_column, function)`) computes all three statistics in one `groupby` and names the output columns directly. `size` counts rows, including orders with a missing amount, whereas `count` would skip NaN. Converting `order_date` first makes `min` compare dates rather than strings."),

T("python", "Write a Python function to check whether a string of brackets ()[]{} is balanced.",
r'''
def is_balanced(s: str) -> bool:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack = []
    for ch in s:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack
''',
"Opening brackets are pushed on a stack; a closing bracket must match the most recent unmatched opening one. The string is balanced only if no mismatch happened and the stack is empty at the end. Other characters are ignored.",
bug=("    return not stack", "    return True", "is_balanced('((') returns True",
     "The function only checks closing brackets. Leftover opening brackets on the stack mean some were never closed, so the result must be `not stack`."),
tests=r'''
from brackets import is_balanced


def test_balanced_cases():
    for s in ["", "()", "([]{})", "a(b[c]d)e", "{[()()]}"]:
        assert is_balanced(s), s


def test_unbalanced_cases():
    for s in ["(", ")", "(]", "([)]", "((", "{[}"]:
        assert not is_balanced(s), s
'''),

T("python", "Write a small command-line tool in Python (argparse) that finds duplicate files in a directory tree by content hash and prints groups of duplicates.",
r'''
import argparse
import hashlib
import os
import sys
from collections import defaultdict


def file_digest(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def find_duplicates(root):
    by_size = defaultdict(list)
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                by_size[os.path.getsize(path)].append(path)
    groups = defaultdict(list)
    for size, paths in by_size.items():
        if len(paths) < 2:
            continue
        for path in paths:
            groups[(size, file_digest(path))].append(path)
    return [sorted(p) for p in groups.values() if len(p) > 1]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Find duplicate files by content.")
    parser.add_argument("root", help="directory to scan")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.root):
        parser.error(f"{args.root} is not a directory")
    dups = find_duplicates(args.root)
    for group in dups:
        print("\n".join(group))
        print()
    print(f"{len(dups)} groups of duplicates", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
''',
"Files are first grouped by size, which is free to read; only files sharing a size are hashed, which avoids hashing most of the tree. SHA-256 is computed in 1 MiB chunks so large files are not loaded into memory. Symbolic links are skipped to avoid reporting a file as a duplicate of itself. The summary goes to stderr so stdout stays a clean list."),

# ---------------------------------------------------------------- C
T("c", "Write a C function that reverses a singly linked list in place and returns the new head.",
r'''
#include <stddef.h>

struct node {
    int value;
    struct node *next;
};

struct node *list_reverse(struct node *head)
{
    struct node *prev = NULL;
    while (head) {
        struct node *next = head->next;
        head->next = prev;
        prev = head;
        head = next;
    }
    return prev;
}
''',
"Three pointers walk the list: `prev` is the already-reversed part, `head` the current node and `next` saves the rest before the link is overwritten. Each step points the current node back at `prev`. When `head` becomes NULL, `prev` is the old tail, now the new head. It runs in O(n) time and O(1) extra space, and handles the empty list (returns NULL).",
bug=("        struct node *next = head->next;\n        head->next = prev;", "        head->next = prev;\n        struct node *next = head->next;", "the reversed list only contains the first node",
     "The next pointer is read after it was overwritten with `prev` (NULL on the first step), so the loop stops after one node. Save `head->next` before changing it."),
tests=r'''
#include <assert.h>
#include <stdio.h>

#include "list.h"

static struct node *build(struct node *nodes, int n)
{
    for (int i = 0; i < n; i++) {
        nodes[i].value = i + 1;
        nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
    }
    return n ? &nodes[0] : NULL;
}

int main(void)
{
    struct node nodes[4];
    assert(list_reverse(NULL) == NULL);

    struct node *one = list_reverse(build(nodes, 1));
    assert(one->value == 1 && one->next == NULL);

    struct node *h = list_reverse(build(nodes, 4));
    for (int expect = 4; expect >= 1; expect--) {
        assert(h && h->value == expect);
        h = h->next;
    }
    assert(h == NULL);
    puts("all tests passed");
    return 0;
}
'''),

T("c", "Implement a safe string copy in C, `size_t str_copy(char *dst, size_t size, const char *src)`, that always NUL-terminates (when size > 0) and returns the length of src so the caller can detect truncation (like strlcpy).",
r'''
#include <string.h>

size_t str_copy(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);
    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

/* Usage:
 *   char buf[16];
 *   if (str_copy(buf, sizeof buf, name) >= sizeof buf)
 *       fprintf(stderr, "name truncated\n");
 */
''',
"The function copies at most `size - 1` bytes and always writes the terminator, so the destination is a valid string even when the source is too long. Returning the full source length (not the copied length) lets the caller test `ret >= size` for truncation. With `size == 0` nothing is written, which is why the subtraction happens only inside the `if` (otherwise `size - 1` would wrap around).",
bug=("len < size - 1 ? len : size - 1", "len < size ? len : size", "with an 8-byte buffer and a long source, the program writes one byte past the end of the buffer",
     "When the source is at least `size` long, `n` becomes `size` and `dst[n] = '\\0'` writes at index `size`, one past the buffer. Only `size - 1` bytes fit before the terminator.")),

T("c", "Write a C program that counts lines, words and bytes of stdin, like wc.",
r'''
#include <ctype.h>
#include <stdio.h>

int main(void)
{
    unsigned long lines = 0, words = 0, bytes = 0;
    int in_word = 0;
    int c;

    while ((c = getchar()) != EOF) {
        bytes++;
        if (c == '\n')
            lines++;
        if (isspace(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    if (ferror(stdin)) {
        perror("stdin");
        return 1;
    }
    printf("%lu %lu %lu\n", lines, words, bytes);
    return 0;
}
''',
"`getchar` returns an `int` so that EOF can be told apart from the byte 0xFF; storing it in a `char` would be a classic bug. A word starts at a non-space character that follows a space (the `in_word` flag). Lines are counted by newline characters, so a final line without a newline is not counted, exactly like `wc -l`. A read error is reported instead of printing partial counts.",
bug=("    int c;", "    char c;", "on some inputs the program stops early, and on others it never terminates",
     "With `char c`, the byte 0xFF compares equal to EOF where char is signed (early stop), and where char is unsigned EOF (-1) can never be stored, so the loop never ends. `getchar` returns int for this reason.")),

T("c", "Write a dynamic array (vector) of ints in C with push, get and free, growing geometrically. Handle allocation failure.",
r'''
#include <stdlib.h>

typedef struct {
    int *data;
    size_t len;
    size_t cap;
} int_vec;

/* Returns 0 on success, -1 when memory runs out (the vector is unchanged). */
int vec_push(int_vec *v, int value)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        int *data = realloc(v->data, cap * sizeof *data);
        if (!data)
            return -1;
        v->data = data;
        v->cap = cap;
    }
    v->data[v->len++] = value;
    return 0;
}

int vec_get(const int_vec *v, size_t i, int *out)
{
    if (i >= v->len)
        return -1;
    *out = v->data[i];
    return 0;
}

void vec_free(int_vec *v)
{
    free(v->data);
    v->data = NULL;
    v->len = v->cap = 0;
}

/* Usage: int_vec v = {0}; vec_push(&v, 42); ... vec_free(&v); */
''',
"Doubling the capacity makes pushes amortised O(1). The result of `realloc` goes into a temporary first: assigning it straight to `v->data` would lose (and leak) the old buffer when `realloc` fails. A zero-initialised `int_vec` is a valid empty vector, because `realloc(NULL, n)` behaves like `malloc`. `vec_get` bounds-checks and reports through an out parameter.",
bug=("        int *data = realloc(v->data, cap * sizeof *data);\n        if (!data)\n            return -1;\n        v->data = data;",
     "        v->data = realloc(v->data, cap * sizeof *v->data);\n        if (!v->data)\n            return -1;",
     "valgrind reports a leak when memory runs out, and the vector's contents are lost",
     "On failure `realloc` returns NULL but leaves the old block allocated; overwriting `v->data` with NULL loses the only pointer to it and empties the vector while `len` still claims elements. Keep the result in a temporary until it is known to be valid.")),

T("c", "In C, parse a string as a base-10 long with full error checking (empty input, trailing junk, overflow).",
r'''
#include <errno.h>
#include <stdlib.h>

/* Returns 0 and stores the value on success, -1 on any error. */
int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s)
        return -1;           /* no digits */
    if (*end != '\0')
        return -1;           /* trailing characters */
    if (errno == ERANGE)
        return -1;           /* overflow or underflow */
    *out = v;
    return 0;
}
''',
"`strtol` reports three different failures in three different ways: `end == s` when no digits were read, `*end != 0` when something follows the number, and `errno == ERANGE` on overflow (the return value is then LONG_MAX or LONG_MIN, which can also be valid input, so `errno` is the only reliable signal). That is why `errno` must be reset to 0 before the call. Leading whitespace and a sign are accepted by `strtol`.",
bug=("    errno = 0;\n", "", "parse_long sometimes rejects valid numbers like \"42\"",
     "`errno` is only set on error, never cleared on success. Without resetting it first, an ERANGE left over from an earlier unrelated call makes a valid parse look like an overflow.")),

T("c", "Write a C function that computes the CRC-32 (IEEE 802.3, polynomial 0xEDB88320 reflected) of a buffer using a lookup table built on first use.",
r'''
#include <stddef.h>
#include <stdint.h>

static uint32_t crc_table[256];
static int crc_table_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    crc_table_ready = 1;
}

uint32_t crc32(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint32_t c = 0xFFFFFFFFu;
    if (!crc_table_ready)
        crc_init();
    while (len--)
        c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* crc32("123456789", 9) == 0xCBF43926 */
''',
"The table holds the CRC of every single byte value, so the main loop processes a byte with one lookup, one XOR and one shift. The register starts at all ones and is inverted at the end, as the standard specifies; the check value for the ASCII string \"123456789\" is 0xCBF43926. The lazy initialisation is not thread-safe; in threaded code call `crc_init` once at startup or make the table a precomputed constant."),

T("c", "Write a function in C that splits a string on a delimiter character into a newly allocated array of strings (NULL-terminated). The caller frees everything with a second function.",
r'''
#include <stdlib.h>
#include <string.h>

char **split(const char *s, char delim)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        if (*p == delim)
            n++;
    char **parts = calloc(n + 1, sizeof *parts);
    if (!parts)
        return NULL;
    size_t i = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == delim || *p == '\0') {
            size_t len = (size_t)(p - start);
            parts[i] = malloc(len + 1);
            if (!parts[i])
                goto fail;
            memcpy(parts[i], start, len);
            parts[i][len] = '\0';
            i++;
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    return parts;
fail:
    for (size_t j = 0; j < i; j++)
        free(parts[j]);
    free(parts);
    return NULL;
}

void split_free(char **parts)
{
    if (!parts)
        return;
    for (char **p = parts; *p; p++)
        free(*p);
    free(parts);
}
''',
"A first pass counts delimiters to size the array exactly (pieces = delimiters + 1, plus the NULL terminator, which `calloc` already zeroes). The second pass copies each piece. Empty fields are kept, so `split(\"a,,b\", ',')` gives `\"a\", \"\", \"b\"`. If an allocation fails midway, everything allocated so far is released, so the function never leaks.",
reasoning="Count pieces first, allocate n+1 pointers. Copy each piece with malloc(len+1). Must clean up on partial failure. Keep empty fields, like strsep behaviour."),

T("c", "Write a C function that checks if a 32-bit unsigned integer is a power of two, and another that rounds up to the next power of two.",
r'''
#include <stdbool.h>
#include <stdint.h>

bool is_pow2(uint32_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

/* Smallest power of two >= x, for 1 <= x <= 2^31; returns 0 for x == 0 or x > 2^31. */
uint32_t next_pow2(uint32_t x)
{
    if (x == 0 || x > (1u << 31))
        return 0;
    x--;
    x |= x >> 1;
    x |= x >> 2;
    x |= x >> 4;
    x |= x >> 8;
    x |= x >> 16;
    return x + 1;
}
''',
"A power of two has exactly one bit set; subtracting one clears that bit and sets all lower bits, so `x & (x - 1)` is zero only for powers of two (zero is excluded explicitly). `next_pow2` subtracts one so exact powers map to themselves, then smears the highest set bit into every lower position with the shift-or cascade, giving 2^k - 1, and adds one. Inputs above 2^31 have no 32-bit answer and return 0.",
tests=r'''
#include <assert.h>
#include <stdio.h>

#include "bits.h"

int main(void)
{
    assert(!is_pow2(0));
    assert(is_pow2(1) && is_pow2(2) && is_pow2(1024) && is_pow2(0x80000000u));
    assert(!is_pow2(3) && !is_pow2(12) && !is_pow2(0xFFFFFFFFu));

    assert(next_pow2(0) == 0);
    assert(next_pow2(1) == 1);
    assert(next_pow2(3) == 4);
    assert(next_pow2(64) == 64);
    assert(next_pow2(65) == 128);
    assert(next_pow2(0x80000000u) == 0x80000000u);
    assert(next_pow2(0x80000001u) == 0);
    puts("ok");
    return 0;
}
'''),

# ---------------------------------------------------------------- C++
T("cpp", "Write a thread-safe bounded queue in C++17 with blocking push and pop (producer/consumer).",
r'''
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <queue>

template <typename T>
class BoundedQueue {
public:
    explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {}

    void push(T value) {
        std::unique_lock<std::mutex> lock(mutex_);
        not_full_.wait(lock, [&] { return items_.size() < capacity_; });
        items_.push(std::move(value));
        lock.unlock();
        not_empty_.notify_one();
    }

    T pop() {
        std::unique_lock<std::mutex> lock(mutex_);
        not_empty_.wait(lock, [&] { return !items_.empty(); });
        T value = std::move(items_.front());
        items_.pop();
        lock.unlock();
        not_full_.notify_one();
        return value;
    }

private:
    std::size_t capacity_;
    std::queue<T> items_;
    std::mutex mutex_;
    std::condition_variable not_full_;
    std::condition_variable not_empty_;
};
''',
"Two condition variables separate the two reasons to wait: producers wait on `not_full_`, consumers on `not_empty_`. The predicate form of `wait` re-checks the condition after every wake-up, which handles spurious wake-ups. Unlocking before `notify_one` avoids waking a thread only for it to block on the mutex again. Values are moved in and out, so the queue works with move-only types like `std::unique_ptr`.",
bug=("not_empty_.wait(lock, [&] { return !items_.empty(); });", "if (items_.empty()) not_empty_.wait(lock);", "under load, pop() occasionally crashes or returns garbage",
     "A plain `wait` can return spuriously, or after another consumer already took the item, so the queue may still be empty when `front()` is called, which is undefined behaviour. The condition must be re-checked in a loop, which the predicate overload does.")),

T("cpp", "Write a C++ function that reads a text file and returns the 10 most frequent words with their counts, using the standard library only.",
r'''
#include <algorithm>
#include <cctype>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

std::vector<std::pair<std::string, int>> top_words(const std::string& path, std::size_t k = 10) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);

    std::unordered_map<std::string, int> counts;
    std::string word;
    char ch;
    auto flush = [&] {
        if (!word.empty()) { ++counts[word]; word.clear(); }
    };
    while (in.get(ch)) {
        unsigned char u = static_cast<unsigned char>(ch);
        if (std::isalnum(u)) word += static_cast<char>(std::tolower(u));
        else flush();
    }
    flush();

    std::vector<std::pair<std::string, int>> items(counts.begin(), counts.end());
    auto by_count = [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    };
    std::size_t n = std::min(k, items.size());
    std::partial_sort(items.begin(), items.begin() + n, items.end(), by_count);
    items.resize(n);
    return items;
}
''',
"Characters are accumulated into the current word while they are alphanumeric; any other character ends the word. The cast to `unsigned char` before `isalnum`/`tolower` matters: passing a negative `char` (any non-ASCII byte) to these functions is undefined behaviour. `partial_sort` only orders the first k elements, which is cheaper than sorting everything when there are many distinct words."),

T("cpp", "Implement a simple RAII wrapper in C++ for a POSIX file descriptor: closes on destruction, movable, not copyable.",
r'''
#include <unistd.h>

#include <utility>

class UniqueFd {
public:
    UniqueFd() noexcept = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    ~UniqueFd() { reset(); }

    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }

    int release() noexcept { return std::exchange(fd_, -1); }

    void reset(int fd = -1) noexcept {
        int old = std::exchange(fd_, fd);
        if (old >= 0) ::close(old);
    }

private:
    int fd_ = -1;
};
''',
"The destructor closes the descriptor, so it cannot leak on early returns or exceptions. Copying is deleted because two owners would close the same descriptor twice. Moving transfers ownership with `release`, which leaves the source holding -1. `reset` swaps in the new value before closing the old one, so resetting to the same object is safe, and the self-move check keeps `a = std::move(a)` from closing the descriptor.",
bug=("UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}", "UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) {}", "after returning a UniqueFd from a function, reads fail with EBADF",
     "The move constructor copies the descriptor but leaves the source owning it too; when the moved-from temporary is destroyed it closes the descriptor the new object still uses. Moving must take ownership with `release()`.")),

T("cpp", "Write a C++ function template `chunked` that splits a std::vector<T> into chunks of size n (last chunk may be shorter).",
r'''
#include <cstddef>
#include <stdexcept>
#include <vector>

template <typename T>
std::vector<std::vector<T>> chunked(const std::vector<T>& items, std::size_t n) {
    if (n == 0) throw std::invalid_argument("chunk size must be positive");
    std::vector<std::vector<T>> chunks;
    chunks.reserve((items.size() + n - 1) / n);
    for (std::size_t i = 0; i < items.size(); i += n) {
        std::size_t end = std::min(i + n, items.size());
        chunks.emplace_back(items.begin() + i, items.begin() + end);
    }
    return chunks;
}
''',
"Each chunk is built from an iterator range `[i, min(i + n, size))`, so the last chunk is simply shorter. The number of chunks is the ceiling of size / n, which `reserve` uses to avoid reallocation. A chunk size of zero would loop forever, so it is rejected.",
tests=r'''
#include <gtest/gtest.h>

#include "chunked.hpp"

TEST(Chunked, EvenSplit) {
    auto c = chunked(std::vector<int>{1, 2, 3, 4}, 2);
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0], (std::vector<int>{1, 2}));
    EXPECT_EQ(c[1], (std::vector<int>{3, 4}));
}

TEST(Chunked, ShortLastChunk) {
    auto c = chunked(std::vector<int>{1, 2, 3, 4, 5}, 2);
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[2], (std::vector<int>{5}));
}

TEST(Chunked, EmptyInput) {
    EXPECT_TRUE(chunked(std::vector<int>{}, 3).empty());
}

TEST(Chunked, ZeroSizeThrows) {
    EXPECT_THROW(chunked(std::vector<int>{1}, 0), std::invalid_argument);
}
'''),

T("cpp", "Write a C++ class for a 2D matrix of doubles with element access, multiplication, and a transpose method. Check dimensions.",
r'''
#include <cstddef>
#include <stdexcept>
#include <vector>

class Matrix {
public:
    Matrix(std::size_t rows, std::size_t cols, double fill = 0.0)
        : rows_(rows), cols_(cols), data_(rows * cols, fill) {}

    std::size_t rows() const { return rows_; }
    std::size_t cols() const { return cols_; }

    double& operator()(std::size_t r, std::size_t c) { return data_[r * cols_ + c]; }
    double operator()(std::size_t r, std::size_t c) const { return data_[r * cols_ + c]; }

    Matrix transpose() const {
        Matrix t(cols_, rows_);
        for (std::size_t r = 0; r < rows_; ++r)
            for (std::size_t c = 0; c < cols_; ++c)
                t(c, r) = (*this)(r, c);
        return t;
    }

    friend Matrix operator*(const Matrix& a, const Matrix& b) {
        if (a.cols_ != b.rows_)
            throw std::invalid_argument("matrix shapes do not match for multiplication");
        Matrix out(a.rows_, b.cols_);
        for (std::size_t i = 0; i < a.rows_; ++i)
            for (std::size_t k = 0; k < a.cols_; ++k) {
                double aik = a(i, k);
                for (std::size_t j = 0; j < b.cols_; ++j)
                    out(i, j) += aik * b(k, j);
            }
        return out;
    }

private:
    std::size_t rows_, cols_;
    std::vector<double> data_;
};
''',
"Storage is one contiguous row-major vector, element (r, c) at `r * cols + c`, which is cache-friendly and cheap to copy or move. The multiplication uses i-k-j loop order: the innermost loop walks rows of `b` and `out` contiguously, which is noticeably faster than the textbook i-j-k order on large matrices. Shapes are checked before multiplying.",
bug=("return data_[r * cols_ + c]; }\n    double operator()", "return data_[r * rows_ + c]; }\n    double operator()", "writing to a 2x3 matrix with m(1, 0) = 5 changes the wrong element, and transposes of non-square matrices are scrambled",
     "The row stride of a row-major matrix is the number of columns, not the number of rows. With `rows_` the non-const accessor maps different (r, c) pairs to overlapping slots whenever the matrix is not square.")),

T("cpp", "Explain and implement binary search over a sorted std::vector<int> that returns the index of the first element >= target (lower bound) without using std::lower_bound.",
r'''
#include <cstddef>
#include <vector>

std::size_t lower_bound_index(const std::vector<int>& v, int target) {
    std::size_t lo = 0, hi = v.size();   // answer lies in [lo, hi]
    while (lo < hi) {
        std::size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;   // == v.size() when every element is < target
}
''',
"The search keeps the invariant that everything before `lo` is smaller than the target and everything from `hi` on is at least the target. Each step halves `[lo, hi)`; when the range is empty, `lo` is the first position that is not smaller. Using a half-open range avoids the off-by-one errors of the `hi = size - 1` variant, and `lo + (hi - lo) / 2` cannot overflow.",
bug=("            lo = mid + 1;", "            lo = mid;", "lower_bound_index({1, 3}, 5) never returns",
     "When `hi == lo + 1`, `mid` equals `lo`; if that element is smaller than the target, `lo = mid` makes no progress and the loop spins forever. The element at `mid` is known to be too small, so the search must continue from `mid + 1`.")),

# ---------------------------------------------------------------- Rust
T("rust", "Write a Rust function that groups a slice of words by their sorted letters (anagram groups) and returns the groups with more than one word.",
r'''
use std::collections::HashMap;

pub fn anagram_groups<'a>(words: &[&'a str]) -> Vec<Vec<&'a str>> {
    let mut groups: HashMap<Vec<char>, Vec<&'a str>> = HashMap::new();
    for &word in words {
        let mut key: Vec<char> = word.to_lowercase().chars().collect();
        key.sort_unstable();
        groups.entry(key).or_default().push(word);
    }
    let mut result: Vec<Vec<&'a str>> = groups
        .into_values()
        .filter(|g| g.len() > 1)
        .collect();
    for g in &mut result {
        g.sort_unstable();
    }
    result.sort();
    result
}
''',
"Two words are anagrams exactly when their sorted letters are equal, so the sorted character vector is the map key. `entry(...).or_default()` creates the group on first sight. The output borrows the input strings (lifetime `'a`) rather than allocating copies. Sorting the groups at the end makes the output deterministic, since `HashMap` iteration order is random.",
tests=r'''
#[cfg(test)]
mod tests {
    use super::anagram_groups;

    #[test]
    fn finds_groups() {
        let words = ["listen", "silent", "enlist", "google", "cat", "act"];
        let groups = anagram_groups(&words);
        assert_eq!(groups, vec![vec!["act", "cat"], vec!["enlist", "listen", "silent"]]);
    }

    #[test]
    fn ignores_case() {
        assert_eq!(anagram_groups(&["Dusty", "study"]), vec![vec!["Dusty", "study"]]);
    }

    #[test]
    fn no_groups() {
        assert!(anagram_groups(&["one", "two"]).is_empty());
        assert!(anagram_groups(&[]).is_empty());
    }
}
'''),

T("rust", "Write a Rust program that reads key=value lines from a config file into a HashMap, skipping blank lines and # comments, and returns a descriptive error with the line number for malformed lines.",
r'''
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;

#[derive(Debug)]
pub enum ConfigError {
    Io(io::Error),
    Malformed { line: usize, text: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io(e) => write!(f, "cannot read config: {e}"),
            ConfigError::Malformed { line, text } => {
                write!(f, "line {line}: expected key=value, got {text:?}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<io::Error> for ConfigError {
    fn from(e: io::Error) -> Self {
        ConfigError::Io(e)
    }
}

pub fn parse_config(text: &str) -> Result<HashMap<String, String>, ConfigError> {
    let mut map = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| ConfigError::Malformed {
            line: i + 1,
            text: raw.to_string(),
        })?;
        let key = key.trim();
        if key.is_empty() {
            return Err(ConfigError::Malformed { line: i + 1, text: raw.to_string() });
        }
        map.insert(key.to_string(), value.trim().to_string());
    }
    Ok(map)
}

pub fn load_config(path: &str) -> Result<HashMap<String, String>, ConfigError> {
    let text = fs::read_to_string(path)?;
    parse_config(&text)
}
''',
"Parsing is separated from reading so it can be tested on strings. `split_once('=')` splits at the first `=`, so values may themselves contain `=`. Errors are an enum: I/O errors convert automatically through `From`, which is what makes `?` work in `load_config`, and malformed lines carry a 1-based line number and the original text for the message.",
bug=("line: i + 1,\n            text: raw", "line: i,\n            text: raw", "the error for a bad first line says \"line 0\"",
     "`enumerate` counts from zero, but editors and users count lines from one. The reported line must be `i + 1` (the other error path already does this)."),
reasoning="Use an error enum with Io and Malformed variants, implement Display and From<io::Error>. split_once at first '='. Trim both parts. Line numbers 1-based."),

T("rust", "Implement a generic stack in Rust backed by a Vec with push, pop, peek, len and is_empty.",
r'''
#[derive(Debug, Default)]
pub struct Stack<T> {
    items: Vec<T>,
}

impl<T> Stack<T> {
    pub fn new() -> Self {
        Stack { items: Vec::new() }
    }

    pub fn push(&mut self, item: T) {
        self.items.push(item);
    }

    pub fn pop(&mut self) -> Option<T> {
        self.items.pop()
    }

    pub fn peek(&self) -> Option<&T> {
        self.items.last()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
''',
"The stack delegates to `Vec`, whose end is the top: `push` and `pop` are amortised O(1). `pop` and `peek` return `Option` so an empty stack is a normal case rather than a panic, and `peek` returns a reference so the item stays owned by the stack. `Default` is derived so `Stack::default()` works too.",
tests=r'''
#[cfg(test)]
mod tests {
    use super::Stack;

    #[test]
    fn lifo_order() {
        let mut s = Stack::new();
        s.push(1);
        s.push(2);
        s.push(3);
        assert_eq!(s.pop(), Some(3));
        assert_eq!(s.pop(), Some(2));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn peek_does_not_remove() {
        let mut s = Stack::new();
        s.push("a");
        assert_eq!(s.peek(), Some(&"a"));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn empty_stack() {
        let mut s: Stack<i32> = Stack::new();
        assert!(s.is_empty());
        assert_eq!(s.pop(), None);
        assert_eq!(s.peek(), None);
    }
}
'''),

T("rust", "Write a Rust function that computes the median of a Vec<f64> without panicking on NaN; return None for empty input.",
r'''
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.len() / 2;
    if v.len() % 2 == 0 {
        Some((v[mid - 1] + v[mid]) / 2.0)
    } else {
        Some(v[mid])
    }
}
''',
"`f64` only implements `PartialOrd`, so `sort()` does not compile and `partial_cmp(...).unwrap()` panics on NaN. `total_cmp` defines a total order over all floats (NaNs sort to the ends), so sorting never panics. The input is copied so the caller's slice is not reordered. For an even count the median is the mean of the two middle values.",
bug=("Some((v[mid - 1] + v[mid]) / 2.0)", "Some(v[mid])", "median(&[1.0, 2.0, 3.0, 4.0]) returns 3.0 instead of 2.5",
     "For an even number of values there is no single middle element; the median is the average of the two central ones, at indices `mid - 1` and `mid`.")),

T("rust", "Write a Rust function that counts word frequencies in a string and returns them sorted by count (desc) then word, using iterators.",
r'''
use std::collections::HashMap;

pub fn word_counts(text: &str) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
    {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    let mut pairs: Vec<(String, usize)> = counts.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    pairs
}
''',
"The text is split on every character that is neither alphanumeric nor an apostrophe, and the empty pieces between consecutive separators are filtered out. `entry(...).or_insert(0)` returns a mutable reference to the count, incremented in place. The comparator sorts by count descending (`b` before `a`) and breaks ties alphabetically with `then_with`.",
messy=r'''
use std::collections::HashMap;

pub fn word_counts(text: &str) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let lower = text.to_lowercase();
    let mut current = String::new();
    for c in lower.chars() {
        if c.is_alphanumeric() || c == '\'' {
            current.push(c);
        } else {
            if current.len() > 0 {
                if counts.contains_key(&current) {
                    let n = counts.get(&current).unwrap().clone();
                    counts.insert(current.clone(), n + 1);
                } else {
                    counts.insert(current.clone(), 1);
                }
                current = String::new();
            }
        }
    }
    if current.len() > 0 {
        if counts.contains_key(&current) {
            let n = counts.get(&current).unwrap().clone();
            counts.insert(current.clone(), n + 1);
        } else {
            counts.insert(current.clone(), 1);
        }
    }
    let mut pairs = Vec::new();
    for (k, v) in counts.iter() {
        pairs.push((k.clone(), v.clone()));
    }
    pairs.sort_by(|a, b| {
        if a.1 != b.1 {
            b.1.cmp(&a.1)
        } else {
            a.0.cmp(&b.0)
        }
    });
    pairs
}
''',
refactor_note="The manual character loop duplicates the insert logic for the last word and does three hash lookups per word (`contains_key`, `get`, `insert`). `split` with a closure plus `filter` replaces the state machine, `entry().or_insert()` does one lookup, and `into_iter` moves the strings out of the map instead of cloning them."),

T("rust", "Write a Rust function that validates an IPv4 address string (four decimal octets 0-255, no leading zeros) without using std::net.",
r'''
pub fn is_valid_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return false;
    }
    parts.iter().all(|p| {
        !p.is_empty()
            && p.len() <= 3
            && p.bytes().all(|b| b.is_ascii_digit())
            && !(p.len() > 1 && p.starts_with('0'))
            && p.parse::<u16>().map_or(false, |n| n <= 255)
    })
}
''',
"The address must split into exactly four parts. Each part must be one to three ASCII digits (which also rejects signs and spaces that `parse` might otherwise accept or reject inconsistently), must not have a leading zero unless it is exactly `0`, and must be at most 255. Parsing as `u16` cannot overflow for three digits.",
bug=("&& !(p.len() > 1 && p.starts_with('0'))\n", "", "is_valid_ipv4(\"192.168.01.1\") returns true",
     "Nothing rejects octets with leading zeros such as `01`, which many parsers interpret as octal. Such octets must be refused unless the octet is exactly `0`."),
tests=r'''
#[cfg(test)]
mod tests {
    use super::is_valid_ipv4;

    #[test]
    fn accepts_valid() {
        for s in ["0.0.0.0", "192.168.1.1", "255.255.255.255", "10.0.0.10"] {
            assert!(is_valid_ipv4(s), "{s}");
        }
    }

    #[test]
    fn rejects_invalid() {
        for s in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "a.b.c.d", "+1.2.3.4", "1.2.3.4 "] {
            assert!(!is_valid_ipv4(s), "{s}");
        }
    }
}
'''),

T("rust", "Use Rust threads to sum a large Vec<u64> in parallel across N threads with std::thread::scope.",
r'''
use std::thread;

pub fn parallel_sum(data: &[u64], threads: usize) -> u64 {
    let threads = threads.max(1);
    let chunk = data.len().div_ceil(threads).max(1);
    thread::scope(|s| {
        let handles: Vec<_> = data
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().sum::<u64>()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}
''',
"`thread::scope` guarantees that every spawned thread finishes before the scope returns, which is what lets the threads borrow slices of `data` without `Arc` or copying. The data is cut into at most `threads` chunks of `ceil(len / threads)` elements. Each thread sums its chunk and the partial sums are added after joining. `max(1)` guards against zero threads and against an empty input (chunk size 0 would panic in `chunks`)."),
]

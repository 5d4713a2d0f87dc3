# heldout.py: the held-out evaluation set (never used for calibration), authored for reap.
# Code tasks here are distinct from the calibration tasks; tool conversations use scenario code
# shared with the calibration set but different concrete cases, plus scenarios of their own.
from code_tasks_a import T
from conv import Conv, system_for
import tool_scenarios_a as A
import tool_scenarios_b as B
import tool_scenarios_c as C

HELDOUT_TASKS = [
T("python", "Write a Python function `chunk_text(text, max_len)` that splits text into chunks of at most max_len characters, breaking at whitespace where possible and never splitting a word unless the word itself is longer than max_len.",
r'''
def chunk_text(text, max_len):
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    chunks, current = [], ""
    for word in text.split():
        while len(word) > max_len:  # a word that can never fit is cut into pieces
            if current:
                chunks.append(current)
                current = ""
            chunks.append(word[:max_len])
            word = word[max_len:]
        if not word:
            continue
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= max_len:
            current += " " + word
        else:
            chunks.append(current)
            current = word
    if current:
        chunks.append(current)
    return chunks
''',
"Words are packed greedily: a word joins the current chunk (with one space) while the result still fits, otherwise the chunk is closed and the word starts a new one. Only a word longer than `max_len` is cut, into full-length pieces, and the remainder continues as a normal word. Runs of whitespace collapse to single spaces because `split()` without arguments splits on any whitespace.",
bug=("len(current) + 1 + len(word) <= max_len", "len(current) + len(word) <= max_len",
     "chunk_text(\"aa bb\", 4) returns [\"aa bb\"], a 5-character chunk",
     "The length check forgets the space that joins the word to the chunk, so chunks can end up one character too long."),
tests=r'''
import pytest
from chunker import chunk_text


def test_packs_words_greedily():
    assert chunk_text("the quick brown fox", 10) == ["the quick", "brown fox"]


def test_counts_the_joining_space():
    assert chunk_text("aa bb", 4) == ["aa", "bb"]
    assert chunk_text("aa bb", 5) == ["aa bb"]


def test_cuts_only_overlong_words():
    assert chunk_text("a abcdefgh b", 5) == ["a", "abcde", "fgh b"]


def test_empty_and_whitespace():
    assert chunk_text("", 5) == []
    assert chunk_text("   \n\t ", 5) == []


def test_rejects_bad_length():
    with pytest.raises(ValueError):
        chunk_text("x", 0)
'''),
T("python", "Write a Python function that rotates an N x N matrix (list of lists) 90 degrees clockwise and returns the new matrix.",
r'''
def rotate_clockwise(matrix):
    """Return a new matrix rotated 90 degrees clockwise."""
    return [list(row) for row in zip(*matrix[::-1])]
''',
"Reversing the row order and then transposing with `zip(*...)` is exactly a clockwise rotation: the last row becomes the first column. `zip` yields tuples, so each is turned back into a list. The input is not modified.",
bug=("matrix[::-1]", "matrix", "rotate_clockwise([[1, 2], [3, 4]]) returns [[1, 3], [2, 4]]",
     "Without reversing the rows first, `zip(*matrix)` is only a transpose (a reflection), not a rotation.")),
T("python", "Write a Python function that flattens an arbitrarily nested list without recursion.",
r'''
def flatten(nested):
    result = []
    stack = [iter(nested)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            result.append(item)
        else:
            stack.pop()
    return result
''',
"An explicit stack of iterators replaces recursion, so nesting depth is limited only by memory. When a sublist is met, its iterator is pushed and the loop restarts on it (`break`); when an iterator is exhausted, the `for ... else` branch pops it and the outer iterator resumes where it stopped. Order is preserved."),
T("c", "Write a C function that removes duplicate adjacent characters from a string in place (\"aabbbc\" -> \"abc\").",
r'''
void squeeze_dups(char *s)
{
    if (!*s)
        return;
    char *out = s + 1;
    for (const char *in = s + 1; *in; in++) {
        if (*in != out[-1])
            *out++ = *in;
    }
    *out = '\0';
}
''',
"Two pointers walk the same buffer: `in` reads every character and `out` marks where the next kept character goes. A character is kept when it differs from the last kept one (`out[-1]`). Since `out` never passes `in`, writing in place is safe. The terminator is written at the end.",
bug=("    *out = '\\0';\n", "", "squeeze_dups on \"aabbbc\" gives \"abcbbc\"",
     "The kept characters are moved to the front, but the old tail is still there because the string is never terminated at the new end.")),
T("c", "Write a C function that converts a string to uppercase in place, correctly for all byte values.",
r'''
#include <ctype.h>

void to_upper(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}
''',
"`toupper` takes an `int` that must be representable as `unsigned char` or be EOF. On platforms where `char` is signed, bytes above 127 are negative, so the cast to `unsigned char` is required to avoid undefined behaviour. Non-letters are returned unchanged.",
bug=("toupper((unsigned char)*s)", "toupper(*s)", "the program crashes on some inputs containing accented characters",
     "Passing a negative `char` (any byte above 0x7F on signed-char platforms) to `toupper` is undefined behaviour; typical implementations index a table with it. Cast to `unsigned char` first.")),
T("rust", "Write a Rust function that returns the longest common prefix of a slice of strings.",
r'''
pub fn longest_common_prefix<'a>(words: &[&'a str]) -> &'a str {
    let Some((first, rest)) = words.split_first() else {
        return "";
    };
    let mut end = first.len();
    for w in rest {
        end = first[..end]
            .char_indices()
            .zip(w.chars())
            .find(|((_, a), b)| a != b)
            .map_or(end.min(w.len()), |((i, _), _)| i);
    }
    while !first.is_char_boundary(end) {
        end -= 1;
    }
    &first[..end]
}
''',
"The prefix starts as the whole first word and shrinks against every other word: the first differing character gives the new end, otherwise the shorter length does. Working with `char_indices` keeps byte offsets on character boundaries, and the final loop guards the case where a shorter word's byte length falls inside a multi-byte character. The result borrows from the input.",
),
T("go", "Write a Go function that checks whether two strings are anagrams, ignoring case and spaces, and supporting Unicode.",
r'''
package anagram

import (
	"strings"
	"unicode"
)

func IsAnagram(a, b string) bool {
	counts := make(map[rune]int)
	for _, r := range strings.ToLower(a) {
		if !unicode.IsSpace(r) {
			counts[r]++
		}
	}
	for _, r := range strings.ToLower(b) {
		if !unicode.IsSpace(r) {
			counts[r]--
		}
	}
	for _, n := range counts {
		if n != 0 {
			return false
		}
	}
	return true
}
''',
"Ranging over a string yields runes (Unicode code points), not bytes, so letters like `é` count as one character. One map counts up for the first string and down for the second; the strings are anagrams exactly when every count ends at zero.",
bug=("counts[r]--", "counts[r]++", "IsAnagram(\"listen\", \"silent\") returns false",
     "Both loops increment, so every count ends at twice the letter frequency and never at zero. The second string must decrement.")),
T("javascript", "Write a JavaScript function that chunks an array into groups of size n.",
r'''
function chunk(array, size) {
  if (!Number.isInteger(size) || size <= 0) {
    throw new RangeError("size must be a positive integer");
  }
  const out = [];
  for (let i = 0; i < array.length; i += size) {
    out.push(array.slice(i, i + size));
  }
  return out;
}
''',
"`slice(i, i + size)` copies at most `size` elements and simply returns fewer at the end, so the last chunk may be shorter. A non-positive or fractional size would loop forever or behave oddly, so it is rejected up front.",
bug=("i += size", "i++", "chunk([1, 2, 3, 4], 2) returns [[1, 2], [2, 3], [3, 4], [4]]",
     "Advancing by one produces overlapping windows. The start index must advance by the chunk size.")),
T("typescript", "Write a TypeScript function `memoize` for single-argument functions with a typed signature.",
r'''
export function memoize<A, R>(fn: (arg: A) => R): (arg: A) => R {
  const cache = new Map<A, R>();
  return (arg: A): R => {
    if (cache.has(arg)) {
      return cache.get(arg) as R;
    }
    const result = fn(arg);
    cache.set(arg, result);
    return result;
  };
}
''',
"The generic parameters carry the argument and result types through, so the memoized function has the same signature. A `Map` compares keys by identity (`SameValueZero`), which works for primitives and for object arguments that are reused. `has` is checked rather than the result of `get`, so functions that legitimately return `undefined` are cached too.",
bug=("    if (cache.has(arg)) {", "    if (cache.get(arg)) {", "a memoized function returning 0 or false recomputes every time",
     "`cache.get(arg)` is falsy for cached results such as 0, false or an empty string, so they look like cache misses. Test membership with `has`.")),
T("java", "Write a Java method that checks if a string is a palindrome, considering only letters and digits and ignoring case.",
r'''
public final class Palindromes {
    private Palindromes() {}

    public static boolean isPalindrome(String s) {
        int i = 0;
        int j = s.length() - 1;
        while (i < j) {
            char a = s.charAt(i);
            char b = s.charAt(j);
            if (!Character.isLetterOrDigit(a)) {
                i++;
            } else if (!Character.isLetterOrDigit(b)) {
                j--;
            } else {
                if (Character.toLowerCase(a) != Character.toLowerCase(b)) {
                    return false;
                }
                i++;
                j--;
            }
        }
        return true;
    }
}
''',
"Two indexes move inward from both ends, skipping characters that are not letters or digits, and compare the rest case-insensitively. No cleaned copy of the string is built, so it uses O(1) extra space. \"A man, a plan, a canal: Panama\" is a palindrome under these rules.",
bug=("        while (i < j) {", "        while (i <= j + 1) {", "isPalindrome(\"ab\") throws StringIndexOutOfBoundsException",
     "With `i <= j + 1` the loop keeps running after the indexes cross, and `j` eventually becomes -1, so `charAt(j)` is out of bounds. The loop must stop once `i` reaches `j`.")),
T("sql", "Tables: students(id, name), enrollments(student_id, course_id, grade). Find students who are not enrolled in any course.",
r'''
SELECT s.id, s.name
FROM students AS s
WHERE NOT EXISTS (
    SELECT 1
    FROM enrollments AS e
    WHERE e.student_id = s.id
)
ORDER BY s.name;
''',
"`NOT EXISTS` keeps each student for whom the correlated subquery finds no enrollment row. It is safer than `NOT IN (SELECT student_id FROM enrollments)`: if any `student_id` in the subquery is NULL, `NOT IN` returns no rows at all, because comparing with NULL is unknown.",
bug=("WHERE NOT EXISTS (\n    SELECT 1\n    FROM enrollments AS e\n    WHERE e.student_id = s.id\n)", "WHERE s.id NOT IN (\n    SELECT e.student_id\n    FROM enrollments AS e\n)",
     "the query returns no students at all, although some have no enrollments",
     "`NOT IN` against a subquery that contains a NULL `student_id` is never true, so every row is filtered out. `NOT EXISTS` does not have this problem.")),
T("sql", "Table logins(user_id, login_at). Find users who logged in on at least 3 consecutive days.",
r'''
WITH days AS (
    SELECT DISTINCT user_id, login_at::date AS day
    FROM logins
),
grouped AS (
    SELECT user_id,
           day,
           day - (ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY day))::int AS streak_id
    FROM days
)
SELECT user_id, MIN(day) AS streak_start, COUNT(*) AS streak_days
FROM grouped
GROUP BY user_id, streak_id
HAVING COUNT(*) >= 3
ORDER BY user_id, streak_start;
''',
"This is the gaps-and-islands technique. After reducing logins to distinct days, subtracting the row number from the date gives a constant for each run of consecutive days (the date and the row number grow together), so that difference identifies a streak. Grouping by it and keeping groups of three or more days finds the streaks and where they start.",
bug=("    SELECT DISTINCT user_id, login_at::date AS day", "    SELECT user_id, login_at::date AS day", "a user who logged in twice on Monday and once on Tuesday is reported with a 3-day streak",
     "Without `DISTINCT`, several logins on the same day get consecutive row numbers but the same date, which breaks the date-minus-row-number trick and counts logins rather than days.")),
T("bash", "Write a bash script that prints the 5 largest directories under a path, with human-readable sizes.",
r'''
#!/usr/bin/env bash
set -euo pipefail

root=${1:-.}
du -h --max-depth=1 -- "$root" 2>/dev/null | sort -rh | sed -n '2,6p'
''',
"`du --max-depth=1` prints the size of every direct subdirectory plus the total for the root itself. `sort -rh` sorts human-readable sizes largest first, so the first line is the root total, which `sed -n '2,6p'` skips while printing the next five. Errors for unreadable directories are discarded so they do not interleave with the output.",
bug=("sort -rh", "sort -rn", "a 900K directory is listed above a 2G directory",
     "`sort -n` reads only the numeric prefix and ignores the K/M/G suffixes, so 900K looks larger than 2G. `sort -h` understands human-readable units.")),
T("bash", "Write a bash loop that renames all *.jpeg files in the current directory to *.jpg, safely.",
r'''
#!/usr/bin/env bash
shopt -s nullglob
for f in *.jpeg; do
    mv -n -- "$f" "${f%.jpeg}.jpg"
done
''',
"The glob gives each file name as one word, even with spaces; `nullglob` makes the loop do nothing when there are no matches. `${f%.jpeg}` strips the extension, `--` protects names starting with a dash and `-n` refuses to overwrite an existing `.jpg`."),
T("haskell", "Write a Haskell function that returns all prime numbers up to n using a simple sieve.",
r'''
primesUpTo :: Int -> [Int]
primesUpTo n = sieve [2 .. n]
  where
    sieve [] = []
    sieve (p : xs)
      | p * p > n = p : xs
      | otherwise = p : sieve [x | x <- xs, x `mod` p /= 0]
''',
"Each step takes the first remaining number, which must be prime, and filters its multiples out of the rest. Once `p * p > n`, every remaining number is prime (a composite up to n has a factor at most sqrt n), so the rest is returned as is. This is the classic functional sieve; it is trial division rather than the array-based sieve of Eratosthenes, but it is fine for moderate n.",
bug=("      | p * p > n = p : xs\n", "", "primesUpTo 100000 is extremely slow",
     "Without the square-root cut-off, every prime up to n filters the whole remaining list, making the work roughly quadratic. Stopping at `p * p > n` is correct and much faster.")),
T("ruby", "Write a Ruby method that returns the word frequencies of a text as a hash sorted by count descending.",
r'''
def word_frequencies(text)
  text.downcase
      .scan(/[[:alpha:]']+/)
      .tally
      .sort_by { |word, count| [-count, word] }
      .to_h
end
''',
"`scan` with a POSIX character class extracts words including non-ASCII letters, `tally` counts occurrences, and sorting by `[-count, word]` gives descending counts with alphabetical ties. Ruby hashes preserve insertion order, so `to_h` keeps the sorted order.",
bug=("[-count, word]", "[count, word]", "the most frequent words come last",
     "Sorting by `count` puts the smallest counts first; negating the count reverses the order while ties stay alphabetical.")),
T("cpp", "Write a C++ function that returns the indices of the two numbers in a vector that add up to a target (each input has exactly one solution).",
r'''
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

std::optional<std::pair<int, int>> two_sum(const std::vector<int>& nums, int target) {
    std::unordered_map<int, int> seen;  // value -> index
    for (int i = 0; i < static_cast<int>(nums.size()); ++i) {
        auto it = seen.find(target - nums[i]);
        if (it != seen.end()) {
            return std::make_pair(it->second, i);
        }
        seen.emplace(nums[i], i);
    }
    return std::nullopt;
}
''',
"A hash map from value to index remembers the numbers already visited. For each element the complement `target - x` is looked up before the element itself is inserted, which both finds the pair in one pass (O(n)) and prevents pairing an element with itself. `std::optional` expresses the no-solution case without sentinel values.",
bug=("        auto it = seen.find(target - nums[i]);\n        if (it != seen.end()) {\n            return std::make_pair(it->second, i);\n        }\n        seen.emplace(nums[i], i);",
     "        seen.emplace(nums[i], i);\n        auto it = seen.find(target - nums[i]);\n        if (it != seen.end()) {\n            return std::make_pair(it->second, i);\n        }",
     "two_sum({3, 2, 4}, 6) returns (0, 0)",
     "Inserting the current element before looking up its complement lets an element pair with itself when it is exactly half the target. Look up first, then insert.")),
]


def reminder_cleanup(r, case):
    path, when, text = case
    c = Conv(r, system_for(r, 5))
    c.user(f"Delete {path} and remind me {text} at {when}.")
    c.call(("delete_file", {"path": path}), ("create_reminder", {"text": text, "remind_at": when, "repeat": "none"}))
    if r.random() < 0.5:
        c.results({"error": f"{path}: no such file"}, {"id": f"rem_{r.randint(100, 999)}", "ok": True})
        c.call(("list_directory", {"path": path.rsplit("/", 1)[0] if "/" in path else "."}), content="The file isn't there; checking the directory.")
        c.results({"entries": [{"name": "keep.txt", "type": "file"}]})
        c.say(f"{path} doesn't exist (maybe already deleted), so there was nothing to remove. The reminder \"{text}\" is set for {when}.")
    else:
        c.results({"ok": True}, {"id": f"rem_{r.randint(100, 999)}", "ok": True})
        c.say(f"Deleted {path} and set a reminder \"{text}\" for {when}.")
    return c.record()


REMINDER_CASES = [("tmp/export_old.csv", "2025-03-17T09:00:00", "to re-run the export"),
                  ("build/cache.bin", "2025-03-15T18:30:00", "to check the nightly build"),
                  ("notes/draft-v1.md", "2025-03-20T10:00:00", "to send the final draft to Mia"),
                  ("logs/debug.log", "2025-03-16T08:00:00", "to turn debug logging off again"),
                  ("data/sample.json", "2025-03-18T14:00:00", "to ask for the new sample data")]

HELDOUT_SCENARIOS = [
    (A.weather_compare, [("Reykjavik", "Dublin", "metric", "Which one needs the thicker coat?"), ("Miami", "Houston", "imperial", ""),
                         ("Vienna", "Prague", "metric", "Road trip this afternoon."), ("Buenos Aires", "Santiago", "metric", ""), ("Hanoi", "Bangkok", "metric", "Which is more humid?")]),
    (A.recipe_units, [([(3, "cup", "mL"), (400, "degF", "degC")], "Pizza dough."), ([(2, "lb", "kg"), (1, "qt", "L")], "Soup for eight."),
                      ([(6, "oz", "g"), (1, "tbsp", "mL"), (8, "in", "cm")], "A small tart.")]),
    (A.currency_error, [(75, "DOLLARS", "USD", "EUR", 0.9197), (20000, "WON", "KRW", "USD", 0.000688), (60, "FRANCS", "CHF", "EUR", 1.0421)]),
    (A.time_zones, [([("Berlin", "Europe/Berlin"), ("Singapore", "Asia/Singapore")], "Webinar timing."),
                    ([("New York", "America/New_York"), ("Los Angeles", "America/Los_Angeles"), ("London", "Europe/London")], ""), ([("Tokyo", "Asia/Tokyo"), ("Kolkata", "Asia/Kolkata")], "Release call.")]),
    (A.stats_calc, [("build durations in minutes", [12.5, 13.1, 11.8, 25.4, 12.9, 13.3], "Did one build stall?"),
                    ("weekly sales", [120, 135, 128, 140, 310, 131, 125], "Anything unusual?"), ("sensor temperatures in °C", [21.4, 21.6, 21.5, 21.9, 22.0, 21.7, 35.2, 21.8], "Is one reading broken?")]),
    (A.stock_portfolio, [[("ORCL", 9), ("IBM", 6)], [("SPY", 10), ("TLT", 15), ("GLD", 4)]]),
    (A.shop_refund, [("ORD-61234", "bluetooth speaker", 59.90, 1, "damaged", 1, "it won't charge at all."),
                     ("ORD-70018", "yoga mat", 29.00, 2, "customer_request", 1, "I only wanted one mat.")]),
    (A.translate_multi, [("See you tomorrow morning.", ["French", "German"], ["À demain matin.", "Bis morgen früh."]), ("The invoice is attached.", ["Spanish", "Dutch", "Polish"], ["La factura está adjunta.", "De factuur is bijgevoegd.", "Faktura jest w załączniku."])]),
    (B.cert_dns, [("mail.example.com", 27, "192.0.2.44"), ("old-shop.example.org", 0, None), ("vpn.example.net", 12, "198.51.100.201")]),
    (B.scale_service, [("shop", "search-api", 2, 5, " before the newsletter goes out"), ("batch", "thumbnailer", 8, 2, "")]),
    (B.sql_recover, [("How many orders were cancelled per week in February?", "orders", [("id", "bigint"), ("status", "text"), ("placed_at", "timestamptz")],
                      "SELECT date_trunc('week', created) AS wk, count(*) FROM orders WHERE status = 'cancelled' GROUP BY 1",
                      "column \"created\" does not exist",
                      "SELECT date_trunc('week', placed_at)::date AS week, count(*) AS cancelled FROM orders WHERE status = 'cancelled' AND placed_at >= '2025-02-01' AND placed_at < '2025-03-01' GROUP BY 1 ORDER BY 1",
                      [{"week": "2025-01-27", "cancelled": 41}, {"week": "2025-02-03", "cancelled": 57}, {"week": "2025-02-10", "cancelled": 38}, {"week": "2025-02-17", "cancelled": 44}, {"week": "2025-02-24", "cancelled": 29}],
                      "Cancelled orders per week in February (weeks start on Monday, so the first and last are partial): 41, 57, 38, 44 and 29.")]),
    (B.k8s_crashloop, [("billing", "invoice-worker", "The process can't parse its config.", "yaml: line 14: did not find expected key", "The ConfigMap `invoice-worker-config` has an indentation error on line 14; fix it and roll the deployment.")]),
    (B.docker_debug, [("mysql", "[ERROR] [MY-010259] [Server] Another process with pid 1 is using unix socket file.\n[ERROR] [MY-010268] [Server] Unable to setup unix socket lock file.\n", "A stale socket lock file is left in the data volume from an unclean shutdown. Remove `mysqld.sock.lock` from the volume and start again.")]),
    (B.fix_bug_agent, [("The CSV export writes every row twice.", "writerow", "*.py", "app/export/csv_export.py",
                        ["        for row in rows:", "            writer.writerow(row)", "            writer.writerow(row)"],
                        "            writer.writerow(row)\n            writer.writerow(row)", "            writer.writerow(row)", "tests/test_csv_export.py",
                        "Each row was written twice in the loop; one `writerow` call per row is enough.")]),
    (B.python_exec, [("What is the 50th Fibonacci number?", "def fib(n):\n    return n if n < 2 else fib(n-1) + fib(n-2)\nprint(fib(50))", "TimeoutError: execution exceeded 10 s",
                      "a, b = 0, 1\nfor _ in range(50):\n    a, b = b, a + b\nprint(a)", "12586269025",
                      "F(50) = **12,586,269,025** (the naive recursion timed out, so I switched to an iterative loop).")]),
    (B.pkg_compare, [("pypi", ["fastapi", "flask", "django"], "fastapi vs flask vs django by the numbers?")]),
    (B.docs_lookup, [("numpy", "How do I get the indices that would sort a numpy array?", [("numpy.argsort", "https://numpy.org/doc/stable/reference/generated/numpy.argsort.html", "Returns the indices that would sort an array.")],
                      "Use `np.argsort`:\n\n```python\nimport numpy as np\na = np.array([30, 10, 20])\nidx = np.argsort(a)   # array([1, 2, 0])\na[idx]                # array([10, 20, 30])\n```\n\nFor descending order use `np.argsort(-a)` or `idx[::-1]`; pass `kind=\"stable\"` to keep ties in order.")]),
    (reminder_cleanup, REMINDER_CASES),
    (C.edit_retry, [("Set the log level to warn in settings.ini.", "settings.ini", "log_level = info",
                     ["[app]", "name = billing", "loglevel = info"], "loglevel = info", "loglevel = warn",
                     "settings.ini now has `loglevel = warn` (the key is spelled `loglevel`, without an underscore)."),
                    ("Change the Node version in .nvmrc to 22.", ".nvmrc", "v20",
                     ["20.11.1"], "20.11.1", "22",
                     ".nvmrc said `20.11.1` (without a leading v); it is now `22`. Run `nvm install` to pick it up.")]),
    (C.http_retry, [("Ping https://status.example.io/api/v2/summary.json for me.", "GET", "https://status.example.io/api/v2/summary.json",
                     {"status": 502, "body": {"error": "bad gateway"}}, "502 from the edge; retrying once.",
                     ("https://status.example.io/api/v2/summary.json", {"status": 200, "body": {"indicator": "minor", "components_degraded": ["Search"]}}),
                     "The status page answered on the second try: indicator **minor**, with Search degraded; everything else is operational.")]),
    (C.flight_code_retry, [("Edinburgh", "EDI", "Amsterdam", "AMS", "2025-05-23", 2,
                            [("KLM", "2025-05-23T06:00", "2025-05-23T08:30", 0, 134), ("easyJet", "2025-05-23T13:45", "2025-05-23T16:20", 0, 88)]),
                           ("Lyon", "LYS", "Krakow", "KRK", "2025-09-08", 1,
                            [("LOT", "2025-09-08T10:05", "2025-09-08T15:40", 1, 176), ("Lufthansa", "2025-09-08T07:15", "2025-09-08T12:05", 1, 198)])]),
    (C.ticket_dedupe, [("PAY", "card payments fail for amounts over 10,000", "project = PAY AND text ~ \"amount limit\" AND statusCategory != Done", None,
                        "Card payments above 10,000 (in any currency) are declined with `amount_invalid`; the limit should only apply to EUR cash-outs.", "#payments"),
                       ("WEB", "the footer links are broken on the German site", "project = WEB AND text ~ \"footer links de\"",
                        ("WEB-530", "Broken footer links on /de", "In Review", "Jonas Weber"), "", "#web-team")]),
    (C.sql_permission, [("How many active subscriptions per country?", "billing", "subscriptions", [("id", "bigint"), ("country", "char(2)"), ("status", "text")],
                         "SELECT country, count(*) FROM subscriptions WHERE status = active GROUP BY country",
                         "column \"active\" does not exist", "The status value needs quotes; it was parsed as a column name.",
                         "SELECT country, count(*) AS active FROM subscriptions WHERE status = 'active' GROUP BY country ORDER BY active DESC",
                         [{"country": "US", "active": 4120}, {"country": "DE", "active": 1893}, {"country": "GB", "active": 1211}],
                         "Active subscriptions: US 4,120, DE 1,893, GB 1,211.")]),
    (C.test_fix_loop, [("The email validation test fails, please fix the code.", "tests/test_validate.py",
                        {"test": "test_validate.py::test_plus_addresses", "message": "AssertionError: assert False is True"},
                        "app/validate.py", ["import re", "", "EMAIL = re.compile(r'^[a-z0-9._-]+@[a-z0-9.-]+\\.[a-z]{2,}$', re.I)"],
                        "[a-z0-9._-]+@", "[a-z0-9._%+-]+@",
                        "The local-part pattern did not allow `+` (and `%`), so addresses like `ann+news@example.com` were rejected. Both characters are valid there.")]),
]

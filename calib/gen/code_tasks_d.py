# code_tasks_d.py: hand-written coding tasks added in the second round (refactor, test, SQL,
# shell, Ruby, Haskell, TypeScript and more), authored for reap. Same fields as code_tasks_a.T;
# `check` tells check_answers.py how to run an answer (it is never written to the data).
from code_tasks_a import T

TASKS_D = [
# ---------------------------------------------------------------- Python
T("python", "Write a Python function `invoice_total(lines, tax_rate, discount_code=None)` that totals invoice lines (dicts with `qty` and `unit_price` as Decimal), applies an optional discount code (SAVE10 = 10% off, FLAT5 = 5.00 off, never below zero), then tax, rounding to cents half-up.",
r'''
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
DISCOUNTS = {
    "SAVE10": lambda subtotal: subtotal * Decimal("0.10"),
    "FLAT5": lambda subtotal: min(subtotal, Decimal("5.00")),
}


def invoice_total(lines, tax_rate, discount_code=None):
    """Total of the invoice lines after discount and tax, rounded half-up to cents."""
    subtotal = sum((line["qty"] * line["unit_price"] for line in lines), Decimal(0))
    if discount_code is not None:
        try:
            subtotal -= DISCOUNTS[discount_code](subtotal)
        except KeyError:
            raise ValueError(f"unknown discount code {discount_code!r}") from None
    total = subtotal * (1 + Decimal(tax_rate))
    return total.quantize(CENT, rounding=ROUND_HALF_UP)
''',
"The discount rules live in a table of small functions, so adding a code is one line and an unknown code fails loudly instead of being ignored. `FLAT5` takes `min(subtotal, 5.00)` so a small order drops to zero, not below. Everything stays in `Decimal` (starting the sum at `Decimal(0)`), because binary floats cannot represent amounts like 0.10 exactly, and the result is rounded once at the end with `ROUND_HALF_UP`, the rounding most invoices expect (Python's default for Decimal is banker's rounding).",
bug=("min(subtotal, Decimal(\"5.00\"))", "Decimal(\"5.00\")", "an order of 3.00 with code FLAT5 gets a negative total",
     "The flat discount is subtracted in full even when the subtotal is smaller than it. Capping the discount at the subtotal keeps the total at zero or above."),
tests=r'''
from decimal import Decimal

import pytest
from invoice import invoice_total

D = Decimal


def line(qty, price):
    return {"qty": qty, "unit_price": D(price)}


def test_plain_total_with_tax():
    assert invoice_total([line(2, "10.00"), line(1, "5.50")], "0.20") == D("30.60")


def test_percentage_discount_before_tax():
    assert invoice_total([line(1, "100.00")], "0.10", "SAVE10") == D("99.00")


def test_flat_discount_never_goes_negative():
    assert invoice_total([line(1, "3.00")], "0.19", "FLAT5") == D("0.00")


def test_rounds_half_up():
    assert invoice_total([line(1, "0.125")], "0") == D("0.13")


def test_empty_invoice_is_zero():
    assert invoice_total([], "0.2") == D("0.00")


def test_unknown_code_is_an_error():
    with pytest.raises(ValueError, match="BOGUS"):
        invoice_total([line(1, "1.00")], "0", "BOGUS")
''',
messy=r'''
def invoice_total(lines, tax_rate, discount_code=None):
    t = 0
    for i in range(len(lines)):
        l = lines[i]
        t = t + l["qty"] * l["unit_price"]
    if discount_code != None:
        if discount_code == "SAVE10":
            t = t - t * Decimal("0.10")
        else:
            if discount_code == "FLAT5":
                if t > Decimal("5.00"):
                    t = t - Decimal("5.00")
                else:
                    t = Decimal(0)
            else:
                raise ValueError("unknown discount code " + repr(discount_code))
    t = t * (1 + Decimal(tax_rate))
    t = t.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return t


from decimal import Decimal, ROUND_HALF_UP
''',
refactor_note="The behaviour is the same, but: the imports move to the top (the original only worked because the function body runs after the module finished loading); the index loop becomes a `sum` over a generator started at `Decimal(0)`; the nested if/else chain becomes a table of discount rules, so the unknown-code error is raised in one place; `!= None` becomes `is not None`; and the cent quantum is a named constant.",
check={}),

T("python", "Write a Python function `compare_versions(a, b)` for semantic versions (MAJOR.MINOR.PATCH with optional -prerelease like 1.0.0-rc.1) that returns -1, 0 or 1 following the SemVer precedence rules. Build metadata (+...) is ignored.",
r'''
import re

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _key(version):
    m = _SEMVER.match(version)
    if not m:
        raise ValueError(f"not a semantic version: {version!r}")
    core = tuple(int(x) for x in m.group(1, 2, 3))
    pre = m.group(4)
    if pre is None:
        return core, (1,)  # a release sorts after all of its pre-releases
    ids = []
    for part in pre.split("."):
        # numeric identifiers sort numerically and before alphanumeric ones
        ids.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return core, (0, tuple(ids))


def compare_versions(a, b):
    ka, kb = _key(a), _key(b)
    return (ka > kb) - (ka < kb)
''',
"Each version becomes a sort key: the numeric core, then a marker that puts a release (`(1,)`) after any pre-release (`(0, ids)`) with the same core. Pre-release identifiers are compared one by one: numeric ones as integers and before alphanumeric ones, which are compared as strings; a shorter list of identifiers sorts first when it is a prefix of the other, which is exactly how Python compares tuples. So 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0. `(ka > kb) - (ka < kb)` turns the comparison into -1, 0 or 1. Build metadata is matched and dropped.",
bug=("int(x) for x in m.group(1, 2, 3)", "x for x in m.group(1, 2, 3)", "compare_versions(\"1.10.0\", \"1.9.0\") returns -1",
     "The core numbers are compared as strings, and \"10\" sorts before \"9\" character by character. They have to be converted to integers."),
tests=r'''
import pytest
from semver import compare_versions


@pytest.mark.parametrize("a, b", [
    ("1.0.0", "2.0.0"),
    ("1.9.0", "1.10.0"),
    ("1.0.0-alpha", "1.0.0"),
    ("1.0.0-alpha", "1.0.0-alpha.1"),
    ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
    ("1.0.0-beta.2", "1.0.0-beta.11"),
    ("1.0.0-rc.1", "1.0.0"),
])
def test_ordering(a, b):
    assert compare_versions(a, b) == -1
    assert compare_versions(b, a) == 1


def test_build_metadata_is_ignored():
    assert compare_versions("1.2.3+build.5", "1.2.3") == 0


@pytest.mark.parametrize("bad", ["1.2", "01.2.3", "1.2.3-", "v1.2.3", ""])
def test_rejects_invalid(bad):
    with pytest.raises(ValueError):
        compare_versions(bad, "1.0.0")
''',
reasoning="Sort key approach. Core as ints. Pre-release: release > pre-release, ids numeric < alnum, numeric compared as ints. Tuples compare lexicographically and a prefix is smaller, matching the spec."),

T("python", "Implement a token-bucket rate limiter class in Python: `TokenBucket(rate, capacity)` with `allow(cost=1)` returning True/False. Make it testable without sleeping.",
r'''
import time


class TokenBucket:
    """Allows bursts of up to `capacity` and a sustained `rate` of tokens per second."""

    def __init__(self, rate, capacity, clock=time.monotonic):
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._last = clock()

    def _refill(self):
        now = self._clock()
        elapsed = now - self._last
        self._last = now
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)

    def allow(self, cost=1):
        self._refill()
        if cost <= self._tokens:
            self._tokens -= cost
            return True
        return False
''',
"The bucket starts full and refills continuously: on every call the time since the last call times `rate` is added, capped at `capacity`, so an idle client can burst at most `capacity` requests. A request is allowed when enough tokens are left. The clock is a constructor argument defaulting to `time.monotonic` (which, unlike `time.time`, never jumps backwards), so tests pass a fake clock and advance it by hand instead of sleeping.",
bug=("self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)", "self._tokens = self._tokens + elapsed * self.rate",
     "after a long idle period a client can send hundreds of requests at once",
     "Tokens accumulate without limit while the client is idle, so the allowed burst grows with idle time. The refill must be capped at the bucket's capacity."),
tests=r'''
from ratelimit import TokenBucket


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_burst_up_to_capacity_then_refuses():
    clock = FakeClock()
    b = TokenBucket(rate=1, capacity=3, clock=clock)
    assert [b.allow() for _ in range(4)] == [True, True, True, False]


def test_refills_with_time():
    clock = FakeClock()
    b = TokenBucket(rate=2, capacity=2, clock=clock)
    assert b.allow(2)
    assert not b.allow()
    clock.now += 0.5
    assert b.allow()
    assert not b.allow()


def test_idle_time_does_not_exceed_capacity():
    clock = FakeClock()
    b = TokenBucket(rate=10, capacity=5, clock=clock)
    clock.now += 3600
    assert sum(b.allow() for _ in range(100)) == 5
'''),

T("python", "Write a Python function `load_settings(env)` that builds a settings dict from a mapping of environment variables: APP_PORT (int, default 8080, 1-65535), APP_DEBUG (true/false/1/0/yes/no, default false), APP_HOSTS (comma-separated list, default ['localhost']). Collect all errors and raise one ValueError listing them.",
r'''
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _port(raw):
    port = int(raw)
    if not 1 <= port <= 65535:
        raise ValueError(f"{port} is out of range 1-65535")
    return port


def _flag(raw):
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{raw!r} is not a boolean")


def _hosts(raw):
    hosts = [h.strip() for h in raw.split(",") if h.strip()]
    if not hosts:
        raise ValueError("no hosts given")
    return hosts


FIELDS = {
    "port": ("APP_PORT", _port, 8080),
    "debug": ("APP_DEBUG", _flag, False),
    "hosts": ("APP_HOSTS", _hosts, ["localhost"]),
}


def load_settings(env):
    settings, errors = {}, []
    for key, (var, parse, default) in FIELDS.items():
        if var not in env:
            settings[key] = list(default) if isinstance(default, list) else default
            continue
        try:
            settings[key] = parse(env[var])
        except ValueError as exc:
            errors.append(f"{var}: {exc}")
    if errors:
        raise ValueError("invalid settings: " + "; ".join(errors))
    return settings
''',
"Each setting is declared once in `FIELDS` with its variable, a parser and a default, and one loop applies them. Parsers raise `ValueError` (`int()` already does for non-numbers), and the loop collects the messages instead of stopping at the first, so a user with three mistakes sees all three at once. The list default is copied, so callers who mutate `settings['hosts']` do not change the shared default.",
bug=("            settings[key] = list(default) if isinstance(default, list) else default", "            settings[key] = default",
     "after one caller appends to settings['hosts'], later calls without APP_HOSTS return the appended list",
     "The default list object is shared by every call, so mutating the returned list changes the default itself. Returning a copy keeps the calls independent."),
tests=r'''
import pytest
from settings import load_settings


def test_defaults():
    assert load_settings({}) == {"port": 8080, "debug": False, "hosts": ["localhost"]}


def test_parses_values():
    env = {"APP_PORT": "9000", "APP_DEBUG": "Yes", "APP_HOSTS": "a.example, b.example,"}
    assert load_settings(env) == {"port": 9000, "debug": True, "hosts": ["a.example", "b.example"]}


def test_reports_all_errors_at_once():
    with pytest.raises(ValueError) as info:
        load_settings({"APP_PORT": "70000", "APP_DEBUG": "maybe"})
    assert "APP_PORT" in str(info.value) and "APP_DEBUG" in str(info.value)


def test_default_hosts_are_not_shared():
    load_settings({})["hosts"].append("evil.example")
    assert load_settings({})["hosts"] == ["localhost"]
''',
messy=r'''
def load_settings(env):
    errors = []
    s = {}
    if "APP_PORT" in env:
        try:
            p = int(env["APP_PORT"])
            if p < 1 or p > 65535:
                errors.append("APP_PORT: " + str(p) + " is out of range 1-65535")
            else:
                s["port"] = p
        except ValueError as e:
            errors.append("APP_PORT: " + str(e))
    else:
        s["port"] = 8080
    if "APP_DEBUG" in env:
        v = env["APP_DEBUG"].strip().lower()
        if v == "1" or v == "true" or v == "yes" or v == "on":
            s["debug"] = True
        elif v == "0" or v == "false" or v == "no" or v == "off":
            s["debug"] = False
        else:
            errors.append("APP_DEBUG: " + repr(env["APP_DEBUG"]) + " is not a boolean")
    else:
        s["debug"] = False
    if "APP_HOSTS" in env:
        hs = []
        for h in env["APP_HOSTS"].split(","):
            if h.strip() != "":
                hs.append(h.strip())
        if len(hs) == 0:
            errors.append("APP_HOSTS: no hosts given")
        else:
            s["hosts"] = hs
    else:
        s["hosts"] = ["localhost"]
    if len(errors) > 0:
        raise ValueError("invalid settings: " + "; ".join(errors))
    return s
''',
refactor_note="Three copies of the same \"present? parse, validate, else default\" block become one loop over a table of (variable, parser, default), with one small parser per type. Adding a setting is now one table entry and one parser, the boolean words are sets instead of chains of `or`, and the error messages keep exactly their old wording."),

# ---------------------------------------------------------------- C
T("c", "Write a fixed-capacity byte ring buffer in C (power-of-two capacity) with push, pop and length, for a single producer and consumer on one thread. Include a small test program.",
r'''
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    uint8_t *buf;
    size_t cap;   /* power of two */
    size_t head;  /* next write, counts up forever */
    size_t tail;  /* next read, counts up forever */
} ring;

/* Returns 0 on success, -1 when cap is not a power of two or memory runs out. */
int ring_init(ring *r, size_t cap)
{
    if (cap == 0 || (cap & (cap - 1)) != 0)
        return -1;
    r->buf = malloc(cap);
    if (!r->buf)
        return -1;
    r->cap = cap;
    r->head = r->tail = 0;
    return 0;
}

size_t ring_len(const ring *r)
{
    return r->head - r->tail;
}

/* Returns 0, or -1 when the buffer is full. */
int ring_push(ring *r, uint8_t byte)
{
    if (ring_len(r) == r->cap)
        return -1;
    r->buf[r->head & (r->cap - 1)] = byte;
    r->head++;
    return 0;
}

/* Returns 0 and stores the oldest byte, or -1 when the buffer is empty. */
int ring_pop(ring *r, uint8_t *out)
{
    if (r->head == r->tail)
        return -1;
    *out = r->buf[r->tail & (r->cap - 1)];
    r->tail++;
    return 0;
}

void ring_free(ring *r)
{
    free(r->buf);
    r->buf = NULL;
}
''',
"`head` and `tail` count bytes written and read and are never wrapped; the slot is the counter masked with `cap - 1`, which is why the capacity must be a power of two. Their difference is the length even after the counters overflow, because unsigned subtraction is modular. That also distinguishes full (`len == cap`) from empty (`head == tail`) without wasting a slot or keeping a separate flag.",
bug=("    if (ring_len(r) == r->cap)\n        return -1;\n", "", "after 16 pushes into a 16-byte ring without pops, the first byte read back is the 17th byte written",
     "Without the full check, a push into a full buffer overwrites the oldest unread byte and the length grows past the capacity. A full ring must refuse the push."),
tests=r'''
#include <assert.h>
#include <stdio.h>

#include "ring.h"

int main(void)
{
    ring r;
    assert(ring_init(&r, 12) == -1);
    assert(ring_init(&r, 16) == 0);

    uint8_t b;
    assert(ring_pop(&r, &b) == -1);
    for (int i = 0; i < 16; i++)
        assert(ring_push(&r, (uint8_t)i) == 0);
    assert(ring_push(&r, 99) == -1);
    assert(ring_len(&r) == 16);

    for (int i = 0; i < 16; i++) {
        assert(ring_pop(&r, &b) == 0);
        assert(b == i);
    }
    assert(ring_len(&r) == 0);

    /* wrap around many times */
    for (int round = 0; round < 1000; round++) {
        for (int i = 0; i < 5; i++)
            assert(ring_push(&r, (uint8_t)(round + i)) == 0);
        for (int i = 0; i < 5; i++) {
            assert(ring_pop(&r, &b) == 0);
            assert(b == (uint8_t)(round + i));
        }
    }
    ring_free(&r);
    puts("ring: all tests passed");
    return 0;
}
'''),

T("c", "Write a C function `char *trim(char *s)` that removes leading and trailing whitespace in place and returns s.",
r'''
#include <ctype.h>
#include <string.h>

char *trim(char *s)
{
    char *start = s;
    while (isspace((unsigned char)*start))
        start++;

    size_t len = strlen(start);
    while (len > 0 && isspace((unsigned char)start[len - 1]))
        len--;

    memmove(s, start, len);
    s[len] = '\0';
    return s;
}
''',
"The first loop finds the first non-space character, the second shrinks the length from the end. The result is moved to the front with `memmove` (not `memcpy`: source and destination overlap) and terminated, so the caller's pointer stays valid, which matters when `s` came from `malloc`. The casts to `unsigned char` are needed because passing a negative `char` other than EOF to `isspace` is undefined behaviour. An all-blank string ends up empty: the first loop stops at the terminator and `len` is 0.",
bug=("    while (len > 0 && isspace((unsigned char)start[len - 1]))", "    while (isspace((unsigned char)start[len - 1]))",
     "trim on a string of only spaces reads before the start of the buffer",
     "For an all-blank string `len` is 0 and `start[len - 1]` reads the byte before `start`. The loop must stop when `len` reaches 0."),
tests=r'''
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "trim.h"

static void check(const char *in, const char *want)
{
    char buf[64];
    strcpy(buf, in);
    char *got = trim(buf);
    assert(got == buf);
    if (strcmp(got, want) != 0) {
        printf("trim(\"%s\") = \"%s\", want \"%s\"\n", in, got, want);
        assert(0);
    }
}

int main(void)
{
    check("  hello  ", "hello");
    check("hello", "hello");
    check("\t\n x y \r\n", "x y");
    check("", "");
    check("    ", "");
    check(" a", "a");
    check("a ", "a");
    puts("trim: all tests passed");
    return 0;
}
'''),

# ---------------------------------------------------------------- C++
T("cpp", "Write a C++17 function that splits a std::string_view on a delimiter character into a std::vector<std::string_view>, keeping empty fields. Add GoogleTest tests.",
r'''
#include <string_view>
#include <vector>

inline std::vector<std::string_view> split(std::string_view s, char delim)
{
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    for (;;) {
        std::size_t pos = s.find(delim, start);
        if (pos == std::string_view::npos) {
            fields.push_back(s.substr(start));
            return fields;
        }
        fields.push_back(s.substr(start, pos - start));
        start = pos + 1;
    }
}
''',
"The loop finds the next delimiter from `start`, emits the field before it and continues after it; when there is no further delimiter the rest of the string is the last field. So \"a,,b\" gives three fields with an empty one in the middle, \",\" gives two empty fields and \"\" gives one empty field, like most CSV-style splitters. The fields are views into the caller's string: no copies are made, but the caller must keep that string alive while the views are used.",
bug=("        start = pos + 1;", "        start = pos;", "split(\"a,b\", ',') never returns",
     "Restarting the search at the delimiter itself finds the same delimiter again, forever. The next field starts one past it."),
tests=r'''
#include <gtest/gtest.h>

#include <string>

#include "split.hpp"

using V = std::vector<std::string_view>;

TEST(Split, SimpleFields) {
    EXPECT_EQ(split("a,b,c", ','), (V{"a", "b", "c"}));
}

TEST(Split, KeepsEmptyFields) {
    EXPECT_EQ(split("a,,b", ','), (V{"a", "", "b"}));
    EXPECT_EQ(split(",", ','), (V{"", ""}));
}

TEST(Split, EmptyInputIsOneEmptyField) {
    EXPECT_EQ(split("", ','), (V{""}));
}

TEST(Split, NoDelimiter) {
    EXPECT_EQ(split("abc", ';'), (V{"abc"}));
}

TEST(Split, ViewsPointIntoTheInput) {
    std::string s = "key=value";
    auto f = split(s, '=');
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[1].data(), s.data() + 4);
}
'''),

T("cpp", "This C++ class manages a dynamic array of Points by hand. Make it safe and modern without changing what it does.",
r'''
#include <cstddef>
#include <vector>

struct Point {
    double x = 0, y = 0;
};

class Polygon {
public:
    void add(Point p) { points_.push_back(p); }

    std::size_t size() const { return points_.size(); }

    const Point &operator[](std::size_t i) const { return points_.at(i); }

    // Shoelace formula; positive for counter-clockwise vertices.
    double signed_area() const
    {
        double twice = 0;
        const std::size_t n = points_.size();
        for (std::size_t i = 0; i < n; ++i) {
            const Point &a = points_[i];
            const Point &b = points_[(i + 1) % n];
            twice += a.x * b.y - b.x * a.y;
        }
        return twice / 2;
    }

private:
    std::vector<Point> points_;
};
''',
"`Polygon` stores its vertices in a `std::vector`, so copying, moving and destruction are all correct by default (the rule of zero). `operator[]` uses `at`, which throws `std::out_of_range` instead of reading past the end. `signed_area` applies the shoelace formula: the sum of cross products of consecutive vertices, wrapping from the last back to the first with `% n`, is twice the signed area (positive for counter-clockwise order). A polygon with fewer than three points has area 0.",
bug=("            const Point &b = points_[(i + 1) % n];", "            const Point &b = points_[i + 1];",
     "signed_area() of a triangle reads past the end of the vector",
     "The last edge goes from the final vertex back to the first one. Without `% n` the last iteration indexes one past the end."),
messy=r'''
#include <cstdlib>
#include <cstring>

struct Point {
    double x, y;
};

class Polygon {
public:
    Point *pts;
    int n;
    int cap;
    Polygon() { pts = 0; n = 0; cap = 0; }
    ~Polygon() { free(pts); }
    void add(Point p)
    {
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            Point *np = (Point *)malloc(sizeof(Point) * cap);
            memcpy(np, pts, sizeof(Point) * n);
            free(pts);
            pts = np;
        }
        pts[n++] = p;
    }
    int size() { return n; }
    Point &operator[](int i) { return pts[i]; }
    double signed_area()
    {
        double s = 0;
        for (int i = 0; i < n; i++) {
            int j = i + 1;
            if (j == n) j = 0;
            s = s + pts[i].x * pts[j].y - pts[j].x * pts[i].y;
        }
        return s / 2;
    }
};
''',
refactor_note="The hand-rolled growth code is replaced by `std::vector<Point>`. That fixes real bugs, not just style: the original had a destructor but no copy constructor, so copying a `Polygon` freed the same buffer twice; `malloc` failures were not checked; the members were public and `operator[]` did no bounds check. The const-correct accessors make a `const Polygon&` usable, and sizes are `std::size_t`.",
check={"main": r'''
#include <cassert>
#include <cmath>
int main()
{
    Polygon sq;
    for (Point p : {Point{0, 0}, Point{2, 0}, Point{2, 2}, Point{0, 2}})
        sq.add(p);
    assert(std::fabs(sq.signed_area() - 4.0) < 1e-12);
    Polygon copy = sq;
    copy.add(Point{1, 3});
    assert(sq.size() == 4 && copy.size() == 5);
    Polygon tri;
    tri.add({0, 0});
    tri.add({0, 1});
    tri.add({1, 0});
    assert(std::fabs(tri.signed_area() + 0.5) < 1e-12);
    return 0;
}
'''}),

# ---------------------------------------------------------------- Rust
T("rust", "Write Rust functions to convert integers 1..=3999 to Roman numerals and back, with the parser rejecting invalid numerals. Include unit tests.",
r'''
const TABLE: [(u32, &str); 13] = [
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"),
    (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
    (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
];

pub fn to_roman(mut n: u32) -> Option<String> {
    if !(1..=3999).contains(&n) {
        return None;
    }
    let mut out = String::new();
    for &(value, symbol) in TABLE.iter() {
        while n >= value {
            out.push_str(symbol);
            n -= value;
        }
    }
    Some(out)
}

pub fn from_roman(s: &str) -> Option<u32> {
    let mut total = 0;
    let mut rest = s;
    for &(value, symbol) in TABLE.iter() {
        while let Some(tail) = rest.strip_prefix(symbol) {
            total += value;
            rest = tail;
        }
    }
    // Accept only the canonical spelling: it must convert back to the same string.
    if rest.is_empty() && to_roman(total).as_deref() == Some(s) {
        Some(total)
    } else {
        None
    }
}
''',
"Both directions use one table that includes the subtractive pairs (CM, XC, IV...), so conversion to Roman is a greedy loop: emit the largest symbol that still fits. Parsing strips the same symbols greedily from the front. Greedy parsing alone would accept non-canonical input like \"IIII\" or \"VX\" or \"MMMM\", so the parser finally converts the total back and accepts the input only if it round-trips to exactly the same string; that rejects everything that is not the standard form and every out-of-range value.",
bug=("    if rest.is_empty() && to_roman(total).as_deref() == Some(s) {", "    if rest.is_empty() {",
     "from_roman(\"IIII\") returns Some(4) and from_roman(\"\") returns Some(0)",
     "Greedy stripping accepts any sequence of known symbols, including repeated ones, and the empty string. Only strings that are the canonical spelling of their value should be accepted, which the round-trip comparison checks."),
tests=r'''
#[cfg(test)]
mod tests {
    use super::{from_roman, to_roman};

    #[test]
    fn known_values() {
        for (n, s) in [(1, "I"), (4, "IV"), (9, "IX"), (14, "XIV"), (40, "XL"), (90, "XC"),
                       (400, "CD"), (1994, "MCMXCIV"), (2024, "MMXXIV"), (3999, "MMMCMXCIX")] {
            assert_eq!(to_roman(n).as_deref(), Some(s));
            assert_eq!(from_roman(s), Some(n));
        }
    }

    #[test]
    fn round_trips_every_value() {
        for n in 1..=3999 {
            assert_eq!(from_roman(&to_roman(n).unwrap()), Some(n));
        }
    }

    #[test]
    fn rejects_out_of_range_and_invalid() {
        assert_eq!(to_roman(0), None);
        assert_eq!(to_roman(4000), None);
        for s in ["", "IIII", "VX", "IC", "MMMM", "abc", "XIVI"] {
            assert_eq!(from_roman(s), None, "{s}");
        }
    }
}
''',
check={}),

T("rust", "Refactor this Rust function that finds, for each user, their most recent order total. It clones a lot and uses index loops.",
r'''
use std::collections::HashMap;

pub struct Order {
    pub user: String,
    pub timestamp: u64,
    pub total_cents: i64,
}

/// For each user, the total of their most recent order (the later one wins on equal timestamps).
pub fn latest_totals(orders: &[Order]) -> HashMap<&str, i64> {
    let mut latest: HashMap<&str, &Order> = HashMap::new();
    for order in orders {
        latest
            .entry(order.user.as_str())
            .and_modify(|best| {
                if order.timestamp >= best.timestamp {
                    *best = order;
                }
            })
            .or_insert(order);
    }
    latest.into_iter().map(|(user, o)| (user, o.total_cents)).collect()
}
''',
"The map stores borrowed `&str` keys and `&Order` values, so nothing is cloned: the result borrows from `orders`. The entry API looks each user up once, either keeping a reference to the newer order (`>=`, so on equal timestamps the later order in the slice wins) or inserting the first one seen. A final `map` turns the references into totals.",
bug=("                if order.timestamp >= best.timestamp {", "                if order.timestamp <= best.timestamp {",
     "latest_totals returns each user's oldest order total",
     "The comparison keeps the order with the smaller timestamp, so the oldest order wins. A newer (or equally timed, later) order must replace the stored one."),
messy=r'''
use std::collections::HashMap;

pub struct Order {
    pub user: String,
    pub timestamp: u64,
    pub total_cents: i64,
}

pub fn latest_totals(orders: &[Order]) -> HashMap<String, i64> {
    let mut users: Vec<String> = Vec::new();
    for i in 0..orders.len() {
        if !users.contains(&orders[i].user.clone()) {
            users.push(orders[i].user.clone());
        }
    }
    let mut result = HashMap::new();
    for u in users.clone() {
        let mut best_ts = 0;
        let mut best_total = 0;
        let mut found = false;
        for i in 0..orders.len() {
            if orders[i].user.clone() == u.clone() {
                if !found || orders[i].timestamp >= best_ts {
                    best_ts = orders[i].timestamp;
                    best_total = orders[i].total_cents;
                    found = true;
                }
            }
        }
        result.insert(u.clone(), best_total);
    }
    result
}
''',
refactor_note="The original scanned the whole slice once per user (O(users x orders), plus a linear `contains` per order) and cloned strings on every comparison. One pass with the entry API does the same in O(n), and borrowing the user names (`HashMap<&str, i64>`, tied to the input's lifetime) removes every clone. If callers need owned keys, they can map with `to_string()` at the end.",
check={"main": r'''
#[cfg(test)]
mod check {
    use super::*;

    fn o(user: &str, timestamp: u64, total_cents: i64) -> Order {
        Order { user: user.to_string(), timestamp, total_cents }
    }

    #[test]
    fn newest_wins_and_ties_go_to_later() {
        let orders = vec![o("ann", 5, 100), o("bob", 1, 7), o("ann", 9, 250), o("ann", 2, 1), o("bob", 1, 8)];
        let t = latest_totals(&orders);
        assert_eq!(t.len(), 2);
        assert_eq!(t["ann"], 250);
        assert_eq!(t["bob"], 8);
    }
}
'''}),

# ---------------------------------------------------------------- Java
T("java", "Write a Java method that computes the Levenshtein edit distance between two strings using O(min(m, n)) memory.",
r'''
public final class EditDistance {
    private EditDistance() {}

    public static int levenshtein(String a, String b) {
        if (a.length() < b.length()) {
            String t = a;
            a = b;
            b = t;
        }
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
''',
"The classic dynamic program fills a table where cell (i, j) is the distance between the first i characters of `a` and the first j of `b`: one more than an insertion or deletion neighbour, or the diagonal plus 0 or 1 for a match or substitution. Each row only needs the previous one, so two arrays suffice, and swapping the strings so that `b` is the shorter one makes the memory O(min(m, n)). The arrays are swapped instead of copied after each row, and the answer ends up in `prev` after the last swap.",
bug=("            cur[0] = i;\n", "", "levenshtein(\"abc\", \"\") returns 0 instead of 3",
     "The first column of each row is the cost of deleting all i characters; without setting `cur[0] = i`, the row keeps stale values from two rows earlier (initially zeros), so distances to prefixes of the empty string are wrong."),
messy=r'''
public final class EditDistance {
    private EditDistance() {}

    public static int levenshtein(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            for (int j = 0; j <= b.length(); j++) {
                if (i == 0) {
                    d[i][j] = j;
                } else if (j == 0) {
                    d[i][j] = i;
                } else {
                    int x = d[i - 1][j] + 1;
                    int y = d[i][j - 1] + 1;
                    int z = d[i - 1][j - 1];
                    if (a.charAt(i - 1) != b.charAt(j - 1)) {
                        z = z + 1;
                    }
                    int m = x;
                    if (y < m) {
                        m = y;
                    }
                    if (z < m) {
                        m = z;
                    }
                    d[i][j] = m;
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
''',
refactor_note="Same algorithm, but the full (m+1) x (n+1) matrix is replaced by two rows that are swapped after each iteration, cutting memory from O(m*n) to O(min(m, n)) (useful for long strings); the boundary cases move out of the inner loop, and the minimum of three uses `Math.min`.",
check={"main": r'''
public class Main {
    public static void main(String[] args) {
        check("kitten", "sitting", 3);
        check("", "", 0);
        check("abc", "", 3);
        check("", "abcd", 4);
        check("flaw", "lawn", 2);
        check("same", "same", 0);
        check("intention", "execution", 5);
        System.out.println("ok");
    }

    static void check(String a, String b, int want) {
        int got = EditDistance.levenshtein(a, b);
        int back = EditDistance.levenshtein(b, a);
        if (got != want || back != want) {
            throw new AssertionError(a + "/" + b + ": got " + got + " and " + back + ", want " + want);
        }
    }
}
'''}),

T("java", "Write a Java method that parses a URL query string like \"a=1&b=x%20y&a=2&flag\" into a Map<String, List<String>>, decoding percent-escapes and '+', keeping repeated keys in order.",
r'''
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class QueryString {
    private QueryString() {}

    public static Map<String, List<String>> parse(String query) {
        Map<String, List<String>> params = new LinkedHashMap<>();
        if (query == null || query.isEmpty()) {
            return params;
        }
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : pair.substring(eq + 1);
            params.computeIfAbsent(decode(key), k -> new ArrayList<>()).add(decode(value));
        }
        return params;
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }
}
''',
"Pairs are split on `&`, and each pair on its first `=` only, so values may contain `=`. A key without `=` (like `flag`) gets an empty value. `URLDecoder.decode` handles both `%XX` escapes (as UTF-8) and `+` for spaces, and it is applied after splitting, so an encoded `%26` inside a value does not split the pair. `LinkedHashMap` keeps keys in first-seen order and `computeIfAbsent` collects repeated keys into one list. Malformed escapes throw `IllegalArgumentException`.",
bug=("            int eq = pair.indexOf('=');", "            int eq = pair.lastIndexOf('=');",
     "parse(\"token=abc==\") returns key \"token=abc=\" with an empty value",
     "Splitting on the last `=` breaks values that contain `=`, such as base64 padding. The key ends at the first `=`."),
check={"main": r'''
import java.util.List;
import java.util.Map;

public class Main {
    public static void main(String[] args) {
        Map<String, List<String>> p = QueryString.parse("a=1&b=x%20y&a=2&flag&token=abc==&c=d+e&&s=%E2%82%AC");
        expect(p.get("a"), List.of("1", "2"));
        expect(p.get("b"), List.of("x y"));
        expect(p.get("flag"), List.of(""));
        expect(p.get("token"), List.of("abc=="));
        expect(p.get("c"), List.of("d e"));
        expect(p.get("s"), List.of("\u20ac"));
        expect(List.copyOf(p.keySet()), List.of("a", "b", "flag", "token", "c", "s"));
        if (!QueryString.parse("").isEmpty()) throw new AssertionError("empty query");
        System.out.println("ok");
    }

    static void expect(Object got, Object want) {
        if (!want.equals(got)) throw new AssertionError("got " + got + ", want " + want);
    }
}
'''}),

# ---------------------------------------------------------------- JavaScript
T("javascript", "Write a JavaScript function `parseCsvLine(line)` that splits one CSV line into fields, supporting double-quoted fields with commas and escaped quotes (\"\"). Add tests with node:test.",
r'''
function parseCsvLine(line) {
  const fields = [];
  let field = "";
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (inQuotes) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        inQuotes = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      inQuotes = true;
    } else if (ch === ",") {
      fields.push(field);
      field = "";
    } else {
      field += ch;
    }
  }
  if (inQuotes) {
    throw new SyntaxError("unterminated quoted field");
  }
  fields.push(field);
  return fields;
}

module.exports = { parseCsvLine };
''',
"A small state machine reads the line one character at a time. Outside quotes, a comma ends the field and a quote opens a quoted section; inside quotes, commas are ordinary characters, a doubled quote `\"\"` is one literal quote (the index skips the second one), and a single quote closes the section. The last field is pushed after the loop, so a trailing comma yields an empty last field, and an unclosed quote is reported instead of silently swallowing the rest of the line.",
bug=("      if (ch === '\"' && line[i + 1] === '\"') {\n        field += '\"';\n        i++;\n      } else if", "      if", "parseCsvLine('\"say \"\"hi\"\"\",x') returns ['say hi\"\"', 'x'] instead of ['say \"hi\"', 'x']",
     "Without the check for a doubled quote, the first quote of `\"\"` closes the quoted field and the next one reopens it, so escaped quotes vanish and the text is mangled. Inside quotes, `\"\"` must produce one literal quote."),
tests=r'''
const test = require("node:test");
const assert = require("node:assert/strict");
const { parseCsvLine } = require("./csvline");

test("plain fields", () => {
  assert.deepEqual(parseCsvLine("a,b,c"), ["a", "b", "c"]);
});

test("empty fields are kept", () => {
  assert.deepEqual(parseCsvLine(",x,"), ["", "x", ""]);
  assert.deepEqual(parseCsvLine(""), [""]);
});

test("quoted fields may contain commas", () => {
  assert.deepEqual(parseCsvLine('"Doe, Jane",42'), ["Doe, Jane", "42"]);
});

test("doubled quotes are literal quotes", () => {
  assert.deepEqual(parseCsvLine('"say ""hi""",x'), ['say "hi"', "x"]);
});

test("unterminated quote throws", () => {
  assert.throws(() => parseCsvLine('"open,field'), SyntaxError);
});
'''),

T("javascript", "Rewrite this callback-based Node.js function with async/await. It loads a user, then their orders, then sums the order totals.",
r'''
async function totalSpent(db, userId) {
  const user = await db.getUser(userId);
  if (!user) {
    throw new Error(`no user ${userId}`);
  }
  const orders = await db.getOrders(user.id);
  return orders.reduce((sum, order) => sum + order.total, 0);
}

module.exports = { totalSpent };
''',
"`totalSpent` awaits the two lookups in sequence (the orders query needs the user), so any rejection, from either query or from the missing-user check, propagates to the caller's `await` or `.catch` in one place. `reduce` with an initial value of 0 handles a user with no orders. The function assumes a `db` object whose methods return promises; with callback APIs, wrap them once with `util.promisify`.",
bug=("  const orders = await db.getOrders(user.id);", "  const orders = db.getOrders(user.id);",
     "totalSpent resolves to \"0[object Promise]\" instead of a number",
     "Without `await`, `orders` is the pending promise, not an array; `reduce` is not called on the result as intended. Every promise-returning call must be awaited."),
messy=r'''
function totalSpent(db, userId, callback) {
  db.getUserCb(userId, function (err, user) {
    if (err) {
      callback(err);
    } else {
      if (!user) {
        callback(new Error("no user " + userId));
      } else {
        db.getOrdersCb(user.id, function (err2, orders) {
          if (err2) {
            callback(err2);
          } else {
            var sum = 0;
            for (var i = 0; i < orders.length; i++) {
              sum = sum + orders[i].total;
            }
            callback(null, sum);
          }
        });
      }
    }
  });
}
''',
refactor_note="The nested callbacks become straight-line code: errors no longer need to be forwarded by hand at every level (the original is one forgotten `return`/`else` away from calling the callback twice), the manual loop becomes a `reduce`, and `var` becomes `const`. Callers now `await totalSpent(db, id)` instead of passing a callback.",
check={"main": r'''
const assert = require("node:assert/strict");
const db = {
  users: { 1: { id: 1, name: "Ann" }, 2: { id: 2, name: "Bo" } },
  orders: { 1: [{ total: 10 }, { total: 32.5 }], 2: [] },
  async getUser(id) { return this.users[id]; },
  async getOrders(id) { return this.orders[id]; },
};
(async () => {
  assert.equal(await totalSpent(db, 1), 42.5);
  assert.equal(await totalSpent(db, 2), 0);
  await assert.rejects(totalSpent(db, 3), /no user 3/);
  console.log("ok");
})().catch((e) => { console.error(e); process.exit(1); });
'''}),
]

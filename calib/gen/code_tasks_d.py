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
# ---------------------------------------------------------------- SQL
T("sql", "This query shows each product's price next to the average price of its category and the difference. It runs two correlated subqueries per row and is slow on a big table. Refactor it.",
r'''
SELECT id,
       name,
       category,
       price,
       ROUND(AVG(price) OVER w, 2)         AS category_avg,
       ROUND(price - AVG(price) OVER w, 2) AS above_avg
FROM products
WINDOW w AS (PARTITION BY category)
ORDER BY category, price DESC;
''',
"A window function computes the category average alongside every row in a single pass over `products`, instead of re-scanning the category once per row and per column as the correlated subqueries did. The named window (`WINDOW w AS (PARTITION BY category)`) is defined once and used by both expressions, so they cannot drift apart. Unlike `GROUP BY`, a window keeps every product row. The `WINDOW` clause works in PostgreSQL and in SQLite 3.28 and later.",
bug=("WINDOW w AS (PARTITION BY category)", "WINDOW w AS ()", "every product is compared with the same average, the mean price of the whole catalogue",
     "An empty window spans all rows, so `AVG(price) OVER w` is the global average. Partitioning the window by category restricts each average to the product's own category."),
messy=r'''
SELECT p.id, p.name, p.category, p.price,
       ROUND((SELECT AVG(p2.price) FROM products p2 WHERE p2.category = p.category), 2) AS category_avg,
       ROUND(p.price - (SELECT AVG(p3.price) FROM products p3 WHERE p3.category = p.category), 2) AS above_avg
FROM products p
ORDER BY p.category, p.price DESC;
''',
refactor_note="Both correlated subqueries compute the same per-category average for every row; a window partitioned by category computes it once per partition while scanning the table once. The output (columns, values, order) is unchanged.",
check={"sqlite": "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, category TEXT, price NUMERIC);\n"
                  "INSERT INTO products VALUES (1, 'pen', 'office', 2), (2, 'stapler', 'office', 10), (3, 'desk', 'furniture', 200),"
                  " (4, 'chair', 'furniture', 100), (5, 'lamp', 'furniture', 60);",
       "expect": "3|desk|furniture|200|120.0|80.0\n4|chair|furniture|100|120.0|-20.0\n5|lamp|furniture|60|120.0|-60.0\n"
                 "2|stapler|office|10|6.0|4.0\n1|pen|office|2|6.0|-4.0"}),

T("sql", "Table invoices(no INTEGER PRIMARY KEY, issued_on DATE). Auditors want every gap in the invoice numbering as ranges (gap_start, gap_end). Write the query.",
r'''
SELECT no + 1       AS gap_start,
       next_no - 1  AS gap_end
FROM (
    SELECT no,
           LEAD(no) OVER (ORDER BY no) AS next_no
    FROM invoices
) AS numbered
WHERE next_no - no > 1
ORDER BY gap_start;
''',
"`LEAD(no)` puts the next issued number beside each invoice. Where the next number is more than one higher, the numbers in between were never issued, and the gap runs from `no + 1` to `next_no - 1`. The last invoice has no successor (`next_no` is NULL), so the comparison is NULL and the row is dropped. Gaps before the first invoice are not reported; if numbering must start at 1, add a check that `MIN(no) = 1`.",
bug=("WHERE next_no - no > 1", "WHERE next_no - no >= 1", "the query lists a \"gap\" after almost every invoice, e.g. gap_start 2, gap_end 1",
     "Consecutive numbers differ by exactly 1 and are not a gap; only differences greater than 1 leave missing numbers."),
check={"sqlite": "CREATE TABLE invoices (no INTEGER PRIMARY KEY, issued_on DATE);\n"
                  "INSERT INTO invoices (no) VALUES (1), (2), (3), (5), (6), (9), (10), (14);",
       "expect": "4|4\n7|8\n11|13"}),

T("sql", "Table inventory(sku TEXT PRIMARY KEY, qty INTEGER NOT NULL, updated_at DATE). Write one statement that records a delivery of several SKUs: add the delivered quantity to existing stock and insert SKUs we haven't seen before. It has to work in PostgreSQL and SQLite.",
r'''
INSERT INTO inventory (sku, qty, updated_at)
VALUES ('A-100', 5, '2025-03-14'),
       ('B-200', 3, '2025-03-14')
ON CONFLICT (sku) DO UPDATE
SET qty        = inventory.qty + excluded.qty,
    updated_at = excluded.updated_at;
''',
"`INSERT ... ON CONFLICT (sku) DO UPDATE` (an upsert) inserts each row and, when the primary key already exists, runs the `UPDATE` instead. `excluded` names the row that failed to insert, so `inventory.qty + excluded.qty` adds the delivered amount to the stored one. It is a single atomic statement, so two concurrent deliveries cannot both read the old quantity and lose an update, which a SELECT-then-UPDATE sequence can. The syntax is the same in PostgreSQL (9.5+) and SQLite (3.24+).",
bug=("SET qty        = inventory.qty + excluded.qty,", "SET qty        = excluded.qty,",
     "after a delivery, existing SKUs show only the delivered quantity and the old stock is gone",
     "`excluded.qty` alone overwrites the stored quantity with the delivered one. The new stock is the old quantity plus the delivery."),
check={"sqlite": "CREATE TABLE inventory (sku TEXT PRIMARY KEY, qty INTEGER NOT NULL, updated_at DATE);\n"
                  "INSERT INTO inventory VALUES ('A-100', 10, '2025-03-01');",
       "after": "SELECT sku, qty, updated_at FROM inventory ORDER BY sku;",
       "expect": "A-100|15|2025-03-14\nB-200|3|2025-03-14"}),

T("sql", "Table sales(region TEXT, month INTEGER, amount NUMERIC), month 1-12. Write a query that pivots Q1: one row per region with columns jan, feb, mar and q1_total, showing 0 for months without sales.",
r'''
SELECT region,
       SUM(CASE WHEN month = 1 THEN amount ELSE 0 END) AS jan,
       SUM(CASE WHEN month = 2 THEN amount ELSE 0 END) AS feb,
       SUM(CASE WHEN month = 3 THEN amount ELSE 0 END) AS mar,
       SUM(amount)                                     AS q1_total
FROM sales
WHERE month BETWEEN 1 AND 3
GROUP BY region
ORDER BY region;
''',
"Conditional aggregation pivots without any vendor-specific `PIVOT` syntax: each column sums only the rows of its month, and `ELSE 0` makes a month without sales show 0 instead of NULL. The `WHERE` clause restricts the rows to Q1 before grouping, which also keeps `q1_total` equal to jan + feb + mar. A region with sales only outside Q1 does not appear at all; to list every region, start from a regions table and `LEFT JOIN` the sales.",
bug=("WHERE month BETWEEN 1 AND 3\n", "", "the q1_total of a region is larger than jan + feb + mar",
     "Without the filter, `SUM(amount)` adds up the whole year while the month columns only cover January to March. Filtering to Q1 before grouping keeps the total consistent."),
check={"sqlite": "CREATE TABLE sales (region TEXT, month INTEGER, amount NUMERIC);\n"
                  "INSERT INTO sales VALUES ('north', 1, 100), ('north', 1, 50), ('north', 3, 70), ('south', 2, 200),"
                  " ('south', 4, 999), ('west', 1, 10), ('west', 2, 20), ('west', 3, 30);",
       "expect": "north|150|0|70|220\nsouth|0|200|0|200\nwest|10|20|30|60"}),

T("sql", "Create a view account_balances(account_id, balance, entries) over ledger(account_id, amount, kind) where kind is 'credit' or 'debit' and amount is always positive. Also write SQL tests for the view that print a line starting with FAIL when something is wrong.",
r'''
CREATE VIEW account_balances AS
SELECT account_id,
       SUM(CASE WHEN kind = 'credit' THEN amount ELSE -amount END) AS balance,
       COUNT(*)                                                   AS entries
FROM ledger
GROUP BY account_id;
''',
"Amounts are stored unsigned with a `kind`, so the view gives debits a negative sign inside the sum; credits minus debits is the balance. `COUNT(*)` counts ledger entries per account. Accounts without any entries have no row in the view, because it is built from `ledger` alone.",
bug=("ELSE -amount END", "ELSE amount END", "an account with a 100 credit and a 30 debit shows a balance of 130",
     "Debits are added like credits. Amounts are stored as positive numbers, so the view has to negate the debits."),
tests=r'''
-- fixtures
INSERT INTO ledger (account_id, amount, kind) VALUES
    (1, 100, 'credit'), (1, 30, 'debit'),
    (2, 50, 'debit'),
    (3, 0, 'credit');

-- each SELECT prints a FAIL line only when its check does not hold
SELECT 'FAIL credits minus debits' FROM account_balances WHERE account_id = 1 AND balance <> 70;
SELECT 'FAIL debit-only account is negative' FROM account_balances WHERE account_id = 2 AND balance <> -50;
SELECT 'FAIL zero amounts count as entries' FROM account_balances WHERE account_id = 3 AND (balance <> 0 OR entries <> 1);
SELECT 'FAIL entries per account' FROM account_balances WHERE account_id = 1 AND entries <> 2;
SELECT 'FAIL one row per account' WHERE (SELECT COUNT(*) FROM account_balances) <> 3;
SELECT 'FAIL accounts without entries have no row' FROM account_balances WHERE account_id NOT IN (1, 2, 3);
''',
check={"sqlite": "CREATE TABLE ledger (account_id INTEGER NOT NULL, amount NUMERIC NOT NULL CHECK (amount >= 0),"
                  " kind TEXT NOT NULL CHECK (kind IN ('credit', 'debit')));"}),

# ---------------------------------------------------------------- Bash
T("bash", "Clean up this bash script that prints the line count of every .log file in a directory and a total. It breaks on file names with spaces.",
r'''
#!/usr/bin/env bash
# Usage: logstats.sh DIR   - line counts of DIR/*.log and their total
set -euo pipefail

dir=${1:?usage: logstats.sh DIR}
shopt -s nullglob

total=0
for f in "$dir"/*.log; do
    n=$(wc -l < "$f")
    printf '%8d %s\n' "$n" "${f##*/}"
    total=$((total + n))
done
printf '%8d total\n' "$total"
''',
"The glob `\"$dir\"/*.log` hands each file name to the loop as one word, whatever characters it contains, and only matches names that end in `.log`. `nullglob` makes an empty directory produce no iterations (and a total of 0) instead of one iteration over the literal pattern. `wc -l < \"$f\"` prints just the number, and `${f##*/}` strips the directory. `set -euo pipefail` stops at the first failing command and `${1:?...}` prints the usage when the argument is missing.",
bug=("shopt -s nullglob\n", "", "on a directory without .log files the script fails with \"No such file or directory\" instead of printing a total of 0",
     "Without `nullglob`, a pattern that matches nothing stays as the literal string `DIR/*.log`, so the loop runs once on a file that does not exist and `set -e` aborts. `nullglob` makes it expand to nothing."),
messy=r'''
#!/bin/bash
total=0
for f in `ls $1 | grep .log`
do
  n=`cat $1/$f | wc -l`
  printf "%8d %s\n" $n $f
  total=`expr $total + $n`
done
printf "%8d total\n" $total
''',
refactor_note="`for f in $(ls ...)` splits names on whitespace, so `app one.log` became two bogus names; `grep .log` also matched `catalog.txt` (the dot matches any character); `$1` was unquoted everywhere; and `expr`, backticks and `cat | wc` cost extra processes. The glob fixes the splitting and matching, quoting protects the directory name, `$(( ))` does the arithmetic in the shell, and a missing argument now prints a usage message instead of listing the current directory.",
check={"main": r'''
set -eu
mkdir logs empty
printf 'a\nb\n' > "logs/app one.log"
printf 'x\n' > logs/db.log
printf 'no\n' > logs/catalog.txt
out=$(bash answer.sh logs)
want=$(printf '%8d %s\n%8d %s\n%8d total' 2 "app one.log" 1 db.log 3)
[ "$out" = "$want" ] || { echo "got: $out"; exit 1; }
out=$(bash answer.sh empty)
[ "$out" = "$(printf '%8d total' 0)" ] || { echo "empty dir: $out"; exit 1; }
if bash answer.sh 2>/dev/null; then echo "missing argument accepted"; exit 1; fi
'''}),

T("bash", "Write a bash function `rotate_log FILE MAX_BYTES [KEEP]` that rotates FILE when it is bigger than MAX_BYTES: FILE.1 becomes FILE.2 and so on, at most KEEP old files are kept (default 5), and FILE starts empty.",
r'''
rotate_log() {
    local file=$1 max_bytes=$2 keep=${3:-5}
    local size i

    [[ -f $file ]] || return 0
    size=$(wc -c < "$file")
    (( size > max_bytes )) || return 0

    rm -f -- "$file.$keep"
    for (( i = keep - 1; i >= 1; i-- )); do
        if [[ -f $file.$i ]]; then
            mv -- "$file.$i" "$file.$((i + 1))"
        fi
    done
    mv -- "$file" "$file.1"
    : > "$file"
}
''',
"Nothing happens unless the file exists and is larger than the limit. Rotation first deletes the oldest kept file, then shifts the others up by one starting from the highest number, so no file is overwritten before it has been moved; finally the current file becomes `.1` and an empty one takes its place. `--` protects against names starting with `-`. A process that keeps the log open will continue writing to `FILE.1` (same inode), so long-running writers need a signal to reopen, or use `copytruncate`-style rotation instead.",
bug=("    for (( i = keep - 1; i >= 1; i-- )); do", "    for (( i = 1; i < keep; i++ )); do",
     "after a rotation FILE.2 is missing and the contents of the old FILE.2 are lost",
     "Shifting upwards from 1 moves FILE.1 onto FILE.2 before FILE.2 has been moved away, overwriting it, and the next step then moves that file again. The files have to be shifted starting from the oldest."),
check={"main": r'''
set -eu
source ./answer.sh
printf '%0100d' 0 > app.log
echo one > app.log.1
echo two > app.log.2
rotate_log app.log 50 3
[ ! -s app.log ] && [ -f app.log ] || { echo "app.log not emptied"; exit 1; }
[ "$(wc -c < app.log.1)" -eq 100 ] || { echo "app.log.1 wrong"; exit 1; }
[ "$(cat app.log.2)" = one ] && [ "$(cat app.log.3)" = two ] || { echo "shift wrong"; ls -l; exit 1; }
echo small > app.log
rotate_log app.log 50 3
[ "$(cat app.log)" = small ] || { echo "rotated a small file"; exit 1; }
printf '%0100d' 1 > app.log
rotate_log app.log 50 3
[ "$(cat app.log.3)" = one ] && [ ! -e app.log.4 ] || { echo "keep not honoured"; ls; exit 1; }
rotate_log missing.log 10
'''}),

T("bash", "Write a bash function `load_env FILE` that reads KEY=VALUE lines from a .env file and exports them, without eval: skip blank lines and # comments, allow an optional `export ` prefix and single or double quotes around the value, and fail with the line number on invalid lines.",
r'''
load_env() {
    local file=$1 line key value n=0
    local skip_re='^[[:space:]]*(#.*)?$'
    local pair_re='^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$'
    local dq_re='^"(.*)"$' sq_re="^'(.*)'$"

    while IFS= read -r line || [[ -n $line ]]; do
        n=$((n + 1))
        line=${line%$'\r'}
        [[ $line =~ $skip_re ]] && continue
        if [[ ! $line =~ $pair_re ]]; then
            printf '%s:%d: not a KEY=VALUE line\n' "$file" "$n" >&2
            return 1
        fi
        key=${BASH_REMATCH[2]}
        value=${BASH_REMATCH[3]}
        if [[ $value =~ $dq_re || $value =~ $sq_re ]]; then
            value=${BASH_REMATCH[1]}
        fi
        export "$key=$value"
    done < "$file"
}
''',
"Each line is matched against regular expressions held in variables (the reliable way to use `=~`), and the value is assigned with `export \"$key=$value\"`, so it is never evaluated: `$(...)` or backticks in a value stay literal text. `read -r` keeps backslashes, `IFS=` keeps leading spaces, and `|| [[ -n $line ]]` processes a last line that has no trailing newline. A trailing `\\r` from Windows line endings is removed. Keys must be valid shell names, which also rejects lines like `=value` or `MY-KEY=1`.",
bug=("    while IFS= read -r line || [[ -n $line ]]; do", "    while IFS= read -r line; do",
     "the last variable in a .env file is not loaded when the file does not end with a newline",
     "`read` returns non-zero when it hits end of file, even if it read a final line without a newline, so the loop ends before handling it. `|| [[ -n $line ]]` processes that last partial line."),
check={"main": r'''
set -u
source ./answer.sh
printf 'A=1\n# comment\n\n  export B="two words"\nC='"'"'x=y'"'"'\r\nE=$(touch pwned)\nD=last' > test.env
load_env test.env || { echo "load failed"; exit 1; }
[ "$A" = 1 ] && [ "$B" = "two words" ] && [ "$C" = "x=y" ] && [ "$D" = last ] || { echo "values: $A|$B|$C|$D"; exit 1; }
[ "$E" = '$(touch pwned)' ] && [ ! -e pwned ] || { echo "value was evaluated"; exit 1; }
printf 'OK=1\nnot valid\n' > bad.env
msg=$(load_env bad.env 2>&1) && { echo "invalid line accepted"; exit 1; }
[ "$msg" = "bad.env:2: not a KEY=VALUE line" ] || { echo "message: $msg"; exit 1; }
'''}),

T("bash", "Write a bash function `semver_bump VERSION major|minor|patch` that prints the bumped version (1.4.2 minor -> 1.5.0), and bats tests for it.",
r'''
semver_bump() {
    local version=$1 part=$2
    local re='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$'
    if [[ ! $version =~ $re ]]; then
        echo "semver_bump: invalid version '$version'" >&2
        return 1
    fi
    local major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]} patch=${BASH_REMATCH[3]}
    case $part in
        major) echo "$((major + 1)).0.0" ;;
        minor) echo "$major.$((minor + 1)).0" ;;
        patch) echo "$major.$minor.$((patch + 1))" ;;
        *)
            echo "semver_bump: part must be major, minor or patch" >&2
            return 1
            ;;
    esac
}
''',
"The version must be three dot-separated numbers without leading zeros (as SemVer requires, and which also keeps bash arithmetic from reading `08` as an invalid octal number). The captured parts come from `BASH_REMATCH`. Bumping a part resets every lower part to 0, so 1.4.2 becomes 2.0.0, 1.5.0 or 1.4.3. Errors go to stderr with a non-zero status, so `new=$(semver_bump \"$v\" minor) || exit 1` works in scripts. Pre-release suffixes such as `-rc.1` are rejected rather than silently dropped.",
bug=("        minor) echo \"$major.$((minor + 1)).0\" ;;", "        minor) echo \"$major.$((minor + 1)).$patch\" ;;",
     "semver_bump 1.4.2 minor prints 1.5.2",
     "A minor bump must reset the patch number to 0; the buggy branch keeps the old patch number."),
tests=r'''
#!/usr/bin/env bats

source "$BATS_TEST_DIRNAME/semver.sh"

@test "patch bump increments the patch number" {
    run semver_bump 1.4.2 patch
    [ "$status" -eq 0 ]
    [ "$output" = "1.4.3" ]
}

@test "minor bump resets patch" {
    run semver_bump 1.4.2 minor
    [ "$status" -eq 0 ]
    [ "$output" = "1.5.0" ]
}

@test "major bump resets minor and patch" {
    run semver_bump 1.4.2 major
    [ "$output" = "2.0.0" ]
}

@test "multi-digit numbers" {
    run semver_bump 0.9.19 patch
    [ "$output" = "0.9.20" ]
    run semver_bump 9.99.0 minor
    [ "$output" = "9.100.0" ]
}

@test "rejects invalid versions" {
    for v in 1.2 1.2.3.4 01.2.3 1.2.x "" 1.2.3-rc.1; do
        run semver_bump "$v" patch
        [ "$status" -ne 0 ]
    done
}

@test "rejects an unknown part" {
    run semver_bump 1.2.3 build
    [ "$status" -ne 0 ]
    [[ "$output" == *"major, minor or patch"* ]]
}
'''),

# ---------------------------------------------------------------- Ruby
T("ruby", "Clean up this Ruby method that returns the top N customers by total order value (orders are hashes with :customer, :total and :status), ignoring cancelled orders.",
r'''
def top_customers(orders, n = 3)
  orders
    .reject { |order| order[:status] == :cancelled }
    .group_by { |order| order[:customer] }
    .transform_values { |list| list.sum { |order| order[:total] } }
    .max_by(n) { |_customer, total| total }
    .to_h
end
''',
"The method is one pipeline of Enumerable calls: drop cancelled orders, group the rest by customer, replace each group by the sum of its totals, and take the `n` pairs with the largest totals. `max_by(n)` returns them largest first, and `to_h` turns the pairs back into a hash, which keeps that order. For an empty input every step yields an empty collection, so the result is `{}`.",
messy=r'''
def top_customers(orders, n = 3)
  totals = {}
  orders.each do |o|
    if o[:status] != :cancelled
      if totals[o[:customer]] == nil
        totals[o[:customer]] = 0
      end
      totals[o[:customer]] = totals[o[:customer]] + o[:total]
    end
  end
  sorted = totals.sort { |a, b| b[1] <=> a[1] }
  result = {}
  i = 0
  while i < n && i < sorted.length
    result[sorted[i][0]] = sorted[i][1]
    i += 1
  end
  result
end
''',
refactor_note="The manual accumulation, sort and index loop are exactly what `reject`, `group_by`, `transform_values`, `sum` and `max_by(n)` do, so the method shrinks to a readable pipeline. `max_by(n)` also avoids sorting the whole hash just to take a few entries.",
tests=r'''
require "minitest/autorun"
require_relative "top_customers"

class TopCustomersTest < Minitest::Test
  ORDERS = [
    { customer: "ann", total: 30, status: :paid },
    { customer: "bob", total: 50, status: :paid },
    { customer: "ann", total: 40, status: :shipped },
    { customer: "cy", total: 500, status: :cancelled },
    { customer: "dee", total: 5, status: :paid }
  ].freeze

  def test_sums_per_customer_largest_first
    result = top_customers(ORDERS)
    assert_equal({ "ann" => 70, "bob" => 50, "dee" => 5 }, result)
    assert_equal %w[ann bob dee], result.keys
  end

  def test_limits_to_n
    assert_equal %w[ann], top_customers(ORDERS, 1).keys
  end

  def test_ignores_cancelled_orders
    refute_includes top_customers(ORDERS, 10).keys, "cy"
  end

  def test_empty_input
    assert_equal({}, top_customers([]))
  end
end
'''),

T("ruby", "Write Ruby code that parses log lines like `2025-03-14 09:12:01 [WARN] disk at 91%` from an IO into structs and counts entries per level, skipping lines that don't match.",
r'''
LogEntry = Struct.new(:time, :level, :message)

LOG_LINE = /\A(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)\s+\[(DEBUG|INFO|WARN|ERROR)\]\s+(.*)\z/

def parse_log(io)
  io.each_line.filter_map do |line|
    m = LOG_LINE.match(line.chomp)
    LogEntry.new(m[1], m[2].downcase.to_sym, m[3]) if m
  end
end

def count_by_level(entries)
  entries.each_with_object(Hash.new(0)) { |entry, counts| counts[entry.level] += 1 }
end
''',
"`each_line` reads the IO lazily line by line, and `filter_map` (Ruby 2.7+) keeps only the non-nil results, so lines that do not match the pattern are skipped in the same pass. The regex is anchored with `\\A` and `\\z` so the whole line must match, and the newline is removed with `chomp` first because `.` does not match it. Levels become symbols (`:warn`). `Hash.new(0)` gives a counter hash whose missing keys read as 0.",
bug=("LOG_LINE.match(line.chomp)", "LOG_LINE.match(line)", "only the last line of the file is parsed; all the others are skipped",
     "Every line but the last ends in \"\\n\". `(.*)` cannot match the newline and `\\z` requires the true end of the string, so those lines fail to match. Removing the newline with `chomp` before matching fixes it."),
tests=r'''
require "minitest/autorun"
require "stringio"
require_relative "log_parser"

class LogParserTest < Minitest::Test
  LOG = <<~TEXT
    2025-03-14 09:12:01 [WARN] disk at 91%
    garbage line
    2025-03-14 09:12:05 [INFO] backup started
    2025-03-14T09:13:00 [ERROR] backup failed: timeout
    2025-03-14 09:14:00 [INFO] retrying
  TEXT

  def test_parses_matching_lines
    entries = parse_log(StringIO.new(LOG))
    assert_equal 4, entries.size
    assert_equal LogEntry.new("2025-03-14 09:12:01", :warn, "disk at 91%"), entries.first
    assert_equal "backup failed: timeout", entries[2].message
  end

  def test_counts_per_level
    counts = count_by_level(parse_log(StringIO.new(LOG)))
    assert_equal({ warn: 1, info: 2, error: 1 }, counts)
  end

  def test_empty_input
    assert_empty parse_log(StringIO.new(""))
  end
end
'''),

T("ruby", "Write a Ruby method `deep_symbolize_keys(value)` that converts string keys to symbols in nested hashes, including hashes inside arrays, without modifying the input.",
r'''
def deep_symbolize_keys(value)
  case value
  when Hash
    value.each_with_object({}) do |(key, val), result|
      new_key = key.respond_to?(:to_sym) ? key.to_sym : key
      result[new_key] = deep_symbolize_keys(val)
    end
  when Array
    value.map { |item| deep_symbolize_keys(item) }
  else
    value
  end
end
''',
"The method recurses on the structure: hashes are rebuilt with converted keys and converted values, arrays are mapped element by element, and every other value is returned as is. Keys that cannot become symbols (integers, for example) are kept unchanged. Because it always builds new hashes and arrays, the input is never modified. In Rails, `Hash#deep_symbolize_keys` exists already, but it does not descend into arrays.",
bug=("  when Array\n    value.map { |item| deep_symbolize_keys(item) }\n", "",
     "deep_symbolize_keys({\"users\" => [{\"name\" => \"ann\"}]}) returns {users: [{\"name\" => \"ann\"}]}",
     "Arrays fall through to the `else` branch and are returned unchanged, so hashes inside them keep their string keys. Arrays need their own branch that converts each element.")),

# ---------------------------------------------------------------- Haskell
T("haskell", "Write a Haskell function `topWords :: Int -> String -> [(String, Int)]` returning the n most frequent words (case-insensitive, letters only), ties broken alphabetically.",
r'''
module WordFreq (topWords) where

import Data.Char (isAlpha, toLower)
import Data.List (sortBy)
import qualified Data.Map.Strict as Map
import Data.Ord (Down (..), comparing)

topWords :: Int -> String -> [(String, Int)]
topWords n text = take n (sortBy order (Map.toList counts))
  where
    counts = Map.fromListWith (+) [(w, 1) | w <- words (map normalize text)]
    normalize c = if isAlpha c then toLower c else ' '
    order = comparing (Down . snd) <> comparing fst
''',
"Every character that is not a letter becomes a space and letters are lowercased, so `words` splits the text into normalized words. `Map.fromListWith (+)` counts them with a strict map (no build-up of unevaluated sums). The comparator combines two orderings with `<>`: first by count, descending thanks to `Down`, and for equal counts alphabetically by word. `take n` then keeps the top n; laziness does not avoid the full sort, but the sort is over distinct words only.",
bug=("comparing (Down . snd)", "comparing snd", "topWords 2 returns the two rarest words instead of the most frequent",
     "`comparing snd` sorts counts in ascending order, so the least frequent words come first. Wrapping the count in `Down` reverses that order.")),

T("haskell", "Define an expression type in Haskell (numbers, variables, +, -, *, /) and an evaluator that returns Either an error message or the value: unknown variables and division by zero are errors. Include a test program.",
r'''
module Eval (Expr (..), eval) where

import qualified Data.Map as Map

data Expr
  = Num Double
  | Var String
  | Add Expr Expr
  | Sub Expr Expr
  | Mul Expr Expr
  | Div Expr Expr
  deriving (Show)

eval :: Map.Map String Double -> Expr -> Either String Double
eval _ (Num x) = Right x
eval env (Var v) = maybe (Left ("unbound variable " ++ v)) Right (Map.lookup v env)
eval env (Add a b) = (+) <$> eval env a <*> eval env b
eval env (Sub a b) = (-) <$> eval env a <*> eval env b
eval env (Mul a b) = (*) <$> eval env a <*> eval env b
eval env (Div a b) = do
  x <- eval env a
  y <- eval env b
  if y == 0 then Left "division by zero" else Right (x / y)
''',
"`Either String` is a monad that stops at the first `Left`, so errors propagate without any explicit checks: the binary operators combine both sides with `<$>` and `<*>`, and an error on either side is the result. Variables are looked up in a `Map`, and `maybe` turns a missing key into an error message. Division needs the divisor's value before deciding, so it uses `do` notation; with plain `Double` division, dividing by zero would silently produce `Infinity`.",
bug=("  if y == 0 then Left \"division by zero\" else Right (x / y)", "  Right (x / y)",
     "evaluating Div (Num 1) (Var \"y\") with y = 0 returns Right Infinity instead of an error",
     "Floating-point division by zero does not fail in Haskell; it yields Infinity or NaN. The evaluator has to check the divisor explicitly."),
tests=r'''
import qualified Data.Map as Map
import Eval
import System.Exit (exitFailure)

main :: IO ()
main = do
  let env = Map.fromList [("x", 4), ("y", 0)]
      cases =
        [ (eval env (Add (Num 1) (Mul (Var "x") (Num 2.5))), Right 11)
        , (eval env (Div (Var "x") (Var "y")), Left "division by zero")
        , (eval env (Sub (Var "z") (Num 1)), Left "unbound variable z")
        , (eval Map.empty (Div (Num 1) (Num 4)), Right 0.25)
        , (eval env (Mul (Div (Num 1) (Num 0)) (Var "nope")), Left "division by zero")
        ]
      failures = [i | (i, (got, want)) <- zip [1 :: Int ..] cases, got /= want]
  if null failures
    then putStrLn "all tests passed"
    else do
      putStrLn ("failed cases: " ++ show failures)
      exitFailure
'''),

T("haskell", "Make this Haskell code idiomatic. `balances` gives the running balance after each transaction from an opening balance, and `lowestBalance` the lowest balance ever reached (the opening balance included).",
r'''
module Balance (balances, lowestBalance) where

-- | Balance after each transaction.
balances :: Integer -> [Integer] -> [Integer]
balances opening = drop 1 . scanl (+) opening

-- | The lowest balance reached, the opening balance included.
lowestBalance :: Integer -> [Integer] -> Integer
lowestBalance opening = minimum . scanl (+) opening
''',
"`scanl (+) opening` produces the opening balance followed by the balance after every transaction. `balances` drops the first element; `lowestBalance` keeps it, so that an account that only ever goes up reports its opening balance. `scanl` never returns an empty list, so `minimum` is safe even with no transactions.",
bug=("balances opening = drop 1 . scanl (+) opening", "balances opening = scanl (+) opening",
     "balances 100 [-30, 50] returns [100, 70, 120], one element too many",
     "`scanl` includes the starting value as its first element. The balance after each transaction starts at the second element, so the first one has to be dropped."),
messy=r'''
module Balance (balances, lowestBalance) where

balances :: Integer -> [Integer] -> [Integer]
balances opening txs = go opening txs
  where
    go b [] = []
    go b (t : ts) = (b + t) : go (b + t) ts

lowestBalance :: Integer -> [Integer] -> Integer
lowestBalance opening txs = helper opening (balances opening txs)
  where
    helper m [] = m
    helper m (x : xs) = if x < m then helper x xs else helper m xs
''',
refactor_note="Both hand-written recursions are standard library patterns: a running accumulation is `scanl`, and tracking the smallest element is `minimum`. Writing them that way removes the helper functions (and the unused-variable warning for `b` in `go b []`), and the functions become point-free one-liners whose meaning is visible at a glance."),

# ---------------------------------------------------------------- TypeScript
T("typescript", "Write a generic TypeScript function `paginate(items, page, pageSize)` that returns the items of a 1-based page plus page, totalPages and hasNext, rejecting invalid arguments.",
r'''
export interface Page<T> {
  items: T[];
  page: number;
  totalPages: number;
  hasNext: boolean;
}

export function paginate<T>(items: readonly T[], page: number, pageSize: number): Page<T> {
  if (!Number.isInteger(page) || page < 1) {
    throw new RangeError(`page must be a positive integer, got ${page}`);
  }
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
  }
  const totalPages = Math.max(1, Math.ceil(items.length / pageSize));
  const start = (page - 1) * pageSize;
  return {
    items: items.slice(start, start + pageSize),
    page,
    totalPages,
    hasNext: page < totalPages,
  };
}
''',
"Pages are 1-based, so page p starts at index (p - 1) * pageSize, and `slice` simply returns an empty array for a page past the end. The page count rounds up (a partial last page is still a page), with a minimum of 1 so that an empty list has one empty page. `Number.isInteger` rejects NaN, fractions and Infinity as well as wrong values. The input is typed `readonly T[]`, which documents (and enforces) that it is not modified.",
bug=("Math.ceil(items.length / pageSize)", "Math.floor(items.length / pageSize)",
     "with 25 items and pageSize 10, page 2 reports hasNext false and the last 5 items can never be reached",
     "Rounding the page count down drops the final partial page. It must round up."),
tests=r'''
import { paginate } from "./paginate";

const items = Array.from({ length: 25 }, (_, i) => i + 1);

describe("paginate", () => {
  it("returns the requested slice", () => {
    const p = paginate(items, 2, 10);
    expect(p.items).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(p.totalPages).toBe(3);
    expect(p.hasNext).toBe(true);
  });

  it("has a partial last page", () => {
    const p = paginate(items, 3, 10);
    expect(p.items).toEqual([21, 22, 23, 24, 25]);
    expect(p.hasNext).toBe(false);
  });

  it("returns an empty page past the end", () => {
    expect(paginate(items, 9, 10).items).toEqual([]);
  });

  it("treats an empty list as one empty page", () => {
    expect(paginate([], 1, 10)).toEqual({ items: [], page: 1, totalPages: 1, hasNext: false });
  });

  it("rejects invalid arguments", () => {
    expect(() => paginate(items, 0, 10)).toThrow(RangeError);
    expect(() => paginate(items, 1, 0)).toThrow(RangeError);
    expect(() => paginate(items, 1.5, 10)).toThrow(RangeError);
  });
});
'''),

T("typescript", "This TypeScript helper is typed with `any` everywhere. Give it real types without changing what it returns.",
r'''
export function groupBy<T, K extends keyof T>(items: readonly T[], key: K): Record<string, T[]> {
  const groups: Record<string, T[]> = {};
  for (const item of items) {
    const k = String(item[key]);
    const group = groups[k];
    if (group) {
      group.push(item);
    } else {
      groups[k] = [item];
    }
  }
  return groups;
}
''',
"`K extends keyof T` restricts the key to properties that the items actually have, so `groupBy(users, \"role\")` compiles and `groupBy(users, \"rloe\")` is a type error. The result maps the property's value, converted to a string exactly as the original object keys were, to the items that share it, and its element type is `T[]` instead of `any`, so callers keep full typing on the grouped items.",
messy=r'''
export function groupBy(items: any, key: any): any {
  var result: any = {};
  for (var i = 0; i < items.length; i++) {
    var k = items[i][key];
    if (result[k] === undefined) {
      result[k] = [];
    }
    result[k].push(items[i]);
  }
  return result;
}
''',
refactor_note="The runtime behaviour is unchanged (object keys were already the string form of the property value; now `String()` makes that explicit), but the signature is generic: the key must be a property of the item type and the groups keep the item type. `var` and the index loop are replaced by `const` and `for...of`."),

T("typescript", "Write a typed reducer for a todo list in TypeScript with actions add, toggle, remove and clearDone, where the compiler checks that every action is handled.",
r'''
export interface Todo {
  id: number;
  title: string;
  done: boolean;
}

export type Action =
  | { type: "add"; id: number; title: string }
  | { type: "toggle"; id: number }
  | { type: "remove"; id: number }
  | { type: "clearDone" };

export function todosReducer(state: readonly Todo[], action: Action): readonly Todo[] {
  switch (action.type) {
    case "add":
      return [...state, { id: action.id, title: action.title, done: false }];
    case "toggle": {
      const { id } = action;
      return state.map((t) => (t.id === id ? { ...t, done: !t.done } : t));
    }
    case "remove": {
      const { id } = action;
      return state.filter((t) => t.id !== id);
    }
    case "clearDone":
      return state.filter((t) => !t.done);
    default: {
      const unhandled: never = action;
      throw new Error(`unknown action ${JSON.stringify(unhandled)}`);
    }
  }
}
''',
"`Action` is a discriminated union on `type`, so inside each `case` TypeScript narrows `action` and knows which fields exist (the id is copied into a `const` before the callbacks, because older compilers do not keep a parameter's narrowing inside closures). In the `default` branch every known variant has been handled, leaving `never`; if someone adds a variant and forgets its case, assigning it to `never` becomes a compile error. The reducer never mutates: each case returns a new array, and `toggle` copies the changed todo with spread, which is what lets React and similar libraries detect the change by reference.",
bug=("state.map((t) => (t.id === id ? { ...t, done: !t.done } : t))", "state.map((t) => { if (t.id === id) t.done = !t.done; return t; })",
     "toggling a todo changes the previous state too, and memoized components do not re-render",
     "The toggle mutates the existing todo object instead of copying it, so the old state changes as well and the changed item keeps the same reference. Reducers must return new objects for anything they change."),
),
]

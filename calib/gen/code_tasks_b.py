# code_tasks_b.py: hand-written coding tasks (Go, JavaScript, TypeScript, Java), authored for reap.
from code_tasks_a import T

TASKS_B = [
# ---------------------------------------------------------------- Go
T("go", "Write a Go HTTP handler that returns the server's health as JSON: {\"status\":\"ok\",\"uptime_seconds\":N}. Only GET is allowed.",
r'''
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"time"
)

var started = time.Now()

type health struct {
	Status        string `json:"status"`
	UptimeSeconds int64  `json:"uptime_seconds"`
}

func healthHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	body := health{Status: "ok", UptimeSeconds: int64(time.Since(started).Seconds())}
	if err := json.NewEncoder(w).Encode(body); err != nil {
		log.Printf("health: encode: %v", err)
	}
}

func main() {
	http.HandleFunc("/healthz", healthHandler)
	log.Fatal(http.ListenAndServe(":8080", nil))
}
''',
"The handler rejects other methods with 405 and an `Allow` header, as HTTP requires. Struct tags give the JSON field names. The content type is set before the body is written, because headers cannot change once writing starts. An encoding error can only be logged at that point, since the status line has already been sent.",
tests=r'''
package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthGet(t *testing.T) {
	rec := httptest.NewRecorder()
	healthHandler(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	var h health
	if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil {
		t.Fatalf("bad json: %v", err)
	}
	if h.Status != "ok" || h.UptimeSeconds < 0 {
		t.Errorf("unexpected body %+v", h)
	}
}

func TestHealthRejectsPost(t *testing.T) {
	rec := httptest.NewRecorder()
	healthHandler(rec, httptest.NewRequest(http.MethodPost, "/healthz", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("status = %d, want 405", rec.Code)
	}
	if rec.Header().Get("Allow") != "GET" {
		t.Errorf("Allow header = %q", rec.Header().Get("Allow"))
	}
}
'''),

T("go", "Write a Go worker pool: process a slice of job IDs with N goroutines, collect results in input order, stop on the first error using context cancellation.",
r'''
package pool

import (
	"context"
	"sync"
)

// Run calls work for every job with at most n goroutines and returns the results in input order.
// On the first error the context passed to the remaining work calls is cancelled.
func Run[J, R any](ctx context.Context, jobs []J, n int, work func(context.Context, J) (R, error)) ([]R, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	results := make([]R, len(jobs))
	indexes := make(chan int)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range indexes {
				r, err := work(ctx, jobs[i])
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					continue
				}
				results[i] = r
			}
		}()
	}
feed:
	for i := range jobs {
		select {
		case indexes <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(indexes)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return results, ctx.Err()
}
''',
"Workers receive job indexes over an unbuffered channel and write each result into its own slot, so results come out in input order without a mutex (distinct slots never race). `sync.Once` records only the first error and cancels the context, which stops the feeder loop and tells in-flight work to give up. Closing the channel ends the workers' `range` loops, and `wg.Wait` makes sure all writes are done before the slice is returned.",
bug=("\tclose(indexes)\n", "", "Run hangs forever after all jobs are processed",
     "The workers loop with `for i := range indexes`, which only ends when the channel is closed. Without `close(indexes)` they block forever waiting for more work, so `wg.Wait()` never returns."),
reasoning="Use a channel of indexes and a fixed number of goroutines. Results slice indexed by job position, no lock needed. First error: sync.Once + cancel. Feeder must select on ctx.Done so it does not block when workers stopped. Close channel, wait."),

T("go", "Write a Go function that reverses the words in a sentence, keeping single spaces, e.g. \"the sky  is blue\" -> \"blue is sky the\".",
r'''
package words

import "strings"

func ReverseWords(s string) string {
	fields := strings.Fields(s)
	for i, j := 0, len(fields)-1; i < j; i, j = i+1, j-1 {
		fields[i], fields[j] = fields[j], fields[i]
	}
	return strings.Join(fields, " ")
}
''',
"`strings.Fields` splits on runs of whitespace and drops empty fields, so repeated and leading or trailing spaces disappear. The slice is reversed in place with two indexes moving toward each other, then joined with single spaces.",
tests=r'''
package words

import "testing"

func TestReverseWords(t *testing.T) {
	cases := []struct{ in, want string }{
		{"the sky  is blue", "blue is sky the"},
		{"  hello world  ", "world hello"},
		{"single", "single"},
		{"", ""},
		{"a\tb\nc", "c b a"},
	}
	for _, c := range cases {
		if got := ReverseWords(c.in); got != c.want {
			t.Errorf("ReverseWords(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
'''),

T("go", "Write a Go function that reads a JSON file of users ([{\"name\":..., \"email\":..., \"age\":...}]) and returns those older than a given age, with wrapped errors.",
r'''
package users

import (
	"encoding/json"
	"fmt"
	"os"
)

type User struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Age   int    `json:"age"`
}

func OlderThan(path string, age int) ([]User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	var all []User
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var out []User
	for _, u := range all {
		if u.Age > age {
			out = append(out, u)
		}
	}
	return out, nil
}
''',
"Errors are wrapped with `%w`, which adds context to the message while keeping the original error inspectable with `errors.Is` (for example `errors.Is(err, fs.ErrNotExist)`). The struct tags map the lowercase JSON keys onto exported Go fields; unexported fields would be ignored by `encoding/json`. Filtering appends to a nil slice, so no match returns a nil slice, which ranges and `len` handle like an empty one.",
bug=("Name  string `json:\"name\"`\n\tEmail string `json:\"email\"`\n\tAge   int    `json:\"age\"`", "name  string `json:\"name\"`\n\temail string `json:\"email\"`\n\tage   int    `json:\"age\"`",
     "OlderThan always returns an empty result even though the file has older users (and the package no longer compiles where u.Age is used)",
     "`encoding/json` only sets exported (capitalised) struct fields; lowercase fields are invisible to it, so every decoded user has zero values. The fields must be exported, with tags giving the JSON names.")),

T("go", "Implement a thread-safe counter map in Go (string -> int) with Inc, Get and Snapshot methods.",
r'''
package counter

import "sync"

type Counter struct {
	mu     sync.RWMutex
	counts map[string]int
}

func New() *Counter {
	return &Counter{counts: make(map[string]int)}
}

func (c *Counter) Inc(key string, delta int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[key] += delta
}

func (c *Counter) Get(key string) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.counts[key]
}

// Snapshot returns a copy that the caller may use without locking.
func (c *Counter) Snapshot() map[string]int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]int, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}
''',
"Go maps are not safe for concurrent writes, so every access goes through the mutex. An `RWMutex` lets many readers (`Get`, `Snapshot`) proceed together while writers are exclusive. `Snapshot` returns a copy: returning the internal map would let callers read it while another goroutine writes, which is a data race. Methods use pointer receivers because copying a struct that contains a mutex breaks the lock.",
bug=("func (c *Counter) Inc(key string, delta int) {\n\tc.mu.Lock()\n\tdefer c.mu.Unlock()", "func (c *Counter) Inc(key string, delta int) {\n\tc.mu.RLock()\n\tdefer c.mu.RUnlock()",
     "under load the program crashes with \"fatal error: concurrent map writes\"",
     "A read lock can be held by many goroutines at once, so several `Inc` calls write the map simultaneously. Writes need the exclusive `Lock`.")),

T("go", "Write a Go CLI that prints the SHA-256 of each file given as an argument, like sha256sum, exiting with status 1 if any file fails.",
r'''
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func main() {
	status := 0
	for _, path := range os.Args[1:] {
		sum, err := hashFile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sha256: %v\n", err)
			status = 1
			continue
		}
		fmt.Printf("%s  %s\n", sum, path)
	}
	os.Exit(status)
}
''',
"`io.Copy` streams the file into the hash in chunks, so memory use does not depend on file size. Hashing lives in its own function so `defer f.Close()` runs per file rather than piling up until `main` returns. A failing file is reported on stderr and the loop continues, with the exit status remembering the failure, the same behaviour as `sha256sum`."),

# ---------------------------------------------------------------- JavaScript
T("javascript", "Write a debounce function in JavaScript: the wrapped function runs only after `wait` ms have passed without another call. Add a cancel() method.",
r'''
function debounce(fn, wait) {
  let timer = null;

  function debounced(...args) {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn.apply(this, args);
    }, wait);
  }

  debounced.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };

  return debounced;
}

// Usage: search only after the user stops typing for 300 ms.
// input.addEventListener("input", debounce((e) => search(e.target.value), 300));

module.exports = { debounce };
''',
"Every call clears the pending timer and starts a new one, so `fn` runs only once the calls stop for `wait` milliseconds, with the arguments of the last call. `debounced` is a regular function so that `this` is whatever the caller used, and the arrow function inside the timeout keeps that `this` for `fn.apply`. `cancel` drops a pending call.",
bug=("    clearTimeout(timer);\n    timer = setTimeout", "    timer = setTimeout", "typing 'hello' quickly fires the search five times, once per keystroke, just delayed",
     "Without clearing the previous timer every call schedules its own invocation, so the function is delayed but not debounced. Each call must cancel the pending one first."),
tests=r'''
const { debounce } = require("./debounce");

jest.useFakeTimers();

test("runs once after the quiet period with the last arguments", () => {
  const fn = jest.fn();
  const d = debounce(fn, 100);
  d(1);
  d(2);
  d(3);
  expect(fn).not.toHaveBeenCalled();
  jest.advanceTimersByTime(100);
  expect(fn).toHaveBeenCalledTimes(1);
  expect(fn).toHaveBeenCalledWith(3);
});

test("cancel drops the pending call", () => {
  const fn = jest.fn();
  const d = debounce(fn, 50);
  d();
  d.cancel();
  jest.advanceTimersByTime(100);
  expect(fn).not.toHaveBeenCalled();
});
'''),

T("javascript", "Write a Node.js script that reads a JSON array of products from products.json and prints the total stock value (price * quantity) per category, sorted by value.",
r'''
const fs = require("node:fs/promises");

async function main(path = "products.json") {
  const products = JSON.parse(await fs.readFile(path, "utf8"));
  const totals = new Map();
  for (const { category, price, quantity } of products) {
    totals.set(category, (totals.get(category) ?? 0) + price * quantity);
  }
  const rows = [...totals.entries()].sort((a, b) => b[1] - a[1]);
  for (const [category, value] of rows) {
    console.log(`${category.padEnd(20)} ${value.toFixed(2).padStart(12)}`);
  }
}

main(process.argv[2]).catch((err) => {
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
});
''',
"The file is read with the promise API and parsed once. A `Map` accumulates the value per category; `?? 0` starts a category at zero. Sorting uses a numeric comparator (`b[1] - a[1]` for descending); the default `sort` would compare the numbers as strings. Errors (missing file, bad JSON) are printed and set a non-zero exit code rather than crashing with a stack trace.",
bug=("sort((a, b) => b[1] - a[1])", "sort()", "categories come out in alphabetical order instead of by value",
     "Without a comparator, `Array.prototype.sort` converts elements to strings and sorts them lexicographically; the entries are `[category, value]` arrays, so they sort by category name. A numeric comparator on the value is needed.")),

T("javascript", "Implement a function `groupBy(array, keyFn)` in JavaScript that returns an object mapping keys to arrays of items, without using Object.groupBy.",
r'''
function groupBy(items, keyFn) {
  const groups = Object.create(null);
  for (const item of items) {
    const key = keyFn(item);
    (groups[key] ??= []).push(item);
  }
  return groups;
}

// groupBy([1, 2, 3, 4, 5], (n) => (n % 2 ? "odd" : "even"))
//   -> { odd: [1, 3, 5], even: [2, 4] }
''',
"`Object.create(null)` makes an object with no prototype, so keys like `constructor` or `__proto__` coming from data cannot collide with inherited properties. The logical nullish assignment `??=` creates the array the first time a key appears. Items keep their original order within each group.",
messy=r'''
function groupBy(items, keyFn) {
  var groups = {};
  for (var i = 0; i < items.length; i++) {
    var key = keyFn(items[i]);
    if (groups[key] === undefined) {
      groups[key] = [];
      groups[key].push(items[i]);
    } else {
      groups[key].push(items[i]);
    }
  }
  return groups;
}
''',
refactor_note="The `var` loop duplicates the push in both branches and uses a plain `{}`, so a key such as `toString` finds the inherited method instead of `undefined` and the code calls `.push` on a function. A prototype-less object and `??=` remove both the duplication and the collision."),

T("javascript", "Write a JavaScript function that deep-clones plain data (objects, arrays, Dates, Maps, Sets) and handles circular references.",
r'''
function deepClone(value, seen = new WeakMap()) {
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return seen.get(value);

  if (value instanceof Date) return new Date(value.getTime());

  if (value instanceof Map) {
    const copy = new Map();
    seen.set(value, copy);
    for (const [k, v] of value) copy.set(deepClone(k, seen), deepClone(v, seen));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    seen.set(value, copy);
    for (const v of value) copy.add(deepClone(v, seen));
    return copy;
  }

  const copy = Array.isArray(value) ? [] : Object.create(Object.getPrototypeOf(value));
  seen.set(value, copy);
  for (const key of Reflect.ownKeys(value)) {
    copy[key] = deepClone(value[key], seen);
  }
  return copy;
}
''',
"Primitives are returned as they are. The `WeakMap` maps every original object to its copy before its children are cloned, so a circular reference finds the copy in progress instead of recursing forever, and shared sub-objects stay shared in the clone. Dates, Maps and Sets need their own branches because their contents are not ordinary properties. `Reflect.ownKeys` also copies symbol keys. In modern runtimes `structuredClone` does most of this natively."),

T("javascript", "Write an Express route POST /api/todos that validates the body ({title: non-empty string, due?: ISO date}) and stores the todo in memory, returning 201 with the created item.",
r'''
const express = require("express");
const crypto = require("node:crypto");

const app = express();
app.use(express.json());

const todos = new Map();

function validateTodo(body) {
  const errors = [];
  if (typeof body?.title !== "string" || body.title.trim() === "") {
    errors.push("title must be a non-empty string");
  }
  if (body?.due !== undefined && Number.isNaN(Date.parse(body.due))) {
    errors.push("due must be an ISO 8601 date");
  }
  return errors;
}

app.post("/api/todos", (req, res) => {
  const errors = validateTodo(req.body);
  if (errors.length > 0) {
    return res.status(400).json({ errors });
  }
  const todo = {
    id: crypto.randomUUID(),
    title: req.body.title.trim(),
    due: req.body.due ? new Date(req.body.due).toISOString() : null,
    done: false,
  };
  todos.set(todo.id, todo);
  res.status(201).location(`/api/todos/${todo.id}`).json(todo);
});

app.listen(3000, () => console.log("listening on :3000"));
''',
"`express.json()` parses JSON bodies into `req.body`. Validation collects every problem so the client sees all of them in one 400 response. The server generates the id and only copies the fields it knows, so extra fields in the request cannot end up in the stored object. A 201 response with a `Location` header is the conventional answer to a successful create.",
bug=("    return res.status(400).json({ errors });", "    res.status(400).json({ errors });", "posting an invalid todo logs \"Cannot set headers after they are sent to the client\" and sometimes crashes",
     "Without `return`, the handler keeps going after sending the 400 response and tries to send the 201 response too (and `title.trim()` can throw on a missing title). Sending a response does not stop the function; return right after it.")),

# ---------------------------------------------------------------- TypeScript
T("typescript", "Write a TypeScript function `retryFetch` that calls fetch with a timeout (AbortController) and retries on network errors or 5xx responses, up to N attempts, with typed options.",
r'''
export interface RetryOptions {
  attempts?: number;
  timeoutMs?: number;
  backoffMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function retryFetch(
  url: string,
  init: RequestInit = {},
  { attempts = 3, timeoutMs = 5000, backoffMs = 250 }: RetryOptions = {},
): Promise<Response> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const res = await fetch(url, { ...init, signal: controller.signal });
      if (res.status < 500) return res;
      lastError = new Error(`HTTP ${res.status} from ${url}`);
    } catch (err) {
      lastError = err;
    } finally {
      clearTimeout(timer);
    }
    if (attempt < attempts) await sleep(backoffMs * 2 ** (attempt - 1));
  }
  throw lastError;
}
''',
"Each attempt gets its own `AbortController`, because an aborted controller stays aborted. The timer aborts the request after `timeoutMs`, and `finally` clears it whether the request succeeded or failed. Responses below 500 are returned to the caller (a 404 is an answer, not a transient failure); 5xx responses and thrown errors are retried with exponential backoff. Options are destructured with defaults, so callers pass only what they change."),

T("typescript", "Define TypeScript types for a discriminated union of shapes (circle, rectangle, triangle) and write an `area` function with exhaustive checking.",
r'''
type Circle = { kind: "circle"; radius: number };
type Rectangle = { kind: "rectangle"; width: number; height: number };
type Triangle = { kind: "triangle"; base: number; height: number };

export type Shape = Circle | Rectangle | Triangle;

function assertNever(x: never): never {
  throw new Error(`unexpected shape: ${JSON.stringify(x)}`);
}

export function area(shape: Shape): number {
  switch (shape.kind) {
    case "circle":
      return Math.PI * shape.radius ** 2;
    case "rectangle":
      return shape.width * shape.height;
    case "triangle":
      return (shape.base * shape.height) / 2;
    default:
      return assertNever(shape);
  }
}
''',
"The `kind` field is a literal type in each member, so inside each `case` TypeScript narrows `shape` to that member and only its fields are accessible. In the `default` branch every member has been handled, so `shape` has type `never`; passing it to `assertNever` compiles. If someone adds a new shape to the union and forgets a case, that call stops compiling, which turns a runtime bug into a type error.",
tests=r'''
import { area, Shape } from "./shapes";

describe("area", () => {
  it("computes a circle", () => {
    expect(area({ kind: "circle", radius: 2 })).toBeCloseTo(12.566, 3);
  });

  it("computes a rectangle", () => {
    expect(area({ kind: "rectangle", width: 3, height: 4 })).toBe(12);
  });

  it("computes a triangle", () => {
    expect(area({ kind: "triangle", base: 10, height: 3 })).toBe(15);
  });

  it("throws on an unknown kind at runtime", () => {
    const bogus = { kind: "hexagon", side: 1 } as unknown as Shape;
    expect(() => area(bogus)).toThrow("unexpected shape");
  });
});
'''),

T("typescript", "Write a generic TypeScript function `pick` that takes an object and a list of keys and returns a new object with only those keys, fully typed.",
r'''
export function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) {
    if (key in obj) {
      out[key] = obj[key];
    }
  }
  return out;
}

// const user = { id: 1, name: "Ada", password: "x" };
// const safe = pick(user, ["id", "name"]);   // type { id: number; name: string }
''',
"`K extends keyof T` restricts the keys to names that exist on the object, so a typo is a compile error, and the return type `Pick<T, K>` has exactly those properties with their original types. `readonly K[]` lets callers pass `as const` arrays. The `in` check skips optional keys that are absent, so they do not appear as `undefined` properties.",
bug=("K extends keyof T>", "K extends string>", "the compiler reports \"Type 'K' cannot be used to index type 'T'\" and `pick(user, [\"nmae\"])` is not caught",
     "With `K extends string`, nothing ties the keys to the object, so `obj[key]` is not a valid index and typos are accepted. Constraining `K` to `keyof T` links them.")),

T("typescript", "Write a small typed event emitter in TypeScript where event names and payload types are checked at compile time.",
r'''
type Listener<P> = (payload: P) => void;

export class TypedEmitter<Events extends Record<string, unknown>> {
  private listeners: { [E in keyof Events]?: Set<Listener<Events[E]>> } = {};

  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    const set = (this.listeners[event] ??= new Set());
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const listener of this.listeners[event] ?? []) {
      listener(payload);
    }
  }
}

// interface AppEvents { login: { userId: string }; logout: undefined }
// const bus = new TypedEmitter<AppEvents>();
// const off = bus.on("login", ({ userId }) => console.log(userId));
// bus.emit("login", { userId: "u1" });   // ok
// bus.emit("login", { id: 1 });          // compile error
''',
"The class is parameterised by a map from event name to payload type. `on` and `emit` take an event name `E` from that map and a listener or payload of exactly `Events[E]`, so wrong names or payloads are compile errors. Listeners are stored in a `Set` per event, and `on` returns an unsubscribe function, which is easier to use correctly than a separate `off` that needs the same function reference."),

# ---------------------------------------------------------------- Java
T("java", "Write a Java method that returns the first non-repeating character in a string, or an empty Optional.",
r'''
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

public final class Strings {
    private Strings() {}

    public static Optional<Character> firstUnique(String s) {
        Map<Character, Integer> counts = new LinkedHashMap<>();
        for (char c : s.toCharArray()) {
            counts.merge(c, 1, Integer::sum);
        }
        for (Map.Entry<Character, Integer> e : counts.entrySet()) {
            if (e.getValue() == 1) {
                return Optional.of(e.getKey());
            }
        }
        return Optional.empty();
    }
}
''',
"A `LinkedHashMap` remembers insertion order, so iterating its entries visits characters in the order of their first appearance; the first entry with count 1 is the answer. `merge(c, 1, Integer::sum)` inserts 1 or adds 1 in a single call. The whole thing is O(n). Note that this works on UTF-16 code units, so characters outside the Basic Multilingual Plane (most emoji) count as two.",
bug=("new LinkedHashMap<>()", "new HashMap<>()", "firstUnique(\"swiss\") sometimes returns 'i' instead of 'w' (and the import is unused)",
     "A `HashMap` iterates in hash order, not insertion order, so the first count-1 entry found is not necessarily the first in the string. `LinkedHashMap` preserves the order of first insertion."),
tests=r'''
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class StringsTest {
    @Test
    void findsFirstUnique() {
        assertEquals(Optional.of('w'), Strings.firstUnique("swiss"));
        assertEquals(Optional.of('l'), Strings.firstUnique("leetcode"));
    }

    @Test
    void emptyWhenAllRepeat() {
        assertEquals(Optional.empty(), Strings.firstUnique("aabb"));
        assertEquals(Optional.empty(), Strings.firstUnique(""));
    }
}
'''),

T("java", "Write a Java record `Money` with amount (BigDecimal) and currency, with add/multiply that check the currency and round to 2 decimals.",
r'''
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Objects;

public record Money(BigDecimal amount, String currency) {
    public Money {
        Objects.requireNonNull(amount, "amount");
        Objects.requireNonNull(currency, "currency");
        amount = amount.setScale(2, RoundingMode.HALF_EVEN);
    }

    public static Money of(String amount, String currency) {
        return new Money(new BigDecimal(amount), currency);
    }

    public Money add(Money other) {
        requireSameCurrency(other);
        return new Money(amount.add(other.amount), currency);
    }

    public Money multiply(BigDecimal factor) {
        return new Money(amount.multiply(factor), currency);
    }

    private void requireSameCurrency(Money other) {
        if (!currency.equals(other.currency)) {
            throw new IllegalArgumentException(
                "currency mismatch: " + currency + " vs " + other.currency);
        }
    }
}
''',
"`BigDecimal` is used because binary floating point cannot represent most decimal cents exactly (0.1 + 0.2 != 0.3 in `double`). The compact constructor validates and normalises every instance to two decimals with banker's rounding (`HALF_EVEN`), which is common in accounting. Records are immutable, so the operations return new values. `Money.of(\"0.10\", \"EUR\")` takes a string to avoid creating the `BigDecimal` from an inexact double.",
bug=("return new Money(new BigDecimal(amount), currency);", "return new Money(new BigDecimal(Double.parseDouble(amount)), currency);", "Money.of(\"2.675\", \"USD\") becomes 2.67 instead of 2.68",
     "Going through `double` first turns 2.675 into 2.67499999999999982236431605997495353221893310546875, which then rounds down. Constructing the `BigDecimal` from the string keeps the exact decimal value.")),

T("java", "Write a Java method that reads a log file and counts lines per log level (INFO, WARN, ERROR) using streams, closing the file properly.",
r'''
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

public final class LogLevels {
    private static final Pattern LEVEL = Pattern.compile("\\b(TRACE|DEBUG|INFO|WARN|ERROR)\\b");

    public static Map<String, Long> count(Path path) {
        try (Stream<String> lines = Files.lines(path)) {
            return lines
                .map(LEVEL::matcher)
                .filter(Matcher::find)
                .map(m -> m.group(1))
                .collect(Collectors.groupingBy(Function.identity(), TreeMap::new, Collectors.counting()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }
}
''',
"`Files.lines` reads lazily, so large logs are not loaded into memory, but the stream holds an open file handle; the try-with-resources block closes it. Each line is matched against the level pattern, lines without a level are dropped, and `groupingBy` with `counting` builds the totals, in a `TreeMap` so the output is sorted by level name.",
bug=("try (Stream<String> lines = Files.lines(path)) {\n            return lines", "try {\n            return Files.lines(path)", "after processing a few thousand log files the service fails with \"Too many open files\"",
     "A stream from `Files.lines` keeps the file open until it is closed, and terminal operations such as `collect` do not close it. It must be created in a try-with-resources block.")),

T("java", "Implement a simple generic LRU cache in Java by extending LinkedHashMap.",
r'''
import java.util.LinkedHashMap;
import java.util.Map;

public class LruCache<K, V> extends LinkedHashMap<K, V> {
    private final int capacity;

    public LruCache(int capacity) {
        super(16, 0.75f, true);
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.capacity = capacity;
    }

    @Override
    protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
        return size() > capacity;
    }
}
''',
"The third constructor argument `true` switches `LinkedHashMap` to access order: every `get` or `put` moves the entry to the end, so the eldest entry is the least recently used. After each insertion the map calls `removeEldestEntry`; returning true when the size exceeds the capacity evicts it. The class is not thread-safe; wrap it with `Collections.synchronizedMap` if several threads share it.",
bug=("super(16, 0.75f, true);", "super(16, 0.75f, false);", "entries that are read all the time are still evicted first",
     "With `false` the map keeps insertion order, so reads do not refresh an entry and the cache evicts the oldest inserted entry (FIFO), not the least recently used one.")),

T("java", "Write a Java class that runs several independent HTTP health checks in parallel with CompletableFuture and returns a map of service name to healthy/unhealthy, with a 2 second timeout each.",
r'''
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

public final class HealthChecker {
    private final HttpClient client = HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(2))
        .build();

    public Map<String, Boolean> checkAll(Map<String, URI> services) {
        Map<String, CompletableFuture<Boolean>> pending = new LinkedHashMap<>();
        services.forEach((name, uri) -> pending.put(name, check(uri)));
        CompletableFuture.allOf(pending.values().toArray(new CompletableFuture[0])).join();

        Map<String, Boolean> result = new LinkedHashMap<>();
        pending.forEach((name, future) -> result.put(name, future.join()));
        return result;
    }

    private CompletableFuture<Boolean> check(URI uri) {
        HttpRequest request = HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(2))
            .GET()
            .build();
        return client.sendAsync(request, HttpResponse.BodyHandlers.discarding())
            .thenApply(resp -> resp.statusCode() >= 200 && resp.statusCode() < 300)
            .exceptionally(err -> false);
    }
}
''',
"All requests are started before any result is awaited, so the total time is roughly that of the slowest check instead of the sum. `sendAsync` returns a `CompletableFuture`; `exceptionally` turns timeouts and connection errors into `false`, so `allOf(...).join()` never throws and every service gets an entry. The request timeout bounds the whole exchange and the client's connect timeout bounds connection setup. A `LinkedHashMap` keeps the services in the caller's order."),
]

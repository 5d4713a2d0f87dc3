# code_tasks_c.py: hand-written coding tasks (SQL, Bash, Haskell, Ruby), authored for reap.
from code_tasks_a import T

TASKS_C = [
# ---------------------------------------------------------------- SQL
T("sql", "Tables: customers(id, name, country), orders(id, customer_id, created_at, total). Write a PostgreSQL query listing the top 5 customers by total spend in 2024, with their order count.",
r'''
SELECT c.id,
       c.name,
       COUNT(o.id)  AS order_count,
       SUM(o.total) AS total_spend
FROM customers AS c
JOIN orders AS o ON o.customer_id = c.id
WHERE o.created_at >= DATE '2024-01-01'
  AND o.created_at <  DATE '2025-01-01'
GROUP BY c.id, c.name
ORDER BY total_spend DESC
LIMIT 5;
''',
"The join keeps only customers with orders, the `WHERE` clause restricts to 2024 with a half-open range (which also works when `created_at` is a timestamp and can use an index, unlike `EXTRACT(YEAR FROM created_at) = 2024`), and `GROUP BY` aggregates per customer. `ORDER BY ... LIMIT 5` keeps the five biggest spenders.",
bug=("  AND o.created_at <  DATE '2025-01-01'", "  AND o.created_at <= DATE '2024-12-31'", "orders placed during the day on December 31st are missing from the totals",
     "`created_at` is a timestamp; `DATE '2024-12-31'` compares as midnight at the start of the 31st, so everything later that day is excluded. Use a half-open range ending at the first instant of 2025.")),

T("sql", "Given employees(id, name, department_id, salary), write a query that returns the highest-paid employee(s) of each department, including ties.",
r'''
SELECT department_id, id, name, salary
FROM (
    SELECT e.*,
           RANK() OVER (PARTITION BY department_id ORDER BY salary DESC) AS salary_rank
    FROM employees AS e
) AS ranked
WHERE salary_rank = 1
ORDER BY department_id, name;
''',
"The window function ranks employees within each department by salary. `RANK` gives equal salaries the same rank, so every employee tied for the top salary gets rank 1 and is returned; `ROW_NUMBER` would pick one of them arbitrarily. The filter has to be applied in an outer query because window functions cannot appear in `WHERE`.",
bug=("RANK() OVER", "ROW_NUMBER() OVER", "when two people in a department share the top salary, only one of them is listed",
     "`ROW_NUMBER` numbers rows 1, 2, 3 even when their ordering values are equal, so only one of the tied employees gets 1. `RANK` (or `DENSE_RANK`) assigns ties the same rank.")),

T("sql", "Write SQL DDL for a blog: users, posts (author, title, body, published_at nullable), comments (post, author, body), and tags with a many-to-many join table. Use PostgreSQL, with sensible constraints and indexes.",
r'''
CREATE TABLE users (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE posts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body         TEXT NOT NULL,
    published_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX posts_author_idx ON posts (author_id);
CREATE INDEX posts_published_idx ON posts (published_at DESC) WHERE published_at IS NOT NULL;

CREATE TABLE comments (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id    BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX comments_post_idx ON comments (post_id, created_at);

CREATE TABLE tags (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE post_tags (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id  BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX post_tags_tag_idx ON post_tags (tag_id);
''',
"Identity columns replace `SERIAL`. Foreign keys encode ownership: deleting a user deletes their posts, but comments by a deleted user survive with a NULL author. Drafts are posts with `published_at IS NULL`, and the partial index covers only published posts, which is what the front page queries. The join table's composite primary key prevents duplicate tags on a post and indexes lookups by post; the extra index on `tag_id` serves \"all posts with tag X\". PostgreSQL does not index foreign key columns automatically, hence the explicit indexes."),

T("sql", "Table page_views(user_id, viewed_at). Write a query for daily active users over the last 30 days, including days with zero users.",
r'''
WITH days AS (
    SELECT generate_series(
               CURRENT_DATE - INTERVAL '29 days',
               CURRENT_DATE,
               INTERVAL '1 day'
           )::date AS day
)
SELECT d.day,
       COUNT(DISTINCT pv.user_id) AS active_users
FROM days AS d
LEFT JOIN page_views AS pv
       ON pv.viewed_at >= d.day
      AND pv.viewed_at <  d.day + 1
GROUP BY d.day
ORDER BY d.day;
''',
"`generate_series` produces one row per calendar day, and the `LEFT JOIN` keeps days with no views; `COUNT(DISTINCT pv.user_id)` counts NULL as nothing, so those days show 0. A plain `GROUP BY date(viewed_at)` would simply omit empty days. Joining on a range rather than `date(viewed_at) = d.day` lets an index on `viewed_at` be used.",
bug=("LEFT JOIN page_views", "JOIN page_views", "days without traffic are missing from the report instead of showing 0",
     "An inner join drops calendar days that have no matching page views. A left join keeps every generated day.")),

T("sql", "Write a query that finds duplicate users by email (case-insensitive) and deletes all but the oldest row per email, in PostgreSQL.",
r'''
BEGIN;

DELETE FROM users AS u
USING (
    SELECT id,
           ROW_NUMBER() OVER (PARTITION BY lower(email) ORDER BY created_at, id) AS rn
    FROM users
) AS d
WHERE u.id = d.id
  AND d.rn > 1
RETURNING u.id, u.email;

-- prevent new duplicates
CREATE UNIQUE INDEX users_email_lower_uniq ON users (lower(email));

COMMIT;
''',
"The subquery numbers the rows of each email (compared lowercased) from oldest to newest, with `id` as a tie-breaker for equal timestamps, and the `DELETE ... USING` removes every row numbered above 1. `RETURNING` shows what was deleted. Running it in a transaction means you can inspect the output and `ROLLBACK` if it looks wrong. The unique index on `lower(email)` stops the duplicates from coming back. If other tables reference users, re-point those foreign keys to the kept row before deleting."),

T("sql", "Table transactions(account_id, ts, amount). Write a query giving each transaction with the running balance per account.",
r'''
SELECT account_id,
       ts,
       amount,
       SUM(amount) OVER (
           PARTITION BY account_id
           ORDER BY ts, id
           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
       ) AS balance
FROM transactions
ORDER BY account_id, ts, id;
''',
"A window `SUM` with `ORDER BY` computes a cumulative total per account. The explicit `ROWS` frame matters: the default frame is `RANGE`, which treats rows with the same timestamp as peers and would give all of them the same, final balance. Ordering by `id` as well makes ties deterministic.",
bug=("           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW\n", "", "two transactions with the same timestamp both show the balance after both of them",
     "Without an explicit frame the default is `RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`, in which rows with equal ordering values are peers and are summed together. `ROWS` advances one row at a time.")),

T("sql", "Schema: products(id, name, category), order_items(order_id, product_id, quantity, unit_price). Write a query returning, per category, the best-selling product by revenue and its share of the category's revenue as a percentage.",
r'''
WITH revenue AS (
    SELECT p.category,
           p.id,
           p.name,
           SUM(oi.quantity * oi.unit_price) AS product_revenue
    FROM products AS p
    JOIN order_items AS oi ON oi.product_id = p.id
    GROUP BY p.category, p.id, p.name
),
ranked AS (
    SELECT r.*,
           SUM(product_revenue) OVER (PARTITION BY category) AS category_revenue,
           ROW_NUMBER() OVER (PARTITION BY category ORDER BY product_revenue DESC, id) AS rn
    FROM revenue AS r
)
SELECT category,
       name AS top_product,
       product_revenue,
       ROUND(100.0 * product_revenue / NULLIF(category_revenue, 0), 1) AS share_pct
FROM ranked
WHERE rn = 1
ORDER BY category_revenue DESC;
''',
"The first CTE totals revenue per product. The second adds, without collapsing rows, the category total (a window `SUM`) and a rank within the category. The final query keeps the top product of each category. `100.0` forces decimal division (integer division would round the share to 0 or 100), and `NULLIF` avoids a division-by-zero error for a category whose revenue is zero."),

T("sql", "In SQLite, write a recursive query over categories(id, parent_id, name) that returns the full path (e.g. 'Electronics > Audio > Headphones') for every category.",
r'''
WITH RECURSIVE paths(id, path, depth) AS (
    SELECT id, name, 0
    FROM categories
    WHERE parent_id IS NULL
    UNION ALL
    SELECT c.id, p.path || ' > ' || c.name, p.depth + 1
    FROM categories AS c
    JOIN paths AS p ON c.parent_id = p.id
    WHERE p.depth < 50
)
SELECT id, path
FROM paths
ORDER BY path;
''',
"The anchor part selects the root categories with their own name as the path. The recursive part joins children to already-built paths and appends their name, one level per iteration, until no more children are found. The depth limit is a safety net: if the data contains a cycle, the recursion stops instead of running forever.",
bug=("    WHERE parent_id IS NULL", "    WHERE parent_id = NULL", "the query returns no rows at all",
     "In SQL, `x = NULL` is never true (it evaluates to NULL), so the anchor selects nothing and the recursion has nothing to start from. NULL tests must use `IS NULL`.")),

T("sql", "Explain the difference between WHERE and HAVING with an example query on sales(region, rep, amount): total per region, only regions whose total exceeds 100000, counting only sales over 500.",
r'''
SELECT region,
       SUM(amount) AS total
FROM sales
WHERE amount > 500          -- filters rows before grouping
GROUP BY region
HAVING SUM(amount) > 100000 -- filters groups after aggregation
ORDER BY total DESC;
''',
"`WHERE` runs before grouping and decides which rows take part in the aggregation; it cannot refer to aggregates. `HAVING` runs after `GROUP BY` and filters whole groups by their aggregate values. Here small sales are excluded from the totals first, and then only regions whose remaining total exceeds 100000 are kept. Moving the `amount > 500` condition into `HAVING` would be an error, since `amount` is not grouped."),

# ---------------------------------------------------------------- Bash
T("bash", "Write a bash script that backs up a directory into a timestamped tar.gz in /var/backups, keeps only the 7 most recent backups, and exits non-zero on any error.",
r'''
#!/usr/bin/env bash
set -euo pipefail

src=${1:?usage: backup.sh DIRECTORY}
dest=/var/backups
keep=7

if [[ ! -d $src ]]; then
    echo "backup: $src is not a directory" >&2
    exit 1
fi

name=$(basename "$src")
stamp=$(date +%Y%m%d-%H%M%S)
archive="$dest/$name-$stamp.tar.gz"

mkdir -p "$dest"
tar -czf "$archive.tmp" -C "$(dirname "$src")" "$name"
mv "$archive.tmp" "$archive"
echo "created $archive"

# delete all but the newest $keep backups of this directory
ls -1t "$dest/$name"-*.tar.gz | tail -n +$((keep + 1)) | while read -r old; do
    rm -f -- "$old"
    echo "removed $old"
done
''',
"`set -euo pipefail` stops the script on a failing command, an unset variable or a failure inside a pipeline. `${1:?...}` prints usage when no argument is given. The archive is written under a temporary name and renamed only after `tar` succeeds, so a half-written file is never mistaken for a backup. `tar -C` archives the directory by its base name, so the archive does not contain absolute paths. Old backups are listed newest first and everything after the seventh is removed.",
bug=('tar -czf "$archive.tmp" -C "$(dirname "$src")" "$name"', 'tar -czf "$archive.tmp" $src', "backing up \"/srv/My Photos\" fails with \"tar: /srv/My: Cannot stat\", and archives contain absolute paths",
     "The unquoted `$src` is split on spaces into two arguments. Always quote expansions; using `-C` with the base name also keeps the archive paths relative."),
reasoning="Requirements: strict mode, timestamp, atomic write via tmp + mv, rotation keeping 7. Quote everything. ls -1t sorted newest first, tail -n +8 gives the ones to delete."),

T("bash", "Write a one-liner (or short pipeline) that shows the 10 IP addresses with the most requests in an nginx access.log, with counts.",
r'''
awk '{ print $1 }' /var/log/nginx/access.log | sort | uniq -c | sort -rn | head -n 10
''',
"In the default combined log format the client address is the first field, which `awk` prints. `uniq -c` only merges adjacent duplicates, so the list must be sorted first; it then prefixes each distinct address with its count. `sort -rn` orders those counts numerically, largest first, and `head` keeps ten.",
bug=("sort | uniq -c | sort -rn", "uniq -c | sort -rn", "the same IP address appears several times in the top 10 with different counts",
     "`uniq` only collapses consecutive identical lines. Requests from one address are spread throughout the log, so without sorting first each run is counted separately.")),

T("bash", "Write a bash function `retry` that runs a command up to N times with a delay between attempts, e.g. `retry 5 2 curl -fsS https://example.com`.",
r'''
retry() {
    local attempts=$1 delay=$2
    shift 2
    local n=1
    until "$@"; do
        if (( n >= attempts )); then
            echo "retry: '$*' failed after $n attempts" >&2
            return 1
        fi
        echo "retry: attempt $n failed, retrying in ${delay}s" >&2
        sleep "$delay"
        n=$((n + 1))
    done
}
''',
"After the two counts are shifted off, `\"$@\"` is the command with its arguments preserved exactly, including spaces inside arguments. `until` loops while the command fails; when the attempt count is exhausted the function reports on stderr and returns 1, so the caller can use `retry ... || exit 1`. Variables are `local` so they do not leak into the calling shell.",
bug=('    until "$@"; do', "    until $*; do", "retry 3 1 grep \"two words\" file.txt searches for \"two\" in files named words\" and file.txt",
     "Unquoted `$*` joins the arguments and splits them again on whitespace, breaking arguments that contain spaces. `\"$@\"` passes each argument through unchanged.")),

T("bash", "Write a bash script that finds files larger than 100 MB under a directory, prints them sorted by size with human-readable sizes, and handles file names with spaces and newlines.",
r'''
#!/usr/bin/env bash
set -euo pipefail

dir=${1:-.}
find "$dir" -type f -size +100M -print0 |
    xargs -0 -r du -h --apparent-size |
    sort -rh
''',
"`-print0` separates file names with NUL bytes, the only character that cannot occur in a path, and `xargs -0` splits on it, so names with spaces or newlines arrive intact. `-r` stops `xargs` from running `du` once with no arguments when nothing matches. `du -h` prints human-readable sizes and `sort -h` understands those suffixes (K, M, G), which a plain numeric sort does not."),

T("bash", "Explain this command and what could go wrong: `for f in $(ls *.txt); do mv $f ${f%.txt}.md; done`. Then write a safe version.",
r'''
#!/usr/bin/env bash
shopt -s nullglob
for f in *.txt; do
    mv -n -- "$f" "${f%.txt}.md"
done
''',
"The original loop parses `ls` output, so a file named `my notes.txt` becomes the two words `my` and `notes.txt`, and names with glob characters are expanded again. The unquoted `$f` in `mv` splits the same way, and a name starting with `-` would be read as an option. The safe version lets the shell glob expand directly (each file is exactly one word), quotes every expansion, ends options with `--`, uses `mv -n` so an existing `.md` file is not overwritten, and sets `nullglob` so the loop does nothing when no `.txt` files exist instead of trying to rename a file literally named `*.txt`. `${f%.txt}` removes the shortest `.txt` suffix."),

T("bash", "Write a bash script that checks a list of hosts (from hosts.txt, one per line, # comments allowed) for reachability with ping, in parallel, and prints a summary.",
r'''
#!/usr/bin/env bash
set -uo pipefail

file=${1:-hosts.txt}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

while IFS= read -r host || [[ -n $host ]]; do
    host=${host%%#*}
    host=${host//[[:space:]]/}
    [[ -z $host ]] && continue
    (
        if ping -c 1 -W 2 "$host" >/dev/null 2>&1; then
            echo "$host" >"$tmp/up.$host"
        else
            echo "$host" >"$tmp/down.$host"
        fi
    ) &
done <"$file"
wait

up=$(find "$tmp" -name 'up.*' | wc -l)
down=$(find "$tmp" -name 'down.*' | wc -l)
for f in "$tmp"/down.*; do
    [[ -e $f ]] && echo "DOWN $(cat "$f")"
done
echo "$up up, $down down"
(( down == 0 ))
''',
"Each host is pinged in a background subshell and `wait` blocks until all have finished, so the whole check takes about as long as the slowest host. Results are written to one file per host in a private temporary directory, which avoids interleaved output from parallel jobs; the `trap` removes the directory however the script exits. `IFS= read -r` keeps lines intact, the `|| [[ -n $host ]]` handles a last line without a newline, and comments and blanks are stripped. The final arithmetic test makes the exit status non-zero if any host is down."),

T("bash", "Write a bash snippet that parses command-line options -v (verbose), -o FILE (output) and -n NUM (count, must be a positive integer) with getopts, and prints usage on error.",
r'''
#!/usr/bin/env bash
set -euo pipefail

usage() {
    echo "usage: ${0##*/} [-v] [-o FILE] [-n NUM] ARGS..." >&2
    exit 2
}

verbose=0
output=/dev/stdout
count=1

while getopts ":vo:n:" opt; do
    case $opt in
        v) verbose=1 ;;
        o) output=$OPTARG ;;
        n)
            [[ $OPTARG =~ ^[1-9][0-9]*$ ]] || { echo "-n needs a positive integer" >&2; usage; }
            count=$OPTARG
            ;;
        :) echo "option -$OPTARG needs an argument" >&2; usage ;;
        \?) echo "unknown option -$OPTARG" >&2; usage ;;
    esac
done
shift $((OPTIND - 1))

(( verbose )) && echo "count=$count output=$output args=$*" >&2
for arg in "$@"; do
    for ((i = 0; i < count; i++)); do
        echo "$arg"
    done
done >"$output"
''',
"The leading `:` in the option string puts `getopts` in silent mode, so the script prints its own messages: `:` means a missing argument and `?` an unknown option, with the offending letter in `OPTARG`. A colon after a letter marks an option that takes an argument. The regex validates `-n` as a positive integer. `shift $((OPTIND - 1))` removes the parsed options so `\"$@\"` holds the remaining arguments.",
bug=('while getopts ":vo:n:" opt; do', 'while getopts ":von:" opt; do', "`script -o out.txt hello` writes to the terminal and treats out.txt as an argument",
     "In the option string a colon after a letter means the option takes an argument. Without it after `o`, `-o` is a flag, `OPTARG` is never set for it, and `out.txt` is left as a positional argument.")),

T("bash", "Write a git one-liner/script that deletes all local branches already merged into main, except main and the current branch.",
r'''
#!/usr/bin/env bash
set -euo pipefail

git fetch --prune origin
git branch --merged main --format='%(refname:short)' |
    grep -vxE 'main|master|develop' |
    grep -vxF "$(git branch --show-current)" |
    xargs -r git branch -d
''',
"`git branch --merged main` lists branches whose tips are reachable from main, so deleting them loses no commits; `--format` prints bare names without the `*` marker that the default output adds to the current branch. `grep -vx` removes exact matches of protected names and of the current branch. `git branch -d` (lower-case) refuses to delete anything unmerged, a second safety net, and `xargs -r` does nothing when the list is empty."),

# ---------------------------------------------------------------- Haskell
T("haskell", "Write a Haskell function that computes the run-length encoding of a string, e.g. \"aaabcc\" -> [('a',3),('b',1),('c',2)], and its inverse.",
r'''
import Data.List (group)

encode :: Eq a => [a] -> [(a, Int)]
encode = map (\g -> (head g, length g)) . group

decode :: [(a, Int)] -> [a]
decode = concatMap (\(x, n) -> replicate n x)

-- decode (encode s) == s for every finite list s
''',
"`group` splits a list into runs of equal adjacent elements, each a non-empty list, so taking `head` is safe; each run becomes its element and its length. `decode` expands every pair with `replicate` and concatenates the results. Both functions are polymorphic, so they work on any list, not only strings.",
tests=r'''
import Test.QuickCheck
import RLE (encode, decode)

prop_roundTrip :: String -> Bool
prop_roundTrip s = decode (encode s) == s

prop_noAdjacentDuplicates :: String -> Bool
prop_noAdjacentDuplicates s = and (zipWith (/=) keys (drop 1 keys))
  where keys = map fst (encode s)

prop_positiveCounts :: String -> Bool
prop_positiveCounts = all ((> 0) . snd) . encode

main :: IO ()
main = do
  quickCheck prop_roundTrip
  quickCheck prop_noAdjacentDuplicates
  quickCheck prop_positiveCounts
  print (encode "aaabcc" == [('a', 3), ('b', 1), ('c', 2)])
'''),

T("haskell", "Write a Haskell program that reads numbers (one per line) from stdin and prints their count, sum, mean and maximum, ignoring lines that are not numbers.",
r'''
import Data.Maybe (mapMaybe)
import Text.Read (readMaybe)

main :: IO ()
main = do
  input <- getContents
  let xs = mapMaybe readMaybe (lines input) :: [Double]
  if null xs
    then putStrLn "no numbers"
    else do
      let n = length xs
          total = sum xs
      putStrLn ("count: " ++ show n)
      putStrLn ("sum:   " ++ show total)
      putStrLn ("mean:  " ++ show (total / fromIntegral n))
      putStrLn ("max:   " ++ show (maximum xs))
''',
"`readMaybe` returns `Nothing` for lines that do not parse, and `mapMaybe` keeps only the successes, so bad lines are skipped without exceptions. The type annotation picks `Double` as the parse target. The empty case is handled first because `maximum []` throws and the mean would divide by zero. `fromIntegral` converts the `Int` count for the division.",
bug=("mapMaybe readMaybe (lines input)", "map read (lines input)", "the program crashes with \"Prelude.read: no parse\" when a line contains text",
     "`read` throws on input it cannot parse. `readMaybe` returns a `Maybe`, and `mapMaybe` drops the failures.")),

T("haskell", "Define a binary search tree in Haskell with insert, member and an in-order toList.",
r'''
data Tree a = Leaf | Node (Tree a) a (Tree a)

insert :: Ord a => a -> Tree a -> Tree a
insert x Leaf = Node Leaf x Leaf
insert x t@(Node l v r)
  | x < v = Node (insert x l) v r
  | x > v = Node l v (insert x r)
  | otherwise = t

member :: Ord a => a -> Tree a -> Bool
member _ Leaf = False
member x (Node l v r)
  | x < v = member x l
  | x > v = member x r
  | otherwise = True

toList :: Tree a -> [a]
toList Leaf = []
toList (Node l v r) = toList l ++ [v] ++ toList r

fromList :: Ord a => [a] -> Tree a
fromList = foldr insert Leaf
''',
"The tree is an algebraic data type: empty, or a node with a left subtree, value and right subtree. `insert` rebuilds only the path from the root to the new leaf and shares the rest, which is how persistent data structures stay cheap; inserting an existing value returns the tree unchanged. An in-order traversal of a search tree yields its values in ascending order. The tree is not balanced, so sorted input degenerates into a list."),

# ---------------------------------------------------------------- Ruby
T("ruby", "Write a Ruby method that parses a simple CSV of `name,department,salary` and returns the average salary per department, rounded to 2 decimals.",
r'''
require "csv"

def average_salaries(path)
  totals = Hash.new { |h, k| h[k] = { sum: 0.0, count: 0 } }
  CSV.foreach(path, headers: true) do |row|
    entry = totals[row["department"]]
    entry[:sum] += Float(row["salary"])
    entry[:count] += 1
  end
  totals.transform_values { |t| (t[:sum] / t[:count]).round(2) }
end

# average_salaries("staff.csv") # => {"Engineering"=>98250.0, "Sales"=>71000.5}
''',
"`CSV.foreach` with `headers: true` streams the file and lets fields be read by column name. The hash's default block creates a fresh accumulator per department; a plain default like `Hash.new({sum: 0.0, count: 0})` would share one object among all keys. `Float()` raises on a malformed salary rather than silently turning it into 0 as `to_f` would. `transform_values` builds the final averages.",
bug=("Hash.new { |h, k| h[k] = { sum: 0.0, count: 0 } }", "Hash.new({ sum: 0.0, count: 0 })", "every department gets the same average, and the returned hash is empty",
     "`Hash.new(obj)` returns the same default object for every missing key and does not store it, so all departments update one shared accumulator and no keys are ever added. The block form creates and stores a new hash per key.")),

T("ruby", "Write a Ruby class `Inventory` with add(item, qty), remove(item, qty) that raises if not enough stock, and a to_s listing items alphabetically.",
r'''
class Inventory
  class OutOfStock < StandardError; end

  def initialize
    @stock = Hash.new(0)
  end

  def add(item, qty = 1)
    raise ArgumentError, "quantity must be positive" unless qty.positive?

    @stock[item] += qty
    self
  end

  def remove(item, qty = 1)
    raise ArgumentError, "quantity must be positive" unless qty.positive?
    if @stock[item] < qty
      raise OutOfStock, "only #{@stock[item]} #{item} left, #{qty} requested"
    end

    @stock[item] -= qty
    @stock.delete(item) if @stock[item].zero?
    self
  end

  def [](item)
    @stock[item]
  end

  def to_s
    @stock.sort.map { |item, qty| "#{item}: #{qty}" }.join("\n")
  end
end

# inv = Inventory.new.add("apple", 5).add("pear", 2)
# inv.remove("apple", 3)
# puts inv
''',
"`Hash.new(0)` returns 0 for unknown items, which is safe here because integers are immutable and `+=` stores a new value. Both mutators validate the quantity and return `self`, so calls can be chained. Removing more than is in stock raises a specific exception class that callers can rescue; items that reach zero are deleted so `to_s` lists only stocked items, sorted by name.",
tests=r'''
require "minitest/autorun"
require_relative "inventory"

class InventoryTest < Minitest::Test
  def setup
    @inv = Inventory.new.add("apple", 5).add("pear", 2)
  end

  def test_add_and_lookup
    assert_equal 5, @inv["apple"]
    assert_equal 0, @inv["kiwi"]
  end

  def test_remove_reduces_stock
    @inv.remove("apple", 3)
    assert_equal 2, @inv["apple"]
  end

  def test_remove_too_much_raises
    assert_raises(Inventory::OutOfStock) { @inv.remove("pear", 3) }
    assert_equal 2, @inv["pear"]
  end

  def test_to_s_sorted_without_empty_items
    @inv.remove("pear", 2)
    assert_equal "apple: 5", @inv.to_s
  end

  def test_rejects_non_positive_quantities
    assert_raises(ArgumentError) { @inv.add("apple", 0) }
  end
end
'''),
]

// test_calib.c: calibration readers (record shapes, zstd, archives, PATH:N, errors with file and
// line) and packing (seeded order, gaps and padding masked, truncation, one sample per row).
#include <archive.h>
#include <archive_entry.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "calib.h"
#include "test.h"

static char g_dir[256];

static char *tpath(const char *name) { return reap_path_join(g_dir, name); }

static void put_file(const char *name, const void *data, size_t len) {
    char *p = tpath(name);
    FILE *f = fopen(p, "wb");
    REAP_ASSERT(f);
    fwrite(data, 1, len, f);
    fclose(f);
    free(p);
}

static void put_text(const char *name, const char *s) { put_file(name, s, strlen(s)); }

static void put_zst(const char *name, const char *s) {
    size_t cap = ZSTD_compressBound(strlen(s));
    char *z = reap_xmalloc(cap);
    size_t n = ZSTD_compress(z, cap, s, strlen(s), 3);
    REAP_ASSERT(!ZSTD_isError(n));
    put_file(name, z, n);
    free(z);
}

// Writes an archive (format "tar", "tar.gz" or "zip") with the members in the order given; lens
// NULL: the bodies are strings.
static void put_archive_n(const char *name, const char *format, const char *const *names, const char *const *bodies,
                          const size_t *lens, int n) {
    char *p = tpath(name);
    struct archive *a = archive_write_new();
    if (strcmp(format, "zip") == 0) archive_write_set_format_zip(a);
    else archive_write_set_format_pax_restricted(a);
    if (strcmp(format, "tar.gz") == 0) archive_write_add_filter_gzip(a);
    REAP_ASSERT(archive_write_open_filename(a, p) == ARCHIVE_OK);
    for (int i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, names[i]);
        size_t len = lens ? lens[i] : strlen(bodies[i]);
        archive_entry_set_size(e, (la_int64_t)len);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_write_header(a, e);
        archive_write_data(a, bodies[i], len);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    free(p);
}

static void put_archive(const char *name, const char *format, const char *const *names, const char *const *bodies, int n) {
    put_archive_n(name, format, names, bodies, NULL, n);
}

static int load(const char *spec_name, uint64_t seed, reap_samples *s) {
    char *p = strncmp(spec_name, "builtin", 7) == 0 || strncmp(spec_name, "heldout", 7) == 0 ? reap_xstrdup(spec_name)
                                                                                              : tpath(spec_name);
    int st = reap_calib_load(p, &reap_chat_minimax_m2, seed, s);
    free(p);
    return st;
}

// The load of name fails and the message names the file and line (needle, e.g. "bad.jsonl:3:").
#define CHECK_LOAD_FAILS(name, needle, what)                                              \
    do {                                                                                  \
        reap_samples s_ = {0};                                                            \
        int st_ = load(name, 42, &s_);                                                    \
        reap_samples_free(&s_);                                                           \
        CHECK_MSG(st_ == REAP_EINVAL, "%s: status %d", name, st_);                        \
        CHECK_STR_CONTAINS(reap_err_msg(), needle);                                       \
        CHECK_STR_CONTAINS(reap_err_msg(), what);                                         \
    } while (0)

static const char *k_good = "{\"text\": \"one\"}\n{\"text\": \"two\"}\n";

static void test_reader_record_shapes(void) {
    put_text("shapes.jsonl",
             "{\"text\": \"raw text\"}\n"
             "\n"
             "{\"instruction\": \"Reverse a list in Python.\", \"output\": \"xs[::-1]\"}\n"
             "{\"instruction\": \"Sum.\", \"input\": \"[1,2]\", \"output\": \"3\"}\n"
             "{\"query\": \"Weather in Oslo?\", \"tools\": \"[{\\\"name\\\": \\\"w\\\", \\\"parameters\\\": {}}]\", "
             "\"answers\": \"[{\\\"name\\\": \\\"w\\\", \\\"arguments\\\": {\\\"city\\\": \\\"Oslo\\\", \\\"days\\\": 2}}]\"}\r\n"
             "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": null, \"id\": 7}");
    reap_samples s = {0};
    CHECK_EQ_INT(load("shapes.jsonl", 42, &s), REAP_OK);
    CHECK_EQ_INT(s.n, 5);
    CHECK(strcmp(s.v[0].text, "raw text") == 0);
    CHECK_STR_CONTAINS(s.v[0].origin, "shapes.jsonl:1");
    CHECK_STR_CONTAINS(s.v[1].origin, "shapes.jsonl:3");  // blank line 2 skipped, numbering kept
    CHECK(strcmp(s.v[1].text, "]~!b[]~b]system\nYou are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.[e~[\n]~b]user\nReverse a list in Python.[e~[\n"
                              "]~b]ai\nxs[::-1][e~[\n") == 0);
    CHECK_STR_CONTAINS(s.v[2].text, "]~b]user\nSum.\n\n[1,2][e~[\n");
    CHECK_STR_CONTAINS(s.v[3].text, "<tool>{\"name\": \"w\", \"parameters\": {}}</tool>\n");
    CHECK_STR_CONTAINS(s.v[3].text, "]~b]user\nWeather in Oslo?[e~[\n]~b]ai\n\n<minimax:tool_call>\n<invoke name=\"w\">\n"
                                    "<parameter name=\"city\">Oslo</parameter>\n<parameter name=\"days\">2</parameter>\n"
                                    "</invoke>\n</minimax:tool_call>[e~[\n");
    CHECK(strcmp(s.v[4].text, "]~!b[]~b]system\nYou are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.[e~[\n]~b]user\nhi[e~[\n") == 0);
    CHECK_STR_CONTAINS(s.v[4].origin, "shapes.jsonl:6");  // last line without a newline
    CHECK(strstr(s.v[4].source, "shapes.jsonl") != NULL);
    reap_samples_free(&s);
}

static void test_reader_rejects_bad_json_with_line(void) {
    put_text("badjson.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\"\n");
    CHECK_LOAD_FAILS("badjson.jsonl", "badjson.jsonl:3:", "bad JSON");
    put_text("extra.jsonl", "{\"text\": \"a\"} {\"text\": \"b\"}\n");
    CHECK_LOAD_FAILS("extra.jsonl", "extra.jsonl:1:", "extra text");
}

static void test_reader_rejects_unknown_shape_with_line(void) {
    put_text("shape.jsonl", "{\"text\": \"a\"}\n{\"prompt\": \"x\", \"completion\": \"y\"}\n");
    CHECK_LOAD_FAILS("shape.jsonl", "shape.jsonl:2:", "none of the known shapes");
    put_text("array.jsonl", "[1, 2]\n");
    CHECK_LOAD_FAILS("array.jsonl", "array.jsonl:1:", "not a JSON object");
}

static void test_reader_rejects_wrong_field_types(void) {
    put_text("t1.jsonl", "{\"text\": 5}\n");
    CHECK_LOAD_FAILS("t1.jsonl", "t1.jsonl:1:", "\"text\" must be a string");
    put_text("t2.jsonl", "{\"text\": \"ok\"}\n{\"messages\": \"hi\"}\n");
    CHECK_LOAD_FAILS("t2.jsonl", "t2.jsonl:2:", "\"messages\" must be a list");
    put_text("t3.jsonl", "{\"instruction\": [\"a\"], \"output\": \"b\"}\n");
    CHECK_LOAD_FAILS("t3.jsonl", "t3.jsonl:1:", "\"instruction\" must be a string");
    put_text("t4.jsonl", "{\"query\": \"q\", \"tools\": [], \"answers\": \"not json\"}\n");
    CHECK_LOAD_FAILS("t4.jsonl", "t4.jsonl:1:", "\"answers\" is a string but not a JSON list");
    put_text("t5.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}], \"tools\": {\"x\": 1}}\n");
    CHECK_LOAD_FAILS("t5.jsonl", "t5.jsonl:1:", "\"tools\" must be a list");
    put_text("t6.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"tool\", \"content\": \"r\"}]}\n");
    CHECK_LOAD_FAILS("t6.jsonl", "t6.jsonl:1:", "message 1: tool result");
}

static void test_reader_rejects_non_utf8_with_line(void) {
    put_text("latin1.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"caf\xe9\"}\n");
    CHECK_LOAD_FAILS("latin1.jsonl", "latin1.jsonl:2:", "invalid UTF-8");
    put_text("overlong.jsonl", "{\"text\": \"\xc0\xaf\"}\n");
    CHECK_LOAD_FAILS("overlong.jsonl", "overlong.jsonl:1:", "invalid UTF-8");
    put_text("surrogate.jsonl", "{\"text\": \"\xed\xa0\x80\"}\n");
    CHECK_LOAD_FAILS("surrogate.jsonl", "surrogate.jsonl:1:", "invalid UTF-8");
    put_file("nul.jsonl", "{\"text\": \"a\0b\"}\n", 15);
    CHECK_LOAD_FAILS("nul.jsonl", "nul.jsonl:1:", "NUL byte");
}

static void test_reader_zstd_transparent_and_errors_located(void) {
    put_zst("good.jsonl.zst", k_good);
    reap_samples s = {0};
    CHECK_EQ_INT(load("good.jsonl.zst", 42, &s), REAP_OK);
    CHECK_EQ_INT(s.n, 2);
    CHECK(strcmp(s.v[1].text, "two") == 0);
    CHECK_STR_CONTAINS(s.v[1].origin, "good.jsonl.zst:2");
    reap_samples_free(&s);

    put_zst("badline.jsonl.zst", "{\"text\": \"a\"}\n{\"text\": \"a\"}\n{oops}\n");
    CHECK_LOAD_FAILS("badline.jsonl.zst", "badline.jsonl.zst:3:", "bad JSON");
    // Truncated: the frame's second half is missing.
    char big[4096];
    size_t n = 0;
    for (int i = 0; n + 40 < sizeof big; i++) n += (size_t)snprintf(big + n, sizeof big - n, "{\"text\": \"line %d\"}\n", i);
    size_t cap = ZSTD_compressBound(n);
    char *z = reap_xmalloc(cap);
    size_t zn = ZSTD_compress(z, cap, big, n, 1);
    put_file("trunc.jsonl.zst", z, zn / 2);
    CHECK_LOAD_FAILS("trunc.jsonl.zst", "trunc.jsonl.zst:", "zstd");
    // Corrupt: bytes flipped after the header.
    for (size_t i = 12; i < zn - 8; i += 7) z[i] ^= 0x5a;
    put_file("corrupt.jsonl.zst", z, zn);
    CHECK_LOAD_FAILS("corrupt.jsonl.zst", "corrupt.jsonl.zst:", "zstd");
    put_text("notzstd.jsonl.zst", "{\"text\": \"plain\"}\n");
    CHECK_LOAD_FAILS("notzstd.jsonl.zst", "notzstd.jsonl.zst:1:", "corrupt zstd data");
    free(z);
}

static void check_member_order(const char *name, const char *format) {
    // Stored out of name order, with a non-JSONL member (skipped) and a zstd-compressed member.
    const char *names[] = {"part2.jsonl", "README.md", "part1.jsonl", "sub/part3.jsonl.zst"};
    size_t cap = ZSTD_compressBound(40);
    char *z = reap_xmalloc(cap);
    size_t zn = ZSTD_compress(z, cap, "{\"text\": \"p3\"}\n", 15, 3);
    const char *bodies[] = {"{\"text\": \"p2a\"}\n{\"text\": \"p2b\"}\n", "not jsonl", "{\"text\": \"p1\"}\n", z};
    size_t lens[] = {strlen(bodies[0]), strlen(bodies[1]), strlen(bodies[2]), zn};
    put_archive_n(name, format, names, bodies, lens, 4);
    free(z);
    reap_samples s = {0};
    int st = load(name, 42, &s);
    CHECK_MSG(st == REAP_OK, "%s", reap_err_msg());
    CHECK_EQ_INT(s.n, 4);
    CHECK(strcmp(s.v[0].text, "p1") == 0);
    CHECK(strcmp(s.v[1].text, "p2a") == 0);
    CHECK(strcmp(s.v[2].text, "p2b") == 0);
    CHECK(strcmp(s.v[3].text, "p3") == 0);
    char want[128];
    snprintf(want, sizeof want, "%s:part2.jsonl:2", name);
    CHECK_STR_CONTAINS(s.v[2].origin, want);
    reap_samples_free(&s);
}

static void test_reader_tar_members_in_name_order(void) { check_member_order("data.tar", "tar"); }
static void test_reader_tar_gz_members_in_name_order(void) { check_member_order("data.tar.gz", "tar.gz"); }
static void test_reader_zip_members_in_name_order(void) { check_member_order("data.zip", "zip"); }

static void test_reader_archive_errors_name_member_and_line(void) {
    const char *names[] = {"a.jsonl", "b.jsonl"};
    const char *bodies[] = {"{\"text\": \"ok\"}\n", "{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{\"text\": 1}\n"};
    put_archive("bad.tar", "tar", names, bodies, 2);
    CHECK_LOAD_FAILS("bad.tar", "bad.tar:b.jsonl:3:", "\"text\" must be a string");
    put_archive("bad.zip", "zip", names, bodies, 2);
    CHECK_LOAD_FAILS("bad.zip", "bad.zip:b.jsonl:3:", "\"text\" must be a string");
    // Corrupt tar: a valid archive cut inside the second member's header block.
    char *p = tpath("data.tar");
    char *data;
    size_t len;
    REAP_ASSERT(reap_read_file(p, &data, &len) == 0);
    free(p);
    for (size_t i = 1024; i < 1024 + 300 && i < len; i++) data[i] = (char)0xff;
    put_file("corrupt.tar", data, len);
    CHECK_LOAD_FAILS("corrupt.tar", "corrupt.tar", "corrupt archive");
    free(data);
    put_text("garbage.zip", "this is not a zip file at all, just some text\n");
    CHECK_LOAD_FAILS("garbage.zip", "garbage.zip", "archive");
    const char *n2[] = {"notes.txt"};
    const char *b2[] = {"hello"};
    put_archive("nojsonl.tar", "tar", n2, b2, 1);
    CHECK_LOAD_FAILS("nojsonl.tar", "nojsonl.tar", "no .jsonl");
}

static void test_reader_missing_file_and_bad_count(void) {
    reap_samples s = {0};
    CHECK_EQ_INT(load("nope.jsonl", 42, &s), REAP_EIO);
    CHECK_STR_CONTAINS(reap_err_msg(), "nope.jsonl");
    put_text("zero.jsonl", k_good);
    CHECK_EQ_INT(load("zero.jsonl:0", 42, &s), REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "positive integer");
    put_text("empty.jsonl", "\n\n");
    CHECK_EQ_INT(load("empty.jsonl", 42, &s), REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "no records");
    CHECK_EQ_INT(s.n, 0);
}

static void test_reader_take_n_is_seeded_subset(void) {
    reap_sbuf b = {0};
    for (int i = 0; i < 50; i++) reap_sbuf_printf(&b, "{\"text\": \"r%d\"}\n", i);
    put_text("fifty.jsonl", b.p);
    reap_sbuf_free(&b);
    reap_samples a = {0}, a2 = {0}, c = {0}, all = {0};
    CHECK_EQ_INT(load("fifty.jsonl:10", 7, &a), REAP_OK);
    CHECK_EQ_INT(load("fifty.jsonl:10", 7, &a2), REAP_OK);
    CHECK_EQ_INT(load("fifty.jsonl:10", 8, &c), REAP_OK);
    CHECK_EQ_INT(load("fifty.jsonl", 7, &all), REAP_OK);
    CHECK_EQ_INT(a.n, 10);
    CHECK_EQ_INT(all.n, 50);
    int same = 1, diff = 0, distinct = 1;
    for (int i = 0; i < 10; i++) {
        same &= strcmp(a.v[i].text, a2.v[i].text) == 0;
        diff |= strcmp(a.v[i].text, c.v[i].text) != 0;
        for (int j = 0; j < i; j++) distinct &= strcmp(a.v[i].text, a.v[j].text) != 0;
    }
    // The selection is the first 10 of the documented permutation of all records.
    int64_t perm[50];
    reap_calib_shuffle(7, perm, 50);
    int follows = 1;
    for (int i = 0; i < 10; i++) follows &= strcmp(a.v[i].text, all.v[perm[i]].text) == 0;
    reap_samples_free(&a);
    reap_samples_free(&a2);
    reap_samples_free(&c);
    reap_samples_free(&all);
    CHECK(same);
    CHECK(diff);
    CHECK(distinct);
    CHECK(follows);
    // More than there are: all of them.
    CHECK_EQ_INT(load("fifty.jsonl:500", 7, &a), REAP_OK);
    CHECK_EQ_INT(a.n, 50);
    reap_samples_free(&a);
}

static void test_reader_colon_in_path_is_not_a_count(void) {
    put_text("odd:3", k_good);  // a file whose name ends in ":3"
    reap_samples s = {0};
    CHECK_EQ_INT(load("odd:3", 42, &s), REAP_OK);
    CHECK_EQ_INT(s.n, 2);
    reap_samples_free(&s);
    put_text("dir:x.jsonl", k_good);
    CHECK_EQ_INT(load("dir:x.jsonl:1", 42, &s), REAP_OK);
    CHECK_EQ_INT(s.n, 1);
    reap_samples_free(&s);
}

static void test_reader_builtin_sets_load(void) {
    reap_samples s = {0};
    CHECK_EQ_INT(load("builtin:code", 42, &s), REAP_OK);
    CHECK(s.n > 0);
    CHECK_STR_CONTAINS(s.v[0].origin, "builtin:code:");
    int ncode = s.n;
    CHECK_EQ_INT(load("builtin:tools", 42, &s), REAP_OK);
    CHECK(s.n > ncode);
    CHECK_STR_CONTAINS(s.v[ncode].origin, "builtin:tools:");
    reap_samples_free(&s);
    CHECK_EQ_INT(load("builtin", 42, &s), REAP_OK);
    int nb = s.n;
    reap_samples_free(&s);
    CHECK_EQ_INT(load("heldout", 42, &s), REAP_OK);
    CHECK(s.n > 0);
    CHECK_STR_CONTAINS(s.v[0].origin, "heldout:");
    reap_samples_free(&s);
    CHECK_EQ_INT(load("builtin:1", 42, &s), REAP_OK);
    CHECK_EQ_INT(s.n, 1);
    CHECK(nb >= 1);
    reap_samples_free(&s);
    reap_blob blob;
    CHECK_EQ_INT(reap_calib_builtin("nonsense", &blob), REAP_EINVAL);
    CHECK_EQ_INT(load("builtin:nonsense", 42, &s), REAP_EIO);
}

static void test_reader_directory_in_name_order(void) {
    char *d = tpath("dirsrc");
    REAP_ASSERT(reap_mkdir_p(d) == 0);
    free(d);
    put_text("dirsrc/b.jsonl", "{\"text\": \"b\"}\n");
    put_text("dirsrc/a.jsonl", "{\"text\": \"a\"}\n");
    put_text("dirsrc/skip.txt", "not read");
    put_zst("dirsrc/c.jsonl.zst", "{\"text\": \"c\"}\n");
    reap_samples s = {0};
    CHECK_EQ_INT(load("dirsrc", 42, &s), REAP_OK);
    CHECK_EQ_INT(s.n, 3);
    CHECK(strcmp(s.v[0].text, "a") == 0 && strcmp(s.v[1].text, "b") == 0 && strcmp(s.v[2].text, "c") == 0);
    reap_samples_free(&s);
}

// ---- packing -----------------------------------------------------------------------------------

// Samples: sample i holds tokens 1000*(i+1) + j for j < len[i] (never the gap id 0).
typedef struct {
    int32_t *ids[16];
    size_t lens[16];
    int n;
} toy;

static void toy_make(toy *t, const size_t *lens, int n) {
    t->n = n;
    for (int i = 0; i < n; i++) {
        t->lens[i] = lens[i];
        t->ids[i] = reap_xmalloc(sizeof(int32_t) * (lens[i] + 1));
        for (size_t j = 0; j < lens[i]; j++) t->ids[i][j] = 1000 * (i + 1) + (int32_t)j;
    }
}

static void toy_free(toy *t) {
    for (int i = 0; i < t->n; i++) free(t->ids[i]);
}

static int pack(const toy *t, int seq_len, int rows, int packed, uint64_t seed, reap_packed *out) {
    reap_pack_params p = reap_pack_default_params();
    p.seq_len = seq_len;
    p.rows = rows;
    p.pack = packed;
    p.seed = seed;
    return reap_pack_ids((const int32_t *const *)t->ids, t->lens, t->n, &p, out);
}

static void test_pack_same_seed_same_rows(void) {
    const size_t lens[] = {5, 9, 3, 12, 7, 1, 8, 4};
    toy t;
    toy_make(&t, lens, 8);
    reap_packed a, b, c;
    CHECK_EQ_INT(pack(&t, 16, 0, 1, 42, &a), REAP_OK);
    CHECK_EQ_INT(pack(&t, 16, 0, 1, 42, &b), REAP_OK);
    CHECK_EQ_INT(pack(&t, 16, 0, 1, 43, &c), REAP_OK);
    size_t cells = (size_t)a.rows * 16;
    int same = a.rows == b.rows && memcmp(a.ids, b.ids, cells * 4) == 0 && memcmp(a.mask, b.mask, cells) == 0;
    int differs = a.rows != c.rows || memcmp(a.ids, c.ids, cells * 4) != 0;
    reap_packed_free(&a);
    reap_packed_free(&b);
    reap_packed_free(&c);
    toy_free(&t);
    CHECK(same);
    CHECK(differs);
}

static void test_pack_mask_excludes_exactly_gaps_and_padding(void) {
    const size_t lens[] = {5, 9, 3, 12, 7, 1, 8, 4, 6, 2};
    toy t;
    toy_make(&t, lens, 10);
    reap_packed pk;
    CHECK_EQ_INT(pack(&t, 20, 0, 1, 42, &pk), REAP_OK);
    // Walk every row: runs of consecutive tokens of one sample with mask 1, each followed by exactly
    // one gap (id 0, mask 0) unless the run ends the row; after the last run only padding.
    int64_t kept = 0;
    int ok = 1, seen[10] = {0};
    for (int r = 0; r < pk.rows && ok; r++) {
        const int32_t *ids = pk.ids + (size_t)r * 20;
        const uint8_t *m = pk.mask + (size_t)r * 20;
        int i = 0;
        while (i < 20 && ok) {
            if (!m[i]) {  // the rest of the row must be padding
                for (int j = i; j < 20; j++) ok &= !m[j] && ids[j] == 0;
                break;
            }
            int s = ids[i] / 1000 - 1, j = 0;
            ok &= s >= 0 && s < 10 && !seen[s];
            if (!ok) break;
            seen[s] = 1;
            while (i < 20 && m[i] && ids[i] / 1000 - 1 == s) {
                ok &= ids[i] == 1000 * (s + 1) + j;  // in order, from the sample's first token
                i++, j++, kept++;
            }
            ok &= (size_t)j == lens[s] || i == 20;  // whole, or cut at the row end
            if (i < 20) {
                ok &= !m[i] && ids[i] == 0;  // one gap token
                i++;
            }
        }
    }
    CHECK(ok);
    CHECK_EQ_INT(kept, pk.tokens_kept);
    int64_t ones = 0;
    for (size_t i = 0; i < (size_t)pk.rows * 20; i++) ones += pk.mask[i];
    CHECK_EQ_INT(ones, pk.tokens_kept);
    CHECK_EQ_INT(pk.samples_used, 10);
    reap_packed_free(&pk);
    toy_free(&t);
}

static void test_pack_truncates_at_row_end_and_drops_rest(void) {
    const size_t lens[] = {6, 30};
    toy t;
    toy_make(&t, lens, 2);
    reap_packed pk;
    CHECK_EQ_INT(pack(&t, 10, 0, 1, 1, &pk), REAP_OK);
    // Whatever the order, the 30-token sample is cut to what is left of its row and its rest
    // is not carried into another row.
    CHECK_EQ_INT(pk.samples_truncated, 1);
    CHECK_EQ_INT(pk.samples_used, 2);
    int64_t ones = 0;
    for (size_t i = 0; i < (size_t)pk.rows * 10; i++) ones += pk.mask[i];
    CHECK_EQ_INT(ones, pk.tokens_kept);
    CHECK_EQ_INT(pk.tokens_dropped, 36 - pk.tokens_kept);
    // 30-token sample first: row 0 = 10 of its tokens; row 1 = the 6-token sample + pad.
    // 6-token first: row 0 = 6 + gap + 3 of the long one.
    if (pk.ids[0] == 2000) {
        CHECK_EQ_INT(pk.rows, 2);
        CHECK_EQ_INT(pk.tokens_kept, 16);
        CHECK_EQ_INT(pk.ids[10], 1000);
    } else {
        CHECK_EQ_INT(pk.rows, 1);
        CHECK_EQ_INT(pk.tokens_kept, 9);
        CHECK_EQ_INT(pk.ids[6], 0);
        CHECK_EQ_INT(pk.mask[6], 0);
        CHECK_EQ_INT(pk.ids[7], 2000);
        CHECK_EQ_INT(pk.ids[9], 2002);
    }
    reap_packed_free(&pk);
    toy_free(&t);
}

static void test_pack_rows_limit_and_running_out(void) {
    const size_t lens[] = {8, 8, 8, 8, 8, 8};
    toy t;
    toy_make(&t, lens, 6);
    reap_packed pk;
    CHECK_EQ_INT(pack(&t, 10, 2, 1, 42, &pk), REAP_OK);  // 8 + gap + 1 cut token per row
    CHECK_EQ_INT(pk.rows, 2);
    CHECK_EQ_INT(pk.samples_used, 4);
    CHECK_EQ_INT(pk.out_of_samples, 0);
    reap_packed_free(&pk);
    CHECK_EQ_INT(pack(&t, 10, 100, 1, 42, &pk), REAP_OK);
    CHECK_EQ_INT(pk.rows, 3);
    CHECK_EQ_INT(pk.out_of_samples, 1);
    reap_packed_free(&pk);
    toy_free(&t);
}

static void test_pack_one_sample_per_row(void) {
    const size_t lens[] = {3, 12, 0, 7};
    toy t;
    toy_make(&t, lens, 4);
    reap_packed pk;
    CHECK_EQ_INT(pack(&t, 8, 0, 0, 42, &pk), REAP_OK);
    CHECK_EQ_INT(pk.rows, 3);  // the empty sample is skipped
    CHECK_EQ_INT(pk.samples_empty, 1);
    CHECK_EQ_INT(pk.samples_truncated, 1);
    int seen_len[3] = {0};
    for (int r = 0; r < 3; r++) {
        int n = 0;
        while (n < 8 && pk.mask[r * 8 + n]) n++;
        for (int j = n; j < 8; j++) CHECK(!pk.mask[r * 8 + j] && pk.ids[r * 8 + j] == 0);
        int s = pk.ids[r * 8] / 1000 - 1;
        CHECK_EQ_INT(n, lens[s] < 8 ? lens[s] : 8);
        seen_len[r] = n;
    }
    CHECK_EQ_INT(seen_len[0] + seen_len[1] + seen_len[2], 3 + 8 + 7);
    reap_packed_free(&pk);
    toy_free(&t);
}

static void test_pack_rejects_bad_params(void) {
    const size_t lens[] = {3};
    toy t;
    toy_make(&t, lens, 1);
    reap_packed pk;
    CHECK_EQ_INT(pack(&t, 1, 0, 1, 42, &pk), REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "seq_len");
    toy_free(&t);
}

static void test_pack_with_tokenizer_roundtrips_text(void) {
    // A small synthesised byte-level BPE tokenizer (lib/tokenizer.h): packed rows decode back to
    // the samples' text.
    const char *train = "def add(a, b):\n    return a + b\n\nfor i in range(10):\n    print(i)\n";
    char *json;
    size_t jlen;
    int st = reap_tok_synth_json(400, train, strlen(train), &json, &jlen);
    CHECK_MSG(st == REAP_OK, "%s", reap_err_msg());
    reap_tokenizer *tok;
    st = reap_tok_load_mem(json, jlen, "synth tokenizer.json", &tok);
    free(json);
    CHECK_MSG(st == REAP_OK, "%s", reap_err_msg());
    put_text("tok.jsonl", "{\"text\": \"def add(a, b):\\n    return a + b\\n\"}\n{\"messages\": [{\"role\": \"user\", "
                          "\"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"print(i)\"}]}\n");
    reap_samples s = {0};
    CHECK_EQ_INT(load("tok.jsonl", 42, &s), REAP_OK);
    reap_pack_params p = reap_pack_default_params();
    p.seq_len = 512;
    reap_packed pk;
    st = reap_pack(tok, &s, &p, &pk);
    CHECK_MSG(st == REAP_OK, "%s", reap_err_msg());
    CHECK_EQ_INT(pk.rows, 1);
    CHECK_EQ_INT(pk.samples_used, 2);
    // Decode each masked run; together they are the two samples.
    int found = 0;
    for (int i = 0; i < 512;) {
        if (!pk.mask[i]) {
            i++;
            continue;
        }
        int j = i;
        while (j < 512 && pk.mask[j]) j++;
        char *text;
        size_t tl;
        CHECK_EQ_INT(reap_tok_decode(tok, pk.ids + i, (size_t)(j - i), &text, &tl), REAP_OK);
        for (int k = 0; k < s.n; k++) found += tl == s.v[k].len && memcmp(text, s.v[k].text, tl) == 0;
        free(text);
        i = j;
    }
    CHECK_EQ_INT(found, 2);
    reap_packed_free(&pk);
    reap_samples_free(&s);
    reap_tok_free(tok);
}

// reap_pack tokenises lazily, in batches on every thread, only the samples the packing reaches: the
// rows are those of every sample tokenised one by one and packed by reap_pack_ids, for any thread
// count, with and without a row limit; a sample the tokenizer refuses is named.
static void test_pack_lazy_parallel_equals_tokenise_all(void) {
    const char *train = "def add(a, b):\n    return a + b\n\nfor i in range(10):\n    print(i)\n";
    char *json;
    size_t jlen;
    CHECK_EQ_INT(reap_tok_synth_json(400, train, strlen(train), &json, &jlen), REAP_OK);
    reap_tokenizer *tok;
    CHECK_EQ_INT(reap_tok_load_mem(json, jlen, "synth tokenizer.json", &tok), REAP_OK);
    free(json);
    // 700 samples of 0..~300 tokens (some empty), seq_len 64: a few rows use a few samples
    reap_samples s = {0};
    s.n = 700;
    s.v = reap_xcalloc((size_t)s.n, sizeof *s.v);
    uint64_t r = 7;
    for (int i = 0; i < s.n; i++) {
        reap_sbuf b = {0};
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        int words = (int)(r >> 33) % 60;
        if (i % 50 == 3) words = 0;
        for (int w = 0; w < words; w++) reap_sbuf_puts(&b, (w + i) % 3 ? "print(i) " : "return a + b\n");
        reap_sbuf_append(&b, "", 0);
        s.v[i] = (reap_sample){.text = b.p, .len = b.n, .origin = reap_xasprintf("s:%d", i)};
    }
    int32_t **ids = reap_xcalloc((size_t)s.n, sizeof *ids);
    size_t *lens = reap_xcalloc((size_t)s.n, sizeof *lens);
    for (int i = 0; i < s.n; i++) {
        size_t cap = 0;
        CHECK_EQ_INT(reap_tok_encode(tok, s.v[i].text, reap_pack_text_len(s.v[i].text, s.v[i].len, 64), &ids[i], &lens[i], &cap),
                     REAP_OK);
    }
    const int threads[] = {1, 3, 8}, limits[] = {0, 5, 40};
    int same = 0, cases = 0;
    for (int ti = 0; ti < 3; ti++)
        for (int li = 0; li < 3; li++) {
            omp_set_num_threads(threads[ti]);
            reap_pack_params p = reap_pack_default_params();
            p.seq_len = 64, p.rows = limits[li], p.seed = (uint64_t)(li + 1);
            reap_packed a, b;
            CHECK_EQ_INT(reap_pack_ids((const int32_t *const *)ids, lens, s.n, &p, &a), REAP_OK);
            CHECK_EQ_INT(reap_pack(tok, &s, &p, &b), REAP_OK);
            size_t n = (size_t)a.rows * 64;
            same += a.rows == b.rows && !memcmp(a.ids, b.ids, n * 4) && !memcmp(a.mask, b.mask, n) &&
                    !memcmp(a.sample, b.sample, n * 4) && a.samples_used == b.samples_used &&
                    a.samples_empty == b.samples_empty && a.tokens_dropped == b.tokens_dropped &&
                    a.out_of_samples == b.out_of_samples;
            cases++;
            if (limits[li] == 5) CHECK(a.samples_used < s.n / 4);  // the lazy path had most samples to skip
            reap_packed_free(&a), reap_packed_free(&b);
        }
    CHECK_EQ_INT(same, cases);
    // invalid UTF-8 in a sample the packing reaches: its origin named (the readers refuse it first,
    // so only a caller building samples by hand gets here)
    free(s.v[0].text);
    s.v[0].text = reap_xstrdup("ok \xff bad");
    s.v[0].len = strlen(s.v[0].text);
    reap_pack_params p = reap_pack_default_params();
    p.seq_len = 64;
    reap_packed c;
    CHECK_EQ_INT(reap_pack(tok, &s, &p, &c), REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "s:0: tokenising");
    omp_set_num_threads(omp_get_num_procs());
    for (int i = 0; i < s.n; i++) free(ids[i]);
    free(ids), free(lens);
    reap_samples_free(&s);
    reap_tok_free(tok);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s/reap_test_calib_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_dir)) {
        printf("FAIL mkdtemp\n");
        return 1;
    }
    reap_log_level = -1;
    RUN(test_reader_record_shapes);
    RUN(test_reader_rejects_bad_json_with_line);
    RUN(test_reader_rejects_unknown_shape_with_line);
    RUN(test_reader_rejects_wrong_field_types);
    RUN(test_reader_rejects_non_utf8_with_line);
    RUN(test_reader_zstd_transparent_and_errors_located);
    RUN(test_reader_tar_members_in_name_order);
    RUN(test_reader_tar_gz_members_in_name_order);
    RUN(test_reader_zip_members_in_name_order);
    RUN(test_reader_archive_errors_name_member_and_line);
    RUN(test_reader_missing_file_and_bad_count);
    RUN(test_reader_take_n_is_seeded_subset);
    RUN(test_reader_colon_in_path_is_not_a_count);
    RUN(test_reader_builtin_sets_load);
    RUN(test_reader_directory_in_name_order);
    RUN(test_pack_same_seed_same_rows);
    RUN(test_pack_mask_excludes_exactly_gaps_and_padding);
    RUN(test_pack_truncates_at_row_end_and_drops_rest);
    RUN(test_pack_rows_limit_and_running_out);
    RUN(test_pack_one_sample_per_row);
    RUN(test_pack_rejects_bad_params);
    RUN(test_pack_with_tokenizer_roundtrips_text);
    RUN(test_pack_lazy_parallel_equals_tokenise_all);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) printf("  (could not remove %s)\n", g_dir);
    TEST_EXIT();
}

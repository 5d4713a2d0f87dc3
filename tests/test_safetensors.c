// test_safetensors.c: the strict reader rejects every malformed file with a message naming the
// file, the tensor and the problem; the writer round-trips, is deterministic, aligns the data
// region, streams (copy_fd, skip -> holes) and leaves nothing behind when aborted.
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "safetensors.h"
#include "test.h"

static char tmpdir[256];

static char *tpath(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

// Writes u64 header length (hlen, or strlen(hdr) when hlen == UINT64_MAX), the header, and
// ndata bytes of data (values i & 0xff).
static void write_raw(const char *path, const char *hdr, uint64_t hlen, size_t ndata) {
    FILE *fp = fopen(path, "wb");
    size_t n = strlen(hdr);
    if (hlen == UINT64_MAX)
        hlen = n;
    uint8_t lb[8];
    for (int i = 0; i < 8; i++)
        lb[i] = (uint8_t)(hlen >> (8 * i));
    fwrite(lb, 1, 8, fp);
    fwrite(hdr, 1, n, fp);
    for (size_t i = 0; i < ndata; i++)
        fputc((int)(i & 0xff), fp);
    fclose(fp);
}

// Opens a broken file and returns the error message ("" when it unexpectedly opened).
static const char *open_broken(const char *name, const char *hdr, size_t ndata) {
    const char *p = tpath(name);
    write_raw(p, hdr, UINT64_MAX, ndata);
    reap_st_file *f = NULL;
    int st = reap_st_open(p, &f);
    if (st == REAP_OK) {
        reap_st_close(f);
        return "";
    }
    return reap_err_msg();
}

// Each broken case asserts the status, the file name and the specific complaint in the message.
#define EXPECT_BROKEN(file, hdr, ndata, ...)                                                  \
    do {                                                                                      \
        const char *m_ = open_broken(file, hdr, ndata);                                       \
        CHECK_STR_CONTAINS(m_, file);                                                         \
        const char *want_[] = {__VA_ARGS__};                                                  \
        for (size_t i_ = 0; i_ < sizeof want_ / sizeof want_[0]; i_++)                        \
            CHECK_STR_CONTAINS(m_, want_[i_]);                                                \
    } while (0)

#define T1 "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"

static void test_reader_rejects_file_shorter_than_8_bytes(void) {
    const char *p = tpath("short.st");
    FILE *fp = fopen(p, "wb");
    fwrite("abc", 1, 3, fp);
    fclose(fp);
    reap_st_file *f;
    CHECK(reap_st_open(p, &f) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "short.st");
    CHECK_STR_CONTAINS(reap_err_msg(), "shorter than the 8-byte header length");
}

static void test_reader_rejects_header_over_100mb(void) {
    const char *p = tpath("huge.st");
    write_raw(p, "{}", 100000001ull, 0);
    reap_st_file *f;
    CHECK(reap_st_open(p, &f) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "huge.st");
    CHECK_STR_CONTAINS(reap_err_msg(), "exceeds the 100 MB limit");
}

static void test_reader_rejects_header_past_eof(void) {
    const char *p = tpath("pasteof.st");
    write_raw(p, "{}", 4096, 0);
    reap_st_file *f;
    CHECK(reap_st_open(p, &f) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "pasteof.st");
    CHECK_STR_CONTAINS(reap_err_msg(), "runs past the end of the file");
}

static void test_reader_rejects_invalid_json(void) {
    EXPECT_BROKEN("notjson.st", "{\"a\": {\"dtype\": }", 0, "not valid JSON");
    EXPECT_BROKEN("trailjson.st", "{}xyz", 0, "trailing characters");
    const char *p = tpath("nul.st");
    FILE *fp = fopen(p, "wb");
    fwrite("\x06\0\0\0\0\0\0\0{}\0   ", 1, 14, fp);
    fclose(fp);
    reap_st_file *f;
    CHECK(reap_st_open(p, &f) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "nul.st");
    CHECK_STR_CONTAINS(reap_err_msg(), "contains a NUL byte at 2");
}

static void test_reader_rejects_json_that_is_not_an_object(void) {
    EXPECT_BROKEN("array.st", "[1,2]", 0, "not a JSON object");
    EXPECT_BROKEN("string.st", " {}", 0, "not a JSON object");  // must start with '{' like the reference
}

static void test_reader_rejects_invalid_utf8(void) {
    EXPECT_BROKEN("utf8.st", "{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0, "UTF-8");
    EXPECT_BROKEN("overlong.st", "{\"\xc0\xaf\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0,
                  "UTF-8");
}

static void test_reader_rejects_unknown_dtype(void) {
    EXPECT_BROKEN("dtype.st", "{\"w\":{\"dtype\":\"F7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'w'",
                  "unknown dtype 'F7'");
    EXPECT_BROKEN("dtype2.st", "{\"w\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'w'",
                  "dtype is not a string");
}

static void test_reader_rejects_missing_fields(void) {
    EXPECT_BROKEN("nodtype.st", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'w'", "missing dtype");
    EXPECT_BROKEN("noshape.st", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor 'w'",
                  "missing shape");
    EXPECT_BROKEN("nooffs.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'w'", "missing data_offsets");
    EXPECT_BROKEN("notobj.st", "{\"w\":[1]}", 0, "tensor 'w'", "entry is not a JSON object");
    EXPECT_BROKEN("extra.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8,
                  "tensor 'w'", "unknown key 'x'");
    EXPECT_BROKEN("dupkey.st", "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                  8, "tensor 'w'", "duplicate key 'dtype'");
}

static void test_reader_rejects_bad_shape_entries(void) {
    EXPECT_BROKEN("shapeobj.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,12]}}", 12, "tensor 'w'",
                  "shape is not an array");
    EXPECT_BROKEN("shapeneg.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0,
                  "tensor 'w'", "shape[0] = -1 is not a non-negative integer");
    EXPECT_BROKEN("shapefrac.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,1.5],\"data_offsets\":[0,12]}}", 12,
                  "tensor 'w'", "shape[1] = 1.5");
    EXPECT_BROKEN("shapestr.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8,
                  "tensor 'w'", "shape[0] = \"2\"");
    EXPECT_BROKEN("shapedims.st", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
                  1, "tensor 'w'", "9 dimensions");
}

static void test_reader_rejects_overflowing_shape(void) {
    EXPECT_BROKEN("shapeovf.st",
                  "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}", 8,
                  "tensor 'w'", "overflows 64 bits");
    EXPECT_BROKEN("shapebig.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1e30],\"data_offsets\":[0,8]}}", 8,
                  "tensor 'w'", "shape[0]");
}

static void test_reader_rejects_bad_data_offsets(void) {
    EXPECT_BROKEN("arity.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}", 8, "tensor 'w'",
                  "data_offsets must be an array of 2");
    EXPECT_BROKEN("offsovf.st",
                  "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],"
                  "\"data_offsets\":[18446744073709551615,18446744073709551615]}}",
                  0, "tensor 'w'", "below 2^53");
    EXPECT_BROKEN("offsneg.st", "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[-8,-8]}}", 0, "tensor 'w'",
                  "non-negative");
    EXPECT_BROKEN("backward.st", "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, "tensor 'w'",
                  "end before they begin");
}

static void test_reader_rejects_size_not_elements_times_dtype(void) {
    EXPECT_BROKEN("size.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "tensor 'w'",
                  "span 8 bytes but shape x F32 needs 12");
}

static void test_reader_rejects_overlapping_offsets(void) {
    EXPECT_BROKEN("overlap.st",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                  12, "tensor 'b'", "overlap the previous tensor 'a'");
}

static void test_reader_rejects_hole_between_tensors(void) {
    EXPECT_BROKEN("hole.st",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
                  20, "tensor 'b'", "hole in data region: bytes [8, 12)");
    EXPECT_BROKEN("hole0.st", "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "tensor 'b'",
                  "hole in data region: bytes [0, 4)");
}

static void test_reader_rejects_trailing_bytes(void) {
    EXPECT_BROKEN("trailing.st", "{" T1 "}", 9, "tensors end at data offset 8 but the data region is 9 bytes",
                  "trailing bytes");
}

static void test_reader_rejects_truncated_data(void) {
    EXPECT_BROKEN("trunc.st", "{" T1 "}", 7, "data region is 7 bytes", "truncated");
}

static void test_reader_rejects_duplicate_names(void) {
    EXPECT_BROKEN("dup.st",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                  16, "tensor 'a'", "duplicate name");
}

static void test_reader_rejects_bad_metadata(void) {
    EXPECT_BROKEN("metanum.st", "{\"__metadata__\":{\"format\":\"pt\",\"n\":3}," T1 "}", 8,
                  "__metadata__ value of key 'n' is not a string");
    EXPECT_BROKEN("metaarr.st", "{\"__metadata__\":[\"pt\"]," T1 "}", 8, "__metadata__ is not a JSON object");
    EXPECT_BROKEN("metadup.st", "{\"__metadata__\":{},\"__metadata__\":{}," T1 "}", 8, "duplicate __metadata__");
}

static void test_reader_accepts_valid_edge_cases(void) {
    // Header order differs from data order (allowed: the reference sorts), a scalar, an empty
    // tensor, trailing spaces in the header, metadata.
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
                      "\"z\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
                      "\"s\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]},"
                      "\"e\":{\"dtype\":\"BF16\",\"shape\":[0,5],\"data_offsets\":[12,12]}}    ";
    const char *p = tpath("valid.st");
    write_raw(p, hdr, UINT64_MAX, 12);
    reap_st_file *f = NULL;
    int st = reap_st_open(p, &f);
    CHECK_MSG(st == REAP_OK, "%s", reap_err_msg());
    CHECK_EQ_INT(f->n_tensors, 3);
    CHECK(strcmp(f->tensors[0].name, "s") == 0 && strcmp(f->tensors[1].name, "z") == 0);
    CHECK_EQ_INT(f->n_meta, 1);
    CHECK(strcmp(f->meta_keys[0], "format") == 0 && strcmp(f->meta_vals[0], "pt") == 0);
    const reap_st_tensor *s = reap_st_find(f, "s"), *e = reap_st_find(f, "e"), *z = reap_st_find(f, "z");
    CHECK(s && e && z && !reap_st_find(f, "q"));
    CHECK_EQ_INT(s->ndim, 0);
    CHECK_EQ_INT(reap_st_numel(s), 1);
    CHECK_EQ_INT(reap_st_numel(e), 0);
    CHECK_EQ_INT(e->shape[1], 5);
    CHECK_EQ_INT(f->data_offset, 8 + strlen(hdr));
    uint8_t b[8];
    CHECK(reap_st_read(f, z, 0, 8, b) == REAP_OK);
    for (int i = 0; i < 8; i++)
        CHECK_EQ_INT(b[i], 4 + i);
    CHECK(reap_st_read(f, z, 4, 8, b) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "tensor 'z'");
    reap_st_release(f, z);
    reap_st_close(f);
    // A header with no tensors at all is a valid (empty) file.
    write_raw(tpath("empty.st"), "{}", UINT64_MAX, 0);
    CHECK(reap_st_open(tpath("empty.st"), &f) == REAP_OK && f->n_tensors == 0);
    reap_st_close(f);
    reap_st_close(NULL);
}

// A zero-sized tensor whose other dims would overflow int64 when multiplied first: the element count
// is 0 without a signed overflow (UBSan, issue 13).
static void test_reader_zero_sized_tensor_with_huge_dims(void) {
    const char *p = tpath("zhuge.st");
    write_raw(p, "{\"h\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,0],\"data_offsets\":[0,0]}}", UINT64_MAX, 0);
    reap_st_file *f = NULL;
    int st = reap_st_open(p, &f);
    CHECK_MSG(st == REAP_OK, "%s", reap_err_msg());
    if (st) return;
    CHECK_EQ_INT(reap_st_numel(reap_st_find(f, "h")), 0);
    reap_st_close(f);
}

static void test_parse_header_in_memory(void) {
    reap_st_file f;
    const char *h = "{" T1 "}";
    CHECK(reap_st_parse_header("mem", h, strlen(h), 8, &f) == REAP_OK);
    CHECK_EQ_INT(f.n_tensors, 1);
    reap_st_clear(&f);
    CHECK(reap_st_parse_header("mem", h, strlen(h), 16, &f) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "mem: tensors end at data offset 8");
}

// ---- writer

static void fill(uint8_t *p, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (uint8_t)(seed >> 24);
    }
}

static int write_sample(const char *path, uint32_t seed) {
    reap_st_writer *w;
    int st = reap_st_writer_open(path, &w);
    if (st)
        return st;
    int64_t s1[2] = {3, 5}, s2[1] = {7}, s3[3] = {2, 1, 3};
    reap_st_writer_meta(w, "format", "pt");
    reap_st_writer_meta(w, "note", "quote \" backslash \\ newline \n");
    reap_st_writer_add(w, "a.weight", REAP_DT_F32, 2, s1);
    reap_st_writer_add(w, "b \"odd\" name\\", REAP_DT_BF16, 1, s2);
    reap_st_writer_add(w, "c", REAP_DT_F8_E4M3, 3, s3);
    reap_st_writer_add(w, "scalar", REAP_DT_I64, 0, NULL);
    if ((st = reap_st_writer_begin(w)) != REAP_OK)
        return st;
    uint8_t buf[128];
    fill(buf, sizeof buf, seed);
    size_t total = 60 + 14 + 6 + 8;
    uint64_t declared = reap_st_writer_data_size(w);
    if (declared != total) {
        reap_st_writer_abort(w);
        return reap_fail(REAP_EINVAL, "declared %llu bytes, expected %zu", (unsigned long long)declared, total);
    }
    // Odd-sized pieces that straddle tensor boundaries: the writer only counts bytes.
    reap_st_writer_write(w, buf, 1);
    reap_st_writer_write(w, buf + 1, 40);
    reap_st_writer_write(w, buf + 41, total - 41);
    return reap_st_writer_finish(w);
}

static int files_equal(const char *a, const char *b) {
    char *x, *y;
    size_t nx, ny;
    if (reap_read_file(a, &x, &nx) || reap_read_file(b, &y, &ny))
        return 0;
    int eq = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return eq;
}

static void test_writer_round_trips_names_shapes_bytes_metadata(void) {
    const char *p = tpath("w1.st");
    CHECK_MSG(write_sample(p, 7) == REAP_OK, "%s", reap_err_msg());
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", p, (int)getpid());
    CHECK(!reap_exists(tmp));
    reap_st_file *f;
    CHECK_MSG(reap_st_open(p, &f) == REAP_OK, "%s", reap_err_msg());
    CHECK_EQ_INT(f->data_offset % 8, 0);
    CHECK_EQ_INT(f->n_tensors, 4);
    CHECK_EQ_INT(f->n_meta, 2);
    CHECK(strcmp(f->meta_vals[1], "quote \" backslash \\ newline \n") == 0);
    const reap_st_tensor *b = reap_st_find(f, "b \"odd\" name\\");
    CHECK(b && b->dtype == REAP_DT_BF16 && b->ndim == 1 && b->shape[0] == 7 && b->begin == 60);
    const reap_st_tensor *c = reap_st_find(f, "c");
    CHECK(c && c->dtype == REAP_DT_F8_E4M3 && c->ndim == 3 && c->shape[2] == 3);
    const reap_st_tensor *s = reap_st_find(f, "scalar");
    CHECK(s && s->ndim == 0 && reap_st_nbytes(s) == 8);
    uint8_t want[128], got[88];
    fill(want, sizeof want, 7);
    uint64_t off = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        CHECK(reap_st_read(f, &f->tensors[i], 0, reap_st_nbytes(&f->tensors[i]), got + off) == REAP_OK);
        off += reap_st_nbytes(&f->tensors[i]);
    }
    CHECK(memcmp(got, want, 88) == 0);
    reap_st_close(f);
}

static void test_writer_is_deterministic(void) {
    CHECK(write_sample(tpath("d1.st"), 99) == REAP_OK);
    CHECK(write_sample(tpath("d2.st"), 99) == REAP_OK);
    CHECK(files_equal(tpath("d1.st"), tpath("d2.st")));
    CHECK(write_sample(tpath("d3.st"), 100) == REAP_OK);
    CHECK(!files_equal(tpath("d1.st"), tpath("d3.st")));
}

static void test_writer_abort_leaves_no_file(void) {
    const char *p = tpath("aborted.st");
    reap_st_writer *w;
    CHECK(reap_st_writer_open(p, &w) == REAP_OK);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s", reap_st_writer_tmp_path(w));
    CHECK(reap_exists(tmp));
    int64_t s[1] = {1000};
    CHECK(reap_st_writer_add(w, "x", REAP_DT_F32, 1, s) == REAP_OK);
    CHECK(reap_st_writer_begin(w) == REAP_OK);
    uint8_t buf[100] = {0};
    CHECK(reap_st_writer_write(w, buf, 100) == REAP_OK);
    reap_st_writer_abort(w);
    CHECK(!reap_exists(tmp));
    CHECK(!reap_exists(p));
    reap_st_writer_abort(NULL);
}

static void test_writer_refuses_wrong_byte_counts(void) {
    const char *p = tpath("short_w.st");
    reap_st_writer *w;
    int64_t s[1] = {4};
    CHECK(reap_st_writer_open(p, &w) == REAP_OK);
    CHECK(reap_st_writer_add(w, "x", REAP_DT_F32, 1, s) == REAP_OK);
    CHECK(reap_st_writer_begin(w) == REAP_OK);
    uint8_t buf[32] = {0};
    CHECK(reap_st_writer_write(w, buf, 17) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "exceeds the declared data size");
    CHECK(reap_st_writer_write(w, buf, 12) == REAP_OK);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s", reap_st_writer_tmp_path(w));
    CHECK(reap_st_writer_finish(w) == REAP_EINVAL);  // frees w and removes the temporary file
    CHECK_STR_CONTAINS(reap_err_msg(), "12 data bytes written but 16 declared");
    CHECK(!reap_exists(p) && !reap_exists(tmp));
}

static void test_writer_rejects_duplicate_and_bad_declarations(void) {
    reap_st_writer *w;
    int64_t s[1] = {4}, neg[1] = {-1};
    CHECK(reap_st_writer_open(tpath("dupw.st"), &w) == REAP_OK);
    CHECK(reap_st_writer_add(w, "x", REAP_DT_F32, 1, s) == REAP_OK);
    CHECK(reap_st_writer_add(w, "y", REAP_DT_F32, 1, neg) == REAP_EINVAL);
    CHECK(reap_st_writer_add(w, "__metadata__", REAP_DT_F32, 1, s) == REAP_EINVAL);
    CHECK(reap_st_writer_add(w, "x", REAP_DT_F32, 1, s) == REAP_OK);
    CHECK(reap_st_writer_meta(w, "k", "v") == REAP_OK);
    CHECK(reap_st_writer_meta(w, "k", "v2") == REAP_EINVAL);
    CHECK(reap_st_writer_begin(w) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "tensor 'x' declared twice");
    reap_st_writer_abort(w);
    CHECK(!reap_exists(tpath("dupw.st")));
}

// Appended bytes, and holes (skip) that keep the full size without allocating the disk.
static void test_writer_skip_leaves_holes(void) {
    const size_t big = 3u << 20;
    uint8_t *src = malloc(big);
    fill(src, big, 5);
    const uint64_t hole = 64u << 20;
    const char *p = tpath("copy.st");
    reap_st_writer *w;
    CHECK(reap_st_writer_open(p, &w) == REAP_OK);
    int64_t s_big[1] = {(int64_t)big}, s_hole[1] = {(int64_t)hole}, s_tail[1] = {1000};
    reap_st_writer_add(w, "big", REAP_DT_U8, 1, s_big);
    reap_st_writer_add(w, "hole", REAP_DT_U8, 1, s_hole);
    reap_st_writer_add(w, "tailhole", REAP_DT_U8, 1, s_tail);
    CHECK(reap_st_writer_begin(w) == REAP_OK);
    CHECK_MSG(reap_st_writer_write(w, src, big) == REAP_OK, "%s", reap_err_msg());
    CHECK(reap_st_writer_skip(w, hole) == REAP_OK);
    CHECK(reap_st_writer_skip(w, 1000) == REAP_OK);  // a trailing hole must still give the full size
    CHECK_MSG(reap_st_writer_finish(w) == REAP_OK, "%s", reap_err_msg());
    reap_st_file *f;
    CHECK_MSG(reap_st_open(p, &f) == REAP_OK, "%s", reap_err_msg());
    uint8_t *got = malloc(big);
    CHECK(reap_st_read(f, reap_st_find(f, "big"), 0, big, got) == REAP_OK);
    CHECK(memcmp(got, src, big) == 0);
    CHECK(reap_st_read(f, reap_st_find(f, "hole"), hole - 4096, 4096, got) == REAP_OK);
    int zero = 1;
    for (int i = 0; i < 4096; i++)
        zero &= got[i] == 0;
    CHECK(zero);
    struct stat sb;
    CHECK(stat(p, &sb) == 0);
    CHECK_EQ_INT((uint64_t)sb.st_size, f->data_offset + big + hole + 1000);
    // The 64 MiB hole is not allocated on disk (every Linux filesystem we run on supports holes).
    CHECK_MSG((uint64_t)sb.st_blocks * 512 < big + (8u << 20), "%lld bytes allocated", (long long)sb.st_blocks * 512);
    reap_st_close(f);
    free(got);
    free(src);
}

// Positional writes from several threads in any order give the bytes of an appended file; a byte
// short, a write past the end, or mixing with appends is refused.
static void test_writer_pwrite_from_threads_in_any_order(void) {
    const size_t n = (5u << 20) + 123;
    uint8_t *src = malloc(n);
    fill(src, n, 9);
    const char *p = tpath("pw.st");
    reap_st_writer *w;
    CHECK(reap_st_writer_open(p, &w) == REAP_OK);
    int64_t a[1] = {1000}, b[1] = {(int64_t)(n - 1000)};
    reap_st_writer_add(w, "a", REAP_DT_U8, 1, a);
    reap_st_writer_add(w, "b", REAP_DT_U8, 1, b);
    CHECK(reap_st_writer_begin(w) == REAP_OK);
    const size_t piece = 65537;
    const int np = (int)((n + piece - 1) / piece);
    int bad = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(4) reduction(+ : bad)
    for (int k = np - 1; k >= 0; k--) {  // back to front
        size_t off = (size_t)k * piece, len = n - off < piece ? n - off : piece;
        bad += reap_st_writer_pwrite(w, off, src + off, len) != REAP_OK;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(reap_st_writer_pwrite(w, n - 10, src, 11) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "outside the declared");
    CHECK(reap_st_writer_write(w, src, 1) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "after pwrite");
    CHECK_MSG(reap_st_writer_finish(w) == REAP_OK, "%s", reap_err_msg());
    reap_st_file *f;
    CHECK_MSG(reap_st_open(p, &f) == REAP_OK, "%s", reap_err_msg());
    uint8_t *got = malloc(n);
    CHECK(reap_st_read(f, reap_st_find(f, "a"), 0, 1000, got) == REAP_OK);
    CHECK(reap_st_read(f, reap_st_find(f, "b"), 0, n - 1000, got + 1000) == REAP_OK);
    CHECK(memcmp(got, src, n) == 0);
    reap_st_close(f);
    // one byte never written: finish refuses and leaves no file
    const char *q = tpath("pw_short.st");
    CHECK(reap_st_writer_open(q, &w) == REAP_OK);
    reap_st_writer_add(w, "a", REAP_DT_U8, 1, a);
    CHECK(reap_st_writer_begin(w) == REAP_OK);
    CHECK(reap_st_writer_pwrite(w, 1, src, 999) == REAP_OK);
    CHECK(reap_st_writer_finish(w) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "999 data bytes written but 1000 declared");
    CHECK(!reap_exists(q));
    free(got);
    free(src);
}

// reap_st_read_direct: any offset and length, through O_DIRECT (where the filesystem of TMPDIR
// allows it) and through the page cache (descriptor -1), the bytes reap_st_read gives; a read past
// the end of the file is an error naming it.
static void test_read_direct_any_alignment_equals_read(void) {
    const size_t n = (3u << 20) + 4321;
    uint8_t *src = malloc(n);
    fill(src, n, 11);
    const char *p = tpath("direct.st");
    reap_st_writer *w;
    CHECK(reap_st_writer_open(p, &w) == REAP_OK);
    int64_t shape[1] = {(int64_t)n};
    reap_st_writer_add(w, "x", REAP_DT_U8, 1, shape);
    CHECK(reap_st_writer_begin(w) == REAP_OK);
    CHECK(reap_st_writer_write(w, src, n) == REAP_OK);
    CHECK(reap_st_writer_finish(w) == REAP_OK);
    reap_st_file *f;
    CHECK_MSG(reap_st_open(p, &f) == REAP_OK, "%s", reap_err_msg());
    const reap_st_tensor *t = reap_st_find(f, "x");
    const size_t cap = (1u << 20) + 2 * REAP_DIO_ALIGN;
    char *buf = reap_big_alloc(cap);
    int dfd = reap_st_direct_open(f), bad = 0;
    const uint64_t offs[] = {0, 1, 4095, 4096, 12345, n - (1u << 20), n - 1}, lens[] = {1, 7, 4096, 65537, 1u << 20};
    for (int fd_i = 0; fd_i < 2; fd_i++)
        for (int a = 0; a < 7; a++)
            for (int b = 0; b < 5; b++) {
                if (offs[a] + lens[b] > n) continue;
                size_t at = 99;
                int st = reap_st_read_direct(f, fd_i ? -1 : dfd, f->data_offset + t->begin + offs[a], lens[b], buf, &at);
                bad += st != REAP_OK || memcmp(buf + at, src + offs[a], (size_t)lens[b]) != 0;
            }
    CHECK_EQ_INT(bad, 0);
    size_t at;
    CHECK(reap_st_read_direct(f, dfd, f->data_offset + t->begin + n - 10, 20, buf, &at) == REAP_EIO);
    CHECK_STR_CONTAINS(reap_err_msg(), "direct.st: read of 20 bytes");
    if (dfd >= 0) close(dfd);
    reap_big_free(buf, cap);
    reap_st_close(f);
    free(src);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "%s/reap_test_st_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_reader_rejects_file_shorter_than_8_bytes);
    RUN(test_reader_zero_sized_tensor_with_huge_dims);
    RUN(test_reader_rejects_header_over_100mb);
    RUN(test_reader_rejects_header_past_eof);
    RUN(test_reader_rejects_invalid_json);
    RUN(test_reader_rejects_json_that_is_not_an_object);
    RUN(test_reader_rejects_invalid_utf8);
    RUN(test_reader_rejects_unknown_dtype);
    RUN(test_reader_rejects_missing_fields);
    RUN(test_reader_rejects_bad_shape_entries);
    RUN(test_reader_rejects_overflowing_shape);
    RUN(test_reader_rejects_bad_data_offsets);
    RUN(test_reader_rejects_size_not_elements_times_dtype);
    RUN(test_reader_rejects_overlapping_offsets);
    RUN(test_reader_rejects_hole_between_tensors);
    RUN(test_reader_rejects_trailing_bytes);
    RUN(test_reader_rejects_truncated_data);
    RUN(test_reader_rejects_duplicate_names);
    RUN(test_reader_rejects_bad_metadata);
    RUN(test_reader_accepts_valid_edge_cases);
    RUN(test_parse_header_in_memory);
    RUN(test_writer_round_trips_names_shapes_bytes_metadata);
    RUN(test_writer_is_deterministic);
    RUN(test_writer_abort_leaves_no_file);
    RUN(test_writer_refuses_wrong_byte_counts);
    RUN(test_writer_rejects_duplicate_and_bad_declarations);
    RUN(test_writer_skip_leaves_holes);
    RUN(test_writer_pwrite_from_threads_in_any_order);
    RUN(test_read_direct_any_alignment_equals_read);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("warning: could not remove %s\n", tmpdir);
    TEST_EXIT();
}

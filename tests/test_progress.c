// test_progress.c: the progress line of lib/progress.c: never wider than the terminal less one
// column, whatever the width and the numbers; the ETA from steps or bytes; the bar's fill; the
// detail cut to its end with control characters hidden; the width's fallbacks.
#include <fcntl.h>
#include <unistd.h>

#include "common.h"
#include "progress.h"
#include "test.h"

// A display as reap_progress_begin makes it, without drawing (t0 = 0 so times are plain numbers).
static reap_progress make(const char *unit, int64_t total, int64_t done0, int64_t done, uint64_t total_bytes,
                          uint64_t bytes) {
    reap_progress p = {0};
    p.label = "prune", p.unit = unit, p.total = total, p.done0 = done0, p.done = done;
    p.total_bytes = total_bytes, p.bytes = bytes;
    return p;
}

static void test_progress_line_never_wider_than_terminal(void) {
    const char *details[] = {NULL, "", "model.layers.61.block_sparse_moe.experts.255.w2.weight_scale_inv",
                             "caf\xc3\xa9 \xe2\x82\xac\n\t\x1b[31m", "x"};
    reap_progress ps[] = {
        make("tensor", 96103, 0, 0, 230121630720ull, 0),
        make("tensor", 96103, 0, 51234, 230121630720ull, 123456789012ull),
        make("layer", 62, 7, 30, 0, 0),
        make("layer", 1, 0, 1, 0, 0),
        make("position", 9000000000000ll, 0, 4000000000000ll, 0, 0),
        make("tensor", 5, 0, 5, 18446744073709551615ull, 18446744073709551615ull),
    };
    char buf[1024];
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++)
        for (size_t d = 0; d < sizeof details / sizeof details[0]; d++)
            for (int cols = 0; cols <= 300; cols++) {
                reap_progress_format(&ps[k], details[d], 12345.6, cols, buf, sizeof buf);
                size_t n = strlen(buf);
                CHECK_MSG(cols < 2 ? n == 0 : n <= (size_t)cols - 1, "cols %d: %zu chars: '%s'", cols, n, buf);
                for (size_t i = 0; i < n; i++)
                    CHECK_MSG((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f, "control character in '%s'", buf);
            }
    // A small buffer is never overrun either.
    char small[16];
    reap_progress_format(&ps[1], details[2], 10, 200, small, sizeof small);
    CHECK(strlen(small) < sizeof small);
}

static void test_progress_eta_from_steps_or_bytes(void) {
    reap_progress p = make("layer", 10, 2, 2, 0, 0);
    CHECK(reap_progress_eta(&p, 10) < 0);  // nothing done in this run yet: unknown
    p.done = 4;                            // 2 layers in 10 s: 6 more take 30 s (the 2 resumed ones do not count)
    CHECK_NEAR(reap_progress_eta(&p, 10), 30, 1e-12);
    p.done = 10;
    CHECK(reap_progress_eta(&p, 10) == 0);
    reap_progress b = make("tensor", 100, 0, 90, 1000, 250);  // bytes decide: a quarter in 10 s
    CHECK_NEAR(reap_progress_eta(&b, 10), 30, 1e-12);
}

static void test_progress_bar_fill_and_fields(void) {
    reap_progress p = make("layer", 10, 0, 5, 0, 0);
    p.label = "score";
    char buf[256];
    const char *line = buf;  // (the check macro tests its argument for NULL)
    reap_progress_format(&p, NULL, 10, 120, buf, sizeof buf);
    CHECK_STR_CONTAINS(line, "score [===============>              ] 5/10 layers");
    CHECK_STR_CONTAINS(line, "2.0 s/layer");
    CHECK_STR_CONTAINS(line, "ETA 10.0 s");
    p.done = 10;
    reap_progress_format(&p, NULL, 2, 120, buf, sizeof buf);
    CHECK_STR_CONTAINS(line, "[==============================] 10/10 layers  5.0 layers/s  ETA 0.0 s");
    reap_progress q = make("tensor", 4, 0, 0, 2000000000, 0);
    reap_progress_format(&q, NULL, 0, 120, buf, sizeof buf);
    CHECK_STR_CONTAINS(line, "0/4 tensors  0 B/2.00 GB  ETA --");
    q.done = 2, q.bytes = 1000000000;
    reap_progress_format(&q, NULL, 4, 120, buf, sizeof buf);
    CHECK_STR_CONTAINS(line, "2/4 tensors  1.00 GB/2.00 GB  250.00 MB/s  ETA 4.0 s");
    // Too narrow for a bar: the fields alone.
    reap_progress_format(&q, NULL, 4, 60, buf, sizeof buf);
    CHECK(strchr(buf, '[') == NULL);
    CHECK_STR_CONTAINS(line, "prune 2/4 tensors");
}

static void test_progress_detail_keeps_its_end_hides_controls(void) {
    reap_progress p = make("tensor", 10, 0, 1, 0, 0);
    char buf[256];
    const char *line = buf;
    const char *name = "model.layers.3.block_sparse_moe.experts.12.w1.weight";
    reap_progress_format(&p, name, 1, 300, buf, sizeof buf);
    CHECK_STR_CONTAINS(line, name);
    reap_progress_format(&p, name, 1, 100, buf, sizeof buf);
    CHECK_MSG(strlen(buf) == 99, "%zu: '%s'", strlen(buf), buf);
    CHECK_STR_CONTAINS(line, "...");
    CHECK_STR_CONTAINS(line, ".12.w1.weight");
    reap_progress_format(&p, "a\nb\x1b", 1, 300, buf, sizeof buf);
    CHECK_STR_CONTAINS(line, "a?b?");
}

static void test_progress_columns_fall_back_to_columns_then_80(void) {
    int fd = open("/dev/null", O_WRONLY);
    CHECK(fd >= 0);
    reap_progress_columns_fallback = 0;
    CHECK_EQ_INT(reap_progress_columns(fd), 80);
    reap_progress_columns_fallback = 57;
    CHECK_EQ_INT(reap_progress_columns(fd), 57);
    reap_progress_columns_fallback = 0;
    close(fd);
}

// Not a terminal (the test's stderr is redirected by run.sh, or not: whatever it is, the display must
// not write to a file): begin/add/end on a non-tty draw nothing and count.
static void test_progress_counts_without_a_terminal(void) {
    if (isatty(STDERR_FILENO)) return;
    reap_progress p;
    reap_progress_begin(&p, "verify", "tensor", 3, 0, 30);
    CHECK(!p.on_tty);
    reap_progress_add(&p, 1, 10, "a");
    reap_progress_add(&p, 2, 20, NULL);
    CHECK_EQ_INT(p.done, 3);
    CHECK_EQ_INT(p.bytes, 30);
    reap_progress_end(&p);
}

int main(void) {
    RUN(test_progress_line_never_wider_than_terminal);
    RUN(test_progress_eta_from_steps_or_bytes);
    RUN(test_progress_bar_fill_and_fields);
    RUN(test_progress_detail_keeps_its_end_hides_controls);
    RUN(test_progress_columns_fall_back_to_columns_then_80);
    RUN(test_progress_counts_without_a_terminal);
    TEST_EXIT();
}

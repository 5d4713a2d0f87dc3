// test_score.c: score's resumable work dir (lib/score.c) on a tiny synthesised checkpoint: a run
// stopped after layer 1 resumes to the statistics of an uninterrupted run, and a flipped byte or
// a truncation in any work-dir file (state.json, stats.partial.json, hidden-1.bin, each one's
// checksum line too) is an error naming the file: never resumed from, never silently recomputed.
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "score.h"
#include "synth.h"
#include "test.h"

static char tmpdir[64], model[128], wd[128];
static const int32_t row_ids[2 * 8] = {5, 17, 300, 2, 9, 44, 1000, 3, 7, 7, 12, 600, 81, 4, 33, 250};
static const uint8_t row_mask[2 * 8] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};

static int stop_after_one(void *ctx, int done, int n_layers) {
    (void)ctx, (void)n_layers;
    return done == 1 ? REAP_EINTR : REAP_OK;
}

static int score(const char *work_dir, int stop, reap_stats *out) {
    reap_packed pk = {.rows = 2, .seq_len = 8, .ids = (int32_t *)row_ids, .mask = (uint8_t *)row_mask};
    reap_score_params p = reap_score_default_params();
    p.seq_len = 8, p.rows = 2, p.device = REAP_DEVICE_CPU, p.threads = 1, p.work_dir = work_dir;
    if (stop) p.after_layer = stop_after_one;
    int level = reap_log_level;
    reap_log_level = -1;
    int st = reap_score_rows(model, &pk, &p, out, NULL);
    reap_log_level = level;
    return st;
}

static int same_stats(const reap_stats *a, const reap_stats *b) {
    if (a->n_layers != b->n_layers || a->n_experts != b->n_experts) return 0;
    for (int l = 0; l < a->n_layers; l++) {
        if (a->layers[l].tokens != b->layers[l].tokens) return 0;
        if (memcmp(a->layers[l].e, b->layers[l].e, sizeof *a->layers[l].e * (size_t)a->n_experts)) return 0;
    }
    return 1;
}

static char *wpath(const char *name) { return reap_path_join(wd, name); }

static void fresh_workdir_after_one_layer(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", wd);
    if (system(cmd) != 0) return;
    reap_stats s;
    int st = score(wd, 1, &s);
    if (st == REAP_OK) reap_stats_free(&s);
}

static long file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static int flip_byte(const char *path, long off, uint8_t mask) {
    int fd = open(path, O_RDWR);
    if (fd < 0) return -1;
    uint8_t c;
    int ok = pread(fd, &c, 1, off) == 1;
    c ^= mask;
    ok = ok && pwrite(fd, &c, 1, off) == 1;
    close(fd);
    return ok ? 0 : -1;
}

static reap_stats reference;

static void test_work_dir_resume_equals_an_uninterrupted_run(void) {
    fresh_workdir_after_one_layer();
    char *h = wpath("hidden-1.bin");
    CHECK_MSG(file_size(h) > 0, "no %s after one layer", h);
    free(h);
    reap_stats s;
    CHECK(score(wd, 0, &s) == REAP_OK);
    CHECK(same_stats(&s, &reference));
    reap_stats_free(&s);
}

// Each work-dir file, damaged at the start, the middle, the last data byte and inside the checksum
// line, and truncated: the resume fails naming the file as corrupt.
static void test_work_dir_damage_in_every_file_is_detected(void) {
    static const char *const files[] = {"state.json", "stats.partial.json", "hidden-1.bin"};
    for (int f = 0; f < 3; f++)
        for (int how = 0; how < 5; how++) {
            fresh_workdir_after_one_layer();
            char *p = wpath(files[f]);
            long n = file_size(p);
            CHECK_MSG(n > REAP_SEAL_BYTES, "%s: size %ld", p, n);
            long data = n - REAP_SEAL_BYTES;
            if (how == 4) {
                CHECK(truncate(p, n - 7) == 0);
            } else {
                long off = how == 0 ? 0 : how == 1 ? data / 2 : how == 2 ? data - 1 : n - 3;
                // One low bit: in hidden-1.bin a float's last mantissa bit, the silent kind of damage.
                CHECK(flip_byte(p, off, how == 3 ? 0x04 : 0x01) == 0);
            }
            reap_stats s;
            int st = score(wd, 0, &s);
            if (st == REAP_OK) reap_stats_free(&s);
            CHECK_MSG(st == REAP_EINVAL, "%s, damage %d: status %d (%s)", files[f], how, st, st ? reap_err_msg() : "resumed");
            CHECK_STR_CONTAINS(reap_err_msg(), p);
            CHECK_STR_CONTAINS(reap_err_msg(), "corrupt");
            CHECK_STR_CONTAINS(reap_err_msg(), "remove the work dir");
            free(p);
        }
}

// A work dir written before the checksums (no checksum line) is refused, not trusted.
static void test_work_dir_without_checksums_is_refused(void) {
    fresh_workdir_after_one_layer();
    char *p = wpath("state.json");
    long n = file_size(p);
    CHECK(truncate(p, n - REAP_SEAL_BYTES) == 0);
    reap_stats s;
    int st = score(wd, 0, &s);
    if (st == REAP_OK) reap_stats_free(&s);
    CHECK(st == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "state.json: corrupt: no checksum line");
    free(p);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_score.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    snprintf(model, sizeof model, "%s/model", tmpdir);
    snprintf(wd, sizeof wd, "%s/wd", tmpdir);
    reap_synth_params sp;
    reap_synth_preset("tiny", &sp);
    sp.threads = 1;
    int level = reap_log_level;
    reap_log_level = -1;
    int st = reap_synth_write(&sp, model, 0);
    reap_log_level = level;
    if (st || score(NULL, 0, &reference)) {
        printf("FAIL test_score_setup: %s\n", reap_err_msg());
        return 1;
    }
    RUN(test_work_dir_resume_equals_an_uninterrupted_run);
    RUN(test_work_dir_damage_in_every_file_is_detected);
    RUN(test_work_dir_without_checksums_is_refused);
    reap_stats_free(&reference);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    TEST_EXIT();
}

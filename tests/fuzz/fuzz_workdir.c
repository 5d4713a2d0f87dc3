// fuzz_workdir: a `score --work-dir` directory as a resumed run finds it. The state.json and
// stats.partial.json handling is static in lib/score.c, so this drives the public entry point,
// reap_score_rows, on a tiny synthesised checkpoint (2 layers, 16 experts, hidden 64) and one row
// of 4 tokens, with the work dir filled from the input first. Input: state.json, then optionally a
// NUL byte and stats.partial.json, then optionally a NUL byte and hidden-1.bin (raw bytes); an
// absent part is an absent file. Each part is written with its checksum line (common.h
// reap_write_file_sealed) so that the fuzzer reaches the parsing behind the checksum; the seeds hold
// the files without it. A fresh or resumed run computes at most 2 tiny layers.
// Seeds: REAP_FUZZ_WORKDIR_SEEDS=DIR writes the files of a real run (after 1 layer, after 2) there.
#include "fuzz.h"
#include "score.h"
#include "synth.h"

static const int32_t row_ids[4] = {5, 17, 300, 2};
static const uint8_t row_mask[4] = {1, 1, 1, 1};

static reap_score_params params(void) {
    reap_score_params p = reap_score_default_params();
    p.seq_len = 4;
    p.rows = 1;
    p.device = REAP_DEVICE_CPU;
    p.threads = 1;
    p.work_dir = NULL;
    return p;
}

static int stop_after_one(void *ctx, int done, int n_layers) {
    (void)ctx, (void)n_layers;
    return done == 1 ? REAP_EINTR : REAP_OK;
}

static void clear_workdir(const char *wd) {
    static const char *const names[] = {"state.json", "stats.partial.json", "hidden-0.bin", "hidden-1.bin", "hidden-2.bin"};
    char p[300];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(p, sizeof p, "%s/%s", wd, names[i]);
        unlink(p);
    }
}

static char model[256], wd[256];

static int score(const reap_score_params *p) {
    reap_packed pk = {.rows = 1, .seq_len = 4, .ids = (int32_t *)row_ids, .mask = (uint8_t *)row_mask};
    reap_stats s;
    int st = reap_score_rows(model, &pk, p, &s, NULL);
    if (st == REAP_OK) reap_stats_free(&s);
    return st;
}

// A work-dir file without its checksum line (the seeds' form).
static void append_file(reap_sbuf *b, const char *name) {
    char p[300], *text;
    size_t len;
    snprintf(p, sizeof p, "%s/%s", wd, name);
    FUZZ_CHECK(reap_read_file_sealed(p, &text, &len) == REAP_OK);
    reap_sbuf_append(b, text, len);
    free(text);
}

static void write_sealed(const char *path, const uint8_t *data, size_t len) {
    char line[REAP_SEAL_BYTES + 1];
    reap_seal_line(reap_checksum64(data, len), line);
    reap_sbuf b = {0};
    reap_sbuf_append(&b, data, len);
    reap_sbuf_append(&b, line, REAP_SEAL_BYTES);
    fuzz_write_file(path, b.p, b.n);
    reap_sbuf_free(&b);
}

static void write_seeds(const char *dir) {
    reap_score_params p = params();
    p.work_dir = wd;
    p.after_layer = stop_after_one;
    clear_workdir(wd);
    FUZZ_CHECK(score(&p) == REAP_EINTR);
    reap_sbuf b = {0};
    append_file(&b, "state.json");
    char name[300];
    snprintf(name, sizeof name, "%s/state-only", dir);
    fuzz_write_file(name, b.p, b.n);
    reap_sbuf_append(&b, "", 1);
    append_file(&b, "stats.partial.json");
    reap_sbuf_append(&b, "", 1);
    append_file(&b, "hidden-1.bin");
    snprintf(name, sizeof name, "%s/after-layer-1", dir);
    fuzz_write_file(name, b.p, b.n);
    reap_sbuf_free(&b);
    p.after_layer = NULL;
    FUZZ_CHECK(score(&p) == REAP_OK);
    append_file(&b, "state.json");
    reap_sbuf_append(&b, "", 1);
    append_file(&b, "stats.partial.json");
    snprintf(name, sizeof name, "%s/after-layer-2", dir);
    fuzz_write_file(name, b.p, b.n);
    reap_sbuf_free(&b);
}

static void setup(void) {
    static int done;
    if (done) return;
    done = 1;
    snprintf(model, sizeof model, "%s", fuzz_path("model"));
    snprintf(wd, sizeof wd, "%s", fuzz_path("wd"));
    reap_synth_params sp;
    FUZZ_CHECK(reap_synth_preset("tiny", &sp) == REAP_OK);
    sp.threads = 1;
    FUZZ_CHECK(reap_synth_write(&sp, model, 0) == REAP_OK);
    FUZZ_CHECK(reap_mkdir_p(wd) == REAP_OK);
    const char *seeds = getenv("REAP_FUZZ_WORKDIR_SEEDS");
    if (seeds) write_seeds(seeds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    clear_workdir(wd);
    const uint8_t *part[3] = {data, NULL, NULL};
    size_t len[3] = {size, 0, 0};
    for (int i = 0; i < 2 && part[i]; i++) {
        const uint8_t *nul = memchr(part[i], 0, len[i]);
        if (!nul) break;
        part[i + 1] = nul + 1;
        len[i + 1] = len[i] - (size_t)(nul + 1 - part[i]);
        len[i] = (size_t)(nul - part[i]);
    }
    static const char *const names[3] = {"state.json", "stats.partial.json", "hidden-1.bin"};
    char p[300];
    for (int i = 0; i < 3; i++)
        if (part[i]) {
            snprintf(p, sizeof p, "%s/%s", wd, names[i]);
            write_sealed(p, part[i], len[i]);
        }
    reap_score_params sp = params();
    sp.work_dir = wd;
    (void)score(&sp);
    return 0;
}

// fuzz_workdir: a `score --work-dir` directory as a resumed run finds it. The state.json and
// stats.partial.json handling is static in lib/score.c, so this drives the public entry point,
// reap_score_rows, on a tiny synthesised checkpoint and one row of 4 tokens, with the work dir
// filled from the input first. Input: state.json, then optionally a NUL byte and stats.partial.json,
// then optionally a NUL byte and hidden-1.bin (raw bytes); an absent part is an absent file. Each
// part is written with its checksum line (common.h reap_write_file_sealed) so that the fuzzer
// reaches the parsing behind the checksum; the seeds hold the files without it. A fresh or resumed
// run computes at most 2 tiny layers.
// Speed: before it reads the work dir, every run opens, checks and fingerprints the whole
// checkpoint, the same model each time, which cost ~90% of an input. So lib/score.c is compiled
// into this file (the linker then takes reap_score_rows and the rest of score.o from here, not from
// the library) with five calls renamed to fuzz_* below: the first run opens and checks the model
// and computes its fingerprint and router digest with the real functions, later runs get those
// results again (same model, same answers). Everything behind them runs as in the library, on
// every input: run key, work-dir parsing and checks, resume, layers, work-dir writes. The model is
// the `tiny` preset (hidden 64, 2 layers, FP8 experts, 2 shards with layer 1 across both) cut to 4
// experts (top-2) and a 512-token vocab (79 tensors, not 223): the same code paths, less to compute.
// Layers are read on the loader thread itself (read.threads 1; an OpenMP reader team per input cost
// as much again in wake-ups and spinning). The first non-empty input first runs the whole model with
// the default reader threads and the real model checks, so that those stay covered (libFuzzer
// discards the coverage of its first call, an empty input).
// A change of the model changes every fingerprint: regenerate the seeds (tests/fuzz/make_seeds.sh).
// Seeds: REAP_FUZZ_WORKDIR_SEEDS=DIR writes the files of a real run (after 1 layer, after 2) there.
#include "fuzz.h"
#include "ckpt.h"
#include "inspect.h"
#include "layer_load.h"
#include "score.h"
#include "stats.h"
#include "synth.h"

int fuzz_ckpt_open(const char *dir, reap_ckpt **out);
void fuzz_ckpt_close(reap_ckpt *c);
int fuzz_inspect_check(const reap_ckpt *c, const reap_m2_config *m);
int fuzz_stats_fingerprint(const reap_ckpt *c, const reap_m2_config *m, char hex[65]);
int fuzz_stats_router_digest(const reap_ckpt *c, const reap_m2_config *m, char hex[65]);
#define reap_ckpt_open fuzz_ckpt_open
#define reap_ckpt_close fuzz_ckpt_close
#define reap_inspect_check fuzz_inspect_check
#define reap_stats_fingerprint fuzz_stats_fingerprint
#define reap_stats_router_digest fuzz_stats_router_digest
#include "../../lib/score.c"
#undef reap_ckpt_open
#undef reap_ckpt_close
#undef reap_inspect_check
#undef reap_stats_fingerprint
#undef reap_stats_router_digest

// The model, opened once by the first run after warm_up() and closed at exit. Until then (caching
// 0), the five calls go straight to the library.
static int caching;
static reap_ckpt *model_ckpt;
static int model_checked;
static char model_fp[65], model_rd[65];

static void close_model(void) { reap_ckpt_close(model_ckpt); }

int fuzz_ckpt_open(const char *dir, reap_ckpt **out) {
    if (!caching) return reap_ckpt_open(dir, out);
    if (!model_ckpt) {
        int st = reap_ckpt_open(dir, &model_ckpt);
        if (st) return st;
        atexit(close_model);
    }
    FUZZ_CHECK(strcmp(dir, model_ckpt->dir) == 0);
    *out = model_ckpt;
    return REAP_OK;
}

void fuzz_ckpt_close(reap_ckpt *c) {
    if (!c || c != model_ckpt) reap_ckpt_close(c);
}

int fuzz_inspect_check(const reap_ckpt *c, const reap_m2_config *m) {
    if (c != model_ckpt) return reap_inspect_check(c, m);
    int st = model_checked ? REAP_OK : reap_inspect_check(c, m);
    model_checked = !st;
    return st;
}

// The model's digest by fn, computed once into cache (hex, 65 bytes) and copied from it after.
static int cached_digest(int (*fn)(const reap_ckpt *, const reap_m2_config *, char *), const reap_ckpt *c,
                         const reap_m2_config *m, char *cache, char hex[65]) {
    if (c != model_ckpt) return fn(c, m, hex);
    if (!cache[0]) {
        int st = fn(c, m, cache);
        if (st) return cache[0] = 0, st;
    }
    memcpy(hex, cache, 65);
    return REAP_OK;
}

int fuzz_stats_fingerprint(const reap_ckpt *c, const reap_m2_config *m, char hex[65]) {
    return cached_digest(reap_stats_fingerprint, c, m, model_fp, hex);
}

int fuzz_stats_router_digest(const reap_ckpt *c, const reap_m2_config *m, char hex[65]) {
    return cached_digest(reap_stats_router_digest, c, m, model_rd, hex);
}

static const int32_t row_ids[4] = {5, 17, 300, 2};
static const uint8_t row_mask[4] = {1, 1, 1, 1};

static reap_score_params params(void) {
    reap_score_params p = reap_score_default_params();
    p.seq_len = 4;
    p.rows = 1;
    p.device = REAP_DEVICE_CPU;
    p.threads = 1;
    p.work_dir = NULL;
    p.read.threads = 1;
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

// One whole run without a work dir, the layers read by the default reader threads and the model
// opened, checked and closed by the library; from the next run on, the model is kept (caching).
// It must come before any other run that reads a layer: a layer loader thread (a new thread per
// run) that used OpenMP without a team before any loader thread had one leaves libomp's record of
// it behind, which LeakSanitizer reports at exit (libomp 14).
static void warm_up(void) {
    static int done;
    if (done) return;
    done = 1;
    reap_score_params p = params();
    p.read = reap_layer_load_default_opts();
    FUZZ_CHECK(score(&p) == REAP_OK);
    caching = 1;
}

static void setup(void) {
    static int done;
    if (done) return;
    done = 1;
    snprintf(model, sizeof model, "%s", fuzz_path("model"));
    snprintf(wd, sizeof wd, "%s", fuzz_path("wd"));
    reap_synth_params sp;
    FUZZ_CHECK(reap_synth_preset("tiny", &sp) == REAP_OK);
    sp.n_experts = 4, sp.top_k = 2, sp.vocab = 512;  // see the top of the file
    sp.max_shard_bytes = 128 * 1000;  // 2 shards, layer 1 across both, as tiny has
    sp.threads = 1;
    FUZZ_CHECK(reap_synth_write(&sp, model, 0) == REAP_OK);
    FUZZ_CHECK(reap_mkdir_p(wd) == REAP_OK);
    const char *seeds = getenv("REAP_FUZZ_WORKDIR_SEEDS");
    if (seeds) {
        warm_up();
        write_seeds(seeds);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    // Not in libFuzzer's first call, an empty input whose coverage is not counted (an empty
    // state.json stops before any layer is read).
    if (size) warm_up();
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

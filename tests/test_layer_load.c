// test_layer_load.c: the parallel layer loader (layer_load.h) against direct reads of every tensor,
// for several thread counts and part sizes, its part callback, its defaults, and its errors.
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "ckpt.h"
#include "common.h"
#include "layer_load.h"
#include "m2config.h"
#include "synth.h"
#include "test.h"

static char tmpdir[64];
static char *good_dir;
static reap_ckpt *good;
static reap_m2_config cfg;

static char *tpath(const char *name) { return reap_path_join(tmpdir, name); }

// ---- the reference: every tensor of a layer read on its own, as a serial loader reads it

typedef struct {
    float *f32[10];  // ln1, ln2, wq, wk, wv, wo, q_norm, k_norm, gate, bias (NULL where absent)
    size_t f32_n[10];
    uint8_t *w[3];   // w1, w3, w2 (E, ...) raw
    float *s[3];     // s1, s3, s2 (E, ...) or NULL
    size_t m13, sn[3];
} ref_layer;

static const char *const f32_what[10] = {
    "input_layernorm.weight", "post_attention_layernorm.weight", "self_attn.q_proj.weight",
    "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight", "self_attn.q_norm.weight",
    "self_attn.k_norm.weight", "block_sparse_moe.gate.weight", "block_sparse_moe.e_score_correction_bias"};
static const char *const mat_what[3] = {"w1.weight", "w3.weight", "w2.weight"};

static float *const *f32_field(const reap_layer_weights *w, int i) {
    float *const *f[10] = {&w->ln1, &w->ln2, &w->wq, &w->wk, &w->wv, &w->wo, &w->q_norm, &w->k_norm, &w->gate, &w->bias};
    return f[i];
}

static int ref_load(const reap_ckpt *c, int layer, ref_layer *r) {
    memset(r, 0, sizeof *r);
    char n[160];
    for (int i = 0; i < 10; i++) {
        const reap_ckpt_tensor *t = reap_ckpt_find(c, reap_m2_layer_name(n, layer, f32_what[i]));
        if (!t) continue;
        r->f32_n[i] = (size_t)reap_st_numel(t->t);
        r->f32[i] = reap_xmalloc(r->f32_n[i] * sizeof(float));
        if (reap_ckpt_read_f32(c, n, 0, NULL, r->f32[i])) return 1;
    }
    int E = cfg.n_experts;
    for (int m = 0; m < 3; m++)
        for (int e = 0; e < E; e++) {
            const reap_ckpt_tensor *t = reap_ckpt_find(c, reap_m2_expert_name(n, layer, e, mat_what[m]));
            if (!t) return 1;
            r->m13 = reap_st_nbytes(t->t);
            if (!r->w[m]) r->w[m] = reap_xmalloc(E * r->m13);
            if (reap_ckpt_read_raw(c, n, r->w[m] + e * r->m13)) return 1;
            strcat(n, "_scale_inv");
            if (!(t = reap_ckpt_find(c, n))) continue;
            r->sn[m] = (size_t)reap_st_numel(t->t);
            if (!r->s[m]) r->s[m] = reap_xmalloc(E * r->sn[m] * sizeof(float));
            if (reap_ckpt_read_f32(c, n, 0, NULL, r->s[m] + e * r->sn[m])) return 1;
        }
    return 0;
}

static void ref_free(ref_layer *r) {
    for (int i = 0; i < 10; i++) free(r->f32[i]);
    for (int m = 0; m < 3; m++) free(r->w[m]), free(r->s[m]);
}

static int same_f32(const reap_layer_weights *w, const ref_layer *r) {
    for (int i = 0; i < 10; i++) {
        const float *p = *f32_field(w, i);
        if (!r->f32[i] != !p) return 0;
        if (p && memcmp(p, r->f32[i], r->f32_n[i] * sizeof(float))) return 0;
    }
    return 1;
}

// Experts [e0, e1) of w hold the reference bytes (w1, w3, w2 and scales).
static int same_experts(const reap_layer_weights *w, const ref_layer *r, int e0, int e1) {
    const uint8_t *wm[3] = {w->w1, w->w3, w->w2};
    const float *sm[3] = {w->s1, w->s3, w->s2};
    for (int m = 0; m < 3; m++) {
        if (!wm[m] || memcmp(wm[m] + e0 * r->m13, r->w[m] + e0 * r->m13, (size_t)(e1 - e0) * r->m13)) return 0;
        if (!r->s[m] != !sm[m]) return 0;
        if (sm[m] && memcmp(sm[m] + e0 * r->sn[m], r->s[m] + e0 * r->sn[m], (e1 - e0) * r->sn[m] * sizeof(float)))
            return 0;
    }
    return 1;
}

// ---- the part callback's log: checks, as each part is reported, that its bytes have landed

enum { MAX_PARTS = 256 };
typedef struct {
    const ref_layer *ref;  // NULL: do not check contents
    int n, e0[MAX_PARTS], e1[MAX_PARTS];
    int pointers_set_at_first, landed, other_thread;
    pthread_t caller;
} part_log;

static void log_part(void *ctx, const reap_layer_weights *w, int e0, int e1) {
    part_log *g = ctx;
    if (g->n == 0) g->pointers_set_at_first = w->ln1 && w->gate && w->w1 && w->w3 && w->w2 && w->bytes > 0;
    if (g->n < MAX_PARTS) g->e0[g->n] = e0, g->e1[g->n] = e1;
    g->n++;
    if (!pthread_equal(pthread_self(), g->caller)) g->other_thread = 1;
    if (g->ref && !(e0 == e1 ? same_f32(w, g->ref) : same_experts(w, g->ref, e0, e1))) g->landed = 0;
}

static void log_init(part_log *g, const ref_layer *ref) {
    memset(g, 0, sizeof *g);
    g->ref = ref;
    g->landed = 1;
    g->caller = pthread_self();
}

// (0, 0) first, then contiguous ranges from 0 to n_experts in order; *n_parts: expert parts seen.
static int log_covers_all(const part_log *g, int *n_parts) {
    if (g->n < 2 || g->n > MAX_PARTS || g->e0[0] != 0 || g->e1[0] != 0) return 0;
    int at = 0;
    for (int i = 1; i < g->n; i++) {
        if (g->e0[i] != at || g->e1[i] <= at) return 0;
        at = g->e1[i];
    }
    *n_parts = g->n - 1;
    return at == cfg.n_experts;
}

static size_t expert_bytes(const ref_layer *r) {
    return 3 * r->m13 + (r->sn[0] + r->sn[1] + r->sn[2]) * sizeof(float);
}

static size_t part_bytes;   // the part size the tests load with (0: the loader's default)
static size_t piece_bytes;  // the read size the tests load with (0: the loader's default)

// reap_layer_load_ex with `threads` threads and parts of part_bytes.
static int load(const reap_ckpt *c, int layer, void *arena, size_t arena_bytes, int threads, reap_layer_part_fn part,
                void *ctx, reap_layer_weights *w) {
    reap_layer_load_opts o = {.threads = threads, .part_bytes = part_bytes, .piece_bytes = piece_bytes};
    return reap_layer_load_ex(c, &cfg, layer, arena, arena_bytes, &o, part, ctx, w);
}

// ---- tests

static void test_parallel_load_matches_direct_reads_for_any_thread_count(void) {
    const int threads[] = {1, 2, 3, 4, 7, 64};
    for (int layer = 0; layer < cfg.n_layers; layer++) {
        ref_layer ref;
        CHECK_MSG(ref_load(good, layer, &ref) == 0, "%s", reap_err_msg());
        CHECK(ref.s[0] && ref.s[2]);  // the synthetic model is FP8: the scales are exercised
        size_t arena_bytes;
        CHECK(reap_layer_arena_bytes(good, &cfg, layer, &arena_bytes) == REAP_OK);
        uint8_t *arena = reap_xmalloc(arena_bytes);
        for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++)
            for (int use_arena = 0; use_arena < 2; use_arena++) {
                memset(arena, 0xA5, arena_bytes);  // poisoned: every byte must come from the disk
                part_log g;
                log_init(&g, &ref);
                reap_layer_weights w;
                int st = load(good, layer, use_arena ? arena : NULL, use_arena ? arena_bytes : 0, threads[t], log_part,
                              &g, &w);
                CHECK_MSG(st == REAP_OK, "%s", reap_err_msg());
                CHECK_EQ_INT(w.layer, layer);
                CHECK(same_f32(&w, &ref));
                CHECK_MSG(same_experts(&w, &ref, 0, cfg.n_experts), "layer %d, %d threads", layer, threads[t]);
                int n_parts = 0;
                CHECK(log_covers_all(&g, &n_parts));
                CHECK(g.pointers_set_at_first && g.landed && !g.other_thread);
                CHECK(!use_arena || ((uint8_t *)w.w1 >= arena && (uint8_t *)w.w1 < arena + arena_bytes));
                if (use_arena) reap_layer_forget(&w);
                else reap_layer_free(&w);
            }
        free(arena);
        ref_free(&ref);
    }
}

static void test_parts_follow_the_part_size(void) {
    ref_layer ref;
    CHECK(ref_load(good, 1, &ref) == 0);
    size_t eb = expert_bytes(&ref);
    int E = cfg.n_experts;
    struct { size_t bytes; int parts; } cases[] = {
        {1, E}, {eb, E}, {3 * eb, (E + 2) / 3}, {5 * eb + eb / 2, (E + 4) / 5}, {(size_t)E * eb, 1}, {0, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        part_bytes = cases[i].bytes;  // 0: the 64 MiB default, the whole tiny layer is one part
        for (int nt = 1; nt <= 5; nt += 4) {
            part_log g;
            log_init(&g, &ref);
            reap_layer_weights w;
            CHECK(load(good, 1, NULL, 0, nt, log_part, &g, &w) == REAP_OK);
            int n_parts = 0;
            CHECK(log_covers_all(&g, &n_parts));
            CHECK_MSG(n_parts == cases[i].parts, "part bytes %zu (expert %zu): %d parts, expected %d", cases[i].bytes,
                      eb, n_parts, cases[i].parts);
            CHECK(g.landed && !g.other_thread);
            CHECK(same_experts(&w, &ref, 0, E));
            reap_layer_free(&w);
        }
    }
    part_bytes = 3 * eb;
    ref_free(&ref);
}

static void test_load_and_load_into_use_the_same_reader(void) {
    ref_layer ref;
    CHECK(ref_load(good, 0, &ref) == 0);
    size_t need, bytes;
    CHECK(reap_layer_arena_bytes(good, &cfg, 0, &need) == REAP_OK);
    CHECK(reap_layer_bytes(good, &cfg, 0, &bytes) == REAP_OK);
    uint8_t *arena = reap_xmalloc(need);
    reap_layer_weights a, b;
    CHECK(reap_layer_load(good, &cfg, 0, &a) == REAP_OK);
    CHECK(reap_layer_load_into(good, &cfg, 0, arena, need, &b) == REAP_OK);
    CHECK(same_f32(&a, &ref) && same_experts(&a, &ref, 0, cfg.n_experts));
    CHECK(same_f32(&b, &ref) && same_experts(&b, &ref, 0, cfg.n_experts));
    CHECK_EQ_INT(a.bytes, bytes);
    CHECK_EQ_INT(b.bytes, bytes);
    reap_layer_free(&a);
    reap_layer_forget(&b);
    // a buffer one byte short is refused before anything is read
    CHECK_EQ_INT(reap_layer_load_parts(good, &cfg, 0, arena, need - 1, 4, NULL, NULL, &b), REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "bytes of host buffer");
    free(arena);
    ref_free(&ref);
}

static void test_opts_set_threads_and_part_size(void) {
    ref_layer ref;
    CHECK(ref_load(good, 1, &ref) == 0);
    size_t eb = expert_bytes(&ref);
    reap_layer_load_opts d = reap_layer_load_default_opts();
    CHECK_EQ_INT(d.threads, 8);
    CHECK_EQ_INT(d.part_bytes, 64 << 20);
    CHECK_EQ_INT(d.piece_bytes, 16 << 20);
    // parts of 2 experts when asked, with 1 or 2 threads; one part with the default size
    for (int k = 0; k < 3; k++) {
        part_log g;
        log_init(&g, &ref);
        reap_layer_weights w;
        reap_layer_load_opts o = {.threads = 1 + (k & 1), .part_bytes = k < 2 ? 2 * eb : 0};
        int st = reap_layer_load_ex(good, &cfg, 1, NULL, 0, &o, log_part, &g, &w);
        CHECK_MSG(st == REAP_OK, "%s", reap_err_msg());
        int n_parts = 0;
        CHECK(log_covers_all(&g, &n_parts));
        CHECK_EQ_INT(n_parts, k < 2 ? (cfg.n_experts + 1) / 2 : 1);
        CHECK(same_experts(&w, &ref, 0, cfg.n_experts));
        reap_layer_free(&w);
    }
    ref_free(&ref);
}

// A fresh tiny checkpoint with 24 experts (as the good one) in tmpdir/name, to be damaged by a
// test; NULL when it cannot be written.
static char *synth_tiny24(const char *name) {
    char *dir = tpath(name);
    reap_synth_params sp;
    reap_synth_preset("tiny", &sp);
    sp.n_experts = 24, sp.threads = 1;
    if (reap_synth_write(&sp, dir, 0) == REAP_OK) return dir;
    free(dir);
    return NULL;
}

// Loads layer `layer` of c with reads of several sizes (one tensor per read, a matrix and a scale,
// about one expert, a few experts, everything) and thread counts: the bytes of direct reads of
// every tensor, parts in order, each landed when reported.
static int same_for_any_piece_size(const reap_ckpt *c, int layer) {
    ref_layer ref;
    if (ref_load(c, layer, &ref)) return 0;
    size_t eb = expert_bytes(&ref);
    const size_t pieces[] = {1, ref.m13, ref.m13 + 64, eb, 3 * eb + 100, (size_t)1 << 30, 0};
    const int threads[] = {1, 3, 8};
    int ok = 1;
    for (size_t p = 0; p < sizeof pieces / sizeof pieces[0] && ok; p++)
        for (size_t t = 0; t < sizeof threads / sizeof threads[0] && ok; t++) {
            piece_bytes = pieces[p];
            part_log g;
            log_init(&g, &ref);
            reap_layer_weights w;
            int n_parts = 0;
            ok = load(c, layer, NULL, 0, threads[t], log_part, &g, &w) == REAP_OK;
            if (ok) {
                ok = same_f32(&w, &ref) && same_experts(&w, &ref, 0, cfg.n_experts) && log_covers_all(&g, &n_parts) &&
                     g.landed && !g.other_thread;
                reap_layer_free(&w);
            }
            if (!ok) printf("  reads of %zu bytes, %d threads: %s\n", pieces[p], threads[t], reap_err_msg());
        }
    piece_bytes = 0;
    ref_free(&ref);
    return ok;
}

static void test_any_read_size_gives_the_same_bytes(void) {
    for (int layer = 0; layer < cfg.n_layers; layer++) CHECK_MSG(same_for_any_piece_size(good, layer), "layer %d", layer);
}

// Rewrites the shard holding tensor `name` (F32) with it stored as BF16 (its values rounded) and
// the rest as it was: a block scale the loader must convert instead of copying.
static int scale_to_bf16(const char *dir, const char *name) {
    reap_ckpt *c = NULL;
    if (reap_ckpt_open(dir, &c)) return 1;
    const reap_ckpt_tensor *s = reap_ckpt_find(c, name);
    int st = !s || s->t->dtype != REAP_DT_F32;
    const reap_st_file *f = st ? NULL : c->shards[s->shard];
    reap_st_writer *w = NULL;
    if (!st) st = reap_st_writer_open(f->path, &w);
    for (int i = 0; !st && i < f->n_tensors; i++) {
        const reap_st_tensor *t = &f->tensors[i];
        st = reap_st_writer_add(w, t->name, t == s->t ? REAP_DT_BF16 : t->dtype, t->ndim, t->shape);
    }
    if (!st) st = reap_st_writer_begin(w);
    for (int i = 0; !st && i < f->n_tensors; i++) {
        const reap_st_tensor *t = &f->tensors[i];
        size_t n = (size_t)reap_st_nbytes(t);
        uint8_t *b = reap_xmalloc(n + 1);
        if (!(st = reap_st_read(f, t, 0, n, b))) {
            if (t == s->t) {
                uint16_t *h = (uint16_t *)b;
                for (size_t k = 0; k < n / 4; k++) {
                    float x;
                    memcpy(&x, b + 4 * k, 4);
                    h[k] = reap_f32_to_bf16(x);
                }
                n /= 2;
            }
            st = reap_st_writer_write(w, b, n);
        }
        free(b);
    }
    if (!st) st = reap_st_writer_finish(w);
    else if (w) reap_st_writer_abort(w);
    const uint64_t shrunk = st ? 0 : reap_st_nbytes(s->t) / 2;
    reap_ckpt_close(c);
    // the index's metadata.total_size counts the tensors' bytes: shrink it by as much
    char *ip = reap_path_join(dir, "model.safetensors.index.json"), *j = NULL, *k;
    size_t n = 0;
    if (!st && !(st = reap_read_file(ip, &j, &n)) && (k = strstr(j, "\"total_size\""))) {
        k += strcspn(k, "0123456789");
        char *rest;
        unsigned long long total = strtoull(k, &rest, 10);
        char *out = reap_xasprintf("%.*s%llu%s", (int)(k - j), j, total - shrunk, rest);
        st = reap_write_file_atomic(ip, out, strlen(out));
        free(out);
    }
    free(j), free(ip);
    return st != 0;
}

static void test_scales_of_another_dtype_are_converted(void) {
    char *dir = synth_tiny24("bf16_scale");
    CHECK_MSG(dir != NULL, "%s", reap_err_msg());
    CHECK(scale_to_bf16(dir, "model.layers.1.block_sparse_moe.experts.5.w2.weight_scale_inv") == 0);
    reap_ckpt *c = NULL;
    CHECK_MSG(reap_ckpt_open(dir, &c) == REAP_OK, "%s", reap_err_msg());
    const reap_ckpt_tensor *t = c ? reap_ckpt_find(c, "model.layers.1.block_sparse_moe.experts.5.w2.weight_scale_inv") : NULL;
    CHECK(t && t->t->dtype == REAP_DT_BF16);
    if (t) CHECK(same_for_any_piece_size(c, 1));
    reap_ckpt_close(c);
    free(dir);
}

// Swaps the two dimensions in the header entry of tensor `name` (2-D, both sizes the same number of
// digits, so the header keeps its length and the file stays valid): the tensor gets a wrong shape.
static int corrupt_shape(const char *dir, const char *name) {
    DIR *d = opendir(dir);
    if (!d) return 1;
    char key[200];
    snprintf(key, sizeof key, "\"%s\":{", name);
    int done = 0;
    for (struct dirent *de; !done && (de = readdir(d));) {
        size_t nl = strlen(de->d_name);
        if (nl < 12 || strcmp(de->d_name + nl - 12, ".safetensors")) continue;
        char *path = reap_path_join(dir, de->d_name);
        int fd = open(path, O_RDWR);
        free(path);
        uint64_t len = 0;
        if (fd < 0 || pread(fd, &len, 8, 0) != 8 || len > (1u << 24)) {
            if (fd >= 0) close(fd);
            continue;
        }
        char *h = reap_xmalloc(len + 1);
        h[len] = 0;
        char *k, *s, *comma, *end;
        if (pread(fd, h, len, 8) == (ssize_t)len && (k = strstr(h, key)) && (s = strstr(k, "\"shape\":[")) &&
            (comma = strchr(s, ',')) && (end = strchr(s, ']')) && comma < end) {
            char *a = s + 9;
            size_t la = (size_t)(comma - a), lb = (size_t)(end - comma - 1);
            char tmp[64];
            if (la == lb && la < 30) {
                snprintf(tmp, sizeof tmp, "%.*s,%.*s", (int)lb, comma + 1, (int)la, a);
                memcpy(a, tmp, la + lb + 1);
                done = pwrite(fd, h, len, 8) == (ssize_t)len;
            }
        }
        free(h);
        close(fd);
    }
    closedir(d);
    return !done;
}

// Loads layer 1 of dir with threads 1 (the serial order) and then several thread counts, several
// times: the same status and message every time, naming `want`; no part at or after bad_expert is
// reported and the weights are released.
static void check_same_failure(const char *dir, const char *want, int bad_expert) {
    reap_ckpt *c = NULL;
    CHECK_MSG(reap_ckpt_open(dir, &c) == REAP_OK, "%s", reap_err_msg());
    size_t arena_bytes;
    CHECK(reap_layer_arena_bytes(c, &cfg, 1, &arena_bytes) == REAP_OK);
    uint8_t *arena = reap_xmalloc(arena_bytes);
    reap_layer_weights w;
    int st1 = reap_layer_load_parts(c, &cfg, 1, NULL, 0, 1, NULL, NULL, &w);
    char msg1[1024];
    snprintf(msg1, sizeof msg1, "%s", reap_err_msg());
    int ok = st1 == REAP_EINVAL && strstr(msg1, want) && !w.w1 && !w.ln1;
    const int threads[] = {2, 3, 4, 8, 16};
    for (int rep = 0; rep < 20 && ok; rep++)
        for (size_t t = 0; t < sizeof threads / sizeof threads[0] && ok; t++) {
            part_log g;
            log_init(&g, NULL);
            reap_err_set("%s", "");
            int st = load(c, 1, rep & 1 ? arena : NULL, rep & 1 ? arena_bytes : 0, threads[t], log_part, &g, &w);
            ok = st == st1 && !strcmp(reap_err_msg(), msg1) && !w.w1 && !w.ln1 && !g.other_thread;
            if (!ok) {
                printf("  %d threads: status %d, message '%s'\n", threads[t], st, reap_err_msg());
                break;
            }
            for (int i = 0; i < g.n && ok; i++) ok = bad_expert >= 0 && g.e1[i] <= bad_expert;
            if (!ok) printf("  %d threads: a part reached the bad tensor (%d parts)\n", threads[t], g.n);
        }
    // the other layer still loads
    if (ok) ok = reap_layer_load_parts(c, &cfg, 0, NULL, 0, 4, NULL, NULL, &w) == REAP_OK;
    if (ok) reap_layer_free(&w);
    free(arena);
    reap_ckpt_close(c);
    CHECK_MSG(ok, "serial message '%s' (status %d), expected to name %s", msg1, st1, want);
}

static void test_parallel_load_fails_like_serial_naming_first_bad_expert(void) {
    char *dir = synth_tiny24("bad_experts");
    CHECK_MSG(dir != NULL, "%s", reap_err_msg());
    // broken experts in the middle of layer 1, many in a row so that several threads fail at once:
    // the earliest in reading order is named
    char name[128];
    for (int e = 17; e > 9; e--)
        for (int m = 0; m < 3; m++) {
            reap_m2_expert_name(name, 1, e, mat_what[m]);
            CHECK(corrupt_shape(dir, name) == 0);
        }
    CHECK(corrupt_shape(dir, "model.layers.1.block_sparse_moe.experts.9.w2.weight") == 0);
    check_same_failure(dir, "tensor model.layers.1.block_sparse_moe.experts.9.w2.weight has shape [32, 64], "
                            "expected [64, 32]", 9);
    free(dir);
}

static void test_parallel_load_fails_like_serial_naming_attention_before_experts(void) {
    char *dir = synth_tiny24("bad_attention");
    CHECK_MSG(dir != NULL, "%s", reap_err_msg());
    CHECK(corrupt_shape(dir, "model.layers.1.block_sparse_moe.experts.2.w3.weight") == 0);
    CHECK(corrupt_shape(dir, "model.layers.1.self_attn.v_proj.weight") == 0);
    CHECK(corrupt_shape(dir, "model.layers.1.self_attn.k_proj.weight") == 0);
    // nothing is reported: the non-expert tensors come first
    check_same_failure(dir, "model.layers.1.self_attn.k_proj.weight' has shape [64, 32], expected [32, 64]", -1);
    free(dir);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_layer_load.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    reap_log_level = -1;
    reap_synth_params sp;
    reap_synth_preset("tiny", &sp);
    sp.n_experts = 24;  // parts of 3 experts: 8 parts, several threads per part
    sp.threads = 1;
    good_dir = tpath("good");
    if (reap_synth_write(&sp, good_dir, 0) || reap_ckpt_open(good_dir, &good) ||
        reap_m2_config_parse(good->config, "config.json", &cfg)) {
        printf("FAIL setup: %s\n", reap_err_msg());
        return 1;
    }
    ref_layer ref;
    if (ref_load(good, 0, &ref)) {
        printf("FAIL setup: %s\n", reap_err_msg());
        return 1;
    }
    part_bytes = 3 * expert_bytes(&ref);
    ref_free(&ref);
    RUN(test_parallel_load_matches_direct_reads_for_any_thread_count);
    RUN(test_parts_follow_the_part_size);
    RUN(test_any_read_size_gives_the_same_bytes);
    RUN(test_scales_of_another_dtype_are_converted);
    RUN(test_load_and_load_into_use_the_same_reader);
    RUN(test_opts_set_threads_and_part_size);
    RUN(test_parallel_load_fails_like_serial_naming_first_bad_expert);
    RUN(test_parallel_load_fails_like_serial_naming_attention_before_experts);
    reap_ckpt_close(good);
    free(good_dir);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) return 1;
    TEST_EXIT();
}

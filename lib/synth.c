// synth.c: parameters, tensor plan, value generation and the streaming write of `reap synth`
// (see synth.h). The non-weight files are written by synth_files.c.
//
// Value model (why the numbers are what they are):
// - Matrices are N(0, std^2) with std = 1/sqrt(fan_in), so a unit-RMS input gives unit-RMS
//   outputs; the two residual-branch outputs (o_proj, w2) are further scaled by 1/sqrt(2 L) so the
//   residual stream stays O(1) through L layers.
// - Experts differ in output magnitude (w2 std times a log-normal factor exp(0.4 z)), so REAP
//   saliency is not a function of routing frequency alone.
// - Router rows are random directions with per-expert norms in [0.5, 2]: the sigmoid scores of
//   high-norm experts swing further, so they are chosen more often and more selectively.
// - e_score_correction_bias lies in 4.7..8.7 like the real model's: most experts in 8.3..8.7
//   (bias differences comparable to the sigmoid's range, so both matter), about 16% "cold"
//   experts in 8.0..8.35 (chosen only when their score is high) and about 4% "dead" ones in
//   4.7..5.5 (never chosen: the bias gap exceeds the sigmoid's range).
// - FP8 weights: each element is one of 256 normal quantiles scaled by K = 448/3 and rounded to
//   E4M3 (so the codes use the format's range); weight_scale_inv = std/K times a per-block jitter
//   in [0.85, 1.15].
// Element e of a tensor is a pure function of (seed, tensor name, e): a splitmix64-style hash of a
// group counter gives 8 FP8 codes or 4 16-bit normal-table indices.
#include "synth.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "m2config.h"
#include "progress.h"
#include "safetensors.h"


// safetensors data are little-endian; the generators store multi-byte words directly.
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "reap synth assumes a little-endian host");

enum { K_NORMAL, K_NORM, K_FP8, K_SCALE, K_GATE, K_BIAS };

#define GAMMA 0x9E3779B97F4A7C15ull
#define FP8_K (448.0f / 3.0f)

// ---- parameters ----

reap_synth_params reap_synth_default_params(void) {
    reap_synth_params p = {
        .n_layers = 4, .n_experts = 64, .top_k = 8, .hidden = 256, .inter = 128,
        .n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .rotary_dim = 32, .vocab = 4096,
        .tok_vocab = 0, .block = 64, .seed = 42, .max_shard_bytes = 10ull * 1000 * 1000,
        .sparse = 0, .threads = 0,
    };
    return p;
}

int reap_synth_preset(const char *name, reap_synth_params *p) {
    reap_synth_params d = reap_synth_default_params();
    if (!strcmp(name, "small")) {
        *p = d;
    } else if (!strcmp(name, "tiny")) {
        d.n_layers = 2, d.n_experts = 16, d.top_k = 4, d.hidden = 64, d.inter = 32;
        d.n_heads = 4, d.n_kv_heads = 2, d.head_dim = 16, d.rotary_dim = 8, d.vocab = 1024;
        d.block = 16, d.max_shard_bytes = 256ull * 1000;
        *p = d;
    } else if (!strcmp(name, "minimax-m2")) {
        d.n_layers = 62, d.n_experts = 256, d.top_k = 8, d.hidden = 3072, d.inter = 1536;
        d.n_heads = 48, d.n_kv_heads = 8, d.head_dim = 128, d.rotary_dim = 64, d.vocab = 200064;
        d.tok_vocab = 200054, d.block = 128, d.max_shard_bytes = 2ull * 1000 * 1000 * 1000;
        *p = d;
    } else {
        return reap_fail(REAP_EUSAGE, "unknown preset '%s' (tiny, small, minimax-m2)", name);
    }
    return REAP_OK;
}

int reap_synth_check(const reap_synth_params *p) {
    struct { const char *name; long long v, lo, hi; } r[] = {
        {"layers", p->n_layers, 1, 100000}, {"experts", p->n_experts, 1, 1 << 16},
        {"top-k", p->top_k, 1, p->n_experts}, {"hidden", p->hidden, 1, 1 << 20},
        {"intermediate", p->inter, 1, 1 << 20}, {"heads", p->n_heads, 1, 1 << 12},
        {"kv-heads", p->n_kv_heads, 1, p->n_heads}, {"head-dim", p->head_dim, 2, 1 << 12},
        {"rotary-dim", p->rotary_dim, 2, p->head_dim}, {"vocab", p->vocab, 512, 1 << 24},
        {"block-size", p->block, 1, 1 << 16},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (r[i].v < r[i].lo || r[i].v > r[i].hi)
            return reap_fail(REAP_EUSAGE, "--%s %lld out of range [%lld, %lld]", r[i].name, r[i].v, r[i].lo, r[i].hi);
    if (p->rotary_dim % 2) return reap_fail(REAP_EUSAGE, "--rotary-dim %d must be even", p->rotary_dim);
    if (p->n_heads % p->n_kv_heads)
        return reap_fail(REAP_EUSAGE, "--heads %d must be a multiple of --kv-heads %d", p->n_heads, p->n_kv_heads);
    if (p->tok_vocab < 0 || p->tok_vocab > p->vocab)
        return reap_fail(REAP_EUSAGE, "tokenizer ids %d exceed --vocab %d", p->tok_vocab, p->vocab);
    if (p->max_shard_bytes == 0) return reap_fail(REAP_EUSAGE, "--max-shard-size must be positive");
    return REAP_OK;
}

int reap_synth_parse_size(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v > 0)) return reap_fail(REAP_EUSAGE, "bad size '%s' (e.g. 5GB, 200MB, 1GiB)", s);
    static const struct { const char *u; double m; } units[] = {
        {"", 1}, {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
        {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
        {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].u) != 0) continue;
        double b = v * units[i].m;
        if (b < 1 || b > 1e18) return reap_fail(REAP_EUSAGE, "size '%s' out of range", s);
        *out = (uint64_t)b;
        return REAP_OK;
    }
    return reap_fail(REAP_EUSAGE, "bad size unit in '%s' (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", s);
}

// ---- random values ----

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline uint64_t group_hash(uint64_t key, uint64_t g) { return mix64(key + (g + 1) * GAMMA); }
static inline double unit(uint64_t h) { return (double)(h >> 11) * (1.0 / 9007199254740992.0); }

static uint64_t tensor_key(uint64_t seed, const char *name) {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a of the name, then mixed with the seed
    for (const unsigned char *s = (const unsigned char *)name; *s; s++) h = (h ^ *s) * 0x100000001b3ull;
    return mix64(h ^ mix64(seed * GAMMA + 0x5851F42D4C957F2Dull));
}

static float normtab[65536];  // standard-normal quantiles at (i + 0.5) / 65536
static uint8_t codetab[256];  // E4M3 code of FP8_K times the normal quantile at (i + 0.5) / 256
static uint16_t pairtab[65536];  // codetab[i & 255] | codetab[i >> 8] << 8: two codes per lookup
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

// Standard-normal quantiles at the increasing probabilities p[0..n) (x[i]), by Newton's method on
// the CDF, each started from the previous solution (so 4 steps suffice; p[0] starts from x0).
static void norm_quantiles(const double *p, int n, double x0, double *x) {
    double v = x0;
    for (int i = 0; i < n; i++) {
        for (int it = 0; it < 4; it++) v -= (0.5 * erfc(-v / M_SQRT2) - p[i]) / (exp(-0.5 * v * v) / sqrt(2 * M_PI));
        x[i] = v;
    }
}

static void tables_init(void) {
    enum { N = 32768 };
    double *p = reap_xmalloc(sizeof(double) * N), *x = reap_xmalloc(sizeof(double) * N);
    for (int i = 0; i < N; i++) p[i] = (N + i + 0.5) / (2.0 * N);  // upper half, from the centre out
    norm_quantiles(p, N, 0.0, x);
    for (int i = 0; i < N; i++) {
        normtab[N + i] = (float)x[i];
        normtab[N - 1 - i] = (float)-x[i];
    }
    for (int i = 0; i < 128; i++) p[i] = (128 + i + 0.5) / 256.0;
    norm_quantiles(p, 128, 0.0, x);
    for (int i = 0; i < 128; i++) {
        codetab[128 + i] = reap_f32_to_e4m3(FP8_K * (float)x[i]);
        codetab[127 - i] = reap_f32_to_e4m3(-FP8_K * (float)x[i]);
    }
    for (int i = 0; i < 65536; i++) pairtab[i] = (uint16_t)(codetab[i & 255] | codetab[i >> 8] << 8);
    free(p);
    free(x);
}

// Real value of element e (in a tensor of kind t->kind) given its standard-normal draw z and the
// tensor key (for per-row and per-element extras).
static float value_of(const reap_synth_tensor *t, uint64_t key, uint64_t e, float z) {
    switch (t->kind) {
    case K_NORMAL: return t->std * z;
    case K_NORM: return 1.0f + 0.1f * z;
    case K_GATE: {  // row norm in [0.5, 2]
        uint64_t row = e / (uint64_t)t->shape[1];
        float n = 0.5f + 1.5f * (float)unit(group_hash(key ^ 0xA5A5A5A5ull, row));
        return n * t->std * z;
    }
    case K_SCALE: return t->std / FP8_K * (0.85f + 0.3f * (float)unit(group_hash(key, e)));
    case K_BIAS: {
        double u = unit(group_hash(key, e)), v = unit(group_hash(key ^ 0x5bd1e995ull, e));
        if (u < 0.04) return (float)(4.7 + 0.8 * v);
        if (u < 0.20) return (float)(8.0 + 0.35 * v);
        return (float)(8.3 + 0.4 * v);
    }
    }
    REAP_ASSERT(0);
}

// The 8 data bytes of hash group g: four 16-bit lanes of the hash, each mapped through tab (two
// FP8 codes or one BF16 value per lane; little-endian, so lane k is bytes 2k, 2k+1).
static inline uint64_t group_word(uint64_t key, uint64_t g, const uint16_t *tab) {
    uint64_t h = group_hash(key, g);
    return (uint64_t)tab[h & 0xffff] | (uint64_t)tab[(h >> 16) & 0xffff] << 16 |
           (uint64_t)tab[(h >> 32) & 0xffff] << 32 | (uint64_t)tab[h >> 48] << 48;
}

// Bytes [b0, b1) of a tensor whose group g holds bytes [8g, 8g + 8).
static void fill_words(uint64_t key, const uint16_t *tab, uint64_t b0, uint64_t b1, uint8_t *out) {
    uint64_t gf0 = (b0 + 7) / 8, gf1 = b1 / 8;  // groups wholly inside
    if (gf0 > gf1) {                            // inside one group
        uint64_t w = group_word(key, b0 / 8, tab);
        memcpy(out, (uint8_t *)&w + b0 % 8, b1 - b0);
        return;
    }
    if (b0 < gf0 * 8) {
        uint64_t w = group_word(key, b0 / 8, tab);
        memcpy(out, (uint8_t *)&w + b0 % 8, gf0 * 8 - b0);
    }
    if (b1 > gf1 * 8) {
        uint64_t w = group_word(key, gf1, tab);
        memcpy(out + (gf1 * 8 - b0), &w, b1 - gf1 * 8);
    }
    uint8_t *base = out + (gf0 * 8 - b0);
#pragma omp parallel for schedule(static) if (gf1 - gf0 >= (1u << 15))
    for (int64_t g = (int64_t)gf0; g < (int64_t)gf1; g++) {
        uint64_t w = group_word(key, (uint64_t)g, tab);
        memcpy(base + ((uint64_t)g - gf0) * 8, &w, 8);
    }
}

void reap_synth_fill(const reap_synth_params *p, const reap_synth_tensor *t, uint64_t first, uint64_t n,
                     void *dst) {
    pthread_once(&tables_once, tables_init);
    uint64_t key = tensor_key(p->seed, t->name), end = first + n;
    if (t->kind == K_FP8) {  // byte l of the group hash picks code l
        fill_words(key, pairtab, first, end, dst);
        return;
    }
    if (t->kind == K_NORMAL && t->dtype == REAP_DT_BF16 && n >= (1u << 20)) {
        // Large BF16 normals (embeddings, lm_head): convert the 65536 possible values once.
        // Same bytes as the general path below, just faster.
        uint16_t *tab = reap_xmalloc(sizeof(uint16_t) * 65536);
        for (int i = 0; i < 65536; i++) tab[i] = reap_f32_to_bf16(value_of(t, key, 0, normtab[i]));
        fill_words(key, tab, first * 2, end * 2, dst);
        free(tab);
        return;
    }
    // BF16 / F32: 4 elements per hash (16-bit normal-table indices)
    int bf16 = t->dtype == REAP_DT_BF16;
    REAP_ASSERT(bf16 || t->dtype == REAP_DT_F32);
    int64_t g0 = (int64_t)(first / 4), g1 = (int64_t)((end + 3) / 4);
#pragma omp parallel for schedule(static) if (n >= (1u << 18))
    for (int64_t g = g0; g < g1; g++) {
        uint64_t h = group_hash(key, (uint64_t)g);
        for (int l = 0; l < 4; l++) {
            uint64_t e = (uint64_t)g * 4 + (uint64_t)l;
            if (e < first || e >= end) continue;
            float v = value_of(t, key, e, normtab[(h >> (16 * l)) & 65535]);
            if (bf16) ((uint16_t *)dst)[e - first] = reap_f32_to_bf16(v);
            else ((float *)dst)[e - first] = v;
        }
    }
}

// ---- plan ----

static reap_synth_tensor *plan_add(reap_synth_plan *pl, int *cap, const char *name, reap_dtype dt, int64_t r,
                                   int64_t c, int kind, int layer, int expert, float std) {
    if (pl->n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        pl->t = reap_xrealloc(pl->t, sizeof *pl->t * (size_t)*cap);
    }
    reap_synth_tensor *t = &pl->t[pl->n++];
    memset(t, 0, sizeof *t);
    REAP_ASSERT(strlen(name) < sizeof t->name);
    strcpy(t->name, name);
    t->dtype = dt, t->ndim = c ? 2 : 1, t->shape[0] = r, t->shape[1] = c;
    t->kind = kind, t->layer = layer, t->expert = expert, t->std = std;
    t->nbytes = (uint64_t)r * (uint64_t)(c ? c : 1) * reap_dtype_size(dt);
    return t;
}

// An FP8 weight (rows, cols) and its weight_scale_inv (ceil(rows/b), ceil(cols/b)) F32.
static void plan_fp8(reap_synth_plan *pl, int *cap, const reap_synth_params *p, const char *name, int64_t r,
                     int64_t c, int layer, int expert, float std) {
    char sname[160];
    plan_add(pl, cap, name, REAP_DT_F8_E4M3, r, c, K_FP8, layer, expert, std);
    snprintf(sname, sizeof sname, "%s_scale_inv", name);
    plan_add(pl, cap, sname, REAP_DT_F32, (r + p->block - 1) / p->block, (c + p->block - 1) / p->block, K_SCALE,
             layer, expert, std);
}

int reap_synth_plan_make(const reap_synth_params *p, reap_synth_plan *out) {
    int st = reap_synth_check(p);
    if (st) return st;
    reap_synth_plan pl = {0};
    int cap = 0;
    char nm[128];
    int64_t H = p->hidden, I = p->inter, Q = (int64_t)p->n_heads * p->head_dim;
    int64_t KV = (int64_t)p->n_kv_heads * p->head_dim, E = p->n_experts;
    float in_h = 1.0f / sqrtf((float)H), branch = 1.0f / sqrtf(2.0f * (float)p->n_layers);
    plan_add(&pl, &cap, "model.embed_tokens.weight", REAP_DT_BF16, p->vocab, H, K_NORMAL, -1, -1, 1.0f);
    for (int L = 0; L < p->n_layers; L++) {
        plan_add(&pl, &cap, reap_m2_layer_name(nm, L, "input_layernorm.weight"), REAP_DT_BF16, H, 0, K_NORM, L, -1, 0);
        plan_add(&pl, &cap, reap_m2_layer_name(nm, L, "post_attention_layernorm.weight"), REAP_DT_BF16, H, 0, K_NORM,
                 L, -1, 0);
        plan_fp8(&pl, &cap, p, reap_m2_layer_name(nm, L, "self_attn.q_proj.weight"), Q, H, L, -1, in_h);
        plan_fp8(&pl, &cap, p, reap_m2_layer_name(nm, L, "self_attn.k_proj.weight"), KV, H, L, -1, in_h);
        plan_fp8(&pl, &cap, p, reap_m2_layer_name(nm, L, "self_attn.v_proj.weight"), KV, H, L, -1, in_h);
        plan_fp8(&pl, &cap, p, reap_m2_layer_name(nm, L, "self_attn.o_proj.weight"), H, Q, L, -1,
                 branch / sqrtf((float)Q));
        plan_add(&pl, &cap, reap_m2_layer_name(nm, L, "self_attn.q_norm.weight"), REAP_DT_BF16, Q, 0, K_NORM, L, -1, 0);
        plan_add(&pl, &cap, reap_m2_layer_name(nm, L, "self_attn.k_norm.weight"), REAP_DT_BF16, KV, 0, K_NORM, L, -1, 0);
        plan_add(&pl, &cap, reap_m2_layer_name(nm, L, "block_sparse_moe.gate.weight"), REAP_DT_F32, E, H, K_GATE, L,
                 -1, in_h);
        plan_add(&pl, &cap, reap_m2_layer_name(nm, L, "block_sparse_moe.e_score_correction_bias"), REAP_DT_F32, E, 0,
                 K_BIAS, L, -1, 0);
        for (int j = 0; j < p->n_experts; j++) {
            // Per-expert output magnitude exp(0.4 z), z from the seed, layer and expert.
            uint64_t h = mix64(p->seed * GAMMA ^ mix64(((uint64_t)L << 32) | (uint64_t)j));
            double u1 = unit(h), u2 = unit(mix64(h));
            float f = (float)exp(0.4 * sqrt(-2.0 * log(1.0 - u1)) * cos(2 * M_PI * u2));
            plan_fp8(&pl, &cap, p, reap_m2_expert_name(nm, L, j, "w1.weight"), I, H, L, j, in_h);
            plan_fp8(&pl, &cap, p, reap_m2_expert_name(nm, L, j, "w2.weight"), H, I, L, j,
                     branch * f / sqrtf((float)I));
            plan_fp8(&pl, &cap, p, reap_m2_expert_name(nm, L, j, "w3.weight"), I, H, L, j, in_h);
        }
    }
    plan_add(&pl, &cap, "model.norm.weight", REAP_DT_BF16, H, 0, K_NORM, -1, -1, 0);
    plan_add(&pl, &cap, "lm_head.weight", REAP_DT_BF16, p->vocab, H, K_NORMAL, -1, -1, in_h);

    // Shards: fill greedily in order; a weight and its scale stay together.
    uint64_t cur = 0;
    int shard = 0;
    for (int i = 0; i < pl.n; i++) {
        uint64_t b = pl.t[i].nbytes;
        int pair = pl.t[i].kind == K_FP8 && i + 1 < pl.n;
        if (pair) b += pl.t[i + 1].nbytes;
        if (cur > 0 && cur + b > p->max_shard_bytes) shard++, cur = 0;
        cur += b;
        pl.t[i].shard = shard;
        if (pair) pl.t[++i].shard = shard;
    }
    pl.n_shards = shard + 1;
    for (int i = 0; i < pl.n; i++) pl.total_bytes += pl.t[i].nbytes;
    if (pl.n_shards > 99999) {
        reap_synth_plan_free(&pl);
        return reap_fail(REAP_EUSAGE, "--max-shard-size gives %d shards (at most 99999)", shard + 1);
    }
    *out = pl;
    return REAP_OK;
}

void reap_synth_plan_free(reap_synth_plan *plan) {
    if (!plan) return;
    free(plan->t);
    plan->t = NULL;
    plan->n = 0;
}

// ---- writing ----

static int cancelled(const reap_synth_params *p) { return p->cancel && *p->cancel; }

// Removes a flat directory we created (regular files only) and the directory itself.
static void remove_flat_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *f = reap_path_join(dir, de->d_name);
        unlink(f);
        free(f);
    }
    closedir(d);
    rmdir(dir);
}

// 1 if dir holds regular files only (what --force may replace).
static int is_flat_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    int ok = 1;
    while (ok && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *f = reap_path_join(dir, de->d_name);
        struct stat st;
        ok = lstat(f, &st) == 0 && S_ISREG(st.st_mode);
        free(f);
    }
    closedir(d);
    return ok;
}

// Removes BASE.tmp.PID and BASE.old-PID siblings of synth runs that are gone (killed: their process
// no longer exists), flat directories only; those of a live run are left alone.
static void remove_stale_siblings(const char *base) {
    char *parent = reap_path_dir(base);
    const char *slash = strrchr(base, '/'), *name = slash ? slash + 1 : base;
    char *p_tmp = reap_xasprintf("%s.tmp.", name), *p_old = reap_xasprintf("%s.old-", name);
    DIR *d = opendir(parent);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        const char *pid_s = NULL;
        if (!strncmp(de->d_name, p_tmp, strlen(p_tmp))) pid_s = de->d_name + strlen(p_tmp);
        else if (!strncmp(de->d_name, p_old, strlen(p_old))) pid_s = de->d_name + strlen(p_old);
        if (!pid_s || !*pid_s || strspn(pid_s, "0123456789") != strlen(pid_s) || strlen(pid_s) > 9) continue;
        long pid = strtol(pid_s, NULL, 10);
        if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
        char *f = reap_path_join(parent, de->d_name);
        if (reap_is_dir(f) && is_flat_dir(f)) {
            reap_info("removing %s left by an interrupted synth", f);
            remove_flat_dir(f);
        }
        free(f);
    }
    if (d) closedir(d);
    free(p_tmp), free(p_old), free(parent);
}

static char *shard_name(int s, int n) { return reap_xasprintf("model-%05d-of-%05d.safetensors", s + 1, n); }

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const reap_synth_tensor *const *)a)->name, (*(const reap_synth_tensor *const *)b)->name);
}

// model.safetensors.index.json: {"metadata": {"total_size": N}, "weight_map": {name: shard}}
// with names sorted (as the HF writer does).
static int write_index(const reap_synth_plan *pl, const char *dir) {
    const reap_synth_tensor **v = reap_xmalloc(sizeof *v * (size_t)pl->n);
    for (int i = 0; i < pl->n; i++) v[i] = &pl->t[i];
    qsort(v, (size_t)pl->n, sizeof *v, cmp_name);
    reap_sbuf b = {0};
    reap_sbuf_printf(&b, "{\n  \"metadata\": {\n    \"total_size\": %llu\n  },\n  \"weight_map\": {\n",
                     (unsigned long long)pl->total_bytes);
    for (int i = 0; i < pl->n; i++) {
        char *sn = shard_name(v[i]->shard, pl->n_shards);
        reap_sbuf_printf(&b, "    \"%s\": \"%s\"%s\n", v[i]->name, sn, i + 1 < pl->n ? "," : "");
        free(sn);
    }
    reap_sbuf_puts(&b, "  }\n}\n");
    char *path = reap_path_join(dir, "model.safetensors.index.json");
    int st = reap_write_file_atomic(path, b.p, b.n);
    free(path);
    free(v);
    reap_sbuf_free(&b);
    return st;
}

// Generation and writing overlap: a writer thread writes one buffer while the OpenMP threads fill
// the other. The writer handle is used by one thread at a time (the hand-off is under the mutex).
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *buf[2];
    size_t len[2];  // bytes ready in buf[i]; 0 = free
    int stop, st;
    char err[1024];
    reap_st_writer *w;
} pipe_state;

static void *pipe_writer(void *arg) {
    pipe_state *ps = arg;
    for (int i = 0;; i ^= 1) {
        pthread_mutex_lock(&ps->mu);
        while (!ps->len[i] && !ps->stop) pthread_cond_wait(&ps->cv, &ps->mu);
        size_t len = ps->len[i];
        pthread_mutex_unlock(&ps->mu);
        if (!len) return NULL;  // stopped and drained
        int st = ps->st ? ps->st : reap_st_writer_write(ps->w, ps->buf[i], len);
        pthread_mutex_lock(&ps->mu);
        if (st && !ps->st) {
            ps->st = st;
            snprintf(ps->err, sizeof ps->err, "%s", reap_err_msg());
        }
        ps->len[i] = 0;
        pthread_cond_broadcast(&ps->cv);
        pthread_mutex_unlock(&ps->mu);
    }
}

static int write_shard(const reap_synth_params *p, const reap_synth_plan *pl, int s, const char *dir, int *ti,
                       uint8_t **bufs, size_t buf_cap, reap_progress *bar) {
    char *name = shard_name(s, pl->n_shards), *path = reap_path_join(dir, name);
    reap_st_writer *w = NULL;
    int st = reap_st_writer_open(path, &w);
    if (!st) st = reap_st_writer_meta(w, "format", "pt");
    int first = *ti, last = first;
    while (last < pl->n && pl->t[last].shard == s) last++;
    for (int i = first; !st && i < last; i++)
        st = reap_st_writer_add(w, pl->t[i].name, pl->t[i].dtype, pl->t[i].ndim, pl->t[i].shape);
    if (!st) st = reap_st_writer_begin(w);
    pipe_state ps = {.buf = {bufs ? bufs[0] : NULL, bufs ? bufs[1] : NULL}, .w = w};
    pthread_t th;
    int piped = !st && !p->sparse;
    if (piped) {
        pthread_mutex_init(&ps.mu, NULL);
        pthread_cond_init(&ps.cv, NULL);
        if (pthread_create(&th, NULL, pipe_writer, &ps) != 0) st = reap_fail(REAP_EIO, "cannot start writer thread");
        piped = !st;
    }
    int k = 0;  // next buffer to fill
    for (int i = first; !st && i < last; i++) {
        const reap_synth_tensor *t = &pl->t[i];
        if (p->sparse) {
            st = reap_st_writer_skip(w, t->nbytes);
            reap_progress_add(bar, 0, t->nbytes, t->name);
        } else {
            size_t es = reap_dtype_size(t->dtype);
            uint64_t numel = t->nbytes / es, chunk = buf_cap / es;
            for (uint64_t e = 0; !st && e < numel; e += chunk, k ^= 1) {
                uint64_t n = numel - e < chunk ? numel - e : chunk;
                pthread_mutex_lock(&ps.mu);
                while (ps.len[k] && !ps.st) pthread_cond_wait(&ps.cv, &ps.mu);
                st = ps.st;
                pthread_mutex_unlock(&ps.mu);
                if (!st && cancelled(p)) st = reap_fail(REAP_EINTR, "interrupted (partial output %s removed)", dir);
                if (st) break;
                reap_synth_fill(p, t, e, n, ps.buf[k]);
                pthread_mutex_lock(&ps.mu);
                ps.len[k] = n * es;
                pthread_cond_broadcast(&ps.cv);
                pthread_mutex_unlock(&ps.mu);
                reap_progress_add(bar, 0, n * es, t->name);
            }
        }
        reap_progress_add(bar, 1, 0, t->name);
    }
    if (piped) {
        pthread_mutex_lock(&ps.mu);
        ps.stop = 1;
        if (st && !ps.st) ps.st = st;  // the writer drops what is queued
        pthread_cond_broadcast(&ps.cv);
        pthread_mutex_unlock(&ps.mu);
        pthread_join(th, NULL);
        if (!st && ps.st) st = reap_fail(ps.st, "%s", ps.err);
        pthread_mutex_destroy(&ps.mu);
        pthread_cond_destroy(&ps.cv);
    }
    if (!st) st = reap_st_writer_finish(w);
    else reap_st_writer_abort(w);
    if (!st) reap_verbose("wrote %s (%d tensors)", name, last - first);
    *ti = last;
    free(name);
    free(path);
    return st;
}

int reap_synth_write(const reap_synth_params *p, const char *out_dir, int force) {
    if (reap_exists(out_dir)) {
        if (!force) return reap_fail(REAP_EINVAL, "%s: already exists (use --force to replace it)", out_dir);
        if (!reap_is_dir(out_dir) || !is_flat_dir(out_dir))
            return reap_fail(REAP_EINVAL, "%s: --force replaces only a directory of regular files (a checkpoint); "
                             "this is not one", out_dir);
    }
    reap_synth_plan pl;
    int st = reap_synth_plan_make(p, &pl);
    if (st) return st;
    char *base = reap_xstrdup(out_dir);
    size_t bl = strlen(base);
    while (bl > 1 && base[bl - 1] == '/') base[--bl] = 0;
    remove_stale_siblings(base);
    char *tmp = reap_xasprintf("%s.tmp.%d", base, (int)getpid());
    if (mkdir(tmp, 0755) != 0) {
        st = reap_fail(REAP_EIO, "%s: cannot create directory: %s", tmp, strerror(errno));
        free(tmp);
        free(base);
        reap_synth_plan_free(&pl);
        return st;
    }
    if (p->threads > 0) omp_set_num_threads(p->threads);

    double t0 = reap_now();
    st = reap_synth_write_files(p, tmp);
    size_t buf_cap = 32u << 20;  // two buffers: one filled while the other is written
    uint8_t *bufs[2] = {NULL, NULL};
    if (!p->sparse) bufs[0] = reap_xmalloc(buf_cap), bufs[1] = reap_xmalloc(buf_cap);
    reap_progress bar;
    reap_progress_begin(&bar, "synth", "tensor", pl.n, 0, pl.total_bytes);
    for (int s = 0, ti = 0; !st && s < pl.n_shards; s++)
        st = write_shard(p, &pl, s, tmp, &ti, p->sparse ? NULL : bufs, buf_cap, &bar);
    reap_progress_end(&bar);
    free(bufs[0]);
    free(bufs[1]);
    if (!st) st = write_index(&pl, tmp);
    if (!st && cancelled(p)) st = reap_fail(REAP_EINTR, "%s: interrupted", out_dir);
    char *old = NULL;
    if (!st) st = reap_dir_replace(tmp, base, &old);  // with --force: exchanged in one step
    if (st) {
        remove_flat_dir(tmp);
    } else {
        if (old) remove_flat_dir(old);
        double secs = reap_now() - t0;
        char b1[32];
        reap_info("synth: %d tensors, %s of tensor data in %d shard%s -> %s (%.1f s%s)", pl.n,
                  reap_fmt_bytes((double)pl.total_bytes, b1, sizeof b1), pl.n_shards, pl.n_shards == 1 ? "" : "s",
                  base, secs, p->sparse ? ", sparse" : "");
    }
    free(old);
    free(tmp);
    free(base);
    reap_synth_plan_free(&pl);
    return st;
}

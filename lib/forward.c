// forward.c: the MiniMax-M2 forward pass on CPU, one layer at a time (spec minimax-m2.md section 2):
// loading and releasing one layer's weights, the embedding, the attention block (RMSNorm, q/k/v,
// per_layer QK norm, partial NeoX RoPE, causal GQA attention over packed rows, o_proj, residual),
// the MoE block (moe.c) and the final norm + lm_head.
#include "forward.h"

#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "cpu_ops.h"
#include "moe.h"

enum { ATTN_BUDGET = 256 << 20, ATTN_MAX_TOKENS = 16384 };

int reap_forward_check_config(const reap_m2_config *cfg, const char *path) {
    if (!cfg->scoring_sigmoid)
        return reap_fail(REAP_EINVAL, "%s: scoring_func is not \"sigmoid\": only MiniMax-M2's sigmoid router is supported",
                         path);
    if (cfg->hidden <= 0 || cfg->inter <= 0 || cfg->n_layers <= 0 || cfg->n_experts <= 0 || cfg->top_k <= 0 ||
        cfg->top_k > cfg->n_experts || cfg->top_k > 64)
        return reap_fail(REAP_EINVAL, "%s: unsupported sizes: hidden %d, intermediate %d, %d layers, %d experts, top-k %d",
                         path, cfg->hidden, cfg->inter, cfg->n_layers, cfg->n_experts, cfg->top_k);
    if (cfg->n_heads <= 0 || cfg->n_kv_heads <= 0 || cfg->n_heads % cfg->n_kv_heads != 0 || cfg->head_dim <= 0)
        return reap_fail(REAP_EINVAL, "%s: %d attention heads are not a multiple of %d KV heads (head_dim %d)", path,
                         cfg->n_heads, cfg->n_kv_heads, cfg->head_dim);
    if (cfg->rotary_dim < 0 || cfg->rotary_dim % 2 != 0 || cfg->rotary_dim > cfg->head_dim || cfg->rotary_dim > 1024)
        return reap_fail(REAP_EINVAL, "%s: rotary_dim %d must be even and at most head_dim %d", path, cfg->rotary_dim,
                         cfg->head_dim);
    if (!(cfg->rope_theta > 0) || !(cfg->rms_eps > 0))
        return reap_fail(REAP_EINVAL, "%s: rope_theta %g and rms_norm_eps %g must be positive", path, cfg->rope_theta,
                         cfg->rms_eps);
    return REAP_OK;
}

// ---- loading

// Caller-owned memory that reap_layer_load_into carves a layer's buffers out of (NULL: malloc).
typedef struct {
    uint8_t *p;
    size_t cap, used;
} layer_arena;
enum { ARENA_ALIGN = 256, ARENA_BUFFERS = 16 };

// bytes from the arena (256-byte aligned), or from the heap when a is NULL (f32: 64-byte aligned).
static void *layer_alloc(layer_arena *a, size_t bytes, int f32) {
    if (!a) return f32 ? (void *)reap_cpu_alloc(bytes / sizeof(float)) : reap_xmalloc(bytes);
    size_t at = (a->used + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    REAP_ASSERT(at + bytes <= a->cap);  // sized by reap_layer_arena_bytes and checked up front
    a->used = at + bytes;
    return a->p + at;
}

static int expert_tensor(const reap_ckpt *c, int layer, int e, const char *what, int64_t r, int64_t cols,
                         reap_dtype *dt, const reap_ckpt_tensor **out) {
    char name[128];
    reap_m2_expert_name(name, layer, e, what);
    const reap_ckpt_tensor *t = reap_ckpt_find(c, name);
    if (!t) return reap_fail(REAP_EINVAL, "%s: tensor %s is missing", c->dir, name);
    if (t->t->ndim != 2 || t->t->shape[0] != r || t->t->shape[1] != cols)
        return reap_fail(REAP_EINVAL, "%s: tensor %s has shape [%lld, %lld], expected [%lld, %lld]", c->dir, name,
                         (long long)t->t->shape[0], (long long)(t->t->ndim > 1 ? t->t->shape[1] : 0), (long long)r,
                         (long long)cols);
    if ((int)*dt < 0) *dt = t->t->dtype;
    if (t->t->dtype != *dt)
        return reap_fail(REAP_EINVAL, "%s: tensor %s is %s but other expert weights are %s", c->dir, name,
                         reap_dtype_name(t->t->dtype), reap_dtype_name(*dt));
    *out = t;
    return REAP_OK;
}

static int is_fp8(reap_dtype dt) { return dt == REAP_DT_F8_E4M3 || dt == REAP_DT_F8_E5M2; }

// Reads expert e's matrix `what` (r, cols) raw into dst and, for FP8, its block scales into sdst.
static int load_expert_matrix(const reap_ckpt *c, const reap_m2_config *cfg, int layer, int e, const char *what,
                              int64_t r, int64_t cols, reap_dtype *dt, uint8_t *dst, float *sdst) {
    const reap_ckpt_tensor *t;
    int st = expert_tensor(c, layer, e, what, r, cols, dt, &t);
    if (st) return st;
    if ((st = reap_ckpt_read_raw(c, t->name, dst))) return st;
    reap_st_release(c->shards[t->shard], t->t);
    if (!is_fp8(*dt)) return REAP_OK;
    char sname[160];
    snprintf(sname, sizeof sname, "%s_scale_inv", t->name);
    int64_t shape[2] = {(r + cfg->block_r - 1) / cfg->block_r, (cols + cfg->block_c - 1) / cfg->block_c};
    if (!reap_ckpt_find(c, sname))
        return reap_fail(REAP_EINVAL, "%s: FP8 tensor %s has no %s", c->dir, t->name, sname);
    return reap_ckpt_read_f32(c, sname, 2, shape, sdst);
}

int reap_layer_bytes(const reap_ckpt *c, const reap_m2_config *cfg, int layer, size_t *bytes) {
    size_t H = (size_t)cfg->hidden, q = (size_t)cfg->n_heads * cfg->head_dim, kv = (size_t)cfg->n_kv_heads * cfg->head_dim;
    size_t E = (size_t)cfg->n_experts, I = (size_t)cfg->inter;
    size_t f = 2 * H + 2 * q * H + 2 * kv * H + (cfg->qk_norm ? q + kv : 0) + E * H + E;
    char name[128];
    reap_m2_expert_name(name, layer, 0, "w1.weight");
    const reap_ckpt_tensor *t = reap_ckpt_find(c, name);
    if (!t) return reap_fail(REAP_EINVAL, "%s: tensor %s is missing", c->dir, name);
    size_t esz = reap_dtype_size(t->t->dtype);
    size_t experts = E * 3 * I * H * esz;
    if (is_fp8(t->t->dtype) && cfg->block_r > 0 && cfg->block_c > 0)
        experts += E * 4 *
                   (2 * (size_t)((I + cfg->block_r - 1) / cfg->block_r) * ((H + cfg->block_c - 1) / cfg->block_c) +
                    (size_t)((H + cfg->block_r - 1) / cfg->block_r) * ((I + cfg->block_c - 1) / cfg->block_c));
    *bytes = f * 4 + experts;
    return REAP_OK;
}

// ---- parallel reading: a layer's tensors are a list of items in the order a serial reader takes
// them, and nt threads draw items from a shared counter (disks deliver more with several reads in
// flight). The failure of the lowest item wins, so the message depends neither on the thread count
// nor on timing: a thread that draws an item after a failed one stops; items before it still run
// (one of them may fail first), exactly the failure a serial reader would have met first.

enum { READ_THREADS = 8, READ_THREADS_MAX = 256, PART_BYTES = 64 << 20 };

// One non-expert tensor read as f32 into *dst: `what` inside the layer, shape (d0) or (d0, d1).
typedef struct {
    const char *what;
    int nd;
    int64_t d0, d1;
    float **dst;
} f32_item;

typedef struct layer_reader layer_reader;
struct layer_reader {
    const reap_ckpt *c;
    const reap_m2_config *cfg;
    int layer;
    reap_layer_weights *w;
    int (*run)(layer_reader *r, int item);  // reads one item; a failure's message is on its thread
    int n_items;
    const f32_item *f32;                    // run_f32's items
    // run_expert: item 3e + m is matrix m (w1, w3, w2) of expert e; parts of per_part experts
    reap_dtype dt;
    size_t m13, s13, s2;                    // bytes of one w1/w3/w2, floats of one s1/s3 and one s2
    int per_part, n_parts, parts_done;      // parts_done: parts reported (calling thread only)
    atomic_int *part_items;                 // (n_parts) items finished per part; NULL: no parts
    reap_layer_part_fn part;
    void *ctx;
    atomic_int next;                        // next item to draw
    atomic_int fail_at;                     // lowest failed item (n_items: none)
    int fail_st;
    char fail_msg[1024];
};

static int run_f32(layer_reader *r, int i) {
    const f32_item *it = &r->f32[i];
    char n[128];
    int64_t shape[2] = {it->d0, it->d1};
    return reap_ckpt_read_f32(r->c, reap_m2_layer_name(n, r->layer, it->what), it->nd, shape, *it->dst);
}

static int run_expert(layer_reader *r, int i) {
    static const char *const what[3] = {"w1.weight", "w3.weight", "w2.weight"};
    int e = i / 3, m = i % 3;
    const reap_layer_weights *w = r->w;
    int64_t H = r->cfg->hidden, I = r->cfg->inter;
    uint8_t *dst = (m == 0 ? w->w1 : m == 1 ? w->w3 : w->w2) + (size_t)e * r->m13;
    float *s = m == 0 ? w->s1 : m == 1 ? w->s3 : w->s2;
    size_t sn = m == 2 ? r->s2 : r->s13;
    reap_dtype dt = r->dt;
    return load_expert_matrix(r->c, r->cfg, r->layer, e, what[m], m == 2 ? H : I, m == 2 ? I : H, &dt, dst,
                              s ? s + (size_t)e * sn : NULL);
}

// Reports, in order, the parts whose items have all been read (calling thread only).
static void report_parts(layer_reader *r) {
    int E = r->cfg->n_experts;
    while (r->parts_done < r->n_parts) {
        int e0 = r->parts_done * r->per_part, e1 = e0 + r->per_part < E ? e0 + r->per_part : E;
        if (atomic_load(&r->part_items[r->parts_done]) != 3 * (e1 - e0)) break;
        r->parts_done++;
        r->part(r->ctx, r->w, e0, e1);
    }
}

static void reader_work(layer_reader *r, int master) {
    for (;;) {
        int i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n_items || i > atomic_load(&r->fail_at)) break;
        int st = r->run(r, i);
        if (st) {
#pragma omp critical(reap_layer_reader)
            if (i < atomic_load(&r->fail_at)) {
                atomic_store(&r->fail_at, i);
                r->fail_st = st;
                snprintf(r->fail_msg, sizeof r->fail_msg, "%s", reap_err_msg());
            }
        } else if (r->part_items) {
            atomic_fetch_add(&r->part_items[i / 3 / r->per_part], 1);
        }
        if (master && r->part_items) report_parts(r);
    }
    // The calling thread keeps reporting parts while the others finish theirs, so that each part's
    // consumer (a copy to the GPU) starts when it is read rather than when the last one is.
    while (master && r->part_items && r->parts_done < r->n_parts && atomic_load(&r->fail_at) == r->n_items) {
        report_parts(r);
        nanosleep(&(struct timespec){0, 100000}, NULL);
    }
}

// Runs r's items on nt threads; returns the failure of the lowest failed item, raised again here.
static int reader_run(layer_reader *r, int nt) {
    atomic_init(&r->next, 0);
    atomic_init(&r->fail_at, r->n_items);
    if (nt > r->n_items) nt = r->n_items;
    if (nt <= 1) {
        reader_work(r, 1);
    } else {
#pragma omp parallel num_threads(nt)
        reader_work(r, omp_get_thread_num() == 0);
    }
    if (atomic_load(&r->fail_at) < r->n_items) return reap_fail(r->fail_st, "%s", r->fail_msg);
    if (r->part_items) report_parts(r);
    return REAP_OK;
}

static int read_threads(int threads) {
    if (threads <= 0) {
        const char *env = getenv("REAP_READ_THREADS");
        threads = env && atoi(env) > 0 ? atoi(env) : READ_THREADS;
    }
    return threads < READ_THREADS_MAX ? threads : READ_THREADS_MAX;
}

// Experts per part: about PART_BYTES (env REAP_READ_PART_BYTES overrides it, for tests), at least one.
static int experts_per_part(size_t expert_bytes) {
    const char *env = getenv("REAP_READ_PART_BYTES");
    long long pb = env && atoll(env) > 0 ? atoll(env) : PART_BYTES;
    long long n = expert_bytes ? pb / (long long)expert_bytes : 1;
    return n < 1 ? 1 : n > INT32_MAX / 4 ? INT32_MAX / 4 : (int)n;
}

static int load_layer(const reap_ckpt *c, const reap_m2_config *cfg, int layer, reap_layer_weights *w,
                      layer_arena *a, int threads, reap_layer_part_fn part, void *ctx) {
    memset(w, 0, sizeof *w);
    w->layer = layer;
    int st = reap_forward_check_config(cfg, c->dir);
    if (st) return st;
    if (layer < 0 || layer >= cfg->n_layers)
        return reap_fail(REAP_EINVAL, "%s: layer %d out of range (0..%d)", c->dir, layer, cfg->n_layers - 1);
    int64_t H = cfg->hidden, q = (int64_t)cfg->n_heads * cfg->head_dim, kv = (int64_t)cfg->n_kv_heads * cfg->head_dim;
    int64_t E = cfg->n_experts, I = cfg->inter;
    int nt = read_threads(threads);
    size_t b = 0;
    f32_item f[10];
    int nf = 0;
#define F32(field, what, nd, d0, d1) f[nf++] = (f32_item){what, nd, d0, d1, &w->field}
    F32(ln1, "input_layernorm.weight", 1, H, 0);
    F32(ln2, "post_attention_layernorm.weight", 1, H, 0);
    F32(wq, "self_attn.q_proj.weight", 2, q, H);
    F32(wk, "self_attn.k_proj.weight", 2, kv, H);
    F32(wv, "self_attn.v_proj.weight", 2, kv, H);
    F32(wo, "self_attn.o_proj.weight", 2, H, q);
    if (cfg->qk_norm) {
        F32(q_norm, "self_attn.q_norm.weight", 1, q, 0);
        F32(k_norm, "self_attn.k_norm.weight", 1, kv, 0);
    }
    F32(gate, "block_sparse_moe.gate.weight", 2, E, H);
    if (cfg->use_routing_bias) F32(bias, "block_sparse_moe.e_score_correction_bias", 1, E, 0);
#undef F32
    for (int i = 0; i < nf; i++) {
        size_t n = (size_t)f[i].d0 * (size_t)(f[i].nd == 2 ? f[i].d1 : 1);
        *f[i].dst = layer_alloc(a, n * sizeof(float), 1);
        b += n * sizeof(float);
    }
    layer_reader r = {.c = c, .cfg = cfg, .layer = layer, .w = w, .run = run_f32, .n_items = nf, .f32 = f};
    if ((st = reader_run(&r, nt))) goto fail;

    reap_dtype dt = (reap_dtype)-1;
    const reap_ckpt_tensor *t0;
    if ((st = expert_tensor(c, layer, 0, "w1.weight", I, H, &dt, &t0))) goto fail;
    if (dt != REAP_DT_F32 && dt != REAP_DT_BF16 && dt != REAP_DT_F16 && !is_fp8(dt)) {
        st = reap_fail(REAP_EINVAL, "%s: tensor %s has dtype %s: expert weights must be F8_E4M3, F8_E5M2, BF16, F16 or F32",
                       c->dir, t0->name, reap_dtype_name(dt));
        goto fail;
    }
    if (is_fp8(dt) && (cfg->block_r <= 0 || cfg->block_c <= 0)) {
        st = reap_fail(REAP_EINVAL, "%s: FP8 expert weights but config.json has no quantization_config.weight_block_size",
                       c->dir);
        goto fail;
    }
    w->expert_dtype = dt;
    size_t esz = reap_dtype_size(dt), m13 = (size_t)I * H * esz;
    w->w1 = layer_alloc(a, E * m13, 0);
    w->w3 = layer_alloc(a, E * m13, 0);
    w->w2 = layer_alloc(a, E * m13, 0);
    b += 3 * E * m13;
    size_t s13 = 0, s2 = 0;
    if (is_fp8(dt)) {
        s13 = (size_t)((I + cfg->block_r - 1) / cfg->block_r) * ((H + cfg->block_c - 1) / cfg->block_c);
        s2 = (size_t)((H + cfg->block_r - 1) / cfg->block_r) * ((I + cfg->block_c - 1) / cfg->block_c);
        w->s1 = layer_alloc(a, E * s13 * sizeof(float), 1);
        w->s3 = layer_alloc(a, E * s13 * sizeof(float), 1);
        w->s2 = layer_alloc(a, E * s2 * sizeof(float), 1);
        b += E * (2 * s13 + s2) * sizeof(float);
    }
    w->bytes = b;
    if (part) part(ctx, w, 0, 0);

    r = (layer_reader){.c = c, .cfg = cfg, .layer = layer, .w = w, .run = run_expert, .n_items = (int)(3 * E),
                       .dt = dt, .m13 = m13, .s13 = s13, .s2 = s2, .part = part, .ctx = ctx};
    if (part) {
        r.per_part = experts_per_part(3 * m13 + (2 * s13 + s2) * sizeof(float));
        r.n_parts = (int)((E + r.per_part - 1) / r.per_part);
        r.part_items = reap_xmalloc((size_t)r.n_parts * sizeof *r.part_items);
        for (int p = 0; p < r.n_parts; p++) atomic_init(&r.part_items[p], 0);
    }
    st = reader_run(&r, nt);
    free(r.part_items);
    if (st) goto fail;
    return REAP_OK;
fail:
    if (a) reap_layer_forget(w);
    else reap_layer_free(w);
    return st;
}

int reap_layer_load(const reap_ckpt *c, const reap_m2_config *cfg, int layer, reap_layer_weights *w) {
    return reap_layer_load_parts(c, cfg, layer, NULL, 0, 0, NULL, NULL, w);
}

int reap_layer_arena_bytes(const reap_ckpt *c, const reap_m2_config *cfg, int layer, size_t *bytes) {
    int st = reap_layer_bytes(c, cfg, layer, bytes);
    if (!st) *bytes += (size_t)ARENA_BUFFERS * ARENA_ALIGN;
    return st;
}

int reap_layer_load_into(const reap_ckpt *c, const reap_m2_config *cfg, int layer, void *arena, size_t arena_bytes,
                         reap_layer_weights *w) {
    REAP_ASSERT(arena);  // the heap is reap_layer_load's (its weights are freed, these forgotten)
    return reap_layer_load_parts(c, cfg, layer, arena, arena_bytes, 0, NULL, NULL, w);
}

int reap_layer_load_parts(const reap_ckpt *c, const reap_m2_config *cfg, int layer, void *arena, size_t arena_bytes,
                          int threads, reap_layer_part_fn part, void *ctx, reap_layer_weights *w) {
    if (!arena) return load_layer(c, cfg, layer, w, NULL, threads, part, ctx);
    memset(w, 0, sizeof *w);
    w->layer = layer;
    size_t need;
    int st = reap_layer_arena_bytes(c, cfg, layer, &need);
    if (st) return st;
    if (need > arena_bytes)
        return reap_fail(REAP_EINVAL, "%s: layer %d needs %zu bytes of host buffer, %zu given", c->dir, layer, need,
                         arena_bytes);
    layer_arena a = {arena, arena_bytes, 0};
    return load_layer(c, cfg, layer, w, &a, threads, part, ctx);
}

void reap_layer_forget(reap_layer_weights *w) {
    int layer = w->layer;
    memset(w, 0, sizeof *w);
    w->layer = layer;
}

void reap_layer_free(reap_layer_weights *w) {
    if (!w) return;
    free(w->ln1), free(w->ln2), free(w->wq), free(w->wk), free(w->wv), free(w->wo);
    free(w->q_norm), free(w->k_norm), free(w->gate), free(w->bias);
    free(w->w1), free(w->w3), free(w->w2), free(w->s1), free(w->s3), free(w->s2);
    int layer = w->layer;
    memset(w, 0, sizeof *w);
    w->layer = layer;
}

// ---- attention block

static int attn_rows_per_chunk(const reap_m2_config *cfg, int T) {
    size_t q = (size_t)cfg->n_heads * cfg->head_dim, kv = (size_t)cfg->n_kv_heads * cfg->head_dim;
    size_t per_tok = 4 * (2 * (size_t)cfg->hidden + 2 * q + 2 * kv);
    size_t tok = ATTN_BUDGET / per_tok;
    if (tok > ATTN_MAX_TOKENS) tok = ATTN_MAX_TOKENS;
    size_t r = tok / (size_t)T;
    return r < 1 ? 1 : (int)r;
}

static size_t attn_workspace_bytes(const reap_m2_config *cfg, int rows, int T, int n_threads) {
    size_t H = (size_t)cfg->hidden, q = (size_t)cfg->n_heads * cfg->head_dim, kv = (size_t)cfg->n_kv_heads * cfg->head_dim;
    int rc = attn_rows_per_chunk(cfg, T);
    if (rc > rows) rc = rows;
    size_t tok = (size_t)rc * T;
    size_t per_thread = reap_cpu_attention_workspace_floats(T, cfg->head_dim) +
                        reap_cpu_gemm_workspace_floats((int)(H > q ? H : q));
    return 4 * (tok * (2 * H + 2 * q + 2 * kv) + reap_cpu_panels_floats((int)(q + 2 * kv), (int)H) +
                reap_cpu_panels_floats((int)H, (int)q) + (size_t)n_threads * per_thread);
}

size_t reap_forward_workspace_bytes(const reap_m2_config *cfg, int rows, int T, int n_threads) {
    size_t a = attn_workspace_bytes(cfg, rows, T, n_threads);
    size_t m = reap_moe_workspace_bytes(cfg, (int64_t)rows * T, n_threads);
    return a > m ? a : m;
}

// h (rows*T, H) += o_proj(attention(rmsnorm(h, ln1))), rows processed in chunks.
static void attention_block(const reap_m2_config *cfg, const reap_layer_weights *w, float *h, int rows, int T) {
    int H = cfg->hidden, hd = cfg->head_dim, nh = cfg->n_heads, nkv = cfg->n_kv_heads;
    int q = nh * hd, kv = nkv * hd, nqkv = q + 2 * kv;
    int rc = attn_rows_per_chunk(cfg, T);
    if (rc > rows) rc = rows;
    size_t tok = (size_t)rc * T;
    // q, k and v in one GEMM: panels of the stacked (q + 2 kv, H) matrix.
    float *pqkv = reap_cpu_alloc(reap_cpu_panels_floats(nqkv, H));
    reap_cpu_pack_rows(REAP_DT_F32, (const uint8_t *)w->wq, NULL, 0, 0, q, H, 0, nqkv, pqkv);
    reap_cpu_pack_rows(REAP_DT_F32, (const uint8_t *)w->wk, NULL, 0, 0, kv, H, q, nqkv, pqkv);
    reap_cpu_pack_rows(REAP_DT_F32, (const uint8_t *)w->wv, NULL, 0, 0, kv, H, q + kv, nqkv, pqkv);
    reap_cpu_pack_zero_pad(nqkv, H, pqkv);
    float *po = reap_cpu_alloc(reap_cpu_panels_floats(H, q));
    reap_cpu_pack_f32(w->wo, H, q, po);
    float *x = reap_cpu_alloc(tok * H), *qkv = reap_cpu_alloc(tok * nqkv), *att = reap_cpu_alloc(tok * q),
          *o = reap_cpu_alloc(tok * H);

    for (int r0 = 0; r0 < rows; r0 += rc) {
        int nr = rows - r0 < rc ? rows - r0 : rc;
        int n = nr * T;
        float *hc = h + (size_t)r0 * T * H;
        reap_cpu_rmsnorm(hc, n, H, H, w->ln1, cfg->rms_eps, x, H);
        reap_cpu_gemm(x, n, H, H, pqkv, nqkv, qkv);
        if (cfg->qk_norm) {
            // per_layer QK norm: one RMSNorm over the whole q width and one over the whole k width,
            // before the split into heads and before RoPE.
            reap_cpu_rmsnorm(qkv, n, q, nqkv, w->q_norm, cfg->rms_eps, qkv, nqkv);
            reap_cpu_rmsnorm(qkv + q, n, kv, nqkv, w->k_norm, cfg->rms_eps, qkv + q, nqkv);
        }
        for (int r = 0; r < nr && cfg->rotary_dim > 0; r++) {
            float *qr = qkv + (size_t)r * T * nqkv;
            reap_cpu_rope(qr, T, nh, hd, cfg->rotary_dim, cfg->rope_theta, nqkv);
            reap_cpu_rope(qr + q, T, nkv, hd, cfg->rotary_dim, cfg->rope_theta, nqkv);
        }
        reap_cpu_attention_rows(qkv, qkv + q, qkv + q + kv, nr, T, nh, nkv, hd, nqkv, nqkv, att, q);
        reap_cpu_gemm(att, n, q, q, po, H, o);
#pragma omp parallel for schedule(static)
        for (int i = 0; i < n; i++)
            for (int d = 0; d < H; d++) hc[(size_t)i * H + d] += o[(size_t)i * H + d];
    }
    free(pqkv), free(po), free(x), free(qkv), free(att), free(o);
}

int reap_layer_forward_cpu_ex(const reap_m2_config *cfg, const reap_layer_weights *w, float *h, int rows, int T,
                              const uint8_t *mask, reap_router_mode mode, reap_layer_stats *st,
                              reap_layer_trace *trace) {
    int s = reap_forward_check_config(cfg, "config.json");
    if (s) return s;
    if (rows <= 0 || T <= 0) return reap_fail(REAP_EINVAL, "layer %d: no tokens (%d rows of %d)", w->layer, rows, T);
    if ((unsigned)mode >= REAP_ROUTER_COUNT) return reap_fail(REAP_EINVAL, "layer %d: bad router mode %d", w->layer, mode);
    if (!w->wq || !w->gate || !w->w1) return reap_fail(REAP_EINVAL, "layer %d: weights not loaded", w->layer);
    attention_block(cfg, w, h, rows, T);
    return reap_moe_cpu(cfg, w, h, (int64_t)rows * T, mask, mode, st, trace);
}

int reap_layer_forward_cpu(const reap_m2_config *cfg, const reap_layer_weights *w, float *h, int rows, int T,
                           const uint8_t *mask, reap_router_mode mode, reap_layer_stats *st) {
    return reap_layer_forward_cpu_ex(cfg, w, h, rows, T, mask, mode, st, NULL);
}

// ---- embedding and logits

static int find_matrix(const reap_ckpt *c, const char *name, int64_t rows, int64_t cols, const reap_ckpt_tensor **out) {
    const reap_ckpt_tensor *t = reap_ckpt_find(c, name);
    if (!t) return reap_fail(REAP_EINVAL, "%s: tensor %s is missing", c->dir, name);
    if (t->t->ndim != 2 || t->t->shape[0] != rows || t->t->shape[1] != cols)
        return reap_fail(REAP_EINVAL, "%s: tensor %s has shape [%lld, %lld], expected [%lld, %lld]", c->dir, name,
                         (long long)t->t->shape[0], (long long)(t->t->ndim > 1 ? t->t->shape[1] : 0),
                         (long long)rows, (long long)cols);
    reap_dtype dt = t->t->dtype;
    if (!reap_dtype_table[dt].is_float || is_fp8(dt))
        return reap_fail(REAP_EINVAL, "%s: tensor %s has dtype %s (expected BF16, F16 or F32)", c->dir, name,
                         reap_dtype_name(dt));
    *out = t;
    return REAP_OK;
}

int reap_embed_cpu(const reap_ckpt *c, const reap_m2_config *cfg, const int32_t *ids, int64_t n, float *h) {
    const reap_ckpt_tensor *t;
    int st = find_matrix(c, "model.embed_tokens.weight", cfg->vocab, cfg->hidden, &t);
    if (st) return st;
    size_t esz = reap_dtype_size(t->t->dtype), rb = (size_t)cfg->hidden * esz;
    uint8_t *row = reap_xmalloc(rb);
    for (int64_t i = 0; i < n && !st; i++) {
        if (ids[i] < 0 || ids[i] >= cfg->vocab) {
            st = reap_fail(REAP_EINVAL, "token %lld has id %d outside the vocabulary (0..%d)", (long long)i, ids[i],
                           cfg->vocab - 1);
            break;
        }
        st = reap_st_read(c->shards[t->shard], t->t, (uint64_t)ids[i] * rb, rb, row);
        if (!st) reap_dtype_to_f32(t->t->dtype, row, (size_t)cfg->hidden, h + i * cfg->hidden);
    }
    free(row);
    return st;
}

int reap_logits_cpu(const reap_ckpt *c, const reap_m2_config *cfg, const float *h, int64_t n, float *logits) {
    int H = cfg->hidden, V = cfg->vocab;
    const reap_ckpt_tensor *t;
    const char *head = cfg->tie_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    int st = find_matrix(c, head, V, H, &t);
    if (st) return st;
    float *nw = reap_xmalloc((size_t)H * sizeof *nw);
    int64_t shape[1] = {H};
    if ((st = reap_ckpt_read_f32(c, "model.norm.weight", 1, shape, nw))) {
        free(nw);
        return st;
    }
    float *x = reap_cpu_alloc((size_t)n * H);
    reap_cpu_rmsnorm(h, (int)n, H, H, nw, cfg->rms_eps, x, H);
    enum { VB = 4096 };  // vocabulary rows per block
    size_t esz = reap_dtype_size(t->t->dtype);
    uint8_t *raw = reap_xmalloc((size_t)VB * H * esz);
    float *p = reap_cpu_alloc(reap_cpu_panels_floats(VB, H)), *out = reap_cpu_alloc((size_t)n * VB);
    for (int v0 = 0; v0 < V && !st; v0 += VB) {
        int nv = V - v0 < VB ? V - v0 : VB;
        if ((st = reap_st_read(c->shards[t->shard], t->t, (uint64_t)v0 * H * esz, (uint64_t)nv * H * esz, raw))) break;
        reap_cpu_pack_rows(t->t->dtype, raw, NULL, 0, 0, nv, H, 0, nv, p);
        reap_cpu_pack_zero_pad(nv, H, p);
        reap_cpu_gemm(x, (int)n, H, H, p, nv, out);
        for (int64_t i = 0; i < n; i++) memcpy(logits + i * V + v0, out + i * nv, (size_t)nv * sizeof(float));
    }
    free(nw), free(x), free(raw), free(p), free(out);
    return st;
}

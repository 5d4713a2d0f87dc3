// forward.c: the MiniMax-M2 forward pass on CPU, one layer at a time (spec minimax-m2.md section 2):
// the embedding, the attention block (RMSNorm, q/k/v, per_layer QK norm, partial NeoX RoPE, causal
// GQA attention over packed rows, o_proj, residual), the MoE block (moe.c) and the final norm +
// lm_head. The layer's weights come from layer_load.c.
#include "forward.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int is_fp8(reap_dtype dt) { return dt == REAP_DT_F8_E4M3 || dt == REAP_DT_F8_E5M2; }

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

int reap_embed_check(const reap_m2_config *cfg, const int32_t *ids, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= cfg->vocab)
            return reap_fail(REAP_EINVAL, "token %lld has id %d outside the vocabulary (0..%d)", (long long)i, ids[i],
                             cfg->vocab - 1);
    return REAP_OK;
}

// Does group g of block [v0, v0 + n) hold a needed row?
static int group_needed(const uint8_t *need, int v0, int n, int g) {
    if (!need) return 1;
    const int a = g * REAP_EMBED_GROUP, b = a + REAP_EMBED_GROUP < n ? a + REAP_EMBED_GROUP : n;
    for (int r = a; r < b; r++)
        if (need[v0 + r]) return 1;
    return 0;
}

int reap_embed_table_rows(const reap_ckpt *c, const reap_m2_config *cfg, int v0, int n, const uint8_t *need,
                          void *scratch, float *out) {
    const reap_ckpt_tensor *t;
    int st = find_matrix(c, "model.embed_tokens.weight", cfg->vocab, cfg->hidden, &t);
    if (st) return st;
    const size_t rb = (size_t)cfg->hidden * reap_dtype_size(t->t->dtype);
    const int groups = (n + REAP_EMBED_GROUP - 1) / REAP_EMBED_GROUP;
    // runs of needed groups: one read each, converted on every thread
    for (int g = 0; g < groups && !st;) {
        if (!group_needed(need, v0, n, g)) {
            g++;
            continue;
        }
        int e = g + 1;
        while (e < groups && group_needed(need, v0, n, e)) e++;
        const int r0 = g * REAP_EMBED_GROUP, r1 = e * REAP_EMBED_GROUP < n ? e * REAP_EMBED_GROUP : n;
        uint8_t *raw = (uint8_t *)scratch + (size_t)r0 * rb;
        if (!(st = reap_st_read(c->shards[t->shard], t->t, (uint64_t)(v0 + r0) * rb, (uint64_t)(r1 - r0) * rb, raw)))
            reap_dtype_rows_to_f32(t->t->dtype, raw, r1 - r0, cfg->hidden, out + (size_t)r0 * cfg->hidden);
        g = e;
    }
    return st;
}

int reap_embed_cpu(const reap_ckpt *c, const reap_m2_config *cfg, const int32_t *ids, int64_t n, float *h) {
    const reap_ckpt_tensor *t;
    int st = find_matrix(c, "model.embed_tokens.weight", cfg->vocab, cfg->hidden, &t);
    if (st) return st;
    if ((st = reap_embed_check(cfg, ids, n))) return st;
    // One pread per token, on every thread (a million tokens: ~1 s on one thread from the page
    // cache). Error messages are per thread: the first worker's is carried back to this one.
    const size_t esz = reap_dtype_size(t->t->dtype), rb = (size_t)cfg->hidden * esz;
    char err[512] = "";
#pragma omp parallel
    {
        uint8_t *row = reap_xmalloc(rb);
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            int failed;
#pragma omp atomic read
            failed = st;
            if (failed) continue;
            int e = reap_st_read(c->shards[t->shard], t->t, (uint64_t)ids[i] * rb, rb, row);
            if (!e) reap_dtype_to_f32(t->t->dtype, row, (size_t)cfg->hidden, h + i * cfg->hidden);
            else {
#pragma omp critical(reap_embed_err)
                if (!st) {
                    snprintf(err, sizeof err, "%s", reap_err_msg());
#pragma omp atomic write
                    st = e;
                }
            }
        }
        free(row);
    }
    return st ? reap_fail(st, "%s", err) : REAP_OK;
}

int reap_head_tensor(const reap_ckpt *c, const reap_m2_config *cfg, const reap_ckpt_tensor **out) {
    const char *head = cfg->tie_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    return find_matrix(c, head, cfg->vocab, cfg->hidden, out);
}

int reap_final_norm_weight(const reap_ckpt *c, const reap_m2_config *cfg, float *w) {
    int64_t shape[1] = {cfg->hidden};
    return reap_ckpt_read_f32(c, "model.norm.weight", 1, shape, w);
}

int reap_logits_cpu(const reap_ckpt *c, const reap_m2_config *cfg, const float *h, int64_t n, float *logits) {
    int H = cfg->hidden, V = cfg->vocab;
    const reap_ckpt_tensor *t;
    int st = reap_head_tensor(c, cfg, &t);
    if (st) return st;
    float *nw = reap_xmalloc((size_t)H * sizeof *nw);
    if ((st = reap_final_norm_weight(c, cfg, nw))) {
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

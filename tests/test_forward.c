// test_forward.c: the CPU forward pass against naive double-precision references written
// independently here (GEMM, attention, RoPE, QK norm, a whole decoder layer with its MoE block),
// thread-count independence, masking and the softmax router modes. Weights live in memory.
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cpu_ops.h"
#include "cpu_simd.h"
#include "dtype.h"
#include "forward.h"
#include "test.h"

static uint64_t rng = 88172645463325252ull;
static float frand(void) {  // uniform in [-1, 1)
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1);
}
static float *rand_vec(size_t n, float scale) {
    float *v = reap_xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = frand() * scale;
    return v;
}
static double max_rel_err(const float *got, const double *want, size_t n) {
    double mx = 0, ref = 0;
    for (size_t i = 0; i < n; i++) ref = fmax(ref, fabs(want[i]));
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(got[i] - want[i]) / fmax(ref, 1e-30));
    return mx;
}

// Each element is one fma chain over k in order (cpu_ops.h), whatever the tiling and the path.
static void test_gemm_bit_identical_to_sequential_fma_chain(void) {
    int m = 37, n = 45, k = 70;
    float *a = rand_vec((size_t)m * k, 1), *w = rand_vec((size_t)n * k, 1);
    float *p = reap_cpu_alloc(reap_cpu_panels_floats(n, k)), *c = reap_cpu_alloc((size_t)m * n);
    reap_cpu_pack_f32(w, n, k, p);
    reap_cpu_gemm(a, m, k, k, p, n, c);
    int bad = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float s = 0;
            for (int q = 0; q < k; q++) s = fmaf(a[i * k + q], w[j * k + q], s);
            bad += s != c[i * n + j];
        }
    free(a), free(w), free(p), free(c);
    CHECK_EQ_INT(bad, 0);
}

static void test_pack_rows_fp8_matches_block_dequantisation(void) {
    int n = 21, k = 19, b = 8;  // partial edge blocks in both directions
    float *x = rand_vec((size_t)n * k, 3);
    uint8_t *q = reap_xmalloc((size_t)n * k);
    float *scale = reap_xmalloc(sizeof(float) * 3 * 3), *deq = reap_xmalloc(sizeof(float) * n * k);
    reap_quant_e4m3_block(x, n, k, b, b, q, scale);
    reap_dequant_fp8_block(REAP_DT_F8_E4M3, q, n, k, scale, b, b, deq);
    float *p = reap_cpu_alloc(reap_cpu_panels_floats(n, k)), *p2 = reap_cpu_alloc(reap_cpu_panels_floats(n, k));
    reap_cpu_pack_rows(REAP_DT_F8_E4M3, q, scale, b, b, n, k, 0, n, p);
    reap_cpu_pack_zero_pad(n, k, p);
    reap_cpu_pack_f32(deq, n, k, p2);
    int same = memcmp(p, p2, reap_cpu_panels_floats(n, k) * sizeof(float)) == 0;
    free(x), free(q), free(scale), free(deq), free(p), free(p2);
    CHECK(same);
}

// ---- naive references (double)

static void ref_rmsnorm(const double *x, int dim, const float *w, double eps, double *y) {
    double ss = 0;
    for (int d = 0; d < dim; d++) ss += x[d] * x[d];
    double r = 1 / sqrt(ss / dim + eps);
    for (int d = 0; d < dim; d++) y[d] = w[d] * x[d] * r;
}

static void ref_rope(double *v, int pos, int rot, double theta) {
    int half = rot / 2;
    for (int j = 0; j < half; j++) {
        double ang = pos * pow(theta, -2.0 * j / rot), a = v[j], b = v[j + half];
        v[j] = a * cos(ang) - b * sin(ang);
        v[j + half] = b * cos(ang) + a * sin(ang);
    }
}

// q (T, nh*hd), k, v (T, nkv*hd) -> out (T, nh*hd)
static void ref_attention(const double *q, const double *k, const double *v, int T, int nh, int nkv, int hd,
                          double *out) {
    double *s = reap_xmalloc(sizeof(double) * T);
    for (int h = 0; h < nh; h++) {
        int g = h / (nh / nkv);
        for (int i = 0; i < T; i++) {
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j <= i; j++) {
                double d = 0;
                for (int e = 0; e < hd; e++) d += q[i * nh * hd + h * hd + e] * k[j * nkv * hd + g * hd + e];
                s[j] = d / sqrt(hd);
                mx = fmax(mx, s[j]);
            }
            for (int j = 0; j <= i; j++) sum += s[j] = exp(s[j] - mx);
            for (int e = 0; e < hd; e++) {
                double o = 0;
                for (int j = 0; j <= i; j++) o += s[j] / sum * v[j * nkv * hd + g * hd + e];
                out[i * nh * hd + h * hd + e] = o;
            }
        }
    }
    free(s);
}

static void test_attention_matches_naive_causal_gqa(void) {
    int T = 37, nh = 6, nkv = 2, hd = 24;
    size_t nq = (size_t)T * nh * hd, nk = (size_t)T * nkv * hd;
    float *q = rand_vec(nq, 1), *k = rand_vec(nk, 1), *v = rand_vec(nk, 1), *o = reap_xmalloc(nq * 4);
    double *qd = reap_xmalloc(nq * 8), *kd = reap_xmalloc(nk * 8), *vd = reap_xmalloc(nk * 8), *od = reap_xmalloc(nq * 8);
    for (size_t i = 0; i < nq; i++) qd[i] = q[i];
    for (size_t i = 0; i < nk; i++) kd[i] = k[i], vd[i] = v[i];
    reap_cpu_attention(q, k, v, T, nh, nkv, hd, nh * hd, nkv * hd, o, nh * hd);
    ref_attention(qd, kd, vd, T, nh, nkv, hd, od);
    double err = max_rel_err(o, od, nq);
    // the first query sees only itself: its output is exactly v of key 0
    int first_exact = 1;
    for (int h = 0; h < nh; h++)
        for (int e = 0; e < hd; e++) first_exact &= o[h * hd + e] == v[(h / 3) * hd + e];
    free(q), free(k), free(v), free(o), free(qd), free(kd), free(vd), free(od);
    CHECK_MSG(err < 1e-5, "max relative error %g", err);
    CHECK(first_exact);
}

static void test_rope_rotates_only_the_first_rotary_dims(void) {
    int T = 9, nh = 3, hd = 16, rot = 6;
    float *x = rand_vec((size_t)T * nh * hd, 1), *x0 = reap_xmalloc((size_t)T * nh * hd * 4);
    memcpy(x0, x, (size_t)T * nh * hd * 4);
    reap_cpu_rope(x, T, nh, hd, rot, 10000.0, nh * hd);
    int unchanged = 1;
    double err = 0;
    for (int t = 0; t < T; t++)
        for (int h = 0; h < nh; h++) {
            double v[16];
            for (int e = 0; e < hd; e++) v[e] = x0[(t * nh + h) * hd + e];
            ref_rope(v, t, rot, 10000.0);
            for (int e = 0; e < hd; e++) {
                float got = x[(t * nh + h) * hd + e];
                if (e >= rot || t == 0) unchanged &= got == x0[(t * nh + h) * hd + e];
                err = fmax(err, fabs(got - v[e]));
            }
        }
    free(x), free(x0);
    CHECK(unchanged);
    CHECK_MSG(err < 1e-5, "max abs error %g", err);
}

// ---- a whole layer

typedef struct {
    reap_m2_config cfg;
    reap_layer_weights w;
    float *w1f, *w3f, *w2f;  // dequantised experts (E, I, H), (E, I, H), (E, H, I)
} model;

static void make_model(model *m, int fp8) {
    memset(m, 0, sizeof *m);
    reap_m2_config *c = &m->cfg;
    strcpy(c->model_type, "minimax_m2");
    c->hidden = 48, c->inter = 20, c->n_layers = 1, c->n_heads = 4, c->n_kv_heads = 2, c->head_dim = 16;
    c->rotary_dim = 8, c->rope_theta = 10000, c->rms_eps = 1e-6, c->vocab = 64, c->n_experts = 8, c->top_k = 3;
    c->scoring_sigmoid = 1, c->use_routing_bias = 1, c->qk_norm = 1, c->fp8 = fp8;
    c->block_r = c->block_c = fp8 ? 8 : 0;
    int H = c->hidden, I = c->inter, E = c->n_experts, q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    reap_layer_weights *w = &m->w;
    w->ln1 = rand_vec(H, 0.5), w->ln2 = rand_vec(H, 0.5);
    for (int i = 0; i < H; i++) w->ln1[i] += 1, w->ln2[i] += 1;
    w->wq = rand_vec((size_t)q * H, 0.3), w->wk = rand_vec((size_t)kv * H, 0.3), w->wv = rand_vec((size_t)kv * H, 0.3);
    w->wo = rand_vec((size_t)H * q, 0.2);
    w->q_norm = rand_vec(q, 0.3), w->k_norm = rand_vec(kv, 0.3);
    for (int i = 0; i < q; i++) w->q_norm[i] += 1;
    for (int i = 0; i < kv; i++) w->k_norm[i] += 1;
    w->gate = rand_vec((size_t)E * H, 0.3), w->bias = rand_vec(E, 0.5);
    size_t n13 = (size_t)E * I * H;
    m->w1f = rand_vec(n13, 0.3), m->w3f = rand_vec(n13, 0.3), m->w2f = rand_vec(n13, 0.3);
    if (!fp8) {
        w->expert_dtype = REAP_DT_F32;
        w->w1 = reap_xmalloc(n13 * 4), w->w3 = reap_xmalloc(n13 * 4), w->w2 = reap_xmalloc(n13 * 4);
        memcpy(w->w1, m->w1f, n13 * 4), memcpy(w->w3, m->w3f, n13 * 4), memcpy(w->w2, m->w2f, n13 * 4);
        return;
    }
    w->expert_dtype = REAP_DT_F8_E4M3;
    int b = 8, s13 = ((I + b - 1) / b) * ((H + b - 1) / b), s2 = ((H + b - 1) / b) * ((I + b - 1) / b);
    w->w1 = reap_xmalloc(n13), w->w3 = reap_xmalloc(n13), w->w2 = reap_xmalloc(n13);
    w->s1 = reap_xmalloc((size_t)E * s13 * 4), w->s3 = reap_xmalloc((size_t)E * s13 * 4);
    w->s2 = reap_xmalloc((size_t)E * s2 * 4);
    for (int e = 0; e < E; e++) {
        size_t o = (size_t)e * I * H;
        reap_quant_e4m3_block(m->w1f + o, I, H, b, b, w->w1 + o, w->s1 + e * s13);
        reap_quant_e4m3_block(m->w3f + o, I, H, b, b, w->w3 + o, w->s3 + e * s13);
        reap_quant_e4m3_block(m->w2f + o, H, I, b, b, w->w2 + o, w->s2 + e * s2);
        reap_dequant_fp8_block(REAP_DT_F8_E4M3, w->w1 + o, I, H, w->s1 + e * s13, b, b, m->w1f + o);
        reap_dequant_fp8_block(REAP_DT_F8_E4M3, w->w3 + o, I, H, w->s3 + e * s13, b, b, m->w3f + o);
        reap_dequant_fp8_block(REAP_DT_F8_E4M3, w->w2 + o, H, I, w->s2 + e * s2, b, b, m->w2f + o);
    }
}

static void free_model(model *m) {
    reap_layer_free(&m->w);
    free(m->w1f), free(m->w3f), free(m->w2f);
}

static void matvec(const float *w, const double *x, int n, int k, double *y) {  // y (n) = W (n, k) x
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < k; j++) s += (double)w[(size_t)i * k + j] * x[j];
        y[i] = s;
    }
}

// E_j(x) (H) for expert e.
static void ref_expert(const model *m, int e, const double *x, double *y) {
    int H = m->cfg.hidden, I = m->cfg.inter;
    double *g = reap_xmalloc(8 * I), *u = reap_xmalloc(8 * I);
    matvec(m->w1f + (size_t)e * I * H, x, I, H, g);
    matvec(m->w3f + (size_t)e * I * H, x, I, H, u);
    for (int i = 0; i < I; i++) g[i] = g[i] / (1 + exp(-g[i])) * u[i];
    matvec(m->w2f + (size_t)e * H * I, g, H, I, y);
    free(g), free(u);
}

// The whole layer for rows of T tokens: h (rows*T, H) in place (double). chosen (rows*T, k).
static void ref_layer(const model *m, double *h, int rows, int T, int *chosen) {
    const reap_m2_config *c = &m->cfg;
    const reap_layer_weights *w = &m->w;
    int H = c->hidden, E = c->n_experts, k = c->top_k, hd = c->head_dim, nh = c->n_heads, nkv = c->n_kv_heads;
    int q = nh * hd, kv = nkv * hd;
    double *x = reap_xmalloc(8 * H), *qa = reap_xmalloc(8 * (size_t)T * q), *ka = reap_xmalloc(8 * (size_t)T * kv),
           *va = reap_xmalloc(8 * (size_t)T * kv), *att = reap_xmalloc(8 * (size_t)T * q), *o = reap_xmalloc(8 * H),
           *y = reap_xmalloc(8 * H), *l = reap_xmalloc(8 * E);
    for (int r = 0; r < rows; r++) {
        double *hr = h + (size_t)r * T * H;
        for (int t = 0; t < T; t++) {
            ref_rmsnorm(hr + t * H, H, w->ln1, c->rms_eps, x);
            matvec(w->wq, x, q, H, qa + t * q);
            matvec(w->wk, x, kv, H, ka + t * kv);
            matvec(w->wv, x, kv, H, va + t * kv);
            // per_layer QK norm: over the whole q and k widths, then RoPE per head
            ref_rmsnorm(qa + t * q, q, w->q_norm, c->rms_eps, qa + t * q);
            ref_rmsnorm(ka + t * kv, kv, w->k_norm, c->rms_eps, ka + t * kv);
            for (int hh = 0; hh < nh; hh++) ref_rope(qa + t * q + hh * hd, t, c->rotary_dim, c->rope_theta);
            for (int hh = 0; hh < nkv; hh++) ref_rope(ka + t * kv + hh * hd, t, c->rotary_dim, c->rope_theta);
        }
        ref_attention(qa, ka, va, T, nh, nkv, hd, att);
        for (int t = 0; t < T; t++) {
            matvec(w->wo, att + t * q, H, q, o);
            for (int d = 0; d < H; d++) hr[t * H + d] += o[d];
            ref_rmsnorm(hr + t * H, H, w->ln2, c->rms_eps, x);
            matvec(w->gate, x, E, H, l);
            double sc[64], s[64];
            int *ch = chosen + ((size_t)r * T + t) * k;
            for (int e = 0; e < E; e++) s[e] = 1 / (1 + exp(-l[e])), sc[e] = s[e] + w->bias[e];
            double sum = 0;
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int e = 0; e < E; e++)
                    if (sc[e] > -1e300 && (best < 0 || sc[e] > sc[best])) best = e;
                ch[j] = best, sc[best] = -1e308, sum += s[best];
            }
            for (int j = 0; j < k; j++) {
                ref_expert(m, ch[j], x, y);
                for (int d = 0; d < H; d++) hr[t * H + d] += s[ch[j]] / sum * y[d];
            }
        }
    }
    free(x), free(qa), free(ka), free(va), free(att), free(o), free(y), free(l);
}

static void check_layer_against_reference(int fp8) {
    model m;
    make_model(&m, fp8);
    int rows = 3, T = 13, H = m.cfg.hidden, k = m.cfg.top_k;
    size_t n = (size_t)rows * T;
    float *h = rand_vec(n * H, 1);
    double *hd = reap_xmalloc(n * H * 8);
    for (size_t i = 0; i < n * H; i++) hd[i] = h[i];
    int *ref_chosen = reap_xmalloc(n * k * sizeof(int));
    reap_layer_trace tr = {reap_xmalloc(n * k * sizeof(int)), reap_xmalloc(n * k * 8), reap_xmalloc(n * k * 8),
                           reap_xmalloc(n * k * 4)};
    reap_layer_stats st;
    reap_layer_stats_init(&st, m.cfg.n_experts);
    int rc = reap_layer_forward_cpu_ex(&m.cfg, &m.w, h, rows, T, NULL, REAP_ROUTER_MODEL, &st, &tr);
    ref_layer(&m, hd, rows, T, ref_chosen);
    double err = max_rel_err(h, hd, n * H);
    int same = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = 1;
        for (int a = 0; a < k; a++) {
            int found = 0;
            for (int b = 0; b < k; b++) found |= tr.chosen[i * k + a] == ref_chosen[i * k + b];
            ok &= found;
        }
        same += ok;
    }
    uint64_t total = 0;
    for (int e = 0; e < m.cfg.n_experts; e++) total += st.e[e].count;
    free(h), free(hd), free(ref_chosen), free(tr.chosen), free(tr.weight), free(tr.norm), free(tr.max_act);
    reap_layer_stats_free(&st);
    free_model(&m);
    CHECK_MSG(rc == REAP_OK, "%s", reap_err_msg());
    CHECK_EQ_INT(same, n);
    CHECK_EQ_INT(total, n * k);
    CHECK_MSG(err < 2e-5, "max relative error %g", err);
}

static void test_layer_matches_naive_reference_f32_experts(void) { check_layer_against_reference(0); }
static void test_layer_matches_naive_reference_fp8_experts(void) { check_layer_against_reference(1); }

// Per-layer QK norm spans all heads: scaling one head's q_norm weights changes every position's
// output only through that head, while a per-head norm would not see the other heads at all.
static void test_qk_norm_uses_whole_q_width(void) {
    model m;
    make_model(&m, 0);
    int rows = 1, T = 5, H = m.cfg.hidden;
    float *h0 = rand_vec((size_t)T * H, 1);
    float *a = reap_xmalloc((size_t)T * H * 4), *b = reap_xmalloc((size_t)T * H * 4);
    memcpy(a, h0, (size_t)T * H * 4), memcpy(b, h0, (size_t)T * H * 4);
    reap_layer_forward_cpu(&m.cfg, &m.w, a, rows, T, NULL, REAP_ROUTER_MODEL, NULL);
    // The RMS statistic covers all 64 q dims: doubling the raw q projection of head 0 (wq rows
    // 0..15) changes the normalisation of heads 1..3 too. Compare with the reference layer.
    for (int i = 0; i < 16 * H; i++) m.w.wq[i] *= 2;
    reap_layer_forward_cpu(&m.cfg, &m.w, b, rows, T, NULL, REAP_ROUTER_MODEL, NULL);
    double *hd = reap_xmalloc((size_t)T * H * 8);
    for (int i = 0; i < T * H; i++) hd[i] = h0[i];
    int *ch = reap_xmalloc((size_t)T * m.cfg.top_k * sizeof(int));
    ref_layer(&m, hd, rows, T, ch);
    double err = max_rel_err(b, hd, (size_t)T * H);
    int differs = memcmp(a, b, (size_t)T * H * 4) != 0;
    free(h0), free(a), free(b), free(hd), free(ch);
    free_model(&m);
    CHECK(differs);
    CHECK_MSG(err < 2e-5, "max relative error %g", err);
}

static void run_layer(model *m, const float *h0, float *h, int rows, int T, const uint8_t *mask,
                      reap_router_mode mode, reap_layer_stats *st, int threads) {
    int H = m->cfg.hidden;
    omp_set_num_threads(threads);
    memcpy(h, h0, (size_t)rows * T * H * 4);
    reap_layer_stats_init(st, m->cfg.n_experts);
    REAP_ASSERT(reap_layer_forward_cpu(&m->cfg, &m->w, h, rows, T, mask, mode, st) == REAP_OK);
}

static int stats_equal(const reap_layer_stats *a, const reap_layer_stats *b) {
    if (a->tokens != b->tokens) return 0;
    for (int e = 0; e < a->n_experts; e++)
        if (a->e[e].count != b->e[e].count || a->e[e].gate_sum != b->e[e].gate_sum ||
            a->e[e].norm_sum != b->e[e].norm_sum || a->e[e].reap_sum != b->e[e].reap_sum ||
            a->e[e].max_act != b->e[e].max_act)
            return 0;
    return 1;
}

// The AVX-512, AVX2 and portable paths (those this CPU has) give the same bits for the GEMM
// (edge tiles in both directions), attention (query blocks cut short, T not a multiple of any tile)
// and a whole layer with its statistics.
static void test_simd_paths_give_identical_bits(void) {
    const char *paths[] = {"generic", "avx2", "avx512"};
    const char *was = reap_cpu_simd_get()->name;
    int m = 53, n = 83, k = 77, T = 45, nh = 4, nkv = 2, hd = 20, rows = 2;
    float *a = rand_vec((size_t)m * k, 1), *w = rand_vec((size_t)n * k, 1);
    float *p = reap_cpu_alloc(reap_cpu_panels_floats(n, k));
    reap_cpu_pack_f32(w, n, k, p);
    size_t nq = (size_t)rows * T * nh * hd, nk = (size_t)rows * T * nkv * hd;
    float *q = rand_vec(nq, 2), *kk = rand_vec(nk, 2), *v = rand_vec(nk, 1);
    model mod;
    make_model(&mod, 1);
    int H = mod.cfg.hidden, lr = 2, lT = 37;
    float *h0 = rand_vec((size_t)lr * lT * H, 1);
    float *c[3], *o[3], *h[3];
    reap_layer_stats st[3];
    int ran[3] = {0}, same = 1, tried = 0;
    for (int i = 0; i < 3; i++) {
        c[i] = reap_cpu_alloc((size_t)m * n), o[i] = reap_cpu_alloc(nq), h[i] = reap_cpu_alloc((size_t)lr * lT * H);
        if (reap_cpu_simd_select(paths[i]) != 0) continue;
        ran[i] = 1, tried++;
        reap_cpu_gemm(a, m, k, k, p, n, c[i]);
        reap_cpu_attention_rows(q, kk, v, rows, T, nh, nkv, hd, nh * hd, nkv * hd, o[i], nh * hd);
        run_layer(&mod, h0, h[i], lr, lT, NULL, REAP_ROUTER_SOFTMAX, &st[i], 2);
        if (i > 0 && ran[0]) {
            same &= memcmp(c[0], c[i], (size_t)m * n * 4) == 0;
            same &= memcmp(o[0], o[i], nq * 4) == 0;
            same &= memcmp(h[0], h[i], (size_t)lr * lT * H * 4) == 0;
            same &= stats_equal(&st[0], &st[i]);
        }
    }
    REAP_ASSERT(reap_cpu_simd_select(was) == 0);
    omp_set_num_threads(2);
    for (int i = 0; i < 3; i++) {
        free(c[i]), free(o[i]), free(h[i]);
        if (ran[i]) reap_layer_stats_free(&st[i]);
    }
    free(a), free(w), free(p), free(q), free(kk), free(v), free(h0);
    free_model(&mod);
    CHECK(ran[0]);
    CHECK_MSG(tried >= 1, "%d paths", tried);
    CHECK(same);
}

static void test_results_do_not_depend_on_thread_count(void) {
    model m;
    make_model(&m, 1);
    int rows = 4, T = 29, H = m.cfg.hidden;
    size_t n = (size_t)rows * T * H;
    float *h0 = rand_vec(n, 1), *h1 = reap_xmalloc(n * 4), *h3 = reap_xmalloc(n * 4);
    int same_h = 1, same_st = 1;
    for (int mode = 0; mode < REAP_ROUTER_COUNT; mode++) {
        reap_layer_stats s1, s3;
        run_layer(&m, h0, h1, rows, T, NULL, (reap_router_mode)mode, &s1, 1);
        run_layer(&m, h0, h3, rows, T, NULL, (reap_router_mode)mode, &s3, 3);
        same_h &= memcmp(h1, h3, n * 4) == 0;
        same_st &= stats_equal(&s1, &s3);
        reap_layer_stats_free(&s1), reap_layer_stats_free(&s3);
    }
    omp_set_num_threads(2);
    free(h0), free(h1), free(h3);
    free_model(&m);
    CHECK(same_h);
    CHECK(same_st);
}

// Masked tokens flow through the model (same hidden states) but are left out of the statistics:
// the masked run's statistics equal the trace summed over unmasked tokens only.
static void test_mask_excludes_tokens_from_statistics_only(void) {
    model m;
    make_model(&m, 0);
    int rows = 2, T = 11, H = m.cfg.hidden, k = m.cfg.top_k, E = m.cfg.n_experts;
    size_t n = (size_t)rows * T;
    uint8_t *mask = reap_xmalloc(n);
    for (size_t i = 0; i < n; i++) mask[i] = i % 3 != 1;
    float *h0 = rand_vec(n * H, 1), *ha = reap_xmalloc(n * H * 4), *hb = reap_xmalloc(n * H * 4);
    reap_layer_stats sa, sb;
    run_layer(&m, h0, ha, rows, T, mask, REAP_ROUTER_MODEL, &sa, 2);
    memcpy(hb, h0, n * H * 4);
    reap_layer_stats_init(&sb, E);
    reap_layer_trace tr = {reap_xmalloc(n * k * sizeof(int)), reap_xmalloc(n * k * 8), reap_xmalloc(n * k * 8), NULL};
    reap_layer_forward_cpu_ex(&m.cfg, &m.w, hb, rows, T, NULL, REAP_ROUTER_MODEL, NULL, &tr);
    for (size_t t = 0; t < n; t++)
        if (mask[t]) reap_observer_add_token(&sb, k, tr.chosen + t * k, tr.weight + t * k, tr.norm + t * k, NULL);
    int same_h = memcmp(ha, hb, n * H * 4) == 0;
    int ok = sa.tokens == sb.tokens && sa.tokens < n;
    for (int e = 0; e < E; e++)
        ok &= sa.e[e].count == sb.e[e].count && sa.e[e].reap_sum == sb.e[e].reap_sum &&
              sa.e[e].gate_sum == sb.e[e].gate_sum;
    free(mask), free(h0), free(ha), free(hb), free(tr.chosen), free(tr.weight), free(tr.norm);
    reap_layer_stats_free(&sa), reap_layer_stats_free(&sb);
    free_model(&m);
    CHECK(same_h);
    CHECK(ok);
}

// The softmax modes choose by raw logits and may pick experts the model does not use: their
// statistics must still hold the true ||E_j(x)||, and the hidden states follow the model's routing.
// With a zero bias the model chooses the top-k of sigmoid(l), i.e. of l: its trace gives the
// norms the softmax statistics must show.
static void test_softmax_modes_measure_experts_the_model_skips(void) {
    model m;
    make_model(&m, 0);
    int rows = 1, T = 6, H = m.cfg.hidden, E = m.cfg.n_experts, k = m.cfg.top_k;
    size_t n = (size_t)T;
    float *h0 = rand_vec(n * H, 1), *hm = reap_xmalloc(n * H * 4), *hs = reap_xmalloc(n * H * 4);
    float *bias = m.w.bias;
    float forced[64], zero[64] = {0};
    for (int e = 0; e < E; e++) forced[e] = e < k ? 5.0f : 0.0f;  // the model always picks 0..k-1
    m.w.bias = forced;
    reap_layer_stats sm, ss, sz;
    run_layer(&m, h0, hm, rows, T, NULL, REAP_ROUTER_MODEL, &sm, 2);
    run_layer(&m, h0, hs, rows, T, NULL, REAP_ROUTER_SOFTMAX, &ss, 2);
    int same_h = memcmp(hm, hs, n * H * 4) == 0;
    m.w.bias = zero;
    reap_layer_trace tr = {reap_xmalloc(n * k * sizeof(int)), reap_xmalloc(n * k * 8), reap_xmalloc(n * k * 8), NULL};
    memcpy(hm, h0, n * H * 4);
    reap_layer_forward_cpu_ex(&m.cfg, &m.w, hm, rows, T, NULL, REAP_ROUTER_MODEL, NULL, &tr);
    reap_layer_stats_init(&sz, E);
    for (size_t t = 0; t < n; t++) reap_observer_add_token(&sz, k, tr.chosen + t * k, tr.weight + t * k, tr.norm + t * k, NULL);
    m.w.bias = bias;
    uint64_t beyond = 0;
    int norms_ok = 1;
    for (int e = 0; e < E; e++) {
        if (e >= k) beyond += ss.e[e].count;
        norms_ok &= ss.e[e].count == sz.e[e].count && fabs(ss.e[e].norm_sum - sz.e[e].norm_sum) <= 1e-12 * sz.e[e].norm_sum;
    }
    int model_first_k = sm.e[k].count == 0 && sm.e[0].count == n;
    free(h0), free(hm), free(hs), free(tr.chosen), free(tr.weight), free(tr.norm);
    reap_layer_stats_free(&sm), reap_layer_stats_free(&ss), reap_layer_stats_free(&sz);
    free_model(&m);
    CHECK(same_h);
    CHECK(model_first_k);
    CHECK(beyond > 0);
    CHECK(norms_ok);
}

int main(void) {
    RUN(test_gemm_bit_identical_to_sequential_fma_chain);
    RUN(test_pack_rows_fp8_matches_block_dequantisation);
    RUN(test_attention_matches_naive_causal_gqa);
    RUN(test_rope_rotates_only_the_first_rotary_dims);
    RUN(test_layer_matches_naive_reference_f32_experts);
    RUN(test_layer_matches_naive_reference_fp8_experts);
    RUN(test_qk_norm_uses_whole_q_width);
    RUN(test_simd_paths_give_identical_bits);
    RUN(test_results_do_not_depend_on_thread_count);
    RUN(test_mask_excludes_tokens_from_statistics_only);
    RUN(test_softmax_modes_measure_experts_the_model_skips);
    TEST_EXIT();
}

// moe.c: see moe.h. Per chunk of tokens:
//   1. x = rmsnorm(h, ln2); logits = x gate^T (fp32); per token the model's route (what the forward
//      uses) and, for the softmax router modes, the statistics route;
//   2. the needed (token, expert) pairs -- the model's k per token plus any expert only the
//      statistics route chose -- are grouped by expert in token order;
//   3. expert by expert: dequantise w1|w3 and w2 into packed panels, gather its tokens, SwiGLU,
//      record ||E_j(x)|| and max E_j(x) per pair, keep the model pairs' outputs;
//   4. h += sum over the model's k slots (in slot order) of w * E_j(x); the observer adds the
//      tokens in order. Every per-pair value is computed by one thread in a fixed order, so the
//      results do not depend on the number of threads.
#include "moe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cpu_ops.h"
#include "cpu_simd.h"

enum { MOE_BUDGET = 256 << 20, MOE_MIN_CHUNK = 64, MOE_MAX_CHUNK = 16384, ROWS_PER_BLOCK = 256 };

static size_t bytes_per_token(const reap_m2_config *cfg) {
    size_t H = (size_t)cfg->hidden, I = (size_t)cfg->inter, E = (size_t)cfg->n_experts, k = (size_t)cfg->top_k;
    (void)I;
    return 4 * (k * H + H + E)                // outputs of the model's pairs, x, logits
           + k * 2 * (4 + 8 + 8 + 4 + 4) + k * 4;  // routes, pair lists, norms and maxima
}

int reap_moe_chunk_tokens(const reap_m2_config *cfg) {
    size_t c = MOE_BUDGET / bytes_per_token(cfg);
    if (c < MOE_MIN_CHUNK) c = MOE_MIN_CHUNK;
    if (c > MOE_MAX_CHUNK) c = MOE_MAX_CHUNK;
    return (int)c;
}

size_t reap_moe_workspace_bytes(const reap_m2_config *cfg, int64_t n_tokens, int n_threads) {
    int64_t c = reap_moe_chunk_tokens(cfg);
    if (n_tokens < c) c = n_tokens;
    int H = cfg->hidden, I = cfg->inter;
    size_t per_thread = reap_cpu_panels_floats(2 * I, H) + reap_cpu_panels_floats(H, I) +
                        (size_t)ROWS_PER_BLOCK * (2 * (size_t)H + 3 * (size_t)I) +
                        reap_cpu_gemm_workspace_floats(H > I ? H : I);
    return (size_t)c * bytes_per_token(cfg) +
           4 * (reap_cpu_panels_floats(cfg->n_experts, H) + (size_t)(n_threads > 0 ? n_threads : 1) * per_thread);
}

typedef struct {
    float *x, *logits, *ybuf;
    int *elist;
    int *mchosen, *schosen, *sidx, *pexp, *order, *start;
    double *mg, *sg, *pnorm;
    float *pmax;
} moe_ws;

// Dequantises expert e's weights: w1 rows then w3 rows into p13 (2I, H), w2 into p2 (H, I).
static void pack_expert(const reap_m2_config *cfg, const reap_layer_weights *w, int e, float *p13, float *p2) {
    int H = cfg->hidden, I = cfg->inter;
    reap_dtype dt = (reap_dtype)w->expert_dtype;
    size_t esz = reap_dtype_size(dt);
    int fp8 = w->s1 != NULL;
    int br = cfg->block_r, bc = cfg->block_c;
    size_t s13 = fp8 ? (size_t)((I + br - 1) / br) * ((H + bc - 1) / bc) : 0;
    size_t s2 = fp8 ? (size_t)((H + br - 1) / br) * ((I + bc - 1) / bc) : 0;
    size_t n13 = (size_t)I * H * esz;
    reap_cpu_pack_rows(dt, w->w1 + e * n13, fp8 ? w->s1 + e * s13 : NULL, br, bc, I, H, 0, 2 * I, p13);
    reap_cpu_pack_rows(dt, w->w3 + e * n13, fp8 ? w->s3 + e * s13 : NULL, br, bc, I, H, I, 2 * I, p13);
    reap_cpu_pack_zero_pad(2 * I, H, p13);
    reap_cpu_pack_rows(dt, w->w2 + e * n13, fp8 ? w->s2 + e * s2 : NULL, br, bc, H, I, 0, H, p2);
    reap_cpu_pack_zero_pad(H, I, p2);
}

static void moe_chunk(const reap_m2_config *cfg, const reap_layer_weights *w, const float *gate_p, float *h, int n,
                      const uint8_t *mask, reap_router_mode mode, reap_layer_stats *st, reap_layer_trace *trace,
                      moe_ws *ws) {
    int H = cfg->hidden, I = cfg->inter, E = cfg->n_experts, k = cfg->top_k;
    int k2 = mode == REAP_ROUTER_MODEL ? k : 2 * k;  // pair slots per token
    const reap_cpu_simd *S = reap_cpu_simd_get();
    reap_cpu_rmsnorm(h, n, H, H, w->ln2, cfg->rms_eps, ws->x, H);
    reap_cpu_gemm(ws->x, n, H, H, gate_p, E, ws->logits);

#pragma omp parallel for schedule(static)
    for (int t = 0; t < n; t++) {
        const float *l = ws->logits + (size_t)t * E;
        int *mc = ws->mchosen + (size_t)t * k, *sc = ws->schosen + (size_t)t * k, *sx = ws->sidx + (size_t)t * k;
        int *pe = ws->pexp + (size_t)t * k2;
        double *mg = ws->mg + (size_t)t * k, *sg = ws->sg + (size_t)t * k;
        reap_route(REAP_ROUTER_MODEL, l, w->bias, E, k, mc, mg);
        for (int s = 0; s < k2; s++) pe[s] = s < k ? mc[s] : -1;
        if (mode == REAP_ROUTER_MODEL) {
            memcpy(sc, mc, (size_t)k * sizeof *sc);
            memcpy(sg, mg, (size_t)k * sizeof *sg);
            for (int s = 0; s < k; s++) sx[s] = t * k2 + s;
        } else {
            reap_route(mode, l, w->bias, E, k, sc, sg);
            int extra = k;
            for (int s = 0; s < k; s++) {
                int found = -1;
                for (int m = 0; m < k; m++)
                    if (mc[m] == sc[s]) found = m;
                if (found < 0) {
                    found = extra++;
                    pe[found] = sc[s];
                }
                sx[s] = t * k2 + found;
            }
        }
    }

    // Group pair ids by expert, in pair-id (token) order: a counting sort.
    int *start = ws->start;
    memset(start, 0, (size_t)(E + 1) * sizeof *start);
    int np = n * k2;
    for (int p = 0; p < np; p++)
        if (ws->pexp[p] >= 0) start[ws->pexp[p] + 1]++;
    for (int e = 0; e < E; e++) start[e + 1] += start[e];
    {
        int *fill = reap_xmalloc((size_t)E * sizeof *fill);
        memcpy(fill, start, (size_t)E * sizeof *fill);
        for (int p = 0; p < np; p++)
            if (ws->pexp[p] >= 0) ws->order[fill[ws->pexp[p]]++] = p;
        free(fill);
    }

    // Experts in parallel, each computed by one thread in blocks of at most ROWS_PER_BLOCK tokens:
    // few synchronisation points, bounded per-thread memory, and a fixed order of operations
    // for every (token, expert) pair whatever the schedule.
    int *byload = ws->elist;
    int nbusy = 0;
    for (int e = 0; e < E; e++)
        if (start[e + 1] > start[e]) byload[nbusy++] = e;
    for (int i = 1; i < nbusy; i++) {  // most tokens first, for the dynamic schedule's balance
        int e = byload[i], j = i;
        for (; j > 0 && start[byload[j - 1] + 1] - start[byload[j - 1]] < start[e + 1] - start[e]; j--)
            byload[j] = byload[j - 1];
        byload[j] = e;
    }
#pragma omp parallel
    {
        float *p13 = reap_cpu_alloc(reap_cpu_panels_floats(2 * I, H)), *p2 = reap_cpu_alloc(reap_cpu_panels_floats(H, I));
        float *xe = reap_cpu_alloc((size_t)ROWS_PER_BLOCK * H), *g13 = reap_cpu_alloc((size_t)ROWS_PER_BLOCK * 2 * I),
              *act = reap_cpu_alloc((size_t)ROWS_PER_BLOCK * I), *ye = reap_cpu_alloc((size_t)ROWS_PER_BLOCK * H);
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < nbusy; i++) {
            int e = byload[i];
            pack_expert(cfg, w, e, p13, p2);
            for (int r0 = start[e]; r0 < start[e + 1]; r0 += ROWS_PER_BLOCK) {
                int ne = start[e + 1] - r0 < ROWS_PER_BLOCK ? start[e + 1] - r0 : ROWS_PER_BLOCK;
                const int *pairs = ws->order + r0;
                for (int r = 0; r < ne; r++) memcpy(xe + (size_t)r * H, ws->x + (size_t)(pairs[r] / k2) * H, (size_t)H * 4);
                reap_cpu_gemm(xe, ne, H, H, p13, 2 * I, g13);
                for (int r = 0; r < ne; r++) {
                    const float *g = g13 + (size_t)r * 2 * I;
                    S->silu_mul(g, g + I, act + (size_t)r * I, I);
                }
                reap_cpu_gemm(act, ne, I, I, p2, H, ye);
                for (int r = 0; r < ne; r++) {
                    const float *y = ye + (size_t)r * H;
                    double ss = S->sumsq(y, H);
                    float mx = S->maxv(y, H);
                    int p = pairs[r], t = p / k2, s = p % k2;
                    ws->pnorm[p] = sqrt(ss);
                    ws->pmax[p] = mx;
                    if (s < k) memcpy(ws->ybuf + ((size_t)t * k + s) * H, y, (size_t)H * 4);
                }
            }
        }
        free(p13), free(p2), free(xe), free(g13), free(act), free(ye);
    }

#pragma omp parallel for schedule(static)
    for (int t = 0; t < n; t++) {
        float *ht = h + (size_t)t * H;
        for (int d = 0; d < H; d++) {
            float acc = 0;
            for (int s = 0; s < k; s++) acc += (float)ws->mg[(size_t)t * k + s] * ws->ybuf[((size_t)t * k + s) * H + d];
            ht[d] += acc;
        }
    }

    if (trace) {
        for (int t = 0; t < n; t++)
            for (int s = 0; s < k; s++) {
                size_t o = (size_t)t * k + s;
                trace->chosen[o] = ws->mchosen[o];
                trace->weight[o] = ws->mg[o];
                trace->norm[o] = ws->pnorm[(size_t)t * k2 + s];
                if (trace->max_act) trace->max_act[o] = ws->pmax[(size_t)t * k2 + s];
            }
    }
    if (st) {
        double norm[64];
        float mx[64];
        REAP_ASSERT(k <= 64);
        for (int t = 0; t < n; t++) {
            if (mask && !mask[t]) continue;
            for (int s = 0; s < k; s++) {
                int p = ws->sidx[(size_t)t * k + s];
                norm[s] = ws->pnorm[p];
                mx[s] = ws->pmax[p];
            }
            reap_observer_add_token(st, k, ws->schosen + (size_t)t * k, ws->sg + (size_t)t * k, norm, mx);
        }
    }
}

int reap_moe_cpu(const reap_m2_config *cfg, const reap_layer_weights *w, float *h, int64_t n, const uint8_t *mask,
                 reap_router_mode mode, reap_layer_stats *st, reap_layer_trace *trace) {
    int H = cfg->hidden, E = cfg->n_experts, k = cfg->top_k;
    if (k > 64 || k > E) return reap_fail(REAP_EINVAL, "layer %d: top-k %d unsupported (at most 64 and <= %d experts)", w->layer, k, E);
    if (st && st->n_experts != E)
        return reap_fail(REAP_EINVAL, "layer %d: statistics hold %d experts, the model %d", w->layer, st->n_experts, E);
    int chunk = reap_moe_chunk_tokens(cfg);
    if (n < chunk) chunk = (int)n;
    int k2 = mode == REAP_ROUTER_MODEL ? k : 2 * k;
    size_t c = (size_t)chunk;
    moe_ws ws = {0};
    ws.x = reap_cpu_alloc(c * H);
    ws.logits = reap_cpu_alloc(c * E);
    ws.ybuf = reap_cpu_alloc(c * k * H);
    ws.elist = reap_xmalloc((size_t)E * sizeof(int));
    ws.mchosen = reap_xmalloc(c * k * sizeof(int));
    ws.schosen = reap_xmalloc(c * k * sizeof(int));
    ws.sidx = reap_xmalloc(c * k * sizeof(int));
    ws.pexp = reap_xmalloc(c * k2 * sizeof(int));
    ws.order = reap_xmalloc(c * k2 * sizeof(int));
    ws.start = reap_xmalloc((size_t)(E + 1) * sizeof(int));
    ws.mg = reap_xmalloc(c * k * sizeof(double));
    ws.sg = reap_xmalloc(c * k * sizeof(double));
    ws.pnorm = reap_xmalloc(c * k2 * sizeof(double));
    ws.pmax = reap_xmalloc(c * k2 * sizeof(float));
    float *gate_p = reap_cpu_alloc(reap_cpu_panels_floats(E, H));
    reap_cpu_pack_f32(w->gate, E, H, gate_p);

    for (int64_t t0 = 0; t0 < n; t0 += chunk) {
        int nc = n - t0 < chunk ? (int)(n - t0) : chunk;
        reap_layer_trace tr, *trp = NULL;
        if (trace) {
            tr.chosen = trace->chosen + t0 * k;
            tr.weight = trace->weight + t0 * k;
            tr.norm = trace->norm + t0 * k;
            tr.max_act = trace->max_act ? trace->max_act + t0 * k : NULL;
            trp = &tr;
        }
        moe_chunk(cfg, w, gate_p, h + t0 * H, nc, mask ? mask + t0 : NULL, mode, st, trp, &ws);
    }

    free(gate_p);
    free(ws.x), free(ws.logits), free(ws.ybuf), free(ws.elist);
    free(ws.mchosen), free(ws.schosen), free(ws.sidx), free(ws.pexp), free(ws.order), free(ws.start);
    free(ws.mg), free(ws.sg), free(ws.pnorm), free(ws.pmax);
    return REAP_OK;
}

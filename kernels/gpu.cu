// gpu.cu: the CUDA path of one decoder layer + REAP observer (kernels/gpu.h), on one or several
// GPUs of one node. Per layer and GPU: the layer's weights (staged into one raw buffer while the
// previous layer computed) are turned into bf16 on the GPU (attention f32 -> bf16, experts FP8 ->
// dequantised), then the GPU's rows go through in chunks of whole rows (~64k tokens), each chunk as
// the fixed list of steps in `steps` below: RMSNorm, fused q/k/v GEMM (cuBLAS bf16, fp32
// accumulate), QK norm + partial RoPE, flash-style causal GQA attention, o-proj into the residual,
// RMSNorm, router GEMM (fp32, or 3xTF32 when asked), routing, permutation by expert into the padded
// layout (experts padded to size classes), the routed pairs' inputs copied by token, expert GEMMs
// over routed pairs only (one cached cuBLASLt matmul per expert: kernels/xgemm_each.cu), SiLU x up,
// then statistics in float64 and the weighted combine into the residual in one pass. An event after
// every step times it. Statistics are copied back and added to st. The hidden states either stay on
// the GPU between layers (resident: copied in at a stream's first layer, the chunks run in place on
// slices of them) or come in and go back chunk by chunk through two buffers every layer; which one
// is decided at open by lib/gpu_layout.c's plan, and the chunks are the same either way.
//
// Buffer sizes come from lib/gpu_layout.h (the same numbers decide the fit). Variants measured and
// dropped (bench/RESULTS.md): per-expert cublasGemmEx, batched GEMMs per size class (cuBLAS and
// autotuned cuBLASLt), side streams, grouped GEMMs, a bf16 gate|up output.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_internal.cuh"

extern "C" {
#include "chunks.h"
#include "dtype.h"
}

const char *const reap_gpu_phase_names[REAP_GPU_PHASES] = {"h2d",     "dequant", "attention", "router",
                                                           "experts", "stats",   "d2h",       "wait"};

int reap_gpu_dmalloc(gdev *d, void **p, size_t bytes) {
    if (bytes == 0) bytes = 16;
    cudaError_t e = cudaMalloc(p, bytes);
    if (e != cudaSuccess) {
        char b1[32], b2[32];
        return reap_fail(REAP_EDEVICE, "GPU %d: cannot allocate %s (%s allocated so far): %s", d->ordinal,
                         reap_fmt_bytes((double)bytes, b1, sizeof b1), reap_fmt_bytes((double)d->allocated, b2, sizeof b2),
                         cudaGetErrorString(e));
    }
    d->allocated += bytes;
    return REAP_OK;
}
static int qkv_width(const reap_m2_config *c) { return (c->n_heads + 2 * c->n_kv_heads) * c->head_dim; }
static int slots_per_token(const reap_m2_config *c, reap_router_mode m) {
    return m == REAP_ROUTER_MODEL ? c->top_k : 2 * c->top_k;
}
static int open_dtype(const reap_m2_config *c) { return c->fp8 ? REAP_DT_F8_E4M3 : REAP_DT_BF16; }

extern "C" reap_gpu_params reap_gpu_default_params(void) {
    reap_gpu_params p;
    memset(&p, 0, sizeof p);
    p.router = REAP_GPU_ROUTER_FP32;
    p.hidden = REAP_GPU_HIDDEN_AUTO, p.n_streams = 1, p.host_every_layer = 1;
    return p;
}

// ---- open / close -----------------------------------------------------------------------------

static void free_dev(gdev *d) {
    if (d->s) cudaSetDevice(d->ordinal);
    if (d->s_w) cudaStreamSynchronize(d->s_w);  // a stage broken off by a failed read may still copy from the host
    void *ptrs[] = {d->raw,      d->keep,     d->w13,       d->w2,       d->wqkv,    d->wo,      d->rope,
                    d->hbuf[0],  d->hbuf[1],  d->logits,    d->xb,       d->xe,      d->gy,      d->slot_e,
                    d->slot_pos, d->pair_tok, d->pair_slot, d->cnt,      d->off,     d->cursor,  d->slot_w,
                    d->slot_g,   d->maskbuf[0], d->maskbuf[1], d->st_cnt, d->st_tokens, d->st_gate, d->st_norm,
                    d->st_reap,  d->st_max,   d->gate_cat,  d->gate_lo, d->hres};
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
        if (ptrs[i]) cudaFree(ptrs[i]);
    if (d->h_off) cudaFreeHost(d->h_off);
    if (d->staged_ev) cudaEventDestroy(d->staged_ev);
    reap_stage_free(&d->st);
    if (d->s_w) cudaStreamDestroy(d->s_w);
    cudaEvent_t *evs[] = {d->in_beg, d->in_end, d->out_beg, d->out_end};
    for (int j = 0; j < 4; j++)
        for (int b = 0; b < 2; b++)
            if (evs[j][b]) cudaEventDestroy(evs[j][b]);
    for (int i = 0; i <= N_STEPS; i++)
        if (d->step_ev[i]) cudaEventDestroy(d->step_ev[i]);
    if (d->ev0) cudaEventDestroy(d->ev0);
    if (d->ev1) cudaEventDestroy(d->ev1);
    reap_k_xgemm_each_destroy(d->xe1);
    if (d->blas) cublasDestroy(d->blas);
    if (d->s) cudaStreamDestroy(d->s);
    if (d->s_copy) cudaStreamDestroy(d->s_copy);
    if (d->s_out) cudaStreamDestroy(d->s_out);
}

// Rows per chunk that fit this GPU (whole rows, bounded by the memory cap), or a clear error when
// not even one row fits beside a layer's weights.
static int dev_fit(reap_gpu *g, gdev *d, int *rows_fit) {
    const reap_m2_config *c = &g->cfg;
    CK(cudaSetDevice(d->ordinal));
    CK(cudaFree(0));
    size_t fr, tot;
    CK(cudaMemGetInfo(&fr, &tot));
    d->used_base = tot - fr;
    size_t cap = g->p.mem_cap ? g->p.mem_cap : (fr > ((size_t)1 << 30) ? fr - ((size_t)1 << 30) : fr);
    d->cap = cap;
    int want = reap_gpu_want_rows(g->p.chunk_tokens, g->T);
    *rows_fit = reap_gpu_layout_fit(c, g->rows, g->T, open_dtype(c), g->p.router, cap, want);
    if (*rows_fit > 0) return REAP_OK;
    reap_gpu_layout L;
    reap_gpu_layout_make(c, 1, g->T, open_dtype(c), g->p.router, &L);
    size_t wb = L.raw + L.keep + L.wqkv + L.wo + L.w13 + L.w2 + L.gate_cat + L.gate_lo + L.rope;
    char b1[32], b2[32], b3[32];
    return reap_fail(REAP_EDEVICE,
                     "GPU %d: memory cap %s too small: one layer's weights need %s and one row of %d tokens %s "
                     "(raise --gpu-mem or use fewer tokens per row)",
                     d->ordinal, reap_fmt_bytes((double)cap, b1, sizeof b1), reap_fmt_bytes((double)wb, b2, sizeof b2),
                     g->T, reap_fmt_bytes((double)(L.total + REAP_GPU_OVERHEAD_BYTES - wb), b3, sizeof b3));
}

// Streams, events, every buffer of the layout, the cached expert GEMMs (prepared for every size
// class an expert can take in a chunk) and the RoPE table.
static int open_dev(reap_gpu *g, gdev *d) {
    const reap_m2_config *c = &g->cfg;
    CK(cudaSetDevice(d->ordinal));
    CK(cudaStreamCreateWithFlags(&d->s, cudaStreamNonBlocking));
    CK(cudaStreamCreateWithFlags(&d->s_copy, cudaStreamNonBlocking));
    CK(cudaStreamCreateWithFlags(&d->s_out, cudaStreamNonBlocking));
    CK(cudaStreamCreateWithFlags(&d->s_w, cudaStreamNonBlocking));
    CB(cublasCreate(&d->blas));
    CB(cublasSetStream(d->blas, d->s));
    cudaEvent_t *evs[] = {d->in_beg, d->in_end, d->out_beg, d->out_end};
    for (int j = 0; j < 4; j++)
        for (int b = 0; b < 2; b++) CK(cudaEventCreate(&evs[j][b]));
    for (int i = 0; i <= N_STEPS; i++) CK(cudaEventCreate(&d->step_ev[i]));
    CK(cudaEventCreate(&d->ev0));
    CK(cudaEventCreate(&d->ev1));
    CK(cudaEventCreateWithFlags(&d->staged_ev, cudaEventDisableTiming));
    reap_stage_init(&d->st, c->n_experts + 2);  // parts: the non-expert tensors + expert ranges
    d->up_layer = -1;

    const int dt0 = open_dtype(c);  // another expert dtype reallocates raw at its first layer
    reap_gpu_layout_make(c, g->chunk_rows, g->T, dt0, g->p.router, &d->lay);
    const reap_gpu_layout *L = &d->lay;
    reap_gpu_raw_layout_make(c, dt0, &d->rl);
    d->raw_dt = dt0;
    if (g->resident) {  // every stream's rows and their mask; the chunks run on slices of them
        const size_t share = (size_t)d->rows * g->T * c->hidden;
        DMALLOC(d->hres, reap_gpu_resident_bytes(c, d->rows, g->T, g->p.n_streams));
        d->mres = (uint8_t *)(d->hres + (size_t)g->p.n_streams * share);
    } else {
        DMALLOC(d->hbuf[0], L->hbuf);
        DMALLOC(d->hbuf[1], L->hbuf);
        DMALLOC(d->maskbuf[0], L->mask);
        DMALLOC(d->maskbuf[1], L->mask);
    }
    DMALLOC(d->xb, L->xb);
    DMALLOC(d->logits, L->logits);
    DMALLOC(d->slot_e, L->slot_e);
    DMALLOC(d->slot_w, L->slot_w);
    DMALLOC(d->slot_g, L->slot_g);
    DMALLOC(d->slot_pos, L->slot_pos);
    DMALLOC(d->pair_tok, L->pair_tok);
    DMALLOC(d->pair_slot, L->pair_slot);
    // The attention scratch (big, q|k|v) lives inside gy and act inside xe: each chunk's steps run
    // in order on one stream; big/q/k/v are dead once the router has read big, xe once the gate|up
    // GEMM has read it.
    DMALLOC(d->gy, L->gy);
    d->big = d->gy;
    d->qb = (bf16 *)((char *)d->gy + L->qkv_off);
    d->kb = d->qb + L->tokens * c->n_heads * c->head_dim, d->vb = d->kb + L->tokens * c->n_kv_heads * c->head_dim;
    DMALLOC(d->xe, L->xe);
    d->act = d->xe;
    DMALLOC(d->cnt, L->cnt);
    DMALLOC(d->off, L->off);
    DMALLOC(d->cursor, L->cursor);
    DMALLOC(d->st_cnt, L->stat);
    DMALLOC(d->st_gate, L->stat);
    DMALLOC(d->st_norm, L->stat);
    DMALLOC(d->st_reap, L->stat);
    DMALLOC(d->st_max, L->stat);
    DMALLOC(d->st_tokens, 8);
    CK(cudaMallocHost((void **)&d->h_off, L->host_off));
    DMALLOC(d->raw, L->raw);
    DMALLOC(d->keep, L->keep);
    DMALLOC(d->wqkv, L->wqkv);
    DMALLOC(d->wo, L->wo);
    DMALLOC(d->w13, L->w13);
    DMALLOC(d->w2, L->w2);
    if (L->gate_cat) DMALLOC(d->gate_cat, L->gate_cat);
    if (L->gate_lo) DMALLOC(d->gate_lo, L->gate_lo);
    const int E = c->n_experts, H = c->hidden, I = c->inter;
    const int N = (int)L->tokens;
    CB(reap_k_xgemm_each_create(&d->xe1));
    int ns[256], nn = reap_k_pad_classes(reap_k_pad_rows(N), ns, 256);  // every size class of an expert in a chunk
    if (nn > 256) nn = 256;
    if (g->fp8) {  // the codes, then their scales, 256-byte aligned (they fit: a code is half a bf16;
        // in xe the gather's row-major scales follow: 8 bytes per 128 codes beside 256 of bf16)
        const size_t a = 256, hm = H > I ? H : I, rows = L->pair_rows * hm, sb = L->pair_rows * (hm / 128) * 4;
        d->w13q = (uint8_t *)d->w13, d->w13s = (float *)(d->w13q + ((size_t)E * 2 * I * H + a - 1) / a * a);
        d->w2q = (uint8_t *)d->w2, d->w2s = (float *)(d->w2q + ((size_t)E * H * I + a - 1) / a * a);
        d->xq = (uint8_t *)d->xe, d->xqs = (float *)(d->xq + (rows + a - 1) / a * a);
        d->xqr = (float *)((uint8_t *)d->xqs + (sb + a - 1) / a * a);
        cublasStatus_t b1 = reap_k_xgemm_each_prepare_fp8(d->xe1, 2 * I, H, CUDA_R_16BF, ns, nn);
        cublasStatus_t b2 =
            b1 == CUBLAS_STATUS_SUCCESS ? reap_k_xgemm_each_prepare_fp8(d->xe1, H, I, CUDA_R_16BF, ns, nn) : b1;
        if (b2 == CUBLAS_STATUS_NOT_SUPPORTED)
            return reap_fail(REAP_EDEVICE,
                             "GPU %d: --gpu-experts fp8: cuBLASLt %d has no block-scaled FP8 matmul for these expert "
                             "shapes on this GPU (it needs a Hopper GPU, sm_90, and CUDA 12.9 or later); use bf16",
                             d->ordinal, (int)cublasLtGetVersion());
        CB(b2);
    } else {
        CB(reap_k_xgemm_each_prepare(d->xe1, 2 * I, H, CUDA_R_32F, ns, nn));
        CB(reap_k_xgemm_each_prepare(d->xe1, H, I, CUDA_R_32F, ns, nn));
    }
    // RoPE table in double precision on the host
    int half = c->rotary_dim / 2;
    if (half > 0) {
        float2 *tab = (float2 *)reap_xmalloc(L->rope);
        for (int p = 0; p < g->T; p++)
            for (int j = 0; j < half; j++) {
                double inv = pow(c->rope_theta, -2.0 * j / c->rotary_dim), a = p * inv;
                tab[(size_t)p * half + j] = make_float2((float)cos(a), (float)sin(a));
            }
        int st = reap_gpu_dmalloc(d, (void **)&d->rope, L->rope);
        cudaError_t e = st ? cudaSuccess : cudaMemcpy(d->rope, tab, L->rope, cudaMemcpyHostToDevice);
        free(tab);
        TRY(st);
        CK(e);
    }
    return REAP_OK;
}

// Row-major C (n, m) = A (n, k) * W (m, k)^T, bf16 operands, fp32 accumulate and output.
static int gemm_bf16(gdev *d, int m, int n, int k, const bf16 *W, const bf16 *A, float *C, float beta) {
    const float one = 1.f;
    CB(cublasGemmEx(d->blas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, W, CUDA_R_16BF, k, A, CUDA_R_16BF, k, &beta, C,
                    CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return REAP_OK;
}

// The router's logits (N, E) from x (N, H) f32 (or its [hi | lo] split for 3xTF32).
static int router_gemm(reap_gpu *g, gdev *d, const float *x, int N) {
    const int E = g->cfg.n_experts, H = g->cfg.hidden;
    if (g->p.router == REAP_GPU_ROUTER_TF32X3) {
        CB(reap_k_router_3xtf32(d->blas, d->gate_cat, d->gate_lo, x, N, E, H, d->logits));
        return REAP_OK;
    }
    const float one = 1.f, zero = 0.f;
    CB(cublasSgemm(d->blas, CUBLAS_OP_T, CUBLAS_OP_N, E, N, H, &one, d->gate, H, x, H, &zero, d->logits, E));
    return REAP_OK;
}

// Runs every cuBLAS GEMM shape of a full chunk once on zeroed buffers, so that cuBLAS loads its
// kernels and picks its algorithms here (while `reap score` reads the first layer) instead of
// inside the first layer: measured on an H200, the first layer's router, q|k|v and gate|up GEMMs
// took ~0.23 s longer than later layers' (bench/RESULTS.md). The expert GEMMs run once for every
// size class of the padded layout (one expert each).
static int warm_up(reap_gpu *g, gdev *d) {
    const reap_m2_config *c = &g->cfg;
    const reap_gpu_layout *L = &d->lay;
    const int N = (int)L->tokens, H = c->hidden, I = c->inter, E = c->n_experts, Q = qkv_width(c);
    const int O = c->n_heads * c->head_dim;
    double t0 = reap_now();
    CK(cudaMemsetAsync(d->xb, 0, L->xb, d->s));
    CK(cudaMemsetAsync(d->big, 0, L->big, d->s));
    CK(cudaMemsetAsync(d->wqkv, 0, L->wqkv, d->s));
    CK(cudaMemsetAsync(d->wo, 0, L->wo, d->s));
    // the o-proj output: a chunk buffer, or the resident hidden states (a GPU whose share is less than
    // a chunk runs the GEMM on its share's tokens, the most it will ever run)
    float *hw = d->hbuf[0];
    int Nh = N;
    if (g->resident) {
        size_t have = (size_t)g->p.n_streams * d->rows * g->T;
        hw = d->hres, Nh = have < (size_t)N ? (int)have : N;
    }
    CK(cudaMemsetAsync(hw, 0, (size_t)Nh * H * 4, d->s));
    CK(cudaMemsetAsync(d->keep, 0, L->keep, d->s));
    if (d->gate_cat) CK(cudaMemsetAsync(d->gate_cat, 0, L->gate_cat, d->s));
    if (d->gate_lo) CK(cudaMemsetAsync(d->gate_lo, 0, L->gate_lo, d->s));
    d->gate = d->keep + (d->rl.gate - d->rl.ln1) / 4;
    TRY(gemm_bf16(d, Q, N, H, d->wqkv, d->xb, d->big, 0.f));
    TRY(gemm_bf16(d, H, Nh, O, d->wo, (const bf16 *)d->big, hw, 1.f));
    TRY(router_gemm(g, d, d->big, N));
    // one expert per size class up to the largest an expert can have in a chunk (every token)
    int *off = d->h_off, used = 0, rows = 0, n = 1;
    off[0] = 0;
    for (int cls = reap_k_pad_rows(n); used < E; cls = reap_k_pad_rows(n)) {
        if ((size_t)rows + cls > L->pair_rows || cls > reap_k_pad_rows(N)) break;
        rows += cls, off[++used] = rows, n = cls + 1;
    }
    for (int e = used; e < E; e++) off[e + 1] = rows;
    CK(cudaMemsetAsync(d->xe, 0, (size_t)rows * H * 2, d->s));
    CK(cudaMemsetAsync(d->act, 0, (size_t)rows * I * 2, d->s));
    CK(cudaMemsetAsync(d->w13, 0, L->w13, d->s));
    CK(cudaMemsetAsync(d->w2, 0, L->w2, d->s));
    if (g->fp8) {  // zero codes and zero scales: zero outputs
        CK(cudaMemsetAsync(d->xe, 0, L->xe, d->s));
        CB(reap_k_expert_gemms_fp8(d->xe1, d->s, off, E, 2 * I, H, d->w13q, d->w13s, d->xq, d->xqs, d->gy, CUDA_R_16BF,
                                   NULL));
        CB(reap_k_expert_gemms_fp8(d->xe1, d->s, off, E, H, I, d->w2q, d->w2s, d->xq, d->xqs, d->gy, CUDA_R_16BF, NULL));
    } else {
        CB(reap_k_expert_gemms_each(d->xe1, d->blas, d->s, off, E, 2 * I, H, d->w13, d->xe, d->gy, CUDA_R_32F, NULL));
        CB(reap_k_expert_gemms_each(d->xe1, d->blas, d->s, off, E, H, I, d->w2, d->act, d->gy, CUDA_R_32F, NULL));
    }
    CK(cudaStreamSynchronize(d->s));  // h_off is rewritten by the first chunk
    reap_verbose("GPU %d: cuBLAS warmed up in %.2f s", d->ordinal, reap_now() - t0);
    return REAP_OK;
}

extern "C" int reap_gpu_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

// ---- contexts started early (gpu.h) -----------------------------------------------------------------

static struct {
    pthread_t th;
    int started, n, dev[64];
    double secs;
} g_prestart;

static void *prestart_main(void *arg) {
    (void)arg;
    const double t0 = reap_now();
    int n = g_prestart.n;
    if (n == 0) {  // every visible GPU
        n = reap_gpu_count();
        if (n > 64) n = 64;
        for (int i = 0; i < n; i++) g_prestart.dev[i] = i;
    }
    for (int i = 0; i < n; i++)  // errors are left for reap_gpu_open to report
        if (cudaSetDevice(g_prestart.dev[i]) != cudaSuccess || cudaFree(0) != cudaSuccess) cudaGetLastError();
    g_prestart.secs = reap_now() - t0;
    return NULL;
}

extern "C" void reap_gpu_prestart_begin(const int *devices, int n) {
    if (g_prestart.started) return;
    g_prestart.n = devices && n > 0 ? (n < 64 ? n : 64) : 0;
    for (int i = 0; i < g_prestart.n; i++) g_prestart.dev[i] = devices[i];
    g_prestart.started = pthread_create(&g_prestart.th, NULL, prestart_main, NULL) == 0;
}

extern "C" double reap_gpu_prestart_end(void) {
    if (!g_prestart.started) return 0;
    pthread_join(g_prestart.th, NULL);
    g_prestart.started = 0;
    return g_prestart.secs;
}

// Where the hidden states live (lib/gpu_layout.h, reap_gpu_hidden_plan_make: on the GPUs when every
// one holds its rows of every stream beside the chunk layout already chosen), once the GPUs' rows and
// caps are known. --gpu-hidden gpu makes a misfit an error naming the sizes.
static int choose_hidden(reap_gpu *g) {
    const reap_m2_config *c = &g->cfg;
    int *rows = (int *)reap_xmalloc(sizeof(int) * (size_t)g->n);
    size_t *caps = (size_t *)reap_xmalloc(sizeof(size_t) * (size_t)g->n);
    for (int i = 0; i < g->n; i++) rows[i] = g->d[i].rows, caps[i] = g->d[i].cap;
    reap_gpu_hidden_plan_make(c, g->chunk_rows, g->T, open_dtype(c), g->p.router, g->p.n_streams, g->p.hidden, g->n,
                              rows, caps, &g->plan);
    free(rows), free(caps);
    g->resident = g->plan.on_gpu;
    if (g->resident || g->p.hidden != REAP_GPU_HIDDEN_GPU) return REAP_OK;
    if (g->plan.unaligned)
        return reap_fail(REAP_EINVAL, "--gpu-hidden gpu: a row of %d tokens x %d hidden x 4 bytes is not a whole number "
                         "of 256 bytes, so chunks on the GPU would not be aligned as through host memory (use another "
                         "--seq-len or --gpu-hidden auto)", g->T, c->hidden);
    char b1[32], b2[32], b3[32];
    return reap_fail(REAP_EDEVICE,
                     "GPU %d: the hidden states on the GPU (--gpu-hidden gpu) need %s with them (%s of hidden states "
                     "beside %d-row chunks) but the cap is %s (raise --gpu-mem, use fewer rows or --gpu-hidden auto)",
                     g->d[g->plan.device].ordinal, reap_fmt_bytes((double)g->plan.need, b1, sizeof b1),
                     reap_fmt_bytes((double)g->plan.bytes, b2, sizeof b2), g->chunk_rows,
                     reap_fmt_bytes((double)g->plan.cap, b3, sizeof b3));
}

extern "C" int reap_gpu_open(const reap_m2_config *cfg, const reap_gpu_params *p, reap_gpu **out) {
    *out = NULL;
    int nvis = reap_gpu_count();
    if (nvis == 0) return reap_fail(REAP_EDEVICE, "no CUDA device visible (use --device cpu)");
    if (p->n_devices < 1) return reap_fail(REAP_EINVAL, "no GPU selected");
    for (int i = 0; i < p->n_devices; i++)
        if (p->devices[i] < 0 || p->devices[i] >= nvis)
            return reap_fail(REAP_EINVAL, "GPU %d does not exist (%d visible)", p->devices[i], nvis);
    if (!cfg->scoring_sigmoid)
        return reap_fail(REAP_EINVAL, "the CUDA path supports sigmoid routing only (scoring_func of this model is softmax)");
    if (cfg->top_k > 32 || cfg->n_experts > 1024 || cfg->head_dim > 256 || cfg->n_heads % cfg->n_kv_heads)
        return reap_fail(REAP_EINVAL, "the CUDA path supports top_k <= 32, <= 1024 experts, head_dim <= 256 "
                                      "(got %d, %d, %d)", cfg->top_k, cfg->n_experts, cfg->head_dim);
    if (p->rows < 1 || p->T < 1) return reap_fail(REAP_EINVAL, "rows %d and T %d must be positive", p->rows, p->T);
    if ((unsigned)p->router >= REAP_GPU_ROUTER_COUNT) return reap_fail(REAP_EINVAL, "bad router precision %d", (int)p->router);
    if ((unsigned)p->hidden >= REAP_GPU_HIDDEN_COUNT) return reap_fail(REAP_EINVAL, "bad hidden-state place %d", (int)p->hidden);
    if ((unsigned)p->experts >= REAP_GPU_EXPERTS_COUNT) return reap_fail(REAP_EINVAL, "bad expert GEMM precision %d", (int)p->experts);
    if (p->n_streams < 1 || p->n_streams > REAP_GPU_MAX_STREAMS)
        return reap_fail(REAP_EINVAL, "%d streams of hidden states: expected 1 to %d", p->n_streams, REAP_GPU_MAX_STREAMS);
    reap_gpu *g = (reap_gpu *)reap_xcalloc(1, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    g->cfg = *cfg;
    g->p = *p;
    g->p.devices = NULL;  // not kept
    g->rows = p->rows, g->T = p->T;
    if (p->experts == REAP_GPU_EXPERTS_FP8) {
        g->fp8_why = reap_gpu_experts_fp8_why(cfg, open_dtype(cfg));
        g->fp8 = !g->fp8_why;
    }
    // Chunks of whole rows are laid out over ALL rows with one chunk size (the smallest any GPU can
    // take), and each GPU takes a run of whole chunks: every chunk holds the same rows whatever the
    // number of GPUs, so the GEMM shapes, the padded expert layout and hence every rounding are the
    // same, and n GPUs give the statistics of one up to the order of the float64 sums.
    g->n = p->n_devices;
    g->d = (gdev *)reap_xcalloc((size_t)g->n, sizeof(gdev));
    g->chunk_rows = p->rows;
    double t0 = reap_now();
    for (int i = 0; i < g->n; i++) {
        g->d[i].ordinal = p->devices[i];
        int fit = 0, st = dev_fit(g, &g->d[i], &fit);
        if (st != REAP_OK) {
            reap_gpu_close(g);
            return st;
        }
        if (fit < g->chunk_rows) g->chunk_rows = fit;
    }
    g->n = reap_chunk_gpus(p->rows, g->chunk_rows, g->n);  // fewer chunks than GPUs: the others stay idle
    for (int i = 0; i < g->n; i++) reap_chunk_gpu_rows(p->rows, g->chunk_rows, g->n, i, &g->d[i].row0, &g->d[i].rows);
    int st = choose_hidden(g);
    if (st != REAP_OK) {
        reap_gpu_close(g);
        return st;
    }
    reap_verbose("GPUs: contexts ready and sized in %.2f s", reap_now() - t0);
    for (int i = 0; i < g->n; i++) {
        gdev *d = &g->d[i];
        double t1 = reap_now();
        st = open_dev(g, d);
        double t2 = reap_now();
        if (st == REAP_OK) st = warm_up(g, d);
        if (st != REAP_OK) {
            reap_gpu_close(g);
            return st;
        }
        reap_verbose("GPU %d: rows %d..%d, %d rows per chunk, hidden states %s, %.2f GiB allocated in %.2f s",
                     d->ordinal, d->row0, d->row0 + d->rows - 1, g->chunk_rows, g->resident ? "here" : "in host memory",
                     d->allocated / 1073741824.0, t2 - t1);
    }
    *out = g;
    return REAP_OK;
}

extern "C" void reap_gpu_close(reap_gpu *g) {
    if (!g) return;
    for (int i = 0; i < g->n; i++) free_dev(&g->d[i]);
    free(g->d);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static void note_peak(gdev *d) {
    size_t fr, tot;
    if (cudaMemGetInfo(&fr, &tot) == cudaSuccess && tot - fr > d->used_base && tot - fr - d->used_base > d->peak)
        d->peak = tot - fr - d->used_base;
}

// ---- one chunk: the steps -----------------------------------------------------------------------

typedef struct {
    reap_gpu *g;
    gdev *d;
    int rows, N, S;           // rows and tokens of the chunk, slots per token
    size_t t0;                // first token of the chunk in the packed batch
    reap_router_mode mode;
    const reap_layer_weights *w;
    int has_mask;
    int P;                    // rows of the expert layout (pairs + padding), known after host_sync
} chunk;

static int step_rmsnorm1(chunk *k) {
    reap_k_rmsnorm(k->d->h, k->d->ln1, k->N, k->g->cfg.hidden, (float)k->g->cfg.rms_eps, k->d->xb, NULL, k->d->s);
    return REAP_OK;
}
static int step_qkv(chunk *k) {
    const reap_m2_config *c = &k->g->cfg;
    return gemm_bf16(k->d, qkv_width(c), k->N, c->hidden, k->d->wqkv, k->d->xb, k->d->big, 0.f);
}
static int step_qknorm_rope(chunk *k) {
    const reap_m2_config *c = &k->g->cfg;
    gdev *d = k->d;
    reap_k_qknorm_rope(d->big, k->w->q_norm ? d->qn : NULL, k->w->k_norm ? d->kn : NULL, d->rope, k->N, k->g->T,
                       c->n_heads, c->n_kv_heads, c->head_dim, c->rotary_dim, (float)c->rms_eps, d->qb, d->kb, d->vb,
                       d->s);
    return REAP_OK;
}
static int step_attn_core(chunk *k) {
    const reap_m2_config *c = &k->g->cfg;
    reap_k_attention(k->d->qb, k->d->kb, k->d->vb, k->rows, k->g->T, c->n_heads, c->n_kv_heads, c->head_dim,
                     (bf16 *)k->d->big, 0, k->d->s);
    return REAP_OK;
}
static int step_oproj(chunk *k) {  // into the residual
    const reap_m2_config *c = &k->g->cfg;
    return gemm_bf16(k->d, c->hidden, k->N, c->n_heads * c->head_dim, k->d->wo, (const bf16 *)k->d->big, k->d->h, 1.f);
}
static int step_rmsnorm2(chunk *k) {  // bf16 for the experts, f32 (or [hi | lo] for 3xTF32) for the router
    const reap_m2_config *c = &k->g->cfg;
    gdev *d = k->d;
    if (k->g->p.router == REAP_GPU_ROUTER_TF32X3)
        reap_k_rmsnorm_split(d->h, d->ln2, k->N, c->hidden, (float)c->rms_eps, d->xb, d->big, d->s);
    else
        reap_k_rmsnorm(d->h, d->ln2, k->N, c->hidden, (float)c->rms_eps, d->xb, d->big, d->s);
    return REAP_OK;
}
static int step_router_gemm(chunk *k) { return router_gemm(k->g, k->d, k->d->big, k->N); }
static int step_route(chunk *k) {
    const reap_m2_config *c = &k->g->cfg;
    gdev *d = k->d;
    reap_k_route(d->logits, k->w->bias ? d->bias : NULL, k->has_mask ? d->mask : NULL, k->N, c->n_experts, c->top_k,
                 (int)k->mode, d->slot_e, d->slot_w, d->slot_g, d->s);
    return REAP_OK;
}
// Padded layout (h_off[E + 1] = 1) unless the padding does not fit the pair buffers; offsets and
// counts go to the host, which sizes the expert GEMMs.
static int step_permute(chunk *k) {
    const reap_m2_config *c = &k->g->cfg;
    gdev *d = k->d;
    const int E = c->n_experts;
    reap_k_permute_padded(d->slot_e, k->N, k->S, E, (int)d->lay.pair_rows, d->cnt, d->off, d->cursor, d->pair_tok,
                          d->pair_slot, d->slot_pos, d->s);
    CK(cudaMemcpyAsync(d->h_off, d->off, (size_t)(E + 2) * 4, cudaMemcpyDeviceToHost, d->s));
    CK(cudaMemcpyAsync(d->h_off + E + 2, d->cnt, (size_t)E * 4, cudaMemcpyDeviceToHost, d->s));
    if (k->g->trace)  // the model's choices are the first top_k slots of every token
        CK(cudaMemcpy2DAsync(k->g->trace + k->t0 * c->top_k, (size_t)c->top_k * 4, d->slot_e, (size_t)k->S * 4,
                             (size_t)c->top_k * 4, (size_t)k->N, cudaMemcpyDeviceToHost, d->s));
    return REAP_OK;
}
// With FP8 expert GEMMs the gather and the SiLU quantise their outputs on the way (kern.cuh), and
// both GEMMs write bf16 (the SiLU and the statistics read half the bytes; the rounding is small
// beside e4m3's).
static int step_gather(chunk *k) {  // one read per token
    const reap_m2_config *c = &k->g->cfg;
    gdev *d = k->d;
    if (k->g->fp8)
        reap_k_scatter_rows_fp8(d->xb, d->slot_pos, d->off, k->N, k->S, d->pair_tok, k->P, c->n_experts, c->hidden,
                                d->xq, d->xqs, d->xqr, d->s);
    else
        reap_k_scatter_rows(d->xb, d->slot_pos, k->N, k->S, d->pair_tok, k->P, c->hidden, d->xe, d->s);
    return REAP_OK;
}
static int step_gemm_gate_up(chunk *k) {
    const reap_m2_config *c = &k->g->cfg;
    gdev *d = k->d;
    if (k->g->fp8)
        CB(reap_k_expert_gemms_fp8(d->xe1, d->s, d->h_off, c->n_experts, 2 * c->inter, c->hidden, d->w13q, d->w13s,
                                   d->xq, d->xqs, d->gy, CUDA_R_16BF, NULL));
    else
        CB(reap_k_expert_gemms_each(d->xe1, d->blas, d->s, d->h_off, c->n_experts, 2 * c->inter, c->hidden, d->w13,
                                    d->xe, d->gy, CUDA_R_32F, NULL));
    return REAP_OK;
}
static int step_silu(chunk *k) {
    const reap_m2_config *c = &k->g->cfg;
    gdev *d = k->d;
    if (k->g->fp8)
        reap_k_silu_mul_fp8((const bf16 *)d->gy, k->P, c->inter, d->off, c->n_experts, d->xq, d->xqs, d->s);
    else
        reap_k_silu_mul(d->gy, k->P, c->inter, d->act, d->s);
    return REAP_OK;
}
static int step_gemm_down(chunk *k) {
    const reap_m2_config *c = &k->g->cfg;
    gdev *d = k->d;
    if (k->g->fp8)
        CB(reap_k_expert_gemms_fp8(d->xe1, d->s, d->h_off, c->n_experts, c->hidden, c->inter, d->w2q, d->w2s, d->xq,
                                   d->xqs, d->gy, CUDA_R_16BF, NULL));
    else
        CB(reap_k_expert_gemms_each(d->xe1, d->blas, d->s, d->h_off, c->n_experts, c->hidden, c->inter, d->w2, d->act,
                                    d->gy, CUDA_R_32F, NULL));
    return REAP_OK;
}
static int step_count_tokens(chunk *k) {
    reap_k_count_tokens(k->has_mask ? k->d->mask : NULL, k->N, k->d->st_tokens, k->d->s);
    return REAP_OK;
}
// statistics of every pair and the weighted combine in one pass over the expert outputs
static int step_stats_combine(chunk *k) {
    gdev *d = k->d;
    reap_k_stats_combine(d->gy, k->g->fp8, d->slot_pos, d->slot_e, d->slot_g, d->slot_w, k->N, k->S, k->g->cfg.hidden,
                         d->h, d->st_cnt, d->st_gate, d->st_norm, d->st_reap, d->st_max, d->s);
    return REAP_OK;
}

// The steps of a chunk in order, each with the phase it counts in. host_sync waits for the
// permutation (the event after it) and reads the layout's size from the host copy.
static int step_host_sync(chunk *k);
static const struct {
    const char *name;
    int (*run)(chunk *);
    int phase;
} steps[] = {
    {"rmsnorm1", step_rmsnorm1, PH_ATTN},        {"qkv_gemm", step_qkv, PH_ATTN},
    {"qknorm_rope", step_qknorm_rope, PH_ATTN},  {"attn_core", step_attn_core, PH_ATTN},
    {"o_proj", step_oproj, PH_ATTN},             {"rmsnorm2", step_rmsnorm2, PH_ROUTER},
    {"router_gemm", step_router_gemm, PH_ROUTER}, {"route", step_route, PH_ROUTER},
    {"permute", step_permute, PH_ROUTER},        {"host_sync", step_host_sync, PH_ROUTER},
    {"gather", step_gather, PH_EXPERTS},         {"gemm_gate_up", step_gemm_gate_up, PH_EXPERTS},
    {"silu_mul", step_silu, PH_EXPERTS},         {"gemm_down", step_gemm_down, PH_EXPERTS},
    {"count_tokens", step_count_tokens, PH_STATS}, {"stats_combine", step_stats_combine, PH_STATS},
};
static_assert(sizeof steps / sizeof steps[0] == N_STEPS, "N_STEPS counts the steps");
enum { STEP_HOST_SYNC = 9 };


static int step_host_sync(chunk *k) {
    gdev *d = k->d;
    const int E = k->g->cfg.n_experts;
    CK(cudaEventSynchronize(d->step_ev[STEP_HOST_SYNC]));  // recorded after permute
    k->P = d->h_off[E];
    if (k->g->fp8 && !d->h_off[E + 1])  // the layout's pair rows hold the padding (lib/gpu_layout.c)
        return reap_fail(REAP_EDEVICE, "GPU %d: FP8 expert GEMMs need the padded expert layout, which did not fit",
                         d->ordinal);
    int pairs = 0;
    for (int e = 0; e < E; e++) pairs += d->h_off[E + 2 + e];
    d->pairs += pairs;
    return REAP_OK;
}

// Adds the time of copy (a, b) to phase ph once it is done.
static int copy_time(gdev *d, cudaEvent_t a, cudaEvent_t b, int *pending, int ph) {
    if (!*pending) return REAP_OK;
    float ms;
    CK(cudaEventSynchronize(b));
    CK(cudaEventElapsedTime(&ms, a, b));
    d->t[ph] += ms / 1e3;
    *pending = 0;
    return REAP_OK;
}

// One chunk of whole rows whose hidden states are at d->h (and mask at d->mask): in buffer b, put
// there by chunk_in, or a slice of the resident hidden states. The steps, then, when h_host is not
// NULL, the hidden states back to the host on the output stream (overlapping the next chunk).
static int run_chunk(reap_gpu *g, gdev *d, int b, size_t t0, float *h_host, int has_mask, int rows,
                     reap_router_mode mode, const reap_layer_weights *w) {
    chunk k = {g, d, rows, rows * g->T, slots_per_token(&g->cfg, mode), t0, mode, w, has_mask, 0};
    TRY(copy_time(d, d->out_beg[b], d->out_end[b], &d->out_pending[b], PH_D2H));  // chunk i-2's, long done
    if (!g->resident) CK(cudaStreamWaitEvent(d->s, d->in_end[b], 0));
    CK(cudaEventRecord(d->step_ev[0], d->s));
    for (int i = 0; i < N_STEPS; i++) {
        TRY(steps[i].run(&k));
        CK(cudaGetLastError());
        CK(cudaEventRecord(d->step_ev[i + 1], d->s));
    }
    // hidden states back on the output stream; the next chunk's compute goes on meanwhile
    if (h_host) {
        CK(cudaStreamWaitEvent(d->s_out, d->step_ev[N_STEPS], 0));
        CK(cudaEventRecord(d->out_beg[b], d->s_out));
        CK(cudaMemcpyAsync(h_host, d->h, (size_t)k.N * g->cfg.hidden * 4, cudaMemcpyDeviceToHost, d->s_out));
        CK(cudaEventRecord(d->out_end[b], d->s_out));
        d->out_pending[b] = 1;
    }
    CK(cudaEventSynchronize(d->step_ev[N_STEPS]));
    note_peak(d);
    for (int i = 0; i < N_STEPS; i++) {
        float ms;
        CK(cudaEventElapsedTime(&ms, d->step_ev[i], d->step_ev[i + 1]));
        d->step_s[i] += ms / 1e3;
        d->t[steps[i].phase] += ms / 1e3;
    }
    return REAP_OK;
}

// Hidden states (and mask) of a chunk into buffer b on the copy stream, once the buffer's previous
// chunk has gone back to the host.
static int chunk_in(reap_gpu *g, gdev *d, int b, const float *h_host, const uint8_t *mask_host, int rows) {
    const size_t N = (size_t)rows * g->T, H = g->cfg.hidden;
    if (d->out_pending[b]) CK(cudaStreamWaitEvent(d->s_copy, d->out_end[b], 0));
    TRY(copy_time(d, d->in_beg[b], d->in_end[b], &d->in_pending[b], PH_H2D));
    CK(cudaEventRecord(d->in_beg[b], d->s_copy));
    CK(cudaMemcpyAsync(d->hbuf[b], h_host, N * H * 4, cudaMemcpyHostToDevice, d->s_copy));
    if (mask_host) CK(cudaMemcpyAsync(d->maskbuf[b], mask_host, N, cudaMemcpyHostToDevice, d->s_copy));
    CK(cudaEventRecord(d->in_end[b], d->s_copy));
    d->in_pending[b] = 1;
    return REAP_OK;
}

// The layer's statistics from the GPU into out.
static int stats_back(gdev *d, int E, reap_layer_stats *out) {
    unsigned long long *cnt = (unsigned long long *)reap_xmalloc((size_t)E * 8), tokens = 0;
    double *buf = (double *)reap_xmalloc((size_t)E * 8 * 4);
    double *src[4] = {d->st_gate, d->st_norm, d->st_reap, d->st_max};
    cudaError_t e = cudaMemcpy(cnt, d->st_cnt, (size_t)E * 8, cudaMemcpyDeviceToHost);
    if (e == cudaSuccess) e = cudaMemcpy(&tokens, d->st_tokens, 8, cudaMemcpyDeviceToHost);
    for (int i = 0; i < 4 && e == cudaSuccess; i++) e = cudaMemcpy(buf + i * E, src[i], (size_t)E * 8, cudaMemcpyDeviceToHost);
    if (e == cudaSuccess) {
        out->tokens = tokens;
        for (int j = 0; j < E; j++) {
            out->e[j].count = cnt[j];
            out->e[j].gate_sum = buf[j];
            out->e[j].norm_sum = buf[E + j];
            out->e[j].reap_sum = buf[2 * E + j];
            out->e[j].max_act = buf[3 * E + j];
        }
    }
    free(cnt);
    free(buf);
    CK(e);
    return REAP_OK;
}

// Resident hidden states: stream `slot`'s rows of h into the GPU at its first layer, and the mask
// whenever the caller passes another one; on the compute stream, before the chunks (timed as h2d).
static int resident_in(reap_gpu *g, gdev *d, int slot, const float *h, const uint8_t *mask) {
    const size_t tok = (size_t)d->rows * g->T, share = tok * g->cfg.hidden;
    const int h_in = !d->hres_loaded[slot], m_in = mask && mask != d->mres_host;
    if (!h_in && !m_in) return REAP_OK;
    TRY(copy_time(d, d->in_beg[0], d->in_end[0], &d->in_pending[0], PH_H2D));
    CK(cudaEventRecord(d->in_beg[0], d->s));
    if (h_in)
        CK(cudaMemcpyAsync(d->hres + (size_t)slot * share, h + (size_t)d->row0 * g->T * g->cfg.hidden, share * 4,
                           cudaMemcpyHostToDevice, d->s));
    if (m_in) CK(cudaMemcpyAsync(d->mres, mask + (size_t)d->row0 * g->T, tok, cudaMemcpyHostToDevice, d->s));
    CK(cudaEventRecord(d->in_end[0], d->s));
    d->in_pending[0] = 1;
    d->hres_loaded[slot] = 1;
    if (m_in) d->mres_host = mask;
    return REAP_OK;
}

// slot: the stream's index in the resident hidden states (g->resident), else unused.
static int layer_dev(reap_gpu *g, gdev *d, const reap_layer_weights *w, float *h, const uint8_t *mask, int slot,
                     reap_router_mode mode, reap_layer_stats *out) {
    const reap_m2_config *c = &g->cfg;
    const int E = c->n_experts;
    CK(cudaSetDevice(d->ordinal));
    // The same layer again (another stream of `reap eval`'s what-if variants: the same weights with
    // another routing bias) runs on the weights already there; only the bias is copied.
    if (d->up_layer != w->layer || d->up_w1 != w->w1) {
        d->up_layer = -1;
        TRY(reap_gpu_upload_weights(g, d, w));
        d->up_layer = w->layer, d->up_w1 = w->w1;
    }
    if (w->bias) CK(cudaMemcpyAsync(d->bias, w->bias, (size_t)E * 4, cudaMemcpyHostToDevice, d->s));
    void *zero[] = {d->st_cnt, d->st_gate, d->st_norm, d->st_reap};
    for (int i = 0; i < 4; i++) CK(cudaMemsetAsync(zero[i], 0, (size_t)E * 8, d->s));
    CK(cudaMemsetAsync(d->st_tokens, 0, 8, d->s));
    reap_k_fill_neg_inf(d->st_max, E, d->s);
    // Chunks of whole rows; chunk i+1's hidden states go in while chunk i computes, and chunk i's
    // come back while chunk i+1 computes (buffers alternate). A mode with 2 top_k slots per token
    // runs each chunk as pieces of fewer rows, cut the same way inside every chunk, so that they too
    // do not depend on the number of GPUs (lib/chunks.h). With the hidden states resident the same
    // chunks run in place on slices of them: nothing comes in, and nothing goes back unless the
    // host wants h after every layer.
    const size_t T = (size_t)g->T;
    size_t fit = d->lay.slots / (T * slots_per_token(c, mode));
    const int CR = g->chunk_rows, cr = (int)(fit < 1 ? 1 : fit < (size_t)CR ? fit : CR);
    const int nch = reap_chunk_pieces(d->rows, CR, cr, NULL, NULL, 0);
    int *r0 = (int *)reap_xmalloc(sizeof(int) * 2 * (size_t)nch), *nr = r0 + nch;
    reap_chunk_pieces(d->rows, CR, cr, r0, nr, nch);
    const size_t H = c->hidden;
#define TOK(i) ((size_t)(d->row0 + r0[i]) * T)
    int st = REAP_OK;
    if (g->resident) {
        float *hs = d->hres + (size_t)slot * d->rows * T * H;
        st = resident_in(g, d, slot, h, mask);
        for (int i = 0; i < nch && st == REAP_OK; i++) {
            d->h = hs + (size_t)r0[i] * T * H, d->mask = d->mres + (size_t)r0[i] * T;
            st = run_chunk(g, d, i & 1, TOK(i), g->p.host_every_layer ? h + TOK(i) * H : NULL, mask != NULL, nr[i],
                           mode, w);
        }
    } else {
        if (nch > 0) st = chunk_in(g, d, 0, h + TOK(0) * H, mask ? mask + TOK(0) : NULL, nr[0]);
        for (int i = 0; i < nch && st == REAP_OK; i++) {
            if (i + 1 < nch && (st = chunk_in(g, d, (i + 1) & 1, h + TOK(i + 1) * H, mask ? mask + TOK(i + 1) : NULL,
                                              nr[i + 1])) != REAP_OK)
                break;
            d->h = d->hbuf[i & 1], d->mask = d->maskbuf[i & 1];
            st = run_chunk(g, d, i & 1, TOK(i), h + TOK(i) * H, mask != NULL, nr[i], mode, w);
        }
    }
#undef TOK
    free(r0);
    for (int b = 0; b < 2 && st == REAP_OK; b++) {
        st = copy_time(d, d->in_beg[b], d->in_end[b], &d->in_pending[b], PH_H2D);
        if (st == REAP_OK) st = copy_time(d, d->out_beg[b], d->out_end[b], &d->out_pending[b], PH_D2H);
    }
    if (st != REAP_OK) return st;
    CK(cudaStreamSynchronize(d->s_out));
    return stats_back(d, E, out);
}

// The per-step profile of one layer on one GPU (--profile), then the timer starts over. A log line
// (reap_info): above the progress bar on a terminal, not over it.
static void print_profile(int layer, gdev *d) {
    char line[1024];
    int n = snprintf(line, sizeof line, "PROFILE layer %d gpu %d ms:", layer, d->ordinal);
    double sum = 0;
    for (int i = 0; i < N_STEPS; i++) {
        sum += d->step_s[i];
        if (n < (int)sizeof line) n += snprintf(line + n, sizeof line - n, " %s %.1f", steps[i].name, 1e3 * d->step_s[i]);
        d->step_s[i] = 0;
    }
    reap_info("%s total %.1f", line, 1e3 * sum);
}

// The slot of stream h among the resident ones (registered at its first sight), or -1 when the
// GPUs were opened for fewer streams.
static int stream_slot(reap_gpu *g, const float *h) {
    int slot = 0;
    while (slot < g->n_seen && g->streams[slot] != h) slot++;
    if (slot == g->n_seen) {
        if (g->n_seen == g->p.n_streams) return -1;
        g->streams[g->n_seen++] = (float *)h;
    }
    return slot;
}

extern "C" int reap_gpu_layer_forward(reap_gpu *g, const reap_layer_weights *w, float *h, const uint8_t *mask,
                                      reap_router_mode mode, reap_layer_stats *st) {
    const reap_m2_config *c = &g->cfg;
    if (st->n_experts != c->n_experts)
        return reap_fail(REAP_EINVAL, "statistics have %d experts, the model %d", st->n_experts, c->n_experts);
    if ((int)mode < 0 || mode >= REAP_ROUTER_COUNT) return reap_fail(REAP_EINVAL, "bad router mode %d", (int)mode);
    int slot = 0;  // resident: which stream h is (its first call takes the next free one)
    if (g->resident && (slot = stream_slot(g, h)) < 0)
        return reap_fail(REAP_EINVAL, "more streams of hidden states than the %d the GPUs were opened for",
                         g->p.n_streams);
    reap_layer_stats *part = (reap_layer_stats *)reap_xcalloc((size_t)g->n, sizeof *part);
    int *status = (int *)reap_xcalloc((size_t)g->n, sizeof(int));
    for (int i = 0; i < g->n; i++) reap_layer_stats_init(&part[i], c->n_experts);
#pragma omp parallel for num_threads(g->n) schedule(static, 1) if (g->n > 1)
    for (int i = 0; i < g->n; i++) {
        gdev *d = &g->d[i];
        status[i] = layer_dev(g, d, w, h, mask, slot, mode, &part[i]);
        if (status[i] != REAP_OK) snprintf(d->err, sizeof d->err, "%s", reap_err_msg());
    }
    int st_all = REAP_OK;
    for (int i = 0; i < g->n && st_all == REAP_OK; i++)
        if (status[i] != REAP_OK) st_all = reap_fail(status[i], "%s", g->d[i].err);
    for (int i = 0; i < g->n; i++) {
        if (st_all == REAP_OK) reap_layer_stats_add(st, &part[i]);
        if (st_all == REAP_OK && g->p.profile) print_profile(w->layer, &g->d[i]);
        reap_layer_stats_free(&part[i]);
    }
    free(part);
    free(status);
    if (st_all != REAP_OK) return st_all;
    // FLOP count of this layer (all GPUs)
    double H = c->hidden, I = c->inter, Qw = qkv_width(c), O = (double)c->n_heads * c->head_dim;
    double N = (double)g->rows * g->T, pairs = 0;
    for (int i = 0; i < g->n; i++) pairs += g->d[i].pairs, g->d[i].pairs = 0;
    double fe = 2.0 * pairs * 3.0 * I * H;
    double fa = 2.0 * N * H * (Qw + O) + 4.0 * g->rows * (g->T * (g->T + 1.0) / 2.0) * O;
    g->flop_experts += fe;
    g->flop_total += fe + fa + 2.0 * N * H * c->n_experts;
    return REAP_OK;
}

// Embedding into resident stream h: the table block goes into the gy scratch and the device's ids
// into the xe scratch (no layer runs before the first forward), so it allocates nothing.
extern "C" int reap_gpu_embed_rows(const reap_gpu *g) {
    if (!g || !g->resident) return 0;
    size_t rows = 4096;
    for (int i = 0; i < g->n; i++) {
        const gdev *d = &g->d[i];
        if ((size_t)d->rows * g->T * 4 > d->lay.xe) return 0;
        size_t fit = d->lay.gy / ((size_t)g->cfg.hidden * 4);
        if (fit < rows) rows = fit;
    }
    return (int)rows;
}

extern "C" int reap_gpu_embed(reap_gpu *g, float *h, const int32_t *ids, int v0, int n, const float *table, int first) {
    if (n < 1 || n > reap_gpu_embed_rows(g)) return reap_fail(REAP_EINVAL, "GPU embedding: %d rows a block", n);
    const int slot = stream_slot(g, h);
    if (slot < 0)
        return reap_fail(REAP_EINVAL, "more streams of hidden states than the %d the GPUs were opened for",
                         g->p.n_streams);
    const size_t H = g->cfg.hidden;
    for (int i = 0; i < g->n; i++) {
        gdev *d = &g->d[i];
        const size_t tok = (size_t)d->rows * g->T;
        int32_t *dids = (int32_t *)d->xe;
        CK(cudaSetDevice(d->ordinal));
        if (first) CK(cudaMemcpyAsync(dids, ids + (size_t)d->row0 * g->T, tok * 4, cudaMemcpyHostToDevice, d->s));
        CK(cudaMemcpyAsync(d->gy, table, (size_t)n * H * 4, cudaMemcpyHostToDevice, d->s));
        reap_k_embed_block(d->gy, v0, n, dids, (int64_t)tok, (int)H, d->hres + (size_t)slot * tok * H, d->s);
        CK(cudaGetLastError());
        CK(cudaStreamSynchronize(d->s));  // table is the caller's buffer for the next block
        d->hres_loaded[slot] = 1;
    }
    return REAP_OK;
}

extern "C" int reap_gpu_hidden_copy(reap_gpu *g, const float *src, float *dst, int *done) {
    *done = 0;
    if (!g || !g->resident) return REAP_OK;
    const int a = stream_slot(g, src), b = a < 0 ? -1 : stream_slot(g, dst);
    if (a < 0 || b < 0)
        return reap_fail(REAP_EINVAL, "more streams of hidden states than the %d the GPUs were opened for",
                         g->p.n_streams);
    for (int i = 0; i < g->n; i++) {
        gdev *d = &g->d[i];
        const size_t share = (size_t)d->rows * g->T * g->cfg.hidden;
        CK(cudaSetDevice(d->ordinal));
        TRY(resident_in(g, d, a, src, NULL));  // the source on the GPU first (once)
        CK(cudaMemcpyAsync(d->hres + (size_t)b * share, d->hres + (size_t)a * share, share * 4,
                           cudaMemcpyDeviceToDevice, d->s));
        d->hres_loaded[b] = 1;
    }
    *done = 1;
    return REAP_OK;
}

// Every resident stream's rows of one GPU back to the host h (synchronous: the end of a run).
static int hidden_out(reap_gpu *g, gdev *d) {
    const size_t share = (size_t)d->rows * g->T * g->cfg.hidden;
    CK(cudaSetDevice(d->ordinal));
    CK(cudaStreamSynchronize(d->s));
    double t0 = reap_now();
    for (int i = 0; i < g->n_seen; i++)
        if (d->hres_loaded[i])
            CK(cudaMemcpy(g->streams[i] + (size_t)d->row0 * g->T * g->cfg.hidden, d->hres + (size_t)i * share,
                          share * 4, cudaMemcpyDeviceToHost));
    d->t[PH_D2H] += reap_now() - t0;
    return REAP_OK;
}

extern "C" int reap_gpu_hidden_to_host(reap_gpu *g) {
    if (!g || !g->resident || g->p.host_every_layer) return REAP_OK;
    int *status = (int *)reap_xcalloc((size_t)g->n, sizeof(int));
#pragma omp parallel for num_threads(g->n) schedule(static, 1) if (g->n > 1)
    for (int i = 0; i < g->n; i++) {
        status[i] = hidden_out(g, &g->d[i]);
        if (status[i] != REAP_OK) snprintf(g->d[i].err, sizeof g->d[i].err, "%s", reap_err_msg());
    }
    int st = REAP_OK;
    for (int i = 0; i < g->n && st == REAP_OK; i++)
        if (status[i] != REAP_OK) st = reap_fail(status[i], "%s", g->d[i].err);
    free(status);
    return st;
}

// ---- counters, settings, host memory ----------------------------------------------------------

extern "C" void reap_gpu_get_counters(const reap_gpu *g, reap_gpu_counters *out) {
    memset(out, 0, sizeof *out);
    if (!g) return;
    for (int i = 0; i < g->n; i++) {
        const gdev *d = &g->d[i];
        for (int k = 0; k < REAP_GPU_PHASES; k++)
            if (d->t[k] > out->phase[k]) out->phase[k] = d->t[k];  // GPUs run side by side: the slowest counts
        size_t x = d->peak > d->allocated ? d->peak : d->allocated;
        if (x > out->peak_mem) out->peak_mem = x;
    }
    out->flop_experts = g->flop_experts, out->flop_total = g->flop_total;
    out->chunk_rows = g->chunk_rows, out->n_devices = g->n;
    out->hidden_on_gpu = g->resident;
    out->experts_fp8 = g->fp8, out->experts_fp8_why = g->fp8_why;
    out->hidden = g->plan;
    if (g->n > 0) out->hidden.device = g->d[g->plan.device].ordinal;
}

extern "C" cJSON *reap_gpu_settings_json(const reap_gpu *g) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "router_gemm", reap_gpu_router_name(g->p.router));
    cJSON_AddStringToObject(o, "expert_gemm",
                            g->fp8 ? "fp8 e4m3 x e4m3 (128x128 weight blocks, 1x128 activation blocks), gate|up -> bf16, "
                                     "down -> bf16, cuBLASLt per expert, padded layout"
                                   : "bf16 x bf16 -> f32, cuBLASLt per expert, padded layout");
    cJSON_AddStringToObject(o, "attention", "bf16 q|k|v and o-proj GEMMs, fp32 accumulate");
    cJSON_AddNumberToObject(o, "chunk_rows", g->chunk_rows);
    cJSON_AddStringToObject(o, "hidden_states", g->resident ? "gpu" : "host");
    return o;
}

extern "C" void reap_gpu_set_trace(reap_gpu *g, int *chosen) { g->trace = chosen; }

extern "C" int reap_gpu_pin(void *p, size_t bytes) {
    if (!p || !bytes) return -1;
    if (cudaHostRegister(p, bytes, cudaHostRegisterPortable) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    return 0;
}

extern "C" void reap_gpu_unpin(void *p) {
    if (p && cudaHostUnregister(p) != cudaSuccess) cudaGetLastError();
}

extern "C" void *reap_gpu_host_alloc(size_t bytes) {
    void *p = NULL;
    if (!bytes || cudaHostAlloc(&p, bytes, cudaHostAllocPortable) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return p;
}

extern "C" void reap_gpu_host_free(void *p) {
    if (p && cudaFreeHost(p) != cudaSuccess) cudaGetLastError();
}

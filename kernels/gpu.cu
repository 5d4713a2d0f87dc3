// gpu.cu: the CUDA path of one decoder layer + REAP observer (kernels/gpu.h), on one or several
// GPUs of one node. Per layer and GPU: the layer's weights (staged into one raw buffer while the
// previous layer computed) are turned into bf16 on the GPU (attention f32 -> bf16, experts FP8 ->
// dequantised), then the GPU's rows go through in chunks of whole rows (~64k tokens): RMSNorm,
// fused q/k/v GEMM (cuBLAS bf16, fp32 accumulate), QK norm + partial RoPE, flash-style causal GQA
// attention, o-proj into the residual, RMSNorm, fp32 router GEMM, routing, permutation by expert
// (experts padded to size classes), the routed pairs' inputs copied by token, expert GEMMs over
// routed pairs only (one cached cuBLASLt matmul per expert: kernels/xgemm_each.cu), SiLU x up, then
// statistics in float64 and the weighted combine into the residual in one pass. Statistics are
// copied back and added to st.
#include <cublas_v2.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kern.cuh"

#ifndef _Noreturn
#define _Noreturn __attribute__((noreturn))  // C11 keyword in common.h
#endif
extern "C" {
#include "chunks.h"
#include "common.h"
#include "dtype.h"
#include "gpu.h"
#include "stage.h"
}

typedef __nv_bfloat16 bf16;

enum { PH_H2D, PH_DEQUANT, PH_ATTN, PH_ROUTER, PH_EXPERTS, PH_STATS, PH_D2H, PH_WAIT, PH_N };
// env REAP_GPU_PROFILE=1: an event after every step of a chunk; the time of each step, summed over
// the layer's chunks, is printed per layer and GPU on stderr ("PROFILE ..." lines).
enum { PF_RMSNORM1, PF_QKV, PF_QKNORM_ROPE, PF_ATTN_CORE, PF_OPROJ, PF_RMSNORM2, PF_ROUTER_GEMM, PF_ROUTE,
       PF_PERMUTE, PF_HOST_SYNC, PF_GATHER, PF_GEMM13, PF_SILU, PF_GEMM2, PF_STATS, PF_COMBINE, PF_N };
static const char *const pf_names[PF_N] = {"rmsnorm1", "qkv_gemm", "qknorm_rope", "attn_core", "o_proj", "rmsnorm2",
                                           "router_gemm", "route", "permute", "host_sync", "gather", "gemm_gate_up",
                                           "silu_mul", "gemm_down", "count_tokens", "stats_combine"};
// Tried and dropped (bench/RESULTS.md): per-expert GEMMs spread over 2-4 side streams (slower on an
// H200, pass 2) and cublasGemmGroupedBatchedEx (cuBLAS 13.0 refuses bf16 operands with f32 outputs,
// pass 3).
enum { XG_EACH, XG_LT, XG_BATCHED };

typedef struct {
    int ordinal;
    int row0, rows;           // this GPU's rows of the packed batch
    int chunk_rows;           // rows per chunk (model-mode statistics; fewer when a mode needs more slots)
    size_t slot_cap;          // (token, slot) pairs the slot buffers hold
    size_t pair_cap;          // rows the pair buffers hold (more than slot_cap for the padded layout)
    cudaStream_t s, s_copy, s_out;  // compute; weights + hidden states in; hidden states out
    cublasHandle_t blas;
    size_t used_base;         // device bytes in use before our allocations
    size_t allocated, peak;
    // One layer's weights as copied from the host: expert bytes w1|w3|w2, scales s1|s3|s2, then the
    // f32 tensors wq|wk|wv|wo, ln1, ln2, q_norm, k_norm, gate, bias (see raw_at). Layer L is turned
    // into bf16 (w13, w2, wqkv, wo) and its small f32 tensors copied to keep at the start of its
    // forward; from then on raw is free for layer L+1, which is staged while L computes. Parts of L+1
    // read before that are queued and copied as soon as L's dequantisation is done (lib/stage.h).
    uint8_t *raw;
    size_t raw_bytes;
    int raw_dt;               // expert dtype raw was sized for
    float *keep;              // ln1, ln2, q_norm, k_norm, gate, bias of the computing layer
    cudaStream_t s_w;         // staged weight copies (reap_gpu_stage)
    cudaEvent_t staged_ev;    // recorded on s_w after the last copy of a staged layer
    reap_stage st;            // what raw holds or may take (lib/stage.h), under g->mu
    reap_layer_weights stage_w;  // the layer being staged (host pointers)
    bf16 *w13, *w2;           // (E, 2I, H), (E, H, I)
    bf16 *wqkv, *wo;          // ((nh+2nkv) hd, H), (H, nh hd)
    float *ln1, *ln2, *qn, *kn, *gate, *bias;  // (H), (H), (nh hd), (nkv hd), (E, H), (E): into keep
    float *gate_cat, *gate_lo;  // router in 3xTF32 (g->router_tf32): the gate split (E, 2H) [hi | hi], (E, H) lo
    // batched expert GEMMs: per call, pointer arrays A|B|C (pinned host and device copies, 2 regions
    // of 3E for gate|up and down)
    void **h_ptrs, **d_ptrs;
    reap_k_xgemm_lt *xl;      // autotuned cuBLASLt expert GEMMs (bucketed mode), NULL: cublasGemmBatchedEx
    reap_k_xgemm_each *xe1;   // one cached cuBLASLt matmul per expert (REAP_GPU_XGEMM=each, the default)
    float2 *rope;             // (T, rot/2)
    // chunk workspace (N = chunk_rows * T tokens, S slots per token)
    float *hbuf[2], *h, *big, *logits;  // hidden states double-buffered: chunk i+1 in while i computes
    bf16 *xb, *qb, *kb, *vb, *xe, *act;
    float *gy;
    int *slot_e, *slot_pos, *pair_tok, *pair_slot, *cnt, *off, *cursor;
    float *slot_w;
    double *slot_g;
    uint8_t *maskbuf[2], *mask;
    cudaEvent_t in_beg[2], in_end[2], done[2], out_beg[2], out_end[2];
    int in_pending[2], out_pending[2];  // copy timings not yet read
    int *h_off;               // (2E+2) pinned host copy of the offsets (E+2) and, bucketed, the counts (E)
    // statistics of the current layer
    unsigned long long *st_cnt, *st_tokens;
    double *st_gate, *st_norm, *st_reap, *st_max;
    // timing
    cudaEvent_t ev[PH_N + 1];
    double t[PH_N];
    cudaEvent_t pev[PF_N + 1];  // REAP_GPU_PROFILE: one event before the first step and after each
    double pf[PF_N];            // seconds per step, this layer
    double pairs;             // routed pairs computed (for FLOP counts)
    // env REAP_GPU_EXPERT_DIAG=1: host seconds spent issuing the expert GEMMs, chunks, and per chunk
    // the largest expert's pairs and the experts with 1..255 pairs (printed at close)
    double diag_issue_s, diag_maxn, diag_small, diag_chunks, diag_launches, diag_rows, diag_pairs;
    char err[1024];
} gdev;

struct reap_gpu {
    reap_m2_config cfg;
    int rows, T, n;
    size_t mem_cap;
    gdev *d;
    double flop_experts, flop_total;
    int *trace;  // (rows*T, top_k) host, or NULL
    int bucketed;  // env REAP_GPU_EXPERT_MODE: 1 padded layout + one batched GEMM per size class, 0 one per expert
    int prof;      // env REAP_GPU_PROFILE=1
    int gateup_bf16;  // env REAP_GPU_GATEUP_BF16=1: the gate|up GEMM writes bf16 (default f32)
    int xgemm;        // env REAP_GPU_XGEMM: XG_EACH (default), XG_LT or XG_BATCHED (bucketed mode)
    int chunk_rows;  // rows per chunk, the same on every GPU (chunks are laid out over all rows)
    int router_tf32; // env REAP_GPU_ROUTER: 1 3xTF32 router GEMM, 0 cublasSgemm
    pthread_mutex_t mu;  // the staging state of every GPU (loader thread vs forward)
};

#define CK(x)                                                                                              \
    do {                                                                                                   \
        cudaError_t e_ = (x);                                                                              \
        if (e_ != cudaSuccess)                                                                             \
            return reap_fail(REAP_EDEVICE, "GPU %d: %s: %s (%s:%d)", d->ordinal, #x, cudaGetErrorString(e_), \
                             __FILE__, __LINE__);                                                          \
    } while (0)
#define CB(x)                                                                                                \
    do {                                                                                                     \
        cublasStatus_t b_ = (x);                                                                             \
        if (b_ != CUBLAS_STATUS_SUCCESS)                                                                     \
            return reap_fail(REAP_EDEVICE, "GPU %d: %s: cuBLAS status %d (%s:%d)", d->ordinal, #x, (int)b_, \
                             __FILE__, __LINE__);                                                            \
    } while (0)
#define TRY(x)                          \
    do {                          \
        int st_ = (x);            \
        if (st_ != REAP_OK) return st_; \
    } while (0)

static int dmalloc(gdev *d, void **p, size_t bytes) {
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
#define DMALLOC(p, bytes) TRY(dmalloc(d, (void **)&(p), (bytes)))

// ---- sizes ----------------------------------------------------------------------------------

static int qkv_width(const reap_m2_config *c) { return (c->n_heads + 2 * c->n_kv_heads) * c->head_dim; }
static int slots_per_token(const reap_m2_config *c, reap_router_mode m) {
    return m == REAP_ROUTER_MODEL ? c->top_k : 2 * c->top_k;
}
// Rows the pair buffers need for p (token, slot) pairs: p itself, or in the padded layout (bucketed
// mode) room for the padding, below max(64, n/8) rows per expert; on average ~5% (8 classes per
// octave). A chunk whose padding still does not fit falls back to the plain layout (per-expert GEMMs).
static size_t pair_rows(const reap_m2_config *c, size_t p, int bucketed) {
    return bucketed ? p + p / 8 + 64 * (size_t)c->n_experts : p;
}
static size_t align256(size_t n) { return (n + 255) & ~(size_t)255; }
// Bytes per token of the attention-phase buffer big: the q|k|v GEMM output (f32), the attention
// output (bf16), the router input (f32, or [hi | lo] for the 3xTF32 router) with the logits.
static size_t big_bytes(const reap_m2_config *c) {
    size_t H = c->hidden, E = c->n_experts, O = (size_t)c->n_heads * c->head_dim, big = 4 * (size_t)qkv_width(c);
    if (2 * O > big) big = 2 * O;
    if (4 * H + 4 * E > big) big = 4 * H + 4 * E;
    if (8 * H > big) big = 8 * H;
    return big;
}
static size_t bytes_per_token(const reap_m2_config *c, int bucketed) {
    // slot buffers are sized for the model's top_k slots per token; the softmax statistics modes
    // (2 top_k slots) run half as many rows per chunk (see layer_dev)
    size_t H = c->hidden, I = c->inter, Q = qkv_width(c), S = c->top_k, E = c->n_experts;
    size_t big = big_bytes(c);
    size_t gy = 8 * I > 4 * H ? 8 * I : 4 * H;
    size_t pairs = bucketed ? S + S / 8 + 1 : S;
    size_t att = big + 2 * Q, gyp = pairs * gy;  // big and q|k|v share gy's memory, act shares xe's (open_dev)
    return 2 * 4 * H + 2 * H + (att > gyp ? att : gyp) + S * (4 + 4 + 8 + 4) + pairs * (4 + 4 + 2 * (H > I ? H : I)) +
           2 + 4 * E;
}
static size_t scale_elems(int64_t r, int64_t c, int br, int bc) {
    return (size_t)((r + br - 1) / br) * (size_t)((c + bc - 1) / bc);
}
static size_t expert_raw_bytes(const reap_m2_config *c, int dt) {
    size_t es = reap_dtype_size((reap_dtype)dt);
    size_t E = c->n_experts, I = c->inter, H = c->hidden;
    size_t b = 3 * E * I * H * es;
    b = (b + 255) & ~(size_t)255;
    if (dt == REAP_DT_F8_E4M3)
        b += 4 * E * (2 * scale_elems(I, H, c->block_r, c->block_c) + scale_elems(H, I, c->block_r, c->block_c));
    return (b + 255) & ~(size_t)255;
}
static size_t attn_f32_elems(const reap_m2_config *c) {
    size_t H = c->hidden, Q = qkv_width(c), O = (size_t)c->n_heads * c->head_dim;
    return Q * H + H * O + 2 * H + O + (size_t)c->n_kv_heads * c->head_dim + (size_t)c->n_experts * H + c->n_experts;
}
static size_t raw_bytes(const reap_m2_config *c, int dt) { return expert_raw_bytes(c, dt) + 4 * attn_f32_elems(c); }
// ln1, ln2, q_norm, k_norm, gate, bias: the tail of attn_f32_elems, contiguous in raw from ln1 on
static size_t keep_elems(const reap_m2_config *c) {
    size_t H = c->hidden, O = (size_t)c->n_heads * c->head_dim, KV = (size_t)c->n_kv_heads * c->head_dim;
    return 2 * H + O + KV + (size_t)c->n_experts * H + c->n_experts;
}
static size_t weight_bytes(const reap_m2_config *c, int dt) {
    size_t H = c->hidden, I = c->inter, E = c->n_experts, Q = qkv_width(c), O = (size_t)c->n_heads * c->head_dim;
    return raw_bytes(c, dt) + 4 * keep_elems(c) + 2 * 3 * E * I * H + 2 * (Q * H + H * O);
}

// The tensors of one layer in a raw buffer r (layout in gdev).
typedef struct {
    float *s1, *s3, *s2;  // FP8 scales, NULL otherwise
    float *fq, *fk, *fv, *fo, *ln1, *ln2, *qn, *kn, *gate, *bias;
} raw_view;
static raw_view raw_at(const reap_m2_config *c, uint8_t *r, int dt) {
    size_t H = c->hidden, I = c->inter, E = c->n_experts, O = (size_t)c->n_heads * c->head_dim;
    size_t KV = (size_t)c->n_kv_heads * c->head_dim, es = reap_dtype_size((reap_dtype)dt);
    raw_view v;
    memset(&v, 0, sizeof v);
    if (dt == REAP_DT_F8_E4M3) {
        size_t n13 = scale_elems(I, H, c->block_r, c->block_c);
        v.s1 = (float *)(r + ((3 * I * H * es * E + 255) & ~(size_t)255));
        v.s3 = v.s1 + E * n13, v.s2 = v.s3 + E * n13;
    }
    v.fq = (float *)(r + expert_raw_bytes(c, dt));
    v.fk = v.fq + O * H, v.fv = v.fk + KV * H, v.fo = v.fv + KV * H;
    v.ln1 = v.fo + H * O, v.ln2 = v.ln1 + H, v.qn = v.ln2 + H, v.kn = v.qn + O, v.gate = v.kn + KV;
    v.bias = v.gate + E * H;
    return v;
}

// ---- open / close -----------------------------------------------------------------------------

static void free_dev(gdev *d) {
    if (d->s) cudaSetDevice(d->ordinal);
    if (d->s_w) cudaStreamSynchronize(d->s_w);  // a stage broken off by a failed read may still copy from the host
    void *ptrs[] = {d->raw, d->keep, d->d_ptrs, d->w13,    d->w2,       d->wqkv,      d->wo,     d->rope,      d->hbuf[0], d->hbuf[1], d->logits, d->xb,
                    d->xe,        d->gy,      d->slot_e,   d->slot_pos,
                    d->pair_tok, d->pair_slot, d->cnt, d->off,     d->cursor, d->slot_w,  d->slot_g,   d->maskbuf[0],
                    d->maskbuf[1],
                    d->st_cnt, d->st_tokens, d->st_gate, d->st_norm, d->st_reap, d->st_max, d->gate_cat, d->gate_lo};
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
        if (ptrs[i]) cudaFree(ptrs[i]);
    if (d->h_off) cudaFreeHost(d->h_off);
    if (d->h_ptrs) cudaFreeHost(d->h_ptrs);
    if (d->staged_ev) cudaEventDestroy(d->staged_ev);
    reap_stage_free(&d->st);
    if (d->s_w) cudaStreamDestroy(d->s_w);
    for (int i = 0; i <= PH_N; i++)
        if (d->ev[i]) cudaEventDestroy(d->ev[i]);
    for (int i = 0; i <= PF_N; i++)
        if (d->pev[i]) cudaEventDestroy(d->pev[i]);
    cudaEvent_t *evs[] = {d->in_beg, d->in_end, d->done, d->out_beg, d->out_end};
    for (int j = 0; j < 5; j++)
        for (int b = 0; b < 2; b++)
            if (evs[j][b]) cudaEventDestroy(evs[j][b]);
    reap_k_xgemm_lt_destroy(d->xl);
    reap_k_xgemm_each_destroy(d->xe1);
    if (d->blas) cublasDestroy(d->blas);
    if (d->s) cudaStreamDestroy(d->s);
    if (d->s_copy) cudaStreamDestroy(d->s_copy);
    if (d->s_out) cudaStreamDestroy(d->s_out);
}

// Rows per chunk that fit this GPU (whole rows, about 64k tokens, bounded by the memory cap), or a
// clear error when not even one row fits beside a layer's weights.
static int dev_fit(reap_gpu *g, gdev *d, int *rows_fit) {
    const reap_m2_config *c = &g->cfg;
    CK(cudaSetDevice(d->ordinal));
    CK(cudaFree(0));
    size_t fr, tot;
    CK(cudaMemGetInfo(&fr, &tot));
    d->used_base = tot - fr;
    size_t bpt = bytes_per_token(c, g->bucketed);
    size_t wb = weight_bytes(c, c->fp8 ? REAP_DT_F8_E4M3 : REAP_DT_BF16) + (size_t)g->T * c->rotary_dim * 4;
    size_t cap = g->mem_cap ? g->mem_cap : (fr > ((size_t)1 << 30) ? fr - ((size_t)1 << 30) : fr);
    size_t overhead = (size_t)256 << 20;  // cuBLAS workspace and the like
    char b1[32], b2[32], b3[32];
    if (cap <= wb + overhead + bpt * (size_t)g->T)
        return reap_fail(REAP_EDEVICE,
                         "GPU %d: memory cap %s too small: one layer's weights need %s and one row of %d tokens %s "
                         "(raise --gpu-mem or use fewer tokens per row)",
                         d->ordinal, reap_fmt_bytes((double)cap, b1, sizeof b1), reap_fmt_bytes((double)wb, b2, sizeof b2),
                         g->T, reap_fmt_bytes((double)bpt * g->T, b3, sizeof b3));
    size_t fit = (cap - wb - overhead) / (bpt * (size_t)g->T);
    // 64k-token chunks: layers 3.3% faster than 32k (48k: 2.2%) on an H200 with the per-expert GEMMs,
    // bigger GEMMs per expert (bench/RESULTS.md, sixth pass)
    size_t want = (65536 + g->T - 1) / g->T;
    const char *env = getenv("REAP_GPU_CHUNK_TOKENS");
    if (env && atoi(env) > 0) want = ((size_t)atoi(env) + g->T - 1) / g->T;
    size_t cr = want < fit ? want : fit;
    if (cr > (size_t)g->rows) cr = g->rows;
    *rows_fit = cr < 1 ? 1 : (int)cr;
    return REAP_OK;
}

static int open_dev(reap_gpu *g, gdev *d) {
    const reap_m2_config *c = &g->cfg;
    CK(cudaSetDevice(d->ordinal));
    CK(cudaStreamCreateWithFlags(&d->s, cudaStreamNonBlocking));
    CK(cudaStreamCreateWithFlags(&d->s_copy, cudaStreamNonBlocking));
    CK(cudaStreamCreateWithFlags(&d->s_out, cudaStreamNonBlocking));
    CB(cublasCreate(&d->blas));
    CB(cublasSetStream(d->blas, d->s));
    for (int i = 0; i <= PH_N; i++) CK(cudaEventCreate(&d->ev[i]));
    if (g->prof)
        for (int i = 0; i <= PF_N; i++) CK(cudaEventCreate(&d->pev[i]));
    cudaEvent_t *evs[] = {d->in_beg, d->in_end, d->done, d->out_beg, d->out_end};
    for (int j = 0; j < 5; j++)
        for (int b = 0; b < 2; b++) CK(cudaEventCreate(&evs[j][b]));
    CK(cudaStreamCreateWithFlags(&d->s_w, cudaStreamNonBlocking));
    CK(cudaEventCreateWithFlags(&d->staged_ev, cudaEventDisableTiming));
    d->raw_dt = -1;
    reap_stage_init(&d->st, c->n_experts + 2);  // parts: the non-expert tensors + expert ranges

    d->chunk_rows = g->chunk_rows;

    size_t N = (size_t)d->chunk_rows * g->T, H = c->hidden, I = c->inter, E = c->n_experts, Q = qkv_width(c);
    size_t P = N * c->top_k;
    if (P < (size_t)g->T * 2 * c->top_k) P = (size_t)g->T * 2 * c->top_k;  // one row in any mode
    d->slot_cap = P;
    const size_t PP = pair_rows(c, P, g->bucketed);
    d->pair_cap = PP;
    size_t big = big_bytes(c);
    size_t gyw = 2 * I > H ? 2 * I : H;
    DMALLOC(d->hbuf[0], N * H * 4);
    DMALLOC(d->hbuf[1], N * H * 4);
    DMALLOC(d->xb, N * H * 2);
    DMALLOC(d->logits, N * E * 4);
    DMALLOC(d->slot_e, P * 4);
    DMALLOC(d->slot_w, P * 4);
    DMALLOC(d->slot_g, P * 8);
    DMALLOC(d->slot_pos, P * 4);
    DMALLOC(d->pair_tok, PP * 4);
    DMALLOC(d->pair_slot, PP * 4);
    // The attention scratch (big, q|k|v) lives inside gy and act inside xe: each chunk's steps run
    // in order on one stream, and big/q/k/v are dead once the router has read big, xe once the
    // gate|up GEMM has read it (saves 75 KB per token on MiniMax-M2: 48k-token chunks under 24 GiB).
    size_t att = align256(N * big) + N * (size_t)Q * 2, gyb = PP * gyw * 4;
    DMALLOC(d->gy, gyb > att ? gyb : att);
    d->big = d->gy;
    d->qb = (bf16 *)((char *)d->gy + align256(N * big));
    d->kb = d->qb + N * c->n_heads * c->head_dim, d->vb = d->kb + N * c->n_kv_heads * c->head_dim;
    DMALLOC(d->xe, PP * (H > I ? H : I) * 2);
    d->act = d->xe;
    DMALLOC(d->maskbuf[0], N);
    DMALLOC(d->maskbuf[1], N);
    DMALLOC(d->cnt, E * 4);
    DMALLOC(d->off, (E + 2) * 4);
    DMALLOC(d->cursor, E * 4);
    DMALLOC(d->st_cnt, E * 8);
    DMALLOC(d->st_tokens, 8);
    DMALLOC(d->st_gate, E * 8);
    DMALLOC(d->st_norm, E * 8);
    DMALLOC(d->st_reap, E * 8);
    DMALLOC(d->st_max, E * 8);
    CK(cudaMallocHost((void **)&d->h_off, (2 * E + 2) * 4));
    // attention weights and norms (bf16 GEMM operands; norms, router f32)
    size_t O = (size_t)c->n_heads * c->head_dim;
    DMALLOC(d->wqkv, Q * H * 2);
    DMALLOC(d->wo, H * O * 2);
    if (g->router_tf32) {
        DMALLOC(d->gate_cat, E * 2 * H * 4);
        DMALLOC(d->gate_lo, E * H * 4);
    }
    int dt0 = c->fp8 ? REAP_DT_F8_E4M3 : REAP_DT_BF16;  // the other dtypes reallocate at the first layer
    d->raw_bytes = raw_bytes(c, dt0);
    DMALLOC(d->raw, d->raw_bytes);
    d->raw_dt = dt0;
    DMALLOC(d->keep, 4 * keep_elems(c));
    CK(cudaMallocHost((void **)&d->h_ptrs, 6 * E * sizeof(void *)));
    DMALLOC(d->d_ptrs, 6 * E * sizeof(void *));
    DMALLOC(d->w13, E * 2 * I * H * 2);
    DMALLOC(d->w2, E * H * I * 2);
    // RoPE table in double precision on the host
    int half = c->rotary_dim / 2;
    if (half > 0) {
        float2 *tab = (float2 *)reap_xmalloc((size_t)g->T * half * sizeof(float2));
        for (int p = 0; p < g->T; p++)
            for (int j = 0; j < half; j++) {
                double inv = pow(c->rope_theta, -2.0 * j / c->rotary_dim), a = p * inv;
                tab[(size_t)p * half + j] = make_float2((float)cos(a), (float)sin(a));
            }
        cudaError_t e = cudaMalloc((void **)&d->rope, (size_t)g->T * half * sizeof(float2));
        if (e == cudaSuccess) {
            d->allocated += (size_t)g->T * half * sizeof(float2);
            e = cudaMemcpy(d->rope, tab, (size_t)g->T * half * sizeof(float2), cudaMemcpyHostToDevice);
        }
        free(tab);
        CK(e);
    }
    return REAP_OK;
}

// Runs every cuBLAS GEMM shape of a full chunk once on zeroed buffers, so that cuBLAS loads its
// kernels and picks its algorithms here (in reap_gpu_open, which `reap score` overlaps with reading
// the first layer) instead of inside the first layer: measured on an H200, the first layer's
// router, q|k|v and gate|up GEMMs took ~0.23 s longer than later layers' (bench/RESULTS.md).
// The expert GEMMs are warmed for every size class of the padded layout (one expert each).
// env REAP_GPU_WARMUP=0 skips it.
static int gemm_bf16(gdev *d, int m, int n, int k, const bf16 *W, const bf16 *A, void *C, cudaDataType_t ctype,
                     float beta);
static int warm_up(reap_gpu *g, gdev *d) {
    const char *env = getenv("REAP_GPU_WARMUP");
    if (env && !strcmp(env, "0")) return REAP_OK;
    const reap_m2_config *c = &g->cfg;
    const int N = d->chunk_rows * g->T, H = c->hidden, I = c->inter, E = c->n_experts, Q = qkv_width(c);
    const int O = c->n_heads * c->head_dim;
    double t0 = reap_now();
    const size_t big = (size_t)N * big_bytes(c);
    CK(cudaMemsetAsync(d->xb, 0, (size_t)N * H * 2, d->s));
    CK(cudaMemsetAsync(d->big, 0, big, d->s));
    CK(cudaMemsetAsync(d->wqkv, 0, (size_t)Q * H * 2, d->s));
    CK(cudaMemsetAsync(d->wo, 0, (size_t)H * O * 2, d->s));
    CK(cudaMemsetAsync(d->hbuf[0], 0, (size_t)N * H * 4, d->s));
    TRY(gemm_bf16(d, Q, N, H, d->wqkv, d->xb, d->big, CUDA_R_32F, 0.f));
    TRY(gemm_bf16(d, H, N, O, d->wo, (const bf16 *)d->big, d->hbuf[0], CUDA_R_32F, 1.f));
    {
        const float one = 1.f, zero = 0.f;
        float *gw = d->keep + (keep_elems(c) - (size_t)E * H - E);  // the gate (E, H) in keep
        CK(cudaMemsetAsync(gw, 0, (size_t)E * H * 4, d->s));
        CB(cublasSgemm(d->blas, CUBLAS_OP_T, CUBLAS_OP_N, E, N, H, &one, gw, H, d->big, H, &zero, d->logits, E));
        if (g->router_tf32) {
            CK(cudaMemsetAsync(d->gate_cat, 0, (size_t)E * 2 * H * 4, d->s));
            CK(cudaMemsetAsync(d->gate_lo, 0, (size_t)E * H * 4, d->s));
            CB(reap_k_router_3xtf32(d->blas, d->gate_cat, d->gate_lo, d->big, N, E, H, d->logits));
        }
    }
    if (g->bucketed && g->xgemm == XG_LT) {
        // cuBLASLt: every size class up to the largest an expert can have in a chunk (every token)
        // is timed with each algorithm cuBLASLt offers (and cublasGemmBatchedEx); the fastest is
        // kept (kernels/xgemm.cu). Measured on an H200: 1-6% faster expert GEMMs, identical bits
        // (bench/RESULTS.md, fifth pass); ~1.2 s per GPU, while `reap score` reads the first layer.
        CB(reap_k_xgemm_lt_create(&d->xl, 0, 0));
        int ns[64], nn = reap_k_xgemm_lt_classes(reap_k_pad_rows(N), ns, 64);
        if (nn > 64) nn = 64;
        CK(cudaMemsetAsync(d->w13, 0, (size_t)E * 2 * I * H * 2, d->s));
        CK(cudaMemsetAsync(d->w2, 0, (size_t)E * H * I * 2, d->s));
        CB(reap_k_xgemm_lt_tune(d->xl, d->blas, d->s, 2 * I, H, g->gateup_bf16 ? CUDA_R_16BF : CUDA_R_32F, ns, nn, 4, E,
                                d->w13, d->xe, d->gy, d->pair_cap, 1));
        CB(reap_k_xgemm_lt_tune(d->xl, d->blas, d->s, H, I, CUDA_R_32F, ns, nn, 4, E, d->w2, d->act, d->gy, d->pair_cap, 1));
    } else if (g->bucketed) {
        // one expert per size class up to the largest an expert can have in a chunk (every token)
        if (g->xgemm == XG_EACH) {
            CB(reap_k_xgemm_each_create(&d->xe1));
            int ns[256], nn = reap_k_xgemm_lt_classes(reap_k_pad_rows(N), ns, 256);
            if (nn > 256) nn = 256;
            CB(reap_k_xgemm_each_prepare(d->xe1, 2 * I, H, g->gateup_bf16 ? CUDA_R_16BF : CUDA_R_32F, ns, nn));
            CB(reap_k_xgemm_each_prepare(d->xe1, H, I, CUDA_R_32F, ns, nn));
        }
        int *off = d->h_off, used = 0, rows = 0, n = 1;
        off[0] = 0;
        for (int cls = reap_k_pad_rows(n); used < E; cls = reap_k_pad_rows(n)) {
            if ((size_t)rows + cls > d->pair_cap || cls > reap_k_pad_rows(N)) break;
            rows += cls, off[++used] = rows, n = cls + 1;
        }
        for (int e = used; e < E; e++) off[e + 1] = rows;
        CK(cudaMemsetAsync(d->xe, 0, (size_t)rows * H * 2, d->s));
        CK(cudaMemsetAsync(d->act, 0, (size_t)rows * I * 2, d->s));
        CK(cudaMemsetAsync(d->w13, 0, (size_t)E * 2 * I * H * 2, d->s));
        CK(cudaMemsetAsync(d->w2, 0, (size_t)E * H * I * 2, d->s));
        int launches;
        if (d->xe1) {
            CB(reap_k_expert_gemms_each(d->xe1, d->blas, d->s, off, E, 2 * I, H, d->w13, d->xe, d->gy,
                                        g->gateup_bf16 ? CUDA_R_16BF : CUDA_R_32F, &launches));
            CB(reap_k_expert_gemms_each(d->xe1, d->blas, d->s, off, E, H, I, d->w2, d->act, d->gy, CUDA_R_32F, &launches));
        } else {
            CB(reap_k_expert_gemms_bucketed_ex(d->blas, d->s, off, E, 2 * I, H, d->w13, d->xe, d->gy,
                                               g->gateup_bf16 ? CUDA_R_16BF : CUDA_R_32F, d->h_ptrs, d->d_ptrs, &launches));
            CB(reap_k_expert_gemms_bucketed_ex(d->blas, d->s, off, E, H, I, d->w2, d->act, d->gy, CUDA_R_32F,
                                               d->h_ptrs + 3 * E, d->d_ptrs + 3 * E, &launches));
        }
        CK(cudaStreamSynchronize(d->s));  // h_off is rewritten by the first chunk
    }
    CK(cudaStreamSynchronize(d->s));
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
    reap_gpu *g = (reap_gpu *)reap_xcalloc(1, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    g->cfg = *cfg;
    // env REAP_GPU_EXPERT_MODE=bucketed|per-expert: the expert GEMMs as one batched GEMM per size
    // class over a padded layout (the default: experts phase 0.28 s against 0.39-0.44 s per layer on
    // an H200, bench/RESULTS.md, fourth pass), or one GEMM per expert
    const char *menv = getenv("REAP_GPU_EXPERT_MODE");
    if (menv && *menv && strcmp(menv, "bucketed") && strcmp(menv, "per-expert")) {
        free(g);
        return reap_fail(REAP_EINVAL, "REAP_GPU_EXPERT_MODE=%s: expected bucketed or per-expert", menv);
    }
    g->bucketed = !(menv && !strcmp(menv, "per-expert"));
    const char *penv = getenv("REAP_GPU_PROFILE");
    g->prof = penv && !strcmp(penv, "1");
    // env REAP_GPU_XGEMM=each|lt|batched: how the bucketed layout's expert GEMMs are issued: one
    // cached cuBLASLt matmul per expert (default), one autotuned cuBLASLt pointer-array batch per
    // size class, or one cublasGemmBatchedEx per size class (bench/RESULTS.md, fifth pass)
    const char *xenv = getenv("REAP_GPU_XGEMM");
    if (xenv && *xenv && strcmp(xenv, "each") && strcmp(xenv, "lt") && strcmp(xenv, "batched")) {
        free(g);
        return reap_fail(REAP_EINVAL, "REAP_GPU_XGEMM=%s: expected each, lt or batched", xenv);
    }
    g->xgemm = !xenv || !*xenv || !strcmp(xenv, "each") ? XG_EACH : !strcmp(xenv, "lt") ? XG_LT : XG_BATCHED;
    const char *fenv = getenv("REAP_GPU_GATEUP_BF16");
    g->gateup_bf16 = fenv && !strcmp(fenv, "1");
    // env REAP_GPU_ROUTER=fp32|tf32x3: the router GEMM as cublasSgemm (default: the issue asks for an
    // fp32 router), or as three TF32 tensor-core products (hi.hi + hi.lo + lo.hi; kernels/kern.cuh):
    // 2.6x faster, errors 14x Sgemm's but ~1e-5 of the logit scale (bench/RESULTS.md, sixth pass)
    const char *renv = getenv("REAP_GPU_ROUTER");
    if (renv && *renv && strcmp(renv, "fp32") && strcmp(renv, "tf32x3")) {
        free(g);
        return reap_fail(REAP_EINVAL, "REAP_GPU_ROUTER=%s: expected fp32 or tf32x3", renv);
    }
    g->router_tf32 = renv && !strcmp(renv, "tf32x3");
    g->rows = p->rows, g->T = p->T, g->mem_cap = p->mem_cap;
    // Chunks of whole rows are laid out over ALL rows with one chunk size (the smallest any GPU can
    // take), and each GPU takes a run of whole chunks: every chunk holds the same rows whatever the
    // number of GPUs, so the GEMM shapes, the padded expert layout and hence every rounding are the
    // same, and n GPUs give the statistics of one up to the order of the float64 sums.
    g->n = p->n_devices;
    g->d = (gdev *)reap_xcalloc((size_t)g->n, sizeof(gdev));
    g->chunk_rows = p->rows;
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
    for (int i = 0; i < g->n; i++) {
        gdev *d = &g->d[i];
        reap_chunk_gpu_rows(p->rows, g->chunk_rows, g->n, i, &d->row0, &d->rows);
        int st = open_dev(g, d);
        if (st == REAP_OK) st = warm_up(g, d);
        if (st != REAP_OK) {
            reap_gpu_close(g);
            return st;
        }
        reap_verbose("GPU %d: rows %d..%d, %d rows per chunk, %.2f GiB allocated", d->ordinal, d->row0,
                     d->row0 + d->rows - 1, d->chunk_rows, d->allocated / 1073741824.0);
    }
    *out = g;
    return REAP_OK;
}

extern "C" void reap_gpu_close(reap_gpu *g) {
    if (!g) return;
    const char *diag = getenv("REAP_GPU_EXPERT_DIAG");
    for (int i = 0; diag && !strcmp(diag, "1") && i < g->n; i++) {
        gdev *d = &g->d[i];
        double c = d->diag_chunks > 0 ? d->diag_chunks : 1;
        fprintf(stderr, "DIAG GPU %d: %.0f chunks, expert GEMM issue %.2f ms per chunk, largest expert %.0f pairs, "
                "%.1f experts with 1..255 pairs per chunk, %.1f GEMM launches per chunk, rows %.3fx the pairs (%s)\n",
                d->ordinal, d->diag_chunks, 1e3 * d->diag_issue_s / c, d->diag_maxn / c, d->diag_small / c,
                d->diag_launches / c, d->diag_pairs > 0 ? d->diag_rows / d->diag_pairs : 1.0, g->bucketed ? "bucketed" : "per-expert");
    }
    for (int i = 0; i < g->n; i++) free_dev(&g->d[i]);
    free(g->d);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

// ---- one layer --------------------------------------------------------------------------------

static void note_peak(gdev *d) {
    size_t fr, tot;
    if (cudaMemGetInfo(&fr, &tot) == cudaSuccess && tot - fr > d->used_base && tot - fr - d->used_base > d->peak)
        d->peak = tot - fr - d->used_base;
}

// Row-major C (n, m) = A (n, k) * W (m, k)^T, bf16 operands, fp32 accumulate; C in ctype.
static int gemm_bf16(gdev *d, int m, int n, int k, const bf16 *W, const bf16 *A, void *C, cudaDataType_t ctype,
                     float beta) {
    const float one = 1.f;
    CB(cublasGemmEx(d->blas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, W, CUDA_R_16BF, k, A, CUDA_R_16BF, k, &beta, C,
                    ctype, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return REAP_OK;
}

// Copies part of w into raw on stream st (asynchronous: from page-locked memory it overlaps
// whatever else runs): with e0 == e1 the non-expert tensors, else experts [e0, e1) of w1, w3, w2 and
// their scales. raw must be sized for w->expert_dtype.
static cudaError_t copy_part(const reap_m2_config *c, gdev *d, const reap_layer_weights *w, cudaStream_t st, int e0,
                             int e1) {
    size_t H = c->hidden, I = c->inter, E = c->n_experts, O = (size_t)c->n_heads * c->head_dim;
    size_t KV = (size_t)c->n_kv_heads * c->head_dim;
    int dt = w->expert_dtype;
    size_t m = I * H * reap_dtype_size((reap_dtype)dt), one = m * E;  // bytes of one matrix, of all E
    size_t n13 = scale_elems(I, H, c->block_r, c->block_c), n2 = scale_elems(H, I, c->block_r, c->block_c);
    size_t a = (size_t)e0, n = (size_t)(e1 - e0);
    uint8_t *r = d->raw;
    raw_view v = raw_at(c, r, dt);
    struct {
        void *dst;
        const void *src;
        size_t n;
    } cp[] = {{r + a * m, w->w1 + a * m, n * m},
              {r + one + a * m, w->w3 + a * m, n * m},
              {r + 2 * one + a * m, w->w2 + a * m, n * m},
              {v.s1 ? v.s1 + a * n13 : NULL, w->s1 ? w->s1 + a * n13 : NULL, n * n13 * 4},
              {v.s3 ? v.s3 + a * n13 : NULL, w->s3 ? w->s3 + a * n13 : NULL, n * n13 * 4},
              {v.s2 ? v.s2 + a * n2 : NULL, w->s2 ? w->s2 + a * n2 : NULL, n * n2 * 4},
              {v.fq, w->wq, O * H * 4},
              {v.fk, w->wk, KV * H * 4},
              {v.fv, w->wv, KV * H * 4},
              {v.fo, w->wo, H * O * 4},
              {v.ln1, w->ln1, H * 4},
              {v.ln2, w->ln2, H * 4},
              {v.qn, w->q_norm, O * 4},
              {v.kn, w->k_norm, KV * 4},
              {v.gate, w->gate, E * H * 4},
              {v.bias, w->bias, E * 4}};
    const size_t first = e0 == e1 ? 6 : 0, last = e0 == e1 ? sizeof cp / sizeof cp[0] : 6;
    for (size_t i = first; i < last; i++) {
        if (!cp[i].dst || !cp[i].src || !cp[i].n) continue;  // no scales (not FP8), no QK norm, no routing bias
        cudaError_t e = cudaMemcpyAsync(cp[i].dst, cp[i].src, cp[i].n, cudaMemcpyHostToDevice, st);
        if (e != cudaSuccess) return e;
    }
    return cudaSuccess;
}

static cudaError_t copy_raw(const reap_m2_config *c, gdev *d, const reap_layer_weights *w, cudaStream_t st) {
    cudaError_t e = copy_part(c, d, w, st, 0, 0);
    return e != cudaSuccess ? e : copy_part(c, d, w, st, 0, c->n_experts);
}

// Staging, under g->mu: lib/stage.h decides when raw may take a part; here the copies go onto
// s_w and the completion event is recorded. A copy that fails drops the stage (the forward then
// copies the layer itself).
static void stage_copy(reap_gpu *g, gdev *d, int e0, int e1) {
    if (cudaSetDevice(d->ordinal) != cudaSuccess || copy_part(&g->cfg, d, &d->stage_w, d->s_w, e0, e1) != cudaSuccess) {
        cudaGetLastError();
        reap_stage_drop(&d->st);
    }
}
static void stage_record(gdev *d) {
    if (cudaSetDevice(d->ordinal) != cudaSuccess || cudaEventRecord(d->staged_ev, d->s_w) != cudaSuccess) {
        cudaGetLastError();
        reap_stage_drop(&d->st);
        return;
    }
    reap_stage_complete(&d->st);
}
// Layer `layer` has been dequantised: raw is free for layer + 1, whose queued parts copy now.
static void stage_flush(reap_gpu *g, gdev *d, int layer) {
    pthread_mutex_lock(&g->mu);
    const int *parts;
    int complete, n = reap_stage_flush(&d->st, layer, &parts, &complete);
    for (int i = 0; i < n && d->st.staging; i++) stage_copy(g, d, parts[2 * i], parts[2 * i + 1]);
    if (complete && d->st.staging) stage_record(d);
    pthread_mutex_unlock(&g->mu);
}

extern "C" int reap_gpu_stage_begin(reap_gpu *g, const reap_layer_weights *w) {
    if (!g || !w || !w->w1 || w->layer < 0) return 0;
    const char *env = getenv("REAP_GPU_STAGE");  // 0: never (A/B experiments)
    if (env && !strcmp(env, "0")) return 0;
    int fits = 1;
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->n; i++) fits &= g->d[i].raw_dt == w->expert_dtype;
    for (int i = 0; i < g->n; i++) {
        gdev *d = &g->d[i];
        if (reap_stage_begin(&d->st, w->layer, w->w1, fits) != REAP_STAGE_NO) d->stage_w = *w;
    }
    pthread_mutex_unlock(&g->mu);
    return fits;
}

extern "C" void reap_gpu_stage_part(reap_gpu *g, const reap_layer_weights *w, int e0, int e1) {
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->n; i++)
        if (reap_stage_part(&g->d[i].st, w->layer, e0, e1)) stage_copy(g, &g->d[i], e0, e1);
    pthread_mutex_unlock(&g->mu);
}

extern "C" int reap_gpu_stage_end(reap_gpu *g, const reap_layer_weights *w) {
    int ok = 1;
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->n; i++) {
        gdev *d = &g->d[i];
        int e = reap_stage_end(&d->st, w->layer);
        if (e == REAP_STAGE_END_RECORD) stage_record(d);
        ok &= e == REAP_STAGE_END_LATER || (e == REAP_STAGE_END_RECORD && d->st.staged_layer == w->layer);
    }
    pthread_mutex_unlock(&g->mu);
    return ok;
}

extern "C" int reap_gpu_stage(reap_gpu *g, const reap_layer_weights *w) {
    if (!reap_gpu_stage_begin(g, w)) return 0;
    reap_gpu_stage_part(g, w, 0, 0);
    reap_gpu_stage_part(g, w, 0, g->cfg.n_experts);
    return reap_gpu_stage_end(g, w);
}

static int upload_weights(reap_gpu *g, gdev *d, const reap_layer_weights *w) {
    const reap_m2_config *c = &g->cfg;
    size_t H = c->hidden, I = c->inter, E = c->n_experts, O = (size_t)c->n_heads * c->head_dim;
    size_t KV = (size_t)c->n_kv_heads * c->head_dim;
    int dt = w->expert_dtype;
    if (dt != REAP_DT_F8_E4M3 && dt != REAP_DT_BF16 && dt != REAP_DT_F32)
        return reap_fail(REAP_EINVAL, "layer %d: expert dtype %s is not supported on the GPU", w->layer,
                         reap_dtype_name((reap_dtype)dt));
    double t0 = reap_now();
    pthread_mutex_lock(&g->mu);
    int staged = reap_stage_take(&d->st, w->layer, w->w1);  // raw is this layer's until stage_flush
    pthread_mutex_unlock(&g->mu);
    if (staged) {
        CK(cudaEventSynchronize(d->staged_ev));  // copied while the previous layer computed
        d->t[PH_WAIT] += reap_now() - t0;
        t0 = reap_now();
    } else {
        CK(cudaStreamSynchronize(d->s_w));  // a stale or broken-off stage may still be copying
        if (d->raw_dt != dt) {
            if (d->raw) cudaFree(d->raw), d->allocated -= d->raw_bytes;
            d->raw = NULL;
            d->raw_bytes = raw_bytes(c, dt);
            DMALLOC(d->raw, d->raw_bytes);
            d->raw_dt = dt;
        }
        CK(copy_raw(c, d, w, d->s_copy));
        CK(cudaStreamSynchronize(d->s_copy));
    }
    d->t[PH_H2D] += reap_now() - t0;
    uint8_t *r = d->raw;
    raw_view v = raw_at(c, r, dt);
    // the small f32 tensors stay with the layer in keep (raw takes the next layer meanwhile)
    CK(cudaMemcpyAsync(d->keep, v.ln1, 4 * keep_elems(c), cudaMemcpyDeviceToDevice, d->s));
    d->ln1 = d->keep, d->ln2 = d->ln1 + H, d->qn = d->ln2 + H, d->kn = d->qn + O, d->gate = d->kn + KV;
    d->bias = d->gate + E * H;
    float *fq = v.fq, *fo = v.fo, *s1 = v.s1, *s3 = v.s3, *s2 = v.s2;
    size_t es = reap_dtype_size((reap_dtype)dt), one = I * H * es * E;
    size_t n13 = scale_elems(I, H, c->block_r, c->block_c), n2 = scale_elems(H, I, c->block_r, c->block_c);
    (void)KV;

    // to bf16 on the compute stream
    CK(cudaEventRecord(d->ev[0], d->s));
    reap_k_f32_to_bf16(fq, (int64_t)(O + 2 * KV) * H, d->wqkv, d->s);  // q|k|v contiguous = fused Wqkv
    reap_k_f32_to_bf16(fo, (int64_t)H * O, d->wo, d->s);
    if (g->router_tf32) reap_k_router_split_w(d->gate, (int)E, (int)H, d->gate_cat, d->gate_lo, d->s);
    for (size_t e = 0; e < E; e++) {
        reap_k_dequant_bf16(dt, r + e * I * H * es, s1 ? s1 + e * n13 : NULL, I, H, c->block_r, c->block_c,
                            d->w13 + e * 2 * I * H, d->s);
        reap_k_dequant_bf16(dt, r + one + e * I * H * es, s3 ? s3 + e * n13 : NULL, I, H, c->block_r, c->block_c,
                            d->w13 + e * 2 * I * H + I * H, d->s);
        reap_k_dequant_bf16(dt, r + 2 * one + e * H * I * es, s2 ? s2 + e * n2 : NULL, H, I, c->block_r, c->block_c,
                            d->w2 + e * H * I, d->s);
    }
    CK(cudaGetLastError());
    CK(cudaEventRecord(d->ev[1], d->s));
    CK(cudaEventSynchronize(d->ev[1]));
    stage_flush(g, d, w->layer);  // raw is free: the next layer's copy may start
    float ms;
    CK(cudaEventElapsedTime(&ms, d->ev[0], d->ev[1]));
    d->t[PH_DEQUANT] += ms / 1e3;
    return REAP_OK;
}

// C (P, m) in ctype: CUDA_R_32F or CUDA_R_16BF.
static int expert_gemms(reap_gpu *g, gdev *d, int region, int m, int k, const bf16 *W, const bf16 *A, void *C,
                        cudaDataType_t ctype) {
    const int E = g->cfg.n_experts;
    const size_t csize = ctype == CUDA_R_16BF ? 2 : 4;
    if (d->xe1) {  // one cached cuBLASLt matmul per expert (padded or plain layout)
        int launches = 0;
        CB(reap_k_expert_gemms_each(d->xe1, d->blas, d->s, d->h_off, E, m, k, W, A, C, ctype, &launches));
        d->diag_launches += launches;
        return REAP_OK;
    }
    if (g->bucketed && d->h_off[E + 1]) {  // padded layout: one batched GEMM per size class
        const size_t r = (size_t)region * 3 * E;
        int launches = 0;
        if (d->xl)
            CB(reap_k_expert_gemms_lt(d->xl, d->blas, d->s, d->h_off, E, m, k, W, A, C, ctype, d->h_ptrs + r,
                                      d->d_ptrs + r, &launches));
        else
            CB(reap_k_expert_gemms_bucketed_ex(d->blas, d->s, d->h_off, E, m, k, W, A, C, ctype, d->h_ptrs + r,
                                               d->d_ptrs + r, &launches));
        d->diag_launches += launches;
        return REAP_OK;
    }
    // plain layout: one cublasGemmEx per expert (env REAP_GPU_EXPERT_MODE=per-expert, or a chunk
    // whose padding does not fit)
    const float one = 1.f, zero = 0.f;
    for (int e = 0; e < E; e++) {
        int n = d->h_off[e + 1] - d->h_off[e];
        if (n == 0) continue;
        CB(cublasGemmEx(d->blas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, W + (size_t)e * m * k, CUDA_R_16BF, k,
                        A + (size_t)d->h_off[e] * k, CUDA_R_16BF, k, &zero, (char *)C + (size_t)d->h_off[e] * m * csize,
                        ctype, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        d->diag_launches++;
    }
    return REAP_OK;
}

static int elapsed(gdev *d, cudaEvent_t a, cudaEvent_t b, int ph) {
    float ms;
    CK(cudaEventElapsedTime(&ms, a, b));
    d->t[ph] += ms / 1e3;
    return REAP_OK;
}

// Hidden states (and mask) of a chunk into buffer b on the copy stream, once the buffer's previous
// chunk has gone back to the host.
static int chunk_in(reap_gpu *g, gdev *d, int b, const float *h_host, const uint8_t *mask_host, int rows) {
    const size_t N = (size_t)rows * g->T, H = g->cfg.hidden;
    if (d->out_pending[b]) {
        CK(cudaStreamWaitEvent(d->s_copy, d->out_end[b], 0));
    }
    CK(cudaEventRecord(d->in_beg[b], d->s_copy));
    CK(cudaMemcpyAsync(d->hbuf[b], h_host, N * H * 4, cudaMemcpyHostToDevice, d->s_copy));
    if (mask_host) CK(cudaMemcpyAsync(d->maskbuf[b], mask_host, N, cudaMemcpyHostToDevice, d->s_copy));
    CK(cudaEventRecord(d->in_end[b], d->s_copy));
    d->in_pending[b] = 1;
    return REAP_OK;
}

// Reads the timings of buffer b's finished copies (waits for them).
static int chunk_copy_times(gdev *d, int b) {
    if (d->out_pending[b]) {
        CK(cudaEventSynchronize(d->out_end[b]));
        TRY(elapsed(d, d->out_beg[b], d->out_end[b], PH_D2H));
        d->out_pending[b] = 0;
    }
    return REAP_OK;
}

// One chunk of whole rows whose hidden states chunk_in put into buffer b: the layer on the GPU,
// then the hidden states back to the host on the output stream (overlapping the next chunk).
static int run_chunk(reap_gpu *g, gdev *d, int b, size_t t0, float *h_host, int has_mask, int rows,
                     reap_router_mode mode, int has_qn, int has_kn, int has_bias) {
    const reap_m2_config *c = &g->cfg;
    const int T = g->T, N = rows * T, H = c->hidden, I = c->inter, E = c->n_experts, Q = qkv_width(c);
    const int O = c->n_heads * c->head_dim, S = slots_per_token(c, mode);
    const float eps = (float)c->rms_eps;
    cudaStream_t s = d->s;
    cudaEvent_t *ev = d->ev;
    d->h = d->hbuf[b], d->mask = d->maskbuf[b];

    CK(cudaStreamWaitEvent(s, d->in_end[b], 0));
    CK(cudaEventRecord(ev[1], s));
#define MARK(step)                                                      \
    do {                                                                \
        if (g->prof) CK(cudaEventRecord(d->pev[(step) + 1], s));        \
    } while (0)
    if (g->prof) CK(cudaEventRecord(d->pev[0], s));
    // attention
    reap_k_rmsnorm(d->h, d->ln1, N, H, eps, d->xb, NULL, s);
    MARK(PF_RMSNORM1);
    float *qkv = d->big;
    TRY(gemm_bf16(d, Q, N, H, d->wqkv, d->xb, qkv, CUDA_R_32F, 0.f));
    MARK(PF_QKV);
    reap_k_qknorm_rope(qkv, has_qn ? d->qn : NULL, has_kn ? d->kn : NULL, d->rope, N, T, c->n_heads, c->n_kv_heads,
                       c->head_dim, c->rotary_dim, eps, d->qb, d->kb, d->vb, s);
    MARK(PF_QKNORM_ROPE);
    bf16 *ao = (bf16 *)d->big;
    reap_k_attention(d->qb, d->kb, d->vb, rows, T, c->n_heads, c->n_kv_heads, c->head_dim, ao, 0, s);
    MARK(PF_ATTN_CORE);
    TRY(gemm_bf16(d, H, N, O, d->wo, ao, d->h, CUDA_R_32F, 1.f));
    MARK(PF_OPROJ);
    CK(cudaGetLastError());
    CK(cudaEventRecord(ev[2], s));
    // router
    float *xf = d->big;
    if (g->router_tf32) {  // 3xTF32 on the tensor cores (kernels/kern.cuh)
        reap_k_rmsnorm_split(d->h, d->ln2, N, H, eps, d->xb, xf, s);
        MARK(PF_RMSNORM2);
        CB(reap_k_router_3xtf32(d->blas, d->gate_cat, d->gate_lo, xf, N, E, H, d->logits));
    } else {
        reap_k_rmsnorm(d->h, d->ln2, N, H, eps, d->xb, xf, s);
        MARK(PF_RMSNORM2);
        const float one = 1.f, zero = 0.f;
        CB(cublasSgemm(d->blas, CUBLAS_OP_T, CUBLAS_OP_N, E, N, H, &one, d->gate, H, xf, H, &zero, d->logits, E));
    }
    MARK(PF_ROUTER_GEMM);
    reap_k_route(d->logits, has_bias ? d->bias : NULL, has_mask ? d->mask : NULL, N, E, c->top_k, (int)mode,
                 d->slot_e, d->slot_w, d->slot_g, s);
    MARK(PF_ROUTE);
    if (g->bucketed) {  // padded layout (h_off[E + 1] = 1) unless the padding does not fit pair_cap
        reap_k_permute_padded(d->slot_e, N, S, E, (int)d->pair_cap, d->cnt, d->off, d->cursor, d->pair_tok,
                              d->pair_slot, d->slot_pos, s);
        CK(cudaMemcpyAsync(d->h_off, d->off, (size_t)(E + 2) * 4, cudaMemcpyDeviceToHost, s));
        CK(cudaMemcpyAsync(d->h_off + E + 2, d->cnt, (size_t)E * 4, cudaMemcpyDeviceToHost, s));
    } else {
        reap_k_permute(d->slot_e, N, S, E, d->cnt, d->off, d->cursor, d->pair_tok, d->pair_slot, d->slot_pos, s);
        CK(cudaMemcpyAsync(d->h_off, d->off, (size_t)(E + 1) * 4, cudaMemcpyDeviceToHost, s));
        d->h_off[E + 1] = 0;
    }
    if (g->trace)  // the model's choices are the first top_k slots of every token
        CK(cudaMemcpy2DAsync(g->trace + t0 * c->top_k, (size_t)c->top_k * 4, d->slot_e, (size_t)S * 4,
                             (size_t)c->top_k * 4, (size_t)N, cudaMemcpyDeviceToHost, s));
    CK(cudaGetLastError());
    MARK(PF_PERMUTE);
    CK(cudaEventRecord(ev[3], s));
    CK(cudaEventSynchronize(ev[3]));
    MARK(PF_HOST_SYNC);
    const int P = d->h_off[E];  // rows of the layout (pairs + padding when bucketed)
    const int *cnt = g->bucketed ? d->h_off + E + 2 : NULL;  // pairs per expert (bucketed)
    int pairs = cnt ? 0 : P;
    for (int e = 0; cnt && e < E; e++) pairs += cnt[e];
    d->pairs += pairs;
    d->diag_rows += P, d->diag_pairs += pairs;
    // experts over routed pairs only
    reap_k_scatter_rows(d->xb, d->slot_pos, N, S, d->pair_tok, P, H, d->xe, s);  // = reap_k_gather, one read per token
    MARK(PF_GATHER);
    double t_issue = reap_now();
    // gate|up in f32 (env REAP_GPU_GATEUP_BF16=1: bf16). Measured on an H200 (bench/RESULTS.md, fifth
    // pass) the bf16 output made the GEMM no faster, only SiLU (11 against 16 ms a layer), and moved
    // the statistics further from the CPU's (sums 7.9e-3 against 6.2e-3), so f32 stays the default.
    if (!g->gateup_bf16) {
        TRY(expert_gemms(g, d, 0, 2 * I, H, d->w13, d->xe, d->gy, CUDA_R_32F));
        MARK(PF_GEMM13);
        reap_k_silu_mul(d->gy, P, I, d->act, s);
    } else {
        TRY(expert_gemms(g, d, 0, 2 * I, H, d->w13, d->xe, d->gy, CUDA_R_16BF));
        MARK(PF_GEMM13);
        reap_k_silu_mul_bf16((const bf16 *)d->gy, P, I, d->act, s);
    }
    MARK(PF_SILU);
    float *Y = d->gy;
    TRY(expert_gemms(g, d, 1, H, I, d->w2, d->act, Y, CUDA_R_32F));
    MARK(PF_GEMM2);
    d->diag_issue_s += reap_now() - t_issue, d->diag_chunks++;
    for (int e = 0, mx = 0; e < E; e++) {
        int n = cnt ? cnt[e] : d->h_off[e + 1] - d->h_off[e];
        d->diag_small += n > 0 && n < 256;
        if (n > mx) d->diag_maxn += n - mx, mx = n;
    }
    CK(cudaGetLastError());
    CK(cudaEventRecord(ev[4], s));
    // statistics and combine
    // statistics of every pair and the weighted combine in one pass over the expert outputs
    // (reap_k_stats_combine; bit-identical h and the same statistics as reap_k_expert_stats +
    // reap_k_combine, checked in kernels/dev/dev_kernels)
    reap_k_count_tokens(has_mask ? d->mask : NULL, N, d->st_tokens, s);
    MARK(PF_STATS);
    reap_k_stats_combine(Y, d->slot_pos, d->slot_e, d->slot_g, d->slot_w, N, S, H, d->h, d->st_cnt, d->st_gate,
                         d->st_norm, d->st_reap, d->st_max, s);
    MARK(PF_COMBINE);
#undef MARK
    CK(cudaGetLastError());
    CK(cudaEventRecord(ev[5], s));
    // hidden states back on the output stream; the next chunk's compute goes on meanwhile
    CK(cudaStreamWaitEvent(d->s_out, ev[5], 0));
    CK(cudaEventRecord(d->out_beg[b], d->s_out));
    CK(cudaMemcpyAsync(h_host, d->h, (size_t)N * H * 4, cudaMemcpyDeviceToHost, d->s_out));
    CK(cudaEventRecord(d->out_end[b], d->s_out));
    d->out_pending[b] = 1;
    CK(cudaEventSynchronize(ev[5]));
    note_peak(d);
    if (d->in_pending[b]) {
        TRY(elapsed(d, d->in_beg[b], d->in_end[b], PH_H2D));
        d->in_pending[b] = 0;
    }
    const int map[4] = {PH_ATTN, PH_ROUTER, PH_EXPERTS, PH_STATS};
    for (int i = 0; i < 4; i++) TRY(elapsed(d, ev[i + 1], ev[i + 2], map[i]));
    for (int i = 0; g->prof && i < PF_N; i++) {
        float ms;
        CK(cudaEventElapsedTime(&ms, d->pev[i], d->pev[i + 1]));
        d->pf[i] += ms / 1e3;
    }
    return chunk_copy_times(d, b ^ 1);  // the previous chunk's copy out, long done by now
}

static int layer_dev(reap_gpu *g, gdev *d, const reap_layer_weights *w, float *h, const uint8_t *mask,
                     reap_router_mode mode, reap_layer_stats *out) {
    const reap_m2_config *c = &g->cfg;
    const int E = c->n_experts;
    CK(cudaSetDevice(d->ordinal));
    TRY(upload_weights(g, d, w));
    CK(cudaMemsetAsync(d->st_cnt, 0, (size_t)E * 8, d->s));
    CK(cudaMemsetAsync(d->st_tokens, 0, 8, d->s));
    CK(cudaMemsetAsync(d->st_gate, 0, (size_t)E * 8, d->s));
    CK(cudaMemsetAsync(d->st_norm, 0, (size_t)E * 8, d->s));
    CK(cudaMemsetAsync(d->st_reap, 0, (size_t)E * 8, d->s));
    reap_k_fill_neg_inf(d->st_max, E, d->s);
    // chunks of whole rows; chunk i+1's hidden states go in while chunk i computes, and chunk i's
    // come back while chunk i+1 computes (buffers alternate)
    // (a mode with 2 top_k slots per token runs each chunk as sub-chunks of fewer rows, cut the same
    // way inside every chunk, so that they too do not depend on the number of GPUs)
    const size_t tok_row = (size_t)g->T;
    size_t fit = d->slot_cap / (tok_row * slots_per_token(c, mode));
    const int CR = d->chunk_rows, cr = (int)(fit < 1 ? 1 : fit < (size_t)CR ? fit : CR);
    const int nch = reap_chunk_pieces(d->rows, CR, cr, NULL, NULL, 0);
    int *sub0 = (int *)reap_xmalloc(sizeof(int) * 2 * (size_t)nch), *subn = sub0 + nch;
    reap_chunk_pieces(d->rows, CR, cr, sub0, subn, nch);
#define CHUNK(i, r0, nr, t0)                                                                     \
    const int r0 = sub0[i];                                                                      \
    const int nr = subn[i];                                                                      \
    const size_t t0 = (size_t)(d->row0 + r0) * tok_row
    int st = REAP_OK;
    if (nch > 0) {
        CHUNK(0, r0, nr, t0);
        st = chunk_in(g, d, 0, h + t0 * c->hidden, mask ? mask + t0 : NULL, nr);
        (void)r0;
    }
    for (int i = 0; i < nch && st == REAP_OK; i++) {
        if (i + 1 < nch) {
            CHUNK(i + 1, r0, nr, t0);
            st = chunk_in(g, d, (i + 1) & 1, h + t0 * c->hidden, mask ? mask + t0 : NULL, nr);
            (void)r0;
            if (st != REAP_OK) break;
        }
        CHUNK(i, r0, nr, t0);
        (void)r0;
        st = run_chunk(g, d, i & 1, t0, h + t0 * c->hidden, mask != NULL, nr, mode, w->q_norm != NULL,
                       w->k_norm != NULL, w->bias != NULL);
    }
#undef CHUNK
    free(sub0);
    if (st != REAP_OK) return st;
    if (g->prof) {
        char line[1024];
        int n = snprintf(line, sizeof line, "PROFILE layer %d gpu %d ms:", w->layer, d->ordinal);
        double sum = 0;
        for (int i = 0; i < PF_N; i++) {
            sum += d->pf[i];
            if (n < (int)sizeof line) n += snprintf(line + n, sizeof line - n, " %s %.1f", pf_names[i], 1e3 * d->pf[i]);
            d->pf[i] = 0;
        }
        fprintf(stderr, "%s total %.1f\n", line, 1e3 * sum);
    }
    TRY(chunk_copy_times(d, 0));
    TRY(chunk_copy_times(d, 1));
    CK(cudaStreamSynchronize(d->s_out));
    unsigned long long *cnt = (unsigned long long *)reap_xmalloc((size_t)E * 8), tokens = 0;
    double *buf = (double *)reap_xmalloc((size_t)E * 8 * 4);
    cudaError_t e1 = cudaMemcpy(cnt, d->st_cnt, (size_t)E * 8, cudaMemcpyDeviceToHost);
    if (e1 == cudaSuccess) e1 = cudaMemcpy(&tokens, d->st_tokens, 8, cudaMemcpyDeviceToHost);
    if (e1 == cudaSuccess) e1 = cudaMemcpy(buf, d->st_gate, (size_t)E * 8, cudaMemcpyDeviceToHost);
    if (e1 == cudaSuccess) e1 = cudaMemcpy(buf + E, d->st_norm, (size_t)E * 8, cudaMemcpyDeviceToHost);
    if (e1 == cudaSuccess) e1 = cudaMemcpy(buf + 2 * E, d->st_reap, (size_t)E * 8, cudaMemcpyDeviceToHost);
    if (e1 == cudaSuccess) e1 = cudaMemcpy(buf + 3 * E, d->st_max, (size_t)E * 8, cudaMemcpyDeviceToHost);
    if (e1 == cudaSuccess) {
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
    CK(e1);
    return REAP_OK;
}

extern "C" int reap_gpu_layer_forward(reap_gpu *g, const reap_layer_weights *w, float *h, const uint8_t *mask,
                                      reap_router_mode mode, reap_layer_stats *st) {
    const reap_m2_config *c = &g->cfg;
    if (st->n_experts != c->n_experts)
        return reap_fail(REAP_EINVAL, "statistics have %d experts, the model %d", st->n_experts, c->n_experts);
    if ((int)mode < 0 || mode >= REAP_ROUTER_COUNT) return reap_fail(REAP_EINVAL, "bad router mode %d", (int)mode);
    reap_layer_stats *part = (reap_layer_stats *)reap_xcalloc((size_t)g->n, sizeof *part);
    int *status = (int *)reap_xcalloc((size_t)g->n, sizeof(int));
    for (int i = 0; i < g->n; i++) reap_layer_stats_init(&part[i], c->n_experts);
#pragma omp parallel for num_threads(g->n) schedule(static, 1) if (g->n > 1)
    for (int i = 0; i < g->n; i++) {
        gdev *d = &g->d[i];
        status[i] = layer_dev(g, d, w, h, mask, mode, &part[i]);
        if (status[i] != REAP_OK) snprintf(d->err, sizeof d->err, "%s", reap_err_msg());
    }
    int st_all = REAP_OK;
    for (int i = 0; i < g->n && st_all == REAP_OK; i++)
        if (status[i] != REAP_OK) st_all = reap_fail(status[i], "%s", g->d[i].err);
    if (st_all == REAP_OK)
        for (int i = 0; i < g->n; i++) reap_layer_stats_add(st, &part[i]);
    for (int i = 0; i < g->n; i++) reap_layer_stats_free(&part[i]);
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

extern "C" size_t reap_gpu_peak_mem(const reap_gpu *g) {
    size_t p = 0;
    for (int i = 0; g && i < g->n; i++) {
        size_t x = g->d[i].peak > g->d[i].allocated ? g->d[i].peak : g->d[i].allocated;
        if (x > p) p = x;
    }
    return p;
}

extern "C" void reap_gpu_times(const reap_gpu *g, double t[5]) {
    double x[REAP_GPU_PHASES];
    reap_gpu_phase_times(g, x);
    t[0] = x[0] + x[1] + x[6] + x[7];
    t[1] = x[2];
    t[2] = x[3];
    t[3] = x[4];
    t[4] = x[5];
}

extern "C" void reap_gpu_phase_times(const reap_gpu *g, double t[REAP_GPU_PHASES]) {
    for (int k = 0; k < REAP_GPU_PHASES; k++) {
        t[k] = 0;
        for (int i = 0; g && i < g->n; i++)
            if (g->d[i].t[k] > t[k]) t[k] = g->d[i].t[k];  // GPUs run side by side: the slowest counts
    }
}

extern "C" void reap_gpu_flops(const reap_gpu *g, double *experts, double *total) {
    *experts = g ? g->flop_experts : 0;
    *total = g ? g->flop_total : 0;
}

extern "C" int reap_gpu_chunk_rows(const reap_gpu *g) { return g && g->n ? g->d[0].chunk_rows : 0; }

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

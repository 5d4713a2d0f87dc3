// gpu_internal.cuh: what the files of the CUDA path share (kernels/gpu.cu: open, the forward and
// its steps; kernels/gpu_weights.cu: a layer's weights onto the GPU): the per-GPU state, the error
// macros, and the phase and step counts. Not a public header: the API is kernels/gpu.h.
#ifndef REAP_GPU_INTERNAL_CUH
#define REAP_GPU_INTERNAL_CUH

#include <pthread.h>

#include "kern.cuh"

#ifndef _Noreturn
#define _Noreturn __attribute__((noreturn))  // C11 keyword in common.h
#endif
extern "C" {
#include "common.h"
#include "gpu.h"
#include "stage.h"
}

typedef __nv_bfloat16 bf16;

enum { PH_H2D, PH_DEQUANT, PH_ATTN, PH_ROUTER, PH_EXPERTS, PH_STATS, PH_D2H, PH_WAIT };
enum { N_STEPS = 16 };  // the steps of a chunk (`steps` below)
typedef struct {
    int ordinal;
    int row0, rows;           // this GPU's rows of the packed batch
    reap_gpu_layout lay;      // every buffer's size (lib/gpu_layout.h)
    cudaStream_t s, s_copy, s_out;  // compute; weights + hidden states in; hidden states out
    cublasHandle_t blas;
    reap_k_xgemm_each *xe1;   // the expert GEMMs: one cached cuBLASLt matmul per expert
    size_t used_base;         // device bytes in use before our allocations
    size_t allocated, peak;
    size_t cap;               // bytes this GPU may use (--gpu-mem, or its free memory less 1 GiB)
    // One layer's weights as copied from the host (layout: reap_gpu_raw_layout). Layer L is turned
    // into bf16 (w13, w2, wqkv, wo) and its small f32 tensors copied to keep at the start of its
    // forward; from then on raw is free for layer L+1, which is staged while L computes. Parts of L+1
    // read before that are queued and copied as soon as L's dequantisation is done (lib/stage.h).
    uint8_t *raw;
    int raw_dt;               // expert dtype raw was sized for
    reap_gpu_raw_layout rl;
    float *keep;              // ln1, ln2, q_norm, k_norm, gate, bias of the computing layer
    int up_layer;             // the layer whose bf16 weights and keep are on the GPU (-1: none)
    const uint8_t *up_w1;     // its host w1 (with up_layer: the same weights again need no upload)
    cudaStream_t s_w;         // staged weight copies
    cudaEvent_t staged_ev;    // recorded on s_w after the last copy of a staged layer
    reap_stage st;            // what raw holds or may take (lib/stage.h), under g->mu
    reap_layer_weights stage_w;  // the layer being staged (host pointers)
    bf16 *w13, *w2;           // (E, 2I, H), (E, H, I)
    // With FP8 expert GEMMs (g->fp8) the same buffers hold the E4M3 codes (E, 2I, H) and (E, H, I),
    // each followed (256-byte aligned) by its block scales (E, out/128, reap_k_fp8_ld(in)); xe holds
    // the quantised activations (PP, H or I), then their scales (kern.cuh: the layout), then the
    // gather's scales row-major (xqr, scratch of reap_k_scatter_rows_fp8).
    uint8_t *w13q, *w2q, *xq;
    float *w13s, *w2s, *xqs, *xqr;
    bf16 *wqkv, *wo;          // ((nh+2nkv) hd, H), (H, nh hd)
    float *ln1, *ln2, *qn, *kn, *gate, *bias;  // (H), (H), (nh hd), (nkv hd), (E, H), (E): into keep
    float *gate_cat, *gate_lo;  // 3xTF32 router: the gate split (E, 2H) [hi | hi], (E, H) lo
    float2 *rope;             // (T, rot/2)
    // chunk workspace (N = chunk_rows * T tokens, S slots per token)
    float *hbuf[2], *h, *big, *logits;  // hidden states double-buffered: chunk i+1 in while i computes
    // Hidden states kept here between layers (g->resident; then hbuf and maskbuf are not allocated
    // and h points into hres): stream i's rows (rows*T, H) f32 at hres + i * rows*T*H, then their
    // mask (rows*T) u8 at mres, one allocation of reap_gpu_resident_bytes.
    float *hres;
    uint8_t *mres;
    int hres_loaded[REAP_GPU_MAX_STREAMS];  // stream i's rows have been copied in
    const uint8_t *mres_host;               // the host mask mres holds (NULL: none yet)
    bf16 *xb, *qb, *kb, *vb, *xe, *act;
    float *gy;
    int *slot_e, *slot_pos, *pair_tok, *pair_slot, *cnt, *off, *cursor;
    float *slot_w;
    double *slot_g;
    uint8_t *maskbuf[2], *mask;
    cudaEvent_t in_beg[2], in_end[2], out_beg[2], out_end[2], ev0, ev1;
    int in_pending[2], out_pending[2];  // copy timings not yet read
    int *h_off;               // (2E+2) pinned host copy of the offsets (E+2) and the counts (E)
    // statistics of the current layer
    unsigned long long *st_cnt, *st_tokens;
    double *st_gate, *st_norm, *st_reap, *st_max;
    cudaEvent_t step_ev[N_STEPS + 1];  // before the first step of a chunk and after each
    double step_s[N_STEPS];   // seconds of each step, this layer
    double t[REAP_GPU_PHASES];
    double pairs;             // routed pairs computed (for FLOP counts)
    char err[1024];
} gdev;

struct reap_gpu {
    reap_m2_config cfg;
    reap_gpu_params p;
    int rows, T, n;
    gdev *d;
    double flop_experts, flop_total;
    int *trace;      // (rows*T, top_k) host, or NULL
    int chunk_rows;  // rows per chunk, the same on every GPU (chunks are laid out over all rows)
    int resident;    // the hidden states stay on the GPUs between layers (plan.on_gpu)
    int fp8;         // the expert GEMMs run in FP8 (p.experts asked for it and the model allows)
    const char *fp8_why;  // p.experts asked for fp8 but the model does not allow it: why (else NULL)
    reap_gpu_hidden_plan plan;                // the choice (lib/gpu_layout.h); plan.device indexes d
    float *streams[REAP_GPU_MAX_STREAMS];     // resident: the host h of each stream seen, in order (stream i)
    int n_seen;
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
    do {                                \
        int st_ = (x);                  \
        if (st_ != REAP_OK) return st_; \
    } while (0)

int reap_gpu_dmalloc(gdev *d, void **p, size_t bytes);  // cudaMalloc counted in d->allocated, errors named
#define DMALLOC(p, bytes) TRY(reap_gpu_dmalloc(d, (void **)&(p), (bytes)))

// kernels/gpu_weights.cu: a layer's weights into raw (staged by the loader thread, or copied by the
// forward) and from raw to bf16 (w13, w2, wqkv, wo) and keep; raw is then free for the next layer.
int reap_gpu_upload_weights(reap_gpu *g, gdev *d, const reap_layer_weights *w);

#endif

// gpu_head.cu: `reap eval`'s final comparison on one GPU (kernels/gpu.h, reap_gpu_head_*). The
// lm_head lives on the GPU in f32; a chunk of positions of every model (normed on the host) goes up
// once; then, slab by slab of REAP_GPU_HEAD_SLAB vocabulary ids, one TF32 GEMM writes the slab's
// logits of all models and reap_k_eval_slab folds them into the running states
// (kernels/evalhead.cu), so no logit vector is ever stored whole. TF32 (10-bit mantissa, f32
// accumulation) rather than f32: 8x the GEMM rate; its error on a logit is ~1e-3 of the logit's
// scale, well below what the layers' bf16 GEMMs already move the hidden states, and the same
// for every model compared, so identical inputs still give exactly KL 0 (bench/RESULTS.md has the
// agreement with the CPU's float64 path).
#include <cublas_v2.h>
#include <stdlib.h>
#include <string.h>

#include "kern.cuh"

#ifndef _Noreturn
#define _Noreturn __attribute__((noreturn))
#endif
extern "C" {
#include "common.h"
#include "gpu.h"
}

struct reap_gpu_head {
    int dev, V, H, nm, P;  // device, vocabulary, hidden, models, positions per chunk
    cudaStream_t s;
    cublasHandle_t blas;
    float *W;              // (V, H) lm_head
    float *x;              // (nm P, H) normed hidden states
    float *z;              // (nm P, REAP_GPU_HEAD_SLAB) one slab of logits
    int *tg;               // (P) targets
    reap_eval_state *st;   // ((nm - 1) P)
    float *hx;             // page-locked host side of x
    reap_eval_state *hst;  // page-locked host side of st
    int32_t *htg;
};

#define HK(x)                                                                                                \
    do {                                                                                                     \
        cudaError_t e_ = (x);                                                                                \
        if (e_ != cudaSuccess)                                                                               \
            return reap_fail(REAP_EDEVICE, "GPU %d: %s: %s (%s:%d)", g->dev, #x, cudaGetErrorString(e_), __FILE__, \
                             __LINE__);                                                                      \
    } while (0)

static int cuda_ok(int device, cudaError_t e, const char *what) {
    return e == cudaSuccess ? REAP_OK : reap_fail(REAP_EDEVICE, "GPU %d: %s: %s", device, what, cudaGetErrorString(e));
}

// Everything the head needs on the GPU and page-locked on the host; on failure nothing is left.
static int head_alloc(reap_gpu_head *g, size_t mem_cap) {
    const int dev = g->dev;
    size_t fr = 0, tot = 0;
    char b1[32], b2[32];
    int st;
    if ((st = cuda_ok(dev, cudaSetDevice(dev), "cudaSetDevice")) ||
        (st = cuda_ok(dev, cudaMemGetInfo(&fr, &tot), "cudaMemGetInfo")))
        return st;
    size_t cap = mem_cap ? mem_cap : (fr > ((size_t)1 << 30) ? fr - ((size_t)1 << 30) : fr);
    if (cap > fr) cap = fr;
    g->P = reap_gpu_head_positions(g->V, g->H, g->nm, g->P, cap);
    if (g->P < 1)
        return reap_fail(REAP_ENOMEM, "GPU %d: the lm_head in f32 needs %s, %s can be used", dev,
                         reap_fmt_bytes((double)reap_gpu_head_bytes(g->V, g->H, g->nm, 1), b1, sizeof b1),
                         reap_fmt_bytes((double)cap, b2, sizeof b2));
    const size_t rows = (size_t)g->nm * g->P, n_st = (size_t)(g->nm - 1) * g->P;
    if ((st = cuda_ok(dev, cudaStreamCreateWithFlags(&g->s, cudaStreamNonBlocking), "stream"))) return st;
    if (cublasCreate(&g->blas) != CUBLAS_STATUS_SUCCESS)
        return reap_fail(REAP_EDEVICE, "GPU %d: cublasCreate failed", dev);
    cublasSetStream(g->blas, g->s);
    if ((st = cuda_ok(dev, cudaMalloc((void **)&g->W, (size_t)g->V * g->H * 4), "lm_head")) ||
        (st = cuda_ok(dev, cudaMalloc((void **)&g->x, rows * g->H * 4), "hidden states")) ||
        (st = cuda_ok(dev, cudaMalloc((void **)&g->z, rows * REAP_GPU_HEAD_SLAB * 4), "logits slab")) ||
        (st = cuda_ok(dev, cudaMalloc((void **)&g->tg, (size_t)g->P * 4), "targets")) ||
        (st = cuda_ok(dev, cudaMalloc((void **)&g->st, n_st * sizeof(reap_eval_state)), "states")) ||
        (st = cuda_ok(dev, cudaHostAlloc((void **)&g->hx, rows * g->H * 4, cudaHostAllocDefault), "pinned input")) ||
        (st = cuda_ok(dev, cudaHostAlloc((void **)&g->hst, n_st * sizeof(reap_eval_state), cudaHostAllocDefault),
                      "pinned states")) ||
        (st = cuda_ok(dev, cudaHostAlloc((void **)&g->htg, (size_t)g->P * 4, cudaHostAllocDefault), "pinned targets")))
        return st;
    return REAP_OK;
}

extern "C" int reap_gpu_head_open(int device, size_t mem_cap, int V, int H, int n_models, int max_pos,
                                  reap_gpu_head **out) {
    *out = NULL;
    reap_gpu_head *g = (reap_gpu_head *)reap_xcalloc(1, sizeof *g);
    g->dev = device, g->V = V, g->H = H, g->nm = n_models, g->P = max_pos;
    int st = head_alloc(g, mem_cap);
    if (st) {
        reap_gpu_head_close(g);
        return st;
    }
    *out = g;
    return REAP_OK;
}

extern "C" int reap_gpu_head_positions_per_chunk(const reap_gpu_head *g) { return g->P; }
extern "C" float *reap_gpu_head_input(reap_gpu_head *g) { return g->hx; }

extern "C" int reap_gpu_head_upload(reap_gpu_head *g, int v0, int n, const float *rows) {
    HK(cudaSetDevice(g->dev));
    HK(cudaMemcpy(g->W + (size_t)v0 * g->H, rows, (size_t)n * g->H * 4, cudaMemcpyHostToDevice));
    return REAP_OK;
}

extern "C" int reap_gpu_head_compare(reap_gpu_head *g, int P, const int32_t *targets, reap_eval_state *out) {
    if (P < 1 || P > g->P) return reap_fail(REAP_EINVAL, "GPU head: %d positions, 1 to %d", P, g->P);
    HK(cudaSetDevice(g->dev));
    const int nm = g->nm, H = g->H, V = g->V, n_st = (nm - 1) * P;
    memcpy(g->htg, targets, sizeof(int32_t) * P);
    for (int i = 0; i < n_st; i++) reap_eval_state_init(&g->hst[i]);
    HK(cudaMemcpyAsync(g->x, g->hx, (size_t)nm * P * H * 4, cudaMemcpyHostToDevice, g->s));
    HK(cudaMemcpyAsync(g->tg, g->htg, (size_t)P * 4, cudaMemcpyHostToDevice, g->s));
    HK(cudaMemcpyAsync(g->st, g->hst, (size_t)n_st * sizeof(reap_eval_state), cudaMemcpyHostToDevice, g->s));
    const float one = 1, zero = 0;
    for (int v0 = 0; v0 < V; v0 += REAP_GPU_HEAD_SLAB) {
        const int n = V - v0 < REAP_GPU_HEAD_SLAB ? V - v0 : REAP_GPU_HEAD_SLAB;
        // row-major z (nm P, SLAB) = x (nm P, H) . W[v0 : v0 + n]^T: column-major z^T = W_slab^T x^T
        cublasStatus_t b = cublasGemmEx(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, n, nm * P, H, &one, g->W + (size_t)v0 * H,
                                        CUDA_R_32F, H, g->x, CUDA_R_32F, H, &zero, g->z, CUDA_R_32F,
                                        REAP_GPU_HEAD_SLAB, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT);
        if (b != CUBLAS_STATUS_SUCCESS)
            return reap_fail(REAP_EDEVICE, "GPU %d: lm_head GEMM: cuBLAS status %d", g->dev, (int)b);
        reap_k_eval_slab(g->z, REAP_GPU_HEAD_SLAB, P, nm, v0, n, g->tg, g->st, g->s);
        HK(cudaGetLastError());
    }
    HK(cudaMemcpyAsync(g->hst, g->st, (size_t)n_st * sizeof(reap_eval_state), cudaMemcpyDeviceToHost, g->s));
    HK(cudaStreamSynchronize(g->s));
    memcpy(out, g->hst, (size_t)n_st * sizeof(reap_eval_state));
    return REAP_OK;
}

extern "C" void reap_gpu_head_close(reap_gpu_head *g) {
    if (!g) return;
    cudaSetDevice(g->dev);
    if (g->s) cudaStreamSynchronize(g->s);
    cudaFree(g->W), cudaFree(g->x), cudaFree(g->z), cudaFree(g->tg), cudaFree(g->st);
    cudaFreeHost(g->hx), cudaFreeHost(g->hst), cudaFreeHost(g->htg);
    if (g->blas) cublasDestroy(g->blas);
    if (g->s) cudaStreamDestroy(g->s);
    free(g);
}

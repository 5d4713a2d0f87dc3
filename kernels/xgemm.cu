// xgemm.cu: bucketed expert GEMMs (kern.cuh, reap_k_expert_gemms_bucketed). Issuing one cuBLAS
// GEMM per expert costs ~50 us of host time each, 512 per 32k-token chunk of MiniMax-M2: the host,
// not the GPU, set the expert phase's speed (bench/RESULTS.md, third pass). Here experts with the
// same row count share one cublasGemmBatchedEx (cuBLAS's grouped GEMM cannot write f32 outputs
// from bf16 operands on cuBLAS 13.0); with the padded layout of reap_k_permute_padded the row
// counts fall into a few size classes, so a chunk issues a few dozen GEMMs.
#include <stdlib.h>

#include "kern.cuh"

typedef struct {
    int n, e;
} xrows;

static int by_rows(const void *a, const void *b) {
    const xrows *x = (const xrows *)a, *y = (const xrows *)b;
    return x->n != y->n ? (x->n < y->n ? -1 : 1) : (x->e < y->e ? -1 : x->e > y->e);
}

// off (E+1) host; W (E, m, k), A (off[E], k) bf16; C (off[E], m) ctype (f32 or bf16); hp/dp (3E)
// pointer scratch.
cublasStatus_t reap_k_expert_gemms_bucketed_ex(cublasHandle_t h, cudaStream_t s, const int *off, int E, int m, int k,
                                               const __nv_bfloat16 *W, const __nv_bfloat16 *A, void *C,
                                               cudaDataType_t ctype, void **hp, void **dp, int *launches) {
    const size_t csize = ctype == CUDA_R_16BF ? 2 : 4;
    if (launches) *launches = 0;
    xrows stack[1024], *r = E <= 1024 ? stack : (xrows *)malloc((size_t)E * sizeof(xrows));
    if (!r) return CUBLAS_STATUS_ALLOC_FAILED;
    int used = 0;
    for (int e = 0; e < E; e++)
        if (off[e + 1] > off[e]) r[used].n = off[e + 1] - off[e], r[used].e = e, used++;
    qsort(r, (size_t)used, sizeof *r, by_rows);
    // experts in order of row count: W pointers at hp[0..), A at hp[E..), C at hp[2E..)
    for (int j = 0; j < used; j++) {
        int e = r[j].e;
        hp[j] = (void *)(W + (size_t)e * m * k);
        hp[E + j] = (void *)(A + (size_t)off[e] * k);
        hp[2 * E + j] = (void *)((char *)C + (size_t)off[e] * m * csize);
    }
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    if (used > 0 && cudaMemcpyAsync(dp, hp, 3 * (size_t)E * sizeof(void *), cudaMemcpyHostToDevice, s) != cudaSuccess)
        st = CUBLAS_STATUS_EXECUTION_FAILED;
    const float one = 1.f, zero = 0.f;
    for (int j0 = 0, j1; st == CUBLAS_STATUS_SUCCESS && j0 < used; j0 = j1) {
        for (j1 = j0 + 1; j1 < used && r[j1].n == r[j0].n; j1++) {
        }
        // row-major C_e (n, m) = A_e (n, k) W_e^T: column-major C^T (m, n) = W_e^T (m, k) A_e^T (k, n)
        st = cublasGemmBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, r[j0].n, k, &one, (const void *const *)(dp + j0),
                                 CUDA_R_16BF, k, (const void *const *)(dp + E + j0), CUDA_R_16BF, k, &zero,
                                 dp + 2 * E + j0, ctype, m, j1 - j0, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        if (launches) ++*launches;
    }
    if (r != stack) free(r);
    return st;
}

cublasStatus_t reap_k_expert_gemms_bucketed(cublasHandle_t h, cudaStream_t s, const int *off, int E, int m, int k,
                                            const __nv_bfloat16 *W, const __nv_bfloat16 *A, float *C, void **hp,
                                            void **dp, int *launches) {
    return reap_k_expert_gemms_bucketed_ex(h, s, off, E, m, k, W, A, C, CUDA_R_32F, hp, dp, launches);
}

// xgemm_each.cu: the expert GEMMs as one plain (non-batched) cuBLASLt matmul per expert, with the
// matmul descriptor, the three layouts and the algorithm of every row count found once and cached.
//
// Why (bench/RESULTS.md, fifth pass, H200, 1024 x 2048 tokens through 4 MiniMax-M2 layers): inside
// the layer, one plain GEMM per expert ran the gate|up and down GEMMs of a chunk in 13.3 ms against
// 15.5 ms for one batched pointer-array GEMM per size class (kernels/xgemm.cu, since deleted; also
// the autotuned batched cuBLASLt variant lost: git history), but through cublasGemmEx each call
// cost ~56 us of host time (the heuristic query), 15.7 ms per chunk: the host set the pace. Here
// the query runs once per (shape, row count) and a call costs a few us. With the padded layout
// (reap_k_permute_padded) the row counts are the few size classes of reap_k_pad_rows, so the cache
// stays small; a row count it has no room for, or a pointer not 256-byte aligned, goes through
// cublasGemmEx.
#include <cublasLt.h>
#include <stdlib.h>
#include <string.h>

#include "kern.cuh"

enum { EACH_CACHE = 512, EACH_MAX_STREAMS = 4 };

typedef struct {
    int m, k, n;
    cudaDataType_t ct;
    int fp8;  // block-scaled E4M3 operands (reap_k_expert_gemms_fp8)
    int ok;  // 0: no algorithm: cublasGemmEx for this row count
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
} each_entry;

struct reap_k_xgemm_each {
    cublasLtHandle_t lt;
    void *ws;  // = wss[0], the caller's stream's
    size_t ws_bytes;
    // reap_k_xgemm_each_streams: the experts spread over n_streams streams, the caller's and
    // side[1..n_streams), each with its own workspace; fork and join[] order them with the caller's
    int n_streams;
    cudaStream_t side[EACH_MAX_STREAMS];
    void *wss[EACH_MAX_STREAMS];
    cudaEvent_t fork, join[EACH_MAX_STREAMS];
    int n;
    each_entry e[EACH_CACHE];
};

void reap_k_xgemm_each_destroy(reap_k_xgemm_each *x) {
    if (!x) return;
    for (int i = 0; i < x->n; i++) {
        each_entry *t = &x->e[i];
        if (t->lc) cublasLtMatrixLayoutDestroy(t->lc);
        if (t->lb) cublasLtMatrixLayoutDestroy(t->lb);
        if (t->la) cublasLtMatrixLayoutDestroy(t->la);
        if (t->desc) cublasLtMatmulDescDestroy(t->desc);
    }
    for (int i = 1; i < EACH_MAX_STREAMS; i++) {
        if (x->side[i]) cudaStreamDestroy(x->side[i]);
        if (x->join[i]) cudaEventDestroy(x->join[i]);
        if (x->wss[i]) cudaFree(x->wss[i]);
    }
    if (x->fork) cudaEventDestroy(x->fork);
    if (x->ws) cudaFree(x->ws);
    if (x->lt) cublasLtDestroy(x->lt);
    free(x);
}

cublasStatus_t reap_k_xgemm_each_create(reap_k_xgemm_each **out) {
    *out = NULL;
    reap_k_xgemm_each *x = (reap_k_xgemm_each *)calloc(1, sizeof *x);
    if (!x) return CUBLAS_STATUS_ALLOC_FAILED;
    cublasStatus_t st = cublasLtCreate(&x->lt);
    x->ws_bytes = (size_t)32 << 20;
    if (st == CUBLAS_STATUS_SUCCESS && cudaMalloc(&x->ws, x->ws_bytes) != cudaSuccess) {
        cudaGetLastError();
        st = CUBLAS_STATUS_ALLOC_FAILED;
    }
    if (st != CUBLAS_STATUS_SUCCESS) {
        reap_k_xgemm_each_destroy(x);
        return st;
    }
    x->wss[0] = x->ws, x->n_streams = 1;
    *out = x;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t reap_k_xgemm_each_streams(reap_k_xgemm_each *x, int n) {
    if (n < 1) n = 1;
    if (n > EACH_MAX_STREAMS) n = EACH_MAX_STREAMS;
    if (n > 1 && !x->fork && cudaEventCreateWithFlags(&x->fork, cudaEventDisableTiming) != cudaSuccess) goto fail;
    for (int i = 1; i < n; i++) {
        if (!x->side[i] && cudaStreamCreateWithFlags(&x->side[i], cudaStreamNonBlocking) != cudaSuccess) goto fail;
        if (!x->join[i] && cudaEventCreateWithFlags(&x->join[i], cudaEventDisableTiming) != cudaSuccess) goto fail;
        if (!x->wss[i] && cudaMalloc(&x->wss[i], x->ws_bytes) != cudaSuccess) goto fail;
    }
    x->n_streams = n;
    return CUBLAS_STATUS_SUCCESS;
fail:
    cudaGetLastError();
    return CUBLAS_STATUS_ALLOC_FAILED;
}

// The streams of one call: fork() makes the side streams wait for the caller's stream s; pick()
// gives each expert the stream with the fewest rows so far (the experts' row counts differ);
// join() makes s wait for them all.
typedef struct {
    cudaStream_t st[EACH_MAX_STREAMS];
    long long rows[EACH_MAX_STREAMS];
    int n;
} each_fan;

static cublasStatus_t fan_fork(reap_k_xgemm_each *x, cudaStream_t s, each_fan *f) {
    memset(f, 0, sizeof *f);
    f->n = x->n_streams, f->st[0] = s;
    if (f->n > 1 && cudaEventRecord(x->fork, s) != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
    for (int i = 1; i < f->n; i++) {
        f->st[i] = x->side[i];
        if (cudaStreamWaitEvent(x->side[i], x->fork, 0) != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
    }
    return CUBLAS_STATUS_SUCCESS;
}

static int fan_pick(each_fan *f, int rows) {
    int b = 0;
    for (int i = 1; i < f->n; i++)
        if (f->rows[i] < f->rows[b]) b = i;
    f->rows[b] += rows;
    return b;
}

static cublasStatus_t fan_join(reap_k_xgemm_each *x, const each_fan *f, cublasStatus_t st) {
    for (int i = 1; i < f->n; i++)  // always joined, also after a failure: s must not run ahead of them
        if ((cudaEventRecord(x->join[i], f->st[i]) != cudaSuccess ||
             cudaStreamWaitEvent(f->st[0], x->join[i], 0) != cudaSuccess) &&
            st == CUBLAS_STATUS_SUCCESS)
            st = CUBLAS_STATUS_EXECUTION_FAILED;
    return st;
}

// Row-major C (n, m) ctype = A (n, k) * W (m, k)^T is column-major C^T (m, n) = op(W^T) (m, k) *
// A^T (k, n), W^T stored (k, m) with transa = T ("TN": also the only form of FP8 on Hopper). bf16
// operands, or with fp8 E4M3 ones whose scales are BLK128x128 (W) and VEC128 (A), their pointers set
// before each call.
static each_entry *each_get(reap_k_xgemm_each *x, int m, int k, int n, cudaDataType_t ct, int fp8) {
    for (int i = 0; i < x->n; i++) {
        const each_entry *t = &x->e[i];
        if (t->n == n && t->m == m && t->k == k && t->ct == ct && t->fp8 == fp8) return &x->e[i];
    }
    if (x->n == EACH_CACHE) return NULL;
    each_entry *t = &x->e[x->n++];
    memset(t, 0, sizeof *t);
    t->m = m, t->k = k, t->n = n, t->ct = ct, t->fp8 = fp8;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    const cudaDataType_t at = fp8 ? CUDA_R_8F_E4M3 : CUDA_R_16BF;
    if (cublasLtMatmulDescCreate(&t->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatmulDescSetAttribute(t->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatmulDescSetAttribute(t->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatrixLayoutCreate(&t->la, at, k, m, k) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatrixLayoutCreate(&t->lb, at, k, n, k) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatrixLayoutCreate(&t->lc, ct, m, n, m) != CUBLAS_STATUS_SUCCESS)
        return t;  // ok = 0
    if (fp8) {
        int32_t blk = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F, vec = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
        const void *any = x->ws;  // a device pointer for the query; each call sets the real ones
        if (cublasLtMatmulDescSetAttribute(t->desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &blk, sizeof blk) !=
                CUBLAS_STATUS_SUCCESS ||
            cublasLtMatmulDescSetAttribute(t->desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &vec, sizeof vec) !=
                CUBLAS_STATUS_SUCCESS ||
            cublasLtMatmulDescSetAttribute(t->desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &any, sizeof any) !=
                CUBLAS_STATUS_SUCCESS ||
            cublasLtMatmulDescSetAttribute(t->desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &any, sizeof any) !=
                CUBLAS_STATUS_SUCCESS)
            return t;
    }
    cublasLtMatmulPreference_t pref;
    if (cublasLtMatmulPreferenceCreate(&pref) != CUBLAS_STATUS_SUCCESS) return t;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &x->ws_bytes, sizeof x->ws_bytes);
    cublasLtMatmulHeuristicResult_t r;
    int found = 0;
    if (cublasLtMatmulAlgoGetHeuristic(x->lt, t->desc, t->la, t->lb, t->lc, t->lc, pref, 1, &r, &found) ==
            CUBLAS_STATUS_SUCCESS &&
        found > 0 && r.state == CUBLAS_STATUS_SUCCESS)
        t->algo = r.algo, t->ok = 1;
    cublasLtMatmulPreferenceDestroy(pref);
    return t;
}

cublasStatus_t reap_k_xgemm_each_prepare(reap_k_xgemm_each *x, int m, int k, cudaDataType_t ctype, const int *ns, int nn) {
    for (int i = 0; i < nn; i++)
        if (!each_get(x, m, k, ns[i], ctype, 0)) return CUBLAS_STATUS_ALLOC_FAILED;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t reap_k_xgemm_each_prepare_fp8(reap_k_xgemm_each *x, int m, int k, cudaDataType_t ctype, const int *ns,
                                             int nn) {
    for (int i = 0; i < nn; i++) {
        const each_entry *t = each_get(x, m, k, ns[i], ctype, 1);
        if (!t) return CUBLAS_STATUS_ALLOC_FAILED;
        if (!t->ok) return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    return CUBLAS_STATUS_SUCCESS;
}

static int aligned256(const void *p) { return ((size_t)p & 255) == 0; }

cublasStatus_t reap_k_expert_gemms_each(reap_k_xgemm_each *x, cublasHandle_t h, cudaStream_t s, const int *off, int E,
                                        int m, int k, const __nv_bfloat16 *W, const __nv_bfloat16 *A, void *C,
                                        cudaDataType_t ctype, int *launches) {
    const size_t csize = ctype == CUDA_R_16BF ? 2 : 4;
    const float one = 1.f, zero = 0.f;
    if (launches) *launches = 0;
    each_fan f;
    cublasStatus_t st = fan_fork(x, s, &f);
    for (int e = 0; e < E && st == CUBLAS_STATUS_SUCCESS; e++) {
        const int n = off[e + 1] - off[e];
        if (n <= 0) continue;
        const __nv_bfloat16 *w = W + (size_t)e * m * k, *a = A + (size_t)off[e] * k;
        void *c = (char *)C + (size_t)off[e] * m * csize;
        each_entry *t = each_get(x, m, k, n, ctype, 0);
        if (t && t->ok && aligned256(w) && aligned256(a) && aligned256(c)) {
            const int i = fan_pick(&f, n);
            st = cublasLtMatmul(x->lt, t->desc, &one, w, t->la, a, t->lb, &zero, c, t->lc, c, t->lc, &t->algo,
                                x->wss[i], x->ws_bytes, f.st[i]);
        } else {  // on h's stream, s
            st = cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, w, CUDA_R_16BF, k, a, CUDA_R_16BF, k, &zero, c,
                              ctype, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        }
        if (st == CUBLAS_STATUS_SUCCESS && launches) ++*launches;
    }
    return fan_join(x, &f, st);
}

cublasStatus_t reap_k_expert_gemms_fp8(reap_k_xgemm_each *x, cudaStream_t s, const int *off, int E, int m, int k,
                                       const uint8_t *W, const float *Ws, const uint8_t *A, const float *As, void *C,
                                       cudaDataType_t ctype, int *launches) {
    const float one = 1.f, zero = 0.f;
    const size_t csize = ctype == CUDA_R_16BF ? 2 : 4;
    const size_t ws_e = (size_t)(m / 128) * reap_k_fp8_ld(k), KB = (size_t)k / 128;
    if (launches) *launches = 0;
    each_fan f;
    cublasStatus_t st = fan_fork(x, s, &f);
    for (int e = 0; e < E && st == CUBLAS_STATUS_SUCCESS; e++) {
        const int n = off[e + 1] - off[e];
        if (n <= 0) continue;
        each_entry *t = each_get(x, m, k, n, ctype, 1);
        if (!t || !t->ok) {
            st = CUBLAS_STATUS_NOT_SUPPORTED;
            break;
        }
        // the scale pointers are read when the matmul is enqueued, so one descriptor serves every expert
        const void *sa = Ws + e * ws_e, *sb = As + (size_t)off[e] * KB;
        st = cublasLtMatmulDescSetAttribute(t->desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sa, sizeof sa);
        if (st == CUBLAS_STATUS_SUCCESS)
            st = cublasLtMatmulDescSetAttribute(t->desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &sb, sizeof sb);
        void *c = (char *)C + (size_t)off[e] * m * csize;
        const int i = fan_pick(&f, n);
        if (st == CUBLAS_STATUS_SUCCESS)
            st = cublasLtMatmul(x->lt, t->desc, &one, W + (size_t)e * m * k, t->la, A + (size_t)off[e] * k, t->lb,
                                &zero, c, t->lc, c, t->lc, &t->algo, x->wss[i], x->ws_bytes, f.st[i]);
        if (st == CUBLAS_STATUS_SUCCESS && launches) ++*launches;
    }
    return fan_join(x, &f, st);
}

// xgemm.cu: bucketed expert GEMMs (kern.cuh, reap_k_expert_gemms_bucketed). Issuing one cuBLAS
// GEMM per expert costs ~50 us of host time each, 512 per 32k-token chunk of MiniMax-M2: the host,
// not the GPU, set the expert phase's speed (bench/RESULTS.md, third pass). Here experts with the
// same row count share one cublasGemmBatchedEx (cuBLAS's grouped GEMM cannot write f32 outputs
// from bf16 operands on cuBLAS 13.0); with the padded layout of reap_k_permute_padded the row
// counts fall into a few size classes, so a chunk issues a few dozen GEMMs.
#include <cublasLt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern.cuh"

typedef struct {
    int n, e;
} xrows;

static int by_rows(const void *a, const void *b) {
    const xrows *x = (const xrows *)a, *y = (const xrows *)b;
    return x->n != y->n ? (x->n < y->n ? -1 : 1) : (x->e < y->e ? -1 : x->e > y->e);
}

// The non-empty experts of off (E+1, host) in order of row count into r (E), their W, A and C
// pointers in that order into hp (W at hp[0..), A at hp[E..), C at hp[2E..)) and copied to dp on s.
// W (E, m, k), A (off[E], k) bf16; C (off[E], m) of csize-byte elements. *used gets the count.
static cublasStatus_t order_experts(cudaStream_t s, const int *off, int E, int m, int k, const __nv_bfloat16 *W,
                                    const __nv_bfloat16 *A, void *C, size_t csize, void **hp, void **dp, xrows *r,
                                    int *used) {
    int u = 0;
    for (int e = 0; e < E; e++)
        if (off[e + 1] > off[e]) r[u].n = off[e + 1] - off[e], r[u].e = e, u++;
    qsort(r, (size_t)u, sizeof *r, by_rows);
    for (int j = 0; j < u; j++) {
        int e = r[j].e;
        hp[j] = (void *)(W + (size_t)e * m * k);
        hp[E + j] = (void *)(A + (size_t)off[e] * k);
        hp[2 * E + j] = (void *)((char *)C + (size_t)off[e] * m * csize);
    }
    *used = u;
    if (u > 0 && cudaMemcpyAsync(dp, hp, 3 * (size_t)E * sizeof(void *), cudaMemcpyHostToDevice, s) != cudaSuccess)
        return CUBLAS_STATUS_EXECUTION_FAILED;
    return CUBLAS_STATUS_SUCCESS;
}

// off (E+1) host; W (E, m, k), A (off[E], k) bf16; C (off[E], m) ctype (f32 or bf16); hp/dp (3E)
// pointer scratch.
cublasStatus_t reap_k_expert_gemms_bucketed_ex(cublasHandle_t h, cudaStream_t s, const int *off, int E, int m, int k,
                                               const __nv_bfloat16 *W, const __nv_bfloat16 *A, void *C,
                                               cudaDataType_t ctype, void **hp, void **dp, int *launches) {
    if (launches) *launches = 0;
    xrows stack[1024], *r = E <= 1024 ? stack : (xrows *)malloc((size_t)E * sizeof(xrows));
    if (!r) return CUBLAS_STATUS_ALLOC_FAILED;
    int used = 0;
    cublasStatus_t st = order_experts(s, off, E, m, k, W, A, C, ctype == CUDA_R_16BF ? 2 : 4, hp, dp, r, &used);
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

// ---------------------------------------------------------------------------------------------
// The same GEMMs through cuBLASLt with an autotuned algorithm per size class (kern.cuh,
// reap_k_expert_gemms_lt). cublasGemmBatchedEx picks its kernel by a fixed heuristic; cuBLASLt
// lists candidate algorithms for the exact (m, k, n, ctype) and pointer-array batch mode, and the
// tuner times each on the device and keeps the fastest (cublasGemmBatchedEx itself is one of the
// contestants, so a class never gets slower than the old path by more than timing noise).

#define LT_CANDIDATES 32

typedef struct {
    int m, k, n;
    cudaDataType_t ct;
    int use_lt;                  // 0: cublasGemmBatchedEx was fastest or no Lt algorithm ran
    cublasLtMatmulAlgo_t algo;
    unsigned align;              // bytes every A/B/C pointer must be aligned to for algo
    float ms_lt, ms_old;         // tuned times per GEMM of the tuning batch
    int batch;                   // batch count the class was tuned at
    int cands;                   // Lt candidates timed
    cublasLtMatrixLayout_t la, lb, lc;
} lt_entry;

struct reap_k_xgemm_lt {
    cublasLtHandle_t lt;
    cublasLtMatmulDesc_t op;
    void *ws;
    size_t ws_bytes;
    lt_entry *ent;
    int n_ent, cap_ent;
    void **thp, **tdp;  // (3 LT_TUNE_MAX) pinned host / device pointer arrays of the tuner
    cudaEvent_t ev0, ev1;
    int lazy;
    double tune_s;      // host seconds spent tuning so far
};

#define LT_TUNE_MAX 64

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

void reap_k_xgemm_lt_destroy(reap_k_xgemm_lt *x) {
    if (!x) return;
    for (int i = 0; i < x->n_ent; i++) {
        cublasLtMatrixLayoutDestroy(x->ent[i].la);
        cublasLtMatrixLayoutDestroy(x->ent[i].lb);
        cublasLtMatrixLayoutDestroy(x->ent[i].lc);
    }
    free(x->ent);
    if (x->op) cublasLtMatmulDescDestroy(x->op);
    if (x->lt) cublasLtDestroy(x->lt);
    cudaFree(x->ws);
    cudaFree(x->tdp);
    cudaFreeHost(x->thp);
    if (x->ev0) cudaEventDestroy(x->ev0);
    if (x->ev1) cudaEventDestroy(x->ev1);
    free(x);
}

cublasStatus_t reap_k_xgemm_lt_create(reap_k_xgemm_lt **out, size_t ws_bytes, int lazy) {
    *out = NULL;
    reap_k_xgemm_lt *x = (reap_k_xgemm_lt *)calloc(1, sizeof *x);
    if (!x) return CUBLAS_STATUS_ALLOC_FAILED;
    x->ws_bytes = ws_bytes ? ws_bytes : (size_t)32 << 20;
    x->lazy = lazy;
    cublasStatus_t st = cublasLtCreate(&x->lt);
    if (st == CUBLAS_STATUS_SUCCESS) st = cublasLtMatmulDescCreate(&x->op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    int32_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulDescSetAttribute(x->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulDescSetAttribute(x->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
    if (st == CUBLAS_STATUS_SUCCESS &&
        (cudaMalloc(&x->ws, x->ws_bytes) != cudaSuccess ||
         cudaMalloc((void **)&x->tdp, 3 * LT_TUNE_MAX * sizeof(void *)) != cudaSuccess ||
         cudaMallocHost((void **)&x->thp, 3 * LT_TUNE_MAX * sizeof(void *)) != cudaSuccess ||
         cudaEventCreate(&x->ev0) != cudaSuccess || cudaEventCreate(&x->ev1) != cudaSuccess))
        st = CUBLAS_STATUS_ALLOC_FAILED;
    if (st != CUBLAS_STATUS_SUCCESS) {
        reap_k_xgemm_lt_destroy(x);
        return st;
    }
    *out = x;
    return st;
}

static lt_entry *lt_find(reap_k_xgemm_lt *x, int m, int k, int n, cudaDataType_t ct) {
    for (int i = 0; i < x->n_ent; i++)
        if (x->ent[i].m == m && x->ent[i].k == k && x->ent[i].n == n && x->ent[i].ct == ct) return &x->ent[i];
    return NULL;
}

static cublasStatus_t lt_layout(cublasLtMatrixLayout_t *l, cudaDataType_t t, int rows, int cols) {
    cublasStatus_t st = cublasLtMatrixLayoutCreate(l, t, (uint64_t)rows, (uint64_t)cols, rows);
    uint32_t mode = CUBLASLT_BATCH_MODE_POINTER_ARRAY;
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_MODE, &mode, sizeof mode);
    return st;
}

static cublasStatus_t lt_batch(lt_entry *t, int batch) {
    int32_t b = batch;
    cublasStatus_t st = cublasLtMatrixLayoutSetAttribute(t->la, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &b, sizeof b);
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatrixLayoutSetAttribute(t->lb, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &b, sizeof b);
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatrixLayoutSetAttribute(t->lc, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &b, sizeof b);
    return st;
}

// A new cache entry with its layouts: column-major W^T source (k, m), A^T (k, n), C^T (m, n).
static lt_entry *lt_add(reap_k_xgemm_lt *x, int m, int k, int n, cudaDataType_t ct) {
    if (x->n_ent == x->cap_ent) {
        int cap = x->cap_ent ? 2 * x->cap_ent : 64;
        lt_entry *e = (lt_entry *)realloc(x->ent, (size_t)cap * sizeof *e);
        if (!e) return NULL;
        x->ent = e, x->cap_ent = cap;
    }
    lt_entry *t = &x->ent[x->n_ent];
    memset(t, 0, sizeof *t);
    t->m = m, t->k = k, t->n = n, t->ct = ct;
    if (lt_layout(&t->la, CUDA_R_16BF, k, m) != CUBLAS_STATUS_SUCCESS ||
        lt_layout(&t->lb, CUDA_R_16BF, k, n) != CUBLAS_STATUS_SUCCESS ||
        lt_layout(&t->lc, ct, m, n) != CUBLAS_STATUS_SUCCESS) {
        cublasLtMatrixLayoutDestroy(t->la), cublasLtMatrixLayoutDestroy(t->lb), cublasLtMatrixLayoutDestroy(t->lc);
        return NULL;
    }
    x->n_ent++;
    return t;
}

static unsigned lt_algo_align(const cublasLtMatmulAlgo_t *a) {
    static const cublasLtMatmulAlgoCapAttributes_t which[] = {
        CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_A_BYTES, CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_C_BYTES, CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_D_BYTES};
    unsigned al = 16;
    for (int i = 0; i < 4; i++) {
        uint32_t v = 0;
        size_t got = 0;
        if (cublasLtMatmulAlgoCapGetAttribute(a, which[i], &v, sizeof v, &got) == CUBLAS_STATUS_SUCCESS && v > al)
            al = v;
    }
    return al;
}

// One timed contestant: run f once to warm up (its status decides), then twice r reps between
// events, r chosen so one timing spans about a millisecond; the faster mean per run in *ms.
template <class F> static cublasStatus_t lt_time(reap_k_xgemm_lt *x, cudaStream_t s, F f, float *ms) {
    cublasStatus_t st = f();
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    float t = 0, best = 1e30f;
    int r = 1;
    for (int pass = 0; pass < 3; pass++) {
        cudaEventRecord(x->ev0, s);
        for (int i = 0; i < r && st == CUBLAS_STATUS_SUCCESS; i++) st = f();
        cudaEventRecord(x->ev1, s);
        if (cudaEventSynchronize(x->ev1) != cudaSuccess || cudaEventElapsedTime(&t, x->ev0, x->ev1) != cudaSuccess)
            return CUBLAS_STATUS_EXECUTION_FAILED;
        if (st != CUBLAS_STATUS_SUCCESS) return st;
        if (pass > 0 && t / r < best) best = t / r;
        if (pass == 0) r = t >= 1.f ? 1 : (t < 0.05f ? 20 : (int)(1.f / t) + 1);
    }
    *ms = best;
    return CUBLAS_STATUS_SUCCESS;
}

// Tunes class (m, k, n, ct) on batch GEMMs whose device pointer arrays are dW, dA, dC (batch
// entries each), already filled on s. Adds the cache entry.
static cublasStatus_t lt_tune_class(reap_k_xgemm_lt *x, cublasHandle_t h, cudaStream_t s, int m, int k, int n,
                                    cudaDataType_t ct, int batch, void **dW, void **dA, void **dC, lt_entry **out) {
    double t0 = now_s();
    lt_entry *t = lt_add(x, m, k, n, ct);
    if (!t) return CUBLAS_STATUS_ALLOC_FAILED;
    *out = t;
    t->batch = batch;
    cublasStatus_t st = lt_batch(t, batch);
    const float one = 1.f, zero = 0.f;
    // the old path is the first contestant
    t->ms_old = 1e30f;
    if (h)
        lt_time(x, s, [&] {
            return cublasGemmBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, (const void *const *)dW, CUDA_R_16BF,
                                       k, (const void *const *)dA, CUDA_R_16BF, k, &zero, dC, ct, m, batch,
                                       CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        }, &t->ms_old);
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t res[LT_CANDIDATES];
    int got = 0;
    if (st == CUBLAS_STATUS_SUCCESS) st = cublasLtMatmulPreferenceCreate(&pref);
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &x->ws_bytes,
                                                  sizeof x->ws_bytes);
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulAlgoGetHeuristic(x->lt, x->op, t->la, t->lb, t->lc, t->lc, pref, LT_CANDIDATES, res, &got);
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    t->ms_lt = 1e30f;
    if (st != CUBLAS_STATUS_SUCCESS) got = 0;  // no Lt algorithm: the class stays on the old path
    for (int i = 0; i < got; i++) {
        if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
        int32_t pa = 0;
        size_t sz = 0;
        if (cublasLtMatmulAlgoCapGetAttribute(&res[i].algo, CUBLASLT_ALGO_CAP_POINTER_ARRAY_BATCH_SUPPORT, &pa,
                                              sizeof pa, &sz) == CUBLAS_STATUS_SUCCESS && !pa)
            continue;
        float ms = 1e30f;
        t->cands++;
        if (lt_time(x, s, [&] {
                return cublasLtMatmul(x->lt, x->op, &one, dW, t->la, dA, t->lb, &zero, dC, t->lc, dC, t->lc,
                                      &res[i].algo, x->ws, x->ws_bytes, s);
            }, &ms) == CUBLAS_STATUS_SUCCESS && ms < t->ms_lt)
            t->ms_lt = ms, t->algo = res[i].algo;
    }
    cudaGetLastError();  // a contestant that failed to launch must not poison later checks
    t->use_lt = t->ms_lt < 1e30f && (t->ms_lt < t->ms_old || !h);
    if (t->use_lt) t->align = lt_algo_align(&t->algo);
    x->tune_s += now_s() - t0;
    return CUBLAS_STATUS_SUCCESS;
}

int reap_k_xgemm_lt_classes(int max_rows, int *out, int cap) {
    int n = 0;
    for (int r = 64; r <= max_rows; r = reap_k_pad_rows(r + 1)) {
        if (n < cap) out[n] = r;
        n++;
    }
    return n;
}

__global__ static void lt_fill(__nv_bfloat16 *x, size_t n, unsigned seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        unsigned v = (unsigned)i * 2654435761u ^ seed;
        v ^= v >> 13, v *= 0x5bd1e995u, v ^= v >> 15;
        x[i] = __float2bfloat16((v & 0xFFFF) / 32768.0f - 1.0f);
    }
}

cublasStatus_t reap_k_xgemm_lt_tune(reap_k_xgemm_lt *x, cublasHandle_t h, cudaStream_t s, int m, int k,
                                    cudaDataType_t ctype, const int *ns, int nn, int batch, int E,
                                    const __nv_bfloat16 *W, __nv_bfloat16 *A, void *C, size_t rows, int fill_a) {
    const size_t csize = ctype == CUDA_R_16BF ? 2 : 4;
    if (batch < 1) batch = 1;
    if (batch > LT_TUNE_MAX) batch = LT_TUNE_MAX;
    if (batch > E) batch = E;
    int filled = 0;
    for (int i = 0; i < nn; i++) {
        int n = ns[i];
        if (n <= 0 || lt_find(x, m, k, n, ctype)) continue;
        int b = (size_t)batch * n <= rows ? batch : (int)(rows / (size_t)n);
        if (b < 1) continue;  // does not fit the scratch: tuned lazily or left on the old path
        if (fill_a && !filled) {
            lt_fill<<<1024, 256, 0, s>>>(A, rows * (size_t)k, 0x1234567u);
            if (cudaGetLastError() != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
            filled = 1;
        }
        for (int j = 0; j < b; j++) {
            // spread the experts over E so that their weights are not all the first few
            int e = (int)((long long)j * E / b);
            x->thp[j] = (void *)(W + (size_t)e * m * k);
            x->thp[LT_TUNE_MAX + j] = (void *)(A + (size_t)j * n * k);
            x->thp[2 * LT_TUNE_MAX + j] = (void *)((char *)C + (size_t)j * n * m * csize);
        }
        if (cudaMemcpyAsync(x->tdp, x->thp, 3 * LT_TUNE_MAX * sizeof(void *), cudaMemcpyHostToDevice, s) !=
            cudaSuccess)
            return CUBLAS_STATUS_EXECUTION_FAILED;
        lt_entry *t;
        cublasStatus_t st = lt_tune_class(x, h, s, m, k, n, ctype, b, x->tdp, x->tdp + LT_TUNE_MAX,
                                          x->tdp + 2 * LT_TUNE_MAX, &t);
        if (st != CUBLAS_STATUS_SUCCESS) return st;
        // the host arrays are rewritten for the next class: wait for this copy to be consumed
        if (cudaStreamSynchronize(s) != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
    }
    return CUBLAS_STATUS_SUCCESS;
}

int reap_k_xgemm_lt_describe(reap_k_xgemm_lt *x, int m, int k, int n, cudaDataType_t ctype, char *buf, size_t len) {
    lt_entry *t = lt_find(x, m, k, n, ctype);
    if (!t) return snprintf(buf, len, "untuned"), 0;
    int id = -1, tile = -1, stages = -1, split = -1, swz = -1;
    uint16_t cl = 0;
    size_t sz;
    cublasLtMatmulAlgoConfigGetAttribute(&t->algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof id, &sz);
    cublasLtMatmulAlgoConfigGetAttribute(&t->algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof tile, &sz);
    cublasLtMatmulAlgoConfigGetAttribute(&t->algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages, sizeof stages, &sz);
    cublasLtMatmulAlgoConfigGetAttribute(&t->algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &split, sizeof split, &sz);
    cublasLtMatmulAlgoConfigGetAttribute(&t->algo, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, &swz, sizeof swz, &sz);
    cublasLtMatmulAlgoConfigGetAttribute(&t->algo, CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, &cl, sizeof cl, &sz);
    snprintf(buf, len,
             "%s b%d old %.3f ms lt %.3f ms (%d candidates; best algo %d tile %d stages %d splitk %d swz %d "
             "cluster %d)",
             t->use_lt ? "lt " : "old", t->batch, t->ms_old, t->ms_lt < 1e30f ? t->ms_lt : -1.f, t->cands, id, tile,
             stages, split, swz, (int)cl);
    return 1;
}

double reap_k_xgemm_lt_tune_seconds(const reap_k_xgemm_lt *x) { return x->tune_s; }

static int lt_aligned(void *const *p, int b, unsigned al) {
    for (int j = 0; j < b; j++)
        if ((uintptr_t)p[j] % al) return 0;
    return 1;
}

cublasStatus_t reap_k_expert_gemms_lt(reap_k_xgemm_lt *x, cublasHandle_t h, cudaStream_t s, const int *off, int E,
                                      int m, int k, const __nv_bfloat16 *W, const __nv_bfloat16 *A, void *C,
                                      cudaDataType_t ctype, void **hp, void **dp, int *launches) {
    if (launches) *launches = 0;
    xrows stack[1024], *r = E <= 1024 ? stack : (xrows *)malloc((size_t)E * sizeof(xrows));
    if (!r) return CUBLAS_STATUS_ALLOC_FAILED;
    int used = 0;
    cublasStatus_t st = order_experts(s, off, E, m, k, W, A, C, ctype == CUDA_R_16BF ? 2 : 4, hp, dp, r, &used);
    const float one = 1.f, zero = 0.f;
    for (int j0 = 0, j1; st == CUBLAS_STATUS_SUCCESS && j0 < used; j0 = j1) {
        for (j1 = j0 + 1; j1 < used && r[j1].n == r[j0].n; j1++) {
        }
        int n = r[j0].n, b = j1 - j0;
        lt_entry *t = lt_find(x, m, k, n, ctype);
        if (!t && x->lazy)  // tuned on this call's own operands; the final run below rewrites C
            st = lt_tune_class(x, h, s, m, k, n, ctype, b, dp + j0, dp + E + j0, dp + 2 * E + j0, &t);
        if (st != CUBLAS_STATUS_SUCCESS) break;
        if (t && t->use_lt && lt_aligned(hp + j0, b, t->align) && lt_aligned(hp + E + j0, b, t->align) &&
            lt_aligned(hp + 2 * E + j0, b, t->align)) {
            st = lt_batch(t, b);
            if (st == CUBLAS_STATUS_SUCCESS)
                st = cublasLtMatmul(x->lt, x->op, &one, dp + j0, t->la, dp + E + j0, t->lb, &zero, dp + 2 * E + j0,
                                    t->lc, dp + 2 * E + j0, t->lc, &t->algo, x->ws, x->ws_bytes, s);
        } else {
            st = cublasGemmBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, (const void *const *)(dp + j0),
                                     CUDA_R_16BF, k, (const void *const *)(dp + E + j0), CUDA_R_16BF, k, &zero,
                                     dp + 2 * E + j0, ctype, m, b, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        }
        if (launches) ++*launches;
    }
    if (r != stack) free(r);
    return st;
}

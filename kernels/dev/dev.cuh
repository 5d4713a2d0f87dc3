// dev.cuh: what the kernel harnesses of kernels/dev share: error checks that fail the harness with
// the statement and line, a seeded xorshift generator (DEV_SEED, defined by the harness before this
// header), and device buffers poisoned before use (0xFF bytes: NaN as f32 or bf16).
#ifndef REAP_DEV_CUH
#define REAP_DEV_CUH

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <vector>

#include <cublas_v2.h>

#include "kern.cuh"
#ifndef _Noreturn
#define _Noreturn __attribute__((noreturn))  // C11's keyword, for lib/common.h under C++
#endif
extern "C" {
#include "common.h"
#include "dtype.h"
}

typedef __nv_bfloat16 bf16;
static int failures = 0;
#define CU(x)                                                                                   \
    do {                                                                                        \
        cudaError_t e_ = (x);                                                                   \
        if (e_ != cudaSuccess) {                                                                \
            printf("FAIL cuda: %s: %s (line %d)\n", #x, cudaGetErrorString(e_), __LINE__);      \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)
#define CB(x)                                                                                   \
    do {                                                                                        \
        cublasStatus_t s_ = (x);                                                                \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                      \
            printf("FAIL cublas: %s: status %d (line %d)\n", #x, (int)s_, __LINE__);            \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

static uint64_t rng = DEV_SEED;
static double urand() {  // [0, 1)
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static float nrand() { return (float)(sqrt(-2 * log(urand() + 1e-300)) * cos(6.283185307 * urand())); }

// Row counts of one chunk's P routed pairs over E experts, uneven as the synthesised router gives
// them: log-normal weights exp(1.1 N(0, 1)), the rounding remainder to expert 0.
static std::vector<int> lognormal_rows(int E, int P) {
    std::vector<double> wgt(E);
    double sum = 0;
    for (int e = 0; e < E; e++) sum += wgt[e] = exp(1.1 * nrand());
    std::vector<int> n(E);
    int tot = 0;
    for (int e = 0; e < E; e++) tot += n[e] = (int)(wgt[e] / sum * P);
    n[0] += P - tot;
    return n;
}

// n elements of T on the device, poisoned
template <class T> static T *dev(size_t n) {
    T *p;
    CU(cudaMalloc((void **)&p, n * sizeof(T) + 16));
    CU(cudaMemset(p, 0xFF, n * sizeof(T) + 16));
    return p;
}

#endif

// evalhead.cu: `reap eval`'s comparison of logits on the GPU, one slab of the vocabulary at a time
// (declared in kern.cuh). The whole logit vectors of a model are 800 KB a position at MiniMax-M2's
// vocabulary: written out and read back for every (position, model) they would cost terabytes of
// memory traffic at 256 x 2048 positions, so the lm_head GEMM writes one slab of columns for every
// model at once into a buffer small enough to stay in L2, and this kernel folds it into a running
// state per (position, model) (lib/eval_metrics.h: the online softmax, Q's 5 best). Its CPU
// reference is reap_eval_position on whole vectors (kernels/dev/dev_kernels checks it; the merge
// step itself is shared code, reap_eval_state_merge).
#include <limits.h>
#include <math.h>

#include "kern.cuh"

enum { EVB = 256 };  // threads per block

struct Top {
    float v[REAP_EVAL_TOPQ];
    int id[REAP_EVAL_TOPQ];
};

__device__ static void top_init(Top &t) {
    for (int j = 0; j < REAP_EVAL_TOPQ; j++) t.v[j] = -INFINITY, t.id[j] = INT_MAX;
}

// The best REAP_EVAL_TOPQ of two sorted lists (at step k, i + j = k < REAP_EVAL_TOPQ: no overrun).
__device__ static Top top_merge(const Top &a, const Top &b) {
    Top r;
    int i = 0, j = 0;
    for (int k = 0; k < REAP_EVAL_TOPQ; k++) {
        if (reap_eval_before(a.v[i], a.id[i], b.v[j], b.id[j])) r.v[k] = a.v[i], r.id[k] = a.id[i], i++;
        else r.v[k] = b.v[j], r.id[k] = b.id[j], j++;
    }
    return r;
}

__device__ static double warp_sum(double x) {
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}

// Block (i, k-1): position i of the original (row i of z) against model k (row k*P + i). z holds the
// logits of ids [v0, v0 + n) at row stride ld; st ((n_models - 1) * P) the running states.
__global__ void __launch_bounds__(EVB) k_eval_slab(const float *z, int ld, int P, int v0, int n, const int *target,
                                                   reap_eval_state *st) {
    const int i = blockIdx.x, k = blockIdx.y + 1, tid = threadIdx.x;
    const float *zp = z + (size_t)i * ld, *zq = z + ((size_t)k * P + i) * ld;
    __shared__ Top tops[EVB];
    __shared__ float smax[EVB];
    __shared__ int sarg[EVB];
    __shared__ double sums[3][EVB / 32];
    __shared__ float Mp_s, Mq_s;

    // pass 1: P's maximum (first id), Q's 5 best
    float mp = -INFINITY;
    int ap = INT_MAX;
    Top t;
    top_init(t);
    for (int j = tid; j < n; j += EVB) {
        float a = zp[j], b = zq[j];
        if (reap_eval_before(a, v0 + j, mp, ap)) mp = a, ap = v0 + j;
        reap_eval_top_insert(t.v, t.id, b, v0 + j);
    }
    smax[tid] = mp, sarg[tid] = ap, tops[tid] = t;
    __syncthreads();
    for (int s = EVB / 2; s > 0; s >>= 1) {
        if (tid < s) {
            if (reap_eval_before(smax[tid + s], sarg[tid + s], smax[tid], sarg[tid]))
                smax[tid] = smax[tid + s], sarg[tid] = sarg[tid + s];
            tops[tid] = top_merge(tops[tid], tops[tid + s]);
        }
        __syncthreads();
    }
    if (tid == 0) Mp_s = smax[0], Mq_s = tops[0].v[0];
    __syncthreads();
    const float Mp = Mp_s, Mq = Mq_s;

    // pass 2 (from L1/L2): the sums relative to the slab's maxima, f32 exponentials, float64 sums
    double sp = 0, sq = 0, ts = 0;
    for (int j = tid; j < n; j += EVB) {
        float a = zp[j], b = zq[j];
        double ep = expf(a - Mp);
        sp += ep, sq += expf(b - Mq), ts += ep * ((double)a - (double)b);
    }
    sp = warp_sum(sp), sq = warp_sum(sq), ts = warp_sum(ts);
    if ((tid & 31) == 0) sums[0][tid >> 5] = sp, sums[1][tid >> 5] = sq, sums[2][tid >> 5] = ts;
    __syncthreads();
    if (tid == 0) {
        sp = sq = ts = 0;
        for (int w = 0; w < EVB / 32; w++) sp += sums[0][w], sq += sums[1][w], ts += sums[2][w];
        reap_eval_state *S = &st[(size_t)(k - 1) * P + i];
        int tg = target[i] - v0;
        if (tg >= 0 && tg < n) S->zp_t = zp[tg], S->zq_t = zq[tg];
        reap_eval_state_merge(S, Mp, sarg[0], sp, Mq, sq, ts, tops[0].v, tops[0].id);
    }
}

void reap_k_eval_slab(const float *z, int ld, int P, int n_models, int v0, int n, const int *target,
                      reap_eval_state *st, cudaStream_t s) {
    if (P <= 0 || n_models < 2 || n <= 0) return;
    k_eval_slab<<<dim3((unsigned)P, (unsigned)(n_models - 1)), EVB, 0, s>>>(z, ld, P, v0, n, target, st);
}

// dev_xgemm: the bucketed expert GEMMs of one MiniMax-M2 chunk (32k tokens x 8 experts = 262144
// routed pairs over E = 256 experts, H = 3072, I = 1536), old path (reap_k_expert_gemms_bucketed_ex,
// one cublasGemmBatchedEx per size class) against the cuBLASLt autotuned path
// (reap_k_expert_gemms_lt). Checks the Lt outputs against the old path's (rel L2 over the whole
// output, both poisoned first) and a float64 CPU reference on sample rows, then times both per
// chunk for gate|up (m 3072, k 3072; f32 and bf16 out) and down (m 3072, k 1536), on an
// unbalanced (lognormal) and a balanced (1024 per expert) routing. Also: does the best algorithm
// depend on the batch count it was tuned at (1 / 4 / 8 / 30)?
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <algorithm>
#include <vector>

#include "kern.cuh"

#define CU(x)                                                                                           \
    do {                                                                                                \
        cudaError_t e_ = (x);                                                                           \
        if (e_ != cudaSuccess) {                                                                        \
            printf("FAIL %s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));             \
            exit(1);                                                                                    \
        }                                                                                               \
    } while (0)
#define CB(x)                                                                                           \
    do {                                                                                                \
        cublasStatus_t s_ = (x);                                                                        \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                              \
            printf("FAIL %s:%d %s: cublas status %d\n", __FILE__, __LINE__, #x, (int)s_);              \
            exit(1);                                                                                    \
        }                                                                                               \
    } while (0)

static const int E = 256, H = 3072, I = 1536, PAIRS = 262144;

__global__ void fill_rand(__nv_bfloat16 *x, size_t n, unsigned seed, float scale) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 13, h *= 0x5bd1e995u, h ^= h >> 15, h ^= seed * 0x9E3779B9u, h *= 0x85ebca6bu, h ^= h >> 16;
        x[i] = __float2bfloat16(scale * ((h & 0xFFFF) / 32768.0f - 1.0f));
    }
}

// sums over n elements of (a-b)^2, b^2 and the count of non-finite a or b; bf16 when isbf.
__global__ void diff_stats(const void *a, const void *b, size_t n, int isbf, double *out) {
    double d2 = 0, r2 = 0, bad = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float x = isbf ? __bfloat162float(((const __nv_bfloat16 *)a)[i]) : ((const float *)a)[i];
        float y = isbf ? __bfloat162float(((const __nv_bfloat16 *)b)[i]) : ((const float *)b)[i];
        if (!isfinite(x) || !isfinite(y)) {
            bad += 1;
            continue;
        }
        d2 += (double)(x - y) * (x - y), r2 += (double)y * y;
    }
    for (int o = 16; o > 0; o /= 2) {
        d2 += __shfl_down_sync(0xffffffffu, d2, o);
        r2 += __shfl_down_sync(0xffffffffu, r2, o);
        bad += __shfl_down_sync(0xffffffffu, bad, o);
    }
    if ((threadIdx.x & 31) == 0) atomicAdd(out, d2), atomicAdd(out + 1, r2), atomicAdd(out + 2, bad);
}

static unsigned long long rng = 88172645463325252ull;
static double urand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return ((rng >> 11) + 0.5) / 9007199254740992.0;
}

// counts (E) summing to PAIRS: lognormal(sigma) weights (sigma 0: all equal), each at most 32768.
static void make_counts(double sigma, int *cnt) {
    std::vector<double> w(E);
    double sum = 0;
    for (int e = 0; e < E; e++) {
        double z = sqrt(-2 * log(urand())) * cos(2 * M_PI * urand());
        w[e] = exp(sigma * z), sum += w[e];
    }
    int tot = 0, big = 0;
    for (int e = 0; e < E; e++) {
        cnt[e] = std::min(32768, std::max(1, (int)lround(PAIRS * w[e] / sum)));
        tot += cnt[e];
        if (cnt[e] > cnt[big]) big = e;
    }
    for (int e = 0; tot != PAIRS; e = (e + 1) % E) {  // spread the rounding residue
        int d = tot < PAIRS ? 1 : -1;
        if (cnt[e] + d >= 1 && cnt[e] + d <= 32768) cnt[e] += d, tot += d;
    }
}

typedef struct {
    const char *name;
    int m, k;
    cudaDataType_t ct;
} shape;

static float median(std::vector<float> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int main(int argc, char **argv) {
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("SKIP dev_xgemm: no CUDA device\n");
        return 0;
    }
    int reps = argc > 1 ? atoi(argv[1]) : 15;
    int pause_ms = argc > 2 ? atoi(argv[2]) : 0;  // idle before each timed chunk call (a cool card)
    cudaDeviceProp p;
    CU(cudaGetDeviceProperties(&p, 0));
    printf("DEVICE %s, %d SMs\n", p.name, p.multiProcessorCount);
    cudaStream_t s;
    CU(cudaStreamCreate(&s));
    cublasHandle_t h;
    CB(cublasCreate(&h));
    CB(cublasSetStream(h, s));

    // routings: unbalanced (lognormal sigma 1) and balanced
    const char *dname[2] = {"unbalanced", "balanced"};
    int cnt[2][256], off[2][257];
    make_counts(1.0, cnt[0]);
    for (int e = 0; e < E; e++) cnt[1][e] = PAIRS / E;
    size_t rows_max = 0;
    int nmax = 0;
    for (int d = 0; d < 2; d++) {
        off[d][0] = 0;
        int mx = 0, small = 0;
        std::vector<int> cls;
        for (int e = 0; e < E; e++) {
            off[d][e + 1] = off[d][e] + reap_k_pad_rows(cnt[d][e]);
            mx = std::max(mx, cnt[d][e]), small += cnt[d][e] < 256;
            cls.push_back(reap_k_pad_rows(cnt[d][e]));
            nmax = std::max(nmax, reap_k_pad_rows(cnt[d][e]));
        }
        std::sort(cls.begin(), cls.end());
        int ncls = (int)(std::unique(cls.begin(), cls.end()) - cls.begin());
        rows_max = std::max(rows_max, (size_t)off[d][E]);
        printf("ROUTING %s: %d pairs, %d padded rows (+%.1f%%), largest expert %d, %d under 256, %d classes\n",
               dname[d], PAIRS, off[d][E], 100.0 * (off[d][E] - PAIRS) / PAIRS, mx, small, ncls);
    }
    rows_max = std::max(rows_max, (size_t)30 * 4096);

    __nv_bfloat16 *W13, *W2, *A13, *A2;
    void *Cref, *Clt;
    CU(cudaMalloc(&W13, (size_t)E * 2 * I * H * 2));
    CU(cudaMalloc(&W2, (size_t)E * H * I * 2));
    CU(cudaMalloc(&A13, rows_max * H * 2));
    CU(cudaMalloc(&A2, rows_max * I * 2));
    CU(cudaMalloc(&Cref, rows_max * 3072 * 4));
    CU(cudaMalloc(&Clt, rows_max * 3072 * 4));
    // weights ~ 1/sqrt(k) so that outputs stay O(1)
    fill_rand<<<2048, 256, 0, s>>>(W13, (size_t)E * 2 * I * H, 11, 1.7f / sqrtf((float)H));
    fill_rand<<<2048, 256, 0, s>>>(W2, (size_t)E * H * I, 12, 1.7f / sqrtf((float)I));
    fill_rand<<<2048, 256, 0, s>>>(A13, rows_max * H, 13, 1.f);
    fill_rand<<<2048, 256, 0, s>>>(A2, rows_max * I, 14, 1.f);
    CU(cudaGetLastError());
    void **hp, **dp;
    CU(cudaMallocHost((void **)&hp, 3 * E * sizeof(void *)));
    CU(cudaMalloc((void **)&dp, 3 * E * sizeof(void *)));
    double *dstat;
    CU(cudaMalloc(&dstat, 3 * sizeof(double)));

    // Ceilings: one plain cublasGemmEx at the expert shapes with n = 8192 rows, and 8192^3; "cold" on
    // an idle card first, "hot" after seconds of GEMMs (the card then runs at its power limit).
    auto ceilings = [&](const char *tag) {
        const float one = 1.f, zero = 0.f;
        struct {
            int m, k, n;
            cudaDataType_t ct;
            const char *name;
        } cs[4] = {{2 * I, H, 8192, CUDA_R_32F, "plain gate_up f32 n8192"},
                   {2 * I, H, 8192, CUDA_R_16BF, "plain gate_up bf16 n8192"},
                   {H, I, 8192, CUDA_R_32F, "plain down f32 n8192"},
                   {8192, 8192, 8192, CUDA_R_16BF, "plain 8192^3 bf16"}};
        for (int i = 0; i < 4; i++) {
            const __nv_bfloat16 *w = cs[i].k == I ? W2 : W13, *x = cs[i].k == I ? A2 : A13;
            cudaEvent_t a, b;
            CU(cudaEventCreate(&a));
            CU(cudaEventCreate(&b));
            std::vector<float> tv;
            for (int r = 0; r < 11; r++) {
                float ms;
                CU(cudaEventRecord(a, s));
                CB(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, cs[i].m, cs[i].n, cs[i].k, &one, w, CUDA_R_16BF, cs[i].k,
                                x, CUDA_R_16BF, cs[i].k, &zero, Cref, cs[i].ct, cs[i].m, CUBLAS_COMPUTE_32F,
                                CUBLAS_GEMM_DEFAULT));
                CU(cudaEventRecord(b, s));
                CU(cudaEventSynchronize(b));
                CU(cudaEventElapsedTime(&ms, a, b));
                if (r > 0) tv.push_back(ms);
            }
            CU(cudaEventDestroy(a));
            CU(cudaEventDestroy(b));
            printf("CEILING %s %-26s %.3f ms %.1f TF/s\n", tag, cs[i].name, median(tv),
                   2.0 * cs[i].m * cs[i].n * cs[i].k / median(tv) / 1e9);
        }
    };
    ceilings("cold");

    shape shapes[3] = {{"gate_up_f32", 2 * I, H, CUDA_R_32F}, {"gate_up_bf16", 2 * I, H, CUDA_R_16BF},
                       {"down_f32", H, I, CUDA_R_32F}};
    reap_k_xgemm_lt *lt;
    CB(reap_k_xgemm_lt_create(&lt, 0, 0));
    int ns[64];
    int nn = reap_k_xgemm_lt_classes(nmax, ns, 64);
    if (nn > 64) nn = 64;
    FILE *log = NULL;
    const char *od = getenv("OUT");
    if (od) {
        char path[512];
        snprintf(path, sizeof path, "%s/xgemm_log.txt", od);
        log = fopen(path, "w");
    }
    for (int si = 0; si < 3; si++) {
        shape *q = &shapes[si];
        double t0 = reap_k_xgemm_lt_tune_seconds(lt);
        CB(reap_k_xgemm_lt_tune(lt, h, s, q->m, q->k, q->ct, ns, nn, 4, E, q->k == H ? W13 : W2,
                                q->k == H ? A13 : A2, Clt, rows_max, 0));
        int nlt = 0;
        for (int i = 0; i < nn; i++) {
            char buf[256];
            reap_k_xgemm_lt_describe(lt, q->m, q->k, ns[i], q->ct, buf, sizeof buf);
            nlt += !strncmp(buf, "lt", 2);
            if (log) fprintf(log, "%s n %5d: %s\n", q->name, ns[i], buf);
        }
        printf("TUNE %s: %d classes (64..%d) in %.2f s, Lt chosen for %d\n", q->name, nn, ns[nn - 1],
               reap_k_xgemm_lt_tune_seconds(lt) - t0, nlt);
    }

    int fails = 0;
    printf("%-11s %-13s %9s %9s %9s %9s %7s %9s %9s\n", "routing", "shape", "old ms", "lt ms", "old TF/s",
           "lt TF/s", "speedup", "relL2", "cpu relL2");
    for (int d = 0; d < 2; d++)
        for (int si = 0; si < 3; si++) {
            shape *q = &shapes[si];
            const __nv_bfloat16 *W = q->k == H ? W13 : W2, *A = q->k == H ? A13 : A2;
            const int *o = off[d];
            size_t nel = (size_t)o[E] * q->m, csz = q->ct == CUDA_R_16BF ? 2 : 4;
            // check: both outputs poisoned (0xFF.. is NaN in f32 and bf16), then compared everywhere
            CU(cudaMemsetAsync(Cref, 0xFF, nel * csz, s));
            CU(cudaMemsetAsync(Clt, 0xFF, nel * csz, s));
            CB(reap_k_expert_gemms_bucketed_ex(h, s, o, E, q->m, q->k, W, A, Cref, q->ct, hp, dp, NULL));
            CU(cudaStreamSynchronize(s));
            int launches = 0;
            CB(reap_k_expert_gemms_lt(lt, h, s, o, E, q->m, q->k, W, A, Clt, q->ct, hp, dp, &launches));
            CU(cudaMemsetAsync(dstat, 0, 3 * sizeof(double), s));
            diff_stats<<<1024, 256, 0, s>>>(Clt, Cref, nel, q->ct == CUDA_R_16BF, dstat);
            CU(cudaGetLastError());
            double st[3];
            CU(cudaMemcpyAsync(st, dstat, sizeof st, cudaMemcpyDeviceToHost, s));
            CU(cudaStreamSynchronize(s));
            double rel = sqrt(st[0] / st[1]);
            // float64 CPU reference on 2 real rows of 3 experts (largest, median, smallest)
            std::vector<int> ord(E);
            for (int e = 0; e < E; e++) ord[e] = e;
            std::sort(ord.begin(), ord.end(), [&](int a, int b) { return cnt[d][a] < cnt[d][b]; });
            int ex[3] = {ord[E - 1], ord[E / 2], ord[0]};
            std::vector<__nv_bfloat16> wh((size_t)q->m * q->k), ah(q->k);
            std::vector<char> ch((size_t)q->m * csz);
            double cd2 = 0, cr2 = 0;
            for (int i = 0; i < 3; i++) {
                int e = ex[i];
                CU(cudaMemcpy(wh.data(), W + (size_t)e * q->m * q->k, wh.size() * 2, cudaMemcpyDeviceToHost));
                int rr[2] = {o[e], o[e] + cnt[d][e] - 1};
                for (int j = 0; j < 2; j++) {
                    CU(cudaMemcpy(ah.data(), A + (size_t)rr[j] * q->k, q->k * 2, cudaMemcpyDeviceToHost));
                    CU(cudaMemcpy(ch.data(), (char *)Clt + (size_t)rr[j] * q->m * csz, ch.size(),
                                  cudaMemcpyDeviceToHost));
                    for (int c = 0; c < q->m; c++) {
                        double acc = 0;
                        const __nv_bfloat16 *wr = &wh[(size_t)c * q->k];
                        for (int t = 0; t < q->k; t++) acc += (double)__bfloat162float(wr[t]) * __bfloat162float(ah[t]);
                        double got = csz == 2 ? (double)__bfloat162float(((__nv_bfloat16 *)ch.data())[c])
                                              : (double)((float *)ch.data())[c];
                        cd2 += isfinite(got) ? (got - acc) * (got - acc) : 1e30;
                        cr2 += acc * acc;
                    }
                }
            }
            double crel = sqrt(cd2 / cr2);
            double tol = q->ct == CUDA_R_16BF ? 1e-2 : 1e-5, ctol = q->ct == CUDA_R_16BF ? 1e-2 : 1e-4;
            int ok = st[2] == 0 && rel <= tol && crel <= ctol;
            fails += !ok;
            // time: alternate old and Lt, median of reps each
            cudaEvent_t a, b;
            CU(cudaEventCreate(&a));
            CU(cudaEventCreate(&b));
            std::vector<float> to, tl;
            for (int r = 0; r < reps + 1; r++)
                for (int v = 0; v < 2; v++) {
                    float ms;
                    if (pause_ms > 0) {
                        CU(cudaStreamSynchronize(s));
                        usleep(1000 * pause_ms);
                    }
                    CU(cudaEventRecord(a, s));
                    if (v == 0)
                        CB(reap_k_expert_gemms_bucketed_ex(h, s, o, E, q->m, q->k, W, A, Cref, q->ct, hp, dp, NULL));
                    else
                        CB(reap_k_expert_gemms_lt(lt, h, s, o, E, q->m, q->k, W, A, Clt, q->ct, hp, dp, NULL));
                    CU(cudaEventRecord(b, s));
                    CU(cudaEventSynchronize(b));
                    CU(cudaEventElapsedTime(&ms, a, b));
                    if (r > 0) (v ? tl : to).push_back(ms);
                }
            CU(cudaEventDestroy(a));
            CU(cudaEventDestroy(b));
            float mo = median(to), ml = median(tl);
            double fl = 2.0 * PAIRS * q->m * q->k;
            printf("%-11s %-13s %9.3f %9.3f %9.1f %9.1f %6.3fx %9.2e %9.2e %s "
                   "(%d GEMMs; old %.3f..%.3f, lt %.3f..%.3f ms)\n",
                   dname[d], q->name, mo, ml, fl / mo / 1e9, fl / ml / 1e9, mo / ml, rel, crel, ok ? "PASS" : "FAIL",
                   launches, *std::min_element(to.begin(), to.end()), *std::max_element(to.begin(), to.end()),
                   *std::min_element(tl.begin(), tl.end()), *std::max_element(tl.begin(), tl.end()));
        }

    // Lazy tuning (gate|up f32, unbalanced): a fresh context tunes each class inside its first
    // call, on that call's operands; the output must still be right, and later calls fast.
    {
        const int *o = off[0];
        size_t nel = (size_t)o[E] * 2 * I;
        CU(cudaMemsetAsync(Cref, 0xFF, nel * 4, s));
        CU(cudaMemsetAsync(Clt, 0xFF, nel * 4, s));
        CB(reap_k_expert_gemms_bucketed_ex(h, s, o, E, 2 * I, H, W13, A13, Cref, CUDA_R_32F, hp, dp, NULL));
        CU(cudaStreamSynchronize(s));
        reap_k_xgemm_lt *lz;
        CB(reap_k_xgemm_lt_create(&lz, 0, 1));
        CB(reap_k_expert_gemms_lt(lz, h, s, o, E, 2 * I, H, W13, A13, Clt, CUDA_R_32F, hp, dp, NULL));
        CU(cudaMemsetAsync(dstat, 0, 3 * sizeof(double), s));
        diff_stats<<<1024, 256, 0, s>>>(Clt, Cref, nel, 0, dstat);
        CU(cudaGetLastError());
        double st[3];
        CU(cudaMemcpyAsync(st, dstat, sizeof st, cudaMemcpyDeviceToHost, s));
        CU(cudaStreamSynchronize(s));
        double rel = sqrt(st[0] / st[1]);
        int ok = st[2] == 0 && rel <= 1e-5;
        fails += !ok;
        cudaEvent_t a, b;
        CU(cudaEventCreate(&a));
        CU(cudaEventCreate(&b));
        std::vector<float> to, tl;
        for (int r = 0; r < reps + 1; r++)
            for (int v = 0; v < 2; v++) {
                float ms;
                CU(cudaEventRecord(a, s));
                if (v == 0)
                    CB(reap_k_expert_gemms_bucketed_ex(h, s, o, E, 2 * I, H, W13, A13, Cref, CUDA_R_32F, hp, dp, NULL));
                else
                    CB(reap_k_expert_gemms_lt(lz, h, s, o, E, 2 * I, H, W13, A13, Clt, CUDA_R_32F, hp, dp, NULL));
                CU(cudaEventRecord(b, s));
                CU(cudaEventSynchronize(b));
                CU(cudaEventElapsedTime(&ms, a, b));
                if (r > 0) (v ? tl : to).push_back(ms);
            }
        CU(cudaEventDestroy(a));
        CU(cudaEventDestroy(b));
        double fl = 2.0 * PAIRS * 2 * I * H;
        printf("LAZY unbalanced gate_up_f32: first call tuned in %.2f s, relL2 %.2e %s; old %.3f ms %.1f TF/s, "
               "lt %.3f ms %.1f TF/s\n", reap_k_xgemm_lt_tune_seconds(lz), rel, ok ? "PASS" : "FAIL", median(to),
               fl / median(to) / 1e9, median(tl), fl / median(tl) / 1e9);
        reap_k_xgemm_lt_destroy(lz);
    }

    ceilings("hot");

    // Batch-count dependence (gate|up f32): a class tuned at batch 4 (the cache above) against the
    // same class tuned at the batch count it runs at; both timed on b experts of n rows.
    printf("BATCH n b: old ms, lt(tuned b4) ms, lt(tuned b) ms\n");
    const int bn[4] = {128, 512, 1024, 4096}, bb[3] = {1, 8, 30};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) {
            int n = bn[i], bc = bb[j], ob[257];
            for (int e = 0; e <= E; e++) ob[e] = (e < bc ? e : bc) * n;  // experts 0..bc-1 get n rows
            reap_k_xgemm_lt *lb;
            CB(reap_k_xgemm_lt_create(&lb, 0, 0));
            CB(reap_k_xgemm_lt_tune(lb, h, s, 2 * I, H, CUDA_R_32F, &n, 1, bc, E, W13, A13, Clt, rows_max, 0));
            float t3[3];
            for (int v = 0; v < 3; v++) {
                cudaEvent_t a, b;
                CU(cudaEventCreate(&a));
                CU(cudaEventCreate(&b));
                std::vector<float> tv;
                for (int r = 0; r < 6; r++) {
                    float ms;
                    CU(cudaEventRecord(a, s));
                    if (v == 0)
                        CB(reap_k_expert_gemms_bucketed_ex(h, s, ob, E, 2 * I, H, W13, A13, Cref, CUDA_R_32F, hp, dp,
                                                           NULL));
                    else
                        CB(reap_k_expert_gemms_lt(v == 1 ? lt : lb, h, s, ob, E, 2 * I, H, W13, A13, Clt, CUDA_R_32F,
                                                  hp, dp, NULL));
                    CU(cudaEventRecord(b, s));
                    CU(cudaEventSynchronize(b));
                    CU(cudaEventElapsedTime(&ms, a, b));
                    if (r > 0) tv.push_back(ms);
                }
                t3[v] = median(tv);
                CU(cudaEventDestroy(a));
                CU(cudaEventDestroy(b));
            }
            char d4[256], db[256];
            reap_k_xgemm_lt_describe(lt, 2 * I, H, n, CUDA_R_32F, d4, sizeof d4);
            reap_k_xgemm_lt_describe(lb, 2 * I, H, n, CUDA_R_32F, db, sizeof db);
            double fl = 2.0 * n * bc * 2 * I * H;
            printf("BATCH %5d %2d: %8.3f %8.3f %8.3f ms = %5.0f %5.0f %5.0f TF/s\n", n, bc, t3[0], t3[1], t3[2],
                   fl / t3[0] / 1e9, fl / t3[1] / 1e9, fl / t3[2] / 1e9);
            if (log) fprintf(log, "BATCH n %d b %d\n  b4: %s\n  b%d: %s\n", n, bc, d4, bc, db);
            reap_k_xgemm_lt_destroy(lb);
        }
    if (log) fclose(log);
    reap_k_xgemm_lt_destroy(lt);
    printf("%s dev_xgemm\n", fails ? "FAIL" : "PASS");
    return fails != 0;
}

// dev_xgemm_each: the expert GEMMs (reap_k_expert_gemms_each, kernels/xgemm_each.cu) against a
// float64 CPU reference, then timed on one MiniMax-M2 chunk.
//
// Checks: C[off[e]..off[e+1]) (n_e, m) = A[off[e]..] (n_e, k) bf16 * W_e (m, k)^T bf16 for every
// expert, on random bf16 data (every row, padding rows included; never zeros) with C poisoned
// (0xFF bytes = NaN) before the run, skewed row counts with empty experts. Both layouts: padded
// (reap_k_pad_rows; every expert's rows 256-byte aligned: the cached cuBLASLt plans) and plain
// (odd offsets: misaligned experts take the cublasGemmEx fallback). Tolerance from the dtypes:
// the products of bf16 operands are exact in fp32, so the only error is the fp32 accumulation,
// at most 2 k 2^-24 sum_i |a_i w_i| per element (k additions, each off by under one f32 ulp even
// when truncating, as the tensor cores do); C in bf16 adds its rounding, 2^-8 |c| (half a bf16 ulp
// is 2^-9 relative). Also: one GEMM per expert with rows, and a context reused across calls.
// Prints "PASS name" / "FAIL name: ..." and "TIME" lines (DEV_NO_TIMING=1: none); exit 1 on any
// failure; "SKIP ..." and exit 0 without a CUDA device.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <algorithm>
#include <vector>

#define DEV_SEED 0x2545F4914F6CDD1Dull
#include "dev.cuh"

// n random bf16 values (never zero) on the host as float (exact) and on the device
static bf16 *rand_bf16(size_t n, float scale, std::vector<float> &host) {
    std::vector<uint16_t> b(n);
    host.resize(n);
    for (size_t i = 0; i < n; i++) {
        float v = nrand() * scale;
        if (v == 0.f) v = scale;
        b[i] = reap_f32_to_bf16(v), host[i] = reap_bf16_to_f32(b[i]);
    }
    bf16 *p = dev<bf16>(n);
    CU(cudaMemcpy(p, b.data(), n * 2, cudaMemcpyHostToDevice));
    return p;
}

// Expert row offsets (E+1) of the row counts n: plain (consecutive) or padded to reap_k_pad_rows.
static std::vector<int> offsets(const std::vector<int> &n, int padded) {
    std::vector<int> off(n.size() + 1, 0);
    for (size_t e = 0; e < n.size(); e++) off[e + 1] = off[e] + (padded ? reap_k_pad_rows(n[e]) : n[e]);
    return off;
}

// One call of reap_k_expert_gemms_each on the context x against float64; name says what it pins.
static void check_case(const char *name, reap_k_xgemm_each *x, cublasHandle_t hb, const std::vector<int> &n,
                       int padded, int m, int k, cudaDataType_t ctype) {
    const int E = (int)n.size();
    std::vector<int> off = offsets(n, padded);
    const int rows = off[E];
    std::vector<float> a, w;
    bf16 *dA = rand_bf16((size_t)rows * k, 1.f, a), *dW = rand_bf16((size_t)E * m * k, 0.1f, w);
    const size_t csize = ctype == CUDA_R_16BF ? 2 : 4;
    void *dC = dev<uint8_t>((size_t)rows * m * csize);
    if (padded) {  // as kernels/gpu.cu does: the plans of every size class made ahead of time
        int ns[64], nn = reap_k_pad_classes(rows, ns, 64);
        CB(reap_k_xgemm_each_prepare(x, m, k, ctype, ns, nn < 64 ? nn : 64));
    }
    int launches = -1;
    CB(reap_k_expert_gemms_each(x, hb, 0, off.data(), E, m, k, dW, dA, dC, ctype, &launches));
    CU(cudaDeviceSynchronize());
    std::vector<float> c((size_t)rows * m);
    if (ctype == CUDA_R_16BF) {
        std::vector<uint16_t> cb((size_t)rows * m);
        CU(cudaMemcpy(cb.data(), dC, cb.size() * 2, cudaMemcpyDeviceToHost));
        for (size_t i = 0; i < cb.size(); i++) c[i] = reap_bf16_to_f32(cb[i]);
    } else {
        CU(cudaMemcpy(c.data(), dC, c.size() * 4, cudaMemcpyDeviceToHost));
    }
    const double u = 1.0 / 16777216.0, tol_acc = 2.0 * k * u, tol_out = ctype == CUDA_R_16BF ? 1.0 / 256 : 0.0;
    size_t bad = 0;
    double worst = 0, d2 = 0, r2 = 0;
    int nonempty = 0;
    for (int e = 0; e < E; e++) {
        nonempty += off[e + 1] > off[e];
        for (int r = off[e]; r < off[e + 1]; r++)
            for (int j = 0; j < m; j++) {
                const float *ar = &a[(size_t)r * k], *wr = &w[((size_t)e * m + j) * k];
                double ref = 0, mag = 0;
                for (int i = 0; i < k; i++) ref += (double)ar[i] * wr[i], mag += fabs((double)ar[i] * wr[i]);
                double got = c[(size_t)r * m + j], tol = tol_acc * mag + tol_out * fabs(ref);
                double err = std::isfinite(got) ? fabs(got - ref) : INFINITY;
                bad += !(err <= tol);
                worst = fmax(worst, err / (tol + 1e-300));
                d2 += err * err, r2 += ref * ref;
            }
    }
    int ok = bad == 0 && launches == nonempty;
    printf("%s %s: %d rows, %zu of %zu values out of tolerance (worst %.3f of it), rel L2 %.1e, %d GEMMs for %d "
           "experts with rows\n",
           ok ? "PASS" : "FAIL", name, rows, bad, (size_t)rows * m, worst, sqrt(d2 / (r2 > 0 ? r2 : 1)), launches,
           nonempty);
    failures += !ok;
    void *fr[] = {dA, dW, dC};
    for (void *p : fr) CU(cudaFree(p));
}

// reap_k_pad_classes lists exactly the values reap_k_pad_rows takes, ascending (host only).
static void check_pad_classes() {
    const int max_rows = 40000;
    std::vector<int> cls(512);
    int nn = reap_k_pad_classes(max_rows, cls.data(), (int)cls.size()), bad = nn > (int)cls.size();
    cls.resize(bad ? 0 : nn);
    for (int i = 1; i < nn && !bad; i++) bad += cls[i] <= cls[i - 1];
    for (int r = 1; r <= max_rows && !bad; r++) {
        int p = reap_k_pad_rows(r);
        bad += p <= max_rows && !std::binary_search(cls.begin(), cls.end(), p);
    }
    for (int c : cls) bad += reap_k_pad_rows(c) != c;
    printf("%s pad_classes_are_pad_rows_values: %d classes up to %d rows, %d errors\n", bad ? "FAIL" : "PASS", nn,
           max_rows, bad);
    failures += bad != 0;
}

static void check_expert_gemms_each() {
    // skewed row counts: empty experts, single rows, around the 64-row classes, one large expert
    const std::vector<int> n = {0, 1, 3, 64, 65, 200, 0, 517, 9, 130, 2, 700};
    cublasHandle_t hb;
    CB(cublasCreate(&hb));
    reap_k_xgemm_each *x = NULL;
    CB(reap_k_xgemm_each_create(&x));
    // gate|up shape (m = 2I, k = H) and down shape (m = H, k = I), M2's ratios scaled down; one
    // context for all cases, as one stream's in the product (later calls hit its cache)
    check_case("expert_gemms_each_padded_f32", x, hb, n, 1, 192, 320, CUDA_R_32F);
    check_case("expert_gemms_each_plain_f32", x, hb, n, 0, 192, 320, CUDA_R_32F);
    check_case("expert_gemms_each_padded_down_f32", x, hb, n, 1, 320, 96, CUDA_R_32F);
    check_case("expert_gemms_each_plain_down_f32", x, hb, n, 0, 320, 96, CUDA_R_32F);
    check_case("expert_gemms_each_padded_bf16_out", x, hb, n, 1, 192, 320, CUDA_R_16BF);
    check_case("expert_gemms_each_plain_bf16_out", x, hb, n, 0, 192, 320, CUDA_R_16BF);
    check_case("expert_gemms_each_padded_f32_cached", x, hb, n, 1, 192, 320, CUDA_R_32F);  // plans from the first case
    // the experts spread over 3 streams (the fallback's GEMMs stay on the caller's)
    CB(reap_k_xgemm_each_streams(x, 3));
    check_case("expert_gemms_each_padded_f32_3_streams", x, hb, n, 1, 192, 320, CUDA_R_32F);
    check_case("expert_gemms_each_plain_f32_3_streams", x, hb, n, 0, 192, 320, CUDA_R_32F);
    check_case("expert_gemms_each_padded_bf16_out_3_streams", x, hb, n, 1, 192, 320, CUDA_R_16BF);
    reap_k_xgemm_each_destroy(x);
    reap_k_xgemm_each_destroy(NULL);
    cublasDestroy(hb);
}

// One MiniMax-M2 chunk's expert GEMMs (256 experts, 64k tokens x 8 = 524k pairs, uneven sizes as
// the synthesised router gives: log-normal, a few below 256) in the padded layout: wall time of
// issuing + running gate|up (f32 out) and down, as the product calls them, on 1 to 4 streams
// (reap_k_xgemm_each_streams).
__global__ void k_fill_bf(bf16 *p, size_t n, uint32_t seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t v = (uint32_t)i * 2654435761u ^ seed;
        v ^= v >> 15, v *= 2246822519u, v ^= v >> 13;
        p[i] = __float2bfloat16(((v & 0xFFFF) / 65536.0f - 0.5f) * 0.2f);
    }
}
static void time_expert_chunk() {
    const int E = 256, H = 3072, I = 1536, P = 65536 * 8;
    const std::vector<int> n = lognormal_rows(E, P);
    std::vector<int> off = offsets(n, 1);
    int mx = 0, small = 0;
    for (int e = 0; e < E; e++) mx = n[e] > mx ? n[e] : mx, small += n[e] > 0 && n[e] < 256;
    const size_t R = off[E];
    bf16 *W13 = dev<bf16>((size_t)E * 2 * I * H), *W2 = dev<bf16>((size_t)E * H * I), *X = dev<bf16>(R * H),
         *A = dev<bf16>(R * I);
    float *G = dev<float>(R * 2 * I), *Y = dev<float>(R * H);
    k_fill_bf<<<1024, 256>>>(W13, (size_t)E * 2 * I * H, 1);
    k_fill_bf<<<1024, 256>>>(W2, (size_t)E * H * I, 2);
    k_fill_bf<<<1024, 256>>>(X, R * H, 3);
    k_fill_bf<<<1024, 256>>>(A, R * I, 4);
    cublasHandle_t hb;
    CB(cublasCreate(&hb));
    reap_k_xgemm_each *x = NULL;
    CB(reap_k_xgemm_each_create(&x));
    for (int ns = 1; ns <= 4; ns++) {
        CB(reap_k_xgemm_each_streams(x, ns));
        int launches[2] = {0, 0};
        std::vector<double> t;
        for (int rep = 0; rep < 6; rep++) {  // the first run fills the plan cache: not counted
            CU(cudaDeviceSynchronize());
            double t0 = reap_now();
            CB(reap_k_expert_gemms_each(x, hb, 0, off.data(), E, 2 * I, H, W13, X, G, CUDA_R_32F, &launches[0]));
            CB(reap_k_expert_gemms_each(x, hb, 0, off.data(), E, H, I, W2, A, Y, CUDA_R_32F, &launches[1]));
            CU(cudaDeviceSynchronize());
            if (rep) t.push_back(reap_now() - t0);
        }
        std::sort(t.begin(), t.end());
        const double fl = 2.0 * P * 3.0 * I * H, s = t[t.size() / 2];  // routed pairs only (padding rows not counted)
        printf("TIME expert_chunk each (padded), %d stream%s: %.2f ms = %.0f TFLOP/s (%d pairs, largest %d, %d below "
               "256, rows %.3fx, %d + %d GEMMs)\n",
               ns, ns > 1 ? "s" : "", s * 1e3, fl / s / 1e12, P, mx, small, (double)R / P, launches[0], launches[1]);
    }
    reap_k_xgemm_each_destroy(x);
    cublasDestroy(hb);
    void *fr[] = {W13, W2, X, A, G, Y};
    for (void *q : fr) CU(cudaFree(q));
}

int main(void) {
    int nd = 0;
    if (cudaGetDeviceCount(&nd) != cudaSuccess || nd == 0) {
        printf("SKIP dev_xgemm_each: no CUDA device\n");
        return 0;
    }
    check_pad_classes();
    check_expert_gemms_each();
    if (!getenv("DEV_NO_TIMING")) time_expert_chunk();
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}

// dev_fp8: the FP8 expert GEMMs (issue 16 item 5). First the shipped kernels of `reap score
// --gpu-experts fp8` as the pipeline runs them (check_pipeline, below: "fp8_pipe_*"), then the
// experiment that chose them (kept: its numbers are the ones bench/RESULTS.md cites). Can the expert GEMMs of an
// FP8 checkpoint (E4M3 weights, one f32 multiplier per 128x128 block, MiniMax-M2 style) run as
// cuBLASLt block-scaled FP8 matmuls on Hopper (CUDA 13: CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F
// for the weights, ..._VEC128_32F for the activations: one f32 per token per 128 input channels)
// instead of dequantising every layer's experts to bf16 (reap_k_dequant_bf16) and running the bf16
// GEMMs (reap_k_expert_gemms_each)? And how far from the bf16 path are its results?
//
// The GEMM: C (N, out) = X (N, in) * W (out, in)^T, row-major as everywhere in reap; cuBLASLt sees
// the column-major C^T (out, N) = op(A) * B with A = W stored (in, out) ld in, transa = T, B = X
// stored (in, N) ld in, transb = N ("TN", the only FP8 form on Hopper). Shapes of MiniMax-M2:
// w13 = gate|up (out 2I = 3072, in H = 3072) and w2 = down (out H = 3072, in I = 1536).
//
// Scale layouts (what cuBLASLt is given; the harness checks them, see "layout" below):
//   W, BLK128x128 on A: s[kb + ob * ld], ld = round_up(in/128, 4): the K-block index fastest. That
//       is the checkpoint's own (ceil(out/128), ceil(in/128)) row-major weight_scale_inv whenever
//       in/128 is a multiple of 4 (M2: 24 and 12), so no reordering.
//   X, VEC128 on B: s[n + kb * N]: the token index fastest ("outer-dimension major"), written so by
//       the quantiser here (k_quant_act). This is PyTorch's 1x128 convention (scale (N, in/128)
//       with strides (1, N)); the 128x128 one is its (round_up(in/128, 4), out/128), strides (1, ld).
// Each is checked against the other order on data whose blocks differ in magnitude by up to e^3
// (every 128x128 weight block and every token's 128-group has its own factor): with a wrong order
// the error against float64 is ~1, with the right one ~1e-6 (f32 out). The best order is used for
// the rest of the run and named in the "layout" lines.
//
// Output, in order ("PASS name: ...", "FAIL name: ...", "INFO ...", "TIME ..."; exit 1 on any FAIL;
// "SKIP dev_fp8: no CUDA device" and exit 0 without one; DEV_NO_TIMING=1: no TIME lines):
//   INFO device / cublasLt version.
//   INFO support <variant>: for every variant (who gets which scale mode, D f32 or bf16, fast
//       accumulation off/on), the status of each descriptor step and of the heuristic query, and
//       the number of algorithms found. Variants: "A=W:blk B=X:vec" (the plan above), "A=X:vec
//       B=W:blk" (operands swapped; D comes out transposed, (out, N) row-major) and "A=W:vec B=X:vec"
//       (the weight's block scales expanded to one per output row per 128 inputs, VEC128 on both).
//   PASS/FAIL fp8_blockscaled_supported: the plan (A=W:blk B=X:vec, D f32, fast accum off) has an
//       algorithm; the FAIL lists which variants do.
//   INFO layout W=<order> X=<order>: rel L2 against the float64 reference of the quantised operands
//       for each of the 4 scale orders; PASS/FAIL layout_documented: the orders above win (else the
//       winner is named and used).
//   PASS/FAIL act_quant_<shape>_N<N>: the activation quantiser (per token per 128 channels: amax ->
//       scale = amax/448 (1 for a zero group) -> e4m3 of x/scale, RNE, saturating) bit-exact against
//       reap_quant_e4m3_block (lib/dtype.c) with 1x128 blocks.
//   PASS/FAIL bf16_<shape>_N<N>: today's path (reap_k_dequant_bf16 of the FP8 weights, then
//       reap_k_expert_gemms_each, f32 out) against the float64 reference of the exact operands
//       (X bf16, W = fp8 * scale in float64).
//   PASS/FAIL fp8_<shape>_N<N> [variant]: the FP8 path: "vs q" against the float64 reference of the
//       operands it was given (quantised X: isolates cuBLASLt's arithmetic and detects a wrong scale
//       layout), "vs exact" against the same reference as the bf16 line (the number to set against
//       bf16's: it includes the activation quantisation), "vs bf16" against the bf16 path's output.
//       Each: rel L2 over the sampled rows (||got - ref|| / ||ref||), the worst row's rel L2, and the
//       largest |got - ref| / rms(ref row). Limits (sanity, not the decision): vs q 5e-3, vs exact
//       0.06 (e4m3 rounding of the activations alone gives ~0.025), bf16 vs exact 4e-3. Rows
//       sampled: 64 evenly spaced (all at N = 64), the last N/16 rows are zero (padding rows) and
//       must come out exactly zero. All supported variants at N = 256, the f32 and bf16-out plan at
//       the other N.
//   PASS/FAIL fp8_split_gate_up_N256: w13 as two GEMMs (gate rows, up rows: out 1536 each) writing
//       the two halves of one (N, 3072) f32 output (ldc 3072): what the pipeline would do with w1
//       and w3 stored apart (kernels/gpu_weights.cu dequantises them into one w13 today).
//   TIME <shape> N=<N>: median of 10 (cudaEvent) for N = 1024, 4096, 16384: the bf16 GEMM, each FP8
//       variant's GEMM (TFLOP/s = 2 N out in / t, speedup over bf16 with and without the quantiser),
//       the activation quantiser alone.
//   TIME dequant_layer: reap_k_dequant_bf16 over one M2 layer's experts as kernels/gpu_weights.cu
//       issues it (256 experts x w1, w3 (1536 x 3072) + w2 (3072 x 1536): 768 calls, 3.6 GB fp8 ->
//       7.2 GB bf16): the cost the FP8 path removes, once per layer.
//   TIME wqkv / wo N=65536: an experiment, the attention projections (q|k|v: out 8192, in 3072; o:
//       out 3072, in 6144) over one 64k-token chunk as FP8 block-scaled matmuls against bf16 (the
//       pipeline runs them in bf16).
//   TIME experts: one M2 chunk's expert GEMMs (gate|up + down, bf16 out) on 1 to 4 streams.
//   TIME gather: reap_k_scatter_rows_fp8 against the bf16 gather at M2's chunk shape.
//   `dev_fp8 proj` runs only the probe, the layout check and the last two; `dev_fp8 experts` only
//   TIME experts.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <cublasLt.h>
#include <cuda_fp8.h>

#define DEV_SEED 0xD1B54A32D192ED03ull
#include "dev.cuh"

enum { BLK = 128 };
static const int M2_H = 3072, M2_I = 1536, M2_E = 256;

// ---- soft checks: a failure prints FAIL and the run goes on ---------------------------------------
static int dead = 0;  // a sticky CUDA error (illegal address, ...): the context is gone, GPU work stops
static int soft(cudaError_t e, const char *what, int line) {
    if (e == cudaSuccess) return 1;
    printf("FAIL cuda: %s: %s (line %d)\n", what, cudaGetErrorString(e), line);
    failures++;
    if (e != cudaErrorMemoryAllocation) dead = 1;
    cudaGetLastError();
    return 0;
}
#define SC(x) soft((x), #x, __LINE__)
static const char *bst(cublasStatus_t s) { return cublasGetStatusString(s); }

static int round_up(int a, int b) { return (a + b - 1) / b * b; }
static int cdiv(int a, int b) { return (a + b - 1) / b; }

// n values of T from the device (a failed copy is counted by SC; the vector is then zeros).
template <class T> static std::vector<T> down(const void *d, size_t n) {
    std::vector<T> h(n);
    SC(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
}

template <class T> static T *up(const std::vector<T> &v) {
    T *p = dev<T>(v.size());
    CU(cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
    return p;
}

// ---- the activation quantiser -------------------------------------------------------------------
// x (N, K) bf16 row-major, K % 128 == 0 -> q (N, K) e4m3 and s[n * s_n + kb * s_k] f32, one warp per
// (token, 128-group): amax, scale = amax / 448 (1 when amax == 0), q = e4m3(x / scale) (IEEE
// division, round to nearest even, saturating to +-448): reap_quant_e4m3_block with 1x128 blocks.
// A warp's 128-group from the lane's 4 bf16 (raw): the group's scale and the lane's 4 codes.
__device__ __forceinline__ uint32_t quant4(uint2 raw, float *scale) {
    __nv_bfloat162 p0 = *(__nv_bfloat162 *)&raw.x, p1 = *(__nv_bfloat162 *)&raw.y;
    float v[4] = {__low2float(p0), __high2float(p0), __low2float(p1), __high2float(p1)};
    float a = fmaxf(fmaxf(fabsf(v[0]), fabsf(v[1])), fmaxf(fabsf(v[2]), fabsf(v[3])));
    for (int o = 16; o > 0; o >>= 1) a = fmaxf(a, __shfl_xor_sync(0xffffffffu, a, o));
    const float sc = a > 0.f ? a / 448.f : 1.f;
    uint32_t packed = 0;
    for (int j = 0; j < 4; j++)
        packed |= (uint32_t)__nv_cvt_float_to_fp8(v[j] / sc, __NV_SATFINITE, __NV_E4M3) << (8 * j);
    *scale = sc;
    return packed;
}
__global__ void k_quant_act(const bf16 *x, int N, int K, uint8_t *q, float *s, int64_t s_n, int64_t s_k) {
    const int KB = K / BLK, lane = threadIdx.x & 31;
    const int64_t w = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
    if (w >= (int64_t)N * KB) return;  // per warp: the whole warp leaves together
    const int64_t n = w / KB, kb = w % KB;
    const size_t off = (size_t)n * K + kb * BLK + lane * 4;
    float sc;
    *(uint32_t *)(q + off) = quant4(*(const uint2 *)(x + off), &sc);
    if (lane == 0) s[n * s_n + kb * s_k] = sc;
}
static void quant_act(const bf16 *x, int N, int K, uint8_t *q, float *s, int64_t s_n, int64_t s_k) {
    int64_t threads = (int64_t)N * (K / BLK) * 32;
    k_quant_act<<<(unsigned)((threads + 255) / 256), 256>>>(x, N, K, q, s, s_n, s_k);
}

// Pseudo-random bf16 in [-1, 1) (timing data only)
__global__ void k_fill_bf(bf16 *p, size_t n, uint32_t seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t v = (uint32_t)i * 2654435761u ^ seed;
        v ^= v >> 15, v *= 2246822519u, v ^= v >> 13;
        p[i] = __float2bfloat16(((v & 0xFFFF) / 32768.0f - 1.f));
    }
}

// ---- weights: an FP8 checkpoint tensor and its device forms -------------------------------------
struct Weight {
    const char *name;
    int out, in, ob, kb, ldk;
    std::vector<uint8_t> q;   // (out, in) e4m3
    std::vector<float> s;     // (ob, kb) row-major: weight_scale_inv as the checkpoint stores it
    std::vector<double> wd;   // fp8 * scale in float64 (out, in): the true weights
    uint8_t *dq = 0;
    float *ds_ckpt = 0;       // the checkpoint order (ld kb), for reap_k_dequant_bf16
    float *ds_w[2] = {0, 0};  // BLK128x128 candidates: [0] s[kb + ob*ldk] (documented), [1] s[ob + kb*ob_n]
    float *ds_row[2] = {0, 0};// per output row per 128 inputs (VEC128 on W): [0] s[o + kb*out], [1] s[o*kb_n + kb]
    bf16 *dbf = 0;            // reap_k_dequant_bf16 of (dq, ds_ckpt): today's bf16 weights
};

static void make_weight(Weight &w, const char *name, int out, int in) {
    w.name = name, w.out = out, w.in = in, w.ob = cdiv(out, BLK), w.kb = cdiv(in, BLK), w.ldk = round_up(w.kb, 4);
    std::vector<float> fac((size_t)w.ob * w.kb), f((size_t)out * in);
    for (auto &v : fac) v = 0.02f * expf(1.5f * (2.f * (float)urand() - 1.f));  // blocks differ by up to e^3
    for (int r = 0; r < out; r++)
        for (int c = 0; c < in; c++) f[(size_t)r * in + c] = nrand() * fac[(size_t)(r / BLK) * w.kb + c / BLK];
    w.q.resize((size_t)out * in), w.s.resize(fac.size()), w.wd.resize((size_t)out * in);
    reap_quant_e4m3_block(f.data(), out, in, BLK, BLK, w.q.data(), w.s.data());
    for (int r = 0; r < out; r++)
        for (int c = 0; c < in; c++)
            w.wd[(size_t)r * in + c] =
                (double)reap_e4m3_to_f32(w.q[(size_t)r * in + c]) * (double)w.s[(size_t)(r / BLK) * w.kb + c / BLK];
    const float qnan = nanf("");  // padding of the ld: NaN, so that a read of it shows
    std::vector<float> sk((size_t)w.ob * w.ldk, qnan), so((size_t)w.ob * w.kb), r0((size_t)out * w.kb),
        r1((size_t)out * w.kb);
    for (int ob = 0; ob < w.ob; ob++)
        for (int kb = 0; kb < w.kb; kb++) {
            float v = w.s[(size_t)ob * w.kb + kb];
            sk[(size_t)ob * w.ldk + kb] = v, so[(size_t)kb * w.ob + ob] = v;
        }
    for (int o = 0; o < out; o++)
        for (int kb = 0; kb < w.kb; kb++) {
            float v = w.s[(size_t)(o / BLK) * w.kb + kb];
            r0[(size_t)kb * out + o] = v, r1[(size_t)o * w.kb + kb] = v;
        }
    w.dq = up(w.q), w.ds_ckpt = up(w.s), w.ds_w[0] = up(sk), w.ds_w[1] = up(so), w.ds_row[0] = up(r0),
    w.ds_row[1] = up(r1);
    w.dbf = dev<bf16>((size_t)out * in);
    reap_k_dequant_bf16(REAP_DT_F8_E4M3, w.dq, w.ds_ckpt, out, in, BLK, BLK, w.dbf, 0);
    SC(cudaDeviceSynchronize());
}
static void free_weight(Weight &w) {
    void *p[] = {w.dq, w.ds_ckpt, w.ds_w[0], w.ds_w[1], w.ds_row[0], w.ds_row[1], w.dbf};
    for (void *q : p) cudaFree(q);
}

// ---- activations of one case --------------------------------------------------------------------
struct Act {
    int N, K, kb;
    std::vector<float> x;  // (N, K) bf16 values
    bf16 *dx = 0;
    uint8_t *dq = 0;
    float *ds[2] = {0, 0};  // VEC128 candidates: [0] s[n + kb*N] (documented), [1] s[n*kb_n + kb]
};
// Random bf16 rows, each token's 128-group with its own magnitude (e^-1.2 .. e^1.2); the last N/16
// rows zero, as the padding rows of reap_k_permute_padded are.
static void make_act(Act &a, int N, int K) {
    a.N = N, a.K = K, a.kb = K / BLK;
    a.x.assign((size_t)N * K, 0.f);
    std::vector<uint16_t> b((size_t)N * K, 0);
    const int live = N - N / 16;
    for (int n = 0; n < live; n++)
        for (int g = 0; g < a.kb; g++) {
            float f = expf(1.2f * (2.f * (float)urand() - 1.f));
            for (int k = g * BLK; k < (g + 1) * BLK; k++) {
                size_t i = (size_t)n * K + k;
                b[i] = reap_f32_to_bf16(nrand() * f), a.x[i] = reap_bf16_to_f32(b[i]);
            }
        }
    a.dx = dev<bf16>((size_t)N * K);
    CU(cudaMemcpy(a.dx, b.data(), b.size() * 2, cudaMemcpyHostToDevice));
    a.dq = dev<uint8_t>((size_t)N * K);
    a.ds[0] = dev<float>((size_t)N * a.kb), a.ds[1] = dev<float>((size_t)N * a.kb);
}
static void free_act(Act &a) {
    void *p[] = {a.dx, a.dq, a.ds[0], a.ds[1]};
    for (void *q : p) cudaFree(q);
}

// Quantises a on the GPU in both scale orders and checks it bit for bit against
// reap_quant_e4m3_block; fills xq (N, K) with the dequantised values (float64) of the CPU's result.
static void check_quant(Act &a, const char *shape, std::vector<double> &xq) {
    const int N = a.N, K = a.K, KB = a.kb;
    quant_act(a.dx, N, K, a.dq, a.ds[0], 1, N);
    quant_act(a.dx, N, K, a.dq, a.ds[1], KB, 1);
    if (!SC(cudaDeviceSynchronize())) return;
    std::vector<uint8_t> qr((size_t)N * K), qg((size_t)N * K);
    std::vector<float> sr((size_t)N * KB), s0((size_t)N * KB), s1((size_t)N * KB);
    reap_quant_e4m3_block(a.x.data(), N, K, 1, BLK, qr.data(), sr.data());
    SC(cudaMemcpy(qg.data(), a.dq, qg.size(), cudaMemcpyDeviceToHost));
    SC(cudaMemcpy(s0.data(), a.ds[0], s0.size() * 4, cudaMemcpyDeviceToHost));
    SC(cudaMemcpy(s1.data(), a.ds[1], s1.size() * 4, cudaMemcpyDeviceToHost));
    size_t bq = 0, bs = 0;
    for (size_t i = 0; i < qr.size(); i++) bq += qr[i] != qg[i];
    for (int n = 0; n < N; n++)
        for (int g = 0; g < KB; g++) {
            float r = sr[(size_t)n * KB + g];
            bs += memcmp(&r, &s0[(size_t)g * N + n], 4) != 0;
            bs += memcmp(&r, &s1[(size_t)n * KB + g], 4) != 0;
        }
    int ok = bq == 0 && bs == 0;
    printf("%s act_quant_%s_N%d: %zu of %zu e4m3 bytes and %zu of %zu scales differ from reap_quant_e4m3_block\n",
           ok ? "PASS" : "FAIL", shape, N, bq, qr.size(), bs, 2 * sr.size());
    failures += !ok;
    xq.resize((size_t)N * K);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            xq[(size_t)n * K + k] = (double)reap_e4m3_to_f32(qr[(size_t)n * K + k]) * (double)sr[(size_t)n * KB + k / BLK];
}

// ---- float64 references on sampled rows ---------------------------------------------------------
static std::vector<int> sample_rows(int N) {
    const int R = N < 64 ? N : 64;
    std::vector<int> r(R);
    for (int i = 0; i < R; i++) r[i] = R == 1 ? 0 : (int)((int64_t)i * (N - 1) / (R - 1));
    return r;
}
// ref_x (R, out) = x[rows] . W^T and ref_q the same with the quantised activations, float64.
static void reference(const Weight &w, const Act &a, const std::vector<double> &xq, const std::vector<int> &rows,
                      std::vector<double> &ref_x, std::vector<double> &ref_q) {
    const int R = (int)rows.size(), K = w.in, out = w.out;
    std::vector<double> xs((size_t)R * K), qs((size_t)R * K);
    for (int i = 0; i < R; i++)
        for (int k = 0; k < K; k++)
            xs[(size_t)i * K + k] = a.x[(size_t)rows[i] * K + k], qs[(size_t)i * K + k] = xq[(size_t)rows[i] * K + k];
    ref_x.assign((size_t)R * out, 0), ref_q.assign((size_t)R * out, 0);
#pragma omp parallel for schedule(static)
    for (int j = 0; j < out; j++) {
        const double *wr = &w.wd[(size_t)j * K];
        for (int i = 0; i < R; i++) {
            const double *p = &xs[(size_t)i * K], *q = &qs[(size_t)i * K];
            double s1 = 0, s2 = 0;
            for (int k = 0; k < K; k++) s1 += p[k] * wr[k], s2 += q[k] * wr[k];
            ref_x[(size_t)i * out + j] = s1, ref_q[(size_t)i * out + j] = s2;
        }
    }
}

struct Err {
    double rel = 0, worst_row = 0, max_rel = 0;
    size_t nonfinite = 0, zero_bad = 0;
};
static Err compare(const std::vector<double> &got, const std::vector<double> &ref, int R, int out) {
    Err e;
    double d2 = 0, r2 = 0;
    for (int i = 0; i < R; i++) {
        double rd = 0, rr = 0, mx = 0;
        for (int j = 0; j < out; j++) {
            double g = got[(size_t)i * out + j], r = ref[(size_t)i * out + j];
            if (!std::isfinite(g)) {
                e.nonfinite++;
                continue;
            }
            double d = fabs(g - r);
            rd += d * d, rr += r * r, mx = fmax(mx, d);
        }
        d2 += rd, r2 += rr;
        if (rr == 0) {
            e.zero_bad += rd != 0;  // a zero row (padding) must stay exactly zero
            continue;
        }
        e.worst_row = fmax(e.worst_row, sqrt(rd / rr));
        e.max_rel = fmax(e.max_rel, mx / sqrt(rr / out));
    }
    e.rel = sqrt(d2 / (r2 > 0 ? r2 : 1));
    return e;
}
static int err_ok(const Err &e, double lim) { return e.nonfinite == 0 && e.zero_bad == 0 && e.rel <= lim; }
static void err_print(const char *tag, const Err &e) {
    printf(" %s %.2e (row %.2e, max %.2e)", tag, e.rel, e.worst_row, e.max_rel);
    if (e.nonfinite || e.zero_bad) printf(" [%zu non-finite, %zu zero rows not zero]", e.nonfinite, e.zero_bad);
}

// The sampled rows of C: row-major (N, ld) f32/bf16, or transposed ((out, N) row-major) when trans.
static std::vector<double> fetch(const void *dC, cudaDataType_t dt, int N, int out, int ld, int trans,
                                 const std::vector<int> &rows) {
    const size_t n = (size_t)N * (trans ? out : ld), es = dt == CUDA_R_16BF ? 2 : 4;
    std::vector<uint8_t> h(n * es);
    std::vector<double> g(rows.size() * (size_t)out, NAN);
    if (!SC(cudaMemcpy(h.data(), dC, h.size(), cudaMemcpyDeviceToHost))) return g;
    for (size_t i = 0; i < rows.size(); i++)
        for (int j = 0; j < out; j++) {
            size_t idx = trans ? (size_t)j * N + rows[i] : (size_t)rows[i] * ld + j;
            double v;
            if (es == 2) {
                uint16_t b;
                memcpy(&b, &h[idx * 2], 2);
                v = reap_bf16_to_f32(b);
            } else {
                float f;
                memcpy(&f, &h[idx * 4], 4);
                v = f;
            }
            g[i * out + j] = v;
        }
    return g;
}

// ---- cuBLASLt FP8 plans -------------------------------------------------------------------------
// role 0: A = W (BLK128x128), B = X (VEC128), D (out, N) col-major = C (N, out) row-major: the plan.
// role 1: A = X (VEC128), B = W (BLK128x128), D (N, out) col-major: C comes out transposed.
// role 2: A = W (VEC128: the block scales expanded per output row), B = X (VEC128).
struct Variant {
    int role;
    cudaDataType_t dt;
    int8_t fast;
    int supported;
};
static void vname(const Variant &v, char *buf, size_t n) {
    static const char *roles[] = {"A=W:blk B=X:vec", "A=X:vec B=W:blk", "A=W:vec B=X:vec"};
    snprintf(buf, n, "%s D=%s fast=%d", roles[v.role], v.dt == CUDA_R_32F ? "f32" : "bf16", (int)v.fast);
}

struct Lt {
    cublasLtHandle_t h = 0;
    void *ws = 0;
    size_t ws_bytes = (size_t)32 << 20;
};
struct Plan {
    cublasLtMatmulDesc_t desc = 0;
    cublasLtMatrixLayout_t la = 0, lb = 0, lc = 0;
    cublasLtMatmulAlgo_t algo;
    int ok = 0, found = 0;
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    const char *step = "";  // the step that failed
    size_t ws = 0;
};
static void plan_free(Plan &p) {
    if (p.lc) cublasLtMatrixLayoutDestroy(p.lc);
    if (p.lb) cublasLtMatrixLayoutDestroy(p.lb);
    if (p.la) cublasLtMatrixLayoutDestroy(p.la);
    if (p.desc) cublasLtMatmulDescDestroy(p.desc);
    p = Plan();
}
// A plan for C (N, out) = X (N, K) W (out, K)^T in FP8 with the scale pointers sa (for A) and sb
// (for B) as the variant assigns them; ldc the row stride of C (out unless writing into a wider C;
// role 0 only).
static Plan plan_fp8(const Lt &lt, const Variant &v, int out, int K, int N, const void *sa, const void *sb, int ldc) {
    Plan p;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    int32_t blk = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F, vec = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
    int32_t ma = v.role == 0 ? blk : vec, mb = v.role == 1 ? blk : vec;
    const int m = v.role == 1 ? N : out, n = v.role == 1 ? out : N;
#define STEP(name, x)                                    \
    do {                                                 \
        p.step = name;                                   \
        if ((p.st = (x)) != CUBLAS_STATUS_SUCCESS) return p; \
    } while (0)
    STEP("MatmulDescCreate", cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    STEP("TRANSA", cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    STEP("TRANSB", cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    STEP("A_SCALE_MODE", cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &ma, sizeof ma));
    STEP("B_SCALE_MODE", cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mb, sizeof mb));
    STEP("A_SCALE_POINTER", cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sa, sizeof sa));
    STEP("B_SCALE_POINTER", cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &sb, sizeof sb));
    STEP("FAST_ACCUM", cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &v.fast, sizeof v.fast));
    STEP("layout A", cublasLtMatrixLayoutCreate(&p.la, CUDA_R_8F_E4M3, K, m, K));
    STEP("layout B", cublasLtMatrixLayoutCreate(&p.lb, CUDA_R_8F_E4M3, K, n, K));
    STEP("layout C/D", cublasLtMatrixLayoutCreate(&p.lc, v.dt, m, n, v.role == 1 ? m : ldc));
    cublasLtMatmulPreference_t pref;
    STEP("PreferenceCreate", cublasLtMatmulPreferenceCreate(&pref));
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &lt.ws_bytes,
                                         sizeof lt.ws_bytes);
    cublasLtMatmulHeuristicResult_t r;
    memset(&r, 0, sizeof r);
    p.step = "AlgoGetHeuristic";
    p.st = cublasLtMatmulAlgoGetHeuristic(lt.h, p.desc, p.la, p.lb, p.lc, p.lc, pref, 1, &r, &p.found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (p.st == CUBLAS_STATUS_SUCCESS && p.found > 0 && r.state == CUBLAS_STATUS_SUCCESS)
        p.algo = r.algo, p.ws = r.workspaceSize, p.ok = 1, p.step = "";
    else if (p.st == CUBLAS_STATUS_SUCCESS && p.found > 0)
        p.st = r.state;
#undef STEP
    return p;
}
static cublasStatus_t run_fp8(const Lt &lt, const Plan &p, const void *A, const void *B, void *C) {
    const float one = 1.f, zero = 0.f;
    return cublasLtMatmul(lt.h, p.desc, &one, A, p.la, B, p.lb, &zero, C, p.lc, C, p.lc, &p.algo, lt.ws, lt.ws_bytes, 0);
}

static int wl = 0, xl = 0;  // the scale orders in use (0: the documented ones), set by check_layout
static const char *wl_name[] = {"kb+ob*ld(checkpoint)", "ob+kb*OB"}, *xl_name[] = {"n+kb*N(token-major)", "kb+n*KB"};

// Operands and scale pointers of variant v (role), with the orders wl, xl.
static void operands(const Variant &v, const Weight &w, const Act &a, int wo, int xo, const void **A, const void **B,
                     const void **sa, const void **sb) {
    const void *sx = a.ds[xo], *sw = v.role == 2 ? (const void *)w.ds_row[xo] : (const void *)w.ds_w[wo];
    if (v.role == 1)
        *A = a.dq, *sa = sx, *B = w.dq, *sb = sw;
    else
        *A = w.dq, *sa = sw, *B = a.dq, *sb = sx;
}

// Runs variant v on (w, a) and returns the sampled rows of C (NaN on failure, with a FAIL line).
static std::vector<double> fp8_rows(const Lt &lt, const Variant &v, const Weight &w, const Act &a, int wo, int xo,
                                    const std::vector<int> &rows, const char *name) {
    std::vector<double> bad(rows.size() * (size_t)w.out, NAN);
    const void *A, *B, *sa, *sb;
    operands(v, w, a, wo, xo, &A, &B, &sa, &sb);
    Plan p = plan_fp8(lt, v, w.out, w.in, a.N, sa, sb, w.out);
    if (!p.ok) {
        printf("FAIL %s: no plan: %s: %s (%d), %d algorithms\n", name, p.step, bst(p.st), (int)p.st, p.found);
        failures++;
        plan_free(p);
        return bad;
    }
    const size_t es = v.dt == CUDA_R_16BF ? 2 : 4;
    uint8_t *C = dev<uint8_t>((size_t)a.N * w.out * es);  // poisoned: NaN
    cublasStatus_t st = run_fp8(lt, p, A, B, C);
    plan_free(p);
    if (st != CUBLAS_STATUS_SUCCESS) {
        printf("FAIL %s: cublasLtMatmul: %s (%d)\n", name, bst(st), (int)st);
        failures++;
        cudaFree(C);
        return bad;
    }
    if (!SC(cudaDeviceSynchronize())) {
        cudaFree(C);
        return bad;
    }
    std::vector<double> g = fetch(C, v.dt, a.N, w.out, w.out, v.role == 1, rows);
    cudaFree(C);
    return g;
}

// ---- support probe ------------------------------------------------------------------------------
static std::vector<Variant> probe(const Lt &lt, const Weight &w) {
    std::vector<Variant> vs;
    for (int role = 0; role < 3; role++)
        for (cudaDataType_t dt : {CUDA_R_32F, CUDA_R_16BF})
            for (int8_t fast = 0; fast < 2; fast++) vs.push_back({role, dt, fast, 0});
    const int N = 1024;
    float *sx = dev<float>((size_t)N * (w.in / BLK));
    std::string works;
    for (auto &v : vs) {
        const void *sa = v.role == 1 ? (const void *)sx : (const void *)(v.role == 2 ? w.ds_row[0] : w.ds_w[0]);
        const void *sb = v.role == 1 ? (const void *)w.ds_w[0] : (const void *)sx;
        Plan p = plan_fp8(lt, v, w.out, w.in, N, sa, sb, w.out);
        char nm[96];
        vname(v, nm, sizeof nm);
        if (p.ok)
            printf("INFO support %s: heuristic %s, %d algorithm(s), workspace %zu bytes (%s, N=%d)\n", nm, bst(p.st),
                   p.found, p.ws, w.name, N);
        else
            printf("INFO support %s: NOT SUPPORTED: %s returned %s (%d), %d algorithms (%s, N=%d)\n", nm, p.step,
                   bst(p.st), (int)p.st, p.found, w.name, N);
        v.supported = p.ok;
        if (p.ok) works += std::string(works.empty() ? "" : "; ") + nm;
        plan_free(p);
    }
    cudaFree(sx);
    int ok = vs[0].supported;
    printf("%s fp8_blockscaled_supported: A=W:blk B=X:vec D=f32 fast=0 %s; variants with an algorithm: %s\n",
           ok ? "PASS" : "FAIL", ok ? "has an algorithm" : "has none", works.empty() ? "none" : works.c_str());
    failures += !ok;
    return vs;
}

// ---- the scale orders ---------------------------------------------------------------------------
static void check_layout(const Lt &lt, const std::vector<Variant> &vs, const Weight &w) {
    const Variant *v = NULL;
    for (auto &c : vs)
        if (c.supported && c.role != 2) {
            v = &c;
            break;
        }
    if (!v) {
        printf("FAIL layout_documented: no BLK128x128 variant has an algorithm: nothing to check\n");
        failures++;
        return;
    }
    char nm[96];
    vname(*v, nm, sizeof nm);
    Act a;
    make_act(a, 256, w.in);
    std::vector<double> xq, rx, rq;
    check_quant(a, "layout_w13", xq);
    std::vector<int> rows = sample_rows(a.N);
    reference(w, a, xq, rows, rx, rq);
    double best = INFINITY, errs[2][2];
    int bw = 0, bx = 0;
    for (int wo = 0; wo < 2; wo++)
        for (int xo = 0; xo < 2; xo++) {
            Err e = compare(fp8_rows(lt, *v, w, a, wo, xo, rows, "layout"), rq, (int)rows.size(), w.out);
            errs[wo][xo] = e.nonfinite ? INFINITY : e.rel;
            printf("INFO layout W=%s X=%s [%s, %s N=%d]: rel L2 vs q %.2e (row %.2e)%s\n", wl_name[wo], xl_name[xo], nm,
                   w.name, a.N, e.rel, e.worst_row, e.nonfinite ? " non-finite values" : "");
            if (errs[wo][xo] < best) best = errs[wo][xo], bw = wo, bx = xo;
        }
    const double lim = 5e-3;
    int ok = bw == 0 && bx == 0 && best <= lim;
    if (best <= lim) wl = bw, xl = bx;
    printf("%s layout_documented: best W=%s X=%s (rel L2 %.2e, limit %.0e); documented order %.2e; %s\n",
           ok ? "PASS" : "FAIL", wl_name[bw], xl_name[bx], best, lim, errs[0][0],
           best <= lim ? "the best order is used from here on" : "no order fits: the documented one is kept");
    failures += !ok;
    free_act(a);
}

// ---- correctness on the M2 shapes ---------------------------------------------------------------
static void check_case(const Lt &lt, cublasHandle_t hb, reap_k_xgemm_each *x, const std::vector<Variant> &vs,
                       const Weight &w, int N) {
    Act a;
    make_act(a, N, w.in);
    std::vector<double> xq, rx, rq;
    check_quant(a, w.name, xq);
    std::vector<int> rows = sample_rows(N);
    const int R = (int)rows.size();
    reference(w, a, xq, rows, rx, rq);
    // today's path: bf16 weights (reap_k_dequant_bf16), reap_k_expert_gemms_each, f32 out
    float *C = dev<float>((size_t)N * w.out);
    int off[2] = {0, N}, launches = 0;
    cublasStatus_t st = reap_k_expert_gemms_each(x, hb, 0, off, 1, w.out, w.in, w.dbf, a.dx, C, CUDA_R_32F, &launches);
    std::vector<double> gb(rows.size() * (size_t)w.out, NAN);
    if (st != CUBLAS_STATUS_SUCCESS) {
        printf("FAIL bf16_%s_N%d: reap_k_expert_gemms_each: %s (%d)\n", w.name, N, bst(st), (int)st);
        failures++;
    } else if (SC(cudaDeviceSynchronize())) {
        gb = fetch(C, CUDA_R_32F, N, w.out, w.out, 0, rows);
        Err e = compare(gb, rx, R, w.out);
        int ok = err_ok(e, 4e-3);
        printf("%s bf16_%s_N%d (out %d, in %d, %d rows sampled):", ok ? "PASS" : "FAIL", w.name, N, w.out, w.in, R);
        err_print("vs exact", e);
        printf("\n");
        failures += !ok;
    }
    cudaFree(C);
    for (const Variant &v : vs) {
        if (!v.supported || dead) continue;
        if (N != 256 && !(v.role == 0 && v.fast == 0)) continue;
        char nm[96], name[160];
        vname(v, nm, sizeof nm);
        snprintf(name, sizeof name, "fp8_%s_N%d [%s]", w.name, N, nm);
        std::vector<double> g = fp8_rows(lt, v, w, a, wl, xl, rows, name);
        Err eq = compare(g, rq, R, w.out), ex = compare(g, rx, R, w.out), eb = compare(g, gb, R, w.out);
        int ok = err_ok(eq, 5e-3) && err_ok(ex, 0.06);
        printf("%s %s:", ok ? "PASS" : "FAIL", name);
        err_print("vs q", eq);
        err_print("| vs exact", ex);
        err_print("| vs bf16", eb);
        printf("\n");
        failures += !ok;
    }
    // w13 as gate and up apart: two GEMMs of out/2 rows each into one C with ldc = out
    if (N == 256 && w.out == 2 * M2_I && vs[0].supported && !dead) {
        const int half = w.out / 2;
        float *C2 = dev<float>((size_t)N * w.out);
        const char *name = "fp8_split_gate_up_N256";
        int ok = 1;
        for (int h = 0; h < 2 && ok; h++) {
            // rows h*half.. of W and their scale blocks (half is a multiple of 128)
            const uint8_t *A = w.dq + (size_t)h * half * w.in;
            const float *sa = wl == 0 ? w.ds_w[0] + (size_t)h * (half / BLK) * w.ldk : NULL;
            if (!sa) {  // the ob-major order has no contiguous half: skip
                printf("INFO %s: skipped (weight scales are not in checkpoint order)\n", name);
                ok = -1;
                break;
            }
            Plan p = plan_fp8(lt, vs[0], half, w.in, N, sa, a.ds[xl], w.out);
            if (!p.ok) {
                printf("FAIL %s: no plan: %s: %s (%d)\n", name, p.step, bst(p.st), (int)p.st);
                ok = 0;
            } else if ((st = run_fp8(lt, p, A, a.dq, C2 + h * half)) != CUBLAS_STATUS_SUCCESS) {
                printf("FAIL %s: cublasLtMatmul: %s (%d)\n", name, bst(st), (int)st);
                ok = 0;
            }
            plan_free(p);
        }
        if (ok == 1 && SC(cudaDeviceSynchronize())) {
            Err e = compare(fetch(C2, CUDA_R_32F, N, w.out, w.out, 0, rows), rq, R, w.out);
            ok = err_ok(e, 5e-3);
            printf("%s %s:", ok ? "PASS" : "FAIL", name);
            err_print("vs q", e);
            printf("\n");
            failures += !ok;
        } else if (ok == 0) {
            failures++;
        }
        cudaFree(C2);
    }
    free_act(a);
}

// ---- timing -------------------------------------------------------------------------------------
struct Timer {
    cudaEvent_t a, b;
    Timer() { cudaEventCreate(&a), cudaEventCreate(&b); }
    // median ms of reps calls of f (returns 0 on failure: NaN), after one untimed call
    template <class F> double median_ms(F f, int reps = 10) {
        if (!f() || !SC(cudaDeviceSynchronize())) return NAN;
        std::vector<float> t;
        for (int i = 0; i < reps; i++) {
            cudaEventRecord(a);
            if (!f()) return NAN;
            cudaEventRecord(b);
            if (!SC(cudaEventSynchronize(b))) return NAN;
            float ms;
            cudaEventElapsedTime(&ms, a, b);
            t.push_back(ms);
        }
        std::sort(t.begin(), t.end());
        return t[t.size() / 2];
    }
};

static void time_shape(const Lt &lt, cublasHandle_t hb, reap_k_xgemm_each *x, const std::vector<Variant> &vs,
                       const Weight &w, int N, Timer &tm) {
    const int K = w.in, KB = K / BLK;
    const double fl = 2.0 * N * (double)w.out * K;
    bf16 *X = dev<bf16>((size_t)N * K);
    uint8_t *Xq = dev<uint8_t>((size_t)N * K);
    float *sx = dev<float>((size_t)N * KB), *C = dev<float>((size_t)N * w.out);
    k_fill_bf<<<1024, 256>>>(X, (size_t)N * K, 0x1234u + N);
    const int64_t s_n = xl == 0 ? 1 : KB, s_k = xl == 0 ? N : 1;
    int off[2] = {0, N}, ns[1] = {N};
    reap_k_xgemm_each_prepare(x, w.out, K, CUDA_R_32F, ns, 1);
    double tb = tm.median_ms([&] {
        return reap_k_expert_gemms_each(x, hb, 0, off, 1, w.out, K, w.dbf, X, C, CUDA_R_32F, NULL) ==
               CUBLAS_STATUS_SUCCESS;
    });
    double tq = tm.median_ms([&] {
        quant_act(X, N, K, Xq, sx, s_n, s_k);
        return cudaGetLastError() == cudaSuccess;
    });
    printf("TIME %s N=%d: bf16 (reap_k_expert_gemms_each, f32 out) %.3f ms = %.0f TFLOP/s; act quant (bf16 -> e4m3 "
           "+ 1x128 scales) %.3f ms = %.0f GB/s\n",
           w.name, N, tb, fl / tb / 1e9, tq, 3.0 * N * K / tq / 1e6);
    Act a;  // the operand view operands() wants
    a.N = N, a.K = K, a.kb = KB, a.dx = X, a.dq = Xq, a.ds[xl] = sx, a.ds[1 - xl] = sx;
    for (const Variant &v : vs) {
        if (!v.supported || v.role == 2 || dead) continue;
        const void *A, *B, *sa, *sb;
        operands(v, w, a, wl, xl, &A, &B, &sa, &sb);
        Plan p = plan_fp8(lt, v, w.out, K, N, sa, sb, w.out);
        char nm[96];
        vname(v, nm, sizeof nm);
        if (!p.ok) {
            printf("FAIL time_%s_N%d [%s]: no plan: %s: %s (%d)\n", w.name, N, nm, p.step, bst(p.st), (int)p.st);
            failures++;
            plan_free(p);
            continue;
        }
        cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
        double tf = tm.median_ms([&] { return (st = run_fp8(lt, p, A, B, C)) == CUBLAS_STATUS_SUCCESS; });
        plan_free(p);
        if (st != CUBLAS_STATUS_SUCCESS) {
            printf("FAIL time_%s_N%d [%s]: cublasLtMatmul: %s (%d)\n", w.name, N, nm, bst(st), (int)st);
            failures++;
            continue;
        }
        printf("TIME %s N=%d fp8 [%s]: %.3f ms = %.0f TFLOP/s, %.2fx bf16; with act quant %.3f ms, %.2fx bf16\n",
               w.name, N, nm, tf, fl / tf / 1e9, tb / tf, tf + tq, tb / (tf + tq));
    }
    void *fr[] = {X, Xq, sx, C};
    for (void *p : fr) cudaFree(p);
}

// reap_k_dequant_bf16 over one M2 layer's experts, issued as kernels/gpu_weights.cu does.
static void time_dequant(Timer &tm) {
    const size_t E = M2_E, H = M2_H, I = M2_I, m = I * H;
    const size_t n13 = (size_t)cdiv(I, BLK) * cdiv(H, BLK), n2 = (size_t)cdiv(H, BLK) * cdiv(I, BLK);
    uint8_t *raw = NULL;
    bf16 *w13 = NULL, *w2 = NULL;
    float *s = NULL;
    if (cudaMalloc((void **)&raw, 3 * E * m) != cudaSuccess || cudaMalloc((void **)&w13, 2 * E * m * 2) != cudaSuccess ||
        cudaMalloc((void **)&w2, E * m * 2) != cudaSuccess || cudaMalloc((void **)&s, 3 * E * n13 * 4) != cudaSuccess) {
        cudaGetLastError();
        printf("INFO dequant_layer: skipped: not enough device memory for one layer (%.1f GB)\n", 9.0 * E * m / 1e9);
        cudaFree(raw), cudaFree(w13), cudaFree(w2), cudaFree(s);
        return;
    }
    cudaMemset(raw, 0x38, 3 * E * m);  // e4m3 1.0
    std::vector<float> ones(3 * E * n13, 1.f);
    SC(cudaMemcpy(s, ones.data(), ones.size() * 4, cudaMemcpyHostToDevice));
    uint8_t *r1 = raw, *r3 = raw + E * m, *r2 = raw + 2 * E * m;
    float *s1 = s, *s3 = s + E * n13, *s2 = s + 2 * E * n13;
    double t = tm.median_ms(
        [&] {
            for (size_t e = 0; e < E; e++) {
                reap_k_dequant_bf16(REAP_DT_F8_E4M3, r1 + e * m, s1 + e * n13, I, H, BLK, BLK, w13 + e * 2 * m, 0);
                reap_k_dequant_bf16(REAP_DT_F8_E4M3, r3 + e * m, s3 + e * n13, I, H, BLK, BLK, w13 + e * 2 * m + m, 0);
                reap_k_dequant_bf16(REAP_DT_F8_E4M3, r2 + e * m, s2 + e * n2, H, I, BLK, BLK, w2 + e * m, 0);
            }
            return cudaGetLastError() == cudaSuccess;
        },
        5);
    printf("TIME dequant_layer: reap_k_dequant_bf16 x %zu calls (%zu experts, w1 + w3 %zux%zu, w2 %zux%zu): %.2f ms per "
           "layer = %.0f GB/s (%.1f GB fp8 read, %.1f GB bf16 written); the FP8 path skips it and the bf16 copy\n",
           3 * E, E, I, H, H, I, t, 9.0 * E * m / t / 1e6, 3.0 * E * m / 1e9, 6.0 * E * m / 1e9);
    cudaFree(raw), cudaFree(w13), cudaFree(w2), cudaFree(s);
}

// ---- the shipped pipeline kernels (reap score --gpu-experts fp8) ----------------------------------
// What kernels/gpu.cu runs for a chunk's experts with FP8 GEMMs, on random routing: reap_k_permute_padded,
// reap_k_scatter_rows_fp8 (codes and scales bit-exact against reap_quant_e4m3_block of each token's
// row, in the per-expert scale layout of kern.cuh; padding rows zero codes, scale 1),
// reap_k_fp8_pack_scales + reap_k_expert_gemms_fp8 for gate|up with bf16 output (against float64 of
// the operands it was given, rel L2 <= 5e-3; padding rows exactly 0), reap_k_silu_mul_fp8 (against
// the CPU's silu of the GPU's bf16 gate|up output quantised by reap_quant_e4m3_block: at most 1e-3 of the codes may
// differ, by one step, where expf's last bit moves a value across a rounding boundary) and the down
// GEMM (as gate|up, bf16 output, which the statistics read). Shapes: M2's (H 3072, I 1536) and a small one whose K-block counts (2 and 1)
// are not multiples of 4 (the weight scales' padded rows). Each on one stream and again with the
// experts spread over 3 (reap_k_xgemm_each_streams; the names end in "_streams").
static uint8_t rand_e4m3() {
    uint8_t b = (uint8_t)(urand() * 256);
    return (b & 0x7F) == 0x7F ? (uint8_t)(b - 1) : b;  // no NaN codes
}
static double rel_l2(const std::vector<double> &got, const std::vector<double> &ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < got.size(); i++) num += (got[i] - ref[i]) * (got[i] - ref[i]), den += ref[i] * ref[i];
    return den > 0 ? sqrt(num / den) : sqrt(num);
}
// Random routing: N tokens x S distinct experts of E each, a slot empty (-1) with probability p_empty.
static std::vector<int> random_slots(int N, int S, int E, double p_empty) {
    std::vector<int> se((size_t)N * S);
    for (int t = 0; t < N; t++)
        for (int j = 0; j < S; j++) {
            int e;
            bool dup;
            do {
                e = (int)(urand() * E), dup = false;
                for (int i = 0; i < j; i++) dup |= se[(size_t)t * S + i] == e;
            } while (dup);
            se[(size_t)t * S + j] = p_empty > 0 && urand() < p_empty ? -1 : e;
        }
    return se;
}

// ---- the gather's time -----------------------------------------------------------------------------
// reap_k_scatter_rows_fp8 at M2's chunk shape (64k tokens x 8 slots, random routing) against the
// bf16 gather (reap_k_scatter_rows). Its first version stored each scale straight into cuBLASLt's
// per-expert layout (4 bytes at a time into a 50 MB array, from blocks of unrelated tokens):
// 1.593 ms against 0.996 ms for the shipped row-major scales + a transpose per 64-row tile
// (bench/RESULTS.md, 2026-12-06).
static void time_gather(Timer &tm) {
    const int N = 65536, S = 8, E = 256, H = M2_H, KB = H / BLK, cap = N * S + N * S / 8 + 64 * E;
    std::vector<int> se = random_slots(N, S, E, 0);
    bf16 *dx = dev<bf16>((size_t)N * H), *xe = dev<bf16>((size_t)cap * H);
    k_fill_bf<<<1024, 256>>>(dx, (size_t)N * H, 99);
    int *dse = up(se), *cnt = dev<int>(E), *off = dev<int>(E + 2), *cur = dev<int>(E), *ptok = dev<int>(cap),
        *pslot = dev<int>(cap), *spos = dev<int>((size_t)N * S);
    uint8_t *q = dev<uint8_t>((size_t)cap * H);
    float *qs = dev<float>((size_t)cap * KB), *qr = dev<float>((size_t)cap * KB);
    reap_k_permute_padded(dse, N, S, E, cap, cnt, off, cur, ptok, pslot, spos, 0);
    const int P = down<int>(off, E + 2)[E];
    const double bytes_fp8 = (double)N * H * 2 + (double)P * (H + 4 * KB), bytes_bf = (double)N * H * 2 + (double)P * H * 2;
    double t1 = tm.median_ms([&] {
        reap_k_scatter_rows_fp8(dx, spos, off, N, S, ptok, P, E, H, q, qs, qr, 0);
        return cudaGetLastError() == cudaSuccess;
    });
    double t2 = tm.median_ms([&] {
        reap_k_scatter_rows(dx, spos, N, S, ptok, P, H, xe, 0);
        return cudaGetLastError() == cudaSuccess;
    });
    printf("TIME gather M2 chunk %d tokens x %d slots (%d rows): fp8 (reap_k_scatter_rows_fp8) %.3f ms (%.0f GB/s), bf16 "
           "(reap_k_scatter_rows) %.3f ms (%.0f GB/s)\n",
           N, S, P, t1, bytes_fp8 / t1 / 1e6, t2, bytes_bf / t2 / 1e6);
    void *fr[] = {dx, xe, dse, cnt, off, cur, ptok, pslot, spos, q, qs, qr};
    for (void *p : fr) cudaFree(p);
}

// streams: how many x spreads the experts over (set by the caller; only named here)
static void check_pipeline(reap_k_xgemm_each *x, int H, int I, int E, int N, int S, int streams) {
    char tag[64];
    snprintf(tag, sizeof tag, "H%d_I%d_E%d_N%d%s", H, I, E, N, streams > 1 ? "_streams" : "");
    const int KH = H / BLK, KI = I / BLK, ldH = reap_k_fp8_ld(H), ldI = reap_k_fp8_ld(I);
    const int cap = N * S + N * S / 8 + 64 * E;
    // tokens: bf16 with every 128-group its own magnitude; slots: S distinct experts, 1 in 8 empty
    std::vector<bf16> hx((size_t)N * H);
    std::vector<float> fx((size_t)N * H);
    for (int t = 0; t < N; t++)
        for (int g = 0; g < KH; g++) {
            float mag = expf((float)(urand() * 6 - 3));
            for (int c = 0; c < BLK; c++) {
                size_t i = (size_t)t * H + g * BLK + c;
                hx[i] = __float2bfloat16(nrand() * mag), fx[i] = __bfloat162float(hx[i]);
            }
        }
    std::vector<int> se = random_slots(N, S, E, 0.125);
    // weights: E4M3 codes, one scale per 128x128 block; w13 = w1 rows then w3 rows per expert
    std::vector<uint8_t> w13((size_t)E * 2 * I * H), w2((size_t)E * H * I);
    std::vector<float> s1((size_t)E * KI * KH), s3(s1.size()), s2((size_t)E * KH * KI);
    for (auto &b : w13) b = rand_e4m3();
    for (auto &b : w2) b = rand_e4m3();
    for (auto *v : {&s1, &s3, &s2})
        for (auto &f : *v) f = (float)(1e-3 * exp(urand() * 2 - 1));
    bf16 *dx = up(hx);
    int *dse = up(se), *cnt = dev<int>(E), *off = dev<int>(E + 2), *cur = dev<int>(E), *ptok = dev<int>(cap),
        *pslot = dev<int>(cap), *spos = dev<int>((size_t)N * S);
    uint8_t *dw13 = up(w13), *dw2 = up(w2), *q = dev<uint8_t>((size_t)cap * (H > I ? H : I));
    float *ds1 = up(s1), *ds3 = up(s3), *ds2 = up(s2), *ws13 = dev<float>((size_t)E * 2 * KI * ldH),
          *ws2 = dev<float>((size_t)E * KH * ldI), *qs = dev<float>((size_t)cap * (KH > KI ? KH : KI)),
          *Y = dev<float>((size_t)cap * H);
    bf16 *G = dev<bf16>((size_t)cap * 2 * I);
    reap_k_permute_padded(dse, N, S, E, cap, cnt, off, cur, ptok, pslot, spos, 0);
    reap_k_fp8_pack_scales(ds1, ds3, E, KI, KI, KH, ldH, ws13, 0);
    reap_k_fp8_pack_scales(ds2, NULL, E, KH, 0, KI, ldI, ws2, 0);
    std::vector<int> hoff(E + 2);
    if (!SC(cudaMemcpy(hoff.data(), off, (E + 2) * 4, cudaMemcpyDeviceToHost))) return;
    const int P = hoff[E];
    std::vector<int> pt = down<int>(ptok, P);
    std::vector<int> eor(P);  // each row's expert
    for (int e = 0; e < E; e++)
        for (int p = hoff[e]; p < hoff[e + 1]; p++) eor[p] = e;
    auto sidx = [&](int p, int kb, int KB) {
        int e = eor[p], n = hoff[e + 1] - hoff[e];
        return (size_t)hoff[e] * KB + (size_t)kb * n + (p - hoff[e]);
    };

    // gather + quantise
    float *qr = dev<float>((size_t)cap * KH);
    reap_k_scatter_rows_fp8(dx, spos, off, N, S, ptok, P, E, H, q, qs, qr, 0);
    CU(cudaFree(qr));
    if (!SC(cudaDeviceSynchronize())) return;
    std::vector<uint8_t> hq = down<uint8_t>(q, (size_t)P * H);
    std::vector<float> hqs = down<float>(qs, (size_t)P * KH);
    size_t bad_q = 0, bad_s = 0, pad = 0;
    std::vector<uint8_t> cq(H);
    std::vector<float> cs(KH);
    for (int p = 0; p < P; p++) {
        if (pt[p] < 0) {
            pad++;
            for (int k = 0; k < H; k++) bad_q += hq[(size_t)p * H + k] != 0;
            for (int kb = 0; kb < KH; kb++) bad_s += hqs[sidx(p, kb, KH)] != 1.f;
            continue;
        }
        reap_quant_e4m3_block(&fx[(size_t)pt[p] * H], 1, H, 1, BLK, cq.data(), cs.data());
        for (int k = 0; k < H; k++) bad_q += hq[(size_t)p * H + k] != cq[k];
        for (int kb = 0; kb < KH; kb++) bad_s += hqs[sidx(p, kb, KH)] != cs[kb];
    }
    printf("%s fp8_pipe_gather_quant_%s: %d rows (%zu padding): %zu of %zu codes and %zu of %zu scales differ from "
           "reap_quant_e4m3_block\n",
           bad_q || bad_s ? "FAIL" : "PASS", tag, P, pad, bad_q, hq.size(), bad_s, hqs.size());
    failures += bad_q || bad_s;

    // a GEMM's sampled rows against float64 of its operands (codes x scales)
    auto check_gemm = [&](const char *name, const void *dC, int c_bf16, int m, int k, const std::vector<uint8_t> &A,
                          const std::vector<float> &As, const std::vector<uint8_t> &W, const std::vector<float> *sa,
                          const std::vector<float> *sb) {
        const int KB = k / BLK, OA = sa == &s1 ? I / BLK : m / BLK;
        std::vector<float> hc((size_t)P * m);
        if (c_bf16) {
            std::vector<bf16> hb = down<bf16>(dC, hc.size());
            for (size_t i = 0; i < hb.size(); i++) hc[i] = __bfloat162float(hb[i]);
        } else {
            hc = down<float>(dC, hc.size());
        }
        std::vector<double> got, ref;
        size_t nonzero_pad = 0;
        int step = P / 64 > 0 ? P / 64 : 1;
        for (int p = 0; p < P; p++) {
            if (pt[p] < 0) {
                for (int o = 0; o < m; o++) nonzero_pad += hc[(size_t)p * m + o] != 0.f;
                continue;
            }
            if (p % step) continue;
            int e = eor[p];
            for (int o = 0; o < m; o++) {
                const std::vector<float> &sw = o / BLK < OA ? *sa : *sb;
                int ob = o / BLK < OA ? o / BLK : o / BLK - OA, nob = o / BLK < OA ? OA : m / BLK - OA;
                double acc = 0;
                for (int kk = 0; kk < k; kk++)
                    acc += (double)reap_e4m3_to_f32(A[(size_t)p * k + kk]) * As[sidx(p, kk / BLK, KB)] *
                           (double)reap_e4m3_to_f32(W[((size_t)e * m + o) * k + kk]) *
                           sw[((size_t)e * nob + ob) * KB + kk / BLK];
                got.push_back(hc[(size_t)p * m + o]), ref.push_back(acc);
            }
        }
        double r = rel_l2(got, ref);
        int ok = r <= 5e-3 && !nonzero_pad && got.size() > 0;
        printf("%s fp8_pipe_%s_%s: rel L2 %.2e over %zu rows vs float64 of the operands (limit 5e-3); %zu nonzero "
               "outputs in padding rows\n",
               ok ? "PASS" : "FAIL", name, tag, r, got.size() / m, nonzero_pad);
        failures += !ok;
        return hc;
    };
    std::vector<int> hoff_host(hoff);
    CB(reap_k_expert_gemms_fp8(x, 0, hoff_host.data(), E, 2 * I, H, dw13, ws13, q, qs, G, CUDA_R_16BF, NULL));
    if (!SC(cudaDeviceSynchronize())) return;
    std::vector<float> hG = check_gemm("gate_up", G, 1, 2 * I, H, hq, hqs, w13, &s1, &s3);

    // SiLU x up, quantised
    reap_k_silu_mul_fp8(G, P, I, off, E, q, qs, 0);
    if (!SC(cudaDeviceSynchronize())) return;
    std::vector<uint8_t> aq = down<uint8_t>(q, (size_t)P * I);
    std::vector<float> aqs = down<float>(qs, (size_t)P * KI);
    size_t diff_q = 0, far_q = 0, far_s = 0;
    std::vector<float> v(I);
    cq.resize(I), cs.resize(KI);
    for (int p = 0; p < P; p++) {
        for (int c = 0; c < I; c++) {
            float a = hG[(size_t)p * 2 * I + c], b = hG[(size_t)p * 2 * I + I + c];
            v[c] = a / (1.0f + expf(-a)) * b;
        }
        reap_quant_e4m3_block(v.data(), 1, I, 1, BLK, cq.data(), cs.data());
        for (int c = 0; c < I; c++) {
            uint8_t g = aq[(size_t)p * I + c], r = cq[c];
            diff_q += g != r;
            far_q += g != r && fabsf(reap_e4m3_to_f32(g) - reap_e4m3_to_f32(r)) >
                                   0.13f * fmaxf(fabsf(reap_e4m3_to_f32(r)), 1.f / 64);
        }
        for (int kb = 0; kb < KI; kb++) {
            float g = aqs[sidx(p, kb, KI)];
            far_s += fabsf(g - cs[kb]) > 1e-6f * cs[kb];
        }
    }
    int ok = diff_q <= aq.size() / 1000 && !far_q && !far_s;
    printf("%s fp8_pipe_silu_quant_%s: %zu of %zu codes differ from the CPU's (at most 1e-3 allowed, all by one step: "
           "%zu farther), %zu scales off by more than 1e-6\n",
           ok ? "PASS" : "FAIL", tag, diff_q, aq.size(), far_q, far_s);
    failures += !ok;

    CB(reap_k_expert_gemms_fp8(x, 0, hoff_host.data(), E, H, I, dw2, ws2, q, qs, Y, CUDA_R_16BF, NULL));
    if (!SC(cudaDeviceSynchronize())) return;
    check_gemm("down", Y, 1, H, I, aq, aqs, w2, &s2, NULL);
    void *fr[] = {dx, dse, cnt, off, cur, ptok, pslot, spos, dw13, dw2, q, ds1, ds3, ds2, ws13, ws2, qs, G, Y};
    for (void *p : fr) cudaFree(p);
}

// ---- the expert GEMMs of one chunk on 1 to 4 streams --------------------------------------------------
// One M2 chunk (64k tokens x 8 slots = 524k pairs) over 256 experts of log-normal sizes (as
// dev_xgemm_each's chunk), padded: reap_k_expert_gemms_fp8 gate|up then down, bf16 out, as the
// pipeline calls them, with the experts spread over 1-4 streams (reap_k_xgemm_each_streams).
__global__ void k_fill_e4m3(uint8_t *p, size_t n, uint32_t seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t v = (uint32_t)i * 2654435761u ^ seed;
        v ^= v >> 15, v *= 2246822519u, v ^= v >> 13;
        uint8_t b = (uint8_t)v;
        p[i] = (b & 0x7F) == 0x7F ? (uint8_t)(b - 1) : b;  // no NaN codes
    }
}
__global__ void k_fill_f32(float *p, size_t n, float v) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) p[i] = v;
}
static void time_experts(reap_k_xgemm_each *x, Timer &tm) {
    const int E = M2_E, H = M2_H, I = M2_I, P = 65536 * 8, KH = H / BLK, KI = I / BLK;
    const std::vector<int> n = lognormal_rows(E, P);
    std::vector<int> off(E + 1, 0);
    for (int e = 0; e < E; e++) off[e + 1] = off[e] + reap_k_pad_rows(n[e]);
    const size_t R = off[E];
    uint8_t *W13 = dev<uint8_t>((size_t)E * 2 * I * H), *W2 = dev<uint8_t>((size_t)E * H * I), *X = dev<uint8_t>(R * H),
            *A = dev<uint8_t>(R * I);
    const size_t n13 = (size_t)E * 2 * KI * reap_k_fp8_ld(H), n2 = (size_t)E * KH * reap_k_fp8_ld(I);
    float *s13 = dev<float>(n13), *s2 = dev<float>(n2), *xs = dev<float>(R * KH), *as = dev<float>(R * KI);
    bf16 *G = dev<bf16>(R * 2 * I), *Y = dev<bf16>(R * H);
    k_fill_e4m3<<<1024, 256>>>(W13, (size_t)E * 2 * I * H, 1);
    k_fill_e4m3<<<1024, 256>>>(W2, (size_t)E * H * I, 2);
    k_fill_e4m3<<<1024, 256>>>(X, R * H, 3);
    k_fill_e4m3<<<1024, 256>>>(A, R * I, 4);
    k_fill_f32<<<1024, 256>>>(s13, n13, 1e-3f);
    k_fill_f32<<<1024, 256>>>(s2, n2, 1e-3f);
    k_fill_f32<<<1024, 256>>>(xs, R * KH, 1e-2f);
    k_fill_f32<<<1024, 256>>>(as, R * KI, 1e-2f);
    const double fl = 2.0 * P * 3.0 * I * H;  // routed pairs only
    for (int ns = 1; ns <= 4 && !dead; ns++) {
        CB(reap_k_xgemm_each_streams(x, ns));
        double t1 = tm.median_ms([&] {
            return reap_k_expert_gemms_fp8(x, 0, off.data(), E, 2 * I, H, W13, s13, X, xs, G, CUDA_R_16BF, NULL) ==
                   CUBLAS_STATUS_SUCCESS;
        });
        double t2 = tm.median_ms([&] {
            return reap_k_expert_gemms_fp8(x, 0, off.data(), E, H, I, W2, s2, A, as, Y, CUDA_R_16BF, NULL) ==
                   CUBLAS_STATUS_SUCCESS;
        });
        printf("TIME experts fp8 M2 chunk (%d pairs, rows %.3fx), %d stream%s: gate|up %.3f ms + down %.3f ms = %.3f ms, "
               "%.0f TFLOP/s\n",
               P, (double)R / P, ns, ns > 1 ? "s" : "", t1, t2, t1 + t2, fl / (t1 + t2) / 1e9);
    }
    CB(reap_k_xgemm_each_streams(x, 1));
    void *fr[] = {W13, W2, X, A, s13, s2, xs, as, G, Y};
    for (void *p : fr) cudaFree(p);
}

// Every check, then (without DEV_NO_TIMING) every timing; proj_only: the probe, the layout check,
// the gather's and the attention projections' timings.
static void run_all(const Lt &lt, cublasHandle_t hb, reap_k_xgemm_each *x, int proj_only) {
    Weight w13, w2;
    make_weight(w13, "w13", 2 * M2_I, M2_H);  // gate|up: out 2I, in H
    make_weight(w2, "w2", M2_H, M2_I);        // down: out H, in I
    if (!proj_only)
        for (int streams : {1, 3}) {
            CB(reap_k_xgemm_each_streams(x, streams));
            if (!dead) check_pipeline(x, M2_H, M2_I, 16, 512, 8, streams);
            if (!dead) check_pipeline(x, 256, 128, 8, 300, 4, streams);
        }
    CB(reap_k_xgemm_each_streams(x, 1));
    std::vector<Variant> vs = probe(lt, w13);
    if (!dead) check_layout(lt, vs, w13);
    for (const Weight *w : {&w13, &w2})
        for (int N : {64, 256, 1024, 4096})
            if (!dead && !proj_only) check_case(lt, hb, x, vs, *w, N);
    if (!getenv("DEV_NO_TIMING") && !dead) {
        Timer tm;
        for (const Weight *w : {&w13, &w2})
            for (int N : {1024, 4096, 16384})
                if (!dead && !proj_only) time_shape(lt, hb, x, vs, *w, N, tm);
        if (!dead && !proj_only) time_dequant(tm);
        if (!dead && !proj_only) time_experts(x, tm);
        if (!dead) time_gather(tm);
        // experiment: the attention projections (q|k|v 8192 x 3072, o 3072 x 6144) over a chunk of
        // 64k tokens, FP8 block-scaled against bf16 (the pipeline runs them in bf16)
        Weight wqkv, wo;
        make_weight(wqkv, "wqkv", 8192, M2_H);
        make_weight(wo, "wo", M2_H, 6144);
        for (const Weight *w : {&wqkv, &wo})
            if (!dead) time_shape(lt, hb, x, vs, *w, 65536, tm);
        free_weight(wqkv), free_weight(wo);
    }
    free_weight(w13), free_weight(w2);
}

int main(int argc, char **argv) {
    const int proj_only = argc > 1 && !strcmp(argv[1], "proj");  // only the attention projections' timing
    const int experts_only = argc > 1 && !strcmp(argv[1], "experts");  // only the chunk's expert GEMMs' timing
    int nd = 0;
    if (cudaGetDeviceCount(&nd) != cudaSuccess || nd == 0) {
        printf("SKIP dev_fp8: no CUDA device\n");
        return 0;
    }
    cudaDeviceProp prop;
    CU(cudaGetDeviceProperties(&prop, 0));
    int rt = 0;
    cudaRuntimeGetVersion(&rt);
    printf("INFO device %s (sm_%d%d), cublasLt %zu (headers %d), CUDA runtime %d\n", prop.name, prop.major, prop.minor,
           cublasLtGetVersion(), CUBLAS_VERSION, rt);
    if (prop.major != 9) {  // the build targets sm_90 (Makefile); the pipeline refuses fp8 where cuBLASLt has no plan
        printf("SKIP dev_fp8: the block-scaled FP8 modes (VEC128_32F, BLK128x128_32F) are documented for sm_90 only "
               "(this GPU is sm_%d%d)\n", prop.major, prop.minor);
        return 0;
    }
    Lt lt;
    CB(cublasLtCreate(&lt.h));
    CU(cudaMalloc(&lt.ws, lt.ws_bytes));
    cublasHandle_t hb;
    CB(cublasCreate(&hb));
    reap_k_xgemm_each *x = NULL;
    CB(reap_k_xgemm_each_create(&x));

    if (experts_only) {
        Timer tm;
        time_experts(x, tm);
    } else {
        run_all(lt, hb, x, proj_only);
    }
    reap_k_xgemm_each_destroy(x);
    cublasDestroy(hb);
    cudaFree(lt.ws);
    cublasLtDestroy(lt.h);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}

// dev_kernels: checks each kernel of kernels/kern.cu and kernels/attn.cu against a CPU reference on
// fresh random data (never zeros) with the outputs poisoned (0xFF bytes = NaN) before the run, then
// times it at MiniMax-M2 sizes. Tolerances follow the dtypes: exact for dequantisation (same bf16
// rounding) and data movement, 1e-5 relative for f32 outputs, bf16 outputs within 2^-7 relative in
// L2, attention (bf16 P and V) within 1e-2, the statistics + combine within bounds of its f32
// arithmetic (stats_combine_cmp), the whole expert phase (bf16 act between two GEMMs) within 2e-3.
// The expert GEMMs alone: dev_xgemm_each. Prints "PASS name" / "FAIL name: ..." and "TIME" lines;
// exit 1 on any failure; "SKIP ..." and exit 0 without a CUDA device.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <algorithm>
#include <vector>

#define DEV_SEED 0x9E3779B97F4A7C15ull
#include "dev.cuh"
extern "C" {
#include "observer.h"
}
static float bf(float x) { return reap_bf16_to_f32(reap_f32_to_bf16(x)); }

template <class T> static T *up(const std::vector<T> &v) {
    T *p = dev<T>(v.size());
    CU(cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
    return p;
}
template <class T> static std::vector<T> down(const T *p, size_t n) {
    std::vector<T> v(n);
    CU(cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return v;
}
static std::vector<float> down_bf(const bf16 *p, size_t n) {
    std::vector<uint16_t> v(n);
    CU(cudaMemcpy(v.data(), p, n * 2, cudaMemcpyDeviceToHost));
    std::vector<float> f(n);
    for (size_t i = 0; i < n; i++) f[i] = reap_bf16_to_f32(v[i]);
    return f;
}
static std::vector<uint16_t> to_bf(const std::vector<float> &x) {
    std::vector<uint16_t> v(x.size());
    for (size_t i = 0; i < x.size(); i++) v[i] = reap_f32_to_bf16(x[i]);
    return v;
}
// relative L2 error; NaN anywhere -> inf
static double rel_l2(const std::vector<float> &got, const std::vector<double> &ref) {
    double d = 0, r = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        if (!std::isfinite(got[i])) return INFINITY;
        d += (got[i] - ref[i]) * (got[i] - ref[i]);
        r += ref[i] * ref[i];
    }
    return sqrt(d / (r > 0 ? r : 1));
}
static void verdict(const char *name, int ok, const char *fmt, double v) {
    printf("%s %s: ", ok ? "PASS" : "FAIL", name);
    printf(fmt, v);
    printf("\n");
    failures += !ok;
}

// Median of event-timed runs; on = 0 (DEV_NO_TIMING=1, as tests/run.sh sets) skips the timings.
struct Timer {
    cudaEvent_t a, b;
    int on;
    Timer() : on(!getenv("DEV_NO_TIMING")) { cudaEventCreate(&a), cudaEventCreate(&b); }
    template <class F> double median_ms(F f, int reps = 10) {
        f();
        CU(cudaDeviceSynchronize());
        std::vector<float> t;
        for (int i = 0; i < reps; i++) {
            cudaEventRecord(a);
            f();
            cudaEventRecord(b);
            cudaEventSynchronize(b);
            float ms;
            cudaEventElapsedTime(&ms, a, b);
            t.push_back(ms);
        }
        std::sort(t.begin(), t.end());
        CU(cudaGetLastError());
        return t[t.size() / 2];
    }
};

// ---- dequantisation --------------------------------------------------------------------------
static void check_dequant(Timer &tm) {
    const int R = 300, C = 520, br = 128, bc = 128;  // partial edge blocks
    std::vector<uint8_t> w(R * C);
    for (auto &b : w) {
        b = (uint8_t)(urand() * 256);
        if ((b & 0x7F) == 0x7F) b = 0x3F;
    }
    int sr = (R + br - 1) / br, sc = (C + bc - 1) / bc;
    std::vector<float> s(sr * sc);
    for (auto &x : s) x = (float)(urand() * 0.01 + 1e-4);
    std::vector<float> ref(R * C);
    reap_dequant_fp8_block(REAP_DT_F8_E4M3, w.data(), R, C, s.data(), br, bc, ref.data());
    uint8_t *dw = up(w);
    float *ds = up(s);
    bf16 *out = dev<bf16>(R * C);
    reap_k_dequant_bf16(REAP_DT_F8_E4M3, dw, ds, R, C, br, bc, out, 0);
    auto got = down_bf(out, R * C);
    size_t bad = 0;
    for (size_t i = 0; i < got.size(); i++) bad += got[i] != bf(ref[i]);
    verdict("dequant_fp8_block_exact_bf16", bad == 0, "%.0f mismatches", (double)bad);
    cudaFree(dw), cudaFree(ds), cudaFree(out);
    if (!tm.on) return;
    // timing: 16 experts' w1 at MiniMax-M2 size
    const int64_t n = 16ll * 1536 * 3072;
    uint8_t *bw = dev<uint8_t>(n);
    CU(cudaMemset(bw, 0x31, n));
    float *bs = dev<float>(16 * 12 * 24);
    bf16 *bo = dev<bf16>(n);
    std::vector<float> ones(16 * 12 * 24, 1.f);
    CU(cudaMemcpy(bs, ones.data(), ones.size() * 4, cudaMemcpyHostToDevice));
    double ms = tm.median_ms([&] { reap_k_dequant_bf16(REAP_DT_F8_E4M3, bw, bs, 16 * 1536, 3072, 128, 128, bo, 0); });
    printf("TIME dequant_fp8 %lld elems: %.3f ms, %.0f GB/s (1 B read + 2 B written per element)\n", (long long)n, ms,
           3.0 * n / ms / 1e6);
    cudaFree(bw), cudaFree(bs), cudaFree(bo);
}

// ---- RMSNorm ---------------------------------------------------------------------------------
static void check_rmsnorm(Timer &tm) {
    // H = 3072: the float4 kernel; 3070: the plain one it falls back to
    for (int H : {3072, 3070}) {
        const int N = 777;
        std::vector<float> x(N * H), w(H);
        for (auto &v : x) v = nrand() * 3;
        for (auto &v : w) v = 1 + 0.1f * nrand();
        std::vector<double> ref(N * H);
        for (int t = 0; t < N; t++) {
            double ss = 0;
            for (int i = 0; i < H; i++) ss += (double)x[t * H + i] * x[t * H + i];
            double r = 1 / sqrt(ss / H + 1e-6);
            for (int i = 0; i < H; i++) ref[t * H + i] = w[i] * (x[t * H + i] * r);
        }
        float *dx = up(x), *dw = up(w), *of = dev<float>(N * H);
        bf16 *ob = dev<bf16>(N * H);
        reap_k_rmsnorm(dx, dw, N, H, 1e-6f, ob, of, 0);
        double ef = rel_l2(down(of, N * H), ref), eb = rel_l2(down_bf(ob, N * H), ref);
        char name[64];
        snprintf(name, sizeof name, "rmsnorm_f32_H%d", H);
        verdict(name, ef < 1e-5, "rel L2 %.2e", ef);
        snprintf(name, sizeof name, "rmsnorm_bf16_H%d", H);
        verdict(name, eb < 1.0 / 128, "rel L2 %.2e", eb);
        cudaFree(dx), cudaFree(of), cudaFree(ob), cudaFree(dw);
    }
    if (!tm.on) return;
    const int NB = 32768, H = 3072;
    std::vector<float> w(H, 1.f);
    float *dw = up(w);
    float *bx = dev<float>((size_t)NB * H), *bo = dev<float>((size_t)NB * H);
    bf16 *bb = dev<bf16>((size_t)NB * H);
    CU(cudaMemset(bx, 0x3F, (size_t)NB * H * 4));
    double ms = tm.median_ms([&] { reap_k_rmsnorm(bx, dw, NB, H, 1e-6f, bb, bo, 0); });
    double ms0 = tm.median_ms([&] { reap_k_rmsnorm_simple(bx, dw, NB, H, 1e-6f, bb, bo, 0); });
    double msb = tm.median_ms([&] { reap_k_rmsnorm(bx, dw, NB, H, 1e-6f, bb, NULL, 0); });
    printf("TIME rmsnorm %d x %d (f32 + bf16 out): %.3f ms, %.0f GB/s (plain kernel %.3f ms); bf16 out only %.3f ms, %.0f GB/s\n",
           NB, H, ms, 10.0 * NB * H / ms / 1e6, ms0, msb, 6.0 * NB * H / msb / 1e6);
    cudaFree(bx), cudaFree(bo), cudaFree(bb), cudaFree(dw);
}

// ---- QK norm + RoPE ----------------------------------------------------------------------------
// float64 reference of one shape; with norms (qn, kn not NULL) or without
static void qknorm_rope_ref(const std::vector<float> &x, const float *qn, const float *kn, int N, int T, int nh,
                            int nkv, int hd, int rot, double theta, std::vector<double> &rq, std::vector<double> &rk,
                            std::vector<double> &rv) {
    const int qw = nh * hd, kw = nkv * hd, W = qw + 2 * kw, half = rot / 2;
    rq.assign((size_t)N * qw, 0), rk.assign((size_t)N * kw, 0), rv.assign((size_t)N * kw, 0);
    for (int t = 0; t < N; t++) {
        const float *xq = &x[(size_t)t * W], *xk = xq + qw, *xv = xk + kw;
        for (int part = 0; part < 2; part++) {
            int wd = part ? kw : qw;
            const float *xx = part ? xk : xq;
            const float *wn = part ? kn : qn;
            double ss = 0;
            for (int i = 0; i < wd; i++) ss += (double)xx[i] * xx[i];
            double r = wn ? 1 / sqrt(ss / wd + 1e-6) : 1;
            std::vector<double> y(wd);
            for (int i = 0; i < wd; i++) y[i] = (wn ? wn[i] : 1.0) * xx[i] * r;
            double *o = part ? &rk[(size_t)t * kw] : &rq[(size_t)t * qw];
            for (int i = 0; i < wd; i++) o[i] = y[i];
            for (int h0 = 0; h0 < wd; h0 += hd)
                for (int j = 0; j < half; j++) {
                    double a = (t % T) * pow(theta, -2.0 * j / rot), c = cos(a), s = sin(a);
                    double u = y[h0 + j], v = y[h0 + j + half];
                    o[h0 + j] = u * c - v * s;
                    o[h0 + j + half] = v * c + u * s;
                }
        }
        for (int i = 0; i < kw; i++) rv[(size_t)t * kw + i] = xv[i];
    }
}

// bf16 values (of magnitude ~1) that differ from the plain kernel's by more than one bf16 step
// and 1e-4 (the sums of squares are reduced in another order: a last-bit difference may round to
// the neighbouring bf16, or be magnified where the rotation cancels)
static size_t bf16_far(const std::vector<float> &a, const std::vector<float> &b) {
    size_t n = 0;
    for (size_t i = 0; i < a.size(); i++)
        n += !(fabsf(a[i] - b[i]) <= fmaxf(fabsf(a[i]), fabsf(b[i])) * (1.f / 128) + 1e-4f);
    return n;
}

static void check_qknorm_rope_case(const char *name, int T, int N, int nh, int nkv, int hd, int rot, int norms) {
    const int half = rot / 2, qw = nh * hd, kw = nkv * hd, W = qw + 2 * kw;
    const double theta = 5e6;
    std::vector<float> x((size_t)N * W), qn(qw), kn(kw);
    for (auto &v : x) v = nrand();
    for (auto &v : qn) v = 1 + 0.2f * nrand();
    for (auto &v : kn) v = 1 + 0.2f * nrand();
    std::vector<float2> cs((size_t)T * (half ? half : 1));
    for (int p = 0; p < T; p++)
        for (int j = 0; j < half; j++) {
            double a = p * pow(theta, -2.0 * j / rot);
            cs[(size_t)p * half + j] = make_float2((float)cos(a), (float)sin(a));
        }
    std::vector<double> rq, rk, rv;
    qknorm_rope_ref(x, norms ? qn.data() : NULL, norms ? kn.data() : NULL, N, T, nh, nkv, hd, rot, theta, rq, rk, rv);
    float *dx = up(x), *dqn = norms ? up(qn) : NULL, *dkn = norms ? up(kn) : NULL;
    float2 *dcs = up(cs);
    bf16 *q = dev<bf16>((size_t)N * qw), *k = dev<bf16>((size_t)N * kw), *v = dev<bf16>((size_t)N * kw);
    bf16 *q0 = dev<bf16>((size_t)N * qw), *k0 = dev<bf16>((size_t)N * kw), *v0 = dev<bf16>((size_t)N * kw);
    reap_k_qknorm_rope(dx, dqn, dkn, dcs, N, T, nh, nkv, hd, rot, 1e-6f, q, k, v, 0);
    reap_k_qknorm_rope_simple(dx, dqn, dkn, dcs, N, T, nh, nkv, hd, rot, 1e-6f, q0, k0, v0, 0);
    auto gq = down_bf(q, (size_t)N * qw), gk = down_bf(k, (size_t)N * kw), gv = down_bf(v, (size_t)N * kw);
    double e = fmax(rel_l2(gq, rq), fmax(rel_l2(gk, rk), rel_l2(gv, rv)));
    size_t far = bf16_far(gq, down_bf(q0, (size_t)N * qw)) + bf16_far(gk, down_bf(k0, (size_t)N * kw)) +
                 bf16_far(gv, down_bf(v0, (size_t)N * kw));
    int ok = e < 1.0 / 128 && far == 0;
    printf("%s %s: worst rel L2 vs float64 %.2e, %zu values over one bf16 step from the plain kernel\n",
           ok ? "PASS" : "FAIL", name, e, far);
    failures += !ok;
    void *fr[] = {dx, dqn, dkn, dcs, q, k, v, q0, k0, v0};
    for (void *p : fr) CU(cudaFree(p));
}

static void check_qknorm_rope(Timer &tm) {
    check_qknorm_rope_case("qknorm_rope_bf16", 300, 600, 12, 4, 128, 64, 1);  // the vector kernel, M2's layout
    check_qknorm_rope_case("qknorm_rope_no_norm", 77, 154, 6, 2, 128, 64, 0);
    check_qknorm_rope_case("qknorm_rope_hd64_rot32", 99, 297, 8, 2, 64, 32, 1);  // two heads per warp
    check_qknorm_rope_case("qknorm_rope_full_rotary", 50, 100, 4, 2, 128, 128, 1);
    check_qknorm_rope_case("qknorm_rope_fallback_hd96", 40, 80, 6, 2, 96, 48, 1);  // the plain kernel
    check_qknorm_rope_case("qknorm_rope_fallback_rot4", 40, 80, 4, 2, 128, 4, 1);
    if (!tm.on) return;
    // MiniMax-M2: 48 q heads, 8 kv heads of 128, rotary 64, one chunk of 32k tokens
    const int N = 32768, T = 8192, nh = 48, nkv = 8, hd = 128, rot = 64, W = (nh + 2 * nkv) * hd;
    float *x = dev<float>((size_t)N * W), *qn = dev<float>(nh * hd), *kn = dev<float>(nkv * hd);
    std::vector<float> r((size_t)4 * W);
    for (auto &v : r) v = nrand();
    for (int i = 0; i < N; i += 4) CU(cudaMemcpy(x + (size_t)i * W, r.data(), r.size() * 4, cudaMemcpyHostToDevice));
    CU(cudaMemcpy(qn, r.data(), nh * hd * 4, cudaMemcpyHostToDevice));
    CU(cudaMemcpy(kn, r.data(), nkv * hd * 4, cudaMemcpyHostToDevice));
    std::vector<float2> hcs((size_t)T * rot / 2);
    for (int p = 0; p < T; p++)
        for (int j = 0; j < rot / 2; j++) {
            double a = p * pow(5e6, -2.0 * j / rot);
            hcs[(size_t)p * rot / 2 + j] = make_float2((float)cos(a), (float)sin(a));
        }
    float2 *cs = up(hcs);
    bf16 *q = dev<bf16>((size_t)N * nh * hd), *k = dev<bf16>((size_t)N * nkv * hd), *v = dev<bf16>((size_t)N * nkv * hd);
    double bytes = (double)N * (W * 4 + W * 2);
    double ms0 = tm.median_ms([&] { reap_k_qknorm_rope_simple(x, qn, kn, cs, N, T, nh, nkv, hd, rot, 1e-6f, q, k, v, 0); });
    double ms1 = tm.median_ms([&] { reap_k_qknorm_rope(x, qn, kn, cs, N, T, nh, nkv, hd, rot, 1e-6f, q, k, v, 0); });
    printf("TIME qknorm_rope %d tokens, 48/8 heads of 128, rot 64: plain %.3f ms (%.0f GB/s), vector %.3f ms (%.0f GB/s)\n",
           N, ms0, bytes / ms0 / 1e6, ms1, bytes / ms1 / 1e6);
    void *fr[] = {x, qn, kn, cs, q, k, v};
    for (void *p : fr) CU(cudaFree(p));
}

// ---- attention ----------------------------------------------------------------------------------
static void check_attention_case(int rows, int T, int nh, int nkv, int hd, int force_scalar, const char *name,
                                 float qscale = 1.f) {
    size_t N = (size_t)rows * T, qw = (size_t)nh * hd, kw = (size_t)nkv * hd;
    std::vector<float> q(N * qw), k(N * kw), v(N * kw);
    for (auto &x : q) x = bf(nrand() * qscale);
    for (auto &x : k) x = bf(nrand());
    for (auto &x : v) x = bf(nrand());
    std::vector<double> ref(N * qw);
    std::vector<double> p(T);
    for (int r = 0; r < rows; r++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < nh; h++) {
                int g = h / (nh / nkv);
                const float *qr = &q[((size_t)r * T + t) * qw + (size_t)h * hd];
                double mx = -1e300;
                for (int j = 0; j <= t; j++) {
                    const float *kr = &k[((size_t)r * T + j) * kw + (size_t)g * hd];
                    double s = 0;
                    for (int d = 0; d < hd; d++) s += (double)qr[d] * kr[d];
                    p[j] = s / sqrt((double)hd);
                    if (p[j] > mx) mx = p[j];
                }
                double z = 0;
                for (int j = 0; j <= t; j++) z += (p[j] = exp(p[j] - mx));
                double *o = &ref[((size_t)r * T + t) * qw + (size_t)h * hd];
                for (int d = 0; d < hd; d++) o[d] = 0;
                for (int j = 0; j <= t; j++) {
                    const float *vr = &v[((size_t)r * T + j) * kw + (size_t)g * hd];
                    for (int d = 0; d < hd; d++) o[d] += p[j] / z * vr[d];
                }
            }
    bf16 *dq = (bf16 *)up(to_bf(q)), *dk = (bf16 *)up(to_bf(k)), *dv = (bf16 *)up(to_bf(v));
    bf16 *out = dev<bf16>(N * qw);
    reap_k_attention(dq, dk, dv, rows, T, nh, nkv, hd, out, force_scalar, 0);
    CU(cudaDeviceSynchronize());
    double e = rel_l2(down_bf(out, N * qw), ref);
    verdict(name, e < 1e-2, "rel L2 %.2e", e);
    cudaFree(dq), cudaFree(dk), cudaFree(dv), cudaFree(out);
}

static void check_attention(Timer &tm) {
    // the tensor-core kernel puts two heads of one kv head in a warp when the GQA ratio is even,
    // else 32 positions of one head: both layouts at both head dims, odd lengths, short rows
    check_attention_case(2, 200, 6, 2, 128, 0, "attention_mma_hd128_gqa3");
    check_attention_case(1, 130, 4, 1, 64, 0, "attention_mma_hd64_gqa4");
    check_attention_case(2, 99, 3, 1, 64, 0, "attention_mma_hd64_gqa3");
    check_attention_case(1, 333, 12, 2, 128, 0, "attention_mma_hd128_gqa6_sharp", 3.f);  // peaked softmax
    check_attention_case(1, 700, 6, 1, 128, 0, "attention_mma_hd128_gqa6_long");
    check_attention_case(3, 64, 2, 1, 128, 0, "attention_mma_hd128_one_tile");
    check_attention_case(2, 5, 4, 4, 128, 0, "attention_mma_hd128_mha_short");
    check_attention_case(2, 77, 4, 2, 16, 0, "attention_scalar_hd16");
    check_attention_case(1, 150, 6, 2, 128, 1, "attention_scalar_hd128");
    if (!tm.on) return;
    const int shapes[][2] = {{16, 2048}, {4, 8192}, {1, 16384}};
    for (auto &sh : shapes) {
        int rows = sh[0], T = sh[1], nh = 48, nkv = 8, hd = 128;
        size_t N = (size_t)rows * T;
        bf16 *q = dev<bf16>(N * nh * hd), *k = dev<bf16>(N * nkv * hd), *v = dev<bf16>(N * nkv * hd),
             *o = dev<bf16>(N * nh * hd);
        std::vector<float> rnd(N * nh * hd);  // random data: constant inputs can time faster
        for (auto &x : rnd) x = nrand();
        std::vector<uint16_t> rb = to_bf(rnd);
        CU(cudaMemcpy(q, rb.data(), N * nh * hd * 2, cudaMemcpyHostToDevice));
        CU(cudaMemcpy(k, rb.data(), N * nkv * hd * 2, cudaMemcpyHostToDevice));
        CU(cudaMemcpy(v, rb.data() + N * nkv * hd, N * nkv * hd * 2, cudaMemcpyHostToDevice));
        double ms = tm.median_ms([&] { reap_k_attention(q, k, v, rows, T, nh, nkv, hd, o, 0, 0); }, 5);
        double flop = 4.0 * rows * (T * (T + 1.0) / 2) * nh * hd;
        printf("TIME attention %d x %d tokens, 48/8 heads of 128: %.3f ms, %.1f TFLOP/s (causal FLOPs)\n", rows, T, ms,
               flop / ms / 1e9);
        cudaFree(q), cudaFree(k), cudaFree(v), cudaFree(o);
    }
}

// ---- routing -------------------------------------------------------------------------------------
static void check_route(Timer &tm) {
    const int N = 3000, E = 256, k = 8;
    std::vector<float> l((size_t)N * E), b(E);
    for (auto &x : l) x = nrand() * 2;
    for (auto &x : b) x = (float)(4.7 + 4 * urand());
    for (int i = 0; i < 40; i++) l[i * E + 7] = l[i * E + 9];  // exact ties
    std::vector<uint8_t> mask(N);
    for (int t = 0; t < N; t++) mask[t] = t % 11 != 0;
    float *dl = up(l), *db = up(b);
    uint8_t *dm = up(mask);
    const char *names[3] = {"route_model", "route_softmax", "route_softmax_renorm"};
    for (int mode = 0; mode < 3; mode++) {
        int S = mode == 0 ? k : 2 * k;
        int *se = dev<int>((size_t)N * S);
        float *sw = dev<float>((size_t)N * S);
        double *sg = dev<double>((size_t)N * S);
        reap_k_route(dl, db, dm, N, E, k, mode, se, sw, sg, 0);
        auto ge = down(se, (size_t)N * S);
        auto gw = down(sw, (size_t)N * S);
        auto gg = down(sg, (size_t)N * S);
        int bad = 0;
        double worst = 0;
        for (int t = 0; t < N && bad < 5; t++) {
            int mc[k], sc[k];
            double mg[k], sgv[k];
            reap_route(REAP_ROUTER_MODEL, &l[(size_t)t * E], b.data(), E, k, mc, mg);
            reap_route((reap_router_mode)mode, &l[(size_t)t * E], b.data(), E, k, sc, sgv);
            for (int j = 0; j < k; j++) {
                if (ge[(size_t)t * S + j] != mc[j]) bad++;
                worst = fmax(worst, fabs(gw[(size_t)t * S + j] - mg[j]) / mg[j]);
            }
            // statistics slots: every expert of sc with its g, when the token counts
            for (int i = 0; i < k; i++) {
                int found = 0;
                for (int j = 0; j < S; j++)
                    if (ge[(size_t)t * S + j] == sc[i] && gg[(size_t)t * S + j] >= 0) {
                        found = 1;
                        worst = fmax(worst, fabs(gg[(size_t)t * S + j] - sgv[i]) / sgv[i]);
                    }
                if (found != (int)mask[t]) bad++;
            }
        }
        printf("%s %s: %d mismatched choices, worst weight rel diff %.2e\n", bad == 0 && worst < 1e-6 ? "PASS" : "FAIL",
               names[mode], bad, worst);
        failures += !(bad == 0 && worst < 1e-6);
        cudaFree(se), cudaFree(sw), cudaFree(sg);
    }
    if (!tm.on) {
        cudaFree(dl), cudaFree(db), cudaFree(dm);
        return;
    }
    const int NB = 32768;
    float *bl = dev<float>((size_t)NB * E);
    CU(cudaMemset(bl, 0x3F, (size_t)NB * E * 4));
    int *se = dev<int>((size_t)NB * k);
    float *sw = dev<float>((size_t)NB * k);
    double *sg = dev<double>((size_t)NB * k);
    double ms = tm.median_ms([&] { reap_k_route(bl, db, NULL, NB, E, k, 0, se, sw, sg, 0); });
    printf("TIME route %d tokens x 256 experts, top-8: %.3f ms\n", NB, ms);
    cudaFree(bl), cudaFree(se), cudaFree(sw), cudaFree(sg), cudaFree(dl), cudaFree(db), cudaFree(dm);
}

// ---- router GEMM: 3xTF32 against cublasSgemm and float64 -----------------------------------------
// Logits of N tokens x E experts over H: errors against float64, per logit scaled by
// sqrt(sum_i (x_i w_i)^2) (the size of the rounding a dot product can have). Measured on an H200:
// cublasSgemm worst 2.1e-6, 3xTF32 worst 2.9e-5 (the tensor cores accumulate with truncation, so
// the error grows with k instead of averaging out): 3xTF32 must stay below 1e-4, and it is not the
// default (REAP_GPU_ROUTER=tf32x3). The split rmsnorm's hi + lo must give the plain rmsnorm's f32
// output exactly, with hi on the tf32 grid.
static void check_router(Timer &tm) {
    const int N = 1024, E = 256, H = 3072;
    std::vector<float> h((size_t)N * H), ln(H), w((size_t)E * H);
    for (auto &v : h) v = nrand() * 4;
    for (auto &v : ln) v = 1 + 0.2f * nrand();
    for (auto &v : w) v = 0.02f * nrand();
    float *dh = up(h), *dln = up(ln), *dw = up(w), *xf = dev<float>((size_t)N * H), *xs = dev<float>((size_t)N * 2 * H);
    float *wc = dev<float>((size_t)E * 2 * H), *wl = dev<float>((size_t)E * H);
    float *l32 = dev<float>((size_t)N * E), *l3x = dev<float>((size_t)N * E);
    bf16 *xb = dev<bf16>((size_t)N * H), *xb2 = dev<bf16>((size_t)N * H);
    cublasHandle_t hb;
    cublasCreate(&hb);
    reap_k_rmsnorm(dh, dln, N, H, 1e-6f, xb, xf, 0);
    reap_k_rmsnorm_split(dh, dln, N, H, 1e-6f, xb2, xs, 0);
    reap_k_router_split_w(dw, E, H, wc, wl, 0);
    const float one = 1.f, zero = 0.f;
    cublasSgemm(hb, CUBLAS_OP_T, CUBLAS_OP_N, E, N, H, &one, dw, H, xf, H, &zero, l32, E);
    cublasStatus_t st = reap_k_router_3xtf32(hb, wc, wl, xs, N, E, H, l3x);
    auto x = down(xf, (size_t)N * H), sp = down(xs, (size_t)N * 2 * H);
    auto b1 = down((const uint16_t *)xb, (size_t)N * H), b2 = down((const uint16_t *)xb2, (size_t)N * H);
    size_t split_bad = 0;
    for (int t = 0; t < N; t++)
        for (int i = 0; i < H; i++) {
            float hi = sp[(size_t)t * 2 * H + i], lo = sp[(size_t)t * 2 * H + H + i];
            uint32_t u;
            memcpy(&u, &hi, 4);
            split_bad += (u & 0x1fffu) != 0 || hi + lo != x[(size_t)t * H + i] || b1[(size_t)t * H + i] != b2[(size_t)t * H + i];
        }
    verdict("rmsnorm_split", split_bad == 0, "%.0f elements not hi + lo (or bf16 differs)", (double)split_bad);
    auto g32 = down(l32, (size_t)N * E), g3x = down(l3x, (size_t)N * E);
    double w32 = 0, w3x = 0, m32 = 0, m3x = 0;
    for (int t = 0; t < N; t++)
        for (int e = 0; e < E; e++) {
            double ref = 0, sc = 0;
            for (int i = 0; i < H; i++) {
                double p = (double)x[(size_t)t * H + i] * w[(size_t)e * H + i];
                ref += p, sc += p * p;
            }
            sc = sqrt(sc) + 1e-30;
            double a = fabs(g32[(size_t)t * E + e] - ref) / sc, b = fabs(g3x[(size_t)t * E + e] - ref) / sc;
            if (!std::isfinite(g3x[(size_t)t * E + e])) b = INFINITY;
            w32 = fmax(w32, a), w3x = fmax(w3x, b), m32 += a, m3x += b;
        }
    m32 /= (double)N * E, m3x /= (double)N * E;
    printf("router: scaled error vs float64: sgemm worst %.2e mean %.2e, 3xtf32 worst %.2e mean %.2e\n", w32, m32, w3x, m3x);
    verdict("router_sgemm", w32 < 1e-5, "worst scaled error %.2e", w32);
    verdict("router_3xtf32", st == CUBLAS_STATUS_SUCCESS && w3x < 1e-4, "worst scaled error %.2e", w3x);
    cudaFree(dh), cudaFree(xf), cudaFree(xs), cudaFree(l32), cudaFree(l3x), cudaFree(xb), cudaFree(xb2);
    if (!tm.on) {
        cublasDestroy(hb);
        cudaFree(dw), cudaFree(dln), cudaFree(wc), cudaFree(wl);
        return;
    }
    const int NB = 32768;
    float *bx = dev<float>((size_t)NB * H), *bs = dev<float>((size_t)NB * 2 * H), *bl = dev<float>((size_t)NB * E);
    bf16 *bb = dev<bf16>((size_t)NB * H);
    CU(cudaMemset(bx, 0x3F, (size_t)NB * H * 4));
    CU(cudaMemset(bs, 0x3F, (size_t)NB * 2 * H * 4));
    double ms1 = tm.median_ms([&] { cublasSgemm(hb, CUBLAS_OP_T, CUBLAS_OP_N, E, NB, H, &one, dw, H, bx, H, &zero, bl, E); });
    double ms2 = tm.median_ms([&] { reap_k_router_3xtf32(hb, wc, wl, bs, NB, E, H, bl); });
    double ms3 = tm.median_ms([&] { reap_k_rmsnorm(bx, dln, NB, H, 1e-6f, bb, bx, 0); });
    double ms4 = tm.median_ms([&] { reap_k_rmsnorm_split(bx, dln, NB, H, 1e-6f, bb, bs, 0); });
    double fl = 2.0 * NB * E * H;
    printf("TIME router %d x %d x %d: sgemm %.3f ms (%.1f TFLOP/s), 3xtf32 %.3f ms (%.1f effective); rmsnorm %.3f, split %.3f ms\n",
           NB, E, H, ms1, fl / ms1 / 1e9, ms2, fl / ms2 / 1e9, ms3, ms4);
    cublasDestroy(hb);
    cudaFree(bx), cudaFree(bs), cudaFree(bl), cudaFree(bb), cudaFree(dw), cudaFree(dln), cudaFree(wc), cudaFree(wl);
}

// ---- gather vs by-token copy at M2 size (32k tokens, 8 pairs each in a random order, H 3072) ---------
static void time_gather(Timer &tm) {
    if (!tm.on) return;
    const int NB = 32768, S = 8, H = 3072, P = NB * S;
    std::vector<int> perm(P), ptok(P);
    for (int i = 0; i < P; i++) perm[i] = i;
    for (int i = P - 1; i > 0; i--) std::swap(perm[i], perm[(int)(urand() * (i + 1))]);
    for (int i = 0; i < P; i++) ptok[perm[i]] = i / S;  // slot i = t*S + j sits at pair perm[i]
    int *dsp = up(perm), *dpt = up(ptok);
    bf16 *x = dev<bf16>((size_t)NB * H), *xe = dev<bf16>((size_t)P * H);
    double m1 = tm.median_ms([&] { reap_k_gather(x, dpt, P, H, xe, 0); });
    double m2 = tm.median_ms([&] { reap_k_scatter_rows(x, dsp, NB, S, dpt, P, H, xe, 0); });
    double wr = 2.0 * P * H;
    printf("TIME gather %d tokens x %d pairs, H %d: by pair %.3f ms (%.0f GB/s), by token %.3f ms (%.0f GB/s)\n", NB, S, H,
           m1, 2 * wr / m1 / 1e6, m2, (wr + wr / S) / m2 / 1e6);
    cudaFree(dsp), cudaFree(dpt), cudaFree(x), cudaFree(xe);
}

// ---- statistics + combine: the float64 reference and its tolerances ------------------------------
// XRef: float64 reference values; XOut: what the GPU left. Both hold the per-expert statistics
// (count, gate_sum, norm_sum, reap_sum, max_act; (E)) and the hidden states h (N, H).
struct XRef {
    std::vector<double> h, cnt, gate, norm, reap, mx;
};
struct XOut {
    std::vector<float> h;
    std::vector<unsigned long long> cnt;
    std::vector<double> gate, norm, reap, mx;
};
static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-30); }

// Starting values of the accumulators (E experts) and of h (n values): random and non-zero, never
// zeros, so that a kernel that overwrites instead of adding fails; max_act starts at -inf (the
// product's start), far below every output or within the outputs' range.
static XOut sc_start(int E, size_t n) {
    XOut s;
    s.h.resize(n);
    for (auto &v : s.h) v = nrand();
    for (int e = 0; e < E; e++) {
        s.cnt.push_back(1 + (unsigned long long)(urand() * 1000));
        s.gate.push_back(1 + 10 * urand()), s.norm.push_back(1 + 10 * urand()), s.reap.push_back(1 + 10 * urand());
        s.mx.push_back(e % 3 == 0 ? -INFINITY : e % 3 == 1 ? -1e3 * (1 + urand()) : 2 * nrand());
    }
    return s;
}

// The contract of reap_k_stats_combine (kern.cuh) in float64: Y (rows, H) f32; spos, se (N, S);
// sg (N, S) f64; sw (N, S) f32; from the starting values s. habs (N, H): |h0| + sum_j |w_j y_j|
// per element, the scale of the f32 rounding of h.
static XRef stats_combine_ref(const std::vector<float> &Y, const std::vector<int> &spos, const std::vector<int> &se,
                              const std::vector<double> &sg, const std::vector<float> &sw, int N, int S, int H,
                              const XOut &s, std::vector<double> &habs) {
    XRef r;
    const size_t E = s.cnt.size();
    r.h.assign(s.h.begin(), s.h.end()), r.gate = s.gate, r.norm = s.norm, r.reap = s.reap, r.mx = s.mx;
    r.cnt.resize(E);
    for (size_t e = 0; e < E; e++) r.cnt[e] = (double)s.cnt[e];
    habs.resize((size_t)N * H);
    for (size_t i = 0; i < habs.size(); i++) habs[i] = fabs(s.h[i]);
    for (int t = 0; t < N; t++)
        for (int j = 0; j < S; j++) {
            size_t i = (size_t)t * S + j;
            int p = spos[i];
            if (p < 0) continue;
            const float *y = &Y[(size_t)p * H];
            for (int c = 0; c < H && sw[i] != 0.f; c++) {
                r.h[(size_t)t * H + c] += (double)sw[i] * y[c];
                habs[(size_t)t * H + c] += fabs((double)sw[i] * y[c]);
            }
            if (sg[i] < 0) continue;
            int e = se[i];
            double ss = 0, m = -INFINITY;
            for (int c = 0; c < H; c++) ss += (double)y[c] * y[c], m = fmax(m, y[c]);
            r.cnt[e]++, r.gate[e] += sg[i], r.norm[e] += sqrt(ss), r.reap[e] += sg[i] * sqrt(ss);
            r.mx[e] = fmax(r.mx[e], m);
        }
    return r;
}

// o against the float64 reference; writes a summary into msg, returns 1 when within tolerance:
// count and max_act exact (a maximum of f32 values); gate_sum within 1e-12 relative (float64
// additions in another order); norm_sum and reap_sum within (ceil(H/32) + 8) 2^-24 relative (each
// pair's sum of squares is an f32 sum of positive terms, ceil(H/32) per lane and then 5 levels of a
// warp tree, <= (ceil(H/32) + 6) 2^-24 relative, halved by the square root; the float64 sums add
// ~1e-13); h per element within (S + 2) 2^-24 (|h0| + sum_j |w_j y_j|) (S f32 fma and one add).
// Anything non-finite fails.
static int stats_combine_cmp(const XOut &o, const XRef &r, const std::vector<double> &habs, int S, int H, char *msg,
                             size_t len) {
    const double u = 1.0 / 16777216.0, tol_norm = ((H + 31) / 32 + 8) * u, tol_h = (S + 2) * u;
    size_t hbad = 0;
    double hworst = 0;
    for (size_t i = 0; i < r.h.size(); i++) {
        double err = std::isfinite(o.h[i]) ? fabs(o.h[i] - r.h[i]) : INFINITY;
        hworst = fmax(hworst, err / (tol_h * habs[i] + 1e-300));
        hbad += !(err <= tol_h * habs[i]);
    }
    int cm = 0;
    double eg = 0, en = 0;
    for (size_t e = 0; e < r.cnt.size(); e++) {
        cm += (double)o.cnt[e] != r.cnt[e] || !(o.mx[e] == r.mx[e]);
        eg = fmax(eg, rel(o.gate[e], r.gate[e]));
        en = fmax(en, fmax(rel(o.norm[e], r.norm[e]), rel(o.reap[e], r.reap[e])));
        if (!std::isfinite(o.gate[e]) || !std::isfinite(o.norm[e]) || !std::isfinite(o.reap[e])) eg = en = INFINITY;
    }
    int ok = hbad == 0 && cm == 0 && eg <= 1e-12 && en <= tol_norm;
    snprintf(msg, len,
             "%d count/max_act mismatches, gate_sum rel %.1e (tol 1e-12), norm/reap_sum rel %.1e (tol %.1e), "
             "%zu h values out of tolerance (worst %.2f of it)",
             cm, eg, en, tol_norm, hbad, hworst);
    return ok;
}

// Device buffers of the accumulators and h from the starting values s (h (N, H)); sc_down reads them back.
struct SCBufs {
    unsigned long long *cnt;
    double *gate, *norm, *reap, *mx;
    float *h;
};
static SCBufs sc_up(const XOut &s) {
    SCBufs b;
    b.cnt = up(s.cnt), b.gate = up(s.gate), b.norm = up(s.norm), b.reap = up(s.reap), b.mx = up(s.mx), b.h = up(s.h);
    return b;
}
static XOut sc_down(const SCBufs &b, int E, size_t nh) {
    XOut o;
    CU(cudaDeviceSynchronize());
    o.h = down(b.h, nh), o.cnt = down(b.cnt, E), o.gate = down(b.gate, E), o.norm = down(b.norm, E);
    o.reap = down(b.reap, E), o.mx = down(b.mx, E);
    void *fr[] = {b.cnt, b.gate, b.norm, b.reap, b.mx, b.h};
    for (void *p : fr) CU(cudaFree(p));
    return o;
}

// ---- permutation, gather, SiLU, statistics + combine on the plain layout -----------------------
static void check_moe_glue(Timer &tm) {
    const int N = 500, E = 16, k = 4, S = k, H = 96, I = 40;
    std::vector<int> se((size_t)N * S);
    std::vector<float> sw((size_t)N * S);
    std::vector<double> sg((size_t)N * S);
    for (int t = 0; t < N; t++)
        for (int j = 0; j < S; j++) {
            se[t * S + j] = (t * 7 + j * 5) % E;
            sw[t * S + j] = (float)urand();
            sg[t * S + j] = t % 9 ? urand() : -1.0;
        }
    int *dse = up(se);
    float *dsw = up(sw);
    double *dsg = up(sg);
    int *cnt = dev<int>(E), *off = dev<int>(E + 1), *cur = dev<int>(E), *ptok = dev<int>(N * S), *pslot = dev<int>(N * S),
        *spos = dev<int>(N * S);
    reap_k_permute(dse, N, S, E, cnt, off, cur, ptok, pslot, spos, 0);
    auto hoff = down(off, E + 1);
    auto hptok = down(ptok, N * S);
    auto hpslot = down(pslot, N * S);
    auto hspos = down(spos, N * S);
    int bad = hoff[E] != N * S;
    for (int p = 0; p < N * S && !bad; p++) {
        int sl = hpslot[p];
        bad |= hptok[p] != sl / S || hspos[sl] != p || p < hoff[se[sl]] || p >= hoff[se[sl] + 1];
    }
    verdict("permute_by_expert", !bad, "%g", (double)bad);
    const int P = N * S;
    std::vector<float> x((size_t)N * H), Y((size_t)P * H);
    for (auto &v : x) v = bf(nrand());
    for (auto &v : Y) v = nrand();
    bf16 *dx = (bf16 *)up(to_bf(x)), *xe = dev<bf16>((size_t)P * H);
    reap_k_gather(dx, ptok, P, H, xe, 0);
    auto gx = down_bf(xe, (size_t)P * H);
    int gbad = 0;
    for (int p = 0; p < P; p++)
        for (int c = 0; c < H; c++) gbad += gx[(size_t)p * H + c] != x[(size_t)hptok[p] * H + c];
    verdict("gather_rows", gbad == 0, "%g mismatches", gbad);
    // SiLU x up: I % 4 == 0 takes the float4 kernel, I = 42 the scalar one
    for (int Ii : {I, 42}) {
        std::vector<float> G((size_t)P * 2 * Ii);
        for (auto &v : G) v = nrand() * 2;
        float *dG = up(G);
        bf16 *act = dev<bf16>((size_t)P * Ii);
        reap_k_silu_mul(dG, P, Ii, act, 0);
        std::vector<double> ra((size_t)P * Ii);
        for (int p = 0; p < P; p++)
            for (int c = 0; c < Ii; c++) {
                double a = G[(size_t)p * 2 * Ii + c], b2 = G[(size_t)p * 2 * Ii + Ii + c];
                ra[(size_t)p * Ii + c] = a / (1 + exp(-a)) * b2;
            }
        double es = rel_l2(down_bf(act, (size_t)P * Ii), ra);
        char name[64];
        snprintf(name, sizeof name, "silu_mul_f32_to_bf16_I%d", Ii);
        verdict(name, es < 1.0 / 128, "rel L2 %.2e", es);
        cudaFree(dG), cudaFree(act);
    }
    // statistics + combine on the plain layout of reap_k_permute (every pair counted by its slot)
    XOut s0 = sc_start(E, (size_t)N * H);
    std::vector<double> habs;
    XRef r = stats_combine_ref(Y, hspos, se, sg, sw, N, S, H, s0, habs);
    float *dY = up(Y);
    SCBufs b = sc_up(s0);
    reap_k_stats_combine(dY, 0, spos, dse, dsg, dsw, N, S, H, b.h, b.cnt, b.gate, b.norm, b.reap, b.mx, 0);
    XOut o = sc_down(b, E, (size_t)N * H);
    char msg[256];
    int ok = stats_combine_cmp(o, r, habs, S, H, msg, sizeof msg);
    printf("%s stats_combine_plain_layout: %s\n", ok ? "PASS" : "FAIL", msg);
    failures += !ok;
    void *fr[] = {dse, dsw, dsg, cnt, off, cur, ptok, pslot, spos, dx, xe, dY};
    for (void *p : fr) CU(cudaFree(p));
    (void)tm;
}

// ---- expert phase: the product's pipeline on the padded and the plain layout vs float64 --------
// Random tokens, skewed routing (one expert takes ~40% of the slots, two get none, several only a
// few), random bf16 weights. Each layout runs permute -> scatter_rows -> gate|up GEMMs (f32 out,
// reap_k_expert_gemms_each) -> SiLU x up -> down GEMMs -> statistics + combine; the padded output
// rows are poisoned (NaN) before the statistics and the combine, which must therefore never read
// them. Checked against a float64 CPU reference of the same math (bf16 operands, act rounded to
// bf16): within 2e-3 relative (a few bf16 roundings of act are amplified by the down GEMM; the
// GEMMs themselves are checked tighter in dev_xgemm_each).
static void check_expert_phase(Timer &tm) {
    const int N = 900, E = 24, S = 4, H = 128, I = 64, P = N * S;
    std::vector<int> se((size_t)N * S);
    std::vector<float> sw((size_t)N * S);
    std::vector<double> sg((size_t)N * S);
    for (int t = 0; t < N; t++)
        for (int j = 0; j < S; j++) {
            int e;
            for (int again = 1; again;) {
                double u = urand();
                e = u < 0.4 ? 0 : u < 0.43 ? 3 + (int)(urand() * 3) : 6 + (int)(urand() * (E - 6));  // 1, 2 unused
                again = 0;
                for (int i = 0; i < j; i++) again |= se[t * S + i] == e;
            }
            se[t * S + j] = e;
            sw[t * S + j] = (float)urand();
            sg[t * S + j] = t % 7 ? urand() : -1.0;
        }
    std::vector<float> x((size_t)N * H), w13((size_t)E * 2 * I * H), w2((size_t)E * H * I), h0((size_t)N * H);
    for (auto &v : x) v = bf(nrand());
    for (auto &v : w13) v = bf(nrand() * 0.1f);
    for (auto &v : w2) v = bf(nrand() * 0.1f);
    for (auto &v : h0) v = nrand();
    // float64 reference per slot
    XRef R;
    R.h.assign((size_t)N * H, 0), R.cnt.assign(E, 0), R.gate.assign(E, 0), R.norm.assign(E, 0), R.reap.assign(E, 0);
    R.mx.assign(E, -INFINITY);
    for (size_t i = 0; i < R.h.size(); i++) R.h[i] = h0[i];
    std::vector<double> G(2 * I), y(H);
    std::vector<float> act(I);
    for (int t = 0; t < N; t++)
        for (int j = 0; j < S; j++) {
            int e = se[t * S + j];
            for (int r = 0; r < 2 * I; r++) {
                double a = 0;
                for (int c = 0; c < H; c++) a += (double)w13[((size_t)e * 2 * I + r) * H + c] * x[(size_t)t * H + c];
                G[r] = a;
            }
            for (int c = 0; c < I; c++) act[c] = bf((float)(G[c] / (1 + exp(-G[c])) * G[I + c]));
            double ss = 0, m = -INFINITY;
            for (int r = 0; r < H; r++) {
                double a = 0;
                for (int c = 0; c < I; c++) a += (double)w2[((size_t)e * H + r) * I + c] * act[c];
                y[r] = a, ss += a * a, m = fmax(m, a);
                R.h[(size_t)t * H + r] += sw[t * S + j] * a;
            }
            double g = sg[t * S + j];
            if (g >= 0) R.cnt[e]++, R.gate[e] += g, R.norm[e] += sqrt(ss), R.reap[e] += g * sqrt(ss), R.mx[e] = fmax(R.mx[e], m);
        }
    int *dse = up(se);
    float *dsw = up(sw);
    double *dsg = up(sg);
    bf16 *dx = (bf16 *)up(to_bf(x)), *dw13 = (bf16 *)up(to_bf(w13)), *dw2 = (bf16 *)up(to_bf(w2));
    cublasHandle_t hb;
    if (cublasCreate(&hb) != CUBLAS_STATUS_SUCCESS) printf("FAIL cublasCreate\n"), exit(1);
    reap_k_xgemm_each *each = NULL;
    if (reap_k_xgemm_each_create(&each) != CUBLAS_STATUS_SUCCESS) printf("FAIL reap_k_xgemm_each_create\n"), exit(1);
    const int cap = P + P / 8 + 64 * E;
    int padded_flag = -1, bad_layout = 0, pad_rows_nonzero = 0, bad_launches = 0;
    // layout 0: reap_k_permute; 1: reap_k_permute_padded with room for the padding (cap_rows = cap)
    // or without (cap_rows = P: it falls back to the plain layout, flag 0)
    auto run = [&](int padded, int cap_rows, XOut &o) {
        int *cnt = dev<int>(E), *off = dev<int>(E + 2), *cur = dev<int>(E), *ptok = dev<int>(cap_rows),
            *pslot = dev<int>(cap_rows), *spos = dev<int>(P);
        if (padded)
            reap_k_permute_padded(dse, N, S, E, cap_rows, cnt, off, cur, ptok, pslot, spos, 0);
        else
            reap_k_permute(dse, N, S, E, cnt, off, cur, ptok, pslot, spos, 0);
        std::vector<int> hoff = down(off, padded ? E + 2 : E + 1), hc = down(cnt, E);
        const int Pr = hoff[E];
        if (padded) padded_flag = hoff[E + 1];
        auto hptok = down(ptok, Pr), hpslot = down(pslot, Pr);
        auto hspos = down(spos, P);
        // layout: expert e's segment holds its cnt[e] pairs first, then padding rows (-1)
        int nonempty = 0;
        for (int e = 0; e < E; e++) {
            int seg = hoff[e + 1] - hoff[e];
            int want = padded && hoff[E + 1] ? reap_k_pad_rows(hc[e]) : hc[e];
            bad_layout += seg != want;
            nonempty += seg > 0;
            for (int q = 0; q < seg; q++) {
                int p = hoff[e] + q, sl = hpslot[p];
                if (q < hc[e])
                    bad_layout += sl < 0 || se[sl] != e || hptok[p] != sl / S || hspos[sl] != p;
                else
                    bad_layout += sl != -1 || hptok[p] != -1;
            }
        }
        bf16 *xe = dev<bf16>((size_t)Pr * H), *dact = dev<bf16>((size_t)Pr * I);
        float *gy = dev<float>((size_t)Pr * 2 * I), *Y = dev<float>((size_t)Pr * H);
        reap_k_scatter_rows(dx, spos, N, S, ptok, Pr, H, xe, 0);
        {  // the by-pair gather gives the same bytes, padding rows (zero) included
            bf16 *xe2 = dev<bf16>((size_t)Pr * H);  // poisoned (0xFF) before
            reap_k_gather(dx, ptok, Pr, H, xe2, 0);
            auto a1 = down((const uint16_t *)xe, (size_t)Pr * H), a2 = down((const uint16_t *)xe2, (size_t)Pr * H);
            size_t nb = 0;
            for (size_t i = 0; i < a1.size(); i++) nb += a1[i] != a2[i];
            for (int p = 0; p < Pr; p++)
                for (int c = 0; c < H && hptok[p] < 0; c++) pad_rows_nonzero += a1[(size_t)p * H + c] != 0;
            char name[64];
            snprintf(name, sizeof name, "scatter_rows_%s", padded && hoff[E + 1] ? "padded" : "plain");
            verdict(name, nb == 0, "%g elements differ from gather", (double)nb);
            cudaFree(xe2);
        }
        int l1 = 0, l2 = 0;
        cublasStatus_t st = reap_k_expert_gemms_each(each, hb, 0, hoff.data(), E, 2 * I, H, dw13, xe, gy, CUDA_R_32F, &l1);
        if (st == CUBLAS_STATUS_SUCCESS) reap_k_silu_mul(gy, Pr, I, dact, 0);
        if (st == CUBLAS_STATUS_SUCCESS)
            st = reap_k_expert_gemms_each(each, hb, 0, hoff.data(), E, H, I, dw2, dact, Y, CUDA_R_32F, &l2);
        if (st != CUBLAS_STATUS_SUCCESS) printf("FAIL reap_k_expert_gemms_each: cuBLAS status %d\n", (int)st), exit(1);
        bad_launches += l1 != nonempty || l2 != nonempty;  // one GEMM per expert with rows
        for (int e = 0; e < E; e++)  // poison the padding rows of the expert outputs
            if (hoff[e + 1] - hoff[e] > hc[e])
                CU(cudaMemset(Y + (size_t)(hoff[e] + hc[e]) * H, 0xFF, (size_t)(hoff[e + 1] - hoff[e] - hc[e]) * H * 4));
        XOut s0;
        s0.h = h0, s0.cnt.assign(E, 0), s0.gate.assign(E, 0), s0.norm.assign(E, 0), s0.reap.assign(E, 0);
        s0.mx.assign(E, -INFINITY);
        SCBufs b = sc_up(s0);
        reap_k_stats_combine(Y, 0, spos, dse, dsg, dsw, N, S, H, b.h, b.cnt, b.gate, b.norm, b.reap, b.mx, 0);
        o = sc_down(b, E, (size_t)N * H);
        void *fr[] = {cnt, off, cur, ptok, pslot, spos, xe, dact, gy, Y};
        for (void *q : fr) CU(cudaFree(q));
    };
    XOut plain, padded, fallback;
    run(0, P, plain);
    run(1, cap, padded);
    const int flag_padded = padded_flag;
    run(1, P, fallback);
    const int flag_fallback = padded_flag;
    reap_k_xgemm_each_destroy(each);
    cublasDestroy(hb);
    verdict("expert_padded_layout", bad_layout == 0 && flag_padded == 1 && flag_fallback == 0 && pad_rows_nonzero == 0,
            "%g layout errors or nonzero padding rows",
            (double)(bad_layout + pad_rows_nonzero + (flag_padded != 1) + (flag_fallback != 0)));
    verdict("expert_gemms_each_one_per_expert", bad_launches == 0, "%g runs with another GEMM count", bad_launches);
    auto cmp = [&](const char *name, const XOut &o) {
        double dref = 0, rref = 0, es = 0;
        for (size_t i = 0; i < R.h.size(); i++) {
            double d = std::isfinite(o.h[i]) ? o.h[i] - R.h[i] : INFINITY;
            dref += d * d, rref += R.h[i] * R.h[i];
        }
        double eh = sqrt(dref / rref);
        int cb = 0;
        for (int e = 0; e < E; e++) {
            cb += (double)o.cnt[e] != R.cnt[e];
            if (R.cnt[e] == 0) continue;
            es = fmax(es, fmax(rel(o.gate[e], R.gate[e]), fmax(rel(o.norm[e], R.norm[e]), rel(o.reap[e], R.reap[e]))));
            es = fmax(es, rel(o.mx[e], R.mx[e]));
            if (!std::isfinite(o.norm[e]) || !std::isfinite(o.mx[e])) es = INFINITY;
        }
        int ok = eh < 2e-3 && es < 2e-3 && cb == 0;
        printf("%s %s: combine rel L2 %.2e, statistics worst rel %.2e, %d count mismatches\n", ok ? "PASS" : "FAIL", name,
               eh, es, cb);
        failures += !ok;
    };
    cmp("expert_phase_plain_vs_cpu", plain);
    cmp("expert_phase_padded_vs_cpu", padded);
    cmp("expert_phase_padded_fallback_vs_cpu", fallback);
    void *fr[] = {dse, dsw, dsg, dx, dw13, dw2};
    for (void *q : fr) CU(cudaFree(q));
    (void)tm;
}

// ---- statistics + combine: every staging path vs float64 and vs each other ----------------------
// reap_k_stats_combine (and reap_k_stats_combine_rows, each staging path) against the float64
// reference on the padded layout of reap_k_permute_padded with NaN in every padding row, skewed
// routing, masked tokens (slot_g < 0), statistics-only slots (slot_w 0) and dropped slots (slot_e
// -1) as the softmax statistics modes leave them; tolerances in stats_combine_cmp. Every path must
// also give the direct path's h and per-pair norms to the bit: h bit-identical, counts and maxima
// equal, the float64 sums within 1e-12 (only the order of the atomic additions differs).
__global__ void k_fill_f32(float *p, size_t n, uint32_t seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t v = (uint32_t)i * 2654435761u ^ seed;
        v ^= v >> 15, v *= 2246822519u, v ^= v >> 13;
        p[i] = ((v & 0xFFFFFF) / 16777216.0f - 0.5f) * 4.f;
    }
}
struct SCData {
    int N, S, E, H, rows;
    std::vector<int> se, spos;
    std::vector<float> sw, Y;
    std::vector<double> sg;
    int *dse, *dspos, *dpslot;
    float *dsw, *dY;
    double *dsg;
};
// slots 0..k-1 the model's experts (weights), k..S-1 statistics-only ones (weight 0, some dropped)
static void sc_make(SCData &d, int N, int S, int k, int E, int H, int fill_host) {
    d.N = N, d.S = S, d.E = E, d.H = H;
    d.se.assign((size_t)N * S, -1), d.sw.assign((size_t)N * S, 0.f), d.sg.assign((size_t)N * S, -1.0);
    for (int t = 0; t < N; t++)
        for (int j = 0; j < S; j++) {
            int e;
            for (int again = 1; again;) {
                double u = urand();
                e = u < 0.3 ? 0 : u < 0.35 ? 1 + (int)(urand() * 2) : 4 + (int)(urand() * (E - 4));  // 3 unused
                again = 0;
                for (int i = 0; i < j; i++) again |= d.se[(size_t)t * S + i] == e;
            }
            size_t i = (size_t)t * S + j;
            if (j >= k && urand() < 0.3) continue;  // dropped: chosen by both routings
            d.se[i] = e;
            d.sw[i] = j < k ? (float)urand() : 0.f;
            d.sg[i] = t % 7 == 0 || (S > k && j < k && urand() < 0.5) ? -1.0 : urand();
        }
    const int n = N * S, cap = n + n / 8 + 64 * E;
    d.dse = up(d.se), d.dsw = up(d.sw), d.dsg = up(d.sg);
    int *cnt = dev<int>(E), *off = dev<int>(E + 2), *cur = dev<int>(E), *ptok = dev<int>(cap);
    d.dpslot = dev<int>(cap), d.dspos = dev<int>(n);
    reap_k_permute_padded(d.dse, N, S, E, cap, cnt, off, cur, ptok, d.dpslot, d.dspos, 0);
    std::vector<int> hoff = down(off, E + 2), hc = down(cnt, E);
    d.rows = hoff[E];
    d.spos = down(d.dspos, n);
    d.dY = dev<float>((size_t)d.rows * H);  // 0xFF: NaN
    k_fill_f32<<<1024, 256>>>(d.dY, (size_t)d.rows * H, 7);
    for (int e = 0; e < E; e++)  // padding rows back to NaN
        if (hoff[e + 1] - hoff[e] > hc[e])
            CU(cudaMemset(d.dY + (size_t)(hoff[e] + hc[e]) * H, 0xFF, (size_t)(hoff[e + 1] - hoff[e] - hc[e]) * H * 4));
    if (fill_host) d.Y = down(d.dY, (size_t)d.rows * H);
    void *fr[] = {cnt, off, cur, ptok};
    for (void *p : fr) CU(cudaFree(p));
}
static void sc_free(SCData &d) {
    void *fr[] = {d.dse, d.dspos, d.dpslot, d.dsw, d.dY, d.dsg};
    for (void *p : fr) CU(cudaFree(p));
}
// reap_k_stats_combine itself (stage_rows = db = -1) or reap_k_stats_combine_rows, from the starting values s,
// on Y (f32, or bf16 when bf)
static XOut sc_run(const SCData &d, const void *Y, int bf, const XOut &s, int stage_rows, int db) {
    SCBufs b = sc_up(s);
    if (stage_rows == -1 && db == -1)
        reap_k_stats_combine(Y, bf, d.dspos, d.dse, d.dsg, d.dsw, d.N, d.S, d.H, b.h, b.cnt, b.gate, b.norm, b.reap, b.mx, 0);
    else
        reap_k_stats_combine_rows(Y, bf, d.dspos, d.dse, d.dsg, d.dsw, d.N, d.S, d.H, b.h, b.cnt, b.gate, b.norm,
                                  b.reap, b.mx, stage_rows, db, 0);
    return sc_down(b, d.E, (size_t)d.N * d.H);
}
// Y rounded to bf16, and those values back in f32
__global__ void k_round_bf16(const float *y, size_t n, bf16 *yb, float *yr) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        bf16 v = __float2bfloat16(y[i]);
        yb[i] = v, yr[i] = __bfloat162float(v);
    }
}
// h values that are not bit-identical, count/max mismatches and the largest relative difference of
// the float64 sums between two runs
static int sc_same(const XOut &a, const XOut &b, int E, size_t *hdiff, int *cm, double *fu) {
    *hdiff = 0, *cm = 0, *fu = 0;
    for (size_t i = 0; i < a.h.size(); i++) *hdiff += memcmp(&a.h[i], &b.h[i], 4) != 0;
    for (int e = 0; e < E; e++) {
        *cm += a.cnt[e] != b.cnt[e] || !(a.mx[e] == b.mx[e]);
        *fu = fmax(*fu, fmax(rel(b.gate[e], a.gate[e]), fmax(rel(b.norm[e], a.norm[e]), rel(b.reap[e], a.reap[e]))));
    }
    return *hdiff == 0 && *cm == 0 && *fu <= 1e-12;
}
// Also the bf16 rows (the FP8 path's down output): the same path on Y rounded to bf16 must give
// what it gives on those values in f32, to the bit.
static void check_stats_combine_case(const char *name, int N, int S, int k, int E, int H, int stage_rows, int db) {
    SCData d;
    sc_make(d, N, S, k, E, H, 1);
    XOut s0 = sc_start(E, (size_t)N * H);
    std::vector<double> habs;
    XRef r = stats_combine_ref(d.Y, d.spos, d.se, d.sg, d.sw, N, S, H, s0, habs);
    XOut a = sc_run(d, d.dY, 0, s0, 0, 0), b = sc_run(d, d.dY, 0, s0, stage_rows, db);  // a: the direct path
    char msg[256];
    int ok = stats_combine_cmp(b, r, habs, S, H, msg, sizeof msg);
    size_t hdiff;
    int cm;
    double fu;
    int same = sc_same(a, b, E, &hdiff, &cm, &fu);
    printf("%s %s: vs float64: %s; vs the direct path: %zu h values not bit-identical, %d count/max mismatches, sums "
           "rel %.1e\n",
           ok && same ? "PASS" : "FAIL", name, msg, hdiff, cm, fu);
    failures += !(ok && same);
    const size_t n = (size_t)d.rows * H;
    bf16 *yb = dev<bf16>(n);
    float *yr = dev<float>(n);
    k_round_bf16<<<1024, 256>>>(d.dY, n, yb, yr);
    XOut f = sc_run(d, yr, 0, s0, stage_rows, db), g = sc_run(d, yb, 1, s0, stage_rows, db);
    same = sc_same(f, g, E, &hdiff, &cm, &fu);
    printf("%s %s_bf16: vs f32 of the same values: %zu h values not bit-identical, %d count/max mismatches, sums "
           "rel %.1e\n",
           same ? "PASS" : "FAIL", name, hdiff, cm, fu);
    failures += !same;
    CU(cudaFree(yb));
    CU(cudaFree(yr));
    sc_free(d);
}

static void check_stats_combine(Timer &tm) {
    // (stage_rows, double_buffer) = (-1, -1): reap_k_stats_combine itself
    check_stats_combine_case("stats_combine_model_slots", 700, 8, 8, 32, 256, -1, -1);  // whole token staged
    check_stats_combine_case("stats_combine_m2_width", 300, 8, 8, 32, 3072, -1, -1);     // 2 buffers of 2 rows
    check_stats_combine_case("stats_combine_stat_slots_groups", 300, 16, 8, 40, 384, 3, 0);  // 6 groups of 3 rows
    check_stats_combine_case("stats_combine_stat_slots_2buf_3", 300, 16, 8, 40, 384, 3, 1);
    check_stats_combine_case("stats_combine_stat_slots_2buf_1", 300, 16, 8, 40, 384, 1, 1);
    check_stats_combine_case("stats_combine_stat_slots_auto", 300, 16, 8, 40, 384, -1, -1);
    check_stats_combine_case("stats_combine_direct", 300, 16, 8, 40, 384, 0, 0);     // rows read from global memory
    check_stats_combine_case("stats_combine_odd_width", 200, 8, 8, 24, 93, -1, -1);  // H % 4 != 0: direct
    check_stats_combine_case("stats_combine_wide_rows", 40, 16, 8, 24, 8192, -1, -1);  // 2 buffers of 2 rows in 192 KB
    if (!tm.on) return;
    // MiniMax-M2: one chunk of 32k tokens, 8 slots, 256 experts, H 3072
    SCData d;
    const int N = 32768, S = 8, E = 256, H = 3072;
    sc_make(d, N, S, S, E, H, 0);
    unsigned long long *c64 = dev<unsigned long long>(E);
    double *gs = dev<double>(E), *ns = dev<double>(E), *rs = dev<double>(E), *mx = dev<double>(E);
    float *h = dev<float>((size_t)N * H);
    k_fill_f32<<<1024, 256>>>(h, (size_t)N * H, 9);
    CU(cudaMemset(c64, 0, E * 8)); CU(cudaMemset(gs, 0, E * 8)); CU(cudaMemset(ns, 0, E * 8)); CU(cudaMemset(rs, 0, E * 8));
    reap_k_fill_neg_inf(mx, E, 0);
    const double need = (double)N * S * H * 4 + 2.0 * N * H * 4;  // each routed row once, h read + written
    const int modes[][2] = {{-1, -1}, {8, 0}, {4, 0}, {2, 0}, {1, 1}, {2, 1}, {3, 1}, {0, 0}};
    for (auto &m : modes) {
        double ms = tm.median_ms([&] {
            if (m[0] == -1) reap_k_stats_combine(d.dY, 0, d.dspos, d.dse, d.dsg, d.dsw, N, S, H, h, c64, gs, ns, rs, mx, 0);
            else reap_k_stats_combine_rows(d.dY, 0, d.dspos, d.dse, d.dsg, d.dsw, N, S, H, h, c64, gs, ns, rs, mx, m[0], m[1], 0);
        });
        printf("TIME stats_combine M2 chunk %d tokens x %d slots, H %d (%d rows), %s %d: %.3f ms, %.0f GB/s\n", N, S, H,
               d.rows, m[0] < 0 ? "default" : !m[0] ? "direct (no staging)" : m[1] ? "double-buffered groups of" : "groups of",
               m[0] < 0 ? 0 : m[0], ms, need / ms / 1e6);
    }
    {  // bf16 rows (the FP8 path), the default choice
        bf16 *yb = dev<bf16>((size_t)d.rows * H);
        float *yr = dev<float>((size_t)d.rows * H);
        k_round_bf16<<<1024, 256>>>(d.dY, (size_t)d.rows * H, yb, yr);
        const double need_b = (double)N * S * H * 2 + 2.0 * N * H * 4;
        double ms = tm.median_ms([&] { reap_k_stats_combine(yb, 1, d.dspos, d.dse, d.dsg, d.dsw, N, S, H, h, c64, gs, ns, rs, mx, 0); });
        printf("TIME stats_combine M2 chunk %d tokens x %d slots, H %d (%d rows), bf16 rows, default: %.3f ms, %.0f GB/s\n",
               N, S, H, d.rows, ms, need_b / ms / 1e6);
        CU(cudaFree(yb));
    CU(cudaFree(yr));
    }
    void *fr[] = {c64, gs, ns, rs, mx, h};
    for (void *p : fr) CU(cudaFree(p));
    sc_free(d);
}

// ---- embedding a table block at a time -----------------------------------------------------------
// Tokens whose id is in the block get exact copies of their row; every other row is left as it was.
static void check_embed_block() {
    const int V = 300, H = 70, N = 5000, v0 = 100, n = 100;
    std::vector<float> table((size_t)n * H), h0((size_t)N * H);
    std::vector<int32_t> ids(N);
    for (auto &x : table) x = nrand();
    for (auto &x : h0) x = nrand();
    for (auto &x : ids) x = (int32_t)(urand() * V);
    float *dt = up(table), *dh = up(h0);
    int32_t *di = up(ids);
    reap_k_embed_block(dt, v0, n, di, N, H, dh, 0);
    CU(cudaGetLastError());
    auto got = down(dh, h0.size());
    int bad = 0, copied = 0;
    for (int t = 0; t < N; t++) {
        const int r = ids[t] - v0, in = r >= 0 && r < n;
        copied += in;
        bad += memcmp(&got[(size_t)t * H], in ? &table[(size_t)r * H] : &h0[(size_t)t * H], sizeof(float) * H) != 0;
    }
    printf("%s embed_block: %d of %d rows differ (%d copied from the block)\n", bad ? "FAIL" : "PASS", bad, N, copied);
    failures += bad != 0;
    cudaFree(dt), cudaFree(dh), cudaFree(di);
}

// ---- reap eval: logits compared a vocabulary slab at a time ---------------------------------------
// 3 models (the original, a perturbed one, an exact copy) at 37 positions over 10007 ids in slabs
// of 4096 (the last uneven), with exact ties inside slabs and across their edges, against
// reap_eval_position on whole vectors: top-1, agreement and top-5 membership exact; KL and
// cross-entropies within 1e-6 (f32 exponentials against float64); the copy's KL exactly 0.
static void check_eval_slab(Timer &tm) {
    const int P = 37, NM = 3, V = 10007, SL = 4096;
    std::vector<float> z((size_t)NM * P * V);
    std::vector<int> tg(P);
    for (int i = 0; i < P; i++) {
        float *zp = &z[(size_t)i * V], *zq = &z[((size_t)P + i) * V], *zc = &z[((size_t)2 * P + i) * V];
        for (int v = 0; v < V; v++) {
            zp[v] = nrand() * 4, zq[v] = zp[v] + nrand() * (i % 5 == 0 ? 0.0f : 0.5f);
            if (i % 7 == 3) zp[v] = zq[v] = (float)(v % 4);  // ties everywhere
        }
        if (i % 7 == 5) zp[4095] = zp[4096] = 30, zq[10] = zq[4096] = zq[8191] = zq[8192] = zq[9000] = zq[11] = 25;
        memcpy(zc, zp, sizeof(float) * V);
        tg[i] = (int)(urand() * V);
    }
    float *dz = dev<float>((size_t)NM * P * SL);
    int *dt = up(tg);
    std::vector<reap_eval_state> st0((size_t)(NM - 1) * P);
    for (auto &s : st0) reap_eval_state_init(&s);
    reap_eval_state *ds = up(st0);
    std::vector<float> slab((size_t)NM * P * SL);
    for (int v0 = 0; v0 < V; v0 += SL) {
        int n = V - v0 < SL ? V - v0 : SL;
        for (int r = 0; r < NM * P; r++) memcpy(&slab[(size_t)r * SL], &z[(size_t)r * V + v0], sizeof(float) * n);
        CU(cudaMemcpy(dz, slab.data(), slab.size() * sizeof(float), cudaMemcpyHostToDevice));
        reap_k_eval_slab(dz, SL, P, NM, v0, n, dt, ds, 0);
        CU(cudaGetLastError());
    }
    auto st = down(ds, st0.size());
    int bad = 0, copy_exact = 1;
    double worst = 0;
    for (int k = 1; k < NM; k++)
        for (int i = 0; i < P; i++) {
            reap_eval_pos ref, got;
            reap_eval_position(&z[(size_t)i * V], &z[((size_t)k * P + i) * V], V, tg[i], &ref);
            reap_eval_state_finish(&st[(size_t)(k - 1) * P + i], &got);
            bad += got.top1_p != ref.top1_p || got.top1_q != ref.top1_q || got.agree != ref.agree ||
                   got.in_top5 != ref.in_top5;
            worst = fmax(worst, fabs(got.kl - ref.kl) / (1 + ref.kl));
            worst = fmax(worst, fabs(got.ce_p - ref.ce_p) / (1 + fabs(ref.ce_p)));
            worst = fmax(worst, fabs(got.ce_q - ref.ce_q) / (1 + fabs(ref.ce_q)));
            if (k == 2) copy_exact &= got.kl == 0.0 && got.ce_p == got.ce_q && got.agree;
        }
    int ok = bad == 0 && worst < 1e-6 && copy_exact;
    printf("%s eval_slab: %d mismatched top-1/top-5, worst KL/CE diff %.2e, copy exact %d\n", ok ? "PASS" : "FAIL", bad,
           worst, copy_exact);
    failures += !ok;
    if (tm.on) {  // 5 models x 256 positions, one 4096-id slab (the shape reap eval uses at 4 variants)
        const int TP = 256, TM = 5;
        float *bz = dev<float>((size_t)TM * TP * SL);
        CU(cudaMemset(bz, 0x3F, (size_t)TM * TP * SL * 4));
        int *bt = dev<int>(TP);
        CU(cudaMemset(bt, 0, TP * 4));
        std::vector<reap_eval_state> bs0((size_t)(TM - 1) * TP);
        for (auto &s : bs0) reap_eval_state_init(&s);
        reap_eval_state *bs = up(bs0);
        double ms = tm.median_ms([&] { reap_k_eval_slab(bz, SL, TP, TM, 0, SL, bt, bs, 0); });
        printf("TIME eval_slab %d positions x %d models x %d ids: %.3f ms (%.0f GB/s of logits)\n", TP, TM, SL, ms,
               (double)(2 * (TM - 1)) * TP * SL * 4 * 2 / (ms * 1e6));
        cudaFree(bz), cudaFree(bt), cudaFree(bs);
    }
    cudaFree(dz), cudaFree(dt), cudaFree(ds);
}

int main(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
        printf("SKIP dev_kernels: no CUDA device\n");
        return 0;
    }
    Timer tm;
    check_dequant(tm);
    check_rmsnorm(tm);
    check_qknorm_rope(tm);
    check_attention(tm);
    check_route(tm);
    check_router(tm);
    check_moe_glue(tm);
    time_gather(tm);
    check_expert_phase(tm);
    check_stats_combine(tm);
    check_eval_slab(tm);
    check_embed_block();
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}

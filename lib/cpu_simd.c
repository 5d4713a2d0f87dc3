// cpu_simd.c: see cpu_simd.h. Each kernel is written three times: portable C (fmaf, one element at
// a time), AVX2+FMA and AVX-512F intrinsics in functions compiled for those targets. The vector
// versions perform, per element, exactly the operations of the portable one (the same fmas, the
// same rounding to nearest for exp's exponent, the same interleaved double partial sums), so all
// three give the same bits; tests/test_forward.c checks it on the paths the CPU has.
#include "cpu_simd.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define REAP_X86 1
#include <immintrin.h>
#else
#define REAP_X86 0
#endif

// ---- exp: Cephes-style range reduction x = n ln2 + r and a degree-6 polynomial, all in fp32.
// Inputs below EXP_LO give 0 (exp would be below the normal range), above EXP_HI are clamped.
#define EXP_LO (-87.0f)
#define EXP_HI 88.0f
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f
#define LN2_LO (-2.12194440e-4f)
#define EP0 1.9875691500e-4f
#define EP1 1.3981999507e-3f
#define EP2 8.3334519073e-3f
#define EP3 4.1665795894e-2f
#define EP4 1.6666665459e-1f
#define EP5 5.0000001201e-1f

float reap_cpu_expf(float x) {
    float xc = fminf(fmaxf(x, EXP_LO), EXP_HI);
    float n = rintf(xc * LOG2E);
    float r = fmaf(n, -LN2_HI, xc);
    r = fmaf(n, -LN2_LO, r);
    float p = EP0;
    p = fmaf(p, r, EP1), p = fmaf(p, r, EP2), p = fmaf(p, r, EP3), p = fmaf(p, r, EP4), p = fmaf(p, r, EP5);
    float y = fmaf(p, r * r, r) + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &bits, sizeof s);
    return x < EXP_LO ? 0.0f : y * s;
}

// ---- portable C

enum { MR_GENERIC = 4, MR_AVX2 = 6, MR_AVX512 = 12 };

static void gemm_generic(const float *ap, int kk, const float *b, size_t bs, int np, float *c, size_t ldc, size_t cs,
                         int mr, int nc) {
    for (int q = 0; q < np; q++)
        for (int r = 0; r < mr; r++)
            for (int j = 0; j < 16 && q * 16 + j < nc; j++) {
                float acc = 0;
                for (int p = 0; p < kk; p++) acc = fmaf(ap[(size_t)p * MR_GENERIC + r], b[q * bs + (size_t)p * 16 + j], acc);
                c[(size_t)r * ldc + q * cs + j] = acc;
            }
}

static double sum8(const double acc[8]) {
    double s = acc[0];
    for (int l = 1; l < 8; l++) s += acc[l];
    return s;
}

static void softmax16_generic(float *s, int nk, int i0, float scale) {
    for (int j = 0; j < 16; j++) {
        int last = i0 + j < nk - 1 ? i0 + j : nk - 1;  // the last key query i0 + j sees
        float mx = -INFINITY;
        for (int t = 0; t < nk; t++) {
            float x = s[t * 16 + j] * scale;
            s[t * 16 + j] = x;
            mx = t <= last && x > mx ? x : mx;
        }
        double sum = 0;
        for (int t = 0; t < nk; t++) {
            float e = t <= last ? reap_cpu_expf(s[t * 16 + j] - mx) : 0.0f;
            s[t * 16 + j] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int t = 0; t < nk; t++) s[t * 16 + j] *= inv;
    }
}

static void silu_mul_generic(const float *g, const float *u, float *out, int n) {
    for (int j = 0; j < n; j++) out[j] = g[j] / (1.0f + reap_cpu_expf(-g[j])) * u[j];
}

static double sumsq_generic(const float *x, int n) {
    double acc[8] = {0};
    for (int j = 0; j < n; j++) acc[j & 7] += (double)x[j] * (double)x[j];
    return sum8(acc);
}

static float maxv_generic(const float *x, int n) {
    float mx = -INFINITY;
    for (int j = 0; j < n; j++) mx = x[j] > mx ? x[j] : mx;
    return mx + 0.0f;  // -0 -> +0: the vector paths may meet +-0 in another order
}

static const reap_cpu_simd simd_generic = {"generic", MR_GENERIC, gemm_generic, softmax16_generic, silu_mul_generic,
                                           sumsq_generic, maxv_generic};

#if REAP_X86
// ---- AVX2 + FMA (8 lanes)
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline __m256 exp8(__m256 x) {
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(EXP_LO)), _mm256_set1_ps(EXP_HI));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-LN2_HI), xc);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-LN2_LO), r);
    __m256 p = _mm256_set1_ps(EP0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EP1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EP2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EP3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EP4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EP5));
    __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(EXP_LO), _CMP_LT_OQ), y);
}

// 6 rows x 16 columns per panel: 12 accumulators.
AVX2 static void gemm_avx2(const float *ap, int kk, const float *b, size_t bs, int np, float *c, size_t ldc, size_t cs,
                           int mr, int nc) {
    for (int q = 0; q < np; q++, b += bs, c += cs, nc -= 16) {
#define R6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define DECL(r) __m256 c##r##a = _mm256_setzero_ps(), c##r##b = _mm256_setzero_ps();
        R6(DECL)
#undef DECL
        const float *a = ap;
        for (int p = 0; p < kk; p++, a += MR_AVX2) {
            __m256 b0 = _mm256_loadu_ps(b + (size_t)p * 16), b1 = _mm256_loadu_ps(b + (size_t)p * 16 + 8);
#define STEP(r)                                               \
    {                                                         \
        __m256 av = _mm256_broadcast_ss(a + r);               \
        c##r##a = _mm256_fmadd_ps(av, b0, c##r##a);           \
        c##r##b = _mm256_fmadd_ps(av, b1, c##r##b);           \
    }
            R6(STEP)
#undef STEP
        }
        if (nc >= 16) {
#define STORE(r) \
    if (r < mr) _mm256_storeu_ps(c + r * ldc, c##r##a), _mm256_storeu_ps(c + r * ldc + 8, c##r##b);
            R6(STORE)
#undef STORE
        } else {
            float t[16];
#define STORE(r) \
    if (r < mr) _mm256_storeu_ps(t, c##r##a), _mm256_storeu_ps(t + 8, c##r##b), memcpy(c + r * ldc, t, (size_t)nc * 4);
            R6(STORE)
#undef STORE
        }
#undef R6
    }
}

// acc[l] (lanes 0..3 in lo, 4..7 in hi) += e[l] for 8 floats e.
AVX2 static inline void add8d(__m256d *lo, __m256d *hi, __m256 e) {
    *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
}

AVX2 static void softmax16_avx2(float *s, int nk, int i0, float scale) {
    // lanes: queries i0 + h*8 + l; key t is visible to lane l of half h when t <= i0 + h*8 + l.
    __m256 vs = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-INFINITY);
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i q0 = _mm256_add_epi32(lane, _mm256_set1_epi32(i0)), q1 = _mm256_add_epi32(q0, _mm256_set1_epi32(8));
    __m256 m0 = ninf, m1 = ninf;
    for (int t = 0; t < nk; t++) {
        __m256i vt = _mm256_set1_epi32(t);
        __m256 vis0 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(vt, q0)), vis1 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(vt, q1));
        __m256 x0 = _mm256_mul_ps(_mm256_loadu_ps(s + t * 16), vs), x1 = _mm256_mul_ps(_mm256_loadu_ps(s + t * 16 + 8), vs);
        _mm256_storeu_ps(s + t * 16, x0), _mm256_storeu_ps(s + t * 16 + 8, x1);
        m0 = _mm256_max_ps(m0, _mm256_blendv_ps(x0, ninf, vis0));  // vis = "t > query": hidden
        m1 = _mm256_max_ps(m1, _mm256_blendv_ps(x1, ninf, vis1));
    }
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd(), a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();
    for (int t = 0; t < nk; t++) {
        __m256i vt = _mm256_set1_epi32(t);
        __m256 hid0 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(vt, q0)), hid1 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(vt, q1));
        __m256 e0 = _mm256_andnot_ps(hid0, exp8(_mm256_sub_ps(_mm256_loadu_ps(s + t * 16), m0)));
        __m256 e1 = _mm256_andnot_ps(hid1, exp8(_mm256_sub_ps(_mm256_loadu_ps(s + t * 16 + 8), m1)));
        _mm256_storeu_ps(s + t * 16, e0), _mm256_storeu_ps(s + t * 16 + 8, e1);
        a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(e0)));
        a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(e0, 1)));
        a2 = _mm256_add_pd(a2, _mm256_cvtps_pd(_mm256_castps256_ps128(e1)));
        a3 = _mm256_add_pd(a3, _mm256_cvtps_pd(_mm256_extractf128_ps(e1, 1)));
    }
    __m256d one = _mm256_set1_pd(1.0);
    __m256 i0v = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_div_pd(one, a1)), _mm256_cvtpd_ps(_mm256_div_pd(one, a0)));
    __m256 i1v = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_div_pd(one, a3)), _mm256_cvtpd_ps(_mm256_div_pd(one, a2)));
    for (int t = 0; t < nk; t++) {
        _mm256_storeu_ps(s + t * 16, _mm256_mul_ps(_mm256_loadu_ps(s + t * 16), i0v));
        _mm256_storeu_ps(s + t * 16 + 8, _mm256_mul_ps(_mm256_loadu_ps(s + t * 16 + 8), i1v));
    }
}

AVX2 static void silu_mul_avx2(const float *g, const float *u, float *out, int n) {
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 x = _mm256_loadu_ps(g + j);
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
        __m256 y = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(out + j, _mm256_mul_ps(y, _mm256_loadu_ps(u + j)));
    }
    silu_mul_generic(g + j, u + j, out + j, n - j);
}

AVX2 static double sumsq_avx2(const float *x, int n) {
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 v = _mm256_loadu_ps(x + j);
        __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        lo = _mm256_add_pd(lo, _mm256_mul_pd(a, a));
        hi = _mm256_add_pd(hi, _mm256_mul_pd(b, b));
    }
    double acc[8];
    _mm256_storeu_pd(acc, lo), _mm256_storeu_pd(acc + 4, hi);
    for (; j < n; j++) acc[j & 7] += (double)x[j] * (double)x[j];
    return sum8(acc);
}

AVX2 static float maxv_avx2(const float *x, int n) {
    __m256 vm = _mm256_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 8 <= n; j += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + j));
    float m8[8], mx = maxv_generic(x + j, n - j);
    _mm256_storeu_ps(m8, vm);
    for (int l = 0; l < 8; l++) mx = m8[l] > mx ? m8[l] : mx;
    return mx + 0.0f;
}

static const reap_cpu_simd simd_avx2 = {"avx2", MR_AVX2, gemm_avx2, softmax16_avx2, silu_mul_avx2, sumsq_avx2, maxv_avx2};

// ---- AVX-512F (16 lanes): the GEMM only (12 rows x 2 panels: 24 accumulators); the element-wise
// kernels stay AVX2 (they are a small share of the time).
#define AVX512 __attribute__((target("avx512f")))

AVX512 static void gemm_avx512(const float *ap, int kk, const float *b, size_t bs, int np, float *c, size_t ldc,
                               size_t cs, int mr, int nc) {
#define R12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
    __mmask16 m0 = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1);
    if (np == 2) {
        __mmask16 m1 = nc >= 32 ? (__mmask16)0xFFFF : (__mmask16)((1u << (nc - 16)) - 1);
#define DECL(r) __m512 c##r##a = _mm512_setzero_ps(), c##r##b = _mm512_setzero_ps();
        R12(DECL)
#undef DECL
        const float *a = ap, *b1 = b + bs;
        for (int p = 0; p < kk; p++, a += MR_AVX512) {
            __m512 b0v = _mm512_loadu_ps(b + (size_t)p * 16), b1v = _mm512_loadu_ps(b1 + (size_t)p * 16);
#define STEP(r)                                           \
    {                                                     \
        __m512 av = _mm512_set1_ps(a[r]);                 \
        c##r##a = _mm512_fmadd_ps(av, b0v, c##r##a);      \
        c##r##b = _mm512_fmadd_ps(av, b1v, c##r##b);      \
    }
            R12(STEP)
#undef STEP
        }
#define STORE(r) \
    if (r < mr) _mm512_mask_storeu_ps(c + r * ldc, m0, c##r##a), _mm512_mask_storeu_ps(c + r * ldc + cs, m1, c##r##b);
        R12(STORE)
#undef STORE
    } else {
#define DECL(r) __m512 c##r##a = _mm512_setzero_ps();
        R12(DECL)
#undef DECL
        const float *a = ap;
        for (int p = 0; p < kk; p++, a += MR_AVX512) {
            __m512 b0v = _mm512_loadu_ps(b + (size_t)p * 16);
#define STEP(r) c##r##a = _mm512_fmadd_ps(_mm512_set1_ps(a[r]), b0v, c##r##a);
            R12(STEP)
#undef STEP
        }
#define STORE(r) \
    if (r < mr) _mm512_mask_storeu_ps(c + r * ldc, m0, c##r##a);
        R12(STORE)
#undef STORE
    }
#undef R12
}

static const reap_cpu_simd simd_avx512 = {"avx512", MR_AVX512, gemm_avx512, softmax16_avx2, silu_mul_avx2, sumsq_avx2,
                                          maxv_avx2};
#endif

// ---- selection

static const reap_cpu_simd *simd_by_name(const char *name) {
#if REAP_X86
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!strcmp(name, "avx512")) return avx2 && __builtin_cpu_supports("avx512f") ? &simd_avx512 : NULL;
    if (!strcmp(name, "avx2")) return avx2 ? &simd_avx2 : NULL;
#endif
    if (!strcmp(name, "generic")) return &simd_generic;
    return NULL;
}

static const reap_cpu_simd *simd_current;

// The best the CPU has, chosen before main (and before any thread exists); reap_cpu_simd_select may
// change it at start-up (cmd/reap.c, env REAP_CPU_ISA), still before any thread.
__attribute__((constructor)) static void simd_init(void) {
    const reap_cpu_simd *s = simd_by_name("avx512");
    if (!s) s = simd_by_name("avx2");
    if (!s) s = &simd_generic;
    simd_current = s;
}

const reap_cpu_simd *reap_cpu_simd_get(void) {
    if (!simd_current) simd_init();
    return simd_current;
}

int reap_cpu_simd_select(const char *name) {
    const reap_cpu_simd *s = simd_by_name(name);
    if (!s) return -1;
    simd_current = s;
    return 0;
}

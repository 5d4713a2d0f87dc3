// cpu_simd.h: the vector inner loops of the CPU forward pass (internal to cpu_ops.c and moe.c), in
// three instruction sets picked once at run time: AVX-512F, AVX2+FMA, and portable C.
//
// Every path gives the same bits: each GEMM output element is acc = fma(a[p], b[p], acc) for p in
// order from acc = 0 (fmaf in the portable path); exp is one fixed sequence of fp32 operations per
// element; sums in double run in 8 interleaved partial sums (element j into sum j % 8, in order)
// added 0 + 1 + ... + 7 at the end. No result depends on the path, the tiling or the thread count.
#ifndef REAP_CPU_SIMD_H
#define REAP_CPU_SIMD_H

#include <stddef.h>

#define REAP_CPU_MAX_MR 12  // the largest rows per GEMM tile of any path

typedef struct {
    const char *name;  // "avx512", "avx2", "generic"
    int mr;            // rows per GEMM tile
    // c[r][j] (r < mr <= the path's mr, j < nc <= 16 * np) = sum_p A[p][r] * B[p][j]: ap holds a tile
    // of rows interleaved, ap[p * mr_path + r] (kk, mr_path), and B is np (1 or 2) panels of 16
    // columns, kk deep (panel 1 starts bstride floats after b). Rows of c have stride ldc and
    // panel 1's columns start cstride floats after panel 0's; only the mr x nc block is written.
    void (*gemm)(const float *ap, int kk, const float *b, size_t bstride, int np, float *c, size_t ldc,
                 size_t cstride, int mr, int nc);
    // Causal softmax down the 16 columns of s (nk, 16) (key-major scores of 16 queries): column j
    // is query i0 + j and sees keys t <= i0 + j (t < nk); there s[t][j] becomes softmax over those
    // keys of scale * s[t][j] (sum in double over t in order), and 0 for the keys it cannot see.
    void (*softmax16)(float *s, int nk, int i0, float scale);
    // out[j] = silu(g[j]) * u[j] = g / (1 + exp(-g)) * u for j < n (out may equal g or u).
    void (*silu_mul)(const float *g, const float *u, float *out, int n);
    // sum of x[j]^2 in double, and max of x[j] (-INFINITY when n == 0).
    double (*sumsq)(const float *x, int n);
    float (*maxv)(const float *x, int n);
} reap_cpu_simd;

// The path in use: the widest the CPU supports, or the one named by REAP_CPU_ISA
// (avx512 | avx2 | generic) when set and supported.
const reap_cpu_simd *reap_cpu_simd_get(void);
// Selects a path by name for this process (tests); returns 0, or -1 when unknown or unsupported.
int reap_cpu_simd_select(const char *name);

// exp(x) as every path computes it (reference for tests).
float reap_cpu_expf(float x);

#endif

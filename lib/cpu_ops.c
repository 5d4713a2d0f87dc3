// cpu_ops.c: see cpu_ops.h. The GEMM packs a block of rows of a into row-interleaved tiles and
// runs the widest micro-kernel of cpu_simd.c over pairs of weight panels; every output element is
// one sequence of fmas over k in order, so no result depends on the kernel, tiling or threads.
#include "cpu_ops.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"
#include "cpu_simd.h"

enum { TILES_PER_BLOCK = 8 };  // row tiles per block of a: the block stays in cache while panels pass

size_t reap_cpu_panels_floats(int n, int k) { return (size_t)((n + REAP_NR - 1) / REAP_NR) * (size_t)k * REAP_NR; }

float *reap_cpu_alloc(size_t floats) {
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64, align = 64;
    // Large buffers (activations, MoE outputs: fresh every layer) in transparent huge pages where
    // the kernel offers them on request: one fault per 2 MiB instead of 512.
    enum { HUGE = 2 << 20 };
    if (bytes >= 4 * (size_t)HUGE) align = HUGE, bytes = (bytes + HUGE - 1) / HUGE * HUGE;
    void *p = aligned_alloc(align, bytes ? bytes : 64);
    if (!p) {
        fprintf(stderr, "reap: error: out of memory allocating %zu bytes\n", bytes);
        exit(1);
    }
#ifdef MADV_HUGEPAGE
    if (align > 64) madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

size_t reap_cpu_gemm_workspace_floats(int k) { return (size_t)TILES_PER_BLOCK * REAP_CPU_MAX_MR * (size_t)k; }

// ap (kk, MR) = the first mr rows of a (stride lda) transposed, rows mr..MR-1 zero. Written
// sequentially, MR fixed at compile time for the paths' tile heights.
static inline void pack_a_fixed(const float *a, size_t lda, int mr, int kk, int MR, float *ap) {
    const float *ar[REAP_CPU_MAX_MR];
    for (int r = 0; r < MR; r++) ar[r] = a + (size_t)(r < mr ? r : 0) * lda;
    if (mr == MR) {
        for (int p = 0; p < kk; p++, ap += MR)
            for (int r = 0; r < MR; r++) ap[r] = ar[r][p];
    } else {
        for (int p = 0; p < kk; p++, ap += MR)
            for (int r = 0; r < MR; r++) ap[r] = r < mr ? ar[r][p] : 0;
    }
}

static void pack_a(const float *a, size_t lda, int mr, int kk, int MR, float *ap) {
    switch (MR) {
    case 12: pack_a_fixed(a, lda, mr, kk, 12, ap); break;
    case 6: pack_a_fixed(a, lda, mr, kk, 6, ap); break;
    case 4: pack_a_fixed(a, lda, mr, kk, 4, ap); break;
    default: REAP_ASSERT(MR <= REAP_CPU_MAX_MR); pack_a_fixed(a, lda, mr, kk, MR, ap);
    }
}

void reap_cpu_gemm(const float *a, int m, int k, int lda, const float *panels, int n, float *c) {
    const reap_cpu_simd *S = reap_cpu_simd_get();
    int MR = S->mr, MB = MR * TILES_PER_BLOCK;
    int npan = (n + REAP_NR - 1) / REAP_NR, npair = (npan + 1) / 2, nmb = (m + MB - 1) / MB;
    // Split the panels into groups when there are too few row blocks to feed every thread.
    int nth = omp_in_parallel() ? 1 : omp_get_max_threads(), ng = 1;
    if (nmb < 4 * nth) ng = (4 * nth + nmb - 1) / nmb;
    if (ng > npair) ng = npair;
    if (ng < 1) ng = 1;
#pragma omp parallel if (nmb * ng > 1)
    {
        float *ap = reap_cpu_alloc((size_t)MB * k);
#pragma omp for collapse(2) schedule(static)
        for (int mb = 0; mb < nmb; mb++)
            for (int g = 0; g < ng; g++) {
                int r0 = mb * MB, rows = m - r0 < MB ? m - r0 : MB, ntile = (rows + MR - 1) / MR;
                for (int t = 0; t < ntile; t++)
                    pack_a(a + (size_t)(r0 + t * MR) * lda, (size_t)lda, rows - t * MR < MR ? rows - t * MR : MR, k,
                           MR, ap + (size_t)t * MR * k);
                for (int pp = g * npair / ng; pp < (g + 1) * npair / ng; pp++) {
                    int p = 2 * pp, np = p + 1 < npan ? 2 : 1, nc = n - p * REAP_NR;
                    if (nc > 2 * REAP_NR) nc = 2 * REAP_NR;
                    const float *b = panels + (size_t)p * k * REAP_NR;
                    for (int t = 0; t < ntile; t++)
                        S->gemm(ap + (size_t)t * MR * k, k, b, (size_t)k * REAP_NR, np,
                                c + (size_t)(r0 + t * MR) * n + p * REAP_NR, (size_t)n, REAP_NR,
                                rows - t * MR < MR ? rows - t * MR : MR, nc);
                }
            }
        free(ap);
    }
}

void reap_cpu_pack_f32(const float *w, int n, int k, float *panels) {
    int npan = (n + REAP_NR - 1) / REAP_NR;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < npan; p++) {
        float *dst = panels + (size_t)p * k * REAP_NR;
        for (int j = 0; j < REAP_NR; j++) {
            int row = p * REAP_NR + j;
            if (row >= n) {
                for (int kk = 0; kk < k; kk++) dst[(size_t)kk * REAP_NR + j] = 0;
                continue;
            }
            const float *src = w + (size_t)row * k;
            for (int kk = 0; kk < k; kk++) dst[(size_t)kk * REAP_NR + j] = src[kk];
        }
    }
}

void reap_cpu_pack_zero_pad(int n, int k, float *panels) {
    int npan = (n + REAP_NR - 1) / REAP_NR;
    if (npan * REAP_NR == n) return;
    float *dst = panels + (size_t)(npan - 1) * k * REAP_NR;
    for (int j = n - (npan - 1) * REAP_NR; j < REAP_NR; j++)
        for (int kk = 0; kk < k; kk++) dst[(size_t)kk * REAP_NR + j] = 0;
}

void reap_cpu_pack_rows(reap_dtype dt, const uint8_t *w, const float *scale, int br, int bc, int rows, int k,
                        int row0, int n_total, float *panels) {
    REAP_ASSERT(row0 + rows <= n_total);
    int fp8 = dt == REAP_DT_F8_E4M3 || dt == REAP_DT_F8_E5M2;
    REAP_ASSERT(!fp8 || (scale && br > 0 && bc > 0));
    float lut[256];
    if (fp8)
        for (int i = 0; i < 256; i++)
            lut[i] = dt == REAP_DT_F8_E4M3 ? reap_e4m3_to_f32((uint8_t)i) : reap_e5m2_to_f32((uint8_t)i);
    size_t esz = reap_dtype_size(dt);
    int nbc = fp8 ? (k + bc - 1) / bc : 0;
#pragma omp parallel
    {
        float *row = reap_xmalloc((size_t)k * sizeof *row);
#pragma omp for schedule(static)
        for (int r = 0; r < rows; r++) {
            const uint8_t *src = w + (size_t)r * k * esz;
            if (fp8) {
                const float *s = scale + (size_t)(r / br) * nbc;
                for (int kk = 0; kk < k; kk++) row[kk] = lut[src[kk]] * s[kk / bc];
            } else {
                REAP_ASSERT(reap_dtype_to_f32(dt, src, (size_t)k, row) == 0);
            }
            int n = row0 + r;
            float *dst = panels + (size_t)(n / REAP_NR) * k * REAP_NR + n % REAP_NR;
            for (int kk = 0; kk < k; kk++) dst[(size_t)kk * REAP_NR] = row[kk];
        }
        free(row);
    }
}

void reap_cpu_rmsnorm(const float *x, int n, int dim, int ldx, const float *w, double eps, float *y, int ldy) {
    const reap_cpu_simd *S = reap_cpu_simd_get();
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * ldx;
        float *yi = y + (size_t)i * ldy;
        double ss = S->sumsq(xi, dim);
        float r = (float)(1.0 / sqrt(ss / dim + eps));
        for (int d = 0; d < dim; d++) yi[d] = w[d] * (xi[d] * r);
    }
}

void reap_cpu_rope(float *x, int T, int n_heads, int head_dim, int rot, double theta, int ld) {
    REAP_ASSERT(rot % 2 == 0 && rot <= head_dim);
    int half = rot / 2;
    // transformers: inv_freq = 1 / theta^(arange(0, rot, 2) / rot) and angle = pos * inv_freq, in fp32.
    float inv[512];
    REAP_ASSERT(half <= 512);
    for (int j = 0; j < half; j++) inv[j] = 1.0f / powf((float)theta, (float)(2 * j) / (float)rot);
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        float cs[512], sn[512];
        for (int j = 0; j < half; j++) {
            float ang = (float)t * inv[j];
            cs[j] = cosf(ang);
            sn[j] = sinf(ang);
        }
        for (int h = 0; h < n_heads; h++) {
            float *v = x + (size_t)t * ld + (size_t)h * head_dim;
            for (int j = 0; j < half; j++) {
                float a = v[j], b = v[j + half];
                v[j] = a * cs[j] - b * sn[j];
                v[j + half] = b * cs[j] + a * sn[j];
            }
        }
    }
}

// Attention of one (row, head) works on 32 queries at a time with keys as GEMM rows, so that the
// probabilities come out key-major, the layout the PV product reads as its weight panels:
//   S^T (keys, 32 queries) = K Q^T: A = K in row tiles, B = the 32 queries as 2 panels;
//   softmax down each column (S->softmax16, 16 queries per vector);
//   O^T (hd, 32) = V^T P^T: A = V^T in row tiles (dims), B = the probability panels; O^T is then
//   written to out transposed. Each score and output element is one fma chain over hd or keys.
enum { QB = 2 * REAP_NR };  // queries per block

// Per-thread buffers: kt (K in tiles of MR keys, hd deep), vt (V^T in tiles of MR dims, T deep),
// qp (2 query panels, hd deep), s (2 probability panels of up to T + MR keys), ot (O^T block).
typedef struct {
    float *kt, *vt, *qp, *s, *ot;
    size_t srows;
    const float *packed_k;  // the K head now in kt/vt (NULL: none)
} attn_ws;

size_t reap_cpu_attention_workspace_floats(int T, int hd) {
    size_t M = REAP_CPU_MAX_MR;
    return ((size_t)T + M) * hd + ((size_t)hd + M) * T + (size_t)QB * hd + 2 * ((size_t)T + M) * REAP_NR +
           ((size_t)hd + M) * QB;
}

// Packs K and V of one KV head: kh, vh (T, hd) with row stride ldk.
static void attn_pack_kv(const float *kh, const float *vh, int T, int hd, size_t ldk, int MR, attn_ws *w) {
    for (int t0 = 0; t0 < T; t0 += MR)
        pack_a(kh + (size_t)t0 * ldk, ldk, T - t0 < MR ? T - t0 : MR, hd, MR, w->kt + (size_t)t0 * hd);
    for (int d0 = 0; d0 < hd; d0 += MR) {  // vt tile: vt[t * MR + r] = V[t][d0 + r]
        float *dst = w->vt + (size_t)d0 * T;
        int nd = hd - d0 < MR ? hd - d0 : MR;
        for (int t = 0; t < T; t++) {
            memcpy(dst + (size_t)t * MR, vh + (size_t)t * ldk + d0, (size_t)nd * sizeof(float));
            for (int r = nd; r < MR; r++) dst[(size_t)t * MR + r] = 0;
        }
    }
}

// Causal attention of one query head over its packed KV head: qh (T, hd) stride ldq -> oh stride ldo.
static void attn_head(const reap_cpu_simd *S, const float *qh, int T, int hd, size_t ldq, float scale, attn_ws *w,
                      float *oh, size_t ldo) {
    int MR = S->mr;
    float *s1 = w->s + w->srows * REAP_NR;
    for (int i0 = 0; i0 < T; i0 += QB) {
        int nq = T - i0 < QB ? T - i0 : QB, np = nq > REAP_NR ? 2 : 1;
        int nk = i0 + nq;  // keys any query of the block may see
        for (int j = 0; j < QB; j++)  // query panels: qp[pan][d][j % 16] = Q[i0 + j][d] (zero past T)
            for (int d = 0; d < hd; d++)
                w->qp[(size_t)(j / REAP_NR) * hd * REAP_NR + (size_t)d * REAP_NR + j % REAP_NR] =
                    j < nq ? qh[(size_t)(i0 + j) * ldq + d] : 0;
        for (int t0 = 0; t0 < nk; t0 += MR)
            S->gemm(w->kt + (size_t)t0 * hd, hd, w->qp, (size_t)hd * REAP_NR, np, w->s + (size_t)t0 * REAP_NR, REAP_NR,
                    (size_t)(s1 - w->s), nk - t0 < MR ? nk - t0 : MR, np * REAP_NR);
        for (int p = 0; p < np; p++) S->softmax16(p ? s1 : w->s, nk, i0 + p * REAP_NR, scale);
        for (int d0 = 0; d0 < hd; d0 += MR)
            S->gemm(w->vt + (size_t)d0 * T, nk, w->s, (size_t)(s1 - w->s), np, w->ot + (size_t)d0 * QB, QB, REAP_NR,
                    hd - d0 < MR ? hd - d0 : MR, np * REAP_NR);
        for (int j = 0; j < nq; j++)
            for (int d = 0; d < hd; d++) oh[(size_t)(i0 + j) * ldo + d] = w->ot[(size_t)d * QB + j];
    }
}

void reap_cpu_attention_rows(const float *q, const float *k, const float *v, int rows, int T, int nh, int nkv, int hd,
                             int ldq, int ldk, float *out, int ldo) {
    REAP_ASSERT(nkv > 0 && nh % nkv == 0);
    const reap_cpu_simd *S = reap_cpu_simd_get();
    int group = nh / nkv, ntask = rows * nh;
    float scale = 1.0f / sqrtf((float)hd);
    size_t M = REAP_CPU_MAX_MR;
#pragma omp parallel if (ntask > 1)
    {
        attn_ws w = {reap_cpu_alloc(((size_t)T + M) * hd), reap_cpu_alloc(((size_t)hd + M) * T),
                     reap_cpu_alloc((size_t)QB * hd), reap_cpu_alloc(2 * ((size_t)T + M) * REAP_NR),
                     reap_cpu_alloc(((size_t)hd + M) * QB), (size_t)T + M, NULL};
        // Tasks in (row, head) order, so consecutive heads of one KV head reuse its packing.
#pragma omp for schedule(static)
        for (int task = 0; task < ntask; task++) {
            int row = task / nh, h = task % nh, kvh = h / group;
            const float *kh = k + (size_t)row * T * ldk + (size_t)kvh * hd;
            if (w.packed_k != kh) {
                attn_pack_kv(kh, v + (size_t)row * T * ldk + (size_t)kvh * hd, T, hd, (size_t)ldk, S->mr, &w);
                w.packed_k = kh;
            }
            attn_head(S, q + (size_t)row * T * ldq + (size_t)h * hd, T, hd, (size_t)ldq, scale, &w,
                      out + (size_t)row * T * ldo + (size_t)h * hd, (size_t)ldo);
        }
        free(w.kt), free(w.vt), free(w.qp), free(w.s), free(w.ot);
    }
}

void reap_cpu_attention(const float *q, const float *k, const float *v, int T, int nh, int nkv, int hd, int ldq,
                        int ldk, float *out, int ldo) {
    reap_cpu_attention_rows(q, k, v, 1, T, nh, nkv, hd, ldq, ldk, out, ldo);
}

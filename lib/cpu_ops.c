// cpu_ops.c: see cpu_ops.h. The GEMM packs a block of rows of a into row-interleaved tiles and
// runs the widest micro-kernel of cpu_simd.c over pairs of weight panels; every output element is
// one sequence of fmas over k in order, so no result depends on the kernel, tiling or threads.
#include "cpu_ops.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cpu_simd.h"

enum { TILES_PER_BLOCK = 8 };  // row tiles per block of a: the block stays in cache while panels pass

size_t reap_cpu_panels_floats(int n, int k) { return (size_t)((n + REAP_NR - 1) / REAP_NR) * (size_t)k * REAP_NR; }

float *reap_cpu_alloc(size_t floats) {
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) {
        fprintf(stderr, "reap: error: out of memory allocating %zu bytes\n", bytes);
        exit(1);
    }
    return p;
}

size_t reap_cpu_gemm_workspace_floats(int k) { return (size_t)TILES_PER_BLOCK * REAP_CPU_MAX_MR * (size_t)k; }

// ap (kk, MR) = the first mr rows of a (stride lda) transposed, rows mr..MR-1 zero.
static void pack_a(const float *a, size_t lda, int mr, int kk, int MR, float *ap) {
    if (mr < MR)
        for (int p = 0; p < kk; p++)
            for (int r = mr; r < MR; r++) ap[(size_t)p * MR + r] = 0;
    for (int r = 0; r < mr; r++) {
        const float *ar = a + (size_t)r * lda;
        for (int p = 0; p < kk; p++) ap[(size_t)p * MR + r] = ar[p];
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
                        S->gemm(ap + (size_t)t * MR * k, k, b, (size_t)k * REAP_NR, np, c + (size_t)(r0 + t * MR) * n + p * REAP_NR,
                                (size_t)n, rows - t * MR < MR ? rows - t * MR : MR, nc);
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

// One (row, head) task's buffers: keys packed as panels of 16 keys (hd deep), values as panels
// of 16 dims (T deep), scores of one query tile, and the packed A operand.
typedef struct {
    float *kp, *vp, *s, *ap;
    const float *packed_k;  // the K head now in kp/vp (NULL: none)
} attn_ws;

// Packs K and V of one KV head: kh, vh (T, hd) with row stride ldk.
static void attn_pack_kv(const float *kh, const float *vh, int T, int hd, size_t ldk, attn_ws *w) {
    int nkp = (T + REAP_NR - 1) / REAP_NR, ndp = (hd + REAP_NR - 1) / REAP_NR;
    for (int p = 0; p < nkp; p++) {
        float *dst = w->kp + (size_t)p * hd * REAP_NR;
        for (int j = 0; j < REAP_NR; j++) {
            int t = p * REAP_NR + j;
            const float *src = kh + (size_t)t * ldk;
            for (int d = 0; d < hd; d++) dst[(size_t)d * REAP_NR + j] = t < T ? src[d] : 0;
        }
    }
    for (int p = 0; p < ndp; p++) {
        float *dst = w->vp + (size_t)p * T * REAP_NR;
        int nd = hd - p * REAP_NR < REAP_NR ? hd - p * REAP_NR : REAP_NR;
        for (int t = 0; t < T; t++) {
            memcpy(dst + (size_t)t * REAP_NR, vh + (size_t)t * ldk + p * REAP_NR, (size_t)nd * sizeof(float));
            for (int j = nd; j < REAP_NR; j++) dst[(size_t)t * REAP_NR + j] = 0;
        }
    }
}

// Causal attention of one query head over its packed KV head: qh (T, hd) stride ldq -> oh stride ldo.
static void attn_head(const reap_cpu_simd *S, const float *qh, int T, int hd, size_t ldq, float scale, attn_ws *w,
                      float *oh, size_t ldo) {
    int MR = S->mr, tpad = (T + 2 * REAP_NR - 1) / (2 * REAP_NR) * 2 * REAP_NR;
    int ndp = (hd + REAP_NR - 1) / REAP_NR;
    for (int i0 = 0; i0 < T; i0 += MR) {
        int mr = T - i0 < MR ? T - i0 : MR;
        int nk = i0 + mr;  // keys any query of the tile may see
        int nkp = (nk + REAP_NR - 1) / REAP_NR;
        pack_a(qh + (size_t)i0 * ldq, ldq, mr, hd, MR, w->ap);
        for (int p = 0; p < nkp; p += 2)  // scores of whole key panels (zero keys past T)
            S->gemm(w->ap, hd, w->kp + (size_t)p * hd * REAP_NR, (size_t)hd * REAP_NR, p + 1 < nkp ? 2 : 1,
                    w->s + p * REAP_NR, (size_t)tpad, mr, 2 * REAP_NR);
        for (int r = 0; r < mr; r++) S->softmax(w->s + (size_t)r * tpad, i0 + r + 1, nk, scale);
        pack_a(w->s, (size_t)tpad, mr, nk, MR, w->ap);
        for (int p = 0; p < ndp; p += 2) {
            int nc = hd - p * REAP_NR < 2 * REAP_NR ? hd - p * REAP_NR : 2 * REAP_NR;
            S->gemm(w->ap, nk, w->vp + (size_t)p * T * REAP_NR, (size_t)T * REAP_NR, p + 1 < ndp ? 2 : 1,
                    oh + (size_t)i0 * ldo + p * REAP_NR, ldo, mr, nc);
        }
    }
}

size_t reap_cpu_attention_workspace_floats(int T, int hd) {
    int tpad = (T + 2 * REAP_NR - 1) / (2 * REAP_NR) * 2 * REAP_NR;
    return reap_cpu_panels_floats(tpad, hd) + reap_cpu_panels_floats(hd, T) +
           (size_t)REAP_CPU_MAX_MR * ((size_t)tpad + (size_t)(tpad > hd ? tpad : hd));
}

void reap_cpu_attention_rows(const float *q, const float *k, const float *v, int rows, int T, int nh, int nkv, int hd,
                             int ldq, int ldk, float *out, int ldo) {
    REAP_ASSERT(nkv > 0 && nh % nkv == 0);
    const reap_cpu_simd *S = reap_cpu_simd_get();
    int group = nh / nkv, ntask = rows * nh;
    float scale = 1.0f / sqrtf((float)hd);
    int tpad = (T + 2 * REAP_NR - 1) / (2 * REAP_NR) * 2 * REAP_NR;
    size_t apf = (size_t)REAP_CPU_MAX_MR * (size_t)(tpad > hd ? tpad : hd);
#pragma omp parallel if (ntask > 1)
    {
        attn_ws w = {reap_cpu_alloc(reap_cpu_panels_floats(tpad, hd)), reap_cpu_alloc(reap_cpu_panels_floats(hd, T)),
                     reap_cpu_alloc((size_t)REAP_CPU_MAX_MR * tpad), reap_cpu_alloc(apf), NULL};
        // Tasks in (row, head) order, so consecutive heads of one KV head reuse its packing.
#pragma omp for schedule(static)
        for (int task = 0; task < ntask; task++) {
            int row = task / nh, h = task % nh, kvh = h / group;
            const float *kh = k + (size_t)row * T * ldk + (size_t)kvh * hd;
            if (w.packed_k != kh) {
                attn_pack_kv(kh, v + (size_t)row * T * ldk + (size_t)kvh * hd, T, hd, (size_t)ldk, &w);
                w.packed_k = kh;
            }
            attn_head(S, q + (size_t)row * T * ldq + (size_t)h * hd, T, hd, (size_t)ldq, scale, &w,
                      out + (size_t)row * T * ldo + (size_t)h * hd, (size_t)ldo);
        }
        free(w.kp), free(w.vp), free(w.s), free(w.ap);
    }
}

void reap_cpu_attention(const float *q, const float *k, const float *v, int T, int nh, int nkv, int hd, int ldq,
                        int ldk, float *out, int ldo) {
    reap_cpu_attention_rows(q, k, v, 1, T, nh, nkv, hd, ldq, ldk, out, ldo);
}

// cpu_ops.c: see cpu_ops.h. The GEMM is a 4 x 16 register-tile micro-kernel over packed weight
// panels written with GCC vector extensions (8 fp32 lanes), compiled twice (AVX2 and baseline) and
// picked at run time. Each lane accumulates one output element over k in order with a multiply
// and an add (no FMA contraction under -std=c11), so every path gives the same bits.
#include "cpu_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

typedef float v8 __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define REAP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define REAP_CLONES
#endif

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

// out[r][j] = sum_{p < kk} a_r[p] * b[p*ldb + j] for 4 rows and 16 columns.
REAP_CLONES
static void micro_4x16(const float *a0, const float *a1, const float *a2, const float *a3, const float *b,
                       size_t ldb, int kk, float out[4][16]) {
    v8 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
    for (int p = 0; p < kk; p++) {
        v8 b0, b1;
        memcpy(&b0, b + (size_t)p * ldb, sizeof b0);
        memcpy(&b1, b + (size_t)p * ldb + 8, sizeof b1);
        c00 += b0 * a0[p];
        c01 += b1 * a0[p];
        c10 += b0 * a1[p];
        c11 += b1 * a1[p];
        c20 += b0 * a2[p];
        c21 += b1 * a2[p];
        c30 += b0 * a3[p];
        c31 += b1 * a3[p];
    }
    memcpy(out[0], &c00, 32), memcpy(out[0] + 8, &c01, 32);
    memcpy(out[1], &c10, 32), memcpy(out[1] + 8, &c11, 32);
    memcpy(out[2], &c20, 32), memcpy(out[2] + 8, &c21, 32);
    memcpy(out[3], &c30, 32), memcpy(out[3] + 8, &c31, 32);
}

// One tile: the first mr (<= 4) rows of a (stride lda; missing rows repeat row 0 and are not
// stored) times panel b (ldb 16, kk deep), stored into columns [c0, c0 + nc) of c (stride ldc).
static void tile(const float *a, int mr, size_t lda, const float *b, int kk, float *c, size_t ldc, int c0, int nc) {
    const float *ar[4];
    for (int r = 0; r < 4; r++) ar[r] = a + (size_t)(r < mr ? r : 0) * lda;
    float out[4][16];
    micro_4x16(ar[0], ar[1], ar[2], ar[3], b, REAP_NR, kk, out);
    for (int r = 0; r < mr; r++) memcpy(c + (size_t)r * ldc + c0, out[r], (size_t)nc * sizeof(float));
}

void reap_cpu_gemm(const float *a, int m, int k, int lda, const float *panels, int n, float *c) {
    enum { MB = 64 };  // rows per block: a block of a stays in cache while panels stream past it
    int npan = (n + REAP_NR - 1) / REAP_NR, nmb = (m + MB - 1) / MB;
#pragma omp parallel for collapse(2) schedule(static)
    for (int mb = 0; mb < nmb; mb++)
        for (int p = 0; p < npan; p++) {
            const float *b = panels + (size_t)p * k * REAP_NR;
            int nc = n - p * REAP_NR < REAP_NR ? n - p * REAP_NR : REAP_NR;
            int mend = (mb + 1) * MB < m ? (mb + 1) * MB : m;
            for (int r0 = mb * MB; r0 < mend; r0 += 4)
                tile(a + (size_t)r0 * lda, mend - r0 < 4 ? mend - r0 : 4, (size_t)lda, b, k, c + (size_t)r0 * n,
                     (size_t)n, p * REAP_NR, nc);
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
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * ldx;
        float *yi = y + (size_t)i * ldy;
        double ss = 0;
        for (int d = 0; d < dim; d++) ss += (double)xi[d] * xi[d];
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

void reap_cpu_attention(const float *q, const float *k, const float *v, int T, int nh, int nkv, int hd, int ldq,
                        int ldk, float *out, int ldo) {
    REAP_ASSERT(nkv > 0 && nh % nkv == 0);
    int group = nh / nkv;
    float scale = 1.0f / sqrtf((float)hd);
    int tpad = (T + REAP_NR - 1) / REAP_NR * REAP_NR;
#pragma omp parallel
    {
        // Per thread: keys packed as panels of 16 keys (k = hd deep), values packed as panels of
        // 16 dims (k = T deep), and the scores of one tile of 4 queries.
        float *kp = reap_cpu_alloc(reap_cpu_panels_floats(T, hd));
        float *vp = reap_cpu_alloc(reap_cpu_panels_floats(hd, T));
        float *s = reap_cpu_alloc((size_t)4 * tpad);
        int packed = -1;
#pragma omp for schedule(static)
        for (int h = 0; h < nh; h++) {
            int kvh = h / group;
            if (packed != kvh) {
                const float *kh = k + (size_t)kvh * hd, *vh = v + (size_t)kvh * hd;
                for (int t = 0; t < tpad; t++)
                    for (int d = 0; d < hd; d++)
                        kp[(size_t)(t / REAP_NR) * hd * REAP_NR + (size_t)d * REAP_NR + t % REAP_NR] =
                            t < T ? kh[(size_t)t * ldk + d] : 0;
                int dpad = (hd + REAP_NR - 1) / REAP_NR * REAP_NR;
                for (int d = 0; d < dpad; d++)
                    for (int t = 0; t < T; t++)
                        vp[(size_t)(d / REAP_NR) * T * REAP_NR + (size_t)t * REAP_NR + d % REAP_NR] =
                            d < hd ? vh[(size_t)t * ldk + d] : 0;
                packed = kvh;
            }
            const float *qh = q + (size_t)h * hd;
            float *oh = out + (size_t)h * hd;
            for (int i0 = 0; i0 < T; i0 += 4) {
                int mr = T - i0 < 4 ? T - i0 : 4;
                int nk = i0 + mr;  // keys any query of the tile may see
                int nkp = (nk + REAP_NR - 1) / REAP_NR;
                for (int p = 0; p < nkp; p++)
                    tile(qh + (size_t)i0 * ldq, mr, (size_t)ldq, kp + (size_t)p * hd * REAP_NR, hd, s, (size_t)tpad,
                         p * REAP_NR, REAP_NR);
                for (int r = 0; r < mr; r++) {
                    int i = i0 + r;
                    float *si = s + (size_t)r * tpad;
                    float mx = -INFINITY;
                    for (int j = 0; j <= i; j++) {
                        si[j] *= scale;
                        if (si[j] > mx) mx = si[j];
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        si[j] = expf(si[j] - mx);
                        sum += si[j];
                    }
                    float inv = (float)(1.0 / sum);
                    for (int j = 0; j <= i; j++) si[j] *= inv;
                    for (int j = i + 1; j < nk; j++) si[j] = 0;
                }
                int ndp = (hd + REAP_NR - 1) / REAP_NR;
                for (int p = 0; p < ndp; p++) {
                    int nc = hd - p * REAP_NR < REAP_NR ? hd - p * REAP_NR : REAP_NR;
                    tile(s, mr, (size_t)tpad, vp + (size_t)p * T * REAP_NR, nk, oh + (size_t)i0 * ldo, (size_t)ldo,
                         p * REAP_NR, nc);
                }
            }
        }
        free(kp);
        free(vp);
        free(s);
    }
}

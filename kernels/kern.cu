// kern.cu: CUDA kernels of the GPU forward pass + observer (declared in kern.cuh). Each has a
// harness in kernels/dev/ that checks it against a CPU reference and times it.
#include <cuda_fp8.h>
#include <float.h>
#include <math.h>

#include "kern.cuh"

extern "C" {
#include "dtype.h"
}

typedef __nv_bfloat16 bf16;

static inline unsigned blocks_for(int64_t n, int per) { return (unsigned)((n + per - 1) / per); }

// ---------------------------------------------------------------------------------------------
// Dequantisation

__global__ void k_dequant_fp8(const uint8_t *w, const float *scale, int64_t rows, int64_t cols, int br, int bc,
                              int64_t scols, bf16 *out) {
    int64_t n4 = (rows * cols + 3) / 4;
    for (int64_t i4 = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i4 < n4; i4 += (int64_t)gridDim.x * blockDim.x) {
        int64_t base = i4 * 4;
        if (base + 4 <= rows * cols && (cols % 4) == 0) {
            uchar4 b = *(const uchar4 *)(w + base);
            int64_t r = base / cols, c = base % cols;
            float sc = scale[(r / br) * scols + c / bc];  // 4 elements never cross a block when bc % 4 == 0
            if (bc % 4 != 0) {
                // rare layouts: per element
                unsigned char bb[4] = {b.x, b.y, b.z, b.w};
                for (int j = 0; j < 4; j++) {
                    __nv_fp8_e4m3 f;
                    f.__x = bb[j];
                    out[base + j] = __float2bfloat16((float)f * scale[(r / br) * scols + (c + j) / bc]);
                }
                continue;
            }
            __nv_fp8_e4m3 f0, f1, f2, f3;
            f0.__x = b.x, f1.__x = b.y, f2.__x = b.z, f3.__x = b.w;
            __nv_bfloat162 lo = __floats2bfloat162_rn((float)f0 * sc, (float)f1 * sc);
            __nv_bfloat162 hi = __floats2bfloat162_rn((float)f2 * sc, (float)f3 * sc);
            *(__nv_bfloat162 *)(out + base) = lo;
            *(__nv_bfloat162 *)(out + base + 2) = hi;
        } else {
            for (int64_t e = base; e < base + 4 && e < rows * cols; e++) {
                int64_t r = e / cols, c = e % cols;
                __nv_fp8_e4m3 f;
                f.__x = w[e];
                out[e] = __float2bfloat16((float)f * scale[(r / br) * scols + c / bc]);
            }
        }
    }
}

__global__ void k_bf16_copy(const uint16_t *w, int64_t n, uint16_t *out) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = w[i];
}

__global__ void k_f32_to_bf16(const float *x, int64_t n, bf16 *out) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16(x[i]);
}

void reap_k_dequant_bf16(int dt, const void *w, const float *scale, int64_t rows, int64_t cols, int br, int bc,
                         bf16 *out, cudaStream_t s) {
    int64_t n = rows * cols;
    unsigned g = blocks_for(n / 4 + 1, 256);
    if (g > 132 * 16) g = 132 * 16;
    if (dt == REAP_DT_F8_E4M3) {
        int64_t scols = (cols + bc - 1) / bc;
        k_dequant_fp8<<<g, 256, 0, s>>>((const uint8_t *)w, scale, rows, cols, br, bc, scols, out);
    } else if (dt == REAP_DT_BF16) {
        k_bf16_copy<<<g, 256, 0, s>>>((const uint16_t *)w, n, (uint16_t *)out);
    } else {
        k_f32_to_bf16<<<g, 256, 0, s>>>((const float *)w, n, out);
    }
}

void reap_k_f32_to_bf16(const float *x, int64_t n, bf16 *out, cudaStream_t s) {
    unsigned g = blocks_for(n, 256);
    if (g > 132 * 16) g = 132 * 16;
    k_f32_to_bf16<<<g, 256, 0, s>>>(x, n, out);
}

// ---------------------------------------------------------------------------------------------
// Reductions

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
// Sum over a block of blockDim.x (multiple of 32, <= 1024) threads; every thread gets the result.
__device__ float block_sum(float v, float *red) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float t = lane < nw ? red[lane] : 0.f;
    return warp_sum(t);
}

// ---------------------------------------------------------------------------------------------
// RMSNorm

__global__ void k_rmsnorm(const float *x, const float *w, int H, float eps, bf16 *out_bf, float *out_f32) {
    __shared__ float red[32];
    const float *xr = x + (size_t)blockIdx.x * H;
    float ss = 0.f;
    for (int i = threadIdx.x; i < H; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum(ss, red);
    float r = 1.0f / sqrtf(ss / (float)H + eps);
    for (int i = threadIdx.x; i < H; i += blockDim.x) {
        float y = w[i] * (xr[i] * r);
        out_bf[(size_t)blockIdx.x * H + i] = __float2bfloat16(y);
        if (out_f32) out_f32[(size_t)blockIdx.x * H + i] = y;
    }
}

void reap_k_rmsnorm(const float *x, const float *w, int N, int H, float eps, bf16 *out_bf, float *out_f32,
                    cudaStream_t s) {
    if (N > 0) k_rmsnorm<<<N, 256, 0, s>>>(x, w, H, eps, out_bf, out_f32);
}

// ---------------------------------------------------------------------------------------------
// QK norm + partial NeoX RoPE

__global__ void k_qknorm_rope(const float *qkv, const float *qn, const float *kn, const float2 *cs, int T, int nh,
                              int nkv, int hd, int rot, float eps, bf16 *q, bf16 *k, bf16 *v) {
    __shared__ float red[32];
    int t = blockIdx.x, pos = t % T, half = rot / 2;
    int qw = nh * hd, kw = nkv * hd;
    const float *xq = qkv + (size_t)t * (qw + 2 * kw), *xk = xq + qw, *xv = xk + kw;
    float rq = 1.f, rk = 1.f;
    if (qn) {
        float ss = 0.f;
        for (int i = threadIdx.x; i < qw; i += blockDim.x) ss += xq[i] * xq[i];
        ss = block_sum(ss, red);
        rq = 1.0f / sqrtf(ss / (float)qw + eps);
    }
    if (kn) {
        float ss = 0.f;
        for (int i = threadIdx.x; i < kw; i += blockDim.x) ss += xk[i] * xk[i];
        ss = block_sum(ss, red);
        rk = 1.0f / sqrtf(ss / (float)kw + eps);
    }
    const float2 *c = cs + (size_t)pos * half;
    for (int i = threadIdx.x; i < qw + kw; i += blockDim.x) {
        int isq = i < qw, j = isq ? i : i - qw;
        const float *x = isq ? xq : xk;
        const float *wn = isq ? qn : kn;
        float r = isq ? rq : rk;
        int d = j % hd;
        float val = wn ? wn[j] * (x[j] * r) : x[j];
        if (d < rot) {
            int pj = d < half ? j + half : j - half;
            float pv = wn ? wn[pj] * (x[pj] * r) : x[pj];
            float2 e = c[d < half ? d : d - half];
            val = d < half ? val * e.x - pv * e.y : val * e.x + pv * e.y;
        }
        if (isq) q[(size_t)t * qw + j] = __float2bfloat16(val);
        else k[(size_t)t * kw + j] = __float2bfloat16(val);
    }
    for (int i = threadIdx.x; i < kw; i += blockDim.x) v[(size_t)t * kw + i] = __float2bfloat16(xv[i]);
}

void reap_k_qknorm_rope(const float *qkv, const float *qn, const float *kn, const float2 *rope_cs, int N, int T,
                        int nh, int nkv, int hd, int rot, float eps, bf16 *q, bf16 *k, bf16 *v, cudaStream_t s) {
    if (N > 0) k_qknorm_rope<<<N, 256, 0, s>>>(qkv, qn, kn, rope_cs, T, nh, nkv, hd, rot, eps, q, k, v);
}

// ---------------------------------------------------------------------------------------------
// Attention

// Flash attention (FlashAttention-2 style) on the tensor cores through mma.sync m16n8k16 bf16 with
// fp32 accumulation. A block of 4 warps owns 64 queries of one head of one row; each warp owns 16
// of them and keeps its Q fragments, scores, probabilities and output accumulator in registers.
// Key/value tiles of 64 tokens are copied to shared memory with cp.async, two stages deep (the next
// tile loads while the current one computes); rows of HD bf16 are stored with their 16-byte chunks
// XOR-swizzled by (row & 7) so that ldmatrix reads are free of bank conflicts. Online softmax in
// fp32 (exp2 with the scale folded in). Query blocks run heaviest (latest) first.
__device__ __forceinline__ unsigned smem_u32(const void *p) { return (unsigned)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void cp_async16(void *dst, const void *src, int valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }
__device__ __forceinline__ void ldsm_x4(unsigned r[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldsm_x4_t(unsigned r[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
// d (16x8 f32) += a (16x16 bf16, row) * b (16x8 bf16, col)
__device__ __forceinline__ void mma_bf16(float d[4], const unsigned a[4], unsigned b0, unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *(unsigned *)&v;
}

// Element (r, c) of a swizzled tile of rows of HD bf16.
template <int HD> __device__ __forceinline__ int swz(int r, int c) { return r * HD + ((((c >> 3) ^ (r & 7))) << 3) + (c & 7); }

template <int HD>
__global__ void __launch_bounds__(128) k_attn_mma(const bf16 *q, const bf16 *k, const bf16 *v, int T, int nh, int nkv,
                                                  bf16 *out) {
    constexpr int BM = 64, BN = 64, CH = HD / 8, NT = BN / 8, DT = HD / 8;
    extern __shared__ __align__(128) unsigned char smem[];
    bf16 *sQ = (bf16 *)smem;
    bf16 *sK = sQ + BM * HD;       // 2 stages
    bf16 *sV = sK + 2 * BN * HD;   // 2 stages

    const int qb = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, row = blockIdx.z;
    const int kvh = h / (nh / nkv);
    const int q0 = qb * BM;
    const size_t qs = (size_t)nh * HD, ks = (size_t)nkv * HD;
    const bf16 *qbase = q + (size_t)row * T * qs + (size_t)h * HD;
    const bf16 *kbase = k + (size_t)row * T * ks + (size_t)kvh * HD;
    const bf16 *vbase = v + (size_t)row * T * ks + (size_t)kvh * HD;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;

    for (int i = tid; i < BM * CH; i += 128) {
        int r = i / CH, c = i % CH, ok = q0 + r < T;
        cp_async16(sQ + swz<HD>(r, c * 8), qbase + (size_t)(ok ? q0 + r : 0) * qs + c * 8, ok);
    }
    auto load_kv = [&](int kt, int stage) {
        const int k0 = kt * BN;
        bf16 *dk = sK + stage * BN * HD, *dv = sV + stage * BN * HD;
        for (int i = tid; i < BN * CH; i += 128) {
            int r = i / CH, c = i % CH, ok = k0 + r < T;
            size_t src = (size_t)(ok ? k0 + r : 0) * ks + c * 8;
            cp_async16(dk + swz<HD>(r, c * 8), kbase + src, ok);
            cp_async16(dv + swz<HD>(r, c * 8), vbase + src, ok);
        }
    };
    const int n_tiles = (min(q0 + BM, T) + BN - 1) / BN;
    load_kv(0, 0);
    cp_async_commit();

    const float sl2 = rsqrtf((float)HD) * 1.4426950408889634f;
    unsigned qf[HD / 16][4];
    float o[DT][4];
#pragma unroll
    for (int i = 0; i < DT; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;  // rows lane/4 and lane/4 + 8 of the warp
    const int qi0 = q0 + warp * 16 + (lane >> 2), qi1 = qi0 + 8;

    for (int kt = 0; kt < n_tiles; kt++) {
        if (kt + 1 < n_tiles) load_kv(kt + 1, (kt + 1) & 1);
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        if (kt == 0) {
#pragma unroll
            for (int kk = 0; kk < HD / 16; kk++)
                ldsm_x4(qf[kk], sQ + swz<HD>(warp * 16 + (lane & 15), kk * 16 + (lane >> 4) * 8));
        }
        const bf16 *cK = sK + (kt & 1) * BN * HD, *cV = sV + (kt & 1) * BN * HD;
        // S = Q K^T (16 x 64 per warp)
        float s[NT][4];
#pragma unroll
        for (int i = 0; i < NT; i++) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < HD / 16; kk++) {
#pragma unroll
            for (int nn = 0; nn < NT / 2; nn++) {
                unsigned b[4];
                ldsm_x4(b, cK + swz<HD>(nn * 16 + (lane >> 4) * 8 + (lane & 7), kk * 16 + ((lane >> 3) & 1) * 8));
                mma_bf16(s[2 * nn], qf[kk], b[0], b[1]);
                mma_bf16(s[2 * nn + 1], qf[kk], b[2], b[3]);
            }
        }
        // causal mask (only the last tile can reach past a query), online softmax
        const int k0 = kt * BN;
        float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
        for (int i = 0; i < NT; i++) {
            const int kj = k0 + i * 8 + (lane & 3) * 2;
            if (kt == n_tiles - 1) {
                if (kj > qi0) s[i][0] = -INFINITY;
                if (kj + 1 > qi0) s[i][1] = -INFINITY;
                if (kj > qi1) s[i][2] = -INFINITY;
                if (kj + 1 > qi1) s[i][3] = -INFINITY;
            }
            mx0 = fmaxf(mx0, fmaxf(s[i][0], s[i][1]));
            mx1 = fmaxf(mx1, fmaxf(s[i][2], s[i][3]));
        }
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
        const float mn0 = fmaxf(m0, mx0 * sl2), mn1 = fmaxf(m1, mx1 * sl2);
        const float b0 = mn0 == -INFINITY ? 0.f : mn0, b1 = mn1 == -INFINITY ? 0.f : mn1;
        const float a0 = exp2f(m0 - b0), a1 = exp2f(m1 - b1);
        m0 = mn0, m1 = mn1;
        float rs0 = 0.f, rs1 = 0.f;
        unsigned pf[NT / 2][4];
#pragma unroll
        for (int i = 0; i < NT; i++) {
            float p0 = exp2f(s[i][0] * sl2 - b0), p1 = exp2f(s[i][1] * sl2 - b0);
            float p2 = exp2f(s[i][2] * sl2 - b1), p3 = exp2f(s[i][3] * sl2 - b1);
            rs0 += p0 + p1, rs1 += p2 + p3;
            pf[i / 2][(i & 1) * 2] = pack_bf16(p0, p1);
            pf[i / 2][(i & 1) * 2 + 1] = pack_bf16(p2, p3);
        }
        l0 = l0 * a0 + rs0, l1 = l1 * a1 + rs1;
#pragma unroll
        for (int i = 0; i < DT; i++) o[i][0] *= a0, o[i][1] *= a0, o[i][2] *= a1, o[i][3] *= a1;
        // O += P V
#pragma unroll
        for (int kk = 0; kk < BN / 16; kk++) {
#pragma unroll
            for (int dd = 0; dd < DT / 2; dd++) {
                unsigned b[4];
                ldsm_x4_t(b, cV + swz<HD>(kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7), dd * 16 + (lane >> 4) * 8));
                mma_bf16(o[2 * dd], pf[kk], b[0], b[1]);
                mma_bf16(o[2 * dd + 1], pf[kk], b[2], b[3]);
            }
        }
        __syncthreads();  // the stage this tile used is overwritten by the load two tiles on
    }
    cp_async_wait<0>();
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    const float inv0 = 1.f / l0, inv1 = 1.f / l1;
    const int c = (lane & 3) * 2;
    if (qi0 < T) {
        bf16 *o0 = out + ((size_t)row * T + qi0) * qs + (size_t)h * HD;
#pragma unroll
        for (int i = 0; i < DT; i++)
            *(__nv_bfloat162 *)(o0 + i * 8 + c) = __floats2bfloat162_rn(o[i][0] * inv0, o[i][1] * inv0);
    }
    if (qi1 < T) {
        bf16 *o1 = out + ((size_t)row * T + qi1) * qs + (size_t)h * HD;
#pragma unroll
        for (int i = 0; i < DT; i++)
            *(__nv_bfloat162 *)(o1 + i * 8 + c) = __floats2bfloat162_rn(o[i][2] * inv1, o[i][3] * inv1);
    }
}

// Scalar reference-grade kernel: one warp per (query, head), online softmax, hd <= 256.
__global__ void k_attn_scalar(const bf16 *q, const bf16 *k, const bf16 *v, int rows, int T, int nh, int nkv, int hd,
                              bf16 *out) {
    int gw = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (gw >= rows * T * nh) return;
    int h = gw % nh, t = gw / nh, pos = t % T, row0 = t - pos;
    int kvh = h / (nh / nkv);
    size_t qs = (size_t)nh * hd, ks = (size_t)nkv * hd;
    float qv[8], acc[8];
    for (int i = 0; i < 8; i++) {
        int d = lane + 32 * i;
        qv[i] = d < hd ? __bfloat162float(q[(size_t)t * qs + (size_t)h * hd + d]) : 0.f;
        acc[i] = 0.f;
    }
    float scale = rsqrtf((float)hd), m = -INFINITY, l = 0.f;
    for (int j = 0; j <= pos; j++) {
        const bf16 *kr = k + (size_t)(row0 + j) * ks + (size_t)kvh * hd;
        const bf16 *vr = v + (size_t)(row0 + j) * ks + (size_t)kvh * hd;
        float d0 = 0.f;
        for (int i = 0; i < 8; i++) {
            int d = lane + 32 * i;
            if (d < hd) d0 += qv[i] * __bfloat162float(kr[d]);
        }
        float s = warp_sum(d0) * scale;
        float mn = fmaxf(m, s), a = expf(m - mn), p = expf(s - mn);
        l = l * a + p;
        for (int i = 0; i < 8; i++) {
            int d = lane + 32 * i;
            acc[i] = acc[i] * a + (d < hd ? p * __bfloat162float(vr[d]) : 0.f);
        }
        m = mn;
    }
    for (int i = 0; i < 8; i++) {
        int d = lane + 32 * i;
        if (d < hd) out[(size_t)t * qs + (size_t)h * hd + d] = __float2bfloat16(acc[i] / l);
    }
}

template <int HD>
static void launch_attn_mma(const bf16 *q, const bf16 *k, const bf16 *v, int rows, int T, int nh, int nkv, bf16 *out,
                            cudaStream_t s) {
    const int BM = 64, BN = 64;
    const size_t smem = ((size_t)BM * HD + 4 * (size_t)BN * HD) * sizeof(bf16);
    // per device and cheap: set on every launch (a static flag would miss the second GPU)
    cudaFuncSetAttribute(k_attn_mma<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    dim3 grid((T + BM - 1) / BM, nh, rows);
    k_attn_mma<HD><<<grid, 128, smem, s>>>(q, k, v, T, nh, nkv, out);
}

void reap_k_attention(const bf16 *q, const bf16 *k, const bf16 *v, int rows, int T, int nh, int nkv, int hd, bf16 *out,
                      int force_scalar, cudaStream_t s) {
    if (rows <= 0 || T <= 0) return;
    if (!force_scalar && hd == 128) return launch_attn_mma<128>(q, k, v, rows, T, nh, nkv, out, s);
    if (!force_scalar && hd == 64) return launch_attn_mma<64>(q, k, v, rows, T, nh, nkv, out, s);
    int64_t warps = (int64_t)rows * T * nh;
    k_attn_scalar<<<blocks_for(warps * 32, 256), 256, 0, s>>>(q, k, v, rows, T, nh, nkv, hd, out);
}

// ---------------------------------------------------------------------------------------------
// Routing: one warp per token; lane j owns experts j, j+32, ... (E <= 1024).

// Top-k of key (E) over not-yet-taken experts, ties to the lower index; taken bits per lane.
__device__ void warp_topk(const float *key, int E, int k, int *out) {
    int lane = threadIdx.x & 31;
    unsigned taken = 0;
    for (int s = 0; s < k; s++) {
        float best = -INFINITY;
        int bi = 0x7fffffff;
        for (int i = 0, e = lane; e < E; i++, e += 32) {
            if (taken & (1u << i)) continue;
            float x = key[e];
            if (x > best || (x == best && e < bi) || bi == 0x7fffffff) best = x, bi = e;
        }
        for (int o = 16; o > 0; o >>= 1) {
            float ob = __shfl_xor_sync(0xffffffffu, best, o);
            int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (oi != 0x7fffffff && (bi == 0x7fffffff || ob > best || (ob == best && oi < bi))) best = ob, bi = oi;
        }
        out[s] = bi;
        if ((bi & 31) == lane) taken |= 1u << (bi >> 5);
    }
}

__global__ void k_route(const float *logits, const float *bias, const uint8_t *mask, int N, int E, int k, int mode,
                        int *slot_e, float *slot_w, double *slot_g) {
    extern __shared__ float key_all[];
    const int lane = threadIdx.x & 31, wib = threadIdx.x >> 5;
    const int t = blockIdx.x * (blockDim.x >> 5) + wib;
    if (t >= N) return;
    float *key = key_all + (size_t)wib * E;
    const float *l = logits + (size_t)t * E;
    const int S = mode == 0 ? k : 2 * k;
    const int valid = mask ? mask[t] != 0 : 1;
    int mc[32], sc[32];  // k <= 32
    // the model's routing: sigmoid + bias top-k, weights renormalised over the chosen
    for (int e = lane; e < E; e += 32) {
        float sg = 1.0f / (1.0f + expf(-l[e]));
        key[e] = sg + (bias ? bias[e] : 0.f);
    }
    __syncwarp();
    warp_topk(key, E, k, mc);
    double ssum = 0.0;
    for (int j = 0; j < k; j++) ssum += (double)(1.0f / (1.0f + expf(-l[mc[j]])));
    if (mode != 0) {
        __syncwarp();
        for (int e = lane; e < E; e += 32) key[e] = l[e];
        __syncwarp();
        warp_topk(key, E, k, sc);
    }
    // softmax denominators (softmax modes)
    double lmax = -INFINITY, zall = 0.0, zsel = 0.0;
    if (mode != 0) {
        float mx = -INFINITY;
        for (int e = lane; e < E; e += 32) mx = fmaxf(mx, l[e]);
        lmax = warp_max(mx);
        double z = 0.0;
        for (int e = lane; e < E; e += 32) z += exp((double)l[e] - lmax);
        zall = warp_sum_d(z);
        for (int j = 0; j < k; j++) zsel += exp((double)l[sc[j]] - lmax);
    }
    if (lane != 0) return;
    size_t b = (size_t)t * S;
    for (int j = 0; j < k; j++) {
        int e = mc[j];
        double sg = (double)(1.0f / (1.0f + expf(-l[e])));
        slot_e[b + j] = e;
        slot_w[b + j] = (float)(sg / ssum);
        double g = -1.0;
        if (mode == 0) {
            g = sg / ssum;
        } else {
            for (int i = 0; i < k; i++)
                if (sc[i] == e) {
                    double x = exp((double)l[e] - lmax);
                    g = mode == 1 ? x / zall : fmax(x / zsel, (double)FLT_EPSILON);
                }
        }
        slot_g[b + j] = valid ? g : -1.0;
    }
    if (mode != 0) {
        for (int i = 0; i < k; i++) {
            int e = sc[i], dup = 0;
            for (int j = 0; j < k; j++) dup |= mc[j] == e;
            double x = exp((double)l[e] - lmax);
            slot_e[b + k + i] = dup ? -1 : e;
            slot_w[b + k + i] = 0.f;
            slot_g[b + k + i] = (valid && !dup) ? (mode == 1 ? x / zall : fmax(x / zsel, (double)FLT_EPSILON)) : -1.0;
        }
    }
}

void reap_k_route(const float *logits, const float *bias, const uint8_t *mask, int N, int E, int k, int stat_mode,
                  int *slot_e, float *slot_w, double *slot_g, cudaStream_t s) {
    if (N <= 0) return;
    const int wpb = 4;
    k_route<<<blocks_for(N, wpb), 32 * wpb, (size_t)wpb * E * sizeof(float), s>>>(logits, bias, mask, N, E, k, stat_mode,
                                                                                 slot_e, slot_w, slot_g);
}

// ---------------------------------------------------------------------------------------------
// Permutation

__global__ void k_count(const int *slot_e, int n, int *cnt) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n && slot_e[i] >= 0) atomicAdd(&cnt[slot_e[i]], 1);
}
__global__ void k_scan(const int *cnt, int E, int *off, int *cursor) {
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        int a = 0;
        for (int e = 0; e < E; e++) off[e] = a, a += cnt[e], cursor[e] = 0;
        off[E] = a;
    }
}
__global__ void k_scatter(const int *slot_e, int n, const int *off, int *cursor, int *pair_tok, int *pair_slot,
                          int *slot_pos, int S) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int e = slot_e[i];
    if (e < 0) {
        slot_pos[i] = -1;
        return;
    }
    int p = off[e] + atomicAdd(&cursor[e], 1);
    pair_tok[p] = i / S;
    pair_slot[p] = i;
    slot_pos[i] = p;
}

// off as k_scan but each expert padded to reap_k_pad_rows rows, unless that exceeds cap rows
__global__ void k_scan_padded(const int *cnt, int E, int cap, int *off, int *cursor) {
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        long long a = 0;
        for (int e = 0; e < E; e++) a += reap_k_pad_rows(cnt[e]);
        int pad = a <= cap;
        int b = 0;
        for (int e = 0; e < E; e++) off[e] = b, b += pad ? reap_k_pad_rows(cnt[e]) : cnt[e], cursor[e] = 0;
        off[E] = b, off[E + 1] = pad;
    }
}

void reap_k_permute_padded(const int *slot_e, int N, int S, int E, int cap, int *cnt, int *off, int *cursor,
                           int *pair_tok, int *pair_slot, int *slot_pos, cudaStream_t s) {
    int n = N * S;
    cudaMemsetAsync(cnt, 0, sizeof(int) * E, s);
    cudaMemsetAsync(pair_tok, 0xFF, sizeof(int) * (size_t)cap, s);  // -1: padding
    cudaMemsetAsync(pair_slot, 0xFF, sizeof(int) * (size_t)cap, s);
    if (n > 0) k_count<<<blocks_for(n, 256), 256, 0, s>>>(slot_e, n, cnt);
    k_scan_padded<<<1, 32, 0, s>>>(cnt, E, cap, off, cursor);
    if (n > 0) k_scatter<<<blocks_for(n, 256), 256, 0, s>>>(slot_e, n, off, cursor, pair_tok, pair_slot, slot_pos, S);
}

void reap_k_permute(const int *slot_e, int N, int S, int E, int *cnt, int *off, int *cursor, int *pair_tok,
                    int *pair_slot, int *slot_pos, cudaStream_t s) {
    int n = N * S;
    cudaMemsetAsync(cnt, 0, sizeof(int) * E, s);
    if (n > 0) k_count<<<blocks_for(n, 256), 256, 0, s>>>(slot_e, n, cnt);
    k_scan<<<1, 32, 0, s>>>(cnt, E, off, cursor);
    if (n > 0) k_scatter<<<blocks_for(n, 256), 256, 0, s>>>(slot_e, n, off, cursor, pair_tok, pair_slot, slot_pos, S);
}

__global__ void k_gather(const bf16 *x, const int *pair_tok, int64_t nv, int hv, bf16 *xe) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < nv; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t p = i / hv, c = i % hv;
        int t = pair_tok[p];
        ((uint4 *)xe)[i] = t >= 0 ? ((const uint4 *)x)[(int64_t)t * hv + c] : make_uint4(0, 0, 0, 0);
    }
}
__global__ void k_gather_scalar(const bf16 *x, const int *pair_tok, int64_t n, int H, bf16 *xe) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int t = pair_tok[i / H];
        xe[i] = t >= 0 ? x[(int64_t)t * H + i % H] : __float2bfloat16(0.f);
    }
}

void reap_k_gather(const bf16 *x, const int *pair_tok, int P, int H, bf16 *xe, cudaStream_t s) {
    if (P <= 0) return;
    if (H % 8 == 0) {
        int64_t nv = (int64_t)P * (H / 8);
        unsigned g = blocks_for(nv, 256);
        if (g > 132 * 32) g = 132 * 32;
        k_gather<<<g, 256, 0, s>>>(x, pair_tok, nv, H / 8, xe);
    } else {
        int64_t n = (int64_t)P * H;
        unsigned g = blocks_for(n, 256);
        if (g > 132 * 32) g = 132 * 32;
        k_gather_scalar<<<g, 256, 0, s>>>(x, pair_tok, n, H, xe);
    }
}

__global__ void k_silu_mul(const float *G, int64_t n, int I, bf16 *act) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t p = i / I, c = i % I;
        float a = G[p * 2 * I + c], b = G[p * 2 * I + I + c];
        act[i] = __float2bfloat16(a / (1.0f + expf(-a)) * b);
    }
}

void reap_k_silu_mul(const float *G, int P, int I, bf16 *act, cudaStream_t s) {
    if (P <= 0) return;
    int64_t n = (int64_t)P * I;
    unsigned g = blocks_for(n, 256);
    if (g > 132 * 32) g = 132 * 32;
    k_silu_mul<<<g, 256, 0, s>>>(G, n, I, act);
}

// ---------------------------------------------------------------------------------------------
// Statistics and combine

__device__ void atomic_max_double(double *a, double v) {
    unsigned long long *p = (unsigned long long *)a, old = *p, assumed;
    while (v > __longlong_as_double((long long)old)) {
        assumed = old;
        old = atomicCAS(p, assumed, (unsigned long long)__double_as_longlong(v));
        if (old == assumed) break;
    }
}

__global__ void k_expert_stats(const float *Y, const int *pair_slot, const int *slot_e, const double *slot_g, int P,
                               int H, unsigned long long *cnt, double *gate, double *norm, double *reap,
                               double *max_act) {
    int p = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (p >= P) return;
    int slot = pair_slot[p];
    if (slot < 0) return;  // padding row
    double g = slot_g[slot];
    if (g < 0) return;
    const float *y = Y + (size_t)p * H;
    float ss = 0.f, mx = -INFINITY;
    for (int i = lane; i < H; i += 32) {
        float x = y[i];
        ss += x * x;
        mx = fmaxf(mx, x);
    }
    ss = warp_sum(ss);
    mx = warp_max(mx);
    if (lane == 0) {
        int e = slot_e[slot];
        double nrm = sqrt((double)ss);
        atomicAdd(&cnt[e], 1ull);
        atomicAdd(&gate[e], g);
        atomicAdd(&norm[e], nrm);
        atomicAdd(&reap[e], g * nrm);
        atomic_max_double(&max_act[e], (double)mx);
    }
}

void reap_k_expert_stats(const float *Y, const int *pair_slot, const int *slot_e, const double *slot_g, int P, int H,
                         unsigned long long *cnt, double *gate, double *norm, double *reap, double *max_act,
                         cudaStream_t s) {
    if (P <= 0) return;
    k_expert_stats<<<blocks_for((int64_t)P * 32, 256), 256, 0, s>>>(Y, pair_slot, slot_e, slot_g, P, H, cnt, gate, norm,
                                                                    reap, max_act);
}

__global__ void k_combine(const float *Y, const int *slot_pos, const float *slot_w, int S, int H, float *h) {
    int t = blockIdx.x;
    const int *sp = slot_pos + (size_t)t * S;
    const float *sw = slot_w + (size_t)t * S;
    for (int c = threadIdx.x; c < H; c += blockDim.x) {
        float acc = 0.f;
        for (int j = 0; j < S; j++) {
            int p = sp[j];
            if (p >= 0 && sw[j] != 0.f) acc += sw[j] * Y[(size_t)p * H + c];
        }
        h[(size_t)t * H + c] += acc;
    }
}

void reap_k_combine(const float *Y, const int *slot_pos, const float *slot_w, int N, int S, int H, float *h,
                    cudaStream_t s) {
    if (N > 0) k_combine<<<N, 256, 0, s>>>(Y, slot_pos, slot_w, S, H, h);
}

__global__ void k_count_tokens(const uint8_t *mask, int N, unsigned long long *tokens) {
    __shared__ unsigned int c;
    if (threadIdx.x == 0) c = 0;
    __syncthreads();
    unsigned local = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < N; i += gridDim.x * blockDim.x) local += mask[i] != 0;
    atomicAdd(&c, local);
    __syncthreads();
    if (threadIdx.x == 0) atomicAdd(tokens, (unsigned long long)c);
}

__global__ void k_add_u64(unsigned long long *x, unsigned long long v) { *x += v; }

void reap_k_count_tokens(const uint8_t *mask, int N, unsigned long long *tokens, cudaStream_t s) {
    if (N <= 0) return;
    if (!mask) {
        k_add_u64<<<1, 1, 0, s>>>(tokens, (unsigned long long)N);
        return;
    }
    unsigned g = blocks_for(N, 256);
    if (g > 264) g = 264;
    k_count_tokens<<<g, 256, 0, s>>>(mask, N, tokens);
}

__global__ void k_fill(double *x, int n, double v) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = v;
}

void reap_k_fill_neg_inf(double *x, int n, cudaStream_t s) {
    if (n > 0) k_fill<<<blocks_for(n, 256), 256, 0, s>>>(x, n, -INFINITY);
}

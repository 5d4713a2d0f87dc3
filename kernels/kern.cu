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

// One warp per token (grid-stride): tokens whose id is in [v0, v0 + n) copy their table row.
__global__ void k_embed_block(const float *table, int v0, int n, const int32_t *ids, int64_t N, int H, float *h) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = (int64_t)gridDim.x * (blockDim.x / 32);
    for (int64_t t = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32; t < N; t += warps) {
        const int r = ids[t] - v0;
        if (r < 0 || r >= n) continue;
        const float *src = table + (size_t)r * H;
        float *dst = h + (size_t)t * H;
        for (int i = lane; i < H; i += 32) dst[i] = src[i];
    }
}

void reap_k_embed_block(const float *table, int v0, int n, const int32_t *ids, int64_t N, int H, float *h,
                        cudaStream_t s) {
    if (N <= 0 || n <= 0) return;
    unsigned g = blocks_for(N, 8);
    if (g > 132 * 32) g = 132 * 32;
    k_embed_block<<<g, 256, 0, s>>>(table, v0, n, ids, N, H, h);
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

// The nearest tf32 value of a (3xTF32 router, below).
__device__ __forceinline__ float tf32_head(float a) {
    uint32_t u = __float_as_uint(a);
    if ((u & 0x7f800000u) == 0x7f800000u) return a;  // inf / nan as they are
    return __uint_as_float((u + 0x1000u) & 0xffffe000u);  // round to nearest on the 10-bit mantissa
}

// The same with float4 loads, the row held in registers (read once): H % 4 == 0, H <= 4096,
// 16-byte aligned x, w and out_f32 (k_rmsnorm_ok). SPLIT: out_f32 is the [hi | lo] row of
// k_rmsnorm_split (2H per token). Measured on an H200: see bench/RESULTS.md, sixth pass.
template <int SPLIT>
__global__ void __launch_bounds__(256) k_rmsnorm4(const float4 *x, const float4 *w, int H4, float eps, bf16 *out_bf,
                                                  float4 *out_f32) {
    __shared__ float red[32];
    const float4 *xr = x + (size_t)blockIdx.x * H4;
    float4 v[4];
    float ss = 0.f;
#pragma unroll
    for (int j = 0; j < 4; j++) {
        int i = threadIdx.x + j * 256;
        v[j] = i < H4 ? xr[i] : make_float4(0.f, 0.f, 0.f, 0.f);
        ss += v[j].x * v[j].x + v[j].y * v[j].y + v[j].z * v[j].z + v[j].w * v[j].w;
    }
    ss = block_sum(ss, red);
    float r = 1.0f / sqrtf(ss / (float)(4 * H4) + eps);
#pragma unroll
    for (int j = 0; j < 4; j++) {
        int i = threadIdx.x + j * 256;
        if (i >= H4) break;
        float4 g = w[i], y = make_float4(g.x * (v[j].x * r), g.y * (v[j].y * r), g.z * (v[j].z * r), g.w * (v[j].w * r));
        __nv_bfloat162 lo = __floats2bfloat162_rn(y.x, y.y), hi = __floats2bfloat162_rn(y.z, y.w);
        uint2 pk = make_uint2(*(uint32_t *)&lo, *(uint32_t *)&hi);
        *(uint2 *)(out_bf + ((size_t)blockIdx.x * H4 + i) * 4) = pk;
        if (SPLIT) {
            float4 h4 = make_float4(tf32_head(y.x), tf32_head(y.y), tf32_head(y.z), tf32_head(y.w));
            float4 *o = out_f32 + (size_t)blockIdx.x * 2 * H4;
            o[i] = h4, o[H4 + i] = make_float4(y.x - h4.x, y.y - h4.y, y.z - h4.z, y.w - h4.w);
        } else if (out_f32) {
            out_f32[(size_t)blockIdx.x * H4 + i] = y;
        }
    }
}
static int k_rmsnorm_ok(const void *x, const void *w, const void *out_f32, int H) {
    return H % 4 == 0 && H <= 4096 && ((uintptr_t)x | (uintptr_t)w | (uintptr_t)out_f32) % 16 == 0;
}

void reap_k_rmsnorm(const float *x, const float *w, int N, int H, float eps, bf16 *out_bf, float *out_f32,
                    cudaStream_t s) {
    if (N <= 0) return;
    if (k_rmsnorm_ok(x, w, out_f32, H))
        k_rmsnorm4<0><<<N, 256, 0, s>>>((const float4 *)x, (const float4 *)w, H / 4, eps, out_bf, (float4 *)out_f32);
    else
        k_rmsnorm<<<N, 256, 0, s>>>(x, w, H, eps, out_bf, out_f32);
}
// The plain kernel (any H or alignment): the reference of kernels/dev.
void reap_k_rmsnorm_simple(const float *x, const float *w, int N, int H, float eps, bf16 *out_bf, float *out_f32,
                           cudaStream_t s) {
    if (N > 0) k_rmsnorm<<<N, 256, 0, s>>>(x, w, H, eps, out_bf, out_f32);
}

// ---------------------------------------------------------------------------------------------
// Router GEMM from fp32 operands on the TF32 tensor cores ("3xTF32", opt-in; accuracy in kern.cuh): every fp32 operand a is split
// into a tf32 head hi = rn_tf32(a) and the remainder lo = a - hi (exact in fp32), and
// a.b = hi_a.hi_b + hi_a.lo_b + lo_a.hi_b, dropping lo_a.lo_b (~2^-22 relative). Two GEMMs:
// [hi_w | hi_w] . [hi_x ; lo_x] over k = 2H, then + lo_w . hi_x.

// RMSNorm as k_rmsnorm, writing bf16 and the split f32 row [hi (H) | lo (H)].
__global__ void k_rmsnorm_split(const float *x, const float *w, int H, float eps, bf16 *out_bf, float *out_hl) {
    __shared__ float red[32];
    const float *xr = x + (size_t)blockIdx.x * H;
    float ss = 0.f;
    for (int i = threadIdx.x; i < H; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum(ss, red);
    float r = 1.0f / sqrtf(ss / (float)H + eps);
    float *o = out_hl + (size_t)blockIdx.x * 2 * H;
    for (int i = threadIdx.x; i < H; i += blockDim.x) {
        float y = w[i] * (xr[i] * r), hi = tf32_head(y);
        out_bf[(size_t)blockIdx.x * H + i] = __float2bfloat16(y);
        o[i] = hi, o[H + i] = y - hi;
    }
}

void reap_k_rmsnorm_split(const float *x, const float *w, int N, int H, float eps, bf16 *out_bf, float *out_hl,
                          cudaStream_t s) {
    if (N <= 0) return;
    if (k_rmsnorm_ok(x, w, out_hl, H))
        k_rmsnorm4<1><<<N, 256, 0, s>>>((const float4 *)x, (const float4 *)w, H / 4, eps, out_bf, (float4 *)out_hl);
    else
        k_rmsnorm_split<<<N, 256, 0, s>>>(x, w, H, eps, out_bf, out_hl);
}

__global__ void k_tf32_split_w(const float *w, int64_t n, int cols, float *cat, float *lo) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / cols, c = i % cols;
        float a = w[i], hi = tf32_head(a);
        cat[r * 2 * cols + c] = hi, cat[r * 2 * cols + cols + c] = hi;
        lo[i] = a - hi;
    }
}

void reap_k_router_split_w(const float *w, int E, int H, float *wcat, float *wlo, cudaStream_t s) {
    int64_t n = (int64_t)E * H;
    if (n > 0) k_tf32_split_w<<<(unsigned)((n + 255) / 256 < 4096 ? (n + 255) / 256 : 4096), 256, 0, s>>>(w, n, H, wcat, wlo);
}

cublasStatus_t reap_k_router_3xtf32(cublasHandle_t h, const float *wcat, const float *wlo, const float *x_hl, int N,
                                    int E, int H, float *logits) {
    const float one = 1.f, zero = 0.f;
    cublasStatus_t st = cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, E, N, 2 * H, &one, wcat, CUDA_R_32F, 2 * H, x_hl,
                                     CUDA_R_32F, 2 * H, &zero, logits, CUDA_R_32F, E, CUBLAS_COMPUTE_32F_FAST_TF32,
                                     CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    return cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, E, N, H, &one, wlo, CUDA_R_32F, H, x_hl, CUDA_R_32F, 2 * H, &one,
                        logits, CUDA_R_32F, E, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT);
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

// The plain kernel above: any shape (reference for kernels/dev and the fallback of the one below).
void reap_k_qknorm_rope_simple(const float *qkv, const float *qn, const float *kn, const float2 *rope_cs, int N, int T,
                               int nh, int nkv, int hd, int rot, float eps, bf16 *q, bf16 *k, bf16 *v, cudaStream_t s) {
    if (N > 0) k_qknorm_rope<<<N, 256, 0, s>>>(qkv, qn, kn, rope_cs, T, nh, nkv, hd, rot, eps, q, k, v);
}

// One block per token holding the whole row in registers: QK_NPT float4 per thread, float4 f of
// the row in thread f % blockDim.x, so lane l of a warp holds floats 4l..4l+3 of an aligned run
// of 128 (q and k widths are multiples of 128 and hd divides 128: a warp never straddles q|k|v or
// a head). One pass over memory: 16-byte loads, sums of squares of q and k in one block reduction,
// the RoPE partner (dim d +- rot/2, same head) taken from lane l +- rot/8 by shuffle, 8-byte bf16
// stores. ~3x the plain kernel, which reads q twice and divides per element.
#define QK_NPT 8
__global__ void __launch_bounds__(1024) k_qknorm_rope_x4(const float4 *qkv, const float4 *qn, const float4 *kn,
                                                         const float4 *cs4, int T, int qw4, int kw4, int hd, int rot,
                                                         float eps, uint2 *q, uint2 *k, uint2 *v) {
    __shared__ float2 red[32];
    const int t = blockIdx.x, pos = t % T, half = rot / 2, nt = blockDim.x, lane = threadIdx.x & 31;
    const int W4 = qw4 + 2 * kw4;
    const float4 *x = qkv + (size_t)t * W4;
    float4 xv[QK_NPT];
    float sq = 0.f, sk = 0.f;
#pragma unroll
    for (int m = 0; m < QK_NPT; m++) {
        int f = threadIdx.x + m * nt;
        if (f < W4) xv[m] = __ldcs(x + f);
    }
#pragma unroll
    for (int m = 0; m < QK_NPT; m++) {
        int f = threadIdx.x + m * nt;
        if (f >= qw4 + kw4) continue;
        float4 a = xv[m];
        float ss = a.x * a.x + a.y * a.y + a.z * a.z + a.w * a.w;
        if (f < qw4) sq += ss;
        else sk += ss;
    }
    sq = warp_sum(sq), sk = warp_sum(sk);
    if (lane == 0) red[threadIdx.x >> 5] = make_float2(sq, sk);
    __syncthreads();
    float2 tot = lane < (nt >> 5) ? red[lane] : make_float2(0.f, 0.f);
    tot.x = warp_sum(tot.x), tot.y = warp_sum(tot.y);
    const float rq = qn ? 1.0f / sqrtf(tot.x / (float)(4 * qw4) + eps) : 1.f;
    const float rk = kn ? 1.0f / sqrtf(tot.y / (float)(4 * kw4) + eps) : 1.f;
    // this lane's dims d0..d0+3 of its head, and its RoPE partner and (cos, sin) pairs
    const int d0 = (lane * 4) & (hd - 1), in_rot = d0 < rot, lo = d0 < half;
    const int src = !in_rot ? lane : lo ? lane + half / 4 : lane - half / 4;
    float4 c01 = make_float4(1.f, 0.f, 1.f, 0.f), c23 = c01;
    if (in_rot) {
        const float4 *c = cs4 + ((size_t)pos * half + (lo ? d0 : d0 - half)) / 2;
        c01 = c[0], c23 = c[1];
    }
    const float sgn = lo ? -1.f : 1.f;
#pragma unroll
    for (int m = 0; m < QK_NPT; m++) {
        int f = threadIdx.x + m * nt;
        if (f >= W4) continue;  // the same for the whole warp
        float4 y = xv[m];
        uint2 o;
        if (f >= qw4 + kw4) {
            __nv_bfloat162 a = __floats2bfloat162_rn(y.x, y.y), b = __floats2bfloat162_rn(y.z, y.w);
            o.x = *(unsigned *)&a, o.y = *(unsigned *)&b;
            v[(size_t)t * kw4 + f - qw4 - kw4] = o;
            continue;
        }
        const int isq = f < qw4, j4 = isq ? f : f - qw4;
        const float4 *wn = isq ? qn : kn;
        if (wn) {
            float r = isq ? rq : rk;
            float4 w = wn[j4];
            y.x = w.x * (y.x * r), y.y = w.y * (y.y * r), y.z = w.z * (y.z * r), y.w = w.w * (y.w * r);
        }
        float4 p;
        p.x = __shfl_sync(0xffffffffu, y.x, src), p.y = __shfl_sync(0xffffffffu, y.y, src);
        p.z = __shfl_sync(0xffffffffu, y.z, src), p.w = __shfl_sync(0xffffffffu, y.w, src);
        if (in_rot) {
            y.x = y.x * c01.x + sgn * (p.x * c01.y), y.y = y.y * c01.z + sgn * (p.y * c01.w);
            y.z = y.z * c23.x + sgn * (p.z * c23.y), y.w = y.w * c23.z + sgn * (p.w * c23.w);
        }
        __nv_bfloat162 a = __floats2bfloat162_rn(y.x, y.y), b = __floats2bfloat162_rn(y.z, y.w);
        o.x = *(unsigned *)&a, o.y = *(unsigned *)&b;
        if (isq) q[(size_t)t * qw4 + j4] = o;
        else k[(size_t)t * kw4 + j4] = o;
    }
}

static int kern_aligned(const void *p, uintptr_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

void reap_k_qknorm_rope(const float *qkv, const float *qn, const float *kn, const float2 *rope_cs, int N, int T,
                        int nh, int nkv, int hd, int rot, float eps, bf16 *q, bf16 *k, bf16 *v, cudaStream_t s) {
    if (N <= 0) return;
    const int qw = nh * hd, kw = nkv * hd, W4 = (qw + 2 * kw) / 4;
    const int nt = ((W4 + QK_NPT - 1) / QK_NPT + 31) / 32 * 32;  // whole warps, <= QK_NPT float4 each
    const int fast = hd > 0 && hd % 4 == 0 && 128 % hd == 0 && rot >= 0 && rot <= hd && rot % 8 == 0 &&
                     qw % 128 == 0 && kw % 128 == 0 && nt <= 1024 && kern_aligned(qkv, 16) &&
                     (!qn || kern_aligned(qn, 16)) && (!kn || kern_aligned(kn, 16)) && kern_aligned(rope_cs, 16) &&
                     kern_aligned(q, 8) && kern_aligned(k, 8) && kern_aligned(v, 8);
    if (!fast) {
        reap_k_qknorm_rope_simple(qkv, qn, kn, rope_cs, N, T, nh, nkv, hd, rot, eps, q, k, v, s);
        return;
    }
    k_qknorm_rope_x4<<<N, nt, 0, s>>>((const float4 *)qkv, (const float4 *)qn, (const float4 *)kn,
                                      (const float4 *)rope_cs, T, qw / 4, kw / 4, hd, rot, eps, (uint2 *)q, (uint2 *)k,
                                      (uint2 *)v);
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

// The same rows by token: each token's row is read once and written to its pairs (slot_pos), then
// the padding rows (pair_tok < 0) are zeroed, one warp per row. Against k_gather this reads the
// row once instead of once per pair (M2: 6 KB + 48 KB written per token instead of 48 + 48 KB).
__global__ void k_scatter_rows(const uint4 *x, const int *slot_pos, int S, int hv, uint4 *xe) {
    __shared__ int sp[64];
    const int64_t t = blockIdx.x;
    if (threadIdx.x < S) sp[threadIdx.x] = slot_pos[t * S + threadIdx.x];
    __syncthreads();
    for (int c = threadIdx.x; c < hv; c += blockDim.x) {
        uint4 v = x[t * hv + c];
        for (int j = 0; j < S; j++)
            if (sp[j] >= 0) xe[(int64_t)sp[j] * hv + c] = v;
    }
}
__global__ void k_zero_padding_rows(const int *pair_tok, int P, int hv, uint4 *xe) {
    int64_t p = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (p >= P || pair_tok[p] >= 0) return;
    for (int c = lane; c < hv; c += 32) xe[p * hv + c] = make_uint4(0, 0, 0, 0);
}

void reap_k_scatter_rows(const bf16 *x, const int *slot_pos, int N, int S, const int *pair_tok, int P, int H, bf16 *xe,
                         cudaStream_t s) {
    if (P <= 0) return;
    if (H % 8 != 0 || S > 64 || !kern_aligned(x, 16) || !kern_aligned(xe, 16)) {
        reap_k_gather(x, pair_tok, P, H, xe, s);
        return;
    }
    if (N > 0) k_scatter_rows<<<N, 128, 0, s>>>((const uint4 *)x, slot_pos, S, H / 8, (uint4 *)xe);
    k_zero_padding_rows<<<blocks_for((int64_t)P * 32, 256), 256, 0, s>>>(pair_tok, P, H / 8, (uint4 *)xe);
}

// silu(a) * b in fp32, as the CPU reference computes it.
__device__ __forceinline__ float silu_mul1(float a, float b) { return a / (1.0f + expf(-a)) * b; }

__global__ void k_silu_mul(const float *G, int64_t n, int I, bf16 *act) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t p = i / I, c = i % I;
        float a = G[p * 2 * I + c], b = G[p * 2 * I + I + c];
        act[i] = __float2bfloat16(silu_mul1(a, b));
    }
}

// 4 columns per thread (16-byte loads, 8-byte stores) when I % 4 == 0: twice the bandwidth of the
// scalar kernel above, whose 64-bit division per element held it to ~2.2 TB/s on an H200.
__global__ void k_silu_mul_x4(const float *G, int64_t n4, int I4, bf16 *act) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n4; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t p = i / I4, c = i % I4;
        float4 a = ((const float4 *)(G + p * 8 * I4))[c], b = ((const float4 *)(G + p * 8 * I4 + 4 * I4))[c];
        __nv_bfloat162 lo = __floats2bfloat162_rn(silu_mul1(a.x, b.x), silu_mul1(a.y, b.y));
        __nv_bfloat162 hi = __floats2bfloat162_rn(silu_mul1(a.z, b.z), silu_mul1(a.w, b.w));
        uint2 o;
        o.x = *(unsigned *)&lo, o.y = *(unsigned *)&hi;
        ((uint2 *)act)[i] = o;
    }
}

// Blocks of 256 threads for a grid-stride loop over n items, at most cap.
static unsigned grid_capped(int64_t n, unsigned cap) {
    unsigned g = blocks_for(n, 256);
    return g > cap ? cap : g;
}

void reap_k_silu_mul(const float *G, int P, int I, bf16 *act, cudaStream_t s) {
    if (P <= 0) return;
    int64_t n = (int64_t)P * I;
    if (I % 4 == 0)
        k_silu_mul_x4<<<grid_capped(n / 4, 132 * 16), 256, 0, s>>>(G, n / 4, I / 4, act);
    else
        k_silu_mul<<<grid_capped(n, 132 * 32), 256, 0, s>>>(G, n, I, act);
}

// ---------------------------------------------------------------------------------------------
// FP8 activations and weight scales (kern.cuh: the layouts)

// The expert whose rows of the padded layout hold row p: the last e with off[e] <= p.
__device__ __forceinline__ int fp8_expert_of_row(const int *off, int E, int p) {
    int lo = 0, hi = E - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (off[mid] <= p) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}
// A warp's 128-group, 4 values a lane: the group's scale (amax / 448, 1 when all zero: as
// reap_quant_e4m3_block) and the lane's 4 codes packed little-endian.
__device__ __forceinline__ uint32_t fp8_quant4(const float v[4], float *scale) {
    float a = fmaxf(fmaxf(fabsf(v[0]), fabsf(v[1])), fmaxf(fabsf(v[2]), fabsf(v[3])));
    for (int o = 16; o > 0; o >>= 1) a = fmaxf(a, __shfl_xor_sync(0xffffffffu, a, o));
    const float sc = a > 0.f ? a / 448.f : 1.f;
    uint32_t packed = 0;
    for (int j = 0; j < 4; j++)
        packed |= (uint32_t)__nv_cvt_float_to_fp8(__fdiv_rn(v[j], sc), __NV_SATFINITE, __NV_E4M3) << (8 * j);
    *scale = sc;
    return packed;
}

// One block per token; warp w quantises the token's 128-groups w, w + nw, ... once and writes the
// codes to every pair of the token, and lane j the scale of slot j into qr, row-major (the pair
// row's KB scales together). The scales go to cuBLASLt's per-expert layout in a second pass, a
// tile at a time: stored there directly (4 bytes at a time into a 50 MB array from blocks of
// unrelated tokens) the gather took 1.59 ms a 64k-token chunk against 1.00 ms this way
// (kernels/dev/dev_fp8). Groups go FP8_BATCH at a time, all loads first.
#define FP8_BATCH 4
__global__ void __launch_bounds__(256) k_scatter_rows_fp8(const bf16 *__restrict__ x, const int *__restrict__ slot_pos,
                                                          int S, int H, uint8_t *__restrict__ q, float *__restrict__ qr) {
    __shared__ int sp[64];
    const int64_t t = blockIdx.x;
    const int KB = H / 128, lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    const bf16 *xt = x + t * H + lane * 4;
    if (threadIdx.x < S) sp[threadIdx.x] = slot_pos[t * S + threadIdx.x];
    __syncthreads();
    for (int g0 = warp; g0 < KB; g0 += FP8_BATCH * nw) {
        uint2 raw[FP8_BATCH];
#pragma unroll
        for (int j = 0; j < FP8_BATCH; j++)
            if (g0 + j * nw < KB) raw[j] = *(const uint2 *)(xt + (g0 + j * nw) * 128);
#pragma unroll
        for (int j = 0; j < FP8_BATCH; j++) {
            const int g = g0 + j * nw;
            if (g >= KB) break;
            __nv_bfloat162 p0 = *(__nv_bfloat162 *)&raw[j].x, p1 = *(__nv_bfloat162 *)&raw[j].y;
            float v[4] = {__low2float(p0), __high2float(p0), __low2float(p1), __high2float(p1)}, sc;
            uint32_t packed = fp8_quant4(v, &sc);
            for (int i = 0; i < S; i++)
                if (sp[i] >= 0) *(uint32_t *)(q + (int64_t)sp[i] * H + g * 128 + lane * 4) = packed;
            for (int i = lane; i < S; i += 32)
                if (sp[i] >= 0) qr[(int64_t)sp[i] * KB + g] = sc;
        }
    }
}
// One warp per padding row: zero codes.
__global__ void k_fp8_padding_rows(const int *pair_tok, int P, int H, uint8_t *q) {
    const int64_t p = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (p >= P || pair_tok[p] >= 0) return;
    for (int c = lane; c < H / 16; c += 32) ((uint4 *)(q + p * H))[c] = make_uint4(0, 0, 0, 0);
}
// One block per 64-row tile (the padded layout's experts own whole tiles): the tile's row-major
// scales qr into qs, padding rows 1.
__global__ void k_fp8_scales_to_layout(const float *qr, const int *off, const int *pair_tok, int E, int P, int KB,
                                       float *qs) {
    const int p0 = blockIdx.x * 64, e = fp8_expert_of_row(off, E, p0), n = off[e + 1] - off[e];
    float *dst = qs + (int64_t)off[e] * KB + (p0 - off[e]);
    for (int i = threadIdx.x; i < 64 * KB; i += blockDim.x) {
        const int r = i % 64, kb = i / 64, p = p0 + r;
        if (p < P) dst[(int64_t)kb * n + r] = pair_tok[p] >= 0 ? qr[(int64_t)p * KB + kb] : 1.f;
    }
}
void reap_k_scatter_rows_fp8(const bf16 *x, const int *slot_pos, const int *off, int N, int S, const int *pair_tok,
                             int P, int E, int H, uint8_t *q, float *qs, float *qr, cudaStream_t s) {
    if (P <= 0) return;
    if (N > 0) k_scatter_rows_fp8<<<N, 256, 0, s>>>(x, slot_pos, S, H, q, qr);
    k_fp8_padding_rows<<<blocks_for((int64_t)P * 32, 256), 256, 0, s>>>(pair_tok, P, H, q);
    k_fp8_scales_to_layout<<<(P + 63) / 64, 256, 0, s>>>(qr, off, pair_tok, E, P, H / 128, qs);
}

// One warp per row of act: the row's expert is looked up once while its first groups load; the
// groups go FP8_BATCH at a time, all loads first (one warp per (row, group), with a lookup each,
// ran at ~40% of the memory rate).
__global__ void __launch_bounds__(256) k_silu_mul_fp8(const bf16 *__restrict__ G, int P, int I,
                                                      const int *__restrict__ off, int E, uint8_t *__restrict__ q,
                                                      float *__restrict__ qs) {
    const int64_t p = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
    const int KB = I / 128, lane = threadIdx.x & 31;
    if (p >= P) return;  // whole warps leave together
    const bf16 *ga = G + p * 2 * I + lane * 4, *gb = ga + I;
    int64_t sbase = 0;
    int n = 0;
    for (int g0 = 0; g0 < KB; g0 += FP8_BATCH) {
        uint2 ra[FP8_BATCH], rb[FP8_BATCH];
#pragma unroll
        for (int j = 0; j < FP8_BATCH; j++)
            if (g0 + j < KB) ra[j] = *(const uint2 *)(ga + (g0 + j) * 128), rb[j] = *(const uint2 *)(gb + (g0 + j) * 128);
        if (g0 == 0) {
            const int e = fp8_expert_of_row(off, E, (int)p);
            n = off[e + 1] - off[e], sbase = (int64_t)off[e] * KB + (p - off[e]);
        }
#pragma unroll
        for (int j = 0; j < FP8_BATCH; j++) {
            if (g0 + j >= KB) break;
            const __nv_bfloat162 a0 = *(const __nv_bfloat162 *)&ra[j].x, a1 = *(const __nv_bfloat162 *)&ra[j].y;
            const __nv_bfloat162 b0 = *(const __nv_bfloat162 *)&rb[j].x, b1 = *(const __nv_bfloat162 *)&rb[j].y;
            float v[4] = {silu_mul1(__low2float(a0), __low2float(b0)), silu_mul1(__high2float(a0), __high2float(b0)),
                          silu_mul1(__low2float(a1), __low2float(b1)), silu_mul1(__high2float(a1), __high2float(b1))},
                  sc;
            uint32_t packed = fp8_quant4(v, &sc);
            *(uint32_t *)(q + p * I + (g0 + j) * 128 + lane * 4) = packed;
            if (lane == 0) qs[sbase + (int64_t)(g0 + j) * n] = sc;
        }
    }
}
void reap_k_silu_mul_fp8(const bf16 *G, int P, int I, const int *off, int E, uint8_t *q, float *qs, cudaStream_t s) {
    if (P <= 0) return;
    k_silu_mul_fp8<<<blocks_for((int64_t)P * 32, 256), 256, 0, s>>>(G, P, I, off, E, q, qs);
}

__global__ void k_fp8_pack_scales(const float *sa, const float *sb, int E, int OBa, int OBb, int KB, int ld,
                                  float *out) {
    const int OB = OBa + OBb;
    const int64_t n = (int64_t)E * OB * ld;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        const int kb = (int)(i % ld), ob = (int)(i / ld % OB);
        const int64_t e = i / ((int64_t)ld * OB);
        float v = 0.f;
        if (kb < KB) v = ob < OBa ? sa[(e * OBa + ob) * KB + kb] : sb[(e * OBb + ob - OBa) * KB + kb];
        out[i] = v;
    }
}
void reap_k_fp8_pack_scales(const float *sa, const float *sb, int E, int OBa, int OBb, int KB, int ld, float *out,
                            cudaStream_t s) {
    int64_t n = (int64_t)E * (OBa + OBb) * ld;
    if (n > 0) k_fp8_pack_scales<<<grid_capped(n, 132 * 8), 256, 0, s>>>(sa, sb, E, OBa, OBb, KB, ld, out);
}

// ---------------------------------------------------------------------------------------------
// Statistics and combine

// Statistics + combine in one pass over Y (reap_k_stats_combine). One block per token t: its
// needed rows (slot_pos >= 0 and a combine weight or a counted gate) are copied into shared memory
// with cp.async (16 B each, all in flight at once), G rows at a time; then warp r takes the
// statistics of row r (sc_pair_stats: lane l sums columns l, l+32, ... in f32, then a warp
// reduction) and thread i the combine of columns 4i..4i+3 in slot order (fma, then one add to h),
// in the same order as k_stats_combine_direct: every path gives the same h and the same per-pair
// norms to the bit (kernels/dev checks it). DB: two buffers of G rows, the copies of group g+1 in
// flight while group g is computed. Default (M2: S = 8, H = 3072): DB with G = 2, 72 KB, three
// blocks per SM. The maxima go through integer atomic max/min on the bits (no round trip as with a
// CAS loop; a maximum of exactly zero may come out as -0).
// k_stats_combine_direct: rows read from global memory twice (the second time mostly from L2), any H.
#define SC_MAXS 64
__device__ __forceinline__ void sc_cp_async16(void *smem, const void *gmem) {
    unsigned sa = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(sa), "l"(gmem) : "memory");
}
__device__ __forceinline__ void sc_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void sc_cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }
__device__ __forceinline__ void sc_cp_async_wait_one() { asm volatile("cp.async.wait_group 1;\n" ::: "memory"); }

// max through the bits: non-negative doubles order as signed integers, negative ones reversed as unsigned
__device__ __forceinline__ void sc_atomic_max_double(double *a, double v) {
    if (v != v) return;
    long long b = __double_as_longlong(v);
    if (b >= 0) atomicMax((long long *)a, b);
    else atomicMin((unsigned long long *)a, (unsigned long long)b);
}

// Y's elements as floats: f32 or bf16 rows (bf16: the FP8 path's down GEMM output).
__device__ __forceinline__ float sc_f(float x) { return x; }
__device__ __forceinline__ float sc_f(bf16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float4 sc_ld4(const float *row, int c) { return ((const float4 *)row)[c]; }
__device__ __forceinline__ float4 sc_ld4(const bf16 *row, int c) {
    uint2 r = ((const uint2 *)row)[c];
    __nv_bfloat162 a = *(__nv_bfloat162 *)&r.x, b = *(__nv_bfloat162 *)&r.y;
    return make_float4(__low2float(a), __high2float(a), __low2float(b), __high2float(b));
}

template <class T>
__device__ __forceinline__ void sc_pair_stats(const T *y, int H, int e, double g, unsigned long long *cnt,
                                              double *gate, double *norm, double *reap, double *max_act) {
    int lane = threadIdx.x & 31;
    float ss = 0.f, mx = -INFINITY;
    for (int i = lane; i < H; i += 32) {
        float x = sc_f(y[i]);
        ss += x * x;
        mx = fmaxf(mx, x);
    }
    ss = warp_sum(ss);
    mx = warp_max(mx);
    if (lane == 0) {
        double nrm = sqrt((double)ss);
        atomicAdd(&cnt[e], 1ull);
        atomicAdd(&gate[e], g);
        atomicAdd(&norm[e], nrm);
        atomicAdd(&reap[e], g * nrm);
        sc_atomic_max_double(&max_act[e], (double)mx);
    }
}

// copies of the needed rows of slots g0..g0+ng-1 into rows (ng rows of R16 16-byte pieces)
__device__ __forceinline__ void sc_issue(uint4 *rows, const uint4 *Y, const int *sp, const float *sw, const double *sg,
                                         int g0, int ng, int R16) {
    for (int r = 0; r < ng; r++) {
        int j = g0 + r, p = sp[j];
        if (p < 0 || (sw[j] == 0.f && sg[j] < 0)) continue;
        const uint4 *src = Y + (size_t)p * R16;
        for (int i = threadIdx.x; i < R16; i += blockDim.x) sc_cp_async16(rows + (size_t)r * R16 + i, src + i);
    }
}

template <class T, bool DB>
__global__ void __launch_bounds__(256) k_stats_combine_staged(const T *Y, const int *slot_pos, const int *slot_e,
                                                              const double *slot_g, const float *slot_w, int S, int H,
                                                              int G, float *h, unsigned long long *cnt, double *gate,
                                                              double *norm, double *reap, double *max_act) {
    extern __shared__ uint4 sc_rows[];  // 1 or 2 (DB) buffers of G rows of T, this token's h row, (G < S) H partial sums
    __shared__ int sp[SC_MAXS], se[SC_MAXS];
    __shared__ float sw[SC_MAXS];
    __shared__ double sg[SC_MAXS];
    const int t = blockIdx.x, tid = threadIdx.x, nt = blockDim.x, warp = tid >> 5, nw = nt >> 5, H4 = H >> 2;
    const int R16 = H * (int)sizeof(T) / 16;  // 16-byte pieces of a row of Y
    if (tid < S) {
        size_t i = (size_t)t * S + tid;
        int p = slot_pos[i];
        sp[tid] = p, sw[tid] = slot_w[i];
        sg[tid] = p >= 0 ? slot_g[i] : -1.0, se[tid] = p >= 0 ? slot_e[i] : -1;
    }
    __syncthreads();
    float4 *hrow = (float4 *)(sc_rows + (size_t)(DB ? 2 : 1) * G * R16), *acc = hrow + H4, *ht = (float4 *)(h + (size_t)t * H);
    sc_issue(sc_rows, (const uint4 *)Y, sp, sw, sg, 0, min(G, S), R16);
    for (int i = tid; i < H4; i += nt) sc_cp_async16(hrow + i, ht + i);
    sc_cp_async_commit();
    for (int g0 = 0, b = 0; g0 < S; g0 += G, b ^= DB ? 1 : 0) {
        const int ng = min(G, S - g0), last = g0 + G >= S;
        const T *rows = (const T *)(sc_rows + (size_t)b * G * R16);
        if (DB && !last) {  // the next group into the other buffer (free since the end of the last group)
            sc_issue(sc_rows + (size_t)(b ^ 1) * G * R16, (const uint4 *)Y, sp, sw, sg, g0 + G, min(G, S - g0 - G), R16);
            sc_cp_async_commit();
            sc_cp_async_wait_one();
        } else {
            sc_cp_async_wait_all();
        }
        __syncthreads();
        for (int r = warp; r < ng; r += nw) {
            int j = g0 + r;
            if (sp[j] >= 0 && sg[j] >= 0) sc_pair_stats(rows + (size_t)r * H, H, se[j], sg[j], cnt, gate, norm, reap, max_act);
        }
        for (int c = tid; c < H4; c += nt) {
            float4 a = g0 ? acc[c] : make_float4(0.f, 0.f, 0.f, 0.f);
            for (int r = 0; r < ng; r++) {
                int j = g0 + r;
                float w = sw[j];
                if (sp[j] >= 0 && w != 0.f) {
                    float4 y = sc_ld4(rows + (size_t)r * H, c);
                    a.x = fmaf(w, y.x, a.x), a.y = fmaf(w, y.y, a.y), a.z = fmaf(w, y.z, a.z), a.w = fmaf(w, y.w, a.w);
                }
            }
            if (last) {
                float4 o = hrow[c];
                o.x += a.x, o.y += a.y, o.z += a.z, o.w += a.w;
                ht[c] = o;
            } else {
                acc[c] = a;
            }
        }
        if (!last) {
            __syncthreads();  // the rows of this group are free again
            if (!DB)
                sc_issue(sc_rows, (const uint4 *)Y, sp, sw, sg, g0 + G, min(G, S - g0 - G), R16), sc_cp_async_commit();
        }
    }
}

template <class T>
__global__ void __launch_bounds__(256) k_stats_combine_direct(const T *Y, const int *slot_pos, const int *slot_e,
                                                              const double *slot_g, const float *slot_w, int S, int H,
                                                              float *h, unsigned long long *cnt, double *gate,
                                                              double *norm, double *reap, double *max_act) {
    const int t = blockIdx.x, nw = blockDim.x >> 5;
    const int *sp = slot_pos + (size_t)t * S;
    const float *sw = slot_w + (size_t)t * S;
    for (int j = threadIdx.x >> 5; j < S; j += nw) {
        int p = sp[j];
        if (p < 0) continue;
        double g = slot_g[(size_t)t * S + j];
        if (g >= 0) sc_pair_stats(Y + (size_t)p * H, H, slot_e[(size_t)t * S + j], g, cnt, gate, norm, reap, max_act);
    }
    for (int c = threadIdx.x; c < H; c += blockDim.x) {
        float a = 0.f;
        for (int j = 0; j < S; j++) {
            int p = sp[j];
            if (p >= 0 && sw[j] != 0.f) a = fmaf(sw[j], sc_f(Y[(size_t)p * H + c]), a);
        }
        h[(size_t)t * H + c] += a;
    }
}

template <class T>
static void stats_combine_rows(const T *Y, const int *slot_pos, const int *slot_e, const double *slot_g,
                               const float *slot_w, int N, int S, int H, float *h, unsigned long long *cnt,
                               double *gate, double *norm, double *reap, double *max_act, int stage_rows,
                               int double_buffer, cudaStream_t s) {
    const size_t row = (size_t)H * sizeof(T), hrow = (size_t)H * 4;  // a row of Y; of h and of the sums
    int G = 0, db = double_buffer != 0, optin = 0, dev = 0;
    if (stage_rows != 0 && H % 4 == 0 && row % 16 == 0 && S <= SC_MAXS && kern_aligned(Y, 16) && kern_aligned(h, 16) &&
        cudaGetDevice(&dev) == cudaSuccess &&
        cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) == cudaSuccess) {
        if (stage_rows > 0) {
            G = stage_rows < S ? stage_rows : S;
        } else {  // 72 KB: three blocks per SM (else as many rows as one block may have); 2 rows a group
            size_t budget = 72 * 1024 > 2 * hrow ? 72 * 1024 - 2 * hrow : 0;
            int fit = (int)(budget / row);
            db = S > fit;
            if (db && fit / 2 < 1) fit = (int)(((size_t)optin > 2 * hrow ? (size_t)optin - 2 * hrow : 0) / row);
            G = db ? fit / 2 : S;
            if (db && G > 2) G = 2;
        }
    }
    if (G >= S) db = 0;
    size_t bytes = G >= 1 ? (size_t)((db ? 2 : 1) * G) * row + (size_t)(1 + (G < S)) * hrow : 0;
    if (G >= 1 && bytes <= (size_t)optin) {
        cudaError_t e = db ? cudaFuncSetAttribute(k_stats_combine_staged<T, true>,
                                                  cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes)
                           : cudaFuncSetAttribute(k_stats_combine_staged<T, false>,
                                                  cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
        if (e == cudaSuccess) {
            if (db)
                k_stats_combine_staged<T, true><<<N, 256, bytes, s>>>(Y, slot_pos, slot_e, slot_g, slot_w, S, H, G, h,
                                                                      cnt, gate, norm, reap, max_act);
            else
                k_stats_combine_staged<T, false><<<N, 256, bytes, s>>>(Y, slot_pos, slot_e, slot_g, slot_w, S, H, G, h,
                                                                       cnt, gate, norm, reap, max_act);
            return;
        }
    }
    k_stats_combine_direct<T><<<N, 256, 0, s>>>(Y, slot_pos, slot_e, slot_g, slot_w, S, H, h, cnt, gate, norm, reap,
                                                 max_act);
}

void reap_k_stats_combine_rows(const void *Y, int y_bf16, const int *slot_pos, const int *slot_e, const double *slot_g,
                               const float *slot_w, int N, int S, int H, float *h, unsigned long long *cnt,
                               double *gate, double *norm, double *reap, double *max_act, int stage_rows,
                               int double_buffer, cudaStream_t s) {
    if (N <= 0 || S <= 0 || H <= 0) return;
    if (y_bf16)
        stats_combine_rows((const bf16 *)Y, slot_pos, slot_e, slot_g, slot_w, N, S, H, h, cnt, gate, norm, reap,
                           max_act, stage_rows, double_buffer, s);
    else
        stats_combine_rows((const float *)Y, slot_pos, slot_e, slot_g, slot_w, N, S, H, h, cnt, gate, norm, reap,
                           max_act, stage_rows, double_buffer, s);
}

void reap_k_stats_combine(const void *Y, int y_bf16, const int *slot_pos, const int *slot_e, const double *slot_g,
                          const float *slot_w, int N, int S, int H, float *h, unsigned long long *cnt, double *gate,
                          double *norm, double *reap, double *max_act, cudaStream_t s) {
    reap_k_stats_combine_rows(Y, y_bf16, slot_pos, slot_e, slot_g, slot_w, N, S, H, h, cnt, gate, norm, reap, max_act,
                              -1, 1, s);
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

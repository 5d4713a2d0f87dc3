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

// 4 columns per thread (16-byte loads, 8-byte stores) when I % 4 == 0: twice the bandwidth of the
// scalar kernel above, whose 64-bit division per element held it to ~2.2 TB/s on an H200.
__global__ void k_silu_mul_x4(const float *G, int64_t n4, int I4, bf16 *act) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n4; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t p = i / I4, c = i % I4;
        float4 a = ((const float4 *)(G + p * 8 * I4))[c], b = ((const float4 *)(G + p * 8 * I4 + 4 * I4))[c];
        __nv_bfloat162 lo = __floats2bfloat162_rn(a.x / (1.0f + expf(-a.x)) * b.x, a.y / (1.0f + expf(-a.y)) * b.y);
        __nv_bfloat162 hi = __floats2bfloat162_rn(a.z / (1.0f + expf(-a.z)) * b.z, a.w / (1.0f + expf(-a.w)) * b.w);
        uint2 o;
        o.x = *(unsigned *)&lo, o.y = *(unsigned *)&hi;
        ((uint2 *)act)[i] = o;
    }
}

void reap_k_silu_mul(const float *G, int P, int I, bf16 *act, cudaStream_t s) {
    if (P <= 0) return;
    int64_t n = (int64_t)P * I;
    if (I % 4 == 0) {
        unsigned g = blocks_for(n / 4, 256);
        if (g > 132 * 16) g = 132 * 16;
        k_silu_mul_x4<<<g, 256, 0, s>>>(G, n / 4, I / 4, act);
        return;
    }
    unsigned g = blocks_for(n, 256);
    if (g > 132 * 32) g = 132 * 32;
    k_silu_mul<<<g, 256, 0, s>>>(G, n, I, act);
}

// The same from bf16 gate|up values, 8 columns per thread (16-byte loads and stores) when I % 8 == 0.
__global__ void k_silu_mul_bf16x8(const bf16 *G, int64_t n8, int I8, bf16 *act) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n8; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t p = i / I8, c = i % I8;
        uint4 ga = ((const uint4 *)(G + p * 16 * I8))[c], ub = ((const uint4 *)(G + p * 16 * I8 + 8 * I8))[c], o;
        const __nv_bfloat162 *a2 = (const __nv_bfloat162 *)&ga, *b2 = (const __nv_bfloat162 *)&ub;
        __nv_bfloat162 *o2 = (__nv_bfloat162 *)&o;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            float2 a = __bfloat1622float2(a2[j]), b = __bfloat1622float2(b2[j]);
            o2[j] = __floats2bfloat162_rn(a.x / (1.0f + expf(-a.x)) * b.x, a.y / (1.0f + expf(-a.y)) * b.y);
        }
        ((uint4 *)act)[i] = o;
    }
}
__global__ void k_silu_mul_bf16(const bf16 *G, int64_t n, int I, bf16 *act) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t p = i / I, c = i % I;
        float a = __bfloat162float(G[p * 2 * I + c]), b = __bfloat162float(G[p * 2 * I + I + c]);
        act[i] = __float2bfloat16(a / (1.0f + expf(-a)) * b);
    }
}

void reap_k_silu_mul_bf16(const bf16 *G, int P, int I, bf16 *act, cudaStream_t s) {
    if (P <= 0) return;
    int64_t n = (int64_t)P * I;
    if (I % 8 == 0) {
        unsigned g = blocks_for(n / 8, 256);
        if (g > 132 * 16) g = 132 * 16;
        k_silu_mul_bf16x8<<<g, 256, 0, s>>>(G, n / 8, I / 8, act);
        return;
    }
    unsigned g = blocks_for(n, 256);
    if (g > 132 * 32) g = 132 * 32;
    k_silu_mul_bf16<<<g, 256, 0, s>>>(G, n, I, act);
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

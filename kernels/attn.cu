// attn.cu: causal GQA attention (reap_k_attention, declared in kern.cuh). A flash-attention kernel on
// the tensor cores for head dims 64 and 128, and a scalar kernel for any head dim up to 256.
#include <math.h>

#include "kern.cuh"

typedef __nv_bfloat16 bf16;

// ---------------------------------------------------------------------------------------------
// Tensor-core kernel (FlashAttention-2 style) on mma.sync m16n8k16 bf16 with fp32 accumulation.
//
// A block of 4 warps; every warp owns two m-tiles of 16 query rows. With an even GQA ratio (G = 2)
// the two m-tiles are two query heads of the same kv head at the same 16 positions, so the block
// covers 64 positions x 2 heads; otherwise (G = 1) they are 32 consecutive positions of one head and
// the block covers 128 positions. Either way each key/value fragment read from shared memory feeds
// two MMAs per m-tile pair, which keeps ldmatrix traffic under the tensor-core rate, and each key/
// value tile copied from L2 serves 128 query rows.
//
// Q (128 rows x HD) stays in shared memory and is re-read per key tile (keeping it in registers as
// well as the 32-row accumulator would spill). Key/value tiles of 64 tokens move in with cp.async,
// two stages: at the top of each tile one barrier both publishes the tile that just landed and frees
// the stage the next load overwrites. Rows of HD bf16 keep their 16-byte chunks XOR-swizzled by
// (row & 7) so that ldmatrix is free of bank conflicts. Online softmax in fp32 with exp2 and the
// scale folded into one FMA; masking only on tiles that reach past the block's first query; a warp
// skips tiles that lie wholly past its own queries. The grid runs the heaviest query blocks (latest
// positions) first across all heads and rows, the heads of one kv head next to each other.
static __device__ __forceinline__ unsigned smem_u32(const void *p) { return (unsigned)__cvta_generic_to_shared(p); }
static __device__ __forceinline__ void cp_async16(void *dst, const void *src, int valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(valid ? 16 : 0));
}
static __device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
static __device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::); }
static __device__ __forceinline__ void ldsm_x4(unsigned r[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
static __device__ __forceinline__ void ldsm_x4_t(unsigned r[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
// d (16x8 f32) += a (16x16 bf16, row) * b (16x8 bf16, col)
static __device__ __forceinline__ void mma_bf16(float d[4], const unsigned a[4], unsigned b0, unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
static __device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *(unsigned *)&v;
}
// 2^x; -inf gives 0
static __device__ __forceinline__ float ex2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}
static __device__ __forceinline__ float quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
static __device__ __forceinline__ float quad_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// Element (r, c) of a swizzled tile of rows of HD bf16.
template <int HD> static __device__ __forceinline__ int swz(int r, int c) { return r * HD + ((((c >> 3) ^ (r & 7))) << 3) + (c & 7); }

constexpr int ATT_WARPS = 4, ATT_MT = 2, ATT_ROWS = ATT_WARPS * ATT_MT * 16, ATT_BN = 64;

// Query positions a block covers: 64 with two heads per warp, 128 with one.
template <int G> static __host__ __device__ constexpr int att_positions() { return ATT_ROWS / G; }

// q (rows*T, nh HD), k/v (rows*T, nkv HD), out (rows*T, nh HD) bf16. Grid: x = row * (nh / G) + head
// group, y = query block counted from the last.
template <int HD, int G>
static __global__ void __launch_bounds__(ATT_WARPS * 32, 8 / ATT_WARPS)
    k_attn_mma(const bf16 *q, const bf16 *k, const bf16 *v, int T, int nh, int nkv, bf16 *out) {
    constexpr int BP = att_positions<G>(), BN = ATT_BN, CH = HD / 8, NT = BN / 8, DT = HD / 8, NTH = ATT_WARPS * 32;
    extern __shared__ __align__(128) unsigned char smem[];
    bf16 *sQ = (bf16 *)smem;          // ATT_ROWS rows; row (w * 2 + j) * 16 + i is m-tile j of warp w
    bf16 *sK = sQ + ATT_ROWS * HD;    // 2 stages
    bf16 *sV = sK + 2 * BN * HD;      // 2 stages

    const int hgroups = nh / G;
    const int row = blockIdx.x / hgroups, h0 = (blockIdx.x % hgroups) * G;
    const int qb = gridDim.y - 1 - blockIdx.y, p0 = qb * BP;
    const int kvh = h0 / (nh / nkv);
    const size_t qs = (size_t)nh * HD, ks = (size_t)nkv * HD;
    const bf16 *qbase = q + (size_t)row * T * qs + (size_t)h0 * HD;
    const bf16 *kbase = k + (size_t)row * T * ks + (size_t)kvh * HD;
    const bf16 *vbase = v + (size_t)row * T * ks + (size_t)kvh * HD;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;

    // position of the first of the 16 rows of m-tile j of warp w (with G = 2, m-tile j is head h0 + j)
    auto tile_pos = [&](int w, int j) { return G == 2 ? p0 + w * 16 : p0 + w * 32 + j * 16; };
#pragma unroll
    for (int it = 0; it < ATT_ROWS * CH / NTH; it++) {
        const int e = tid + it * NTH, r = e / CH, c = e % CH, w = r >> 5, j = (r >> 4) & 1;
        const int pos = tile_pos(w, j) + (r & 15), ok = pos < T;
        const bf16 *src = qbase + (size_t)(ok ? pos : 0) * qs + (G == 2 ? j * HD : 0) + c * 8;
        cp_async16(sQ + swz<HD>(r, c * 8), src, ok);
    }
    // K/V copies: thread tid moves chunk tid % CH of rows tid / CH + i * (NTH / CH); those rows keep
    // (row & 7), so the swizzled destination steps by a constant
    constexpr int RSTEP = NTH / CH;
    const int lr = tid / CH, lc = tid % CH;
    const int dst0 = swz<HD>(lr, lc * 8);
    auto load_kv = [&](int kt, int stage) {
        const int k0 = kt * BN;
        bf16 *dk = sK + stage * BN * HD + dst0, *dv = sV + stage * BN * HD + dst0;
        const bf16 *srck = kbase + (size_t)(k0 + lr) * ks + lc * 8, *srcv = vbase + (size_t)(k0 + lr) * ks + lc * 8;
        const size_t step = (size_t)RSTEP * ks;
#pragma unroll
        for (int i = 0; i < BN / RSTEP; i++) {
            const int ok = k0 + lr + i * RSTEP < T;
            cp_async16(dk + i * RSTEP * HD, ok ? srck : kbase, ok);
            cp_async16(dv + i * RSTEP * HD, ok ? srcv : vbase, ok);
            srck += step, srcv += step;
        }
    };
    const int n_tiles = (min(p0 + BP, T) + BN - 1) / BN;
    load_kv(0, 0);
    cp_async_commit();

    const float sl2 = rsqrtf((float)HD) * 1.4426950408889634f;
    float o[ATT_MT][DT][4];
#pragma unroll
    for (int j = 0; j < ATT_MT; j++)
#pragma unroll
        for (int i = 0; i < DT; i++) o[j][i][0] = o[j][i][1] = o[j][i][2] = o[j][i][3] = 0.f;
    // per m-tile: rows lane/4 and lane/4 + 8; running max (already scaled to log2 units) and sum
    float m[ATT_MT][2], l[ATT_MT][2];
    int qi[ATT_MT];
#pragma unroll
    for (int j = 0; j < ATT_MT; j++) {
        m[j][0] = m[j][1] = -INFINITY, l[j][0] = l[j][1] = 0.f;
        qi[j] = tile_pos(warp, j) + (lane >> 2);
    }
    const int warp_last = tile_pos(warp, ATT_MT - 1) + 15;  // the warp's latest query position
    // ldmatrix addresses. Every row a lane reads has (row & 7) == (lane & 7), so the swizzled column of
    // 16-byte chunk 2 * kk + x (x the lane's half of a k-step) is 8 * (kk / 4) + ((2 * (kk % 4)) ^ y)
    // with y = x ^ (lane & 7): four per-lane offsets per operand, the rest folds into immediates.
    const int yq = (lane >> 4) ^ (lane & 7), yk = ((lane >> 3) & 1) ^ (lane & 7);  // V uses yq
    const bf16 *qw = sQ + (warp * ATT_MT * 16 + (lane & 15)) * HD;
    const int krow = ((lane >> 4) * 8 + (lane & 7)) * HD, vrow = (((lane >> 3) & 1) * 8 + (lane & 7)) * HD;

    for (int kt = 0; kt < n_tiles; kt++) {
        cp_async_wait_all();
        __syncthreads();  // tile kt visible to all; every warp is done with tile kt - 1's stage
        if (kt + 1 < n_tiles) load_kv(kt + 1, (kt + 1) & 1);
        cp_async_commit();
        const int k0 = kt * BN;
        if (k0 > warp_last) continue;  // every key of the tile lies past this warp's queries
        const bf16 *cK = sK + (kt & 1) * BN * HD, *cV = sV + (kt & 1) * BN * HD;
        // S = Q K^T: per m-tile 16 x 64
        float s[ATT_MT][NT][4];
#pragma unroll
        for (int j = 0; j < ATT_MT; j++)
#pragma unroll
            for (int i = 0; i < NT; i++) s[j][i][0] = s[j][i][1] = s[j][i][2] = s[j][i][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < HD / 16; kk++) {
            unsigned a[ATT_MT][4];
#pragma unroll
            for (int j = 0; j < ATT_MT; j++)
                ldsm_x4(a[j], qw + j * 16 * HD + (kk / 4) * 64 + (((2 * (kk % 4)) ^ yq) << 3));
#pragma unroll
            for (int nn = 0; nn < NT / 2; nn++) {
                unsigned b[4];
                ldsm_x4(b, cK + krow + nn * 16 * HD + (kk / 4) * 64 + (((2 * (kk % 4)) ^ yk) << 3));
#pragma unroll
                for (int j = 0; j < ATT_MT; j++) {
                    mma_bf16(s[j][2 * nn], a[j], b[0], b[1]);
                    mma_bf16(s[j][2 * nn + 1], a[j], b[2], b[3]);
                }
            }
        }
        // causal mask where a key can lie past a query of the block (keys past T lie past every query)
        if (k0 + BN > p0 + 1) {
#pragma unroll
            for (int j = 0; j < ATT_MT; j++)
#pragma unroll
                for (int i = 0; i < NT; i++) {
                    const int kj = k0 + i * 8 + (lane & 3) * 2;
                    if (kj > qi[j]) s[j][i][0] = -INFINITY;
                    if (kj + 1 > qi[j]) s[j][i][1] = -INFINITY;
                    if (kj > qi[j] + 8) s[j][i][2] = -INFINITY;
                    if (kj + 1 > qi[j] + 8) s[j][i][3] = -INFINITY;
                }
        }
        // online softmax; P packed to bf16 A fragments
        unsigned pf[ATT_MT][BN / 16][4];
#pragma unroll
        for (int j = 0; j < ATT_MT; j++) {
            float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
            for (int i = 0; i < NT; i++) {
                mx0 = fmaxf(mx0, fmaxf(s[j][i][0], s[j][i][1]));
                mx1 = fmaxf(mx1, fmaxf(s[j][i][2], s[j][i][3]));
            }
            const float mn0 = fmaxf(m[j][0], quad_max(mx0) * sl2), mn1 = fmaxf(m[j][1], quad_max(mx1) * sl2);
            const float b0 = mn0 == -INFINITY ? 0.f : mn0, b1 = mn1 == -INFINITY ? 0.f : mn1;
            const float a0 = ex2(m[j][0] - b0), a1 = ex2(m[j][1] - b1);
            m[j][0] = mn0, m[j][1] = mn1;
            float rs0 = 0.f, rs1 = 0.f;
#pragma unroll
            for (int i = 0; i < NT; i++) {
                const float e0 = ex2(fmaf(s[j][i][0], sl2, -b0)), e1 = ex2(fmaf(s[j][i][1], sl2, -b0));
                const float e2 = ex2(fmaf(s[j][i][2], sl2, -b1)), e3 = ex2(fmaf(s[j][i][3], sl2, -b1));
                rs0 += e0 + e1, rs1 += e2 + e3;
                pf[j][i / 2][(i & 1) * 2] = pack_bf16(e0, e1);
                pf[j][i / 2][(i & 1) * 2 + 1] = pack_bf16(e2, e3);
            }
            l[j][0] = l[j][0] * a0 + rs0, l[j][1] = l[j][1] * a1 + rs1;
#pragma unroll
            for (int i = 0; i < DT; i++) o[j][i][0] *= a0, o[j][i][1] *= a0, o[j][i][2] *= a1, o[j][i][3] *= a1;
        }
        // O += P V
#pragma unroll
        for (int kk = 0; kk < BN / 16; kk++) {
#pragma unroll
            for (int dd = 0; dd < DT / 2; dd++) {
                unsigned b[4];
                ldsm_x4_t(b, cV + vrow + kk * 16 * HD + (dd / 4) * 64 + (((2 * (dd % 4)) ^ yq) << 3));
#pragma unroll
                for (int j = 0; j < ATT_MT; j++) {
                    mma_bf16(o[j][2 * dd], pf[j][kk], b[0], b[1]);
                    mma_bf16(o[j][2 * dd + 1], pf[j][kk], b[2], b[3]);
                }
            }
        }
    }
    cp_async_wait_all();
    const int c = (lane & 3) * 2;
#pragma unroll
    for (int j = 0; j < ATT_MT; j++) {
        const float inv0 = 1.f / quad_sum(l[j][0]), inv1 = 1.f / quad_sum(l[j][1]);
        const size_t hoff = (size_t)(h0 + (G == 2 ? j : 0)) * HD + c;
        if (qi[j] < T) {
            bf16 *o0 = out + ((size_t)row * T + qi[j]) * qs + hoff;
#pragma unroll
            for (int i = 0; i < DT; i++)
                *(__nv_bfloat162 *)(o0 + i * 8) = __floats2bfloat162_rn(o[j][i][0] * inv0, o[j][i][1] * inv0);
        }
        if (qi[j] + 8 < T) {
            bf16 *o1 = out + ((size_t)row * T + qi[j] + 8) * qs + hoff;
#pragma unroll
            for (int i = 0; i < DT; i++)
                *(__nv_bfloat162 *)(o1 + i * 8) = __floats2bfloat162_rn(o[j][i][2] * inv1, o[j][i][3] * inv1);
        }
    }
}

template <int HD, int G>
static void launch_attn_mma(const bf16 *q, const bf16 *k, const bf16 *v, int rows, int T, int nh, int nkv, bf16 *out,
                            cudaStream_t s) {
    const size_t smem = ((size_t)ATT_ROWS + 4 * (size_t)ATT_BN) * HD * sizeof(bf16);
    // per device and cheap: set on every launch (a static flag would miss the second GPU)
    cudaFuncSetAttribute(k_attn_mma<HD, G>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    const int bp = att_positions<G>();
    dim3 grid((unsigned)rows * (unsigned)(nh / G), (unsigned)((T + bp - 1) / bp));
    k_attn_mma<HD, G><<<grid, ATT_WARPS * 32, smem, s>>>(q, k, v, T, nh, nkv, out);
}

// ---------------------------------------------------------------------------------------------
// Scalar reference-grade kernel: one warp per (query, head), online softmax, hd <= 256.
static __global__ void k_attn_scalar(const bf16 *q, const bf16 *k, const bf16 *v, int rows, int T, int nh, int nkv, int hd,
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
        for (int o = 16; o > 0; o >>= 1) d0 += __shfl_xor_sync(0xffffffffu, d0, o);
        float s = d0 * scale;
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

void reap_k_attention(const bf16 *q, const bf16 *k, const bf16 *v, int rows, int T, int nh, int nkv, int hd, bf16 *out,
                      int force_scalar, cudaStream_t s) {
    if (rows <= 0 || T <= 0) return;
    const int even = (nh / nkv) % 2 == 0;  // two query heads of one kv head per warp
    if (!force_scalar && hd == 128)
        return even ? launch_attn_mma<128, 2>(q, k, v, rows, T, nh, nkv, out, s)
                    : launch_attn_mma<128, 1>(q, k, v, rows, T, nh, nkv, out, s);
    if (!force_scalar && hd == 64)
        return even ? launch_attn_mma<64, 2>(q, k, v, rows, T, nh, nkv, out, s)
                    : launch_attn_mma<64, 1>(q, k, v, rows, T, nh, nkv, out, s);
    int64_t threads = (int64_t)rows * T * nh * 32;
    k_attn_scalar<<<(unsigned)((threads + 255) / 256), 256, 0, s>>>(q, k, v, rows, T, nh, nkv, hd, out);
}

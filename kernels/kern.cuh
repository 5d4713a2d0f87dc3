// kern.cuh: the CUDA kernels of the GPU forward pass + observer (kernels/kern.cu), as host-side
// launchers on a stream. Used by kernels/gpu.cu and by the harnesses in kernels/dev/, which check
// each one against a CPU reference. Layouts are row-major; "N" is a number of tokens.
#ifndef REAP_KERN_CUH
#define REAP_KERN_CUH

#include <cuda_bf16.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "eval_metrics.h"
}

// Block-scaled weight -> bf16. w (rows, cols) in dtype dt (REAP_DT_F8_E4M3 with scale
// (ceil(rows/br), ceil(cols/bc)) f32 multipliers; REAP_DT_BF16 or REAP_DT_F32 with scale NULL);
// out (rows, cols) bf16 at row stride cols.
void reap_k_dequant_bf16(int dt, const void *w, const float *scale, int64_t rows, int64_t cols, int br,
                         int bc, __nv_bfloat16 *out, cudaStream_t s);
// The embedding on the GPU, a block of the table at a time: h (N, H) row t = table row ids[t] - v0
// for the tokens whose id is in [v0, v0 + n); other rows untouched. table (n, H) f32. Its reference
// is reap_embed_cpu (kernels/dev checks the rows are exact copies).
void reap_k_embed_block(const float *table, int v0, int n, const int32_t *ids, int64_t N, int H, float *h,
                        cudaStream_t s);
// f32 -> bf16, n elements.
void reap_k_f32_to_bf16(const float *x, int64_t n, __nv_bfloat16 *out, cudaStream_t s);

// RMSNorm per token: x (N, H) f32, w (H) f32 -> out_bf (N, H) bf16 and, when out_f32 != NULL,
// out_f32 (N, H) f32. y = w * x / sqrt(mean(x^2) + eps), statistics in fp32.
void reap_k_rmsnorm(const float *x, const float *w, int N, int H, float eps, __nv_bfloat16 *out_bf,
                    float *out_f32, cudaStream_t s);
// The same in the plain scalar kernel (what reap_k_rmsnorm falls back to when H % 4 != 0, H > 4096 or
// a pointer is not 16-byte aligned); the reference of kernels/dev.
void reap_k_rmsnorm_simple(const float *x, const float *w, int N, int H, float eps, __nv_bfloat16 *out_bf,
                           float *out_f32, cudaStream_t s);

// The router's logits from fp32 operands on TF32 tensor cores ("3xTF32"; opt-in, env
// REAP_GPU_ROUTER=tf32x3 in kernels/gpu.cu). Not quite fp32: on an H200 the worst error was 14x
// cublasSgemm's (2.9e-5 vs 2.1e-6 of the dot product's scale; the tensor cores accumulate with
// truncation), for a router GEMM 2.6x faster (kernels/dev/dev_kernels, bench/RESULTS.md sixth pass).
// reap_k_rmsnorm_split is reap_k_rmsnorm writing out_bf and out_hl (N, 2H) = [hi | lo] of every
// f32 output (hi its nearest tf32, lo = y - hi); reap_k_router_split_w splits the gate w (E, H)
// into wcat (E, 2H) = [hi | hi] and wlo (E, H); reap_k_router_3xtf32 then computes logits (N, E) =
// x . w^T as hi.hi + lo_x.hi_w + hi_x.lo_w in two cuBLAS TF32 GEMMs (fp32 accumulate) on the
// handle's stream. Checked against float64 and cublasSgemm in kernels/dev/dev_kernels.
void reap_k_rmsnorm_split(const float *x, const float *w, int N, int H, float eps, __nv_bfloat16 *out_bf,
                          float *out_hl, cudaStream_t s);
void reap_k_router_split_w(const float *w, int E, int H, float *wcat, float *wlo, cudaStream_t s);
cublasStatus_t reap_k_router_3xtf32(cublasHandle_t h, const float *wcat, const float *wlo, const float *x_hl, int N,
                                    int E, int H, float *logits);

// QK norm ("per_layer": one RMSNorm over the whole q width and one over the whole k width, when
// qn/kn are not NULL) + partial NeoX RoPE on dims 0..rot-1 of every head, then bf16.
// qkv (N, (nh + 2 nkv) hd) f32 as [q | k | v] per token; token i has position i % T.
// rope_cs (T, rot/2) float2 (cos, sin). Outputs q (N, nh hd), k and v (N, nkv hd) bf16.
void reap_k_qknorm_rope(const float *qkv, const float *qn, const float *kn, const float2 *rope_cs, int N,
                        int T, int nh, int nkv, int hd, int rot, float eps, __nv_bfloat16 *q, __nv_bfloat16 *k,
                        __nv_bfloat16 *v, cudaStream_t s);
// The same in the plain kernel (any shape; ~3x slower): what reap_k_qknorm_rope falls back to when
// hd does not divide 128, rot % 8 != 0, q or k width is not a multiple of 128 floats, a pointer is
// misaligned or a token's row exceeds 32k floats; the reference of kernels/dev.
void reap_k_qknorm_rope_simple(const float *qkv, const float *qn, const float *kn, const float2 *rope_cs, int N,
                               int T, int nh, int nkv, int hd, int rot, float eps, __nv_bfloat16 *q,
                               __nv_bfloat16 *k, __nv_bfloat16 *v, cudaStream_t s);

// Causal GQA attention over packed rows of T tokens: q (rows*T, nh hd), k/v (rows*T, nkv hd) bf16;
// out (rows*T, nh hd) bf16. Query head h uses kv head h / (nh / nkv); scale 1/sqrt(hd).
// Tensor cores (mma.sync flash attention) for hd in {64, 128}; a scalar kernel otherwise (or when
// force_scalar).
void reap_k_attention(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v, int rows, int T,
                      int nh, int nkv, int hd, __nv_bfloat16 *out, int force_scalar, cudaStream_t s);

// Routing. logits (N, E) f32. Every token gets S slots (S = k, or 2k when stat_mode != model):
// slot_e (N, S) expert id or -1, slot_w (N, S) combine weight (the model's routing: sigmoid +
// bias top-k, renormalised; 0 for experts only the statistics chose), slot_g (N, S) the
// statistics gate under stat_mode (reap_router_mode), -1 when the slot does not count (masked
// token or expert not chosen by stat_mode). mask (N) or NULL. bias (E) or NULL.
void reap_k_route(const float *logits, const float *bias, const uint8_t *mask, int N, int E, int k, int stat_mode,
                  int *slot_e, float *slot_w, double *slot_g, cudaStream_t s);

// Permutation by expert: counts (E) and offsets (E+1) of the pairs; pair_tok (P) the token of
// each pair, pair_slot (P) its slot index t*S+j, slot_pos (N*S) each slot's pair index (or -1).
// cnt and cursor (E) int scratch. Pairs of expert e are pair_tok[off[e]..off[e+1]).
void reap_k_permute(const int *slot_e, int N, int S, int E, int *cnt, int *off, int *cursor, int *pair_tok,
                    int *pair_slot, int *slot_pos, cudaStream_t s);
// Rows an expert with n pairs takes in the padded layout: n rounded up to a size class, multiples
// of 64 up to 512 and then REAP_PAD_PER_OCTAVE (8) classes per octave (576, 640, ..., 1024, 1152,
// ...), so that the experts' row counts are a few classes, each with one cached matmul plan in
// reap_k_expert_gemms_each. Padding is below max(64, n/8) rows (4 per octave, the first version:
// n/4 and 1.10x the pairs on M2-shaped chunks; 8: 1.05x, bench/RESULTS.md, fifth pass); 0 for n <= 0.
#ifndef REAP_PAD_PER_OCTAVE
#define REAP_PAD_PER_OCTAVE 8
#endif
static inline __host__ __device__ int reap_k_pad_rows(int n) {
    if (n <= 0) return 0;
    int o = 1;
    while (2 * o < n) o *= 2;  // largest power of two below n
    int step = o / REAP_PAD_PER_OCTAVE < 64 ? 64 : o / REAP_PAD_PER_OCTAVE;
    return (n + step - 1) / step * step;
}
// The size classes of reap_k_pad_rows from 64 up to max_rows, ascending, into out (cap entries);
// returns how many there are (may exceed cap): the row counts whose plans
// reap_k_xgemm_each_prepare makes ahead of time.
static inline int reap_k_pad_classes(int max_rows, int *out, int cap) {
    int n = 0;
    for (int r = 64; r <= max_rows; r = reap_k_pad_rows(r + 1)) {
        if (n < cap) out[n] = r;
        n++;
    }
    return n;
}
// reap_k_permute into the padded layout: expert e owns rows off[e]..off[e+1) of reap_k_pad_rows(cnt[e])
// rows, its cnt[e] pairs first; the padding rows have pair_tok = pair_slot = -1 (gather writes zero
// rows there, statistics skip them, no slot_pos points at them). off (E+2): off[E] the rows in all,
// off[E+1] 1 when padded, 0 when the padded layout would exceed cap rows (then the plain layout of
// reap_k_permute). pair_tok and pair_slot hold cap entries.
void reap_k_permute_padded(const int *slot_e, int N, int S, int E, int cap, int *cnt, int *off, int *cursor,
                           int *pair_tok, int *pair_slot, int *slot_pos, cudaStream_t s);
// Xe (P, H) bf16 = x[pair_tok[p]] for p < P (P = off[E], known on the host after permute); a zero
// row where pair_tok[p] < 0 (padding).
void reap_k_gather(const __nv_bfloat16 *x, const int *pair_tok, int P, int H, __nv_bfloat16 *xe, cudaStream_t s);
// The same xe by token: x's row t is copied to every pair slot_pos[t*S + j] >= 0 (reap_k_permute*),
// then rows with pair_tok < 0 are zeroed: one read of each row instead of one per pair. Falls back
// to reap_k_gather when H % 8 != 0, S > 64 or a pointer is not 16-byte aligned. N tokens.
void reap_k_scatter_rows(const __nv_bfloat16 *x, const int *slot_pos, int N, int S, const int *pair_tok, int P, int H,
                         __nv_bfloat16 *xe, cudaStream_t s);
// act (P, I) bf16 = silu(G[:, :I]) * G[:, I:], G (P, 2I) f32.
void reap_k_silu_mul(const float *G, int P, int I, __nv_bfloat16 *act, cudaStream_t s);
// The REAP statistics and the weighted combine of the expert outputs, in one pass over Y that reads
// each needed row once (by token: the rows of slot_pos, so padding rows are never read). Y (P, H)
// expert outputs, f32 or (y_bf16) bf16; slot_pos, slot_e (N, S) int, slot_g (N, S) f64, slot_w (N, S) f32 as
// reap_k_route / reap_k_permute* leave them. For every slot with slot_pos >= 0 and slot_g >= 0:
// cnt[e] += 1, gate[e] += g, norm[e] += ||y||, reap[e] += g ||y|| (float64; ||y|| from an f32 sum
// of squares) and max_act[e] = max(max_act[e], max_i y_i), e = slot_e, y = Y[slot_pos]; all (E).
// h (N, H) f32 += sum_j slot_w[t, j] * Y[slot_pos[t, j]] in slot order (f32 fma). No scratch
// memory; shared memory per block 72 KB at S = 8, H = 3072 in f32 (two double-buffered groups of 2
// rows, the h row, partial sums), 60 KB in bf16 (the token's 8 rows and the h row). Checked against float64 in kernels/dev/dev_kernels.
void reap_k_stats_combine(const void *Y, int y_bf16, const int *slot_pos, const int *slot_e, const double *slot_g,
                          const float *slot_w, int N, int S, int H, float *h, unsigned long long *cnt, double *gate,
                          double *norm, double *reap, double *max_act, cudaStream_t s);
// The same with the rows staged stage_rows at a time (> 0; in two buffers, the next group copied
// while one is computed, when double_buffer), chosen as above (< 0: double_buffer ignored), or read
// straight from global memory twice (0; also whenever H % 4 != 0, a row is not a multiple of 16
// bytes, S > 64, Y/h are not 16-byte aligned or the rows do not fit in shared memory). For
// kernels/dev (tests of every path, timings).
void reap_k_stats_combine_rows(const void *Y, int y_bf16, const int *slot_pos, const int *slot_e, const double *slot_g,
                               const float *slot_w, int N, int S, int H, float *h, unsigned long long *cnt,
                               double *gate, double *norm, double *reap, double *max_act, int stage_rows,
                               int double_buffer, cudaStream_t s);
// Number of counted (unmasked) tokens added to *tokens (u64 on device). mask may be NULL.
void reap_k_count_tokens(const uint8_t *mask, int N, unsigned long long *tokens, cudaStream_t s);
// Fills max_act (E) with -inf.
void reap_k_fill_neg_inf(double *x, int n, cudaStream_t s);

// The expert GEMMs as one plain cuBLASLt matmul per expert (kernels/xgemm_each.cu): for every
// expert e with rows off[e]..off[e+1) (host array, E+1; the plain or the padded layout of
// reap_k_permute*), C[off[e]..] (n_e, m) ctype = A[off[e]..] (n_e, k) bf16 * W_e (m, k)^T bf16,
// fp32 accumulate. W (E, m, k) bf16, A (off[E], k) bf16, C (off[E], m) in ctype CUDA_R_32F or
// CUDA_R_16BF; h bound to s (the cublasGemmEx fallback). The descriptors and the heuristic's
// algorithm of every (m, k, row count, ctype) are found once and cached in x (one context per
// stream: not thread-safe). prepare fills the cache for the row counts ns (nn) ahead of time.
// *launches (may be NULL) gets the number of GEMMs issued. Returns the first failing cuBLAS status.
// Checked against float64 in kernels/dev/dev_xgemm_each.
typedef struct reap_k_xgemm_each reap_k_xgemm_each;
cublasStatus_t reap_k_xgemm_each_create(reap_k_xgemm_each **out);
void reap_k_xgemm_each_destroy(reap_k_xgemm_each *x);  // accepts NULL
// Spreads each call's experts over n streams (1..4; 1 at creation): the caller's stream s and n-1
// side streams of x, each with its own cuBLASLt workspace (32 MiB), so that one expert's last
// partial wave of tiles overlaps the next expert's first. The call still looks synchronous on s:
// the side streams wait for s first and s waits for them at the end. Call with x's device current.
// An experiment, not measured yet (no GPU could be had when it was written): the pipeline keeps 1;
// `dev_fp8 experts` and dev_xgemm_each time one M2 chunk on 1-4 streams, and both check it.
cublasStatus_t reap_k_xgemm_each_streams(reap_k_xgemm_each *x, int n);
cublasStatus_t reap_k_xgemm_each_prepare(reap_k_xgemm_each *x, int m, int k, cudaDataType_t ctype, const int *ns, int nn);
cublasStatus_t reap_k_expert_gemms_each(reap_k_xgemm_each *x, cublasHandle_t h, cudaStream_t s, const int *off, int E,
                                        int m, int k, const __nv_bfloat16 *W, const __nv_bfloat16 *A, void *C,
                                        cudaDataType_t ctype, int *launches);

// FP8 expert GEMMs (`reap score --gpu-experts fp8`, opt-in; bench/RESULTS.md has the numbers that
// keep it so). Weights stay E4M3 with one f32 scale per 128x128 block (the checkpoint's own), the
// activations are quantised to E4M3 per row and 128 channels exactly as reap_quant_e4m3_block
// (lib/dtype.c, the reference) does with 1x128 blocks: scale = amax / 448 (1 for an all-zero group),
// q = e4m3(x / scale), IEEE division, round to nearest even, saturating. cuBLASLt multiplies them
// with BLK128x128_32F scales on the weights and VEC128_32F on the activations, f32 out, f32
// accumulate (fast accumulation is not offered with block scaling).
//
// Activation scales, laid out for one GEMM per expert of the padded layout (reap_k_permute_padded):
// expert e's rows off[e]..off[e+1) (n_e of them, a multiple of 64) have their scales at
// qs + off[e] * KB, row off[e] + r's group kb at [kb * n_e + r] (the row index fastest), KB = K/128;
// qs holds off[E] * KB floats. The weight scales of expert e: (m/128, ld) row-major, ld =
// reap_k_fp8_ld(k) (the K-block index fastest, rows padded to a multiple of 4 floats).
static inline __host__ __device__ int reap_k_fp8_ld(int k) { return (k / 128 + 3) / 4 * 4; }
// The model shapes the FP8 path takes: hidden and intermediate sizes multiples of 128.
static inline int reap_k_fp8_shapes_ok(int H, int I) { return H > 0 && I > 0 && H % 128 == 0 && I % 128 == 0; }
// reap_k_scatter_rows with the rows quantised on the way: q (P, H) e4m3, qs the scales as above;
// padding rows (pair_tok < 0) get zero codes and scale 1. off (E + 2) the device offsets of the
// padded layout (its 64-row tiles each lie in one expert); qr (P, H/128) f32 scratch (the scales
// row-major on the way). H % 128 == 0, S <= 64, x 8-byte aligned.
void reap_k_scatter_rows_fp8(const __nv_bfloat16 *x, const int *slot_pos, const int *off, int N, int S,
                             const int *pair_tok, int P, int E, int H, uint8_t *q, float *qs, float *qr,
                             cudaStream_t s);
// act = silu(G[:, :I]) * G[:, I:] in f32 from the bf16 gate|up output G (P, 2I) of the FP8 GEMM,
// quantised: q (P, I) e4m3, qs as above with K = I. I % 128 == 0, G 8-byte aligned. off as above.
void reap_k_silu_mul_fp8(const __nv_bfloat16 *G, int P, int I, const int *off, int E, uint8_t *q, float *qs,
                         cudaStream_t s);
// One layer's weight scales for the FP8 GEMMs: out (E, OBa + OBb, ld) with row ob < OBa from
// sa (E, OBa, KB) and the rest from sb (E, OBb, KB) (sb may be NULL when OBb == 0), ld >= KB, the
// padding columns 0. For w1|w3: sa = w1's scales, sb = w3's; for w2: sa alone.
void reap_k_fp8_pack_scales(const float *sa, const float *sb, int E, int OBa, int OBb, int KB, int ld, float *out,
                            cudaStream_t s);
// The expert GEMMs in FP8 (kernels/xgemm_each.cu, the cache of reap_k_expert_gemms_each): C
// (off[E], m) in ctype (CUDA_R_32F, or CUDA_R_16BF: the pipeline's gate|up output, 1.1x faster and
// half the bytes for the SiLU to read) = A (off[E], k) e4m3 (scales As as above) * W_e (m, k)^T e4m3 (W (E, m, k), scales
// Ws (E, m/128, reap_k_fp8_ld(k))). off: host offsets of the padded layout. m % 128 == 0, k % 128
// == 0. prepare_fp8 finds the algorithm of every row count ns ahead of time and returns
// CUBLAS_STATUS_NOT_SUPPORTED when cuBLASLt has none for one of them (no fallback: a bf16 GEMM
// would need the dequantised weights). Checked against float64 in kernels/dev/dev_fp8.
cublasStatus_t reap_k_xgemm_each_prepare_fp8(reap_k_xgemm_each *x, int m, int k, cudaDataType_t ctype, const int *ns,
                                             int nn);
cublasStatus_t reap_k_expert_gemms_fp8(reap_k_xgemm_each *x, cudaStream_t s, const int *off, int E, int m, int k,
                                       const uint8_t *W, const float *Ws, const uint8_t *A, const float *As, void *C,
                                       cudaDataType_t ctype, int *launches);

// `reap eval` on the GPU (kernels/evalhead.cu): z holds the logits of vocabulary ids [v0, v0 + n)
// of n_models models at P positions, row stride ld: model k's position i at row k*P + i (k = 0 the
// original). Folds them into st ((n_models - 1) * P running states, reap_eval_state_init'ed before
// the first slab): model k >= 1 against the original at position i in st[(k-1)*P + i]. target (P)
// the next token ids. Slabs go up the ids. Checked against reap_eval_position in kernels/dev.
void reap_k_eval_slab(const float *z, int ld, int P, int n_models, int v0, int n, const int *target,
                      reap_eval_state *st, cudaStream_t s);

#endif

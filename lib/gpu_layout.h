// gpu_layout.h: the size of every GPU buffer of the CUDA path (kernels/gpu.cu), computed once in
// plain C so that the memory fit, the allocation and the warm-up read the same numbers (a second copy
// of this arithmetic had drifted once), and the byte layout of one layer's raw weights as the host
// copies them. CPU-tested in tests/test_gpu_layout.c.
//
// Per GPU, for chunks of N = chunk_rows x T tokens and P = N x top_k (token, expert) slots:
//   hbuf[2]   (N, H) f32       hidden states, double-buffered (chunk i+1 in while i computes);
//                              not allocated when the hidden states stay on the GPU (below)
//   mask[2]   (N) u8           likewise
//   xb        (N, H) bf16      normed input of the q|k|v GEMM, then of the experts
//   logits    (N, E) f32       router logits
//   slot_*    (P)              expert, combine weight (f32), statistics gate (f64), pair index
//   pair_*    (PP)             token and slot of each row of the padded expert layout,
//                              PP = P + P/8 + 64 E (room for the padding of reap_k_pad_rows)
//   gy        (PP, max(2I, H)) f32  gate|up then down outputs (bf16 with FP8 expert GEMMs); the
//                              attention scratch (q|k|v f32, attention output, router input) and
//                              q, k, v bf16 live inside it
//   xe        (PP, max(H, I)) bf16  gathered expert inputs; the SiLU output lives inside it (with
//                              FP8 expert GEMMs: the e4m3 codes, their scales, the gather's scratch)
//   cnt, off, cursor, stats   (E) per-expert counts and float64 statistics
//   raw       one layer as read: experts in their stored dtype + FP8 scales, attention f32 (below)
//   keep      ln1, ln2, q_norm, k_norm, gate, bias f32 of the computing layer
//   wqkv, wo  bf16 attention weights; w13 (E, 2I, H), w2 (E, H, I) bf16 experts
//   gate_cat, gate_lo  the router split for the 3xTF32 router (REAP_GPU_ROUTER_TF32X3 only)
//   rope      (T, rotary_dim/2) float2
#ifndef REAP_GPU_LAYOUT_H
#define REAP_GPU_LAYOUT_H

#include <stddef.h>

#include "m2config.h"

// Router GEMM precision: fp32 (cublasSgemm, the default) or three TF32 tensor-core products
// (faster, errors ~14x Sgemm's; bench/RESULTS.md sixth pass). Grows at the end.
typedef enum { REAP_GPU_ROUTER_FP32, REAP_GPU_ROUTER_TF32X3, REAP_GPU_ROUTER_COUNT } reap_gpu_router;
const char *reap_gpu_router_name(reap_gpu_router r);  // "fp32", "tf32x3"
int reap_gpu_router_parse(const char *s, reap_gpu_router *out);

// Expert GEMM precision: bf16 (the FP8 weights dequantised once a layer; the default) or fp8
// (E4M3 weights with their 128x128 block scales as stored, activations quantised per token and 128
// channels; opt-in: faster, less exact, bench/RESULTS.md "FP8 expert GEMMs in the pipeline").
// fp8 is taken only where the checkpoint's experts are FP8 in 128x128 blocks and the hidden and
// intermediate sizes are multiples of 128 (reap_gpu_experts_fp8_why says why not); bf16 otherwise.
typedef enum { REAP_GPU_EXPERTS_BF16, REAP_GPU_EXPERTS_FP8, REAP_GPU_EXPERTS_COUNT } reap_gpu_experts;
const char *reap_gpu_experts_name(reap_gpu_experts x);  // "bf16", "fp8"
int reap_gpu_experts_parse(const char *s, reap_gpu_experts *out);
// NULL when the model's experts can run as FP8 GEMMs, else the reason (a static string).
const char *reap_gpu_experts_fp8_why(const reap_m2_config *c, int expert_dtype);

// Byte offsets of one layer's tensors in the raw buffer (experts w1 | w3 | w2 in expert_dtype, then
// their FP8 scales s1 | s3 | s2 when FP8, then the f32 tensors wq | wk | wv | wo | ln1 | ln2 |
// q_norm | k_norm | gate | bias). ln1..bias are contiguous (keep_bytes from ln1): they are copied to
// keep as one block.
typedef struct {
    size_t w1, w3, w2;           // expert matrices: (E, I, H), (E, I, H), (E, H, I)
    size_t s1, s3, s2;           // FP8 scales (E, ceil(I/br), ceil(H/bc)) ..., 0 bytes when not FP8
    size_t n13, n2;              // scale elements per expert of w1 (= w3) and of w2
    size_t wq, wk, wv, wo, ln1, ln2, qn, kn, gate, bias;
    size_t keep_bytes;           // ln1 .. bias
    size_t bytes;                // the whole buffer
} reap_gpu_raw_layout;

void reap_gpu_raw_layout_make(const reap_m2_config *c, int expert_dtype, reap_gpu_raw_layout *out);

// Bytes of every buffer one GPU allocates (0 for one it does not need).
typedef struct {
    int chunk_rows, T;
    size_t tokens, slots, pair_rows;  // N, P, PP
    size_t hbuf, mask, xb, logits;    // each of hbuf and mask twice
    size_t slot_e, slot_w, slot_g, slot_pos, pair_tok, pair_slot;
    size_t gy, big, qkv_off;          // gy's bytes; inside it the attention scratch (big) and q|k|v bf16 at qkv_off
    size_t xe;
    size_t cnt, off, cursor, stat;    // stat: one float64 / u64 per expert (count, gate, norm, reap, max)
    size_t raw, keep, wqkv, wo, w13, w2, gate_cat, gate_lo, rope;
    size_t host_off;                  // page-locked host copy of off and cnt
    size_t total;                     // every device buffer above
} reap_gpu_layout;

void reap_gpu_layout_make(const reap_m2_config *c, int chunk_rows, int T, int expert_dtype, reap_gpu_router router,
                          reap_gpu_layout *out);

// Device bytes reap_gpu_layout_make does not count: the cuBLAS and cuBLASLt workspaces and the like.
#define REAP_GPU_OVERHEAD_BYTES ((size_t)256 << 20)

// Rows per chunk for a GPU with cap bytes to use: the most rows up to min(want_rows, rows) whose
// layout (plus REAP_GPU_OVERHEAD_BYTES) fits, or 0 when not even one row does.
int reap_gpu_layout_fit(const reap_m2_config *c, int rows, int T, int expert_dtype, reap_gpu_router router,
                        size_t cap, int want_rows);

// Where the hidden states live between layers (reap_gpu_params.hidden, `--gpu-hidden`): auto (on
// the GPUs when they fit, else host memory), host (copied in and out chunk by chunk every layer, as
// before), gpu (on the GPUs, or an error when they do not fit). Grows at the end.
typedef enum { REAP_GPU_HIDDEN_AUTO, REAP_GPU_HIDDEN_HOST, REAP_GPU_HIDDEN_GPU, REAP_GPU_HIDDEN_COUNT } reap_gpu_hidden;
const char *reap_gpu_hidden_name(reap_gpu_hidden h);  // "auto", "host", "gpu"
int reap_gpu_hidden_parse(const char *s, reap_gpu_hidden *out);

// Device bytes of the hidden states a GPU keeps between layers: n_streams x (rows x T, H) f32 for its
// rows, and their mask (rows x T) u8 (one for every stream: they share it).
size_t reap_gpu_resident_bytes(const reap_m2_config *c, int rows, int T, int n_streams);

// Device bytes of a GPU with its hidden states resident: the layout at chunk_rows less its double
// buffers hbuf[2] and mask[2] (the chunks then run in place on slices of the resident states), the
// resident bytes, and REAP_GPU_OVERHEAD_BYTES. The host path needs L.total + REAP_GPU_OVERHEAD_BYTES.
size_t reap_gpu_resident_need(const reap_m2_config *c, int chunk_rows, int rows, int T, int n_streams,
                              int expert_dtype, reap_gpu_router router);

// The choice of where the hidden states live, for GPUs that took rows dev_rows[i] and may use
// dev_cap[i] bytes each. The rule: the chunk size is chosen first, as if the hidden states stayed in
// host memory (reap_gpu_layout_fit), and never shrinks to make room for them, so that the chunks, the
// GEMM shapes and hence the statistics are the same bits either way; the hidden states then go on the
// GPUs only when EVERY GPU holds its share beside that layout (need <= cap: one place for all, so a
// run has one answer to print), and when a row, T x hidden f32, is a whole number of 256 bytes: every
// chunk inside the resident states then starts as aligned as the host path's chunk buffers
// (cudaMalloc's 256), so cuBLAS sees the same alignment and picks the same kernels (MiniMax-M2's
// 3072 x 4 bytes always is). Mode host: never; auto and gpu: when they fit (gpu makes a misfit an
// error, the caller's).
typedef struct {
    int on_gpu;        // 1: the hidden states stay on the GPUs between layers
    int unaligned;     // 1: rows are not a whole number of 256 bytes (never on the GPUs)
    int device;        // index (into dev_rows) of the GPU with the least room to spare
    size_t need, cap;  // its bytes with the hidden states resident (reap_gpu_resident_need), its cap
    size_t bytes;      // its resident hidden states (reap_gpu_resident_bytes)
} reap_gpu_hidden_plan;
void reap_gpu_hidden_plan_make(const reap_m2_config *c, int chunk_rows, int T, int expert_dtype, reap_gpu_router router,
                               int n_streams, reap_gpu_hidden mode, int n_dev, const int *dev_rows,
                               const size_t *dev_cap, reap_gpu_hidden_plan *out);

// Rows per chunk asked for: chunk_tokens (0: REAP_GPU_CHUNK_TOKENS) in whole rows of T tokens.
// 64k tokens: layers 3.3% faster than 32k on an H200 (bigger GEMMs per expert; bench/RESULTS.md).
#define REAP_GPU_CHUNK_TOKENS 65536
int reap_gpu_want_rows(int chunk_tokens, int T);

// `reap eval`'s comparison of logits on one GPU (kernels/gpu_head.cu): the lm_head in f32 (V, H), the
// normed hidden states of n_models models at P positions (n_models P, H) f32, one slab of their
// logits (n_models P, REAP_GPU_HEAD_SLAB) f32, the targets (P) and the running states
// ((n_models - 1) P). 4096 ids x 1280 rows is 21 MB: the slab is written by the GEMM and read by
// the reduction while it is still in the H100's 50 MB L2.
#define REAP_GPU_HEAD_SLAB 4096
#define REAP_GPU_HEAD_ROWS 1280  // rows of all models per GEMM the position count aims at
size_t reap_gpu_head_bytes(int V, int H, int n_models, int P);
// Positions per chunk: REAP_GPU_HEAD_ROWS / n_models (at least 1), at most max_pos, fewer when the
// buffers would exceed cap (with REAP_GPU_OVERHEAD_BYTES for cuBLAS); 0 when not even one fits.
int reap_gpu_head_positions(int V, int H, int n_models, int max_pos, size_t cap);

#endif

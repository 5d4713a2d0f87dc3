// cpu_ops.h: the CPU building blocks of the forward pass (fp32, OpenMP): packed-panel GEMM with
// on-the-fly dequantisation of stored weights, RMSNorm, partial NeoX RoPE, causal GQA attention.
// They are the numerical reference the CUDA kernels are checked against.
//
// Determinism: every output element is computed by the same sequence of fp32 operations whatever
// the number of threads, the tiling or the instruction set (cpu_simd.h: GEMM sums are fmas over k
// in order, one lane per output element), so results are bit-identical for any OMP_NUM_THREADS.
#ifndef REAP_CPU_OPS_H
#define REAP_CPU_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"

// Weights of C = A W^T are packed into panels of REAP_NR output columns: panel p holds
// W[p*NR + j][kk] at p*(k*NR) + kk*NR + j, zero-padded to a whole panel.
#define REAP_NR 16

size_t reap_cpu_panels_floats(int n, int k);  // floats of the packed form of an (n, k) matrix
// Aligned allocation for panels and activations (free with free()).
float *reap_cpu_alloc(size_t floats);

// w (n, k) f32 -> panels. Parallel (OpenMP).
void reap_cpu_pack_f32(const float *w, int n, int k, float *panels);
// Rows [row0, row0 + rows) of a packed matrix with n_total rows and k columns from a stored
// matrix w (rows, k) of dtype dt (F32, BF16, F16, F8_E4M3, F8_E5M2); FP8 takes scale
// (ceil(rows/br), ceil(k/bc)) f32 multipliers ("weight_scale_inv"), else scale is NULL.
// The padding rows of the last panel must be zeroed by the caller (reap_cpu_pack_zero_pad).
void reap_cpu_pack_rows(reap_dtype dt, const uint8_t *w, const float *scale, int br, int bc, int rows, int k,
                        int row0, int n_total, float *panels);
void reap_cpu_pack_zero_pad(int n, int k, float *panels);

// c (m, n) = a (m, k) @ W^T with W given as panels of (n, k). lda >= k: row stride of a.
// c[i][j] = fma(a[i][k-1], W[j][k-1], ... fma(a[i][1], W[j][1], fma(a[i][0], W[j][0], 0))).
// Parallel over row blocks and panels.
void reap_cpu_gemm(const float *a, int m, int k, int lda, const float *panels, int n, float *c);
// Floats of the per-thread buffer reap_cpu_gemm allocates for a depth of k.
size_t reap_cpu_gemm_workspace_floats(int k);

// y (n, dim) = w * x / sqrt(mean(x^2) + eps) row by row (x may equal y). x rows have stride ldx,
// y rows stride ldy.
void reap_cpu_rmsnorm(const float *x, int n, int dim, int ldx, const float *w, double eps, float *y, int ldy);

// In-place partial NeoX rotary embedding on x (T, n_heads, head_dim) with row stride ld (floats):
// for token t at position t, in each head: dims j and j + rot/2 (j < rot/2) are rotated by angle
// t * theta^(-2j/rot); dims rot..head_dim-1 are unchanged. Angles in fp32 as transformers
// computes them.
void reap_cpu_rope(float *x, int T, int n_heads, int head_dim, int rot, double theta, int ld);

// Causal softmax attention of one packed row: q (T, nh*hd), k and v (T, nkv*hd), out (T, nh*hd),
// row strides ldq, ldk (shared by k and v) and ldo. Query head h uses KV head h / (nh / nkv),
// scale 1/sqrt(hd). No attention reset within the row. Parallel over heads.
void reap_cpu_attention(const float *q, const float *k, const float *v, int T, int nh, int nkv, int hd, int ldq,
                        int ldk, float *out, int ldo);
// The same for `rows` packed rows of T tokens each (row r's tokens start at token r*T of q, k, v and
// out), parallel over (row, head) pairs. Per-thread memory: reap_cpu_attention_workspace_floats.
void reap_cpu_attention_rows(const float *q, const float *k, const float *v, int rows, int T, int nh, int nkv, int hd,
                             int ldq, int ldk, float *out, int ldo);
size_t reap_cpu_attention_workspace_floats(int T, int hd);

#endif

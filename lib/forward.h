// forward.h: the MiniMax-M2 forward pass on CPU (OpenMP, fp32 arithmetic on dequantised weights),
// one layer at a time, with the REAP observer. The CPU path is the numerical reference for the GPU.
#ifndef REAP_FORWARD_H
#define REAP_FORWARD_H

#include <stdint.h>

#include "ckpt.h"
#include "m2config.h"
#include "stats.h"

// One layer's weights as read from the checkpoint. Attention, norms and router are dequantised to
// f32 at load; expert weights stay in their stored form (FP8 bytes + f32 block scales, or BF16/F32)
// and are dequantised one expert at a time into a workspace, so memory stays one layer + workspace.
typedef struct {
    int layer;
    float *ln1, *ln2;              // (H) input_layernorm, post_attention_layernorm
    float *wq, *wk, *wv, *wo;      // (nh*hd, H), (nkv*hd, H), (nkv*hd, H), (H, nh*hd)
    float *q_norm, *k_norm;        // (nh*hd), (nkv*hd); NULL without qk norm
    float *gate;                   // (E, H) router, f32
    float *bias;                   // (E) e_score_correction_bias, NULL without routing bias
    // Expert weights, raw: w1/w3 (E, I, H), w2 (E, H, I) in dtype expert_dtype; when FP8, scales
    // s1/s3 (E, ceil(I/br), ceil(H/bc)) and s2 (E, ceil(H/br), ceil(I/bc)) f32.
    int expert_dtype;              // reap_dtype
    uint8_t *w1, *w3, *w2;
    float *s1, *s3, *s2;
    size_t bytes;                  // host bytes held
} reap_layer_weights;

int reap_layer_load(const reap_ckpt *c, const reap_m2_config *cfg, int layer, reap_layer_weights *w);
void reap_layer_free(reap_layer_weights *w);
// reap_layer_load into caller-owned host memory (the GPU path passes pinned memory allocated once,
// so the copies to the GPU run at full bus speed without page-locking every layer): every buffer of
// w is carved out of arena (arena_bytes, at least reap_layer_arena_bytes). Release w with
// reap_layer_forget (it frees nothing), never reap_layer_free.
int reap_layer_arena_bytes(const reap_ckpt *c, const reap_m2_config *cfg, int layer, size_t *bytes);
int reap_layer_load_into(const reap_ckpt *c, const reap_m2_config *cfg, int layer, void *arena, size_t arena_bytes,
                         reap_layer_weights *w);
void reap_layer_forget(reap_layer_weights *w);
// Called by reap_layer_load_parts from the calling thread as tensors land in memory: first once
// with e0 == e1 == 0 when the non-expert tensors (norms, attention, router gate, bias) are read,
// then for consecutive expert ranges [e0, e1) (all of w1, w3, w2 and their scales for those
// experts), in increasing order, covering 0..n_experts. w's pointers are all set at the first call.
typedef void (*reap_layer_part_fn)(void *ctx, const reap_layer_weights *w, int e0, int e1);
// reap_layer_load_into (arena may be NULL: heap, like reap_layer_load) with the experts read by
// `threads` threads in parallel (<= 0: env REAP_READ_THREADS, else 8), in parts of about 64 MB
// (env REAP_READ_PART_BYTES overrides the size, for tests), calling part (may be NULL) after each.
// Same weights, same error messages as reap_layer_load for any thread count: on several bad
// tensors the first in reading order (norms and attention, router, then expert 0's w1, w3, w2,
// expert 1's...) is named. reap_layer_load and reap_layer_load_into are this with the default
// thread count and no callback. On failure no part covering the failed tensor or a later one is
// reported, and w is released.
int reap_layer_load_parts(const reap_ckpt *c, const reap_m2_config *cfg, int layer, void *arena, size_t arena_bytes,
                          int threads, reap_layer_part_fn part, void *ctx, reap_layer_weights *w);

// Runs one decoder layer in place on h (rows*T, H) f32 for packed rows of T tokens (positions
// 0..T-1 in each row, causal attention within the row), mask (rows*T) marks tokens counted in
// statistics, and accumulates the observer statistics of this layer into st. Deterministic for
// any number of threads.
int reap_layer_forward_cpu(const reap_m2_config *cfg, const reap_layer_weights *w, float *h, int rows,
                           int T, const uint8_t *mask, reap_router_mode mode, reap_layer_stats *st);

// Embedding lookup: ids (rows*T) -> h (rows*T, H) f32.
int reap_embed_cpu(const reap_ckpt *c, const reap_m2_config *cfg, const int32_t *ids, int64_t n, float *h);
// Final norm + lm_head for the given positions: logits (n, vocab) f32 (tests and golden checks).
int reap_logits_cpu(const reap_ckpt *c, const reap_m2_config *cfg, const float *h, int64_t n, float *logits);

// ---- Additions (observer, traces, sizing) ------------------------------------------------------

// The model's routing of one layer for every token (rows*T), filled by reap_layer_forward_cpu_ex
// when asked (golden tests): chosen (n, k) expert ids, weight (n, k) renormalised gate weights,
// norm (n, k) ||E_j(x)||_2 of those experts' outputs, max_act (n, k) their largest element.
typedef struct {
    int *chosen;
    double *weight, *norm;
    float *max_act;
} reap_layer_trace;

// reap_layer_forward_cpu plus an optional trace (NULL: none) and st may be NULL (no statistics).
int reap_layer_forward_cpu_ex(const reap_m2_config *cfg, const reap_layer_weights *w, float *h, int rows, int T,
                              const uint8_t *mask, reap_router_mode mode, reap_layer_stats *st,
                              reap_layer_trace *trace);

// Observer update for one valid token: chosen (k) experts, g (k) gate weights, norm (k) expert
// output norms, max_act (k) largest output element (or NULL). Adds to st in slot order.
void reap_observer_add_token(reap_layer_stats *st, int k, const int *chosen, const double *g, const double *norm,
                             const float *max_act);

// Host bytes of one layer's weights as reap_layer_load holds them (attention, norms and router
// as f32, experts as stored), from the checkpoint's tensor dtypes.
int reap_layer_bytes(const reap_ckpt *c, const reap_m2_config *cfg, int layer, size_t *bytes);
// Peak workspace bytes of reap_layer_forward_cpu for rows of T tokens with n_threads threads.
size_t reap_forward_workspace_bytes(const reap_m2_config *cfg, int rows, int T, int n_threads);
// Checks the configuration is one this forward pass supports (sigmoid scoring, per_layer or no QK
// norm, GQA divisibility, rotary_dim even and <= head_dim); path is used in messages.
int reap_forward_check_config(const reap_m2_config *cfg, const char *path);

#endif

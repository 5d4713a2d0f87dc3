// forward.h: the MiniMax-M2 forward pass on CPU (OpenMP, fp32 arithmetic on dequantised weights),
// one layer at a time (weights from layer_load.h), with the REAP observer (observer.h). The CPU
// path is the numerical reference for the GPU.
#ifndef REAP_FORWARD_H
#define REAP_FORWARD_H

#include <stdint.h>

#include "ckpt.h"
#include "layer_load.h"
#include "m2config.h"
#include "observer.h"
#include "stats.h"

// Runs one decoder layer in place on h (rows*T, H) f32 for packed rows of T tokens (positions
// 0..T-1 in each row, causal attention within the row), mask (rows*T) marks tokens counted in
// statistics, and accumulates the observer statistics of this layer into st. Deterministic for
// any number of threads.
int reap_layer_forward_cpu(const reap_m2_config *cfg, const reap_layer_weights *w, float *h, int rows,
                           int T, const uint8_t *mask, reap_router_mode mode, reap_layer_stats *st);

// Embedding lookup: ids (rows*T) -> h (rows*T, H) f32.
// The token ids all in [0, vocab) (an error names the first that is not).
int reap_embed_check(const reap_m2_config *cfg, const int32_t *ids, int64_t n);
// Rows [v0, v0 + n) of the embedding table as f32 (out (n, hidden)); scratch holds n rows in the
// tensor's dtype (n x hidden x 4 bytes always suffice). need: NULL (every row), or need[v] != 0 for
// the rows v of the whole table that must be read: only the groups of REAP_EMBED_GROUP rows holding
// one are read (adjacent groups in one read) and converted; the rest of out is left as it was.
#define REAP_EMBED_GROUP 64
int reap_embed_table_rows(const reap_ckpt *c, const reap_m2_config *cfg, int v0, int n, const uint8_t *need,
                          void *scratch, float *out);
int reap_embed_cpu(const reap_ckpt *c, const reap_m2_config *cfg, const int32_t *ids, int64_t n, float *h);
// The output matrix (lm_head.weight, or the embedding when tied), checked (vocab, hidden) and
// BF16, F16 or F32; and the final norm's weight (hidden) as f32.
int reap_head_tensor(const reap_ckpt *c, const reap_m2_config *cfg, const reap_ckpt_tensor **out);
int reap_final_norm_weight(const reap_ckpt *c, const reap_m2_config *cfg, float *w);
// Final norm + lm_head for the given positions: logits (n, vocab) f32 (tests and golden checks).
int reap_logits_cpu(const reap_ckpt *c, const reap_m2_config *cfg, const float *h, int64_t n, float *logits);

// reap_layer_forward_cpu plus an optional trace (NULL: none; each of its arrays holds rows*T*k
// entries); st may be NULL (no statistics).
int reap_layer_forward_cpu_ex(const reap_m2_config *cfg, const reap_layer_weights *w, float *h, int rows, int T,
                              const uint8_t *mask, reap_router_mode mode, reap_layer_stats *st,
                              reap_layer_trace *trace);

// Peak workspace bytes of reap_layer_forward_cpu for rows of T tokens with n_threads threads.
size_t reap_forward_workspace_bytes(const reap_m2_config *cfg, int rows, int T, int n_threads);
// Checks the configuration is one this forward pass supports (sigmoid scoring, per_layer or no QK
// norm, GQA divisibility, rotary_dim even and <= head_dim); path is used in messages.
int reap_forward_check_config(const reap_m2_config *cfg, const char *path);

#endif

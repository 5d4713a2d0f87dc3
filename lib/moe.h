// moe.h: the MiniMax-M2 sparse MoE block on CPU (spec minimax-m2.md 2.3) with the REAP observer:
// router in fp32, sigmoid + bias top-k, renormalised unbiased weights, SwiGLU experts computed
// only for routed (token, expert) pairs, grouped by expert and dequantised one expert at a time.
#ifndef REAP_MOE_H
#define REAP_MOE_H

#include <stddef.h>
#include <stdint.h>

#include "forward.h"

// h (n, H) f32 in place: h += moe(rmsnorm(h, ln2)). mask (n) selects the tokens the observer
// counts (NULL: all). Statistics use router mode `mode` (which may choose experts the model does
// not: those are computed for the statistics only); st and trace may be NULL.
int reap_moe_cpu(const reap_m2_config *cfg, const reap_layer_weights *w, float *h, int64_t n, const uint8_t *mask,
                 reap_router_mode mode, reap_layer_stats *st, reap_layer_trace *trace);

// Tokens per MoE chunk (bounds the workspace) and the workspace bytes of one chunk.
int reap_moe_chunk_tokens(const reap_m2_config *cfg);
size_t reap_moe_workspace_bytes(const reap_m2_config *cfg, int64_t n_tokens, int n_threads);

#endif

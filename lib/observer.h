// observer.h: the REAP observer (spec reap.md section 2): the per-token routing the statistics are
// taken under, and the fold of one token's routed experts into a layer's accumulators (stats.h).
// The CPU forward pass (moe.c) calls both per token; the GPU path computes the same on the device
// and is checked against these.
#ifndef REAP_OBSERVER_H
#define REAP_OBSERVER_H

#include "stats.h"

// Routing of one token for router mode m: logits (n_experts) f32 raw router logits, bias
// (n_experts) f32 e_score_correction_bias or NULL (used by REAP_ROUTER_MODEL only: sigmoid + bias
// chooses, the unbiased sigmoids renormalised over the k are the weights; the softmax modes choose
// by the raw logits and ignore it). Writes chosen (k) expert ids, highest score first (ties to the
// lower id), and g (k) float64 gate weights. 0 < k <= n_experts.
void reap_route(reap_router_mode m, const float *logits, const float *bias, int n_experts, int k,
                int *chosen, double *g);

// Folds one valid (unmasked) token into st: chosen (k) expert ids, g (k) gate weights, norm (k)
// ||E_j(x)||_2 of those experts' outputs, max_act (k) their largest output element (or NULL: max_act
// untouched). Adds to st in slot order, so totals are the same for any thread count when tokens are
// folded in token order.
void reap_observer_add_token(reap_layer_stats *st, int k, const int *chosen, const double *g, const double *norm,
                             const float *max_act);

// The model's routing of one layer for every token (n = rows*T), filled by
// reap_layer_forward_cpu_ex when asked (golden tests, GPU checks): chosen (n, k) expert ids,
// weight (n, k) renormalised gate weights, norm (n, k) ||E_j(x)||_2 of those experts' outputs,
// max_act (n, k) their largest element (NULL: not filled).
typedef struct {
    int *chosen;
    double *weight, *norm;
    float *max_act;
} reap_layer_trace;

#endif

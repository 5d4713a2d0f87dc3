// eval_metrics.h: the per-position numbers of `reap eval` (spec eval.md): cross-entropy, KL(P || Q)
// over the full vocabulary, top-1 agreement and top-5 membership, from two logit vectors, in
// float64; and the quantiles of their distribution. The CPU reference (tests/test_eval.c pins a
// hand-computed example).
#ifndef REAP_EVAL_METRICS_H
#define REAP_EVAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double ce_p, ce_q;  // -log p(target), -log q(target)
    double kl;          // sum_v p_v (log p_v - log q_v), >= 0 (clamped at 0 against rounding)
    int top1_p, top1_q; // argmax, ties to the lowest id
    int agree;          // top1_p == top1_q
    int in_top5;        // top1_p is among q's 5 highest (ties to the lower id)
} reap_eval_pos;

// One position: z (V) f32 logits of the original P, zq (V) of the other model Q (may equal z),
// target the next token id in [0, V).
void reap_eval_position(const float *z, const float *zq, int V, int target, reap_eval_pos *out);
// log sum_v exp(z_v) in float64.
double reap_eval_logsumexp(const float *z, int V);
// Argmax of z (V), ties to the lowest id.
int reap_eval_argmax(const float *z, int V);
// Rank of id a in z (V): how many ids come before it in descending order (ties: lower id first).
int reap_eval_rank(const float *z, int V, int a);
// Quantile q in [0, 1] of v (n > 0) by linear interpolation between order statistics (numpy's
// default): sorts v in place.
double reap_eval_quantile(double *v, size_t n, double q);

#endif

// observer.c: the REAP observer's per-token routing (spec reap.md section 2, observer.h) and the
// per-layer accumulators of stats.h (init, free, add). The forward pass computes, per token, the
// chosen experts and gate weights with reap_route and the expert output norms;
// reap_observer_add_token folds them into the float64 accumulators in token order, so totals never
// depend on the number of threads.
#include "observer.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

void reap_layer_stats_init(reap_layer_stats *s, int n_experts) {
    REAP_ASSERT(n_experts > 0);
    s->n_experts = n_experts;
    s->tokens = 0;
    s->e = reap_xcalloc((size_t)n_experts, sizeof *s->e);
    for (int j = 0; j < n_experts; j++) s->e[j].max_act = -INFINITY;
}

void reap_layer_stats_free(reap_layer_stats *s) {
    if (!s) return;
    free(s->e);
    s->e = NULL;
    s->n_experts = 0;
    s->tokens = 0;
}

void reap_layer_stats_add(reap_layer_stats *dst, const reap_layer_stats *src) {
    REAP_ASSERT(dst->n_experts == src->n_experts);
    dst->tokens += src->tokens;
    for (int j = 0; j < dst->n_experts; j++) {
        reap_expert_stats *d = &dst->e[j];
        const reap_expert_stats *s = &src->e[j];
        d->count += s->count;
        d->gate_sum += s->gate_sum;
        d->norm_sum += s->norm_sum;
        d->reap_sum += s->reap_sum;
        if (s->max_act > d->max_act) d->max_act = s->max_act;
    }
}

// Top-k of score (n) into chosen (k), highest first; ties go to the lower index (strict >), so
// the choice is deterministic. NaN scores are never chosen over numbers.
static void topk(const float *score, int n, int k, int *chosen) {
    unsigned char stack[512];
    unsigned char *used = n <= 512 ? stack : reap_xmalloc((size_t)n);
    memset(used, 0, (size_t)n);
    for (int s = 0; s < k; s++) {
        int best = -1;
        for (int j = 0; j < n; j++) {
            if (used[j]) continue;
            if (best < 0 || score[j] > score[best] || (isnan(score[best]) && !isnan(score[j]))) best = j;
        }
        chosen[s] = best;
        used[best] = 1;
    }
    if (used != stack) free(used);
}

void reap_route(reap_router_mode m, const float *logits, const float *bias, int n_experts, int k,
                int *chosen, double *g) {
    REAP_ASSERT(k > 0 && k <= n_experts);
    float stack[512];
    float *score = n_experts <= 512 ? stack : reap_xmalloc((size_t)n_experts * sizeof *score);
    if (m == REAP_ROUTER_MODEL) {
        // sigmoid and the bias add in fp32, as the model computes them: the bias values are large
        // and the choice must match the model's bit for bit on near ties.
        for (int j = 0; j < n_experts; j++) {
            float s = 1.0f / (1.0f + expf(-logits[j]));
            score[j] = bias ? s + bias[j] : s;
        }
        topk(score, n_experts, k, chosen);
        double sum = 0;
        for (int s = 0; s < k; s++) {
            g[s] = 1.0f / (1.0f + expf(-logits[chosen[s]]));
            sum += g[s];
        }
        for (int s = 0; s < k; s++) g[s] = sum > 0 ? g[s] / sum : 1.0 / k;
    } else {
        // The reference's softmax paths choose by the raw logits; the bias is ignored.
        topk(logits, n_experts, k, chosen);
        double mx = logits[chosen[0]];
        if (m == REAP_ROUTER_SOFTMAX) {
            double sum = 0;
            for (int j = 0; j < n_experts; j++) sum += exp((double)logits[j] - mx);
            for (int s = 0; s < k; s++) g[s] = exp((double)logits[chosen[s]] - mx) / sum;
        } else {
            REAP_ASSERT(m == REAP_ROUTER_SOFTMAX_RENORM);
            double sum = 0;
            for (int s = 0; s < k; s++) sum += exp((double)logits[chosen[s]] - mx);
            for (int s = 0; s < k; s++) g[s] = fmax(exp((double)logits[chosen[s]] - mx) / sum, FLT_EPSILON);
        }
    }
    if (score != stack) free(score);
}

void reap_observer_add_token(reap_layer_stats *st, int k, const int *chosen, const double *g,
                             const double *norm, const float *max_act) {
    st->tokens++;
    for (int s = 0; s < k; s++) {
        reap_expert_stats *e = &st->e[chosen[s]];
        e->count++;
        e->gate_sum += g[s];
        e->norm_sum += norm[s];
        e->reap_sum += g[s] * norm[s];
        if (max_act && max_act[s] > e->max_act) e->max_act = max_act[s];
    }
}

// test_observer.c: the REAP observer (routing of each router mode and the float64 accumulators)
// against the public reference's golden values (spec reap.md section 2), through reap_route, the
// accumulation and reap_stats_saliency.
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "observer.h"
#include "stats.h"
#include "test.h"

// Accumulates tokens routed with mode into a one-layer statistics object. norms (n, E): the
// expert output norm each token would give each expert (only the chosen ones are read).
static void accumulate(reap_stats *s, reap_router_mode m, const float *logits, const double *norms,
                       const int *valid, int n, int E, int k, int *chosen_out) {
    for (int t = 0; t < n; t++) {
        int chosen[8];
        double g[8], nrm[8];
        reap_route(m, logits + t * E, NULL, E, k, chosen, g);
        for (int s2 = 0; s2 < k; s2++) {
            nrm[s2] = norms[t * E + chosen[s2]];
            if (chosen_out) chosen_out[t * k + s2] = chosen[s2];
        }
        if (valid[t]) reap_observer_add_token(&s->layers[0], k, chosen, g, nrm, NULL);
    }
    s->layers_done = 1;
}

static const float three_logits[] = {2, 1, 0, 1, 0, 2};
static const double three_norms[] = {5, 6, 0, 17, 0, 25};
static const int all_valid[] = {1, 1, 1};

static void check_saliency(const reap_stats *s, reap_criterion c, const double *want, int E, double rel, int *failed) {
    double got[8];
    if (reap_stats_saliency(s, 0, c, got) != REAP_OK) {
        printf("  saliency %s failed: %s\n", reap_criterion_name(c), reap_err_msg());
        *failed = 1;
        return;
    }
    for (int j = 0; j < E; j++)
        if (fabs(got[j] - want[j]) > rel * fmax(1e-12, fabs(want[j]))) {
            printf("  %s[%d] = %.10g, expected %.10g\n", reap_criterion_name(c), j, got[j], want[j]);
            *failed = 1;
        }
}

static void test_softmax_renorm_reproduces_reference_three_experts(void) {
    reap_stats s;
    CHECK(reap_stats_init(&s, 1, 3, 2) == REAP_OK);
    int chosen[4];
    accumulate(&s, REAP_ROUTER_SOFTMAX_RENORM, three_logits, three_norms, all_valid, 2, 3, 2, chosen);
    CHECK(chosen[0] == 0 && chosen[1] == 1 && chosen[2] == 2 && chosen[3] == 0);
    int failed = 0;
    const double reap[] = {4.1136485, 1.6136485, 18.2764645}, ean_mean[] = {11, 6, 25};
    check_saliency(&s, REAP_CRIT_REAP, reap, 3, 1e-7, &failed);
    check_saliency(&s, REAP_CRIT_EAN_MEAN, ean_mean, 3, 1e-12, &failed);
    CHECK_EQ_INT(s.layers[0].tokens, 2);
    CHECK_EQ_INT(s.layers[0].e[0].count, 2);
    reap_stats_free(&s);
    CHECK(!failed);
}

static void test_softmax_reproduces_reference_three_experts(void) {
    reap_stats s;
    CHECK(reap_stats_init(&s, 1, 3, 2) == REAP_OK);
    accumulate(&s, REAP_ROUTER_SOFTMAX, three_logits, three_norms, all_valid, 2, 3, 2, NULL);
    int failed = 0;
    const double reap[] = {3.7432944, 1.4683708, 16.6310239}, ean_mean[] = {11, 6, 25};
    check_saliency(&s, REAP_CRIT_REAP, reap, 3, 1e-7, &failed);
    check_saliency(&s, REAP_CRIT_EAN_MEAN, ean_mean, 3, 1e-12, &failed);
    reap_stats_free(&s);
    CHECK(!failed);
}

// Two experts, k = 1, the middle token masked out (the forward pass skips masked tokens the same
// way: moe.c adds only tokens whose mask is set).
static void test_masked_token_excluded_reproduces_reference_two_experts(void) {
    reap_stats s;
    CHECK(reap_stats_init(&s, 1, 2, 1) == REAP_OK);
    const float logits[] = {2, 1, 9, -9, 4, 0};
    const double norms[] = {5, 0, 1000, 0, 13, 0};
    const int valid[] = {1, 0, 1};
    accumulate(&s, REAP_ROUTER_SOFTMAX, logits, norms, valid, 3, 2, 1, NULL);
    int failed = 0;
    const double reap[] = {8.2107361, 0}, wes[] = {16.4214722, 0}, wf[] = {1.7130724, 0}, es[] = {18, 0},
                 em[] = {9, 0}, freq[] = {2, 0};
    check_saliency(&s, REAP_CRIT_REAP, reap, 2, 1e-7, &failed);
    check_saliency(&s, REAP_CRIT_WEIGHTED_EAN_SUM, wes, 2, 1e-7, &failed);
    check_saliency(&s, REAP_CRIT_WEIGHTED_FREQUENCY, wf, 2, 1e-7, &failed);
    check_saliency(&s, REAP_CRIT_EAN_SUM, es, 2, 1e-12, &failed);
    check_saliency(&s, REAP_CRIT_EAN_MEAN, em, 2, 1e-12, &failed);
    check_saliency(&s, REAP_CRIT_FREQUENCY, freq, 2, 0, &failed);
    CHECK_EQ_INT(s.layers[0].tokens, 2);
    reap_stats_free(&s);
    CHECK(!failed);
}

// model mode: choose by sigmoid(l) + bias, weigh by the unbiased sigmoid renormalised.
static void test_model_mode_chooses_with_bias_weighs_without(void) {
    const float l[] = {0, 1, 2, -1};
    const float bias[] = {3, 0, 0, 0};
    int c[2];
    double g[2];
    reap_route(REAP_ROUTER_MODEL, l, bias, 4, 2, c, g);
    CHECK(c[0] == 0 && c[1] == 2);
    double s0 = 1 / (1 + exp(0.0)), s2 = 1 / (1 + exp(-2.0));
    CHECK_NEAR(g[0], s0 / (s0 + s2), 1e-6);
    CHECK_NEAR(g[1], s2 / (s0 + s2), 1e-6);
    reap_route(REAP_ROUTER_MODEL, l, NULL, 4, 2, c, g);
    CHECK(c[0] == 2 && c[1] == 1);
    // the softmax modes ignore the bias for choosing
    reap_route(REAP_ROUTER_SOFTMAX, l, bias, 4, 2, c, g);
    CHECK(c[0] == 2 && c[1] == 1);
}

static void test_route_ties_go_to_lower_index(void) {
    const float l[] = {1, 3, 3, 1, 3};
    int c[3];
    double g[3];
    for (int m = 0; m < REAP_ROUTER_COUNT; m++) {
        reap_route((reap_router_mode)m, l, NULL, 5, 3, c, g);
        CHECK_MSG(c[0] == 1 && c[1] == 2 && c[2] == 4, "mode %d: %d %d %d", m, c[0], c[1], c[2]);
    }
    const float z[] = {0, 0, 0, 0};
    reap_route(REAP_ROUTER_MODEL, z, z, 4, 2, c, g);
    CHECK(c[0] == 0 && c[1] == 1);
    CHECK_NEAR(g[0], 0.5, 1e-12);
}

static void test_softmax_renorm_gate_clamped_at_fp32_eps(void) {
    const float l[] = {100, -100, 0};
    int c[2];
    double g[2];
    reap_route(REAP_ROUTER_SOFTMAX_RENORM, l, NULL, 3, 2, c, g);
    CHECK(c[0] == 0 && c[1] == 2);
    CHECK_NEAR(g[1], 1.1920928955078125e-07, 1e-12);
}

static void test_layer_stats_add_sums_and_maxes(void) {
    reap_layer_stats a, b;
    reap_layer_stats_init(&a, 2);
    reap_layer_stats_init(&b, 2);
    CHECK(isinf(a.e[1].max_act) && a.e[1].max_act < 0);
    int c0[] = {0}, c1[] = {1};
    double g[] = {0.5}, n1[] = {2}, n2[] = {4};
    float m1[] = {-3}, m2[] = {7};
    reap_observer_add_token(&a, 1, c0, g, n1, m1);
    reap_observer_add_token(&b, 1, c0, g, n2, m2);
    reap_observer_add_token(&b, 1, c1, g, n2, m1);
    reap_layer_stats_add(&a, &b);
    CHECK_EQ_INT(a.tokens, 3);
    CHECK_EQ_INT(a.e[0].count, 2);
    CHECK_NEAR(a.e[0].reap_sum, 3.0, 1e-15);
    CHECK_NEAR(a.e[0].max_act, 7.0, 0);
    CHECK_NEAR(a.e[1].max_act, -3.0, 0);
    reap_layer_stats_free(&a);
    reap_layer_stats_free(&b);
}

int main(void) {
    RUN(test_softmax_renorm_reproduces_reference_three_experts);
    RUN(test_softmax_reproduces_reference_three_experts);
    RUN(test_masked_token_excluded_reproduces_reference_two_experts);
    RUN(test_model_mode_chooses_with_bias_weighs_without);
    RUN(test_route_ties_go_to_lower_index);
    RUN(test_softmax_renorm_gate_clamped_at_fp32_eps);
    RUN(test_layer_stats_add_sums_and_maxes);
    TEST_EXIT();
}

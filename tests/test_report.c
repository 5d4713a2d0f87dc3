// test_report.c: the per-layer summary of lib/report.c on statistics with known answers.
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "report.h"
#include "stats.h"
#include "test.h"

// One layer, E experts; expert e routed count[e] times with reap saliency sal[e].
static void make(reap_stats *s, int E, const double *sal, const int *count) {
    reap_stats_init(s, 1, E, 2);
    for (int e = 0; e < E; e++) {
        s->layers[0].e[e].count = (uint64_t)count[e];
        s->layers[0].e[e].reap_sum = sal[e] * count[e];
        s->layers[0].e[e].norm_sum = count[e];
        s->layers[0].e[e].gate_sum = count[e];
        s->layers[0].e[e].max_act = count[e] ? sal[e] : -INFINITY;
    }
    s->layers[0].tokens = 100;
    s->layers_done = 1;
}

static void test_summary_of_linear_saliencies(void) {
    double sal[10];
    int cnt[10];
    for (int e = 0; e < 10; e++) sal[e] = e + 1, cnt[e] = 3;
    reap_stats s;
    make(&s, 10, sal, cnt);
    reap_layer_summary m;
    CHECK(reap_report_layer(&s, 0, REAP_CRIT_REAP, &m) == REAP_OK);
    CHECK_NEAR(m.total, 55, 1e-12);
    CHECK_NEAR(m.top10_share, 10.0 / 55, 1e-12);
    CHECK_NEAR(m.gini, 9.0 / 30, 1e-12);      // (n - 1) / (3n) for 1..n
    CHECK_EQ_INT(m.pruned[0], 2);              // floor(10 x 0.25)
    CHECK_EQ_INT(m.pruned[1], 3);
    CHECK_EQ_INT(m.pruned[2], 4);
    CHECK_NEAR(m.removed[1], 6.0 / 55, 1e-12);  // 1 + 2 + 3
    CHECK_EQ_INT(m.never_routed, 0);
    reap_stats_free(&s);
}

static void test_unrouted_experts_go_first_and_ties_drop_higher_index(void) {
    double sal[6] = {0.5, 0, 0.5, 0.2, 0, 0.5};
    int cnt[6] = {4, 0, 4, 4, 0, 4};
    int order[6];
    reap_report_order(sal, 6, order);
    CHECK(order[0] == 4 && order[1] == 1 && order[2] == 3);
    CHECK(order[3] == 5 && order[4] == 2 && order[5] == 0);
    reap_stats s;
    make(&s, 6, sal, cnt);
    reap_layer_summary m;
    CHECK(reap_report_layer(&s, 0, REAP_CRIT_REAP, &m) == REAP_OK);
    CHECK_EQ_INT(m.never_routed, 2);
    CHECK_NEAR(m.removed[2], 0.0, 1e-15);  // floor(6 x 0.4) = 2: the two unrouted experts
    // max-activation of never-routed experts is -inf: counted as no mass, pruned first
    CHECK(reap_report_layer(&s, 0, REAP_CRIT_MAX_ACTIVATION, &m) == REAP_OK);
    CHECK_NEAR(m.total, 1.7, 1e-12);
    reap_stats_free(&s);
}

static void test_uniform_saliency_has_zero_gini(void) {
    double sal[8];
    int cnt[8];
    for (int e = 0; e < 8; e++) sal[e] = 2, cnt[e] = 1;
    reap_stats s;
    make(&s, 8, sal, cnt);
    reap_layer_summary m;
    CHECK(reap_report_layer(&s, 0, REAP_CRIT_REAP, &m) == REAP_OK);
    CHECK_NEAR(m.gini + 1, 1.0, 1e-12);
    CHECK_NEAR(m.removed[1], 2.0 / 8, 1e-12);  // floor(8 x 0.3) = 2 of 8 equal experts
    reap_stats_free(&s);
}

int main(void) {
    RUN(test_summary_of_linear_saliencies);
    RUN(test_unrouted_experts_go_first_and_ties_drop_higher_index);
    RUN(test_uniform_saliency_has_zero_gini);
    TEST_EXIT();
}

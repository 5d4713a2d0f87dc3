// test_eval.c: the per-position metric math of `reap eval` (lib/eval_metrics.c) on hand-computed
// examples, and the packer's per-position sample ids that split the numbers by category.
#include <math.h>

#include "calib.h"
#include "eval_metrics.h"
#include "test.h"

// z = (0, 0, ln 2): p = (1/4, 1/4, 1/2); zq = (0, 0, 0): q = (1/3, 1/3, 1/3).
// KL(p || q) = 2 x 1/4 ln(3/4) + 1/2 ln(3/2) = 1/2 ln(9/8); CE at target 0: ln 4 and ln 3.
static void test_eval_position_matches_hand_computed_kl_ce_and_top1(void) {
    const float z[3] = {0, 0, (float)log(2.0)}, zq[3] = {0, 0, 0};
    reap_eval_pos r;
    reap_eval_position(z, zq, 3, 0, &r);
    CHECK_NEAR(r.kl, 0.5 * log(9.0 / 8.0), 1e-6);
    CHECK_NEAR(r.ce_p, log(4.0), 1e-6);
    CHECK_NEAR(r.ce_q, log(3.0), 1e-12);
    CHECK_EQ_INT(r.top1_p, 2);
    CHECK_EQ_INT(r.top1_q, 0);  // a three-way tie: the lowest id
    CHECK_EQ_INT(r.agree, 0);
    CHECK_EQ_INT(r.in_top5, 1);
}

static void test_eval_identical_logits_give_zero_kl_and_agreement(void) {
    float z[1000];
    for (int v = 0; v < 1000; v++) z[v] = (float)sin(v * 0.37) * 9.0f;
    reap_eval_pos r;
    reap_eval_position(z, z, 1000, 17, &r);
    CHECK(r.kl == 0.0);
    CHECK(r.ce_p == r.ce_q);
    CHECK_EQ_INT(r.agree, 1);
    CHECK_EQ_INT(r.in_top5, 1);
    // the log-sum-exp of large logits stays finite (float64, shifted by the maximum)
    float big[2] = {1000.0f, 1000.0f};
    CHECK_NEAR(reap_eval_logsumexp(big, 2), 1000.0 + log(2.0), 1e-12);
}

static void test_eval_top5_counts_ties_to_the_lower_id(void) {
    const float zq[7] = {6, 5, 4, 3, 2, 1, 0}, flat[7] = {0};
    float z[7] = {0};
    reap_eval_pos r;
    z[5] = 1;  // the original's top-1 is id 5, sixth in zq
    reap_eval_position(z, zq, 7, 0, &r);
    CHECK_EQ_INT(r.in_top5, 0);
    z[5] = 0, z[4] = 1;  // id 4 is fifth
    reap_eval_position(z, zq, 7, 0, &r);
    CHECK_EQ_INT(r.in_top5, 1);
    CHECK_EQ_INT(reap_eval_rank(flat, 7, 4), 4);  // all equal: ids 0..3 come first
    CHECK_EQ_INT(reap_eval_rank(flat, 7, 5), 5);
}

static void test_eval_quantile_interpolates_between_order_statistics(void) {
    double v[4] = {4, 1, 3, 2};
    CHECK_NEAR(reap_eval_quantile(v, 4, 0.5), 2.5, 1e-15);
    CHECK_NEAR(reap_eval_quantile(v, 4, 0.9), 3.7, 1e-15);
    CHECK_NEAR(reap_eval_quantile(v, 4, 1.0), 4.0, 1e-15);
    CHECK_NEAR(reap_eval_quantile(v, 4, 0.0), 1.0, 1e-15);
    double one = 7;
    CHECK_NEAR(reap_eval_quantile(&one, 1, 0.99), 7.0, 1e-15);
}

static void test_pack_records_the_sample_of_every_position(void) {
    const int32_t a[3] = {1, 2, 3}, b[2] = {4, 5};
    const int32_t *ids[2] = {a, b};
    const size_t lens[2] = {3, 2};
    reap_pack_params p = reap_pack_default_params();
    p.seq_len = 8;
    reap_packed out;
    CHECK(reap_pack_ids(ids, lens, 2, &p, &out) == 0);
    CHECK_EQ_INT(out.rows, 1);
    for (int i = 0; i < 8; i++) {
        int32_t s = out.sample[i];
        CHECK(out.mask[i] ? (s == 0 || s == 1) && ids[s][0] <= out.ids[i] : s == -1);
        if (out.mask[i]) {
            int found = 0;
            for (size_t k = 0; k < lens[s]; k++) found |= ids[s][k] == out.ids[i];
            CHECK(found);
        }
    }
    reap_packed_free(&out);
}

int main(void) {
    RUN(test_eval_position_matches_hand_computed_kl_ce_and_top1);
    RUN(test_eval_identical_logits_give_zero_kl_and_agreement);
    RUN(test_eval_top5_counts_ties_to_the_lower_id);
    RUN(test_eval_quantile_interpolates_between_order_statistics);
    RUN(test_pack_records_the_sample_of_every_position);
    TEST_EXIT();
}

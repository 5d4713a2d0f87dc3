// test_eval.c: the per-position metric math of `reap eval` (lib/eval_metrics.c) on hand-computed
// examples, and the packer's per-position sample ids that split the numbers by category.
#include <math.h>
#include <string.h>

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

// The slab-at-a-time state (what the GPU comparison computes) against the whole-vector reference,
// for slab widths that cut the vocabulary unevenly, with ties inside slabs and across their edges.
#define CHECK_ABS(a, b, tol) \
    CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%.10g vs %.10g (abs tol %g)", (double)(a), (double)(b), (double)(tol))

static void by_slabs(const float *z, const float *zq, int V, int target, int slab, reap_eval_pos *r) {
    reap_eval_state s;
    reap_eval_state_init(&s);
    for (int v0 = 0; v0 < V; v0 += slab) reap_eval_state_update(&s, z + v0, zq + v0, v0, V - v0 < slab ? V - v0 : slab, target);
    reap_eval_state_finish(&s, r);
}

static void test_eval_state_by_slabs_matches_whole_vectors(void) {
    enum { V = 1003 };
    static float z[V], zq[V];
    uint64_t x = 88172645463325252ull;
    const int slabs[] = {1, 7, 128, 500, 1003, 4096};
    for (int trial = 0; trial < 40; trial++) {
        for (int v = 0; v < V; v++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            z[v] = (float)((double)(x % 20000) / 1000.0 - 10.0);
            zq[v] = z[v] + (trial % 3 == 0 ? 0.0f : (float)((double)((x >> 20) % 2000) / 1000.0 - 1.0));
            if (trial % 4 == 1) z[v] = zq[v] = (float)(x % 5);  // ties everywhere, top-1 and top-5 by lowest id
        }
        if (trial % 4 == 2) z[900] = z[3] = 50, zq[0] = zq[1] = zq[2] = zq[1000] = 40, zq[900] = 40;  // ties across slabs
        const int target = (int)(x % V);
        reap_eval_pos ref, got;
        reap_eval_position(z, zq, V, target, &ref);
        for (size_t k = 0; k < sizeof slabs / sizeof slabs[0]; k++) {
            by_slabs(z, zq, V, target, slabs[k], &got);
            CHECK_EQ_INT(got.top1_p, ref.top1_p);
            CHECK_EQ_INT(got.top1_q, ref.top1_q);
            CHECK_EQ_INT(got.agree, ref.agree);
            CHECK_EQ_INT(got.in_top5, ref.in_top5);
            // f32 exponentials against float64 ones: ~1e-7 relative
            CHECK_ABS(got.kl, ref.kl, 1e-6 * (1 + ref.kl));
            CHECK_ABS(got.ce_p, ref.ce_p, 1e-6 * (1 + fabs(ref.ce_p)));
            CHECK_ABS(got.ce_q, ref.ce_q, 1e-6 * (1 + fabs(ref.ce_q)));
            if (!memcmp(z, zq, sizeof z)) CHECK(got.kl == 0.0 && got.ce_p == got.ce_q);  // identical: exactly 0
        }
    }
    // the ties across slabs: P's maximum 50 at ids 3 and 900 -> 3; Q's 40 at 0, 1, 2, 900, 1000 -> 0..2, 900, 1000
    for (int v = 0; v < V; v++) z[v] = zq[v] = 0;
    z[900] = z[3] = 50, zq[0] = zq[1] = zq[2] = zq[1000] = zq[900] = 40;
    reap_eval_pos got;
    by_slabs(z, zq, V, 0, 128, &got);
    CHECK_EQ_INT(got.top1_p, 3);
    CHECK_EQ_INT(got.top1_q, 0);
    CHECK_EQ_INT(got.in_top5, 0);  // id 3 is not among 0, 1, 2, 900, 1000
    zq[3] = 40;                    // now 0, 1, 2, 3, 900
    by_slabs(z, zq, V, 0, 128, &got);
    CHECK_EQ_INT(got.in_top5, 1);
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
    RUN(test_eval_state_by_slabs_matches_whole_vectors);
    RUN(test_pack_records_the_sample_of_every_position);
    TEST_EXIT();
}

// test_stage.c: the staging bookkeeping of a GPU's single raw weight buffer (lib/stage.c): a staged
// layer is used only when all its parts were copied after the previous layer left raw, raw never
// takes a copy while a forward still needs it, and every way a stage can fail leaves the forward
// to copy the layer itself.
#include <stdint.h>

#include "stage.h"
#include "test.h"

static int key[64];  // host buffer of layer l: &key[l]

static void test_stage_pipeline_queues_next_layer_until_flush(void) {
    reap_stage s;
    reap_stage_init(&s, 8);
    const int *parts;
    int complete;
    CHECK_EQ_INT(reap_stage_begin(&s, 0, &key[0], 1), REAP_STAGE_NOW);  // before the first layer: at once
    CHECK_EQ_INT(reap_stage_part(&s, 0, 0, 0), 1);
    CHECK_EQ_INT(reap_stage_part(&s, 0, 0, 4), 1);
    CHECK_EQ_INT(reap_stage_end(&s, 0), REAP_STAGE_END_RECORD);
    reap_stage_complete(&s);
    CHECK_EQ_INT(reap_stage_take(&s, 0, &key[0]), 1);
    // layer 1 is read while layer 0 still needs raw: its parts queue
    CHECK_EQ_INT(reap_stage_begin(&s, 1, &key[1], 1), REAP_STAGE_QUEUE);
    CHECK_EQ_INT(reap_stage_part(&s, 1, 0, 0), 0);
    CHECK_EQ_INT(reap_stage_part(&s, 1, 0, 3), 0);
    CHECK_EQ_INT(reap_stage_end(&s, 1), REAP_STAGE_END_LATER);
    CHECK_EQ_INT(reap_stage_flush(&s, 0, &parts, &complete), 2);
    CHECK(complete);
    CHECK(parts[0] == 0 && parts[1] == 0 && parts[2] == 0 && parts[3] == 3);
    reap_stage_complete(&s);
    CHECK_EQ_INT(reap_stage_take(&s, 1, &key[1]), 1);
    // layer 2 begins after layer 1's flush: at once
    CHECK_EQ_INT(reap_stage_flush(&s, 1, &parts, &complete), 0);
    CHECK_EQ_INT(reap_stage_begin(&s, 2, &key[2], 1), REAP_STAGE_NOW);
    reap_stage_free(&s);
}

static void test_stage_partly_queued_layer_completes_at_flush(void) {
    reap_stage s;
    reap_stage_init(&s, 8);
    const int *parts;
    int complete;
    CHECK_EQ_INT(reap_stage_take(&s, 4, &key[4]), 0);  // layer 4 not staged: copied by the forward
    CHECK_EQ_INT(reap_stage_begin(&s, 5, &key[5], 1), REAP_STAGE_QUEUE);
    CHECK_EQ_INT(reap_stage_part(&s, 5, 0, 0), 0);
    CHECK_EQ_INT(reap_stage_flush(&s, 4, &parts, &complete), 1);  // the end has not come yet
    CHECK(!complete);
    CHECK_EQ_INT(reap_stage_part(&s, 5, 0, 8), 1);  // later parts copy at once
    CHECK_EQ_INT(reap_stage_end(&s, 5), REAP_STAGE_END_RECORD);
    reap_stage_complete(&s);
    CHECK_EQ_INT(reap_stage_take(&s, 5, &key[5]), 1);
    reap_stage_free(&s);
}

static void test_stage_declined_layer_blocks_raw_until_its_forward(void) {
    reap_stage s;
    reap_stage_init(&s, 8);
    const int *parts;
    int complete;
    CHECK_EQ_INT(reap_stage_begin(&s, 0, &key[0], 0), REAP_STAGE_NO);  // dtype does not fit raw
    CHECK_EQ_INT(reap_stage_part(&s, 0, 0, 0), 0);
    CHECK_EQ_INT(reap_stage_end(&s, 0), REAP_STAGE_END_NONE);
    // the next layer may not copy while the forward of layer 0 reallocates and fills raw
    CHECK_EQ_INT(reap_stage_begin(&s, 1, &key[1], 1), REAP_STAGE_QUEUE);
    CHECK_EQ_INT(reap_stage_take(&s, 0, &key[0]), 0);
    CHECK_EQ_INT(reap_stage_part(&s, 1, 0, 0), 0);
    CHECK_EQ_INT(reap_stage_flush(&s, 0, &parts, &complete), 1);
    reap_stage_free(&s);
}

static void test_stage_failures_leave_the_copy_to_the_forward(void) {
    reap_stage s;
    reap_stage_init(&s, 2);
    const int *parts;
    int complete;
    // a stage that never ended
    CHECK_EQ_INT(reap_stage_begin(&s, 0, &key[0], 1), REAP_STAGE_NOW);
    CHECK_EQ_INT(reap_stage_part(&s, 0, 0, 0), 1);
    CHECK_EQ_INT(reap_stage_take(&s, 0, &key[0]), 0);
    CHECK_EQ_INT(reap_stage_part(&s, 0, 0, 4), 0);  // dropped: a late part copies nothing
    CHECK_EQ_INT(reap_stage_flush(&s, 0, &parts, &complete), 0);
    // a stale buffer: staged from another host buffer than the forward's
    CHECK_EQ_INT(reap_stage_begin(&s, 1, &key[1], 1), REAP_STAGE_NOW);
    CHECK_EQ_INT(reap_stage_end(&s, 1), REAP_STAGE_END_RECORD);
    reap_stage_complete(&s);
    CHECK_EQ_INT(reap_stage_take(&s, 1, &key[9]), 0);
    // more queued parts than room: dropped
    CHECK_EQ_INT(reap_stage_begin(&s, 2, &key[2], 1), REAP_STAGE_QUEUE);
    for (int i = 0; i < 3; i++) reap_stage_part(&s, 2, i, i + 1);
    CHECK_EQ_INT(reap_stage_end(&s, 2), REAP_STAGE_END_NONE);
    CHECK_EQ_INT(reap_stage_flush(&s, 1, &parts, &complete), 0);
    CHECK_EQ_INT(reap_stage_take(&s, 2, &key[2]), 0);
    // a copy that failed (the GPU side drops the stage)
    CHECK_EQ_INT(reap_stage_flush(&s, 2, &parts, &complete), 0);
    CHECK_EQ_INT(reap_stage_begin(&s, 3, &key[3], 1), REAP_STAGE_NOW);
    reap_stage_drop(&s);
    CHECK_EQ_INT(reap_stage_end(&s, 3), REAP_STAGE_END_NONE);
    CHECK_EQ_INT(reap_stage_take(&s, 3, &key[3]), 0);
    reap_stage_free(&s);
}

// The loader/forward protocol of lib/score.c in random interleavings: the loader of layer l+1
// starts when layer l's read is joined and runs beside the forward of l (take, dequantise, flush);
// some layers do not fit raw, some loaders stop before their end. A simulated raw buffer records
// which layer's parts it holds; every copy must land while no forward needs raw, and a forward that
// uses its staged layer must find all of that layer's parts and nothing else.
static uint64_t rng = 88172645463325252ull;
static int rnd(int n) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (int)(rng % (uint64_t)n);
}

typedef struct {
    int owner, copied, in_use, recorded;  // raw: layer of its parts, how many, forward holding it, completion
} sim_raw;

static int sim_copy(sim_raw *r, int layer) {
    if (r->in_use >= 0) return 0;  // a forward still reads raw
    if (r->owner != layer) r->owner = layer, r->copied = 0, r->recorded = 0;
    r->copied++;
    return 1;
}

static void test_stage_random_interleavings_never_mix_layers(void) {
    enum { LAYERS = 40, PARTS = 5 };
    for (int trial = 0; trial < 2000; trial++) {
        reap_stage s;
        reap_stage_init(&s, PARTS);
        sim_raw r = {.owner = -1, .in_use = -1};
        int staged_uses = 0;
        for (int l = 0; l < LAYERS; l++) {
            // loader of layer l (begin, PARTS parts, end) beside the forward of l - 1 (take, flush)
            int fits = rnd(10) != 0, ends = rnd(12) != 0, step = 0, fwd = l == 0 ? 2 : 0;
            int nsteps = 2 + PARTS, began = 0;
            while (step < nsteps || fwd < 2) {
                if (step < nsteps && (fwd == 2 || rnd(2))) {
                    if (step == 0) {
                        began = reap_stage_begin(&s, l, &key[l], fits) != REAP_STAGE_NO;
                    } else if (step <= PARTS) {
                        if (began && reap_stage_part(&s, l, step, step + 1))
                            CHECK_MSG(sim_copy(&r, l), "trial %d: layer %d copied while raw is in use", trial, l);
                    } else if (began && ends && reap_stage_end(&s, l) == REAP_STAGE_END_RECORD) {
                        r.recorded = r.owner == l && r.copied == PARTS;
                        reap_stage_complete(&s);
                    }
                    step++;
                } else if (fwd == 0) {
                    int staged = reap_stage_take(&s, l - 1, &key[l - 1]);
                    if (staged) {
                        CHECK_MSG(r.owner == l - 1 && r.copied == PARTS && r.recorded,
                                  "trial %d: layer %d used as staged, raw holds layer %d x %d", trial, l - 1, r.owner,
                                  r.copied);
                        staged_uses++;
                    } else {
                        r.owner = l - 1, r.copied = PARTS, r.recorded = 1;  // the forward's own copy
                    }
                    r.in_use = l - 1, fwd = 1;
                } else {
                    r.in_use = -1, fwd = 2;  // dequantised
                    const int *parts;
                    int complete, n = reap_stage_flush(&s, l - 1, &parts, &complete);
                    for (int i = 0; i < n; i++) CHECK(sim_copy(&r, l));
                    if (complete) {
                        r.recorded = r.owner == l && r.copied == PARTS;
                        reap_stage_complete(&s);
                    }
                }
            }
        }
        CHECK_MSG(staged_uses > LAYERS / 2, "trial %d: only %d of %d layers staged", trial, staged_uses, LAYERS);
        reap_stage_free(&s);
    }
}

int main(void) {
    RUN(test_stage_pipeline_queues_next_layer_until_flush);
    RUN(test_stage_partly_queued_layer_completes_at_flush);
    RUN(test_stage_declined_layer_blocks_raw_until_its_forward);
    RUN(test_stage_failures_leave_the_copy_to_the_forward);
    RUN(test_stage_random_interleavings_never_mix_layers);
    TEST_EXIT();
}

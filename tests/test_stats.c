// test_stats.c: the statistics file (exact round trip), merging rules and refusals, criteria values
// (the reference's golden numbers, spec reap.md section 2), and the per-layer pruning count.
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "common.h"
#include "forward.h"
#include "prune.h"
#include "stats.h"
#include "synth.h"
#include "test.h"

static char tmpdir[64];

static char *tpath(const char *name) { return reap_path_join(tmpdir, name); }

static uint64_t rng_state = 12345;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

// A complete statistics object with awkward doubles (not representable in few digits).
static void make_stats(reap_stats *s, int shard, int shard_count, const char *fp) {
    reap_stats_init(s, 3, 8, 2);
    snprintf(s->fingerprint, sizeof s->fingerprint, "%s", fp);
    snprintf(s->router_digest, sizeof s->router_digest, "%s", "cccc000000000000000000000000000000000000000000000000000000000003");
    const char *src[] = {"builtin:code", "data/x.jsonl"};
    s->calib = reap_stats_calib_new(src, 2, 32, 64, 42, shard, shard_count);
    s->model = cJSON_CreateObject();
    cJSON_AddStringToObject(s->model, "architecture", "MiniMaxM2ForCausalLM");
    s->layers_done = 3;
    for (int l = 0; l < 3; l++) {
        s->layers[l].tokens = 1000 + (uint64_t)l;  // at least every count (load refuses count > tokens)
        for (int e = 0; e < 8; e++) {
            reap_expert_stats *x = &s->layers[l].e[e];
            if (e == 5) continue;  // never routed
            x->count = 1 + rnd() % 1000;
            x->gate_sum = (double)(rnd() % 1000000) / 3.0 + 1e-300 * e;
            x->norm_sum = 1.0 / (1.0 + (double)(rnd() % 97)) + 0.1;
            x->reap_sum = x->gate_sum * 0.7071067811865476 + 1e17 * (e == 7);
            x->max_act = -(double)(rnd() % 1000) / 7.0;
        }
    }
}

static const char *FP_A = "aaaa000000000000000000000000000000000000000000000000000000000001";
static const char *FP_B = "bbbb000000000000000000000000000000000000000000000000000000000002";

static void test_stats_save_load_round_trip_is_exact(void) {
    reap_stats a, b;
    make_stats(&a, 0, 1, FP_A);
    char *p1 = tpath("rt1.json"), *p2 = tpath("rt2.json");
    CHECK(reap_stats_save(&a, p1) == REAP_OK);
    CHECK(reap_stats_load(p1, &b) == REAP_OK);
    CHECK_EQ_INT(b.n_layers, 3);
    CHECK_EQ_INT(b.n_experts, 8);
    CHECK_EQ_INT(b.top_k, 2);
    CHECK_EQ_INT(b.layers_done, 3);
    CHECK(strcmp(a.fingerprint, b.fingerprint) == 0);
    CHECK(strcmp(a.router_digest, b.router_digest) == 0);
    for (int l = 0; l < 3; l++) {
        CHECK_EQ_INT(a.layers[l].tokens, b.layers[l].tokens);
        for (int e = 0; e < 8; e++) {
            const reap_expert_stats *x = &a.layers[l].e[e], *y = &b.layers[l].e[e];
            CHECK_EQ_INT(x->count, y->count);
            CHECK(memcmp(&x->gate_sum, &y->gate_sum, 8) == 0);
            CHECK(memcmp(&x->norm_sum, &y->norm_sum, 8) == 0);
            CHECK(memcmp(&x->reap_sum, &y->reap_sum, 8) == 0);
            CHECK(memcmp(&x->max_act, &y->max_act, 8) == 0);  // includes -inf for the never-routed one
        }
    }
    CHECK(isinf(b.layers[0].e[5].max_act) && b.layers[0].e[5].max_act < 0);
    CHECK(reap_stats_save(&b, p2) == REAP_OK);
    char *t1, *t2;
    size_t n1, n2;
    CHECK(reap_read_file(p1, &t1, &n1) == REAP_OK && reap_read_file(p2, &t2, &n2) == REAP_OK);
    CHECK(n1 == n2 && memcmp(t1, t2, n1) == 0);  // save -> load -> save is byte-identical
    CHECK_STR_CONTAINS(t1, "\"max_act\": [");
    CHECK_STR_CONTAINS(t1, "null");
    free(t1);
    free(t2);
    reap_stats_free(&a);
    reap_stats_free(&b);
    free(p1);
    free(p2);
}

static void test_stats_load_rejects_malformed_files(void) {
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"[1,2]", "not a JSON object"},
        {"{\"format\":\"other\"}", "reap-stats"},
        {"{\"format\":\"reap-stats\",\"version\":2}", "version 2"},
        {"{\"format\":\"reap-stats\",\"version\":1,\"model\":{},\"calibration\":{},\"fingerprint\":\"xyz\"}",
         "fingerprint"},
    };
    char *p = tpath("bad.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reap_stats s;
        CHECK(reap_write_file_atomic(p, cases[i].text, strlen(cases[i].text)) == REAP_OK);
        CHECK(reap_stats_load(p, &s) == REAP_EINVAL);
        CHECK_STR_CONTAINS(reap_err_msg(), cases[i].needle);
        CHECK_STR_CONTAINS(reap_err_msg(), p);
    }
    // A routed expert with null max_act, and a short array.
    reap_stats a;
    make_stats(&a, 0, 1, FP_A);
    CHECK(reap_stats_save(&a, p) == REAP_OK);
    char *t;
    CHECK(reap_read_file(p, &t, NULL) == REAP_OK);
    char *m = strstr(t, "\"max_act\": [");
    CHECK(m);
    m += strlen("\"max_act\": [");
    char *comma = strchr(m, ',');
    reap_sbuf b = {0};
    reap_sbuf_append(&b, t, (size_t)(m - t));
    reap_sbuf_puts(&b, "null");
    reap_sbuf_puts(&b, comma);
    CHECK(reap_write_file_atomic(p, b.p, b.n) == REAP_OK);
    reap_stats s;
    CHECK(reap_stats_load(p, &s) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "max_act is null");
    reap_sbuf_free(&b);
    char *c = strstr(t, "\"count\": [");
    CHECK(c);
    c += strlen("\"count\": [");
    comma = strchr(c, ',');
    reap_sbuf_append(&b, t, (size_t)(c - t));
    reap_sbuf_puts(&b, comma + 1);
    CHECK(reap_write_file_atomic(p, b.p, b.n) == REAP_OK);
    CHECK(reap_stats_load(p, &s) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "\"count\" must be an array of 8");
    reap_sbuf_free(&b);
    free(t);
    reap_stats_free(&a);
    free(p);
}

static void test_stats_merge_adds_sums_maxes_and_unites_shards(void) {
    reap_stats a, a0, b;
    rng_state = 99;
    make_stats(&a, 0, 3, FP_A);
    rng_state = 99;
    make_stats(&a0, 0, 3, FP_A);  // a copy of a before the merge
    make_stats(&b, 2, 3, FP_A);
    b.layers[1].e[5].count = 4;  // routed only in b
    b.layers[1].e[5].max_act = 2.5;
    CHECK(reap_stats_merge(&a, &b, "b.json") == REAP_OK);
    for (int l = 0; l < 3; l++) {
        CHECK_EQ_INT(a.layers[l].tokens, a0.layers[l].tokens + b.layers[l].tokens);
        for (int e = 0; e < 8; e++) {
            const reap_expert_stats *m = &a.layers[l].e[e], *x = &a0.layers[l].e[e], *y = &b.layers[l].e[e];
            CHECK_EQ_INT(m->count, x->count + y->count);
            CHECK(m->gate_sum == x->gate_sum + y->gate_sum);
            CHECK(m->norm_sum == x->norm_sum + y->norm_sum);
            CHECK(m->reap_sum == x->reap_sum + y->reap_sum);
            CHECK(m->max_act == fmax(x->max_act, y->max_act));
        }
    }
    CHECK(a.layers[1].e[5].max_act == 2.5);
    char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(a.calib, "shards"));
    CHECK(strcmp(s, "[0,2]") == 0);
    free(s);
    reap_stats_free(&a);
    reap_stats_free(&a0);
    reap_stats_free(&b);
}

static void test_missing_shards_lists_what_a_merge_lacks(void) {
    reap_stats a, b;
    rng_state = 5;
    make_stats(&a, 0, 4, FP_A);
    make_stats(&b, 2, 4, FP_A);
    int n, *miss, nm;
    CHECK(reap_stats_missing_shards(&a, "a.json", &n, &miss, &nm) == REAP_OK);
    CHECK(n == 4 && nm == 3 && miss[0] == 1 && miss[1] == 2 && miss[2] == 3);
    free(miss);
    CHECK(reap_stats_merge(&a, &b, "b.json") == REAP_OK);
    CHECK(reap_stats_missing_shards(&a, "a.json", &n, &miss, &nm) == REAP_OK);
    CHECK(nm == 2 && miss[0] == 1 && miss[1] == 3);
    char buf[64];
    reap_stats_format_indices(miss, nm, buf, sizeof buf);
    CHECK(strcmp(buf, "1, 3") == 0);
    free(miss);
    reap_stats_free(&b);
    make_stats(&b, 1, 4, FP_A);
    CHECK(reap_stats_merge(&a, &b, "b1.json") == REAP_OK);
    reap_stats_free(&b);
    make_stats(&b, 3, 4, FP_A);
    CHECK(reap_stats_merge(&a, &b, "b3.json") == REAP_OK);
    CHECK(reap_stats_missing_shards(&a, "a.json", &n, &miss, &nm) == REAP_OK);
    CHECK_EQ_INT(nm, 0);  // all four: complete
    free(miss);
    reap_stats_free(&a);
    reap_stats_free(&b);
    // ranges, and a buffer too small for the whole list
    int v[] = {0, 1, 2, 5, 7, 8, 100};
    reap_stats_format_indices(v, 7, buf, sizeof buf);
    CHECK_MSG(strcmp(buf, "0-2, 5, 7-8, 100") == 0, "%s", buf);
    reap_stats_format_indices(v, 7, buf, 12);
    CHECK_MSG(strcmp(buf, "0-2, 5, ...") == 0, "%s", buf);
}

// Each case: mutate b, merge into a fresh a, expect a refusal mentioning the file and the difference.
static void test_stats_merge_refuses_incompatible_files(void) {
    for (int c = 0; c < 11; c++) {
        reap_stats a, b;
        make_stats(&a, 0, 2, FP_A);
        make_stats(&b, 1, 2, FP_A);
        const char *needle = "";
        switch (c) {
        case 0: snprintf(b.fingerprint, 65, "%s", FP_B); needle = "different model"; break;
        case 1: b.router = REAP_ROUTER_SOFTMAX; needle = "router mode softmax"; break;
        case 2: cJSON_ReplaceItemInObject(b.calib, "shard_count", cJSON_CreateNumber(4)); needle = "shard count 4"; break;
        case 3: cJSON_ReplaceItemInObject(b.calib, "shards", cJSON_CreateIntArray((int[]){0}, 1)); needle = "overlapping"; break;
        case 4: cJSON_ReplaceItemInObject(b.calib, "seq_len", cJSON_CreateNumber(2048)); needle = "seq_len differs"; break;
        case 5: cJSON_ReplaceItemInObject(b.calib, "seed", cJSON_CreateNumber(7)); needle = "seed differs"; break;
        case 6: cJSON_ReplaceItemInObject(b.calib, "sources", cJSON_CreateArray()); needle = "sources differs"; break;
        case 7: b.layers_done = 1; needle = "incomplete"; break;
        case 8: cJSON_DeleteItemFromObject(b.calib, "shards"); needle = "shards missing"; break;
        case 9: b.router_digest[0] = 'd'; needle = "other router weights"; break;
        case 10: b.router_digest[0] = 0; needle = "has no router digest"; break;
        }
        int st = reap_stats_merge(&a, &b, "shard-b.json");
        CHECK_MSG(st == REAP_EINVAL, "case %d accepted", c);
        CHECK_STR_CONTAINS(reap_err_msg(), "shard-b.json");
        CHECK_STR_CONTAINS(reap_err_msg(), needle);
        reap_stats_free(&a);
        reap_stats_free(&b);
    }
}

// Spec reap.md section 2, second golden case: 2 experts, k = 1, expert 0 chosen on two valid tokens
// (softmax gates 0.7310586 and 0.9820138, norms 5 and 13); the masked middle token is never added.
static void test_criteria_match_reference_golden_values(void) {
    reap_stats s;
    reap_stats_init(&s, 1, 2, 1);
    s.layers_done = 1;
    const float logits[2][2] = {{2, 1}, {4, 0}};
    const double norms[2] = {5, 13};
    for (int t = 0; t < 2; t++) {
        int chosen;
        double g, mx = 1.0;
        reap_route(REAP_ROUTER_SOFTMAX, logits[t], NULL, 2, 1, &chosen, &g);
        CHECK_EQ_INT(chosen, 0);
        float fm = (float)mx;
        reap_observer_add_token(&s.layers[0], 1, &chosen, &g, &norms[t], &fm);
    }
    double v[2];
    CHECK(reap_stats_saliency(&s, 0, REAP_CRIT_REAP, v) == REAP_OK);
    CHECK_NEAR(v[0], 8.2107361, 1e-7);
    CHECK(v[1] == 0);  // never routed: saliency 0, pruned first
    CHECK(reap_stats_saliency(&s, 0, REAP_CRIT_WEIGHTED_EAN_SUM, v) == REAP_OK);
    CHECK_NEAR(v[0], 16.4214722, 1e-7);
    CHECK(reap_stats_saliency(&s, 0, REAP_CRIT_WEIGHTED_FREQUENCY, v) == REAP_OK);
    CHECK_NEAR(v[0], 1.7130724, 1e-7);
    CHECK(reap_stats_saliency(&s, 0, REAP_CRIT_EAN_SUM, v) == REAP_OK);
    CHECK(v[0] == 18 && v[1] == 0);
    CHECK(reap_stats_saliency(&s, 0, REAP_CRIT_EAN_MEAN, v) == REAP_OK);
    CHECK(v[0] == 9 && v[1] == 0);
    CHECK(reap_stats_saliency(&s, 0, REAP_CRIT_FREQUENCY, v) == REAP_OK);
    CHECK(v[0] == 2 && v[1] == 0);
    CHECK(reap_stats_saliency(&s, 0, REAP_CRIT_MAX_ACTIVATION, v) == REAP_OK);
    CHECK(v[0] == 1.0 && isinf(v[1]) && v[1] < 0);
    reap_stats_free(&s);
}

// First golden case: 3 experts, k = 2, softmax-renorm and softmax reap values, ean-mean [11, 6, 25].
static void test_criteria_three_expert_golden_case_both_softmax_modes(void) {
    const float logits[2][3] = {{2, 1, 0}, {1, 0, 2}};
    const double norms[2][3] = {{5, 6, 0}, {17, 0, 25}};  // per token, by expert id
    const double want[2][3] = {{4.1136485, 1.6136485, 18.2764645}, {3.7432944, 1.4683708, 16.6310239}};
    const reap_router_mode modes[2] = {REAP_ROUTER_SOFTMAX_RENORM, REAP_ROUTER_SOFTMAX};
    for (int m = 0; m < 2; m++) {
        reap_stats s;
        reap_stats_init(&s, 1, 3, 2);
        s.layers_done = 1;
        for (int t = 0; t < 2; t++) {
            int chosen[2];
            double g[2], nm[2];
            reap_route(modes[m], logits[t], NULL, 3, 2, chosen, g);
            for (int k = 0; k < 2; k++) nm[k] = norms[t][chosen[k]];
            reap_observer_add_token(&s.layers[0], 2, chosen, g, nm, NULL);
        }
        double v[3];
        CHECK(reap_stats_saliency(&s, 0, REAP_CRIT_REAP, v) == REAP_OK);
        for (int j = 0; j < 3; j++) CHECK_NEAR(v[j], want[m][j], 1e-7);
        CHECK(reap_stats_saliency(&s, 0, REAP_CRIT_EAN_MEAN, v) == REAP_OK);
        CHECK(v[0] == 11 && v[1] == 6 && v[2] == 25);
        reap_stats_free(&s);
    }
}

static void test_saliency_refuses_incomplete_layers_and_missing_max_act(void) {
    reap_stats s;
    make_stats(&s, 0, 1, FP_A);
    s.layers_done = 2;
    double v[8];
    CHECK(reap_stats_saliency(&s, 1, REAP_CRIT_REAP, v) == REAP_OK);
    CHECK(reap_stats_saliency(&s, 2, REAP_CRIT_REAP, v) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "not complete");
    for (int l = 0; l < 3; l++)
        for (int e = 0; e < 8; e++) s.layers[l].e[e].max_act = NAN;
    char *p = tpath("nomax.json");
    CHECK(reap_stats_save(&s, p) == REAP_OK);
    reap_stats b;
    CHECK(reap_stats_load(p, &b) == REAP_OK);
    CHECK(reap_stats_saliency(&b, 0, REAP_CRIT_MAX_ACTIVATION, v) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "max-activation is not available");
    CHECK(reap_stats_saliency(&b, 0, REAP_CRIT_EAN_SUM, v) == REAP_OK);
    reap_stats_free(&b);
    reap_stats_free(&s);
    free(p);
}

static void test_names_parse_round_trip_and_reject_unknown(void) {
    for (int c = 0; c < REAP_CRIT_COUNT; c++) {
        reap_criterion x;
        CHECK(reap_criterion_parse(reap_criterion_name((reap_criterion)c), &x) == REAP_OK && (int)x == c);
    }
    for (int m = 0; m < REAP_ROUTER_COUNT; m++) {
        reap_router_mode x;
        CHECK(reap_router_mode_parse(reap_router_mode_name((reap_router_mode)m), &x) == REAP_OK && (int)x == m);
    }
    reap_criterion c;
    reap_router_mode m;
    CHECK(reap_criterion_parse("REAP", &c) != REAP_OK);
    CHECK(reap_criterion_parse("ean_mean", &c) != REAP_OK);
    CHECK(reap_router_mode_parse("sigmoid", &m) != REAP_OK);
    CHECK(strcmp(reap_criterion_name(REAP_CRIT_WEIGHTED_EAN_SUM), "weighted-ean-sum") == 0);
}

// The random baseline: "random" and "random:S" parse (other criteria too), report's parser refuses it,
// the saliency is in [0, 1), repeats for a seed and differs between seeds and layers.
static void test_random_selection_parses_and_is_seeded(void) {
    reap_criterion c;
    uint64_t seed = 99;
    CHECK(reap_selection_parse("random", &c, &seed) == REAP_OK && c == REAP_CRIT_RANDOM && seed == 0);
    CHECK(reap_selection_parse("random:18446744073709551615", &c, &seed) == REAP_OK && seed == UINT64_MAX);
    CHECK(reap_selection_parse("ean-mean", &c, &seed) == REAP_OK && c == REAP_CRIT_EAN_MEAN && seed == 0);
    CHECK(reap_selection_parse("random:", &c, &seed) != REAP_OK);
    CHECK(reap_selection_parse("random:-1", &c, &seed) != REAP_OK);
    CHECK(reap_selection_parse("random:1x", &c, &seed) != REAP_OK);
    CHECK(reap_selection_parse("randomly", &c, &seed) != REAP_OK);
    CHECK(reap_criterion_parse("random", &c) != REAP_OK);
    char buf[32];
    CHECK(strcmp(reap_selection_label(REAP_CRIT_RANDOM, 7, buf, sizeof buf), "random:7") == 0);
    CHECK(strcmp(reap_selection_label(REAP_CRIT_REAP, 7, buf, sizeof buf), "reap") == 0);
    double a[256], b[256], d[256], e[256];
    reap_random_saliency(7, 3, 256, a);
    reap_random_saliency(7, 3, 256, b);
    reap_random_saliency(8, 3, 256, d);
    reap_random_saliency(7, 4, 256, e);
    int same_seed = 1, diff_seed = 0, diff_layer = 0;
    double mean = 0;
    for (int i = 0; i < 256; i++) {
        CHECK(a[i] >= 0 && a[i] < 1);
        same_seed &= a[i] == b[i];
        diff_seed += a[i] != d[i];
        diff_layer += a[i] != e[i];
        mean += a[i] / 256;
    }
    CHECK(same_seed);
    CHECK(diff_seed == 256 && diff_layer == 256);
    CHECK(mean > 0.4 && mean < 0.6);
}

static void test_prune_count_is_floor_of_experts_times_ratio(void) {
    CHECK_EQ_INT(reap_prune_count(256, 0.25), 64);   // keeps 192
    CHECK_EQ_INT(reap_prune_count(256, 0.30), 76);   // keeps 180 (round() would keep 179)
    CHECK_EQ_INT(reap_prune_count(256, 0.40), 102);  // keeps 154
    CHECK_EQ_INT(reap_prune_count(256, 0.0), 0);
    CHECK_EQ_INT(reap_prune_count(100, 0.29), 29);   // 0.29 * 100 = 28.999999999999996 in binary
    CHECK_EQ_INT(reap_prune_count(100, 0.57), 57);   // 56.99999999999999
    CHECK_EQ_INT(reap_prune_count(8, 0.99), 7);
}

// The fingerprint of DIR from its description, or "" (the failure is in reap_err_msg).
static void fingerprint_of(const char *dir, char hex[65]) {
    reap_ckpt *c = NULL;
    reap_m2_config m;
    hex[0] = 0;
    if (reap_ckpt_open(dir, &c) == REAP_OK && reap_m2_config_load(c, &m) == REAP_OK) reap_stats_fingerprint(c, &m, hex);
    reap_ckpt_close(c);
}

// Replaces the first `from` in DIR/config.json by `to`.
static int edit_config(const char *dir, const char *from, const char *to) {
    char *path = reap_path_join(dir, "config.json"), *text = NULL;
    int st = reap_read_file(path, &text, NULL);
    const char *hit = st ? NULL : strstr(text, from);
    if (hit) {
        reap_sbuf b = {0};
        reap_sbuf_append(&b, text, (size_t)(hit - text));
        reap_sbuf_puts(&b, to);
        reap_sbuf_puts(&b, hit + strlen(from));
        st = reap_write_file_atomic(path, b.p, b.n);
        reap_sbuf_free(&b);
    }
    free(text);
    free(path);
    return hit ? st : REAP_EINVAL;
}

// Statistics files and reap.json carry the fingerprint and prune compares it, so it must stay the
// same bytes for the same checkpoint. The values are those of the first implementation (which
// hashed config.json's values themselves) on the same checkpoints.
static void test_fingerprint_is_unchanged_from_the_first_version(void) {
    reap_synth_params sp;
    reap_synth_preset("tiny", &sp);
    sp.threads = 1;
    char *dir = tpath("fp"), hex[65];
    int level = reap_log_level;
    reap_log_level = -1;
    int st = reap_synth_write(&sp, dir, 0);
    reap_log_level = level;
    CHECK(st == REAP_OK);
    fingerprint_of(dir, hex);
    CHECK_MSG(!strcmp(hex, "8dda5845406b74aa34bcb61c58bd97421f871620a0db71ed3e67518358421320"), "%s (%s)", hex,
              reap_err_msg());
    // The early mirrors' model_type and an integral size written as a float hash as they did.
    CHECK(edit_config(dir, "\"minimax_m2\"", "\"minimax\"") == REAP_OK);
    CHECK(edit_config(dir, "\"hidden_size\":\t64,", "\"hidden_size\":\t64.0,") == REAP_OK);
    fingerprint_of(dir, hex);
    CHECK_MSG(!strcmp(hex, "1f69d790111134c2d62b91cd399856bec365bff1c25c800419f106bee147c6aa"), "%s (%s)", hex,
              reap_err_msg());
    free(dir);
}

// The router digest tells apart two checkpoints of the same shapes (same fingerprint) by their
// router weights, and statistics of one are refused for the other (prune, eval), naming both.
static void test_router_digest_refuses_statistics_of_other_weights(void) {
    char *d1 = tpath("rd1"), *d2 = tpath("rd2"), h1[65], h2[65], f1[65], f2[65];
    reap_ckpt *c1 = NULL, *c2 = NULL;
    reap_m2_config m1, m2;
    reap_stats s;
    int level = reap_log_level;
    reap_log_level = -1;
    for (int i = 0; i < 2; i++) {
        reap_synth_params sp;
        reap_synth_preset("tiny", &sp);
        sp.threads = 1;
        sp.seed = i ? 7 : 42;
        CHECK(reap_synth_write(&sp, i ? d2 : d1, 0) == REAP_OK);
    }
    reap_log_level = level;
    CHECK(reap_ckpt_open(d1, &c1) == REAP_OK && reap_m2_config_load(c1, &m1) == REAP_OK);
    CHECK(reap_ckpt_open(d2, &c2) == REAP_OK && reap_m2_config_load(c2, &m2) == REAP_OK);
    CHECK(reap_stats_fingerprint(c1, &m1, f1) == REAP_OK && reap_stats_fingerprint(c2, &m2, f2) == REAP_OK);
    CHECK(strcmp(f1, f2) == 0);
    CHECK(reap_stats_router_digest(c1, &m1, h1) == REAP_OK && reap_stats_router_digest(c2, &m2, h2) == REAP_OK);
    CHECK(strlen(h1) == 64 && strcmp(h1, h2) != 0);
    CHECK(reap_stats_router_digest(c1, &m1, h2) == REAP_OK && strcmp(h1, h2) == 0);  // deterministic
    CHECK(reap_stats_init(&s, m1.n_layers, m1.n_experts, m1.top_k) == REAP_OK);
    memcpy(s.fingerprint, f1, 65);
    memcpy(s.router_digest, h1, 65);
    CHECK(reap_stats_check_model(&s, "a.json", c1, &m1, NULL) == REAP_OK);
    CHECK(reap_stats_check_model(&s, "a.json", c2, &m2, NULL) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "a.json: statistics were scored on other router weights than");
    CHECK_STR_CONTAINS(reap_err_msg(), d2);
    s.router_digest[0] = 0;  // a file that predates the digest: accepted (with a warning)
    reap_log_level = -1;
    {
        int st = reap_stats_check_model(&s, "a.json", c2, &m2, NULL);
        reap_log_level = level;
        CHECK(st == REAP_OK);
    }
    reap_stats_free(&s);
    reap_ckpt_close(c1);
    reap_ckpt_close(c2);
    free(d1), free(d2);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_stats.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(test_stats_save_load_round_trip_is_exact);
    RUN(test_stats_load_rejects_malformed_files);
    RUN(test_stats_merge_adds_sums_maxes_and_unites_shards);
    RUN(test_stats_merge_refuses_incompatible_files);
    RUN(test_missing_shards_lists_what_a_merge_lacks);
    RUN(test_criteria_match_reference_golden_values);
    RUN(test_criteria_three_expert_golden_case_both_softmax_modes);
    RUN(test_saliency_refuses_incomplete_layers_and_missing_max_act);
    RUN(test_names_parse_round_trip_and_reject_unknown);
    RUN(test_random_selection_parses_and_is_seeded);
    RUN(test_prune_count_is_floor_of_experts_times_ratio);
    RUN(test_fingerprint_is_unchanged_from_the_first_version);
    RUN(test_router_digest_refuses_statistics_of_other_weights);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) {
    }
    TEST_EXIT();
}

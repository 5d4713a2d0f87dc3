// test_synth.c: the synthesiser's plan, values and files without running the binary.
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "dtype.h"
#include "m2config.h"
#include "synth.h"
#include "test.h"

static const reap_synth_tensor *find(const reap_synth_plan *pl, const char *name) {
    for (int i = 0; i < pl->n; i++)
        if (!strcmp(pl->t[i].name, name)) return &pl->t[i];
    return NULL;
}

static void *fill_all(const reap_synth_params *p, const reap_synth_tensor *t) {
    void *b = reap_xmalloc(t->nbytes);
    reap_synth_fill(p, t, 0, t->nbytes / reap_dtype_size(t->dtype), b);
    return b;
}

// The spec's totals of the released checkpoint (minimax-m2.md section 3).
static void test_minimax_plan_has_real_model_totals(void) {
    reap_synth_params p;
    CHECK_EQ_INT(reap_synth_preset("minimax-m2", &p), REAP_OK);
    reap_synth_plan pl;
    CHECK_EQ_INT(reap_synth_plan_make(&p, &pl), REAP_OK);
    CHECK_EQ_INT(pl.n, 96103);
    CHECK_EQ_INT(pl.total_bytes, 230121630720ull);
    const reap_synth_tensor *t = find(&pl, "model.layers.61.block_sparse_moe.experts.255.w2.weight_scale_inv");
    CHECK(t && t->dtype == REAP_DT_F32 && t->shape[0] == 24 && t->shape[1] == 12);
    t = find(&pl, "model.layers.0.self_attn.o_proj.weight");
    CHECK(t && t->dtype == REAP_DT_F8_E4M3 && t->shape[0] == 3072 && t->shape[1] == 6144);
    reap_synth_plan_free(&pl);
}

static void test_shards_respect_max_size_and_keep_scales_with_weights(void) {
    reap_synth_params p;
    reap_synth_preset("tiny", &p);
    p.max_shard_bytes = 20000;
    reap_synth_plan pl;
    CHECK_EQ_INT(reap_synth_plan_make(&p, &pl), REAP_OK);
    CHECK(pl.n_shards > 5);
    uint64_t *sz = calloc((size_t)pl.n_shards, sizeof *sz);
    for (int i = 0; i < pl.n; i++) {
        sz[pl.t[i].shard] += pl.t[i].nbytes;
        if (i) CHECK(pl.t[i].shard >= pl.t[i - 1].shard);
        if (strstr(pl.t[i].name, "_scale_inv")) CHECK(pl.t[i].shard == pl.t[i - 1].shard);
    }
    for (int s = 0; s < pl.n_shards; s++) {
        int single = 0;  // a shard may exceed the limit only when it holds one oversized tensor (+ scale)
        for (int i = 0; i < pl.n; i++)
            if (pl.t[i].shard == s && pl.t[i].nbytes > p.max_shard_bytes) single = 1;
        CHECK_MSG(sz[s] <= p.max_shard_bytes || single, "shard %d has %llu bytes", s, (unsigned long long)sz[s]);
    }
    free(sz);
    reap_synth_plan_free(&pl);
}

// Any chunking and any thread count give the same bytes (the writer fills in 32 MiB pieces).
static void test_fill_is_independent_of_chunking_and_threads(void) {
    reap_synth_params p;
    reap_synth_preset("tiny", &p);
    p.vocab = 20000;  // embed (20000, 64) BF16: big enough for the fast path and the threads
    reap_synth_plan pl;
    CHECK_EQ_INT(reap_synth_plan_make(&p, &pl), REAP_OK);
    const char *names[] = {"model.embed_tokens.weight", "model.layers.1.block_sparse_moe.experts.3.w2.weight",
                           "model.layers.0.block_sparse_moe.gate.weight", "model.layers.0.input_layernorm.weight",
                           "model.layers.1.self_attn.q_proj.weight_scale_inv"};
    for (int k = 0; k < 5; k++) {
        const reap_synth_tensor *t = find(&pl, names[k]);
        CHECK(t);
        size_t es = reap_dtype_size(t->dtype);
        uint64_t n = t->nbytes / es;
        omp_set_num_threads(2);
        uint8_t *whole = fill_all(&p, t), *parts = reap_xmalloc(t->nbytes);
        omp_set_num_threads(1);
        uint8_t *one = fill_all(&p, t);
        CHECK_MSG(!memcmp(whole, one, t->nbytes), "%s differs between 1 and 2 threads", t->name);
        uint64_t steps[] = {1, 3, 7, 13, 1000};
        for (uint64_t e = 0, s = 0; e < n; s++) {  // odd-sized pieces at odd offsets
            uint64_t m = steps[s % 5] < n - e ? steps[s % 5] : n - e;
            reap_synth_fill(&p, t, e, m, parts + e * es);
            e += m;
        }
        CHECK_MSG(!memcmp(whole, parts, t->nbytes), "%s differs when filled in pieces", t->name);
        free(whole);
        free(parts);
        free(one);
    }
    omp_set_num_threads(2);
    reap_synth_plan_free(&pl);
}

static void test_seed_changes_values(void) {
    reap_synth_params a, b;
    reap_synth_preset("tiny", &a);
    b = a;
    b.seed = a.seed + 1;
    reap_synth_plan pl;
    CHECK_EQ_INT(reap_synth_plan_make(&a, &pl), REAP_OK);
    const reap_synth_tensor *t = find(&pl, "model.layers.0.block_sparse_moe.experts.0.w1.weight");
    uint8_t *x = fill_all(&a, t), *y = fill_all(&b, t);
    int same = 0;
    for (uint64_t i = 0; i < t->nbytes; i++) same += x[i] == y[i];
    CHECK_MSG(same < (int)(t->nbytes / 4), "%d of %llu bytes equal", same, (unsigned long long)t->nbytes);
    free(x);
    free(y);
    reap_synth_plan_free(&pl);
}

// Dequantised FP8 weights have the planned standard deviation (1/sqrt(fan_in) for w1) and use
// the E4M3 range (codes near 448 occur), with no NaN codes.
static void test_fp8_weights_dequantise_to_target_std(void) {
    reap_synth_params p;
    reap_synth_preset("small", &p);
    reap_synth_plan pl;
    CHECK_EQ_INT(reap_synth_plan_make(&p, &pl), REAP_OK);
    const reap_synth_tensor *w = find(&pl, "model.layers.2.block_sparse_moe.experts.5.w1.weight");
    const reap_synth_tensor *s = find(&pl, "model.layers.2.block_sparse_moe.experts.5.w1.weight_scale_inv");
    CHECK(w && s && s->shape[0] == (w->shape[0] + p.block - 1) / p.block);
    uint8_t *q = fill_all(&p, w);
    float *sc = fill_all(&p, s), *x = reap_xmalloc(sizeof(float) * (size_t)(w->shape[0] * w->shape[1]));
    reap_dequant_fp8_block(REAP_DT_F8_E4M3, q, w->shape[0], w->shape[1], sc, p.block, p.block, x);
    double ss = 0, sum = 0, amax = 0;
    int64_t n = w->shape[0] * w->shape[1];
    for (int64_t i = 0; i < n; i++) {
        CHECK((q[i] & 0x7f) != 0x7f);
        ss += (double)x[i] * x[i];
        sum += x[i];
        float a = fabsf(reap_e4m3_to_f32(q[i]));
        if (a > amax) amax = a;
    }
    double sd = sqrt(ss / n), want = 1.0 / sqrt(p.hidden);
    CHECK_NEAR(sd, want, 0.05);
    CHECK(fabs(sum / n) < 0.05 * want);
    CHECK(amax >= 384);
    free(q);
    free(sc);
    free(x);
    reap_synth_plan_free(&pl);
}

// Bias values in the magnitudes the spec reports (4.7..8.7), varying per expert.
static void test_router_bias_in_reported_range(void) {
    reap_synth_params p;
    reap_synth_preset("minimax-m2", &p);
    p.n_layers = 1;
    reap_synth_plan pl;
    CHECK_EQ_INT(reap_synth_plan_make(&p, &pl), REAP_OK);
    const reap_synth_tensor *t = find(&pl, "model.layers.0.block_sparse_moe.e_score_correction_bias");
    float *b = fill_all(&p, t);
    float lo = 100, hi = -100;
    for (int j = 0; j < p.n_experts; j++) lo = fminf(lo, b[j]), hi = fmaxf(hi, b[j]);
    CHECK_MSG(lo >= 4.7f && hi <= 8.7f && lo < 5.5f && hi > 8.5f, "bias range %g..%g", lo, hi);
    free(b);
    reap_synth_plan_free(&pl);
}

// With unit-RMS random inputs the router (sigmoid + bias, top-k) is neither uniform nor
// collapsed: most experts get tokens, some get clearly more than others, none take everything.
static void test_routing_neither_uniform_nor_collapsed(void) {
    reap_synth_params p;
    reap_synth_preset("small", &p);
    reap_synth_plan pl;
    CHECK_EQ_INT(reap_synth_plan_make(&p, &pl), REAP_OK);
    int E = p.n_experts, H = p.hidden, K = p.top_k, T = 4000;
    float *g = fill_all(&p, find(&pl, "model.layers.1.block_sparse_moe.gate.weight"));
    float *bias = fill_all(&p, find(&pl, "model.layers.1.block_sparse_moe.e_score_correction_bias"));
    int *count = calloc((size_t)E, sizeof(int));
    float *x = malloc(sizeof(float) * (size_t)H), *sc = malloc(sizeof(float) * (size_t)E);
    uint64_t r = 12345;
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < H; i++) {  // Box-Muller normals from an LCG
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            double u1 = ((r >> 11) + 1.0) / 9007199254740993.0;
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            double u2 = (r >> 11) / 9007199254740992.0;
            x[i] = (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
        }
        for (int j = 0; j < E; j++) {
            double l = 0;
            for (int i = 0; i < H; i++) l += (double)g[(size_t)j * H + i] * x[i];
            sc[j] = (float)(1 / (1 + exp(-l))) + bias[j];
        }
        for (int k = 0; k < K; k++) {
            int best = 0;
            for (int j = 1; j < E; j++)
                if (sc[j] > sc[best]) best = j;
            count[best]++;
            sc[best] = -1e30f;
        }
    }
    int used = 0, maxc = 0;
    double mean = (double)T * K / E, var = 0;
    for (int j = 0; j < E; j++) {
        used += count[j] > 0;
        if (count[j] > maxc) maxc = count[j];
        var += (count[j] - mean) * (count[j] - mean);
    }
    double cv = sqrt(var / E) / mean;
    printf("  routing over %d tokens: %d of %d experts chosen, busiest %d, load CV %.2f\n", T, used, E, maxc, cv);
    CHECK_MSG(used >= E * 3 / 4, "only %d of %d experts chosen", used, E);
    CHECK_MSG(maxc < 0.6 * T, "one expert takes %d of %d tokens", maxc, T);
    CHECK_MSG(cv > 0.3 && cv < 3, "load coefficient of variation %g", cv);
    free(g);
    free(bias);
    free(count);
    free(x);
    free(sc);
    reap_synth_plan_free(&pl);
}

static void test_config_json_parses_with_requested_sizes(void) {
    reap_synth_params p;
    reap_synth_preset("tiny", &p);
    p.n_experts = 24, p.rotary_dim = 4;
    char *txt = reap_synth_config_json(&p);
    cJSON *c = cJSON_Parse(txt);
    CHECK(c);
    reap_m2_config m;
    CHECK_EQ_INT(reap_m2_config_parse(c, "config.json", &m), REAP_OK);
    CHECK(m.hidden == 64 && m.inter == 32 && m.n_layers == 2 && m.n_experts == 24 && m.top_k == 4);
    CHECK(m.n_heads == 4 && m.n_kv_heads == 2 && m.head_dim == 16 && m.rotary_dim == 4 && m.vocab == 1024);
    CHECK(m.fp8 && m.block_r == 16 && m.block_c == 16 && m.scoring_sigmoid && m.use_routing_bias && m.qk_norm);
    CHECK_NEAR(cJSON_GetObjectItem(c, "partial_rotary_factor")->valuedouble, 0.25, 1e-12);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(c, "attn_type_list")), 2);
    const char *keys[] = {"architectures", "auto_map", "use_mtp", "num_mtp_modules", "mtp_transformer_layers",
                          "shared_intermediate_size", "max_position_embeddings", "rope_theta", "rms_norm_eps",
                          "tie_word_embeddings", "qk_norm_type", "sliding_window", "quantization_config"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) CHECK_MSG(cJSON_GetObjectItem(c, keys[i]), "%s", keys[i]);
    cJSON_Delete(c);
    free(txt);
}

static void test_parse_size_units_and_garbage(void) {
    uint64_t v;
    CHECK(reap_synth_parse_size("5GB", &v) == REAP_OK && v == 5000000000ull);
    CHECK(reap_synth_parse_size("200MB", &v) == REAP_OK && v == 200000000ull);
    CHECK(reap_synth_parse_size("1GiB", &v) == REAP_OK && v == 1073741824ull);
    CHECK(reap_synth_parse_size("1.5kb", &v) == REAP_OK && v == 1500);
    CHECK(reap_synth_parse_size("4096", &v) == REAP_OK && v == 4096);
    CHECK(reap_synth_parse_size("5 GB", &v) == REAP_EUSAGE);
    CHECK(reap_synth_parse_size("GB", &v) == REAP_EUSAGE);
    CHECK(reap_synth_parse_size("-1MB", &v) == REAP_EUSAGE);
    CHECK(reap_synth_parse_size("3XB", &v) == REAP_EUSAGE);
}

static void test_check_rejects_inconsistent_sizes(void) {
    reap_synth_params p;
    reap_synth_preset("tiny", &p);
    reap_synth_params q = p;
    q.top_k = q.n_experts + 1;
    CHECK(reap_synth_check(&q) == REAP_EUSAGE);
    CHECK_STR_CONTAINS(reap_err_msg(), "top-k");
    q = p, q.rotary_dim = 7;
    CHECK(reap_synth_check(&q) == REAP_EUSAGE);
    q = p, q.rotary_dim = q.head_dim + 2;
    CHECK(reap_synth_check(&q) == REAP_EUSAGE);
    q = p, q.n_kv_heads = 3;
    CHECK(reap_synth_check(&q) == REAP_EUSAGE);
    CHECK_STR_CONTAINS(reap_err_msg(), "kv-heads");
    CHECK(reap_synth_preset("huge", &q) == REAP_EUSAGE);
    CHECK(reap_synth_check(&p) == REAP_OK);
}

int main(void) {
    RUN(test_minimax_plan_has_real_model_totals);
    RUN(test_shards_respect_max_size_and_keep_scales_with_weights);
    RUN(test_fill_is_independent_of_chunking_and_threads);
    RUN(test_seed_changes_values);
    RUN(test_fp8_weights_dequantise_to_target_std);
    RUN(test_router_bias_in_reported_range);
    RUN(test_routing_neither_uniform_nor_collapsed);
    RUN(test_config_json_parses_with_requested_sizes);
    RUN(test_parse_size_units_and_garbage);
    RUN(test_check_rejects_inconsistent_sizes);
    TEST_EXIT();
}

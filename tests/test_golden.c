// test_golden.c: `reap score`'s CPU path against the golden fixture made by transformers'
// MiniMaxM2ForCausalLM (tests/golden/make_golden.py; README there says how to regenerate it):
// identical chosen expert sets for every token of every layer, gate weights, expert output norms
// and maxima, the statistics (through reap_score_rows, what `reap score` runs) and the final
// logits within 1e-4 relative; and the rows `reap score` packs from tests/golden/calib.jsonl are
// the fixture's rows.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "ckpt.h"
#include "common.h"
#include "forward.h"
#include "m2config.h"
#include "score.h"
#include "stats.h"
#include "test.h"

#define CKPT "tests/golden/ckpt"
#define FIXTURE "tests/golden/fixture.json"
#define TOL 1e-4

static cJSON *fx;
static reap_packed rows;  // the fixture's rows

static int load_fixture(void) {
    char *text;
    size_t len;
    if (reap_read_file(FIXTURE, &text, &len)) return 0;
    fx = cJSON_ParseWithLength(text, len);
    free(text);
    if (!fx) return 0;
    const cJSON *ids = cJSON_GetObjectItem(fx, "ids"), *mask = cJSON_GetObjectItem(fx, "mask");
    rows.rows = cJSON_GetObjectItem(fx, "rows")->valueint;
    rows.seq_len = cJSON_GetObjectItem(fx, "seq_len")->valueint;
    size_t n = (size_t)rows.rows * rows.seq_len;
    rows.ids = reap_xmalloc(n * sizeof *rows.ids);
    rows.mask = reap_xmalloc(n);
    for (int r = 0; r < rows.rows; r++)
        for (int t = 0; t < rows.seq_len; t++) {
            rows.ids[r * rows.seq_len + t] = cJSON_GetArrayItem(cJSON_GetArrayItem(ids, r), t)->valueint;
            rows.mask[r * rows.seq_len + t] = (uint8_t)cJSON_GetArrayItem(cJSON_GetArrayItem(mask, r), t)->valueint;
        }
    return 1;
}

static double num(const cJSON *a, int i) { return cJSON_GetArrayItem(a, i)->valuedouble; }
static const cJSON *at2(const cJSON *a, int i) { return cJSON_GetArrayItem(a, i); }

static int rel_ok(double got, double want, double scale) {
    return fabs(got - want) <= TOL * fmax(fabs(want), scale);
}

// Runs the layers with traces and compares routing, weights, norms, maxima and the logits.
static void test_golden_routing_norms_and_logits_match_transformers(void) {
    CHECK_MSG(fx != NULL, "cannot read %s", FIXTURE);
    reap_ckpt *c;
    CHECK_MSG(reap_ckpt_open(CKPT, &c) == REAP_OK, "%s", reap_err_msg());
    reap_m2_config cfg;
    CHECK(reap_m2_config_parse(c->config, CKPT "/config.json", &cfg) == REAP_OK);
    int n = rows.rows * rows.seq_len, k = cfg.top_k, H = cfg.hidden;
    float *h = reap_xmalloc(sizeof(float) * n * H);
    CHECK(reap_embed_cpu(c, &cfg, rows.ids, n, h) == REAP_OK);
    reap_layer_trace tr = {reap_xmalloc(sizeof(int) * n * k), reap_xmalloc(sizeof(double) * n * k),
                           reap_xmalloc(sizeof(double) * n * k), reap_xmalloc(sizeof(float) * n * k)};
    const cJSON *layers = cJSON_GetObjectItem(fx, "layers");
    CHECK_EQ_INT(cJSON_GetArraySize(layers), cfg.n_layers);
    int set_mismatch = 0, val_mismatch = 0;
    double worst = 0;
    for (int l = 0; l < cfg.n_layers; l++) {
        reap_layer_weights w;
        CHECK(reap_layer_load(c, &cfg, l, &w) == REAP_OK);
        int st = reap_layer_forward_cpu_ex(&cfg, &w, h, rows.rows, rows.seq_len, rows.mask, REAP_ROUTER_MODEL, NULL, &tr);
        reap_layer_free(&w);
        CHECK(st == REAP_OK);
        const cJSON *L = cJSON_GetArrayItem(layers, l);
        const cJSON *ch = cJSON_GetObjectItem(L, "chosen"), *wt = cJSON_GetObjectItem(L, "weights"),
                    *nm = cJSON_GetObjectItem(L, "norms"), *mx = cJSON_GetObjectItem(L, "max_act");
        for (int t = 0; t < n; t++)
            for (int s = 0; s < k; s++) {
                int e = cJSON_GetArrayItem(at2(ch, t), s)->valueint, found = -1;
                for (int q = 0; q < k; q++)
                    if (tr.chosen[t * k + q] == e) found = q;
                if (found < 0) {
                    if (set_mismatch++ < 5) printf("  layer %d token %d: transformers chose expert %d, we did not\n", l, t, e);
                    continue;
                }
                double want[3] = {num(at2(wt, t), s), num(at2(nm, t), s), num(at2(mx, t), s)};
                double got[3] = {tr.weight[t * k + found], tr.norm[t * k + found], tr.max_act[t * k + found]};
                double scale[3] = {0, 0, num(at2(nm, t), s) / sqrt(H)};
                for (int i = 0; i < 3; i++) {
                    worst = fmax(worst, fabs(got[i] - want[i]) / fmax(fabs(want[i]), 1e-30));
                    if (!rel_ok(got[i], want[i], scale[i]) && val_mismatch++ < 5)
                        printf("  layer %d token %d expert %d: value %d is %.9g, transformers %.9g\n", l, t, e, i, got[i],
                               want[i]);
                }
            }
    }
    CHECK_EQ_INT(set_mismatch, 0);
    CHECK_EQ_INT(val_mismatch, 0);

    const cJSON *pos = cJSON_GetObjectItem(fx, "logits_positions"), *lg = cJSON_GetObjectItem(fx, "logits");
    int np = cJSON_GetArraySize(pos), V = cfg.vocab, bad = 0;
    float *hp = reap_xmalloc(sizeof(float) * np * H), *logits = reap_xmalloc(sizeof(float) * np * V);
    for (int i = 0; i < np; i++) memcpy(hp + i * H, h + cJSON_GetArrayItem(pos, i)->valueint * H, sizeof(float) * H);
    CHECK(reap_logits_cpu(c, &cfg, hp, np, logits) == REAP_OK);
    double worst_logit = 0;
    for (int i = 0; i < np; i++) {
        const cJSON *row = cJSON_GetArrayItem(lg, i);
        CHECK_EQ_INT(cJSON_GetArraySize(row), V);
        double mx = 0;
        for (int v = 0; v < V; v++) mx = fmax(mx, fabs(num(row, v)));
        for (int v = 0; v < V; v++) {
            double d = fabs(logits[i * V + v] - num(row, v)) / mx;
            worst_logit = fmax(worst_logit, d);
            bad += d > TOL;
        }
    }
    printf("  worst relative difference: routing values %.2g, logits %.2g (of the position's largest)\n", worst,
           worst_logit);
    CHECK_EQ_INT(bad, 0);
    free(h), free(hp), free(logits), free(tr.chosen), free(tr.weight), free(tr.norm), free(tr.max_act);
    reap_ckpt_close(c);
}

// The statistics through the scoring driver (what `reap score` runs), masked tokens excluded.
static void test_golden_statistics_match_transformers(void) {
    CHECK(fx != NULL);
    reap_score_params p = reap_score_default_params();
    p.device = REAP_DEVICE_CPU;
    p.seq_len = rows.seq_len;
    reap_stats s;
    reap_score_info info;
    int log = reap_log_level;
    reap_log_level = -1;
    int st = reap_score_rows(CKPT, &rows, &p, &s, &info);
    reap_log_level = log;
    CHECK_MSG(st == REAP_OK, "%s", reap_err_msg());
    const cJSON *layers = cJSON_GetObjectItem(fx, "layers");
    int bad = 0;
    for (int l = 0; l < s.n_layers; l++) {
        const cJSON *S = cJSON_GetObjectItem(cJSON_GetArrayItem(layers, l), "stats");
        if ((int)s.layers[l].tokens != cJSON_GetObjectItem(S, "tokens")->valueint) bad++;
        for (int e = 0; e < s.n_experts; e++) {
            const reap_expert_stats *x = &s.layers[l].e[e];
            int cnt = cJSON_GetArrayItem(cJSON_GetObjectItem(S, "count"), e)->valueint;
            double g = num(cJSON_GetObjectItem(S, "gate_sum"), e), nm = num(cJSON_GetObjectItem(S, "norm_sum"), e),
                   r = num(cJSON_GetObjectItem(S, "reap_sum"), e);
            const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(S, "max_act"), e);
            int ok = (int)x->count == cnt && rel_ok(x->gate_sum, g, 0) && rel_ok(x->norm_sum, nm, 0) &&
                     rel_ok(x->reap_sum, r, 0) &&
                     (cJSON_IsNull(m) ? isinf(x->max_act) : rel_ok(x->max_act, m->valuedouble, nm / (cnt ? cnt : 1) / 8));
            if (!ok && bad++ < 5)
                printf("  layer %d expert %d: count %llu/%d gate %.9g/%.9g norm %.9g/%.9g reap %.9g/%.9g\n", l, e,
                       (unsigned long long)x->count, cnt, x->gate_sum, g, x->norm_sum, nm, x->reap_sum, r);
        }
    }
    CHECK(info.tokens_valid < info.tokens);  // the fixture has masked tokens
    reap_stats_free(&s);
    CHECK_EQ_INT(bad, 0);
}

// `reap score --calib tests/golden/calib.jsonl --rows R --seq-len T` packs exactly the fixture's rows.
static void test_golden_rows_are_what_score_packs(void) {
    CHECK(fx != NULL);
    reap_pack_params p = reap_pack_default_params();  // what `reap score` packs with by default
    const char *specs[] = {"tests/golden/calib.jsonl"};
    p.rows = rows.rows, p.seq_len = rows.seq_len;
    reap_packed pk;
    CHECK_MSG(reap_calib_pack_model(CKPT, specs, 1, &p, &pk) == REAP_OK, "%s", reap_err_msg());
    size_t n = (size_t)rows.rows * rows.seq_len;
    int same = pk.rows == rows.rows && !memcmp(pk.ids, rows.ids, n * sizeof *pk.ids) && !memcmp(pk.mask, rows.mask, n);
    reap_packed_free(&pk);
    CHECK(same);
}

// The embedding table read by groups of the rows the ids need (the GPU embedding's reads): those
// groups as the whole read has them, the others left as they were, and a row the ids use is the
// row reap_embed_cpu gives.
static void test_embed_table_rows_reads_only_the_needed_groups(void) {
    reap_ckpt *c;
    CHECK_MSG(reap_ckpt_open(CKPT, &c) == REAP_OK, "%s", reap_err_msg());
    reap_m2_config cfg;
    CHECK(reap_m2_config_parse(c->config, CKPT "/config.json", &cfg) == REAP_OK);
    const int V = cfg.vocab, H = cfg.hidden, v0 = 5, n = V - 5;
    float *all = reap_xmalloc(sizeof(float) * (size_t)n * H), *some = reap_xmalloc(sizeof(float) * (size_t)n * H);
    void *raw = reap_xmalloc(sizeof(float) * (size_t)n * H);
    CHECK(reap_embed_table_rows(c, &cfg, v0, n, NULL, raw, all) == REAP_OK);
    uint8_t *need = reap_xcalloc((size_t)V, 1);
    int32_t ids[] = {2, v0 + 1, v0 + REAP_EMBED_GROUP * 2 + 7, v0 + REAP_EMBED_GROUP * 2 + 63, V - 1};
    for (int i = 0; i < 5; i++) need[ids[i]] = 1;
    for (size_t i = 0; i < (size_t)n * H; i++) some[i] = -12345.0f;
    CHECK(reap_embed_table_rows(c, &cfg, v0, n, need, raw, some) == REAP_OK);
    int bad = 0, kept = 0;
    for (int r = 0; r < n; r++) {
        int g = r / REAP_EMBED_GROUP, in = 0;
        for (int q = g * REAP_EMBED_GROUP; q < (g + 1) * REAP_EMBED_GROUP && q < n; q++) in |= need[v0 + q];
        const float *x = some + (size_t)r * H;
        if (in) bad += memcmp(x, all + (size_t)r * H, sizeof(float) * H) != 0;
        else kept += x[0] == -12345.0f && x[H - 1] == -12345.0f;
    }
    const int groups = (n + REAP_EMBED_GROUP - 1) / REAP_EMBED_GROUP;
    CHECK_EQ_INT(bad, 0);
    CHECK(groups >= 4);
    CHECK(kept > 0 && kept == n - (3 * REAP_EMBED_GROUP - (groups * REAP_EMBED_GROUP - n)));  // groups 0, 2, last
    float *h = reap_xmalloc(sizeof(float) * 5 * H);
    CHECK(reap_embed_cpu(c, &cfg, ids + 1, 4, h) == REAP_OK);
    for (int i = 1; i < 5; i++) CHECK(!memcmp(h + (size_t)(i - 1) * H, some + (size_t)(ids[i] - v0) * H, sizeof(float) * H));
    free(h), free(need), free(raw), free(some), free(all);
    reap_ckpt_close(c);
}

int main(void) {
    load_fixture();
    RUN(test_golden_routing_norms_and_logits_match_transformers);
    RUN(test_golden_statistics_match_transformers);
    RUN(test_golden_rows_are_what_score_packs);
    RUN(test_embed_table_rows_reads_only_the_needed_groups);
    cJSON_Delete(fx);
    free(rows.ids), free(rows.mask);
    TEST_EXIT();
}

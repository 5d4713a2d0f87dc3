// fuzz_stats: a statistics file through reap_stats_load; what it accepts must give saliencies
// under every criterion, save, load back equal (a round trip), and merge with a second copy of
// itself (refused: the shard sets overlap) without leaking. The same loader reads a work dir's
// stats.partial.json (fuzz_workdir covers that file in its place).
#include <math.h>

#include "fuzz.h"
#include "stats.h"

static int same(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_memfd_path(data, size);
    reap_stats s;
    if (reap_stats_load(path, &s) != REAP_OK) {
        FUZZ_CHECK(s.layers == NULL && s.model == NULL);
        return 0;
    }
    double *sal = malloc(sizeof *sal * (size_t)s.n_experts);
    for (int l = 0; l < s.n_layers; l++)
        for (int c = 0; c < REAP_CRIT_COUNT; c++) (void)reap_stats_saliency(&s, l, (reap_criterion)c, sal);
    free(sal);
    char out[256];
    snprintf(out, sizeof out, "%s", fuzz_path("stats.json"));
    FUZZ_CHECK(reap_stats_save(&s, out) == REAP_OK);
    reap_stats r;
    FUZZ_CHECK(reap_stats_load(out, &r) == REAP_OK);
    FUZZ_CHECK(r.n_layers == s.n_layers && r.n_experts == s.n_experts && r.top_k == s.top_k &&
               r.layers_done == s.layers_done && r.router == s.router && !strcmp(r.fingerprint, s.fingerprint));
    for (int l = 0; l < s.n_layers; l++) {
        FUZZ_CHECK(r.layers[l].tokens == s.layers[l].tokens);
        for (int e = 0; e < s.n_experts; e++) {
            const reap_expert_stats *a = &s.layers[l].e[e], *b = &r.layers[l].e[e];
            FUZZ_CHECK(a->count == b->count && same(a->gate_sum, b->gate_sum) && same(a->norm_sum, b->norm_sum) &&
                       same(a->reap_sum, b->reap_sum) && same(a->max_act, b->max_act));
        }
    }
    (void)reap_stats_merge(&s, &r, out);
    reap_stats_free(&r);
    reap_stats_free(&s);
    return 0;
}

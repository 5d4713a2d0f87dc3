// tool_synth_stats.c: writes a statistics file for a checkpoint with deterministic pseudo-random
// values (test helper for the prune and merge end-to-end tests; the real producer is `reap score`).
// usage: tool_synth_stats DIR OUT.json [SEED] [LAYERS_DONE] [SHARD SHARD_COUNT]
//   SEED 0 gives every expert the same statistics (all saliencies tie).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ckpt.h"
#include "common.h"
#include "m2config.h"
#include "stats.h"

static uint64_t next(uint64_t *s) {  // splitmix64
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s DIR OUT.json [SEED] [LAYERS_DONE] [SHARD SHARD_COUNT]\n", argv[0]);
        return 2;
    }
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 1, rng = seed;
    reap_ckpt *c = NULL;
    reap_m2_config m;
    if (reap_ckpt_open(argv[1], &c) || reap_m2_config_load(c, &m)) {
        fprintf(stderr, "%s\n", reap_err_msg());
        reap_ckpt_close(c);
        return 1;
    }
    int nl = m.n_layers, ne = m.n_experts, k = m.top_k;
    reap_stats s;
    reap_stats_init(&s, nl, ne, k);
    reap_stats_fingerprint(c, &m, s.fingerprint);
    s.layers_done = argc > 4 ? atoi(argv[4]) : nl;
    const char *src[] = {"builtin"};
    int shard = argc > 6 ? atoi(argv[5]) : 0, nshard = argc > 6 ? atoi(argv[6]) : 1;
    s.calib = reap_stats_calib_new(src, 1, 64, 128, 42, shard, nshard);
    s.model = cJSON_CreateObject();
    cJSON_AddStringToObject(s.model, "architecture", "MiniMaxM2ForCausalLM");
    for (int l = 0; l < nl; l++) {
        reap_layer_stats *ls = &s.layers[l];
        ls->tokens = 1000;
        for (int e = 0; e < ne; e++) {
            reap_expert_stats *x = &ls->e[e];
            uint64_t r = seed ? next(&rng) : 7;
            x->count = seed && r % 10 == 0 ? 0 : 1 + r % 50;  // about 10% never routed
            if (!x->count) continue;
            double g = seed ? (double)(next(&rng) % 1000) / 1000.0 : 0.5;
            x->gate_sum = g * (double)x->count;
            x->norm_sum = 3.0 * (double)x->count;
            x->reap_sum = g * 3.0 * (double)x->count;
            x->max_act = seed ? (double)(next(&rng) % 100) / 10.0 : 1.0;
        }
    }
    int st = reap_stats_save(&s, argv[2]);
    if (st) fprintf(stderr, "%s\n", reap_err_msg());
    reap_stats_free(&s);
    reap_ckpt_close(c);
    return st ? 1 : 0;
}

// tool_statsdiff.c: compares two statistics files (tests): same model fingerprint, router and
// layers; per layer tokens and per expert counts exactly; gate_sum, norm_sum and reap_sum within a
// relative tolerance (default 0: bit-identical); max_act exactly. Prints the first differences and
// exits 0 when the files agree, 1 when they differ, 2 on a load error. With MIN_COUNT it also prints
// how far apart two runs that are not meant to be identical are (bench/gpu_bench.sh: bf16 against
// FP8 expert GEMMs): the share of routed pairs whose expert moved (half the sum of |count
// differences| over the total count) and the largest relative difference of each sum over experts
// with at least MIN_COUNT tokens in both.
//   tool_statsdiff A.json B.json [REL_TOL [MIN_COUNT]]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "stats.h"

static int close_enough(double a, double b, double tol) {
    if (a == b) return 1;
    return fabs(a - b) <= tol * fmax(fabs(a), fabs(b));
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: tool_statsdiff A.json B.json [REL_TOL [MIN_COUNT]]\n");
        return 2;
    }
    double tol = argc >= 4 ? strtod(argv[3], NULL) : 0;
    const long long min_count = argc == 5 ? strtoll(argv[4], NULL, 10) : -1;
    double moved = 0, total = 0, worst_big[3] = {0, 0, 0};
    reap_stats a, b;
    if (reap_stats_load(argv[1], &a) || reap_stats_load(argv[2], &b)) {
        fprintf(stderr, "tool_statsdiff: %s\n", reap_err_msg());
        return 2;
    }
    int diffs = 0;
#define DIFF(...)                                          \
    do {                                                   \
        if (diffs++ < 10) printf(__VA_ARGS__);             \
    } while (0)
    if (strcmp(a.fingerprint, b.fingerprint)) DIFF("fingerprint %s vs %s\n", a.fingerprint, b.fingerprint);
    if (a.router != b.router) DIFF("router %d vs %d\n", a.router, b.router);
    if (a.n_layers != b.n_layers || a.n_experts != b.n_experts || a.layers_done != b.layers_done) {
        printf("shape: %d layers x %d experts (%d done) vs %d x %d (%d done)\n", a.n_layers, a.n_experts, a.layers_done,
               b.n_layers, b.n_experts, b.layers_done);
        return 1;
    }
    double worst = 0;
    for (int l = 0; l < a.n_layers; l++) {
        const reap_layer_stats *x = &a.layers[l], *y = &b.layers[l];
        if (x->tokens != y->tokens)
            DIFF("layer %d: tokens %llu vs %llu\n", l, (unsigned long long)x->tokens, (unsigned long long)y->tokens);
        for (int e = 0; e < a.n_experts; e++) {
            const reap_expert_stats *p = &x->e[e], *q = &y->e[e];
            if (p->count != q->count)
                DIFF("layer %d expert %d: count %llu vs %llu\n", l, e, (unsigned long long)p->count,
                     (unsigned long long)q->count);
            const double va[3] = {p->gate_sum, p->norm_sum, p->reap_sum}, vb[3] = {q->gate_sum, q->norm_sum, q->reap_sum};
            const char *names[3] = {"gate_sum", "norm_sum", "reap_sum"};
            moved += fabs((double)p->count - (double)q->count) / 2, total += (double)p->count;
            if (min_count >= 0 && (long long)p->count >= min_count && (long long)q->count >= min_count)
                for (int i = 0; i < 3; i++)
                    if (va[i] != vb[i])
                        worst_big[i] = fmax(worst_big[i], fabs(va[i] - vb[i]) / fmax(fabs(va[i]), fabs(vb[i])));
            for (int i = 0; i < 3; i++) {
                if (va[i] != vb[i]) worst = fmax(worst, fabs(va[i] - vb[i]) / fmax(fabs(va[i]), fabs(vb[i])));
                if (!close_enough(va[i], vb[i], tol))
                    DIFF("layer %d expert %d: %s %.17g vs %.17g\n", l, e, names[i], va[i], vb[i]);
            }
            if (p->max_act != q->max_act && !(isinf(p->max_act) && isinf(q->max_act)))
                DIFF("layer %d expert %d: max_act %.9g vs %.9g\n", l, e, p->max_act, q->max_act);
        }
    }
    printf("%s: %d differences; largest relative difference of the sums %.3g (tolerance %g)\n",
           diffs ? "DIFFERENT" : "same", diffs, worst, tol);
    if (min_count >= 0)
        printf("apart: %.4f%% of the routed pairs moved to another expert; over experts with >= %lld tokens the largest "
               "relative difference of gate_sum %.3g, norm_sum %.3g, reap_sum %.3g\n",
               total > 0 ? 100 * moved / total : 0, min_count, worst_big[0], worst_big[1], worst_big[2]);
    reap_stats_free(&a);
    reap_stats_free(&b);
    return diffs ? 1 : 0;
}

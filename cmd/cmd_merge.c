// cmd_merge.c: `reap merge A.json B.json ... -o OUT`: adds statistics files of data shards
// (lib/stats.c reap_stats_merge: same model, router, calibration set; disjoint shards).
#include <inttypes.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "common.h"
#include "stats.h"

int reap_cmd_merge(int argc, char **argv) {
    const char *out = NULL;
    const reap_opt opts[] = {
        {"output", 'o', REAP_OPT_STRING, &out, "OUT", "merged statistics file (written atomically)"},
    };
    const reap_cmd_spec spec = {
        "merge", "A.json B.json ... -o OUT",
        "Merge statistics files scored on different data shards (reap score --shard I/N) into one.",
        "Counts and sums add, max_act takes the maximum, shard lists are united. Refused, naming the file\n"
        "and what differs: another model (fingerprint), router mode, shard count, calibration sources, rows,\n"
        "seq_len or seed; overlapping shards; incomplete files (a scoring run that did not finish).",
        opts, (int)(sizeof opts / sizeof opts[0]), 1, -1,
    };
    char **pos = NULL;
    int npos = 0;
    int st = reap_cli_parse(&spec, argc, argv, &pos, &npos);
    if (st == REAP_CLI_HELP) return REAP_OK;
    if (st) return st;
    if (!out) {
        free(pos);
        return reap_fail(REAP_EUSAGE, "reap merge: -o OUT is required");
    }
    reap_stats acc;
    st = reap_stats_load(pos[0], &acc);
    if (!st && acc.layers_done != acc.n_layers)
        st = reap_fail(REAP_EINVAL, "%s: incomplete statistics (%d of %d layers done)", pos[0], acc.layers_done,
                       acc.n_layers);
    for (int i = 1; i < npos && !st; i++) {
        reap_stats s;
        if ((st = reap_stats_load(pos[i], &s))) break;
        st = reap_stats_merge(&acc, &s, pos[i]);
        reap_stats_free(&s);
    }
    if (!st) st = reap_stats_save(&acc, out);
    if (!st) {
        const cJSON *sh = acc.calib ? cJSON_GetObjectItemCaseSensitive(acc.calib, "shards") : NULL;
        const cJSON *n = acc.calib ? cJSON_GetObjectItemCaseSensitive(acc.calib, "shard_count") : NULL;
        printf("merged %d file%s -> %s: shards %d of %d, %" PRIu64 " tokens per layer, router %s\n", npos,
               npos == 1 ? "" : "s", out, cJSON_GetArraySize(sh), cJSON_IsNumber(n) ? (int)n->valuedouble : 0,
               acc.layers[0].tokens, reap_router_mode_name(acc.router));
    }
    if (acc.layers) reap_stats_free(&acc);
    free(pos);
    return st;
}

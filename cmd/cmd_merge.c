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
        "seq_len or seed; overlapping shards; incomplete files (a scoring run that did not finish).\n"
        "A result that lacks some shards of the calibration set is written but called PARTIAL (a warning\n"
        "naming the missing shards); `reap prune` refuses it without --allow-partial.",
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
    int n_shards = 0, *missing = NULL, n_missing = 0;
    if (!st) st = reap_stats_missing_shards(&acc, out, &n_shards, &missing, &n_missing);
    if (!st && reap_log_level >= 0) {
        char list[200];
        reap_stats_format_indices(missing, n_missing, list, sizeof list);
        printf("merged %d file%s -> %s: shards %d of %d%s%s%s, %" PRIu64 " tokens per layer, router %s\n", npos,
               npos == 1 ? "" : "s", out, n_shards - n_missing, n_shards, n_missing ? " (PARTIAL: missing " : "",
               n_missing ? list : "", n_missing ? ")" : "", acc.layers[0].tokens, reap_router_mode_name(acc.router));
        if (n_missing)
            reap_warn("%s is partial: it covers %d of the %d shards of its calibration set, missing shard%s %s; "
                      "reap prune refuses it without --allow-partial (merge the missing shards' files too)",
                      out, n_shards - n_missing, n_shards, n_missing == 1 ? "" : "s", list);
    }
    free(missing);
    if (acc.layers) reap_stats_free(&acc);
    free(pos);
    return st;
}

// cmd_verify.c: `reap verify DIR OUT`: checks a pruned checkpoint against its source (lib/verify.c).
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "common.h"
#include "safetensors.h"
#include "verify.h"

// --json: what was compared and what differed (also on a mismatch, with "ok": false).
static cJSON *result_json(const char *dir, const char *out, const reap_verify_result *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", dir);
    cJSON_AddStringToObject(o, "output", out);
    cJSON_AddNumberToObject(o, "tensors", r->n_tensors);
    cJSON_AddNumberToObject(o, "bytes_compared", (double)r->bytes_compared);
    cJSON_AddNumberToObject(o, "files", r->n_files);
    cJSON_AddNumberToObject(o, "mismatches", r->n_mismatch);
    if (r->first[0]) cJSON_AddStringToObject(o, "first_mismatch", r->first);
    else cJSON_AddNullToObject(o, "first_mismatch");
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    return o;
}

int reap_cmd_verify(int argc, char **argv) {
    int json = 0, keep_cache = 0;
    const reap_opt opts[] = {
        {"json", 'j', REAP_OPT_FLAG, &json, NULL, "print the result as one JSON object"},
        {"keep-page-cache", 0, REAP_OPT_FLAG, &keep_cache, NULL, "read the model through the page cache and keep its pages (default: O_DIRECT reads where the filesystem allows, else pages dropped after reading; env REAP_KEEP_PAGE_CACHE=1)"},
    };
    const reap_cmd_spec spec = {
        "verify", "DIR OUT [--json]",
        "Check a pruned checkpoint OUT against its source DIR: every claim `reap prune` makes.",
        "Checks: survivors byte-identical to their source experts per OUT/reap.json; router rows and\n"
        "e_score_correction_bias entries sliced to the survivors; no tensor extra or missing; dtypes and shapes;\n"
        "config.json equal to the source's except num_local_experts; shard headers and the index valid; every\n"
        "non-weight file present and identical. Exit status 3 on a mismatch (the first one is named, all counted;\n"
        "-v lists every one). -q prints nothing unless something is wrong.",
        opts, (int)(sizeof opts / sizeof opts[0]), 2, 2,
    };
    const char *args[2];
    int st = reap_cli_parse_args(&spec, argc, argv, args, 2);
    if (keep_cache) reap_st_keep_page_cache(1);
    if (st == REAP_CLI_HELP) return REAP_OK;
    if (st) return st;
    const char *dir = args[0], *out = args[1];
    reap_verify_result r;
    st = reap_verify(dir, out, &r);
    if (json) {
        if (st == REAP_OK || st == REAP_EVERIFY) reap_cmd_json_result(result_json(dir, out, &r));
        return st;
    }
    if (reap_log_level < 0) return st;  // -q: the exit status (and an error line) say it
    char b[32];
    reap_fmt_bytes((double)r.bytes_compared, b, sizeof b);
    if (!st)
        printf("verify OK: %s matches %s: %d tensors (%s compared), %d other files, config and index consistent "
               "(%.1f s)\n", out, dir, r.n_tensors, b, r.n_files, r.seconds);
    else if (st == REAP_EVERIFY && r.n_mismatch)
        printf("verify FAILED: %s vs %s: %d mismatch%s (%d tensors, %s compared)\n", out, dir, r.n_mismatch,
               r.n_mismatch == 1 ? "" : "es", r.n_tensors, b);
    return st;
}

// cmd_inspect.c: `reap inspect DIR`: validates every shard header and the layout the config implies,
// and summarises the checkpoint (dtypes, byte totals by kind, parameters, sizes after pruning).
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "cli.h"
#include "commands.h"
#include "common.h"
#include "inspect.h"

static void print_tensors(const reap_ckpt *c) {
    for (int i = 0; i < c->n_tensors; i++) {
        const reap_st_tensor *t = c->tensors[i].t;
        printf("%s %s [", c->tensors[i].name, reap_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) printf(d ? ", %lld" : "%lld", (long long)t->shape[d]);
        printf("] %s\n", c->shard_names[c->tensors[i].shard]);
    }
}

// --tensors --json: {"path", "shards", "tensors": [{"name", "dtype", "shape", "shard"}, ...]}.
static cJSON *tensors_json(const reap_ckpt *c, const char *dir) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "path", dir);
    cJSON_AddNumberToObject(o, "shards", c->n_shards);
    cJSON *a = cJSON_AddArrayToObject(o, "tensors");
    for (int i = 0; i < c->n_tensors; i++) {
        const reap_st_tensor *t = c->tensors[i].t;
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", c->tensors[i].name);
        cJSON_AddStringToObject(x, "dtype", reap_dtype_name(t->dtype));
        cJSON *sh = cJSON_AddArrayToObject(x, "shape");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddStringToObject(x, "shard", c->shard_names[c->tensors[i].shard]);
        cJSON_AddItemToArray(a, x);
    }
    return o;
}

int reap_cmd_inspect(int argc, char **argv) {
    int json = 0, tensors = 0;
    const reap_opt opts[] = {
        {"json", 'j', REAP_OPT_FLAG, &json, NULL, "print the summary (with --tensors: the tensor list) as one JSON object"},
        {"tensors", 0, REAP_OPT_FLAG, &tensors, NULL, "list every tensor (name dtype [shape] shard), sorted by name"},
    };
    const reap_cmd_spec spec = {
        "inspect", "DIR [--json] [--tensors]",
        "Validate a checkpoint (every shard header, the index, and every tensor its config implies) and summarise "
        "it: architecture, experts, dtypes, bytes by kind, parameters, and sizes after pruning 25/30/40%.",
        "Parameters count weight elements; FP8 block scales (*_scale_inv) are reported apart. After pruning at\n"
        "ratio R, floor(E*R) experts leave every layer with their router rows. Exit status 1 when a shard\n"
        "is malformed or the layout has problems (listed; with --json in \"problems\", and \"ok\": false).",
        opts, (int)(sizeof opts / sizeof opts[0]), 1, 1,
    };
    const char *dir;
    int st = reap_cli_parse_args(&spec, argc, argv, &dir, 1);
    if (st == REAP_CLI_HELP) return REAP_OK;
    if (st) return st;

    reap_ckpt *c = NULL;
    if ((st = reap_ckpt_open(dir, &c))) return st;
    if (tensors) {
        if (json) reap_cmd_json_result(tensors_json(c, dir));
        else if (reap_log_level >= 0) print_tensors(c);
        reap_ckpt_close(c);
        return REAP_OK;
    }
    static const double ratios[] = {0.25, 0.30, 0.40};
    reap_inspect_summary s;
    st = reap_inspect_run(c, ratios, 3, &s);
    if (!st) {
        if (json) reap_cmd_json_result(reap_inspect_json(&s, dir));
        else if (reap_log_level >= 0) reap_inspect_print(&s, dir, stdout);
        st = reap_inspect_problems_status(&s, dir);
    }
    reap_inspect_free(&s);
    reap_ckpt_close(c);
    return st;
}

// cmd_verify.c: `reap verify DIR OUT`: checks a pruned checkpoint against its source (lib/verify.c).
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "common.h"
#include "verify.h"

int reap_cmd_verify(int argc, char **argv) {
    const reap_cmd_spec spec = {
        "verify", "DIR OUT",
        "Check a pruned checkpoint OUT against its source DIR: every claim `reap prune` makes.",
        "Checks: survivors byte-identical to their source experts per OUT/reap.json; router rows and\n"
        "e_score_correction_bias entries sliced to the survivors; no tensor extra or missing; dtypes and shapes;\n"
        "config.json equal to the source's except num_local_experts; shard headers and the index valid; every\n"
        "non-weight file present and identical. Exit status 3 on a mismatch (the first one is named, all counted;\n"
        "-v lists every one).",
        NULL, 0, 2, 2,
    };
    const char *args[2];
    int st = reap_cli_parse_args(&spec, argc, argv, args, 2);
    if (st == REAP_CLI_HELP) return REAP_OK;
    if (st) return st;
    const char *dir = args[0], *out = args[1];
    reap_verify_result r;
    st = reap_verify(dir, out, &r);
    char b[32];
    reap_fmt_bytes((double)r.bytes_compared, b, sizeof b);
    if (reap_log_level < 0) return st;  // -q: the exit status (and an error line) say it
    if (!st)
        printf("verify OK: %s matches %s: %d tensors (%s compared), %d other files, config and index consistent "
               "(%.1f s)\n", out, dir, r.n_tensors, b, r.n_files, r.seconds);
    else if (st == REAP_EVERIFY && r.n_mismatch)
        printf("verify FAILED: %s vs %s: %d mismatch%s (%d tensors, %s compared)\n", out, dir, r.n_mismatch,
               r.n_mismatch == 1 ? "" : "es", r.n_tensors, b);
    return st;
}

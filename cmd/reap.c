// reap.c: the `reap` command-line entry point: dispatches to subcommands and turns their status
// into an exit code and a one-line error message.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "common.h"
#include "cpu_simd.h"
#include "env.h"
#include "progress.h"
#include "safetensors.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} command;

static const command commands[] = {
    {"synth", reap_cmd_synth, "write a random checkpoint in the MiniMax-M2 layout"},
    {"inspect", reap_cmd_inspect, "validate a checkpoint and summarise it (sizes, experts, pruned sizes)"},
    {"tokenize", reap_cmd_tokenize, "encode or decode text with a checkpoint's tokenizer.json"},
    {"calib", reap_cmd_calib, "render, tokenise and pack calibration data (inspect what score will see)"},
    {"score", reap_cmd_score, "run calibration and write REAP expert statistics"},
    {"merge", reap_cmd_merge, "merge statistics files from data shards"},
    {"report", reap_cmd_report, "per-layer saliency report, CSV and SVG heatmap"},
    {"prune", reap_cmd_prune, "drop the lowest-saliency experts and write a new checkpoint"},
    {"verify", reap_cmd_verify, "check a pruned checkpoint against its source"},
    {"eval", reap_cmd_eval, "what pruning cost: KL, top-1 agreement, perplexity, routing shift; what-if ratios"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *out) {
    fprintf(out, "usage: reap COMMAND [options]   (reap COMMAND --help for its options)\n\n"
                 "REAP expert pruning for Mixture-of-Experts checkpoints (MiniMax-M2 first).\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n  --version  print the version\n  --help     this help\n\n"
                 "exit codes: 0 ok, 1 error (bad input, I/O), 2 usage, 3 verify mismatch, 4 GPU error, "
                 "130 interrupted\n\n"
                 "environment (every command):\n"
                 "  REAP_KEEP_PAGE_CACHE=1   read the model through the page cache and keep its pages (default:\n"
                 "                           O_DIRECT reads, or pages dropped after reading, so streaming a model\n"
                 "                           larger than RAM does not evict everything else); --keep-page-cache\n"
                 "                           of score, eval, prune and verify\n"
                 "  REAP_CPU_ISA=avx512|avx2|generic   force a CPU kernel path (all give identical bits; --cpu-isa\n"
                 "                           of score and eval)\n"
                 "  COLUMNS=N                the progress line's width where the terminal does not tell (else 80)\n\n"
                 "progress: on a terminal, one line on stderr updated in place (score, eval, prune, verify,\n"
                 "synth); not on a terminal, none (-v: a line per layer or tensor instead). -q: errors only.\n");
}

// The command nearest to a mistyped one (a prefix, or at most 2 edits away), or NULL.
static const char *nearest_command(const char *s) {
    const char *best = NULL;
    int bd = 3;
    for (int i = 0; i < N_COMMANDS; i++) {
        int dd = strncmp(commands[i].name, s, strlen(s)) == 0 && *s ? 1 : reap_edit_distance(s, commands[i].name);
        if (dd < bd) bd = dd, best = commands[i].name;
    }
    return best;
}

static cJSON *json_doc;  // reap_cmd_json_result's

void reap_cmd_json_result(cJSON *doc) {
    cJSON_Delete(json_doc);
    json_doc = doc;
}

// The --json object: the command's result (if it gave one) with "ok" and, on failure, "error" and
// "exit_code" added at its end.
static void print_json(int st, int code) {
    cJSON *o = json_doc && cJSON_IsObject(json_doc) ? json_doc : cJSON_CreateObject();
    if (o != json_doc) cJSON_Delete(json_doc);
    json_doc = NULL;
    cJSON_AddBoolToObject(o, "ok", st == REAP_OK);
    if (st != REAP_OK) {
        cJSON_AddStringToObject(o, "error", reap_err_msg());
        cJSON_AddNumberToObject(o, "exit_code", code);
    }
    char *t = cJSON_Print(o);
    if (t) {
        fputs(t, stdout);
        fputc('\n', stdout);
    }
    cJSON_free(t);
    cJSON_Delete(o);
    fflush(stdout);
}

static int run_command(int i, int argc, char **argv) {
    int st = commands[i].fn(argc, argv);
    int code = reap_exit_code(st);
    if (st != REAP_OK) {
        fflush(stdout);
        reap_progress_clear();  // a progress line left up by an error path
        fprintf(stderr, "reap: error: %s\n", reap_err_msg());
    }
    if (reap_cli_json) print_json(st, code);
    else reap_cmd_json_result(NULL);
    return code;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "help") && argc > 2) {  // reap help CMD = reap CMD --help
        argv[1] = argv[2];
        argv[2] = "--help";
        argc = 3;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("reap %s (%s)\n", REAP_VERSION,
#ifdef REAP_CUDA
               "CUDA"
#else
               "CPU only"
#endif
        );
        return 0;
    }
    const char *keep = getenv("REAP_KEEP_PAGE_CACHE"), *isa = getenv("REAP_CPU_ISA");
    reap_st_keep_page_cache(keep && !strcmp(keep, "1"));
    reap_progress_columns_fallback = reap_cmd_env_columns();
    if (isa && *isa && reap_cpu_simd_select(isa) != 0) {
        fprintf(stderr, "reap: error: REAP_CPU_ISA=%s: expected avx512, avx2 or generic (one this CPU has)\n", isa);
        return 2;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return run_command(i, argc - 1, argv + 1);
    const char *near = nearest_command(argv[1]);
    if (near) fprintf(stderr, "reap: error: unknown command '%s': did you mean '%s'? (see reap --help)\n", argv[1], near);
    else fprintf(stderr, "reap: error: unknown command '%s' (see reap --help)\n", argv[1]);
    return 2;
}

// cmd_eval.c: `reap eval ORIG PRUNED...` and `reap eval ORIG --scores S --ratio R,...`: what pruning
// cost, as a table on stdout (or the JSON document with --json), the JSON document in a file (-o)
// and an SVG (--svg) (lib/eval.c does the work).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_score.h"
#include "commands.h"
#include "common.h"
#include "safetensors.h"
#include "env.h"
#include "eval.h"
#include "signals.h"
#include "synth.h"

static const char *k_details =
    "Checkpoints: each PRUNED must be a checkpoint `reap prune` wrote from ORIG (same family, sizes,\n"
    "tokenizer.json and non-expert tensors; its reap.json maps its experts to ORIG's); anything else is\n"
    "refused naming the file. Each model runs on its own hidden states; the numbers compare the\n"
    "next-token distributions position by position (spec eval.md): KL(original || pruned) over the full\n"
    "vocabulary (mean, p50, p90, p99, max), top-1 agreement, the share of positions whose original\n"
    "top-1 is not in the pruned top-5, cross-entropy and perplexity, per category (code / tools for\n"
    "the built-in sets, the source spec otherwise), the routing shift per layer (the original's gate\n"
    "mass on removed experts, survivors' load before and after, imbalance max/mean) and the rows with\n"
    "the highest mean KL.\n"
    "\n"
    "What-if: with --scores S.json --ratio R[,R...] [--criterion C[,C...]] every (criterion, ratio) is\n"
    "planned exactly as `reap prune` would and evaluated without writing it: the original's layers are\n"
    "read once, each variant routes only among its survivors (the removed experts' routing bias is\n"
    "-inf, which computes what the pruned checkpoint computes). Each variant holds rows x seq-len x\n"
    "hidden x 4 bytes of hidden states; the total is printed and refused up front when it exceeds the\n"
    "available memory (or --mem). On the GPU (--device cuda) every variant's hidden states stay on the\n"
    "GPUs between layers when they fit (--gpu-hidden auto|gpu|host, as in `reap score`), and the logits\n"
    "are compared on the first GPU (lm_head in TF32, a vocabulary slab at a time; --chunk applies to the\n"
    "CPU's comparison).\n"
    "\n"
    "Rows: --calib SPEC (repeatable) as in `reap calib`; default heldout, the built-in held-out set\n"
    "(never the calibration rows unless asked). --rows/--seq-len/--seed pack them as score does.";

// "0.25,0.3" -> ratios; "reap,frequency" -> criteria.
static int parse_list(const char *s, const char *what, double *r, reap_criterion *c, uint64_t *seeds, int max, int *n) {
    *n = 0;
    char *t = reap_xstrdup(s), *save = NULL;
    int st = REAP_OK;
    for (char *x = strtok_r(t, ",", &save); x && !st; x = strtok_r(NULL, ",", &save)) {
        if (*n == max) st = reap_fail(REAP_EUSAGE, "reap eval: %s: at most %d values", what, max);
        else if (r) {
            char *e;
            double v = strtod(x, &e);
            if (e == x || *e || !(v >= 0 && v < 1))
                st = reap_fail(REAP_EUSAGE, "reap eval: --ratio %s: each ratio must be in [0, 1)", x);
            r[(*n)++] = v;
        } else if (reap_selection_parse(x, &c[*n], &seeds[*n]))
            st = reap_fail(REAP_EUSAGE, "reap eval: --criterion %s: %s", x, reap_err_msg());
        else (*n)++;
    }
    free(t);
    if (!st && *n == 0) st = reap_fail(REAP_EUSAGE, "reap eval: %s: empty list", what);
    return st;
}

int reap_cmd_eval(int argc, char **argv) {
    reap_strlist calib = {0};
    long long rows = 0, seq_len = 2048, seed = 42, threads = 0, chunk = 64, worst = 5, read_threads = -1;
    const char *device = NULL, *gpus = NULL, *gpu_mem = NULL, *out = NULL, *svg = NULL, *scores = NULL,
               *ratio = NULL, *crit = "reap", *mem = NULL, *gpu_hidden = "auto", *read_part = NULL, *cpu_isa = NULL;
    int no_pack = 0, json = 0, keep_cache = 0;
    const reap_opt opts[] = {
        {"calib", 'c', REAP_OPT_STRINGS, &calib, "SPEC", "evaluation source, repeatable (default: heldout)"},
        {"rows", 0, REAP_OPT_INT, &rows, "N", "rows (default 0: as many as the samples fill)"},
        {"seq-len", 'L', REAP_OPT_INT, &seq_len, "L", "tokens per row (default 2048)"},
        {"seed", 's', REAP_OPT_INT, &seed, "S", "seed for sample order (default 42)"},
        {"no-pack", 0, REAP_OPT_FLAG, &no_pack, NULL, "one sample per row instead of packing (default: packed)"},
        {"scores", 0, REAP_OPT_STRING, &scores, "FILE", "what-if: statistics file the variants are planned from"},
        {"ratio", 0, REAP_OPT_STRING, &ratio, "R,...", "what-if: ratios, each in [0, 1)"},
        {"criterion", 0, REAP_OPT_STRING, &crit, "C,...", "what-if: criteria (default reap; random:SEED as in prune)"},
        {"mem", 0, REAP_OPT_STRING, &mem, "SIZE", "host memory allowed, e.g. 64GiB (default: MemAvailable)"},
        {"output", 'o', REAP_OPT_STRING, &out, "FILE", "write the full result as JSON (format reap-eval) to FILE"},
        {"json", 'j', REAP_OPT_FLAG, &json, NULL, "print the full result as JSON on stdout instead of the table"},
        {"svg", 0, REAP_OPT_STRING, &svg, "FILE", "write the routing shift and KL by category as SVG"},
        {"worst", 0, REAP_OPT_INT, &worst, "N", "worst rows listed per model (default 5)"},
        {"chunk", 0, REAP_OPT_INT, &chunk, "N", "positions per logits chunk on the CPU (default 64)"},
        {"device", 'd', REAP_OPT_STRING, &device, "DEV", "cpu | cuda (default: cuda when a GPU is visible, else cpu)"},
        {"gpus", 0, REAP_OPT_STRING, &gpus, "LIST", "CUDA devices: all or 0,1,... (default all)"},
        {"gpu-mem", 0, REAP_OPT_STRING, &gpu_mem, "SIZE", "GPU memory cap per device (default: no cap)"},
        {"gpu-hidden", 0, REAP_OPT_STRING, &gpu_hidden, "WHERE",
         "hidden states between layers: auto | gpu | host (default auto: on the GPUs when they fit)"},
        {"read-threads", 0, REAP_OPT_INT, &read_threads, "N", "reads in flight per layer (default 8; env REAP_READ_THREADS)"},
        {"read-part-bytes", 0, REAP_OPT_STRING, &read_part, "SIZE", "expert bytes per part handed to the GPU copy as a layer is read (default 64MiB; env REAP_READ_PART_BYTES)"},
        {"cpu-isa", 0, REAP_OPT_STRING, &cpu_isa, "ISA", "CPU kernel path: avx512 | avx2 | generic (default: the best this CPU has; all give identical bits; env REAP_CPU_ISA)"},
        {"keep-page-cache", 0, REAP_OPT_FLAG, &keep_cache, NULL, "read the model through the page cache and keep its pages (default: O_DIRECT reads where the filesystem allows, else pages dropped after reading; env REAP_KEEP_PAGE_CACHE=1)"},
        {"threads", 't', REAP_OPT_INT, &threads, "N", "CPU threads (default: all cores / OMP_NUM_THREADS)"},
    };
    const reap_cmd_spec spec = {
        .name = "eval",
        .usage = "ORIG PRUNED [PRUNED2 ...] [options] | ORIG --scores S.json --ratio R[,R...] [--criterion C[,C...]]",
        .summary = "What pruning cost: KL, top-1 agreement, perplexity and routing shift against the original.",
        .details = k_details,
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
        .min_pos = 1,
        .max_pos = 64,
    };
    char **pos = NULL;
    int npos = 0;
    int st = reap_cli_parse(&spec, argc, argv, &pos, &npos);
    if (keep_cache) reap_st_keep_page_cache(1);
    if (st == REAP_CLI_HELP) return REAP_OK;
    if (st) return st;
    reap_eval_params p = reap_eval_default_params();
    double ratios[32];
    reap_criterion crits[32];
    uint64_t seeds[32];
    int *gpu_list = NULL;
    p.calib = (const char *const *)calib.v, p.n_calib = calib.n, p.pack = !no_pack;
    if (rows < 0 || rows > (1 << 30)) st = reap_fail(REAP_EUSAGE, "reap eval: --rows must be >= 0, got %lld", rows);
    else if (seq_len < 2 || seq_len > (1 << 24)) st = reap_fail(REAP_EUSAGE, "reap eval: --seq-len must be in [2, 2^24]");
    else if (seed < 0) st = reap_fail(REAP_EUSAGE, "reap eval: --seed must be >= 0");
    else if (threads < 0 || threads > 4096) st = reap_fail(REAP_EUSAGE, "reap eval: --threads must be in [0, 4096]");
    else if (chunk < 1 || chunk > 65536) st = reap_fail(REAP_EUSAGE, "reap eval: --chunk must be in [1, 65536]");
    else if (worst < 0 || worst > 1000) st = reap_fail(REAP_EUSAGE, "reap eval: --worst must be in [0, 1000]");
    else if (read_threads > 256 || read_threads == 0 || read_threads < -1)
        st = reap_fail(REAP_EUSAGE, "reap eval: --read-threads must be in [1, 256], got %lld", read_threads);
    else if (!scores && ratio) st = reap_fail(REAP_EUSAGE, "reap eval: --ratio needs --scores (what-if mode)");
    else if (scores && !ratio) st = reap_fail(REAP_EUSAGE, "reap eval: --scores needs --ratio R[,R...]");
    if (!st && scores) st = parse_list(ratio, "--ratio", ratios, NULL, NULL, 32, &p.n_ratios);
    if (!st && scores) st = parse_list(crit, "--criterion", NULL, crits, seeds, 32, &p.n_crits);
    p.scores = scores, p.ratios = ratios, p.crits = crits, p.seeds = seeds;
    p.rows = (int)rows, p.seq_len = (int)seq_len, p.seed = (uint64_t)seed, p.threads = (int)threads;
    p.chunk = (int)chunk, p.worst = (int)worst;
    if (!st && device) {
        if (!strcmp(device, "cpu")) p.device = REAP_DEVICE_CPU;
        else if (!strcmp(device, "cuda") || !strcmp(device, "gpu")) p.device = REAP_DEVICE_CUDA;
        else if (!strcmp(device, "auto")) p.device = REAP_DEVICE_AUTO;
        else st = reap_fail(REAP_EUSAGE, "reap eval: --device must be cpu or cuda, got '%s'", device);
    }
    if (!st && (st = reap_cmd_parse_gpus(gpus, &gpu_list, &p.n_gpus)))
        st = reap_fail(REAP_EUSAGE, "reap eval: %s", reap_err_msg());
    if (!st && reap_gpu_hidden_parse(gpu_hidden, &p.gpu_hidden))
        st = reap_fail(REAP_EUSAGE, "reap eval: --gpu-hidden: %s", reap_err_msg());
    p.gpus = gpu_list;
    uint64_t b;
    if (!st && gpu_mem) {
        if (reap_synth_parse_size(gpu_mem, &b)) st = reap_fail(REAP_EUSAGE, "reap eval: --gpu-mem: bad size '%s'", gpu_mem);
        p.gpu_mem = (size_t)b;
    }
    if (!st && mem) {
        if (reap_synth_parse_size(mem, &b) || b == 0) st = reap_fail(REAP_EUSAGE, "reap eval: --mem: bad size '%s'", mem);
        p.mem_cap = (size_t)b;
    }
    p.read.threads = read_threads < 0 ? 0 : (int)read_threads;
    if (!st) st = reap_cmd_read_options("eval", read_part, cpu_isa, &p.read);
    const char *outs[2] = {out, svg};
    for (int i = 0; i < 2 && !st; i++) {  // refuse an unwritable output now, not after the run
        if (!outs[i]) continue;
        char *od = reap_path_dir(outs[i]);
        if (reap_is_dir(outs[i])) st = reap_fail(REAP_EINVAL, "%s: the output is a directory", outs[i]);
        else if (!reap_is_dir(od)) st = reap_fail(REAP_EINVAL, "%s: directory '%s' does not exist", outs[i], od);
        free(od);
    }
    for (int i = 1; i < npos && !st; i++) {  // `--json FILE` was the result file before --json became a flag
        size_t n = strlen(pos[i]);
        if (n > 5 && !strcmp(pos[i] + n - 5, ".json") && !reap_is_dir(pos[i]))
            st = reap_fail(REAP_EUSAGE, "reap eval: %s is not a checkpoint directory (to write the result to a file: "
                           "-o %s; --json prints it on stdout)", pos[i], pos[i]);
    }
    cJSON *r = NULL;
    if (!st) {
        p.cancel = reap_signals_begin();
        st = reap_eval_run(pos[0], (const char *const *)pos + 1, npos - 1, &p, &r);
        reap_signals_end();
    }
    if (!st && out) {
        char *t = cJSON_Print(r);
        st = reap_write_file_atomic(out, t, strlen(t));
        free(t);
    }
    if (!st && svg) {
        char *t = reap_eval_svg(r);
        st = reap_write_file_atomic(svg, t, strlen(t));
        free(t);
    }
    if (!st && json) reap_cmd_json_result(r), r = NULL;
    else if (!st && reap_log_level >= 0) reap_eval_print(r, stdout);
    cJSON_Delete(r);
    free(gpu_list);
    free(pos);
    reap_strlist_free(&calib);
    return st;
}

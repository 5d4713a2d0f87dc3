// cmd_prune.c: `reap prune DIR -o OUT (--ratio R | --keep K) [--scores FILE]`: plans which experts
// each layer keeps (lib/prune.c; without --scores the model is scored first, as `reap score`),
// prints the plan with --dry-run, else rewrites the checkpoint (lib/prune_write.c) with Ctrl-C /
// SIGTERM / SIGHUP removing the half-written temporary directory (cmd/signals.h).
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt.h"
#include "cli.h"
#include "cmd_score.h"
#include "commands.h"
#include "common.h"
#include "safetensors.h"
#include "env.h"
#include "inspect.h"
#include "prune.h"
#include "report.h"
#include "score.h"
#include "signals.h"
#include "stats.h"
#include "synth.h"

// Test-only throttle (REAP_TEST_SLOW_MS, tests/e2e_prune_interrupt.sh): a sleep after each tensor,
// so that signals land mid-write.
static void slow_progress(void *ctx, int done, int total, const char *name, uint64_t bytes) {
    (void)done, (void)total, (void)name, (void)bytes;
    int ms = *(const int *)ctx;
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

int reap_cmd_prune(int argc, char **argv) {
    const char *eval_path = NULL;
    const char *out = NULL, *scores = NULL, *crit = "reap", *max_shard = NULL, *router = "model";
    double ratio = NAN;
    long long keep = LLONG_MIN, align = 0, rows = 0, seq_len = 2048, threads = 0;
    int dry = 0, force = 0, allow_partial = 0, keep_cache = 0;
    long long min_tokens = REAP_MIN_TOKENS_DEFAULT;
    reap_strlist calib = {0};
    const reap_opt opts[] = {
        {"output", 'o', REAP_OPT_STRING, &out, "OUT", "output directory (must not exist unless --force)"},
        {"ratio", 0, REAP_OPT_DOUBLE, &ratio, "R", "drop floor(E x R) experts per layer, R in [0, 1)"},
        {"keep", 0, REAP_OPT_INT, &keep, "K", "keep K experts per layer (top-k <= K <= E)"},
        {"scores", 0, REAP_OPT_STRING, &scores, "FILE",
         "statistics file from `reap score` / `reap merge` (default: score DIR first)"},
        {"calib", 'c', REAP_OPT_STRINGS, &calib, "SPEC",
         "without --scores: score first with this calibration data (default: the built-in set)"},
        {"rows", 0, REAP_OPT_INT, &rows, "N", "without --scores: calibration rows (default: as many as the data fills)"},
        {"seq-len", 'L', REAP_OPT_INT, &seq_len, "L", "without --scores: tokens per row (default 2048)"},
        {"router", 0, REAP_OPT_STRING, &router, "MODE", "without --scores: model (default), softmax, softmax-renorm"},
        {"criterion", 0, REAP_OPT_STRING, &crit, "C",
         "reap (default), frequency, weighted-frequency, ean-sum, ean-mean, weighted-ean-sum, max-activation, "
         "random[:SEED] (a baseline)"},
        {"align", 0, REAP_OPT_INT, &align, "N", "round the kept count down to a multiple of N (expert parallelism)"},
        {"max-shard-size", 0, REAP_OPT_STRING, &max_shard, "S", "tensor bytes per output shard, e.g. 5GB (default: "
         "the source's largest shard)"},
        {"eval", 0, REAP_OPT_STRING, &eval_path, "FILE",
         "a `reap eval -o FILE` result: its headline numbers go into OUT/README.md's model card"},
        {"threads", 't', REAP_OPT_INT, &threads, "N", "pieces of 16 MB copied at once (default 8; also the scoring "
         "threads without --scores)"},
        {"allow-partial", 0, REAP_OPT_FLAG, &allow_partial, NULL,
         "accept statistics of only some shards of their calibration set (default: refused)"},
        {"min-tokens", 0, REAP_OPT_INT, &min_tokens, "N",
         "warn when experts were routed on fewer tokens than this (default 100)"},
        {"dry-run", 'n', REAP_OPT_FLAG, &dry, NULL, "print the plan and write nothing"},
        {"keep-page-cache", 0, REAP_OPT_FLAG, &keep_cache, NULL, "read the model through the page cache and keep its pages (default: O_DIRECT reads where the filesystem allows, else pages dropped after reading; env REAP_KEEP_PAGE_CACHE=1)"},
        {"force", 'f', REAP_OPT_FLAG, &force, NULL, "replace an existing OUT once the new output is complete"},
    };
    const reap_cmd_spec spec = {
        "prune", "DIR -o OUT (--ratio R | --keep K) [--scores FILE] [options]",
        "Drop the lowest-saliency experts of every MoE layer and write a new checkpoint that loads like the original.",
        "Per layer floor(E x R) experts are dropped (256 at 0.30 keeps 180; at 0.25 keeps 192). Ties: among equal\n"
        "saliencies the higher original expert index is dropped first. Survivors are renumbered 0..K-1 in their\n"
        "original order and copied byte for byte (FP8 stays FP8); router rows and e_score_correction_bias entries\n"
        "are sliced; config.json changes only num_local_experts; every other file is copied; OUT/reap.json records\n"
        "the kept experts. The output is built in OUT.tmp-XXXXXX and renamed into place when complete; Ctrl-C\n"
        "removes it. Check the result with `reap verify DIR OUT`. Without --scores the model is scored first\n"
        "(as `reap score`; GPU when present) and the statistics are kept as OUT/reap-stats.json (and in\n"
        "OUT.reap-stats.json until the output is complete, so a failed prune can be rerun with --scores).\n"
        "Statistics of only some shards of their calibration set (one `score --shard` file, or a merge\n"
        "of 3 of 4) are refused unless --allow-partial. A warning says when the calibration looks too\n"
        "small for the cut: experts routed on fewer than --min-tokens tokens, or a cut that falls among\n"
        "equal saliencies (the tie rule, not the data, chose); see `reap report`.",
        opts, (int)(sizeof opts / sizeof opts[0]), 1, 1,
    };
    const char *dir;
    int st = reap_cli_parse_args(&spec, argc, argv, &dir, 1);
    if (keep_cache) reap_st_keep_page_cache(1);
    if (st == REAP_CLI_HELP) return REAP_OK;
    if (st) return st;

    reap_prune_params p = reap_prune_default_params();
    int have_ratio = !isnan(ratio), have_keep = keep != LLONG_MIN;
    if (have_ratio == have_keep) st = reap_fail(REAP_EUSAGE, "reap prune: give exactly one of --ratio R or --keep K");
    else if (!out && !dry) st = reap_fail(REAP_EUSAGE, "reap prune: -o OUT is required (or --dry-run)");
    else if (have_keep && (keep < 1 || keep > INT_MAX)) st = reap_fail(REAP_EUSAGE, "--keep %lld: must be positive", keep);
    else if (align < 0 || align > 1000000) st = reap_fail(REAP_EUSAGE, "--align %lld: must be a small positive integer", align);
    else if (min_tokens < 0) st = reap_fail(REAP_EUSAGE, "--min-tokens %lld: must be >= 0", min_tokens);
    else if (max_shard && reap_synth_parse_size(max_shard, &p.max_shard_size) != REAP_OK) st = REAP_EUSAGE;
    else st = reap_selection_parse(crit, &p.criterion, &p.seed);
    if (st) {
        reap_strlist_free(&calib);
        return st;
    }
    p.ratio = have_ratio ? ratio : -1;
    p.keep = have_keep ? (int)keep : 0;
    p.align = (int)align;
    p.allow_partial = allow_partial;

    reap_ckpt *c = NULL;
    reap_m2_config model;
    reap_stats stats;
    int have_stats = 0;
    reap_prune_plan plan = {0};
    char *scored_path = NULL;
    double t0 = reap_now();
    volatile sig_atomic_t *cancel = reap_signals_begin();
    if ((st = reap_ckpt_open(dir, &c))) goto done;
    if ((st = reap_m2_config_load(c, &model)) || (st = reap_inspect_check(c, &model))) goto done;
    if (threads < 0 || threads > 1024) {
        st = reap_fail(REAP_EUSAGE, "--threads %lld: expected 1..1024 (0: default)", threads);
        goto done;
    }
    if (out && !dry && (st = reap_prune_check_output(dir, out, force))) goto done;
    if (scores) {
        if ((st = reap_stats_load(scores, &stats))) goto done;
        have_stats = 1;
    } else if (!(have_ratio && ratio == 0)) {
        reap_score_params sp = reap_score_default_params();
        sp.calib = (const char *const *)calib.v;
        sp.n_calib = calib.n;
        sp.rows = (int)rows;
        sp.seq_len = (int)seq_len;
        sp.threads = (int)threads;
        sp.cancel = cancel;
        if ((st = reap_cmd_env_layer_load(&sp.read))) goto done;
        if (rows < 0 || rows > INT_MAX || seq_len < 1 || seq_len > INT_MAX)
            st = reap_fail(REAP_EUSAGE, "--rows / --seq-len out of range");
        else st = reap_router_mode_parse(router, &sp.router);
        if (st) goto done;
        if (!out) {
            st = reap_fail(REAP_EUSAGE, "reap prune: --dry-run without --scores needs -o OUT (the statistics are kept "
                           "as OUT.reap-stats.json)");
            goto done;
        }
        reap_info("no --scores: scoring %s first (%s)", dir, calib.n ? "given calibration data" : "built-in calibration set");
        reap_score_info info;
        if ((st = reap_cmd_score_model(dir, &sp, &stats, &info))) goto done;
        have_stats = 1;
        scored_path = reap_xasprintf("%s.reap-stats.json", out);
        if ((st = reap_stats_save(&stats, scored_path))) goto done;
        reap_info("statistics saved to %s (%.1f s of scoring)", scored_path, info.seconds);
        scores = scored_path;
    }
    p.stats_path = scores;
    if ((st = reap_prune_plan_make(c, &model, have_stats ? &stats : NULL, &p, &plan))) goto done;
    if (plan.keep % 8)  // said here, not in the plan: an eval what-if plans such counts without writing them
        reap_warn("%d experts per layer is not a multiple of 8: some fused MoE kernels and expert-parallel "
                  "layouts handle such counts poorly (--keep or --align 8 to choose)", plan.keep);
    if (have_stats) {
        int n_shards, *missing, n_missing;
        if ((st = reap_stats_missing_shards(&stats, scores, &n_shards, &missing, &n_missing))) goto done;
        char list[200];
        reap_stats_format_indices(missing, n_missing, list, sizeof list);
        free(missing);
        if (n_missing)  // plan_make refused them unless --allow-partial
            reap_warn("%s: pruning from partial statistics (--allow-partial): %d of %d calibration shards, missing %s",
                      scores, n_shards - n_missing, n_shards, list);
        reap_cut_check chk;
        char warn[1024];
        if (p.criterion != REAP_CRIT_RANDOM &&  // the random baseline has no ties or counts to warn of
            (st = reap_report_cut_check(&stats, p.criterion, plan.n_experts - plan.keep, (uint64_t)min_tokens, &chk)))
            goto done;
        if (p.criterion != REAP_CRIT_RANDOM && reap_report_cut_warning(&chk, warn, sizeof warn)) reap_warn("%s: %s (see reap report)", scores, warn);
    }
    if (dry) {
        if (reap_log_level >= 0) reap_prune_plan_print(&plan, stdout, reap_log_level >= 1);
        goto done;
    }
    reap_prune_write_opts wo = {0};
    cJSON *ev = NULL;
    if (eval_path) {
        char *text = NULL, fp[65];
        size_t len;
        if ((st = reap_read_file(eval_path, &text, &len))) goto done;
        ev = cJSON_ParseWithLength(text, len);
        free(text);
        const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(ev, "format");
        const cJSON *efp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "original"), "fingerprint");
        if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "reap-eval") != 0)
            st = reap_fail(REAP_EINVAL, "%s: not a `reap eval -o FILE` result", eval_path);
        else if (!(st = reap_stats_fingerprint(c, &model, fp)) && (!cJSON_IsString(efp) || strcmp(efp->valuestring, fp)))
            st = reap_fail(REAP_EINVAL, "%s: an evaluation of another model (its original's fingerprint differs from %s's)",
                           eval_path, dir);
        if (st) {
            cJSON_Delete(ev);
            goto done;
        }
        wo.eval = ev;
    }
    wo.stats_path = have_stats ? scores : NULL;
    wo.stats = have_stats ? &stats : NULL;
    wo.force = force;
    wo.threads = (int)threads;
    wo.cancel = cancel;
    int slow_ms = reap_cmd_env_test_slow_ms();
    if (slow_ms) wo.progress = slow_progress, wo.progress_ctx = &slow_ms;
    wo.stats_into_output = scored_path != NULL;
    char lab[32];
    reap_info("pruning %s -> %s: keep %d of %d experts in %d layers (%s)", dir, out, plan.keep, plan.n_experts,
              plan.n_layers, reap_selection_label(p.criterion, p.seed, lab, sizeof lab));
    st = reap_prune_write(c, &plan, out, &wo);
    cJSON_Delete(ev);
    if (!st && scored_path) unlink(scored_path);  // now inside OUT as reap-stats.json
    if (st == REAP_EINTR) {
        st = reap_fail(REAP_EINTR, "interrupted: the temporary output was removed, %s was not written", out);
        goto done;
    }
    if (!st && reap_log_level >= 0) {
        double dt = reap_now() - t0;
        char b1[32], b2[32];
        reap_fmt_bytes((double)plan.bytes_in, b1, sizeof b1);
        reap_fmt_bytes((double)plan.bytes_out, b2, sizeof b2);
        printf("pruned %s -> %s: %d -> %d experts per layer, %s -> %s (%d tensors kept, %d sliced, %d dropped) "
               "in %.1f s, %.1f MB/s written\n",
               dir, out, plan.n_experts, plan.keep, b1, b2, plan.n_copy, plan.n_slice, plan.n_drop, dt,
               dt > 0 ? (double)plan.bytes_out / 1e6 / dt : 0.0);
    }
done:
    reap_signals_end();
    reap_prune_plan_free(&plan);
    if (have_stats) reap_stats_free(&stats);
    reap_ckpt_close(c);
    reap_strlist_free(&calib);
    free(scored_path);
    return st;
}

// cmd_report.c: `reap report FILE`: per-layer saliency summary of a statistics file, with CSV
// and SVG heatmap outputs (lib/report.c).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "common.h"
#include "report.h"
#include "stats.h"

static const char *k_details =
    "Per layer: valid tokens, experts never routed, the share of saliency in the top 10% of experts,\n"
    "the Gini coefficient of the saliencies, and the share of saliency mass a cut of 25%, 30% or 40%\n"
    "of the experts removes (floor(E x ratio) lowest, ties: the higher index goes first, as\n"
    "`reap prune`). Then the lowest and highest experts of each layer and how far every criterion\n"
    "agrees with the chosen one on what a 30% cut prunes.\n"
    "Calibration check: experts routed on fewer than --min-tokens tokens (default 100) have a saliency\n"
    "that is mostly noise: they are counted per layer (few), marked with ! in the lists and never\n"
    "listed as highest. A WARNING line says when such experts exist or when the cut of --ratio falls\n"
    "among equal saliencies (the tie rule, not the data, chose); a PARTIAL line when the file covers\n"
    "only some shards of its calibration set.\n"
    "Criteria: reap (default: mean of gate x ||expert output||), frequency, weighted-frequency,\n"
    "ean-sum, ean-mean, weighted-ean-sum, max-activation.\n"
    "--csv: one line per (layer, expert) with the raw statistics, every criterion, the rank and the\n"
    "pruned flags. --svg: heatmap layers x experts (open it in a browser; hover a cell for values), a\n"
    "black strip under the experts a cut of --ratio prunes.";

int reap_cmd_report(int argc, char **argv) {
    const char *crit = "reap", *csv = NULL, *svg = NULL;
    long long top = 5, min_tokens = REAP_MIN_TOKENS_DEFAULT;
    double ratio = 0.30;
    int json = 0;
    const reap_opt opts[] = {
        {"criterion", 0, REAP_OPT_STRING, &crit, "C", "saliency criterion (default reap)"},
        {"top", 0, REAP_OPT_INT, &top, "N", "lowest and highest experts listed per layer (default 5, 0: none)"},
        {"json", 'j', REAP_OPT_FLAG, &json, NULL, "print the report as one JSON object instead of the table"},
        {"csv", 0, REAP_OPT_STRING, &csv, "FILE", "write every statistic and criterion as CSV"},
        {"svg", 0, REAP_OPT_STRING, &svg, "FILE", "write a heatmap (layers x experts) as SVG"},
        {"ratio", 0, REAP_OPT_DOUBLE, &ratio, "R", "the cut checked for ties and marked in the heatmap, R in [0, 1) "
         "(default 0.30)"},
        {"min-tokens", 0, REAP_OPT_INT, &min_tokens, "N", "experts routed on fewer tokens are marked unreliable and left "
         "out of the highest lists (default 100)"},
    };
    const reap_cmd_spec spec = {
        .name = "report",
        .usage = "FILE [--criterion C] [--top N] [--ratio R] [--min-tokens N] [--json] [--csv F] [--svg F]",
        .summary = "Summarise a statistics file: saliency concentration, cuts, lowest/highest experts, CSV, SVG.",
        .details = k_details,
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
        .min_pos = 1,
        .max_pos = 1,
    };
    const char *file;
    int st = reap_cli_parse_args(&spec, argc, argv, &file, 1);
    if (st == REAP_CLI_HELP) return REAP_OK;
    if (st) return st;
    reap_report_params p = reap_report_default_params();
    if ((st = reap_criterion_parse(crit, &p.criterion))) return st;
    if (top < 0 || top > 1000000) return reap_fail(REAP_EUSAGE, "reap report: --top must be >= 0, got %lld", top);
    p.top = (int)top;
    if (!(ratio >= 0 && ratio < 1)) return reap_fail(REAP_EUSAGE, "reap report: --ratio %g: must be in [0, 1)", ratio);
    if (min_tokens < 0) return reap_fail(REAP_EUSAGE, "reap report: --min-tokens must be >= 0, got %lld", min_tokens);
    p.ratio = ratio;
    p.min_tokens = (uint64_t)min_tokens;
    reap_stats s;
    if ((st = reap_stats_load(file, &s))) return st;
    if (s.layers_done == 0) st = reap_fail(REAP_EINVAL, "%s: no layer is complete yet", file);
    if (!st && json) {
        cJSON *doc;
        if (!(st = reap_report_json(&s, &p, &doc))) reap_cmd_json_result(doc);
    } else if (!st && reap_log_level >= 0) {
        st = reap_report_print(&s, &p, stdout);
    }
    if (!st && csv && !(st = reap_report_csv(&s, p.criterion, csv))) reap_info("wrote %s", csv);
    if (!st && svg && !(st = reap_report_svg(&s, &p, svg))) reap_info("wrote %s", svg);
    reap_stats_free(&s);
    return st;
}

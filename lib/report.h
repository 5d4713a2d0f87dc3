// report.h: what a statistics file says, for people: per-layer summaries (how concentrated the
// saliency is, experts never routed, saliency mass a 25/30/40% cut removes), the lowest and highest
// experts, agreement between criteria, a CSV of everything and an SVG heatmap.
#ifndef REAP_REPORT_H
#define REAP_REPORT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stats.h"

// Cuts reported everywhere (fractions of experts pruned per layer, as `reap prune --ratio`).
#define REAP_REPORT_N_CUTS 3
extern const double reap_report_cuts[REAP_REPORT_N_CUTS];  // 0.25, 0.30, 0.40

typedef struct {
    uint64_t tokens;       // valid tokens seen
    int never_routed;      // experts with count 0
    double total;          // saliency mass (negative values count as 0)
    double top10_share;    // share of the mass in the top ceil(10%) experts
    double gini;           // Gini coefficient of the saliencies (0: uniform, -> 1: concentrated)
    double removed[REAP_REPORT_N_CUTS];  // share of the mass the cuts remove
    int pruned[REAP_REPORT_N_CUTS];      // experts the cuts remove (reap_prune_count)
} reap_layer_summary;

// order (n_experts): expert ids from first pruned to last (ascending saliency; among equal
// saliencies the higher index first: the tie rule of lib/prune.h).
void reap_report_order(const double *saliency, int n_experts, int *order);
// Summary of one layer under criterion c. REAP_EINVAL if the statistics cannot give c.
int reap_report_layer(const reap_stats *s, int layer, reap_criterion c, reap_layer_summary *out);

// Tokens an expert must have been routed on for its saliency to count as measured (issue 14). The
// mean of n per-token values has a relative standard error of CV / sqrt(n): at 100 tokens that is
// 10% for a per-token spread as large as the mean (CV 1); on the small preset (CV far below 1)
// experts under 100 tokens had 2-4x the saliency error of those above it (bench/calib_size.sh,
// README "How much calibration").
#define REAP_MIN_TOKENS_DEFAULT 100

// How far statistics can be trusted for a cut dropping n_drop experts per layer: experts whose
// score rests on too few tokens, and cuts that fall inside a group of equal saliencies (then the
// tie rule alone, not the data, chose what goes; e.g. never-routed experts all at 0).
typedef struct {
    int layers;                // layers examined (the complete ones)
    int n_experts, n_drop;     // per layer
    uint64_t min_tokens;
    int never_routed;          // (layer, expert) pairs routed on no token, all layers
    int few;                   // pairs routed on 1 .. min_tokens - 1 tokens
    int worst_layer, worst_n;  // the layer with the most experts under min_tokens (never routed included), and their number
    int tie_layers;            // layers whose cut falls among equal saliencies
    int tie_layer, tie_size, tie_dropped;  // the largest such group: its layer, size, members the cut drops
    double tie_value;          // their saliency
} reap_cut_check;

// REAP_EINVAL if the statistics cannot give c.
int reap_report_cut_check(const reap_stats *s, reap_criterion c, int n_drop, uint64_t min_tokens, reap_cut_check *out);
// The check as one line for people (no newline) in buf: 1 when it found something to warn about
// (experts with 1 .. min_tokens - 1 tokens, or a cut among ties), else 0 (buf empty). Never-routed
// experts alone do not warn (a dead expert stays at 0 with any amount of data).
int reap_report_cut_warning(const reap_cut_check *k, char *buf, size_t size);

typedef struct {
    reap_criterion criterion;  // REAP_CRIT_REAP
    int top;                   // lowest / highest experts listed per layer (5)
    double ratio;              // the cut checked for ties and marked in the heatmap (0.30)
    uint64_t min_tokens;       // REAP_MIN_TOKENS_DEFAULT: fewer marks an expert's saliency unreliable
} reap_report_params;

reap_report_params reap_report_default_params(void);
// The text report. Experts routed on fewer than p->min_tokens tokens are marked with "!" and left
// out of the "highest" lists; a cut_check warning (at p->ratio) and shards missing from the
// calibration are printed at the top.
int reap_report_print(const reap_stats *s, const reap_report_params *p, FILE *out);
// The same as one JSON object (*out, the caller deletes it): the file's description, "shards" and
// "missing_shards", "warning" (null when none), per complete layer "tokens", "unused", "few",
// "top10_share", "gini", "cuts" [{"ratio", "experts", "mass_removed"}], "lowest" and "highest"
// [{"expert", "saliency", "tokens"}], and "agreement" {criterion: share, null when not available}.
int reap_report_json(const reap_stats *s, const reap_report_params *p, cJSON **out);
// layer,expert,count,gate_sum,norm_sum,reap_sum,max_act, every criterion, the rank under p's
// criterion and the pruned flags of each cut. Written atomically.
int reap_report_csv(const reap_stats *s, reap_criterion c, const char *path);
// Heatmap: one row per layer, one cell per expert, coloured by saliency relative to the layer's
// largest; under every row a strip where the experts a cut of p->ratio prunes are marked (cells
// keep their colour at any width); a colour bar; a tooltip per cell. Everything lies inside the
// viewBox whatever the number of layers. Written atomically.
int reap_report_svg(const reap_stats *s, const reap_report_params *p, const char *path);

#endif

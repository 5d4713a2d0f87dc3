// report.h: what a statistics file says, for people: per-layer summaries (how concentrated the
// saliency is, experts never routed, saliency mass a 25/30/40% cut removes), the lowest and highest
// experts, agreement between criteria, a CSV of everything and an SVG heatmap.
#ifndef REAP_REPORT_H
#define REAP_REPORT_H

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

typedef struct {
    reap_criterion criterion;  // REAP_CRIT_REAP
    int top;                   // lowest / highest experts listed per layer (5)
} reap_report_params;

reap_report_params reap_report_default_params(void);
// The text report.
int reap_report_print(const reap_stats *s, const reap_report_params *p, FILE *out);
// layer,expert,count,gate_sum,norm_sum,reap_sum,max_act, every criterion, the rank under p's
// criterion and the pruned flags of each cut. Written atomically.
int reap_report_csv(const reap_stats *s, reap_criterion c, const char *path);
// Heatmap: one row per layer, one cell per expert, coloured by saliency relative to the layer's
// largest, experts the 30% cut prunes crossed out; a tooltip per cell. Written atomically.
int reap_report_svg(const reap_stats *s, reap_criterion c, const char *path);

#endif

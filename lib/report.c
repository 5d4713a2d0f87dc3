// report.c: see report.h.
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "prune.h"

const double reap_report_cuts[REAP_REPORT_N_CUTS] = {0.25, 0.30, 0.40};

reap_report_params reap_report_default_params(void) {
    return (reap_report_params){
        .criterion = REAP_CRIT_REAP, .top = 5, .ratio = 0.30, .min_tokens = REAP_MIN_TOKENS_DEFAULT};
}

static const double *sort_key;
static int cmp_pruned_first(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    double x = sort_key[i], y = sort_key[j];
    if (x < y) return -1;
    if (x > y) return 1;
    return j - i;  // equal saliency: the higher index goes first
}

void reap_report_order(const double *saliency, int n_experts, int *order) {
    for (int i = 0; i < n_experts; i++) order[i] = i;
    sort_key = saliency;
    qsort(order, (size_t)n_experts, sizeof *order, cmp_pruned_first);
    sort_key = NULL;
}

static double mass(double v) { return isfinite(v) && v > 0 ? v : 0; }

int reap_report_layer(const reap_stats *s, int layer, reap_criterion c, reap_layer_summary *out) {
    memset(out, 0, sizeof *out);
    int E = s->n_experts;
    double *sal = reap_xmalloc(sizeof(double) * E);
    int *order = reap_xmalloc(sizeof(int) * E);
    int st = reap_stats_saliency(s, layer, c, sal);
    if (st) goto done;
    reap_report_order(sal, E, order);
    out->tokens = s->layers[layer].tokens;
    for (int e = 0; e < E; e++) {
        out->never_routed += s->layers[layer].e[e].count == 0;
        out->total += mass(sal[e]);
    }
    if (out->total > 0) {
        int top = (E + 9) / 10;
        double t = 0, weighted = 0;
        for (int i = 0; i < top; i++) t += mass(sal[order[E - 1 - i]]);
        out->top10_share = t / out->total;
        for (int i = 0; i < E; i++) weighted += (double)(i + 1) * mass(sal[order[i]]);
        out->gini = 2 * weighted / (E * out->total) - (double)(E + 1) / E;
    }
    for (int k = 0; k < REAP_REPORT_N_CUTS; k++) {
        int n = reap_prune_count(E, reap_report_cuts[k]);
        double m = 0;
        for (int i = 0; i < n; i++) m += mass(sal[order[i]]);
        out->pruned[k] = n;
        out->removed[k] = out->total > 0 ? m / out->total : 0;
    }
done:
    free(sal), free(order);
    return st;
}

int reap_report_cut_check(const reap_stats *s, reap_criterion c, int n_drop, uint64_t min_tokens, reap_cut_check *out) {
    memset(out, 0, sizeof *out);
    int E = s->n_experts;
    out->layers = s->layers_done;
    out->n_experts = E;
    out->n_drop = n_drop;
    out->min_tokens = min_tokens;
    out->worst_layer = out->tie_layer = -1;
    double *sal = reap_xmalloc(sizeof(double) * E);
    int *order = reap_xmalloc(sizeof(int) * E), st = REAP_OK;
    for (int l = 0; l < s->layers_done; l++) {
        const reap_layer_stats *ls = &s->layers[l];
        int under = 0;
        for (int e = 0; e < E; e++) {
            out->never_routed += ls->e[e].count == 0;
            out->few += ls->e[e].count > 0 && ls->e[e].count < min_tokens;
            under += ls->e[e].count < min_tokens;
        }
        if (under > out->worst_n) out->worst_n = under, out->worst_layer = l;
        if (n_drop <= 0 || n_drop >= E) continue;
        if ((st = reap_stats_saliency(s, l, c, sal))) break;
        reap_report_order(sal, E, order);
        double v = sal[order[n_drop - 1]];
        if (sal[order[n_drop]] != v) continue;  // exact: ties are equal values (0 for never routed, equal counts)
        int size = 0, dropped = 0;
        for (int i = 0; i < E; i++)
            if (sal[order[i]] == v) size++, dropped += i < n_drop;
        out->tie_layers++;
        if (size > out->tie_size) out->tie_layer = l, out->tie_size = size, out->tie_dropped = dropped, out->tie_value = v;
    }
    free(sal), free(order);
    return st;
}

int reap_report_cut_warning(const reap_cut_check *k, char *buf, size_t size) {
    buf[0] = 0;
    // Never-routed experts alone do not warn: a dead expert stays at 0 whatever the data, and when
    // the cut cannot drop all of them the tie check fires. Scarce data shows as experts with few tokens.
    if (k->few == 0 && k->tie_layers == 0) return 0;
    reap_sbuf b = {0};
    reap_sbuf_printf(&b, "calibration may be too small for a cut of %d of %d experts per layer:", k->n_drop, k->n_experts);
    if (k->few)
        reap_sbuf_printf(&b, " %d of %d experts (%d layers) were never routed and %d more saw fewer than %llu tokens, "
                         "so their saliency is noise (worst: layer %d, %d of %d);",
                         k->never_routed, k->layers * k->n_experts, k->layers, k->few, (unsigned long long)k->min_tokens,
                         k->worst_layer, k->worst_n, k->n_experts);
    if (k->tie_layers)
        reap_sbuf_printf(&b, " in %d of %d layers the cut fell among equal saliencies, so the tie rule (higher index "
                         "first), not the data, chose what goes (layer %d: %d of %d experts at %.4g dropped);",
                         k->tie_layers, k->layers, k->tie_layer, k->tie_dropped, k->tie_size, k->tie_value);
    reap_sbuf_puts(&b, " score more calibration rows");
    snprintf(buf, size, "%s", b.p);
    reap_sbuf_free(&b);
    return 1;
}

// Share of layer experts pruned at 30% under a that are also pruned under b (averaged over layers).
static double agreement(const reap_stats *s, reap_criterion a, reap_criterion b) {
    int E = s->n_experts, n = reap_prune_count(E, 0.30);
    if (n == 0) return 1;
    double *sa = reap_xmalloc(sizeof(double) * E), *sb = reap_xmalloc(sizeof(double) * E);
    int *oa = reap_xmalloc(sizeof(int) * E), *ob = reap_xmalloc(sizeof(int) * E);
    char *in = reap_xmalloc((size_t)E);
    double sum = 0;
    int layers = 0;
    for (int l = 0; l < s->layers_done; l++) {
        if (reap_stats_saliency(s, l, a, sa) || reap_stats_saliency(s, l, b, sb)) {
            sum = NAN;
            break;
        }
        reap_report_order(sa, E, oa);
        reap_report_order(sb, E, ob);
        memset(in, 0, (size_t)E);
        for (int i = 0; i < n; i++) in[oa[i]] = 1;
        int both = 0;
        for (int i = 0; i < n; i++) both += in[ob[i]];
        sum += (double)both / n;
        layers++;
    }
    free(sa), free(sb), free(oa), free(ob), free(in);
    return layers ? sum / layers : NAN;
}

// Experts of layer l routed at least once but on fewer than min_tokens tokens.
static int count_few(const reap_stats *s, int l, uint64_t min_tokens) {
    int few = 0;
    for (int e = 0; e < s->n_experts; e++) few += s->layers[l].e[e].count > 0 && s->layers[l].e[e].count < min_tokens;
    return few;
}

// The "highest" list: the top experts of order (ascending saliency) read from the end, among those
// with at least min_tokens tokens. Returns how many went into ids (at most top).
static int highest_measured(const reap_stats *s, int l, const int *order, int top, uint64_t min_tokens, int *ids) {
    int n = 0;
    for (int i = s->n_experts - 1; i >= 0 && n < top; i--)
        if (s->layers[l].e[order[i]].count >= min_tokens) ids[n++] = order[i];
    return n;
}

// " 12=0.53 (7!)": expert=saliency (tokens), "!" when under min_tokens.
static void print_expert(FILE *out, const reap_stats *s, int l, int e, const double *sal, uint64_t min_tokens) {
    uint64_t n = s->layers[l].e[e].count;
    fprintf(out, " %d=%.4g (%llu%s)", e, sal[e], (unsigned long long)n, n < min_tokens ? "!" : "");
}

int reap_report_print(const reap_stats *s, const reap_report_params *p, FILE *out) {
    int E = s->n_experts;
    const cJSON *calib = s->calib;
    char *ctext = calib ? cJSON_PrintUnformatted(calib) : NULL;
    fprintf(out, "REAP statistics: %d layers x %d experts, top-%d, router %s, criterion %s%s\n", s->n_layers, E,
            s->top_k, reap_router_mode_name(s->router), reap_criterion_name(p->criterion),
            s->layers_done < s->n_layers ? " (INCOMPLETE)" : "");
    fprintf(out, "model fingerprint %.16s..., calibration %s\n", s->fingerprint, ctext ? ctext : "{}");
    free(ctext);
    int n_shards, *missing = NULL, n_missing = 0;
    if (reap_stats_missing_shards(s, "statistics", &n_shards, &missing, &n_missing) == REAP_OK && n_missing) {
        char list[256];
        reap_stats_format_indices(missing, n_missing, list, sizeof list);
        fprintf(out, "PARTIAL: these statistics cover %d of the %d shards of their calibration set (missing %s); "
                "reap prune refuses them without --allow-partial\n", n_shards - n_missing, n_shards, list);
    }
    free(missing);
    if (s->layers_done < s->n_layers)
        fprintf(out, "only %d of %d layers are complete: the summary covers those\n", s->layers_done, s->n_layers);
    reap_cut_check chk;
    char warn[1024];
    int n_cut = reap_prune_count(E, p->ratio);
    if (s->layers_done > 0 && reap_report_cut_check(s, p->criterion, n_cut, p->min_tokens, &chk) == REAP_OK &&
        reap_report_cut_warning(&chk, warn, sizeof warn))
        fprintf(out, "WARNING: %s\n", warn);
    fprintf(out, "\n%5s %10s %7s %7s %9s %6s   %s\n", "layer", "tokens", "unused", "few", "top10%", "gini",
            "mass removed by a cut of 25% / 30% / 40% (experts)");
    double avg[REAP_REPORT_N_CUTS] = {0}, avg_top = 0, avg_gini = 0;
    int total_unused = 0, total_few = 0;
    for (int l = 0; l < s->layers_done; l++) {
        reap_layer_summary sm;
        int st = reap_report_layer(s, l, p->criterion, &sm);
        if (st) return st;
        int few = count_few(s, l, p->min_tokens);
        fprintf(out, "%5d %10llu %7d %7d %8.1f%% %6.3f  ", l, (unsigned long long)sm.tokens, sm.never_routed, few,
                100 * sm.top10_share, sm.gini);
        for (int k = 0; k < REAP_REPORT_N_CUTS; k++) {
            fprintf(out, " %6.2f%% (%d)", 100 * sm.removed[k], sm.pruned[k]);
            avg[k] += sm.removed[k] / s->layers_done;
        }
        fprintf(out, "\n");
        avg_top += sm.top10_share / s->layers_done;
        avg_gini += sm.gini / s->layers_done;
        total_unused += sm.never_routed;
        total_few += few;
    }
    if (s->layers_done > 0) {
        fprintf(out, "%5s %10s %7d %7d %8.1f%% %6.3f  ", "all", "", total_unused, total_few, 100 * avg_top, avg_gini);
        for (int k = 0; k < REAP_REPORT_N_CUTS; k++) fprintf(out, " %6.2f%%     ", 100 * avg[k]);
        fprintf(out, " (means over layers)\n");
        fprintf(out, "unused: experts never routed; few: routed on fewer than %llu tokens (saliency unreliable)\n",
                (unsigned long long)p->min_tokens);
    }

    int top = p->top < 0 ? 0 : p->top > E ? E : p->top;
    if (top > 0 && s->layers_done > 0) {
        fprintf(out, "\nlowest (pruned first) and highest experts per layer, by %s: expert=saliency (tokens; ! fewer "
                "than %llu);\nhighest ranks only experts with at least %llu tokens\n", reap_criterion_name(p->criterion),
                (unsigned long long)p->min_tokens, (unsigned long long)p->min_tokens);
        double *sal = reap_xmalloc(sizeof(double) * E);
        int *order = reap_xmalloc(sizeof(int) * E), *high = reap_xmalloc(sizeof(int) * E);
        for (int l = 0; l < s->layers_done; l++) {
            reap_stats_saliency(s, l, p->criterion, sal);
            reap_report_order(sal, E, order);
            fprintf(out, "%5d  low: ", l);
            for (int i = 0; i < top; i++) print_expert(out, s, l, order[i], sal, p->min_tokens);
            fprintf(out, "\n       high:");
            int listed = highest_measured(s, l, order, top, p->min_tokens, high);
            for (int i = 0; i < listed; i++) print_expert(out, s, l, high[i], sal, p->min_tokens);
            if (!listed) fprintf(out, " (no expert has %llu tokens)", (unsigned long long)p->min_tokens);
            fprintf(out, "\n");
        }
        free(sal), free(order), free(high);
    }

    if (s->layers_done > 0) {
        fprintf(out, "\nagreement with %s: share of the experts a 30%% cut prunes that each criterion also prunes\n",
                reap_criterion_name(p->criterion));
        for (int c = 0; c < REAP_CRIT_COUNT; c++) {
            double a = agreement(s, p->criterion, (reap_criterion)c);
            if (isnan(a)) fprintf(out, "  %-20s not available in this file\n", reap_criterion_name((reap_criterion)c));
            else fprintf(out, "  %-20s %6.1f%%\n", reap_criterion_name((reap_criterion)c), 100 * a);
        }
    }
    return REAP_OK;
}

// {"expert", "saliency", "tokens"}.
static cJSON *expert_json(const reap_stats *s, int l, int e, const double *sal) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "expert", e);
    cJSON_AddNumberToObject(o, "saliency", sal[e]);
    cJSON_AddNumberToObject(o, "tokens", (double)s->layers[l].e[e].count);
    return o;
}

int reap_report_json(const reap_stats *s, const reap_report_params *p, cJSON **out) {
    *out = NULL;
    int E = s->n_experts, st = REAP_OK;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n_layers", s->n_layers);
    cJSON_AddNumberToObject(o, "n_experts", E);
    cJSON_AddNumberToObject(o, "top_k", s->top_k);
    cJSON_AddStringToObject(o, "router", reap_router_mode_name(s->router));
    cJSON_AddStringToObject(o, "criterion", reap_criterion_name(p->criterion));
    cJSON_AddNumberToObject(o, "layers_done", s->layers_done);
    cJSON_AddStringToObject(o, "fingerprint", s->fingerprint);
    cJSON_AddItemToObject(o, "calibration", s->calib ? cJSON_Duplicate(s->calib, 1) : cJSON_CreateObject());
    int n_shards = 0, *missing = NULL, n_missing = 0;
    cJSON *ms = cJSON_AddArrayToObject(o, "missing_shards");
    if (reap_stats_missing_shards(s, "statistics", &n_shards, &missing, &n_missing) == REAP_OK)
        for (int i = 0; i < n_missing; i++) cJSON_AddItemToArray(ms, cJSON_CreateNumber(missing[i]));
    free(missing);
    cJSON_AddNumberToObject(o, "shards", n_shards);
    cJSON_AddNumberToObject(o, "ratio", p->ratio);
    cJSON_AddNumberToObject(o, "min_tokens", (double)p->min_tokens);
    reap_cut_check chk;
    char warn[1024];
    if (s->layers_done > 0 && reap_report_cut_check(s, p->criterion, reap_prune_count(E, p->ratio), p->min_tokens, &chk) ==
                                  REAP_OK && reap_report_cut_warning(&chk, warn, sizeof warn))
        cJSON_AddStringToObject(o, "warning", warn);
    else cJSON_AddNullToObject(o, "warning");

    int top = p->top < 0 ? 0 : p->top > E ? E : p->top;
    double *sal = reap_xmalloc(sizeof(double) * E);
    int *order = reap_xmalloc(sizeof(int) * E), *ids = reap_xmalloc(sizeof(int) * E);
    cJSON *layers = cJSON_AddArrayToObject(o, "layers");
    for (int l = 0; l < s->layers_done && !st; l++) {
        reap_layer_summary sm;
        if ((st = reap_report_layer(s, l, p->criterion, &sm)) || (st = reap_stats_saliency(s, l, p->criterion, sal))) break;
        reap_report_order(sal, E, order);
        int few = count_few(s, l, p->min_tokens);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "layer", l);
        cJSON_AddNumberToObject(x, "tokens", (double)sm.tokens);
        cJSON_AddNumberToObject(x, "unused", sm.never_routed);
        cJSON_AddNumberToObject(x, "few", few);
        cJSON_AddNumberToObject(x, "top10_share", sm.top10_share);
        cJSON_AddNumberToObject(x, "gini", sm.gini);
        cJSON *cuts = cJSON_AddArrayToObject(x, "cuts");
        for (int k = 0; k < REAP_REPORT_N_CUTS; k++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddNumberToObject(c, "ratio", reap_report_cuts[k]);
            cJSON_AddNumberToObject(c, "experts", sm.pruned[k]);
            cJSON_AddNumberToObject(c, "mass_removed", sm.removed[k]);
            cJSON_AddItemToArray(cuts, c);
        }
        cJSON *low = cJSON_AddArrayToObject(x, "lowest"), *high = cJSON_AddArrayToObject(x, "highest");
        for (int i = 0; i < top; i++) cJSON_AddItemToArray(low, expert_json(s, l, order[i], sal));
        int listed = highest_measured(s, l, order, top, p->min_tokens, ids);
        for (int i = 0; i < listed; i++) cJSON_AddItemToArray(high, expert_json(s, l, ids[i], sal));
        cJSON_AddItemToArray(layers, x);
    }
    free(sal), free(order), free(ids);
    if (st) {
        cJSON_Delete(o);
        return st;
    }
    // share of the experts a 30% cut prunes under the chosen criterion that each criterion also prunes
    cJSON *agr = cJSON_AddObjectToObject(o, "agreement");
    for (int c = 0; c < REAP_CRIT_COUNT && s->layers_done > 0; c++) {
        double a = agreement(s, p->criterion, (reap_criterion)c);
        if (isnan(a)) cJSON_AddNullToObject(agr, reap_criterion_name((reap_criterion)c));
        else cJSON_AddNumberToObject(agr, reap_criterion_name((reap_criterion)c), a);
    }
    *out = o;
    return REAP_OK;
}

int reap_report_csv(const reap_stats *s, reap_criterion c, const char *path) {
    int E = s->n_experts;
    reap_sbuf b = {0};
    reap_sbuf_puts(&b, "layer,expert,tokens,count,gate_sum,norm_sum,reap_sum,max_act");
    for (int k = 0; k < REAP_CRIT_COUNT; k++) reap_sbuf_printf(&b, ",%s", reap_criterion_name((reap_criterion)k));
    reap_sbuf_printf(&b, ",rank_%s", reap_criterion_name(c));
    for (int k = 0; k < REAP_REPORT_N_CUTS; k++) reap_sbuf_printf(&b, ",pruned_at_%d", (int)lround(100 * reap_report_cuts[k]));
    reap_sbuf_puts(&b, "\n");
    double *sal = reap_xmalloc(sizeof(double) * E * REAP_CRIT_COUNT);
    int *order = reap_xmalloc(sizeof(int) * E), *rank = reap_xmalloc(sizeof(int) * E);
    int have[REAP_CRIT_COUNT];
    int st = REAP_OK;
    for (int l = 0; l < s->layers_done; l++) {
        for (int k = 0; k < REAP_CRIT_COUNT; k++) have[k] = reap_stats_saliency(s, l, (reap_criterion)k, sal + k * E) == 0;
        if (!have[c]) {
            st = reap_stats_saliency(s, l, c, sal + c * E);
            break;
        }
        reap_report_order(sal + c * E, E, order);
        for (int i = 0; i < E; i++) rank[order[i]] = i;
        const reap_layer_stats *ls = &s->layers[l];
        for (int e = 0; e < E; e++) {
            const reap_expert_stats *x = &ls->e[e];
            reap_sbuf_printf(&b, "%d,%d,%llu,%llu,%.17g,%.17g,%.17g,", l, e, (unsigned long long)ls->tokens,
                             (unsigned long long)x->count, x->gate_sum, x->norm_sum, x->reap_sum);
            if (x->count && isfinite(x->max_act)) reap_sbuf_printf(&b, "%.9g", x->max_act);
            for (int k = 0; k < REAP_CRIT_COUNT; k++) {
                double v = sal[k * E + e];
                if (have[k] && isfinite(v)) reap_sbuf_printf(&b, ",%.17g", v);
                else reap_sbuf_puts(&b, ",");
            }
            reap_sbuf_printf(&b, ",%d", rank[e]);
            for (int k = 0; k < REAP_REPORT_N_CUTS; k++)
                reap_sbuf_printf(&b, ",%d", rank[e] < reap_prune_count(E, reap_report_cuts[k]));
            reap_sbuf_puts(&b, "\n");
        }
    }
    if (!st) st = reap_write_file_atomic(path, b.p, b.n);
    reap_sbuf_free(&b);
    free(sal), free(order), free(rank);
    return st;
}

// Perceptually ordered colour ramp (dark blue -> teal -> yellow), t in [0, 1].
static void ramp(double t, int rgb[3]) {
    static const int stops[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    double x = t * 4;
    int i = (int)x;
    if (i > 3) i = 3;
    double f = x - i;
    for (int c = 0; c < 3; c++) rgb[c] = (int)lround(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]));
}

// What a criterion measures, for titles.
static const char *criterion_title(reap_criterion c) {
    switch (c) {
    case REAP_CRIT_REAP: return "REAP saliency (mean of router gate x ||expert output|| over routed tokens)";
    case REAP_CRIT_FREQUENCY: return "frequency (tokens routed to the expert)";
    case REAP_CRIT_WEIGHTED_FREQUENCY: return "weighted frequency (sum of router gate weights)";
    case REAP_CRIT_EAN_SUM: return "EAN sum (sum of ||expert output|| over routed tokens)";
    case REAP_CRIT_EAN_MEAN: return "EAN mean (mean of ||expert output|| over routed tokens)";
    case REAP_CRIT_WEIGHTED_EAN_SUM: return "weighted EAN sum (sum of router gate x ||expert output||)";
    case REAP_CRIT_MAX_ACTIVATION: return "max activation (largest expert output value)";
    default: return "?";
    }
}

// Width of a line of text in px, generously estimated (sans-serif averages ~0.55 em per character),
// so that the canvas is made wide enough for it.
static int text_width(const char *t, int font_size) { return (int)(strlen(t) * font_size * 0.62) + 1; }

int reap_report_svg(const reap_stats *s, const reap_report_params *p, const char *path) {
    int E = s->n_experts, L = s->layers_done;
    reap_criterion c = p->criterion;
    int cw = 1100 / E;
    if (cw < 3) cw = 3;
    if (cw > 20) cw = 20;
    int ch = cw < 8 ? 8 : cw;
    // Each layer is a band: the cells (ch), 1 px gap, a 3 px strip marking the pruned experts, 2 px gap.
    // A strip instead of marks on the cells keeps every cell's colour visible at 3-4 px cells.
    int strip = 3, pitch = ch + 1 + strip + 2;
    int n_cut = reap_prune_count(E, p->ratio);
    char title[256], sub[256];
    snprintf(title, sizeof title, "%s, relative to each layer's largest", criterion_title(c));
    snprintf(sub, sizeof sub, "%d layers x %d experts, router %s; black strip under a cell: pruned by a cut of %g "
             "(%d of %d per layer); hover for values", L, E, reap_router_mode_name(s->router), p->ratio, n_cut, E);
    const int bar_h = 200, title_fs = 14, fs = 11;
    int left = 70, topm = 60, grid_w = E * cw, grid_h = L * pitch;
    int lx = left + grid_w + 30;                             // colour bar
    int w = lx + 16 + 4 + text_width("max", fs) + 10;        // bar, gap, its labels, margin
    if (w < left + text_width(title, title_fs) + 10) w = left + text_width(title, title_fs) + 10;
    if (w < left + text_width(sub, fs) + 10) w = left + text_width(sub, fs) + 10;
    int h = topm + grid_h + 30;                              // expert numbers below the grid
    if (h < topm + bar_h + 30) h = topm + bar_h + 30;        // the whole colour bar and its "0"
    reap_sbuf b = {0};
    reap_sbuf_printf(&b,
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                     "font-family=\"sans-serif\" font-size=\"%d\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                     w, h, w, h, fs);
    reap_sbuf_printf(&b, "<text x=\"%d\" y=\"20\" font-size=\"%d\">%s</text>\n", left, title_fs, title);
    reap_sbuf_printf(&b, "<text x=\"%d\" y=\"38\">%s</text>\n", left, sub);
    reap_sbuf_printf(&b, "<text x=\"%d\" y=\"%d\">expert</text>\n", left, topm - 6);
    double *sal = reap_xmalloc(sizeof(double) * E);
    int *order = reap_xmalloc(sizeof(int) * E), *rank = reap_xmalloc(sizeof(int) * E);
    int st = REAP_OK;
    int step = E > 64 ? 32 : E > 16 ? 8 : 1;
    for (int e = 0; e < E; e += step)
        reap_sbuf_printf(&b, "<text x=\"%d\" y=\"%d\" font-size=\"9\">%d</text>\n", left + e * cw, topm + grid_h + 12, e);
    for (int l = 0; l < L; l++) {
        if ((st = reap_stats_saliency(s, l, c, sal))) break;
        reap_report_order(sal, E, order);
        for (int i = 0; i < E; i++) rank[order[i]] = i;
        double mx = 0;
        for (int e = 0; e < E; e++) mx = fmax(mx, mass(sal[e]));
        int y = topm + l * pitch;
        if (L <= 64 || l % 4 == 0)
            reap_sbuf_printf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"9\">%d</text>\n", left - 4,
                             y + ch - 1, l);
        reap_sbuf_printf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#e4e4e4\"/>\n", left, y + ch + 1,
                         grid_w, strip);
        for (int e = 0; e < E; e++) {
            int rgb[3];
            ramp(mx > 0 ? mass(sal[e]) / mx : 0, rgb);
            int x = left + e * cw;
            uint64_t n = s->layers[l].e[e].count;
            reap_sbuf_printf(&b,
                             "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\"><title>layer %d "
                             "expert %d: %s %.5g, %llu tokens%s%s</title></rect>\n",
                             x, y, cw, ch, rgb[0], rgb[1], rgb[2], l, e, reap_criterion_name(c), sal[e],
                             (unsigned long long)n, n < p->min_tokens ? " (too few: unreliable)" : "",
                             rank[e] < n_cut ? ", pruned by the cut" : "");
            if (rank[e] < n_cut)
                reap_sbuf_printf(&b, "<rect class=\"cut\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"black\"/>\n",
                                 x, y + ch + 1, cw, strip);
        }
    }
    int ly = topm + grid_h / 2 + 15;  // rotated: the word runs upwards from ly
    reap_sbuf_printf(&b, "<text x=\"%d\" y=\"%d\" transform=\"rotate(-90 %d %d)\">layer</text>\n", 20, ly, 20, ly);
    // Colour bar: the whole of it, top = the layer's largest saliency, bottom = 0.
    for (int i = 0; i < 100; i++) {
        int rgb[3];
        ramp(1 - i / 99.0, rgb);
        reap_sbuf_printf(&b, "<rect class=\"legend\" x=\"%d\" y=\"%d\" width=\"16\" height=\"%d\" fill=\"rgb(%d,%d,%d)\"/>\n",
                         lx, topm + i * bar_h / 100, bar_h / 100, rgb[0], rgb[1], rgb[2]);
    }
    reap_sbuf_printf(&b, "<text class=\"legend\" x=\"%d\" y=\"%d\">max</text><text class=\"legend\" x=\"%d\" y=\"%d\">0</text>\n",
                     lx + 20, topm + 9, lx + 20, topm + bar_h);
    reap_sbuf_puts(&b, "</svg>\n");
    if (!st) st = reap_write_file_atomic(path, b.p, b.n);
    reap_sbuf_free(&b);
    free(sal), free(order), free(rank);
    return st;
}

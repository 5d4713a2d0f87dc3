// prune.c: the pruning plan (see prune.h): kept experts per layer from the statistics, the fate of
// every tensor, the output shards; its --dry-run printout; and the surgical config.json edit.
// The streamed rewriter is in prune_write.c.
#include "prune.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "m2config.h"

reap_prune_params reap_prune_default_params(void) {
    reap_prune_params p;
    memset(&p, 0, sizeof p);
    p.ratio = -1;
    p.keep = 0;
    p.align = 0;
    p.criterion = REAP_CRIT_REAP;
    p.max_shard_size = 0;
    return p;
}

int reap_prune_count(int n_experts, double ratio) {
    // E x r is computed in binary floating point; an exact product like 0.29 x 100 may land just
    // under the integer. 1e-9 is far below any meaningful fraction of an expert.
    return (int)floor((double)n_experts * ratio + 1e-9);
}

typedef struct {
    double s;
    int id;
} ranked;

// Ascending saliency; among equals the higher id first (dropped first).
static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->s < y->s) return -1;
    if (x->s > y->s) return 1;
    return (x->id < y->id) - (x->id > y->id);
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int choose_kept(reap_prune_plan *pl, const reap_stats *st) {
    int E = pl->n_experts, K = pl->keep;
    pl->kept = reap_xmalloc(sizeof(int) * (size_t)pl->n_layers * (size_t)K);
    if (K == E) {
        for (int l = 0; l < pl->n_layers; l++)
            for (int j = 0; j < E; j++) pl->kept[(size_t)l * K + j] = j;
    }
    if (!st) {
        REAP_ASSERT(K == E);
        return REAP_OK;
    }
    pl->saliency = reap_xmalloc(sizeof(double) * (size_t)pl->n_layers * (size_t)E);
    pl->mass_removed = reap_xcalloc((size_t)pl->n_layers, sizeof(double));
    ranked *r = reap_xmalloc(sizeof(ranked) * (size_t)E);
    for (int l = 0; l < pl->n_layers; l++) {
        double *sal = pl->saliency + (size_t)l * E;
        int rc = REAP_OK;
        if (pl->params.criterion == REAP_CRIT_RANDOM) reap_random_saliency(pl->params.seed, l, E, sal);
        else rc = reap_stats_saliency(st, l, pl->params.criterion, sal);
        if (rc) {
            free(r);
            return rc;
        }
        double total = 0, dropped = 0;
        for (int j = 0; j < E; j++) {
            if (isnan(sal[j])) {
                free(r);
                return reap_fail(REAP_EINVAL, "statistics: layer %d expert %d: %s saliency is NaN", l, j,
                                 reap_criterion_name(pl->params.criterion));
            }
            r[j].s = sal[j];
            r[j].id = j;
            if (isfinite(sal[j])) total += sal[j];
        }
        qsort(r, (size_t)E, sizeof *r, cmp_ranked);
        for (int j = 0; j < E - K; j++)
            if (isfinite(r[j].s)) dropped += r[j].s;
        pl->mass_removed[l] = total != 0 ? dropped / total : 0.0;
        int *kept = pl->kept + (size_t)l * K;
        for (int j = 0; j < K; j++) kept[j] = r[E - K + j].id;
        qsort(kept, (size_t)K, sizeof(int), cmp_int);
    }
    free(r);
    return REAP_OK;
}

// New index of original expert j in layer l, or -1 when dropped.
static int new_index(const reap_prune_plan *pl, int l, int j) {
    const int *kept = pl->kept + (size_t)l * pl->keep;
    const int *hit = bsearch(&j, kept, (size_t)pl->keep, sizeof(int), cmp_int);
    return hit ? (int)(hit - kept) : -1;
}

// What a tensor outside the experts is to the router of its layer (*layer set when not NONE).
typedef enum { ROUTER_NONE, ROUTER_GATE, ROUTER_BIAS, ROUTER_QUANTISED, ROUTER_OTHER } router_part;

static router_part router_part_of(const reap_family *f, const char *name, int *layer) {
    if ((*layer = reap_family_layer_of(f, name)) < 0) return ROUTER_NONE;
    const char *rest = strchr(name + strlen(f->layer_prefix), '.') + 1;
    size_t n = strlen(f->router_gate);
    const char *dot = strrchr(f->router_gate, '.');  // the router module: "block_sparse_moe.gate."
    if (!strcmp(rest, f->router_gate)) return ROUTER_GATE;
    if (f->router_bias && !strcmp(rest, f->router_bias)) return ROUTER_BIAS;
    if (!strncmp(rest, f->router_gate, n) && rest[n] == '_') return ROUTER_QUANTISED;  // gate.weight_scale_inv
    if (dot && !strncmp(rest, f->router_gate, (size_t)(dot + 1 - f->router_gate))) return ROUTER_OTHER;
    return ROUTER_NONE;
}

static int plan_tensors(const reap_ckpt *c, reap_prune_plan *pl) {
    int n = 0;
    for (int s = 0; s < c->n_shards; s++) n += c->shards[s]->n_tensors;
    pl->tensors = reap_xcalloc((size_t)n, sizeof *pl->tensors);
    pl->n_tensors = n;
    const reap_family *fam = pl->model.family;
    int *have_gate = reap_xcalloc((size_t)pl->n_layers, sizeof(int));
    int i = 0, st = REAP_OK;
    char buf[128];
    for (int s = 0; s < c->n_shards && !st; s++) {
        const reap_st_file *f = c->shards[s];
        for (int k = 0; k < f->n_tensors && !st; k++, i++) {
            const reap_st_tensor *t = &f->tensors[k];
            reap_prune_tensor *pt = &pl->tensors[i];
            pt->src_name = t->name;
            pt->src_shard = s;
            pt->src = t;
            pt->layer = -1;
            pt->out_shard = -1;
            memcpy(pt->out_shape, t->shape, sizeof t->shape);
            uint64_t nb = reap_st_nbytes(t);
            size_t len = strlen(t->name);
            int is_scale = len >= 10 && strcmp(t->name + len - 10, "_scale_inv") == 0;
            uint64_t numel = (uint64_t)reap_st_numel(t);
            pl->bytes_in += nb;
            if (!is_scale) pl->params_in += numel;
            int layer, expert, rest;
            if (reap_family_parse_expert_name(fam, t->name, &layer, &expert, &rest)) {
                if (layer < 0 || layer >= pl->n_layers || expert < 0 || expert >= pl->n_experts) {
                    st = reap_fail(REAP_EINVAL, "%s: tensor %s: expert %d of layer %d is outside the %d layers x %d "
                                   "experts of config.json", f->path, t->name, expert, layer, pl->n_layers, pl->n_experts);
                    break;
                }
                int ni = new_index(pl, layer, expert);
                if (ni < 0) {
                    pt->action = REAP_PRUNE_DROP;
                    pl->n_drop++;
                    pl->bytes_drop += nb;
                    continue;
                }
                pt->action = REAP_PRUNE_COPY;
                pt->out_name = reap_xstrdup(reap_family_expert_name(fam, buf, layer, ni, t->name + rest));
            } else {
                pt->action = REAP_PRUNE_COPY;
                pt->out_name = reap_xstrdup(t->name);
                // Router rows and bias entries are per expert: slice them.
                int l;
                router_part rp = router_part_of(fam, t->name, &l);
                if (rp == ROUTER_QUANTISED) {
                    st = reap_fail(REAP_EINVAL, "%s: tensor %s: a quantised router is not supported", f->path, t->name);
                    break;
                }
                if (rp == ROUTER_OTHER) {
                    st = reap_fail(REAP_EINVAL, "%s: tensor %s: unsupported router tensor (only %s is sliced)", f->path,
                                   t->name, fam->router_gate);
                    break;
                }
                if ((rp == ROUTER_GATE || rp == ROUTER_BIAS) && l < pl->n_layers) {
                    if (t->ndim != (rp == ROUTER_GATE ? 2 : 1) || t->shape[0] != pl->n_experts) {
                        st = reap_fail(REAP_EINVAL, "%s: tensor %s: shape[0] = %" PRId64 " (ndim %d), expected %d "
                                       "experts as config.json says", f->path, t->name, t->shape[0], t->ndim,
                                       pl->n_experts);
                        break;
                    }
                    if (rp == ROUTER_GATE) have_gate[l] = 1;
                    pt->action = REAP_PRUNE_SLICE;
                    pt->layer = l;
                    pt->out_shape[0] = pl->keep;
                }
            }
            if (pt->action == REAP_PRUNE_SLICE) {
                pt->out_bytes = nb / (uint64_t)pl->n_experts * (uint64_t)pl->keep;
                pl->n_slice++;
                pl->bytes_slice += nb;
            } else {
                pt->out_bytes = nb;
                pl->n_copy++;
                pl->bytes_copy += nb;
            }
            pl->bytes_out += pt->out_bytes;
            if (!is_scale) pl->params_out += pt->action == REAP_PRUNE_SLICE ? numel / (uint64_t)pl->n_experts * (uint64_t)pl->keep : numel;
        }
    }
    for (int l = 0; l < pl->n_layers && !st; l++)
        if (!have_gate[l])
            st = reap_fail(REAP_EINVAL, "%s: layer %d has no router tensor %s", c->dir, l,
                           reap_family_layer_name(fam, buf, l, fam->router_gate));
    free(have_gate);
    return st;
}

// Greedy packing in source order: a new shard starts when the next tensor would pass the limit.
static void plan_shards(const reap_ckpt *c, reap_prune_plan *pl) {
    uint64_t limit = pl->params.max_shard_size;
    if (!limit)
        for (int s = 0; s < c->n_shards; s++) {
            const reap_st_file *f = c->shards[s];
            uint64_t data = f->file_size - f->data_offset;
            if (data > limit) limit = data;
        }
    uint64_t cur = 0;
    int n = 0, open = 0;
    pl->out_shard_bytes = reap_xcalloc((size_t)pl->n_tensors + 1, sizeof(uint64_t));
    for (int i = 0; i < pl->n_tensors; i++) {
        reap_prune_tensor *pt = &pl->tensors[i];
        if (pt->action == REAP_PRUNE_DROP) continue;
        if (!open || (cur > 0 && cur + pt->out_bytes > limit)) {
            n++;
            cur = 0;
            open = 1;
        }
        pt->out_shard = n - 1;
        cur += pt->out_bytes;
        pl->out_shard_bytes[n - 1] = cur;
    }
    pl->n_out_shards = n;
    pl->write_index = c->has_index || n > 1;
    pl->out_shard_names = reap_xcalloc((size_t)(n ? n : 1), sizeof(char *));
    for (int s = 0; s < n; s++)
        pl->out_shard_names[s] = pl->write_index ? reap_xasprintf("model-%05d-of-%05d.safetensors", s + 1, n)
                                                 : reap_xstrdup("model.safetensors");
}

int reap_prune_plan_make(const reap_ckpt *c, const reap_m2_config *m, const reap_stats *stats,
                         const reap_prune_params *p, reap_prune_plan *pl) {
    memset(pl, 0, sizeof *pl);
    pl->params = *p;
    pl->model = *m;
    pl->n_layers = m->n_layers;
    pl->n_experts = m->n_experts;
    pl->top_k = m->top_k;
    int st;
    int E = pl->n_experts, K;
    if (p->ratio >= 0 || p->keep <= 0) {
        if (!(p->ratio >= 0 && p->ratio < 1))
            return reap_fail(REAP_EUSAGE, "--ratio %g: must be in [0, 1) (the fraction of experts to drop)", p->ratio);
        K = E - reap_prune_count(E, p->ratio);
    } else {
        K = p->keep;
    }
    if (K > E) return reap_fail(REAP_EUSAGE, "--keep %d: the model has only %d experts per layer", K, E);
    if (p->align > 1) {
        int k2 = K / p->align * p->align;
        if (k2 != K) reap_info("kept experts rounded down from %d to %d (a multiple of --align %d)", K, k2, p->align);
        K = k2;
    }
    if (K < pl->top_k)
        return reap_fail(REAP_EUSAGE, "keeping %d experts is fewer than the %d each token routes to (top-k)", K,
                         pl->top_k);
    pl->keep = K;
    if (K < E || stats) {
        if (!stats) return reap_fail(REAP_EUSAGE, "pruning needs statistics (--scores FILE)");
        const char *sp = p->stats_path ? p->stats_path : "statistics";
        if (!p->model_checked && (st = reap_stats_check_model(stats, sp, c, m, NULL))) return st;
        if (stats->n_layers != pl->n_layers || stats->n_experts != E)
            return reap_fail(REAP_EINVAL, "%s: statistics have %d layers x %d experts, %s has %d x %d", sp,
                             stats->n_layers, stats->n_experts, c->dir, pl->n_layers, E);
        if (stats->layers_done != stats->n_layers)
            return reap_fail(REAP_EINVAL, "%s: statistics are incomplete: %d of %d layers done (finish or resume the "
                             "scoring run)", sp, stats->layers_done, stats->n_layers);
        // A shard's file (or a merge of some shards) describes part of the data: pruning from it
        // silently would decide on a fraction of the calibration set.
        int n_shards, *missing, n_missing;
        if ((st = reap_stats_missing_shards(stats, sp, &n_shards, &missing, &n_missing))) return st;
        char list[200];
        reap_stats_format_indices(missing, n_missing, list, sizeof list);
        free(missing);
        if (n_missing && !p->allow_partial)
            return reap_fail(REAP_EINVAL, "%s: partial statistics: %d of %d calibration shards, missing shard%s %s "
                             "(merge every shard with `reap merge`, or --allow-partial to prune from a part)", sp,
                             n_shards - n_missing, n_shards, n_missing == 1 ? "" : "s", list);
    }
    if ((st = choose_kept(pl, stats)) || (st = plan_tensors(c, pl))) {
        reap_prune_plan_free(pl);
        return st;
    }
    plan_shards(c, pl);
    return REAP_OK;
}

void reap_prune_plan_free(reap_prune_plan *pl) {
    if (!pl) return;
    for (int i = 0; i < pl->n_tensors; i++) free(pl->tensors[i].out_name);
    free(pl->tensors);
    for (int s = 0; s < pl->n_out_shards; s++) free(pl->out_shard_names[s]);
    free(pl->out_shard_names);
    free(pl->out_shard_bytes);
    free(pl->kept);
    free(pl->saliency);
    free(pl->mass_removed);
    memset(pl, 0, sizeof *pl);
}

static const char *action_name(reap_prune_action a) {
    return a == REAP_PRUNE_COPY ? "keep" : a == REAP_PRUNE_SLICE ? "slice" : "drop";
}

static void print_ids(FILE *out, const char *what, const int *ids, int n, const double *sal) {
    fprintf(out, "  %s (%d):", what, n);
    for (int i = 0; i < n; i++) {
        if (i % 8 == 0) fprintf(out, "\n   ");
        if (sal) fprintf(out, " %3d:%-10.4g", ids[i], sal[ids[i]]);
        else fprintf(out, " %3d", ids[i]);
    }
    fprintf(out, "\n");
}

void reap_prune_plan_print(const reap_prune_plan *pl, FILE *out, int verbose) {
    char b1[32], b2[32], lab[32];
    int E = pl->n_experts, K = pl->keep;
    fprintf(out, "plan: %d layers, keep %d of %d experts per layer (drop %d), criterion %s, top-k %d\n",
            pl->n_layers, K, E, E - K, reap_selection_label(pl->params.criterion, pl->params.seed, lab, sizeof lab), pl->top_k);
    fprintf(out, "tie rule: equal saliency -> the higher original expert index is dropped first\n");
    int *dropped = reap_xmalloc(sizeof(int) * (size_t)E);
    for (int l = 0; l < pl->n_layers; l++) {
        const int *kept = pl->kept + (size_t)l * K;
        int nd = 0;
        for (int j = 0, k = 0; j < E; j++) {
            if (k < K && kept[k] == j) k++;
            else dropped[nd++] = j;
        }
        const double *sal = pl->saliency ? pl->saliency + (size_t)l * E : NULL;
        if (sal) fprintf(out, "layer %d: saliency mass removed %.4f%%\n", l, 100.0 * pl->mass_removed[l]);
        else fprintf(out, "layer %d:\n", l);
        print_ids(out, "dropped id:saliency", dropped, nd, sal);
        print_ids(out, "kept id:saliency", kept, K, sal);
    }
    free(dropped);
    if (pl->mass_removed) {
        double sum = 0, mx = 0;
        for (int l = 0; l < pl->n_layers; l++) {
            sum += pl->mass_removed[l];
            if (pl->mass_removed[l] > mx) mx = pl->mass_removed[l];
        }
        fprintf(out, "saliency mass removed: mean %.4f%%, worst layer %.4f%%\n", 100.0 * sum / pl->n_layers, 100.0 * mx);
    }
    if (verbose)
        for (int i = 0; i < pl->n_tensors; i++) {
            const reap_prune_tensor *pt = &pl->tensors[i];
            fprintf(out, "  %-6s %s", action_name(pt->action), pt->src_name);
            if (pt->out_name && strcmp(pt->out_name, pt->src_name) != 0) fprintf(out, " -> %s", pt->out_name);
            if (pt->out_shard >= 0) fprintf(out, "  [%s]", pl->out_shard_names[pt->out_shard]);
            fprintf(out, "\n");
        }
    fprintf(out, "tensors: %d copy (%s), %d slice, %d drop (%s)\n", pl->n_copy,
            reap_fmt_bytes((double)pl->bytes_copy, b1, sizeof b1), pl->n_slice, pl->n_drop,
            reap_fmt_bytes((double)pl->bytes_drop, b2, sizeof b2));
    fprintf(out, "size: %s -> ", reap_fmt_bytes((double)pl->bytes_in, b1, sizeof b1));
    fprintf(out, "%s in %d shard%s%s\n", reap_fmt_bytes((double)pl->bytes_out, b2, sizeof b2), pl->n_out_shards,
            pl->n_out_shards == 1 ? "" : "s", pl->write_index ? " + index" : "");
    double unit = pl->params_in >= 1e9 ? 1e9 : 1e6;
    const char *u = unit == 1e9 ? "B" : "M";
    fprintf(out, "parameters (without scale tensors): %" PRIu64 " -> %" PRIu64 " (%.2f %s -> %.2f %s)\n", pl->params_in,
            pl->params_out, pl->params_in / unit, u, pl->params_out / unit, u);
}

// ---- config.json

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

static const char *skip_string(const char *p) {  // p at the opening quote; returns past the closing one
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1]) p++;
    return *p ? p + 1 : p;
}

int reap_prune_edit_config(const char *text, const char *path, const char *key, long long value, char **out) {
    // Scan the top-level object for "key": NUMBER, tracking nesting and strings, and replace only
    // the number's characters: key order, spacing and every other value stay byte for byte.
    int depth = 0;
    size_t klen = strlen(key);
    const char *hit = NULL, *hit_end = NULL;
    for (const char *p = text; *p;) {
        if (*p == '"') {
            const char *e = skip_string(p);
            if (depth == 1 && (size_t)(e - p) == klen + 2 && memcmp(p + 1, key, klen) == 0) {
                const char *q = skip_ws(e);
                if (*q == ':') {
                    q = skip_ws(q + 1);
                    const char *n = q;
                    while (*n && strchr("+-0123456789.eE", *n)) n++;
                    if (n == q) return reap_fail(REAP_EINVAL, "%s: \"%s\" is not a number", path, key);
                    if (hit) return reap_fail(REAP_EINVAL, "%s: \"%s\" appears twice", path, key);
                    hit = q;
                    hit_end = n;
                    p = n;
                    continue;
                }
            }
            p = e;
            continue;
        }
        if (*p == '{' || *p == '[') depth++;
        else if (*p == '}' || *p == ']') depth--;
        p++;
    }
    if (!hit) return reap_fail(REAP_EINVAL, "%s: no top-level \"%s\" key", path, key);
    reap_sbuf b = {0};
    reap_sbuf_append(&b, text, (size_t)(hit - text));
    reap_sbuf_printf(&b, "%lld", value);
    reap_sbuf_puts(&b, hit_end);
    // Check by parsing: the result must equal the original with just that value replaced.
    cJSON *orig = cJSON_Parse(text), *now = cJSON_Parse(b.p);
    int ok = orig && now;
    if (ok) {
        cJSON_ReplaceItemInObjectCaseSensitive(orig, key, cJSON_CreateNumber((double)value));
        ok = cJSON_Compare(orig, now, 1);
    }
    cJSON_Delete(orig);
    cJSON_Delete(now);
    if (!ok) {
        reap_sbuf_free(&b);
        return reap_fail(REAP_EINVAL, "%s: could not rewrite \"%s\" (the edited file does not parse to the same "
                         "config)", path, key);
    }
    *out = b.p;
    return REAP_OK;
}

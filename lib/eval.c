// eval.c: see eval.h. The run: rows -> streams through the layers -> logits chunk by chunk ->
// metrics per position -> the result document.
#include "eval.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "calib.h"
#include "common.h"
#include "cpu_ops.h"
#include "eval_metrics.h"
#include "gpu.h"
#include "eval_internal.h"
#include "eval_metrics.h"
#include "forward.h"
#include "inspect.h"
#include "progress.h"
#include "prune.h"
#include "tokenizer.h"

static const char *const default_eval_calib[] = {"heldout"};

reap_eval_params reap_eval_default_params(void) {
    reap_eval_params p;
    memset(&p, 0, sizeof p);
    p.seq_len = 2048, p.seed = 42, p.pack = 1, p.device = REAP_DEVICE_AUTO, p.chunk = 64, p.worst = 5;
    return p;
}

size_t reap_eval_stream_bytes(int rows, int T, int hidden) { return (size_t)rows * (size_t)T * (size_t)hidden * 4; }

typedef struct {
    int64_t n, agree, out5;
    double ce_p, ce_q, kl;
} acc;

// One model compared with the original.
typedef struct {
    char *name;
    reap_ckpt *c;               // checkpoint mode: its own checkpoint; what-if: NULL (the original's)
    reap_m2_config cfg;
    int K, *kept;               // (n_layers, K) original ids of the survivors
    uint8_t *drop;              // what-if: (n_layers, E) 1 = removed
    const uint8_t **drop_rows;  // what-if: (n_layers) pointers into drop
    cJSON *desc;                // criterion / ratio / path
    float *h;                   // (rows x seq_len, hidden) hidden states, h_bytes (reap_big_alloc)
    size_t h_bytes;
    reap_layer_stats *stats;    // (n_layers), indexed by this model's experts
    double *kl_pos;             // (N)
    acc *cat;                   // (n_cats + 1): per category, then all
    double *row_kl;             // (rows)
    int64_t *row_n;
} variant;

static int mem_available(size_t *out) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    *out = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long long kb;
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) *out = (size_t)kb * 1024;
    }
    if (f) fclose(f);
    return *out > 0;
}

static int open_model(const char *dir, reap_ckpt **c, reap_m2_config *m) {
    int st = reap_ckpt_open(dir, c);
    if (st) return st;
    char *cpath = reap_path_join(dir, "config.json");
    if ((st = reap_m2_config_load(*c, m)) || (st = reap_forward_check_config(m, cpath)) ||
        (st = reap_inspect_check(*c, m))) {
        reap_ckpt_close(*c);
        *c = NULL;
    }
    free(cpath);
    return st;
}

// What-if variants: the plan prune would make for every (criterion, ratio).
static int plan_variants(const reap_ckpt *c, const reap_m2_config *m, const reap_eval_params *p, variant *v) {
    reap_stats s;
    int st = reap_stats_load(p->scores, &s);
    if (!st) st = reap_stats_check_model(&s, p->scores, c, m, NULL);  // once, not per variant
    if (st) {
        if (s.layers) reap_stats_free(&s);
        return st;
    }
    const int L = m->n_layers, E = m->n_experts;
    // A what-if measures what a prune would cost: statistics of some shards only are allowed here
    // (reap prune refuses them without --allow-partial), with a warning.
    int n_shards, *missing, n_missing;
    if ((st = reap_stats_missing_shards(&s, p->scores, &n_shards, &missing, &n_missing))) {
        reap_stats_free(&s);
        return st;
    }
    char list[200];
    reap_stats_format_indices(missing, n_missing, list, sizeof list);
    free(missing);
    if (n_missing)
        reap_warn("%s: partial statistics (%d of %d calibration shards, missing %s): the what-if plans are those "
                  "`reap prune --allow-partial` would make", p->scores, n_shards - n_missing, n_shards, list);
    for (int ci = 0, i = 0; ci < p->n_crits && !st; ci++)
        for (int ri = 0; ri < p->n_ratios && !st; ri++, i++) {
            reap_prune_params pp = reap_prune_default_params();
            pp.ratio = p->ratios[ri], pp.criterion = p->crits[ci], pp.stats_path = p->scores, pp.allow_partial = 1,
            pp.model_checked = 1, pp.seed = p->seeds ? p->seeds[ci] : 0;
            char lab[32];
            const char *crit = reap_selection_label(pp.criterion, pp.seed, lab, sizeof lab);
            reap_prune_plan plan;
            if ((st = reap_prune_plan_make(c, m, &s, &pp, &plan))) break;
            variant *x = &v[i];
            x->name = reap_xasprintf("%s@%g", crit, pp.ratio);
            x->cfg = *m, x->K = plan.keep;
            x->kept = reap_xmalloc(sizeof(int) * (size_t)L * plan.keep);
            memcpy(x->kept, plan.kept, sizeof(int) * (size_t)L * plan.keep);
            x->drop = reap_xmalloc((size_t)L * E);
            x->drop_rows = reap_xmalloc(sizeof *x->drop_rows * (size_t)L);
            memset(x->drop, 1, (size_t)L * E);
            for (int l = 0; l < L; l++) {
                for (int k = 0; k < plan.keep; k++) x->drop[(size_t)l * E + plan.kept[(size_t)l * plan.keep + k]] = 0;
                x->drop_rows[l] = x->drop + (size_t)l * E;
            }
            x->desc = cJSON_CreateObject();
            cJSON_AddStringToObject(x->desc, "criterion", crit);
            cJSON_AddNumberToObject(x->desc, "ratio", pp.ratio);
            reap_prune_plan_free(&plan);
        }
    reap_stats_free(&s);
    return st;
}

// The layer loops' progress: one display over every model's layers (the original's and each
// checkpoint's run in turn; what-if variants share the original's), a line per layer under -v.
typedef struct {
    const char *what;  // the model whose layers run now
    int n_layers;
    reap_progress bar;
} eval_progress;

static int on_layer(void *ctx, int l, const reap_pipeline_layer *li) {
    eval_progress *e = ctx;
    reap_progress_add(&e->bar, 1, 0, e->what);
    reap_verbose("%s: layer %d/%d done (load %.2f s, forward %.2f s)", e->what, l + 1, e->n_layers, li->wait_s,
                 li->forward_s);
    return REAP_OK;
}

static void add_acc(acc *a, const reap_eval_pos *r) {
    a->n++, a->ce_p += r->ce_p, a->ce_q += r->ce_q, a->kl += r->kl, a->agree += r->agree, a->out5 += !r->in_top5;
}

// Escapes control characters and cuts at about max bytes on a UTF-8 boundary.
static char *excerpt(const char *s, size_t len, size_t max) {
    reap_sbuf b = {0};
    size_t i = 0;
    for (; i < len && b.n < max; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n') reap_sbuf_puts(&b, "\\n");
        else if (ch == '\t') reap_sbuf_puts(&b, "\\t");
        else if (ch < 0x20 || ch == 0x7f) reap_sbuf_printf(&b, "\\x%02x", ch);
        else reap_sbuf_append(&b, &ch, 1);
    }
    while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) reap_sbuf_append(&b, &s[i++], 1);
    if (i < len) reap_sbuf_puts(&b, "...");
    if (!b.p) reap_sbuf_puts(&b, "");
    return b.p;
}

static cJSON *cat_json(const acc *a, const acc *ref) {
    cJSON *o = cJSON_CreateObject();
    double n = a->n ? (double)a->n : 1;
    cJSON_AddNumberToObject(o, "positions", (double)a->n);
    cJSON_AddNumberToObject(o, "ce", a->ce_q / n);
    cJSON_AddNumberToObject(o, "ppl", exp(a->ce_q / n));
    cJSON_AddNumberToObject(o, "delta_ce", (a->ce_q - ref->ce_p) / n);
    cJSON_AddNumberToObject(o, "kl_mean", a->kl / n);
    cJSON_AddNumberToObject(o, "top1_agreement", a->agree / n);
    cJSON_AddNumberToObject(o, "top1_out_of_top5", a->out5 / n);
    return o;
}

// Routing shift of variant x against the original's statistics s0 (spec eval.md).
static cJSON *routing_json(const variant *x, const reap_layer_stats *s0, int L, int E) {
    cJSON *arr = cJSON_CreateArray();
    double *after = reap_xmalloc(sizeof(double) * (size_t)E);
    uint8_t *keep = reap_xmalloc((size_t)E);
    for (int l = 0; l < L; l++) {
        const int *kl = x->kept + (size_t)l * x->K;
        memset(keep, 0, (size_t)E);
        for (int k = 0; k < x->K; k++) keep[kl[k]] = 1;
        double tok = s0[l].tokens ? (double)s0[l].tokens : 1, dropped = 0, mx0 = 0, sum0 = 0, mx1 = 0, sum1 = 0;
        for (int e = 0; e < E; e++) {
            if (!keep[e]) dropped += s0[l].e[e].gate_sum;
            double c = (double)s0[l].e[e].count;
            sum0 += c, mx0 = c > mx0 ? c : mx0;
        }
        for (int k = 0; k < x->K; k++) {
            // what-if stats are indexed by original ids, a checkpoint's by its own
            const reap_expert_stats *es = &x->stats[l].e[x->c ? k : kl[k]];
            after[k] = (double)es->count;
            sum1 += after[k], mx1 = after[k] > mx1 ? after[k] : mx1;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "layer", l);
        cJSON_AddNumberToObject(o, "dropped_mass", dropped / tok);
        cJSON_AddNumberToObject(o, "imbalance_before", sum0 > 0 ? mx0 / (sum0 / E) : 0);
        cJSON_AddNumberToObject(o, "imbalance_after", sum1 > 0 ? mx1 / (sum1 / x->K) : 0);
        cJSON *g = cJSON_AddArrayToObject(o, "grew");
        for (int t = 0; t < 3; t++) {  // the survivors whose load grew most
            int best = -1;
            double bd = 0;
            for (int k = 0; k < x->K; k++) {
                double d = after[k] - (double)s0[l].e[kl[k]].count;
                if (d > bd) bd = d, best = k;
            }
            if (best < 0) break;
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "expert", kl[best]);
            cJSON_AddNumberToObject(e, "before", (double)s0[l].e[kl[best]].count);
            cJSON_AddNumberToObject(e, "after", after[best]);
            cJSON_AddItemToArray(g, e);
            after[best] = (double)s0[l].e[kl[best]].count;  // taken
        }
        cJSON_AddItemToArray(arr, o);
    }
    free(after), free(keep);
    return arr;
}

static int worst_rows_json(const variant *x, const reap_packed *pk, reap_tokenizer *tok, int n_worst, cJSON *arr) {
    const int R = pk->rows, T = pk->seq_len;
    uint8_t *taken = reap_xcalloc((size_t)R, 1);
    int st = REAP_OK;
    for (int w = 0; w < n_worst && !st; w++) {
        int best = -1;
        double bm = -1;
        for (int r = 0; r < R; r++)
            if (!taken[r] && x->row_n[r] > 0 && x->row_kl[r] / (double)x->row_n[r] > bm)
                bm = x->row_kl[r] / (double)x->row_n[r], best = r;
        if (best < 0) break;
        taken[best] = 1;
        int32_t ids[64];
        size_t n = 0;
        for (int t = 0; t < T && n < 64; t++)
            if (pk->mask[(size_t)best * T + t]) ids[n++] = pk->ids[(size_t)best * T + t];
        char *text = NULL;
        size_t len = 0;
        if ((st = reap_tok_decode(tok, ids, n, &text, &len))) break;
        char *ex = excerpt(text, len, 120);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "row", best);
        cJSON_AddNumberToObject(o, "kl_mean", bm);
        cJSON_AddNumberToObject(o, "positions", (double)x->row_n[best]);
        cJSON_AddStringToObject(o, "excerpt", ex);
        cJSON_AddItemToArray(arr, o);
        free(ex), free(text);
    }
    free(taken);
    return st;
}

// Adds position i0 + i's numbers res of model j (v[j]) to its sums, and the original's to ref once.
static void account(variant *v, int j, const reap_eval_pos *res, int P, int64_t i0, const int64_t *pos,
                    const reap_packed *pk, acc *ref, int n_cats) {
    variant *x = &v[j];
    const int T = pk->seq_len;
    for (int i = 0; i < P; i++) {  // in position order: the sums do not depend on the threads
        int64_t q = pos[i0 + i];
        int c = pk->cat && pk->cat[q] < n_cats ? pk->cat[q] : n_cats;
        if (c < n_cats) add_acc(&x->cat[c], &res[i]);
        add_acc(&x->cat[n_cats], &res[i]);
        x->kl_pos[i0 + i] = res[i].kl;
        x->row_kl[q / T] += res[i].kl, x->row_n[q / T]++;
        if (j == 0) {
            if (c < n_cats) ref[c].n++, ref[c].ce_p += res[i].ce_p;
            ref[n_cats].n++, ref[n_cats].ce_p += res[i].ce_p;
        }
    }
}

// Final norm + lm_head of the counted positions, chunk by chunk, and the metrics per position.
static int compare_logits(const reap_ckpt *oc, const reap_m2_config *m, const float *h0, variant *v, int nv,
                          const int64_t *pos, int64_t N, const reap_packed *pk, int chunk, acc *ref, int n_cats) {
    const int H = m->hidden, V = m->vocab;
    float *hc = reap_xmalloc(sizeof(float) * (size_t)chunk * H);
    float *zp = reap_xmalloc(sizeof(float) * (size_t)chunk * V), *zq = reap_xmalloc(sizeof(float) * (size_t)chunk * V);
    reap_eval_pos *res = reap_xmalloc(sizeof *res * (size_t)chunk);
    int st = REAP_OK;
    reap_progress bar;
    reap_progress_begin(&bar, "logits", "position", N, 0, 0);
    for (int64_t i0 = 0; i0 < N && !st; i0 += chunk) {
        int P = (int)(N - i0 < chunk ? N - i0 : chunk);
        for (int i = 0; i < P; i++) memcpy(hc + (size_t)i * H, h0 + (size_t)pos[i0 + i] * H, sizeof(float) * H);
        if ((st = reap_logits_cpu(oc, m, hc, P, zp))) break;
        for (int j = 0; j < nv && !st; j++) {
            variant *x = &v[j];
            for (int i = 0; i < P; i++) memcpy(hc + (size_t)i * H, x->h + (size_t)pos[i0 + i] * H, sizeof(float) * H);
            if ((st = reap_logits_cpu(x->c ? x->c : oc, m, hc, P, zq))) break;
#pragma omp parallel for schedule(dynamic, 1)
            for (int i = 0; i < P; i++)
                reap_eval_position(zp + (size_t)i * V, zq + (size_t)i * V, V, pk->ids[pos[i0 + i] + 1], &res[i]);
            account(v, j, res, P, i0, pos, pk, ref, n_cats);
        }
        reap_progress_add(&bar, P, 0, NULL);
    }
    reap_progress_end(&bar);
    if (!st) reap_verbose("logits: %lld positions x %d models compared in %.1f s", (long long)N, 1 + nv, reap_now() - bar.t0);
    free(hc), free(zp), free(zq), free(res);
    return st;
}

// compare_logits on one GPU (kernels/gpu.h, reap_gpu_head): every model's normed positions of a
// chunk go up together and one lm_head GEMM per vocabulary slab serves them all: every model has
// the original's lm_head, byte for byte (reap_eval_check_pair refused any other). *fallback = 1
// when the GPU cannot hold it: the caller then compares on the CPU. Final norms are each model's own.
static int compare_logits_gpu(const reap_ckpt *oc, const reap_m2_config *m, const float *h0, variant *v, int nv,
                              const int64_t *pos, int64_t N, const reap_packed *pk, acc *ref, int n_cats, int device,
                              size_t mem_cap, int *fallback) {
    const int H = m->hidden, V = m->vocab, nm = nv + 1;
    const reap_ckpt_tensor *t;
    *fallback = 0;
    int st = reap_head_tensor(oc, m, &t);
    if (st) return st;
    float *nw = reap_xmalloc(sizeof(float) * (size_t)nm * H);
    for (int k = 0; k < nm && !st; k++) st = reap_final_norm_weight(k && v[k - 1].c ? v[k - 1].c : oc, m, nw + (size_t)k * H);
    reap_gpu_head *g = NULL;
    if (!st && (st = reap_gpu_head_open(device, mem_cap, V, H, nm, N < 65536 ? (int)N : 65536, &g)) == REAP_ENOMEM) {
        reap_warn("%s: logits compared on the CPU", reap_err_msg());
        *fallback = 1, st = REAP_OK;
    }
    if (st || *fallback) {
        free(nw);
        return st;
    }
    double t0 = reap_now();
    const size_t esz = reap_dtype_size(t->t->dtype);
    enum { VB = 4096 };
    uint8_t *raw = reap_xmalloc((size_t)VB * H * esz);
    float *f = reap_xmalloc(sizeof(float) * (size_t)VB * H);
    for (int v0 = 0; v0 < V && !st; v0 += VB) {
        int n = V - v0 < VB ? V - v0 : VB;
        if ((st = reap_st_read(oc->shards[t->shard], t->t, (uint64_t)v0 * H * esz, (uint64_t)n * H * esz, raw))) break;
        reap_dtype_rows_to_f32(t->t->dtype, raw, n, H, f);  // a float dtype: reap_head_tensor checked it
        st = reap_gpu_head_upload(g, v0, n, f);
    }
    free(raw), free(f);
    const int P = reap_gpu_head_positions_per_chunk(g);
    float *x = reap_gpu_head_input(g);
    reap_eval_state *es = reap_xmalloc(sizeof *es * (size_t)nv * P);
    reap_eval_pos *res = reap_xmalloc(sizeof *res * (size_t)P);
    int32_t *tg = reap_xmalloc(sizeof *tg * (size_t)P);
    if (!st) reap_info("logits: on GPU %d, %d positions x %d models a chunk (lm_head in TF32, uploaded in %.1f s)", device,
                       P, nm, reap_now() - t0);
    reap_progress bar;
    reap_progress_begin(&bar, "logits", "position", N, 0, 0);
    for (int64_t i0 = 0; i0 < N && !st; i0 += P) {
        const int Pc = (int)(N - i0 < P ? N - i0 : P);
#pragma omp parallel for schedule(static)
        for (int r = 0; r < nm * Pc; r++) {
            const int k = r / Pc, i = r % Pc;
            const float *src = (k ? v[k - 1].h : h0) + (size_t)pos[i0 + i] * H;
            reap_cpu_rmsnorm(src, 1, H, H, nw + (size_t)k * H, m->rms_eps, x + (size_t)r * H, H);
        }
        for (int i = 0; i < Pc; i++) tg[i] = pk->ids[pos[i0 + i] + 1];
        if ((st = reap_gpu_head_compare(g, Pc, tg, es))) break;
        for (int j = 0; j < nv; j++) {
            for (int i = 0; i < Pc; i++) reap_eval_state_finish(&es[(size_t)j * Pc + i], &res[i]);
            account(v, j, res, Pc, i0, pos, pk, ref, n_cats);
        }
        reap_progress_add(&bar, Pc, 0, NULL);
    }
    reap_progress_end(&bar);
    if (!st) reap_verbose("logits: %lld positions x %d models compared on GPU %d in %.1f s", (long long)N, nm, device,
                          reap_now() - bar.t0);
    reap_gpu_head_close(g);
    free(nw), free(es), free(res), free(tg);
    return st;
}

static void variant_free(variant *x, int L) {
    free(x->name), free(x->kept), free(x->drop), free(x->drop_rows);
    reap_big_free(x->h, x->h_bytes);
    cJSON_Delete(x->desc);
    if (x->stats)
        for (int l = 0; l < L; l++) reap_layer_stats_free(&x->stats[l]);
    free(x->stats), free(x->kl_pos), free(x->cat), free(x->row_kl), free(x->row_n);
    reap_ckpt_close(x->c);
}

static cJSON *kl_json(double *kl, int64_t N, const acc *all) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "mean", all->n ? all->kl / (double)all->n : 0);
    const char *names[] = {"p50", "p90", "p99", "max"};
    const double qs[] = {0.5, 0.9, 0.99, 1.0};
    for (int i = 0; i < 4; i++) cJSON_AddNumberToObject(o, names[i], N ? reap_eval_quantile(kl, (size_t)N, qs[i]) : 0);
    return o;
}

int reap_eval_run(const char *orig, const char *const *others, int n_others, const reap_eval_params *p, cJSON **out) {
    *out = NULL;
    const int whatif = p->scores != NULL;
    if (whatif && n_others) return reap_fail(REAP_EUSAGE, "reap eval: --scores (what-if) takes no pruned checkpoints");
    if (!whatif && n_others == 0)
        return reap_fail(REAP_EUSAGE, "reap eval: give a pruned checkpoint to compare, or --scores and --ratio");
    const int nv = whatif ? p->n_crits * p->n_ratios : n_others;
    if (nv < 1 || nv > 63) return reap_fail(REAP_EUSAGE, "reap eval: %d models to compare: 1 to 63", nv);
    if (p->threads > 0) omp_set_num_threads(p->threads);
    if (p->device != REAP_DEVICE_CPU) reap_gpu_prestart_begin(p->gpus, p->n_gpus);  // beside the tokenising
    reap_ckpt *oc = NULL;
    reap_m2_config m;
    int st = open_model(orig, &oc, &m);
    if (st) return st;
    const int L = m.n_layers, E = m.n_experts, H = m.hidden;
    char fp[65];
    variant *v = reap_xcalloc((size_t)nv, sizeof *v);
    reap_packed pk = {0};
    reap_tokenizer *tok = NULL;
    float *h0 = NULL;
    size_t h0_bytes = 0;
    reap_layer_stats *s0 = NULL;
    int64_t *pos = NULL, N = 0;
    acc *ref = NULL;
    cJSON *r = NULL;
    if ((st = reap_stats_fingerprint(oc, &m, fp))) goto done;
    if (whatif) st = plan_variants(oc, &m, p, v);
    for (int i = 0; i < n_others && !st; i++) {
        v[i].name = reap_xstrdup(others[i]);
        if (!(st = open_model(others[i], &v[i].c, &v[i].cfg)))
            st = reap_eval_check_pair(oc, &m, fp, v[i].c, &v[i].cfg, &v[i].kept);
        v[i].K = v[i].cfg.n_experts;
        v[i].desc = cJSON_CreateObject();
        cJSON_AddStringToObject(v[i].desc, "path", others[i]);
    }
    if (st) goto done;

    // the rows
    reap_pack_params pp = reap_pack_default_params();
    pp.seq_len = p->seq_len, pp.rows = p->rows, pp.pack = p->pack, pp.seed = p->seed;
    const char *const *specs = p->n_calib ? p->calib : default_eval_calib;
    const int n_specs = p->n_calib ? p->n_calib : 1;
    st = reap_calib_pack_model(orig, specs, n_specs, &pp, &pk);
    reap_gpu_prestart_end();
    if (st) goto done;
    const int R = pk.rows, T = pk.seq_len, nc = pk.n_cats;
    for (int64_t i = 0; i < (int64_t)R * T; i++)
        if (i % T + 1 < T && pk.mask[i] && pk.mask[i + 1]) N++;
    pos = reap_xmalloc(sizeof *pos * (size_t)(N ? N : 1));
    for (int64_t i = 0, k = 0; i < (int64_t)R * T; i++)
        if (i % T + 1 < T && pk.mask[i] && pk.mask[i + 1]) pos[k++] = i;
    if (N == 0) {
        st = reap_fail(REAP_EINVAL, "evaluation rows: no position has a next token of the same sample");
        goto done;
    }

    // memory: decided and printed before anything big is allocated
    reap_device dev = p->device == REAP_DEVICE_AUTO ? (reap_gpu_count() > 0 ? REAP_DEVICE_CUDA : REAP_DEVICE_CPU)
                                                      : p->device;
    size_t hb = reap_eval_stream_bytes(R, T, H), layer = 0, avail = 0;
    if ((st = reap_layer_bytes(oc, &m, 0, &layer))) goto done;
    const int streams = whatif ? 1 + nv : 1 + nv;  // checkpoint mode keeps every final h for the comparison
    size_t ws = reap_forward_workspace_bytes(&m, R, T, omp_get_max_threads());
    size_t logits = 2 * (size_t)p->chunk * m.vocab * 4 + (size_t)p->chunk * H * 4;
    size_t perpos = (size_t)nv * (size_t)N * 8 + (size_t)R * T * 14;
    // The CUDA libraries' host memory (0 in a CPU-only build) is part of the process's peak, so of the
    // estimate and of what --mem bounds; MemAvailable is compared with the rest only: those
    // libraries are resident already, so MemAvailable has them counted out.
    const size_t runtime = REAP_GPU_RUNTIME_HOST_BYTES;
    const size_t read_buf = reap_layer_read_buffer_bytes(oc, &m, 0, &p->read);
    size_t need = (size_t)streams * hb + 2 * layer + read_buf + ws + logits + perpos + runtime;
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], g[64] = "";
    if (runtime) snprintf(g, sizeof g, " + CUDA libraries %s", reap_fmt_bytes((double)runtime, b1, sizeof b1));
    int have = p->mem_cap ? (avail = p->mem_cap, 1) : mem_available(&avail);
    reap_info("eval %s: %d model(s) against the original, %d rows x %d tokens (%lld positions), %s", orig, nv, R, T,
              (long long)N, reap_device_name(dev));
    reap_info("memory: %s = hidden states %s per model x %d + two layers %s + read buffers %s + workspace %s + logits %s%s",
              reap_fmt_bytes((double)need, b1, sizeof b1), reap_fmt_bytes((double)hb, b2, sizeof b2), streams,
              reap_fmt_bytes(2.0 * layer, b3, sizeof b3), reap_fmt_bytes((double)read_buf, b6, sizeof b6),
              reap_fmt_bytes((double)ws, b4, sizeof b4),
              reap_fmt_bytes((double)logits, b5, sizeof b5), g);
    if (have && (p->mem_cap ? need : need - runtime) > avail) {
        st = reap_fail(REAP_ENOMEM, "eval: %d models need %s (hidden states %s each) but %s is available%s: use fewer "
                       "ratios or criteria, --rows or --seq-len", streams, reap_fmt_bytes((double)need, b1, sizeof b1),
                       reap_fmt_bytes((double)hb, b2, sizeof b2), reap_fmt_bytes((double)avail, b3, sizeof b3),
                       p->mem_cap ? " (--mem)" : " (MemAvailable)");
        goto done;
    }

    // the layers
    h0 = reap_big_alloc(hb);
    h0_bytes = hb;
    s0 = reap_xcalloc((size_t)L, sizeof *s0);
    for (int l = 0; l < L; l++) reap_layer_stats_init(&s0[l], E);
    for (int i = 0; i < nv; i++) {
        variant *x = &v[i];
        x->h = reap_big_alloc(hb);
        x->h_bytes = hb;
        x->stats = reap_xcalloc((size_t)L, sizeof *x->stats);
        for (int l = 0; l < L; l++) reap_layer_stats_init(&x->stats[l], x->c ? x->K : E);
        x->kl_pos = reap_xcalloc((size_t)N, sizeof(double));
        x->cat = reap_xcalloc((size_t)nc + 1, sizeof(acc));
        x->row_kl = reap_xcalloc((size_t)R, sizeof(double));
        x->row_n = reap_xcalloc((size_t)R, sizeof(int64_t));
    }
    reap_pipeline_params plp = reap_pipeline_default_params();
    plp.device = dev, plp.router = REAP_ROUTER_MODEL, plp.cancel = p->cancel, plp.read = p->read;
    plp.gpu.devices = p->gpus, plp.gpu.n_devices = p->n_gpus, plp.gpu.mem_cap = p->gpu_mem;
    plp.gpu.hidden = p->gpu_hidden;  // every stream's final h is read on the host after the run only
    eval_progress ep = {.n_layers = L};
    plp.on_layer = on_layer, plp.ctx = &ep;
    reap_progress_begin(&ep.bar, "eval", "layer", (int64_t)L * (whatif ? 1 : 1 + nv), 0, 0);
    double t0 = reap_now();
    if (whatif) {
        reap_pipeline_stream *ss = reap_xcalloc((size_t)nv + 1, sizeof *ss);
        ss[0] = (reap_pipeline_stream){h0, s0, NULL};
        for (int i = 0; i < nv; i++) ss[i + 1] = (reap_pipeline_stream){v[i].h, v[i].stats, v[i].drop_rows};
        ep.what = "original + what-if variants";
        st = reap_pipeline_run_streams(oc, &m, R, T, nv + 1, ss, pk.mask, pk.ids, 0, &plp, NULL);
        free(ss);
    } else {
        ep.what = orig;
        st = reap_pipeline_run(oc, &m, R, T, h0, pk.mask, pk.ids, 0, &plp, s0, NULL);
        for (int i = 0; i < nv && !st; i++) {
            ep.what = v[i].name;
            st = reap_pipeline_run(v[i].c, &v[i].cfg, R, T, v[i].h, pk.mask, pk.ids, 0, &plp, v[i].stats, NULL);
        }
    }
    reap_progress_end(&ep.bar);
    if (st) goto done;
    double t_layers = reap_now() - t0;

    // the logits
    ref = reap_xcalloc((size_t)nc + 1, sizeof *ref);
    t0 = reap_now();
    int fallback = 1;
    if (dev == REAP_DEVICE_CUDA &&
        (st = compare_logits_gpu(oc, &m, h0, v, nv, pos, N, &pk, ref, nc, p->n_gpus ? p->gpus[0] : 0, p->gpu_mem,
                                 &fallback)))
        goto done;
    if (fallback && (st = compare_logits(oc, &m, h0, v, nv, pos, N, &pk, p->chunk > 0 ? p->chunk : 64, ref, nc))) goto done;
    double t_logits = reap_now() - t0;
    char *tpath = reap_path_join(orig, "tokenizer.json");
    st = reap_tok_load(tpath, &tok);
    free(tpath);
    if (st) goto done;

    // the document
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "format", "reap-eval");
    cJSON_AddNumberToObject(r, "version", 1);
    cJSON_AddStringToObject(r, "tool", "reap " REAP_VERSION);
    cJSON_AddStringToObject(r, "mode", whatif ? "what-if" : "checkpoints");
    cJSON *o = cJSON_AddObjectToObject(r, "original");
    cJSON_AddStringToObject(o, "path", orig);
    cJSON_AddStringToObject(o, "fingerprint", fp);
    cJSON_AddNumberToObject(o, "n_experts", E);
    cJSON_AddNumberToObject(o, "n_layers", L);
    if (whatif) {
        char sh[65];
        if ((st = reap_sha256_file(p->scores, sh))) goto done;
        cJSON *s = cJSON_AddObjectToObject(r, "scores");
        cJSON_AddStringToObject(s, "path", p->scores);
        cJSON_AddStringToObject(s, "sha256", sh);
    }
    cJSON *rows = cJSON_AddObjectToObject(r, "rows");
    cJSON_AddItemToObject(rows, "sources", cJSON_CreateStringArray(specs, n_specs));
    cJSON_AddNumberToObject(rows, "rows", R);
    cJSON_AddNumberToObject(rows, "seq_len", T);
    cJSON_AddNumberToObject(rows, "seed", (double)p->seed);
    cJSON_AddBoolToObject(rows, "pack", p->pack != 0);
    cJSON_AddNumberToObject(rows, "positions", (double)N);
    cJSON_AddItemToObject(rows, "categories", cJSON_CreateStringArray((const char *const *)pk.cat_names, nc));
    cJSON *run = cJSON_AddObjectToObject(r, "run");
    cJSON_AddStringToObject(run, "device", reap_device_name(dev));
    cJSON_AddNumberToObject(run, "layers_seconds", t_layers);
    cJSON_AddNumberToObject(run, "logits_seconds", t_logits);
    cJSON_AddStringToObject(run, "logits_device", fallback ? "cpu" : "cuda");
    cJSON_AddNumberToObject(run, "memory_estimate", (double)need);
    cJSON_AddNumberToObject(run, "memory_hidden_per_model", (double)hb);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) cJSON_AddNumberToObject(run, "peak_rss", (double)ru.ru_maxrss * 1024);
    cJSON *rf = cJSON_AddObjectToObject(r, "reference");
    cJSON_AddNumberToObject(rf, "ce", ref[nc].ce_p / (double)N);
    cJSON_AddNumberToObject(rf, "ppl", exp(ref[nc].ce_p / (double)N));
    cJSON *rc = cJSON_AddObjectToObject(rf, "by_category");
    for (int c = 0; c < nc; c++) {
        cJSON *x = cJSON_AddObjectToObject(rc, pk.cat_names[c]);
        double n = ref[c].n ? (double)ref[c].n : 1;
        cJSON_AddNumberToObject(x, "positions", (double)ref[c].n);
        cJSON_AddNumberToObject(x, "ce", ref[c].ce_p / n);
        cJSON_AddNumberToObject(x, "ppl", exp(ref[c].ce_p / n));
    }
    cJSON *va = cJSON_AddArrayToObject(r, "variants");
    for (int i = 0; i < nv && !st; i++) {
        variant *x = &v[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToArray(va, e);
        cJSON_AddStringToObject(e, "name", x->name);
        for (cJSON *d = x->desc ? x->desc->child : NULL; d; d = d->next)
            cJSON_AddItemToObject(e, d->string, cJSON_Duplicate(d, 1));
        cJSON_AddNumberToObject(e, "experts_kept", x->K);
        const acc *a = &x->cat[nc];
        double n = (double)a->n;
        cJSON_AddNumberToObject(e, "ce", a->ce_q / n);
        cJSON_AddNumberToObject(e, "ppl", exp(a->ce_q / n));
        cJSON_AddNumberToObject(e, "delta_ce", (a->ce_q - ref[nc].ce_p) / n);
        cJSON_AddNumberToObject(e, "ppl_ratio", exp((a->ce_q - ref[nc].ce_p) / n));
        cJSON_AddItemToObject(e, "kl", kl_json(x->kl_pos, N, a));
        cJSON_AddNumberToObject(e, "top1_agreement", a->agree / n);
        cJSON_AddNumberToObject(e, "top1_out_of_top5", a->out5 / n);
        cJSON *bc = cJSON_AddObjectToObject(e, "by_category");
        for (int c = 0; c < nc; c++) cJSON_AddItemToObject(bc, pk.cat_names[c], cat_json(&x->cat[c], &ref[c]));
        cJSON_AddItemToObject(e, "layers", routing_json(x, s0, L, E));
        st = worst_rows_json(x, &pk, tok, p->worst, cJSON_AddArrayToObject(e, "worst_rows"));
    }
done:
    reap_gpu_prestart_end();  // an early failure: the contexts' thread must not outlive the run
    if (st) cJSON_Delete(r), r = NULL;
    *out = r;
    for (int i = 0; i < nv; i++) variant_free(&v[i], L);
    free(v);
    if (s0)
        for (int l = 0; l < L; l++) reap_layer_stats_free(&s0[l]);
    free(s0), free(pos), free(ref);
    reap_big_free(h0, h0_bytes);
    reap_tok_free(tok);
    reap_packed_free(&pk);
    reap_ckpt_close(oc);
    return st;
}

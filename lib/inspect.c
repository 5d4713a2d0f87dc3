// inspect.c: see inspect.h.
#include "inspect.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

const char *const reap_inspect_kind_names[REAP_KIND_COUNT] = {
    "experts", "attention", "embeddings+lm_head", "router", "norms", "other",
};

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

// Layer index of "<layer_prefix>L.*" below a sane bound, else -1.
static int layer_of(const reap_family *f, const char *name) {
    int l = reap_family_layer_of(f, name);
    return l < 1000000 ? l : -1;
}

static reap_inspect_kind kind_of(const reap_family *f, const char *name) {
    int l = layer_of(f, name);
    const char *rest = l >= 0 ? strchr(name + strlen(f->layer_prefix), '.') + 1 : "";
    const char *dot = strrchr(f->router_gate, '.');  // the router module: "block_sparse_moe.gate."
    if (!strncmp(rest, f->experts, strlen(f->experts)) && l >= 0) return REAP_KIND_EXPERTS;
    if (ends_with(name, "norm.weight")) return REAP_KIND_NORMS;
    if (strstr(name, ".self_attn.")) return REAP_KIND_ATTENTION;
    if (!strcmp(name, "model.embed_tokens.weight") || !strcmp(name, "lm_head.weight")) return REAP_KIND_EMBED;
    if (l >= 0 && ((dot && !strncmp(rest, f->router_gate, (size_t)(dot + 1 - f->router_gate))) ||
                   (f->router_bias && !strcmp(rest, f->router_bias))))
        return REAP_KIND_ROUTER;
    return REAP_KIND_OTHER;
}

static void add_total(reap_inspect_total *t, const char *name, const reap_st_tensor *st) {
    t->tensors++;
    t->bytes += reap_st_nbytes(st);
    if (ends_with(name, "_scale_inv")) t->scale_elems += reap_st_numel(st);
    else t->params += reap_st_numel(st);
}

static void problem(reap_inspect_summary *s, const char *fmt, const char *name, const char *what) {
    if (s->n_problems++ >= 20) return;
    reap_sbuf_printf(&s->problems, fmt, name, what);
    reap_sbuf_puts(&s->problems, "\n");
}

// Checks that name exists with the given shape (cols 0: 1-D) and dtype (-1: any float dtype).
// Returns 1 when present.
static int expect(reap_inspect_summary *s, const reap_ckpt *c, const char *name, int64_t rows, int64_t cols,
                  int dtype) {
    const reap_ckpt_tensor *ct = reap_ckpt_find(c, name);
    if (!ct) {
        problem(s, "%s: missing%s", name, "");
        return 0;
    }
    const reap_st_tensor *t = ct->t;
    int ndim = cols ? 2 : 1;
    if (t->ndim != ndim || t->shape[0] != rows || (cols && t->shape[1] != cols)) {
        char want[128];
        if (cols) snprintf(want, sizeof want, ": shape should be [%lld, %lld]", (long long)rows, (long long)cols);
        else snprintf(want, sizeof want, ": shape should be [%lld]", (long long)rows);
        problem(s, "%s%s", name, want);
    }
    if (dtype >= 0 && (int)t->dtype != dtype) {
        char want[96];
        snprintf(want, sizeof want, ": dtype %s, should be %s", reap_dtype_name(t->dtype), reap_dtype_name(dtype));
        problem(s, "%s%s", name, want);
    } else if (dtype < 0 && !reap_dtype_table[t->dtype].is_float) {
        problem(s, "%s: dtype %s is not a float type", name, reap_dtype_name(t->dtype));
    }
    return 1;
}

// A projection weight: FP8 E4M3 with its block scale when the config says fp8, else any float.
static int expect_proj(reap_inspect_summary *s, const reap_ckpt *c, const char *name, int64_t rows, int64_t cols) {
    const reap_m2_config *g = &s->cfg;
    if (!g->fp8) return expect(s, c, name, rows, cols, -1);
    int n = expect(s, c, name, rows, cols, REAP_DT_F8_E4M3);
    char sn[160];
    snprintf(sn, sizeof sn, "%s_scale_inv", name);
    return n + expect(s, c, sn, (rows + g->block_r - 1) / g->block_r, (cols + g->block_c - 1) / g->block_c, REAP_DT_F32);
}

// Layers 0..n_layers-1, experts 0..n_experts-1 (at most the config's counts).
static int check_layout(reap_inspect_summary *s, const reap_ckpt *c, int n_layers, int n_experts) {
    const reap_m2_config *g = &s->cfg;
    const reap_family *f = g->family;
    int64_t H = g->hidden, I = g->inter, Q = (int64_t)g->n_heads * g->head_dim, KV = (int64_t)g->n_kv_heads * g->head_dim;
    char nm[128];
    int n = expect(s, c, "model.embed_tokens.weight", g->vocab, H, -1) + expect(s, c, "model.norm.weight", H, 0, -1);
    if (!g->tie_embeddings) n += expect(s, c, "lm_head.weight", g->vocab, H, -1);
    for (int L = 0; L < n_layers; L++) {
        n += expect(s, c, reap_family_layer_name(f, nm, L, "input_layernorm.weight"), H, 0, -1);
        n += expect(s, c, reap_family_layer_name(f, nm, L, "post_attention_layernorm.weight"), H, 0, -1);
        n += expect_proj(s, c, reap_family_layer_name(f, nm, L, "self_attn.q_proj.weight"), Q, H);
        n += expect_proj(s, c, reap_family_layer_name(f, nm, L, "self_attn.k_proj.weight"), KV, H);
        n += expect_proj(s, c, reap_family_layer_name(f, nm, L, "self_attn.v_proj.weight"), KV, H);
        n += expect_proj(s, c, reap_family_layer_name(f, nm, L, "self_attn.o_proj.weight"), H, Q);
        if (g->qk_norm) {
            n += expect(s, c, reap_family_layer_name(f, nm, L, "self_attn.q_norm.weight"), Q, 0, -1);
            n += expect(s, c, reap_family_layer_name(f, nm, L, "self_attn.k_norm.weight"), KV, 0, -1);
        }
        n += expect(s, c, reap_family_layer_name(f, nm, L, f->router_gate), g->n_experts, H, -1);
        if (g->use_routing_bias && f->router_bias)
            n += expect(s, c, reap_family_layer_name(f, nm, L, f->router_bias), g->n_experts, 0, REAP_DT_F32);
        for (int j = 0; j < n_experts; j++) {
            n += expect_proj(s, c, reap_family_expert_name(f, nm, L, j, f->expert_gate), I, H);
            n += expect_proj(s, c, reap_family_expert_name(f, nm, L, j, f->expert_down), H, I);
            n += expect_proj(s, c, reap_family_expert_name(f, nm, L, j, f->expert_up), I, H);
        }
    }
    return n;
}

// The summary; m is the checkpoint's description, or NULL when config.json is missing or invalid
// (the caller has recorded why as a problem).
static void summarise(const reap_ckpt *c, const reap_m2_config *m, const double *ratios, int n_ratios,
                      reap_inspect_summary *s) {
    if (n_ratios > REAP_INSPECT_MAX_RATIOS) n_ratios = REAP_INSPECT_MAX_RATIOS;
    s->n_shards = c->n_shards;
    s->n_tensors = c->n_tensors;
    if (m) s->cfg = *m, s->has_config = 1;
    // Without a description the tensor names are read as the first family's.
    const reap_family *f = m ? m->family : &reap_families[0];

    // Totals, and per layer the expert and router bytes/params (pruning removes a share of them).
    int max_layer = -1;
    for (int i = 0; i < c->n_tensors; i++) {
        int l = layer_of(f, c->tensors[i].name);
        if (l > max_layer) max_layer = l;
    }
    int nl = max_layer + 1;
    reap_inspect_total *prunable = reap_xcalloc((size_t)(nl > 0 ? nl : 1), sizeof *prunable);
    int *experts = reap_xcalloc((size_t)(nl > 0 ? nl : 1), sizeof *experts);
    for (int i = 0; i < c->n_tensors; i++) {
        const char *name = c->tensors[i].name;
        const reap_st_tensor *t = c->tensors[i].t;
        reap_inspect_kind k = kind_of(f, name);
        add_total(&s->all, name, t);
        add_total(&s->by_kind[k], name, t);
        add_total(&s->by_dtype[t->dtype], name, t);
        int l = layer_of(f, name), L, J, off;
        if (l >= 0 && (k == REAP_KIND_EXPERTS || k == REAP_KIND_ROUTER)) add_total(&prunable[l], name, t);
        if (reap_family_parse_expert_name(f, name, &L, &J, &off) && L < nl && J + 1 > experts[L]) experts[L] = J + 1;
    }
    s->n_layers_seen = nl;
    for (int l = 0; l < nl; l++)
        if (experts[l] > s->n_experts_seen) s->n_experts_seen = experts[l];

    if (s->has_config) {
        // The layout loop runs over the layers and experts the tensors have, plus one (whose missing
        // tensors it reports), never over the config's counts alone: a config.json claiming 1e9
        // experts must fail at once, not after 1e9 x layers look-ups.
        int nlc = s->cfg.n_layers < nl + 1 ? s->cfg.n_layers : nl + 1;
        int nec = s->cfg.n_experts < s->n_experts_seen + 1 ? s->cfg.n_experts : s->n_experts_seen + 1;
        int found = check_layout(s, c, nlc, nec);
        s->n_unexpected = c->n_tensors - found;
        if (s->cfg.n_experts != s->n_experts_seen || s->cfg.n_layers != nl) {
            char what[160];
            snprintf(what, sizeof what, ": config says %d layers x %d experts, tensors have %d x %d", s->cfg.n_layers,
                     s->cfg.n_experts, nl, s->n_experts_seen);
            problem(s, "%s%s", "config.json", what);
        }
    }

    // Pruning at each ratio: floor(E * ratio) experts per layer leave, with their router rows.
    s->n_ratios = n_ratios;
    for (int r = 0; r < n_ratios; r++) {
        reap_inspect_pruned *p = &s->pruned[r];
        int E = s->has_config ? s->cfg.n_experts : s->n_experts_seen;
        p->ratio = ratios[r];
        p->pruned = (int)(E * ratios[r] + 1e-9);
        p->kept = E - p->pruned;
        p->bytes = s->all.bytes;
        p->params = s->all.params;
        for (int l = 0; l < nl && E > 0; l++) {
            p->bytes -= (uint64_t)((unsigned __int128)prunable[l].bytes * (unsigned)p->pruned / (unsigned)E);
            p->params -= (int64_t)((__int128)prunable[l].params * p->pruned / E);
        }
    }
    free(prunable);
    free(experts);
}

int reap_inspect_run(const reap_ckpt *c, const double *ratios, int n_ratios, reap_inspect_summary *s) {
    memset(s, 0, sizeof *s);
    reap_m2_config m;
    int ok = reap_m2_config_load(c, &m) == REAP_OK;
    if (!ok) problem(s, "%s%s", reap_err_msg(), "");  // the message already names the file
    summarise(c, ok ? &m : NULL, ratios, n_ratios, s);
    return REAP_OK;
}

int reap_inspect_problems_status(const reap_inspect_summary *s, const char *dir) {
    if (!s->n_problems) return REAP_OK;
    const char *first = s->problems.p ? s->problems.p : "";
    const char *nl = strchr(first, '\n');
    return reap_fail(REAP_EINVAL, "%s: %d layout problem%s (first: %.*s)", dir, s->n_problems,
                     s->n_problems == 1 ? "" : "s", (int)(nl ? nl - first : (long)strlen(first)), first);
}

int reap_inspect_check(const reap_ckpt *c, const reap_m2_config *m) {
    reap_inspect_summary s;
    memset(&s, 0, sizeof s);
    summarise(c, m, NULL, 0, &s);
    int st = reap_inspect_problems_status(&s, c->dir);
    reap_inspect_free(&s);
    return st;
}

void reap_inspect_free(reap_inspect_summary *s) {
    if (s) reap_sbuf_free(&s->problems);
}

static const char *gb(uint64_t b, char *buf, size_t cap) { return reap_fmt_bytes((double)b, buf, cap); }

// "228.690 B", "12.583 M", "4096" (parameter counts).
static const char *count(int64_t n, char *buf, size_t cap) {
    if (n >= 1000000000) snprintf(buf, cap, "%.3f B", n / 1e9);
    else if (n >= 1000000) snprintf(buf, cap, "%.3f M", n / 1e6);
    else if (n >= 1000) snprintf(buf, cap, "%.3f K", n / 1e3);
    else snprintf(buf, cap, "%lld", (long long)n);
    return buf;
}

void reap_inspect_print(const reap_inspect_summary *s, const char *dir, FILE *out) {
    char b1[32], c1[32];
    const reap_m2_config *g = &s->cfg;
    fprintf(out, "checkpoint    %s\n", dir);
    if (s->has_config)
        fprintf(out, "architecture  %s, model_type %s\n", g->architecture[0] ? g->architecture : "(unknown)",
                g->model_type);
    else
        fprintf(out, "architecture  (unknown)\n");
    if (s->has_config) {
        fprintf(out, "layers        %d\nexperts       %d per layer, top-%d (%s routing%s)\n", g->n_layers, g->n_experts,
                g->top_k, g->scoring_sigmoid ? "sigmoid" : "softmax", g->use_routing_bias ? " + bias" : "");
        fprintf(out, "sizes         hidden %d, intermediate %d, heads %d/%d x %d, rotary %d, vocab %d\n", g->hidden,
                g->inter, g->n_heads, g->n_kv_heads, g->head_dim, g->rotary_dim, g->vocab);
        if (g->fp8) fprintf(out, "quantization  fp8 e4m3, weight_scale_inv blocks %dx%d\n", g->block_r, g->block_c);
    } else {
        fprintf(out, "layers        %d (from tensor names)\nexperts       %d per layer (from tensor names)\n",
                s->n_layers_seen, s->n_experts_seen);
    }
    fprintf(out, "tensors       %d in %d shard%s, %llu bytes (%s) of tensor data\n", s->n_tensors, s->n_shards,
            s->n_shards == 1 ? "" : "s", (unsigned long long)s->all.bytes, gb(s->all.bytes, b1, sizeof b1));
    fprintf(out, "parameters    %lld = %s (FP8 block scales not counted: %lld scale values)\n\n",
            (long long)s->all.params, count(s->all.params, c1, sizeof c1), (long long)s->all.scale_elems);
    fprintf(out, "%-20s %8s %16s %11s %14s\n", "dtype", "tensors", "bytes", "", "params");
    for (int d = 0; d < REAP_DT_COUNT; d++) {
        const reap_inspect_total *t = &s->by_dtype[d];
        if (!t->tensors) continue;
        fprintf(out, "%-20s %8d %16llu %11s %14lld\n", reap_dtype_name((reap_dtype)d), t->tensors,
                (unsigned long long)t->bytes, gb(t->bytes, b1, sizeof b1), (long long)t->params);
    }
    fprintf(out, "\n%-20s %8s %16s %11s %14s\n", "kind", "tensors", "bytes", "", "params");
    for (int k = 0; k < REAP_KIND_COUNT; k++) {
        const reap_inspect_total *t = &s->by_kind[k];
        if (!t->tensors && k == REAP_KIND_OTHER) continue;
        fprintf(out, "%-20s %8d %16llu %11s %14lld\n", reap_inspect_kind_names[k], t->tensors,
                (unsigned long long)t->bytes, gb(t->bytes, b1, sizeof b1), (long long)t->params);
    }
    fprintf(out, "\n%-20s %8s %16s %11s %14s\n", "after pruning", "experts", "bytes", "", "params");
    for (int r = 0; r < s->n_ratios; r++) {
        const reap_inspect_pruned *p = &s->pruned[r];
        char lab[32];
        snprintf(lab, sizeof lab, "%g%% (-%d/layer)", p->ratio * 100, p->pruned);
        fprintf(out, "%-20s %8d %16llu %11s %14lld %s\n", lab, p->kept, (unsigned long long)p->bytes,
                gb(p->bytes, b1, sizeof b1), (long long)p->params, count(p->params, c1, sizeof c1));
    }
    if (s->n_unexpected) fprintf(out, "\nnote: %d tensor(s) outside the MiniMax-M2 layout\n", s->n_unexpected);
    if (s->n_problems) {
        fprintf(out, "\nproblems (%d):\n%s", s->n_problems, s->problems.p ? s->problems.p : "");
        if (s->n_problems > 20) fprintf(out, "... and %d more\n", s->n_problems - 20);
    } else if (s->has_config) {
        fprintf(out, "\nlayout        every tensor the config implies is present with the right shape and dtype\n");
    }
}

static cJSON *total_json(const reap_inspect_total *t) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "tensors", t->tensors);
    cJSON_AddNumberToObject(o, "bytes", (double)t->bytes);
    cJSON_AddNumberToObject(o, "params", (double)t->params);
    cJSON_AddNumberToObject(o, "scale_elems", (double)t->scale_elems);
    return o;
}

cJSON *reap_inspect_json(const reap_inspect_summary *s, const char *dir) {
    const reap_m2_config *g = &s->cfg;
    cJSON *o;
    if (s->has_config) {
        o = reap_m2_config_json(g, dir);
        cJSON_AddStringToObject(o, "family", g->family->name);
        cJSON_AddNumberToObject(o, "vocab_size", g->vocab);
        if (g->fp8) {
            cJSON *b = cJSON_AddArrayToObject(o, "fp8_block");
            cJSON_AddItemToArray(b, cJSON_CreateNumber(g->block_r));
            cJSON_AddItemToArray(b, cJSON_CreateNumber(g->block_c));
        }
    } else {  // sizes from the tensor names
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "n_layers", s->n_layers_seen);
        cJSON_AddNumberToObject(o, "n_experts", s->n_experts_seen);
        cJSON_AddStringToObject(o, "path", dir);
    }
    cJSON_AddNumberToObject(o, "shards", s->n_shards);
    cJSON_AddNumberToObject(o, "tensors", s->n_tensors);
    cJSON_AddNumberToObject(o, "bytes", (double)s->all.bytes);
    cJSON_AddNumberToObject(o, "params", (double)s->all.params);
    cJSON_AddNumberToObject(o, "scale_elems", (double)s->all.scale_elems);
    cJSON *d = cJSON_AddObjectToObject(o, "dtypes");
    for (int i = 0; i < REAP_DT_COUNT; i++)
        if (s->by_dtype[i].tensors) cJSON_AddItemToObject(d, reap_dtype_name((reap_dtype)i), total_json(&s->by_dtype[i]));
    cJSON *k = cJSON_AddObjectToObject(o, "kinds");
    for (int i = 0; i < REAP_KIND_COUNT; i++) cJSON_AddItemToObject(k, reap_inspect_kind_names[i], total_json(&s->by_kind[i]));
    cJSON *pr = cJSON_AddArrayToObject(o, "pruned");
    for (int r = 0; r < s->n_ratios; r++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "ratio", s->pruned[r].ratio);
        cJSON_AddNumberToObject(p, "pruned_per_layer", s->pruned[r].pruned);
        cJSON_AddNumberToObject(p, "experts", s->pruned[r].kept);
        cJSON_AddNumberToObject(p, "bytes", (double)s->pruned[r].bytes);
        cJSON_AddNumberToObject(p, "params", (double)s->pruned[r].params);
        cJSON_AddItemToArray(pr, p);
    }
    cJSON_AddNumberToObject(o, "unexpected_tensors", s->n_unexpected);
    cJSON *probs = cJSON_AddArrayToObject(o, "problems");
    for (const char *line = s->problems.p; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char *t = reap_xasprintf("%.*s", (int)n, line);
        cJSON_AddItemToArray(probs, cJSON_CreateString(t));
        free(t);
        line = nl ? nl + 1 : NULL;
    }
    cJSON_AddNumberToObject(o, "n_problems", s->n_problems);
    return o;
}

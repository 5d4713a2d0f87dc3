// m2config.c: config.json -> reap_m2_config (the model description), refusing anything the forward
// pass and the rewriter do not implement (spec minimax-m2.md sections 1 and 7); the family table;
// tensor names; the description's one JSON form.
#include "m2config.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const cJSON *get(const cJSON *o, const char *key) {
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

// A required positive integer key.
static int get_pos_int(const cJSON *cfg, const char *path, const char *key, int *out) {
    const cJSON *v = get(cfg, key);
    if (!v)
        return reap_fail(REAP_EINVAL, "%s: missing key \"%s\"", path, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 ||
        v->valuedouble > INT_MAX)
        return reap_fail(REAP_EINVAL, "%s: \"%s\" must be a positive integer (got %s)", path, key,
                         cJSON_IsNumber(v) ? "a number out of range" : "a non-number");
    *out = (int)v->valuedouble;
    return REAP_OK;
}

// An optional boolean key (absent -> dflt).
static int get_bool(const cJSON *cfg, const char *path, const char *key, int dflt, int *out) {
    const cJSON *v = get(cfg, key);
    if (!v || cJSON_IsNull(v)) {
        *out = dflt;
        return REAP_OK;
    }
    if (!cJSON_IsBool(v))
        return reap_fail(REAP_EINVAL, "%s: \"%s\" must be true or false", path, key);
    *out = cJSON_IsTrue(v);
    return REAP_OK;
}

// A number found at the top level and/or inside rope_parameters; they must agree when both exist.
static int get_rope_number(const cJSON *cfg, const char *path, const char *key, int *found, double *out) {
    const cJSON *top = get(cfg, key);
    const cJSON *rp = get(cfg, "rope_parameters");
    const cJSON *in = cJSON_IsObject(rp) ? get(rp, key) : NULL;
    if (top && cJSON_IsNull(top))
        top = NULL;
    if (in && cJSON_IsNull(in))
        in = NULL;
    if ((top && !cJSON_IsNumber(top)) || (in && !cJSON_IsNumber(in)))
        return reap_fail(REAP_EINVAL, "%s: \"%s\" must be a number", path, key);
    if (top && in && top->valuedouble != in->valuedouble)
        return reap_fail(REAP_EINVAL, "%s: \"%s\" is %g at the top level but %g in rope_parameters", path, key,
                         top->valuedouble, in->valuedouble);
    *found = top || in;
    if (*found)
        *out = top ? top->valuedouble : in->valuedouble;
    return REAP_OK;
}

static int parse_rope(const cJSON *cfg, const char *path, reap_m2_config *m) {
    int have_factor, have_theta, st;
    double factor = 0, theta = 0;
    if ((st = get_rope_number(cfg, path, "partial_rotary_factor", &have_factor, &factor)) != REAP_OK)
        return st;
    if ((st = get_rope_number(cfg, path, "rope_theta", &have_theta, &theta)) != REAP_OK)
        return st;
    const cJSON *rd = get(cfg, "rotary_dim");
    if (rd && cJSON_IsNull(rd))
        rd = NULL;
    if (rd) {
        if ((st = get_pos_int(cfg, path, "rotary_dim", &m->rotary_dim)) != REAP_OK)
            return st;
        // transformers honours only partial_rotary_factor (spec 7): a disagreement would make
        // our forward pass and theirs rotate different widths.
        if (have_factor && fabs(factor * m->head_dim - m->rotary_dim) > 1e-6)
            return reap_fail(REAP_EINVAL,
                             "%s: rotary_dim %d disagrees with partial_rotary_factor %g x head_dim %d = %g", path,
                             m->rotary_dim, factor, m->head_dim, factor * m->head_dim);
    } else if (have_factor) {
        double r = factor * m->head_dim;
        if (!(factor > 0) || factor > 1 || fabs(r - round(r)) > 1e-6)
            return reap_fail(REAP_EINVAL,
                             "%s: partial_rotary_factor %g x head_dim %d = %g is not a whole number of dimensions in "
                             "(0, head_dim]",
                             path, factor, m->head_dim, r);
        m->rotary_dim = (int)round(r);
    } else {
        return reap_fail(REAP_EINVAL, "%s: missing key \"rotary_dim\" (or partial_rotary_factor)", path);
    }
    if (m->rotary_dim > m->head_dim || m->rotary_dim % 2)
        return reap_fail(REAP_EINVAL, "%s: rotary_dim %d must be even and at most head_dim %d", path, m->rotary_dim,
                         m->head_dim);
    if (!have_theta)
        return reap_fail(REAP_EINVAL, "%s: missing key \"rope_theta\" (top level or in rope_parameters)", path);
    if (!(theta > 0))
        return reap_fail(REAP_EINVAL, "%s: rope_theta %g must be positive", path, theta);
    m->rope_theta = theta;
    return REAP_OK;
}

static int parse_quant(const cJSON *cfg, const char *path, reap_m2_config *m) {
    const cJSON *q = get(cfg, "quantization_config");
    if (!q || cJSON_IsNull(q))
        return REAP_OK;  // unquantised checkpoint (e.g. bf16)
    if (!cJSON_IsObject(q))
        return reap_fail(REAP_EINVAL, "%s: quantization_config is not an object", path);
    const cJSON *qm = get(q, "quant_method");
    if (!cJSON_IsString(qm) || strcmp(qm->valuestring, "fp8") != 0)
        return reap_fail(REAP_EINVAL, "%s: quantization_config.quant_method %s is not supported (only \"fp8\")", path,
                         cJSON_IsString(qm) ? qm->valuestring : "(missing)");
    const cJSON *fmt = get(q, "fmt");
    if (fmt && (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "float8_e4m3fn") != 0))
        return reap_fail(REAP_EINVAL, "%s: quantization_config.fmt %s is not supported (only \"float8_e4m3fn\")", path,
                         cJSON_IsString(fmt) ? fmt->valuestring : "(not a string)");
    const cJSON *wb = get(q, "weight_block_size");
    const cJSON *a = cJSON_GetArrayItem(wb, 0), *b = cJSON_GetArrayItem(wb, 1);
    if (!cJSON_IsArray(wb) || cJSON_GetArraySize(wb) != 2 || !cJSON_IsNumber(a) || !cJSON_IsNumber(b) ||
        a->valuedouble < 1 || b->valuedouble < 1 || a->valuedouble > INT_MAX || b->valuedouble > INT_MAX ||
        a->valuedouble != floor(a->valuedouble) || b->valuedouble != floor(b->valuedouble))
        return reap_fail(REAP_EINVAL, "%s: quantization_config.weight_block_size must be two positive integers",
                         path);
    m->fp8 = 1;
    m->block_r = (int)a->valuedouble;
    m->block_c = (int)b->valuedouble;
    return REAP_OK;
}

// MiniMax-M2's own keys (spec minimax-m2.md sections 1 and 7).
static int parse_minimax_m2(const cJSON *cfg, const char *path, reap_m2_config *m) {
    int st;
    if ((st = parse_rope(cfg, path, m)) != REAP_OK)
        return st;
    const cJSON *sf = get(cfg, "scoring_func");
    if (!sf)
        return reap_fail(REAP_EINVAL, "%s: missing key \"scoring_func\"", path);
    if (!cJSON_IsString(sf) || (strcmp(sf->valuestring, "sigmoid") != 0 && strcmp(sf->valuestring, "softmax") != 0))
        return reap_fail(REAP_EINVAL, "%s: scoring_func %s is not supported (\"sigmoid\" or \"softmax\")", path,
                         cJSON_IsString(sf) ? sf->valuestring : "(not a string)");
    m->scoring_sigmoid = strcmp(sf->valuestring, "sigmoid") == 0;

    if ((st = get_bool(cfg, path, "use_routing_bias", 0, &m->use_routing_bias)) != REAP_OK ||
        (st = get_bool(cfg, path, "use_qk_norm", 0, &m->qk_norm)) != REAP_OK ||
        (st = get_bool(cfg, path, "tie_word_embeddings", 0, &m->tie_embeddings)) != REAP_OK)
        return st;
    if (m->qk_norm) {
        const cJSON *t = get(cfg, "qk_norm_type");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "per_layer") != 0)
            return reap_fail(REAP_EINVAL, "%s: qk_norm_type %s is not supported (only \"per_layer\")", path,
                             cJSON_IsString(t) ? t->valuestring : "(missing)");
    }
    const cJSON *shared = get(cfg, "shared_intermediate_size");
    if (shared && !cJSON_IsNull(shared) && (!cJSON_IsNumber(shared) || shared->valuedouble != 0))
        return reap_fail(REAP_EINVAL, "%s: shared_intermediate_size %g > 0 (a shared expert) is not supported", path,
                         cJSON_IsNumber(shared) ? shared->valuedouble : NAN);
    return REAP_OK;
}

// ---- the family table: one entry per family; a new family is an entry plus its parse function
// (and its forward pass).

const reap_family reap_families[REAP_FAMILY_COUNT] = {
    [REAP_FAMILY_MINIMAX_M2] = {
        .name = "minimax-m2",
        .model_types = {"minimax_m2", "minimax"},
        .keys = {.hidden = "hidden_size", .inter = "intermediate_size", .n_layers = "num_hidden_layers",
                 .n_heads = "num_attention_heads", .n_kv_heads = "num_key_value_heads", .head_dim = "head_dim",
                 .vocab = "vocab_size", .n_experts = "num_local_experts", .top_k = "num_experts_per_tok"},
        .layer_prefix = "model.layers.",
        .experts = "block_sparse_moe.experts.",
        .expert_gate = "w1.weight",
        .expert_down = "w2.weight",
        .expert_up = "w3.weight",
        .router_gate = "block_sparse_moe.gate.weight",
        .router_bias = "block_sparse_moe.e_score_correction_bias",
        .router = REAP_ROUTER_KIND_SIGMOID_BIAS_TOPK,
        .chat = "minimax_m2",
        .parse = parse_minimax_m2,
    },
};

const char *reap_router_kind_name(reap_router_kind k) {
    static const char *const names[REAP_ROUTER_KIND_COUNT] = {"sigmoid+bias-topk-renorm"};
    return (unsigned)k < REAP_ROUTER_KIND_COUNT ? names[k] : "?";
}

const reap_family *reap_family_find(const char *model_type) {
    for (int i = 0; i < REAP_FAMILY_COUNT; i++)
        for (int t = 0; t < REAP_FAMILY_MAX_TYPES && reap_families[i].model_types[t]; t++)
            if (strcmp(reap_families[i].model_types[t], model_type) == 0)
                return &reap_families[i];
    return NULL;
}

// "\"minimax_m2\", \"minimax\", ..." for messages.
static void supported_types(char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < REAP_FAMILY_COUNT; i++)
        for (int t = 0; t < REAP_FAMILY_MAX_TYPES && reap_families[i].model_types[t] && n < cap; t++)
            n += (size_t)snprintf(buf + n, cap - n, "%s\"%s\"", n ? ", " : "", reap_families[i].model_types[t]);
}

// ---- the description

int reap_m2_config_parse(const cJSON *cfg, const char *path, reap_m2_config *out) {
    reap_m2_config m;
    memset(&m, 0, sizeof m);
    int st;
    if (!cJSON_IsObject(cfg))
        return reap_fail(REAP_EINVAL, "%s: config is not a JSON object", path);
    const cJSON *mt = get(cfg, "model_type");
    if (!cJSON_IsString(mt))
        return reap_fail(REAP_EINVAL, "%s: missing key \"model_type\"", path);
    const reap_family *f = reap_family_find(mt->valuestring);
    if (!f || strlen(mt->valuestring) >= sizeof m.model_type) {
        char types[256];
        supported_types(types, sizeof types);
        return reap_fail(REAP_EINVAL, "%s: model_type \"%s\" is not supported (expected %s)", path, mt->valuestring,
                         types);
    }
    m.family = f;
    snprintf(m.model_type, sizeof m.model_type, "%s", mt->valuestring);
    const cJSON *arch = get(cfg, "architectures");
    const cJSON *a0 = cJSON_IsArray(arch) ? cJSON_GetArrayItem(arch, 0) : NULL;
    if (cJSON_IsString(a0)) {
        if (strlen(a0->valuestring) >= sizeof m.architecture)
            return reap_fail(REAP_EINVAL, "%s: architectures[0] is longer than %zu characters", path,
                             sizeof m.architecture - 1);
        snprintf(m.architecture, sizeof m.architecture, "%s", a0->valuestring);
    }

    const struct {
        const char *key;
        int *dst;
    } ints[] = {
        {f->keys.hidden, &m.hidden},         {f->keys.inter, &m.inter},
        {f->keys.n_layers, &m.n_layers},     {f->keys.n_heads, &m.n_heads},
        {f->keys.n_kv_heads, &m.n_kv_heads}, {f->keys.head_dim, &m.head_dim},
        {f->keys.vocab, &m.vocab},           {f->keys.n_experts, &m.n_experts},
        {f->keys.top_k, &m.top_k},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if ((st = get_pos_int(cfg, path, ints[i].key, ints[i].dst)) != REAP_OK)
            return st;
    if (m.n_heads % m.n_kv_heads)
        return reap_fail(REAP_EINVAL, "%s: %s %d is not a multiple of %s %d", path, f->keys.n_heads, m.n_heads,
                         f->keys.n_kv_heads, m.n_kv_heads);
    if (m.top_k > m.n_experts)
        return reap_fail(REAP_EINVAL, "%s: %s %d exceeds %s %d", path, f->keys.top_k, m.top_k, f->keys.n_experts,
                         m.n_experts);

    const cJSON *eps = get(cfg, "rms_norm_eps");
    if (!eps)
        return reap_fail(REAP_EINVAL, "%s: missing key \"rms_norm_eps\"", path);
    if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0) || eps->valuedouble >= 1)
        return reap_fail(REAP_EINVAL, "%s: rms_norm_eps must be a number in (0, 1)", path);
    m.rms_eps = eps->valuedouble;

    if ((st = f->parse(cfg, path, &m)) != REAP_OK || (st = parse_quant(cfg, path, &m)) != REAP_OK)
        return st;
    *out = m;
    return REAP_OK;
}

int reap_m2_config_load(const reap_ckpt *c, reap_m2_config *out) {
    char *path = reap_path_join(c->dir, "config.json");
    int st = c->config ? reap_m2_config_parse(c->config, path, out) : reap_fail(REAP_EINVAL, "%s: missing", path);
    free(path);
    return st;
}

cJSON *reap_m2_config_json(const reap_m2_config *c, const char *path) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "architecture", c->architecture[0] ? c->architecture : "?");
    cJSON_AddStringToObject(m, "model_type", c->model_type);
    cJSON_AddNumberToObject(m, "n_layers", c->n_layers);
    cJSON_AddNumberToObject(m, "n_experts", c->n_experts);
    cJSON_AddNumberToObject(m, "top_k", c->top_k);
    cJSON_AddNumberToObject(m, "hidden_size", c->hidden);
    cJSON_AddNumberToObject(m, "intermediate_size", c->inter);
    cJSON_AddStringToObject(m, "path", path);
    return m;
}

// ---- tensor names

const char *reap_family_layer_name(const reap_family *f, char *buf, int layer, const char *what) {
    int n = snprintf(buf, 128, "%s%d.%s", f->layer_prefix, layer, what);
    REAP_ASSERT(n > 0 && n < 128);
    return buf;
}

const char *reap_family_expert_name(const reap_family *f, char *buf, int layer, int expert, const char *what) {
    int n = snprintf(buf, 128, "%s%d.%s%d.%s", f->layer_prefix, layer, f->experts, expert, what);
    REAP_ASSERT(n > 0 && n < 128);
    return buf;
}

// Parses a canonical non-negative decimal (no sign, no leading zeros) at *p, advancing *p.
static int parse_index(const char **p, int *out) {
    const char *s = *p;
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
        return 0;
    long v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > INT_MAX)
            return 0;
        s++;
    }
    *out = (int)v;
    *p = s;
    return 1;
}

int reap_family_layer_of(const reap_family *f, const char *name) {
    size_t n = strlen(f->layer_prefix);
    const char *p = name + n;
    int L;
    return strncmp(name, f->layer_prefix, n) == 0 && parse_index(&p, &L) && *p == '.' ? L : -1;
}

int reap_family_parse_expert_name(const reap_family *f, const char *name, int *layer, int *expert, int *rest_off) {
    size_t na = strlen(f->layer_prefix), nb = strlen(f->experts);
    const char *p = name;
    int L, J;
    if (strncmp(p, f->layer_prefix, na) != 0)
        return 0;
    p += na;
    if (!parse_index(&p, &L) || *p != '.' || strncmp(p + 1, f->experts, nb) != 0)
        return 0;
    p += 1 + nb;
    if (!parse_index(&p, &J) || *p != '.' || !p[1])
        return 0;
    *layer = L;
    *expert = J;
    *rest_off = (int)(p + 1 - name);
    return 1;
}

static const reap_family *const m2 = &reap_families[REAP_FAMILY_MINIMAX_M2];

const char *reap_m2_layer_name(char *buf, int layer, const char *what) {
    return reap_family_layer_name(m2, buf, layer, what);
}

const char *reap_m2_expert_name(char *buf, int layer, int expert, const char *what) {
    return reap_family_expert_name(m2, buf, layer, expert, what);
}

int reap_m2_parse_expert_name(const char *name, int *layer, int *expert, int *rest_off) {
    return reap_family_parse_expert_name(m2, name, layer, expert, rest_off);
}

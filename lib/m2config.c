// m2config.c: MiniMax-M2 config.json -> reap_m2_config, refusing anything the forward pass and
// the rewriter do not implement (spec minimax-m2.md sections 1 and 7), and tensor names.
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

int reap_m2_config_parse(const cJSON *cfg, const char *path, reap_m2_config *out) {
    reap_m2_config m;
    memset(&m, 0, sizeof m);
    int st;
    if (!cJSON_IsObject(cfg))
        return reap_fail(REAP_EINVAL, "%s: config is not a JSON object", path);
    const cJSON *mt = get(cfg, "model_type");
    if (!cJSON_IsString(mt))
        return reap_fail(REAP_EINVAL, "%s: missing key \"model_type\"", path);
    if (strcmp(mt->valuestring, "minimax_m2") != 0 && strcmp(mt->valuestring, "minimax") != 0)
        return reap_fail(REAP_EINVAL, "%s: model_type \"%s\" is not supported (expected \"minimax_m2\")", path,
                         mt->valuestring);
    snprintf(m.model_type, sizeof m.model_type, "%s", mt->valuestring);

    static const struct {
        const char *key;
        size_t off;
    } ints[] = {
        {"hidden_size", offsetof(reap_m2_config, hidden)},
        {"intermediate_size", offsetof(reap_m2_config, inter)},
        {"num_hidden_layers", offsetof(reap_m2_config, n_layers)},
        {"num_attention_heads", offsetof(reap_m2_config, n_heads)},
        {"num_key_value_heads", offsetof(reap_m2_config, n_kv_heads)},
        {"head_dim", offsetof(reap_m2_config, head_dim)},
        {"vocab_size", offsetof(reap_m2_config, vocab)},
        {REAP_M2_EXPERTS_KEY, offsetof(reap_m2_config, n_experts)},
        {"num_experts_per_tok", offsetof(reap_m2_config, top_k)},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if ((st = get_pos_int(cfg, path, ints[i].key, (int *)((char *)&m + ints[i].off))) != REAP_OK)
            return st;
    if (m.n_heads % m.n_kv_heads)
        return reap_fail(REAP_EINVAL, "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", path,
                         m.n_heads, m.n_kv_heads);
    if (m.top_k > m.n_experts)
        return reap_fail(REAP_EINVAL, "%s: num_experts_per_tok %d exceeds %s %d", path, m.top_k, REAP_M2_EXPERTS_KEY,
                         m.n_experts);

    const cJSON *eps = get(cfg, "rms_norm_eps");
    if (!eps)
        return reap_fail(REAP_EINVAL, "%s: missing key \"rms_norm_eps\"", path);
    if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0) || eps->valuedouble >= 1)
        return reap_fail(REAP_EINVAL, "%s: rms_norm_eps must be a number in (0, 1)", path);
    m.rms_eps = eps->valuedouble;

    if ((st = parse_rope(cfg, path, &m)) != REAP_OK)
        return st;

    const cJSON *sf = get(cfg, "scoring_func");
    if (!sf)
        return reap_fail(REAP_EINVAL, "%s: missing key \"scoring_func\"", path);
    if (!cJSON_IsString(sf) || (strcmp(sf->valuestring, "sigmoid") != 0 && strcmp(sf->valuestring, "softmax") != 0))
        return reap_fail(REAP_EINVAL, "%s: scoring_func %s is not supported (\"sigmoid\" or \"softmax\")", path,
                         cJSON_IsString(sf) ? sf->valuestring : "(not a string)");
    m.scoring_sigmoid = strcmp(sf->valuestring, "sigmoid") == 0;

    if ((st = get_bool(cfg, path, "use_routing_bias", 0, &m.use_routing_bias)) != REAP_OK ||
        (st = get_bool(cfg, path, "use_qk_norm", 0, &m.qk_norm)) != REAP_OK ||
        (st = get_bool(cfg, path, "tie_word_embeddings", 0, &m.tie_embeddings)) != REAP_OK)
        return st;
    if (m.qk_norm) {
        const cJSON *t = get(cfg, "qk_norm_type");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "per_layer") != 0)
            return reap_fail(REAP_EINVAL, "%s: qk_norm_type %s is not supported (only \"per_layer\")", path,
                             cJSON_IsString(t) ? t->valuestring : "(missing)");
    }
    const cJSON *shared = get(cfg, "shared_intermediate_size");
    if (shared && !cJSON_IsNull(shared) && (!cJSON_IsNumber(shared) || shared->valuedouble != 0))
        return reap_fail(REAP_EINVAL, "%s: shared_intermediate_size %g > 0 (a shared expert) is not supported", path,
                         cJSON_IsNumber(shared) ? shared->valuedouble : NAN);
    if ((st = parse_quant(cfg, path, &m)) != REAP_OK)
        return st;
    *out = m;
    return REAP_OK;
}

const char *reap_m2_layer_name(char *buf, int layer, const char *what) {
    int n = snprintf(buf, 128, "model.layers.%d.%s", layer, what);
    REAP_ASSERT(n > 0 && n < 128);
    return buf;
}

const char *reap_m2_expert_name(char *buf, int layer, int expert, const char *what) {
    int n = snprintf(buf, 128, "model.layers.%d.block_sparse_moe.experts.%d.%s", layer, expert, what);
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

int reap_m2_parse_expert_name(const char *name, int *layer, int *expert, int *rest_off) {
    static const char a[] = "model.layers.", b[] = ".block_sparse_moe.experts.";
    const char *p = name;
    int L, J;
    if (strncmp(p, a, sizeof a - 1) != 0)
        return 0;
    p += sizeof a - 1;
    if (!parse_index(&p, &L) || strncmp(p, b, sizeof b - 1) != 0)
        return 0;
    p += sizeof b - 1;
    if (!parse_index(&p, &J) || *p != '.' || !p[1])
        return 0;
    *layer = L;
    *expert = J;
    *rest_off = (int)(p + 1 - name);
    return 1;
}

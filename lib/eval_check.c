// eval_check.c: which models `reap eval` compares (eval.h): a pruned checkpoint must be of the
// original's family and sizes, with its tokenizer and every non-expert tensor byte-identical (the
// router's gate rows and bias are sliced by pruning and not compared here: `reap verify` does),
// and reap.json's kept lists map its experts to the original's.
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "eval_internal.h"

static int same_file(const char *a_dir, const char *b_dir, const char *name) {
    char *a = reap_path_join(a_dir, name), *b = reap_path_join(b_dir, name);
    char ha[65] = "", hb[65] = "";
    int st = reap_sha256_file(a, ha);
    if (!st) st = reap_sha256_file(b, hb);
    if (!st && strcmp(ha, hb) != 0)
        st = reap_fail(REAP_EINVAL, "%s: differs from the original's %s (another tokenizer: the models cannot be "
                       "compared)", b, a);
    free(a), free(b);
    return st;
}

// The router's sliced tensors (gate rows, bias) of any layer.
static int is_router(const reap_family *f, const char *name) {
    int l = reap_family_layer_of(f, name);
    if (l < 0) return 0;
    char buf[128];
    if (!strcmp(name, reap_family_layer_name(f, buf, l, f->router_gate))) return 1;
    return f->router_bias && !strcmp(name, reap_family_layer_name(f, buf, l, f->router_bias));
}

static int is_expert(const reap_family *f, const char *name) {
    int l, e, off;
    return reap_family_parse_expert_name(f, name, &l, &e, &off) == 1;
}

static int check_tensors(const reap_ckpt *o, const reap_ckpt *c, const reap_family *f, const char *path) {
    int st = REAP_OK, n_o = 0, n_c = 0;
    for (int i = 0; i < o->n_tensors; i++) n_o += !is_expert(f, o->tensors[i].name) && !is_router(f, o->tensors[i].name);
    for (int i = 0; i < c->n_tensors && !st; i++) {
        const reap_ckpt_tensor *t = &c->tensors[i];
        if (is_expert(f, t->name) || is_router(f, t->name)) continue;
        n_c++;
        const reap_ckpt_tensor *u = reap_ckpt_find(o, t->name);
        if (!u) {
            st = reap_fail(REAP_EINVAL, "%s: tensor %s is not in the original %s", path, t->name, o->dir);
            break;
        }
        int same = t->t->dtype == u->t->dtype && t->t->ndim == u->t->ndim;
        for (int d = 0; same && d < t->t->ndim; d++) same = t->t->shape[d] == u->t->shape[d];
        if (!same) {
            st = reap_fail(REAP_EINVAL, "%s: tensor %s has another dtype or shape than the original's", path, t->name);
            break;
        }
        size_t n = (size_t)(t->t->end - t->t->begin);
        uint8_t *a = reap_xmalloc(n ? n : 1), *b = reap_xmalloc(n ? n : 1);
        if (!(st = reap_ckpt_read_raw(c, t->name, a)) && !(st = reap_ckpt_read_raw(o, t->name, b)) && memcmp(a, b, n))
            st = reap_fail(REAP_EINVAL, "%s: tensor %s differs from the original's (not a pruned copy of %s)", path,
                           t->name, o->dir);
        free(a), free(b);
    }
    if (!st && n_c != n_o)
        st = reap_fail(REAP_EINVAL, "%s: %d non-expert tensors, the original %s has %d", path, n_c, o->dir, n_o);
    return st;
}

// kept (n_layers, K) from DIR/reap.json; without reap.json only an unpruned copy (K == E) maps.
static int read_kept(const char *dir, const char *orig_fp, int L, int E, int K, int *kept) {
    char *path = reap_path_join(dir, "reap.json"), *text = NULL;
    size_t len;
    int st = REAP_OK;
    if (!reap_exists(path)) {
        if (K != E) st = reap_fail(REAP_EINVAL, "%s: absent, and the model has %d experts per layer against the "
                                   "original's %d: cannot map its experts", path, K, E);
        for (int l = 0; l < L && !st; l++)
            for (int k = 0; k < K; k++) kept[(size_t)l * K + k] = k;
        free(path);
        return st;
    }
    if ((st = reap_read_file(path, &text, &len))) {
        free(path);
        return st;
    }
    cJSON *r = cJSON_Parse(text);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(r, "source");
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(src, "fingerprint");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(r, "layers");
    if (!r) st = reap_fail(REAP_EINVAL, "%s: not valid JSON", path);
    else if (cJSON_IsString(fp) && strcmp(fp->valuestring, orig_fp) != 0)
        st = reap_fail(REAP_EINVAL, "%s: pruned from another model (source fingerprint %.12s..., the original's is "
                       "%.12s...)", path, fp->valuestring, orig_fp);
    else if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) != L)
        st = reap_fail(REAP_EINVAL, "%s: \"layers\" is not an array of %d layers", path, L);
    for (int l = 0; l < L && !st; l++) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(layers, l), "kept");
        if (!cJSON_IsArray(k) || cJSON_GetArraySize(k) != K) {
            st = reap_fail(REAP_EINVAL, "%s: layer %d: \"kept\" is not a list of %d experts", path, l, K);
            break;
        }
        for (int j = 0; j < K && !st; j++) {
            const cJSON *v = cJSON_GetArrayItem(k, j);
            int id = cJSON_IsNumber(v) ? v->valueint : -1;
            int prev = j ? kept[(size_t)l * K + j - 1] : -1;
            if (id <= prev || id >= E)
                st = reap_fail(REAP_EINVAL, "%s: layer %d: kept expert %d is not an ascending id below %d", path, l, j, E);
            else kept[(size_t)l * K + j] = id;
        }
    }
    cJSON_Delete(r);
    free(text), free(path);
    return st;
}

int reap_eval_check_pair(const reap_ckpt *o, const reap_m2_config *om, const char *orig_fp, const reap_ckpt *c,
                         const reap_m2_config *m, int **kept) {
    *kept = NULL;
    const char *path = c->dir;
    if (m->family != om->family)
        return reap_fail(REAP_EINVAL, "%s: model family %s, the original %s is %s", path, m->family->name, o->dir,
                         om->family->name);
    struct { const char *what; long a, b; } f[] = {
        {"hidden_size", m->hidden, om->hidden}, {"intermediate_size", m->inter, om->inter},
        {"num_hidden_layers", m->n_layers, om->n_layers}, {"num_attention_heads", m->n_heads, om->n_heads},
        {"num_key_value_heads", m->n_kv_heads, om->n_kv_heads}, {"head_dim", m->head_dim, om->head_dim},
        {"vocab_size", m->vocab, om->vocab}, {"num_experts_per_tok", m->top_k, om->top_k},
        {"rotary_dim", m->rotary_dim, om->rotary_dim}, {"use_routing_bias", m->use_routing_bias, om->use_routing_bias},
        {"use_qk_norm", m->qk_norm, om->qk_norm}, {"tie_word_embeddings", m->tie_embeddings, om->tie_embeddings},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].a != f[i].b)
            return reap_fail(REAP_EINVAL, "%s: %s %ld, the original %s has %ld", path, f[i].what, f[i].a, o->dir, f[i].b);
    if (m->n_experts > om->n_experts || m->n_experts < m->top_k)
        return reap_fail(REAP_EINVAL, "%s: %d experts per layer, the original %s has %d", path, m->n_experts, o->dir,
                         om->n_experts);
    int st = same_file(o->dir, c->dir, "tokenizer.json");
    if (!st) st = check_tensors(o, c, om->family, path);
    if (st) return st;
    *kept = reap_xmalloc(sizeof(int) * (size_t)m->n_layers * (size_t)m->n_experts);
    st = read_kept(c->dir, orig_fp, m->n_layers, om->n_experts, m->n_experts, *kept);
    if (st) free(*kept), *kept = NULL;
    return st;
}

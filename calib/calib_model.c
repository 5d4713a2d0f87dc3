// calib_model.c: the calibration rows for one checkpoint (calib.h, reap_calib_pack_model): the
// checkpoint decides the chat format (config.json's model_type) and the tokenizer
// (tokenizer.json); the sources and the packing are the caller's.
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "common.h"

static const char *const default_specs[] = {"builtin"};

int reap_calib_model_chat(const char *model_dir, const reap_chat_family **fam) {
    char *cpath = reap_path_join(model_dir, "config.json"), *text = NULL;
    size_t len;
    int st = reap_read_file(cpath, &text, &len);
    cJSON *cfg = st ? NULL : cJSON_ParseWithLength(text, len);
    if (!st) {
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(cfg, "model_type");
        if (!cfg) st = reap_fail(REAP_EINVAL, "%s: not valid JSON", cpath);
        else if (!cJSON_IsString(mt)) st = reap_fail(REAP_EINVAL, "%s: no string \"model_type\"", cpath);
        else if (!(*fam = reap_chat_family_find(mt->valuestring)))
            st = reap_fail(REAP_EINVAL, "%s: model_type \"%s\" has no chat renderer (known: minimax_m2)", cpath,
                           mt->valuestring);
    }
    cJSON_Delete(cfg);
    free(text);
    free(cpath);
    return st;
}

// Per position category ids (out->cat) from the samples' categories, names in first-seen order of
// the samples (so the same sources give the same ids whatever the packing order).
static void fill_categories(const reap_samples *s, reap_packed *out) {
    int *id = reap_xmalloc(sizeof(int) * (size_t)(s->n ? s->n : 1));
    for (int i = 0; i < s->n; i++) {
        const char *c = s->v[i].category ? s->v[i].category : "?";
        int k = 0;
        while (k < out->n_cats && strcmp(out->cat_names[k], c) != 0) k++;
        if (k == out->n_cats && k < 254) {
            out->cat_names = reap_xrealloc(out->cat_names, sizeof(char *) * (size_t)(k + 1));
            out->cat_names[out->n_cats++] = reap_xstrdup(c);
        }
        id[i] = k < 254 ? k : 253;  // more than 254 categories: the rest share the last
    }
    size_t n = (size_t)out->rows * (size_t)out->seq_len;
    out->cat = reap_xmalloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) out->cat[i] = out->sample[i] < 0 ? 255 : (uint8_t)id[out->sample[i]];
    free(id);
}

int reap_calib_pack_model(const char *model_dir, const char *const *specs, int n_specs, const reap_pack_params *p,
                          reap_packed *out) {
    memset(out, 0, sizeof *out);
    const reap_chat_family *fam = NULL;
    int st = reap_calib_model_chat(model_dir, &fam);
    if (st) return st;

    reap_samples samples = {0};
    if (!specs || n_specs <= 0) specs = default_specs, n_specs = 1;
    for (int i = 0; i < n_specs && !st; i++) st = reap_calib_load(specs[i], fam, p->seed, &samples);
    reap_tokenizer *tok = NULL;
    if (!st) {
        char *tpath = reap_path_join(model_dir, "tokenizer.json");
        st = reap_tok_load(tpath, &tok);
        free(tpath);
    }
    if (!st && samples.n == 0) st = reap_fail(REAP_EINVAL, "calibration: the sources gave no samples");
    if (!st) st = reap_pack(tok, &samples, p, out);
    if (!st && out->rows == 0) st = reap_fail(REAP_EINVAL, "calibration: no rows were packed");
    if (!st) fill_categories(&samples, out);
    if (!st && p->rows > 0 && out->rows < p->rows)
        reap_warn("calibration: the samples filled %d rows, fewer than the %d asked for", out->rows, p->rows);
    reap_tok_free(tok);
    reap_samples_free(&samples);
    return st;
}

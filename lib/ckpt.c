// ckpt.c: a checkpoint directory (config.json + index + shards, or a single model.safetensors).
// Every consistency check between the index and the shards happens at open, so later code can
// trust reap_ckpt_find and the byte totals.
#include "ckpt.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"

#define INDEX_NAME "model.safetensors.index.json"
#define SINGLE_NAME "model.safetensors"

typedef struct {
    const char *name;   // tensor name (owned by the cJSON index)
    const char *shard;  // shard file name (owned by the cJSON index)
} map_entry;

static int cmp_map(const void *a, const void *b) {
    return strcmp(((const map_entry *)a)->name, ((const map_entry *)b)->name);
}

static int cmp_ctensor(const void *a, const void *b) {
    return strcmp(((const reap_ckpt_tensor *)a)->name, ((const reap_ckpt_tensor *)b)->name);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Rejects shard names that could read a file outside the checkpoint: absolute, with a '/', with
// "..", or (through a symlink) resolving outside the directory. rdir is realpath(dir).
static int check_shard_name(const char *dir, const char *rdir, const char *idx, const char *shard) {
    if (!*shard)
        return reap_fail(REAP_EINVAL, "%s: empty shard file name in weight_map", idx);
    if (shard[0] == '/')
        return reap_fail(REAP_EINVAL, "%s: shard name '%s' is an absolute path", idx, shard);
    if (strstr(shard, ".."))
        return reap_fail(REAP_EINVAL, "%s: shard name '%s' contains '..'", idx, shard);
    if (strchr(shard, '/'))
        return reap_fail(REAP_EINVAL, "%s: shard name '%s' contains '/' (shards must be files in the directory)",
                         idx, shard);
    char *p = reap_path_join(dir, shard);
    char *rp = realpath(p, NULL);
    int e = errno;
    free(p);
    if (!rp)
        return reap_fail(REAP_EINVAL, "%s: shard '%s' named in weight_map cannot be opened: %s", idx, shard,
                         strerror(e));
    size_t n = strlen(rdir);
    int inside = strncmp(rp, rdir, n) == 0 && (rp[n] == '/' || (n == 1 && rdir[0] == '/'));
    int st = REAP_OK;
    if (!inside)
        st = reap_fail(REAP_EINVAL, "%s: shard '%s' resolves to %s, outside the checkpoint directory %s", idx, shard,
                       rp, rdir);
    free(rp);
    return st;
}

static int load_config(reap_ckpt *c) {
    char *p = reap_path_join(c->dir, "config.json");
    int st = REAP_OK;
    if (reap_exists(p)) {
        size_t len;
        if ((st = reap_read_file(p, &c->config_text, &len)) == REAP_OK) {
            const char *end = NULL;
            c->config = strlen(c->config_text) == len ? cJSON_ParseWithOpts(c->config_text, &end, 1) : NULL;
            if (!c->config)
                st = reap_fail(REAP_EINVAL, "%s: not valid JSON (error near byte %zu)", p,
                               end ? (size_t)(end - c->config_text) : (size_t)0);
            else if (!cJSON_IsObject(c->config))
                st = reap_fail(REAP_EINVAL, "%s: not a JSON object", p);
        }
        const cJSON *q = c->config ? cJSON_GetObjectItemCaseSensitive(c->config, "quantization_config") : NULL;
        const cJSON *wb = cJSON_IsObject(q) ? cJSON_GetObjectItemCaseSensitive(q, "weight_block_size") : NULL;
        if (st == REAP_OK && wb) {
            const cJSON *a = cJSON_GetArrayItem(wb, 0), *b = cJSON_GetArrayItem(wb, 1);
            if (!cJSON_IsArray(wb) || cJSON_GetArraySize(wb) != 2 || !cJSON_IsNumber(a) || !cJSON_IsNumber(b) ||
                a->valuedouble < 1 || b->valuedouble < 1 || a->valuedouble > 1e9 || b->valuedouble > 1e9 ||
                a->valuedouble != floor(a->valuedouble) || b->valuedouble != floor(b->valuedouble))
                st = reap_fail(REAP_EINVAL, "%s: quantization_config.weight_block_size is not two positive integers",
                               p);
            else
                c->block_r = (int64_t)a->valuedouble, c->block_c = (int64_t)b->valuedouble;
        }
    }
    free(p);
    return st;
}

// Reads the index: fills *map (sorted by name) and the unique sorted shard names.
static int load_index(reap_ckpt *c, const char *idx, map_entry **map_out, int *n_map_out, double *total_out,
                      int *has_total) {
    char *text;
    size_t len;
    int st = reap_read_file(idx, &text, &len);
    if (st != REAP_OK)
        return st;
    c->index = strlen(text) == len ? cJSON_ParseWithOpts(text, NULL, 1) : NULL;
    free(text);
    if (!c->index)
        return reap_fail(REAP_EINVAL, "%s: not valid JSON", idx);
    if (!cJSON_IsObject(c->index))
        return reap_fail(REAP_EINVAL, "%s: not a JSON object", idx);
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(c->index, "weight_map");
    if (!cJSON_IsObject(wm))
        return reap_fail(REAP_EINVAL, "%s: missing \"weight_map\" object", idx);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(c->index, "metadata");
    const cJSON *ts = cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, "total_size") : NULL;
    *has_total = ts != NULL;
    if (ts) {
        if (!cJSON_IsNumber(ts) || ts->valuedouble < 0 || ts->valuedouble != floor(ts->valuedouble))
            return reap_fail(REAP_EINVAL, "%s: metadata.total_size is not a non-negative integer", idx);
        *total_out = ts->valuedouble;
    }
    int n = cJSON_GetArraySize(wm);
    if (n == 0)
        return reap_fail(REAP_EINVAL, "%s: \"weight_map\" lists no tensors", idx);
    map_entry *map = reap_xmalloc(((size_t)n + 1) * sizeof *map);
    *map_out = map;
    int k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, wm) {
        if (!cJSON_IsString(e))
            return reap_fail(REAP_EINVAL, "%s: weight_map entry for tensor '%s' is not a string", idx, e->string);
        map[k].name = e->string;
        map[k].shard = e->valuestring;
        k++;
    }
    *n_map_out = k;
    qsort(map, (size_t)k, sizeof *map, cmp_map);
    for (int i = 1; i < k; i++)
        if (strcmp(map[i].name, map[i - 1].name) == 0)
            return reap_fail(REAP_EINVAL, "%s: tensor '%s' appears twice in weight_map", idx, map[i].name);
    // Unique shard names.
    char **names = reap_xmalloc(((size_t)k + 1) * sizeof(char *));
    for (int i = 0; i < k; i++)
        names[i] = (char *)map[i].shard;
    qsort(names, (size_t)k, sizeof(char *), cmp_str);
    c->shard_names = reap_xmalloc(((size_t)k + 1) * sizeof(char *));
    for (int i = 0; i < k; i++)
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            c->shard_names[c->n_shards++] = reap_xstrdup(names[i]);
    free(names);
    return REAP_OK;
}

static int open_shards(reap_ckpt *c, const char *idx) {
    char *rdir = realpath(c->dir, NULL);
    if (!rdir)
        return reap_fail(REAP_EINVAL, "%s: cannot resolve directory: %s", c->dir, strerror(errno));
    c->shards = reap_xcalloc((size_t)c->n_shards + 1, sizeof *c->shards);
    int st = REAP_OK;
    for (int i = 0; i < c->n_shards && st == REAP_OK; i++) {
        if (idx && (st = check_shard_name(c->dir, rdir, idx, c->shard_names[i])) != REAP_OK)
            break;
        char *p = reap_path_join(c->dir, c->shard_names[i]);
        st = reap_st_open(p, &c->shards[i]);
        free(p);
    }
    free(rdir);
    return st;
}

static int build_tensor_table(reap_ckpt *c) {
    int n = 0;
    uint64_t total = 0;
    for (int s = 0; s < c->n_shards; s++)
        n += c->shards[s]->n_tensors;
    c->tensors = reap_xmalloc(((size_t)n + 1) * sizeof *c->tensors);
    for (int s = 0; s < c->n_shards; s++) {
        const reap_st_file *f = c->shards[s];
        for (int i = 0; i < f->n_tensors; i++) {
            c->tensors[c->n_tensors++] = (reap_ckpt_tensor){f->tensors[i].name, s, &f->tensors[i]};
            total += reap_st_nbytes(&f->tensors[i]);
        }
    }
    c->total_size = total;
    qsort(c->tensors, (size_t)n, sizeof *c->tensors, cmp_ctensor);
    for (int i = 1; i < n; i++)
        if (strcmp(c->tensors[i].name, c->tensors[i - 1].name) == 0)
            return reap_fail(REAP_EINVAL, "%s: tensor '%s' is stored in two shards: %s and %s", c->dir,
                             c->tensors[i].name, c->shard_names[c->tensors[i - 1].shard],
                             c->shard_names[c->tensors[i].shard]);
    return REAP_OK;
}

static int check_index_against_shards(reap_ckpt *c, const char *idx, const map_entry *map, int n_map) {
    for (int i = 0; i < n_map; i++) {
        const reap_ckpt_tensor *t = reap_ckpt_find(c, map[i].name);
        if (!t)
            return reap_fail(REAP_EINVAL,
                             "%s: tensor '%s' is listed in weight_map under %s but that shard has no such tensor", idx,
                             map[i].name, map[i].shard);
        if (strcmp(c->shard_names[t->shard], map[i].shard) != 0)
            return reap_fail(REAP_EINVAL, "%s: tensor '%s' is listed in weight_map under %s but is stored in %s", idx,
                             map[i].name, map[i].shard, c->shard_names[t->shard]);
    }
    for (int i = 0; i < c->n_tensors; i++) {
        map_entry key = {c->tensors[i].name, NULL};
        if (!bsearch(&key, map, (size_t)n_map, sizeof *map, cmp_map))
            return reap_fail(REAP_EINVAL, "%s: tensor '%s' in shard %s is not listed in weight_map", idx,
                             c->tensors[i].name, c->shard_names[c->tensors[i].shard]);
    }
    return REAP_OK;
}

int reap_ckpt_open(const char *dir, reap_ckpt **out) {
    *out = NULL;
    if (!reap_is_dir(dir))
        return reap_fail(REAP_EINVAL, "%s: not a directory", dir);
    reap_ckpt *c = reap_xcalloc(1, sizeof *c);
    c->dir = reap_xstrdup(dir);
    char *idx = reap_path_join(dir, INDEX_NAME);
    map_entry *map = NULL;
    int n_map = 0, has_total = 0;
    double total = 0;
    int st = load_config(c);
    if (st != REAP_OK)
        goto done;
    if (reap_exists(idx)) {
        c->has_index = 1;
        if ((st = load_index(c, idx, &map, &n_map, &total, &has_total)) != REAP_OK)
            goto done;
        if ((st = open_shards(c, idx)) != REAP_OK)
            goto done;
    } else {
        char *single = reap_path_join(dir, SINGLE_NAME);
        int have = reap_exists(single);
        free(single);
        if (!have) {
            st = reap_fail(REAP_EINVAL, "%s: no %s or %s: not a safetensors checkpoint directory", dir, INDEX_NAME,
                           SINGLE_NAME);
            goto done;
        }
        c->shard_names = reap_xmalloc(sizeof(char *));
        c->shard_names[0] = reap_xstrdup(SINGLE_NAME);
        c->n_shards = 1;
        if ((st = open_shards(c, NULL)) != REAP_OK)
            goto done;
    }
    if ((st = build_tensor_table(c)) != REAP_OK)
        goto done;
    if (c->has_index) {
        if ((st = check_index_against_shards(c, idx, map, n_map)) != REAP_OK)
            goto done;
        if (has_total && total != (double)c->total_size) {
            st = reap_fail(REAP_EINVAL, "%s: metadata.total_size is %.0f but the shards hold %llu bytes of tensor data",
                           idx, total, (unsigned long long)c->total_size);
            goto done;
        }
        if (!has_total)
            reap_verbose("%s: no metadata.total_size; shards hold %llu bytes", idx,
                         (unsigned long long)c->total_size);
    }
done:
    free(map);
    free(idx);
    if (st != REAP_OK) {
        reap_ckpt_close(c);
        return st;
    }
    *out = c;
    return REAP_OK;
}

void reap_ckpt_close(reap_ckpt *c) {
    if (!c)
        return;
    if (c->shards)
        for (int i = 0; i < c->n_shards; i++)
            reap_st_close(c->shards[i]);
    free(c->shards);
    for (int i = 0; i < c->n_shards; i++)
        free(c->shard_names[i]);
    free(c->shard_names);
    free(c->tensors);
    cJSON_Delete(c->config);
    cJSON_Delete(c->index);
    free(c->config_text);
    free(c->dir);
    free(c);
}

const reap_ckpt_tensor *reap_ckpt_find(const reap_ckpt *c, const char *name) {
    reap_ckpt_tensor key = {name, 0, NULL};
    return bsearch(&key, c->tensors, (size_t)c->n_tensors, sizeof key, cmp_ctensor);
}

static const char *shape_str(const int64_t *shape, int ndim, char *buf, size_t cap) {
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

static const reap_st_file *shard_of(const reap_ckpt *c, const reap_ckpt_tensor *t) {
    return c->shards[t->shard];
}

// Converts a whole float tensor to f32 in chunks (bounded temporary memory).
static int read_convert(const reap_ckpt *c, const reap_ckpt_tensor *t, float *dst) {
    const reap_st_file *f = shard_of(c, t);
    int64_t n = reap_st_numel(t->t);
    size_t esz = reap_dtype_size(t->t->dtype);
    if (t->t->dtype == REAP_DT_F32)
        return reap_st_read(f, t->t, 0, reap_st_nbytes(t->t), dst);
    const int64_t chunk = 1 << 22;
    uint8_t *buf = reap_xmalloc((size_t)(n < chunk ? (n ? n : 1) : chunk) * esz);
    int st = REAP_OK;
    for (int64_t i = 0; i < n && st == REAP_OK; i += chunk) {
        int64_t k = n - i < chunk ? n - i : chunk;
        st = reap_st_read(f, t->t, (uint64_t)i * esz, (uint64_t)k * esz, buf);
        if (st == REAP_OK)
            reap_dtype_to_f32(t->t->dtype, buf, (size_t)k, dst + i);
    }
    free(buf);
    return st;
}

// Block-dequantises an FP8 weight w (rows, cols) with scale s (sr, sc) f32 multipliers.
// The block size is derived from the shapes: b = ceil(dim / scale_dim), consistent only when
// ceil(dim / b) == scale_dim.
static int read_fp8_block(const reap_ckpt *c, const reap_ckpt_tensor *t, const reap_ckpt_tensor *s, float *dst) {
    const reap_st_file *f = shard_of(c, t);
    if (t->t->ndim != 2 || s->t->ndim != 2) {
        char a[96], b[96];
        return reap_fail(REAP_EINVAL, "%s: tensor '%s' %s with scale '%s' %s: block dequantisation needs 2-D tensors",
                         f->path, t->name, shape_str(t->t->shape, t->t->ndim, a, sizeof a), s->name,
                         shape_str(s->t->shape, s->t->ndim, b, sizeof b));
    }
    int64_t rows = t->t->shape[0], cols = t->t->shape[1], sr = s->t->shape[0], sc = s->t->shape[1];
    if (rows == 0 || cols == 0)
        return REAP_OK;  // nothing to read
    int bad = sr <= 0 || sc <= 0;
    int64_t br = c->block_r, bc = c->block_c;
    if (!bad && br <= 0)  // no configured block: the smallest block that gives the scale's shape
        br = (rows + sr - 1) / sr, bc = (cols + sc - 1) / sc;
    if (!bad)
        bad = (rows + br - 1) / br != sr || (cols + bc - 1) / bc != sc;
    if (bad)
        return reap_fail(REAP_EINVAL,
                         "%s: tensor '%s' [%lld, %lld] and its scale '%s' [%lld, %lld] do not match block size "
                         "[%lld, %lld]%s",
                         f->path, t->name, (long long)rows, (long long)cols, s->name, (long long)sr, (long long)sc,
                         (long long)br, (long long)bc,
                         c->block_r > 0 ? " (config.json quantization_config.weight_block_size)" : "");
    if (s->t->dtype != REAP_DT_F32 && s->t->dtype != REAP_DT_BF16 && s->t->dtype != REAP_DT_F16)
        return reap_fail(REAP_EINVAL, "%s: scale tensor '%s' has dtype %s (expected F32)", shard_of(c, s)->path,
                         s->name, reap_dtype_name(s->t->dtype));
    float *scale = reap_xmalloc((size_t)(sr * sc) * sizeof(float));
    int st = read_convert(c, s, scale);
    // Whole block-rows at a time: about 16 MiB of fp8 per chunk.
    int64_t rows_per = br * ((16 << 20) / (br * cols) > 0 ? (16 << 20) / (br * cols) : 1);
    uint8_t *buf = reap_xmalloc((size_t)((rows_per < rows ? rows_per : rows) * cols));
    for (int64_t r0 = 0; r0 < rows && st == REAP_OK; r0 += rows_per) {
        int64_t k = rows - r0 < rows_per ? rows - r0 : rows_per;
        st = reap_st_read(f, t->t, (uint64_t)(r0 * cols), (uint64_t)(k * cols), buf);
        if (st == REAP_OK)
            reap_dequant_fp8_block(t->t->dtype, buf, k, cols, scale + (r0 / br) * sc, br, bc, dst + r0 * cols);
    }
    free(buf);
    free(scale);
    return st;
}

static int find_or_fail(const reap_ckpt *c, const char *name, const reap_ckpt_tensor **out) {
    *out = reap_ckpt_find(c, name);
    if (!*out)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s' not found in the checkpoint", c->dir, name);
    return REAP_OK;
}

int reap_ckpt_read_f32(const reap_ckpt *c, const char *name, int expect_ndim, const int64_t *expect_shape,
                       float *dst) {
    const reap_ckpt_tensor *t;
    int st = find_or_fail(c, name, &t);
    if (st != REAP_OK)
        return st;
    const reap_st_file *f = shard_of(c, t);
    if (expect_ndim > 0) {
        int same = t->t->ndim == expect_ndim;
        for (int i = 0; same && i < expect_ndim; i++)
            same = t->t->shape[i] == expect_shape[i];
        if (!same) {
            char a[128], b[128];
            return reap_fail(REAP_EINVAL, "%s: tensor '%s' has shape %s, expected %s", f->path, name,
                             shape_str(t->t->shape, t->t->ndim, a, sizeof a),
                             shape_str(expect_shape, expect_ndim, b, sizeof b));
        }
    }
    if (!reap_dtype_table[t->t->dtype].is_float)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s' has dtype %s, which does not convert to f32", f->path, name,
                         reap_dtype_name(t->t->dtype));
    if (t->t->dtype == REAP_DT_F8_E4M3 || t->t->dtype == REAP_DT_F8_E5M2) {
        char *sname = reap_xasprintf("%s_scale_inv", name);
        const reap_ckpt_tensor *s = reap_ckpt_find(c, sname);
        free(sname);
        if (s)
            return read_fp8_block(c, t, s, dst);
    }
    return read_convert(c, t, dst);
}

int reap_ckpt_read_raw(const reap_ckpt *c, const char *name, void *dst) {
    const reap_ckpt_tensor *t;
    int st = find_or_fail(c, name, &t);
    if (st != REAP_OK)
        return st;
    return reap_st_read(shard_of(c, t), t->t, 0, reap_st_nbytes(t->t), dst);
}

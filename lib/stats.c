// stats.c: criteria and router-mode names, the statistics file (save/load/merge), saliency and the
// model fingerprint. The observer itself (reap_route, reap_layer_stats_*) lives in observer.c.
//
// ---- Statistics file format ("reap-stats", version 1) ---------------------------------------
// One JSON object. Numbers that are doubles are written with %.17g (strtod reads them back to the
// same bits, so save -> load -> save is byte-identical); counts are integers (< 2^53).
//   "format":      "reap-stats"
//   "version":     1 (REAP_STATS_VERSION; a reader refuses other versions)
//   "tool":        "reap 0.1.0" (the tool that wrote the file; informational)
//   "fingerprint": sha256 hex of the model (reap_stats_fingerprint: config sizes and every tensor's
//                  name, dtype and shape); prune refuses statistics of another model
//   "router_sha256": sha256 hex of the router weights scored (reap_stats_router_digest); prune
//                  refuses statistics of other weights, merge files that differ. Optional on
//                  reading (files written before it existed: prune warns, checks the fingerprint)
//   "model":       {"architecture", "model_type", "n_layers", "n_experts", "top_k", ...}
//                  description for people; n_layers/n_experts/top_k must match the arrays
//   "calibration": {"sources": [spec strings], "rows": rows of the whole calibration set (before
//                  sharding), "seq_len": L, "seed": S, "router": "model"|"softmax"|"softmax-renorm",
//                  "shard_count": N, "shards": [sorted shard indices this file covers],
//                  "rows_scored": rows this file covers (optional; added up by merge)}
//                  plus any other keys the writer adds (kept from the first file on merge)
//   "layers_done": number of leading layers whose statistics are complete (== n_layers when done)
//   "layers":      [n_layers objects] {"layer": i, "tokens": valid tokens seen,
//                  "count": [E ints], "gate_sum": [E], "norm_sum": [E], "reap_sum": [E],
//                  "max_act": [E numbers, null for an expert never routed]}
//                  ("max_act" may be absent: then max-activation is not available)
// Merge rules: same fingerprint and router_sha256 (both absent counts as equal), router, shard_count, seq_len, seed, rows and sources; disjoint
// shard sets; both files complete. Sums and counts add, max_act takes the max, shards are united.
#include "stats.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char *const router_names[REAP_ROUTER_COUNT] = {"model", "softmax", "softmax-renorm"};
static const char *const crit_names[REAP_CRIT_COUNT] = {
    "reap", "frequency", "weighted-frequency", "ean-sum", "ean-mean", "weighted-ean-sum", "max-activation"};

const char *reap_router_mode_name(reap_router_mode m) {
    return (unsigned)m < REAP_ROUTER_COUNT ? router_names[m] : "?";
}

int reap_router_mode_parse(const char *s, reap_router_mode *out) {
    for (int i = 0; i < REAP_ROUTER_COUNT; i++)
        if (s && strcmp(s, router_names[i]) == 0) {
            *out = (reap_router_mode)i;
            return REAP_OK;
        }
    return reap_fail(REAP_EUSAGE, "unknown router mode '%s' (expected model, softmax or softmax-renorm)", s ? s : "");
}

const char *reap_criterion_name(reap_criterion c) {
    if (c == REAP_CRIT_RANDOM) return "random";
    return (unsigned)c < REAP_CRIT_COUNT ? crit_names[c] : "?";
}

int reap_criterion_parse(const char *s, reap_criterion *out) {
    for (int i = 0; i < REAP_CRIT_COUNT; i++)
        if (s && strcmp(s, crit_names[i]) == 0) {
            *out = (reap_criterion)i;
            return REAP_OK;
        }
    return reap_fail(REAP_EUSAGE,
                     "unknown criterion '%s' (expected reap, frequency, weighted-frequency, ean-sum, ean-mean, "
                     "weighted-ean-sum or max-activation)",
                     s ? s : "");
}

int reap_selection_parse(const char *s, reap_criterion *out, uint64_t *seed) {
    *seed = 0;
    if (s && !strncmp(s, "random", 6) && (s[6] == 0 || s[6] == ':')) {
        if (s[6] == ':') {
            const char *d = s + 7;
            char *end;
            errno = 0;
            unsigned long long v = strtoull(d, &end, 10);
            if (*d < '0' || *d > '9' || *end || errno)
                return reap_fail(REAP_EUSAGE, "criterion '%s': the seed of random:S must be a decimal integer", s);
            *seed = v;
        }
        *out = REAP_CRIT_RANDOM;
        return REAP_OK;
    }
    if (reap_criterion_parse(s, out) == REAP_OK) return REAP_OK;
    return reap_fail(REAP_EUSAGE,
                     "unknown criterion '%s' (expected reap, frequency, weighted-frequency, ean-sum, ean-mean, "
                     "weighted-ean-sum, max-activation, random or random:SEED)",
                     s ? s : "");
}

const char *reap_selection_label(reap_criterion c, uint64_t seed, char *buf, size_t n) {
    if (c != REAP_CRIT_RANDOM) return reap_criterion_name(c);
    snprintf(buf, n, "random:%llu", (unsigned long long)seed);
    return buf;
}

// splitmix64's finaliser: a bijection of 64-bit words whose outputs look independent.
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void reap_random_saliency(uint64_t seed, int layer, int n, double *out) {
    uint64_t base = mix64(seed * 0x9e3779b97f4a7c15ULL + (uint64_t)layer + 1);
    for (int e = 0; e < n; e++) out[e] = (double)(mix64(base + (uint64_t)e * 0x9e3779b97f4a7c15ULL) >> 11) * 0x1p-53;
}

cJSON *reap_stats_calib_new(const char *const *sources, int n_sources, int64_t rows, int seq_len, uint64_t seed,
                            int shard_index, int shard_count) {
    cJSON *c = cJSON_CreateObject();
    cJSON *src = cJSON_AddArrayToObject(c, "sources");
    for (int i = 0; i < n_sources; i++) cJSON_AddItemToArray(src, cJSON_CreateString(sources[i]));
    cJSON_AddNumberToObject(c, "rows", (double)rows);
    cJSON_AddNumberToObject(c, "seq_len", seq_len);
    cJSON_AddNumberToObject(c, "seed", (double)seed);
    cJSON_AddNumberToObject(c, "shard_count", shard_count);
    cJSON *sh = cJSON_AddArrayToObject(c, "shards");
    cJSON_AddItemToArray(sh, cJSON_CreateNumber(shard_index));
    return c;
}

int reap_stats_init(reap_stats *s, int n_layers, int n_experts, int top_k) {
    memset(s, 0, sizeof *s);
    if (n_layers <= 0 || n_experts <= 0 || top_k <= 0 || top_k > n_experts)
        return reap_fail(REAP_EINVAL, "statistics: bad sizes: %d layers, %d experts, top-k %d", n_layers, n_experts,
                         top_k);
    s->version = REAP_STATS_VERSION;
    s->n_layers = n_layers;
    s->n_experts = n_experts;
    s->top_k = top_k;
    s->router = REAP_ROUTER_MODEL;
    s->layers = reap_xcalloc((size_t)n_layers, sizeof *s->layers);
    for (int l = 0; l < n_layers; l++) reap_layer_stats_init(&s->layers[l], n_experts);
    return REAP_OK;
}

void reap_stats_free(reap_stats *s) {
    if (!s) return;
    if (s->layers)
        for (int l = 0; l < s->n_layers; l++) reap_layer_stats_free(&s->layers[l]);
    free(s->layers);
    cJSON_Delete(s->model);
    cJSON_Delete(s->calib);
    memset(s, 0, sizeof *s);
}

// ---- save

static void put_double(reap_sbuf *b, double v) {
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.17g", v);
    reap_sbuf_puts(b, tmp);
}

static void put_json(reap_sbuf *b, const cJSON *j) {
    char *t = cJSON_PrintUnformatted(j);
    REAP_ASSERT(t);
    reap_sbuf_puts(b, t);
    free(t);
}

static void put_array(reap_sbuf *b, const char *key, const reap_layer_stats *ls, int field) {
    reap_sbuf_printf(b, ",\n   \"%s\": [", key);
    for (int e = 0; e < ls->n_experts; e++) {
        const reap_expert_stats *x = &ls->e[e];
        if (e) reap_sbuf_puts(b, ",");
        switch (field) {
        case 0: reap_sbuf_printf(b, "%" PRIu64, x->count); break;
        case 1: put_double(b, x->gate_sum); break;
        case 2: put_double(b, x->norm_sum); break;
        case 3: put_double(b, x->reap_sum); break;
        default:
            if (x->count == 0 || isinf(x->max_act)) reap_sbuf_puts(b, "null");
            else put_double(b, x->max_act);
        }
    }
    reap_sbuf_puts(b, "]");
}

// max_act is "available" unless every routed expert carries NaN (a producer that did not track it).
static int has_max_act(const reap_stats *s) {
    for (int l = 0; l < s->n_layers; l++)
        for (int e = 0; e < s->n_experts; e++)
            if (s->layers[l].e[e].count && !isnan(s->layers[l].e[e].max_act)) return 1;
    return 0;
}

static int stats_save(const reap_stats *s, const char *path, int sealed) {
    int with_max = has_max_act(s);
    for (int l = 0; l < s->n_layers; l++)
        for (int e = 0; e < s->n_experts; e++) {
            const reap_expert_stats *x = &s->layers[l].e[e];
            if (!isfinite(x->gate_sum) || !isfinite(x->norm_sum) || !isfinite(x->reap_sum) ||
                (with_max && x->count && !isfinite(x->max_act)))
                return reap_fail(REAP_EINVAL, "%s: layer %d expert %d: statistics not finite (gate_sum %g, norm_sum %g, "
                                 "reap_sum %g, max_act %g)", path, l, e, x->gate_sum, x->norm_sum, x->reap_sum, x->max_act);
        }
    reap_sbuf b = {0};
    reap_sbuf_printf(&b, "{\n \"format\": \"reap-stats\",\n \"version\": %d,\n \"tool\": \"reap %s\",\n", REAP_STATS_VERSION,
                     REAP_VERSION);
    reap_sbuf_printf(&b, " \"fingerprint\": \"%s\",\n", s->fingerprint);
    if (s->router_digest[0]) reap_sbuf_printf(&b, " \"router_sha256\": \"%s\",\n", s->router_digest);
    reap_sbuf_puts(&b, " \"model\": ");
    cJSON *model = s->model ? cJSON_Duplicate(s->model, 1) : cJSON_CreateObject();
    // The sizes in "model" are the ones of the arrays: keep them consistent whatever the producer wrote.
    cJSON_DeleteItemFromObjectCaseSensitive(model, "n_layers");
    cJSON_DeleteItemFromObjectCaseSensitive(model, "n_experts");
    cJSON_DeleteItemFromObjectCaseSensitive(model, "top_k");
    cJSON_AddNumberToObject(model, "n_layers", s->n_layers);
    cJSON_AddNumberToObject(model, "n_experts", s->n_experts);
    cJSON_AddNumberToObject(model, "top_k", s->top_k);
    put_json(&b, model);
    cJSON_Delete(model);
    cJSON *calib = s->calib ? cJSON_Duplicate(s->calib, 1) : cJSON_CreateObject();
    cJSON_DeleteItemFromObjectCaseSensitive(calib, "router");
    cJSON_AddStringToObject(calib, "router", reap_router_mode_name(s->router));
    reap_sbuf_puts(&b, ",\n \"calibration\": ");
    put_json(&b, calib);
    cJSON_Delete(calib);
    reap_sbuf_printf(&b, ",\n \"layers_done\": %d,\n \"layers\": [", s->layers_done);
    for (int l = 0; l < s->n_layers; l++) {
        const reap_layer_stats *ls = &s->layers[l];
        reap_sbuf_printf(&b, "%s\n  {\"layer\": %d, \"tokens\": %" PRIu64, l ? "," : "", l, ls->tokens);
        put_array(&b, "count", ls, 0);
        put_array(&b, "gate_sum", ls, 1);
        put_array(&b, "norm_sum", ls, 2);
        put_array(&b, "reap_sum", ls, 3);
        if (with_max) put_array(&b, "max_act", ls, 4);
        reap_sbuf_puts(&b, "}");
    }
    reap_sbuf_puts(&b, "\n ]\n}\n");
    int st = sealed ? reap_write_file_sealed(path, b.p, b.n) : reap_write_file_atomic(path, b.p, b.n);
    reap_sbuf_free(&b);
    return st;
}

int reap_stats_save(const reap_stats *s, const char *path) { return stats_save(s, path, 0); }
int reap_stats_save_sealed(const reap_stats *s, const char *path) { return stats_save(s, path, 1); }

// ---- load

static int get_int(const cJSON *o, const char *key, const char *path, const char *where, int64_t lo, int64_t hi,
                   int64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
        v->valuedouble > (double)hi)
        return reap_fail(REAP_EINVAL, "%s: %s\"%s\" must be an integer in [%" PRId64 ", %" PRId64 "]", path, where, key,
                         lo, hi);
    *out = (int64_t)v->valuedouble;
    return REAP_OK;
}

static int load_array(const cJSON *layer, const char *key, const char *path, int l, reap_layer_stats *ls, int field) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(layer, key);
    if (!a && field == 4) {  // no max_act recorded: mark it unavailable
        for (int e = 0; e < ls->n_experts; e++) ls->e[e].max_act = NAN;
        return REAP_OK;
    }
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != ls->n_experts)
        return reap_fail(REAP_EINVAL, "%s: layer %d: \"%s\" must be an array of %d numbers", path, l, key, ls->n_experts);
    int e = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, a) {
        reap_expert_stats *x = &ls->e[e];
        if (field == 4 && cJSON_IsNull(v)) {
            x->max_act = -INFINITY;
            e++;
            continue;
        }
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return reap_fail(REAP_EINVAL, "%s: layer %d: \"%s\"[%d] is not a finite number", path, l, key, e);
        double d = v->valuedouble;
        switch (field) {
        case 0:
            if (d < 0 || d != floor(d) || d > 9007199254740992.0)
                return reap_fail(REAP_EINVAL, "%s: layer %d: count[%d] = %g is not a count", path, l, e, d);
            x->count = (uint64_t)d;
            break;
        case 1: x->gate_sum = d; break;
        case 2: x->norm_sum = d; break;
        case 3: x->reap_sum = d; break;
        default: x->max_act = d;
        }
        e++;
    }
    return REAP_OK;
}

// Statistics no scoring run can produce: a prune driven by them would be silently wrong. Each token
// routes to an expert at most once, so count <= tokens; gate weights and norms are >= 0, so the
// sums are; an expert never routed has zero sums.
static int check_layer(const reap_layer_stats *ls, const char *path, int l) {
    for (int e = 0; e < ls->n_experts; e++) {
        const reap_expert_stats *x = &ls->e[e];
        const char *neg = x->gate_sum < 0 ? "gate_sum" : x->norm_sum < 0 ? "norm_sum" : x->reap_sum < 0 ? "reap_sum" : NULL;
        if (neg)
            return reap_fail(REAP_EINVAL, "%s: layer %d: expert %d: %s = %g is negative (impossible statistics)", path,
                             l, e, neg, neg[0] == 'g' ? x->gate_sum : neg[0] == 'n' ? x->norm_sum : x->reap_sum);
        if (x->count > ls->tokens)
            return reap_fail(REAP_EINVAL,
                             "%s: layer %d: expert %d: count %" PRIu64 " exceeds the layer's %" PRIu64
                             " tokens (impossible statistics)",
                             path, l, e, x->count, ls->tokens);
        if (x->count == 0 && (x->gate_sum != 0 || x->norm_sum != 0 || x->reap_sum != 0))
            return reap_fail(REAP_EINVAL,
                             "%s: layer %d: expert %d: count 0 with a non-zero sum (gate_sum %g, norm_sum %g, reap_sum %g: "
                             "impossible statistics)",
                             path, l, e, x->gate_sum, x->norm_sum, x->reap_sum);
    }
    return REAP_OK;
}

static int read_shards(const reap_stats *s, const char *path, int *count, int **list, int *n);

// A file that ends with a checksum line (a work dir's stats.partial.json) is checked and read
// without it; sealed: the line is required.
static int stats_load(const char *path, reap_stats *s, int sealed) {
    memset(s, 0, sizeof *s);
    char *text;
    size_t len;
    int st = reap_read_file(path, &text, &len);
    if (st) return st;
    uint64_t sum;
    if (sealed || (len >= REAP_SEAL_BYTES && reap_seal_parse(text + len - REAP_SEAL_BYTES, &sum))) {
        char empty[REAP_SEAL_BYTES] = {0};
        st = len >= REAP_SEAL_BYTES ? reap_seal_check(path, text, len - REAP_SEAL_BYTES, text + len - REAP_SEAL_BYTES)
                                    : reap_seal_check(path, text, 0, empty);
        if (st) {
            free(text);
            return st;
        }
        len -= REAP_SEAL_BYTES;
        text[len] = 0;
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) {  // say where it broke: near the end a truncated file, else e.g. a NaN (not JSON) in one
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : len;
        free(text);
        return reap_fail(REAP_EINVAL, "%s: invalid JSON at byte %zu of %zu (%s)", path, off, len,
                         off + 8 >= len ? "truncated" : "a value JSON cannot hold, e.g. NaN or Infinity, or a syntax error");
    }
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return reap_fail(REAP_EINVAL, "%s: not a JSON object (is it a reap statistics file?)", path);
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    int64_t version, nl, ne, k, done;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *calib = cJSON_GetObjectItemCaseSensitive(root, "calibration");
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(root, "fingerprint");
    const cJSON *rd = cJSON_GetObjectItemCaseSensitive(root, "router_sha256");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "reap-stats") != 0) {
        st = reap_fail(REAP_EINVAL, "%s: \"format\" is not \"reap-stats\" (not a reap statistics file)", path);
        goto out;
    }
    if ((st = get_int(root, "version", path, "", 0, 1000000, &version))) goto out;
    if (version != REAP_STATS_VERSION) {
        st = reap_fail(REAP_EINVAL, "%s: statistics format version %" PRId64 " (this reap reads version %d)", path,
                       version, REAP_STATS_VERSION);
        goto out;
    }
    if (!cJSON_IsObject(model) || !cJSON_IsObject(calib)) {
        st = reap_fail(REAP_EINVAL, "%s: \"model\" and \"calibration\" must be objects", path);
        goto out;
    }
    if (!cJSON_IsString(fp) || strlen(fp->valuestring) != 64 || strspn(fp->valuestring, "0123456789abcdef") != 64) {
        st = reap_fail(REAP_EINVAL, "%s: \"fingerprint\" must be 64 lowercase hex digits", path);
        goto out;
    }
    if (rd && (!cJSON_IsString(rd) || strlen(rd->valuestring) != 64 || strspn(rd->valuestring, "0123456789abcdef") != 64)) {
        st = reap_fail(REAP_EINVAL, "%s: \"router_sha256\" must be 64 lowercase hex digits", path);
        goto out;
    }
    if ((st = get_int(model, "n_layers", path, "model.", 1, 100000, &nl)) ||
        (st = get_int(model, "n_experts", path, "model.", 1, 1000000, &ne)) ||
        (st = get_int(model, "top_k", path, "model.", 1, ne, &k)) ||
        (st = get_int(root, "layers_done", path, "", 0, nl, &done)))
        goto out;
    const cJSON *router = cJSON_GetObjectItemCaseSensitive(calib, "router");
    reap_router_mode mode;
    if (!cJSON_IsString(router) || reap_router_mode_parse(router->valuestring, &mode) != REAP_OK) {
        st = reap_fail(REAP_EINVAL, "%s: calibration.router must be \"model\", \"softmax\" or \"softmax-renorm\"", path);
        goto out;
    }
    if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) != nl) {
        st = reap_fail(REAP_EINVAL, "%s: \"layers\" must be an array of %" PRId64 " layers", path, nl);
        goto out;
    }
    // The sizes drive an allocation of n_layers x n_experts accumulators: check first that the file
    // holds that many counts, so a few bytes claiming a million experts cannot allocate gigabytes.
    {
        int l = 0;
        const cJSON *layer;
        cJSON_ArrayForEach(layer, layers) {
            const cJSON *count = cJSON_GetObjectItemCaseSensitive(layer, "count");
            if (cJSON_IsObject(layer) && (!cJSON_IsArray(count) || cJSON_GetArraySize(count) != ne)) {
                st = reap_fail(REAP_EINVAL, "%s: layer %d: \"count\" must be an array of %" PRId64 " numbers", path, l, ne);
                goto out;
            }
            l++;
        }
    }
    if ((st = reap_stats_init(s, (int)nl, (int)ne, (int)k))) goto out;
    s->layers_done = (int)done;
    s->router = mode;
    memcpy(s->fingerprint, fp->valuestring, 65);
    if (rd) memcpy(s->router_digest, rd->valuestring, 65);
    s->model = cJSON_Duplicate(model, 1);
    s->calib = cJSON_Duplicate(calib, 1);
    int l = 0, first_with_max = 0;
    const cJSON *layer;
    cJSON_ArrayForEach(layer, layers) {
        int64_t idx, tokens;
        reap_layer_stats *ls = &s->layers[l];
        if (!cJSON_IsObject(layer)) {
            st = reap_fail(REAP_EINVAL, "%s: layers[%d] is not an object", path, l);
            goto fail;
        }
        if ((st = get_int(layer, "layer", path, "layers[].", l, l, &idx)) ||
            (st = get_int(layer, "tokens", path, "layers[].", 0, INT64_C(9007199254740992), &tokens)))
            goto fail;
        ls->tokens = (uint64_t)tokens;
        // max_act is recorded for every layer or for none (save writes it for all or none).
        int with_max = cJSON_GetObjectItemCaseSensitive(layer, "max_act") != NULL;
        if (l == 0) first_with_max = with_max;
        if (with_max != first_with_max) {
            st = reap_fail(REAP_EINVAL, "%s: layer %d %s \"max_act\" but layer 0 %s", path, l, with_max ? "has" : "lacks",
                           first_with_max ? "has it" : "does not");
            goto fail;
        }
        static const char *const keys[5] = {"count", "gate_sum", "norm_sum", "reap_sum", "max_act"};
        for (int f = 0; f < 5; f++)
            if ((st = load_array(layer, keys[f], path, l, ls, f))) goto fail;
        if ((st = check_layer(ls, path, l))) goto fail;
        for (int e = 0; e < ls->n_experts; e++)
            if (ls->e[e].count == 0 && !isnan(ls->e[e].max_act)) ls->e[e].max_act = -INFINITY;
            else if (ls->e[e].count && isinf(ls->e[e].max_act) && ls->e[e].max_act < 0) {
                st = reap_fail(REAP_EINVAL, "%s: layer %d: expert %d was routed %" PRIu64 " times but max_act is null",
                               path, l, e, ls->e[e].count);
                goto fail;
            }
        l++;
    }
    int shard_count, *shards = NULL, n_shards;  // calibration.shard_count / shards, as merge reads them
    if ((st = read_shards(s, path, &shard_count, &shards, &n_shards))) goto fail;
    free(shards);
    goto out;
fail:
    reap_stats_free(s);
out:
    cJSON_Delete(root);
    return st;
}

int reap_stats_load(const char *path, reap_stats *s) { return stats_load(path, s, 0); }
int reap_stats_load_sealed(const char *path, reap_stats *s) { return stats_load(path, s, 1); }

// ---- merge

static const cJSON *calib_item(const reap_stats *s, const char *key) {
    return s->calib ? cJSON_GetObjectItemCaseSensitive(s->calib, key) : NULL;
}

// 1 when s was scored with FP8 expert GEMMs (calibration.gpu.expert_gemm "fp8 ...").
static int expert_gemm_fp8(const reap_stats *s) {
    const cJSON *g = calib_item(s, "gpu"), *e = g ? cJSON_GetObjectItemCaseSensitive(g, "expert_gemm") : NULL;
    return cJSON_IsString(e) && strncmp(e->valuestring, "fp8", 3) == 0;
}

static char *json_text(const cJSON *j) {
    if (!j) return reap_xstrdup("(absent)");
    char *t = cJSON_PrintUnformatted(j);
    return t ? t : reap_xstrdup("?");
}

// Reads calibration.shards as a sorted list of distinct indices in [0, count).
static int read_shards(const reap_stats *s, const char *path, int *count, int **list, int *n) {
    int64_t c;
    if (!s->calib || get_int(s->calib, "shard_count", path, "calibration.", 1, 1000000, &c))
        return reap_fail(REAP_EINVAL, "%s: calibration.shard_count missing or not a positive integer", path);
    const cJSON *a = calib_item(s, "shards");
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1)
        return reap_fail(REAP_EINVAL, "%s: calibration.shards missing or empty", path);
    int *v = reap_xmalloc(sizeof(int) * (size_t)cJSON_GetArraySize(a));
    int k = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a) {
        if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) || x->valuedouble < 0 ||
            x->valuedouble >= (double)c || (k && x->valuedouble <= v[k - 1])) {
            free(v);
            return reap_fail(REAP_EINVAL, "%s: calibration.shards must be increasing indices in [0, %" PRId64 ")", path, c);
        }
        v[k++] = (int)x->valuedouble;
    }
    *count = (int)c;
    *list = v;
    *n = k;
    return REAP_OK;
}

int reap_stats_missing_shards(const reap_stats *s, const char *path, int *shard_count, int **missing, int *n_missing) {
    int *have, n;
    int st = read_shards(s, path ? path : "statistics", shard_count, &have, &n);
    if (st) return st;
    int *m = reap_xmalloc(sizeof(int) * (size_t)(*shard_count - n + 1)), k = 0;
    for (int i = 0, j = 0; i < *shard_count; i++) {
        if (j < n && have[j] == i) j++;
        else m[k++] = i;
    }
    free(have);
    *missing = m;
    *n_missing = k;
    return REAP_OK;
}

void reap_stats_format_indices(const int *v, int n, char *buf, size_t size) {
    REAP_ASSERT(size >= 8);
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && v[j + 1] == v[j] + 1) j++;
        char part[48];
        if (j == i) snprintf(part, sizeof part, "%s%d", i ? ", " : "", v[i]);
        else snprintf(part, sizeof part, "%s%d-%d", i ? ", " : "", v[i], v[j]);
        if (len + strlen(part) + 4 >= size) {
            snprintf(buf + len, size - len, ", ...");
            return;
        }
        memcpy(buf + len, part, strlen(part) + 1);
        len += strlen(part);
        i = j + 1;
    }
}

int reap_stats_merge(reap_stats *dst, const reap_stats *src, const char *src_path) {
    const char *p = src_path ? src_path : "(statistics)";
    if (strcmp(dst->fingerprint, src->fingerprint) != 0)
        return reap_fail(REAP_EINVAL, "%s: statistics of a different model (fingerprint %.12s..., expected %.12s...)", p,
                         src->fingerprint, dst->fingerprint);
    if (strcmp(dst->router_digest, src->router_digest) != 0) {
        if (!dst->router_digest[0] || !src->router_digest[0])
            return reap_fail(REAP_EINVAL, "%s: %s router digest (router_sha256) and the statistics before it %s: "
                             "score every shard with the same reap", p, src->router_digest[0] ? "has a" : "has no",
                             dst->router_digest[0] ? "have one" : "have none");
        return reap_fail(REAP_EINVAL, "%s: statistics of other router weights (router_sha256 %.12s..., expected %.12s...): "
                         "same model shapes, different weights", p, src->router_digest, dst->router_digest);
    }
    if (dst->n_layers != src->n_layers || dst->n_experts != src->n_experts || dst->top_k != src->top_k)
        return reap_fail(REAP_EINVAL, "%s: model sizes differ: %d layers x %d experts top-%d, expected %d x %d top-%d", p,
                         src->n_layers, src->n_experts, src->top_k, dst->n_layers, dst->n_experts, dst->top_k);
    if (dst->router != src->router)
        return reap_fail(REAP_EINVAL, "%s: router mode %s differs from %s", p, reap_router_mode_name(src->router),
                         reap_router_mode_name(dst->router));
    if (src->layers_done != src->n_layers)
        return reap_fail(REAP_EINVAL, "%s: incomplete statistics (%d of %d layers done)", p, src->layers_done,
                         src->n_layers);
    if (dst->layers_done != dst->n_layers)
        return reap_fail(REAP_EINVAL, "merge target is incomplete (%d of %d layers done)", dst->layers_done,
                         dst->n_layers);
    static const char *const same[] = {"sources", "seq_len", "seed", "rows"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        const cJSON *a = calib_item(dst, same[i]), *b = calib_item(src, same[i]);
        if ((a || b) && !(a && b && cJSON_Compare(a, b, 1))) {
            char *ta = json_text(a), *tb = json_text(b);
            int st = reap_fail(REAP_EINVAL, "%s: calibration %s differs: %s, expected %s", p, same[i], tb, ta);
            free(ta);
            free(tb);
            return st;
        }
    }
    // Shards scored with FP8 expert GEMMs differ from bf16 or CPU ones by up to ~7% an expert
    // (bench/RESULTS.md): not one set of statistics. bf16 (GPU) and f32 (CPU) shards do merge.
    const int fa = expert_gemm_fp8(dst), fb = expert_gemm_fp8(src);
    if (fa != fb)
        return reap_fail(REAP_EINVAL, "%s: scored with %s expert GEMMs, the merge target with %s: score every shard with "
                         "the same --gpu-experts", p, fb ? "fp8" : "bf16/f32", fa ? "fp8" : "bf16/f32");
    int ca, cb, na, nb, *la, *lb;
    int st = read_shards(dst, "merge target", &ca, &la, &na);
    if (st) return st;
    if ((st = read_shards(src, p, &cb, &lb, &nb))) {
        free(la);
        return st;
    }
    if (ca != cb) {
        free(la);
        free(lb);
        return reap_fail(REAP_EINVAL, "%s: shard count %d differs from %d", p, cb, ca);
    }
    int *u = reap_xmalloc(sizeof(int) * (size_t)(na + nb)), nu = 0;
    for (int i = 0, j = 0; i < na || j < nb;) {
        if (i < na && j < nb && la[i] == lb[j]) {
            st = reap_fail(REAP_EINVAL, "%s: shard %d of %d is already included (overlapping shards)", p, la[i], ca);
            break;
        }
        if (j >= nb || (i < na && la[i] < lb[j])) u[nu++] = la[i++];
        else u[nu++] = lb[j++];
    }
    free(la);
    free(lb);
    if (st) {
        free(u);
        return st;
    }
    cJSON *arr = cJSON_CreateIntArray(u, nu);
    free(u);
    cJSON_ReplaceItemInObjectCaseSensitive(dst->calib, "shards", arr);
    const cJSON *ra = calib_item(dst, "rows_scored"), *rb = calib_item(src, "rows_scored");
    if (cJSON_IsNumber(ra) && cJSON_IsNumber(rb))
        cJSON_ReplaceItemInObjectCaseSensitive(dst->calib, "rows_scored",
                                               cJSON_CreateNumber(ra->valuedouble + rb->valuedouble));
    else if (ra)
        cJSON_DeleteItemFromObjectCaseSensitive(dst->calib, "rows_scored");
    for (int l = 0; l < dst->n_layers; l++) reap_layer_stats_add(&dst->layers[l], &src->layers[l]);
    return REAP_OK;
}

// ---- criteria

int reap_stats_saliency(const reap_stats *s, int layer, reap_criterion c, double *out) {
    if (layer < 0 || layer >= s->n_layers) return reap_fail(REAP_EINVAL, "statistics: no layer %d", layer);
    if (layer >= s->layers_done)
        return reap_fail(REAP_EINVAL, "statistics: layer %d is not complete (%d of %d layers done)", layer,
                         s->layers_done, s->n_layers);
    const reap_layer_stats *ls = &s->layers[layer];
    for (int e = 0; e < s->n_experts; e++) {
        const reap_expert_stats *x = &ls->e[e];
        double n = (double)x->count;
        switch (c) {
        case REAP_CRIT_REAP: out[e] = x->count ? x->reap_sum / n : 0.0; break;
        case REAP_CRIT_FREQUENCY: out[e] = n; break;
        case REAP_CRIT_WEIGHTED_FREQUENCY: out[e] = x->gate_sum; break;
        case REAP_CRIT_EAN_SUM: out[e] = x->norm_sum; break;
        case REAP_CRIT_EAN_MEAN: out[e] = x->count ? x->norm_sum / n : 0.0; break;
        case REAP_CRIT_WEIGHTED_EAN_SUM: out[e] = x->reap_sum; break;
        case REAP_CRIT_MAX_ACTIVATION:
            if (x->count && isnan(x->max_act))
                return reap_fail(REAP_EINVAL, "statistics: criterion max-activation is not available (the file has "
                                 "no max_act values)");
            out[e] = x->count ? x->max_act : -INFINITY;
            break;
        default: return reap_fail(REAP_EINVAL, "statistics: unknown criterion %d", (int)c);
        }
    }
    return REAP_OK;
}

// ---- fingerprint

// The hashed text starts with the model's sizes as "key=value" lines, the keys being the family's
// config.json keys and the values as cJSON prints them (the first version hashed the config's own
// values, which for every valid config print the same: an integer in decimal, model_type quoted).
int reap_stats_fingerprint(const reap_ckpt *c, const reap_m2_config *m, char hex[65]) {
    const reap_family_keys *k = &m->family->keys;
    const struct {
        const char *key;
        int v;
    } sizes[] = {{k->hidden, m->hidden},         {k->inter, m->inter},       {k->n_layers, m->n_layers},
                 {k->n_heads, m->n_heads},       {k->n_kv_heads, m->n_kv_heads}, {k->head_dim, m->head_dim},
                 {k->vocab, m->vocab},           {k->n_experts, m->n_experts}, {k->top_k, m->top_k}};
    reap_sbuf b = {0};
    reap_sbuf_puts(&b, "reap-fingerprint-v1\n");
    cJSON *mt = cJSON_CreateString(m->model_type);
    char *quoted = json_text(mt);
    reap_sbuf_printf(&b, "model_type=%s\n", quoted);
    free(quoted);
    cJSON_Delete(mt);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        reap_sbuf_printf(&b, "%s=%d\n", sizes[i].key, sizes[i].v);
    for (int i = 0; i < c->n_tensors; i++) {
        const reap_st_tensor *t = c->tensors[i].t;
        reap_sbuf_printf(&b, "%s\t%s\t[", c->tensors[i].name, reap_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) reap_sbuf_printf(&b, "%s%" PRId64, d ? "," : "", t->shape[d]);
        reap_sbuf_puts(&b, "]\n");
    }
    reap_sha256_buf(b.p, b.n, hex);
    reap_sbuf_free(&b);
    return REAP_OK;
}

// ---- router digest

static void digest_tensor(reap_sha256_ctx *h, const reap_ckpt *c, const reap_ckpt_tensor *ct, void **buf, size_t *cap,
                          int *st) {
    if (*st || !ct) return;
    const reap_st_tensor *t = ct->t;
    size_t n = (size_t)reap_st_nbytes(t);
    if (n > *cap) {
        free(*buf);
        *buf = reap_xmalloc(n);
        *cap = n;
    }
    if ((*st = reap_ckpt_read_raw(c, ct->name, *buf))) return;
    reap_sbuf b = {0};
    reap_sbuf_printf(&b, "%s %s [", ct->name, reap_dtype_name(t->dtype));
    for (int d = 0; d < t->ndim; d++) reap_sbuf_printf(&b, "%s%" PRId64, d ? "," : "", t->shape[d]);
    reap_sbuf_puts(&b, "]\n");
    reap_sha256_update(h, b.p, b.n);
    reap_sbuf_free(&b);
    reap_sha256_update(h, *buf, n);
}

int reap_stats_router_digest(const reap_ckpt *c, const reap_m2_config *m, char hex[65]) {
    const reap_family *f = m->family;
    reap_sha256_ctx h;
    reap_sha256_init(&h);
    reap_sha256_update(&h, "reap-router-v1\n", 15);
    void *buf = NULL;
    size_t cap = 0;
    int st = REAP_OK;
    char nm[128], sn[160];
    for (int l = 0; l < m->n_layers && !st; l++) {
        const char *gname = reap_family_layer_name(f, nm, l, f->router_gate);
        const reap_ckpt_tensor *g = reap_ckpt_find(c, gname);
        if (!g) {
            st = reap_fail(REAP_EINVAL, "%s: tensor %s missing (the router of layer %d)", c->dir, gname, l);
            break;
        }
        digest_tensor(&h, c, g, &buf, &cap, &st);
        snprintf(sn, sizeof sn, "%s_scale_inv", gname);
        digest_tensor(&h, c, reap_ckpt_find(c, sn), &buf, &cap, &st);
        if (f->router_bias) digest_tensor(&h, c, reap_ckpt_find(c, reap_family_layer_name(f, nm, l, f->router_bias)),
                                          &buf, &cap, &st);
    }
    free(buf);
    if (!st) reap_sha256_final(&h, hex);
    return st;
}

int reap_stats_check_model(const reap_stats *s, const char *stats_path, const reap_ckpt *c, const reap_m2_config *m,
                           const char *router_digest) {
    const char *sp = stats_path ? stats_path : "statistics";
    char fp[65], rd[65];
    int st = reap_stats_fingerprint(c, m, fp);
    if (st) return st;
    if (strcmp(fp, s->fingerprint) != 0)
        return reap_fail(REAP_EINVAL, "%s: statistics were computed on another model: fingerprint %.12s..., %s has "
                         "%.12s...", sp, s->fingerprint, c->dir, fp);
    if (!s->router_digest[0]) {
        reap_warn("%s: no router digest (written by an older reap): cannot check that it was scored on %s's router "
                  "weights, only on its shapes", sp, c->dir);
        return REAP_OK;
    }
    if (!router_digest) {
        if ((st = reap_stats_router_digest(c, m, rd))) return st;
        router_digest = rd;
    }
    if (strcmp(router_digest, s->router_digest) != 0)
        return reap_fail(REAP_EINVAL, "%s: statistics were scored on other router weights than %s's (router_sha256 "
                         "%.12s..., %s has %.12s...): same shapes, different weights", sp, c->dir, s->router_digest,
                         c->dir, router_digest);
    return REAP_OK;
}

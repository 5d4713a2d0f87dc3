// verify.c: see verify.h. Derives what the output must contain from the source and reap.json alone
// (not from the pruning plan code) and compares byte for byte, streaming with a bounded buffer.
#include "verify.h"
#include "prune.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "common.h"
#include "m2config.h"
#include "progress.h"
#include "stats.h"

#define CMP_CHUNK (4u << 20)
#define CMP_BUF (CMP_CHUNK + 2 * REAP_DIO_ALIGN)  // a chunk read with O_DIRECT: the aligned range around it
// Tensor pairs compared at once: several reads in flight (see check_tensors). -DVERIFY_THREADS=1
// builds the one-stream variant that bench comparisons measure against.
#ifndef VERIFY_THREADS
#define VERIFY_THREADS 8
#endif

typedef struct {
    reap_verify_result *r;
    const reap_m2_config *model;  // the source's description
    char *a, *b;  // compare buffers of the whole-file comparisons (CMP_CHUNK each)
} vctx;

static void mismatch(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mismatch(vctx *v, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!v->r->first[0]) snprintf(v->r->first, sizeof v->r->first, "%s", msg);
    if (v->r->n_mismatch < 10) reap_info("MISMATCH %s", msg);
    else reap_verbose("MISMATCH %s", msg);
    v->r->n_mismatch++;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

typedef struct {
    int n_layers, E, K;
    int *kept;  // (n_layers, K)
} kept_map;

static int read_reap_json(const char *out_dir, const reap_ckpt *src, const reap_m2_config *m, kept_map *km) {
    char *path = reap_path_join(out_dir, "reap.json"), *text;
    if (!reap_exists(path)) {  // the usual cause: the arguments in the wrong order
        char *other = reap_path_join(src->dir, "reap.json");
        int swapped = reap_exists(other);
        free(other);
        int st = reap_fail(REAP_EINVAL, "%s: the second argument is not a pruned checkpoint (no reap.json)%s", out_dir,
                           swapped ? "; the first is: swap them (reap verify SOURCE PRUNED)" : "");
        free(path);
        return st;
    }
    int st = reap_read_file(path, &text, NULL);
    if (st) {
        free(path);
        return st;
    }
    cJSON *r = cJSON_Parse(text);
    free(text);
    const cJSON *e0 = cJSON_GetObjectItemCaseSensitive(r, "n_experts_before");
    const cJSON *e1 = cJSON_GetObjectItemCaseSensitive(r, "n_experts_after");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(r, "layers");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(r, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "reap-prune") || !cJSON_IsNumber(e0) || !cJSON_IsNumber(e1) ||
        !cJSON_IsArray(layers)) {
        st = reap_fail(REAP_EINVAL, "%s: not a reap-prune record (format, n_experts_before/after, layers)", path);
        goto out;
    }
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, "source");
    const cJSON *fp = s ? cJSON_GetObjectItemCaseSensitive(s, "fingerprint") : NULL;
    char hex[65];
    reap_stats_fingerprint(src, m, hex);
    if (!cJSON_IsString(fp) || strcmp(fp->valuestring, hex) != 0) {
        st = reap_fail(REAP_EVERIFY, "%s: made from another source (fingerprint %.12s..., %s has %.12s...)", path,
                       cJSON_IsString(fp) ? fp->valuestring : "(none)", src->dir, hex);
        goto out;
    }
    km->E = (int)e0->valuedouble;
    km->K = (int)e1->valuedouble;
    km->n_layers = cJSON_GetArraySize(layers);
    if (m->n_layers != km->n_layers || m->n_experts != km->E || km->K < 1 || km->K > km->E) {
        st = reap_fail(REAP_EVERIFY, "%s: %d layers, %d -> %d experts do not fit the source %s", path, km->n_layers,
                       km->E, km->K, src->dir);
        goto out;
    }
    km->kept = reap_xmalloc(sizeof(int) * (size_t)km->n_layers * (size_t)km->K);
    int l = 0;
    const cJSON *lo;
    cJSON_ArrayForEach(lo, layers) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(lo, "kept");
        const cJSON *li = cJSON_GetObjectItemCaseSensitive(lo, "layer");
        if (!cJSON_IsNumber(li) || li->valuedouble != l || !cJSON_IsArray(k) || cJSON_GetArraySize(k) != km->K) {
            st = reap_fail(REAP_EVERIFY, "%s: layers[%d] must have \"layer\": %d and %d kept ids", path, l, l, km->K);
            goto out;
        }
        int j = 0, *row = km->kept + (size_t)l * km->K;
        const cJSON *x;
        cJSON_ArrayForEach(x, k) {
            if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) || x->valuedouble < 0 ||
                x->valuedouble >= km->E || (j && x->valuedouble <= row[j - 1])) {
                st = reap_fail(REAP_EVERIFY, "%s: layer %d: kept ids must increase within [0, %d)", path, l, km->E);
                goto out;
            }
            row[j++] = (int)x->valuedouble;
        }
        l++;
    }
out:
    cJSON_Delete(r);
    free(path);
    return st;
}

// Compares len bytes of two tensors from the given offsets, read past the page cache where possible
// (reap_st_read_direct: the source's dropped experts lie between the survivors) into the buffers a
// and b (CMP_BUF each, page-aligned). Returns 1 when equal, 0 when different (first differing byte
// offset in *at), or -1 on a read error (status in *st, message in this thread's reap_err_msg()).
static int same_bytes(char *a_buf, char *b_buf, const reap_ckpt *a, const int *a_dfd, const reap_ckpt_tensor *ta,
                      uint64_t oa, const reap_ckpt *b, const int *b_dfd, const reap_ckpt_tensor *tb, uint64_t ob,
                      uint64_t len, uint64_t *at, int *st) {
    const reap_st_file *fa = a->shards[ta->shard], *fb = b->shards[tb->shard];
    for (uint64_t done = 0; done < len;) {
        uint64_t n = len - done < CMP_CHUNK ? len - done : CMP_CHUNK;
        size_t pa, pb;
        if ((*st = reap_st_read_direct(fa, a_dfd[ta->shard], fa->data_offset + ta->t->begin + oa + done, n, a_buf, &pa)) ||
            (*st = reap_st_read_direct(fb, b_dfd[tb->shard], fb->data_offset + tb->t->begin + ob + done, n, b_buf, &pb)))
            return -1;
        const char *x = a_buf + pa, *y = b_buf + pb;
        if (memcmp(x, y, (size_t)n) != 0) {
            uint64_t i = 0;
            while (x[i] == y[i]) i++;
            *at = done + i;
            return 0;
        }
        done += n;
    }
    return 1;
}

// One source tensor's check: its output counterpart and what to compare, then the finding (a
// mismatch message, NULL when it matched or was dropped as planned).
typedef struct {
    const reap_ckpt_tensor *to;  // NULL: nothing to compare (dropped, missing or wrong shape)
    int slice_layer;             // >= 0: router row / bias entry slice of this layer
    uint64_t bytes;              // bytes compared (each side)
    char *msg;
} vjob;

// O_DIRECT descriptors of both checkpoints' shards (reap_st_direct_open; -1: through the page cache).
typedef struct {
    int *src, *out;
} direct_fds;

static void compare_job(const reap_ckpt *src, const reap_ckpt *out, const direct_fds *d, const kept_map *km, int i,
                        vjob *j, char *a, char *b, int *st) {
    const reap_ckpt_tensor *ts = &src->tensors[i], *to = j->to;
    uint64_t at = 0;
    if (j->slice_layer < 0) {
        int eq = same_bytes(a, b, src, d->src, ts, 0, out, d->out, to, 0, reap_st_nbytes(ts->t), &at, st);
        if (eq == 0) j->msg = reap_xasprintf("tensor %s differs from source %s at byte %" PRIu64, to->name, ts->name, at);
    } else {
        uint64_t row = reap_st_nbytes(ts->t) / (uint64_t)km->E;
        const int *kept = km->kept + (size_t)j->slice_layer * km->K;
        for (int k = 0; k < km->K; k++) {
            int eq = same_bytes(a, b, src, d->src, ts, (uint64_t)kept[k] * row, out, d->out, to, (uint64_t)k * row, row,
                                &at, st);
            if (eq < 0) break;
            if (eq == 0) {
                j->msg = reap_xasprintf("tensor %s: %s %d (expert %d of the source) differs at byte %" PRIu64, to->name,
                                        ts->t->ndim == 1 ? "entry" : "row", k, kept[k], at);
                break;
            }
        }
    }
    // no page-cache release here: reap_st_read_direct does it where it read through the page cache
}

static const reap_ckpt *by_offset_ckpt;  // the source, for the sort below (set before qsort, one caller)

static int cmp_by_offset(const void *x, const void *y) {  // source tensors in file order
    const reap_ckpt_tensor *a = &by_offset_ckpt->tensors[*(const int *)x], *b = &by_offset_ckpt->tensors[*(const int *)y];
    if (a->shard != b->shard) return a->shard < b->shard ? -1 : 1;
    return a->t->begin < b->t->begin ? -1 : a->t->begin > b->t->begin;
}

// Three passes: pair every source tensor with its expected output tensor (in name order: the
// structural findings), compare the bytes of the pairs VERIFY_THREADS at a time in the source's
// file order (several reads in flight, each shard read front to back), then report the findings
// in name order so the first mismatch does not depend on the threads.
static int check_tensors(vctx *v, const reap_ckpt *src, const reap_ckpt *out, const kept_map *km) {
    char *seen = reap_xcalloc((size_t)out->n_tensors + 1, 1);
    vjob *jobs = reap_xcalloc((size_t)src->n_tensors + 1, sizeof *jobs);
    const reap_family *f = v->model->family;
    char name[128];
    int n_cmp = 0;
    for (int i = 0; i < src->n_tensors; i++) {
        const reap_ckpt_tensor *ts = &src->tensors[i];
        const char *want = ts->name;
        int layer, expert, rest, slice_layer = -1;
        jobs[i].slice_layer = -1;
        if (reap_family_parse_expert_name(f, ts->name, &layer, &expert, &rest)) {
            if (layer < 0 || layer >= km->n_layers || expert < 0 || expert >= km->E) {
                jobs[i].msg = reap_xasprintf("source tensor %s is outside the %d layers x %d experts", ts->name,
                                             km->n_layers, km->E);
                continue;
            }
            const int *row = km->kept + (size_t)layer * km->K;
            const int *hit = bsearch(&expert, row, (size_t)km->K, sizeof(int), cmp_int);
            if (!hit) continue;  // dropped: its absence is checked by the name scan below
            want = reap_family_expert_name(f, name, layer, (int)(hit - row), ts->name + rest);
        } else if ((layer = reap_family_layer_of(f, ts->name)) >= 0 && layer < km->n_layers) {
            if (!strcmp(ts->name, reap_family_layer_name(f, name, layer, f->router_gate)) ||
                (f->router_bias && !strcmp(ts->name, reap_family_layer_name(f, name, layer, f->router_bias))))
                slice_layer = layer;
        }
        const reap_ckpt_tensor *to = reap_ckpt_find(out, want);
        if (!to) {
            jobs[i].msg = want == ts->name ? reap_xasprintf("tensor %s missing from the output", want)
                                           : reap_xasprintf("tensor %s (source %s) missing from the output", want, ts->name);
            continue;
        }
        seen[to - out->tensors] = 1;
        v->r->n_tensors++;
        int64_t shape[REAP_ST_MAX_DIMS];
        memcpy(shape, ts->t->shape, sizeof shape);
        if (slice_layer >= 0) shape[0] = km->K;
        if (to->t->dtype != ts->t->dtype || to->t->ndim != ts->t->ndim ||
            memcmp(shape, to->t->shape, sizeof(int64_t) * (size_t)ts->t->ndim) != 0) {
            jobs[i].msg = reap_xasprintf("tensor %s: dtype or shape differs from the expected %s [%" PRId64 ", ...]", want,
                                         reap_dtype_name(ts->t->dtype), shape[0]);
            continue;
        }
        jobs[i].to = to;
        jobs[i].slice_layer = slice_layer;
        jobs[i].bytes = slice_layer < 0 ? reap_st_nbytes(ts->t) : reap_st_nbytes(ts->t) / (uint64_t)km->E * (uint64_t)km->K;
        v->r->bytes_compared += jobs[i].bytes;
        n_cmp++;
    }

    int *order = reap_xmalloc(((size_t)n_cmp + 1) * sizeof *order), k = 0;
    for (int i = 0; i < src->n_tensors; i++)
        if (jobs[i].to) order[k++] = i;
    by_offset_ckpt = src;
    qsort(order, (size_t)n_cmp, sizeof *order, cmp_by_offset);
    int st = REAP_OK;
    char err[1024] = "";
    reap_progress bar;
    reap_progress_begin(&bar, "verify", "tensor", n_cmp, 0, v->r->bytes_compared);
    const int wn = snprintf(NULL, 0, "%d", n_cmp);
    direct_fds d = {reap_xmalloc(sizeof(int) * (size_t)(src->n_shards + 1)),
                    reap_xmalloc(sizeof(int) * (size_t)(out->n_shards + 1))};
    for (int i = 0; i < src->n_shards; i++) d.src[i] = reap_st_direct_open(src->shards[i]);
    for (int i = 0; i < out->n_shards; i++) d.out[i] = reap_st_direct_open(out->shards[i]);
#pragma omp parallel num_threads(VERIFY_THREADS)
    {
        char *a = reap_big_alloc(CMP_BUF), *b = reap_big_alloc(CMP_BUF);
#pragma omp for schedule(dynamic, 1)
        for (int x = 0; x < n_cmp; x++) {
            int failed;
#pragma omp atomic read
            failed = st;
            if (failed) continue;
            int e = REAP_OK;
            vjob *j = &jobs[order[x]];
            compare_job(src, out, &d, km, order[x], j, a, b, &e);
#pragma omp critical(verify_progress)
            {
                reap_progress_add(&bar, 1, j->bytes, j->to->name);
                if (!e && reap_log_level >= 1) {
                    char sz[32];
                    reap_verbose("[%*lld/%d] %s %s %s", wn, (long long)bar.done, n_cmp, j->to->name,
                                 reap_fmt_bytes((double)j->bytes, sz, sizeof sz), j->msg ? "DIFFERS" : "same");
                }
            }
            if (e) {
#pragma omp critical(verify_err)
                if (!err[0]) {
                    snprintf(err, sizeof err, "%s", reap_err_msg());
#pragma omp atomic write
                    st = e;
                }
            }
        }
        reap_big_free(a, CMP_BUF);
        reap_big_free(b, CMP_BUF);
    }
    for (int i = 0; i < src->n_shards; i++)
        if (d.src[i] >= 0) close(d.src[i]);
    for (int i = 0; i < out->n_shards; i++)
        if (d.out[i] >= 0) close(d.out[i]);
    free(d.src), free(d.out);
    reap_progress_end(&bar);
    free(order);
    if (st) st = reap_fail(st, "%s", err);
    for (int i = 0; i < src->n_tensors; i++) {
        if (jobs[i].msg && !st) mismatch(v, "%s", jobs[i].msg);
        free(jobs[i].msg);
    }
    free(jobs);
    for (int i = 0; i < out->n_tensors && !st; i++)
        if (!seen[i]) mismatch(v, "extra tensor %s in the output (dropped expert or not in the source)", out->tensors[i].name);
    free(seen);
    return st;
}

static void check_config(vctx *v, const reap_ckpt *src, const reap_ckpt *out, int K) {
    const char *experts_key = v->model->family->keys.n_experts;
    if (!src->config || !out->config) {
        mismatch(v, "config.json missing in %s", !src->config ? src->dir : out->dir);
        return;
    }
    const cJSON *a = src->config->child, *b = out->config->child;
    for (; a && b; a = a->next, b = b->next) {
        if (strcmp(a->string, b->string) != 0) {
            mismatch(v, "config.json: key \"%s\" where the source has \"%s\" (order or keys changed)", b->string, a->string);
            return;
        }
        if (!strcmp(a->string, experts_key)) {
            if (!cJSON_IsNumber(b) || b->valuedouble != K)
                mismatch(v, "config.json: %s is not %d (the kept count in reap.json)", experts_key, K);
        } else if (!cJSON_Compare(a, b, 1)) {
            mismatch(v, "config.json: \"%s\" differs from the source", a->string);
        }
    }
    if (a || b) mismatch(v, "config.json: key \"%s\" %s", (a ? a : b)->string, a ? "missing in the output" : "not in the source");
}

static int same_file(vctx *v, const char *pa, const char *pb) {
    // A special file (a FIFO would block the open) is never the same: reap_open_regular refuses it.
    int fa = -1, fb = -1;
    if (reap_open_regular(pa, &fa) == REAP_OK) reap_open_regular(pb, &fb);
    int eq = fa >= 0 && fb >= 0;
    while (eq) {
        ssize_t na = read(fa, v->a, CMP_CHUNK), nb = read(fb, v->b, CMP_CHUNK);
        if (na != nb || na < 0 || memcmp(v->a, v->b, (size_t)na) != 0) eq = 0;
        else if (na == 0) break;
    }
    if (fa >= 0) close(fa);
    if (fb >= 0) close(fb);
    return eq;
}

static int is_weight_or_generated(const reap_ckpt *c, const char *n) {
    size_t ln = strlen(n);
    if (!strcmp(n, "config.json") || !strcmp(n, "model.safetensors.index.json") || !strcmp(n, "reap.json")) return 1;
    if (ln > 12 && !strcmp(n + ln - 12, ".safetensors")) return 1;
    for (int s = 0; s < c->n_shards; s++)
        if (!strcmp(n, c->shard_names[s])) return 1;
    return 0;
}

// README.md: the output's is the source's with prune's model card section inserted (prune_card.c);
// without a source README the output's is the card alone.
static void check_readme(vctx *v, const char *src_dir, const char *out_dir) {
    char *ps = reap_path_join(src_dir, "README.md"), *po = reap_path_join(out_dir, "README.md");
    char *ts = NULL, *to = NULL;
    size_t ls = 0, lo = 0, off, n;
    int hs = reap_exists(ps), ho = reap_exists(po);
    if (hs) v->r->n_files++;
    if (!ho) {
        if (hs) mismatch(v, "file README.md of the source is missing from the output");
    } else if ((hs && reap_read_file(ps, &ts, &ls)) || reap_read_file(po, &to, &lo)) {
        mismatch(v, "README.md: cannot read");
    } else if (!reap_prune_card_find(to, lo, &off, &n)) {
        mismatch(v, "README.md of the output has no reap model card section");
    } else if (lo - n != ls || memcmp(to, ts ? ts : "", off) != 0 || memcmp(to + off + n, (ts ? ts : "") + off, ls - off) != 0) {
        mismatch(v, "README.md: apart from the model card it differs from the source's");
    }
    free(ts), free(to), free(ps), free(po);
}

// Every file under a (except weights and generated files at the top) must be in b with the same
// bytes; with check_extra, files of b that a lacks are reported instead.
static void check_files(vctx *v, const char *da, const char *db, const char *rel, const reap_ckpt *ca,
                        const reap_ckpt *cb, int check_extra) {
    DIR *d = opendir(da);
    if (!d) {
        mismatch(v, "%s: cannot list", da);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..")) continue;
        if (!*rel && (is_weight_or_generated(ca, n) || (check_extra && is_weight_or_generated(cb, n)))) continue;
        if (!*rel && check_extra && !strcmp(n, "reap-stats.json")) continue;
        if (!*rel && !strcmp(n, "README.md")) continue;  // check_readme
        char *pa = reap_path_join(da, n), *pb = reap_path_join(db, n);
        char *r = *rel ? reap_xasprintf("%s/%s", rel, n) : reap_xstrdup(n);
        struct stat sa, sb;
        int ha = stat(pa, &sa) == 0, hb = stat(pb, &sb) == 0;
        if (ha && (S_ISDIR(sa.st_mode) || S_ISREG(sa.st_mode))) {
            if (check_extra) {
                if (!hb) mismatch(v, "extra file %s in the output (not in the source)", r);
                else if (S_ISDIR(sa.st_mode)) check_files(v, pa, pb, r, ca, cb, 1);
            } else if (!hb || S_ISDIR(sa.st_mode) != S_ISDIR(sb.st_mode)) {
                mismatch(v, "file %s of the source is missing from the output", r);
            } else if (S_ISDIR(sa.st_mode)) {
                check_files(v, pa, pb, r, ca, cb, 0);
            } else {
                v->r->n_files++;
                if (!same_file(v, pa, pb)) mismatch(v, "file %s differs from the source", r);
            }
        }
        free(pa);
        free(pb);
        free(r);
    }
    closedir(d);
}

int reap_verify(const char *src_dir, const char *out_dir, reap_verify_result *r) {
    memset(r, 0, sizeof *r);
    double t0 = reap_now();
    reap_ckpt *src = NULL, *out = NULL;
    reap_m2_config model;
    kept_map km = {0};
    int st = reap_ckpt_open(src_dir, &src);
    // A path that is not a directory is a bad argument (exit 1); a directory that does not hold a
    // valid checkpoint is a verification failure (exit 3).
    if (!st && (st = reap_ckpt_open(out_dir, &out)) && reap_is_dir(out_dir)) {
        char why[1024];
        snprintf(why, sizeof why, "%s", reap_err_msg());
        st = reap_fail(REAP_EVERIFY, "output %s is not a valid checkpoint: %s", out_dir, why);
    }
    if (!st) st = reap_m2_config_load(src, &model);
    if (!st) st = read_reap_json(out_dir, src, &model, &km);
    if (st) goto done;
    vctx v = {r, &model, reap_xmalloc(CMP_CHUNK), reap_xmalloc(CMP_CHUNK)};
    st = check_tensors(&v, src, out, &km);
    if (!st) {
        check_config(&v, src, out, km.K);
        check_files(&v, src_dir, out_dir, "", src, out, 0);
        check_readme(&v, src_dir, out_dir);
        check_files(&v, out_dir, src_dir, "", out, src, 1);
    }
    free(v.a);
    free(v.b);
    if (!st && r->n_mismatch)
        st = reap_fail(REAP_EVERIFY, "%s: %d mismatch%s; first: %s", out_dir, r->n_mismatch,
                       r->n_mismatch == 1 ? "" : "es", r->first);
done:
    r->seconds = reap_now() - t0;
    free(km.kept);
    reap_ckpt_close(src);
    reap_ckpt_close(out);
    return st;
}

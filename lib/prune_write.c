// prune_write.c: the streamed rewriter of a pruning plan (prune.h) and its file safety: lock,
// temporary sibling directory, interruption, atomic replacement of OUT.
//
// Order of work: lock OUT.lock -> mkdtemp OUT.tmp-XXXXXX -> shards (survivors copied in pieces of
// up to 16 MB, read and written at their offsets by several threads; router rows and bias entries
// sliced) -> config.json (one value edited in the raw text) -> every non-weight file -> reap.json ->
// index (last) -> fsync -> rename into place (with force: old OUT renamed aside first, deleted after).
#include "prune.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "m2config.h"
#include "progress.h"

static int cancelled(const reap_prune_write_opts *o) { return o->cancel && *o->cancel; }

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT ? -1 : 0;
}

static void remove_tree(const char *path) { (void)nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

// Absolute path of a file that may not exist yet: realpath(dirname) + "/" + basename.
static int abs_out_path(const char *out, char **abs) {
    char *d = reap_xstrdup(out);
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/') d[--n] = 0;
    char *slash = strrchr(d, '/');
    const char *base = slash ? slash + 1 : d;
    char *parent = reap_path_dir(d);
    int st = REAP_OK;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        st = reap_fail(REAP_EUSAGE, "%s: the output must name a new directory", out);
    } else if (!reap_is_dir(parent)) {  // as score: a typo in the path is not silently created
        st = reap_fail(REAP_EINVAL, "%s: directory '%s' does not exist", out, parent);
    } else {
        char rp[PATH_MAX];
        if (!realpath(parent, rp)) st = reap_fail(REAP_EIO, "%s: cannot resolve: %s", parent, strerror(errno));
        else *abs = reap_xasprintf("%s%s%s", rp, strcmp(rp, "/") ? "/" : "", base);
    }
    free(parent);
    free(d);
    return st;
}

static int is_within(const char *inner, const char *outer) {
    size_t n = strlen(outer);
    return strncmp(inner, outer, n) == 0 && (inner[n] == '/' || (n == 1 && outer[0] == '/'));
}

// An existing OUT is replaced (with force) only if it is a directory: a file or a device node such as
// /dev/null would otherwise be renamed aside and deleted.
static int check_existing_out(const char *abs_out, const char *out_dir, int force) {
    if (!reap_exists(abs_out)) return REAP_OK;
    if (!reap_is_dir(abs_out))
        return reap_fail(REAP_EINVAL, "%s exists and is not a directory; refusing to replace it", out_dir);
    if (!force)
        return reap_fail(REAP_EINVAL, "%s exists (use --force to replace it once the new output is complete)", out_dir);
    return REAP_OK;
}

// flock on OUT.lock; the inode check makes the lock survive a concurrent unlink of the lock file.
static int take_lock(const char *lock_path, int *fd_out) {
    for (int tries = 0; tries < 10; tries++) {
        int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) return reap_fail(REAP_EIO, "%s: cannot create the lock file: %s", lock_path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return reap_fail(REAP_EINVAL, "%s is locked: another reap prune is writing this output", lock_path);
            return reap_fail(REAP_EIO, "%s: flock failed: %s", lock_path, strerror(e));
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(lock_path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
            *fd_out = fd;
            return REAP_OK;
        }
        close(fd);
    }
    return reap_fail(REAP_EIO, "%s: could not take the lock", lock_path);
}

// Removes OUT.tmp-XXXXXX and OUT.old-PID siblings left by a killed run (we hold OUT's lock, so no
// live run owns them): a half-written output, or an old output a replace had not deleted yet.
static void remove_stale_tmp(const char *abs_out) {
    char *parent = reap_xstrdup(abs_out);
    char *slash = strrchr(parent, '/');
    const char *base = abs_out + (slash - parent) + 1;
    if (slash == parent) slash[1] = 0;
    else *slash = 0;
    char *prefix = reap_xasprintf("%s.tmp-", base), *old_prefix = reap_xasprintf("%s.old-", base);
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int is_tmp = strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strlen(e->d_name) == strlen(prefix) + 6;
        int is_old = strncmp(e->d_name, old_prefix, strlen(old_prefix)) == 0 &&
                     strspn(e->d_name + strlen(old_prefix), "0123456789") == strlen(e->d_name + strlen(old_prefix)) &&
                     e->d_name[strlen(old_prefix)];
        if (!is_tmp && !is_old) continue;
        char *p = reap_path_join(parent, e->d_name);
        reap_info("removing %s left by an interrupted run", p);
        remove_tree(p);
        free(p);
    }
    if (d) closedir(d);
    free(old_prefix);
    free(prefix);
    free(parent);
}

// ---- shards
//
// The source is read with O_DIRECT where the filesystem allows it (reap_st_read_direct), unless
// --keep-page-cache asks for its pages: the reads are then exactly the kept bytes.
// Through the page cache, the kernel's readahead also read much of the dropped experts between the
// pieces (15.5 GB read for 12.85 GB kept of a 17.2 GB checkpoint at ratio 0.30), and a cold prune
// was at 0.78-0.81 of `cp -r`'s time instead of the 0.75 of the bytes. With O_DIRECT nothing of the
// source is cached, as the default of dropping its pages after reading them asks anyway.
//
// The output shards' data is cut into pieces: a run of kept tensors that lie back to back in one
// source shard (and so in one output shard), at most PIECE_BYTES, or one sliced tensor. o->threads
// threads take the pieces in source order, each reading a piece with one pread and writing it with
// one pwrite at its place in its output shard. Every thread stays busy to the end whatever the
// number of shards (one writer per shard left the last shard to a single thread), and every read is
// large, with o->threads of them in flight (what a disk needs to reach its rate). Where the source
// is read through the page cache, its pages are released after each piece.

#define PIECE_BYTES (16u << 20)

typedef struct {
    int shard, src_shard;     // output and source shard
    int t0, t1;               // plan tensors whose last byte is in this piece (reported after it)
    int slice;                // 1: tensor t0 is sliced (t1 = t0 + 1); 0: bytes copied
    uint64_t src, out, len;   // source file offset (copies), output data offset, bytes
} piece;

static piece *plan_pieces(const reap_ckpt *c, const reap_prune_plan *pl, int *n_pieces, uint64_t *largest) {
    int n = 0, cap = 256;
    piece *v = reap_xmalloc(sizeof *v * (size_t)cap);
    uint64_t *out_off = reap_xcalloc((size_t)(pl->n_out_shards > 0 ? pl->n_out_shards : 1), sizeof *out_off);
    *largest = PIECE_BYTES;
    for (int i = 0; i < pl->n_tensors; i++) {
        const reap_prune_tensor *pt = &pl->tensors[i];
        if (pt->action == REAP_PRUNE_DROP) continue;
        const uint64_t out = out_off[pt->out_shard];
        out_off[pt->out_shard] += pt->out_bytes;
        uint64_t src = c->shards[pt->src_shard]->data_offset + pt->src->begin, left = pt->out_bytes;
        if (pt->action == REAP_PRUNE_SLICE && pt->out_bytes > *largest) *largest = pt->out_bytes;
        piece *last = n ? &v[n - 1] : NULL;
        if (pt->action == REAP_PRUNE_COPY && last && !last->slice && last->shard == pt->out_shard &&
            last->src_shard == pt->src_shard && last->src + last->len == src && last->out + last->len == out &&
            last->len < PIECE_BYTES) {  // continues the last piece in both files
            const uint64_t take = left < PIECE_BYTES - last->len ? left : PIECE_BYTES - last->len;
            last->len += take, src += take, left -= take;
            if (!left) {
                last->t1 = i + 1;
                continue;
            }
        }
        do {  // new pieces for the rest (a slice is one piece whatever its size)
            if (n == cap) v = reap_xrealloc(v, sizeof *v * (size_t)(cap *= 2));
            const int slice = pt->action == REAP_PRUNE_SLICE;
            const uint64_t take = slice || left < PIECE_BYTES ? left : PIECE_BYTES;
            v[n++] = (piece){.shard = pt->out_shard, .src_shard = pt->src_shard, .t0 = i, .t1 = i, .slice = slice,
                             .src = src, .out = out + (pt->out_bytes - left), .len = take};
            src += take, left -= take;
        } while (left);
        v[n - 1].t1 = i + 1;  // the tensor ends in the last piece made
    }
    free(out_off);
    *n_pieces = n;
    return v;
}

// Rows (first dimension) of the survivors, in order, into buf. t (E, ...) any dtype -> (K, ...).
static int slice_rows(const reap_st_file *f, const reap_st_tensor *t, const int *kept, int K, int E, char *buf) {
    const uint64_t row = reap_st_nbytes(t) / (uint64_t)E;
    for (int k = 0; k < K; k++) {
        int st = reap_st_read(f, t, (uint64_t)kept[k] * row, row, buf + (size_t)k * row);
        if (st) return st;
    }
    return REAP_OK;
}

static int write_piece(const reap_ckpt *c, const reap_prune_plan *pl, const int *dfd, reap_st_writer *w,
                       const piece *p, char *buf) {
    const reap_st_file *f = c->shards[p->src_shard];
    int st;
    size_t at = 0;
    if (p->slice) {
        const reap_prune_tensor *pt = &pl->tensors[p->t0];
        st = slice_rows(f, pt->src, pl->kept + (size_t)pt->layer * pl->keep, pl->keep, pl->n_experts, buf);
        reap_st_release(f, pt->src);
    } else {
        st = reap_st_read_direct(f, dfd[p->src_shard], p->src, p->len, buf, &at);
    }
    return st ? st : reap_st_writer_pwrite(w, p->out, buf + at, (size_t)p->len);
}

// What the writing threads share: the progress display and the first failure (its status and
// message: error messages are per thread, so the caller re-raises it).
typedef struct {
    int n_out, done;
    atomic_int st;  // read by every thread between pieces
    uint64_t bytes;
    reap_progress bar;  // tensors and bytes written
    char msg[1024];
} shard_job;

static int shard_failed(shard_job *j) { return atomic_load(&j->st); }

static void shard_fail(shard_job *j, int st) {
#pragma omp critical(prune_shard_job)
    if (!atomic_load(&j->st)) {
        snprintf(j->msg, sizeof j->msg, "%s", reap_err_msg());
        atomic_store(&j->st, st);
    }
}

// After a piece is written, for each tensor that ends in it: the display, a line per tensor under
// -v, the caller's hook.
static void shard_progress(shard_job *j, const reap_prune_plan *pl, const piece *p, const reap_prune_write_opts *o) {
#pragma omp critical(prune_shard_job)
    for (int i = p->t0; i < p->t1; i++) {
        const reap_prune_tensor *pt = &pl->tensors[i];
        if (pt->action == REAP_PRUNE_DROP) continue;
        int done = ++j->done;
        j->bytes += pt->out_bytes;
        reap_progress_add(&j->bar, 1, pt->out_bytes, pt->out_name);
        if (reap_log_level >= 1) {
            char shape[96] = "[", sz[32];
            for (int d = 0; d < pt->src->ndim; d++)
                snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%" PRId64, d ? ", " : "",
                         pt->out_shape[d]);
            strncat(shape, "]", sizeof shape - strlen(shape) - 1);
            reap_verbose("[%*d/%d] %s %s %s %s %s", (int)snprintf(NULL, 0, "%d", j->n_out), done, j->n_out, pt->out_name,
                         shape, reap_dtype_name(pt->src->dtype), pt->action == REAP_PRUNE_SLICE ? "slice" : "keep",
                         reap_fmt_bytes((double)pt->out_bytes, sz, sizeof sz));
        }
        if (o->progress) o->progress(o->progress_ctx, done, j->n_out, pt->out_name, pt->out_bytes);
    }
}

// Output shard s's writer with its header written: the metadata of the shard its first tensor comes
// from, then its tensors in source order.
static int open_shard(const reap_ckpt *c, const reap_prune_plan *pl, const char *tmp_dir, int s, reap_st_writer **out) {
    char *path = reap_path_join(tmp_dir, pl->out_shard_names[s]);
    reap_st_writer *w = NULL;
    int st = reap_st_writer_open(path, &w);
    free(path);
    if (st) return st;
    int first = 1;
    for (int i = 0; i < pl->n_tensors && !st; i++) {
        const reap_prune_tensor *pt = &pl->tensors[i];
        if (pt->out_shard != s) continue;
        if (first) {
            first = 0;
            const reap_st_file *f = c->shards[pt->src_shard];
            for (int m = 0; m < f->n_meta && !st; m++) st = reap_st_writer_meta(w, f->meta_keys[m], f->meta_vals[m]);
        }
        if (!st) st = reap_st_writer_add(w, pt->out_name, pt->src->dtype, pt->src->ndim, pt->out_shape);
    }
    if (!st) st = reap_st_writer_begin(w);
    if (st) reap_st_writer_abort(w);
    else *out = w;
    return st;
}

static int write_shards(const reap_ckpt *c, const reap_prune_plan *pl, const char *tmp_dir,
                        const reap_prune_write_opts *o) {
    shard_job j = {.n_out = 0};
    atomic_init(&j.st, REAP_OK);
    uint64_t total_bytes = 0, largest;
    for (int i = 0; i < pl->n_tensors; i++)
        if (pl->tensors[i].action != REAP_PRUNE_DROP) j.n_out++, total_bytes += pl->tensors[i].out_bytes;
    const int S = pl->n_out_shards;
    reap_st_writer **w = reap_xcalloc((size_t)(S > 0 ? S : 1), sizeof *w);
    int st = REAP_OK, np = 0;
    for (int s = 0; s < S && !st; s++) st = open_shard(c, pl, tmp_dir, s, &w[s]);
    piece *pc = st ? NULL : plan_pieces(c, pl, &np, &largest);
    int *dfd = reap_xmalloc(sizeof(int) * (size_t)(c->n_shards > 0 ? c->n_shards : 1));
    for (int i = 0; i < c->n_shards; i++)
        dfd[i] = reap_st_direct_open(c->shards[i]);
    int nt = o->threads > 0 ? o->threads : REAP_PRUNE_DEFAULT_THREADS;
    if (nt > np) nt = np > 0 ? np : 1;
    double t0 = reap_now();
    if (!st) {
        reap_progress_begin(&j.bar, "prune", "tensor", j.n_out, 0, total_bytes);
#pragma omp parallel num_threads(nt)
        {
            const size_t nb = (size_t)largest + 2 * REAP_DIO_ALIGN;
            char *buf = reap_big_alloc(nb);  // page-aligned
#pragma omp for schedule(dynamic, 1)
            for (int k = 0; k < np; k++) {
                if (shard_failed(&j)) continue;
                int e = cancelled(o) ? reap_fail(REAP_EINTR, "interrupted")
                                     : write_piece(c, pl, dfd, w[pc[k].shard], &pc[k], buf);
                if (e) shard_fail(&j, e);
                else shard_progress(&j, pl, &pc[k], o);
            }
            reap_big_free(buf, nb);
        }
        reap_progress_end(&j.bar);
        if ((st = atomic_load(&j.st))) st = reap_fail(st, "%s", j.msg);
    }
    // each shard: fsync, rename into the temporary directory (all at once: the write-back of each
    // file is its own)
    if (!st) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
        for (int s = 0; s < S; s++) {
            int e = reap_st_writer_finish(w[s]);
            w[s] = NULL;
            if (e) shard_fail(&j, e);
        }
        if ((st = atomic_load(&j.st))) st = reap_fail(st, "%s", j.msg);
    }
    for (int s = 0; s < S; s++) reap_st_writer_abort(w[s]);
    for (int i = 0; i < c->n_shards; i++)
        if (dfd[i] >= 0) close(dfd[i]);
    free(dfd);
    free(w);
    free(pc);
    if (st) return st;
    double dt = reap_now() - t0;
    reap_verbose("tensors written: %d in %d pieces by %d thread%s (%.1f MB/s)", j.done, np, nt, nt == 1 ? "" : "s",
                 dt > 0 ? (double)j.bytes / 1e6 / dt : 0.0);
    return REAP_OK;
}

// ---- other files

static int copy_tree(const char *src, const char *dst, const reap_ckpt *c, int top, const reap_prune_write_opts *o) {
    DIR *d = opendir(src);
    if (!d) return reap_fail(REAP_EIO, "%s: cannot list: %s", src, strerror(errno));
    int st = REAP_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..")) continue;
        if (top) {
            int skip = !strcmp(n, "config.json") || !strcmp(n, "model.safetensors.index.json") || !strcmp(n, "reap.json") ||
                       !strcmp(n, "README.md");  // written with the model card (prune_card.c)
            for (int s = 0; s < c->n_shards && !skip; s++) skip = !strcmp(n, c->shard_names[s]);
            if (skip) continue;
        }
        char *sp = reap_path_join(src, n), *dp = reap_path_join(dst, n);
        struct stat sb;
        size_t ln = strlen(n);
        if (cancelled(o)) st = reap_fail(REAP_EINTR, "interrupted");
        else if (stat(sp, &sb) != 0) reap_warn("%s: skipped (cannot stat: %s)", sp, strerror(errno));
        else if (S_ISDIR(sb.st_mode)) {
            if (mkdir(dp, 0755) != 0) st = reap_fail(REAP_EIO, "%s: cannot create directory: %s", dp, strerror(errno));
            else st = copy_tree(sp, dp, c, 0, o);
        } else if (!S_ISREG(sb.st_mode)) {
            reap_warn("%s: skipped (not a regular file)", sp);
        } else if (top && ln > 12 && !strcmp(n + ln - 12, ".safetensors")) {
            reap_warn("%s: skipped (a weights file the checkpoint's index does not reference)", sp);
        } else {
            reap_verbose("copy %s", sp);
            st = reap_copy_file(sp, dp);
        }
        free(sp);
        free(dp);
    }
    closedir(d);
    return st;
}

// ---- reap.json and the index

static int write_reap_json(const reap_ckpt *c, const reap_prune_plan *pl, const char *tmp_dir,
                           const reap_prune_write_opts *o) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "format", "reap-prune");
    cJSON_AddNumberToObject(r, "version", 1);
    cJSON_AddStringToObject(r, "tool", "reap " REAP_VERSION);
    char rp[PATH_MAX], fp[65];
    cJSON *src = cJSON_AddObjectToObject(r, "source");
    cJSON_AddStringToObject(src, "path", realpath(c->dir, rp) ? rp : c->dir);
    reap_stats_fingerprint(c, &pl->model, fp);
    cJSON_AddStringToObject(src, "fingerprint", fp);
    cJSON_AddNumberToObject(src, "total_size", (double)c->total_size);
    char lab[32];
    cJSON_AddStringToObject(r, "criterion", reap_selection_label(pl->params.criterion, pl->params.seed, lab, sizeof lab));
    if (pl->params.ratio >= 0) cJSON_AddNumberToObject(r, "ratio", pl->params.ratio);
    else cJSON_AddNullToObject(r, "ratio");
    if (pl->params.ratio < 0) cJSON_AddNumberToObject(r, "keep_requested", pl->params.keep);
    if (pl->params.align > 1) cJSON_AddNumberToObject(r, "align", pl->params.align);
    cJSON_AddNumberToObject(r, "n_experts_before", pl->n_experts);
    cJSON_AddNumberToObject(r, "n_experts_after", pl->keep);
    cJSON_AddNumberToObject(r, "top_k", pl->top_k);
    cJSON_AddStringToObject(r, "tie_rule", "equal saliency: the higher original index is dropped first");
    if (o->stats_path) {
        cJSON *s = cJSON_AddObjectToObject(r, "statistics");
        char hex[65];
        int st = reap_sha256_file(o->stats_path, hex);
        if (st) {
            cJSON_Delete(r);
            return st;
        }
        if (o->stats_into_output) cJSON_AddStringToObject(s, "file", "reap-stats.json");
        else cJSON_AddStringToObject(s, "file", realpath(o->stats_path, rp) ? rp : o->stats_path);
        cJSON_AddStringToObject(s, "sha256", hex);
        if (o->stats) {
            cJSON_AddStringToObject(s, "fingerprint", o->stats->fingerprint);
            cJSON_AddStringToObject(s, "router", reap_router_mode_name(o->stats->router));
            if (o->stats->calib) cJSON_AddItemToObject(s, "calibration", cJSON_Duplicate(o->stats->calib, 1));
        }
    } else {
        cJSON_AddNullToObject(r, "statistics");
    }
    cJSON *layers = cJSON_AddArrayToObject(r, "layers");
    for (int l = 0; l < pl->n_layers; l++) {
        cJSON *lo = cJSON_CreateObject();
        cJSON_AddNumberToObject(lo, "layer", l);
        cJSON_AddItemToObject(lo, "kept", cJSON_CreateIntArray(pl->kept + (size_t)l * pl->keep, pl->keep));
        if (pl->mass_removed) cJSON_AddNumberToObject(lo, "saliency_mass_removed", pl->mass_removed[l]);
        cJSON_AddItemToArray(layers, lo);
    }
    char *text = cJSON_Print(r);
    cJSON_Delete(r);
    char *path = reap_path_join(tmp_dir, "reap.json");
    reap_sbuf b = {0};
    reap_sbuf_puts(&b, text);
    reap_sbuf_puts(&b, "\n");
    int st = reap_write_file_atomic(path, b.p, b.n);
    reap_sbuf_free(&b);
    free(text);
    free(path);
    return st;
}

static int cmp_name(const void *a, const void *b) {
    const reap_prune_tensor *x = *(const reap_prune_tensor *const *)a, *y = *(const reap_prune_tensor *const *)b;
    return strcmp(x->out_name, y->out_name);
}

static int write_index(const reap_prune_plan *pl, const char *tmp_dir) {
    const reap_prune_tensor **v = reap_xmalloc(sizeof *v * (size_t)(pl->n_tensors + 1));
    int n = 0;
    for (int i = 0; i < pl->n_tensors; i++)
        if (pl->tensors[i].action != REAP_PRUNE_DROP) v[n++] = &pl->tensors[i];
    qsort(v, (size_t)n, sizeof *v, cmp_name);
    reap_sbuf b = {0};
    reap_sbuf_printf(&b, "{\n  \"metadata\": {\n    \"total_size\": %" PRIu64 "\n  },\n  \"weight_map\": {", pl->bytes_out);
    for (int i = 0; i < n; i++)
        reap_sbuf_printf(&b, "%s\n    \"%s\": \"%s\"", i ? "," : "", v[i]->out_name, pl->out_shard_names[v[i]->out_shard]);
    reap_sbuf_puts(&b, "\n  }\n}\n");
    free(v);
    char *path = reap_path_join(tmp_dir, "model.safetensors.index.json");
    int st = reap_write_file_atomic(path, b.p, b.n);
    free(path);
    reap_sbuf_free(&b);
    return st;
}

static int write_all(const reap_ckpt *c, const reap_prune_plan *pl, const char *tmp,
                     const reap_prune_write_opts *o) {
    int st = write_shards(c, pl, tmp, o);
    if (st) return st;
    char *cfg_path = reap_path_join(c->dir, "config.json"), *text = NULL;
    if (!c->config_text) st = reap_fail(REAP_EINVAL, "%s: no config.json", c->dir);
    else st = reap_prune_edit_config(c->config_text, cfg_path, pl->model.family->keys.n_experts, pl->keep, &text);
    free(cfg_path);
    if (!st) {
        char *p = reap_path_join(tmp, "config.json");
        st = reap_write_file_atomic(p, text, strlen(text));
        free(p);
    }
    free(text);
    if (!st) st = copy_tree(c->dir, tmp, c, 1, o);
    if (!st && cancelled(o)) st = reap_fail(REAP_EINTR, "interrupted");
    if (!st && o->stats_into_output && o->stats_path) {
        char *p = reap_path_join(tmp, "reap-stats.json");
        st = reap_copy_file(o->stats_path, p);
        free(p);
    }
    if (!st) st = reap_prune_card_write(c, pl, tmp, o);
    if (!st) st = write_reap_json(c, pl, tmp, o);
    if (!st && pl->write_index) st = write_index(pl, tmp);
    if (!st) st = reap_fsync_dir(tmp);
    return st;
}

// OUT resolved to an absolute path (*abs, malloc'd) and refused when it is, holds or lies inside the source.
static int resolve_out(const char *src_dir, const char *out_dir, char **abs) {
    char src[PATH_MAX], *out = NULL;
    if (!realpath(src_dir, src)) return reap_fail(REAP_EIO, "%s: cannot resolve: %s", src_dir, strerror(errno));
    int st = abs_out_path(out_dir, &out);
    if (st) return st;
    if (!strcmp(out, src)) st = reap_fail(REAP_EUSAGE, "%s: the output is the source directory", out_dir);
    else if (is_within(out, src)) st = reap_fail(REAP_EUSAGE, "%s: the output is inside the source %s", out_dir, src_dir);
    else if (is_within(src, out)) st = reap_fail(REAP_EUSAGE, "%s: the source %s is inside the output", out_dir, src_dir);
    if (st) free(out);
    else *abs = out;
    return st;
}

int reap_prune_check_output(const char *src_dir, const char *out_dir, int force) {
    char *out = NULL;
    int st = resolve_out(src_dir, out_dir, &out);
    if (!st) st = check_existing_out(out, out_dir, force);
    free(out);
    return st;
}

int reap_prune_write(const reap_ckpt *c, const reap_prune_plan *pl, const char *out_dir,
                     const reap_prune_write_opts *o) {
    char *out = NULL;
    int st = resolve_out(c->dir, out_dir, &out);
    if (st) return st;
    char *lock = reap_xasprintf("%s.lock", out), *tmp = reap_xasprintf("%s.tmp-XXXXXX", out), *old = NULL;
    int lock_fd = -1;
    if ((st = take_lock(lock, &lock_fd))) goto done;
    if ((st = check_existing_out(out, out_dir, o->force))) goto unlock;
    remove_stale_tmp(out);
    if (!mkdtemp(tmp)) {
        st = reap_fail(REAP_EIO, "%s: cannot create the temporary directory: %s", tmp, strerror(errno));
        goto unlock;
    }
    chmod(tmp, 0755);
    reap_verbose("writing into %s", tmp);
    st = write_all(c, pl, tmp, o);
    if (st) {
        remove_tree(tmp);
        goto unlock;
    }
    if ((st = reap_dir_replace(tmp, out, &old))) {
        remove_tree(tmp);
        goto unlock;
    }
    if (old) remove_tree(old);
unlock:
    unlink(lock);
    close(lock_fd);
done:
    free(old);
    free(lock);
    free(tmp);
    free(out);
    return st;
}

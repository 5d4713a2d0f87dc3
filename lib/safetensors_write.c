// safetensors_write.c: the streaming, deterministic safetensors writer (declare tensors, write
// the header, append data by write / skip or write it at its offsets from several threads (pwrite),
// finish = fsync + rename + fsync dir).
// The header is a pure function of the declarations, so the same input gives the same bytes.
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "safetensors.h"

// Offsets and dims are written as JSON integers; readers that hold them in doubles (cJSON, ours)
// are exact up to 2^53.
#define MAX_JSON_INT 9007199254740992.0

#define WBUF_SIZE (16u << 20)

typedef struct {
    char *name;
    reap_dtype dt;
    int ndim;
    int64_t shape[REAP_ST_MAX_DIMS];
    uint64_t nbytes;
} wtensor;

struct reap_st_writer {
    char *path, *tmp;
    int fd;
    int begun;
    int failed;  // a write failed: only abort is allowed
    int n, cap;
    wtensor *t;
    int n_meta, cap_meta;
    char **mk, **mv;
    uint64_t data_size;   // declared
    uint64_t written;     // data bytes appended (including skipped)
    _Atomic uint64_t written_at;  // data bytes written by reap_st_writer_pwrite
    uint64_t data_start;  // 8 + N
    uint8_t *buf;
    size_t buf_n;
};

int reap_st_writer_open(const char *path, reap_st_writer **out) {
    *out = NULL;
    reap_st_writer *w = reap_xcalloc(1, sizeof *w);
    w->path = reap_xstrdup(path);
    w->tmp = reap_xasprintf("%s.tmp.%d", path, (int)getpid());
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int st = reap_fail(REAP_EIO, "%s: cannot create: %s", w->tmp, strerror(errno));
        free(w->path);
        free(w->tmp);
        free(w);
        return st;
    }
    *out = w;
    return REAP_OK;
}

const char *reap_st_writer_tmp_path(const reap_st_writer *w) {
    return w ? w->tmp : NULL;
}

uint64_t reap_st_writer_data_size(const reap_st_writer *w) {
    return w->data_size;
}

int reap_st_writer_meta(reap_st_writer *w, const char *key, const char *value) {
    if (w->begun)
        return reap_fail(REAP_EINVAL, "%s: metadata '%s' added after the header was written", w->path, key);
    for (int i = 0; i < w->n_meta; i++)
        if (strcmp(w->mk[i], key) == 0)
            return reap_fail(REAP_EINVAL, "%s: duplicate metadata key '%s'", w->path, key);
    if (w->n_meta == w->cap_meta) {
        w->cap_meta = w->cap_meta ? 2 * w->cap_meta : 8;
        w->mk = reap_xrealloc(w->mk, (size_t)w->cap_meta * sizeof(char *));
        w->mv = reap_xrealloc(w->mv, (size_t)w->cap_meta * sizeof(char *));
    }
    w->mk[w->n_meta] = reap_xstrdup(key);
    w->mv[w->n_meta] = reap_xstrdup(value);
    w->n_meta++;
    return REAP_OK;
}

int reap_st_writer_add(reap_st_writer *w, const char *name, reap_dtype dt, int ndim, const int64_t *shape) {
    if (w->begun)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s' declared after the header was written", w->path, name);
    if ((unsigned)dt >= REAP_DT_COUNT)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': invalid dtype %d", w->path, name, (int)dt);
    if (strcmp(name, "__metadata__") == 0)
        return reap_fail(REAP_EINVAL, "%s: '__metadata__' is not a valid tensor name", w->path);
    if (ndim < 0 || ndim > REAP_ST_MAX_DIMS)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': %d dimensions (0..%d supported)", w->path, name, ndim,
                         REAP_ST_MAX_DIMS);
    uint64_t nb = reap_dtype_size(dt);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return reap_fail(REAP_EINVAL, "%s: tensor '%s': negative dimension %lld", w->path, name,
                             (long long)shape[i]);
        if (shape[i] && nb > (uint64_t)(MAX_JSON_INT) / (uint64_t)shape[i])
            return reap_fail(REAP_EINVAL, "%s: tensor '%s': byte size overflows", w->path, name);
        nb *= (uint64_t)shape[i];
    }
    if (w->data_size + nb > (uint64_t)MAX_JSON_INT)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': data region exceeds 2^53 bytes", w->path, name);
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 64;
        w->t = reap_xrealloc(w->t, (size_t)w->cap * sizeof *w->t);
    }
    wtensor *t = &w->t[w->n++];
    memset(t, 0, sizeof *t);
    t->name = reap_xstrdup(name);
    t->dt = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->nbytes = nb;
    w->data_size += nb;
    return REAP_OK;
}

static void json_str(reap_sbuf *b, const char *s) {
    reap_sbuf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            reap_sbuf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            reap_sbuf_printf(b, "\\u%04x", *p);
        else
            reap_sbuf_append(b, p, 1);
    }
    reap_sbuf_puts(b, "\"");
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int write_fd(reap_st_writer *w, const void *data, size_t len) {
    const uint8_t *p = data;
    while (len) {
        ssize_t r = write(w->fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            w->failed = 1;
            return reap_fail(REAP_EIO, "%s: write failed: %s", w->tmp, strerror(errno));
        }
        p += r;
        len -= (size_t)r;
    }
    return REAP_OK;
}

static int flush_buf(reap_st_writer *w) {
    int st = write_fd(w, w->buf, w->buf_n);
    w->buf_n = 0;
    return st;
}

int reap_st_writer_begin(reap_st_writer *w) {
    if (w->begun)
        return reap_fail(REAP_EINVAL, "%s: header already written", w->path);
    // Duplicate names make an unreadable file: check once here (sorted copy, O(n log n)).
    char **names = reap_xmalloc(((size_t)w->n + 1) * sizeof(char *));
    for (int i = 0; i < w->n; i++)
        names[i] = w->t[i].name;
    qsort(names, (size_t)w->n, sizeof(char *), cmp_str_ptr);
    for (int i = 1; i < w->n; i++) {
        if (strcmp(names[i], names[i - 1]) == 0) {
            int st = reap_fail(REAP_EINVAL, "%s: tensor '%s' declared twice", w->path, names[i]);
            free(names);
            return st;
        }
    }
    free(names);

    reap_sbuf h = {0};
    reap_sbuf_puts(&h, "{");
    int first = 1;
    if (w->n_meta) {
        reap_sbuf_puts(&h, "\"__metadata__\":{");
        for (int i = 0; i < w->n_meta; i++) {
            if (i)
                reap_sbuf_puts(&h, ",");
            json_str(&h, w->mk[i]);
            reap_sbuf_puts(&h, ":");
            json_str(&h, w->mv[i]);
        }
        reap_sbuf_puts(&h, "}");
        first = 0;
    }
    uint64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const wtensor *t = &w->t[i];
        if (!first)
            reap_sbuf_puts(&h, ",");
        first = 0;
        json_str(&h, t->name);
        reap_sbuf_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", reap_dtype_name(t->dt));
        for (int d = 0; d < t->ndim; d++)
            reap_sbuf_printf(&h, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        reap_sbuf_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                         (unsigned long long)(off + t->nbytes));
        off += t->nbytes;
    }
    reap_sbuf_puts(&h, "}");
    while (h.n % 8)
        reap_sbuf_puts(&h, " ");
    if (h.n > REAP_ST_MAX_HEADER) {
        int st = reap_fail(REAP_EINVAL, "%s: header of %zu bytes exceeds the 100 MB limit", w->path, h.n);
        reap_sbuf_free(&h);
        return st;
    }
    uint8_t lb[8];
    for (int i = 0; i < 8; i++)
        lb[i] = (uint8_t)((uint64_t)h.n >> (8 * i));
    w->buf = reap_xmalloc(WBUF_SIZE);
    w->begun = 1;
    w->data_start = 8 + h.n;
    int st = write_fd(w, lb, 8);
    if (st == REAP_OK)
        st = write_fd(w, h.p, h.n);
    reap_sbuf_free(&h);
    return st;
}

static int check_append(reap_st_writer *w, uint64_t len, const char *what) {
    if (!w->begun)
        return reap_fail(REAP_EINVAL, "%s: %s before reap_st_writer_begin", w->path, what);
    if (w->failed)
        return reap_fail(REAP_EIO, "%s: %s after a failed write", w->path, what);
    if (atomic_load(&w->written_at)) return reap_fail(REAP_EINVAL, "%s: %s after pwrite", w->path, what);
    if (len > w->data_size - w->written)
        return reap_fail(REAP_EINVAL, "%s: %s of %llu bytes exceeds the declared data size (%llu of %llu written)",
                         w->path, what, (unsigned long long)len, (unsigned long long)w->written,
                         (unsigned long long)w->data_size);
    return REAP_OK;
}

int reap_st_writer_write(reap_st_writer *w, const void *data, size_t len) {
    int st = check_append(w, len, "write");
    if (st != REAP_OK)
        return st;
    w->written += len;
    const uint8_t *p = data;
    if (w->buf_n + len > WBUF_SIZE) {
        if ((st = flush_buf(w)) != REAP_OK)
            return st;
        if (len >= WBUF_SIZE)  // large writes go straight through
            return write_fd(w, p, len);
    }
    memcpy(w->buf + w->buf_n, p, len);
    w->buf_n += len;
    return REAP_OK;
}

int reap_st_writer_skip(reap_st_writer *w, uint64_t len) {
    int st = check_append(w, len, "skip");
    if (st != REAP_OK)
        return st;
    if ((st = flush_buf(w)) != REAP_OK)
        return st;
    w->written += len;
    if (lseek(w->fd, (off_t)len, SEEK_CUR) < 0) {
        w->failed = 1;
        return reap_fail(REAP_EIO, "%s: seek failed: %s", w->tmp, strerror(errno));
    }
    return REAP_OK;
}

int reap_st_writer_pwrite(reap_st_writer *w, uint64_t off, const void *data, size_t len) {
    if (!w->begun) return reap_fail(REAP_EINVAL, "%s: pwrite before reap_st_writer_begin", w->path);
    if (w->written) return reap_fail(REAP_EINVAL, "%s: pwrite after appending", w->path);
    if (off > w->data_size || len > w->data_size - off)
        return reap_fail(REAP_EINVAL, "%s: pwrite of %zu bytes at %llu is outside the declared %llu data bytes", w->path,
                         len, (unsigned long long)off, (unsigned long long)w->data_size);
    const uint8_t *p = data;
    uint64_t at = w->data_start + off;
    for (size_t left = len; left;) {
        ssize_t r = pwrite(w->fd, p, left > (1u << 30) ? (1u << 30) : left, (off_t)at);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)  // its bytes are not counted, so finish refuses the file
            return reap_fail(REAP_EIO, "%s: write at %llu failed: %s", w->tmp, (unsigned long long)at,
                             r < 0 ? strerror(errno) : "no progress");
        p += r, at += (uint64_t)r, left -= (size_t)r;
    }
    atomic_fetch_add(&w->written_at, (uint64_t)len);
    return REAP_OK;
}

static void writer_free(reap_st_writer *w) {
    for (int i = 0; i < w->n; i++)
        free(w->t[i].name);
    free(w->t);
    for (int i = 0; i < w->n_meta; i++) {
        free(w->mk[i]);
        free(w->mv[i]);
    }
    free(w->mk);
    free(w->mv);
    free(w->buf);
    free(w->path);
    free(w->tmp);
    free(w);
}

int reap_st_writer_finish(reap_st_writer *w) {
    int st = REAP_OK;
    if (!w->begun && (st = reap_st_writer_begin(w)) != REAP_OK)
        goto fail;
    if (w->failed) {
        st = reap_fail(REAP_EIO, "%s: cannot finish after a failed write", w->path);
        goto fail;
    }
    const uint64_t written = w->written + atomic_load(&w->written_at);
    if (written != w->data_size) {
        st = reap_fail(REAP_EINVAL, "%s: %llu data bytes written but %llu declared", w->path,
                       (unsigned long long)written, (unsigned long long)w->data_size);
        goto fail;
    }
    if ((st = flush_buf(w)) != REAP_OK)
        goto fail;
    // A trailing skip leaves the file short; extending it makes the last hole part of the file.
    if (ftruncate(w->fd, (off_t)(w->data_start + w->data_size)) != 0) {
        st = reap_fail(REAP_EIO, "%s: cannot set file size: %s", w->tmp, strerror(errno));
        goto fail;
    }
    if (fsync(w->fd) != 0) {
        st = reap_fail(REAP_EIO, "%s: fsync failed: %s", w->tmp, strerror(errno));
        goto fail;
    }
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0) {
        st = reap_fail(REAP_EIO, "%s: close failed: %s", w->tmp, strerror(errno));
        goto fail;
    }
    if (rename(w->tmp, w->path) != 0) {
        st = reap_fail(REAP_EIO, "%s: cannot rename to %s: %s", w->tmp, w->path, strerror(errno));
        goto fail;
    }
    char *d = reap_path_dir(w->path);
    st = reap_fsync_dir(d);
    free(d);
    writer_free(w);
    return st;
fail:
    reap_st_writer_abort(w);
    return st;
}

void reap_st_writer_abort(reap_st_writer *w) {
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    unlink(w->tmp);
    writer_free(w);
}

// safetensors.c: strict reader (pread only: a shard is never loaded whole) and the streaming,
// deterministic writer. Validation follows the Rust reference implementation; where it is
// silent we are stricter (unknown keys in a tensor entry, non-integer numbers) because no
// correct writer produces those and a clear error beats a silent misread.
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

// Largest integer a double (cJSON's number type) holds exactly. Offsets and dims beyond it cannot
// be read faithfully, and no file that large (8 PB) exists.
#define MAX_JSON_INT 9007199254740992.0

static int pread_all(int fd, void *dst, uint64_t len, uint64_t off) {
    uint8_t *p = dst;
    while (len) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t r = pread(fd, p, chunk, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? errno : -1;  // -1: unexpected end of file
        p += r;
        off += (uint64_t)r;
        len -= (uint64_t)r;
    }
    return 0;
}

static const char *pread_err(int e) {
    return e == -1 ? "unexpected end of file" : strerror(e);
}

// ---------------------------------------------------------------------------------------------
// Reader

static void free_parsed(reap_st_file *f) {
    for (int i = 0; i < f->n_tensors; i++)
        free(f->tensors[i].name);
    free(f->tensors);
    free(f->by_name);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_vals[i]);
    }
    free(f->meta_keys);
    free(f->meta_vals);
    f->tensors = NULL;
    f->by_name = NULL;
    f->meta_keys = f->meta_vals = NULL;
    f->n_tensors = f->n_meta = 0;
}

void reap_st_clear(reap_st_file *f) {
    if (f)
        free_parsed(f);
}

// Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), as Rust's str::from_utf8.
static int utf8_valid(const uint8_t *s, size_t n, size_t *bad) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07;
        } else {
            *bad = i;
            return 0;
        }
        if (i + k >= n) {
            *bad = i;
            return 0;
        }
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) {
                *bad = i;
                return 0;
            }
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            *bad = i;
            return 0;
        }
        i += k + 1;
    }
    return 1;
}

// A JSON number that must be a non-negative integer <= MAX_JSON_INT.
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    if (!(d >= 0.0) || d > MAX_JSON_INT || d != (double)(uint64_t)d)
        return -1;
    *out = (uint64_t)d;
    return 0;
}

static int parse_meta(const char *path, const cJSON *meta, reap_st_file *f) {
    if (!cJSON_IsObject(meta))
        return reap_fail(REAP_EINVAL, "%s: __metadata__ is not a JSON object", path);
    int n = cJSON_GetArraySize(meta);
    f->meta_keys = reap_xcalloc((size_t)n + 1, sizeof(char *));
    f->meta_vals = reap_xcalloc((size_t)n + 1, sizeof(char *));
    const cJSON *kv;
    cJSON_ArrayForEach(kv, meta) {
        if (!cJSON_IsString(kv))
            return reap_fail(REAP_EINVAL, "%s: __metadata__ value of key '%s' is not a string", path,
                             kv->string);
        for (int i = 0; i < f->n_meta; i++)
            if (strcmp(f->meta_keys[i], kv->string) == 0)
                return reap_fail(REAP_EINVAL, "%s: __metadata__ has duplicate key '%s'", path, kv->string);
        f->meta_keys[f->n_meta] = reap_xstrdup(kv->string);
        f->meta_vals[f->n_meta] = reap_xstrdup(kv->valuestring);
        f->n_meta++;
    }
    return REAP_OK;
}

static int parse_tensor(const char *path, const cJSON *e, reap_st_tensor *t) {
    const char *name = e->string;
    if (!cJSON_IsObject(e))
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': entry is not a JSON object", path, name);
    const cJSON *dtype = NULL, *shape = NULL, *offs = NULL, *kv;
    cJSON_ArrayForEach(kv, e) {
        const cJSON **slot = strcmp(kv->string, "dtype") == 0          ? &dtype
                             : strcmp(kv->string, "shape") == 0        ? &shape
                             : strcmp(kv->string, "data_offsets") == 0 ? &offs
                                                                       : NULL;
        if (!slot)
            return reap_fail(REAP_EINVAL, "%s: tensor '%s': unknown key '%s'", path, name, kv->string);
        if (*slot)
            return reap_fail(REAP_EINVAL, "%s: tensor '%s': duplicate key '%s'", path, name, kv->string);
        *slot = kv;
    }
    if (!dtype)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': missing dtype", path, name);
    if (!shape)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': missing shape", path, name);
    if (!offs)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': missing data_offsets", path, name);
    if (!cJSON_IsString(dtype))
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': dtype is not a string", path, name);
    if (reap_dtype_from_name(dtype->valuestring, &t->dtype) != 0)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': unknown dtype '%s'", path, name, dtype->valuestring);
    if (!cJSON_IsArray(shape))
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': shape is not an array", path, name);
    int nd = cJSON_GetArraySize(shape);
    if (nd > REAP_ST_MAX_DIMS)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': shape has %d dimensions (at most %d supported)", path,
                         name, nd, REAP_ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t numel = 1;
    int overflow = 0;
    for (int i = 0; i < nd; i++) {
        const cJSON *d = cJSON_GetArrayItem(shape, i);
        uint64_t v;
        if (json_uint(d, &v) != 0) {
            char *txt = cJSON_PrintUnformatted(d);
            int st = reap_fail(REAP_EINVAL, "%s: tensor '%s': shape[%d] = %s is not a non-negative integer", path,
                               name, i, txt ? txt : "?");
            free(txt);
            return st;
        }
        t->shape[i] = (int64_t)v;
        if (v && numel > UINT64_MAX / v)
            overflow = 1;
        else
            numel *= v;
    }
    size_t esz = reap_dtype_size(t->dtype);
    if (!overflow && numel > UINT64_MAX / esz)
        overflow = 1;
    // A zero dim makes numel 0 even when other dims would overflow; Rust checks the running product.
    if (overflow) {
        int zero = 0;
        for (int i = 0; i < nd; i++)
            zero |= t->shape[i] == 0;
        if (!zero)
            return reap_fail(REAP_EINVAL, "%s: tensor '%s': shape element count overflows 64 bits", path, name);
        numel = 0;
    }
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': data_offsets must be an array of 2 integers (has %d)", path,
                         name, cJSON_IsArray(offs) ? cJSON_GetArraySize(offs) : -1);
    if (json_uint(cJSON_GetArrayItem(offs, 0), &t->begin) != 0 ||
        json_uint(cJSON_GetArrayItem(offs, 1), &t->end) != 0)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': data_offsets are not non-negative integers below 2^53",
                         path, name);
    if (t->end < t->begin)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", path,
                         name, (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end - t->begin != numel * esz)
        return reap_fail(REAP_EINVAL,
                         "%s: tensor '%s': data_offsets [%llu, %llu] span %llu bytes but shape x %s needs %llu", path,
                         name, (unsigned long long)t->begin, (unsigned long long)t->end,
                         (unsigned long long)(t->end - t->begin), reap_dtype_name(t->dtype),
                         (unsigned long long)(numel * esz));
    return REAP_OK;
}

static int cmp_by_offset(const void *a, const void *b) {
    const reap_st_tensor *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_ptr_by_name(const void *a, const void *b) {
    const reap_st_tensor *x = *(const reap_st_tensor *const *)a, *y = *(const reap_st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int check_layout(const char *path, reap_st_file *f, uint64_t data_size) {
    int n = f->n_tensors;
    qsort(f->tensors, (size_t)n, sizeof *f->tensors, cmp_by_offset);
    const reap_st_tensor **p = reap_xmalloc(((size_t)n + 1) * sizeof *p);
    for (int i = 0; i < n; i++)
        p[i] = &f->tensors[i];
    qsort(p, (size_t)n, sizeof *p, cmp_ptr_by_name);
    f->by_name = reap_xmalloc(((size_t)n + 1) * sizeof(int));
    int st = REAP_OK;
    for (int i = 0; i < n; i++) {
        f->by_name[i] = (int)(p[i] - f->tensors);
        if (i && strcmp(p[i]->name, p[i - 1]->name) == 0 && st == REAP_OK)
            st = reap_fail(REAP_EINVAL, "%s: tensor '%s': duplicate name in header", path, p[i]->name);
    }
    free(p);
    if (st != REAP_OK)
        return st;
    uint64_t pos = 0;
    for (int i = 0; i < n; i++) {
        const reap_st_tensor *t = &f->tensors[i];
        if (t->begin > pos)
            return reap_fail(REAP_EINVAL, "%s: tensor '%s': hole in data region: bytes [%llu, %llu) belong to no tensor",
                             path, t->name, (unsigned long long)pos, (unsigned long long)t->begin);
        if (t->begin < pos)
            return reap_fail(REAP_EINVAL,
                             "%s: tensor '%s': data_offsets [%llu, %llu] overlap the previous tensor '%s' ending at %llu",
                             path, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                             f->tensors[i - 1].name, (unsigned long long)pos);
        pos = t->end;
    }
    if (pos != data_size)
        return reap_fail(REAP_EINVAL,
                         "%s: tensors end at data offset %llu but the data region is %llu bytes (%s)", path,
                         (unsigned long long)pos, (unsigned long long)data_size,
                         pos < data_size ? "trailing bytes after the last tensor" : "file is truncated");
    return REAP_OK;
}

int reap_st_parse_header(const char *path, const char *hdr, size_t len, uint64_t data_size, reap_st_file *f) {
    f->n_tensors = f->n_meta = 0;
    f->tensors = NULL;
    f->by_name = NULL;
    f->meta_keys = f->meta_vals = NULL;
    if (len > REAP_ST_MAX_HEADER)
        return reap_fail(REAP_EINVAL, "%s: header length %zu exceeds the 100 MB limit", path, len);
    if (len == 0 || hdr[0] != '{')
        return reap_fail(REAP_EINVAL, "%s: header is not a JSON object (does not start with '{')", path);
    if (memchr(hdr, 0, len))
        return reap_fail(REAP_EINVAL, "%s: header is not JSON: contains a NUL byte at %zu", path,
                         (size_t)((const char *)memchr(hdr, 0, len) - hdr));
    size_t bad;
    if (!utf8_valid((const uint8_t *)hdr, len, &bad))
        return reap_fail(REAP_EINVAL, "%s: header is not valid UTF-8 (byte %zu)", path, bad);
    char *buf = reap_xmalloc(len + 1);
    memcpy(buf, hdr, len);
    buf[len] = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(buf, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - buf) : 0;
        free(buf);
        return reap_fail(REAP_EINVAL, "%s: header is not valid JSON (error near byte %zu)", path, at);
    }
    for (const char *q = end; *q; q++) {
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r') {
            size_t at = (size_t)(q - buf);
            free(buf);
            cJSON_Delete(root);
            return reap_fail(REAP_EINVAL, "%s: header is not valid JSON: trailing characters at byte %zu", path, at);
        }
    }
    free(buf);
    int st = REAP_OK;
    if (!cJSON_IsObject(root)) {
        st = reap_fail(REAP_EINVAL, "%s: header is not a JSON object", path);
        goto out;
    }
    int n = cJSON_GetArraySize(root);
    f->tensors = reap_xcalloc((size_t)n + 1, sizeof *f->tensors);
    int seen_meta = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (seen_meta++) {
                st = reap_fail(REAP_EINVAL, "%s: duplicate __metadata__ entry", path);
                goto out;
            }
            if ((st = parse_meta(path, e, f)) != REAP_OK)
                goto out;
            continue;
        }
        reap_st_tensor *t = &f->tensors[f->n_tensors];
        t->name = reap_xstrdup(e->string);
        f->n_tensors++;
        if ((st = parse_tensor(path, e, t)) != REAP_OK)
            goto out;
    }
    st = check_layout(path, f, data_size);
out:
    cJSON_Delete(root);
    if (st != REAP_OK)
        free_parsed(f);
    return st;
}

int reap_st_open(const char *path, reap_st_file **out) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return reap_fail(errno == ENOENT ? REAP_EINVAL : REAP_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return reap_fail(REAP_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return reap_fail(REAP_EINVAL, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size < 8) {
        close(fd);
        return reap_fail(REAP_EINVAL, "%s: file is %llu bytes, shorter than the 8-byte header length", path,
                         (unsigned long long)size);
    }
    uint8_t lb[8];
    int e = pread_all(fd, lb, 8, 0);
    if (e) {
        close(fd);
        return reap_fail(REAP_EIO, "%s: cannot read header length: %s", path, pread_err(e));
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | lb[i];
    if (n > REAP_ST_MAX_HEADER) {
        close(fd);
        return reap_fail(REAP_EINVAL, "%s: header length %llu exceeds the 100 MB limit", path, (unsigned long long)n);
    }
    if (n > size - 8) {
        close(fd);
        return reap_fail(REAP_EINVAL, "%s: header length %llu runs past the end of the file (%llu bytes)", path,
                         (unsigned long long)n, (unsigned long long)size);
    }
    char *hdr = reap_xmalloc((size_t)n + 1);
    e = pread_all(fd, hdr, n, 8);
    if (e) {
        free(hdr);
        close(fd);
        return reap_fail(REAP_EIO, "%s: cannot read header: %s", path, pread_err(e));
    }
    reap_st_file *f = reap_xcalloc(1, sizeof *f);
    int st = reap_st_parse_header(path, hdr, (size_t)n, size - 8 - n, f);
    free(hdr);
    if (st != REAP_OK) {
        free(f);
        close(fd);
        return st;
    }
    f->path = reap_xstrdup(path);
    f->fd = fd;
    f->file_size = size;
    f->header_len = n;
    f->data_offset = 8 + n;
    *out = f;
    return REAP_OK;
}

void reap_st_close(reap_st_file *f) {
    if (!f)
        return;
    free_parsed(f);
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
}

const reap_st_tensor *reap_st_find(const reap_st_file *f, const char *name) {
    int lo = 0, hi = f->n_tensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const reap_st_tensor *t = &f->tensors[f->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0)
            return t;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

int64_t reap_st_numel(const reap_st_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

uint64_t reap_st_nbytes(const reap_st_tensor *t) {
    return t->end - t->begin;
}

int reap_st_read(const reap_st_file *f, const reap_st_tensor *t, uint64_t off, uint64_t len, void *dst) {
    uint64_t nb = reap_st_nbytes(t);
    if (off > nb || len > nb - off)
        return reap_fail(REAP_EINVAL, "%s: tensor '%s': read of %llu bytes at %llu is outside its %llu bytes", f->path,
                         t->name, (unsigned long long)len, (unsigned long long)off, (unsigned long long)nb);
    int e = pread_all(f->fd, dst, len, f->data_offset + t->begin + off);
    if (e)
        return reap_fail(REAP_EIO, "%s: tensor '%s': read failed: %s", f->path, t->name, pread_err(e));
    return REAP_OK;
}

void reap_st_release(const reap_st_file *f, const reap_st_tensor *t) {
    uint64_t nb = reap_st_nbytes(t);
    if (nb)
        (void)posix_fadvise(f->fd, (off_t)(f->data_offset + t->begin), (off_t)nb, POSIX_FADV_DONTNEED);
}

// ---------------------------------------------------------------------------------------------
// Writer

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

static int copy_fallback(reap_st_writer *w, int fd, uint64_t off, uint64_t len) {
    while (len) {
        size_t room = WBUF_SIZE - w->buf_n;
        if (room == 0) {
            int st = flush_buf(w);
            if (st != REAP_OK)
                return st;
            room = WBUF_SIZE;
        }
        size_t chunk = len < room ? (size_t)len : room;
        int e = pread_all(fd, w->buf + w->buf_n, chunk, off);
        if (e) {
            w->failed = 1;
            return reap_fail(REAP_EIO, "%s: copying source bytes at %llu failed: %s", w->tmp,
                             (unsigned long long)off, pread_err(e));
        }
        w->buf_n += chunk;
        off += chunk;
        len -= chunk;
    }
    return REAP_OK;
}

int reap_st_writer_copy_fd(reap_st_writer *w, int fd, uint64_t off, uint64_t len) {
    int st = check_append(w, len, "copy");
    if (st != REAP_OK)
        return st;
    w->written += len;
    // Small copies are cheaper through the buffer than a flush plus a syscall.
    if (len < (1u << 20))
        return copy_fallback(w, fd, off, len);
    if ((st = flush_buf(w)) != REAP_OK)
        return st;
    loff_t in_off = (loff_t)off;
    while (len) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t r = copy_file_range(fd, &in_off, w->fd, NULL, chunk, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ||
                      errno == EBADF || errno == ETXTBSY || errno == EPERM)) {
            st = copy_fallback(w, fd, (uint64_t)in_off, len);
            return st == REAP_OK ? flush_buf(w) : st;
        }
        if (r <= 0) {
            w->failed = 1;
            return reap_fail(REAP_EIO, "%s: copy_file_range at source offset %llu failed: %s", w->tmp,
                             (unsigned long long)in_off, r < 0 ? strerror(errno) : "source ended early");
        }
        len -= (uint64_t)r;
    }
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

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return reap_xstrdup(".");
    if (slash == path)
        return reap_xstrdup("/");
    char *d = reap_xmalloc((size_t)(slash - path) + 1);
    memcpy(d, path, (size_t)(slash - path));
    d[slash - path] = 0;
    return d;
}

int reap_st_writer_finish(reap_st_writer *w) {
    int st = REAP_OK;
    if (!w->begun && (st = reap_st_writer_begin(w)) != REAP_OK)
        goto fail;
    if (w->failed) {
        st = reap_fail(REAP_EIO, "%s: cannot finish after a failed write", w->path);
        goto fail;
    }
    if (w->written != w->data_size) {
        st = reap_fail(REAP_EINVAL, "%s: %llu data bytes written but %llu declared", w->path,
                       (unsigned long long)w->written, (unsigned long long)w->data_size);
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
    char *d = dir_of(w->path);
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

// safetensors.c: the strict reader (pread only: a shard is never loaded whole; the writer is in
// safetensors_write.c). Validation follows the Rust reference implementation; where it is
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
            return reap_fail(REAP_EINVAL,
                             "%s: tensor '%s': hole in data region: bytes [%llu, %llu) belong to no tensor", path,
                             t->name, (unsigned long long)pos, (unsigned long long)t->begin);
        if (t->begin < pos)
            return reap_fail(REAP_EINVAL,
                             "%s: tensor '%s': data_offsets [%llu, %llu] overlap the previous tensor '%s' "
                             "ending at %llu",
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
    int fd, st0 = reap_open_regular(path, &fd);
    if (st0) return st0;
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
    int e = reap_pread_all(fd, lb, 8, 0);
    if (e) {
        close(fd);
        return reap_fail(REAP_EIO, "%s: cannot read header length: %s", path, reap_pread_strerror(e));
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
    e = reap_pread_all(fd, hdr, n, 8);
    if (e) {
        free(hdr);
        close(fd);
        return reap_fail(REAP_EIO, "%s: cannot read header: %s", path, reap_pread_strerror(e));
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
    // A zero dim first: the other dims of an empty tensor may overflow when multiplied (the reader
    // accepts them, as the reference does); a non-empty tensor's product fits (checked at parse).
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] == 0) return 0;
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
    int e = reap_pread_all(f->fd, dst, len, f->data_offset + t->begin + off);
    if (e)
        return reap_fail(REAP_EIO, "%s: tensor '%s': read failed: %s", f->path, t->name, reap_pread_strerror(e));
    return REAP_OK;
}

static int keep_page_cache;  // set once at start-up (reap_st_keep_page_cache), before any thread reads

void reap_st_keep_page_cache(int keep) { keep_page_cache = keep != 0; }
int reap_st_keeping_page_cache(void) { return keep_page_cache; }

void reap_st_release_range(const reap_st_file *f, uint64_t off, uint64_t len) {
    if (!keep_page_cache && len) (void)posix_fadvise(f->fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
}

void reap_st_release(const reap_st_file *f, const reap_st_tensor *t) {
    reap_st_release_range(f, f->data_offset + t->begin, reap_st_nbytes(t));
}

int reap_st_direct_open(const reap_st_file *f) {
    return keep_page_cache ? -1 : open(f->path, O_RDONLY | O_DIRECT | O_CLOEXEC);
}

// The aligned range around [off, off + len) into buf: 0 or an errno (EINVAL: the device wants
// another alignment; EOPNOTSUPP: a filesystem that opens with O_DIRECT but cannot read so).
static int pread_direct(int fd, char *buf, uint64_t off, uint64_t len) {
    const uint64_t a = off & ~(uint64_t)(REAP_DIO_ALIGN - 1), want = off + len - a;
    const uint64_t n = (want + REAP_DIO_ALIGN - 1) & ~(uint64_t)(REAP_DIO_ALIGN - 1);
    for (uint64_t got = 0; got < want;) {
        ssize_t r = pread(fd, buf + got, (size_t)(n - got), (off_t)(a + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno;
        if (r == 0) return -1;  // reap_pread_strerror: the file ends early
        got += (uint64_t)r;
    }
    return 0;
}

int reap_st_read_direct(const reap_st_file *f, int dfd, uint64_t off, uint64_t len, char *buf, size_t *at) {
    *at = (size_t)(off & (REAP_DIO_ALIGN - 1));
    int e = dfd >= 0 ? pread_direct(dfd, buf, off, len) : EINVAL;
    if (e == EINVAL || e == EOPNOTSUPP) {  // through the page cache
        *at = 0;
        e = reap_pread_all(f->fd, buf, len, off);
        reap_st_release_range(f, off, len);
    }
    if (e)
        return reap_fail(REAP_EIO, "%s: read of %llu bytes at %llu failed: %s", f->path, (unsigned long long)len,
                         (unsigned long long)off, reap_pread_strerror(e));
    return REAP_OK;
}

// readers.c: calibration sources -> rendered samples (calib.h documents the specs and record
// shapes). Bytes come from a file, a libarchive member or an embedded blob, optionally through a
// streaming zstd decoder; they are cut into lines, each line parsed, checked and rendered. Errors
// name file[:member]:line.
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "calib.h"

// ---- byte streams ------------------------------------------------------------------------------

typedef struct byte_in byte_in;
struct byte_in {
    // Reads up to cap bytes; *got = 0 at the end. Errors: a status with a message (no location).
    int (*read)(byte_in *in, char *buf, size_t cap, size_t *got);
    FILE *f;
    struct archive *a;
    const char *mem;
    size_t mem_len, mem_pos;
    // zstd layer over inner
    byte_in *inner;
    ZSTD_DStream *z;
    char *zbuf;
    ZSTD_inBuffer zin;
    size_t zret;  // last ZSTD_decompressStream result: 0 at a frame end
    int inner_eof;
};

static int read_file(byte_in *in, char *buf, size_t cap, size_t *got) {
    *got = fread(buf, 1, cap, in->f);
    if (*got == 0 && ferror(in->f)) return reap_fail(REAP_EIO, "read error: %s", strerror(errno));
    return REAP_OK;
}

static int read_mem(byte_in *in, char *buf, size_t cap, size_t *got) {
    size_t n = in->mem_len - in->mem_pos;
    if (n > cap) n = cap;
    memcpy(buf, in->mem + in->mem_pos, n);
    in->mem_pos += n;
    *got = n;
    return REAP_OK;
}

static int read_archive(byte_in *in, char *buf, size_t cap, size_t *got) {
    la_ssize_t r = archive_read_data(in->a, buf, cap);
    if (r < 0) return reap_fail(REAP_EINVAL, "corrupt archive data: %s", archive_error_string(in->a));
    *got = (size_t)r;
    return REAP_OK;
}

static int read_zstd(byte_in *in, char *buf, size_t cap, size_t *got) {
    ZSTD_outBuffer out = {buf, cap, 0};
    while (out.pos == 0) {
        if (in->zin.pos == in->zin.size && !in->inner_eof) {
            size_t n;
            int st = in->inner->read(in->inner, in->zbuf, ZSTD_DStreamInSize(), &n);
            if (st) return st;
            in->zin = (ZSTD_inBuffer){in->zbuf, n, 0};
            if (n == 0) in->inner_eof = 1;
        }
        if (in->inner_eof && in->zin.pos == in->zin.size) {
            if (in->zret != 0) return reap_fail(REAP_EINVAL, "truncated zstd stream");
            break;
        }
        in->zret = ZSTD_decompressStream(in->z, &out, &in->zin);
        if (ZSTD_isError(in->zret)) return reap_fail(REAP_EINVAL, "corrupt zstd data: %s", ZSTD_getErrorName(in->zret));
    }
    *got = out.pos;
    return REAP_OK;
}

static void zstd_open(byte_in *z, byte_in *inner) {
    memset(z, 0, sizeof *z);
    z->read = read_zstd;
    z->inner = inner;
    z->z = ZSTD_createDStream();
    REAP_ASSERT(z->z);
    ZSTD_initDStream(z->z);
    z->zbuf = reap_xmalloc(ZSTD_DStreamInSize());
}

static void zstd_close(byte_in *z) {
    ZSTD_freeDStream(z->z);
    free(z->zbuf);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

// ---- records -----------------------------------------------------------------------------------

// The first invalid byte of [s, s+n) as UTF-8 (no overlongs, surrogates, NULs or code points above
// U+10FFFF), or n when it is valid.
static size_t utf8_bad_offset(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        // 8 bytes at a time while they are ASCII and not NUL (no high bit, no zero byte)
        for (uint64_t w; i + 8 <= n; i += 8) {
            memcpy(&w, s + i, 8);
            if ((w & 0x8080808080808080ull) || ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull)) break;
        }
        if (i >= n) break;
        unsigned c = s[i];
        if (c == 0) return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        int k;
        unsigned cp;
        if ((c & 0xE0) == 0xC0) k = 1, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) k = 2, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) k = 3, cp = c & 0x07;
        else return i;
        if (i + (size_t)k >= n) return i;
        for (int j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += (size_t)k + 1;
    }
    return n;
}

static const cJSON *field(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

// A field that may hold a list or a JSON string encoding one (xlam stores tools and answers so).
// *owned receives a parsed copy to free.
static int list_field(const cJSON *rec, const char *k, int required, const cJSON **out, cJSON **owned) {
    const cJSON *v = field(rec, k);
    *out = NULL;
    *owned = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (required) return reap_fail(REAP_EINVAL, "record has no \"%s\"", k);
        return REAP_OK;
    }
    if (cJSON_IsString(v)) {
        *owned = reap_chat_json_parse(v->valuestring, strlen(v->valuestring), NULL);
        if (!cJSON_IsArray(*owned)) {
            cJSON_Delete(*owned);
            *owned = NULL;
            return reap_fail(REAP_EINVAL, "\"%s\" is a string but not a JSON list", k);
        }
        v = *owned;
    }
    if (!cJSON_IsArray(v)) return reap_fail(REAP_EINVAL, "\"%s\" must be a list (or a JSON string holding one)", k);
    *out = v;
    return REAP_OK;
}

static int render_xlam(const cJSON *rec, const reap_chat_family *fam, reap_sbuf *out) {
    const cJSON *q = field(rec, "query"), *tools, *answers;
    cJSON *tools_own, *answers_own;
    if (!cJSON_IsString(q)) return reap_fail(REAP_EINVAL, "\"query\" must be a string");
    int st = list_field(rec, "tools", 0, &tools, &tools_own);
    if (st) return st;
    st = list_field(rec, "answers", 1, &answers, &answers_own);
    if (st) {
        cJSON_Delete(tools_own);
        return st;
    }
    cJSON *msgs = cJSON_CreateArray(), *user = cJSON_CreateObject(), *ai = cJSON_CreateObject();
    cJSON_AddStringToObject(user, "role", "user");
    cJSON_AddStringToObject(user, "content", q->valuestring);
    cJSON_AddStringToObject(ai, "role", "assistant");
    cJSON_AddStringToObject(ai, "content", "");
    cJSON *calls = cJSON_AddArrayToObject(ai, "tool_calls");
    int k = 0;
    for (const cJSON *a = answers->child; a && !st; a = a->next, k++) {
        const cJSON *name = field(a, "name"), *args = field(a, "arguments");
        if (!cJSON_IsObject(a) || !cJSON_IsString(name))
            st = reap_fail(REAP_EINVAL, "answers[%d] must be an object with a string \"name\"", k);
        else if (args && !cJSON_IsObject(args) && !cJSON_IsString(args) && !cJSON_IsNull(args))
            st = reap_fail(REAP_EINVAL, "answers[%d] (%s): \"arguments\" must be an object", k, name->valuestring);
        else {
            cJSON *fn = cJSON_CreateObject(), *call = cJSON_CreateObject();
            cJSON_AddStringToObject(fn, "name", name->valuestring);
            if (args) cJSON_AddItemToObject(fn, "arguments", cJSON_Duplicate(args, 1));
            cJSON_AddStringToObject(call, "type", "function");
            cJSON_AddItemToObject(call, "function", fn);
            cJSON_AddItemToArray(calls, call);
        }
    }
    cJSON_AddItemToArray(msgs, user);
    cJSON_AddItemToArray(msgs, ai);
    if (!st) st = fam->render(msgs, tools, out);
    cJSON_Delete(msgs);
    cJSON_Delete(tools_own);
    cJSON_Delete(answers_own);
    return st;
}

int reap_calib_render_record(const cJSON *rec, const reap_chat_family *fam, reap_sbuf *out) {
    if (!cJSON_IsObject(rec)) return reap_fail(REAP_EINVAL, "record is not a JSON object");
    if (field(rec, "messages")) {
        const cJSON *tools;
        cJSON *owned;
        int st = list_field(rec, "tools", 0, &tools, &owned);
        if (!st) st = fam->render(field(rec, "messages"), tools, out);
        cJSON_Delete(owned);
        return st;
    }
    if (field(rec, "query") && field(rec, "answers")) return render_xlam(rec, fam, out);
    if (field(rec, "instruction") && field(rec, "output")) {
        const cJSON *ins = field(rec, "instruction"), *inp = field(rec, "input"), *outp = field(rec, "output");
        if (!cJSON_IsString(ins)) return reap_fail(REAP_EINVAL, "\"instruction\" must be a string");
        if (!cJSON_IsString(outp)) return reap_fail(REAP_EINVAL, "\"output\" must be a string");
        if (inp && !cJSON_IsString(inp) && !cJSON_IsNull(inp)) return reap_fail(REAP_EINVAL, "\"input\" must be a string");
        char *user = (cJSON_IsString(inp) && inp->valuestring[0])
                         ? reap_xasprintf("%s\n\n%s", ins->valuestring, inp->valuestring)
                         : reap_xstrdup(ins->valuestring);
        cJSON *msgs = cJSON_CreateArray(), *u = cJSON_CreateObject(), *a = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "role", "user");
        cJSON_AddStringToObject(u, "content", user);
        cJSON_AddStringToObject(a, "role", "assistant");
        cJSON_AddStringToObject(a, "content", outp->valuestring);
        cJSON_AddItemToArray(msgs, u);
        cJSON_AddItemToArray(msgs, a);
        int st = fam->render(msgs, NULL, out);
        cJSON_Delete(msgs);
        free(user);
        return st;
    }
    if (field(rec, "text")) {
        const cJSON *t = field(rec, "text");
        if (!cJSON_IsString(t)) return reap_fail(REAP_EINVAL, "\"text\" must be a string");
        reap_sbuf_puts(out, t->valuestring);
        return REAP_OK;
    }
    reap_sbuf keys = {0};
    for (const cJSON *c = rec->child; c; c = c->next) reap_sbuf_printf(&keys, "%s\"%s\"", c == rec->child ? "" : ", ", c->string);
    int st = reap_fail(REAP_EINVAL,
                       "record has none of the known shapes {\"messages\"[, \"tools\"]}, {\"query\", \"tools\", "
                       "\"answers\"}, {\"instruction\", \"output\"}, {\"text\"} (its keys: %s)",
                       keys.p ? keys.p : "none");
    reap_sbuf_free(&keys);
    return st;
}

// ---- line loop ---------------------------------------------------------------------------------

typedef struct {
    char *name;        // member or file name used for name order ("part1.jsonl")
    reap_samples s;
} block;

typedef struct {
    const reap_chat_family *fam;
    const char *source;  // the spec, for reap_sample.source
    int builtin;         // reading a built-in set: categories code / tools from the record
    block *b;
    int nb;
} load_ctx;

static int fail_at(int st, const char *unit, long line) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", reap_err_msg());
    if (line > 0) return reap_fail(st, "%s:%ld: %s", unit, line, msg);
    return reap_fail(st, "%s: %s", unit, msg);
}

static int do_line(load_ctx *c, reap_samples *dst, const char *unit, long lineno, char *p, size_t n) {
    if (n && p[n - 1] == '\r') n--;
    size_t k = 0;
    while (k < n && isspace((unsigned char)p[k])) k++;
    if (k == n) return REAP_OK;  // blank line
    size_t bad = utf8_bad_offset((const unsigned char *)p, n);
    if (bad < n)
        return reap_fail(REAP_EINVAL, "%s:%ld: %s at byte %zu of the line (0x%02x)", unit, lineno,
                         p[bad] ? "invalid UTF-8" : "NUL byte", bad + 1, (unsigned char)p[bad]);
    const char *end = NULL;
    cJSON *rec = reap_chat_json_parse(p, n, &end);
    if (!rec) {
        const char *e = cJSON_GetErrorPtr();
        size_t col = (e && e >= p && e <= p + n) ? (size_t)(e - p) + 1 : 0;
        return reap_fail(REAP_EINVAL, "%s:%ld: bad JSON near column %zu", unit, lineno, col);
    }
    while (end && end < p + n && isspace((unsigned char)*end)) end++;
    if (end && end < p + n) {
        cJSON_Delete(rec);
        return reap_fail(REAP_EINVAL, "%s:%ld: bad JSON: extra text at column %zu (one record per line)", unit,
                         lineno, (size_t)(end - p) + 1);
    }
    reap_sbuf text = {0};
    int st = reap_calib_render_record(rec, c->fam, &text);
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(rec, "tools");
    int is_tools = (tools && !cJSON_IsNull(tools)) || cJSON_GetObjectItemCaseSensitive(rec, "query");
    cJSON_Delete(rec);
    if (st) {
        reap_sbuf_free(&text);
        return fail_at(st, unit, lineno);
    }
    if (!text.p) reap_sbuf_append(&text, "", 0);
    dst->v = reap_xrealloc(dst->v, sizeof(reap_sample) * (size_t)(dst->n + 1));
    dst->v[dst->n++] = (reap_sample){.text = text.p, .len = text.n, .origin = reap_xasprintf("%s:%ld", unit, lineno),
                                     .source = reap_xstrdup(c->source),
                                     .category = reap_xstrdup(c->builtin ? (is_tools ? "tools" : "code") : c->source)};
    return REAP_OK;
}

// Reads all lines of in as one unit (a file or a member), appending samples to a new block.
static int read_unit(load_ctx *c, byte_in *in, const char *unit, const char *name) {
    c->b = reap_xrealloc(c->b, sizeof(block) * (size_t)(c->nb + 1));
    block *b = &c->b[c->nb++];
    *b = (block){.name = reap_xstrdup(name)};
    enum { CHUNK = 1 << 16 };
    char *buf = reap_xmalloc(CHUNK);
    reap_sbuf line = {0};
    long lineno = 0;
    int st = REAP_OK;
    for (;;) {
        size_t got;
        st = in->read(in, buf, CHUNK, &got);
        if (st) {
            st = fail_at(st, unit, lineno + 1);
            break;
        }
        if (got == 0) break;
        size_t start = 0;
        for (const char *nl; start < got && (nl = memchr(buf + start, '\n', got - start));) {
            const size_t i = (size_t)(nl - buf);
            lineno++;
            if (line.n) {
                reap_sbuf_append(&line, buf + start, i - start);
                st = do_line(c, &b->s, unit, lineno, line.p, line.n);
                line.n = 0;
            } else {
                st = do_line(c, &b->s, unit, lineno, buf + start, i - start);
            }
            if (st) goto out;
            start = i + 1;
        }
        reap_sbuf_append(&line, buf + start, got - start);
    }
    if (!st && line.n) st = do_line(c, &b->s, unit, lineno + 1, line.p, line.n);
out:
    reap_sbuf_free(&line);
    free(buf);
    return st;
}

static int read_stream(load_ctx *c, byte_in *raw, const char *unit, const char *name, int zst) {
    if (!zst) return read_unit(c, raw, unit, name);
    byte_in z;
    zstd_open(&z, raw);
    int st = read_unit(c, &z, unit, name);
    zstd_close(&z);
    return st;
}

static int is_archive_name(const char *p) {
    static const char *ext[] = {".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar.xz", ".txz", ".tar.bz2", ".zip"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (ends_with(p, ext[i])) return 1;
    return 0;
}

static int is_member_name(const char *name) {
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (strncmp(base, "._", 2) == 0 || strstr(name, "__MACOSX/")) return 0;
    return ends_with(name, ".jsonl") || ends_with(name, ".jsonl.zst");
}

static int read_archive_file(load_ctx *c, const char *path) {
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_zip(a);
    int fd, st0 = reap_open_regular(path, &fd);
    if (st0) {
        archive_read_free(a);
        return st0;
    }
    if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
        int st = reap_fail(REAP_EINVAL, "%s: cannot read as an archive: %s", path, archive_error_string(a));
        archive_read_free(a);
        close(fd);
        return st;
    }
    struct archive_entry *e;
    int r, st = REAP_OK, members = 0;
    char *last = reap_xstrdup("(none)");
    while (!st && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        free(last);
        last = reap_xstrdup(name ? name : "?");
        if (archive_entry_filetype(e) != AE_IFREG || !name || !is_member_name(name)) {
            reap_verbose("%s: skipping member %s (not a .jsonl / .jsonl.zst file)", path, last);
            continue;
        }
        members++;
        char *unit = reap_xasprintf("%s:%s", path, name);
        byte_in in = {.read = read_archive, .a = a};
        st = read_stream(c, &in, unit, name, ends_with(name, ".zst"));
        free(unit);
    }
    if (!st && r != ARCHIVE_EOF)
        st = reap_fail(REAP_EINVAL, "%s: corrupt archive after member %s: %s", path, last, archive_error_string(a));
    if (!st && members == 0) st = reap_fail(REAP_EINVAL, "%s: the archive holds no .jsonl or .jsonl.zst member", path);
    free(last);
    archive_read_free(a);
    close(fd);  // archive_read_open_fd does not close it
    return st;
}

static int read_plain_file(load_ctx *c, const char *path, const char *name) {
    int fd, st0 = reap_open_regular(path, &fd);
    if (st0) return st0;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return reap_fail(REAP_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    byte_in in = {.read = read_file, .f = f};
    int st = read_stream(c, &in, path, name, ends_with(path, ".zst"));
    fclose(f);
    return st;
}

static int dir_filter(const struct dirent *d) { return d->d_name[0] != '.' && is_member_name(d->d_name); }

static int read_dir(load_ctx *c, const char *dir) {
    struct dirent **list;
    int n = scandir(dir, &list, dir_filter, alphasort);
    if (n < 0) return reap_fail(REAP_EIO, "%s: cannot list: %s", dir, strerror(errno));
    int st = n == 0 ? reap_fail(REAP_EINVAL, "%s: the directory holds no .jsonl or .jsonl.zst file", dir) : REAP_OK;
    for (int i = 0; i < n; i++) {
        if (!st) {
            char *p = reap_path_join(dir, list[i]->d_name);
            st = read_plain_file(c, p, list[i]->d_name);
            free(p);
        }
        free(list[i]);
    }
    free(list);
    return st;
}

static int read_builtin(load_ctx *c, const char *name) {
    reap_blob blob;
    int st = reap_calib_builtin(name, &blob);
    if (st) return st;
    char *unit = strcmp(name, "heldout") == 0 ? reap_xstrdup("heldout") : reap_xasprintf("builtin:%s", name);
    byte_in in = {.read = read_mem, .mem = blob.data, .mem_len = blob.size};
    c->builtin = 1;
    st = read_stream(c, &in, unit, name, 1);
    c->builtin = 0;
    free(unit);
    return st;
}

// ---- spec --------------------------------------------------------------------------------------

static int cmp_block(const void *a, const void *b) {
    return strcmp(((const block *)a)->name, ((const block *)b)->name);
}

static void free_sample(reap_sample *s) {
    free(s->text);
    free(s->origin);
    free(s->source);
    free(s->category);
}

int reap_calib_load(const char *spec, const reap_chat_family *fam, uint64_t seed, reap_samples *out) {
    if (!fam) return reap_fail(REAP_EINVAL, "calibration: no chat format to render with");
    // A trailing ":DIGITS" is a count unless the whole spec names an existing path.
    char *path = reap_xstrdup(spec);
    long long n_take = -1;
    char *colon = strrchr(path, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) && !reap_exists(spec)) {
        errno = 0;
        n_take = strtoll(colon + 1, NULL, 10);
        if (errno || n_take <= 0) {
            free(path);
            return reap_fail(REAP_EINVAL, "calibration source '%s': the count after ':' must be a positive integer", spec);
        }
        *colon = 0;
    }
    load_ctx c = {.fam = fam, .source = spec};
    int st;
    int archive = 0;
    if (strcmp(path, "builtin") == 0) {
        st = read_builtin(&c, "code");
        if (!st) st = read_builtin(&c, "tools");
    } else if (strcmp(path, "builtin:code") == 0 || strcmp(path, "builtin:tools") == 0) {
        st = read_builtin(&c, path + 8);
    } else if (strcmp(path, "heldout") == 0) {
        st = read_builtin(&c, "heldout");
    } else if (!reap_exists(path)) {
        st = reap_fail(REAP_EIO, "calibration source '%s': no such file or directory%s", path,
                       strncmp(path, "builtin", 7) == 0 ? " (built-in sets: builtin, builtin:code, builtin:tools, heldout)" : "");
    } else if (reap_is_dir(path)) {
        st = read_dir(&c, path);
    } else if (is_archive_name(path)) {
        archive = 1;
        st = read_archive_file(&c, path);
    } else {
        const char *base = strrchr(path, '/');
        st = read_plain_file(&c, path, base ? base + 1 : path);
    }
    // Members in name order (archives are read in stored order; blocks are sorted after).
    if (!st && archive) qsort(c.b, (size_t)c.nb, sizeof(block), cmp_block);
    int64_t total = 0;
    for (int i = 0; i < c.nb; i++) total += c.b[i].s.n;
    reap_sample *all = reap_xmalloc(sizeof(reap_sample) * (size_t)(total ? total : 1));
    int64_t k = 0;
    for (int i = 0; i < c.nb; i++) {
        if (c.b[i].s.n) memcpy(all + k, c.b[i].s.v, sizeof(reap_sample) * (size_t)c.b[i].s.n);
        k += c.b[i].s.n;
        free(c.b[i].s.v);
        free(c.b[i].name);
    }
    free(c.b);
    if (!st && total == 0) st = reap_fail(REAP_EINVAL, "calibration source '%s': no records", spec);
    if (st) {
        for (int64_t i = 0; i < total; i++) free_sample(&all[i]);
        free(all);
        free(path);
        return st;
    }
    int64_t take = total;
    int64_t *perm = NULL;
    if (n_take > 0) {
        if (n_take > total) reap_warn("calibration source '%s': only %lld records, taking all", spec, (long long)total);
        else take = n_take;
        perm = reap_xmalloc(sizeof(int64_t) * (size_t)total);
        reap_calib_shuffle(seed, perm, total);
    }
    out->v = reap_xrealloc(out->v, sizeof(reap_sample) * (size_t)(out->n + take));
    for (int64_t i = 0; i < take; i++) {
        int64_t j = perm ? perm[i] : i;
        out->v[out->n++] = all[j];
        all[j].text = NULL;
    }
    for (int64_t i = 0; i < total; i++)
        if (all[i].text) free_sample(&all[i]);
    free(perm);
    free(all);
    free(path);
    return REAP_OK;
}

void reap_samples_free(reap_samples *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free_sample(&s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

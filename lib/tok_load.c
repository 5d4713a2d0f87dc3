// tok_load.c: HF tokenizer.json -> reap_tokenizer. Supported: model BPE (byte-level or not,
// merges as "a b" strings or [a, b] pairs, ignore_merges, unk_token, fuse_unk); normalizers null,
// NFC, NFD, Replace (String pattern), Prepend and Sequences of them; pre-tokenizers Sequence /
// Split / ByteLevel (ByteLevel last); added tokens; decoder ByteLevel or null. Anything else fails, naming the file and the component.
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "tok_impl.h"

// The pattern `tokenizers` ByteLevel uses when use_regex is true (GPT-2's).
static const char GPT2_RE[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// `tokenizers` matches with Oniguruma, whose \s is Unicode White_Space; PCRE2's \s (with UCP)
// also takes U+180E (it keeps it in \h). Spelling \s and \S as the property makes them agree,
// inside character classes too.
static char *onig_compat(const char *pat, size_t len, size_t *out_len) {
    reap_sbuf b = {0};
    for (size_t i = 0; i < len; i++) {
        if (pat[i] == '\\' && i + 1 < len) {
            if (pat[i + 1] == 's') reap_sbuf_puts(&b, "\\p{White_Space}");
            else if (pat[i + 1] == 'S') reap_sbuf_puts(&b, "\\P{White_Space}");
            else reap_sbuf_append(&b, pat + i, 2);
            i++;
        } else {
            reap_sbuf_append(&b, pat + i, 1);
        }
    }
    if (!b.p) reap_sbuf_append(&b, "", 0);
    *out_len = b.n;
    return b.p;
}

pcre2_code *reap_tok_compile(const char *path, const char *what, const char *pat, size_t len, int literal) {
    int err;
    PCRE2_SIZE off;
    uint32_t opt = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);  // LITERAL refuses UCP
    size_t clen = len;
    char *compat = literal ? NULL : onig_compat(pat, len, &clen);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)(compat ? compat : pat), clen, opt, &err, &off, NULL);
    free(compat);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        reap_fail(REAP_EINVAL, "%s: %s: pattern '%.*s' does not compile at offset %zu: %s", path, what,
                  (int)(len > 200 ? 200 : len), pat, (size_t)off, (char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);  // best effort: pcre2_match falls back to the interpreter
    return re;
}

static int get_bool(const cJSON *o, const char *k, int dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    return dflt;
}

static const char *type_of(const cJSON *o) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

// ---- pre-tokenizer ----

static int parse_pretok(reap_tokenizer *t, const cJSON *o) {
    if (!o || cJSON_IsNull(o)) return REAP_OK;
    const char *type = type_of(o);
    if (!type) return reap_fail(REAP_EINVAL, "%s: pre_tokenizer: missing \"type\"", t->path);
    if (t->byte_level)
        return reap_fail(REAP_EINVAL, "%s: pre_tokenizer: %s after ByteLevel is not supported (ByteLevel must be last)",
                         t->path, type);
    if (!strcmp(type, "Sequence")) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "pretokenizers"), *c;
        if (!cJSON_IsArray(a)) return reap_fail(REAP_EINVAL, "%s: pre_tokenizer Sequence: no \"pretokenizers\" array", t->path);
        cJSON_ArrayForEach(c, a) {
            int st = parse_pretok(t, c);
            if (st) return st;
        }
        return REAP_OK;
    }
    if (!strcmp(type, "ByteLevel")) {
        t->byte_level = 1;
        t->bl_prefix = get_bool(o, "add_prefix_space", 1);
        t->bl_regex = get_bool(o, "use_regex", 1);
        if (t->bl_regex && !(t->re_gpt2 = reap_tok_compile(t->path, "pre_tokenizer ByteLevel", GPT2_RE, sizeof GPT2_RE - 1, 0)))
            return REAP_EINVAL;
        return REAP_OK;
    }
    if (!strcmp(type, "Split")) {
        if (t->n_splits == TOK_MAX_SPLITS)
            return reap_fail(REAP_EINVAL, "%s: pre_tokenizer: more than %d Split steps", t->path, TOK_MAX_SPLITS);
        tok_split *s = &t->splits[t->n_splits];
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(o, "pattern");
        const cJSON *rx = cJSON_GetObjectItemCaseSensitive(pat, "Regex"), *str = cJSON_GetObjectItemCaseSensitive(pat, "String");
        const cJSON *beh = cJSON_GetObjectItemCaseSensitive(o, "behavior");
        const cJSON *p = cJSON_IsString(rx) ? rx : str;
        if (!cJSON_IsString(p))
            return reap_fail(REAP_EINVAL, "%s: pre_tokenizer Split: \"pattern\" must be {\"Regex\": ...} or {\"String\": ...}", t->path);
        if (!cJSON_IsString(beh)) return reap_fail(REAP_EINVAL, "%s: pre_tokenizer Split: missing \"behavior\"", t->path);
        static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
        s->behavior = -1;
        for (int i = 0; i < 5; i++)
            if (!strcmp(beh->valuestring, names[i])) s->behavior = i;
        if (s->behavior < 0)
            return reap_fail(REAP_EINVAL, "%s: pre_tokenizer Split: unsupported behavior '%s'", t->path, beh->valuestring);
        s->invert = get_bool(o, "invert", 0);
        if (!(s->re = reap_tok_compile(t->path, "pre_tokenizer Split", p->valuestring, strlen(p->valuestring), p == str)))
            return REAP_EINVAL;
        t->n_splits++;
        return REAP_OK;
    }
    return reap_fail(REAP_EINVAL, "%s: pre_tokenizer %s is not supported (supported: Sequence, Split, ByteLevel)", t->path, type);
}

// ---- normalizer ----

static int add_norm(reap_tokenizer *t, tok_norm n, const char *type) {
    if (t->n_norms == TOK_MAX_NORMS) {
        free(n.pat);
        free(n.content);
        return reap_fail(REAP_EINVAL, "%s: normalizer %s: more than %d normalizer steps", t->path, type, TOK_MAX_NORMS);
    }
    t->norms[t->n_norms++] = n;
    return REAP_OK;
}

// A copy of a normalizer's string argument; NULL (with the error set) if it is not UTF-8.
static char *dup_utf8(reap_tokenizer *t, const char *type, const char *s, size_t *len) {
    *len = strlen(s);
    if (reap_utf8_check((const uint8_t *)s, *len) != *len) {
        reap_fail(REAP_EINVAL, "%s: normalizer %s: argument is not valid UTF-8", t->path, type);
        return NULL;
    }
    return reap_xstrdup(s);
}

static int parse_normalizer(reap_tokenizer *t, const cJSON *o) {
    if (!o || cJSON_IsNull(o)) return REAP_OK;
    const char *type = type_of(o);
    if (!type) return reap_fail(REAP_EINVAL, "%s: normalizer: missing \"type\"", t->path);
    if (!strcmp(type, "Sequence")) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "normalizers"), *c;
        if (!cJSON_IsArray(a)) return reap_fail(REAP_EINVAL, "%s: normalizer Sequence: no \"normalizers\" array", t->path);
        cJSON_ArrayForEach(c, a) {
            int st = parse_normalizer(t, c);
            if (st) return st;
        }
        return REAP_OK;
    }
    tok_norm n = {0};
    if (!strcmp(type, "NFC") || !strcmp(type, "NFD")) {
        n.kind = type[2] == 'C' ? TOK_NORM_NFC : TOK_NORM_NFD;
        return add_norm(t, n, type);
    }
    if (!strcmp(type, "Prepend")) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "prepend");
        if (!cJSON_IsString(p)) return reap_fail(REAP_EINVAL, "%s: normalizer Prepend: \"prepend\" must be a string", t->path);
        n.kind = TOK_NORM_PREPEND;
        if (!(n.pat = dup_utf8(t, type, p->valuestring, &n.pat_len))) return REAP_EINVAL;
        return add_norm(t, n, type);
    }
    if (!strcmp(type, "Replace")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(o, "pattern");
        const cJSON *str = cJSON_GetObjectItemCaseSensitive(pat, "String");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(o, "content");
        if (cJSON_GetObjectItemCaseSensitive(pat, "Regex"))
            return reap_fail(REAP_EINVAL, "%s: normalizer Replace: a Regex pattern is not supported (only {\"String\": ...})", t->path);
        if (!cJSON_IsString(str) || !str->valuestring[0])
            return reap_fail(REAP_EINVAL, "%s: normalizer Replace: \"pattern\" must be {\"String\": \"...\"} (non-empty)", t->path);
        if (!cJSON_IsString(content)) return reap_fail(REAP_EINVAL, "%s: normalizer Replace: \"content\" must be a string", t->path);
        n.kind = TOK_NORM_REPLACE;
        if (!(n.pat = dup_utf8(t, type, str->valuestring, &n.pat_len))) return REAP_EINVAL;
        if (!(n.content = dup_utf8(t, type, content->valuestring, &n.content_len))) {
            free(n.pat);
            return REAP_EINVAL;
        }
        return add_norm(t, n, type);
    }
    // Lowercase is left out on purpose: `tokenizers` lowercases with the case tables of the Rust
    // standard library it was built with (a newer Unicode than ours), so it could not be exact.
    return reap_fail(REAP_EINVAL,
                     "%s: normalizer %s is not supported (supported: NFC, NFD, Replace with a String pattern, Prepend, "
                     "Sequence of those)",
                     t->path, type);
}

// ---- model ----

#define ID_SLACK 65536

static int token_json_ok(const cJSON *v) {
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 2147483647.0 && v->valuedouble == (double)v->valueint;
}

// Copies every token string into one buffer (vocab keys point into it). Runs before parse_model
// checks the vocab's type: a vocab that is not an object (an array's items have no keys) counts nothing here.
static void build_strs(reap_tokenizer *t, const cJSON *vocab, const cJSON *added) {
    size_t total = 1;
    const cJSON *c;
    if (cJSON_IsObject(vocab)) cJSON_ArrayForEach(c, vocab) total += strlen(c->string) + 1;
    cJSON_ArrayForEach(c, added) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(c, "content");
        if (cJSON_IsString(s)) total += strlen(s->valuestring) + 1;
    }
    t->strs = reap_xmalloc(total);
    t->strs_len = 0;
}

static const char *strs_add(reap_tokenizer *t, const char *s, size_t n) {
    char *d = t->strs + t->strs_len;
    memcpy(d, s, n);
    d[n] = 0;
    t->strs_len += n + 1;
    return d;
}

static void set_id(reap_tokenizer *t, int32_t id, const char *s, size_t n, int added) {
    if (id >= t->n_ids) {
        int32_t m = id + 1 > t->n_ids * 2 ? id + 1 : t->n_ids * 2;
        t->tok_off = reap_xrealloc(t->tok_off, (size_t)m * sizeof *t->tok_off);
        t->tok_len = reap_xrealloc(t->tok_len, (size_t)m * sizeof *t->tok_len);
        t->is_added = reap_xrealloc(t->is_added, (size_t)m);
        for (int32_t i = t->n_ids; i < m; i++) t->tok_off[i] = UINT32_MAX;
        memset(t->is_added + t->n_ids, 0, (size_t)(m - t->n_ids));
        t->n_ids = m;
    }
    if (t->tok_off[id] != UINT32_MAX && !added) return;  // duplicate id in vocab: the first name stays
    t->tok_off[id] = (uint32_t)(s - t->strs);
    t->tok_len[id] = (uint32_t)n;
    t->is_added[id] = (uint8_t)added;
}

static int parse_merge(reap_tokenizer *t, const cJSON *m, int rank, const char **a, size_t *an, const char **b, size_t *bn) {
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring, *sp = strchr(s, ' ');
        if (!sp || strchr(sp + 1, ' '))
            return reap_fail(REAP_EINVAL, "%s: model.merges[%d]: '%s' is not two tokens separated by one space", t->path, rank, s);
        *a = s, *an = (size_t)(sp - s), *b = sp + 1, *bn = strlen(sp + 1);
        return REAP_OK;
    }
    const cJSON *x = cJSON_GetArrayItem(m, 0), *y = cJSON_GetArrayItem(m, 1);
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2 || !cJSON_IsString(x) || !cJSON_IsString(y))
        return reap_fail(REAP_EINVAL, "%s: model.merges[%d]: expected \"a b\" or [\"a\", \"b\"]", t->path, rank);
    *a = x->valuestring, *an = strlen(x->valuestring), *b = y->valuestring, *bn = strlen(y->valuestring);
    return REAP_OK;
}

static int parse_model(reap_tokenizer *t, const cJSON *o) {
    const char *type = type_of(o);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(o, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(o, "merges");
    if (!cJSON_IsObject(o)) return reap_fail(REAP_EINVAL, "%s: no \"model\" object", t->path);
    if (type ? strcmp(type, "BPE") != 0 : !cJSON_IsArray(merges))
        return reap_fail(REAP_EINVAL, "%s: model %s is not supported (only BPE)", t->path, type ? type : "(no type)");
    if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges))
        return reap_fail(REAP_EINVAL, "%s: model BPE: \"vocab\" must be an object and \"merges\" an array", t->path);
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(o, "dropout");
    if (cJSON_IsNumber(dropout) && dropout->valuedouble != 0)
        return reap_fail(REAP_EINVAL, "%s: model BPE: dropout %g is not supported (encoding would be random)", t->path, dropout->valuedouble);
    static const char *affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, affixes[i]);
        if (cJSON_IsString(v) && v->valuestring[0])
            return reap_fail(REAP_EINVAL, "%s: model BPE: %s '%s' is not supported", t->path, affixes[i], v->valuestring);
    }
    if (get_bool(o, "byte_fallback", 0))
        return reap_fail(REAP_EINVAL, "%s: model BPE: byte_fallback is not supported", t->path);
    t->ignore_merges = get_bool(o, "ignore_merges", 0);
    t->fuse_unk = get_bool(o, "fuse_unk", 0);

    const cJSON *c;
    cJSON_ArrayForEach(c, vocab) {
        if (!token_json_ok(c))
            return reap_fail(REAP_EINVAL, "%s: model.vocab: token '%s' has no valid id", t->path, c->string);
        if (c->valueint >= t->id_cap)
            return reap_fail(REAP_EINVAL, "%s: model.vocab: token '%s' has id %d, far above the %d entries in the file",
                             t->path, c->string, c->valueint, t->id_cap - ID_SLACK);
        size_t n = strlen(c->string);
        const char *s = strs_add(t, c->string, n);
        if (reap_bpe_smap_put(&t->vocab, s, n, c->valueint) >= 0) continue;  // duplicate key: first wins
        set_id(t, c->valueint, s, n, 0);
        t->n_model++;
    }
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(o, "unk_token");
    t->unk_id = -1;
    if (cJSON_IsString(unk)) {
        t->unk_id = reap_bpe_smap_get(&t->vocab, unk->valuestring, strlen(unk->valuestring));
        if (t->unk_id < 0) return reap_fail(REAP_EINVAL, "%s: model BPE: unk_token '%s' is not in the vocab", t->path, unk->valuestring);
    }
    int rank = 0;
    reap_sbuf cat = {0};
    cJSON_ArrayForEach(c, merges) {
        const char *a = NULL, *b = NULL;
        size_t an = 0, bn = 0;
        int st = parse_merge(t, c, rank, &a, &an, &b, &bn);
        if (st) { reap_sbuf_free(&cat); return st; }
        int32_t ia = reap_bpe_smap_get(&t->vocab, a, an), ib = reap_bpe_smap_get(&t->vocab, b, bn);
        cat.n = 0;
        reap_sbuf_append(&cat, a, an);
        reap_sbuf_append(&cat, b, bn);
        int32_t ic = reap_bpe_smap_get(&t->vocab, cat.p, cat.n);
        if (ia < 0 || ib < 0 || ic < 0) {
            st = reap_fail(REAP_EINVAL, "%s: model.merges[%d]: token '%.*s' is not in the vocab", t->path, rank,
                           (int)(ia < 0 ? an : ib < 0 ? bn : cat.n), ia < 0 ? a : ib < 0 ? b : cat.p);
            reap_sbuf_free(&cat);
            return st;
        }
        reap_bpe_pmap_put(&t->merges, ia, ib, rank, ic);
        rank++;
    }
    reap_sbuf_free(&cat);
    return REAP_OK;
}

// ---- added tokens ----

static int cmp_added(const void *x, const void *y, void *ctx) {
    const tok_added *a = &((const tok_added *)ctx)[*(const int32_t *)x], *b = &((const tok_added *)ctx)[*(const int32_t *)y];
    uint8_t fa = (uint8_t)a->match[0], fb = (uint8_t)b->match[0];
    if (fa != fb) return fa < fb ? -1 : 1;
    if (a->match_len != b->match_len) return a->match_len > b->match_len ? -1 : 1;
    return *(const int32_t *)x < *(const int32_t *)y ? -1 : 1;
}

static void build_matcher(reap_tokenizer *t, tok_matcher *m, int normalized) {
    int n = 0;
    m->idx = reap_xmalloc(sizeof(int32_t) * (size_t)(t->n_added + 1));
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].normalized == normalized && t->added[i].match_len) m->idx[n++] = i;
    qsort_r(m->idx, (size_t)n, sizeof(int32_t), cmp_added, t->added);
    int j = 0;
    for (int b = 0; b <= 256; b++) {
        while (j < n && (uint8_t)t->added[m->idx[j]].match[0] < b) j++;
        m->start[b] = j;
    }
    m->start[256] = n;
}

static int parse_added(reap_tokenizer *t, const cJSON *arr) {
    if (!arr || cJSON_IsNull(arr)) return REAP_OK;
    if (!cJSON_IsArray(arr)) return reap_fail(REAP_EINVAL, "%s: \"added_tokens\" is not an array", t->path);
    t->added = reap_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *t->added);
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, arr) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(c, "content"), *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        if (!cJSON_IsString(s) || !token_json_ok(id))
            return reap_fail(REAP_EINVAL, "%s: added_tokens[%d]: needs \"content\" (string) and \"id\"", t->path, i);
        i++;
        size_t n = strlen(s->valuestring);
        if (reap_utf8_check((const uint8_t *)s->valuestring, n) != n)
            return reap_fail(REAP_EINVAL, "%s: added_tokens[%d]: content is not valid UTF-8", t->path, i - 1);
        if (!n) continue;  // `tokenizers` ignores empty added tokens
        tok_added a = {.content = strs_add(t, s->valuestring, n), .len = (uint32_t)n,
                       .single_word = (uint8_t)get_bool(c, "single_word", 0), .lstrip = (uint8_t)get_bool(c, "lstrip", 0),
                       .rstrip = (uint8_t)get_bool(c, "rstrip", 0), .special = (uint8_t)get_bool(c, "special", 0)};
        a.normalized = (uint8_t)get_bool(c, "normalized", !a.special);
        // Ids as `tokenizers` assigns them when it loads the file: an earlier added token or the
        // model's vocab first, else the next id after the added ones (or the model's vocab size).
        int32_t nid = reap_bpe_smap_get(&t->added_map, a.content, n);
        if (nid < 0) nid = reap_bpe_smap_get(&t->vocab, a.content, n);
        if (nid < 0) {
            int32_t mx = -1;
            for (int k = 0; k < t->n_added; k++) mx = t->added[k].id > mx ? t->added[k].id : mx;
            nid = mx < 0 ? t->n_model : (mx >= t->n_model || !t->n_model) ? mx + 1 : t->n_model;
        }
        if (nid != id->valueint)
            reap_warn("%s: added token '%s' is listed with id %d but gets id %d (as `tokenizers` assigns it)", t->path,
                      a.content, id->valueint, nid);
        a.id = nid;
        int dup = -1;
        for (int k = 0; k < t->n_added; k++)
            if (t->added[k].len == n && !memcmp(t->added[k].content, a.content, n)) dup = k;
        if (dup >= 0) t->added[dup] = a;
        else t->added[t->n_added++] = a;
        reap_bpe_smap_put(&t->added_map, a.content, n, nid);
        set_id(t, nid, a.content, n, 1);
    }
    // `tokenizers` matches normalized added tokens by their content passed through the normalizer.
    size_t *moff = reap_xmalloc(sizeof *moff * (size_t)(t->n_added + 1));
    for (int k = 0; k < t->n_added; k++) {
        tok_added *a = &t->added[k];
        a->match = a->content;
        a->match_len = a->len;
        moff[k] = SIZE_MAX;
        if (!a->normalized || !t->n_norms) continue;
        const char *s;
        size_t sn;
        reap_tok_normalize(t, a->content, a->len, &s, &sn);
        moff[k] = t->mstrs.n;
        reap_sbuf_append(&t->mstrs, s, sn);
        a->match_len = (uint32_t)sn;
    }
    for (int k = 0; k < t->n_added; k++) {
        tok_added *a = &t->added[k];
        if (moff[k] == SIZE_MAX) continue;
        a->match = t->mstrs.p + moff[k];
        // `tokenizers` also decodes such a token as its normalised content.
        t->tok_off[a->id] = (uint32_t)moff[k];
        t->tok_len[a->id] = a->match_len;
        t->is_added[a->id] = 2;
    }
    free(moff);
    build_matcher(t, &t->m_raw, 0);
    build_matcher(t, &t->m_norm, 1);
    return REAP_OK;
}

// ---- decoder ----

static void parse_decoder(reap_tokenizer *t, const cJSON *o) {
    const char *type = type_of(o);
    if (!o || cJSON_IsNull(o)) t->dec_byte_level = 0;
    else if (type && !strcmp(type, "ByteLevel")) t->dec_byte_level = 1;
    else {
        t->dec_byte_level = -1;  // encoding still works; decode fails naming it
        snprintf(t->dec_type, sizeof t->dec_type, "%s", type ? type : "(no type)");
    }
}

static void setup_byte_level(reap_tokenizer *t) {
    for (int b = 0; b < 256; b++) {
        char s[4];
        size_t n = reap_utf8_encode(reap_bpe_byte_char((uint8_t)b), s);
        t->byte_id[b] = reap_bpe_smap_get(&t->vocab, s, n);
    }
    if (!t->byte_level || !t->ignore_merges) return;
    // ignore_merges looks a whole pre-token up in the vocab: index the vocab by raw bytes.
    for (int32_t id = 0; id < t->n_ids; id++) {
        if (t->tok_off[id] == UINT32_MAX || t->is_added[id]) continue;
        const char *s = t->strs + t->tok_off[id];
        uint8_t *raw = reap_xmalloc(t->tok_len[id] + 1);
        long n = reap_bpe_chars_to_bytes(s, t->tok_len[id], raw);
        if (n > 0) {
            // Raw bytes are never longer than the mapped string: store them in place of a copy.
            char *k = reap_xmalloc((size_t)n);
            memcpy(k, raw, (size_t)n);
            if (reap_bpe_smap_put(&t->bvocab, k, (size_t)n, id) >= 0) free(k);
        }
        free(raw);
    }
}

// The per-handle scratch (tok_impl.h): match data, the JIT stack, the pre-token cache; the
// growable buffers start empty.
static void scratch_init(reap_tokenizer *t) {
    t->md = pcre2_match_data_create(4, NULL);
    t->mctx = pcre2_match_context_create(NULL);
    t->jit_stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
    if (t->jit_stack) pcre2_jit_stack_assign(t->mctx, NULL, t->jit_stack);
    t->cache = reap_xcalloc(TOK_CACHE_CAP, sizeof *t->cache);
    reap_bpe_bytes_to_chars(NULL, 0, NULL);  // its byte table is filled here, before any thread shares it
}

static void scratch_free(reap_tokenizer *t) {
    reap_sbuf_free(&t->nbuf[0]);
    reap_sbuf_free(&t->nbuf[1]);
    reap_unicode_work_free(&t->uwork);
    pcre2_match_data_free(t->md);
    pcre2_match_context_free(t->mctx);
    if (t->jit_stack) pcre2_jit_stack_free(t->jit_stack);
    for (int i = 0; i <= TOK_MAX_SPLITS; i++) free(t->lv[i].v);
    free(t->scratch);
    free(t->sym);
    reap_bpe_work_free(&t->work);
    free(t->cache);
    reap_sbuf_free(&t->ckeys);
    free(t->cids);
}

reap_tokenizer *reap_tok_clone(const reap_tokenizer *t) {
    reap_tokenizer *c = reap_xmalloc(sizeof *c);
    *c = *t;
    c->parent = t->parent ? t->parent : t;
    // nothing of t's scratch is shared: every buffer starts empty
    memset(c->lv, 0, sizeof c->lv);
    memset(c->nbuf, 0, sizeof c->nbuf);
    memset(&c->uwork, 0, sizeof c->uwork);
    memset(&c->work, 0, sizeof c->work);
    memset(&c->ckeys, 0, sizeof c->ckeys);
    c->scratch = NULL, c->scratch_cap = 0;
    c->sym = NULL, c->sym_cap = 0;
    c->cids = NULL, c->cids_n = c->cids_cap = 0, c->cache_n = 0;
    scratch_init(c);
    return c;
}

int reap_tok_load_mem(const char *json, size_t len, const char *path, reap_tokenizer **out) {
    *out = NULL;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return reap_fail(REAP_EINVAL, "%s: not valid JSON (near byte %zu)", path,
                                cJSON_GetErrorPtr() ? (size_t)(cJSON_GetErrorPtr() - json) : (size_t)0);
    reap_tokenizer *t = reap_xcalloc(1, sizeof *t);
    t->path = reap_xstrdup(path);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    build_strs(t, cJSON_GetObjectItemCaseSensitive(model, "vocab"), cJSON_IsArray(added) ? added : NULL);
    // Ids index arrays sized by the highest id: one id of 2e9 in a small file must not allocate
    // gigabytes. Real vocabularies are dense (or padded a little), so an id is refused when it
    // exceeds the number of entries present (vocab + added tokens) plus ID_SLACK.
    t->id_cap = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(model, "vocab")) +
                (cJSON_IsArray(added) ? cJSON_GetArraySize(added) : 0) + ID_SLACK;
    int st = parse_model(t, model);
    if (!st) st = parse_normalizer(t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"));
    if (!st) st = parse_added(t, added);  // after the normalizer: normalized tokens are matched normalised
    if (!st) st = parse_pretok(t, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"));
    if (!st) {
        parse_decoder(t, cJSON_GetObjectItemCaseSensitive(root, "decoder"));
        setup_byte_level(t);
        // single_word tests the neighbours with the Rust regex crate's Unicode \\w.
        static const char WORD_RE[] = "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}]";
        if (!(t->re_word = reap_tok_compile(path, "added tokens", WORD_RE, sizeof WORD_RE - 1, 0))) st = REAP_EINVAL;
    }
    cJSON_Delete(root);
    if (st) {
        reap_tok_free(t);
        return st;
    }
    scratch_init(t);
    *out = t;
    return REAP_OK;
}

int reap_tok_load(const char *path, reap_tokenizer **out) {
    char *data;
    size_t len;
    *out = NULL;
    int st = reap_read_file(path, &data, &len);
    if (st) return st;
    st = reap_tok_load_mem(data, len, path, out);
    free(data);
    return st;
}

void reap_tok_free(reap_tokenizer *t) {
    if (!t) return;
    scratch_free(t);
    if (t->parent) {
        free(t);
        return;
    }
    for (int i = 0; i < t->n_splits; i++) pcre2_code_free(t->splits[i].re);
    for (int i = 0; i < t->n_norms; i++) {
        free(t->norms[i].pat);
        free(t->norms[i].content);
    }
    reap_sbuf_free(&t->mstrs);
    pcre2_code_free(t->re_gpt2);
    pcre2_code_free(t->re_word);
    for (size_t i = 0; i < t->bvocab.cap; i++) free((void *)t->bvocab.e[i].s);
    reap_bpe_smap_free(&t->bvocab);
    reap_bpe_smap_free(&t->vocab);
    reap_bpe_smap_free(&t->added_map);
    reap_bpe_pmap_free(&t->merges);
    free(t->m_raw.idx);
    free(t->m_norm.idx);
    free(t->added);
    free(t->tok_off);
    free(t->tok_len);
    free(t->is_added);
    free(t->strs);
    free(t->path);
    free(t);
}

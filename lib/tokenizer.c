// tokenizer.c: encode and decode exactly as HF `tokenizers` does (add_special_tokens=False).
// Pipeline per text: added tokens that are not normalized are split out first, then each piece
// between them is normalised (NFC / NFD / Replace / Prepend steps) and the normalized added tokens
// are split out of it, then each remaining piece goes through the Split steps, the ByteLevel step,
// and BPE with a cache of recent pre-tokens.
#include <stdlib.h>
#include <string.h>

#include "tok_impl.h"

typedef struct {
    int32_t **ids;
    size_t *n, *cap;
} sink;

static void emit(sink *o, int32_t id) {
    if (*o->n == *o->cap) {
        *o->cap = *o->cap ? *o->cap * 2 : 256;
        *o->ids = reap_xrealloc(*o->ids, *o->cap * sizeof **o->ids);
    }
    (*o->ids)[(*o->n)++] = id;
}

// ---- BPE on one pre-token (raw bytes; byte-level mapping is implied by t->byte_level) ----

static int cache_get(reap_tokenizer *t, uint64_t h, const char *p, size_t n, sink *o) {
    for (size_t j = h & (TOK_CACHE_CAP - 1);; j = (j + 1) & (TOK_CACHE_CAP - 1)) {
        tok_centry *e = &t->cache[j];
        if (!e->klen) return 0;
        if (e->h == h && e->klen == n && !memcmp(t->ckeys.p + e->koff, p, n)) {
            for (uint32_t i = 0; i < e->ilen; i++) emit(o, t->cids[e->ioff + i]);
            return 1;
        }
    }
}

static void cache_put(reap_tokenizer *t, uint64_t h, const char *p, size_t n, const int32_t *ids, size_t k) {
    if (n > 256) return;  // long pre-tokens rarely repeat
    if ((t->cache_n + 1) * 2 > TOK_CACHE_CAP || t->ckeys.n > (64u << 20)) {
        memset(t->cache, 0, TOK_CACHE_CAP * sizeof *t->cache);
        t->cache_n = 0;
        t->ckeys.n = 0;
        t->cids_n = 0;
    }
    size_t j = h & (TOK_CACHE_CAP - 1);
    while (t->cache[j].klen) j = (j + 1) & (TOK_CACHE_CAP - 1);
    if (t->cids_n + k > t->cids_cap) {
        t->cids_cap = (t->cids_n + k) * 2;
        t->cids = reap_xrealloc(t->cids, t->cids_cap * sizeof *t->cids);
    }
    t->cache[j] = (tok_centry){h, (uint32_t)t->ckeys.n, (uint32_t)n, (uint32_t)t->cids_n, (uint32_t)k};
    reap_sbuf_append(&t->ckeys, p, n);
    if (k) memcpy(t->cids + t->cids_n, ids, k * sizeof *ids);  // k == 0: cids may still be NULL
    t->cids_n += k;
    t->cache_n++;
}

static void push_sym(reap_tokenizer *t, size_t *k, int32_t id) {
    if (id < 0) {  // not in the vocab: unk if the model has one, else dropped (as `tokenizers`)
        if (t->unk_id < 0) return;
        if (t->fuse_unk && *k && t->sym[*k - 1] == t->unk_id) return;
        id = t->unk_id;
    }
    t->sym[(*k)++] = id;
}

static void bpe_piece(reap_tokenizer *t, const char *p, size_t n, sink *o) {
    if (!n) return;
    uint64_t h = reap_bpe_hash(p, n);
    if (cache_get(t, h, p, n, o)) return;
    if (t->ignore_merges) {
        int32_t id = reap_bpe_smap_get(t->byte_level ? &t->bvocab : &t->vocab, p, n);
        if (id >= 0) { emit(o, id); return; }
    }
    if (n > t->sym_cap) {
        t->sym_cap = n * 2;
        t->sym = reap_xrealloc(t->sym, t->sym_cap * sizeof *t->sym);
    }
    size_t k = 0;
    if (t->byte_level) {
        for (size_t i = 0; i < n; i++) push_sym(t, &k, t->byte_id[(uint8_t)p[i]]);
    } else {
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            int c = reap_utf8_decode((const uint8_t *)p + i, n - i, &cp);
            REAP_ASSERT(c > 0);  // input was validated
            push_sym(t, &k, reap_bpe_smap_get(&t->vocab, p + i, (size_t)c));
            i += (size_t)c;
        }
    }
    k = reap_bpe_merge(&t->merges, t->sym, k, &t->work);
    for (size_t i = 0; i < k; i++) emit(o, t->sym[i]);
    cache_put(t, h, p, n, t->sym, k);
}

// ---- pre-tokenizer ----

// All matches of re in [p, p+n) as spans covering the piece, like `tokenizers` find_matches on
// an onig regex: an empty match right after the previous match is skipped.
static int find_spans(reap_tokenizer *t, pcre2_code *re, const char *p, size_t n, int invert, tok_spans *out) {
    out->n = 0;
#define PUSH_SPAN(S, E, M)                                                          \
    do {                                                                            \
        if (out->n == out->cap) {                                                   \
            out->cap = out->cap ? out->cap * 2 : 64;                                \
            out->v = reap_xrealloc(out->v, out->cap * sizeof *out->v);              \
        }                                                                           \
        out->v[out->n++] = (tok_span){(S), (E), (M)};                               \
    } while (0)
    if (!n) {
        PUSH_SPAN(0, 0, invert);
        return REAP_OK;
    }
    size_t prev = 0, off = 0, last_end = (size_t)-1;
    while (off <= n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)p, n, off, PCRE2_NO_UTF_CHECK, t->md, t->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return reap_fail(REAP_EINVAL, "%s: pre_tokenizer Split: matching a %zu-byte piece failed: %s", t->path, n, (char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
        size_t s = ov[0], e = ov[1];
        if (s == e && last_end == e) {
            if (off >= n) break;
            uint32_t cp;
            off += (size_t)reap_utf8_decode((const uint8_t *)p + off, n - off, &cp);
            continue;
        }
        if (prev != s) PUSH_SPAN(prev, s, invert);
        PUSH_SPAN(s, e, !invert);
        prev = off = last_end = e;
    }
    if (prev != n) PUSH_SPAN(prev, n, invert);
#undef PUSH_SPAN
    return REAP_OK;
}

// Applies a Split behavior: spans become pieces; m = 1 marks the removed ones.
static void apply_behavior(tok_spans *sp, int behavior) {
    size_t k = 0;
    int prev_match = 0;
    switch (behavior) {
    case TOK_SPLIT_REMOVED: return;
    case TOK_SPLIT_ISOLATED:
        for (size_t i = 0; i < sp->n; i++) sp->v[i].m = 0;
        return;
    case TOK_SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < sp->n; i++) {
            int m = sp->v[i].m;
            if (k && m == prev_match) sp->v[k - 1].e = sp->v[i].e;
            else sp->v[k++] = (tok_span){sp->v[i].s, sp->v[i].e, 0};
            prev_match = m;
        }
        break;
    case TOK_SPLIT_PREV:
        for (size_t i = 0; i < sp->n; i++) {
            int m = sp->v[i].m;
            if (k && m && !prev_match) sp->v[k - 1].e = sp->v[i].e;
            else sp->v[k++] = (tok_span){sp->v[i].s, sp->v[i].e, 0};
            prev_match = m;
        }
        break;
    case TOK_SPLIT_NEXT: {  // right to left into a copy, then reversed back
        tok_span *r = reap_xmalloc(sp->n * sizeof *r);
        for (size_t i = sp->n; i-- > 0;) {
            int m = sp->v[i].m;
            if (k && m && !prev_match) r[k - 1].s = sp->v[i].s;
            else r[k++] = (tok_span){sp->v[i].s, sp->v[i].e, 0};
            prev_match = m;
        }
        for (size_t i = 0; i < k; i++) sp->v[i] = r[k - 1 - i];
        free(r);
        break;
    }
    }
    sp->n = k;
}

static int byte_level_piece(reap_tokenizer *t, const char *p, size_t n, sink *o) {
    if (t->bl_prefix && p[0] != ' ') {
        if (n + 1 > t->scratch_cap) {
            t->scratch_cap = (n + 1) * 2;
            t->scratch = reap_xrealloc(t->scratch, t->scratch_cap);
        }
        t->scratch[0] = ' ';
        memcpy(t->scratch + 1, p, n);
        p = t->scratch;
        n++;
    }
    if (!t->bl_regex) {
        bpe_piece(t, p, n, o);
        return REAP_OK;
    }
    tok_spans *sp = &t->lv[TOK_MAX_SPLITS];
    int st = find_spans(t, t->re_gpt2, p, n, 0, sp);
    if (st) return st;
    for (size_t i = 0; i < sp->n; i++) bpe_piece(t, p + sp->v[i].s, sp->v[i].e - sp->v[i].s, o);
    return REAP_OK;
}

static int pretokenize(reap_tokenizer *t, int step, const char *p, size_t n, sink *o) {
    if (!n) return REAP_OK;
    if (step == t->n_splits) {
        if (t->byte_level) return byte_level_piece(t, p, n, o);
        bpe_piece(t, p, n, o);
        return REAP_OK;
    }
    tok_split *s = &t->splits[step];
    tok_spans *sp = &t->lv[step];
    int st = find_spans(t, s->re, p, n, s->invert, sp);
    if (st) return st;
    apply_behavior(sp, s->behavior);
    for (size_t i = 0; i < sp->n; i++) {
        tok_span x = sp->v[i];  // deeper steps use their own lv[] arrays
        if (x.m || x.e == x.s) continue;
        if ((st = pretokenize(t, step + 1, p + x.s, x.e - x.s, o))) return st;
    }
    return REAP_OK;
}

// ---- added tokens ----

static int is_ws(uint32_t c) {  // Rust char::is_whitespace (Unicode White_Space)
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static int word_char_at(reap_tokenizer *t, const char *p, size_t n, size_t i) {
    return pcre2_match(t->re_word, (PCRE2_SPTR)p, n, i, PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED, t->md, NULL) >= 0;
}

static size_t prev_char(const char *p, size_t i) {
    do i--;
    while (i > 0 && ((uint8_t)p[i] & 0xC0) == 0x80);
    return i;
}

static int split_added(reap_tokenizer *t, int pass, const char *p, size_t n, sink *o);

// Pass-0 pieces are normalised one after another, so one pair of buffers serves them all.
void reap_tok_normalize(reap_tokenizer *t, const char *p, size_t n, const char **out, size_t *out_n) {
    int nb = 0;  // the buffer the next step writes
    for (int i = 0; i < t->n_norms; i++) {
        const tok_norm *s = &t->norms[i];
        reap_sbuf *dst = &t->nbuf[nb];
        if (s->kind == TOK_NORM_NFC || s->kind == TOK_NORM_NFD) {
            reap_unicode_form f = s->kind == TOK_NORM_NFC ? REAP_UNICODE_NFC : REAP_UNICODE_NFD;
            if (!reap_unicode_normalize(f, p, n, dst, &t->uwork)) continue;  // already normalised
        } else if (s->kind == TOK_NORM_PREPEND) {
            if (!n) continue;  // `tokenizers` prepends to non-empty text only
            dst->n = 0;
            reap_sbuf_append(dst, s->pat, s->pat_len);
            reap_sbuf_append(dst, p, n);
        } else {  // Replace: leftmost, non-overlapping occurrences of a literal
            const char *hit = memmem(p, n, s->pat, s->pat_len);
            if (!hit) continue;
            dst->n = 0;
            reap_sbuf_append(dst, "", 0);
            const char *q = p, *end = p + n;
            for (; hit; hit = memmem(q, (size_t)(end - q), s->pat, s->pat_len)) {
                reap_sbuf_append(dst, q, (size_t)(hit - q));
                reap_sbuf_append(dst, s->content, s->content_len);
                q = hit + s->pat_len;
            }
            reap_sbuf_append(dst, q, (size_t)(end - q));
        }
        p = dst->p;
        n = dst->n;
        nb ^= 1;
    }
    *out = p;
    *out_n = n;
}

static int after_added(reap_tokenizer *t, int pass, const char *p, size_t n, sink *o) {
    if (pass == 1) return pretokenize(t, 0, p, n, o);
    if (t->n_norms) reap_tok_normalize(t, p, n, &p, &n);
    return split_added(t, 1, p, n, o);  // the normalized added tokens are matched on normalised text
}

// `tokenizers` AddedVocabulary::find_matches: leftmost-longest, non-overlapping; single_word
// rejects a match touching a word character; lstrip / rstrip swallow adjacent whitespace.
static int split_added(reap_tokenizer *t, int pass, const char *p, size_t n, sink *o) {
    const tok_matcher *m = pass == 0 ? &t->m_raw : &t->m_norm;
    if (m->start[256] == 0) return after_added(t, pass, p, n, o);
    size_t start_offset = 0, i = 0;
    int st;
    while (i < n) {
        uint8_t b = (uint8_t)p[i];
        const tok_added *hit = NULL;
        for (int k = m->start[b]; k < m->start[b + 1]; k++) {
            const tok_added *a = &t->added[m->idx[k]];
            if (a->match_len <= n - i && !memcmp(p + i, a->match, a->match_len)) { hit = a; break; }
        }
        if (!hit) { i++; continue; }
        size_t start = i, stop = i + hit->match_len;
        i = stop;
        if (hit->single_word) {
            int before = start > 0 && word_char_at(t, p, n, prev_char(p, start));
            int after = stop < n && word_char_at(t, p, n, stop);
            if (before || after) continue;
        }
        if (hit->lstrip) {
            size_t s = start;
            while (s > 0) {
                size_t q = prev_char(p, s);
                uint32_t cp;
                reap_utf8_decode((const uint8_t *)p + q, n - q, &cp);
                if (!is_ws(cp)) break;
                s = q;
            }
            start = s > start_offset ? s : start_offset;
        }
        if (hit->rstrip) {
            uint32_t cp;
            int c;
            while (stop < n && (c = reap_utf8_decode((const uint8_t *)p + stop, n - stop, &cp)) && is_ws(cp)) stop += (size_t)c;
        }
        if (start > start_offset && (st = after_added(t, pass, p + start_offset, start - start_offset, o))) return st;
        emit(o, hit->id);
        start_offset = stop;
    }
    if (start_offset < n) return after_added(t, pass, p + start_offset, n - start_offset, o);
    return REAP_OK;
}

int reap_tok_encode(reap_tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n, size_t *cap) {
    size_t bad = reap_utf8_check((const uint8_t *)text, len);
    if (bad < len) return reap_fail(REAP_EINVAL, "%s: encode: invalid UTF-8 at byte %zu of %zu", t->path, bad, len);
    sink o = {ids, n, cap};
    size_t n0 = *n;
    int st = len ? split_added(t, 0, text, len, &o) : REAP_OK;
    if (st) *n = n0;
    return st;
}

// ---- decode ----

// Replaces each maximal invalid UTF-8 subsequence with U+FFFD (Rust String::from_utf8_lossy).
static void append_lossy(reap_sbuf *out, const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        int k = s[i] < 0x80 ? 1 : reap_utf8_decode(s + i, n - i, &cp);
        if (k) {
            reap_sbuf_append(out, s + i, (size_t)k);
            i += (size_t)k;
            continue;
        }
        uint8_t c = s[i];
        size_t need = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 1;
        uint8_t lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80, hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        size_t j = 1;
        while (j < need && i + j < n && s[i + j] >= (j == 1 ? lo : 0x80) && s[i + j] <= (j == 1 ? hi : 0xBF)) j++;
        reap_sbuf_append(out, "\xEF\xBF\xBD", 3);
        i += j;
    }
}

int reap_tok_decode(const reap_tokenizer *t, const int32_t *ids, size_t n, char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (t->dec_byte_level < 0) return reap_fail(REAP_EINVAL, "%s: decoder %s is not supported (only ByteLevel)", t->path, t->dec_type);
    reap_sbuf raw = {0}, res = {0};
    uint8_t *tmp = NULL;
    size_t tmp_cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_ids || t->tok_off[ids[i]] == UINT32_MAX) {
            free(tmp);
            reap_sbuf_free(&raw);
            return reap_fail(REAP_EINVAL, "%s: decode: id %d at position %zu is not in the vocabulary (size %d)", t->path,
                             ids[i], i, t->n_ids);
        }
        const char *s = (t->is_added[ids[i]] == 2 ? t->mstrs.p : t->strs) + t->tok_off[ids[i]];
        size_t sn = t->tok_len[ids[i]];
        long bn = -1;
        if (t->dec_byte_level) {  // a token with a char outside the alphabet goes out as it is
            if (sn > tmp_cap) tmp = reap_xrealloc(tmp, tmp_cap = sn * 2);
            bn = reap_bpe_chars_to_bytes(s, sn, tmp);
        }
        if (bn >= 0) reap_sbuf_append(&raw, tmp, (size_t)bn);
        else reap_sbuf_append(&raw, s, sn);
    }
    free(tmp);
    append_lossy(&res, (const uint8_t *)raw.p, raw.n);
    reap_sbuf_free(&raw);
    if (!res.p) reap_sbuf_append(&res, "", 0);
    *out = res.p;
    *len = res.n;
    return REAP_OK;
}

int reap_tok_vocab_size(const reap_tokenizer *t) {
    int32_t n = t->n_ids;
    while (n > 0 && t->tok_off[n - 1] == UINT32_MAX) n--;
    return n;
}

int reap_tok_token_id(const reap_tokenizer *t, const char *tok) {
    size_t n = strlen(tok);
    int32_t id = reap_bpe_smap_get(&t->added_map, tok, n);
    return id >= 0 ? id : reap_bpe_smap_get(&t->vocab, tok, n);
}

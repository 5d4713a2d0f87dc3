// tok_synth.c: a tokenizer.json for `reap synth` models: byte-level BPE with MiniMax-M2's
// pre-tokenizer, merges learnt from the given text, filler tokens up to the requested size and
// the 54 MiniMax-M2 added tokens at the top of the id range.
//
// Training is the classic BPE trainer with incremental pair counts: words (pre-tokens of the
// MiniMax-M2 regex, added tokens cut out first) are counted once; each step takes the most
// frequent pair from a max-heap (ties: the smaller (left id, right id), as `tokenizers` does),
// rewrites only the words that hold it (a per-pair list of word indices) and updates the counts of
// the pairs around it. Heap entries are checked against the current count when popped.
#include <stdlib.h>
#include <string.h>

#include "tok_impl.h"

// MiniMax-M2's pre-tokenizer regex (spec minimax-m2.md section 4).
static const char M2_RE[] =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// The 54 added tokens of MiniMax-M2, in id order (200000 + index in the real model). The spec
// pins ]~b] +19, [e~[ +20, ]!d~[ +21, ]~!b[ +34, <think> +50, </think> +51 and the tool-call
// pair +52/+53; the other names are those published for the MiniMax-M2 family's tokenizer
// (code-model markers, media placeholders), taken from public tokenizer listings.
static const char *const M2_ADDED[54] = {
    "]!p~[", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<reponame>", "<filename>",
    "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>", "<jupyter_text>",
    "<jupyter_code>", "<jupyter_output>", "<empty_output>", "<commit_before>", "<commit_msg>", "<commit_after>",
    "]~b]", "[e~[", "]!d~[", "<function_call>", "<code_interpreter>", "]<]speech[>[", "]<]image[>[",
    "]<]video[>[", "]<]start of speech[>[", "]<]end of speech[>[", "]<]start of image[>[", "]<]end of image[>[",
    "]<]start of video[>[", "]<]end of video[>[", "]<]vision pad[>[", "]~!b[", "<jupyter_error>", "<add_file>",
    "<delete_file>", "<rename_file>", "<edit_file>", "<commit_message>", "<empty_source_file>", "<repo_struct>",
    "<code_context>", "<file_content>", "<source_files>", "<pr_start>", "<review_comment>", "<filepath>",
    "<file_sep>", "<think>", "</think>", "<minimax:tool_call>", "</minimax:tool_call>",
};
#define N_ADDED 54

typedef struct {
    int32_t a, b;
    int64_t count;
    int32_t *where;  // word indices (may repeat or be stale)
    int32_t nw, cw;
    int banned;      // merging it would recreate an added token's text
} pair_t;

typedef struct {
    int64_t count;
    int32_t a, b, pi;
} hent;

typedef struct {
    // Tokens as raw bytes.
    reap_sbuf bytes;
    uint32_t *off, *len;
    int32_t n_tok, cap_tok;
    reap_bpe_smap by_bytes;  // keys point into a copy kept in keys[] (bytes.p moves on growth)
    char **keys;
    // Words.
    int32_t *sym, *woff, *wlen;
    int64_t *wcnt;
    int32_t n_words;
    uint32_t *stamp;
    // Pairs.
    reap_bpe_pmap pidx;  // (a, b) -> index into pairs (rank field)
    pair_t *pairs;
    int32_t n_pairs, cap_pairs;
    hent *heap;
    size_t hn, hcap;
    int32_t (*merges)[2];
    int32_t n_merges;
} trainer;

static int h_less(const hent *x, const hent *y) {  // x ranks below y in the max-heap
    if (x->count != y->count) return x->count < y->count;
    return x->a != y->a ? x->a > y->a : x->b > y->b;
}

static void h_push(trainer *T, hent e) {
    if (T->hn == T->hcap) T->heap = reap_xrealloc(T->heap, (T->hcap = T->hcap ? T->hcap * 2 : 1024) * sizeof *T->heap);
    size_t i = T->hn++;
    while (i && h_less(&T->heap[(i - 1) / 2], &e)) {
        T->heap[i] = T->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    T->heap[i] = e;
}

static hent h_pop(trainer *T) {
    hent top = T->heap[0], last = T->heap[--T->hn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= T->hn) break;
        if (c + 1 < T->hn && h_less(&T->heap[c], &T->heap[c + 1])) c++;
        if (!h_less(&last, &T->heap[c])) break;
        T->heap[i] = T->heap[c];
        i = c;
    }
    if (T->hn) T->heap[i] = last;
    return top;
}

static int32_t add_token(trainer *T, const char *s, size_t n) {
    if (T->n_tok == T->cap_tok) {
        T->cap_tok = T->cap_tok ? T->cap_tok * 2 : 1024;
        T->off = reap_xrealloc(T->off, (size_t)T->cap_tok * sizeof *T->off);
        T->len = reap_xrealloc(T->len, (size_t)T->cap_tok * sizeof *T->len);
        T->keys = reap_xrealloc(T->keys, (size_t)T->cap_tok * sizeof *T->keys);
    }
    int32_t id = T->n_tok++;
    T->off[id] = (uint32_t)T->bytes.n;
    T->len[id] = (uint32_t)n;
    reap_sbuf_append(&T->bytes, s, n);
    T->keys[id] = reap_xmalloc(n ? n : 1);
    memcpy(T->keys[id], s, n);
    reap_bpe_smap_put(&T->by_bytes, T->keys[id], n, id);
    return id;
}

static int32_t pair_index(trainer *T, int32_t a, int32_t b) {
    int32_t pi, dummy;
    if (reap_bpe_pmap_get(&T->pidx, a, b, &pi, &dummy)) return pi;
    if (T->n_pairs == T->cap_pairs)
        T->pairs = reap_xrealloc(T->pairs, (size_t)(T->cap_pairs = T->cap_pairs ? T->cap_pairs * 2 : 4096) * sizeof *T->pairs);
    pi = T->n_pairs++;
    T->pairs[pi] = (pair_t){.a = a, .b = b};
    reap_bpe_pmap_put(&T->pidx, a, b, pi, 0);
    return pi;
}

static void pair_add_word(pair_t *p, int32_t w) {
    if (p->nw && p->where[p->nw - 1] == w) return;
    if (p->nw == p->cw) p->where = reap_xrealloc(p->where, (size_t)(p->cw = p->cw ? p->cw * 2 : 4) * sizeof *p->where);
    p->where[p->nw++] = w;
}

// Adds sign * count of every adjacent pair of word w (and, when adding, lists w under each pair).
static void count_word(trainer *T, int32_t w, int sign, int32_t only_id) {
    const int32_t *s = T->sym + T->woff[w];
    for (int32_t i = 0; i + 1 < T->wlen[w]; i++) {
        int32_t pi = pair_index(T, s[i], s[i + 1]);
        pair_t *p = &T->pairs[pi];
        p->count += sign * T->wcnt[w];
        if (sign > 0 && (only_id < 0 || s[i] == only_id || s[i + 1] == only_id)) {
            pair_add_word(p, w);
            if (only_id >= 0 && !p->banned) h_push(T, (hent){p->count, p->a, p->b, pi});
        }
    }
}

// Cuts text into words (added tokens removed, the rest split by the M2 regex) and counts them.
static int count_words(trainer *T, const char *text, size_t len) {
    pcre2_code *re = reap_tok_compile("tok_synth", "MiniMax-M2 pre-tokenizer", M2_RE, sizeof M2_RE - 1, 0);
    if (!re) return REAP_EINVAL;
    pcre2_match_data *md = pcre2_match_data_create(2, NULL);
    reap_bpe_smap words = {0};
    int64_t *cnt = NULL;
    const char **wp = NULL;
    uint32_t *wl = NULL;
    int32_t nw = 0, cw = 0;
    size_t seg = 0;
    uint8_t first[256] = {0};
    for (int k = 0; k < N_ADDED; k++) first[(uint8_t)M2_ADDED[k][0]] = 1;
    for (size_t i = 0; i <= len; i++) {
        size_t alen = 0;
        if (i < len && first[(uint8_t)text[i]])
            for (int k = 0; k < N_ADDED; k++) {
                size_t l = strlen(M2_ADDED[k]);
                if (l > alen && l <= len - i && !memcmp(text + i, M2_ADDED[k], l)) alen = l;
            }
        if (i < len && !alen) continue;
        // Segment [seg, i) is plain text.
        const char *p = text + seg;
        size_t n = i - seg, off = 0;
        while (off < n) {
            int rc = pcre2_match(re, (PCRE2_SPTR)p, n, off, PCRE2_NO_UTF_CHECK, md, NULL);
            size_t s = n, e = n;
            if (rc >= 0) s = pcre2_get_ovector_pointer(md)[0], e = pcre2_get_ovector_pointer(md)[1];
            // Text between matches is a word too (Isolated keeps it).
            for (int part = 0; part < 2; part++) {
                size_t a = part ? s : off, b = part ? e : s;
                if (a == b) continue;
                int32_t wi = reap_bpe_smap_put(&words, p + a, b - a, nw);
                if (wi < 0) {
                    if (nw == cw) {
                        cw = cw ? cw * 2 : 4096;
                        cnt = reap_xrealloc(cnt, (size_t)cw * sizeof *cnt);
                        wp = reap_xrealloc(wp, (size_t)cw * sizeof *wp);
                        wl = reap_xrealloc(wl, (size_t)cw * sizeof *wl);
                    }
                    wi = nw++;
                    cnt[wi] = 0;
                    wp[wi] = p + a;
                    wl[wi] = (uint32_t)(b - a);
                }
                cnt[wi]++;
            }
            if (e == s) e = s + 1;  // the regex never matches empty; guard anyway
            off = e;
        }
        seg = i + alen;
        if (alen) i += alen - 1;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    reap_bpe_smap_free(&words);
    size_t total = 0;
    for (int32_t w = 0; w < nw; w++) total += wl[w];
    T->sym = reap_xmalloc((total + 1) * sizeof *T->sym);
    T->woff = reap_xmalloc(((size_t)nw + 1) * sizeof *T->woff);
    T->wlen = reap_xmalloc(((size_t)nw + 1) * sizeof *T->wlen);
    T->stamp = reap_xcalloc((size_t)nw + 1, sizeof *T->stamp);
    T->wcnt = cnt ? cnt : reap_xmalloc(sizeof *T->wcnt);
    T->n_words = nw;
    size_t o = 0;
    for (int32_t w = 0; w < nw; w++) {
        T->woff[w] = (int32_t)o;
        T->wlen[w] = (int32_t)wl[w];
        for (uint32_t k = 0; k < wl[w]; k++) T->sym[o++] = (uint8_t)wp[w][k];
    }
    free(wp);
    free(wl);
    return REAP_OK;
}

static int is_added_text(const char *s, size_t n) {
    for (int k = 0; k < N_ADDED; k++)
        if (strlen(M2_ADDED[k]) == n && !memcmp(M2_ADDED[k], s, n)) return 1;
    return 0;
}

static void train(trainer *T, int32_t target) {
    for (int32_t w = 0; w < T->n_words; w++) count_word(T, w, +1, -1);
    for (int32_t pi = 0; pi < T->n_pairs; pi++) h_push(T, (hent){T->pairs[pi].count, T->pairs[pi].a, T->pairs[pi].b, pi});
    T->merges = reap_xmalloc(((size_t)target + 1) * sizeof *T->merges);
    reap_sbuf cat = {0};
    uint32_t iter = 0;
    while (T->n_tok < target && T->hn) {
        hent top = h_pop(T);
        pair_t *p = &T->pairs[top.pi];
        if (p->banned) continue;
        if (top.count != p->count) {  // stale: requeue with the current count
            if (p->count > 0) h_push(T, (hent){p->count, p->a, p->b, top.pi});
            continue;
        }
        if (p->count < 2) break;  // min frequency 2: singletons only memorise the text
        int32_t a = p->a, b = p->b;
        cat.n = 0;
        reap_sbuf_append(&cat, T->bytes.p + T->off[a], T->len[a]);
        reap_sbuf_append(&cat, T->bytes.p + T->off[b], T->len[b]);
        if (is_added_text(cat.p, cat.n)) {
            p->banned = 1;
            continue;
        }
        int32_t id = reap_bpe_smap_get(&T->by_bytes, cat.p, cat.n);
        if (id < 0) id = add_token(T, cat.p, cat.n);
        T->merges[T->n_merges][0] = a;
        T->merges[T->n_merges][1] = b;
        T->n_merges++;
        iter++;
        // Rewrite each word holding (a, b). The list is copied: count_word appends to lists.
        int32_t nw = p->nw, *ws = reap_xmalloc(((size_t)nw + 1) * sizeof *ws);
        memcpy(ws, p->where, (size_t)nw * sizeof *ws);
        for (int32_t k = 0; k < nw; k++) {
            int32_t w = ws[k];
            if (T->stamp[w] == iter) continue;
            T->stamp[w] = iter;
            int32_t *s = T->sym + T->woff[w], n = T->wlen[w], j = 0, found = 0;
            for (int32_t i = 0; i + 1 < n; i++) found |= s[i] == a && s[i + 1] == b;
            if (!found) continue;
            count_word(T, w, -1, -1);
            for (int32_t i = 0; i < n; i++) {
                if (i + 1 < n && s[i] == a && s[i + 1] == b) { s[j++] = id; i++; }
                else s[j++] = s[i];
            }
            T->wlen[w] = j;
            count_word(T, w, +1, id);
        }
        free(ws);
    }
    reap_sbuf_free(&cat);
}

// ---- JSON ----

static void json_str(reap_sbuf *o, const char *s, size_t n) {
    reap_sbuf_puts(o, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') reap_sbuf_printf(o, "\\%c", c);
        else if (c < 0x20) reap_sbuf_printf(o, "\\u%04x", c);
        else reap_sbuf_append(o, &s[i], 1);
    }
    reap_sbuf_puts(o, "\"");
}

static void json_tok(reap_sbuf *o, const trainer *T, int32_t id) {  // token as its byte-level string
    char buf[2 * 256];
    const uint8_t *b = (const uint8_t *)T->bytes.p + T->off[id];
    size_t n = T->len[id];
    char *d = n <= 256 ? buf : reap_xmalloc(2 * n);
    size_t m = reap_bpe_bytes_to_chars(b, n, d);
    json_str(o, d, m);
    if (d != buf) free(d);
}

int reap_tok_synth_json(int vocab_size, const char *train_text, size_t len, char **json, size_t *json_len) {
    *json = NULL;
    *json_len = 0;
    if (vocab_size < 256 + N_ADDED)
        return reap_fail(REAP_EINVAL, "tokenizer synthesis: vocab size %d is below %d (256 bytes + %d added tokens)", vocab_size,
                         256 + N_ADDED, N_ADDED);
    size_t bad = reap_utf8_check((const uint8_t *)train_text, len);
    if (bad < len) return reap_fail(REAP_EINVAL, "tokenizer synthesis: training text is not UTF-8 (byte %zu)", bad);
    trainer T = {0};
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        add_token(&T, &c, 1);
    }
    int st = count_words(&T, train_text, len);
    int32_t n_bpe = vocab_size - N_ADDED;
    if (!st) train(&T, n_bpe);

    reap_sbuf o = {0};
    if (!st) {
        reap_sbuf_puts(&o, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [");
        for (int k = 0; k < N_ADDED; k++) {
            reap_sbuf_printf(&o, "%s\n    {\"id\": %d, \"content\": ", k ? "," : "", n_bpe + k);
            json_str(&o, M2_ADDED[k], strlen(M2_ADDED[k]));
            reap_sbuf_puts(&o, ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}");
        }
        reap_sbuf_puts(&o, "\n  ],\n  \"normalizer\": null,\n  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [\n"
                           "    {\"type\": \"Split\", \"pattern\": {\"Regex\": ");
        json_str(&o, M2_RE, sizeof M2_RE - 1);
        reap_sbuf_puts(&o, "}, \"behavior\": \"Isolated\", \"invert\": false},\n"
                           "    {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": false}]},\n"
                           "  \"post_processor\": null,\n"
                           "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n"
                           "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": null,"
                           " \"end_of_word_suffix\": null, \"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,\n"
                           "    \"vocab\": {");
        for (int32_t id = 0; id < T.n_tok; id++) {
            reap_sbuf_puts(&o, id ? ",\n      " : "\n      ");
            json_tok(&o, &T, id);
            reap_sbuf_printf(&o, ": %d", id);
        }
        // Fillers: never produced by a merge, so unreachable; a name the text happened to learn is skipped.
        char name[64];
        for (int32_t id = T.n_tok, k = 0; id < n_bpe; k++) {
            snprintf(name, sizeof name, "<|reap_filler_%d|>", k);  // printable ASCII: its own byte-level form
            if (reap_bpe_smap_get(&T.by_bytes, name, strlen(name)) >= 0) continue;
            reap_sbuf_printf(&o, ",\n      \"%s\": %d", name, id);
            id++;
        }
        reap_sbuf_puts(&o, "\n    },\n    \"merges\": [");
        for (int32_t m = 0; m < T.n_merges; m++) {
            reap_sbuf_puts(&o, m ? ",\n      [" : "\n      [");
            json_tok(&o, &T, T.merges[m][0]);
            reap_sbuf_puts(&o, ", ");
            json_tok(&o, &T, T.merges[m][1]);
            reap_sbuf_puts(&o, "]");
        }
        reap_sbuf_puts(&o, "\n    ]\n  }\n}\n");
        *json = o.p;
        *json_len = o.n;
    }
    for (int32_t i = 0; i < T.n_tok; i++) free(T.keys[i]);
    free(T.keys);
    for (int32_t i = 0; i < T.n_pairs; i++) free(T.pairs[i].where);
    free(T.pairs);
    free(T.heap);
    free(T.merges);
    free(T.off);
    free(T.len);
    free(T.sym);
    free(T.woff);
    free(T.wlen);
    free(T.wcnt);
    free(T.stamp);
    reap_sbuf_free(&T.bytes);
    reap_bpe_smap_free(&T.by_bytes);
    reap_bpe_pmap_free(&T.pidx);
    return st;
}

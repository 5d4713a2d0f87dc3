// bpe.c: hash maps, byte-level alphabet, UTF-8 helpers and the BPE merge loop (see bpe.h).
#include "bpe.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

uint64_t reap_bpe_hash(const void *p, size_t n) {
    const uint8_t *s = p;
    uint64_t h = 0x243F6A8885A308D3ull ^ (n * 0x9E3779B97F4A7C15ull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w ^ ((uint64_t)n << 56)) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return h;
}

// ---- string map ----

static void smap_grow(reap_bpe_smap *m) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    reap_bpe_sent *e = reap_xcalloc(cap, sizeof *e);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->e[i].s) continue;
        size_t j = m->e[i].h & (cap - 1);
        while (e[j].s) j = (j + 1) & (cap - 1);
        e[j] = m->e[i];
    }
    free(m->e);
    m->e = e;
    m->cap = cap;
}

int32_t reap_bpe_smap_get(const reap_bpe_smap *m, const char *s, size_t n) {
    if (!m->cap) return -1;
    uint64_t h = reap_bpe_hash(s, n);
    for (size_t j = h & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
        const reap_bpe_sent *e = &m->e[j];
        if (!e->s) return -1;
        if (e->h == h && e->n == n && memcmp(e->s, s, n) == 0) return e->v;
    }
}

int32_t reap_bpe_smap_put(reap_bpe_smap *m, const char *s, size_t n, int32_t v) {
    if ((m->n + 1) * 2 > m->cap) smap_grow(m);
    uint64_t h = reap_bpe_hash(s, n);
    size_t j = h & (m->cap - 1);
    for (; m->e[j].s; j = (j + 1) & (m->cap - 1))
        if (m->e[j].h == h && m->e[j].n == n && memcmp(m->e[j].s, s, n) == 0) return m->e[j].v;
    m->e[j] = (reap_bpe_sent){h, s, (uint32_t)n, v};
    m->n++;
    return -1;
}

void reap_bpe_smap_free(reap_bpe_smap *m) {
    free(m->e);
    memset(m, 0, sizeof *m);
}

// ---- pair map ----

static size_t pair_slot(uint64_t k, size_t cap) {
    uint64_t h = k * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 32)) & (cap - 1);
}

static void pmap_grow(reap_bpe_pmap *m) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *k = reap_xcalloc(cap, sizeof *k);
    int32_t *r = reap_xmalloc(cap * sizeof *r), *id = reap_xmalloc(cap * sizeof *id);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->k[i]) continue;
        size_t j = pair_slot(m->k[i], cap);
        while (k[j]) j = (j + 1) & (cap - 1);
        k[j] = m->k[i];
        r[j] = m->rank[i];
        id[j] = m->id[i];
    }
    free(m->k);
    free(m->rank);
    free(m->id);
    m->k = k;
    m->rank = r;
    m->id = id;
    m->cap = cap;
}

int reap_bpe_pmap_get(const reap_bpe_pmap *m, int32_t a, int32_t b, int32_t *rank, int32_t *id) {
    if (!m->cap) return 0;
    uint64_t key = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
    for (size_t j = pair_slot(key, m->cap);; j = (j + 1) & (m->cap - 1)) {
        if (!m->k[j]) return 0;
        if (m->k[j] == key) {
            *rank = m->rank[j];
            *id = m->id[j];
            return 1;
        }
    }
}

int reap_bpe_pmap_put(reap_bpe_pmap *m, int32_t a, int32_t b, int32_t rank, int32_t id) {
    if ((m->n + 1) * 2 > m->cap) pmap_grow(m);
    uint64_t key = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
    size_t j = pair_slot(key, m->cap);
    for (; m->k[j]; j = (j + 1) & (m->cap - 1))
        if (m->k[j] == key) {
            m->rank[j] = rank;
            m->id[j] = id;
            return 0;
        }
    m->k[j] = key;
    m->rank[j] = rank;
    m->id[j] = id;
    m->n++;
    return 1;
}

void reap_bpe_pmap_free(reap_bpe_pmap *m) {
    free(m->k);
    free(m->rank);
    free(m->id);
    memset(m, 0, sizeof *m);
}

// ---- byte-level alphabet ----

static int printable_byte(int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174); }

uint32_t reap_bpe_byte_char(uint8_t b) {
    if (printable_byte(b)) return b;
    // The others take 256, 257, ... in byte order.
    uint32_t k = 0;
    for (int i = 0; i < b; i++) k += !printable_byte(i);
    return 256 + k;
}

int reap_bpe_char_byte(uint32_t cp) {
    if (cp < 256) return printable_byte((int)cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;  // 68 bytes are not printable
    uint32_t k = 0;
    for (int i = 0; i < 256; i++)
        if (!printable_byte(i) && k++ == cp - 256) return i;
    return -1;
}

size_t reap_bpe_bytes_to_chars(const uint8_t *src, size_t n, char *dst) {
    static char enc[256][2];
    static uint8_t enc_n[256];
    static int ready;
    if (!ready) {  // the first call fills it: the tokenizer's load makes that call, before threads share it
        for (int b = 0; b < 256; b++) enc_n[b] = (uint8_t)reap_utf8_encode(reap_bpe_byte_char((uint8_t)b), enc[b]);
        ready = 1;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        dst[o] = enc[src[i]][0];
        if (enc_n[src[i]] == 2) dst[o + 1] = enc[src[i]][1];
        o += enc_n[src[i]];
    }
    return o;
}

long reap_bpe_chars_to_bytes(const char *s, size_t n, uint8_t *dst) {
    size_t i = 0, o = 0;
    while (i < n) {
        uint32_t cp;
        int k = reap_utf8_decode((const uint8_t *)s + i, n - i, &cp);
        if (!k) return -1;
        int b = reap_bpe_char_byte(cp);
        if (b < 0) return -1;
        dst[o++] = (uint8_t)b;
        i += (size_t)k;
    }
    return (long)o;
}

// ---- UTF-8 ----

int reap_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
    if (!n) return 0;
    uint8_t c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    int k;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { k = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { k = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { k = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)k > n) return 0;
    for (int i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return k;
}

size_t reap_utf8_encode(uint32_t cp, char *d) {
    if (cp < 0x80) { d[0] = (char)cp; return 1; }
    if (cp < 0x800) { d[0] = (char)(0xC0 | cp >> 6); d[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | cp >> 12); d[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | cp >> 18); d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t reap_utf8_check(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) { i++; continue; }
        uint32_t cp;
        int k = reap_utf8_decode(s + i, n - i, &cp);
        if (!k) return i;
        i += (size_t)k;
    }
    return n;
}

// ---- merge loop ----

typedef struct reap_bpe_qent {
    int32_t rank, pos, id;
} qent;

static int q_less(const qent *a, const qent *b) { return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos; }

static void q_push(reap_bpe_work *w, size_t *n, qent e) {
    if (*n == w->heap_cap) {
        w->heap_cap = w->heap_cap ? w->heap_cap * 2 : 64;
        w->heap = reap_xrealloc(w->heap, w->heap_cap * sizeof *w->heap);
    }
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!q_less(&e, &w->heap[p])) break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = e;
}

static qent q_pop(reap_bpe_work *w, size_t *n) {
    qent top = w->heap[0], last = w->heap[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && q_less(&w->heap[c + 1], &w->heap[c])) c++;
        if (!q_less(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (*n) w->heap[i] = last;
    return top;
}

size_t reap_bpe_merge(const reap_bpe_pmap *m, int32_t *ids, size_t n, reap_bpe_work *w) {
    if (n < 2 || !m->n) return n;
    if (n > w->cap) {
        w->cap = n * 2;
        w->prev = reap_xrealloc(w->prev, w->cap * sizeof *w->prev);
        w->next = reap_xrealloc(w->next, w->cap * sizeof *w->next);
        w->dead = reap_xrealloc(w->dead, w->cap);
    }
    size_t qn = 0;
    int32_t rank, id;
    for (size_t i = 0; i < n; i++) {
        w->prev[i] = (int32_t)i - 1;
        w->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
        w->dead[i] = 0;
        if (i + 1 < n && reap_bpe_pmap_get(m, ids[i], ids[i + 1], &rank, &id))
            q_push(w, &qn, (qent){rank, (int32_t)i, id});
    }
    while (qn) {
        qent top = q_pop(w, &qn);
        int32_t pos = top.pos, nx = w->next[pos];
        if (w->dead[pos] || nx < 0) continue;
        // Stale entry: the pair at pos changed since it was queued.
        if (!reap_bpe_pmap_get(m, ids[pos], ids[nx], &rank, &id) || id != top.id) continue;
        ids[pos] = top.id;
        w->dead[nx] = 1;
        w->next[pos] = w->next[nx];
        if (w->next[nx] >= 0) w->prev[w->next[nx]] = pos;
        int32_t pv = w->prev[pos];
        if (pv >= 0 && reap_bpe_pmap_get(m, ids[pv], ids[pos], &rank, &id)) q_push(w, &qn, (qent){rank, pv, id});
        nx = w->next[pos];
        if (nx >= 0 && reap_bpe_pmap_get(m, ids[pos], ids[nx], &rank, &id)) q_push(w, &qn, (qent){rank, pos, id});
    }
    size_t k = 0;
    for (int32_t i = 0; i >= 0; i = w->next[i]) ids[k++] = ids[i];
    return k;
}

void reap_bpe_work_free(reap_bpe_work *w) {
    free(w->prev);
    free(w->next);
    free(w->dead);
    free(w->heap);
    memset(w, 0, sizeof *w);
}

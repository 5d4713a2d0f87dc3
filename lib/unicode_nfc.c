// unicode_nfc.c: canonical normalisation (UAX #15) of UTF-8 text. NFC = full canonical
// decomposition (recursive, Hangul algorithmic), canonical ordering by combining class, then
// canonical composition (primary composites only, blocked rule, Hangul LV / LVT). A quick check
// (NFC_Quick_Check, class order) lets text that is already normalised through untouched.
#include "unicode_nfc.h"

#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "unicode_nfc_table.h"

enum {
    S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7,
    L_COUNT = 19, V_COUNT = 21, T_COUNT = 28, N_COUNT = V_COUNT * T_COUNT, S_COUNT = L_COUNT * N_COUNT
};

static int block_bit(const uint8_t *bits, uint32_t cp) {
    uint32_t b = cp >> 8;
    return (bits[b >> 3] >> (b & 7)) & 1;
}

static int range_value(const nfc_range *r, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo) hi = mid;
        else if (cp > r[mid].hi) lo = mid + 1;
        else return r[mid].v;
    }
    return 0;
}

int reap_unicode_ccc(uint32_t cp) {
    if (cp >= 0x110000 || !block_bit(nfc_block_bits, cp)) return 0;
    return range_value(nfc_ccc, sizeof nfc_ccc / sizeof nfc_ccc[0], cp);
}

static int quick_check_nfc(uint32_t cp) {  // 0 Yes, 1 No, 2 Maybe
    if (!block_bit(nfc_block_bits, cp)) return 0;
    return range_value(nfc_qc, sizeof nfc_qc / sizeof nfc_qc[0], cp);
}

static const nfc_decomp *find_decomp(uint32_t cp) {
    if (!block_bit(nfd_block_bits, cp)) return NULL;
    size_t lo = 0, hi = sizeof nfc_decomps / sizeof nfc_decomps[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < nfc_decomps[mid].cp) hi = mid;
        else if (cp > nfc_decomps[mid].cp) lo = mid + 1;
        else return &nfc_decomps[mid];
    }
    return NULL;
}

uint32_t reap_unicode_compose(uint32_t a, uint32_t b) {
    if (a - L_BASE < L_COUNT && b - V_BASE < V_COUNT) return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a - S_BASE < S_COUNT && (a - S_BASE) % T_COUNT == 0 && b - T_BASE - 1 < T_COUNT - 1) return a + (b - T_BASE);
    if (a >= 0x110000 || b >= 0x110000) return 0;
    uint64_t key = (uint64_t)a << 21 | b;
    size_t lo = 0, hi = sizeof nfc_pairs / sizeof nfc_pairs[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key < nfc_pairs[mid].key) hi = mid;
        else if (key > nfc_pairs[mid].key) lo = mid + 1;
        else return nfc_pairs[mid].cp;
    }
    return 0;
}

const char *reap_unicode_version(void) { return REAP_NFC_UNICODE_VERSION; }

// 1 when s is certainly in `form` already: every code point passes the quick check and the
// combining classes of each run of marks are in canonical order.
static int quick_check(reap_unicode_form form, const char *s, size_t n) {
    const uint8_t *p = (const uint8_t *)s;
    int last = 0;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            last = 0;
            i++;
            continue;
        }
        uint32_t cp;
        int k = reap_utf8_decode(p + i, n - i, &cp);
        REAP_ASSERT(k > 0);  // callers pass validated UTF-8
        i += (size_t)k;
        if (form == REAP_UNICODE_NFC ? quick_check_nfc(cp) != 0 : (cp - S_BASE < S_COUNT || find_decomp(cp) != NULL))
            return 0;
        int c = reap_unicode_ccc(cp);
        if (c && last > c) return 0;
        last = c;
    }
    return 1;
}

static void push(reap_unicode_work *w, size_t *k, uint32_t cp) {
    if (*k == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 256;
        w->cp = reap_xrealloc(w->cp, w->cap * sizeof *w->cp);
        w->tmp = reap_xrealloc(w->tmp, w->cap * sizeof *w->tmp);
        w->ccc = reap_xrealloc(w->ccc, w->cap);
    }
    w->cp[*k] = cp;
    w->ccc[*k] = (uint8_t)reap_unicode_ccc(cp);
    (*k)++;
}

// Full canonical decomposition: mappings are applied recursively (depth <= 3 in Unicode data).
static void decompose(reap_unicode_work *w, size_t *k, uint32_t cp) {
    if (cp - S_BASE < S_COUNT) {
        uint32_t si = cp - S_BASE;
        push(w, k, L_BASE + si / N_COUNT);
        push(w, k, V_BASE + (si % N_COUNT) / T_COUNT);
        if (si % T_COUNT) push(w, k, T_BASE + si % T_COUNT);
        return;
    }
    const nfc_decomp *d = find_decomp(cp);
    if (!d) {
        push(w, k, cp);
        return;
    }
    decompose(w, k, d->d0);
    if (d->d1) decompose(w, k, d->d1);
}

// Canonical ordering: a stable sort by class of each maximal run of non-zero classes. Short runs
// by insertion; long ones (adversarial input) by counting sort, so the cost stays linear.
static void reorder(reap_unicode_work *w, size_t n) {
    for (size_t i = 0; i < n;) {
        if (!w->ccc[i]) { i++; continue; }
        size_t s = i;
        while (i < n && w->ccc[i]) i++;
        size_t len = i - s;
        uint32_t *cp = w->cp + s;
        uint8_t *cc = w->ccc + s;
        if (len <= 32) {
            for (size_t a = 1; a < len; a++)
                for (size_t b = a; b > 0 && cc[b - 1] > cc[b]; b--) {
                    uint32_t tc = cp[b]; cp[b] = cp[b - 1]; cp[b - 1] = tc;
                    uint8_t t8 = cc[b]; cc[b] = cc[b - 1]; cc[b - 1] = t8;
                }
            continue;
        }
        size_t start[257] = {0};
        for (size_t a = 0; a < len; a++) start[cc[a] + 1]++;
        for (int c = 0; c < 256; c++) start[c + 1] += start[c];
        for (size_t a = 0; a < len; a++) w->tmp[start[cc[a]]++] = cp[a];
        memcpy(cp, w->tmp, len * sizeof *cp);
        for (size_t a = 0; a < len; a++) cc[a] = (uint8_t)reap_unicode_ccc(cp[a]);
    }
}

// Canonical composition in place; returns the new length. A character C combines with the last
// starter L unless something between them has class 0 or a class >= C's (blocked). After
// canonical ordering the last kept character between them has the highest class of those.
static size_t compose(reap_unicode_work *w, size_t n) {
    size_t out = 0;
    long starter = -1;
    int last_cc = 0;  // class of the last character kept after the starter (0: none)
    for (size_t i = 0; i < n; i++) {
        uint32_t c = w->cp[i];
        int cc = w->ccc[i];
        if (starter >= 0 && ((size_t)starter + 1 == out || (last_cc != 0 && last_cc < cc))) {
            uint32_t comp = reap_unicode_compose(w->cp[starter], c);
            if (comp) {
                w->cp[starter] = comp;
                continue;
            }
        }
        if (cc == 0) {
            starter = (long)out;
            last_cc = 0;
        } else {
            last_cc = cc;
        }
        w->cp[out] = c;
        w->ccc[out] = (uint8_t)cc;
        out++;
    }
    return out;
}

int reap_unicode_normalize(reap_unicode_form form, const char *s, size_t n, reap_sbuf *out, reap_unicode_work *w) {
    if (quick_check(form, s, n)) return 0;
    size_t k = 0;
    const uint8_t *p = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = reap_utf8_decode(p + i, n - i, &cp);
        REAP_ASSERT(len > 0);
        i += (size_t)len;
        decompose(w, &k, cp);
    }
    reorder(w, k);
    if (form == REAP_UNICODE_NFC) k = compose(w, k);
    out->n = 0;
    reap_sbuf_append(out, "", 0);
    for (size_t i = 0; i < k; i++) {
        char u[4];
        reap_sbuf_append(out, u, reap_utf8_encode(w->cp[i], u));
    }
    return 1;
}

void reap_unicode_work_free(reap_unicode_work *w) {
    free(w->cp);
    free(w->tmp);
    free(w->ccc);
    memset(w, 0, sizeof *w);
}

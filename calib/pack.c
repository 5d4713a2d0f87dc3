// pack.c: samples -> rows of token ids plus a mask, as the REAP reference packs them.
//
// What the reference does (CerebrasResearch/reap, src/reap/data.py,
// BaseDatasetProcessor._process_batches_for_category_packed, read for this port): a row is a
// zero tensor of max_input_len ids with a zero attention mask; samples are drawn at random
// without replacement; each is written at seq_idx with mask 1; if it runs past the row end it
// is cut there (encoded_sample[:, :max_input_len - seq_idx]) and the cut-off rest is never used
// (the sample is already marked as drawn); then seq_idx = end + 1, leaving one zero id with mask 0
// between samples; the row ends when seq_idx reaches max_input_len, and the next sample starts a
// fresh row. When the samples run out the partly filled row is still emitted (its tail zeros,
// mask 0). Rows stop at the requested count. Here the same, with a documented PRNG for the order
// (splitmix64 + Fisher-Yates, reap_calib_shuffle) instead of Python's random.randint. One
// difference: a sample with zero tokens is skipped instead of taking a gap slot.
//
// pack = 0 (one sample per row) follows the reference's unpacked path with truncation: a sample
// longer than seq_len is cut, a shorter one padded (gap_id, mask 0).
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"

reap_pack_params reap_pack_default_params(void) {
    return (reap_pack_params){.seq_len = 2048, .rows = 0, .pack = 1, .seed = 42, .gap_id = 0};
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Uniform in [0, bound) without modulo bias (rejects the top partial range).
static uint64_t uniform(uint64_t *s, uint64_t bound) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do r = splitmix64(s);
    while (r >= limit);
    return r % bound;
}

void reap_calib_shuffle(uint64_t seed, int64_t *perm, int64_t n) {
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)uniform(&s, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static void add_row(reap_packed *out, int *cap, int32_t gap_id) {
    if (out->rows == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        out->ids = reap_xrealloc(out->ids, sizeof(int32_t) * (size_t)*cap * (size_t)out->seq_len);
        out->mask = reap_xrealloc(out->mask, (size_t)*cap * (size_t)out->seq_len);
        out->sample = reap_xrealloc(out->sample, sizeof(int32_t) * (size_t)*cap * (size_t)out->seq_len);
    }
    size_t off = (size_t)out->rows * (size_t)out->seq_len;
    for (int i = 0; i < out->seq_len; i++) out->ids[off + (size_t)i] = gap_id;
    memset(out->mask + off, 0, (size_t)out->seq_len);
    for (int i = 0; i < out->seq_len; i++) out->sample[off + (size_t)i] = -1;
    out->rows++;
}

// Where the packer gets the samples' tokens: ids[k] and lens[k] by sample index, ready for the
// samples at order positions below `ready`; `more` (NULL: all are ready) makes at least position j
// ready and moves `ready` on.
typedef struct pack_source {
    const int32_t *const *ids;
    const size_t *lens;
    int64_t ready;
    int (*more)(struct pack_source *src, const int64_t *order, int64_t j);
} pack_source;

// The tokens of the sample at order position j.
static int sample_at(pack_source *src, const int64_t *order, int64_t j, size_t *len) {
    int st = j < src->ready || !src->more ? REAP_OK : src->more(src, order, j);
    *len = st ? 0 : src->lens[order[j]];
    return st;
}

static int pack_core(pack_source *src, int n, const reap_pack_params *p, reap_packed *out) {
    memset(out, 0, sizeof *out);
    if (p->seq_len < 2) return reap_fail(REAP_EINVAL, "packing: seq_len must be at least 2, got %d", p->seq_len);
    if (p->rows < 0) return reap_fail(REAP_EINVAL, "packing: rows must be >= 0, got %d", p->rows);
    const int L = p->seq_len;
    out->seq_len = L;
    out->samples_total = n;
    int64_t *order = reap_xmalloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    reap_calib_shuffle(p->seed, order, n);
    int cap = 0, next = 0, st = REAP_OK;
    size_t len = 0;
    // skips empty samples; on return next == n or sample `next` has len > 0 tokens
#define SKIP_EMPTY() \
    while (next < n && !(st = sample_at(src, order, next, &len)) && len == 0) next++, out->samples_empty++
    while (!st && next < n && (p->rows == 0 || out->rows < p->rows)) {
        SKIP_EMPTY();  // before opening a row, so no row is left without a sample
        if (st || next == n) break;
        add_row(out, &cap, p->gap_id);
        size_t off = (size_t)(out->rows - 1) * (size_t)L;
        int pos = 0;
        while (pos < L && next < n) {
            if ((st = sample_at(src, order, next, &len))) break;
            int64_t k = order[next++];
            if (len == 0) {
                out->samples_empty++;
                continue;
            }
            size_t room = (size_t)(L - pos), take = len < room ? len : room;
            memcpy(out->ids + off + (size_t)pos, src->ids[k], sizeof(int32_t) * take);
            memset(out->mask + off + (size_t)pos, 1, take);
            for (size_t i = 0; i < take; i++) out->sample[off + (size_t)pos + i] = (int32_t)k;
            out->samples_used++;
            out->tokens_kept += (int64_t)take;
            if (take < len) {
                out->samples_truncated++;
                out->tokens_dropped += (int64_t)(len - take);
            }
            pos += (int)take + 1;  // one gap token (gap_id, mask 0) after each sample
            if (!p->pack) break;    // one sample per row
        }
    }
    if (!st) SKIP_EMPTY();
#undef SKIP_EMPTY
    out->out_of_samples = p->rows > 0 && out->rows < p->rows;
    free(order);
    if (st) reap_packed_free(out);
    return st;
}

int reap_pack_ids(const int32_t *const *ids, const size_t *lens, int n, const reap_pack_params *p, reap_packed *out) {
    pack_source src = {.ids = ids, .lens = lens, .ready = n};
    return pack_core(&src, n, p, out);
}

// A sample contributes at most seq_len tokens (it is cut at its row's end), so only its first
// seq_len x PACK_BYTES_PER_TOKEN bytes are tokenised: one 1 GB record must not be tokenised whole.
// 64 bytes per token is generous (BPE vocabularies average 3-5 bytes a token, and their longest
// tokens are runs of spaces or symbols of a few dozen bytes); the cut falls on a UTF-8 boundary,
// and the tokens it changes lie past seq_len, where the row ends anyway.
#define PACK_BYTES_PER_TOKEN 64

size_t reap_pack_text_len(const char *text, size_t len, int seq_len) {
    size_t cap = (size_t)(seq_len > 0 ? seq_len : 1) * PACK_BYTES_PER_TOKEN;
    if (len <= cap) return len;
    while (cap > 0 && ((unsigned char)text[cap] & 0xC0) == 0x80) cap--;  // not inside a code point
    return cap;
}

int reap_pack_encode(reap_tokenizer *tok, const reap_samples *s, const int64_t *idx, int64_t n, int seq_len,
                     int32_t **ids, size_t *lens) {
    int nth = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nth > n) nth = n > 0 ? (int)n : 1;
    int64_t bad = n;  // the first failing position in idx order, and its message
    int bad_st = REAP_OK;
    char msg[1024] = "";
#pragma omp parallel num_threads(nth)
    {
        reap_tokenizer *w = omp_get_thread_num() == 0 ? tok : reap_tok_clone(tok);
#pragma omp for schedule(dynamic, 1)
        for (int64_t j = 0; j < n; j++) {
            int64_t b;
#pragma omp atomic read
            b = bad;
            if (j > b) continue;  // an earlier sample failed: its error is the one reported
            int64_t i = idx ? idx[j] : j;
            size_t cap = 0;
            lens[i] = 0;
            int st = reap_tok_encode(w, s->v[i].text, reap_pack_text_len(s->v[i].text, s->v[i].len, seq_len), &ids[i],
                                     &lens[i], &cap);
            if (st) {
#pragma omp critical(reap_pack_encode_err)
                if (j < bad) {
                    snprintf(msg, sizeof msg, "%s: tokenising: %s", s->v[i].origin, reap_err_msg());
                    bad_st = st;
#pragma omp atomic write
                    bad = j;
                }
            }
        }
        if (w != tok) reap_tok_free(w);
    }
    return bad_st ? reap_fail(bad_st, "%s", msg) : REAP_OK;
}

// reap_pack's source: samples are tokenised as the packer reaches them in its shuffled order, in
// batches on every thread, so a calibration set larger than the rows asked for is not tokenised
// whole (1024 rows of 2048 tokens use ~2,300 of the 16,000 files of a Python source tree). The
// batch doubles each time, from 8 samples a thread: at most about half of what is tokenised is
// never used.
typedef struct {
    pack_source src;
    reap_tokenizer *tok;
    const reap_samples *s;
    int seq_len;
    int32_t **ids;
    size_t *lens;
    int64_t batch;
} lazy_source;

static int lazy_more(pack_source *src, const int64_t *order, int64_t j) {
    lazy_source *z = (lazy_source *)src;
    int64_t n = z->s->n, end = j + z->batch < n ? j + z->batch : n;
    z->batch *= 2;
    int st = reap_pack_encode(z->tok, z->s, order + j, end - j, z->seq_len, z->ids, z->lens);
    if (!st) src->ready = end;
    return st;
}

int reap_pack(reap_tokenizer *tok, const reap_samples *s, const reap_pack_params *p, reap_packed *out) {
    int32_t **ids = reap_xcalloc((size_t)(s->n ? s->n : 1), sizeof(int32_t *));
    size_t *lens = reap_xcalloc((size_t)(s->n ? s->n : 1), sizeof(size_t));
    lazy_source z = {.src = {.ids = (const int32_t *const *)ids, .lens = lens, .more = lazy_more},
                     .tok = tok, .s = s, .seq_len = p->seq_len, .ids = ids, .lens = lens,
                     .batch = 8 * (int64_t)omp_get_max_threads()};
    int st = pack_core(&z.src, s->n, p, out);
    for (int i = 0; i < s->n; i++) free(ids[i]);
    free(ids);
    free(lens);
    return st;
}

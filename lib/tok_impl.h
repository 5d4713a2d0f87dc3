// tok_impl.h: the tokenizer handle, shared by tok_load.c (tokenizer.json -> handle) and
// tokenizer.c (encode, decode). Not part of the public API (that is tokenizer.h).
#ifndef REAP_TOK_IMPL_H
#define REAP_TOK_IMPL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "bpe.h"
#include "common.h"
#include "tokenizer.h"
#include "unicode_nfc.h"

typedef struct {
    const char *content;  // in tok->strs
    uint32_t len;
    const char *match;    // what is matched: content, normalised when `normalized` (in tok->mstrs)
    uint32_t match_len;
    int32_t id;
    uint8_t single_word, lstrip, rstrip, normalized, special;
} tok_added;

// Added tokens of one kind (normalized or not), bucketed by first byte, longest first, so the
// first one that matches at a position is the leftmost-longest match (aho-corasick LeftmostLongest).
typedef struct {
    int32_t *idx;        // indices into tok->added
    int start[257];      // bucket b: idx[start[b] .. start[b+1])
} tok_matcher;

enum { TOK_SPLIT_REMOVED, TOK_SPLIT_ISOLATED, TOK_SPLIT_PREV, TOK_SPLIT_NEXT, TOK_SPLIT_CONTIGUOUS };

typedef struct {
    pcre2_code *re;
    int behavior;  // TOK_SPLIT_*
    int invert;
} tok_split;

typedef struct {
    size_t s, e;
    int m;  // 1: a regex match (0: text between matches); after a behavior, 1 = removed
} tok_span;
typedef struct {
    tok_span *v;
    size_t n, cap;
} tok_spans;

// One normalizer step (a Sequence is flattened into steps applied in order).
enum { TOK_NORM_NFC, TOK_NORM_NFD, TOK_NORM_REPLACE, TOK_NORM_PREPEND };
typedef struct {
    int kind;       // TOK_NORM_*
    char *pat;      // Replace: the literal pattern (non-empty); Prepend: the prefix
    size_t pat_len;
    char *content;  // Replace: what each occurrence becomes
    size_t content_len;
} tok_norm;

#define TOK_MAX_NORMS 16
#define TOK_MAX_SPLITS 16
#define TOK_CACHE_CAP (1u << 16)  // entries (power of 2); cleared when half full

typedef struct {
    uint64_t h;
    uint32_t koff, klen, ioff, ilen;
} tok_centry;

struct reap_tokenizer {
    char *path;
    // Model (BPE). Token strings as in tokenizer.json (byte-level mapped), NUL-terminated in strs.
    char *strs;
    size_t strs_len;
    int32_t n_ids;           // highest id + 1 (model and added tokens)
    uint32_t *tok_off;       // (n_ids,) offset into strs (mstrs if is_added 2), UINT32_MAX: no token
    uint32_t *tok_len;       // (n_ids,)
    uint8_t *is_added;       // (n_ids,) 1: added token; 2: normalized added token, text in mstrs
    int32_t n_model;         // entries in model.vocab (`tokenizers` get_vocab_size)
    int32_t id_cap;          // ids must be below it: bounded by the entries the file holds
    reap_bpe_smap vocab;     // token string -> id
    reap_bpe_smap bvocab;    // byte-level: token bytes -> id (for ignore_merges)
    reap_bpe_pmap merges;
    int32_t byte_id[256];    // byte-level: id of each byte's token, -1 if absent
    int32_t unk_id;          // -1: none
    int ignore_merges, fuse_unk;
    // Added tokens.
    tok_added *added;
    int n_added;
    reap_bpe_smap added_map; // content -> id
    tok_matcher m_raw, m_norm;
    reap_sbuf mstrs;         // normalised contents of normalized added tokens
    // Normalizer steps, applied to each piece between non-normalized added tokens.
    tok_norm norms[TOK_MAX_NORMS];
    int n_norms;
    // Pre-tokenizer: Split steps, then optionally ByteLevel (which must come last).
    tok_split splits[TOK_MAX_SPLITS];
    int n_splits;
    int byte_level, bl_prefix, bl_regex;
    pcre2_code *re_gpt2;     // ByteLevel's own regex (use_regex)
    pcre2_code *re_word;     // one word char, Rust regex \w (added tokens' single_word)
    int dec_byte_level;      // decoder: 1 ByteLevel, 0 none; -1 unsupported (decode fails)
    char dec_type[32];
    // Scratch (why a handle is not thread-safe; reap_tok_clone gives another thread its own).
    const reap_tokenizer *parent;  // a clone's: everything above is the parent's, not freed here
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    tok_spans lv[TOK_MAX_SPLITS + 1];
    char *scratch;
    size_t scratch_cap;
    reap_sbuf nbuf[2];       // normalizer output, ping-pong between steps
    reap_unicode_work uwork;
    int32_t *sym;
    size_t sym_cap;
    reap_bpe_work work;
    // Pre-token cache: piece bytes -> ids.
    tok_centry *cache;
    size_t cache_n;
    reap_sbuf ckeys;
    int32_t *cids;
    size_t cids_n, cids_cap;
};

// Applies the normalizer steps to p[0..n) (valid UTF-8); *out is p itself or t->nbuf's text,
// valid until the next call.
void reap_tok_normalize(reap_tokenizer *t, const char *p, size_t n, const char **out, size_t *out_n);

// Compiles a pattern with UTF + UCP (+ JIT when available). NULL with a message on failure.
pcre2_code *reap_tok_compile(const char *path, const char *what, const char *pat, size_t len, int literal);

#endif

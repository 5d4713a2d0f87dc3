// bpe.h: internals of the tokenizer module, shared by tokenizer.c, tok_pretok.c, tok_synth.c and
// bpe.c: hash maps keyed by byte strings and by id pairs, the GPT-2 byte<->unicode map, UTF-8
// helpers, and the BPE merge loop. Not part of the public API (that is tokenizer.h).
#ifndef REAP_BPE_H
#define REAP_BPE_H

#include <stddef.h>
#include <stdint.h>

uint64_t reap_bpe_hash(const void *p, size_t n);

// Byte string -> int32 map (open addressing). Keys are NOT copied: they must outlive the map.
typedef struct {
    uint64_t h;
    const char *s;
    uint32_t n;
    int32_t v;
} reap_bpe_sent;
typedef struct {
    reap_bpe_sent *e;
    size_t cap, n;
} reap_bpe_smap;
int32_t reap_bpe_smap_get(const reap_bpe_smap *m, const char *s, size_t n); // -1 if absent
// Inserts s -> v; if s is present already, leaves it and returns its value, else returns -1.
int32_t reap_bpe_smap_put(reap_bpe_smap *m, const char *s, size_t n, int32_t v);
void reap_bpe_smap_free(reap_bpe_smap *m);

// (a, b) id pair -> (rank, new id) map of the merges.
typedef struct {
    uint64_t *k;   // (a << 32 | b) + 1; 0 = empty slot
    int32_t *rank, *id;
    size_t cap, n;
} reap_bpe_pmap;
int reap_bpe_pmap_get(const reap_bpe_pmap *m, int32_t a, int32_t b, int32_t *rank, int32_t *id); // 1 found
// Inserts or overwrites (a repeated merge takes its last rank, as `tokenizers` builds its HashMap).
// Returns 1 when the pair was new.
int reap_bpe_pmap_put(reap_bpe_pmap *m, int32_t a, int32_t b, int32_t rank, int32_t id);
void reap_bpe_pmap_free(reap_bpe_pmap *m);

// GPT-2 byte-level alphabet: byte b <-> one code point (printable bytes map to themselves).
uint32_t reap_bpe_byte_char(uint8_t b);
int reap_bpe_char_byte(uint32_t cp); // -1 if cp is not in the alphabet
// Writes the UTF-8 of the byte-level mapping of src[0..n) to dst (room for 2*n bytes); returns length.
size_t reap_bpe_bytes_to_chars(const uint8_t *src, size_t n, char *dst);
// Inverse: maps a token string back to bytes; -1 if some code point is outside the alphabet.
long reap_bpe_chars_to_bytes(const char *s, size_t n, uint8_t *dst);

// UTF-8: length of the valid sequence at s (1..4) with its code point, 0 if invalid (overlong,
// surrogate, > U+10FFFF, truncated).
int reap_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);
size_t reap_utf8_encode(uint32_t cp, char *dst); // dst: room for 4 bytes
// Offset of the first invalid byte, or n if s is valid UTF-8.
size_t reap_utf8_check(const uint8_t *s, size_t n);

// BPE merge loop (as `tokenizers` Word::merge_all without dropout): merges the lowest-ranked
// adjacent pair first, leftmost on ties, using a heap, so a word of n symbols costs O(n log n).
typedef struct {
    int32_t *prev, *next;
    uint8_t *dead;
    struct reap_bpe_qent *heap;
    size_t cap, heap_cap;
} reap_bpe_work;
// ids: (n,) int32 symbol ids, merged in place; returns the number of ids left.
size_t reap_bpe_merge(const reap_bpe_pmap *merges, int32_t *ids, size_t n, reap_bpe_work *w);
void reap_bpe_work_free(reap_bpe_work *w);

#endif

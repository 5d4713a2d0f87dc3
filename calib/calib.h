// calib.h: calibration data: input readers (JSONL records of several shapes, zstd, tar/zip
// archives through libarchive, the built-in sets), rendering into text, and packing into rows.
#ifndef REAP_CALIB_H
#define REAP_CALIB_H

#include <stdint.h>

#include "chat.h"
#include "tokenizer.h"

typedef struct {
    char *text;    // rendered UTF-8 text (chat format applied for chat-like records)
    size_t len;
    char *origin;  // "file:line" or "builtin:code:17" (for messages)
} reap_sample;

typedef struct {
    reap_sample *v;
    int n;
} reap_samples;

// Reads one source spec and appends its samples, rendered with fam.
//   PATH[:N]         JSONL (.jsonl, .jsonl.zst), or a tar / tar.gz / zip of such files (members in
//                    name order); with :N the first N records after a shuffle seeded by seed.
//   builtin          the built-in calibration set (code + tool calls); builtin:code, builtin:tools
//   heldout          the built-in held-out evaluation set (never used by default)
// Record shapes, detected per record: {"messages",["tools"]}, {"text"}, {"instruction","output"},
// {"query","tools","answers"}. Errors name the file and line.
int reap_calib_load(const char *spec, const reap_chat_family *fam, uint64_t seed, reap_samples *out);
void reap_samples_free(reap_samples *s);

typedef struct {
    int seq_len;    // tokens per row (default 2048)
    int rows;       // rows to produce; 0: as many as the samples fill
    int pack;       // 1: pack samples with a masked gap token (reference); 0: one sample per row
    uint64_t seed;  // sample order (default 42)
    int32_t gap_id; // id of the gap / padding token (default 0)
} reap_pack_params;

reap_pack_params reap_pack_default_params(void);

typedef struct {
    int rows, seq_len;
    int32_t *ids;   // (rows, seq_len)
    uint8_t *mask;  // (rows, seq_len): 1 = counted in statistics, 0 = gap or padding
} reap_packed;

int reap_pack(reap_tokenizer *tok, const reap_samples *s, const reap_pack_params *p, reap_packed *out);
void reap_packed_free(reap_packed *p);

// Built-in blobs (zstd-compressed JSONL embedded by calib/builtin_data.S).
typedef struct {
    const char *name;  // "code", "tools", "heldout"
    const void *data;
    size_t size;
} reap_blob;
int reap_calib_builtin(const char *name, reap_blob *out);  // REAP_EINVAL for an unknown name

#endif

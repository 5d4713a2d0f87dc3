// calib.h: calibration data: input readers (JSONL records of several shapes, zstd, tar/zip
// archives through libarchive, the built-in sets), rendering into text, and packing into rows.
#ifndef REAP_CALIB_H
#define REAP_CALIB_H

#include <stdint.h>

#include "chat.h"
#include "rows.h"
#include "tokenizer.h"

typedef struct {
    char *text;    // rendered UTF-8 text (chat format applied for chat-like records)
    size_t len;
    char *origin;  // "file:line", "data.tar:part1.jsonl:17" or "builtin:code:17" (for messages)
    char *source;  // the spec it was loaded from ("builtin", "data.jsonl:100"), for summaries
    char *category; // "code" or "tools" for the built-in sets (a record with tools or a query is
                    // tool calling), else the source spec: what `reap eval` splits its numbers by
} reap_sample;

typedef struct {
    reap_sample *v;
    int n;
} reap_samples;

// Reads one source spec and appends its samples, rendered with fam. Call it once per spec to mix
// several sources; samples keep their source in origin.
//   PATH             a JSONL file (.jsonl or any name; *.zst decompressed on the fly), a tar /
//                    tar.gz / tgz / tar.zst / zip archive of such files (members *.jsonl and
//                    *.jsonl.zst read in name order, in memory, never extracted; other members
//                    skipped), or a directory (its *.jsonl / *.jsonl.zst files in name order).
//   PATH:N           the first N records after a shuffle seeded by seed (splitmix64 + Fisher-Yates
//                    over all records in name order). Only a trailing ":DIGITS" is a count, and
//                    only when PATH:DIGITS itself does not exist, so paths holding ':' work.
//   builtin[:N]      the built-in calibration set (code + tool calls); builtin:code[:N] and
//                    builtin:tools[:N] one of them; :N as for files (over the named set)
//   heldout[:N]      the built-in held-out evaluation set (never used by default)
// Record shapes, detected per record (first match in this order):
//   {"messages": [...], "tools": [...] | "JSON string" | null}   chat (OpenAI / HF style)
//   {"query", "tools", "answers"}   xlam function calling; tools and answers may be JSON strings;
//                                   rendered as user query + assistant tool-call turn
//   {"instruction", "output"[, "input"]}   a user / assistant pair (a non-empty "input" is
//                                   appended to the instruction after a blank line)
//   {"text": "..."}                 raw text, used as is
// Blank lines are skipped. Bad JSON, non-UTF-8 bytes, a record of no known shape, wrong field
// types, corrupt zstd or archive data: REAP_EINVAL naming file[:member]:line.
int reap_calib_load(const char *spec, const reap_chat_family *fam, uint64_t seed, reap_samples *out);
// Renders one parsed record (any shape above) into text. Errors have no file/line (caller adds).
int reap_calib_render_record(const cJSON *rec, const reap_chat_family *fam, reap_sbuf *out);
void reap_samples_free(reap_samples *s);

typedef struct {
    int seq_len;    // tokens per row (default 2048)
    int rows;       // rows to produce; 0: as many as the samples fill
    int pack;       // 1: pack samples with a masked gap token (reference); 0: one sample per row
    uint64_t seed;  // sample order (default 42)
    int32_t gap_id; // id of the gap / padding token (default 0)
} reap_pack_params;

reap_pack_params reap_pack_default_params(void);

// reap_packed (the rows) is lib/rows.h.

// Packs the samples as reap_pack_ids does, tokenising (tok) only those the packing reaches, on
// every OpenMP thread. Only the first seq_len x 64 bytes of a sample are tokenised (it can
// contribute no more than seq_len tokens; pack.c says why).
int reap_pack(reap_tokenizer *tok, const reap_samples *s, const reap_pack_params *p, reap_packed *out);
// Tokenises samples idx[0..n) (NULL: samples 0..n-1) of s on every OpenMP thread (tok's clones):
// ids[i] (malloc'd) and lens[i] by sample index i, only the first reap_pack_text_len bytes. A
// failure names the sample's origin; with several, the first in idx order.
int reap_pack_encode(reap_tokenizer *tok, const reap_samples *s, const int64_t *idx, int64_t n, int seq_len,
                     int32_t **ids, size_t *lens);
// How many leading bytes of a sample's text are tokenised for rows of seq_len tokens: len, or
// seq_len x 64 bytes cut back to a UTF-8 boundary.
size_t reap_pack_text_len(const char *text, size_t len, int seq_len);
// Packs pre-tokenised samples: ids[i] (lens[i] tokens) for i < n. Order: a Fisher-Yates shuffle of
// 0..n-1 driven by splitmix64(seed). pack=1: each sample is copied after the previous one with one
// gap token (gap_id, mask 0); a sample that overflows the row is cut at the row end and its rest
// dropped; the next sample starts the next row; the tail is padding (gap_id, mask 0). pack=0: one
// sample per row, cut at seq_len, padded. Stops after p->rows rows (0: when samples run out).
int reap_pack_ids(const int32_t *const *ids, const size_t *lens, int n, const reap_pack_params *p, reap_packed *out);

// The seeded permutation both the readers (PATH:N) and the packer use: perm[i] = i shuffled by
// Fisher-Yates from the top, j = uniform in [0, i] by rejection from splitmix64(seed) outputs.
void reap_calib_shuffle(uint64_t seed, int64_t *perm, int64_t n);

// The chat renderer of model_dir's config.json model_type (errors name the file and the value).
int reap_calib_model_chat(const char *model_dir, const reap_chat_family **fam);

// The calibration rows `reap score` feeds the checkpoint in model_dir: every source of specs
// (n_specs of them; NULL or 0: {"builtin"}) loaded in order and rendered with the chat format of
// config.json's model_type, tokenised with model_dir/tokenizer.json, packed by p. Errors name the
// file (no config.json, no chat renderer for the model_type, a bad source) or say that the sources
// gave no samples or no rows; fewer rows than p->rows asked for is a warning.
int reap_calib_pack_model(const char *model_dir, const char *const *specs, int n_specs, const reap_pack_params *p,
                          reap_packed *out);

// Built-in blobs (zstd-compressed JSONL embedded by calib/builtin_data.S).
typedef struct {
    const char *name;  // "code", "tools", "heldout"
    const void *data;
    size_t size;
} reap_blob;
int reap_calib_builtin(const char *name, reap_blob *out);  // REAP_EINVAL for an unknown name

#endif

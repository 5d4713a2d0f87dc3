// tokenizer.h: HF tokenizer.json (byte-level BPE) encode/decode, and synthesis of a tokenizer.json
// for `reap synth`. Not thread-safe per handle (it keeps a pre-token cache): one handle per thread
// (reap_tok_clone).
#ifndef REAP_TOKENIZER_H
#define REAP_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct reap_tokenizer reap_tokenizer;

// Loads tokenizer.json. Unsupported models, pre-tokenizers or normalizers fail with a message
// naming the file and the component.
int reap_tok_load(const char *path, reap_tokenizer **out);
int reap_tok_load_mem(const char *json, size_t len, const char *path_for_msgs, reap_tokenizer **out);
void reap_tok_free(reap_tokenizer *t);  // accepts NULL (a clone: frees its own scratch only)
// A handle for another thread: it shares t's vocabulary, merges and compiled patterns (read-only)
// and has its own scratch and pre-token cache. Free it before t.
reap_tokenizer *reap_tok_clone(const reap_tokenizer *t);

// Encodes UTF-8 text as HF `tokenizers` does with add_special_tokens=False: added/special tokens
// matched first, the rest normalised, pre-tokenised and BPE-encoded. Appends to *ids (growable,
// *n used, *cap allocated). Invalid UTF-8 is an error (REAP_EINVAL).
int reap_tok_encode(reap_tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n, size_t *cap);
// Decodes ids to UTF-8 text (byte-level decoder; added tokens as their content, normalized ones as
// their normalised content, as `tokenizers` does). *out malloc'd.
int reap_tok_decode(const reap_tokenizer *t, const int32_t *ids, size_t n, char **out, size_t *len);
int reap_tok_vocab_size(const reap_tokenizer *t);               // highest id + 1
int reap_tok_token_id(const reap_tokenizer *t, const char *tok); // -1 if absent

// tokenizer.json for a synthesised model: byte-level BPE with MiniMax-M2's pre-tokenizer regex,
// the 54 MiniMax-M2 added tokens at ids vocab-54..vocab-1 (names as the spec lists them; the
// ids the spec gives for the real model are 200000-based), merges learnt from train_text until
// the vocabulary holds vocab_size ids. Deterministic. *json malloc'd.
int reap_tok_synth_json(int vocab_size, const char *train_text, size_t len, char **json, size_t *json_len);

#endif

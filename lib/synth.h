// synth.h: synthesis of random checkpoints in exactly the MiniMax-M2 layout (spec minimax-m2.md
// section 3): FP8 E4M3 weights with weight_scale_inv blocks, F32 router and bias, BF16 norms,
// embeddings and lm_head, sharded safetensors with an index, and every non-weight file a real
// checkpoint ships (config, generation config, tokenizer files, chat template, remote-code stubs).
//
// Values come from a counter-based generator: element e of tensor t is a pure function of
// (seed, name of t, e), so the bytes do not depend on the thread count, the shard size or on which
// other tensors exist. Tensors are generated and written chunk by chunk (bounded memory).
#ifndef REAP_SYNTH_H
#define REAP_SYNTH_H

#include <signal.h>
#include <stdint.h>

#include "dtype.h"

typedef struct {
    int n_layers, n_experts, top_k;
    int hidden, inter;          // hidden_size, intermediate_size (per expert)
    int n_heads, n_kv_heads, head_dim, rotary_dim;
    int vocab;                  // vocab_size (rows of embed_tokens and lm_head)
    int tok_vocab;              // ids in tokenizer.json (<= vocab); 0: same as vocab
    int block;                  // FP8 weight_scale_inv block size (block x block)
    uint64_t seed;
    uint64_t max_shard_bytes;   // tensor data bytes per shard (a bigger tensor gets a shard alone)
    int sparse;                 // leave every data region as a file hole (reads back as zeros)
    int threads;                // OpenMP threads for generation; 0: the OpenMP default
    volatile sig_atomic_t *cancel;  // set by a signal handler (NULL: none); reap_synth_write polls it
                                    // between chunks, removes the temporary directory, REAP_EINTR
} reap_synth_params;

// The `small` preset (the demo model).
reap_synth_params reap_synth_default_params(void);
// Presets: "tiny" (unit tests), "small" (demo, fast on 2 CPU cores), "minimax-m2" (true sizes).
// Returns REAP_EUSAGE with a message for an unknown name.
int reap_synth_preset(const char *name, reap_synth_params *p);
// Checks sizes are positive and consistent (top_k <= experts, rotary_dim even and <= head_dim...).
int reap_synth_check(const reap_synth_params *p);

// Parses "5GB", "200MB", "1.5GiB", "4096" (bytes) into *out. REAP_EUSAGE on garbage.
int reap_synth_parse_size(const char *s, uint64_t *out);

// One tensor of the plan, in file (data) order.
typedef struct {
    char name[96];
    reap_dtype dtype;
    int ndim;
    int64_t shape[2];
    int kind;       // generator (synth.c internal)
    int layer;      // -1 outside layers
    int expert;     // -1 outside experts
    int shard;      // 0-based shard index
    float std;      // target standard deviation of the real (dequantised) values
    uint64_t nbytes;
} reap_synth_tensor;

typedef struct {
    int n;
    reap_synth_tensor *t;
    int n_shards;
    uint64_t total_bytes;  // tensor data bytes (the index's total_size)
} reap_synth_plan;

// Lays out every tensor (names, shapes, dtypes, shards) without writing anything.
int reap_synth_plan_make(const reap_synth_params *p, reap_synth_plan *out);
void reap_synth_plan_free(reap_synth_plan *plan);

// Generates the bytes of elements [first, first + n) of tensor t (dtype-sized elements) into dst.
// Used by the writer and by tests that check values without files.
void reap_synth_fill(const reap_synth_params *p, const reap_synth_tensor *t, uint64_t first, uint64_t n,
                     void *dst);

// Writes the whole checkpoint to out_dir. It is built in a temporary sibling directory and renamed
// into place when complete (when p->cancel is set first it is removed instead: REAP_EINTR). An existing out_dir is refused unless force is set; with force it is
// replaced only if it holds regular files alone (a checkpoint directory is flat).
int reap_synth_write(const reap_synth_params *p, const char *out_dir, int force);

// Writes the non-weight files (config, generation config, tokenizer files, chat template, remote-code
// placeholders, README.md, LICENSE) into dir.
int reap_synth_write_files(const reap_synth_params *p, const char *dir);

// The config.json text for p (every MiniMax-M2 key of spec section 1, sizes from p). malloc'd.
char *reap_synth_config_json(const reap_synth_params *p);

#endif

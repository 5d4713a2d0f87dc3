// ckpt.h: a checkpoint directory: config.json, and either model.safetensors.index.json with its
// shards or a single model.safetensors. Tensors are looked up by name across shards.
#ifndef REAP_CKPT_H
#define REAP_CKPT_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "safetensors.h"

typedef struct {
    const char *name;
    int shard;                  // index into ckpt->shards
    const reap_st_tensor *t;
} reap_ckpt_tensor;

typedef struct {
    char *dir;
    cJSON *config;              // parsed config.json (NULL when absent and not required)
    char *config_text;          // raw text of config.json (for byte-faithful rewriting)
    int has_index;              // model.safetensors.index.json present
    cJSON *index;               // parsed index (NULL for a single-file checkpoint)
    uint64_t total_size;        // sum of tensor data bytes
    int n_shards;
    char **shard_names;         // file names relative to dir, sorted, unique
    reap_st_file **shards;
    int n_tensors;
    reap_ckpt_tensor *tensors;  // sorted by name
    int64_t block_r, block_c;   // config.json quantization_config.weight_block_size; 0 when absent
} reap_ckpt;

// Opens and validates every shard header, the index (weight_map names exist in the named shard,
// every shard tensor is in the weight_map, total_size matches) and parses config.json.
// Shard names that are absolute, contain '/' or '..', or resolve outside dir are rejected.
int reap_ckpt_open(const char *dir, reap_ckpt **out);
void reap_ckpt_close(reap_ckpt *c);  // accepts NULL

const reap_ckpt_tensor *reap_ckpt_find(const reap_ckpt *c, const char *name);  // NULL if absent
// Reads a whole tensor as f32: float dtypes are converted; an F8 tensor with a sibling
// "<name>_scale_inv" (e.g. "x.weight_scale_inv") is block-dequantised with it. The block size is
// config.json's quantization_config.weight_block_size when present (checked against the scale's
// shape: ceil(dim / block) == scale dim), else ceil(dim / scale dim), which must be consistent.
// If expect_ndim > 0 the shape must match expect_shape, else an error names the tensor.
int reap_ckpt_read_f32(const reap_ckpt *c, const char *name, int expect_ndim, const int64_t *expect_shape,
                       float *dst);
// Reads a whole tensor's raw bytes (dst has reap_st_nbytes(t) bytes).
int reap_ckpt_read_raw(const reap_ckpt *c, const char *name, void *dst);

#endif

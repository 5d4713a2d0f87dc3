// layer_load.h: one decoder layer's weights read from a checkpoint, the disk side of the layer-at-a-
// time forward pass (CPU in forward.c, GPU in kernels/gpu.cu). Several reads are in flight at once
// (disks deliver more that way) and the experts are reported in parts as they land, so that a
// consumer (the copy to the GPU) can start before the whole layer is read.
#ifndef REAP_LAYER_LOAD_H
#define REAP_LAYER_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"
#include "m2config.h"

// One layer's weights as read from the checkpoint. Attention, norms and router are dequantised to
// f32 at load; expert weights stay in their stored form (FP8 bytes + f32 block scales, or BF16/F32)
// and are dequantised one expert at a time into a workspace, so memory stays one layer + workspace.
typedef struct {
    int layer;
    float *ln1, *ln2;              // (H) input_layernorm, post_attention_layernorm
    float *wq, *wk, *wv, *wo;      // (nh*hd, H), (nkv*hd, H), (nkv*hd, H), (H, nh*hd)
    float *q_norm, *k_norm;        // (nh*hd), (nkv*hd); NULL without qk norm
    float *gate;                   // (E, H) router, f32
    float *bias;                   // (E) e_score_correction_bias, NULL without routing bias
    // Expert weights, raw: w1/w3 (E, I, H), w2 (E, H, I) in dtype expert_dtype; when FP8, scales
    // s1/s3 (E, ceil(I/br), ceil(H/bc)) and s2 (E, ceil(H/br), ceil(I/bc)) f32.
    int expert_dtype;              // reap_dtype
    uint8_t *w1, *w3, *w2;
    float *s1, *s3, *s2;
    size_t bytes;                  // host bytes held
} reap_layer_weights;

// How a layer is read. Zero fields take the defaults (reap_layer_load_default_opts).
typedef struct {
    int threads;        // reads in flight (default 8, at most 256)
    size_t part_bytes;  // expert bytes per reported part (default 64 MiB; at least one expert per part)
    size_t piece_bytes; // most bytes of one read of expert tensors back to back in a file (default 16 MiB;
                        // a larger tensor is read alone)
} reap_layer_load_opts;

// The defaults: 8 threads, parts of 64 MiB, reads of up to 16 MiB.
reap_layer_load_opts reap_layer_load_default_opts(void);
// Host bytes the reader's own buffers take while it reads layer `layer` with o (NULL: defaults): a
// page-aligned buffer per reading thread in use, each of the layer's largest read (up to
// o->piece_bytes of tensors back to back, or one larger tensor). 0 when an expert tensor is
// missing or malformed (loading the layer names it).
size_t reap_layer_read_buffer_bytes(const reap_ckpt *c, const reap_m2_config *cfg, int layer,
                                    const reap_layer_load_opts *o);

// Reads layer `layer` into heap buffers (release with reap_layer_free, which accepts a NULL w).
int reap_layer_load(const reap_ckpt *c, const reap_m2_config *cfg, int layer, reap_layer_weights *w);
void reap_layer_free(reap_layer_weights *w);
// reap_layer_load into caller-owned host memory (the GPU path passes pinned memory allocated once,
// so the copies to the GPU run at full bus speed without page-locking every layer): every buffer of
// w is carved out of arena (arena_bytes, at least reap_layer_arena_bytes). Release w with
// reap_layer_forget (it frees nothing), never reap_layer_free.
int reap_layer_arena_bytes(const reap_ckpt *c, const reap_m2_config *cfg, int layer, size_t *bytes);
int reap_layer_load_into(const reap_ckpt *c, const reap_m2_config *cfg, int layer, void *arena, size_t arena_bytes,
                         reap_layer_weights *w);
void reap_layer_forget(reap_layer_weights *w);
// Called by reap_layer_load_parts from the calling thread as tensors land in memory: first once
// with e0 == e1 == 0 when the non-expert tensors (norms, attention, router gate, bias) are read,
// then for consecutive expert ranges [e0, e1) (all of w1, w3, w2 and their scales for those
// experts), in increasing order, covering 0..n_experts. w's pointers are all set at the first call.
typedef void (*reap_layer_part_fn)(void *ctx, const reap_layer_weights *w, int e0, int e1);
// reap_layer_load_into (arena may be NULL: heap, like reap_layer_load) with the experts read by
// o->threads threads in parallel, in parts of about o->part_bytes (o NULL: the defaults), calling
// part (may be NULL) after each. Same weights, same error messages as reap_layer_load for any
// thread count: on several bad tensors the first in reading order (norms and attention, router,
// then expert 0's w1, w3, w2, expert 1's...) is named. On failure no part covering the failed
// tensor or a later one is reported, and w is released.
int reap_layer_load_ex(const reap_ckpt *c, const reap_m2_config *cfg, int layer, void *arena, size_t arena_bytes,
                       const reap_layer_load_opts *o, reap_layer_part_fn part, void *ctx, reap_layer_weights *w);
// reap_layer_load_ex with `threads` threads (<= 0: the default) and the default part size.
// reap_layer_load and reap_layer_load_into are this with the default thread count and no callback.
int reap_layer_load_parts(const reap_ckpt *c, const reap_m2_config *cfg, int layer, void *arena, size_t arena_bytes,
                          int threads, reap_layer_part_fn part, void *ctx, reap_layer_weights *w);

// Host bytes of one layer's weights as reap_layer_load holds them (attention, norms and router
// as f32, experts as stored), from the checkpoint's tensor dtypes.
int reap_layer_bytes(const reap_ckpt *c, const reap_m2_config *cfg, int layer, size_t *bytes);

#endif

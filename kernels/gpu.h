// gpu.h: the CUDA path of the forward pass + observer, called by the layer pipeline (lib/pipeline.h)
// for `reap score --device cuda`. Same inputs and statistics as reap_layer_forward_cpu
// (lib/forward.h), which is its reference. Built only with CUDA=1 (kernels/*.cu); with CUDA=0,
// lib/gpu_stub.c makes every call fail with REAP_EDEVICE "built without CUDA".
//
// One pipeline (kernels/gpu.cu): attention in bf16 with fp32 accumulation, the router GEMM in fp32
// (or 3xTF32 when asked), experts over routed pairs only in a padded layout, each expert one cached
// cuBLASLt bf16 matmul with f32 output, statistics in float64. Its settings are the params below;
// the ones that can change the numbers are described by reap_gpu_settings_json for the statistics
// file. Buffer sizes: lib/gpu_layout.h.
#ifndef REAP_GPU_H
#define REAP_GPU_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "eval_metrics.h"
#include "gpu_layout.h"
#include "layer_load.h"
#include "m2config.h"
#include "stats.h"

typedef struct reap_gpu reap_gpu;

// The CUDA driver's start and each GPU's context take a while (seconds on some machines): the
// commands start them in a thread while they read and tokenise the calibration data.
// reap_gpu_prestart_begin starts creating the contexts of devices[0..n) (NULL: every visible GPU);
// reap_gpu_prestart_end waits for it and returns the seconds the creation took (0: not started).
// Nothing else is needed: a context made here is the one reap_gpu_open uses.
void reap_gpu_prestart_begin(const int *devices, int n);
double reap_gpu_prestart_end(void);

#define REAP_GPU_MAX_STREAMS 64  // reap_gpu_params.n_streams at most (the pipeline's streams)

typedef struct {
    const int *devices;      // GPU ordinals to use (rows split across them)
    int n_devices;
    size_t mem_cap;          // bytes per GPU the run may use (0: all free memory less 1 GiB)
    int rows, T;             // packed rows and their length
    reap_gpu_router router;  // router GEMM precision (REAP_GPU_ROUTER_FP32)
    reap_gpu_experts experts;  // expert GEMM precision (REAP_GPU_EXPERTS_BF16; fp8 where the model allows)
    int chunk_tokens;        // tokens per chunk asked for (0: REAP_GPU_CHUNK_TOKENS), in whole rows
    int profile;             // 1: print the time of every step of every layer on stderr ("PROFILE" lines)
    // Hidden states (lib/gpu_layout.h, reap_gpu_hidden_plan_make): kept on the GPUs between layers
    // when they fit beside the chunk layout (auto), or copied in and out chunk by chunk every layer
    // (host). n_streams: how many distinct host arrays h will be passed to reap_gpu_layer_forward
    // (reap eval's what-if variants: one per variant), each held on the GPUs. host_every_layer: 1
    // writes the host h back after every layer even when resident (`reap score --work-dir` saves it
    // after every layer); 0 leaves it to reap_gpu_hidden_to_host.
    reap_gpu_hidden hidden;  // REAP_GPU_HIDDEN_AUTO
    int n_streams;           // 1
    int host_every_layer;    // 1 (what a direct caller expects: h updated by every call)
} reap_gpu_params;

reap_gpu_params reap_gpu_default_params(void);

// Number of visible CUDA devices (0 when none or built without CUDA).
int reap_gpu_count(void);

// Host memory (RSS) that the CUDA runtime, cuBLAS and cuBLASLt libraries hold in a CUDA build's
// process before reap allocates anything, whatever the device: they are linked in and loaded at
// start-up. Measured as the peak RSS (GNU time %M) of `reap --version`: 219.6 MB for a CUDA build
// against 5.7 MB for a CPU-only one (CUDA 13.0, the 2-core build machine, 2026-12-06). The host-memory estimates
// of `reap score` and `reap eval` add it; 0 in a CPU-only build.
#ifdef REAP_CUDA
#define REAP_GPU_RUNTIME_HOST_BYTES ((size_t)220 * 1000 * 1000)
#else
#define REAP_GPU_RUNTIME_HOST_BYTES ((size_t)0)
#endif
// Opens the GPUs: sizes and allocates every buffer (lib/gpu_layout.h), decides where the hidden
// states live (reap_gpu_counters.hidden_on_gpu says; with p->hidden == REAP_GPU_HIDDEN_GPU a misfit
// is an error naming the sizes), creates the cached GEMMs and runs every GEMM shape once (so the
// first layer pays no cuBLAS start-up).
int reap_gpu_open(const reap_m2_config *cfg, const reap_gpu_params *p, reap_gpu **out);
void reap_gpu_close(reap_gpu *g);  // accepts NULL
// One decoder layer on h (rows*T, H) f32 host memory in place, accumulating st exactly like
// reap_layer_forward_cpu (within the tolerance stated in the tests). Called again with the same
// layer (same layer index and host w1) it reuses the weights already on the GPU and takes only
// w->bias anew: several streams of hidden states (what-if variants, each with its own routing
// bias) then share one upload of the layer.
// With the hidden states on the GPUs, h names a stream: its first call copies h (and mask (rows*T)
// u8, shared by the streams) to the GPUs, later calls with the same pointer run on the GPUs' copy,
// which is then the current one: the host h is written back after each call only with
// host_every_layer, else by reap_gpu_hidden_to_host. The same chunks run either way (only where h
// lives differs), so the statistics are the same bits. Neither h nor mask may change between calls.
int reap_gpu_layer_forward(reap_gpu *g, const reap_layer_weights *w, float *h, const uint8_t *mask,
                           reap_router_mode mode, reap_layer_stats *st);
// Writes every stream's hidden states held on the GPUs back to its host h (nothing to do when they
// live in host memory or host_every_layer is set). The GPUs' copies stay current.
int reap_gpu_hidden_to_host(reap_gpu *g);
// With the hidden states on the GPUs: stream dst starts as a copy of stream src (src copied in
// first if it was not yet), on the GPUs; dst's host memory is written only by
// reap_gpu_hidden_to_host. *done = 1 when copied there, 0 when the hidden states live in host memory
// (copy on the host then). An error when the GPUs were opened for fewer streams.
int reap_gpu_hidden_copy(reap_gpu *g, const float *src, float *dst, int *done);
// With the hidden states on the GPUs, stream h can be embedded there instead of on the host (its
// host memory is then written only by reap_gpu_hidden_to_host): reap_gpu_embed_rows says how many
// table rows a block may have (0: not possible, embed on the host), then reap_gpu_embed is called
// for every block of the embedding table that holds a row the ids use (table: rows [v0, v0 + n) as
// f32, those rows set; ids (rows*T), every one checked in range, the same on every call; first: 1
// on the first call, which copies the ids up).
int reap_gpu_embed_rows(const reap_gpu *g);
int reap_gpu_embed(reap_gpu *g, float *h, const int32_t *ids, int v0, int n, const float *table, int first);

// What the GPU path has done so far. Phase seconds are summed over layers (max over GPUs, which run
// side by side): "h2d" the hidden states in (once per stream when they stay on the GPUs) and the
// weights of a layer that was not staged,
// "dequant" weights to bf16, "attention", "router" (with the permutation by expert), "experts" (the
// expert GEMMs), "stats" (statistics + combine), "d2h" hidden states out (at the end, when they stay
// on the GPUs without host_every_layer), "wait" the forward waiting
// for staged weights still on their way (a slow disk shows here).
enum { REAP_GPU_PHASES = 8 };
extern const char *const reap_gpu_phase_names[REAP_GPU_PHASES];
typedef struct {
    double phase[REAP_GPU_PHASES];
    double flop_experts, flop_total;  // routed expert GEMMs; the whole layer (projections, attention, router, experts)
    size_t peak_mem;                  // bytes, max over GPUs
    int chunk_rows;                   // rows per chunk
    int n_devices;                    // GPUs given work
    int hidden_on_gpu;                // 1: the hidden states stay on the GPUs between layers
    int experts_fp8;                  // 1: the expert GEMMs run in FP8
    const char *experts_fp8_why;      // fp8 was asked for but not taken: why (static); else NULL
    reap_gpu_hidden_plan hidden;      // the choice's figures (its device: an ordinal here)
} reap_gpu_counters;
void reap_gpu_get_counters(const reap_gpu *g, reap_gpu_counters *out);
// The settings of an open GPU path that can change the statistics, for the statistics file:
// {"router_gemm": "fp32", "expert_gemm": "bf16 ..." | "fp8 ...", "chunk_rows": R, "hidden_states": "gpu" | "host"}
// (where the hidden states lived does not change the numbers; it says which path ran).
cJSON *reap_gpu_settings_json(const reap_gpu *g);

// Checks: when chosen != NULL, every later reap_gpu_layer_forward writes the model's chosen experts
// of every token there: chosen (rows*T, top_k) int, in the order the router ranked them.
void reap_gpu_set_trace(reap_gpu *g, int *chosen);
// Page-locks host memory the caller owns (hidden states) so copies to and from the GPU run at full
// bus speed (about 55 GB/s against 8.5 GB/s pageable on an H200 host) and overlap the compute.
// Needed when the hidden states go through host memory every layer, not when they stay on the GPUs
// (copied in once and out once). Takes seconds for ~10 GB. Unpin before freeing.
// Returns 0 when pinned, -1 when not (the memory still works, only slower).
int reap_gpu_pin(void *p, size_t bytes);
void reap_gpu_unpin(void *p);
// Page-locked host memory allocated once (cudaHostAlloc, portable to every GPU): the pipeline reads
// each layer straight into two such buffers in turn. NULL when it cannot be had (pageable then).
void *reap_gpu_host_alloc(size_t bytes);
void reap_gpu_host_free(void *p);  // accepts NULL
// Staging: the copy of layer w's weights to every GPU follows its read from disk, while the
// previous layer computes. The loader thread calls begin once the layer's host buffers are laid out
// (w's pointers set, w in page-locked memory), then part as each part lands (e0 == e1: the
// non-expert tensors; else experts [e0, e1), all of w1, w3, w2 and their scales), then end after the
// last. begin returns 1 when staging started (0: not; then call neither part nor end, and the forward
// copies as usual); end returns 1 when the layer is staged. Order these before the
// reap_gpu_layer_forward of w (e.g. by pthread_join), keep w alive until it returns, and stage at
// most the layer after the one computing.
int reap_gpu_stage_begin(reap_gpu *g, const reap_layer_weights *w);
void reap_gpu_stage_part(reap_gpu *g, const reap_layer_weights *w, int e0, int e1);
int reap_gpu_stage_end(reap_gpu *g, const reap_layer_weights *w);

// `reap eval`'s comparison of logits on one GPU (kernels/gpu_head.cu): the final lm_head GEMM in TF32
// a vocabulary slab at a time, each slab folded into per-position states (lib/eval_metrics.h), so the
// logits are never stored whole. open allocates for n_models models (the original first) and the
// most positions per chunk that fit mem_cap (0: free memory less 1 GiB), up to max_pos; upload puts
// lm_head rows [v0, v0 + n) (f32) in place (every row before the first compare); the caller fills
// reap_gpu_head_input (page-locked, (n_models x P, H) f32: model k's normed position i at row k*P + i)
// and compare folds its P positions (targets: next token ids) into out ((n_models - 1) x P states:
// model k >= 1 against the original at position i in out[(k-1)*P + i]).
typedef struct reap_gpu_head reap_gpu_head;
int reap_gpu_head_open(int device, size_t mem_cap, int V, int H, int n_models, int max_pos, reap_gpu_head **out);
int reap_gpu_head_positions_per_chunk(const reap_gpu_head *g);
float *reap_gpu_head_input(reap_gpu_head *g);
int reap_gpu_head_upload(reap_gpu_head *g, int v0, int n, const float *rows);
int reap_gpu_head_compare(reap_gpu_head *g, int P, const int32_t *targets, reap_eval_state *out);
void reap_gpu_head_close(reap_gpu_head *g);  // accepts NULL

#endif

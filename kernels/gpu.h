// gpu.h: the CUDA path of the forward pass + observer, called by `reap score --device cuda`.
// Same inputs and statistics as reap_layer_forward_cpu (lib/forward.h), which is its reference.
// Built only with CUDA=1 (kernels/*.cu); with CUDA=0, lib/gpu_stub.c makes every call fail with
// REAP_EDEVICE "built without CUDA".
#ifndef REAP_GPU_H
#define REAP_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "layer_load.h"
#include "stats.h"

typedef struct reap_gpu reap_gpu;

typedef struct {
    const int *devices;  // GPU ordinals to use (rows split across them)
    int n_devices;
    size_t mem_cap;      // bytes per GPU the run may use (0: no cap); fail clearly if too small
    int rows, T;         // packed rows and their length
} reap_gpu_params;

// Number of visible CUDA devices (0 when none or built without CUDA).
int reap_gpu_count(void);
int reap_gpu_open(const reap_m2_config *cfg, const reap_gpu_params *p, reap_gpu **out);
void reap_gpu_close(reap_gpu *g);  // accepts NULL
// One decoder layer on h (rows*T, H) f32 host memory in place, accumulating st exactly like
// reap_layer_forward_cpu (within the tolerance stated in the tests).
int reap_gpu_layer_forward(reap_gpu *g, const reap_layer_weights *w, float *h, const uint8_t *mask,
                           reap_router_mode mode, reap_layer_stats *st);
// Peak device memory used so far (bytes, max over devices) and a per-phase time breakdown
// (seconds: h2d, attention, router, experts, stats) for progress lines and benchmarks.
size_t reap_gpu_peak_mem(const reap_gpu *g);
void reap_gpu_times(const reap_gpu *g, double t[5]);

// Finer time split (seconds, summed over layers, max over GPUs): weights to the GPU (host copy),
// dequantisation to bf16, hidden states in, attention, router + permutation, expert GEMMs,
// statistics + combine, hidden states out. (reap_gpu_times folds these into its five.)
enum { REAP_GPU_PHASES = 8 };
// Names of the phases, in order: "h2d", "dequant", "attention", "router", "experts", "stats", "d2h",
// "wait". "h2d" is the hidden states in and, for a layer that was not staged, its weights (copy
// streams, overlapping the compute); "wait" is the time the forward waited on the host for staged
// weights still on their way (a slow disk shows here).
void reap_gpu_phase_times(const reap_gpu *g, double t[REAP_GPU_PHASES]);
// Floating-point operations done so far: routed expert GEMMs, and the whole layer (projections,
// attention scores, router, experts), summed over layers and GPUs.
void reap_gpu_flops(const reap_gpu *g, double *experts, double *total);
// Rows per chunk the GPU path chose (from the memory cap; env REAP_GPU_CHUNK_TOKENS overrides).
int reap_gpu_chunk_rows(const reap_gpu *g);
// Checks: when chosen != NULL, every later reap_gpu_layer_forward writes the model's chosen experts
// of every token there: chosen (rows*T, top_k) int, in the order the router ranked them.
void reap_gpu_set_trace(reap_gpu *g, int *chosen);
// Page-locks host memory the caller owns (hidden states, layer weights) so copies to and from the
// GPU run at full bus speed (about 55 GB/s against 8.5 GB/s pageable on an H200 host). Unpin
// before freeing. Returns 0 when pinned, -1 when not (the memory still works, only slower).
int reap_gpu_pin(void *p, size_t bytes);
void reap_gpu_unpin(void *p);
// Page-locked host memory allocated once (cudaHostAlloc, portable to every GPU): the layer loaders
// read each layer straight into two such buffers in turn (reap_layer_load_into) instead of
// page-locking every layer. NULL when it cannot be had (use pageable memory then).
void *reap_gpu_host_alloc(size_t bytes);
void reap_gpu_host_free(void *p);  // accepts NULL
// Starts copying layer w's weights to every GPU on a side stream and returns at once, so that the
// copy runs while the previous layer computes (call it from the loader thread as soon as w is read,
// w in page-locked memory). The next reap_gpu_layer_forward on this w waits for the copy instead of
// copying itself. Order the call before that reap_gpu_layer_forward (e.g. by pthread_join), keep w
// alive until it returns, and stage at most the layer after the one computing. Returns 1 when
// staged, 0 when not (the forward then copies as usual); errors surface in the forward.
int reap_gpu_stage(reap_gpu *g, const reap_layer_weights *w);
// The same in parts, so that a layer's copy follows its read from disk (a loader calls these from
// its thread as reap_layer_load_parts reports parts): begin once the layer's host buffers are laid
// out (w's pointers set), then each part as soon as it is in memory (e0 == e1: the non-expert
// tensors; else experts [e0, e1), all of w1, w3, w2 and their scales), then end after the last.
// begin returns 1 when staging started (0: not; then call neither part nor end, the forward copies
// as usual); end returns 1 when the layer is staged. reap_gpu_stage = begin + all parts + end.
int reap_gpu_stage_begin(reap_gpu *g, const reap_layer_weights *w);
void reap_gpu_stage_part(reap_gpu *g, const reap_layer_weights *w, int e0, int e1);
int reap_gpu_stage_end(reap_gpu *g, const reap_layer_weights *w);

#endif

// pipeline.h: the layer loop of every command that runs the model (`reap score`, and through it the
// GPU benchmark; `reap eval` next). The hidden states of packed rows go through layers
// [first, n_layers) one at a time, on the CPU or the GPUs, while the next layer is read from disk by
// a loader thread with several reads in flight; for the GPU each part of it is copied to the GPUs
// as soon as it lands (staging), so disk, bus and compute overlap. Two layers are in host memory at
// a time (the GPU path reads them into two page-locked buffers allocated once). On the GPU the
// hidden states stay on the GPUs between layers when they fit beside the chunks (copied in at the
// first layer and back at the end), else go through host memory chunk by chunk every layer; a line
// says which (kernels/gpu.h, reap_gpu_params.hidden). After each layer a callback sees its
// statistics (resume files, progress, cancellation).
#ifndef REAP_PIPELINE_H
#define REAP_PIPELINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"
#include "forward.h"
#include "gpu.h"
#include "m2config.h"
#include "stats.h"

typedef enum { REAP_DEVICE_AUTO, REAP_DEVICE_CPU, REAP_DEVICE_CUDA, REAP_DEVICE_COUNT } reap_device;
const char *reap_device_name(reap_device d);  // "auto", "cpu", "cuda"

// What one layer took (for progress lines): seconds the loop waited for its weights, and its forward.
typedef struct {
    double wait_s, forward_s;
} reap_pipeline_layer;

typedef struct {
    reap_device device;        // CPU or CUDA (AUTO is resolved by the caller)
    reap_gpu_params gpu;       // CUDA: devices, memory cap, router precision, chunk tokens, profile,
                               // where the hidden states live (gpu.hidden); rows, T, n_streams and
                               // host_every_layer are set by reap_pipeline_run
    int host_every_layer;      // CUDA with the hidden states on the GPUs: 1 copies them back into h
                               // after every layer (for on_layer, e.g. score's resume files), 0
                               // (default) at the end of the run only
    int h_unused;              // 1: the caller does not read h after the run (`reap score` without a
                               // work dir), so hidden states on the GPUs are not copied back
    reap_router_mode router;   // statistics routing
    reap_layer_load_opts read; // how layers are read (zero fields: the loader's defaults)
    volatile sig_atomic_t *cancel;  // set by a signal handler: stop before the next layer (REAP_EINTR)
    // After layer `layer` ran (its statistics complete in stats[layer]; h updated, unless the hidden
    // states stay on the GPUs without host_every_layer): a status other than REAP_OK stops the loop
    // and is returned. May be NULL.
    int (*on_layer)(void *ctx, int layer, const reap_pipeline_layer *li);
    void *ctx;
} reap_pipeline_params;

reap_pipeline_params reap_pipeline_default_params(void);

// What a run did, for summaries and the benchmark (bench/gpu_bench.sh reads `reap score -v`).
typedef struct {
    int layers;                // layers run
    double seconds;            // wall time from the call to the end of the last layer
    double first_ready_s;      // wall time until the first layer was in memory (and the GPU open)
    double first_ready_process_s;  // the same from the process's start (reap_process_age; -1: unknown)
    double read_s;             // seconds the loader threads read, summed over layers
    double read_first_s;       // of which the first layer's (read while nothing else could overlap)
    double wait_s, forward_s;  // seconds the loop waited for weights, and ran layers
    double read_bytes;         // host bytes of the layers read
    reap_gpu_counters gpu;     // CUDA runs
    cJSON *gpu_settings;       // CUDA runs: reap_gpu_settings_json, owned by the caller; else NULL
} reap_pipeline_info;

// Runs layers first..n_layers-1 on h (rows*T, H) f32 in place with mask (rows*T) (1: counted in
// statistics), accumulating into stats (n_layers). When embed_ids (rows*T) is not NULL the tokens are
// embedded into h first, while the first layer is read (a fresh run; a resumed one passes the hidden
// states it saved). info may be NULL.
int reap_pipeline_run(const reap_ckpt *c, const reap_m2_config *cfg, int rows, int T, float *h, const uint8_t *mask,
                      const int32_t *embed_ids, int first, const reap_pipeline_params *p, reap_layer_stats *stats,
                      reap_pipeline_info *info);

// One stream of hidden states through the layers (`reap eval`'s what-if variants): its own hidden
// states, statistics and, optionally, a set of experts removed per layer. A removed expert gets a
// routing bias of -INFINITY (the model's e_score_correction_bias, or 0 without one, elsewhere), so
// the model's sigmoid + bias top-k never chooses it while the renormalised gate weights of the
// chosen are unchanged: the computation of a checkpoint whose router has only the other experts'
// rows (spec eval.md, what-if variants; tests/e2e_eval.sh checks the equality).
typedef struct {
    float *h;                   // (rows*T, H) f32, updated in place
    reap_layer_stats *stats;    // (n_layers)
    const uint8_t *const *drop; // NULL: the model's routing; else (n_layers) pointers to (E) flags,
                                // 1 = removed (a NULL entry: none removed in that layer)
} reap_pipeline_stream;

// reap_pipeline_run for n streams: every layer is read once and run for each stream in turn (the
// same forward as one stream, so a stream's numbers do not depend on the others). With embed_ids
// every stream's h starts from the same embedding. CUDA: the streams run on the layer uploaded once,
// each with its own routing bias (reap_gpu_layer_forward), and each stream's hidden states stay on
// the GPUs when all of them fit (reap_gpu_params.n_streams); every h is current on return.
int reap_pipeline_run_streams(const reap_ckpt *c, const reap_m2_config *cfg, int rows, int T, int n_streams,
                              const reap_pipeline_stream *s, const uint8_t *mask, const int32_t *embed_ids, int first,
                              const reap_pipeline_params *p, reap_pipeline_info *info);

#endif

// score.h: the scoring driver behind `reap score` (and `reap prune` without --scores):
// packed calibration rows (calib/, reap_calib_pack_model) -> this shard's rows -> embeddings ->
// one layer at a time (load, forward + observer on CPU or GPU, release) -> REAP statistics.
//
// Memory: two layers' weights (layer L+1 is read while L computes) + the hidden states of the
// shard's rows (rows x seq_len x hidden f32) + a bounded workspace, + the CUDA libraries' host
// memory in a CUDA build; printed at start (reap_score_info.mem_estimate).
//
// Resume (work_dir): after each layer the hidden states (hidden-D.bin, D = layers done) and the
// statistics so far (stats.partial.json) are written atomically, then the previous hidden file is
// removed. state.json records what the run is (model fingerprint, calibration description, router,
// a hash of the packed ids and mask); a restarted run with the same arguments resumes after the
// last finished layer, a different one is refused.
#ifndef REAP_SCORE_H
#define REAP_SCORE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline.h"
#include "rows.h"
#include "stats.h"


typedef struct {
    const char *const *calib;  // calibration source specs (calib.h); NULL: {"builtin"}
    int n_calib;
    int rows;                  // rows of the whole calibration set; 0: as many as the samples fill
    int seq_len;               // tokens per row (2048)
    uint64_t seed;             // sample selection and order (42)
    int pack;                  // 1: pack samples as the reference does; 0: one sample per row
    reap_router_mode router;   // statistics routing (model)
    reap_device device;        // AUTO: CUDA when a GPU is visible, else CPU
    const int *gpus;           // CUDA devices (NULL: all visible)
    int n_gpus;
    size_t gpu_mem;            // bytes per GPU (0: all free memory less 1 GiB)
    reap_gpu_router gpu_router;  // router GEMM precision on the GPU (fp32)
    reap_gpu_experts gpu_experts;  // expert GEMM precision on the GPU (bf16)
    int gpu_chunk_tokens;      // tokens per GPU chunk (0: 65536)
    reap_gpu_hidden gpu_hidden;  // where the hidden states live between layers (auto: on the GPUs when they fit)
    int profile;               // GPU: print every step's time per layer on stderr
    reap_layer_load_opts read;  // how layers are read (zero fields: the loader's defaults)
    int shard_index, shard_count;  // rows r with r % shard_count == shard_index (0 / 1)
    const char *work_dir;      // resume directory (NULL: none)
    int threads;               // OpenMP threads (0: the OpenMP default)
    volatile sig_atomic_t *cancel;  // set by a signal handler: stop after the current layer
    // Called after each finished layer (layers done so far, of n_layers), once its statistics and
    // resume files are written; a status other than REAP_OK stops the run. May be NULL.
    int (*after_layer)(void *ctx, int done, int n_layers);
    void *after_ctx;
} reap_score_params;

reap_score_params reap_score_default_params(void);

// What a run did (for summaries and benchmarks).
typedef struct {
    int rows_total, rows, seq_len;  // whole set, this shard
    int64_t tokens, tokens_valid;   // this shard's tokens (all, unmasked)
    int layers, resumed_at;         // layers run; first layer run (0: fresh)
    double seconds;                 // wall time of the layer loop (from the first layer in memory to the end)
    reap_pipeline_info run;         // the layer pipeline's figures (GPU counters, read times)
    double calib_seconds;           // calibration loading, tokenising and packing
    size_t mem_layer, mem_hidden, mem_workspace, mem_estimate;  // bytes
    size_t mem_runtime;             // the CUDA libraries' host memory (REAP_GPU_RUNTIME_HOST_BYTES; 0 CPU-only)
    long peak_rss_kb;               // getrusage ru_maxrss at the end
    reap_device device;
} reap_score_info;

// Scores this shard's rows of `rows` (the whole packed set, from calib/'s reap_calib_pack_model
// with the same calib, seq_len, rows, pack and seed). out is initialised here.
int reap_score_rows(const char *model_dir, const reap_packed *rows, const reap_score_params *p, reap_stats *out,
                    reap_score_info *info);

#endif

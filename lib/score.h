// score.h: the scoring driver behind `reap score` (and `reap prune` without --scores):
// packed calibration rows (calib/, reap_calib_pack_model) -> this shard's rows -> embeddings ->
// one layer at a time (load, forward + observer on CPU or GPU, release) -> REAP statistics.
//
// Memory: two layers' weights (layer L+1 is read while L computes) + the hidden states of the
// shard's rows (rows x seq_len x hidden f32) + a bounded workspace; printed at start
// (reap_score_info.mem_estimate).
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

#include "rows.h"
#include "stats.h"

typedef enum { REAP_DEVICE_AUTO, REAP_DEVICE_CPU, REAP_DEVICE_CUDA, REAP_DEVICE_COUNT } reap_device;

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
    size_t gpu_mem;            // bytes per GPU (0: no cap)
    int shard_index, shard_count;  // rows r with r % shard_count == shard_index (0 / 1)
    const char *work_dir;      // resume directory (NULL: none)
    int threads;               // OpenMP threads (0: the OpenMP default)
    volatile sig_atomic_t *cancel;  // set by a signal handler: stop after the current layer
    int slow_ms;                    // TEST ONLY (env REAP_TEST_SLOW_MS): sleep after each layer
} reap_score_params;

reap_score_params reap_score_default_params(void);

// What a run did (for summaries and benchmarks).
typedef struct {
    int rows_total, rows, seq_len;  // whole set, this shard
    int64_t tokens, tokens_valid;   // this shard's tokens (all, unmasked)
    int layers, resumed_at;         // layers run; first layer run (0: fresh)
    double seconds;                 // wall time of the layer loop (excluding calibration)
    double calib_seconds;           // calibration loading, tokenising and packing
    size_t mem_layer, mem_hidden, mem_workspace, mem_estimate;  // bytes
    long peak_rss_kb;               // getrusage ru_maxrss at the end
    reap_device device;
} reap_score_info;

// Scores this shard's rows of `rows` (the whole packed set, from calib/'s reap_calib_pack_model
// with the same calib, seq_len, rows, pack and seed). out is initialised here.
int reap_score_rows(const char *model_dir, const reap_packed *rows, const reap_score_params *p, reap_stats *out,
                    reap_score_info *info);

const char *reap_device_name(reap_device d);  // "auto", "cpu", "cuda"

#endif

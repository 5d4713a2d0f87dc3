// prune.h: expert pruning of a MiniMax-M2 checkpoint (spec reap.md section 4): the plan (which
// experts each layer keeps, what happens to every tensor, how the output is sharded) and the
// streamed rewriter that turns the plan into a new checkpoint directory safely.
//
// Rules the plan follows:
// - experts pruned per layer = floor(E x ratio) (robust to floating error: 256 x 0.30 -> 76), or
//   E - keep; --align N rounds the kept count down to a multiple of N; never fewer than top-k;
// - the lowest saliency goes first; TIE RULE: among equal saliencies the expert with the higher
//   original index is dropped first (so the lower index survives);
// - survivors keep their original order and are renumbered 0..K-1; every tensor of a dropped
//   expert goes (weights and weight_scale_inv); the router's gate.weight rows and
//   e_score_correction_bias entries are sliced to the survivors in the same order; every other
//   tensor is copied unchanged; survivors' bytes are copied verbatim (FP8 stays FP8).
#ifndef REAP_PRUNE_H
#define REAP_PRUNE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "ckpt.h"
#include "m2config.h"
#include "stats.h"

typedef struct {
    double ratio;              // fraction of experts dropped per layer, in [0, 1); < 0: use keep
    int keep;                  // experts kept per layer (used when ratio < 0)
    int align;                 // round the kept count down to a multiple of align (<= 1: no rounding)
    reap_criterion criterion;  // saliency criterion (default reap), or REAP_CRIT_RANDOM
    uint64_t seed;             // criterion random: its seed
    uint64_t max_shard_size;   // tensor bytes per output shard; 0: the source's largest shard
    const char *stats_path;    // the statistics file, named in error messages (NULL: "statistics")
    int allow_partial;         // accept statistics covering only some shards of their calibration set
    int model_checked;         // the caller ran reap_stats_check_model on these statistics (eval, once per run)
} reap_prune_params;

reap_prune_params reap_prune_default_params(void);

// Experts pruned per layer for E experts at ratio r: floor(E x r + 1e-9) (so 0.30 x 256 = 76.8 -> 76
// and 0.29 x 100 = 28.999999999999996 -> 29).
int reap_prune_count(int n_experts, double ratio);

typedef enum { REAP_PRUNE_COPY, REAP_PRUNE_SLICE, REAP_PRUNE_DROP } reap_prune_action;

// One source tensor and what becomes of it.
typedef struct {
    const char *src_name;       // name in the source (points into the checkpoint)
    int src_shard;              // index into ckpt->shards
    const reap_st_tensor *src;
    reap_prune_action action;
    char *out_name;             // NULL when dropped; renumbered for surviving experts
    int layer;                  // layer of a sliced tensor (whose kept list applies), else -1
    int64_t out_shape[REAP_ST_MAX_DIMS];
    uint64_t out_bytes;         // 0 when dropped
    int out_shard;              // index into out_shard_names, -1 when dropped
} reap_prune_tensor;

typedef struct {
    reap_m2_config model;       // the source's description (a copy of what plan_make was given)
    int n_layers, n_experts, top_k;
    int keep;                   // experts kept per layer
    reap_prune_params params;
    int *kept;                  // (n_layers, keep): original ids of the survivors, ascending
    double *saliency;           // (n_layers, n_experts) saliency used, NULL without statistics
    double *mass_removed;       // (n_layers) fraction of the layer's saliency mass dropped, NULL without statistics
    int n_tensors;
    reap_prune_tensor *tensors; // in output order (the source's shard and data order)
    int n_out_shards;
    char **out_shard_names;
    uint64_t *out_shard_bytes;  // tensor data bytes per output shard
    int write_index;            // 0: a single model.safetensors and no index (as the source)
    uint64_t bytes_in, bytes_out;   // tensor data bytes
    uint64_t params_in, params_out; // elements of every tensor except *_scale_inv
    int n_copy, n_slice, n_drop;
    uint64_t bytes_copy, bytes_slice, bytes_drop;
} reap_prune_plan;

// Makes the plan for checkpoint c whose description is m (reap_m2_config_load). stats may be NULL
// only when nothing is pruned (keep == E). Refuses (REAP_EUSAGE or REAP_EINVAL, naming what): ratio
// outside [0, 1), keep < top-k or > E, statistics of another model (fingerprint), incomplete
// statistics, statistics of some shards of their calibration set only (unless allow_partial; the
// caller says so), a criterion the statistics cannot give, and checkpoints whose router or experts do
// outside [0, 1), keep < top-k or > E, statistics of another model (fingerprint or router digest:
// reap_stats_check_model), incomplete
// statistics, a criterion the statistics cannot give, and checkpoints whose router or experts do
// not match config.json. Warns when keep % 8 != 0.
int reap_prune_plan_make(const reap_ckpt *c, const reap_m2_config *m, const reap_stats *stats,
                         const reap_prune_params *p, reap_prune_plan *out);
void reap_prune_plan_free(reap_prune_plan *plan);  // accepts NULL
// Prints the plan (--dry-run): per layer kept and dropped experts with saliency and the mass
// removed, output size and parameters, tensors to copy, slice and drop (each one when verbose).
void reap_prune_plan_print(const reap_prune_plan *plan, FILE *out, int verbose);

// Pieces copied at once by default: several reads in flight reach a disk's rate where one sequential
// stream does not (bench/io_bench.sh: 4 and 16 gave the same as 8 within the disk's noise).
#define REAP_PRUNE_DEFAULT_THREADS 8

typedef struct {
    const char *stats_path;             // statistics file used (hashed into reap.json), or NULL
    const reap_stats *stats;            // its contents (calibration description), or NULL
    int stats_into_output;              // copy stats_path into OUT as reap-stats.json (prune scored itself)
    int force;                          // replace an existing OUT (only once the new one is complete)
    volatile sig_atomic_t *cancel;      // set by a signal handler; checked between tensors and chunks
    // Called after each output tensor is written, from the writing thread (NULL: none): done of
    // total tensors (1-based), its output name and its bytes. For a progress display; the
    // interruption tests slow the writer down with it.
    void (*progress)(void *ctx, int done, int total, const char *name, uint64_t bytes);
    void *progress_ctx;
    int threads;                        // pieces copied at once (0: REAP_PRUNE_DEFAULT_THREADS)
    const cJSON *eval;                  // a `reap eval` document: its headline numbers go into the card (NULL: none)
} reap_prune_write_opts;

// prune_card.c: OUT/README.md = the source's README.md with a model card section inserted at the
// top (after a YAML front matter): source, criterion, ratio, experts kept, calibration, sha256 of
// the statistics, reap version and, with o->eval, the eval's headline numbers. Written into
// tmp_dir (the output being built), so it is as atomic as the rest.
int reap_prune_card_write(const reap_ckpt *c, const reap_prune_plan *plan, const char *tmp_dir,
                          const reap_prune_write_opts *o);
// Finds the card section in a README's text: 1 and its byte range [*off, *off + *n), else 0.
int reap_prune_card_find(const char *text, size_t len, size_t *off, size_t *n);

// Writes the pruned checkpoint to out_dir: built in a temporary sibling "OUT.tmp-XXXXXX" and renamed
// into place when whole (shards, config.json with only the family's expert count key changed, every non-weight
// file of the source, reap.json, and the index last). Refuses OUT == DIR, OUT inside DIR, DIR inside
// OUT, and an existing OUT without force. A lock "OUT.lock" keeps two runs from writing the same OUT.
// When *cancel becomes non-zero the temporary directory is removed and REAP_EINTR returned.
int reap_prune_write(const reap_ckpt *c, const reap_prune_plan *plan, const char *out_dir,
                     const reap_prune_write_opts *o);
// The same refusals, checked before any work (scoring can take hours): OUT == DIR, OUT inside DIR,
// DIR inside OUT, an existing OUT without force. Creates OUT's missing parent directories.
int reap_prune_check_output(const char *src_dir, const char *out_dir, int force);

// The config.json text with only the value of the top-level key changed (every other byte kept).
// Returns a malloc'd text in *out; REAP_EINVAL (naming path) when the key is absent or not a number.
int reap_prune_edit_config(const char *text, const char *path, const char *key, long long value, char **out);

#endif

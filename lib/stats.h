// stats.h: REAP statistics (spec reap.md section 1): per (layer, expert) count, gate_sum, norm_sum,
// reap_sum, max_act in float64, per layer tokens seen; the versioned JSON statistics file; exact
// merging of data shards; the pruning criteria derived from them.
#ifndef REAP_STATS_H
#define REAP_STATS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "ckpt.h"
#include "m2config.h"

typedef enum {
    REAP_ROUTER_MODEL,           // what the model does (sigmoid + bias top-k, renormalised)
    REAP_ROUTER_SOFTMAX,         // top-k of raw logits; g = softmax over all experts
    REAP_ROUTER_SOFTMAX_RENORM,  // top-k of raw logits; g = softmax over the chosen k (clamped at fp32 eps)
    REAP_ROUTER_COUNT
} reap_router_mode;

typedef enum {
    REAP_CRIT_REAP,                // reap_sum / count (0 if count == 0)
    REAP_CRIT_FREQUENCY,           // count
    REAP_CRIT_WEIGHTED_FREQUENCY,  // gate_sum
    REAP_CRIT_EAN_SUM,             // norm_sum
    REAP_CRIT_EAN_MEAN,            // norm_sum / count
    REAP_CRIT_WEIGHTED_EAN_SUM,    // reap_sum
    REAP_CRIT_MAX_ACTIVATION,      // max_act
    REAP_CRIT_COUNT,               // the criteria computed from statistics
    // A baseline for prune and eval, not a statistic: a seeded random saliency per (layer, expert)
    // (reap_random_saliency). Loops over REAP_CRIT_COUNT leave it out.
    REAP_CRIT_RANDOM = REAP_CRIT_COUNT
} reap_criterion;

const char *reap_router_mode_name(reap_router_mode m);  // "model", "softmax", "softmax-renorm"
int reap_router_mode_parse(const char *s, reap_router_mode *out);
const char *reap_criterion_name(reap_criterion c);      // kebab-case names of the spec
int reap_criterion_parse(const char *s, reap_criterion *out);  // statistics criteria only
// A prune/eval selection: a statistics criterion, "random" (seed 0) or "random:S" (S a decimal seed).
int reap_selection_parse(const char *s, reap_criterion *out, uint64_t *seed);
// "random:S" for the random baseline, else the criterion's name; buf of at least 32 bytes.
const char *reap_selection_label(reap_criterion c, uint64_t seed, char *buf, size_t n);
// The random baseline's saliency of layer `layer`: n values in [0, 1), a hash of (seed, layer, expert),
// the same on every machine.
void reap_random_saliency(uint64_t seed, int layer, int n, double *out);

typedef struct {
    uint64_t count;
    double gate_sum, norm_sum, reap_sum;
    double max_act;  // -INFINITY when never routed
} reap_expert_stats;

// One layer's accumulators (what the observer fills, CPU or GPU: observer.h).
typedef struct {
    int n_experts;
    uint64_t tokens;          // valid (unmasked) tokens seen
    reap_expert_stats *e;     // (n_experts)
} reap_layer_stats;

void reap_layer_stats_init(reap_layer_stats *s, int n_experts);
void reap_layer_stats_free(reap_layer_stats *s);
void reap_layer_stats_add(reap_layer_stats *dst, const reap_layer_stats *src);  // sums add, max maxes

// A statistics file in memory.
typedef struct {
    int version;              // REAP_STATS_VERSION
    int n_layers, n_experts, top_k;
    int layers_done;          // layers whose statistics are complete (all layers when finished)
    reap_router_mode router;
    char fingerprint[65];     // reap_stats_fingerprint of the model
    char router_digest[65];   // reap_stats_router_digest of the model scored; "" in files that predate it
    cJSON *model;             // model description (architecture, sizes); owned
    cJSON *calib;             // calibration description (sources, rows, seq_len, seed, shards); owned
    reap_layer_stats *layers; // (n_layers)
} reap_stats;

#define REAP_STATS_VERSION 1

// Fingerprint of a checkpoint: sha256 over the description's sizes (m, parsed from c's config.json)
// and every tensor's name, dtype and shape. Statistics files and reap.json carry it: the bytes
// hashed must never change (tests/test_stats.c pins a value).
int reap_stats_fingerprint(const reap_ckpt *c, const reap_m2_config *m, char hex[65]);

// Digest of a checkpoint's router weights: sha256 over every layer's router gate.weight (and its
// weight_scale_inv when quantised) and e_score_correction_bias, each as "name dtype [shape]\n"
// then its raw bytes. The fingerprint covers shapes only; this tells two checkpoints of the same
// shapes apart by the weights that decide the statistics (a few MB per layer to read).
int reap_stats_router_digest(const reap_ckpt *c, const reap_m2_config *m, char hex[65]);
// Checks that statistics s (read from stats_path, for messages) were scored on checkpoint c:
// fingerprint, then router digest (router_digest: c's, when the caller has it; NULL: computed
// here). REAP_EINVAL naming both the statistics file and the checkpoint when either differs.
// Statistics without a router digest (written by a reap before it recorded one) pass with a
// warning: only the fingerprint can be checked.
int reap_stats_check_model(const reap_stats *s, const char *stats_path, const reap_ckpt *c, const reap_m2_config *m,
                           const char *router_digest);

int reap_stats_init(reap_stats *s, int n_layers, int n_experts, int top_k);
// A calibration description in the file's schema (see the format comment in stats.c):
// {"sources": [...], "rows": R (whole set, before sharding), "seq_len", "seed", "shard_count": N,
//  "shards": [I]}; save adds "router". Producers may add keys (e.g. "rows_scored").
cJSON *reap_stats_calib_new(const char *const *sources, int n_sources, int64_t rows, int seq_len, uint64_t seed,
                            int shard_index, int shard_count);
void reap_stats_free(reap_stats *s);
int reap_stats_save(const reap_stats *s, const char *path);  // atomic write
int reap_stats_load(const char *path, reap_stats *s);        // validates; errors name the file
// The same with a checksum line at the end (common.h reap_write_file_sealed): score's work dir.
// reap_stats_load also reads such a file (checking the line); _sealed requires it.
int reap_stats_save_sealed(const reap_stats *s, const char *path);
int reap_stats_load_sealed(const char *path, reap_stats *s);
// Merges src into dst: same model fingerprint and router mode and shard count, disjoint shard
// sets, else an error naming the file and what differs (src_path used in messages).
int reap_stats_merge(reap_stats *dst, const reap_stats *src, const char *src_path);
// Which shards of its calibration set the statistics cover (calibration.shard_count / shards, as
// `reap score --shard` and `reap merge` record them): *shard_count, and the indices not covered in
// *missing (malloc'd, ascending; *n_missing 0 when complete). Errors name path.
int reap_stats_missing_shards(const reap_stats *s, const char *path, int *shard_count, int **missing, int *n_missing);
// Formats ascending indices as ranges ("1-3, 7") into buf (size >= 8; ", ..." when it does not fit).
void reap_stats_format_indices(const int *v, int n, char *buf, size_t size);
// Saliency of every expert of one layer under criterion c: out (n_experts) float64.
// REAP_EINVAL if the statistics cannot give c.
int reap_stats_saliency(const reap_stats *s, int layer, reap_criterion c, double *out);

#endif

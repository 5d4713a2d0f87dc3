// eval.h: `reap eval`: what pruning cost (spec eval.md). The original and each pruned model run on
// the same packed evaluation rows (the built-in held-out set by default) through the layer
// pipeline (pipeline.h); the final hidden states go through the final norm and lm_head a chunk of
// positions at a time (the logits are never stored whole) and are compared position by position
// (eval_metrics.h). The result is one JSON document (format "reap-eval"); eval_report.c prints it
// as a table and draws it as SVG.
//
// Two modes:
// - checkpoints: each other model is a checkpoint `reap prune` wrote (same family, tokenizer and
//   non-expert tensors as the original, refused otherwise naming the culprit); its experts map to
//   the original's through reap.json's kept lists. Each model runs with its own hidden states.
// - what-if (scores set): every (criterion, ratio) variant is planned by prune.h's
//   reap_prune_plan_make, exactly as `reap prune` would, and runs as a stream of the original's
//   layers with the dropped experts' routing removed (pipeline.h reap_pipeline_stream): one pass
//   over the layers for all variants, no checkpoint written.
//
// Memory: (1 + variants) x rows x seq_len x hidden x 4 bytes of hidden states (reap_eval_stream_bytes)
// + two layers + the forward workspace + two chunks of logits; printed at start and refused up
// front when more than the available memory (MemAvailable, or mem_cap).
#ifndef REAP_EVAL_H
#define REAP_EVAL_H

#include <cjson/cJSON.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline.h"
#include "stats.h"

typedef struct {
    const char *const *calib;  // evaluation sources (calib.h specs); NULL: {"heldout"}
    int n_calib;
    int rows;                  // rows; 0: as many as the samples fill
    int seq_len;               // tokens per row (2048)
    uint64_t seed;             // sample order (42)
    int pack;                  // 1: packed as score packs (default)
    reap_device device;        // AUTO: CUDA when a GPU is visible
    const int *gpus;           // CUDA devices (NULL: all)
    int n_gpus;
    size_t gpu_mem;            // bytes per GPU (0: no cap)
    reap_gpu_hidden gpu_hidden;  // where the hidden states live between layers (auto: on the GPUs when they fit)
    int threads;               // OpenMP threads (0: default)
    reap_layer_load_opts read;
    volatile sig_atomic_t *cancel;
    // what-if mode (scores != NULL): variants = criteria x ratios
    const char *scores;
    const reap_criterion *crits;
    const uint64_t *seeds;     // per criterion: the seed of REAP_CRIT_RANDOM (NULL: 0)
    int n_crits;
    const double *ratios;
    int n_ratios;
    size_t mem_cap;            // host bytes allowed (0: MemAvailable)
    int chunk;                 // positions per logits chunk (64)
    int worst;                 // worst rows listed per variant (5)
} reap_eval_params;

reap_eval_params reap_eval_default_params(void);

// Host bytes of one stream's hidden states: rows x T x hidden x 4 (what the fit check and the
// allocation both use).
size_t reap_eval_stream_bytes(int rows, int T, int hidden);

// Evaluates the original (orig) against others (n_others checkpoints; 0 in what-if mode) and
// returns the result document in *out (caller frees with cJSON_Delete).
int reap_eval_run(const char *orig, const char *const *others, int n_others, const reap_eval_params *p, cJSON **out);

// eval_report.c: the table for people (out), and an SVG of per-layer dropped mass and KL by
// category (what-if: mean KL and top-1 agreement against ratio, one curve per criterion).
void reap_eval_print(const cJSON *r, FILE *out);
char *reap_eval_svg(const cJSON *r);

#endif

// inspect.h: summary and layout check of a MoE checkpoint (what `reap inspect` prints):
// byte totals by dtype and by kind, parameter counts, and the size after pruning at given ratios.
#ifndef REAP_INSPECT_H
#define REAP_INSPECT_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "ckpt.h"
#include "common.h"
#include "dtype.h"
#include "m2config.h"

typedef enum {
    REAP_KIND_EXPERTS,    // block_sparse_moe.experts.* (weights and their scales)
    REAP_KIND_ATTENTION,  // self_attn.{q,k,v,o}_proj (weights and scales)
    REAP_KIND_EMBED,      // model.embed_tokens and lm_head
    REAP_KIND_ROUTER,     // block_sparse_moe.gate.weight and e_score_correction_bias
    REAP_KIND_NORMS,      // every *norm.weight
    REAP_KIND_OTHER,      // anything else
    REAP_KIND_COUNT
} reap_inspect_kind;

extern const char *const reap_inspect_kind_names[REAP_KIND_COUNT];  // "experts", ...

// Parameters count weight elements; the FP8 block scales (*_scale_inv) are counted apart in
// scale_elems and are not parameters (the published 172.5 B / 162.0 B figures count this way).
typedef struct {
    int tensors;
    uint64_t bytes;
    int64_t params;
    int64_t scale_elems;
} reap_inspect_total;

typedef struct {
    double ratio;
    int pruned, kept;     // experts per layer: floor(E * ratio) pruned
    uint64_t bytes;       // tensor data bytes after pruning
    int64_t params;
} reap_inspect_pruned;

#define REAP_INSPECT_MAX_RATIOS 8

typedef struct {
    int has_config;              // config.json parsed into a description
    reap_m2_config cfg;          // the description, valid when has_config
    int n_shards, n_tensors;
    reap_inspect_total all;
    reap_inspect_total by_kind[REAP_KIND_COUNT];
    reap_inspect_total by_dtype[REAP_DT_COUNT];
    int n_layers_seen, n_experts_seen;  // from tensor names (max index + 1)
    int n_ratios;
    reap_inspect_pruned pruned[REAP_INSPECT_MAX_RATIOS];
    int n_problems;              // layout problems found (missing tensors, wrong shape or dtype...)
    reap_sbuf problems;          // one line each (the first 20 in full, then a count)
    int n_unexpected;            // tensors outside the MiniMax-M2 layout (not an error: e.g. MTP)
} reap_inspect_summary;

// Parses config.json, summarises an opened checkpoint and checks every tensor the description
// implies (name, shape, dtype; FP8 weights with weight_scale_inv of the configured block). Returns
// REAP_OK even when it finds problems, an unusable config.json included (they are in s->problems).
int reap_inspect_run(const reap_ckpt *c, const double *ratios, int n_ratios, reap_inspect_summary *s);
void reap_inspect_free(reap_inspect_summary *s);
// REAP_OK, or REAP_EINVAL naming dir, the number of layout problems and the first one.
int reap_inspect_problems_status(const reap_inspect_summary *s, const char *dir);
// Runs the layout check alone (no report) against m, c's description (reap_m2_config_load): what
// score and prune call before they start work.
int reap_inspect_check(const reap_ckpt *c, const reap_m2_config *m);

// Text report (what `reap inspect` prints) and the same as a JSON object (the caller deletes it):
// the description's JSON (reap_m2_config_json: architecture, model_type, n_layers, n_experts,
// top_k, hidden_size, intermediate_size, path) then family, vocab_size, fp8_block and the totals;
// without a usable config.json only n_layers and n_experts (from tensor names) and path.
void reap_inspect_print(const reap_inspect_summary *s, const char *dir, FILE *out);
cJSON *reap_inspect_json(const reap_inspect_summary *s, const char *dir);

#endif

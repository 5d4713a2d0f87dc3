// m2config.h: the model description: config.json parsed once into a reap_m2_config that every
// module receives, the table of model families (what differs between MoE families apart from
// their forward-pass math), tensor names, and the one JSON form of the description.
// Every value comes from the checkpoint; unsupported configurations fail with a clear message.
#ifndef REAP_M2CONFIG_H
#define REAP_M2CONFIG_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "ckpt.h"

// How a family's router picks experts (the family's own math; the config may refine it, e.g.
// MiniMax-M2's scoring_func and use_routing_bias).
typedef enum {
    REAP_ROUTER_KIND_SIGMOID_BIAS_TOPK,  // sigmoid scores; top-k of score + e_score_correction_bias;
                                         // weights = the chosen scores renormalised to sum 1
    REAP_ROUTER_KIND_COUNT
} reap_router_kind;

const char *reap_router_kind_name(reap_router_kind k);  // "sigmoid+bias-topk-renorm"

// The config.json key of each size the description holds.
typedef struct {
    const char *hidden, *inter, *n_layers, *n_heads, *n_kv_heads, *head_dim, *vocab, *n_experts, *top_k;
} reap_family_keys;

typedef struct reap_m2_config reap_m2_config;

#define REAP_FAMILY_MAX_TYPES 4

// One model family. Tensor names are "<layer_prefix>L.<what>" for layer L and
// "<layer_prefix>L.<experts>J.<what>" for expert J of layer L.
typedef struct {
    const char *name;               // "minimax-m2"
    const char *model_types[REAP_FAMILY_MAX_TYPES];  // accepted config.json model_type values, NULL after the last
    reap_family_keys keys;
    const char *layer_prefix;       // "model.layers."
    const char *experts;            // "block_sparse_moe.experts." (within a layer)
    const char *expert_gate;        // "w1.weight" (within an expert): (I, H)
    const char *expert_down;        // "w2.weight": (H, I)
    const char *expert_up;          // "w3.weight": (I, H)
    const char *router_gate;        // "block_sparse_moe.gate.weight" (within a layer): (E, H)
    const char *router_bias;        // "block_sparse_moe.e_score_correction_bias": (E) f32; NULL: none
    reap_router_kind router;
    const char *chat;               // chat renderer (chat.h reap_chat_family.name): "minimax_m2"
    // The family's own keys (attention, rotary embedding, router flags, shared experts) into m,
    // whose sizes are already read; REAP_EINVAL naming path and the key.
    int (*parse)(const cJSON *cfg, const char *path, reap_m2_config *m);
} reap_family;

typedef enum { REAP_FAMILY_MINIMAX_M2, REAP_FAMILY_COUNT } reap_family_id;

extern const reap_family reap_families[REAP_FAMILY_COUNT];

// The family whose model_types include model_type; NULL if none.
const reap_family *reap_family_find(const char *model_type);

struct reap_m2_config {
    char model_type[32];        // "minimax_m2" (or "minimax" on early mirrors)
    int hidden;                 // hidden_size
    int inter;                  // intermediate_size (per expert)
    int n_layers;               // num_hidden_layers
    int n_heads;                // num_attention_heads
    int n_kv_heads;             // num_key_value_heads
    int head_dim;               // head_dim
    int rotary_dim;             // rotary_dim, else partial_rotary_factor * head_dim
    double rope_theta;          // rope_theta or rope_parameters.rope_theta
    double rms_eps;             // rms_norm_eps
    int vocab;                  // vocab_size
    int n_experts;              // num_local_experts
    int top_k;                  // num_experts_per_tok
    int scoring_sigmoid;        // scoring_func == "sigmoid" (else softmax)
    int use_routing_bias;       // use_routing_bias (e_score_correction_bias present)
    int qk_norm;                // use_qk_norm with qk_norm_type "per_layer"
    int tie_embeddings;         // tie_word_embeddings
    int fp8;                    // quantization_config.quant_method == "fp8"
    int block_r, block_c;       // quantization_config.weight_block_size (0 if not fp8)
    char architecture[128];     // architectures[0]; "" when absent
    const reap_family *family;  // the entry model_type selected (never NULL after a parse)
};

// Parses and validates. path is used in messages.
int reap_m2_config_parse(const cJSON *cfg, const char *path, reap_m2_config *out);
// Parses the checkpoint's config.json (REAP_EINVAL naming DIR/config.json when it is absent).
int reap_m2_config_load(const reap_ckpt *c, reap_m2_config *out);

// The description as JSON: {"architecture" ("?" when absent), "model_type", "n_layers",
// "n_experts", "top_k", "hidden_size", "intermediate_size", "path"}. Statistics files carry it as
// "model" and `reap inspect --json` starts with it, so the keys and their order are a format.
cJSON *reap_m2_config_json(const reap_m2_config *c, const char *path);

// Tensor names of family f. buf must hold 128 bytes. what e.g. "self_attn.q_proj.weight".
const char *reap_family_layer_name(const reap_family *f, char *buf, int layer, const char *what);
// what e.g. "w1.weight" -> "model.layers.L.block_sparse_moe.experts.J.w1.weight"
const char *reap_family_expert_name(const reap_family *f, char *buf, int layer, int expert, const char *what);
// Parses a name of the form <layer_prefix>L.<experts>J.REST; returns 1 and sets layer, expert and
// the offset of REST, else 0.
int reap_family_parse_expert_name(const reap_family *f, const char *name, int *layer, int *expert, int *rest_off);
// Layer index of a name "<layer_prefix>L.*", else -1.
int reap_family_layer_of(const reap_family *f, const char *name);

// The same for MiniMax-M2 (the MiniMax-M2 forward pass and synthesiser name its tensors this way).
const char *reap_m2_layer_name(char *buf, int layer, const char *what);
const char *reap_m2_expert_name(char *buf, int layer, int expert, const char *what);
int reap_m2_parse_expert_name(const char *name, int *layer, int *expert, int *rest_off);

#endif

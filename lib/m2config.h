// m2config.h: the MiniMax-M2 model configuration read from config.json, and tensor names.
// Every value comes from the checkpoint; unsupported configurations fail with a clear message.
#ifndef REAP_M2CONFIG_H
#define REAP_M2CONFIG_H

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct {
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
} reap_m2_config;

// Parses and validates. path is used in messages.
int reap_m2_config_parse(const cJSON *cfg, const char *path, reap_m2_config *out);

// Name of the expert-count key in config.json ("num_local_experts").
#define REAP_M2_EXPERTS_KEY "num_local_experts"

// Tensor names. buf must hold 128 bytes. what e.g. "self_attn.q_proj.weight".
const char *reap_m2_layer_name(char *buf, int layer, const char *what);
// what e.g. "w1.weight" -> "model.layers.L.block_sparse_moe.experts.J.w1.weight"
const char *reap_m2_expert_name(char *buf, int layer, int expert, const char *what);
// Parses a name of the form model.layers.L.block_sparse_moe.experts.J.REST; returns 1 and sets
// layer, expert and the offset of REST, else 0.
int reap_m2_parse_expert_name(const char *name, int *layer, int *expert, int *rest_off);

#endif

// test_m2config.c: MiniMax-M2 config.json parsing (spec minimax-m2.md sections 1 and 7), the
// family table, the tensor-name helpers and the description's JSON form.
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "m2config.h"
#include "test.h"

// The released MiniMax-M2 config's relevant keys (spec section 1).
static const char *M2 =
    "{\"architectures\":[\"MiniMaxM2ForCausalLM\"],\"model_type\":\"minimax_m2\",\"hidden_size\":3072,"
    "\"intermediate_size\":1536,\"num_hidden_layers\":62,\"num_attention_heads\":48,\"num_key_value_heads\":8,"
    "\"head_dim\":128,\"rotary_dim\":64,\"rope_theta\":5000000,\"rms_norm_eps\":1e-06,\"vocab_size\":200064,"
    "\"num_local_experts\":256,\"num_experts_per_tok\":8,\"scoring_func\":\"sigmoid\",\"use_routing_bias\":true,"
    "\"use_qk_norm\":true,\"qk_norm_type\":\"per_layer\",\"shared_intermediate_size\":0,"
    "\"tie_word_embeddings\":false,\"max_position_embeddings\":196608,"
    "\"quantization_config\":{\"quant_method\":\"fp8\",\"fmt\":\"float8_e4m3fn\",\"activation_scheme\":\"dynamic\","
    "\"weight_block_size\":[128,128],\"modules_to_not_convert\":[\"gate\",\"e_score_correction_bias\",\"lm_head\"]}}";

// Parses M2 after applying edits: each edit is "key=<json>" (sets) or "-key" (deletes).
static int parse_edited(reap_m2_config *m, int n, const char **edits) {
    cJSON *j = cJSON_Parse(M2);
    for (int i = 0; i < n; i++) {
        if (edits[i][0] == '-') {
            cJSON_DeleteItemFromObjectCaseSensitive(j, edits[i] + 1);
            continue;
        }
        const char *eq = strchr(edits[i], '=');
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - edits[i]), edits[i]);
        cJSON_DeleteItemFromObjectCaseSensitive(j, key);
        cJSON_AddItemToObject(j, key, cJSON_Parse(eq + 1));
    }
    int st = reap_m2_config_parse(j, "cfg.json", m);
    cJSON_Delete(j);
    return st;
}

#define EDIT(m, ...) \
    parse_edited(m, sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *), (const char *[]){__VA_ARGS__})

static void test_m2config_parses_released_config(void) {
    reap_m2_config m;
    CHECK_MSG(parse_edited(&m, 0, NULL) == REAP_OK, "%s", reap_err_msg());
    CHECK(strcmp(m.model_type, "minimax_m2") == 0);
    CHECK(m.hidden == 3072 && m.inter == 1536 && m.n_layers == 62 && m.n_heads == 48 && m.n_kv_heads == 8);
    CHECK(m.head_dim == 128 && m.rotary_dim == 64 && m.rope_theta == 5e6 && m.rms_eps == 1e-6);
    CHECK(m.vocab == 200064 && m.n_experts == 256 && m.top_k == 8);
    CHECK(m.scoring_sigmoid && m.use_routing_bias && m.qk_norm && !m.tie_embeddings);
    CHECK(m.fp8 && m.block_r == 128 && m.block_c == 128);
    CHECK(strcmp(m.architecture, "MiniMaxM2ForCausalLM") == 0);
    CHECK(m.family == &reap_families[REAP_FAMILY_MINIMAX_M2]);
}

static void test_m2config_rotary_dim_and_partial_factor(void) {
    reap_m2_config m;
    // factor only, top level
    CHECK(EDIT(&m, "-rotary_dim", "partial_rotary_factor=0.25") == REAP_OK && m.rotary_dim == 32);
    // factor only, inside rope_parameters, with rope_theta there too
    CHECK_MSG(EDIT(&m, "-rotary_dim", "-rope_theta",
                   "rope_parameters={\"rope_type\":\"default\",\"partial_rotary_factor\":0.5,\"rope_theta\":10000}") ==
                  REAP_OK,
              "%s", reap_err_msg());
    CHECK(m.rotary_dim == 64 && m.rope_theta == 10000.0);
    // both, agreeing
    CHECK(EDIT(&m, "partial_rotary_factor=0.5") == REAP_OK && m.rotary_dim == 64);
    // both, disagreeing: refused with both values in the message
    CHECK(EDIT(&m, "partial_rotary_factor=1.0") == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "cfg.json: rotary_dim 64 disagrees with partial_rotary_factor 1 x head_dim 128");
    CHECK(EDIT(&m, "rope_parameters={\"partial_rotary_factor\":0.25}") == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "disagrees");
    // neither
    CHECK(EDIT(&m, "-rotary_dim") == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "missing key \"rotary_dim\"");
    // factor at both levels disagreeing
    CHECK(EDIT(&m, "-rotary_dim", "partial_rotary_factor=0.5", "rope_parameters={\"partial_rotary_factor\":0.25}") ==
          REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "partial_rotary_factor\" is 0.5 at the top level but 0.25 in rope_parameters");
    CHECK(EDIT(&m, "rotary_dim=256") == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "at most head_dim 128");
}

static void test_m2config_rope_theta_locations(void) {
    reap_m2_config m;
    CHECK(EDIT(&m, "-rope_theta") == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "missing key \"rope_theta\"");
    CHECK(EDIT(&m, "rope_parameters={\"rope_theta\":1000}") == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "\"rope_theta\" is 5e+06 at the top level but 1000 in rope_parameters");
    CHECK(EDIT(&m, "rope_parameters={\"rope_theta\":5000000}") == REAP_OK && m.rope_theta == 5e6);
}

static void test_m2config_rejects_missing_and_unsupported_values(void) {
    reap_m2_config m;
    static const struct {
        const char *edit, *want;
    } cases[] = {
        {"-hidden_size", "cfg.json: missing key \"hidden_size\""},
        {"-num_local_experts", "missing key \"num_local_experts\""},
        {"-rms_norm_eps", "missing key \"rms_norm_eps\""},
        {"-scoring_func", "missing key \"scoring_func\""},
        {"-model_type", "missing key \"model_type\""},
        {"head_dim=0", "\"head_dim\" must be a positive integer"},
        {"num_experts_per_tok=2.5", "\"num_experts_per_tok\" must be a positive integer"},
        {"num_experts_per_tok=300", "num_experts_per_tok 300 exceeds num_local_experts 256"},
        {"num_key_value_heads=7", "not a multiple of num_key_value_heads 7"},
        {"model_type=\"llama\"", "model_type \"llama\" is not supported"},
        {"qk_norm_type=\"per_head\"", "qk_norm_type per_head is not supported"},
        {"shared_intermediate_size=512", "shared_intermediate_size 512 > 0"},
        {"scoring_func=\"relu\"", "scoring_func relu is not supported"},
        {"use_routing_bias=1", "\"use_routing_bias\" must be true or false"},
        {"quantization_config={\"quant_method\":\"gptq\"}", "quant_method gptq is not supported"},
        {"quantization_config={\"quant_method\":\"fp8\",\"fmt\":\"float8_e5m2\",\"weight_block_size\":[128,128]}",
         "fmt float8_e5m2 is not supported"},
        {"quantization_config={\"quant_method\":\"fp8\",\"weight_block_size\":[128]}", "weight_block_size must be two"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = EDIT(&m, cases[i].edit);
        CHECK_MSG(st == REAP_EINVAL && strstr(reap_err_msg(), cases[i].want), "edit %s: '%s'", cases[i].edit,
                  st == REAP_OK ? "(accepted)" : reap_err_msg());
    }
    // Optional keys: absent quantization_config means an unquantised checkpoint; early mirrors
    // say model_type "minimax".
    CHECK(EDIT(&m, "-quantization_config", "model_type=\"minimax\"", "-use_qk_norm") == REAP_OK);
    CHECK(!m.fp8 && m.block_r == 0 && !m.qk_norm && strcmp(m.model_type, "minimax") == 0);
    CHECK(EDIT(&m, "scoring_func=\"softmax\"") == REAP_OK && !m.scoring_sigmoid);
}

static void test_family_table_selects_minimax_m2_by_model_type(void) {
    const reap_family *f = &reap_families[REAP_FAMILY_MINIMAX_M2];
    CHECK(reap_family_find("minimax_m2") == f && reap_family_find("minimax") == f);
    CHECK(reap_family_find("qwen3_moe") == NULL && reap_family_find("") == NULL);
    CHECK(strcmp(f->name, "minimax-m2") == 0 && strcmp(f->chat, "minimax_m2") == 0);
    CHECK(strcmp(f->keys.n_experts, "num_local_experts") == 0 && strcmp(f->keys.top_k, "num_experts_per_tok") == 0);
    CHECK(f->router == REAP_ROUTER_KIND_SIGMOID_BIAS_TOPK);
    CHECK(strcmp(reap_router_kind_name(f->router), "sigmoid+bias-topk-renorm") == 0);
    reap_m2_config m;
    CHECK(EDIT(&m, "model_type=\"qwen3_moe\"") == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "(expected \"minimax_m2\", \"minimax\")");
    // architectures is informational: absent is fine, the description says "?" then.
    CHECK(EDIT(&m, "-architectures") == REAP_OK && m.architecture[0] == 0);
    cJSON *j = reap_m2_config_json(&m, "/m");
    char *t = cJSON_PrintUnformatted(j);
    CHECK_STR_CONTAINS(t, "{\"architecture\":\"?\",");
    cJSON_free(t);
    cJSON_Delete(j);
}

// Statistics files carry this object as "model" and must stay byte-identical across versions.
static void test_description_json_has_the_statistics_keys_in_order(void) {
    reap_m2_config m;
    CHECK(parse_edited(&m, 0, NULL) == REAP_OK);
    cJSON *j = reap_m2_config_json(&m, "/models/m2");
    char *t = cJSON_PrintUnformatted(j);
    CHECK_MSG(strcmp(t, "{\"architecture\":\"MiniMaxM2ForCausalLM\",\"model_type\":\"minimax_m2\",\"n_layers\":62,"
                        "\"n_experts\":256,\"top_k\":8,\"hidden_size\":3072,\"intermediate_size\":1536,"
                        "\"path\":\"/models/m2\"}") == 0,
              "%s", t);
    cJSON_free(t);
    cJSON_Delete(j);
}

static void test_m2_tensor_names_round_trip(void) {
    char buf[128];
    CHECK(strcmp(reap_m2_layer_name(buf, 3, "self_attn.q_proj.weight"), "model.layers.3.self_attn.q_proj.weight") == 0);
    CHECK(strcmp(reap_m2_expert_name(buf, 61, 255, "w2.weight_scale_inv"),
                 "model.layers.61.block_sparse_moe.experts.255.w2.weight_scale_inv") == 0);
    int l, e, off;
    CHECK(reap_m2_parse_expert_name(buf, &l, &e, &off) == 1);
    CHECK(l == 61 && e == 255 && strcmp(buf + off, "w2.weight_scale_inv") == 0);
    CHECK(!reap_m2_parse_expert_name("model.layers.1.block_sparse_moe.gate.weight", &l, &e, &off));
    CHECK(!reap_m2_parse_expert_name("model.layers.01.block_sparse_moe.experts.2.w1.weight", &l, &e, &off));
    CHECK(!reap_m2_parse_expert_name("model.layers.1.block_sparse_moe.experts.-2.w1.weight", &l, &e, &off));
    CHECK(!reap_m2_parse_expert_name("model.layers.1.block_sparse_moe.experts.2", &l, &e, &off));
    CHECK(!reap_m2_parse_expert_name("model.layers.1.block_sparse_moe.experts.2.", &l, &e, &off));
    CHECK(!reap_m2_parse_expert_name("lm_head.weight", &l, &e, &off));
    CHECK(reap_m2_parse_expert_name("model.layers.0.block_sparse_moe.experts.0.w1.weight", &l, &e, &off) && l == 0 &&
          e == 0);
    // The patterns come from the family table.
    const reap_family *f = &reap_families[REAP_FAMILY_MINIMAX_M2];
    CHECK(strcmp(reap_family_layer_name(f, buf, 7, f->router_bias),
                 "model.layers.7.block_sparse_moe.e_score_correction_bias") == 0);
    CHECK(strcmp(reap_family_expert_name(f, buf, 2, 9, f->expert_up),
                 "model.layers.2.block_sparse_moe.experts.9.w3.weight") == 0);
    CHECK(reap_family_layer_of(f, "model.layers.12.input_layernorm.weight") == 12);
    CHECK(reap_family_layer_of(f, "model.layers.012.input_layernorm.weight") == -1);
    CHECK(reap_family_layer_of(f, "model.layers.12") == -1 && reap_family_layer_of(f, "model.norm.weight") == -1);
}

int main(void) {
    RUN(test_m2config_parses_released_config);
    RUN(test_m2config_rotary_dim_and_partial_factor);
    RUN(test_m2config_rope_theta_locations);
    RUN(test_m2config_rejects_missing_and_unsupported_values);
    RUN(test_family_table_selects_minimax_m2_by_model_type);
    RUN(test_description_json_has_the_statistics_keys_in_order);
    RUN(test_m2_tensor_names_round_trip);
    TEST_EXIT();
}

// synth_files.c: the non-weight files of a synthesised checkpoint: config.json (every MiniMax-M2
// key), generation_config.json, tokenizer.json (reap_tok_synth_json trained on the built-in
// calibration text) with vocab.json, merges.txt and tokenizer_config.json derived from it,
// chat_template.jinja, placeholder remote-code files, README.md and LICENSE.
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "calib.h"
#include "common.h"
#include "synth.h"
#include "tokenizer.h"

static int put_file(const char *dir, const char *name, const char *text, size_t len) {
    char *path = reap_path_join(dir, name);
    int st = reap_write_file_atomic(path, text, len);
    free(path);
    return st;
}

static int put_str(const char *dir, const char *name, const char *text) {
    return put_file(dir, name, text, strlen(text));
}

// A float-typed config value. cJSON prints 0.0 as "0", which transformers' strict config classes
// reject for float fields (router_jitter_noise): write integral floats with a ".0".
static void add_float(cJSON *c, const char *key, double v) {
    char buf[64];
    if (v == (double)(long long)v) snprintf(buf, sizeof buf, "%.1f", v);
    else snprintf(buf, sizeof buf, "%.17g", v);
    cJSON_AddRawToObject(c, key, buf);
}

// Keys and order follow MiniMaxAI/MiniMax-M2's config.json (spec section 1), sizes from p. Both
// rotary_dim and partial_rotary_factor are written (transformers reads only the latter: spec 7).
char *reap_synth_config_json(const reap_synth_params *p) {
    cJSON *c = cJSON_CreateObject(), *a;
    a = cJSON_AddArrayToObject(c, "architectures");
    cJSON_AddItemToArray(a, cJSON_CreateString("MiniMaxM2ForCausalLM"));
    add_float(c, "attention_dropout", 0.0);
    a = cJSON_AddArrayToObject(c, "attn_type_list");
    for (int i = 0; i < p->n_layers; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(1));
    cJSON *am = cJSON_AddObjectToObject(c, "auto_map");
    cJSON_AddStringToObject(am, "AutoConfig", "configuration_minimax_m2.MiniMaxM2Config");
    cJSON_AddStringToObject(am, "AutoModelForCausalLM", "modeling_minimax_m2.MiniMaxM2ForCausalLM");
    cJSON_AddNullToObject(c, "bos_token_id");
    cJSON_AddNullToObject(c, "eos_token_id");
    cJSON_AddNumberToObject(c, "head_dim", p->head_dim);
    cJSON_AddStringToObject(c, "hidden_act", "silu");
    cJSON_AddNumberToObject(c, "hidden_size", p->hidden);
    add_float(c, "initializer_range", 0.02);
    cJSON_AddNumberToObject(c, "intermediate_size", p->inter);
    add_float(c, "layernorm_full_attention_beta", 1.0);
    add_float(c, "layernorm_linear_attention_beta", 1.0);
    add_float(c, "layernorm_mlp_beta", 1.0);
    cJSON_AddNumberToObject(c, "max_position_embeddings", 196608);
    cJSON_AddNumberToObject(c, "mlp_intermediate_size", 8192);
    cJSON_AddStringToObject(c, "model_type", "minimax_m2");
    cJSON_AddNumberToObject(c, "mtp_transformer_layers", 1);
    cJSON_AddNumberToObject(c, "num_attention_heads", p->n_heads);
    cJSON_AddNumberToObject(c, "num_experts_per_tok", p->top_k);
    cJSON_AddNumberToObject(c, "num_hidden_layers", p->n_layers);
    cJSON_AddNumberToObject(c, "num_key_value_heads", p->n_kv_heads);
    cJSON_AddNumberToObject(c, "num_local_experts", p->n_experts);
    cJSON_AddNumberToObject(c, "num_mtp_modules", 3);
    cJSON_AddBoolToObject(c, "output_router_logits", 0);
    add_float(c, "partial_rotary_factor", (double)p->rotary_dim / p->head_dim);
    cJSON_AddStringToObject(c, "qk_norm_type", "per_layer");
    cJSON_AddNumberToObject(c, "rms_norm_eps", 1e-06);
    cJSON_AddNumberToObject(c, "rope_theta", 5000000);
    cJSON_AddNumberToObject(c, "rotary_dim", p->rotary_dim);
    add_float(c, "router_aux_loss_coef", 0.001);
    add_float(c, "router_jitter_noise", 0.0);
    cJSON_AddStringToObject(c, "scoring_func", "sigmoid");
    cJSON_AddNumberToObject(c, "shared_intermediate_size", 0);
    cJSON_AddStringToObject(c, "shared_moe_mode", "sigmoid");
    cJSON_AddNullToObject(c, "sliding_window");
    cJSON_AddBoolToObject(c, "tie_word_embeddings", 0);
    cJSON_AddStringToObject(c, "torch_dtype", "bfloat16");
    cJSON_AddStringToObject(c, "transformers_version", "4.46.1");
    cJSON_AddBoolToObject(c, "use_cache", 1);
    cJSON_AddBoolToObject(c, "use_mtp", 1);
    cJSON_AddBoolToObject(c, "use_qk_norm", 1);
    cJSON_AddBoolToObject(c, "use_routing_bias", 1);
    cJSON_AddNumberToObject(c, "vocab_size", p->vocab);
    cJSON *q = cJSON_AddObjectToObject(c, "quantization_config");
    cJSON_AddStringToObject(q, "activation_scheme", "dynamic");
    cJSON_AddStringToObject(q, "fmt", "float8_e4m3fn");
    cJSON_AddStringToObject(q, "quant_method", "fp8");
    a = cJSON_AddArrayToObject(q, "weight_block_size");
    cJSON_AddItemToArray(a, cJSON_CreateNumber(p->block));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(p->block));
    a = cJSON_AddArrayToObject(q, "modules_to_not_convert");
    cJSON_AddItemToArray(a, cJSON_CreateString("gate"));
    cJSON_AddItemToArray(a, cJSON_CreateString("e_score_correction_bias"));
    cJSON_AddItemToArray(a, cJSON_CreateString("lm_head"));
    char *s = cJSON_Print(c);
    cJSON_Delete(c);
    char *r = reap_xasprintf("%s\n", s);
    cJSON_free(s);
    return r;
}

// Every string value in a JSON value, each followed by a newline (the tokenizer's training text).
static void collect_strings(const cJSON *v, reap_sbuf *out) {
    if (cJSON_IsString(v)) {
        reap_sbuf_puts(out, v->valuestring);
        reap_sbuf_puts(out, "\n");
    }
    for (const cJSON *c = v->child; c; c = c->next) collect_strings(c, out);
}

// Decompresses a built-in zstd JSONL blob and appends the strings of every record.
static int builtin_text(const char *name, reap_sbuf *out) {
    reap_blob blob;
    int st = reap_calib_builtin(name, &blob);
    if (st) return st;
    ZSTD_DStream *ds = ZSTD_createDStream();
    ZSTD_initDStream(ds);
    reap_sbuf raw = {0};
    size_t cap = ZSTD_DStreamOutSize();
    char *buf = reap_xmalloc(cap);
    ZSTD_inBuffer in = {blob.data, blob.size, 0};
    while (in.pos < in.size) {
        ZSTD_outBuffer o = {buf, cap, 0};
        size_t r = ZSTD_decompressStream(ds, &o, &in);
        if (ZSTD_isError(r)) {
            st = reap_fail(REAP_EINVAL, "builtin:%s: zstd: %s", name, ZSTD_getErrorName(r));
            break;
        }
        reap_sbuf_append(&raw, buf, o.pos);
        if (r == 0 && o.pos == 0) break;
    }
    free(buf);
    ZSTD_freeDStream(ds);
    for (char *line = raw.p; !st && line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        cJSON *j = cJSON_Parse(line);
        if (j) collect_strings(j, out);
        cJSON_Delete(j);
        line = nl ? nl + 1 : NULL;
    }
    reap_sbuf_free(&raw);
    return st;
}

static int added_token_id(const cJSON *tok, const char *content) {
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(tok, "added_tokens")) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(t, "content");
        if (cJSON_IsString(c) && !strcmp(c->valuestring, content))
            return cJSON_GetObjectItemCaseSensitive(t, "id")->valueint;
    }
    return -1;
}

// vocab.json, merges.txt, tokenizer_config.json and generation_config.json from tokenizer.json.
static int write_tokenizer_derived(const char *dir, const char *tok_json, size_t len) {
    cJSON *tok = cJSON_ParseWithLength(tok_json, len);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(tok, "model");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges)) {
        cJSON_Delete(tok);
        return reap_fail(REAP_EINVAL, "synthesised tokenizer.json lacks model.vocab or model.merges");
    }
    char *v = cJSON_PrintUnformatted(vocab);
    int st = put_str(dir, "vocab.json", v);
    cJSON_free(v);
    reap_sbuf m = {0};
    reap_sbuf_puts(&m, "#version: 0.2\n");
    const cJSON *e;
    cJSON_ArrayForEach(e, merges) {  // "a b" strings or ["a", "b"] pairs
        if (cJSON_IsString(e)) reap_sbuf_printf(&m, "%s\n", e->valuestring);
        else if (cJSON_GetArraySize(e) == 2)
            reap_sbuf_printf(&m, "%s %s\n", cJSON_GetArrayItem(e, 0)->valuestring, cJSON_GetArrayItem(e, 1)->valuestring);
    }
    if (!st) st = put_file(dir, "merges.txt", m.p, m.n);
    reap_sbuf_free(&m);

    cJSON *tc = cJSON_CreateObject();
    cJSON_AddBoolToObject(tc, "add_bos_token", 0);
    cJSON_AddBoolToObject(tc, "add_eos_token", 0);
    cJSON_AddBoolToObject(tc, "add_prefix_space", 0);
    cJSON *dec = cJSON_AddObjectToObject(tc, "added_tokens_decoder");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(tok, "added_tokens")) {
        char id[16];
        snprintf(id, sizeof id, "%d", cJSON_GetObjectItemCaseSensitive(e, "id")->valueint);
        cJSON *d = cJSON_AddObjectToObject(dec, id);
        static const char *const keys[] = {"content", "lstrip", "normalized", "rstrip", "single_word", "special"};
        for (int k = 0; k < 6; k++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(e, keys[k]);
            if (x) cJSON_AddItemToObject(d, keys[k], cJSON_Duplicate(x, 1));
        }
    }
    cJSON_AddStringToObject(tc, "bos_token", "]~!b[");
    cJSON_AddBoolToObject(tc, "clean_up_tokenization_spaces", 0);
    cJSON_AddStringToObject(tc, "eos_token", "[e~[");
    cJSON_AddNumberToObject(tc, "model_max_length", 40960000);
    cJSON_AddStringToObject(tc, "tokenizer_class", "GPT2Tokenizer");
    cJSON_AddStringToObject(tc, "unk_token", "]!d~[");
    char *s = cJSON_Print(tc);
    if (!st) st = put_str(dir, "tokenizer_config.json", s);
    cJSON_free(s);
    cJSON_Delete(tc);

    int bos = added_token_id(tok, "]~b]"), eos = added_token_id(tok, "[e~[");
    cJSON_Delete(tok);
    if (!st && (bos < 0 || eos < 0))
        st = reap_fail(REAP_EINVAL, "synthesised tokenizer.json lacks the added tokens ]~b] and [e~[");
    if (!st) {
        char *g = reap_xasprintf("{\n  \"bos_token_id\": %d,\n  \"do_sample\": true,\n  \"eos_token_id\": %d,\n"
                                 "  \"temperature\": 1.0,\n  \"top_k\": 40,\n  \"top_p\": 0.95,\n"
                                 "  \"transformers_version\": \"4.46.1\"\n}\n", bos, eos);
        st = put_str(dir, "generation_config.json", g);
        free(g);
    }
    return st;
}

static int write_tokenizer(const reap_synth_params *p, const char *dir) {
    reap_sbuf text = {0};
    int st = builtin_text("code", &text);
    if (!st) st = builtin_text("tools", &text);
    char *json = NULL;
    size_t len = 0;
    int ids = p->tok_vocab ? p->tok_vocab : p->vocab;
    if (!st) st = reap_tok_synth_json(ids, text.p ? text.p : "", text.n, &json, &len);
    reap_sbuf_free(&text);
    if (!st) st = put_file(dir, "tokenizer.json", json, len);
    if (!st) st = write_tokenizer_derived(dir, json, len);
    free(json);
    return st;
}

// The MiniMax-M2 chat format of spec section 5, as a Jinja template (written for reap).
static const char chat_template[] =
    "{#- MiniMax-M2-style chat template (synthetic reap checkpoint; follows the format of the real model) -#}\n"
    "{%- set ns = namespace(system='You are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.', start=0, last_user=-1) -%}\n"
    "{%- if messages and messages[0].role == 'system' -%}\n"
    "  {%- set ns.system = messages[0].content -%}\n"
    "  {%- set ns.start = 1 -%}\n"
    "{%- endif -%}\n"
    "{%- for m in messages -%}{%- if m.role == 'user' -%}{%- set ns.last_user = loop.index0 -%}{%- endif -%}{%- endfor -%}\n"
    "{{- ']~!b[]~b]system\\n' + ns.system -}}\n"
    "{%- if tools -%}\n"
    "  {{- '\\n\\n# Tools\\nYou may call one or more tools to assist with the user query.\\n"
    "Here are the tools available in JSONSchema format:\\n\\n<tools>\\n' -}}\n"
    "  {%- for tool in tools -%}\n"
    "    {{- '<tool>' + ((tool.function if tool.function is defined else tool) | tojson(ensure_ascii=False)) + '</tool>\\n' -}}\n"
    "  {%- endfor -%}\n"
    "  {{- '</tools>\\n\\nWhen making tool calls, use XML format to invoke tools and pass parameters:\\n\\n"
    "<minimax:tool_call>\\n<invoke name=\"tool-name-1\">\\n<parameter name=\"param-key-1\">param-value-1</parameter>\\n"
    "<parameter name=\"param-key-2\">param-value-2</parameter>\\n...\\n</invoke>\\n</minimax:tool_call>' -}}\n"
    "{%- endif -%}\n"
    "{{- '[e~[\\n' -}}\n"
    "{%- for m in messages[ns.start:] -%}\n"
    "  {%- set i = loop.index0 + ns.start -%}\n"
    "  {%- if m.role == 'user' -%}\n"
    "    {{- ']~b]user\\n' + m.content + '[e~[\\n' -}}\n"
    "  {%- elif m.role == 'assistant' -%}\n"
    "    {{- ']~b]ai\\n' -}}\n"
    "    {%- if m.reasoning_content and i > ns.last_user -%}\n"
    "      {{- '<think>\\n' + m.reasoning_content + '\\n</think>\\n\\n' -}}\n"
    "    {%- endif -%}\n"
    "    {{- m.content if m.content else '' -}}\n"
    "    {%- if m.tool_calls -%}\n"
    "      {{- '\\n<minimax:tool_call>\\n' -}}\n"
    "      {%- for call in m.tool_calls -%}\n"
    "        {%- set f = call.function if call.function is defined else call -%}\n"
    "        {{- '<invoke name=\"' + f.name + '\">\\n' -}}\n"
    "        {%- for k, v in f.arguments.items() -%}\n"
    "          {{- '<parameter name=\"' + k + '\">' + (v if v is string else v | tojson(ensure_ascii=False)) + '</parameter>\\n' -}}\n"
    "        {%- endfor -%}\n"
    "        {{- '</invoke>\\n' -}}\n"
    "      {%- endfor -%}\n"
    "      {{- '</minimax:tool_call>' -}}\n"
    "    {%- endif -%}\n"
    "    {{- '[e~[\\n' -}}\n"
    "  {%- elif m.role == 'tool' -%}\n"
    "    {%- if loop.first or messages[i - 1].role != 'tool' -%}{{- ']~b]tool' -}}{%- endif -%}\n"
    "    {{- '\\n<response>' + m.content + '</response>' -}}\n"
    "    {%- if loop.last or messages[i + 1].role != 'tool' -%}{{- '[e~[\\n' -}}{%- endif -%}\n"
    "  {%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- ']~b]ai\\n<think>\\n' -}}{%- endif -%}\n";

static const char configuration_py[] =
    "# configuration_minimax_m2.py: SYNTHETIC PLACEHOLDER written by `reap synth`.\n"
    "# A real MiniMax-M2 checkpoint ships the model's remote-code configuration here. This random\n"
    "# checkpoint only carries the file so its layout matches; load it with transformers'\n"
    "# built-in MiniMaxM2ForCausalLM (no trust_remote_code needed).\n"
    "from transformers import PretrainedConfig\n\n\n"
    "class MiniMaxM2Config(PretrainedConfig):\n"
    "    model_type = \"minimax_m2\"\n\n"
    "    def __init__(self, **kwargs):\n"
    "        super().__init__(**kwargs)\n";

static const char modeling_py[] =
    "# modeling_minimax_m2.py: SYNTHETIC PLACEHOLDER written by `reap synth`.\n"
    "# A real MiniMax-M2 checkpoint ships the model's remote code here; this random checkpoint does\n"
    "# not. Use transformers' built-in MiniMaxM2ForCausalLM, vLLM or `reap score` instead.\n"
    "raise ImportError(\"synthetic reap checkpoint: no remote modeling code (use transformers' MiniMaxM2ForCausalLM)\")\n";

static const char license_text[] =
    "MIT License\n\n"
    "These synthetic weights were generated by `reap synth` from a random seed; they contain no\n"
    "trained parameters and carry no rights of any model author.\n\n"
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software\n"
    "and associated documentation files (the \"Software\"), to deal in the Software without\n"
    "restriction, including without limitation the rights to use, copy, modify, merge, publish,\n"
    "distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the\n"
    "Software is furnished to do so, subject to the following conditions:\n\n"
    "The above copyright notice and this permission notice shall be included in all copies or\n"
    "substantial portions of the Software.\n\n"
    "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING\n"
    "BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND\n"
    "NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,\n"
    "DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,\n"
    "OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.\n";

static char *readme_text(const reap_synth_params *p) {
    return reap_xasprintf(
        "# Synthetic MiniMax-M2-layout checkpoint\n\n"
        "Random weights written by `reap synth` (reap %s) for tests, demos and benchmarks. It has the\n"
        "exact file layout, tensor names and dtypes of MiniMaxAI/MiniMax-M2 (FP8 E4M3 weights with\n"
        "%dx%d `weight_scale_inv` blocks, F32 router, BF16 norms/embeddings/lm_head) but no trained\n"
        "parameters: its outputs are meaningless.\n\n"
        "| | |\n|---|---|\n"
        "| layers | %d |\n| experts / top-k | %d / %d |\n| hidden / intermediate | %d / %d |\n"
        "| heads / kv heads / head dim / rotary dim | %d / %d / %d / %d |\n"
        "| vocab (tokenizer ids) | %d (%d) |\n| seed | %llu |\n| sparse (data are file holes) | %s |\n\n"
        "The same `reap synth` options and seed give byte-identical files.\n",
        REAP_VERSION, p->block, p->block, p->n_layers, p->n_experts, p->top_k, p->hidden, p->inter, p->n_heads,
        p->n_kv_heads, p->head_dim, p->rotary_dim, p->vocab, p->tok_vocab ? p->tok_vocab : p->vocab,
        (unsigned long long)p->seed, p->sparse ? "yes" : "no");
}

int reap_synth_write_files(const reap_synth_params *p, const char *dir) {
    char *cfg = reap_synth_config_json(p), *readme = readme_text(p);
    int st = put_str(dir, "config.json", cfg);
    if (!st) st = write_tokenizer(p, dir);
    if (!st) st = put_str(dir, "chat_template.jinja", chat_template);
    if (!st) st = put_str(dir, "configuration_minimax_m2.py", configuration_py);
    if (!st) st = put_str(dir, "modeling_minimax_m2.py", modeling_py);
    if (!st) st = put_str(dir, "README.md", readme);
    if (!st) st = put_str(dir, "LICENSE", license_text);
    free(cfg);
    free(readme);
    return st;
}

// fuzz_config: config.json through reap_ckpt_open (its JSON and quantization_config checks) and
// the model description parser reap_m2_config_load, then what every module derives from the
// description: its JSON form, the forward pass's checks, the checkpoint fingerprint, the family's
// tensor names and the chat renderer. The scratch checkpoint holds one small model.safetensors.
// Not here: reap_inspect_check, which walks layers x experts of the description (bounding that by
// the tensors present is issue 13 class 1, fixed on its own branch).
#include "ckpt.h"
#include "calib.h"
#include "forward.h"
#include "fuzz.h"
#include "m2config.h"
#include "stats.h"

static void setup(void) {
    static int done;
    if (done) return;
    done = 1;
    reap_st_writer *w;
    int64_t dim = 4;
    FUZZ_CHECK(reap_st_writer_open(fuzz_path("model.safetensors"), &w) == REAP_OK);
    FUZZ_CHECK(reap_st_writer_add(w, "model.embed_tokens.weight", REAP_DT_F32, 1, &dim) == REAP_OK);
    FUZZ_CHECK(reap_st_writer_begin(w) == REAP_OK);
    float v[4] = {1, 2, 3, 4};
    FUZZ_CHECK(reap_st_writer_write(w, v, sizeof v) == REAP_OK);
    FUZZ_CHECK(reap_st_writer_finish(w) == REAP_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    fuzz_write_file(fuzz_path("config.json"), data, size);
    reap_ckpt *c = NULL;
    if (reap_ckpt_open(fuzz_dir(), &c) != REAP_OK) return 0;
    reap_m2_config m;
    if (reap_m2_config_load(c, &m) == REAP_OK) {
        FUZZ_CHECK(m.family != NULL && m.n_layers > 0 && m.n_experts > 0 && m.top_k > 0 && m.top_k <= m.n_experts);
        cJSON *j = reap_m2_config_json(&m, c->dir);
        char *s = cJSON_PrintUnformatted(j);
        FUZZ_CHECK(s != NULL);
        free(s);
        cJSON_Delete(j);
        (void)reap_forward_check_config(&m, "config.json");
        char hex[65];
        FUZZ_CHECK(reap_stats_fingerprint(c, &m, hex) == REAP_OK && strlen(hex) == 64);
        char name[128];
        int l, e, off;
        reap_family_expert_name(m.family, name, m.n_layers - 1, m.n_experts - 1, m.family->expert_gate);
        FUZZ_CHECK(reap_family_parse_expert_name(m.family, name, &l, &e, &off) == 1 && l == m.n_layers - 1 &&
                   e == m.n_experts - 1);
        FUZZ_CHECK(reap_family_layer_of(m.family, reap_family_layer_name(m.family, name, l, "x")) == l);
    }
    const reap_chat_family *fam;
    if (reap_calib_model_chat(fuzz_dir(), &fam) == REAP_OK) FUZZ_CHECK(fam && fam->render);
    reap_ckpt_close(c);
    return 0;
}

// gpu_stub.c: the CUDA entry points of kernels/gpu.h for builds without CUDA (make CUDA=0).
#ifndef REAP_CUDA
#include <string.h>

#include "common.h"
#include "gpu.h"

const char *const reap_gpu_phase_names[REAP_GPU_PHASES] = {"h2d",     "dequant", "attention", "router",
                                                           "experts", "stats",   "d2h",       "wait"};

reap_gpu_params reap_gpu_default_params(void) {
    reap_gpu_params p;
    memset(&p, 0, sizeof p);
    p.hidden = REAP_GPU_HIDDEN_AUTO, p.n_streams = 1, p.host_every_layer = 1;  // as kernels/gpu.cu
    return p;
}

int reap_gpu_count(void) { return 0; }

void reap_gpu_prestart_begin(const int *devices, int n) { (void)devices, (void)n; }
double reap_gpu_prestart_end(void) { return 0; }

int reap_gpu_open(const reap_m2_config *cfg, const reap_gpu_params *p, reap_gpu **out) {
    (void)cfg, (void)p;
    *out = NULL;
    return reap_fail(REAP_EDEVICE, "this reap was built without CUDA (make CUDA=1): use --device cpu");
}

void reap_gpu_close(reap_gpu *g) { (void)g; }

int reap_gpu_layer_forward(reap_gpu *g, const reap_layer_weights *w, float *h, const uint8_t *mask,
                           reap_router_mode mode, reap_layer_stats *st) {
    (void)g, (void)w, (void)h, (void)mask, (void)mode, (void)st;
    return reap_fail(REAP_EDEVICE, "this reap was built without CUDA");
}

int reap_gpu_embed_rows(const reap_gpu *g) {
    (void)g;
    return 0;
}
int reap_gpu_embed(reap_gpu *g, float *h, const int32_t *ids, int v0, int n, const float *table, int first) {
    (void)g, (void)h, (void)ids, (void)v0, (void)n, (void)table, (void)first;
    return reap_fail(REAP_EDEVICE, "this reap was built without CUDA (make CUDA=1)");
}
int reap_gpu_hidden_copy(reap_gpu *g, const float *src, float *dst, int *done) {
    (void)g, (void)src, (void)dst;
    *done = 0;
    return REAP_OK;
}
int reap_gpu_hidden_to_host(reap_gpu *g) {
    (void)g;
    return REAP_OK;  // never opened: nothing is held
}

void reap_gpu_get_counters(const reap_gpu *g, reap_gpu_counters *out) {
    (void)g;
    memset(out, 0, sizeof *out);
}

cJSON *reap_gpu_settings_json(const reap_gpu *g) {
    (void)g;
    return cJSON_CreateObject();
}

void reap_gpu_set_trace(reap_gpu *g, int *chosen) { (void)g, (void)chosen; }
int reap_gpu_pin(void *p, size_t bytes) {
    (void)p, (void)bytes;
    return -1;
}
void reap_gpu_unpin(void *p) { (void)p; }
void *reap_gpu_host_alloc(size_t bytes) {
    (void)bytes;
    return NULL;
}
void reap_gpu_host_free(void *p) { (void)p; }
int reap_gpu_stage_begin(reap_gpu *g, const reap_layer_weights *w) {
    (void)g, (void)w;
    return 0;
}
void reap_gpu_stage_part(reap_gpu *g, const reap_layer_weights *w, int e0, int e1) { (void)g, (void)w, (void)e0, (void)e1; }
int reap_gpu_stage_end(reap_gpu *g, const reap_layer_weights *w) {
    (void)g, (void)w;
    return 0;
}
int reap_gpu_head_open(int device, size_t mem_cap, int V, int H, int n_models, int max_pos, reap_gpu_head **out) {
    (void)device, (void)mem_cap, (void)V, (void)H, (void)n_models, (void)max_pos;
    *out = NULL;
    return reap_fail(REAP_EDEVICE, "this reap was built without CUDA (make CUDA=1)");
}
int reap_gpu_head_positions_per_chunk(const reap_gpu_head *g) { (void)g; return 0; }
float *reap_gpu_head_input(reap_gpu_head *g) { (void)g; return NULL; }
int reap_gpu_head_upload(reap_gpu_head *g, int v0, int n, const float *rows) {
    (void)g, (void)v0, (void)n, (void)rows;
    return REAP_EDEVICE;
}
int reap_gpu_head_compare(reap_gpu_head *g, int P, const int32_t *targets, reap_eval_state *out) {
    (void)g, (void)P, (void)targets, (void)out;
    return REAP_EDEVICE;
}
void reap_gpu_head_close(reap_gpu_head *g) { (void)g; }
#else
typedef int reap_gpu_stub_unused;  // ISO C forbids an empty translation unit
#endif

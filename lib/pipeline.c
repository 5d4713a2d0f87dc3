// pipeline.c: see pipeline.h.
#include "pipeline.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

const char *reap_device_name(reap_device d) {
    static const char *const names[REAP_DEVICE_COUNT] = {"auto", "cpu", "cuda"};
    return (unsigned)d < REAP_DEVICE_COUNT ? names[d] : "?";
}

reap_pipeline_params reap_pipeline_default_params(void) {
    reap_pipeline_params p;
    memset(&p, 0, sizeof p);
    p.device = REAP_DEVICE_CPU;
    p.gpu = reap_gpu_default_params();
    p.router = REAP_ROUTER_MODEL;
    p.host_every_layer = 0;  // the hidden states come back to the host at the end of the run
    return p;
}

// ---- the loader: layer l+1 is read in a thread while layer l computes (and the first layer while
// the tokens are embedded and the GPUs open). For the GPU it is read straight into one of two
// page-locked buffers (arena, layer parity picks it), and each part starts its copy to the GPUs
// (reap_gpu_stage_begin/part/end) as it lands, while layer l still computes.
typedef struct {
    const reap_ckpt *c;
    const reap_m2_config *cfg;
    int layer, st;
    const reap_layer_load_opts *read;
    void *arena;         // page-locked buffer of arena_bytes to read into (GPU runs), or NULL: malloc
    size_t arena_bytes;
    reap_gpu *gpu;       // stage the layer on these GPUs as it is read (NULL: no)
    int staging;         // 0: no part read yet, 1: staging started, -1: the GPU declined
    reap_layer_weights w;
    double secs;         // seconds the read took
    char err[1024];
} loader;

static void loader_part(void *ctx, const reap_layer_weights *w, int e0, int e1) {
    loader *f = ctx;
    if (f->staging == 0) f->staging = reap_gpu_stage_begin(f->gpu, w) ? 1 : -1;
    if (f->staging == 1) reap_gpu_stage_part(f->gpu, w, e0, e1);
}

static void *loader_main(void *arg) {
    loader *f = arg;
    double t0 = reap_now();
    f->st = reap_layer_load_ex(f->c, f->cfg, f->layer, f->arena, f->arena_bytes, f->read, f->gpu ? loader_part : NULL,
                               f, &f->w);
    if (f->st) snprintf(f->err, sizeof f->err, "%s", reap_err_msg());
    else if (f->staging == 1) reap_gpu_stage_end(f->gpu, &f->w);
    f->secs = reap_now() - t0;
    return NULL;
}

// Starts reading `layer` into f; returns 1 when a thread reads it (join th), 0 when it was read here.
static int loader_start(loader *f, pthread_t *th, const reap_ckpt *c, const reap_m2_config *cfg, int layer,
                        const reap_layer_load_opts *read, void *const arena[2], size_t arena_bytes, reap_gpu *gpu) {
    *f = (loader){.c = c, .cfg = cfg, .layer = layer, .read = read, .arena = arena[layer & 1],
                  .arena_bytes = arena_bytes, .gpu = gpu};
    if (pthread_create(th, NULL, loader_main, f) != 0) {
        loader_main(f);
        return 0;
    }
    return 1;
}

static void loader_release(loader *f) {
    if (f->st) return;
    if (f->arena) reap_layer_forget(&f->w);
    else reap_layer_free(&f->w);
    f->st = REAP_EINVAL;  // released
}

// Two page-locked buffers of the largest layer for the GPU path (3.8 GB each at MiniMax-M2's size;
// pageable when they cannot be page-locked, with a warning). The first layer's (layer parity picks
// it) is plain memory (reap_big_alloc), so that its read starts at once, and is page-locked
// (reap_gpu_pin) while that read runs, after the other buffer (cudaHostAlloc): page-locking 3.8 GB
// took ~1 s, which the first read used to wait for (bench/RESULTS.md).
static int arena_size(const reap_ckpt *c, const reap_m2_config *cfg, size_t *bytes) {
    *bytes = 0;
    for (int l = 0; l < cfg->n_layers; l++) {
        size_t b;
        int st = reap_layer_arena_bytes(c, cfg, l, &b);
        if (st) return st;
        if (b > *bytes) *bytes = b;
    }
    return REAP_OK;
}

static void warn_pageable(size_t bytes) {
    char b1[32];
    reap_warn("cannot page-lock %s of host memory for the layer weights: copies to the GPU will be slower",
              reap_fmt_bytes((double)bytes, b1, sizeof b1));
}
static void alloc_arena(void *arena[2], int i, size_t bytes) {
    arena[i] = reap_gpu_host_alloc(bytes);
    if (!arena[i]) warn_pageable(bytes);
}

static int open_gpus(const reap_m2_config *cfg, int rows, int T, int n_streams, const reap_pipeline_params *p,
                     reap_gpu **g) {
    reap_gpu_params gp = p->gpu;
    int all[64];
    if (!gp.devices) {
        gp.n_devices = reap_gpu_count();
        if (gp.n_devices > 64) gp.n_devices = 64;
        for (int i = 0; i < gp.n_devices; i++) all[i] = i;
        gp.devices = all;
    }
    gp.rows = rows, gp.T = T, gp.n_streams = n_streams, gp.host_every_layer = p->host_every_layer;
    return reap_gpu_open(cfg, &gp, g);
}

// The expert GEMMs' precision, when fp8 was asked for (taken, or why not).
static void say_experts(const reap_gpu *gpu) {
    reap_gpu_counters k;
    reap_gpu_get_counters(gpu, &k);
    if (k.experts_fp8)
        reap_info("expert GEMMs: fp8 (E4M3 weights with their 128x128 block scales, activations per token and 128 "
                  "channels; --gpu-experts fp8)");
    else if (k.experts_fp8_why)
        reap_info("expert GEMMs: bf16, not fp8 as asked: %s", k.experts_fp8_why);
}

// Says where the hidden states live (reap_gpu_open chose: lib/gpu_layout.h), and returns 1 when the
// host copies must be page-locked: when they go through host memory every layer (in and out chunk by
// chunk, overlapping the compute). Kept on the GPUs they are copied in once and out once, and
// page-locking ~10 GB would cost more seconds than it saves, unless they also come back after
// every layer.
static int say_hidden(const reap_gpu *gpu, const reap_pipeline_params *p, const reap_m2_config *cfg, int T,
                      int n_streams) {
    reap_gpu_counters k;
    reap_gpu_get_counters(gpu, &k);
    char b1[32], b2[32], b3[32];
    const reap_gpu_hidden_plan *h = &k.hidden;
    if (k.hidden_on_gpu) {  // the figures of the GPU with the least room to spare
        char on[32] = "on the GPU";
        if (k.n_devices > 1) snprintf(on, sizeof on, "on %d GPUs", k.n_devices);
        reap_info("hidden states: %s (%s on GPU %d%s, %s in use of its %s cap), %s", on,
                  reap_fmt_bytes((double)h->bytes, b1, sizeof b1), h->device, n_streams > 1 ? " for all streams" : "",
                  reap_fmt_bytes((double)h->need, b2, sizeof b2), reap_fmt_bytes((double)h->cap, b3, sizeof b3),
                  p->host_every_layer ? "back in host memory after every layer"
                  : p->h_unused       ? "never copied back"
                                      : "back in host memory at the end");
        return p->host_every_layer;
    }
    if (p->gpu.hidden == REAP_GPU_HIDDEN_HOST)
        reap_info("hidden states: in host memory, through the GPU chunk by chunk (--gpu-hidden host)");
    else if (h->unaligned)
        reap_info("hidden states: in host memory, through the GPU chunk by chunk (a row of %d x %d f32 is not a whole "
                  "number of 256 bytes: chunks on the GPU would be aligned otherwise)", T, cfg->hidden);
    else
        reap_info("hidden states: in host memory, through the GPU chunk by chunk (on GPU %d they would need %s "
                  "with its %s of hidden states; the cap is %s)",
                  h->device, reap_fmt_bytes((double)h->need, b1, sizeof b1), reap_fmt_bytes((double)h->bytes, b2, sizeof b2),
                  reap_fmt_bytes((double)h->cap, b3, sizeof b3));
    return 1;
}

// Stream h embedded on the GPUs (reap_gpu_embed), the table read vb rows at a time: no host pass
// over rows x T x hidden floats, and none of them copied up. Only the table's rows that the ids use
// are read (by groups of REAP_EMBED_GROUP rows), and blocks without one are skipped: 1024 rows of
// Python source use a few percent of MiniMax-M2's 1.2 GB table, read beside the first layer.
static int embed_gpu(const reap_ckpt *c, const reap_m2_config *cfg, reap_gpu *gpu, float *h, const int32_t *ids,
                     int64_t n, int vb) {
    int st = reap_embed_check(cfg, ids, n);
    if (st) return st;
    uint8_t *need = reap_xcalloc((size_t)cfg->vocab, 1);
    for (int64_t i = 0; i < n; i++) need[ids[i]] = 1;
    float *tab = reap_xmalloc(sizeof(float) * (size_t)vb * cfg->hidden);
    void *raw = reap_xmalloc(sizeof(float) * (size_t)vb * cfg->hidden);
    int first = 1;
    for (int v0 = 0; v0 < cfg->vocab && !st; v0 += vb) {
        const int k = cfg->vocab - v0 < vb ? cfg->vocab - v0 : vb;
        if (!memchr(need + v0, 1, (size_t)k)) continue;
        if (!(st = reap_embed_table_rows(c, cfg, v0, k, need, raw, tab))) st = reap_gpu_embed(gpu, h, ids, v0, k, tab, first);
        first = 0;
    }
    free(tab), free(raw), free(need);
    return st;
}

int reap_pipeline_run(const reap_ckpt *c, const reap_m2_config *cfg, int rows, int T, float *h, const uint8_t *mask,
                      const int32_t *embed_ids, int first, const reap_pipeline_params *p, reap_layer_stats *stats,
                      reap_pipeline_info *info) {
    reap_pipeline_stream s = {.h = h, .stats = stats, .drop = NULL};
    return reap_pipeline_run_streams(c, cfg, rows, T, 1, &s, mask, embed_ids, first, p, info);
}

// One layer for every stream: a stream with removed experts runs on a copy of the weights whose
// bias is the override (bias: scratch of E floats).
static int run_layer_streams(const reap_pipeline_params *p, const reap_m2_config *cfg, reap_gpu *gpu,
                             const reap_layer_weights *lw, int l, int rows, int T, int n, const reap_pipeline_stream *s,
                             const uint8_t *mask, float *bias) {
    int st = REAP_OK;
    const int E = cfg->n_experts;
    for (int i = 0; i < n && !st; i++) {
        reap_layer_weights w = *lw;
        const uint8_t *drop = s[i].drop ? s[i].drop[l] : NULL;
        if (drop) {
            for (int e = 0; e < E; e++) bias[e] = drop[e] ? -INFINITY : lw->bias ? lw->bias[e] : 0.0f;
            w.bias = bias;
        }
        // On the GPU the streams after the first reuse the layer already uploaded and take only w.bias.
        if (gpu) st = reap_gpu_layer_forward(gpu, &w, s[i].h, mask, p->router, &s[i].stats[l]);
        else st = reap_layer_forward_cpu(cfg, &w, s[i].h, rows, T, mask, p->router, &s[i].stats[l]);
    }
    return st;
}

int reap_pipeline_run_streams(const reap_ckpt *c, const reap_m2_config *cfg, int rows, int T, int n_streams,
                              const reap_pipeline_stream *s, const uint8_t *mask, const int32_t *embed_ids, int first,
                              const reap_pipeline_params *p, reap_pipeline_info *info) {
    REAP_ASSERT(n_streams >= 1 && n_streams <= 64);
    float *h = s[0].h;
    reap_pipeline_info inf;
    memset(&inf, 0, sizeof inf);
    inf.first_ready_process_s = -1;
    const double t_start = reap_now();
    const int cuda = p->device == REAP_DEVICE_CUDA, L = cfg->n_layers;
    const size_t ntok = (size_t)rows * T, hbytes = ntok * cfg->hidden * sizeof *h;
    reap_gpu *gpu = NULL;
    void *arena[2] = {NULL, NULL};
    size_t arena_bytes = 0;
    loader ld[2];
    memset(ld, 0, sizeof ld);
    ld[0].st = ld[1].st = REAP_EINVAL;  // nothing held
    pthread_t th;
    int cur = 0, reading = 0, hpinned[64] = {0}, first_pinned = 0, st = REAP_OK;
    float *bias = reap_xmalloc(sizeof(float) * (size_t)(cfg->n_experts > 0 ? cfg->n_experts : 1));
    if (first >= L) goto out;
    if (cuda && (st = arena_size(c, cfg, &arena_bytes))) goto out;
    if (cuda) arena[first & 1] = reap_big_alloc(arena_bytes);
    // the first layer's read overlaps the page-locking of both buffers, the GPUs' start and the
    // embedding (not staged: the GPUs open later)
    reading = loader_start(&ld[0], &th, c, cfg, first, &p->read, arena, arena_bytes, NULL);
    if (cuda) {
        alloc_arena(arena, (first & 1) ^ 1, arena_bytes);
        first_pinned = reap_gpu_pin(arena[first & 1], arena_bytes) == 0;
        if (!first_pinned) warn_pageable(arena_bytes);
    }
    if (cuda && (st = open_gpus(cfg, rows, T, n_streams, p, &gpu))) goto out;
    if (embed_ids) {
        const double te = reap_now();
        const int vb = reap_gpu_embed_rows(gpu);  // 0 unless the hidden states live on the GPUs
        if (vb > 0) st = embed_gpu(c, cfg, gpu, h, embed_ids, (int64_t)ntok, vb);
        else st = reap_embed_cpu(c, cfg, embed_ids, (int64_t)ntok, h);
        if (st) goto out;
        reap_verbose("embedding: %lld tokens on the %s in %.2f s", (long long)ntok, vb > 0 ? "GPU" : "CPU",
                     reap_now() - te);
    }
    // every stream starts from the embedding: copied on the GPUs when the hidden states live there
    for (int i = 1; embed_ids && i < n_streams; i++) {
        int done = 0;
        if ((st = reap_gpu_hidden_copy(gpu, h, s[i].h, &done))) goto out;
        if (!done) memcpy(s[i].h, h, hbytes);
    }
    if (cuda) say_experts(gpu);
    if (cuda && say_hidden(gpu, p, cfg, T, n_streams))
        for (int i = 0; i < n_streams; i++) hpinned[i] = reap_gpu_pin(s[i].h, hbytes) == 0;

    for (int l = first; l < L; l++) {
        if (p->cancel && *p->cancel) {
            st = reap_fail(REAP_EINTR, "interrupted after %d of %d layers", l, L);
            break;
        }
        double ta = reap_now();
        loader *f = &ld[cur];
        if (reading) pthread_join(th, NULL), reading = 0;  // layer l is in memory (waits for the disk)
        if (l == first)
            inf.first_ready_s = reap_now() - t_start, inf.first_ready_process_s = reap_process_age(),
            inf.read_first_s = f->secs;
        inf.read_s += f->secs;
        if (f->st) {
            st = reap_fail(f->st, "%s", f->err);
            break;
        }
        inf.read_bytes += (double)f->w.bytes;
        if (l + 1 < L)
            reading = loader_start(&ld[cur ^ 1], &th, c, cfg, l + 1, &p->read, arena, arena_bytes, gpu);
        reap_pipeline_layer li = {.wait_s = reap_now() - ta};
        double tb = reap_now();
        st = run_layer_streams(p, cfg, gpu, &f->w, l, rows, T, n_streams, s, mask, bias);
        loader_release(f);
        cur ^= 1;
        if (st) break;
        li.forward_s = reap_now() - tb;
        inf.wait_s += li.wait_s, inf.forward_s += li.forward_s;
        inf.layers++;
        if (p->on_layer && (st = p->on_layer(p->ctx, l, &li))) break;
    }
    // hidden states kept on the GPUs back into every stream's h (an interrupted run's too: after
    // the last finished layer, as on the host path)
    if (gpu && !p->h_unused && (st == REAP_OK || st == REAP_EINTR)) {
        int st2 = reap_gpu_hidden_to_host(gpu);
        if (st2) st = st2;
    }
    inf.seconds = reap_now() - t_start;
out:
    if (reading) pthread_join(th, NULL);
    loader_release(&ld[0]);
    loader_release(&ld[1]);
    if (gpu) {
        reap_gpu_get_counters(gpu, &inf.gpu);
        if (info) inf.gpu_settings = reap_gpu_settings_json(gpu);
    }
    for (int i = 0; i < n_streams; i++)
        if (hpinned[i]) reap_gpu_unpin(s[i].h);
    if (first_pinned) reap_gpu_unpin(arena[first & 1]);
    reap_gpu_close(gpu);
    reap_big_free(arena[first & 1], arena_bytes);
    reap_gpu_host_free(arena[(first & 1) ^ 1]);
    free(bias);
    if (info) *info = inf;
    return st;
}

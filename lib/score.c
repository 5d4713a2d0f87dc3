// score.c: see score.h.
#include "score.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "chat.h"
#include "ckpt.h"
#include "common.h"
#include "forward.h"
#include "gpu.h"
#include "inspect.h"
#include "m2config.h"
#include "tokenizer.h"

static const char *const default_calib[] = {"builtin"};

reap_score_params reap_score_default_params(void) {
    return (reap_score_params){.calib = NULL, .n_calib = 0, .rows = 0, .seq_len = 2048, .seed = 42, .pack = 1,
                               .router = REAP_ROUTER_MODEL, .device = REAP_DEVICE_AUTO, .shard_index = 0,
                               .shard_count = 1};
}

const char *reap_device_name(reap_device d) {
    static const char *const names[REAP_DEVICE_COUNT] = {"auto", "cpu", "cuda"};
    return (unsigned)d < REAP_DEVICE_COUNT ? names[d] : "?";
}

int reap_score_calibrate(const char *model_dir, const reap_score_params *p, reap_packed *out) {
    memset(out, 0, sizeof *out);
    char *cpath = reap_path_join(model_dir, "config.json"), *text = NULL;
    size_t len;
    int st = reap_read_file(cpath, &text, &len);
    cJSON *cfg = st ? NULL : cJSON_ParseWithLength(text, len);
    const reap_chat_family *fam = NULL;
    if (!st) {
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(cfg, "model_type");
        if (!cfg) st = reap_fail(REAP_EINVAL, "%s: not valid JSON", cpath);
        else if (!cJSON_IsString(mt)) st = reap_fail(REAP_EINVAL, "%s: no string \"model_type\"", cpath);
        else if (!(fam = reap_chat_family_find(mt->valuestring)))
            st = reap_fail(REAP_EINVAL, "%s: model_type \"%s\" has no chat renderer", cpath, mt->valuestring);
    }
    cJSON_Delete(cfg);
    free(text);
    free(cpath);
    if (st) return st;

    reap_samples samples = {0};
    const char *const *specs = p->n_calib ? p->calib : default_calib;
    int n = p->n_calib ? p->n_calib : 1;
    for (int i = 0; i < n && !st; i++) st = reap_calib_load(specs[i], fam, p->seed, &samples);
    reap_tokenizer *tok = NULL;
    if (!st) {
        char *tpath = reap_path_join(model_dir, "tokenizer.json");
        st = reap_tok_load(tpath, &tok);
        free(tpath);
    }
    if (!st && samples.n == 0) st = reap_fail(REAP_EINVAL, "calibration: the sources gave no samples");
    if (!st) {
        reap_pack_params pp = reap_pack_default_params();
        pp.seq_len = p->seq_len;
        pp.rows = p->rows;
        pp.pack = p->pack;
        pp.seed = p->seed;
        st = reap_pack(tok, &samples, &pp, out);
    }
    if (!st && out->rows == 0) st = reap_fail(REAP_EINVAL, "calibration: no rows were packed");
    if (!st && p->rows > 0 && out->rows < p->rows)
        reap_warn("calibration: the samples filled %d rows, fewer than the %d asked for", out->rows, p->rows);
    reap_tok_free(tok);
    reap_samples_free(&samples);
    return st;
}

// ---- resume directory

static int write_hidden(const char *dir, int done, const float *h, size_t n) {
    char name[64];
    snprintf(name, sizeof name, "hidden-%d.bin", done);
    char *path = reap_path_join(dir, name);
    int st = reap_write_file_atomic(path, h, n * sizeof(float));
    free(path);
    return st;
}

static int read_hidden(const char *dir, int done, float *h, size_t n) {
    char name[64];
    snprintf(name, sizeof name, "hidden-%d.bin", done);
    char *path = reap_path_join(dir, name);
    int st = REAP_OK;
    int fd = open(path, O_RDONLY);
    if (fd < 0) st = reap_fail(REAP_EINVAL, "%s: cannot open (work dir incomplete: remove it to start over): %s", path,
                               strerror(errno));
    off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
    if (!st && (size_t)size != n * sizeof(float))
        st = reap_fail(REAP_EINVAL, "%s: %lld bytes, expected %zu (rows x seq_len x hidden f32)", path, (long long)size,
                       n * sizeof(float));
    int e = st ? 0 : reap_pread_all(fd, h, n * sizeof(float), 0);
    if (e) st = reap_fail(REAP_EIO, "%s: read failed: %s", path, reap_pread_strerror(e));
    if (fd >= 0) close(fd);
    free(path);
    return st;
}

static void remove_hidden_except(const char *dir, int keep, int n_layers) {
    for (int d = 0; d <= n_layers; d++) {
        if (d == keep) continue;
        char name[64];
        snprintf(name, sizeof name, "hidden-%d.bin", d);
        char *path = reap_path_join(dir, name);
        unlink(path);
        free(path);
    }
}

// The identity of a run: everything the statistics depend on.
static char *run_key(const reap_stats *s, const char *ids_hash, int shard_rows) {
    cJSON *k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "fingerprint", s->fingerprint);
    cJSON_AddItemToObject(k, "calibration", cJSON_Duplicate(s->calib, 1));
    cJSON_AddStringToObject(k, "router", reap_router_mode_name(s->router));
    cJSON_AddStringToObject(k, "ids_sha256", ids_hash);
    cJSON_AddNumberToObject(k, "shard_rows", shard_rows);
    char *t = cJSON_PrintUnformatted(k);
    cJSON_Delete(k);
    return t;
}

// Opens or creates the work dir; returns in *done the layers already finished (statistics loaded
// into s), 0 for a fresh run.
static int workdir_open(const char *dir, reap_stats *s, const char *key, float *h, size_t n, int *done) {
    *done = 0;
    int st = reap_mkdir_p(dir);
    if (st) return st;
    char *spath = reap_path_join(dir, "state.json"), *ppath = reap_path_join(dir, "stats.partial.json");
    char *text = NULL;
    size_t len;
    if (!reap_exists(spath)) {
        st = reap_write_file_atomic(spath, key, strlen(key));
        unlink(ppath);
        remove_hidden_except(dir, -1, s->n_layers);
        goto out;
    }
    if ((st = reap_read_file(spath, &text, &len))) goto out;
    if (strcmp(text, key) != 0) {
        cJSON *a = cJSON_Parse(text), *b = cJSON_Parse(key);
        const char *what = "its arguments differ";
        const char *fields[] = {"fingerprint", "router", "calibration", "shard_rows", "ids_sha256"};
        const char *names[] = {"the model (fingerprint) differs", "the router mode differs",
                               "the calibration arguments differ", "the shard differs",
                               "the calibration rows (token ids) differ"};
        for (int i = 0; i < 5; i++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, fields[i]), *y = cJSON_GetObjectItemCaseSensitive(b, fields[i]);
            if (!x || !y || !cJSON_Compare(x, y, 1)) {
                what = names[i];
                break;
            }
        }
        st = reap_fail(REAP_EINVAL, "%s: this work dir belongs to another run (%s); use another --work-dir or "
                       "remove it",
                       dir, what);
        cJSON_Delete(a), cJSON_Delete(b);
        goto out;
    }
    if (!reap_exists(ppath)) goto out;  // nothing finished yet
    reap_stats prev;
    if ((st = reap_stats_load(ppath, &prev))) goto out;
    if (strcmp(prev.fingerprint, s->fingerprint) != 0 || prev.n_layers != s->n_layers || prev.n_experts != s->n_experts ||
        prev.router != s->router) {
        reap_stats_free(&prev);
        st = reap_fail(REAP_EINVAL, "%s: statistics of another model or router mode: remove the work dir", ppath);
        goto out;
    }
    if (prev.layers_done > 0 && prev.layers_done < s->n_layers && (st = read_hidden(dir, prev.layers_done, h, n))) {
        reap_stats_free(&prev);
        goto out;
    }
    for (int l = 0; l < prev.layers_done; l++) {
        reap_layer_stats t = s->layers[l];
        s->layers[l] = prev.layers[l];
        prev.layers[l] = t;
    }
    *done = prev.layers_done;
    reap_stats_free(&prev);
    remove_hidden_except(dir, *done, s->n_layers);
out:
    free(text), free(spath), free(ppath);
    return st;
}

static int workdir_commit(const char *dir, reap_stats *s, int done, const float *h, size_t n) {
    int st = REAP_OK;
    if (done < s->n_layers && (st = write_hidden(dir, done, h, n))) return st;
    s->layers_done = done;
    char *ppath = reap_path_join(dir, "stats.partial.json");
    st = reap_stats_save(s, ppath);
    free(ppath);
    if (!st) remove_hidden_except(dir, done < s->n_layers ? done : -1, s->n_layers);
    return st;
}

// ---- the run

static cJSON *model_desc(const reap_ckpt *c, const reap_m2_config *cfg) { return reap_m2_config_json(cfg, c->dir); }

// ---- layer prefetch: layer l+1 is read from disk in a thread while layer l computes (and the first
// layer while the tokens are embedded), by several reads in flight (reap_layer_load_parts). For the
// GPU it is read straight into one of two page-locked buffers allocated once (arena, layer parity
// picks it), so the copies to the GPU run at full bus speed, and the thread starts the copy of each
// part to the GPUs itself (reap_gpu_stage_begin/part/end) as it lands, while layer l still
// computes. Two layers are in host memory at a time.
typedef struct {
    const reap_ckpt *c;
    const reap_m2_config *cfg;
    int layer, st;
    void *arena;         // page-locked buffer of arena_bytes to read into (GPU runs), or NULL: malloc
    size_t arena_bytes;
    reap_gpu *gpu;       // stage the layer on these GPUs as it is read (NULL: no)
    int staging;         // 0: no part read yet, 1: staging started, -1: the GPU declined
    reap_layer_weights w;
    double secs;         // seconds the read took
    char err[1024];
} layer_prefetch;

// Each part of the layer starts its copy to the GPUs as soon as it is read (the copy follows the
// disk instead of waiting for the whole layer).
static void prefetch_part(void *ctx, const reap_layer_weights *w, int e0, int e1) {
    layer_prefetch *f = ctx;
    if (f->staging == 0) f->staging = reap_gpu_stage_begin(f->gpu, w) ? 1 : -1;
    if (f->staging == 1) reap_gpu_stage_part(f->gpu, w, e0, e1);
}

static void *prefetch_main(void *arg) {
    layer_prefetch *f = arg;
    double t0 = reap_now();
    f->st = reap_layer_load_parts(f->c, f->cfg, f->layer, f->arena, f->arena_bytes, 0, f->gpu ? prefetch_part : NULL,
                                  f, &f->w);
    if (f->st) snprintf(f->err, sizeof f->err, "%s", reap_err_msg());
    else if (f->staging == 1) reap_gpu_stage_end(f->gpu, &f->w);
    f->secs = reap_now() - t0;
    return NULL;
}

static int prefetch_start(layer_prefetch *f, pthread_t *th, const reap_ckpt *c, const reap_m2_config *cfg, int layer,
                          void *const arena[2], size_t arena_bytes, reap_gpu *gpu) {
    *f = (layer_prefetch){.c = c, .cfg = cfg, .layer = layer, .arena = arena[layer & 1], .arena_bytes = arena_bytes,
                          .gpu = gpu};
    if (pthread_create(th, NULL, prefetch_main, f) != 0) {
        prefetch_main(f);  // no thread: read in place
        return 0;
    }
    return 1;
}

static void prefetch_release(layer_prefetch *f) {
    if (f->st) return;
    if (f->arena) reap_layer_forget(&f->w);
    else reap_layer_free(&f->w);
    f->st = REAP_EINVAL;  // released
}

static void fmt_secs(double s, char *buf, size_t cap) {
    if (s < 120) snprintf(buf, cap, "%.1f s", s);
    else if (s < 7200) snprintf(buf, cap, "%d min %02d s", (int)(s / 60), (int)s % 60);
    else snprintf(buf, cap, "%d h %02d min", (int)(s / 3600), (int)(s / 60) % 60);
}

int reap_score_rows(const char *model_dir, const reap_packed *pk, const reap_score_params *p, reap_stats *out,
                    reap_score_info *info) {
    memset(out, 0, sizeof *out);
    reap_score_info inf = {0};
    if (p->shard_count < 1 || p->shard_index < 0 || p->shard_index >= p->shard_count)
        return reap_fail(REAP_EUSAGE, "shard %d/%d: the index must be in [0, %d)", p->shard_index, p->shard_count,
                         p->shard_count);
    if (p->threads > 0) omp_set_num_threads(p->threads);
    reap_ckpt *c = NULL;
    int st = reap_ckpt_open(model_dir, &c);
    if (st) return st;
    reap_m2_config cfg;
    char *cpath = reap_path_join(model_dir, "config.json");
    // The whole layout is checked first, so a missing or misshapen tensor is not found hours in.
    if ((st = reap_m2_config_load(c, &cfg)) || (st = reap_forward_check_config(&cfg, cpath)) ||
        (st = reap_inspect_check(c, &cfg))) {
        free(cpath);
        reap_ckpt_close(c);
        return st;
    }
    free(cpath);

    reap_device dev = p->device;
    if (dev == REAP_DEVICE_AUTO) dev = reap_gpu_count() > 0 ? REAP_DEVICE_CUDA : REAP_DEVICE_CPU;
    inf.device = dev;

    // This shard's rows.
    int T = pk->seq_len, H = cfg.hidden, nr = 0;
    for (int r = p->shard_index; r < pk->rows; r += p->shard_count) nr++;
    inf.rows_total = pk->rows, inf.rows = nr, inf.seq_len = T;
    size_t ntok = (size_t)nr * T;
    int32_t *ids = reap_xmalloc((ntok ? ntok : 1) * sizeof *ids);
    uint8_t *mask = reap_xmalloc(ntok ? ntok : 1);
    for (int i = 0, r = p->shard_index; i < nr; i++, r += p->shard_count) {
        memcpy(ids + (size_t)i * T, pk->ids + (size_t)r * T, (size_t)T * sizeof *ids);
        memcpy(mask + (size_t)i * T, pk->mask + (size_t)r * T, (size_t)T);
    }
    inf.tokens = (int64_t)ntok;
    for (size_t i = 0; i < ntok; i++) inf.tokens_valid += mask[i] != 0;

    if ((st = reap_stats_init(out, cfg.n_layers, cfg.n_experts, cfg.top_k))) goto done;
    out->router = p->router;
    if ((st = reap_stats_fingerprint(c, &cfg, out->fingerprint))) goto done;
    out->model = model_desc(c, &cfg);
    {
        const char *const *specs = p->n_calib ? p->calib : default_calib;
        out->calib = reap_stats_calib_new(specs, p->n_calib ? p->n_calib : 1, pk->rows, T, p->seed, p->shard_index,
                                          p->shard_count);
        cJSON_AddNumberToObject(out->calib, "rows_scored", nr);
        cJSON_AddBoolToObject(out->calib, "pack", p->pack != 0);
    }

    size_t layer_bytes = 0;
    if ((st = reap_layer_bytes(c, &cfg, 0, &layer_bytes))) goto done;
    // Layer L+1 is read while layer L computes (prefetch thread), so two layers are held at once.
    const int layers_held = cfg.n_layers > 1 ? 2 : 1;
    inf.mem_layer = layers_held * layer_bytes;
    inf.mem_hidden = ntok * H * sizeof(float);
    inf.mem_workspace = dev == REAP_DEVICE_CPU && nr > 0 ? reap_forward_workspace_bytes(&cfg, nr, T, omp_get_max_threads()) : 0;
    inf.mem_estimate = inf.mem_layer + inf.mem_hidden + inf.mem_workspace + ntok * 5;
    {
        char a[32], b[32], w[32], t[32];
        reap_info("scoring %s: %d layers x %d experts (top-%d), shard %d/%d: %d of %d rows x %d tokens (%lld counted), "
                  "router %s, %s%s",
                  model_dir, cfg.n_layers, cfg.n_experts, cfg.top_k, p->shard_index, p->shard_count, nr, pk->rows, T,
                  (long long)inf.tokens_valid, reap_router_mode_name(p->router), reap_device_name(dev),
                  dev == REAP_DEVICE_CPU ? "" : " (host side)");
        reap_info("memory estimate %s = %s %s + hidden states %s + workspace %s%s",
                  reap_fmt_bytes((double)inf.mem_estimate, t, sizeof t),
                  layers_held == 2 ? "two layers (computing + prefetched)" : "one layer",
                  reap_fmt_bytes((double)inf.mem_layer, a, sizeof a),
                  reap_fmt_bytes((double)inf.mem_hidden, b, sizeof b), reap_fmt_bytes((double)inf.mem_workspace, w, sizeof w),
                  dev == REAP_DEVICE_CPU ? "" : " (GPU memory separate)");
    }
    if (nr == 0) {
        reap_warn("shard %d/%d has no rows (%d rows in all): writing empty statistics", p->shard_index, p->shard_count,
                  pk->rows);
        out->layers_done = cfg.n_layers;
        goto done;
    }

    float *h = reap_xmalloc(ntok * H * sizeof *h);
    reap_gpu *gpu = NULL;
    int done_layers = 0;
    layer_prefetch pf[2];  // layer prefetch (see prefetch_main)
    pthread_t pth;
    int pf_cur = 0, pf_thread = 0, hpinned = 0;
    const int pin = dev == REAP_DEVICE_CUDA;
    void *arena[2] = {NULL, NULL};  // page-locked layer buffers (GPU runs), allocated once
    size_t arena_bytes = 0;
    memset(pf, 0, sizeof pf);
    pf[0].st = pf[1].st = REAP_EINVAL;  // nothing held
    if (pin) {
        for (int l = 0; l < cfg.n_layers && !st; l++) {
            size_t b;
            if (!(st = reap_layer_arena_bytes(c, &cfg, l, &b)) && b > arena_bytes) arena_bytes = b;
        }
        if (st) goto run_done;
        arena[0] = reap_gpu_host_alloc(arena_bytes);
        arena[1] = arena[0] ? reap_gpu_host_alloc(arena_bytes) : NULL;
        if (!arena[1]) {
            char b1[32];
            reap_warn("cannot page-lock 2 x %s of host memory for the layer weights: copies to the GPU will be slower",
                      reap_fmt_bytes((double)arena_bytes, b1, sizeof b1));
            reap_gpu_host_free(arena[0]);
            arena[0] = NULL;
        }
    }
    if (p->work_dir) {
        char ids_hash[65];
        reap_sbuf b = {0};
        reap_sbuf_append(&b, ids, ntok * sizeof *ids);
        reap_sbuf_append(&b, mask, ntok);
        reap_sha256_buf(b.p, b.n, ids_hash);
        reap_sbuf_free(&b);
        char *key = run_key(out, ids_hash, nr);
        st = workdir_open(p->work_dir, out, key, h, ntok * H, &done_layers);
        free(key);
        if (st) goto run_done;
        if (done_layers > 0)
            reap_info("resuming from %s: %d of %d layers already done", p->work_dir, done_layers, cfg.n_layers);
    }
    inf.resumed_at = done_layers;
    // the first layer's read overlaps the embedding (and the GPU's start)
    if (done_layers < cfg.n_layers) pf_thread = prefetch_start(&pf[0], &pth, c, &cfg, done_layers, arena, arena_bytes, NULL);
    if (done_layers == 0 && (st = reap_embed_cpu(c, &cfg, ids, (int64_t)ntok, h))) goto run_done;
    if (pin) hpinned = reap_gpu_pin(h, ntok * H * sizeof *h) == 0;
    if (dev == REAP_DEVICE_CUDA && done_layers < cfg.n_layers) {
        int all[64], n_dev = p->n_gpus;
        const int *devs = p->gpus;
        if (!devs) {
            n_dev = reap_gpu_count();
            if (n_dev > 64) n_dev = 64;
            for (int i = 0; i < n_dev; i++) all[i] = i;
            devs = all;
        }
        reap_gpu_params gp = {.devices = devs, .n_devices = n_dev, .mem_cap = p->gpu_mem, .rows = nr, .T = T};
        if ((st = reap_gpu_open(&cfg, &gp, &gpu))) goto run_done;
    }

    double t0 = reap_now(), tload = 0, tfwd = 0;
    for (int l = done_layers; l < cfg.n_layers; l++) {
        if (p->cancel && *p->cancel) {
            st = reap_fail(REAP_EINTR, "interrupted after %d of %d layers%s", l, cfg.n_layers,
                           p->work_dir ? " (the work dir keeps them: rerun the same command to resume)" : "");
            break;
        }
        double ta = reap_now();
        layer_prefetch *cur = &pf[pf_cur];
        if (pf_thread) pthread_join(pth, NULL), pf_thread = 0;  // layer l is in memory (waits for the disk)
        if (cur->st) {
            st = reap_fail(cur->st, "%s", cur->err);
            break;
        }
        if (l + 1 < cfg.n_layers) pf_thread = prefetch_start(&pf[pf_cur ^ 1], &pth, c, &cfg, l + 1, arena, arena_bytes, gpu);
        double tb = reap_now();
        if (dev == REAP_DEVICE_CUDA) st = reap_gpu_layer_forward(gpu, &cur->w, h, mask, p->router, &out->layers[l]);
        else st = reap_layer_forward_cpu(&cfg, &cur->w, h, nr, T, mask, p->router, &out->layers[l]);
        prefetch_release(cur);
        pf_cur ^= 1;
        if (st) break;
        double tc = reap_now();
        tload += tb - ta, tfwd += tc - tb;
        inf.layers++;
        if (p->work_dir && (st = workdir_commit(p->work_dir, out, l + 1, h, ntok * H))) break;
        if (p->slow_ms > 0) usleep((useconds_t)p->slow_ms * 1000);
        double el = reap_now() - t0, eta = el / inf.layers * (cfg.n_layers - l - 1);
        char e1[32], e2[32];
        fmt_secs(el, e1, sizeof e1);
        fmt_secs(eta, e2, sizeof e2);
        const char *fmt = "layer %d/%d  load %.2f s  forward %.2f s  %.0f tokens/s  elapsed %s  ETA %s";
        double tps = (double)ntok / (tc - tb);
        if (reap_progress_enabled() && reap_log_level < 1)
            reap_progress(fmt, l + 1, cfg.n_layers, tb - ta, tc - tb, tps, e1, e2);
        else
            reap_info(fmt, l + 1, cfg.n_layers, tb - ta, tc - tb, tps, e1, e2);
    }
    reap_progress_done();
    inf.seconds = reap_now() - t0;
    if (!st) out->layers_done = cfg.n_layers;
    reap_verbose("layer loop: %.2f s reading weights, %.2f s forward", tload, tfwd);
run_done:
    if (pf_thread) pthread_join(pth, NULL);
    prefetch_release(&pf[0]);
    prefetch_release(&pf[1]);
    if (hpinned) reap_gpu_unpin(h);
    reap_gpu_close(gpu);
    reap_gpu_host_free(arena[0]);
    reap_gpu_host_free(arena[1]);
    free(h);
done:
    free(ids), free(mask);
    reap_ckpt_close(c);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) inf.peak_rss_kb = ru.ru_maxrss;
    if (info) *info = inf;
    if (st) reap_stats_free(out);
    return st;
}

int reap_score_run(const char *model_dir, const reap_score_params *p, reap_stats *out, reap_score_info *info) {
    memset(out, 0, sizeof *out);
    reap_packed pk;
    double t = reap_now();
    int st = reap_score_calibrate(model_dir, p, &pk);
    if (st) return st;
    t = reap_now() - t;
    st = reap_score_rows(model_dir, &pk, p, out, info);
    if (info) info->calib_seconds = t;
    reap_packed_free(&pk);
    return st;
}

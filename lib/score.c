// score.c: see score.h.
#include "score.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ckpt.h"
#include "common.h"
#include "forward.h"
#include "pipeline.h"
#include "inspect.h"
#include "m2config.h"
#include "progress.h"

static const char *const default_calib[] = {"builtin"};

reap_score_params reap_score_default_params(void) {
    return (reap_score_params){.calib = NULL, .n_calib = 0, .rows = 0, .seq_len = 2048, .seed = 42, .pack = 1,
                               .router = REAP_ROUTER_MODEL, .device = REAP_DEVICE_AUTO, .shard_index = 0,
                               .shard_count = 1};
}

// ---- resume directory

// hidden-D.bin: the hidden states after D layers, (rows, seq_len, hidden) f32, then the checksum
// line of common.h (reap_checksum64 over the floats, computed at memory speed while writing).
static int write_hidden(const char *dir, int done, const float *h, size_t n) {
    char name[64];
    snprintf(name, sizeof name, "hidden-%d.bin", done);
    char *path = reap_path_join(dir, name);
    int st = reap_write_file_sealed(path, h, n * sizeof(float));
    free(path);
    return st;
}

static int read_hidden(const char *dir, int done, float *h, size_t n) {
    char name[64];
    snprintf(name, sizeof name, "hidden-%d.bin", done);
    char *path = reap_path_join(dir, name);
    int st = REAP_OK;
    int fd = -1;
    if ((st = reap_open_regular(path, &fd)))
        st = reap_fail(REAP_EINVAL, "%s (work dir incomplete: remove it to start over)", reap_err_msg());
    off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
    const size_t bytes = n * sizeof(float);
    if (!st && (size_t)size != bytes + REAP_SEAL_BYTES)
        st = reap_fail(REAP_EINVAL, "%s: corrupt: %lld bytes, expected %zu (rows x seq_len x hidden f32) + %d (checksum)",
                       path, (long long)size, bytes, REAP_SEAL_BYTES);
    char line[REAP_SEAL_BYTES];
    int e = st ? 0 : reap_pread_all(fd, h, bytes, 0);
    if (!st && !e) e = reap_pread_all(fd, line, REAP_SEAL_BYTES, bytes);
    if (e) st = reap_fail(REAP_EIO, "%s: read failed: %s", path, reap_pread_strerror(e));
    // Never resume from damaged hidden states: they would change every later layer's statistics.
    if (!st) st = reap_seal_check(path, h, bytes, line);
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

// The identity of a run: everything the statistics depend on (fp8: FP8 expert GEMMs asked for on
// the GPU; absent otherwise, so that work dirs of earlier versions still resume).
static char *run_key(const reap_stats *s, const char *ids_hash, int shard_rows, int fp8) {
    cJSON *k = cJSON_CreateObject();
    if (fp8) cJSON_AddStringToObject(k, "expert_gemm", "fp8");
    cJSON_AddStringToObject(k, "fingerprint", s->fingerprint);
    cJSON_AddStringToObject(k, "router_sha256", s->router_digest);
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
    const int created = !reap_exists(dir);  // made here: removed again if it cannot be set up (full disk)
    int st = reap_mkdir_p(dir);
    if (st) return st;
    char *spath = reap_path_join(dir, "state.json"), *ppath = reap_path_join(dir, "stats.partial.json");
    char *text = NULL;
    size_t len;
    if (!reap_exists(spath)) {
        st = reap_write_file_sealed(spath, key, strlen(key));
        unlink(ppath);
        remove_hidden_except(dir, -1, s->n_layers);
        goto out;
    }
    if ((st = reap_read_file_sealed(spath, &text, &len))) goto out;
    if (strcmp(text, key) != 0) {
        cJSON *a = cJSON_Parse(text), *b = cJSON_Parse(key);
        if (!cJSON_IsObject(a)) {  // a damaged file, not another run's
            cJSON_Delete(a), cJSON_Delete(b);
            st = reap_fail(REAP_EINVAL, "%s: corrupt (not a JSON object: truncated or damaged); remove the work dir %s",
                           spath, dir);
            goto out;
        }
        const char *what = "its arguments differ";
        const char *fields[] = {"fingerprint", "router_sha256", "router", "calibration", "shard_rows", "ids_sha256",
                                "expert_gemm"};
        const char *names[] = {"the model (fingerprint) differs", "the model's router weights differ", "the router mode differs",
                               "the calibration arguments differ", "the shard differs",
                               "the calibration rows (token ids) differ", "--gpu-experts fp8 differs"};
        for (int i = 0; i < 7; i++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, fields[i]), *y = cJSON_GetObjectItemCaseSensitive(b, fields[i]);
            if ((x || y) && !(x && y && cJSON_Compare(x, y, 1))) {
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
    if ((st = reap_stats_load_sealed(ppath, &prev))) goto out;
    if (strcmp(prev.fingerprint, s->fingerprint) != 0 || strcmp(prev.router_digest, s->router_digest) != 0 || prev.n_layers != s->n_layers || prev.n_experts != s->n_experts ||
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
    // A checksum that fails: the files are damaged, never resumed from (nor silently recomputed).
    if (st == REAP_EINVAL && strstr(reap_err_msg(), ": corrupt: "))
        st = reap_fail(st, "%s; remove the work dir %s to start over", reap_err_msg(), dir);
    if (st && created) {
        unlink(spath);
        rmdir(dir);
    }
    free(text), free(spath), free(ppath);
    return st;
}

static int workdir_commit(const char *dir, reap_stats *s, int done, const float *h, size_t n) {
    int st = REAP_OK;
    if (done < s->n_layers && (st = write_hidden(dir, done, h, n))) return st;
    s->layers_done = done;
    char *ppath = reap_path_join(dir, "stats.partial.json");
    st = reap_stats_save_sealed(s, ppath);
    free(ppath);
    if (!st) remove_hidden_except(dir, done < s->n_layers ? done : -1, s->n_layers);
    return st;
}

// ---- the run

static cJSON *model_desc(const reap_ckpt *c, const reap_m2_config *cfg) { return reap_m2_config_json(cfg, c->dir); }

// ---- the run

typedef struct {
    const reap_score_params *p;
    reap_stats *out;
    float *h;
    size_t hn, ntok;  // floats of h, tokens
    reap_progress bar;
} score_run;

// After each layer: the resume files, the progress display (a line per layer under -v), then the
// caller's hook.
static int after_layer(void *ctx, int l, const reap_pipeline_layer *li) {
    score_run *r = ctx;
    const int L = r->out->n_layers;
    int st;
    if (r->p->work_dir && (st = workdir_commit(r->p->work_dir, r->out, l + 1, r->h, r->hn))) return st;
    double tps = li->forward_s > 0 ? (double)r->ntok / li->forward_s : 0;
    char detail[48];
    snprintf(detail, sizeof detail, "%.0f tokens/s", tps);
    reap_progress_add(&r->bar, 1, 0, detail);
    if (reap_log_level >= 1) {
        double now = reap_now(), eta = reap_progress_eta(&r->bar, now);
        char e1[32], e2[32] = "--";
        if (eta >= 0) reap_fmt_secs(eta, e2, sizeof e2);
        reap_verbose("layer %d/%d  load %.2f s  forward %.2f s  %.0f tokens/s  elapsed %s  ETA %s", l + 1, L, li->wait_s,
                     li->forward_s, tps, reap_fmt_secs(now - r->bar.t0, e1, sizeof e1), e2);
    }
    return r->p->after_layer ? r->p->after_layer(r->p->after_ctx, l + 1, L) : REAP_OK;
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
    if (dev == REAP_DEVICE_CUDA && reap_gpu_count() <= 0) return reap_ckpt_close(c), reap_fail(REAP_EDEVICE, "--device cuda: no CUDA device (a reap built without CUDA, or no GPU visible): use --device cpu");
    inf.device = dev;
    if (dev == REAP_DEVICE_CPU && (p->gpu_router != REAP_GPU_ROUTER_FP32 || p->gpu_experts != REAP_GPU_EXPERTS_BF16))
        reap_warn("--gpu-router %s / --gpu-experts %s apply to the GPU only: the CPU computes in f32",
                  reap_gpu_router_name(p->gpu_router), reap_gpu_experts_name(p->gpu_experts));

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
    float *h = NULL;

    if ((st = reap_stats_init(out, cfg.n_layers, cfg.n_experts, cfg.top_k))) goto done;
    out->router = p->router;
    if ((st = reap_stats_fingerprint(c, &cfg, out->fingerprint)) ||
        (st = reap_stats_router_digest(c, &cfg, out->router_digest)))
        goto done;
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
    // Layer L+1 is read while layer L computes, so two layers are held at once.
    const int layers_held = cfg.n_layers > 1 ? 2 : 1;
    inf.mem_layer = layers_held * layer_bytes;
    inf.mem_hidden = ntok * H * sizeof(float);
    inf.mem_workspace = dev == REAP_DEVICE_CPU && nr > 0 ? reap_forward_workspace_bytes(&cfg, nr, T, omp_get_max_threads()) : 0;
    inf.mem_runtime = REAP_GPU_RUNTIME_HOST_BYTES;
    const size_t read_buf = reap_layer_read_buffer_bytes(c, &cfg, 0, &p->read);
    inf.mem_estimate = inf.mem_layer + read_buf + inf.mem_hidden + inf.mem_workspace + ntok * 5 + inf.mem_runtime;
    {
        char a[32], b[32], w[32], t[32], g[64] = "";
        if (inf.mem_runtime) {
            char x[32];
            snprintf(g, sizeof g, " + CUDA libraries %s", reap_fmt_bytes((double)inf.mem_runtime, x, sizeof x));
        }
        reap_info("scoring %s: %d layers x %d experts (top-%d), shard %d/%d: %d of %d rows x %d tokens (%lld counted), "
                  "router %s, %s%s",
                  model_dir, cfg.n_layers, cfg.n_experts, cfg.top_k, p->shard_index, p->shard_count, nr, pk->rows, T,
                  (long long)inf.tokens_valid, reap_router_mode_name(p->router), reap_device_name(dev),
                  dev == REAP_DEVICE_CPU ? "" : " (host side)");
        char rb[32];
        reap_info("memory estimate %s = %s %s + read buffers %s + hidden states %s + workspace %s%s%s",
                  reap_fmt_bytes((double)inf.mem_estimate, t, sizeof t),
                  layers_held == 2 ? "two layers (computing + prefetched)" : "one layer",
                  reap_fmt_bytes((double)inf.mem_layer, a, sizeof a), reap_fmt_bytes((double)read_buf, rb, sizeof rb),
                  reap_fmt_bytes((double)inf.mem_hidden, b, sizeof b), reap_fmt_bytes((double)inf.mem_workspace, w, sizeof w),
                  g, dev == REAP_DEVICE_CPU ? "" : " (GPU memory separate)");
    }
    cJSON_AddStringToObject(out->calib, "device", reap_device_name(dev));
    if (nr == 0) {
        reap_warn("shard %d/%d has no rows (%d rows in all): writing empty statistics", p->shard_index, p->shard_count,
                  pk->rows);
        out->layers_done = cfg.n_layers;
        goto done;
    }

    h = reap_big_alloc(ntok * H * sizeof *h);
    int done_layers = 0;
    if (p->work_dir) {
        char ids_hash[65];
        reap_sbuf b = {0};
        reap_sbuf_append(&b, ids, ntok * sizeof *ids);
        reap_sbuf_append(&b, mask, ntok);
        reap_sha256_buf(b.p, b.n, ids_hash);
        reap_sbuf_free(&b);
        char *key = run_key(out, ids_hash, nr, dev != REAP_DEVICE_CPU && p->gpu_experts == REAP_GPU_EXPERTS_FP8);
        st = workdir_open(p->work_dir, out, key, h, ntok * H, &done_layers);
        free(key);
        if (st) goto done;
        if (done_layers > 0)
            reap_info("resuming from %s: %d of %d layers already done", p->work_dir, done_layers, cfg.n_layers);
    }
    inf.resumed_at = done_layers;
    score_run run = {p, out, h, ntok * H, ntok, {0}};
    reap_progress_begin(&run.bar, "score", "layer", cfg.n_layers, done_layers, 0);
    reap_pipeline_params pp = reap_pipeline_default_params();
    pp.device = dev, pp.router = p->router, pp.cancel = p->cancel, pp.read = p->read;
    pp.gpu.devices = p->gpus, pp.gpu.n_devices = p->n_gpus, pp.gpu.mem_cap = p->gpu_mem;
    pp.gpu.router = p->gpu_router, pp.gpu.chunk_tokens = p->gpu_chunk_tokens, pp.gpu.profile = p->profile;
    pp.gpu.hidden = p->gpu_hidden, pp.gpu.experts = p->gpu_experts;
    pp.host_every_layer = p->work_dir != NULL;  // the resume files save h after every layer
    pp.h_unused = p->work_dir == NULL;          // else the final hidden states are never read
    pp.on_layer = after_layer, pp.ctx = &run;
    st = reap_pipeline_run(c, &cfg, nr, T, h, mask, done_layers == 0 ? ids : NULL, done_layers, &pp, out->layers,
                           &inf.run);
    reap_progress_end(&run.bar);
    inf.layers = inf.run.layers;
    inf.seconds = inf.run.seconds - inf.run.first_ready_s;  // the layer loop, as before the pipeline existed
    if (inf.run.gpu_settings) cJSON_AddItemToObject(out->calib, "gpu", inf.run.gpu_settings);
    inf.run.gpu_settings = NULL;
    if (st == REAP_EINTR && p->work_dir)
        st = reap_fail(REAP_EINTR, "%s (the work dir keeps the finished layers: rerun the same command to resume)",
                       reap_err_msg());
    if (!st) out->layers_done = cfg.n_layers;
    reap_verbose("layer loop: %.2f s waiting for weights, %.2f s forward", inf.run.wait_s, inf.run.forward_s);
done:
    if (h) reap_big_free(h, ntok * H * sizeof *h);
    free(ids), free(mask);
    reap_ckpt_close(c);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) inf.peak_rss_kb = ru.ru_maxrss;
    if (info) *info = inf;
    if (st) reap_stats_free(out);
    return st;
}

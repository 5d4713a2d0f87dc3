// gpu_weights.cu: one layer's weights onto the GPU (kernels/gpu.h, gpu_internal.cuh). The loader
// thread stages a layer into the raw buffer part by part as it is read from disk while the previous
// layer computes (the bookkeeping is lib/stage.h, CPU-tested); the forward then takes it (or copies
// it now if it was not staged), turns it into bf16 and frees raw for the next layer.
#include <string.h>

#include "gpu_internal.cuh"

extern "C" {
#include "dtype.h"
}

// Copies part of w into raw on stream st (asynchronous: from page-locked memory it overlaps
// whatever else runs): with e0 == e1 the non-expert tensors, else experts [e0, e1) of w1, w3, w2 and
// their scales. raw must be laid out (d->rl) for w->expert_dtype.
static cudaError_t copy_part(const reap_m2_config *c, gdev *d, const reap_layer_weights *w, cudaStream_t st, int e0,
                             int e1) {
    const reap_gpu_raw_layout *v = &d->rl;
    size_t H = c->hidden, I = c->inter, E = c->n_experts, O = (size_t)c->n_heads * c->head_dim;
    size_t KV = (size_t)c->n_kv_heads * c->head_dim;
    size_t m = I * H * reap_dtype_size((reap_dtype)w->expert_dtype);  // bytes of one expert's matrix
    size_t a = (size_t)e0, n = (size_t)(e1 - e0), b13 = 4 * v->n13, b2 = 4 * v->n2;
    uint8_t *r = d->raw;
    struct {
        size_t dst;
        const void *src;
        size_t n;
    } cp[] = {{v->w1 + a * m, w->w1 + a * m, n * m},
              {v->w3 + a * m, w->w3 + a * m, n * m},
              {v->w2 + a * m, w->w2 + a * m, n * m},
              {v->s1 + a * b13, w->s1 ? w->s1 + a * v->n13 : NULL, n * b13},
              {v->s3 + a * b13, w->s3 ? w->s3 + a * v->n13 : NULL, n * b13},
              {v->s2 + a * b2, w->s2 ? w->s2 + a * v->n2 : NULL, n * b2},
              {v->wq, w->wq, O * H * 4},
              {v->wk, w->wk, KV * H * 4},
              {v->wv, w->wv, KV * H * 4},
              {v->wo, w->wo, H * O * 4},
              {v->ln1, w->ln1, H * 4},
              {v->ln2, w->ln2, H * 4},
              {v->qn, w->q_norm, O * 4},
              {v->kn, w->k_norm, KV * 4},
              {v->gate, w->gate, E * H * 4},
              {v->bias, w->bias, E * 4}};
    const size_t first = e0 == e1 ? 6 : 0, last = e0 == e1 ? sizeof cp / sizeof cp[0] : 6;
    for (size_t i = first; i < last; i++) {
        if (!cp[i].src || !cp[i].n) continue;  // no scales (not FP8), no QK norm, no routing bias
        cudaError_t e = cudaMemcpyAsync(r + cp[i].dst, cp[i].src, cp[i].n, cudaMemcpyHostToDevice, st);
        if (e != cudaSuccess) return e;
    }
    return cudaSuccess;
}

// Staging, under g->mu: lib/stage.h decides when raw may take a part; here the copies go onto
// s_w and the completion event is recorded. A copy that fails drops the stage (the forward then
// copies the layer itself).
static void stage_copy(reap_gpu *g, gdev *d, int e0, int e1) {
    if (cudaSetDevice(d->ordinal) != cudaSuccess || copy_part(&g->cfg, d, &d->stage_w, d->s_w, e0, e1) != cudaSuccess) {
        cudaGetLastError();
        reap_stage_drop(&d->st);
    }
}
static void stage_record(gdev *d) {
    if (cudaSetDevice(d->ordinal) != cudaSuccess || cudaEventRecord(d->staged_ev, d->s_w) != cudaSuccess) {
        cudaGetLastError();
        reap_stage_drop(&d->st);
        return;
    }
    reap_stage_complete(&d->st);
}
// Layer `layer` has been dequantised: raw is free for layer + 1, whose queued parts copy now.
static void stage_flush(reap_gpu *g, gdev *d, int layer) {
    pthread_mutex_lock(&g->mu);
    const int *parts;
    int complete, n = reap_stage_flush(&d->st, layer, &parts, &complete);
    for (int i = 0; i < n && d->st.staging; i++) stage_copy(g, d, parts[2 * i], parts[2 * i + 1]);
    if (complete && d->st.staging) stage_record(d);
    pthread_mutex_unlock(&g->mu);
}

extern "C" int reap_gpu_stage_begin(reap_gpu *g, const reap_layer_weights *w) {
    if (!g || !w || !w->w1 || w->layer < 0) return 0;
    int fits = 1;
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->n; i++) fits &= g->d[i].raw_dt == w->expert_dtype;
    for (int i = 0; i < g->n; i++) {
        gdev *d = &g->d[i];
        if (reap_stage_begin(&d->st, w->layer, w->w1, fits) != REAP_STAGE_NO) d->stage_w = *w;
    }
    pthread_mutex_unlock(&g->mu);
    return fits;
}

extern "C" void reap_gpu_stage_part(reap_gpu *g, const reap_layer_weights *w, int e0, int e1) {
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->n; i++)
        if (reap_stage_part(&g->d[i].st, w->layer, e0, e1)) stage_copy(g, &g->d[i], e0, e1);
    pthread_mutex_unlock(&g->mu);
}

extern "C" int reap_gpu_stage_end(reap_gpu *g, const reap_layer_weights *w) {
    int ok = 1;
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->n; i++) {
        gdev *d = &g->d[i];
        int e = reap_stage_end(&d->st, w->layer);
        if (e == REAP_STAGE_END_RECORD) stage_record(d);
        ok &= e == REAP_STAGE_END_LATER || (e == REAP_STAGE_END_RECORD && d->st.staged_layer == w->layer);
    }
    pthread_mutex_unlock(&g->mu);
    return ok;
}

// Layer w into raw (staged, or copied now), then to bf16 and keep on the compute stream; raw is
// then released to the next layer's stage.
int reap_gpu_upload_weights(reap_gpu *g, gdev *d, const reap_layer_weights *w) {
    const reap_m2_config *c = &g->cfg;
    size_t H = c->hidden, I = c->inter, E = c->n_experts, O = (size_t)c->n_heads * c->head_dim;
    size_t KV = (size_t)c->n_kv_heads * c->head_dim;
    int dt = w->expert_dtype;
    if (dt != REAP_DT_F8_E4M3 && dt != REAP_DT_BF16 && dt != REAP_DT_F32)
        return reap_fail(REAP_EINVAL, "layer %d: expert dtype %s is not supported on the GPU", w->layer,
                         reap_dtype_name((reap_dtype)dt));
    double t0 = reap_now();
    pthread_mutex_lock(&g->mu);
    int staged = reap_stage_take(&d->st, w->layer, w->w1);  // raw is this layer's until stage_flush
    pthread_mutex_unlock(&g->mu);
    if (staged) {
        CK(cudaEventSynchronize(d->staged_ev));  // copied while the previous layer computed
        d->t[PH_WAIT] += reap_now() - t0;
        t0 = reap_now();
    } else {
        CK(cudaStreamSynchronize(d->s_w));  // a stale or broken-off stage may still be copying
        if (d->raw_dt != dt) {
            reap_gpu_raw_layout rl;
            reap_gpu_raw_layout_make(c, dt, &rl);
            cudaFree(d->raw), d->allocated -= d->rl.bytes;
            d->raw = NULL;
            DMALLOC(d->raw, rl.bytes);
            d->rl = rl, d->raw_dt = dt;
        }
        CK(copy_part(c, d, w, d->s_copy, 0, 0));
        CK(copy_part(c, d, w, d->s_copy, 0, c->n_experts));
        CK(cudaStreamSynchronize(d->s_copy));
    }
    d->t[PH_H2D] += reap_now() - t0;
    const reap_gpu_raw_layout *v = &d->rl;
    uint8_t *r = d->raw;
    // the small f32 tensors stay with the layer in keep (raw takes the next layer meanwhile)
    CK(cudaMemcpyAsync(d->keep, r + v->ln1, v->keep_bytes, cudaMemcpyDeviceToDevice, d->s));
    d->ln1 = d->keep, d->ln2 = d->ln1 + H, d->qn = d->ln2 + H, d->kn = d->qn + O, d->gate = d->kn + KV;
    d->bias = d->gate + E * H;
    const float *s1 = v->n13 ? (const float *)(r + v->s1) : NULL, *s3 = v->n13 ? (const float *)(r + v->s3) : NULL;
    const float *s2 = v->n2 ? (const float *)(r + v->s2) : NULL;
    size_t m = I * H * reap_dtype_size((reap_dtype)dt);

    // to bf16 on the compute stream
    CK(cudaEventRecord(d->ev0, d->s));
    reap_k_f32_to_bf16((const float *)(r + v->wq), (int64_t)(O + 2 * KV) * H, d->wqkv, d->s);  // q|k|v = fused Wqkv
    reap_k_f32_to_bf16((const float *)(r + v->wo), (int64_t)H * O, d->wo, d->s);
    if (g->p.router == REAP_GPU_ROUTER_TF32X3) reap_k_router_split_w(d->gate, (int)E, (int)H, d->gate_cat, d->gate_lo, d->s);
    if (g->fp8) {  // the codes as they are (w1 | w3 rows of each expert side by side) and the scales packed
        if (dt != REAP_DT_F8_E4M3)
            return reap_fail(REAP_EINVAL, "layer %d: expert dtype %s: --gpu-experts fp8 needs FP8 experts in every layer",
                             w->layer, reap_dtype_name((reap_dtype)dt));
        CK(cudaMemcpy2DAsync(d->w13q, 2 * m, r + v->w1, m, m, E, cudaMemcpyDeviceToDevice, d->s));
        CK(cudaMemcpy2DAsync(d->w13q + m, 2 * m, r + v->w3, m, m, E, cudaMemcpyDeviceToDevice, d->s));
        CK(cudaMemcpyAsync(d->w2q, r + v->w2, E * m, cudaMemcpyDeviceToDevice, d->s));
        const int OI = (int)I / 128, OH = (int)H / 128;
        reap_k_fp8_pack_scales(s1, s3, (int)E, OI, OI, OH, reap_k_fp8_ld((int)H), d->w13s, d->s);
        reap_k_fp8_pack_scales(s2, NULL, (int)E, OH, 0, OI, reap_k_fp8_ld((int)I), d->w2s, d->s);
    }
    for (size_t e = 0; e < E && !g->fp8; e++) {
        reap_k_dequant_bf16(dt, r + v->w1 + e * m, s1 ? s1 + e * v->n13 : NULL, I, H, c->block_r, c->block_c,
                            d->w13 + e * 2 * I * H, d->s);
        reap_k_dequant_bf16(dt, r + v->w3 + e * m, s3 ? s3 + e * v->n13 : NULL, I, H, c->block_r, c->block_c,
                            d->w13 + e * 2 * I * H + I * H, d->s);
        reap_k_dequant_bf16(dt, r + v->w2 + e * m, s2 ? s2 + e * v->n2 : NULL, H, I, c->block_r, c->block_c,
                            d->w2 + e * H * I, d->s);
    }
    CK(cudaGetLastError());
    CK(cudaEventRecord(d->ev1, d->s));
    CK(cudaEventSynchronize(d->ev1));
    stage_flush(g, d, w->layer);  // raw is free: the next layer's copy may start
    float ms;
    CK(cudaEventElapsedTime(&ms, d->ev0, d->ev1));
    d->t[PH_DEQUANT] += ms / 1e3;
    return REAP_OK;
}


// gpu_layout.c: see gpu_layout.h.
#include "gpu_layout.h"

#include <string.h>

#include "common.h"
#include "dtype.h"
#include "eval_metrics.h"

static const char *const router_names[REAP_GPU_ROUTER_COUNT] = {"fp32", "tf32x3"};

const char *reap_gpu_router_name(reap_gpu_router r) {
    return (unsigned)r < REAP_GPU_ROUTER_COUNT ? router_names[r] : "?";
}

// The index of s in names[0..n), or -1.
static int name_index(const char *const *names, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

int reap_gpu_router_parse(const char *s, reap_gpu_router *out) {
    int i = name_index(router_names, REAP_GPU_ROUTER_COUNT, s);
    if (i >= 0) {
        *out = (reap_gpu_router)i;
        return REAP_OK;
    }
    return reap_fail(REAP_EUSAGE, "GPU router precision '%s': expected fp32 or tf32x3", s);
}

static const char *const experts_names[REAP_GPU_EXPERTS_COUNT] = {"bf16", "fp8"};

const char *reap_gpu_experts_name(reap_gpu_experts x) {
    return (unsigned)x < REAP_GPU_EXPERTS_COUNT ? experts_names[x] : "?";
}

int reap_gpu_experts_parse(const char *s, reap_gpu_experts *out) {
    int i = name_index(experts_names, REAP_GPU_EXPERTS_COUNT, s);
    if (i >= 0) {
        *out = (reap_gpu_experts)i;
        return REAP_OK;
    }
    return reap_fail(REAP_EUSAGE, "GPU expert GEMM precision '%s': expected bf16 or fp8", s);
}

const char *reap_gpu_experts_fp8_why(const reap_m2_config *c, int expert_dtype) {
    if (expert_dtype != REAP_DT_F8_E4M3) return "the experts are not FP8 (E4M3)";
    if (c->block_r != 128 || c->block_c != 128) return "the experts' FP8 scales are not in 128x128 blocks";
    if (c->hidden % 128 || c->inter % 128) return "the hidden or intermediate size is not a multiple of 128";
    return NULL;
}

static const char *const hidden_names[REAP_GPU_HIDDEN_COUNT] = {"auto", "host", "gpu"};

const char *reap_gpu_hidden_name(reap_gpu_hidden h) {
    return (unsigned)h < REAP_GPU_HIDDEN_COUNT ? hidden_names[h] : "?";
}

int reap_gpu_hidden_parse(const char *s, reap_gpu_hidden *out) {
    int i = name_index(hidden_names, REAP_GPU_HIDDEN_COUNT, s);
    if (i >= 0) {
        *out = (reap_gpu_hidden)i;
        return REAP_OK;
    }
    return reap_fail(REAP_EUSAGE, "hidden states '%s': expected auto, host or gpu", s);
}

static size_t align256(size_t n) { return (n + 255) & ~(size_t)255; }
static size_t max2(size_t a, size_t b) { return a > b ? a : b; }
static size_t scale_elems(size_t r, size_t c, int br, int bc) {
    return br > 0 && bc > 0 ? ((r + br - 1) / br) * ((c + bc - 1) / bc) : 0;
}

void reap_gpu_raw_layout_make(const reap_m2_config *c, int expert_dtype, reap_gpu_raw_layout *out) {
    const size_t H = c->hidden, I = c->inter, E = c->n_experts, O = (size_t)c->n_heads * c->head_dim;
    const size_t KV = (size_t)c->n_kv_heads * c->head_dim, es = reap_dtype_size((reap_dtype)expert_dtype);
    reap_gpu_raw_layout v;
    memset(&v, 0, sizeof v);
    v.w1 = 0, v.w3 = E * I * H * es, v.w2 = 2 * E * I * H * es;
    size_t at = align256(3 * E * I * H * es);
    if (expert_dtype == REAP_DT_F8_E4M3) {
        v.n13 = scale_elems(I, H, c->block_r, c->block_c), v.n2 = scale_elems(H, I, c->block_r, c->block_c);
        v.s1 = at, v.s3 = v.s1 + 4 * E * v.n13, v.s2 = v.s3 + 4 * E * v.n13;
        at = v.s2 + 4 * E * v.n2;
    }
    v.wq = align256(at);
    v.wk = v.wq + 4 * O * H, v.wv = v.wk + 4 * KV * H, v.wo = v.wv + 4 * KV * H;
    v.ln1 = v.wo + 4 * H * O, v.ln2 = v.ln1 + 4 * H, v.qn = v.ln2 + 4 * H, v.kn = v.qn + 4 * O, v.gate = v.kn + 4 * KV;
    v.bias = v.gate + 4 * E * H;
    v.bytes = v.bias + 4 * E;
    v.keep_bytes = v.bytes - v.ln1;
    *out = v;
}

// Bytes per token of the attention-phase scratch: the q|k|v GEMM output (f32), the attention
// output (bf16), the router input (f32, or [hi | lo] for the 3xTF32 router) with the logits.
static size_t big_per_token(const reap_m2_config *c, reap_gpu_router router) {
    size_t H = c->hidden, E = c->n_experts, O = (size_t)c->n_heads * c->head_dim;
    size_t Q = (size_t)(c->n_heads + 2 * c->n_kv_heads) * c->head_dim;
    size_t big = max2(4 * Q, 2 * O);
    big = max2(big, 4 * H + 4 * E);
    if (router == REAP_GPU_ROUTER_TF32X3) big = max2(big, 8 * H);
    return big;
}

void reap_gpu_layout_make(const reap_m2_config *c, int chunk_rows, int T, int expert_dtype, reap_gpu_router router,
                          reap_gpu_layout *out) {
    const size_t H = c->hidden, I = c->inter, E = c->n_experts, O = (size_t)c->n_heads * c->head_dim;
    const size_t Q = (size_t)(c->n_heads + 2 * c->n_kv_heads) * c->head_dim;
    reap_gpu_layout L;
    memset(&L, 0, sizeof L);
    L.chunk_rows = chunk_rows, L.T = T;
    L.tokens = (size_t)chunk_rows * T;
    // Slots for the model's top_k per token; a statistics mode with 2 top_k slots runs half as many
    // rows per piece (kernels/gpu.cu), and at least one row fits in any mode.
    L.slots = max2(L.tokens * c->top_k, (size_t)T * 2 * c->top_k);
    L.pair_rows = L.slots + L.slots / 8 + 64 * E;
    const size_t N = L.tokens, P = L.slots, PP = L.pair_rows;
    L.hbuf = N * H * 4, L.mask = N, L.xb = N * H * 2, L.logits = N * E * 4;
    L.slot_e = P * 4, L.slot_w = P * 4, L.slot_g = P * 8, L.slot_pos = P * 4;
    L.pair_tok = PP * 4, L.pair_slot = PP * 4;
    L.big = N * big_per_token(c, router);
    L.qkv_off = align256(L.big);
    L.gy = max2(PP * max2(2 * I, H) * 4, L.qkv_off + N * Q * 2);
    L.xe = PP * max2(H, I) * 2;
    L.cnt = E * 4, L.off = (E + 2) * 4, L.cursor = E * 4, L.stat = E * 8;
    reap_gpu_raw_layout rl;
    reap_gpu_raw_layout_make(c, expert_dtype, &rl);
    L.raw = rl.bytes, L.keep = rl.keep_bytes;
    L.wqkv = Q * H * 2, L.wo = H * O * 2, L.w13 = E * 2 * I * H * 2, L.w2 = E * H * I * 2;
    if (router == REAP_GPU_ROUTER_TF32X3) L.gate_cat = E * 2 * H * 4, L.gate_lo = E * H * 4;
    L.rope = (size_t)T * (c->rotary_dim / 2) * 8;
    L.host_off = (2 * E + 2) * 4;
    L.total = 2 * L.hbuf + 2 * L.mask + L.xb + L.logits + L.slot_e + L.slot_w + L.slot_g + L.slot_pos + L.pair_tok +
              L.pair_slot + L.gy + L.xe + L.cnt + L.off + L.cursor + 5 * L.stat + 8 + L.raw + L.keep + L.wqkv + L.wo +
              L.w13 + L.w2 + L.gate_cat + L.gate_lo + L.rope;
    *out = L;
}

int reap_gpu_want_rows(int chunk_tokens, int T) {
    long t = chunk_tokens > 0 ? chunk_tokens : REAP_GPU_CHUNK_TOKENS;
    return T > 0 ? (int)((t + T - 1) / T) : 1;
}

int reap_gpu_layout_fit(const reap_m2_config *c, int rows, int T, int expert_dtype, reap_gpu_router router,
                        size_t cap, int want_rows) {
    int hi = want_rows < rows ? want_rows : rows, lo = 0;  // lo fits (0: nothing yet), hi is the most asked for
    if (hi < 1) hi = 1;
    while (lo < hi) {  // the layout grows with the rows: the largest that fits
        int mid = lo + (hi - lo + 1) / 2;
        reap_gpu_layout L;
        reap_gpu_layout_make(c, mid, T, expert_dtype, router, &L);
        if (L.total + REAP_GPU_OVERHEAD_BYTES <= cap) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

size_t reap_gpu_resident_bytes(const reap_m2_config *c, int rows, int T, int n_streams) {
    const size_t tokens = (size_t)rows * (size_t)T;
    return (size_t)n_streams * tokens * (size_t)c->hidden * 4 + tokens;
}

size_t reap_gpu_resident_need(const reap_m2_config *c, int chunk_rows, int rows, int T, int n_streams,
                              int expert_dtype, reap_gpu_router router) {
    reap_gpu_layout L;
    reap_gpu_layout_make(c, chunk_rows, T, expert_dtype, router, &L);
    return L.total - 2 * L.hbuf - 2 * L.mask + reap_gpu_resident_bytes(c, rows, T, n_streams) +
           REAP_GPU_OVERHEAD_BYTES;
}

void reap_gpu_hidden_plan_make(const reap_m2_config *c, int chunk_rows, int T, int expert_dtype, reap_gpu_router router,
                               int n_streams, reap_gpu_hidden mode, int n_dev, const int *dev_rows,
                               const size_t *dev_cap, reap_gpu_hidden_plan *out) {
    memset(out, 0, sizeof *out);
    int fits = n_dev > 0;
    double least = 0;  // cap - need of out->device (signed: negative when it does not fit)
    for (int i = 0; i < n_dev; i++) {
        size_t need = reap_gpu_resident_need(c, chunk_rows, dev_rows[i], T, n_streams, expert_dtype, router);
        double room = (double)dev_cap[i] - (double)need;
        if (need > dev_cap[i]) fits = 0;
        if (i == 0 || room < least) {
            least = room;
            out->device = i, out->need = need, out->cap = dev_cap[i];
            out->bytes = reap_gpu_resident_bytes(c, dev_rows[i], T, n_streams);
        }
    }
    out->unaligned = ((size_t)T * (size_t)c->hidden * 4) % 256 != 0;
    out->on_gpu = mode != REAP_GPU_HIDDEN_HOST && fits && !out->unaligned;
}

size_t reap_gpu_head_bytes(int V, int H, int n_models, int P) {
    const size_t rows = (size_t)n_models * P;
    return (size_t)V * H * 4 + rows * H * 4 + rows * REAP_GPU_HEAD_SLAB * 4 + (size_t)P * 4 +
           (size_t)(n_models - 1) * P * sizeof(reap_eval_state);
}

int reap_gpu_head_positions(int V, int H, int n_models, int max_pos, size_t cap) {
    int P = REAP_GPU_HEAD_ROWS / n_models;
    if (P < 1) P = 1;
    if (P > max_pos) P = max_pos;
    while (P > 0 && reap_gpu_head_bytes(V, H, n_models, P) + REAP_GPU_OVERHEAD_BYTES > cap) P /= 2;
    return P;
}

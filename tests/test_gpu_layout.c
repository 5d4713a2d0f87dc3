// test_gpu_layout.c: the GPU buffer sizes (lib/gpu_layout.c), which the CUDA path's memory fit,
// allocation and warm-up all read: the raw weight layout holds every tensor of a layer without
// overlap, the total is the sum of the buffers, the fit picks the most rows that fit, and a
// true-width MiniMax-M2 layer with 64k-token chunks fits the 24 GiB target of issue 6.
#include <string.h>

#include "common.h"
#include "dtype.h"
#include "gpu_layout.h"
#include "test.h"

static reap_m2_config m2(void) {  // MiniMax-M2's shapes (spec minimax-m2.md)
    reap_m2_config c;
    memset(&c, 0, sizeof c);
    c.hidden = 3072, c.inter = 1536, c.n_layers = 62, c.n_heads = 48, c.n_kv_heads = 8, c.head_dim = 128;
    c.rotary_dim = 64, c.vocab = 200064, c.n_experts = 256, c.top_k = 8, c.fp8 = 1, c.block_r = 128, c.block_c = 128;
    return c;
}

static reap_m2_config odd(void) {  // sizes that divide nothing: partial scale blocks, E not a power of two
    reap_m2_config c = m2();
    c.hidden = 200, c.inter = 72, c.n_heads = 6, c.n_kv_heads = 2, c.head_dim = 24, c.rotary_dim = 12;
    c.n_experts = 13, c.top_k = 3, c.block_r = 64, c.block_c = 48;
    return c;
}

// Every tensor's [offset, offset + bytes) inside the buffer, in order, without overlap.
static void check_raw(const reap_m2_config *c, int dt) {
    reap_gpu_raw_layout v;
    reap_gpu_raw_layout_make(c, dt, &v);
    const size_t H = c->hidden, I = c->inter, E = c->n_experts, O = (size_t)c->n_heads * c->head_dim;
    const size_t KV = (size_t)c->n_kv_heads * c->head_dim, es = reap_dtype_size((reap_dtype)dt);
    const int fp8 = dt == REAP_DT_F8_E4M3;
    const size_t n13 = ((I + c->block_r - 1) / c->block_r) * ((H + c->block_c - 1) / c->block_c);
    const size_t n2 = ((H + c->block_r - 1) / c->block_r) * ((I + c->block_c - 1) / c->block_c);
    struct {
        size_t off, bytes;
    } t[] = {{v.w1, E * I * H * es}, {v.w3, E * I * H * es}, {v.w2, E * H * I * es},
             {v.s1, fp8 ? 4 * E * n13 : 0}, {v.s3, fp8 ? 4 * E * n13 : 0}, {v.s2, fp8 ? 4 * E * n2 : 0},
             {v.wq, 4 * O * H}, {v.wk, 4 * KV * H}, {v.wv, 4 * KV * H}, {v.wo, 4 * H * O}, {v.ln1, 4 * H},
             {v.ln2, 4 * H}, {v.qn, 4 * O}, {v.kn, 4 * KV}, {v.gate, 4 * E * H}, {v.bias, 4 * E}};
    const int n = (int)(sizeof t / sizeof t[0]);
    size_t end = 0;
    for (int i = 0; i < n; i++) {
        if (!t[i].bytes) continue;
        CHECK_MSG(t[i].off >= end, "dtype %d tensor %d at %zu overlaps the previous one (ends %zu)", dt, i, t[i].off, end);
        CHECK_MSG(t[i].off % 4 == 0, "dtype %d tensor %d misaligned", dt, i);
        end = t[i].off + t[i].bytes;
    }
    CHECK(end == v.bytes);
    CHECK(v.wq % 256 == 0);  // the f32 block starts aligned
    CHECK(v.ln1 + v.keep_bytes == v.bytes);
    CHECK(v.keep_bytes == 4 * (2 * H + O + KV + E * H + E));
    if (fp8) CHECK(v.n13 == n13 && v.n2 == n2);
}

static void test_raw_layout_holds_every_tensor_without_overlap(void) {
    reap_m2_config a = m2(), b = odd();
    int dts[] = {REAP_DT_F8_E4M3, REAP_DT_BF16, REAP_DT_F32};
    for (int i = 0; i < 3; i++) {
        check_raw(&a, dts[i]);
        check_raw(&b, dts[i]);
    }
}

static void test_layout_total_is_the_sum_and_grows_with_rows(void) {
    reap_m2_config c = odd();
    size_t prev = 0;
    for (int r = 1; r <= 40; r++) {
        reap_gpu_layout L;
        reap_gpu_layout_make(&c, r, 100, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, &L);
        CHECK(L.tokens == (size_t)r * 100);
        CHECK(L.slots >= L.tokens * c.top_k && L.slots >= (size_t)100 * 2 * c.top_k);
        CHECK(L.pair_rows >= L.slots + 64 * (size_t)c.n_experts);
        // the attention scratch and q|k|v fit inside gy; the SiLU output (PP, I) bf16 inside xe
        size_t Q = (size_t)(c.n_heads + 2 * c.n_kv_heads) * c.head_dim;
        CHECK(L.qkv_off >= L.big && L.qkv_off + L.tokens * Q * 2 <= L.gy);
        CHECK(L.xe >= L.pair_rows * c.inter * 2);
        size_t sum = 2 * L.hbuf + 2 * L.mask + L.xb + L.logits + L.slot_e + L.slot_w + L.slot_g + L.slot_pos +
                     L.pair_tok + L.pair_slot + L.gy + L.xe + L.cnt + L.off + L.cursor + 5 * L.stat + 8 + L.raw +
                     L.keep + L.wqkv + L.wo + L.w13 + L.w2 + L.gate_cat + L.gate_lo + L.rope;
        CHECK(L.total == sum);
        CHECK_MSG(L.total > prev, "rows %d: total does not grow", r);
        prev = L.total;
    }
    reap_gpu_layout a, b;
    reap_gpu_layout_make(&c, 4, 100, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, &a);
    reap_gpu_layout_make(&c, 4, 100, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_TF32X3, &b);
    CHECK(a.gate_cat == 0 && a.gate_lo == 0);  // the split router weights only for the 3xTF32 router
    CHECK(b.gate_cat == 2 * (size_t)c.n_experts * c.hidden * 4 && b.gate_lo == (size_t)c.n_experts * c.hidden * 4);
}

static void test_fit_picks_the_most_rows_that_fit(void) {
    reap_m2_config c = odd();
    for (int r = 1; r <= 30; r++) {
        reap_gpu_layout L;
        reap_gpu_layout_make(&c, r, 64, REAP_DT_BF16, REAP_GPU_ROUTER_FP32, &L);
        size_t cap = L.total + REAP_GPU_OVERHEAD_BYTES;
        CHECK_EQ_INT(reap_gpu_layout_fit(&c, 1000, 64, REAP_DT_BF16, REAP_GPU_ROUTER_FP32, cap, 1000), r);
        CHECK_EQ_INT(reap_gpu_layout_fit(&c, 1000, 64, REAP_DT_BF16, REAP_GPU_ROUTER_FP32, cap - 1, 1000), r - 1);
        CHECK_EQ_INT(reap_gpu_layout_fit(&c, 1000, 64, REAP_DT_BF16, REAP_GPU_ROUTER_FP32, cap, r - 1 > 0 ? r - 1 : 1),
                     r - 1 > 0 ? r - 1 : 1);  // never more than asked
        CHECK_EQ_INT(reap_gpu_layout_fit(&c, r, 64, REAP_DT_BF16, REAP_GPU_ROUTER_FP32, (size_t)1 << 40, 1000), r);
    }
    CHECK_EQ_INT(reap_gpu_layout_fit(&c, 10, 64, REAP_DT_BF16, REAP_GPU_ROUTER_FP32, 1000, 10), 0);
}

static void test_minimax_m2_64k_chunks_fit_24_gib(void) {
    reap_m2_config c = m2();
    CHECK_EQ_INT(reap_gpu_want_rows(0, 2048), 32);
    CHECK_EQ_INT(reap_gpu_want_rows(1000, 2048), 1);
    CHECK_EQ_INT(reap_gpu_want_rows(0, 3000), 22);
    reap_gpu_layout L;
    reap_gpu_layout_make(&c, 32, 2048, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, &L);
    double gib = (L.total + REAP_GPU_OVERHEAD_BYTES) / 1073741824.0;
    CHECK_MSG(gib < 24.0 && gib > 18.0, "MiniMax-M2 with 64k-token chunks: %.2f GiB", gib);
    CHECK_EQ_INT(reap_gpu_layout_fit(&c, 1024, 2048, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, (size_t)24 << 30, 32), 32);
}

static void test_router_names_round_trip(void) {
    for (int i = 0; i < REAP_GPU_ROUTER_COUNT; i++) {
        reap_gpu_router r;
        CHECK(reap_gpu_router_parse(reap_gpu_router_name((reap_gpu_router)i), &r) == REAP_OK && (int)r == i);
    }
    reap_gpu_router r;
    CHECK(reap_gpu_router_parse("tf32", &r) == REAP_EUSAGE);
}

// reap eval's GPU head: MiniMax-M2's lm_head in f32 is 2.46 GB; 5 models take 256 positions a
// chunk (1280 rows); a cap one byte short of that halves it; a cap below the lm_head gives 0.
static void test_head_positions_fit_the_cap(void) {
    const int V = 200064, H = 3072;
    CHECK_EQ_INT(reap_gpu_head_positions(V, H, 5, 1 << 20, (size_t)80 << 30), 256);
    CHECK_EQ_INT(reap_gpu_head_positions(V, H, 5, 100, (size_t)80 << 30), 100);
    CHECK_EQ_INT(reap_gpu_head_positions(V, H, 64, 1 << 20, (size_t)80 << 30), 20);
    CHECK_EQ_INT(reap_gpu_head_positions(V, H, 2000, 1 << 20, (size_t)80 << 30), 1);
    size_t need = reap_gpu_head_bytes(V, H, 5, 256) + REAP_GPU_OVERHEAD_BYTES;
    CHECK_EQ_INT(reap_gpu_head_positions(V, H, 5, 1 << 20, need), 256);
    CHECK_EQ_INT(reap_gpu_head_positions(V, H, 5, 1 << 20, need - 1), 128);
    CHECK_EQ_INT(reap_gpu_head_positions(V, H, 5, 1 << 20, (size_t)V * H * 4), 0);
    CHECK(reap_gpu_head_bytes(V, H, 5, 256) > (size_t)V * H * 4 + (size_t)1280 * REAP_GPU_HEAD_SLAB * 4);
}

int main(void) {
    RUN(test_raw_layout_holds_every_tensor_without_overlap);
    RUN(test_layout_total_is_the_sum_and_grows_with_rows);
    RUN(test_fit_picks_the_most_rows_that_fit);
    RUN(test_minimax_m2_64k_chunks_fit_24_gib);
    RUN(test_router_names_round_trip);
    RUN(test_head_positions_fit_the_cap);
    TEST_EXIT();
}

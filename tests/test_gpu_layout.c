// test_gpu_layout.c: the GPU buffer sizes (lib/gpu_layout.c), which the CUDA path's memory fit,
// allocation and warm-up all read: the raw weight layout holds every tensor of a layer without
// overlap, the total is the sum of the buffers, the fit picks the most rows that fit, and a
// true-width MiniMax-M2 layer with 64k-token chunks fits the 24 GiB target of issue 6; the hidden
// states go on the GPUs exactly when every GPU holds its share beside that layout.
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

// The resident need is the host path's layout less its double buffers plus the resident states, and
// the plan puts the hidden states on the GPUs at exactly the cap that holds them: one byte less on
// any GPU, and every GPU falls back to host memory (one place for all).
static void test_hidden_states_on_gpu_exactly_when_every_gpu_holds_its_share(void) {
    reap_m2_config c = odd();
    const int T = 64, CR = 3, S = 2;
    reap_gpu_layout L;
    reap_gpu_layout_make(&c, CR, T, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, &L);
    const int rows[2] = {7, 4};
    size_t res7 = reap_gpu_resident_bytes(&c, 7, T, S);
    CHECK(res7 == (size_t)S * 7 * T * c.hidden * 4 + (size_t)7 * T);
    size_t need7 = reap_gpu_resident_need(&c, CR, 7, T, S, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32);
    size_t need4 = reap_gpu_resident_need(&c, CR, 4, T, S, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32);
    CHECK(need7 == L.total - 2 * L.hbuf - 2 * L.mask + res7 + REAP_GPU_OVERHEAD_BYTES);
    CHECK(need4 < need7);
    size_t cap[2] = {need7, need4};
    reap_gpu_hidden_plan pl;
    reap_gpu_hidden_plan_make(&c, CR, T, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, S, REAP_GPU_HIDDEN_AUTO, 2, rows, cap, &pl);
    CHECK(pl.on_gpu == 1 && pl.need <= pl.cap);
    reap_gpu_hidden_plan_make(&c, CR, T, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, S, REAP_GPU_HIDDEN_GPU, 2, rows, cap, &pl);
    CHECK(pl.on_gpu == 1);
    reap_gpu_hidden_plan_make(&c, CR, T, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, S, REAP_GPU_HIDDEN_HOST, 2, rows, cap, &pl);
    CHECK(pl.on_gpu == 0);  // asked for: never
    for (int i = 0; i < 2; i++) {
        size_t c2[2] = {cap[0], cap[1]};
        c2[i]--;
        reap_gpu_hidden_plan_make(&c, CR, T, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, S, REAP_GPU_HIDDEN_AUTO, 2, rows, c2, &pl);
        CHECK_MSG(pl.on_gpu == 0, "GPU %d one byte short: still on the GPUs", i);
        CHECK_EQ_INT(pl.device, i);  // the message names the GPU that is short
        CHECK(pl.need == c2[i] + 1 && pl.cap == c2[i]);
        CHECK(pl.bytes == reap_gpu_resident_bytes(&c, rows[i], T, S));
    }
    // More streams need more: the same caps no longer hold three streams
    reap_gpu_hidden_plan_make(&c, CR, T, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, S + 1, REAP_GPU_HIDDEN_AUTO, 2, rows, cap,
                              &pl);
    CHECK(pl.on_gpu == 0);
    // The chunk size never shrinks for them: a cap that fits the host path's chunk exactly cannot
    // hold more than its double buffers' worth of hidden states.
    size_t host = L.total + REAP_GPU_OVERHEAD_BYTES;
    CHECK(reap_gpu_resident_need(&c, CR, CR, T, 1, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32) <= host);
    CHECK(reap_gpu_resident_need(&c, CR, 2 * CR + 1, T, 1, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32) > host);
    // MiniMax-M2, 1024 rows x 2048 tokens on 8 GPUs with 64k-token chunks: 128 rows (3.2 GB) each
    // beside the chunk layout fits an 80 GB card's 78 GiB less 1 GiB.
    reap_m2_config m = m2();
    int r8[8];
    size_t c8[8];
    for (int i = 0; i < 8; i++) r8[i] = 128, c8[i] = (size_t)77 << 30;
    reap_gpu_hidden_plan_make(&m, 32, 2048, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, 1, REAP_GPU_HIDDEN_AUTO, 8, r8, c8, &pl);
    CHECK(pl.on_gpu == 1 && pl.bytes == (size_t)128 * 2048 * 3072 * 4 + (size_t)128 * 2048);
    // Rows that are not a whole number of 256 bytes would put chunks at other alignments than the
    // host path's buffers: host memory then, whatever the cap (odd's hidden 200 x 4 bytes: T 16 is
    // 12800 bytes = 50 x 256, T 15 is not).
    CHECK(pl.unaligned == 0);
    size_t big[2] = {(size_t)1 << 40, (size_t)1 << 40};
    reap_gpu_hidden_plan_make(&c, CR, 16, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, S, REAP_GPU_HIDDEN_AUTO, 2, rows, big, &pl);
    CHECK(pl.on_gpu == 1 && pl.unaligned == 0);
    reap_gpu_hidden_plan_make(&c, CR, 15, REAP_DT_F8_E4M3, REAP_GPU_ROUTER_FP32, S, REAP_GPU_HIDDEN_AUTO, 2, rows, big, &pl);
    CHECK(pl.on_gpu == 0 && pl.unaligned == 1);
}

static void test_hidden_names_round_trip(void) {
    for (int i = 0; i < REAP_GPU_HIDDEN_COUNT; i++) {
        reap_gpu_hidden h;
        CHECK(reap_gpu_hidden_parse(reap_gpu_hidden_name((reap_gpu_hidden)i), &h) == REAP_OK && (int)h == i);
    }
    reap_gpu_hidden h;
    CHECK(reap_gpu_hidden_parse("device", &h) == REAP_EUSAGE);
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
    RUN(test_hidden_states_on_gpu_exactly_when_every_gpu_holds_its_share);
    RUN(test_hidden_names_round_trip);
    TEST_EXIT();
}

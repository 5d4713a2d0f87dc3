// test_dtype.c: dtype traits and conversions. Expected values come from an independent
// construction (powers of two built by repeated multiplication over the format's fields, and
// literal values from the OCP FP8 spec), never from the code under test.
#include <stdint.h>
#include <string.h>

#include "dtype.h"
#include "test.h"

static double pow2(int e) {  // exact, by repeated multiplication (not ldexp)
    double v = 1.0;
    for (; e > 0; e--)
        v *= 2.0;
    for (; e < 0; e++)
        v *= 0.5;
    return v;
}

// The value of an E{E}M{M} code with bias b, built from its fields; NaN/inf decided by caller.
static double field_value(unsigned code, int E, int M, int bias) {
    unsigned sign = (code >> (E + M)) & 1, exp = (code >> M) & ((1u << E) - 1), man = code & ((1u << M) - 1);
    double frac = (double)man / (double)(1u << M);
    double v = exp == 0 ? frac * pow2(1 - bias) : (1.0 + frac) * pow2((int)exp - bias);
    return sign ? -v : v;
}

static int same_float(float a, double b) {
    if (isnan(b))
        return isnan(a);
    if (a != (float)b)
        return 0;
    return !!signbit(a) == !!signbit(b);  // -0 must stay -0
}

static void test_dtype_names_and_sizes(void) {
    static const struct {
        const char *name;
        size_t size;
    } want[] = {{"BOOL", 1}, {"U8", 1},   {"I8", 1},   {"U16", 2},  {"I16", 2},
                {"U32", 4},  {"I32", 4},  {"U64", 8},  {"I64", 8},  {"F16", 2},
                {"BF16", 2}, {"F32", 4},  {"F64", 8},  {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    CHECK_EQ_INT(sizeof want / sizeof want[0], REAP_DT_COUNT);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        reap_dtype dt;
        CHECK_MSG(reap_dtype_from_name(want[i].name, &dt) == 0, "%s", want[i].name);
        CHECK_EQ_INT(reap_dtype_size(dt), want[i].size);
        CHECK(strcmp(reap_dtype_name(dt), want[i].name) == 0);
    }
    reap_dtype dt;
    CHECK(reap_dtype_from_name("F8_E4M3FN", &dt) != 0);
    CHECK(reap_dtype_from_name("f32", &dt) != 0);
    CHECK(reap_dtype_from_name("", &dt) != 0);
}

static void test_e4m3_all_256_codes_match_independent_table(void) {
    for (unsigned c = 0; c < 256; c++) {
        double want = (c & 0x7f) == 0x7f ? NAN : field_value(c, 4, 3, 7);
        float got = reap_e4m3_to_f32((uint8_t)c);
        CHECK_MSG(same_float(got, want), "code 0x%02x: got %g want %g", c, got, want);
    }
    // The bulk converter (a lookup table) agrees code for code.
    uint8_t codes[256];
    float bulk[256];
    for (int c = 0; c < 256; c++)
        codes[c] = (uint8_t)c;
    CHECK(reap_dtype_to_f32(REAP_DT_F8_E4M3, codes, 256, bulk) == 0);
    for (unsigned c = 0; c < 256; c++) {
        double want = (c & 0x7f) == 0x7f ? NAN : field_value(c, 4, 3, 7);
        CHECK_MSG(same_float(bulk[c], want), "bulk code 0x%02x: got %g want %g", c, bulk[c], want);
    }
    // Literal anchors from the OCP 8-bit floating point spec (E4M3).
    CHECK(reap_e4m3_to_f32(0x7e) == 448.0f);
    CHECK(reap_e4m3_to_f32(0xfe) == -448.0f);
    CHECK(reap_e4m3_to_f32(0x38) == 1.0f);
    CHECK(reap_e4m3_to_f32(0x08) == 0.015625f);      // min normal 2^-6
    CHECK(reap_e4m3_to_f32(0x01) == 0.001953125f);   // min subnormal 2^-9
    CHECK(reap_e4m3_to_f32(0x07) == 0.013671875f);   // max subnormal 7 * 2^-9
    CHECK(reap_e4m3_to_f32(0x78) == 256.0f);
    CHECK(reap_e4m3_to_f32(0x80) == 0.0f && signbit(reap_e4m3_to_f32(0x80)));
    CHECK(isnan(reap_e4m3_to_f32(0x7f)) && isnan(reap_e4m3_to_f32(0xff)));
    CHECK(!isinf(reap_e4m3_to_f32(0x78)));  // e4m3fn has no infinities
}

static void test_e5m2_all_256_codes_match_independent_table(void) {
    for (unsigned c = 0; c < 256; c++) {
        unsigned exp = (c >> 2) & 0x1f, man = c & 3;
        double want = exp == 0x1f ? (man ? NAN : ((c & 0x80) ? -INFINITY : INFINITY)) : field_value(c, 5, 2, 15);
        float got = reap_e5m2_to_f32((uint8_t)c);
        CHECK_MSG(same_float(got, want), "code 0x%02x: got %g want %g", c, got, want);
    }
    CHECK(reap_e5m2_to_f32(0x7b) == 57344.0f);
    CHECK(reap_e5m2_to_f32(0x3c) == 1.0f);
    CHECK(reap_e5m2_to_f32(0x01) == 1.52587890625e-05f);  // 2^-16
}

static void test_f16_and_bf16_decode_match_independent_table(void) {
    for (unsigned c = 0; c < 65536; c++) {
        unsigned exp = (c >> 10) & 0x1f, man = c & 0x3ff;
        double want = exp == 0x1f ? (man ? NAN : ((c & 0x8000) ? -INFINITY : INFINITY)) : field_value(c, 5, 10, 15);
        float got = reap_f16_to_f32((uint16_t)c);
        CHECK_MSG(same_float(got, want), "f16 0x%04x: got %g want %g", c, got, want);
        exp = (c >> 7) & 0xff, man = c & 0x7f;
        want = exp == 0xff ? (man ? NAN : ((c & 0x8000) ? -INFINITY : INFINITY)) : field_value(c, 8, 7, 127);
        got = reap_bf16_to_f32((uint16_t)c);
        CHECK_MSG(same_float(got, want), "bf16 0x%04x: got %g want %g", c, got, want);
    }
    CHECK(reap_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(reap_f16_to_f32(0x0001) == 5.9604644775390625e-08f);
}

// For every pair of adjacent finite positive codes lo < hi: the exact midpoint rounds to the code
// with an even mantissa (RNE), anything just above it to hi, just below to lo. Also every code
// round-trips. decode/encode are the functions under test; n_finite is the count of positive
// finite codes (0 .. n_finite-1 are increasing).
typedef float (*dec_fn)(unsigned);
typedef unsigned (*enc_fn)(float);
static float dec_e4m3(unsigned c) { return reap_e4m3_to_f32((uint8_t)c); }
static unsigned enc_e4m3(float f) { return reap_f32_to_e4m3(f); }
static float dec_e5m2(unsigned c) { return reap_e5m2_to_f32((uint8_t)c); }
static unsigned enc_e5m2(float f) { return reap_f32_to_e5m2(f); }
static float dec_f16(unsigned c) { return reap_f16_to_f32((uint16_t)c); }
static unsigned enc_f16(float f) { return reap_f32_to_f16(f); }
static float dec_bf16(unsigned c) { return reap_bf16_to_f32((uint16_t)c); }
static unsigned enc_bf16(float f) { return reap_f32_to_bf16(f); }

static int check_rne(dec_fn dec, enc_fn enc, unsigned n_finite, unsigned sign_bit, const char *what) {
    for (unsigned c = 0; c < n_finite; c++) {
        if (enc(dec(c)) != c || enc(-dec(c)) != (c | sign_bit)) {
            printf("  %s: code 0x%x does not round-trip\n", what, c);
            return 0;
        }
        if (c + 1 == n_finite)
            break;
        double lo = dec(c), hi = dec(c + 1), mid = (lo + hi) / 2;
        unsigned even = (c & 1) ? c + 1 : c;
        float fmid = (float)mid;
        if ((double)fmid != mid)
            continue;  // midpoint not representable in f32 (cannot happen for these formats)
        float above = nextafterf(fmid, INFINITY), below = nextafterf(fmid, -INFINITY);
        if (enc(fmid) != even || enc(above) != c + 1 || enc(below) != c || enc(-fmid) != (even | sign_bit)) {
            printf("  %s: midpoint %.9g between 0x%x and 0x%x -> 0x%x (above 0x%x, below 0x%x)\n", what, mid, c,
                   c + 1, enc(fmid), enc(above), enc(below));
            return 0;
        }
    }
    return 1;
}

static void test_e4m3_encode_rounds_to_nearest_even(void) {
    CHECK(check_rne(dec_e4m3, enc_e4m3, 0x7f, 0x80, "e4m3"));
    CHECK_EQ_INT(reap_f32_to_e4m3(1.0625f), 0x38);  // tie between 1.0 (even) and 1.125
    CHECK_EQ_INT(reap_f32_to_e4m3(1.1875f), 0x3a);  // tie between 1.125 and 1.25 (even)
    CHECK_EQ_INT(reap_f32_to_e4m3(0.0009765625f), 0x00);  // half the min subnormal: ties to 0
    CHECK_EQ_INT(reap_f32_to_e4m3(0.00097657f), 0x01);
    CHECK_EQ_INT(reap_f32_to_e4m3(1e-30f), 0x00);
    CHECK_EQ_INT(reap_f32_to_e4m3(-1e-30f), 0x80);
}

static void test_e4m3_encode_saturates_to_448(void) {
    CHECK_EQ_INT(reap_f32_to_e4m3(448.0f), 0x7e);
    CHECK_EQ_INT(reap_f32_to_e4m3(463.9f), 0x7e);
    CHECK_EQ_INT(reap_f32_to_e4m3(464.0f), 0x7e);  // midpoint to the would-be 480
    CHECK_EQ_INT(reap_f32_to_e4m3(1e6f), 0x7e);
    CHECK_EQ_INT(reap_f32_to_e4m3(3.4e38f), 0x7e);
    CHECK_EQ_INT(reap_f32_to_e4m3(-1e6f), 0xfe);
    CHECK_EQ_INT(reap_f32_to_e4m3(INFINITY), 0x7e);
    CHECK_EQ_INT(reap_f32_to_e4m3(-INFINITY), 0xfe);
    CHECK_EQ_INT(reap_f32_to_e4m3(NAN), 0x7f);
}

static void test_e5m2_encode_rounds_and_saturates(void) {
    CHECK(check_rne(dec_e5m2, enc_e5m2, 0x7c, 0x80, "e5m2"));
    CHECK_EQ_INT(reap_f32_to_e5m2(1e9f), 0x7b);
    CHECK_EQ_INT(reap_f32_to_e5m2(-1e9f), 0xfb);
    CHECK_EQ_INT(reap_f32_to_e5m2(INFINITY), 0x7c);
    CHECK(isnan(reap_e5m2_to_f32(reap_f32_to_e5m2(NAN))));
}

static void test_f16_encode_rounds_to_nearest_even(void) {
    CHECK(check_rne(dec_f16, enc_f16, 0x7c00, 0x8000, "f16"));
    CHECK_EQ_INT(reap_f32_to_f16(65504.0f), 0x7bff);
    CHECK_EQ_INT(reap_f32_to_f16(65519.99f), 0x7bff);
    CHECK_EQ_INT(reap_f32_to_f16(65520.0f), 0x7c00);  // tie with the would-be 65536: even is inf
    CHECK_EQ_INT(reap_f32_to_f16(INFINITY), 0x7c00);
    CHECK_EQ_INT(reap_f32_to_f16(-INFINITY), 0xfc00);
    CHECK(isnan(reap_f16_to_f32(reap_f32_to_f16(NAN))));
    CHECK_EQ_INT(reap_f32_to_f16(2.98023223876953125e-08f), 0x0000);  // 2^-25: tie to zero
    CHECK_EQ_INT(reap_f32_to_f16(2.98023259e-08f), 0x0001);
}

static void test_bf16_encode_rounds_to_nearest_even(void) {
    CHECK(check_rne(dec_bf16, enc_bf16, 0x7f80, 0x8000, "bf16"));
    CHECK_EQ_INT(reap_f32_to_bf16(1.00390625f), 0x3f80);  // 1 + 2^-8: tie, stays at even 1.0
    CHECK_EQ_INT(reap_f32_to_bf16(1.01171875f), 0x3f82);  // 1 + 3*2^-8: tie, up to even
    CHECK_EQ_INT(reap_f32_to_bf16(3.4e38f), 0x7f80);      // rounds past max finite to inf
    CHECK_EQ_INT(reap_f32_to_bf16(-INFINITY), 0xff80);
    uint16_t n = reap_f32_to_bf16(NAN);
    CHECK(isnan(reap_bf16_to_f32(n)));
    // A NaN whose payload lives only in the low 16 bits must not become infinity.
    uint32_t u = 0x7f800001u;
    float snan;
    memcpy(&snan, &u, 4);
    CHECK(isnan(reap_bf16_to_f32(reap_f32_to_bf16(snan))));
}

static void test_dtype_to_f32_converts_each_float_dtype(void) {
    float out[4];
    uint16_t bf[2] = {0x3f80, 0xc000};
    CHECK(reap_dtype_to_f32(REAP_DT_BF16, bf, 2, out) == 0 && out[0] == 1.0f && out[1] == -2.0f);
    uint16_t h[2] = {0x3c00, 0x3800};
    CHECK(reap_dtype_to_f32(REAP_DT_F16, h, 2, out) == 0 && out[0] == 1.0f && out[1] == 0.5f);
    double d[2] = {0.25, -3.0};
    CHECK(reap_dtype_to_f32(REAP_DT_F64, d, 2, out) == 0 && out[0] == 0.25f && out[1] == -3.0f);
    uint8_t e4[3] = {0x38, 0x7e, 0x81};
    CHECK(reap_dtype_to_f32(REAP_DT_F8_E4M3, e4, 3, out) == 0 && out[0] == 1.0f && out[1] == 448.0f &&
          out[2] == -0.001953125f);
    uint8_t e5[2] = {0x3c, 0x7c};
    CHECK(reap_dtype_to_f32(REAP_DT_F8_E5M2, e5, 2, out) == 0 && out[0] == 1.0f && isinf(out[1]));
    int32_t i[1] = {1};
    CHECK(reap_dtype_to_f32(REAP_DT_I32, i, 1, out) == -1);
}

static void test_dequant_uses_block_scale_with_partial_edge_blocks(void) {
    enum { R = 5, C = 7, BR = 2, BC = 3, SR = 3, SC = 3 };
    uint8_t w[R * C];
    float scale[SR * SC], out[R * C];
    for (int i = 0; i < R * C; i++)
        w[i] = (uint8_t)((i * 37 + 11) & 0xff);
    for (int i = 0; i < SR * SC; i++)
        scale[i] = 0.5f + (float)i;  // distinct per block, so a wrong block is caught
    for (int i = 0; i < R * C; i++)
        if ((w[i] & 0x7f) == 0x7f)
            w[i] = 0x30;
    reap_dequant_fp8_block(REAP_DT_F8_E4M3, w, R, C, scale, BR, BC, out);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            double want = field_value(w[r * C + c], 4, 3, 7) * scale[(r / BR) * SC + c / BC];
            CHECK_MSG(out[r * C + c] == (float)want, "(%d,%d): %g vs %g", r, c, out[r * C + c], want);
        }
    // The multiplier convention: code 1.0 with scale_inv 0.25 dequantises to 0.25 (not 4).
    uint8_t one = 0x38;
    float s = 0.25f, o;
    reap_dequant_fp8_block(REAP_DT_F8_E4M3, &one, 1, 1, &s, 128, 128, &o);
    CHECK(o == 0.25f);
}

static void test_quant_block_roundtrip_within_fp8_precision(void) {
    enum { R = 9, C = 13, BR = 4, BC = 5 };
    float x[R * C], back[R * C], scale[3 * 3];
    uint8_t w[R * C];
    uint32_t s = 12345;
    for (int i = 0; i < R * C; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * (float)(1 + i % 7) * 3.0f;
    }
    for (int c = 0; c < C; c++)
        x[8 * C + c] = 0.0f;  // the last row-block (row 8 only) is all zero: scale 1
    reap_quant_e4m3_block(x, R, C, BR, BC, w, scale);
    for (int j = 0; j < 3; j++)
        CHECK_MSG(scale[2 * 3 + j] == 1.0f, "zero block scale %g", scale[2 * 3 + j]);
    reap_dequant_fp8_block(REAP_DT_F8_E4M3, w, R, C, scale, BR, BC, back);
    for (int i = 0; i < R * C; i++) {
        float sc = scale[(i / C / BR) * 3 + (i % C) / BC];
        // E4M3: 3 mantissa bits -> relative error <= 2^-4 for normals; subnormals err <= 2^-10 * scale.
        CHECK_MSG(fabsf(back[i] - x[i]) <= fabsf(x[i]) / 16.0f + sc * 0.001f, "elem %d: %g vs %g", i, back[i], x[i]);
    }
    // The block maximum maps to exactly 448 (code 0x7e) times the scale.
    int found = 0;
    for (int i = 0; i < R * C; i++)
        found |= (w[i] & 0x7f) == 0x7e;
    CHECK(found);
}

int main(void) {
    RUN(test_dtype_names_and_sizes);
    RUN(test_e4m3_all_256_codes_match_independent_table);
    RUN(test_e5m2_all_256_codes_match_independent_table);
    RUN(test_f16_and_bf16_decode_match_independent_table);
    RUN(test_e4m3_encode_rounds_to_nearest_even);
    RUN(test_e4m3_encode_saturates_to_448);
    RUN(test_e5m2_encode_rounds_and_saturates);
    RUN(test_f16_encode_rounds_to_nearest_even);
    RUN(test_bf16_encode_rounds_to_nearest_even);
    RUN(test_dtype_to_f32_converts_each_float_dtype);
    RUN(test_dequant_uses_block_scale_with_partial_edge_blocks);
    RUN(test_quant_block_roundtrip_within_fp8_precision);
    TEST_EXIT();
}

// dtype.c: dtype traits and f32 conversions (round-to-nearest-even everywhere).
//
// The narrow-float encoders share one routine, encode_minifloat(), that rounds an f32 to a
// format with E exponent bits and M mantissa bits by integer arithmetic on the f32 bits, so the
// same code (and the same tie handling) serves f16, E4M3 and E5M2. bf16 is a plain truncation
// of f32 with a rounding increment.
#include "dtype.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

const reap_dtype_traits reap_dtype_table[REAP_DT_COUNT] = {
    [REAP_DT_BOOL] = {"BOOL", 1, 0},
    [REAP_DT_U8] = {"U8", 1, 0},
    [REAP_DT_I8] = {"I8", 1, 0},
    [REAP_DT_U16] = {"U16", 2, 0},
    [REAP_DT_I16] = {"I16", 2, 0},
    [REAP_DT_U32] = {"U32", 4, 0},
    [REAP_DT_I32] = {"I32", 4, 0},
    [REAP_DT_U64] = {"U64", 8, 0},
    [REAP_DT_I64] = {"I64", 8, 0},
    [REAP_DT_F16] = {"F16", 2, 1},
    [REAP_DT_BF16] = {"BF16", 2, 1},
    [REAP_DT_F32] = {"F32", 4, 1},
    [REAP_DT_F64] = {"F64", 8, 1},
    [REAP_DT_F8_E4M3] = {"F8_E4M3", 1, 1},
    [REAP_DT_F8_E5M2] = {"F8_E5M2", 1, 1},
};

int reap_dtype_from_name(const char *name, reap_dtype *out) {
    for (int i = 0; i < REAP_DT_COUNT; i++) {
        if (strcmp(name, reap_dtype_table[i].name) == 0) {
            *out = (reap_dtype)i;
            return 0;
        }
    }
    return -1;
}

const char *reap_dtype_name(reap_dtype dt) {
    return (unsigned)dt < REAP_DT_COUNT ? reap_dtype_table[dt].name : "?";
}

size_t reap_dtype_size(reap_dtype dt) {
    return (unsigned)dt < REAP_DT_COUNT ? reap_dtype_table[dt].size : 0;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// ---- bf16: the top 16 bits of an f32.
float reap_bf16_to_f32(uint16_t h) {
    return bits_f32((uint32_t)h << 16);
}

uint16_t reap_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)  // NaN: keep sign, force a quiet mantissa bit
        return (uint16_t)((u >> 16) | 0x0040u);
    // RNE: add 0x7fff plus the lowest kept bit; overflow into the exponent yields inf correctly.
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

// ---- Generic minifloat decode: sign, E exponent bits (bias), M mantissa bits. ieee_special:
// the all-ones exponent is inf/NaN (f16, E5M2); otherwise the caller handles NaN codes (E4M3).
static float decode_minifloat(uint32_t code, int E, int M, int bias) {
    int sign = (code >> (E + M)) & 1;
    int exp = (code >> M) & ((1 << E) - 1);
    uint32_t man = code & ((1u << M) - 1);
    float v;
    if (exp == 0)
        v = ldexpf((float)man, 1 - bias - M);  // subnormal (exact)
    else
        v = ldexpf((float)((1u << M) | man), exp - bias - M);
    return sign ? -v : v;
}

// Rounds |f| (finite, non-NaN) to the format's grid with RNE and returns the magnitude code
// (exponent and mantissa fields, no sign). The result may exceed max_code: callers saturate.
// Works on the f32 bits: value = 1.m * 2^(e) with 23-bit m; target keeps M bits for normal numbers
// and fewer for subnormals (shift grows as the exponent drops below the format's minimum).
static uint32_t encode_magnitude(uint32_t abs_bits, int E, int M, int bias) {
    (void)E;
    if (abs_bits == 0)
        return 0;
    int e32 = (int)(abs_bits >> 23);        // biased f32 exponent
    uint32_t mant = abs_bits & 0x7fffffu;
    if (e32 == 0) {
        // f32 subnormal: far below the smallest subnormal of every target (2^-24 at best) -> 0.
        return 0;
    }
    mant |= 0x800000u;                       // 24-bit significand, value = mant * 2^(e32-127-23)
    int e = e32 - 127;                       // unbiased
    int te = e + bias;                       // target biased exponent
    int shift;                               // how many low bits of mant to drop
    uint32_t code_exp;
    if (te >= 1) {
        shift = 23 - M;
        code_exp = (uint32_t)te;
    } else {
        // subnormal in target: value = man * 2^(1-bias-M); man = mant >> shift
        shift = 23 - M + (1 - te);
        code_exp = 0;
        if (shift > 25)
            return 0;  // below half of the smallest subnormal
    }
    uint32_t kept = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (kept & 1u)))
        kept++;
    if (code_exp == 0)
        return kept;  // kept may reach 1<<M: that is exactly the smallest normal code
    // normal: kept has the implicit bit at position M; carrying to 2<<M bumps the exponent
    uint32_t code = (code_exp << M) + (kept - (1u << M));
    return code;
}

// ---- f16 (IEEE binary16: E5 M10 bias 15, inf and NaN)
float reap_f16_to_f32(uint16_t h) {
    int exp = (h >> 10) & 0x1f;
    if (exp == 0x1f) {
        uint32_t sign = (uint32_t)(h >> 15) << 31;
        uint32_t man = h & 0x3ffu;
        return bits_f32(sign | 0x7f800000u | (man << 13));  // inf or NaN (payload kept)
    }
    return decode_minifloat(h, 5, 10, 15);
}

uint16_t reap_f32_to_f16(float f) {
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return sign | 0x7e00u | (uint16_t)((a >> 13) & 0x3ffu);  // quiet NaN, payload top bits
    if (a == 0x7f800000u)
        return sign | 0x7c00u;
    uint32_t code = encode_magnitude(a, 5, 10, 15);
    if (code >= 0x7c00u)
        return sign | 0x7c00u;  // overflow rounds to inf (IEEE)
    return sign | (uint16_t)code;
}

// ---- FP8 E4M3 (OCP e4m3fn): bias 7, no inf, S.1111.111 is NaN, max 448 = S.1111.110
float reap_e4m3_to_f32(uint8_t b) {
    if ((b & 0x7f) == 0x7f)
        return (b & 0x80) ? -NAN : NAN;
    return decode_minifloat(b, 4, 3, 7);
}

uint8_t reap_f32_to_e4m3(float f) {
    uint32_t u = f32_bits(f);
    uint8_t sign = (uint8_t)((u >> 24) & 0x80u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return 0x7f;
    if (a == 0x7f800000u)
        return sign | 0x7e;  // saturate infinities to +-448
    uint32_t code = encode_magnitude(a, 4, 3, 7);
    if (code > 0x7e)
        code = 0x7e;
    return sign | (uint8_t)code;
}

// ---- FP8 E5M2: bias 15, IEEE-like (inf = S.11111.00, NaN = S.11111.xx with xx != 0)
float reap_e5m2_to_f32(uint8_t b) {
    int exp = (b >> 2) & 0x1f;
    if (exp == 0x1f) {
        if (b & 3)
            return (b & 0x80) ? -NAN : NAN;
        return (b & 0x80) ? -INFINITY : INFINITY;
    }
    return decode_minifloat(b, 5, 2, 15);
}

uint8_t reap_f32_to_e5m2(float f) {
    uint32_t u = f32_bits(f);
    uint8_t sign = (uint8_t)((u >> 24) & 0x80u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return 0x7f;
    if (a == 0x7f800000u)
        return sign | 0x7c;  // infinity stays infinity
    uint32_t code = encode_magnitude(a, 5, 2, 15);
    if (code > 0x7b)
        code = 0x7b;  // saturate finite values to +-57344
    return sign | (uint8_t)code;
}

// E4M3 decoding is on the hot path of every FP8 read: a table, filled once (thread-safe).
static float e4m3_lut[256];
static pthread_once_t e4m3_once = PTHREAD_ONCE_INIT;
static void e4m3_lut_init(void) {
    for (int i = 0; i < 256; i++)
        e4m3_lut[i] = reap_e4m3_to_f32((uint8_t)i);
}

int reap_dtype_to_f32(reap_dtype dt, const void *src, size_t n, float *dst) {
    const uint8_t *b = src;
    switch (dt) {
    case REAP_DT_F32:
        memcpy(dst, src, n * 4);
        return 0;
    case REAP_DT_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, b + 8 * i, 8);
            dst[i] = (float)d;
        }
        return 0;
    case REAP_DT_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, b + 2 * i, 2);
            dst[i] = reap_bf16_to_f32(h);
        }
        return 0;
    case REAP_DT_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, b + 2 * i, 2);
            dst[i] = reap_f16_to_f32(h);
        }
        return 0;
    case REAP_DT_F8_E4M3:
        pthread_once(&e4m3_once, e4m3_lut_init);
        for (size_t i = 0; i < n; i++)
            dst[i] = e4m3_lut[b[i]];
        return 0;
    case REAP_DT_F8_E5M2:
        for (size_t i = 0; i < n; i++)
            dst[i] = reap_e5m2_to_f32(b[i]);
        return 0;
    default:
        return -1;
    }
}

int reap_dtype_rows_to_f32(reap_dtype dt, const void *src, int64_t rows, int64_t cols, float *dst) {
    if (!reap_dtype_table[dt].is_float) return -1;
    const size_t rb = (size_t)cols * reap_dtype_size(dt);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r += 64)
        reap_dtype_to_f32(dt, (const uint8_t *)src + (size_t)r * rb, (size_t)(rows - r < 64 ? rows - r : 64) * (size_t)cols,
                          dst + (size_t)r * (size_t)cols);
    return 0;
}

void reap_dequant_fp8_block(reap_dtype dt, const uint8_t *w, int64_t rows, int64_t cols,
                            const float *scale, int64_t br, int64_t bc, float *out) {
    float lut[256];
    for (int i = 0; i < 256; i++)
        lut[i] = dt == REAP_DT_F8_E5M2 ? reap_e5m2_to_f32((uint8_t)i) : reap_e4m3_to_f32((uint8_t)i);
    int64_t sc = (cols + bc - 1) / bc;  // scale columns
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 20))
    for (int64_t r = 0; r < rows; r++) {
        const float *srow = scale + (r / br) * sc;
        const uint8_t *wr = w + r * cols;
        float *o = out + r * cols;
        for (int64_t c0 = 0; c0 < cols; c0 += bc) {
            float s = srow[c0 / bc];
            int64_t c1 = c0 + bc < cols ? c0 + bc : cols;
            for (int64_t c = c0; c < c1; c++)
                o[c] = lut[wr[c]] * s;
        }
    }
}

void reap_quant_e4m3_block(const float *x, int64_t rows, int64_t cols, int64_t br, int64_t bc,
                           uint8_t *w, float *scale) {
    int64_t sr = (rows + br - 1) / br, sc = (cols + bc - 1) / bc;
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 20))
    for (int64_t bi = 0; bi < sr; bi++) {
        int64_t r0 = bi * br, r1 = r0 + br < rows ? r0 + br : rows;
        for (int64_t bj = 0; bj < sc; bj++) {
            int64_t c0 = bj * bc, c1 = c0 + bc < cols ? c0 + bc : cols;
            float amax = 0.0f;
            for (int64_t r = r0; r < r1; r++)
                for (int64_t c = c0; c < c1; c++) {
                    float a = fabsf(x[r * cols + c]);
                    if (a > amax)
                        amax = a;
                }
            float s = amax > 0.0f ? amax / 448.0f : 1.0f;
            scale[bi * sc + bj] = s;
            for (int64_t r = r0; r < r1; r++)
                for (int64_t c = c0; c < c1; c++)
                    w[r * cols + c] = reap_f32_to_e4m3(x[r * cols + c] / s);
        }
    }
}

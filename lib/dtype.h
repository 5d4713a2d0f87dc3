// dtype.h: safetensors dtypes, their traits, and conversions to and from f32.
// All rounding is round-to-nearest-even. FP8 E4M3 is OCP float8_e4m3fn (bias 7, max 448, no
// infinities, 0x7F/0xFF NaN); E5M2 is IEEE-like (bias 15, has inf and NaN).
#ifndef REAP_DTYPE_H
#define REAP_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    REAP_DT_BOOL,
    REAP_DT_U8,
    REAP_DT_I8,
    REAP_DT_U16,
    REAP_DT_I16,
    REAP_DT_U32,
    REAP_DT_I32,
    REAP_DT_U64,
    REAP_DT_I64,
    REAP_DT_F16,
    REAP_DT_BF16,
    REAP_DT_F32,
    REAP_DT_F64,
    REAP_DT_F8_E4M3,
    REAP_DT_F8_E5M2,
    REAP_DT_COUNT
} reap_dtype;

typedef struct {
    const char *name;  // as written in safetensors headers ("F8_E4M3")
    size_t size;       // bytes per element
    int is_float;      // converts to f32 with reap_dtype_to_f32
} reap_dtype_traits;

extern const reap_dtype_traits reap_dtype_table[REAP_DT_COUNT];

// Returns 0 and sets *out for a known name, -1 otherwise.
int reap_dtype_from_name(const char *name, reap_dtype *out);
const char *reap_dtype_name(reap_dtype dt);
size_t reap_dtype_size(reap_dtype dt);

float reap_bf16_to_f32(uint16_t h);
uint16_t reap_f32_to_bf16(float f);
float reap_f16_to_f32(uint16_t h);
uint16_t reap_f32_to_f16(float f);
float reap_e4m3_to_f32(uint8_t b);
uint8_t reap_f32_to_e4m3(float f);   // saturates to +-448; NaN -> 0x7F
float reap_e5m2_to_f32(uint8_t b);
uint8_t reap_f32_to_e5m2(float f);   // saturates to +-57344; NaN -> 0x7F (quiet NaN)

// Converts n elements of a float dtype (F16, BF16, F32, F64, F8_*) to f32.
// Returns 0, or -1 for a non-float dtype.
int reap_dtype_to_f32(reap_dtype dt, const void *src, size_t n, float *dst);
// The same for rows x cols elements, 64 rows a task on every thread (a 4096 x 3072 block of the
// embedding table or lm_head: 0.3 s on one core). Returns 0, or -1 for a non-float dtype.
int reap_dtype_rows_to_f32(reap_dtype dt, const void *src, int64_t rows, int64_t cols, float *dst);

// Block dequantisation: w (rows, cols) fp8 (E4M3 or E5M2), scale (ceil(rows/br), ceil(cols/bc)) f32
// multiplier ("weight_scale_inv"); out (rows, cols) f32. Partial edge blocks use their block's scale.
void reap_dequant_fp8_block(reap_dtype dt, const uint8_t *w, int64_t rows, int64_t cols,
                            const float *scale, int64_t br, int64_t bc, float *out);

// Block quantisation (used by `reap synth`): x (rows, cols) f32 -> w fp8 E4M3 and scale
// (ceil(rows/br), ceil(cols/bc)) f32 with scale = amax/448 per block (1 for an all-zero block).
void reap_quant_e4m3_block(const float *x, int64_t rows, int64_t cols, int64_t br, int64_t bc,
                           uint8_t *w, float *scale);

#endif

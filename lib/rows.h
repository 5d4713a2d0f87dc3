// rows.h: packed calibration rows, the plain data that calibration (calib/) produces and the
// scoring driver (score.h) consumes: token ids and a mask of the tokens counted in statistics.
#ifndef REAP_ROWS_H
#define REAP_ROWS_H

#include <stdint.h>

typedef struct {
    int rows, seq_len;
    int32_t *ids;   // (rows, seq_len)
    uint8_t *mask;  // (rows, seq_len): 1 = counted in statistics, 0 = gap or padding
    int32_t *sample;  // (rows, seq_len): index of the sample placed there (packer order of input), -1 for gap/padding
    // Category of every position (reap_calib_pack_model fills it; NULL otherwise): (rows, seq_len)
    // index into cat_names, 255 for gap/padding. Categories: "code" / "tools" for the built-in sets,
    // the source spec for any other source (`reap eval` splits its numbers by them).
    uint8_t *cat;
    char **cat_names;
    int n_cats;
    // What happened to the samples (for summaries):
    int samples_total;     // samples offered
    int samples_used;      // placed (wholly or truncated) in some row
    int samples_truncated; // placed but cut at a row end (the rest dropped, as the reference does)
    int samples_empty;     // zero tokens: skipped
    int64_t tokens_kept;   // tokens with mask 1
    int64_t tokens_dropped;// tokens cut by truncation
    int out_of_samples;    // 1 when --rows asked for more rows than the samples filled
} reap_packed;

void reap_packed_free(reap_packed *p);  // accepts NULL; leaves p empty

#endif

// chunks.c: see chunks.h.
#include "chunks.h"

#include <stdint.h>

int reap_chunk_gpus(int rows, int chunk_rows, int n_devices) {
    int nch = (rows + chunk_rows - 1) / chunk_rows;
    return n_devices < nch ? n_devices : nch;
}

void reap_chunk_gpu_rows(int rows, int chunk_rows, int n_used, int i, int *row0, int *count) {
    int nch = (rows + chunk_rows - 1) / chunk_rows;
    int c0 = (int)((int64_t)nch * i / n_used), c1 = (int)((int64_t)nch * (i + 1) / n_used);
    int end = (int)((int64_t)c1 * chunk_rows < rows ? (int64_t)c1 * chunk_rows : rows);
    *row0 = c0 * chunk_rows;
    *count = end - *row0;
}

int reap_chunk_pieces(int count, int chunk_rows, int sub_rows, int *start, int *len, int cap) {
    int n = 0;
    for (int r = 0; r < count; r += chunk_rows) {
        int chunk_end = r + chunk_rows < count ? r + chunk_rows : count;
        for (int p = r; p < chunk_end; p += sub_rows, n++)
            if (n < cap) start[n] = p, len[n] = chunk_end - p < sub_rows ? chunk_end - p : sub_rows;
    }
    return n;
}

// test_chunks.c: the GPU path's chunk layout (lib/chunks.c): every row in exactly one piece, pieces
// inside one chunk and at most sub_rows long, and the same pieces whatever the number of GPUs.
#include "chunks.h"
#include "test.h"

enum { MAXP = 4096 };

// The pieces of all GPUs, as absolute (start, len), in order, for n devices; returns the count.
static int plan(int rows, int cr, int sub, int n, int *s, int *l, int *gpus) {
    int used = reap_chunk_gpus(rows, cr, n), total = 0, next_row = 0;
    *gpus = used;
    for (int i = 0; i < used; i++) {
        int row0, count, ps[MAXP], pl[MAXP];
        reap_chunk_gpu_rows(rows, cr, used, i, &row0, &count);
        if (row0 != next_row || count <= 0 || row0 % cr) return -1;  // contiguous, non-empty, chunk-aligned
        next_row = row0 + count;
        int np = reap_chunk_pieces(count, cr, sub, ps, pl, MAXP);
        if (np > MAXP) return -1;
        for (int k = 0; k < np; k++) s[total] = row0 + ps[k], l[total] = pl[k], total++;
    }
    return next_row == rows ? total : -1;
}

static void test_chunk_pieces_same_for_any_gpu_count(void) {
    static int s1[MAXP], l1[MAXP], sn[MAXP], ln[MAXP];
    for (int rows = 1; rows <= 70; rows++)
        for (int cr = 1; cr <= 17; cr++)
            for (int sub = 1; sub <= cr; sub++) {
                int g1, n1 = plan(rows, cr, sub, 1, s1, l1, &g1);
                CHECK_MSG(n1 > 0 && g1 == 1, "rows %d chunk %d sub %d", rows, cr, sub);
                int at = 0;
                for (int k = 0; k < n1; k++) {
                    CHECK_MSG(s1[k] == at && l1[k] >= 1 && l1[k] <= sub, "rows %d chunk %d sub %d piece %d", rows, cr,
                              sub, k);
                    CHECK_MSG(s1[k] / cr == (s1[k] + l1[k] - 1) / cr, "piece %d crosses a chunk", k);  // one chunk
                    at += l1[k];
                }
                CHECK_EQ_INT(at, rows);
                for (int n = 2; n <= 9; n++) {
                    int gn, nn = plan(rows, cr, sub, n, sn, ln, &gn);
                    CHECK_MSG(nn == n1, "rows %d chunk %d sub %d gpus %d: %d pieces, one GPU %d", rows, cr, sub, n, nn, n1);
                    CHECK_EQ_INT(gn, n < (rows + cr - 1) / cr ? n : (rows + cr - 1) / cr);
                    for (int k = 0; k < n1; k++)
                        CHECK_MSG(sn[k] == s1[k] && ln[k] == l1[k], "rows %d chunk %d sub %d gpus %d piece %d", rows, cr,
                                  sub, n, k);
                }
            }
}

static void test_chunk_gpus_balanced(void) {
    // 64 chunks over 2, 3 and 8 GPUs: runs of whole chunks differing by at most one chunk
    for (int n = 2; n <= 8; n++) {
        int lo = 1 << 30, hi = 0;
        for (int i = 0; i < n; i++) {
            int row0, count;
            reap_chunk_gpu_rows(1024, 16, n, i, &row0, &count);
            lo = count < lo ? count : lo, hi = count > hi ? count : hi;
        }
        CHECK_MSG(hi - lo <= 16, "gpus %d: %d..%d rows", n, lo, hi);
    }
    CHECK_EQ_INT(reap_chunk_gpus(16, 16, 2), 1);  // one chunk: the second GPU stays idle
    CHECK_EQ_INT(reap_chunk_gpus(17, 16, 2), 2);
}

int main(void) {
    RUN(test_chunk_pieces_same_for_any_gpu_count);
    RUN(test_chunk_gpus_balanced);
    TEST_EXIT();
}

// chunks.h: how the GPU path cuts the packed rows into chunks (kernels/gpu.cu), as plain index
// arithmetic that the CPU tests check. Chunks of chunk_rows whole rows are laid over ALL rows, and
// GPU i of n takes a run of whole chunks; a router mode that needs twice the slots runs every chunk
// as pieces of sub_rows rows cut from the chunk's start. So each piece holds the same rows whatever
// the number of GPUs, and every GEMM sees the same operands: n GPUs give one GPU's statistics up
// to the order of their float64 sums (bench/RESULTS.md).
#ifndef REAP_CHUNKS_H
#define REAP_CHUNKS_H

// GPUs that get work when rows are cut into chunks of chunk_rows: min(n_devices, number of chunks).
int reap_chunk_gpus(int rows, int chunk_rows, int n_devices);
// Rows [*row0, *row0 + *count) of GPU i of n_used (n_used from reap_chunk_gpus): chunks
// [nch * i / n_used, nch * (i + 1) / n_used) of the nch chunks.
void reap_chunk_gpu_rows(int rows, int chunk_rows, int n_used, int i, int *row0, int *count);
// The pieces a GPU runs for its count rows (starting at a chunk boundary): every chunk of
// chunk_rows cut into pieces of at most sub_rows (<= chunk_rows) from the chunk's start. Writes up to
// cap pieces (start relative to the GPU's first row, and length) and returns how many there are.
int reap_chunk_pieces(int count, int chunk_rows, int sub_rows, int *start, int *len, int cap);

#endif

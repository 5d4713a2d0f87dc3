// dev_rates: the card's ceilings, measured: dense bf16 GEMM rate through cuBLAS (8192^3 on random
// data, and the expert-GEMM shapes of MiniMax-M2 at several tokens per expert), device-to-device
// copy bandwidth (bytes read + written), host-to-device bandwidth from pinned and pageable memory.
// Prints "RATE name value unit" lines that bench/gpu_bench.sh parses.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <algorithm>
#include <vector>

#define CU(x)                                                                                  \
    do {                                                                                       \
        cudaError_t e_ = (x);                                                                  \
        if (e_ != cudaSuccess) {                                                               \
            printf("FAIL %s: %s\n", #x, cudaGetErrorString(e_));                               \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

__global__ void fill_rand(__nv_bfloat16 *x, size_t n, unsigned seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 13, h *= 0x5bd1e995u, h ^= h >> 15;
        x[i] = __float2bfloat16(((h & 0xFFFF) / 32768.0f - 1.0f));
    }
}

template <class F> static double median_ms(F f, int reps) {
    cudaEvent_t a, b;
    cudaEventCreate(&a), cudaEventCreate(&b);
    for (int i = 0; i < 3; i++) f();
    std::vector<float> t;
    for (int i = 0; i < reps; i++) {
        cudaEventRecord(a);
        f();
        cudaEventRecord(b);
        cudaEventSynchronize(b);
        float ms;
        cudaEventElapsedTime(&ms, a, b);
        t.push_back(ms);
    }
    CU(cudaGetLastError());
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

int main(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
        printf("SKIP dev_rates: no CUDA device\n");
        return 0;
    }
    cudaDeviceProp p;
    CU(cudaGetDeviceProperties(&p, 0));
    printf("DEVICE %s, %d SMs, %.1f GiB\n", p.name, p.multiProcessorCount, p.totalGlobalMem / 1073741824.0);
    cublasHandle_t h;
    cublasCreate(&h);
    const float one = 1, zero = 0;
    {
        const int M = 8192;
        __nv_bfloat16 *A, *B, *C;
        CU(cudaMalloc(&A, (size_t)M * M * 2)); CU(cudaMalloc(&B, (size_t)M * M * 2)); CU(cudaMalloc(&C, (size_t)M * M * 2));
        fill_rand<<<1024, 256>>>(A, (size_t)M * M, 1); fill_rand<<<1024, 256>>>(B, (size_t)M * M, 2);
        double ms = median_ms([&] {
            cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, M, M, M, &one, A, CUDA_R_16BF, M, B, CUDA_R_16BF, M, &zero, C,
                         CUDA_R_16BF, M, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        }, 10);
        printf("RATE gemm_bf16_8192 %.1f TFLOP/s\n", 2.0 * M * M * M / ms / 1e9);
        CU(cudaFree(A)); CU(cudaFree(B)); CU(cudaFree(C));
    }
    {
        // expert shapes: (n x 3072) x (3072 -> 3072) gate|up with f32 out, (n x 1536) x (1536 -> 3072) down
        const int H = 3072, I = 1536, nmax = 8192;
        __nv_bfloat16 *W, *X;
        float *Y;
        CU(cudaMalloc(&W, (size_t)2 * I * H * 2)); CU(cudaMalloc(&X, (size_t)nmax * H * 2)); CU(cudaMalloc(&Y, (size_t)nmax * H * 4));
        fill_rand<<<1024, 256>>>(W, (size_t)2 * I * H, 3); fill_rand<<<1024, 256>>>(X, (size_t)nmax * H, 4);
        for (int nt : {256, 512, 1024, 2048, 4096, 8192}) {
            double ms1 = median_ms([&] {
                cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, 2 * I, nt, H, &one, W, CUDA_R_16BF, H, X, CUDA_R_16BF, H, &zero,
                             Y, CUDA_R_32F, 2 * I, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
            }, 10);
            double ms2 = median_ms([&] {
                cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, H, nt, I, &one, W, CUDA_R_16BF, I, X, CUDA_R_16BF, I, &zero, Y,
                             CUDA_R_32F, H, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
            }, 10);
            printf("RATE expert_gemm_n%d %.1f TFLOP/s (gate|up %.1f, down %.1f)\n", nt,
                   2.0 * nt * 3.0 * I * H / (ms1 + ms2) / 1e9, 2.0 * nt * 2 * I * H / ms1 / 1e9,
                   2.0 * nt * I * H / ms2 / 1e9);
        }
        CU(cudaFree(W)); CU(cudaFree(X)); CU(cudaFree(Y));
    }
    {
        // one chunk's routed expert GEMMs as the GPU path runs them: 256 experts with 512..1535 pairs
        // each (about 32k tokens x top 8), gate|up then down, one GEMM per expert against one grouped
        // GEMM (cublasGemmGroupedBatchedEx) over all experts; the outputs of the two must agree.
        const int H = 3072, I = 1536, E = 256;
        std::vector<int> off(E + 1, 0);
        unsigned x = 12345;
        for (int e = 0; e < E; e++) x = x * 1664525u + 1013904223u, off[e + 1] = off[e] + 512 + (int)(x >> 22);
        const int P = off[E];
        __nv_bfloat16 *W13, *W2, *X, *A;
        float *G, *G2, *Y, *Y2;
        CU(cudaMalloc(&W13, (size_t)E * 2 * I * H * 2)); CU(cudaMalloc(&W2, (size_t)E * H * I * 2));
        CU(cudaMalloc(&X, (size_t)P * H * 2)); CU(cudaMalloc(&A, (size_t)P * I * 2));
        CU(cudaMalloc(&G, (size_t)P * 2 * I * 4)); CU(cudaMalloc(&G2, (size_t)P * 2 * I * 4));
        CU(cudaMalloc(&Y, (size_t)P * H * 4)); CU(cudaMalloc(&Y2, (size_t)P * H * 4));
        fill_rand<<<1024, 256>>>(W13, (size_t)E * 2 * I * H, 5); fill_rand<<<1024, 256>>>(W2, (size_t)E * H * I, 6);
        fill_rand<<<1024, 256>>>(X, (size_t)P * H, 7); fill_rand<<<1024, 256>>>(A, (size_t)P * I, 8);
        auto loop = [&](float *g, float *y) {
            for (int e = 0; e < E; e++) {
                int n = off[e + 1] - off[e];
                cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, 2 * I, n, H, &one, W13 + (size_t)e * 2 * I * H, CUDA_R_16BF, H,
                             X + (size_t)off[e] * H, CUDA_R_16BF, H, &zero, g + (size_t)off[e] * 2 * I, CUDA_R_32F, 2 * I,
                             CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
            }
            for (int e = 0; e < E; e++) {
                int n = off[e + 1] - off[e];
                cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, H, n, I, &one, W2 + (size_t)e * H * I, CUDA_R_16BF, I,
                             A + (size_t)off[e] * I, CUDA_R_16BF, I, &zero, y + (size_t)off[e] * H, CUDA_R_32F, H,
                             CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
            }
        };
        std::vector<void *> hp(6 * E);
        std::vector<int> gm(2 * E), gn(2 * E), gk(2 * E), gsz(E, 1);
        std::vector<cublasOperation_t> ta(E, CUBLAS_OP_T), tb(E, CUBLAS_OP_N);
        std::vector<float> al(E, 1.f), be(E, 0.f);
        for (int e = 0; e < E; e++) {
            int n = off[e + 1] - off[e];
            hp[e] = W13 + (size_t)e * 2 * I * H, hp[E + e] = X + (size_t)off[e] * H, hp[2 * E + e] = G2 + (size_t)off[e] * 2 * I;
            hp[3 * E + e] = W2 + (size_t)e * H * I, hp[4 * E + e] = A + (size_t)off[e] * I, hp[5 * E + e] = Y2 + (size_t)off[e] * H;
            gm[e] = 2 * I, gk[e] = H, gm[E + e] = H, gk[E + e] = I, gn[e] = gn[E + e] = n;
        }
        void **dp;
        CU(cudaMalloc(&dp, 6 * E * sizeof(void *)));
        CU(cudaMemcpy(dp, hp.data(), 6 * E * sizeof(void *), cudaMemcpyHostToDevice));
        int gst = 0;
        auto grouped = [&]() {
            gst |= cublasGemmGroupedBatchedEx(h, ta.data(), tb.data(), gm.data(), gn.data(), gk.data(), al.data(),
                                              (const void *const *)dp, CUDA_R_16BF, gk.data(), (const void *const *)(dp + E),
                                              CUDA_R_16BF, gk.data(), be.data(), dp + 2 * E, CUDA_R_32F, gm.data(), E,
                                              gsz.data(), CUBLAS_COMPUTE_32F);
            gst |= cublasGemmGroupedBatchedEx(h, ta.data(), tb.data(), gm.data() + E, gn.data() + E, gk.data() + E,
                                              al.data(), (const void *const *)(dp + 3 * E), CUDA_R_16BF, gk.data() + E,
                                              (const void *const *)(dp + 4 * E), CUDA_R_16BF, gk.data() + E, be.data(),
                                              dp + 5 * E, CUDA_R_32F, gm.data() + E, E, gsz.data(), CUBLAS_COMPUTE_32F);
        };
        double fl = 2.0 * P * 3.0 * I * H;
        double ms1 = median_ms([&] { loop(G, Y); }, 10);
        printf("RATE experts_chunk_loop %.1f TFLOP/s (%d pairs, %d GEMMs, %.3f ms)\n", fl / ms1 / 1e9, P, 2 * E, ms1);
        double ms2 = median_ms(grouped, 10);
        if (gst) printf("FAIL experts_chunk_grouped: cuBLAS status %d\n", gst);
        else {
            std::vector<float> a((size_t)P * H), b((size_t)P * H);
            CU(cudaMemcpy(a.data(), Y, a.size() * 4, cudaMemcpyDeviceToHost));
            CU(cudaMemcpy(b.data(), Y2, b.size() * 4, cudaMemcpyDeviceToHost));
            double d = 0, r = 0;
            for (size_t i = 0; i < a.size(); i++) d += (a[i] - b[i]) * (double)(a[i] - b[i]), r += (double)a[i] * a[i];
            printf("RATE experts_chunk_grouped %.1f TFLOP/s (2 grouped GEMMs, %.3f ms; rel L2 vs loop %.2e)\n",
                   fl / ms2 / 1e9, ms2, sqrt(d / r));
        }
        CU(cudaFree(dp)); CU(cudaFree(W13)); CU(cudaFree(W2)); CU(cudaFree(X)); CU(cudaFree(A));
        CU(cudaFree(G)); CU(cudaFree(G2)); CU(cudaFree(Y)); CU(cudaFree(Y2));
    }
    {
        size_t bytes = (size_t)2 << 30;
        void *a, *b;
        CU(cudaMalloc(&a, bytes)); CU(cudaMalloc(&b, bytes));
        CU(cudaMemset(a, 1, bytes));
        double ms = median_ms([&] { cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice); }, 10);
        printf("RATE copy_d2d %.0f GB/s (read + write)\n", 2.0 * bytes / ms / 1e6);
        void *hp;
        CU(cudaMallocHost(&hp, bytes));
        memset(hp, 1, bytes);
        ms = median_ms([&] { cudaMemcpyAsync(a, hp, bytes, cudaMemcpyHostToDevice); }, 5);
        printf("RATE h2d_pinned %.1f GB/s\n", bytes / ms / 1e6);
        CU(cudaFreeHost(hp));
        void *hq = malloc(bytes);
        memset(hq, 1, bytes);
        ms = median_ms([&] { cudaMemcpy(a, hq, bytes, cudaMemcpyHostToDevice); }, 3);
        printf("RATE h2d_pageable %.1f GB/s\n", bytes / ms / 1e6);
        free(hq);
        CU(cudaFree(a)); CU(cudaFree(b));
    }
    return 0;
}

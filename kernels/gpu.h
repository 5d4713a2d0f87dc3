// gpu.h: the CUDA path of the forward pass + observer, called by `reap score --device cuda`.
// Same inputs and statistics as reap_layer_forward_cpu (lib/forward.h), which is its reference.
// Built only with CUDA=1 (kernels/*.cu); with CUDA=0, lib/gpu_stub.c makes every call fail with
// REAP_EDEVICE "built without CUDA".
#ifndef REAP_GPU_H
#define REAP_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "forward.h"

typedef struct reap_gpu reap_gpu;

typedef struct {
    const int *devices;  // GPU ordinals to use (rows split across them)
    int n_devices;
    size_t mem_cap;      // bytes per GPU the run may use (0: no cap); fail clearly if too small
    int rows, T;         // packed rows and their length
} reap_gpu_params;

// Number of visible CUDA devices (0 when none or built without CUDA).
int reap_gpu_count(void);
int reap_gpu_open(const reap_m2_config *cfg, const reap_gpu_params *p, reap_gpu **out);
void reap_gpu_close(reap_gpu *g);  // accepts NULL
// One decoder layer on h (rows*T, H) f32 host memory in place, accumulating st exactly like
// reap_layer_forward_cpu (within the tolerance stated in the tests).
int reap_gpu_layer_forward(reap_gpu *g, const reap_layer_weights *w, float *h, const uint8_t *mask,
                           reap_router_mode mode, reap_layer_stats *st);
// Peak device memory used so far (bytes, max over devices) and a per-phase time breakdown
// (seconds: h2d, attention, router, experts, stats) for progress lines and benchmarks.
size_t reap_gpu_peak_mem(const reap_gpu *g);
void reap_gpu_times(const reap_gpu *g, double t[5]);

#endif

// env.c: see env.h.
#include "env.h"

#include <errno.h>
#include <stdlib.h>

#include "common.h"
#include "cpu_simd.h"
#include "layer_load.h"
#include "synth.h"

// A positive integer from environment variable name into *out (unchanged when unset).
static int env_positive(const char *name, long long max, long long *out) {
    const char *s = getenv(name);
    if (!s) return REAP_OK;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < 1 || v > max)
        return reap_fail(REAP_EUSAGE, "%s=%s: must be an integer in [1, %lld]", name, s, max);
    *out = v;
    return REAP_OK;
}

int reap_cmd_env_layer_load(reap_layer_load_opts *o) {
    long long threads = o->threads, part = (long long)o->part_bytes;
    int st = o->threads > 0 ? REAP_OK : env_positive("REAP_READ_THREADS", 256, &threads);
    if (!st && !o->part_bytes) st = env_positive("REAP_READ_PART_BYTES", 1LL << 40, &part);
    if (st) return st;
    o->threads = (int)threads, o->part_bytes = (size_t)part;
    return REAP_OK;
}

int reap_cmd_read_options(const char *cmd, const char *read_part, const char *cpu_isa, reap_layer_load_opts *o) {
    if (read_part) {
        uint64_t b;
        if (reap_synth_parse_size(read_part, &b) || b == 0 || b > ((uint64_t)1 << 40))
            return reap_fail(REAP_EUSAGE, "reap %s: --read-part-bytes: bad size '%s' (1 byte to 1 TiB)", cmd, read_part);
        o->part_bytes = (size_t)b;
    }
    if (cpu_isa && reap_cpu_simd_select(cpu_isa) != 0)
        return reap_fail(REAP_EUSAGE, "reap %s: --cpu-isa %s: expected avx512, avx2 or generic (one this CPU has)", cmd,
                         cpu_isa);
    return reap_cmd_env_layer_load(o);
}

int reap_cmd_env_test_slow_ms(void) {
    const char *s = getenv("REAP_TEST_SLOW_MS");
    int ms = s ? atoi(s) : 0;
    return ms > 0 ? ms : 0;
}

int reap_cmd_env_columns(void) {
    const char *s = getenv("COLUMNS");
    long v = s ? strtol(s, NULL, 10) : 0;
    return v > 0 && v < 100000 ? (int)v : 0;
}

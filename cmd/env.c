// env.c: see env.h.
#include "env.h"

#include <errno.h>
#include <stdlib.h>

#include "common.h"
#include "layer_load.h"

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

int reap_cmd_env_layer_load(void) {
    long long threads = 0, part = 0;
    int st = env_positive("REAP_READ_THREADS", 1 << 20, &threads);
    if (!st) st = env_positive("REAP_READ_PART_BYTES", 1LL << 40, &part);
    if (st) return st;
    reap_layer_load_set_default_opts(&(reap_layer_load_opts){.threads = (int)threads, .part_bytes = (size_t)part});
    return REAP_OK;
}

int reap_cmd_env_test_slow_ms(void) {
    const char *s = getenv("REAP_TEST_SLOW_MS");
    int ms = s ? atoi(s) : 0;
    return ms > 0 ? ms : 0;
}

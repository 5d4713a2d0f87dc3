// tool_readrate.c: measures how fast reap_layer_load_parts reads layers from disk (not a test).
//   tool_readrate DIR [--layers N] [--threads 1,2,4,8,16]
// For each thread count, reads layers 0..N-1 of the checkpoint DIR into one malloc'd buffer of
// reap_layer_arena_bytes (touched once before timing, as the pinned buffer of a GPU run is) and
// prints
//   READ threads T layers N bytes B seconds S GBps X
// B is the bytes of the layers' tensors in the files (what the disk delivers), X = B / S / 1e9.
// Each pass reads from the disk, not the page cache: the loader drops each expert tensor's pages
// after reading it (posix_fadvise DONTNEED), and before each pass this tool drops every page of the
// checkpoint's shards. Dirty pages (a checkpoint written moments ago and not yet flushed) cannot
// be dropped; sync first. Default: 2 layers, threads 1,2,4,8,16.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "common.h"
#include "forward.h"
#include "m2config.h"

static int usage(void) {
    fprintf(stderr, "usage: tool_readrate DIR [--layers N] [--threads 1,2,4,8,16]\n");
    return 2;
}

// Bytes of the tensors of layers 0..n-1 in the files.
static uint64_t layer_tensor_bytes(const reap_ckpt *c, int n) {
    uint64_t b = 0;
    for (int i = 0; i < c->n_tensors; i++) {
        const reap_ckpt_tensor *t = &c->tensors[i];
        int l;
        if (sscanf(t->name, "model.layers.%d.", &l) == 1 && l >= 0 && l < n) b += reap_st_nbytes(t->t);
    }
    return b;
}

// Drops every page of every shard from the page cache (whole files: dropping tensor by tensor
// keeps the pages that two tensors share, and small tensors share many).
static void drop_cache(const reap_ckpt *c) {
    for (int i = 0; i < c->n_shards; i++) (void)posix_fadvise(c->shards[i]->fd, 0, 0, POSIX_FADV_DONTNEED);
}

int main(int argc, char **argv) {
    const char *dir = NULL, *threads = "1,2,4,8,16";
    int n = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--layers") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = argv[++i];
        else if (argv[i][0] != '-' && !dir) dir = argv[i];
        else return usage();
    }
    if (!dir || n < 1) return usage();
    reap_ckpt *c = NULL;
    reap_m2_config cfg;
    int st = reap_ckpt_open(dir, &c);
    char *cpath = reap_path_join(dir, "config.json");
    if (!st) st = reap_m2_config_parse(c->config, cpath, &cfg);
    free(cpath);
    if (st) {
        fprintf(stderr, "tool_readrate: %s\n", reap_err_msg());
        reap_ckpt_close(c);
        return 1;
    }
    if (n > cfg.n_layers) n = cfg.n_layers;
    size_t cap = 0;
    for (int l = 0; l < n && !st; l++) {
        size_t b;
        if (!(st = reap_layer_arena_bytes(c, &cfg, l, &b)) && b > cap) cap = b;
    }
    uint8_t *arena = st ? NULL : malloc(cap);
    if (!st && !arena) st = reap_fail(REAP_EIO, "cannot allocate %zu bytes", cap);
    if (!st) memset(arena, 0, cap);  // page faults are not the disk's time
    uint64_t bytes = layer_tensor_bytes(c, n);
    printf("# %s: %d layers, %llu bytes of tensors per pass, buffer %zu bytes\n", dir, n, (unsigned long long)bytes,
           cap);
    for (const char *p = threads; !st && *p;) {
        char *end;
        long t = strtol(p, &end, 10);
        if (end == p || t < 1) {
            st = reap_fail(REAP_EUSAGE, "--threads: bad list '%s'", threads);
            break;
        }
        p = *end == ',' ? end + 1 : end;
        drop_cache(c);
        double t0 = reap_now();
        for (int l = 0; l < n && !st; l++) {
            reap_layer_weights w;
            if (!(st = reap_layer_load_parts(c, &cfg, l, arena, cap, (int)t, NULL, NULL, &w))) reap_layer_forget(&w);
        }
        double s = reap_now() - t0;
        if (!st)
            printf("READ threads %ld layers %d bytes %llu seconds %.3f GBps %.3f\n", t, n, (unsigned long long)bytes, s,
                   s > 0 ? (double)bytes / s / 1e9 : 0.0);
        fflush(stdout);
    }
    if (st) fprintf(stderr, "tool_readrate: %s\n", reap_err_msg());
    free(arena);
    reap_ckpt_close(c);
    return st ? 1 : 0;
}

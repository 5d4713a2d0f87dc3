// tool_stio.c: test helper for tests/py/check_safetensors.py (not a test itself).
//   tool_stio write PATH   one tensor of every dtype ("t.<DTYPE>", plus an empty "t.empty"), bytes
//                          from a per-tensor LCG (see gen() below; the Python check re-derives them)
//   tool_stio dump PATH    reads PATH with our reader; prints "meta<TAB>key<TAB>value" per metadata
//                          entry, then "tensor<TAB>name<TAB>dtype<TAB>d0,d1,..<TAB>sha256" in file order
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "safetensors.h"

// Byte i of tensor k: LCG state s_{i+1} = s_i * 1664525 + 1013904223 (mod 2^32), s_0 = 1000 + k,
// byte = s_{i+1} >> 24 (BOOL: & 1).
static void gen(int k, reap_dtype dt, uint8_t *p, size_t n) {
    uint32_t s = 1000u + (uint32_t)k;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (uint8_t)(s >> 24);
        if (dt == REAP_DT_BOOL)
            p[i] &= 1;
    }
}

static int do_write(const char *path) {
    static const struct {
        reap_dtype dt;
        int ndim;
        int64_t shape[3];
    } t[] = {
        {REAP_DT_BOOL, 2, {3, 5}},   {REAP_DT_U8, 1, {7}},         {REAP_DT_I8, 3, {2, 2, 2}},
        {REAP_DT_U16, 2, {4, 3}},    {REAP_DT_I16, 1, {5}},        {REAP_DT_U32, 2, {2, 3}},
        {REAP_DT_I32, 2, {1, 4}},    {REAP_DT_U64, 1, {3}},        {REAP_DT_I64, 0, {0}},
        {REAP_DT_F16, 2, {2, 5}},    {REAP_DT_BF16, 2, {3, 4}},    {REAP_DT_F32, 2, {4, 4}},
        {REAP_DT_F64, 2, {2, 3}},    {REAP_DT_F8_E4M3, 2, {5, 7}}, {REAP_DT_F8_E5M2, 1, {16}},
    };
    int n = (int)(sizeof t / sizeof t[0]);
    reap_st_writer *w;
    int st = reap_st_writer_open(path, &w);
    if (st)
        return st;
    reap_st_writer_meta(w, "format", "pt");
    reap_st_writer_meta(w, "tool", "reap tool_stio");
    char name[64];
    for (int k = 0; k < n; k++) {
        snprintf(name, sizeof name, "t.%s", reap_dtype_name(t[k].dt));
        if ((st = reap_st_writer_add(w, name, t[k].dt, t[k].ndim, t[k].shape)) != REAP_OK)
            goto fail;
    }
    int64_t empty[2] = {0, 3};
    if ((st = reap_st_writer_add(w, "t.empty", REAP_DT_F32, 2, empty)) != REAP_OK ||
        (st = reap_st_writer_begin(w)) != REAP_OK)
        goto fail;
    for (int k = 0; k < n; k++) {
        size_t nb = reap_dtype_size(t[k].dt);
        for (int d = 0; d < t[k].ndim; d++)
            nb *= (size_t)t[k].shape[d];
        uint8_t buf[256];
        gen(k, t[k].dt, buf, nb);
        if ((st = reap_st_writer_write(w, buf, nb)) != REAP_OK)
            goto fail;
    }
    return reap_st_writer_finish(w);
fail:
    reap_st_writer_abort(w);
    return st;
}

static int do_dump(const char *path) {
    reap_st_file *f;
    int st = reap_st_open(path, &f);
    if (st)
        return st;
    for (int i = 0; i < f->n_meta; i++)
        printf("meta\t%s\t%s\n", f->meta_keys[i], f->meta_vals[i]);
    for (int i = 0; i < f->n_tensors && st == REAP_OK; i++) {
        const reap_st_tensor *t = &f->tensors[i];
        uint64_t nb = reap_st_nbytes(t);
        uint8_t *buf = reap_xmalloc(nb ? nb : 1);
        if ((st = reap_st_read(f, t, 0, nb, buf)) == REAP_OK) {
            char hex[65];
            reap_sha256_buf(buf, nb, hex);
            printf("tensor\t%s\t%s\t", t->name, reap_dtype_name(t->dtype));
            for (int d = 0; d < t->ndim; d++)
                printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
            printf("\t%s\n", hex);
        }
        free(buf);
    }
    reap_st_close(f);
    return st;
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "dump") != 0)) {
        fprintf(stderr, "usage: tool_stio write|dump PATH\n");
        return 2;
    }
    int st = strcmp(argv[1], "write") == 0 ? do_write(argv[2]) : do_dump(argv[2]);
    if (st != REAP_OK) {
        fprintf(stderr, "tool_stio: %s\n", reap_err_msg());
        return 1;
    }
    return 0;
}

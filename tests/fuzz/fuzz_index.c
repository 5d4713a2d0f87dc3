// fuzz_index: model.safetensors.index.json through reap_ckpt_open, in a scratch checkpoint
// directory that holds two small shards (a, b in model-00001-of-00002.safetensors; c in
// model-00002-of-00002.safetensors), a file that is no shard and a symlink leading outside the
// directory. On success every tensor is found by name and read whole.
#include "ckpt.h"
#include "fuzz.h"

static void write_shard(const char *name, int n, const char *const *names, const int64_t *dims) {
    reap_st_writer *w;
    FUZZ_CHECK(reap_st_writer_open(fuzz_path(name), &w) == REAP_OK);
    FUZZ_CHECK(reap_st_writer_meta(w, "format", "pt") == REAP_OK);
    uint64_t bytes = 0;
    for (int i = 0; i < n; i++) {
        FUZZ_CHECK(reap_st_writer_add(w, names[i], REAP_DT_F32, 1, &dims[i]) == REAP_OK);
        bytes += (uint64_t)dims[i] * 4;
    }
    FUZZ_CHECK(reap_st_writer_begin(w) == REAP_OK);
    float v[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    FUZZ_CHECK(bytes <= sizeof v && reap_st_writer_write(w, v, bytes) == REAP_OK);
    FUZZ_CHECK(reap_st_writer_finish(w) == REAP_OK);
}

static void setup(void) {
    static int done;
    if (done) return;
    done = 1;
    write_shard("model-00001-of-00002.safetensors", 2, (const char *const[]){"a", "b"}, (const int64_t[]){2, 4});
    write_shard("model-00002-of-00002.safetensors", 1, (const char *const[]){"c"}, (const int64_t[]){3});
    fuzz_write_file(fuzz_path("notes.txt"), "not a shard\n", 12);
    FUZZ_CHECK(symlink("/etc/hostname", fuzz_path("outside.safetensors")) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    fuzz_write_file(fuzz_path("model.safetensors.index.json"), data, size);
    reap_ckpt *c = NULL;
    if (reap_ckpt_open(fuzz_dir(), &c) != REAP_OK) {
        FUZZ_CHECK(c == NULL);
        return 0;
    }
    FUZZ_CHECK(c->has_index && c->n_shards >= 1 && c->n_shards <= 2);
    for (int i = 0; i < c->n_tensors; i++) {
        const reap_ckpt_tensor *t = reap_ckpt_find(c, c->tensors[i].name);
        FUZZ_CHECK(t == &c->tensors[i] && t->shard >= 0 && t->shard < c->n_shards);
        uint8_t buf[64];
        FUZZ_CHECK(reap_st_nbytes(t->t) <= sizeof buf && reap_ckpt_read_raw(c, t->name, buf) == REAP_OK);
    }
    reap_ckpt_close(c);
    return 0;
}

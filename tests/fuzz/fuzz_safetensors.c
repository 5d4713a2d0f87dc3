// fuzz_safetensors: a whole safetensors file (u64 header length, JSON header, data) through
// reap_st_open, then every tensor looked up by name and its first bytes read. Invariants checked on
// what the reader accepts: tensors sorted and contiguous inside the data region, names findable.
#include "fuzz.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_memfd_path(data, size);
    reap_st_file *f = NULL;
    if (reap_st_open(path, &f) != REAP_OK) {
        FUZZ_CHECK(f == NULL);
        return 0;
    }
    FUZZ_CHECK(f->data_offset == 8 + f->header_len && f->data_offset <= f->file_size);
    uint64_t pos = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        const reap_st_tensor *t = &f->tensors[i];
        FUZZ_CHECK(t->begin == pos && t->end >= t->begin && t->end - t->begin == reap_st_nbytes(t));
        FUZZ_CHECK(reap_st_numel(t) >= 0);
        pos = t->end;
        FUZZ_CHECK(reap_st_find(f, t->name) == t);
        uint8_t buf[64];
        uint64_t n = reap_st_nbytes(t) < sizeof buf ? reap_st_nbytes(t) : sizeof buf;
        FUZZ_CHECK(reap_st_read(f, t, 0, n, buf) == REAP_OK);
    }
    FUZZ_CHECK(f->data_offset + pos == f->file_size);
    for (int i = 0; i < f->n_meta; i++) FUZZ_CHECK(f->meta_keys[i] && f->meta_vals[i]);
    reap_st_close(f);
    return 0;
}

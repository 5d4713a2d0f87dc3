// safetensors.h: strict reader and deterministic streaming writer of the safetensors format.
//
// File layout: u64 little-endian header length N, N bytes of JSON header, then the data region.
// Header: {"__metadata__": {str: str}, name: {"dtype": D, "shape": [..], "data_offsets": [b, e]}}
// with offsets relative to the data region. The reader validates like the Rust reference:
// N <= 100 MB and inside the file, JSON object, known dtypes, overflow-checked shapes and offsets,
// byte size == elements x dtype size, offsets sorted, contiguous, no holes, ending exactly at the
// end of the file, no duplicate names, __metadata__ values strings. Errors name file and tensor.
#ifndef REAP_SAFETENSORS_H
#define REAP_SAFETENSORS_H

#include <stdint.h>
#include <stddef.h>

#include "dtype.h"

#define REAP_ST_MAX_DIMS 8
#define REAP_ST_MAX_HEADER (100u * 1000u * 1000u)

typedef struct {
    char *name;
    reap_dtype dtype;
    int ndim;
    int64_t shape[REAP_ST_MAX_DIMS];
    uint64_t begin, end;  // byte offsets relative to the data region
} reap_st_tensor;

typedef struct {
    char *path;
    int fd;                // opened O_RDONLY
    uint64_t file_size;
    uint64_t header_len;   // N
    uint64_t data_offset;  // 8 + N: absolute file offset of the data region
    int n_tensors;
    reap_st_tensor *tensors;  // sorted by begin offset (file order)
    int *by_name;             // indices into tensors, sorted by name (for bsearch)
    int n_meta;
    char **meta_keys, **meta_vals;  // __metadata__, in header order
} reap_st_file;

int reap_st_open(const char *path, reap_st_file **out);
void reap_st_close(reap_st_file *f);  // accepts NULL
// Frees what reap_st_parse_header allocated in f (tensors, names, metadata); f itself is kept.
void reap_st_clear(reap_st_file *f);
// Validates a header in memory (the bytes after the 8-byte length); data_size is the file size
// minus 8 minus len. Used by reap_st_open, exposed for tests. path is used in messages only.
int reap_st_parse_header(const char *path, const char *hdr, size_t len, uint64_t data_size,
                         reap_st_file *f);

const reap_st_tensor *reap_st_find(const reap_st_file *f, const char *name);  // NULL if absent
int64_t reap_st_numel(const reap_st_tensor *t);
uint64_t reap_st_nbytes(const reap_st_tensor *t);
// Reads len bytes at offset off inside tensor t into dst (pread; no mmap residency).
int reap_st_read(const reap_st_file *f, const reap_st_tensor *t, uint64_t off, uint64_t len, void *dst);
// By default reap_st_release drops a tensor's pages from the page cache after reading it, so that
// streaming a model larger than RAM does not evict everything else; keep = 1 leaves them cached
// (`--keep-page-cache` of score, eval, prune and verify, or REAP_KEEP_PAGE_CACHE=1, for repeated runs
// over a model that fits in RAM).
void reap_st_keep_page_cache(int keep);
int reap_st_keeping_page_cache(void);
void reap_st_release(const reap_st_file *f, const reap_st_tensor *t);
// The same for bytes [off, off + len) of the file.
void reap_st_release_range(const reap_st_file *f, uint64_t off, uint64_t len);

// Exact reads past the page cache, for readers that take some tensors of a file and skip others
// (prune's survivors, verify's): through the page cache the kernel's readahead also reads much of
// what lies between them. reap_st_direct_open opens f again with O_DIRECT: -1 where the filesystem
// refuses it or with --keep-page-cache (the pages are wanted then). reap_st_read_direct reads bytes
// [off, off + len) of the file (absolute offsets) through dfd into buf, which must be page-aligned
// and hold len + 2 x REAP_DIO_ALIGN bytes; *at is where the bytes start in buf. With dfd -1, or
// when the device refuses the alignment, it reads through the page cache (and releases the pages).
#define REAP_DIO_ALIGN 4096
int reap_st_direct_open(const reap_st_file *f);
int reap_st_read_direct(const reap_st_file *f, int dfd, uint64_t off, uint64_t len, char *buf, size_t *at);

// ---- Writer. Declare every tensor (in data order), then reap_st_writer_begin writes the header,
// then the data of each tensor is appended in declaration order (or written at its offset by
// reap_st_writer_pwrite), then finish. The file is
// written to "<path>.tmp.<pid>" and renamed on finish (fsync file, rename, fsync directory).
// Header: {"__metadata__":{...}} first (keys in insertion order) then tensors in data order,
// compact JSON, padded with spaces so the data region starts 8-byte aligned. Same input, same bytes.
typedef struct reap_st_writer reap_st_writer;

int reap_st_writer_open(const char *path, reap_st_writer **out);
int reap_st_writer_meta(reap_st_writer *w, const char *key, const char *value);
int reap_st_writer_add(reap_st_writer *w, const char *name, reap_dtype dt, int ndim, const int64_t *shape);
int reap_st_writer_begin(reap_st_writer *w);
uint64_t reap_st_writer_data_size(const reap_st_writer *w);  // total bytes of declared tensors
int reap_st_writer_write(reap_st_writer *w, const void *data, size_t len);
// Appends len bytes as a file hole (for sparse synthetic checkpoints); reads back as zeros.
int reap_st_writer_skip(reap_st_writer *w, uint64_t len);
// Positional writes, instead of appending, from any number of threads at once: len bytes at data
// offset off (0 = the first tensor's first byte). Each declared byte must be written exactly once:
// finish checks the count. Not to be mixed with the appending calls.
int reap_st_writer_pwrite(reap_st_writer *w, uint64_t off, const void *data, size_t len);
// Checks that exactly the declared bytes were written, fsyncs, renames into place. Frees w;
// on failure it also removes the temporary file (no abort needed).
int reap_st_writer_finish(reap_st_writer *w);
// Removes the temporary file and frees w (accepts NULL). Safe to call after a failed call.
void reap_st_writer_abort(reap_st_writer *w);
// Path of the temporary file (for signal handlers that must unlink it).
const char *reap_st_writer_tmp_path(const reap_st_writer *w);

#endif

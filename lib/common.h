// common.h: status codes, error messages, logging and small file-system helpers shared by
// every module. Two error paths (STYLE.md): a reap_status plus a message for bad input, I/O and
// device errors; REAP_ASSERT (abort with file:line) for broken invariants only.
#ifndef REAP_COMMON_H
#define REAP_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REAP_VERSION "0.1.0"

typedef enum {
    REAP_OK = 0,
    REAP_EUSAGE,   // bad command line (exit 2)
    REAP_EINVAL,   // bad input file or value (exit 1)
    REAP_EIO,      // read/write/fsync failed (exit 1)
    REAP_ENOMEM,   // allocation failed (exit 1)
    REAP_EVERIFY,  // `reap verify` found a mismatch (exit 3)
    REAP_EDEVICE,  // CUDA / NCCL error (exit 4)
    REAP_EINTR,    // interrupted by SIGINT/SIGTERM (exit 130)
    REAP_STATUS_COUNT
} reap_status;

// The last error message of this thread. Functions that return a status != REAP_OK set it.
void reap_err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *reap_err_msg(void);
// Sets the message and returns st, so callers can write `return reap_fail(REAP_EINVAL, ...)`.
int reap_fail(int st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Exit code for a status (documented in README "Exit codes").
int reap_exit_code(int st);

// Broken invariants: print file:line and abort.
_Noreturn void reap_abort(const char *file, int line, const char *what);
#define REAP_ASSERT(c) do { if (!(c)) reap_abort(__FILE__, __LINE__, #c); } while (0)

// Allocation that aborts with a clear message: used where a failure is not recoverable input.
void *reap_xmalloc(size_t n);
void *reap_xcalloc(size_t n, size_t size);
void *reap_xrealloc(void *p, size_t n);
char *reap_xstrdup(const char *s);
// Buffers of gigabytes (hidden states): zero-filled anonymous memory on 2 MiB boundaries with
// transparent huge pages asked for, so the first touch faults once per 2 MiB instead of once per
// 4 KiB and page-locking it for a GPU is cheaper. Freed with reap_big_free and the same n.
void *reap_big_alloc(size_t n);
void reap_big_free(void *p, size_t n);
char *reap_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Logging on stderr. Level: -1 quiet (errors only), 0 normal, 1 verbose (-v), 2 debug (-vv).
extern int reap_log_level;
void reap_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));    // level >= 0
void reap_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2))); // level >= 1
void reap_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));    // level >= -1... shown unless -q
// A progress display on a terminal: lib/progress.h (these loggers clear its line first).

// Wall clock in seconds (monotonic).
double reap_now(void);
// Seconds since this process started (the kernel's start time in /proc/self/stat against
// CLOCK_BOOTTIME: exec and the loading of shared libraries included; 10 ms resolution); -1 where
// /proc is not there.
double reap_process_age(void);

// File-system helpers. All return REAP_OK or a status with a message naming the path.
int reap_fsync_dir(const char *dir);
int reap_mkdir_p(const char *dir);
int reap_read_file(const char *path, char **data, size_t *len); // whole small file, NUL-terminated
// Opens path read-only (O_CLOEXEC) into *fd, refusing anything that is not a regular file (or a
// symlink to one) before a blocking open: a FIFO opened plainly waits forever for a writer.
// Errors name path: a missing file REAP_EINVAL, a special file REAP_EINVAL, others REAP_EIO.
int reap_open_regular(const char *path, int *fd);
// pread exactly len bytes at off (EINTR retried, 1 GiB per call). Returns 0, an errno value, or -1
// for an unexpected end of file; reap_pread_strerror turns that into words for a message.
int reap_pread_all(int fd, void *dst, uint64_t len, uint64_t off);
const char *reap_pread_strerror(int e);
// What an output path names now. Only a new path or a regular file is written to a temporary file
// and renamed into place; a stream (character device such as /dev/null, FIFO, or a descriptor
// path: /dev/stdout, /dev/stderr, /dev/fd/N, /proc/{self,PID}/fd/N) is written in place; anything
// else (directory, block device, socket)
// is refused. Renaming over a device node would replace it for every program on the machine.
typedef enum { REAP_DEST_NEW, REAP_DEST_FILE, REAP_DEST_STREAM, REAP_DEST_OTHER } reap_dest;
reap_dest reap_dest_of(const char *path);
// A whole output file by reap_dest_of's rules: tmp + fsync + rename + fsync dir for a regular file
// (through a symbolic link, the file it names is replaced and the link kept), in place for a stream.
int reap_write_file_atomic(const char *path, const void *data, size_t len);
// Checksummed files (score's work dir): the data, then a 30-byte line "\n#reap-xxh64 <16 hex>\n"
// holding reap_checksum64 of the data, so a flipped bit or a truncation is found when read back.
#define REAP_SEAL_BYTES 30
int reap_write_file_sealed(const char *path, const void *data, size_t len);  // atomic, as above
// Reads a sealed file, checks and strips the line: *data (NUL-terminated) and *len are the data.
// REAP_EINVAL "PATH: corrupt: ..." on a missing line or a checksum that differs.
int reap_read_file_sealed(const char *path, char **data, size_t *len);
void reap_seal_line(uint64_t sum, char out[REAP_SEAL_BYTES + 1]);  // the line for checksum sum
int reap_seal_parse(const char *line, uint64_t *sum);  // line: REAP_SEAL_BYTES bytes; 1 if well formed
// Checks that line (REAP_SEAL_BYTES bytes) is the seal of data[0, len): REAP_EINVAL naming path if not.
int reap_seal_check(const char *path, const void *data, size_t len, const char *line);
// Checks, before a long run, that reap_write_file_atomic(path, ...) of about `bytes` can succeed:
// the directory exists, a file can be created in it (read-only file system, permissions), and its
// file system has room (statvfs, where it tells); a stream is opened for writing. Errors name path.
int reap_check_output(const char *path, uint64_t bytes);
// Puts the finished directory tmp in place of out (a sibling). When out exists the two are exchanged
// in one step (renameat2 RENAME_EXCHANGE: out is never absent, and a kill at any moment leaves out
// whole, old or new); *old (malloc'd) then names what to delete: the old output, now at tmp. File
// systems without the exchange fall back to renaming out aside to OUT.old-PID first (*old names it).
// *old is NULL when out did not exist. Then fsyncs the parent directory.
int reap_dir_replace(const char *tmp, const char *out, char **old);
int reap_copy_file(const char *src, const char *dst); // streamed copy + fsync (dst written in place)
char *reap_path_join(const char *a, const char *b);  // malloc'd "a/b"
char *reap_path_dir(const char *path);  // malloc'd directory part: "a/b" -> "a", "b" -> ".", "/b" -> "/"
int reap_is_dir(const char *path);
int reap_exists(const char *path);
// Levenshtein distance of two short words, capped at 9 (words over 30 characters: 9): "did you mean".
int reap_edit_distance(const char *a, const char *b);
// Human-readable byte count ("3.62 GB", "512 MiB" style: decimal GB for totals).
const char *reap_fmt_bytes(double bytes, char *buf, size_t cap);
// Human-readable duration: "12.3 s" below 2 minutes, "5 min 07 s" below 2 hours, else "3 h 05 min".
const char *reap_fmt_secs(double s, char *buf, size_t cap);

// SHA-256 of a file, hex (65 bytes with NUL). Used for provenance in score and prune outputs.
int reap_sha256_file(const char *path, char hex[65]);
void reap_sha256_buf(const void *data, size_t len, char hex[65]);
// Incremental SHA-256 (a digest of many tensors without concatenating them).
typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
} reap_sha256_ctx;
void reap_sha256_init(reap_sha256_ctx *c);
void reap_sha256_update(reap_sha256_ctx *c, const void *data, size_t n);
void reap_sha256_final(reap_sha256_ctx *c, char hex[65]);

// XXH64 (the xxHash 64-bit algorithm, seed given): a fast non-cryptographic checksum.
uint64_t reap_xxh64(const void *data, size_t len, uint64_t seed);
// Checksum of a large buffer at memory speed: XXH64 of each 1 MiB block (seed = block index),
// hashed in parallel (OpenMP), then XXH64 of the block sums (seed = len). Buffers of at most
// 1 MiB: reap_xxh64(data, len, 0). Guards work-dir files against flipped bits, not adversaries.
uint64_t reap_checksum64(const void *data, size_t len);

// Growable byte string (always NUL-terminated after the first append).
typedef struct {
    char *p;
    size_t n, cap;
} reap_sbuf;
void reap_sbuf_append(reap_sbuf *b, const void *data, size_t len);
void reap_sbuf_puts(reap_sbuf *b, const char *s);
void reap_sbuf_printf(reap_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reap_sbuf_free(reap_sbuf *b);

#endif

// fuzz.h: what every libFuzzer target under tests/fuzz/ shares. Each target is one file,
// fuzz_<name>.c, defining LLVMFuzzerTestOneInput (bounded, leak-free, no global state that
// changes between inputs). Built two ways:
//   clang -fsanitize=fuzzer,address,undefined      `make fuzz`: build/fuzz/fuzz_<name>
//   gcc + replay.c (a main)                        `make test`: build/fuzz-replay/fuzz_<name>,
//       which runs every file of tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/ once
// APIs that only take a path get the input through a memfd (/proc/self/fd/N: a regular file) or a
// file in a per-process scratch directory, removed at exit.
#ifndef REAP_FUZZ_H
#define REAP_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// A broken invariant of the code under test: abort so libFuzzer records the input.
#define FUZZ_CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static char fuzz_dir_path[64];

static int fuzz_rm_one(const char *p, const struct stat *s, int flag, struct FTW *f) {
    (void)s, (void)flag, (void)f;
    return remove(p);
}

static void fuzz_rm_dir(void) {
    if (fuzz_dir_path[0]) nftw(fuzz_dir_path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

// The process's scratch directory (created on first use, removed at exit; a crash leaves it).
static inline const char *fuzz_dir(void) {
    if (!fuzz_dir_path[0]) {
        const char *tmp = getenv("TMPDIR");  // e.g. /dev/shm: the workdir target fsyncs what it writes
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/reap-fuzz-XXXXXX", tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
        if (!mkdtemp(fuzz_dir_path)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_rm_dir);
        reap_log_level = -1;  // warnings about odd but accepted input are not findings
    }
    return fuzz_dir_path;
}

// dir/name in a static buffer (one at a time).
static inline const char *fuzz_path(const char *name) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", fuzz_dir(), name);
    return buf;
}

static inline void fuzz_write_file(const char *path, const void *data, size_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) != 0) {
        fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
        abort();
    }
}

// The input as a regular file at a path (/proc/self/fd/N of a memfd reused for every input).
static inline const char *fuzz_memfd_path(const void *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("reap-fuzz", MFD_CLOEXEC);
        if (fd < 0) {
            perror("fuzz: memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        (void)fuzz_dir();
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz: memfd write");
        abort();
    }
    return path;
}

#endif

// common.c: see common.h.

#include "common.h"
#include "progress.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

int reap_log_level = 0;

static _Thread_local char err_buf[1024];

// Formats into a scratch buffer first: callers often wrap the previous message
// (reap_fail(st, "%s: %s", path, reap_err_msg())), which must not overlap the destination.
// Line breaks become spaces: the message is printed as one line. Other control characters (from a
// file's content: a tensor name, a model_type) are written \xNN, never sent raw to a terminal.
static void err_vset(const char *fmt, va_list ap) {
    char tmp[sizeof err_buf];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    size_t o = 0;
    for (const unsigned char *c = (const unsigned char *)tmp; *c && o + 5 < sizeof err_buf; c++) {
        if (*c == '\n' || *c == '\r') err_buf[o++] = ' ';
        else if (*c < 0x20 || *c == 0x7f) o += (size_t)snprintf(err_buf + o, 5, "\\x%02x", *c);
        else err_buf[o++] = (char)*c;
    }
    err_buf[o] = 0;
}

void reap_err_set(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err_vset(fmt, ap);
    va_end(ap);
}

const char *reap_err_msg(void) { return err_buf[0] ? err_buf : "unknown error"; }

int reap_fail(int st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err_vset(fmt, ap);
    va_end(ap);
    return st;
}

int reap_exit_code(int st) {
    switch (st) {
    case REAP_OK: return 0;
    case REAP_EUSAGE: return 2;
    case REAP_EVERIFY: return 3;
    case REAP_EDEVICE: return 4;
    case REAP_EINTR: return 130;
    default: return 1;
    }
}

void reap_abort(const char *file, int line, const char *what) {
    fprintf(stderr, "reap: internal error at %s:%d: %s\n", file, line, what);
    fflush(stderr);
    abort();
}

static void oom(size_t n) {
    fprintf(stderr, "reap: error: out of memory allocating %zu bytes\n", n);
    exit(1);
}

void *reap_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *reap_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

#define BIG_ALIGN ((size_t)2 << 20)  // a transparent huge page

void *reap_big_alloc(size_t n) {
    size_t len = (n + BIG_ALIGN - 1) / BIG_ALIGN * BIG_ALIGN;
    if (!len) len = BIG_ALIGN;
    // Over-map by one huge page and trim both ends, so the buffer starts on a 2 MiB boundary.
    char *m = mmap(NULL, len + BIG_ALIGN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) oom(n);
    char *p = (char *)(((uintptr_t)m + BIG_ALIGN - 1) & ~(uintptr_t)(BIG_ALIGN - 1));
    if (p > m) munmap(m, (size_t)(p - m));
    size_t tail = (size_t)(m + len + BIG_ALIGN - (p + len));
    if (tail) munmap(p + len, tail);
#ifdef MADV_HUGEPAGE
    (void)madvise(p, len, MADV_HUGEPAGE);  // a hint: without THP the pages are 4 KiB, nothing else changes
#endif
    return p;
}

void reap_big_free(void *p, size_t n) {
    if (!p) return;
    size_t len = (n + BIG_ALIGN - 1) / BIG_ALIGN * BIG_ALIGN;
    munmap(p, len ? len : BIG_ALIGN);
}

void *reap_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *reap_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = reap_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

char *reap_xasprintf(const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    REAP_ASSERT(n >= 0);
    char *p = reap_xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

static void vlog(const char *prefix, const char *fmt, va_list ap) {
    reap_progress_clear();
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    reap_progress_redraw();
}

// The body of the variadic loggers: a line with prefix when the level is at least min_level.
#define LOG_AT(min_level, prefix)                 \
    do {                                          \
        if (reap_log_level < (min_level)) return; \
        va_list ap;                               \
        va_start(ap, fmt);                        \
        vlog(prefix, fmt, ap);                    \
        va_end(ap);                               \
    } while (0)

void reap_info(const char *fmt, ...) { LOG_AT(0, ""); }
void reap_verbose(const char *fmt, ...) { LOG_AT(1, ""); }
void reap_warn(const char *fmt, ...) { LOG_AT(0, "reap: warning: "); }

double reap_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double reap_process_age(void) {
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');  // the command name may hold spaces and parentheses
    unsigned long long start = 0;
    // after the name: field 3 (state) ... field 22 (starttime, clock ticks after boot)
    for (int field = 3; p && field <= 22; field++) p = strchr(p + 1, ' ');
    long hz = sysconf(_SC_CLK_TCK);
    if (!p || sscanf(p, "%llu", &start) != 1 || hz <= 0) return -1;
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec - (double)start / (double)hz;
}

int reap_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return reap_fail(REAP_EIO, "%s: cannot open directory: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0 && e != EINVAL) return reap_fail(REAP_EIO, "%s: fsync failed: %s", dir, strerror(e));
    return REAP_OK;
}

int reap_mkdir_p(const char *dir) {
    char *p = reap_xstrdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            return reap_fail(REAP_EIO, "%s: cannot create directory: %s", dir, strerror(e));
        }
        *s = '/';
    }
    int rc = mkdir(p, 0755);
    int e = errno;
    free(p);
    if (rc != 0 && e != EEXIST) return reap_fail(REAP_EIO, "%s: cannot create directory: %s", dir, strerror(e));
    return REAP_OK;
}

static const char *file_kind(mode_t m) {
    return S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
         : S_ISSOCK(m) ? "a socket" : S_ISDIR(m) ? "a directory" : "a special file";
}

int reap_open_regular(const char *path, int *fd_out) {
    *fd_out = -1;
    // O_NONBLOCK: opening a FIFO returns at once; the flag is cleared once the file is known regular.
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return reap_fail(errno == ENOENT ? REAP_EINVAL : REAP_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return reap_fail(REAP_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return reap_fail(REAP_EINVAL, "%s: not a regular file (%s)", path, file_kind(sb.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return reap_fail(REAP_EIO, "%s: fcntl: %s", path, strerror(e));
    }
    *fd_out = fd;
    return REAP_OK;
}

int reap_read_file(const char *path, char **data, size_t *len) {
    int fd, st0 = reap_open_regular(path, &fd);
    if (st0) return st0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return reap_fail(REAP_EIO, "%s: cannot stat: %s", path, strerror(errno));
    }
    size_t n = (size_t)st.st_size, got = 0;
    char *buf = reap_xmalloc(n + 1);
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = errno;
            free(buf);
            close(fd);
            return reap_fail(REAP_EIO, "%s: read failed: %s", path, r < 0 ? strerror(e) : "unexpected end of file");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *data = buf;
    if (len) *len = n;
    return REAP_OK;
}

int reap_pread_all(int fd, void *dst, uint64_t len, uint64_t off) {
    uint8_t *p = dst;
    while (len) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t r = pread(fd, p, chunk, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r < 0 ? errno : -1;
        p += r;
        off += (uint64_t)r;
        len -= (uint64_t)r;
    }
    return 0;
}

const char *reap_pread_strerror(int e) { return e == -1 ? "unexpected end of file" : strerror(e); }

static int write_all(int fd, const void *data, size_t len, const char *path) {
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return reap_fail(REAP_EIO, "%s: write failed: %s", path, strerror(errno));
        p += w;
        len -= (size_t)w;
    }
    return REAP_OK;
}

char *reap_path_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return reap_xstrdup(".");
    if (slash == path) return reap_xstrdup("/");
    char *d = reap_xmalloc((size_t)(slash - path) + 1);
    memcpy(d, path, (size_t)(slash - path));
    d[slash - path] = 0;
    return d;
}

// A path that names an open descriptor: /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N,
// /proc/thread-self/fd/N, /proc/PID/fd/N. Other paths under /dev are files like any (/dev/shm/x).
static int is_descriptor_path(const char *p) {
    if (!strcmp(p, "/dev/stdout") || !strcmp(p, "/dev/stderr") || !strncmp(p, "/dev/fd/", 8)) return 1;
    if (strncmp(p, "/proc/", 6) != 0) return 0;
    p += 6;
    if (!strncmp(p, "self/", 5)) p += 5;
    else if (!strncmp(p, "thread-self/", 12)) p += 12;
    else {
        const char *d = p;
        while (*p >= '0' && *p <= '9') p++;
        if (p == d || *p++ != '/') return 0;
    }
    return !strncmp(p, "fd/", 3);
}

reap_dest reap_dest_of(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return errno == ENOENT ? REAP_DEST_NEW : REAP_DEST_OTHER;
    if (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode)) return REAP_DEST_STREAM;
    if (!S_ISREG(sb.st_mode)) return REAP_DEST_OTHER;
    // /dev/stdout, /dev/fd/N, /proc/self/fd/N reach a file the caller opened (maybe for append):
    // replacing it would throw away what is there and what the caller writes after us. Only those:
    // a regular file elsewhere under /dev (/dev/shm/scores.json) is replaced like any other (it was
    // appended to, and a second run's statistics read back as the first's).
    if (is_descriptor_path(path)) return REAP_DEST_STREAM;
    return REAP_DEST_FILE;
}

// A device, FIFO or descriptor path: written in place, never created, truncated or renamed over.
static int write_stream(const char *path, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return reap_fail(REAP_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
    int st = write_all(fd, data, len, path);
    if (close(fd) != 0 && st == REAP_OK) st = reap_fail(REAP_EIO, "%s: close failed: %s", path, strerror(errno));
    return st;
}

int reap_check_output(const char *path, uint64_t bytes) {
    reap_dest kind = reap_dest_of(path);
    if (kind == REAP_DEST_OTHER)
        return reap_fail(REAP_EINVAL, "%s: not a regular file, character device or FIFO (-o names a file)", path);
    if (kind == REAP_DEST_STREAM) {  // a FIFO without a reader yet is fine: the reader may come later
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 && errno != ENXIO) return reap_fail(REAP_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return REAP_OK;
    }
    char *dir = reap_path_dir(path);
    int st = REAP_OK;
    if (!reap_is_dir(dir)) {
        st = reap_fail(REAP_EINVAL, "%s: directory '%s' does not exist", path, dir);
    } else {
        char *probe = reap_xasprintf("%s.tmp.%d", path, (int)getpid());
        int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) st = reap_fail(REAP_EIO, "%s: cannot create a file in '%s': %s", path, dir, strerror(errno));
        else close(fd), unlink(probe);
        free(probe);
        struct statvfs vfs;
        if (!st && statvfs(dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < bytes) {
            char a[32], b[32];
            st = reap_fail(REAP_EIO, "%s: '%s' has %s free, the output needs about %s", path, dir,
                           reap_fmt_bytes((double)vfs.f_bavail * vfs.f_frsize, a, sizeof a),
                           reap_fmt_bytes((double)bytes, b, sizeof b));
        }
    }
    free(dir);
    return st;
}

// data, then tail (tail_len may be 0), as one file by reap_write_file_atomic's rules.
static int write_file_atomic2(const char *path, const void *data, size_t len, const void *tail, size_t tail_len) {
    reap_dest kind = reap_dest_of(path);
    if (kind == REAP_DEST_STREAM && tail_len)
        return reap_fail(REAP_EIO, "%s: a checksummed file must be a regular file, not a device or FIFO", path);
    if (kind == REAP_DEST_STREAM) return write_stream(path, data, len);
    if (kind == REAP_DEST_OTHER)
        return reap_fail(REAP_EIO, "%s: not a regular file, character device or FIFO; refusing to replace it", path);
    // A symbolic link to a file stays a link: the file it names is the one replaced.
    char *real = NULL;
    struct stat lsb;
    if (kind == REAP_DEST_FILE && lstat(path, &lsb) == 0 && S_ISLNK(lsb.st_mode)) real = realpath(path, NULL);
    const char *dst = real ? real : path;
    char *tmp = reap_xasprintf("%s.tmp.%d", dst, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int st = reap_fail(REAP_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        free(real);
        return st;
    }
    int st = write_all(fd, data, len, tmp);
    if (st == REAP_OK && tail_len) st = write_all(fd, tail, tail_len, tmp);
    if (st == REAP_OK && fsync(fd) != 0) st = reap_fail(REAP_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
    close(fd);
    if (st == REAP_OK && rename(tmp, dst) != 0)
        st = reap_fail(REAP_EIO, "%s: cannot rename to %s: %s", tmp, dst, strerror(errno));
    if (st != REAP_OK) unlink(tmp);
    free(tmp);
    if (st == REAP_OK) {
        char *d = reap_path_dir(dst);
        st = reap_fsync_dir(d);
        free(d);
    }
    free(real);
    return st;
}

int reap_write_file_atomic(const char *path, const void *data, size_t len) {
    return write_file_atomic2(path, data, len, NULL, 0);
}

// ---- checksummed files (score's work dir)
#define SEAL_HEAD "\n#reap-xxh64 "

void reap_seal_line(uint64_t sum, char out[REAP_SEAL_BYTES + 1]) {
    snprintf(out, REAP_SEAL_BYTES + 1, SEAL_HEAD "%016llx\n", (unsigned long long)sum);
}

int reap_seal_parse(const char *line, uint64_t *sum) {
    const size_t h = sizeof SEAL_HEAD - 1;
    if (memcmp(line, SEAL_HEAD, h) != 0 || line[REAP_SEAL_BYTES - 1] != '\n') return 0;
    uint64_t v = 0;
    for (size_t i = h; i < REAP_SEAL_BYTES - 1; i++) {
        char c = line[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return 0;
        v = v << 4 | (uint64_t)d;
    }
    *sum = v;
    return 1;
}

int reap_seal_check(const char *path, const void *data, size_t len, const char *line) {
    uint64_t want, got;
    if (!reap_seal_parse(line, &want))
        return reap_fail(REAP_EINVAL, "%s: corrupt: no checksum line at its end (damaged, truncated, or written by "
                         "an older reap)", path);
    if ((got = reap_checksum64(data, len)) != want)
        return reap_fail(REAP_EINVAL, "%s: corrupt: checksum %016llx of its %zu bytes, %016llx recorded (damaged on "
                         "disk)", path, (unsigned long long)got, len, (unsigned long long)want);
    return REAP_OK;
}

int reap_write_file_sealed(const char *path, const void *data, size_t len) {
    char line[REAP_SEAL_BYTES + 1];
    reap_seal_line(reap_checksum64(data, len), line);
    return write_file_atomic2(path, data, len, line, REAP_SEAL_BYTES);
}

int reap_read_file_sealed(const char *path, char **data, size_t *len) {
    char *t;
    size_t n;
    int st = reap_read_file(path, &t, &n);
    if (st) return st;
    if (n < REAP_SEAL_BYTES) {
        char empty[REAP_SEAL_BYTES] = {0};  // no line: reported as such
        st = reap_seal_check(path, t, 0, empty);
    } else {
        st = reap_seal_check(path, t, n - REAP_SEAL_BYTES, t + n - REAP_SEAL_BYTES);
    }
    if (st) {
        free(t);
        return st;
    }
    n -= REAP_SEAL_BYTES;
    t[n] = 0;
    *data = t;
    if (len) *len = n;
    return REAP_OK;
}

int reap_dir_replace(const char *tmp, const char *out, char **old) {
    *old = NULL;
    int st = REAP_OK;
    if (!reap_exists(out)) {
        if (rename(tmp, out) != 0) return reap_fail(REAP_EIO, "%s: cannot rename to %s: %s", tmp, out, strerror(errno));
    } else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_EXCHANGE) == 0) {
        *old = reap_xstrdup(tmp);
    } else if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
        return reap_fail(REAP_EIO, "%s: cannot exchange with %s: %s", tmp, out, strerror(errno));
    } else {
        char *aside = reap_xasprintf("%s.old-%d", out, (int)getpid());
        if (rename(out, aside) != 0) {
            st = reap_fail(REAP_EIO, "%s: cannot move the old output aside: %s", out, strerror(errno));
            free(aside);
            return st;
        }
        if (rename(tmp, out) != 0) {
            st = reap_fail(REAP_EIO, "%s: cannot rename to %s: %s", tmp, out, strerror(errno));
            rename(aside, out);
            free(aside);
            return st;
        }
        *old = aside;
    }
    char *parent = reap_path_dir(out);
    st = reap_fsync_dir(parent);
    free(parent);
    return st;
}

int reap_edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 30 || lb > 30) return 9;
    int d[32][32];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int m = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < m) m = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < m) m = d[i][j - 1] + 1;
            d[i][j] = m;
        }
    return d[la][lb] < 9 ? d[la][lb] : 9;
}

int reap_copy_file(const char *src, const char *dst) {
    int in = open(src, O_RDONLY);
    if (in < 0) return reap_fail(REAP_EIO, "%s: cannot open: %s", src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        close(in);
        return reap_fail(REAP_EIO, "%s: cannot create: %s", dst, strerror(errno));
    }
    enum { BUF = 1 << 20 };
    char *buf = reap_xmalloc(BUF);
    int st = REAP_OK;
    for (;;) {
        ssize_t r = read(in, buf, BUF);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = reap_fail(REAP_EIO, "%s: read failed: %s", src, strerror(errno));
            break;
        }
        if (r == 0) break;
        if ((st = write_all(out, buf, (size_t)r, dst)) != REAP_OK) break;
    }
    if (st == REAP_OK && fsync(out) != 0) st = reap_fail(REAP_EIO, "%s: fsync failed: %s", dst, strerror(errno));
    free(buf);
    close(in);
    close(out);
    return st;
}

char *reap_path_join(const char *a, const char *b) {
    size_t la = strlen(a);
    if (la && a[la - 1] == '/') return reap_xasprintf("%s%s", a, b);
    return reap_xasprintf("%s/%s", a, b);
}

int reap_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int reap_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

const char *reap_fmt_bytes(double b, char *buf, size_t cap) {
    const char *u[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    int i = 0;
    while (b >= 1000.0 && i < 5) {
        b /= 1000.0;
        i++;
    }
    if (i == 0) snprintf(buf, cap, "%.0f B", b);
    else snprintf(buf, cap, "%.2f %s", b, u[i]);
    return buf;
}

const char *reap_fmt_secs(double s, char *buf, size_t cap) {
    if (s < 120) snprintf(buf, cap, "%.1f s", s);
    else if (s < 7200) snprintf(buf, cap, "%d min %02d s", (int)(s / 60), (int)s % 60);
    else snprintf(buf, cap, "%d h %02d min", (int)(s / 3600), (int)(s / 60) % 60);
    return buf;
}

// ---- SHA-256 (FIPS 180-4), small and portable; used for provenance hashes and digests.
typedef reap_sha256_ctx sha256_ctx;

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(sha256_ctx *c, const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
        h = g; g = f; f = e; e = d + t1; d = cc; cc = b; b = a; a = t1 + t2;
    }
    c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d;
    c->h[4] += e; c->h[5] += f; c->h[6] += g; c->h[7] += h;
}

void reap_sha256_init(sha256_ctx *c) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, h0, sizeof h0);
    c->len = 0;
    c->nbuf = 0;
}

void reap_sha256_update(sha256_ctx *c, const void *data, size_t n) {
    const uint8_t *p = data;
    c->len += n;
    while (n) {
        size_t take = 64 - c->nbuf < n ? 64 - c->nbuf : n;
        memcpy(c->buf + c->nbuf, p, take);
        c->nbuf += take;
        p += take;
        n -= take;
        if (c->nbuf == 64) {
            sha256_block(c, c->buf);
            c->nbuf = 0;
        }
    }
}

void reap_sha256_final(sha256_ctx *c, char hex[65]) {
    uint64_t bits = c->len * 8;
    uint8_t pad = 0x80;
    reap_sha256_update(c, &pad, 1);
    pad = 0;
    while (c->nbuf != 56) reap_sha256_update(c, &pad, 1);
    uint8_t lb[8];
    for (int i = 0; i < 8; i++) lb[i] = (uint8_t)(bits >> (56 - 8 * i));
    reap_sha256_update(c, lb, 8);
    for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", c->h[i]);
}

void reap_sha256_buf(const void *data, size_t len, char hex[65]) {
    sha256_ctx c;
    reap_sha256_init(&c);
    reap_sha256_update(&c, data, len);
    reap_sha256_final(&c, hex);
}

int reap_sha256_file(const char *path, char hex[65]) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return reap_fail(REAP_EIO, "%s: cannot open: %s", path, strerror(errno));
    sha256_ctx c;
    reap_sha256_init(&c);
    enum { BUF = 1 << 20 };
    char *buf = reap_xmalloc(BUF);
    int st = REAP_OK;
    for (;;) {
        ssize_t r = read(fd, buf, BUF);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = reap_fail(REAP_EIO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        if (r == 0) break;
        reap_sha256_update(&c, buf, (size_t)r);
    }
    free(buf);
    close(fd);
    if (st == REAP_OK) reap_sha256_final(&c, hex);
    return st;
}

void reap_sbuf_append(reap_sbuf *b, const void *data, size_t len) {
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + len + 1) cap *= 2;
        b->p = reap_xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (len) memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = 0;
}

void reap_sbuf_puts(reap_sbuf *b, const char *s) { reap_sbuf_append(b, s, strlen(s)); }

void reap_sbuf_printf(reap_sbuf *b, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    REAP_ASSERT(n >= 0);
    reap_sbuf_append(b, "", 0);
    if (b->n + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap;
        while (cap < b->n + (size_t)n + 1) cap *= 2;
        b->p = reap_xrealloc(b->p, cap);
        b->cap = cap;
    }
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->n += (size_t)n;
}

void reap_sbuf_free(reap_sbuf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

// ---- XXH64 (xxHash's 64-bit algorithm, from its specification) and the block-parallel checksum.
#define XXP1 UINT64_C(0x9E3779B185EBCA87)
#define XXP2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define XXP3 UINT64_C(0x165667B19E3779F9)
#define XXP4 UINT64_C(0x85EBCA77C2B2AE63)
#define XXP5 UINT64_C(0x27D4EB2F165667C5)

static uint64_t xx_rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t xx_rd64(const uint8_t *p) {  // little-endian, whatever the host
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint64_t xx_round(uint64_t acc, uint64_t in) { return xx_rotl(acc + in * XXP2, 31) * XXP1; }

static uint64_t xx_merge(uint64_t h, uint64_t v) { return (h ^ xx_round(0, v)) * XXP1 + XXP4; }

uint64_t reap_xxh64(const void *data, size_t len, uint64_t seed) {
    const uint8_t *p = data, *end = p + len;
    uint64_t h;
    if (len >= 32) {
        uint64_t v1 = seed + XXP1 + XXP2, v2 = seed + XXP2, v3 = seed, v4 = seed - XXP1;
        for (; p + 32 <= end; p += 32) {
            v1 = xx_round(v1, xx_rd64(p));
            v2 = xx_round(v2, xx_rd64(p + 8));
            v3 = xx_round(v3, xx_rd64(p + 16));
            v4 = xx_round(v4, xx_rd64(p + 24));
        }
        h = xx_rotl(v1, 1) + xx_rotl(v2, 7) + xx_rotl(v3, 12) + xx_rotl(v4, 18);
        h = xx_merge(xx_merge(xx_merge(xx_merge(h, v1), v2), v3), v4);
    } else {
        h = seed + XXP5;
    }
    h += (uint64_t)len;
    for (; p + 8 <= end; p += 8) h = xx_rotl(h ^ xx_round(0, xx_rd64(p)), 27) * XXP1 + XXP4;
    if (p + 4 <= end) {
        uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
        h = xx_rotl(h ^ (w * XXP1), 23) * XXP2 + XXP3;
        p += 4;
    }
    for (; p < end; p++) h = xx_rotl(h ^ (*p * XXP5), 11) * XXP1;
    h ^= h >> 33;
    h *= XXP2;
    h ^= h >> 29;
    h *= XXP3;
    h ^= h >> 32;
    return h;
}

uint64_t reap_checksum64(const void *data, size_t len) {
    const size_t B = (size_t)1 << 20;
    if (len <= B) return reap_xxh64(data, len, 0);
    const uint8_t *p = data;
    size_t nb = (len + B - 1) / B;
    uint8_t *sums = reap_xmalloc(nb * 8);
#pragma omp parallel for schedule(static)
    for (long b = 0; b < (long)nb; b++) {
        size_t off = (size_t)b * B, n = len - off < B ? len - off : B;
        uint64_t v = reap_xxh64(p + off, n, (uint64_t)b);
        for (int i = 0; i < 8; i++) sums[(size_t)b * 8 + i] = (uint8_t)(v >> (8 * i));
    }
    uint64_t h = reap_xxh64(sums, nb * 8, (uint64_t)len);
    free(sums);
    return h;
}

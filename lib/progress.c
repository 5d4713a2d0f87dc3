// progress.c: see progress.h.
#include "progress.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common.h"

#define PROGRESS_MIN_INTERVAL_S 0.1  // at most 10 draws a second: a terminal is slow, a bar needs no more
#define PROGRESS_BAR_MIN 10          // bar cells: below this the bar is left out
#define PROGRESS_BAR_MAX 30

int reap_progress_columns_fallback = 0;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_drawn;  // a line is on the terminal now

int reap_progress_columns(int fd) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return reap_progress_columns_fallback > 0 ? reap_progress_columns_fallback : 80;
}

double reap_progress_eta(const reap_progress *p, double now) {
    double el = now - p->t0;
    if (p->total_bytes > 0) {
        if (p->bytes == 0) return -1;
        return p->bytes >= p->total_bytes ? 0 : el * (double)(p->total_bytes - p->bytes) / (double)p->bytes;
    }
    int64_t ran = p->done - p->done0;
    if (ran <= 0) return -1;
    return p->done >= p->total ? 0 : el * (double)(p->total - p->done) / (double)ran;
}

// Appends s to buf (length *n, capacity cap) when it fits in width characters; returns 1 if it did.
static int put(char *buf, size_t cap, size_t *n, size_t width, const char *s) {
    size_t l = strlen(s);
    if (*n + l > width || *n + l >= cap) return 0;
    memcpy(buf + *n, s, l + 1);
    *n += l;
    return 1;
}

void reap_progress_format(const reap_progress *p, const char *detail, double now, int cols, char *buf, size_t cap) {
    if (cap == 0) return;
    buf[0] = 0;
    if (cols < 2) return;
    const size_t width = (size_t)cols - 1;
    double el = now - p->t0, eta = reap_progress_eta(p, now);
    // The fields after the bar: steps, bytes, rate, ETA.
    char fields[256], b1[32], b2[32], t[32];
    int f = snprintf(fields, sizeof fields, "%lld/%lld %s%s", (long long)p->done, (long long)p->total, p->unit,
                     p->total == 1 ? "" : "s");
    if (p->total_bytes > 0) {
        f += snprintf(fields + f, sizeof fields - (size_t)f, "  %s/%s", reap_fmt_bytes((double)p->bytes, b1, sizeof b1),
                      reap_fmt_bytes((double)p->total_bytes, b2, sizeof b2));
        if (el > 0 && p->bytes > 0)
            f += snprintf(fields + f, sizeof fields - (size_t)f, "  %s/s",
                          reap_fmt_bytes((double)p->bytes / el, b1, sizeof b1));
    } else if (el > 0 && p->done > p->done0) {
        double rate = (double)(p->done - p->done0) / el;
        if (rate >= 1) f += snprintf(fields + f, sizeof fields - (size_t)f, "  %.1f %ss/s", rate, p->unit);
        else f += snprintf(fields + f, sizeof fields - (size_t)f, "  %.1f s/%s", 1 / rate, p->unit);
    }
    if (eta >= 0) snprintf(fields + f, sizeof fields - (size_t)f, "  ETA %s", reap_fmt_secs(eta, t, sizeof t));
    else snprintf(fields + f, sizeof fields - (size_t)f, "  ETA --");

    size_t n = 0;
    put(buf, cap, &n, width, p->label);
    // The bar takes what the label and the fields leave, within [PROGRESS_BAR_MIN, PROGRESS_BAR_MAX].
    size_t need = n + 1 + strlen(fields);
    if (need + 3 + PROGRESS_BAR_MIN <= width && n + 3 + PROGRESS_BAR_MAX < cap) {
        size_t bw = width - need - 3;
        if (bw > PROGRESS_BAR_MAX) bw = PROGRESS_BAR_MAX;
        double frac = p->total_bytes > 0 ? (double)p->bytes / (double)p->total_bytes
                      : p->total > 0     ? (double)p->done / (double)p->total
                                         : 1;
        if (frac > 1) frac = 1;
        if (frac < 0) frac = 0;
        size_t fill = (size_t)(frac * (double)bw);
        buf[n++] = ' ';
        buf[n++] = '[';
        for (size_t i = 0; i < bw; i++) buf[n++] = i < fill ? '=' : i == fill ? '>' : ' ';
        buf[n++] = ']';
        buf[n] = 0;
    }
    if (!put(buf, cap, &n, width, " ") || !put(buf, cap, &n, width, fields)) {
        // Narrower than the fields: as much of them as fits.
        size_t l = strlen(fields);
        size_t room = width > n ? width - n : 0;
        if (room > cap - 1 - n) room = cap - 1 - n;
        memcpy(buf + n, fields, l < room ? l : room);
        n += l < room ? l : room;
        buf[n] = 0;
        return;
    }
    // The detail where 16 or more characters are left: its end, which names it best ("...experts.12.w1.weight").
    if (detail && *detail && n + 2 + 16 <= width && n + 2 + 16 < cap) {
        buf[n++] = ' ';
        buf[n++] = ' ';
        size_t room = width - n, l = strlen(detail);
        if (room > cap - 1 - n) room = cap - 1 - n;
        const char *s = detail;
        if (l > room) {
            memcpy(buf + n, "...", 3);
            n += 3;
            s = detail + l - (room - 3);
            while ((*s & 0xc0) == 0x80) s++;  // not in the middle of a UTF-8 sequence
        }
        for (; *s; s++) buf[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
        buf[n] = 0;
    }
}

static reap_progress *g_shown;  // the display begun and not ended (drawn on a terminal)
static char g_detail[256];      // its last detail, for a redraw after a log line

static void draw(reap_progress *p, const char *detail, double now) {
    char line[1024];
    if (detail != g_detail) snprintf(g_detail, sizeof g_detail, "%s", detail ? detail : "");
    reap_progress_format(p, g_detail, now, reap_progress_columns(STDERR_FILENO), line, sizeof line);
    fprintf(stderr, "\r%s\033[K", line);  // over the old line, then the rest of it erased: no flicker
    fflush(stderr);
    g_drawn = 1;
    p->drawn_at = now;
}

void reap_progress_begin(reap_progress *p, const char *label, const char *unit, int64_t total, int64_t done0,
                         uint64_t total_bytes) {
    memset(p, 0, sizeof *p);
    p->label = label, p->unit = unit, p->total = total, p->done = p->done0 = done0, p->total_bytes = total_bytes;
    p->t0 = reap_now();
    p->on_tty = reap_log_level >= 0 && isatty(STDERR_FILENO);
    if (p->on_tty) {
        pthread_mutex_lock(&g_mu);
        g_shown = p;
        draw(p, NULL, p->t0);
        pthread_mutex_unlock(&g_mu);
    }
}

void reap_progress_add(reap_progress *p, int64_t steps, uint64_t bytes, const char *detail) {
    pthread_mutex_lock(&g_mu);
    p->done += steps, p->bytes += bytes;
    if (p->on_tty) {
        double now = reap_now();
        if (now - p->drawn_at >= PROGRESS_MIN_INTERVAL_S || p->done >= p->total) draw(p, detail, now);
    }
    pthread_mutex_unlock(&g_mu);
}

static void clear_locked(void) {
    if (g_drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        g_drawn = 0;
    }
}

void reap_progress_end(reap_progress *p) {
    pthread_mutex_lock(&g_mu);
    clear_locked();
    if (g_shown == p) g_shown = NULL;
    p->on_tty = 0;
    pthread_mutex_unlock(&g_mu);
}

void reap_progress_clear(void) {
    pthread_mutex_lock(&g_mu);
    clear_locked();
    pthread_mutex_unlock(&g_mu);
}

void reap_progress_redraw(void) {
    pthread_mutex_lock(&g_mu);
    if (g_shown && !g_drawn) draw(g_shown, g_detail, reap_now());
    pthread_mutex_unlock(&g_mu);
}

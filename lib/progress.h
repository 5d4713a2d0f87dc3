// progress.h: the one progress display of every long-running command (score, eval, prune, verify,
// synth). Only on a terminal: when stderr is a tty and the log level is not quiet (-q), one line on
// stderr, redrawn in place ("\r", the line, then "\033[K" to clear the rest) at most 10 times a
// second and never wider than the terminal (TIOCGWINSZ, else $COLUMNS through
// reap_progress_columns_fallback, else 80):
//
//     score [=======>        ] 3/10 layers  1.6 s/layer  ETA 11.2 s  5218 tokens/s
//     prune [====>     ] 120/430 tensors  1.20 GB/4.50 GB  310.00 MB/s  ETA 10.6 s  ...experts.12.w1.weight
//
// Anywhere else (stderr redirected to a file or a pipe) it draws nothing: a log gets only the plain
// per-step lines the commands print with reap_verbose under -v. A log line printed while the bar is
// up (reap_info, reap_warn, reap_verbose) goes above it: common.c's logger clears the line, prints,
// and draws the bar again. reap_progress_end clears the line for the command's summary.
//
// One display at a time in a process. Updates may come from several threads (prune's shard
// writers, verify's comparisons): they are serialised here.
#ifndef REAP_PROGRESS_H
#define REAP_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *label;           // the line's first word: "score", "prune", ...
    const char *unit;            // one step, singular: "layer", "tensor"
    int64_t total, done, done0;  // steps: in all, done, done before this run began (a resume)
    uint64_t total_bytes, bytes; // total_bytes 0: steps only; else the rate and ETA come from bytes
    double t0, drawn_at;         // reap_now() at begin and at the last draw
    int on_tty;                  // drawn (stderr is a terminal and not -q)
} reap_progress;

// Starts a display of total steps, done0 of them done already (the layers a resumed score skips),
// and, when total_bytes > 0, of bytes. label and unit must outlive the display.
void reap_progress_begin(reap_progress *p, const char *label, const char *unit, int64_t total, int64_t done0,
                         uint64_t total_bytes);
// steps and bytes more are done. detail (may be NULL: a tensor name, a rate) ends the line where it fits.
void reap_progress_add(reap_progress *p, int64_t steps, uint64_t bytes, const char *detail);
// Clears the line. Safe on a display never drawn.
void reap_progress_end(reap_progress *p);
// Erases the line if one is drawn: called before anything else is written to stderr ...
void reap_progress_clear(void);
// ... and this after it: draws the display in progress again, if any.
void reap_progress_redraw(void);

// Seconds left at time now (reap_now()), from the rate since begin; -1 while unknown (nothing done yet).
double reap_progress_eta(const reap_progress *p, double now);
// The line drawn at time now on a terminal cols wide: at most cols - 1 characters (the last column
// is left free: writing it makes some terminals wrap), control characters of detail shown as '?'.
// buf of cap bytes, NUL-terminated.
void reap_progress_format(const reap_progress *p, const char *detail, double now, int cols, char *buf, size_t cap);
// The width of the terminal on fd: TIOCGWINSZ when it gives one, else reap_progress_columns_fallback
// when positive, else 80.
int reap_progress_columns(int fd);
// $COLUMNS, set by cmd/reap.c (only cmd/ reads the environment); 0: not set.
extern int reap_progress_columns_fallback;

#endif

// signals.c: see signals.h.
#include "signals.h"

#include <string.h>

#include "common.h"

static volatile sig_atomic_t cancel_flag;
static const int handled[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
enum { N_HANDLED = sizeof handled / sizeof handled[0] };
static struct sigaction saved[N_HANDLED];
static int installed;

static void set_action(int sig, void (*fn)(int), struct sigaction *old) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // reads and writes in flight finish; the flag is polled after them
    sigaction(sig, &sa, old);
}

static void on_signal(int sig) {
    (void)sig;
    cancel_flag = 1;
    // the next SIGINT / SIGTERM is not polite: default action (sigaction is async-signal-safe)
    set_action(SIGINT, SIG_DFL, NULL);
    set_action(SIGTERM, SIG_DFL, NULL);
}

volatile sig_atomic_t *reap_signals_begin(void) {
    REAP_ASSERT(!installed);
    cancel_flag = 0;
    for (int i = 0; i < N_HANDLED; i++) set_action(handled[i], handled[i] == SIGPIPE ? SIG_IGN : on_signal, &saved[i]);
    installed = 1;
    return &cancel_flag;
}

void reap_signals_end(void) {
    if (!installed) return;
    for (int i = 0; i < N_HANDLED; i++) sigaction(handled[i], &saved[i], NULL);
    installed = 0;
}

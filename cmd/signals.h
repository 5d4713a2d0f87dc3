// signals.h: the one signal policy of every command that writes or computes for long (synth,
// score, prune): SIGINT, SIGTERM and SIGHUP set a cancel flag that the library polls between steps
// (its params' `cancel`), so the command stops, removes what it half wrote and exits 130. After
// the first of them SIGINT and SIGTERM take their default action again: a second Ctrl-C kills at
// once. SIGPIPE is ignored: a write to a closed pipe (`reap prune ... 2>&1 | head -3`) fails with
// EPIPE instead of killing the process before it cleans up.
#ifndef REAP_CMD_SIGNALS_H
#define REAP_CMD_SIGNALS_H

#include <signal.h>

// Installs the handlers (remembering the previous ones) and returns the cancel flag, cleared.
// Calls nest no deeper than one: begin, then end.
volatile sig_atomic_t *reap_signals_begin(void);
// Restores the handlers that begin replaced. The flag keeps its value.
void reap_signals_end(void);

#endif

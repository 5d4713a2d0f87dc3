// env.h: the environment variables the commands read (never the library: STYLE.md). Each is a
// second spelling of a setting the library takes through its params or defaults.
#ifndef REAP_CMD_ENV_H
#define REAP_CMD_ENV_H

#include "layer_load.h"

// REAP_READ_THREADS (reads in flight while loading a layer: second spelling of --read-threads) and
// REAP_READ_PART_BYTES (expert bytes per part handed to the GPU copy as it lands), when set, fill
// the fields of o still 0. REAP_EUSAGE naming the variable when one is not a positive integer.
int reap_cmd_env_layer_load(reap_layer_load_opts *o);

// The layer-reading and CPU options of score and eval: --read-part-bytes SIZE (NULL: unset) into
// o->part_bytes, --cpu-isa ISA (NULL: unset) selected now (before any thread), then the environment
// for what is still unset (reap_cmd_env_layer_load). REAP_EUSAGE naming cmd and the value.
int reap_cmd_read_options(const char *cmd, const char *read_part, const char *cpu_isa, reap_layer_load_opts *o);

// REAP_TEST_SLOW_MS (test-only: the interruption tests slow a command down with it), 0 if unset.
int reap_cmd_env_test_slow_ms(void);

// COLUMNS (the terminal's width where the terminal does not tell: the progress display's fallback,
// lib/progress.h), 0 if unset or not a positive number.
int reap_cmd_env_columns(void);

#endif

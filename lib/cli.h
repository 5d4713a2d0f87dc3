// cli.h: one option table drives both the parser and --help (STYLE.md).
#ifndef REAP_CLI_H
#define REAP_CLI_H

#include <stdio.h>

typedef enum {
    REAP_OPT_FLAG,     // int*: set to 1
    REAP_OPT_INT,      // long long*
    REAP_OPT_DOUBLE,   // double*
    REAP_OPT_STRING,   // const char**
    REAP_OPT_STRINGS,  // reap_strlist*: repeatable
} reap_opt_kind;

typedef struct {
    char **v;
    int n;
} reap_strlist;

typedef struct {
    const char *name;     // long name without dashes ("ratio")
    char short_name;      // 0 if none
    reap_opt_kind kind;
    void *dest;
    const char *metavar;  // "R" (ignored for flags)
    const char *help;     // one line; the default should be written in it
} reap_opt;

typedef struct {
    const char *name;      // "prune"
    const char *usage;     // "DIR -o OUT (--ratio R | --keep K) [options]"
    const char *summary;   // one line
    const char *details;   // extra paragraphs for --help (may be NULL)
    const reap_opt *opts;
    int n_opts;
    int min_pos, max_pos;  // positional argument counts (max -1: unlimited)
} reap_cmd_spec;

#define REAP_CLI_HELP (-1)  // returned after --help was printed: the command returns REAP_OK

// 1 when the command's table has a "json" option and its arguments ask for it (-j or --json before
// any "--"), set by reap_cli_parse even when the parse then fails, so that a usage error is
// reported as JSON too (cmd/reap.c prints the result or the error as one object on stdout).
// 0 after --help.
extern int reap_cli_json;

// Parses argv[1..] (argv[0] is the command name). Handles --help/-h (prints help, returns REAP_CLI_HELP),
// -q/--quiet and -v/--verbose (sets reap_log_level) and sets reap_cli_json. Positionals are returned in *pos
// (pointers into argv; caller frees the array). Returns 0 on success, REAP_CLI_HELP after --help,
// or REAP_EUSAGE with a message.
int reap_cli_parse(const reap_cmd_spec *spec, int argc, char **argv, char ***pos, int *npos);
// reap_cli_parse for a command that takes exactly n positionals (the spec's minimum and maximum):
// they land in args[0..n-1] (pointers into argv). Same return values.
int reap_cli_parse_args(const reap_cmd_spec *spec, int argc, char **argv, const char **args, int n);
void reap_cli_help(const reap_cmd_spec *spec, FILE *out);
void reap_strlist_free(reap_strlist *l);

#endif

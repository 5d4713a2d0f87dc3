// commands.h: every `reap` subcommand. Each returns a reap_status; main turns it into an exit code.
#ifndef REAP_COMMANDS_H
#define REAP_COMMANDS_H

#include <cjson/cJSON.h>

int reap_cmd_synth(int argc, char **argv);
int reap_cmd_inspect(int argc, char **argv);
int reap_cmd_tokenize(int argc, char **argv);
int reap_cmd_calib(int argc, char **argv);
int reap_cmd_score(int argc, char **argv);
int reap_cmd_merge(int argc, char **argv);
int reap_cmd_report(int argc, char **argv);
int reap_cmd_prune(int argc, char **argv);
int reap_cmd_verify(int argc, char **argv);
int reap_cmd_eval(int argc, char **argv);

// With --json (reap_cli_json, lib/cli.h) a command hands its result object here instead of printing
// anything on stdout (ownership passes; a second call replaces the first). main (cmd/reap.c) adds
// "ok" and, on failure, "error" (the one-line message, also on stderr) and "exit_code", and prints
// it: stdout holds exactly one JSON object whether the command succeeded or not.
void reap_cmd_json_result(cJSON *doc);

#endif

// commands.h: every `reap` subcommand. Each returns a reap_status; main turns it into an exit code.
#ifndef REAP_COMMANDS_H
#define REAP_COMMANDS_H

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

#endif

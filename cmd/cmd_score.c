// cmd_score.c: `reap score` (not written yet).
#include "commands.h"
#include "common.h"

int reap_cmd_score(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return reap_fail(REAP_EUSAGE, "reap score: not implemented yet");
}

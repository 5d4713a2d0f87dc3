// cmd_prune.c: `reap prune` (not written yet).
#include "commands.h"
#include "common.h"

int reap_cmd_prune(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return reap_fail(REAP_EUSAGE, "reap prune: not implemented yet");
}

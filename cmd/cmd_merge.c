// cmd_merge.c: `reap merge` (not written yet).
#include "commands.h"
#include "common.h"

int reap_cmd_merge(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return reap_fail(REAP_EUSAGE, "reap merge: not implemented yet");
}

// cmd_inspect.c: `reap inspect` (not written yet).
#include "commands.h"
#include "common.h"

int reap_cmd_inspect(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return reap_fail(REAP_EUSAGE, "reap inspect: not implemented yet");
}

// cmd_calib.c: `reap calib` (not written yet).
#include "commands.h"
#include "common.h"

int reap_cmd_calib(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return reap_fail(REAP_EUSAGE, "reap calib: not implemented yet");
}

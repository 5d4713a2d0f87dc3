// cmd_verify.c: `reap verify` (not written yet).
#include "commands.h"
#include "common.h"

int reap_cmd_verify(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return reap_fail(REAP_EUSAGE, "reap verify: not implemented yet");
}

// cmd_synth.c: `reap synth` (not written yet).
#include "commands.h"
#include "common.h"

int reap_cmd_synth(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return reap_fail(REAP_EUSAGE, "reap synth: not implemented yet");
}

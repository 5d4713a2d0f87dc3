// cmd_tokenize.c: `reap tokenize` (not written yet).
#include "commands.h"
#include "common.h"

int reap_cmd_tokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return reap_fail(REAP_EUSAGE, "reap tokenize: not implemented yet");
}

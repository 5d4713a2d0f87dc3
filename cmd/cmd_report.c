// cmd_report.c: `reap report` (not written yet).
#include "commands.h"
#include "common.h"

int reap_cmd_report(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return reap_fail(REAP_EUSAGE, "reap report: not implemented yet");
}

// replay.c: the main of a fuzz target built without libFuzzer (`make test`, gcc, the normal
// library): runs LLVMFuzzerTestOneInput once on every file named on the command line, or on every
// file inside a named directory, and prints one PASS line per directory (tests/run.sh counts
// them). A crash, a sanitizer report (make SAN=1 test) or an abort is the failure.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("FAIL %s: cannot open\n", path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0, r;
    uint8_t *buf = malloc(cap);
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    // A copy of exactly n bytes, as libFuzzer passes it (so ASan sees reads past the end).
    uint8_t *in = malloc(n ? n : 1);
    memcpy(in, buf, n);
    free(buf);
    fprintf(stderr, "replay %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(in, n);
    free(in);
    return 0;
}

static int cmp_names(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

int main(int argc, char **argv) {
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    int fails = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) continue;  // an absent regressions/ directory is no failure
        if (!S_ISDIR(st.st_mode)) {
            fails += run_file(argv[i]);
            continue;
        }
        struct dirent **ents;
        int n = scandir(argv[i], &ents, NULL, cmp_names), ran = 0;
        for (int k = 0; k < n; k++) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], ents[k]->d_name);
            if (ents[k]->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                fails += run_file(p);
                ran++;
            }
            free(ents[k]);
        }
        if (n >= 0) free(ents);
        printf("PASS %s: %d inputs of %s replayed\n", name, ran, argv[i]);
    }
    return fails != 0;
}

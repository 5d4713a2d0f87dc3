// cli.c: option parsing and --help from one table (see cli.h).
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

void reap_strlist_free(reap_strlist *l) {
    if (!l) return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void reap_cli_help(const reap_cmd_spec *spec, FILE *out) {
    fprintf(out, "usage: reap %s %s\n\n%s\n", spec->name, spec->usage, spec->summary);
    if (spec->details) fprintf(out, "\n%s\n", spec->details);
    fprintf(out, "\noptions:\n");
    for (int i = 0; i < spec->n_opts; i++) {
        const reap_opt *o = &spec->opts[i];
        char left[64];
        int n = 0;
        if (o->short_name) n = snprintf(left, sizeof left, "-%c, ", o->short_name);
        else n = snprintf(left, sizeof left, "    ");
        if (o->kind == REAP_OPT_FLAG) snprintf(left + n, sizeof left - (size_t)n, "--%s", o->name);
        else snprintf(left + n, sizeof left - (size_t)n, "--%s %s", o->name, o->metavar ? o->metavar : "X");
        fprintf(out, "  %-28s %s\n", left, o->help);
    }
    fprintf(out, "  %-28s %s\n", "-q, --quiet", "errors only");
    fprintf(out, "  %-28s %s\n", "-v, --verbose", "more detail (twice: debug)");
    fprintf(out, "  %-28s %s\n", "-h, --help", "this help");
}

static const reap_opt *find_long(const reap_cmd_spec *spec, const char *name, size_t len) {
    for (int i = 0; i < spec->n_opts; i++)
        if (strlen(spec->opts[i].name) == len && strncmp(spec->opts[i].name, name, len) == 0) return &spec->opts[i];
    return NULL;
}

static const reap_opt *find_short(const reap_cmd_spec *spec, char c) {
    for (int i = 0; i < spec->n_opts; i++)
        if (spec->opts[i].short_name == c) return &spec->opts[i];
    return NULL;
}

int reap_cli_json;

// -j / --json anywhere before "--" (the values of other options skipped): looked for before the
// parse, which stops at the first bad argument.
static int wants_json(const reap_cmd_spec *spec, int argc, char **argv) {
    if (!find_long(spec, "json", 4)) return 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) return 0;
        if (!strcmp(a, "--json") || !strcmp(a, "-j")) return 1;
        const reap_opt *o = NULL;
        if (a[0] == '-' && a[1] == '-' && !strchr(a, '=')) o = find_long(spec, a + 2, strlen(a + 2));
        else if (a[0] == '-' && a[1] && !a[2]) o = find_short(spec, a[1]);
        if (o && o->kind != REAP_OPT_FLAG) i++;  // skip its value
    }
    return 0;
}

static int set_value(const reap_cmd_spec *spec, const reap_opt *o, const char *val) {
    char *end;
    switch (o->kind) {
    case REAP_OPT_FLAG: *(int *)o->dest = 1; return 0;
    case REAP_OPT_INT: {
        errno = 0;
        long long v = strtoll(val, &end, 0);
        if (errno || end == val || *end)
            return reap_fail(REAP_EUSAGE, "reap %s: --%s expects an integer, got '%s'", spec->name, o->name, val);
        *(long long *)o->dest = v;
        return 0;
    }
    case REAP_OPT_DOUBLE: {
        errno = 0;
        double v = strtod(val, &end);
        // ERANGE on underflow (a denormal such as 1e-310) still gives a usable number; nan and inf
        // are numbers to strtod but no option means them (and nan would read as "not given").
        if ((errno && !(errno == ERANGE && fabs(v) <= DBL_MIN)) || end == val || *end)
            return reap_fail(REAP_EUSAGE, "reap %s: --%s expects a number, got '%s'", spec->name, o->name, val);
        if (!isfinite(v))
            return reap_fail(REAP_EUSAGE, "reap %s: --%s expects a finite number, got '%s'", spec->name, o->name, val);
        *(double *)o->dest = v;
        return 0;
    }
    case REAP_OPT_STRING: *(const char **)o->dest = val; return 0;
    case REAP_OPT_STRINGS: {
        reap_strlist *l = o->dest;
        l->v = reap_xrealloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
        l->v[l->n++] = (char *)val;
        return 0;
    }
    }
    return 0;
}

// The long option nearest to a mistyped one (at most 2 edits, or a prefix of one), or NULL.
static const char *nearest_long(const reap_cmd_spec *spec, const char *word) {
    static const char *const common[] = {"help", "quiet", "verbose"};
    const char *best = NULL;
    int bd = 3;
    for (int i = 0; i < spec->n_opts + 3; i++) {
        const char *n = i < spec->n_opts ? spec->opts[i].name : common[i - spec->n_opts];
        int d = *word && !strncmp(n, word, strlen(word)) ? 1 : reap_edit_distance(word, n);
        if (d < bd) bd = d, best = n;
    }
    return best;
}

int reap_cli_parse(const reap_cmd_spec *spec, int argc, char **argv, char ***pos, int *npos) {
    char **p = reap_xcalloc((size_t)argc + 1, sizeof(char *));
    int np = 0, only_pos = 0;
    reap_cli_json = wants_json(spec, argc, argv);
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == 0) {
            p[np++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            reap_cli_help(spec, stdout);
            reap_cli_json = 0;
            free(p);
            return REAP_CLI_HELP;
        }
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            reap_log_level = -1;
            continue;
        }
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            reap_log_level = reap_log_level < 0 ? 1 : reap_log_level + 1;
            continue;
        }
        if (strcmp(a, "-vv") == 0) {
            reap_log_level = 2;
            continue;
        }
        const reap_opt *o;
        const char *val = NULL;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(spec, name, len);
            if (!o) {
                free(p);
                char word[64];
                snprintf(word, sizeof word, "%.*s", (int)(len < 63 ? len : 63), name);
                const char *near = nearest_long(spec, word);
                if (near)
                    return reap_fail(REAP_EUSAGE, "reap %s: unknown option '%s': did you mean '--%s'? (see reap %s --help)",
                                     spec->name, a, near, spec->name);
                return reap_fail(REAP_EUSAGE, "reap %s: unknown option '%s' (see reap %s --help)", spec->name, a, spec->name);
            }
            if (eq) val = eq + 1;
        } else {
            o = a[2] == 0 ? find_short(spec, a[1]) : NULL;
            if (!o) {
                free(p);
                return reap_fail(REAP_EUSAGE, "reap %s: unknown option '%s' (see reap %s --help)", spec->name, a, spec->name);
            }
        }
        if (o->kind == REAP_OPT_FLAG) {
            if (val) {
                free(p);
                return reap_fail(REAP_EUSAGE, "reap %s: --%s takes no value", spec->name, o->name);
            }
        } else if (!val) {
            if (i + 1 >= argc) {
                free(p);
                return reap_fail(REAP_EUSAGE, "reap %s: --%s needs a value", spec->name, o->name);
            }
            val = argv[++i];
        }
        int st = set_value(spec, o, val);
        if (st) {
            free(p);
            return st;
        }
    }
    if (np < spec->min_pos || (spec->max_pos >= 0 && np > spec->max_pos)) {
        free(p);
        if (np < spec->min_pos)
            return reap_fail(REAP_EUSAGE, "reap %s: missing argument (usage: reap %s %s)", spec->name, spec->name, spec->usage);
        return reap_fail(REAP_EUSAGE, "reap %s: unexpected argument '%s' (usage: reap %s %s)", spec->name,
                         argv[argc - 1], spec->name, spec->usage);
    }
    *pos = p;
    *npos = np;
    return 0;
}

int reap_cli_parse_args(const reap_cmd_spec *spec, int argc, char **argv, const char **args, int n) {
    REAP_ASSERT(spec->min_pos == n && spec->max_pos == n);
    char **pos = NULL;
    int npos = 0, st = reap_cli_parse(spec, argc, argv, &pos, &npos);
    for (int i = 0; st == REAP_OK && i < n; i++) args[i] = pos[i];
    free(pos);
    return st;
}

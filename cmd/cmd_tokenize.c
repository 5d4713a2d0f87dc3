// cmd_tokenize.c: `reap tokenize`: encode text with a checkpoint's tokenizer.json, decode ids,
// or measure encoding throughput.
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "common.h"
#include "tokenizer.h"

// Every output of this command goes through these and is dropped with -q (errors only).
static void print_ids(FILE *f, const int32_t *ids, size_t n) {
    if (reap_log_level < 0) return;
    fputc('[', f);
    for (size_t i = 0; i < n; i++) fprintf(f, i ? ", %d" : "%d", ids[i]);
    fputs("]\n", f);
}

// Reads a whole file, or stdin for "-".
static int read_input(const char *path, char **data, size_t *len) {
    if (strcmp(path, "-") != 0) return reap_read_file(path, data, len);
    reap_sbuf b = {0};
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, stdin)) > 0) reap_sbuf_append(&b, buf, k);
    if (ferror(stdin)) {
        reap_sbuf_free(&b);
        return reap_fail(REAP_EIO, "stdin: read failed");
    }
    if (!b.p) reap_sbuf_append(&b, "", 0);
    *data = b.p;
    *len = b.n;
    return REAP_OK;
}

// "1,2,3", "1 2 3" or "[1, 2, 3]" -> ids.
static int parse_ids(const char *s, int32_t **ids, size_t *n) {
    size_t cap = 16;
    *ids = reap_xmalloc(cap * sizeof **ids);
    *n = 0;
    while (*s) {
        if (strchr("[], \t\r\n", *s)) { s++; continue; }
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 0 || v > INT32_MAX)
            return reap_fail(REAP_EUSAGE, "reap tokenize: --decode: '%.20s' is not a token id", s);
        if (*n == cap) *ids = reap_xrealloc(*ids, (cap *= 2) * sizeof **ids);
        (*ids)[(*n)++] = (int32_t)v;
        s = end;
    }
    return REAP_OK;
}

// Per line: a JSON string is encoded (a JSON array of ids out), a JSON array of ids is decoded
// (a JSON string out).
static int decode_line(reap_tokenizer *tok, const cJSON *arr, const char *path, int line) {
    size_t n = (size_t)cJSON_GetArraySize(arr), k = 0;
    int32_t *ids = reap_xmalloc((n + 1) * sizeof *ids);
    const cJSON *c;
    cJSON_ArrayForEach(c, arr) {
        if (!cJSON_IsNumber(c) || c->valuedouble < 0 || c->valuedouble > INT32_MAX) {
            free(ids);
            return reap_fail(REAP_EINVAL, "%s:%d: element %zu is not a token id", path, line, k);
        }
        ids[k++] = c->valueint;
    }
    char *s;
    size_t sl;
    int st = reap_tok_decode(tok, ids, n, &s, &sl);
    free(ids);
    if (st) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", reap_err_msg());  // the message buffer is rewritten below
        return reap_fail(st, "%s:%d: %s", path, line, msg);
    }
    cJSON *js = cJSON_CreateString(s);
    char *q = cJSON_PrintUnformatted(js);
    if (reap_log_level >= 0) puts(q);
    free(q);
    cJSON_Delete(js);
    free(s);
    return REAP_OK;
}

static int encode_jsonl(reap_tokenizer *tok, const char *path, const char *data, size_t len, size_t *bytes, size_t *tokens) {
    int32_t *ids = NULL;
    size_t cap = 0;
    int line = 0;
    int st = REAP_OK;
    for (size_t i = 0; i < len && !st;) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - data) : len;
        line++;
        cJSON *v = cJSON_ParseWithLength(data + i, e - i);
        if (cJSON_IsArray(v)) {
            st = decode_line(tok, v, path, line);
        } else if (!cJSON_IsString(v)) {
            st = reap_fail(REAP_EINVAL, "%s:%d: expected a JSON string or an array of ids", path, line);
        } else {
            size_t n = 0, sl = strlen(v->valuestring);
            st = reap_tok_encode(tok, v->valuestring, sl, &ids, &n, &cap);
            if (st) {
                char msg[1024];
                snprintf(msg, sizeof msg, "%s", reap_err_msg());
                reap_err_set("%s:%d: %s", path, line, msg);
            }
            else {
                print_ids(stdout, ids, n);
                *bytes += sl;
                *tokens += n;
            }
        }
        cJSON_Delete(v);
        i = e + 1;
    }
    free(ids);
    return st;
}

int reap_cmd_tokenize(int argc, char **argv) {
    const char *text = NULL, *file = NULL, *jsonl = NULL, *decode = NULL;
    int bench = 0, show = 0;
    reap_opt opts[] = {
        {"text", 0, REAP_OPT_STRING, &text, "S", "encode the string S"},
        {"file", 0, REAP_OPT_STRING, &file, "F", "encode the whole file F (- for stdin)"},
        {"jsonl", 0, REAP_OPT_STRING, &jsonl, "F", "per line of F: a JSON string -> a JSON array of its ids; an array of ids -> the decoded JSON string"},
        {"decode", 0, REAP_OPT_STRING, &decode, "IDS", "decode ids (\"1,2,3\" or \"[1, 2, 3]\") and print the text"},
        {"tokens", 0, REAP_OPT_FLAG, &show, NULL, "with --text/--file: also print each id with its token string"},
        {"bench", 0, REAP_OPT_FLAG, &bench, NULL, "measure encoding throughput (MB/s) on the input instead of printing ids"},
    };
    reap_cmd_spec spec = {
        "tokenize", "TOKENIZER_JSON|CKPT_DIR (--text S | --file F | --jsonl F | --decode IDS) [--bench]",
        "Encode or decode text with a HF tokenizer.json (byte-level BPE), as `tokenizers` does with add_special_tokens=False.",
        "Ids are printed as a JSON array. Added and special tokens written in the text are matched as tokens.\n"
        "--bench encodes the input once from a cold cache and reports MB/s on stdout (load time apart).",
        opts, (int)(sizeof opts / sizeof opts[0]), 1, 1};
    char **pos = NULL;
    int npos = 0;
    int st = reap_cli_parse(&spec, argc, argv, &pos, &npos);
    if (st == REAP_CLI_HELP) return REAP_OK;
    if (st) return st;
    if ((text != NULL) + (file != NULL) + (jsonl != NULL) + (decode != NULL) != 1) {
        free(pos);
        return reap_fail(REAP_EUSAGE, "reap tokenize: give exactly one of --text, --file, --jsonl, --decode");
    }
    char *tpath = reap_is_dir(pos[0]) ? reap_path_join(pos[0], "tokenizer.json") : reap_xstrdup(pos[0]);
    free(pos);
    reap_tokenizer *tok = NULL;
    double t0 = reap_now();
    st = reap_tok_load(tpath, &tok);
    double t_load = reap_now() - t0;
    char *data = NULL;
    size_t len = 0;
    if (!st && decode) {
        int32_t *ids;
        size_t n;
        st = parse_ids(decode, &ids, &n);
        char *out = NULL;
        size_t olen;
        if (!st) st = reap_tok_decode(tok, ids, n, &out, &olen);
        if (!st && reap_log_level >= 0) fwrite(out, 1, olen, stdout);
        free(out);
        free(ids);
    } else if (!st && jsonl) {
        st = read_input(jsonl, &data, &len);
        size_t bytes = 0, tokens = 0;
        t0 = reap_now();
        if (!st) st = encode_jsonl(tok, jsonl, data, len, &bytes, &tokens);
        double dt = reap_now() - t0;
        if (!st && bench && reap_log_level >= 0)
            fprintf(stderr, "%zu strings-bytes, %zu tokens in %.3f s: %.2f MB/s\n", bytes, tokens, dt, bytes / 1e6 / (dt > 0 ? dt : 1e-9));
    } else if (!st) {
        if (file) st = read_input(file, &data, &len);
        else data = reap_xstrdup(text), len = strlen(text);
        int32_t *ids = NULL;
        size_t n = 0, cap = 0;
        t0 = reap_now();
        if (!st) st = reap_tok_encode(tok, data, len, &ids, &n, &cap);
        double dt = reap_now() - t0;
        if (reap_log_level < 0) {
            // -q: encoded (errors reported), nothing printed
        } else if (!st && bench) {
            printf("tokenizer %s: loaded in %.3f s\n", tpath, t_load);
            printf("encoded %zu bytes into %zu tokens in %.3f s: %.2f MB/s, %.0f tokens/s, %.2f bytes/token\n", len, n, dt,
                   len / 1e6 / (dt > 0 ? dt : 1e-9), n / (dt > 0 ? dt : 1e-9), n ? (double)len / (double)n : 0.0);
        } else if (!st && show) {
            for (size_t i = 0; i < n; i++) {
                char *s;
                size_t sl;
                if (reap_tok_decode(tok, &ids[i], 1, &s, &sl) == REAP_OK) {
                    cJSON *js = cJSON_CreateString(s);
                    char *q = cJSON_PrintUnformatted(js);
                    printf("%d\t%s\n", ids[i], q ? q : "?");
                    free(q);
                    cJSON_Delete(js);
                    free(s);
                }
            }
        } else if (!st) {
            print_ids(stdout, ids, n);
        }
        free(ids);
    }
    free(data);
    reap_tok_free(tok);
    free(tpath);
    return st;
}

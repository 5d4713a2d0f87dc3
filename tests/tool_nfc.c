// tool_nfc.c: normalises strings for the Python cross-check (tests/py/check_tokenizer.py compares
// them with unicodedata.normalize): tool_nfc NFC|NFD FILE, where FILE has one JSON string per
// line; prints one JSON string per line, the normalised text.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "common.h"
#include "unicode_nfc.h"

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "NFC") && strcmp(argv[1], "NFD"))) {
        fprintf(stderr, "usage: %s NFC|NFD FILE\n", argv[0]);
        return 2;
    }
    reap_unicode_form form = argv[1][2] == 'C' ? REAP_UNICODE_NFC : REAP_UNICODE_NFD;
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    reap_sbuf out = {0};
    reap_unicode_work w = {0};
    int rc = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        cJSON *j = cJSON_ParseWithLength(line, (size_t)len);
        const char *s = cJSON_IsString(j) ? j->valuestring : NULL;
        if (!s || reap_utf8_check((const uint8_t *)s, strlen(s)) != strlen(s)) {
            fprintf(stderr, "%s:%ld: not a JSON string of valid UTF-8\n", argv[2], lineno);
            cJSON_Delete(j);
            rc = 1;
            break;
        }
        size_t n = strlen(s);
        const char *res = s;
        if (reap_unicode_normalize(form, s, n, &out, &w)) res = out.p;
        cJSON *o = cJSON_CreateString(res);
        char *txt = cJSON_PrintUnformatted(o);
        printf("%s\n", txt);
        free(txt);
        cJSON_Delete(o);
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    reap_sbuf_free(&out);
    reap_unicode_work_free(&w);
    return rc;
}

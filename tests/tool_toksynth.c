// tool_toksynth.c: writes a synthesised tokenizer.json (reap_tok_synth_json) for the Python
// cross-check: tool_toksynth VOCAB_SIZE TRAIN_TEXT_FILE OUT_JSON
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "tokenizer.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s VOCAB_SIZE TRAIN_TEXT_FILE OUT_JSON\n", argv[0]);
        return 2;
    }
    char *text, *json;
    size_t len, jlen;
    int st = reap_read_file(argv[2], &text, &len);
    if (!st) st = reap_tok_synth_json(atoi(argv[1]), text, len, &json, &jlen);
    if (!st) st = reap_write_file_atomic(argv[3], json, jlen);
    if (st) {
        fprintf(stderr, "%s: %s\n", argv[0], reap_err_msg());
        return 1;
    }
    free(text);
    free(json);
    return 0;
}

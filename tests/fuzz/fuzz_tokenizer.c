// fuzz_tokenizer: tokenizer.json through reap_tok_load_mem, then an encode / decode round of a
// text. Input: the tokenizer.json bytes, optionally followed by a NUL byte and the text to encode
// (a fixed mixed text when absent), so the fuzzer varies both. Decoding every id below the
// vocabulary size is capped at 4096 ids. A clone of the handle must encode the text the same.
#include "fuzz.h"
#include "tokenizer.h"

static const char default_text[] = "Hello, world! def f(x):\n    return x**2  # 12345\n"
                                   "<think>Ünïcödé 中文 ☃ 🎉</think>\t\r\n  trailing   ";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    (void)fuzz_dir();
    const uint8_t *nul = memchr(data, 0, size);
    size_t jlen = nul ? (size_t)(nul - data) : size;
    const char *text = nul ? (const char *)nul + 1 : default_text;
    size_t tlen = nul ? size - jlen - 1 : sizeof default_text - 1;
    reap_tokenizer *t = NULL;
    if (reap_tok_load_mem((const char *)data, jlen, "fuzz/tokenizer.json", &t) != REAP_OK) {
        FUZZ_CHECK(t == NULL);
        return 0;
    }
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    int st = reap_tok_encode(t, text, tlen, &ids, &n, &cap);
    // a clone (another thread's handle: shared tables, its own scratch and cache) gives the same
    // result, on a cold cache and again on a warm one
    reap_tokenizer *c = reap_tok_clone(t);
    for (int round = 0; round < 2; round++) {
        int32_t *ids2 = NULL;
        size_t n2 = 0, cap2 = 0;
        int st2 = reap_tok_encode(c, text, tlen, &ids2, &n2, &cap2);
        FUZZ_CHECK(st2 == st && (st || (n2 == n && (!n || !memcmp(ids2, ids, n * sizeof *ids)))));
        free(ids2);
    }
    reap_tok_free(c);
    if (st == REAP_OK) {
        for (size_t i = 0; i < n; i++) FUZZ_CHECK(ids[i] >= 0 && ids[i] < reap_tok_vocab_size(t));
        char *out = NULL;
        size_t olen = 0;
        if (reap_tok_decode(t, ids, n, &out, &olen) == REAP_OK) free(out);
    }
    free(ids);
    int v = reap_tok_vocab_size(t);
    FUZZ_CHECK(v >= 0);
    int32_t all[4096];
    int m = v < 4096 ? v : 4096;
    for (int i = 0; i < m; i++) all[i] = i;
    char *out = NULL;
    size_t olen = 0;
    if (reap_tok_decode(t, all, (size_t)m, &out, &olen) == REAP_OK) free(out);
    (void)reap_tok_token_id(t, "<think>");
    reap_tok_free(t);
    return 0;
}

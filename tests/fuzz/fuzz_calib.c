// fuzz_calib: a calibration JSONL file through reap_calib_load with the MiniMax-M2 chat renderer:
// every record shape ({"messages","tools"} chat, {"query","tools","answers"} xlam,
// {"instruction","output"[,"input"]}, {"text"}), blank lines, bad UTF-8. An input of odd length
// is loaded as PATH:2 (the seeded selection of two records). The samples loaded are then packed by
// reap_pack (tokenised lazily, on 2 threads) with a small synthesised tokenizer, and the rows must
// be those of every sample tokenised one by one and packed by reap_pack_ids.
#include <omp.h>

#include "calib.h"
#include "fuzz.h"
#include "tokenizer.h"

static char *tok_json;
static size_t tok_len;

// The same rows, counts and flags.
static int same_rows(const reap_packed *a, const reap_packed *b) {
    size_t n = (size_t)a->rows * (size_t)a->seq_len;
    return a->rows == b->rows && a->seq_len == b->seq_len &&
           (!n || (!memcmp(a->ids, b->ids, n * 4) && !memcmp(a->mask, b->mask, n) && !memcmp(a->sample, b->sample, n * 4))) &&
           a->samples_used == b->samples_used &&
           a->samples_empty == b->samples_empty && a->samples_truncated == b->samples_truncated &&
           a->tokens_kept == b->tokens_kept && a->tokens_dropped == b->tokens_dropped &&
           a->out_of_samples == b->out_of_samples;
}

static void check_pack(const reap_samples *s, size_t size) {
    if (!tok_json) {  // the same bytes for every input: made once
        const char *train = "def f(x):\n    return x + 1\n<tool_call>{\"name\": \"run\"}</tool_call>\n";
        FUZZ_CHECK(reap_tok_synth_json(400, train, strlen(train), &tok_json, &tok_len) == REAP_OK);
    }
    reap_tokenizer *tok;
    FUZZ_CHECK(reap_tok_load_mem(tok_json, tok_len, "fuzz tokenizer.json", &tok) == REAP_OK);
    reap_pack_params p = reap_pack_default_params();
    p.seq_len = 16 + (int)(size % 7), p.rows = (int)(size % 3), p.pack = size % 5 != 0;
    int32_t **ids = reap_xcalloc((size_t)(s->n ? s->n : 1), sizeof *ids);
    size_t *lens = reap_xcalloc((size_t)(s->n ? s->n : 1), sizeof *lens);
    int ok = 1;
    for (int i = 0; i < s->n && ok; i++) {
        size_t cap = 0;
        ok = reap_tok_encode(tok, s->v[i].text, reap_pack_text_len(s->v[i].text, s->v[i].len, p.seq_len), &ids[i],
                             &lens[i], &cap) == REAP_OK;
    }
    reap_packed a, b;
    omp_set_num_threads(2);
    int sa = ok ? reap_pack_ids((const int32_t *const *)ids, lens, s->n, &p, &a) : REAP_EINVAL;
    int sb = reap_pack(tok, s, &p, &b);
    FUZZ_CHECK(!ok || sa == REAP_OK);
    if (ok) FUZZ_CHECK(sb == REAP_OK && same_rows(&a, &b));
    if (ok) reap_packed_free(&a);
    if (sb == REAP_OK) reap_packed_free(&b);
    for (int i = 0; i < s->n; i++) free(ids[i]);
    free(ids), free(lens);
    reap_tok_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_memfd_path(data, size);
    char spec[80];
    snprintf(spec, sizeof spec, "%s%s", path, size % 2 ? ":2" : "");
    reap_samples s = {0};
    if (reap_calib_load(spec, &reap_chat_minimax_m2, 42, &s) == REAP_OK) {
        for (int i = 0; i < s.n; i++) FUZZ_CHECK(s.v[i].text && s.v[i].origin && strlen(s.v[i].text) <= s.v[i].len);
        check_pack(&s, size);
    }
    reap_samples_free(&s);
    return 0;
}

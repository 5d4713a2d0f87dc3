// test_tokenizer.c: loader errors, BPE merge order, added tokens, UTF-8 checks, decode round
// trips, synthesis determinism and the normalizers (NFC, NFD, Replace, Prepend). (Exact agreement with HF `tokenizers` on >10k strings is
// tests/py/check_tokenizer.py.)
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "test.h"
#include "tokenizer.h"

// A tiny byte-level model: every byte, plus a, b, c merges with chosen ranks.
static int added_id = 260;  // the id the file lists for "<x>"
static const char *extra_added = "";  // more added_tokens entries (each with a leading comma)

static char *tiny_json(const char *pretok, const char *normalizer, const char *model_type, const char *merges) {
    reap_sbuf b = {0};
    reap_sbuf_printf(&b, "{\"added_tokens\": [{\"id\": %d, \"content\": \"<x>\", \"special\": true}%s],"
                         " \"normalizer\": %s, \"pre_tokenizer\": %s, \"decoder\": {\"type\": \"ByteLevel\"},"
                         " \"model\": {\"type\": \"%s\", \"vocab\": {",
                     added_id, extra_added, normalizer, pretok, model_type);
    for (int c = 0; c < 256; c++) {
        // GPT-2 byte-level names: printable bytes are themselves, the rest 256 + k.
        int printable = (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || c >= 174;
        static int k;
        if (c == 0) k = 0;
        unsigned cp = printable ? (unsigned)c : 256u + (unsigned)k++;
        char u[8];
        int n = cp < 0x80 ? (u[0] = (char)cp, 1) : (u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), 2);
        u[n] = 0;
        if (c == '"' || c == '\\') reap_sbuf_printf(&b, "\"\\%s\": %d, ", u, c);
        else reap_sbuf_printf(&b, "\"%s\": %d, ", u, c);
    }
    reap_sbuf_printf(&b, "\"ab\": 256, \"bc\": 257, \"abc\": 258, \"aa\": 259}, \"merges\": %s}}", merges);
    return b.p;
}

static const char *BL = "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}";
static const char *MERGES = "[\"b c\", \"a b\", \"a bc\", [\"a\", \"a\"]]";

static reap_tokenizer *tiny(void) {
    char *j = tiny_json(BL, "null", "BPE", MERGES);
    reap_tokenizer *t = NULL;
    int st = reap_tok_load_mem(j, strlen(j), "tiny.json", &t);
    free(j);
    if (st) printf("  load: %s\n", reap_err_msg());
    return t;
}

static int enc(reap_tokenizer *t, const char *s, size_t len, int32_t **ids, size_t *n) {
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    return reap_tok_encode(t, s, len, ids, n, &cap);
}

static void test_loader_error_names_file_and_component(void) {
    struct { const char *pretok, *norm, *model, *merges, *want; } cases[] = {
        {"{\"type\": \"Whitespace\"}", "null", "BPE", MERGES, "pre_tokenizer Whitespace"},
        {BL, "{\"type\": \"NFKC\"}", "BPE", MERGES, "normalizer NFKC"},
        {BL, "{\"type\": \"Lowercase\"}", "BPE", MERGES, "normalizer Lowercase is not supported"},
        {BL, "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, {\"type\": \"NFKD\"}]}", "BPE", MERGES,
         "normalizer NFKD"},
        {BL, "{\"type\": \"BertNormalizer\"}", "BPE", MERGES, "normalizer BertNormalizer"},
        {BL, "{\"type\": \"Strip\", \"strip_left\": true, \"strip_right\": true}", "BPE", MERGES, "normalizer Strip"},
        {BL, "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \" +\"}, \"content\": \" \"}", "BPE", MERGES,
         "normalizer Replace: a Regex pattern"},
        {BL, "{\"type\": \"Replace\", \"pattern\": {\"String\": \"\"}, \"content\": \"x\"}", "BPE", MERGES,
         "normalizer Replace"},
        {BL, "{\"type\": \"Sequence\"}", "BPE", MERGES, "normalizer Sequence"},
        {BL, "null", "WordPiece", MERGES, "model WordPiece"},
        {BL, "null", "BPE", "[\"a zz\"]", "'zz' is not in the vocab"},
        {BL, "null", "BPE", "[\"a b c\"]", "merges[0]"},
        {"{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}", "null", "BPE", MERGES,
         "does not compile"},
        {"{\"type\": \"Sequence\", \"pretokenizers\": [" "{\"type\": \"ByteLevel\"}, {\"type\": \"Split\", \"pattern\": "
         "{\"String\": \"x\"}, \"behavior\": \"Isolated\"}]}", "null", "BPE", MERGES, "ByteLevel must be last"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *j = tiny_json(cases[i].pretok, cases[i].norm, cases[i].model, cases[i].merges);
        reap_tokenizer *t = NULL;
        int st = reap_tok_load_mem(j, strlen(j), "dir/tokenizer.json", &t);
        free(j);
        CHECK_EQ_INT(st, REAP_EINVAL);
        CHECK(t == NULL);
        CHECK_STR_CONTAINS(reap_err_msg(), "dir/tokenizer.json");
        CHECK_STR_CONTAINS(reap_err_msg(), cases[i].want);
    }
    reap_tokenizer *t = NULL;
    CHECK_EQ_INT(reap_tok_load_mem("{\"model\": ", 10, "bad.json", &t), REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "bad.json");
}

static void test_bpe_applies_merges_by_rank_not_position(void) {
    reap_tokenizer *t = tiny();
    CHECK(t);
    int32_t *ids;
    size_t n;
    // "abc": (b,c) has rank 0, so bc first, then (a,bc) -> abc; (a,b) rank 1 never applies.
    CHECK_EQ_INT(enc(t, "abc", 3, &ids, &n), REAP_OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(ids[0], 258);
    free(ids);
    // "aaa": equal ranks merge leftmost first -> aa, a.
    CHECK_EQ_INT(enc(t, "aaa", 3, &ids, &n), REAP_OK);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(ids[0], 259);
    CHECK_EQ_INT(ids[1], 'a');
    free(ids);
    reap_tok_free(t);
}

static void test_added_token_inside_text_is_one_id(void) {
    reap_tokenizer *t = tiny();
    CHECK(t);
    int32_t *ids;
    size_t n;
    CHECK_EQ_INT(enc(t, "ab<x>c<x", 8, &ids, &n), REAP_OK);
    // ab | <x> | c < x  (the unterminated "<x" is plain text)
    int32_t want[] = {256, 260, 'c', '<', 'x'};
    CHECK_EQ_INT(n, 5);
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(ids[i], want[i]);
    free(ids);
    CHECK_EQ_INT(reap_tok_token_id(t, "<x>"), 260);
    CHECK_EQ_INT(reap_tok_token_id(t, "abc"), 258);
    CHECK_EQ_INT(reap_tok_token_id(t, "nope"), -1);
    CHECK_EQ_INT(reap_tok_vocab_size(t), 261);
    reap_tok_free(t);
}

// `tokenizers` ignores the listed id of an added token that is not in the model's vocab: it takes
// the next id after the vocab (or after the previous added token). Ids must match it, not the file.
static void test_added_token_ids_follow_tokenizers_assignment(void) {
    added_id = 300;
    int old = reap_log_level;
    reap_log_level = -1;  // the mismatch warning is expected here
    reap_tokenizer *t = tiny();
    reap_log_level = old;
    added_id = 260;
    CHECK(t);
    CHECK_EQ_INT(reap_tok_token_id(t, "<x>"), 260);
    reap_tok_free(t);
}

static void test_empty_string_gives_no_ids(void) {
    reap_tokenizer *t = tiny();
    CHECK(t);
    int32_t *ids;
    size_t n;
    CHECK_EQ_INT(enc(t, "", 0, &ids, &n), REAP_OK);
    CHECK_EQ_INT(n, 0);
    free(ids);
    reap_tok_free(t);
}

// An empty vocabulary yields no ids for any text (every symbol dropped, no unk) and must not pass
// NULL to memcpy while caching the empty result (UBSan, issue 13); one id far above the entries
// present is refused before it sizes an allocation.
static void test_empty_vocab_encodes_to_nothing(void) {
    const char *j = "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"pre_tokenizer\": "
                    "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}}";
    reap_tokenizer *t = NULL;
    int st = reap_tok_load_mem(j, strlen(j), "empty.json", &t);
    CHECK_MSG(st == REAP_OK, "%s", reap_err_msg());
    if (!t) return;
    int32_t *ids;
    size_t n;
    CHECK_EQ_INT(enc(t, "hi there", 8, &ids, &n), REAP_OK);
    CHECK_EQ_INT(n, 0);
    free(ids);
    reap_tok_free(t);
}

static void test_huge_id_is_refused(void) {
    const char *j = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 2000000000}, \"merges\": []}}";
    reap_tokenizer *t = NULL;
    CHECK_EQ_INT(reap_tok_load_mem(j, strlen(j), "huge.json", &t), REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "huge.json");
    CHECK_STR_CONTAINS(reap_err_msg(), "id 2000000000");
    reap_tok_free(t);
}

static void test_invalid_utf8_is_rejected(void) {
    reap_tokenizer *t = tiny();
    CHECK(t);
    const char *bad[] = {"ok\xff", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "abc\xe2\x82"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t *ids;
        size_t n;
        CHECK_EQ_INT(enc(t, bad[i], strlen(bad[i]), &ids, &n), REAP_EINVAL);
        CHECK_EQ_INT(n, 0);
        CHECK_STR_CONTAINS(reap_err_msg(), "invalid UTF-8");
        free(ids);
    }
    reap_tok_free(t);
}

static void test_decode_roundtrips_and_rejects_unknown_ids(void) {
    reap_tokenizer *t = tiny();
    CHECK(t);
    const char *cases[] = {"abc aaa  bc\n\r\n\t", "héllo wörld 你好 👨‍👩‍👧", "x<x>y", "nul\0byte", " \xc2\xa0 "};
    size_t lens[] = {16, 0, 5, 8, 4};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = lens[i] ? lens[i] : strlen(cases[i]);
        int32_t *ids;
        size_t n;
        char *out;
        size_t olen;
        CHECK_EQ_INT(enc(t, cases[i], len, &ids, &n), REAP_OK);
        CHECK_EQ_INT(reap_tok_decode(t, ids, n, &out, &olen), REAP_OK);
        CHECK_EQ_INT(olen, len);
        CHECK(memcmp(out, cases[i], len) == 0);
        free(out);
        free(ids);
    }
    int32_t bad[] = {1, 299};  // 299: above every id
    char *out;
    size_t olen;
    CHECK_EQ_INT(reap_tok_decode(t, bad, 2, &out, &olen), REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "id 299");
    // A lone continuation byte decodes to U+FFFD, as `tokenizers` does.
    int32_t half[] = {0xA9};
    CHECK_EQ_INT(reap_tok_decode(t, half, 1, &out, &olen), REAP_OK);
    CHECK(olen == 3 && memcmp(out, "\xEF\xBF\xBD", 3) == 0);
    free(out);
    reap_tok_free(t);
}

static void test_long_word_encodes_and_roundtrips(void) {
    reap_tokenizer *t = tiny();
    CHECK(t);
    size_t len = 199998;
    char *s = malloc(len + 1);
    for (size_t i = 0; i < len; i++) s[i] = "abc"[i % 3];
    int32_t *ids;
    size_t n;
    CHECK_EQ_INT(enc(t, s, len, &ids, &n), REAP_OK);
    CHECK_EQ_INT(n, len / 3);
    for (size_t i = 0; i < n; i++) CHECK_EQ_INT(ids[i], 258);
    free(ids);
    free(s);
    reap_tok_free(t);
}

static reap_tokenizer *tiny_norm(const char *normalizer) {
    char *j = tiny_json(BL, normalizer, "BPE", MERGES);
    reap_tokenizer *t = NULL;
    int st = reap_tok_load_mem(j, strlen(j), "tiny.json", &t);
    free(j);
    if (st) printf("  load: %s\n", reap_err_msg());
    return t;
}

// ids of s, as a string "1 2 3" (for comparing two encodings in one check).
static char *ids_str(reap_tokenizer *t, const char *s) {
    int32_t *ids;
    size_t n;
    reap_sbuf b = {0};
    reap_sbuf_append(&b, "", 0);
    if (enc(t, s, strlen(s), &ids, &n)) reap_sbuf_puts(&b, "error");
    for (size_t i = 0; i < n; i++) reap_sbuf_printf(&b, "%s%d", i ? " " : "", ids[i]);
    free(ids);
    return b.p;
}

#define CHECK_IDS(t, s, want)                                                             \
    do {                                                                                  \
        char *got_ = ids_str(t, s);                                                       \
        int ok_ = !strcmp(got_, want);                                                    \
        if (!ok_) printf("  %s -> [%s], want [%s]\n", #s, got_, want);                    \
        free(got_);                                                                       \
        CHECK(ok_);                                                                       \
    } while (0)

static void test_nfc_normalizer_composes_before_bpe(void) {
    reap_tokenizer *t = tiny_norm("{\"type\": \"NFC\"}");
    CHECK(t);
    // é (C3 A9) whether written composed or decomposed; U+212B ANGSTROM SIGN -> Å (C3 85).
    CHECK_IDS(t, "e\xCC\x81", "195 169");
    CHECK_IDS(t, "\xC3\xA9", "195 169");
    CHECK_IDS(t, "\xE2\x84\xAB", "195 133");
    // A non-normalized added token splits the text first: no composition across it.
    CHECK_IDS(t, "e<x>\xCC\x81", "101 260 204 129");
    reap_tok_free(t);
    t = tiny_norm("{\"type\": \"NFD\"}");
    CHECK(t);
    CHECK_IDS(t, "\xC3\xA9", "101 204 129");
    reap_tok_free(t);
}

static void test_replace_and_prepend_normalizers_apply_in_order(void) {
    reap_tokenizer *t = tiny_norm("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Replace\", \"pattern\": "
                                  "{\"String\": \"aa\"}, \"content\": \"bc\"}, {\"type\": \"Prepend\", \"prepend\": \"a\"}]}");
    CHECK(t);
    // "aaax" -> Replace (leftmost, non-overlapping) "bcax" -> Prepend "abcax" -> abc, a, x.
    CHECK_IDS(t, "aaax", "258 97 120");
    // Prepend applies to each piece between added tokens, and not to an empty one.
    CHECK_IDS(t, "bc<x>x", "258 260 97 120");
    CHECK_IDS(t, "<x>", "260");
    reap_tok_free(t);
}

// `tokenizers` matches a normalized added token by its content passed through the normalizer.
static void test_normalized_added_token_is_matched_normalised(void) {
    extra_added = ", {\"id\": 261, \"content\": \"e\\u0301!\", \"special\": false, \"normalized\": true}";
    reap_tokenizer *t = tiny_norm("{\"type\": \"NFC\"}");
    extra_added = "";
    CHECK(t);
    CHECK_IDS(t, "\xC3\xA9!", "261");
    CHECK_IDS(t, "xe\xCC\x81!", "120 261");
    // It decodes as its normalised content through the ByteLevel decoder, as `tokenizers` does:
    // "é!" maps to the bytes E9 21, and the lone E9 becomes U+FFFD.
    int32_t id = 261;
    char *out;
    size_t olen;
    CHECK_EQ_INT(reap_tok_decode(t, &id, 1, &out, &olen), REAP_OK);
    int ok = olen == 4 && !memcmp(out, "\xEF\xBF\xBD!", 4);
    free(out);
    CHECK(ok);
    reap_tok_free(t);
}

static const char TRAIN[] =
    "def add(a, b):\n    return a + b\n\nint main(void) { return add(1, 2); }\n"
    "The quick brown fox jumps over the lazy dog. The dog sleeps. ]~b]user\nhello[e~[\n"
    "for i in range(10):\n    print(i)\n    print(i * i)\n";

static void test_synth_is_deterministic_and_places_added_tokens(void) {
    char *j1, *j2;
    size_t n1, n2;
    CHECK_EQ_INT(reap_tok_synth_json(700, TRAIN, sizeof TRAIN - 1, &j1, &n1), REAP_OK);
    CHECK_EQ_INT(reap_tok_synth_json(700, TRAIN, sizeof TRAIN - 1, &j2, &n2), REAP_OK);
    CHECK(n1 == n2 && memcmp(j1, j2, n1) == 0);
    reap_tokenizer *t = NULL;
    CHECK_EQ_INT(reap_tok_load_mem(j1, n1, "synth.json", &t), REAP_OK);
    CHECK_EQ_INT(reap_tok_vocab_size(t), 700);
    const char *names[] = {"]~b]", "[e~[", "]!d~[", "]~!b[", "<think>", "</think>", "<minimax:tool_call>", "</minimax:tool_call>"};
    int offs[] = {19, 20, 21, 34, 50, 51, 52, 53};
    for (int i = 0; i < 8; i++) CHECK_EQ_INT(reap_tok_token_id(t, names[i]), 700 - 54 + offs[i]);
    // Learnt merges: a frequent word of the training text is one token.
    int32_t *ids;
    size_t n;
    CHECK_EQ_INT(enc(t, " return", 7, &ids, &n), REAP_OK);
    CHECK_EQ_INT(n, 1);
    free(ids);
    const char *s = "]~!b[]~b]system\nYou are a helpful assistant.[e~[\n";
    CHECK_EQ_INT(enc(t, s, strlen(s), &ids, &n), REAP_OK);
    CHECK_EQ_INT(ids[0], 700 - 54 + 34);
    CHECK_EQ_INT(ids[1], 700 - 54 + 19);
    char *out;
    size_t olen;
    CHECK_EQ_INT(reap_tok_decode(t, ids, n, &out, &olen), REAP_OK);
    CHECK(olen == strlen(s) && memcmp(out, s, olen) == 0);
    free(out);
    free(ids);
    reap_tok_free(t);
    free(j1);
    free(j2);
    CHECK_EQ_INT(reap_tok_synth_json(100, TRAIN, sizeof TRAIN - 1, &j1, &n1), REAP_EINVAL);
    CHECK_EQ_INT(reap_tok_synth_json(1000, "\xff", 1, &j1, &n1), REAP_EINVAL);
}

int main(void) {
    RUN(test_loader_error_names_file_and_component);
    RUN(test_empty_vocab_encodes_to_nothing);
    RUN(test_huge_id_is_refused);
    RUN(test_bpe_applies_merges_by_rank_not_position);
    RUN(test_added_token_inside_text_is_one_id);
    RUN(test_added_token_ids_follow_tokenizers_assignment);
    RUN(test_empty_string_gives_no_ids);
    RUN(test_invalid_utf8_is_rejected);
    RUN(test_decode_roundtrips_and_rejects_unknown_ids);
    RUN(test_long_word_encodes_and_roundtrips);
    RUN(test_synth_is_deterministic_and_places_added_tokens);
    RUN(test_nfc_normalizer_composes_before_bpe);
    RUN(test_replace_and_prepend_normalizers_apply_in_order);
    RUN(test_normalized_added_token_is_matched_normalised);
    TEST_EXIT();
}

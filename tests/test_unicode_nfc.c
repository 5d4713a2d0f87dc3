// test_unicode_nfc.c: NFC / NFD on known cases (composition, Hangul, exclusions, singletons,
// reordering, blocking) and the no-copy fast path. (Agreement with Python's unicodedata over every
// code point is in tests/py/check_tokenizer.py through tests/tool_nfc.)
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "test.h"
#include "unicode_nfc.h"

static reap_unicode_work W;
static reap_sbuf OUT;

// Normalises s and returns the result (s itself when the fast path says it is normal already).
static const char *norm(reap_unicode_form f, const char *s, int *copied) {
    int c = reap_unicode_normalize(f, s, strlen(s), &OUT, &W);
    if (copied) *copied = c;
    return c ? OUT.p : s;
}

#define CHECK_NFC(in, want) CHECK_MSG(!strcmp(norm(REAP_UNICODE_NFC, in, NULL), want), "NFC(%s) = %s", in, OUT.p)
#define CHECK_NFD(in, want) CHECK_MSG(!strcmp(norm(REAP_UNICODE_NFD, in, NULL), want), "NFD(%s) = %s", in, OUT.p)

static void test_nfc_composes_decomposed_latin(void) {
    CHECK_NFC("e\xCC\x81", "\xC3\xA9");                          // e + U+0301 -> é
    CHECK_NFC("cafe\xCC\x81 na\xC3\xAF" "ve", "caf\xC3\xA9 na\xC3\xAFve");
    // Vietnamese: e + circumflex (U+0302) + acute (U+0301) -> U+1EBF, through U+00EA.
    CHECK_NFC("e\xCC\x82\xCC\x81", "\xE1\xBA\xBF");
    CHECK_NFD("\xE1\xBA\xBF", "e\xCC\x82\xCC\x81");
    CHECK_NFD("\xC3\xA9", "e\xCC\x81");
}

static void test_nfc_composes_hangul_jamo(void) {
    CHECK_NFC("\xE1\x84\x80\xE1\x85\xA1", "\xEA\xB0\x80");              // L + V -> 가 U+AC00
    CHECK_NFC("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", "\xED\x95\x9C");  // L + V + T -> 한 U+D55C
    CHECK_NFC("\xEA\xB0\x80\xE1\x86\xA8", "\xEA\xB0\x81");              // LV syllable + T -> 각 U+AC01
    CHECK_NFD("\xED\x95\x9C", "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB");
    // An LVT syllable takes no second T; a lone T (U+11A7 is not a T) stays.
    CHECK_NFC("\xEA\xB0\x81\xE1\x86\xA8", "\xEA\xB0\x81\xE1\x86\xA8");
    CHECK_NFC("\xEA\xB0\x80\xE1\x86\xA7", "\xEA\xB0\x80\xE1\x86\xA7");
    CHECK_EQ_INT(reap_unicode_compose(0x1100, 0x1161), 0xAC00);
    CHECK_EQ_INT(reap_unicode_compose(0x1100, 0x1100), 0);
}

static void test_nfc_keeps_composition_exclusions_decomposed(void) {
    // U+0958 DEVANAGARI LETTER QA is excluded: NFC gives KA + NUKTA, and KA + NUKTA stays.
    CHECK_NFC("\xE0\xA5\x98", "\xE0\xA4\x95\xE0\xA4\xBC");
    CHECK_NFC("\xE0\xA4\x95\xE0\xA4\xBC", "\xE0\xA4\x95\xE0\xA4\xBC");
    // U+0344 (non-starter decomposition) -> U+0308 U+0301.
    CHECK_NFC("\xCD\x84", "\xCC\x88\xCC\x81");
    CHECK_EQ_INT(reap_unicode_compose(0x0915, 0x093C), 0);
    // U+0929 (NA + NUKTA) is not excluded: it composes.
    CHECK_NFC("\xE0\xA4\xA8\xE0\xA4\xBC", "\xE0\xA4\xA9");
}

static void test_nfc_maps_singletons(void) {
    CHECK_NFC("\xE2\x84\xAB", "\xC3\x85");  // U+212B ANGSTROM SIGN -> U+00C5
    CHECK_NFC("\xE2\x84\xA6", "\xCE\xA9");  // U+2126 OHM SIGN -> U+03A9
    CHECK_NFC("\xE2\x84\xAA", "K");         // U+212A KELVIN SIGN -> K
    CHECK_NFD("\xE2\x84\xAB", "A\xCC\x8A");
}

static void test_nfc_reorders_combining_marks(void) {
    // a + acute (230) + dot below (220): dot below moves first, then composes (U+1EA1), acute stays.
    CHECK_NFC("a\xCC\x81\xCC\xA3", "\xE1\xBA\xA1\xCC\x81");
    CHECK_NFD("a\xCC\x81\xCC\xA3", "a\xCC\xA3\xCC\x81");
    // Equal classes keep their order (stable): acute then grave -> á + grave.
    CHECK_NFC("a\xCC\x81\xCC\x80", "\xC3\xA1\xCC\x80");
    CHECK_EQ_INT(reap_unicode_ccc(0x0301), 230);
    CHECK_EQ_INT(reap_unicode_ccc(0x0323), 220);
    CHECK_EQ_INT(reap_unicode_ccc('a'), 0);
    // A long run of marks of alternating classes (the linear-time path) sorts stably too.
    reap_sbuf in = {0}, want = {0};
    reap_sbuf_puts(&in, "o");
    reap_sbuf_puts(&want, "\xE1\xBB\x8D");  // o + dot below -> U+1ECD
    for (int i = 0; i < 500; i++) reap_sbuf_puts(&in, "\xCC\x81\xCC\xA3");
    for (int i = 0; i < 499; i++) reap_sbuf_puts(&want, "\xCC\xA3");
    for (int i = 0; i < 500; i++) reap_sbuf_puts(&want, "\xCC\x81");
    int ok = !strcmp(norm(REAP_UNICODE_NFC, in.p, NULL), want.p);
    reap_sbuf_free(&in);
    reap_sbuf_free(&want);
    CHECK(ok);
}

static void test_nfc_blocked_marks_do_not_compose(void) {
    // a + ring below (220) + ring below: the second one is blocked by the first (same class).
    CHECK_NFC("a\xCC\xA5\xCC\xA5", "\xE1\xB8\x81\xCC\xA5");
    // A starter between blocks: a + b + acute leaves the acute on b (no b-acute composite).
    CHECK_NFC("ab\xCC\x81", "ab\xCC\x81");
    // Mark with a lower class between is not blocking: a + dot below + acute ->
    // U+1EA1 + acute (the acute is not blocked but a-dot-below + acute has no composite).
    CHECK_NFC("a\xCC\xA3\xCC\x81", "\xE1\xBA\xA1\xCC\x81");
    // e + cedilla (202) + breve (230): the breve is not blocked by the cedilla; -> U+1E1D.
    CHECK_NFC("e\xCC\xA7\xCC\x86", "\xE1\xB8\x9D");
    // A leading mark has no starter to join.
    CHECK_NFC("\xCC\x81" "a", "\xCC\x81" "a");
}

static void test_normal_text_takes_the_fast_path(void) {
    int copied = -1;
    const char *s = "plain ASCII, caf\xC3\xA9, \xE4\xBD\xA0\xE5\xA5\xBD, \xEA\xB0\x81, \xF0\x9F\x98\x80";
    CHECK(norm(REAP_UNICODE_NFC, s, &copied) == s);
    CHECK_EQ_INT(copied, 0);
    norm(REAP_UNICODE_NFD, "plain ASCII \xE4\xBD\xA0", &copied);
    CHECK_EQ_INT(copied, 0);
    norm(REAP_UNICODE_NFD, "caf\xC3\xA9", &copied);  // é is NFC but not NFD
    CHECK_EQ_INT(copied, 1);
    norm(REAP_UNICODE_NFC, "", &copied);
    CHECK_EQ_INT(copied, 0);
    CHECK(reap_unicode_version()[0] >= '1');
}

int main(void) {
    RUN(test_nfc_composes_decomposed_latin);
    RUN(test_nfc_composes_hangul_jamo);
    RUN(test_nfc_keeps_composition_exclusions_decomposed);
    RUN(test_nfc_maps_singletons);
    RUN(test_nfc_reorders_combining_marks);
    RUN(test_nfc_blocked_marks_do_not_compose);
    RUN(test_normal_text_takes_the_fast_path);
    reap_unicode_work_free(&W);
    reap_sbuf_free(&OUT);
    TEST_EXIT();
}

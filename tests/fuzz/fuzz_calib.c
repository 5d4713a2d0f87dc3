// fuzz_calib: a calibration JSONL file through reap_calib_load with the MiniMax-M2 chat renderer:
// every record shape ({"messages","tools"} chat, {"query","tools","answers"} xlam,
// {"instruction","output"[,"input"]}, {"text"}), blank lines, bad UTF-8. An input of odd length
// is loaded as PATH:2 (the seeded selection of two records).
#include "calib.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_memfd_path(data, size);
    char spec[80];
    snprintf(spec, sizeof spec, "%s%s", path, size % 2 ? ":2" : "");
    reap_samples s = {0};
    if (reap_calib_load(spec, &reap_chat_minimax_m2, 42, &s) == REAP_OK)
        for (int i = 0; i < s.n; i++) FUZZ_CHECK(s.v[i].text && s.v[i].origin && strlen(s.v[i].text) <= s.v[i].len);
    reap_samples_free(&s);
    return 0;
}

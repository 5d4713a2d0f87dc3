// fuzz_chat: one JSON record through the chat renderer directly: parsed with
// reap_chat_json_parse (number literals kept), rendered by reap_chat_minimax_m2 from its
// "messages" and "tools", by reap_calib_render_record (any record shape), and printed with
// reap_chat_json_py (the templates' tojson).
#include "calib.h"
#include "chat.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    (void)fuzz_dir();
    cJSON *root = reap_chat_json_parse((const char *)data, size, NULL);
    if (!root) return 0;
    reap_sbuf b = {0};
    reap_chat_json_py(root, &b);
    reap_sbuf_free(&b);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(root, "tools");
    if (cJSON_IsArray(msgs)) {
        (void)reap_chat_minimax_m2.render(msgs, cJSON_IsArray(tools) ? tools : NULL, &b);
        reap_sbuf_free(&b);
    }
    (void)reap_calib_render_record(root, &reap_chat_minimax_m2, &b);
    reap_sbuf_free(&b);
    cJSON_Delete(root);
    return 0;
}

// chat.h: rendering {messages, tools} conversations into a model family's chat format, exactly as
// the model sees them (spec minimax-m2.md section 5). One renderer per family behind one interface:
// another family adds a reap_chat_family, not a fork.
#ifndef REAP_CHAT_H
#define REAP_CHAT_H

#include <cjson/cJSON.h>

#include "common.h"

typedef struct {
    const char *name;  // "minimax_m2"
    // Renders messages (array of OpenAI/HF-style message objects) and tools (array or NULL) into
    // out (appended). On bad input returns REAP_EINVAL with a message (no file/line: the caller
    // prefixes them).
    int (*render)(const cJSON *messages, const cJSON *tools, reap_sbuf *out);
} reap_chat_family;

// The family for a config.json model_type ("minimax_m2"); NULL if unknown. ("minimax", the
// MiniMax-Text-01 / M1 family, has a different chat format and no renderer yet.)
const reap_chat_family *reap_chat_family_find(const char *model_type);
extern const reap_chat_family reap_chat_minimax_m2;

// Appends v as JSON the way the HF chat templates' `tojson` filter writes it (Python json.dumps
// with ensure_ascii=False, default separators ", " and ": ", keys in input order): non-ASCII kept
// raw, control characters as \uXXXX (lowercase hex), floats in Python repr ("0.1", "1e-07",
// "89.0"), integers exactly as written. Python tells int from float by the literal, which cJSON
// drops: parse with reap_chat_json_parse (or annotate with reap_chat_json_annotate) to keep it.
// Numbers without their literal print as an integer when integral and |v| <= 2^53.
void reap_chat_json_py(const cJSON *v, reap_sbuf *out);
// Parses JSON text (cJSON_ParseWithLengthOpts, *end as there, may be NULL) and annotates numbers.
cJSON *reap_chat_json_parse(const char *text, size_t len, const char **end);
// Stores each number's source literal (in document order) in its valuestring, which cJSON_Delete
// and cJSON_Duplicate handle. root must have been parsed from text.
void reap_chat_json_annotate(cJSON *root, const char *text, size_t len);

#endif

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

// The family for a config.json model_type ("minimax_m2", "minimax"); NULL if unknown.
const reap_chat_family *reap_chat_family_find(const char *model_type);
extern const reap_chat_family reap_chat_minimax_m2;

#endif

// chat_minimax_m2.c: MiniMax-M2's chat format (spec minimax-m2.md section 5), byte for byte what
// the official chat_template.jinja produces for a full conversation with add_generation_prompt
// false (calibration is teacher forced: no trailing "]~b]ai\n<think>\n").
//
//   ]~!b[]~b]system\n{system text, or the default below}{tools block}[e~[\n
//   ]~b]user\n{content}[e~[\n
//   ]~b]ai\n[<think>\n{reasoning}\n</think>\n\n]{content}[\n<minimax:tool_call>\n{invokes}</minimax:tool_call>][e~[\n
//   ]~b]tool\n<response>{result}</response>[\n<response>{result}</response>...][e~[\n
//
// Choices, as the template does unless noted:
// - Content: a string, or a list of parts whose {type:"text"} texts and plain strings are
//   concatenated with nothing between them (other parts, e.g. images, are skipped); null or a
//   missing content is "" (the template would print "None": a template bug, not a format).
// - System: only messages[0] may be a system message; empty or missing system text gives the
//   default. A later system message, or a role other than system/user/assistant/tool, is an
//   error (the template drops them silently; calibration text should not lose turns unseen).
// - Tools: each tool's "function" object (or the tool itself when it has none, as in xlam
//   records) as `tojson(ensure_ascii=False)`: see reap_chat_json_py for the exact formatting.
// - Reasoning: "reasoning_content" when it is a string ("reasoning" accepted as an alias);
//   otherwise, when the content holds "</think>", the text between <think> and the first
//   </think> (with '\n' stripped at both ends) is the reasoning and the text after the last
//   </think> (likewise stripped) the content. DOCUMENTED DEVIATION: the template keeps reasoning
//   only for assistant turns after the last user message; here every assistant turn keeps it,
//   which is what the model produced at each turn when it generated it (spec section 5 allows
//   this for calibration).
// - Tool calls: OpenAI/HF {"function": {"name", "arguments"}} or flat {"name", "arguments"};
//   arguments an object or a JSON string holding one ("" and null are {}). Values: strings raw,
//   everything else as tojson.
// - Tool results: a string content is one <response>..</response>; a list content renders one
//   "\n<response>{part}\n</response>" per part (part.output, or the text of a text part, or a
//   plain string; note the template's extra '\n' before </response> in this form). An object
//   content is rendered as tojson (the template has no sensible rendering for it). A tool message
//   with no assistant tool call before it is an error, as in the template.
#include <string.h>

#include "chat.h"

// The official template's system message when a conversation has none (public renderings of the
// MiniMax-M2 template and the M2.5/M2.7 cards agree; the spec's shorter text was an error, issue 14).
static const char *k_default_system = "You are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.";

static int bad(const char *what, int idx) {
    if (idx >= 0) return reap_fail(REAP_EINVAL, "message %d: %s", idx, what);
    return reap_fail(REAP_EINVAL, "%s", what);
}

// visible_text(content) of the template.
static int put_content(const cJSON *content, int idx, reap_sbuf *out) {
    if (!content || cJSON_IsNull(content)) return REAP_OK;
    if (cJSON_IsString(content)) {
        reap_sbuf_puts(out, content->valuestring);
        return REAP_OK;
    }
    if (!cJSON_IsArray(content)) return bad("\"content\" must be a string, a list of parts or null", idx);
    for (const cJSON *it = content->child; it; it = it->next) {
        if (cJSON_IsString(it)) {
            reap_sbuf_puts(out, it->valuestring);
        } else if (cJSON_IsObject(it)) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
            if (cJSON_IsString(type) && strcmp(type->valuestring, "text") == 0) {
                const cJSON *text = cJSON_GetObjectItemCaseSensitive(it, "text");
                if (!cJSON_IsString(text)) return bad("content part of type \"text\" has no string \"text\"", idx);
                reap_sbuf_puts(out, text->valuestring);
            }
        }
    }
    return REAP_OK;
}

// Python str.strip('\n') on [*s, *s+*n).
static void strip_nl(const char **s, size_t *n) {
    while (*n && (*s)[0] == '\n') (*s)++, (*n)--;
    while (*n && (*s)[*n - 1] == '\n') (*n)--;
}

// Finds the last occurrence of needle in [s, s+n).
static const char *find_last(const char *s, size_t n, const char *needle) {
    size_t m = strlen(needle);
    if (m > n) return NULL;
    for (size_t i = n - m + 1; i-- > 0;)
        if (memcmp(s + i, needle, m) == 0) return s + i;
    return NULL;
}

static int put_tool_calls(const cJSON *calls, int idx, reap_sbuf *out) {
    reap_sbuf_puts(out, "\n<minimax:tool_call>\n");
    int k = 0;
    for (const cJSON *call = calls->child; call; call = call->next, k++) {
        if (!cJSON_IsObject(call)) return reap_fail(REAP_EINVAL, "message %d: tool_calls[%d] is not an object", idx, k);
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
        const cJSON *tc = cJSON_IsObject(fn) ? fn : call;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(tc, "name");
        if (!cJSON_IsString(name))
            return reap_fail(REAP_EINVAL, "message %d: tool_calls[%d] has no string \"name\"", idx, k);
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(tc, "arguments");
        cJSON *parsed = NULL;
        if (cJSON_IsString(args) && args->valuestring[strspn(args->valuestring, " \t\r\n")]) {
            parsed = reap_chat_json_parse(args->valuestring, strlen(args->valuestring), NULL);
            if (!cJSON_IsObject(parsed)) {
                cJSON_Delete(parsed);
                return reap_fail(REAP_EINVAL, "message %d: tool_calls[%d] (%s): \"arguments\" string is not a JSON object",
                                 idx, k, name->valuestring);
            }
            args = parsed;
        } else if (args && !cJSON_IsNull(args) && !cJSON_IsString(args) && !cJSON_IsObject(args)) {
            return reap_fail(REAP_EINVAL, "message %d: tool_calls[%d] (%s): \"arguments\" must be an object or a JSON string",
                             idx, k, name->valuestring);
        }
        reap_sbuf_printf(out, "<invoke name=\"%s\">\n", name->valuestring);
        if (cJSON_IsObject(args)) {
            for (const cJSON *a = args->child; a; a = a->next) {
                reap_sbuf_printf(out, "<parameter name=\"%s\">", a->string);
                if (cJSON_IsString(a)) reap_sbuf_puts(out, a->valuestring);
                else reap_chat_json_py(a, out);
                reap_sbuf_puts(out, "</parameter>\n");
            }
        }
        reap_sbuf_puts(out, "</invoke>\n");
        cJSON_Delete(parsed);
    }
    reap_sbuf_puts(out, "</minimax:tool_call>");
    return REAP_OK;
}

static int put_assistant(const cJSON *m, int idx, reap_sbuf *out) {
    reap_sbuf content = {0};
    int st = put_content(cJSON_GetObjectItemCaseSensitive(m, "content"), idx, &content);
    if (st) {
        reap_sbuf_free(&content);
        return st;
    }
    const char *c = content.p ? content.p : "";
    size_t cn = content.n;
    const char *r = NULL;
    size_t rn = 0;
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(m, "reasoning_content");
    if (!rc) rc = cJSON_GetObjectItemCaseSensitive(m, "reasoning");
    if (cJSON_IsString(rc)) {
        r = rc->valuestring;
        rn = strlen(r);
    } else if (strstr(c, "</think>")) {
        // reasoning = content.split('</think>')[0].strip('\n').split('<think>')[-1].strip('\n')
        const char *close = strstr(c, "</think>");
        r = c;
        rn = (size_t)(close - c);
        strip_nl(&r, &rn);
        const char *open = find_last(r, rn, "<think>");
        if (open) {
            rn -= (size_t)(open + 7 - r);
            r = open + 7;
        }
        strip_nl(&r, &rn);
        // content = content.split('</think>')[-1].strip('\n')
        const char *last = find_last(c, cn, "</think>");
        cn -= (size_t)(last + 8 - c);
        c = last + 8;
        strip_nl(&c, &cn);
    }
    reap_sbuf_puts(out, "]~b]ai\n");
    if (rn) {
        reap_sbuf_puts(out, "<think>\n");
        reap_sbuf_append(out, r, rn);
        reap_sbuf_puts(out, "\n</think>\n\n");
    }
    reap_sbuf_append(out, c, cn);
    reap_sbuf_free(&content);
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
    if (calls && !cJSON_IsNull(calls) && !cJSON_IsArray(calls)) return bad("\"tool_calls\" must be a list", idx);
    if (cJSON_GetArraySize(calls) > 0) {
        st = put_tool_calls(calls, idx, out);
        if (st) return st;
    }
    reap_sbuf_puts(out, "[e~[\n");
    return REAP_OK;
}

static int put_tool_result(const cJSON *m, int idx, reap_sbuf *out) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!c || cJSON_IsNull(c)) {
        reap_sbuf_puts(out, "\n<response></response>");
    } else if (cJSON_IsString(c)) {
        reap_sbuf_printf(out, "\n<response>%s</response>", c->valuestring);
    } else if (cJSON_IsArray(c)) {
        for (const cJSON *it = c->child; it; it = it->next) {
            reap_sbuf_puts(out, "\n<response>");
            const cJSON *o = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "output") : NULL;
            const cJSON *type = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "type") : NULL;
            const cJSON *text = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "text") : NULL;
            if (cJSON_IsString(it)) reap_sbuf_puts(out, it->valuestring);
            else if (o && cJSON_IsString(o)) reap_sbuf_puts(out, o->valuestring);
            else if (o) reap_chat_json_py(o, out);
            else if (cJSON_IsString(type) && strcmp(type->valuestring, "text") == 0 && cJSON_IsString(text))
                reap_sbuf_puts(out, text->valuestring);
            else return bad("tool result part is neither a string, {\"output\"} nor a text part", idx);
            reap_sbuf_puts(out, "\n</response>");
        }
    } else {
        reap_sbuf_puts(out, "\n<response>");
        reap_chat_json_py(c, out);
        reap_sbuf_puts(out, "</response>");
    }
    return REAP_OK;
}

static const char *role_of(const cJSON *m) {
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
    return cJSON_IsString(r) ? r->valuestring : NULL;
}

static int render(const cJSON *messages, const cJSON *tools, reap_sbuf *out) {
    if (!cJSON_IsArray(messages)) return bad("\"messages\" must be a list", -1);
    if (cJSON_GetArraySize(messages) == 0) return bad("\"messages\" is empty", -1);
    if (tools && !cJSON_IsNull(tools) && !cJSON_IsArray(tools)) return bad("\"tools\" must be a list", -1);
    int idx = 0;
    for (const cJSON *m = messages->child; m; m = m->next, idx++) {
        if (!cJSON_IsObject(m)) return bad("not an object", idx);
        const char *role = role_of(m);
        if (!role) return bad("no string \"role\"", idx);
        if (strcmp(role, "system") == 0 && idx > 0)
            return bad("a system message is only allowed first (the MiniMax-M2 template would drop it)", idx);
        if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant") && strcmp(role, "tool"))
            return reap_fail(REAP_EINVAL, "message %d: unknown role \"%s\" (expected system, user, assistant or tool)", idx, role);
    }

    const cJSON *first = messages->child;
    size_t start = out->n;
    reap_sbuf_puts(out, "]~!b[]~b]system\n");
    if (strcmp(role_of(first), "system") == 0) {
        int st = put_content(cJSON_GetObjectItemCaseSensitive(first, "content"), 0, out);
        if (st) return st;
        first = first->next;
    }
    if (out->n == start + strlen("]~!b[]~b]system\n")) reap_sbuf_puts(out, k_default_system);
    if (cJSON_GetArraySize(tools) > 0) {
        reap_sbuf_puts(out, "\n\n# Tools\nYou may call one or more tools to assist with the user query.\n"
                            "Here are the tools available in JSONSchema format:\n\n<tools>\n");
        int k = 0;
        for (const cJSON *t = tools->child; t; t = t->next, k++) {
            if (!cJSON_IsObject(t)) return reap_fail(REAP_EINVAL, "tools[%d] is not an object", k);
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
            reap_sbuf_puts(out, "<tool>");
            reap_chat_json_py(cJSON_IsObject(fn) ? fn : t, out);
            reap_sbuf_puts(out, "</tool>\n");
        }
        reap_sbuf_puts(out, "</tools>\n\nWhen making tool calls, use XML format to invoke tools and pass parameters:\n\n"
                            "<minimax:tool_call>\n<invoke name=\"tool-name-1\">\n"
                            "<parameter name=\"param-key-1\">param-value-1</parameter>\n"
                            "<parameter name=\"param-key-2\">param-value-2</parameter>\n...\n</invoke>\n</minimax:tool_call>");
    }
    reap_sbuf_puts(out, "[e~[\n");

    int have_call = 0;  // the template's last_tool_call: set by an assistant turn with tool calls
    idx = first == messages->child ? 0 : 1;
    for (const cJSON *m = first; m; m = m->next, idx++) {
        const char *role = role_of(m);
        int st = REAP_OK;
        if (strcmp(role, "user") == 0) {
            reap_sbuf_puts(out, "]~b]user\n");
            st = put_content(cJSON_GetObjectItemCaseSensitive(m, "content"), idx, out);
            reap_sbuf_puts(out, "[e~[\n");
        } else if (strcmp(role, "assistant") == 0) {
            st = put_assistant(m, idx, out);
            have_call = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "tool_calls")) > 0;
        } else {  // tool
            if (!have_call) return bad("tool result with no assistant tool call before it", idx);
            const char *prev = m->prev && m != messages->child ? role_of(m->prev) : NULL;
            if (!prev || strcmp(prev, "tool")) reap_sbuf_puts(out, "]~b]tool");
            st = put_tool_result(m, idx, out);
            if (!m->next || strcmp(role_of(m->next), "tool")) reap_sbuf_puts(out, "[e~[\n");
        }
        if (st) return st;
    }
    return REAP_OK;
}

const reap_chat_family reap_chat_minimax_m2 = {.name = "minimax_m2", .render = render};

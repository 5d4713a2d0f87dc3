// test_chat.c: MiniMax-M2 chat rendering pinned byte for byte. The expected strings were produced
// by the official MiniMax-M2 chat_template.jinja rendered with jinja2 as transformers does
// (trim_blocks, lstrip_blocks, tojson = json.dumps(ensure_ascii=False)), with
// add_generation_prompt false and, for the documented every-turn reasoning choice, the template's
// "after the last user message" condition lifted.
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "test.h"

// system_default
static const char *in_system_default =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"Write hello world in C.\"}, {\"role\": \"assistant\", \"content\": \"int main(void) { puts(\\\"hello\\\"); }\"}]}";
static const char *want_system_default =
        "]~!b[]~b]system\n"
        "You are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.[e~[\n"
        "]~b]user\n"
        "Write hello world in C.[e~[\n"
        "]~b]ai\n"
        "int main(void) { puts(\"hello\"); }[e~[\n";

// system_given
static const char *in_system_given =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"Be terse.\"}, {\"role\": \"user\", \"content\": \"2+2?\"}, {\"role\": \"assistant\", \"content\": \"4\"}]}";
static const char *want_system_given =
        "]~!b[]~b]system\n"
        "Be terse.[e~[\n"
        "]~b]user\n"
        "2+2?[e~[\n"
        "]~b]ai\n"
        "4[e~[\n";

// tools_block
static const char *in_tools_block =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"Weather in Zürich?\"}, {\"role\": \"assistant\", \"content\": \"Let me check.\"}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Wetter für eine Stadt — 天气\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}, \"days\": {\"type\": \"integer\", \"minimum\": 1}}, \"required\": [\"city\"]}}}, {\"type\": \"function\", \"function\": {\"name\": \"now\", \"description\": \"Current time.\\nNo args.\", \"parameters\": {\"type\": \"object\", \"properties\": {}}}}]}";
static const char *want_tools_block =
        "]~!b[]~b]system\n"
        "You are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.\n"
        "\n"
        "# Tools\n"
        "You may call one or more tools to assist with the user query.\n"
        "Here are the tools available in JSONSchema format:\n"
        "\n"
        "<tools>\n"
        "<tool>{\"name\": \"get_weather\", \"description\": \"Wetter für eine Stadt — 天气\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}, \"days\": {\"type\": \"integer\", \"minimum\": 1}}, \"required\": [\"city\"]}}</tool>\n"
        "<tool>{\"name\": \"now\", \"description\": \"Current time.\\nNo args.\", \"parameters\": {\"type\": \"object\", \"properties\": {}}}</tool>\n"
        "</tools>\n"
        "\n"
        "When making tool calls, use XML format to invoke tools and pass parameters:\n"
        "\n"
        "<minimax:tool_call>\n"
        "<invoke name=\"tool-name-1\">\n"
        "<parameter name=\"param-key-1\">param-value-1</parameter>\n"
        "<parameter name=\"param-key-2\">param-value-2</parameter>\n"
        "...\n"
        "</invoke>\n"
        "</minimax:tool_call>[e~[\n"
        "]~b]user\n"
        "Weather in Zürich?[e~[\n"
        "]~b]ai\n"
        "Let me check.[e~[\n";

// reasoning_content
static const char *in_reasoning_content =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"Is 7 prime?\"}, {\"role\": \"assistant\", \"reasoning_content\": \"7 has no divisors but 1 and 7.\", \"content\": \"Yes.\"}]}";
static const char *want_reasoning_content =
        "]~!b[]~b]system\n"
        "You are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.[e~[\n"
        "]~b]user\n"
        "Is 7 prime?[e~[\n"
        "]~b]ai\n"
        "<think>\n"
        "7 has no divisors but 1 and 7.\n"
        "</think>\n"
        "\n"
        "Yes.[e~[\n";

// reasoning_in_content
static const char *in_reasoning_in_content =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"Is 9 prime?\"}, {\"role\": \"assistant\", \"content\": \"<think>\\n9 = 3 * 3.\\n</think>\\n\\nNo, 9 = 3 x 3.\"}]}";
static const char *want_reasoning_in_content =
        "]~!b[]~b]system\n"
        "You are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.[e~[\n"
        "]~b]user\n"
        "Is 9 prime?[e~[\n"
        "]~b]ai\n"
        "<think>\n"
        "9 = 3 * 3.\n"
        "</think>\n"
        "\n"
        "No, 9 = 3 x 3.[e~[\n";

// parallel_calls
static const char *in_parallel_calls =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"Weather in Paris and Rome?\"}, {\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}}, {\"id\": \"c2\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}}]}]}";
static const char *want_parallel_calls =
        "]~!b[]~b]system\n"
        "You are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.[e~[\n"
        "]~b]user\n"
        "Weather in Paris and Rome?[e~[\n"
        "]~b]ai\n"
        "\n"
        "<minimax:tool_call>\n"
        "<invoke name=\"get_weather\">\n"
        "<parameter name=\"city\">Paris</parameter>\n"
        "</invoke>\n"
        "<invoke name=\"get_weather\">\n"
        "<parameter name=\"city\">Rome</parameter>\n"
        "</invoke>\n"
        "</minimax:tool_call>[e~[\n";

// non_string_args
static const char *in_non_string_args =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"run\"}, {\"role\": \"assistant\", \"content\": \"Running.\", \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"run\", \"arguments\": {\"cmd\": \"echo \\\"hi\\\"\\n\", \"timeout\": 30, \"ratio\": 0.25, \"tiny\": 1e-07, \"verbose\": true, \"env\": null, \"args\": [\"-l\", \"/tmp\", 3], \"opts\": {\"depth\": 2, \"name\": \"naïve\", \"tab\": \"a\\tb\"}}}}]}]}";
static const char *want_non_string_args =
        "]~!b[]~b]system\n"
        "You are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.[e~[\n"
        "]~b]user\n"
        "run[e~[\n"
        "]~b]ai\n"
        "Running.\n"
        "<minimax:tool_call>\n"
        "<invoke name=\"run\">\n"
        "<parameter name=\"cmd\">echo \"hi\"\n"
        "</parameter>\n"
        "<parameter name=\"timeout\">30</parameter>\n"
        "<parameter name=\"ratio\">0.25</parameter>\n"
        "<parameter name=\"tiny\">1e-07</parameter>\n"
        "<parameter name=\"verbose\">true</parameter>\n"
        "<parameter name=\"env\">null</parameter>\n"
        "<parameter name=\"args\">[\"-l\", \"/tmp\", 3]</parameter>\n"
        "<parameter name=\"opts\">{\"depth\": 2, \"name\": \"naïve\", \"tab\": \"a\\tb\"}</parameter>\n"
        "</invoke>\n"
        "</minimax:tool_call>[e~[\n";

// consecutive_tool_results
static const char *in_consecutive_tool_results =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"Weather in Paris and Rome?\"}, {\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}}, {\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}}]}, {\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"{\\\"temp\\\": 18}\"}, {\"role\": \"tool\", \"tool_call_id\": \"c2\", \"content\": \"{\\\"temp\\\": 24}\"}, {\"role\": \"assistant\", \"content\": \"Paris 18, Rome 24.\"}, {\"role\": \"user\", \"content\": \"Thanks\"}, {\"role\": \"assistant\", \"content\": \"You're welcome.\"}]}";
static const char *want_consecutive_tool_results =
        "]~!b[]~b]system\n"
        "You are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.[e~[\n"
        "]~b]user\n"
        "Weather in Paris and Rome?[e~[\n"
        "]~b]ai\n"
        "\n"
        "<minimax:tool_call>\n"
        "<invoke name=\"get_weather\">\n"
        "<parameter name=\"city\">Paris</parameter>\n"
        "</invoke>\n"
        "<invoke name=\"get_weather\">\n"
        "<parameter name=\"city\">Rome</parameter>\n"
        "</invoke>\n"
        "</minimax:tool_call>[e~[\n"
        "]~b]tool\n"
        "<response>{\"temp\": 18}</response>\n"
        "<response>{\"temp\": 24}</response>[e~[\n"
        "]~b]ai\n"
        "Paris 18, Rome 24.[e~[\n"
        "]~b]user\n"
        "Thanks[e~[\n"
        "]~b]ai\n"
        "You're welcome.[e~[\n";

// content_parts
static const char *in_content_parts =
    "{\"messages\": [{\"role\": \"system\", \"content\": [{\"type\": \"text\", \"text\": \"Sys \"}, {\"type\": \"text\", \"text\": \"text.\"}]}, {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Look: \"}, {\"type\": \"image_url\", \"image_url\": {\"url\": \"x\"}}, {\"type\": \"text\", \"text\": \"what?\"}]}, {\"role\": \"assistant\", \"content\": \"A cat.\"}]}";
static const char *want_content_parts =
        "]~!b[]~b]system\n"
        "Sys text.[e~[\n"
        "]~b]user\n"
        "Look: what?[e~[\n"
        "]~b]ai\n"
        "A cat.[e~[\n";

// reasoning_every_turn
static const char *in_reasoning_every_turn =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"Fix the bug.\"}, {\"role\": \"assistant\", \"reasoning_content\": \"Need the file first.\", \"content\": \"\", \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"read_file\", \"arguments\": \"{\\\"path\\\": \\\"src/main.c\\\"}\"}}]}, {\"role\": \"tool\", \"content\": \"int main() { return 1; }\"}, {\"role\": \"assistant\", \"content\": \"<think>\\nReturn code should be 0.\\n</think>\\n\\nChange `return 1` to `return 0`.\"}, {\"role\": \"user\", \"content\": \"Thanks!\"}, {\"role\": \"assistant\", \"reasoning_content\": \"\", \"content\": \"Any time.\"}]}";
static const char *want_reasoning_every_turn =
        "]~!b[]~b]system\n"
        "You are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.[e~[\n"
        "]~b]user\n"
        "Fix the bug.[e~[\n"
        "]~b]ai\n"
        "<think>\n"
        "Need the file first.\n"
        "</think>\n"
        "\n"
        "\n"
        "<minimax:tool_call>\n"
        "<invoke name=\"read_file\">\n"
        "<parameter name=\"path\">src/main.c</parameter>\n"
        "</invoke>\n"
        "</minimax:tool_call>[e~[\n"
        "]~b]tool\n"
        "<response>int main() { return 1; }</response>[e~[\n"
        "]~b]ai\n"
        "<think>\n"
        "Return code should be 0.\n"
        "</think>\n"
        "\n"
        "Change `return 1` to `return 0`.[e~[\n"
        "]~b]user\n"
        "Thanks![e~[\n"
        "]~b]ai\n"
        "Any time.[e~[\n";

// tool_result_parts
static const char *in_tool_result_parts =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"ls\"}, {\"role\": \"assistant\", \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"ls\", \"arguments\": {}}}]}, {\"role\": \"tool\", \"content\": [{\"type\": \"text\", \"text\": \"a.c\"}, {\"output\": \"b.c\"}]}]}";
static const char *want_tool_result_parts =
        "]~!b[]~b]system\n"
        "You are a helpful assistant. Your name is MiniMax-M2 and is built by MiniMax.[e~[\n"
        "]~b]user\n"
        "ls[e~[\n"
        "]~b]ai\n"
        "\n"
        "<minimax:tool_call>\n"
        "<invoke name=\"ls\">\n"
        "</invoke>\n"
        "</minimax:tool_call>[e~[\n"
        "]~b]tool\n"
        "<response>a.c\n"
        "</response>\n"
        "<response>b.c\n"
        "</response>[e~[\n";

// Renders a {"messages", "tools"} JSON document; returns malloc'd text or NULL (error in reap_err_msg).
static char *render_json(const char *doc) {
    cJSON *j = reap_chat_json_parse(doc, strlen(doc), NULL);
    if (!j) return NULL;
    reap_sbuf out = {0};
    int st = reap_chat_minimax_m2.render(cJSON_GetObjectItem(j, "messages"), cJSON_GetObjectItem(j, "tools"), &out);
    cJSON_Delete(j);
    if (st) {
        reap_sbuf_free(&out);
        return NULL;
    }
    return out.p ? out.p : reap_xstrdup("");
}

#define CHECK_RENDERS(in, want)                                                          \
    do {                                                                                 \
        char *got_ = render_json(in);                                                    \
        CHECK_MSG(got_ != NULL, "render failed: %s", reap_err_msg());                    \
        int same_ = strcmp(got_, want) == 0;                                             \
        if (!same_) printf("  got:\n%s\n  want:\n%s\n", got_, want);                     \
        free(got_);                                                                      \
        CHECK(same_);                                                                    \
    } while (0)

#define CHECK_REJECTS(in, needle)                                                        \
    do {                                                                                 \
        char *got_ = render_json(in);                                                    \
        if (got_) printf("  unexpectedly rendered:\n%s\n", got_);                        \
        free(got_);                                                                      \
        CHECK(got_ == NULL);                                                             \
        CHECK_STR_CONTAINS(reap_err_msg(), needle);                                      \
    } while (0)

static void test_chat_default_system_text(void) { CHECK_RENDERS(in_system_default, want_system_default); }
static void test_chat_given_system_text(void) { CHECK_RENDERS(in_system_given, want_system_given); }
static void test_chat_tools_block_keeps_non_ascii(void) { CHECK_RENDERS(in_tools_block, want_tools_block); }
static void test_chat_reasoning_content(void) { CHECK_RENDERS(in_reasoning_content, want_reasoning_content); }
static void test_chat_reasoning_from_think_in_content(void) { CHECK_RENDERS(in_reasoning_in_content, want_reasoning_in_content); }
static void test_chat_parallel_tool_calls(void) { CHECK_RENDERS(in_parallel_calls, want_parallel_calls); }
static void test_chat_non_string_arguments_as_json(void) { CHECK_RENDERS(in_non_string_args, want_non_string_args); }
static void test_chat_consecutive_tool_results_share_turn(void) {
    CHECK_RENDERS(in_consecutive_tool_results, want_consecutive_tool_results);
}
static void test_chat_content_parts_concatenated(void) { CHECK_RENDERS(in_content_parts, want_content_parts); }
static void test_chat_reasoning_kept_on_every_turn(void) { CHECK_RENDERS(in_reasoning_every_turn, want_reasoning_every_turn); }
static void test_chat_tool_result_parts(void) { CHECK_RENDERS(in_tool_result_parts, want_tool_result_parts); }

static void test_chat_arguments_string_and_object_identical(void) {
    const char *as_obj =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
        "[{\"function\":{\"name\":\"f\",\"arguments\":{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null},\"s\":\"é\",\"m\":89.0}}}]}]}";
    const char *as_str =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
        "[{\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\": [1, 2.5, \\\"x\\\"], \\\"b\\\": {\\\"c\\\": null}, "
        "\\\"s\\\": \\\"\\\\u00e9\\\", \\\"m\\\": 89.0}\"}}]}]}";
    const char *flat = "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"tool_calls\":"
                       "[{\"name\":\"f\",\"arguments\":{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null},\"s\":\"é\",\"m\":89.0}}]}]}";
    char *a = render_json(as_obj), *b = render_json(as_str), *c = render_json(flat);
    int ok = a && b && c && strcmp(a, b) == 0 && strcmp(a, c) == 0;
    if (!ok) printf("  object:\n%s\n  string:\n%s\n  flat:\n%s\n", a ? a : "(error)", b ? b : "(error)", c ? c : "(error)");
    int has = a && strstr(a, "<parameter name=\"a\">[1, 2.5, \"x\"]</parameter>\n<parameter name=\"b\">{\"c\": null}"
                                "</parameter>\n<parameter name=\"s\">é</parameter>\n<parameter name=\"m\">89.0</parameter>\n") != NULL;
    free(a);
    free(b);
    free(c);
    CHECK(ok);
    CHECK(has);
}

static void test_chat_json_matches_python_dumps(void) {
    // Expected strings are what json.dumps(x, ensure_ascii=False) prints for the same value.
    const struct { const char *in, *want; } cases[] = {
        {"[0.1, 1e-07, 1e16, 1.5, -2.5e-05, 123456.789, 1e-4, 3, -7, 0, 1e300]",
         "[0.1, 1e-07, 1e+16, 1.5, -2.5e-05, 123456.789, 0.0001, 3, -7, 0, 1e+300]"},
        {"{\"k\":\"a\\u0001b\\\"c\\\\d\\/e\\u007f\\u2028\"}", "{\"k\": \"a\\u0001b\\\"c\\\\d/e\x7f\u2028\"}"},
        {"{\"x\":[],\"y\":{},\"z\":[true,false,null]}", "{\"x\": [], \"y\": {}, \"z\": [true, false, null]}"},
        {"\"日本語 ✓\"", "\"日本語 ✓\""},
        // int vs float follows the literal, as in Python: 89.0 stays a float, big ints stay exact
        {"[89.0, 89, 1E5, 2.50, -0, -0.0, 12345678901234567890, 0.5e1]",
         "[89.0, 89, 100000.0, 2.5, 0, -0.0, 12345678901234567890, 5.0]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = reap_chat_json_parse(cases[i].in, strlen(cases[i].in), NULL);
        CHECK(j);
        reap_sbuf out = {0};
        reap_chat_json_py(j, &out);
        cJSON_Delete(j);
        int same = strcmp(out.p, cases[i].want) == 0;
        if (!same) printf("  got  %s\n  want %s\n", out.p, cases[i].want);
        reap_sbuf_free(&out);
        CHECK(same);
    }
}

static void test_chat_rejects_bad_conversations(void) {
    CHECK_REJECTS("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"tool\",\"content\":\"r\"}]}",
                  "message 1: tool result with no assistant tool call");
    CHECK_REJECTS("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"system\",\"content\":\"s\"}]}",
                  "message 1: a system message is only allowed first");
    CHECK_REJECTS("{\"messages\":[{\"role\":\"narrator\",\"content\":\"a\"}]}", "unknown role \"narrator\"");
    CHECK_REJECTS("{\"messages\":[{\"content\":\"a\"}]}", "message 0: no string \"role\"");
    CHECK_REJECTS("{\"messages\":[]}", "\"messages\" is empty");
    CHECK_REJECTS("{\"messages\":{\"role\":\"user\"}}", "\"messages\" must be a list");
    CHECK_REJECTS("{\"messages\":[{\"role\":\"user\",\"content\":5}]}", "message 0: \"content\" must be a string");
    CHECK_REJECTS("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"tool_calls\":"
                  "[{\"function\":{\"name\":\"f\",\"arguments\":\"{not json\"}}]}]}",
                  "message 1: tool_calls[0] (f): \"arguments\" string is not a JSON object");
    CHECK_REJECTS("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"tool_calls\":"
                  "[{\"function\":{\"arguments\":{}}}]}]}",
                  "message 1: tool_calls[0] has no string \"name\"");
    CHECK_REJECTS("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"tools\":{\"name\":\"f\"}}", "\"tools\" must be a list");
}

static void test_chat_family_lookup(void) {
    CHECK(reap_chat_family_find("minimax_m2") == &reap_chat_minimax_m2);
    CHECK(reap_chat_family_find("llama") == NULL);
    CHECK(reap_chat_family_find(NULL) == NULL);
}

// The number texts kept from the source (Python prints 2.50 as 2.5, but 1e-07 as written) are
// found after strings that end in backslash runs or hold escaped quotes.
static void test_chat_json_parse_keeps_number_text_after_escapes(void) {
    const char *doc = "{\"a\": \"q\\\\\\\\\", \"b\": \"r\\\\\\\"s\\\"\", \"c\": \"\\\\\", \"n\": 2.50, \"m\": [\"\\\"\", 1e-07]}";
    cJSON *j = reap_chat_json_parse(doc, strlen(doc), NULL);
    CHECK(j != NULL);
    const cJSON *n = cJSON_GetObjectItem(j, "n"), *m = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "m"), 1);
    CHECK(n && n->valuestring && !strcmp(n->valuestring, "2.50"));
    CHECK(m && m->valuestring && !strcmp(m->valuestring, "1e-07"));
    CHECK_STR_CONTAINS(cJSON_GetObjectItem(j, "b")->valuestring, "r\\\"s\"");
    cJSON_Delete(j);
}

int main(void) {
    RUN(test_chat_default_system_text);
    RUN(test_chat_given_system_text);
    RUN(test_chat_tools_block_keeps_non_ascii);
    RUN(test_chat_reasoning_content);
    RUN(test_chat_reasoning_from_think_in_content);
    RUN(test_chat_parallel_tool_calls);
    RUN(test_chat_non_string_arguments_as_json);
    RUN(test_chat_consecutive_tool_results_share_turn);
    RUN(test_chat_content_parts_concatenated);
    RUN(test_chat_reasoning_kept_on_every_turn);
    RUN(test_chat_tool_result_parts);
    RUN(test_chat_arguments_string_and_object_identical);
    RUN(test_chat_json_matches_python_dumps);
    RUN(test_chat_rejects_bad_conversations);
    RUN(test_chat_family_lookup);
    RUN(test_chat_json_parse_keeps_number_text_after_escapes);
    TEST_EXIT();
}

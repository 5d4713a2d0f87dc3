// chat.c: the chat-family registry and the JSON writer every renderer shares (the `tojson` filter
// of HF chat templates). Each family's renderer lives in its own file (chat_minimax_m2.c).
#include "chat.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const reap_chat_family *const families[] = {&reap_chat_minimax_m2};

const reap_chat_family *reap_chat_family_find(const char *model_type) {
    if (!model_type) return NULL;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(families[i]->name, model_type) == 0) return families[i];
    return NULL;
}

// Python json.dumps string escaping with ensure_ascii=False: only '"', '\\' and control
// characters are escaped; everything else (UTF-8 included, U+007F included) is copied.
static void put_string(const char *s, reap_sbuf *out) {
    reap_sbuf_append(out, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
        }
        if (esc) {
            reap_sbuf_append(out, run, (size_t)(p - run));
            reap_sbuf_puts(out, esc);
            run = p + 1;
        }
    }
    reap_sbuf_append(out, run, strlen(run));
    reap_sbuf_append(out, "\"", 1);
}

// Python repr() of a float: the shortest digit string that reads back to the same double, in
// positional notation when the decimal exponent is in [-4, 16), else d.ddde+XX (two digits at least).
static void put_py_float(double v, reap_sbuf *out) {
    char buf[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v) break;
    }
    // buf: [-]d[.ddd]e[+-]XX
    const char *p = buf;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    char digits[32];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    int exp = atoi(p + 1);
    if (neg) reap_sbuf_puts(out, "-");
    if (exp >= -4 && exp < 16) {
        if (exp >= 0) {
            for (int i = 0; i <= exp; i++) reap_sbuf_append(out, i < nd ? &digits[i] : "0", 1);
            reap_sbuf_puts(out, ".");
            if (nd > exp + 1) reap_sbuf_append(out, digits + exp + 1, (size_t)(nd - exp - 1));
            else reap_sbuf_puts(out, "0");
        } else {
            reap_sbuf_puts(out, "0.");
            for (int i = 0; i < -exp - 1; i++) reap_sbuf_puts(out, "0");
            reap_sbuf_append(out, digits, (size_t)nd);
        }
    } else {
        reap_sbuf_append(out, digits, 1);
        if (nd > 1) {
            reap_sbuf_puts(out, ".");
            reap_sbuf_append(out, digits + 1, (size_t)(nd - 1));
        }
        reap_sbuf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
}

static void put_number(const cJSON *item, reap_sbuf *out) {
    double v = item->valuedouble;
    const char *lit = item->valuestring;
    if (lit && !strpbrk(lit, ".eE")) {  // a Python int: printed as written (arbitrary precision)
        reap_sbuf_puts(out, strcmp(lit, "-0") == 0 ? "0" : lit);
        return;
    }
    if (lit && isfinite(v)) {  // a Python float, integral or not
        put_py_float(v, out);
        return;
    }
    if (v == 0) reap_sbuf_puts(out, "0");
    else if (v == floor(v) && fabs(v) <= 9007199254740992.0) reap_sbuf_printf(out, "%.0f", v);
    else if (isnan(v)) reap_sbuf_puts(out, "NaN");
    else if (isinf(v)) reap_sbuf_puts(out, v < 0 ? "-Infinity" : "Infinity");
    else put_py_float(v, out);
}

void reap_chat_json_py(const cJSON *v, reap_sbuf *out) {
    if (!v || cJSON_IsNull(v)) {
        reap_sbuf_puts(out, "null");
    } else if (cJSON_IsTrue(v)) {
        reap_sbuf_puts(out, "true");
    } else if (cJSON_IsFalse(v)) {
        reap_sbuf_puts(out, "false");
    } else if (cJSON_IsNumber(v)) {
        put_number(v, out);
    } else if (cJSON_IsString(v)) {
        put_string(v->valuestring, out);
    } else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        int obj = cJSON_IsObject(v);
        reap_sbuf_puts(out, obj ? "{" : "[");
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c != v->child) reap_sbuf_puts(out, ", ");
            if (obj) {
                put_string(c->string ? c->string : "", out);
                reap_sbuf_puts(out, ": ");
            }
            reap_chat_json_py(c, out);
        }
        reap_sbuf_puts(out, obj ? "}" : "]");
    } else if (cJSON_IsRaw(v)) {
        reap_sbuf_puts(out, v->valuestring);
    }
}

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

// p at a string's opening quote: the position after its closing quote (a quote preceded by an odd
// run of backslashes is escaped). memchr keeps this at memory speed on long strings (the {"text"}
// records of a source tree are whole files).
static const char *skip_string(const char *p, const char *end) {
    const char *s = ++p;
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q) return end;
        size_t bs = 0;
        while (q - bs > s && q[-1 - (ptrdiff_t)bs] == '\\') bs++;
        if (bs % 2 == 0) return q + 1;
        p = q + 1;
    }
    return end;
}

// Walks the text in step with the tree (cJSON keeps every member, duplicates included, in
// document order); returns the position after item's value, or NULL when they disagree.
static const char *annotate(cJSON *item, const char *p, const char *end) {
    p = skip_ws(p, end);
    if (!item || p >= end) return NULL;
    if (*p == '{' || *p == '[') {
        int obj = *p == '{';
        p++;
        for (cJSON *c = item->child; c; c = c->next) {
            p = skip_ws(p, end);
            if (obj) {
                if (p >= end || *p != '"') return NULL;
                p = skip_ws(skip_string(p, end), end);
                if (p >= end || *p != ':') return NULL;
                p++;
            }
            if (!(p = annotate(c, p, end))) return NULL;
            p = skip_ws(p, end);
            if (p < end && *p == ',') p++;
        }
        p = skip_ws(p, end);
        return p < end ? p + 1 : NULL;
    }
    if (*p == '"') return skip_string(p, end);
    const char *q = p;
    while (q < end && (strchr("+-.eE", *q) || (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z'))) q++;
    if (cJSON_IsNumber(item) && !item->valuestring) {
        item->valuestring = malloc((size_t)(q - p) + 1);
        if (item->valuestring) {
            memcpy(item->valuestring, p, (size_t)(q - p));
            item->valuestring[q - p] = 0;
        }
    }
    return q;
}

void reap_chat_json_annotate(cJSON *root, const char *text, size_t len) { annotate(root, text, text + len); }

cJSON *reap_chat_json_parse(const char *text, size_t len, const char **end) {
    const char *e = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &e, 0);
    if (j) reap_chat_json_annotate(j, text, (size_t)(e - text));
    if (end) *end = e;
    return j;
}

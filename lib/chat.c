// chat.c: the chat-family registry and the JSON writer every renderer shares (the `tojson` filter
// of HF chat templates). Each family's renderer lives in its own file (chat_minimax_m2.c).
#include "chat.h"

#include <math.h>
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

static void put_number(double v, reap_sbuf *out) {
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
        put_number(v->valuedouble, out);
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

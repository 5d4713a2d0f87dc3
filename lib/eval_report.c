// eval_report.c: `reap eval`'s result document (eval.h) as a table for people and as an SVG.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "eval.h"

static double num(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}
static const char *str(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : "";
}
static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

void reap_eval_print(const cJSON *r, FILE *out) {
    const cJSON *rows = get(r, "rows"), *ref = get(r, "reference"), *vs = get(r, "variants");
    fprintf(out, "original %s: %g rows x %g tokens, %g positions; CE %.4f, perplexity %.3f\n", str(get(r, "original"), "path"),
            num(rows, "rows"), num(rows, "seq_len"), num(rows, "positions"), num(ref, "ce"), num(ref, "ppl"));
    const cJSON *c;
    cJSON_ArrayForEach(c, get(ref, "by_category"))
        fprintf(out, "  %-12s %8g positions  CE %.4f  perplexity %.3f\n", c->string, num(c, "positions"), num(c, "ce"),
                num(c, "ppl"));
    fprintf(out, "\n%-28s %5s %9s %8s %8s %8s %8s %8s %8s %7s %7s\n", "model", "kept", "ppl", "dCE", "KL mean", "KL p50",
            "KL p90", "KL p99", "KL max", "top1", "!top5");
    const cJSON *v;
    cJSON_ArrayForEach(v, vs) {
        const cJSON *kl = get(v, "kl");
        fprintf(out, "%-28s %5g %9.3f %+8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %7.4f %7.4f\n", str(v, "name"),
                num(v, "experts_kept"), num(v, "ppl"), num(v, "delta_ce"), num(kl, "mean"), num(kl, "p50"), num(kl, "p90"),
                num(kl, "p99"), num(kl, "max"), num(v, "top1_agreement"), num(v, "top1_out_of_top5"));
        cJSON_ArrayForEach(c, get(v, "by_category"))
            fprintf(out, "  %-26s %5s %9.3f %+8.4f %8.4f %44s %7.4f %7.4f\n", c->string, "", num(c, "ppl"),
                    num(c, "delta_ce"), num(c, "kl_mean"), "", num(c, "top1_agreement"), num(c, "top1_out_of_top5"));
    }
    cJSON_ArrayForEach(v, vs) {
        fprintf(out, "\nrouting of %s: layer, dropped gate mass, imbalance max/mean before -> after, grew most "
                "(expert: tokens before -> after)\n", str(v, "name"));
        const cJSON *l;
        cJSON_ArrayForEach(l, get(v, "layers")) {
            fprintf(out, "  %3g  %6.4f  %6.2f -> %6.2f ", num(l, "layer"), num(l, "dropped_mass"), num(l, "imbalance_before"),
                    num(l, "imbalance_after"));
            const cJSON *g;
            cJSON_ArrayForEach(g, get(l, "grew"))
                fprintf(out, "  %g: %g -> %g", num(g, "expert"), num(g, "before"), num(g, "after"));
            fputc('\n', out);
        }
        fprintf(out, "worst rows of %s (mean KL):\n", str(v, "name"));
        cJSON_ArrayForEach(l, get(v, "worst_rows"))
            fprintf(out, "  row %-5g %8.4f  %s\n", num(l, "row"), num(l, "kl_mean"), str(l, "excerpt"));
    }
}

// ---- SVG: one panel of lines over x in [0, nx) (or given x values), y from 0 to ymax.

static const char *const k_colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"};

static void esc(reap_sbuf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '<') reap_sbuf_puts(b, "&lt;");
        else if (*s == '>') reap_sbuf_puts(b, "&gt;");
        else if (*s == '&') reap_sbuf_puts(b, "&amp;");
        else if (*s == '"') reap_sbuf_puts(b, "&quot;");
        else if ((unsigned char)*s >= 0x20) reap_sbuf_append(b, s, 1);
    }
}

typedef struct {
    double x0, x1, y1;  // data ranges (y from 0)
    int px, py, w, h;   // panel origin and size in pixels
} panel;

static void panel_frame(reap_sbuf *b, const panel *p, const char *title, const char *xlabel) {
    reap_sbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n", p->px, p->py,
                     p->w, p->h);
    reap_sbuf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"13\">", p->px, p->py - 8);
    esc(b, title);
    reap_sbuf_printf(b, " (max %.4g)</text>\n<text x=\"%d\" y=\"%d\" font-size=\"11\">", p->y1, p->px + p->w / 2 - 20,
                     p->py + p->h + 16);
    esc(b, xlabel);
    reap_sbuf_printf(b, " %.3g..%.3g</text>\n", p->x0, p->x1);
}

static void panel_line(reap_sbuf *b, const panel *p, const double *x, const double *y, int n, int color, const char *name,
                       int k) {
    reap_sbuf_printf(b, "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"%s\" points=\"", k_colors[color % 7]);
    for (int i = 0; i < n; i++) {
        double fx = p->x1 > p->x0 ? (x[i] - p->x0) / (p->x1 - p->x0) : 0.5, fy = p->y1 > 0 ? y[i] / p->y1 : 0;
        if (!isfinite(fy)) fy = 0;
        reap_sbuf_printf(b, "%.1f,%.1f ", p->px + fx * p->w, p->py + p->h - fy * p->h);
    }
    reap_sbuf_printf(b, "\"/>\n<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"%s\">", p->px + p->w + 6,
                     p->py + 12 + 13 * k, k_colors[color % 7]);
    esc(b, name);
    reap_sbuf_puts(b, "</text>\n");
}

char *reap_eval_svg(const cJSON *r) {
    const cJSON *vs = get(r, "variants"), *v;
    const int nv = cJSON_GetArraySize(vs), whatif = !strcmp(str(r, "mode"), "what-if");
    const int L = (int)num(get(r, "original"), "n_layers");
    reap_sbuf b = {0};
    const int W = 900, PH = 220;
    reap_sbuf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">\n"
                     "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, 3 * (PH + 60) + 20);
    double *x = reap_xmalloc(sizeof(double) * (size_t)(L > nv ? L : nv) + 8), *y = reap_xmalloc(sizeof(double) * (size_t)(L > nv ? L : nv) + 8);
    // 1: dropped gate mass per layer, one line per model
    panel p = {0, L > 1 ? L - 1 : 1, 0, 60, 40, W - 260, PH};
    cJSON_ArrayForEach(v, vs) {
        const cJSON *l;
        cJSON_ArrayForEach(l, get(v, "layers")) if (num(l, "dropped_mass") > p.y1) p.y1 = num(l, "dropped_mass");
    }
    panel_frame(&b, &p, "dropped gate mass per layer", "layer");
    int k = 0;
    cJSON_ArrayForEach(v, vs) {
        int n = 0;
        const cJSON *l;
        cJSON_ArrayForEach(l, get(v, "layers")) x[n] = n, y[n] = num(l, "dropped_mass"), n++;
        panel_line(&b, &p, x, y, n, k, str(v, "name"), k);
        k++;
    }
    // 2: mean KL by category (one line per category across models), 3: what-if: top-1 agreement vs ratio
    panel q = {0, nv > 1 ? nv - 1 : 1, 0, 60, 40 + PH + 60, W - 260, PH};
    const cJSON *cats = get(get(r, "rows"), "categories"), *c;
    cJSON_ArrayForEach(v, vs) {
        cJSON_ArrayForEach(c, get(v, "by_category")) if (num(c, "kl_mean") > q.y1) q.y1 = num(c, "kl_mean");
        if (num(get(v, "kl"), "mean") > q.y1) q.y1 = num(get(v, "kl"), "mean");
    }
    panel_frame(&b, &q, "mean KL(original || model) by category", "model (in the order of the table)");
    k = 0;
    cJSON_ArrayForEach(c, cats) {
        int n = 0;
        cJSON_ArrayForEach(v, vs) x[n] = n, y[n] = num(get(get(v, "by_category"), c->valuestring), "kl_mean"), n++;
        panel_line(&b, &q, x, y, n, k, c->valuestring, k);
        k++;
    }
    {
        int n = 0;
        cJSON_ArrayForEach(v, vs) x[n] = n, y[n] = num(get(v, "kl"), "mean"), n++;
        panel_line(&b, &q, x, y, n, k, "all", k);
    }
    panel a = {0, 1, 1, 60, 40 + 2 * (PH + 60), W - 260, PH};
    if (whatif) {
        a.x0 = 1, a.x1 = 0;
        cJSON_ArrayForEach(v, vs) {
            double rt = num(v, "ratio");
            a.x0 = rt < a.x0 ? rt : a.x0, a.x1 = rt > a.x1 ? rt : a.x1;
        }
        panel_frame(&b, &a, "top-1 agreement against ratio, one line per criterion", "ratio");
        k = 0;
        for (const cJSON *u = vs ? vs->child : NULL; u; u = u->next) {  // a criterion's variants are consecutive
            const cJSON *w = u;
            int n = 0;
            while (w && !strcmp(str(w, "criterion"), str(u, "criterion")))
                x[n] = num(w, "ratio"), y[n] = num(w, "top1_agreement"), n++, w = w->next;
            panel_line(&b, &a, x, y, n, k, str(u, "criterion"), k);
            k++;
            while (u->next && u->next != w) u = u->next;
        }
    } else {
        a.x1 = nv > 1 ? nv - 1 : 1;
        panel_frame(&b, &a, "top-1 agreement", "model (in the order of the table)");
        int n = 0;
        cJSON_ArrayForEach(v, vs) x[n] = n, y[n] = num(v, "top1_agreement"), n++;
        panel_line(&b, &a, x, y, n, 0, "all", 0);
    }
    reap_sbuf_puts(&b, "</svg>\n");
    free(x), free(y);
    return b.p;
}

// test_report.c: the per-layer summary of lib/report.c on statistics with known answers.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "prune.h"
#include "report.h"
#include "stats.h"
#include "test.h"

// One layer, E experts; expert e routed count[e] times with reap saliency sal[e].
static void make(reap_stats *s, int E, const double *sal, const int *count) {
    reap_stats_init(s, 1, E, 2);
    for (int e = 0; e < E; e++) {
        s->layers[0].e[e].count = (uint64_t)count[e];
        s->layers[0].e[e].reap_sum = sal[e] * count[e];
        s->layers[0].e[e].norm_sum = count[e];
        s->layers[0].e[e].gate_sum = count[e];
        s->layers[0].e[e].max_act = count[e] ? sal[e] : -INFINITY;
    }
    s->layers[0].tokens = 100;
    s->layers_done = 1;
}

static void test_summary_of_linear_saliencies(void) {
    double sal[10];
    int cnt[10];
    for (int e = 0; e < 10; e++) sal[e] = e + 1, cnt[e] = 3;
    reap_stats s;
    make(&s, 10, sal, cnt);
    reap_layer_summary m;
    CHECK(reap_report_layer(&s, 0, REAP_CRIT_REAP, &m) == REAP_OK);
    CHECK_NEAR(m.total, 55, 1e-12);
    CHECK_NEAR(m.top10_share, 10.0 / 55, 1e-12);
    CHECK_NEAR(m.gini, 9.0 / 30, 1e-12);      // (n - 1) / (3n) for 1..n
    CHECK_EQ_INT(m.pruned[0], 2);              // floor(10 x 0.25)
    CHECK_EQ_INT(m.pruned[1], 3);
    CHECK_EQ_INT(m.pruned[2], 4);
    CHECK_NEAR(m.removed[1], 6.0 / 55, 1e-12);  // 1 + 2 + 3
    CHECK_EQ_INT(m.never_routed, 0);
    reap_stats_free(&s);
}

static void test_unrouted_experts_go_first_and_ties_drop_higher_index(void) {
    double sal[6] = {0.5, 0, 0.5, 0.2, 0, 0.5};
    int cnt[6] = {4, 0, 4, 4, 0, 4};
    int order[6];
    reap_report_order(sal, 6, order);
    CHECK(order[0] == 4 && order[1] == 1 && order[2] == 3);
    CHECK(order[3] == 5 && order[4] == 2 && order[5] == 0);
    reap_stats s;
    make(&s, 6, sal, cnt);
    reap_layer_summary m;
    CHECK(reap_report_layer(&s, 0, REAP_CRIT_REAP, &m) == REAP_OK);
    CHECK_EQ_INT(m.never_routed, 2);
    CHECK_NEAR(m.removed[2], 0.0, 1e-15);  // floor(6 x 0.4) = 2: the two unrouted experts
    // max-activation of never-routed experts is -inf: counted as no mass, pruned first
    CHECK(reap_report_layer(&s, 0, REAP_CRIT_MAX_ACTIVATION, &m) == REAP_OK);
    CHECK_NEAR(m.total, 1.7, 1e-12);
    reap_stats_free(&s);
}

static void test_uniform_saliency_has_zero_gini(void) {
    double sal[8];
    int cnt[8];
    for (int e = 0; e < 8; e++) sal[e] = 2, cnt[e] = 1;
    reap_stats s;
    make(&s, 8, sal, cnt);
    reap_layer_summary m;
    CHECK(reap_report_layer(&s, 0, REAP_CRIT_REAP, &m) == REAP_OK);
    CHECK_NEAR(m.gini + 1, 1.0, 1e-12);
    CHECK_NEAR(m.removed[1], 2.0 / 8, 1e-12);  // floor(8 x 0.3) = 2 of 8 equal experts
    reap_stats_free(&s);
}

static void test_cut_check_counts_scarce_experts_and_warns(void) {
    double sal[10] = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0};
    int cnt[10] = {500, 500, 500, 7, 500, 500, 99, 500, 500, 0};
    reap_stats s;
    make(&s, 10, sal, cnt);
    reap_cut_check k;
    CHECK(reap_report_cut_check(&s, REAP_CRIT_REAP, 3, 100, &k) == REAP_OK);
    CHECK_EQ_INT(k.never_routed, 1);
    CHECK_EQ_INT(k.few, 2);  // 7 and 99 tokens
    CHECK_EQ_INT(k.worst_layer, 0);
    CHECK_EQ_INT(k.worst_n, 3);
    CHECK_EQ_INT(k.tie_layers, 0);
    char w[1024];
    const char *wp = w;
    CHECK(reap_report_cut_warning(&k, w, sizeof w) == 1);
    CHECK_STR_CONTAINS(wp, "1 of 10 experts (1 layers) were never routed and 2 more saw fewer than 100 tokens");
    // The same statistics with a threshold of 7 tokens: only the never-routed one is left, which
    // alone (a dead expert) does not warn.
    CHECK(reap_report_cut_check(&s, REAP_CRIT_REAP, 3, 7, &k) == REAP_OK);
    CHECK_EQ_INT(k.few, 0);
    CHECK(reap_report_cut_warning(&k, w, sizeof w) == 0);
    CHECK(w[0] == 0);
    reap_stats_free(&s);
}

static void test_cut_among_equal_saliencies_is_a_tie(void) {
    // Four never-routed experts (saliency 0) and a cut of 3: the tie rule alone picks 3 of the 4.
    double sal[8] = {0.5, 0, 0.4, 0, 0.3, 0, 0.2, 0};
    int cnt[8] = {500, 0, 500, 0, 500, 0, 500, 0};
    reap_stats s;
    make(&s, 8, sal, cnt);
    reap_cut_check k;
    CHECK(reap_report_cut_check(&s, REAP_CRIT_REAP, 3, 100, &k) == REAP_OK);
    CHECK_EQ_INT(k.tie_layers, 1);
    CHECK_EQ_INT(k.tie_layer, 0);
    CHECK_EQ_INT(k.tie_size, 4);
    CHECK_EQ_INT(k.tie_dropped, 3);
    CHECK(k.tie_value == 0);
    char w[1024];
    const char *wp = w;
    CHECK(reap_report_cut_warning(&k, w, sizeof w) == 1);
    CHECK_STR_CONTAINS(wp, "in 1 of 1 layers the cut fell among equal saliencies");
    CHECK_STR_CONTAINS(wp, "layer 0: 3 of 4 experts at 0 dropped");
    // A cut of 4 drops the whole group: the data decided, no tie; nor for a cut of 5 (0.2 vs 0.3).
    CHECK(reap_report_cut_check(&s, REAP_CRIT_REAP, 4, 100, &k) == REAP_OK);
    CHECK_EQ_INT(k.tie_layers, 0);
    CHECK(reap_report_cut_warning(&k, w, sizeof w) == 0);
    CHECK(reap_report_cut_check(&s, REAP_CRIT_REAP, 5, 100, &k) == REAP_OK);
    CHECK_EQ_INT(k.tie_layers, 0);
    reap_stats_free(&s);
}

// The text report of make()'s one layer, in a malloc'd string.
static char *report_text(const reap_stats *s, const reap_report_params *p) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (reap_report_print(s, p, f) != REAP_OK) fprintf(f, "(report failed)");
    fclose(f);
    return buf;
}

static void test_report_marks_scarce_experts_and_ranks_highest_among_measured(void) {
    // Expert 3 has the largest saliency but only 3 tokens: marked, and not listed as highest.
    double sal[6] = {0.2, 0.5, 0.4, 9.0, 0.3, 0.1};
    int cnt[6] = {400, 300, 200, 3, 150, 120};
    reap_stats s;
    make(&s, 6, sal, cnt);
    s.layers[0].tokens = 1000;
    reap_report_params p = reap_report_default_params();
    p.top = 2;
    char *t = report_text(&s, &p);
    CHECK_STR_CONTAINS(t, "WARNING: calibration may be too small");
    CHECK_STR_CONTAINS(t, "high: 1=0.5 (300) 2=0.4 (200)\n");
    CHECK_STR_CONTAINS(t, "low:  5=0.1 (120) 0=0.2 (400)\n");
    CHECK(strstr(t, "high: 3=") == NULL);
    free(t);
    // Well measured: no warning, no mark, the true highest first.
    cnt[3] = 100;
    reap_stats_free(&s);
    make(&s, 6, sal, cnt);
    s.layers[0].tokens = 1000;
    t = report_text(&s, &p);
    CHECK(strstr(t, "WARNING") == NULL);
    CHECK(strstr(t, "!)") == NULL);
    CHECK_STR_CONTAINS(t, "high: 3=9 (100) 1=0.5 (300)\n");
    free(t);
    // The lowest list keeps the pruning order and marks the scarce expert.
    p.min_tokens = 130;
    t = report_text(&s, &p);
    CHECK_STR_CONTAINS(t, "low:  5=0.1 (120!) 0=0.2 (400)\n");
    free(t);
    reap_stats_free(&s);
}

static void test_report_says_when_statistics_are_partial(void) {
    double sal[4] = {1, 2, 3, 4};
    int cnt[4] = {200, 200, 200, 200};
    reap_stats s;
    make(&s, 4, sal, cnt);
    s.layers[0].tokens = 1000;
    const char *src[] = {"builtin"};
    s.calib = reap_stats_calib_new(src, 1, 64, 128, 42, 2, 4);
    reap_report_params p = reap_report_default_params();
    char *t = report_text(&s, &p);
    CHECK_STR_CONTAINS(t, "PARTIAL: these statistics cover 1 of the 4 shards of their calibration set (missing 0-1, 3)");
    free(t);
    reap_stats_free(&s);
}

// ---- the SVG heatmap, parsed back

typedef struct {
    int is_text, is_cut, is_legend, rotated, anchor_end;
    double x, y, w, h, font;
    char body[160];  // text content, or a cell's <title>
} svg_el;

static double attr(const char *tag, const char *name, double dflt) {
    char key[32];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *p = strstr(tag, key);
    return p ? atof(p + strlen(key)) : dflt;
}

// Every <rect> and <text> of the file (tags end at the first '>'), the viewBox's size in *vw, *vh.
static int svg_parse(const char *text, svg_el **out, double *vw, double *vh) {
    const char *vb = strstr(text, "viewBox=\"");
    if (!vb || sscanf(vb + 9, "0 0 %lf %lf", vw, vh) != 2) return -1;
    int n = 0, cap = 1024;
    svg_el *v = malloc(sizeof *v * (size_t)cap);
    for (const char *p = text; (p = strchr(p, '<')); p++) {
        int is_rect = !strncmp(p, "<rect ", 6), is_text = !strncmp(p, "<text ", 6);
        if (!is_rect && !is_text) continue;
        const char *end = strchr(p, '>');
        if (!end) break;
        char tag[400];
        size_t len = (size_t)(end - p) < sizeof tag - 1 ? (size_t)(end - p) : sizeof tag - 1;
        memcpy(tag, p, len);
        tag[len] = 0;
        if (is_rect && strstr(tag, "width=\"100%\"")) continue;  // the background
        if (n == cap) v = realloc(v, sizeof *v * (size_t)(cap *= 2));
        svg_el *e = &v[n++];
        memset(e, 0, sizeof *e);
        e->is_text = is_text;
        e->is_cut = strstr(tag, "class=\"cut\"") != NULL;
        e->is_legend = strstr(tag, "class=\"legend\"") != NULL;
        e->rotated = strstr(tag, "rotate(") != NULL;
        e->anchor_end = strstr(tag, "text-anchor=\"end\"") != NULL;
        e->x = attr(tag, "x", 0), e->y = attr(tag, "y", 0);
        e->w = attr(tag, "width", 0), e->h = attr(tag, "height", 0);
        e->font = attr(tag, "font-size", 11);
        const char *body = end + 1;
        if (is_rect && !strncmp(body, "<title>", 7)) body += 7;
        else if (is_rect) body = "";
        size_t bl = strcspn(body, "<");
        if (bl >= sizeof e->body) bl = sizeof e->body - 1;
        memcpy(e->body, body, bl);
        e->body[bl] = 0;
    }
    *out = v;
    return n;
}

// Stats of L layers x E experts with distinct saliencies (a fixed pseudo-random permutation per layer).
static void make_grid(reap_stats *s, int L, int E) {
    reap_stats_init(s, L, E, 2);
    s->layers_done = L;
    for (int l = 0; l < L; l++) {
        s->layers[l].tokens = 100000;
        for (int e = 0; e < E; e++) {
            reap_expert_stats *x = &s->layers[l].e[e];
            x->count = 200;
            double v = (double)((e * 37 + l * 11) % E + 1);
            x->reap_sum = v * 200, x->gate_sum = 200, x->norm_sum = 200, x->max_act = v;
        }
    }
}

static char svg_dir[64];

static void check_svg_fits(int L, int E) {
    reap_stats s;
    make_grid(&s, L, E);
    reap_report_params p = reap_report_default_params();
    char *path = reap_path_join(svg_dir, "h.svg"), *text;
    size_t len;
    CHECK(reap_report_svg(&s, &p, path) == REAP_OK);
    CHECK(reap_read_file(path, &text, &len) == REAP_OK);
    svg_el *v;
    double W, H;
    int n = svg_parse(text, &v, &W, &H);
    CHECK_MSG(n > 0, "%d layers: no viewBox", L);
    int legend = 0, cells = 0;
    double bar_top = 1e9, bar_bottom = -1;
    for (int i = 0; i < n; i++) {
        const svg_el *e = &v[i];
        if (!e->is_text) {
            CHECK_MSG(e->x >= 0 && e->y >= 0 && e->x + e->w <= W && e->y + e->h <= H,
                      "%d layers: rect %g,%g %gx%g outside the %gx%g viewBox", L, e->x, e->y, e->w, e->h, W, H);
            if (e->is_legend) {
                legend++;
                bar_top = fmin(bar_top, e->y), bar_bottom = fmax(bar_bottom, e->y + e->h);
            }
            cells += strncmp(e->body, "layer ", 6) == 0;
            continue;
        }
        // Text: the baseline inside, the glyphs' height above it inside, and the estimated width
        // (0.6 em per character) on the side it extends to.
        double tw = 0.6 * e->font * (double)strlen(e->body);
        CHECK_MSG(e->y <= H && e->y - e->font >= 0 && e->x >= 0 && e->x <= W, "%d layers: text '%s' at %g,%g", L,
                  e->body, e->x, e->y);
        if (e->rotated) CHECK_MSG(e->y - tw >= 0, "%d layers: rotated '%s' runs off the top", L, e->body);
        else if (e->anchor_end) CHECK_MSG(e->x - tw >= 0, "%d layers: '%s' runs off the left", L, e->body);
        else CHECK_MSG(e->x + tw <= W, "%d layers: '%s' (%g px from %g) runs off the right of %g", L, e->body, tw, e->x, W);
    }
    CHECK_EQ_INT(cells, L * E);
    CHECK_EQ_INT(legend, 100);  // every step of the colour bar, inside (checked above)
    CHECK_MSG(bar_bottom - bar_top >= 199, "%d layers: colour bar %g px tall", L, bar_bottom - bar_top);
    CHECK_STR_CONTAINS(text, "REAP saliency (mean of router gate x ||expert output||");
    free(v), free(text), free(path);
    reap_stats_free(&s);
}

static void test_heatmap_colour_bar_and_text_inside_viewbox_at_1_4_62_layers(void) {
    check_svg_fits(1, 16);
    check_svg_fits(4, 64);
    check_svg_fits(62, 256);
    check_svg_fits(1, 256);
}

// The strip under each layer marks exactly the experts a cut of p.ratio prunes.
static void check_svg_marks(int L, int E, double ratio, reap_criterion c) {
    reap_stats s;
    make_grid(&s, L, E);
    reap_report_params p = reap_report_default_params();
    p.ratio = ratio;
    p.criterion = c;
    char *path = reap_path_join(svg_dir, "m.svg"), *text;
    size_t len;
    CHECK(reap_report_svg(&s, &p, path) == REAP_OK);
    CHECK(reap_read_file(path, &text, &len) == REAP_OK);
    svg_el *v;
    double W, H;
    int n = svg_parse(text, &v, &W, &H);
    CHECK(n > 0);
    int n_cut = reap_prune_count(E, ratio), marks = 0;
    double *sal = malloc(sizeof(double) * E);
    int *order = malloc(sizeof(int) * E);
    char *want = calloc((size_t)L * E, 1), *got = calloc((size_t)L * E, 1);
    for (int l = 0; l < L; l++) {
        reap_stats_saliency(&s, l, c, sal);
        reap_report_order(sal, E, order);
        for (int i = 0; i < n_cut; i++) want[l * E + order[i]] = 1;
    }
    // Each mark lies right under one cell (same x and width, below the cell, above the next row).
    for (int i = 0; i < n; i++) {
        if (!v[i].is_cut) continue;
        marks++;
        int found = 0;
        for (int j = 0; j < n && !found; j++) {
            int l, e;
            if (v[j].is_text || sscanf(v[j].body, "layer %d expert %d", &l, &e) != 2) continue;
            if (v[j].x == v[i].x && v[j].w == v[i].w && v[i].y >= v[j].y + v[j].h && v[i].y + v[i].h <= v[j].y + v[j].h + 8) {
                got[l * E + e] = 1;
                found = 1;
            }
        }
        CHECK_MSG(found, "mark at %g,%g is under no cell", v[i].x, v[i].y);
    }
    CHECK_EQ_INT(marks, L * n_cut);
    CHECK(memcmp(want, got, (size_t)L * E) == 0);
    char frag[64];
    snprintf(frag, sizeof frag, "pruned by a cut of %g (%d of %d per layer)", ratio, n_cut, E);
    CHECK_STR_CONTAINS(text, frag);
    CHECK_STR_CONTAINS(text, c == REAP_CRIT_FREQUENCY ? "<text x=\"70\" y=\"20\" font-size=\"14\">frequency (tokens routed"
                                                      : "<text x=\"70\" y=\"20\" font-size=\"14\">REAP saliency");
    free(v), free(text), free(path), free(sal), free(order), free(want), free(got);
    reap_stats_free(&s);
}

static void test_heatmap_marks_match_the_chosen_ratio(void) {
    check_svg_marks(4, 64, 0.30, REAP_CRIT_REAP);
    check_svg_marks(4, 64, 0.5, REAP_CRIT_REAP);
    check_svg_marks(3, 256, 0.25, REAP_CRIT_REAP);
    check_svg_marks(2, 16, 0.0, REAP_CRIT_REAP);
    check_svg_marks(2, 16, 0.4, REAP_CRIT_FREQUENCY);
}

int main(void) {
    snprintf(svg_dir, sizeof svg_dir, "/tmp/test_report.XXXXXX");
    if (!mkdtemp(svg_dir)) return 1;
    RUN(test_summary_of_linear_saliencies);
    RUN(test_unrouted_experts_go_first_and_ties_drop_higher_index);
    RUN(test_uniform_saliency_has_zero_gini);
    RUN(test_cut_check_counts_scarce_experts_and_warns);
    RUN(test_cut_among_equal_saliencies_is_a_tie);
    RUN(test_report_marks_scarce_experts_and_ranks_highest_among_measured);
    RUN(test_report_says_when_statistics_are_partial);
    RUN(test_heatmap_colour_bar_and_text_inside_viewbox_at_1_4_62_layers);
    RUN(test_heatmap_marks_match_the_chosen_ratio);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", svg_dir);
    if (system(cmd)) {
    }
    TEST_EXIT();
}

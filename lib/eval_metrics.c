// eval_metrics.c: see eval_metrics.h.
#include "eval_metrics.h"

#include <math.h>
#include <stdlib.h>

double reap_eval_logsumexp(const float *z, int V) {
    double m = -INFINITY, s = 0;
    for (int v = 0; v < V; v++)
        if (z[v] > m) m = z[v];
    if (!isfinite(m)) return m;
    for (int v = 0; v < V; v++) s += exp((double)z[v] - m);
    return m + log(s);
}

int reap_eval_argmax(const float *z, int V) {
    int a = 0;
    for (int v = 1; v < V; v++)
        if (z[v] > z[a]) a = v;
    return a;
}

int reap_eval_rank(const float *z, int V, int a) {
    int r = 0;
    for (int v = 0; v < V; v++) r += z[v] > z[a] || (z[v] == z[a] && v < a);
    return r;
}

void reap_eval_position(const float *z, const float *zq, int V, int target, reap_eval_pos *out) {
    const double lp = reap_eval_logsumexp(z, V), lq = reap_eval_logsumexp(zq, V);
    double kl = 0;
    for (int v = 0; v < V; v++) {
        double a = (double)z[v] - lp, b = (double)zq[v] - lq;
        kl += exp(a) * (a - b);
    }
    out->kl = kl > 0 ? kl : 0;
    out->ce_p = lp - (double)z[target];
    out->ce_q = lq - (double)zq[target];
    out->top1_p = reap_eval_argmax(z, V);
    out->top1_q = reap_eval_argmax(zq, V);
    out->agree = out->top1_p == out->top1_q;
    out->in_top5 = reap_eval_rank(zq, V, out->top1_p) < 5;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double reap_eval_quantile(double *v, size_t n, double q) {
    if (n == 0) return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n) return v[n - 1];
    double f = pos - (double)i;
    return v[i] + f * (v[i + 1] - v[i]);
}

// eval_metrics.c: see eval_metrics.h.
#include "eval_metrics.h"

#include <limits.h>
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

void reap_eval_state_init(reap_eval_state *s) {
    s->s_p = s->s_q = s->t = 0;
    s->m_p = s->m_q = -INFINITY;
    s->zp_t = s->zq_t = NAN;
    s->arg_p = -1;
    for (int j = 0; j < REAP_EVAL_TOPQ; j++) s->top_id[j] = INT_MAX, s->top_v[j] = -INFINITY;
}

void reap_eval_state_update(reap_eval_state *s, const float *zp, const float *zq, int v0, int n, int target) {
    if (n <= 0) return;
    float Mp = zp[0], Mq = zq[0], tv[REAP_EVAL_TOPQ];
    int ap = v0, tid[REAP_EVAL_TOPQ];
    for (int j = 0; j < REAP_EVAL_TOPQ; j++) tid[j] = INT_MAX, tv[j] = -INFINITY;
    for (int j = 0; j < n; j++) {
        if (zp[j] > Mp) Mp = zp[j], ap = v0 + j;
        if (zq[j] > Mq) Mq = zq[j];
        reap_eval_top_insert(tv, tid, zq[j], v0 + j);
    }
    double sp = 0, sq = 0, ts = 0;
    for (int j = 0; j < n; j++) {
        double ep = expf(zp[j] - Mp);
        sp += ep, sq += expf(zq[j] - Mq), ts += ep * ((double)zp[j] - (double)zq[j]);
    }
    if (target >= v0 && target < v0 + n) s->zp_t = zp[target - v0], s->zq_t = zq[target - v0];
    reap_eval_state_merge(s, Mp, ap, sp, Mq, sq, ts, tv, tid);
}

void reap_eval_state_finish(const reap_eval_state *s, reap_eval_pos *out) {
    const double lp = (double)s->m_p + log(s->s_p), lq = (double)s->m_q + log(s->s_q);
    double kl = s->t / s->s_p - (lp - lq);
    out->kl = kl > 0 ? kl : 0;
    out->ce_p = lp - (double)s->zp_t;
    out->ce_q = lq - (double)s->zq_t;
    out->top1_p = s->arg_p;
    out->top1_q = s->top_id[0];
    out->agree = out->top1_p == out->top1_q;
    out->in_top5 = 0;
    for (int j = 0; j < REAP_EVAL_TOPQ; j++) out->in_top5 |= s->top_id[j] == s->arg_p;
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

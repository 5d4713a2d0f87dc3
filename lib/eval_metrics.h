// eval_metrics.h: the per-position numbers of `reap eval` (spec eval.md): cross-entropy, KL(P || Q)
// over the full vocabulary, top-1 agreement and top-5 membership, from two logit vectors, in
// float64; and the quantiles of their distribution. The CPU reference (tests/test_eval.c pins a
// hand-computed example).
#ifndef REAP_EVAL_METRICS_H
#define REAP_EVAL_METRICS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double ce_p, ce_q;  // -log p(target), -log q(target)
    double kl;          // sum_v p_v (log p_v - log q_v), >= 0 (clamped at 0 against rounding)
    int top1_p, top1_q; // argmax, ties to the lowest id
    int agree;          // top1_p == top1_q
    int in_top5;        // top1_p is among q's 5 highest (ties to the lower id)
} reap_eval_pos;

// One position: z (V) f32 logits of the original P, zq (V) of the other model Q (may equal z),
// target the next token id in [0, V).
void reap_eval_position(const float *z, const float *zq, int V, int target, reap_eval_pos *out);
// log sum_v exp(z_v) in float64.
double reap_eval_logsumexp(const float *z, int V);
// Argmax of z (V), ties to the lowest id.
int reap_eval_argmax(const float *z, int V);
// Rank of id a in z (V): how many ids come before it in descending order (ties: lower id first).
int reap_eval_rank(const float *z, int V, int a);

// The same numbers built a slab of the vocabulary at a time, without the whole logit vectors in
// memory: what the GPU comparison does (kernels/evalhead.cu, one slab of every model's logits out of
// the lm_head GEMM at a time). Maxima run along; the sums are kept relative to the running maximum
// and rescaled when it grows (the online softmax), so after the last slab
//   log p normaliser lp = m_p + log s_p,   lq = m_q + log s_q,
//   KL = sum_v p_v (zp_v - zq_v) - (lp - lq) = t / s_p - (lp - lq),
// and top-5 membership needs only q's 5 best (id a has rank < 5 exactly when it is among them).
// Exponentials are f32 (expf of a value <= 0), sums float64.
enum { REAP_EVAL_TOPQ = 5 };
typedef struct {
    double s_p, s_q;               // sum exp(z - m) over the ids seen, for P and for Q
    double t;                      // sum exp(zp - m_p) (zp - zq)
    float m_p, m_q;                // maxima so far
    float zp_t, zq_t;              // the target's logits (once its slab was seen)
    int arg_p;                     // argmax of P so far (ties to the lowest id; -1: none yet)
    int top_id[REAP_EVAL_TOPQ];    // Q's best ids so far, best first (ties: lower id first; INT_MAX: none)
    float top_v[REAP_EVAL_TOPQ];
} reap_eval_state;

void reap_eval_state_init(reap_eval_state *s);
// Merges ids [v0, v0 + n) with logits zp (n) of P and zq (n) of Q into s; target: the next token id.
void reap_eval_state_update(reap_eval_state *s, const float *zp, const float *zq, int v0, int n, int target);
// The position's numbers once every id was seen.
void reap_eval_state_finish(const reap_eval_state *s, reap_eval_pos *out);

// The two steps the CPU update and the GPU kernel share (one definition for both compilers).
#ifdef __CUDACC__
#define REAP_EVAL_HD __host__ __device__
#else
#define REAP_EVAL_HD
#endif
// 1 when (a, ia) ranks before (b, ib): higher value, or equal and lower id.
static inline REAP_EVAL_HD int reap_eval_before(float a, int ia, float b, int ib) { return a > b || (a == b && ia < ib); }
// Inserts (v, id) into the sorted list (top_v, top_id) of REAP_EVAL_TOPQ when it ranks before the last.
static inline REAP_EVAL_HD void reap_eval_top_insert(float *top_v, int *top_id, float v, int id) {
    int j = REAP_EVAL_TOPQ - 1;
    if (!reap_eval_before(v, id, top_v[j], top_id[j])) return;
    for (; j > 0 && reap_eval_before(v, id, top_v[j - 1], top_id[j - 1]); j--)
        top_v[j] = top_v[j - 1], top_id[j] = top_id[j - 1];
    top_v[j] = v, top_id[j] = id;
}
// Folds a slab's own numbers into s: its maxima Mp (first at id ap) and Mq, the sums sp, sq and ts
// relative to them, and its 5 best of Q. A running sum scales by exp(old max - new max), the slab's
// by exp(M - new max); an equal maximum keeps the lower id, seen first (slabs go up the ids).
static inline REAP_EVAL_HD void reap_eval_state_merge(reap_eval_state *s, float Mp, int ap, double sp, float Mq,
                                                      double sq, double ts, const float *top_v, const int *top_id) {
    float mp = s->m_p > Mp ? s->m_p : Mp, mq = s->m_q > Mq ? s->m_q : Mq;
    double a = exp((double)s->m_p - mp), b = exp((double)Mp - mp);
    s->s_p = s->s_p * a + sp * b;
    s->t = s->t * a + ts * b;
    if (s->arg_p < 0 || Mp > s->m_p) s->arg_p = ap;
    s->m_p = mp;
    s->s_q = s->s_q * exp((double)s->m_q - mq) + sq * exp((double)Mq - mq);
    s->m_q = mq;
    for (int j = 0; j < REAP_EVAL_TOPQ; j++) reap_eval_top_insert(s->top_v, s->top_id, top_v[j], top_id[j]);
}

// Quantile q in [0, 1] of v (n > 0) by linear interpolation between order statistics (numpy's
// default): sorts v in place.
double reap_eval_quantile(double *v, size_t n, double q);

#endif

// eval_internal.h: what eval.c, eval_check.c and eval_report.c share (not a public API).
#ifndef REAP_EVAL_INTERNAL_H
#define REAP_EVAL_INTERNAL_H

#include "ckpt.h"
#include "eval.h"
#include "m2config.h"

// Checks that c (description m) is a pruned copy of the original o (om, fingerprint orig_fp) and
// returns its kept lists (n_layers, m->n_experts) of original expert ids in *kept (malloc'd).
int reap_eval_check_pair(const reap_ckpt *o, const reap_m2_config *om, const char *orig_fp, const reap_ckpt *c,
                         const reap_m2_config *m, int **kept);

#endif

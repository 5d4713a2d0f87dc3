// cmd_score.h: what `reap score` shares with `reap prune` (which scores first without --scores).
#ifndef REAP_CMD_SCORE_H
#define REAP_CMD_SCORE_H

#include "score.h"
#include "stats.h"

// The calibration rows for dir (calib/: p's calib, seq_len, rows, pack, seed), then
// reap_score_rows over them; info->calib_seconds is the time calibration took. out is initialised
// here and freed on failure.
int reap_cmd_score_model(const char *dir, const reap_score_params *p, reap_stats *out, reap_score_info *info);

// --gpus: "all" (or NULL) -> *out NULL; "0,1,3" -> a malloc'd list. REAP_EUSAGE on bad input.
int reap_cmd_parse_gpus(const char *s, int **out, int *n);

#endif

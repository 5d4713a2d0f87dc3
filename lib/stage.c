// stage.c: the staging bookkeeping of one GPU's raw weight buffer (stage.h).
#include "stage.h"

#include <stdlib.h>

#include "common.h"

void reap_stage_init(reap_stage *s, int max_parts) {
    *s = (reap_stage){.raw_next = -2, .staged_layer = -1, .layer = -1, .cap = max_parts > 0 ? max_parts : 1};
    s->pend = reap_xmalloc(sizeof(int) * 2 * (size_t)s->cap);
}

void reap_stage_free(reap_stage *s) {
    if (!s) return;
    free(s->pend);
    s->pend = NULL;
}

void reap_stage_drop(reap_stage *s) {
    s->staging = 0, s->deferred = 0, s->end_pending = 0, s->npend = 0, s->layer = -1, s->key = NULL;
}

int reap_stage_begin(reap_stage *s, int layer, const void *key, int fits) {
    if (s->staging) reap_stage_drop(s);  // a stage that never ended
    if (!fits) {
        s->raw_next = -1;  // the forward of this layer reallocates raw: nothing stages before its flush
        return REAP_STAGE_NO;
    }
    s->staging = 1, s->layer = layer, s->key = key, s->end_pending = 0, s->npend = 0;
    s->deferred = !(s->raw_next == -2 || s->raw_next == layer);
    if (s->deferred) return REAP_STAGE_QUEUE;
    s->raw_next = -1, s->staged_layer = -1;  // raw now belongs to this stage
    return REAP_STAGE_NOW;
}

int reap_stage_part(reap_stage *s, int layer, int e0, int e1) {
    if (!s->staging || s->layer != layer) return 0;
    if (!s->deferred) return 1;
    if (s->npend >= s->cap) {
        reap_stage_drop(s);  // more parts than a layer has
        return 0;
    }
    s->pend[2 * s->npend] = e0, s->pend[2 * s->npend + 1] = e1, s->npend++;
    return 0;
}

int reap_stage_end(reap_stage *s, int layer) {
    if (!s->staging || s->layer != layer) return REAP_STAGE_END_NONE;
    if (s->deferred) {
        s->end_pending = 1;
        return REAP_STAGE_END_LATER;
    }
    return REAP_STAGE_END_RECORD;
}

void reap_stage_complete(reap_stage *s) {
    if (!s->staging) return;
    s->staged_layer = s->layer, s->staged_key = s->key;
    s->staging = 0, s->deferred = 0, s->end_pending = 0, s->npend = 0, s->layer = -1, s->key = NULL;
}

int reap_stage_take(reap_stage *s, int layer, const void *key) {
    int staged = s->staged_layer == layer && s->staged_key == key;
    s->staged_layer = -1;
    s->raw_next = -1;  // raw holds or gets this layer until its flush
    if (!staged && s->staging && s->layer == layer) reap_stage_drop(s);  // never ended: the forward copies it
    return staged;
}

int reap_stage_flush(reap_stage *s, int layer, const int **parts, int *complete) {
    s->raw_next = layer + 1;
    *parts = s->pend, *complete = 0;
    if (!s->staging || !s->deferred || s->layer != layer + 1) return 0;
    int n = s->npend;
    s->deferred = 0, s->npend = 0;
    *complete = s->end_pending;
    s->end_pending = 0;
    return n;
}

// stage.h: when a layer's weights may be copied into a GPU's single raw weight buffer while the
// previous layer computes (the bookkeeping of kernels/gpu.cu's staging, as plain C that the CPU
// tests check; gpu.cu holds the lock and does the copies).
//
// A loader thread stages layer L+1 part by part as it is read (begin, part..., end) while the
// forward of layer L runs: take (the forward claims raw: staged, or it copies L itself), then the
// dequantisation of L, then flush (raw is free for L+1). Parts of L+1 read before that flush are
// queued and handed back by flush, so that raw never holds two layers at once.
#ifndef REAP_STAGE_H
#define REAP_STAGE_H

typedef struct {
    int raw_next;            // the layer raw may take now: -2 any (before the first), -1 none, else that layer
    int staged_layer;        // layer completely staged (copies issued, completion recorded); -1 none
    const void *staged_key;  // and its host buffer (a stale stage of another buffer does not count)
    int staging;             // a stage of `layer` is in progress (begin .. end, or its queue)
    int layer;
    const void *key;
    int deferred;            // its parts queue until flush (raw still holds the previous layer)
    int end_pending;         // its end came while deferred
    int npend, cap;          // queued parts and room (pairs e0, e1 in pend)
    int *pend;
} reap_stage;

enum { REAP_STAGE_NO, REAP_STAGE_NOW, REAP_STAGE_QUEUE };           // reap_stage_begin
enum { REAP_STAGE_END_NONE, REAP_STAGE_END_RECORD, REAP_STAGE_END_LATER };  // reap_stage_end

// max_parts: the most parts a layer is staged in (queue room).
void reap_stage_init(reap_stage *s, int max_parts);
void reap_stage_free(reap_stage *s);  // accepts NULL
// A stage of layer (host buffer key) begins; fits: raw is sized for the layer's dtype. NOW: copy
// its parts as they come; QUEUE: they queue until reap_stage_flush; NO: declined (the forward copies
// the layer itself, and nothing stages into raw until that forward's flush).
int reap_stage_begin(reap_stage *s, int layer, const void *key, int fits);
// Part (e0, e1) of layer is read: 1 when the caller copies it now; 0 when queued, or when no stage
// of layer is in progress. A full queue drops the stage.
int reap_stage_part(reap_stage *s, int layer, int e0, int e1);
// The last part of layer is read. RECORD: the caller records the completion (after the copies) and
// calls reap_stage_complete; LATER: that happens after reap_stage_flush; NONE: layer is not staging.
int reap_stage_end(reap_stage *s, int layer);
void reap_stage_complete(reap_stage *s);  // the stage's completion is recorded: the layer is staged
void reap_stage_drop(reap_stage *s);      // a copy failed, or a stage never ended: forget it
// The forward of layer claims raw: 1 when layer is staged from key (wait for its completion), 0
// when the caller copies the layer itself. Either way raw is held until reap_stage_flush(layer).
int reap_stage_take(reap_stage *s, int layer, const void *key);
// Layer is dequantised: raw is free for layer + 1. Returns how many queued parts of layer + 1 the
// caller copies now (*parts: pairs e0, e1, valid until the next call), and *complete = 1 when its
// end came too (then record, and call reap_stage_complete, after those copies).
int reap_stage_flush(reap_stage *s, int layer, const int **parts, int *complete);

#endif

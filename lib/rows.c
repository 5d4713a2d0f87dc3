// rows.c: see rows.h.
#include "rows.h"

#include <stdlib.h>

void reap_packed_free(reap_packed *p) {
    if (!p) return;
    free(p->ids);
    free(p->mask);
    free(p->sample);
    free(p->cat);
    for (int i = 0; i < p->n_cats; i++) free(p->cat_names[i]);
    free(p->cat_names);
    p->ids = NULL;
    p->mask = NULL;
    p->sample = NULL;
    p->cat = NULL;
    p->cat_names = NULL;
    p->n_cats = 0;
    p->rows = 0;
}

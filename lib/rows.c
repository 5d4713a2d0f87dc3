// rows.c: see rows.h.
#include "rows.h"

#include <stdlib.h>

void reap_packed_free(reap_packed *p) {
    if (!p) return;
    free(p->ids);
    free(p->mask);
    p->ids = NULL;
    p->mask = NULL;
    p->rows = 0;
}

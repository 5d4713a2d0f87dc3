// layer_load.c: reads one decoder layer's weights from the checkpoint (spec minimax-m2.md section 2):
// norms, attention and router dequantised to f32, expert weights raw, into the heap or a caller's
// arena, with several reads in flight and parts reported as they land (see layer_load.h).
#include "layer_load.h"

#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "cpu_ops.h"
#include "forward.h"

// Caller-owned memory that reap_layer_load_into carves a layer's buffers out of (NULL: malloc).
typedef struct {
    uint8_t *p;
    size_t cap, used;
} layer_arena;
enum { ARENA_ALIGN = 256, ARENA_BUFFERS = 16 };

// bytes from the arena (256-byte aligned), or from the heap when a is NULL (f32: 64-byte aligned).
static void *layer_alloc(layer_arena *a, size_t bytes, int f32) {
    if (!a) return f32 ? (void *)reap_cpu_alloc(bytes / sizeof(float)) : reap_xmalloc(bytes);
    size_t at = (a->used + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    REAP_ASSERT(at + bytes <= a->cap);  // sized by reap_layer_arena_bytes and checked up front
    a->used = at + bytes;
    return a->p + at;
}

static int expert_tensor(const reap_ckpt *c, const reap_family *f, int layer, int e, const char *what, int64_t r,
                         int64_t cols, reap_dtype *dt, const reap_ckpt_tensor **out) {
    char name[128];
    reap_family_expert_name(f, name, layer, e, what);
    const reap_ckpt_tensor *t = reap_ckpt_find(c, name);
    if (!t) return reap_fail(REAP_EINVAL, "%s: tensor %s is missing", c->dir, name);
    if (t->t->ndim != 2 || t->t->shape[0] != r || t->t->shape[1] != cols)
        return reap_fail(REAP_EINVAL, "%s: tensor %s has shape [%lld, %lld], expected [%lld, %lld]", c->dir, name,
                         (long long)t->t->shape[0], (long long)(t->t->ndim > 1 ? t->t->shape[1] : 0), (long long)r,
                         (long long)cols);
    if ((int)*dt < 0) *dt = t->t->dtype;
    if (t->t->dtype != *dt)
        return reap_fail(REAP_EINVAL, "%s: tensor %s is %s but other expert weights are %s", c->dir, name,
                         reap_dtype_name(t->t->dtype), reap_dtype_name(*dt));
    *out = t;
    return REAP_OK;
}

// An expert's three matrices, in the order the reader takes them (item 3e + m is matrix m of e):
// gate (I, H), up (I, H), down (H, I), named by the family.
static const char *expert_what(const reap_family *f, int m) {
    return m == 0 ? f->expert_gate : m == 1 ? f->expert_up : f->expert_down;
}

static int is_fp8(reap_dtype dt) { return dt == REAP_DT_F8_E4M3 || dt == REAP_DT_F8_E5M2; }

// How the expert weights are read. Every raw tensor of the layer's experts (the matrices, and their
// F32 block scales of the expected shape) is a member; members back to back in one shard (gaps of at
// most PIECE_GAP bytes are read and dropped) make one read of up to PIECE_BYTES: a piece, read past
// the page cache (reap_st_read_direct: O_DIRECT, -1 descriptors where refused) into a page-aligned
// bounce buffer per thread and copied into place. Pieces are taken in the order of their first
// expert, so that parts land in order whatever the file's order (files sorted by name hold experts
// 1, 10, 100, ...; files sorted by dtype first hold every scale apart from its matrix). Scales of
// another dtype or shape are converted one by one (reap_ckpt_read_f32), each its own unit. One read
// per tensor, each scale a 4 KiB read of its own, read at 88% of parallel O_DIRECT reads of the same
// files on the GPU machine; through the page cache 76-118% there and 31% on the 2-core VM
// (bench/RESULTS.md).
enum { PIECE_BYTES = 16 << 20, PIECE_GAP = 64 << 10 };

typedef struct {
    const reap_ckpt_tensor *t;  // raw: its bytes go to dst
    uint64_t off;               // its first byte in its file
    void *dst;
    int item;                   // 3e + m: matrix m (w1, w3, w2) of expert e, or its scale
    const char *convert;        // non-NULL: a scale to convert into dst (reap_ckpt_read_f32), shape s0 x s1
    int64_t s0, s1;
} member;

// A unit of work: members m[0..n) of one read (a piece), or one conversion (n = 1, convert set).
typedef struct {
    int m0, n;
    int shard;
    uint64_t off, len;  // the piece's range in its file
    int first;          // its lowest item (the order units are taken in)
} unit;

typedef struct {
    member *m;
    int n_members;
    unit *u;
    int n_units;
    int *dfd;        // (n_shards): O_DIRECT descriptors, -1 refused, -2 not this layer's
    char **bounce;   // one per reading thread
    size_t bounce_bytes;
} expert_plan;

static int by_place(const void *pa, const void *pb) {
    const member *a = pa, *b = pb;
    if (a->t->shard != b->t->shard) return a->t->shard < b->t->shard ? -1 : 1;
    return a->off < b->off ? -1 : a->off > b->off ? 1 : a->item - b->item;
}
static int by_first(const void *pa, const void *pb) {
    const unit *a = pa, *b = pb;
    if (a->first != b->first) return a->first - b->first;
    if (a->shard != b->shard) return a->shard - b->shard;
    return a->off < b->off ? -1 : a->off > b->off;
}

// The layer's expert members in reading order (matrix, then its scale; experts in order), checked
// as a serial reader would meet them: the first bad tensor is the one named. w NULL: no
// destinations (the plan's reads only, for reap_layer_read_buffer_bytes).
static int plan_members(const reap_ckpt *c, const reap_m2_config *cfg, int layer, const reap_layer_weights *w,
                        size_t m13, size_t s13, size_t s2, expert_plan *p) {
    const int E = cfg->n_experts;
    const int64_t H = cfg->hidden, I = cfg->inter;
    p->m = reap_xmalloc(sizeof(member) * (size_t)E * 6);
    reap_dtype dt = w ? (reap_dtype)w->expert_dtype : (reap_dtype)-1;
    for (int i = 0; i < 3 * E; i++) {
        const int e = i / 3, m = i % 3;
        const int64_t r = m == 2 ? H : I, cols = m == 2 ? I : H;
        const reap_ckpt_tensor *t;
        int st = expert_tensor(c, cfg->family, layer, e, expert_what(cfg->family, m), r, cols, &dt, &t);
        if (st) return st;
        uint8_t *dst = w ? (m == 0 ? w->w1 : m == 1 ? w->w3 : w->w2) + (size_t)e * m13 : NULL;
        p->m[p->n_members++] = (member){t, c->shards[t->shard]->data_offset + t->t->begin, dst, i, NULL, 0, 0};
        if (!is_fp8(dt)) continue;
        float *sd = w ? (m == 0 ? w->s1 : m == 1 ? w->s3 : w->s2) + (size_t)e * (m == 2 ? s2 : s13) : NULL;
        const int64_t s0 = (r + cfg->block_r - 1) / cfg->block_r, s1 = (cols + cfg->block_c - 1) / cfg->block_c;
        char sname[160];
        snprintf(sname, sizeof sname, "%s_scale_inv", t->name);
        const reap_ckpt_tensor *s = reap_ckpt_find(c, sname);
        if (!s) return reap_fail(REAP_EINVAL, "%s: FP8 tensor %s has no %s", c->dir, t->name, sname);
        int raw = s->t->dtype == REAP_DT_F32 && s->t->ndim == 2 && s->t->shape[0] == s0 && s->t->shape[1] == s1;
        p->m[p->n_members++] =
            (member){s, c->shards[s->shard]->data_offset + s->t->begin, sd, i, raw ? NULL : s->name, s0, s1};
    }
    return REAP_OK;
}

// Pieces of up to piece_bytes of the raw members (sorted by place), one unit per conversion; units
// sorted by first item.
static void plan_units(size_t piece_bytes, expert_plan *p) {
    qsort(p->m, (size_t)p->n_members, sizeof *p->m, by_place);
    p->u = reap_xmalloc(sizeof(unit) * (size_t)(p->n_members > 0 ? p->n_members : 1));
    size_t biggest = 0;
    for (int k = 0; k < p->n_members;) {
        const member *m = &p->m[k];
        unit u = {k, 1, m->t->shard, m->off, reap_st_nbytes(m->t->t), m->item};
        if (!m->convert) {
            uint64_t end = u.off + u.len;
            while (k + u.n < p->n_members) {
                const member *x = &p->m[k + u.n];
                uint64_t xo = x->off, xe = xo + reap_st_nbytes(x->t->t);
                if (x->convert || x->t->shard != u.shard || xo > end + PIECE_GAP ||
                    (xe > end ? xe : end) - u.off > piece_bytes)
                    break;
                if (xe > end) end = xe;
                if (x->item < u.first) u.first = x->item;
                u.n++;
            }
            u.len = end - u.off;
            if (u.len > biggest) biggest = u.len;
        }
        p->u[p->n_units++] = u;
        k += u.n;
    }
    qsort(p->u, (size_t)p->n_units, sizeof *p->u, by_first);
    p->bounce_bytes = biggest + 2 * REAP_DIO_ALIGN;
}

// Unit u: one read and its members copied into place, or one conversion.
static int run_unit(const reap_ckpt *c, const expert_plan *p, const unit *u) {
    const member *m = &p->m[u->m0];
    if (m->convert) {
        int64_t shape[2] = {m->s0, m->s1};
        return reap_ckpt_read_f32(c, m->convert, 2, shape, m->dst);
    }
    const reap_st_file *f = c->shards[u->shard];
    size_t at;  // reap_st_read_direct releases the pages where it read through the page cache
    char *b = p->bounce[omp_get_thread_num()];
    int st = reap_st_read_direct(f, p->dfd[u->shard], u->off, u->len, b, &at);
    for (int k = 0; k < u->n && !st; k++)
        memcpy(m[k].dst, b + at + (m[k].off - u->off), (size_t)reap_st_nbytes(m[k].t->t));
    return st;
}

int reap_layer_bytes(const reap_ckpt *c, const reap_m2_config *cfg, int layer, size_t *bytes) {
    size_t H = (size_t)cfg->hidden, q = (size_t)cfg->n_heads * cfg->head_dim, kv = (size_t)cfg->n_kv_heads * cfg->head_dim;
    size_t E = (size_t)cfg->n_experts, I = (size_t)cfg->inter;
    size_t f = 2 * H + 2 * q * H + 2 * kv * H + (cfg->qk_norm ? q + kv : 0) + E * H + E;
    char name[128];
    reap_family_expert_name(cfg->family, name, layer, 0, cfg->family->expert_gate);
    const reap_ckpt_tensor *t = reap_ckpt_find(c, name);
    if (!t) return reap_fail(REAP_EINVAL, "%s: tensor %s is missing", c->dir, name);
    size_t esz = reap_dtype_size(t->t->dtype);
    size_t experts = E * 3 * I * H * esz;
    if (is_fp8(t->t->dtype) && cfg->block_r > 0 && cfg->block_c > 0)
        experts += E * 4 *
                   (2 * (size_t)((I + cfg->block_r - 1) / cfg->block_r) * ((H + cfg->block_c - 1) / cfg->block_c) +
                    (size_t)((H + cfg->block_r - 1) / cfg->block_r) * ((I + cfg->block_c - 1) / cfg->block_c));
    *bytes = f * 4 + experts;
    return REAP_OK;
}

// ---- parallel reading: a layer's tensors are a list of items in the order a serial reader takes
// them, and nt threads draw items from a shared counter (disks deliver more with several reads in
// flight). The failure of the lowest item wins, so the message depends neither on the thread count
// nor on timing: a thread that draws an item after a failed one stops; items before it still run
// (one of them may fail first), exactly the failure a serial reader would have met first.

enum { READ_THREADS = 8, READ_THREADS_MAX = 256, PART_BYTES = 64 << 20 };

// One non-expert tensor read as f32 into *dst: `what` inside the layer, shape (d0) or (d0, d1).
typedef struct {
    const char *what;
    int nd;
    int64_t d0, d1;
    float **dst;
} f32_item;

typedef struct layer_reader layer_reader;
struct layer_reader {
    const reap_ckpt *c;
    const reap_m2_config *cfg;
    int layer;
    reap_layer_weights *w;
    int (*run)(layer_reader *r, int item);  // reads one item; a failure's message is on its thread
    int n_items;
    const f32_item *f32;                    // run_f32's items
    // run_experts: item i is unit i of the plan; parts of per_part experts
    const expert_plan *plan;
    int per_part, n_parts, parts_done;      // parts_done: parts reported (calling thread only)
    atomic_int *part_items;                 // (n_parts) members read per part; NULL: no parts
    int *part_need;                         // (n_parts) members of each part
    reap_layer_part_fn part;
    void *ctx;
    atomic_int next;                        // next item to draw
    atomic_int fail_at;                     // lowest failed item (n_items: none)
    int fail_st;
    char fail_msg[1024];
};

static int run_f32(layer_reader *r, int i) {
    const f32_item *it = &r->f32[i];
    char n[128];
    int64_t shape[2] = {it->d0, it->d1};
    return reap_ckpt_read_f32(r->c, reap_family_layer_name(r->cfg->family, n, r->layer, it->what), it->nd, shape,
                              *it->dst);
}

static int run_experts(layer_reader *r, int i) {
    const unit *u = &r->plan->u[i];
    int st = run_unit(r->c, r->plan, u);
    if (!st && r->part_items)
        for (int k = 0; k < u->n; k++) atomic_fetch_add(&r->part_items[r->plan->m[u->m0 + k].item / 3 / r->per_part], 1);
    return st;
}

// Reports, in order, the parts whose items have all been read (calling thread only).
static void report_parts(layer_reader *r) {
    int E = r->cfg->n_experts;
    while (r->parts_done < r->n_parts) {
        int e0 = r->parts_done * r->per_part, e1 = e0 + r->per_part < E ? e0 + r->per_part : E;
        if (atomic_load(&r->part_items[r->parts_done]) != r->part_need[r->parts_done]) break;
        r->parts_done++;
        r->part(r->ctx, r->w, e0, e1);
    }
}

static void reader_work(layer_reader *r, int master) {
    for (;;) {
        int i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n_items || i > atomic_load(&r->fail_at)) break;
        int st = r->run(r, i);
        if (st) {
#pragma omp critical(reap_layer_reader)
            if (i < atomic_load(&r->fail_at)) {
                atomic_store(&r->fail_at, i);
                r->fail_st = st;
                snprintf(r->fail_msg, sizeof r->fail_msg, "%s", reap_err_msg());
            }
        }
        if (master && r->part_items) report_parts(r);
    }
    // The calling thread keeps reporting parts while the others finish theirs, so that each part's
    // consumer (a copy to the GPU) starts when it is read rather than when the last one is.
    while (master && r->part_items && r->parts_done < r->n_parts && atomic_load(&r->fail_at) == r->n_items) {
        report_parts(r);
        nanosleep(&(struct timespec){0, 100000}, NULL);
    }
}

// Runs r's items on nt threads; returns the failure of the lowest failed item, raised again here.
static int reader_run(layer_reader *r, int nt) {
    atomic_init(&r->next, 0);
    atomic_init(&r->fail_at, r->n_items);
    if (nt > r->n_items) nt = r->n_items;
    if (nt <= 1) {
        reader_work(r, 1);
    } else {
#pragma omp parallel num_threads(nt)
        reader_work(r, omp_get_thread_num() == 0);
    }
    if (atomic_load(&r->fail_at) < r->n_items) return reap_fail(r->fail_st, "%s", r->fail_msg);
    if (r->part_items) report_parts(r);
    return REAP_OK;
}

static int read_threads(int threads) {
    if (threads <= 0) threads = READ_THREADS;
    return threads < READ_THREADS_MAX ? threads : READ_THREADS_MAX;
}

// Experts per part: about part_bytes (0: the default), at least one.
static int experts_per_part(size_t part_bytes, size_t expert_bytes) {
    if (!part_bytes) part_bytes = PART_BYTES;
    size_t n = expert_bytes ? part_bytes / expert_bytes : 1;
    return n < 1 ? 1 : n > INT32_MAX / 4 ? INT32_MAX / 4 : (int)n;
}

reap_layer_load_opts reap_layer_load_default_opts(void) {
    return (reap_layer_load_opts){READ_THREADS, PART_BYTES, PIECE_BYTES};
}

size_t reap_layer_read_buffer_bytes(const reap_ckpt *c, const reap_m2_config *cfg, int layer,
                                    const reap_layer_load_opts *o) {
    expert_plan pl = {0};
    size_t bytes = 0;
    if (plan_members(c, cfg, layer, NULL, 0, 0, 0, &pl) == REAP_OK) {
        plan_units(o && o->piece_bytes ? o->piece_bytes : PIECE_BYTES, &pl);
        int nt = read_threads(o ? o->threads : 0);
        if (nt > pl.n_units) nt = pl.n_units;
        bytes = (size_t)nt * pl.bounce_bytes;
    }
    free(pl.m), free(pl.u);
    return bytes;
}

// REAP_EINVAL naming the tensor and the first non-finite value of x (n floats), else REAP_OK.
static int check_finite(const reap_ckpt *c, const reap_m2_config *cfg, int layer, const char *what, const float *x,
                        size_t n) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad |= !isfinite(x[i]);
    if (!bad) return REAP_OK;
    size_t i = 0;
    while (isfinite(x[i])) i++;
    char nm[128];
    return reap_fail(REAP_EINVAL, "%s: tensor %s holds a non-finite value (%g at element %zu): the router must be finite",
                     c->dir, reap_family_layer_name(cfg->family, nm, layer, what), (double)x[i], i);
}

static int load_layer(const reap_ckpt *c, const reap_m2_config *cfg, int layer, reap_layer_weights *w,
                      layer_arena *a, const reap_layer_load_opts *o, reap_layer_part_fn part, void *ctx) {
    memset(w, 0, sizeof *w);
    w->layer = layer;
    int st = reap_forward_check_config(cfg, c->dir);
    if (st) return st;
    if (layer < 0 || layer >= cfg->n_layers)
        return reap_fail(REAP_EINVAL, "%s: layer %d out of range (0..%d)", c->dir, layer, cfg->n_layers - 1);
    int64_t H = cfg->hidden, q = (int64_t)cfg->n_heads * cfg->head_dim, kv = (int64_t)cfg->n_kv_heads * cfg->head_dim;
    int64_t E = cfg->n_experts, I = cfg->inter;
    int nt = read_threads(o ? o->threads : 0);
    size_t b = 0;
    f32_item f[10];
    int nf = 0;
#define F32(field, what, nd, d0, d1) f[nf++] = (f32_item){what, nd, d0, d1, &w->field}
    F32(ln1, "input_layernorm.weight", 1, H, 0);
    F32(ln2, "post_attention_layernorm.weight", 1, H, 0);
    F32(wq, "self_attn.q_proj.weight", 2, q, H);
    F32(wk, "self_attn.k_proj.weight", 2, kv, H);
    F32(wv, "self_attn.v_proj.weight", 2, kv, H);
    F32(wo, "self_attn.o_proj.weight", 2, H, q);
    if (cfg->qk_norm) {
        F32(q_norm, "self_attn.q_norm.weight", 1, q, 0);
        F32(k_norm, "self_attn.k_norm.weight", 1, kv, 0);
    }
    F32(gate, cfg->family->router_gate, 2, E, H);
    if (cfg->use_routing_bias) F32(bias, cfg->family->router_bias, 1, E, 0);
#undef F32
    for (int i = 0; i < nf; i++) {
        size_t n = (size_t)f[i].d0 * (size_t)(f[i].nd == 2 ? f[i].d1 : 1);
        *f[i].dst = layer_alloc(a, n * sizeof(float), 1);
        b += n * sizeof(float);
    }
    layer_reader r = {.c = c, .cfg = cfg, .layer = layer, .w = w, .run = run_f32, .n_items = nf, .f32 = f};
    if ((st = reader_run(&r, nt))) goto fail;
    // A NaN or Inf in the router goes unnoticed downstream (sigmoid and top-k still pick experts)
    // and yields plausible but wrong statistics: refuse it here, naming the tensor. E x H floats.
    if ((st = check_finite(c, cfg, layer, cfg->family->router_gate, w->gate, (size_t)(E * H))) ||
        (cfg->use_routing_bias && (st = check_finite(c, cfg, layer, cfg->family->router_bias, w->bias, (size_t)E))))
        goto fail;

    reap_dtype dt = (reap_dtype)-1;
    const reap_ckpt_tensor *t0;
    if ((st = expert_tensor(c, cfg->family, layer, 0, cfg->family->expert_gate, I, H, &dt, &t0))) goto fail;
    if (dt != REAP_DT_F32 && dt != REAP_DT_BF16 && dt != REAP_DT_F16 && !is_fp8(dt)) {
        st = reap_fail(REAP_EINVAL, "%s: tensor %s has dtype %s: expert weights must be F8_E4M3, F8_E5M2, BF16, F16 or F32",
                       c->dir, t0->name, reap_dtype_name(dt));
        goto fail;
    }
    if (is_fp8(dt) && (cfg->block_r <= 0 || cfg->block_c <= 0)) {
        st = reap_fail(REAP_EINVAL, "%s: FP8 expert weights but config.json has no quantization_config.weight_block_size",
                       c->dir);
        goto fail;
    }
    w->expert_dtype = dt;
    size_t esz = reap_dtype_size(dt), m13 = (size_t)I * H * esz;
    w->w1 = layer_alloc(a, E * m13, 0);
    w->w3 = layer_alloc(a, E * m13, 0);
    w->w2 = layer_alloc(a, E * m13, 0);
    b += 3 * E * m13;
    size_t s13 = 0, s2 = 0;
    if (is_fp8(dt)) {
        s13 = (size_t)((I + cfg->block_r - 1) / cfg->block_r) * ((H + cfg->block_c - 1) / cfg->block_c);
        s2 = (size_t)((H + cfg->block_r - 1) / cfg->block_r) * ((I + cfg->block_c - 1) / cfg->block_c);
        w->s1 = layer_alloc(a, E * s13 * sizeof(float), 1);
        w->s3 = layer_alloc(a, E * s13 * sizeof(float), 1);
        w->s2 = layer_alloc(a, E * s2 * sizeof(float), 1);
        b += E * (2 * s13 + s2) * sizeof(float);
    }
    w->bytes = b;
    if (part) part(ctx, w, 0, 0);

    expert_plan pl = {0};
    if ((st = plan_members(c, cfg, layer, w, m13, s13, s2, &pl))) {
        free(pl.m);
        goto fail;
    }
    plan_units(o && o->piece_bytes ? o->piece_bytes : PIECE_BYTES, &pl);
    // O_DIRECT descriptors of the shards that hold this layer's experts only (a checkpoint may have
    // hundreds); one bounce buffer per reading thread (reader_run uses at most nt, numbered from 0)
    pl.dfd = reap_xmalloc(sizeof(int) * (size_t)(c->n_shards + 1));
    for (int i = 0; i < c->n_shards; i++) pl.dfd[i] = -2;
    for (int k = 0; k < pl.n_members; k++) {
        int sh = pl.m[k].t->shard;
        if (!pl.m[k].convert && pl.dfd[sh] == -2) pl.dfd[sh] = reap_st_direct_open(c->shards[sh]);
    }
    if (nt > pl.n_units) nt = pl.n_units;
    pl.bounce = reap_xcalloc((size_t)(nt > 0 ? nt : 1), sizeof(char *));
    for (int i = 0; i < nt; i++) pl.bounce[i] = reap_big_alloc(pl.bounce_bytes);
    r = (layer_reader){.c = c, .cfg = cfg, .layer = layer, .w = w, .run = run_experts, .n_items = pl.n_units,
                       .plan = &pl, .part = part, .ctx = ctx};
    if (part) {
        r.per_part = experts_per_part(o ? o->part_bytes : 0, 3 * m13 + (2 * s13 + s2) * sizeof(float));
        r.n_parts = (int)((E + r.per_part - 1) / r.per_part);
        r.part_items = reap_xmalloc((size_t)r.n_parts * sizeof *r.part_items);
        r.part_need = reap_xcalloc((size_t)r.n_parts, sizeof *r.part_need);
        for (int p = 0; p < r.n_parts; p++) atomic_init(&r.part_items[p], 0);
        for (int k = 0; k < pl.n_members; k++) r.part_need[pl.m[k].item / 3 / r.per_part]++;
    }
    st = reader_run(&r, nt);
    free(r.part_items), free(r.part_need);
    for (int i = 0; i < c->n_shards; i++)
        if (pl.dfd[i] >= 0) close(pl.dfd[i]);  // -1: refused, -2: not this layer's
    for (int i = 0; i < nt; i++) reap_big_free(pl.bounce[i], pl.bounce_bytes);
    free(pl.dfd), free(pl.bounce), free(pl.m), free(pl.u);
    if (st) goto fail;
    return REAP_OK;
fail:
    if (a) reap_layer_forget(w);
    else reap_layer_free(w);
    return st;
}

int reap_layer_load(const reap_ckpt *c, const reap_m2_config *cfg, int layer, reap_layer_weights *w) {
    return reap_layer_load_parts(c, cfg, layer, NULL, 0, 0, NULL, NULL, w);
}

int reap_layer_arena_bytes(const reap_ckpt *c, const reap_m2_config *cfg, int layer, size_t *bytes) {
    int st = reap_layer_bytes(c, cfg, layer, bytes);
    if (!st) *bytes += (size_t)ARENA_BUFFERS * ARENA_ALIGN;
    return st;
}

int reap_layer_load_into(const reap_ckpt *c, const reap_m2_config *cfg, int layer, void *arena, size_t arena_bytes,
                         reap_layer_weights *w) {
    REAP_ASSERT(arena);  // the heap is reap_layer_load's (its weights are freed, these forgotten)
    return reap_layer_load_parts(c, cfg, layer, arena, arena_bytes, 0, NULL, NULL, w);
}

int reap_layer_load_parts(const reap_ckpt *c, const reap_m2_config *cfg, int layer, void *arena, size_t arena_bytes,
                          int threads, reap_layer_part_fn part, void *ctx, reap_layer_weights *w) {
    reap_layer_load_opts o = {.threads = threads, .part_bytes = 0};
    return reap_layer_load_ex(c, cfg, layer, arena, arena_bytes, &o, part, ctx, w);
}

int reap_layer_load_ex(const reap_ckpt *c, const reap_m2_config *cfg, int layer, void *arena, size_t arena_bytes,
                       const reap_layer_load_opts *o, reap_layer_part_fn part, void *ctx, reap_layer_weights *w) {
    if (!arena) return load_layer(c, cfg, layer, w, NULL, o, part, ctx);
    memset(w, 0, sizeof *w);
    w->layer = layer;
    size_t need;
    int st = reap_layer_arena_bytes(c, cfg, layer, &need);
    if (st) return st;
    if (need > arena_bytes)
        return reap_fail(REAP_EINVAL, "%s: layer %d needs %zu bytes of host buffer, %zu given", c->dir, layer, need,
                         arena_bytes);
    layer_arena a = {arena, arena_bytes, 0};
    return load_layer(c, cfg, layer, w, &a, o, part, ctx);
}

void reap_layer_forget(reap_layer_weights *w) {
    int layer = w->layer;
    memset(w, 0, sizeof *w);
    w->layer = layer;
}

void reap_layer_free(reap_layer_weights *w) {
    if (!w) return;
    free(w->ln1), free(w->ln2), free(w->wq), free(w->wk), free(w->wv), free(w->wo);
    free(w->q_norm), free(w->k_norm), free(w->gate), free(w->bias);
    free(w->w1), free(w->w3), free(w->w2), free(w->s1), free(w->s3), free(w->s2);
    int layer = w->layer;
    memset(w, 0, sizeof *w);
    w->layer = layer;
}

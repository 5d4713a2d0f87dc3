// test_prune.c: the pruning plan (counts, tie rule, lowest saliency dropped, refusals), the config
// edit, and the rewriter's safety rules (refused outputs, interruption, --force) with verify.
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "common.h"
#include "prune.h"
#include "stats.h"
#include "synth.h"
#include "test.h"
#include "verify.h"

static char tmpdir[64];
static char *src_dir;  // tiny preset with 256 experts
static reap_ckpt *src;
static reap_m2_config src_model;  // src's description

static char *tpath(const char *name) { return reap_path_join(tmpdir, name); }

// Statistics for src: saliency (reap criterion) of expert e in layer l = val(l, e).
static void make_stats(reap_stats *s, double (*val)(int, int)) {
    int nl = src_model.n_layers;
    reap_stats_init(s, nl, 256, 4);
    reap_stats_fingerprint(src, &src_model, s->fingerprint);
    s->layers_done = nl;
    const char *srcs[] = {"builtin"};
    s->calib = reap_stats_calib_new(srcs, 1, 8, 16, 42, 0, 1);
    for (int l = 0; l < nl; l++)
        for (int e = 0; e < 256; e++) {
            double v = val(l, e);
            reap_expert_stats *x = &s->layers[l].e[e];
            x->count = v > 0 ? 10 : 0;
            x->reap_sum = 10 * v;
            x->gate_sum = x->norm_sum = (double)x->count;
            x->max_act = v > 0 ? v : -INFINITY;
        }
}

static double val_hash(int l, int e) { return (double)((e * 7919 + l * 104729) % 1000) + 1; }
static double val_tie(int l, int e) { (void)l; (void)e; return 1.0; }
static double val_by_index(int l, int e) { (void)l; return (double)e; }  // expert 0 never routed

static int plan_for(const reap_stats *s, double ratio, int keep, int align, reap_prune_plan *pl) {
    reap_prune_params p = reap_prune_default_params();
    p.ratio = ratio;
    p.keep = keep;
    p.align = align;
    return reap_prune_plan_make(src, &src_model, s, &p, pl);
}

static void test_plan_keeps_180_at_030_and_192_at_025(void) {
    reap_stats s;
    make_stats(&s, val_hash);
    reap_prune_plan pl;
    CHECK(plan_for(&s, 0.30, 0, 0, &pl) == REAP_OK);
    CHECK_EQ_INT(pl.keep, 180);
    CHECK_EQ_INT(pl.n_slice, 4);  // gate.weight and bias of 2 layers
    reap_prune_plan_free(&pl);
    CHECK(plan_for(&s, 0.25, 0, 0, &pl) == REAP_OK);
    CHECK_EQ_INT(pl.keep, 192);
    reap_prune_plan_free(&pl);
    CHECK(plan_for(&s, 0.40, 0, 0, &pl) == REAP_OK);
    CHECK_EQ_INT(pl.keep, 154);
    reap_prune_plan_free(&pl);
    CHECK(plan_for(&s, -1, 100, 0, &pl) == REAP_OK);
    CHECK_EQ_INT(pl.keep, 100);
    reap_prune_plan_free(&pl);
    CHECK(plan_for(&s, 0.30, 0, 8, &pl) == REAP_OK);  // 180 rounded down to 176
    CHECK_EQ_INT(pl.keep, 176);
    reap_prune_plan_free(&pl);
    reap_stats_free(&s);
}

static void test_plan_drops_lowest_saliency_and_keeps_order(void) {
    reap_stats s;
    make_stats(&s, val_hash);
    reap_prune_plan pl;
    CHECK(plan_for(&s, 0.30, 0, 0, &pl) == REAP_OK);
    for (int l = 0; l < pl.n_layers; l++) {
        const int *kept = pl.kept + (size_t)l * pl.keep;
        double min_kept = INFINITY, max_dropped = -INFINITY;
        for (int k = 0; k < pl.keep; k++) {
            if (k) CHECK(kept[k] > kept[k - 1]);  // original order
            min_kept = fmin(min_kept, val_hash(l, kept[k]));
        }
        for (int e = 0, k = 0; e < 256; e++) {
            if (k < pl.keep && kept[k] == e) k++;
            else max_dropped = fmax(max_dropped, val_hash(l, e));
        }
        CHECK(max_dropped <= min_kept);
    }
    reap_prune_plan_free(&pl);
    reap_stats_free(&s);
}

static void test_plan_tie_rule_drops_higher_index_first(void) {
    reap_stats s;
    make_stats(&s, val_tie);
    reap_prune_plan pl;
    CHECK(plan_for(&s, 0.30, 0, 0, &pl) == REAP_OK);
    for (int l = 0; l < pl.n_layers; l++)
        for (int k = 0; k < pl.keep; k++) CHECK_EQ_INT(pl.kept[(size_t)l * pl.keep + k], k);
    reap_prune_plan_free(&pl);
    reap_stats_free(&s);
    make_stats(&s, val_by_index);  // saliency = index: the lowest ids go
    CHECK(plan_for(&s, 0.25, 0, 0, &pl) == REAP_OK);
    CHECK_EQ_INT(pl.kept[0], 64);
    CHECK_EQ_INT(pl.kept[191], 255);
    reap_prune_plan_free(&pl);
    reap_stats_free(&s);
}

static void test_plan_refuses_bad_ratio_keep_and_foreign_statistics(void) {
    reap_stats s;
    make_stats(&s, val_hash);
    reap_prune_plan pl;
    CHECK(plan_for(&s, 1.0, 0, 0, &pl) == REAP_EUSAGE);
    CHECK_STR_CONTAINS(reap_err_msg(), "[0, 1)");
    CHECK(plan_for(&s, -0.1, 0, 0, &pl) == REAP_EUSAGE);
    CHECK(plan_for(&s, -1, 3, 0, &pl) == REAP_EUSAGE);  // top-k is 4
    CHECK_STR_CONTAINS(reap_err_msg(), "top-k");
    CHECK(plan_for(&s, -1, 257, 0, &pl) == REAP_EUSAGE);
    CHECK_STR_CONTAINS(reap_err_msg(), "only 256");
    CHECK(plan_for(&s, -1, 5, 3, &pl) == REAP_EUSAGE);  // 5 aligned down to 3 < top-k
    CHECK(plan_for(&s, NAN, 0, 0, &pl) == REAP_EUSAGE);
    CHECK(plan_for(NULL, 0.3, 0, 0, &pl) == REAP_EUSAGE);
    CHECK_STR_CONTAINS(reap_err_msg(), "statistics");
    s.fingerprint[0] = s.fingerprint[0] == 'a' ? 'b' : 'a';
    CHECK(plan_for(&s, 0.3, 0, 0, &pl) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "another model");
    reap_stats_fingerprint(src, &src_model, s.fingerprint);
    s.layers_done = 1;
    CHECK(plan_for(&s, 0.3, 0, 0, &pl) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "incomplete");
    s.layers_done = s.n_layers;
    for (int e = 0; e < 256; e++) s.layers[0].e[e].max_act = NAN;
    reap_prune_params p = reap_prune_default_params();
    p.ratio = 0.3;
    p.criterion = REAP_CRIT_MAX_ACTIVATION;
    CHECK(reap_prune_plan_make(src, &src_model, &s, &p, &pl) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "max-activation");
    // Nothing pruned needs no statistics.
    CHECK(plan_for(NULL, 0.0, 0, 0, &pl) == REAP_OK);
    CHECK_EQ_INT(pl.keep, 256);
    CHECK_EQ_INT(pl.n_drop, 0);
    reap_prune_plan_free(&pl);
    reap_stats_free(&s);
}

static void test_edit_config_changes_only_the_value(void) {
    const char *in = "{\n  \"a\" : {\"num_local_experts\": 3},\n  \"num_local_experts\"\t:  256 ,\n"
                     "  \"s\": \"\\\"num_local_experts\\\": 9\", \"x\": [1.50, 2]\n}\n";
    const char *want = "{\n  \"a\" : {\"num_local_experts\": 3},\n  \"num_local_experts\"\t:  180 ,\n"
                       "  \"s\": \"\\\"num_local_experts\\\": 9\", \"x\": [1.50, 2]\n}\n";
    char *out = NULL;
    CHECK(reap_prune_edit_config(in, "c.json", "num_local_experts", 180, &out) == REAP_OK);
    CHECK_MSG(strcmp(out, want) == 0, "got %s", out);
    free(out);
    CHECK(reap_prune_edit_config("{\"a\": {\"num_local_experts\": 3}}", "c.json", "num_local_experts", 1, &out) ==
          REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "no top-level");
    CHECK(reap_prune_edit_config("{\"num_local_experts\": \"256\"}", "c.json", "num_local_experts", 1, &out) ==
          REAP_EINVAL);
}

static reap_prune_plan plan30;
static reap_stats stats30;

static void test_write_refuses_output_in_or_equal_to_source(void) {
    reap_prune_write_opts o = {0};
    char *in_src = reap_path_join(src_dir, "out");
    char *dotted = reap_xasprintf("%s/../%s", src_dir, strrchr(src_dir, '/') + 1);
    CHECK(reap_prune_write(src, &plan30, src_dir, &o) == REAP_EUSAGE);
    CHECK_STR_CONTAINS(reap_err_msg(), "is the source");
    CHECK(reap_prune_write(src, &plan30, dotted, &o) == REAP_EUSAGE);  // same directory by another path
    CHECK(reap_prune_write(src, &plan30, in_src, &o) == REAP_EUSAGE);
    CHECK_STR_CONTAINS(reap_err_msg(), "inside the source");
    CHECK(reap_prune_write(src, &plan30, tmpdir, &o) == REAP_EUSAGE);  // the source is inside OUT
    CHECK(!reap_exists(in_src));
    free(in_src);
    free(dotted);
}

static int n_siblings(const char *prefix) {
    char *cmd = reap_xasprintf("ls -d %s.tmp-* %s.old-* 2>/dev/null | wc -l", prefix, prefix);
    FILE *f = popen(cmd, "r");
    int n = -1;
    if (f && fscanf(f, "%d", &n) != 1) n = -1;
    if (f) pclose(f);
    free(cmd);
    return n;
}

static void test_write_cancel_leaves_no_output_and_force_keeps_old(void) {
    char *out = tpath("cancelled");
    volatile sig_atomic_t flag = 1;
    reap_prune_write_opts o = {0};
    o.cancel = &flag;
    CHECK(reap_prune_write(src, &plan30, out, &o) == REAP_EINTR);
    CHECK(!reap_exists(out));
    CHECK_EQ_INT(n_siblings(out), 0);
    // An existing OUT is refused without force and survives a cancelled forced run.
    CHECK(reap_mkdir_p(out) == REAP_OK);
    char *marker = reap_path_join(out, "marker");
    CHECK(reap_write_file_atomic(marker, "x", 1) == REAP_OK);
    o.cancel = NULL;
    CHECK(reap_prune_write(src, &plan30, out, &o) == REAP_EINVAL);  // exit 1, as synth's
    CHECK_STR_CONTAINS(reap_err_msg(), "--force");
    o.force = 1;
    o.cancel = &flag;
    CHECK(reap_prune_write(src, &plan30, out, &o) == REAP_EINTR);
    CHECK(reap_exists(marker));
    CHECK_EQ_INT(n_siblings(out), 0);
    o.cancel = NULL;
    o.stats = &stats30;
    CHECK(reap_prune_write(src, &plan30, out, &o) == REAP_OK);
    CHECK(!reap_exists(marker));
    CHECK_EQ_INT(n_siblings(out), 0);
    char *lock = reap_xasprintf("%s.lock", out);
    CHECK(!reap_exists(lock));
    reap_verify_result r;
    CHECK(reap_verify(src_dir, out, &r) == REAP_OK);
    CHECK_EQ_INT(r.n_mismatch, 0);
    free(lock);
    free(marker);
    free(out);
}

static void test_written_output_has_survivors_renumbered_and_router_sliced(void) {
    char *out = tpath("p30");
    reap_prune_write_opts o = {0};
    CHECK(reap_prune_write(src, &plan30, out, &o) == REAP_OK);
    reap_ckpt *c = NULL;
    CHECK(reap_ckpt_open(out, &c) == REAP_OK);
    CHECK_EQ_INT(cJSON_GetObjectItem(c->config, "num_local_experts")->valueint, 180);
    const reap_ckpt_tensor *g = reap_ckpt_find(c, "model.layers.1.block_sparse_moe.gate.weight");
    CHECK(g && g->t->shape[0] == 180 && g->t->shape[1] == 64);
    CHECK(reap_ckpt_find(c, "model.layers.1.block_sparse_moe.experts.179.w2.weight_scale_inv"));
    CHECK(!reap_ckpt_find(c, "model.layers.1.block_sparse_moe.experts.180.w2.weight"));
    // Expert k of the output is expert kept[k] of the source, byte for byte; router rows likewise.
    const int *kept = plan30.kept + plan30.keep;  // layer 1
    int k = 100;
    char a[128], b[128];
    snprintf(a, sizeof a, "model.layers.1.block_sparse_moe.experts.%d.w1.weight", kept[k]);
    snprintf(b, sizeof b, "model.layers.1.block_sparse_moe.experts.%d.w1.weight", k);
    const reap_ckpt_tensor *ta = reap_ckpt_find(src, a), *tb = reap_ckpt_find(c, b);
    CHECK(ta && tb);
    uint64_t n = reap_st_nbytes(ta->t);
    char *x = malloc(n), *y = malloc(n);
    CHECK(reap_ckpt_read_raw(src, a, x) == REAP_OK && reap_ckpt_read_raw(c, b, y) == REAP_OK);
    CHECK(memcmp(x, y, n) == 0);
    free(x);
    free(y);
    float *gs = malloc(256 * 64 * 4), *go = malloc(180 * 64 * 4);
    CHECK(reap_ckpt_read_raw(src, "model.layers.1.block_sparse_moe.gate.weight", gs) == REAP_OK);
    CHECK(reap_ckpt_read_raw(c, "model.layers.1.block_sparse_moe.gate.weight", go) == REAP_OK);
    for (int i = 0; i < 180; i++) CHECK(memcmp(go + i * 64, gs + kept[i] * 64, 256) == 0);
    free(gs);
    free(go);
    reap_ckpt_close(c);
    free(out);
}

static void flip_byte(const char *path, uint64_t off) {
    FILE *f = fopen(path, "r+b");
    fseek(f, (long)off, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, (long)off, SEEK_SET);
    fputc(ch ^ 0x01, f);
    fclose(f);
}

// Corrupts one byte of tensor name (at byte off inside it) in OUT and checks verify names it.
static void corrupt_and_verify(const char *out, const char *name, uint64_t off, const char *needle) {
    reap_ckpt *c = NULL;
    CHECK(reap_ckpt_open(out, &c) == REAP_OK);
    const reap_ckpt_tensor *t = reap_ckpt_find(c, name);
    CHECK(t);
    const reap_st_file *f = c->shards[t->shard];
    char *path = reap_xstrdup(f->path);
    uint64_t abs = f->data_offset + t->t->begin + off;
    reap_ckpt_close(c);
    flip_byte(path, abs);
    reap_verify_result r;
    int st = reap_verify(src_dir, out, &r);
    flip_byte(path, abs);
    free(path);
    CHECK_EQ_INT(st, REAP_EVERIFY);
    CHECK_EQ_INT(r.n_mismatch, 1);
    CHECK_STR_CONTAINS(reap_err_msg(), name);
    CHECK_STR_CONTAINS(reap_err_msg(), needle);
    CHECK(reap_verify(src_dir, out, &r) == REAP_OK);
}

static void test_verify_names_a_corrupted_survivor_router_row_or_bias(void) {
    char *out = tpath("p30");
    corrupt_and_verify(out, "model.layers.0.block_sparse_moe.experts.7.w3.weight", 5, "differs");
    corrupt_and_verify(out, "model.layers.1.block_sparse_moe.gate.weight", 64 * 4 * 3 + 1, "row 3");
    corrupt_and_verify(out, "model.layers.0.block_sparse_moe.e_score_correction_bias", 4 * 9, "entry 9");
    corrupt_and_verify(out, "model.norm.weight", 0, "differs");
    free(out);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_prune.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    reap_log_level = -1;
    reap_synth_params sp;
    reap_synth_preset("tiny", &sp);
    sp.n_experts = 256;
    sp.threads = 1;
    src_dir = tpath("src");
    if (reap_synth_write(&sp, src_dir, 0) || reap_ckpt_open(src_dir, &src) || reap_m2_config_load(src, &src_model)) {
        printf("FAIL setup: %s\n", reap_err_msg());
        return 1;
    }
    make_stats(&stats30, val_hash);
    reap_prune_params p = reap_prune_default_params();
    p.ratio = 0.30;
    if (reap_prune_plan_make(src, &src_model, &stats30, &p, &plan30)) {
        printf("FAIL setup: %s\n", reap_err_msg());
        return 1;
    }
    RUN(test_plan_keeps_180_at_030_and_192_at_025);
    RUN(test_plan_drops_lowest_saliency_and_keeps_order);
    RUN(test_plan_tie_rule_drops_higher_index_first);
    RUN(test_plan_refuses_bad_ratio_keep_and_foreign_statistics);
    RUN(test_edit_config_changes_only_the_value);
    RUN(test_write_refuses_output_in_or_equal_to_source);
    RUN(test_write_cancel_leaves_no_output_and_force_keeps_old);
    RUN(test_written_output_has_survivors_renumbered_and_router_sliced);
    RUN(test_verify_names_a_corrupted_survivor_router_row_or_bias);
    reap_prune_plan_free(&plan30);
    reap_stats_free(&stats30);
    reap_ckpt_close(src);
    free(src_dir);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) {
    }
    TEST_EXIT();
}

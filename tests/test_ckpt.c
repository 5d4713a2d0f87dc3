// test_ckpt.c: checkpoint directories: index <-> shard consistency, unsafe shard names, the
// single-file layout, lookup across shards, and reading tensors as f32 (FP8 block dequant).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "common.h"
#include "dtype.h"
#include "test.h"

static char root[256];

static char *dpath(const char *dir) {
    char *p = reap_path_join(root, dir);
    reap_mkdir_p(p);
    return p;
}

typedef struct {
    const char *name;
    reap_dtype dt;
    int ndim;
    int64_t shape[2];
    const void *data;
} spec_t;

static int write_st(const char *dir, const char *file, int n, const spec_t *s) {
    char *p = reap_path_join(dir, file);
    reap_st_writer *w;
    int st = reap_st_writer_open(p, &w);
    free(p);
    if (st)
        return st;
    for (int i = 0; i < n; i++)
        reap_st_writer_add(w, s[i].name, s[i].dt, s[i].ndim, s[i].shape);
    reap_st_writer_begin(w);
    for (int i = 0; i < n; i++) {
        uint64_t nb = reap_dtype_size(s[i].dt);
        for (int d = 0; d < s[i].ndim; d++)
            nb *= (uint64_t)s[i].shape[d];
        reap_st_writer_write(w, s[i].data, nb);
    }
    return reap_st_writer_finish(w);
}

static void write_text(const char *dir, const char *file, const char *text) {
    char *p = reap_path_join(dir, file);
    reap_write_file_atomic(p, text, strlen(text));
    free(p);
}

static const float A[2] = {1.5f, -2.0f}, B[2] = {3.0f, 4.0f}, C[2] = {5.0f, 6.0f};

// Two shards: s1 = {a, b}, s2 = {c}; 24 bytes total. index written by the caller.
static char *two_shards(const char *name) {
    char *d = dpath(name);
    spec_t s1[2] = {{"a", REAP_DT_F32, 1, {2}, A}, {"b", REAP_DT_F32, 1, {2}, B}};
    spec_t s2[1] = {{"c", REAP_DT_F32, 1, {2}, C}};
    write_st(d, "s1.safetensors", 2, s1);
    write_st(d, "s2.safetensors", 1, s2);
    write_text(d, "config.json", "{\"model_type\": \"minimax_m2\",  \"x\": 1}\n");
    return d;
}

#define GOOD_MAP "\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\",\"c\":\"s2.safetensors\""

// Opens dir expecting failure; returns the message.
static const char *open_fails(const char *dir) {
    reap_ckpt *c = NULL;
    int st = reap_ckpt_open(dir, &c);
    if (st == REAP_OK) {
        reap_ckpt_close(c);
        return "(opened)";
    }
    return reap_err_msg();
}

static void test_ckpt_opens_sharded_checkpoint_and_finds_tensors(void) {
    char *d = two_shards("good");
    write_text(d, "model.safetensors.index.json",
               "{\"metadata\":{\"total_size\":24},\"weight_map\":{" GOOD_MAP "}}");
    reap_ckpt *c;
    CHECK_MSG(reap_ckpt_open(d, &c) == REAP_OK, "%s", reap_err_msg());
    CHECK(c->has_index && c->n_shards == 2 && c->n_tensors == 3 && c->total_size == 24);
    CHECK(strcmp(c->shard_names[0], "s1.safetensors") == 0);
    CHECK(c->config && strstr(c->config_text, "\"x\": 1"));  // raw text kept byte for byte
    const reap_ckpt_tensor *t = reap_ckpt_find(c, "c");
    CHECK(t && t->shard == 1 && strcmp(t->name, "c") == 0);
    CHECK(!reap_ckpt_find(c, "d"));
    float out[2];
    int64_t shape[1] = {2};
    CHECK(reap_ckpt_read_f32(c, "c", 1, shape, out) == REAP_OK && out[0] == 5.0f && out[1] == 6.0f);
    CHECK(reap_ckpt_read_raw(c, "a", out) == REAP_OK && out[0] == 1.5f && out[1] == -2.0f);
    int64_t wrong[1] = {3};
    CHECK(reap_ckpt_read_f32(c, "a", 1, wrong, out) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "tensor 'a' has shape [2], expected [3]");
    CHECK(reap_ckpt_read_f32(c, "nope", 0, NULL, out) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "tensor 'nope' not found");
    reap_ckpt_close(c);
    reap_ckpt_close(NULL);
    free(d);
}

static void test_ckpt_rejects_total_size_mismatch(void) {
    char *d = two_shards("total");
    write_text(d, "model.safetensors.index.json",
               "{\"metadata\":{\"total_size\":25},\"weight_map\":{" GOOD_MAP "}}");
    const char *m = open_fails(d);
    CHECK_STR_CONTAINS(m, "model.safetensors.index.json");
    CHECK_STR_CONTAINS(m, "metadata.total_size is 25 but the shards hold 24 bytes");
    free(d);
}

static void test_ckpt_rejects_index_tensor_missing_from_shard(void) {
    char *d = two_shards("missing");
    write_text(d, "model.safetensors.index.json",
               "{\"metadata\":{\"total_size\":24},\"weight_map\":{" GOOD_MAP ",\"z\":\"s2.safetensors\"}}");
    CHECK_STR_CONTAINS(open_fails(d),
                       "tensor 'z' is listed in weight_map under s2.safetensors but that shard has no such tensor");
    free(d);
}

static void test_ckpt_rejects_empty_weight_map(void) {  // fuzz_index finding: it opened with 0 tensors
    char *d = two_shards("emptymap");
    write_text(d, "model.safetensors.index.json", "{\"metadata\":{\"total_size\":24},\"weight_map\":{}}");
    CHECK_STR_CONTAINS(open_fails(d), "\"weight_map\" lists no tensors");
    free(d);
}

static void test_ckpt_rejects_tensor_not_listed_in_index(void) {
    char *d = two_shards("unlisted");
    write_text(d, "model.safetensors.index.json",
               "{\"metadata\":{\"total_size\":24},\"weight_map\":{\"a\":\"s1.safetensors\",\"c\":\"s2.safetensors\"}}");
    CHECK_STR_CONTAINS(open_fails(d), "tensor 'b' in shard s1.safetensors is not listed in weight_map");
    free(d);
}

static void test_ckpt_rejects_tensor_listed_under_wrong_shard(void) {
    char *d = two_shards("wrongshard");
    write_text(d, "model.safetensors.index.json",
               "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\",\"c\":\"s2.safetensors\"}}");
    CHECK_STR_CONTAINS(open_fails(d),
                       "tensor 'b' is listed in weight_map under s2.safetensors but is stored in s1.safetensors");
    free(d);
}

static void test_ckpt_rejects_tensor_in_two_shards(void) {
    char *d = two_shards("twice");
    spec_t s3[1] = {{"a", REAP_DT_F32, 1, {2}, A}};
    write_st(d, "s3.safetensors", 1, s3);
    write_text(d, "model.safetensors.index.json",
               "{\"weight_map\":{" GOOD_MAP ",\"x\":\"s3.safetensors\"}}");
    CHECK_STR_CONTAINS(open_fails(d), "tensor 'a' is stored in two shards: s1.safetensors and s3.safetensors");
    free(d);
}

static void test_ckpt_rejects_unsafe_shard_names(void) {
    char *d = two_shards("names");
    char *outside = dpath("outside");
    spec_t sx[1] = {{"c", REAP_DT_F32, 1, {2}, C}};
    write_st(outside, "evil.safetensors", 1, sx);
    static const struct {
        const char *shard, *want;
    } cases[] = {
        {"../outside/evil.safetensors", "contains '..'"},
        {"..evil.safetensors", "contains '..'"},
        {"/etc/passwd", "is an absolute path"},
        {"a/b.safetensors", "contains '/'"},
        {"", "empty shard file name"},
        {"link.safetensors", "outside the checkpoint directory"},
        {"absent.safetensors", "cannot be opened"},
    };
    char *target = reap_path_join(outside, "evil.safetensors");
    char *link = reap_path_join(d, "link.safetensors");
    CHECK(symlink(target, link) == 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *idx = reap_xasprintf("{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\",\"c\":\"%s\"}}",
                                   cases[i].shard);
        write_text(d, "model.safetensors.index.json", idx);
        free(idx);
        const char *m = open_fails(d);
        CHECK_MSG(strstr(m, cases[i].want) && strstr(m, "index.json"), "shard '%s': '%s'", cases[i].shard, m);
    }
    // A symlink that stays inside the directory is fine.
    unlink(link);
    CHECK(symlink("s2.safetensors", link) == 0);
    write_text(d, "model.safetensors.index.json",
               "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\",\"c\":\"link.safetensors\"}}");
    reap_ckpt *c;
    CHECK_MSG(reap_ckpt_open(d, &c) == REAP_OK, "%s", reap_err_msg());
    reap_ckpt_close(c);
    free(target);
    free(link);
    free(outside);
    free(d);
}

static void test_ckpt_reports_broken_shard_by_file(void) {
    char *d = two_shards("broken");
    write_text(d, "s2.safetensors", "garbage!!");
    write_text(d, "model.safetensors.index.json", "{\"weight_map\":{" GOOD_MAP "}}");
    const char *m = open_fails(d);
    CHECK_STR_CONTAINS(m, "s2.safetensors");
    CHECK_STR_CONTAINS(m, "exceeds the 100 MB limit");  // "garbage!" read as a u64 length
    write_text(d, "model.safetensors.index.json", "{\"weight_map\":[1]}");
    CHECK_STR_CONTAINS(open_fails(d), "missing \"weight_map\" object");
    write_text(d, "model.safetensors.index.json", "{\"weight_map\":{}} trailing");
    CHECK_STR_CONTAINS(open_fails(d), "not valid JSON");
    free(d);
}

static void test_ckpt_opens_single_file_checkpoint(void) {
    char *d = dpath("single");
    uint16_t bf[3] = {0x3f80, 0x4000, 0xbf80};
    spec_t s[2] = {{"n.weight", REAP_DT_BF16, 1, {3}, bf}, {"a", REAP_DT_F32, 1, {2}, A}};
    write_st(d, "model.safetensors", 2, s);
    reap_ckpt *c;
    CHECK_MSG(reap_ckpt_open(d, &c) == REAP_OK, "%s", reap_err_msg());
    CHECK(!c->has_index && c->n_shards == 1 && c->n_tensors == 2 && c->total_size == 14 && !c->config);
    float out[3];
    CHECK(reap_ckpt_read_f32(c, "n.weight", 0, NULL, out) == REAP_OK);
    CHECK(out[0] == 1.0f && out[1] == 2.0f && out[2] == -1.0f);
    reap_ckpt_close(c);
    write_text(d, "config.json", "{\"a\": }");
    CHECK_STR_CONTAINS(open_fails(d), "config.json: not valid JSON");
    free(d);
    char *e = dpath("empty");
    CHECK_STR_CONTAINS(open_fails(e), "not a safetensors checkpoint directory");
    free(e);
    CHECK_STR_CONTAINS(open_fails("/nonexistent/reap"), "not a directory");
}

// w (5, 7) E4M3 with blocks 2 x 3: scale (3, 3) with partial edge blocks in both dims.
static void fp8_sample(uint8_t *w, float *scale) {
    for (int i = 0; i < 35; i++) {
        w[i] = (uint8_t)((i * 53 + 3) & 0xff);
        if ((w[i] & 0x7f) == 0x7f)
            w[i] = 0x40;
    }
    for (int i = 0; i < 9; i++)
        scale[i] = 0.125f * (float)(i + 1);
}

static void test_ckpt_read_f32_dequantises_fp8_with_scale_inv(void) {
    char *d = dpath("fp8");
    uint8_t w[35];
    float scale[9];
    fp8_sample(w, scale);
    int32_t ints[2] = {1, 2};
    spec_t s[3] = {{"x.weight", REAP_DT_F8_E4M3, 2, {5, 7}, w},
                   {"x.weight_scale_inv", REAP_DT_F32, 2, {3, 3}, scale},
                   {"i", REAP_DT_I32, 1, {2}, ints}};
    write_st(d, "model.safetensors", 3, s);
    write_text(d, "config.json", "{\"quantization_config\":{\"quant_method\":\"fp8\",\"weight_block_size\":[2,3]}}");
    reap_ckpt *c;
    CHECK_MSG(reap_ckpt_open(d, &c) == REAP_OK, "%s", reap_err_msg());
    CHECK(c->block_r == 2 && c->block_c == 3);
    float out[35];
    int64_t shape[2] = {5, 7};
    CHECK_MSG(reap_ckpt_read_f32(c, "x.weight", 2, shape, out) == REAP_OK, "%s", reap_err_msg());
    for (int r = 0; r < 5; r++)
        for (int col = 0; col < 7; col++) {
            float want = reap_e4m3_to_f32(w[r * 7 + col]) * scale[(r / 2) * 3 + col / 3];
            CHECK_MSG(out[r * 7 + col] == want, "(%d,%d) %g vs %g", r, col, out[r * 7 + col], want);
        }
    CHECK(reap_ckpt_read_f32(c, "i", 0, NULL, out) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "tensor 'i' has dtype I32");
    reap_ckpt_close(c);

    // Without config the block is derived: ceil(5/3) = 2 and ceil(7/3) = 3 reproduce the scale.
    write_text(d, "config.json", "{}");
    CHECK(reap_ckpt_open(d, &c) == REAP_OK);
    float out2[35];
    CHECK(reap_ckpt_read_f32(c, "x.weight", 0, NULL, out2) == REAP_OK);
    CHECK(memcmp(out, out2, sizeof out) == 0);
    reap_ckpt_close(c);

    // A configured block that does not give the scale's shape is an error naming both tensors.
    write_text(d, "config.json", "{\"quantization_config\":{\"quant_method\":\"fp8\",\"weight_block_size\":[4,4]}}");
    CHECK(reap_ckpt_open(d, &c) == REAP_OK);
    CHECK(reap_ckpt_read_f32(c, "x.weight", 0, NULL, out2) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "tensor 'x.weight' [5, 7] and its scale 'x.weight_scale_inv' [3, 3]");
    reap_ckpt_close(c);
    free(d);
}

static void test_ckpt_read_f32_rejects_inconsistent_scale_shape(void) {
    char *d = dpath("fp8bad");
    uint8_t w[35];
    float scale[12];
    fp8_sample(w, scale);
    // scale rows 4 for 5 weight rows: ceil(5/4) = 2 but ceil(5/2) = 3 != 4: no block size fits.
    spec_t s[2] = {{"x.weight", REAP_DT_F8_E4M3, 2, {5, 7}, w}, {"x.weight_scale_inv", REAP_DT_F32, 2, {4, 3}, scale}};
    write_st(d, "model.safetensors", 2, s);
    reap_ckpt *c;
    CHECK(reap_ckpt_open(d, &c) == REAP_OK);
    float out[35];
    CHECK(reap_ckpt_read_f32(c, "x.weight", 0, NULL, out) == REAP_EINVAL);
    CHECK_STR_CONTAINS(reap_err_msg(), "do not match block size");
    reap_ckpt_close(c);
    free(d);
}

int main(void) {
    snprintf(root, sizeof root, "%s/reap_test_ckpt_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_ckpt_opens_sharded_checkpoint_and_finds_tensors);
    RUN(test_ckpt_rejects_total_size_mismatch);
    RUN(test_ckpt_rejects_index_tensor_missing_from_shard);
    RUN(test_ckpt_rejects_empty_weight_map);
    RUN(test_ckpt_rejects_tensor_not_listed_in_index);
    RUN(test_ckpt_rejects_tensor_listed_under_wrong_shard);
    RUN(test_ckpt_rejects_tensor_in_two_shards);
    RUN(test_ckpt_rejects_unsafe_shard_names);
    RUN(test_ckpt_reports_broken_shard_by_file);
    RUN(test_ckpt_opens_single_file_checkpoint);
    RUN(test_ckpt_read_f32_dequantises_fp8_with_scale_inv);
    RUN(test_ckpt_read_f32_rejects_inconsistent_scale_shape);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        printf("warning: could not remove %s\n", root);
    TEST_EXIT();
}

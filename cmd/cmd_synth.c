// cmd_synth.c: `reap synth OUT_DIR`: writes a random checkpoint in the MiniMax-M2 layout.
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "common.h"
#include "signals.h"
#include "synth.h"

int reap_cmd_synth(int argc, char **argv) {
    const char *preset = "small", *shard = NULL;
    // -1: not given (the preset's value is kept)
    long long layers = -1, experts = -1, top_k = -1, hidden = -1, inter = -1, heads = -1, kv = -1, hd = -1,
              rot = -1, vocab = -1, block = -1, seed = -1, threads = -1;
    int sparse = 0, force = 0, dry = 0;
    const reap_opt opts[] = {
        {"preset", 'p', REAP_OPT_STRING, &preset, "NAME", "tiny | small | minimax-m2 (default small)"},
        {"layers", 0, REAP_OPT_INT, &layers, "N", "decoder layers (tiny 2, small 4, minimax-m2 62)"},
        {"experts", 0, REAP_OPT_INT, &experts, "N", "experts per layer (16, 64, 256)"},
        {"top-k", 0, REAP_OPT_INT, &top_k, "N", "experts chosen per token (4, 8, 8)"},
        {"hidden", 0, REAP_OPT_INT, &hidden, "N", "hidden size (64, 256, 3072)"},
        {"intermediate", 0, REAP_OPT_INT, &inter, "N", "expert intermediate size (32, 128, 1536)"},
        {"heads", 0, REAP_OPT_INT, &heads, "N", "attention heads (4, 4, 48)"},
        {"kv-heads", 0, REAP_OPT_INT, &kv, "N", "key/value heads (2, 2, 8)"},
        {"head-dim", 0, REAP_OPT_INT, &hd, "N", "head dimension (16, 64, 128)"},
        {"rotary-dim", 0, REAP_OPT_INT, &rot, "N", "rotated dims per head (8, 32, 64)"},
        {"vocab", 0, REAP_OPT_INT, &vocab, "N",
         "vocab_size (1024, 4096, 200064; minimax-m2's tokenizer has 200054 ids, others exactly N)"},
        {"block-size", 0, REAP_OPT_INT, &block, "N", "FP8 weight_scale_inv block (16, 64, 128)"},
        {"seed", 's', REAP_OPT_INT, &seed, "N", "random seed (default 42)"},
        {"max-shard-size", 0, REAP_OPT_STRING, &shard, "SIZE", "tensor bytes per shard, e.g. 5GB, 200MB (256KB, 10MB, 2GB)"},
        {"sparse", 0, REAP_OPT_FLAG, &sparse, NULL, "leave all tensor data as file holes (full size, ~no disk)"},
        {"threads", 't', REAP_OPT_INT, &threads, "N", "generation threads (default: all cores)"},
        {"dry-run", 'n', REAP_OPT_FLAG, &dry, NULL, "print the plan (tensors, bytes, shards) and write nothing"},
        {"force", 'f', REAP_OPT_FLAG, &force, NULL, "replace an existing OUT_DIR (only a directory of regular files)"},
    };
    const reap_cmd_spec spec = {
        "synth", "OUT_DIR [--preset tiny|small|minimax-m2] [options]",
        "Write a random checkpoint in exactly the MiniMax-M2 layout (FP8 E4M3 + weight_scale_inv, F32 router, "
        "BF16 norms/embeddings/lm_head, sharded safetensors with an index, tokenizer and config files).",
        "Options override the preset's sizes (defaults listed as tiny, small, minimax-m2). The same options\n"
        "and seed give byte-identical files, for any thread count. The checkpoint is built in OUT_DIR.tmp.PID\n"
        "and renamed into place when complete; Ctrl-C (or SIGTERM, SIGHUP) removes it.",
        opts, (int)(sizeof opts / sizeof opts[0]), 1, 1,
    };
    const char *out;
    int st = reap_cli_parse_args(&spec, argc, argv, &out, 1);
    if (st == REAP_CLI_HELP) return REAP_OK;
    if (st) return st;

    reap_synth_params p;
    if ((st = reap_synth_preset(preset, &p))) return reap_fail(REAP_EUSAGE, "reap synth: %s", reap_err_msg());
    struct { const char *name; long long v; int *dst; } ints[] = {
        {"layers", layers, &p.n_layers}, {"experts", experts, &p.n_experts}, {"top-k", top_k, &p.top_k},
        {"hidden", hidden, &p.hidden}, {"intermediate", inter, &p.inter}, {"heads", heads, &p.n_heads},
        {"kv-heads", kv, &p.n_kv_heads}, {"head-dim", hd, &p.head_dim}, {"rotary-dim", rot, &p.rotary_dim},
        {"block-size", block, &p.block}, {"threads", threads, &p.threads},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (ints[i].v == -1) continue;
        if (ints[i].v < 0 || ints[i].v > 1 << 30)
            return reap_fail(REAP_EUSAGE, "reap synth: --%s %lld out of range", ints[i].name, ints[i].v);
        *ints[i].dst = (int)ints[i].v;
    }
    if (vocab != -1) {
        if (vocab < 0 || vocab > 1 << 30) return reap_fail(REAP_EUSAGE, "reap synth: --vocab %lld out of range", vocab);
        p.vocab = (int)vocab;
        p.tok_vocab = 0;  // an explicit vocab gets a tokenizer of exactly that many ids
    }
    if (seed != -1) p.seed = (uint64_t)seed;
    p.sparse = sparse;
    if (shard && (st = reap_synth_parse_size(shard, &p.max_shard_bytes)))
        return reap_fail(REAP_EUSAGE, "reap synth: --max-shard-size: %s", reap_err_msg());
    if ((st = reap_synth_check(&p))) return reap_fail(st, "reap synth: %s", reap_err_msg());

    if (dry && reap_log_level < 0) return REAP_OK;  // -q: the plan was checked, nothing to print
    if (dry) {
        reap_synth_plan pl;
        if ((st = reap_synth_plan_make(&p, &pl))) return st;
        for (int i = 0; i < pl.n; i++) {
            const reap_synth_tensor *t = &pl.t[i];
            char dims[48];
            if (t->ndim == 2) snprintf(dims, sizeof dims, "[%lld, %lld]", (long long)t->shape[0], (long long)t->shape[1]);
            else snprintf(dims, sizeof dims, "[%lld]", (long long)t->shape[0]);
            printf("[%6d/%d] shard %d  %-64s %-14s %-8s %llu\n", i + 1, pl.n, t->shard + 1, t->name, dims,
                   reap_dtype_name(t->dtype), (unsigned long long)t->nbytes);
        }
        char b[32];
        printf("%d tensors, %llu bytes (%s) of tensor data, %d shards\n", pl.n, (unsigned long long)pl.total_bytes,
               reap_fmt_bytes((double)pl.total_bytes, b, sizeof b), pl.n_shards);
        reap_synth_plan_free(&pl);
        return REAP_OK;
    }
    p.cancel = reap_signals_begin();
    st = reap_synth_write(&p, out, force);
    reap_signals_end();
    return st;
}

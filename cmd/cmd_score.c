// cmd_score.c: `reap score DIR`: runs the calibration data through the model one layer at a time
// and writes the REAP statistics file (lib/score.c does the work).
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib.h"
#include "cli.h"
#include "cmd_score.h"
#include "commands.h"
#include "common.h"
#include "safetensors.h"
#include "env.h"
#include "gpu.h"
#include "score.h"
#include "signals.h"
#include "synth.h"

// REAP_TEST_SLOW_MS (tests only: the interruption tests need time to kill a run between layers)
static int slow_after_layer(void *ctx, int done, int n_layers) {
    (void)done, (void)n_layers;
    usleep((useconds_t)(*(int *)ctx) * 1000);
    return REAP_OK;
}

static const char *k_details =
    "Calibration (--calib, repeatable; default: builtin, the built-in code + tool-calling set): see\n"
    "`reap calib --help` for source specs; `reap calib DIR` shows exactly the rows scored here.\n"
    "Router modes: model (default: sigmoid + e_score_correction_bias top-k, what MiniMax-M2 does),\n"
    "softmax (top-k of raw logits, g = softmax over all experts: the public reference's standard path),\n"
    "softmax-renorm (top-k of raw logits, g renormalised over the k: the reference's default). The\n"
    "hidden states always follow the model's own routing; the mode only changes the statistics.\n"
    "\n"
    "Clusters: --shard I/N scores rows I, I+N, I+2N, ... of the packed set (every shard packs the same\n"
    "set, so shards never overlap); merge the files with `reap merge`. Inside a Slurm array job the\n"
    "shard defaults to I = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP and\n"
    "N = SLURM_ARRAY_TASK_COUNT, so `--array=0-7` and `--array=1-8` both give shards 0..7 of 8.\n"
    "The default output is then scores.shard-I-of-N.json. See examples/slurm/.\n"
    "\n"
    "Resume: with --work-dir DIR the statistics of finished layers and the hidden states after the\n"
    "last one are kept (written atomically after every layer); rerunning the same command after a\n"
    "crash or kill continues from there. A work dir of a different run (model, calibration, router,\n"
    "shard, --gpu-experts fp8 on the GPU) is refused. Memory: two layers' weights (the next is read\n"
    "while one computes) + the reader's buffers (up to 8 x 16 MiB) + rows x seq-len x hidden x 4 bytes\n"
    "of hidden states + a bounded workspace (+ 220 MB for the CUDA libraries in a CUDA build), printed\n"
    "at start; the peak RSS is printed at the end.\n"
    "\n"
    "GPU settings: --gpu-router fp32 (default: cublasSgemm) or tf32x3 (three TF32 tensor-core products,\n"
    "faster but ~14x the rounding error); --gpu-experts bf16 (default: FP8 experts dequantised to bf16\n"
    "once a layer) or fp8 (E4M3 weights as stored with their 128x128 block scales, times activations\n"
    "quantised to E4M3 per token and 128 channels: faster expert GEMMs, a larger error; opt-in: see\n"
    "README, Performance; on other checkpoints it runs bf16 and says why); --chunk-tokens N tokens per\n"
    "chunk (default 65536, fewer under --gpu-mem; it sets the GEMM shapes, so it can move the last\n"
    "bits). All three are recorded in the statistics file (calibration.gpu); on the CPU (f32) the first\n"
    "two are ignored with a warning. --gpu-hidden auto (default) keeps the hidden states on the GPUs\n"
    "between layers when every GPU holds its rows beside the chunks under --gpu-mem (copied in once and\n"
    "back at the end, or after every layer with --work-dir), else they go through host memory chunk by\n"
    "chunk as `host` does; `gpu` makes a misfit an error. A line at start says which; the statistics\n"
    "are the same bits either way. --profile prints the GPU time of every step of every layer, and\n"
    "-v a line per layer and a summary (phases, TFLOP/s, peak GPU memory, disk rate, the first layer ready\n"
    "after the process started): bench/gpu_bench.sh reads those. Progress: a line updated in place on a\n"
    "terminal only; in a log, -v's line per layer.\n"
    "\n"
    "Environment: REAP_READ_THREADS (a second spelling of --read-threads), REAP_READ_PART_BYTES (of\n"
    "--read-part-bytes), OMP_NUM_THREADS (of --threads), SLURM_ARRAY_TASK_* (the default --shard,\n"
    "above); every command: see `reap --help`.";

static int parse_shard(const char *s, int *i, int *n) {
    char *e1, *e2;
    long a = strtol(s, &e1, 10);
    if (e1 == s || *e1 != '/') return reap_fail(REAP_EUSAGE, "reap score: --shard wants I/N (e.g. 0/4), got '%s'", s);
    long b = strtol(e1 + 1, &e2, 10);
    if (e2 == e1 + 1 || *e2 || b < 1 || b > 1000000 || a < 0 || a >= b)
        return reap_fail(REAP_EUSAGE, "reap score: --shard %s: need 0 <= I < N", s);
    *i = (int)a, *n = (int)b;
    return REAP_OK;
}

// Shard from a Slurm array job's environment, if any. Returns 1 when set.
static int slurm_shard(int *i, int *n, int *st) {
    const char *id = getenv("SLURM_ARRAY_TASK_ID"), *cnt = getenv("SLURM_ARRAY_TASK_COUNT");
    if (!id || !cnt) return 0;
    const char *mn = getenv("SLURM_ARRAY_TASK_MIN"), *step = getenv("SLURM_ARRAY_TASK_STEP");
    long a = strtol(id, NULL, 10), c = strtol(cnt, NULL, 10), m = mn ? strtol(mn, NULL, 10) : 0;
    long s = step ? strtol(step, NULL, 10) : 1;
    if (s < 1) s = 1;
    long idx = (a - m) / s;
    if (c < 1 || idx < 0 || idx >= c) {
        *st = reap_fail(REAP_EUSAGE,
                        "reap score: Slurm array task %s (min %s, step %s, count %s) does not map to a shard in [0, %ld): "
                        "pass --shard I/N",
                        id, mn ? mn : "unset", step ? step : "unset", cnt, c);
        return 1;
    }
    *i = (int)idx, *n = (int)c;
    return 1;
}

int reap_cmd_parse_gpus(const char *s, int **out, int *n) {
    *out = NULL, *n = 0;
    if (!s || !strcmp(s, "all")) return REAP_OK;
    int cap = 8;
    int *v = reap_xmalloc(sizeof(int) * cap);
    const char *p = s;
    while (*p) {
        char *e;
        long d = strtol(p, &e, 10);
        if (e == p || d < 0 || d > 1023 || (*e && *e != ',')) {
            free(v);
            return reap_fail(REAP_EUSAGE, "--gpus wants all or a list like 0,1,3; got '%s'", s);
        }
        if (*n == cap) v = reap_xrealloc(v, sizeof(int) * (cap *= 2));
        v[(*n)++] = (int)d;
        p = *e ? e + 1 : e;
    }
    *out = v;
    return REAP_OK;
}

// The layer pipeline's figures (-v or --profile; bench/gpu_bench.sh reads these lines).
static void print_run_summary(const reap_score_info *in) {
    const reap_pipeline_info *r = &in->run;
    double tok = (double)in->rows * in->seq_len;
    fprintf(stderr, "run: %.0f tokens, %d layers, wall %.3f s, first layer ready %.3f s, forward %.3f s, waited %.3f s\n",
            tok, r->layers, r->seconds, r->first_ready_s, r->forward_s, r->wait_s);
    fprintf(stderr, "run: read %.0f bytes in %.3f s of loader time (%.3f GB/s), the first layer in %.3f s\n",
            r->read_bytes, r->read_s, r->read_s > 0 ? r->read_bytes / r->read_s / 1e9 : 0, r->read_first_s);
    if (r->first_ready_process_s >= 0)
        fprintf(stderr, "run: first layer ready %.3f s after the process started\n", r->first_ready_process_s);
    if (in->device != REAP_DEVICE_CUDA) return;
    const reap_gpu_counters *g = &r->gpu;
    fprintf(stderr, "gpu: %d GPU(s), %d rows per chunk, peak memory %.2f GiB\n", g->n_devices, g->chunk_rows,
            g->peak_mem / 1073741824.0);
    // The GPU with the least room: its share of the hidden states, and the bytes it needs with them
    // on it, against its cap (exact: tests/e2e_score_cuda.sh sets --gpu-mem from them).
    fprintf(stderr, "gpu: hidden states %s; GPU %d: %zu bytes of them, %zu bytes needed with them, cap %zu bytes\n",
            g->hidden_on_gpu ? "on the GPU" : "in host memory", g->hidden.device, g->hidden.bytes, g->hidden.need,
            g->hidden.cap);
    for (int i = 0; i < REAP_GPU_PHASES; i++)
        fprintf(stderr, "gpu: phase %s %.4f s per layer\n", reap_gpu_phase_names[i], r->layers ? g->phase[i] / r->layers : 0);
    fprintf(stderr, "gpu: expert GEMMs %.1f TFLOP/s, whole layer %.1f TFLOP/s (%.4e and %.4e FLOP)\n",
            g->phase[4] > 0 ? g->flop_experts / g->phase[4] / 1e12 : 0,
            r->forward_s > 0 ? g->flop_total / r->forward_s / 1e12 : 0, g->flop_experts, g->flop_total);
}

// cmd_score.h.
int reap_cmd_score_model(const char *dir, const reap_score_params *p, reap_stats *out, reap_score_info *info) {
    memset(out, 0, sizeof *out);
    reap_pack_params pp = reap_pack_default_params();
    pp.seq_len = p->seq_len, pp.rows = p->rows, pp.pack = p->pack, pp.seed = p->seed;
    reap_packed rows;
    if (p->threads > 0) omp_set_num_threads(p->threads);  // the tokenising runs on them too
    if (p->device != REAP_DEVICE_CPU) reap_gpu_prestart_begin(p->gpus, p->n_gpus);
    double t = reap_now();
    int st = reap_calib_pack_model(dir, p->calib, p->n_calib, &pp, &rows);
    t = reap_now() - t;
    double tg = reap_gpu_prestart_end();
    if (st) return st;
    reap_verbose("calibration: %d rows packed in %.2f s", rows.rows, t);
    if (tg > 0) reap_verbose("GPU contexts created beside it in %.2f s", tg);
    st = reap_score_rows(dir, &rows, p, out, info);
    if (info) info->calib_seconds = t;
    reap_packed_free(&rows);
    return st;
}

int reap_cmd_score(int argc, char **argv) {
    reap_strlist calib = {0};
    long long rows = 0, seq_len = 2048, seed = 42, threads = 0, chunk_tokens = 0, read_threads = -1;
    const char *router = "model", *device = NULL, *gpus = NULL, *gpu_mem = NULL, *shard = NULL, *work_dir = NULL,
               *out = NULL, *gpu_router = "fp32", *gpu_experts = "bf16", *gpu_hidden = "auto", *read_part = NULL, *cpu_isa = NULL;
    int no_pack = 0, profile = 0, keep_cache = 0;
    const reap_opt opts[] = {
        {"calib", 'c', REAP_OPT_STRINGS, &calib, "SPEC", "calibration source, repeatable (default: builtin)"},
        {"rows", 0, REAP_OPT_INT, &rows, "N", "rows of the whole calibration set (default 0: as many as the samples fill)"},
        {"seq-len", 'L', REAP_OPT_INT, &seq_len, "L", "tokens per row (default 2048)"},
        {"seed", 's', REAP_OPT_INT, &seed, "S", "seed for sample selection and order (default 42)"},
        {"no-pack", 0, REAP_OPT_FLAG, &no_pack, NULL, "one sample per row instead of packing (default: packed)"},
        {"router", 0, REAP_OPT_STRING, &router, "MODE", "model | softmax | softmax-renorm (default model)"},
        {"device", 'd', REAP_OPT_STRING, &device, "DEV", "cpu | cuda (default: cuda when a GPU is visible, else cpu)"},
        {"gpus", 0, REAP_OPT_STRING, &gpus, "LIST", "CUDA devices: all or 0,1,... (default all)"},
        {"gpu-mem", 0, REAP_OPT_STRING, &gpu_mem, "SIZE", "GPU memory cap per device, e.g. 24GiB (default: no cap)"},
        {"gpu-router", 0, REAP_OPT_STRING, &gpu_router, "PREC", "GPU router GEMM: fp32 | tf32x3 (default fp32)"},
        {"gpu-experts", 0, REAP_OPT_STRING, &gpu_experts, "PREC",
         "GPU expert GEMMs: bf16 | fp8 (default bf16; fp8 only for FP8 checkpoints in 128x128 blocks)"},
        {"chunk-tokens", 0, REAP_OPT_INT, &chunk_tokens, "N", "tokens per GPU chunk, whole rows (default 65536)"},
        {"gpu-hidden", 0, REAP_OPT_STRING, &gpu_hidden, "WHERE",
         "hidden states between layers: auto | gpu | host (default auto: on the GPUs when they fit)"},
        {"profile", 0, REAP_OPT_FLAG, &profile, NULL, "print the GPU time of every step of every layer"},
        {"read-threads", 0, REAP_OPT_INT, &read_threads, "N", "reads in flight per layer (default 8; env REAP_READ_THREADS)"},
        {"read-part-bytes", 0, REAP_OPT_STRING, &read_part, "SIZE", "expert bytes per part handed to the GPU copy as a layer is read (default 64MiB; env REAP_READ_PART_BYTES)"},
        {"cpu-isa", 0, REAP_OPT_STRING, &cpu_isa, "ISA", "CPU kernel path: avx512 | avx2 | generic (default: the best this CPU has; all give identical bits; env REAP_CPU_ISA)"},
        {"keep-page-cache", 0, REAP_OPT_FLAG, &keep_cache, NULL, "read the model through the page cache and keep its pages (default: O_DIRECT reads where the filesystem allows, else pages dropped after reading; env REAP_KEEP_PAGE_CACHE=1)"},
        {"shard", 0, REAP_OPT_STRING, &shard, "I/N", "score rows I, I+N, ... (default 0/1, or from SLURM_ARRAY_*)"},
        {"work-dir", 'w', REAP_OPT_STRING, &work_dir, "DIR", "keep finished layers here and resume from them"},
        {"threads", 't', REAP_OPT_INT, &threads, "N", "CPU threads (default: all cores / OMP_NUM_THREADS)"},
        {"output", 'o', REAP_OPT_STRING, &out, "FILE", "statistics file (default scores.json, or scores.shard-I-of-N.json)"},
    };
    const reap_cmd_spec spec = {
        .name = "score",
        .usage = "DIR [--calib SPEC ...] [--rows N] [--seq-len L] [--router MODE] [--device cpu|cuda] [--shard I/N] "
                 "[--work-dir DIR] [-o FILE]",
        .summary = "Run calibration data through the model layer by layer and write REAP expert statistics.",
        .details = k_details,
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
        .min_pos = 1,
        .max_pos = 1,
    };
    const char *dir;
    int st = reap_cli_parse_args(&spec, argc, argv, &dir, 1);
    if (keep_cache) reap_st_keep_page_cache(1);
    if (st == REAP_CLI_HELP) return REAP_OK;
    if (st) return st;

    reap_score_params p = reap_score_default_params();
    int *gpu_list = NULL;
    char *out_buf = NULL;
    p.calib = (const char *const *)calib.v;
    p.n_calib = calib.n;
    p.pack = !no_pack;
    if (rows < 0 || rows > (1 << 30)) st = reap_fail(REAP_EUSAGE, "reap score: --rows must be >= 0, got %lld", rows);
    else if (seq_len < 2 || seq_len > (1 << 24))
        st = reap_fail(REAP_EUSAGE, "reap score: --seq-len must be in [2, 16777216], got %lld", seq_len);
    else if (seed < 0) st = reap_fail(REAP_EUSAGE, "reap score: --seed must be >= 0");
    else if (threads < 0 || threads > 4096) st = reap_fail(REAP_EUSAGE, "reap score: --threads must be in [0, 4096]");
    else if (chunk_tokens < 0 || chunk_tokens > (1 << 30))
        st = reap_fail(REAP_EUSAGE, "reap score: --chunk-tokens must be in [0, 2^30], got %lld", chunk_tokens);
    else if (!(st = reap_router_mode_parse(router, &p.router)) && (st = reap_gpu_router_parse(gpu_router, &p.gpu_router)))
        st = reap_fail(REAP_EUSAGE, "reap score: --gpu-router: %s", reap_err_msg());
    if (!st && reap_gpu_hidden_parse(gpu_hidden, &p.gpu_hidden))
        st = reap_fail(REAP_EUSAGE, "reap score: --gpu-hidden: %s", reap_err_msg());
    if (!st && reap_gpu_experts_parse(gpu_experts, &p.gpu_experts))
        st = reap_fail(REAP_EUSAGE, "reap score: --gpu-experts: %s", reap_err_msg());
    if (!st && (read_threads > 256 || read_threads == 0 || read_threads < -1))
        st = reap_fail(REAP_EUSAGE, "reap score: --read-threads must be in [1, 256], got %lld", read_threads);
    if (read_threads < 0) read_threads = 0;  // REAP_READ_THREADS or the default
    p.gpu_chunk_tokens = (int)chunk_tokens, p.profile = profile;
    p.rows = (int)rows, p.seq_len = (int)seq_len, p.seed = (uint64_t)seed, p.threads = (int)threads;
    if (!st && device) {
        if (!strcmp(device, "cpu")) p.device = REAP_DEVICE_CPU;
        else if (!strcmp(device, "cuda") || !strcmp(device, "gpu")) p.device = REAP_DEVICE_CUDA;
        else if (!strcmp(device, "auto")) p.device = REAP_DEVICE_AUTO;
        else st = reap_fail(REAP_EUSAGE, "reap score: --device must be cpu or cuda, got '%s'", device);
    }
    if (!st) st = reap_cmd_parse_gpus(gpus, &gpu_list, &p.n_gpus);
    p.gpus = gpu_list;
    if (!st && gpu_mem) {
        uint64_t b;
        if ((st = reap_synth_parse_size(gpu_mem, &b))) st = reap_fail(REAP_EUSAGE, "reap score: --gpu-mem: bad size '%s'", gpu_mem);
        p.gpu_mem = (size_t)b;
    }
    int from_slurm = 0;
    if (!st && shard) st = parse_shard(shard, &p.shard_index, &p.shard_count);
    else if (!st) from_slurm = slurm_shard(&p.shard_index, &p.shard_count, &st);
    if (!st && from_slurm) reap_info("shard %d/%d from SLURM_ARRAY_TASK_*", p.shard_index, p.shard_count);
    if (!st && !out)
        out = p.shard_count > 1 ? (out_buf = reap_xasprintf("scores.shard-%d-of-%d.json", p.shard_index, p.shard_count))
                                : "scores.json";
    // Refuse an unwritable output now, not after the run (a statistics file is at most a few MB).
    if (!st && reap_is_dir(out)) st = reap_fail(REAP_EINVAL, "%s: the output is a directory (-o names a file)", out);
    else if (!st) st = reap_check_output(out, 4u << 20);
    p.work_dir = work_dir;
    int slow_ms = reap_cmd_env_test_slow_ms();  // test-only throttle (tests/e2e_score*.sh)
    if (slow_ms > 0) p.after_layer = slow_after_layer, p.after_ctx = &slow_ms;
    p.read.threads = (int)read_threads;
    if (!st) st = reap_cmd_read_options("score", read_part, cpu_isa, &p.read);

    if (!st) {
        p.cancel = reap_signals_begin();
        reap_stats stats;
        reap_score_info info;
        st = reap_cmd_score_model(dir, &p, &stats, &info);
        // A signal during the last layer ends the loop as if it had run to the end: still an interruption.
        if (!st && *p.cancel) st = reap_fail(REAP_EINTR, "interrupted after the last layer: %s was not written", out);
        reap_signals_end();
        if (!st) st = reap_stats_save(&stats, out);
        if (!st && reap_log_level >= 0) {
            char a[32], b[32];
            int64_t run_tokens = (int64_t)info.rows * info.seq_len;
            double tps = info.seconds > 0 ? (double)run_tokens * info.layers / stats.n_layers / info.seconds : 0;
            printf("wrote %s: %d layers x %d experts, router %s, shard %d/%d\n", out, stats.n_layers, stats.n_experts,
                   reap_router_mode_name(stats.router), p.shard_index, p.shard_count);
            printf("  %d rows x %d tokens = %lld tokens (%lld counted)%s; calibration %.1f s\n", info.rows, info.seq_len,
                   (long long)run_tokens, (long long)info.tokens_valid,
                   info.resumed_at ? " (resumed)" : "", info.calib_seconds);
            printf("  %d layers in %.1f s on %s = %.0f tokens/s (whole model)\n", info.layers, info.seconds,
                   reap_device_name(info.device), tps);
            printf("  peak RSS %s (estimate %s)\n", reap_fmt_bytes((double)info.peak_rss_kb * 1024, a, sizeof a),
                   reap_fmt_bytes((double)info.mem_estimate, b, sizeof b));
        }
        if (!st && (reap_log_level >= 1 || profile)) print_run_summary(&info);
        reap_stats_free(&stats);
    }
    free(gpu_list);
    free(out_buf);
    reap_strlist_free(&calib);
    return st;
}

// cmd_calib.c: `reap calib [show] [DIR]`: what `reap score` will be fed, for users to check their
// data: per-source sample counts, the rendered text (--render-only), token counts and the packing
// summary (as a table, or one JSON object with --json), and optionally the packed rows themselves
// (-o, JSONL).
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "cli.h"
#include "commands.h"
#include "common.h"

static const char *k_details =
    "Sources (--calib, repeatable; default: builtin):\n"
    "  PATH[:N]      JSONL file (*.zst decompressed), tar/tar.gz/tar.zst/zip archive of *.jsonl[.zst]\n"
    "                members (read in name order), or a directory of *.jsonl[.zst]; :N takes the first\n"
    "                N records after a shuffle seeded by --seed\n"
    "  builtin[:N]   built-in code + tool-calling set; builtin:code[:N], builtin:tools[:N]\n"
    "  heldout[:N]   built-in held-out set (for evaluation, never a default)\n"
    "Records: {\"messages\",\"tools\"} chat, {\"query\",\"tools\",\"answers\"} xlam, {\"instruction\",\"output\"},\n"
    "{\"text\"}. Chat records are rendered in the model's chat format without a generation prompt.\n"
    "With DIR (or --model DIR) the samples are tokenised with DIR/tokenizer.json and packed as\n"
    "`reap score` packs them: rows of --seq-len tokens, one masked gap token between samples, a sample\n"
    "running past the row end cut there (its rest dropped), masked padding at the tail.\n"
    "-o FILE writes one JSON object per row: {\"row\": i, \"ids\": [...], \"mask\": [0|1 ...]}.";

// The chat format: the checkpoint's, or MiniMax-M2's when no checkpoint is given.
static int model_family(const char *dir, const reap_chat_family **fam) {
    *fam = &reap_chat_minimax_m2;
    return dir ? reap_calib_model_chat(dir, fam) : REAP_OK;
}

static int write_rows(const char *path, const reap_packed *pk) {
    reap_sbuf b = {0};
    for (int r = 0; r < pk->rows; r++) {
        const int32_t *ids = pk->ids + (size_t)r * (size_t)pk->seq_len;
        const uint8_t *m = pk->mask + (size_t)r * (size_t)pk->seq_len;
        reap_sbuf_printf(&b, "{\"row\": %d, \"ids\": [", r);
        for (int i = 0; i < pk->seq_len; i++) reap_sbuf_printf(&b, i ? ",%d" : "%d", ids[i]);
        reap_sbuf_puts(&b, "], \"mask\": [");
        for (int i = 0; i < pk->seq_len; i++) reap_sbuf_puts(&b, i ? (m[i] ? ",1" : ",0") : (m[i] ? "1" : "0"));
        reap_sbuf_puts(&b, "]}\n");
    }
    int st = reap_write_file_atomic(path, b.p ? b.p : "", b.n);
    reap_sbuf_free(&b);
    return st;
}

// One line per source (samples, characters[, tokens]) and a total: printed as a table, or, with
// o (--json), as {"sources": [{"source", "samples", "chars"[, "tokens"]}], "total": {...}} in o.
static void put_source(cJSON *arr, const char *name, int64_t n, int64_t c, const int64_t *t) {
    if (!arr) {
        printf("%-40s %9lld %12lld", name, (long long)n, (long long)c);
        if (t) printf(" %12lld", (long long)*t);
        printf("\n");
        return;
    }
    cJSON *x = cJSON_CreateObject();
    if (cJSON_IsArray(arr)) cJSON_AddStringToObject(x, "source", name);
    cJSON_AddNumberToObject(x, "samples", (double)n);
    cJSON_AddNumberToObject(x, "chars", (double)c);
    if (t) cJSON_AddNumberToObject(x, "tokens", (double)*t);
    if (cJSON_IsArray(arr)) cJSON_AddItemToArray(arr, x);
    else cJSON_AddItemToObject(arr, "total", x);
}

static void sources_table(cJSON *o, const reap_samples *s, const int64_t *tokens) {
    cJSON *a = o ? cJSON_AddArrayToObject(o, "sources") : NULL;
    if (!o) printf("%-40s %9s %12s%s\n", "source", "samples", "chars", tokens ? "       tokens" : "");
    int64_t tc = 0, tt = 0;
    for (int i = 0; i < s->n;) {
        int j = i;
        int64_t c = 0, t = 0;
        for (; j < s->n && strcmp(s->v[j].source, s->v[i].source) == 0; j++) {
            c += (int64_t)s->v[j].len;
            if (tokens) t += tokens[j];
        }
        put_source(a, s->v[i].source, j - i, c, tokens ? &t : NULL);
        tc += c;
        tt += t;
        i = j;
    }
    put_source(o, "total", s->n, tc, tokens ? &tt : NULL);
}

// --json --render-only: the rendered samples [{"origin", "source", "text"}].
static void samples_json(cJSON *o, const reap_samples *s, long long max_show) {
    cJSON *a = cJSON_AddArrayToObject(o, "samples");
    for (int i = 0; i < s->n && (max_show == 0 || i < max_show); i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "origin", s->v[i].origin);
        cJSON_AddStringToObject(x, "source", s->v[i].source);
        char *t = reap_xasprintf("%.*s", (int)s->v[i].len, s->v[i].text);
        cJSON_AddStringToObject(x, "text", t);
        free(t);
        cJSON_AddItemToArray(a, x);
    }
}

// --json with a checkpoint: the packing summary the table prints.
static void packing_json(cJSON *o, const reap_packed *pk, const reap_pack_params *pp, long long rows) {
    int64_t cells = (int64_t)pk->rows * pk->seq_len;
    cJSON *x = cJSON_AddObjectToObject(o, "packing");
    cJSON_AddBoolToObject(x, "packed", pp->pack);
    cJSON_AddNumberToObject(x, "seq_len", pk->seq_len);
    cJSON_AddNumberToObject(x, "seed", (double)pp->seed);
    cJSON_AddNumberToObject(x, "gap_id", pp->gap_id);
    cJSON_AddNumberToObject(x, "rows", pk->rows);
    cJSON_AddNumberToObject(x, "rows_asked", (double)rows);
    cJSON_AddBoolToObject(x, "out_of_samples", pk->out_of_samples);
    cJSON_AddNumberToObject(x, "tokens_in_rows", (double)cells);
    cJSON_AddNumberToObject(x, "tokens_counted", (double)pk->tokens_kept);
    cJSON_AddNumberToObject(x, "tokens_masked", (double)(cells - pk->tokens_kept));
    cJSON_AddNumberToObject(x, "samples_total", pk->samples_total);
    cJSON_AddNumberToObject(x, "samples_used", pk->samples_used);
    cJSON_AddNumberToObject(x, "samples_truncated", pk->samples_truncated);
    cJSON_AddNumberToObject(x, "tokens_dropped", (double)pk->tokens_dropped);
    cJSON_AddNumberToObject(x, "samples_not_reached", pk->samples_total - pk->samples_used - pk->samples_empty);
    cJSON_AddNumberToObject(x, "samples_empty", pk->samples_empty);
}

int reap_cmd_calib(int argc, char **argv) {
    reap_strlist calib = {0};
    const char *model = NULL, *out_path = NULL;
    long long rows = 0, seq_len = 2048, seed = 42, max_show = 0;
    int no_pack = 0, render_only = 0, json = 0;
    const reap_opt opts[] = {
        {"calib", 'c', REAP_OPT_STRINGS, &calib, "SPEC", "calibration source, repeatable (default: builtin)"},
        {"model", 'm', REAP_OPT_STRING, &model, "DIR", "checkpoint whose tokenizer/chat format to use (or positional DIR)"},
        {"rows", 0, REAP_OPT_INT, &rows, "N", "stop after N rows (default 0: as many as the samples fill)"},
        {"seq-len", 'L', REAP_OPT_INT, &seq_len, "L", "tokens per row (default 2048)"},
        {"seed", 's', REAP_OPT_INT, &seed, "S", "seed for PATH:N selection and sample order (default 42)"},
        {"no-pack", 0, REAP_OPT_FLAG, &no_pack, NULL, "one sample per row (cut at L, padded) instead of packing"},
        {"render-only", 0, REAP_OPT_FLAG, &render_only, NULL, "print the rendered text of the samples, no tokenising"},
        {"samples", 0, REAP_OPT_INT, &max_show, "K", "with --render-only: print only the first K samples (default all)"},
        {"output", 'o', REAP_OPT_STRING, &out_path, "FILE", "write the packed rows as JSONL {\"row\",\"ids\",\"mask\"}"},
        {"json", 'j', REAP_OPT_FLAG, &json, NULL, "print the summary (with --render-only: the samples) as one JSON object"},
    };
    const reap_cmd_spec spec = {
        .name = "calib",
        .usage = "[show] [DIR] [--calib SPEC ...] [--rows N] [--seq-len L] [--seed S] [--no-pack] [--render-only] [-o FILE] [--json]",
        .summary = "Show exactly what `reap score` feeds the model: rendered samples, token counts, packed rows.",
        .details = k_details,
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
        .min_pos = 0,
        .max_pos = 2,
    };
    char **pos = NULL;
    int npos = 0;
    int st = reap_cli_parse(&spec, argc, argv, &pos, &npos);
    if (st == REAP_CLI_HELP) return REAP_OK;
    if (st) return st;
    int p0 = (npos > 0 && strcmp(pos[0], "show") == 0) ? 1 : 0;
    if (npos - p0 > 1) st = reap_fail(REAP_EUSAGE, "reap calib: unexpected argument '%s'", pos[npos - 1]);
    else if (npos - p0 == 1 && model) st = reap_fail(REAP_EUSAGE, "reap calib: give the checkpoint as DIR or --model, not both");
    else if (npos - p0 == 1) model = pos[p0];
    if (!st && (seq_len < 2 || seq_len > (1 << 24))) st = reap_fail(REAP_EUSAGE, "reap calib: --seq-len must be in [2, 16777216], got %lld", seq_len);
    if (!st && (rows < 0 || rows > (1 << 30))) st = reap_fail(REAP_EUSAGE, "reap calib: --rows must be >= 0, got %lld", rows);
    if (!st && (max_show < 0 || max_show > INT_MAX))
        st = reap_fail(REAP_EUSAGE, "reap calib: --samples must be >= 0, got %lld", max_show);
    if (!st && out_path && render_only) st = reap_fail(REAP_EUSAGE, "reap calib: -o needs token ids: drop --render-only");
    if (!st && out_path && !model) st = reap_fail(REAP_EUSAGE, "reap calib: -o needs a checkpoint DIR for its tokenizer");
    free(pos);
    const reap_chat_family *fam = NULL;
    if (!st) st = model_family(model, &fam);

    reap_samples samples = {0};
    const char *def[] = {"builtin"};
    char **specs = calib.n ? calib.v : (char **)def;
    int nspecs = calib.n ? calib.n : 1;
    for (int i = 0; i < nspecs && !st; i++) st = reap_calib_load(specs[i], fam, (uint64_t)seed, &samples);

    reap_tokenizer *tok = NULL;
    int quiet = reap_log_level < 0;
    cJSON *doc = json ? cJSON_CreateObject() : NULL;
    if (!st && json && render_only) {
        samples_json(doc, &samples, max_show);
        sources_table(doc, &samples, NULL);
    } else if (!st && json && !model) {
        sources_table(doc, &samples, NULL);
    } else if (!st && render_only) {
        for (int i = 0; !quiet && i < samples.n && (max_show == 0 || i < max_show); i++) {
            printf("===== sample %d/%d  %s  (%zu bytes) =====\n", i + 1, samples.n, samples.v[i].origin, samples.v[i].len);
            fwrite(samples.v[i].text, 1, samples.v[i].len, stdout);
            printf("\n");
        }
        if (!quiet) {
            printf("===== %d samples =====\n", samples.n);
            sources_table(NULL, &samples, NULL);
        }
    } else if (!st && !model) {
        if (!quiet) {
            sources_table(NULL, &samples, NULL);
            printf("(no checkpoint given: pass DIR to tokenise and see the packing; --render-only prints the text)\n");
        }
    } else if (!st) {
        char *tpath = reap_path_join(model, "tokenizer.json");
        st = reap_tok_load(tpath, &tok);
        free(tpath);
        int64_t *ntok = reap_xcalloc((size_t)(samples.n ? samples.n : 1), sizeof(int64_t));
        int32_t **ids = reap_xcalloc((size_t)(samples.n ? samples.n : 1), sizeof(int32_t *));
        size_t *lens = reap_xcalloc((size_t)(samples.n ? samples.n : 1), sizeof(size_t));
        if (!st) st = reap_pack_encode(tok, &samples, NULL, samples.n, (int)seq_len, ids, lens);
        for (int i = 0; i < samples.n; i++) ntok[i] = (int64_t)lens[i];
        reap_packed pk = {0};
        reap_pack_params pp = reap_pack_default_params();
        pp.seq_len = (int)seq_len;
        pp.rows = (int)rows;
        pp.pack = !no_pack;
        pp.seed = (uint64_t)seed;
        if (!st) st = reap_pack_ids((const int32_t *const *)ids, lens, samples.n, &pp, &pk);
        if (!st && json) {
            sources_table(doc, &samples, ntok);
            packing_json(doc, &pk, &pp, rows);
            if (out_path) cJSON_AddStringToObject(doc, "output", out_path);
        } else if (!st && !quiet) {
            sources_table(NULL, &samples, ntok);
            int64_t cells = (int64_t)pk.rows * pk.seq_len;
            printf("\npacking: %s, seq_len %d, seed %lld, gap/pad id %d\n", pp.pack ? "packed" : "one sample per row",
                   pk.seq_len, seed, pp.gap_id);
            printf("rows: %d%s\n", pk.rows,
                   pk.out_of_samples ? "  (fewer than --rows: the samples ran out)" : rows ? "  (--rows limit)" : "");
            printf("tokens: %lld in rows, %lld counted (%.1f%%), %lld masked (%.1f%%: gaps and padding)\n",
                   (long long)cells, (long long)pk.tokens_kept, cells ? 100.0 * (double)pk.tokens_kept / (double)cells : 0.0,
                   (long long)(cells - pk.tokens_kept),
                   cells ? 100.0 * (double)(cells - pk.tokens_kept) / (double)cells : 0.0);
            printf("samples: %d of %d used, %d truncated at a row end (%lld tokens dropped), %d not reached, %d empty\n",
                   pk.samples_used, pk.samples_total, pk.samples_truncated, (long long)pk.tokens_dropped,
                   pk.samples_total - pk.samples_used - pk.samples_empty, pk.samples_empty);
        }
        if (!st && out_path) {
            st = write_rows(out_path, &pk);
            if (!st) reap_info("wrote %d rows to %s", pk.rows, out_path);
        }
        reap_packed_free(&pk);
        for (int i = 0; i < samples.n; i++) free(ids[i]);
        free(ids);
        free(lens);
        free(ntok);
    }
    if (doc && !st) reap_cmd_json_result(doc);  // on failure main prints the error object alone
    else cJSON_Delete(doc);
    reap_tok_free(tok);
    reap_samples_free(&samples);
    reap_strlist_free(&calib);
    return st;
}

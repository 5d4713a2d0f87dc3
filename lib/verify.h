// verify.h: `reap verify`: re-reads a source checkpoint and a pruned output and checks every claim
// of the rewriter (prune.h) independently of the plan code: survivors byte-identical to their
// sources per reap.json, router rows and bias entries sliced correctly, no tensor extra or missing,
// dtypes and shapes, config.json equal to the source's except num_local_experts, index consistent
// (validated on open), headers valid, every non-weight file present and identical.
#ifndef REAP_VERIFY_H
#define REAP_VERIFY_H

#include <stdint.h>

typedef struct {
    int n_tensors;           // output tensors checked
    int n_files;             // non-weight files compared
    uint64_t bytes_compared; // tensor bytes compared (each side)
    int n_mismatch;          // every mismatch found
    char first[512];         // the first mismatch, empty when none
    double seconds;
} reap_verify_result;

// Returns REAP_OK when everything matches, REAP_EVERIFY naming the first mismatch (and the count)
// when something differs, or another status when a file cannot be read or is not a checkpoint.
// Each mismatch is logged with reap_verbose (the first ten with reap_info).
int reap_verify(const char *src_dir, const char *out_dir, reap_verify_result *r);

#endif

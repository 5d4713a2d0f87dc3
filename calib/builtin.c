// builtin.c: the embedded calibration blobs (calib/builtin_data.S .incbin's calib/data/*.zst).
#include <string.h>

#include "calib.h"

extern const char reap_blob_calib_code[], reap_blob_calib_code_end[];
extern const char reap_blob_calib_tools[], reap_blob_calib_tools_end[];
extern const char reap_blob_heldout[], reap_blob_heldout_end[];

int reap_calib_builtin(const char *name, reap_blob *out) {
    if (strcmp(name, "code") == 0)
        *out = (reap_blob){"code", reap_blob_calib_code, (size_t)(reap_blob_calib_code_end - reap_blob_calib_code)};
    else if (strcmp(name, "tools") == 0)
        *out = (reap_blob){"tools", reap_blob_calib_tools, (size_t)(reap_blob_calib_tools_end - reap_blob_calib_tools)};
    else if (strcmp(name, "heldout") == 0)
        *out = (reap_blob){"heldout", reap_blob_heldout, (size_t)(reap_blob_heldout_end - reap_blob_heldout)};
    else
        return reap_fail(REAP_EINVAL, "unknown built-in set '%s' (known: code, tools, heldout)", name);
    return REAP_OK;
}

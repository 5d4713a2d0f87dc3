/* builtin_data.S: the built-in calibration and held-out sets, embedded in the binary.
   Each blob is zstd-compressed JSONL (calib/data/). Symbols: reap_blob_<name>, _end. */
    .section .rodata
    .balign 16
    .global reap_blob_calib_code
reap_blob_calib_code:
    .incbin "calib/data/code.jsonl.zst"
    .global reap_blob_calib_code_end
reap_blob_calib_code_end:
    .balign 16
    .global reap_blob_calib_tools
reap_blob_calib_tools:
    .incbin "calib/data/tools.jsonl.zst"
    .global reap_blob_calib_tools_end
reap_blob_calib_tools_end:
    .balign 16
    .global reap_blob_heldout
reap_blob_heldout:
    .incbin "calib/data/heldout.jsonl.zst"
    .global reap_blob_heldout_end
reap_blob_heldout_end:
    .section .note.GNU-stack,"",@progbits

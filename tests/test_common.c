// test_common.c: the checksums of lib/common.c (XXH64 against the reference's published values,
// the block-parallel checksum against its definition), the incremental SHA-256, and which output
// paths are written in place.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "test.h"

static void test_xxh64_matches_reference_vectors(void) {
    CHECK(reap_xxh64("", 0, 0) == UINT64_C(0xEF46DB3751D8E999));
    CHECK(reap_xxh64("a", 1, 0) == UINT64_C(0xD24EC4F1A98C6E5B));
    CHECK(reap_xxh64("abc", 3, 0) == UINT64_C(0x44BC2CF5AD770999));
    const char *s = "Nobody inspects the spammish repetition";  // 39 bytes: the 32-byte stripes and the tail
    CHECK(reap_xxh64(s, strlen(s), 0) == UINT64_C(0xFBCEA83C8A378BF1));
}

// Above 1 MiB: XXH64 of each block (seed = its index), then of the little-endian block sums (seed = len).
static void test_checksum64_is_blockwise_xxh64_and_sees_one_flipped_bit(void) {
    const size_t B = (size_t)1 << 20, n = 3 * B + 12345;
    uint8_t *buf = malloc(n);
    CHECK(buf);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    uint8_t sums[4 * 8];
    for (int b = 0; b < 4; b++) {
        size_t off = (size_t)b * B, len = n - off < B ? n - off : B;
        uint64_t v = reap_xxh64(buf + off, len, (uint64_t)b);
        for (int i = 0; i < 8; i++) sums[b * 8 + i] = (uint8_t)(v >> (8 * i));
    }
    uint64_t h = reap_checksum64(buf, n);
    CHECK(h == reap_xxh64(sums, sizeof sums, n));
    CHECK(reap_checksum64(buf, 1000) == reap_xxh64(buf, 1000, 0));
    buf[2 * B + 77] ^= 0x10;
    CHECK(reap_checksum64(buf, n) != h);
    free(buf);
}

static void test_sha256_incremental_equals_one_shot(void) {
    char one[65], inc[65];
    const char *s = "The quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps over the lazy dog";
    reap_sha256_buf("abc", 3, one);
    CHECK(!strcmp(one, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    reap_sha256_buf(s, strlen(s), one);
    reap_sha256_ctx c;
    reap_sha256_init(&c);
    for (size_t i = 0; i < strlen(s); i += 7) reap_sha256_update(&c, s + i, strlen(s) - i < 7 ? strlen(s) - i : 7);
    reap_sha256_final(&c, inc);
    CHECK(!strcmp(one, inc));
}

// Only devices, FIFOs and descriptor paths are written in place; a regular file under /dev (here
// /dev/shm, when the machine has it) is replaced like any file: it used to count as a stream and be
// appended to, so a second `score -o /dev/shm/s.json` left the first run's statistics readable.
static void test_dest_streams_are_devices_fifos_and_descriptor_paths_only(void) {
    CHECK(reap_dest_of("/dev/null") == REAP_DEST_STREAM);
    char tmpl[] = "/tmp/test_common.XXXXXX";
    int fd = mkstemp(tmpl);
    CHECK(fd >= 0);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    CHECK(reap_dest_of(p) == REAP_DEST_STREAM);
    snprintf(p, sizeof p, "/dev/fd/%d", fd);
    CHECK(reap_dest_of(p) == REAP_DEST_STREAM);
    snprintf(p, sizeof p, "/proc/%d/fd/%d", (int)getpid(), fd);
    CHECK(reap_dest_of(p) == REAP_DEST_STREAM);
    CHECK(reap_dest_of(tmpl) == REAP_DEST_FILE);
    close(fd);
    unlink(tmpl);
    CHECK(reap_dest_of(tmpl) == REAP_DEST_NEW);
    if (access("/dev/shm", W_OK) == 0) {
        char shm[] = "/dev/shm/test_common.XXXXXX";
        int f2 = mkstemp(shm);
        CHECK(f2 >= 0 && write(f2, "first", 5) == 5);
        close(f2);
        CHECK(reap_dest_of(shm) == REAP_DEST_FILE);
        CHECK(reap_write_file_atomic(shm, "second", 6) == REAP_OK);
        char *t = NULL;
        size_t n = 0;
        CHECK(reap_read_file(shm, &t, &n) == REAP_OK && n == 6 && memcmp(t, "second", 6) == 0);
        free(t);
        unlink(shm);
    }
}

int main(void) {
    RUN(test_xxh64_matches_reference_vectors);
    RUN(test_checksum64_is_blockwise_xxh64_and_sees_one_flipped_bit);
    RUN(test_sha256_incremental_equals_one_shot);
    RUN(test_dest_streams_are_devices_fifos_and_descriptor_paths_only);
    return test_total_failed_ != 0;
}

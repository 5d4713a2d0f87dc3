// test.h: a tiny test harness. Each test binary defines test functions and a main that calls
// RUN(fn) for each; every case prints "PASS name" or "FAIL name: file:line: what". tests/run.sh
// counts those lines across all binaries and scripts.
#ifndef REAP_TEST_H
#define REAP_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_;
static int test_total_failed_;

#define CHECK(c)                                                                        \
    do {                                                                                \
        if (!(c)) {                                                                     \
            printf("  check failed: %s:%d: %s\n", __FILE__, __LINE__, #c);              \
            test_failed_ = 1;                                                           \
            return;                                                                     \
        }                                                                               \
    } while (0)

#define CHECK_MSG(c, ...)                                                               \
    do {                                                                                \
        if (!(c)) {                                                                     \
            printf("  check failed: %s:%d: %s: ", __FILE__, __LINE__, #c);              \
            printf(__VA_ARGS__);                                                        \
            printf("\n");                                                               \
            test_failed_ = 1;                                                           \
            return;                                                                     \
        }                                                                               \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                              \
    CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))

#define CHECK_STR_CONTAINS(hay, needle)                                                 \
    CHECK_MSG((hay) && strstr((hay), (needle)), "'%s' does not contain '%s'", (hay) ? (hay) : "(null)", (needle))

#define CHECK_NEAR(a, b, rel)                                                           \
    CHECK_MSG(fabs((double)(a) - (double)(b)) <= (rel) * fmax(1e-30, fabs((double)(b))), \
              "%.10g vs %.10g (rel tol %g)", (double)(a), (double)(b), (double)(rel))

#define RUN(fn)                                                                         \
    do {                                                                                \
        test_failed_ = 0;                                                               \
        fn();                                                                           \
        printf("%s %s\n", test_failed_ ? "FAIL" : "PASS", #fn);                         \
        fflush(stdout);                                                                 \
        test_total_failed_ += test_failed_;                                             \
    } while (0)

#define TEST_EXIT() return test_total_failed_ ? 1 : 0

#endif

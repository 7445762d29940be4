/* Minimal assertion helpers shared by the C tests (not a public header). */
#ifndef RTPSYNTH_TESTUTIL_H
#define RTPSYNTH_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

static int tu_checks;

#define CHECK(cond) do { \
    tu_checks++; \
    if (!(cond)) { \
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        exit(1); \
    } \
} while (0)

#define CHECK_EQ(a, b) do { \
    long long tu_a = (long long)(a), tu_b = (long long)(b); \
    tu_checks++; \
    if (tu_a != tu_b) { \
        fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", \
            __FILE__, __LINE__, #a, tu_a, #b, tu_b); \
        exit(1); \
    } \
} while (0)

#define TEST_DONE(name) do { \
    printf("%s: %d checks passed\n", name, tu_checks); \
    return 0; \
} while (0)

/* Deterministic xorshift generator for reproducible random streams. */
static inline unsigned int tu_rand(unsigned long long *s) {
    unsigned long long x = *s;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    *s = x;
    return (unsigned int)(x >> 32);
}

#endif

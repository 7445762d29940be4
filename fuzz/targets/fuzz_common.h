/* Shared helpers for the libFuzzer harnesses (see docs/fuzzing.md). */
#ifndef RTPSYNTH_FUZZ_COMMON_H
#define RTPSYNTH_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An invariant violation is a finding: report and abort so libFuzzer saves
 * the input as a crash artifact. */
#define FZ_CHECK(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
        abort(); \
    } \
} while (0)

/* Consumes the fuzzer input front to back; past the end it yields zeros. */
struct fz_in {
    const uint8_t *p;
    size_t n;
};

static inline int fz_left(const struct fz_in *in) { return in->n > 0; }

static inline uint8_t fz_u8(struct fz_in *in) {
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t fz_u16(struct fz_in *in) {
    uint16_t v = fz_u8(in);
    return (uint16_t)(v << 8 | fz_u8(in));
}

static inline uint32_t fz_u32(struct fz_in *in) {
    uint32_t v = fz_u16(in);
    return v << 16 | fz_u16(in);
}

/* Up to `max` bytes (fewer at the end of the input). */
static inline size_t fz_bytes(struct fz_in *in, size_t max, const uint8_t **out) {
    size_t k = max < in->n ? max : in->n;
    *out = in->p;
    in->p += k;
    in->n -= k;
    return k;
}

#endif

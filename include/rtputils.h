/*
 * rtputils.h - audio helpers: G.711 (mu-law and A-law) companding and a
 * linear-interpolation resampler. The original librtpsynth 1.3.2 only had
 * these as the Python extension RtpUtils; this is the same code as a C API.
 *
 * rtpsynth-rs: a Rust implementation of librtpsynth. BSD-2-Clause.
 *
 * Exactness:
 *  - mu-law encode/decode are bit-exact with the original RtpUtils (bias
 *    0x84, magnitude clipped to 32635; 16-bit input used as is, so
 *    rtpu_linear2ulaw(0) == 0xff, rtpu_ulaw2linear(0x80) == 32124);
 *  - A-law is ITU-T G.711, bit-exact with the classic Sun g711.c reference
 *    (linear2alaw/alaw2linear: rtpu_linear2alaw(0) == 0xd5, -1 gives 0x55);
 *  - rtpu_resample_linear is bit-exact with the original's resample_linear.
 *
 * All functions are pure: no state, no allocation, callable from any
 * thread at any time. The buffer forms process n elements from `in` into
 * `out` (which must not overlap); they do nothing when n is 0 or either
 * pointer is NULL. They use lookup tables and run several times faster than
 * a loop over the scalar functions.
 */
#ifndef RTPSYNTH_RTPUTILS_H
#define RTPSYNTH_RTPUTILS_H
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* ssize_t */

#include "rtpsynth_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One 16-bit linear sample to a mu-law / A-law code word, and back. */
uint8_t rtpu_linear2ulaw(int16_t s);
int16_t rtpu_ulaw2linear(uint8_t u);
uint8_t rtpu_linear2alaw(int16_t s);
int16_t rtpu_alaw2linear(uint8_t a);

/* n samples in, n code words out (and the reverse). */
void rtpu_linear2ulaw_buf(const int16_t *in, size_t n, uint8_t *out);
void rtpu_ulaw2linear_buf(const uint8_t *in, size_t n, int16_t *out);
void rtpu_linear2alaw_buf(const int16_t *in, size_t n, uint8_t *out);
void rtpu_alaw2linear_buf(const uint8_t *in, size_t n, int16_t *out);

/*
 * Number of samples rtpu_resample_linear() produces for n_in input samples:
 * n_in when the rates are equal or n_in is 0, else
 * max(1, round_half_even(n_in * out_rate / in_rate)) computed in double
 * precision, as the original does.
 * Errors: -EINVAL when a rate is <= 0; -EOVERFLOW when the result does not
 * fit in ssize_t.
 */
ssize_t rtpu_resample_linear_len(size_t n_in, int in_rate, int out_rate);

/*
 * Resample n_in mono 16-bit samples from in_rate to out_rate (Hz, or any
 * unit as long as both rates use it) by linear interpolation, writing
 * rtpu_resample_linear_len(n_in, in_rate, out_rate) samples to out, which
 * has room for out_cap samples. Output sample i interpolates the input at
 * position i * in_rate / out_rate; positions at or past the last input
 * sample repeat it; values are rounded half to even and saturated to
 * 16 bits. Equal rates copy the input. No filtering is done, so
 * downsampling aliases (as in the original).
 * Returns the number of samples written, or:
 *  -EINVAL   a rate <= 0, in NULL with n_in > 0, out NULL with out_cap > 0,
 *            or a size beyond any possible buffer;
 *  -ENOBUFS  out_cap is smaller than the output length (nothing written);
 *  -EOVERFLOW the output length does not fit in ssize_t.
 * in and out must not overlap.
 */
ssize_t rtpu_resample_linear(const int16_t *in, size_t n_in, int in_rate,
    int out_rate, int16_t *out, size_t out_cap);

#ifdef __cplusplus
}
#endif

#endif /* RTPSYNTH_RTPUTILS_H */

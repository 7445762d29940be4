/*
 * bench_codec: throughput of the rtputils.h buffer functions against plain
 * per-sample loops, in the same run, on the same data:
 *  - G.711 buffer encode/decode vs (a) a loop calling the library's scalar
 *    function per sample and (b) a plain C loop computing the original's
 *    bit manipulation inline (mu-law: RtpUtils' linear2ulaw_scalar /
 *    ulaw2linear_scalar; A-law: Sun g711.c);
 *  - rtpu_resample_linear vs the original RtpUtils resample_linear
 *    algorithm as a plain C loop (round_half_even_ll per sample).
 * Each figure is the best of several timed repetitions (~0.2 s each).
 * Outputs are compared too: a mismatch is reported and exits 1.
 *
 *   usage: bench_codec [seconds per measurement, default 0.2]
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtputils.h"

#define N (1 << 20)
/* G.711 runs on a cache-resident buffer (8192 samples: 1 s at 8 kHz),
 * passed over REP times per measurement: on a 1M-sample buffer every
 * variant would just measure memory bandwidth. */
#define G (1 << 13)
#define REP 128

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile unsigned sink;
static double per_run = 0.2;

/* Best Msamples/s of fn over repetitions lasting per_run seconds in total. */
#define MEASURE(result, samples, body) do { \
    double best_ = 0, t_end_ = now() + per_run; \
    do { \
        double t0_ = now(); \
        body; \
        double dt_ = now() - t0_; \
        double r_ = (double)(samples) / dt_ / 1e6; \
        if (r_ > best_) best_ = r_; \
    } while (now() < t_end_); \
    (result) = best_; \
} while (0)

/* ---- plain C versions of the per-sample algorithms ---- */

static inline uint8_t c_linear2ulaw(long long sample) {
    int sign = sample < 0 ? 0x80 : 0, exponent = 7, mask = 0x4000;
    long long mag = sample < 0 ? -sample : sample;
    if (mag > 32635)
        mag = 32635;
    mag += 0x84;
    while (exponent > 0 && (mag & mask) == 0) {
        exponent--;
        mask >>= 1;
    }
    int mantissa = (int)((mag >> (exponent + 3)) & 0x0f);
    return (uint8_t)(~(sign | (exponent << 4) | mantissa) & 0xff);
}

static inline int16_t c_ulaw2linear(uint8_t u) {
    u = (uint8_t)~u;
    int exponent = (u >> 4) & 7, mantissa = u & 0x0f;
    int s = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    return (int16_t)((u & 0x80) ? -s : s);
}

static inline uint8_t c_linear2alaw(int16_t pcm) {
    static const short seg_aend[8] = {0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff};
    int v = pcm >> 3, mask, seg;
    if (v >= 0) {
        mask = 0xd5;
    } else {
        mask = 0x55;
        v = -v - 1;
    }
    for (seg = 0; seg < 8; seg++)
        if (v <= seg_aend[seg])
            break;
    if (seg >= 8)
        return (uint8_t)(0x7f ^ mask);
    int a = seg << 4;
    a |= seg < 2 ? (v >> 1) & 0xf : (v >> seg) & 0xf;
    return (uint8_t)(a ^ mask);
}

static inline int16_t c_alaw2linear(uint8_t a) {
    a ^= 0x55;
    int t = (a & 0x0f) << 4, seg = (a & 0x70) >> 4;
    switch (seg) {
    case 0: t += 8; break;
    case 1: t += 0x108; break;
    default: t += 0x108; t <<= seg - 1;
    }
    return (int16_t)((a & 0x80) ? t : -t);
}

static int floor_ll(double x, long long *out) {
    if (x > (double)LLONG_MAX || x < (double)LLONG_MIN)
        return -1;
    long long iv = (long long)x;
    if ((double)iv > x)
        iv -= 1;
    *out = iv;
    return 0;
}

static int round_half_even_ll(double x, long long *out) {
    long long fl;
    if (floor_ll(x, &fl) != 0)
        return -1;
    double frac = x - (double)fl;
    if (frac < 0.5) { *out = fl; return 0; }
    if (frac > 0.5) { if (fl == LLONG_MAX) return -1; *out = fl + 1; return 0; }
    if ((fl & 1LL) == 0) { *out = fl; return 0; }
    if (fl == LLONG_MAX) return -1;
    *out = fl + 1;
    return 0;
}

/* The original's resample_linear loop (minus the Python plumbing). */
static long c_resample(const int16_t *in, long n_in, int in_rate, int out_rate, int16_t *out) {
    long long n_out_ll;
    if (round_half_even_ll(((double)n_in * (double)out_rate) / (double)in_rate, &n_out_ll) != 0)
        return -1;
    if (n_out_ll < 1)
        n_out_ll = 1;
    long n_out = (long)n_out_ll;
    double ratio = (double)in_rate / (double)out_rate;
    for (long i = 0; i < n_out; i++) {
        double pos = (double)i * ratio;
        long idx = (long)pos;
        double frac = pos - (double)idx, sample;
        long long v;
        if (idx >= n_in - 1) {
            sample = (double)in[n_in - 1];
        } else {
            double s0 = (double)in[idx], s1 = (double)in[idx + 1];
            sample = s0 + (s1 - s0) * frac;
        }
        if (round_half_even_ll(sample, &v) != 0)
            return -1;
        out[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    return n_out;
}

static int failures;

static void row(const char *what, double lib, double scalar_call, double plain) {
    printf("%-28s %9.1f %12.1f %10.1f %9.1fx %8.1fx\n", what, lib, scalar_call, plain,
        lib / scalar_call, lib / plain);
}

int main(int argc, char **argv) {
    if (argc > 1)
        per_run = atof(argv[1]);
    int16_t *pcm = malloc(N * sizeof(int16_t));
    int16_t *pcm2 = malloc(N * 6 * sizeof(int16_t));
    int16_t *pcm3 = malloc(N * 6 * sizeof(int16_t));
    uint8_t *law = malloc(N), *law2 = malloc(N);
    if (!pcm || !pcm2 || !pcm3 || !law || !law2)
        return 1;
    unsigned long long s = 88172645463325252ULL;
    for (int i = 0; i < N; i++) {   /* speech-like level: a tone plus noise */
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        pcm[i] = (int16_t)(6000 * sin(i * 0.13) + (int)(s % 8001) - 4000);
    }
    for (int i = 0; i < N; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        law[i] = (uint8_t)s;
    }

    printf("bench_codec: G.711 on %d-sample buffers x %d, resampling %d input samples per pass;\n"
        "best pass over %.2f s per figure; Msamples/s\n", G, REP, N, per_run);
    printf("%-28s %9s %12s %10s %10s %9s\n", "operation", "library", "scalar-call", "plain-C", "vs call", "vs plain");
    double lib, call, plain;

    /* mu-law encode */
    MEASURE(lib, G * REP, for (int r = 0; r < REP; r++) rtpu_linear2ulaw_buf(pcm, G, law2));
    MEASURE(call, G * REP, for (int r = 0; r < REP; r++) for (int i = 0; i < G; i++) law2[i] = rtpu_linear2ulaw(pcm[i]));
    MEASURE(plain, G * REP, for (int r = 0; r < REP; r++) for (int i = 0; i < G; i++) law2[i] = c_linear2ulaw(pcm[i]));
    rtpu_linear2ulaw_buf(pcm, N, law2);
    for (int i = 0; i < N; i++)
        if (law2[i] != c_linear2ulaw(pcm[i])) { failures++; break; }
    row("linear2ulaw_buf", lib, call, plain);

    /* mu-law decode */
    MEASURE(lib, G * REP, for (int r = 0; r < REP; r++) rtpu_ulaw2linear_buf(law, G, pcm2));
    MEASURE(call, G * REP, for (int r = 0; r < REP; r++) for (int i = 0; i < G; i++) pcm2[i] = rtpu_ulaw2linear(law[i]));
    MEASURE(plain, G * REP, for (int r = 0; r < REP; r++) for (int i = 0; i < G; i++) pcm2[i] = c_ulaw2linear(law[i]));
    rtpu_ulaw2linear_buf(law, N, pcm2);
    for (int i = 0; i < N; i++)
        if (pcm2[i] != c_ulaw2linear(law[i])) { failures++; break; }
    row("ulaw2linear_buf", lib, call, plain);

    /* A-law encode */
    MEASURE(lib, G * REP, for (int r = 0; r < REP; r++) rtpu_linear2alaw_buf(pcm, G, law2));
    MEASURE(call, G * REP, for (int r = 0; r < REP; r++) for (int i = 0; i < G; i++) law2[i] = rtpu_linear2alaw(pcm[i]));
    MEASURE(plain, G * REP, for (int r = 0; r < REP; r++) for (int i = 0; i < G; i++) law2[i] = c_linear2alaw(pcm[i]));
    rtpu_linear2alaw_buf(pcm, N, law2);
    for (int i = 0; i < N; i++)
        if (law2[i] != c_linear2alaw(pcm[i])) { failures++; break; }
    row("linear2alaw_buf", lib, call, plain);

    /* A-law decode */
    MEASURE(lib, G * REP, for (int r = 0; r < REP; r++) rtpu_alaw2linear_buf(law, G, pcm2));
    MEASURE(call, G * REP, for (int r = 0; r < REP; r++) for (int i = 0; i < G; i++) pcm2[i] = rtpu_alaw2linear(law[i]));
    MEASURE(plain, G * REP, for (int r = 0; r < REP; r++) for (int i = 0; i < G; i++) pcm2[i] = c_alaw2linear(law[i]));
    rtpu_alaw2linear_buf(law, N, pcm2);
    for (int i = 0; i < N; i++)
        if (pcm2[i] != c_alaw2linear(law[i])) { failures++; break; }
    row("alaw2linear_buf", lib, call, plain);

    /* resampling: output samples per second */
    static const int pairs[][2] = {{48000, 8000}, {8000, 48000}, {44100, 16000}, {8000, 16000}};
    printf("\n%-28s %9s %12s %10s\n", "resample (out samples)", "library", "original-C", "speedup");
    for (int p = 0; p < 4; p++) {
        int a = pairs[p][0], b = pairs[p][1];
        ssize_t n_out = rtpu_resample_linear_len(N, a, b);
        double orig;
        MEASURE(lib, n_out, sink += (unsigned)rtpu_resample_linear(pcm, N, a, b, pcm2, (size_t)N * 6));
        MEASURE(orig, n_out, sink += (unsigned)c_resample(pcm, N, a, b, pcm3));
        if (c_resample(pcm, N, a, b, pcm3) != n_out ||
                rtpu_resample_linear(pcm, N, a, b, pcm2, (size_t)N * 6) != n_out ||
                memcmp(pcm2, pcm3, (size_t)n_out * sizeof(int16_t)) != 0)
            failures++;
        char name[64];
        snprintf(name, sizeof(name), "resample %d->%d", a, b);
        printf("%-28s %9.1f %12.1f %9.1fx\n", name, lib, orig, lib / orig);
    }
    sink += law2[7] + (unsigned)pcm2[9];
    if (failures)
        printf("MISMATCH: %d comparisons failed\n", failures);
    else
        printf("\nall library outputs identical to the plain-C versions\n");
    free(pcm); free(pcm2); free(pcm3); free(law); free(law2);
    return failures ? 1 : 0;
}

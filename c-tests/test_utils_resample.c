/*
 * rtpu_resample_linear against a plain C port of the original RtpUtils
 * resample_linear (python/RtpUtils_mod.c) written here: the cases of the
 * original's tests/test_utils.py, the rate pairs 48000->8000, 8000->48000,
 * 44100->16000 and others on tones and random data, and the error cases.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtputils.h"
#include "testutil.h"

/* -- reference: the original's algorithm ---------------------------------- */

static long long ref_round_half_even(double x) {
    long long fl = (long long)x;
    if ((double)fl > x)
        fl -= 1;
    double frac = x - (double)fl;
    if (frac < 0.5)
        return fl;
    if (frac > 0.5)
        return fl + 1;
    return (fl & 1LL) == 0 ? fl : fl + 1;
}

/* Returns the output length; out must be large enough. */
static size_t ref_resample(const int16_t *in, size_t n_in, int in_rate, int out_rate, int16_t *out) {
    if (in_rate == out_rate) {
        memcpy(out, in, n_in * sizeof(*in));
        return n_in;
    }
    if (n_in == 0)
        return 0;
    long long n_out = ref_round_half_even(((double)n_in * (double)out_rate) / (double)in_rate);
    if (n_out < 1)
        n_out = 1;
    double ratio = (double)in_rate / (double)out_rate;
    for (long long i = 0; i < n_out; i++) {
        double pos = (double)i * ratio;
        size_t idx = (size_t)pos;
        double frac = pos - (double)idx;
        double sample;
        if (idx >= n_in - 1) {
            sample = (double)in[n_in - 1];
        } else {
            double s0 = (double)in[idx];
            double s1 = (double)in[idx + 1];
            sample = s0 + (s1 - s0) * frac;
        }
        long long v = ref_round_half_even(sample);
        if (v > 32767)
            v = 32767;
        else if (v < -32768)
            v = -32768;
        out[i] = (int16_t)v;
    }
    return (size_t)n_out;
}

/* -- helpers ------------------------------------------------------------- */

static int16_t *out_buf, *ref_buf;
#define MAXN 200000

static void check_case(const int16_t *in, size_t n_in, int a, int b) {
    size_t want = ref_resample(in, n_in, a, b, ref_buf);
    CHECK_EQ(rtpu_resample_linear_len(n_in, a, b), want);
    out_buf[want] = 0x1234;                       /* guard */
    ssize_t got = rtpu_resample_linear(in, n_in, a, b, out_buf, want + 1);
    CHECK_EQ(got, want);
    CHECK_EQ(out_buf[want], 0x1234);
    for (size_t i = 0; i < want; i++) {
        if (out_buf[i] != ref_buf[i]) {
            fprintf(stderr, "%d->%d n_in=%zu: sample %zu is %d, want %d\n", a, b, n_in, i,
                out_buf[i], ref_buf[i]);
            CHECK(0);
        }
    }
    /* exactly the needed capacity works, one less is -ENOBUFS untouched */
    CHECK_EQ(rtpu_resample_linear(in, n_in, a, b, out_buf, want), want);
    if (want > 0) {
        out_buf[0] = (int16_t)~ref_buf[0];
        CHECK_EQ(rtpu_resample_linear(in, n_in, a, b, out_buf, want - 1), -ENOBUFS);
        CHECK_EQ(out_buf[0], (int16_t)~ref_buf[0]);
    }
}

int main(void) {
    out_buf = malloc((MAXN * 7 + 16) * sizeof(int16_t));
    ref_buf = malloc((MAXN * 7 + 16) * sizeof(int16_t));
    int16_t *in = malloc(MAXN * sizeof(int16_t));
    CHECK(out_buf != NULL && ref_buf != NULL && in != NULL);

    /* tests/test_utils.py */
    static const int16_t src[] = {0, 1000, -1000, 2000, -2000, 32767, -32768, 1234, -1234};
    static const int rates[][2] = {{8000, 8000}, {8000, 16000}, {16000, 8000}, {8000, 11025}};
    for (int r = 0; r < 4; r++)
        check_case(src, 9, rates[r][0], rates[r][1]);
    static const int16_t src2[] = {100, -200, 300, -400, 500, -600, 700};
    check_case(src2, 7, 8000, 16000);
    static const int16_t src3[] = {0, 1000, -1000};
    check_case(src3, 3, 8000, 16000);
    /* and by hand, so the reference port itself is pinned */
    static const int16_t want3[] = {0, 500, 1000, 0, -1000, -1000};
    CHECK_EQ(rtpu_resample_linear(src3, 3, 8000, 16000, out_buf, 16), 6);
    CHECK(memcmp(out_buf, want3, sizeof(want3)) == 0);
    static const int16_t half[] = {0, 1, 2, 3};     /* halves round to even */
    static const int16_t want_half[] = {0, 0, 1, 2, 2, 2, 3, 3};
    CHECK_EQ(rtpu_resample_linear(half, 4, 1, 2, out_buf, 16), 8);
    CHECK(memcmp(out_buf, want_half, sizeof(want_half)) == 0);

    /* the required rate pairs and more, on a tone and on random data */
    static const int pairs[][2] = {
        {48000, 8000}, {8000, 48000}, {44100, 16000}, {16000, 44100}, {44100, 48000},
        {48000, 44100}, {8000, 16000}, {16000, 8000}, {22050, 8000}, {8000, 11025},
        {32000, 24000}, {12000, 48000}, {1, 3}, {7, 5}, {3, 1},
    };
    unsigned long long seed = 0x2545F4914F6CDD1DULL;
    int under_vg = getenv("RTPSYNTH_UNDER_VALGRIND") != NULL;
    static const size_t lens[] = {0, 1, 2, 3, 5, 160, 441, 960, 4801, 48000, MAXN};
    for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
        for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
            size_t n = lens[l];
            if (under_vg && n > 48000)
                continue;
            for (size_t i = 0; i < n; i++)
                in[i] = (int16_t)(30000.0 * sin(2 * M_PI * 1000.0 * (double)i / pairs[p][0]));
            check_case(in, n, pairs[p][0], pairs[p][1]);
            for (size_t i = 0; i < n; i++)
                in[i] = (int16_t)tu_rand(&seed);
            check_case(in, n, pairs[p][0], pairs[p][1]);
        }
    }
    /* random rates and lengths */
    for (int k = 0; k < (under_vg ? 100 : 2000); k++) {
        int a = (int)(tu_rand(&seed) % 100000) + 1, b = (int)(tu_rand(&seed) % 100000) + 1;
        size_t n = tu_rand(&seed) % 3000;
        if ((double)n * b / a > MAXN * 6)
            continue;
        for (size_t i = 0; i < n; i++)
            in[i] = (int16_t)tu_rand(&seed);
        check_case(in, n, a, b);
    }

    /* lengths */
    CHECK_EQ(rtpu_resample_linear_len(0, 8000, 16000), 0);
    CHECK_EQ(rtpu_resample_linear_len(1, 48000, 8000), 1);     /* at least one */
    CHECK_EQ(rtpu_resample_linear_len(160, 8000, 48000), 960);
    CHECK_EQ(rtpu_resample_linear_len(960, 48000, 8000), 160);
    CHECK_EQ(rtpu_resample_linear_len(441, 44100, 16000), 160);
    CHECK_EQ(rtpu_resample_linear_len(3, 2, 1), 2);            /* 1.5 -> 2 */
    CHECK_EQ(rtpu_resample_linear_len(5, 2, 1), 2);            /* 2.5 -> 2 */
    CHECK_EQ(rtpu_resample_linear_len(12345, 16000, 16000), 12345);
    CHECK_EQ(rtpu_resample_linear_len(SIZE_MAX, 8000, 16000), -EOVERFLOW);
    CHECK_EQ(rtpu_resample_linear_len((size_t)SSIZE_MAX, 1, INT_MAX), -EOVERFLOW);

    /* errors */
    CHECK_EQ(rtpu_resample_linear_len(10, 0, 8000), -EINVAL);
    CHECK_EQ(rtpu_resample_linear_len(10, 8000, -8000), -EINVAL);
    CHECK_EQ(rtpu_resample_linear_len(0, -1, -1), -EINVAL);
    CHECK_EQ(rtpu_resample_linear(src, 9, 0, 8000, out_buf, 100), -EINVAL);
    CHECK_EQ(rtpu_resample_linear(src, 9, 8000, -1, out_buf, 100), -EINVAL);
    CHECK_EQ(rtpu_resample_linear(src, 9, INT_MIN, INT_MIN, out_buf, 100), -EINVAL);
    CHECK_EQ(rtpu_resample_linear(NULL, 9, 8000, 16000, out_buf, 100), -EINVAL);
    CHECK_EQ(rtpu_resample_linear(src, 9, 8000, 16000, NULL, 100), -EINVAL);
    CHECK_EQ(rtpu_resample_linear(src, 9, 8000, 16000, NULL, 0), -ENOBUFS);
    CHECK_EQ(rtpu_resample_linear(src, 9, 8000, 8000, out_buf, 8), -ENOBUFS);
    CHECK_EQ(rtpu_resample_linear(NULL, 0, 8000, 16000, NULL, 0), 0);
    CHECK_EQ(rtpu_resample_linear(src, SIZE_MAX, 8000, 16000, out_buf, 100), -EINVAL);
    CHECK(rtpu_resample_linear(src, 9, 8000, 16000, out_buf, SIZE_MAX) < 0);

    free(in);
    free(out_buf);
    free(ref_buf);
    TEST_DONE("test_utils_resample");
}

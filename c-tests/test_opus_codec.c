/*
 * rtpopus.h: round trip of a tone with an SNR floor, concealment and FEC
 * lengths, settings, and every kind of bad argument or corrupted packet
 * giving an error (never a crash).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtpopus.h"
#include "testutil.h"

#define MAXF 5760   /* 120 ms at 48 kHz */

static void tone(int16_t *pcm, int n, int ch, int rate, long start, double amp) {
    for (int i = 0; i < n; i++) {
        int16_t v = (int16_t)(amp * sin(2 * M_PI * 1000.0 * (double)(start + i) / rate));
        for (int c = 0; c < ch; c++)
            pcm[i * ch + c] = v;
    }
}

/* SNR (dB) of y against x, y delayed by the best delay in [0, maxd). */
static double snr_db(const int16_t *x, const int16_t *y, int n, int skip, int maxd) {
    int best_d = 0;
    double best = -1e300;
    for (int d = 0; d < maxd; d++) {
        double c = 0;
        for (int i = skip; i + d < n; i++)
            c += (double)x[i] * y[i + d];
        if (c > best) {
            best = c;
            best_d = d;
        }
    }
    double sig = 0, err = 0;
    for (int i = skip; i + best_d < n; i++) {
        double e = (double)x[i] - y[i + best_d];
        sig += (double)x[i] * x[i];
        err += e * e;
    }
    return 10 * log10(sig / (err + 1e-9));
}

static void round_trip(int rate, int ch, int app, int bitrate, double floor_db) {
    int err = 1;
    struct rtpopus_enc *e = rtpopus_enc_ctor(rate, ch, app, &err);
    CHECK(e != NULL);
    CHECK_EQ(err, 0);
    struct rtpopus_dec *d = rtpopus_dec_ctor(rate, ch, &err);
    CHECK(d != NULL);
    CHECK_EQ(err, 0);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_BITRATE, bitrate), 0);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_COMPLEXITY, 10), 0);
    int f = rate / 50, nframes = 50;
    int16_t *x = malloc(sizeof(int16_t) * f * nframes * ch);
    int16_t *y = malloc(sizeof(int16_t) * f * nframes * ch);
    int16_t *xm = malloc(sizeof(int16_t) * f * nframes);
    int16_t *ym = malloc(sizeof(int16_t) * f * nframes);
    CHECK(x && y && xm && ym);
    tone(x, f * nframes, ch, rate, 0, 10000);
    unsigned char pkt[RTPOPUS_MAX_PACKET];
    for (int k = 0; k < nframes; k++) {
        int n = rtpopus_encode(e, x + k * f * ch, f, pkt, sizeof(pkt));
        CHECK(n > 2 && n <= (int)sizeof(pkt));
        CHECK_EQ(rtpopus_decode(d, pkt, (size_t)n, y + k * f * ch, f, 0), f);
    }
    for (int i = 0; i < f * nframes; i++) {
        xm[i] = x[i * ch];
        ym[i] = y[i * ch];
        if (ch == 2)
            CHECK(abs(y[i * 2] - y[i * 2 + 1]) < 2000);   /* both channels carry it */
    }
    double snr = snr_db(xm, ym, f * nframes, f * 5, f);
    printf("round trip %d Hz x%d app %d %d b/s: SNR %.1f dB (floor %.0f)\n", rate, ch, app, bitrate, snr, floor_db);
    CHECK(snr >= floor_db);
    free(x);
    free(y);
    free(xm);
    free(ym);
    rtpopus_enc_dtor(e);
    rtpopus_dec_dtor(d);
}

static void check_conceal_lengths(void) {
    static int16_t pcm[2 * 48000 + 8];
    static const int rates[] = {8000, 12000, 16000, 24000, 48000};
    for (int r = 0; r < 5; r++) {
        for (int ch = 1; ch <= 2; ch++) {
            int rate = rates[r];
            struct rtpopus_dec *d = rtpopus_dec_ctor(rate, ch, NULL);
            CHECK(d != NULL);
            static const uint32_t spans[] = {960, 1920, 2880, 100, 37, 960 * 3 + 11, 24000, 48000, 0, 1};
            for (size_t s = 0; s < sizeof(spans) / sizeof(spans[0]); s++) {
                struct ers_frame ers = {.lseq_start = 5, .lseq_end = 6, .ts_diff = spans[s]};
                int want = (int)((uint64_t)spans[s] * (uint64_t)rate / 48000);
                for (int i = 0; i < (want + 4) * ch; i++)
                    pcm[i] = 0x7777;
                CHECK_EQ(rtpopus_conceal(d, &ers, pcm, want), want);
                for (int i = want * ch; i < (want + 4) * ch; i++)
                    CHECK_EQ(pcm[i], 0x7777);                 /* nothing past it */
                CHECK_EQ(rtpopus_conceal(d, &ers, pcm, want + 100), want);
                if (want > 0)
                    CHECK_EQ(rtpopus_conceal(d, &ers, pcm, want - 1), -ENOBUFS);
            }
            struct ers_frame huge = {.ts_diff = 0xffffffffu};
            CHECK_EQ(rtpopus_conceal(d, &huge, pcm, 48000), -ENOBUFS);
            CHECK_EQ(rtpopus_conceal(d, NULL, pcm, 960), -EINVAL);
            struct ers_frame one = {.ts_diff = 960};
            CHECK_EQ(rtpopus_conceal(d, &one, NULL, 960), -EINVAL);
            CHECK_EQ(rtpopus_conceal(d, &one, pcm, -1), -EINVAL);
            rtpopus_dec_dtor(d);
        }
    }
    struct ers_frame one = {.ts_diff = 960};
    CHECK_EQ(rtpopus_conceal(NULL, &one, pcm, 960), -EINVAL);
}

/* A stream with in-band FEC; packet 10 is lost and rebuilt from packet 11. */
static void check_fec(void) {
    const int rate = 16000, f = 320;
    struct rtpopus_enc *e = rtpopus_enc_ctor(rate, 1, RTPOPUS_APPLICATION_VOIP, NULL);
    struct rtpopus_dec *d = rtpopus_dec_ctor(rate, 1, NULL);
    CHECK(e != NULL && d != NULL);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_INBAND_FEC, 1), 0);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_PACKET_LOSS_PERC, 20), 0);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_BITRATE, 24000), 0);
    unsigned char pkts[20][RTPOPUS_MAX_PACKET];
    int lens[20];
    int16_t in[320], out[2 * 320];
    for (int k = 0; k < 20; k++) {
        tone(in, f, 1, rate, (long)k * f, 8000);
        lens[k] = rtpopus_encode(e, in, f, pkts[k], sizeof(pkts[k]));
        CHECK(lens[k] > 0);
    }
    for (int k = 0; k < 20; k++) {
        if (k == 10)
            continue;
        if (k == 11) {
            CHECK_EQ(rtpopus_decode(d, pkts[11], (size_t)lens[11], out, f, 1), f);
            /* FEC needs the lost span exactly, in 2.5 ms units */
        }
        CHECK_EQ(rtpopus_decode(d, pkts[k], (size_t)lens[k], out, 2 * f, 0), f);
    }
    /* FEC with a size that is not a multiple of 2.5 ms */
    CHECK_EQ(rtpopus_decode(d, pkts[5], (size_t)lens[5], out, 321, 1), -EINVAL);
    /* FEC with no packet: plain concealment */
    CHECK_EQ(rtpopus_decode(d, NULL, 0, out, f, 1), f);
    rtpopus_enc_dtor(e);
    rtpopus_dec_dtor(d);
}

static void check_bad_args(void) {
    int err = 0;
    static const int bad_rates[] = {0, -1, 44100, 22050, 96000, 7999};
    for (size_t i = 0; i < sizeof(bad_rates) / sizeof(bad_rates[0]); i++) {
        err = 0;
        CHECK(rtpopus_enc_ctor(bad_rates[i], 1, RTPOPUS_APPLICATION_AUDIO, &err) == NULL);
        CHECK_EQ(err, -EINVAL);
        err = 0;
        CHECK(rtpopus_dec_ctor(bad_rates[i], 1, &err) == NULL);
        CHECK_EQ(err, -EINVAL);
    }
    static const int bad_ch[] = {0, -1, 3, 255};
    for (size_t i = 0; i < sizeof(bad_ch) / sizeof(bad_ch[0]); i++) {
        err = 0;
        CHECK(rtpopus_enc_ctor(48000, bad_ch[i], RTPOPUS_APPLICATION_AUDIO, &err) == NULL);
        CHECK_EQ(err, -EINVAL);
        err = 0;
        CHECK(rtpopus_dec_ctor(48000, bad_ch[i], &err) == NULL);
        CHECK_EQ(err, -EINVAL);
    }
    err = 0;
    CHECK(rtpopus_enc_ctor(48000, 1, 2050, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpopus_enc_ctor(48000, 1, 0, NULL) == NULL);   /* err may be NULL */
    CHECK(rtpopus_dec_ctor(1, 1, NULL) == NULL);

    struct rtpopus_enc *e = rtpopus_enc_ctor(48000, 2, RTPOPUS_APPLICATION_RESTRICTED_LOWDELAY, NULL);
    CHECK(e != NULL);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_COMPLEXITY, 0), 0);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_COMPLEXITY, 11), -EINVAL);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_COMPLEXITY, -1), -EINVAL);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_PACKET_LOSS_PERC, 100), 0);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_PACKET_LOSS_PERC, 101), -EINVAL);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_BITRATE, -1000), 0);   /* auto */
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_BITRATE, -1), 0);      /* max */
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_BITRATE, 0), -EINVAL);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_DTX, 1), 0);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_DTX, 0), 0);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_DTX, 2), -EINVAL);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_INBAND_FEC, 0), 0);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_INBAND_FEC, -1), -EINVAL);
    CHECK_EQ(rtpopus_enc_set(e, 4003, 1), -EINVAL);          /* a GET request */
    CHECK_EQ(rtpopus_enc_set(e, 0, 1), -EINVAL);
    CHECK_EQ(rtpopus_enc_set(NULL, RTPOPUS_BITRATE, 32000), -EINVAL);

    static int16_t pcm[2 * MAXF + 2];
    unsigned char out[RTPOPUS_MAX_PACKET];
    CHECK_EQ(rtpopus_encode(e, pcm, 961, out, sizeof(out)), -EINVAL);
    CHECK_EQ(rtpopus_encode(e, pcm, 0, out, sizeof(out)), -EINVAL);
    CHECK_EQ(rtpopus_encode(e, pcm, -960, out, sizeof(out)), -EINVAL);
    CHECK_EQ(rtpopus_encode(e, pcm, MAXF + 1, out, sizeof(out)), -EINVAL);
    CHECK_EQ(rtpopus_encode(e, pcm, 2 * MAXF, out, sizeof(out)), -EINVAL);
    CHECK_EQ(rtpopus_encode(e, NULL, 960, out, sizeof(out)), -EINVAL);
    CHECK_EQ(rtpopus_encode(e, pcm, 960, NULL, sizeof(out)), -EINVAL);
    CHECK_EQ(rtpopus_encode(e, pcm, 960, out, 0), -ENOBUFS);
    CHECK_EQ(rtpopus_encode(NULL, pcm, 960, out, sizeof(out)), -EINVAL);
    static const int sizes[] = {120, 240, 480, 960, 1920, 2880, 3840, 4800, 5760};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        CHECK(rtpopus_encode(e, pcm, sizes[i], out, sizeof(out)) > 0);
    rtpopus_enc_dtor(e);
    rtpopus_enc_dtor(NULL);
    rtpopus_dec_dtor(NULL);
}

static void check_corrupted(void) {
    const int rate = 48000, f = 960;
    struct rtpopus_enc *e = rtpopus_enc_ctor(rate, 1, RTPOPUS_APPLICATION_AUDIO, NULL);
    struct rtpopus_dec *d = rtpopus_dec_ctor(rate, 1, NULL);
    CHECK(e != NULL && d != NULL);
    static int16_t pcm[MAXF * 2];
    unsigned char good[RTPOPUS_MAX_PACKET];
    tone(pcm, f, 1, rate, 0, 8000);
    int n = rtpopus_encode(e, pcm, f, good, sizeof(good));
    CHECK(n > 10);

    /* known-invalid packets */
    static const unsigned char code3_zero_frames[] = {0x03, 0x00};
    static const unsigned char code2_bad_len[] = {0x02, 0xfb, 1, 2};
    static const unsigned char code1_odd[] = {0x01, 1, 2, 3};       /* two equal frames need even rest */
    CHECK_EQ(rtpopus_decode(d, code3_zero_frames, 2, pcm, MAXF, 0), -EBADMSG);
    CHECK_EQ(rtpopus_decode(d, code2_bad_len, 4, pcm, MAXF, 0), -EBADMSG);
    CHECK_EQ(rtpopus_decode(d, code1_odd, 4, pcm, MAXF, 0), -EBADMSG);
    /* a 20 ms packet does not fit 10 ms of room */
    CHECK_EQ(rtpopus_decode(d, good, (size_t)n, pcm, 480, 0), -ENOBUFS);
    CHECK_EQ(rtpopus_decode(d, good, (size_t)n, pcm, f, 0), f);
    /* argument errors */
    CHECK_EQ(rtpopus_decode(NULL, good, (size_t)n, pcm, f, 0), -EINVAL);
    CHECK_EQ(rtpopus_decode(d, good, (size_t)n, NULL, f, 0), -EINVAL);
    CHECK_EQ(rtpopus_decode(d, good, (size_t)n, pcm, 0, 0), -EINVAL);
    CHECK_EQ(rtpopus_decode(d, good, (size_t)n, pcm, -5, 0), -EINVAL);
    CHECK_EQ(rtpopus_decode(d, good, (size_t)-1, pcm, f, 0), -EINVAL);
    /* lost packet: concealment of exactly the room given (2.5 ms units) */
    CHECK_EQ(rtpopus_decode(d, NULL, 0, pcm, f, 0), f);
    CHECK_EQ(rtpopus_decode(d, good, 0, pcm, 240, 0), 240);
    CHECK_EQ(rtpopus_decode(d, NULL, 0, pcm, 100, 0), -EINVAL);

    /* truncations, bit flips and random bytes: an error or audio, never a crash */
    unsigned long long seed = 42;
    unsigned char bad[RTPOPUS_MAX_PACKET];
    int ok = 0, errs = 0;
    int rounds = getenv("RTPSYNTH_UNDER_VALGRIND") ? 300 : 5000;
    for (int k = 0; k < rounds; k++) {
        size_t len;
        switch (k % 3) {
        case 0:                                              /* truncated */
            len = 1 + tu_rand(&seed) % (unsigned)n;
            memcpy(bad, good, len);
            break;
        case 1:                                              /* bit flips */
            len = (size_t)n;
            memcpy(bad, good, len);
            for (int b = 0; b < 4; b++)
                bad[tu_rand(&seed) % len] ^= (unsigned char)(1u << (tu_rand(&seed) % 8));
            break;
        default:                                             /* noise */
            len = 1 + tu_rand(&seed) % 1500;
            for (size_t i = 0; i < len; i++)
                bad[i] = (unsigned char)tu_rand(&seed);
        }
        int cap = (k & 1) ? MAXF : 960;
        int r = rtpopus_decode(d, bad, len, pcm, cap, k % 5 == 0);
        if (r >= 0) {
            CHECK(r <= cap);
            ok++;
        } else {
            CHECK(r == -EBADMSG || r == -ENOBUFS);
            errs++;
        }
    }
    printf("corrupted packets: %d decoded, %d rejected\n", ok, errs);
    CHECK(errs > 0);
    /* the decoder still works afterwards */
    CHECK_EQ(rtpopus_decode(d, good, (size_t)n, pcm, f, 0), f);
    const char *msg = rtpsynth_strerror(-EBADMSG);
    CHECK(msg != NULL && strcmp(msg, "unknown error") != 0);
    CHECK(strcmp(rtpsynth_strerror(-EPROTO), "unknown error") != 0);
    rtpopus_enc_dtor(e);
    rtpopus_dec_dtor(d);
}

int main(void) {
    round_trip(48000, 1, RTPOPUS_APPLICATION_AUDIO, 64000, 30.0);
    round_trip(48000, 2, RTPOPUS_APPLICATION_AUDIO, 96000, 30.0);
    round_trip(16000, 1, RTPOPUS_APPLICATION_VOIP, 32000, 15.0);
    round_trip(8000, 1, RTPOPUS_APPLICATION_VOIP, 24000, 15.0);
    check_conceal_lengths();
    check_fec();
    check_bad_args();
    check_corrupted();
    TEST_DONE("test_opus_codec");
}

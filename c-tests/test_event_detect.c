/*
 * In-band DTMF: the 16 digits at -20 dBm0 as 40 ms tones with 40 ms pauses
 * are all found (8, 16 and 48 kHz, fed in odd block sizes); nothing is found
 * in a minute of noise, nor in speech-like and music-like synthetic signals.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtpevent.h"
#include "testutil.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;
static double urand(void) { return (tu_rand(&rng) >> 8) / 16777216.0; }
static double gauss(void) {
    double s = 0;
    for (int i = 0; i < 12; i++)
        s += urand();
    return s - 6.0;
}
static double amp_dbm0(double dbm0) { return 32767.0 * pow(10.0, (dbm0 - 3.14) / 20.0); }
static int16_t clip(double v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)lrint(v); }

/* Run the detector over pcm in chunks of `chunk`; collect END events. */
static int detect(int rate, const int16_t *pcm, size_t n, size_t chunk, struct rtpev_det_event *ends,
                  int max, int *starts) {
    int err = 1;
    struct rtpev_det *d = rtpev_det_ctor(rate, &err);
    CHECK(d != NULL);
    CHECK_EQ(err, 0);
    int k = 0;
    *starts = 0;
    struct rtpev_det_event e;
    for (size_t off = 0; off <= n; off += chunk) {
        size_t m = n - off < chunk ? n - off : chunk;
        CHECK(rtpev_det_process(d, pcm + off, m) >= 0);
        if (off == n || m < chunk)
            CHECK(rtpev_det_flush(d) >= 0);
        while (rtpev_det_get(d, &e) == 1) {
            if (e.type == RTPEV_DET_START) {
                (*starts)++;
                CHECK_EQ(e.duration, 0);
            } else {
                CHECK_EQ(e.type, RTPEV_DET_END);
                CHECK(k < max);
                ends[k++] = e;
            }
        }
    }
    rtpev_det_dtor(d);
    return k;
}

static void all_digits(int rate, size_t chunk) {
    const size_t on = rate * 40 / 1000, off = rate * 40 / 1000;
    size_t n = off + 16 * (on + off);
    int16_t *pcm = calloc(n, sizeof(*pcm));
    CHECK(pcm != NULL);
    for (int d = 0; d < 16; d++) {
        int err = 1;
        struct rtpev_tone *t = rtpev_tone_ctor(d, rate, -20.0, -20.0, &err);
        CHECK(t != NULL);
        CHECK_EQ(err, 0);
        CHECK_EQ(rtpev_tone_fill(t, pcm + off + d * (on + off), on), (int)on);
        rtpev_tone_dtor(t);
    }
    struct rtpev_det_event ends[32];
    int starts;
    int k = detect(rate, pcm, n, chunk, ends, 32, &starts);
    CHECK_EQ(k, 16);
    CHECK_EQ(starts, 16);
    size_t blk = rate * 102 / 8000;
    for (int d = 0; d < 16; d++) {
        CHECK_EQ(ends[d].event, d);
        CHECK_EQ(ends[d].digit, "0123456789*#ABCD"[d]);
        uint64_t t0 = off + d * (on + off);
        CHECK(ends[d].at + blk > t0 && ends[d].at < t0 + blk);
        CHECK(ends[d].duration * 1000 / rate >= 25 && ends[d].duration * 1000 / rate <= 52);
    }
    free(pcm);
}

/* Vowel-like speech: pulse train (90-250 Hz) through two moving formants. */
static void speech_like(int16_t *out, size_t n, int rate) {
    static const double vowels[7][2] = {{730, 1090}, {270, 2290}, {660, 1720}, {300, 870},
                                        {530, 1840}, {640, 1190}, {490, 1350}};
    double ph = 0, y1 = 0, y2 = 0, z1 = 0, z2 = 0, f1 = 500, f2 = 1500, pitch = 120, peak = 1;
    double *v = malloc(n * sizeof(*v));
    CHECK(v != NULL);
    for (size_t i = 0; i < n; i++) {
        if (i % (rate / 5) == 0) {
            int k = (int)(urand() * 7) % 7;
            f1 = vowels[k][0];
            f2 = vowels[k][1];
            pitch = 90 + 160 * urand();
        }
        ph += pitch / rate;
        double src = 0.02 * gauss();
        if (ph >= 1) {
            ph -= 1;
            src += 1;
        }
        double r1 = exp(-M_PI * 80 / rate), r2 = exp(-M_PI * 100 / rate);
        double y = src + 2 * r1 * cos(2 * M_PI * f1 / rate) * y1 - r1 * r1 * y2;
        y2 = y1;
        y1 = y;
        double z = y + 2 * r2 * cos(2 * M_PI * f2 / rate) * z1 - r2 * r2 * z2;
        z2 = z1;
        z1 = z;
        v[i] = z;
        if (fabs(z) > peak)
            peak = fabs(z);
    }
    for (size_t i = 0; i < n; i++)
        out[i] = clip(v[i] / peak * 20000);
    free(v);
}

/* Music-like: chords of 3 notes with 4 harmonics each, some next to the DTMF
 * frequencies (F5 698, A#5 932, D#6 1245, E6 1319, F#6 1480 Hz), vibrato. */
static void music_like(int16_t *out, size_t n, int rate) {
    double notes[3] = {0}, ph[3][4] = {{0}};
    size_t note_len = rate / 4;
    for (size_t i = 0; i < n; i++) {
        if (i % note_len == 0)
            for (int k = 0; k < 3; k++)
                notes[k] = 440 * pow(2, (5 + floor(urand() * 24)) / 12.0) * (k == 2 ? 0.5 : 1);
        double t = (double)(i % note_len) / rate, env = exp(-3 * t);
        double vib = 1 + 0.003 * sin(2 * M_PI * 5.5 * i / rate), v = 0;
        for (int k = 0; k < 3; k++)
            for (int h = 0; h < 4; h++) {
                double fh = notes[k] * (h + 1) * vib;
                if (fh < rate / 2.0) {
                    ph[k][h] += 2 * M_PI * fh / rate;
                    v += env * sin(ph[k][h]) / (h + 1);
                }
            }
        out[i] = clip(v * 5000);
    }
}

int main(void) {
    all_digits(8000, 160);
    all_digits(8000, 7);
    all_digits(16000, 333);
    all_digits(48000, 960);

    struct rtpev_det_event ends[8];
    int starts;
    size_t secs = tu_scaled(60, 6);
    size_t n = 8000 * secs;
    int16_t *pcm = malloc(n * sizeof(*pcm));
    CHECK(pcm != NULL);

    /* a minute of white noise at -40, -20 and -6 dBm0 */
    static const double levels[] = {-40, -20, -6};
    for (int l = 0; l < 3; l++) {
        double sigma = amp_dbm0(levels[l]) / sqrt(2);
        for (size_t i = 0; i < n; i++)
            pcm[i] = clip(sigma * gauss());
        CHECK_EQ(detect(8000, pcm, n, 160, ends, 8, &starts), 0);
        CHECK_EQ(starts, 0);
    }
    /* speech- and music-like signals */
    size_t m = 8000 * tu_scaled(30, 5);
    speech_like(pcm, m, 8000);
    CHECK_EQ(detect(8000, pcm, m, 160, ends, 8, &starts), 0);
    music_like(pcm, m, 8000);
    CHECK_EQ(detect(8000, pcm, m, 160, ends, 8, &starts), 0);
    /* the same music with a digit in it: only that digit */
    struct rtpev_tone *t = rtpev_tone_ctor(7, 8000, -10, -8, NULL);
    CHECK(t != NULL);
    int16_t tone[800];
    CHECK_EQ(rtpev_tone_fill(t, tone, 800), 800);
    for (int i = 0; i < 800; i++)
        pcm[m / 2 + i] = tone[i]; /* 100 ms replacing the music half-way */
    CHECK_EQ(detect(8000, pcm, m, 160, ends, 8, &starts), 1);
    CHECK_EQ(ends[0].digit, '7');
    rtpev_tone_dtor(t);
    free(pcm);

    /* bad arguments */
    int err = 0;
    CHECK(rtpev_det_ctor(7999, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpev_det_ctor(48001, NULL) == NULL);
    CHECK(rtpev_tone_ctor(16, 8000, -10, -10, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpev_tone_ctor(1, 8000, 0, 0, &err) == NULL); /* does not fit 16 bits */
    CHECK(rtpev_tone_ctor(1, 3999, -10, -10, &err) == NULL);
    CHECK(rtpev_tone_ctor(1, 8000, NAN, -10, &err) == NULL);
    struct rtpev_det *d = rtpev_det_ctor(8000, NULL);
    struct rtpev_det_event e;
    CHECK_EQ(rtpev_det_process(NULL, tone, 1), -EINVAL);
    CHECK_EQ(rtpev_det_process(d, NULL, 1), -EINVAL);
    CHECK_EQ(rtpev_det_process(d, NULL, 0), 0);
    CHECK_EQ(rtpev_det_flush(NULL), -EINVAL);
    CHECK_EQ(rtpev_det_get(NULL, &e), -EINVAL);
    CHECK_EQ(rtpev_det_get(d, NULL), -EINVAL);
    CHECK_EQ(rtpev_det_get(d, &e), 0);
    CHECK_EQ(rtpev_tone_fill(NULL, tone, 1), -EINVAL);
    rtpev_det_dtor(d);
    rtpev_det_dtor(NULL);
    rtpev_tone_dtor(NULL);
    TEST_DONE("test_event_detect");
}

/*
 * bench_playout: cost of rtpplay_put + rtpplay_get per packet through the
 * public ABI, for a 20 ms stream with Gaussian jitter (sigma 10 ms) and 2 %
 * loss, adaptive delay, times explicit (no sleeping: the stream runs as fast
 * as the buffer goes). G.711 (PCMU, PCMA) and L16 include decoding,
 * concealment and time-stretching; Opus is timed with its decoding too, and
 * without it (its put+get minus a plain rtpopus_decode of the same packets)
 * for comparison. Packets are prepared beforehand; one put and one get per
 * packet. Reports the best of several runs, in thread CPU time.
 *
 *   usage: bench_playout [packets per run, default 200000]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtpopus.h"
#include "rtpplay.h"
#include "rtputils.h"

/* Thread CPU time: on a shared, loaded machine wall time mostly measures
 * the other processes; CPU time counts only this thread's running. */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static unsigned long long rng = 88172645463325252ULL;
static double uni(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static double gauss(void) {
    double u1 = uni() + 1e-12, u2 = uni();
    return sqrt(-2 * log(u1)) * cos(2 * 3.14159265358979 * u2);
}

struct pkt { uint64_t at; size_t len; unsigned char b[1500]; };

static int cmp_at(const void *a, const void *b) {
    const struct pkt *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* n packets of codec, jittered, sorted by arrival. */
static struct pkt *make(int codec, int n, int *count) {
    struct pkt *v = calloc((size_t)n, sizeof(*v));
    struct rtpopus_enc *e = NULL;
    if (codec == RTPPLAY_CODEC_OPUS)
        e = rtpopus_enc_ctor(48000, 1, RTPOPUS_APPLICATION_VOIP, NULL);
    int m = 0, spp = codec == RTPPLAY_CODEC_OPUS ? 960 : 160;
    int16_t pcm[960];
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < spp; i++)
            pcm[i] = (int16_t)(8000 * sin(2 * 3.14159265358979 * 200.0 * (k * spp + i) / (spp * 50.0)));
        if (uni() < 0.02)
            continue;
        struct pkt *p = &v[m++];
        unsigned char *b = p->b;
        uint32_t ts = (uint32_t)(k * spp);
        b[0] = 0x80; b[1] = codec == RTPPLAY_CODEC_PCMA ? 8 : codec == RTPPLAY_CODEC_OPUS ? 111 : 0;
        b[2] = (unsigned char)(k >> 8); b[3] = (unsigned char)k;
        b[4] = (unsigned char)(ts >> 24); b[5] = (unsigned char)(ts >> 16);
        b[6] = (unsigned char)(ts >> 8); b[7] = (unsigned char)ts;
        b[8] = 1; b[9] = 2; b[10] = 3; b[11] = 4;
        if (codec == RTPPLAY_CODEC_PCMU) {
            rtpu_linear2ulaw_buf(pcm, 160, b + 12);
            p->len = 172;
        } else if (codec == RTPPLAY_CODEC_PCMA) {
            rtpu_linear2alaw_buf(pcm, 160, b + 12);
            p->len = 172;
        } else if (codec == RTPPLAY_CODEC_L16) {
            for (int i = 0; i < 160; i++) {
                b[12 + 2 * i] = (unsigned char)((uint16_t)pcm[i] >> 8);
                b[13 + 2 * i] = (unsigned char)pcm[i];
            }
            p->len = 12 + 320;
        } else {
            p->len = 12 + (size_t)rtpopus_encode(e, pcm, 960, b + 12, 1400);
        }
        double d = 40 + 10 * gauss();
        p->at = 1000000000ULL + (uint64_t)k * 20000000ULL + (uint64_t)((d < 1 ? 1 : d) * 1e6);
    }
    if (e)
        rtpopus_enc_dtor(e);
    qsort(v, (size_t)m, sizeof(*v), cmp_at);
    *count = m;
    return v;
}

/* ns per packet (one put + one get) over the whole stream, best of runs. */
static double run(int codec, const struct pkt *v, int m, int n, int runs, long long *played) {
    double best = 1e30;
    int16_t out[960];
    for (int r = 0; r < runs; r++) {
        struct rtpplay_cfg c;
        rtpplay_cfg_init(&c, codec);
        struct rtpplay *p = rtpplay_ctor(&c, NULL);
        int i = 0;
        double t0 = now_s();
        for (int k = 0; k < n; k++) {
            uint64_t now = 1000000000ULL + (uint64_t)k * 20000000ULL;
            while (i < m && v[i].at <= now) {
                rtpplay_put(p, v[i].b, v[i].len, v[i].at);
                i++;
            }
            rtpplay_get(p, now, out, 960);
        }
        double dt = now_s() - t0;
        struct rtpplay_stats st = { .size = sizeof(st) };
        rtpplay_stats(p, &st);
        *played = (long long)st.played;
        rtpplay_dtor(p);
        if (dt / n * 1e9 < best)
            best = dt / n * 1e9;
    }
    return best;
}

/* ns per packet of decoding the same Opus packets plainly. */
static double opus_decode_only(const struct pkt *v, int m, int runs) {
    double best = 1e30;
    int16_t out[960];
    for (int r = 0; r < runs; r++) {
        struct rtpopus_dec *d = rtpopus_dec_ctor(48000, 1, NULL);
        double t0 = now_s();
        for (int i = 0; i < m; i++)
            rtpopus_decode(d, v[i].b + 12, v[i].len - 12, out, 960, 0);
        double dt = now_s() - t0;
        rtpopus_dec_dtor(d);
        if (dt / m * 1e9 < best)
            best = dt / m * 1e9;
    }
    return best;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    if (n < 1000)
        n = 1000;
    printf("bench_playout: %d packets of 20 ms per run, jitter sigma 10 ms, 2 %% loss, adaptive 0..500 ms"
           " (thread CPU time, best of runs)\n", n);
    static const struct { int codec; const char *name; } cs[] = {
        { RTPPLAY_CODEC_PCMU, "PCMU" }, { RTPPLAY_CODEC_PCMA, "PCMA" }, { RTPPLAY_CODEC_L16, "L16 8k" } };
    for (size_t j = 0; j < sizeof(cs) / sizeof(cs[0]); j++) {
        int m;
        struct pkt *v = make(cs[j].codec, n, &m);
        long long played;
        double ns = run(cs[j].codec, v, m, n, 5, &played);
        printf("  %-7s put+get %7.0f ns per packet (%lld of %d packets played)\n", cs[j].name, ns, played, m);
        free(v);
    }
    int on = n / 10, m;
    struct pkt *v = make(RTPPLAY_CODEC_OPUS, on, &m);
    long long played;
    double ns = run(RTPPLAY_CODEC_OPUS, v, m, on, 3, &played);
    double dec = opus_decode_only(v, m, 3);
    printf("  %-7s put+get %7.0f ns per packet with decoding (%lld of %d played); "
           "plain rtpopus_decode %0.f ns; difference %0.f ns\n", "Opus", ns, played, m, dec, ns - dec);
    free(v);
    return 0;
}

/*
 * rtpplay.h through the public ABI: argument checking, a PCMU stream played
 * bit-exactly at a steady delay, copy-on-put, losses concealed, duplicates,
 * other payload types, a new SSRC restarting the stream without losing its
 * first packets, statistics and played-packet records. All times explicit.
 */
#include <math.h>

#include "rtpplay.h"
#include "rtputils.h"
#include "testutil.h"

#define MS 1000000ULL
#define SPP 160

static int16_t signal_at(uint64_t i) {
    return (int16_t)(8000.0 * sin(2.0 * 3.14159265358979 * 300.0 * (double)i / 8000.0)
        + 3000.0 * sin(2.0 * 3.14159265358979 * 1130.0 * (double)i / 8000.0));
}

/* PCMU packet k of a stream (seq0 + k, ts0 + 160 k) carrying signal samples
 * from base + 160 k. */
static size_t mkpkt(unsigned char *p, uint32_t ssrc, uint16_t seq, uint32_t ts, int marker,
    int pt, uint64_t base) {
    p[0] = 0x80;
    p[1] = (unsigned char)((marker ? 0x80 : 0) | pt);
    p[2] = (unsigned char)(seq >> 8); p[3] = (unsigned char)seq;
    p[4] = (unsigned char)(ts >> 24); p[5] = (unsigned char)(ts >> 16);
    p[6] = (unsigned char)(ts >> 8); p[7] = (unsigned char)ts;
    p[8] = (unsigned char)(ssrc >> 24); p[9] = (unsigned char)(ssrc >> 16);
    p[10] = (unsigned char)(ssrc >> 8); p[11] = (unsigned char)ssrc;
    int16_t pcm[SPP];
    for (int i = 0; i < SPP; i++)
        pcm[i] = signal_at(base + (uint64_t)i);
    rtpu_linear2ulaw_buf(pcm, SPP, p + 12);
    return 12 + SPP;
}

static void bad_arguments(void) {
    struct rtpplay_cfg c;
    int err = 0;
    CHECK_EQ(rtpplay_cfg_init(NULL, RTPPLAY_CODEC_PCMU), -EINVAL);
    CHECK_EQ(rtpplay_cfg_init(&c, RTPPLAY_CODEC_PCMU), 0);
    CHECK_EQ(c.size, sizeof(c));
    CHECK_EQ(c.frame_ms, 20);
    CHECK_EQ(c.max_ms, 500);
    CHECK(rtpplay_ctor(NULL, &err) == NULL && err == -EINVAL);
    CHECK(rtpplay_ctor(NULL, NULL) == NULL);
    struct rtpplay_cfg b = c;
    b.codec = 99;
    CHECK(rtpplay_ctor(&b, &err) == NULL && err == -EINVAL);
    b = c; b.pt = 128;
    CHECK(rtpplay_ctor(&b, &err) == NULL && err == -EINVAL);
    b = c; b.min_ms = 600;
    CHECK(rtpplay_ctor(&b, &err) == NULL && err == -EINVAL);
    b = c; b.size = 8;
    CHECK(rtpplay_ctor(&b, &err) == NULL && err == -EINVAL);
    b = c; b.frame_ms = 121;
    CHECK(rtpplay_ctor(&b, &err) == NULL && err == -EINVAL);
    b = c; b.rate = 16000; /* G.711 is 8 kHz */
    CHECK(rtpplay_ctor(&b, &err) == NULL && err == -EINVAL);
    b = c; b.codec = RTPPLAY_CODEC_OPUS; b.rate = 44100;
    CHECK(rtpplay_ctor(&b, &err) == NULL && err == -EINVAL);
    b = c; b.flags = 0x80;
    CHECK(rtpplay_ctor(&b, &err) == NULL && err == -EINVAL);

    int16_t pcm[SPP];
    unsigned char pkt[200];
    struct rtpplay_stats st = { .size = sizeof(st) };
    struct rtpplay_played rec;
    double m[4];
    CHECK_EQ(rtpplay_put(NULL, pkt, 10, 0), -EINVAL);
    CHECK_EQ(rtpplay_get(NULL, 0, pcm, SPP), -EINVAL);
    CHECK_EQ(rtpplay_frame_len(NULL), -EINVAL);
    CHECK_EQ(rtpplay_rate(NULL), -EINVAL);
    CHECK_EQ(rtpplay_stats(NULL, &st), -EINVAL);
    CHECK_EQ(rtpplay_delay_by_minute(NULL, m, 4), -EINVAL);
    CHECK_EQ(rtpplay_next_played(NULL, &rec), -EINVAL);
    CHECK_EQ(rtpplay_reset(NULL), -EINVAL);
    rtpplay_dtor(NULL);

    struct rtpplay *p = rtpplay_ctor(&c, &err);
    CHECK(p != NULL && err == 0);
    CHECK_EQ(rtpplay_frame_len(p), SPP);
    CHECK_EQ(rtpplay_rate(p), 8000);
    CHECK_EQ(rtpplay_put(p, NULL, 10, 0), -EINVAL);
    CHECK_EQ(rtpplay_put(p, pkt, 0, 0), -EBADMSG);
    memset(pkt, 0, sizeof(pkt));
    CHECK_EQ(rtpplay_put(p, pkt, 20, 0), -EBADMSG); /* version 0 */
    CHECK_EQ(rtpplay_get(p, 0, NULL, SPP), -EINVAL);
    CHECK_EQ(rtpplay_get(p, 0, pcm, SPP - 1), -ENOBUFS);
    CHECK_EQ(rtpplay_get(p, 0, pcm, SPP), RTPPLAY_WAITING);
    CHECK_EQ(rtpplay_stats(p, NULL), -EINVAL);
    st.size = 4;
    CHECK_EQ(rtpplay_stats(p, &st), -EINVAL);
    CHECK_EQ(rtpplay_delay_by_minute(p, NULL, 1), -EINVAL);
    CHECK_EQ(rtpplay_delay_by_minute(p, NULL, 0), 0);
    CHECK_EQ(rtpplay_next_played(p, NULL), -EINVAL);
    CHECK_EQ(rtpplay_next_played(p, &rec), 0);
    rtpplay_dtor(p);
}

/* A steady stream with a constant 30 ms network delay: after the start the
 * output is the decoded input exactly, in order, at a constant offset. */
static void steady_stream_is_bit_exact(void) {
    struct rtpplay_cfg c;
    rtpplay_cfg_init(&c, RTPPLAY_CODEC_PCMU);
    c.pt = 0;
    struct rtpplay *p = rtpplay_ctor(&c, NULL);
    CHECK(p != NULL);
    unsigned char pkt[200];
    int16_t out[SPP];
    const int n = (int)tu_scaled(1500, 300);
    int16_t *heard = calloc((size_t)(n + 10) * SPP, sizeof(int16_t));
    CHECK(heard != NULL);
    uint64_t t0 = 5000 * MS;
    int k = 0, frames = 0, playing = 0;
    for (uint64_t now = t0; frames < n + 10; now += 20 * MS, frames++) {
        while (k < n && t0 + (uint64_t)k * 20 * MS + 30 * MS <= now) {
            size_t len = mkpkt(pkt, 0x1234, (uint16_t)(65500 + k), 0xfffff000u + 160u * (uint32_t)k,
                k == 0, 0, (uint64_t)k * SPP);
            CHECK_EQ(rtpplay_put(p, pkt, len, t0 + (uint64_t)k * 20 * MS + 30 * MS), RTPPLAY_STORED);
            memset(pkt, 0x55, sizeof(pkt)); /* the buffer copied it */
            k++;
        }
        int r = rtpplay_get(p, now, out, SPP);
        CHECK(r >= 0);
        if (frames < n) /* after the last packet: concealment, then a pause */
            CHECK((r & RTPPLAY_CONCEALED) == 0);
        if (r & RTPPLAY_PLAYING)
            playing++;
        memcpy(heard + (size_t)frames * SPP, out, sizeof(out));
    }
    CHECK(playing >= n);
    /* find the first sample of the stream and compare everything after it */
    int16_t first[SPP];
    unsigned char enc[SPP];
    for (int i = 0; i < SPP; i++)
        first[i] = signal_at((uint64_t)i);
    rtpu_linear2ulaw_buf(first, SPP, enc);
    rtpu_ulaw2linear_buf(enc, SPP, first);
    size_t start = 0;
    while (start < (size_t)frames * SPP && memcmp(heard + start, first, sizeof(first)) != 0)
        start++;
    CHECK(start < 3 * SPP);
    for (int j = 0; j < n; j++) {
        int16_t want[SPP];
        for (int i = 0; i < SPP; i++)
            want[i] = signal_at((uint64_t)j * SPP + (uint64_t)i);
        rtpu_linear2ulaw_buf(want, SPP, enc);
        rtpu_ulaw2linear_buf(enc, SPP, want);
        CHECK(memcmp(heard + start + (size_t)j * SPP, want, sizeof(want)) == 0);
    }
    struct rtpplay_stats st = { .size = sizeof(st) };
    CHECK_EQ(rtpplay_stats(p, &st), 0);
    CHECK_EQ(st.size, sizeof(st));
    CHECK_EQ(st.received, n);
    CHECK_EQ(st.played, n);
    CHECK_EQ(st.late, 0);
    CHECK_EQ(st.concealed_frames, 12); /* 120 ms after the end, then the pause */
    CHECK_EQ(st.pauses, 1);
    CHECK_EQ(st.delay_count, n);
    /* arrival to playout of the first sample: packets arrive 10 ms after a
     * get (30 ms network delay, gets every 20 ms), so each waits 10 ms */
    CHECK(st.mean_delay_ns > 9.5e6 && st.mean_delay_ns < 10.5e6);
    CHECK(st.p95_delay_ns < 11e6);
    double m[4];
    CHECK(rtpplay_delay_by_minute(p, m, 4) >= 1);
    CHECK(m[0] > 9.5 && m[0] < 10.5);
    struct rtpplay_played rec;
    int recs = 0;
    while (rtpplay_next_played(p, &rec) == 1) {
        CHECK(rec.playout_ns >= rec.arrival_ns);
        recs++;
    }
    CHECK_EQ(recs, n < 256 ? n : 256);
    free(heard);
    rtpplay_dtor(p);
}

/* Losses are concealed; duplicates, other payload types and empty packets
 * are classified; a new SSRC restarts the stream and its first packet plays. */
static void losses_duplicates_and_ssrc_change(void) {
    struct rtpplay_cfg c;
    rtpplay_cfg_init(&c, RTPPLAY_CODEC_PCMU);
    c.pt = 0;
    struct rtpplay *p = rtpplay_ctor(&c, NULL);
    CHECK(p != NULL);
    unsigned char pkt[200];
    int16_t out[SPP];
    uint64_t t0 = 1000 * MS;
    int k = 0, concealed = 0, lost = 0;
    const int n = 400;
    for (uint64_t now = t0; k < n || now < t0 + (uint64_t)(n + 20) * 20 * MS; now += 20 * MS) {
        while (k < n && t0 + (uint64_t)k * 20 * MS + 20 * MS <= now) {
            int half = k >= n / 2; /* second half: another SSRC, seq and ts */
            uint32_t ssrc = half ? 0xbeef : 0x1234;
            uint16_t seq = (uint16_t)(half ? 7 + k : 100 + k);
            uint32_t ts = half ? 99999u + 160u * (uint32_t)k : 160u * (uint32_t)k;
            size_t len = mkpkt(pkt, ssrc, seq, ts, k == 0 || k == n / 2, 0, (uint64_t)k * SPP);
            uint64_t at = t0 + (uint64_t)k * 20 * MS + 20 * MS;
            if (k % 37 == 5 && !half) {
                lost++; /* lost in the network */
            } else {
                int r = rtpplay_put(p, pkt, len, at);
                CHECK(r == RTPPLAY_STORED || (k == n / 2 && r == RTPPLAY_CANDIDATE));
                if (k % 50 == 7)
                    CHECK_EQ(rtpplay_put(p, pkt, len, at), RTPPLAY_DUPLICATE);
            }
            pkt[1] = 8; /* PCMA: not ours */
            CHECK_EQ(rtpplay_put(p, pkt, len, at), RTPPLAY_OTHER_PT);
            pkt[1] = 0;
            CHECK_EQ(rtpplay_put(p, pkt, 12, at), RTPPLAY_EMPTY);
            k++;
        }
        int r = rtpplay_get(p, now, out, SPP);
        CHECK(r >= 0);
        if (r & RTPPLAY_CONCEALED)
            concealed++;
    }
    struct rtpplay_stats st = { .size = sizeof(st) };
    CHECK_EQ(rtpplay_stats(p, &st), 0);
    CHECK_EQ(st.received, n - lost + (n + 49) / 50);
    CHECK_EQ(st.duplicates, (n + 49) / 50);
    CHECK_EQ(st.resets, 1);
    CHECK_EQ(st.played, n - lost);  /* both streams, every packet that arrived */
    CHECK_EQ(st.late, 0);
    CHECK(concealed >= lost);
    CHECK(st.concealed_frames >= 2 * (uint64_t)lost);
    /* a smaller stats struct is filled up to its size */
    struct { size_t size; uint64_t received; } small = { sizeof(small), 0 };
    CHECK_EQ(rtpplay_stats(p, (struct rtpplay_stats *)&small), 0);
    CHECK_EQ(small.received, st.received);
    CHECK_EQ(rtpplay_reset(p), 0);
    CHECK_EQ(rtpplay_get(p, t0 + 100000 * MS, out, SPP), RTPPLAY_WAITING);
    rtpplay_dtor(p);
}

int main(void) {
    bad_arguments();
    steady_stream_is_bit_exact();
    losses_duplicates_and_ssrc_change();
    TEST_DONE("test_playout_basic");
}

/*
 * rtpplay.h with Opus: a 20 ms stream encoded with in-band FEC, one packet
 * lost while the next is already buffered (rebuilt from FEC), a burst loss
 * (PLC), a pause of 1 s (suspended, then resumed at a talkspurt), and a
 * 16 kHz output rate. Explicit times throughout.
 */
#include <math.h>

#include "rtpopus.h"
#include "rtpplay.h"
#include "testutil.h"

#define MS 1000000ULL

static size_t mkpkt(unsigned char *p, struct rtpopus_enc *e, int k, uint16_t seq, uint32_t ts,
    int marker) {
    int16_t pcm[960];
    for (int i = 0; i < 960; i++)
        pcm[i] = (int16_t)(6000.0 * sin(2.0 * 3.14159265358979 * 220.0 * (double)(k * 960 + i) / 48000.0));
    p[0] = 0x80;
    p[1] = (unsigned char)((marker ? 0x80 : 0) | 111);
    p[2] = (unsigned char)(seq >> 8); p[3] = (unsigned char)seq;
    p[4] = (unsigned char)(ts >> 24); p[5] = (unsigned char)(ts >> 16);
    p[6] = (unsigned char)(ts >> 8); p[7] = (unsigned char)ts;
    p[8] = 1; p[9] = 2; p[10] = 3; p[11] = 4;
    int n = rtpopus_encode(e, pcm, 960, p + 12, 1400);
    CHECK(n > 0);
    return 12 + (size_t)n;
}

static void run(int out_rate) {
    int err = 0;
    struct rtpopus_enc *e = rtpopus_enc_ctor(48000, 1, RTPOPUS_APPLICATION_VOIP, &err);
    CHECK(e != NULL);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_INBAND_FEC, 1), 0);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_PACKET_LOSS_PERC, 20), 0);
    CHECK_EQ(rtpopus_enc_set(e, RTPOPUS_BITRATE, 32000), 0);
    struct rtpplay_cfg c;
    rtpplay_cfg_init(&c, RTPPLAY_CODEC_OPUS);
    c.pt = 111;
    c.rate = (unsigned)out_rate;
    c.mode = RTPPLAY_MODE_FIXED;
    c.fixed_ms = 60; /* the packet after a loss is buffered by then */
    struct rtpplay *p = rtpplay_ctor(&c, &err);
    CHECK(p != NULL && err == 0);
    int fl = rtpplay_frame_len(p);
    CHECK_EQ(fl, out_rate / 50);
    CHECK_EQ(rtpplay_rate(p), out_rate);
    int16_t *out = malloc(sizeof(int16_t) * (size_t)fl);
    unsigned char pkt[1500];
    const int n = (int)tu_scaled(400, 220);
    const int lost1 = 40;                         /* FEC */
    const int burst = 80;                         /* PLC: 80, 81, 82 */
    const int pause_from = 100, pause_len = 50;   /* 1 s: no packets */
    uint64_t t0 = 777 * MS;
    int k = 0, fec = 0, conc = 0, paused = 0, resumed = 0, packets = 0;
    for (uint64_t now = t0; now < t0 + (uint64_t)(n + 10) * 20 * MS; now += 20 * MS) {
        while (k < n && t0 + (uint64_t)k * 20 * MS + 5 * MS <= now) {
            size_t len = mkpkt(pkt, e, k, (uint16_t)(5 + k), 960u * (uint32_t)k,
                k == 0 || k == pause_from + pause_len);
            int gone = k == lost1 || (k >= burst && k < burst + 3) ||
                (k >= pause_from && k < pause_from + pause_len);
            if (!gone) {
                CHECK_EQ(rtpplay_put(p, pkt, len, t0 + (uint64_t)k * 20 * MS + 5 * MS), RTPPLAY_STORED);
                packets++;
            }
            k++;
        }
        int r = rtpplay_get(p, now, out, (size_t)fl);
        CHECK(r >= 0);
        if (r & RTPPLAY_FEC)
            fec++;
        if (r & RTPPLAY_CONCEALED)
            conc++;
        if (r & RTPPLAY_PAUSED) {
            paused++;
            for (int i = 0; i < fl; i++)
                CHECK_EQ(out[i], 0);
        }
        if (paused && (r & RTPPLAY_PLAYING) && !(r & RTPPLAY_PAUSED))
            resumed = 1;
    }
    struct rtpplay_stats st = { .size = sizeof(st) };
    CHECK_EQ(rtpplay_stats(p, &st), 0);
    CHECK(fec >= 1);
    CHECK(st.fec_frames >= 1);
    CHECK(conc >= 2);
    CHECK(st.pauses >= 1);
    CHECK(paused >= 30);
    CHECK(resumed);
    CHECK_EQ(st.played, packets);
    CHECK_EQ(st.late, 0);
    /* fixed 60 ms above the (constant) network floor, rounded up to the
     * get clock: packets arrive 5 ms after a get, so they wait 75 ms */
    CHECK_EQ(st.target_delay_ns, 60 * (int64_t)MS);
    CHECK(st.mean_delay_ns > 74e6 && st.mean_delay_ns < 76e6);
    free(out);
    rtpplay_dtor(p);
    rtpopus_enc_dtor(e);
}

int main(void) {
    run(48000);
    run(16000);
    TEST_DONE("test_playout_opus");
}

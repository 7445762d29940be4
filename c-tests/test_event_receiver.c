/*
 * RFC 4733 receiver on hand-crafted streams: loss of the first, middle and
 * all end packets, duplicates, reordering, back-to-back identical digits, a
 * long event across segments, an SSRC change mid-event; and a round trip
 * from the sender through the drop-in generator.
 */
#include <stdint.h>
#include <string.h>

#include "rtpevent.h"
#include "rtpsynth.h"
#include "testutil.h"

#define PT 101
#define MS 1000000ULL

struct pkt {
    unsigned char b[16];
};

static struct pkt mk(uint32_t ssrc, uint16_t seq, uint32_t ts, int marker, int ev, int end,
                     uint16_t dur) {
    struct pkt p;
    p.b[0] = 0x80;
    p.b[1] = (marker ? 0x80 : 0) | PT;
    p.b[2] = seq >> 8;
    p.b[3] = seq & 0xff;
    for (int i = 0; i < 4; i++) {
        p.b[4 + i] = ts >> (24 - 8 * i);
        p.b[8 + i] = ssrc >> (24 - 8 * i);
    }
    p.b[12] = ev;
    p.b[13] = (end ? 0x80 : 0) | 10;
    p.b[14] = dur >> 8;
    p.b[15] = dur & 0xff;
    return p;
}

/* One event as a sender emits it at 8 kHz / 20 ms: n updates, the last
 * one being the end, plus 2 end copies. Returns the packet count. */
static int event_pkts(struct pkt *out, uint32_t ssrc, uint16_t seq, uint32_t ts, int ev, int n) {
    int k = 0;
    for (int i = 1; i <= n; i++)
        out[k++] = mk(ssrc, seq++, ts, i == 1, ev, i == n, 160 * i);
    for (int i = 0; i < 2; i++)
        out[k++] = mk(ssrc, seq++, ts, 0, ev, 1, 160 * n);
    return k;
}

static struct rtpev_rx *rx;
static struct rtpev_event got[64];
static int ngot;

static void drain(void) {
    struct rtpev_event e;
    int r;
    while ((r = rtpev_rx_get(rx, &e)) == 1) {
        CHECK(ngot < 64);
        got[ngot++] = e;
    }
    CHECK_EQ(r, 0);
}

static int push(const struct pkt *p, uint64_t t_ms) {
    int v = rtpev_rx_push(rx, p->b, 16, t_ms * MS);
    CHECK(v >= 0 && v <= 3);
    drain();
    return v;
}

static void fresh(void) {
    rtpev_rx_dtor(rx);
    int err = 1;
    rx = rtpev_rx_ctor(PT, 300 * MS, &err);
    CHECK(rx != NULL);
    CHECK_EQ(err, 0);
    ngot = 0;
}

static void expect(int i, int ev, uint64_t dur, int why) {
    CHECK(i < ngot);
    CHECK_EQ(got[i].event, ev);
    CHECK_EQ(got[i].duration, dur);
    CHECK_EQ(got[i].end_reason, why);
    CHECK_EQ(got[i].digit, rtpev_dtmf_char(ev));
}

int main(void) {
    struct pkt s[64];
    int n;

    /* clean stream: once, with the final duration */
    fresh();
    n = event_pkts(s, 0x1234, 100, 8000, 5, 5);
    for (int i = 0; i < n; i++)
        CHECK_EQ(push(&s[i], 20 * i), i == 0 ? RTPEV_PKT_NEW : i < 5 ? RTPEV_PKT_UPDATE : RTPEV_PKT_DUPLICATE);
    CHECK_EQ(ngot, 1);
    expect(0, 5, 800, RTPEV_END_EBIT);
    CHECK_EQ(got[0].ssrc, 0x1234);
    CHECK_EQ(got[0].ts, 8000);
    CHECK_EQ(got[0].volume, 10);
    CHECK_EQ(got[0].first_arrival_ns, 0);

    /* first packet lost: same event, same duration */
    fresh();
    for (int i = 1; i < n; i++)
        push(&s[i], 20 * i);
    CHECK_EQ(ngot, 1);
    expect(0, 5, 800, RTPEV_END_EBIT);
    CHECK_EQ(got[0].first_arrival_ns, 20 * MS);

    /* middle packets lost */
    fresh();
    for (int i = 0; i < n; i++)
        if (i != 2 && i != 3)
            push(&s[i], 20 * i);
    CHECK_EQ(ngot, 1);
    expect(0, 5, 800, RTPEV_END_EBIT);

    /* all three end packets lost: ends by timeout, with the last duration */
    fresh();
    for (int i = 0; i < 4; i++)
        push(&s[i], 20 * i);
    CHECK_EQ(rtpev_rx_poll(rx, (60 + 299) * MS), 0);
    CHECK_EQ(rtpev_rx_poll(rx, (60 + 300) * MS), 1);
    drain();
    expect(0, 5, 640, RTPEV_END_TIMEOUT);
    /* its end packets arriving after the timeout do not report it again */
    for (int i = 4; i < n; i++)
        CHECK_EQ(push(&s[i], 500), RTPEV_PKT_DUPLICATE);
    CHECK_EQ(ngot, 1);

    /* duplicates of everything, then the whole stream again */
    fresh();
    for (int i = 0; i < n; i++) {
        push(&s[i], 20 * i);
        CHECK_EQ(push(&s[i], 20 * i), RTPEV_PKT_DUPLICATE);
    }
    for (int i = 0; i < n; i++)
        CHECK_EQ(push(&s[i], 1000), RTPEV_PKT_DUPLICATE);
    CHECK_EQ(rtpev_rx_flush(rx), 0);
    CHECK_EQ(ngot, 1);
    struct rtpev_rx_stats st;
    CHECK_EQ(rtpev_rx_stats(rx, &st), 0);
    CHECK_EQ(st.packets, 3 * n);
    CHECK_EQ(st.duplicates, 2 * n + 2);
    CHECK_EQ(st.events, 1);

    /* back-to-back identical digits: new timestamp, new event */
    fresh();
    struct pkt two[32];
    int a = event_pkts(two, 7, 1, 1000, 3, 4);
    int b = event_pkts(two + a, 7, a + 1, 1000 + 4 * 160 + 3 * 160, 3, 4);
    for (int i = 0; i < a + b; i++)
        push(&two[i], 20 * i);
    CHECK_EQ(ngot, 2);
    expect(0, 3, 640, RTPEV_END_EBIT);
    expect(1, 3, 640, RTPEV_END_EBIT);
    CHECK(got[0].ts != got[1].ts);

    /* reordering across events: A's end packets after B's first ones, B's
     * updates swapped; reported A then B, each exactly once and complete */
    fresh();
    int order[32], k = 0;
    for (int i = 0; i < 3; i++) order[k++] = i;       /* A 1-3 */
    order[k++] = a;                                   /* B 1 */
    order[k++] = 3;                                   /* A end */
    order[k++] = a + 2;                               /* B 3 */
    order[k++] = a + 1;                               /* B 2 */
    order[k++] = 4;                                   /* A end copy */
    for (int i = a + 3; i < a + b; i++) order[k++] = i;
    order[k++] = 5;                                   /* A end copy, very late */
    for (int i = 0; i < k; i++)
        push(&two[order[i]], 20 * i);
    CHECK_EQ(ngot, 2);
    expect(0, 3, 640, RTPEV_END_EBIT);
    expect(1, 3, 640, RTPEV_END_EBIT);
    CHECK_EQ(got[0].ts, 1000);

    /* A's end lost; B ends A once B has two packets */
    fresh();
    for (int i = 0; i < a + b; i++) {
        if (i >= 3 && i < a)
            continue;
        push(&two[i], 20 * i);
        if (i == a)
            CHECK_EQ(ngot, 0);
        if (i == a + 1)
            CHECK_EQ(ngot, 1);
    }
    CHECK_EQ(ngot, 2);
    expect(0, 3, 480, RTPEV_END_NEXT);
    expect(1, 3, 640, RTPEV_END_EBIT);

    /* a long event across segments: 3 full segments and 1000 units, as
     * RFC 4733 2.5.1.3 sends it, one update per 20 ms, some lost */
    fresh();
    {
        uint32_t ts = 50000;
        uint16_t seq = 9;
        uint64_t t = 0;
        int first = 1;
        for (int seg = 0; seg < 4; seg++) {
            uint32_t len = seg < 3 ? 0xffff : 1000;
            for (uint32_t d = 160; d < len; d += 160) {
                struct pkt p = mk(42, seq++, ts, first, 1, 0, d);
                first = 0;
                if ((seq % 7) != 0) /* drop one in seven */
                    push(&p, t);
                t += 20;
            }
            for (int c = 0; c < 3; c++) {
                struct pkt p = mk(42, seq++, ts, 0, 1, seg == 3, len);
                push(&p, t);
                t += 20;
            }
            ts += 0xffff;
        }
        CHECK_EQ(ngot, 1);
        expect(0, 1, 3 * 0xffffULL + 1000, RTPEV_END_EBIT);
        CHECK_EQ(got[0].ts, 50000);
    }

    /* SSRC change mid-event: the new source continuing the event (no
     * marker) keeps it one event; one starting a new event (marker) ends
     * the old one; strays of the old source are dropped */
    fresh();
    for (int i = 0; i < 3; i++)
        push(&s[i], 20 * i);
    for (int i = 3; i < n; i++) {
        struct pkt p = mk(0xbeef, 500 + i, 777000, 0, 5, i >= 4, 160 * (i + 1 > 5 ? 5 : i + 1));
        push(&p, 20 * i);
    }
    CHECK_EQ(rtpev_rx_flush(rx), 0);
    CHECK_EQ(ngot, 1);
    expect(0, 5, 800, RTPEV_END_EBIT);
    CHECK_EQ(got[0].ssrc, 0xbeef);

    fresh();
    for (int i = 0; i < 3; i++)
        push(&s[i], 20 * i);
    struct pkt nw = mk(0xbeef, 500, 777000, 1, 6, 0, 160);
    CHECK_EQ(push(&nw, 60), RTPEV_PKT_NEW);
    CHECK_EQ(ngot, 1);
    expect(0, 5, 480, RTPEV_END_SSRC);
    CHECK_EQ(got[0].ssrc, 0x1234);
    CHECK_EQ(push(&s[3], 61), RTPEV_PKT_DUPLICATE);
    CHECK_EQ(rtpev_rx_flush(rx), 1);
    drain();
    expect(1, 6, 160, RTPEV_END_FLUSH);
    CHECK_EQ(got[1].ssrc, 0xbeef);

    /* other payload types and junk are ignored */
    fresh();
    struct pkt audio = s[0];
    audio.b[1] = 0;
    CHECK_EQ(push(&audio, 0), RTPEV_PKT_IGNORED);
    CHECK_EQ(rtpev_rx_push(rx, s[0].b, 15, 0), RTPEV_PKT_IGNORED);
    CHECK_EQ(rtpev_rx_push(rx, s[0].b, 0, 0), RTPEV_PKT_IGNORED);
    CHECK_EQ(rtpev_rx_push(rx, NULL, 0, 0), RTPEV_PKT_IGNORED);
    CHECK_EQ(rtpev_rx_push(rx, NULL, 16, 0), -EINVAL);
    CHECK_EQ(rtpev_rx_push(NULL, s[0].b, 16, 0), -EINVAL);
    CHECK_EQ(rtpev_rx_poll(NULL, 0), -EINVAL);
    CHECK_EQ(rtpev_rx_flush(NULL), -EINVAL);
    struct rtpev_event e;
    CHECK_EQ(rtpev_rx_get(NULL, &e), -EINVAL);
    CHECK_EQ(rtpev_rx_get(rx, NULL), -EINVAL);
    CHECK_EQ(rtpev_rx_stats(NULL, &st), -EINVAL);
    CHECK_EQ(rtpev_rx_stats(rx, NULL), -EINVAL);
    CHECK_EQ(rtpev_rx_stats(rx, &st), 0);
    CHECK_EQ(st.ignored, 4);
    int err = 0;
    CHECK(rtpev_rx_ctor(128, 0, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpev_rx_ctor(-1, 0, NULL) == NULL);

    /* default timeout (0 -> 300 ms) */
    rtpev_rx_dtor(rx);
    rx = rtpev_rx_ctor(PT, 0, NULL);
    ngot = 0;
    push(&s[0], 0);
    CHECK_EQ(rtpev_rx_poll(rx, 299 * MS), 0);
    CHECK_EQ(rtpev_rx_poll(rx, 300 * MS), 1);
    drain();
    expect(0, 5, 160, RTPEV_END_TIMEOUT);

    /* round trip: sender + drop-in generator -> receiver, 16 digits at
     * 8 kHz with audio between them, 1 in 5 event packets lost */
    fresh();
    {
        void *rs = rsynth_ctor_random(8000, 20);
        struct rtpev_tx *tx = rtpev_tx_ctor(8000, 20, NULL);
        char buf[200];
        uint64_t t = 0;
        int sent = 0;
        for (int d = 0; d < 16; d++) {
            CHECK_EQ(rtpev_tx_start(tx, d, rsynth_get_ts(rs), 40 + 20 * d), 0);
            int len;
            while ((len = rtpev_tx_next_rsynth(tx, rs, PT, buf, sizeof(buf))) > 0) {
                if (++sent % 5 != 1 || d == 0)
                    CHECK(rtpev_rx_push(rx, (unsigned char *)buf, len, t * MS) >= 0);
                drain();
                t += 20;
            }
            for (int i = 0; i < 3; i++) { /* audio between digits, fed too */
                len = rsynth_next_pkt_pa(rs, 160, 0, buf, sizeof(buf), 0);
                CHECK_EQ(rtpev_rx_push(rx, (unsigned char *)buf, len, t * MS), RTPEV_PKT_IGNORED);
                t += 20;
            }
        }
        rtpev_rx_poll(rx, (t + 1000) * MS);
        drain();
        CHECK_EQ(ngot, 16);
        /* the generator writes its SSRC in host order; the receiver reads
         * the packet's bytes in network order */
        uint32_t h = rsynth_get_ssrc(rs);
        unsigned char sb[4];
        memcpy(sb, &h, 4);
        uint32_t wire = ((uint32_t)sb[0] << 24) | ((uint32_t)sb[1] << 16) | ((uint32_t)sb[2] << 8) | sb[3];
        for (int d = 0; d < 16; d++) {
            CHECK_EQ(got[d].event, d);
            CHECK_EQ(got[d].duration, 8 * (40 + 20 * d));
            CHECK_EQ(got[d].ssrc, wire);
        }
        rtpev_tx_dtor(tx);
        rsynth_dtor(rs);
    }
    rtpev_rx_dtor(rx);
    rtpev_rx_dtor(NULL);
    TEST_DONE("test_event_receiver");
}

/*
 * RFC 4733 sender: every packet checked against the RFC's rules, at 8000
 * and 48000 Hz and packet times 10, 20 and 30 ms, through the drop-in
 * generator (same SSRC and sequence space as the audio, audio resuming at
 * the right timestamp) and through the raw rtpev_tx_next.
 */
#include <stdint.h>
#include <string.h>

#include "rtpevent.h"
#include "rtpsynth.h"
#include "testutil.h"

#define PT 101

static unsigned get16(const unsigned char *p) { return (p[0] << 8) | p[1]; }
static uint32_t get32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* The checker: fed one event's packets in order (ts, marker, payload),
 * enforces RFC 4733 2.5.1 and returns the total duration in units. */
struct checker {
    uint32_t unit, seg_ts;
    int npkts, nend, seg_final_copies;
    uint32_t last_dur;
    uint64_t total;
    struct rtpev_payload last;
    int event;
};

static void check_start(struct checker *c, uint32_t unit, uint32_t ts, int event) {
    memset(c, 0, sizeof(*c));
    c->unit = unit;
    c->seg_ts = ts;
    c->event = event;
}

static void check_pkt(struct checker *c, uint32_t ts, int marker, const unsigned char *pl) {
    struct rtpev_payload p;
    CHECK_EQ(rtpev_payload_decode(pl, 4, &p), 0);
    CHECK_EQ(p.event, c->event);
    CHECK_EQ(p.volume, 10);
    CHECK_EQ(pl[1] & 0x40, 0); /* R bit sent as 0 */
    CHECK_EQ(marker, c->npkts == 0); /* marker on the first packet only */
    CHECK_EQ(c->nend, p.end ? c->nend : 0); /* nothing but end copies after an end */
    if (c->nend > 0) {
        /* the end packet, three times, identical */
        CHECK(p.end);
        CHECK_EQ(ts, c->seg_ts);
        CHECK_EQ(p.duration, c->last.duration);
        c->nend++;
        CHECK(c->nend <= 3);
        c->npkts++;
        return;
    }
    if (c->seg_final_copies > 0 && c->seg_final_copies < 3) {
        /* copies of a segment's final packet */
        CHECK_EQ(ts, c->seg_ts);
        CHECK_EQ(p.duration, 0xffff);
        CHECK(!p.end);
        c->seg_final_copies++;
        c->npkts++;
        return;
    }
    if (c->seg_final_copies == 3) {
        /* a new segment 0xffff later; its duration counts from there, so
         * it includes the three packet times of the copies */
        CHECK_EQ(ts, c->seg_ts + 0xffff);
        c->total += 0xffff;
        c->seg_ts = ts;
        c->seg_final_copies = 0;
        CHECK(p.duration <= 4 * c->unit);
        CHECK(p.end || p.duration >= 3 * c->unit);
        c->last_dur = p.duration >= c->unit ? p.duration - c->unit : 0;
    }
    CHECK_EQ(ts, c->seg_ts); /* one timestamp for the whole segment */
    if (p.end) {
        CHECK(p.duration > c->last_dur && p.duration <= c->last_dur + c->unit);
        c->nend = 1;
    } else if (p.duration == 0xffff) {
        CHECK(p.duration <= c->last_dur + c->unit);
        c->seg_final_copies = 1;
    } else {
        CHECK_EQ(p.duration, c->last_dur + c->unit); /* grows by the packet time */
    }
    c->last_dur = p.duration;
    c->last = p;
    c->npkts++;
}

static uint64_t check_done(struct checker *c) {
    CHECK_EQ(c->nend, 3);
    return c->total + c->last.duration;
}

/* Audio, one event, audio through the drop-in generator. */
static void via_rsynth(int rate, int ptime, uint32_t ms, int event) {
    void *rs = rsynth_ctor_random(rate, ptime);
    CHECK(rs != NULL);
    int err = 1;
    struct rtpev_tx *tx = rtpev_tx_ctor(rate, ptime, &err);
    CHECK(tx != NULL);
    CHECK_EQ(err, 0);
    uint32_t unit = rate * ptime / 1000, step = 8 * ptime; /* the generator's rule */
    char buf[256];
    unsigned char *b = (unsigned char *)buf;
    CHECK_EQ(rsynth_next_pkt_pa(rs, 160, 0, buf, sizeof(buf), 0), 172);
    uint16_t seq = get16(b + 2) + 1;
    uint32_t ssrc = rsynth_get_ssrc(rs), ts0 = rsynth_get_ts(rs);
    CHECK_EQ(rtpev_tx_next_rsynth(tx, rs, PT, buf, sizeof(buf)), 0); /* idle: audio */
    CHECK_EQ(rsynth_get_seq(rs), seq);
    CHECK_EQ(rtpev_tx_start(tx, event, ts0, ms), 0);
    CHECK_EQ(rtpev_tx_start(tx, event, ts0, ms), -EBUSY);
    struct checker c;
    check_start(&c, unit, ts0, event);
    int n, ticks = 0;
    while ((n = rtpev_tx_next_rsynth(tx, rs, PT, buf, sizeof(buf))) > 0) {
        CHECK_EQ(n, 16);
        CHECK_EQ(b[0], 0x80);
        CHECK_EQ(b[1] & 0x7f, PT);
        CHECK_EQ(get16(b + 2), seq); /* the audio's sequence space, no gap */
        uint32_t s;
        memcpy(&s, b + 8, 4);
        CHECK_EQ(s, ssrc);
        CHECK_EQ(b[16] | b[255], 0);
        check_pkt(&c, get32(b + 4), b[1] >> 7, b + 12);
        seq++;
        ticks++;
        CHECK(ticks < 100000);
    }
    CHECK_EQ(n, 0);
    uint64_t want = (uint64_t)ms * rate / 1000;
    CHECK_EQ(check_done(&c), want);
    CHECK_EQ(ticks, (want + unit - 1) / unit + 2);
    CHECK_EQ(rtpev_tx_active(tx), 0);
    /* audio resumes: next seq, the timestamp of ticks packet times later */
    CHECK_EQ(rsynth_next_pkt_pa(rs, 160, 0, buf, sizeof(buf), 0), 172);
    CHECK_EQ(get16(b + 2), seq);
    CHECK_EQ(get32(b + 4), ts0 + (uint32_t)ticks * step);
    CHECK_EQ(b[1], 0);
    rtpev_tx_dtor(tx);
    rsynth_dtor(rs);
}

/* The raw sender: its own timestamps at the event's clock. */
static void raw(int rate, int ptime, uint32_t ms, int event, uint32_t ts0) {
    struct rtpev_tx *tx = rtpev_tx_ctor(rate, ptime, NULL);
    CHECK(tx != NULL);
    struct rtpev_pkt p;
    CHECK_EQ(rtpev_tx_next(tx, &p), 0);
    CHECK_EQ(rtpev_tx_start(tx, event, ts0, ms), 0);
    CHECK_EQ(rtpev_tx_active(tx), 1);
    struct checker c;
    check_start(&c, rate * ptime / 1000, ts0, event);
    int n;
    while ((n = rtpev_tx_next(tx, &p)) == 1) {
        unsigned char enc[4];
        CHECK_EQ(rtpev_payload_encode(&p.info, enc, 4), 4);
        CHECK(memcmp(enc, p.payload, 4) == 0);
        check_pkt(&c, p.ts, p.marker, p.payload);
    }
    CHECK_EQ(n, 0);
    CHECK_EQ(check_done(&c), (uint64_t)ms * rate / 1000);
    rtpev_tx_dtor(tx);
}

int main(void) {
    static const int rates[] = {8000, 48000};
    static const int ptimes[] = {10, 20, 30};
    for (int r = 0; r < 2; r++)
        for (int p = 0; p < 3; p++) {
            for (int ev = 0; ev < 16; ev += 5) {
                via_rsynth(rates[r], ptimes[p], 100, ev);
                via_rsynth(rates[r], ptimes[p], ptimes[p], ev);
                via_rsynth(rates[r], ptimes[p], 135, ev);
            }
            raw(rates[r], ptimes[p], 250, 11, 0xfffffff0u);
            /* long events: segments (8 kHz: 8.2 s per segment; 48 kHz: 1.4 s) */
            raw(rates[r], ptimes[p], rates[r] == 8000 ? 20000 : 3000, 15, 123);
        }
    via_rsynth(8000, 20, 9000, 4);
    raw(8000, 20, 8192, 200, 0); /* exactly 0xffff + 1 units */

    /* open-ended event ended by rtpev_tx_finish */
    struct rtpev_tx *tx = rtpev_tx_ctor(8000, 20, NULL);
    struct rtpev_pkt p;
    CHECK_EQ(rtpev_tx_start(tx, 9, 1000, 0), 0);
    struct checker c;
    check_start(&c, 160, 1000, 9);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(rtpev_tx_next(tx, &p), 1);
        check_pkt(&c, p.ts, p.marker, p.payload);
    }
    CHECK_EQ(rtpev_tx_finish(tx), 0);
    while (rtpev_tx_next(tx, &p) == 1)
        check_pkt(&c, p.ts, p.marker, p.payload);
    CHECK_EQ(check_done(&c), 6 * 160);
    /* volume, abort */
    CHECK_EQ(rtpev_tx_set_volume(tx, 64), -EINVAL);
    CHECK_EQ(rtpev_tx_set_volume(tx, -1), -EINVAL);
    CHECK_EQ(rtpev_tx_set_volume(tx, 63), 0);
    CHECK_EQ(rtpev_tx_start(tx, 1, 0, 0), 0);
    CHECK_EQ(rtpev_tx_next(tx, &p), 1);
    CHECK_EQ(p.info.volume, 63);
    CHECK_EQ(p.payload[1], 63);
    CHECK_EQ(rtpev_tx_abort(tx), 0);
    CHECK_EQ(rtpev_tx_active(tx), 0);
    CHECK_EQ(rtpev_tx_next(tx, &p), 0);

    /* bad arguments */
    int err = 0;
    CHECK(rtpev_tx_ctor(0, 20, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpev_tx_ctor(48000, 1400, &err) == NULL); /* 67200 units per packet */
    CHECK_EQ(err, -EINVAL);
    CHECK(rtpev_tx_ctor(8000, 0, NULL) == NULL);
    CHECK_EQ(rtpev_tx_start(NULL, 1, 0, 100), -EINVAL);
    CHECK_EQ(rtpev_tx_start(tx, 256, 0, 100), -EINVAL);
    CHECK_EQ(rtpev_tx_start(tx, -1, 0, 100), -EINVAL);
    CHECK_EQ(rtpev_tx_next(NULL, &p), -EINVAL);
    CHECK_EQ(rtpev_tx_next(tx, NULL), -EINVAL);
    CHECK_EQ(rtpev_tx_finish(NULL), -EINVAL);
    CHECK_EQ(rtpev_tx_abort(NULL), -EINVAL);
    CHECK_EQ(rtpev_tx_active(NULL), -EINVAL);
    CHECK_EQ(rtpev_tx_set_volume(NULL, 1), -EINVAL);
    void *rs = rsynth_ctor(8000, 20);
    char buf[16];
    CHECK_EQ(rtpev_tx_next_rsynth(tx, NULL, PT, buf, 16), -EINVAL);
    CHECK_EQ(rtpev_tx_next_rsynth(tx, rs, 128, buf, 16), -EINVAL);
    CHECK_EQ(rtpev_tx_next_rsynth(tx, rs, PT, NULL, 16), -EINVAL);
    CHECK_EQ(rtpev_tx_next_rsynth(NULL, rs, PT, buf, 16), -EINVAL);
    CHECK_EQ(rtpev_tx_start(tx, 1, 0, 40), 0);
    uint16_t s0 = rsynth_get_seq(rs);
    CHECK_EQ(rtpev_tx_next_rsynth(tx, rs, PT, buf, 15), -ENOBUFS);
    CHECK_EQ(rsynth_get_seq(rs), s0);
    CHECK_EQ(rtpev_tx_next_rsynth(tx, rs, PT, buf, 16), 16);
    CHECK_EQ(rsynth_get_seq(rs), (uint16_t)(s0 + 1));
    rsynth_dtor(rs);
    rtpev_tx_dtor(tx);
    rtpev_tx_dtor(NULL);

    /* payload helpers */
    struct rtpev_payload pl = {11, 1, 10, 800}, back;
    unsigned char enc[5];
    CHECK_EQ(rtpev_payload_encode(&pl, enc, 5), 4);
    CHECK(memcmp(enc, "\x0b\x8a\x03\x20", 4) == 0);
    CHECK_EQ(rtpev_payload_decode(enc, 4, &back), 0);
    CHECK(back.event == 11 && back.end == 1 && back.volume == 10 && back.duration == 800);
    CHECK_EQ(rtpev_payload_encode(&pl, enc, 3), -ENOBUFS);
    CHECK_EQ(rtpev_payload_encode(NULL, enc, 4), -EINVAL);
    CHECK_EQ(rtpev_payload_encode(&pl, NULL, 4), -EINVAL);
    pl.volume = 64;
    CHECK_EQ(rtpev_payload_encode(&pl, enc, 4), -EINVAL);
    CHECK_EQ(rtpev_payload_decode(enc, 3, &back), -EBADMSG);
    CHECK_EQ(rtpev_payload_decode(NULL, 4, &back), -EINVAL);
    CHECK_EQ(rtpev_payload_decode(enc, 4, NULL), -EINVAL);
    const char *names = "0123456789*#ABCD";
    for (int e = 0; e < 16; e++) {
        CHECK_EQ(rtpev_dtmf_char(e), names[e]);
        CHECK_EQ(rtpev_dtmf_event(names[e]), e);
    }
    CHECK_EQ(rtpev_dtmf_char(16), 0);
    CHECK_EQ(rtpev_dtmf_char(-1), 0);
    CHECK_EQ(rtpev_dtmf_event('b'), 13);
    CHECK_EQ(rtpev_dtmf_event('x'), -EINVAL);
    TEST_DONE("test_event_sender");
}

/*
 * rtpvideo.h through the public API: argument checks, sender -> lossy
 * in-memory link -> receiver for H.264, VP8 and VP9 with NACK (plain and
 * RTX) answered from the sender's history, keyframe requests (PLI) reaching
 * the sender's callback, and frames that come out identical to those sent.
 */
#include "rtpvideo.h"
#include "testutil.h"

#define NFRAMES 120
#define MAXQ 8192
#define DELAY_NS 20000000ULL
#define FRAME_NS 33333333ULL

struct msg {
    uint64_t at;
    size_t len;
    uint8_t *data;
};

struct link {
    struct msg q[MAXQ];
    int n;
    unsigned long long rng;
    unsigned loss_pct;
    uint64_t now;
    unsigned sent, lost;
};

static void link_put(struct link *l, const uint8_t *p, size_t len) {
    l->sent++;
    if (tu_rand(&l->rng) % 100 < l->loss_pct) {
        l->lost++;
        return;
    }
    CHECK(l->n < MAXQ);
    struct msg *m = &l->q[l->n++];
    m->at = l->now + DELAY_NS;
    m->len = len;
    m->data = malloc(len);
    CHECK(m->data != NULL);
    memcpy(m->data, p, len);
}

/* Oldest message due at now (FIFO among those due), or -1. */
static int link_due(struct link *l, uint64_t now) {
    for (int i = 0; i < l->n; i++)
        if (l->q[i].at <= now)
            return i;
    return -1;
}

static void link_pop(struct link *l, int i) {
    free(l->q[i].data);
    memmove(&l->q[i], &l->q[i + 1], (size_t)(l->n - i - 1) * sizeof(l->q[0]));
    l->n--;
}

static void to_link(void *arg, const uint8_t *pkt, size_t len) {
    CHECK(len <= RTPVID_DEFAULT_MTU);
    link_put(arg, pkt, len);
}

static uint8_t *make_frame(int codec, int i, unsigned long long *rng, size_t *len) {
    int key = i % 30 == 0;
    size_t n = key ? 6000 + tu_rand(rng) % 4000 : 100 + tu_rand(rng) % 3000;
    uint8_t *f = malloc(n + 64);
    CHECK(f != NULL);
    size_t o = 0;
    for (size_t k = 0; k < n + 64; k++)
        f[k] = (uint8_t)(tu_rand(rng) | 1);
    if (codec == RTPVID_H264) {
        static const uint8_t sps[] = {0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80};
        if (key) {
            memcpy(f, sps, sizeof(sps));
            o = sizeof(sps);
        }
        memcpy(f + o, "\0\0\0\1", 4);
        f[o + 4] = key ? 0x65 : 0x41;
        f[o + 5] = 0x88; /* first_mb_in_slice 0 */
        n += o;
    } else if (codec == RTPVID_VP8) {
        f[0] = key ? 0x10 : 0x11;
    } else {
        f[0] = key ? 0x82 : 0x86;
    }
    *len = n;
    return f;
}

static int kf_calls;
static void on_keyframe(void *arg, int kind, int fir_seq) {
    (void)fir_seq;
    CHECK(arg == &kf_calls);
    CHECK(kind == RTPVID_PLI);
    kf_calls++;
}

static void lossy_run(int codec, int rtx, unsigned loss_pct) {
    unsigned long long rng = 12345 + (unsigned)codec * 7 + (unsigned)rtx;
    uint8_t *frames[NFRAMES];
    size_t lens[NFRAMES];
    for (int i = 0; i < NFRAMES; i++)
        frames[i] = make_frame(codec, i, &rng, &lens[i]);

    struct rtpvid_send_cfg sc = {sizeof(sc), codec, 96, 0, 0xabcdef01, 65500, 32000, 1024, 0, -1, 0, 0};
    if (rtx) {
        sc.rtx_pt = 97;
        sc.rtx_ssrc = 0x10203040;
        sc.rtx_first_seq = 7;
    }
    int err = -1;
    struct rtpvid_send *s = rtpvid_send_ctor(&sc, &err);
    CHECK(s != NULL);
    CHECK_EQ(err, 0);
    CHECK_EQ(rtpvid_send_set_keyframe_cb(s, on_keyframe, &kf_calls), 0);

    struct rtpvid_recv_cfg rc = {sizeof(rc), codec, 96, rtx ? 97 : -1, 0, 0, 1, 40000000, 0};
    struct rtpvid_recv *r = rtpvid_recv_ctor(&rc, &err);
    CHECK(r != NULL);

    static struct link fwd, back;
    memset(&fwd, 0, sizeof(fwd));
    memset(&back, 0, sizeof(back));
    fwd.rng = 99 + (unsigned)codec;
    back.rng = 77;
    fwd.loss_pct = back.loss_pct = loss_pct;

    int got = 0, dropped = 0, recovered_frames = 0;
    uint8_t fb[1500];
    uint64_t end = NFRAMES * FRAME_NS + 2000000000ULL;
    for (uint64_t now = 0; now < end; now += 1000000) {
        fwd.now = back.now = now;
        if (now % FRAME_NS < 1000000 && now / FRAME_NS < NFRAMES) {
            int i = (int)(now / FRAME_NS);
            unsigned keep = fwd.loss_pct;
            if (i == 0)
                fwd.loss_pct = 0; /* nothing before the first packet can be asked for */
            CHECK(rtpvid_send_frame(s, frames[i], lens[i], 3000u * (uint32_t)i, now, to_link, &fwd) >= 1);
            fwd.loss_pct = keep;
        }
        int k;
        while ((k = link_due(&fwd, now)) >= 0) {
            int rr = rtpvid_recv_pkt(r, fwd.q[k].data, fwd.q[k].len, now);
            CHECK(rr >= 0);
            link_pop(&fwd, k);
        }
        struct rtpvid_frame f;
        int ev;
        while ((ev = rtpvid_recv_frame(r, now, &f)) > 0) {
            if (ev == RTPVID_FRAME) {
                CHECK(got < NFRAMES);
                CHECK_EQ(f.ts, 3000u * (uint32_t)got);
                CHECK_EQ(f.len, lens[got]);
                CHECK(memcmp(f.data, frames[got], f.len) == 0);
                CHECK_EQ(!!(f.flags & RTPVID_FRAME_KEY), got % 30 == 0);
                recovered_frames += !!(f.flags & RTPVID_FRAME_RECOVERED);
                got++;
            } else {
                dropped++;
            }
        }
        CHECK(ev == 0);
        int n = rtpvid_recv_feedback(r, now, 0x5555, fb, sizeof(fb));
        CHECK(n >= 0);
        if (n > 0)
            link_put(&back, fb, (size_t)n);
        while ((k = link_due(&back, now)) >= 0) {
            CHECK(rtpvid_send_rtcp(s, back.q[k].data, back.q[k].len, now, to_link, &fwd) >= 0);
            link_pop(&back, k);
        }
    }
    struct rtpvid_recv_stats st;
    CHECK_EQ(rtpvid_recv_stats(r, &st), 0);
    struct rtpvid_send_stats ss;
    CHECK_EQ(rtpvid_send_stats(s, &ss), 0);
    printf("codec %d rtx %d loss %u%%: %d/%d frames complete (%d with recovered packets), %d dropped; "
           "packets sent %u lost %u; recovered %llu, given up %llu, retransmitted %llu\n",
           codec, rtx, loss_pct, got, NFRAMES, recovered_frames, dropped, fwd.sent, fwd.lost,
           (unsigned long long)st.recovered, (unsigned long long)st.nack_given_up,
           (unsigned long long)ss.retransmitted);
    CHECK_EQ(got, NFRAMES);
    CHECK_EQ(dropped, 0);
    CHECK_EQ(st.lost, 0);
    CHECK(fwd.lost > 0);
    CHECK(st.recovered > 0);
    CHECK(ss.retransmitted >= st.recovered);
    if (rtx)
        CHECK(st.rtx_packets > 0);
    uint32_t ssrc = 0;
    CHECK_EQ(rtpvid_recv_ssrc(r, &ssrc), 1);
    CHECK_EQ(ssrc, 0xabcdef01);
    for (int i = 0; i < fwd.n; i++)
        free(fwd.q[i].data);
    for (int i = 0; i < back.n; i++)
        free(back.q[i].data);
    for (int i = 0; i < NFRAMES; i++)
        free(frames[i]);
    rtpvid_send_dtor(s);
    rtpvid_recv_dtor(r);
}

struct pkts {
    uint8_t p[64][RTPVID_DEFAULT_MTU];
    size_t len[64];
    int n;
};

static void collect(void *arg, const uint8_t *pkt, size_t len) {
    struct pkts *ps = arg;
    CHECK(ps->n < 64);
    memcpy(ps->p[ps->n], pkt, len);
    ps->len[ps->n++] = len;
}

/* Without NACK a lost packet loses its frame: reported, never returned,
 * and a PLI goes out that reaches the sender's callback. */
static void loss_without_nack(void) {
    struct rtpvid_send_cfg sc = {sizeof(sc), RTPVID_VP8, 97, 300, 42, 0, 0, 64, 0, -1, 0, 0};
    struct rtpvid_send *s = rtpvid_send_ctor(&sc, NULL);
    CHECK(s != NULL);
    kf_calls = 0;
    CHECK_EQ(rtpvid_send_set_keyframe_cb(s, on_keyframe, &kf_calls), 0);
    struct rtpvid_recv_cfg rc = {sizeof(rc), RTPVID_VP8, 97, -1, 0, 1000, 0, 0, 0};
    struct rtpvid_recv *r = rtpvid_recv_ctor(&rc, NULL);
    CHECK(r != NULL);
    static struct pkts ps;
    ps.n = 0;
    uint8_t f[2000];
    for (int i = 0; i < 3; i++) {
        memset(f, 0x40 + i, sizeof(f));
        f[0] = i == 0 ? 0x10 : 0x11;
        CHECK_EQ(rtpvid_send_frame(s, f, sizeof(f), 3000u * (uint32_t)i, 0, collect, &ps), 8);
    }
    CHECK_EQ(ps.n, 24);
    for (int i = 0; i < ps.n; i++) {
        CHECK(ps.len[i] <= 300);
        if (i != 9) /* inside frame 1 */
            CHECK_EQ(rtpvid_recv_pkt(r, ps.p[i], ps.len[i], 0), RTPVID_STORED);
    }
    CHECK_EQ(rtpvid_recv_pkt(r, ps.p[3], ps.len[3], 0), RTPVID_DUPLICATE);
    struct rtpvid_frame fr;
    CHECK_EQ(rtpvid_recv_frame(r, 0, &fr), RTPVID_FRAME);
    CHECK_EQ(fr.flags, RTPVID_FRAME_KEY);
    CHECK_EQ(fr.len, 2000);
    CHECK_EQ(rtpvid_recv_frame(r, 999, &fr), RTPVID_NONE); /* still waiting */
    CHECK_EQ(rtpvid_recv_frame(r, 1000, &fr), RTPVID_DROPPED);
    CHECK_EQ(fr.ts, 3000);
    CHECK_EQ(fr.drop_reason, RTPVID_DROP_INCOMPLETE);
    CHECK(fr.data == NULL);
    CHECK_EQ(rtpvid_recv_frame(r, 1000, &fr), RTPVID_FRAME);
    CHECK_EQ(fr.ts, 6000);
    CHECK_EQ(fr.flags, RTPVID_FRAME_AFTER_LOSS);
    CHECK_EQ(rtpvid_recv_frame(r, 1000, &fr), RTPVID_NONE);
    CHECK_EQ(rtpvid_recv_pkt(r, ps.p[9], ps.len[9], 1001), RTPVID_LATE);
    uint16_t seqs[8];
    CHECK_EQ(rtpvid_recv_nacks(r, 1000, seqs, 8), 0); /* NACK off */
    uint8_t fb[100];
    int n = rtpvid_recv_feedback(r, 1000, 1, fb, sizeof(fb));
    CHECK_EQ(n, 12); /* a PLI alone */
    CHECK_EQ(fb[1], 206);
    CHECK_EQ(rtpvid_recv_feedback(r, 1001, 1, fb, sizeof(fb)), 0); /* paced */
    CHECK_EQ(rtpvid_send_rtcp(s, fb, (size_t)n, 0, collect, &ps), 0);
    CHECK_EQ(kf_calls, 1);
    struct rtpvid_send_stats ss;
    CHECK_EQ(rtpvid_send_stats(s, &ss), 0);
    CHECK_EQ(ss.plis, 1);
    /* the history answers a plain NACK list */
    uint16_t want[2] = {9, 500};
    ps.n = 0;
    CHECK_EQ(rtpvid_send_nack(s, want, 2, 0, collect, &ps), 1);
    CHECK_EQ(ps.p[0][3], 9);
    rtpvid_send_dtor(s);
    rtpvid_recv_dtor(r);
}

static void bad_arguments(void) {
    int err = 0;
    struct rtpvid_send_cfg sc = {sizeof(sc), RTPVID_H264, 96, 0, 1, 0, 0, 0, 0, -1, 0, 0};
    CHECK(rtpvid_send_ctor(NULL, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    sc.codec = 9;
    CHECK(rtpvid_send_ctor(&sc, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    sc.codec = RTPVID_H264;
    sc.mtu = RTPVID_MIN_MTU - 1;
    CHECK(rtpvid_send_ctor(&sc, &err) == NULL);
    sc.mtu = 0;
    sc.pt = 128;
    CHECK(rtpvid_send_ctor(&sc, &err) == NULL);
    sc.pt = 96;
    sc.size = 8;
    CHECK(rtpvid_send_ctor(&sc, &err) == NULL);
    sc.size = sizeof(sc);
    sc.rtx_pt = 96; /* same as the media PT */
    CHECK(rtpvid_send_ctor(&sc, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    sc.rtx_pt = -1;
    struct rtpvid_send *s = rtpvid_send_ctor(&sc, &err);
    CHECK(s != NULL);
    struct pkts *ps = calloc(1, sizeof(*ps));
    CHECK(ps != NULL);
    CHECK_EQ(rtpvid_send_frame(s, (const uint8_t *)"", 0, 0, 0, collect, ps), -ENODATA);
    CHECK_EQ(rtpvid_send_frame(s, (const uint8_t *)"\1\2\3", 3, 0, 0, collect, ps), -ENODATA);
    CHECK_EQ(rtpvid_send_frame(s, NULL, 5, 0, 0, collect, ps), -EINVAL);
    CHECK_EQ(rtpvid_send_frame(s, (const uint8_t *)"\0\0\1\x41\x88", 5, 0, 0, NULL, ps), -EINVAL);
    CHECK_EQ(rtpvid_send_frame(NULL, (const uint8_t *)"\0\0\1\x41\x88", 5, 0, 0, collect, ps), -EINVAL);
    CHECK_EQ(rtpvid_send_frame(s, (const uint8_t *)"\0\0\1\x41\x88", 5, 0, 0, collect, ps), 1);
    CHECK_EQ(ps->len[0], 14);
    CHECK_EQ(ps->p[0][1], 0x80 | 96); /* marker */
    CHECK_EQ(rtpvid_send_rtcp(s, (const uint8_t *)"\x80", 1, 0, collect, ps), -EBADMSG);
    CHECK_EQ(rtpvid_send_nack(s, NULL, 3, 0, collect, ps), -EINVAL);
    CHECK_EQ(rtpvid_send_stats(s, NULL), -EINVAL);
    CHECK_EQ(rtpvid_send_stats(NULL, NULL), -EINVAL);
    rtpvid_send_dtor(s);
    rtpvid_send_dtor(NULL);
    free(ps);

    struct rtpvid_recv_cfg rc = {sizeof(rc), RTPVID_VP9, 98, -1, 0, 0, 0, 0, 0};
    rc.max_packets = 1u << 20;
    CHECK(rtpvid_recv_ctor(&rc, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    rc.max_packets = 0;
    struct rtpvid_recv *r = rtpvid_recv_ctor(&rc, &err);
    CHECK(r != NULL);
    CHECK_EQ(rtpvid_recv_pkt(r, (const uint8_t *)"abc", 3, 0), -EBADMSG);
    CHECK_EQ(rtpvid_recv_pkt(r, NULL, 3, 0), -EINVAL);
    static const uint8_t other_pt[] = {0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x88, 0x80, 1, 0x82};
    CHECK_EQ(rtpvid_recv_pkt(r, other_pt, sizeof(other_pt), 0), RTPVID_IGNORED);
    uint32_t ssrc;
    CHECK_EQ(rtpvid_recv_ssrc(r, &ssrc), 0);
    struct rtpvid_frame f;
    CHECK_EQ(rtpvid_recv_frame(r, 0, NULL), -EINVAL);
    CHECK_EQ(rtpvid_recv_frame(r, UINT64_MAX, &f), RTPVID_NONE);
    uint8_t fb[16];
    CHECK_EQ(rtpvid_recv_feedback(r, 0, 1, fb, sizeof(fb)), -ENOBUFS);
    CHECK_EQ(rtpvid_recv_feedback(r, 0, 1, NULL, 0), -EINVAL);
    CHECK_EQ(rtpvid_recv_nacks(r, 0, NULL, 4), -EINVAL);
    CHECK_EQ(rtpvid_recv_keyframe_due(NULL, 0), -EINVAL);
    CHECK_EQ(rtpvid_recv_set_rtt(NULL, 0), -EINVAL);
    struct rtpvid_recv_stats st;
    CHECK_EQ(rtpvid_recv_stats(r, &st), 0);
    CHECK_EQ(st.ignored, 1);
    CHECK_EQ(st.malformed, 1);
    rtpvid_recv_dtor(r);
    rtpvid_recv_dtor(NULL);

    CHECK_EQ(rtpvid_is_keyframe(RTPVID_VP8, (const uint8_t *)"\x10", 1), 1);
    CHECK_EQ(rtpvid_is_keyframe(RTPVID_VP9, (const uint8_t *)"\x86", 1), 0);
    CHECK_EQ(rtpvid_is_keyframe(RTPVID_H264, (const uint8_t *)"\0\0\1\x65\x88", 5), 1);
    CHECK_EQ(rtpvid_is_keyframe(0, (const uint8_t *)"\x10", 1), -EINVAL);
}

int main(void) {
    _Static_assert(sizeof(struct rtpvid_send_cfg) == 56, "rtpvid_send_cfg layout");
    _Static_assert(sizeof(struct rtpvid_recv_cfg) == 56, "rtpvid_recv_cfg layout");
    _Static_assert(sizeof(struct rtpvid_frame) == 40, "rtpvid_frame layout");
    bad_arguments();
    loss_without_nack();
    int codecs[] = {RTPVID_H264, RTPVID_VP8, RTPVID_VP9};
    for (int c = 0; c < 3; c++)
        for (int rtx = 0; rtx < 2; rtx++)
            lossy_run(codecs[c], rtx, 2);
    TEST_DONE("test_video_api");
}

/*
 * Generator packets byte for byte, for a fixed random function. Uses only
 * what librtpsynth 1.3.2 itself declares, so the same program also runs
 * against the original library (it did: see README, "Drop-in checks").
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "rtpsynth.h"
#include "testutil.h"

static const uint32_t draws[] = {0x11223344u, 0x89abcdefu, 0x00c0ffeeu};
static int ndraw;

static uint32_t fixed_rand(void *arg) {
    CHECK(arg == (void *)&ndraw);
    return draws[ndraw++ % 3];
}

static void check_hdr(const unsigned char *p, int marker, int pt, unsigned seq, uint32_t ts) {
    CHECK_EQ(p[0], 0x80);
    CHECK_EQ(p[1], (marker ? 0x80 : 0) | (pt & 0x7f));
    CHECK_EQ((p[2] << 8) | p[3], seq & 0xffff);
    CHECK_EQ(((uint32_t)p[4] << 24) | (p[5] << 16) | (p[6] << 8) | p[7], ts);
    /* SSRC in host byte order, as the original writes it */
    uint32_t ssrc;
    memcpy(&ssrc, p + 8, 4);
    CHECK_EQ(ssrc, 0x11223344u);
}

static int all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

int main(void) {
    rsynth_set_randfunc(fixed_rand, &ndraw);
    void *rs = rsynth_ctor(8000, 20);
    CHECK(rs != NULL);
    CHECK_EQ(ndraw, 3);

    /* first packet: marker, ts = draw & ~1, seq = draw & 0xffff, zero payload */
    unsigned char *p = rsynth_next_pkt(rs, 160, 0);
    CHECK(p != NULL);
    static const unsigned char golden1[12] = {0x80, 0x80, 0xff, 0xee, 0x89, 0xab, 0xcd, 0xee};
    CHECK(memcmp(p, golden1, 8) == 0);
    check_hdr(p, 1, 0, 0xffee, 0x89abcdeeu);
    CHECK(all_zero(p + 12, 160));
    rsynth_pkt_free(p);

    /* second: no marker, +1 seq, +8*ptime ts, payload type from the call */
    p = rsynth_next_pkt(rs, 20, 8 + 128);
    check_hdr(p, 0, 8, 0xffef, 0x89abcdeeu + 160);
    rsynth_pkt_free(p);

    /* sequence number wraps on the wire, keeps counting in rsynth_seq */
    uint64_t t_pkt = tu_now_ns();     /* the last packet is sent after this */
    for (int i = 0; i < 16; i++)
        rsynth_pkt_free(rsynth_next_pkt(rs, 0, 0));
    struct rsynth_seq st;
    rsynth_resync(rs, &st);
    uint64_t t_r1 = tu_now_ns();
    CHECK_EQ(st.seq, 0xffeeULL + 18);
    CHECK_EQ(st.ts, 0x89abcdeeULL + 18 * 160);

    /* resync moves the timestamp by the time since the last packet at the
     * sample rate; it reports the position from before the move */
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    struct rsynth_seq st2;
    rsynth_resync(rs, &st2);
    uint64_t t_r2 = tu_now_ns();
    CHECK_EQ(st2.seq, st.seq);
    /* the first resync moved ts by (its time - last packet) at 8 kHz */
    CHECK(st2.ts >= st.ts && st2.ts - st.ts <= (t_r1 - t_pkt) * 8 / 1000000 + 1);
    rsynth_resync(rs, &st);
    /* the second, after a 50 ms sleep: at least 400, at most the time
     * measured around it (the machine may be loaded, e.g. valgrind) */
    CHECK(st.ts - st2.ts >= 400);
    CHECK(st.ts - st2.ts <= (t_r2 - t_pkt) * 8 / 1000000 + 1);

    /* _pa, not filled: payload zeroed, whole buffer past the header zeroed */
    unsigned char buf[64];
    memset(buf, 0xa5, sizeof(buf));
    /* the last resync moved ts by another ~400: take the new position from
     * a packet and continue from there */
    p = rsynth_next_pkt(rs, 0, 0);
    st.seq = ((p[2] << 8) | p[3]) + 1;
    st.ts = (((uint32_t)p[4] << 24) | (p[5] << 16) | (p[6] << 8) | p[7]) + 160u;
    CHECK_EQ(st.seq, 0xffeeULL + 18 + 1 - 0x10000);
    rsynth_pkt_free(p);
    int n = rsynth_next_pkt_pa(rs, 20, 0, (char *)buf, sizeof(buf), 0);
    CHECK_EQ(n, 32);
    check_hdr(buf, 0, 0, (unsigned)(st.seq & 0xffff), (uint32_t)st.ts);
    CHECK(all_zero(buf + 12, sizeof(buf) - 12));

    /* _pa, filled: payload moved behind the header, tail zeroed */
    memset(buf, 0xa5, sizeof(buf));
    for (int i = 0; i < 20; i++)
        buf[i] = (unsigned char)(i + 1);
    n = rsynth_next_pkt_pa(rs, 20, 0, (char *)buf, 40, 1);
    CHECK_EQ(n, 32);
    check_hdr(buf, 0, 0, (unsigned)((st.seq + 1) & 0xffff), (uint32_t)(st.ts + 160));
    for (int i = 0; i < 20; i++)
        CHECK_EQ(buf[12 + i], i + 1);
    CHECK(all_zero(buf + 32, 8));
    CHECK_EQ(buf[40], 0xa5);

    /* too small a buffer: -1 and nothing consumed */
    CHECK_EQ(rsynth_next_pkt_pa(rs, 20, 0, (char *)buf, 31, 0), -1);
    CHECK_EQ(rsynth_next_pkt_pa(rs, 0, 0, (char *)buf, 11, 0), -1);
    n = rsynth_next_pkt_pa(rs, 0, 0, (char *)buf, 12, 0);
    CHECK_EQ(n, 12);
    check_hdr(buf, 0, 0, (unsigned)((st.seq + 2) & 0xffff), (uint32_t)(st.ts + 320));

    /* marker bit */
    CHECK_EQ(rsynth_set_mbt(rs, 1), 0);
    CHECK_EQ(rsynth_set_mbt(rs, 1), 1);
    p = rsynth_next_pkt(rs, 0, 0);
    check_hdr(p, 1, 0, (unsigned)((st.seq + 3) & 0xffff), (uint32_t)(st.ts + 480));
    rsynth_pkt_free(p);
    CHECK_EQ(rsynth_set_mbt(rs, 0), 0);

    /* skip advances the timestamp only */
    rsynth_skip(rs, 5);
    p = rsynth_next_pkt(rs, 0, 0);
    check_hdr(p, 0, 0, (unsigned)((st.seq + 4) & 0xffff), (uint32_t)(st.ts + 640 + 5 * 160));
    rsynth_pkt_free(p);
    rsynth_dtor(rs);

    /* ts step is 8 * ptime whatever the sample rate */
    ndraw = 0;
    rs = rsynth_ctor(16000, 30);
    p = rsynth_next_pkt(rs, 0, 0);
    rsynth_pkt_free(p);
    p = rsynth_next_pkt(rs, 0, 0);
    check_hdr(p, 0, 0, 0xffef, 0x89abcdeeu + 240);
    rsynth_pkt_free(p);
    rsynth_dtor(rs);

    /* NULL restores the default generator: three fresh draws, not ours */
    rsynth_set_randfunc(NULL, NULL);
    ndraw = 0;
    rs = rsynth_ctor(8000, 20);
    CHECK_EQ(ndraw, 0);
    rsynth_dtor(rs);

    TEST_DONE("test_synth_golden");
}

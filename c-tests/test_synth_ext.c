/*
 * The rtpsynth-rs generator extensions: rsynth_ctor_random, the getters and
 * rsynth_next_pkt_at, and that they leave the drop-in packets unchanged.
 */
#include <stdint.h>
#include <string.h>

#include "rtpsynth.h"
#include "testutil.h"

static const uint32_t draws[] = {0x11223344u, 0x89abcdefu, 0x00c0ffeeu};
static int ndraw;

static uint32_t fixed_rand(void *arg) {
    (void)arg;
    return draws[ndraw++ % 3];
}

static unsigned get16(const unsigned char *p) { return (p[0] << 8) | p[1]; }
static uint32_t get32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int main(void) {
    unsigned char buf[64], ref[64];

    /* NULL handles */
    CHECK_EQ(rsynth_get_ssrc(NULL), 0);
    CHECK_EQ(rsynth_get_seq(NULL), 0);
    CHECK_EQ(rsynth_get_ts(NULL), 0);
    CHECK_EQ(rsynth_next_pkt_at(NULL, 4, 101, 1, 1, (char *)buf, sizeof(buf), 0), -1);

    rsynth_set_randfunc(fixed_rand, NULL);
    void *a = rsynth_ctor(8000, 20);
    void *b = rsynth_ctor(8000, 20);
    CHECK(a != NULL && b != NULL);
    CHECK_EQ(rsynth_get_ssrc(a), 0x11223344u);
    CHECK_EQ(rsynth_get_seq(a), 0xffee);
    CHECK_EQ(rsynth_get_ts(a), 0x89abcdeeu);

    /* bad arguments: -1, nothing moves */
    CHECK_EQ(rsynth_next_pkt_at(a, 4, 101, 1, 1, NULL, 64, 0), -1);
    CHECK_EQ(rsynth_next_pkt_at(a, -1, 101, 1, 1, (char *)buf, 64, 0), -1);
    CHECK_EQ(rsynth_next_pkt_at(a, 53, 101, 1, 1, (char *)buf, 64, 0), -1);
    CHECK_EQ(rsynth_get_seq(a), 0xffee);

    /* a: audio, event, event, audio; b: audio, audio. Audio headers agree
     * except for the two sequence numbers the events took. */
    CHECK_EQ(rsynth_next_pkt_pa(a, 20, 0, (char *)buf, sizeof(buf), 0), 32);
    CHECK_EQ(rsynth_next_pkt_pa(b, 20, 0, (char *)ref, sizeof(ref), 0), 32);
    CHECK(memcmp(buf, ref, 32) == 0);
    CHECK_EQ(rsynth_get_ts(a), 0x89abcdeeu + 160);

    memset(buf, 0xaa, sizeof(buf));
    memcpy(buf, "\x05\x0a\x00\xa0", 4);
    CHECK_EQ(rsynth_next_pkt_at(a, 4, 101 + 128, 0x89abcdeeu + 160, 1, (char *)buf, 20, 1), 16);
    CHECK_EQ(buf[0], 0x80);
    CHECK_EQ(buf[1], 0x80 | 101);
    CHECK_EQ(get16(buf + 2), 0xffef);
    CHECK_EQ(get32(buf + 4), 0x89abcdeeu + 160);
    uint32_t ssrc;
    memcpy(&ssrc, buf + 8, 4);
    CHECK_EQ(ssrc, 0x11223344u);
    CHECK(memcmp(buf + 12, "\x05\x0a\x00\xa0", 4) == 0);
    CHECK(memcmp(buf + 16, "\0\0\0\0", 4) == 0);
    CHECK(buf[20] == 0xaa); /* nothing written past blen */
    CHECK_EQ(rsynth_get_seq(a), 0xfff0);
    CHECK_EQ(rsynth_get_ts(a), 0x89abcdeeu + 160);

    /* zeroed payload, no marker, wraps the sequence number on the wire */
    for (int i = 0; i < 16; i++)
        CHECK_EQ(rsynth_next_pkt_at(a, 4, 101, 7, 0, (char *)buf, sizeof(buf), 0), 16);
    CHECK_EQ(buf[1], 101);
    CHECK_EQ(get16(buf + 2), 0xffff);
    CHECK_EQ(get32(buf + 4), 7);
    CHECK_EQ(buf[12] | buf[13] | buf[14] | buf[15] | buf[63], 0);
    CHECK_EQ(rsynth_get_seq(a), 0x0000);

    /* audio again: same timestamp and marker as b's second packet */
    rsynth_pkt_free(NULL);
    unsigned char *pa = rsynth_next_pkt(a, 20, 0);
    unsigned char *pb = rsynth_next_pkt(b, 20, 0);
    CHECK(pa != NULL && pb != NULL);
    CHECK_EQ(get16(pa + 2), 0x0000);
    CHECK_EQ(get16(pb + 2), 0xffef);
    CHECK(memcmp(pa, pb, 2) == 0);
    CHECK(memcmp(pa + 4, pb + 4, 28) == 0);
    CHECK_EQ(get32(pa + 4), 0x89abcdeeu + 160);
    rsynth_pkt_free(pa);
    rsynth_pkt_free(pb);

    /* the marker pending from rsynth_set_mbt is neither used nor cleared */
    rsynth_set_mbt(a, 1);
    CHECK_EQ(rsynth_next_pkt_at(a, 0, 101, 9, 0, (char *)buf, 12, 0), 12);
    CHECK_EQ(buf[1], 101);
    CHECK_EQ(rsynth_next_pkt_pa(a, 0, 0, (char *)buf, 12, 0), 12);
    CHECK_EQ(buf[1], 0x80);
    rsynth_dtor(a);
    rsynth_dtor(b);

    /* random construction: does not use the installed function; two
     * generators differ (a collision of all three 32/31/16-bit values has
     * probability ~2^-79) */
    ndraw = 0;
    void *r1 = rsynth_ctor_random(48000, 20);
    void *r2 = rsynth_ctor_random(48000, 20);
    CHECK(r1 != NULL && r2 != NULL);
    CHECK_EQ(ndraw, 0);
    CHECK(rsynth_get_ssrc(r1) != rsynth_get_ssrc(r2) || rsynth_get_seq(r1) != rsynth_get_seq(r2) ||
          rsynth_get_ts(r1) != rsynth_get_ts(r2));
    CHECK_EQ(rsynth_get_ts(r1) & 1, 0);
    uint16_t s0 = rsynth_get_seq(r1);
    uint32_t t0 = rsynth_get_ts(r1);
    CHECK_EQ(rsynth_next_pkt_pa(r1, 0, 0, (char *)buf, 12, 0), 12);
    CHECK_EQ(buf[1], 0x80);
    CHECK_EQ(get16(buf + 2), s0);
    CHECK_EQ(get32(buf + 4), t0);
    memcpy(&ssrc, buf + 8, 4);
    CHECK_EQ(ssrc, rsynth_get_ssrc(r1));
    CHECK_EQ(rsynth_get_seq(r1), (uint16_t)(s0 + 1));
    CHECK_EQ(rsynth_get_ts(r1), t0 + 160); /* the original's 8 * ptime step */
    rsynth_dtor(r1);
    rsynth_dtor(r2);
    rsynth_set_randfunc(NULL, NULL);
    TEST_DONE("test_synth_ext");
}

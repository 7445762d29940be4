/*
 * Bad input to the drop-in core (our extensions: the original crashes or
 * aborts on most of this): NULL handles and pointers, negative and huge
 * lengths, plen larger than the buffer, capacity 0, datagrams of 0..11
 * bytes, absurd CSRC counts, extension lengths past the end, sequence
 * numbers that break the original's internal invariants. Each gets the
 * documented error value; nothing crashes, leaks (valgrind / ASan) or
 * touches memory it should not.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "rtp.h"
#include "rtp_info.h"
#include "rtpjbuf.h"
#include "rtpsynth.h"
#include "rtpsynth_error.h"
#include "testutil.h"

static void test_parser(void) {
    unsigned char b[128];
    memset(b, 0, sizeof(b));
    b[0] = 0x80;
    struct rtp_info ri, before;
    memset(&ri, 0x5a, sizeof(ri));
    before = ri;

    /* NULL info: nothing parsed, nothing written */
    CHECK_EQ(rtp_packet_parse_raw(b, sizeof(b), NULL), RTP_PARSER_NOTPARSED);
    CHECK_EQ(rtp_packet_parse_raw(NULL, 0, NULL), RTP_PARSER_NOTPARSED);
    /* NULL data with a size: nothing parsed, info untouched */
    CHECK_EQ(rtp_packet_parse_raw(NULL, 12, &ri), RTP_PARSER_NOTPARSED);
    CHECK_EQ(rtp_packet_parse_raw(NULL, SIZE_MAX, &ri), RTP_PARSER_NOTPARSED);
    CHECK_EQ(rtp_packet_parse_raw(NULL, (size_t)-12, &ri), RTP_PARSER_NOTPARSED);
    CHECK(memcmp(&ri, &before, sizeof(ri)) == 0);
    /* NULL data, size 0: an empty datagram */
    CHECK_EQ(rtp_packet_parse_raw(NULL, 0, &ri), RTP_PARSER_PTOOSHRT);
    CHECK_EQ(ri.data_size, 0);
    CHECK_EQ(ri.data_offset, 0);
    CHECK_EQ(ri.nsamples, RTP_NSAMPLES_UNKNOWN);
    CHECK_EQ(ri.appendable, 1);

    /* 0..11 bytes, from a heap block of exactly that size (ASan/valgrind
     * catch a read past it) */
    for (size_t n = 0; n < 12; n++) {
        unsigned char *p = malloc(n ? n : 1);
        CHECK(p != NULL);
        memset(p, 0x80, n ? n : 1);
        CHECK_EQ(rtp_packet_parse_raw(p, n, &ri), RTP_PARSER_PTOOSHRT);
        free(p);
    }

    /* absurd CSRC counts and extension lengths, exact-size heap blocks */
    for (size_t n = 12; n < 80; n++) {
        unsigned char *p = malloc(n);
        CHECK(p != NULL);
        memset(p, 0xff, n);
        p[0] = 0x8f;                                    /* 15 CSRCs */
        CHECK_EQ(rtp_packet_parse_raw(p, n, &ri), n < 72 ? RTP_PARSER_PTOOSHRTXH : RTP_PARSER_OK);
        p[0] = 0x9f;                                    /* + extension of 0xffff words */
        CHECK_EQ(rtp_packet_parse_raw(p, n, &ri), n < 76 ? RTP_PARSER_PTOOSHRTXS : RTP_PARSER_PTOOSHRTXH);
        p[0] = 0xbf;                                    /* + padding */
        CHECK(rtp_packet_parse_raw(p, n, &ri) < 0);
        p[0] = 0xb0;                                    /* extension of 0xffff words, no CSRC */
        CHECK(rtp_packet_parse_raw(p, n, &ri) < 0);
        p[0] = 0xa0;
        CHECK_EQ(rtp_packet_parse_raw(p, n, &ri), n == 12 ? RTP_PARSER_PTOOSHRTPS : RTP_PARSER_PTOOSHRTP);
        p[n - 1] = 0;
        CHECK_EQ(rtp_packet_parse_raw(p, n, &ri), n == 12 ? RTP_PARSER_PTOOSHRTPS : RTP_PARSER_IPS);
        /* G.723 frame walk: reserved frame code, or an empty payload */
        p[0] = 0x80; p[1] = RTP_G723;
        CHECK_EQ(rtp_packet_parse_raw(p, n, &ri), RTP_PARSER_OK);
        free(p);
    }

    /* texts for every code, known or not: never NULL */
    const int codes[] = {0, 1, 2, -1, -2, -3, -4, -5, -6, -7, -8, -100, RJB_ENOMEM, RJB_EINVAL, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *s = rtp_packet_parse_errstr((rtp_parser_err_t)codes[i]);
        CHECK(s != NULL && s[0] != '\0');
        s = rtpsynth_strerror(codes[i]);
        CHECK(s != NULL && s[0] != '\0');
    }
    for (int c = -7; c <= 1; c++) {
        if (c == 0)
            continue;
        CHECK_STR(rtpsynth_strerror(c), rtp_packet_parse_errstr((rtp_parser_err_t)c));
    }
    CHECK(strcmp(rtpsynth_strerror(RJB_ENOMEM), rtpsynth_strerror(RJB_EINVAL)) != 0);
    CHECK_EQ(RJB_EINVAL, -1008);
}

static int nfreed_ok(struct rtp_frame *fp) {
    int n = 0;
    while (fp != NULL) {
        struct rtp_frame *next = fp->next;
        rtpjbuf_frame_dtor(fp);             /* erasure frames are ignored */
        n += 1;
        fp = next;
    }
    return n;
}

static void test_jbuf_handles(void) {
    /* capacity 0 is refused; NULL handles everywhere */
    CHECK(rtpjbuf_ctor(0) == NULL);
    rtpjbuf_dtor(NULL);
    rtpjbuf_frame_dtor(NULL);
    unsigned char d[12 + 20];
    memset(d, 0, sizeof(d));
    d[0] = 0x80;
    struct rjb_udp_in_r r = rtpjbuf_udp_in(NULL, d, sizeof(d));
    CHECK(r.error == RJB_EINVAL && r.ready == NULL && r.drop == NULL);
    r = rtpjbuf_udp_in(NULL, NULL, 0);
    CHECK(r.error == RJB_EINVAL && r.ready == NULL && r.drop == NULL);
    r = rtpjbuf_flush(NULL);
    CHECK(r.error == RJB_EINVAL && r.ready == NULL && r.drop == NULL);

    /* NULL data with a size, huge sizes with NULL data */
    void *jb = rtpjbuf_ctor(UINT_MAX);                  /* huge capacity is fine */
    CHECK(jb != NULL);
    r = rtpjbuf_udp_in(jb, NULL, 12);
    CHECK(r.error == RJB_EINVAL && r.ready == NULL && r.drop == NULL);
    r = rtpjbuf_udp_in(jb, NULL, SIZE_MAX);
    CHECK(r.error == RJB_EINVAL && r.ready == NULL && r.drop == NULL);
    r = rtpjbuf_udp_in(jb, NULL, 0);                    /* empty datagram */
    CHECK(r.error == RTP_PARSER_PTOOSHRT && r.ready == NULL && r.drop == NULL);
    r = rtpjbuf_udp_in(jb, d, sizeof(d));               /* seq 0: straight out */
    CHECK(r.error == 0 && r.ready != NULL && r.drop == NULL);
    CHECK_EQ(nfreed_ok(r.ready), 1);
    rtpjbuf_dtor(jb);

    /* 0..11-byte datagrams, CSRC / extension / padding garbage: each
     * rejected with its parser code, nothing kept, nothing leaked */
    jb = rtpjbuf_ctor(4);
    for (size_t n = 0; n < 12; n++) {
        unsigned char *p = malloc(n ? n : 1);
        memset(p, 0x80, n ? n : 1);
        r = rtpjbuf_udp_in(jb, p, n);
        CHECK(r.error == RTP_PARSER_PTOOSHRT && r.ready == NULL && r.drop == NULL);
        free(p);
    }
    for (size_t n = 12; n < 76; n++) {
        unsigned char *p = malloc(n);
        memset(p, 0, n);
        if (n > 74)
            p[74] = 0xff;                               /* extension length 0xff00 */
        p[0] = 0x9f;
        r = rtpjbuf_udp_in(jb, p, n);
        CHECK(r.error < 0 && r.ready == NULL && r.drop == NULL);
        p[0] = 0x40;
        r = rtpjbuf_udp_in(jb, p, n);
        CHECK(r.error == RTP_PARSER_IHDRVER && r.ready == NULL && r.drop == NULL);
        free(p);
    }
    rtpjbuf_dtor(jb);
}

/* The erasure frame given to rtpjbuf_frame_dtor() is ignored, stays valid
 * and is reused. */
static void test_erasure_dtor(void) {
    void *jb = rtpjbuf_ctor(2);
    static unsigned char d[6][12 + 8];
    for (int i = 0; i < 6; i++) {
        memset(d[i], 0, sizeof(d[i]));
        d[i][0] = 0x80;
        d[i][3] = (unsigned char)(i * 2);               /* seq 0, 2, 4, ...: every other lost */
    }
    struct rjb_udp_in_r r = rtpjbuf_udp_in(jb, d[0], sizeof(d[0]));
    CHECK_EQ(nfreed_ok(r.ready), 1);
    struct rtp_frame *ers = NULL;
    for (int i = 1; i < 6; i++) {
        r = rtpjbuf_udp_in(jb, d[i], sizeof(d[i]));
        CHECK_EQ(r.error, 0);
        if (r.ready == NULL)
            continue;
        CHECK_EQ(r.ready->type, RFT_ERS);
        if (ers == NULL)
            ers = r.ready;
        CHECK(r.ready == ers);
        rtpjbuf_frame_dtor(ers);                        /* ignored */
        CHECK_EQ(ers->type, RFT_ERS);
        CHECK(ers->next != NULL && ers->next->type == RFT_RTP);
        CHECK_EQ(ers->ers.lseq_end + 1, ers->next->rtp.lseq);
        CHECK_EQ(nfreed_ok(ers->next), 1);
    }
    CHECK(ers != NULL);
    r = rtpjbuf_flush(jb);
    CHECK_EQ(nfreed_ok(r.ready), 2);
    rtpjbuf_dtor(jb);
}

/*
 * Hostile sequence numbers (random jumps, stragglers far behind, seq 65535
 * right after a start near 0, flushes in between) at small capacities: the
 * original trips its internal asserts and aborts on such streams. Ours
 * carries on; every datagram taken comes out exactly once (ready or drop)
 * by the final flush, and every RTP frame is freed.
 */
static void test_hostile_seq(void) {
    static unsigned char dg[20000][16];
    const int n = (int)tu_scaled(20000, 5000);
    for (unsigned seed = 1; seed <= 24; seed++) {
        unsigned long long rs = seed * 0x9e3779b97f4a7c15ull;
        unsigned cap = 1 + seed % 6;
        void *jb = rtpjbuf_ctor(cap);
        CHECK(jb != NULL);
        long in = 0, out = 0;
        unsigned seq = tu_rand(&rs) & 0xffff;
        for (int i = 0; i < n; i++) {
            unsigned r = tu_rand(&rs) % 100, s;
            if (i == 1 && seed % 2)
                s = 65535;
            else if (r < 10)
                s = tu_rand(&rs) & 0xffff;
            else if (r < 30)
                s = (seq - tu_rand(&rs) % 800) & 0xffff;
            else if (r < 40)
                s = (seq + tu_rand(&rs) % 800) & 0xffff;
            else
                s = seq++ & 0xffff;
            uint32_t ts = (seed & 4) ? tu_rand(&rs) : 160u * s;
            unsigned char *p = dg[i];
            memset(p, 0, 16);
            p[0] = 0x80;
            p[2] = (unsigned char)(s >> 8); p[3] = (unsigned char)s;
            p[4] = (unsigned char)(ts >> 24); p[5] = (unsigned char)(ts >> 16);
            p[6] = (unsigned char)(ts >> 8); p[7] = (unsigned char)ts;
            struct rjb_udp_in_r res = rtpjbuf_udp_in(jb, p, 16);
            CHECK_EQ(res.error, 0);
            in++;
            for (int k = 0; k < 2; k++) {
                for (struct rtp_frame *fp = k ? res.drop : res.ready, *next; fp != NULL; fp = next) {
                    next = fp->next;
                    if (fp->type == RFT_ERS)
                        continue;
                    CHECK(fp->rtp.data >= dg[0] && fp->rtp.data <= dg[n - 1]);
                    out++;
                    rtpjbuf_frame_dtor(fp);
                }
            }
            if (tu_rand(&rs) % 500 == 0) {
                res = rtpjbuf_flush(jb);
                CHECK_EQ(res.error, 0);
                for (int k = 0; k < 2; k++)
                    for (struct rtp_frame *fp = k ? res.drop : res.ready, *next; fp != NULL; fp = next) {
                        next = fp->next;
                        if (fp->type != RFT_ERS) {
                            out++;
                            rtpjbuf_frame_dtor(fp);
                        }
                    }
            }
        }
        struct rjb_udp_in_r res = rtpjbuf_flush(jb);
        CHECK_EQ(res.error, 0);
        for (int k = 0; k < 2; k++)
            for (struct rtp_frame *fp = k ? res.drop : res.ready, *next; fp != NULL; fp = next) {
                next = fp->next;
                if (fp->type != RFT_ERS) {
                    out++;
                    rtpjbuf_frame_dtor(fp);
                }
            }
        CHECK_EQ(out, in);
        res = rtpjbuf_flush(jb);
        CHECK(res.ready == NULL && res.drop == NULL && res.error == 0);
        rtpjbuf_dtor(jb);
    }
}

static void test_generator(void) {
    /* NULL handles: nothing happens */
    CHECK(rsynth_next_pkt(NULL, 160, 0) == NULL);
    char buf[64];
    memset(buf, 0x33, sizeof(buf));
    CHECK_EQ(rsynth_next_pkt_pa(NULL, 20, 0, buf, sizeof(buf), 0), -1);
    rsynth_skip(NULL, 10);
    CHECK_EQ(rsynth_set_mbt(NULL, 1), 0);
    struct rsynth_seq sq = {12345, 678};
    rsynth_resync(NULL, &sq);
    CHECK(sq.ts == 12345 && sq.seq == 678);
    rsynth_resync(NULL, NULL);
    rsynth_pkt_free(NULL);
    rsynth_dtor(NULL);

    void *rs = rsynth_ctor(8000, 20);
    CHECK(rs != NULL);
    struct rsynth_seq before, after;
    rsynth_resync(rs, &before);
    /* refused: negative or huge plen, NULL buffer, buffer too small; the
     * buffer is left alone and the stream does not advance */
    CHECK(rsynth_next_pkt(rs, -1, 0) == NULL);
    CHECK(rsynth_next_pkt(rs, INT_MIN, 0) == NULL);
    CHECK(rsynth_next_pkt(rs, INT_MAX, 0) == NULL);
    CHECK(rsynth_next_pkt(rs, INT_MAX - 11, 0) == NULL);
    CHECK_EQ(rsynth_next_pkt_pa(rs, -1, 0, buf, sizeof(buf), 0), -1);
    CHECK_EQ(rsynth_next_pkt_pa(rs, -12, 0, buf, sizeof(buf), 1), -1);
    CHECK_EQ(rsynth_next_pkt_pa(rs, INT_MIN, 0, buf, sizeof(buf), 0), -1);
    CHECK_EQ(rsynth_next_pkt_pa(rs, 20, 0, NULL, 100, 0), -1);
    CHECK_EQ(rsynth_next_pkt_pa(rs, 53, 0, buf, sizeof(buf), 0), -1);     /* 65 > 64 */
    CHECK_EQ(rsynth_next_pkt_pa(rs, 53, 0, buf, sizeof(buf), 1), -1);
    CHECK_EQ(rsynth_next_pkt_pa(rs, 0, 0, buf, 11, 0), -1);
    CHECK_EQ(rsynth_next_pkt_pa(rs, 0, 0, buf, 0, 0), -1);
    /* plen + 12 beyond INT_MAX, with a blen that would "fit" */
    CHECK_EQ(rsynth_next_pkt_pa(rs, INT_MAX, 0, buf, UINT_MAX, 0), -1);
    CHECK_EQ(rsynth_next_pkt_pa(rs, INT_MAX - 5, 0, buf, UINT_MAX, 1), -1);
    for (size_t i = 0; i < sizeof(buf); i++)
        CHECK_EQ((unsigned char)buf[i], 0x33);
    rsynth_resync(rs, &after);
    CHECK_EQ(after.seq, before.seq);
    /* still works, and the first packet still has the marker */
    CHECK_EQ(rsynth_next_pkt_pa(rs, 52, 8, buf, sizeof(buf), 0), 64);
    CHECK_EQ((unsigned char)buf[1], 0x88);
    CHECK_EQ(((unsigned char)buf[2] << 8) | (unsigned char)buf[3], before.seq & 0xffff);
    unsigned char *p = rsynth_next_pkt(rs, 0, 0);
    CHECK(p != NULL);
    CHECK_EQ(p[0], 0x80);
    rsynth_pkt_free(p);
    rsynth_dtor(rs);

    /* odd constructor arguments: no crash, packets still come */
    const int args[][2] = {{0, 0}, {-1, -20}, {INT_MAX, INT_MAX}, {INT_MIN, INT_MIN}, {8000, -1}};
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
        rs = rsynth_ctor(args[i][0], args[i][1]);
        CHECK(rs != NULL);
        rsynth_skip(rs, INT_MAX);
        rsynth_skip(rs, INT_MIN);
        rsynth_resync(rs, &after);
        rsynth_resync(rs, NULL);
        CHECK_EQ(rsynth_next_pkt_pa(rs, 0, 200, buf, 12, 0), 12);
        CHECK_EQ((unsigned char)buf[1] & 0x7f, 200 & 0x7f);
        rsynth_set_mbt(rs, UINT_MAX);
        CHECK_EQ(rsynth_set_mbt(rs, 0), 1);
        rsynth_dtor(rs);
    }
    rsynth_set_randfunc(NULL, NULL);
}

int main(void) {
    test_parser();
    test_jbuf_handles();
    test_erasure_dtor();
    test_hostile_seq();
    test_generator();
    TEST_DONE("test_bad_input_ext");
}

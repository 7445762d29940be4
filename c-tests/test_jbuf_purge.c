/*
 * Capacity purge of a stale tail: while the buffer holds capacity - 1 or
 * more packets, every call ages the newest held packet (jbcnt + 1) and gives
 * it up, in `drop`, once jbcnt reaches the capacity. This happens at the
 * start of the call, before the datagram is parsed, so a parse error and a
 * purged frame come back together. Small capacities included. Expected
 * lists were confirmed against librtpsynth 1.3.2.
 *
 * Stream index n is sent with seq n & 0xffff and ts 1000 + 160 n.
 */
#include <stdint.h>
#include <string.h>

#include "rtp.h"
#include "rtp_info.h"
#include "rtpjbuf.h"
#include "testutil.h"

static const unsigned char junk[5] = {0x80, 0, 0, 1, 0};
static const unsigned char badver[20] = {0x40, 0, 0, 1};

/* Deliver 0..10, hold a far-ahead 1000, then 13, 15, 17, 19, 21 with gaps:
 * each call releases one head packet and ages 1000 (jbcnt 3 after 21). */
static void *setup(void) {
    void *jb = rtpjbuf_ctor(4);
    CHECK(jb != NULL);
    IN(jb, 0, "0", "");
    for (uint64_t n = 1; n <= 10; n++) {
        char want[8];
        snprintf(want, sizeof(want), "%u", (unsigned)n);
        IN(jb, n, want, "");
    }
    IN(jb, 1000, "", "");
    IN(jb, 13, "", "");
    IN(jb, 15, "", "");
    IN(jb, 17, "E11-12/320 13", "");
    IN(jb, 19, "E14-14/160 15", "");
    IN(jb, 21, "E16-16/160 17", "");
    return jb;
}

static void test_purge(void) {
    /* the fourth aging call purges it; what is left carries on */
    void *jb = setup();
    IN(jb, 23, "", "1000j4");
    IN(jb, 18, "18 19", "");
    IN(jb, 20, "20 21", "");
    IN(jb, 22, "22 23j1", "");
    IN(jb, 24, "24", "");
    IN(jb, 25, "25", "");
    IN(jb, 1000, "", "");
    FLUSH(jb, "E26-999/155840 1000", "");
    rtpjbuf_dtor(jb);

    /* a parse error on the purging call: error and drop together */
    jb = setup();
    CHECK_EQ(tu_feed(__LINE__, jb, junk, sizeof(junk)), RTP_PARSER_PTOOSHRT);
    tu_expect(__LINE__, "ready", tu_ready, "");
    tu_expect(__LINE__, "drop", tu_drop, "1000j4");
    CHECK_EQ(tu_feed(__LINE__, jb, badver, sizeof(badver)), RTP_PARSER_IHDRVER);
    tu_expect(__LINE__, "drop", tu_drop, "");
    IN(jb, 18, "18 19", "");
    rtpjbuf_dtor(jb);

    /* a duplicate on the purging call: the duplicate first, then the purged */
    jb = setup();
    IN(jb, 21, "", "21 1000j4");
    rtpjbuf_dtor(jb);

    /* a late packet on the purging call */
    jb = setup();
    IN(jb, 5, "", "5 1000j4");
    rtpjbuf_dtor(jb);

    /* parse errors age the tail too, without anything else happening */
    jb = rtpjbuf_ctor(4);
    IN(jb, 0, "0", "");
    IN(jb, 2, "", "");
    IN(jb, 3, "", "");
    IN(jb, 4, "", "");
    CHECK_EQ(tu_feed(__LINE__, jb, junk, sizeof(junk)), RTP_PARSER_PTOOSHRT);
    tu_expect(__LINE__, "drop", tu_drop, "");
    CHECK_EQ(tu_feed(__LINE__, jb, junk, 0), RTP_PARSER_PTOOSHRT);
    tu_expect(__LINE__, "drop", tu_drop, "");
    IN(jb, 1, "1 2 3 4j3", "");
    rtpjbuf_dtor(jb);

    jb = rtpjbuf_ctor(4);
    IN(jb, 0, "0", "");
    IN(jb, 2, "", "");
    IN(jb, 3, "", "");
    IN(jb, 4, "", "");
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(tu_feed(__LINE__, jb, badver, sizeof(badver)), RTP_PARSER_IHDRVER);
        tu_expect(__LINE__, "drop", tu_drop, "");
    }
    /* the fourth call purges 4; its re-sent copy is then a new packet */
    IN(jb, 4, "", "4j4");
    IN(jb, 1, "1 2 3 4j1", "");
    rtpjbuf_dtor(jb);

    /* duplicates age the tail too */
    jb = rtpjbuf_ctor(3);
    IN(jb, 0, "0", "");
    IN(jb, 2, "", "");
    IN(jb, 3, "", "");
    IN(jb, 3, "", "3");
    IN(jb, 3, "", "3");
    IN(jb, 3, "", "3j3");     /* purged, the new copy is held instead */
    IN(jb, 3, "", "3");
    IN(jb, 1, "1 2 3j2", "");
    rtpjbuf_dtor(jb);
}

/* Capacities 1, 2 and 3 starting away from lseq 0. */
static void test_small_capacity(void) {
    void *jb = rtpjbuf_ctor(1);
    IN(jb, 100, "", "");
    IN(jb, 101, "", "100j1");
    IN(jb, 102, "", "101j1");
    FLUSH(jb, "E0-101/17151 102", "");
    IN(jb, 103, "103", "");
    IN(jb, 105, "", "");
    IN(jb, 106, "", "105j1");
    rtpjbuf_dtor(jb);

    jb = rtpjbuf_ctor(1);
    IN(jb, 0, "0", "");
    IN(jb, 1, "1", "");
    IN(jb, 3, "", "");
    IN(jb, 2, "2", "3j1");
    rtpjbuf_dtor(jb);

    jb = rtpjbuf_ctor(2);
    IN(jb, 100, "", "");
    IN(jb, 101, "100j1 101", "");
    IN(jb, 102, "102", "");
    IN(jb, 104, "", "");
    IN(jb, 105, "E103-103/160 104j1 105", "");
    IN(jb, 107, "", "");
    IN(jb, 107, "", "107");
    IN(jb, 107, "", "107j2");
    rtpjbuf_dtor(jb);

    jb = rtpjbuf_ctor(3);
    IN(jb, 100, "", "");
    IN(jb, 102, "", "");
    IN(jb, 104, "100", "");
    IN(jb, 106, "E101-101/160 102j1", "");
    IN(jb, 108, "E103-103/160 104j1", "");
    rtpjbuf_dtor(jb);
}

/* The purge empties the buffer right after a delivery, across a wrap: the
 * original then files the next packet (seq 0) unchecked, behind the last
 * delivered one, and survives because that packet is purged before a
 * packet parses again (a junk datagram in between) and the straggler that
 * follows resets the wrap. */
static void test_purge_after_delivery_across_wrap(void) {
    static const unsigned char junk[9] = { 0x80 };
    void *jb = rtpjbuf_ctor(2);
    IN(jb, 65532, "", "");
    IN(jb, 65534, "65532j1", "");
    IN(jb, 65534, "", "65534");
    IN(jb, 65536, "", "65534j2");
    CHECK_EQ(tu_feed(__LINE__, jb, junk, sizeof(junk)), RTP_PARSER_PTOOSHRT);
    IN(jb, 65535, "", "0j2");
    IN(jb, 65538, "E65533-65534/320 65535j1", "");
    IN(jb, 65539, "E65536-65537/320 65538j1 65539", "");
    IN(jb, 65540, "65540", "");
    rtpjbuf_dtor(jb);
}

int main(void) {
    test_purge();
    test_small_capacity();
    test_purge_after_delivery_across_wrap();
    TEST_DONE("test_jbuf_purge");
}

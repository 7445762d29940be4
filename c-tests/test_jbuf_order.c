/*
 * Jitter buffer on in-order, reordered, duplicated, late and lost streams:
 * warm-up rules, erasure ranges and ts_diff, frame contents and ownership.
 * Expected lists were confirmed against librtpsynth 1.3.2; the program uses
 * only what the original declares and runs against it as well.
 *
 * Lists are written as by testutil.h: "7" is an RTP frame of lseq 7 ("7j2"
 * when its jbcnt is 2), "E3-5/480" an erasure of lseq 3..5, ts_diff 480.
 * Stream index n has seq n & 0xffff and ts 1000 + 160 n.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp.h"
#include "rtp_info.h"
#include "rtpjbuf.h"
#include "testutil.h"

/* Warm-up: a fresh buffer holds packets until it is full, unless the very
 * first packet has lseq 0; then in-order packets go straight through. */
static void test_in_order(void) {
    void *jb = rtpjbuf_ctor(4);
    CHECK(jb != NULL);
    IN(jb, 100, "", "");
    IN(jb, 101, "", "");
    IN(jb, 102, "", "");
    IN(jb, 103, "100 101 102j1 103", "");
    for (uint64_t n = 104; n < 300; n++) {
        char want[32];
        snprintf(want, sizeof(want), "%llu", (unsigned long long)n);
        IN(jb, n, want, "");
    }
    FLUSH(jb, "", "");
    rtpjbuf_dtor(jb);

    jb = rtpjbuf_ctor(4);
    IN(jb, 0, "0", "");
    IN(jb, 1, "1", "");
    IN(jb, 2, "2", "");
    rtpjbuf_dtor(jb);

    /* lseq 0 only counts as the first packet */
    jb = rtpjbuf_ctor(4);
    IN(jb, 5, "", "");
    IN(jb, 0, "", "");
    IN(jb, 1, "", "");
    IN(jb, 2, "0 1 2", "");
    IN(jb, 3, "3", "");
    IN(jb, 4, "4 5j1", "");
    IN(jb, 6, "6", "");
    rtpjbuf_dtor(jb);

    /* warm-up fill with a gap: the head run goes, no erasure before it */
    jb = rtpjbuf_ctor(4);
    IN(jb, 20, "", "");
    IN(jb, 22, "", "");
    IN(jb, 23, "", "");
    IN(jb, 24, "20", "");
    IN(jb, 25, "E21-21/160 22 23j1 24j1 25", "");
    IN(jb, 26, "26", "");
    rtpjbuf_dtor(jb);

    /* warm-up fill out of order, duplicates while warming up */
    jb = rtpjbuf_ctor(5);
    IN(jb, 12, "", "");
    IN(jb, 10, "", "");
    IN(jb, 12, "", "12");
    IN(jb, 11, "", "");
    IN(jb, 14, "", "");
    IN(jb, 10, "", "10");
    IN(jb, 13, "10 11 12 13 14j2", "");
    rtpjbuf_dtor(jb);
}

static void test_reorder_dup_late(void) {
    void *jb = rtpjbuf_ctor(4);
    IN(jb, 0, "0", "");
    IN(jb, 1, "1", "");
    /* swapped pair: held, then both */
    IN(jb, 3, "", "");
    IN(jb, 2, "2 3", "");
    /* three out of order */
    IN(jb, 6, "", "");
    IN(jb, 5, "", "");
    IN(jb, 4, "4 5 6", "");
    /* duplicates: of the last delivered, of an older one, of a held one */
    IN(jb, 6, "", "6");
    IN(jb, 2, "", "2");
    IN(jb, 8, "", "");
    IN(jb, 8, "", "8");
    IN(jb, 7, "7 8", "");
    /* late: its slot was already covered by an erasure */
    IN(jb, 10, "", "");
    IN(jb, 11, "", "");
    IN(jb, 12, "", "");
    IN(jb, 13, "E9-9/160 10 11 12j1 13", "");
    IN(jb, 9, "", "9");
    IN(jb, 0, "", "0");
    IN(jb, 14, "14", "");
    rtpjbuf_dtor(jb);
}

/* A packet far ahead of the held ones (a sequence jump) and the held ones
 * stay in lseq order: duplicates, a flush across the jump, then ordinary
 * reordering again. (Ours files such a packet differently from reordered
 * ones, which must not show.) */
static void test_far_ahead(void) {
    void *jb = rtpjbuf_ctor(8);
    IN(jb, 0, "0", "");
    IN(jb, 2, "", "");
    IN(jb, 3, "", "");
    IN(jb, 1000, "", "");
    IN(jb, 3, "", "3");
    IN(jb, 1000, "", "1000");
    IN(jb, 1, "1 2 3", "");
    IN(jb, 5, "", "");
    IN(jb, 999, "", "");
    FLUSH(jb, "E4-998/159200 999 1000", "5");
    IN(jb, 1001, "1001", "");
    IN(jb, 1003, "", "");
    IN(jb, 1002, "1002 1003", "");
    rtpjbuf_dtor(jb);
}

static void test_loss(void) {
    void *jb = rtpjbuf_ctor(4);
    IN(jb, 0, "0", "");
    /* one lost: ts_diff = gap * 1 / 2 */
    IN(jb, 2, "", "");
    IN(jb, 3, "", "");
    IN(jb, 4, "", "");
    IN(jb, 5, "E1-1/160 2 3 4j1 5", "");
    /* three lost in a row: gap 640 * 3 / 4 */
    IN(jb, 9, "", "");
    IN(jb, 10, "", "");
    IN(jb, 11, "", "");
    IN(jb, 12, "E6-8/480 9 10 11j1 12", "");
    /* several gaps held at once: only the head run goes each time */
    IN(jb, 14, "", "");
    IN(jb, 16, "", "");
    IN(jb, 18, "", "");
    IN(jb, 20, "E13-13/160 14", "");
    IN(jb, 15, "15 16", "");
    IN(jb, 22, "", "");
    IN(jb, 24, "E17-17/160 18j1", "");
    /* a hole filled late is still delivered when it arrives in time */
    IN(jb, 19, "19 20j1", "");
    IN(jb, 21, "21 22j1", "");
    IN(jb, 23, "23 24j1", "");
    /* a big jump: released when the buffer fills */
    IN(jb, 1000, "", "");
    IN(jb, 1001, "", "");
    IN(jb, 1002, "", "");
    IN(jb, 1003, "E25-999/156000 1000 1001 1002j1 1003", "");
    IN(jb, 1004, "1004", "");
    rtpjbuf_dtor(jb);
}

/* ts_diff arithmetic with irregular timestamps, done in 32 bits like the
 * original: (ts_next - ts_last) mod 2^32, times n, mod 2^32, over n + 1. */
static void test_ts_diff(void) {
    void *jb = rtpjbuf_ctor(2);
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(0, 5000), 12 + TU_PLEN), 0);
    tu_expect(__LINE__, "ready", tu_ready, "0");
    /* 2 lost, ts gap 1000: 1000 * 2 / 3 = 666 */
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(3, 6000), 12 + TU_PLEN), 0);
    tu_expect(__LINE__, "ready", tu_ready, "");
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(4, 6100), 12 + TU_PLEN), 0);
    tu_expect(__LINE__, "ready", tu_ready, "E1-2/666 3j1 4");
    /* timestamp wraps around 2^32: gap 0x160 */
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(5, 0xffffff00u), 12 + TU_PLEN), 0);
    tu_expect(__LINE__, "ready", tu_ready, "5");
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(7, 0x60), 12 + TU_PLEN), 0);
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(8, 0x100), 12 + TU_PLEN), 0);
    tu_expect(__LINE__, "ready", tu_ready, "E6-6/176 7j1 8");
    /* timestamp goes backwards by 4000: gap 2^32 - 4000 */
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(10, 0x100 - 4000u), 12 + TU_PLEN), 0);
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(11, 0), 12 + TU_PLEN), 0);
    tu_expect(__LINE__, "ready", tu_ready, "E9-9/2147481648 10j1 11");
    /* ... and with 2 lost the product wraps in 32 bits */
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(14, (uint32_t)-4000), 12 + TU_PLEN), 0);
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(15, 0), 12 + TU_PLEN), 0);
    tu_expect(__LINE__, "ready", tu_ready, "E12-13/1431653098 14j1 15");
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(17, (uint32_t)-4000), 12 + TU_PLEN), 0);
    tu_expect(__LINE__, "ready", tu_ready, "");
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(18, 0), 12 + TU_PLEN), 0);
    tu_expect(__LINE__, "ready", tu_ready, "E16-16/2147481648 17j1 18");
    /* same timestamp: ts_diff 0 */
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(20, 0), 12 + TU_PLEN), 0);
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(21, 0), 12 + TU_PLEN), 0);
    tu_expect(__LINE__, "ready", tu_ready, "E19-19/0 20j1 21");
    /* 100 lost with a big step: product beyond 32 bits */
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(122, 101u * 50000000u), 12 + TU_PLEN), 0);
    CHECK_EQ(tu_feed(__LINE__, jb, tu_pkt_ts(123, 0), 12 + TU_PLEN), 0);
    tu_expect(__LINE__, "ready", tu_ready, "E22-121/24641845 122j1 123");
    rtpjbuf_dtor(jb);
}

/* What a frame carries, and who owns what. */
static void test_ownership(void) {
    void *jb = rtpjbuf_ctor(3);
    static unsigned char d[6][12 + 50];
    const uint32_t ts[6] = {8000, 8160, 8320, 8480, 8640, 8800};
    for (int i = 0; i < 6; i++) {
        memset(d[i], 0x11 * i, sizeof(d[i]));
        d[i][0] = 0x80; d[i][1] = 0x80 | RTP_PCMA;
        d[i][2] = 0x12; d[i][3] = 0x30 + i;
        d[i][4] = ts[i] >> 24; d[i][5] = ts[i] >> 16; d[i][6] = ts[i] >> 8; d[i][7] = ts[i];
        d[i][8] = 0xde; d[i][9] = 0xad; d[i][10] = 0xbe; d[i][11] = 0xef;
    }
    /* warm-up hold: nothing out, the datagram is only referenced */
    struct rjb_udp_in_r r = rtpjbuf_udp_in(jb, d[0], sizeof(d[0]));
    CHECK(r.error == 0 && r.ready == NULL && r.drop == NULL);
    r = rtpjbuf_udp_in(jb, d[1], sizeof(d[1]));
    CHECK(r.error == 0 && r.ready == NULL && r.drop == NULL);
    r = rtpjbuf_udp_in(jb, d[2], sizeof(d[2]));
    CHECK_EQ(r.error, 0);
    CHECK(r.drop == NULL);
    struct rtp_frame *fp = r.ready;
    for (int i = 0; i < 3; i++) {
        CHECK(fp != NULL);
        CHECK_EQ(fp->type, RFT_RTP);
        CHECK(fp->rtp.data == d[i]);
        CHECK_EQ(fp->rtp.lseq, 0x1230 + i);
        CHECK_EQ(fp->rtp.jbcnt, i == 1 ? 1 : 0);
        CHECK_EQ(fp->rtp.info.seq, 0x1230 + i);
        CHECK_EQ(fp->rtp.info.ts, ts[i]);
        CHECK_EQ(fp->rtp.info.ssrc, 0xdeadbeefu);
        CHECK_EQ(fp->rtp.info.data_offset, 12);
        CHECK_EQ(fp->rtp.info.data_size, 50);
        CHECK_EQ(fp->rtp.info.nsamples, 50);
        CHECK_EQ(fp->rtp.info.appendable, 1);
        CHECK(fp->rtp.info.rtp_profile == &rtp_profiles[RTP_PCMA]);
        CHECK_EQ(fp->rtp.data[fp->rtp.info.data_offset], 0x11 * i);
        struct rtp_frame *next = fp->next;
        /* the frames are plain malloc blocks: free() is as good as the dtor */
        if (i == 1)
            free(fp);
        else
            rtpjbuf_frame_dtor(fp);
        fp = next;
    }
    CHECK(fp == NULL);

    /* the erasure frame belongs to the buffer: same frame every time,
     * linked in front of the RTP frames, never freed by the caller */
    r = rtpjbuf_udp_in(jb, d[4], sizeof(d[4]));          /* 0x1233 lost */
    CHECK(r.ready == NULL);
    rtpjbuf_frame_dtor(NULL);
    struct rtp_frame *ers1 = NULL;
    d[5][3] = 0x35;
    r = rtpjbuf_udp_in(jb, d[5], sizeof(d[5]));
    CHECK(r.ready == NULL);
    static unsigned char d6[12 + 50], d9[12 + 50];
    memcpy(d6, d[5], sizeof(d6));
    d6[3] = 0x36;
    r = rtpjbuf_udp_in(jb, d6, sizeof(d6));
    CHECK(r.ready != NULL);
    ers1 = r.ready;
    CHECK_EQ(ers1->type, RFT_ERS);
    CHECK_EQ(ers1->ers.lseq_start, 0x1233);
    CHECK_EQ(ers1->ers.lseq_end, 0x1233);
    CHECK_EQ(ers1->ers.ts_diff, 160);                   /* (8640 - 8320) / 2 */
    CHECK(ers1->next != NULL && ers1->next->rtp.data == d[4]);
    for (fp = ers1->next; fp != NULL;) {
        struct rtp_frame *next = fp->next;
        CHECK_EQ(fp->type, RFT_RTP);
        rtpjbuf_frame_dtor(fp);
        fp = next;
    }
    memcpy(d9, d6, sizeof(d9));
    d9[3] = 0x39;
    r = rtpjbuf_udp_in(jb, d9, sizeof(d9));
    CHECK(r.ready == NULL);
    r = rtpjbuf_flush(jb);
    CHECK(r.ready == ers1);                               /* reused */
    CHECK_EQ(ers1->type, RFT_ERS);
    CHECK_EQ(ers1->ers.lseq_start, 0x1237);
    CHECK_EQ(ers1->ers.lseq_end, 0x1238);
    CHECK(ers1->next != NULL && ers1->next->rtp.data == d9 && ers1->next->next == NULL);
    CHECK(r.drop == NULL);
    rtpjbuf_frame_dtor(ers1->next);
    rtpjbuf_dtor(jb);

    /* frames still held when the buffer is destroyed are freed by it */
    jb = rtpjbuf_ctor(8);
    for (int i = 0; i < 5; i++) {
        r = rtpjbuf_udp_in(jb, d[i], sizeof(d[i]));
        CHECK(r.ready == NULL && r.drop == NULL);
    }
    rtpjbuf_dtor(jb);
}

int main(void) {
    test_in_order();
    test_reorder_dup_late();
    test_far_ahead();
    test_loss();
    test_ts_diff();
    test_ownership();
    CHECK_EQ(tu_rtp_freed, 294);   /* every RTP frame that came out was seen once */
    TEST_DONE("test_jbuf_order");
}

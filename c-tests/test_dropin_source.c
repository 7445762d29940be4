/*
 * Source drop-in: a program written for librtpsynth 1.3.2, with its include
 * order (rtp.h, rtp_info.h, rtpjbuf.h after the system headers), its macros
 * (RTP_HDR_LEN, SEQ_DIST, ts_less), the rtp_hdr_t bitfields, the anonymous
 * union of struct rtp_frame (fp->rtp.info.ts, fp->ers.ts_diff) and the
 * x86-64 struct layouts. Compiles against our headers, runs against either
 * library.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp.h"
#include "rtp_info.h"
#include "rtpjbuf.h"
#include "rtpsynth.h"

#include "testutil.h"

#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(struct rtp_info) == 40, "rtp_info");
_Static_assert(offsetof(struct rtp_info, data_size) == 0, "data_size");
_Static_assert(offsetof(struct rtp_info, data_offset) == 8, "data_offset");
_Static_assert(offsetof(struct rtp_info, nsamples) == 12, "nsamples");
_Static_assert(offsetof(struct rtp_info, ts) == 16, "ts");
_Static_assert(offsetof(struct rtp_info, seq) == 20, "seq");
_Static_assert(offsetof(struct rtp_info, ssrc) == 24, "ssrc");
_Static_assert(offsetof(struct rtp_info, appendable) == 28, "appendable");
_Static_assert(offsetof(struct rtp_info, rtp_profile) == 32, "rtp_profile");
_Static_assert(sizeof(struct rtp_packet) == 64, "rtp_packet");
_Static_assert(offsetof(struct rtp_packet, info) == 0, "info");
_Static_assert(offsetof(struct rtp_packet, lseq) == 40, "lseq");
_Static_assert(offsetof(struct rtp_packet, jbcnt) == 48, "jbcnt");
_Static_assert(offsetof(struct rtp_packet, data) == 56, "data");
_Static_assert(sizeof(struct ers_frame) == 24, "ers_frame");
_Static_assert(offsetof(struct ers_frame, lseq_start) == 0, "lseq_start");
_Static_assert(offsetof(struct ers_frame, lseq_end) == 8, "lseq_end");
_Static_assert(offsetof(struct ers_frame, ts_diff) == 16, "ts_diff");
_Static_assert(sizeof(struct rtp_frame) == 80, "rtp_frame");
_Static_assert(offsetof(struct rtp_frame, type) == 0, "type");
_Static_assert(offsetof(struct rtp_frame, rtp) == 8, "rtp (anonymous union)");
_Static_assert(offsetof(struct rtp_frame, ers) == 8, "ers (anonymous union)");
_Static_assert(offsetof(struct rtp_frame, next) == 72, "next");
_Static_assert(sizeof(struct rjb_udp_in_r) == 24, "rjb_udp_in_r");
_Static_assert(offsetof(struct rjb_udp_in_r, error) == 0, "error");
_Static_assert(offsetof(struct rjb_udp_in_r, ready) == 8, "ready");
_Static_assert(offsetof(struct rjb_udp_in_r, drop) == 16, "drop");
_Static_assert(sizeof(struct rtp_profile) == 16, "rtp_profile");
_Static_assert(sizeof(struct rsynth_seq) == 16, "rsynth_seq");
#endif
_Static_assert(sizeof(struct rtp_hdr) == 12, "rtp_hdr");
_Static_assert(sizeof(rtp_hdr_t) == 12, "rtp_hdr_t");
_Static_assert(sizeof(rtp_hdr_ext_t) == 4, "rtp_hdr_ext_t");
_Static_assert(offsetof(struct rtp_hdr, ts) == 4, "rtp_hdr.ts");
_Static_assert(offsetof(struct rtp_hdr, ssrc) == 8, "rtp_hdr.ssrc");
_Static_assert(offsetof(struct rtp_hdr, csrc) == 12, "rtp_hdr.csrc");
_Static_assert(RJB_ENOMEM == -1007, "RJB_ENOMEM");
_Static_assert(RFT_RTP == 0 && RFT_ERS == 1, "rtp_frame_type");
_Static_assert(RTP_NSAMPLES_UNKNOWN == -1, "RTP_NSAMPLES_UNKNOWN");
_Static_assert(RTP_UNKN == -1 && RTP_PCMU == 0 && RTP_GSM == 3 && RTP_G723 == 4 && RTP_DVI4_8000 == 5 &&
    RTP_DVI4_16000 == 6 && RTP_LPC == 7 && RTP_PCMA == 8 && RTP_G722 == 9 && RTP_L16_MONO == 10 &&
    RTP_L16_STEREO == 11 && RTP_QCELP == 12 && RTP_CN == 13 && RTP_MPA == 14 && RTP_G728 == 15 &&
    RTP_DVI4_11025 == 16 && RTP_DVI4_22050 == 17 && RTP_G729 == 18 && RTP_TSE == 100 &&
    RTP_TSE_CISCO == 101, "rtp_type");

/* What a program built for the original does with a generated packet. */
static void test_header_access(void) {
    void *rs = rsynth_ctor(8000, 30);
    CHECK(rs != NULL);
    unsigned char *pkt = rsynth_next_pkt(rs, 240, RTP_PCMA);
    CHECK(pkt != NULL);
    rtp_hdr_t *rh = (rtp_hdr_t *)pkt;
    CHECK_EQ(rh->version, 2);
    CHECK_EQ(rh->p, 0);
    CHECK_EQ(rh->x, 0);
    CHECK_EQ(rh->cc, 0);
    CHECK_EQ(rh->mbt, 1);
    CHECK_EQ(rh->pt, RTP_PCMA);
    CHECK_EQ(RTP_HDR_LEN(rh), 12);
    uint16_t seq0 = ntohs(rh->seq);
    uint32_t ts0 = ntohl(rh->ts);

    struct rtp_info ri;
    rtp_parser_err_t perr = rtp_packet_parse_raw(pkt, RTP_HDR_LEN(rh) + 240, &ri);
    CHECK_EQ(perr, RTP_PARSER_OK);
    CHECK_EQ(ri.seq, seq0);
    CHECK_EQ(ri.ts, ts0);
    CHECK_EQ(ri.data_offset, RTP_HDR_LEN(rh));
    CHECK_EQ(ri.data_size, 240);
    CHECK_EQ(ri.nsamples, 240);
    CHECK(ri.rtp_profile == &rtp_profiles[rh->pt]);
    CHECK_EQ(ri.rtp_profile->sample_rate, 8000);
    CHECK_EQ(ri.rtp_profile->ts_rate, 8000);
    CHECK_EQ(ri.rtp_profile->pt_kind, RTP_PTK_AUDIO);

    /* a header with CSRCs, edited through the bitfields */
    unsigned char buf[12 + 8 + 10];
    memset(buf, 0, sizeof(buf));
    memcpy(buf, pkt, 12);
    rtp_hdr_t *h2 = (rtp_hdr_t *)buf;
    h2->cc = 2;
    h2->mbt = 0;
    h2->pt = RTP_G729;
    h2->csrc[0] = htonl(1);
    h2->csrc[1] = htonl(2);
    CHECK_EQ(RTP_HDR_LEN(h2), 20);
    CHECK_EQ(buf[0], 0x82);
    CHECK_EQ(buf[1], RTP_G729);
    CHECK_EQ(rtp_packet_parse_raw(buf, sizeof(buf), &ri), RTP_PARSER_OK);
    CHECK_EQ(ri.data_offset, 20);
    CHECK_EQ(ri.nsamples, 80);
    CHECK(ri.rtp_profile == &rtp_profiles[RTP_G729]);
    h2->x = 1;
    CHECK_EQ(rtp_packet_parse_raw(buf, 22, &ri), RTP_PARSER_PTOOSHRTXS);
    rtp_hdr_ext_t *ext = (rtp_hdr_ext_t *)(buf + RTP_HDR_LEN(h2));
    ext->profile = htons(0xbede);
    ext->length = htons(1);
    CHECK_EQ(rtp_packet_parse_raw(buf, sizeof(buf), &ri), RTP_PARSER_OK);
    CHECK_EQ(ri.data_offset, 28);
    CHECK_EQ(ri.data_size, 2);
    CHECK_EQ(ri.appendable, 0);

    /* the next packet: seq + 1 (SEQ_DIST 1), ts + 8 * ptime */
    unsigned char *pkt2 = rsynth_next_pkt(rs, 240, RTP_PCMA);
    rtp_hdr_t *rh2 = (rtp_hdr_t *)pkt2;
    CHECK_EQ(rh2->mbt, 0);
    CHECK_EQ(SEQ_DIST(seq0, ntohs(rh2->seq)), 1);
    CHECK_EQ(ntohl(rh2->ts) - ts0, 240);
    CHECK(ts_less(ts0, ntohl(rh2->ts)));
    CHECK(!ts_less(ntohl(rh2->ts), ts0));
    rsynth_pkt_free(pkt2);
    rsynth_pkt_free(pkt);
    rsynth_dtor(rs);

    /* the macros on their own */
    uint16_t a = 65535, b = 0, c = 5, d = 10;
    CHECK_EQ(SEQ_DIST(a, b), 1);
    CHECK_EQ(SEQ_DIST(c, d), 5);
    CHECK_EQ(SEQ_DIST(d, c), 65531);
    CHECK_EQ(SEQ_DIST(c, c), 0);
    uint32_t t1 = 1, t2 = 2, tw = 0xffffff00u, t0 = 0x10;
    CHECK(ts_less(t1, t2));
    CHECK(!ts_less(t2, t1));
    CHECK(!ts_less(t1, t1));
    CHECK(ts_less(tw, t0));
    CHECK(!ts_less(t0, tw));
}

/* The jitter buffer used the way the original's callers use it. */
static void test_jbuf_fields(void) {
    void *jb = rtpjbuf_ctor(4);
    CHECK(jb != NULL);
    static unsigned char dg[8][12 + 160];
    int order[8] = {0, 1, 3, 4, 5, 6, 2, 7};   /* 2 comes too late */
    int nready = 0, ners = 0, ndrop = 0;
    uint32_t ts_diff = 0;
    uint64_t last_lseq = 0;
    for (int i = 0; i < 8; i++) {
        int n = order[i];
        memset(dg[n], 0, sizeof(dg[n]));
        rtp_hdr_t *rh = (rtp_hdr_t *)dg[n];
        rh->version = 2;
        rh->pt = RTP_PCMU;
        rh->seq = htons((uint16_t)(n + 1000));
        rh->ts = htonl(160u * (uint32_t)n);
        rh->ssrc = htonl(0x5555);
        struct rjb_udp_in_r r = rtpjbuf_udp_in(jb, dg[n], sizeof(dg[n]));
        CHECK_EQ(r.error, 0);
        for (struct rtp_frame *fp = r.ready, *next; fp != NULL; fp = next) {
            next = fp->next;
            if (fp->type == RFT_ERS) {
                ners++;
                ts_diff = fp->ers.ts_diff;
                CHECK_EQ(fp->ers.lseq_start, 1002);
                CHECK_EQ(fp->ers.lseq_end, 1002);
                continue;                    /* not ours to free */
            }
            CHECK_EQ(fp->type, RFT_RTP);
            CHECK_EQ(fp->rtp.info.ts, 160u * (fp->rtp.lseq - 1000));
            CHECK_EQ(fp->rtp.info.ssrc, 0x5555);
            CHECK(fp->rtp.lseq > last_lseq);
            CHECK_EQ(((const rtp_hdr_t *)fp->rtp.data)->pt, RTP_PCMU);
            CHECK_EQ(ntohs(((const rtp_hdr_t *)fp->rtp.data)->seq), fp->rtp.info.seq);
            last_lseq = fp->rtp.lseq;
            nready++;
            rtpjbuf_frame_dtor(fp);
        }
        for (struct rtp_frame *fp = r.drop, *next; fp != NULL; fp = next) {
            next = fp->next;
            CHECK_EQ(fp->rtp.lseq, 1002);
            ndrop++;
            rtpjbuf_frame_dtor(fp);
        }
    }
    CHECK_EQ(nready, 7);
    CHECK_EQ(ners, 1);
    CHECK_EQ(ts_diff, 160);
    CHECK_EQ(ndrop, 1);
    rtpjbuf_dtor(jb);
}

int main(void) {
    test_header_access();
    test_jbuf_fields();
    TEST_DONE("test_dropin_source");
}

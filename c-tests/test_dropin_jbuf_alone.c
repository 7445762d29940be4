/*
 * Source drop-in: rtpjbuf.h included on its own, first, with nothing before
 * it (the original needs rtp.h and rtp_info.h first; ours brings them in).
 * Everything rtpjbuf.h's users touch must then be declared: the frame
 * structs, struct rtp_info, the RTP_PARSER_* codes, rtp_profiles and the
 * parser. Runs against either library.
 */
#include "rtpjbuf.h"

#include <stdint.h>
#include <string.h>

#include "testutil.h"

int main(void) {
    void *jb = rtpjbuf_ctor(2);
    CHECK(jb != NULL);
    static unsigned char d[3][12 + 20];
    for (int i = 0; i < 3; i++) {
        memset(d[i], 0, sizeof(d[i]));
        d[i][0] = 0x80;
        d[i][1] = RTP_PCMU;
        d[i][3] = (unsigned char)i;                /* seq 0, 1, 2 */
        d[i][6] = (unsigned char)((160 * i) >> 8);   /* ts 0, 160, 320 */
        d[i][7] = (unsigned char)(160 * i);
    }
    /* lseq 0 on a fresh buffer goes straight out */
    struct rjb_udp_in_r r = rtpjbuf_udp_in(jb, d[0], sizeof(d[0]));
    CHECK_EQ(r.error, 0);
    CHECK(r.ready != NULL && r.ready->next == NULL && r.drop == NULL);
    struct rtp_frame *fp = r.ready;
    CHECK_EQ(fp->type, RFT_RTP);
    CHECK_EQ(fp->rtp.lseq, 0);
    CHECK(fp->rtp.data == d[0]);
    struct rtp_info *ri = &fp->rtp.info;
    CHECK_EQ(ri->data_size, 20);
    CHECK_EQ(ri->nsamples, 20);
    CHECK(ri->rtp_profile == &rtp_profiles[RTP_PCMU]);
    CHECK_EQ(ri->rtp_profile->ts_rate, 8000);
    rtpjbuf_frame_dtor(fp);

    /* seq 2 held, a non-RTP datagram rejected with its parser code */
    r = rtpjbuf_udp_in(jb, d[2], sizeof(d[2]));
    CHECK(r.error == 0 && r.ready == NULL && r.drop == NULL);
    r = rtpjbuf_udp_in(jb, d[1], 11);
    CHECK_EQ(r.error, RTP_PARSER_PTOOSHRT);
    CHECK(r.ready == NULL && r.drop == NULL);
    r = rtpjbuf_flush(jb);
    CHECK_EQ(r.error, 0);
    CHECK(r.ready != NULL && r.drop == NULL);
    CHECK_EQ(r.ready->type, RFT_ERS);
    CHECK_EQ(r.ready->ers.lseq_start, 1);
    CHECK_EQ(r.ready->ers.lseq_end, 1);
    CHECK_EQ(r.ready->ers.ts_diff, 160);
    fp = r.ready->next;
    CHECK(fp != NULL && fp->next == NULL);
    CHECK_EQ(fp->rtp.lseq, 2);
    CHECK_EQ(fp->rtp.info.ts, 320);
    rtpjbuf_frame_dtor(fp);
    rtpjbuf_dtor(jb);

    struct rtp_info info;
    CHECK_EQ(rtp_packet_parse_raw(d[1], sizeof(d[1]), &info), RTP_PARSER_OK);
    CHECK_EQ(info.seq, 1);
    CHECK_EQ(RJB_ENOMEM, -1007);
    TEST_DONE("test_dropin_jbuf_alone");
}

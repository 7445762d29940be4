/*
 * The static library (librtpsynth.a): generator -> lossy, reordering
 * "network" -> parser -> jitter buffer, end to end, using only the
 * original's API (so it also runs against librtpsynth 1.3.2's .so).
 */
#include <stdint.h>
#include <string.h>

#include "rtp.h"
#include "rtp_info.h"
#include "rtpjbuf.h"
#include "rtpsynth.h"
#include "testutil.h"

#define NPKT 3000
#define PLEN 160

static uint32_t draws[3] = {0xabad1deau, 0x00fffff0u, 0x0000fff0u};   /* seq starts at 65520 */
static int ndraw;
static uint32_t fixed(void *arg) {
    (void)arg;
    return draws[ndraw++ % 3];
}

static unsigned char pkts[NPKT][12 + PLEN];

int main(void) {
    rsynth_set_randfunc(fixed, NULL);
    void *rs = rsynth_ctor(8000, 20);
    rsynth_set_randfunc(NULL, NULL);
    CHECK(rs != NULL);
    for (int i = 0; i < NPKT; i++) {
        CHECK_EQ(rsynth_next_pkt_pa(rs, PLEN, RTP_PCMU, (char *)pkts[i], sizeof(pkts[i]), 0), 12 + PLEN);
        struct rtp_info ri;
        CHECK_EQ(rtp_packet_parse_raw(pkts[i], sizeof(pkts[i]), &ri), RTP_PARSER_OK);
        CHECK_EQ(ri.seq, (65520 + i) & 0xffff);
        CHECK_EQ(ri.ts, 0x00fffff0u + 160u * (uint32_t)i);
        CHECK_EQ(ri.nsamples, PLEN);
    }
    rsynth_dtor(rs);

    /* send order: pairs swapped, every 50th packet lost, every 70th twice */
    void *jb = rtpjbuf_ctor(8);
    CHECK(jb != NULL);
    int delivered = 0, erased = 0, dropped = 0, sent = 0;
    uint64_t last = 0;
    int have_last = 0;
    for (int i = 0; i < NPKT; i++) {
        int n = (i % 2 == 0) ? i + 1 : i - 1;
        if (n >= NPKT || n % 50 == 25)
            continue;
        for (int copy = 0; copy < (n % 70 == 3 ? 2 : 1); copy++) {
            struct rjb_udp_in_r r = rtpjbuf_udp_in(jb, pkts[n], sizeof(pkts[n]));
            sent++;
            CHECK_EQ(r.error, 0);
            for (struct rtp_frame *fp = r.ready, *next; fp != NULL; fp = next) {
                next = fp->next;
                if (fp->type == RFT_ERS) {
                    CHECK(have_last);
                    CHECK_EQ(fp->ers.lseq_start, last + 1);
                    CHECK_EQ(fp->ers.ts_diff, 160 * (fp->ers.lseq_end - fp->ers.lseq_start + 1));
                    erased += (int)(fp->ers.lseq_end - fp->ers.lseq_start + 1);
                    last = fp->ers.lseq_end;
                    continue;
                }
                uint64_t k = (uint64_t)((const unsigned char (*)[12 + PLEN])fp->rtp.data - pkts);
                CHECK(fp->rtp.data == pkts[k]);
                CHECK_EQ(fp->rtp.lseq, 65520 + k);     /* counts on across the wrap */
                if (have_last)
                    CHECK_EQ(fp->rtp.lseq, last + 1);
                have_last = 1;
                last = fp->rtp.lseq;
                delivered++;
                rtpjbuf_frame_dtor(fp);
            }
            for (struct rtp_frame *fp = r.drop, *next; fp != NULL; fp = next) {
                next = fp->next;
                dropped++;
                rtpjbuf_frame_dtor(fp);
            }
        }
    }
    struct rjb_udp_in_r r = rtpjbuf_flush(jb);
    CHECK(r.ready == NULL && r.drop == NULL);
    rtpjbuf_dtor(jb);
    CHECK_EQ(delivered, NPKT - NPKT / 50);
    CHECK_EQ(erased, NPKT / 50);
    CHECK_EQ(dropped, sent - delivered);
    CHECK_EQ(last, 65520 + NPKT - 1);
    TEST_DONE("test_jbuf_static");
}
